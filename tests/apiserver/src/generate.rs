//! Realistic pod fixtures: Spark drivers started by Kyuubi (`kyuubi-unique-tag`,
//! `spark-app-selector`, `spark-role=driver`), their executors (ownerReferences to the driver)
//! and unrelated application pods, plus a streaming writer for large seed files.

use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::clock::format_rfc3339;
use crate::pod::SplitMix;

/// Lifecycle phase of a generated pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not scheduled yet.
    Pending,
    /// Running and ready.
    Running,
    /// All containers exited 0.
    Succeeded,
    /// A container exited non-zero.
    Failed,
}

impl std::str::FromStr for Phase {
    type Err = String;

    /// A `status.phase` value, in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pending" => Ok(Self::Pending),
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            _ => Err(format!(
                "unknown phase {s:?} (Pending, Running, Succeeded or Failed)"
            )),
        }
    }
}

impl Phase {
    /// The `status.phase` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }
}

/// A Spark driver pod to build.
#[derive(Debug, Clone)]
pub struct DriverSpec {
    /// Namespace.
    pub namespace: String,
    /// Pod name (Spark: `<app>-<16 hex>-driver`).
    pub name: String,
    /// Pod uid.
    pub uid: String,
    /// `kyuubi-unique-tag` (a UUID).
    pub tag: String,
    /// `spark-app-selector` (`spark-<32 hex>`).
    pub app_id: String,
    /// `spark-app-name`.
    pub app_name: String,
    /// Phase.
    pub phase: Phase,
    /// `creationTimestamp`.
    pub created: Timestamp,
    /// When the driver container finished (terminal phases).
    pub finished: Option<Timestamp>,
    /// Node (empty = unscheduled).
    pub node: String,
    /// Pod IP.
    pub ip: String,
}

fn conditions(
    phase: Phase,
    created: Timestamp,
    started: Timestamp,
    finished: Option<Timestamp>,
    scheduled: bool,
) -> Value {
    let c = format_rfc3339(created);
    let s = format_rfc3339(started);
    if !scheduled {
        return json!([{"type": "PodScheduled", "status": "False", "lastProbeTime": null, "lastTransitionTime": c,
            "reason": "Unschedulable", "message": "0/12 nodes are available: 12 Insufficient memory. preemption: 0/12 nodes are available: 12 No preemption victims found for incoming pod."}]);
    }
    let (ready, reason) = match phase {
        Phase::Running => ("True", None),
        Phase::Pending => ("False", Some("ContainersNotReady")),
        Phase::Succeeded | Phase::Failed => ("False", Some("PodCompleted")),
    };
    let t = finished.map_or_else(|| s.clone(), format_rfc3339);
    let mut ready_c =
        json!({"type": "Ready", "status": ready, "lastProbeTime": null, "lastTransitionTime": t});
    let mut cr_c = json!({"type": "ContainersReady", "status": ready, "lastProbeTime": null, "lastTransitionTime": t});
    if let Some(r) = reason {
        ready_c["reason"] = r.into();
        cr_c["reason"] = r.into();
    }
    json!([
        {"type": "PodReadyToStartContainers", "status": if phase == Phase::Pending { "False" } else { "True" }, "lastProbeTime": null, "lastTransitionTime": s},
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": c},
        ready_c,
        cr_c,
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": c}
    ])
}

fn container_status(
    name: &str,
    image: &str,
    phase: Phase,
    started: Timestamp,
    finished: Option<Timestamp>,
    id: &str,
) -> Value {
    let s = format_rfc3339(started);
    let (state, ready) = match phase {
        Phase::Pending => (json!({"waiting": {"reason": "ContainerCreating"}}), false),
        Phase::Running => (json!({"running": {"startedAt": s}}), true),
        Phase::Succeeded => (
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": s,
            "finishedAt": format_rfc3339(finished.unwrap_or(started)), "containerID": format!("containerd://{id}")}}),
            false,
        ),
        Phase::Failed => (
            json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": s,
            "finishedAt": format_rfc3339(finished.unwrap_or(started)), "containerID": format!("containerd://{id}")}}),
            false,
        ),
    };
    let mut v = json!({"name": name, "image": format!("docker.io/{image}"), "imageID": format!("docker.io/{image}@sha256:{}", &id[..64.min(id.len())]),
        "ready": ready, "restartCount": 0, "started": phase == Phase::Running, "state": state});
    if phase != Phase::Pending {
        v["containerID"] = format!("containerd://{id}").into();
    }
    v
}

