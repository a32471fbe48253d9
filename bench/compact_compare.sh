#!/bin/sh
# Builds of sdmc side by side on the compact engine: distinct states per CPU second of
# `sdmc explore --engine compact`, each build run in turn (so that the machine's drift falls on
# all of them alike), the median of RUNS rounds, as a Markdown table with a column per build.
# Usage: bench/compact_compare.sh RUNS SDMC...   (e.g. build/sdmc and an older commit's build)
# CASES="sticky:3x6:anon uffd-wp:2x7:anon upstream-6.12:2x6:default" sets the rows
# (design:PAGESxDEPTH:anon|default; anon = every family the engine covers on private memory).
set -eu
[ "$#" -ge 2 ] || { echo "usage: bench/compact_compare.sh RUNS SDMC..." >&2; exit 2; }
runs=$1
shift
for b in "$@"; do [ -x "$b" ] || { echo "compact_compare.sh: $b is not an executable" >&2; exit 2; }; done
anon=mmap_anon,munmap,mprotect,mprotect_none,mremap,madvise,random,normal,write,read,clear_refs,fork,uffd_wp,reclaim
cases=${CASES:-sticky:3x6:anon uffd-wp:2x7:anon uffd-wp:3x6:anon upstream-6.12:2x6:default uffd-wp:2x6:default}
group() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
header="| design | pages | depth | alphabet |"
rule="| --- | ---: | ---: | --- |"
for b in "$@"; do header="$header $b |"; rule="$rule ---: |"; done
echo "$header"
echo "$rule"
for c in $cases; do
  policy=${c%%:*}
  rest=${c#*:}
  bound=${rest%%:*}
  alphabet=${rest#*:}
  pages=${bound%x*}
  depth=${bound#*x}
  opsarg=""
  [ "$alphabet" = anon ] && opsarg="--ops $anon"
  i=0
  while [ "$i" -lt "$runs" ]; do
    j=0
    for b in "$@"; do
      "$b" explore --policy "$policy" --pages "$pages" --depth "$depth" $opsarg --engine compact --quiet \
        --out "$tmp/out" | sed -n 's/.*per CPU second \([0-9,]*\) states.*/\1/p' | tr -d , >> "$tmp/$j"
      j=$((j + 1))
    done
    i=$((i + 1))
  done
  row="| $policy | $pages | $depth | $alphabet |"
  j=0
  for b in "$@"; do
    median=$(sort -n "$tmp/$j" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    row="$row $(group "$median") |"
    rm -f "$tmp/$j"
    j=$((j + 1))
  done
  echo "$row"
done
