#!/usr/bin/env bash
# Time to counterexample per mutant for the explorer (issue "Every proposed design", the mutant
# catalogue): `sdmc explore` at depth 6 in the window and under the sound design that
# tests/explorer_mutant_test.cpp uses for each, until it stops at the violation. Printed per
# mutant: the distinct states searched, the property broken, and the wall time of the whole
# command (start-up, search, writing the trace and its storyboard), three runs each.
#
#   bench/mutant_explore_ttc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh default sdmc >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ops=mmap,munmap,mprotect,mremap,madvise,write,read,clear_refs,fork,uffd_wp,reclaim
TIMEFORMAT=%3R
set +e  # each search ends in its violation: exit status 1
while read -r m policy pages extra; do
  for run in 1 2 3; do
    printf '%-34s ' "$m"
    { time build/sdmc explore --policy "$policy" --pages "$pages" --depth 6 --quiet --out "$out" \
        --mutant "$m" $extra | grep -oE '^(VIOLATION: [A-Za-z_ -]+|distinct states: [0-9,]+)' |
        tr '\n' ' '; } 2>&1 | tr '\n' ' '
    echo
  done
done <<T
new-vma-not-soft-dirty sticky 1
pte-hole-ignores-vma sticky 1
gap-uses-next-vma-flag sticky 2
no-writenotify-after-clear sticky 1
can-change-pte-writable-inverted sticky 1
swap-loses-soft-dirty sticky 1
mremap-move-not-soft-dirty sticky 2
granular-split-drops-node granular 2 --precision
droppable-dirty-skip-and sticky 1 --droppable dirty-skip --ops $ops,mmap_droppable
scan-zapped-pte-not-written sticky 1
T
