//! The `watch` command: the reap pipeline run continuously, reacting to change.
//!
//! Owns: the long-running loop and its edges with the world: a pod watch per context and
//! namespace scope (`k8s::watch`), the compact record kept of every candidate pod (a
//! [`PodInfo`] and its last decision, never a Kubernetes object), a timer per pod for the
//! instant its verdict can next change (`classify::next_change`), reading the state again when
//! its files change (`files`), a live source changes (`live`: ZooKeeper watches, store polls),
//! or a pod of an unknown tag appears, the API server's clock
//! (`clock`), rounds of deletes through reap's executor (same gate, preconditions, retries,
//! rate limit and audit lines), leadership (`leader`), the HTTP endpoints (`http`, `metrics`),
//! and shutdown on SIGINT/SIGTERM (no new delete; in-flight ones get
//! [`IN_FLIGHT_GRACE`](crate::reaper::IN_FLIGHT_GRACE); the lease released; exit 0).
//! Must not: hold verdict or refusal rules (`classify`, `gate`), issue requests other than
//! through `k8s` and `reaper`, or delete while the state could not be read, is stale, or the gate
//! refuses.
//!
//! Blast radius, per sliding window: `--max-deletions` counts the DELETEs sent in the last
//! `--window` (default 1h) plus the orphans due now, and `--max-orphan-ratio` compares the
//! orphans known now with the candidates known now. A round that would pass either is refused
//! whole; its orphans wait, and are tried again every [`REFUSED_RETRY`].

pub(crate) mod clock;
mod files;
pub(crate) mod http;
pub(crate) mod leader;
mod live;
pub(crate) mod metrics;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::LocalBoxFuture;
use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt as _, StreamExt as _};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::classify::{Class, Verdict, judge, next_change};
use crate::config::{DeleteMode, PodSource, Presentation, WatchConfig};
use crate::error::{Error, ExitCode, Refusal};
use crate::gate;
use crate::k8s::Namespaces;
use crate::k8s::cluster::{self, Connection};
use crate::k8s::watch::{PodEvent, WatchFailure};
use crate::output::reap::outcome_line;
use crate::pipeline::{self, ZkCheck};
use crate::pod::PodInfo;
use crate::reaper::plan::{self, Target};
use crate::reaper::{
    AuditLine, AuditLog, Executor, IN_FLIGHT_GRACE, Outcome, OutcomeKind, RateLimits, Recorder,
    Results, shutdown_signal,
};
use crate::state::EngineState;
use files::StateFiles;
use http::Health;
use leader::{Elector, LeaseConfig};
use live::LiveSources;
use metrics::Metrics;

/// How often the loop looks at the time-driven facts (ZooKeeper state age, refused rounds,
/// readiness, metrics) and tells /healthz it is alive.
const TICK: Duration = Duration::from_secs(1);
/// /healthz fails when the loop has not turned for this long.
const STALL: Duration = Duration::from_secs(60);
/// How often each API server's clock is looked at again.
const CLOCK_PROBE: Duration = Duration::from_secs(30);
/// A change of a state file is read after this quiet time (a write often comes in parts).
const FILE_DEBOUNCE: Duration = Duration::from_millis(200);
/// How long after a live source changed the state is read (changes come in bursts: an engine
/// registers its parents, then itself).
const LIVE_DEBOUNCE: Duration = Duration::from_millis(500);
/// Pods of tags the state was not read for make it read again at most this often.
const TAG_DEBOUNCE: Duration = Duration::from_secs(5);
/// Orphans due at about the same instant go out in one round.
const ROUND_DEBOUNCE: Duration = Duration::from_millis(20);
/// A delete that failed is tried again after this long.
const RETRY_FAILED: Duration = Duration::from_secs(30);
/// A round the gate refused is tried again after this long.
const REFUSED_RETRY: Duration = Duration::from_secs(30);
/// How far [`clock::contradicts`] lets a new sample stray before the clock is estimated again.
const CLOCK_SLACK: SignedDuration = SignedDuration::from_millis(250);

/// A pod: its group (context), namespace and name.
type Key = (usize, String, String);

/// What the loop knows of one candidate pod.
#[derive(Debug)]
struct Record {
    pod: PodInfo,
    /// The last decision, `None` while the state has not been read for its tag.
    decision: Option<(Verdict, Class)>,
    /// When it is judged again.
    due: Option<Instant>,
    /// The resourceVersion a DELETE was answered for (deleted, dry run, changed): that
    /// version is not sent again.
    settled: Option<String>,
    /// A DELETE of it is in flight.
    in_flight: bool,
    /// A failed DELETE is not tried again before this.
    retry_at: Option<Instant>,
    /// The generation of the list of its scope that last saw it.
    listed_in: u32,
    /// The first state read that was asked for its tag (0: none yet): a state read from that
    /// generation on may judge it.
    asked_since: u32,
}

/// The state as last read.
struct Loaded {
    state: EngineState,
    /// Its generation: pods whose `asked_since` is at most this were asked for.
    generation: u32,
    /// How many tags it was read for.
    tags: usize,
    /// The ZooKeeper sources' gate facts, checked again as time passes.
    zk: Vec<ZkCheck>,
}

