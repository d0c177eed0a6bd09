#!/usr/bin/env bash
# Benchmark: `kyuubi-reaper scan -A -o json` against `kubectl get pods -A -l kyuubi-unique-tag -o json`
# and against `fetch-pages`, a plain fetch loop over the same pages (the physical limit), on the
# same test-apiserver in the same run (wall time and peak memory, medians).
#
# Usage: tests/bench/scan-vs-kubectl.sh [runs=3] [workdir]
#   Data (defaults): 100,000 candidate driver pods in 50 namespaces plus 100,000 other pods
#   (executors and unrelated pods), served by test-apiserver; a metadata store with 1,000,000
#   rows (a batch row for every driver pod, the rest finished batches of the past). Generated
#   once into workdir, which records the sizes in workdir/params: a workdir holding data of
#   other sizes (or of unknown sizes: no params file) is regenerated, never silently reused.
# Environment: DRIVERS (100000), OTHERS (100000), NAMESPACES (50) are passed to gen-seed-pods,
#   STORE_ROWS (1000000) to store-gen --rows. The default workdir is /tmp/reaper-bench for the
#   default sizes, else /tmp/reaper-bench-DRIVERS-OTHERS-NAMESPACES-STORE_ROWS.
# Each run executes, one after the other on the same server:
#   kubectl             kubectl.1.33 get pods -A -l kyuubi-unique-tag -o json
#   fetch               fetch-pages -A -l kyuubi-unique-tag (GET every page of 500, nothing else)
#   kyuubi-reaper       kyuubi-reaper scan -A --store store.db -o json
#   kyuubi-reaper-name  kyuubi-reaper scan -A --store store.db -o name (with RUST_LOG=kyuubi_reaper=debug:
#                       its phase timings give the listing alone, compared with fetch)
#   so machine noise hits all of them alike. Target: scan -o json takes at most 3x fetch's wall.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
DRIVERS=${DRIVERS:-100000}
OTHERS=${OTHERS:-100000}
NAMESPACES=${NAMESPACES:-50}
STORE_ROWS=${STORE_ROWS:-1000000}
if [ "$DRIVERS-$OTHERS-$NAMESPACES-$STORE_ROWS" = 100000-100000-50-1000000 ]; then
    DEFAULT_WORK=/tmp/reaper-bench
else
    DEFAULT_WORK=/tmp/reaper-bench-$DRIVERS-$OTHERS-$NAMESPACES-$STORE_ROWS
