#!/bin/sh
# `sdmc check` (the README's main job) end to end (ctest check_cli): the comparison table, the
# findings under upstream-6.12 with their counterexamples, an error with exit 1 when a mutant
# breaks a sound design (here through a structural invariant), `sdmc replay --invariants` on
# that counterexample, --json, and bad input. Usage: check_cli_test.sh SDMC OUTDIR
set -u
. "$(dirname "$0")/cli_test_lib.sh"  # sdmc=$1, out=$2 (emptied), fail, expect_2

# Every design, a short campaign, the explorer at 2 pages, depth 4, and the compact engine at
# 3 pages, depth 4: upstream-6.12's lost new mappings are findings (exit 0), every other design
# is sound.
"$sdmc" check --cases 30 --explore-pages 2 --explore-depth 4 --deep-depth 4 --out "$out/all" > "$out/all.log" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "check exited $rc: $(tail -20 "$out/all.log")"
grep -q "^FINDING under upstream-6.12: lost new mapping" "$out/all.log" || fail "no campaign finding under upstream-6.12"
grep -q "^FINDING under upstream-6.12 (explorer, shortest): lost new mapping (4 operations)" "$out/all.log" \
  || fail "no 4-operation explorer finding under upstream-6.12"
grep -q 'fixed by bf14d4a05387' "$out/all.log" || fail "the finding does not name the upstream fix"
for p in sticky precise granular granular-coalesce uffd-wp; do
  grep -Eq "^$p +.* sound$" "$out/all.log" || fail "$p is not reported sound: $(grep "^$p " "$out/all.log")"
done
grep -Eq "^upstream-6.12 +.* kernel findings$" "$out/all.log" || fail "upstream-6.12 row has no findings"
f=$(ls "$out"/all/upstream-6.12-lost-new-mapping-seed*.sdt 2>/dev/null | head -1)
[ -n "$f" ] || fail "no campaign counterexample written"
"$sdmc" replay --invariants --policy upstream-6.12 "$f" > "$out/replay.log" 2>&1 || fail "replay of $f: $(cat "$out/replay.log")"
grep -q "lost new mappings [1-9]" "$out/replay.log" || fail "replay does not show the lost new mapping: $(cat "$out/replay.log")"
[ -f "$out/all/upstream-6.12-explore-lost-new-mapping.sdt" ] || fail "no explorer counterexample written"
# The deeper search runs where the compact engine covers the design, and says where it does not.
grep -q "^FINDING under upstream-6.12 (deep, shortest): lost new mapping (4 operations)" "$out/all.log" \
  || fail "no deep finding under upstream-6.12"
[ -f "$out/all/upstream-6.12-deep-lost-new-mapping.sdt" ] || fail "no deep counterexample written"
"$sdmc" replay --policy upstream-6.12 "$out/all/upstream-6.12-deep-lost-new-mapping.sdt" > "$out/dreplay.log" 2>&1
grep -q "lost new mappings [1-9]" "$out/dreplay.log" || fail "the deep counterexample does not replay: $(cat "$out/dreplay.log")"
grep -Eq "^sticky +.* [1-9][0-9]* +[0-9.]+  sound$" "$out/all.log" || fail "no deep states for sticky: $(grep "^sticky " "$out/all.log")"
grep -Eq "^granular +.* [1-9][0-9]* +[0-9.]+  sound$" "$out/all.log" || fail "no deep states for granular: $(grep "^granular " "$out/all.log")"

# A mutant the compact engine covers, under a sound design: the deeper search alone finds it.
"$sdmc" check --policy sticky --mutant swap-loses-soft-dirty --cases 1 --explore-depth 0 --deep-depth 4 \
  --out "$out/deepmut" > "$out/deepmut.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "check with a mutant found deep exited $rc, not 1"
grep -q "^ERROR under sticky (deep, shortest): false negative" "$out/deepmut.log" \
  || fail "the deep search does not report the mutant: $(grep -v '^ ' "$out/deepmut.log" | head -5)"