fn kube_api_volume(suffix: &str) -> Value {
    json!({"name": format!("kube-api-access-{suffix}"), "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
    ]}})
}

const SPARK_IMAGE: &str = "apache/spark:3.5.1";

struct StatusSpec<'a> {
    phase: Phase,
    created: Timestamp,
    finished: Option<Timestamp>,
    node: &'a str,
    ip: &'a str,
    container: &'a str,
    image: &'a str,
    cid: &'a str,
}

fn status(s: &StatusSpec<'_>) -> Value {
    let StatusSpec {
        phase,
        created,
        finished,
        node,
        ip,
        container,
        image,
        cid,
    } = *s;
    let scheduled = !node.is_empty();
    let started = created
        .saturating_add(SignedDuration::from_secs(4))
        .unwrap_or(created);
    let mut st = json!({"phase": phase.as_str(), "qosClass": "Burstable",
        "conditions": conditions(phase, created, started, finished, scheduled)});
    if scheduled {
        let host = format!("10.0.{}.{}", ip.len() % 8, (cid.len() + ip.len()) % 250 + 1);
        st["hostIP"] = host.clone().into();
        st["hostIPs"] = json!([{"ip": host}]);
        st["startTime"] = format_rfc3339(created).into();
        st["containerStatuses"] = json!([container_status(
            container, image, phase, started, finished, cid
        )]);
        if phase != Phase::Pending {
            st["podIP"] = ip.into();
            st["podIPs"] = json!([{"ip": ip}]);
        }
    }
    st
}

/// A Spark driver pod as Spark on Kubernetes creates it for a Kyuubi engine.
#[must_use]
pub fn spark_driver_pod(d: &DriverSpec) -> Value {
    let local = format!("/var/data/spark-{}", &d.tag);
    let conf_map = format!(
        "spark-drv-{}-conf-map",
        &d.app_id[6..22.min(d.app_id.len())]
    );
    let cid: String = format!(
        "{}{}",
        d.app_id.trim_start_matches("spark-"),
        d.app_id.trim_start_matches("spark-")
    );
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": d.name,
            "namespace": d.namespace,
            "uid": d.uid,
            "resourceVersion": "1",
            "creationTimestamp": format_rfc3339(d.created),
            "labels": {
                "kyuubi-unique-tag": d.tag,
                "spark-app-name": d.app_name,
                "spark-app-selector": d.app_id,
                "spark-role": "driver",
                "spark-version": "3.5.1"
            }
        },
        "spec": {
            "containers": [{
                "name": "spark-kubernetes-driver",
                "image": SPARK_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "args": ["driver", "--properties-file", "/opt/spark/conf/spark.properties", "--class",
                    "org.apache.kyuubi.engine.spark.SparkSQLEngine", "spark-internal"],
                "env": [
                    {"name": "SPARK_USER", "value": "kyuubi"},
                    {"name": "SPARK_APPLICATION_ID", "value": d.app_id},
                    {"name": "SPARK_DRIVER_BIND_ADDRESS", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                    {"name": "SPARK_LOCAL_DIRS", "value": local},
                    {"name": "SPARK_CONF_DIR", "value": "/opt/spark/conf"}
                ],
                "ports": [
                    {"containerPort": 7078, "name": "driver-rpc-port", "protocol": "TCP"},
                    {"containerPort": 7079, "name": "blockmanager", "protocol": "TCP"},
                    {"containerPort": 4040, "name": "spark-ui", "protocol": "TCP"}
                ],
                "resources": {"limits": {"memory": "1408Mi"}, "requests": {"cpu": "1", "memory": "1408Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [
                    {"mountPath": local, "name": "spark-local-dir-1"},
                    {"mountPath": "/opt/spark/conf", "name": "spark-conf-volume-driver"},
                    {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": format!("kube-api-access-{}", &d.uid[..5]), "readOnly": true}
                ]
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "nodeName": if d.node.is_empty() { Value::Null } else { Value::from(d.node.as_str()) },
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Never",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "spark",
            "serviceAccountName": "spark",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
            ],
            "volumes": [
                {"emptyDir": {}, "name": "spark-local-dir-1"},
                {"configMap": {"defaultMode": 420, "items": [{"key": "spark.properties", "mode": 420, "path": "spark.properties"}], "name": conf_map}, "name": "spark-conf-volume-driver"},
                kube_api_volume(&d.uid[..5])
            ]
        },
        "status": status(&StatusSpec {
            phase: d.phase, created: d.created, finished: d.finished, node: &d.node, ip: &d.ip,
            container: "spark-kubernetes-driver", image: SPARK_IMAGE, cid: &cid,
        })
    })
    .as_object()
    .map_or(Value::Null, |o| {
        let mut o = o.clone();
        if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut)
            && spec.get("nodeName").is_some_and(Value::is_null) {
                spec.remove("nodeName");
            }
        Value::Object(o)
    })
}

