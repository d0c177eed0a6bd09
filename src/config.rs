//! Resolves what was typed into what the core runs with.
//!
//! Owns: [`JudgeConfig::from_args`], [`ScanConfig::from_args`] and [`ReapConfig::from_args`],
//! the single translation from clap's types to the core's (state sources, pod source and
//! namespace scope, label selector, [`Policy`], request policy, delete mode and limits, output
//! format) and the decision, made once, whether to colour and show progress. Every rule
//! about how flags combine lives here and is unit-tested here. Must not: do I/O beyond asking
//! whether stdout and stderr are terminals.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::classify::{Policy, SuspectClass};
use crate::cli::{
    ColorArg, DryRunArg, GlobalArgs, JudgeArgs, OutputArg, ReapArgs, ScanArgs, WatchArgs,
};
use crate::error::Error;
use crate::k8s::Namespaces;
use crate::k8s::request::RequestPolicy;
use crate::output::Format;
use crate::selector::LabelSelector;
use crate::state::sql::StoreUrl;
use crate::state::zk::live::{Ensemble, TlsFiles};

/// Where pods come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PodSource {
    /// A saved pod list (`--pods`).
    File {
        /// The file, or `-` for standard input.
        path: PathBuf,
        /// Which namespaces of the file to judge.
        scope: Namespaces,
        /// `--max-pod-file-size`.
        max_size: u64,
    },
    /// A live cluster.
    Cluster {
        /// `--kubeconfig`.
        kubeconfig: Option<PathBuf>,
        /// The contexts to list; `None` is the current context.
        contexts: Vec<Option<String>>,
        /// Which namespaces to list in each.
        namespaces: Namespaces,
    },
}

/// How chatty stderr is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verbosity {
    /// Errors only.
    Quiet,
    /// Warnings and the summary line.
    Normal,
    /// More logs: 1 info, 2 debug, 3+ trace.
    Verbose(u8),
}

/// Presentation decided once for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // four independent yes/no decisions, not a state machine
pub(crate) struct Presentation {
    /// Colour stdout's table.
    pub color: bool,
    /// Colour the logs on stderr.
    pub log_color: bool,
    /// stdout is a terminal (wrap the table to its width).
    pub stdout_is_terminal: bool,
    /// Show progress on stderr.
    pub progress: bool,
    /// How chatty stderr is.
    pub verbosity: Verbosity,
}

impl Presentation {
    /// Decides colour, progress and verbosity from the global flags, `NO_COLOR` (any non-empty
    /// value, see <https://no-color.org>) and whether the streams are terminals.
    #[must_use]
    pub(crate) fn resolve(
        global: &GlobalArgs,
        no_color: Option<&str>,
        stdout_is_terminal: bool,
        stderr_is_terminal: bool,
    ) -> Self {
        // The same rule for both streams, each judged by whether it is a terminal.
        let colour = |is_terminal: bool| match global.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => is_terminal && no_color.is_none_or(str::is_empty),
        };
        let verbosity = match (global.quiet, global.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        };
        Self {
            color: colour(stdout_is_terminal),
            log_color: colour(stderr_is_terminal),
            stdout_is_terminal,
            progress: stderr_is_terminal && verbosity != Verbosity::Quiet,
            verbosity,
        }
    }

    /// [`Presentation::resolve`] with the real environment.
    #[must_use]
    pub(crate) fn from_env(global: &GlobalArgs) -> Self {
        let no_color = std::env::var("NO_COLOR").ok();
        Self::resolve(
            global,
            no_color.as_deref(),
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        )
    }
}

