//! `reap` end to end: the binary against the project's `test-apiserver`, judged from a metadata
//! store or from a reviewed plan. Every test checks the server's request log as well as the exit
//! code and the output: which pods got a DELETE (never one that is not an orphan), with which
//! preconditions, how often, and at what pace.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use test_apiserver::{
    FaultAction, FaultConfig, FaultRule, KubeconfigOptions, RecordedRequest, ServerConfig,
};

use crate::cluster::Cluster;
use crate::harness::{Outcome, reaper};
use crate::world::{Layout, Store, ago, batch, driver, write_pods};

/// How long one run of the binary may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(40);

/// A pod name from a tag, as [`driver`] names it.
fn name(tag: &str) -> String {
    format!("kyuubi-job-{tag}-driver")
}

/// The URL path a DELETE of the driver of `tag` goes to.
fn pod_path(namespace: &str, tag: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/pods/{}", name(tag))
}

/// A driver that finished 200 minutes ago: an orphan, whatever the store says (unless a live
/// batch row protects it).
fn finished(namespace: &str, tag: &str) -> Value {
    driver(namespace, tag, "Succeeded", ago(300), Some(ago(200)))
}

/// A running executor owned by the driver of `tag`: not a candidate, gone with its driver.
fn executor(namespace: &str, tag: &str, i: u32) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("{}-exec-{i}", name(tag)), "namespace": namespace,
            "creationTimestamp": ago(290).to_string(),
            "labels": {"kyuubi-unique-tag": tag, "spark-app-selector": format!("spark-{}", tag.replace('-', "")),
                       "spark-role": "executor"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": name(tag),
                                 "uid": format!("uid-{tag}"), "controller": true,
                                 "blockOwnerDeletion": true}],
        },
        "spec": {"containers": [{"name": "spark-kubernetes-executor", "image": "apache/spark:3.5.3"}]},
        "status": {"phase": "Running"}
    })
}

/// A store, a server seeded with pods, a kubeconfig for it, in a temporary directory.
struct World {
    dir: tempfile::TempDir,
    cluster: Cluster,
    kubeconfig: String,
    store: String,
}

impl World {
    fn new(config: ServerConfig, pods: Vec<Value>, store: &Store) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(config);
        cluster.server().seed_pods(pods).unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster
            .server()
            .write_kubeconfig(&kubeconfig, &KubeconfigOptions::default())
            .unwrap();
        let store = store.write(&dir.path().join("kyuubi_state_store.db"));
        Self {
            kubeconfig: kubeconfig.display().to_string(),
            store: store.display().to_string(),
            dir,
            cluster,
        }
    }

    /// `n` finished orphans spread over `namespaces`, each with a FINISHED batch row, plus a
    /// running pod kept by its RUNNING batch in each namespace. Returns the orphans' (namespace,
    /// tag).
    fn orphans(
        config: ServerConfig,
        n: usize,
        namespaces: &[&str],
    ) -> (Self, Vec<(String, String)>) {
        let mut pods = Vec::new();
        let mut store = Store::new(Layout::V1_11);
        let mut orphans = Vec::new();
        for i in 0..n {
            let ns = namespaces[i % namespaces.len()];
            let tag = format!("o{i:03}");
            pods.push(finished(ns, &tag));
            store = store.batch(batch(&tag, "FINISHED", ns));
            orphans.push((ns.to_string(), tag));
        }
        for ns in namespaces {
            let tag = format!("live-{ns}");
            pods.push(driver(ns, &tag, "Running", ago(60), None));
            store = store.batch(batch(&tag, "RUNNING", ns));
        }
        (Self::new(config, pods, &store), orphans)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// `reap` from the store, every namespace, JSON report, any share of orphans; then `extra`.
    fn reap(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "reap",
            "--kubeconfig",
            &self.kubeconfig,
            "--store",
            &self.store,
            "-A",
            "-o",
            "json",
            "--max-orphan-ratio",
            "1",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra.iter().map(ToString::to_string));
        args
    }

    /// `reap --plan` with the kubeconfig, JSON report, any share of orphans; then `extra`.
    fn reap_plan(&self, plan: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "reap",
            "--kubeconfig",
            &self.kubeconfig,
            "--plan",
            &plan.display().to_string(),
            "-o",
            "json",
            "--max-orphan-ratio",
            "1",
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        args.extend(extra.iter().map(ToString::to_string));
        args
    }

    /// Makes a plan with `scan -o json` and writes it to `file`.
    fn scan_plan(&self, file: &str) -> (PathBuf, Value) {
        let out = reaper([
            "scan",
            "-o",
            "json",
            "--kubeconfig",
            &self.kubeconfig,
            "--store",
            &self.store,
            "-A",
        ])
        .run_within(LIMIT)
        .code(0);
        let path = self.path(file);
        std::fs::write(&path, &out.stdout).unwrap();
        (path, out.json())
    }
}

