#!/usr/bin/env bash
# Benchmark: `kyuubi-reaper scan --pods FILE` on a large saved pod list, JSON and YAML, against
# other readers of the same file (python3's json module, jq): wall time and peak memory, medians.
#
# Usage: tests/bench/podfile-memory.sh [runs=3] [workdir]
#   Data (generated once into workdir): a gen-seed-pods seed of 13,000 candidate Spark driver
#   pods plus 13,000 other pods (executors and unrelated pods) in 50 namespaces, served by
#   test-apiserver and saved as an operator would save it, ALL pods, candidates and others:
#   `kubectl.1.33 get pods -A -o json` to pods.json (about 220 MB at the default sizes: kubectl
#   writes about 8.4 KB of JSON per pod) and `kubectl.1.33 get pods -A -o yaml` to pods.yaml
#   (about 100 MB); a metadata store (store-gen, 100,000 rows: a batch row for every driver pod,
#   the rest finished batches of the past) so the scan has state. workdir/params records the
#   sizes: data of other (or unknown) sizes is regenerated, never silently reused.
# Environment: DRIVERS (13000), OTHERS (13000), NAMESPACES (50) are passed to gen-seed-pods,
#   STORE_ROWS (100000) to store-gen --rows. The default workdir is /tmp/reaper-podfile-bench
#   for the default sizes, else /tmp/reaper-podfile-bench-DRIVERS-OTHERS-NAMESPACES-STORE_ROWS.
# Each run executes, one after the other:
#   scan-json  kyuubi-reaper scan --pods pods.json --store store.db -o json
#   scan-yaml  kyuubi-reaper scan --pods pods.yaml --store store.db -o json
#   python     python3 -c 'json.load(...); print(len(d["items"]))' pods.json
#   jq         jq '.items|length' pods.json (when jq is installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
DRIVERS=${DRIVERS:-13000}
OTHERS=${OTHERS:-13000}
NAMESPACES=${NAMESPACES:-50}
STORE_ROWS=${STORE_ROWS:-100000}
if [ "$DRIVERS-$OTHERS-$NAMESPACES-$STORE_ROWS" = 13000-13000-50-100000 ]; then
    DEFAULT_WORK=/tmp/reaper-podfile-bench
else
    DEFAULT_WORK=/tmp/reaper-podfile-bench-$DRIVERS-$OTHERS-$NAMESPACES-$STORE_ROWS
