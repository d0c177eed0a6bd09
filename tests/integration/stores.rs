//! `scan` over metadata store files of every Kyuubi layout: verdicts, merging, read-only
//! guarantees while Kyuubi holds the file, and clear errors for bad files.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::harness::reaper;
use crate::world::{
    EngineInfo, Layout, Store, ago, batch, dir_snapshot, driver, verdicts, write_pods,
};

fn scan(stores: &[&Path], pods: &Path, extra: &[&str]) -> crate::harness::Outcome {
    let mut args: Vec<String> = vec!["scan".into(), "-o".into(), "json".into()];
    for s in stores {
        args.push("--store".into());
        args.push(s.display().to_string());
    }
    args.push("--pods".into());
    args.push(pods.display().to_string());
    args.extend(extra.iter().map(|s| (*s).to_string()));
    reaper(args).run()
}

fn pod_verdict(report: &Value, tag: &str) -> (String, String) {
    let name = format!("kyuubi-job-{tag}-driver");
    verdicts(report)
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map_or_else(|| panic!("no pod {name} in report"), |(_, v, c)| (v, c))
}

/// The same world in every layout; what each layout can record decides the verdicts.
#[test]
fn every_kyuubi_layout_loads_and_judges() {
    for layout in [Layout::V1_7, Layout::V1_8, Layout::V1_11, Layout::Minimal] {
        let dir = tempfile::tempdir().unwrap();
        let mut peer = batch("e-peer", "RUNNING", "etl");
        peer.peer_instance_closed = true;
        let mut cancelled = batch("c-cancel", "CANCELED", "etl");
        cancelled.ended = Some(ago(120));
        let mut store = Store::new(layout)
            .batch(batch("a-done", "FINISHED", "etl"))
            .batch(batch("b-running", "RUNNING", "etl"))
            .batch(cancelled)
            .batch(batch("d-pending", "PENDING", "etl"))
            .batch(peer);
        if layout.has_engine_info() {
            store = store.engine_info(EngineInfo {
                tag: "f-interactive".into(),
                namespace: Some("etl".into()),
                pod_name: "kyuubi-job-f-interactive-driver".into(),
                pod_state: "Succeeded",
                engine_state: "FINISHED",
                updated: ago(60),
            });
        }
        let store = store.write(&dir.path().join("kyuubi_state_store.db"));
        let pods = write_pods(
            &dir.path().join("pods.json"),
            &[
                driver("etl", "a-done", "Succeeded", ago(200), Some(ago(120))),
                driver("etl", "b-running", "Succeeded", ago(200), Some(ago(120))),
                driver("etl", "c-cancel", "Running", ago(200), None),
                driver("etl", "d-pending", "Pending", ago(200), None),
                driver("etl", "e-peer", "Failed", ago(200), Some(ago(150))),
                driver("etl", "f-interactive", "Succeeded", ago(200), Some(ago(70))),
                driver("etl", "g-unknown", "Succeeded", ago(200), Some(ago(70))),
            ],
        );
        let out = scan(&[&store], &pods, &["--require-record"]).code(0);
        let report = out.json();
        let minimal = layout == Layout::Minimal;
        let expect = |tag: &str, verdict: &str, class: &str| {
            assert_eq!(
                pod_verdict(&report, tag),
                (verdict.to_string(), class.to_string()),
                "{layout:?}, pod {tag}"
            );
        };
        expect("a-done", "orphan", "terminated");
        expect("b-running", "keep", "batch-active");
        expect("d-pending", "keep", "batch-active");
        if minimal {
            // No end_time and no peer_instance_closed column: nothing proves these ended.
            expect("c-cancel", "keep", "no-evidence");
            expect("e-peer", "keep", "batch-active");
        } else {
            expect("c-cancel", "suspect", "leaked-running");
            expect("e-peer", "orphan", "terminated");
        }
        if layout.has_engine_info() {
            expect("f-interactive", "orphan", "terminated");
        } else {
            expect("f-interactive", "keep", "no-terminal-record");
        }
        expect("g-unknown", "keep", "no-terminal-record");
        let layout_name = report["sources"][0]["layout"].as_str().unwrap().to_string();
        let expected_layout = match layout {
            Layout::V1_7 => "1.7 (metadata)",
            Layout::V1_8 => "1.8-1.10 (metadata)",
            Layout::V1_11 => "1.11+ (metadata, k8s_engine_info)",
            Layout::Minimal => "1.6 or older (metadata)",
        };
        assert_eq!(layout_name, expected_layout);
        assert_eq!(report["sources"][0]["batches"], 5);
    }
}

