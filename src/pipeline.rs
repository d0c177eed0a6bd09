//! The pipeline every judging command shares: load and check the state sources, list the
//! candidate pods, read the state of their tags, check the state against the pods' clocks, and
//! judge every pod.
//!
//! Owns: the order of those steps and the edges where the world comes in: the local clock (only
//! when no API server clock is available), the connections to the API servers (kept in the
//! result, so that `reap` deletes through the very connection that listed), and the source
//! health gate calls. Store files are checked, and live sources connected to (a ZooKeeper
//! ensemble is read whole), before any cluster is contacted; every source's records are read
//! after the pods are listed, keeping just those of candidate tags (ZooKeeper's files are read
//! then too, counting the registrations of other tags without keeping them). Must not: hold verdict
//! rules (`classify`), refusal rules (`gate`), formatting (`output`), or delete anything.

use std::collections::HashSet;

use jiff::Timestamp;
use tokio::time::Instant;

use crate::classify::{Judgement, classify};
use crate::config::{JudgeConfig, PodSource};
use crate::error::Error;
use crate::gate;
use crate::k8s::Namespaces;
use crate::k8s::cluster::{self, Connection};
use crate::k8s::request::RequestPolicy;
use crate::k8s::{Listing, file};
use crate::output::{Clock, ClockSource, Progress};
use crate::selector::LabelSelector;
use crate::state::sql::{self, SqlStore};
use crate::state::store::Store;
use crate::state::zk::live;
use crate::state::{EngineState, SourceSummary, zk};

/// Pods from one source, with the clock to judge them against and, for a cluster, the
/// connection they were listed through.
pub(crate) struct Group {
    /// The kubeconfig context (`None`: a pod file, or the in-cluster config).
    pub context: Option<String>,
    /// The connection that listed the pods; `None` for a pod file.
    pub connection: Option<Connection>,
    /// The candidate pods and those that could not be read.
    pub listing: Listing,
    /// The judging clock.
    pub now: Timestamp,
    /// Where the judging clock came from.
    pub clock_from: ClockSource,
    /// One judgement per pod of `listing.pods`, in order (empty until judged).
    pub judgements: Vec<Judgement>,
}

impl Group {
    /// The clock the group was judged against, as reports show it.
    #[must_use]
    pub(crate) fn clock(&self) -> Clock {
        Clock {
            context: self.context.clone(),
            now: self.now,
            from: self.clock_from,
        }
    }

    /// The candidate pods that could not be read, as reports list them.
    pub(crate) fn skipped(&self) -> impl Iterator<Item = String> + '_ {
        self.listing.invalid.iter().map(ToString::to_string)
    }

    /// The judging clock, as refusals name it.
    #[must_use]
    pub(crate) fn clock_label(&self) -> String {
        match (self.clock_from, &self.context) {
            (ClockSource::ApiServer, Some(context)) => format!("API server (context {context})"),
            (ClockSource::ApiServer, None) => "API server".to_string(),
            (ClockSource::Local, _) => "local".to_string(),
        }
    }
}

/// Every pod judged, by group, and the state sources that judged them.
pub(crate) struct Judged {
    /// The groups, in the order of the contexts.
    pub groups: Vec<Group>,
    /// The state sources that were loaded.
    pub sources: Vec<SourceSummary>,
}

impl Judged {
    /// Candidate pods judged, over all groups.
    #[must_use]
    pub(crate) fn candidates(&self) -> usize {
        self.groups.iter().map(|g| g.listing.pods.len()).sum()
    }
}

/// Runs the pipeline: sources, pods, state, gate, judgements. `deadline` bounds every API
/// request.
pub(crate) async fn judge(
    config: &JudgeConfig,
    progress: &Progress,
    deadline: Instant,
) -> Result<Judged, Error> {
    let started = std::time::Instant::now();
    let phase =
        |name: &str| tracing::debug!("{name} done at {:.3} s", started.elapsed().as_secs_f64());
    // 1. Check every state source before touching a cluster: a bad source fails fast, and
    //    nothing that follows can act on half-loaded state.
    let sources = open_sources(config).await?;
    phase("opening the state sources");

    // 2. List the candidate pods.
    let mut groups = list_pods(config, progress, deadline).await?;
    phase("listing the pods");

    // 3. Read the state, keeping the records of candidate tags only.
    let tags: HashSet<&str> = groups
        .iter()
        .flat_map(|g| g.listing.pods.iter().map(|p| p.tag.as_str()))
        .collect();
    let listed: Vec<&str> = if sources.needs_tag_list() {
        let mut listed: Vec<&str> = tags.iter().copied().collect();
        listed.sort_unstable();
        listed
    } else {
        Vec::new()
    };
    let (state, _) = sources.read(&|tag| tags.contains(tag), &listed).await?;
    drop(listed);
    drop(tags);
    phase("reading the state");

    // 4. The source health gate: a state that knows nothing, or whose as-of time lies ahead of
    //    a clock the pods are judged against, cannot judge anything.
    let candidates: usize = groups.iter().map(|g| g.listing.pods.len()).sum();
    let labels: Vec<String> = groups.iter().map(Group::clock_label).collect();
    let mut clocks: Vec<(&str, Timestamp)> = groups
        .iter()
        .zip(&labels)
        .map(|(g, label)| (label.as_str(), g.now))
        .collect();
    clocks.push(("local", Timestamp::now()));
    gate::state(&state, candidates, &clocks, config.allow_empty_state).map_err(Error::Refused)?;

    // 5. Judge each group against its own clock.
    for group in &mut groups {
        group.judgements = classify(&group.listing.pods, &state, &config.policy, group.now);
    }
    phase("judging");
    Ok(Judged {
        groups,
        sources: state.sources().to_vec(),
    })
}

