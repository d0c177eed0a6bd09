//! The command line, as clap sees it.
//!
//! Owns: the clap derive types: [`Cli`], its subcommands and their flags, with the help texts
//! users read. They hold only what was typed; `config` resolves them into the core's types.
//! Must not: contain logic beyond value parsing, or leak into the core.

use std::net::SocketAddr;
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
    /// Keep reaping as a service: pods are watched, state files followed, orphans deleted as
    /// their retain period ends; /metrics, /healthz and /readyz over HTTP; optional leader
    /// election among replicas.
    Watch(Box<WatchArgs>),
    /// Print the Kubernetes objects that deploy the tool (YAML, for `kubectl apply -f -`).
    Manifests(Box<ManifestsArgs>),
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
        .args(["store", "store_url", "zk_snapshot", "zk"])
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
        .args(["store", "store_url", "zk_snapshot", "zk", "plan"])
))]
pub struct ReapArgs {
    /// What every judging command shares.
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// How deletes are made.
    #[command(flatten)]
    pub delete: DeleteArgs,
    /// Apply a reviewed plan: a `scan -o json` report, whose orphans are deleted with the uid
    /// and resourceVersion recorded in it (contexts matched by name). No state source is read.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["store", "store_url", "zk_snapshot", "zk", "pods"], help_heading = "Deleting")]
    pub plan: Option<PathBuf>,
    /// Refuse a plan older than this.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration, allow_hyphen_values = true, requires = "plan", help_heading = "Deleting")]
    pub max_plan_age: SignedDuration,
    /// Report format: a table for people, json/yaml (schema `kyuubi-reaper.reap/v1`), or `name`
    /// (namespace/name of each pod deleted, one per line).
    #[arg(short, long, value_enum, default_value_t = OutputArg::Table, value_name = "FORMAT")]
    pub output: OutputArg,
}

/// `watch`'s flags.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("source")
        .required(true)
        .multiple(true)
        .args(["store", "store_url", "zk_snapshot", "zk"])
))]
pub struct WatchArgs {
    /// What every judging command shares (pods always come from a cluster).
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// How deletes are made.
    #[command(flatten)]
    pub delete: DeleteArgs,
    /// How the service runs.
    #[command(flatten)]
    pub service: ServiceArgs,
}

/// The service flags of `watch`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Service")]
pub struct ServiceArgs {
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9464")]
    pub listen: SocketAddr,
    /// A full relist of the pods and reload of the state this often; watch events and state
    /// file changes keep both current in between.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = positive_duration)]
    pub resync: SignedDuration,
    /// How often the state files are checked for changes besides file notifications, which
    /// shared volumes often do not deliver.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = positive_duration)]
    pub state_poll: SignedDuration,
    /// How often each --store-url server is asked, with one cheap query, whether its tables
    /// changed (a change reads the state again).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub store_poll: SignedDuration,
    /// The sliding window over which --max-deletions counts deletes.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = positive_duration)]
    pub window: SignedDuration,
    /// Log format on stderr: `text` for people, `json` (one object per line) for collectors.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Text, value_name = "FORMAT")]
    pub log_format: LogFormatArg,
    /// Elect one leader among replicas with a `coordination.k8s.io/v1` Lease: only the leader
    /// deletes; the others keep their pods and state current and take over when it stops.
    #[arg(long)]
    pub leader_elect: bool,
    /// The Lease's name.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "kyuubi-reaper",
        requires = "leader_elect"
    )]
    pub lease_name: String,
    /// The Lease's namespace (default: the namespace of the first context, or of the pod when
    /// in-cluster).
    #[arg(long, value_name = "NS", requires = "leader_elect")]
    pub lease_namespace: Option<String>,
    /// How long the lease holds without renewal. The leader stops deleting when it could not
    /// renew for two thirds of it; another replica takes over once it has passed.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = positive_duration, requires = "leader_elect")]
    pub lease_duration: SignedDuration,
    /// This replica's identity in the Lease (default: `$POD_NAME` or the host name, and a random
    /// suffix).
    #[arg(long, value_name = "ID", requires = "leader_elect")]
    pub lease_identity: Option<String>,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

