#!/usr/bin/env python3
"""Writes the bundled sample data: a Kyuubi metadata store and the pod list of its cluster.

    python3 tests/data/sample/generate.py

Outputs, next to this script:
  pods.json               what `kubectl get pods -A -o json` printed on 2026-11-27 08:00 UTC
  store.sql               the store's content as SQL (reviewable text)
  kyuubi_state_store.db   store.sql loaded into SQLite (what the README's scan command reads)

The story: one Kyuubi deployment, first installed at 1.8.1, upgraded to 1.10.3 and then to
1.11.1 in place (so the `metadata` table keeps its 1.8 layout and 1.11 added `k8s_engine_info`).
Batches and interactive engines ran in three namespaces. Rows written by each version carry what
that version records: 1.8 puts the K8s context/namespace into request_conf, 1.10 adds the driver
pod name, 1.11 records terminated engine pods in k8s_engine_info. Cleanup was never enabled
(cleanupTerminatedDriverPod.kind=NONE), so finished driver pods pile up.

The test `sample_data_verdicts` pins the verdict of every pod; change both together.
"""

import json
import os
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "schema")
NOW = datetime(2026, 11, 27, 8, 0, 0, tzinfo=timezone.utc)
K8S_MASTER = "k8s://https://kubernetes.default.svc:443"
KYUUBI_REST = "kyuubi-0.kyuubi-headless.kyuubi.svc:10099"


def tag(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "kyuubi-reaper-sample/" + name))


def app_id(name):
    return "spark-" + uuid.uuid5(uuid.NAMESPACE_DNS, name).hex


def ts(delta):
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms(delta):
    return int((NOW - delta).timestamp() * 1000)


H = lambda n: timedelta(hours=n)  # noqa: E731
M = lambda n: timedelta(minutes=n)  # noqa: E731
D = lambda n: timedelta(days=n)  # noqa: E731

# ---- the engines -------------------------------------------------------------------------
# name: (namespace, kind, kyuubi version, app name, user)
ENGINES = {
    "daily-revenue": ("spark-etl", "batch", "1.10.3", "daily-revenue", "etl"),
    "hourly-clicks": ("spark-etl", "batch", "1.10.3", "hourly-clicks", "etl"),
    "backfill-2026q3": ("spark-etl", "batch", "1.11.1", "backfill-2026q3", "etl"),
    "ingest-orders": ("spark-etl", "batch", "1.11.1", "ingest-orders", "etl"),
    "recompute-kpis": ("spark-etl", "batch", "1.11.1", "recompute-kpis", "etl"),
    "legacy-export": ("analytics", "batch", "1.8.1", "legacy-export", "bi"),
    "legacy-report": ("analytics", "batch", "1.8.1", "legacy-report", "bi"),
    "cancelled-model": ("analytics", "batch", "1.11.1", "train-model", "ds"),
    "peer-closed": ("analytics", "batch", "1.10.3", "quarterly-close", "finance"),
    "late-pending": ("analytics", "batch", "1.11.1", "late-pending", "ds"),
    "alice-connection": ("spark-adhoc", "interactive", "1.11.1", None, "alice"),
    "bob-user": ("spark-adhoc", "interactive", "1.11.1", None, "bob"),
    "carol-old": ("spark-adhoc", "interactive", "1.9.2", None, "carol"),
    "dave-stuck": ("spark-adhoc", "interactive", "1.10.3", None, "dave"),
    "erin-deleting": ("spark-adhoc", "interactive", "1.11.1", None, "erin"),
    "fresh-done": ("spark-etl", "batch", "1.11.1", "fresh-done", "etl"),
}


def driver_name(name):
    ns, kind, version, app, user = ENGINES[name]
    t = tag(name)
    if kind == "batch":
        return f"kyuubi-{app}-{t}-driver"
    level = "connection" if "connection" in name else "user"
    return f"kyuubi-{level}-spark-sql-{user}-default-{t}-driver"


