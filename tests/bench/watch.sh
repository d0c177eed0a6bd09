#!/usr/bin/env bash
# Benchmark: `kyuubi-reaper watch` over 100,000 candidate pods (tests/bench/src/bin/watch-bench.rs
# says what is measured and how): memory per candidate pod above the process baseline, idle CPU,
# and the delay from a pod's retain period ending to its DELETE; next to one `scan` of the same
# pods (what each CronJob run of `reap` pays).
#
# Usage: tests/bench/watch.sh [runs=3] [workdir=/tmp/reaper-watch-bench]
# Environment: PODS (100000), FINISHERS (200), IDLE (60 seconds), RETAIN (5 seconds).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
WORK=${2:-/tmp/reaper-watch-bench}
[ -x /usr/bin/time ] || { echo "watch.sh: /usr/bin/time is needed: apt-get install -y time" >&2; exit 1; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release
for run in $(seq 1 "$RUNS"); do
    echo "== run $run of $RUNS ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
    "$BIN/watch-bench" "$BIN/kyuubi-reaper" "$WORK" --pods "${PODS:-100000}" \
        --finishers "${FINISHERS:-200}" --idle "${IDLE:-60}" --retain "${RETAIN:-5}"
done