/// The state sources of a run, checked and opened; their records are read once the candidate
/// tags are known.
pub(crate) struct Sources {
    /// The configuration they were opened with: its `--zk-snapshot`s are read with the records.
    config: JudgeConfig,
    /// Live ensembles, read whole.
    zookeeper: Vec<zk::ZkSource>,
    stores: Vec<Store>,
    /// Stores in database servers (with the redacted URL), each in its open read-only
    /// transaction.
    servers: Vec<(String, SqlStore)>,
}

/// What the gate checks of a ZooKeeper source, kept after its records are read: `watch` checks
/// its age again as time passes.
#[derive(Debug, Clone)]
pub(crate) struct ZkCheck {
    /// The source's name.
    pub name: String,
    /// Its as-of time.
    pub as_of: Timestamp,
    /// The engine spaces it holds.
    pub engine_spaces: Vec<String>,
    /// How many of them match an `--ha-namespace`.
    pub matching_spaces: usize,
}

impl ZkCheck {
    /// The source health gate for this source at `now`.
    pub(crate) fn check(
        &self,
        config: &JudgeConfig,
        now: Timestamp,
    ) -> Result<(), crate::error::Refusal> {
        gate::zookeeper(
            &gate::ZkFacts {
                source: &self.name,
                as_of: self.as_of,
                engine_spaces: &self.engine_spaces,
                matching_spaces: self.matching_spaces,
                ha_namespaces: &config.ha_namespaces,
            },
            now,
            config.policy.max_state_age,
        )
    }
}

/// Opens and checks every state source (design §4: a damaged or stale source refuses the run):
/// files first, then the live ensembles (each read whole), then the database servers (each
/// left in an open read-only transaction, whose start is its as-of time).
pub(crate) async fn open_sources(config: &JudgeConfig) -> Result<Sources, Error> {
    check_zookeeper_files(config)?;
    let stores = open_stores(config)?;
    let zookeeper = open_ensembles(config).await?;
    let servers = open_store_urls(config).await?;
    Ok(Sources {
        config: config.clone(),
        zookeeper,
        stores,
        servers,
    })
}

/// How `--zk` ensembles are read, with the `--zk-auth-file` read.
pub(crate) fn live_options(config: &JudgeConfig) -> Result<live::LiveOptions, Error> {
    let auth = match &config.zk_live.auth_file {
        Some(path) => Some(
            live::DigestAuth::from_file(path)
                .map_err(|e| Error::Usage(format!("--zk-auth-file: {e}")))?,
        ),
        None => None,
    };
    Ok(live::LiveOptions {
        timeout: config.zk_live.timeout,
        auth,
        tls: config.zk_live.tls.clone(),
        max_nodes: live::DEFAULT_MAX_NODES,
    })
}

/// The largest `--store-password-file` read.
const MAX_PASSWORD_FILE: u64 = 64 * 1024;

/// How `--store-url` servers are read: the password from `--store-password-file`, else from
/// `$KYUUBI_REAPER_STORE_PASSWORD`; a password in a URL is warned about.
pub(crate) fn sql_options(config: &JudgeConfig) -> Result<sql::SqlOptions, Error> {
    let password = match &config.store_password_file {
        Some(path) => Some(read_password_file(path)?),
        None => std::env::var(STORE_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty()),
    };
    for url in &config.store_urls {
        if url.has_password() {
            if password.is_some() {
                tracing::warn!(
                    "--store-url {url}: the password in the URL is ignored: the one from \
                     --store-password-file or ${STORE_PASSWORD_ENV} is used"
                );
            } else {
                tracing::warn!(
                    "--store-url {url}: a password in the URL can be read from the process list \
                     and shell history; pass it in ${STORE_PASSWORD_ENV} or \
                     --store-password-file instead"
                );
            }
        }
    }
    Ok(sql::SqlOptions {
        password,
        timeout: config.store_timeout,
        batch: sql::DEFAULT_BATCH,
    })
}

