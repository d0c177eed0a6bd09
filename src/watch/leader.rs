//! Leader election for `watch --leader-elect`: only the replica that holds a Lease deletes.
//!
//! This is client-go's algorithm (`k8s.io/client-go/tools/leaderelection`, `tryAcquireOrRenew`
//! with `ReleaseOnCancel`), written over the crate's own request helper rather than taken from
//! the kube-lease-manager crate. The reason is safety: kube-lease-manager keeps reporting
//! leadership while renewals fail (its watch loop only backs off on errors), and judges expiry
//! by comparing the remote `renewTime` against the local clock, so a partitioned leader could
//! keep deleting after another replica took over, and a skewed clock could make a follower take
//! over a live leader. client-go's algorithm gives leadership up locally when no renewal has
//! succeeded for `renewDeadline`, which is shorter than `leaseDuration`; and followers measure
//! expiry from when *they* observed the last change of the record (local monotonic time), so no
//! clock has to agree with another.
//!
//! The timings follow client-go's defaults (15 s / 10 s / 2 s) scaled to the configured
//! duration: renew deadline = 2/3 of it, retry period = duration / 7.5. A leader's last
//! successful write was *sent* at some instant `t`; it stops leading at `t + renewDeadline` at
//! the latest. Any other replica saw that write at some instant after `t` and waits
//! `leaseDuration` from then before taking over, so the two never lead at once (the margin is
//! `leaseDuration - renewDeadline`, a third of the duration).
//!
//! Owns: the election loop ([`Elector::run`]: acquire, renew, follow, step down on time), the
//! pure decision of one round ([`decide`] over an [`Observed`] record), the timings, the
//! transitions published on the `leader` channel and logged, and giving the lease up on
//! shutdown ([`Elector::release`]). The requests themselves are `k8s::lease`'s. Must not: delete
//! anything or know why leadership is wanted, judge expiry from a remote timestamp, or hold a
//! lock across an await.

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::k8s::cluster::Connection;
use crate::k8s::lease::{LeaseAnswer, LeaseClient, LeaseOp, LeaseRecord, StoredLease};

pub(crate) use crate::k8s::lease::LeaseError;

/// Why a leader stops leading when its time runs out.
const LAPSED: &str = "no renewal succeeded within the renew deadline";

/// The longest a [`Elector::release`] may take.
const RELEASE_BOUND: Duration = Duration::from_secs(5);

/// A follower waits between `1 - FOLLOWER_JITTER` and 1 retry periods between attempts (and
/// wakes when the lease it follows expires, if that is sooner), so that replicas started
/// together spread out while a dead leader is replaced within a lease duration and a retry
/// period. (client-go waits 1 to 2.2 retry periods, which can add more than a retry period.)
const FOLLOWER_JITTER: f64 = 0.2;

/// What to elect on, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaseConfig {
    /// The Lease's name.
    pub name: String,
    /// The Lease's namespace.
    pub namespace: String,
    /// This replica's identity (`holderIdentity`): unique per running process.
    pub identity: String,
    /// The lease duration: how long followers wait, after they last saw the record change,
    /// before they take over.
    pub duration: Duration,
}

/// The timings of an election, derived from the lease duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    /// The lease duration (at least a second, at most what `leaseDurationSeconds` can say).
    duration: Duration,
    /// `leaseDurationSeconds` as written: the duration rounded up to whole seconds, so that
    /// others never wait less than this replica assumes.
    duration_seconds: i32,
    /// How long a leader keeps leading without a successful renewal: 2/3 of the duration.
    renew_deadline: Duration,
    /// Time between attempts: duration / 7.5.
    retry: Duration,
}

impl Timing {
    /// The timings of a lease of `duration`.
    fn new(duration: Duration) -> Self {
        // `leaseDurationSeconds` is an int32.
        let longest = Duration::from_secs(u64::from(i32::MAX.unsigned_abs()));
        let duration = duration.clamp(Duration::from_secs(1), longest);
        let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
        Self {
            duration,
            duration_seconds: i32::try_from(seconds).unwrap_or(i32::MAX),
            renew_deadline: duration * 2 / 3,
            retry: duration.div_f64(7.5),
        }
    }
}

/// A lease as this replica last read or wrote it, and the local instant it first saw that
/// record (client-go's `observedTime`): expiry is measured from here, never from `renewTime`.
#[derive(Debug, Clone, PartialEq)]
struct Observed {
    /// The lease.
    lease: StoredLease,
    /// When this record (holder, duration, times, transitions) was first seen here.
    at: Instant,
}

