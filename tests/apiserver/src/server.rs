//! The server handle: configuration, start-up, the accept loop, background work (graceful
//! deletion expiry, compaction) and the test-facing control API.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::faults::{FaultConfig, FaultState};
use crate::pod::{key_of, set_meta};
use crate::seed::{self, SeedError, SeedFormat};
use crate::status::ApiError;
use crate::store::{Store, StoreConfig};
use crate::{RecordedRequest, lock};

/// How the server's clock starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockStart {
    /// Real time.
    #[default]
    Real,
    /// Real time shifted by an offset.
    Offset(SignedDuration),
    /// Stopped at an instant (moves only when a test moves it).
    Fixed(Timestamp),
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// `gitVersion` reported by `/version`; `kubectl`'s dispatcher picks its binary from the minor.
    pub version: String,
    /// If set, requests must carry `Authorization: Bearer <token>` (else 401, or 403 when anonymous).
    pub token: Option<String>,
    /// How the clock starts.
    pub clock: ClockStart,
    /// Fault injection.
    pub faults: FaultConfig,
    /// Revisions of history kept for paged lists, watch resumption and `resourceVersionMatch=Exact`.
    pub history_revisions: u64,
    /// Compact history older than this, every this often (like the apiserver's 5 minute etcd
    /// compaction); `None` = only by `history_revisions`.
    pub compaction_interval: Option<Duration>,
    /// How often watches with `allowWatchBookmarks=true` get a `BOOKMARK`.
    pub bookmark_interval: Duration,
    /// Watch timeout when the client gives no `timeoutSeconds`.
    pub default_watch_timeout: Duration,
    /// Seed of generated uids.
    pub uid_seed: u64,
    /// Keep request bodies in the request log.
    pub log_bodies: bool,
    /// Also append every request as a JSON line to this file.
    pub request_log_file: Option<PathBuf>,
    /// Namespaces that exist even without pods (`default`, `kube-system`, ... are always there).
    pub namespaces: Vec<String>,
    /// Seed files loaded before the server starts serving.
    pub seed_files: Vec<PathBuf>,
    /// Pods loaded before the server starts serving.
    pub seed_pods: Vec<Value>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            version: "v1.33.0".into(),
            token: None,
            clock: ClockStart::Real,
            faults: FaultConfig::default(),
            history_revisions: 250_000,
            compaction_interval: Some(Duration::from_secs(300)),
            bookmark_interval: Duration::from_secs(60),
            default_watch_timeout: Duration::from_secs(1800),
            uid_seed: 0x6b79_7575_6269,
            log_bodies: true,
            request_log_file: None,
            namespaces: Vec::new(),
            seed_files: Vec::new(),
            seed_pods: Vec::new(),
        }
    }
}

/// Errors of the control API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding or I/O failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A seed file is bad.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The store refused an object.
    #[error("{0}")]
    Api(#[from] ApiError),
}

pub(crate) struct SharedOpts {
    pub(crate) version: String,
    pub(crate) token: Option<String>,
    pub(crate) bookmark_interval: Duration,
    pub(crate) default_watch_timeout: Duration,
    pub(crate) log_bodies: bool,
    pub(crate) namespaces: Vec<String>,
}

/// State shared by connections, watch tasks and the handle.
pub(crate) struct Shared {
    pub(crate) store: Mutex<Store>,
    pub(crate) clock: Arc<Clock>,
    pub(crate) opts: SharedOpts,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) log: Mutex<Vec<RecordedRequest>>,
    log_file: Option<Mutex<std::fs::File>>,
    pub(crate) seq: AtomicU64,
    /// Requests held without an answer by the `hang` fault right now.
    pub(crate) hanging: AtomicUsize,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) addr: SocketAddr,
    pub(crate) started: Timestamp,
}

impl Shared {
    pub(crate) fn record(&self, entry: RecordedRequest) {
        if let Some(f) = &self.log_file
            && let Ok(line) = serde_json::to_string(&entry)
        {
            let _ = writeln!(lock(f), "{line}");
        }
        lock(&self.log).push(entry);
    }

    fn expire(&self) {
        let now = self.clock.now();
        let mut st = lock(&self.store);
        if st.next_deadline().is_some_and(|d| d <= now)
            && let Err(e) = st.expire(now)
        {
            tracing::warn!("graceful deletion expiry failed: {e}");
        }
    }
}