/// What every judging command needs, resolved: where the state and the pods come from, how
/// pods are judged, how API requests are made.
#[derive(Debug, Clone)]
pub(crate) struct JudgeConfig {
    /// Metadata store files.
    pub stores: Vec<PathBuf>,
    /// ZooKeeper snapshot files or data directories.
    pub zk_snapshots: Vec<PathBuf>,
    /// ZooKeeper's `dataLogDir`, for the one `--zk-snapshot`.
    pub zk_log_dir: Option<PathBuf>,
    /// Metadata stores in database servers (`--store-url`).
    pub store_urls: Vec<StoreUrl>,
    /// `--store-password-file`, read when the stores are opened (with
    /// `$KYUUBI_REAPER_STORE_PASSWORD` as the fallback).
    pub store_password_file: Option<PathBuf>,
    /// `--store-timeout`.
    pub store_timeout: std::time::Duration,
    /// Live ZooKeeper ensembles (`--zk`).
    pub zk_ensembles: Vec<Ensemble>,
    /// How the ensembles are read: timeout, TLS, the auth file (read when they are opened).
    pub zk_live: ZkLiveConfig,
    /// `kyuubi.ha.namespace` values whose engine spaces are read.
    pub ha_namespaces: Vec<String>,
    /// Judge even when the state knows no engine.
    pub allow_empty_state: bool,
    /// Where pods come from.
    pub pods: PodSource,
    /// The candidate selector, with `--selector` ANDed in.
    pub selector: LabelSelector,
    /// The verdict policy.
    pub policy: Policy,
    /// Timeouts, retries and the deadline of API requests.
    pub requests: RequestPolicy,
}

impl JudgeConfig {
    /// Resolves the shared judging flags.
    pub(crate) fn from_args(args: &JudgeArgs) -> Result<Self, Error> {
        let selector =
            LabelSelector::candidates(args.pods.selector.as_deref()).map_err(|source| {
                Error::ParseSelector {
                    selector: args.pods.selector.clone().unwrap_or_default(),
                    source,
                }
            })?;
        let mut include = Vec::new();
        for name in &args.policy.include {
            let class =
                SuspectClass::parse(name).map_err(|e| Error::Usage(format!("--include: {e}")))?;
            if !include.contains(&class) {
                include.push(class);
            }
        }
        let namespaces = dedup(&args.pods.namespace);
        if namespaces.iter().any(String::is_empty) {
            return Err(Error::Usage("--namespace must not be empty".into()));
        }
        let pods = match &args.pods.pods {
            Some(path) => PodSource::File {
                path: path.clone(),
                scope: if namespaces.is_empty() {
                    Namespaces::All
                } else {
                    Namespaces::Only(namespaces)
                },
                max_size: args.pods.max_pod_file_size,
            },
            None => PodSource::Cluster {
                kubeconfig: args.pods.kubeconfig.clone(),
                contexts: if args.pods.context.is_empty() {
                    vec![None]
                } else {
                    dedup(&args.pods.context).into_iter().map(Some).collect()
                },
                namespaces: if args.pods.all_namespaces {
                    Namespaces::All
                } else if namespaces.is_empty() {
                    Namespaces::ContextDefault
                } else {
                    Namespaces::Only(namespaces)
                },
            },
        };
        let ha_namespaces = dedup(&args.state.ha_namespace)
            .into_iter()
            .map(|ns| ns.trim_matches('/').to_string())
            .collect::<Vec<_>>();
        if ha_namespaces.iter().any(String::is_empty) {
            return Err(Error::Usage("--ha-namespace must not be empty".into()));
        }
        if args.state.zk_log_dir.is_some() && args.state.zk_snapshot.len() > 1 {
            return Err(Error::Usage(
                "--zk-log-dir goes with exactly one --zk-snapshot: whose logs would they be?"
                    .into(),
            ));
        }
        let (store_urls, zk_ensembles) = live_sources(&args.state)?;
        let zk_live = ZkLiveConfig {
            timeout: std_duration(args.state.zk_timeout),
            auth_file: args.state.zk_auth_file.clone(),
            tls: args.state.zk_tls_ca.clone().map(|ca| TlsFiles {
                ca,
                cert: args.state.zk_tls_cert.clone(),
                key: args.state.zk_tls_key.clone(),
            }),
        };
        Ok(Self {
            stores: args.state.store.clone(),
            zk_snapshots: args.state.zk_snapshot.clone(),
            zk_log_dir: args.state.zk_log_dir.clone(),
            store_urls,
            store_password_file: args.state.store_password_file.clone(),
            store_timeout: std_duration(args.state.store_timeout),
            zk_ensembles,
            zk_live,
            ha_namespaces,
            allow_empty_state: args.state.allow_empty_state,
            pods,
            selector,
            policy: Policy {
                retain: args.policy.retain,
                keep_failed: args.policy.keep_failed,
                require_record: args.policy.require_record,
                include,
                stuck_after: args.policy.stuck_after,
                engine_start_timeout: args.policy.engine_start_timeout,
                max_state_age: args.state.max_state_age,
            },
            requests: RequestPolicy {
                timeout: std_duration(args.requests.request_timeout),
                max_retries: args.requests.max_retries,
                deadline: std_duration(args.requests.deadline),
                max_body: args.requests.max_page_size,
            },
        })
    }
}