/// The observation after reading (or writing) `lease` at `now`: a record equal to the one
/// observed before keeps its observation instant (a change of the resource version alone is
/// no sign of life of the holder); any other starts a new one.
fn observe(previous: Option<&Observed>, lease: StoredLease, now: Instant) -> Observed {
    match previous {
        Some(p) if p.lease.record == lease.record => Observed { lease, at: p.at },
        _ => Observed { lease, at: now },
    }
}

/// What one round does, given what was observed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// There is no lease: create it, held by us, with this record.
    Create(LeaseRecord),
    /// Write this record (us as holder) over the observed lease: renew our own, or take over a
    /// free one or one whose record has not changed for its duration as observed here.
    Acquire(LeaseRecord),
    /// Another replica holds a lease that is fresh as observed here: wait.
    Follow {
        /// The holder.
        holder: String,
        /// When it expires, if its record does not change before.
        expires: Instant,
    },
}

/// The decision of client-go's `tryAcquireOrRenew`: `observed` is the lease as last read
/// (`None`: it does not exist), `now` the local monotonic instant, `wall` the local wall clock
/// (written into `acquireTime` / `renewTime` for people to read; never used to judge expiry).
fn decide(
    observed: Option<&Observed>,
    now: Instant,
    wall: Timestamp,
    identity: &str,
    timing: &Timing,
) -> Decision {
    let ours = LeaseRecord {
        holder: identity.to_string(),
        duration_seconds: timing.duration_seconds,
        acquire_time: Some(wall),
        renew_time: Some(wall),
        transitions: 0,
    };
    let Some(observed) = observed else {
        return Decision::Create(ours);
    };
    let record = &observed.lease.record;
    let held_by_us = record.holder == identity;
    let lasts = Duration::from_secs(u64::try_from(record.duration_seconds).unwrap_or(0));
    let expires = observed.at + lasts;
    if !record.holder.is_empty() && !held_by_us && now < expires {
        return Decision::Follow {
            holder: record.holder.clone(),
            expires,
        };
    }
    Decision::Acquire(if held_by_us {
        LeaseRecord {
            acquire_time: record.acquire_time,
            transitions: record.transitions,
            ..ours
        }
    } else {
        LeaseRecord {
            transitions: record.transitions.saturating_add(1),
            ..ours
        }
    })
}

/// How a round ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Round {
    /// We hold the lease (the state says since when).
    Leading,
    /// Another replica holds a fresh lease.
    Following {
        /// The holder.
        holder: String,
        /// When it expires, as observed here, if its record does not change before.
        expires: Instant,
    },
    /// Another replica wrote first (a 409, or the lease vanished): try again next round.
    LostRace,
}

/// What the elector knows between rounds.
#[derive(Debug, Default)]
struct State {
    /// The lease as last read or written.
    observed: Option<Observed>,
    /// When our last successful acquire or renew was sent, while we hold the lease.
    renewed: Option<Instant>,
}

/// What [`Elector::run`] tells the world, and what it remembers to say it only on changes.
struct Campaign<'a> {
    /// Where leadership is published.
    leader: &'a watch::Sender<bool>,
    /// `namespace/name`, for the log.
    lease: String,
    /// Our identity, for the log.
    identity: &'a str,
    /// Whether `true` is published.
    leading: bool,
    /// The holder last logged as followed.
    followed: Option<String>,
}

impl Campaign<'_> {
    /// Publishes `leads` if it is news.
    fn publish(&self, leads: bool) {
        self.leader.send_if_modified(|current| {
            let changed = *current != leads;
            *current = leads;
            changed
        });
    }

    /// Leads from now on (published and logged once).
    fn lead(&mut self) {
        self.followed = None;
        if !self.leading {
            self.leading = true;
            self.publish(true);
            tracing::info!(
                "became the leader (lease {}, identity {:?})",
                self.lease,
                self.identity
            );
        }
    }

    /// Stops leading, if it does, saying why.
    fn step_down(&mut self, why: &str) {
        if self.leading {
            self.leading = false;
            self.publish(false);
            tracing::info!("stopped leading (lease {}): {why}", self.lease);
        }
    }

    /// Follows `holder` (logged when the holder changes).
    fn follow(&mut self, holder: String) {
        self.step_down(&format!("the lease is held by {holder:?}"));
        if self.followed.as_ref() != Some(&holder) {
            tracing::info!("lease {} is held by {holder:?}; following", self.lease);
            self.followed = Some(holder);
        }
    }
}

