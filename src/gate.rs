//! The source health gate of design §4: whether the loaded state may judge pods at all.
//!
//! Owns: every refusal that follows from the *state* rather than from one pod: a ZooKeeper
//! state older than `--max-state-age`; a source whose as-of time lies in the future of a clock
//! the pods are judged against (rule 4 would never fire, so pods created after the state would
//! be judged by it); an `--ha-namespace` that matches no engine space while ZooKeeper holds
//! others (a typo or a forgotten chroot would make every interactive engine look unregistered);
//! state sources that know no engine at all while candidate pods exist; and, before anything is
//! deleted, the blast radius (count and share of orphans) and the age of a reviewed plan. Each
//! check is a pure function of facts and a clock, so it can be tested without files. Must not: read files
//! or the clock, log, or judge single pods (that is `classify`).

use jiff::{SignedDuration, Timestamp};

use crate::config::BlastRadius;
use crate::error::Refusal;
use crate::state::EngineState;

/// How far in the future of a judging clock a source's as-of time may lie before the run is
/// refused: enough for the clock skew of hosts kept in sync by NTP, far less than any period a
/// verdict depends on (`--retain`, `--engine-start-timeout`).
pub(crate) const FUTURE_TOLERANCE: SignedDuration = SignedDuration::from_mins(1);

/// What a ZooKeeper source found, for the gate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZkFacts<'a> {
    /// The source as displayed (`zookeeper <path>`).
    pub source: &'a str,
    /// Its as-of time (the last transaction applied).
    pub as_of: Timestamp,
    /// Every Kyuubi engine space found in the tree, whatever its namespace.
    pub engine_spaces: &'a [String],
    /// How many of them belong to the requested `--ha-namespace`s.
    pub matching_spaces: usize,
    /// The `--ha-namespace` values.
    pub ha_namespaces: &'a [String],
}

/// Checks one ZooKeeper source as soon as it is read: not stale, not from the future, and its
/// `--ha-namespace` matches what the tree holds. `now` is the local clock.
pub(crate) fn zookeeper(
    facts: &ZkFacts<'_>,
    now: Timestamp,
    max_state_age: SignedDuration,
) -> Result<(), Refusal> {
    not_in_future(facts.source, facts.as_of, now, "local")?;
    let age = now.duration_since(facts.as_of);
    if age > max_state_age {
        return Err(Refusal::StaleState {
            source: facts.source.to_string(),
            as_of: facts.as_of,
            age,
            max: max_state_age,
        });
    }
    if facts.matching_spaces == 0 && !facts.engine_spaces.is_empty() {
        return Err(Refusal::HaNamespaceMismatch {
            source: facts.source.to_string(),
            given: facts.ha_namespaces.to_vec(),
            found: facts.engine_spaces.to_vec(),
        });
    }
    Ok(())
}

/// Refuses a source whose as-of time is more than [`FUTURE_TOLERANCE`] ahead of `clock` (named
/// `clock_name` in the message: `local`, or the context whose API server gave it).
pub(crate) fn not_in_future(
    source: &str,
    as_of: Timestamp,
    clock: Timestamp,
    clock_name: &str,
) -> Result<(), Refusal> {
    let skew = as_of.duration_since(clock);
    if skew > FUTURE_TOLERANCE {
        return Err(Refusal::FutureState {
            source: source.to_string(),
            as_of,
            clock,
            clock_name: clock_name.to_string(),
            skew,
        });
    }
    Ok(())
}

/// Checks the loaded state against the pods' clocks before anything is judged: every source's
/// as-of time against every judging clock, and an empty state while candidates exist.
pub(crate) fn state(
    state: &EngineState,
    candidates: usize,
    clocks: &[(&str, Timestamp)],
    allow_empty_state: bool,
) -> Result<(), Refusal> {
    for source in state.sources() {
        for (clock_name, clock) in clocks {
            not_in_future(&source.to_string(), source.as_of, *clock, clock_name)?;
        }
    }
    if state.total_records() == 0 && candidates > 0 && !allow_empty_state {
        return Err(Refusal::EmptyState {
            candidates,
            sources: state.sources().iter().map(ToString::to_string).collect(),
        });
    }
    Ok(())
}