/// The environment variable holding the `--store-url` password.
pub(crate) const STORE_PASSWORD_ENV: &str = "KYUUBI_REAPER_STORE_PASSWORD";

/// The first line of a password file (bounded; an empty password is refused).
fn read_password_file(path: &std::path::Path) -> Result<String, Error> {
    let problem =
        |what: String| Error::Usage(format!("--store-password-file {}: {what}", path.display()));
    let bytes =
        crate::files::read_small(path, MAX_PASSWORD_FILE, "a password file").map_err(problem)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| problem("cannot read it (it is not UTF-8 text)".into()))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(problem("its first line is empty".into()));
    }
    Ok(line.to_string())
}

/// Reads every `--zk` ensemble whole and puts each through the same gate as the files.
async fn open_ensembles(config: &JudgeConfig) -> Result<Vec<zk::ZkSource>, Error> {
    if config.zk_ensembles.is_empty() {
        return Ok(Vec::new());
    }
    let options = live_options(config)?;
    let mut sources = Vec::new();
    for ensemble in &config.zk_ensembles {
        let tree = live::read(ensemble, &config.ha_namespaces, &options)
            .await
            .map_err(|source| Error::ReadZooKeeper {
                ensemble: ensemble.to_string(),
                source,
            })?;
        let source = zk::from_live(ensemble, tree, &config.ha_namespaces);
        check_zookeeper(config, &source)?;
        sources.push(source);
    }
    Ok(sources)
}

/// Connects to every `--store-url`, checks its tables and starts its read transaction.
async fn open_store_urls(config: &JudgeConfig) -> Result<Vec<(String, SqlStore)>, Error> {
    if config.store_urls.is_empty() {
        return Ok(Vec::new());
    }
    let options = sql_options(config)?;
    let mut stores = Vec::new();
    for url in &config.store_urls {
        let store = SqlStore::open(url, &options)
            .await
            .map_err(|source| Error::ReadStoreUrl {
                url: url.redacted(),
                source,
            })?;
        tracing::info!(
            "{}: layout {}, state as of {}",
            store.name(),
            store.layout(),
            store.as_of()
        );
        stores.push((url.redacted(), store));
    }
    Ok(stores)
}

impl Sources {
    /// Whether a source needs the candidate tags as a list (a database server is asked for
    /// them by name) rather than only a test of each tag.
    pub(crate) fn needs_tag_list(&self) -> bool {
        !self.servers.is_empty()
    }

    /// Reads the records of the tags `wanted` accepts from every source; database servers are
    /// asked for the tags of `listed` (which holds every tag `wanted` accepts when
    /// [`Self::needs_tag_list`]).
    ///
    /// ZooKeeper's files are read here, not when the sources are opened, so that only the
    /// candidate tags' registrations are kept (every one is counted); each source then goes
    /// through the gate, whose facts are returned for `watch` to check again as time passes.
    pub(crate) async fn read(
        self,
        wanted: &dyn Fn(&str) -> bool,
        listed: &[&str],
    ) -> Result<(EngineState, Vec<ZkCheck>), Error> {
        let mut state = EngineState::new();
        let mut zookeeper = Vec::new();
        for path in &self.config.zk_snapshots {
            zookeeper.push(read_zookeeper_file(&self.config, path, wanted)?);
        }
        zookeeper.extend(self.zookeeper);
        let checks = zookeeper
            .iter()
            .map(|source| ZkCheck {
                name: source.name(),
                as_of: source.as_of(),
                engine_spaces: source.engine_spaces().to_vec(),
                matching_spaces: source.matching_engine_spaces(),
            })
            .collect();
        for source in zookeeper {
            let name = source.name();
            let loaded = source.load_into(&mut state, wanted);
            tracing::info!(
                "{name}: {} engine registrations, {} live",
                loaded.registrations,
                loaded.live
            );
        }
        for store in &self.stores {
            store
                .load(&mut state, wanted)
                .map_err(|source| Error::LoadStore {
                    path: store.path().to_path_buf(),
                    source,
                })?;
        }
        for (url, server) in self.servers {
            server
                .load(&mut state, listed)
                .await
                .map_err(|source| Error::ReadStoreUrl { url, source })?;
        }
        Ok((state, checks))
    }
}

