//! `scan` against live API servers (the project's `test-apiserver`), end to end through the
//! binary and a generated kubeconfig: pagination, namespaces, two contexts on two servers, the
//! server's clock, authentication errors and retried faults.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use test_apiserver::{
    ClockStart, FaultAction, FaultConfig, FaultRule, KubeconfigOptions, ServerConfig,
};

use crate::cluster::Cluster;
use crate::harness::reaper;
use crate::world::{Layout, Store, batch, driver};

/// The server's clock: far from the machine's, so a scan that used the local clock would judge
/// differently.
fn server_now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn before(minutes: i64) -> Timestamp {
    server_now() - SignedDuration::from_mins(minutes)
}

/// Gives a store the modification time a minute before the server's clock: a store written
/// after the API server's "now" would be refused as a state from the future.
fn last_written_before_the_server_clock(store: std::path::PathBuf) -> std::path::PathBuf {
    crate::world::set_mtime(&store, std::time::SystemTime::from(before(1)));
    store
}

fn fixed_clock(now: Timestamp) -> ServerConfig {
    ServerConfig {
        clock: ClockStart::Fixed(now),
        ..ServerConfig::default()
    }
}

/// An executor pod owned by nobody in particular: never a candidate.
fn executor(namespace: &str, name: &str) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": before(600).to_string(),
                     "labels": {"kyuubi-unique-tag": "x", "spark-app-selector": "spark-x", "spark-role": "executor"}},
        "spec": {"containers": [{"name": "spark-kubernetes-executor", "image": "apache/spark:3.5.3"}]},
        "status": {"phase": "Running"}
    })
}

fn scan_json(args: &[&str]) -> Value {
    let mut all = vec!["scan", "-o", "json"];
    all.extend_from_slice(args);
    reaper(all).run().code(0).json()
}

fn tags_by_verdict(report: &Value, verdict: &str) -> Vec<String> {
    let mut tags: Vec<String> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["verdict"] == verdict)
        .map(|p| p["tag"].as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

#[test]
fn scans_every_namespace_page_by_page_against_the_servers_clock() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(fixed_clock(server_now()));
    // 620 finished drivers over three namespaces: more than one 500-pod page.
    let mut pods = Vec::new();
    for i in 0..620 {
        let ns = ["etl", "adhoc", "ml"][i % 3];
        pods.push(driver(
            ns,
            &format!("done-{i:04}"),
            "Succeeded",
            before(300),
            Some(before(200)),
        ));
    }
    // Finished 5 minutes ago by the server's clock: within the retain period. By the machine's
    // clock (months later) it would be an orphan.
    pods.push(driver(
        "etl",
        "fresh",
        "Succeeded",
        before(30),
        Some(before(5)),
    ));
    pods.push(driver("etl", "live", "Running", before(30), None));
    pods.push(executor("etl", "done-0000-exec-1"));
    cluster.server().seed_pods(pods).unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("live", "RUNNING", "etl"))
        .write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let kubeconfig = cluster.kubeconfig(dir.path(), &KubeconfigOptions::default());
    let k = kubeconfig.display().to_string();
    let s = store.display().to_string();

    let report = scan_json(&["--kubeconfig", &k, "-A", "--store", &s]);
    assert_eq!(report["summary"]["candidates"], 622);
    assert_eq!(report["summary"]["orphans"], 620);
    assert_eq!(tags_by_verdict(&report, "keep"), ["fresh", "live"]);
    let fresh = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tag"] == "fresh")
        .unwrap();
    assert_eq!(fresh["class"], "within-retain");
    assert_eq!(fresh["terminated_seconds_ago"], 300);
    assert_eq!(report["clocks"][0]["from"], "api-server");
    assert_eq!(report["clocks"][0]["now"], server_now().to_string());
    assert_eq!(report["clocks"][0]["context"], "test-apiserver");
    assert!(
        report["pods"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["context"] == "test-apiserver")
    );

    let lists = cluster.lists();
    assert_eq!(lists.len(), 2, "two pages: {lists:?}");
    for list in &lists {
        assert_eq!(list.path, "/api/v1/pods");
        assert_eq!(
            list.param("labelSelector"),
            Some("kyuubi-unique-tag,spark-app-selector,spark-role=driver")
        );
        assert_eq!(list.param("limit"), Some("500"));
    }
    assert_eq!(lists[0].param("continue"), None);
    assert!(lists[1].param("continue").is_some_and(|c| !c.is_empty()));
}

