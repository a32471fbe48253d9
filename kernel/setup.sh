#!/bin/bash
# sdmc kernel set-up: packages, pristine Linux 6.12 source, patched tree per
# patch series, KUnit suite copied in. Idempotent and cached.
#
#   kernel/setup.sh [--series NAME] [--no-install] [--pristine-only]
#
# --pristine-only: only the pristine extract (step 2; no package check beyond
# the source tarball, no tree); prints its path. Used by kernel/vma-size.sh.
#
# Cache (SDMC_CACHE, default ~/.cache/sdmc):
#   linux-source-6.12/   pristine extract of /usr/src/linux-source-6.12.tar.xz
#   kernel-version       "6.12.117 deb=6.12.117-1~deb12u1" (Makefile + dpkg)
#   tree-SERIES/         pristine + kernel/patches/SERIES/*.patch + suite
#   build-SERIES/        kunit.py build dir (made by run-kunit.sh)
# A tree is re-made from the pristine copy whenever the hash of its series
# (patch names and contents) changes; the suite sources are copied in only
# when their content differs, so an unchanged tree keeps its mtimes and the
# kernel build stays incremental.
# Exit status: 0 ok, 2 any failure (the message says what).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=upstream-6.12
INSTALL=1
PRISTINE_ONLY=0
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=${2:?--series needs a name}; shift 2 ;;
	--series=*) SERIES=${1#*=}; shift ;;
	--no-install) INSTALL=0; shift ;;
	--pristine-only) PRISTINE_ONLY=1; shift ;;
	-h|--help) sed -n '2,20p' "$0"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
PATCHES=$(series_dir "$SERIES")

# ---- 1. packages -----------------------------------------------------------
# linux-config-6.12 and dwarves (pahole): kernel/vma-size.sh
PKGS="linux-source-6.12 qemu-system-x86 build-essential bc bison flex libelf-dev libssl-dev cpio python3 xz-utils zstd linux-config-6.12 dwarves"
[ $PRISTINE_ONLY = 0 ] || PKGS=
# shellcheck disable=SC2086
need_packages $INSTALL $PKGS
[ -f "$SDMC_SRC_TARBALL" ] || die "kernel source tarball $SDMC_SRC_TARBALL not found (package $SDMC_SRC_PKG)"
mkdir -p "$SDMC_CACHE"

# ---- 2. pristine source ----------------------------------------------------
DEBVER=$(dpkg-query -W -f='${Version}' "$SDMC_SRC_PKG" 2>/dev/null || echo unknown)
STAMP="$DEBVER $(stat -c '%s %Y' "$SDMC_SRC_TARBALL")"
if [ ! -f "$SDMC_PRISTINE/.sdmc-stamp" ] || [ "$(cat "$SDMC_PRISTINE/.sdmc-stamp")" != "$STAMP" ]; then
	note "extracting $SDMC_SRC_TARBALL"
	rm -rf "$SDMC_PRISTINE" "$SDMC_CACHE/.extract.tmp"
	mkdir -p "$SDMC_CACHE/.extract.tmp"
	tar -C "$SDMC_CACHE/.extract.tmp" -xf "$SDMC_SRC_TARBALL" || die "cannot extract $SDMC_SRC_TARBALL"
	top=$(ls "$SDMC_CACHE/.extract.tmp")
	[ -f "$SDMC_CACHE/.extract.tmp/$top/Makefile" ] || die "unexpected tarball layout in $SDMC_SRC_TARBALL"
	mv "$SDMC_CACHE/.extract.tmp/$top" "$SDMC_PRISTINE"
	rmdir "$SDMC_CACHE/.extract.tmp"
	echo "$STAMP" >"$SDMC_PRISTINE/.sdmc-stamp"
fi
mkv() { sed -n "s/^$1 = *//p" "$SDMC_PRISTINE/Makefile" | head -1; }
KVER="$(mkv VERSION).$(mkv PATCHLEVEL).$(mkv SUBLEVEL)$(mkv EXTRAVERSION)"
echo "$KVER deb=$DEBVER" >"$SDMC_VERSION_FILE.tmp"
cmp -s "$SDMC_VERSION_FILE.tmp" "$SDMC_VERSION_FILE" 2>/dev/null && rm "$SDMC_VERSION_FILE.tmp" ||
	mv "$SDMC_VERSION_FILE.tmp" "$SDMC_VERSION_FILE"
if [ $PRISTINE_ONLY = 1 ]; then
	echo "$SDMC_PRISTINE"
	exit 0
fi

# ---- 3. patched tree for the series ----------------------------------------
TREE=$(tree_dir "$SERIES")
# (kernel/lib.sh:series_patches: the folder's *.patch, or its `series` file)
series_list=$(series_patches "$SERIES") || exit 2
patches=()
[ -z "$series_list" ] || mapfile -t patches <<<"$series_list"
HASH=$( { echo "$STAMP"; for p in "${patches[@]}"; do basename "$p"; sha256sum <"$p"; done; } | sha256sum | cut -c1-16)
if [ ! -f "$TREE/.sdmc-series-hash" ] || [ "$(cat "$TREE/.sdmc-series-hash")" != "$HASH" ]; then
	note "making tree-$SERIES (series hash $HASH, ${#patches[@]} patches)"
	old_files=()
	[ -f "$TREE/.sdmc-patched-files" ] && mapfile -t old_files <"$TREE/.sdmc-patched-files"
	NEW=$TREE.tmp
	rm -rf "$NEW"
	# Hard links: GNU patch replaces the files it changes (new inode), so
	# the pristine copy is never modified.
	cp -al "$SDMC_PRISTINE" "$NEW" || die "cannot copy $SDMC_PRISTINE to $NEW"
	rm -f "$NEW/.sdmc-stamp"
	new_files=()
	for p in "${patches[@]}"; do
		if ! out=$(cd "$NEW" && patch -p1 --batch --forward --no-backup-if-mismatch -r - <"$p" 2>&1); then
			echo "$out" >&2
			rm -rf "$NEW"
			die "patch $(basename "$p") of series $SERIES does not apply"
		fi
		mapfile -t -O ${#new_files[@]} new_files < <(sed -n 's#^+++ b/\([^[:space:]]*\).*#\1#p' "$p")
	done
	# Files patched by the previous version of the series must look newer
	# than their objects in build-SERIES, or make would keep stale objects.
	for f in "${old_files[@]}"; do
		[ -f "$NEW/$f" ] || continue
		cp -p "$NEW/$f" "$NEW/$f.sdmc-tmp" && mv "$NEW/$f.sdmc-tmp" "$NEW/$f" && touch "$NEW/$f"
	done
	printf '%s\n' "${new_files[@]}" | sort -u >"$NEW/.sdmc-patched-files"
	echo "$HASH" >"$NEW/.sdmc-series-hash"
	echo "$SERIES" >"$NEW/.sdmc-series"
	rm -rf "$TREE"
	mv "$NEW" "$TREE"
fi

# ---- 4. KUnit suite --------------------------------------------------------
install_if_changed() { # SRC DST
	[ -f "$1" ] || die "missing suite file $1"
	cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
mkdir -p "$TREE/mm/sdmc"
for f in Kconfig Makefile sdmc_kunit.c; do
	install_if_changed "$SDMC_KERNEL_DIR/suite/$f" "$TREE/mm/sdmc/$f"
done
for f in sdtrace.c sdtrace.h; do
	install_if_changed "$SDMC_KERNEL_DIR/common/$f" "$TREE/mm/sdmc/$f"
done
echo "$TREE"
