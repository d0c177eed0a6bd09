#!/usr/bin/env bash
# Benchmark: `kyuubi-reaper reap` against `kubectl delete pods -A -l kyuubi-unique-tag --wait=false`:
# deleting 10,000 orphaned Spark driver pods (wall time, peak memory, API requests, medians).
#
# Usage: tests/bench/reap-vs-kubectl.sh [runs=3] [workdir=/tmp/reaper-reap-bench]
#   Data (generated once into workdir): 10,000 Spark driver pods in 20 namespaces, all Succeeded,
#   finished before 2026-01-01 (gen-seed-pods --driver-phase Succeeded --others 0), so past any
#   retain period; a metadata store (store-gen) with one FINISHED batch row per pod, so every pod
#   is an orphan. Nothing else is on the servers: both commands delete the same 10,000 pods.
#   Each run starts two fresh, identically seeded test-apiservers with 20 ms latency on every
#   request and a request log, one for each command; the two commands alternate, and which of
#   them goes first alternates from run to run.
# Environment: PODS (10000), NAMESPACES (20), LATENCY_MS (20) change the data and the servers;
#   SKIP_REAP=1 runs only the kubectl half (the rest of the script works before `reap` exists);
#   REAPER=PATH benchmarks that kyuubi-reaper binary instead of this tree's release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
WORK=${2:-/tmp/reaper-reap-bench}
PODS=${PODS:-10000}
NAMESPACES=${NAMESPACES:-20}
LATENCY_MS=${LATENCY_MS:-20}
SKIP_REAP=${SKIP_REAP:-}
mkdir -p "$WORK"
die() { echo "reap-vs-kubectl: $*" >&2; exit 1; }
command -v jq > /dev/null || die "jq is needed to read the request logs: apt-get install -y jq"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed: apt-get install -y time"
KUBECTL="$(dirname "$(readlink -f "$(command -v kubectl)")")/kubectl.1.33"
[ -x "$KUBECTL" ] || die "$KUBECTL not found: install the google-cloud-cli kubectl package"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --locked --quiet -p kyuubi-reaper -p test-apiserver -p kyuubi-reaper-bench
BIN=$CARGO_TARGET_DIR/release
REAPER=${REAPER:-$BIN/kyuubi-reaper}

# `reap` with every flag the benchmark passes, or a clear stop before any work.
REAP_FLAGS=(--kubeconfig -A --store --yes --qps --burst --concurrency --max-deletions
    --max-orphan-ratio -o --audit-log)
if [ -z "$SKIP_REAP" ]; then
    if ! help=$("$REAPER" reap --help 2>&1); then
        die "$REAPER has no working 'reap' subcommand ('kyuubi-reaper reap --help' failed:
$(echo "$help" | head -5))
(run with SKIP_REAP=1 to benchmark the kubectl half alone)"
    fi
    for flag in "${REAP_FLAGS[@]}"; do
        grep -qE -- "(^|[ ,])$flag([ ,=<]|$)" <<< "$help" \
            || die "'$REAPER reap' has no $flag flag (see its 'reap --help')"
    done
fi

SEED=$WORK/seed-$PODS-$NAMESPACES.json
STORE=$WORK/store-$PODS-$NAMESPACES.db
if [ ! -f "$SEED" ]; then
    "$BIN/gen-seed-pods" --out "$SEED.tmp" --drivers "$PODS" --others 0 \
        --namespaces "$NAMESPACES" --driver-phase Succeeded
    mv "$SEED.tmp" "$SEED"
fi
if [ ! -f "$STORE" ]; then
    "$BIN/store-gen" "$SEED" "$STORE.tmp" --rows "$PODS"
    mv "$STORE.tmp" "$STORE"
fi
# The data is what the benchmark claims: PODS Succeeded candidate drivers, one FINISHED batch
# each.
jq -e --argjson n "$PODS" '[.items[] | select(.metadata.labels["kyuubi-unique-tag"] != null
    and .metadata.labels["spark-role"] == "driver" and .status.phase == "Succeeded")] | length == $n
    ' "$SEED" > /dev/null \
    || die "$SEED does not hold $PODS Succeeded driver pods"
rows=$(/usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
print(*c.execute("select count(*), sum(state = \"FINISHED\") from metadata").fetchone())' "$STORE")
[ "$rows" = "$PODS $PODS" ] || die "$STORE: expected $PODS rows, all FINISHED; got (rows, finished) = $rows"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "kubectl: $("$KUBECTL" version --client 2>/dev/null | head -1)"
echo "data: $PODS Succeeded driver pods in $NAMESPACES namespaces ($(stat -c %s "$SEED") bytes); store: $rows (rows, FINISHED), $(stat -c %s "$STORE") bytes"
echo "servers: test-apiserver --latency-ms $LATENCY_MS, restarted before every run"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
}
trap cleanup EXIT