# A mutant under a sound design is an error (exit 1), shrunk to a short trace; the clear_refs
# without write-notify breaks write tracking before any store is lost.
"$sdmc" check --policy sticky --mutant no-writenotify-after-clear --cases 100 --explore-depth 0 \
  --out "$out/mut" > "$out/mut.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "check with a mutant exited $rc, not 1"
grep -q "^ERROR under sticky: invariant (" "$out/mut.log" || fail "no invariant error: $(head -5 "$out/mut.log")"
grep -q "^  after operation [0-9]* .*: write tracking: " "$out/mut.log" || fail "the error does not name write tracking: $(head -5 "$out/mut.log")"
m=$(ls "$out"/mut/sticky-invariant*.sdt 2>/dev/null | head -1)
[ -n "$m" ] || fail "no counterexample of the mutant written"
[ "$(grep -Ec '^(mmap|munmap|mprotect|mremap|madvise|write|read|clear_refs|fork|uffd_wp|reclaim|mlock|munlock|brk|scan)' "$m")" -le 6 ] \
  || fail "the counterexample $m has more than 6 operations"
grep -q "replay: sdmc replay --invariants --policy sticky --mutant no-writenotify-after-clear" "$m" \
  || fail "$m does not say how to replay it"
"$sdmc" replay --invariants --policy sticky --mutant no-writenotify-after-clear "$m" > "$out/mreplay.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "replay --invariants of $m with the mutant exited $rc, not 1"
grep -q "INVARIANT .*write tracking" "$out/mreplay.log" || fail "replay does not name the invariant: $(cat "$out/mreplay.log")"
"$sdmc" replay --invariants --policy sticky "$m" > "$out/mreplay0.log" 2>&1 \
  || fail "without the mutant the trace breaks something: $(cat "$out/mreplay0.log")"

# A mutant the compact engine does not cover (MAP_DROPPABLE's): '-' in the deep column, and why.
"$sdmc" check --policy sticky --mutant droppable-dirty-skip-and --cases 20 --explore-depth 0 \
  --out "$out/drop" > "$out/drop.log" 2>&1
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "check with the droppable mutant exited $rc: $(tail -3 "$out/drop.log")"
grep -Eq "^sticky +.* - +- +(sound|[0-9]+ cases)" "$out/drop.log" || fail "sticky's deep column is not '-': $(grep "^sticky " "$out/drop.log")"
grep -q "deep: *sticky *not covered by the compact engine: the mutant droppable-dirty-skip-and" "$out/drop.log" \
  || fail "the refusal for the mutant is not named: $(grep -i "deep" "$out/drop.log" | head -3)"

# Precision is checked for the designs that promise it: the granular split that drops the
# straddling node makes a clean page read dirty.
"$sdmc" check --policy granular --mutant granular-split-drops-node --cases 200 --explore-depth 0 --deep-depth 4 \
  --out "$out/prec" > "$out/prec.log" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "check with granular-split-drops-node exited $rc, not 1"
grep -q "^ERROR under granular: false positive (" "$out/prec.log" || fail "no precision error: $(head -5 "$out/prec.log")"

# --json: one object per design.
"$sdmc" check --policy sticky --policy granular --cases 5 --explore-depth 2 --deep-depth 3 --json --out "$out/json" \
  > "$out/json.log" 2>/dev/null || fail "check --json exited non-zero"
[ "$(grep -c '"policy":' "$out/json.log")" = 2 ] || fail "check --json does not list two designs: $(cat "$out/json.log")"
grep -q '"explored_states": [1-9]' "$out/json.log" || fail "check --json has no explored states"

# Bad input: exit 2 with a message naming what is wrong.
expect_2 "no-such-policy" check --policy no-such-policy
expect_2 "no-such-bug" check --mutant no-such-bug
expect_2 "--cases" check --cases 0
: > "$out/not-a-dir"
expect_2 "$out/not-a-dir" check --policy upstream-6.12 --cases 30 --explore-depth 0 --out "$out/not-a-dir"
echo "check_cli: all checks passed"