# ---- pods ----------------------------------------------------------------------------------
# name: (phase, created ago, finished ago or None, extras)
PODS = {
    "daily-revenue": ("Succeeded", D(3), D(3) - H(1), {}),
    "hourly-clicks": ("Failed", D(1) + H(2), D(1) + H(1), {"exit": 1}),
    "backfill-2026q3": ("Running", H(6), None, {}),
    "ingest-orders": ("Pending", M(20), None, {}),
    "recompute-kpis": ("Succeeded", H(3), H(2), {}),
    "legacy-export": ("Succeeded", D(20), D(20) - H(2), {}),
    "legacy-report": ("Failed", D(19), D(19) - M(40), {"exit": 137, "reason": "OOMKilled"}),
    "cancelled-model": ("Running", H(8), None, {}),
    "peer-closed": ("Running", D(2), None, {}),
    "late-pending": ("Pending", D(1), None, {"mount": True}),
    "alice-connection": ("Succeeded", D(2), D(2) - H(3), {}),
    "bob-user": ("Running", H(5), None, {}),
    "carol-old": ("Failed", D(6), D(6) - H(4), {"exit": 143, "reason": "Error"}),
    "dave-stuck": ("Pending", H(3), None, {"mount": True}),
    "erin-deleting": ("Succeeded", D(1), D(1) - H(1), {"deleting": M(2)}),
    "fresh-done": ("Succeeded", M(50), M(4), {}),
}

# ---- metadata rows (batches) ----------------------------------------------------------------
# name: (state, engine_state, created ago, ended ago or None, peer_instance_closed)
BATCHES = {
    "daily-revenue": ("FINISHED", "FINISHED", D(3) + M(1), D(3) - H(1) - M(1), False),
    "hourly-clicks": ("ERROR", "FAILED", D(1) + H(2) + M(1), D(1) + H(1) - M(1), False),
    "backfill-2026q3": ("RUNNING", "RUNNING", H(6) + M(1), None, False),
    "ingest-orders": ("PENDING", None, M(21), None, False),
    # Kyuubi recovered this batch after a restart and has not polled the app since: the pod
    # finished but the row still says RUNNING, so the pod must stay.
    "recompute-kpis": ("RUNNING", "RUNNING", H(3) + M(1), None, False),
    "legacy-export": ("FINISHED", "FINISHED", D(20) + M(1), D(20) - H(2) - M(1), False),
    "legacy-report": ("ERROR", "FAILED", D(19) + M(1), D(19) - M(41), False),
    "cancelled-model": ("CANCELED", "KILLED", H(8) + M(1), H(5), False),
    "peer-closed": ("RUNNING", "RUNNING", D(2) + M(1), None, True),
    "late-pending": ("FINISHED", "FINISHED", D(1) + M(1), H(20), False),
    "fresh-done": ("FINISHED", "FINISHED", M(51), M(4), False),
}

# ---- k8s_engine_info rows (1.11: every terminated engine pod Kyuubi saw) ---------------------
ENGINE_INFOS = {
    "alice-connection": ("Succeeded", "FINISHED", D(2) - H(3) + M(1)),
    "fresh-done": ("Succeeded", "FINISHED", M(3)),
}


def labels(name, role):
    ns, kind, version, app, user = ENGINES[name]
    app_name = app or f"kyuubi-{user}-spark-sql"
    out = {
        "spark-app-name": app_name,
        "spark-app-selector": app_id(name),
        "spark-role": role,
        "spark-version": "3.5.3",
    }
    if role == "driver":
        out["kyuubi-unique-tag"] = tag(name)
    else:
        out["spark-exec-id"] = "1"
        out["spark-exec-resourceprofile-id"] = "0"
    return out


