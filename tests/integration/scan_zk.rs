//! `scan --zk-snapshot` end to end: a real ZooKeeper server holds Kyuubi engine registrations
//! (some sessions alive, one expired, one closed), a store holds batches, and the binary judges
//! the pods from ZooKeeper's files: the data directory while the server runs (log replay), and
//! the snapshot the server writes when it restarts.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::reaper;
use crate::world::{Layout, Store, ago, batch, driver, verdicts, write_pods};
use crate::zk_tools::{ZkServer, wait_until};

/// What Kyuubi 1.10+ puts into `kyuubi.engine.appMgrInfo`.
fn app_mgr_info(namespace: &str) -> String {
    let json = format!(
        r#"{{"resourceManager":"k8s://https://kubernetes.default.svc:443","kubernetesInfo":{{"context":null,"namespace":"{namespace}"}}}}"#
    );
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// An engine registration as Kyuubi creates it (`EPHEMERAL_SEQUENTIAL`, attributes in the
/// name, `host:port` as data): `serverUri=` since 1.8.1, `serviceUri=` before.
fn engine(space: &str, user: &str, leaf: &str, tag: &str, ip: &str, version: &str) -> Value {
    let uri = if version == "1.8.0" {
        "serviceUri"
    } else {
        "serverUri"
    };
    let mut attributes = format!(
        "kyuubi.engine.id=spark-{};kyuubi.engine.url={ip}:4040;",
        tag.replace('-', "")
    );
    if version != "1.8.0" {
        attributes.push_str("spark.driver.memory=2g;spark.executor.memory=4g;");
        attributes = format!(
            "{attributes}kyuubi.engine.appMgrInfo={};",
            app_mgr_info("spark-adhoc")
        );
    }
    json!({
        "dir": format!("/kyuubi_{version}_{space}/{user}/{leaf}"),
        "name": format!("{uri}={ip}:40123;version={version};{attributes}refId={tag};sequence="),
        "data": format!("{ip}:40123"),
    })
}

fn scan(state: &[&str], pods: &Path, extra: &[&str]) -> crate::harness::Outcome {
    let mut args = vec!["scan".to_string(), "-o".into(), "json".into()];
    args.extend(state.iter().map(|s| (*s).to_string()));
    args.extend(["--pods".into(), pods.display().to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_string()));
    reaper(args).run()
}

fn by_tag(report: &Value) -> Vec<(String, String, String)> {
    let names = verdicts(report);
    names
        .into_iter()
        .map(|(name, v, c)| {
            let tag = name
                .trim_start_matches("kyuubi-job-")
                .trim_end_matches("-driver")
                .to_string();
            (tag, v, c)
        })
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)]
fn scan_judges_interactive_engines_from_zookeeper_and_batches_from_the_store() {
    let mut zk = ZkServer::new();
    zk.start("");
    // Engines alive for the whole test: a USER engine (1.10.3) and a CONNECTION engine whose
    // server still used the 1.8.0 naming.
    let alive = zk.hold(
        30,
        &json!([
            engine(
                "USER_SPARK_SQL",
                "alice",
                "default",
                "alice-live",
                "10.244.1.11",
                "1.10.3"
            ),
            engine(
                "CONNECTION_SPARK_SQL",
                "amy",
                "amy-done-but-live",
                "amy-done-but-live",
                "10.244.1.12",
                "1.8.0"
            ),
        ]),
    );
    // An engine whose process died: its session expires (4 s, the server's minimum).
    let dying = zk.hold(
        4,
        &json!([engine(
            "USER_SPARK_SQL",
            "bob",
            "default",
            "bob-expired",
            "10.244.1.13",
            "1.10.3"
        )]),
    );
    let dying_path = dying.paths[0].clone();
    // An engine that stopped cleanly: its registration is deleted with its session.
    let stopped = zk.hold(
        30,
        &json!([engine(
            "USER_SPARK_SQL",
            "dave",
            "default",
            "dave-stopped",
            "10.244.1.14",
            "1.10.3"
        )]),
    );
    stopped.close();
    dying.kill();
    wait_until("the dead engine's session to expire", 60, || {
        !zk.dump().contains_key(&dying_path)
    });

    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("batch-running", "RUNNING", "spark-adhoc"))
        .batch(batch("batch-done", "FINISHED", "spark-adhoc"))
        .write(&dir.path().join("kyuubi_state_store.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[
            driver("spark-adhoc", "alice-live", "Running", ago(120), None),
            driver(
                "spark-adhoc",
                "amy-done-but-live",
                "Succeeded",
                ago(120),
                Some(ago(60)),
            ),
            driver("spark-adhoc", "bob-expired", "Running", ago(120), None),
            driver("spark-adhoc", "carol-never", "Running", ago(120), None),
            driver(
                "spark-adhoc",
                "dave-stopped",
                "Succeeded",
                ago(120),
                Some(ago(60)),
            ),
            driver("spark-adhoc", "batch-running", "Running", ago(120), None),
            driver(
                "spark-adhoc",
                "batch-done",
                "Succeeded",
                ago(120),
                Some(ago(60)),
            ),
        ],
    );
    let expected = [
        ("alice-live", "keep", "registered"),
        ("amy-done-but-live", "keep", "registered"),
        ("batch-done", "orphan", "terminated"),
        ("batch-running", "keep", "batch-active"),
        ("bob-expired", "suspect", "unregistered-running"),
        ("carol-never", "suspect", "unregistered-running"),
        ("dave-stopped", "orphan", "terminated"),
    ]
    .map(|(t, v, c)| (t.to_string(), v.to_string(), c.to_string()))
    .to_vec();

    // 1. The data directory of the running server: its snapshot plus the replayed log.
    let data_dir = zk.dir.path().join("data");
    let store_arg = store.display().to_string();
    let data_arg = data_dir.display().to_string();
    let out = scan(
        &["--store", &store_arg, "--zk-snapshot", &data_arg],
        &pods,
        &["-v"],
    )
    .code(0);
    let report = out.json();
    assert_eq!(by_tag(&report), expected);
    let zk_source = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "zookeeper")
        .unwrap();
    assert_eq!(zk_source["as_of_from"], "last transaction applied");
    assert_eq!(zk_source["registrations"], 2, "{zk_source}");
    assert_eq!(zk_source["live_registrations"], 2);
    assert!(
        zk_source["files"].as_array().unwrap().len() >= 2,
        "snapshot and log: {zk_source}"
    );
    assert!(
        out.stderr
            .contains("ZooKeeper: 2 engine registrations, 2 live"),
        "{}",
        out.stderr
    );
    let alice_pod = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tag"] == "alice-live")
        .unwrap();
    let registration = alice_pod["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "registration")
        .unwrap();
    assert_eq!(registration["owner"], "live");
    assert_eq!(registration["share_level"], "USER");
    assert_eq!(registration["kyuubi_version"], "1.10.3");
    assert_eq!(registration["namespace"], "spark-adhoc");
    assert_eq!(registration["applies"], true);
    assert_eq!(registration["session"], format!("{:#x}", alive.session));

    // 1b. The same with ZooKeeper's dataLogDir apart from its dataDir: without --zk-log-dir only
    //     the (empty, startup) snapshot is seen, and its age gets it refused.
    let snaps = dir.path().join("zk-data/version-2");
    let logs = dir.path().join("zk-logs/version-2");
    std::fs::create_dir_all(&snaps).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    for entry in std::fs::read_dir(zk.version2()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let to = if name.starts_with("log.") {
            &logs
        } else {
            &snaps
        };
        std::fs::copy(&path, to.join(&name)).unwrap();
    }
    let split_data_arg = snaps.display().to_string();
    let logs_arg = dir.path().join("zk-logs").display().to_string();
    let split = [
        "--store",
        &store_arg,
        "--zk-snapshot",
        &split_data_arg,
        "--zk-log-dir",
        &logs_arg,
    ];
    assert_eq!(by_tag(&scan(&split, &pods, &[]).code(0).json()), expected);
    let out = scan(
        &["--store", &store_arg, "--zk-snapshot", &split_data_arg],
        &pods,
        &[],
    )
    .code(5);
    assert!(
        out.stderr.contains("older than --max-state-age"),
        "{}",
        out.stderr
    );

    // 2. The snapshot alone, as the server writes it when it restarts.
    zk.restart("snappy");
    let snapshot = std::fs::read_dir(zk.version2())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "snappy"))
        .max()
        .expect("a snappy snapshot after the restart");
    let snap_arg = snapshot.display().to_string();
    let report = scan(
        &["--store", &store_arg, "--zk-snapshot", &snap_arg],
        &pods,
        &[],
    )
    .code(0)
    .json();
    assert_eq!(by_tag(&report), expected);

    // 3. ZooKeeper alone (no store): batch pods have no evidence then, and are judged by
    //    ZooKeeper only: the running one looks unregistered.
    let report = scan(&["--zk-snapshot", &data_arg], &pods, &[])
        .code(0)
        .json();
    let got = by_tag(&report);
    assert!(got.contains(&(
        "batch-running".into(),
        "suspect".into(),
        "unregistered-running".into()
    )));
    assert!(got.contains(&("alice-live".into(), "keep".into(), "registered".into())));

    // 4. A stale state is refused before any pod is judged.
    std::thread::sleep(Duration::from_millis(1100));
    let out = scan(
        &["--zk-snapshot", &data_arg],
        &pods,
        &["--max-state-age", "1s"],
    )
    .code(5);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("older than --max-state-age 1s"),
        "{}",
        out.stderr
    );
    drop(alive);
}

