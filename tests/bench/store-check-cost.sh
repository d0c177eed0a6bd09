#!/usr/bin/env bash
# Benchmark: the cost of the metadata store's integrity check (`PRAGMA quick_check`, run by
# `Store::open` before any row is read) against the rest of the store's load, on the 1,000,000-row
# benchmark store of scan-vs-kubectl.sh.
#
# Usage: tests/bench/store-check-cost.sh [runs=5] [workdir=/tmp/reaper-bench]
#   Runs `kyuubi-reaper scan --store store.db --pods seed.json -A -o json` with the store reader's
#   debug log, which times each phase in-process: the quick_check, the whole open (header checks,
#   quick_check, column introspection) and the load (one pass over every row, records built for
#   the 100,000 candidate tags). "without" is open + load minus the quick_check. Then times, with
#   the sqlite3 shell, the whole-database `PRAGMA quick_check` against the table-limited
#   `PRAGMA quick_check(metadata)`.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
WORK=${2:-/tmp/reaper-bench}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p test-apiserver -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release
[ -f "$WORK/seed.json" ] || "$BIN/gen-seed-pods" --out "$WORK/seed.json"
[ -f "$WORK/store.db" ] || "$BIN/store-gen" "$WORK/seed.json" "$WORK/store.db" --rows 1000000

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "store: $(stat -c %s "$WORK/store.db") bytes"

OUT=$(mktemp)
for i in $(seq "$RUNS"); do
    RUST_LOG=kyuubi_reaper::state::store=debug /usr/bin/time -f "%e" -o "$WORK/check-time" \
        "$BIN/kyuubi-reaper" scan --store "$WORK/store.db" --pods "$WORK/seed.json" -A -o json \
        > /dev/null 2> "$WORK/check.err"
    check=$(grep -o 'quick_check ok in [0-9.]*' "$WORK/check.err" | awk '{print $4}')
    open=$(grep -o 'opened in [0-9.]*' "$WORK/check.err" | awk '{print $3}')
    load=$(grep -o 'k8s_engine_info rows in [0-9.]*' "$WORK/check.err" | awk '{print $4}')
    with=$(echo "$open + $load" | bc)
    without=$(echo "$open + $load - $check" | bc)
    echo "run $i: quick_check $check s, open $open s, load $load s; with $with s, without $without s, whole scan $(cat "$WORK/check-time") s" | tee -a "$OUT"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

med() { grep -o "$1 [0-9.]*" "$OUT" | awk '{print $NF}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
echo "| phase | median (s) |"
echo "|---|---|"
echo "| quick_check | $(med 'quick_check') |"
echo "| store open + load, with the check | $(med 'with') |"
echo "| store open + load, without the check | $(med 'without') |"
echo "| whole scan | $(med 'scan') |"
echo
echo "ratio with/without: $(echo "scale=2; $(med 'with') / $(med 'without')" | bc)"
rm -f "$OUT"

if command -v sqlite3 > /dev/null; then
    echo
    echo "sqlite3 $(sqlite3 --version | cut -d' ' -f1), the whole database against the metadata table only:"
    # One untimed pass first, so both read from the page cache.
    sqlite3 -readonly "$WORK/store.db" 'PRAGMA quick_check;' > /dev/null
    for pragma in 'quick_check' 'quick_check(metadata)'; do
        for _ in 1 2 3; do
            printf '.timer on\nPRAGMA %s;\n' "$pragma" \
                | sqlite3 -readonly "$WORK/store.db" | grep -o 'real [0-9.]*'
        done | awk '{print $2}' | sort -n | sed -n 2p | xargs printf "PRAGMA $pragma: median real %s s\n"
    done
fi
