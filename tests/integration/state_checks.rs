//! The source health gate and the inputs around it, end to end: what counts as a state source,
//! clocks that would defeat rule 4, duplicate pods, kubeconfig errors, and messages that say
//! what is really wrong.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::harness::{data, reaper};
use crate::world::{Layout, Store, ago, batch, driver, set_mtime, verdicts, write_pods};

fn sample_pods() -> String {
    data("sample/pods.json")
}

fn sample_store() -> String {
    data("sample/kyuubi_state_store.db")
}

/// A store with one finished batch `done` (and a pod file with its Succeeded driver, finished
/// an hour ago), whose modification time is set to `mtime`.
fn finished_world(dir: &Path, mtime: SystemTime, pod_created: Timestamp) -> (PathBuf, PathBuf) {
    let dir = &tempfile::tempdir_in(dir).unwrap().keep();
    let store = Store::new(Layout::V1_8)
        .batch(batch("done", "FINISHED", "etl"))
        .write(&dir.join("kyuubi_state_store.db"));
    set_mtime(&store, mtime);
    let pods = write_pods(
        &dir.join("pods.json"),
        &[driver(
            "etl",
            "done",
            "Succeeded",
            pod_created,
            Some(ago(60)),
        )],
    );
    (store, pods)
}

fn scan_json(store: &Path, pods: &Path) -> crate::harness::Outcome {
    reaper([
        "scan",
        "-o",
        "json",
        "--store",
        &store.display().to_string(),
        "--pods",
        &pods.display().to_string(),
    ])
    .run()
}

#[test]
fn only_state_sources_count_as_state_sources() {
    let pods = sample_pods();
    // Options that qualify a source are not a source.
    for extra in [
        vec!["--allow-empty-state"],
        vec!["--ha-namespace", "kyuubi"],
        vec!["--max-state-age", "2h"],
    ] {
        let mut args = vec!["scan", "--pods", pods.as_str()];
        args.extend(extra.iter().copied());
        let out = reaper(&args).run().code(2);
        assert!(
            out.stderr.contains("--store") && out.stderr.contains("--zk-snapshot"),
            "{extra:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{extra:?}: nothing judged");
    }
}

#[test]
fn a_store_modified_in_the_future_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let future = SystemTime::now() + Duration::from_secs(3600);
    let (store, pods) = finished_world(dir.path(), future, ago(2 * 24 * 60));
    let out = scan_json(&store, &pods).code(5);
    assert!(
        out.stderr.contains("ahead of the local clock") && out.stderr.contains("59m"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("kyuubi_state_store.db"),
        "{}",
        out.stderr
    );
    // Within the tolerance (NTP-synchronised hosts), the store judges.
    let near = SystemTime::now() + Duration::from_secs(20);
    let (store, pods) = finished_world(dir.path(), near, ago(2 * 24 * 60));
    let report = scan_json(&store, &pods).code(0).json();
    assert_eq!(verdicts(&report)[0].1, "orphan");
}

#[test]
fn a_pod_stamped_in_the_second_of_the_stores_mtime_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    // The store was modified at X.900; the pod's creation time (whole seconds) is X: it may
    // have been created at X.950, after the store was last written.
    let x = Timestamp::now() - SignedDuration::from_mins(30);
    let x = Timestamp::from_second(x.as_second()).unwrap();
    let mtime = SystemTime::from(x) + Duration::from_millis(900);
    let (store, pods) = finished_world(dir.path(), mtime, x);
    let report = scan_json(&store, &pods).code(0).json();
    let (_, verdict, class) = &verdicts(&report)[0];
    assert_eq!(
        (verdict.as_str(), class.as_str()),
        ("keep", "state-older-than-pod")
    );
    // A second earlier it was certainly created before.
    let (store, pods) = finished_world(dir.path(), mtime, x - SignedDuration::from_secs(1));
    let report = scan_json(&store, &pods).code(0).json();
    assert_eq!(verdicts(&report)[0].1, "orphan");
}

fn duplicate_file(dir: &Path, second: Value) -> PathBuf {
    let first = driver("etl", "done", "Succeeded", ago(120), Some(ago(60)));
    write_pods(&dir.join("pods.json"), &[first, second])
}

