//! `state::zk::live` against real ZooKeeper 3.8 servers started by the tests: a three-server
//! ensemble (a read equals kazoo's view of the tree and the data-dir reader's registrations,
//! survives a server killed before the read, a connection cut in the middle of one and a server
//! killed during one, and ends in bounded time when every server is gone; the watch), a
//! standalone server with digest ACLs, one with TLS and client certificates, and a "black hole"
//! that accepts connections and never answers.
//!
//! Needs Debian's `zookeeper` and `python3-kazoo`; fails (never skips) without them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use kyuubi_reaper::state::zk::datadir::{LoadOptions, Owner, load};
use kyuubi_reaper::state::zk::live::{
    DigestAuth, Ensemble, LiveError, LiveOptions, LiveTree, LiveWatch, TlsFiles, read,
};
use kyuubi_reaper::state::zk::registration::{
    engine_space_filter, is_engine_space_path, parse_registration,
};

use crate::harness::reaper;
use crate::world::{ago, driver, verdicts, write_pods};
use crate::zk_tools::{Live, ZkEnsemble, ZkServer, dump_at, free_ports, hold_at, py_at};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn options(timeout: Duration) -> LiveOptions {
    LiveOptions {
        timeout,
        ..LiveOptions::default()
    }
}

fn kyuubi() -> Vec<String> {
    vec!["kyuubi".to_string()]
}

/// A base64 `kyuubi.engine.appMgrInfo` containing '/', so the name gains levels (#7282).
fn app_mgr_info(ns: &str) -> String {
    (0..64)
        .map(|pad| {
            let json = format!(
                r#"{{"resourceManager":"k8s://https://kubernetes.default.svc:443{}","kubernetesInfo":{{"context":"ctx-?>","namespace":"{ns}"}}}}"#,
                "/".repeat(pad % 3)
            );
            base64::engine::general_purpose::STANDARD.encode(json.as_bytes())
        })
        .find(|enc| enc.contains('/'))
        .expect("a base64 with '/'")
}

/// A registration as Kyuubi names it: `serverUri=` since 1.8.1, `serviceUri=` before.
fn reg(dir: &str, uri: &str, version: &str, extra: &str, ref_id: &str, ip: &str) -> Value {
    json!({
        "dir": dir,
        "name": format!("{uri}={ip}:40123;version={version};{extra}refId={ref_id};sequence="),
        "data": format!("{ip}:40123"),
    })
}

/// Each registration of a read: path → (refId, owner).
fn registrations<'a>(
    nodes: impl Iterator<Item = (&'a str, i64)>,
) -> BTreeMap<String, (String, i64)> {
    nodes
        .filter_map(|(p, owner)| {
            parse_registration(p, Some("kyuubi"))
                .ok()
                .map(|r| (p.to_string(), (r.ref_id, owner)))
        })
        .collect()
}

fn tree_registrations(tree: &LiveTree) -> BTreeMap<String, (String, i64)> {
    registrations(tree.nodes.iter().map(|(p, n)| (&**p, n.ephemeral_owner)))
}

/// The read equals what kazoo sees in the engine spaces (paths, data, owners, zxids, times).
fn assert_same_as_kazoo(tree: &LiveTree, kazoo: &BTreeMap<String, Live>) {
    let theirs: BTreeMap<&String, &Live> = kazoo
        .iter()
        .filter(|(p, _)| is_engine_space_path("kyuubi", p.as_bytes()))
        .collect();
    let ours: Vec<&str> = tree.nodes.keys().map(|p| &**p).collect();
    let their_paths: Vec<&str> = theirs.keys().map(|p| p.as_str()).collect();
    assert_eq!(ours, their_paths, "paths of the engine spaces");
    let mut max_zxid = 0;
    for (p, n) in &tree.nodes {
        let k = theirs[&p.to_string()];
        // The client library returns null data as empty.
        assert_eq!(
            n.data.as_deref().unwrap_or_default(),
            k.data.as_deref().unwrap_or_default(),
            "data of {p}"
        );
        assert_eq!(
            (n.ephemeral_owner, n.czxid, n.mzxid, n.ctime, n.mtime),
            (k.owner, k.czxid, k.mzxid, k.ctime, k.mtime),
            "stat of {p}"
        );
        max_zxid = max_zxid.max(n.czxid).max(n.mzxid);
    }
    assert!(
        tree.last_zxid >= max_zxid,
        "{} < {max_zxid}",
        tree.last_zxid
    );
}

