//! What to delete, and in which order: pure.
//!
//! Owns: [`Target`], one pod to delete exactly as it was judged (its `uid` and
//! `resourceVersion` become the DELETE's preconditions); the targets of a judged run
//! ([`from_judged`]) or of a reviewed `scan -o json` plan ([`parse_plan`], [`match_plan`]);
//! and the order the work is done in ([`order`]): oldest-terminated first, interleaved across
//! namespaces, so a run cut short has made even progress everywhere. Must not: read files or
//! clocks, talk to an API server, or judge pods.

use std::collections::{BTreeMap, VecDeque};

use jiff::Timestamp;
use serde::Deserialize;

use crate::classify::Verdict;
use crate::pipeline::Group;
use crate::pod::{PodInfo, PodRef, dns_label, dns_subdomain};

/// One pod to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Index of the group (context) whose connection deletes it.
    pub group: usize,
    /// Which pod; its uid and resourceVersion when judged are the DELETE's preconditions.
    pub id: PodRef,
    /// The verdict class (`terminated`, `leaked-running`, …).
    pub class: String,
    /// The rule of design §3 that decided.
    pub rule: u8,
    /// The reason, for the audit trail.
    pub reason: String,
    /// When the pod terminated; `None` for a pod that still runs (a suspect included with
    /// `--include`), which is deleted with `--grace-period`.
    pub terminated_at: Option<Timestamp>,
    /// `metadata.creationTimestamp`.
    pub created_at: Timestamp,
}

impl Target {
    /// The target of `pod`, judged an orphan of `class` by `rule`, in group `group`.
    pub(crate) fn from_pod(
        group: usize,
        pod: &PodInfo,
        class: &str,
        rule: u8,
        reason: &str,
    ) -> Self {
        Self {
            group,
            id: PodRef::of(pod),
            class: class.to_string(),
            rule,
            reason: reason.to_string(),
            terminated_at: pod.terminated.map(|t| t.at),
            created_at: pod.created_at,
        }
    }
}

/// The orphans of a judged run, one target each.
#[must_use]
pub(crate) fn from_judged(groups: &[Group]) -> Vec<Target> {
    let mut targets = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        for (pod, judgement) in group.listing.pods.iter().zip(&group.judgements) {
            if judgement.verdict == Verdict::Orphan {
                targets.push(Target::from_pod(
                    index,
                    pod,
                    judgement.class.as_str(),
                    judgement.rule,
                    &judgement.reason,
                ));
            }
        }
    }
    targets
}

/// Orders the work: within each (context, namespace), terminated pods by termination time
/// (oldest first), then pods that still run by creation time; the namespaces take turns, the
/// one with the oldest next pod first, so every namespace advances at the same pace.
#[must_use]
pub(crate) fn order(targets: Vec<Target>) -> Vec<Target> {
    // Terminated before running; then the older first; the name breaks ties.
    let key = |t: &Target| {
        (
            t.terminated_at.is_none(),
            t.terminated_at.unwrap_or(t.created_at),
            t.id.name.clone(),
        )
    };
    let mut queues: BTreeMap<(usize, String), Vec<Target>> = BTreeMap::new();
    for target in targets {
        queues
            .entry((target.group, target.id.namespace.clone()))
            .or_default()
            .push(target);
    }
    let mut queues: Vec<VecDeque<Target>> = queues
        .into_values()
        .map(|mut q| {
            q.sort_by_key(key);
            q.into()
        })
        .collect();
    queues.sort_by_key(|q| q.front().map(key));
    let total = queues.iter().map(VecDeque::len).sum();
    let mut ordered = Vec::with_capacity(total);
    while ordered.len() < total {
        for queue in &mut queues {
            if let Some(target) = queue.pop_front() {
                ordered.push(target);
            }
        }
    }
    ordered
}