/// What each Kyuubi version writes into `request_conf` decides which rows apply to a pod.
#[test]
fn request_conf_of_each_version_scopes_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    // 1.7: no Kubernetes keys at all; the row applies anywhere.
    let mut v17 = batch("v17", "FINISHED", "etl");
    v17.request_conf = json!({"spark.master": "k8s://https://k:443"});
    // 1.8: Spark's namespace only.
    let mut v18 = batch("v18", "FINISHED", "etl");
    v18.request_conf = json!({"spark.kubernetes.namespace": "etl"});
    // 1.10: the driver pod name too, naming a different pod than the one with this tag.
    let mut v110 = batch("v110", "FINISHED", "etl");
    v110.request_conf = json!({"kyuubi.kubernetes.namespace": "etl",
        "spark.kubernetes.driver.pod.name": "kyuubi-job-someone-else-driver"});
    // Recorded for another namespace than the pod is in.
    let wrong_ns = batch("wrongns", "FINISHED", "analytics");
    // request_conf that is not JSON: scope unknown, with a warning.
    let mut garbage = batch("garbage", "FINISHED", "etl");
    garbage.request_conf = json!("{not json");
    let store = Store::new(Layout::V1_8)
        .batch(v17)
        .batch(v18)
        .batch(v110)
        .batch(wrong_ns)
        .batch(garbage)
        .write(&dir.path().join("s.db"));
    let pods: Vec<Value> = ["v17", "v18", "v110", "wrongns", "garbage"]
        .iter()
        .map(|t| driver("etl", t, "Succeeded", ago(300), Some(ago(200))))
        .collect();
    let pods = write_pods(&dir.path().join("pods.json"), &pods);
    let out = scan(&[&store], &pods, &["--require-record"]).code(0);
    let report = out.json();
    assert_eq!(pod_verdict(&report, "v17").0, "orphan");
    assert_eq!(pod_verdict(&report, "v18").0, "orphan");
    assert_eq!(
        pod_verdict(&report, "v110"),
        ("keep".into(), "no-terminal-record".into())
    );
    assert_eq!(
        pod_verdict(&report, "wrongns"),
        ("keep".into(), "no-terminal-record".into())
    );
    assert_eq!(pod_verdict(&report, "garbage").0, "orphan");
    let warnings = report["sources"][0]["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("garbage: request_conf is not a JSON object")),
        "{warnings:?}"
    );
    assert!(
        out.stderr.contains("request_conf is not a JSON object"),
        "{}",
        out.stderr
    );
}

/// Several stores merge; a live row anywhere keeps the pod, whatever a stale copy says.
#[test]
fn stores_merge_and_a_live_row_anywhere_wins() {
    let dir = tempfile::tempdir().unwrap();
    let stale = Store::new(Layout::V1_8)
        .batch(batch("x", "FINISHED", "etl"))
        .batch(batch("y", "FINISHED", "etl"))
        .write(&dir.path().join("stale.db"));
    let live = Store::new(Layout::V1_11)
        .batch(batch("x", "RUNNING", "etl"))
        .batch(batch("z", "ERROR", "etl"))
        .write(&dir.path().join("live.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[
            driver("etl", "x", "Succeeded", ago(300), Some(ago(200))),
            driver("etl", "y", "Succeeded", ago(300), Some(ago(200))),
            driver("etl", "z", "Failed", ago(300), Some(ago(200))),
        ],
    );
    for order in [[&stale, &live], [&live, &stale]] {
        let report = scan(&[order[0], order[1]], &pods, &[]).code(0).json();
        assert_eq!(
            pod_verdict(&report, "x"),
            ("keep".into(), "batch-active".into())
        );
        assert_eq!(pod_verdict(&report, "y").0, "orphan");
        assert_eq!(pod_verdict(&report, "z").0, "orphan");
        let x = report["pods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["tag"] == "x")
            .unwrap();
        let batches = x["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "batch")
            .count();
        assert_eq!(batches, 2, "both rows are shown as evidence");
        assert!(
            x["reason"].as_str().unwrap().contains("live.db"),
            "{}",
            x["reason"]
        );
    }
}

/// A store last written before a pod was created cannot judge it (rule 4).
#[test]
fn a_store_older_than_the_pod_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("old", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&store)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[
            driver("etl", "new", "Succeeded", ago(30), Some(ago(20))),
            driver("etl", "old", "Succeeded", ago(300), Some(ago(200))),
        ],
    );
    let report = scan(&[&store], &pods, &[]).code(0).json();
    assert_eq!(
        pod_verdict(&report, "new"),
        ("keep".into(), "state-older-than-pod".into())
    );
    assert_eq!(pod_verdict(&report, "old").0, "orphan");
}

/// The store directory is byte-for-byte and mtime-for-mtime the same after a scan: no write,
/// no journal, no WAL or shared-memory file left behind.
#[test]
fn the_store_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("kyuubi");
    std::fs::create_dir(&state_dir).unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("a", "FINISHED", "etl"))
        .batch(batch("b", "RUNNING", "etl"))
        .write(&state_dir.join("kyuubi_state_store.db"));
    let old = SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&store)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(3000), Some(ago(2000)))],
    );
    let before = dir_snapshot(&state_dir);
    scan(&[&store], &pods, &[]).code(0);
    scan(&[&store], &pods, &["-o", "table"]).code(0);
    assert_eq!(dir_snapshot(&state_dir), before);
}

