//! The boundary with the Kubernetes API types.
//!
//! Owns: turning a pod off the wire ([`wire::Pod`]: only the fields read, decoded straight
//! from the bytes) into the crate's [`PodInfo`] (including when a pod is
//! taken to have terminated), for both pod sources: a saved pod list ([`mod@file`]) and a live
//! cluster ([`cluster`]), whose requests all go through [`request`]. Nothing past this module
//! sees a k8s-openapi or kube type. Must not: judge pods.

pub(crate) mod cluster;
pub(crate) mod file;
pub(crate) mod lease;
pub(crate) mod request;
pub(crate) mod watch;
pub(crate) mod wire;
pub(crate) mod yaml_items;

use jiff::Timestamp;

use crate::output::printable;
use crate::pod::{
    APP_ID_LABEL, PodInfo, PodPhase, TAG_LABEL, Termination, TerminationSource, dns_label,
    dns_subdomain,
};
use crate::selector::Labels as _;

/// The name Spark gives the driver container.
pub(crate) const DRIVER_CONTAINER: &str = "spark-kubernetes-driver";

/// Why a selected pod could not be turned into a [`PodInfo`]. Such a pod is skipped (never
/// judged, never deleted) and reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pod {pod}: {problem}")]
pub(crate) struct InvalidPod {
    /// `namespace/name` as far as known.
    pub pod: String,
    /// What is missing.
    pub problem: String,
}

/// Which namespaces a pod source covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Namespaces {
    /// No `-n`, no `-A`: a context's default namespace, like kubectl; every namespace of a pod
    /// file.
    ContextDefault,
    /// Every namespace (`-A`).
    All,
    /// These namespaces (`-n`, repeatable).
    Only(Vec<String>),
}

impl Namespaces {
    /// Whether a pod in `namespace` of a pod file is in scope.
    #[must_use]
    pub(crate) fn file_contains(&self, namespace: &str) -> bool {
        match self {
            Namespaces::ContextDefault | Namespaces::All => true,
            Namespaces::Only(list) => list.iter().any(|n| n == namespace),
        }
    }
}

/// What one pod source returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The candidate pods, in the order the source returned them.
    pub pods: Vec<PodInfo>,
    /// Candidate pods that could not be converted; skipped, never judged.
    pub invalid: Vec<InvalidPod>,
    /// Pods read from the source: all pods of a file, or the candidates a server returned.
    pub seen: usize,
    /// The API server's clock at the first answer, when listed from a cluster.
    pub server_time: Option<Timestamp>,
}

impl Listing {
    /// Keeps a converted candidate, or the reason it was skipped (said at warning level).
    pub(crate) fn add(&mut self, converted: Result<PodInfo, InvalidPod>) {
        match converted {
            Ok(info) => self.pods.push(info),
            Err(invalid) => {
                tracing::warn!("skipped: {invalid}");
                self.invalid.push(invalid);
            }
        }
    }
}

/// Converts a pod that matched the candidate selector.
pub(crate) fn pod_info(pod: &wire::Pod<'_>, context: Option<&str>) -> Result<PodInfo, InvalidPod> {
    let meta = &pod.metadata;
    let text = |s: &Option<wire::Str<'_>>| s.as_ref().map(|s| s.as_str().to_string());
    // Built only for a pod that is refused, and shown escaped: a name from a hand-made file
    // may hold newlines or escape sequences.
    let invalid = |problem: &str| InvalidPod {
        pod: printable(&format!(
            "{}/{}",
            meta.namespace.as_ref().map_or("?", wire::Str::as_str),
            meta.name.as_ref().map_or("?", wire::Str::as_str)
        )),
        problem: problem.to_string(),
    };
    let name = text(&meta.name).ok_or_else(|| invalid("no metadata.name"))?;
    let namespace = text(&meta.namespace).ok_or_else(|| invalid("no metadata.namespace"))?;
    // What an API server guarantees, a file need not: a name that is not a Kubernetes name
    // could forge lines of `-o name` or of a table, and no cluster could hold such a pod.
    if !dns_subdomain(&name) {
        return Err(invalid(
            "metadata.name is not a Kubernetes name (DNS-1123 subdomain)",
        ));
    }
    if !dns_label(&namespace) {
        return Err(invalid(
            "metadata.namespace is not a Kubernetes namespace name (DNS-1123 label)",
        ));
    }
    let created_at = meta
        .creation_timestamp
        .map(|t| t.0)
        .ok_or_else(|| invalid("no metadata.creationTimestamp"))?;
    let tag = pod
        .label(TAG_LABEL)
        .ok_or_else(|| invalid("no kyuubi-unique-tag label"))?
        .to_string();
    let status = pod.status.as_ref();
    let phase = PodPhase::parse(status.and_then(|s| s.phase.as_ref()).map(wire::Str::as_str));
    let terminated = phase.is_terminal().then(|| termination(status, created_at));
    Ok(PodInfo {
        context: context.map(str::to_string),
        namespace,
        name,
        uid: text(&meta.uid),
        resource_version: text(&meta.resource_version),
        tag,
        app_id: pod.label(APP_ID_LABEL).map(str::to_string),
        phase,
        created_at,
        deleting_since: meta.deletion_timestamp.map(|t| t.0),
        terminated,
    })
}