def container_status(phase, created, finished, extras, name="spark-kubernetes-driver"):
    started = created - M(1)
    if phase in ("Succeeded", "Failed"):
        exit_code = extras.get("exit", 0)
        state = {"terminated": {
            "containerID": "containerd://" + uuid.uuid5(uuid.NAMESPACE_OID, name + ts(created)).hex,
            "exitCode": exit_code,
            "finishedAt": ts(finished),
            "reason": extras.get("reason", "Completed" if exit_code == 0 else "Error"),
            "startedAt": ts(started),
        }}
        ready = False
    elif phase == "Running":
        state = {"running": {"startedAt": ts(started)}}
        ready = True
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
        ready = False
    return {
        "containerID": state.get("terminated", {}).get("containerID"),
        "image": "apache/spark:3.5.3",
        "imageID": "docker.io/apache/spark@sha256:" + "ab" * 32,
        "lastState": {},
        "name": name,
        "ready": ready,
        "restartCount": 0,
        "started": phase == "Running",
        "state": state,
    }


def conditions(phase, created, finished):
    first = ts(created - timedelta(seconds=2))
    if phase == "Pending":
        return [
            {"lastProbeTime": None, "lastTransitionTime": first, "status": "True", "type": "PodScheduled"},
            {"lastProbeTime": None, "lastTransitionTime": first, "status": "False", "type": "Ready",
             "reason": "ContainersNotReady", "message": "containers with unready status: [spark-kubernetes-driver]"},
        ]
    ready_at = ts(finished) if finished else ts(created - M(1))
    ready = "True" if phase == "Running" else "False"
    out = [
        {"lastProbeTime": None, "lastTransitionTime": ready_at, "status": ready, "type": "PodReadyToStartContainers"},
        {"lastProbeTime": None, "lastTransitionTime": first, "status": "True", "type": "Initialized"},
        {"lastProbeTime": None, "lastTransitionTime": ready_at, "status": ready, "type": "Ready"},
        {"lastProbeTime": None, "lastTransitionTime": ready_at, "status": ready, "type": "ContainersReady"},
        {"lastProbeTime": None, "lastTransitionTime": first, "status": "True", "type": "PodScheduled"},
    ]
    if phase != "Running":
        for c in out[2:4]:
            c["reason"] = "PodCompleted"
    return out


