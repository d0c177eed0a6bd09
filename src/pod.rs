//! The crate's own view of a candidate driver pod.
//!
//! Owns: [`PodInfo`] and [`PodPhase`], the only pod types the classifier and the report see.
//! Kubernetes API types stop at the `k8s` module, which converts them into these. Must not:
//! depend on k8s-openapi or kube, or do I/O.

use jiff::Timestamp;
use serde::Serialize;

/// The label Kyuubi puts on every engine driver pod: the engine ref id or batch id.
pub(crate) const TAG_LABEL: &str = "kyuubi-unique-tag";
/// The label Spark puts on driver and executor pods: the Spark application id.
pub(crate) const APP_ID_LABEL: &str = "spark-app-selector";

/// A pod's `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub(crate) enum PodPhase {
    /// Accepted, not all containers running yet.
    Pending,
    /// Bound to a node, at least one container running.
    Running,
    /// All containers terminated successfully.
    Succeeded,
    /// All containers terminated, at least one in failure.
    Failed,
    /// The phase is `Unknown`, missing, or a value this tool does not know.
    Unknown,
}

impl PodPhase {
    /// Parses `status.phase`; anything unrecognised is [`PodPhase::Unknown`].
    #[must_use]
    pub(crate) fn parse(phase: Option<&str>) -> Self {
        match phase {
            Some("Pending") => PodPhase::Pending,
            Some("Running") => PodPhase::Running,
            Some("Succeeded") => PodPhase::Succeeded,
            Some("Failed") => PodPhase::Failed,
            _ => PodPhase::Unknown,
        }
    }

    /// Whether every container of the pod has terminated for good.
    #[must_use]
    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }

    /// The phase as Kubernetes spells it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }
}

/// Where a pod's termination time was read from, most precise first (design §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TerminationSource {
    /// `finishedAt` of the `spark-kubernetes-driver` container.
    DriverContainer,
    /// The latest `finishedAt` of any container.
    AnyContainer,
    /// The last transition of the `Ready` condition.
    ReadyCondition,
    /// Nothing recorded when the pod ended: its creation time is the only bound, so the retain
    /// period is measured from there.
    CreationTime,
}

/// When a terminated pod ended, and how that was found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Termination {
    /// The time the pod is taken to have terminated.
    pub at: Timestamp,
    /// Which field it came from.
    pub source: TerminationSource,
}

/// A DNS-1123 label, as Kubernetes requires of a namespace: 1 to 63 of `[a-z0-9-]`, starting
/// and ending with an alphanumeric.
pub(crate) fn dns_label(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|&c| alnum(c) || c == b'-')
        && alnum(b[0])
        && alnum(b[b.len() - 1])
}

/// A DNS-1123 subdomain, as Kubernetes requires of a pod name: at most 253 characters of
/// `[a-z0-9.-]`, dot-separated parts each starting and ending with an alphanumeric (a part may
/// be longer than a label's 63: Spark's driver names often are).
pub(crate) fn dns_subdomain(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.iter().all(|&c| alnum(c) || c == b'-')
                && alnum(b[0])
                && alnum(b[b.len() - 1])
        })
}

/// Which pod: the identity every report, plan, delete target and audit line carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub(crate) struct PodRef {
    /// The kubeconfig context (null: a pod file, or the in-cluster config).
    pub context: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// `metadata.uid` when listed.
    pub uid: Option<String>,
    /// `metadata.resourceVersion` when listed.
    pub resource_version: Option<String>,
    /// `kyuubi-unique-tag`.
    pub tag: String,
    /// `spark-app-selector`.
    #[serde(default)]
    pub app_id: Option<String>,
}

impl PodRef {
    /// The identity of a listed pod.
    #[must_use]
    pub(crate) fn of(pod: &PodInfo) -> Self {
        Self {
            context: pod.context.clone(),
            namespace: pod.namespace.clone(),
            name: pod.name.clone(),
            uid: pod.uid.clone(),
            resource_version: pod.resource_version.clone(),
            tag: pod.tag.clone(),
            app_id: pod.app_id.clone(),
        }
    }

    /// `namespace/name`.
    #[must_use]
    pub(crate) fn display(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A candidate driver pod, as the classifier sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PodInfo {
    /// The kubeconfig context it was listed from; `None` for a pod file or in-cluster config.
    pub context: Option<String>,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`: the delete precondition. Always present on pods from an API server; a
    /// hand-written pod file may lack it.
    pub uid: Option<String>,
    /// `metadata.resourceVersion` when it was listed: the delete precondition.
    pub resource_version: Option<String>,
    /// The `kyuubi-unique-tag` label: the join key into Kyuubi's state.
    pub tag: String,
    /// The `spark-app-selector` label: the Spark application id.
    pub app_id: Option<String>,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `metadata.creationTimestamp`.
    pub created_at: Timestamp,
    /// `metadata.deletionTimestamp`: set when the pod is already being deleted.
    pub deleting_since: Option<Timestamp>,
    /// When the pod terminated; `Some` exactly when the phase is terminal.
    pub terminated: Option<Termination>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_parse_and_print_as_kubernetes_spells_them() {
        for phase in [
            PodPhase::Pending,
            PodPhase::Running,
            PodPhase::Succeeded,
            PodPhase::Failed,
            PodPhase::Unknown,
        ] {
            assert_eq!(PodPhase::parse(Some(phase.as_str())), phase);
        }
        assert_eq!(PodPhase::parse(None), PodPhase::Unknown);
        assert_eq!(PodPhase::parse(Some("Completed")), PodPhase::Unknown);
        assert!(PodPhase::Succeeded.is_terminal());
        assert!(PodPhase::Failed.is_terminal());
        assert!(!PodPhase::Unknown.is_terminal());
        assert!(!PodPhase::Pending.is_terminal());
    }
}