// ---- manifests: owned by the manifests work ----

/// `manifests`' flags. Flags that do not apply to the kind asked for are refused, not ignored.
#[derive(Debug, Args)]
#[command(after_long_help = MANIFESTS_AFTER_HELP)]
#[allow(clippy::struct_excessive_bools)] // independent switches of one command line
pub struct ManifestsArgs {
    /// What to deploy: `cronjob` (a `CronJob` running `reap --yes`), `deployment` (`watch`, two
    /// replicas with leader election) or `sidecar` (`watch` in Kyuubi's own pod, next to its
    /// store).
    #[arg(value_enum)]
    pub kind: ManifestKindArg,
    /// The namespace of the tool's objects (`sidecar`: Kyuubi's namespace).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: String,
    /// The container image of the tool; its entrypoint must be the `kyuubi-reaper` binary.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// The name of every object, of the container and of the Lease: a DNS label of at most 52
    /// characters starting with a letter (a `CronJob`'s limit).
    #[arg(long, value_name = "NAME", default_value = "kyuubi-reaper")]
    pub name: String,

    /// A Kyuubi metadata store file, as a path inside the container (under a --state-claim or
    /// --state-volume directory). Repeatable.
    #[arg(long, value_name = "PATH", help_heading = "State")]
    pub store: Vec<String>,
    /// ZooKeeper's files (a data directory or a snapshot), as a path inside the container.
    /// Repeatable.
    #[arg(long, value_name = "PATH", help_heading = "State")]
    pub zk_snapshot: Vec<String>,
    /// A Kyuubi metadata store in MySQL/MariaDB or PostgreSQL, as for `scan --store-url` (TLS
    /// files named in it must be in the image). No password in it: a manifest is stored in the
    /// cluster as plain text; use --store-password-secret. Repeatable.
    #[arg(long, value_name = "URL", help_heading = "State")]
    pub store_url: Vec<String>,
    /// The key of a Secret in --namespace holding the --store-url password, as `SECRET:KEY`;
    /// the tool gets it as `$KYUUBI_REAPER_STORE_PASSWORD`.
    #[arg(
        long,
        value_name = "SECRET:KEY",
        requires = "store_url",
        help_heading = "State"
    )]
    pub store_password_secret: Option<String>,
    /// A live ZooKeeper ensemble, as for `scan --zk` (`host:port[,host:port...][/chroot]`).
    /// Repeatable.
    #[arg(long, value_name = "CONNECT", help_heading = "State")]
    pub zk: Vec<String>,
    /// cronjob, deployment: a `PersistentVolumeClaim` holding state files, mounted read-only at
    /// DIR (default: --state-mount). Repeatable, one directory each (Kyuubi's store and
    /// ZooKeeper's data are usually on different claims).
    #[arg(long, value_name = "CLAIM[:DIR]", help_heading = "State")]
    pub state_claim: Vec<String>,
    /// sidecar: a volume of Kyuubi's pod holding its store, mounted read-only in the sidecar at
    /// DIR (default: --state-mount). Repeatable.
    #[arg(long, value_name = "VOLUME[:DIR]", help_heading = "State")]
    pub state_volume: Vec<String>,
    /// Where a --state-claim or --state-volume without `:DIR` is mounted.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/lib/kyuubi",
        help_heading = "State"
    )]
    pub state_mount: String,

    /// A namespace whose pods are reaped: a `Role` and `RoleBinding` in each (default:
    /// --namespace). Repeatable.
    #[arg(
        long,
        value_name = "NS",
        conflicts_with = "all_namespaces",
        help_heading = "Reaping"
    )]
    pub reap_namespace: Vec<String>,
    /// Reap the pods of every namespace (a `ClusterRole` and `ClusterRoleBinding`).
    #[arg(short = 'A', long, help_heading = "Reaping")]
    pub all_namespaces: bool,
    /// Passed to the tool: leave terminated pods alone for this long (the tool's default: 10m).
    #[arg(long, value_name = "DURATION", value_parser = duration_text, allow_hyphen_values = true, help_heading = "Reaping")]
    pub retain: Option<String>,
    /// Passed to the tool: suspect classes to delete as orphans (comma-separated or repeated).
    #[arg(
        long,
        value_enum,
        value_name = "CLASS",
        value_delimiter = ',',
        help_heading = "Reaping"
    )]
    pub include: Vec<IncludeArg>,
    /// An argument appended to the tool's command line, e.g.
    /// `--extra-arg=--ha-namespace=prod/kyuubi`. Repeatable. The whole command line is checked
    /// as the tool would check it; flags the manifests set themselves (namespaces, state paths,
    /// --deadline, --listen, leader election) cannot be changed this way.
    #[arg(
        long,
        value_name = "ARG",
        allow_hyphen_values = true,
        help_heading = "Reaping"
    )]
    pub extra_arg: Vec<String>,
    /// cronjob, deployment: add a `ValidatingAdmissionPolicy` and its binding that deny the
    /// tool's `ServiceAccount` the DELETE of any pod that is not a Kyuubi driver pod (labels
    /// `kyuubi-unique-tag`, `spark-app-selector`, `spark-role=driver`): RBAC cannot filter by
    /// label. Kubernetes 1.30 or newer.
    #[arg(long, help_heading = "Reaping")]
    pub admission_guard: bool,

    /// cronjob: when to run, five cron fields or a macro such as @hourly [default: */10 * * * *]
    #[arg(long, value_name = "CRON", help_heading = "CronJob")]
    pub schedule: Option<String>,
    /// cronjob: the run's --deadline; the Job's `activeDeadlineSeconds` is two minutes longer
    /// [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = duration_text, allow_hyphen_values = true, help_heading = "CronJob")]
    pub deadline: Option<String>,

    /// deployment: the number of replicas [default: 2, or 1 with --no-leader-elect]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=100), help_heading = "Deployment")]
    pub replicas: Option<u16>,
    /// deployment: elect one leader among the replicas with a Lease (the default); only the
    /// leader deletes.
    #[arg(long, overrides_with = "no_leader_elect", help_heading = "Deployment")]
    pub leader_elect: bool,
    /// deployment: no leader election (one replica only).
    #[arg(long, overrides_with = "leader_elect", help_heading = "Deployment")]
    pub no_leader_elect: bool,
    /// deployment: the Lease's name (default: --name), in --namespace.
    #[arg(long, value_name = "NAME", help_heading = "Deployment")]
    pub lease_name: Option<String>,
    /// deployment, sidecar: the container port of /metrics, /healthz and /readyz
    /// [default: 9464]
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..), help_heading = "Deployment")]
    pub port: Option<u16>,

    /// sidecar (required): the `ServiceAccount` Kyuubi's pod runs as; the sidecar shares it, so
    /// the pod RBAC is bound to it.
    #[arg(long, value_name = "NAME", help_heading = "Sidecar")]
    pub service_account: Option<String>,
    /// sidecar: what to print: `rbac` (for `kubectl apply -f -`), `patch` (a strategic merge
    /// patch adding the container to Kyuubi's workload, for `kubectl patch --patch-file`) or
    /// `container` (the container alone, for a chart's extra containers) [default: rbac]
    #[arg(long, value_enum, value_name = "WHAT", help_heading = "Sidecar")]
    pub print: Option<SidecarPrintArg>,
    /// sidecar, with --print patch: Kyuubi's workload, named in the patch's instructions
    /// [default: statefulset/kyuubi]
    #[arg(long, value_name = "KIND/NAME", help_heading = "Sidecar")]
    pub workload: Option<String>,

    /// The container's CPU request.
    #[arg(
        long,
        value_name = "QUANTITY",
        default_value = "50m",
        help_heading = "Container"
    )]
    pub cpu_request: String,
    /// The container's CPU limit (default: none, so the tool is never throttled).
    #[arg(long, value_name = "QUANTITY", help_heading = "Container")]
    pub cpu_limit: Option<String>,
    /// The container's memory request.
    #[arg(
        long,
        value_name = "QUANTITY",
        default_value = "128Mi",
        help_heading = "Container"
    )]
    pub memory_request: String,
    /// The container's memory limit. `watch` holds about 1-2 KB per candidate pod: 512Mi is
    /// ample for 100,000 of them.
    #[arg(
        long,
        value_name = "QUANTITY",
        default_value = "512Mi",
        help_heading = "Container"
    )]
    pub memory_limit: String,
    /// The numeric user the container runs as (never root); it must be able to read the state
    /// files.
    #[arg(long, value_name = "UID", default_value_t = 65532, value_parser = clap::value_parser!(u32).range(1..=2_147_483_647), help_heading = "Container")]
    pub run_as_user: u32,
    /// The numeric group the container runs as.
    #[arg(long, value_name = "GID", default_value_t = 65532, value_parser = clap::value_parser!(u32).range(1..=2_147_483_647), help_heading = "Container")]
    pub run_as_group: u32,
}