/// An executor pod of `driver` (ownerReference to the driver, like Spark sets it).
#[must_use]
pub fn spark_executor_pod(
    driver: &Value,
    exec_id: usize,
    phase: Phase,
    uid: &str,
    node: &str,
    ip: &str,
) -> Value {
    let s = |p: &str| {
        driver
            .pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let dname = s("/metadata/name");
    let base = dname.strip_suffix("-driver").unwrap_or(&dname).to_string();
    let created: Timestamp = s("/metadata/creationTimestamp")
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let created = created
        .saturating_add(SignedDuration::from_secs(20))
        .unwrap_or(created);
    let finished = match phase {
        Phase::Succeeded | Phase::Failed => Some(
            created
                .saturating_add(SignedDuration::from_secs(600))
                .unwrap_or(created),
        ),
        _ => None,
    };
    let app_id = s("/metadata/labels/spark-app-selector");
    let cid = format!("{}{}", uid.replace('-', ""), uid.replace('-', ""));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{base}-exec-{exec_id}"),
            "namespace": s("/metadata/namespace"),
            "uid": uid,
            "resourceVersion": "1",
            "creationTimestamp": format_rfc3339(created),
            "labels": {
                "spark-app-name": s("/metadata/labels/spark-app-name"),
                "spark-app-selector": app_id,
                "spark-exec-id": exec_id.to_string(),
                "spark-exec-resourceprofile-id": "0",
                "spark-role": "executor",
                "spark-version": "3.5.1"
            },
            "ownerReferences": [{"apiVersion": "v1", "controller": true, "kind": "Pod", "name": dname, "uid": s("/metadata/uid")}]
        },
        "spec": {
            "containers": [{
                "name": "spark-kubernetes-executor",
                "image": SPARK_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "args": ["executor"],
                "env": [
                    {"name": "SPARK_EXECUTOR_ID", "value": exec_id.to_string()},
                    {"name": "SPARK_APPLICATION_ID", "value": app_id},
                    {"name": "SPARK_DRIVER_URL", "value": format!("spark://CoarseGrainedScheduler@{base}-svc.{}.svc:7078", s("/metadata/namespace"))},
                    {"name": "SPARK_EXECUTOR_POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}
                ],
                "ports": [{"containerPort": 7079, "name": "blockmanager", "protocol": "TCP"}],
                "resources": {"limits": {"memory": "1408Mi"}, "requests": {"cpu": "1", "memory": "1408Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "dnsPolicy": "ClusterFirst",
            "nodeName": node,
            "restartPolicy": "Never",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "spark",
            "terminationGracePeriodSeconds": 30
        },
        "status": status(&StatusSpec {
            phase, created, finished, node, ip,
            container: "spark-kubernetes-executor", image: SPARK_IMAGE, cid: &cid,
        })
    })
}

/// An unrelated application pod to build (a Deployment replica).
#[derive(Debug, Clone)]
pub struct AppSpec {
    /// Namespace.
    pub namespace: String,
    /// App name (`app` label, container name).
    pub app: String,
    /// `pod-template-hash`.
    pub hash: String,
    /// Random name suffix.
    pub suffix: String,
    /// Pod uid.
    pub uid: String,
    /// Uid of the owning `ReplicaSet`.
    pub rs_uid: String,
    /// `creationTimestamp`.
    pub created: Timestamp,
    /// Node.
    pub node: String,
    /// Pod IP.
    pub ip: String,
}

/// An unrelated application pod (a Deployment replica, running).
#[must_use]
pub fn app_pod(a: &AppSpec) -> Value {
    let AppSpec {
        namespace,
        app,
        hash,
        suffix,
        uid,
        rs_uid,
        created,
        node,
        ip,
    } = a;
    let created = *created;
    let cid = format!("{}{}", uid.replace('-', ""), uid.replace('-', ""));
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{app}-{hash}-{suffix}"),
            "generateName": format!("{app}-{hash}-"),
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": "1",
            "creationTimestamp": format_rfc3339(created),
            "labels": {"app": app, "pod-template-hash": hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true, "controller": true, "kind": "ReplicaSet", "name": format!("{app}-{hash}"), "uid": rs_uid}]
        },
        "spec": {
            "containers": [{"name": app, "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}],
            "dnsPolicy": "ClusterFirst",
            "nodeName": node,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30
        },
        "status": status(&StatusSpec {
            phase: Phase::Running, created, finished: None, node, ip,
            container: app, image: "nginx:1.27", cid: &cid,
        })
    })
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Candidate Spark driver pods (with `kyuubi-unique-tag`).
    pub drivers: usize,
    /// Other pods (executors of those drivers and unrelated app pods).
    pub others: usize,
    /// Namespaces to spread them over.
    pub namespaces: usize,
    /// RNG seed.
    pub seed: u64,
    /// "Now" for timestamps (pods are created up to 30 days before, and terminated ones
    /// finished before it).
    pub now: Timestamp,
    /// Give every driver this phase instead of the usual mix (40% Succeeded, 20% Failed, 25%
    /// Running, 15% Pending). `None` keeps the mix, and the same output for a seed as before
    /// this option existed.
    pub driver_phase: Option<Phase>,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            drivers: 100_000,
            others: 100_000,
            namespaces: 50,
            seed: 1,
            now: "2026-01-01T00:00:00Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
            driver_phase: None,
        }
    }
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Driver pods.
    pub drivers: usize,
    /// Executor pods.
    pub executors: usize,
    /// Unrelated pods.
    pub apps: usize,
}