#[test]
fn duplicate_pods_in_a_pod_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_8)
        .batch(batch("done", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let store = store.display().to_string();
    // The same namespace/name, another phase: which one is current?
    let running = driver("etl", "done", "Running", ago(120), None);
    let mut running_other_uid = running.clone();
    running_other_uid["metadata"]["uid"] = "uid-other".into();
    let pods = duplicate_file(dir.path(), running_other_uid);
    let out = reaper([
        "scan",
        "-o",
        "name",
        "--store",
        &store,
        "--pods",
        &pods.display().to_string(),
    ])
    .run()
    .code(2);
    assert!(
        out.stderr.contains("items[0] and items[1]")
            && out.stderr.contains("pod etl/kyuubi-job-done-driver"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no name printed: {}", out.stdout);
    // The same uid under another name.
    let mut renamed = running;
    renamed["metadata"]["name"] = "renamed-driver".into();
    let pods = duplicate_file(dir.path(), renamed);
    let out = reaper([
        "scan",
        "--store",
        &store,
        "--pods",
        &pods.display().to_string(),
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("uid uid-done"), "{}", out.stderr);
}

#[test]
fn kubeconfig_problems_are_input_errors_wherever_the_path_came_from() {
    let store = sample_store();
    let out = reaper(["scan", "--store", &store])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .run()
        .code(2);
    assert!(
        out.stderr.contains("/nonexistent/kubeconfig"),
        "{}",
        out.stderr
    );
    let out = reaper(["scan", "--store", &store, "--kubeconfig", "/nonexistent/kc"])
        .run()
        .code(2);
    assert!(out.stderr.contains("/nonexistent/kc"), "{}", out.stderr);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("config");
    std::fs::write(&broken, "apiVersion: v1\nkind: Config\nclusters: [oops\n").unwrap();
    let out = reaper(["scan", "--store", &store])
        .env("KUBECONFIG", &broken.display().to_string())
        .run()
        .code(2);
    assert!(out.stderr.contains("kubeconfig"), "{}", out.stderr);
}

#[test]
fn duration_flags_say_what_is_wrong() {
    let (store, pods) = (sample_store(), sample_pods());
    let run = |value: &str| {
        reaper([
            "scan", "--store", &store, "--pods", &pods, "--retain", value,
        ])
        .run()
        .code(2)
        .stderr
    };
    let negative = run("-5m");
    assert!(negative.contains("negative"), "{negative}");
    assert!(!negative.contains("unexpected argument"), "{negative}");
    let year = run("P1Y");
    assert!(
        year.contains("years or months") && year.contains("P365D"),
        "{year}"
    );
    assert!(
        !year.contains("relative reference"),
        "no library internals: {year}"
    );
}

#[test]
fn a_record_for_another_namespace_is_not_called_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_8)
        .batch(batch("moved", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver(
            "adhoc",
            "moved",
            "Succeeded",
            ago(120),
            Some(ago(60)),
        )],
    );
    let report = scan_json(&store, &pods).code(0).json();
    let reason = report["pods"][0]["reason"].as_str().unwrap();
    assert!(!reason.contains("no Kyuubi record"), "{reason}");
    assert!(reason.contains("recorded namespace etl"), "{reason}");
}

fn zk_scan(snapshot: &str, extra: &[&str]) -> crate::harness::Outcome {
    let (snapshot, pods) = (data(snapshot), sample_pods());
    let mut args = vec![
        "scan",
        "-o",
        "json",
        "--zk-snapshot",
        snapshot.as_str(),
        "--pods",
        pods.as_str(),
        // The fixture is years old; its age is not what these tests are about.
        "--max-state-age",
        "100000d",
    ];
    args.extend(extra.iter().copied());
    reaper(args).run()
}

#[test]
fn an_ha_namespace_that_matches_no_engine_space_is_refused_naming_what_exists() {
    let out = zk_scan("zk-3.8.0/snapshot.92", &["--ha-namespace", "kyuubii"]).code(5);
    assert!(
        out.stderr.contains("--ha-namespace kyuubii")
            && out.stderr.contains("/kyuubi_1.9.0_USER_SPARK_SQL")
            && out.stderr.contains("e.g. --ha-namespace kyuubi)"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing judged");
    // A chroot left out is the same mistake the other way round.
    let out = zk_scan("zk-3.8.0/snapshot.92", &["--ha-namespace", "prod/kyuubi"]).code(5);
    assert!(
        out.stderr.contains("/kyuubi_1.9.0_GROUP_SPARK_SQL"),
        "{}",
        out.stderr
    );
    // The right one, among others, is accepted.
    zk_scan(
        "zk-3.8.0/snapshot.92",
        &["--ha-namespace", "kyuubii", "--ha-namespace", "kyuubi"],
    )
    .code(0);
}

#[test]
fn a_tree_without_engine_spaces_is_said_and_never_calls_an_engine_unregistered() {
    // snapshot.0 is an empty tree; the store's rows satisfy the empty-state gate.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Layout::V1_8)
        .batch(batch("other", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    set_mtime(&store, SystemTime::from(ago(1)));
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("adhoc", "interactive", "Running", ago(120), None)],
    );
    let out = reaper([
        "scan",
        "-o",
        "json",
        "--zk-snapshot",
        &data("zk-3.8.0/snapshot.0"),
        "--store",
        &store.display().to_string(),
        "--pods",
        &pods.display().to_string(),
        "--max-state-age",
        "100000d",
        "--include",
        "unregistered-running",
    ])
    .run()
    .code(0);
    assert!(
        out.stderr.contains("holds no Kyuubi engine space"),
        "{}",
        out.stderr
    );
    let report = out.json();
    let (_, verdict, class) = &verdicts(&report)[0];
    assert_eq!(verdict, "keep", "{class}");
    assert_ne!(class, "unregistered-running");
}
