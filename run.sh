#!/usr/bin/env bash
# The main job: build sdmc, replay every example trace against the upstream-6.12 model (their
# expectations were checked on the real 6.12.117 kernel), then run the default check campaign
# of every design (`sdmc check`: 1,000 random traces per policy, the comparison table,
# counterexamples in sdmc-out/). Extra arguments go to `sdmc check`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/build.sh default sdmc
build/sdmc replay traces/examples/*.sdt > sdmc-replay.log || { cat sdmc-replay.log; exit 1; }
echo "sdmc: $(grep -c ': PASS under' sdmc-replay.log) example traces replay as the real kernel reported them"
build/sdmc check "$@"
