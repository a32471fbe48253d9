# The corpus workloads, shared by traces/corpus/record.sh and bench/record_overhead.sh.
# Source it; `corpus_workload NAME DIR` sets `argv` (the program and its arguments) and `stdin`
# for workload NAME, with DIR a scratch directory (fresh state is prepared there).
# shellcheck shell=bash

CORPUS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CORPUS_ROOT=$(cd "$CORPUS_DIR/../.." && pwd)
CORPUS_NAMES=(python3 cc1 sqlite3 java node)

corpus_workload() {
	local name=$1 dir=$2 w=$CORPUS_DIR/workloads
	stdin=/dev/null
	case $name in
	python3) argv=(/usr/bin/python3 "$w/wordfreq.py") ;;
	cc1)
		# The C compiler proper (what `gcc -O2 -c` runs, see `gcc -###`) on a real source file
		# of this repository: the C sdtrace parser of the kernel replayer.
		argv=("$(gcc -print-prog-name=cc1)" -quiet -I "$CORPUS_ROOT/kernel/common"
			-imultiarch x86_64-linux-gnu "$CORPUS_ROOT/kernel/common/sdtrace.c" -quiet
			-dumpbase sdtrace.c -dumpbase-ext .c -mtune=generic -march=x86-64 -O2
			-o "$dir/sdtrace.s") ;;
	sqlite3)
		rm -f "$dir"/corpus.db*
		argv=(/usr/bin/sqlite3 "$dir/corpus.db")
		stdin=$w/workload.sql ;;
	java)
		[ -f "$dir/Alloc.class" ] || javac -d "$dir" "$w/Alloc.java"
		argv=(/usr/bin/java -Xint -XX:+UseSerialGC -Xmx64m -cp "$dir" Alloc) ;;
	node) argv=(/usr/bin/node "$w/objects.js") ;;
	*) echo "unknown corpus workload $name" >&2; return 2 ;;
	esac
}
