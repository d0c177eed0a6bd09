//! Table tests for every rule of the classifier, and property tests over generated worlds.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::pod::{PodInfo, PodPhase, Termination, TerminationSource};
use crate::state::{
    BatchRecord, BatchState, EngineInfoRecord, EngineState, K8sScope, OwnerState,
    RegistrationRecord, SourceKind, SourceSummary,
};

fn now() -> Timestamp {
    "2026-11-27T12:00:00Z".parse().unwrap()
}

fn ago(minutes: i64) -> Timestamp {
    now() - SignedDuration::from_mins(minutes)
}

/// A pod builder: a driver in namespace `spark`, created two days ago, Running.
#[derive(Clone)]
struct P(PodInfo);

fn pod(tag: &str) -> P {
    P(PodInfo {
        context: None,
        namespace: "spark".into(),
        name: format!("{tag}-driver"),
        uid: Some(format!("uid-{tag}")),
        resource_version: Some("1".into()),
        tag: tag.into(),
        app_id: Some(format!("spark-{tag}")),
        phase: PodPhase::Running,
        created_at: ago(2 * 24 * 60),
        deleting_since: None,
        terminated: None,
    })
}

impl P {
    fn phase(mut self, phase: PodPhase) -> Self {
        self.0.phase = phase;
        self
    }
    fn finished(mut self, phase: PodPhase, minutes_ago: i64) -> Self {
        self.0.phase = phase;
        self.0.terminated = Some(Termination {
            at: ago(minutes_ago),
            source: TerminationSource::DriverContainer,
        });
        self
    }
    fn created(mut self, minutes_ago: i64) -> Self {
        self.0.created_at = ago(minutes_ago);
        self
    }
    fn deleting(mut self) -> Self {
        self.0.deleting_since = Some(ago(1));
        self
    }
    fn namespace(mut self, ns: &str) -> Self {
        self.0.namespace = ns.into();
        self
    }
    fn context(mut self, ctx: &str) -> Self {
        self.0.context = Some(ctx.into());
        self
    }
}

/// A state builder with one store whose as-of time is `now`.
struct S(EngineState);

fn state() -> S {
    let mut s = EngineState::new();
    s.add_source(summary("kyuubi_state_store.db", now()));
    S(s)
}

fn summary(location: &str, as_of: Timestamp) -> SourceSummary {
    SourceSummary {
        kind: SourceKind::Store,
        location: location.into(),
        as_of,
        as_of_from: "test",
        ..SourceSummary::default()
    }
}

fn batch(state: &str) -> BatchRecord {
    BatchRecord {
        source: 0,
        state: BatchState::parse(state),
        engine_state: None,
        engine_id: None,
        created_at: Some(ago(3 * 24 * 60)),
        ended_at: BatchState::parse(state).is_terminal().then(|| ago(24 * 60)),
        peer_instance_closed: false,
        kyuubi_instance: Some("kyuubi-0:10099".into()),
        scope: K8sScope::default(),
    }
}

impl S {
    fn batch(mut self, tag: &str, row: BatchRecord) -> Self {
        self.0.add_batch(tag.into(), row);
        self
    }
    fn engine_info(mut self, tag: &str, namespace: Option<&str>) -> Self {
        self.0.add_engine_info(
            tag.into(),
            EngineInfoRecord {
                source: 0,
                pod_state: Some("Succeeded".into()),
                engine_state: Some("FINISHED".into()),
                engine_id: None,
                updated_at: Some(ago(60)),
                scope: K8sScope {
                    namespace: namespace.map(Into::into),
                    ..K8sScope::default()
                },
            },
        );
        self
    }
}

/// A ZooKeeper source whose last transaction was `minutes_ago`, with the store (source 0).
fn with_zk(minutes_ago: i64) -> S {
    let mut s = state();
    s.0.add_source(SourceSummary {
        kind: SourceKind::ZooKeeper,
        location: "/var/lib/zookeeper".into(),
        as_of: ago(minutes_ago),
        as_of_from: "test",
        engine_spaces: 1,
        ..SourceSummary::default()
    });
    s
}

fn registration(owner: OwnerState) -> RegistrationRecord {
    RegistrationRecord {
        source: 1,
        path: "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=10.0.0.1:4040;version=1.10.3;refId=a;sequence=0000000001".into(),
        owner,
        session: Some(0x0100_0000_0000_0001),
        created_at: Some(ago(3000)),
        kyuubi_version: "1.10.3".into(),
        share_level: "USER",
        engine_type: "SPARK_SQL",
        user: "alice".into(),
        host_port: Some("10.0.0.1:4040".into()),
        engine_id: Some("spark-a".into()),
        scope: K8sScope::default(),
    }
}

impl S {
    fn registered(mut self, tag: &str, owner: OwnerState) -> Self {
        self.0.add_registration(tag.into(), registration(owner));
        self
    }
}

fn run(p: &P, s: &S, policy: &Policy) -> Judgement {
    judge(&p.0, &s.0, policy, now())
}

