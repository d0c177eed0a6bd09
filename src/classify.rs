//! The verdict rules of design §3: which candidate pods are orphans.
//!
//! Owns: [`classify`], a pure function of (pods, engine state, policy, now) that gives every pod
//! exactly one [`Judgement`] (orphan, suspect or keep, with the rule that fired, a reason, and
//! the evidence behind it). Rules are tried in order and the first match wins:
//!
//! | # | condition | verdict |
//! |---|---|---|
//! | 1 | pod has a deletion timestamp | keep `terminating` |
//! | 2 | a ZooKeeper registration whose owner may be alive has the tag | keep `registered` |
//! | 3 | a batch row for the tag is non-terminal and not closed by a peer | keep `batch-active` |
//! | 4 | pod created after the state's as-of time | keep `state-older-than-pod` |
//! | 5 | pod terminated less than `retain` ago | keep `within-retain` |
//! | 6 | pod terminated (`--keep-failed`: succeeded only) | **orphan** `terminated` |
//! | 7 | pod not terminated, its batch ended more than `retain` ago | suspect `leaked-running` |
//! | 8 | running since `engine_start_timeout` before a fresh ZooKeeper state, unregistered, no batch row | suspect `unregistered-running` |
//! | 9 | pending for longer than `stuck_after` | suspect `stuck-pending` |
//! | 10 | anything else | keep `no-evidence` |
//!
//! Suspects become orphans only when their class is in [`Policy::include`]. With
//! [`Policy::require_record`] an orphan additionally needs a terminal Kyuubi record that
//! applies to the pod. [`next_change`] says when a pod's verdict can next change by time
//! alone, which is when `watch` judges it again. Must not: do I/O, read the clock, or know
//! where the state came from.
//!
//! A record *applies* to a pod unless it names a different namespace, context or pod name than
//! the pod has (unknown fields match anything). A record that does not apply is still shown as
//! evidence, and a non-terminal batch row protects the pod (rule 3) whether it applies or not:
//! a doubt about scope may only ever keep a pod.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::duration::human;
use crate::pod::{PodInfo, PodPhase, TerminationSource};
use crate::state::{
    BatchRecord, EngineInfoRecord, EngineState, K8sScope, OwnerState, RegistrationRecord,
    TagEvidence,
};

/// The outcome for one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    /// Deleted by `reap`.
    Orphan,
    /// Reported; deleted only when its class is opted in with `--include`.
    Suspect,
    /// Left alone.
    Keep,
}

impl Verdict {
    /// The verdict as the report spells it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Orphan => "orphan",
            Verdict::Suspect => "suspect",
            Verdict::Keep => "keep",
        }
    }
}

/// Why a pod got its verdict: one class per rule outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Class {
    /// Rule 1: the pod is already being deleted.
    Terminating,
    /// Rule 2: a live ZooKeeper registration has the tag.
    Registered,
    /// Rule 3: the batch is still live for Kyuubi.
    BatchActive,
    /// Rule 4: the state is older than the pod.
    StateOlderThanPod,
    /// Rule 5: terminated, but within the retain period Kyuubi itself honours.
    WithinRetain,
    /// Rule 6 with `--keep-failed`: a failed pod kept for debugging.
    KeptFailed,
    /// Rule 6 with `--require-record`: terminated, but no terminal Kyuubi record applies.
    NoTerminalRecord,
    /// Rule 6: terminated and past the retain period.
    Terminated,
    /// Rule 7: the pod still runs although its batch ended.
    LeakedRunning,
    /// Rule 8: running, but no engine registered for it.
    UnregisteredRunning,
    /// Rule 9: pending for too long.
    StuckPending,
    /// Rule 10: nothing says the engine is gone.
    NoEvidence,
}

