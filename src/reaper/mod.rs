//! The delete executor shared by `reap` (and, later, `watch`).
//!
//! Owns: issuing the deletes of an ordered list of [`plan::Target`]s: the one place where the
//! dry-run mode is checked; a client-side rate limit per API server (`--qps`, `--burst`, shared
//! by contexts of the same server); bounded concurrency over all contexts; the meaning of each
//! answer for the pod (404 gone, 409 changed and never retried, 401/403 stop the context at
//! once); stopping new work on cancellation or at the deadline; and one audit record per
//! outcome, written as it completes. Retries and timeouts are the request policy's
//! (`k8s::request`). Must not: judge pods, decide which pods are targets, talk kube types, or
//! format reports.

pub(crate) mod plan;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use jiff::Timestamp;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::{DeleteMode, Pace};
use crate::k8s::cluster::{self, CREDENTIALS_HINT, Connection, DeleteAnswer, DeleteTarget};
use crate::k8s::request::RateLimit;
use plan::Target;

/// How long deletes in flight may take to finish after SIGINT/SIGTERM before they are
/// abandoned (and reported as possibly applied).
pub(crate) const IN_FLIGHT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Completes when the process gets SIGINT or SIGTERM (never, if they cannot be watched).
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum OutcomeKind {
    /// The API server accepted the DELETE.
    Deleted,
    /// Already gone (404, or no longer listed when a plan was applied).
    Gone,
    /// Changed or replaced since it was judged (409, or a plan's pod listed differently):
    /// skipped, never retried.
    Changed,
    /// Not deleted: retries used up, denied, rejected, the deadline passed, or the run was
    /// interrupted (`attempts` 0: never sent).
    Failed,
    /// A dry run: nothing removed.
    DryRun,
}

impl OutcomeKind {
    /// As reports spell it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Deleted => "deleted",
            OutcomeKind::Gone => "gone",
            OutcomeKind::Changed => "changed",
            OutcomeKind::Failed => "failed",
            OutcomeKind::DryRun => "dry-run",
        }
    }
}

/// The outcome of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// What happened.
    pub kind: OutcomeKind,
    /// DELETE requests sent for it.
    pub attempts: u32,
    /// The HTTP status of the last answer, if there was one.
    pub http_status: Option<u16>,
    /// Why it was not deleted (or what the server said), if anything went wrong.
    pub error: Option<String>,
    /// When it completed.
    pub at: Timestamp,
    /// From sending the first DELETE to the final answer (`None`: nothing was sent).
    pub elapsed: Option<std::time::Duration>,
}

impl Outcome {
    /// An outcome decided without sending anything.
    #[must_use]
    pub(crate) fn unsent(kind: OutcomeKind, error: Option<String>) -> Self {
        Self {
            kind,
            attempts: 0,
            http_status: None,
            error,
            at: Timestamp::now(),
            elapsed: None,
        }
    }
}

/// Where outcomes are recorded as they complete: the audit log, a line on stderr, the
/// progress bar.
pub(crate) trait Recorder: Sync {
    /// Called once per target, as soon as its outcome is known.
    fn record(&self, target: &Target, outcome: &Outcome);
}

/// The results of a run so far: one slot per target, filled as each completes, and which were
/// started. Kept outside the executor so that a run cut short still reports what it did.
#[derive(Debug)]
pub(crate) struct Results {
    slots: Mutex<(Vec<Option<Outcome>>, Vec<bool>)>,
}

impl Results {
    /// Empty results for `n` targets.
    #[must_use]
    pub(crate) fn new(n: usize) -> Self {
        Self {
            slots: Mutex::new((vec![None; n], vec![false; n])),
        }
    }

    fn start(&self, index: usize) {
        self.lock().1[index] = true;
    }

    fn set(&self, index: usize, outcome: Outcome) {
        self.lock().0[index] = Some(outcome);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Option<Outcome>>, Vec<bool>)> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every outcome: a target that was in flight when the run was cut short, or never
    /// started, gets a `failed` outcome that says so (and is recorded now).
    pub(crate) fn finish(self, targets: &[Target], recorder: &dyn Recorder) -> Vec<Outcome> {
        let (slots, started) = self
            .slots
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .into_iter()
            .zip(started)
            .zip(targets)
            .map(|((slot, started), target)| {
                slot.unwrap_or_else(|| {
                    let outcome = Outcome {
                        attempts: u32::from(started),
                        ..Outcome::unsent(
                            OutcomeKind::Failed,
                            Some(if started {
                                "interrupted while the DELETE was in flight: it may or may not \
                                 have been applied"
                                    .into()
                            } else {
                                "not attempted: the run was interrupted".into()
                            }),
                        )
                    };
                    recorder.record(target, &outcome);
                    outcome
                })
            })
            .collect()
    }
}