/// The end of `manifests --help`: how each kind is applied.
const MANIFESTS_AFTER_HELP: &str = "\
Output is YAML built from the Kubernetes API types, the same bytes for the same flags.

  cronjob     ServiceAccount, RBAC, CronJob (+ admission policy):  | kubectl apply -f -
  deployment  ServiceAccount, RBAC, Lease RBAC, Deployment, Service (+ admission policy):
              | kubectl apply -f -
  sidecar     --print rbac (default): RBAC for Kyuubi's ServiceAccount:  | kubectl apply -f -
              --print patch: a strategic merge patch adding the container (and its /tmp
              volume) to Kyuubi's pod template:
              > reaper.yaml && kubectl -n NS patch statefulset/kyuubi --patch-file reaper.yaml
              --print container: the container alone, to paste into a chart's values.

RBAC: pods get, list, watch, delete (one rule set for every kind), in each --reap-namespace or
cluster-wide with -A; with leader election, leases get and update on the one Lease by name, and
create. Every container runs as a numeric non-root user with a read-only root filesystem, no
privilege escalation, all capabilities dropped and the RuntimeDefault seccomp profile; /tmp is
an emptyDir. The state volumes are mounted read-only and no fsGroup is set, so nothing on
Kyuubi's volumes is ever changed.

