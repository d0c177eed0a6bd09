//! `manifests`: every document of every kind parsed into the Kubernetes API types (and written
//! back unchanged, so no field was misspelt or dropped); the RBAC compared rule list by rule list;
//! the hardening of every container; the container's command line parsed by the tool's own clap
//! definition, and a `CronJob`'s run end to end against the test API server; the admission guard
//! evaluated with the `cel` interpreter; refusals of flags that make no sense.
//!
//! The guard's CEL relies on three features of Kubernetes' CEL, all in the `cel` crate: `has()`
//! on a map field (`has(oldObject.metadata.labels)`: false when a pod has no labels at all, where
//! selecting the field would be an error), `in` on a map's keys, and indexing a map by a string.
//! The context is built the way Kubernetes presents a DELETE to a `ValidatingAdmissionPolicy`:
//! `request` (an `AdmissionRequest`: operation, userInfo, resource, …), `object` null and
//! `oldObject` the pod being deleted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kyuubi_reaper::cli::{Cli, Command, LogFormatArg};
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};
use serde_json::{Value, json};
use test_apiserver::{KubeconfigOptions, ServerConfig};

use crate::cluster::Cluster;
use crate::harness::reaper;
use crate::world::{Layout, Store, ago, batch, driver};

/// How long one run of the binary may take.
const LIMIT: Duration = Duration::from_secs(40);

/// The flags every test starts from: a store on a claim, in namespace `kyuubi`.
const BASE: [&str; 7] = [
    "-n",
    "kyuubi",
    "--image",
    "registry.example/kyuubi-reaper:0.1.0",
    "--state-claim",
    "kyuubi-data",
    "--store=/var/lib/kyuubi/kyuubi_state_store.db",
];

/// The sidecar's flags: Kyuubi's `ServiceAccount` and the volume holding its store.
const SIDECAR: [&str; 10] = [
    "sidecar",
    "-n",
    "kyuubi",
    "--image",
    "registry.example/kyuubi-reaper:0.1.0",
    "--service-account",
    "kyuubi",
    "--state-volume",
    "kyuubi-db:/opt/kyuubi/db",
    "--store=/opt/kyuubi/db/kyuubi_state_store.db",
];

/// Every object `manifests` prints, typed.
#[derive(Debug, Clone)]
enum Object {
    ServiceAccount(Box<ServiceAccount>),
    Role(Box<Role>),
    RoleBinding(Box<RoleBinding>),
    ClusterRole(Box<ClusterRole>),
    ClusterRoleBinding(Box<ClusterRoleBinding>),
    CronJob(Box<CronJob>),
    Deployment(Box<Deployment>),
    Service(Box<Service>),
    Policy(Box<ValidatingAdmissionPolicy>),
    PolicyBinding(Box<ValidatingAdmissionPolicyBinding>),
}

impl Object {
    /// The document as the Kubernetes type of its `apiVersion` and `kind`; unknown kinds fail.
    fn parse(doc: &Value) -> Self {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        match (api_version, kind) {
            ("v1", "ServiceAccount") => Object::ServiceAccount(Box::new(typed(doc))),
            ("rbac.authorization.k8s.io/v1", "Role") => Object::Role(Box::new(typed(doc))),
            ("rbac.authorization.k8s.io/v1", "RoleBinding") => {
                Object::RoleBinding(Box::new(typed(doc)))
            }
            ("rbac.authorization.k8s.io/v1", "ClusterRole") => {
                Object::ClusterRole(Box::new(typed(doc)))
            }
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
                Object::ClusterRoleBinding(Box::new(typed(doc)))
            }
            ("batch/v1", "CronJob") => Object::CronJob(Box::new(typed(doc))),
            ("apps/v1", "Deployment") => Object::Deployment(Box::new(typed(doc))),
            ("v1", "Service") => Object::Service(Box::new(typed(doc))),
            ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy") => {
                Object::Policy(Box::new(typed(doc)))
            }
            ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding") => {
                Object::PolicyBinding(Box::new(typed(doc)))
            }
            other => panic!("unexpected kind {other:?} in\n{doc:#}"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Role(_) => "Role",
            Object::RoleBinding(_) => "RoleBinding",
            Object::ClusterRole(_) => "ClusterRole",
            Object::ClusterRoleBinding(_) => "ClusterRoleBinding",
            Object::CronJob(_) => "CronJob",
            Object::Deployment(_) => "Deployment",
            Object::Service(_) => "Service",
            Object::Policy(_) => "ValidatingAdmissionPolicy",
            Object::PolicyBinding(_) => "ValidatingAdmissionPolicyBinding",
        }
    }

    fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::ServiceAccount(o) => &o.metadata,
            Object::Role(o) => &o.metadata,
            Object::RoleBinding(o) => &o.metadata,
            Object::ClusterRole(o) => &o.metadata,
            Object::ClusterRoleBinding(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Policy(o) => &o.metadata,
            Object::PolicyBinding(o) => &o.metadata,
        }
    }

    /// `namespace/name`, or `name` for a cluster-scoped object.
    fn key(&self) -> String {
        let m = self.metadata();
        match &m.namespace {
            Some(ns) => format!("{ns}/{}", m.name.as_deref().unwrap_or_default()),
            None => m.name.clone().unwrap_or_default(),
        }
    }
}

/// A document as `T`, checked to write back to the same document: a field the type does not
/// know (misspelt, misplaced) would be dropped by the decoder and show up here.
#[track_caller]
fn typed<T: DeserializeOwned + Serialize>(doc: &Value) -> T {
    let value: T = serde_json::from_value(doc.clone())
        .unwrap_or_else(|e| panic!("not a {}: {e}\n{doc:#}", std::any::type_name::<T>()));
    let back = serde_json::to_value(&value).unwrap();
    assert_eq!(
        &back,
        doc,
        "the document does not survive a round trip through {}",
        std::any::type_name::<T>()
    );
    value
}

/// The YAML documents of a stream, as JSON values.
fn documents(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|doc| {
            let value = Value::deserialize(doc).unwrap();
            assert!(!value.is_null(), "an empty document in\n{stream}");
            value
        })
        .collect()
}

/// The words of a `manifests` command line.
fn words(kind: &str, more: &[&str]) -> Vec<String> {
    let mut words = vec!["manifests".to_string(), kind.to_string()];
    words.extend(BASE.iter().chain(more).map(ToString::to_string));
    words
}

/// Runs `manifests` and returns what it printed.
#[track_caller]
fn print(words: &[String]) -> String {
    reaper(words).run_within(LIMIT).code(0).stdout
}

/// Runs `manifests` and parses every document.
#[track_caller]
fn generate(words: &[String]) -> Vec<Object> {
    let stdout = print(words);
    assert!(
        stdout.starts_with(&format!(
            "---\n# Generated by kyuubi-reaper {}: `manifests ",
            env!("CARGO_PKG_VERSION")
        )),
        "{stdout}"
    );
    documents(&stdout).iter().map(Object::parse).collect()
}