#[test]
fn namespaces_selectors_and_the_contexts_default_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(fixed_clock(server_now()));
    let pods = ["etl", "adhoc", "ml", "default"]
        .iter()
        .map(|ns| {
            driver(
                ns,
                &format!("{ns}-job"),
                "Succeeded",
                before(300),
                Some(before(200)),
            )
        })
        .collect::<Vec<_>>();
    cluster.server().seed_pods(pods).unwrap();
    let store = Store::new(Layout::V1_8)
        .batch(batch("x", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let s = store.display().to_string();
    let with_ns = cluster.kubeconfig(
        dir.path(),
        &KubeconfigOptions {
            context: "spark".into(),
            namespace: Some("ml".into()),
            token: None,
        },
    );
    let k = with_ns.display().to_string();

    // No -n: the context's namespace.
    let report = scan_json(&["--kubeconfig", &k, "--store", &s]);
    assert_eq!(tags_by_verdict(&report, "orphan"), ["ml-job"]);
    // -n twice.
    let report = scan_json(&[
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "-n",
        "etl",
        "-n",
        "adhoc",
    ]);
    assert_eq!(tags_by_verdict(&report, "orphan"), ["adhoc-job", "etl-job"]);
    // An extra selector goes to the server, ANDed with the candidate selector.
    let report = scan_json(&[
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "-A",
        "-l",
        "spark-app-name=job,!canary",
    ]);
    assert_eq!(report["summary"]["candidates"], 4);
    let paths: Vec<String> = cluster.lists().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/namespaces/ml/pods",
            "/api/v1/namespaces/etl/pods",
            "/api/v1/namespaces/adhoc/pods",
            "/api/v1/pods",
        ]
    );
    assert_eq!(
        cluster.lists()[3].param("labelSelector"),
        Some("kyuubi-unique-tag,spark-app-selector,spark-role=driver,spark-app-name=job,!canary")
    );
}

/// One kubeconfig with two contexts pointing at two servers with different clocks.
#[test]
#[allow(clippy::too_many_lines)] // two servers' worth of setup
fn two_contexts_on_two_servers() {
    let dir = tempfile::tempdir().unwrap();
    let east_now = server_now();
    let west_now = server_now() + SignedDuration::from_hours(2);
    let east = Cluster::start(fixed_clock(east_now));
    let west = Cluster::start(fixed_clock(west_now));
    // The same finish time, 5 minutes before the east clock: within the retain period when
    // judged by the east server, 2h05 ago by the west one. Each context uses its own clock.
    east.server()
        .seed_pods([driver(
            "spark",
            "e1",
            "Succeeded",
            before(300),
            Some(before(5)),
        )])
        .unwrap();
    west.server()
        .seed_pods([
            driver("spark", "w1", "Succeeded", before(300), Some(before(5))),
            driver("spark", "w2", "Failed", before(300), Some(before(200))),
        ])
        .unwrap();
    let mut wrong_context = batch("w2", "FINISHED", "spark");
    wrong_context.request_conf["kyuubi.kubernetes.context"] = "east".into();
    let store = Store::new(Layout::V1_11)
        .batch(wrong_context)
        .write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: east\nclusters:\n\
             - name: east\n  cluster:\n    server: {}\n\
             - name: west\n  cluster:\n    server: {}\n\
             contexts:\n\
             - name: east\n  context:\n    cluster: east\n    user: u\n    namespace: spark\n\
             - name: west\n  context:\n    cluster: west\n    user: u\n    namespace: spark\n\
             users:\n- name: u\n  user: {{}}\n",
            east.server().base_url(),
            west.server().base_url()
        ),
    )
    .unwrap();
    let k = kubeconfig.display().to_string();
    let s = store.display().to_string();
    let report = scan_json(&[
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "--context",
        "east",
        "--context",
        "west",
    ]);
    let judged: Vec<(String, String, String)> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["context"].as_str().unwrap().to_string(),
                p["tag"].as_str().unwrap().to_string(),
                p["class"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        judged,
        [
            ("east".into(), "e1".into(), "within-retain".into()),
            ("west".into(), "w1".into(), "terminated".into()),
            ("west".into(), "w2".into(), "terminated".into()),
        ]
    );
    assert_eq!(report["clocks"][0]["now"], east_now.to_string());
    assert_eq!(report["clocks"][1]["now"], west_now.to_string());
    // w2's row names the east context, so it is no terminal record for the west pod.
    let out = reaper([
        "scan",
        "-o",
        "json",
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "--context",
        "west",
        "--require-record",
    ])
    .run()
    .code(0);
    let w2 = out.json()["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tag"] == "w2")
        .cloned()
        .unwrap();
    assert_eq!(w2["class"], "no-terminal-record");
    let table = reaper([
        "scan",
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "--context",
        "east",
        "--context",
        "west",
    ])
    .run()
    .code(0);
    assert!(
        table.stdout.lines().nth(1).unwrap().contains("CONTEXT"),
        "{}",
        table.stdout
    );
}

