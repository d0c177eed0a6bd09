"""Delete a driver pod the way a reaper does: a DeleteOptions body with uid and resourceVersion
preconditions and the Background propagation policy.

usage: delete_preconditions.py KUBECONFIG NAMESPACE DRIVER OTHER
  DRIVER: a terminated driver with executors (ownerReferences to it)
  OTHER: another terminated pod, for the dry_run= keyword given together with a body
Prints one JSON object per step on stdout.
"""
import json
import sys

from kubernetes import client, config
from kubernetes.client.rest import ApiException


def step(name, fn):
    try:
        out = fn()
        print(json.dumps({"step": name, "ok": True, "result": out}), flush=True)
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        print(json.dumps({"step": name, "ok": False, "status": e.status,
                          "reason": body.get("reason"), "message": body.get("message"),
                          "kind": body.get("kind"), "details": body.get("details")}), flush=True)


def main():
    kubeconfig, ns, name, other = sys.argv[1:5]
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    pod = v1.read_namespaced_pod(name, ns)
    uid = pod.metadata.uid
    rv0 = pod.metadata.resource_version
    app = pod.metadata.labels["spark-app-selector"]

    def summary(resp):
        p, code, _headers = resp
        return {"code": code, "kind": p.kind, "name": p.metadata.name, "uid": p.metadata.uid,
                "resourceVersion": p.metadata.resource_version,
                "deletionTimestamp": p.metadata.deletion_timestamp.isoformat() if p.metadata.deletion_timestamp else None,
                "deletionGracePeriodSeconds": p.metadata.deletion_grace_period_seconds}

    def options(uid, rv, **kw):
        return client.V1DeleteOptions(
            preconditions=client.V1Preconditions(uid=uid, resource_version=rv),
            propagation_policy="Background", **kw)

    def delete(opts, pod_name=name, **kw):
        return summary(v1.delete_namespaced_pod_with_http_info(pod_name, ns, body=opts, **kw))

    def executors():
        return sorted(p.metadata.name for p in
                      v1.list_namespaced_pod(ns, label_selector=f"spark-app-selector={app},spark-role=executor").items)

    step("read", lambda: {"uid": uid, "resourceVersion": rv0, "executors": executors()})

    # someone else writes the pod after we read it (the kubelet, a controller)
    def touch():
        p = v1.read_namespaced_pod(name, ns)
        p.metadata.annotations = dict(p.metadata.annotations or {}, touched="yes")
        return v1.replace_namespaced_pod(name, ns, p).metadata.resource_version
    step("touch", touch)
    rv1 = v1.read_namespaced_pod(name, ns).metadata.resource_version

    step("wrong-uid", lambda: delete(options("00000000-0000-0000-0000-000000000000", rv1)))
    step("stale-rv", lambda: delete(options(uid, rv0)))
    step("dry-run", lambda: delete(options(uid, rv1, dry_run=["All"])))
    step("after-dry-run", lambda: {
        "resourceVersion": v1.read_namespaced_pod(name, ns).metadata.resource_version,
        "deletionTimestamp": v1.read_namespaced_pod(name, ns).metadata.deletion_timestamp is not None,
        "executors": executors()})
    step("delete", lambda: delete(options(uid, rv1)))
    step("gone", lambda: v1.read_namespaced_pod(name, ns).metadata.uid)
    step("executors-after", executors)
    step("delete-missing", lambda: delete(options(uid, rv1)))

    # dry_run= as a keyword goes into the query string; with a body, the server reads the
    # options from the body alone, so this is a real delete
    o = v1.read_namespaced_pod(other, ns)
    step("dry-run-keyword-with-body", lambda: delete(
        options(o.metadata.uid, o.metadata.resource_version), pod_name=other, dry_run="All"))
    step("other-gone", lambda: v1.read_namespaced_pod(other, ns).metadata.uid)


if __name__ == "__main__":
    main()