/// The sidecar's output for `--print what`, with `more` flags.
fn sidecar(what: &str, more: &[&str]) -> String {
    let mut words: Vec<String> = ["manifests"]
        .iter()
        .chain(&SIDECAR)
        .chain(more)
        .map(ToString::to_string)
        .collect();
    words.extend(["--print".to_string(), what.to_string()]);
    print(&words)
}

/// The sidecar patch's pod template, checked to hold nothing else.
fn sidecar_patch(more: &[&str]) -> PodTemplateSpec {
    let stdout = sidecar("patch", more);
    assert!(
        !stdout.contains("\n---"),
        "a patch is one document:\n{stdout}"
    );
    assert!(stdout.contains("kubectl -n kyuubi patch statefulset/kyuubi --patch-file"));
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 1);
    let patch = &docs[0];
    assert_eq!(
        patch.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["spec"]
    );
    assert_eq!(
        patch["spec"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["template"]
    );
    let template: PodTemplateSpec = typed(&patch["spec"]["template"]);
    let spec = template.spec.as_ref().unwrap();
    // Strategic merge: only the container and its volume are added, nothing of Kyuubi's pod
    // is replaced.
    assert_eq!(
        spec,
        &PodSpec {
            automount_service_account_token: Some(true),
            containers: spec.containers.clone(),
            volumes: spec.volumes.clone(),
            ..PodSpec::default()
        }
    );
    assert!(template.metadata.is_none());
    template
}

fn kinds(objects: &[Object]) -> Vec<&'static str> {
    objects.iter().map(Object::kind).collect()
}

fn roles(objects: &[Object]) -> BTreeMap<String, Vec<PolicyRule>> {
    objects
        .iter()
        .filter_map(|o| match o {
            Object::Role(r) => Some((o.key(), r.rules.clone().unwrap_or_default())),
            Object::ClusterRole(r) => Some((o.key(), r.rules.clone().unwrap_or_default())),
            _ => None,
        })
        .collect()
}

fn bindings(objects: &[Object]) -> BTreeMap<String, (RoleRef, Vec<Subject>)> {
    objects
        .iter()
        .filter_map(|o| match o {
            Object::RoleBinding(b) => Some((
                o.key(),
                (b.role_ref.clone(), b.subjects.clone().unwrap_or_default()),
            )),
            Object::ClusterRoleBinding(b) => Some((
                o.key(),
                (b.role_ref.clone(), b.subjects.clone().unwrap_or_default()),
            )),
            _ => None,
        })
        .collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn pod_rules() -> Vec<PolicyRule> {
    vec![PolicyRule {
        api_groups: Some(strings(&[""])),
        resources: Some(strings(&["pods"])),
        verbs: strings(&["get", "list", "watch", "delete"]),
        ..PolicyRule::default()
    }]
}

fn lease_rules(lease: &str) -> Vec<PolicyRule> {
    vec![
        PolicyRule {
            api_groups: Some(strings(&["coordination.k8s.io"])),
            resources: Some(strings(&["leases"])),
            resource_names: Some(strings(&[lease])),
            verbs: strings(&["get", "update"]),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: Some(strings(&["coordination.k8s.io"])),
            resources: Some(strings(&["leases"])),
            verbs: strings(&["create"]),
            ..PolicyRule::default()
        },
    ]
}

fn binding(kind: &str, role: &str, account: &str) -> (RoleRef, Vec<Subject>) {
    (
        RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: kind.into(),
            name: role.into(),
        },
        vec![Subject {
            kind: "ServiceAccount".into(),
            name: account.into(),
            namespace: Some("kyuubi".into()),
            ..Subject::default()
        }],
    )
}

fn the_pod_template(objects: &[Object]) -> PodTemplateSpec {
    objects
        .iter()
        .find_map(|o| match o {
            Object::CronJob(c) => {
                let job = c.spec.as_ref()?.job_template.spec.as_ref()?;
                Some(job.template.clone())
            }
            Object::Deployment(d) => Some(d.spec.as_ref()?.template.clone()),
            _ => None,
        })
        .expect("a workload")
}

fn the_container(template: &PodTemplateSpec) -> Container {
    let containers = &template.spec.as_ref().unwrap().containers;
    assert_eq!(containers.len(), 1);
    containers[0].clone()
}

fn args_of(container: &Container) -> Vec<String> {
    container.args.clone().unwrap()
}

#[test]
fn every_kind_parses_into_the_kubernetes_types() {
    let cases: [(Vec<String>, &[&str]); 4] = [
        (
            words("cronjob", &["--admission-guard"]),
            &[
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "CronJob",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
            ],
        ),
        (
            words("cronjob", &["-A"]),
            &[
                "ServiceAccount",
                "ClusterRole",
                "ClusterRoleBinding",
                "CronJob",
            ],
        ),
        (
            words("deployment", &["--admission-guard"]),
            &[
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "Role",
                "RoleBinding",
                "Deployment",
                "Service",
                "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding",
            ],
        ),
        (
            words("deployment", &["--no-leader-elect"]),
            &[
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "Deployment",
                "Service",
            ],
        ),
    ];
    for (words, expected) in cases {
        let objects = generate(&words);
        assert_eq!(kinds(&objects), expected, "{words:?}");
        for object in &objects {
            let labels = object.metadata().labels.clone().unwrap_or_default();
            assert_eq!(
                labels.get("app.kubernetes.io/name").map(String::as_str),
                Some("kyuubi-reaper"),
                "{}",
                object.key()
            );
            assert_eq!(
                labels.get("app.kubernetes.io/instance").map(String::as_str),
                Some("kyuubi-reaper")
            );
            assert_eq!(
                labels
                    .get("app.kubernetes.io/managed-by")
                    .map(String::as_str),
                Some("kyuubi-reaper-manifests")
            );
            assert_eq!(
                labels.get("app.kubernetes.io/version").map(String::as_str),
                Some(env!("CARGO_PKG_VERSION"))
            );
        }
    }
    // The sidecar: RBAC to apply, a patch and a container, each in its own output.
    let rbac = sidecar("rbac", &[]);
    let objects: Vec<Object> = documents(&rbac).iter().map(Object::parse).collect();
    assert_eq!(kinds(&objects), ["Role", "RoleBinding"]);
    assert_eq!(
        rbac,
        print(&strings(&[&["manifests"][..], &SIDECAR].concat()))
    );
    sidecar_patch(&[]);
    let container = sidecar("container", &[]);
    let docs = documents(&container);
    assert_eq!(docs.len(), 1);
    let container: Container = typed(&docs[0]);
    assert_eq!(container.name, "kyuubi-reaper");
}