fn hexs(r: &mut SplitMix, n: usize) -> String {
    let mut s = String::with_capacity(n);
    while s.len() < n {
        let _ = write!(s, "{:016x}", r.next_u64());
    }
    s.truncate(n);
    s
}

fn pick(r: &mut SplitMix, n: usize) -> usize {
    usize::try_from(r.next_u64() % (n.max(1) as u64)).unwrap_or(0)
}

fn random_ip(r: &mut SplitMix) -> String {
    format!(
        "10.{}.{}.{}",
        64 + pick(r, 64),
        pick(r, 256),
        pick(r, 254) + 1
    )
}

const NODES: usize = 120;

/// A random driver in namespace `ns`, created within 30 days before `now`, in `phase` or a
/// random one.
fn random_driver(r: &mut SplitMix, ns: String, now: Timestamp, phase: Option<Phase>) -> DriverSpec {
    let drawn = match pick(r, 100) {
        0..40 => Phase::Succeeded,
        40..60 => Phase::Failed,
        60..85 => Phase::Running,
        _ => Phase::Pending,
    };
    let phase = phase.unwrap_or(drawn);
    let age_s = i64::try_from(pick(r, 30 * 86_400)).unwrap_or(0) + 600;
    let created = now
        .saturating_sub(SignedDuration::from_secs(age_s))
        .unwrap_or(now);
    let runtime = i64::try_from(pick(r, 7_200)).unwrap_or(0) + 60;
    let finished = matches!(phase, Phase::Succeeded | Phase::Failed).then(|| {
        created
            .saturating_add(SignedDuration::from_secs(runtime.min(age_s - 1)))
            .unwrap_or(created)
    });
    let app_name = format!(
        "kyuubi-{}",
        ["etl", "adhoc", "report", "batch", "sql"][pick(r, 5)]
    );
    let unscheduled = phase == Phase::Pending && pick(r, 2) == 0;
    let node = if unscheduled {
        String::new()
    } else {
        format!("worker-{:03}", pick(r, NODES))
    };
    DriverSpec {
        namespace: ns,
        name: format!("{app_name}-{}-driver", hexs(r, 16)),
        uid: r.uuid(),
        tag: r.uuid(),
        app_id: format!("spark-{}", hexs(r, 32)),
        app_name,
        phase,
        created,
        finished,
        node,
        ip: random_ip(r),
    }
}

