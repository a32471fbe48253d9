#!/usr/bin/env bash
# Side by side on the host, in one run: the model replaying the benchmark mix of the model-core
# issue (1,000,000 operations in a 256-page window: 25% fixed mmap, 15% munmap, 10% mprotect,
# 45% write, 5% clear_refs) against the native replayer (kernel/replayer/sdreplay.c) executing
# the same trace with real system calls on this machine's kernel. Both parse the same file;
# the model also runs its oracle, the native replayer prints no state blocks (--quiet).
#
#   bench/native_vs_model.sh [OPS]
set -euo pipefail
cd "$(dirname "$0")/.."
ops=${1:-1000000}
scripts/build.sh default sdmc >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/sdmc generate --seed 1 --ops "$ops" -o "$work/mix.sdt"
# Builds sdreplay (static, 6.12 uapi headers) once, through the runner.
kernel/run-userspace.sh --host --quiet --out "$work/warm.ktap" kernel/tests/basic.sdt >/dev/null 2>&1 || true
sdreplay=${SDMC_CACHE:-$HOME/.cache/sdmc}/run-upstream-6.12/sdreplay
[ -x "$sdreplay" ] || { echo "native_vs_model.sh: sdreplay was not built" >&2; exit 2; }

now() { date +%s.%N; }
t0=$(now)
build/sdmc replay "$work/mix.sdt" >"$work/model.out"
t1=$(now)
"$sdreplay" --host --quiet "$work/mix.sdt" >"$work/native.out"
t2=$(now)
awk -v ops="$ops" -v krel="$(uname -r)" -v m="$(echo "$t1 - $t0" | bc)" -v n="$(echo "$t2 - $t1" | bc)" 'BEGIN {
  printf "operations: %d (kernel %s)\n", ops, krel
  printf "model  (sdmc replay, oracle on): %8.3f s  %10.0f ops/s\n", m, ops / m
  printf "native (sdreplay, real syscalls): %8.3f s  %10.0f ops/s\n", n, ops / n
  printf "model / native speed: %.1fx\n", n / m
}'
