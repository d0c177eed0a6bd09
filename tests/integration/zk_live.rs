//! Tests against a real ZooKeeper 3.8 server started by the test in a temp dir on a loopback
//! port, seeded with exact Kyuubi-style registrations through kazoo (`tests/data/zk_seed.py`).
//!
//! Needs Debian's `zookeeper` and `python3-kazoo`; fails (never skips) without them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::zk_tools::{Live, ZkServer, assert_matches_formatter, snapshot_formatter, wait_until};
use base64::Engine as _;
use kyuubi_reaper::state::zk::datadir::{LoadOptions, Owner, list_snapshots, load};
use kyuubi_reaper::state::zk::registration::{engine_space_filter, parse_registration};
use kyuubi_reaper::state::zk::snapshot::{
    Compression, SnapshotOptions, keep_all, read_snapshot_file,
};
use kyuubi_reaper::state::zk::txnlog::op;
use kyuubi_reaper::state::zk::{Liveness, ZkState};

/// What a client sees: ZooKeeper reports ephemeralOwner 0 for containers and TTL nodes
/// (`DataNode.getClientEphemeralOwner`), while snapshots and logs keep the special values.
fn as_live<'a>(
    nodes: impl Iterator<
        Item = (
            &'a std::sync::Arc<str>,
            &'a kyuubi_reaper::state::zk::snapshot::Node,
        ),
    >,
) -> BTreeMap<String, Live> {
    nodes
        .map(|(p, n)| {
            let path = if p.is_empty() {
                "/".to_string()
            } else {
                p.to_string()
            };
            let n = n.clone();
            let live = Live {
                data: n.data,
                owner: Owner::from_raw(n.ephemeral_owner).session().unwrap_or(0),
                czxid: n.czxid,
                mzxid: n.mzxid,
                ctime: n.ctime,
                mtime: n.mtime,
            };
            (path, live)
        })
        .collect()
}

fn assert_same_tree(ours: &BTreeMap<String, Live>, live: &BTreeMap<String, Live>, what: &str) {
    let a: Vec<&String> = ours.keys().collect();
    let b: Vec<&String> = live.keys().collect();
    assert_eq!(a, b, "{what}: paths");
    for (p, n) in ours {
        assert_eq!(n, &live[p], "{what}: {p}");
    }
}

fn app_mgr_info(ns: &str) -> String {
    // Pick a JSON whose base64 contains '/', so the name gains path levels (Kyuubi #7282).
    for pad in 0..64 {
        let json = format!(
            r#"{{"resourceManager":"k8s://https://kubernetes.default.svc:443{}","kubernetesInfo":{{"context":"ctx-?>","namespace":"{ns}"}}}}"#,
            "/".repeat(pad % 3)
        );
        let enc = base64::engine::general_purpose::STANDARD.encode(json.as_bytes());
        if enc.contains('/') {
            return enc;
        }
    }
    unreachable!("no base64 with '/'")
}

fn newest_snapshot(dir: &Path, compression: Compression) -> PathBuf {
    list_snapshots(dir, &mut Vec::new())
        .unwrap()
        .into_iter()
        .find(|s| s.compression == compression)
        .unwrap_or_else(|| panic!("no {compression:?} snapshot in {}", dir.display()))
        .path
}