/// Options for a kubeconfig that points at the server.
#[derive(Debug, Clone)]
pub struct KubeconfigOptions {
    /// Name of the context, cluster and user.
    pub context: String,
    /// Default namespace of the context.
    pub namespace: Option<String>,
    /// Bearer token of the user (defaults to the server's token, if any).
    pub token: Option<String>,
}

impl Default for KubeconfigOptions {
    fn default() -> Self {
        Self {
            context: "test-apiserver".into(),
            namespace: None,
            token: None,
        }
    }
}

/// A running test API server.
pub struct TestApiServer {
    shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TestApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApiServer")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl TestApiServer {
    /// Bind `config.listen`, load the seeds and start serving.
    pub async fn start(config: ServerConfig) -> Result<Self, Error> {
        let listener = TcpListener::bind(config.listen).await?;
        Self::start_on(listener, config)
    }

    /// Start serving on an already bound listener.
    pub fn start_on(listener: TcpListener, config: ServerConfig) -> Result<Self, Error> {
        let addr = listener.local_addr()?;
        let clock = Arc::new(match config.clock {
            ClockStart::Real => Clock::real(),
            ClockStart::Offset(o) => {
                let c = Clock::real();
                c.set_offset(o);
                c
            }
            ClockStart::Fixed(t) => Clock::fixed(t),
        });
        let mut store = Store::new(StoreConfig {
            history_revisions: config.history_revisions.max(1),
            uid_seed: config.uid_seed,
        });
        let now = clock.now();
        store.set_recording(false);
        for path in &config.seed_files {
            let text = std::fs::read(path).map_err(|source| SeedError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let name = path.display().to_string();
            seed::for_each_pod(
                &text,
                SeedFormat::detect(Some(path), &text),
                &name,
                &mut |v| store.put(v, now).map(|_| ()).map_err(|e| e.message),
            )?;
        }
        for v in config.seed_pods {
            store.put(v, now)?;
        }
        store.set_recording(true);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let log_file = match &config.request_log_file {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
            None => None,
        };
        let mut namespaces = vec![
            "default".to_string(),
            "kube-node-lease".to_string(),
            "kube-public".to_string(),
            "kube-system".to_string(),
        ];
        namespaces.extend(config.namespaces);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            clock,
            opts: SharedOpts {
                version: config.version,
                token: config.token,
                bookmark_interval: config.bookmark_interval,
                default_watch_timeout: config.default_watch_timeout,
                log_bodies: config.log_bodies,
                namespaces,
            },
            faults: Mutex::new(FaultState::new(config.faults)),
            log: Mutex::new(Vec::new()),
            log_file,
            seq: AtomicU64::new(1),
            hanging: AtomicUsize::new(0),
            shutdown: shutdown_rx,
            addr,
            started: now,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        let bg = tokio::spawn(background(shared.clone(), config.compaction_interval));
        Ok(Self {
            shared,
            shutdown_tx,
            tasks: vec![accept, bg],
        })
    }

    /// The address the server listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The server's clock.
    #[must_use]
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Server time now.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// Stop the clock at `at`, then expire graceful deletions that are due.
    pub fn set_time(&self, at: Timestamp) {
        self.shared.clock.set_fixed(at);
        self.shared.expire();
    }

    /// Move the clock by `by`, then expire graceful deletions that are due (so a running pod
    /// deleted with a 30 s grace period is gone once this returns with `by >= 30s`).
    pub fn advance_clock(&self, by: SignedDuration) {
        self.shared.clock.advance(by);
        self.shared.expire();
    }

    /// Load pods from a seed file (JSON or YAML list, or a single pod). Returns how many.
    pub fn seed_file(&self, path: &Path) -> Result<usize, Error> {
        let pods = seed::read_file(path)?;
        self.seed_pods(pods)
    }

    /// Load pods from JSON or YAML text.
    pub fn seed_str(&self, text: &str) -> Result<usize, Error> {
        let pods = seed::parse_str(text)?;
        self.seed_pods(pods)
    }

    /// Add or replace pods (missing uid/creationTimestamp/resourceVersion are assigned).
    pub fn seed_pods(&self, pods: impl IntoIterator<Item = Value>) -> Result<usize, Error> {
        let now = self.now();
        let mut st = lock(&self.shared.store);
        let mut n = 0;
        for p in pods {
            st.put(p, now)?;
            n += 1;
        }
        Ok(n)
    }

    /// Create a pod as `POST` would (defaults, new uid, `creationTimestamp` = server time).
    pub fn create_pod(&self, pod: Value) -> Result<Value, Error> {
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let now = self.now();
        Ok(lock(&self.shared.store).create(&ns, pod, now, false)?)
    }

    /// Add or replace a pod as given (keeps uid and creationTimestamp of an existing pod when the
    /// new object has none). Returns the stored object.
    pub fn put_pod(&self, pod: Value) -> Result<Value, Error> {
        let now = self.now();
        Ok(lock(&self.shared.store).put(pod, now)?.value())
    }

    /// Change a pod in place (the kubelet or a controller writing). Removing the last finalizer
    /// of a deleted pod whose grace period is over deletes it.
    pub fn update_pod(
        &self,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Result<Value, Error> {
        let now = self.now();
        let mut st = lock(&self.shared.store);
        let cur = st
            .get(&key_of(namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found("pods", name))?;
        let mut v = cur.value();
        f(&mut v);
        set_meta(&mut v, "resourceVersion", Value::from(cur.rv.to_string()));
        Ok(st.update(namespace, name, v, now, false)?)
    }

    /// Set `status.phase` (and `status.reason` if given).
    pub fn set_phase(&self, namespace: &str, name: &str, phase: &str) -> Result<Value, Error> {
        let phase = phase.to_string();
        self.update_pod(namespace, name, move |v| {
            if let Some(o) = v.as_object_mut() {
                let st = o.entry("status").or_insert_with(|| serde_json::json!({}));
                st["phase"] = Value::from(phase);
            }
        })
    }

    /// What the kubelet writes when a pod's containers end: phase `Succeeded` (exit code 0) or
    /// `Failed`, every container `terminated` with `finishedAt`, and `Ready` false.
    pub fn terminate_pod(
        &self,
        namespace: &str,
        name: &str,
        succeeded: bool,
        finished_at: Timestamp,
    ) -> Result<Value, Error> {
        let fin = crate::clock::format_rfc3339(finished_at);
        self.update_pod(namespace, name, move |v| {
            let names: Vec<String> = v
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let started = v
                .pointer("/status/startTime")
                .and_then(Value::as_str)
                .unwrap_or(&fin)
                .to_string();
            let (phase, code, reason) = if succeeded {
                ("Succeeded", 0, "Completed")
            } else {
                ("Failed", 1, "Error")
            };
            let statuses: Vec<Value> = names
                .iter()
                .map(|n| {
                    serde_json::json!({
                        "name": n, "ready": false, "restartCount": 0, "started": false,
                        "image": "", "imageID": "",
                        "state": {"terminated": {"exitCode": code, "reason": reason,
                            "startedAt": started, "finishedAt": fin}}
                    })
                })
                .collect();
            if let Some(o) = v.as_object_mut() {
                let st = o.entry("status").or_insert_with(|| serde_json::json!({}));
                st["phase"] = Value::from(phase);
                st["containerStatuses"] = Value::from(statuses);
                let conds = st
                    .get("conditions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut conds: Vec<Value> = conds
                    .into_iter()
                    .filter(|c| {
                        !matches!(c.get("type").and_then(Value::as_str), Some("Ready" | "ContainersReady"))
                    })
                    .collect();
                for t in ["Ready", "ContainersReady"] {
                    conds.push(serde_json::json!({"type": t, "status": "False",
                        "lastProbeTime": null, "lastTransitionTime": fin, "reason": "PodCompleted"}));
                }
                st["conditions"] = Value::from(conds);
            }
        })
    }

    /// Remove a pod at once, without API semantics (no grace period; the GC still cascades).
    pub fn remove_pod(&self, namespace: &str, name: &str) -> Result<bool, Error> {
        let now = self.now();
        Ok(lock(&self.shared.store).force_remove(&key_of(namespace, name), now)?)
    }

    /// One pod, if it exists.
    #[must_use]
    pub fn get_pod(&self, namespace: &str, name: &str) -> Option<Value> {
        lock(&self.shared.store)
            .get(&key_of(namespace, name))
            .map(|r| r.value())
    }

    /// All pods, ordered by namespace then name.
    #[must_use]
    pub fn pods(&self) -> Vec<Value> {
        lock(&self.shared.store).all().map(|r| r.value()).collect()
    }

    /// Number of pods.
    #[must_use]
    pub fn pod_count(&self) -> usize {
        lock(&self.shared.store).len()
    }

    /// Add or replace a lease (`coordination.k8s.io/v1`) as given, without API semantics (no
    /// validation, `managedFields` kept as they are): missing `uid` and `creationTimestamp` are
    /// filled in, the namespace defaults to `default`, and the lease gets a new resource version
    /// from the counter pods use. Returns the stored object.
    pub fn put_lease(&self, lease: &Value) -> Result<Value, Error> {
        let now = self.now();
        Ok(crate::lease::put(
            &mut lock(&self.shared.store),
            lease,
            now,
        )?)
    }

    /// One lease, if it exists.
    #[must_use]
    pub fn get_lease(&self, namespace: &str, name: &str) -> Option<Value> {
        lock(&self.shared.store)
            .leases
            .get(namespace, name)
            .cloned()
    }

    /// All leases, ordered by namespace then name.
    #[must_use]
    pub fn leases(&self) -> Vec<Value> {
        lock(&self.shared.store).leases.all().cloned().collect()
    }

    /// Remove a lease at once, without API semantics. Returns whether it existed.
    #[must_use]
    pub fn remove_lease(&self, namespace: &str, name: &str) -> bool {
        crate::lease::remove(&mut lock(&self.shared.store), namespace, name)
    }

    /// The current resource version.
    #[must_use]
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.store).rv()
    }

    /// Compact all history: older continue tokens and watch resource versions get 410 Gone.
    pub fn compact(&self) {
        let mut st = lock(&self.shared.store);
        let rv = st.rv();
        st.compact_to(rv);
    }

    /// Compact history up to `rv`.
    pub fn compact_to(&self, rv: u64) {
        lock(&self.shared.store).compact_to(rv);
    }

    /// Replace the fault configuration (match counters restart).
    pub fn set_faults(&self, faults: FaultConfig) {
        *lock(&self.shared.faults) = FaultState::new(faults);
    }

    /// Remove all faults.
    pub fn clear_faults(&self) {
        self.set_faults(FaultConfig::default());
    }

    /// The request log so far.
    #[must_use]
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Requests that the `hang` fault holds without an answer right now (a request stops
    /// counting when its client closes the connection, or at shutdown).
    #[must_use]
    pub fn hanging_requests(&self) -> usize {
        self.shared.hanging.load(Ordering::Relaxed)
    }

    /// Empty the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// A kubeconfig (YAML) pointing at this server.
    #[must_use]
    pub fn kubeconfig_yaml(&self, opts: &KubeconfigOptions) -> String {
        let name = yaml_quote(&opts.context);
        let token = opts.token.as_ref().or(self.shared.opts.token.as_ref());
        let user = match token {
            Some(t) => format!("  user:\n    token: {}\n", yaml_quote(t)),
            None => "  user: {}\n".to_string(),
        };
        let ns = opts
            .namespace
            .as_ref()
            .map(|n| format!("    namespace: {}\n", yaml_quote(n)))
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n{ns}current-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n{user}",
            server = yaml_quote(&self.base_url()),
        )
    }

    /// Write [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path, opts: &KubeconfigOptions) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(opts))
    }

    /// Stop accepting, end watch streams, close connections hung by the `hang` fault (without an
    /// answer), and wait (up to 5 s) for the other connections to finish.
    pub async fn shutdown(mut self) {
        self.shutdown_inner().await;
    }

    async fn shutdown_inner(&mut self) {
        let _ = self.shutdown_tx.send(true);
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(6), t).await;
        }
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = shared.shutdown.clone();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, _)) = r else { continue };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(stream);
                let sh = shared.clone();
                let svc = service_fn(move |req| crate::http::handle(sh.clone(), req));
                let conn = http1::Builder::new().timer(TokioTimer::new()).serve_connection(io, svc);
                let fut = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = fut.await;
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

async fn background(shared: Arc<Shared>, compaction: Option<Duration>) {
    let mut shutdown = shared.shutdown.clone();
    let mut last_rv = lock(&shared.store).rv();
    let mut next_compaction = compaction.map(|c| tokio::time::Instant::now() + c);
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            () = shared.clock.changed() => {}
            _ = shutdown.changed() => return,
        }
        shared.expire();
        if let (Some(at), Some(every)) = (next_compaction, compaction)
            && tokio::time::Instant::now() >= at
        {
            let mut st = lock(&shared.store);
            st.compact_to(last_rv);
            last_rv = st.rv();
            next_compaction = Some(at + every);
        }
    }
}
