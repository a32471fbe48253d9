#!/usr/bin/env bash
# The main job: build sdmc and replay every example trace against the upstream-6.12 model.
# (A later milestone turns this into the full `sdmc check` campaign.)
set -euo pipefail
cd "$(dirname "$0")"
scripts/build.sh default sdmc
build/sdmc replay traces/examples/*.sdt "$@"
