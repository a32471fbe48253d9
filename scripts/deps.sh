#!/usr/bin/env bash
# Installs what sdmc needs to build and test, from Debian packages only, if anything is missing.
# Usage: scripts/deps.sh [extra-package...]
set -euo pipefail

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config
  libboost-dev librapidcheck-dev libgtest-dev googletest libbenchmark-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libgraphviz-dev fonts-dejavu-core libxml2-dev libpng-dev
  libzstd-dev strace
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "sdmc: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "sdmc: missing packages (${missing[*]}) and not root: install them with apt-get" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || { echo "sdmc: apt-get update failed" >&2; exit 2; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { echo "sdmc: apt-get install ${missing[*]} failed" >&2; exit 2; }
fi