# start_server NAME: a fresh server from the seed, its kubeconfig in $WORK/NAME.kubeconfig.
start_server() {
    local name=$1
    rm -f "$WORK/$name.requests.jsonl" "$WORK/$name.kubeconfig"
    "$BIN/test-apiserver" --listen 127.0.0.1:0 --seed "$SEED" --latency-ms "$LATENCY_MS" \
        --request-log "$WORK/$name.requests.jsonl" --kubeconfig-out "$WORK/$name.kubeconfig" \
        --context "bench-$name" > "$WORK/$name.server.out" 2> "$WORK/$name.server.err" &
    PIDS+=($!)
    local pid=$!
    for _ in $(seq 600); do
        grep -q '^listening on' "$WORK/$name.server.out" && return 0
        kill -0 "$pid" 2> /dev/null || die "test-apiserver ($name) exited: $(tail -5 "$WORK/$name.server.err")"
        sleep 0.2
    done
    die "test-apiserver ($name) did not start"
}

stop_servers() {
    cleanup
    PIDS=()
}

# requests NAME: "DELETEs, successful DELETEs, pod list GETs, all GETs, all requests" of its log.
requests() {
    jq -rs '[
        (map(select(.method == "DELETE")) | length),
        (map(select(.method == "DELETE" and (.status == 200 or .status == 202))) | length),
        (map(select(.method == "GET" and (.path | test("^/api/v1/(namespaces/[^/]+/)?pods$"))
            and ((.params | map(select(.[0] == "watch" and (.[1] | test("^(1|t|T|true|True|TRUE)$"))))
            | length) == 0))) | length),
        (map(select(.method == "GET")) | length),
        length
    ] | @tsv' "$WORK/$1.requests.jsonl"
}

OUT=$(mktemp)
# run LABEL NAME CMD...: time CMD against server NAME, then count its requests and what is left.
run() {
    local label=$1 name=$2; shift 2
    if ! /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > "$WORK/$label.out" 2> "$WORK/$label.err"; then
        die "$label failed: $(tail -20 "$WORK/$label.err")"
    fi
    read -r wall rss < "$WORK/time"
    # counted before the check below adds its own requests
    read -r deletes ok lists gets total <<< "$(requests "$name")"
    local left all
    left=$("$KUBECTL" --kubeconfig "$WORK/$name.kubeconfig" --cache-dir "$WORK/check-cache" \
        get pods -A -l kyuubi-unique-tag -o name | wc -l)
    all=$("$KUBECTL" --kubeconfig "$WORK/$name.kubeconfig" --cache-dir "$WORK/check-cache" \
        get pods -A -o name | wc -l)
    local rate
    rate=$(echo "scale=1; $ok / $wall" | bc)
    echo "$label $wall $rss $deletes $ok $lists $gets $total $left $all $rate" | tee -a "$OUT"
    [ "$left" -eq 0 ] || die "$label left $left candidate pods on its server (see $WORK/$label.err)"
}

run_reap() {
    rm -f "$WORK/audit-$1.jsonl"
    run reap reap "$REAPER" reap --kubeconfig "$WORK/reap.kubeconfig" -A \
        --store "$STORE" --yes --qps 500 --burst 500 --concurrency 32 --max-deletions 20000 \
        --max-orphan-ratio 1 -o json --audit-log "$WORK/audit-$1.jsonl"
}

run_kubectl() {
    rm -rf "$WORK/kubectl-cache-$1"
    run kubectl kubectl "$KUBECTL" --kubeconfig "$WORK/kubectl.kubeconfig" \
        --cache-dir "$WORK/kubectl-cache-$1" delete pods -A -l kyuubi-unique-tag --wait=false
}

echo
echo "label wall_s peak_rss_kb deletes deletes_ok pod_lists gets requests candidates_left pods_left deletions_per_s"
for i in $(seq "$RUNS"); do
    start_server reap
    start_server kubectl
    if [ -n "$SKIP_REAP" ]; then
        run_kubectl "$i"
    elif [ $((i % 2)) -eq 1 ]; then
        run_reap "$i"
        run_kubectl "$i"
    else
        run_kubectl "$i"
        run_reap "$i"
    fi
    stop_servers
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kubectl printed $(grep -c ' deleted$' "$WORK/kubectl.out") 'deleted' lines in its last run"
if [ -z "$SKIP_REAP" ]; then
    echo "reap's summary in its last run: $(grep -h '^reap:' "$WORK/reap.err" | tail -1)"
    echo "reap: report $WORK/reap.out, audit log $WORK/audit-$RUNS.jsonl ($(wc -l < "$WORK/audit-$RUNS.jsonl") lines)"
fi

med() { grep "^$1 " "$OUT" | awk -v c="$2" '{print $c}' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
echo
echo "| command | median wall (s) | median peak RSS (MB) | DELETE requests | pod list requests | candidate pods left | deletions/s |"
echo "|---|---|---|---|---|---|---|"
labels=(kubectl)
[ -n "$SKIP_REAP" ] || labels=(reap kubectl)
for label in "${labels[@]}"; do
    echo "| $label | $(med "$label" 2) | $(( $(med "$label" 3) / 1024 )) | $(med "$label" 4) | $(med "$label" 6) | $(med "$label" 9) | $(med "$label" 11) |"
done
if [ -z "$SKIP_REAP" ]; then
    echo
    echo "wall ratio kubectl/reap: $(echo "scale=1; $(med kubectl 2) / $(med reap 2)" | bc)"
    echo "memory ratio reap/kubectl: $(echo "scale=3; $(med reap 3) / $(med kubectl 3)" | bc)"
fi
rm -f "$OUT"