impl Class {
    /// The class as the report and `--include` spell it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Terminating => "terminating",
            Class::Registered => "registered",
            Class::BatchActive => "batch-active",
            Class::StateOlderThanPod => "state-older-than-pod",
            Class::WithinRetain => "within-retain",
            Class::KeptFailed => "kept-failed",
            Class::NoTerminalRecord => "no-terminal-record",
            Class::Terminated => "terminated",
            Class::LeakedRunning => "leaked-running",
            Class::UnregisteredRunning => "unregistered-running",
            Class::StuckPending => "stuck-pending",
            Class::NoEvidence => "no-evidence",
        }
    }
}

/// The suspect classes `--include` can turn into orphans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SuspectClass {
    /// `leaked-running` (rule 7).
    LeakedRunning,
    /// `unregistered-running` (rule 8).
    UnregisteredRunning,
    /// `stuck-pending` (rule 9).
    StuckPending,
}

impl SuspectClass {
    /// Every suspect class, for help texts.
    pub(crate) const ALL: [SuspectClass; 3] = [
        SuspectClass::LeakedRunning,
        SuspectClass::UnregisteredRunning,
        SuspectClass::StuckPending,
    ];

    /// The class this suspect class names.
    #[must_use]
    pub(crate) fn class(self) -> Class {
        match self {
            SuspectClass::LeakedRunning => Class::LeakedRunning,
            SuspectClass::UnregisteredRunning => Class::UnregisteredRunning,
            SuspectClass::StuckPending => Class::StuckPending,
        }
    }

    /// Parses a class name as `--include` takes it.
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.class().as_str() == name.trim())
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|c| c.class().as_str()).collect();
                format!(
                    "unknown suspect class {name:?}; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// The knobs of the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Rule 5: how long a terminated pod is left alone (default 10m: Kyuubi's 5m retain period
    /// plus its 1m check interval plus a margin for clock skew). Also the age a batch's end
    /// must have for rule 7.
    pub retain: SignedDuration,
    /// Rule 6: keep `Failed` pods (only `Succeeded` ones are orphans).
    pub keep_failed: bool,
    /// Only pods with a terminal Kyuubi record may be orphans.
    pub require_record: bool,
    /// Suspect classes that count as orphans.
    pub include: Vec<SuspectClass>,
    /// Rule 9: how long a pod may stay `Pending` (default 30m).
    pub stuck_after: SignedDuration,
    /// Rule 8: how long an engine may take to register (default 5m).
    pub engine_start_timeout: SignedDuration,
    /// Rule 8: how old a ZooKeeper state may be and still say that an engine is not registered
    /// (default 1h). The pipeline refuses older states outright; this keeps the rule safe on
    /// its own.
    pub max_state_age: SignedDuration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            retain: SignedDuration::from_mins(10),
            keep_failed: false,
            require_record: false,
            include: Vec::new(),
            stuck_after: SignedDuration::from_mins(30),
            engine_start_timeout: SignedDuration::from_mins(5),
            max_state_age: SignedDuration::from_hours(1),
        }
    }
}