#[test]
fn the_rbac_is_exactly_pods_in_each_namespace_and_the_one_lease() {
    let objects = generate(&words(
        "deployment",
        &[
            "--reap-namespace",
            "spark-b",
            "--reap-namespace",
            "spark-a",
            "--reap-namespace",
            "spark-b",
        ],
    ));
    assert_eq!(
        roles(&objects),
        BTreeMap::from([
            ("spark-a/kyuubi-reaper".to_string(), pod_rules()),
            ("spark-b/kyuubi-reaper".to_string(), pod_rules()),
            (
                "kyuubi/kyuubi-reaper-leader-election".to_string(),
                lease_rules("kyuubi-reaper")
            ),
        ])
    );
    assert_eq!(
        bindings(&objects),
        BTreeMap::from([
            (
                "spark-a/kyuubi-reaper".to_string(),
                binding("Role", "kyuubi-reaper", "kyuubi-reaper")
            ),
            (
                "spark-b/kyuubi-reaper".to_string(),
                binding("Role", "kyuubi-reaper", "kyuubi-reaper")
            ),
            (
                "kyuubi/kyuubi-reaper-leader-election".to_string(),
                binding("Role", "kyuubi-reaper-leader-election", "kyuubi-reaper")
            ),
        ])
    );
    let Some(Object::ServiceAccount(account)) = objects.first() else {
        panic!("no ServiceAccount first");
    };
    assert_eq!(account.metadata.namespace.as_deref(), Some("kyuubi"));
    assert_eq!(account.metadata.name.as_deref(), Some("kyuubi-reaper"));
    let template = the_pod_template(&objects);
    let pod = template.spec.as_ref().unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("kyuubi-reaper"));
}

#[test]
fn every_namespace_is_one_cluster_role_and_no_election_no_lease() {
    // Every namespace: one ClusterRole; the Lease stays a Role in the tool's namespace.
    let objects = generate(&words(
        "deployment",
        &["-A", "--name", "reaper", "--lease-name", "reaper-lock"],
    ));
    assert_eq!(
        roles(&objects),
        BTreeMap::from([
            ("reaper-kyuubi".to_string(), pod_rules()),
            (
                "kyuubi/reaper-leader-election".to_string(),
                lease_rules("reaper-lock")
            ),
        ])
    );
    assert_eq!(
        bindings(&objects),
        BTreeMap::from([
            (
                "reaper-kyuubi".to_string(),
                binding("ClusterRole", "reaper-kyuubi", "reaper")
            ),
            (
                "kyuubi/reaper-leader-election".to_string(),
                binding("Role", "reaper-leader-election", "reaper")
            ),
        ])
    );

    // No leader election (the deployment without it, the CronJob): no Lease rules.
    for words in [
        words("deployment", &["--no-leader-elect"]),
        words("cronjob", &[]),
    ] {
        let objects = generate(&words);
        assert_eq!(
            roles(&objects),
            BTreeMap::from([("kyuubi/kyuubi-reaper".to_string(), pod_rules())]),
            "{words:?}"
        );
        assert_eq!(
            bindings(&objects),
            BTreeMap::from([(
                "kyuubi/kyuubi-reaper".to_string(),
                binding("Role", "kyuubi-reaper", "kyuubi-reaper")
            )])
        );
    }
}

#[test]
fn the_sidecars_rbac_is_bound_to_kyuubis_service_account() {
    // Bound to Kyuubi's own ServiceAccount; none is created.
    let objects: Vec<Object> = documents(&sidecar("rbac", &["--reap-namespace", "spark"]))
        .iter()
        .map(Object::parse)
        .collect();
    assert_eq!(
        roles(&objects),
        BTreeMap::from([("spark/kyuubi-reaper".to_string(), pod_rules())])
    );
    assert_eq!(
        bindings(&objects),
        BTreeMap::from([(
            "spark/kyuubi-reaper".to_string(),
            binding("Role", "kyuubi-reaper", "kyuubi")
        )])
    );
}

/// Checks the hardening of a container and returns its mounts as (directory, read-only).
#[track_caller]
fn assert_hardened(container: &Container) -> Vec<(String, bool)> {
    let sc = container
        .security_context
        .as_ref()
        .expect("a securityContext");
    assert_eq!(sc.run_as_non_root, Some(true), "{}", container.name);
    assert_eq!(sc.run_as_user, Some(65532));
    assert_eq!(sc.run_as_group, Some(65532));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(sc.privileged, None);
    let caps = sc.capabilities.as_ref().unwrap();
    assert_eq!(caps.drop, Some(strings(&["ALL"])));
    assert_eq!(caps.add, None);
    assert_eq!(
        sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
        Some("RuntimeDefault")
    );
    let resources = container.resources.as_ref().unwrap();
    let requests = resources.requests.as_ref().unwrap();
    let limits = resources.limits.as_ref().unwrap();
    assert!(requests.contains_key("cpu") && requests.contains_key("memory"));
    assert!(limits.contains_key("memory"));
    let env = container.env.clone().unwrap_or_default();
    assert!(
        env.iter()
            .any(|e| e.name == "TMPDIR" && e.value.as_deref() == Some("/tmp"))
    );
    container
        .volume_mounts
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.mount_path, m.read_only == Some(true)))
        .collect()
}