/// The client-side rate limits of the API servers (`--qps`, `--burst`), one per server URL,
/// with the concurrency: made once per run, and shared by every round of deletes of a `watch`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimits {
    pace: Pace,
    limits: Arc<Mutex<HashMap<String, RateLimit>>>,
}

impl RateLimits {
    /// No request made yet.
    #[must_use]
    pub(crate) fn new(pace: Pace) -> Self {
        Self {
            pace,
            limits: Arc::default(),
        }
    }

    /// The limit of the API server at `server`.
    fn of(&self, server: &str) -> RateLimit {
        self.limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(server.to_string())
            .or_insert_with(|| RateLimit::new(self.pace.qps, self.pace.burst))
            .clone()
    }
}

/// Issues the deletes of a run.
pub(crate) struct Executor<'a> {
    connections: Vec<Connection>,
    mode: DeleteMode,
    concurrency: usize,
    grace_period: Option<u32>,
    recorder: &'a dyn Recorder,
    cancel: CancellationToken,
    /// Contexts (by group) where a 401/403 stopped every further delete, with why.
    stopped: Mutex<HashMap<usize, String>>,
}

impl<'a> Executor<'a> {
    /// An executor deleting through `connections` (indexed by [`Target::group`]; `None` where a
    /// group has no cluster). Contexts of the same API server share one rate limit.
    #[must_use]
    pub(crate) fn new(
        connections: Vec<Connection>,
        mode: DeleteMode,
        limits: &RateLimits,
        grace_period: Option<u32>,
        recorder: &'a dyn Recorder,
        cancel: CancellationToken,
    ) -> Self {
        let pace = limits.pace;
        let connections = connections
            .into_iter()
            .map(|c| {
                let limit = limits.of(&c.server);
                Connection {
                    sender: c.sender.with_limit(Some(limit)).with_cancel(cancel.clone()),
                    ..c
                }
            })
            .collect();
        Self {
            connections,
            mode,
            concurrency: pace.concurrency.max(1),
            grace_period,
            recorder,
            cancel,
            stopped: Mutex::new(HashMap::new()),
        }
    }

    /// Deletes every target, in order, at most `concurrency` at once, filling `results` as each
    /// completes. Stops starting new deletes when cancelled or past the deadline.
    pub(crate) async fn run(&self, targets: &[Target], results: &Results) {
        futures::stream::iter(targets.iter().enumerate())
            .map(|(index, target)| async move {
                let outcome = self.one(index, target, results).await;
                self.recorder.record(target, &outcome);
                results.set(index, outcome);
            })
            .buffer_unordered(self.concurrency)
            .collect::<()>()
            .await;
    }

    fn stopped_because(&self, group: usize) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&group)
            .cloned()
    }

    async fn one(&self, index: usize, target: &Target, results: &Results) -> Outcome {
        if self.cancel.is_cancelled() {
            return Outcome::unsent(
                OutcomeKind::Failed,
                Some("not attempted: the run was interrupted".into()),
            );
        }
        let Some(connection) = self.connections.get(target.group) else {
            return Outcome::unsent(
                OutcomeKind::Failed,
                Some("not attempted: no cluster connection for its context".into()),
            );
        };
        if let Some(why) = self.stopped_because(target.group) {
            return Outcome::unsent(OutcomeKind::Failed, Some(format!("not attempted: {why}")));
        }
        if connection.sender.past_deadline() {
            return Outcome::unsent(
                OutcomeKind::Failed,
                Some("not attempted: the run's --deadline passed".into()),
            );
        }
        let (Some(uid), Some(resource_version)) = (&target.id.uid, &target.id.resource_version)
        else {
            return Outcome::unsent(
                OutcomeKind::Failed,
                Some(
                    "listed without uid or resourceVersion: cannot delete with preconditions"
                        .into(),
                ),
            );
        };
        // The one dry-run check: a client dry run sends nothing, a server dry run sends
        // `dryRun=All`, anything else deletes.
        let server_dry_run = match self.mode {
            DeleteMode::DryRunClient => return Outcome::unsent(OutcomeKind::DryRun, None),
            DeleteMode::DryRunServer => true,
            DeleteMode::Send => false,
        };
        results.start(index);
        let started = std::time::Instant::now();
        let request = DeleteTarget {
            namespace: &target.id.namespace,
            name: &target.id.name,
            uid,
            resource_version,
            // Terminated pods get the server's grace (0 for a pod in a terminal phase).
            grace_period: if target.terminated_at.is_some() {
                None
            } else {
                self.grace_period
            },
            server_dry_run,
        };
        let deleted = cluster::delete_pod(connection, &request).await;
        let attempts = deleted.attempts;
        let elapsed = Some(started.elapsed());
        let outcome = |kind, http_status: Option<u16>, error: Option<String>| Outcome {
            kind,
            attempts,
            http_status,
            error,
            at: Timestamp::now(),
            elapsed,
        };
        match deleted.answer {
            DeleteAnswer::Accepted if server_dry_run => {
                outcome(OutcomeKind::DryRun, Some(200), None)
            }
            DeleteAnswer::Accepted => outcome(OutcomeKind::Deleted, Some(200), None),
            DeleteAnswer::Gone => outcome(OutcomeKind::Gone, Some(404), None),
            DeleteAnswer::Changed(message) => {
                outcome(OutcomeKind::Changed, Some(409), Some(message))
            }
            DeleteAnswer::Denied { code, message } => {
                let why = denied(target, code);
                tracing::error!("{why}: {message}");
                self.stopped
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .entry(target.group)
                    .or_insert(why);
                outcome(
                    OutcomeKind::Failed,
                    Some(code),
                    Some(format!("{code}: {message}")),
                )
            }
            DeleteAnswer::Rejected { code, message } => outcome(
                OutcomeKind::Failed,
                (code != 0).then_some(code),
                Some(if code == 0 {
                    message
                } else {
                    format!("{code}: {message}")
                }),
            ),
            DeleteAnswer::NoAnswer(failure) => {
                outcome(OutcomeKind::Failed, None, Some(failure.to_string()))
            }
        }
    }
}