/// One context: its connection, the API server's clock, its watch scopes.
struct GroupState {
    connection: Connection,
    /// Server minus local clock.
    offset: SignedDuration,
    /// Namespaces watched (`None`: all).
    scopes: Vec<Option<String>>,
    /// Whether each scope has been listed whole at least once.
    listed: Vec<bool>,
    /// The generation of each scope's latest list (pods it did not see are gone when it is
    /// complete).
    generation: Vec<u32>,
}

/// What a round of deletes did.
struct RoundDone {
    targets: Vec<Target>,
    outcomes: Vec<Outcome>,
}

/// SIGINT or SIGTERM, caught from the start of the run.
type Shutdown = Pin<Box<dyn std::future::Future<Output = ()>>>;

/// A pod event from the watch of one scope of one group.
type ScopedEvent = (usize, usize, Result<PodEvent, WatchFailure>);

/// Runs `watch` until SIGINT or SIGTERM.
pub(crate) async fn run(
    config: &WatchConfig,
    presentation: Presentation,
) -> Result<ExitCode, Error> {
    let _ = presentation;
    let PodSource::Cluster {
        kubeconfig,
        contexts,
        namespaces,
    } = &config.judge.pods
    else {
        return Err(Error::Usage(
            "watch watches a cluster, not a pod file".into(),
        ));
    };
    // SIGINT/SIGTERM are caught from here on: a service stopped while it starts exits 0 too.
    let mut shutdown: Shutdown = Box::pin(shutdown_signal());
    let _ = futures::poll!(&mut shutdown);
    // The audit log first: a service that cannot keep its trail does not start.
    let audit = config
        .audit_log
        .as_deref()
        .map(|path| {
            AuditLog::open(path).map_err(|source| Error::AuditLog {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()?;

    // The HTTP endpoints answer from the start: not ready until the pods are listed and the
    // state is read.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Usage(format!("--listen {}: {e}", config.listen)))?;
    tracing::info!(
        "serving /metrics, /healthz and /readyz on {}",
        listener.local_addr().map_or(config.listen, |a| a)
    );
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(STALL));
    let stop_http = CancellationToken::new();
    let server = tokio::spawn(http::serve(
        listener,
        Arc::clone(&metrics),
        Arc::clone(&health),
        stop_http.clone(),
    ));

    let Some(groups) = connect(
        config,
        kubeconfig.as_deref(),
        contexts,
        namespaces,
        &mut shutdown,
    )
    .await?
    else {
        stop_http.cancel();
        return Ok(ExitCode::Success);
    };

    let run_id = uuid::Uuid::new_v4().to_string();
    tracing::info!(
        "watch {run_id}: {} mode, {} context(s)",
        config.mode.as_str(),
        groups.len()
    );
    let recorder = Arc::new(WatchRecorder {
        run_id,
        mode: config.mode,
        audit,
        audit_path: config.audit_log.clone(),
        metrics: Arc::clone(&metrics),
        failed_write: AtomicBool::new(false),
    });
    let mut service = Service {
        config,
        groups,
        records: HashMap::new(),
        timers: BTreeSet::new(),
        counts: HashMap::new(),
        loaded: None,
        state_error: Some("the state is not read yet".into()),
        refusal: None,
        pending: BTreeSet::new(),
        window: VecDeque::new(),
        metrics,
        health,
        recorder,
        limits: RateLimits::new(config.pace),
        leader: config.leader.is_none(),
        generation: 0,
        reload_at: None,
        tag_reload_at: None,
        round_at: None,
        refused_until: None,
        last_logged: None,
    };
    service.metrics.leader(service.leader);
    let code = service.serve(&mut shutdown).await;
    stop_http.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    code
}

/// Connects to every context and estimates its API server's clock; `None` when a signal came
/// first.
async fn connect(
    config: &WatchConfig,
    kubeconfig: Option<&std::path::Path>,
    contexts: &[Option<String>],
    namespaces: &Namespaces,
    shutdown: &mut Shutdown,
) -> Result<Option<Vec<GroupState>>, Error> {
    // Connections live as long as the service: the run deadline applies per round.
    let forever = Instant::now() + Duration::from_secs(10 * 365 * 24 * 3600);
    let mut groups = Vec::new();
    for context in contexts {
        let connecting = cluster::connect(
            kubeconfig,
            context.as_deref(),
            config.judge.requests,
            forever,
        );
        let connection = tokio::select! {
            connection = connecting => connection?,
            () = &mut *shutdown => return Ok(None),
        };
        let scopes: Vec<Option<String>> = match namespaces {
            Namespaces::ContextDefault => vec![Some(connection.default_namespace.clone())],
            Namespaces::All => vec![None],
            Namespaces::Only(list) => list.iter().cloned().map(Some).collect(),
        };
        let offset = tokio::select! {
            offset = estimate_clock(&connection) => offset,
            () = &mut *shutdown => return Ok(None),
        };
        groups.push(GroupState {
            connection,
            offset,
            listed: vec![false; scopes.len()],
            generation: vec![0; scopes.len()],
            scopes,
        });
    }
    Ok(Some(groups))
}

/// Estimates an API server's clock (server minus local), sampling `GET /version` until its
/// `Date` second ticks over (at most 12 samples, 100 ms apart). The local clock (offset 0)
/// when the server gives no date.
async fn estimate_clock(connection: &Connection) -> SignedDuration {
    let mut samples = Vec::new();
    let mut last_date = None;
    for _ in 0..12 {
        match cluster::clock_sample(connection).await {
            Ok(Some(sample)) => {
                let ticked = last_date.is_some_and(|d| d != sample.date);
                last_date = Some(sample.date);
                samples.push(sample);
                if ticked {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!("cannot read the API server's clock: {e}");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let context = connection.context.as_deref().unwrap_or("in-cluster");
    if let Some(offset) = clock::estimate(&samples) {
        tracing::info!(
            "context {context}: the API server's clock is {} from the local one",
            crate::duration::human(offset)
        );
        offset
    } else {
        tracing::warn!(
            "context {context}: the API server gives no Date header; ages are measured against \
             the local clock"
        );
        SignedDuration::ZERO
    }
}

/// The loop's world.
struct Service<'a> {
    config: &'a WatchConfig,
    groups: Vec<GroupState>,
    records: HashMap<Key, Record>,
    /// (instant, pod): when each pod is judged again.
    timers: BTreeSet<(Instant, Key)>,
    /// Candidate pods by decision, for the metrics.
    counts: HashMap<(&'static str, &'static str), u64>,
    loaded: Option<Loaded>,
    /// Why the state cannot be used for deletes now (not read yet, or the last read failed).
    state_error: Option<String>,
    /// The gate's refusal of the state or of the last round, while it holds.
    refusal: Option<Refusal>,
    /// Orphans waiting for a round.
    pending: BTreeSet<Key>,
    /// When each DELETE of the last `--window` was sent.
    window: VecDeque<Instant>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    recorder: Arc<WatchRecorder>,
    limits: RateLimits,
    /// Whether this replica may delete.
    leader: bool,
    /// State reads started.
    generation: u32,
    /// Read the state at this instant.
    reload_at: Option<Instant>,
    /// Pods of unread tags asked for a read at this instant.
    tag_reload_at: Option<Instant>,
    /// Start a round at this instant.
    round_at: Option<Instant>,
    /// A refused round is not tried before this.
    refused_until: Option<Instant>,
    /// The last not-ready reason logged (each is logged once).
    last_logged: Option<String>,
}

impl Service<'_> {
    #[allow(clippy::too_many_lines)] // the one select over every source of work
    async fn serve(&mut self, shutdown: &mut Shutdown) -> Result<ExitCode, Error> {
        let mut events = self.watch_streams();
        let mut state_files = StateFiles::new(&self.config.judge);
        let live_sources = LiveSources::start(&self.config.judge, self.config.store_poll);
        let mut reload: Option<tokio::task::JoinHandle<Result<Loaded, Error>>> = None;
        let mut round: Option<LocalBoxFuture<'static, RoundDone>> = None;
        let mut round_cancel = CancellationToken::new();

        // Leadership: without election this replica always leads.
        let election = CancellationToken::new();
        let (leader_tx, mut leader_rx) = watch::channel(self.config.leader.is_none());
        let elector = self.config.leader.as_ref().map(|leader| {
            let connection = &self.groups[0].connection;
            Arc::new(Elector::new(
                connection,
                LeaseConfig {
                    name: leader.lease_name.clone(),
                    namespace: leader
                        .lease_namespace
                        .clone()
                        .unwrap_or_else(|| connection.default_namespace.clone()),
                    identity: leader.identity.clone(),
                    duration: leader.lease_duration,
                },
            ))
        });
        let mut leader_open = elector.is_some();
        let mut electing: Pin<Box<dyn std::future::Future<Output = ()>>> = match &elector {
            Some(elector) => {
                let elector = Arc::clone(elector);
                let cancel = election.clone();
                Box::pin(async move { elector.run(leader_tx, cancel).await })
            }
            None => Box::pin(std::future::pending()),
        };

        // Each API server's clock, looked at again every CLOCK_PROBE.
        let mut probe: Option<LocalBoxFuture<'static, Vec<(usize, SignedDuration)>>> = None;
        let mut probe_every = tokio::time::interval(CLOCK_PROBE);
        probe_every.reset();

        let mut tick = tokio::time::interval(TICK);
        let mut poll = tokio::time::interval(self.config.state_poll);
        let mut resync = tokio::time::interval(self.config.resync);
        for interval in [&mut tick, &mut poll, &mut resync] {
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        }
        resync.reset();
        let far = || Instant::now() + Duration::from_secs(3600);

        loop {
            self.health.beat();
            let next_timer = self.timers.first().map(|(at, _)| *at);
            let reload_at = [self.reload_at, self.tag_reload_at]
                .into_iter()
                .flatten()
                .min()
                .filter(|_| reload.is_none() && self.all_listed());
            let round_at = self.round_at.filter(|_| round.is_none());
            tokio::select! {
                biased;
                () = &mut *shutdown => break,
                changed = leader_rx.changed(), if leader_open => {
                    if changed.is_ok() {
                        let leads = *leader_rx.borrow_and_update();
                        self.set_leader(leads, &mut round_cancel);
                    } else {
                        // The election ended (it only does when cancelled): no more news.
                        leader_open = false;
                        self.set_leader(false, &mut round_cancel);
                    }
                }
                () = &mut electing => {
                    electing = Box::pin(std::future::pending());
                }
                done = async { round.as_mut().expect("guarded").await }, if round.is_some() => {
                    round = None;
                    self.round_done(done);
                }
                loaded = async { reload.as_mut().expect("guarded").await }, if reload.is_some() => {
                    reload = None;
                    match loaded {
                        Ok(result) => self.state_read(result),
                        Err(join) => self.state_failed(format!("the state reader stopped: {join}")),
                    }
                }
                Some((group, scope, event)) = events.next() => {
                    self.pod_event(group, scope, event);
                }
                () = tokio::time::sleep_until(next_timer.unwrap_or_else(far)), if next_timer.is_some() => {
                    self.fire_timers();
                }
                () = tokio::time::sleep_until(reload_at.unwrap_or_else(far)), if reload_at.is_some() => {
                    self.reload_at = None;
                    self.tag_reload_at = None;
                    reload = Some(self.start_reload());
                }
                () = tokio::time::sleep_until(round_at.unwrap_or_else(far)), if round_at.is_some() => {
                    self.round_at = None;
                    if let Some(work) = self.start_round(&round_cancel) {
                        round = Some(work);
                    }
                }
                _ = probe_every.tick(), if probe.is_none() => {
                    probe = Some(self.probe_clocks());
                }
                moved = async { probe.as_mut().expect("guarded").await }, if probe.is_some() => {
                    probe = None;
                    if !moved.is_empty() {
                        tracing::info!("an API server's clock moved: judging again by it");
                        for (group, offset) in moved {
                            self.groups[group].offset = offset;
                        }
                        self.judge_all();
                    }
                }
                () = state_files.notified() => {
                    if state_files.changed() {
                        self.reload_soon(FILE_DEBOUNCE);
                    }
                }
                () = live_sources.notified() => self.reload_soon(LIVE_DEBOUNCE),
                _ = poll.tick() => {
                    if state_files.changed() {
                        self.reload_soon(FILE_DEBOUNCE);
                    }
                }
                _ = resync.tick() => {
                    tracing::info!("resync: listing every pod again and reading the state again");
                    events = self.watch_streams();
                    self.reload_soon(Duration::ZERO);
                }
                _ = tick.tick() => self.on_tick(),
            }
        }

        // Shutdown: no new delete; those in flight get IN_FLIGHT_GRACE; the lease is released.
        tracing::info!("stopping: no new delete starts");
        round_cancel.cancel();
        drop(probe);
        if let Some(work) = round.take() {
            if let Ok(done) = tokio::time::timeout(IN_FLIGHT_GRACE, work).await {
                self.round_done(done);
            } else {
                tracing::warn!(
                    "deletes still in flight after {}s were abandoned",
                    IN_FLIGHT_GRACE.as_secs()
                );
            }
        }
        election.cancel();
        drop(electing);
        if let Some(elector) = &elector {
            match elector.release().await {
                Ok(()) => tracing::info!("lease released"),
                Err(e) => tracing::warn!("could not release the lease: {e}"),
            }
        }
        if let Some(reload) = reload {
            reload.abort();
        }
        Ok(ExitCode::Success)
    }

    /// Looks at every API server's clock once; estimates it again where the look contradicts
    /// the estimate. Gives the groups whose estimate changed.
    fn probe_clocks(&self) -> LocalBoxFuture<'static, Vec<(usize, SignedDuration)>> {
        let groups: Vec<(usize, Connection, SignedDuration)> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.connection.clone(), g.offset))
            .collect();
        async move {
            let mut moved = Vec::new();
            for (index, connection, estimate) in groups {
                if let Ok(Some(sample)) = cluster::clock_sample(&connection).await
                    && clock::contradicts(estimate, &sample, CLOCK_SLACK)
                {
                    moved.push((index, estimate_clock(&connection).await));
                }
            }
            moved
        }
        .boxed_local()
    }

    /// One watch per scope of every group, merged.
    fn watch_streams(&mut self) -> SelectAll<BoxStream<'static, ScopedEvent>> {
        let mut all = SelectAll::new();
        for (g, group) in self.groups.iter_mut().enumerate() {
            for (s, scope) in group.scopes.iter().enumerate() {
                let stream = crate::k8s::watch::pods(
                    &group.connection,
                    scope.as_deref(),
                    &self.config.judge.selector,
                )
                .map(move |event| (g, s, event))
                .boxed();
                all.push(stream);
            }
        }
        all
    }

    fn all_listed(&self) -> bool {
        self.groups.iter().all(|g| g.listed.iter().all(|l| *l))
    }

    /// The API server's time of group `g`, by its estimated clock.
    fn now(&self, g: usize) -> Timestamp {
        clock::server_now(self.groups[g].offset)
    }

    fn pod_event(&mut self, g: usize, s: usize, event: Result<PodEvent, WatchFailure>) {
        let event = match event {
            Ok(event) => event,
            Err(failure) => {
                self.metrics.api_error(&failure.code);
                let scope = scope_name(self.groups[g].scopes[s].as_deref());
                tracing::warn!(
                    "context {}, {scope}: watching pods failed ({}); trying again",
                    self.groups[g]
                        .connection
                        .context
                        .as_deref()
                        .unwrap_or("in-cluster"),
                    failure.message
                );
                return;
            }
        };
        match event {
            PodEvent::Relisting => self.groups[g].generation[s] += 1,
            PodEvent::Listed(pod) => {
                let generation = self.groups[g].generation[s];
                let key = self.upsert(g, pod);
                if let Some(record) = self.records.get_mut(&key) {
                    record.listed_in = generation;
                }
            }
            PodEvent::ListDone => {
                let generation = self.groups[g].generation[s];
                let first = !self.groups[g].listed[s];
                self.groups[g].listed[s] = true;
                let scope = self.groups[g].scopes[s].clone();
                let in_scope =
                    |(kg, ns, _): &Key| *kg == g && scope.as_ref().is_none_or(|sc| sc == ns);
                let gone: Vec<Key> = self
                    .records
                    .iter()
                    .filter(|(key, record)| in_scope(key) && record.listed_in != generation)
                    .map(|(key, _)| key.clone())
                    .collect();
                for key in &gone {
                    self.remove(key);
                }
                let listed = self.records.keys().filter(|key| in_scope(key)).count();
                tracing::info!(
                    "{}: {listed} candidate pods listed",
                    scope_name(scope.as_deref())
                );
                if first && self.all_listed() && self.loaded.is_none() {
                    self.reload_soon(Duration::ZERO);
                }
            }
            PodEvent::Applied(pod) => {
                self.upsert(g, pod);
            }
            PodEvent::Deleted { namespace, name } => self.remove(&(g, namespace, name)),
            PodEvent::Invalid(invalid) => tracing::warn!("skipped: {invalid}"),
        }
    }

    /// A pod added or changed: kept, and judged again unless nothing about it changed. Gives
    /// its key.
    fn upsert(&mut self, g: usize, pod: PodInfo) -> Key {
        let key = (g, pod.namespace.clone(), pod.name.clone());
        if let Some(record) = self.records.get_mut(&key) {
            if record.pod == pod {
                return key;
            }
            if record.pod.uid != pod.uid {
                record.settled = None;
                record.retry_at = None;
            }
            if record.pod.tag != pod.tag {
                record.asked_since = 0;
            }
            record.pod = pod;
        } else {
            self.records.insert(
                key.clone(),
                Record {
                    pod,
                    decision: None,
                    due: None,
                    settled: None,
                    in_flight: false,
                    retry_at: None,
                    listed_in: 0,
                    asked_since: 0,
                },
            );
        }
        self.judge_one(&key);
        key
    }

    fn remove(&mut self, key: &Key) {
        if let Some(record) = self.records.remove(key) {
            if let Some(due) = record.due {
                self.timers.remove(&(due, key.clone()));
            }
            self.count(record.decision, None);
        }
        self.pending.remove(key);
    }

    /// Moves a pod from one decision to another in the counts.
    fn count(&mut self, from: Option<(Verdict, Class)>, to: Option<(Verdict, Class)>) {
        let label = |d: Option<(Verdict, Class)>| match d {
            Some((verdict, class)) => (verdict.as_str(), class.as_str()),
            None => ("unjudged", "awaiting-state"),
        };
        if let Some(n) = self.counts.get_mut(&label(from)) {
            *n = n.saturating_sub(1);
        }
        if to.is_some() || from.is_some() {
            *self.counts.entry(label(to)).or_default() += 1;
        }
    }

    /// Judges one pod now, sets its timer, and queues it for a round when it is an orphan
    /// that may be sent.
    fn judge_one(&mut self, key: &Key) {
        let now = self.now(key.0);
        let policy = &self.config.judge.policy;
        let Some(record) = self.records.get(key) else {
            return;
        };
        let asked =
            |loaded: &Loaded| record.asked_since != 0 && record.asked_since <= loaded.generation;
        let judged = match &self.loaded {
            Some(loaded) if asked(loaded) || newer_than(&record.pod, &loaded.state) => {
                let judgement = judge(&record.pod, &loaded.state, policy, now);
                let next = next_change(&record.pod, &loaded.state, policy, now);
                Some((judgement.verdict, judgement.class, next))
            }
            _ => None,
        };
        if judged.is_none() || self.loaded.as_ref().is_some_and(|l| !asked(l)) {
            // Judged without its records (rule 4 keeps it) or not at all: read the state for
            // its tag soon.
            if self.all_listed() && self.tag_reload_at.is_none() {
                self.tag_reload_at = Some(Instant::now() + TAG_DEBOUNCE);
            }
        }
        let decision = judged.map(|(v, c, _)| (v, c));
        let due = judged.and_then(|(_, _, next)| next).map(|next| {
            let wait = next.duration_since(now);
            Instant::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
        });
        let previous = self.records.get(key).map(|r| (r.decision, r.due));
        let Some((old_decision, old_due)) = previous else {
            return;
        };
        if let Some(old) = old_due {
            self.timers.remove(&(old, key.clone()));
        }
        if let Some(due) = due {
            self.timers.insert((due, key.clone()));
        }
        if old_decision != decision {
            self.count(old_decision, decision);
        }
        let record = self.records.get_mut(key).expect("looked up above");
        record.decision = decision;
        record.due = due;
        let sendable = decision.is_some_and(|(v, _)| v == Verdict::Orphan)
            && !record.in_flight
            && record.settled.as_ref() != record.pod.resource_version.as_ref()
            && record.retry_at.is_none_or(|at| at <= Instant::now());
        if sendable {
            self.pending.insert(key.clone());
            self.round_soon();
        } else {
            self.pending.remove(key);
        }
    }

    fn judge_all(&mut self) {
        let keys: Vec<Key> = self.records.keys().cloned().collect();
        for key in keys {
            self.judge_one(&key);
        }
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some((at, _)) = self.timers.first() {
            if *at > now {
                break;
            }
            let Some((_, key)) = self.timers.pop_first() else {
                break;
            };
            if let Some(record) = self.records.get_mut(&key) {
                record.due = None;
            }
            self.judge_one(&key);
        }
    }

    fn reload_soon(&mut self, after: Duration) {
        let at = Instant::now() + after;
        self.reload_at = Some(self.reload_at.map_or(at, |r| r.min(at)));
    }

    fn round_soon(&mut self) {
        if self.round_at.is_none() {
            self.round_at = Some(Instant::now() + ROUND_DEBOUNCE);
        }
    }

    /// Reads the state on a blocking thread (a big store or snapshot takes a while), for the
    /// tags of every pod known now (which the read's generation then may judge).
    fn start_reload(&mut self) -> tokio::task::JoinHandle<Result<Loaded, Error>> {
        self.generation += 1;
        let generation = self.generation;
        let config = self.config.judge.clone();
        // The tags by hash (8 bytes each rather than a copy of every tag): a hash that two tags
        // share only reads the records of one tag more than asked, never fewer.
        // A database server is asked for its tags by name: only then are they copied.
        let mut tags: HashSet<u64> = HashSet::with_capacity(self.records.len());
        let mut listed: Vec<String> = Vec::new();
        let by_name = !config.store_urls.is_empty();
        for record in self.records.values_mut() {
            if record.asked_since == 0 {
                record.asked_since = generation;
            }
            tags.insert(tag_hash(&record.pod.tag));
            // Every tag, not only those of new hashes: a tag whose hash another shares must
            // still be asked for.
            if by_name {
                listed.push(record.pod.tag.clone());
            }
        }
        // On a blocking thread, which drives the network parts (live sources) through the
        // runtime's handle while the loop goes on.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let sources = runtime.block_on(pipeline::open_sources(&config))?;
            listed.sort_unstable();
            listed.dedup();
            let listed: Vec<&str> = listed.iter().map(String::as_str).collect();
            let (state, zk) =
                runtime.block_on(sources.read(&|tag| tags.contains(&tag_hash(tag)), &listed))?;
            Ok(Loaded {
                state,
                generation,
                tags: tags.len(),
                zk,
            })
        })
    }

    fn state_read(&mut self, result: Result<Loaded, Error>) {
        match result {
            Ok(mut loaded) => {
                // Copied on this thread: the reader's allocations are interleaved with all it
                // freed while reading (rows of other tags, SQL text), so its pages would stay
                // resident for the few bytes kept in each. The copy packs the state; the
                // reader's pages are then returned whole.
                loaded.state = loaded.state.clone();
                let now = Timestamp::now();
                for source in loaded.state.sources() {
                    let name = source.to_string();
                    #[allow(clippy::cast_precision_loss)] // ages are far below 2^52 ms
                    let age = now.duration_since(source.as_of).as_millis() as f64 / 1000.0;
                    self.metrics.state_age(&name, age);
                }
                let names: Vec<String> = loaded
                    .state
                    .sources()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.metrics.retain_state_sources(&names);
                tracing::info!(
                    "state read: {} engines known for {} tags",
                    loaded.state.known_engines(),
                    loaded.tags
                );
                self.loaded = Some(loaded);
                self.state_error = None;
                self.refusal = self.state_refusal();
                self.judge_all();
                self.metrics.reconciled(Timestamp::now());
            }
            Err(error) => self.state_failed(error.to_string()),
        }
    }

    /// A failed read: nothing is deleted until a read succeeds (the pods are still judged by
    /// the last good state, for the metrics).
    fn state_failed(&mut self, why: String) {
        tracing::error!("the state could not be read; no pod is deleted until it can: {why}");
        if let Some(refusal) = why.strip_prefix("refused: ") {
            self.metrics.gate_refusal(refusal);
        }
        self.state_error = Some(why);
    }

    /// The gate's view of the state now: ZooKeeper too old, a source in the future of a
    /// judging clock, or no engine known while candidates exist.
    fn state_refusal(&self) -> Option<Refusal> {
        let loaded = self.loaded.as_ref()?;
        let now = Timestamp::now();
        for check in &loaded.zk {
            if let Err(refusal) = check.check(&self.config.judge, now) {
                return Some(refusal);
            }
        }
        let labels: Vec<String> = self
            .groups
            .iter()
            .map(|g| {
                format!(
                    "API server (context {})",
                    g.connection.context.as_deref().unwrap_or("in-cluster")
                )
            })
            .collect();
        let mut clocks: Vec<(&str, Timestamp)> = labels
            .iter()
            .enumerate()
            .map(|(g, label)| (label.as_str(), self.now(g)))
            .collect();
        clocks.push(("local", now));
        gate::state(
            &loaded.state,
            self.records.len(),
            &clocks,
            self.config.judge.allow_empty_state,
        )
        .err()
    }

    fn set_leader(&mut self, leads: bool, round_cancel: &mut CancellationToken) {
        if leads == self.leader {
            return;
        }
        self.leader = leads;
        self.metrics.leader(leads);
        if leads {
            tracing::info!("leading: this replica deletes");
            *round_cancel = CancellationToken::new();
            self.judge_all();
        } else {
            tracing::info!("not leading: no delete starts");
            round_cancel.cancel();
        }
    }

    /// Builds a round of the pending orphans, judged again now, if this replica may delete and
    /// the gate lets it.
    fn start_round(
        &mut self,
        round_cancel: &CancellationToken,
    ) -> Option<LocalBoxFuture<'static, RoundDone>> {
        if !self.leader || self.pending.is_empty() {
            return None;
        }
        if let Some(why) = self.blocked() {
            tracing::debug!("no round: {why}");
            return None;
        }
        if self
            .refused_until
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        let keys: Vec<Key> = std::mem::take(&mut self.pending).into_iter().collect();
        let mut targets = Vec::new();
        let policy = &self.config.judge.policy;
        let loaded = self.loaded.as_ref()?;
        for key in &keys {
            let Some(record) = self.records.get(key) else {
                continue;
            };
            let judgement = judge(&record.pod, &loaded.state, policy, self.now(key.0));
            if judgement.verdict == Verdict::Orphan && !record.in_flight {
                targets.push(Target::from_pod(
                    key.0,
                    &record.pod,
                    judgement.class.as_str(),
                    judgement.rule,
                    &judgement.reason,
                ));
            }
        }
        if targets.is_empty() {
            return None;
        }
        // The blast radius, per sliding window.
        let horizon = Instant::now().checked_sub(self.config.window);
        while self
            .window
            .front()
            .is_some_and(|sent| horizon.is_some_and(|h| *sent < h))
        {
            self.window.pop_front();
        }
        let orphans_now = self
            .counts
            .iter()
            .filter(|((verdict, _), _)| *verdict == Verdict::Orphan.as_str())
            .map(|(_, n)| usize::try_from(*n).unwrap_or(usize::MAX))
            .sum::<usize>();
        let refused = gate::window(
            &gate::Window {
                sent: self.window.len(),
                due: targets.len(),
                orphans: orphans_now,
                candidates: self.records.len(),
                length: self.config.window,
            },
            &self.config.blast_radius,
        )
        .err();
        if let Some(refusal) = refused {
            self.metrics.gate_refusal(refusal.kind());
            tracing::warn!("refused: {refusal}");
            self.refusal = Some(refusal);
            self.refused_until = Some(Instant::now() + REFUSED_RETRY);
            self.pending.extend(keys);
            return None;
        }
        self.refusal = None;
        self.refused_until = None;
        let targets = plan::order(targets);
        for target in &targets {
            let key = (
                target.group,
                target.id.namespace.clone(),
                target.id.name.clone(),
            );
            if let Some(record) = self.records.get_mut(&key) {
                record.in_flight = true;
            }
            self.window.push_back(Instant::now());
        }
        Some(self.round(targets, round_cancel.child_token()))
    }

    /// The deletes of `targets` through reap's executor, each round with its own `--deadline`.
    fn round(
        &self,
        targets: Vec<Target>,
        cancel: CancellationToken,
    ) -> LocalBoxFuture<'static, RoundDone> {
        let deadline = Instant::now() + self.config.judge.requests.deadline;
        let connections: Vec<Connection> = self
            .groups
            .iter()
            .map(|g| Connection {
                sender: g.connection.sender.with_deadline(deadline),
                ..g.connection.clone()
            })
            .collect();
        let recorder = Arc::clone(&self.recorder);
        let limits = self.limits.clone();
        let mode = self.config.mode;
        let grace = self.config.grace_period;
        async move {
            let executor = Executor::new(connections, mode, &limits, grace, &*recorder, cancel);
            let results = Results::new(targets.len());
            executor.run(&targets, &results).await;
            drop(executor);
            let outcomes = results.finish(&targets, &*recorder);
            RoundDone { targets, outcomes }
        }
        .boxed_local()
    }

    /// Why no delete may start now, if one may not.
    fn blocked(&self) -> Option<String> {
        if let Some(why) = &self.state_error {
            return Some(why.clone());
        }
        if self.recorder.failed_write.load(Ordering::Relaxed) {
            return Some("the audit log cannot be written".into());
        }
        match &self.refusal {
            Some(refusal @ (Refusal::WindowDeletions { .. } | Refusal::OrphanRatio { .. })) => {
                if self.refused_until.is_some_and(|u| Instant::now() < u) {
                    Some(format!("the safety gate refuses: {refusal}"))
                } else {
                    None
                }
            }
            Some(refusal) => Some(format!("the safety gate refuses: {refusal}")),
            None => None,
        }
    }

    #[allow(clippy::needless_pass_by_value)] // the round is over: its outcomes go with it
    fn round_done(&mut self, done: RoundDone) {
        for (target, outcome) in done.targets.iter().zip(&done.outcomes) {
            let key = (
                target.group,
                target.id.namespace.clone(),
                target.id.name.clone(),
            );
            let Some(record) = self.records.get_mut(&key) else {
                continue;
            };
            record.in_flight = false;
            match outcome.kind {
                OutcomeKind::Deleted | OutcomeKind::DryRun | OutcomeKind::Changed => {
                    record.settled.clone_from(&target.id.resource_version);
                }
                OutcomeKind::Gone => self.remove(&key),
                OutcomeKind::Failed => {
                    let at = Instant::now() + RETRY_FAILED;
                    record.retry_at = Some(at);
                    if let Some(old) = record.due.replace(at) {
                        self.timers.remove(&(old, key.clone()));
                    }
                    self.timers.insert((at, key.clone()));
                }
            }
        }
        self.metrics.reconciled(Timestamp::now());
        if !self.pending.is_empty() {
            self.round_soon();
        }
    }

    /// Time-driven facts: the ZooKeeper state ages, a refused round may be due again, the
    /// readiness and the metrics follow.
    fn on_tick(&mut self) {
        if let Some(loaded) = &self.loaded {
            let now = Timestamp::now();
            for source in loaded.state.sources() {
                #[allow(clippy::cast_precision_loss)]
                let age = now.duration_since(source.as_of).as_millis() as f64 / 1000.0;
                self.metrics.state_age(&source.to_string(), age);
            }
        }
        let window_refusal = matches!(
            self.refusal,
            Some(Refusal::WindowDeletions { .. } | Refusal::OrphanRatio { .. })
        );
        if !window_refusal {
            self.refusal = self.state_refusal();
        }
        if window_refusal && self.refused_until.is_some_and(|u| Instant::now() >= u) {
            self.round_soon();
        }
        if self.pending.is_empty() && window_refusal {
            self.refusal = None;
        }
        if !self.pending.is_empty() && self.round_at.is_none() && self.blocked().is_none() {
            self.round_soon();
        }
        let counts: Vec<((&str, &str), u64)> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (*k, *n))
            .collect();
        self.metrics.set_candidates(&counts);
        let ready = self.readiness();
        if let Err(why) = &ready {
            if self.last_logged.as_ref() != Some(why) {
                tracing::warn!("not ready: {why}");
                self.last_logged = Some(why.clone());
            }
        } else if self.last_logged.take().is_some() {
            tracing::info!("ready");
        }
        self.health.set_ready(ready);
    }

    fn readiness(&self) -> Result<(), String> {
        for group in &self.groups {
            for (scope, listed) in group.scopes.iter().zip(&group.listed) {
                if !listed {
                    return Err(format!(
                        "the first list of pods is not complete (context {}, {})",
                        group.connection.context.as_deref().unwrap_or("in-cluster"),
                        scope_name(scope.as_deref())
                    ));
                }
            }
        }
        if let Some(why) = &self.state_error {
            return Err(why.clone());
        }
        if self.recorder.failed_write.load(Ordering::Relaxed) {
            return Err("the audit log cannot be written".into());
        }
        if let Some(refusal) = &self.refusal {
            return Err(format!("the safety gate refuses: {refusal}"));
        }
        Ok(())
    }
}