/// The report's pods by name: (outcome, attempts, http status, last error).
fn outcomes(report: &Value) -> BTreeMap<String, (String, u64, Option<u64>, String)> {
    report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                (
                    p["outcome"].as_str().unwrap().to_string(),
                    p["attempts"].as_u64().unwrap(),
                    p["http_status"].as_u64(),
                    p["last_error"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

/// How many DELETEs each path received.
fn delete_counts(deletes: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for d in deletes {
        *counts.entry(d.path.clone()).or_default() += 1;
    }
    counts
}

fn paths(orphans: &[(String, String)]) -> BTreeSet<String> {
    orphans.iter().map(|(ns, tag)| pod_path(ns, tag)).collect()
}

/// The lines of an audit log, parsed.
fn audit_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

fn run(args: &[String]) -> Outcome {
    reaper(args).run_within(LIMIT)
}

/// A world with orphans, kept pods, suspects and executors, reaped for real.
#[test]
#[allow(clippy::too_many_lines)] // the world, then one assertion per promise
fn deletes_exactly_the_orphans_with_preconditions_and_cascades_to_executors() {
    let mut pods = vec![
        // orphans: finished long ago, FINISHED batch (or no record at all)
        finished("etl", "a"),
        driver("etl", "b", "Failed", ago(300), Some(ago(100))),
        finished("etl", "c"),
        finished("adhoc", "d"),
        finished("adhoc", "e"),
        // kept: running batch, live batch of a finished pod, within the retain period
        driver("etl", "live", "Running", ago(60), None),
        finished("etl", "busy"),
        driver("adhoc", "fresh", "Succeeded", ago(30), Some(ago(5))),
        // suspects: still running though its batch ended; pending for two hours
        driver("etl", "leaky", "Running", ago(600), None),
        driver("adhoc", "stuck", "Pending", ago(120), None),
        // not a candidate at all
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web", "namespace": "etl", "labels": {"app": "web"}},
               "spec": {"containers": [{"name": "web", "image": "nginx"}]},
               "status": {"phase": "Succeeded"}}),
    ];
    for i in 0..2 {
        pods.push(executor("etl", "a", i));
        pods.push(executor("adhoc", "d", i));
        pods.push(executor("etl", "live", i));
    }
    let store = Store::new(Layout::V1_11)
        .batch(batch("a", "FINISHED", "etl"))
        .batch(batch("b", "ERROR", "etl"))
        .batch(batch("d", "FINISHED", "adhoc"))
        .batch(batch("live", "RUNNING", "etl"))
        .batch(batch("busy", "RUNNING", "etl"))
        .batch(batch("leaky", "FINISHED", "etl"));
    let world = World::new(ServerConfig::default(), pods, &store);
    let orphans: Vec<(String, String)> = [
        ("etl", "a"),
        ("etl", "b"),
        ("etl", "c"),
        ("adhoc", "d"),
        ("adhoc", "e"),
    ]
    .iter()
    .map(|(ns, tag)| ((*ns).to_string(), (*tag).to_string()))
    .collect();
    // What the listing will see: the preconditions must be exactly these.
    let listed: BTreeMap<String, (String, String)> = orphans
        .iter()
        .map(|(ns, tag)| {
            let pod = world.cluster.server().get_pod(ns, &name(tag)).unwrap();
            (
                pod_path(ns, tag),
                (
                    pod["metadata"]["uid"].as_str().unwrap().to_string(),
                    pod["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ),
            )
        })
        .collect();

    let out = run(&world.reap(&["--yes"])).code(0);
    let report = out.json();
    assert_eq!(report["schema"], "kyuubi-reaper.reap/v1");
    assert_eq!(report["mode"], "delete");
    assert_eq!(report["summary"]["orphans"], 5);
    assert_eq!(report["summary"]["candidates"], 10);
    assert_eq!(report["summary"]["deleted"], 5);
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["requests"], 5);
    assert_eq!(report["summary"]["interrupted"], false);
    assert!(report["run_id"].as_str().is_some_and(|id| id.len() == 36));
    let got = outcomes(&report);
    let expected: BTreeSet<String> = orphans.iter().map(|(_, tag)| name(tag)).collect();
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (pod, (outcome, attempts, status, _)) in &got {
        assert_eq!(
            (outcome.as_str(), *attempts, *status),
            ("deleted", 1, Some(200)),
            "{pod}"
        );
    }
    for p in report["pods"].as_array().unwrap() {
        let path = format!(
            "/api/v1/namespaces/{}/pods/{}",
            p["namespace"].as_str().unwrap(),
            p["name"].as_str().unwrap()
        );
        let (uid, rv) = &listed[&path];
        assert_eq!(p["uid"], uid.as_str());
        assert_eq!(p["resource_version"], rv.as_str());
        assert_eq!(p["context"], "test-apiserver");
    }
    assert!(
        out.stderr
            .contains("reap: 5 orphans of 10 candidate pods: 5 deleted"),
        "{}",
        out.stderr
    );

    // The request log: one DELETE per orphan, none for anything else, each with the listed
    // uid and resourceVersion as preconditions and background propagation.
    let deletes = world.cluster.deletes();
    let counts = delete_counts(&deletes);
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        paths(&orphans),
        "DELETEs went to exactly the orphans"
    );
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    for d in &deletes {
        assert_eq!(d.status, 200, "{d:?}");
        assert_eq!(d.content_type.as_deref(), Some("application/json"));
        let body: Value = serde_json::from_str(&d.body).unwrap_or_else(|e| {
            panic!("DELETE body of {} is not JSON ({e}): {:?}", d.path, d.body)
        });
        let (uid, rv) = &listed[&d.path];
        assert_eq!(body["preconditions"]["uid"], uid.as_str(), "{body}");
        assert_eq!(
            body["preconditions"]["resourceVersion"],
            rv.as_str(),
            "{body}"
        );
        assert_eq!(body["propagationPolicy"], "Background", "{body}");
        assert!(body["dryRun"].is_null(), "{body}");
        // terminated pods get the server's own grace (0 for a terminal pod)
        assert!(body["gracePeriodSeconds"].is_null(), "{body}");
    }

    // The server: orphans and their executors gone, everything else still there.
    for (ns, tag) in &orphans {
        assert!(!world.cluster.has(ns, &name(tag)), "{ns}/{tag} still there");
    }
    for (ns, tag) in [("etl", "a"), ("adhoc", "d")] {
        for i in 0..2 {
            assert!(
                !world.cluster.has(ns, &format!("{}-exec-{i}", name(tag))),
                "executor {i} of {tag} survived its driver"
            );
        }
    }
    for (ns, pod) in [
        ("etl", name("live")),
        ("etl", name("busy")),
        ("adhoc", name("fresh")),
        ("etl", name("leaky")),
        ("adhoc", name("stuck")),
        ("etl", "web".to_string()),
        ("etl", format!("{}-exec-0", name("live"))),
        ("etl", format!("{}-exec-1", name("live"))),
    ] {
        assert!(world.cluster.has(ns, &pod), "{ns}/{pod} was removed");
    }
}

/// Suspects opted in with `--include` are deleted too, pods that still run with
/// `--grace-period`; `-o name` lists what was deleted.
#[test]
fn included_suspects_are_deleted_with_the_grace_period() {
    let mut leaky = driver("etl", "leaky", "Running", ago(600), None);
    leaky["spec"]["nodeName"] = "node-1".into();
    let pods = vec![
        finished("etl", "done"),
        leaky,
        driver("etl", "stuck", "Pending", ago(120), None),
    ];
    let store = Store::new(Layout::V1_11)
        .batch(batch("done", "FINISHED", "etl"))
        .batch(batch("leaky", "FINISHED", "etl"));
    let world = World::new(ServerConfig::default(), pods, &store);
    let mut args = world.reap(&[
        "--yes",
        "--include",
        "leaked-running",
        "--grace-period",
        "7",
    ]);
    args.extend(["-o".to_string(), "name".to_string()]);
    let out = run(&args).code(0);
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        ["etl/kyuubi-job-done-driver", "etl/kyuubi-job-leaky-driver"],
        "terminated first, then those that still run"
    );
    let deletes = world.cluster.deletes();
    assert_eq!(deletes.len(), 2);
    let body = |tag: &str| -> Value {
        serde_json::from_str(
            &deletes
                .iter()
                .find(|d| d.path == pod_path("etl", tag))
                .unwrap()
                .body,
        )
        .unwrap()
    };
    assert!(body("done")["gracePeriodSeconds"].is_null());
    assert_eq!(body("leaky")["gracePeriodSeconds"], 7);
    assert!(!world.cluster.has("etl", &name("done")));
    // On its node, the running pod is deleted gracefully: terminating for 7 s.
    let terminating = world
        .cluster
        .server()
        .get_pod("etl", &name("leaky"))
        .unwrap();
    assert!(terminating["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(terminating["metadata"]["deletionGracePeriodSeconds"], 7);
    assert!(world.cluster.has("etl", &name("stuck")), "not included");
}

/// Faults on DELETE: 503s, bursts of 429 with Retry-After, connections dropped after the server
/// acted, latency. Every orphan ends deleted or gone, and no other pod ever gets a DELETE.
#[test]
#[allow(clippy::too_many_lines)] // the fault plan, then the log read against it
fn faults_are_retried_and_no_other_pod_ever_gets_a_delete() {
    let delete = |action| FaultRule {
        method: Some("DELETE".into()),
        ..FaultRule::always(action)
    };
    let faults = FaultConfig {
        seed: 0x5eed_2026,
        rules: vec![
            FaultRule::always(FaultAction::Latency(Duration::from_millis(20))),
            FaultRule {
                probability: 0.1,
                ..delete(FaultAction::Error(503))
            },
            FaultRule {
                skip: 5,
                times: Some(3),
                ..delete(FaultAction::Throttle {
                    retry_after_secs: 1,
                })
            },
            FaultRule {
                skip: 25,
                times: Some(3),
                ..delete(FaultAction::Throttle {
                    retry_after_secs: 1,
                })
            },
            FaultRule {
                probability: 0.12,
                ..delete(FaultAction::DropConnection { fraction: 0.3 })
            },
        ],
    };
    let (world, orphans) = World::orphans(
        ServerConfig {
            faults,
            ..ServerConfig::default()
        },
        40,
        &["etl", "adhoc", "ml"],
    );
    // suspects and kept pods next to them that must never be touched
    let kept: Vec<(String, String)> = ["etl", "adhoc", "ml"]
        .iter()
        .map(|ns| ((*ns).to_string(), name(&format!("live-{ns}"))))
        .collect();
    for i in 0..5 {
        world
            .cluster
            .server()
            .seed_pods([executor("etl", &format!("o{:03}", i * 3), 0)])
            .unwrap();
    }

    let started = Instant::now();
    let out = run(&world.reap(&["--yes"])).code(0);
    let elapsed = started.elapsed();
    let report = out.json();
    let got = outcomes(&report);
    assert_eq!(got.len(), 40);
    let deletes = world.cluster.deletes();
    let counts = delete_counts(&deletes);

    // The key safety property: the DELETEs went to orphans only.
    let orphan_paths = paths(&orphans);
    let sent: BTreeSet<String> = counts.keys().cloned().collect();
    assert!(
        sent.is_subset(&orphan_paths),
        "DELETEs outside the orphans: {:?}",
        sent.difference(&orphan_paths).collect::<Vec<_>>()
    );
    assert_eq!(sent, orphan_paths, "every orphan got a DELETE");
    for (ns, pod) in &kept {
        assert!(world.cluster.has(ns, pod), "{ns}/{pod}");
    }

    // The faults did happen.
    let with = |needle: &str| {
        deletes
            .iter()
            .filter(|d| d.fault.as_deref().is_some_and(|f| f.contains(needle)))
            .count()
    };
    assert!(with("status=503") > 0, "{deletes:#?}");
    // (a 503 decided first takes the place of a 429 in its burst)
    assert!(with("429") >= 3, "{deletes:#?}");
    assert!(with("drop") > 0, "{deletes:#?}");
    assert!(with("latency=20ms") == deletes.len());

    let mut gone = 0;
    for (ns, tag) in &orphans {
        let path = pod_path(ns, tag);
        let (outcome, attempts, status, _) = &got[&name(tag)];
        let mine: Vec<&RecordedRequest> = deletes.iter().filter(|d| d.path == path).collect();
        assert_eq!(
            usize::try_from(*attempts).unwrap(),
            mine.len(),
            "{path}: the report's attempts are the DELETEs the server saw: {mine:#?}"
        );
        // every attempt for a pod carries the same preconditions
        let bodies: BTreeSet<&str> = mine.iter().map(|d| d.body.as_str()).collect();
        assert_eq!(bodies.len(), 1, "{path}: {bodies:?}");
        let last = mine.last().unwrap();
        match outcome.as_str() {
            "deleted" => {
                assert_eq!(*status, Some(200));
                assert_eq!(last.status, 200);
                assert!(!last.fault.as_deref().unwrap_or("").contains("drop"));
            }
            "gone" => {
                gone += 1;
                assert_eq!(*status, Some(404));
                assert_eq!(last.status, 404, "{mine:#?}");
                // gone only because an earlier attempt deleted it and lost the answer
                assert!(
                    mine.iter().any(|d| d.status == 200
                        && d.fault.as_deref().is_some_and(|f| f.contains("drop"))),
                    "{path}: 404 without a dropped 200 before it: {mine:#?}"
                );
            }
            other => panic!("{path}: outcome {other}"),
        }
        assert!(!world.cluster.has(ns, &name(tag)), "{path} survived");
    }
    assert!(gone > 0, "a dropped 200 makes the retry find the pod gone");
    assert_eq!(report["summary"]["gone"], gone);
    assert_eq!(report["summary"]["deleted"], 40 - gone);
    assert_eq!(
        report["summary"]["requests"],
        u64::try_from(deletes.len()).unwrap()
    );
    // Retry-After 1 was honoured: the run took at least that long.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    for i in 0..5 {
        let owner = format!("o{:03}", i * 3);
        assert!(
            !world
                .cluster
                .has("etl", &format!("{}-exec-0", name(&owner)))
        );
    }
}

/// A plan made with `scan -o json`; then, before `reap --plan`, one planned orphan is replaced
/// (same name, new uid), one changed (new resourceVersion), one removed. `reap --plan` lists
/// again and settles those three without a DELETE.
#[test]
fn a_plan_whose_pods_changed_since_is_settled_without_a_delete() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 4, &["etl"]);
    let (plan, planned) = world.scan_plan("plan.json");
    assert_eq!(planned["summary"]["orphans"], 4);
    let server = world.cluster.server();
    let (replaced, changed, removed, kept) =
        (name("o000"), name("o001"), name("o002"), name("o003"));
    // replaced: deleted and created again under the same name
    assert!(server.remove_pod("etl", &replaced).unwrap());
    let mut again = finished("etl", "o000");
    let meta = again["metadata"].as_object_mut().unwrap();
    meta.remove("uid");
    meta.remove("resourceVersion");
    let again = server.create_pod(again).unwrap();
    assert_ne!(again["metadata"]["uid"], "uid-o000");
    // changed: written since (a label added)
    server
        .update_pod("etl", &changed, |pod| {
            pod["metadata"]["labels"]["touched"] = "yes".into();
        })
        .unwrap();
    assert!(server.remove_pod("etl", &removed).unwrap());
    server.clear_requests();

    let audit = world.path("audit.jsonl");
    let out = run(&world.reap_plan(
        &plan,
        &["--yes", "--audit-log", &audit.display().to_string()],
    ))
    .code(0);
    let report = out.json();
    assert_eq!(report["plan"], plan.display().to_string());
    let got = outcomes(&report);
    assert_eq!(got[&replaced].0, "changed");
    assert!(
        got[&replaced].3.contains("replaced"),
        "{:?}",
        got[&replaced]
    );
    assert_eq!(got[&changed].0, "changed");
    assert!(
        got[&changed].3.contains("resourceVersion"),
        "{:?}",
        got[&changed]
    );
    assert_eq!(got[&removed].0, "gone");
    assert_eq!(got[&kept].0, "deleted");
    for pod in [&replaced, &changed, &removed] {
        assert_eq!(got[pod].1, 0, "{pod}: no DELETE sent");
        assert_eq!(got[pod].2, None, "{pod}");
    }
    let counts = delete_counts(&world.cluster.deletes());
    assert_eq!(
        counts,
        BTreeMap::from([(pod_path(&orphans[3].0, &orphans[3].1), 1)]),
        "only the unchanged orphan got a DELETE"
    );
    assert!(world.cluster.has("etl", &replaced));
    assert!(world.cluster.has("etl", &changed));
    assert!(!world.cluster.has("etl", &kept));
    assert_eq!(report["summary"]["changed"], 2);
    assert_eq!(report["summary"]["gone"], 1);
    assert_eq!(report["summary"]["deleted"], 1);
    // Settled outcomes are in the trail too.
    let trail: BTreeMap<String, (String, u64)> = audit_lines(&audit)
        .iter()
        .map(|l| {
            (
                l["pod"].as_str().unwrap().to_string(),
                (
                    l["outcome"].as_str().unwrap().to_string(),
                    l["attempts"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(
        trail,
        BTreeMap::from([
            (replaced.clone(), ("changed".to_string(), 0)),
            (changed.clone(), ("changed".to_string(), 0)),
            (removed.clone(), ("gone".to_string(), 0)),
            (kept.clone(), ("deleted".to_string(), 1)),
        ])
    );
}

/// Pods replaced or changed between the listing and their DELETE (which the server holds back
/// for 1.5 s): the preconditions make the server answer 409, reported `changed` and never
/// retried; a pod removed meanwhile is `gone` (404).
#[test]
fn a_pod_changed_between_listing_and_delete_gets_409_and_is_not_retried() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 4, &["etl"]);
    let (replaced, changed, removed, kept) =
        (name("o000"), name("o001"), name("o002"), name("o003"));
    let slow = |pod: &str| FaultRule {
        method: Some("DELETE".into()),
        path: Some(format!("/api/v1/namespaces/etl/pods/{pod}")),
        ..FaultRule::always(FaultAction::Latency(Duration::from_millis(1500)))
    };
    world.cluster.server().set_faults(FaultConfig {
        seed: 1,
        rules: vec![slow(&replaced), slow(&changed), slow(&removed)],
    });
    let args = world.reap(&["--yes"]);
    let reap = std::thread::spawn(move || run(&args));
    // As soon as the listing is answered, and well before the held-back DELETEs are handled:
    world.cluster.wait_for(Duration::from_secs(20), |log| {
        log.iter()
            .any(|r| r.method == "GET" && r.path == "/api/v1/pods" && r.status == 200)
    });
    let server = world.cluster.server();
    assert!(server.remove_pod("etl", &replaced).unwrap());
    let mut again = finished("etl", "o000");
    let meta = again["metadata"].as_object_mut().unwrap();
    meta.remove("uid");
    meta.remove("resourceVersion");
    server.create_pod(again).unwrap();
    server
        .update_pod("etl", &changed, |pod| {
            pod["metadata"]["labels"]["touched"] = "yes".into();
        })
        .unwrap();
    assert!(server.remove_pod("etl", &removed).unwrap());
    let out = reap.join().unwrap().code(0);

    let report = out.json();
    let got = outcomes(&report);
    for pod in [&replaced, &changed] {
        let (outcome, attempts, status, error) = &got[pod];
        assert_eq!(
            (outcome.as_str(), *attempts, *status),
            ("changed", 1, Some(409)),
            "{pod}"
        );
        assert!(error.contains("precondition"), "{pod}: {error}");
        assert!(world.cluster.has("etl", pod), "{pod} was deleted");
    }
    assert!(got[&replaced].3.contains("UID"), "{:?}", got[&replaced]);
    assert!(
        got[&changed].3.contains("ResourceVersion"),
        "{:?}",
        got[&changed]
    );
    assert_eq!(
        (got[&removed].0.as_str(), got[&removed].1, got[&removed].2),
        ("gone", 1, Some(404))
    );
    assert_eq!(got[&kept].0, "deleted");
    let deletes = world.cluster.deletes();
    let counts = delete_counts(&deletes);
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "never retried: {counts:?}"
    );
    let status_of = |pod: &str| {
        deletes
            .iter()
            .find(|d| d.path.ends_with(&format!("/{pod}")))
            .unwrap()
            .status
    };
    assert_eq!(status_of(&replaced), 409);
    assert_eq!(status_of(&changed), 409);
    assert_eq!(status_of(&removed), 404);
    assert_eq!(status_of(&kept), 200);
    assert_eq!(orphans.len(), 4);
}

#[test]
fn dry_runs_remove_nothing() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 3, &["etl", "adhoc"]);
    // bare --dry-run: the client's, nothing sent (and no --yes needed)
    let out = run(&world.reap(&["--dry-run"])).code(0);
    let report = out.json();
    assert_eq!(report["mode"], "dry-run-client");
    assert!(
        outcomes(&report)
            .values()
            .all(|(o, attempts, _, _)| o == "dry-run" && *attempts == 0),
        "{report}"
    );
    assert_eq!(report["summary"]["dry_run"], 3);
    assert!(world.cluster.deletes().is_empty());
    assert!(out.stderr.contains("(dry-run-client)"), "{}", out.stderr);

    // --dry-run=server: one DELETE each, all with dryRun=All, nothing removed
    let out = run(&world.reap(&["--dry-run=server"])).code(0);
    let report = out.json();
    assert_eq!(report["mode"], "dry-run-server");
    assert!(
        outcomes(&report)
            .values()
            .all(|(o, attempts, status, _)| o == "dry-run"
                && *attempts == 1
                && *status == Some(200)),
        "{report}"
    );
    let deletes = world.cluster.deletes();
    assert_eq!(
        delete_counts(&deletes)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        paths(&orphans)
    );
    assert_eq!(deletes.len(), 3);
    for d in &deletes {
        let body: Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(body["dryRun"], json!(["All"]), "{body}");
        assert!(body["preconditions"]["uid"].is_string(), "{body}");
        assert_eq!(d.status, 200);
    }
    for (ns, tag) in &orphans {
        assert!(world.cluster.has(ns, &name(tag)));
    }
}

