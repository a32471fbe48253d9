#!/bin/sh
# The explorer's compact engine (sim/compact/) at several bounds, on private anonymous memory:
# distinct states, transitions and CPU seconds of `sdmc explore --engine compact`, the median of
# RUNS runs (default 3) per row and their range, as a Markdown table (docs/performance.md).
# Usage: bench/compact_explore.sh [RUNS]   (from the repository root, after building build/sdmc)
# POLICIES="uffd-wp" bench/compact_explore.sh   measures those designs' rows only.
# OPS=default bench/compact_explore.sh   the default alphabet (memory files too) at its bounds.
# SDMC=/tmp/old/build/sdmc bench/compact_explore.sh   another build (an older commit's, to compare).
set -eu
runs=${1:-3}
sdmc=${SDMC:-build/sdmc}
[ -x "$sdmc" ] || { echo "compact_explore.sh: $sdmc not built" >&2; exit 2; }
ops=${OPS:-mmap_anon,munmap,mprotect,mprotect_none,mremap,madvise,random,normal,write,read,clear_refs,fork,uffd_wp,reclaim}
bounds=${BOUNDS:-2x7 3x5 3x6 4x4 4x5 5x4 6x4 8x3}  # PAGESxDEPTH
opsarg="--ops $ops"
if [ "$ops" = default ]; then
  opsarg=""
  bounds=${BOUNDS:-2x6 3x5 4x4 5x3}
fi
group() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
policies=${POLICIES:-upstream-6.12 sticky precise uffd-wp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Rounds outside, rows inside: the machine (a VM whose speed drifts by 10-30% over minutes)
# slows every row of a round alike instead of all the runs of one row.
i=0
while [ "$i" -lt "$runs" ]; do
  k=0
  for policy in $policies; do
    for bound in $bounds; do
      set -- $(echo "$bound" | tr x ' ')
      line=$("$sdmc" explore --policy "$policy" --pages "$1" --depth "$2" $opsarg --engine compact \
               --quiet --out "$tmp/out" | grep '^distinct states')
      echo "$line" | sed 's/^distinct states: \([0-9,]*\);.*/\1/' | tr -d , > "$tmp/states.$k"
      echo "$line" | sed 's/.*transitions: \([0-9,]*\) .*/\1/' | tr -d , > "$tmp/transitions.$k"
      echo "$line" | sed 's/.*per CPU second \([0-9,]*\) states.*/\1/' | tr -d , >> "$tmp/rates.$k"
      k=$((k + 1))
    done
  done
  i=$((i + 1))
done
echo "| design | pages | depth | distinct states | transitions | distinct states per CPU second (median of $runs) | lowest-highest |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
k=0
for policy in $policies; do
  for bound in $bounds; do
    set -- $(echo "$bound" | tr x ' ')
    stats=$(sort -n "$tmp/rates.$k" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}')
    set -- "$1" "$2" $stats
    echo "| $policy | $1 | $2 | $(group "$(cat "$tmp/states.$k")") | $(group "$(cat "$tmp/transitions.$k")") | $(group "$3") | $(group "$4")-$(group "$5") |"
    k=$((k + 1))
  done
done