/// A TCP proxy in front of `upstream` for one connection, which it cuts once `limit` bytes
/// went from the server to the client; later connections are refused.
struct CuttingProxy {
    port: u16,
    forwarded: Arc<AtomicUsize>,
}

impl CuttingProxy {
    fn start(upstream: u16, limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let forwarded = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&forwarded);
        std::thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            drop(listener);
            let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
            let (mut s_in, mut c_out) = (server, client);
            let mut buf = [0u8; 1024];
            while let Ok(n) = s_in.read(&mut buf) {
                if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                    break;
                }
                if counter.fetch_add(n, Ordering::SeqCst) + n >= limit {
                    break;
                }
            }
            let _ = c_out.shutdown(Shutdown::Both);
            let _ = s_in.shutdown(Shutdown::Both);
        });
        CuttingProxy { port, forwarded }
    }
}

#[test]
#[allow(clippy::too_many_lines)]
fn ensemble_reads_equal_zookeeper_and_survive_failures() {
    let mut zk = ZkEnsemble::start();
    let all = zk.connect(&[0, 1, 2]);
    py_at(&all, &["seed"]);
    let app = app_mgr_info("spark-jobs");
    // Alive for the whole test: every naming style and share level.
    let alive = hold_at(
        &all,
        30,
        &json!([
            reg(
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
                "serverUri",
                "1.10.3",
                &format!(
                    "kyuubi.engine.id=spark-0001;kyuubi.engine.url=10.0.0.11:4040;spark.driver.memory=2g;kyuubi.engine.appMgrInfo={app};"
                ),
                "0b5a7c2e-0001",
                "10.0.0.11"
            ),
            reg(
                "/kyuubi_1.10.3_CONNECTION_SPARK_SQL/carol/0b5a7c2e-0002",
                "serverUri",
                "1.10.3",
                "kyuubi.engine.id=spark-0002;",
                "0b5a7c2e-0002",
                "10.0.0.12"
            ),
            reg(
                "/kyuubi_1.10.3_SERVER_LOCAL_SPARK_SQL/kyuubi/10.0.0.5_default",
                "serverUri",
                "1.10.3",
                "",
                "0b5a7c2e-0003",
                "10.0.0.13"
            ),
            reg(
                "/kyuubi_1.8.0_GROUP_SPARK_SQL/analysts/default",
                "serviceUri",
                "1.8.0",
                "",
                "0b5a7c2e-0004",
                "10.0.0.14"
            ),
            reg(
                "/kyuubi_1.11.0_SERVER_TRINO/kyuubi/default",
                "serverUri",
                "1.11.0",
                "",
                "0b5a7c2e-0005",
                "10.0.0.15"
            ),
            reg(
                "/kyuubi_1.10.3_USER_SPARK_SQL/bob/engine-pool-1",
                "serverUri",
                "1.10.3",
                "",
                "0b5a7c2e-0006",
                "10.0.0.16"
            ),
        ]),
    );
    // An engine that stopped: its session is closed, its registration gone.
    let closing = hold_at(
        &all,
        30,
        &json!([reg(
            "/kyuubi_1.10.3_USER_SPARK_SQL/bob/default",
            "serverUri",
            "1.10.3",
            "",
            "0b5a7c2e-0021",
            "10.0.0.21"
        )]),
    );
    let closed_path = closing.paths[0].clone();
    closing.close();
    // `kyuubi-ctl create`-style registrations (persistent), another namespace's space, and a
    // bulk of registrations so that a read takes many round trips.
    let persisted: Vec<String> = serde_json::from_str(&py_at(
        &all,
        &[
            "persist",
            &json!([
                reg(
                    "/kyuubi_1.10.3_USER_SPARK_SQL/dave/default",
                    "serverUri",
                    "1.10.3",
                    "",
                    "0b5a7c2e-0031",
                    "10.0.0.31"
                ),
                reg(
                    "/otherns_1.10.3_USER_SPARK_SQL/eve/default",
                    "serverUri",
                    "1.10.3",
                    "",
                    "0b5a7c2e-0041",
                    "10.0.0.41"
                ),
            ])
            .to_string(),
        ],
    ))
    .unwrap();
    py_at(
        &all,
        &["many", "/kyuubi_1.10.3_USER_SPARK_SQL/bulk/default", "1500"],
    );
    let kazoo = dump_at(&all);
    assert!(!kazoo.contains_key(&closed_path));
    let rt = runtime();

    // 1. A read of the whole ensemble equals kazoo's view.
    let ensemble = Ensemble::parse(&all).unwrap();
    let t = Instant::now();
    let tree = rt
        .block_on(read(
            &ensemble,
            &kyuubi(),
            &options(Duration::from_secs(20)),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let first_read = t.elapsed();
    assert_same_as_kazoo(&tree, &kazoo);
    assert_eq!(
        tree.server,
        zk.members[0].hosts(),
        "the first server answers"
    );
    assert_eq!(tree.matching_engine_spaces, 5, "{:?}", tree.engine_spaces);
    assert!(
        tree.engine_spaces
            .contains(&"/otherns_1.10.3_USER_SPARK_SQL".to_string())
    );
    assert!(!tree.nodes.contains_key("/otherns_1.10.3_USER_SPARK_SQL"));
    assert!(tree.engine_spaces_seen >= 6);
    let regs = tree_registrations(&tree);
    assert_eq!(
        regs.len(),
        6 + 1 + 1500,
        "{:?}",
        regs.keys().take(10).collect::<Vec<_>>()
    );
    for p in &alive.paths {
        assert_eq!(regs[p].1, alive.session, "{p}");
    }
    assert_eq!(
        regs[&persisted[0]].1, 0,
        "kyuubi-ctl registrations are persistent"
    );
    assert!(
        alive.paths[0].matches('/').count() > 4,
        "the appMgrInfo registration has extra levels"
    );

    // 2. The same registrations as the data-dir reader on the leader's files, each live owner
    //    a session of that state.
    let leader = zk.leader();
    let filter = engine_space_filter("kyuubi");
    let state = load(
        &zk.members[leader].dir.path().join("data"),
        &filter,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let from_files = registrations(state.nodes.iter().map(|(p, n)| (&**p, n.ephemeral_owner)));
    assert_eq!(
        from_files, regs,
        "registrations: live read vs data directory"
    );
    for (p, (_, owner)) in &regs {
        if *owner != 0 {
            assert!(state.sessions.contains_key(owner), "{p}: owner {owner:#x}");
        }
    }
    // Containers and the rest: the same nodes, owners as a client sees them.
    // The data-dir reader keeps file order; the live read is ordered by path.
    let mut file_paths: Vec<&str> = state.nodes.keys().map(|p| &**p).collect();
    file_paths.sort_unstable();
    let live_paths: Vec<&str> = tree.nodes.keys().map(|p| &**p).collect();
    assert_eq!(file_paths, live_paths);
    for (p, n) in &state.nodes {
        let l = &tree.nodes[p];
        assert_eq!(
            (
                Owner::from_raw(n.ephemeral_owner).session().unwrap_or(0),
                n.czxid,
                n.ctime
            ),
            (l.ephemeral_owner, l.czxid, l.ctime),
            "{p}"
        );
    }

    // 3. The first server killed before the read: the others answer.
    zk.members[0].kill();
    let t = Instant::now();
    let after_kill = rt
        .block_on(read(
            &ensemble,
            &kyuubi(),
            &options(Duration::from_secs(20)),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(after_kill.server, zk.members[0].hosts());
    assert_eq!(
        after_kill.nodes, tree.nodes,
        "same tree from another server"
    );
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    zk.restart(0);

    // 4. The connection cut in the middle of a read (through a proxy in front of server 2):
    //    what was read is discarded and the read starts over on the next server.
    let proxy = CuttingProxy::start(zk.members[1].port, 16 * 1024);
    let cut =
        Ensemble::parse(&format!("127.0.0.1:{},{}", proxy.port, zk.connect(&[2, 0]))).unwrap();
    let restarted = rt
        .block_on(read(&cut, &kyuubi(), &options(Duration::from_secs(20))))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        proxy.forwarded.load(Ordering::SeqCst) >= 16 * 1024,
        "the proxy cut the connection mid-read"
    );
    assert_eq!(restarted.server, zk.members[2].hosts());
    assert_eq!(restarted.nodes, tree.nodes, "no partial read");

    // 5. A server killed during the read (SIGKILL shortly after it starts; whether it lands
    //    before, during or after the read, the result must be the whole tree).
    let order = Ensemble::parse(&zk.connect(&[1, 2, 0])).unwrap();
    let victim_pid = zk.members[1].pid().unwrap();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(first_read / 3);
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &victim_pid.to_string()])
            .status();
    });
    let during = rt
        .block_on(read(&order, &kyuubi(), &options(Duration::from_secs(30))))
        .unwrap_or_else(|e| panic!("{e}"));
    killer.join().unwrap();
    assert_eq!(during.nodes, tree.nodes, "read from {}", during.server);
    zk.members[1].kill();

    // 6. The watch (server 2 is dead): a new engine space, and a registration under a live
    //    session, each count as a change; a change elsewhere does not.
    let mut watch = rt
        .block_on(LiveWatch::start(
            &ensemble,
            &kyuubi(),
            &options(Duration::from_secs(3)),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let survivors = zk.connect(&[0, 2]);
    let within = |d: u64| Duration::from_secs(d);
    py_at(
        &survivors,
        &[
            "persist",
            &json!([reg(
                "/kyuubi_1.12.0_USER_JDBC/frank/default",
                "serverUri",
                "1.12.0",
                "",
                "0b5a7c2e-0051",
                "10.0.0.51"
            )])
            .to_string(),
        ],
    );
    rt.block_on(async { tokio::time::timeout(within(5), watch.changed()).await })
        .expect("a new engine space is a change")
        .unwrap();
    let late = hold_at(
        &survivors,
        30,
        &json!([reg(
            "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
            "serverUri",
            "1.10.3",
            "",
            "0b5a7c2e-0061",
            "10.0.0.61"
        )]),
    );
    rt.block_on(async { tokio::time::timeout(within(5), watch.changed()).await })
        .expect("a registration is a change")
        .unwrap();
    py_at(
        &survivors,
        &[
            "persist",
            &json!([{"dir": "/other/app", "name": "unrelated-", "data": ""}]).to_string(),
        ],
    );
    assert!(
        rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(1500), watch.changed()).await
        })
        .is_err(),
        "a change outside the engine spaces is no change"
    );
    late.close();
    alive.close();

    // 7. Every server stopped: the watch fails, and a read ends in bounded time naming them.
    zk.members[0].kill();
    zk.members[2].kill();
    let t = Instant::now();
    let lost = rt
        .block_on(async {
            tokio::time::timeout(within(15), async {
                loop {
                    // A reconnect may count as a change first; the end of the session must
                    // follow.
                    if let Err(e) = watch.changed().await {
                        return e;
                    }
                }
            })
            .await
        })
        .expect("the watch fails in bounded time");
    assert!(matches!(lost, LiveError::WatchLost { .. }), "{lost}");
    assert!(t.elapsed() < within(10), "{:?}: {lost}", t.elapsed());
    drop(watch);
    let t = Instant::now();
    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &options(within(3))))
        .unwrap_err();
    let took = t.elapsed();
    assert!(took < within(6), "{took:?}: {e}");
    assert!(matches!(e, LiveError::Connect { .. }), "{e}");
    let text = e.to_string();
    for m in &zk.members {
        assert!(text.contains(&m.hosts()), "{text}");
    }
    assert!(text.contains("connection refused"), "{text}");
}