#[test]
fn authentication_and_authorisation_failures_exit_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(ServerConfig {
        token: Some("s3cret".into()),
        ..fixed_clock(server_now())
    });
    let store = Store::new(Layout::V1_11)
        .batch(batch("x", "FINISHED", "etl"))
        .write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let s = store.display().to_string();
    let wrong = cluster.kubeconfig(
        dir.path(),
        &KubeconfigOptions {
            context: "wrong".into(),
            namespace: None,
            token: Some("guess".into()),
        },
    );
    let out = reaper([
        "scan",
        "--kubeconfig",
        &wrong.display().to_string(),
        "--store",
        &s,
    ])
    .run()
    .code(3);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(
        out.stderr.contains("did not accept the credentials"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());

    let anonymous = dir.path().join("anonymous");
    let config = std::fs::read_to_string(&wrong).unwrap();
    let config: String = config
        .lines()
        .filter(|l| !l.contains("token"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&anonymous, config.replace("user:\n", "user: {}\n")).unwrap();
    let out = reaper([
        "scan",
        "--kubeconfig",
        &anonymous.display().to_string(),
        "--store",
        &s,
        "-A",
    ])
    .run()
    .code(3);
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    assert!(out.stderr.contains("`list` on `pods`"), "{}", out.stderr);

    let right = cluster.kubeconfig(
        dir.path(),
        &KubeconfigOptions {
            context: "right".into(),
            namespace: None,
            token: Some("s3cret".into()),
        },
    );
    reaper([
        "scan",
        "--kubeconfig",
        &right.display().to_string(),
        "--store",
        &s,
    ])
    .run()
    .code(0);
}

#[test]
fn throttling_and_unavailability_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(fixed_clock(server_now()));
    cluster
        .server()
        .seed_pods([driver(
            "default",
            "a",
            "Succeeded",
            before(300),
            Some(before(200)),
        )])
        .unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("a", "FINISHED", "default"))
        .write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let k = cluster
        .kubeconfig(dir.path(), &KubeconfigOptions::default())
        .display()
        .to_string();
    let s = store.display().to_string();
    cluster.server().set_faults(FaultConfig {
        seed: 7,
        rules: vec![
            FaultRule {
                times: Some(1),
                ..FaultRule::always(FaultAction::Throttle {
                    retry_after_secs: 1,
                })
            },
            FaultRule {
                skip: 1,
                times: Some(1),
                ..FaultRule::always(FaultAction::Error(503))
            },
        ],
    });
    let report = scan_json(&["--kubeconfig", &k, "--store", &s]);
    assert_eq!(tags_by_verdict(&report, "orphan"), ["a"]);
    let statuses: Vec<u16> = cluster.lists().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 503, 200]);

    // A server that keeps failing is a cluster error, not a hang.
    cluster.server().set_faults(FaultConfig {
        seed: 7,
        rules: vec![FaultRule::always(FaultAction::Error(500))],
    });
    let out = reaper(["scan", "--kubeconfig", &k, "--store", &s])
        .run()
        .code(3);
    assert!(out.stderr.contains("500"), "{}", out.stderr);
}

#[test]
fn an_answer_that_never_ends_is_cut_at_the_page_bound() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(fixed_clock(server_now()));
    let store = Store::new(Layout::V1_11).write(&dir.path().join("s.db"));
    let store = last_written_before_the_server_clock(store);
    let k = cluster
        .kubeconfig(dir.path(), &KubeconfigOptions::default())
        .display()
        .to_string();
    let s = store.display().to_string();
    cluster.server().set_faults(FaultConfig {
        seed: 7,
        rules: vec![FaultRule::always(FaultAction::Endless)],
    });
    let out = reaper([
        "scan",
        "--kubeconfig",
        &k,
        "--store",
        &s,
        "--max-page-size",
        "4MiB",
        "--allow-empty-state",
    ])
    .run_within(std::time::Duration::from_secs(60))
    .code(3);
    assert!(
        out.stderr
            .contains("the answer is larger than 4194304 bytes (--max-page-size)"),
        "{}",
        out.stderr
    );
    // Not retried: the next answer would be as large.
    assert_eq!(cluster.lists().len(), 1);
    assert!(out.stdout.is_empty());
}
