"""Leases through CoordinationV1Api, the way a client-go style elector uses them: create, read,
replace with the resourceVersion just read (ok) and with a stale one (409), patch (a dict body
goes as a strategic merge patch, a list as a JSON patch, and an explicit merge patch), list,
delete.

usage: lease_ops.py KUBECONFIG NAMESPACE NAME
Prints one JSON object per step on stdout.
"""
import datetime
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


def summary(lease):
    s = lease.spec
    return {"name": lease.metadata.name, "resourceVersion": lease.metadata.resource_version,
            "uid": lease.metadata.uid,
            "holder": s.holder_identity, "duration": s.lease_duration_seconds,
            "transitions": s.lease_transitions,
            "acquireTime": s.acquire_time.isoformat() if s.acquire_time else None,
            "renewTime": s.renew_time.isoformat() if s.renew_time else None,
            "managers": [[m.manager, m.operation] for m in (lease.metadata.managed_fields or [])]}


def main():
    kubeconfig, ns, name = sys.argv[1:4]
    config.load_kube_config(config_file=kubeconfig)
    api = client.CoordinationV1Api()
    t0 = datetime.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc)

    def create():
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=name, namespace=ns),
            spec=client.V1LeaseSpec(holder_identity="py-a", lease_duration_seconds=15,
                                    acquire_time=t0, renew_time=t0, lease_transitions=0))
        return summary(api.create_namespaced_lease(ns, body, field_manager="py-elector"))
    step("create", create)
    step("create-again", create)

    first = api.read_namespaced_lease(name, ns)
    step("read", lambda: summary(first))

    def renew():
        lease = api.read_namespaced_lease(name, ns)
        lease.spec.renew_time = t0 + datetime.timedelta(seconds=2)
        return summary(api.replace_namespaced_lease(name, ns, lease, field_manager="py-elector"))
    step("renew", renew)

    def stale():
        # `first` carries the resourceVersion from before the renewal
        first.spec.holder_identity = "py-b"
        return summary(api.replace_namespaced_lease(name, ns, first, field_manager="py-other"))
    step("replace-stale", stale)

    step("patch-strategic", lambda: summary(api.patch_namespaced_lease(
        name, ns, {"metadata": {"labels": {"app": "kyuubi-reaper"}}})))
    step("patch-json", lambda: summary(api.patch_namespaced_lease(
        name, ns, [{"op": "replace", "path": "/spec/leaseTransitions", "value": 1}])))
    def merge_patch():
        # this client has no _content_type: send a JSON merge patch through call_api
        return summary(api.api_client.call_api(
            "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}", "PATCH",
            {"namespace": ns, "name": name}, [("fieldManager", "py-merge")],
            {"Accept": "application/json", "Content-Type": "application/merge-patch+json"},
            body={"spec": {"holderIdentity": "py-c"}}, response_type="V1Lease",
            auth_settings=["BearerToken"], _return_http_data_only=True))
    step("patch-merge", merge_patch)
    step("patch-invalid", lambda: summary(api.patch_namespaced_lease(
        name, ns, {"spec": {"leaseDurationSeconds": 0}})))
    step("list", lambda: [l.metadata.name for l in api.list_namespaced_lease(
        ns, label_selector="app=kyuubi-reaper").items])
    step("list-all", lambda: [l.metadata.namespace + "/" + l.metadata.name
                              for l in api.list_lease_for_all_namespaces().items])
    step("delete", lambda: api.delete_namespaced_lease(name, ns).status)
    step("gone", lambda: summary(api.read_namespaced_lease(name, ns)))


if __name__ == "__main__":
    main()
