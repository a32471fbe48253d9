#!/bin/bash
# Replay sdtrace files inside the real (patched) Linux 6.12 kernel under KUnit.
#
#   kernel/run-kunit.sh [--series NAME] [--out FILE] [--timeout SECS] [--quiet] TRACE.sdt...
#
# Sets the tree up (setup.sh), builds it with the tree's own kunit.py when its
# inputs changed (series patches, suite sources, kunitconfig), packs the traces
# into an initramfs (/sdmc/traces/*, /sdmc/list, /sdmc/version) and boots it in
# QEMU. The KTAP output (grammar: kernel/OBSERVATIONS.md) is written to FILE
# (default $SDMC_CACHE/run-SERIES/last.ktap) and, unless --quiet, to stdout.
# The whole console log is kept beside it as console.log.
#
# Exit: 0 every trace ok or skipped; 1 some trace failed (not ok);
#       2 set-up or build error; 3 kernel trouble: QEMU timeout, panic, oops,
#       BUG, WARN, or truncated KTAP (the evidence is printed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=upstream-6.12
OUT=
TIMEOUT=${SDMC_KUNIT_TIMEOUT:-900}
QUIET=0
TRACES=()
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=${2:?}; shift 2 ;;
	--series=*) SERIES=${1#*=}; shift ;;
	--out) OUT=${2:?}; shift 2 ;;
	--out=*) OUT=${1#*=}; shift ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--timeout=*) TIMEOUT=${1#*=}; shift ;;
	--quiet) QUIET=1; shift ;;
	-h|--help) sed -n '2,16p' "$0"; exit 0 ;;
	--*) die "unknown option '$1'" ;;
	*) TRACES+=("$1"); shift ;;
	esac
