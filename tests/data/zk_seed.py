#!/usr/bin/python3
"""Seeds and inspects a real ZooKeeper server for the ZooKeeper tests of kyuubi-reaper.

Run with /usr/bin/python3 (Debian's python3-kazoo); the `python3` on PATH may lack kazoo.

  zk_seed.py HOST:PORT seed                   persistent Kyuubi-like tree plus unrelated trees
  zk_seed.py HOST:PORT hold TIMEOUT_S SPEC    open a session, create the registrations in SPEC
                                              (JSON list of {"dir", "name", "data"}), print one
                                              JSON line {"session", "paths"}, then keep the
                                              session until stdin closes (then close it cleanly)
  zk_seed.py HOST:PORT mutate                 changes made after the last snapshot
  zk_seed.py HOST:PORT dump                   every znode as JSON {path: {data, owner, ...}}
  zk_seed.py HOST:PORT persist SPEC           create the registrations in SPEC PERSISTENT_SEQUENTIAL,
                                              as `kyuubi-ctl create` does; print a JSON list of paths
  zk_seed.py HOST:PORT lock SPACE USER PASS   give SPACE and every node below it the ACL
                                              digest:USER:<sha1> READ only (nothing for anyone else)
  zk_seed.py HOST:PORT many DIR COUNT         COUNT persistent sequential registrations below DIR

Registrations are created the way Kyuubi does it: the engine-space levels
/<space>/<user>/<leaf> as PERSISTENT, any extra levels caused by '/' inside the name
(Kyuubi #7282) as CONTAINER (Curator's creatingParentContainersIfNeeded), and the node itself
EPHEMERAL_SEQUENTIAL with ZooKeeper appending the 10-digit sequence.
"""
import base64
import json
import sys
from collections import namedtuple

from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError
from kazoo.protocol.serialization import Create2, long_struct
from kazoo.security import OPEN_ACL_UNSAFE


class CreateContainer(Create2):
    """createContainer (opcode 19, flags CONTAINER=4); kazoo 2.8 has no API for it."""
    type = 19


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    """createTTL (opcode 21, flags PERSISTENT_WITH_TTL=5); needs zookeeper.extendedTypesEnabled."""
    type = 21

    def serialize(self):
        b = Create2.serialize(self)
        b.extend(long_struct.pack(self.ttl))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return Create2.deserialize(bytes, offset)


def call(zk, request):
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get()


def create_container(zk, path, data=b""):
    try:
        return call(zk, CreateContainer(path, data, OPEN_ACL_UNSAFE, 4))
    except NodeExistsError:
        return None


def create_ttl(zk, path, data, ttl_ms):
    return call(zk, CreateTTL(path, data, OPEN_ACL_UNSAFE, 5, ttl_ms))


def connect(hosts, timeout=30.0):
    zk = KazooClient(hosts=hosts, timeout=timeout)
    zk.start(timeout=30)
    return zk


def seed(zk):
    for p in [
        "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
        "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
        "/kyuubi_1.10.3_CONNECTION_SPARK_SQL/carol",
        "/kyuubi_1.10.3_SERVER_LOCAL_SPARK_SQL/kyuubi/10.0.0.5_default",
        "/kyuubi_1.8.0_GROUP_SPARK_SQL/analysts/default",
        "/kyuubi_1.10.3_USER_SPARK_SQL_lock/alice/default/leases",
        "/other/app/config",
    ]:
        zk.ensure_path(p)
    zk.create("/other/keep", b"keep")
    zk.create("/other/gone", b"gone")
    zk.create("/other/nulldata", None)
    zk.create("/other/binary", bytes(range(256)))
    zk.create("/other/unicodé-☃", "välue-☃".encode())
    # kyuubi-ctl style server registration (PERSISTENT_SEQUENTIAL) directly under the namespace.
    zk.create("/kyuubi/serverUri=10.0.0.5:10009;version=1.10.3;sequence=",
              b"10.0.0.5:10009", sequence=True, makepath=True)
    # An empty container (never deleted: it never had children) and a TTL node.
    create_container(zk, "/other/container")
    create_ttl(zk, "/other/ttl", b"t", 3600 * 1000)


