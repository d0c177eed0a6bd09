//! The real `kubectl` (1.27 and 1.33, and the gcloud dispatcher) against the test server.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::Value;
use test_apiserver::{RecordedRequest, ServerConfig};

use crate::common::{
    Fixture, Kubectl, fixture_server, fixture_server_with, has_label, pod_names, wait_for,
};

const DRIVERS_TABLE: &[&str] = &[
    "NAMESPACE   NAME                            READY   STATUS      RESTARTS   AGE",
    "kyuubi-a    kyuubi-adhoc-b2c3d4e5-driver    1/1     Running     0          120m",
    "kyuubi-a    kyuubi-etl-a1b2c3d4-driver      0/1     Completed   0          3h",
    "kyuubi-a    kyuubi-report-c3d4e5f6-driver   0/1     Error       0          24h",
    "kyuubi-a    kyuubi-sql-d4e5f6a7-driver      0/1     Pending     0          40m",
    "kyuubi-b    kyuubi-batch-e5f6a7b8-driver    0/1     Completed   0          5d",
    "kyuubi-b    kyuubi-batch-f6a7b8c9-driver    1/1     Running     0          10m",
];

async fn get_drivers_table(version: &str) {
    let f = fixture_server(&format!("table-{version}")).await;
    let k = Kubectl::new(version, &f);
    let out = k
        .run(&["get", "pods", "-A", "-l", "kyuubi-unique-tag"])
        .await;
    out.ok();
    assert_eq!(out.lines(), DRIVERS_TABLE);
    // kubectl asked for a server-side Table
    let reqs = f.server.requests();
    let list = reqs
        .iter()
        .find(|r| r.path == "/api/v1/pods")
        .expect("list request");
    assert!(
        list.accept.as_deref().unwrap_or("").contains("as=Table"),
        "{:?}",
        list.accept
    );
    assert_eq!(list.param("labelSelector"), Some("kyuubi-unique-tag"));
    assert_eq!(list.param("limit"), Some("500"));

    // -o wide prints the priority-1 columns
    let wide = k
        .run(&[
            "get",
            "pods",
            "-n",
            "kyuubi-a",
            "-o",
            "wide",
            "kyuubi-sql-d4e5f6a7-driver",
            "kyuubi-adhoc-b2c3d4e5-driver",
        ])
        .await;
    wide.ok();
    assert_eq!(
        wide.lines(),
        [
            "NAME                           READY   STATUS    RESTARTS   AGE    IP           NODE       NOMINATED NODE   READINESS GATES",
            "kyuubi-sql-d4e5f6a7-driver     0/1     Pending   0          40m    <none>       <none>     <none>           <none>",
            "kyuubi-adhoc-b2c3d4e5-driver   1/1     Running   0          120m   10.64.0.21   worker-1   <none>           <none>",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_get_table() {
    get_drivers_table("1.27").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_get_table() {
    get_drivers_table("1.33").await;
}

async fn get_json_and_selectors(version: &str) {
    let f = fixture_server(&format!("json-{version}")).await;
    let k = Kubectl::new(version, &f);
    // -o json: the merged v1/List kubectl writes holds exactly the server's objects
    let out = k
        .run(&["get", "pods", "-A", "-l", "kyuubi-unique-tag", "-o", "json"])
        .await;
    out.ok();
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    let got = list["items"].as_array().unwrap();
    let want: Vec<Value> = f
        .server
        .pods()
        .into_iter()
        .filter(|p| has_label(p, "kyuubi-unique-tag"))
        .collect();
    assert_eq!(got.len(), 6);
    assert_eq!(got, &want);

    // field selector
    let out = k
        .run(&[
            "get",
            "pods",
            "-n",
            "kyuubi-a",
            "--field-selector",
            "status.phase=Succeeded",
            "-o",
            "name",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "pod/kyuubi-etl-a1b2c3d4-driver",
            "pod/kyuubi-etl-a1b2c3d4-exec-1",
            "pod/kyuubi-etl-a1b2c3d4-exec-2"
        ]
    );
    let out = k
        .run(&[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "status.phase!=Running,metadata.namespace=kyuubi-b",
            "-o",
            "name",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "pod/kyuubi-batch-e5f6a7b8-driver",
            "pod/kyuubi-batch-e5f6a7b8-exec-1"
        ]
    );

    // set-based selectors
    let out = k
        .run(&[
            "get",
            "pods",
            "-A",
            "-l",
            "spark-role in (driver,executor),!spark-exec-id,spark-app-name notin (kyuubi-batch)",
            "-o",
            "name",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "pod/kyuubi-adhoc-b2c3d4e5-driver",
            "pod/kyuubi-etl-a1b2c3d4-driver",
            "pod/kyuubi-report-c3d4e5f6-driver",
            "pod/kyuubi-sql-d4e5f6a7-driver",
        ]
    );
    let out = k
        .run(&[
            "get",
            "pods",
            "-n",
            "kyuubi-b",
            "-l",
            "spark-role!=driver",
            "-o",
            "name",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        ["pod/kyuubi-batch-e5f6a7b8-exec-1", "pod/kyuubi-server-0"]
    );

    // errors come back as the real server's 400s
    let out = k.run(&["get", "pods", "-A", "-l", "a in b"]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "Error from server (BadRequest): Unable to find \"/v1, Resource=pods\" that match label selector \"a in b\", \
         field selector \"\": unable to parse requirement: found 'b' expected: '('"
    );
    let out = k
        .run(&["get", "pods", "-A", "--field-selector", "spec.foo=bar"])
        .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("(BadRequest)")
            && out.stderr.contains("field label not supported: spec.foo"),
        "{}",
        out.stderr
    );

    // pagination through kubectl's --chunk-size
    f.server.clear_requests();
    let out = k
        .run(&["get", "pods", "-A", "--chunk-size=2", "-o", "name"])
        .await;
    out.ok();
    assert_eq!(out.lines().len(), 13);
    let pages: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods")
        .collect();
    assert_eq!(pages.len(), 7, "{pages:?}");
    assert!(pages[1..].iter().all(|r| r.param("continue").is_some()));

    // get one pod, and a missing one
    let out = k
        .run(&[
            "get",
            "pod",
            "-n",
            "default",
            "debug",
            "-o",
            "jsonpath={.metadata.uid}",
        ])
        .await;
    out.ok();
    assert_eq!(out.stdout, "5a1e0000-0000-4000-8000-000000000013");
    let out = k.run(&["get", "pod", "-n", "default", "nope"]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "Error from server (NotFound): pods \"nope\" not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_json_and_selectors() {
    get_json_and_selectors("1.27").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_json_and_selectors() {
    get_json_and_selectors("1.33").await;
}

fn exists(f: &Fixture, ns: &str, name: &str) -> bool {
    f.server.get_pod(ns, name).is_some()
}

async fn deletes(version: &str) {
    let f = fixture_server(&format!("delete-{version}")).await;
    let k = Kubectl::new(version, &f);

    // server-side dry run: nothing changes
    let rv = f.server.resource_version();
    let out = k
        .run(&[
            "delete",
            "pod",
            "-n",
            "kyuubi-a",
            "kyuubi-etl-a1b2c3d4-driver",
            "--dry-run=server",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "pod \"kyuubi-etl-a1b2c3d4-driver\" deleted (server dry run)"
    );
    assert!(exists(&f, "kyuubi-a", "kyuubi-etl-a1b2c3d4-driver"));
    assert_eq!(f.server.resource_version(), rv);
    let dry = f
        .server
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    let body: Value = serde_json::from_str(&dry.body).unwrap();
    assert_eq!(body["dryRun"], serde_json::json!(["All"]));

    // delete by label without waiting: terminal drivers go at once, executors cascade,
    // the running driver is terminating for its grace period
    let out = k
        .run(&[
            "delete",
            "pods",
            "-n",
            "kyuubi-b",
            "-l",
            "kyuubi-unique-tag",
            "--wait=false",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "pod \"kyuubi-batch-e5f6a7b8-driver\" deleted",
            "pod \"kyuubi-batch-f6a7b8c9-driver\" deleted"
        ]
    );
    assert!(!exists(&f, "kyuubi-b", "kyuubi-batch-e5f6a7b8-driver"));
    assert!(
        !exists(&f, "kyuubi-b", "kyuubi-batch-e5f6a7b8-exec-1"),
        "executor cascaded"
    );
    let running = f
        .server
        .get_pod("kyuubi-b", "kyuubi-batch-f6a7b8c9-driver")
        .expect("still terminating");
    assert_eq!(
        running["metadata"]["deletionTimestamp"],
        "2026-03-01T12:00:30Z"
    );
    let out = k.run(&["get", "pods", "-n", "kyuubi-b"]).await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "NAME                           READY   STATUS        RESTARTS   AGE",
            "kyuubi-batch-f6a7b8c9-driver   1/1     Terminating   0          10m",
            "kyuubi-server-0                1/1     Running       0          30d",
        ]
    );
    f.server.advance_clock(SignedDuration::from_secs(30));
    assert!(!exists(&f, "kyuubi-b", "kyuubi-batch-f6a7b8c9-driver"));

    // delete of a terminal pod with the default --wait=true returns (list+watch see it gone)
    let out = k
        .run(&[
            "delete",
            "pod",
            "-n",
            "kyuubi-a",
            "kyuubi-report-c3d4e5f6-driver",
        ])
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "pod \"kyuubi-report-c3d4e5f6-driver\" deleted"
    );

    // delete of a running pod with the default --wait=true: kubectl watches until the grace
    // period passes on the server clock
    f.server.clear_requests();
    let args: Vec<String> = k
        .args(&[
            "delete",
            "pod",
            "-n",
            "kyuubi-a",
            "kyuubi-adhoc-b2c3d4e5-driver",
        ])
        .into_iter()
        .map(str::to_string)
        .collect();
    let bin = k.bin.clone();
    let child = tokio::spawn(async move {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::common::run(&bin, &a, Duration::from_secs(60)).await
    });
    wait_for(
        "kubectl to watch the deletion",
        Duration::from_secs(30),
        || {
            f.server
                .requests()
                .iter()
                .any(test_apiserver::RecordedRequest::is_watch)
        },
    )
    .await;
    assert!(
        !child.is_finished(),
        "kubectl must wait while the pod terminates"
    );
    let w = f
        .server
        .requests()
        .into_iter()
        .find(test_apiserver::RecordedRequest::is_watch)
        .unwrap();
    assert_eq!(
        w.param("fieldSelector"),
        Some("metadata.name=kyuubi-adhoc-b2c3d4e5-driver")
    );
    f.server.advance_clock(SignedDuration::from_secs(30));
    let out = tokio::time::timeout(Duration::from_secs(30), child)
        .await
        .expect("kubectl finished")
        .unwrap();
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "pod \"kyuubi-adhoc-b2c3d4e5-driver\" deleted"
    );
    assert!(!exists(&f, "kyuubi-a", "kyuubi-adhoc-b2c3d4e5-driver"));
    // its running executor was deleted by the GC, gracefully
    let exec = f
        .server
        .get_pod("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-exec-1")
        .expect("executor terminating");
    assert!(exec["metadata"]["deletionTimestamp"].is_string());

    // --cascade=orphan keeps executors and strips their ownerReferences
    let out = k
        .run(&[
            "delete",
            "pod",
            "-n",
            "kyuubi-a",
            "kyuubi-etl-a1b2c3d4-driver",
            "--cascade=orphan",
        ])
        .await;
    out.ok();
    for e in ["kyuubi-etl-a1b2c3d4-exec-1", "kyuubi-etl-a1b2c3d4-exec-2"] {
        let p = f
            .server
            .get_pod("kyuubi-a", e)
            .expect("orphaned executor kept");
        assert!(p["metadata"].get("ownerReferences").is_none(), "{p}");
    }
    assert!(!exists(&f, "kyuubi-a", "kyuubi-etl-a1b2c3d4-driver"));

    // a precondition conflict through --raw with a DeleteOptions body
    let body = f.dir.path().join("delete-options.json");
    std::fs::write(
        &body,
        r#"{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-the-uid"}}"#,
    )
    .unwrap();
    let out = k
        .run(&[
            "delete",
            "--raw",
            "/api/v1/namespaces/default/pods/debug",
            "-f",
            body.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stderr.contains("Operation cannot be fulfilled on Pod \"debug\": the UID in the precondition (not-the-uid) does not match the UID in record (5a1e0000-0000-4000-8000-000000000013)"),
        "{}",
        out.stderr
    );
    assert!(exists(&f, "default", "debug"));
    let names = pod_names(&f.server, |_| true);
    assert_eq!(
        names,
        [
            "default/debug",
            "kyuubi-a/kyuubi-adhoc-b2c3d4e5-exec-1",
            "kyuubi-a/kyuubi-etl-a1b2c3d4-exec-1",
            "kyuubi-a/kyuubi-etl-a1b2c3d4-exec-2",
            "kyuubi-a/kyuubi-sql-d4e5f6a7-driver",
            "kyuubi-a/web-5d9f7c6b8-x2x7k",
            "kyuubi-b/kyuubi-server-0",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_deletes() {
    deletes("1.27").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_deletes() {
    deletes("1.33").await;
}

/// `kubectl delete pods -A -l kyuubi-unique-tag`: the reaper's obvious alternative.
async fn deletes_across_namespaces(version: &str) {
    let f = fixture_server(&format!("delete-all-{version}")).await;
    let k = Kubectl::new(version, &f);
    let drivers = pod_names(&f.server, |p| has_label(p, "kyuubi-unique-tag"));
    assert_eq!(drivers.len(), 6);
    let all = pod_names(&f.server, |_| true);
    let deleted_lines = |suffix: &str| -> Vec<String> {
        drivers
            .iter()
            .map(|d| format!("pod \"{}\" deleted{suffix}", d.split_once('/').unwrap().1))
            .collect()
    };

    // a server-side dry run of the whole selection changes nothing
    let rv = f.server.resource_version();
    let out = k
        .run(&[
            "delete",
            "pods",
            "-A",
            "-l",
            "kyuubi-unique-tag",
            "--dry-run=server",
        ])
        .await;
    out.ok();
    assert_eq!(out.lines(), deleted_lines(" (server dry run)"));
    assert_eq!(f.server.resource_version(), rv);
    assert_eq!(pod_names(&f.server, |_| true), all);
    let dry: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(dry.len(), 6);
    for r in &dry {
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["dryRun"], serde_json::json!(["All"]), "{}", r.body);
        assert_eq!(r.status, 200);
    }

    // the real thing, without waiting
    f.server.clear_requests();
    let out = k
        .run(&[
            "delete",
            "pods",
            "-A",
            "-l",
            "kyuubi-unique-tag",
            "--wait=false",
        ])
        .await;
    out.ok();
    assert_eq!(out.lines(), deleted_lines(""));
    // terminated and unscheduled drivers are gone at once, with the executors of the
    // terminated ones; running drivers terminate for their grace period, and their running
    // executors stay until the owner is really gone (Background propagation)
    assert_eq!(
        pod_names(&f.server, |_| true),
        [
            "default/debug",
            "kyuubi-a/kyuubi-adhoc-b2c3d4e5-driver",
            "kyuubi-a/kyuubi-adhoc-b2c3d4e5-exec-1",
            "kyuubi-a/web-5d9f7c6b8-x2x7k",
            "kyuubi-b/kyuubi-batch-f6a7b8c9-driver",
            "kyuubi-b/kyuubi-server-0",
        ]
    );
    for (ns, n) in [
        ("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-driver"),
        ("kyuubi-b", "kyuubi-batch-f6a7b8c9-driver"),
    ] {
        let p = f.server.get_pod(ns, n).unwrap();
        assert_eq!(p["metadata"]["deletionTimestamp"], "2026-03-01T12:00:30Z");
    }
    // one cluster-wide list, then one DELETE per pod on its namespaced path
    let reqs: Vec<_> = f
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/pods"))
        .collect();
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/api/v1/pods");
    assert_eq!(reqs[0].param("labelSelector"), Some("kyuubi-unique-tag"));
    let deletes: Vec<String> = reqs[1..]
        .iter()
        .map(|r| {
            assert_eq!((r.method.as_str(), r.status), ("DELETE", 200));
            let body: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body["propagationPolicy"], "Background", "{}", r.body);
            r.path.clone()
        })
        .collect();
    let want: Vec<String> = drivers
        .iter()
        .map(|d| {
            let (ns, n) = d.split_once('/').unwrap();
            format!("/api/v1/namespaces/{ns}/pods/{n}")
        })
        .collect();
    assert_eq!(deletes, want);
    assert!(!f.server.requests().iter().any(RecordedRequest::is_watch));

    // once the grace period passes, the running drivers go and the GC deletes their executor
    f.server.advance_clock(SignedDuration::from_secs(30));
    assert!(!exists(&f, "kyuubi-a", "kyuubi-adhoc-b2c3d4e5-driver"));
    assert!(!exists(&f, "kyuubi-b", "kyuubi-batch-f6a7b8c9-driver"));
    let exec = f
        .server
        .get_pod("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-exec-1")
        .expect("executor terminating");
    assert!(exec["metadata"]["deletionTimestamp"].is_string());
    let out = k
        .run(&["get", "pods", "-A", "-l", "kyuubi-unique-tag", "-o", "name"])
        .await;
    out.ok();
    assert_eq!(out.stdout, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_deletes_across_namespaces() {
    deletes_across_namespaces("1.27").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_deletes_across_namespaces() {
    deletes_across_namespaces("1.33").await;
}

/// The gcloud `kubectl` dispatcher reads `/version` and runs the `kubectl.1.N` that matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_dispatcher_picks_the_server_minor() {
    let dir = crate::common::kubectl_dir();
    let dispatcher = dir.join("kubectl");
    assert!(
        dispatcher.is_file(),
        "the kubectl dispatcher is missing from {}",
        dir.display()
    );
    let f = fixture_server_with(
        "dispatcher",
        ServerConfig {
            version: "v1.29.4".into(),
            ..ServerConfig::default()
        },
    )
    .await;
    let cache = f.dir.path().join("cache");
    let out = crate::common::run(
        &dispatcher,
        &[
            "--kubeconfig",
            f.kubeconfig.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "get",
            "pods",
            "-n",
            "default",
            "-o",
            "name",
        ],
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    assert_eq!(out.lines(), ["pod/debug"]);
    let reqs = f.server.requests();
    assert_eq!(reqs[0].path, "/version");
    let list = reqs
        .iter()
        .find(|r| r.path == "/api/v1/namespaces/default/pods")
        .unwrap();
    let ua = list.user_agent.clone().unwrap_or_default();
    assert!(
        ua.starts_with("kubectl1.29") || ua.starts_with("kubectl.1.29") || ua.contains("v1.29"),
        "{ua}"
    );
}