#[test]
fn a_black_hole_or_nothing_at_all_ends_in_bounded_time() {
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    // Accept and hold every connection, never answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming() {
            held.push(c);
        }
    });
    let rt = runtime();
    let ensemble = Ensemble::parse(&format!("127.0.0.1:{port}")).unwrap();
    let t = Instant::now();
    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &options(Duration::from_secs(2))))
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "{:?}: {e}",
        t.elapsed()
    );
    let text = e.to_string();
    assert!(matches!(e, LiveError::Connect { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("accepted the connection"),
        "{text}"
    );
    let t = Instant::now();
    let e = rt
        .block_on(LiveWatch::start(
            &ensemble,
            &kyuubi(),
            &options(Duration::from_secs(2)),
        ))
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "{:?}: {e}",
        t.elapsed()
    );

    // Nothing listening at all.
    let free = free_ports(1)[0];
    let ensemble = Ensemble::parse(&format!("127.0.0.1:{free}")).unwrap();
    let t = Instant::now();
    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &options(Duration::from_secs(1))))
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "{:?}: {e}",
        t.elapsed()
    );
    assert!(e.to_string().contains("connection refused"), "{e}");
}

/// A server that answers a TLS client hello with the start of a record and then one byte now
/// and then: each read is quick, the handshake never ends. The read is refused within its
/// timeout, and nothing it started outlives it (dropping the runtime waits for its blocking
/// threads: the connection diagnosis among them).
#[test]
fn a_tls_server_that_trickles_is_given_up_on_in_bounded_time() {
    let certs = tempfile::tempdir().unwrap();
    let pki = pki(certs.path());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                use std::io::Write as _;
                // A handshake record of 16 KiB, sent a byte at a time.
                if c.write_all(&[0x16, 0x03, 0x03, 0x40, 0x00]).is_err() {
                    return;
                }
                while c.write_all(&[0x02]).is_ok() {
                    std::thread::sleep(Duration::from_millis(200));
                }
            });
        }
    });
    let rt = runtime();
    let ensemble = Ensemble::parse(&format!("127.0.0.1:{port}")).unwrap();
    let options = LiveOptions {
        tls: Some(TlsFiles {
            ca: pki.ca.clone(),
            cert: None,
            key: None,
        }),
        ..options(Duration::from_secs(2))
    };
    let t = Instant::now();
    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &options))
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{:?}: {e}",
        t.elapsed()
    );
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    let t = Instant::now();
    drop(rt);
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "the runtime waited {:?} for what the read left running",
        t.elapsed()
    );
}

