#!/bin/bash
# Compare the observation lines of two KTAP files (e.g. KUnit vs userspace
# observer) trace by trace, ignoring keys only one observer knows (wprot) and
# traces that either side skipped. Exit 0 if identical, 1 otherwise.
#   kernel/compare-observers.sh A.ktap B.ktap
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 A.ktap B.ktap" >&2; exit 2; }
norm() {
	sed -e 's/^ *//' -e 's/ wprot=[01]//' "$1" | awk '
		/^# sdmc trace / { name = $4; n = 0; delete buf; next }
		/^# sdmc (version|traces) / { next }
		/^# sdmc skip / { skip[name] = 1; next }
		/^# sdmc / { buf[n++] = $0; next }
		/^(ok|not ok) [0-9]+ / && name != "" {
			if (!(name in skip)) for (i = 0; i < n; i++) print name ": " buf[i]
			else print name ": SKIPPED"
			name = ""
		}'
}
norm "$1" >"${TMPDIR:-/tmp}/sdmc-cmp-a.$$"
norm "$2" >"${TMPDIR:-/tmp}/sdmc-cmp-b.$$"
# drop traces skipped on either side
skipped=$(cat "${TMPDIR:-/tmp}"/sdmc-cmp-[ab].$$ | sed -n 's/: SKIPPED$//p' | sort -u)
filt() { if [ -n "$skipped" ]; then grep -v -F -f <(printf '%s: \n' $skipped) "$1" || true; else cat "$1"; fi; }
rc=0
diff <(filt "${TMPDIR:-/tmp}/sdmc-cmp-a.$$") <(filt "${TMPDIR:-/tmp}/sdmc-cmp-b.$$") || rc=1
n=$(filt "${TMPDIR:-/tmp}/sdmc-cmp-a.$$" | cut -d: -f1 | sort -u | wc -l)
rm -f "${TMPDIR:-/tmp}"/sdmc-cmp-[ab].$$
echo "compared $n traces (skipped on either side: $(echo $skipped | wc -w)); $([ $rc = 0 ] && echo identical || echo DIFFERENT)" >&2
exit $rc
