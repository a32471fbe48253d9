#!/bin/bash
# Measure the soft-dirty metadata structures as Debian's amd64 Linux 6.12 lays
# them out: sizeof(struct vm_area_struct), sizeof(struct list_head), and
# sizeof(struct non_sd_reg), the node of the Dec 2022 granular soft-dirty RFC
# ("[PATCH RFC] mm: implement granular soft-dirty vma support", Muhammad Usama
# Anjum: a list_head plus start and end).
#
#   kernel/vma-size.sh [--quiet] [--install]
#
# How: the pristine Debian tree (linux-source-6.12) is configured out of tree
# with Debian's own amd64 config (linux-config-6.12:
# config.amd64_none_amd64.xz) plus `make olddefconfig`, `make prepare`; then
# mm/debug.o (which uses struct vm_area_struct) is compiled with that config's
# DWARF debug info, and a probe object defining struct non_sd_reg is compiled
# with exactly mm/debug.o's compiler command line (from its .cmd file). pahole
# reads the sizes from the DWARF of both objects on every run; the objects are
# cached in $SDMC_CACHE/layout/ and rebuilt only when the source, the config or
# the compiler changes.
#
# Output (stdout), one "NAME BYTES" line each:
#   vm_area_struct 176
#   list_head 16
#   non_sd_reg 32
# The pahole layout of struct vm_area_struct is kept in
# $SDMC_CACHE/layout/vm_area_struct.pahole (printed to stderr unless --quiet).
#
# --install: apt-get install missing packages instead of failing (the ctest).
# Exit: 0 measured; 2 a package missing or any set-up/build/pahole failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QUIET=0
INSTALL=0
while [ $# -gt 0 ]; do
	case $1 in
	--quiet) QUIET=1; shift ;;
	--install) INSTALL=1; shift ;;
	-h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done

mkdir -p "$SDMC_CACHE"
need_packages $INSTALL linux-source-6.12 linux-config-6.12 dwarves build-essential bc bison flex \
	libelf-dev libssl-dev xz-utils
CONFIG_XZ=${SDMC_DEBIAN_CONFIG:-/usr/src/linux-config-6.12/config.amd64_none_amd64.xz}
[ -f "$CONFIG_XZ" ] || die "Debian amd64 config $CONFIG_XZ not found (package linux-config-6.12)"
command -v pahole >/dev/null || die "pahole not found (package dwarves)"

exec 8>"$SDMC_CACHE/.lock-layout"
flock 8
SRC=$("$SDMC_KERNEL_DIR/setup.sh" --pristine-only | tail -1) || exit 2
LAYOUT=$SDMC_CACHE/layout
OBJ=$LAYOUT/build
LOG=$LAYOUT/build.log
mkdir -p "$OBJ"

# ---- objects (only when an input changed) ------------------------------------
STAMP=$( { cat "$SRC/.sdmc-stamp"; sha256sum <"$CONFIG_XZ"; gcc --version | head -1;
	sha256sum <"$0"; } | sha256sum | cut -c1-16)
if [ "$(cat "$OBJ/.sdmc-layout-stamp" 2>/dev/null)" != "$STAMP" ] ||
	[ ! -f "$OBJ/mm/debug.o" ] || [ ! -f "$OBJ/sdmc_non_sd_reg.o" ]; then
	note "configuring $SRC with $(basename "$CONFIG_XZ") in $OBJ (log: $LOG)"
	rm -f "$OBJ/.sdmc-layout-stamp"
	xz -dc "$CONFIG_XZ" >"$OBJ/.config" || die "cannot decompress $CONFIG_XZ"
	MK=(nice -n 10 make -s -C "$SRC" O="$OBJ" ARCH=x86_64 -j"$(nproc)")
	{
		"${MK[@]}" olddefconfig && "${MK[@]}" prepare && "${MK[@]}" mm/debug.o
	} >"$LOG" 2>&1 || { tail -30 "$LOG" >&2; die "kernel configure/prepare/compile failed (see $LOG)"; }
	grep -q '^CONFIG_DEBUG_INFO=y' "$OBJ/.config" ||
		die "the Debian config has no CONFIG_DEBUG_INFO: pahole cannot read the layout"
	# The probe: struct non_sd_reg as the RFC defined it, compiled with the
	# command line kbuild used for mm/debug.o (same flags, includes, config).
	CMD=$(sed -n 's/^savedcmd_mm\/debug.o := //p' "$OBJ/mm/.debug.o.cmd")
	[ -n "$CMD" ] || die "no compiler command line in $OBJ/mm/.debug.o.cmd"
	PROBE=$OBJ/sdmc_non_sd_reg.c
	cat >"$PROBE" <<-'EOF'
	// struct non_sd_reg of the Dec 2022 granular soft-dirty RFC
	// (include/linux/mm_types.h there): one kmalloc'd node per clean range.
	#include <linux/types.h>
	struct non_sd_reg {
		struct list_head nsdr_head;
		unsigned long start;
		unsigned long end;
	};
	struct non_sd_reg sdmc_non_sd_reg_probe;
	EOF
	# kbuild runs the command from $OBJ with paths relative to it; swap the
	# source and the output for the probe's (the last ".c" word, before trailing
	# blanks, and "-o X").
	PCMD=$(echo "$CMD" | sed -E -e "s#-o mm/debug\.o#-o $OBJ/sdmc_non_sd_reg.o#" \
		-e "s#[^ ]*mm/debug\.c *\$#$PROBE#" -e 's#-Wp,-MMD,[^ ]*##')
	(cd "$OBJ" && eval "nice -n 10 $PCMD") >>"$LOG" 2>&1 ||
		{ tail -20 "$LOG" >&2; die "cannot compile the non_sd_reg probe (see $LOG)"; }
	echo "$STAMP" >"$OBJ/.sdmc-layout-stamp"
fi

# ---- measure (every run) -------------------------------------------------------
size_of() { # OBJECT STRUCT: the byte size pahole reports
	local out
	out=$(pahole -C "$2" "$1" 2>&1) || die "pahole -C $2 $1 failed: $out"
	echo "$out" >"$LAYOUT/$2.pahole"
	echo "$out" | sed -n 's#^[[:space:]]*/\* size: \([0-9]*\),.*#\1#p' | tail -1
}
VMA=$(size_of "$OBJ/mm/debug.o" vm_area_struct)
LH=$(size_of "$OBJ/mm/debug.o" list_head)
NSDR=$(size_of "$OBJ/sdmc_non_sd_reg.o" non_sd_reg)
for v in "vm_area_struct:$VMA" "list_head:$LH" "non_sd_reg:$NSDR"; do
	case ${v#*:} in
	''|*[!0-9]*) die "pahole gave no size for struct ${v%%:*} (see $LAYOUT/${v%%:*}.pahole)" ;;
	esac
done
[ $QUIET = 1 ] || { cat "$LAYOUT/vm_area_struct.pahole" >&2; }
RESULT=$LAYOUT/sizes.txt
{
	echo "vm_area_struct $VMA"
	echo "list_head $LH"
	echo "non_sd_reg $NSDR"
} >"$RESULT.tmp"
mv "$RESULT.tmp" "$RESULT"
note "kernel $(cat "$SDMC_VERSION_FILE"), config $(basename "$CONFIG_XZ"), pahole $(pahole --version): $RESULT"
cat "$RESULT"