fi
WORK=${2:-$DEFAULT_WORK}
mkdir -p "$WORK"
die() { echo "podfile-memory: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (it measures peak RSS): apt-get install -y time"
command -v python3 > /dev/null || die "python3 is needed (the reference reader)"
KUBECTL="$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.33"
[ -x "$KUBECTL" ] || die "$KUBECTL not found: install the google-cloud-cli kubectl package"
JQ=$(command -v jq || true)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p test-apiserver -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release

# The data, regenerated unless workdir/params says it has these sizes.
WANT_SEED="seed: gen-seed-pods --drivers $DRIVERS --others $OTHERS --namespaces $NAMESPACES"
WANT_STORE="store: store-gen --rows $STORE_ROWS"
HAVE_SEED=$(grep '^seed: ' "$WORK/params" 2> /dev/null || true)
HAVE_STORE=$(grep '^store: ' "$WORK/params" 2> /dev/null || true)
if [ "$HAVE_SEED" != "$WANT_SEED" ] || [ ! -f "$WORK/seed.json" ] || [ ! -f "$WORK/pods.json" ] \
    || [ ! -f "$WORK/pods.yaml" ]; then
    echo "generating $WORK/seed.json, pods.json, pods.yaml (${HAVE_SEED:-no params} -> $WANT_SEED)"
    rm -f "$WORK/params" "$WORK/seed.json" "$WORK/pods.json" "$WORK/pods.yaml" "$WORK/store.db"
    "$BIN/gen-seed-pods" --out "$WORK/seed.json.tmp" --drivers "$DRIVERS" --others "$OTHERS" \
        --namespaces "$NAMESPACES"
    mv "$WORK/seed.json.tmp" "$WORK/seed.json"
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
    for format in json yaml; do
        "$KUBECTL" --kubeconfig "$WORK/kubeconfig" --cache-dir "$WORK/kubectl-cache" \
            get pods -A -o "$format" > "$WORK/pods.$format.tmp"
        mv "$WORK/pods.$format.tmp" "$WORK/pods.$format"
    done
    kill "$SERVER"
    wait "$SERVER" 2> /dev/null || true
    trap - EXIT
    HAVE_STORE=
fi
if [ "$HAVE_STORE" != "$WANT_STORE" ] || [ ! -f "$WORK/store.db" ]; then
    echo "generating $WORK/store.db (${HAVE_STORE:-no params} -> $WANT_STORE)"
    rm -f "$WORK/params" "$WORK/store.db"
    "$BIN/store-gen" "$WORK/seed.json" "$WORK/store.db.tmp" --rows "$STORE_ROWS"
    mv "$WORK/store.db.tmp" "$WORK/store.db"
fi
printf '%s\n%s\n' "$WANT_SEED" "$WANT_STORE" > "$WORK/params"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
if [ -n "$JQ" ]; then JQ_VERSION=$("$JQ" --version 2>&1); else JQ_VERSION="not installed, skipped"; fi
echo "python: $(python3 --version 2>&1); jq: $JQ_VERSION"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $DRIVERS drivers + $OTHERS other pods in $NAMESPACES namespaces; store rows: $STORE_ROWS"
echo "files: pods.json $(stat -c %s "$WORK/pods.json") bytes, pods.yaml $(stat -c %s "$WORK/pods.yaml") bytes, store.db $(stat -c %s "$WORK/store.db") bytes"

# The binary and the files into the page cache, so that the first timed run does not pay for
# reading them from disk (warm runs, like the other benchmarks).
cat "$BIN/kyuubi-reaper" "$WORK/pods.json" "$WORK/pods.yaml" "$WORK/store.db" > /dev/null
OUT=$(mktemp)
run() {
    local label=$1; shift
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"; then
        die "$label failed: $(tail -20 "$WORK/$label.err")"
    fi
    read -r wall rss < "$WORK/time"
    echo "$label $wall $rss $(stat -c %s "$WORK/$label.out")" | tee -a "$OUT"
}
LABELS=(scan-json scan-yaml python)
[ -z "$JQ" ] || LABELS+=(jq)
for _ in $(seq "$RUNS"); do
    run scan-json "$BIN/kyuubi-reaper" scan --pods "$WORK/pods.json" --store "$WORK/store.db" -o json
    run scan-yaml "$BIN/kyuubi-reaper" scan --pods "$WORK/pods.yaml" --store "$WORK/store.db" -o json
    # shellcheck disable=SC2016 # a python program, not a shell expansion
    run python python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["items"]))' \
        "$WORK/pods.json"
    [ -z "$JQ" ] || run jq "$JQ" '.items|length' "$WORK/pods.json"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# What each reader found: the scan's candidate pods (its summary line on stderr, else the
# number of pods in its report), the item count the other readers print.
found() {
    case $1 in
        scan-*)
            local line
            line=$(grep -h 'candidate pods' "$WORK/$1.err" | tail -1 || true)
            if [ -n "$line" ]; then
                echo "$line"
            else
                python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=d.get("pods", d.get("items", [])); print(f"{len(p)} pods in the report")' "$WORK/$1.out" 2> /dev/null \
                    || echo "see $WORK/$1.err"
            fi
            ;;
        *) echo "$(head -c 100 "$WORK/$1.out") items" ;;
    esac
}
med() { grep "^$1 " "$OUT" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
input() { if [ "$1" = scan-yaml ]; then echo pods.yaml; else echo pods.json; fi; }
echo "| command | input | median wall (s) | median peak RSS (MB) | peak RSS / input size | stdout (bytes) | found |"
echo "|---|---|---|---|---|---|---|"
for label in "${LABELS[@]}"; do
    file=$(input "$label")
    size=$(stat -c %s "$WORK/$file")
    per=$(awk -v k="$(med "$label" 3)" -v s="$size" 'BEGIN{printf "%.2f", k * 1024 / s}')
    echo "| $label | $file ($(( size / 1000000 )) MB) | $(med "$label" 2) | $(( $(med "$label" 3) / 1024 )) | $per | $(med "$label" 4) | $(found "$label") |"
done
rm -f "$OUT"
