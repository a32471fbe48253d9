#!/usr/bin/env bash
# Records the corpus: traces/corpus/NAME.sdt.zst for each workload of workloads.sh, and prints
# the note (command, kernel, date) that README.md keeps for each.
# Usage: traces/corpus/record.sh [SDMC] [NAME...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=traces/corpus/workloads.sh
source "$here/workloads.sh"
sdmc=${1:-$CORPUS_ROOT/build/sdmc}
shift || true
names=("$@")
((${#names[@]})) || names=("${CORPUS_NAMES[@]}")
# A fixed scratch directory, so that file names in the traces (sqlite's -shm file) are stable.
work=${TMPDIR:-/tmp}/sdmc-corpus
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
for name in "${names[@]}"; do
	corpus_workload "$name" "$work"
	out=$here/$name.sdt.zst
	"$sdmc" record --interval 20 -o "$out" -- "${argv[@]}" <"$stdin" >/dev/null
	"$sdmc" replay "$out" >/dev/null || { echo "$name: replay failed" >&2; exit 1; }
	printf '| `%s` | `%s` | %s | %s | %s |\n' "$name" "$(echo "${argv[*]}" | sed "s|$CORPUS_ROOT/||g")$([ "$stdin" = /dev/null ] || echo " < ${stdin#"$CORPUS_ROOT"/}")" \
		"$(uname -r)" "$(date -u +%Y-%m-%d)" "$(du -k "$out" | cut -f1) KiB"
done