/// Runs the election on one Lease.
#[derive(Debug)]
pub(crate) struct Elector {
    client: LeaseClient,
    config: LeaseConfig,
    timing: Timing,
    state: Mutex<State>,
}

impl Elector {
    /// An elector on `config`'s Lease, talking through `connection`.
    pub(crate) fn new(connection: &Connection, config: LeaseConfig) -> Self {
        Self {
            client: LeaseClient::new(connection, &config.namespace, &config.name),
            timing: Timing::new(config.duration),
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The state, for a moment (never across an await; a panic elsewhere does not wedge it).
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Until when this replica may act as the leader: its last successful acquire or renew
    /// plus the renew deadline, while the lease is (as last seen) ours.
    fn leading_until(&self) -> Option<Instant> {
        let state = self.state();
        let ours = state
            .observed
            .as_ref()
            .is_some_and(|o| o.lease.record.holder == self.config.identity);
        state
            .renewed
            .filter(|_| ours)
            .map(|t| t + self.timing.renew_deadline)
    }

    /// Records a lease read or written now; `sent` is when a successful write of ours was sent.
    fn record(&self, lease: StoredLease, sent: Option<Instant>) {
        let mut state = self.state();
        let observed = observe(state.observed.as_ref(), lease, Instant::now());
        if observed.lease.record.holder != self.config.identity {
            state.renewed = None;
        } else if let Some(sent) = sent {
            state.renewed = Some(sent);
        }
        state.observed = Some(observed);
    }

    /// One round of `tryAcquireOrRenew`, no request starting after `deadline`.
    async fn try_acquire_or_renew(
        &self,
        client: &LeaseClient,
        deadline: Instant,
    ) -> Result<Round, LeaseError> {
        // 1. The fast path: a leader renews over the lease it last saw.
        if let Some(current) = self.renewal() {
            let sent = Instant::now();
            match client
                .update(LeaseOp::Update, &current.lease, &current.record, deadline)
                .await
            {
                Ok(LeaseAnswer::Stored(lease)) => {
                    self.record(lease, Some(sent));
                    return Ok(Round::Leading);
                }
                Ok(other) => {
                    tracing::debug!(
                        "renewing lease {} optimistically failed ({other:?}); reading it",
                        client.lease()
                    );
                }
                Err(e) => {
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    tracing::warn!("{e}; reading the lease");
                }
            }
        }
        // 2. Read the lease (or learn that there is none).
        let observed = match client.get(deadline).await? {
            LeaseAnswer::Stored(lease) => {
                self.record(lease, None);
                self.state().observed.clone()
            }
            LeaseAnswer::NotFound => {
                let mut state = self.state();
                state.observed = None;
                state.renewed = None;
                None
            }
            LeaseAnswer::Conflict(_) => return Ok(Round::LostRace),
        };
        // 3. Decide, and write if we should.
        match decide(
            observed.as_ref(),
            Instant::now(),
            Timestamp::now(),
            &self.config.identity,
            &self.timing,
        ) {
            Decision::Follow { holder, expires } => Ok(Round::Following { holder, expires }),
            Decision::Create(record) => {
                let sent = Instant::now();
                match client.create(&record, deadline).await? {
                    LeaseAnswer::Stored(lease) => {
                        self.record(lease, Some(sent));
                        Ok(Round::Leading)
                    }
                    LeaseAnswer::NotFound => Ok(Round::LostRace),
                    LeaseAnswer::Conflict(_) => {
                        // Someone else created it first: see what they wrote, from now on.
                        match client.get(deadline).await? {
                            LeaseAnswer::Stored(lease) => {
                                let holder = lease.record.holder.clone();
                                let lasts =
                                    u64::try_from(lease.record.duration_seconds).unwrap_or(0);
                                self.record(lease, None);
                                let expires = Instant::now() + Duration::from_secs(lasts);
                                Ok(Round::Following { holder, expires })
                            }
                            LeaseAnswer::NotFound | LeaseAnswer::Conflict(_) => Ok(Round::LostRace),
                        }
                    }
                }
            }
            Decision::Acquire(record) => {
                let Some(current) = observed else {
                    return Ok(Round::LostRace);
                };
                let sent = Instant::now();
                match client
                    .update(LeaseOp::Update, &current.lease, &record, deadline)
                    .await?
                {
                    LeaseAnswer::Stored(lease) => {
                        self.record(lease, Some(sent));
                        Ok(Round::Leading)
                    }
                    LeaseAnswer::NotFound | LeaseAnswer::Conflict(_) => Ok(Round::LostRace),
                }
            }
        }
    }

    /// The renewal a leader sends on the fast path: the lease it last saw, and its record with
    /// a new `renewTime`; `None` unless this replica leads now.
    fn renewal(&self) -> Option<Renewal> {
        let until = self.leading_until()?;
        if Instant::now() >= until {
            return None;
        }
        let state = self.state();
        let observed = state.observed.as_ref()?;
        Some(Renewal {
            lease: observed.lease.clone(),
            record: LeaseRecord {
                renew_time: Some(Timestamp::now()),
                duration_seconds: self.timing.duration_seconds,
                ..observed.lease.record.clone()
            },
        })
    }

    /// Runs the election until `cancel` is cancelled. Publishes `true` on `leader` only while
    /// this replica holds the lease and its last successful acquire or renew (as sent) is
    /// younger than the renew deadline, measured on the local monotonic clock; publishes
    /// `false` the moment that stops being so, even while a renewal is still on the wire (every
    /// round is bounded by what is left of the renew deadline), and when it returns. Logs
    /// transitions at info and failures at warn.
    pub(crate) async fn run(&self, leader: watch::Sender<bool>, cancel: CancellationToken) {
        let client = self.client.with_cancel(cancel.clone());
        let mut campaign = Campaign {
            leader: &leader,
            lease: client.lease(),
            identity: &self.config.identity,
            leading: false,
            followed: None,
        };
        campaign.publish(false);
        tracing::info!(
            "leader election on lease {} as {:?}: lease duration {:.1}s, renew deadline {:.1}s, retry every {:.1}s",
            campaign.lease,
            self.config.identity,
            self.timing.duration.as_secs_f64(),
            self.timing.renew_deadline.as_secs_f64(),
            self.timing.retry.as_secs_f64()
        );
        while !cancel.is_cancelled() {
            let now = Instant::now();
            let until = self.leading_until();
            if campaign.leading && until.is_none_or(|t| now >= t) {
                campaign.step_down(LAPSED);
            }
            // A leader's round may take what is left of its renew deadline; a follower's, one
            // renew deadline.
            let deadline = match until {
                Some(t) if campaign.leading => t,
                _ => now + self.timing.renew_deadline,
            };
            let round = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                round = tokio::time::timeout_at(deadline, self.try_acquire_or_renew(&client, deadline)) => round,
            };
            let mut expires = None;
            match round {
                Ok(Ok(Round::Leading)) => {
                    if self.leading_until().is_some_and(|t| Instant::now() < t) {
                        campaign.lead();
                    }
                }
                Ok(Ok(Round::Following {
                    holder,
                    expires: at,
                })) => {
                    expires = Some(at);
                    campaign.follow(holder);
                }
                Ok(Ok(Round::LostRace)) => {
                    campaign.step_down("another replica wrote the lease first");
                    tracing::debug!("another replica wrote lease {} first", campaign.lease);
                }
                Ok(Err(e)) => tracing::warn!("leader election: {e}"),
                Err(_) => tracing::warn!(
                    "leader election: {}",
                    client.timeout(LeaseOp::Update, deadline.saturating_duration_since(now))
                ),
            }
            let until = self.leading_until();
            if campaign.leading && until.is_none_or(|t| Instant::now() >= t) {
                campaign.step_down(LAPSED);
            }
            let wake = self.next_attempt(campaign.leading, until, expires);
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(wake) => {}
            }
        }
        campaign.step_down("shutting down");
        campaign.publish(false);
    }