#[test]
#[allow(clippy::too_many_lines)]
fn live_server_snapshots_and_replay_match_zookeeper() {
    let mut zk = ZkServer::new();
    zk.start("");
    zk.py(&["seed"]);

    let app = app_mgr_info("spark-jobs");
    let name = |uri: &str, v: &str, extra: &str, ref_id: &str| {
        format!("{uri};version={v};{extra}refId={ref_id};sequence=")
    };
    // Kept alive for the whole test.
    let alive_spec = serde_json::json!([
        {"dir": "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
         "name": name("serverUri=10.0.0.11:40101", "1.10.3",
            &format!("kyuubi.engine.id=spark-0001;kyuubi.engine.url=10.0.0.11:4040;spark.driver.memory=2g;kyuubi.engine.appMgrInfo={app};"),
            "0b5a7c2e-0001-4000-8000-000000000001"),
         "data": "10.0.0.11:40101"},
        {"dir": "/kyuubi_1.10.3_CONNECTION_SPARK_SQL/carol/0b5a7c2e-0002-4000-8000-000000000002",
         "name": name("serverUri=10.0.0.12:40102", "1.10.3", "kyuubi.engine.id=spark-0002;",
            "0b5a7c2e-0002-4000-8000-000000000002"),
         "data": "10.0.0.12:40102"},
        {"dir": "/kyuubi_1.10.3_SERVER_LOCAL_SPARK_SQL/kyuubi/10.0.0.5_default",
         "name": name("serverUri=10.0.0.13:40103", "1.10.3", "kyuubi.engine.id=spark-0003;",
            "0b5a7c2e-0003-4000-8000-000000000003"),
         "data": "10.0.0.13:40103"},
        {"dir": "/kyuubi_1.8.0_GROUP_SPARK_SQL/analysts/default",
         "name": name("serviceUri=10.0.0.14:40104", "1.8.0", "", "0b5a7c2e-0004-4000-8000-000000000004"),
         "data": "10.0.0.14:40104"},
    ]);
    let alive = zk.hold(30, &alive_spec);
    assert_eq!(alive.paths.len(), 4);
    assert!(
        alive.paths[0].ends_with("refId=0b5a7c2e-0001-4000-8000-000000000001;sequence=0000000000")
    );

    // A session that dies uncleanly and expires (4 s: the server's minimum with tickTime=2000).
    let dying_spec = serde_json::json!([
        {"dir": "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
         "name": name("serverUri=10.0.0.21:40201", "1.10.3",
            &format!("kyuubi.engine.id=spark-0021;kyuubi.engine.appMgrInfo={};", app_mgr_info("other")),
            "0b5a7c2e-0021-4000-8000-000000000021"),
         "data": "10.0.0.21:40201"},
    ]);
    let dying = zk.hold(4, &dying_spec);
    let dying_path = dying.paths[0].clone();
    let dying_session = dying.session;
    // A session that closes cleanly (closeSession with paths2Delete).
    let closing = zk.hold(30, &serde_json::json!([
        {"dir": "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
         "name": name("serverUri=10.0.0.22:40202", "1.10.3", "", "0b5a7c2e-0022-4000-8000-000000000022"),
         "data": "10.0.0.22:40202"},
    ]));
    let closing_path = closing.paths[0].clone();
    closing.close();
    dying.kill();
    // Its ephemeral expires; then the container levels its '/' created become empty and the
    // ContainerManager deletes them (deleteContainer txns).
    let dying_top = {
        let below = dying_path
            .strip_prefix("/kyuubi_1.10.3_USER_SPARK_SQL/bob/default/")
            .unwrap();
        format!(
            "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default/{}",
            below.split('/').next().unwrap()
        )
    };
    assert_ne!(
        dying_top, dying_path,
        "the dying registration must have extra levels"
    );
    wait_until("the dead session's nodes to go", 60, || {
        let d = zk.dump();
        !d.contains_key(&dying_path) && !d.contains_key(&dying_top)
    });
    assert!(!zk.dump().contains_key(&closing_path));

    let filter = engine_space_filter("kyuubi");
    let mut last_state: Option<ZkState> = None;
    for (method, compression) in [
        ("", Compression::None),
        ("gz", Compression::Gzip),
        ("snappy", Compression::Snappy),
    ] {
        zk.restart(method);
        // Let the holder reconnect so the live view is complete (it is unchanged either way).
        std::thread::sleep(Duration::from_millis(500));
        let file = newest_snapshot(&zk.version2(), compression);
        let snap = read_snapshot_file(&file, &keep_all, &SnapshotOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        // 1. Same as ZooKeeper's own SnapshotFormatter.
        assert_matches_formatter(&snap, &snapshot_formatter(&file));
        // 2. Same as a live client sees (paths, data, owners, zxids, times).
        let live = zk.dump();
        assert_same_tree(
            &as_live(snap.nodes.iter().map(|(p, n)| (p, n))),
            &live,
            &file.display().to_string(),
        );
        assert!(snap.sessions.contains_key(&alive.session));
        assert!(!snap.sessions.contains_key(&dying_session));
        assert_ne!(
            snap.info.digest_matches(),
            Some(false),
            "{}",
            file.display()
        );

        // 3. The Kyuubi view through the filter.
        let kept = read_snapshot_file(&file, &filter, &SnapshotOptions::default()).unwrap();
        assert_eq!(kept.info.node_count, snap.info.node_count);
        let regs: Vec<_> = kept
            .nodes
            .iter()
            .filter_map(|(p, n)| {
                parse_registration(p, Some("kyuubi"))
                    .ok()
                    .map(|r| (r, n.clone()))
            })
            .collect();
        let ref_ids: BTreeSet<&str> = regs.iter().map(|(r, _)| r.ref_id.as_str()).collect();
        assert_eq!(
            ref_ids,
            BTreeSet::from([
                "0b5a7c2e-0001-4000-8000-000000000001",
                "0b5a7c2e-0002-4000-8000-000000000002",
                "0b5a7c2e-0003-4000-8000-000000000003",
                "0b5a7c2e-0004-4000-8000-000000000004",
            ])
        );
        for (r, n) in &regs {
            assert_eq!(n.ephemeral_owner, alive.session, "{}", r.path);
            assert_eq!(
                r.host_port.as_deref(),
                n.data.as_deref().map(|d| std::str::from_utf8(d).unwrap())
            );
            assert_eq!(r.sequence, 0);
        }
        let a = &regs
            .iter()
            .find(|(r, _)| r.engine_id.as_deref() == Some("spark-0001"))
            .unwrap()
            .0;
        assert!(a.extra_levels > 0, "the appMgrInfo base64 contains '/'");
        assert_eq!(a.k8s_namespace.as_deref(), Some("spark-jobs"));
        assert_eq!(a.k8s_context.as_deref(), Some("ctx-?>"));
        assert_eq!(
            a.attributes.get("spark.driver.memory").map(String::as_str),
            Some("2g")
        );
        assert!(
            kept.nodes
                .iter()
                .any(|(_, n)| n.ephemeral_owner == i64::MIN),
            "extra levels are containers"
        );
        let s = &regs
            .iter()
            .find(|(r, _)| {
                r.share_level == kyuubi_reaper::state::zk::registration::ShareLevel::ServerLocal
            })
            .unwrap()
            .0;
        assert_eq!(s.server_host.as_deref(), Some("10.0.0.5"));
        let o = &regs
            .iter()
            .find(|(r, _)| r.kyuubi_version == "1.8.0")
            .unwrap()
            .0;
        assert_eq!(
            o.uri_key,
            Some(kyuubi_reaper::state::zk::registration::UriKey::ServiceUri)
        );

        // 4. The data dir loads to the same state (nothing to replay after a startup snapshot).
        let state = load(
            zk.dir.path().join("data").as_path(),
            &keep_all,
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(state.snapshot.zxid, snap.info.zxid);
        assert_same_tree(&as_live(state.nodes.iter()), &live, "data dir");
        last_state = Some(state);
    }
    let before = last_state.unwrap();

    // Changes after the last snapshot live only in the log.
    zk.py(&["mutate"]);
    let late = zk.hold(30, &serde_json::json!([
        {"dir": "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
         "name": name("serverUri=10.0.0.31:40301", "1.10.3", "kyuubi.engine.id=spark-0031;", "0b5a7c2e-0031-4000-8000-000000000031"),
         "data": "10.0.0.31:40301"},
    ]));
    let late_dying = zk.hold(4, &serde_json::json!([
        {"dir": "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
         "name": name("serverUri=10.0.0.32:40302", "1.10.3", "", "0b5a7c2e-0032-4000-8000-000000000032"),
         "data": "10.0.0.32:40302"},
    ]));
    let late_dying_path = late_dying.paths[0].clone();
    let late_dying_session = late_dying.session;
    late_dying.kill();
    wait_until("the late session to expire", 60, || {
        !zk.dump().contains_key(&late_dying_path)
    });
    let live = zk.dump();
    assert!(live.contains_key("/other/after"));

    let v2 = zk.version2();
    let snap_only = load(
        &newest_snapshot(&v2, Compression::Snappy),
        &keep_all,
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(
        !snap_only.nodes.contains_key("/other/after"),
        "the snapshot predates the changes"
    );
    let state = load(&v2, &keep_all, &LoadOptions::default()).unwrap();
    assert!(state.txns_applied > 10, "{}", state.txns_applied);
    assert!(state.warnings.is_empty(), "{:?}", state.warnings);
    assert_same_tree(&as_live(state.nodes.iter()), &live, "replayed data dir");
    assert!(state.sessions.contains_key(&alive.session));
    assert!(state.sessions.contains_key(&late.session));
    assert!(!state.sessions.contains_key(&late_dying_session));
    assert!(state.as_of_ms >= before.as_of_ms);
    assert_eq!(state.nodes["/other/keep"].data.as_deref(), Some(&b"m2"[..]));
    assert_eq!(
        state.nodes["/kyuubi_1.10.3_USER_SPARK_SQL/alice/default"].data,
        None
    );
    assert!(matches!(
        Owner::from_raw(state.nodes["/kyuubi_1.10.3_USER_SPARK_SQL/ttl"].ephemeral_owner),
        Owner::Ttl { ttl_ms: 3_600_000 }
    ));
    let late_node = state
        .nodes
        .get(late.paths[0].as_str())
        .expect("late registration replayed");
    assert_eq!(
        state.is_alive(late_node),
        Liveness::Alive {
            session: late.session,
            timeout_ms: 30_000
        }
    );

    // The logs really contain every kind of txn the replay handles.
    let mut types = BTreeSet::new();
    for l in kyuubi_reaper::state::zk::datadir::list_logs(&v2, &mut Vec::new()).unwrap() {
        for t in kyuubi_reaper::state::zk::txnlog::read_txn_log(
            &l.path,
            &kyuubi_reaper::state::zk::jute::Limits::default(),
        )
        .unwrap()
        .txns
        {
            types.insert(t.header.txn_type);
            if let kyuubi_reaper::state::zk::txnlog::TxnRecord::Multi(subs) = &t.record {
                let failed = subs.iter().any(|s| {
                    matches!(s, kyuubi_reaper::state::zk::txnlog::TxnRecord::Error { .. })
                });
                types.insert(if failed { 1000 } else { 1001 });
            }
        }
    }
    for t in [
        op::CREATE_SESSION,
        op::CLOSE_SESSION,
        op::CREATE,
        op::CREATE_CONTAINER,
        op::CREATE_TTL,
        op::DELETE,
        op::DELETE_CONTAINER,
        op::SET_DATA,
        op::MULTI,
        1000,
        1001,
    ] {
        assert!(
            types.contains(&t),
            "no txn of type {t} in the logs: {types:?}"
        );
    }

    // The filtered replay equals the filtered live view.
    let kept = load(&v2, &filter, &LoadOptions::default()).unwrap();
    let live_kept: BTreeMap<String, Live> = live
        .iter()
        .filter(|(p, _)| filter(p.as_bytes()))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    assert_same_tree(&as_live(kept.nodes.iter()), &live_kept, "filtered replay");

    late.close();
    alive.close();
    zk.stop();
}
