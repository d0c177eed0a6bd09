//! kube-rs 5 (the client `kyuubi-reaper` uses) against the test server.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use kube::runtime::watcher;
use kube::{Client, Config};
use test_apiserver::{FaultAction, FaultConfig, FaultRule};

use crate::common::{Fixture, fixture_server, has_label, pod_names};

async fn client(f: &Fixture) -> Client {
    let kc = kube::config::Kubeconfig::read_from(&f.kubeconfig).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_paginated_list_and_list_metadata() {
    let f = fixture_server("kube-list").await;
    let api: Api<Pod> = Api::all(client(&f).await);
    let selector = "kyuubi-unique-tag,spark-app-selector,spark-role=driver";
    let mut lp = ListParams::default().labels(selector).limit(2);
    let mut names = Vec::new();
    let mut pages = 0;
    let mut rv = None;
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        let this_rv = page.metadata.resource_version.clone();
        assert!(
            rv.is_none() || rv == this_rv,
            "pages share the first page's resourceVersion"
        );
        rv = this_rv;
        names.extend(page.items.iter().map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.as_deref().unwrap(),
                p.metadata.name.as_deref().unwrap()
            )
        }));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    // like etcd, a full page gets a continue token while keys remain in the range, even if none
    // of them match: the last page is empty
    assert_eq!(pages, 4);
    assert_eq!(
        names,
        pod_names(&f.server, |p| has_label(p, "kyuubi-unique-tag"))
    );

    let meta = api
        .list_metadata(&ListParams::default().labels(selector))
        .await
        .unwrap();
    assert_eq!(meta.items.len(), 6);
    assert_eq!(
        meta.items[0].metadata.uid.as_deref(),
        Some("5a1e0000-0000-4000-8000-000000000004")
    );
    let req = f.server.requests().into_iter().last().unwrap();
    assert!(req.accept.unwrap().contains("as=PartialObjectMetadataList"));

    // field selectors and namespaced lists
    let ns: Api<Pod> = Api::namespaced(client(&f).await, "kyuubi-a");
    let failed = ns
        .list(&ListParams::default().fields("status.phase=Failed"))
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!(
        failed.items[0].metadata.name.as_deref(),
        Some("kyuubi-report-c3d4e5f6-driver")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_delete_preconditions_and_dry_run() {
    let f = fixture_server("kube-delete").await;
    let api: Api<Pod> = Api::namespaced(client(&f).await, "kyuubi-a");
    let name = "kyuubi-etl-a1b2c3d4-driver";
    let pod = api.get(name).await.unwrap();
    let uid = pod.metadata.uid.clone().unwrap();
    let rv = pod.metadata.resource_version.clone().unwrap();

    // wrong uid: 409 Conflict, nothing deleted
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("wrong".into()),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api.delete(name, &dp).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
            assert!(
                s.message.contains("the UID in the precondition (wrong)"),
                "{}",
                s.message
            );
        }
        other => panic!("expected a 409, got {other:?}"),
    }
    // stale resourceVersion: 409 too
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.clone()),
            resource_version: Some("1".into()),
        }),
        ..DeleteParams::background()
    };
    assert!(matches!(api.delete(name, &dp).await, Err(kube::Error::Api(s)) if s.code == 409));

    // dry run: the pod comes back, nothing changes
    let dp = DeleteParams {
        dry_run: true,
        preconditions: Some(Preconditions {
            uid: Some(uid.clone()),
            resource_version: Some(rv.clone()),
        }),
        ..DeleteParams::background()
    };
    let out = api.delete(name, &dp).await.unwrap();
    let p = out.left().expect("a pod");
    assert!(p.metadata.deletion_timestamp.is_some());
    assert_eq!(
        api.get(name)
            .await
            .unwrap()
            .metadata
            .resource_version
            .as_deref(),
        Some(rv.as_str())
    );

    // the real delete with both preconditions; executors cascade
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid),
            resource_version: Some(rv),
        }),
        ..DeleteParams::background()
    };
    let out = api.delete(name, &dp).await.unwrap();
    assert_eq!(out.left().unwrap().metadata.name.as_deref(), Some(name));
    assert!(api.get_opt(name).await.unwrap().is_none());
    assert!(
        api.get_opt("kyuubi-etl-a1b2c3d4-exec-1")
            .await
            .unwrap()
            .is_none()
    );
    // 404 on a second delete
    assert!(
        matches!(api.delete(name, &DeleteParams::default()).await, Err(kube::Error::Api(s)) if s.code == 404)
    );
    let body: serde_json::Value = serde_json::from_str(
        &f.server
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .nth(2)
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(body["dryRun"], serde_json::json!(["All"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_watcher_observes_a_delete() {
    let f = fixture_server("kube-watch").await;
    let api: Api<Pod> = Api::all(client(&f).await);
    let cfg = watcher::Config::default().labels("kyuubi-unique-tag");
    let mut stream = watcher(api, cfg).boxed();
    let mut init = 0;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match ev {
            watcher::Event::InitApply(_) => init += 1,
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(init, 6);
    // the watcher opens its watch when polled again; remove the pod once it is open
    let server = std::sync::Arc::new(f);
    let s2 = server.clone();
    let remover = tokio::spawn(async move {
        crate::common::wait_for("the watch request", Duration::from_secs(20), || {
            s2.server
                .requests()
                .iter()
                .any(test_apiserver::RecordedRequest::is_watch)
        })
        .await;
        // the pod disappears (as the kubelet's final delete does): the watcher sees a Delete
        s2.server
            .remove_pod("kyuubi-b", "kyuubi-batch-e5f6a7b8-driver")
            .unwrap();
    });
    let ev = tokio::time::timeout(Duration::from_secs(30), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match ev {
        watcher::Event::Delete(p) => assert_eq!(
            p.metadata.name.as_deref(),
            Some("kyuubi-batch-e5f6a7b8-driver")
        ),
        other => panic!("expected a delete, got {other:?}"),
    }
    remover.await.unwrap();
    let f = &*server;
    let w = f
        .server
        .requests()
        .into_iter()
        .find(test_apiserver::RecordedRequest::is_watch)
        .unwrap();
    assert_eq!(w.param("allowWatchBookmarks"), Some("true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_retries_throttling_and_unavailable() {
    let f = fixture_server("kube-retry").await;
    f.server.set_faults(FaultConfig {
        seed: 7,
        rules: vec![FaultRule {
            method: Some("GET".into()),
            path: Some("/api/v1/pods".into()),
            times: Some(2),
            ..FaultRule::always(FaultAction::Throttle {
                retry_after_secs: 1,
            })
        }],
    });
    let api: Api<Pod> = Api::all(client(&f).await);
    let t = std::time::Instant::now();
    let list = api
        .list(&ListParams::default().labels("kyuubi-unique-tag"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 6);
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    let statuses: Vec<u16> = f.server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert!(
        f.server.requests()[0]
            .fault
            .as_deref()
            .unwrap()
            .contains("429")
    );

    // a 500 is not retried by kube: the error surfaces as a Status
    f.server.set_faults(FaultConfig {
        seed: 7,
        rules: vec![FaultRule {
            times: Some(1),
            ..FaultRule::always(FaultAction::Error(500))
        }],
    });
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!(s.code, 500);
            assert_eq!(s.reason, "InternalError");
        }
        other => panic!("expected a 500, got {other:?}"),
    }
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        13
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_leases_replace_and_server_side_apply() {
    use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
    use kube::api::{Patch, PatchParams, PostParams};

    let f = fixture_server("kube-lease").await;
    let api: Api<Lease> = Api::namespaced(client(&f).await, "spark");
    let now: jiff::Timestamp = "2026-03-01T12:00:00.25Z".parse().unwrap();
    let lease = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some("reaper".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    };
    let pp = PostParams {
        field_manager: Some("elector".into()),
        ..PostParams::default()
    };
    let created = api.create(&pp, &lease).await.unwrap();
    let spec = created.spec.clone().unwrap();
    assert_eq!(spec.renew_time, Some(MicroTime(now)));
    // replace with the version read, then with the stale one
    let mut renewed = created.clone();
    renewed.spec.as_mut().unwrap().renew_time =
        Some(MicroTime(now + jiff::SignedDuration::from_secs(2)));
    let renewed = api.replace("reaper", &pp, &renewed).await.unwrap();
    let err = api.replace("reaper", &pp, &created).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
        }
        other => panic!("{other}"),
    }
    // server-side apply by another manager: conflict, then forced
    let applied = serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "reaper"}, "spec": {"holderIdentity": "b"}});
    let err = api
        .patch(
            "reaper",
            &PatchParams::apply("other"),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(
                s.message,
                "Apply failed with 1 conflict: conflict with \"elector\" using coordination.k8s.io/v1: .spec.holderIdentity"
            );
        }
        other => panic!("{other}"),
    }
    let forced = api
        .patch(
            "reaper",
            &PatchParams::apply("other").force(),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().holder_identity.as_deref(), Some("b"));
    assert_ne!(
        forced.metadata.resource_version,
        renewed.metadata.resource_version
    );
    api.delete("reaper", &DeleteParams::default())
        .await
        .unwrap();
    assert!(api.get_opt("reaper").await.unwrap().is_none());
}
