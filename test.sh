#!/usr/bin/env bash
# Every test: the normal build and the AddressSanitizer+UndefinedBehaviorSanitizer build, each
# with its whole ctest suite, plus a short libFuzzer run of the trace parser.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

scripts/build.sh default
ctest --preset default -j "$jobs"

scripts/build.sh asan
ctest --preset asan -j "$jobs"

# The parser fuzzer (1 M executions are run before a release; a smoke run here).
scripts/build.sh fuzz fuzz_sdtrace
mkdir -p build-fuzz/corpus
build-fuzz/traces/fuzz_sdtrace -seed=1 -runs=50000 -max_len=4096 \
  -dict=traces/fuzz/sdtrace.dict build-fuzz/corpus traces/fuzz/corpus traces/examples 2>&1 |
  grep -E "^#[0-9]+ +DONE|ERROR|Done" || { echo "fuzz_sdtrace failed" >&2; exit 1; }
