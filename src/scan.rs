//! The `scan` pipeline: load state, list pods, classify, gate, report.
//!
//! Owns: the order of the steps and the edges where the world comes in: the local clock (only
//! when no API server clock is available), the tokio runtime for cluster calls, stdout for the
//! report and stderr for the summary. Store files are checked before any cluster is contacted,
//! and read only after the pods are listed, keeping just the rows for candidate tags. Must not:
//! hold verdict rules (those are in `classify`) or formatting (in `output`).

use std::collections::HashSet;
use std::io::Write;

use jiff::Timestamp;

use crate::classify::{Verdict, classify};
use crate::config::{PodSource, Presentation, ScanConfig, Verbosity};
use crate::error::{Error, ExitCode};
use crate::gate;
use crate::k8s::cluster::{self, Namespaces};
use crate::k8s::{Listing, file};
use crate::output::{Clock, PodReport, Progress, Report, render};
use crate::selector::LabelSelector;
use crate::state::EngineState;
use crate::state::store::Store;
use crate::state::zk;

/// Pods from one source, with the clock to judge them against.
struct Group {
    context: Option<String>,
    listing: Listing,
    now: Timestamp,
    clock_from: &'static str,
}

impl Group {
    /// The judging clock, as refusals name it.
    fn clock_label(&self) -> String {
        match (self.clock_from, &self.context) {
            ("api-server", Some(context)) => format!("API server (context {context})"),
            ("api-server", None) => "API server".to_string(),
            _ => "local".to_string(),
        }
    }
}

/// Runs a scan and writes the report to `out`. Returns the exit code the findings call for.
pub fn run(
    config: &ScanConfig,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<ExitCode, Error> {
    // 1. Check every state source before touching a cluster: a bad source fails fast, and
    //    nothing that follows can act on half-loaded state.
    let zookeeper = open_zookeeper(config)?;
    let stores = open_stores(config)?;

    // 2. List the candidate pods.
    let groups = list_pods(config, presentation)?;

    // 3. Read the state, keeping the records of candidate tags only.
    let tags: HashSet<&str> = groups
        .iter()
        .flat_map(|g| g.listing.pods.iter().map(|p| p.tag.as_str()))
        .collect();
    let mut state = EngineState::new();
    for source in zookeeper {
        let name = source.name();
        let loaded = source.load_into(&mut state, &|tag| tags.contains(tag));
        tracing::info!(
            "{name}: {} engine registrations, {} live",
            loaded.registrations,
            loaded.live
        );
    }
    for store in &stores {
        store
            .load(&mut state, &|tag| tags.contains(tag))
            .map_err(|source| Error::LoadStore {
                path: store.path().to_path_buf(),
                source,
            })?;
    }

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
    let report = judge(groups, &state, config);

    // 6. Report: data on stdout, the summary on stderr.
    let width = presentation
        .stdout_is_terminal
        .then(terminal_width)
        .flatten();
    render(&report, config.format, presentation.color, width, out).map_err(Error::WriteReport)?;
    out.flush().map_err(Error::WriteReport)?;
    if presentation.verbosity != Verbosity::Quiet {
        eprintln!("{}", report.summary_line());
    }

    let orphans = report.pods.iter().any(|p| p.verdict == Verdict::Orphan);
    let suspects = report.pods.iter().any(|p| p.verdict == Verdict::Suspect);
    Ok(
        if (config.fail_on_orphans && orphans) || (config.fail_on_suspects && suspects) {
            ExitCode::Findings
        } else {
            ExitCode::Success
        },
    )
}

/// Reads every `--zk-snapshot` whole (every seal checked; memory follows the engine spaces, not
/// the tree) and puts each through the gate: not stale, not from the future, and its
/// `--ha-namespace` matching the engine spaces the tree holds.
fn open_zookeeper(config: &ScanConfig) -> Result<Vec<zk::ZkSource>, Error> {
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
        gate::zookeeper(
            &gate::ZkFacts {
                source: &name,
                as_of,
                engine_spaces: source.engine_spaces(),
                matching_spaces: source.matching_engine_spaces(),
                ha_namespaces: &config.ha_namespaces,
            },
            Timestamp::now(),
            config.policy.max_state_age,
        )
        .map_err(Error::Refused)?;
        sources.push(source);
    }
    Ok(sources)
}

/// Checks every `--store` (exists, SQLite, a Kyuubi layout) and fixes its as-of time; the rows
/// are read once the candidate tags are known.
fn open_stores(config: &ScanConfig) -> Result<Vec<Store>, Error> {
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

/// Classifies every group against its own clock and builds the report.
fn judge(groups: Vec<Group>, state: &EngineState, config: &ScanConfig) -> Report {
    let mut pods = Vec::new();
    let mut clocks = Vec::new();
    let mut skipped = Vec::new();
    for group in groups {
        let judgements = classify(&group.listing.pods, state, &config.policy, group.now);
        pods.extend(
            group
                .listing
                .pods
                .iter()
                .zip(judgements)
                .map(|(pod, j)| PodReport::new(pod, j, group.now)),
        );
        skipped.extend(group.listing.invalid.iter().map(ToString::to_string));
        clocks.push(Clock {
            context: group.context,
            now: group.now,
            from: group.clock_from,
        });
    }
    Report::new(pods, state.sources().to_vec(), clocks, skipped)
}

/// The terminal's width, when it can be told.
fn terminal_width() -> Option<u16> {
    let table = comfy_table::Table::new();
    table.width()
}

fn list_pods(config: &ScanConfig, presentation: Presentation) -> Result<Vec<Group>, Error> {
    match &config.pods {
        PodSource::File { path, scope } => {
            let listing =
                file::read(path, &config.selector, scope).map_err(|source| Error::ReadPods {
                    path: path.clone(),
                    source,
                })?;
            Ok(vec![Group {
                context: None,
                listing,
                now: Timestamp::now(),
                clock_from: "local",
            }])
        }
        PodSource::Cluster {
            kubeconfig,
            contexts,
            namespaces,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))?;
            let progress = Progress::new(presentation.progress);
            let result = runtime.block_on(list_cluster(
                kubeconfig.as_deref(),
                contexts,
                namespaces,
                &config.selector,
                &progress,
            ));
            progress.finish();
            result
        }
    }
}

async fn list_cluster(
    kubeconfig: Option<&std::path::Path>,
    contexts: &[Option<String>],
    namespaces: &Namespaces,
    selector: &LabelSelector,
    progress: &Progress,
) -> Result<Vec<Group>, Error> {
    let mut groups = Vec::new();
    for context in contexts {
        let connection = cluster::connect(kubeconfig, context.as_deref()).await?;
        let name = connection.context.clone();
        let label = name.clone().unwrap_or_else(|| "in-cluster".into());
        let listing = cluster::list_candidates(&connection, namespaces, selector, &|scope, n| {
            progress.message(format!("listing pods: {label}, {scope}: {n} candidates"));
        })
        .await?;
        let (now, clock_from) = match listing.server_time {
            Some(t) => (t, "api-server"),
            None => (Timestamp::now(), "local"),
        };
        tracing::info!(
            "context {label}: {} candidate pods, clock {now} ({clock_from})",
            listing.pods.len()
        );
        groups.push(Group {
            context: name,
            listing,
            now,
            clock_from,
        });
    }
    Ok(groups)
}
