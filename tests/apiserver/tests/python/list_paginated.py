"""List pods with a label selector, page by page (limit + _continue), as JSON on stdout.

usage: list_paginated.py KUBECONFIG LABEL_SELECTOR LIMIT [NAMESPACE]
"""
import json
import sys

from kubernetes import client, config


def main():
    kubeconfig, selector, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    namespace = sys.argv[4] if len(sys.argv) > 4 else None
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    pages, names, rvs, token = [], [], [], None
    while True:
        kwargs = {"label_selector": selector, "limit": limit}
        if token:
            kwargs["_continue"] = token
        if namespace:
            resp = v1.list_namespaced_pod(namespace, **kwargs)
        else:
            resp = v1.list_pod_for_all_namespaces(**kwargs)
        pages.append(len(resp.items))
        rvs.append(resp.metadata.resource_version)
        names.extend("%s/%s" % (p.metadata.namespace, p.metadata.name) for p in resp.items)
        token = resp.metadata._continue
        if not token:
            break
    print(json.dumps({"pages": pages, "names": names, "resource_versions": rvs}))


if __name__ == "__main__":
    main()