def register(zk, spec):
    paths = []
    for r in spec:
        zk.ensure_path(r["dir"])
        parts = r["name"].split("/")
        for i in range(1, len(parts)):
            create_container(zk, r["dir"] + "/" + "/".join(parts[:i]))
        paths.append(zk.create(r["dir"] + "/" + r["name"], r["data"].encode(),
                               ephemeral=True, sequence=True))
    return paths


def hold(hosts, timeout_s, spec):
    zk = connect(hosts, timeout=float(timeout_s))
    paths = register(zk, spec)
    print(json.dumps({"session": zk.client_id[0], "paths": paths}), flush=True)
    sys.stdin.read()  # until the test closes stdin (or kills us)
    zk.stop()
    zk.close()


def mutate(zk):
    zk.create("/other/after", b"after")
    zk.set("/other/keep", b"changed")
    zk.delete("/other/gone")
    t = zk.transaction()
    t.create("/kyuubi_1.10.3_USER_SPARK_SQL/alice/multi", b"m")
    t.set_data("/other/keep", b"m2")
    t.create("/other/multi-tmp", b"")
    t.delete("/other/multi-tmp")
    results = t.commit()
    assert not any(isinstance(r, Exception) for r in results), results
    # A failing multi (the node exists): ZooKeeper logs it as all-error sub-txns.
    t = zk.transaction()
    t.create("/kyuubi_1.10.3_USER_SPARK_SQL/alice/never", b"")
    t.create("/other/after", b"")
    t.commit()
    zk.create("/kyuubi_1.10.3_USER_SPARK_SQL/bob/default/persistent-seq-", b"p", sequence=True)
    create_container(zk, "/kyuubi_1.10.3_USER_SPARK_SQL/container")
    create_ttl(zk, "/kyuubi_1.10.3_USER_SPARK_SQL/ttl", b"t", 3600 * 1000)
    zk.set("/kyuubi_1.10.3_USER_SPARK_SQL/alice/default", None)


def dump(zk):
    out = {}

    def walk(path):
        data, st = zk.get(path)
        out[path] = {
            "data": None if data is None else base64.b64encode(data).decode(),
            "owner": st.ephemeralOwner,
            "czxid": st.czxid,
            "mzxid": st.mzxid,
            "ctime": st.ctime,
            "mtime": st.mtime,
        }
        for c in zk.get_children(path):
            walk(("" if path == "/" else path) + "/" + c)

    walk("/")
    print(json.dumps(out))


def persist(zk, spec):
    paths = []
    for r in spec:
        zk.ensure_path(r["dir"])
        paths.append(zk.create(r["dir"] + "/" + r["name"], r["data"].encode(),
                               sequence=True, makepath=True))
    print(json.dumps(paths))


def lock(zk, space, user, password):
    from kazoo.security import make_digest_acl
    acl = [make_digest_acl(user, password, read=True)]

    def walk(path):
        for c in zk.get_children(path):
            walk(path + "/" + c)
        zk.set_acls(path, acl)

    walk(space)


def many(zk, path, count):
    zk.ensure_path(path)
    results = [zk.create_async(
        path + "/serverUri=10.9.%d.%d:1;version=1.10.3;refId=bulk-%06d;sequence=" % (i // 250, i % 250, i),
        b"10.9.0.0:1", sequence=True) for i in range(count)]
    for r in results:
        r.get()


def main():
    hosts, cmd = sys.argv[1], sys.argv[2]
    if cmd == "hold":
        hold(hosts, sys.argv[3], json.loads(sys.argv[4]))
        return
    if cmd in ("persist", "lock", "many"):
        zk = connect(hosts)
        try:
            if cmd == "persist":
                persist(zk, json.loads(sys.argv[3]))
            elif cmd == "lock":
                lock(zk, sys.argv[3], sys.argv[4], sys.argv[5])
            else:
                many(zk, sys.argv[3], int(sys.argv[4]))
        finally:
            zk.stop()
            zk.close()
        return
    zk = connect(hosts)
    try:
        {"seed": seed, "mutate": mutate, "dump": dump}[cmd](zk)
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