/// Why a context stopped after a 401 or 403 on a DELETE, with what to check.
fn denied(target: &Target, code: u16) -> String {
    let context = target.id.context.as_deref().unwrap_or("in-cluster");
    if code == 401 {
        format!("context {context} stopped after 401 on a DELETE ({CREDENTIALS_HINT})")
    } else {
        format!(
            "context {context} stopped after {code} on a DELETE (the identity may not delete \
             pods in namespace {}; it needs `delete` on `pods`)",
            target.id.namespace
        )
    }
}

/// One line of the audit log.
#[derive(Debug, Serialize)]
pub(crate) struct AuditLine<'a> {
    /// When the outcome was known.
    pub time: Timestamp,
    /// The run's id (also in the report).
    pub run_id: &'a str,
    /// `delete`, `dry-run-client` or `dry-run-server`.
    pub mode: &'static str,
    /// Context.
    pub context: Option<&'a str>,
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub pod: &'a str,
    /// The uid precondition.
    pub uid: Option<&'a str>,
    /// The resourceVersion precondition.
    pub resource_version: Option<&'a str>,
    /// `kyuubi-unique-tag`.
    pub tag: &'a str,
    /// `spark-app-selector`.
    pub app_id: Option<&'a str>,
    /// Verdict class.
    pub class: &'a str,
    /// Rule.
    pub rule: u8,
    /// Reason.
    pub reason: &'a str,
    /// Outcome.
    pub outcome: OutcomeKind,
    /// HTTP status of the last answer.
    pub http_status: Option<u16>,
    /// DELETE requests sent.
    pub attempts: u32,
    /// What went wrong, if anything.
    pub error: Option<&'a str>,
}

impl<'a> AuditLine<'a> {
    /// The audit line of one outcome.
    #[must_use]
    pub(crate) fn new(
        run_id: &'a str,
        mode: DeleteMode,
        target: &'a Target,
        outcome: &'a Outcome,
    ) -> Self {
        Self {
            time: outcome.at,
            run_id,
            mode: mode.as_str(),
            context: target.id.context.as_deref(),
            namespace: &target.id.namespace,
            pod: &target.id.name,
            uid: target.id.uid.as_deref(),
            resource_version: target.id.resource_version.as_deref(),
            tag: &target.id.tag,
            app_id: target.id.app_id.as_deref(),
            class: &target.class,
            rule: target.rule,
            reason: &target.reason,
            outcome: outcome.kind,
            http_status: outcome.http_status,
            attempts: outcome.attempts,
            error: outcome.error.as_deref(),
        }
    }
}

/// The `--audit-log` file: appended to, one JSON line per outcome, flushed as written.
#[derive(Debug)]
pub(crate) struct AuditLog {
    file: Mutex<std::fs::File>,
}

