#!/bin/bash
# Replay sdtrace files with real syscalls (kernel/replayer/sdreplay.c) as /init
# in a second boot of the KUnit-built bzImage (kunit.enable=0), or on the host.
#
#   kernel/run-userspace.sh [--series NAME] [--out FILE] [--timeout SECS] [--quiet] [--host] TRACE.sdt...
#
# The bzImage must exist (run kernel/run-kunit.sh once). Output: the same KTAP
# and observation lines as run-kunit.sh (kernel/OBSERVATIONS.md), to FILE
# (default $SDMC_CACHE/run-SERIES/last-user.ktap, or last-host.ktap) and stdout.
# --host runs the replayer directly on this machine's kernel (no soft-dirty
# on most distribution kernels: bit 55 is meaningless there; expect/result
# mismatches are reported but do not fail).
# Exit: as run-kunit.sh (0 ok, 1 trace failed, 2 set-up error, 3 kernel trouble).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=upstream-6.12
OUT=
TIMEOUT=${SDMC_USER_TIMEOUT:-600}
QUIET=0
HOST=0
TRACES=()
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	--host) HOST=1; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	--*) die "unknown option '$1'" ;;
	*) TRACES+=("$1"); shift ;;
	esac
done
[ ${#TRACES[@]} -gt 0 ] || die "no trace given"
for t in "${TRACES[@]}"; do [ -f "$t" ] || die "trace not found: $t"; done
lock_series "$SERIES"
T0=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

RUN=$SDMC_CACHE/run-$SERIES
mkdir -p "$RUN"
# uapi headers of the 6.12 tree (PAGEMAP_SCAN, UFFD_FEATURE_WP_ASYNC, MAP_DROPPABLE)
[ -f "$SDMC_PRISTINE/.sdmc-stamp" ] || "$SDMC_KERNEL_DIR/setup.sh" --series "$SERIES" >/dev/null
HDR=$SDMC_CACHE/headers-6.12
if [ ! -f "$HDR/.sdmc-stamp" ] || ! cmp -s "$HDR/.sdmc-stamp" "$SDMC_PRISTINE/.sdmc-stamp"; then
	note "installing 6.12 uapi headers in $HDR"
	rm -rf "$HDR"
	make -s -C "$SDMC_PRISTINE" O="$SDMC_CACHE/headers-build" ARCH=x86_64 \
		INSTALL_HDR_PATH="$HDR" headers_install >"$RUN/headers.log" 2>&1 ||
		{ tail -20 "$RUN/headers.log" >&2; die "make headers_install failed"; }
	cp "$SDMC_PRISTINE/.sdmc-stamp" "$HDR/.sdmc-stamp"
fi
BIN=$RUN/sdreplay
SRCS=("$SDMC_KERNEL_DIR/replayer/sdreplay.c" "$SDMC_KERNEL_DIR/common/sdtrace.c" "$SDMC_KERNEL_DIR/common/sdtrace.h")
# Rebuilt when the sources' content differs from the last build's (not by modification time:
# worktrees of other branches share this cache and build the same binary from their sources).
SRC_HASH=$(cat "${SRCS[@]}" "$HDR/.sdmc-stamp" | sha256sum | cut -c1-16)
if [ ! -x "$BIN" ] || [ "$(cat "$BIN.hash" 2>/dev/null)" != "$SRC_HASH" ]; then
	rm -f "$BIN.hash"
	gcc -static -pthread -O2 -Wall -Wno-unused-result -I "$SDMC_KERNEL_DIR/common" -isystem "$HDR/include" \
		-o "$BIN" "${SRCS[0]}" "${SRCS[1]}" 2>"$RUN/sdreplay.build.log" ||
		{ cat "$RUN/sdreplay.build.log" >&2; die "cannot build sdreplay"; }
	echo "$SRC_HASH" >"$BIN.hash"
fi

if [ $HOST = 1 ]; then
	[ -n "$OUT" ] || OUT=$RUN/last-host.ktap
	set +e
	timeout "$TIMEOUT" "$BIN" --host "${TRACES[@]}" >"$OUT"
	RC=$?
	set -e
	[ $QUIET = 1 ] || cat "$OUT"
	note "host $(uname -r): $(grep -c -E '^        ok ' "$OUT" || true) ok, $(grep -c -E '^        not ok ' "$OUT" || true) not ok, $(secs "$T0")s"
	[ $RC = 124 ] && { echo "sdmc-kernel: error: host replay timed out" >&2; exit 3; }
	[ $RC = 0 ] || exit 1
	exit 0
fi

[ -n "$OUT" ] || OUT=$RUN/last-user.ktap
BZ=$(build_dir "$SERIES")/arch/x86/boot/bzImage
[ -f "$BZ" ] || die "no kernel image $BZ: run kernel/run-kunit.sh --series $SERIES first"
IR=$RUN/initramfs-user
rm -rf "$IR"
mkdir -p "$IR/sdmc/traces" "$IR/proc"
cp "$BIN" "$IR/init"
: >"$IR/sdmc/list"
declare -A seen=()
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
{ cat "$SDMC_VERSION_FILE"; echo " series=$SERIES"; } | tr -d '\n' >"$IR/sdmc/version"
CPIO=$RUN/initramfs-user.cpio
(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$CPIO" || die "cannot make $CPIO"

LOG=$RUN/console-user.log
UOUT=$RUN/ttyS1-user.log
rm -f "$UOUT"
T1=$(date +%s.%N)
set +e
# ttyS0: kernel console (evidence of trouble); ttyS1: the replayer's output
timeout "$TIMEOUT" qemu-system-x86_64 -nodefaults -m 1024 -kernel "$BZ" -initrd "$CPIO" \
	-append "console=ttyS0 kunit.enable=0 transparent_hugepage=never panic=-1 log_buf_len=16M" \
	-no-reboot -nographic -serial stdio -serial "file:$UOUT" -bios qboot.rom </dev/null >"$LOG" 2>&1
RC=$?
set -e
T_BOOT=$(secs "$T1")
[ -f "$UOUT" ] || : >"$UOUT"
sed -e 's/\r$//' -e 's/^\[ *[0-9]*\.[0-9]*\] //' "$UOUT" | awk '
	/^ *(K?TAP version [0-9]+)$/ { on = 1 }
	/^    # sdmc (version|traces) / { print; next }
	on && /^ *(K?TAP version [0-9]+|[0-9]+\.\.[0-9]+|ok [0-9]+|not ok [0-9]+|# )/ { print }
' >"$OUT"
[ $QUIET = 1 ] || cat "$OUT"
problems=()
evidence() { grep -n -E -A12 "$1" "$LOG" | head -60 >&2; }
[ $RC = 124 ] && { problems+=("QEMU timeout (${TIMEOUT} s)"); tail -20 "$LOG" >&2; }
if grep -q -E "Kernel panic" "$LOG"; then problems+=("kernel panic"); evidence "Kernel panic"; fi
if grep -q -E "Oops|general protection fault|BUG: unable to handle" "$LOG"; then problems+=("oops"); evidence "Oops|general protection fault"; fi
if grep -q -E "kernel BUG at|BUG: " "$LOG"; then problems+=("BUG"); evidence "kernel BUG at|BUG: "; fi
if grep -q -E "WARNING: |-\[ cut here \]-" "$LOG"; then problems+=("WARN"); evidence "WARNING: |cut here"; fi
if ! grep -q -E "^(ok|not ok) 1 sdmc$" "$OUT"; then
	problems+=("truncated KTAP: no result line for sdmc")
	tail -25 "$LOG" >&2
fi
NOTOK=$(grep -c -E "^        not ok " "$OUT" || true)
note "userspace observer on $(cat "$SDMC_VERSION_FILE"): traces=${#TRACES[@]} not-ok=$NOTOK boot+replay ${T_BOOT}s total $(secs "$T0")s; KTAP: $OUT"
if [ ${#problems[@]} -gt 0 ]; then
	for p in "${problems[@]}"; do echo "sdmc-kernel: error: $p (see $LOG)" >&2; done
	exit 3
fi
[ "$NOTOK" = 0 ] || exit 1
