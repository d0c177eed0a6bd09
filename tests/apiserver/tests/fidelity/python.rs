//! Debian's Python `kubernetes` client (python3-kubernetes) against the test server.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{crate_dir, fixture_server, has_label, pod_names, python, run};

fn script(name: &str) -> String {
    crate_dir()
        .join("tests/python")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_lists_with_selector_and_pagination() {
    let f = fixture_server("py-list").await;
    let py = python();
    let kc = f.kubeconfig.to_str().unwrap();
    let out = run(
        &py,
        &[&script("list_paginated.py"), kc, "kyuubi-unique-tag", "4"],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["pages"], json!([4, 2]));
    let want = pod_names(&f.server, |p| has_label(p, "kyuubi-unique-tag"));
    let got: Vec<String> = serde_json::from_value(v["names"].clone()).unwrap();
    assert_eq!(got, want);
    // every page reports the first page's resource version
    let rvs = v["resource_versions"].as_array().unwrap();
    assert!(rvs.iter().all(|r| r == &rvs[0]));
    let reqs = f.server.requests();
    assert_eq!(
        reqs.len(),
        2,
        "no discovery from the Python client: {reqs:?}"
    );
    assert_eq!(reqs[0].param("limit"), Some("4"));
    assert!(reqs[1].param("continue").is_some());

    // namespaced, set-based, with changes between pages: the list stays consistent
    let out = run(
        &py,
        &[
            &script("list_paginated.py"),
            kc,
            "spark-role in (executor)",
            "1",
            "kyuubi-a",
        ],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        v["names"],
        json!([
            "kyuubi-a/kyuubi-adhoc-b2c3d4e5-exec-1",
            "kyuubi-a/kyuubi-etl-a1b2c3d4-exec-1",
            "kyuubi-a/kyuubi-etl-a1b2c3d4-exec-2"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_delete_options() {
    let f = fixture_server("py-delete").await;
    let py = python();
    let kc = f.kubeconfig.to_str().unwrap();
    let out = run(
        &py,
        &[
            &script("delete_options.py"),
            kc,
            "kyuubi-a",
            "kyuubi-etl-a1b2c3d4-driver",
        ],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    let steps: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |n: &str| {
        steps
            .iter()
            .find(|s| s["step"] == n)
            .unwrap_or_else(|| panic!("no step {n}: {}", out.stdout))
            .clone()
    };

    let dry = step("dry-run");
    assert_eq!(dry["ok"], true, "{dry}");
    assert_eq!(dry["result"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(
        step("still-there")["result"],
        "5a1e0000-0000-4000-8000-000000000001"
    );

    let pre = step("precondition");
    assert_eq!(pre["ok"], false);
    assert_eq!(pre["status"], 409);
    assert_eq!(pre["reason"], "Conflict");
    assert_eq!(pre["kind"], "Status");
    assert_eq!(
        pre["message"],
        "Operation cannot be fulfilled on Pod \"kyuubi-etl-a1b2c3d4-driver\": the UID in the precondition \
         (00000000-0000-0000-0000-000000000000) does not match the UID in record \
         (5a1e0000-0000-4000-8000-000000000001). The object might have been deleted and then recreated"
    );

    let del = step("delete");
    assert_eq!(del["ok"], true, "{del}");
    assert_eq!(del["result"]["name"], "kyuubi-etl-a1b2c3d4-driver");
    let gone = step("gone");
    assert_eq!(gone["status"], 404);
    assert_eq!(gone["reason"], "NotFound");
    // executors cascaded with the Background policy
    assert_eq!(
        step("list-after")["result"],
        json!([
            "kyuubi-adhoc-b2c3d4e5-driver",
            "kyuubi-adhoc-b2c3d4e5-exec-1",
            "kyuubi-report-c3d4e5f6-driver",
            "kyuubi-sql-d4e5f6a7-driver",
            "web-5d9f7c6b8-x2x7k"
        ])
    );

    // the Python client sends query parameters for a dry run (no body) and a body otherwise
    let deletes: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes[0].param("dryRun"), Some("All"));
    assert_eq!(deletes[0].param("propagationPolicy"), Some("Background"));
    assert!(deletes[0].body.is_empty());
    assert!(deletes[1].body.contains("preconditions"));
}

/// The reaper's delete: a `DeleteOptions` body with uid and resourceVersion preconditions and
/// `propagationPolicy: Background`, through the Python client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_delete_with_preconditions_like_a_reaper() {
    let f = fixture_server("py-preconditions").await;
    let py = python();
    let out = run(
        &py,
        &[
            &script("delete_preconditions.py"),
            f.kubeconfig.to_str().unwrap(),
            "kyuubi-a",
            "kyuubi-etl-a1b2c3d4-driver",
            "kyuubi-report-c3d4e5f6-driver",
        ],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    let steps: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |n: &str| {
        steps
            .iter()
            .find(|s| s["step"] == n)
            .unwrap_or_else(|| panic!("no step {n}: {}", out.stdout))
            .clone()
    };
    let uid = "5a1e0000-0000-4000-8000-000000000001";
    let read = step("read");
    assert_eq!(read["result"]["uid"], uid);
    assert_eq!(
        read["result"]["executors"],
        json!(["kyuubi-etl-a1b2c3d4-exec-1", "kyuubi-etl-a1b2c3d4-exec-2"])
    );
    let rv0 = read["result"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let rv1 = step("touch")["result"].as_str().unwrap().to_string();
    assert_ne!(rv0, rv1);

    // a wrong uid: 409 Conflict with the registry's message (checked before the version)
    let e = step("wrong-uid");
    assert_eq!(
        (&e["ok"], &e["status"], &e["reason"], &e["kind"]),
        (
            &json!(false),
            &json!(409),
            &json!("Conflict"),
            &json!("Status")
        ),
        "{e}"
    );
    assert_eq!(
        e["message"],
        format!(
            "Operation cannot be fulfilled on Pod \"kyuubi-etl-a1b2c3d4-driver\": the UID in the \
             precondition (00000000-0000-0000-0000-000000000000) does not match the UID in record \
             ({uid}). The object might have been deleted and then recreated"
        )
    );
    assert_eq!(
        e["details"],
        json!({"name": "kyuubi-etl-a1b2c3d4-driver", "kind": "Pod"})
    );
    // the version read before someone else wrote the pod: 409 Conflict
    let e = step("stale-rv");
    assert_eq!(
        (&e["status"], &e["reason"]),
        (&json!(409), &json!("Conflict"))
    );
    assert_eq!(
        e["message"],
        format!(
            "Operation cannot be fulfilled on Pod \"kyuubi-etl-a1b2c3d4-driver\": the \
             ResourceVersion in the precondition ({rv0}) does not match the ResourceVersion in \
             record ({rv1}). The object might have been modified"
        )
    );
    // dryRun in the body: 200 with the pod as the delete would leave it, nothing changes
    let d = step("dry-run");
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(d["result"]["code"], 200);
    assert_eq!(d["result"]["kind"], "Pod");
    assert_eq!(d["result"]["resourceVersion"], rv1.as_str());
    assert_eq!(d["result"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(
        step("after-dry-run")["result"],
        json!({"resourceVersion": rv1, "deletionTimestamp": false,
            "executors": ["kyuubi-etl-a1b2c3d4-exec-1", "kyuubi-etl-a1b2c3d4-exec-2"]})
    );
    // matching preconditions: deleted at once (terminated pod), executors cascade
    let d = step("delete");
    assert_eq!(d["ok"], true, "{d}");
    assert_eq!(d["result"]["code"], 200);
    assert_eq!(d["result"]["uid"], uid);
    assert_eq!(d["result"]["deletionGracePeriodSeconds"], 0);
    assert_eq!(step("gone")["status"], 404);
    assert_eq!(step("executors-after")["result"], json!([]));
    for n in ["kyuubi-etl-a1b2c3d4-exec-1", "kyuubi-etl-a1b2c3d4-exec-2"] {
        assert!(f.server.get_pod("kyuubi-a", n).is_none(), "{n} cascaded");
    }
    // a pod that is gone: 404 NotFound, even with preconditions
    let e = step("delete-missing");
    assert_eq!(
        (&e["status"], &e["reason"], &e["message"], &e["details"]),
        (
            &json!(404),
            &json!("NotFound"),
            &json!("pods \"kyuubi-etl-a1b2c3d4-driver\" not found"),
            &json!({"name": "kyuubi-etl-a1b2c3d4-driver", "kind": "pods"})
        )
    );
    // dry_run= as a keyword lands in the query; with a body the real handler reads only the
    // body, so this deletes
    assert_eq!(step("dry-run-keyword-with-body")["result"]["code"], 200);
    assert_eq!(step("other-gone")["status"], 404);
    assert!(
        f.server
            .get_pod("kyuubi-a", "kyuubi-report-c3d4e5f6-driver")
            .is_none()
    );

    // what went over the wire
    let deletes: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(
        deletes.iter().map(|r| r.status).collect::<Vec<_>>(),
        [409, 409, 200, 200, 404, 200]
    );
    for r in &deletes[..5] {
        let b: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(b["propagationPolicy"], "Background");
        assert!(b["preconditions"]["uid"].is_string());
        assert!(b["preconditions"]["resourceVersion"].is_string());
        assert!(r.query.is_empty(), "{}", r.query);
    }
    let b: Value = serde_json::from_str(&deletes[2].body).unwrap();
    assert_eq!(b["dryRun"], json!(["All"]));
    assert_eq!(deletes[5].param("dryRun"), Some("All"));
    assert!(!deletes[5].body.contains("dryRun"));
}

async fn next_line(
    l: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) -> Option<String> {
    tokio::time::timeout(Duration::from_secs(30), l.next_line())
        .await
        .expect("watch output")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_watch_sees_added_modified_deleted() {
    let f = fixture_server("py-watch").await;
    let py = python();
    let mut child = tokio::process::Command::new(&py)
        .args([
            &script("watch_events.py"),
            f.kubeconfig.to_str().unwrap(),
            "kyuubi-b",
            "20",
            "4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = next_line(&mut lines).await.expect("READY line");
    assert!(ready.starts_with("READY "), "{ready}");
    crate::common::wait_for("the watch request", Duration::from_secs(20), || {
        f.server
            .requests()
            .iter()
            .any(test_apiserver::RecordedRequest::is_watch)
    })
    .await;

    let created = f
        .server
        .create_pod(
            json!({"metadata": {"name": "py-new", "namespace": "kyuubi-b", "labels": {"x": "1"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}),
        )
        .unwrap();
    f.server.set_phase("kyuubi-b", "py-new", "Running").unwrap();
    f.server
        .terminate_pod("kyuubi-b", "py-new", true, f.server.now())
        .unwrap();
    f.server.remove_pod("kyuubi-b", "py-new").unwrap();

    let mut got = Vec::new();
    for _ in 0..4 {
        let l = next_line(&mut lines).await.expect("event line");
        got.push(l);
    }
    let kinds: Vec<&str> = got.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ADDED", "MODIFIED", "MODIFIED", "DELETED"],
        "{got:?}"
    );
    assert!(got.iter().all(|l| l.contains(" py-new ")));
    let rvs: Vec<u64> = got
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
    assert_eq!(
        rvs[0].to_string(),
        created["metadata"]["resourceVersion"].as_str().unwrap()
    );
    assert_eq!(next_line(&mut lines).await.as_deref(), Some("END"));
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_leases_create_replace_conflict_and_patch() {
    let f = fixture_server("py-lease").await;
    let py = python();
    let kc = f.kubeconfig.to_str().unwrap();
    let out = run(
        &py,
        &[&script("lease_ops.py"), kc, "kyuubi-a", "reaper"],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    let steps: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let step = |n: &str| {
        steps
            .iter()
            .find(|s| s["step"] == n)
            .unwrap_or_else(|| panic!("no step {n}: {}", out.stdout))
            .clone()
    };

    let created = step("create");
    assert_eq!(created["ok"], true, "{created}");
    let c = &created["result"];
    assert_eq!(c["holder"], "py-a");
    assert_eq!(c["duration"], 15);
    // MicroTime keeps the microseconds
    assert_eq!(c["renewTime"], "2026-03-01T12:00:00.123456+00:00");
    assert_eq!(c["managers"], json!([["py-elector", "Update"]]));
    let again = step("create-again");
    assert_eq!(
        (again["status"].clone(), again["reason"].clone()),
        (json!(409), json!("AlreadyExists"))
    );
    assert_eq!(
        again["message"],
        "leases.coordination.k8s.io \"reaper\" already exists"
    );
    assert_eq!(
        again["details"],
        json!({"name": "reaper", "group": "coordination.k8s.io", "kind": "leases"})
    );

    // a replace with the version just read succeeds; one with an older version conflicts
    let renewed = step("renew");
    assert_eq!(renewed["ok"], true, "{renewed}");
    assert_eq!(
        renewed["result"]["renewTime"],
        "2026-03-01T12:00:02.123456+00:00"
    );
    let rv_read: u64 = step("read")["result"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rv_renewed: u64 = renewed["result"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv_renewed > rv_read);
    let stale = step("replace-stale");
    assert_eq!(stale["status"], 409);
    assert_eq!(stale["reason"], "Conflict");
    assert_eq!(
        stale["message"],
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"reaper\": the object has \
         been modified; please apply your changes to the latest version and try again"
    );

    // the client's patch content types: strategic merge for a dict, JSON patch for a list
    let strategic = step("patch-strategic");
    assert_eq!(strategic["ok"], true, "{strategic}");
    assert_eq!(strategic["result"]["holder"], "py-a");
    let json_patch = step("patch-json");
    assert_eq!(json_patch["result"]["transitions"], 1);
    let merge = step("patch-merge");
    assert_eq!(merge["result"]["holder"], "py-c");
    assert_eq!(
        merge["result"]["managers"],
        json!([
            ["OpenAPI-Generator", "Update"],
            ["py-elector", "Update"],
            ["py-merge", "Update"]
        ])
    );
    let invalid = step("patch-invalid");
    assert_eq!(invalid["status"], 422);
    assert_eq!(
        invalid["message"],
        "Lease.coordination.k8s.io \"reaper\" is invalid: spec.leaseDurationSeconds: Invalid \
         value: 0: must be greater than 0"
    );
    assert_eq!(step("list")["result"], json!(["reaper"]));
    assert_eq!(step("list-all")["result"], json!(["kyuubi-a/reaper"]));
    assert_eq!(step("delete")["result"], "Success");
    let gone = step("gone");
    assert_eq!(gone["status"], 404);
    assert_eq!(
        gone["message"],
        "leases.coordination.k8s.io \"reaper\" not found"
    );

    let patches: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.content_type.unwrap_or_default())
        .collect();
    assert_eq!(
        patches,
        [
            "application/strategic-merge-patch+json",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json"
        ]
    );
    assert!(f.server.leases().is_empty());
}
