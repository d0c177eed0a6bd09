"""Watch pods of a namespace and print one line per event: `TYPE NAME RESOURCEVERSION`.

usage: watch_events.py KUBECONFIG NAMESPACE TIMEOUT_SECONDS [MAX_EVENTS]
Prints `READY` first, then events; ends after TIMEOUT_SECONDS or MAX_EVENTS events.
"""
import sys

from kubernetes import client, config, watch


def main():
    kubeconfig, ns, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3])
    max_events = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()
    pods = v1.list_namespaced_pod(ns)
    print("READY %s" % pods.metadata.resource_version, flush=True)
    w = watch.Watch()
    n = 0
    for ev in w.stream(v1.list_namespaced_pod, ns, resource_version=pods.metadata.resource_version,
                       timeout_seconds=timeout):
        obj = ev["object"]
        print("%s %s %s" % (ev["type"], obj.metadata.name, obj.metadata.resource_version), flush=True)
        n += 1
        if max_events and n >= max_events:
            w.stop()
    print("END", flush=True)


if __name__ == "__main__":
    main()
