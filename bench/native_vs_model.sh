#!/usr/bin/env bash
# Side by side on the host, in one run: the model replaying the benchmark mix of the model-core
# issue (1,000,000 operations in a 256-page window: 25% fixed mmap, 15% munmap, 10% mprotect,
# 45% write, 5% clear_refs) against the native replayer (kernel/replayer/sdreplay.c) executing
# the same trace with real system calls on this machine's kernel. Both parse the same file and
# execute it, printing no state blocks: `sdmc replay --no-oracle` against `sdreplay --quiet` is
# the like-for-like pair (the goal: the model at least 20x faster); `sdmc replay` with the ghost
# oracle judging at every clear_refs, which the native replayer cannot do, is shown beside it.
# Each program runs three times, interleaved; the medians are compared.
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
timed() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo "$t1 - $t0" | bc; }
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
m=() o=() n=()
for _ in 1 2 3; do
  m+=("$(timed build/sdmc replay --no-oracle "$work/mix.sdt")")
  o+=("$(timed build/sdmc replay "$work/mix.sdt")")
  n+=("$(timed "$sdreplay" --host --quiet "$work/mix.sdt")")
done
awk -v ops="$ops" -v krel="$(uname -r)" -v m="$(median "${m[@]}")" -v o="$(median "${o[@]}")" \
    -v n="$(median "${n[@]}")" 'BEGIN {
  printf "operations: %d (kernel %s); medians of 3 runs\n", ops, krel
  printf "model  (sdmc replay --no-oracle):  %8.3f s  %10.0f ops/s  %5.1fx native\n", m, ops / m, n / m
  printf "model  (sdmc replay, oracle on):   %8.3f s  %10.0f ops/s  %5.1fx native\n", o, ops / o, n / o
  printf "native (sdreplay, real syscalls):  %8.3f s  %10.0f ops/s\n", n, ops / n
}'
