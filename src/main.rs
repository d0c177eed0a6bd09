//! The `kyuubi-reaper` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use kyuubi_reaper::cli::Cli;

/// A run builds and frees millions of small strings (pods, state rows, the report); mimalloc
/// does that markedly faster than the system allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match kyuubi_reaper::run(&cli) {
        Ok(code) => code.into(),
        // A reader that went away (`| head`) is not an error.
        Err(kyuubi_reaper::Error::WriteReport(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            let report = anyhow::Error::new(error);
            eprintln!("error: {report:#}");
            report
                .downcast_ref::<kyuubi_reaper::Error>()
                .map_or(ExitCode::from(2), |e| e.exit_code().into())
        }
    }
}