#[test]
fn the_gate_and_missing_consent_refuse_the_whole_run() {
    // 3 orphans of 5 candidates (two kept by RUNNING batches)
    let (world, orphans) = World::orphans(ServerConfig::default(), 3, &["etl", "adhoc"]);
    let untouched = |out: &Outcome| {
        assert!(
            world.cluster.deletes().is_empty(),
            "{:?}",
            world.cluster.deletes()
        );
        for (ns, tag) in &orphans {
            assert!(world.cluster.has(ns, &name(tag)));
        }
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    };

    let out = run(&world.reap(&["--yes", "--max-deletions", "2"])).code(5);
    assert!(out.stderr.contains("--max-deletions 2"), "{}", out.stderr);
    assert!(out.stderr.contains("3 orphans"), "{}", out.stderr);
    untouched(&out);

    let out = run(&world.reap(&["--yes", "--max-orphan-ratio", "0.5"])).code(5);
    assert!(out.stderr.contains("--max-orphan-ratio"), "{}", out.stderr);
    assert!(out.stderr.contains("3 of 5"), "{}", out.stderr);
    untouched(&out);
    // the default ratio (0.8) lets 3 of 5 through: a dry run proves it
    reaper([
        "reap",
        "--kubeconfig",
        &world.kubeconfig,
        "--store",
        &world.store,
        "-A",
        "--dry-run",
    ])
    .run_within(LIMIT)
    .code(0);

    let empty = Store::new(Layout::V1_11).write(&world.path("empty.db"));
    let out = reaper([
        "reap",
        "--kubeconfig",
        &world.kubeconfig,
        "--store",
        &empty.display().to_string(),
        "-A",
        "--yes",
        "--max-orphan-ratio",
        "1",
    ])
    .run_within(LIMIT)
    .code(5);
    assert!(out.stderr.contains("--allow-empty-state"), "{}", out.stderr);
    untouched(&out);

    // no terminal to ask on, no --yes: refused, whether stdin is /dev/null or a pipe saying yes
    let out = run(&world.reap(&[])).code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(
        out.stderr.contains("refusing to delete 3 pods"),
        "{}",
        out.stderr
    );
    untouched(&out);
    let out = reaper(world.reap(&[]))
        .stdin("y\n")
        .run_within(LIMIT)
        .code(2);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    untouched(&out);
    assert!(!world.cluster.lists().is_empty(), "the pods were listed");
}