/// Checks that every `--zk-snapshot` can be opened; the files are read with the records.
fn check_zookeeper_files(config: &JudgeConfig) -> Result<(), Error> {
    for path in &config.zk_snapshots {
        zk::check_path(path).map_err(|source| Error::LoadZooKeeper {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Reads a `--zk-snapshot` whole (every seal checked), keeping the registrations of the tags
/// `wanted` accepts, and puts it through the gate: not stale, not from the future, and its
/// `--ha-namespace` matching the engine spaces the tree holds.
fn read_zookeeper_file(
    config: &JudgeConfig,
    path: &std::path::Path,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<zk::ZkSource, Error> {
    let log_dir = config.zk_log_dir.as_deref();
    let source =
        zk::open(path, log_dir, &config.ha_namespaces, Some(wanted)).map_err(|source| {
            Error::LoadZooKeeper {
                path: path.to_path_buf(),
                source,
            }
        })?;
    check_zookeeper(config, &source)?;
    Ok(source)
}

/// Logs a ZooKeeper source's as-of time and puts it through the gate.
fn check_zookeeper(config: &JudgeConfig, source: &zk::ZkSource) -> Result<(), Error> {
    let as_of = source.as_of();
    let name = source.name();
    tracing::info!("{name}: state as of {as_of}");
    if source.engine_spaces().is_empty() {
        tracing::warn!(
            "{name} holds no Kyuubi engine space (/<ns>_<version>_<LEVEL>_<TYPE>) at all: it \
             cannot tell whether an interactive engine is registered, so it never makes a \
             running pod an unregistered-running suspect"
        );
    }
    let check = ZkCheck {
        name,
        as_of,
        engine_spaces: source.engine_spaces().to_vec(),
        matching_spaces: source.matching_engine_spaces(),
    };
    check
        .check(config, Timestamp::now())
        .map_err(Error::Refused)
}

/// Checks every `--store` (exists, SQLite, a Kyuubi layout) and fixes its as-of time; the rows
/// are read once the candidate tags are known.
fn open_stores(config: &JudgeConfig) -> Result<Vec<Store>, Error> {
    let stores = config
        .stores
        .iter()
        .map(|path| {
            Store::open(path).map_err(|source| Error::LoadStore {
                path: path.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for store in &stores {
        tracing::info!(
            "store {}: layout {}",
            store.path().display(),
            store.layout()
        );
    }
    Ok(stores)
}

/// Lists the candidate pods of every source the configuration names.
pub(crate) async fn list_pods(
    config: &JudgeConfig,
    progress: &Progress,
    deadline: Instant,
) -> Result<Vec<Group>, Error> {
    match &config.pods {
        PodSource::File {
            path,
            scope,
            max_size,
        } => {
            let listing =
                file::read(path, &config.selector, scope, *max_size).map_err(|source| {
                    Error::ReadPods {
                        path: path.clone(),
                        source,
                    }
                })?;
            Ok(vec![Group {
                context: None,
                connection: None,
                listing,
                now: Timestamp::now(),
                clock_from: ClockSource::Local,
                judgements: Vec::new(),
            }])
        }
        PodSource::Cluster {
            kubeconfig,
            contexts,
            namespaces,
        } => {
            let mut groups = Vec::new();
            for context in contexts {
                groups.push(
                    list_context(
                        kubeconfig.as_deref(),
                        context.as_deref(),
                        namespaces,
                        &config.selector,
                        config.requests,
                        deadline,
                        progress,
                    )
                    .await?,
                );
            }
            progress.finish();
            Ok(groups)
        }
    }
}

/// Connects to one context and lists its candidate pods.
pub(crate) async fn list_context(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    namespaces: &Namespaces,
    selector: &LabelSelector,
    policy: RequestPolicy,
    deadline: Instant,
    progress: &Progress,
) -> Result<Group, Error> {
    let connection = cluster::connect(kubeconfig, context, policy, deadline).await?;
    let name = connection.context.clone();
    let label = name.clone().unwrap_or_else(|| "in-cluster".into());
    let listing = cluster::list_candidates(&connection, namespaces, selector, &|scope, n| {
        progress.message(format!("listing pods: {label}, {scope}: {n} candidates"));
    })
    .await?;
    let (now, clock_from) = match listing.server_time {
        Some(t) => (t, ClockSource::ApiServer),
        None => (Timestamp::now(), ClockSource::Local),
    };
    tracing::info!(
        "context {label}: {} candidate pods, clock {now} ({})",
        listing.pods.len(),
        clock_from.as_str()
    );
    Ok(Group {
        context: name,
        connection: Some(connection),
        listing,
        now,
        clock_from,
        judgements: Vec::new(),
    })
}