Example:
  kyuubi-reaper manifests deployment -n kyuubi --image registry.example/kyuubi-reaper:0.1.0 \\
    --state-claim kyuubi-data --store /var/lib/kyuubi/kyuubi_state_store.db \\
    --reap-namespace spark --admission-guard | kubectl apply -f -";

/// What `manifests` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestKindArg {
    /// A `CronJob` running `reap --yes`.
    Cronjob,
    /// A Deployment running `watch` (two replicas with leader election).
    Deployment,
    /// The container to add to Kyuubi's own pod, running `watch` on its store file.
    Sidecar,
}

/// `manifests --include` values: the tool's suspect classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IncludeArg {
    /// Pods still running whose batch ended more than --retain ago.
    LeakedRunning,
    /// Running pods with neither a ZooKeeper registration nor a batch row.
    UnregisteredRunning,
    /// Pods Pending for longer than the tool's --stuck-after.
    StuckPending,
}

/// `manifests sidecar --print` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SidecarPrintArg {
    /// The `Role`s and `RoleBinding`s for Kyuubi's `ServiceAccount` (`kubectl apply -f -`).
    Rbac,
    /// A strategic merge patch for Kyuubi's `StatefulSet` or Deployment (`kubectl patch`).
    Patch,
    /// The container alone.
    Container,
}

/// A duration as typed, checked with the tool's own parser and passed on unchanged.
fn duration_text(value: &str) -> Result<String, String> {
    crate::duration::parse(value).map(|_| value.trim().to_string())
}

// ---- end of manifests ----

