//! The command line, as clap sees it.
//!
//! Owns: the clap derive types: [`Cli`], its subcommands and their flags, with the help texts
//! users read. They hold only what was typed; `config` resolves them into the core's types.
//! Must not: contain logic beyond value parsing, or leak into the core.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use jiff::SignedDuration;

/// Garbage-collects Kubernetes driver pods orphaned by Apache Kyuubi engines, deciding from
/// Kyuubi's own state (its metadata store) which pods no engine owns any more.
#[derive(Debug, Parser)]
#[command(
    name = "kyuubi-reaper",
    version,
    propagate_version = true,
    args_override_self = true
)]
#[command(
    after_help = "Exit codes: 0 success, 1 findings (--fail-on-orphans/--fail-on-suspects), \
                  2 usage or input error, 3 cluster error, 4 reap incomplete, 5 refused by the \
                  safety gate."
)]
pub struct Cli {
    /// Options shared by every subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print only errors (no summary line, no progress).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// When to colour output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto, value_name = "WHEN")]
    pub color: ColorArg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report which Kyuubi engine pods are orphans, suspects or kept (read-only).
    Scan(Box<ScanArgs>),
    /// Delete the orphans: exactly the pods judged, behind the safety gate, with dry runs, a
    /// reviewable plan and an audit trail.
    Reap(Box<ReapArgs>),
    /// Print a shell completion script to stdout.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `scan`'s flags.
#[derive(Debug, Args)]
// Exactly the state sources count as sources: options that only qualify a source
// (`--ha-namespace`, `--zk-log-dir`, `--max-state-age`, `--allow-empty-state`) are not one.
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .multiple(true)
        .args(["store", "zk_snapshot"])
))]
pub struct ScanArgs {
    /// What every judging command shares.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Output format: a table for people, json/yaml for machines, or `name` (namespace/name of
    /// each orphan, one per line).
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table, value_name = "FORMAT")]
    pub output: OutputArg,
    /// Exit with code 1 when orphans are found.
    #[arg(long)]
    pub fail_on_orphans: bool,
    /// Exit with code 1 when suspects are found.
    #[arg(long)]
    pub fail_on_suspects: bool,
}

/// The flags of every command that judges pods: where the state and the pods come from, how
/// pods are judged, and how API requests are made.
#[derive(Debug, Args)]
#[group(skip)]
pub struct JudgeArgs {
    /// Where Kyuubi's state comes from.
    #[command(flatten)]
    pub state: StateArgs,
    /// Where the pods come from.
    #[command(flatten)]
    pub pods: PodArgs,
    /// How pods are judged.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How API requests are made.
    #[command(flatten)]
    pub requests: RequestArgs,
}

/// `reap`'s flags.
#[derive(Debug, Args)]
// A reap judges from state sources, or applies a plan that was judged by `scan`.
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .multiple(true)
        .args(["store", "zk_snapshot", "plan"])
))]
pub struct ReapArgs {
    /// What every judging command shares.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// How deletes are made.
    #[command(flatten)]
    pub delete: DeleteArgs,
    /// Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name`
    /// (namespace/name of each pod deleted, one per line).
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table, value_name = "FORMAT")]
    pub output: OutputArg,
}