#[test]
fn every_container_is_hardened_and_reads_its_state_read_only() {
    for kind in ["cronjob", "deployment"] {
        let objects = generate(&words(
            kind,
            &[
                "--state-claim",
                "data-zk-0:/var/lib/zookeeper",
                "--zk-snapshot",
                "/var/lib/zookeeper/version-2",
            ],
        ));
        let template = the_pod_template(&objects);
        let pod = template.spec.clone().unwrap();
        assert_eq!(pod.automount_service_account_token, Some(true));
        let psc = pod.security_context.clone().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(psc.fs_group, None, "an fsGroup would chown Kyuubi's files");
        let container = the_container(&template);
        assert_eq!(
            assert_hardened(&container),
            [
                ("/var/lib/kyuubi".to_string(), true),
                ("/var/lib/zookeeper".to_string(), true),
                ("/tmp".to_string(), false),
            ]
        );
        let volumes: Vec<Value> = pod
            .volumes
            .unwrap()
            .iter()
            .map(|v| serde_json::to_value(v).unwrap())
            .collect();
        assert_eq!(
            volumes,
            [
                json!({"name": "state-0", "persistentVolumeClaim": {"claimName": "kyuubi-data", "readOnly": true}}),
                json!({"name": "state-1", "persistentVolumeClaim": {"claimName": "data-zk-0", "readOnly": true}}),
                json!({"name": "kyuubi-reaper-tmp", "emptyDir": {}}),
            ]
        );
        let resources = serde_json::to_value(container.resources.unwrap()).unwrap();
        assert_eq!(
            resources,
            json!({"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}})
        );
    }
    let template = sidecar_patch(&["--cpu-limit", "1", "--memory-limit", "1Gi"]);
    let container = the_container(&template);
    assert_eq!(
        assert_hardened(&container),
        [
            ("/opt/kyuubi/db".to_string(), true),
            ("/tmp".to_string(), false)
        ]
    );
    assert_eq!(
        serde_json::to_value(container.resources.unwrap()).unwrap(),
        json!({"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
    );
    let volumes = template.spec.unwrap().volumes.unwrap();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].name, "kyuubi-reaper-tmp");
    assert!(volumes[0].empty_dir.is_some());
    let docs = documents(&sidecar("container", &[]));
    assert_hardened(&typed::<Container>(&docs[0]));
}

#[test]
fn the_cronjob_runs_reap_once_at_a_time_within_its_deadline() {
    let objects = generate(&words(
        "cronjob",
        &["--schedule", "0 */2 * * MON-FRI", "--deadline", "10m"],
    ));
    let Some(Object::CronJob(cronjob)) = objects.iter().find(|o| o.kind() == "CronJob") else {
        panic!()
    };
    let spec = cronjob.spec.clone().unwrap();
    assert_eq!(spec.schedule, "0 */2 * * MON-FRI");
    assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(spec.starting_deadline_seconds, Some(300));
    assert_eq!(spec.successful_jobs_history_limit, Some(3));
    assert_eq!(spec.failed_jobs_history_limit, Some(3));
    let job = spec.job_template.spec.unwrap();
    assert_eq!(job.backoff_limit, Some(0));
    let pod = job.template.spec.clone().unwrap();
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    let container = the_container(&job.template);
    assert!(container.ports.is_none() && container.liveness_probe.is_none());
    let args = args_of(&container);
    assert_eq!(args[..2], strings(&["reap", "--yes"]));
    // The tool's own deadline, as it parses it, ends before Kubernetes kills the Job.
    let Command::Reap(reap) = parse_tool(&args).command else {
        panic!("not reap: {args:?}")
    };
    let deadline = reap.judge.requests.deadline.as_secs();
    assert_eq!(deadline, 600);
    let active = job.active_deadline_seconds.unwrap();
    assert!(active > deadline + 60, "{active} vs {deadline}");

    // The default schedule and deadline.
    let objects = generate(&words("cronjob", &[]));
    let Some(Object::CronJob(cronjob)) = objects.iter().find(|o| o.kind() == "CronJob") else {
        panic!()
    };
    let spec = cronjob.spec.clone().unwrap();
    assert_eq!(spec.schedule, "*/10 * * * *");
    assert_eq!(
        spec.job_template.spec.unwrap().active_deadline_seconds,
        Some(420)
    );
}

#[test]
fn the_deployment_runs_two_elected_replicas_with_probes() {
    let objects = generate(&words("deployment", &[]));
    let Some(Object::Deployment(deployment)) = objects.iter().find(|o| o.kind() == "Deployment")
    else {
        panic!()
    };
    let spec = deployment.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(2));
    let strategy = spec.strategy.unwrap();
    assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
    let rolling = strategy.rolling_update.unwrap();
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(0)));
    let selector = spec.selector.match_labels.unwrap();
    let template_labels = spec.template.metadata.clone().unwrap().labels.unwrap();
    assert!(
        selector
            .iter()
            .all(|(k, v)| template_labels.get(k) == Some(v))
    );
    let container = the_container(&spec.template);
    let port = &container.ports.clone().unwrap()[0];
    assert_eq!(
        (port.name.as_deref(), port.container_port),
        (Some("http"), 9464)
    );
    for (probe, path) in [
        (container.liveness_probe.clone(), "/healthz"),
        (container.readiness_probe.clone(), "/readyz"),
    ] {
        let get = probe.unwrap().http_get.unwrap();
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String("http".into()));
    }
    let env = container.env.clone().unwrap();
    let pod_name = env.iter().find(|e| e.name == "POD_NAME").unwrap();
    assert_eq!(
        pod_name
            .value_from
            .as_ref()
            .unwrap()
            .field_ref
            .as_ref()
            .unwrap()
            .field_path,
        "metadata.name"
    );
    let Command::Watch(watch) = parse_tool(&args_of(&container)).command else {
        panic!()
    };
    assert!(watch.delete.yes && watch.service.leader_elect);
    assert_eq!(watch.service.lease_name, "kyuubi-reaper");
    assert_eq!(watch.service.lease_namespace.as_deref(), Some("kyuubi"));
    assert_eq!(watch.service.listen.to_string(), "0.0.0.0:9464");
    assert_eq!(watch.service.log_format, LogFormatArg::Json);
    let Some(Object::Service(service)) = objects.iter().find(|o| o.kind() == "Service") else {
        panic!()
    };
    let service = service.spec.clone().unwrap();
    assert_eq!(service.selector, Some(selector));
    assert_eq!(service.ports.unwrap()[0].port, 9464);

    // Without leader election: one replica, never two at once.
    let objects = generate(&words(
        "deployment",
        &["--no-leader-elect", "--port", "9100"],
    ));
    let Some(Object::Deployment(deployment)) = objects.iter().find(|o| o.kind() == "Deployment")
    else {
        panic!()
    };
    let spec = deployment.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
    let container = the_container(&spec.template);
    assert_eq!(container.ports.clone().unwrap()[0].container_port, 9100);
    let Command::Watch(watch) = parse_tool(&args_of(&container)).command else {
        panic!()
    };
    assert!(!watch.service.leader_elect);
    assert_eq!(watch.service.listen.port(), 9100);
}

#[test]
fn the_sidecar_has_no_readiness_probe_and_no_lease() {
    // Liveness only: an unready sidecar would take Kyuubi out of its Service.
    let container = the_container(&sidecar_patch(&[]));
    assert!(container.liveness_probe.is_some());
    assert!(container.readiness_probe.is_none());
    assert!(
        !container
            .env
            .clone()
            .unwrap()
            .iter()
            .any(|e| e.name == "POD_NAME")
    );
    let Command::Watch(watch) = parse_tool(&args_of(&container)).command else {
        panic!()
    };
    assert!(!watch.service.leader_elect);
}

/// The values given to `flag` in `words`, as `FLAG VALUE` or `FLAG=VALUE`.
fn given(words: &[String], flag: &str) -> Vec<String> {
    let prefix = format!("{flag}=");
    let mut values = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if word == flag {
            values.extend(words.get(i + 1).cloned());
        } else if let Some(value) = word.strip_prefix(&prefix) {
            values.push(value.to_string());
        }
    }
    values
}

/// The container's command line, parsed by the tool's own clap definition.
#[track_caller]
fn parse_tool(args: &[String]) -> Cli {
    Cli::try_parse_from(std::iter::once("kyuubi-reaper").chain(args.iter().map(String::as_str)))
        .unwrap_or_else(|e| panic!("the tool refuses {args:?}:\n{e}"))
}