/// On a terminal (a pseudo-terminal from `script`), reap shows what it is about to delete and
/// asks; anything but yes deletes nothing.
#[test]
fn on_a_terminal_reap_asks_first() {
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("skipped: no script(1) to make a terminal with");
        return;
    }
    let (world, orphans) = World::orphans(ServerConfig::default(), 3, &["etl", "adhoc"]);
    let on_a_terminal = |answer: &str| {
        let mut args = world.reap(&[]);
        args.retain(|a| a != "-o" && a != "json");
        let command = std::iter::once(env!("CARGO_BIN_EXE_kyuubi-reaper").to_string())
            .chain(args)
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let mut child = Command::new("script")
            .args(["-qefc", &command, "/dev/null"])
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // answer once the question is asked
        let mut stdin = child.stdin.take().unwrap();
        world.cluster.wait_for(Duration::from_secs(20), |log| {
            log.iter().any(|r| r.method == "GET" && r.status == 200)
        });
        std::thread::sleep(Duration::from_millis(500));
        std::io::Write::write_all(&mut stdin, answer.as_bytes()).unwrap();
        drop(stdin);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let output = rx
            .recv_timeout(LIMIT)
            .expect("the run on a terminal did not end")
            .unwrap();
        world.cluster.server().clear_requests();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, screen) = on_a_terminal("n\n");
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("3 pods will be deleted"), "{screen}");
    assert!(screen.contains("Delete them? [y/N]"), "{screen}");
    assert!(screen.contains("Nothing deleted."), "{screen}");
    for (ns, tag) in &orphans {
        assert!(world.cluster.has(ns, &name(tag)));
    }
    let (code, screen) = on_a_terminal("y\n");
    assert_eq!(code, Some(0), "{screen}");
    for (ns, tag) in &orphans {
        assert!(!world.cluster.has(ns, &name(tag)), "{screen}");
    }
}