/// How `--zk` ensembles are read; files are read when the ensembles are opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ZkLiveConfig {
    /// `--zk-timeout`: the whole read of one ensemble.
    pub timeout: std::time::Duration,
    /// `--zk-auth-file`.
    pub auth_file: Option<PathBuf>,
    /// `--zk-tls-ca`, with `--zk-tls-cert` and `--zk-tls-key`.
    pub tls: Option<TlsFiles>,
}

/// Parses the `--store-url` and `--zk` values, each named in its error.
fn live_sources(args: &crate::cli::StateArgs) -> Result<(Vec<StoreUrl>, Vec<Ensemble>), Error> {
    let mut urls = Vec::new();
    for url in dedup(&args.store_url) {
        let parsed = StoreUrl::parse(&url).map_err(|e| {
            // The message may quote the URL: never with its password.
            Error::Usage(format!("--store-url: {e}"))
        })?;
        urls.push(parsed);
    }
    let mut ensembles = Vec::new();
    for connect in dedup(&args.zk) {
        let parsed =
            Ensemble::parse(&connect).map_err(|e| Error::Usage(format!("--zk {connect}: {e}")))?;
        ensembles.push(parsed);
    }
    Ok((urls, ensembles))
}

/// A positive duration from the command line as a `std` one (clap's parsers only let positive
/// ones through).
fn std_duration(d: jiff::SignedDuration) -> std::time::Duration {
    std::time::Duration::try_from(d).unwrap_or_default()
}

fn format(output: OutputArg) -> Format {
    match output {
        OutputArg::Table => Format::Table,
        OutputArg::Json => Format::Json,
        OutputArg::Yaml => Format::Yaml,
        OutputArg::Name => Format::Name,
    }
}

/// Everything `scan` needs, resolved.
#[derive(Debug, Clone)]
pub(crate) struct ScanConfig {
    /// Sources, pods, policy and requests.
    pub judge: JudgeConfig,
    /// The report format.
    pub format: Format,
    /// Exit 1 when orphans are found.
    pub fail_on_orphans: bool,
    /// Exit 1 when suspects are found.
    pub fail_on_suspects: bool,
}

impl ScanConfig {
    /// Resolves `scan`'s flags.
    pub(crate) fn from_args(args: &ScanArgs) -> Result<Self, Error> {
        Ok(Self {
            judge: JudgeConfig::from_args(&args.judge)?,
            format: format(args.output),
            fail_on_orphans: args.fail_on_orphans,
            fail_on_suspects: args.fail_on_suspects,
        })
    }
}

/// Whether deletes are sent (design §4: the one dry-run decision, carried to the executor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeleteMode {
    /// Send the DELETEs.
    Send,
    /// `--dry-run` / `--dry-run=client`: send nothing.
    DryRunClient,
    /// `--dry-run=server`: send every DELETE with `dryRun=All`.
    DryRunServer,
}

impl DeleteMode {
    /// Whether nothing will be removed.
    #[must_use]
    pub(crate) fn is_dry_run(self) -> bool {
        self != DeleteMode::Send
    }