#[test]
fn container_args_are_a_command_line_the_tool_accepts() {
    let cases: [Vec<String>; 5] = [
        words("cronjob", &[]),
        words(
            "cronjob",
            &[
                "-A",
                "--retain",
                "20m",
                "--include",
                "stuck-pending,leaked-running",
                "--include",
                "stuck-pending",
                "--state-claim",
                "zk:/var/lib/zookeeper",
                "--zk-snapshot",
                "/var/lib/zookeeper",
                "--extra-arg=--require-record",
                "--extra-arg",
                "--ha-namespace=prod/kyuubi",
            ],
        ),
        words(
            "deployment",
            &["--reap-namespace", "a", "--reap-namespace", "b"],
        ),
        words(
            "deployment",
            &["--no-leader-elect", "--extra-arg=--keep-failed"],
        ),
        ["manifests"]
            .iter()
            .chain(&SIDECAR)
            .chain(&["--print", "container"])
            .map(ToString::to_string)
            .collect(),
    ];
    for words in cases {
        let stdout = print(&words);
        let container: Container = if words.contains(&"container".to_string()) {
            typed(&documents(&stdout)[0])
        } else {
            let objects: Vec<Object> = documents(&stdout).iter().map(Object::parse).collect();
            the_container(&the_pod_template(&objects))
        };
        let args = args_of(&container);
        assert!(container.command.is_none(), "the image's entrypoint runs");
        let cli = parse_tool(&args);
        let judge = match &cli.command {
            Command::Reap(reap) => {
                assert!(reap.delete.yes);
                &reap.judge
            }
            Command::Watch(watch) => {
                assert!(watch.delete.yes);
                &watch.judge
            }
            _ => panic!("neither reap nor watch: {args:?}"),
        };
        // What the manifests were given is what the tool reads.
        let given = |flag: &str| given(&words, flag);
        let stores: Vec<String> = judge
            .state
            .store
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(stores, given("--store"));
        let snapshots: Vec<String> = judge
            .state
            .zk_snapshot
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(snapshots, given("--zk-snapshot"));
        if words.contains(&"-A".to_string()) {
            assert!(judge.pods.all_namespaces);
            assert!(judge.pods.namespace.is_empty());
            assert_eq!(judge.policy.retain.as_secs(), 20 * 60);
            assert_eq!(judge.policy.include, ["stuck-pending", "leaked-running"]);
            assert!(judge.policy.require_record);
            assert_eq!(judge.state.ha_namespace, ["prod/kyuubi"]);
        } else {
            let mut expected = given("--reap-namespace");
            if expected.is_empty() {
                expected.push("kyuubi".into());
            }
            assert_eq!(judge.pods.namespace, expected);
            assert!(!judge.pods.all_namespaces);
        }
        assert!(judge.pods.pods.is_none() && judge.pods.kubeconfig.is_none());
    }
}

#[test]
fn a_cronjobs_command_line_reaps_a_cluster() {
    // The store on the "volume"; the pods on the test API server.
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let store = Store::new(Layout::V1_11)
        .batch(batch("done-1", "FINISHED", "spark"))
        .batch(batch("live-1", "RUNNING", "spark"));
    store.write(&volume.join("kyuubi_state_store.db"));
    let cluster = Cluster::start(ServerConfig::default());
    cluster
        .server()
        .seed_pods(vec![
            driver("spark", "done-1", "Succeeded", ago(300), Some(ago(200))),
            driver("spark", "live-1", "Running", ago(60), None),
        ])
        .unwrap();
    let kubeconfig = cluster.kubeconfig(dir.path(), &KubeconfigOptions::default());

    let objects = generate(&words("cronjob", &["--reap-namespace", "spark"]));
    let container = the_container(&the_pod_template(&objects));
    // The kubelet's part: the claim's directory is the volume on this machine.
    let mount = container
        .volume_mounts
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.read_only == Some(true))
        .unwrap()
        .mount_path
        .clone();
    let args: Vec<String> = args_of(&container)
        .into_iter()
        .map(|arg| arg.replace(&format!("={mount}/"), &format!("={}/", volume.display())))
        .collect();
    assert!(
        args.iter()
            .any(|a| a.contains(&*volume.display().to_string()))
    );
    let out = reaper(&args)
        .env("KUBECONFIG", &kubeconfig.display().to_string())
        .run_within(LIMIT)
        .code(0);
    let deletes: Vec<String> = cluster.deletes().into_iter().map(|r| r.path).collect();
    assert_eq!(
        deletes,
        ["/api/v1/namespaces/spark/pods/kyuubi-job-done-1-driver"],
        "{}",
        out.stderr
    );
}

/// What a `ValidatingAdmissionPolicy` decides about a request.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    /// The policy does not apply (constraints or match conditions).
    NotMatched,
    /// Every validation holds.
    Allowed,
    /// A validation failed (the binding's action is Deny).
    Denied,
}

/// Evaluates `expression` with the variables of a Kubernetes admission policy.
fn cel(expression: &str, request: &Value, old_object: &Value) -> bool {
    let program = cel::Program::compile(expression)
        .unwrap_or_else(|e| panic!("{expression:?} does not compile: {e:?}"));
    let references = program.references();
    for name in references.variables() {
        assert!(
            ["request", "object", "oldObject"].contains(&name),
            "{expression:?} uses {name}, which the policy's context does not have"
        );
    }
    let env = Arc::new(cel::Env::stdlib());
    let mut context = cel::Context::with_env(env);
    context.add_variable_from_value("request", cel::to_value(request).unwrap());
    context.add_variable_from_value("object", cel::Value::Null);
    context.add_variable_from_value("oldObject", cel::to_value(old_object).unwrap());
    match program.execute(&context) {
        Ok(cel::Value::Bool(b)) => b,
        other => panic!("{expression:?} gave {other:?}"),
    }
}

/// What `policy` decides about `request` on `old_object`, as the API server would.
fn admit(policy: &ValidatingAdmissionPolicy, request: &Value, old_object: &Value) -> Admission {
    let spec = policy.spec.as_ref().unwrap();
    assert_eq!(spec.failure_policy.as_deref(), Some("Fail"));
    let rules = spec
        .match_constraints
        .as_ref()
        .unwrap()
        .resource_rules
        .clone()
        .unwrap();
    let str_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let matched = rules.iter().any(|rule| {
        let has = |list: &Option<Vec<String>>, value: String| {
            list.as_ref()
                .is_some_and(|l| l.contains(&value) || l.contains(&"*".to_string()))
        };
        has(&rule.operations, str_of(&request["operation"]))
            && has(&rule.api_groups, str_of(&request["resource"]["group"]))
            && has(&rule.api_versions, str_of(&request["resource"]["version"]))
            && has(&rule.resources, str_of(&request["resource"]["resource"]))
    });
    if !matched {
        return Admission::NotMatched;
    }
    for condition in spec.match_conditions.clone().unwrap_or_default() {
        if !cel(&condition.expression, request, old_object) {
            return Admission::NotMatched;
        }
    }
    let validations = spec.validations.clone().unwrap();
    assert!(!validations.is_empty());
    if validations
        .iter()
        .all(|v| cel(&v.expression, request, old_object))
    {
        Admission::Allowed
    } else {
        Admission::Denied
    }
}

/// An `AdmissionRequest` for `operation` on the pod `name` in `spark`, by `user`.
fn request(operation: &str, user: &str, name: &str) -> Value {
    json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "name": name,
        "namespace": "spark",
        "operation": operation,
        "userInfo": {
            "username": user,
            "uid": "0d3f4a4e-8c1b-4b8a-9a47-1f1d2c3b4a5e",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kyuubi", "system:authenticated"],
        },
        "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "DeleteOptions", "propagationPolicy": "Background"},
    })
}

/// A pod named `name` with these labels (none at all when `None`).
fn pod(name: &str, labels: Option<Value>) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "spark", "uid": "u-1", "resourceVersion": "7"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Succeeded"},
    });
    if let Some(labels) = labels {
        pod["metadata"]["labels"] = labels;
    }
    pod
}

