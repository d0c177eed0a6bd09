//! kyuubi-reaper: a garbage collector for Kubernetes pods orphaned by Apache Kyuubi engines.
//!
//! Kyuubi runs Spark engines as driver pods labelled `kyuubi-unique-tag=<uuid>`, and its own
//! cleanup of those pods lives in server memory (lost on restart) and is off by default. This
//! crate decides which pods are orphans from Kyuubi's *own* state (its metadata store, and the
//! engine registrations in ZooKeeper's files), reports them, and deletes them safely; verdict
//! rules, safety model and exit codes follow the project's design.
//!
//! # Layout
//!
//! Only [`cli`] (the clap types), [`state`] (the readers of Kyuubi's state, used by the tests and
//! benchmark generators), [`run`] and its [`Error`] are public; everything else is private to the
//! crate.
//!
//! - [`cli`]: clap types, only what was typed.
//! - `config`: resolves the flags into the core's types; colour and progress decided once.
//! - `error`: operation-named errors and the exit codes they map to.
//! - [`state`]: the merged engine state; [`state::store`] reads SQLite metadata stores,
//!   [`state::zk`] reads ZooKeeper snapshots and transaction logs.
//! - `k8s`: the boundary with Kubernetes types: pods from a file (`k8s::file`) or a cluster
//!   (`k8s::cluster`), converted to `pod::PodInfo`.
//! - `pod`: the crate's own pod type.
//! - `selector`: label selectors, parsed once, matched locally or sent to the server.
//! - `classify`: the pure verdict rules.
//! - `gate`: the source health gate: whether the state may judge pods at all.
//! - `output`: the report and its formats, the summary line, the progress spinner.
//! - `pipeline`: sources → pods → state → judgements, shared by every judging command.
//! - `scan`: the `scan` command: the pipeline, then the report.
//! - `reap`: the `reap` command: the pipeline or a plan, the gate, consent, deletes, report.
//! - `reaper`: the delete executor (rate limit, concurrency, the one dry-run check, audit).
//! - `duration`: durations on the command line, ages in the report.

mod classify;
pub mod cli;
mod config;
mod duration;
mod error;
mod files;
mod gate;
mod k8s;
mod manifests;
mod output;
mod pipeline;
mod pod;
mod reap;
mod reaper;
mod scan;
mod selector;
pub mod state;
mod watch;

use clap::CommandFactory;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::config::{Presentation, ReapConfig, ScanConfig, Verbosity, WatchConfig};
pub use crate::error::{Error, ExitCode};

/// Runs a parsed command line. Errors carry their exit code ([`Error::exit_code`]).
pub fn run(cli: &Cli) -> Result<ExitCode, Error> {
    // rustls's process-wide provider (kube and mysql_async build their TLS with it): the one it
    // is built with, named so that a second one turned on by a dependency cannot unset it.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let presentation = Presentation::from_env(&cli.global);
    let (service, json_logs) = match &cli.command {
        Command::Watch(args) => (true, args.service.log_format == cli::LogFormatArg::Json),
        _ => (false, false),
    };
    init_logging(presentation, service, json_logs);
    stdout_is_open()?;
    // Block-buffered: the standard stdout flushes at every newline, a write per line of a
    // report of a million lines. Every command flushes it when its output is complete.
    let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match &cli.command {
        Command::Scan(args) => {
            let config = ScanConfig::from_args(args)?;
            block_on(scan::run(&config, presentation, &mut stdout))?
        }
        Command::Reap(args) => {
            let config = ReapConfig::from_args(args)?;
            block_on(reap::run(&config, presentation, &mut stdout))?
        }
        Command::Watch(args) => {
            let config = WatchConfig::from_args(args)?;
            block_on(watch::run(&config, presentation))?
        }
        Command::Manifests(args) => manifests::run(args, &mut stdout),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "kyuubi-reaper", &mut stdout);
            std::io::Write::flush(&mut stdout).map_err(Error::WriteReport)?;
            Ok(ExitCode::Success)
        }
    }
}

/// Refuses to run with a closed stdout (`>&-`). The Rust runtime reopens a closed descriptor 1
/// on `/dev/null` (read-write) before `main`, so the report would be lost with exit 0; a
/// shell's `>/dev/null` opens it write-only, which is how the two are told apart.
fn stdout_is_open() -> Result<(), Error> {
    #[cfg(unix)]
    {
        use rustix::fs::{FileType, OFlags, fcntl_getfl, fstat, stat};
        let stdout = std::io::stdout();
        let closed = match (fcntl_getfl(&stdout), fstat(&stdout), stat("/dev/null")) {
            (Err(_), _, _) | (_, Err(_), _) => true,
            (Ok(flags), Ok(ours), Ok(null)) => {
                flags & OFlags::RWMODE == OFlags::RDWR
                    && FileType::from_raw_mode(ours.st_mode) == FileType::CharacterDevice
                    && ours.st_rdev == null.st_rdev
            }
            (Ok(_), Ok(_), Err(_)) => false,
        };
        if closed {
            return Err(Error::WriteReport(std::io::Error::other(
                "standard output is closed; redirect it to a file, or to /dev/null to discard \
                 the report",
            )));
        }
    }
    Ok(())
}

/// The one tokio runtime of the run. One thread: the work is waiting on API servers, and
/// decoding pages and judging pods is cheap next to it.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the async runtime: {e}")))
}

/// Runs a command to its end, then leaves without waiting for blocking threads still running:
/// a name lookup or a connection diagnosis that outlived its timeout (the command has already
/// given up on it) would otherwise hold the exit for as long as it takes.
fn block_on<T>(command: impl std::future::Future<Output = T>) -> Result<T, Error> {
    let runtime = runtime()?;
    let outcome = runtime.block_on(command);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(outcome)
}

/// Logs go to stderr through tracing: warnings by default, more with `-v`, none with `-q`;
/// `RUST_LOG` overrides. Coloured as [`Presentation::log_color`] says; one JSON object per line
/// with `json` (`watch --log-format json`), with the time. A `service` (`watch`) logs what it
/// does (info) by default: its log is its report.
fn init_logging(presentation: Presentation, service: bool, json: bool) {
    let level = match presentation.verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal if service => "info",
        Verbosity::Normal => "warn",
        Verbosity::Verbose(1) => "info",
        Verbosity::Verbose(2) => "debug",
        Verbosity::Verbose(_) => "trace",
    };
    // Other crates (hyper, rustls) stay at warnings unless asked for with RUST_LOG. kube's own
    // client logs every failed request as an error, including those our request policy retries
    // and then reports itself: it is heard only from -vv on.
    let others = if level == "error" { "error" } else { "warn" };
    let kube = match presentation.verbosity {
        Verbosity::Quiet | Verbosity::Normal | Verbosity::Verbose(1) => "off",
        Verbosity::Verbose(2) => "warn",
        Verbosity::Verbose(_) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{others},kube_client={kube},kube={kube},kyuubi_reaper={level}"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder
            .with_ansi(presentation.log_color)
            .without_time()
            .try_init()
    };
}