/// Kyuubi holds the file open and is in the middle of a write transaction: the scan reads the
/// last committed state without waiting for it, and without disturbing it.
#[test]
fn reads_while_kyuubi_holds_an_uncommitted_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("a", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[
            driver("etl", "a", "Succeeded", ago(3000), Some(ago(2000))),
            driver("etl", "b", "Succeeded", ago(3000), Some(ago(2000))),
        ],
    );
    let kyuubi = rusqlite::Connection::open(&store).unwrap();
    kyuubi.execute_batch("BEGIN IMMEDIATE").unwrap();
    kyuubi
        .execute(
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, create_time, engine_type) \
             VALUES ('b', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK')",
            [],
        )
        .unwrap();
    let report = scan(&[&store], &pods, &[]).code(0).json();
    assert_eq!(pod_verdict(&report, "a").0, "orphan");
    assert_eq!(
        pod_verdict(&report, "b").1,
        "terminated",
        "the uncommitted row is not visible"
    );
    kyuubi.execute_batch("COMMIT").unwrap();
    let report = scan(&[&store], &pods, &[]).code(0).json();
    assert_eq!(
        pod_verdict(&report, "b"),
        ("keep".into(), "batch-active".into())
    );
}

/// Kyuubi holds an exclusive lock (committing) for a while: the scan waits and then succeeds.
#[test]
fn waits_for_kyuubi_to_release_an_exclusive_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_8)
        .batch(batch("a", "RUNNING", "etl"))
        .write(&dir.path().join("s.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(3000), Some(ago(2000)))],
    );
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let path = store.clone();
    let writer = std::thread::spawn(move || {
        let kyuubi = rusqlite::Connection::open(&path).unwrap();
        kyuubi.execute_batch("BEGIN EXCLUSIVE").unwrap();
        kyuubi
            .execute(
                "UPDATE metadata SET state = 'FINISHED', end_time = 1000 WHERE identifier = 'a'",
                [],
            )
            .unwrap();
        locked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        kyuubi.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    let started = std::time::Instant::now();
    let report = scan(&[&store], &pods, &[]).code(0).json();
    writer.join().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "the scan waited for the lock"
    );
    assert_eq!(
        pod_verdict(&report, "a").0,
        "orphan",
        "it read the committed update"
    );
}

/// Bad store files: exit 2, a message naming the file and the problem, nothing on stdout.
#[test]
fn bad_store_files_are_input_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pods = write_pods(
        &d.join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(300), Some(ago(200)))],
    );
    std::fs::write(d.join("text.db"), "this is not a database, just text\n").unwrap();
    std::fs::write(d.join("empty.db"), "").unwrap();
    let unrelated = rusqlite::Connection::open(d.join("unrelated.db")).unwrap();
    unrelated
        .execute_batch("CREATE TABLE things(id INTEGER)")
        .unwrap();
    drop(unrelated);
    let no_state = rusqlite::Connection::open(d.join("nostate.db")).unwrap();
    no_state
        .execute_batch("CREATE TABLE metadata(identifier TEXT)")
        .unwrap();
    drop(no_state);
    let mut big = Store::new(Layout::V1_11);
    for i in 0..3000 {
        big = big.batch(batch(&format!("tag-{i:05}"), "FINISHED", "etl"));
    }
    let big = big.write(&d.join("big.db"));
    let bytes = std::fs::read(&big).unwrap();
    std::fs::write(d.join("truncated.db"), &bytes[..bytes.len() / 2]).unwrap();
    let mut scribbled = bytes.clone();
    for b in &mut scribbled[8192..bytes.len() - 8192] {
        *b = 0x5a;
    }
    std::fs::write(d.join("scribbled.db"), scribbled).unwrap();
    std::fs::create_dir(d.join("adir.db")).unwrap();

    let cases = [
        ("missing.db", "no such file"),
        ("adir.db", "not a regular file"),
        ("text.db", "not an SQLite database"),
        ("empty.db", "no `metadata` table"),
        ("unrelated.db", "no `metadata` table"),
        ("nostate.db", "has no `state` column"),
        ("truncated.db", "truncated"),
        ("scribbled.db", "corrupt"),
    ];
    for (file, problem) in cases {
        let path = d.join(file);
        let out = scan(&[&path], &pods, &[]).code(2);
        assert!(out.stdout.is_empty(), "{file}: stdout {}", out.stdout);
        let expected = format!("error: cannot load metadata store {}: ", path.display());
        assert!(out.stderr.starts_with(&expected), "{file}: {}", out.stderr);
        assert!(out.stderr.contains(problem), "{file}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{file}: {}", out.stderr);
    }
}

/// A store that knows no engine at all while candidate pods exist is refused (exit 5) unless
/// the user says an empty state is expected.
#[test]
fn an_empty_state_is_refused_by_the_safety_gate() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_11).write(&dir.path().join("fresh.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(300), Some(ago(200)))],
    );
    let out = scan(&[&store], &pods, &[]).code(5);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("refused: the state sources"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--allow-empty-state"), "{}", out.stderr);
    let report = scan(&[&store], &pods, &["--allow-empty-state"])
        .code(0)
        .json();
    assert_eq!(pod_verdict(&report, "a").0, "orphan");
    // No candidate pods: nothing to refuse.
    let none = write_pods(&dir.path().join("none.json"), &[]);
    scan(&[&store], &none, &[]).code(0);
}