/// One fact behind a verdict, as the JSON report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum Evidence {
    /// What the pod itself says.
    Pod {
        /// `status.phase`.
        phase: PodPhase,
        /// `metadata.creationTimestamp`.
        created_at: Timestamp,
        /// When it terminated, for a terminated pod.
        terminated_at: Option<Timestamp>,
        /// Which field the termination time came from.
        terminated_at_from: Option<TerminationSource>,
        /// `metadata.deletionTimestamp`.
        deletion_timestamp: Option<Timestamp>,
    },
    /// A batch row of a metadata store.
    Batch {
        /// The store it came from.
        source: String,
        /// `state`.
        state: String,
        /// `engine_state`.
        engine_state: Option<String>,
        /// `engine_id`.
        engine_id: Option<String>,
        /// `create_time`.
        created_at: Option<Timestamp>,
        /// `end_time`.
        ended_at: Option<Timestamp>,
        /// `peer_instance_closed`.
        peer_instance_closed: bool,
        /// `kyuubi_instance`.
        kyuubi_instance: Option<String>,
        /// Context recorded in `request_conf`.
        context: Option<String>,
        /// Namespace recorded in `request_conf`.
        namespace: Option<String>,
        /// Driver pod name recorded in `request_conf`.
        pod_name: Option<String>,
        /// Whether the row applies to this pod (see the module docs).
        applies: bool,
        /// Why it does not apply, when it does not.
        mismatch: Option<String>,
    },
    /// A `k8s_engine_info` row of a metadata store.
    EngineInfo {
        /// The store it came from.
        source: String,
        /// `pod_state`.
        pod_state: Option<String>,
        /// `engine_state`.
        engine_state: Option<String>,
        /// `engine_id`.
        engine_id: Option<String>,
        /// `update_time`.
        updated_at: Option<Timestamp>,
        /// `context`.
        context: Option<String>,
        /// `namespace`.
        namespace: Option<String>,
        /// `pod_name`.
        pod_name: Option<String>,
        /// Whether the row applies to this pod.
        applies: bool,
        /// Why it does not apply, when it does not.
        mismatch: Option<String>,
    },
    /// A Kyuubi engine registration in ZooKeeper.
    Registration {
        /// The ZooKeeper source it came from.
        source: String,
        /// The znode's path.
        path: String,
        /// `live`, `uncertain`, `not-ephemeral` or `gone`: whether its owner session is alive.
        owner: OwnerState,
        /// The owner session id, in hex as ZooKeeper prints it.
        session: Option<String>,
        /// The znode's ctime.
        created_at: Option<Timestamp>,
        /// The Kyuubi version of the engine space.
        kyuubi_version: String,
        /// Share level.
        share_level: String,
        /// Engine type.
        engine_type: String,
        /// Routing user.
        user: String,
        /// `host:port` of the engine.
        host_port: Option<String>,
        /// `kyuubi.engine.id`.
        engine_id: Option<String>,
        /// Context from `kyuubi.engine.appMgrInfo`.
        context: Option<String>,
        /// Namespace from `kyuubi.engine.appMgrInfo`.
        namespace: Option<String>,
        /// Whether the registration's namespace/context fit the pod.
        applies: bool,
        /// Why it does not apply, when it does not.
        mismatch: Option<String>,
    },
    /// No source has any record of the tag.
    NoRecord {
        /// The sources that were searched.
        sources: Vec<String>,
    },
    /// The state's as-of time, when rule 4 decided.
    StateAsOf {
        /// The earliest as-of time of the sources.
        as_of: Option<Timestamp>,
        /// The sources.
        sources: Vec<String>,
    },
}

/// The verdict for one pod, with the rule that decided it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Judgement {
    /// Orphan, suspect or keep.
    pub verdict: Verdict,
    /// The rule's outcome class.
    pub class: Class,
    /// The number of the rule that decided (design §3).
    pub rule: u8,
    /// One line for people.
    pub reason: String,
    /// The facts behind it: the pod first, then every record of the tag.
    pub evidence: Vec<Evidence>,
}

/// Judges every pod, in order. `now` is the clock ages are measured against: the API server's,
/// when the pods came from one.
#[must_use]
pub(crate) fn classify(
    pods: &[PodInfo],
    state: &EngineState,
    policy: &Policy,
    now: Timestamp,
) -> Vec<Judgement> {
    pods.iter()
        .map(|pod| judge(pod, state, policy, now))
        .collect()
}

/// Judges one pod.
#[must_use]
pub(crate) fn judge(
    pod: &PodInfo,
    state: &EngineState,
    policy: &Policy,
    now: Timestamp,
) -> Judgement {
    let empty = TagEvidence::default();
    let records = state.lookup(&pod.tag).unwrap_or(&empty);
    let mut evidence = vec![pod_evidence(pod)];
    evidence.extend(
        records
            .batches
            .iter()
            .map(|r| batch_evidence(r, pod, state)),
    );
    evidence.extend(
        records
            .engine_infos
            .iter()
            .map(|r| engine_info_evidence(r, pod, state)),
    );
    evidence.extend(
        records
            .registrations
            .iter()
            .map(|r| registration_evidence(r, pod, state)),
    );
    if records.is_empty() {
        evidence.push(Evidence::NoRecord {
            sources: source_names(state),
        });
    }
    let judge = Judge {
        pod,
        records,
        state,
        policy,
        now,
    };
    let outcome = judge.decide();
    evidence.extend(outcome.extra);
    Judgement {
        verdict: outcome.verdict,
        class: outcome.class,
        rule: outcome.rule,
        reason: outcome.reason,
        evidence,
    }
}