/// The schema a plan must have: the scan report's.
pub(crate) const PLAN_SCHEMA: &str = crate::output::SCHEMA;

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] std::io::Error),
    /// The same orphan twice: the plan was put together or edited by hand.
    #[error("orphan {pod:?} appears twice; a `scan -o json` report lists each pod once")]
    Duplicate {
        /// `namespace/name`.
        pod: String,
    },
    /// Not a regular file (a FIFO, a device, a directory).
    #[error("not a regular file; a plan is a `scan -o json` report saved to a file")]
    NotAFile,
    /// An orphan whose namespace or name Kubernetes would never give a pod: the plan was edited.
    #[error("orphan {pod:?} has an invalid {field} (Kubernetes names are DNS labels/subdomains)")]
    BadName {
        /// `namespace/name` as written.
        pod: String,
        /// `namespace` or `name`.
        field: &'static str,
    },
    /// The file is larger than a plan can reasonably be.
    #[error("the file is larger than {} MiB; a plan is a `scan -o json` report", MAX_PLAN_BYTES >> 20)]
    TooLarge,
    /// Not JSON, or not the scan report's shape.
    #[error("not a `scan -o json` report: {0}")]
    Json(#[from] serde_json::Error),
    /// Another schema (or another version of it).
    #[error("its schema is {found:?}, not {PLAN_SCHEMA:?}: make the plan with `scan -o json`")]
    Schema {
        /// The `schema` field found.
        found: String,
    },
    /// The pods came from a file, which names no cluster to delete from.
    #[error(
        "its pods were read from a file (`scan --pods`), which names no cluster to delete from; \
         make the plan with `scan` against the cluster"
    )]
    NotFromCluster,
    /// No `generated_at`: its age cannot be checked.
    #[error("it records no generated_at time, so its age cannot be checked")]
    NoTime,
    /// An orphan without the uid or resourceVersion to delete it with.
    #[error("orphan {pod} has no {field}: it cannot be deleted with preconditions")]
    NoPrecondition {
        /// `namespace/name`.
        pod: String,
        /// `uid` or `resource_version`.
        field: &'static str,
    },
}

/// The largest plan file read.
pub(crate) const MAX_PLAN_BYTES: u64 = 512 << 20;

/// A reviewed plan: the parts of a `scan -o json` report that `reap --plan` uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Plan {
    /// When the report was made.
    #[serde(default)]
    pub generated_at: Option<Timestamp>,
    /// `cluster` or `file`.
    #[serde(default)]
    pub pods_from: Option<String>,
    /// Every judged pod.
    pub pods: Vec<PlanPod>,
}

/// One pod of a plan.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PlanPod {
    /// Which pod, with its uid and resourceVersion when judged.
    #[serde(flatten)]
    pub id: PodRef,
    /// `orphan`, `suspect` or `keep`.
    pub verdict: String,
    /// Class.
    pub class: String,
    /// Rule.
    pub rule: u8,
    /// Reason.
    #[serde(default)]
    pub reason: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Termination time.
    #[serde(default)]
    pub terminated_at: Option<Timestamp>,
}

/// Parses and checks a plan: the scan report's schema, listed from a cluster, with a time, and
/// every orphan carrying its preconditions.
pub(crate) fn parse_plan(bytes: &[u8]) -> Result<Plan, PlanError> {
    // The schema first, so that another document gets the message that says so.
    #[derive(Deserialize)]
    struct Head {
        schema: Option<String>,
    }
    let head: Head = serde_json::from_slice(bytes)?;
    let found = head.schema.unwrap_or_default();
    if found != PLAN_SCHEMA {
        return Err(PlanError::Schema { found });
    }
    let plan: Plan = serde_json::from_slice(bytes)?;
    if plan.pods_from.as_deref() != Some("cluster") {
        return Err(PlanError::NotFromCluster);
    }
    if plan.generated_at.is_none() {
        return Err(PlanError::NoTime);
    }
    let mut seen = std::collections::HashSet::new();
    for pod in plan.orphans() {
        if !seen.insert((&pod.id.context, &pod.id.namespace, &pod.id.name)) {
            return Err(PlanError::Duplicate {
                pod: pod.id.display(),
            });
        }
        let missing = |field| PlanError::NoPrecondition {
            pod: format!("{}/{}", pod.id.namespace, pod.id.name),
            field,
        };
        if pod.id.uid.as_deref().is_none_or(str::is_empty) {
            return Err(missing("uid"));
        }
        if pod.id.resource_version.as_deref().is_none_or(str::is_empty) {
            return Err(missing("resource_version"));
        }
        let bad = |field| PlanError::BadName {
            pod: format!("{}/{}", pod.id.namespace, pod.id.name),
            field,
        };
        if !dns_label(&pod.id.namespace) {
            return Err(bad("namespace"));
        }
        if !dns_subdomain(&pod.id.name) {
            return Err(bad("name"));
        }
    }
    Ok(plan)
}

impl Plan {
    /// The plan's orphans.
    pub(crate) fn orphans(&self) -> impl Iterator<Item = &PlanPod> {
        self.pods
            .iter()
            .filter(|p| p.verdict == Verdict::Orphan.as_str())
    }