#[test]
fn reap_refuses_a_pod_file() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 2, &["etl"]);
    let pods: Vec<Value> = orphans.iter().map(|(ns, tag)| finished(ns, tag)).collect();
    let file = write_pods(&world.path("pods.json"), &pods);
    let file = file.display().to_string();
    let out = reaper(["reap", "--pods", &file, "--store", &world.store, "--yes"])
        .run_within(LIMIT)
        .code(2);
    assert!(out.stderr.contains("--pods"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = reaper([
        "reap",
        "--pods",
        &file,
        "--store",
        &world.store,
        "--dry-run",
    ])
    .run_within(LIMIT)
    .code(2);
    assert!(out.stderr.contains("--pods"), "{}", out.stderr);
    assert!(world.cluster.server().requests().is_empty());
}

#[test]
#[allow(clippy::too_many_lines)] // four plans, each refused or applied
fn a_plan_deletes_exactly_its_orphans_and_bad_plans_are_refused() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 4, &["etl", "adhoc"]);
    let (plan, planned) = world.scan_plan("plan.json");
    assert_eq!(planned["pods_from"], "cluster");
    // An orphan-to-be that appeared after the plan was made, in a planned namespace.
    world
        .cluster
        .server()
        .seed_pods([finished("etl", "late")])
        .unwrap();
    world.cluster.server().clear_requests();

    // Too old (by --max-plan-age) and other documents are refused before anything is sent.
    let mut old = planned.clone();
    old["generated_at"] = (Timestamp::now() - SignedDuration::from_hours(2))
        .to_string()
        .into();
    let old_plan = world.path("old.json");
    std::fs::write(&old_plan, old.to_string()).unwrap();
    let out = run(&world.reap_plan(&old_plan, &["--yes"])).code(5);
    assert!(out.stderr.contains("--max-plan-age"), "{}", out.stderr);
    // ... unless the age is allowed
    run(&world.reap_plan(&old_plan, &["--dry-run", "--max-plan-age", "3h"])).code(0);

    let mut other = planned.clone();
    other["schema"] = "kyuubi-reaper.reap/v1".into();
    let other_plan = world.path("other.json");
    std::fs::write(&other_plan, other.to_string()).unwrap();
    let out = run(&world.reap_plan(&other_plan, &["--yes"])).code(2);
    assert!(out.stderr.contains("schema"), "{}", out.stderr);

    let pods: Vec<Value> = orphans.iter().map(|(ns, tag)| finished(ns, tag)).collect();
    let file = write_pods(&world.path("pods.json"), &pods);
    let from_file = reaper([
        "scan",
        "-o",
        "json",
        "--pods",
        &file.display().to_string(),
        "--store",
        &world.store,
    ])
    .run_within(LIMIT)
    .code(0);
    assert_eq!(from_file.json()["pods_from"], "file");
    let file_plan = world.path("from-file.json");
    std::fs::write(&file_plan, &from_file.stdout).unwrap();
    let out = run(&world.reap_plan(&file_plan, &["--yes"])).code(2);
    assert!(out.stderr.contains("scan --pods"), "{}", out.stderr);
    assert!(world.cluster.deletes().is_empty());

    // The reviewed plan: its orphans, and nothing else, are deleted.
    let out = run(&world.reap_plan(&plan, &["--yes"])).code(0);
    let report = out.json();
    assert!(report["sources"].as_array().unwrap().is_empty());
    assert_eq!(
        report["summary"]["candidates"],
        planned["summary"]["candidates"]
    );
    let got = outcomes(&report);
    assert_eq!(got.len(), 4);
    assert!(got.values().all(|(o, ..)| o == "deleted"), "{got:?}");
    let counts = delete_counts(&world.cluster.deletes());
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        paths(&orphans)
    );
    assert!(counts.values().all(|n| *n == 1));
    assert!(world.cluster.has("etl", &name("late")), "not in the plan");
    assert!(world.cluster.has("etl", &name("live-etl")));
    // The plan's namespaces were listed again, one by one.
    let listed: BTreeSet<String> = world
        .cluster
        .lists()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(listed.contains("/api/v1/namespaces/etl/pods"), "{listed:?}");
    assert!(
        listed.contains("/api/v1/namespaces/adhoc/pods"),
        "{listed:?}"
    );

    // A plan from the future of the local clock, and one without a time, are refused too.
    let mut future = planned.clone();
    future["generated_at"] = (Timestamp::now() + SignedDuration::from_hours(1))
        .to_string()
        .into();
    let future_plan = world.path("future.json");
    std::fs::write(&future_plan, future.to_string()).unwrap();
    let refused = run(&world.reap_plan(&future_plan, &["--yes", "--max-plan-age", "1d"])).code(5);
    assert!(
        refused.stderr.contains("in the future"),
        "{}",
        refused.stderr
    );
    let mut untimed = planned.clone();
    untimed.as_object_mut().unwrap().remove("generated_at");
    let untimed_plan = world.path("untimed.json");
    std::fs::write(&untimed_plan, untimed.to_string()).unwrap();
    let refused = run(&world.reap_plan(&untimed_plan, &["--yes"])).code(2);
    assert!(
        refused.stderr.contains("generated_at"),
        "{}",
        refused.stderr
    );
    assert_eq!(world.cluster.deletes().len(), 4, "nothing more was sent");

    // A reap report is no plan either.
    let reap_report = world.path("reap.json");
    std::fs::write(&reap_report, &out.stdout).unwrap();
    let out = run(&world.reap_plan(&reap_report, &["--yes"])).code(2);
    assert!(
        out.stderr.contains("kyuubi-reaper.reap/v1"),
        "{}",
        out.stderr
    );
}