/// A tag's hash, the same in every thread of the process (`DefaultHasher::new` has fixed keys).
fn tag_hash(tag: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    tag.hash(&mut hasher);
    hasher.finish()
}

/// Whether a pod was created after the state's as-of time: rule 4 keeps it whatever records
/// of its tag the state would have, so it may be judged before the state is read for it.
fn newer_than(pod: &PodInfo, state: &EngineState) -> bool {
    state.as_of().is_none_or(|as_of| pod.created_at > as_of)
}

fn scope_name(scope: Option<&str>) -> String {
    match scope {
        Some(ns) => format!("namespace {ns}"),
        None => "all namespaces".into(),
    }
}

/// The trail of `watch`: an audit line per outcome (to `--audit-log`, else to the log), and
/// the delete metrics.
struct WatchRecorder {
    run_id: String,
    mode: DeleteMode,
    audit: Option<AuditLog>,
    audit_path: Option<std::path::PathBuf>,
    metrics: Arc<Metrics>,
    /// The audit log could not be written: no further delete starts.
    failed_write: AtomicBool,
}

impl Recorder for WatchRecorder {
    fn record(&self, target: &Target, outcome: &Outcome) {
        self.metrics
            .deletion(outcome.kind.as_str(), outcome.elapsed);
        if outcome.kind == OutcomeKind::Failed && outcome.attempts > 0 {
            let code = outcome
                .http_status
                .map_or_else(|| "no-answer".to_string(), |c| c.to_string());
            self.metrics.api_error(&code);
        }
        tracing::info!("{}", outcome_line(target, outcome));
        if let Some(audit) = &self.audit {
            let line = AuditLine::new(&self.run_id, self.mode, target, outcome);
            if let Err(e) = audit.write(&line)
                && !self.failed_write.swap(true, Ordering::Relaxed)
            {
                {
                    tracing::error!(
                        "cannot write the audit log {}: {e}; no further delete starts",
                        self.audit_path
                            .as_deref()
                            .unwrap_or(std::path::Path::new(""))
                            .display()
                    );
                }
            }
        }
    }
}
