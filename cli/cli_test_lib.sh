# Shared by the shell tests of the sdmc program (explore_cli_test.sh, check_cli_test.sh), sourced
# with their arguments SDMC OUTDIR: $sdmc is the program, $out an emptied scratch folder.
sdmc=$1
out=$2
rm -rf "$out"
mkdir -p "$out"

fail() { echo "FAIL: $*"; exit 1; }

# expect_2 WHAT ARGS...: `sdmc ARGS...` is bad input: exit status 2 and a message naming WHAT.
expect_2() {
  what=$1
  shift
  "$sdmc" "$@" > "$out/bad.log" 2>&1
  rc=$?
  [ "$rc" = 2 ] || fail "$* exited $rc, not 2"
  grep -q -- "$what" "$out/bad.log" || fail "$*: message does not name '$what': $(cat "$out/bad.log")"
}