/// 403 on DELETE: the identity may not delete here, so the context stops at once.
#[test]
fn forbidden_deletes_stop_the_context_at_once() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 6, &["etl"]);
    let forbid = FaultConfig {
        seed: 3,
        rules: vec![FaultRule::parse("action=403,method=DELETE").unwrap()],
    };
    world.cluster.server().set_faults(forbid.clone());
    let out = run(&world.reap(&["--yes", "--concurrency", "1"])).code(4);
    assert_eq!(
        world.cluster.deletes().len(),
        1,
        "{:#?}",
        world.cluster.deletes()
    );
    assert!(out.stderr.contains("`delete` on `pods`"), "{}", out.stderr);
    assert!(out.stderr.contains("403"), "{}", out.stderr);
    let report = out.json();
    let got = outcomes(&report);
    assert!(got.values().all(|(o, ..)| o == "failed"), "{got:?}");
    assert_eq!(got.values().filter(|(_, a, ..)| *a == 1).count(), 1);
    assert!(
        got.values()
            .filter(|(_, a, ..)| *a == 0)
            .all(|(.., e)| e.contains("not attempted") && e.contains("`delete` on `pods`")),
        "{got:?}"
    );
    assert_eq!(report["summary"]["failed"], 6);

    world.cluster.server().clear_requests();
    world.cluster.server().set_faults(forbid);
    let out = run(&world.reap(&["--yes", "--concurrency", "3"])).code(4);
    let sent = world.cluster.deletes().len();
    assert!((1..=3).contains(&sent), "{sent} DELETEs");
    assert!(out.stderr.contains("`delete` on `pods`"), "{}", out.stderr);
    for (ns, tag) in &orphans {
        assert!(world.cluster.has(ns, &name(tag)));
    }
}

/// 401 on DELETE stops the context the same way.
#[test]
fn unauthorized_deletes_stop_the_context_at_once() {
    let (world, _) = World::orphans(ServerConfig::default(), 4, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 3,
        rules: vec![FaultRule::parse("action=401,method=DELETE").unwrap()],
    });
    let out = run(&world.reap(&["--yes", "--concurrency", "1"])).code(4);
    assert_eq!(world.cluster.deletes().len(), 1);
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(out.stderr.contains("credentials"), "{}", out.stderr);
    let got = outcomes(&out.json());
    assert!(got.values().all(|(o, ..)| o == "failed"), "{got:?}");
}

/// A kubeconfig with one context per (name, server, namespace).
fn kubeconfig_of(path: &Path, contexts: &[(&str, String, &str)]) -> String {
    let mut text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {}\nclusters:\n",
        contexts[0].0
    );
    for (name, server, _) in contexts {
        let _ = writeln!(text, "- name: {name}\n  cluster:\n    server: {server}");
    }
    text.push_str("contexts:\n");
    for (name, _, namespace) in contexts {
        let _ = writeln!(
            text,
            "- name: {name}\n  context:\n    cluster: {name}\n    user: u\n    namespace: {namespace}"
        );
    }
    text.push_str("users:\n- name: u\n  user: {}\n");
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

/// 403 in one context stops that context only: the other one's orphans are all deleted.
#[test]
fn a_forbidden_context_does_not_stop_another() {
    let dir = tempfile::tempdir().unwrap();
    let east = Cluster::start(ServerConfig::default());
    let west = Cluster::start(ServerConfig::default());
    let mut store = Store::new(Layout::V1_11);
    for i in 0..4 {
        let (e, w) = (format!("e{i}"), format!("w{i}"));
        east.server().seed_pods([finished("spark", &e)]).unwrap();
        west.server().seed_pods([finished("spark", &w)]).unwrap();
        store = store
            .batch(batch(&e, "FINISHED", "spark"))
            .batch(batch(&w, "FINISHED", "spark"));
    }
    let store = store.write(&dir.path().join("s.db"));
    let kubeconfig = kubeconfig_of(
        &dir.path().join("config"),
        &[
            ("east", east.server().base_url(), "spark"),
            ("west", west.server().base_url(), "spark"),
        ],
    );
    east.server().set_faults(FaultConfig {
        seed: 9,
        rules: vec![FaultRule::parse("action=403,method=DELETE").unwrap()],
    });
    let out = reaper([
        "reap",
        "--kubeconfig",
        &kubeconfig,
        "--store",
        &store.display().to_string(),
        "--context",
        "east",
        "--context",
        "west",
        "--yes",
        "--max-orphan-ratio",
        "1",
        "--concurrency",
        "1",
        "-o",
        "json",
    ])
    .run_within(LIMIT)
    .code(4);
    assert_eq!(east.deletes().len(), 1, "{:#?}", east.deletes());
    let west_deletes = west.deletes();
    assert_eq!(west_deletes.len(), 4, "{west_deletes:#?}");
    assert!(west_deletes.iter().all(|d| d.status == 200));
    assert_eq!(west.server().pod_count(), 0);
    assert_eq!(east.server().pod_count(), 4);
    let report = out.json();
    assert_eq!(report["summary"]["deleted"], 4);
    assert_eq!(report["summary"]["failed"], 4);
    for pod in report["pods"].as_array().unwrap() {
        let expected = if pod["context"] == "west" {
            "deleted"
        } else {
            "failed"
        };
        assert_eq!(pod["outcome"], expected, "{pod}");
    }
    assert!(
        out.stderr.contains("context east stopped"),
        "{}",
        out.stderr
    );
}

/// Two contexts on one API server share its rate limit: `--qps 10 --burst 1` for both together.
#[test]
fn contexts_of_one_api_server_share_its_rate_limit() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 30, &["etl", "adhoc"]);
    let url = world.cluster.server().base_url();
    let kubeconfig = kubeconfig_of(
        &world.path("two-contexts"),
        &[("etl", url.clone(), "etl"), ("adhoc", url, "adhoc")],
    );
    let out = reaper([
        "reap",
        "--kubeconfig",
        &kubeconfig,
        "--store",
        &world.store,
        "--context",
        "etl",
        "--context",
        "adhoc",
        "--yes",
        "--max-orphan-ratio",
        "1",
        "--qps",
        "10",
        "--burst",
        "1",
        "-o",
        "json",
    ])
    .run_within(LIMIT)
    .code(0);
    let report = out.json();
    assert_eq!(report["summary"]["deleted"], 30);
    let deletes = world.cluster.deletes();
    assert_eq!(
        delete_counts(&deletes)
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        paths(&orphans)
    );
    let mut per_second: BTreeMap<String, usize> = BTreeMap::new();
    for d in &deletes {
        *per_second.entry(d.time.clone()).or_default() += 1;
    }
    let busiest = per_second.values().max().copied().unwrap_or(0);
    assert!(
        busiest <= 11,
        "{busiest} DELETEs in one second: {per_second:?}"
    );
    // 29 tokens at 10/s: close to 3 s, not the 1.5 s two separate limits would allow
    let elapsed = report["summary"]["elapsed_seconds"].as_f64().unwrap();
    assert!(elapsed >= 2.6, "{elapsed}s");
}

#[test]
fn a_server_that_never_answers_the_listing_fails_fast() {
    let (world, _) = World::orphans(ServerConfig::default(), 2, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 4,
        rules: vec![FaultRule::parse("action=hang,method=GET").unwrap()],
    });
    let started = Instant::now();
    let out = run(&world.reap(&["--yes", "--request-timeout", "1s", "--max-retries", "1"])).code(3);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");
    assert!(out.stderr.contains("--request-timeout"), "{}", out.stderr);
    assert!(out.stderr.contains("2 attempt"), "{}", out.stderr);
    let lists = world.cluster.lists();
    assert_eq!(lists.len(), 2, "{lists:#?}");
    assert!(lists.iter().all(|r| r.fault.as_deref() == Some("hang")));
    assert!(world.cluster.deletes().is_empty());
}