#[allow(clippy::needless_pass_by_value)] // builders read best passed by value
fn check(p: P, s: &S, policy: &Policy, verdict: Verdict, class: Class, rule: u8) -> Judgement {
    let j = run(&p, s, policy);
    assert_eq!(
        (j.verdict, j.class, j.rule),
        (verdict, class, rule),
        "pod {} got {:?}: {}",
        p.0.name,
        j.class,
        j.reason
    );
    j
}

// ---- rule by rule ----

#[test]
fn rule_1_a_pod_being_deleted_is_kept_even_when_terminated_long_ago() {
    let p = pod("a").finished(PodPhase::Succeeded, 600).deleting();
    let j = check(
        p,
        &state(),
        &Policy::default(),
        Verdict::Keep,
        Class::Terminating,
        1,
    );
    assert!(j.reason.contains("already being deleted"));
}

#[test]
fn rule_3_a_non_terminal_batch_keeps_its_pod_in_every_state() {
    for st in [
        "INITIALIZED",
        "PENDING",
        "RUNNING",
        "COMPILED",
        "UNKNOWN",
        "SOMETHING_NEW",
    ] {
        let s = state().batch("a", batch(st));
        for p in [
            pod("a").finished(PodPhase::Succeeded, 600),
            pod("a").finished(PodPhase::Failed, 600),
            pod("a").phase(PodPhase::Running),
            pod("a").phase(PodPhase::Pending),
        ] {
            let j = check(
                p,
                &s,
                &Policy::default(),
                Verdict::Keep,
                Class::BatchActive,
                3,
            );
            assert!(j.reason.contains(st), "{}", j.reason);
        }
    }
}

#[test]
fn rule_3_protects_even_when_the_row_names_another_namespace() {
    let mut row = batch("RUNNING");
    row.scope.namespace = Some("elsewhere".into());
    let s = state().batch("a", row);
    check(
        pod("a").finished(PodPhase::Succeeded, 600),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::BatchActive,
        3,
    );
}

#[test]
fn rule_3_any_live_row_wins_over_a_terminal_row_from_another_store() {
    // A stale copy says FINISHED, the live store says RUNNING: the pod stays.
    let mut s = state();
    s.0.add_source(summary("stale-copy.db", now()));
    let mut stale = batch("FINISHED");
    stale.source = 1;
    let s = s.batch("a", stale).batch("a", batch("RUNNING"));
    check(
        pod("a").finished(PodPhase::Succeeded, 600),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::BatchActive,
        3,
    );
}