/// A random application pod in namespace `ns`.
fn random_app(r: &mut SplitMix, ns: String, now: Timestamp) -> AppSpec {
    const APPS: [&str; 6] = [
        "web",
        "api",
        "metrics-agent",
        "airflow-worker",
        "trino-worker",
        "hive-metastore",
    ];
    let app = APPS[pick(r, APPS.len())].to_string();
    let hash = hexs(r, 10);
    let suffix = hexs(r, 5);
    let uid = r.uuid();
    let rs_uid = r.uuid();
    let age_s = i64::try_from(pick(r, 30 * 86_400)).unwrap_or(0) + 60;
    let created = now
        .saturating_sub(SignedDuration::from_secs(age_s))
        .unwrap_or(now);
    let node = format!("worker-{:03}", pick(r, NODES));
    let ip = random_ip(r);
    AppSpec {
        namespace: ns,
        app,
        hash,
        suffix,
        uid,
        rs_uid,
        created,
        node,
        ip,
    }
}

/// The namespace names the generator uses.
#[must_use]
pub fn namespace_name(i: usize) -> String {
    format!("spark-{i:02}")
}

/// Write a `v1/List` seed file (compact JSON, one item per line) of realistic pods.
#[allow(clippy::missing_panics_doc)]
pub fn write_seed(w: &mut impl Write, o: &GenOptions) -> io::Result<GenSummary> {
    let mut r = SplitMix(o.seed);
    let mut sum = GenSummary::default();
    let mut rv: u64 = 1000;
    let ns_count = o.namespaces.max(1);
    w.write_all(b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[\n")?;
    let mut first = true;
    let mut emit = |w: &mut dyn Write, mut v: Value, rv: &mut u64| -> io::Result<()> {
        *rv += 1;
        v["metadata"]["resourceVersion"] = Value::from(rv.to_string());
        if !first {
            w.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *w, &v).map_err(io::Error::other)
    };
    let executors_target = o.others * 3 / 5;
    let apps_target = o.others - executors_target;
    let mut exec_budget = executors_target;
    for i in 0..o.drivers {
        let spec = random_driver(&mut r, namespace_name(i % ns_count), o.now, o.driver_phase);
        let phase = spec.phase;
        let driver = spark_driver_pod(&spec);
        // executors for some drivers, until the executor budget is used
        let n_exec = if exec_budget > 0 && phase != Phase::Pending {
            (1 + pick(&mut r, 2)).min(exec_budget)
        } else {
            0
        };
        let execs: Vec<Value> = (1..=n_exec)
            .map(|e| {
                let uid = r.uuid();
                let node = format!("worker-{:03}", pick(&mut r, NODES));
                let ip = random_ip(&mut r);
                spark_executor_pod(&driver, e, phase, &uid, &node, &ip)
            })
            .collect();
        exec_budget -= n_exec;
        emit(w, driver, &mut rv)?;
        sum.drivers += 1;
        for e in execs {
            emit(w, e, &mut rv)?;
            sum.executors += 1;
        }
    }
    for i in 0..apps_target + exec_budget {
        let spec = random_app(&mut r, namespace_name(i % ns_count), o.now);
        emit(w, app_pod(&spec), &mut rv)?;
        sum.apps += 1;
    }
    w.write_all(b"\n]}\n")?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_seed_parses_and_is_consistent() {
        let o = GenOptions {
            drivers: 20,
            others: 20,
            namespaces: 3,
            ..GenOptions::default()
        };
        let mut buf = Vec::new();
        let s = write_seed(&mut buf, &o).unwrap();
        assert_eq!(s.drivers, 20);
        assert_eq!(s.executors + s.apps, 20);
        let pods = crate::seed::parse_str(std::str::from_utf8(&buf).unwrap()).unwrap();
        assert_eq!(pods.len(), 40);
        let drivers: Vec<&Value> = pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["spark-role"] == "driver")
            .collect();
        assert_eq!(drivers.len(), 20);
        for d in &drivers {
            assert!(d["metadata"]["labels"]["kyuubi-unique-tag"].is_string());
            assert!(
                d["metadata"]["labels"]["spark-app-selector"]
                    .as_str()
                    .unwrap()
                    .starts_with("spark-")
            );
            assert_eq!(
                d["spec"]["containers"][0]["name"],
                "spark-kubernetes-driver"
            );
        }
        for e in pods
            .iter()
            .filter(|p| p["metadata"]["labels"]["spark-role"] == "executor")
        {
            let owner = e["metadata"]["ownerReferences"][0]["uid"].as_str().unwrap();
            assert!(drivers.iter().any(|d| d["metadata"]["uid"] == owner));
        }
        // deterministic
        let mut again = Vec::new();
        write_seed(&mut again, &o).unwrap();
        assert_eq!(buf, again);
    }

    #[test]
    fn forced_driver_phase() {
        let o = GenOptions {
            drivers: 50,
            others: 0,
            namespaces: 20,
            driver_phase: Some(Phase::Succeeded),
            ..GenOptions::default()
        };
        let mut buf = Vec::new();
        let s = write_seed(&mut buf, &o).unwrap();
        assert_eq!(
            s,
            GenSummary {
                drivers: 50,
                executors: 0,
                apps: 0
            }
        );
        let pods = crate::seed::parse_str(std::str::from_utf8(&buf).unwrap()).unwrap();
        let namespaces: std::collections::BTreeSet<&str> = pods
            .iter()
            .map(|p| p["metadata"]["namespace"].as_str().unwrap())
            .collect();
        assert_eq!(namespaces.len(), 20);
        for p in &pods {
            assert_eq!(p["status"]["phase"], "Succeeded");
            assert!(p["spec"]["nodeName"].is_string(), "scheduled");
            let fin: Timestamp =
                p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
            assert!(fin < o.now);
            let labels = &p["metadata"]["labels"];
            assert!(labels["kyuubi-unique-tag"].is_string());
            assert_eq!(labels["spark-role"], "driver");
            assert!(
                labels["spark-app-selector"]
                    .as_str()
                    .unwrap()
                    .starts_with("spark-")
            );
        }
        assert_eq!("failed".parse::<Phase>(), Ok(Phase::Failed));
        assert!("done".parse::<Phase>().is_err());
    }
}