/// A DELETE that never gets an answer times out, is retried, and fails: exit 4.
#[test]
fn a_delete_that_never_gets_an_answer_fails_after_its_retries() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 2, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 4,
        rules: vec![FaultRule::parse("action=hang,method=DELETE").unwrap()],
    });
    let started = Instant::now();
    let out = run(&world.reap(&["--yes", "--request-timeout", "1s", "--max-retries", "1"])).code(4);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    let got = outcomes(&out.json());
    for (pod, (outcome, attempts, status, error)) in &got {
        assert_eq!(
            (outcome.as_str(), *attempts, *status),
            ("failed", 2, None),
            "{pod}"
        );
        assert!(error.contains("--request-timeout"), "{pod}: {error}");
    }
    let counts = delete_counts(&world.cluster.deletes());
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        paths(&orphans)
    );
    assert!(counts.values().all(|n| *n == 2), "{counts:?}");
    for (ns, tag) in &orphans {
        assert!(world.cluster.has(ns, &name(tag)));
    }
}

#[test]
fn deletes_that_keep_failing_end_at_the_deadline() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 3, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 5,
        rules: vec![FaultRule::parse("action=503,method=DELETE").unwrap()],
    });
    let started = Instant::now();
    let out = run(&world.reap(&["--yes", "--deadline", "5s", "--max-retries", "100"])).code(4);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let report = out.json();
    let got = outcomes(&report);
    assert_eq!(got.len(), 3);
    for (pod, (outcome, attempts, _, error)) in &got {
        assert_eq!(outcome, "failed", "{pod}");
        assert!(*attempts >= 2, "{pod}: retried, {attempts} attempts");
        assert!(error.contains("--deadline"), "{pod}: {error}");
    }
    let deletes = world.cluster.deletes();
    assert!(deletes.iter().all(|d| d.status == 503));
    assert_eq!(
        report["summary"]["requests"],
        u64::try_from(deletes.len()).unwrap()
    );
    for (ns, tag) in &orphans {
        assert!(world.cluster.has(ns, &name(tag)));
    }
}

/// The binary, spawned so that a test can signal it.
struct Spawned {
    child: std::process::Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Spawned {
    fn start(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyuubi-reaper"))
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kyuubi-reaper");
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                pipe.read_to_string(&mut text).unwrap();
                text
            })
        };
        let stdout = drain(Box::new(child.stdout.take().unwrap()));
        let stderr = drain(Box::new(child.stderr.take().unwrap()));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit, killing the child and failing after `limit`.
    fn wait(mut self, limit: Duration) -> Outcome {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the run did not end within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Outcome {
            code: status.code().expect("exited, not killed by the signal"),
            stdout: self.stdout.join().unwrap(),
            stderr: self.stderr.join().unwrap(),
        }
    }
}

/// SIGTERM while deleting at 5/s: no new DELETE starts (those in flight, at most
/// `--concurrency`, may finish), exit 4, and the audit log matches the request log.
#[test]
fn sigterm_stops_new_deletes_and_the_audit_log_matches_the_request_log() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 40, &["etl", "adhoc"]);
    let audit = world.path("audit.jsonl");
    let args = world.reap(&[
        "--yes",
        "--qps",
        "5",
        "--burst",
        "1",
        "--concurrency",
        "2",
        "--audit-log",
        &audit.display().to_string(),
    ]);
    let child = Spawned::start(&args);
    world.cluster.wait_for(Duration::from_secs(20), |log| {
        log.iter().any(|r| r.method == "DELETE")
    });
    std::thread::sleep(Duration::from_secs(1));
    child.terminate();
    // counted once the signal is sent: any DELETE logged later came after it
    let before_signal = world.cluster.deletes().len();
    let out = child.wait(Duration::from_secs(30)).code(4);
    let deletes = world.cluster.deletes();
    assert!(
        deletes.len() <= before_signal + 2,
        "{} DELETEs before the signal, {} in all: more than --concurrency after it",
        before_signal,
        deletes.len()
    );
    assert!(deletes.len() < 40, "the run was not cut short");
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["summary"]["interrupted"], true);

    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 40, "one line per pod outcome");
    let pods: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            format!(
                "/api/v1/namespaces/{}/pods/{}",
                l["namespace"].as_str().unwrap(),
                l["pod"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(pods, paths(&orphans), "each orphan once");
    let run_id = report["run_id"].as_str().unwrap();
    assert!(lines.iter().all(|l| l["run_id"] == run_id));
    let audited_deleted: BTreeSet<String> = lines
        .iter()
        .filter(|l| l["outcome"] == "deleted")
        .map(|l| {
            format!(
                "/api/v1/namespaces/{}/pods/{}",
                l["namespace"].as_str().unwrap(),
                l["pod"].as_str().unwrap()
            )
        })
        .collect();
    let answered_200: BTreeSet<String> = deletes
        .iter()
        .filter(|d| d.status == 200)
        .map(|d| d.path.clone())
        .collect();
    assert_eq!(audited_deleted, answered_200, "audit log vs request log");
    for l in lines.iter().filter(|l| l["outcome"] != "deleted") {
        assert_eq!(l["outcome"], "failed", "{l}");
        assert_eq!(l["attempts"], 0, "{l}");
        assert!(l["error"].as_str().unwrap().contains("interrupted"), "{l}");
        assert!(
            world
                .cluster
                .has(l["namespace"].as_str().unwrap(), l["pod"].as_str().unwrap())
        );
    }
}

/// SIGTERM while the next DELETE waits for its rate-limit token (one every 5 s): that DELETE has
/// not been sent, so it must not be sent after the signal.
#[test]
fn sigterm_does_not_send_a_delete_still_waiting_for_its_rate_limit_token() {
    let (world, _) = World::orphans(ServerConfig::default(), 4, &["etl"]);
    let args = world.reap(&[
        "--yes",
        "--qps",
        "0.2",
        "--burst",
        "1",
        "--concurrency",
        "1",
    ]);
    let child = Spawned::start(&args);
    world.cluster.wait_for(Duration::from_secs(20), |log| {
        log.iter().any(|r| r.method == "DELETE")
    });
    std::thread::sleep(Duration::from_secs(1));
    let before_signal = world.cluster.deletes().len();
    assert_eq!(before_signal, 1);
    let signalled = Instant::now();
    child.terminate();
    let out = child.wait(Duration::from_secs(30)).code(4);
    let after = world.cluster.deletes();
    assert_eq!(
        after.len(),
        before_signal,
        "a DELETE was sent {:?} after SIGTERM: {after:#?}\n{}",
        signalled.elapsed(),
        out.stderr
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "exit took {:?} after the signal",
        signalled.elapsed()
    );
}

/// SIGTERM while a DELETE is being retried against a server answering 503: at most the one
/// request in flight reaches the server after the signal, the exit is prompt, and the report
/// counts the requests the server saw.
#[test]
fn sigterm_ends_the_retries_of_a_delete_in_flight() {
    let (world, _) = World::orphans(ServerConfig::default(), 3, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 6,
        rules: vec![FaultRule::parse("action=503,method=DELETE").unwrap()],
    });
    let args = world.reap(&["--yes", "--concurrency", "1", "--max-retries", "100"]);
    let child = Spawned::start(&args);
    world.cluster.wait_for(Duration::from_secs(20), |log| {
        log.iter().any(|r| r.method == "DELETE")
    });
    let signalled = Instant::now();
    child.terminate();
    let before_signal = world.cluster.deletes().len();
    let out = child.wait(Duration::from_secs(30)).code(4);
    let waited = signalled.elapsed();
    let sent = world.cluster.deletes().len();
    let mut problems = Vec::new();
    if sent > before_signal + 1 {
        problems.push(format!(
            "{} DELETE requests reached the server after SIGTERM",
            sent - before_signal
        ));
    }
    if waited > Duration::from_secs(3) {
        problems.push(format!("the exit came {waited:?} after SIGTERM"));
    }
    let report = out.json();
    let counted = report["summary"]["requests"].as_u64().unwrap();
    if counted != u64::try_from(sent).unwrap() {
        problems.push(format!(
            "the report counts {counted} DELETE requests, the server saw {sent}"
        ));
    }
    assert!(problems.is_empty(), "{problems:#?}\n{}", out.stderr);
}

