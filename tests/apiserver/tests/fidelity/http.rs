//! Protocol-level checks over raw HTTP: headers, Status bodies, continue tokens, watch
//! semantics, Table and metadata-only answers, auth, and fault injection.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::{Value, json};
use test_apiserver::{FaultAction, FaultConfig, FaultRule, ServerConfig};

use crate::common::{fixture_server, fixture_server_with, get, raw};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_date_header() {
    let f = fixture_server("discovery").await;
    let r = get(&f.server, "/version").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("date"), Some("Sun, 01 Mar 2026 12:00:00 GMT"));
    let v = r.json();
    assert_eq!(
        (
            v["major"].as_str(),
            v["minor"].as_str(),
            v["gitVersion"].as_str()
        ),
        (Some("1"), Some("33"), Some("v1.33.0"))
    );
    let api = get(&f.server, "/api/v1").await.json();
    let pods = api["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap()
        .clone();
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert!(pods["verbs"].as_array().unwrap().contains(&json!("watch")));
    let r = raw(
        &f.server,
        "GET",
        "/apis",
        &[(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )],
        b"",
    )
    .await;
    assert_eq!(r.json()["kind"], "APIGroupList");
    let r = get(&f.server, "/apis/apps/v1/deployments").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server could not find the requested resource","reason":"NotFound","details":{},"code":404})
    );
    f.server.advance_clock(SignedDuration::from_hours(1));
    assert_eq!(
        get(&f.server, "/healthz").await.header("date"),
        Some("Sun, 01 Mar 2026 13:00:00 GMT")
    );
    let ns = get(&f.server, "/api/v1/namespaces").await.json();
    let names: Vec<&str> = ns["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "kyuubi-a",
            "kyuubi-b"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_continue_tokens_and_errors() {
    let f = fixture_server("lists").await;
    let p1 = get(&f.server, "/api/v1/pods?limit=5").await.json();
    assert_eq!(p1["kind"], "PodList");
    assert_eq!(p1["items"].as_array().unwrap().len(), 5);
    let rv = p1["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let tok = p1["metadata"]["continue"].as_str().unwrap().to_string();
    // the token is the real server's format
    let raw_tok =
        String::from_utf8(test_apiserver::continue_token::b64_decode(&tok).unwrap()).unwrap();
    assert_eq!(p1["items"][0]["metadata"]["name"], "debug");
    assert_eq!(
        raw_tok,
        format!(
            r#"{{"v":"meta.k8s.io/v1","rv":{rv},"start":"kyuubi-a/kyuubi-etl-a1b2c3d4-exec-1\u0000"}}"#
        )
    );
    // changes between pages are not seen by the paged list
    f.server
        .remove_pod("kyuubi-a", "kyuubi-report-c3d4e5f6-driver")
        .unwrap();
    let p2 = get(&f.server, &format!("/api/v1/pods?limit=5&continue={tok}"))
        .await
        .json();
    assert_eq!(p2["metadata"]["resourceVersion"], rv.as_str());
    assert_eq!(
        p2["items"][0]["metadata"]["name"],
        "kyuubi-etl-a1b2c3d4-exec-2"
    );
    assert_eq!(
        p2["items"][1]["metadata"]["name"],
        "kyuubi-report-c3d4e5f6-driver"
    );
    // garbage and expired tokens
    let bad = get(&f.server, "/api/v1/pods?limit=5&continue=garbage!").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["message"],
        "invalid continue token: continue key is not valid: illegal base64 data at input byte 7"
    );
    f.server.compact();
    let gone = get(&f.server, &format!("/api/v1/pods?limit=5&continue={tok}")).await;
    assert_eq!(gone.status, 410);
    let g = gone.json();
    assert_eq!(g["reason"], "Expired");
    assert!(
        g["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    let inconsistent = g["metadata"]["continue"].as_str().unwrap();
    let rest = get(
        &f.server,
        &format!("/api/v1/pods?limit=50&continue={inconsistent}"),
    )
    .await
    .json();
    assert_eq!(
        rest["items"][0]["metadata"]["name"],
        "kyuubi-etl-a1b2c3d4-exec-2"
    );
    assert_eq!(
        rest["items"][1]["metadata"]["name"],
        "kyuubi-sql-d4e5f6a7-driver"
    );
    // resourceVersion + continue is refused
    let both = get(
        &f.server,
        &format!("/api/v1/pods?continue={tok}&resourceVersion=5"),
    )
    .await;
    assert_eq!(
        both.json()["message"],
        "specifying resource version is not allowed when using continue"
    );
    // selectors
    let bad = get(&f.server, "/api/v1/pods?labelSelector=a%20in%20b").await;
    assert_eq!(
        bad.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"unable to parse requirement: found 'b' expected: '('","reason":"BadRequest","code":400})
    );
    let bad = get(&f.server, "/api/v1/pods?fieldSelector=spec.foo%3Dbar").await;
    assert_eq!(bad.json()["message"], "field label not supported: spec.foo");
    // exact resource version reads
    let exact = get(
        &f.server,
        &format!("/api/v1/pods?resourceVersion={rv}&resourceVersionMatch=Exact"),
    )
    .await;
    assert_eq!(exact.status, 410);
    let future = get(
        &f.server,
        "/api/v1/pods?resourceVersion=999999&resourceVersionMatch=NotOlderThan",
    )
    .await;
    assert_eq!(future.status, 504);
    assert_eq!(
        future.json()["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_and_metadata_answers() {
    let f = fixture_server("table").await;
    let t = raw(
        &f.server,
        "GET",
        "/api/v1/namespaces/kyuubi-b/pods?limit=500",
        &[(
            "Accept",
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
        )],
        b"",
    )
    .await
    .json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1beta1");
    assert_eq!(t["columnDefinitions"].as_array().unwrap().len(), 9);
    let row = &t["rows"][0];
    assert_eq!(
        row["cells"],
        json!([
            "kyuubi-batch-e5f6a7b8-driver",
            "0/1",
            "Completed",
            "0",
            "5d",
            "10.64.1.11",
            "worker-3",
            "<none>",
            "<none>"
        ])
    );
    assert_eq!(row["conditions"][0]["type"], "Completed");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(row["object"]["apiVersion"], "meta.k8s.io/v1beta1");
    assert!(row["object"].get("spec").is_none());
    let t = raw(
        &f.server,
        "GET",
        "/api/v1/namespaces/kyuubi-b/pods/kyuubi-server-0?includeObject=Object",
        &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        b"",
    )
    .await
    .json();
    assert_eq!(t["rows"][0]["object"]["kind"], "Pod");
    let m = raw(
        &f.server,
        "GET",
        "/api/v1/pods?labelSelector=spark-role%3Ddriver",
        &[(
            "Accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        )],
        b"",
    )
    .await
    .json();
    assert_eq!(m["kind"], "PartialObjectMetadataList");
    assert_eq!(m["items"].as_array().unwrap().len(), 6);
    assert!(m["items"][0]["metadata"]["labels"]["kyuubi-unique-tag"].is_string());
    let y = raw(
        &f.server,
        "GET",
        "/api/v1/namespaces/default/pods/debug",
        &[("Accept", "application/yaml")],
        b"",
    )
    .await;
    assert!(String::from_utf8_lossy(&y.body).contains("name: debug"));
    let proto = raw(
        &f.server,
        "GET",
        "/api/v1/pods",
        &[("Accept", "application/vnd.kubernetes.protobuf")],
        b"",
    )
    .await;
    assert_eq!(proto.status, 406);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_semantics() {
    let f = fixture_server_with(
        "watch",
        ServerConfig {
            bookmark_interval: Duration::from_millis(200),
            ..ServerConfig::default()
        },
    )
    .await;
    let rv0 = f.server.resource_version();
    // resourceVersion unset: synthetic ADDED for the current state, then the stream ends
    let r = get(
        &f.server,
        "/api/v1/namespaces/kyuubi-b/pods?watch=true&timeoutSeconds=1",
    )
    .await;
    assert_eq!(r.status, 200);
    let evs = r.lines();
    assert_eq!(evs.len(), 4);
    assert!(evs.iter().all(|e| e["type"] == "ADDED"));
    // replay from a resource version, with a selector transition and a deletion
    f.server
        .update_pod("kyuubi-b", "kyuubi-server-0", |p| {
            p["metadata"]["labels"]["kyuubi-unique-tag"] = json!("x");
        })
        .unwrap();
    f.server
        .update_pod("kyuubi-b", "kyuubi-server-0", |p| {
            p["metadata"]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("kyuubi-unique-tag");
        })
        .unwrap();
    f.server
        .remove_pod("kyuubi-b", "kyuubi-batch-f6a7b8c9-driver")
        .unwrap();
    let r = get(&f.server, &format!("/api/v1/pods?watch=1&labelSelector=kyuubi-unique-tag&resourceVersion={rv0}&timeoutSeconds=1&allowWatchBookmarks=true")).await;
    let evs: Vec<Value> = r
        .lines()
        .into_iter()
        .filter(|e| e["type"] != "BOOKMARK")
        .collect();
    let got: Vec<(String, String)> = evs
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ADDED".into(), "kyuubi-server-0".into()),
            ("DELETED".into(), "kyuubi-server-0".into()),
            ("DELETED".into(), "kyuubi-batch-f6a7b8c9-driver".into()),
        ]
    );
    // the DELETED for the selector transition carries the old labels and the new resourceVersion
    assert_eq!(
        evs[1]["object"]["metadata"]["labels"]["kyuubi-unique-tag"],
        "x"
    );
    assert_eq!(
        evs[1]["object"]["metadata"]["resourceVersion"],
        (rv0 + 2).to_string()
    );
    // bookmarks carry only the resource version
    let bookmarks: Vec<Value> = r
        .lines()
        .into_iter()
        .filter(|e| e["type"] == "BOOKMARK")
        .collect();
    assert!(!bookmarks.is_empty());
    assert_eq!(
        bookmarks.last().unwrap()["object"]["metadata"]["resourceVersion"],
        f.server.resource_version().to_string()
    );
    // sendInitialEvents ends the initial burst with an annotated bookmark
    let r = get(&f.server, "/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1").await;
    let evs = r.lines();
    assert_eq!(evs[0]["type"], "ADDED");
    assert_eq!(evs[1]["type"], "BOOKMARK");
    assert_eq!(
        evs[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // too old: an ERROR event with a 410 Status inside a 200 response
    f.server.compact();
    let r = get(
        &f.server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv0}"),
    )
    .await;
    assert_eq!(r.status, 200);
    let evs = r.lines();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["type"], "ERROR");
    assert_eq!(evs[0]["object"]["code"], 410);
    assert_eq!(evs[0]["object"]["reason"], "Expired");
    assert_eq!(
        evs[0]["object"]["message"],
        format!(
            "too old resource version: {rv0} ({})",
            f.server.resource_version()
        )
    );
    // legacy watch path, single object
    let r = get(
        &f.server,
        "/api/v1/watch/namespaces/default/pods/debug?timeoutSeconds=1",
    )
    .await;
    assert_eq!(r.lines().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_deletion_over_http() {
    let f = fixture_server("grace").await;
    let path = "/api/v1/namespaces/kyuubi-a/pods/kyuubi-adhoc-b2c3d4e5-driver";
    // a running pod on a node: 200 with the object, deletionTimestamp = now + 30s
    let r = raw(
        &f.server,
        "DELETE",
        path,
        &[],
        br#"{"propagationPolicy":"Foreground"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let p = r.json();
    assert_eq!(p["metadata"]["deletionTimestamp"], "2026-03-01T12:00:30Z");
    assert_eq!(p["metadata"]["deletionGracePeriodSeconds"], 30);
    assert_eq!(p["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    // orphanDependents=false on a pod that is not deleted at once: 202
    let r = raw(
        &f.server,
        "DELETE",
        "/api/v1/namespaces/kyuubi-b/pods/kyuubi-batch-f6a7b8c9-driver?orphanDependents=false",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 202);
    // bad options are 422 Invalid
    let r = raw(
        &f.server,
        "DELETE",
        path,
        &[],
        br#"{"propagationPolicy":"Sideways"}"#,
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["details"]["causes"][0]["field"],
        "propagationPolicy"
    );
    // the body wins over query parameters (like the real handler)
    let r = raw(
        &f.server,
        "DELETE",
        "/api/v1/namespaces/default/pods/debug?dryRun=All",
        &[],
        br#"{"gracePeriodSeconds":0}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(f.server.get_pod("default", "debug").is_none());
    // the foreground owner waits for its blocking dependents... the executor has no
    // blockOwnerDeletion, so only the grace period holds the driver
    assert!(
        f.server
            .get_pod("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-driver")
            .is_some()
    );
    f.server.advance_clock(SignedDuration::from_secs(31));
    assert!(
        f.server
            .get_pod("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-driver")
            .is_none()
    );
    assert!(
        f.server
            .get_pod("kyuubi-a", "kyuubi-adhoc-b2c3d4e5-exec-1")
            .is_none()
    );
    // create, conflict on stale update, and already-exists
    let body = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"gen-"},"spec":{"containers":[{"name":"c","image":"x"}]}}"#;
    let r = raw(
        &f.server,
        "POST",
        "/api/v1/namespaces/kyuubi-a/pods",
        &[],
        body,
    )
    .await;
    assert_eq!(r.status, 201);
    let created = r.json();
    assert_eq!(
        created["metadata"]["creationTimestamp"],
        "2026-03-01T12:00:31Z"
    );
    assert_eq!(created["status"]["phase"], "Pending");
    let name = created["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9);
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let r = raw(
        &f.server,
        "PUT",
        &format!("/api/v1/namespaces/kyuubi-a/pods/{name}"),
        &[],
        stale.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 409);
    let again = json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c"}]}});
    let r = raw(
        &f.server,
        "POST",
        "/api/v1/namespaces/kyuubi-a/pods",
        &[],
        again.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "AlreadyExists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_deterministic_and_scoped() {
    let f = fixture_server("faults").await;
    f.server.set_faults(FaultConfig {
        seed: 3,
        rules: vec![
            FaultRule {
                path: Some("/api/v1/namespaces/*/pods".into()),
                times: Some(1),
                ..FaultRule::always(FaultAction::DropConnection { fraction: 0.5 })
            },
            FaultRule {
                method: Some("DELETE".into()),
                times: Some(1),
                ..FaultRule::always(FaultAction::Error(503))
            },
            FaultRule {
                path: Some("/api/v1/pods".into()),
                watch: Some(true),
                ..FaultRule::always(FaultAction::CutWatch { after_events: 2 })
            },
            FaultRule {
                path: Some("/version".into()),
                ..FaultRule::always(FaultAction::Latency(Duration::from_millis(150)))
            },
        ],
    });
    let r = get(&f.server, "/api/v1/namespaces/kyuubi-a/pods").await;
    assert!(r.truncated, "the connection was dropped mid-body");
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert_eq!(
        get(&f.server, "/api/v1/namespaces/kyuubi-a/pods")
            .await
            .status,
        200
    );
    let r = raw(
        &f.server,
        "DELETE",
        "/api/v1/namespaces/default/pods/debug",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["reason"], "ServiceUnavailable");
    assert!(f.server.get_pod("default", "debug").is_some());
    let r = get(&f.server, "/api/v1/pods?watch=true&timeoutSeconds=5").await;
    assert_eq!(r.lines().len(), 2);
    let t = std::time::Instant::now();
    assert_eq!(get(&f.server, "/version").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let log = f.server.requests();
    assert_eq!(log[0].fault.as_deref(), Some("drop=0.5"));
    assert_eq!(log[2].fault.as_deref(), Some("status=503"));
    // the same seed and order give the same decisions
    let decide = |seed: u64| async move {
        let g = fixture_server(&format!("faults-seed-{seed}")).await;
        g.server.set_faults(FaultConfig {
            seed,
            rules: vec![FaultRule {
                probability: 0.5,
                ..FaultRule::always(FaultAction::Error(500))
            }],
        });
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(
                get(&g.server, "/api/v1/namespaces/default/pods")
                    .await
                    .status,
            );
        }
        v
    };
    let a = decide(11).await;
    assert_eq!(a, decide(11).await);
    assert!(a.contains(&500) && a.contains(&200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_auth() {
    let f = fixture_server_with(
        "auth",
        ServerConfig {
            token: Some("s3cret".into()),
            ..ServerConfig::default()
        },
    )
    .await;
    assert!(
        std::fs::read_to_string(&f.kubeconfig)
            .unwrap()
            .contains("token: \"s3cret\"")
    );
    assert_eq!(get(&f.server, "/version").await.status, 200);
    let r = get(&f.server, "/api/v1/pods").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        "pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" at the cluster scope"
    );
    let r = raw(
        &f.server,
        "GET",
        "/api/v1/pods",
        &[("Authorization", "Bearer nope")],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["reason"], "Unauthorized");
    let r = raw(
        &f.server,
        "GET",
        "/api/v1/pods",
        &[("Authorization", "Bearer s3cret")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    // client-go reads credentials only for TLS servers, so kubectl is anonymous over http,
    // and gets the real server's answer for that
    let k = crate::common::Kubectl::new("1.33", &f);
    let out = k.run(&["get", "pods", "-n", "default", "-o", "name"]).await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("Error from server (Forbidden)"),
        "{}",
        out.stderr
    );
    assert!(
        f.server
            .requests()
            .iter()
            .filter(|r| r.path == "/api")
            .all(|r| !r.authorization && r.status == 403)
    );
    // kube-rs does send the token
    let kc = kube::config::Kubeconfig::read_from(&f.kubeconfig).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
    let pods = api.list(&kube::api::ListParams::default()).await.unwrap();
    assert_eq!(pods.items.len(), 1);
}

/// Send one keep-alive HTTP/1.1 request and return the open connection.
async fn send_keep_alive(
    server: &test_apiserver::TestApiServer,
    method: &str,
    path: &str,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\r\n",
        server.addr()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s
}

/// Read what the server sends within `wait`: `(bytes, eof)`; `eof` is false when the time ran
/// out with the connection still open.
async fn read_for(s: &mut tokio::net::TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt as _;
    let mut buf = Vec::new();
    match tokio::time::timeout(wait, s.read_to_end(&mut buf)).await {
        Ok(_) => (buf, true),
        Err(_) => (buf, false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_fault_never_answers_and_does_not_block_shutdown() {
    let f = fixture_server("hang").await;
    f.server.set_faults(FaultConfig {
        seed: 0,
        rules: vec![FaultRule {
            method: Some("DELETE".into()),
            path: Some("/api/v1/namespaces/*/pods/*".into()),
            ..FaultRule::parse("action=hang").unwrap()
        }],
    });
    let path = "/api/v1/namespaces/default/pods/debug";

    // a client that waits 1 s gets nothing at all, not even a status line
    let mut s = send_keep_alive(&f.server, "DELETE", path).await;
    let (bytes, eof) = read_for(&mut s, Duration::from_secs(1)).await;
    assert!(
        bytes.is_empty() && !eof,
        "no answer and an open connection, got {:?} (eof {eof})",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(f.server.hanging_requests(), 1);
    // the request was read and logged, but not carried out
    let log = f.server.requests();
    let last = log.last().unwrap();
    assert_eq!(
        (
            last.method.as_str(),
            last.path.as_str(),
            last.status,
            last.fault.as_deref()
        ),
        ("DELETE", path, 0, Some("hang"))
    );
    assert!(f.server.get_pod("default", "debug").is_some());
    // the rest of the server keeps answering meanwhile
    assert_eq!(get(&f.server, path).await.status, 200);
    // the client gives up and closes: the server lets go of the request
    drop(s);
    crate::common::wait_for(
        "the server to drop the abandoned request",
        Duration::from_secs(10),
        || f.server.hanging_requests() == 0,
    )
    .await;

    // real clients with a 1 s timeout time out: kube-rs (what kyuubi-reaper uses) and kubectl
    let kc = kube::config::Kubeconfig::read_from(&f.kubeconfig).unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    config.read_timeout = Some(Duration::from_secs(1));
    let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
        kube::Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
    let t = std::time::Instant::now();
    let err = tokio::time::timeout(
        Duration::from_secs(20),
        api.delete("debug", &kube::api::DeleteParams::background()),
    )
    .await
    .expect("kube-rs gives up by itself")
    .expect_err("no answer");
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "{err} after {:?}",
        t.elapsed()
    );
    assert!(!matches!(err, kube::Error::Api(_)), "{err:?}");
    let k = crate::common::Kubectl::new("1.33", &f);
    let t = std::time::Instant::now();
    let out = k
        .run(&[
            "--request-timeout=1s",
            "delete",
            "pod",
            "-n",
            "default",
            "debug",
            "--wait=false",
        ])
        .await;
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(t.elapsed() < Duration::from_secs(30));
    let stderr = out.stderr.to_ascii_lowercase();
    assert!(
        stderr.contains("timeout") || stderr.contains("deadline"),
        "{}",
        out.stderr
    );
    assert!(f.server.get_pod("default", "debug").is_some());
    assert!(
        f.server
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .all(|r| r.status == 0 && r.fault.as_deref() == Some("hang"))
    );

    // hanging connections do not hold up shutdown, and are closed without an answer
    let mut a = send_keep_alive(&f.server, "DELETE", path).await;
    let mut b = send_keep_alive(
        &f.server,
        "DELETE",
        "/api/v1/namespaces/kyuubi-a/pods/kyuubi-etl-a1b2c3d4-driver",
    )
    .await;
    crate::common::wait_for("two hanging requests", Duration::from_secs(10), || {
        f.server.hanging_requests() == 2
    })
    .await;
    let crate::common::Fixture { server, dir, .. } = f;
    let t = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        t.elapsed()
    );
    for s in [&mut a, &mut b] {
        let (bytes, eof) = read_for(s, Duration::from_secs(5)).await;
        assert!(eof, "closed at shutdown");
        assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    }
    drop(dir);
}

/// Like the real installer: the cluster-wide pod path has only list and watch, the watch paths
/// only GET; a collection delete works per namespace only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cluster_wide_delete_collection() {
    let f = fixture_server("no-cluster-deletecollection").await;
    let before = f.server.pod_count();
    let rv = f.server.resource_version();
    for (method, path) in [
        ("DELETE", "/api/v1/pods?labelSelector=kyuubi-unique-tag"),
        ("DELETE", "/api/v1/pods"),
        ("POST", "/api/v1/pods"),
        ("DELETE", "/api/v1/watch/namespaces/default/pods/debug"),
        ("DELETE", "/api/v1/watch/namespaces/kyuubi-b/pods"),
    ] {
        let r = raw(&f.server, method, path, &[], b"").await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(
            r.json(),
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "the server does not allow this method on the requested resource",
                "reason": "MethodNotAllowed",
                "details": {"causes": [{"reason": "UnexpectedServerResponse", "message": "405: Method Not Allowed"}]},
                "code": 405}),
            "{method} {path}"
        );
    }
    assert_eq!(f.server.pod_count(), before);
    assert_eq!(f.server.resource_version(), rv);

    // kube-rs: `Api::all(..).delete_collection` fails as it would on a cluster
    let kc = kube::config::Kubeconfig::read_from(&f.kubeconfig).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let all: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(client.clone());
    let lp = kube::api::ListParams::default().labels("kyuubi-unique-tag");
    let err = all
        .delete_collection(&kube::api::DeleteParams::background(), &lp)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 405 && s.reason == "MethodNotAllowed"),
        "{err:?}"
    );
    assert_eq!(f.server.pod_count(), before);
    // per namespace it works: the two drivers of kyuubi-b go (and the executor of the
    // terminated one)
    let ns: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "kyuubi-b");
    let out = ns
        .delete_collection(&kube::api::DeleteParams::background(), &lp)
        .await
        .unwrap();
    let list = out.left().expect("the deleted pods");
    let names: Vec<_> = list
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "kyuubi-batch-e5f6a7b8-driver",
            "kyuubi-batch-f6a7b8c9-driver"
        ]
    );
    assert!(
        f.server
            .get_pod("kyuubi-b", "kyuubi-batch-e5f6a7b8-exec-1")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_over_http() {
    let f = fixture_server("leases-http").await;
    // discovery: the group, its version, and the resource
    let apis = get(&f.server, "/apis").await.json();
    assert_eq!(
        apis["groups"],
        json!([{"name": "coordination.k8s.io",
            "versions": [{"groupVersion": "coordination.k8s.io/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "coordination.k8s.io/v1", "version": "v1"}}])
    );
    let group = get(&f.server, "/apis/coordination.k8s.io").await.json();
    assert_eq!(group["kind"], "APIGroup");
    let v1 = get(&f.server, "/apis/coordination.k8s.io/v1").await.json();
    assert_eq!(v1["groupVersion"], "coordination.k8s.io/v1");
    let leases = &v1["resources"][0];
    assert_eq!(
        (&leases["name"], &leases["kind"], &leases["namespaced"]),
        (&json!("leases"), &json!("Lease"), &json!(true))
    );
    assert!(
        leases["verbs"]
            .as_array()
            .unwrap()
            .contains(&json!("patch"))
    );

    let base = "/apis/coordination.k8s.io/v1/namespaces/spark/leases";
    let lease = br#"{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"reaper"},
        "spec":{"holderIdentity":"a","leaseDurationSeconds":15,"renewTime":"2026-03-01T13:00:00.5+01:00"}}"#;
    // a MicroTime needs six fractional digits, as metav1.MicroTime parses it
    let r = raw(
        &f.server,
        "POST",
        &format!("{base}?fieldManager=elector"),
        &[],
        lease,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Lease in version \"v1\" cannot be handled as a Lease: parsing time \"2026-03-01T13:00:00.5+01:00\" \
         as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \".5+01:00\" as \".000000\""
    );
    let lease = String::from_utf8_lossy(lease).replace(".5+01:00", ".500000+01:00");
    let r = raw(
        &f.server,
        "POST",
        &format!("{base}?fieldManager=elector"),
        &[],
        lease.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201);
    let created = r.json();
    assert_eq!(created["spec"]["renewTime"], "2026-03-01T12:00:00.500000Z");
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    // the field order of the real server, and the creator's managed fields
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        text.starts_with(&format!(
            "{{\"kind\":\"Lease\",\"apiVersion\":\"coordination.k8s.io/v1\",\"metadata\":{{\"name\":\"reaper\",\
             \"namespace\":\"spark\",\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"2026-03-01T12:00:00Z\",\
             \"managedFields\":[{{\"manager\":\"elector\",\"operation\":\"Update\",\"apiVersion\":\"coordination.k8s.io/v1\",\
             \"time\":\"2026-03-01T12:00:00Z\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{{\"f:spec\":{{\"f:holderIdentity\":{{}},\
             \"f:leaseDurationSeconds\":{{}},\"f:renewTime\":{{}}}}}}}}]}},\"spec\":{{\"holderIdentity\":\"a\",",
            created["metadata"]["uid"].as_str().unwrap()
        )),
        "{text}"
    );
    // resourceVersion from the counter pods use
    assert_eq!(rv, f.server.resource_version().to_string());

    // PUT with a stale resourceVersion: 409 Conflict with the registry's message
    let mut stale = created.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    let r = raw(
        &f.server,
        "PUT",
        &format!("{base}/reaper"),
        &[],
        stale.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Operation cannot be fulfilled on leases.coordination.k8s.io \"reaper\": the object has been modified; please apply your changes to the latest version and try again",
            "reason": "Conflict", "details": {"name": "reaper", "group": "coordination.k8s.io", "kind": "leases"}, "code": 409})
    );

    // apply: fieldManager is required (422 from ValidatePatchOptions)
    let apply = [("Content-Type", "application/apply-patch+yaml")];
    let cfg = b"apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: reaper\nspec:\n  holderIdentity: b\n";
    let r = raw(&f.server, "PATCH", &format!("{base}/reaper"), &apply, cfg).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    // a changed field owned by another manager: the Status of an apply conflict
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper?fieldManager=kubectl"),
        &apply,
        cfg,
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"elector\" using coordination.k8s.io/v1: .spec.holderIdentity",
            "reason": "Conflict",
            "details": {"causes": [{"reason": "FieldManagerConflict", "message": "conflict with \"elector\" using coordination.k8s.io/v1", "field": ".spec.holderIdentity"}]},
            "code": 409})
    );
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper?fieldManager=kubectl&force=true"),
        &apply,
        cfg,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["spec"]["holderIdentity"], "b");
    // force on a non-apply patch is refused; unknown fields are dropped with a warning
    let merge = [("Content-Type", "application/merge-patch+json")];
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper?force=true"),
        &merge,
        br#"{"spec":{}}"#,
    )
    .await;
    assert_eq!(r.status, 422);
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper"),
        &merge,
        br#"{"spec":{"bogus":1}}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("warning"),
        Some("299 - \"unknown field \\\"spec.bogus\\\"\"")
    );
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper?fieldValidation=Strict"),
        &merge,
        br#"{"spec":{"bogus":1}}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "strict decoding error: unknown field \"spec.bogus\""
    );
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/reaper"),
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 415);

    // Table answers, cluster-wide list, and the 405 of writes there
    let t = raw(
        &f.server,
        "GET",
        "/apis/coordination.k8s.io/v1/leases",
        &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
        b"",
    )
    .await
    .json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Holder", "Age"]);
    assert_eq!(t["rows"][0]["cells"], json!(["reaper", "b", "0s"]));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let r = raw(
        &f.server,
        "DELETE",
        "/apis/coordination.k8s.io/v1/leases",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 405);
    let list = get(&f.server, base).await.json();
    assert_eq!(list["kind"], "LeaseList");
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind"
    );

    // delete: a Status, then 404
    let r = raw(&f.server, "DELETE", &format!("{base}/reaper"), &[], b"").await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["status"], "Success");
    assert_eq!(s["details"]["kind"], "leases");
    let r = get(&f.server, &format!("{base}/reaper")).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        "leases.coordination.k8s.io \"reaper\" not found"
    );

    // apply creates when absent: 201
    let r = raw(
        &f.server,
        "PATCH",
        &format!("{base}/fresh?fieldManager=m"),
        &apply,
        b"apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: fresh\nspec:\n  leaseDurationSeconds: 3\n",
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        f.server.get_lease("spark", "fresh").unwrap()["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );

    // OpenAPI: v3 root and group document, v2 in protobuf
    let root = get(&f.server, "/openapi/v3").await.json();
    let url = root["paths"]["apis/coordination.k8s.io/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = get(&f.server, &url).await.json();
    assert_eq!(doc["openapi"], "3.0.0");
    let r = raw(
        &f.server,
        "GET",
        "/openapi/v2",
        &[(
            "Accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
        b"",
    )
    .await;
    assert_eq!(
        r.header("content-type"),
        Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    );
    assert!(r.body.starts_with(b"\x0a\x032.0"));
}