/// The earliest instant after `now` at which the judgement of `pod` can change while the pod
/// and the state stay as they are: the end of its retain period (rule 5), of its batch's
/// (rule 7), of the engine start timeout and the ZooKeeper state's freshness (rule 8), of the
/// time a pod may stay Pending (rule 9). `None`: only a change of the pod or the state can
/// change it. The instant may come early (the judgement is then the same again), never late.
#[must_use]
pub(crate) fn next_change(
    pod: &PodInfo,
    state: &EngineState,
    policy: &Policy,
    now: Timestamp,
) -> Option<Timestamp> {
    // Rules 7 to 9 compare with `>`: they change just after their instant.
    let just_after = |t: Timestamp| t.checked_add(SignedDuration::from_nanos(1)).ok();
    let plus = |t: Timestamp, d: SignedDuration| t.checked_add(d).ok();
    let mut instants: Vec<Timestamp> = Vec::new();
    if let Some(termination) = pod.terminated {
        instants.extend(plus(termination.at, policy.retain));
    }
    if let Some(records) = state.lookup(&pod.tag) {
        instants.extend(
            records
                .batches
                .iter()
                .filter_map(BatchRecord::finished_since)
                .filter_map(|at| plus(at, policy.retain).and_then(just_after)),
        );
    }
    if let Some(zk_as_of) = state.zookeeper_as_of() {
        instants.extend(plus(zk_as_of, policy.max_state_age).and_then(just_after));
    }
    instants.extend(plus(pod.created_at, policy.stuck_after).and_then(just_after));
    instants.into_iter().filter(|t| *t > now).min()
}

/// A decision before the evidence is attached.
struct Outcome {
    verdict: Verdict,
    class: Class,
    rule: u8,
    reason: String,
    /// Evidence only this rule adds.
    extra: Option<Evidence>,
}

fn keep(class: Class, rule: u8, reason: String) -> Outcome {
    Outcome {
        verdict: Verdict::Keep,
        class,
        rule,
        reason,
        extra: None,
    }
}

/// Everything one decision looks at.
struct Judge<'a> {
    pod: &'a PodInfo,
    records: &'a TagEvidence,
    state: &'a EngineState,
    policy: &'a Policy,
    now: Timestamp,
}

