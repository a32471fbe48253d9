# Shared helpers for kernel/*.sh. Source it; do not run it.
# shellcheck shell=bash

SDMC_KERNEL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SDMC_CACHE=${SDMC_CACHE:-$HOME/.cache/sdmc}
SDMC_SRC_TARBALL=${SDMC_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
SDMC_SRC_PKG=linux-source-6.12
SDMC_PRISTINE=$SDMC_CACHE/linux-source-6.12
SDMC_VERSION_FILE=$SDMC_CACHE/kernel-version

die() { # die MESSAGE... : print to stderr and exit 2
	echo "sdmc-kernel: error: $*" >&2
	exit 2
}
note() { echo "sdmc-kernel: $*" >&2; }

# need_packages INSTALL PACKAGE...: make sure the Debian packages are installed.
# INSTALL=1 installs the missing ones with apt-get (log: $SDMC_CACHE.apt.log);
# INSTALL=0 dies naming them. Dies if apt-get fails.
need_packages() {
	local install=$1 p
	shift
	local missing=() still=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	[ "$install" = 1 ] || die "missing packages: ${missing[*]} (apt-get install ${missing[*]}, or kernel/setup.sh installs them)"
	note "installing: ${missing[*]}"
	local SUDO=
	[ "$(id -u)" = 0 ] || SUDO=sudo
	if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$SDMC_CACHE.apt.log" 2>&1; then
		$SUDO apt-get update -q >>"$SDMC_CACHE.apt.log" 2>&1 || true
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$SDMC_CACHE.apt.log" 2>&1 ||
			{ tail -20 "$SDMC_CACHE.apt.log" >&2; die "apt-get install failed for: ${missing[*]}"; }
	fi
	for p in "${missing[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || still+=("$p")
	done
	[ ${#still[@]} -eq 0 ] || die "packages still missing after apt-get: ${still[*]}"
}

# series_dir NAME: the patch folder of a series (must exist).
series_dir() {
	local d=$SDMC_KERNEL_DIR/patches/$1
	[ -d "$d" ] || die "unknown patch series '$1' (no folder $d)"
	echo "$d"
}
# series_patches NAME: the patch files of a series, in the order they apply.
# Without a file `series` in the folder: its *.patch in name order. With one:
# its lines in order, each either `OTHER/` (every patch of series OTHER, by
# reference, so series share patches without copies) or a path to a patch
# relative to kernel/patches/; `#` starts a comment.
series_patches() {
	local dir list line p
	dir=$(series_dir "$1") || exit 2
	list=$dir/series
	if [ ! -f "$list" ]; then
		shopt -s nullglob
		for p in "$dir"/*.patch; do echo "$p"; done
		shopt -u nullglob
		return 0
	fi
	case " ${SDMC_SERIES_STACK:-} " in
	*" $1 "*) die "patch series '$1' includes itself (via: ${SDMC_SERIES_STACK})" ;;
	esac
	local n=0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%%#*}
		line=$(echo "$line" | xargs)
		[ -n "$line" ] || continue
		case $line in
		*/)
			SDMC_SERIES_STACK="${SDMC_SERIES_STACK:-} $1" series_patches "${line%/}" || exit 2 ;;
		*.patch)
			p=$SDMC_KERNEL_DIR/patches/$line
			[ -f "$p" ] || die "$list:$n: no patch $p"
			echo "$p" ;;
		*) die "$list:$n: '$line' is neither a series (NAME/) nor a .patch" ;;
		esac
	done <"$list"
}
tree_dir() { echo "$SDMC_CACHE/tree-$1"; }
build_dir() { echo "$SDMC_CACHE/build-$1"; }

# lock_series NAME: serialise runs that share a series' tree, build and run
# dirs (held until the calling script exits).
lock_series() {
	mkdir -p "$SDMC_CACHE"
	exec 9>"$SDMC_CACHE/.lock-$1"
	if ! flock -n 9; then
		note "waiting for another run on series $1"
		flock 9
	fi
}