#[test]
fn a_non_terminal_row_closed_by_a_peer_counts_as_terminal() {
    let mut row = batch("RUNNING");
    row.peer_instance_closed = true;
    let s = state().batch("a", row);
    let j = check(
        pod("a").finished(PodPhase::Failed, 600),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(
        j.reason.contains("closed by a peer instance"),
        "{}",
        j.reason
    );
}

#[test]
fn rule_4_a_pod_newer_than_the_state_is_kept() {
    let mut s = EngineState::new();
    s.add_source(summary("old.db", ago(120)));
    let s = S(s);
    let p = pod("a").created(60).finished(PodPhase::Succeeded, 30);
    let j = check(
        p,
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::StateOlderThanPod,
        4,
    );
    assert!(matches!(
        j.evidence.last(),
        Some(Evidence::StateAsOf { .. })
    ));
    // The earliest as-of of several sources decides.
    let mut two = EngineState::new();
    two.add_source(summary("new.db", now()));
    two.add_source(summary("old.db", ago(120)));
    let p = pod("a").created(60).finished(PodPhase::Succeeded, 30);
    check(
        p,
        &S(two),
        &Policy::default(),
        Verdict::Keep,
        Class::StateOlderThanPod,
        4,
    );
}

#[test]
fn rule_4_compares_whole_second_creation_times_conservatively() {
    // The pod is stamped at second X (the API's precision); the store's mtime is X.9. The pod
    // may have been created at X.95, after the state: it must be kept.
    let as_of = ago(120) + SignedDuration::from_millis(900);
    let mut s = EngineState::new();
    s.add_source(summary("store.db", as_of));
    let p = pod("a").created(120).finished(PodPhase::Succeeded, 60);
    check(
        p,
        &S(s),
        &Policy::default(),
        Verdict::Keep,
        Class::StateOlderThanPod,
        4,
    );
    // A pod stamped a whole second before the as-of time was created before it.
    let mut s = EngineState::new();
    s.add_source(summary("store.db", ago(120)));
    let p = pod("a").created(120).finished(PodPhase::Succeeded, 60);
    let mut p = p;
    p.0.created_at -= SignedDuration::from_secs(1);
    check(
        p,
        &S(s),
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
}

#[test]
fn a_record_that_does_not_apply_is_named_as_such() {
    let mut row = batch("FINISHED");
    row.scope.namespace = Some("other".into());
    let s = state().batch("a", row);
    let j = check(
        pod("a").finished(PodPhase::Succeeded, 60),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(!j.reason.contains("no Kyuubi record"), "{}", j.reason);
    assert!(
        j.reason.contains("do not apply") && j.reason.contains("recorded namespace other"),
        "{}",
        j.reason
    );
}

#[test]
fn rule_8_needs_a_zookeeper_source_with_an_engine_space() {
    let mut s = with_zk(1);
    s.0.source_mut(1).engine_spaces = 0;
    check(
        pod("a").created(60),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
}

#[test]
fn rule_4_without_any_state_source_nothing_is_judged() {
    let s = S(EngineState::new());
    check(
        pod("a").finished(PodPhase::Succeeded, 600),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::StateOlderThanPod,
        4,
    );
}

#[test]
fn rule_5_a_recently_terminated_pod_is_retained() {
    let policy = Policy::default();
    check(
        pod("a").finished(PodPhase::Succeeded, 9),
        &state(),
        &policy,
        Verdict::Keep,
        Class::WithinRetain,
        5,
    );
    check(
        pod("a").finished(PodPhase::Failed, 0),
        &state(),
        &policy,
        Verdict::Keep,
        Class::WithinRetain,
        5,
    );
    // A termination time ahead of our clock (skew) is retained too.
    check(
        pod("a").finished(PodPhase::Succeeded, -5),
        &state(),
        &policy,
        Verdict::Keep,
        Class::WithinRetain,
        5,
    );
    // The boundary: exactly the retain period is no longer "less than".
    check(
        pod("a").finished(PodPhase::Succeeded, 10),
        &state(),
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    let long = Policy {
        retain: SignedDuration::from_hours(2),
        ..Policy::default()
    };
    check(
        pod("a").finished(PodPhase::Succeeded, 90),
        &state(),
        &long,
        Verdict::Keep,
        Class::WithinRetain,
        5,
    );
}

#[test]
fn rule_6_terminated_pods_past_retain_are_orphans() {
    let s = state()
        .batch("b", batch("FINISHED"))
        .engine_info("c", Some("spark"));
    let j = check(
        pod("a").finished(PodPhase::Succeeded, 60),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(j.reason.contains("no Kyuubi record"), "{}", j.reason);
    assert!(matches!(j.evidence.last(), Some(Evidence::NoRecord { .. })));
    let j = check(
        pod("b").finished(PodPhase::Failed, 60),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(j.reason.contains("batch FINISHED"), "{}", j.reason);
    let j = check(
        pod("c").finished(PodPhase::Succeeded, 60),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(j.reason.contains("engine FINISHED"), "{}", j.reason);
}

#[test]
fn rule_6_keep_failed_keeps_failed_pods_only() {
    let policy = Policy {
        keep_failed: true,
        ..Policy::default()
    };
    check(
        pod("a").finished(PodPhase::Failed, 60),
        &state(),
        &policy,
        Verdict::Keep,
        Class::KeptFailed,
        6,
    );
    check(
        pod("a").finished(PodPhase::Succeeded, 60),
        &state(),
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
}

#[test]
fn rule_6_require_record_needs_an_applying_terminal_record() {
    let policy = Policy {
        require_record: true,
        ..Policy::default()
    };
    let mut elsewhere = batch("FINISHED");
    elsewhere.scope.namespace = Some("other".into());
    let s = state()
        .batch("rec", batch("ERROR"))
        .engine_info("info", None)
        .batch("far", elsewhere)
        .engine_info("farinfo", Some("other"));
    check(
        pod("none").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Keep,
        Class::NoTerminalRecord,
        6,
    );
    check(
        pod("rec").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    check(
        pod("info").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    let j = check(
        pod("far").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Keep,
        Class::NoTerminalRecord,
        6,
    );
    assert!(j.evidence.iter().any(|e| matches!(e, Evidence::Batch { applies: false, mismatch: Some(m), .. } if m.contains("other"))));
    check(
        pod("farinfo").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Keep,
        Class::NoTerminalRecord,
        6,
    );
}

#[test]
fn scope_mismatch_covers_context_and_pod_name() {
    let policy = Policy {
        require_record: true,
        ..Policy::default()
    };
    let mut ctx = batch("FINISHED");
    ctx.scope.context = Some("east".into());
    let mut named = batch("FINISHED");
    named.scope.pod_name = Some("someone-else-driver".into());
    let s = state().batch("c", ctx).batch("n", named);
    // Context only contradicts when the pod's context is known.
    check(
        pod("c").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    check(
        pod("c").context("east").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    check(
        pod("c").context("west").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Keep,
        Class::NoTerminalRecord,
        6,
    );
    check(
        pod("n").finished(PodPhase::Succeeded, 60),
        &s,
        &policy,
        Verdict::Keep,
        Class::NoTerminalRecord,
        6,
    );
}

#[test]
fn rule_7_a_pod_that_outlived_its_batch_is_a_suspect() {
    for st in ["FINISHED", "ERROR", "CANCELED", "TIMEOUT", "CLOSED"] {
        let s = state().batch("a", batch(st));
        for phase in [PodPhase::Running, PodPhase::Pending, PodPhase::Unknown] {
            let j = check(
                pod("a").phase(phase),
                &s,
                &Policy::default(),
                Verdict::Suspect,
                Class::LeakedRunning,
                7,
            );
            assert!(j.reason.contains(st), "{}", j.reason);
        }
    }
}

#[test]
fn rule_7_waits_for_the_retain_period_after_the_batch_ended() {
    let mut row = batch("FINISHED");
    row.ended_at = Some(ago(5));
    let s = state().batch("a", row);
    check(
        pod("a"),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
}

#[test]
fn rule_7_ignores_rows_for_another_namespace() {
    let mut row = batch("FINISHED");
    row.scope.namespace = Some("other".into());
    let s = state().batch("a", row);
    check(
        pod("a"),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    check(
        pod("a").namespace("other"),
        &s,
        &Policy::default(),
        Verdict::Suspect,
        Class::LeakedRunning,
        7,
    );
}

#[test]
fn rule_7_peer_closed_rows_count_from_their_creation() {
    let mut row = batch("RUNNING");
    row.peer_instance_closed = true;
    row.created_at = Some(ago(120));
    let s = state().batch("a", row.clone());
    let j = check(
        pod("a"),
        &s,
        &Policy::default(),
        Verdict::Suspect,
        Class::LeakedRunning,
        7,
    );
    assert!(
        j.reason.contains("closed by another Kyuubi instance"),
        "{}",
        j.reason
    );
    row.created_at = Some(ago(5));
    check(
        pod("a"),
        &state().batch("a", row),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
}

#[test]
fn rule_9_long_pending_pods_are_suspects() {
    let p = pod("a").phase(PodPhase::Pending).created(45);
    check(
        p.clone(),
        &state(),
        &Policy::default(),
        Verdict::Suspect,
        Class::StuckPending,
        9,
    );
    check(
        pod("a").phase(PodPhase::Pending).created(20),
        &state(),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    let patient = Policy {
        stuck_after: SignedDuration::from_hours(1),
        ..Policy::default()
    };
    check(p, &state(), &patient, Verdict::Keep, Class::NoEvidence, 10);
}

#[test]
fn rule_10_running_pods_without_evidence_are_kept() {
    let j = check(
        pod("a"),
        &state(),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    assert!(j.reason.starts_with("Running for 2d"), "{}", j.reason);
    check(
        pod("a").phase(PodPhase::Unknown),
        &state(),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
}

#[test]
fn include_turns_suspects_into_orphans() {
    let s = state().batch("leak", batch("FINISHED"));
    let all = Policy {
        include: SuspectClass::ALL.to_vec(),
        ..Policy::default()
    };
    let j = check(
        pod("leak"),
        &s,
        &all,
        Verdict::Orphan,
        Class::LeakedRunning,
        7,
    );
    assert!(j.reason.ends_with("(included)"));
    check(
        pod("stuck").phase(PodPhase::Pending).created(45),
        &s,
        &all,
        Verdict::Orphan,
        Class::StuckPending,
        9,
    );
    let only_leaks = Policy {
        include: vec![SuspectClass::LeakedRunning],
        ..Policy::default()
    };
    check(
        pod("stuck").phase(PodPhase::Pending).created(45),
        &s,
        &only_leaks,
        Verdict::Suspect,
        Class::StuckPending,
        9,
    );
}

#[test]
fn include_with_require_record_leaves_unrecorded_suspects_alone() {
    let policy = Policy {
        include: SuspectClass::ALL.to_vec(),
        require_record: true,
        ..Policy::default()
    };
    let j = check(
        pod("stuck").phase(PodPhase::Pending).created(45),
        &state(),
        &policy,
        Verdict::Suspect,
        Class::StuckPending,
        9,
    );
    assert!(j.reason.contains("--require-record"));
    let s = state().batch("leak", batch("FINISHED"));
    check(
        pod("leak"),
        &s,
        &policy,
        Verdict::Orphan,
        Class::LeakedRunning,
        7,
    );
}

#[test]
fn evidence_lists_the_pod_then_every_record() {
    let mut elsewhere = batch("FINISHED");
    elsewhere.scope.namespace = Some("other".into());
    let s = state()
        .batch("a", batch("FINISHED"))
        .batch("a", elsewhere)
        .engine_info("a", None);
    let j = run(
        &pod("a").finished(PodPhase::Succeeded, 60),
        &s,
        &Policy::default(),
    );
    assert!(matches!(
        j.evidence[0],
        Evidence::Pod {
            phase: PodPhase::Succeeded,
            ..
        }
    ));
    assert!(
        matches!(&j.evidence[1], Evidence::Batch { applies: true, state, .. } if state == "FINISHED")
    );
    assert!(matches!(
        &j.evidence[2],
        Evidence::Batch { applies: false, .. }
    ));
    assert!(matches!(
        &j.evidence[3],
        Evidence::EngineInfo { applies: true, .. }
    ));
    assert_eq!(j.evidence.len(), 4);
}

#[test]
fn suspect_classes_parse_by_their_report_names() {
    assert_eq!(
        SuspectClass::parse("leaked-running"),
        Ok(SuspectClass::LeakedRunning)
    );
    assert_eq!(
        SuspectClass::parse(" stuck-pending"),
        Ok(SuspectClass::StuckPending)
    );
    assert_eq!(
        SuspectClass::parse("unregistered-running"),
        Ok(SuspectClass::UnregisteredRunning)
    );
    let err = SuspectClass::parse("terminated").unwrap_err();
    assert!(
        err.contains("leaked-running, unregistered-running, stuck-pending"),
        "{err}"
    );
}

#[test]
fn classify_keeps_order_and_judges_every_pod() {
    let pods = [
        pod("x").0,
        pod("y").finished(PodPhase::Succeeded, 60).0,
        pod("z").0,
    ];
    let j = classify(&pods, &state().0, &Policy::default(), now());
    assert_eq!(j.len(), 3);
    assert_eq!(j[1].verdict, Verdict::Orphan);
}

#[test]
fn rule_2_a_registration_that_may_be_alive_keeps_the_pod() {
    for owner in [
        OwnerState::Live,
        OwnerState::Uncertain,
        OwnerState::NotEphemeral,
    ] {
        let s = with_zk(1)
            .registered("a", owner)
            .batch("a", batch("FINISHED"));
        for p in [
            pod("a").finished(PodPhase::Succeeded, 600),
            pod("a"),
            pod("a").phase(PodPhase::Pending).created(600),
        ] {
            let j = check(
                p,
                &s,
                &Policy::default(),
                Verdict::Keep,
                Class::Registered,
                2,
            );
            assert!(j.reason.contains(owner.as_str()), "{}", j.reason);
        }
    }
    // A pod being deleted is still rule 1.
    let s = with_zk(1).registered("a", OwnerState::Live);
    check(
        pod("a").deleting(),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::Terminating,
        1,
    );
}

#[test]
fn rule_2_a_gone_registration_protects_nothing() {
    let s = with_zk(1).registered("a", OwnerState::Gone);
    let j = check(
        pod("a").finished(PodPhase::Succeeded, 600),
        &s,
        &Policy::default(),
        Verdict::Orphan,
        Class::Terminated,
        6,
    );
    assert!(j.evidence.iter().any(|e| matches!(
        e,
        Evidence::Registration {
            owner: OwnerState::Gone,
            ..
        }
    )));
}

#[test]
fn rule_2_protects_whatever_namespace_the_registration_names() {
    let mut r = registration(OwnerState::Live);
    r.scope.namespace = Some("elsewhere".into());
    let mut s = with_zk(1);
    s.0.add_registration("a".into(), r);
    let j = check(
        pod("a").finished(PodPhase::Succeeded, 600),
        &s,
        &Policy::default(),
        Verdict::Keep,
        Class::Registered,
        2,
    );
    assert!(
        j.evidence
            .iter()
            .any(|e| matches!(e, Evidence::Registration { applies: false, .. }))
    );
}

#[test]
fn rule_8_a_running_pod_without_registration_is_a_suspect() {
    let j = check(
        pod("a"),
        &with_zk(1),
        &Policy::default(),
        Verdict::Suspect,
        Class::UnregisteredRunning,
        8,
    );
    assert!(
        j.reason.contains("no engine registered its tag"),
        "{}",
        j.reason
    );
    let j = check(
        pod("a"),
        &with_zk(1).registered("a", OwnerState::Gone),
        &Policy::default(),
        Verdict::Suspect,
        Class::UnregisteredRunning,
        8,
    );
    assert!(j.reason.contains("registration is gone"), "{}", j.reason);
    let included = Policy {
        include: vec![SuspectClass::UnregisteredRunning],
        ..Policy::default()
    };
    check(
        pod("a"),
        &with_zk(1),
        &included,
        Verdict::Orphan,
        Class::UnregisteredRunning,
        8,
    );
}

#[test]
fn rule_8_gives_the_engine_time_to_register_before_the_state_was_taken() {
    // Created 10 minutes ago; the state was taken 7 minutes ago: only 3 minutes to register.
    let p = pod("a").created(10);
    check(
        p.clone(),
        &with_zk(7),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    // With a fresher state, 9 minutes: long enough.
    check(
        p.clone(),
        &with_zk(1),
        &Policy::default(),
        Verdict::Suspect,
        Class::UnregisteredRunning,
        8,
    );
    let patient = Policy {
        engine_start_timeout: SignedDuration::from_mins(15),
        ..Policy::default()
    };
    check(
        p,
        &with_zk(1),
        &patient,
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
}

#[test]
fn rule_8_needs_a_fresh_zookeeper_state_and_no_batch_row() {
    // Only a store: nothing can say an engine is unregistered.
    check(
        pod("a"),
        &state(),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    // A stale ZooKeeper state.
    check(
        pod("a"),
        &with_zk(61),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    let lenient = Policy {
        max_state_age: SignedDuration::from_hours(2),
        ..Policy::default()
    };
    check(
        pod("a"),
        &with_zk(61),
        &lenient,
        Verdict::Suspect,
        Class::UnregisteredRunning,
        8,
    );
    // Batches never register; a batch row (here one that ended recently) rules rule 8 out.
    let mut row = batch("FINISHED");
    row.ended_at = Some(ago(5));
    check(
        pod("a"),
        &with_zk(1).batch("a", row),
        &Policy::default(),
        Verdict::Keep,
        Class::NoEvidence,
        10,
    );
    // Only running pods: a pending one is rule 9's.
    check(
        pod("a").phase(PodPhase::Pending).created(45),
        &with_zk(1),
        &Policy::default(),
        Verdict::Suspect,
        Class::StuckPending,
        9,
    );
}

// ---- properties over generated worlds ----

const TAGS: [&str; 5] = ["t0", "t1", "t2", "t3", "t4"];
const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const STATES: [&str; 11] = [
    "INITIALIZED",
    "PENDING",
    "RUNNING",
    "COMPILED",
    "UNKNOWN",
    "FINISHED",
    "ERROR",
    "CANCELED",
    "TIMEOUT",
    "CLOSED",
    "WEIRD",
];
const PHASES: [PodPhase; 5] = [
    PodPhase::Pending,
    PodPhase::Running,
    PodPhase::Succeeded,
    PodPhase::Failed,
    PodPhase::Unknown,
];

fn minutes() -> impl Strategy<Value = i64> {
    prop_oneof![-30i64..30, -600i64..6000, 0i64..10]
}

fn arb_pod() -> impl Strategy<Value = PodInfo> {
    (
        0..TAGS.len(),
        0..NAMESPACES.len(),
        0..PHASES.len(),
        minutes(),
        minutes(),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just("east"), Just("west")]),
    )
        .prop_map(|(tag, ns, phase, created, finished, deleting, context)| {
            let phase = PHASES[phase];
            PodInfo {
                context: context.map(Into::into),
                namespace: NAMESPACES[ns].into(),
                name: format!("{}-driver", TAGS[tag]),
                uid: Some("u".into()),
                resource_version: Some("1".into()),
                tag: TAGS[tag].into(),
                app_id: None,
                phase,
                created_at: ago(created),
                deleting_since: deleting.then(|| ago(1)),
                terminated: phase.is_terminal().then(|| Termination {
                    at: ago(finished.min(created)),
                    source: TerminationSource::AnyContainer,
                }),
            }
        })
}

fn arb_scope() -> impl Strategy<Value = K8sScope> {
    (
        proptest::option::of(prop_oneof![Just("east"), Just("west")]),
        proptest::option::of(0..NAMESPACES.len()),
        proptest::option::of(0..TAGS.len()),
    )
        .prop_map(|(context, ns, name)| K8sScope {
            context: context.map(Into::into),
            namespace: ns.map(|i| NAMESPACES[i].into()),
            pod_name: name.map(|i| format!("{}-driver", TAGS[i])),
        })
}

fn arb_batch() -> impl Strategy<Value = (usize, BatchRecord)> {
    (
        0..TAGS.len(),
        0..STATES.len(),
        any::<bool>(),
        proptest::option::of(minutes()),
        proptest::option::of(minutes()),
        arb_scope(),
        0usize..2,
    )
        .prop_map(|(tag, st, peer, created, ended, scope, source)| {
            (
                tag,
                BatchRecord {
                    source,
                    state: BatchState::parse(STATES[st]),
                    engine_state: None,
                    engine_id: None,
                    created_at: created.map(ago),
                    ended_at: ended.map(ago),
                    peer_instance_closed: peer,
                    kyuubi_instance: None,
                    scope,
                },
            )
        })
}

fn arb_engine_info() -> impl Strategy<Value = (usize, EngineInfoRecord)> {
    (0..TAGS.len(), arb_scope(), 0usize..2).prop_map(|(tag, scope, source)| {
        (
            tag,
            EngineInfoRecord {
                source,
                pod_state: None,
                engine_state: Some("FINISHED".into()),
                engine_id: None,
                updated_at: None,
                scope,
            },
        )
    })
}

fn arb_registration() -> impl Strategy<Value = (usize, RegistrationRecord)> {
    const OWNERS: [OwnerState; 4] = [
        OwnerState::Live,
        OwnerState::Uncertain,
        OwnerState::NotEphemeral,
        OwnerState::Gone,
    ];
    (0..TAGS.len(), 0..OWNERS.len(), arb_scope()).prop_map(|(tag, owner, scope)| {
        let mut r = registration(OWNERS[owner]);
        r.scope = scope;
        (tag, r)
    })
}

fn arb_state() -> impl Strategy<Value = EngineState> {
    (
        minutes(),
        minutes(),
        proptest::collection::vec(arb_batch(), 0..8),
        proptest::collection::vec(arb_engine_info(), 0..4),
        proptest::collection::vec(arb_registration(), 0..6),
        any::<bool>(),
        0..1000i64,
        any::<bool>(),
    )
        .prop_map(
            |(as_of_a, as_of_b, batches, infos, registrations, zk, ms, spaces)| {
                let mut s = EngineState::new();
                // Sub-second as-of times (a file's mtime) against whole-second pod times.
                let sub = SignedDuration::from_millis(ms);
                s.add_source(summary("a.db", ago(as_of_a) + sub));
                let mut second = summary("zk", ago(as_of_b));
                if zk {
                    second.kind = SourceKind::ZooKeeper;
                    second.engine_spaces = usize::from(spaces);
                }
                s.add_source(second);
                for (tag, mut row) in registrations {
                    row.source = 1;
                    s.add_registration(TAGS[tag].into(), row);
                }
                for (tag, row) in batches {
                    s.add_batch(TAGS[tag].into(), row);
                }
                for (tag, row) in infos {
                    s.add_engine_info(TAGS[tag].into(), row);
                }
                s
            },
        )
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    (
        0i64..120,
        any::<bool>(),
        any::<bool>(),
        proptest::sample::subsequence(SuspectClass::ALL.to_vec(), 0..=3),
        0i64..120,
    )
        .prop_map(
            |(retain, keep_failed, require_record, include, stuck)| Policy {
                retain: SignedDuration::from_mins(retain),
                keep_failed,
                require_record,
                include,
                stuck_after: SignedDuration::from_mins(stuck),
                engine_start_timeout: SignedDuration::from_mins(5),
                max_state_age: SignedDuration::from_hours(1),
            },
        )
}

fn world() -> impl Strategy<Value = (Vec<PodInfo>, EngineState, Policy)> {
    (
        proptest::collection::vec(arb_pod(), 0..12),
        arb_state(),
        arb_policy(),
    )
}

fn has_active_row(state: &EngineState, tag: &str) -> bool {
    state
        .lookup(tag)
        .is_some_and(|t| t.batches.iter().any(BatchRecord::is_active))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_pod_gets_exactly_one_judgement_in_order((pods, state, policy) in world()) {
        let judgements = classify(&pods, &state, &policy, now());
        prop_assert_eq!(judgements.len(), pods.len());
        for (pod, j) in pods.iter().zip(&judgements) {
            prop_assert_eq!(j, &judge(pod, &state, &policy, now()));
            let pod_first = matches!(j.evidence.first(), Some(Evidence::Pod { .. }));
            prop_assert!(pod_first);
        }
    }

    #[test]
    fn a_pod_whose_batch_is_live_is_never_an_orphan_or_suspect((pods, state, policy) in world()) {
        for pod in &pods {
            if has_active_row(&state, &pod.tag) {
                let j = judge(pod, &state, &policy, now());
                prop_assert_eq!(j.verdict, Verdict::Keep, "{}", j.reason);
            }
        }
    }

    #[test]
    fn a_pod_whose_engine_may_be_registered_is_always_kept((pods, state, policy) in world()) {
        for pod in &pods {
            let registered = state.lookup(&pod.tag).is_some_and(|t| {
                t.registrations.iter().any(|r| r.owner.may_be_alive())
            });
            if registered {
                let j = judge(pod, &state, &policy, now());
                prop_assert_eq!(j.verdict, Verdict::Keep, "{}", j.reason);
            }
        }
    }

    #[test]
    fn unregistered_running_needs_a_running_pod_a_zookeeper_source_and_no_batch((pods, state, policy) in world()) {
        for pod in &pods {
            let j = judge(pod, &state, &policy, now());
            if j.class == Class::UnregisteredRunning {
                prop_assert_eq!(pod.phase, PodPhase::Running);
                let zk = state.zookeeper_as_of();
                prop_assert!(zk.is_some());
                prop_assert!(zk.unwrap().duration_since(pod.created_at) > policy.engine_start_timeout);
                prop_assert!(state.lookup(&pod.tag).is_none_or(|t| t.batches.is_empty()));
            }
        }
    }

    #[test]
    fn a_pod_created_after_the_state_is_never_an_orphan((pods, state, policy) in world()) {
        let as_of = state.as_of().unwrap();
        // Creation times are whole seconds: a pod stamped X may have been created until X+1.
        let may_be_newer = |p: &&PodInfo| p.created_at + SignedDuration::from_secs(1) > as_of;
        for pod in pods.iter().filter(may_be_newer) {
            let j = judge(pod, &state, &policy, now());
            prop_assert_eq!(j.verdict, Verdict::Keep, "{}", j.reason);
        }
    }

    #[test]
    fn an_older_state_never_turns_a_kept_pod_into_an_orphan(
        (pods, state, policy) in world(),
        source in 0..2usize,
        back in 0..600i64,
    ) {
        // A state that stopped earlier (a copy taken before, a truncated log) knows less; it
        // may keep more pods, never fewer.
        let mut older = state.clone();
        older.source_mut(source).as_of -= SignedDuration::from_mins(back);
        for pod in &pods {
            let before = judge(pod, &state, &policy, now());
            let after = judge(pod, &older, &policy, now());
            if before.verdict != Verdict::Orphan {
                prop_assert_ne!(after.verdict, Verdict::Orphan, "{} -> {}", before.reason, after.reason);
            }
        }
    }

    #[test]
    fn a_zookeeper_source_without_engine_spaces_never_calls_an_engine_unregistered(
        (pods, mut state, policy) in world(),
    ) {
        state.source_mut(1).engine_spaces = 0;
        for pod in &pods {
            let j = judge(pod, &state, &policy, now());
            prop_assert_ne!(j.class, Class::UnregisteredRunning, "{}", j.reason);
        }
    }

    #[test]
    fn a_pod_being_deleted_is_always_kept((pods, state, policy) in world()) {
        for pod in pods.iter().filter(|p| p.deleting_since.is_some()) {
            prop_assert_eq!(judge(pod, &state, &policy, now()).class, Class::Terminating);
        }
    }

    #[test]
    fn orphans_are_terminated_past_retain_or_explicitly_included((pods, state, policy) in world()) {
        for pod in &pods {
            let j = judge(pod, &state, &policy, now());
            if j.verdict != Verdict::Orphan {
                continue;
            }
            if j.class == Class::Terminated {
                let t = pod.terminated.expect("terminated orphans have a termination time");
                prop_assert!(pod.phase.is_terminal());
                prop_assert!(now().duration_since(t.at) >= policy.retain);
                prop_assert!(!(policy.keep_failed && pod.phase == PodPhase::Failed));
            } else {
                prop_assert!(policy.include.iter().any(|c| c.class() == j.class), "{:?}", j.class);
                prop_assert!(!pod.phase.is_terminal());
            }
        }
    }

    #[test]
    fn with_require_record_every_orphan_has_an_applying_terminal_record((pods, state, mut policy) in world()) {
        policy.require_record = true;
        for pod in &pods {
            let j = judge(pod, &state, &policy, now());
            if j.verdict == Verdict::Orphan {
                let recorded = j.evidence.iter().any(|e| match e {
                    Evidence::Batch { applies: true, state, peer_instance_closed, .. } =>
                        BatchState::parse(state).is_terminal() || *peer_instance_closed,
                    Evidence::EngineInfo { applies: true, .. } => true,
                    _ => false,
                });
                prop_assert!(recorded, "{}", j.reason);
            }
        }
    }

    #[test]
    fn adding_a_live_batch_row_only_ever_protects((pods, mut state, policy) in world(), tag in 0..TAGS.len()) {
        let before = classify(&pods, &state, &policy, now());
        let mut row = batch("RUNNING");
        row.created_at = Some(ago(10_000));
        state.add_batch(TAGS[tag].into(), row);
        let after = classify(&pods, &state, &policy, now());
        for ((pod, b), a) in pods.iter().zip(&before).zip(&after) {
            if pod.tag == TAGS[tag] {
                prop_assert_eq!(a.verdict, Verdict::Keep);
            } else {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn non_terminated_pods_are_orphans_only_through_include((pods, state, mut policy) in world()) {
        policy.include.clear();
        for pod in pods.iter().filter(|p| !p.phase.is_terminal()) {
            prop_assert_ne!(judge(pod, &state, &policy, now()).verdict, Verdict::Orphan);
        }
    }
}

/// The decision of a judgement, without its wording (ages in reasons change with the clock).
fn decision(j: &Judgement) -> (Verdict, Class, u8) {
    (j.verdict, j.class, j.rule)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// `watch` judges a pod again only at `next_change`: until then, whatever the clock says,
    /// the decision must be the one taken now; and at the instant itself it may change.
    #[test]
    fn a_judgement_holds_until_its_next_change(
        (pods, state, policy) in world(),
        steps in proptest::collection::vec(0u32..=1_000_000, 1..8),
    ) {
        for pod in &pods {
            let at_now = decision(&judge(pod, &state, &policy, now()));
            let next = next_change(pod, &state, &policy, now());
            if let Some(next) = next {
                prop_assert!(next > now());
            }
            // Instants between now and the next change (or up to ten days on when none).
            let span = next.map_or(SignedDuration::from_hours(240), |n| n.duration_since(now()));
            for step in &steps {
                let offset = span.as_nanos() / 1_000_001 * i128::from(*step);
                let offset = SignedDuration::from_nanos(i64::try_from(offset).unwrap_or(i64::MAX));
                let t = now().checked_add(offset).unwrap();
                if next.is_some_and(|n| t >= n) {
                    continue;
                }
                let later = decision(&judge(pod, &state, &policy, t));
                prop_assert_eq!(later, at_now, "changed at {} before next_change {:?}", t, next);
            }
        }
    }
}

#[test]
fn next_change_is_the_end_of_the_retain_period_of_a_terminated_pod() {
    let policy = Policy::default();
    let state = state().0;
    let finished = ago(3);
    let pod = PodInfo {
        context: None,
        namespace: "ns".into(),
        name: "p-driver".into(),
        uid: Some("u".into()),
        resource_version: Some("1".into()),
        tag: "t".into(),
        app_id: None,
        phase: PodPhase::Succeeded,
        created_at: ago(20),
        deleting_since: None,
        terminated: Some(Termination {
            at: finished,
            source: TerminationSource::DriverContainer,
        }),
    };
    let next = next_change(&pod, &state, &policy, now()).unwrap();
    assert_eq!(next, finished.checked_add(policy.retain).unwrap());
    // At that instant the retain period is over.
    let j = judge(&pod, &state, &policy, next);
    assert_ne!(j.class, Class::WithinRetain, "{}", j.reason);
    let before = judge(
        &pod,
        &state,
        &policy,
        next.checked_sub(SignedDuration::from_nanos(1)).unwrap(),
    );
    assert_eq!(before.class, Class::WithinRetain, "{}", before.reason);
}