    /// When the next round starts: a retry period from now for a leader, a little less
    /// (jittered) for a follower; earlier when a leader's leadership runs out, or when the
    /// lease a follower follows expires, before that.
    fn next_attempt(
        &self,
        leading: bool,
        until: Option<Instant>,
        expires: Option<Instant>,
    ) -> Instant {
        let wait = if leading {
            self.timing.retry
        } else {
            self.timing
                .retry
                .mul_f64(1.0 - FOLLOWER_JITTER * fastrand::f64())
        };
        let wake = Instant::now() + wait;
        match (until, expires) {
            (Some(t), _) if leading => wake.min(t),
            (_, Some(t)) if !leading => wake.min(t),
            _ => wake,
        }
    }

    /// Gives the lease up if this replica holds it (client-go's `ReleaseOnCancel`): the holder
    /// cleared, `leaseDurationSeconds` 1 and `renewTime` now, under the resourceVersion last
    /// seen, so that another replica takes over at its next attempt instead of waiting out the
    /// lease. Call it after [`Elector::run`] returned; this replica never leads again. Bounded
    /// by a few seconds. A lease someone else took meanwhile is left alone.
    pub(crate) async fn release(&self) -> Result<(), LeaseError> {
        let bound = RELEASE_BOUND.min(self.timing.renew_deadline);
        let deadline = Instant::now() + bound;
        let attempt = async {
            // A renewal cut off by the cancellation may have been written: then the lease has a
            // newer version than the one seen, and it is read once more.
            for _ in 0..2 {
                let current = {
                    let mut state = self.state();
                    state.renewed = None;
                    match &state.observed {
                        Some(o) if o.lease.record.holder == self.config.identity => o.lease.clone(),
                        _ => return Ok(()),
                    }
                };
                let now = Timestamp::now();
                let record = LeaseRecord {
                    holder: String::new(),
                    duration_seconds: 1,
                    acquire_time: Some(now),
                    renew_time: Some(now),
                    transitions: current.record.transitions,
                };
                match self
                    .client
                    .update(LeaseOp::Release, &current, &record, deadline)
                    .await?
                {
                    LeaseAnswer::Stored(lease) => {
                        self.record(lease, None);
                        tracing::info!("released lease {}", self.client.lease());
                        return Ok(());
                    }
                    LeaseAnswer::NotFound => {
                        self.state().observed = None;
                        return Ok(());
                    }
                    LeaseAnswer::Conflict(_) => match self.client.get(deadline).await? {
                        LeaseAnswer::Stored(lease) => self.record(lease, None),
                        LeaseAnswer::NotFound | LeaseAnswer::Conflict(_) => return Ok(()),
                    },
                }
            }
            Ok(())
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(result) => result,
            Err(_) => Err(self.client.timeout(LeaseOp::Release, bound)),
        }
    }
}