/// The blast radius of a delete run: refused whole (never truncated) when the orphans are more
/// than `limits.max_deletions`, or more than `limits.max_orphan_ratio` of the candidates.
pub(crate) fn blast_radius(
    orphans: usize,
    candidates: usize,
    limits: &BlastRadius,
) -> Result<(), Refusal> {
    if orphans > limits.max_deletions {
        return Err(Refusal::TooManyDeletions {
            orphans,
            max: limits.max_deletions,
        });
    }
    // orphans / candidates > max, in integers-as-floats (counts are far below 2^52).
    #[allow(clippy::cast_precision_loss)]
    let over = orphans as f64 > limits.max_orphan_ratio * candidates as f64;
    if orphans > 0 && over {
        return Err(Refusal::OrphanRatio {
            orphans,
            candidates,
            max: limits.max_orphan_ratio,
        });
    }
    Ok(())
}

/// A round of deletes of `watch`, against the sliding window of `--max-deletions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// DELETEs sent in the window so far.
    pub sent: usize,
    /// Orphans due now (the round).
    pub due: usize,
    /// Orphans known now (the round's and those already sent whose pods are still there).
    pub orphans: usize,
    /// Candidate pods known now.
    pub candidates: usize,
    /// `--window`.
    pub length: std::time::Duration,
}

/// The blast radius of one round of `watch`: refused whole when the DELETEs of the window and
/// the round together are more than `limits.max_deletions`, or when the orphans known now are
/// more than `limits.max_orphan_ratio` of the candidates known now.
pub(crate) fn window(round: &Window, limits: &BlastRadius) -> Result<(), Refusal> {
    if round.sent + round.due > limits.max_deletions {
        return Err(Refusal::WindowDeletions {
            sent: round.sent,
            due: round.due,
            max: limits.max_deletions,
            window: SignedDuration::try_from(round.length).unwrap_or(SignedDuration::MAX),
        });
    }
    blast_radius(
        round.orphans.max(round.due),
        round.candidates,
        &BlastRadius {
            max_deletions: usize::MAX,
            max_orphan_ratio: limits.max_orphan_ratio,
        },
    )
}