#[test]
fn old_zookeeper_files_are_refused_unless_accepted_explicitly() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zk-3.8.0");
    let dir = tempfile::tempdir().unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("ns", "x", "Succeeded", ago(600), Some(ago(500)))],
    );
    let out = scan(
        &["--zk-snapshot", &fixtures.display().to_string()],
        &pods,
        &[],
    )
    .code(5);
    assert!(
        out.stderr
            .contains("refused: the ZooKeeper state of zookeeper"),
        "{}",
        out.stderr
    );
    let report = scan(
        &["--zk-snapshot", &fixtures.display().to_string()],
        &pods,
        &["--max-state-age", "3650d"],
    )
    .code(0)
    .json();
    let source = &report["sources"][0];
    assert_eq!(source["kind"], "zookeeper");
    assert!(
        source["files"][0]
            .as_str()
            .unwrap()
            .ends_with("snapshot.92"),
        "{source}"
    );
}

#[test]
fn a_corrupt_snapshot_is_an_input_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/zk-3.8.0/snapshot.37");
    let mut bytes = std::fs::read(&fixture).unwrap();
    bytes[1000] ^= 0x10;
    let broken = dir.path().join("snapshot.37");
    std::fs::write(&broken, &bytes).unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("ns", "x", "Succeeded", ago(600), Some(ago(500)))],
    );
    let out = scan(
        &["--zk-snapshot", &broken.display().to_string()],
        &pods,
        &["--max-state-age", "3650d"],
    )
    .code(2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.starts_with(&format!(
            "error: cannot load ZooKeeper state {}",
            broken.display()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("at byte"), "{}", out.stderr);
    let truncated = dir.path().join("snapshot.38");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let out = scan(
        &["--zk-snapshot", &truncated.display().to_string()],
        &pods,
        &["--max-state-age", "3650d"],
    )
    .code(2);
    assert!(out.stderr.contains("snapshot.38"), "{}", out.stderr);
}