impl Judge<'_> {
    /// ` (store X)` naming the source of a record, when there is more than one source to tell
    /// apart; the evidence always names it.
    fn source(&self, id: usize) -> String {
        if self.state.sources().len() > 1 {
            format!(" ({})", self.state.source(id))
        } else {
            String::new()
        }
    }

    /// The rules, in order; the first that matches decides.
    fn decide(&self) -> Outcome {
        let pod = self.pod;
        // Rule 1: someone (Kyuubi, a user, PodGC) is already deleting it.
        if let Some(since) = pod.deleting_since {
            return keep(
                Class::Terminating,
                1,
                format!("already being deleted (since {since})"),
            );
        }
        // Rule 2: an engine registered under the tag may be alive, wherever it says it runs.
        if let Some(r) = self
            .records
            .registrations
            .iter()
            .find(|r| r.owner.may_be_alive())
        {
            let reason = format!(
                "engine registered in ZooKeeper ({}, owner {}){}",
                r.path.rsplit('/').next().unwrap_or(&r.path),
                r.owner.as_str(),
                self.source(r.source)
            );
            return keep(Class::Registered, 2, reason);
        }
        // Rule 3: the batch is live for Kyuubi, wherever the row says it runs.
        if let Some(row) = self.records.batches.iter().find(|r| r.is_active()) {
            let reason = format!("batch is {}{}", row.state, self.source(row.source));
            return keep(Class::BatchActive, 3, reason);
        }
        // Rule 4: a pod newer than the state may belong to a record the state does not have.
        let as_of = self.state.as_of();
        if as_of.is_none_or(|as_of| latest_creation(pod) > as_of) {
            let reason = match as_of {
                Some(as_of) => format!(
                    "created {} after the state's as-of time {as_of}",
                    pod.created_at
                ),
                None => "no state source loaded".to_string(),
            };
            let mut outcome = keep(Class::StateOlderThanPod, 4, reason);
            outcome.extra = Some(Evidence::StateAsOf {
                as_of,
                sources: source_names(self.state),
            });
            return outcome;
        }
        // Rules 5 and 6: the pod has terminated.
        if let Some(termination) = pod.terminated {
            return self.terminated(termination.at);
        }
        // Rule 7: the pod outlived its batch.
        if let Some(outcome) = self.leaked() {
            return outcome;
        }
        // Rule 8: a running engine that never registered (or lost its registration).
        if let Some(outcome) = self.unregistered() {
            return outcome;
        }
        // Rule 9: stuck before it ever ran.
        let age = self.now.duration_since(pod.created_at);
        if pod.phase == PodPhase::Pending && age > self.policy.stuck_after {
            let reason = format!(
                "Pending for {}, longer than {}; no live Kyuubi evidence",
                human(age),
                human(self.policy.stuck_after)
            );
            return self.suspect(SuspectClass::StuckPending, reason);
        }
        // Rule 10.
        let phase = pod.phase.as_str();
        keep(
            Class::NoEvidence,
            10,
            format!(
                "{phase} for {}; nothing says its engine is gone",
                human(age)
            ),
        )
    }

    /// Rules 5 and 6 for a pod that terminated at `at`.
    fn terminated(&self, at: Timestamp) -> Outcome {
        let ago = self.now.duration_since(at);
        let phase = self.pod.phase.as_str();
        let policy = self.policy;
        if ago < policy.retain {
            let reason = format!(
                "{phase} {} ago, within the {} retain period",
                human(ago),
                human(policy.retain)
            );
            return keep(Class::WithinRetain, 5, reason);
        }
        if self.pod.phase == PodPhase::Failed && policy.keep_failed {
            let reason = format!(
                "{phase} {} ago; failed pods are kept (--keep-failed)",
                human(ago)
            );
            return keep(Class::KeptFailed, 6, reason);
        }
        match self.terminal_record() {
            None if policy.require_record => keep(
                Class::NoTerminalRecord,
                6,
                format!(
                    "{phase} {} ago, but no terminal Kyuubi record applies (--require-record)",
                    human(ago)
                ),
            ),
            record => Outcome {
                verdict: Verdict::Orphan,
                class: Class::Terminated,
                rule: 6,
                reason: format!(
                    "{phase} {} ago; {}",
                    human(ago),
                    record.unwrap_or_else(|| self.no_terminal_record())
                ),
                extra: None,
            },
        }
    }

    /// Rule 7: a pod still there although its batch ended more than `retain` ago.
    fn leaked(&self) -> Option<Outcome> {
        let (row, at) = self
            .records
            .batches
            .iter()
            .filter(|r| mismatch(&r.scope, self.pod).is_none())
            .filter_map(|r| r.finished_since().map(|at| (r, at)))
            .max_by_key(|(_, at)| *at)?;
        let ago = self.now.duration_since(at);
        if ago <= self.policy.retain {
            return None;
        }
        let how = if row.peer_instance_closed && !row.state.is_terminal() {
            "was closed by another Kyuubi instance".to_string()
        } else {
            format!("ended {} {} ago", row.state, human(ago))
        };
        let reason = format!(
            "{} but its batch {how}{}",
            self.pod.phase.as_str(),
            self.source(row.source)
        );
        Some(self.suspect(SuspectClass::LeakedRunning, reason))
    }

    /// Rule 8: the pod runs, a fresh ZooKeeper state was taken at least `engine_start_timeout`
    /// after the pod was created (so the engine had time to register before it), no registration
    /// in it may be alive (rule 2 did not fire), and no batch row has the tag (batches never
    /// register).
    fn unregistered(&self) -> Option<Outcome> {
        let pod = self.pod;
        if pod.phase != PodPhase::Running || !self.records.batches.is_empty() {
            return None;
        }
        let zk_as_of = self.state.zookeeper_as_of()?;
        if self.now.duration_since(zk_as_of) > self.policy.max_state_age {
            return None;
        }
        let running_before = zk_as_of.duration_since(latest_creation(pod));
        if running_before <= self.policy.engine_start_timeout {
            return None;
        }
        let gone = if self.records.registrations.is_empty() {
            "no engine registered its tag".to_string()
        } else {
            "its engine's registration is gone (owner session closed or expired)".to_string()
        };
        let reason = format!(
            "Running, but in ZooKeeper as of {zk_as_of} {gone}; the pod had run for {} by then",
            human(running_before)
        );
        Some(self.suspect(SuspectClass::UnregisteredRunning, reason))
    }

    /// A suspect of `class`, or an orphan when the class is included (and, with
    /// `--require-record`, a terminal record applies).
    fn suspect(&self, class: SuspectClass, reason: String) -> Outcome {
        let included = self.policy.include.contains(&class);
        let recorded = !self.policy.require_record || self.terminal_record().is_some();
        let (verdict, reason) = match (included, recorded) {
            (true, true) => (Verdict::Orphan, format!("{reason} (included)")),
            (true, false) => (
                Verdict::Suspect,
                format!("{reason}; not deleted: no terminal Kyuubi record (--require-record)"),
            ),
            (false, _) => (Verdict::Suspect, reason),
        };
        Outcome {
            verdict,
            class: class.class(),
            rule: rule_of(class),
            reason,
            extra: None,
        }
    }

    /// Why no terminal record applies: there is none, or the records there are say the engine
    /// ran elsewhere.
    fn no_terminal_record(&self) -> String {
        let r = self.records;
        let mut scopes = r
            .batches
            .iter()
            .map(|b| &b.scope)
            .chain(r.engine_infos.iter().map(|e| &e.scope))
            .chain(r.registrations.iter().map(|g| &g.scope));
        match scopes.find_map(|scope| mismatch(scope, self.pod)) {
            Some(why) => format!("the Kyuubi records of its tag do not apply to it ({why})"),
            None if r.is_empty() => "no Kyuubi record of the engine".to_string(),
            None => "no terminal Kyuubi record of the engine".to_string(),
        }
    }

    /// A short description of the terminal record that applies to the pod, if one does: a
    /// batch row that is no longer live, or a `k8s_engine_info` row (written only at
    /// termination).
    fn terminal_record(&self) -> Option<String> {
        let applies = |scope: &K8sScope| mismatch(scope, self.pod).is_none();
        if let Some(row) = self
            .records
            .batches
            .iter()
            .find(|r| !r.is_active() && applies(&r.scope))
        {
            let state = if row.state.is_terminal() {
                row.state.to_string()
            } else {
                format!("{} closed by a peer instance", row.state)
            };
            return Some(format!("batch {state}{}", self.source(row.source)));
        }
        self.records
            .engine_infos
            .iter()
            .find(|r| applies(&r.scope))
            .map(|r| {
                format!(
                    "engine {} recorded{}",
                    r.engine_state.as_deref().unwrap_or("terminated"),
                    self.source(r.source)
                )
            })
    }
}