def driver_pod(name, rv):
    ns, kind, version, app, user = ENGINES[name]
    phase, created_ago, finished_ago, extras = PODS[name]
    pod_name = driver_name(name)
    t = tag(name)
    conf_map = "spark-drv-" + uuid.uuid5(uuid.NAMESPACE_X500, name).hex[:16] + "-conf-map"
    meta = {
        "creationTimestamp": ts(created_ago),
        "labels": labels(name, "driver"),
        "name": pod_name,
        "namespace": ns,
        "resourceVersion": str(rv),
        "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, "pod/" + name)),
    }
    if "deleting" in extras:
        meta["deletionTimestamp"] = ts(extras["deleting"] - timedelta(seconds=30))
        meta["deletionGracePeriodSeconds"] = 30
    spec = {
        "containers": [{
            "args": ["driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class",
                     "org.apache.kyuubi.engine.spark.SparkSQLEngine" if kind == "interactive"
                     else "com.example.jobs.Main", "spark-internal"],
            "env": [
                {"name": "SPARK_USER", "value": user},
                {"name": "SPARK_APPLICATION_ID", "value": app_id(name)},
                {"name": "SPARK_DRIVER_BIND_ADDRESS", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                {"name": "SPARK_LOCAL_DIRS", "value": "/var/data/spark-" + t},
                {"name": "SPARK_CONF_DIR", "value": "/opt/spark/conf"},
            ],
            "image": "apache/spark:3.5.3",
            "imagePullPolicy": "IfNotPresent",
            "name": "spark-kubernetes-driver",
            "ports": [
                {"containerPort": 7078, "name": "driver-rpc-port", "protocol": "TCP"},
                {"containerPort": 7079, "name": "blockmanager", "protocol": "TCP"},
                {"containerPort": 4040, "name": "spark-ui", "protocol": "TCP"},
            ],
            "resources": {"limits": {"memory": "2432Mi"}, "requests": {"cpu": "1", "memory": "2432Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "volumeMounts": [
                {"mountPath": "/var/data/spark-" + t, "name": "spark-local-dir-1"},
                {"mountPath": "/opt/spark/conf", "name": "spark-conf-volume-driver"},
            ],
        }],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "nodeName": "worker-" + str(rv % 3 + 1),
        "restartPolicy": "Never",
        "schedulerName": "default-scheduler",
        "serviceAccount": "spark",
        "serviceAccountName": "spark",
        "terminationGracePeriodSeconds": 30,
        "volumes": [
            {"emptyDir": {}, "name": "spark-local-dir-1"},
            {"configMap": {"defaultMode": 420, "items": [{"key": "spark.properties", "mode": 420, "path": "spark.properties"}],
                           "name": conf_map}, "name": "spark-conf-volume-driver"},
        ],
    }
    status = {
        "conditions": conditions(phase, created_ago, finished_ago),
        "containerStatuses": [container_status(phase, created_ago, finished_ago, extras)],
        "hostIP": "10.0.1." + str(10 + rv % 3),
        "phase": phase,
        "qosClass": "Burstable",
        "startTime": ts(created_ago - timedelta(seconds=2)),
    }
    if phase != "Pending":
        status["podIP"] = "10.244." + str(rv % 3 + 1) + "." + str(rv % 200 + 10)
    if extras.get("mount"):
        status["containerStatuses"][0]["state"] = {"waiting": {"reason": "ContainerCreating"}}
        status["message"] = None
    if status.get("message") is None:
        status.pop("message", None)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def executor_pod(name, driver, rv):
    ns = driver["metadata"]["namespace"]
    phase, created_ago, finished_ago, extras = PODS[name]
    exec_name = driver["metadata"]["name"].replace("-driver", "-exec-1")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "creationTimestamp": ts(created_ago - M(1)),
            "labels": labels(name, "executor"),
            "name": exec_name,
            "namespace": ns,
            "ownerReferences": [{"apiVersion": "v1", "controller": True, "kind": "Pod",
                                 "name": driver["metadata"]["name"], "uid": driver["metadata"]["uid"]}],
            "resourceVersion": str(rv),
            "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, "exec/" + name)),
        },
        "spec": {"containers": [{"args": ["executor"], "image": "apache/spark:3.5.3", "name": "spark-kubernetes-executor"}],
                 "nodeName": "worker-2", "restartPolicy": "Never"},
        "status": {"phase": "Running",
                   "containerStatuses": [container_status("Running", created_ago - M(1), None, {}, "spark-kubernetes-executor")]},
    }


def other_pods(rv):
    kyuubi = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"creationTimestamp": ts(D(9)), "labels": {"app": "kyuubi", "app.kubernetes.io/name": "kyuubi"},
                     "name": "kyuubi-0", "namespace": "kyuubi", "resourceVersion": str(rv),
                     "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, "kyuubi-0"))},
        "spec": {"containers": [{"image": "apache/kyuubi:1.11.1", "name": "kyuubi-server"}], "nodeName": "worker-1"},
        "status": {"phase": "Running"},
    }
    # A pod someone labelled by hand without a Spark app id: not a candidate.
    stray = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"creationTimestamp": ts(D(4)), "labels": {"kyuubi-unique-tag": tag("stray")},
                     "name": "debug-shell", "namespace": "spark-adhoc", "resourceVersion": str(rv + 1),
                     "uid": str(uuid.uuid5(uuid.NAMESPACE_OID, "stray"))},
        "spec": {"containers": [{"image": "busybox", "name": "sh"}], "nodeName": "worker-3"},
        "status": {"phase": "Succeeded"},
    }
    return [kyuubi, stray]


def request_conf(name):
    ns, kind, version, app, user = ENGINES[name]
    conf = {
        "spark.master": K8S_MASTER,
        "spark.submit.deployMode": "cluster",
        "spark.kubernetes.container.image": "apache/spark:3.5.3",
        "spark.kubernetes.authenticate.driver.serviceAccountName": "spark",
        "spark.executor.instances": "2",
        "spark.kubernetes.namespace": ns,
        "kyuubi.batch.id": tag(name),
        "kyuubi.client.ipAddress": "10.0.7.21",
        "kyuubi.server.ipAddress": "10.244.1.5",
        "kyuubi.session.real.user": user,
        "kyuubi.kubernetes.namespace": ns,
    }
    if tuple(int(x) for x in version.split(".")) >= (1, 10):
        conf["spark.kubernetes.driver.pod.name"] = driver_name(name)
        conf["spark.kubernetes.executor.podNamePrefix"] = driver_name(name)[: -len("-driver")]
    if name.startswith("legacy"):
        # 1.8.1 rows written before the namespace was set explicitly: only Spark's key.
        del conf["kyuubi.kubernetes.namespace"]
    return json.dumps(conf, separators=(",", ":"))


