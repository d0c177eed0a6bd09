//! The pipeline every judging command shares: load and check the state sources, list the
//! candidate pods, read the state of their tags, check the state against the pods' clocks, and
//! judge every pod.
//!
//! Owns: the order of those steps and the edges where the world comes in: the local clock (only
//! when no API server clock is available), the connections to the API servers (kept in the
//! result, so that `reap` deletes through the very connection that listed), and the source
//! health gate calls. Store files are checked before any cluster is contacted, and read only
//! after the pods are listed, keeping just the rows for candidate tags. Must not: hold verdict
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
use crate::state::store::Store;
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
    let sources = open_sources(config)?;
    phase("opening the state sources");

    // 2. List the candidate pods.
    let mut groups = list_pods(config, progress, deadline).await?;
    phase("listing the pods");

    // 3. Read the state, keeping the records of candidate tags only.
    let tags: HashSet<&str> = groups
        .iter()
        .flat_map(|g| g.listing.pods.iter().map(|p| p.tag.as_str()))
        .collect();
    let state = sources.read(&|tag| tags.contains(tag))?;
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
    zookeeper: Vec<zk::ZkSource>,
    stores: Vec<Store>,
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

/// Opens and checks every state source (design §4: a damaged or stale source refuses the run).
pub(crate) fn open_sources(config: &JudgeConfig) -> Result<Sources, Error> {
    Ok(Sources {
        zookeeper: open_zookeeper(config)?,
        stores: open_stores(config)?,
    })
}

impl Sources {
    /// The gate's facts of the ZooKeeper sources.
    pub(crate) fn zk_checks(&self) -> Vec<ZkCheck> {
        self.zookeeper
            .iter()
            .map(|source| ZkCheck {
                name: source.name(),
                as_of: source.as_of(),
                engine_spaces: source.engine_spaces().to_vec(),
                matching_spaces: source.matching_engine_spaces(),
            })
            .collect()
    }

    /// Reads the records of the tags `wanted` accepts from every source.
    pub(crate) fn read(self, wanted: &dyn Fn(&str) -> bool) -> Result<EngineState, Error> {
        let mut state = EngineState::new();
        for source in self.zookeeper {
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
        Ok(state)
    }
}

/// Reads every `--zk-snapshot` whole (every seal checked; memory follows the engine spaces, not
/// the tree) and puts each through the gate: not stale, not from the future, and its
/// `--ha-namespace` matching the engine spaces the tree holds.
fn open_zookeeper(config: &JudgeConfig) -> Result<Vec<zk::ZkSource>, Error> {
    let mut sources = Vec::new();
    for path in &config.zk_snapshots {
        let log_dir = config.zk_log_dir.as_deref();
        let source = zk::open(path, log_dir, &config.ha_namespaces).map_err(|source| {
            Error::LoadZooKeeper {
                path: path.clone(),
                source,
            }
        })?;
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
            .map_err(Error::Refused)?;
        sources.push(source);
    }
    Ok(sources)
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
