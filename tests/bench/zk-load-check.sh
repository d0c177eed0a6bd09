#!/usr/bin/env bash
# Checks that a real ZooKeeper 3.8 server loads a generated snapshot.
# Usage: tests/bench/zk-load-check.sh <snapshot file> [port]
# Starts ZooKeeperServerMain on a temp data dir holding only that snapshot, waits for
# `srvr` to say "Mode: standalone", prints the node count and the digest-related log lines,
# reads a few znodes with kazoo, and stops the server (SIGTERM to the pid it started).
set -euo pipefail
SNAP=$1
PORT=${2:-21899}
ZK=$(mktemp -d)
mkdir -p "$ZK/data/version-2"
cp "$SNAP" "$ZK/data/version-2/"
cat > "$ZK/zoo.cfg" <<CFG
tickTime=2000
dataDir=$ZK/data
clientPort=$PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
snapCount=100000
preAllocSize=1024
admin.enableServer=false
4lw.commands.whitelist=srvr
CFG
java -Xmx4g -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
  org.apache.zookeeper.server.ZooKeeperServerMain "$ZK/zoo.cfg" >"$ZK/zk.log" 2>&1 </dev/null &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$ZK"' EXIT
START=$(date +%s.%N)
for _ in $(seq 600); do
  if OUT=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; printf srvr >&3; cat <&3" 2>/dev/null) \
     && grep -q '^Mode: standalone' <<<"$OUT"; then break; fi
  kill -0 $PID 2>/dev/null || { tail -30 "$ZK/zk.log"; exit 1; }
  sleep 0.2
done
echo "server ready after $(echo "$(date +%s.%N) - $START" | bc) s"
grep -E '^(Zxid|Node count|Mode)' <<<"$OUT"
grep -iE 'digest|Reading snapshot|Snapshot loaded|invalid|mismatch|problem' "$ZK/zk.log" | head -20 || true
/usr/bin/python3 - "$PORT" <<'PY'
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1]); zk.start(timeout=60)
users = zk.get_children("/kyuubi_1.10.3_USER_SPARK_SQL")
leaf = "/kyuubi_1.10.3_USER_SPARK_SQL/%s/pool-0" % sorted(users)[0]
for c in sorted(zk.get_children(leaf))[:2]:
    data, st = zk.get(leaf + "/" + c)
    print("kazoo:", (leaf + "/" + c)[:110], "...", data, "owner=%#x" % st.ephemeralOwner)
print("kazoo: /hbase/region-000 has", len(zk.get_children("/hbase/region-000")), "children")
print("kazoo: /kyuubi children:", zk.get_children("/kyuubi"))
zk.stop(); zk.close()
PY
