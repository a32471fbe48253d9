#!/usr/bin/env bash
# Overhead of `sdmc record` on the corpus programs (traces/corpus/workloads.sh): wall time of
# each program untraced, recorded (default mode) and recorded with --epoch-per-call, the three
# runs interleaved ROUNDS times; the medians and their ratios, as a Markdown table for
# docs/performance.md. Goal (issue 5): recorded <= 2x untraced.
# Usage: bench/record_overhead.sh [ROUNDS] [SDMC]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=traces/corpus/workloads.sh
source "$root/traces/corpus/workloads.sh"
rounds=${1:-5}
sdmc=${2:-$root/build/sdmc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# seconds NAME MODE: one timed run of workload NAME (MODE: plain, record, per-call)
seconds() {
	corpus_workload "$1" "$work"
	local t0 t1 pre=()
	case $2 in
	record) pre=("$sdmc" record -o "$work/t.sdt" --) ;;
	per-call) pre=("$sdmc" record --epoch-per-call -o "$work/t.sdt" --) ;;
	esac
	t0=$(date +%s.%N)
	"${pre[@]}" "${argv[@]}" <"$stdin" >/dev/null
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "| program | untraced (s) | recorded (s) | ratio | --epoch-per-call (s) | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for name in "${CORPUS_NAMES[@]}"; do
	seconds "$name" plain >/dev/null  # warm the page cache
	plain=() rec=() per=()
	for ((i = 0; i < rounds; i++)); do
		plain+=("$(seconds "$name" plain)")
		rec+=("$(seconds "$name" record)")
		per+=("$(seconds "$name" per-call)")
	done
	p=$(printf '%s\n' "${plain[@]}" | median)
	r=$(printf '%s\n' "${rec[@]}" | median)
	c=$(printf '%s\n' "${per[@]}" | median)
	printf '| %s | %.3f | %.3f | %.2fx | %.3f | %.2fx |\n' "$name" "$p" "$r" "$(echo "$r / $p" | bc -l)" \
		"$c" "$(echo "$c / $p" | bc -l)"
done