#[test]
fn digest_acls_need_the_identity() {
    let mut zk = ZkServer::new();
    zk.start("");
    zk.py(&["seed"]);
    let hosts = zk.hosts();
    py_at(
        &hosts,
        &[
            "persist",
            &json!([reg(
                "/kyuubi_1.10.3_GROUP_SPARK_SQL/analysts/default",
                "serverUri",
                "1.10.3",
                "",
                "0b5a7c2e-0071",
                "10.0.0.71"
            )])
            .to_string(),
        ],
    );
    py_at(
        &hosts,
        &[
            "lock",
            "/kyuubi_1.10.3_GROUP_SPARK_SQL",
            "kyuubi",
            "s3cret:x",
        ],
    );
    let rt = runtime();
    let ensemble = Ensemble::parse(&hosts).unwrap();
    let opts = |auth: Option<(&str, &str)>| LiveOptions {
        auth: auth.map(|(user, password)| DigestAuth {
            user: user.into(),
            password: password.into(),
        }),
        ..options(Duration::from_secs(5))
    };

    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &opts(None)))
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, LiveError::NoAuth { .. }), "{text}");
    assert!(
        text.contains("/kyuubi_1.10.3_GROUP_SPARK_SQL") && text.contains("--zk-auth-file"),
        "{text}"
    );

    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &opts(Some(("kyuubi", "wrong")))))
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, LiveError::NoAuth { .. }), "{text}");
    assert!(text.contains("\"kyuubi\""), "names the user: {text}");
    assert!(!text.contains("wrong"), "never the password: {text}");

    // The identity from a file, as --zk-auth-file gives it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zk-auth");
    std::fs::write(&file, "kyuubi:s3cret:x\n").unwrap();
    let auth = DigestAuth::from_file(&file).unwrap();
    let tree = rt
        .block_on(read(
            &ensemble,
            &kyuubi(),
            &LiveOptions {
                auth: Some(auth),
                ..options(Duration::from_secs(5))
            },
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let regs = tree_registrations(&tree);
    assert_eq!(
        regs.values().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        ["0b5a7c2e-0071"]
    );
    assert_eq!(tree.matching_engine_spaces, 5, "{:?}", tree.engine_spaces);
    zk.stop();
}

/// A CA and certificates for 127.0.0.1, as PEM files in `dir`.
struct Pki {
    ca: std::path::PathBuf,
    other_ca: std::path::PathBuf,
    server: std::path::PathBuf,
    client_cert: std::path::PathBuf,
    client_key: std::path::PathBuf,
}

fn pki(dir: &Path) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca = |name: &str| {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    };
    let issuer = ca("kyuubi-reaper test CA");
    let other = ca("another CA");
    let leaf = |name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf("zookeeper");
    let (client_cert, client_key) = leaf("kyuubi-reaper");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    Pki {
        ca: write("ca.pem", &issuer.pem()),
        other_ca: write("other-ca.pem", &other.pem()),
        server: write("server.pem", &format!("{server_cert}{server_key}")),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client.key", &client_key),
    }
}