#[test]
fn the_admission_guard_lets_the_tool_delete_only_driver_pods() {
    let objects = generate(&words("cronjob", &["--admission-guard"]));
    let Some(Object::Policy(policy)) = objects
        .iter()
        .find(|o| o.kind() == "ValidatingAdmissionPolicy")
    else {
        panic!()
    };
    let Some(Object::PolicyBinding(binding)) = objects
        .iter()
        .find(|o| o.kind() == "ValidatingAdmissionPolicyBinding")
    else {
        panic!()
    };
    let binding = binding.spec.clone().unwrap();
    assert_eq!(binding.policy_name, policy.metadata.name);
    assert_eq!(binding.validation_actions, Some(strings(&["Deny"])));
    assert!(binding.match_resources.is_none() && binding.param_ref.is_none());

    let tool = "system:serviceaccount:kyuubi:kyuubi-reaper";
    let driver = pod(
        "d",
        Some(
            json!({"kyuubi-unique-tag": "t1", "spark-app-selector": "spark-1", "spark-role": "driver"}),
        ),
    );
    let cases = [
        (
            "a driver pod",
            request("DELETE", tool, "d"),
            driver.clone(),
            Admission::Allowed,
        ),
        (
            "an executor",
            request("DELETE", tool, "e"),
            pod(
                "e",
                Some(
                    json!({"kyuubi-unique-tag": "t1", "spark-app-selector": "spark-1", "spark-role": "executor"}),
                ),
            ),
            Admission::Denied,
        ),
        (
            "a pod without labels",
            request("DELETE", tool, "x"),
            pod("x", None),
            Admission::Denied,
        ),
        (
            "a driver without the tag",
            request("DELETE", tool, "y"),
            pod(
                "y",
                Some(json!({"spark-app-selector": "spark-1", "spark-role": "driver"})),
            ),
            Admission::Denied,
        ),
        (
            "a tagged pod without a role",
            request("DELETE", tool, "z"),
            pod(
                "z",
                Some(json!({"kyuubi-unique-tag": "t1", "spark-app-selector": "spark-1"})),
            ),
            Admission::Denied,
        ),
        (
            "an unrelated pod",
            request("DELETE", tool, "web"),
            pod("web", Some(json!({"app": "web"}))),
            Admission::Denied,
        ),
        (
            "another user's delete",
            request("DELETE", "system:serviceaccount:kyuubi:kyuubi", "web"),
            pod("web", Some(json!({"app": "web"}))),
            Admission::NotMatched,
        ),
        (
            "a person's delete",
            request("DELETE", "kubernetes-admin", "x"),
            pod("x", None),
            Admission::NotMatched,
        ),
        (
            "the tool's ServiceAccount in another namespace",
            request("DELETE", "system:serviceaccount:other:kyuubi-reaper", "x"),
            pod("x", None),
            Admission::NotMatched,
        ),
        (
            "not a DELETE",
            request("UPDATE", tool, "x"),
            pod("x", None),
            Admission::NotMatched,
        ),
    ];
    for (what, request, old_object, expected) in cases {
        assert_eq!(admit(policy, &request, &old_object), expected, "{what}");
    }
}

