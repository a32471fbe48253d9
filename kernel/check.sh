#!/bin/bash
# End-to-end check of the kernel observers, for CI or by hand:
# KUnit suite and userspace replayer on the same 6.12 kernel, over
# kernel/tests/*.sdt and traces/examples/*.sdt (or the traces given), then a
# trace-by-trace comparison of their observations.
#
#   kernel/check.sh [--series NAME] [TRACE.sdt...]
#
# Prints a closing "N passed, N failed" line; exit 0 only if both observers
# passed every trace they ran and agree on every trace neither skipped.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
SERIES=upstream-6.12
if [ "${1:-}" = --series ]; then SERIES=$2; shift 2; fi
ROOT=$(cd "$SDMC_KERNEL_DIR/.." && pwd)
if [ $# -gt 0 ]; then TRACES=("$@"); else
	shopt -s nullglob
	TRACES=("$SDMC_KERNEL_DIR"/tests/*.sdt "$ROOT"/traces/examples/*.sdt)
	shopt -u nullglob
fi
RUN=$SDMC_CACHE/run-$SERIES
mkdir -p "$RUN"
pass=0 fail=0
"$SDMC_KERNEL_DIR/run-kunit.sh" --series "$SERIES" --quiet --out "$RUN/check-kunit.ktap" "${TRACES[@]}"
rc=$?
if [ $rc = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "check: KUnit observer failed (exit $rc)" >&2; fi
if [ $rc -le 1 ]; then
	"$SDMC_KERNEL_DIR/run-userspace.sh" --series "$SERIES" --quiet --out "$RUN/check-user.ktap" "${TRACES[@]}"
	urc=$?
	if [ $urc = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "check: userspace observer failed (exit $urc)" >&2; fi
	if [ $urc -le 1 ] && "$SDMC_KERNEL_DIR/compare-observers.sh" "$RUN/check-kunit.ktap" "$RUN/check-user.ktap"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)); echo "check: the observers disagree (or one crashed)" >&2
	fi
else
	fail=$((fail + 2))
fi
echo "kernel-check: $pass passed, $fail failed"
[ $fail = 0 ]