/// Deletion flags of `reap`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Deleting")]
pub struct DeleteArgs {
    /// Show what would be deleted without deleting: `client` (the default when given bare)
    /// sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and
    /// admission, and removes nothing.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRunArg>,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid
    /// and resourceVersion recorded in it (contexts matched by name). No state source is read.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["store", "zk_snapshot", "pods"])]
    pub plan: Option<PathBuf>,
    /// Refuse a plan older than this.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration, allow_hyphen_values = true, requires = "plan")]
    pub max_plan_age: SignedDuration,
    /// Refuse the whole run (nothing deleted) when more orphans than this are found.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_deletions: usize,
    /// Refuse the whole run when orphans are more than this fraction of the candidate pods.
    #[arg(long, value_name = "RATIO", default_value_t = 0.8, value_parser = ratio)]
    pub max_orphan_ratio: f64,
    /// DELETE requests per second per API server, on average (client-side rate limit).
    #[arg(long, value_name = "QPS", default_value_t = 10.0, value_parser = qps)]
    pub qps: f64,
    /// DELETE requests allowed at once above the --qps rate.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: u32,
    /// Deletes in flight at once, over all contexts.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Grace period in seconds for pods that still run (suspects included with --include);
    /// default: the pod's own. Terminated pods are removed at once whatever this says.
    #[arg(long, value_name = "SECONDS")]
    pub grace_period: Option<u32>,
    /// Append one JSON line per pod outcome to this file, flushed as each completes.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// How API requests are made (list and delete alike).
#[derive(Debug, Args)]
#[command(next_help_heading = "API requests")]
pub struct RequestArgs {
    /// Connect timeout, and the longest one request may take to answer completely.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub request_timeout: SignedDuration,
    /// Retries of a request that timed out, lost its connection, or got 429 or 5xx (with
    /// exponential backoff and full jitter; Retry-After honoured up to 30s).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_retries: u32,
    /// The whole run's budget for API requests; when it passes, no request is started or
    /// retried.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = positive_duration)]
    pub deadline: SignedDuration,
    /// The largest answer read from the API server (a page of 500 pods is a few MB): a bigger
    /// one, or one that never ends, fails the request. Units as for --max-pod-file-size.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = byte_size)]
    pub max_page_size: u64,
}

/// State sources.
#[derive(Debug, Args)]
#[command(next_help_heading = "State sources")]
#[group(skip)]
pub struct StateArgs {
    /// A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`), opened read-only.
    /// Repeat for several Kyuubi instances.
    #[arg(long, value_name = "PATH")]
    pub store: Vec<PathBuf>,
    /// ZooKeeper's files: a snapshot file (raw, .gz or .snappy), or a data directory
    /// (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction
    /// logs are replayed after it. Read-only. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub zk_snapshot: Vec<PathBuf>,
    /// ZooKeeper's `dataLogDir`, when its transaction logs are kept apart from the snapshots:
    /// the logs after the snapshot are replayed from there (also after a single snapshot file).
    #[arg(long, value_name = "PATH", requires = "zk_snapshot")]
    pub zk_log_dir: Option<PathBuf>,
    /// Kyuubi's `kyuubi.ha.namespace` (with the ZooKeeper chroot in front, if any:
    /// `chroot/kyuubi`): engine registrations are read from `/<NS>_<version>_<LEVEL>_<TYPE>`.
    /// Repeatable.
    #[arg(long, value_name = "NS", default_value = "kyuubi")]
    pub ha_namespace: Vec<String>,
    /// Refuse a ZooKeeper state whose last transaction is older than this: a stale state could
    /// hide engines that registered since.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration, allow_hyphen_values = true)]
    pub max_state_age: SignedDuration,
    /// Judge pods even when the state sources know no engine at all (refused by default:
    /// usually the wrong store was given).
    #[arg(long)]
    pub allow_empty_state: bool,
}

/// Pod sources and selection.
#[derive(Debug, Args)]
#[command(next_help_heading = "Pods")]
pub struct PodArgs {
    /// Read pods from a file saved with `kubectl get pods -o json` (or `-o yaml`) instead of a
    /// cluster; `-` reads standard input.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["kubeconfig", "context"])]
    pub pods: Option<PathBuf>,
    /// The kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// A kubeconfig context to list pods from (default: the current context). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub context: Vec<String>,
    /// A namespace to scan (default: the context's namespace; with --pods, every namespace in
    /// the file). Repeatable.
    #[arg(short, long, value_name = "NAME", conflicts_with = "all_namespaces")]
    pub namespace: Vec<String>,
    /// Scan every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// An extra label selector, ANDed with the built-in
    /// `kyuubi-unique-tag,spark-app-selector,spark-role=driver`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// The largest pod file read (--pods): a larger file, or a pipe that goes on past it, is
    /// refused. JSON is read item by item whatever its size; YAML is held whole while it is
    /// read. Bytes, or with a unit: KiB, MiB, GiB (powers of 1024) or KB, MB, GB.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = byte_size)]
    pub max_pod_file_size: u64,
}

/// Verdict policy.
#[derive(Debug, Args)]
#[command(next_help_heading = "Verdicts")]
pub struct PolicyArgs {
    /// Leave terminated pods alone for this long (Kyuubi's own 5m retain period, its 1m check
    /// interval, and a margin for clock skew).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration, allow_hyphen_values = true)]
    pub retain: SignedDuration,
    /// Keep Failed pods for debugging; only Succeeded ones become orphans.
    #[arg(long)]
    pub keep_failed: bool,
    /// Only pods with a terminal Kyuubi record (a batch row or `k8s_engine_info` row) may be
    /// orphans. Use it when not every Kyuubi instance's store is given.
    #[arg(long)]
    pub require_record: bool,
    /// Suspect classes to treat as orphans: leaked-running, unregistered-running,
    /// stuck-pending (comma-separated or repeated).
    #[arg(long, value_name = "CLASS", value_delimiter = ',')]
    pub include: Vec<String>,
    /// A Pending pod older than this is a `stuck-pending` suspect.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = duration, allow_hyphen_values = true)]
    pub stuck_after: SignedDuration,
    /// How long an engine may take to register before a running pod without a registration
    /// is an `unregistered-running` suspect (needs a ZooKeeper source).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration, allow_hyphen_values = true)]
    pub engine_start_timeout: SignedDuration,
}

fn duration(value: &str) -> Result<SignedDuration, String> {
    crate::duration::parse(value)
}

fn positive_duration(value: &str) -> Result<SignedDuration, String> {
    let parsed = crate::duration::parse(value)?;
    if parsed.is_positive() {
        Ok(parsed)
    } else {
        Err("must be longer than zero".into())
    }
}

fn byte_size(value: &str) -> Result<u64, String> {
    match parse_size::parse_size(value) {
        Ok(0) => Err("must be more than 0 bytes".into()),
        Ok(size) => Ok(size),
        Err(e) => Err(format!(
            "{e}: a size is bytes, or a number with a unit such as 256MiB or 4GiB"
        )),
    }
}

fn ratio(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err("must be a number from 0 to 1".into()),
    }
}

fn qps(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(q) if (0.01..=100_000.0).contains(&q) => Ok(q),
        _ => Err("must be a number from 0.01 to 100000".into()),
    }
}

/// `--output` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// A table for people.
    Table,
    /// JSON, with the documented schema.
    Json,
    /// YAML, the same document as JSON.
    Yaml,
    /// `namespace/name` of each orphan, one per line.
    Name,
}

/// `--dry-run` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    /// Send nothing.
    Client,
    /// Send each DELETE with `dryRun=All`.
    Server,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