#[test]
fn tls_with_client_certificates() {
    let certs = tempfile::tempdir().unwrap();
    let pki = pki(certs.path());
    let secure = free_ports(1)[0];
    let mut zk = ZkServer::with_config(&format!(
        "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
         secureClientPort={secure}\nsecureClientPortAddress=127.0.0.1\n\
         ssl.keyStore.location={}\nssl.keyStore.type=PEM\n\
         ssl.trustStore.location={}\nssl.trustStore.type=PEM\nssl.clientAuth=need\n",
        pki.server.display(),
        pki.ca.display()
    ));
    zk.start("");
    zk.py(&["seed"]);
    let held = zk.hold(
        30,
        &json!([reg(
            "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
            "serverUri",
            "1.10.3",
            "",
            "0b5a7c2e-0081",
            "10.0.0.81"
        )]),
    );
    let rt = runtime();
    let ensemble = Ensemble::parse(&format!("127.0.0.1:{secure}")).unwrap();
    let tls = |ca: &Path, client: bool| LiveOptions {
        tls: Some(TlsFiles {
            ca: ca.to_path_buf(),
            cert: client.then(|| pki.client_cert.clone()),
            key: client.then(|| pki.client_key.clone()),
        }),
        ..options(Duration::from_secs(5))
    };

    let tree = rt
        .block_on(read(&ensemble, &kyuubi(), &tls(&pki.ca, true)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tree.server, format!("127.0.0.1:{secure}"));
    let regs = tree_registrations(&tree);
    assert_eq!(
        regs[&held.paths[0]],
        ("0b5a7c2e-0081".to_string(), held.session)
    );
    assert_same_as_kazoo(&tree, &zk.dump());

    for (what, opts, expect) in [
        (
            "a CA that did not sign the server's certificate",
            tls(&pki.other_ca, true),
            "UnknownIssuer",
        ),
        (
            "no client certificate",
            tls(&pki.ca, false),
            "TLS handshake failed",
        ),
    ] {
        let t = Instant::now();
        let e = rt.block_on(read(&ensemble, &kyuubi(), &opts)).unwrap_err();
        let text = e.to_string();
        assert!(
            t.elapsed() < Duration::from_secs(7),
            "{what}: {:?}",
            t.elapsed()
        );
        assert!(
            matches!(e, LiveError::TlsHandshake { .. }),
            "{what}: {text}"
        );
        assert!(text.contains(expect), "{what}: {text}");
    }
    // Plain text to the TLS port.
    let e = rt
        .block_on(read(&ensemble, &kyuubi(), &options(Duration::from_secs(2))))
        .unwrap_err();
    assert!(matches!(e, LiveError::Connect { .. }), "{e}");
    held.close();
    zk.stop();
}

/// The binary's `scan --zk` judges like `scan --zk-snapshot` of the same state, and fails in
/// bounded time, naming the ensemble, when no server answers.
#[test]
fn scan_with_a_live_ensemble_judges_like_the_data_directory() {
    let mut zk = ZkServer::new();
    zk.start("");
    let held = zk.hold(
        30,
        &json!([
            reg(
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
                "serverUri",
                "1.10.3",
                "",
                "alice-live",
                "10.0.0.91"
            ),
            reg(
                "/kyuubi_1.8.0_CONNECTION_SPARK_SQL/amy/amy-live",
                "serviceUri",
                "1.8.0",
                "",
                "amy-live",
                "10.0.0.92"
            ),
        ]),
    );
    let stopped = zk.hold(
        30,
        &json!([reg(
            "/kyuubi_1.10.3_USER_SPARK_SQL/dave/default",
            "serverUri",
            "1.10.3",
            "",
            "dave-stopped",
            "10.0.0.93"
        )]),
    );
    stopped.close();
    let dir = tempfile::tempdir().unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[
            driver("spark-adhoc", "alice-live", "Running", ago(120), None),
            driver("spark-adhoc", "amy-live", "Running", ago(120), None),
            driver(
                "spark-adhoc",
                "dave-stopped",
                "Succeeded",
                ago(120),
                Some(ago(60)),
            ),
            driver("spark-adhoc", "carol-never", "Running", ago(120), None),
        ],
    );
    let pods_arg = pods.display().to_string();
    let data_arg = zk.dir.path().join("data").display().to_string();
    let hosts = zk.hosts();
    let scan = |state: &[&str]| {
        let mut args = vec!["scan", "-o", "json", "--pods", &pods_arg];
        args.extend_from_slice(state);
        reaper(args).run_within(Duration::from_secs(60))
    };
    let from_files = scan(&["--zk-snapshot", &data_arg]);
    let live = scan(&["--zk", &hosts]);
    assert_eq!(
        (live.code, verdicts(&live.json())),
        (from_files.code, verdicts(&from_files.json())),
        "live: {}\nfiles: {}",
        live.stderr,
        from_files.stderr
    );
    let v = verdicts(&live.json());
    assert!(
        v.iter()
            .any(|(name, verdict, _)| name.contains("alice-live") && verdict == "keep"),
        "{v:?}"
    );
    held.close();
    zk.stop();

    let t = Instant::now();
    let out = reaper([
        "scan",
        "-o",
        "json",
        "--pods",
        &pods_arg,
        "--zk",
        &hosts,
        "--zk-timeout",
        "2s",
    ])
    .run_within(Duration::from_secs(30))
    .code(2);
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(out.stderr.contains(&hosts), "{}", out.stderr);
}

