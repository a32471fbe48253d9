#!/bin/sh
# `sdmc explore` end to end (ctest explore_cli): exit statuses, the counterexample it writes,
# and `sdmc replay` on that file. Usage: explore_cli_test.sh SDMC OUTDIR
set -u
. "$(dirname "$0")/cli_test_lib.sh"  # sdmc=$1, out=$2 (emptied), fail, expect_2

# Sequence C (semantics 2.5) under upstream-6.12: a finding, so exit 0, with its trace.
"$sdmc" explore --policy upstream-6.12 --pages 2 --depth 7 --quiet --out "$out" \
  --ops mmap_memfd_rw,random,normal,clear_refs,read,write > "$out/upstream.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "upstream-6.12 exited $rc: $(cat "$out/upstream.log")"
grep -q "false negative .* after 7 operations" "$out/upstream.log" || fail "no 7-operation false negative reported"
f="$out/explore-upstream-6.12-false-negative.sdt"
[ -f "$f" ] || fail "no counterexample file $f"
# Its storyboard beside it (issue 6): an SVG with one panel per operation of the trace.
svg="${f%.sdt}.svg"
[ -f "$svg" ] || fail "no storyboard $svg beside the counterexample"
[ "$(grep -c 'class="cluster"' "$svg")" -ge 7 ] || fail "storyboard $svg has fewer than 7 panels"
"$sdmc" replay --policy upstream-6.12 "$f" > "$out/replay.log" 2>&1 || fail "replay of $f failed: $(cat "$out/replay.log")"
grep -q "PASS under upstream-6.12 (7 lines; false negatives [1-9]" "$out/replay.log" \
  || fail "replay does not show the false negative: $(cat "$out/replay.log")"
"$sdmc" replay --policy upstream-6.12 --mutant swap-loses-soft-dirty "$f" > /dev/null 2>&1 \
  || fail "replay --mutant refused a known mutant"

# Sticky at the same bound: no violation, exit 0.
"$sdmc" explore --policy sticky --pages 2 --depth 7 --quiet --out "$out" \
  --ops mmap_memfd_rw,random,normal,clear_refs,read,write > "$out/sticky.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "sticky exited $rc: $(cat "$out/sticky.log")"
grep -q "^no violation" "$out/sticky.log" || fail "sticky: no 'no violation' line"

# The compact engine (sim/compact/): the same search as the model's on its alphabet (the same
# counts, the same finding and trace), cross-checked or not.
anon=mmap_anon,munmap,mprotect,write,read,clear_refs
for e in model compact "compact --cross-check" auto; do
  tag=$(echo "$e" | tr -d ' -')
  # shellcheck disable=SC2086  # $e is two words for the cross-check
  "$sdmc" explore --policy upstream-6.12 --pages 3 --depth 5 --quiet --ops $anon --engine $e \
    --out "$out/$tag" > "$out/$tag.log" 2>&1 || fail "--engine $e exited $?: $(cat "$out/$tag.log")"
  grep "^distinct states" "$out/$tag.log" | sed 's/; [0-9.]* s .*//' > "$out/$tag.counts"
  grep "^  [a-z]" "$out/$tag.log" | grep -v "^  \(written to\|storyboard\)" > "$out/$tag.trace"
done
[ -s "$out/model.counts" ] || fail "no counts from the model engine"
for tag in compact compactcrosscheck auto; do
  cmp -s "$out/model.counts" "$out/$tag.counts" \
    || fail "$tag counts differ: $(cat "$out/model.counts") / $(cat "$out/$tag.counts")"
  cmp -s "$out/model.trace" "$out/$tag.trace" || fail "$tag reports another trace than the model engine"
  # (The files differ in the path of the `reproduce:` line only.)
  grep -v "^# reproduce" "$out/model/explore-upstream-6.12-lost-new-mapping.sdt" > "$out/model.sdt"
  grep -v "^# reproduce" "$out/$tag/explore-upstream-6.12-lost-new-mapping.sdt" > "$out/$tag.sdt"
  cmp -s "$out/model.sdt" "$out/$tag.sdt" || fail "$tag writes another counterexample"
done
grep -q "compact engine cross-checked against the model" "$out/compactcrosscheck.log" \
  || fail "the cross-checked run does not say so"
# --engine auto (the default): compact where it covers the search, the model engine elsewhere.
grep -q ", compact engine (auto)$" "$out/auto.log" || fail "auto did not pick the compact engine: $(head -1 "$out/auto.log")"
# The default alphabet (shared anonymous and memfd mappings included) runs on the compact
# engine; MAP_DROPPABLE does not.
"$sdmc" explore --policy sticky --pages 2 --depth 2 --quiet --out "$out/auto3" > "$out/auto3.log" 2>&1 \
  || fail "the default alphabet under auto exited $?"
grep -q ", compact engine (auto)$" "$out/auto3.log" || fail "auto did not pick the compact engine for the default alphabet: $(head -1 "$out/auto3.log")"
"$sdmc" explore --policy sticky --pages 2 --depth 1 --ops mmap_anon,mmap_droppable --quiet --out "$out/auto2" \
  > "$out/auto2.log" 2>&1 || fail "a droppable alphabet under auto exited $?"
grep -q ", model engine (auto: the compact engine does not cover the operation \`mmap 0x100000000 1p rw- droppable fixed\`" \
  "$out/auto2.log" || fail "auto does not name why it kept the model engine: $(head -1 "$out/auto2.log")"
expect_2 "does not cover the mutant droppable-dirty-skip-and" \
  explore --policy granular --mutant droppable-dirty-skip-and --engine compact --ops $anon --depth 1
expect_2 "does not cover the operation \`mmap 0x100000000 1p rw- droppable fixed\`" \
  explore --policy sticky --engine compact --ops mmap_droppable --depth 1
expect_2 "unknown --engine 'fast'" explore --engine fast --depth 1
expect_2 "--cross-check checks the compact engine" explore --cross-check --engine model --depth 1

# Bad input: exit 2 with a message naming what is wrong.
expect_2 "mmapp" explore --ops mmap,mmapp --depth 1
expect_2 "no-such-policy" explore --policy no-such-policy --depth 1
expect_2 "no-such-bug" explore --mutant no-such-bug --depth 1
expect_2 "--pages" explore --pages 17 --depth 1
expect_2 "no-such-bug" replay --mutant no-such-bug "$f"
# A finding whose counterexample cannot be written is an error, not a silent success.
: > "$out/not-a-dir"
expect_2 "cannot write $out/not-a-dir/explore-upstream-6.12-lost-new-mapping.sdt" \
  explore --policy upstream-6.12 --pages 2 --depth 4 --quiet --out "$out/not-a-dir"
echo "explore_cli: all checks passed"