def store_sql():
    lines = ["-- Generated by generate.py; the sample Kyuubi metadata store (1.8 layout upgraded to 1.11).", ""]
    with open(os.path.join(SCHEMA, "kyuubi-1.8.sql")) as f:
        lines.append(f.read())
    with open(os.path.join(SCHEMA, "upgrade-1.8-to-1.11.sql")) as f:
        lines.append(f.read())
    q = lambda v: "NULL" if v is None else (str(int(v)) if isinstance(v, (bool, int)) else "'" + str(v).replace("'", "''") + "'")  # noqa: E731
    for name, (state, engine_state, created, ended, peer) in BATCHES.items():
        ns, kind, version, app, user = ENGINES[name]
        row = [tag(name), "BATCH", user, user, "10.0.7.21", KYUUBI_REST, state,
               "s3a://jobs/" + app + ".jar", "com.example.jobs.Main", app, request_conf(name), "[]",
               ms(created), "SPARK", K8S_MASTER, None if state == "PENDING" else ms(created - M(1)),
               None if state == "PENDING" else app_id(name), app, None, engine_state, None,
               ms(ended) if ended else 0, 10, peer]
        lines.append(
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, ip_address, kyuubi_instance, state, "
            "resource, class_name, request_name, request_conf, request_args, create_time, engine_type, cluster_manager, "
            "engine_open_time, engine_id, engine_name, engine_url, engine_state, engine_error, end_time, priority, "
            "peer_instance_closed) VALUES (" + ", ".join(q(v) for v in row) + ");")
    for name, (pod_state, engine_state, updated) in ENGINE_INFOS.items():
        ns = ENGINES[name][0]
        container = ("spark-kubernetes-driver->ContainerState(running=null, terminated=ContainerStateTerminated("
                     "containerID=containerd://x, exitCode=0, finishedAt=" + ts(updated) + ", message=null, "
                     "reason=Completed, signal=null, startedAt=" + ts(updated + H(1)) + ", additionalProperties={}), "
                     "waiting=null, additionalProperties={})")
        row = [tag(name), None, ns, driver_name(name), pod_state, container, app_id(name), driver_name(name),
               engine_state, None, ms(updated)]
        lines.append(
            "INSERT INTO k8s_engine_info(identifier, context, namespace, pod_name, pod_state, container_state, engine_id, "
            "engine_name, engine_state, engine_error, update_time) VALUES (" + ", ".join(q(v) for v in row) + ");")
    return "\n".join(lines) + "\n"


def main():
    items = []
    rv = 48000
    for name in ENGINES:
        rv += 7
        driver = driver_pod(name, rv)
        items.append(driver)
        if PODS[name][0] == "Running":
            items.append(executor_pod(name, driver, rv + 1))
    items.extend(other_pods(rv + 10))
    items.sort(key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
    pod_list = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
    with open(os.path.join(HERE, "pods.json"), "w") as f:
        json.dump(pod_list, f, indent=4, sort_keys=True)
        f.write("\n")
    sql = store_sql()
    with open(os.path.join(HERE, "store.sql"), "w") as f:
        f.write(sql)
    db = os.path.join(HERE, "kyuubi_state_store.db")
    if os.path.exists(db):
        os.remove(db)
    conn = sqlite3.connect(db)
    conn.executescript(sql)
    conn.commit()
    conn.execute("VACUUM")
    conn.close()
    for name in ENGINES:
        print(f"{tag(name)}  {ENGINES[name][0]:12} {driver_name(name)}")


if __name__ == "__main__":
    main()