/// When a terminated pod ended (design §3): the driver container's `finishedAt`, else the
/// latest `finishedAt` of any container, else the `Ready` condition's last transition, else its
/// creation time.
fn termination(status: Option<&wire::Status<'_>>, created_at: Timestamp) -> Termination {
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let finished = |s: &wire::ContainerStatus<'_>| {
        s.state
            .as_ref()
            .and_then(|st| st.terminated.as_ref())
            .and_then(|t| t.finished_at)
            .map(|t| t.0)
    };
    if let Some(at) = statuses
        .iter()
        .filter(|s| s.name.as_str() == DRIVER_CONTAINER)
        .filter_map(finished)
        .max()
    {
        return Termination {
            at,
            source: TerminationSource::DriverContainer,
        };
    }
    if let Some(at) = statuses.iter().filter_map(finished).max() {
        return Termination {
            at,
            source: TerminationSource::AnyContainer,
        };
    }
    let ready = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|c| c.type_.as_str() == "Ready")
        .filter_map(|c| c.last_transition_time.map(|t| t.0))
        .max();
    match ready {
        Some(at) => Termination {
            at,
            source: TerminationSource::ReadyCondition,
        },
        None => Termination {
            at: created_at,
            source: TerminationSource::CreationTime,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &serde_json::Value) -> wire::Pod<'static> {
        let text: &'static str = Box::leak(json.to_string().into_boxed_str());
        serde_json::from_str(text).unwrap()
    }

    #[allow(clippy::needless_pass_by_value)]
    fn base(status: serde_json::Value) -> wire::Pod<'static> {
        pod(&serde_json::json!({
            "metadata": {
                "name": "etl-driver", "namespace": "spark", "uid": "u-1", "resourceVersion": "42",
                "creationTimestamp": "2026-11-01T10:00:00Z",
                "labels": {"kyuubi-unique-tag": "t-1", "spark-app-selector": "spark-abc",
                           "spark-role": "driver"}
            },
            "status": status
        }))
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn converts_the_fields_the_classifier_needs() {
        let info = pod_info(&base(serde_json::json!({"phase": "Running"})), Some("prod")).unwrap();
        assert_eq!(info.context.as_deref(), Some("prod"));
        assert_eq!(
            (info.namespace.as_str(), info.name.as_str()),
            ("spark", "etl-driver")
        );
        assert_eq!(info.uid.as_deref(), Some("u-1"));
        assert_eq!(info.resource_version.as_deref(), Some("42"));
        assert_eq!(info.tag, "t-1");
        assert_eq!(info.app_id.as_deref(), Some("spark-abc"));
        assert_eq!(info.phase, PodPhase::Running);
        assert_eq!(info.created_at, ts("2026-11-01T10:00:00Z"));
        assert_eq!(
            info.terminated, None,
            "a running pod has no termination time"
        );
        assert_eq!(info.deleting_since, None);
    }

    #[test]
    fn termination_prefers_the_driver_container() {
        let p = base(serde_json::json!({
            "phase": "Succeeded",
            "conditions": [{"type": "Ready", "status": "False",
                            "lastTransitionTime": "2026-11-01T12:00:00Z"}],
            "containerStatuses": [
                {"name": "sidecar", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-11-01T11:30:00Z"}}},
                {"name": "spark-kubernetes-driver", "image": "x", "imageID": "", "ready": false,
                 "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "finishedAt": "2026-11-01T11:00:00Z"}}}
            ]
        }));
        let t = pod_info(&p, None).unwrap().terminated.unwrap();
        assert_eq!(t.at, ts("2026-11-01T11:00:00Z"));
        assert_eq!(t.source, TerminationSource::DriverContainer);
    }

    #[test]
    fn termination_falls_back_to_any_container_then_ready_then_creation() {
        let any = base(serde_json::json!({
            "phase": "Failed",
            "containerStatuses": [
                {"name": "a", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-01T11:10:00Z"}}},
                {"name": "b", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-01T11:20:00Z"}}}
            ]
        }));
        let t = pod_info(&any, None).unwrap().terminated.unwrap();
        assert_eq!(
            (t.at, t.source),
            (ts("2026-11-01T11:20:00Z"), TerminationSource::AnyContainer)
        );

        let ready = base(serde_json::json!({
            "phase": "Failed", "reason": "Evicted",
            "conditions": [{"type": "Ready", "status": "False",
                            "lastTransitionTime": "2026-11-01T12:00:00Z"}]
        }));
        let t = pod_info(&ready, None).unwrap().terminated.unwrap();
        assert_eq!(
            (t.at, t.source),
            (
                ts("2026-11-01T12:00:00Z"),
                TerminationSource::ReadyCondition
            )
        );

        let nothing = base(serde_json::json!({"phase": "Failed"}));
        let t = pod_info(&nothing, None).unwrap().terminated.unwrap();
        assert_eq!(
            (t.at, t.source),
            (ts("2026-11-01T10:00:00Z"), TerminationSource::CreationTime)
        );
    }

    #[test]
    fn a_pod_without_identity_is_invalid_not_guessed() {
        let mut p = base(serde_json::json!({"phase": "Succeeded"}));
        p.metadata.creation_timestamp = None;
        let err = pod_info(&p, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pod spark/etl-driver: no metadata.creationTimestamp"
        );
        let mut p = base(serde_json::json!({}));
        p.metadata.namespace = None;
        assert!(
            pod_info(&p, None)
                .unwrap_err()
                .problem
                .contains("namespace")
        );
    }

    #[test]
    fn deletion_timestamp_is_carried() {
        let mut p = base(serde_json::json!({"phase": "Running"}));
        p.metadata.deletion_timestamp = Some(wire::Time(ts("2026-11-01T13:00:00Z")));
        assert_eq!(
            pod_info(&p, None).unwrap().deleting_since,
            Some(ts("2026-11-01T13:00:00Z"))
        );
    }
}
