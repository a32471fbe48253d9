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

# series_dir NAME: the patch folder of a series (must exist).
series_dir() {
	local d=$SDMC_KERNEL_DIR/patches/$1
	[ -d "$d" ] || die "unknown patch series '$1' (no folder $d)"
	echo "$d"
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
