//! The `scan` command: the shared pipeline, then the report.
//!
//! Owns: turning the pipeline's judgements into the scan [`Report`], writing it to stdout and
//! the summary to stderr, and the exit code the findings call for (`--fail-on-orphans`,
//! `--fail-on-suspects`). Must not: hold verdict rules (`classify`), pipeline steps
//! (`pipeline`) or formatting (`output`).

use std::io::Write;

use tokio::time::Instant;

use crate::classify::Verdict;
use crate::config::{Presentation, ScanConfig, Verbosity};
use crate::error::{Error, ExitCode};
use crate::output::{PodReport, Progress, Report, deliver, render};
use crate::pipeline::{self, Judged};

/// Runs a scan and writes the report to `out`. Returns the exit code the findings call for.
pub(crate) async fn run(
    config: &ScanConfig,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<ExitCode, Error> {
    let deadline = Instant::now() + config.judge.requests.deadline;
    let progress = Progress::new(presentation.progress);
    let judged = pipeline::judge(&config.judge, &progress, deadline).await;
    progress.finish();
    let started = std::time::Instant::now();
    let report = report(judged?);
    tracing::debug!("report built in {:.3} s", started.elapsed().as_secs_f64());

    // Data on stdout, the summary on stderr.
    deliver(
        out,
        presentation.stdout_is_terminal,
        presentation.verbosity == Verbosity::Quiet,
        |width, out| render(&report, config.format, presentation.color, width, out),
        &report.summary_line(),
    )
    .map_err(Error::WriteReport)?;
    tracing::debug!("report written at {:.3} s", started.elapsed().as_secs_f64());

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

/// The scan report of the pipeline's judgements.
#[must_use]
pub(crate) fn report(judged: Judged) -> Report {
    let mut pods = Vec::new();
    let mut clocks = Vec::new();
    let mut skipped = Vec::new();
    let from_cluster = judged.groups.iter().any(|g| g.connection.is_some());
    for group in judged.groups {
        skipped.extend(group.skipped());
        clocks.push(group.clock());
        let now = group.now;
        pods.extend(
            group
                .listing
                .pods
                .iter()
                .zip(group.judgements)
                .map(|(pod, j)| PodReport::new(pod, j, now)),
        );
    }
    let mut report = Report::new(pods, judged.sources, clocks, skipped);
    report.pods_from = if from_cluster { "cluster" } else { "file" };
    report.generated_at = Some(jiff::Timestamp::now());
    report
}