    /// As the report and the audit log spell it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeleteMode::Send => "delete",
            DeleteMode::DryRunClient => "dry-run-client",
            DeleteMode::DryRunServer => "dry-run-server",
        }
    }
}

/// The blast-radius limits of the safety gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlastRadius {
    /// `--max-deletions`.
    pub max_deletions: usize,
    /// `--max-orphan-ratio`.
    pub max_orphan_ratio: f64,
}

/// How fast deletes go out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pace {
    /// `--qps` per API server.
    pub qps: f64,
    /// `--burst`.
    pub burst: u32,
    /// `--concurrency`, over all contexts.
    pub concurrency: usize,
}

/// A reviewed plan to apply (`--plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlanInput {
    /// The `scan -o json` report.
    pub path: PathBuf,
    /// `--max-plan-age`.
    pub max_age: jiff::SignedDuration,
}

/// Everything `reap` needs, resolved.
#[derive(Debug, Clone)]
pub(crate) struct ReapConfig {
    /// Sources, pods (always a cluster), policy and requests.
    pub judge: JudgeConfig,
    /// A plan to apply instead of judging from state sources.
    pub plan: Option<PlanInput>,
    /// Send, or which dry run.
    pub mode: DeleteMode,
    /// `--yes`.
    pub yes: bool,
    /// The blast-radius limits.
    pub blast_radius: BlastRadius,
    /// Rate limit and concurrency.
    pub pace: Pace,
    /// `--grace-period` for pods that still run.
    pub grace_period: Option<u32>,
    /// `--audit-log`.
    pub audit_log: Option<PathBuf>,
    /// The report format.
    pub format: Format,
}

impl ReapConfig {
    /// Resolves `reap`'s flags. A pod file is refused: it names no cluster to delete from.
    pub(crate) fn from_args(args: &ReapArgs) -> Result<Self, Error> {
        if let Some(path) = &args.judge.pods.pods {
            return Err(Error::Usage(format!(
                "reap cannot take --pods {}: a pod file names no cluster to delete from. Use \
                 `scan --pods` to judge a file, or reap from the cluster (--kubeconfig, \
                 --context)",
                path.display()
            )));
        }
        let d = &args.delete;
        Ok(Self {
            judge: JudgeConfig::from_args(&args.judge)?,
            plan: args.plan.clone().map(|path| PlanInput {
                path,
                max_age: args.max_plan_age,
            }),
            mode: delete_mode(d.dry_run),
            yes: d.yes,
            blast_radius: BlastRadius {
                max_deletions: d.max_deletions,
                max_orphan_ratio: d.max_orphan_ratio,
            },
            pace: Pace {
                qps: d.qps,
                burst: d.burst,
                concurrency: usize::from(d.concurrency),
            },
            grace_period: d.grace_period,
            audit_log: d.audit_log.clone(),
            format: format(args.output),
        })
    }
}

/// Leader election among `watch` replicas (`--leader-elect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeaderConfig {
    /// The Lease's name.
    pub lease_name: String,
    /// The Lease's namespace; `None`: the first context's namespace.
    pub lease_namespace: Option<String>,
    /// How long the lease holds without renewal.
    pub lease_duration: std::time::Duration,
    /// This replica's identity.
    pub identity: String,
}

/// Everything `watch` needs, resolved.
#[derive(Debug, Clone)]
pub(crate) struct WatchConfig {
    /// Sources, pods (always a cluster), policy and requests; `requests.deadline` bounds each
    /// round of deletes.
    pub judge: JudgeConfig,
    /// Send, or which dry run.
    pub mode: DeleteMode,
    /// The blast-radius limits; `max_deletions` counts over `window`.
    pub blast_radius: BlastRadius,
    /// The sliding window of `max_deletions`.
    pub window: std::time::Duration,
    /// Rate limit and concurrency.
    pub pace: Pace,
    /// `--grace-period` for pods that still run.
    pub grace_period: Option<u32>,
    /// `--audit-log`.
    pub audit_log: Option<PathBuf>,
    /// The HTTP server's address.
    pub listen: std::net::SocketAddr,
    /// Full relist and state reload interval.
    pub resync: std::time::Duration,
    /// State file polling interval.
    pub state_poll: std::time::Duration,
    /// How often `--store-url` servers are asked whether their tables changed.
    pub store_poll: std::time::Duration,
    /// Leader election, when on.
    pub leader: Option<LeaderConfig>,
}

