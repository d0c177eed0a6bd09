//! `test-apiserver`: run the test Kubernetes API server as a process.
//!
//! Prints exactly one line, `listening on http://127.0.0.1:PORT`, on stdout when it is ready,
//! then serves until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use test_apiserver::{
    ClockStart, FaultAction, FaultConfig, FaultRule, KubeconfigOptions, ServerConfig, TestApiServer,
};

/// A test Kubernetes API server for pods.
#[derive(Debug, Parser)]
#[command(name = "test-apiserver", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed file (pod list as `kubectl get pods -o json|yaml` writes it); repeatable.
    #[arg(long = "seed", value_name = "FILE")]
    seeds: Vec<PathBuf>,
    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Context (and cluster and user) name in the kubeconfig.
    #[arg(long, default_value = "test-apiserver")]
    context: String,
    /// Default namespace of the kubeconfig context.
    #[arg(long)]
    namespace: Option<String>,
    /// Require this bearer token (it is also written to the kubeconfig).
    #[arg(long)]
    token: Option<String>,
    /// Version reported by /version.
    #[arg(long, default_value = "v1.33.0")]
    server_version: String,
    /// Stop the server clock at this RFC 3339 time.
    #[arg(long, value_name = "RFC3339", conflicts_with = "clock_offset")]
    fixed_time: Option<jiff::Timestamp>,
    /// Shift the server clock by this duration (e.g. `-2h`, `30m`).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    clock_offset: Option<jiff::SignedDuration>,
    /// Seed of the fault-injection decisions.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// Fraction of requests answered 500 `InternalError`.
    #[arg(long, value_name = "RATE")]
    error_rate: Option<f64>,
    /// Fraction of requests answered 503 `ServiceUnavailable`.
    #[arg(long, value_name = "RATE")]
    unavailable_rate: Option<f64>,
    /// Fraction of requests answered 429 `TooManyRequests`.
    #[arg(long, value_name = "RATE")]
    throttle_rate: Option<f64>,
    /// Retry-After seconds of 429 answers.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Fraction of (non-watch) responses whose connection is dropped after half the body.
    #[arg(long, value_name = "RATE")]
    drop_rate: Option<f64>,
    /// Cut every watch stream after this many events.
    #[arg(long, value_name = "N")]
    cut_watch_after: Option<usize>,
    /// A scoped fault rule, e.g. `action=503,p=0.2,method=DELETE,path=/api/v1/namespaces/*,times=3`
    /// (actions: latency (ms=), 429 (retry-after=), drop (fraction=), cut-watch (events=), hang
    /// (read the request, never answer, hold the connection until the client closes it or the
    /// server stops; logged with status 0), endless (200 with a body that never ends), or an
    /// HTTP status code); repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// Seconds between watch bookmarks.
    #[arg(long, default_value_t = 60)]
    bookmark_interval: u64,
    /// Revisions of history kept (older continue tokens / watch versions get 410 Gone).
    #[arg(long, default_value_t = 250_000)]
    history_revisions: u64,
    /// Append every request as a JSON line to this file.
    #[arg(long, value_name = "FILE")]
    request_log: Option<PathBuf>,
    /// Log each request on stderr.
    #[arg(short, long)]
    verbose: bool,
}

fn rate_rule(rate: Option<f64>, action: FaultAction, watch: Option<bool>) -> Option<FaultRule> {
    rate.map(|p| FaultRule {
        probability: p,
        watch,
        ..FaultRule::always(action)
    })
}

impl Cli {
    fn config(&self) -> Result<ServerConfig, String> {
        let mut rules: Vec<FaultRule> = Vec::new();
        if let Some(ms) = self.latency_ms {
            rules.push(FaultRule::always(FaultAction::Latency(
                Duration::from_millis(ms),
            )));
        }
        rules.extend(rate_rule(self.error_rate, FaultAction::Error(500), None));
        rules.extend(rate_rule(
            self.unavailable_rate,
            FaultAction::Error(503),
            None,
        ));
        rules.extend(rate_rule(
            self.throttle_rate,
            FaultAction::Throttle {
                retry_after_secs: self.retry_after,
            },
            None,
        ));
        rules.extend(rate_rule(
            self.drop_rate,
            FaultAction::DropConnection { fraction: 0.5 },
            Some(false),
        ));
        if let Some(n) = self.cut_watch_after {
            rules.push(FaultRule {
                watch: Some(true),
                ..FaultRule::always(FaultAction::CutWatch { after_events: n })
            });
        }
        for f in &self.faults {
            rules.push(FaultRule::parse(f)?);
        }
        let clock = match (self.fixed_time, self.clock_offset) {
            (Some(t), _) => ClockStart::Fixed(t),
            (None, Some(o)) => ClockStart::Offset(o),
            (None, None) => ClockStart::Real,
        };
        Ok(ServerConfig {
            listen: self.listen,
            version: self.server_version.clone(),
            token: self.token.clone(),
            clock,
            faults: FaultConfig {
                seed: self.fault_seed,
                rules,
            },
            history_revisions: self.history_revisions,
            bookmark_interval: Duration::from_secs(self.bookmark_interval),
            request_log_file: self.request_log.clone(),
            seed_files: self.seeds.clone(),
            ..ServerConfig::default()
        })
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config()?;
    let server = TestApiServer::start(config)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(path) = &cli.kubeconfig_out {
        let opts = KubeconfigOptions {
            context: cli.context.clone(),
            namespace: cli.namespace.clone(),
            token: None,
        };
        server
            .write_kubeconfig(path, &opts)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    tracing::info!(pods = server.pod_count(), "seeded");
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", server.base_url()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    server.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(false)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("test-apiserver: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("test-apiserver: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_make_rules() {
        let cli = Cli::parse_from([
            "test-apiserver",
            "--seed",
            "a.json",
            "--throttle-rate",
            "0.5",
            "--retry-after",
            "3",
            "--cut-watch-after",
            "2",
            "--fault",
            "action=503,method=DELETE,times=1",
            "--fault",
            "action=hang,method=GET,path=/api/v1/pods,skip=2,times=1",
            "--clock-offset",
            "-2h",
        ]);
        let c = cli.config().unwrap();
        assert_eq!(c.seed_files.len(), 1);
        assert_eq!(c.faults.rules.len(), 4);
        assert_eq!(c.faults.rules[3].action, FaultAction::Hang);
        assert_eq!(c.faults.rules[3].skip, 2);
        assert!(matches!(c.clock, ClockStart::Offset(_)));
    }
}