done
[ ${#TRACES[@]} -gt 0 ] || die "no trace given (usage: run-kunit.sh [--series NAME] TRACE.sdt...)"
for t in "${TRACES[@]}"; do [ -f "$t" ] || die "trace not found: $t"; done

lock_series "$SERIES"
T0=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

TREE=$("$SDMC_KERNEL_DIR/setup.sh" --series "$SERIES" | tail -1) || exit 2
BUILD=$(build_dir "$SERIES")
RUN=$SDMC_CACHE/run-$SERIES
mkdir -p "$BUILD" "$RUN"
[ -n "$OUT" ] || OUT=$RUN/last.ktap
mkdir -p "$(dirname "$OUT")"
LOG=$RUN/console.log
T_SETUP=$(secs "$T0")

# ---- build (only when an input changed) --------------------------------------
KUNIT=(python3 tools/testing/kunit/kunit.py)
KARGS=(--arch=x86_64 "--kunitconfig=$SDMC_KERNEL_DIR/kunitconfig" "--build_dir=$BUILD")
BHASH=$( { cat "$TREE/.sdmc-series-hash"; cat "$SDMC_KERNEL_DIR/kunitconfig";
	cat "$TREE"/mm/sdmc/*; cat "$TREE/tools/testing/kunit/qemu_configs/x86_64.py"; } | sha256sum | cut -c1-16)
T1=$(date +%s.%N)
if [ -f "$BUILD/arch/x86/boot/bzImage" ] && [ "$(cat "$BUILD/.sdmc-build-hash" 2>/dev/null)" = "$BHASH" ]; then
	note "kernel up to date (build hash $BHASH)"
else
	note "building kernel in $BUILD (log: $RUN/build.log)"
	rm -f "$BUILD/.sdmc-build-hash"
	if ! (cd "$TREE" && timeout 3600 "${KUNIT[@]}" build "${KARGS[@]}" --jobs="$(nproc)") >"$RUN/build.log" 2>&1; then
		echo "---- tail of $RUN/build.log ----" >&2
		tail -40 "$RUN/build.log" >&2
		die "kernel build failed (series $SERIES)"
	fi
	echo "$BHASH" >"$BUILD/.sdmc-build-hash"
fi
T_BUILD=$(secs "$T1")

# ---- initramfs with the traces ------------------------------------------------
IR=$RUN/initramfs
rm -rf "$IR"
mkdir -p "$IR/sdmc/traces"
declare -A seen=()
: >"$IR/sdmc/list"
i=0
for t in "${TRACES[@]}"; do
	b=$(basename "$t")
	b=${b//[^A-Za-z0-9._+-]/_}
	if [ -n "${seen[$b]:-}" ]; then b="$i-$b"; fi
	seen[$b]=1
	cp "$t" "$IR/sdmc/traces/$b" || die "cannot copy trace $t"
	echo "/sdmc/traces/$b" >>"$IR/sdmc/list"
	i=$((i + 1))
done
cp "$SDMC_VERSION_FILE" "$IR/sdmc/version"
[ -z "${SDMC_QUIET:-}" ] || echo 1 >"$IR/sdmc/quiet"
echo "series=$SERIES" >>"$IR/sdmc/version"
tr '\n' ' ' <"$IR/sdmc/version" >"$IR/sdmc/version.1" && mv "$IR/sdmc/version.1" "$IR/sdmc/version"
CPIO=$RUN/initramfs.cpio
(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$CPIO" || die "cannot make $CPIO"

# ---- boot --------------------------------------------------------------------
T2=$(date +%s.%N)
set +e
(cd "$TREE" && timeout $((TIMEOUT + 60)) "${KUNIT[@]}" exec "${KARGS[@]}" \
	--timeout="$TIMEOUT" --raw_output=all \
	--kernel_args transparent_hugepage=never --kernel_args panic=-1 \
	--kernel_args log_buf_len=16M \
	--qemu_args "-initrd $CPIO") >"$LOG" 2>&1
RC=$?
set -e
T_BOOT=$(secs "$T2")

# KTAP: console lines without the printk time stamp, from the first
# "KTAP version"/"TAP version" on, that are KTAP syntax.
sed -e 's/\r$//' -e 's/^\[ *[0-9]*\.[0-9]*\] //' "$LOG" | awk '
	/^ *(K?TAP version [0-9]+)$/ { on = 1 }
	on && /^ *(K?TAP version [0-9]+|[0-9]+\.\.[0-9]+|ok [0-9]+|not ok [0-9]+|# )/ { print }
' >"$OUT"
[ $QUIET = 1 ] || cat "$OUT"

problems=()
evidence() { # PATTERN: print matching log lines with context
	grep -n -E -A12 "$1" "$LOG" | head -60 >&2
}
[ $RC = 124 ] && problems+=("outer timeout ($((TIMEOUT + 60)) s) killed kunit.py")
if grep -q -E "timed out after|Timeout Reached" "$LOG"; then problems+=("QEMU timeout (${TIMEOUT} s)"); evidence "timed out after|Timeout Reached"; fi
if grep -q -E "Kernel panic" "$LOG"; then problems+=("kernel panic"); evidence "Kernel panic"; fi
if grep -q -E "Oops|general protection fault|BUG: unable to handle" "$LOG"; then problems+=("oops"); evidence "Oops|general protection fault|BUG: unable to handle"; fi
if grep -q -E "kernel BUG at|BUG: " "$LOG"; then problems+=("BUG"); evidence "kernel BUG at|BUG: "; fi
if grep -q -E "WARNING: |-\[ cut here \]-" "$LOG"; then problems+=("WARN"); evidence "WARNING: |cut here"; fi
# the suite must have finished: a top-level result line for "sdmc"
if ! grep -q -E "^ *(ok|not ok) [0-9]+ sdmc( |$)" "$OUT"; then
	problems+=("truncated KTAP: no result line for suite sdmc")
	echo "---- last console lines ($LOG) ----" >&2
	tail -25 "$LOG" >&2
fi
NOTOK=$(grep -c -E "^        not ok [0-9]+ " "$OUT" || true)
NPASS=$(grep -c -E "^        ok [0-9]+ [^#]*$" "$OUT" || true)
NSKIP=$(grep -c -E "^        ok [0-9]+ .*# SKIP" "$OUT" || true)
note "kernel $(cat "$SDMC_VERSION_FILE") series $SERIES: traces=${#TRACES[@]} pass=$NPASS skip=$NSKIP not-ok=$NOTOK"
note "timings: setup ${T_SETUP}s build ${T_BUILD}s boot+suite ${T_BOOT}s total $(secs "$T0")s; KTAP: $OUT; console: $LOG"
if [ ${#problems[@]} -gt 0 ]; then
	for p in "${problems[@]}"; do echo "sdmc-kernel: error: $p (see $LOG)" >&2; done
	exit 3
fi
[ "$NOTOK" = 0 ] || exit 1
# e.g. the suite could not initialise (no trace list): no case ran at all
if grep -q -E "^ *not ok [0-9]+ sdmc" "$OUT"; then
	grep -E "# sdmc error|failed to initialize" "$LOG" >&2 || true
	exit 1
fi
exit 0