impl WatchConfig {
    /// Resolves `watch`'s flags. A pod file is refused, and deleting needs `--yes`.
    pub(crate) fn from_args(args: &WatchArgs) -> Result<Self, Error> {
        if let Some(path) = &args.judge.pods.pods {
            return Err(Error::Usage(format!(
                "watch cannot take --pods {}: it watches the pods of a cluster (--kubeconfig, \
                 --context)",
                path.display()
            )));
        }
        let d = &args.delete;
        let mode = delete_mode(d.dry_run);
        if !mode.is_dry_run() && !d.yes {
            return Err(Error::Usage(
                "watch deletes orphans as it finds them, with no terminal to ask on: pass --yes \
                 to delete (or --dry-run to see what it would delete)"
                    .into(),
            ));
        }
        let s = &args.service;
        let leader = s.leader_elect.then(|| LeaderConfig {
            lease_name: s.lease_name.clone(),
            lease_namespace: s.lease_namespace.clone(),
            lease_duration: std_duration(s.lease_duration),
            identity: s.lease_identity.clone().unwrap_or_else(default_identity),
        });
        if let Some(leader) = &leader {
            if leader.lease_duration < std::time::Duration::from_secs(3) {
                return Err(Error::Usage(
                    "--lease-duration must be at least 3s: the leader renews at a seventh of it"
                        .into(),
                ));
            }
            if leader.identity.is_empty() || leader.lease_name.is_empty() {
                return Err(Error::Usage(
                    "--lease-name and --lease-identity must not be empty".into(),
                ));
            }
        }
        Ok(Self {
            judge: JudgeConfig::from_args(&args.judge)?,
            mode,
            blast_radius: BlastRadius {
                max_deletions: d.max_deletions,
                max_orphan_ratio: d.max_orphan_ratio,
            },
            window: std_duration(s.window),
            pace: Pace {
                qps: d.qps,
                burst: d.burst,
                concurrency: usize::from(d.concurrency),
            },
            grace_period: d.grace_period,
            audit_log: d.audit_log.clone(),
            listen: s.listen,
            resync: std_duration(s.resync),
            state_poll: std_duration(s.state_poll),
            store_poll: std_duration(s.store_poll),
            leader,
        })
    }
}

/// `$POD_NAME` (set by the manifests), else the host name, with a random suffix: two replicas
/// on one host, or a restarted pod, are never taken for the holder they replace.
fn default_identity() -> String {
    let base = std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "kyuubi-reaper".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{base}_{}", &suffix[..8])
}

fn delete_mode(dry_run: Option<DryRunArg>) -> DeleteMode {
    match dry_run {
        None => DeleteMode::Send,
        Some(DryRunArg::Client) => DeleteMode::DryRunClient,
        Some(DryRunArg::Server) => DeleteMode::DryRunServer,
    }
}