/// Asserts that `manifests` refuses `words` with exit 2, a message naming `flag` and nothing
/// printed.
#[track_caller]
fn assert_refused(words: &[String], flag: &str) {
    let out = reaper(words).run_within(LIMIT);
    assert_eq!(out.code, 2, "{words:?}\n{}", out.stderr);
    assert!(out.stdout.is_empty(), "{words:?} printed\n{}", out.stdout);
    assert!(
        out.stderr.contains(flag),
        "{words:?}: the message does not name {flag}:\n{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn flags_of_another_kind_are_refused_by_name() {
    let cases: [(&str, &[&str], &str); 14] = [
        ("cronjob", &["--state-volume", "data"], "--state-volume"),
        ("cronjob", &["--replicas", "2"], "--replicas"),
        ("cronjob", &["--leader-elect"], "--leader-elect"),
        ("cronjob", &["--port", "9000"], "--port"),
        ("deployment", &["--schedule", "@daily"], "--schedule"),
        ("deployment", &["--deadline", "5m"], "--deadline"),
        (
            "deployment",
            &["--service-account", "kyuubi"],
            "--service-account",
        ),
        ("deployment", &["--print", "patch"], "--print"),
        (
            "deployment",
            &["--no-leader-elect", "--lease-name", "l"],
            "--lease-name",
        ),
        ("sidecar", &["--admission-guard"], "--admission-guard"),
        ("sidecar", &["--state-claim", "data"], "--state-claim"),
        ("sidecar", &["--leader-elect"], "--leader-elect"),
        (
            "sidecar",
            &["--workload", "statefulset/kyuubi"],
            "--workload",
        ),
        ("sidecar", &["--schedule", "@daily"], "--schedule"),
    ];
    for (kind, more, flag) in cases {
        let words = if kind == "sidecar" {
            ["manifests"]
                .iter()
                .chain(&SIDECAR)
                .chain(more)
                .map(ToString::to_string)
                .collect()
        } else {
            words(kind, more)
        };
        assert_refused(&words, flag);
    }
}

#[test]
fn bad_values_are_refused_by_name() {
    let cases: [(&str, &[&str], &str); 27] = [
        ("cronjob", &["--schedule", "*/10 * * *"], "--schedule"),
        ("cronjob", &["--schedule", "61 * * * *"], "--schedule"),
        ("cronjob", &["--deadline", "0"], "--deadline"),
        (
            "deployment",
            &["--no-leader-elect", "--replicas", "2"],
            "--replicas",
        ),
        ("deployment", &["--replicas", "0"], "--replicas"),
        ("deployment", &["--name", "Kyuubi_Reaper"], "--name"),
        ("deployment", &["--lease-name", "Lock"], "--lease-name"),
        (
            "deployment",
            &["--reap-namespace", "Spark"],
            "--reap-namespace",
        ),
        ("deployment", &["--store", "relative/s.db"], "--store"),
        ("deployment", &["--store", "/elsewhere/s.db"], "--store"),
        ("deployment", &["--store", "/var/lib/kyuubi"], "--store"),
        (
            "deployment",
            &["--zk-snapshot", "/var/lib/../zk"],
            "--zk-snapshot",
        ),
        (
            "deployment",
            &["--state-claim", "zk:/var/lib/zookeeper"],
            "--state-claim",
        ),
        (
            "deployment",
            &["--state-claim", "kyuubi-data:/srv"],
            "--state-claim",
        ),
        (
            "deployment",
            &["--state-mount", "/tmp/state"],
            "--state-mount",
        ),
        (
            "deployment",
            &["--memory-request", "128m"],
            "--memory-request",
        ),
        (
            "deployment",
            &["--memory-limit", "64Mi", "--memory-request", "128Mi"],
            "--memory-limit",
        ),
        ("deployment", &["--cpu-request", "lots"], "--cpu-request"),
        ("deployment", &["--run-as-user", "0"], "--run-as-user"),
        ("deployment", &["--include", "everything"], "--include"),
        ("deployment", &["--retain", "soon"], "--retain"),
        ("deployment", &["--image", "has space"], "--image"),
        ("deployment", &["--extra-arg=--bogus"], "--extra-arg"),
        ("deployment", &["--extra-arg=--version"], "--extra-arg"),
        (
            "deployment",
            &["--extra-arg=--namespace=other"],
            "--extra-arg",
        ),
        ("deployment", &["--extra-arg=--lease-name=x"], "--extra-arg"),
        ("deployment", &["--extra-arg=--pods=/p.json"], "--extra-arg"),
    ];
    for (kind, more, flag) in cases {
        assert_refused(&words(kind, more), flag);
    }
}

#[test]
fn missing_flags_and_bad_sidecar_values_are_refused_by_name() {
    let line = |text: &str| -> Vec<String> { text.split_whitespace().map(String::from).collect() };
    let cases = [
        ("cronjob -n k --image r:1 --state-claim data", "--store"),
        (
            "cronjob -n k --image r:1 --store /var/lib/kyuubi/s.db",
            "--state-claim",
        ),
        (
            "sidecar -n k --image r:1 --state-volume db --store /var/lib/kyuubi/s.db",
            "--service-account",
        ),
        (
            "sidecar -n k --image r:1 --service-account kyuubi --store /var/lib/kyuubi/s.db",
            "--state-volume",
        ),
        ("cronjob -n kyuubi", "--image"),
        ("cronjob --image r:1", "--namespace"),
    ];
    for (words, flag) in cases {
        assert_refused(&line(&format!("manifests {words}")), flag);
    }
    let sidecar = |more: &str| -> Vec<String> {
        ["manifests"]
            .iter()
            .chain(&SIDECAR)
            .map(ToString::to_string)
            .chain(line(more))
            .collect()
    };
    assert_refused(
        &sidecar("--print patch --workload pod/kyuubi"),
        "--workload",
    );
    assert_refused(&sidecar("--print everything"), "--print");
    assert_refused(&sidecar("--state-volume Bad_Volume"), "--state-volume");
}

#[test]
fn the_same_flags_give_the_same_bytes() {
    let flags = words(
        "deployment",
        &[
            "--admission-guard",
            "--reap-namespace",
            "b",
            "--reap-namespace",
            "a",
        ],
    );
    let first = print(&flags);
    assert_eq!(first, print(&flags));
    let reordered = words(
        "deployment",
        &[
            "--reap-namespace",
            "a",
            "--admission-guard",
            "--reap-namespace",
            "b",
        ],
    );
    assert_eq!(first, print(&reordered));
    let patch = sidecar("patch", &[]);
    assert_eq!(patch, sidecar("patch", &[]));
    // The header is YAML comments in the first document.
    assert!(first.lines().filter(|l| l.starts_with('#')).count() >= 2);
}

#[test]
fn the_sidecar_patch_merges_into_kyuubis_statefulset() {
    // Kyuubi's StatefulSet, as its chart would have it; `kubectl patch --local` merges offline,
    // exactly as `kubectl patch --patch-file` does on the server (strategic merge by name).
    let dir = tempfile::tempdir().unwrap();
    let kyuubi = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "kyuubi", "namespace": "kyuubi"},
        "spec": {
            "serviceName": "kyuubi",
            "selector": {"matchLabels": {"app": "kyuubi"}},
            "template": {
                "metadata": {"labels": {"app": "kyuubi"}},
                "spec": {
                    "serviceAccountName": "kyuubi",
                    "containers": [{
                        "name": "kyuubi-server", "image": "apache/kyuubi:1.10.2",
                        "volumeMounts": [{"name": "kyuubi-db", "mountPath": "/opt/kyuubi/db"}],
                    }],
                    "volumes": [{"name": "kyuubi-db",
                                 "persistentVolumeClaim": {"claimName": "kyuubi-db"}}],
                },
            },
        },
    });
    let workload = dir.path().join("kyuubi.json");
    std::fs::write(&workload, kyuubi.to_string()).unwrap();
    let patch = dir.path().join("reaper-patch.yaml");
    std::fs::write(&patch, sidecar("patch", &[])).unwrap();
    let out = std::process::Command::new("kubectl")
        .args(["patch", "--local", "-o", "json", "-f"])
        .arg(&workload)
        .arg("--patch-file")
        .arg(&patch)
        .env("KUBECONFIG", "/dev/null")
        .output()
        .expect("kubectl (it comes with the machine image, see .ci/test)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let patched: k8s_openapi::api::apps::v1::StatefulSet =
        serde_json::from_slice(&out.stdout).unwrap();
    let pod = patched.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("kyuubi"));
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["kyuubi-reaper", "kyuubi-server"]);
    let server = serde_json::to_value(&pod.containers[1]).unwrap();
    assert_eq!(server, kyuubi["spec"]["template"]["spec"]["containers"][0]);
    let volumes: Vec<&str> = pod
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(volumes, ["kyuubi-reaper-tmp", "kyuubi-db"]);
    assert_hardened(&pod.containers[0]);
}

/// The pod spec's environment for `container`, as the kubelet sets it: plain values, and
/// `metadata.name` from the downward API as `pod_name`.
fn environment(container: &Container, pod_name: &str) -> Vec<(String, String)> {
    container
        .env
        .iter()
        .flatten()
        .map(|e| {
            let value = match (&e.value, &e.value_from) {
                (Some(value), None) => value.clone(),
                (None, Some(from)) => {
                    let field = from.field_ref.as_ref().expect("a field reference");
                    assert_eq!(field.field_path, "metadata.name");
                    pod_name.to_string()
                }
                other => panic!("env {} is {other:?}", e.name),
            };
            (e.name.clone(), value)
        })
        .collect()
}

