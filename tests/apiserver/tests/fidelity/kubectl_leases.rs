//! Leases (`coordination.k8s.io/v1`) through the real `kubectl` (the oldest and the newest
//! versioned binary): server-side apply with field ownership and conflicts, the lease table,
//! `-o yaml`, patches, label selection and deletion.

use jiff::SignedDuration;
use serde_json::{Value, json};
use test_apiserver::RecordedRequest;

use crate::common::{Kubectl, fixture_server};

const LEASE: &str = "apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: reaper
  namespace: kyuubi-a
spec:
  holderIdentity: replica-a
  leaseDurationSeconds: 15
";

fn managers(lease: &Value) -> Vec<(String, String, Value)> {
    lease["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn patches(reqs: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    reqs.iter().filter(|r| r.method == "PATCH").collect()
}

async fn server_side_apply(version: &str) {
    let f = fixture_server(&format!("lease-apply-{version}")).await;
    let k = Kubectl::new(version, &f);
    let file = f.dir.path().join("lease.yaml");
    std::fs::write(&file, LEASE).unwrap();
    let file = file.to_str().unwrap();

    // 1. the first apply creates the lease; kubectl reads OpenAPI to learn that the server
    //    validates fields itself, and then sends fieldValidation=Strict
    let out = k.run(&["apply", "--server-side", "-f", file]).await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "lease.coordination.k8s.io/reaper serverside-applied"
    );
    let reqs = f.server.requests();
    assert!(
        reqs.iter().all(|r| r.status < 400),
        "no request failed: {reqs:#?}"
    );
    let openapi: Vec<&str> = reqs
        .iter()
        .filter(|r| r.path.starts_with("/openapi"))
        .map(|r| r.path.as_str())
        .collect();
    if version == "1.27" {
        // 1.27 needs the protobuf OpenAPI v2 document first, then asks v3
        assert_eq!(openapi[0], "/openapi/v2", "{openapi:?}");
        let v2 = reqs.iter().find(|r| r.path == "/openapi/v2").unwrap();
        assert!(
            v2.accept.as_deref().unwrap_or("").contains("protobuf"),
            "{:?}",
            v2.accept
        );
    }
    assert!(
        openapi.contains(&"/openapi/v3")
            && openapi.contains(&"/openapi/v3/apis/coordination.k8s.io/v1"),
        "{openapi:?}"
    );
    let p = patches(&reqs);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].path,
        "/apis/coordination.k8s.io/v1/namespaces/kyuubi-a/leases/reaper"
    );
    assert_eq!(
        p[0].content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(p[0].param("fieldManager"), Some("kubectl"));
    assert_eq!(p[0].param("fieldValidation"), Some("Strict"));
    assert_eq!(p[0].param("force"), Some("false"));
    assert_eq!(p[0].status, 201);
    let lease = f.server.get_lease("kyuubi-a", "reaper").expect("created");
    assert_eq!(lease["spec"]["holderIdentity"], "replica-a");
    assert_eq!(lease["metadata"]["creationTimestamp"], crate::common::NOW);
    assert_eq!(
        managers(&lease),
        [(
            "kubectl".to_string(),
            "Apply".to_string(),
            json!({"f:spec": {"f:holderIdentity": {}, "f:leaseDurationSeconds": {}}})
        )]
    );

    // 2. the table kubectl prints from the server's Table, and -o yaml
    f.server.advance_clock(SignedDuration::from_secs(150));
    let out = k.run(&["get", "lease", "-n", "kyuubi-a"]).await;
    out.ok();
    assert_eq!(
        out.lines(),
        ["NAME     HOLDER      AGE", "reaper   replica-a   2m30s"]
    );
    let list = f
        .server
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/apis/coordination.k8s.io/v1/namespaces/kyuubi-a/leases")
        .unwrap();
    assert!(
        list.accept.as_deref().unwrap_or("").contains("as=Table"),
        "{:?}",
        list.accept
    );
    let out = k
        .run(&["get", "lease", "reaper", "-n", "kyuubi-a", "-o", "yaml"])
        .await;
    out.ok();
    let lease = f.server.get_lease("kyuubi-a", "reaper").unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  creationTimestamp: \"{now}\"
  name: reaper
  namespace: kyuubi-a
  resourceVersion: \"{rv}\"
  uid: {uid}
spec:
  holderIdentity: replica-a
  leaseDurationSeconds: 15
",
            now = crate::common::NOW,
            rv = lease["metadata"]["resourceVersion"].as_str().unwrap(),
            uid = lease["metadata"]["uid"].as_str().unwrap(),
        )
    );

    // 3. another manager changing the holder conflicts, as the real server words it
    let other = f.dir.path().join("lease-b.yaml");
    std::fs::write(&other, LEASE.replace("replica-a", "replica-b")).unwrap();
    let other = other.to_str().unwrap();
    let rv = f.server.resource_version();
    let out = k
        .run(&[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-f",
            other,
        ])
        .await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(
        out.stderr.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.holderIdentity\n\
             Please review the fields above--they currently have other managers."
        ),
        "{}",
        out.stderr
    );
    assert_eq!(f.server.resource_version(), rv, "nothing written");
    let failed = patches(&f.server.requests())
        .last()
        .copied()
        .cloned()
        .unwrap();
    assert_eq!(failed.status, 409);

    // 4. --force-conflicts takes the field; the co-owned duration stays shared
    let out = k
        .run(&[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "--force-conflicts",
            "-f",
            other,
        ])
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "lease.coordination.k8s.io/reaper serverside-applied"
    );
    let forced = patches(&f.server.requests())
        .last()
        .copied()
        .cloned()
        .unwrap();
    assert_eq!(forced.param("force"), Some("true"));
    let lease = f.server.get_lease("kyuubi-a", "reaper").unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "replica-b");
    assert_eq!(
        managers(&lease),
        [
            (
                "kubectl".to_string(),
                "Apply".to_string(),
                json!({"f:spec": {"f:leaseDurationSeconds": {}}})
            ),
            (
                "other".to_string(),
                "Apply".to_string(),
                json!({"f:spec": {"f:holderIdentity": {}, "f:leaseDurationSeconds": {}}})
            ),
        ]
    );
    let out = k
        .run(&[
            "get",
            "lease",
            "reaper",
            "-n",
            "kyuubi-a",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .await;
    out.ok();
    assert!(
        out.stdout.contains(
            "  - apiVersion: coordination.k8s.io/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:spec:
        f:holderIdentity: {}
        f:leaseDurationSeconds: {}
    manager: other
    operation: Apply
    time: \"2026-03-01T12:02:30Z\"
"
        ),
        "{}",
        out.stdout
    );

    // 5. an update (merge patch) moves the field to its manager, with operation Update
    let out = k
        .run(&[
            "patch",
            "lease",
            "reaper",
            "-n",
            "kyuubi-a",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"holderIdentity":"replica-c"}}"#,
        ])
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "lease.coordination.k8s.io/reaper patched"
    );
    let lease = f.server.get_lease("kyuubi-a", "reaper").unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "replica-c");
    let m = managers(&lease);
    assert!(
        m.contains(&(
            "kubectl-patch".to_string(),
            "Update".to_string(),
            json!({"f:spec": {"f:holderIdentity": {}}})
        )),
        "{m:?}"
    );
    let out = k
        .run(&[
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-f",
            other,
        ])
        .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-patch\" using coordination.k8s.io/v1: .spec.holderIdentity"
        ),
        "{}",
        out.stderr
    );

    // 6. validation, and the table across namespaces with a label selector
    let bad = f.dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        LEASE
            .replace("name: reaper", "name: bad")
            .replace("leaseDurationSeconds: 15", "leaseDurationSeconds: 0"),
    )
    .unwrap();
    let out = k
        .run(&["apply", "--server-side", "-f", bad.to_str().unwrap()])
        .await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "The Lease \"bad\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    );
    assert!(f.server.get_lease("kyuubi-a", "bad").is_none());
    let out = k
        .run(&[
            "label",
            "lease",
            "reaper",
            "-n",
            "kyuubi-a",
            "app=kyuubi-reaper",
        ])
        .await;
    out.ok();
    let out = k
        .run(&["get", "lease", "-A", "-l", "app=kyuubi-reaper"])
        .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "NAMESPACE   NAME     HOLDER      AGE",
            "kyuubi-a    reaper   replica-c   2m30s"
        ]
    );
    let out = k
        .run(&[
            "get",
            "lease",
            "-A",
            "--field-selector",
            "spec.holderIdentity=x",
        ])
        .await;
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("(BadRequest)")
            && out
                .stderr
                .contains("field label not supported: spec.holderIdentity"),
        "{}",
        out.stderr
    );

    // 7. delete, then it is gone
    let out = k
        .run(&["delete", "lease", "reaper", "-n", "kyuubi-a"])
        .await;
    out.ok();
    assert_eq!(
        out.stdout.trim(),
        "lease.coordination.k8s.io \"reaper\" deleted"
    );
    assert!(f.server.leases().is_empty());
    let out = k.run(&["get", "lease", "reaper", "-n", "kyuubi-a"]).await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "Error from server (NotFound): leases.coordination.k8s.io \"reaper\" not found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_27_server_side_apply_of_a_lease() {
    server_side_apply("1.27").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_1_33_server_side_apply_of_a_lease() {
    server_side_apply("1.33").await;
}
