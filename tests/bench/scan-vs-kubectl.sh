#!/usr/bin/env bash
# Benchmark: `kyuubi-reaper scan -A -o json` against `kubectl get pods -A -l kyuubi-unique-tag -o json`
# on the same test-apiserver in the same run (wall time and peak memory, medians).
#
# Usage: tests/bench/scan-vs-kubectl.sh [runs=3] [workdir=/tmp/reaper-bench]
#   Data: 100,000 candidate driver pods in 50 namespaces plus 100,000 other pods (executors and
#   unrelated pods), served by test-apiserver; a metadata store with 1,000,000 rows (a batch row
#   for every driver pod, the rest finished batches of the past). Generated once into workdir.
#   Runs alternate between the two commands, so machine noise hits both alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
WORK=${2:-/tmp/reaper-bench}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p test-apiserver -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release
KUBECTL="$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.33"

[ -f "$WORK/seed.json" ] || "$BIN/gen-seed-pods" --out "$WORK/seed.json"
[ -f "$WORK/store.db" ] || "$BIN/store-gen" "$WORK/seed.json" "$WORK/store.db" --rows 1000000

"$BIN/test-apiserver" --listen 127.0.0.1:0 --seed "$WORK/seed.json" \
    --kubeconfig-out "$WORK/kubeconfig" --context bench > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q '^listening on' "$WORK/server.out" && break; sleep 0.5; done
grep '^listening on' "$WORK/server.out"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "store: $(stat -c %s "$WORK/store.db") bytes; seed: $(stat -c %s "$WORK/seed.json") bytes"

OUT=$(mktemp)
run() {
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"
    read -r wall rss < "$WORK/time"
    echo "$label $wall $rss $(stat -c %s "$WORK/$label.out")" | tee -a "$OUT"
}
for i in $(seq "$RUNS"); do
    run kubectl "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --cache-dir "$WORK/kubectl-cache-$i" \
        get pods -A -l kyuubi-unique-tag -o json
    run kyuubi-reaper "$BIN/kyuubi-reaper" scan --kubeconfig "$WORK/kubeconfig" -A \
        --store "$WORK/store.db" -o json
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h 'candidate pods' "$WORK/kyuubi-reaper.err" | tail -1
echo "kubectl items: $(grep -c '"kind": "Pod"' "$WORK/kubectl.out")"

med() { grep "^$1 " "$OUT" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
echo "| command | median wall (s) | median peak RSS (MB) | stdout (MB) |"
echo "|---|---|---|---|"
for label in kubectl kyuubi-reaper; do
    echo "| $label | $(med $label 2) | $(( $(med $label 3) / 1024 )) | $(( $(med $label 4) / 1000000 )) |"
done
echo
echo "wall ratio kubectl/kyuubi-reaper: $(echo "scale=1; $(med kubectl 2) / $(med kyuubi-reaper 2)" | bc)"
echo "memory ratio kyuubi-reaper/kubectl: $(echo "scale=3; $(med kyuubi-reaper 3) / $(med kubectl 3)" | bc)"
rm -f "$OUT"
