#!/usr/bin/env bash
# Every test: the normal build and the AddressSanitizer+UndefinedBehaviorSanitizer build, each
# with its whole ctest suite, plus a short libFuzzer run of the trace parser.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)
# Disk first: a CI run once failed with its disk full while compiling. The three builds and the
# kernel cache (~/.cache/sdmc) take about 5 GB together: say what is free, and warn early.
free_mb=$(df -Pm . | awk 'NR == 2 {print $4}')
echo "test.sh: ${free_mb} MB free on $(df -P . | awk 'NR == 2 {print $6}')"
if ((free_mb < 8000)); then
  echo "test.sh: warning: less than 8 GB free; the builds and the kernel cache may not fit" >&2
fi
passed=0
failed=0

# Runs one ctest preset, echoing its output, and adds its counts to the totals.
run_ctest() {
  local log rc=0
  log=$(mktemp)
  ctest --preset "$1" -j "$jobs" "${@:2}" 2>&1 | tee "$log" || rc=$?
  local total fails
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -1)
  fails=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  rm -f "$log"
  if [[ -z $total ]]; then
    echo "test.sh: ctest --preset $1 printed no summary" >&2
    exit 1
  fi
  passed=$((passed + total - fails))
  failed=$((failed + fails))
  return "$rc"
}

scripts/build.sh default
run_ctest default || true

# The sanitizer build runs the model's tests; the real-kernel comparison (label kernel) ran in
# the normal build above and does not depend on how sdmc was compiled.
scripts/build.sh asan
run_ctest asan -LE kernel || true

# The parser fuzzer (1 M executions are run before a release; a smoke run here).
scripts/build.sh fuzz fuzz_sdtrace
mkdir -p build-fuzz/corpus
if build-fuzz/traces/fuzz_sdtrace -seed=1 -runs=50000 -max_len=4096 \
     -dict=traces/fuzz/sdtrace.dict build-fuzz/corpus traces/fuzz/corpus traces/examples \
     > build-fuzz/fuzz.log 2>&1; then
  grep -E "^Done" build-fuzz/fuzz.log
  passed=$((passed + 1))
else
  tail -40 build-fuzz/fuzz.log
  echo "test.sh: fuzz_sdtrace found a crash (see above)" >&2
  failed=$((failed + 1))
fi

echo "sdmc: $passed passed, $failed failed"
((failed == 0))