/// `GET path` on `addr`: the status code.
fn status_of(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A running `kyuubi-reaper`, killed when dropped so that a failing test leaves no service
/// behind, with its stderr collected.
struct Running {
    child: std::process::Child,
    log: Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts the binary with `args` and `env`, and keeps its stderr.
    fn start(args: &[String], env: Vec<(String, String)>) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kyuubi-reaper"))
            .args(args)
            .envs(env)
            .env("RUST_LOG", "kyuubi_reaper=info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        Self {
            child,
            log,
            reader: Some(reader),
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The address the service logged it serves HTTP on, once it has.
    fn address(&self) -> Option<String> {
        let log = self.log();
        let rest = log.split("/readyz on ").nth(1)?;
        Some(
            rest.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect(),
        )
    }

    /// Polls `done` every 20 ms for at most 20 s.
    #[track_caller]
    fn wait_for(&self, what: &str, done: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no {what} within 20 s; the service's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, as Kubernetes stops a pod; the exit code.
    fn stop(mut self) -> Option<i32> {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let start = std::time::Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "watch did not stop on SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        code
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_deployments_command_line_runs_an_elected_watch_that_reaps() {
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("volume");
    std::fs::create_dir(&volume).unwrap();
    let mut store = Store::new(Layout::V1_11).batch(batch("done-1", "FINISHED", "spark"));
    let mut pods = vec![driver(
        "spark",
        "done-1",
        "Succeeded",
        ago(300),
        Some(ago(200)),
    )];
    for i in 0..4 {
        let tag = format!("live-{i}");
        store = store.batch(batch(&tag, "RUNNING", "spark"));
        pods.push(driver("spark", &tag, "Running", ago(60), None));
    }
    store.write(&volume.join("kyuubi_state_store.db"));
    let cluster = Cluster::start(ServerConfig {
        namespaces: strings(&["kyuubi", "spark"]),
        ..ServerConfig::default()
    });
    cluster.server().seed_pods(pods).unwrap();
    let kubeconfig = cluster.kubeconfig(dir.path(), &KubeconfigOptions::default());

    let objects = generate(&words("deployment", &["--reap-namespace", "spark"]));
    let container = the_container(&the_pod_template(&objects));
    // The kubelet's part: the claim's directory is the volume on this machine, and the pod's
    // network a free local port instead of 9464 on every address (the last `--listen` wins).
    let mut args: Vec<String> = args_of(&container)
        .into_iter()
        .map(|arg| arg.replace("=/var/lib/kyuubi/", &format!("={}/", volume.display())))
        .collect();
    args.push("--listen=127.0.0.1:0".into());
    let mut env = environment(&container, "kyuubi-reaper-5d8f7-x2x9q");
    env.push(("KUBECONFIG".into(), kubeconfig.display().to_string()));
    let service = Running::start(&args, env);
    service.wait_for("HTTP address", || service.address().is_some());
    let addr = service.address().unwrap();
    let first = service.log().lines().next().unwrap_or_default().to_string();
    assert!(
        serde_json::from_str::<Value>(&first).is_ok(),
        "not a JSON log line (--log-format=json): {first}"
    );
    // The probes' paths answer; the Lease is taken under the pod's name; the orphan goes.
    for probe in [&container.liveness_probe, &container.readiness_probe] {
        let path = probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap()
            .path
            .clone()
            .unwrap();
        service.wait_for(&path, || status_of(&addr, &path) == 200);
    }
    service.wait_for("lease", || {
        cluster
            .server()
            .get_lease("kyuubi", "kyuubi-reaper")
            .and_then(|l| l["spec"]["holderIdentity"].as_str().map(String::from))
            .is_some_and(|holder| holder.starts_with("kyuubi-reaper-5d8f7-x2x9q"))
    });
    service.wait_for("delete", || !cluster.deletes().is_empty());
    let deletes: Vec<String> = cluster.deletes().into_iter().map(|r| r.path).collect();
    assert_eq!(
        deletes,
        ["/api/v1/namespaces/spark/pods/kyuubi-job-done-1-driver"]
    );
    let log = service.log();
    assert_eq!(service.stop(), Some(0), "{log}");
}

/// Live sources need no volume: the store URL and the ensemble reach the tool's command line
/// as given, the store's password comes from the Secret as `$KYUUBI_REAPER_STORE_PASSWORD`, and
/// a password in a URL (plain text in the cluster) is refused without being shown.
#[test]
fn live_sources_need_no_volume_and_the_password_comes_from_a_secret() {
    let line = |text: &str| -> Vec<String> { text.split_whitespace().map(String::from).collect() };
    let url = "mysql://kyuubi_ro@mysql.kyuubi:3306/kyuubi?ssl-mode=REQUIRED";
    let zk = "zk-0.zk:2181,zk-1.zk:2181,zk-2.zk:2181/kyuubi";
    for kind in ["cronjob", "deployment"] {
        let objects = generate(&line(&format!(
            "manifests {kind} -n kyuubi --image registry.example/kyuubi-reaper:0.1.0 \
             --store-url {url} --zk {zk} --store-password-secret kyuubi-db:password \
             --extra-arg=--ha-namespace=kyuubi"
        )));
        let template = the_pod_template(&objects);
        let container = the_container(&template);
        let args = args_of(&container);
        assert_eq!(given(&args, "--store-url"), [url], "{args:?}");
        assert_eq!(given(&args, "--zk"), [zk], "{args:?}");
        assert!(given(&args, "--store").is_empty() && given(&args, "--zk-snapshot").is_empty());
        let cli = parse_tool(&args);
        let judge = match &cli.command {
            Command::Reap(a) => &a.judge,
            Command::Watch(a) => &a.judge,
            other => panic!("{other:?}"),
        };
        assert_eq!(judge.state.store_url, [url]);
        assert_eq!(judge.state.zk, [zk]);
        let env: Vec<Value> = container
            .env
            .clone()
            .unwrap()
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        assert!(
            env.contains(&json!({
                "name": "KYUUBI_REAPER_STORE_PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "kyuubi-db", "key": "password", "optional": false}}
            })),
            "{env:?}"
        );
        // Only the scratch directory is mounted.
        assert_eq!(assert_hardened(&container), [("/tmp".to_string(), false)]);
        let volumes = template.spec.unwrap().volumes.unwrap();
        assert_eq!(volumes.len(), 1, "{volumes:?}");
        // Files and servers together.
        let objects = generate(&words(kind, &["--zk", zk]));
        let args = args_of(&the_container(&the_pod_template(&objects)));
        assert_eq!(given(&args, "--zk"), [zk]);
        assert_eq!(
            given(&args, "--store"),
            ["/var/lib/kyuubi/kyuubi_state_store.db"]
        );
    }

    let base = "manifests cronjob -n kyuubi --image registry.example/kyuubi-reaper:0.1.0";
    for (more, flag) in [
        (
            "--store-url mysql://kyuubi_ro:s3cret@db/kyuubi",
            "--store-url",
        ),
        (
            "--store-url mysql://kyuubi_ro@db/kyuubi?sslmode=fancy",
            "--store-url",
        ),
        ("--store-url ftp://db/kyuubi", "--store-url"),
        ("--zk zk-0:notaport", "--zk"),
        ("--store-password-secret kyuubi-db:password", "--store-url"),
        (
            "--store-url mysql://kyuubi_ro@db/kyuubi --store-password-secret kyuubi-db",
            "--store-password-secret",
        ),
        (
            "--store-url mysql://kyuubi_ro@db/kyuubi --store-password-secret Bad_Secret:password",
            "--store-password-secret",
        ),
        (
            "--store-url mysql://kyuubi_ro@db/kyuubi --store-password-secret kyuubi-db:pass/word",
            "--store-password-secret",
        ),
        ("--zk zk-0:2181 --state-claim kyuubi-data", "--state-claim"),
        ("--zk zk-0:2181 --extra-arg=--zk=zk-9:2181", "--extra-arg"),
        (
            "--zk zk-0:2181 --extra-arg=--store-url=mysql://u:s3cret@db/k",
            "--extra-arg",
        ),
    ] {
        let words = line(&format!("{base} {more}"));
        assert_refused(&words, flag);
        let out = reaper(&words).run_within(LIMIT);
        assert!(!out.stderr.contains("s3cret"), "{more}: {}", out.stderr);
    }
}
