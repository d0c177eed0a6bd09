//! `gen-seed-pods`: write a large, realistic seed file for the test API server.
//!
//! Default: 100,000 Spark driver pods with `kyuubi-unique-tag` in 50 namespaces, plus 100,000
//! other pods (executors owned by drivers, and unrelated application pods). `--driver-phase`
//! gives every driver one phase (the reap benchmark: all `Succeeded`, `--others 0`).

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use test_apiserver::generate::{GenOptions, Phase, write_seed};

/// Generate a seed file of realistic pods.
#[derive(Debug, Parser)]
#[command(name = "gen-seed-pods")]
struct Cli {
    /// Output file.
    #[arg(short, long)]
    out: PathBuf,
    /// Candidate Spark driver pods.
    #[arg(long, default_value_t = 100_000)]
    drivers: usize,
    /// Other pods (executors and unrelated pods).
    #[arg(long, default_value_t = 100_000)]
    others: usize,
    /// Namespaces.
    #[arg(long, default_value_t = 50)]
    namespaces: usize,
    /// RNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// "Now" for timestamps (pods are up to 30 days older).
    #[arg(long, default_value = "2026-01-01T00:00:00Z")]
    now: jiff::Timestamp,
    /// Give every driver this phase (Pending, Running, Succeeded, Failed) instead of the usual
    /// mix.
    #[arg(long, value_name = "PHASE")]
    driver_phase: Option<Phase>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = GenOptions {
        drivers: cli.drivers,
        others: cli.others,
        namespaces: cli.namespaces,
        seed: cli.seed,
        now: cli.now,
        driver_phase: cli.driver_phase,
    };
    let result = std::fs::File::create(&cli.out).and_then(|f| {
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let s = write_seed(&mut w, &opts)?;
        w.flush()?;
        Ok(s)
    });
    match result {
        Ok(s) => {
            println!(
                "wrote {}: {} drivers, {} executors, {} other pods",
                cli.out.display(),
                s.drivers,
                s.executors,
                s.apps
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-seed-pods: {}: {e}", cli.out.display());
            ExitCode::FAILURE
        }
    }
}