/// The latest instant the pod may have been created at. The API gives creation times in whole
/// seconds, so a pod stamped at second X may have been created up to X+1 (exclusive); comparing
/// that against a sub-second as-of time keeps every pod that *may* be newer than the state.
fn latest_creation(pod: &PodInfo) -> Timestamp {
    let second = Timestamp::from_second(pod.created_at.as_second()).unwrap_or(pod.created_at);
    second
        .checked_add(SignedDuration::from_secs(1))
        .unwrap_or(Timestamp::MAX)
}

fn rule_of(class: SuspectClass) -> u8 {
    match class {
        SuspectClass::LeakedRunning => 7,
        SuspectClass::UnregisteredRunning => 8,
        SuspectClass::StuckPending => 9,
    }
}

/// Why a record's scope contradicts the pod, if it does. Unknown fields match anything.
fn mismatch(scope: &K8sScope, pod: &PodInfo) -> Option<String> {
    if let Some(ns) = &scope.namespace
        && *ns != pod.namespace
    {
        return Some(format!(
            "recorded namespace {ns}, pod is in {}",
            pod.namespace
        ));
    }
    if let (Some(recorded), Some(context)) = (&scope.context, &pod.context)
        && recorded != context
    {
        return Some(format!(
            "recorded context {recorded}, pod listed from {context}"
        ));
    }
    if let Some(name) = &scope.pod_name
        && *name != pod.name
    {
        return Some(format!("recorded driver pod {name}, pod is {}", pod.name));
    }
    None
}