/// The values in the order given, without repeats.
fn dedup(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use jiff::SignedDuration;

    fn scan(args: &[&str]) -> Result<ScanConfig, Error> {
        let cli = Cli::try_parse_from(
            ["kyuubi-reaper", "scan", "--store", "s.db"]
                .iter()
                .chain(args),
        )
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Command::Scan(scan) => ScanConfig::from_args(&scan),
            _ => unreachable!(),
        }
    }

    fn parse_error(args: &[&str]) -> String {
        Cli::try_parse_from(["kyuubi-reaper"].iter().chain(args))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = scan(&[]).unwrap();
        assert_eq!(c.judge.policy, Policy::default());
        assert_eq!(c.format, Format::Table);
        assert_eq!(c.judge.stores, [PathBuf::from("s.db")]);
        assert_eq!(
            c.judge.pods,
            PodSource::Cluster {
                kubeconfig: None,
                contexts: vec![None],
                namespaces: Namespaces::ContextDefault
            }
        );
        assert_eq!(
            c.judge.selector.to_string(),
            "kyuubi-unique-tag,spark-app-selector,spark-role=driver"
        );
        assert!(!c.fail_on_orphans && !c.fail_on_suspects && !c.judge.allow_empty_state);
        assert_eq!(c.judge.ha_namespaces, ["kyuubi"]);
        assert!(c.judge.zk_snapshots.is_empty());
    }

    #[test]
    fn zookeeper_sources() {
        let cli = Cli::try_parse_from([
            "kyuubi-reaper",
            "scan",
            "--zk-snapshot",
            "/var/lib/zookeeper",
            "--ha-namespace",
            "/prod/kyuubi/",
            "--ha-namespace",
            "kyuubi",
            "--max-state-age",
            "2h",
        ])
        .unwrap();
        let Command::Scan(args) = cli.command else {
            unreachable!()
        };
        let c = ScanConfig::from_args(&args).unwrap();
        assert!(c.judge.stores.is_empty());
        assert_eq!(c.judge.zk_snapshots, [PathBuf::from("/var/lib/zookeeper")]);
        assert_eq!(c.judge.ha_namespaces, ["prod/kyuubi", "kyuubi"]);
        assert_eq!(c.judge.policy.max_state_age, SignedDuration::from_hours(2));
        assert_eq!(c.judge.zk_log_dir, None);
    }

    #[test]
    fn a_zookeeper_log_dir_belongs_to_one_snapshot() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(["kyuubi-reaper", "scan"].iter().chain(args)).unwrap();
            let Command::Scan(args) = cli.command else {
                unreachable!()
            };
            ScanConfig::from_args(&args)
        };
        let c = parse(&["--zk-snapshot", "/data", "--zk-log-dir", "/logs"]).unwrap();
        assert_eq!(c.judge.zk_log_dir, Some(PathBuf::from("/logs")));
        let e = parse(&[
            "--zk-snapshot",
            "/a",
            "--zk-snapshot",
            "/b",
            "--zk-log-dir",
            "/logs",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("exactly one --zk-snapshot"), "{e}");
        assert!(
            parse_error(&["scan", "--store", "s", "--zk-log-dir", "/logs"])
                .contains("--zk-snapshot")
        );
    }

    #[test]
    fn policy_flags() {
        let c = scan(&[
            "--retain",
            "1h",
            "--keep-failed",
            "--require-record",
            "--stuck-after",
            "2h",
            "--engine-start-timeout",
            "PT3M",
            "--include",
            "stuck-pending,leaked-running",
            "--include",
            "stuck-pending",
        ])
        .unwrap();
        assert_eq!(c.judge.policy.retain, SignedDuration::from_hours(1));
        assert!(c.judge.policy.keep_failed && c.judge.policy.require_record);
        assert_eq!(c.judge.policy.stuck_after, SignedDuration::from_hours(2));
        assert_eq!(
            c.judge.policy.engine_start_timeout,
            SignedDuration::from_mins(3)
        );
        assert_eq!(
            c.judge.policy.include,
            [SuspectClass::StuckPending, SuspectClass::LeakedRunning]
        );
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let e = scan(&["--include", "terminated"]).unwrap_err();
        assert!(
            e.to_string().contains("--include: unknown suspect class"),
            "{e}"
        );
        let e = scan(&["--selector", "a in x"]).unwrap_err();
        assert!(e.to_string().contains("invalid --selector"), "{e}");
        assert_eq!(e.exit_code(), crate::error::ExitCode::Input);
        assert!(parse_error(&["scan", "--store", "s", "--retain", "10"]).contains("needs a unit"));
        let missing = parse_error(&["scan"]);
        assert!(
            missing.contains("--store") && missing.contains("--zk-snapshot"),
            "{missing}"
        );
    }

    #[test]
    fn namespaces_and_contexts() {
        let c = scan(&["-A", "--context", "a", "--context", "b", "--context", "a"]).unwrap();
        assert_eq!(
            c.judge.pods,
            PodSource::Cluster {
                kubeconfig: None,
                contexts: vec![Some("a".into()), Some("b".into())],
                namespaces: Namespaces::All
            }
        );
        let c = scan(&[
            "-n",
            "x",
            "--namespace",
            "y",
            "-n",
            "x",
            "--kubeconfig",
            "k",
        ])
        .unwrap();
        assert_eq!(
            c.judge.pods,
            PodSource::Cluster {
                kubeconfig: Some("k".into()),
                contexts: vec![None],
                namespaces: Namespaces::Only(vec!["x".into(), "y".into()])
            }
        );
        assert!(
            parse_error(&["scan", "--store", "s", "-A", "-n", "x"]).contains("cannot be used with")
        );
    }

    #[test]
    fn a_pod_file_scopes_locally_and_excludes_cluster_flags() {
        let c = scan(&["--pods", "p.json"]).unwrap();
        assert_eq!(
            c.judge.pods,
            PodSource::File {
                path: "p.json".into(),
                scope: Namespaces::All,
                max_size: 4 << 30,
            }
        );
        let c = scan(&["--pods", "p.json", "-n", "a"]).unwrap();
        assert_eq!(
            c.judge.pods,
            PodSource::File {
                path: "p.json".into(),
                scope: Namespaces::Only(vec!["a".into()]),
                max_size: 4 << 30,
            }
        );
        assert!(
            parse_error(&["scan", "--store", "s", "--pods", "p", "--context", "c"])
                .contains("cannot be used with")
        );
    }

    #[test]
    fn output_formats() {
        for (flag, format) in [
            ("table", Format::Table),
            ("json", Format::Json),
            ("yaml", Format::Yaml),
            ("name", Format::Name),
        ] {
            assert_eq!(scan(&["-o", flag]).unwrap().format, format);
        }
    }

    fn global(args: &[&str]) -> GlobalArgs {
        let cli = Cli::try_parse_from(
            ["kyuubi-reaper"]
                .iter()
                .chain(args)
                .chain(&["scan", "--store", "s"]),
        )
        .unwrap();
        cli.global
    }

    #[test]
    fn color_is_decided_once_from_flag_no_color_and_terminal() {
        let auto = global(&[]);
        assert!(Presentation::resolve(&auto, None, true, true).color);
        assert!(
            !Presentation::resolve(&auto, None, false, true).color,
            "not a terminal"
        );
        assert!(
            !Presentation::resolve(&auto, Some("1"), true, true).color,
            "NO_COLOR"
        );
        assert!(
            Presentation::resolve(&auto, Some(""), true, true).color,
            "empty NO_COLOR is unset"
        );
        assert!(
            Presentation::resolve(&global(&["--color", "always"]), Some("1"), false, false).color
        );
        assert!(!Presentation::resolve(&global(&["--color=never"]), None, true, true).color);
        // Logs on stderr follow the same rule, judged by stderr.
        let p = Presentation::resolve(&auto, None, false, true);
        assert!(!p.color && p.log_color);
        assert!(!Presentation::resolve(&auto, Some("1"), true, true).log_color);
        assert!(!Presentation::resolve(&global(&["--color=never"]), None, true, true).log_color);
    }

    #[test]
    fn verbosity_and_progress() {
        let p = Presentation::resolve(&global(&["-q"]), None, true, true);
        assert_eq!((p.verbosity, p.progress), (Verbosity::Quiet, false));
        let p = Presentation::resolve(&global(&["-vv"]), None, true, true);
        assert_eq!((p.verbosity, p.progress), (Verbosity::Verbose(2), true));
        let p = Presentation::resolve(&global(&[]), None, true, false);
        assert_eq!((p.verbosity, p.progress), (Verbosity::Normal, false));
        assert!(parse_error(&["-q", "-v", "scan", "--store", "s"]).contains("cannot be used with"));
    }
}