impl AuditLog {
    /// Opens (creating if needed) `path` for appending.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Appends one line and flushes it to the file.
    pub(crate) fn write(&self, line: &AuditLine<'_>) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        text.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write per line: with O_APPEND, lines of concurrent runs do not interleave.
        file.write_all(&text)?;
        file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::request::{RequestPolicy, Sender};
    use crate::pod::PodRef;
    use http::{Request, Response};
    use kube::client::Body;
    use tokio::time::Instant;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    fn connection() -> (Connection, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let policy = RequestPolicy::default();
        let client = kube::Client::new(service, "spark");
        let sender = Sender::new(
            client.clone(),
            policy,
            Instant::now() + policy.deadline,
            None,
        );
        let connection = Connection {
            sender,
            context: Some("prod".into()),
            default_namespace: "spark".into(),
            server: "https://prod/".into(),
            watch_client: client,
        };
        (connection, handle)
    }

    fn targets(n: usize) -> Vec<Target> {
        (0..n)
            .map(|i| Target {
                group: 0,
                id: PodRef {
                    context: Some("prod".into()),
                    namespace: "spark".into(),
                    name: format!("d{i}"),
                    uid: Some(format!("u{i}")),
                    resource_version: Some("1".into()),
                    tag: format!("t{i}"),
                    app_id: None,
                },
                class: "terminated".into(),
                rule: 6,
                reason: String::new(),
                terminated_at: Some(Timestamp::UNIX_EPOCH),
                created_at: Timestamp::UNIX_EPOCH,
            })
            .collect()
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<(String, OutcomeKind)>>);

    impl Recorder for Log {
        fn record(&self, target: &Target, outcome: &Outcome) {
            self.0
                .lock()
                .unwrap()
                .push((target.id.name.clone(), outcome.kind));
        }
    }

    fn pace(concurrency: usize) -> Pace {
        Pace {
            qps: 1000.0,
            burst: 1000,
            concurrency,
        }
    }

    fn answer(code: u16) -> Response<Body> {
        Response::builder()
            .status(code)
            .body(Body::from(
                format!(r#"{{"kind":"Status","code":{code},"message":"m{code}","reason":"R"}}"#)
                    .into_bytes(),
            ))
            .unwrap()
    }

    #[tokio::test]
    async fn a_client_dry_run_sends_nothing() {
        let (connection, mut handle) = connection();
        let log = Log::default();
        let executor = Executor::new(
            vec![connection],
            DeleteMode::DryRunClient,
            &RateLimits::new(pace(4)),
            None,
            &log,
            CancellationToken::new(),
        );
        let targets = targets(3);
        let results = Results::new(3);
        executor.run(&targets, &results).await;
        drop(executor);
        let outcomes = results.finish(&targets, &log);
        assert!(outcomes.iter().all(|o| o.kind == OutcomeKind::DryRun));
        assert!(outcomes.iter().all(|o| o.attempts == 0));
        assert_eq!(log.0.lock().unwrap().len(), 3, "one record per target");
        assert!(
            futures::poll!(Box::pin(handle.next_request())).is_pending(),
            "no request was sent"
        );
    }

    #[tokio::test]
    async fn forbidden_stops_the_context_and_other_answers_do_not() {
        let (connection, mut handle) = connection();
        let server = tokio::spawn(async move {
            // d0 gone, d1 changed, d2 forbidden; nothing after that may arrive.
            for code in [404, 409, 403] {
                let (_, send) = handle.next_request().await.unwrap();
                send.send_response(answer(code));
            }
            handle
        });
        let log = Log::default();
        let executor = Executor::new(
            vec![connection],
            DeleteMode::Send,
            &RateLimits::new(pace(1)),
            None,
            &log,
            CancellationToken::new(),
        );
        let targets = targets(5);
        let results = Results::new(5);
        executor.run(&targets, &results).await;
        let mut handle = server.await.unwrap();
        let outcomes = results.finish(&targets, &log);
        let kinds: Vec<_> = outcomes.iter().map(|o| o.kind).collect();
        assert_eq!(
            kinds,
            [
                OutcomeKind::Gone,
                OutcomeKind::Changed,
                OutcomeKind::Failed,
                OutcomeKind::Failed,
                OutcomeKind::Failed
            ]
        );
        assert_eq!(outcomes[2].http_status, Some(403));
        assert_eq!(outcomes[3].attempts, 0, "never sent after the 403");
        assert!(
            outcomes[4]
                .error
                .as_deref()
                .unwrap()
                .contains("`delete` on `pods`"),
            "{:?}",
            outcomes[4].error
        );
        assert!(futures::poll!(Box::pin(handle.next_request())).is_pending());
    }

    #[tokio::test]
    async fn a_cancelled_run_starts_nothing_and_says_so() {
        let (connection, _handle) = connection();
        let log = Log::default();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let executor = Executor::new(
            vec![connection],
            DeleteMode::Send,
            &RateLimits::new(pace(2)),
            None,
            &log,
            cancel,
        );
        let targets = targets(2);
        let results = Results::new(2);
        executor.run(&targets, &results).await;
        let outcomes = results.finish(&targets, &log);
        assert!(
            outcomes
                .iter()
                .all(|o| o.kind == OutcomeKind::Failed && o.attempts == 0)
        );
        assert!(
            outcomes[0]
                .error
                .as_deref()
                .unwrap()
                .contains("interrupted")
        );
    }
}