/// `watch --zk` end to end: an engine whose session is alive keeps its finished pod; the
/// session closes and ZooKeeper's watch brings the change (resync is an hour away), so the pod
/// goes, once; the server stops and the service says so in `/readyz` and deletes nothing.
#[test]
fn watch_over_a_live_ensemble_follows_its_sessions() {
    let mut zk = ZkServer::new();
    zk.start("");
    let registration = |tag: &str, ip: &str| {
        reg(
            &format!("/kyuubi_1.10.3_USER_SPARK_SQL/{tag}/default"),
            "serverUri",
            "1.10.3",
            "",
            tag,
            ip,
        )
    };
    let bystanders: Vec<String> = (0..4).map(|i| format!("live{i}")).collect();
    let held = zk.hold(
        30,
        &Value::Array(
            bystanders
                .iter()
                .enumerate()
                .map(|(i, tag)| registration(tag, &format!("10.0.0.{}", 10 + i)))
                .collect(),
        ),
    );
    let ending = zk.hold(30, &json!([registration("ending", "10.0.0.20")]));
    let later = zk.hold(30, &json!([registration("later", "10.0.0.21")]));
    let mut pods = vec![
        driver("spark", "ending", "Succeeded", ago(120), Some(ago(60))),
        driver("spark", "later", "Succeeded", ago(120), Some(ago(60))),
    ];
    for tag in &bystanders {
        pods.push(driver("spark", tag, "Running", ago(120), None));
    }
    let world =
        crate::watch::World::new(pods, &crate::world::Store::new(crate::world::Layout::V1_11));
    let hosts = zk.hosts();
    let service = world.watch_over(&["--zk", &hosts], &["--zk-timeout", "3s", "--resync", "1h"]);
    service.wait(Duration::from_secs(20), || service.ready());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        world.deletes_of("ending").is_empty(),
        "kept while registered"
    );

    ending.close();
    service.wait(Duration::from_secs(15), || world.deleted("spark", "ending"));
    assert_eq!(world.deletes_of("ending").len(), 1);
    assert!(world.deletes_of("later").is_empty(), "still registered");

    // The server goes: not ready, naming it; the registration that held `later` is gone with
    // it, but no state means no delete.
    zk.stop();
    service.wait(Duration::from_secs(20), || {
        let (code, body) = service.get("/readyz");
        code == 503 && body.contains(&hosts)
    });
    drop(later);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        world.deletes_of("later").is_empty(),
        "nothing is deleted without a state: {}",
        service.log()
    );
    for tag in &bystanders {
        assert!(world.deletes_of(tag).is_empty());
    }
    held.close();
    assert_eq!(service.stop(), 0);
}