fi
WORK=${2:-$DEFAULT_WORK}
mkdir -p "$WORK"
die() { echo "scan-vs-kubectl: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time is needed: apt-get install -y time"
KUBECTL="$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.33"
[ -x "$KUBECTL" ] || die "$KUBECTL not found: install the google-cloud-cli kubectl package"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p test-apiserver -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release

# The data, regenerated unless workdir/params says it has these sizes.
WANT_SEED="seed: gen-seed-pods --drivers $DRIVERS --others $OTHERS --namespaces $NAMESPACES"
WANT_STORE="store: store-gen --rows $STORE_ROWS"
HAVE_SEED=$(grep '^seed: ' "$WORK/params" 2> /dev/null || true)
HAVE_STORE=$(grep '^store: ' "$WORK/params" 2> /dev/null || true)
if [ "$HAVE_SEED" != "$WANT_SEED" ] || [ ! -f "$WORK/seed.json" ]; then
    echo "generating $WORK/seed.json (${HAVE_SEED:-no params} -> $WANT_SEED)"
    rm -f "$WORK/params" "$WORK/seed.json" "$WORK/store.db"
    "$BIN/gen-seed-pods" --out "$WORK/seed.json.tmp" --drivers "$DRIVERS" --others "$OTHERS" \
        --namespaces "$NAMESPACES"
    mv "$WORK/seed.json.tmp" "$WORK/seed.json"
    HAVE_STORE=
fi
if [ "$HAVE_STORE" != "$WANT_STORE" ] || [ ! -f "$WORK/store.db" ]; then
    echo "generating $WORK/store.db (${HAVE_STORE:-no params} -> $WANT_STORE)"
    rm -f "$WORK/params" "$WORK/store.db"
    "$BIN/store-gen" "$WORK/seed.json" "$WORK/store.db.tmp" --rows "$STORE_ROWS"
    mv "$WORK/store.db.tmp" "$WORK/store.db"
fi
printf '%s\n%s\n' "$WANT_SEED" "$WANT_STORE" > "$WORK/params"

rm -f "$WORK/server.out"
"$BIN/test-apiserver" --listen 127.0.0.1:0 --seed "$WORK/seed.json" \
    --kubeconfig-out "$WORK/kubeconfig" --context bench > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do
    grep -q '^listening on' "$WORK/server.out" && break
    kill -0 "$SERVER" 2> /dev/null || die "test-apiserver exited: $(tail -5 "$WORK/server.err")"
    sleep 0.5
done
grep '^listening on' "$WORK/server.out" || die "test-apiserver did not start"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $DRIVERS drivers + $OTHERS other pods in $NAMESPACES namespaces; store rows: $STORE_ROWS"
echo "store: $(stat -c %s "$WORK/store.db") bytes; seed: $(stat -c %s "$WORK/seed.json") bytes"

# The binaries and the store into the page cache, so that the first timed run does not pay for
# reading them from disk (warm runs).
cat "$BIN/kyuubi-reaper" "$BIN/fetch-pages" "$WORK/store.db" > /dev/null
OUT=$(mktemp)
run() {
    local label=$1; shift
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"; then
        die "$label failed: $(tail -20 "$WORK/$label.err")"
    fi
    read -r wall rss < "$WORK/time"
    echo "$label $wall $rss $(stat -c %s "$WORK/$label.out")" | tee -a "$OUT"
}
for i in $(seq "$RUNS"); do
    run kubectl "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --cache-dir "$WORK/kubectl-cache-$i" \
        get pods -A -l kyuubi-unique-tag -o json
    # kubectl's peak of several GB evicts the store from the page cache; read it back in (not
    # timed), so that the scans measure the tool, not the disk (cold reads: BENCHMARKS.md).
    # Its exit also leaves the kernel reclaiming GBs for a moment: let that settle too.
    cat "$WORK/store.db" > /dev/null
    sleep 2
    run fetch "$BIN/fetch-pages" --kubeconfig "$WORK/kubeconfig" -A -l kyuubi-unique-tag
    run kyuubi-reaper "$BIN/kyuubi-reaper" scan --kubeconfig "$WORK/kubeconfig" -A \
        --store "$WORK/store.db" -o json
    # With its own phase timings (a few debug lines on stderr): the listing alone, against fetch.
    run kyuubi-reaper-name env RUST_LOG=kyuubi_reaper=debug "$BIN/kyuubi-reaper" scan \
        --kubeconfig "$WORK/kubeconfig" -A --store "$WORK/store.db" -o name
    awk '/opening the state sources done at/ {o = $(NF-1)} /listing the pods done at/ {print "listing", $(NF-1) - o}' \
        "$WORK/kyuubi-reaper-name.err" | tee -a "$OUT"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h 'candidate pods' "$WORK/kyuubi-reaper.err" | tail -1 || true
echo "kubectl items: $(grep -c '"kind": "Pod"' "$WORK/kubectl.out")"
echo "fetch: $(tail -1 "$WORK/fetch.err")"
echo "kyuubi-reaper -o name lines: $(wc -l < "$WORK/kyuubi-reaper-name.out")"

med() { grep "^$1 " "$OUT" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# ratio A B SCALE: A / B, or n/a when B is 0 (a command faster than /usr/bin/time's 10 ms).
ratio() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN{if (b == 0) print "n/a"; else printf "%." d "f\n", a / b}'; }
echo
echo "| command | median wall (s) | median peak RSS (MB) | stdout (MB) |"
echo "|---|---|---|---|"
row() {
    echo "| $2 | $(med "$1" 2) | $(( $(med "$1" 3) / 1024 )) | $(awk -v b="$(med "$1" 4)" 'BEGIN{printf "%.1f", b / 1e6}') |"
}
row kubectl "kubectl get pods -A -l kyuubi-unique-tag -o json"
row fetch "fetch-pages -A -l kyuubi-unique-tag (fetch only)"
row kyuubi-reaper "kyuubi-reaper scan -A --store ($STORE_ROWS rows) -o json"
row kyuubi-reaper-name "kyuubi-reaper scan -A --store ($STORE_ROWS rows) -o name"
echo
echo "wall ratio scan -o json / fetch: $(ratio "$(med kyuubi-reaper 2)" "$(med fetch 2)" 2) (target: at most 3)"
echo "wall ratio scan -o name / fetch: $(ratio "$(med kyuubi-reaper-name 2)" "$(med fetch 2)" 2)"
echo "listing phase of scan -o name (median, s): $(med listing 2); listing / fetch: $(ratio "$(med listing 2)" "$(med fetch 2)" 2)"
echo "wall ratio kubectl / scan -o json: $(ratio "$(med kubectl 2)" "$(med kyuubi-reaper 2)" 1)"
echo "memory ratio scan -o json / kubectl: $(ratio "$(med kyuubi-reaper 3)" "$(med kubectl 3)" 3)"
rm -f "$OUT"