fn registration_evidence(r: &RegistrationRecord, pod: &PodInfo, state: &EngineState) -> Evidence {
    let mismatch = mismatch(&r.scope, pod);
    Evidence::Registration {
        source: state.source(r.source).to_string(),
        path: r.path.clone(),
        owner: r.owner,
        session: r.session.map(|s| format!("{s:#x}")),
        created_at: r.created_at,
        kyuubi_version: r.kyuubi_version.clone(),
        share_level: r.share_level.to_string(),
        engine_type: r.engine_type.to_string(),
        user: r.user.clone(),
        host_port: r.host_port.clone(),
        engine_id: r.engine_id.clone(),
        context: r.scope.context.clone(),
        namespace: r.scope.namespace.clone(),
        applies: mismatch.is_none(),
        mismatch,
    }
}

fn source_names(state: &EngineState) -> Vec<String> {
    state.sources().iter().map(ToString::to_string).collect()
}

fn pod_evidence(pod: &PodInfo) -> Evidence {
    Evidence::Pod {
        phase: pod.phase,
        created_at: pod.created_at,
        terminated_at: pod.terminated.map(|t| t.at),
        terminated_at_from: pod.terminated.map(|t| t.source),
        deletion_timestamp: pod.deleting_since,
    }
}

fn batch_evidence(row: &BatchRecord, pod: &PodInfo, state: &EngineState) -> Evidence {
    let mismatch = mismatch(&row.scope, pod);
    Evidence::Batch {
        source: state.source(row.source).to_string(),
        state: row.state.to_string(),
        engine_state: row.engine_state.clone(),
        engine_id: row.engine_id.clone(),
        created_at: row.created_at,
        ended_at: row.ended_at,
        peer_instance_closed: row.peer_instance_closed,
        kyuubi_instance: row.kyuubi_instance.clone(),
        context: row.scope.context.clone(),
        namespace: row.scope.namespace.clone(),
        pod_name: row.scope.pod_name.clone(),
        applies: mismatch.is_none(),
        mismatch,
    }
}

fn engine_info_evidence(row: &EngineInfoRecord, pod: &PodInfo, state: &EngineState) -> Evidence {
    let mismatch = mismatch(&row.scope, pod);
    Evidence::EngineInfo {
        source: state.source(row.source).to_string(),
        pod_state: row.pod_state.clone(),
        engine_state: row.engine_state.clone(),
        engine_id: row.engine_id.clone(),
        updated_at: row.updated_at,
        context: row.scope.context.clone(),
        namespace: row.scope.namespace.clone(),
        pod_name: row.scope.pod_name.clone(),
        applies: mismatch.is_none(),
        mismatch,
    }
}

#[cfg(test)]
mod tests;