/// Deletion flags of `reap` and `watch`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Deleting")]
pub struct DeleteArgs {
    /// Show what would be deleted without deleting: `client` (the default when given bare)
    /// sends nothing; `server` sends every DELETE with `dryRun=All`, which also proves RBAC and
    /// admission, and removes nothing.
    #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "client", value_name = "MODE")]
    pub dry_run: Option<DryRunArg>,
    /// Delete without asking (`reap`: required when stdin is not a terminal; `watch`: required
    /// unless --dry-run, as a service has no terminal to ask on).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Refuse the whole run (nothing deleted) when more orphans than this are found; `watch`
    /// counts the deletes of the last --window.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub max_deletions: usize,
    /// Refuse the whole run when orphans are more than this fraction of the candidate pods
    /// (`watch`: of each round of deletes).
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
    /// A Kyuubi metadata store in a database server: `mysql://USER@HOST[:PORT]/DB` or
    /// `postgresql://USER@HOST[:PORT]/DB` (Kyuubi's `kyuubi.metadata.store.jdbc.url`, as a URL),
    /// with TLS options `?ssl-mode=VERIFY_IDENTITY&ssl-ca=PATH` (MySQL) or
    /// `?sslmode=verify-full&sslrootcert=PATH` (PostgreSQL). Read in one read-only
    /// transaction, only the rows of the candidate pods' tags. The password comes from
    /// `$KYUUBI_REAPER_STORE_PASSWORD` or --store-password-file (one in the URL works but is
    /// warned about). Repeatable.
    #[arg(long, value_name = "URL")]
    pub store_url: Vec<String>,
    /// A file holding the password of the --store-url user (its first line).
    #[arg(long, value_name = "PATH", requires = "store_url")]
    pub store_password_file: Option<PathBuf>,
    /// Give up on a --store-url server that does not answer within this (connecting, and each
    /// query).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub store_timeout: SignedDuration,
    /// ZooKeeper's files: a snapshot file (raw, .gz or .snappy), or a data directory
    /// (`version-2/` or its parent), whose newest valid snapshot is read and whose transaction
    /// logs are replayed after it. Read-only. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub zk_snapshot: Vec<PathBuf>,
    /// ZooKeeper's `dataLogDir`, when its transaction logs are kept apart from the snapshots:
    /// the logs after the snapshot are replayed from there (also after a single snapshot file).
    #[arg(long, value_name = "PATH", requires = "zk_snapshot")]
    pub zk_log_dir: Option<PathBuf>,
    /// A live ZooKeeper ensemble, `HOST:PORT[,HOST:PORT…][/CHROOT]` (Kyuubi's
    /// `kyuubi.ha.addresses`): every engine space of the --ha-namespaces is read after a
    /// `sync`; a live ephemeral registration means its engine's session is alive. Read-only.
    /// Repeatable, for several ensembles.
    #[arg(long, value_name = "CONNECT")]
    pub zk: Vec<String>,
    /// Refuse a --zk ensemble that cannot be read whole within this (every server tried; a
    /// partial read is never used).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration, requires = "zk")]
    pub zk_timeout: SignedDuration,
    /// A file holding `USER:PASSWORD` for ZooKeeper's `digest` scheme, when the engine spaces'
    /// ACLs require it (Kyuubi's `kyuubi.ha.zookeeper.auth.type=DIGEST`).
    #[arg(long, value_name = "PATH", requires = "zk")]
    pub zk_auth_file: Option<PathBuf>,
    /// Connect to --zk over TLS, trusting the CA certificates (PEM) of this file only.
    #[arg(long, value_name = "PATH", requires = "zk")]
    pub zk_tls_ca: Option<PathBuf>,
    /// A client certificate (PEM) for --zk over TLS, when the ensemble requires one.
    #[arg(long, value_name = "PATH", requires_all = ["zk_tls_ca", "zk_tls_key"])]
    pub zk_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --zk-tls-cert.
    #[arg(long, value_name = "PATH", requires = "zk_tls_cert")]
    pub zk_tls_key: Option<PathBuf>,
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