/// One 503 on a DELETE, retried with success: exit 0 and no error on stderr.
#[test]
fn a_retried_503_is_not_logged_as_an_error() {
    let (world, _) = World::orphans(ServerConfig::default(), 1, &["etl"]);
    world.cluster.server().set_faults(FaultConfig {
        seed: 7,
        rules: vec![FaultRule::parse("action=503,method=DELETE,times=1").unwrap()],
    });
    let out = run(&world.reap(&["--yes", "-q"])).code(0);
    let statuses: Vec<u16> = world.cluster.deletes().iter().map(|d| d.status).collect();
    assert_eq!(statuses, [503, 200]);
    assert_eq!(outcomes(&out.json())[&name("o000")].1, 2);
    assert!(
        !out.stderr.contains("ERROR"),
        "-q prints only errors, and a retried 503 is none:\n{}",
        out.stderr
    );
}

/// `--qps 20 --burst 5`: no second of the request log holds more than 25 DELETEs.
#[test]
fn deletes_keep_to_the_rate_limit() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 100, &["etl", "adhoc", "ml"]);
    let out = run(&world.reap(&["--yes", "--qps", "20", "--burst", "5"])).code(0);
    let report = out.json();
    assert_eq!(report["summary"]["deleted"], 100);
    let deletes = world.cluster.deletes();
    assert_eq!(delete_counts(&deletes).len(), orphans.len());
    assert_eq!(deletes.len(), 100);
    let mut per_second: BTreeMap<String, usize> = BTreeMap::new();
    for d in &deletes {
        *per_second.entry(d.time.clone()).or_default() += 1;
    }
    let busiest = per_second.values().max().copied().unwrap_or(0);
    assert!(
        busiest <= 25,
        "{busiest} DELETEs in one second: {per_second:?}"
    );
    // (100 - 5) / 20 s at least
    let elapsed = report["summary"]["elapsed_seconds"].as_f64().unwrap();
    assert!(elapsed >= 4.5, "{elapsed}s for 100 deletes at 20/s");
    assert!(per_second.len() >= 5, "{per_second:?}");
}

/// An audit log that cannot be written (the disk is full) stops the run: no further DELETE is
/// sent, the report is still written, exit 4.
#[test]
fn an_audit_log_that_cannot_be_written_stops_the_run() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let (world, orphans) = World::orphans(ServerConfig::default(), 5, &["etl"]);
    let out =
        run(&world.reap(&["--yes", "--concurrency", "1", "--audit-log", "/dev/full"])).code(4);
    assert_eq!(
        world.cluster.deletes().len(),
        1,
        "{:#?}",
        world.cluster.deletes()
    );
    assert!(out.stderr.contains("/dev/full"), "{}", out.stderr);
    let report = out.json();
    assert_eq!(report["summary"]["deleted"], 1);
    assert_eq!(report["summary"]["failed"], 4);
    let remaining = orphans
        .iter()
        .filter(|(ns, tag)| world.cluster.has(ns, &name(tag)))
        .count();
    assert_eq!(remaining, 4);
}

/// `--audit-log` appends one line per outcome, with every field, run after run.
#[test]
fn the_audit_log_is_appended_to_with_every_field() {
    let (world, orphans) = World::orphans(ServerConfig::default(), 3, &["etl", "adhoc"]);
    let audit = world.path("audit.jsonl");
    let a = audit.display().to_string();
    let first = run(&world.reap(&["--dry-run=server", "--audit-log", &a])).code(0);
    let second = run(&world.reap(&["--yes", "--audit-log", &a])).code(0);
    let runs = [
        first.json()["run_id"].as_str().unwrap().to_string(),
        second.json()["run_id"].as_str().unwrap().to_string(),
    ];
    assert_ne!(runs[0], runs[1]);
    let lines = audit_lines(&audit);
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let fields = [
        "time",
        "run_id",
        "context",
        "namespace",
        "pod",
        "uid",
        "resource_version",
        "tag",
        "app_id",
        "class",
        "rule",
        "reason",
        "outcome",
        "http_status",
        "attempts",
    ];
    let tags: BTreeMap<String, String> = orphans
        .iter()
        .map(|(ns, tag)| (name(tag), ns.clone()))
        .collect();
    for (i, line) in lines.iter().enumerate() {
        for field in fields {
            assert!(line.get(field).is_some(), "{field} missing: {line}");
        }
        let (run_id, outcome, mode) = if i < 3 {
            (&runs[0], "dry-run", "dry-run-server")
        } else {
            (&runs[1], "deleted", "delete")
        };
        assert_eq!(line["run_id"], run_id.as_str(), "{line}");
        assert_eq!(line["outcome"], outcome, "{line}");
        assert_eq!(line["mode"], mode, "{line}");
        assert_eq!(line["http_status"], 200, "{line}");
        assert_eq!(line["attempts"], 1, "{line}");
        assert_eq!(line["context"], "test-apiserver");
        assert_eq!(line["class"], "terminated");
        assert_eq!(line["rule"], 6);
        assert!(line["reason"].as_str().is_some_and(|r| !r.is_empty()));
        let pod = line["pod"].as_str().unwrap();
        assert_eq!(line["namespace"], tags[pod].as_str(), "{line}");
        let tag = line["tag"].as_str().unwrap();
        assert_eq!(pod, name(tag));
        assert_eq!(line["uid"], format!("uid-{tag}"));
        assert!(
            line["resource_version"]
                .as_str()
                .is_some_and(|rv| !rv.is_empty())
        );
        assert_eq!(line["app_id"], format!("spark-{tag}"));
        assert!(line["time"].as_str().unwrap().parse::<Timestamp>().is_ok());
    }
    // With an audit log, the per-pod lines go there rather than to stderr.
    assert!(!second.stderr.contains("deleted pod"), "{}", second.stderr);
    // A trail that cannot be kept: the run does not start (nothing listed, nothing sent).
    world.cluster.server().clear_requests();
    let out = run(&world.reap(&["--yes", "--audit-log", "/nonexistent/dir/audit.jsonl"])).code(2);
    assert!(out.stderr.contains("audit log"), "{}", out.stderr);
    assert!(world.cluster.server().requests().is_empty());
    // A third run with nothing left to delete adds nothing.
    run(&world.reap(&["--yes", "--audit-log", &a])).code(0);
    assert_eq!(audit_lines(&audit).len(), 6);
}