/// Refuses a plan made more than `max_age` before `now`, or more than [`FUTURE_TOLERANCE`]
/// after it.
pub(crate) fn plan_age(
    path: &str,
    generated_at: Timestamp,
    now: Timestamp,
    max_age: SignedDuration,
) -> Result<(), Refusal> {
    let age = now.duration_since(generated_at);
    if age > max_age || -age > FUTURE_TOLERANCE {
        return Err(Refusal::StalePlan {
            path: path.to_string(),
            generated_at,
            age,
            max: max_age,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{SourceKind, SourceSummary};

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn facts<'a>(spaces: &'a [String], matching: usize, ns: &'a [String]) -> ZkFacts<'a> {
        ZkFacts {
            source: "zookeeper /data",
            as_of: t(0),
            engine_spaces: spaces,
            matching_spaces: matching,
            ha_namespaces: ns,
        }
    }

    #[test]
    fn a_watch_round_counts_the_window_and_the_ratio_of_what_is_known_now() {
        let limits = BlastRadius {
            max_deletions: 10,
            max_orphan_ratio: 0.5,
        };
        let round = |sent, due, orphans, candidates| Window {
            sent,
            due,
            orphans,
            candidates,
            length: std::time::Duration::from_secs(3600),
        };
        assert_eq!(window(&round(0, 1, 1, 100), &limits), Ok(()));
        assert_eq!(window(&round(9, 1, 1, 100), &limits), Ok(()));
        assert!(matches!(
            window(&round(9, 2, 2, 100), &limits),
            Err(Refusal::WindowDeletions {
                sent: 9,
                due: 2,
                max: 10,
                ..
            })
        ));
        // The ratio: the orphans known now, at least the round's.
        assert!(matches!(
            window(&round(0, 1, 60, 100), &limits),
            Err(Refusal::OrphanRatio {
                orphans: 60,
                candidates: 100,
                ..
            })
        ));
        assert!(matches!(
            window(&round(0, 3, 0, 4), &limits),
            Err(Refusal::OrphanRatio {
                orphans: 3,
                candidates: 4,
                ..
            })
        ));
        assert_eq!(window(&round(0, 0, 0, 0), &limits), Ok(()));
    }

    #[test]
    fn a_state_from_the_future_is_refused_beyond_the_tolerance() {
        assert!(
            not_in_future("s", t(60), t(0), "local").is_ok(),
            "1 min is skew"
        );
        let refused = not_in_future("store a.db", t(61), t(0), "context prod").unwrap_err();
        let Refusal::FutureState { skew, .. } = &refused else {
            panic!("{refused:?}")
        };
        assert_eq!(*skew, SignedDuration::from_secs(61));
        let message = refused.to_string();
        assert!(message.contains("store a.db") && message.contains("context prod"));
        assert!(message.contains("1m1s"), "{message}");
    }

    #[test]
    fn zookeeper_checks_age_future_and_namespaces() {
        let ns = vec!["kyuubi".to_string()];
        let hour = SignedDuration::from_hours(1);
        let none: Vec<String> = Vec::new();
        assert!(
            zookeeper(&facts(&none, 0, &ns), t(10), hour).is_ok(),
            "no spaces"
        );
        let other = vec!["/prod/kyuubi_1.10.0_USER_SPARK_SQL".to_string()];
        let refused = zookeeper(&facts(&other, 0, &ns), t(10), hour).unwrap_err();
        assert!(matches!(refused, Refusal::HaNamespaceMismatch { .. }));
        let message = refused.to_string();
        assert!(
            message.contains("/prod/kyuubi_1.10.0_USER_SPARK_SQL"),
            "{message}"
        );
        assert!(message.contains("--ha-namespace"), "{message}");
        assert!(zookeeper(&facts(&other, 1, &ns), t(10), hour).is_ok());
        assert!(matches!(
            zookeeper(&facts(&none, 0, &ns), t(3601), hour),
            Err(Refusal::StaleState { .. })
        ));
        assert!(matches!(
            zookeeper(&facts(&none, 0, &ns), t(-61), hour),
            Err(Refusal::FutureState { .. })
        ));
    }

    #[test]
    fn state_checks_every_source_against_every_clock() {
        let mut s = EngineState::new();
        s.add_source(SourceSummary {
            kind: SourceKind::Store,
            location: "a.db".into(),
            as_of: t(100),
            batches: 1,
            ..SourceSummary::default()
        });
        assert!(state(&s, 3, &[("local", t(100))], false).is_ok());
        let refused = state(&s, 3, &[("local", t(100)), ("context b", t(0))], false);
        assert!(matches!(refused, Err(Refusal::FutureState { .. })));
        let empty = EngineState::new();
        assert!(matches!(
            state(&empty, 1, &[], false),
            Err(Refusal::EmptyState { .. })
        ));
        assert!(state(&empty, 1, &[], true).is_ok());
        assert!(state(&empty, 0, &[], false).is_ok(), "nothing to judge");
    }

    #[test]
    fn blast_radius_refuses_by_count_and_by_share_never_truncates() {
        let limits = BlastRadius {
            max_deletions: 500,
            max_orphan_ratio: 0.8,
        };
        assert!(blast_radius(500, 10_000, &limits).is_ok());
        let refused = blast_radius(501, 10_000, &limits).unwrap_err();
        assert_eq!(
            refused,
            Refusal::TooManyDeletions {
                orphans: 501,
                max: 500
            }
        );
        assert!(refused.to_string().contains("--max-deletions 500"));
        assert!(blast_radius(8, 10, &limits).is_ok(), "exactly the ratio");
        let refused = blast_radius(9, 10, &limits).unwrap_err();
        assert!(matches!(refused, Refusal::OrphanRatio { .. }));
        let message = refused.to_string();
        assert!(message.contains("--max-orphan-ratio 0.8"), "{message}");
        assert!(
            message.contains("9 of 10") && message.contains("90%"),
            "{message}"
        );
        assert!(blast_radius(0, 0, &limits).is_ok(), "nothing to delete");
        let any = BlastRadius {
            max_deletions: 500,
            max_orphan_ratio: 1.0,
        };
        assert!(blast_radius(10, 10, &any).is_ok());
        let none = BlastRadius {
            max_deletions: 0,
            max_orphan_ratio: 1.0,
        };
        assert!(blast_radius(1, 10, &none).is_err());
    }

    #[test]
    fn a_plan_must_be_recent_and_not_from_the_future() {
        let hour = SignedDuration::from_hours(1);
        assert!(plan_age("p.json", t(0), t(3600), hour).is_ok());
        let stale = plan_age("p.json", t(0), t(3601), hour).unwrap_err();
        assert!(stale.to_string().contains("--max-plan-age 1h"), "{stale}");
        assert!(plan_age("p.json", t(60), t(0), hour).is_ok(), "skew");
        let future = plan_age("p.json", t(61), t(0), hour).unwrap_err();
        assert!(future.to_string().contains("in the future"), "{future}");
    }
}
