#!/usr/bin/env bash
# Overhead of `sdmc record` on the corpus programs (traces/corpus/workloads.sh): each program
# untraced, recorded (default mode) and recorded with --epoch-per-call, the three runs
# interleaved ROUNDS times. Prints the medians of wall time and of CPU time (user + system of
# the program and, when recorded, of the recorder: ptrace stops, PAGEMAP_SCAN and the uffd-wp
# faults), and their ratios to the untraced run, as a Markdown table for docs/performance.md.
# CPU time is the steadier figure on a shared machine: wall time there includes waiting for a
# core. Goal (issue 5): recorded <= 2x untraced.
# Needs bc (scripts/deps.sh bc) and the corpus programs (traces/corpus/README.md).
# Usage: bench/record_overhead.sh [ROUNDS] [SDMC]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=traces/corpus/workloads.sh
source "$root/traces/corpus/workloads.sh"
rounds=${1:-5}
sdmc=${2:-$root/build/sdmc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# measure NAME MODE: "WALL CPU" seconds of one run of workload NAME (MODE: plain, record, per-call)
measure() {
	corpus_workload "$1" "$work"
	local pre=()
	case $2 in
	record) pre=("$sdmc" record -o "$work/t.sdt" --) ;;
	per-call) pre=("$sdmc" record --epoch-per-call -o "$work/t.sdt" --) ;;
	esac
	# getrusage(RUSAGE_CHILDREN) has microseconds; /usr/bin/time prints hundredths.
	/usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[1]) as i, open(sys.argv[2], "w") as e:
    rc = subprocess.run(sys.argv[3:], stdin=i, stdout=subprocess.DEVNULL, stderr=e).returncode
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{wall:.4f} {r.ru_utime + r.ru_stime:.4f}")
sys.exit(rc)' "$stdin" "$work/err" "${pre[@]}" "${argv[@]}" || { cat "$work/err" >&2; return 1; }
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ratio() { echo "$1 / $2" | bc -l; }

echo "Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $rounds rounds."
echo
echo "| program | untraced wall / CPU (s) | recorded wall / CPU (s) | ratio wall / CPU | --epoch-per-call wall / CPU (s) | ratio wall / CPU |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for name in "${CORPUS_NAMES[@]}"; do
	measure "$name" plain >/dev/null  # warm the page cache
	for mode in plain record per-call; do : >"$work/$mode"; done
	for ((i = 0; i < rounds; i++)); do
		for mode in plain record per-call; do measure "$name" "$mode" >>"$work/$mode"; done
	done
	declare -A wall cpu
	for mode in plain record per-call; do
		wall[$mode]=$(cut -d' ' -f1 "$work/$mode" | median)
		cpu[$mode]=$(cut -d' ' -f2 "$work/$mode" | median)
	done
	printf '| %s | %.3f / %.3f | %.3f / %.3f | %.2fx / %.2fx | %.3f / %.3f | %.2fx / %.2fx |\n' "$name" \
		"${wall[plain]}" "${cpu[plain]}" "${wall[record]}" "${cpu[record]}" \
		"$(ratio "${wall[record]}" "${wall[plain]}")" "$(ratio "${cpu[record]}" "${cpu[plain]}")" \
		"${wall[per-call]}" "${cpu[per-call]}" \
		"$(ratio "${wall[per-call]}" "${wall[plain]}")" "$(ratio "${cpu[per-call]}" "${cpu[plain]}")"
done
