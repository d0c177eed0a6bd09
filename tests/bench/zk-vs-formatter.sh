#!/usr/bin/env bash
# Benchmark: loading a ZooKeeper snapshot with kyuubi-reaper against ZooKeeper's own
# `SnapshotFormatter -json` on the same file, in the same run (wall time, MB/s of the
# uncompressed stream, peak memory; medians).
#
# Usage: tests/bench/zk-vs-formatter.sh [runs=3] [workdir=/tmp/zk-bench]
#   Two generated Kyuubi-shaped ZooKeeper 3.8 snapshots (tests/bench/src/bin/zk-bench-gen.rs),
#   each also as .gz and .snappy:
#     heavy:  500,000 engine registrations + 480,000 unrelated nodes (1.08M nodes, 426 MB)
#     shared: 20,000 engine registrations + 2,000,000 unrelated nodes (a shared ensemble)
#   Measured:
#     scan    kyuubi-reaper scan --zk-snapshot FILE --pods PODS -o json: the whole pipeline
#             (read, verify every seal, extract registrations, judge 1,000 pods, report)
#     read    zk-bench --mode read: the snapshot reader alone with the engine-space filter
#     formatter  java ... SnapshotFormatter -json FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
WORK=${2:-/tmp/zk-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release
CP=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar
[ -f /usr/share/java/zookeeper.jar ] || { echo "needs Debian's zookeeper package" >&2; exit 1; }

gen() { # name registrations other
    if ! ls "$WORK/$1"/version-2/snapshot.*.snappy >/dev/null 2>&1; then
        rm -rf "${WORK:?}/$1"
        "$BIN/zk-bench-gen" "$WORK/$1" --registrations "$2" --other "$3" --gz --snappy \
            --pods-out "$WORK/$1/pods.json" --pods 1000
    fi
}
gen heavy 500000 480000
gen shared 20000 2000000

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
OUT=$(mktemp)
run() { # label bytes cmd...
    local label=$1 bytes=$2; shift 2
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/last.out" 2> "$WORK/last.err" \
        || { cat "$WORK/last.err" >&2; exit 1; }
    read -r wall rss < "$WORK/time"
    echo "$label $wall $rss $bytes" | tee -a "$OUT"
}
for data in heavy shared; do
    RAW=$(ls "$WORK/$data"/version-2/snapshot.* | grep -vE '\.(gz|snappy)$')
    BYTES=$(stat -c %s "$RAW")
    echo "$data: $RAW ($BYTES bytes raw; $(stat -c %s "$RAW.gz") gz; $(stat -c %s "$RAW.snappy") snappy)"
    for v in "" .snappy .gz; do
        for _ in $(seq "$RUNS"); do
            run "$data${v:-.raw}:scan" "$BYTES" "$BIN/kyuubi-reaper" scan --zk-snapshot "$RAW$v" \
                --pods "$WORK/$data/pods.json" --max-state-age 36500d -o json
            run "$data${v:-.raw}:read" "$BYTES" "$BIN/zk-bench" "$RAW$v" --mode read --no-digest
            run "$data${v:-.raw}:formatter" "$BYTES" java -cp "$CP" \
                org.apache.zookeeper.server.SnapshotFormatter -json "$RAW$v"
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

med() { grep "^$1 " "$OUT" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
echo "| snapshot | reader | median wall (s) | MB/s (uncompressed) | median peak RSS (MB) | formatter / this |"
echo "|---|---|---|---|---|---|"
for key in $(awk '{print $1}' "$OUT" | cut -d: -f1 | uniq); do
    f=$(med "$key:formatter" 2)
    for reader in scan read formatter; do
        w=$(med "$key:$reader" 2); r=$(med "$key:$reader" 3); b=$(med "$key:$reader" 4)
        echo "| $key | $reader | $w | $(echo "scale=0; $b / 1000000 / $w" | bc) | $(( r / 1024 )) | $(echo "scale=1; $f / $w" | bc) |"
    done
done
rm -f "$OUT"