/// A leader's renewal: the lease it saw, and what to write over it.
#[derive(Debug, Clone)]
struct Renewal {
    lease: StoredLease,
    record: LeaseRecord,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::k8s::request::RequestPolicy;
    use test_apiserver::{FaultAction, FaultConfig, FaultRule, ServerConfig, TestApiServer};

    const DURATION: Duration = Duration::from_secs(3);

    fn timing() -> Timing {
        Timing::new(DURATION)
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A lease held by `holder`, stored at resource version `rv`.
    fn stored(holder: &str, renew: &str, rv: &str) -> StoredLease {
        StoredLease::for_test(
            LeaseRecord {
                holder: holder.into(),
                duration_seconds: 3,
                acquire_time: Some(ts("2026-03-01T11:00:00Z")),
                renew_time: Some(ts(renew)),
                transitions: 4,
            },
            rv,
        )
    }

    #[test]
    fn timings_follow_client_go_defaults() {
        let t = Timing::new(Duration::from_secs(15));
        assert_eq!(t.renew_deadline, Duration::from_secs(10));
        assert_eq!(t.retry, Duration::from_secs(2));
        assert_eq!(t.duration_seconds, 15);
        // never less than a second, and rounded up: others never wait less than we assume
        assert_eq!(Timing::new(Duration::ZERO).duration, Duration::from_secs(1));
        assert_eq!(Timing::new(Duration::from_millis(2500)).duration_seconds, 3);
        assert_eq!(Timing::new(Duration::MAX).duration_seconds, i32::MAX);
    }

    #[test]
    fn no_lease_is_created() {
        let wall = ts("2026-03-01T12:00:00.5Z");
        let d = decide(None, Instant::now(), wall, "me", &timing());
        assert_eq!(
            d,
            Decision::Create(LeaseRecord {
                holder: "me".into(),
                duration_seconds: 3,
                acquire_time: Some(wall),
                renew_time: Some(wall),
                transitions: 0,
            })
        );
    }

    #[test]
    fn a_fresh_holder_is_followed_and_an_expired_one_taken_over() {
        let seen = Instant::now();
        let wall = ts("2026-03-01T12:00:10Z");
        let observed = Observed {
            lease: stored("other", "2026-03-01T12:00:00.000000Z", "7"),
            at: seen,
        };
        let fresh = decide(
            Some(&observed),
            seen + Duration::from_millis(2999),
            wall,
            "me",
            &timing(),
        );
        assert_eq!(
            fresh,
            Decision::Follow {
                holder: "other".into(),
                expires: seen + DURATION
            }
        );
        let expired = decide(Some(&observed), seen + DURATION, wall, "me", &timing());
        assert_eq!(
            expired,
            Decision::Acquire(LeaseRecord {
                holder: "me".into(),
                duration_seconds: 3,
                acquire_time: Some(wall),
                renew_time: Some(wall),
                transitions: 5,
            })
        );
    }

    #[test]
    fn the_remote_renew_time_does_not_matter_only_the_local_observation() {
        let seen = Instant::now();
        let wall = ts("2026-03-01T12:00:10Z");
        for renew in ["2099-01-01T00:00:00.000000Z", "1970-01-01T00:00:01.000000Z"] {
            let observed = Observed {
                lease: stored("other", renew, "7"),
                at: seen,
            };
            assert!(matches!(
                decide(
                    Some(&observed),
                    seen + Duration::from_secs(1),
                    wall,
                    "me",
                    &timing()
                ),
                Decision::Follow { .. }
            ));
            assert!(matches!(
                decide(
                    Some(&observed),
                    seen + Duration::from_secs(4),
                    wall,
                    "me",
                    &timing()
                ),
                Decision::Acquire(_)
            ));
        }
    }

    #[test]
    fn a_released_lease_is_taken_at_once_and_our_own_is_renewed() {
        let seen = Instant::now();
        let wall = ts("2026-03-01T12:00:10Z");
        let released = Observed {
            lease: stored("", "2026-03-01T12:00:09.000000Z", "8"),
            at: seen,
        };
        match decide(Some(&released), seen, wall, "me", &timing()) {
            Decision::Acquire(r) => {
                assert_eq!((r.holder.as_str(), r.transitions), ("me", 5));
                assert_eq!(r.acquire_time, Some(wall));
            }
            other => panic!("{other:?}"),
        }
        let ours = Observed {
            lease: stored("me", "2026-03-01T12:00:09.000000Z", "9"),
            at: seen,
        };
        match decide(Some(&ours), seen, wall, "me", &timing()) {
            Decision::Acquire(r) => {
                // a renewal keeps the acquisition time and the transitions
                assert_eq!(r.transitions, 4);
                assert_eq!(r.acquire_time, Some(ts("2026-03-01T11:00:00Z")));
                assert_eq!(r.renew_time, Some(wall));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unchanged_record_keeps_its_observation_time() {
        let t0 = Instant::now();
        let first = observe(
            None,
            stored("other", "2026-03-01T12:00:00.000000Z", "7"),
            t0,
        );
        assert_eq!(first.at, t0);
        let t1 = t0 + Duration::from_secs(2);
        // only the resource version changed (someone labelled the lease): no sign of life
        let same = observe(
            Some(&first),
            stored("other", "2026-03-01T12:00:00.000000Z", "8"),
            t1,
        );
        assert_eq!(same.at, t0);
        assert_eq!(same.lease.resource_version, "8");
        let renewed = observe(
            Some(&same),
            stored("other", "2026-03-01T12:00:02.000000Z", "9"),
            t1,
        );
        assert_eq!(renewed.at, t1);
    }

    // ---- against a real (test) API server ----

    struct World {
        server: TestApiServer,
        connection: Connection,
        _dir: tempfile::TempDir,
    }

    async fn world() -> World {
        let server = TestApiServer::start(ServerConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&path, &test_apiserver::KubeconfigOptions::default())
            .unwrap();
        let connection = crate::k8s::cluster::connect(
            Some(&path),
            None,
            RequestPolicy::default(),
            Instant::now() + Duration::from_secs(3600),
        )
        .await
        .unwrap();
        World {
            server,
            connection,
            _dir: dir,
        }
    }

    fn config(identity: &str) -> LeaseConfig {
        LeaseConfig {
            name: "reaper".into(),
            namespace: "spark".into(),
            identity: identity.into(),
            duration: DURATION,
        }
    }

    /// An elector running on its own task.
    struct Running {
        elector: Arc<Elector>,
        leads: watch::Receiver<bool>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    fn start(w: &World, identity: &str) -> Running {
        let elector = Arc::new(Elector::new(&w.connection, config(identity)));
        let (tx, leads) = watch::channel(false);
        let cancel = CancellationToken::new();
        // `run` is not `Send` (the request helper's future is not): a local task.
        let task = tokio::task::spawn_local({
            let elector = Arc::clone(&elector);
            let cancel = cancel.clone();
            async move { elector.run(tx, cancel).await }
        });
        Running {
            elector,
            leads,
            cancel,
            task,
        }
    }

    impl Running {
        fn leads(&self) -> bool {
            *self.leads.borrow()
        }

        /// Cancels the election and waits for `run` to return.
        async fn stop(self) -> Arc<Elector> {
            self.cancel.cancel();
            self.task.await.unwrap();
            assert!(!*self.leads.borrow(), "false once run returned");
            self.elector
        }
    }

    /// Waits until `what` holds, checking every 5 ms; the time it took, or a panic after `limit`.
    async fn wait_until(limit: Duration, what: impl Fn() -> bool) -> Duration {
        let start = Instant::now();
        while !what() {
            assert!(start.elapsed() < limit, "not within {limit:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        start.elapsed()
    }

    /// Samples the two electors every few milliseconds until stopped; fails if both ever lead.
    fn watchdog(a: &Running, b: &Running) -> (Arc<AtomicBool>, tokio::task::JoinHandle<u64>) {
        let (ra, rb) = (a.leads.clone(), b.leads.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut samples = 0;
            while !flag.load(Ordering::Relaxed) {
                assert!(!(*ra.borrow() && *rb.borrow()), "two leaders at once");
                samples += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            samples
        });
        (stop, task)
    }

    /// Writes of the lease (PUT or POST) whose body names `holder`, after request `after`.
    fn writes_by(server: &TestApiServer, holder: &str, after: u64) -> usize {
        let needle = format!("\"holderIdentity\":\"{holder}\"");
        server
            .requests()
            .iter()
            .filter(|r| r.seq > after && matches!(r.method.as_str(), "PUT" | "POST"))
            .filter(|r| r.path.contains("/leases") && r.body.contains(&needle))
            .count()
    }

    fn last_seq(server: &TestApiServer) -> u64 {
        server.requests().iter().map(|r| r.seq).max().unwrap_or(0)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_leader_at_a_time_and_a_dead_one_is_replaced_after_the_lease_duration() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let w = world().await;
                let a = start(&w, "a");
                let b = start(&w, "b");
                let (stop, dog) = watchdog(&a, &b);
                wait_until(Duration::from_secs(2), || a.leads() || b.leads()).await;
                let (leader, follower) = if a.leads() { (a, b) } else { (b, a) };
                let (leader_id, follower_id) = if leader.elector.config.identity == "a" {
                    ("a", "b")
                } else {
                    ("b", "a")
                };
                // the Lease was created, held by the leader, as client-go writes it
                let lease = w.server.get_lease("spark", "reaper").unwrap();
                assert_eq!(lease["spec"]["holderIdentity"], leader_id);
                assert_eq!(lease["spec"]["leaseDurationSeconds"], 3);
                assert_eq!(lease["spec"]["leaseTransitions"], 0);
                let renew = lease["spec"]["renewTime"].as_str().unwrap();
                assert_eq!(renew.len(), "2026-03-01T12:00:00.000000Z".len(), "{renew}");
                let acquired = lease["spec"]["acquireTime"].clone();
                // for longer than a lease duration: the leader renews, the follower never writes
                let settled = last_seq(&w.server);
                tokio::time::sleep(DURATION + Duration::from_secs(1)).await;
                assert!(leader.leads() && !follower.leads());
                assert_eq!(writes_by(&w.server, follower_id, settled), 0);
                let renewals = writes_by(&w.server, leader_id, settled);
                assert!(renewals >= 5, "a renewal every retry period: {renewals}");
                let lease = w.server.get_lease("spark", "reaper").unwrap();
                assert_eq!(lease["spec"]["acquireTime"], acquired, "renewals keep it");

                // the leader dies without giving the lease up
                let died = Instant::now();
                let dead = leader.stop().await;
                let took = wait_until(Duration::from_secs(6), || follower.leads()).await;
                let elapsed = died.elapsed();
                assert!(
                    took >= Duration::from_secs(2),
                    "not before the lease could have expired: {took:?}"
                );
                assert!(
                    elapsed <= DURATION + timing().retry + Duration::from_millis(600),
                    "within a lease duration and a retry period: {elapsed:?}"
                );
                let lease = w.server.get_lease("spark", "reaper").unwrap();
                assert_eq!(lease["spec"]["holderIdentity"], follower_id);
                assert_eq!(lease["spec"]["leaseTransitions"], 1);
                assert_ne!(lease["spec"]["acquireTime"], acquired);
                // the dead one's release is a no-op now: the lease is someone else's
                let before = last_seq(&w.server);
                dead.state().observed = None;
                dead.release().await.unwrap();
                assert_eq!(writes_by(&w.server, "", before), 0);
                stop.store(true, Ordering::Relaxed);
                assert!(dog.await.unwrap() > 100);
                follower.stop().await;
                w.server.shutdown().await;
            })
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_released_lease_is_taken_over_at_once() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let w = world().await;
                let a = start(&w, "a");
                wait_until(Duration::from_secs(2), || a.leads()).await;
                let b = start(&w, "b");
                let (stop, dog) = watchdog(&a, &b);
                tokio::time::sleep(Duration::from_secs(1)).await;
                assert!(!b.leads());
                let a = a.stop().await;
                a.release().await.unwrap();
                let released = Instant::now();
                let lease = w.server.get_lease("spark", "reaper").unwrap();
                if lease["spec"]["holderIdentity"] == "" {
                    assert_eq!(lease["spec"]["leaseDurationSeconds"], 1);
                }
                let took = wait_until(Duration::from_secs(2), || b.leads()).await;
                assert!(
                    released.elapsed() < Duration::from_secs(1),
                    "at the next attempt, not after the lease duration: {took:?}"
                );
                let lease = w.server.get_lease("spark", "reaper").unwrap();
                assert_eq!(lease["spec"]["holderIdentity"], "b");
                assert_eq!(lease["spec"]["leaseTransitions"], 1);
                // releasing again, or by a replica that does not hold it, writes nothing
                let before = last_seq(&w.server);
                a.release().await.unwrap();
                assert_eq!(last_seq(&w.server), before);
                stop.store(true, Ordering::Relaxed);
                dog.await.unwrap();
                let b = b.stop().await;
                b.release().await.unwrap();
                assert_eq!(
                    w.server.get_lease("spark", "reaper").unwrap()["spec"]["holderIdentity"],
                    ""
                );
                w.server.shutdown().await;
            })
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_whose_server_stops_answering_steps_down_within_the_renew_deadline() {
        tokio::task::LocalSet::new()
            .run_until(async {
            let w = world().await;
            let a = start(&w, "a");
            wait_until(Duration::from_secs(2), || a.leads()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            w.server.set_faults(FaultConfig {
                seed: 0,
                rules: vec![FaultRule::always(FaultAction::Hang)],
            });
            let hung = Instant::now();
            wait_until(Duration::from_secs(3), || w.server.hanging_requests() > 0).await;
            let took = wait_until(Duration::from_secs(4), || !a.leads()).await;
            let elapsed = hung.elapsed();
            assert!(
                elapsed <= timing().renew_deadline + Duration::from_millis(250),
                "false within the renew deadline, the renewal still hanging: {elapsed:?} ({took:?})"
            );
            // nobody took the lease; when the server answers again, the same replica renews it
            w.server.clear_faults();
            wait_until(Duration::from_secs(5), || a.leads()).await;
            let lease = w.server.get_lease("spark", "reaper").unwrap();
            assert_eq!(lease["spec"]["holderIdentity"], "a");
            assert_eq!(lease["spec"]["leaseTransitions"], 0);
            a.stop().await;
            w.server.shutdown().await;
            })
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_follower_waits_while_the_record_changes_whatever_its_renew_time_says() {
        tokio::task::LocalSet::new()
            .run_until(async {
            let w = world().await;
            // another holder whose renewTime is far in the past, but which keeps renewing
            let seed = |transitions: u32| {
                serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": "reaper", "namespace": "spark"},
                    "spec": {"holderIdentity": "x", "leaseDurationSeconds": 3,
                             "acquireTime": "1970-01-01T00:00:01.000000Z",
                             "renewTime": format!("1970-01-01T00:00:{:02}.000000Z", transitions % 60),
                             "leaseTransitions": 0}})
            };
            w.server.put_lease(&seed(0)).unwrap();
            let b = start(&w, "b");
            let start_seq = last_seq(&w.server);
            for i in 1..=10 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                w.server.put_lease(&seed(i)).unwrap();
                assert!(!b.leads());
            }
            assert_eq!(
                writes_by(&w.server, "b", start_seq),
                0,
                "never over a fresh lease"
            );
            // now the holder is silent, with a renewTime far in the future: b takes over once the
            // record has not changed for the lease duration
            let mut future = seed(0);
            future["spec"]["renewTime"] = serde_json::json!("2099-01-01T00:00:00.000000Z");
            w.server.put_lease(&future).unwrap();
            let silent = Instant::now();
            wait_until(Duration::from_secs(6), || b.leads()).await;
            assert!(silent.elapsed() >= DURATION, "{:?}", silent.elapsed());
            let lease = w.server.get_lease("spark", "reaper").unwrap();
            assert_eq!(lease["spec"]["holderIdentity"], "b");
            assert_eq!(lease["spec"]["leaseTransitions"], 1);
            b.stop().await;
            w.server.shutdown().await;
            })
            .await;
    }
}
