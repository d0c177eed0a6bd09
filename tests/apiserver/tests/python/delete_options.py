"""Delete pods with options given as query parameters and as a DeleteOptions body.

usage: delete_options.py KUBECONFIG NAMESPACE NAME
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
                          "kind": body.get("kind")}), flush=True)


def main():
    kubeconfig, ns, name = sys.argv[1], sys.argv[2], sys.argv[3]
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    uid = v1.read_namespaced_pod(name, ns).metadata.uid

    def pod_summary(p):
        return {"name": p.metadata.name, "uid": p.metadata.uid,
                "deletionTimestamp": p.metadata.deletion_timestamp.isoformat() if p.metadata.deletion_timestamp else None,
                "deletionGracePeriodSeconds": p.metadata.deletion_grace_period_seconds,
                "finalizers": p.metadata.finalizers}

    # dry run through query parameters (no body)
    step("dry-run", lambda: pod_summary(v1.delete_namespaced_pod(
        name, ns, dry_run="All", grace_period_seconds=0, propagation_policy="Background")))
    step("still-there", lambda: v1.read_namespaced_pod(name, ns).metadata.uid)
    # a failing precondition (a DeleteOptions body)
    step("precondition", lambda: pod_summary(v1.delete_namespaced_pod(
        name, ns, body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="00000000-0000-0000-0000-000000000000")))))
    # the real delete, cascading to dependents, with the right precondition
    step("delete", lambda: pod_summary(v1.delete_namespaced_pod(
        name, ns, body=client.V1DeleteOptions(propagation_policy="Background", preconditions=client.V1Preconditions(uid=uid)))))
    step("gone", lambda: v1.read_namespaced_pod(name, ns).metadata.uid)
    step("list-after", lambda: sorted(p.metadata.name for p in v1.list_namespaced_pod(ns).items))


if __name__ == "__main__":
    main()