    /// The contexts of its orphans, in first-seen order.
    #[must_use]
    pub(crate) fn contexts(&self) -> Vec<Option<String>> {
        let mut contexts: Vec<Option<String>> = Vec::new();
        for pod in self.orphans() {
            if !contexts.contains(&pod.id.context) {
                contexts.push(pod.id.context.clone());
            }
        }
        contexts
    }

    /// The namespaces of its orphans in `context`, sorted.
    #[must_use]
    pub(crate) fn namespaces(&self, context: Option<&str>) -> Vec<String> {
        let mut namespaces: Vec<String> = self
            .orphans()
            .filter(|p| p.id.context.as_deref() == context)
            .map(|p| p.id.namespace.clone())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        namespaces
    }
}

/// How a plan's orphan compares with the pod listed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Relisted {
    /// Still there, unchanged: delete it with the plan's preconditions.
    Unchanged(Target),
    /// No candidate pod of that name any more.
    Gone(Target),
    /// Replaced (another uid) or changed (another resourceVersion) since the plan was made.
    Changed(Target, String),
}

/// Compares each orphan of `plan` in `context` (group `group`) with the candidate pods listed
/// now, so that only pods that are still candidates, exactly as planned, receive a DELETE.
#[must_use]
pub(crate) fn match_plan(
    plan: &Plan,
    group: usize,
    context: Option<&str>,
    now: &[PodInfo],
) -> Vec<Relisted> {
    let listed: BTreeMap<(&str, &str), &PodInfo> = now
        .iter()
        .map(|p| ((p.namespace.as_str(), p.name.as_str()), p))
        .collect();
    plan.orphans()
        .filter(|p| p.id.context.as_deref() == context)
        .map(|p| {
            let target = Target {
                group,
                id: p.id.clone(),
                class: p.class.clone(),
                rule: p.rule,
                reason: p.reason.clone(),
                terminated_at: p.terminated_at,
                created_at: p.created_at,
            };
            match listed.get(&(p.id.namespace.as_str(), p.id.name.as_str())) {
                None => Relisted::Gone(target),
                Some(current) if current.uid != p.id.uid => Relisted::Changed(
                    target,
                    format!(
                        "replaced since the plan: uid {} now, {} in the plan",
                        current.uid.as_deref().unwrap_or("-"),
                        p.id.uid.as_deref().unwrap_or("-")
                    ),
                ),
                Some(current) if current.resource_version != p.id.resource_version => {
                    Relisted::Changed(
                        target,
                        format!(
                            "changed since the plan: resourceVersion {} now, {} in the plan",
                            current.resource_version.as_deref().unwrap_or("-"),
                            p.id.resource_version.as_deref().unwrap_or("-")
                        ),
                    )
                }
                Some(_) => Relisted::Unchanged(target),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn target(group: usize, ns: &str, name: &str, terminated: Option<i64>) -> Target {
        Target {
            group,
            id: PodRef {
                context: None,
                namespace: ns.into(),
                name: name.into(),
                uid: Some(format!("uid-{name}")),
                resource_version: Some("1".into()),
                tag: format!("tag-{name}"),
                app_id: None,
            },
            class: "terminated".into(),
            rule: 6,
            reason: String::new(),
            terminated_at: terminated.map(ts),
            created_at: ts(-1000),
        }
    }

    fn names(targets: &[Target]) -> Vec<&str> {
        targets.iter().map(|t| t.id.name.as_str()).collect()
    }

    #[test]
    fn oldest_terminated_first_and_namespaces_take_turns() {
        let targets = vec![
            target(0, "a", "a-new", Some(30)),
            target(0, "a", "a-old", Some(10)),
            target(0, "a", "a-running", None),
            target(0, "a", "a-mid", Some(20)),
            target(0, "b", "b-oldest", Some(5)),
            target(0, "b", "b-new", Some(40)),
            target(1, "a", "other-context", Some(1)),
        ];
        let ordered = order(targets);
        assert_eq!(
            names(&ordered),
            [
                "other-context",
                "b-oldest",
                "a-old",
                "b-new",
                "a-mid",
                "a-new",
                "a-running"
            ]
        );
    }

    #[test]
    fn ordering_keeps_every_target_once() {
        let mut targets = Vec::new();
        for i in 0..50 {
            targets.push(target(
                i % 3,
                &format!("ns{}", i % 7),
                &format!("p{i}"),
                Some(i64::try_from(i).unwrap()),
            ));
        }
        let ordered = order(targets.clone());
        let mut a = names(&ordered);
        let mut b = names(&targets);
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b);
    }

    fn plan_json(extra: &str, pods: &str) -> String {
        format!(
            r#"{{"schema":"kyuubi-reaper.scan/v1","pods_from":"cluster",
               "generated_at":"2027-01-15T08:00:00Z"{extra},"pods":[{pods}]}}"#
        )
    }

    const ORPHAN: &str = r#"{"context":"prod","namespace":"spark","name":"d1","uid":"u1",
        "resource_version":"7","tag":"t1","app_id":"spark-1","verdict":"orphan",
        "class":"terminated","rule":6,"reason":"done","created_at":"2027-01-01T00:00:00Z",
        "terminated_at":"2027-01-02T00:00:00Z","phase":"Succeeded","evidence":[]}"#;

    #[test]
    fn a_plan_is_a_scan_report_from_a_cluster() {
        let plan = parse_plan(plan_json("", ORPHAN).as_bytes()).unwrap();
        assert_eq!(plan.orphans().count(), 1);
        assert_eq!(plan.contexts(), [Some("prod".to_string())]);
        assert_eq!(plan.namespaces(Some("prod")), ["spark"]);

        let other = r#"{"schema":"kyuubi-reaper.reap/v1","pods":[]}"#;
        assert!(matches!(
            parse_plan(other.as_bytes()),
            Err(PlanError::Schema { .. })
        ));
        let future = r#"{"schema":"kyuubi-reaper.scan/v2","pods":[]}"#;
        assert!(matches!(
            parse_plan(future.as_bytes()),
            Err(PlanError::Schema { .. })
        ));
        let file =
            plan_json("", ORPHAN).replace(r#""pods_from":"cluster""#, r#""pods_from":"file""#);
        assert!(matches!(
            parse_plan(file.as_bytes()),
            Err(PlanError::NotFromCluster)
        ));
        let untimed =
            plan_json("", ORPHAN).replace(r#""generated_at":"2027-01-15T08:00:00Z""#, r#""x":1"#);
        assert!(matches!(
            parse_plan(untimed.as_bytes()),
            Err(PlanError::NoTime)
        ));
        let no_uid = plan_json("", &ORPHAN.replace(r#""uid":"u1""#, r#""uid":null"#));
        assert!(matches!(
            parse_plan(no_uid.as_bytes()),
            Err(PlanError::NoPrecondition { field: "uid", .. })
        ));
        assert!(matches!(parse_plan(b"[1,2"), Err(PlanError::Json(_))));
        let twice = plan_json("", &format!("{ORPHAN},{ORPHAN}"));
        assert!(matches!(
            parse_plan(twice.as_bytes()),
            Err(PlanError::Duplicate { .. })
        ));
        for (field, from, to) in [
            (
                "namespace",
                r#""namespace":"spark""#,
                r#""namespace":"spark/pods/x?y=""#,
            ),
            ("namespace", r#""namespace":"spark""#, r#""namespace":"""#),
            ("name", r#""name":"d1""#, r#""name":"../d1""#),
            ("name", r#""name":"d1""#, r#""name":"D1\n""#),
        ] {
            let edited = plan_json("", &ORPHAN.replace(from, to));
            let result = parse_plan(edited.as_bytes());
            assert!(
                matches!(&result, Err(PlanError::BadName { field: f, .. }) if *f == field),
                "{to}: {result:?}"
            );
        }
    }

    #[test]
    fn only_unchanged_candidates_are_deleted_from_a_plan() {
        let plan = parse_plan(plan_json("", ORPHAN).as_bytes()).unwrap();
        let pod = |uid: &str, rv: &str| PodInfo {
            context: Some("prod".into()),
            namespace: "spark".into(),
            name: "d1".into(),
            uid: Some(uid.into()),
            resource_version: Some(rv.into()),
            tag: "t1".into(),
            app_id: None,
            phase: crate::pod::PodPhase::Succeeded,
            created_at: ts(0),
            deleting_since: None,
            terminated: None,
        };
        assert!(matches!(
            match_plan(&plan, 0, Some("prod"), &[pod("u1", "7")])[..],
            [Relisted::Unchanged(_)]
        ));
        assert!(matches!(
            match_plan(&plan, 0, Some("prod"), &[])[..],
            [Relisted::Gone(_)]
        ));
        assert!(
            matches!(&match_plan(&plan, 0, Some("prod"), &[pod("u2", "7")])[..], [Relisted::Changed(_, why)] if why.contains("replaced"))
        );
        assert!(
            matches!(&match_plan(&plan, 0, Some("prod"), &[pod("u1", "8")])[..], [Relisted::Changed(_, why)] if why.contains("resourceVersion"))
        );
        assert!(
            match_plan(&plan, 0, Some("dev"), &[]).is_empty(),
            "another context"
        );
    }
}
