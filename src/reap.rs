//! The `reap` command: the shared pipeline (or a reviewed plan), the safety gate, consent, the
//! delete executor, the report.
//!
//! Owns: the order of those steps and the edges where the world comes in for them: the plan
//! file, the audit log file, the question asked on a terminal (and the refusal without one),
//! SIGINT/SIGTERM (no new delete starts; in-flight ones get [`IN_FLIGHT_GRACE`] to finish),
//! the run id, and the exit code of design §5 (0 all done, 4 incomplete). Must not: hold verdict
//! or refusal rules (`classify`, `gate`), issue requests itself (`reaper` does, through `k8s`),
//! or format (`output`).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{DeleteMode, PlanInput, PodSource, Presentation, ReapConfig, Verbosity};
use crate::error::{Error, ExitCode};
use crate::gate;
use crate::k8s::Namespaces;
use crate::k8s::cluster::Connection;
use crate::output::reap::{
    DeleteProgress, PodOutcome, ReapReport, outcome_line, plan_summary, render,
};
use crate::output::{Clock, Progress, deliver};
use crate::pipeline::{self, Group};
use crate::reaper::plan::{self, MAX_PLAN_BYTES, PlanError, Relisted, Target};
use crate::reaper::{
    AuditLine, AuditLog, Executor, IN_FLIGHT_GRACE, Outcome, OutcomeKind, RateLimits, Recorder,
    Results, shutdown_signal,
};
use crate::state::SourceSummary;

/// Whether a run may delete without asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consent {
    /// Go ahead: a dry run, or `--yes`.
    Given,
    /// Ask on the terminal.
    Ask,
    /// No terminal to ask and no `--yes`: refuse.
    Missing,
}

/// Decides whether to ask before deleting: never for a dry run or with `--yes`; on a terminal
/// otherwise; and without a terminal, the run is refused.
#[must_use]
pub(crate) fn consent(mode: DeleteMode, yes: bool, stdin_is_terminal: bool) -> Consent {
    if mode.is_dry_run() || yes {
        Consent::Given
    } else if stdin_is_terminal {
        Consent::Ask
    } else {
        Consent::Missing
    }
}

/// What is ready to delete after judging or reading the plan.
struct Prepared {
    targets: Vec<Target>,
    /// Plan orphans settled without a DELETE (gone or changed when listed again).
    settled: Vec<(Target, Outcome)>,
    connections: Vec<Connection>,
    candidates: usize,
    sources: Vec<SourceSummary>,
    clocks: Vec<Clock>,
    skipped: Vec<String>,
}

/// Runs a reap and writes the report to `out`.
pub(crate) async fn run(
    config: &ReapConfig,
    presentation: Presentation,
    out: &mut dyn Write,
) -> Result<ExitCode, Error> {
    let deadline = Instant::now() + config.judge.requests.deadline;
    // The audit log is opened first: a run that cannot keep its trail does not start.
    let audit = config
        .audit_log
        .as_deref()
        .map(|path| {
            AuditLog::open(path).map_err(|source| Error::AuditLog {
                path: path.to_path_buf(),
                source,
            })
        })
        .transpose()?;

    // 1. What to delete: judged now, or a reviewed plan checked against the pods listed now.
    let progress = Progress::new(presentation.progress);
    let prepared = match &config.plan {
        None => from_state(config, &progress, deadline).await,
        Some(input) => from_plan(config, input, &progress, deadline).await,
    };
    progress.finish();
    let prepared = prepared?;

    // 2. The safety gate: the whole run is refused, never cut down to the limit.
    let orphans = prepared.targets.len() + prepared.settled.len();
    gate::blast_radius(orphans, prepared.candidates, &config.blast_radius)
        .map_err(Error::Refused)?;

    // 3. Consent.
    if !prepared.targets.is_empty() {
        match consent(config.mode, config.yes, std::io::stdin().is_terminal()) {
            Consent::Given => {}
            Consent::Missing => {
                return Err(Error::Usage(format!(
                    "refusing to delete {} pods without confirmation: stdin is not a terminal \
                     to ask on. Pass --yes to delete (or --dry-run to see what would be)",
                    prepared.targets.len()
                )));
            }
            Consent::Ask => {
                if !ask(&prepared.targets)? {
                    eprintln!("Nothing deleted.");
                    return Ok(ExitCode::Success);
                }
            }
        }
    }

    // 4. Delete.
    let run_id = uuid::Uuid::new_v4().to_string();
    let started_at = Timestamp::now();
    let done = execute(config, presentation, &run_id, &prepared, audit).await;

    // 5. Report.
    let pods: Vec<PodOutcome> = prepared
        .settled
        .iter()
        .map(|(t, o)| PodOutcome::new(t, o))
        .chain(
            prepared
                .targets
                .iter()
                .zip(&done.outcomes)
                .map(|(t, o)| PodOutcome::new(t, o)),
        )
        .collect();
    let mut report = ReapReport::new(
        run_id,
        config.mode.as_str(),
        prepared.candidates,
        pods,
        (started_at, Timestamp::now()),
        done.elapsed,
        done.interrupted,
        (prepared.sources, prepared.clocks, prepared.skipped),
    );
    report.plan = config.plan.as_ref().map(|p| p.path.display().to_string());
    report.summary.audit_log_failed = done.audit_log_failed;
    deliver(
        out,
        presentation.stdout_is_terminal,
        presentation.verbosity == Verbosity::Quiet,
        |width, out| render(&report, config.format, presentation.color, width, out),
        &report.summary_line(),
    )
    .map_err(Error::WriteReport)?;
    Ok(
        if report.summary.failed > 0 || done.interrupted || done.audit_log_failed {
            ExitCode::ReapIncomplete
        } else {
            ExitCode::Success
        },
    )
}

/// What the deleting did.
struct Done {
    outcomes: Vec<Outcome>,
    interrupted: bool,
    audit_log_failed: bool,
    elapsed: Duration,
}

/// Deletes the targets through the executor, recording every outcome, until done or
/// interrupted (then in-flight deletes get [`IN_FLIGHT_GRACE`]).
async fn execute(
    config: &ReapConfig,
    presentation: Presentation,
    run_id: &str,
    prepared: &Prepared,
    audit: Option<AuditLog>,
) -> Done {
    let bar = DeleteProgress::new(presentation.progress, prepared.targets.len());
    let cancel = CancellationToken::new();
    let recorder = Trail {
        run_id,
        mode: config.mode,
        audit,
        audit_path: config.audit_log.clone(),
        bar: &bar,
        lines: presentation.verbosity != Verbosity::Quiet,
        failed_write: Mutex::new(None),
        cancel: cancel.clone(),
    };
    for (target, outcome) in &prepared.settled {
        recorder.record(target, outcome);
    }
    let executor = Executor::new(
        prepared.connections.clone(),
        config.mode,
        &RateLimits::new(config.pace),
        config.grace_period,
        &recorder,
        cancel.clone(),
    );
    let clock = Instant::now();
    let results = Results::new(prepared.targets.len());
    let interrupted = {
        let work = executor.run(&prepared.targets, &results);
        tokio::pin!(work);
        tokio::select! {
            () = &mut work => false,
            () = shutdown_signal() => {
                cancel.cancel();
                bar.println(&format!(
                    "interrupted: no new delete starts; waiting up to {}s for those in flight",
                    IN_FLIGHT_GRACE.as_secs()
                ));
                let _ = tokio::time::timeout(IN_FLIGHT_GRACE, &mut work).await;
                true
            }
        }
    };
    let outcomes = results.finish(&prepared.targets, &recorder);
    let elapsed = clock.elapsed();
    bar.finish();
    // A trail that could not be written stopped the run; the report is still written.
    let audit_log_failed = recorder.take_write_error().is_some_and(|error| {
        let cause = std::error::Error::source(&error)
            .map(|c| format!(": {c}"))
            .unwrap_or_default();
        tracing::error!("{error}{cause}; no further delete was started");
        true
    });
    Done {
        outcomes,
        interrupted,
        audit_log_failed,
        elapsed,
    }
}

/// Judges from the state sources, as `scan` does; the orphans are the targets.
async fn from_state(
    config: &ReapConfig,
    progress: &Progress,
    deadline: Instant,
) -> Result<Prepared, Error> {
    let judged = pipeline::judge(&config.judge, progress, deadline).await?;
    let candidates = judged.candidates();
    let targets = plan::order(plan::from_judged(&judged.groups));
    let (connections, clocks, skipped) = split_groups(judged.groups)?;
    Ok(Prepared {
        targets,
        settled: Vec::new(),
        connections,
        candidates,
        sources: judged.sources,
        clocks,
        skipped,
    })
}

/// Reads a plan, checks its age, lists the candidates of its orphans' namespaces again in each
/// of its contexts, and keeps the orphans that are still there exactly as planned.
async fn from_plan(
    config: &ReapConfig,
    input: &PlanInput,
    progress: &Progress,
    deadline: Instant,
) -> Result<Prepared, Error> {
    let plan_error = |source| Error::ReadPlan {
        path: input.path.clone(),
        source,
    };
    let bytes = read_bounded(&input.path).map_err(plan_error)?;
    let plan = plan::parse_plan(&bytes).map_err(plan_error)?;
    let generated_at = plan
        .generated_at
        .ok_or(PlanError::NoTime)
        .map_err(plan_error)?;
    gate::plan_age(
        &input.path.display().to_string(),
        generated_at,
        Timestamp::now(),
        input.max_age,
    )
    .map_err(Error::Refused)?;
    let PodSource::Cluster { kubeconfig, .. } = &config.judge.pods else {
        return Err(Error::Usage(
            "--plan deletes from a cluster, not a pod file".into(),
        ));
    };
    let mut groups = Vec::new();
    let mut targets = Vec::new();
    let mut settled = Vec::new();
    for (index, context) in plan.contexts().into_iter().enumerate() {
        let namespaces = Namespaces::Only(plan.namespaces(context.as_deref()));
        let group = pipeline::list_context(
            kubeconfig.as_deref(),
            context.as_deref(),
            &namespaces,
            &config.judge.selector,
            config.judge.requests,
            deadline,
            progress,
        )
        .await?;
        for relisted in plan::match_plan(&plan, index, context.as_deref(), &group.listing.pods) {
            match relisted {
                Relisted::Unchanged(target) => targets.push(target),
                Relisted::Gone(target) => settled.push((
                    target,
                    Outcome::unsent(
                        OutcomeKind::Gone,
                        Some("no longer listed as a candidate pod".into()),
                    ),
                )),
                Relisted::Changed(target, why) => {
                    settled.push((target, Outcome::unsent(OutcomeKind::Changed, Some(why))));
                }
            }
        }
        groups.push(group);
    }
    let (connections, clocks, skipped) = split_groups(groups)?;
    Ok(Prepared {
        targets: plan::order(targets),
        settled,
        connections,
        candidates: plan.pods.len(),
        sources: Vec::new(),
        clocks,
        skipped,
    })
}

/// The connections, clocks and skipped pods of groups.
type Split = (Vec<Connection>, Vec<Clock>, Vec<String>);

/// The connections, clocks and skipped pods of the groups, in group order.
fn split_groups(groups: Vec<Group>) -> Result<Split, Error> {
    let mut connections = Vec::new();
    let mut clocks = Vec::new();
    let mut skipped = Vec::new();
    for group in groups {
        clocks.push(group.clock());
        skipped.extend(group.skipped());
        connections.push(
            group.connection.ok_or_else(|| {
                Error::Usage("reap deletes from a cluster, not a pod file".into())
            })?,
        );
    }
    Ok((connections, clocks, skipped))
}

/// Reads a plan file, refusing one larger than [`MAX_PLAN_BYTES`].
fn read_bounded(path: &std::path::Path) -> Result<Vec<u8>, PlanError> {
    // A FIFO or a device (`/dev/zero`) could block or never end: a plan is a regular file.
    if !std::fs::metadata(path)?.is_file() {
        return Err(PlanError::NotAFile);
    }
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(PlanError::TooLarge);
    }
    Ok(bytes)
}

/// Shows what is about to be deleted and asks once on the terminal.
fn ask(targets: &[Target]) -> Result<bool, Error> {
    let mut stderr = std::io::stderr().lock();
    let prompt = format!("{}Delete them? [y/N] ", plan_summary(targets));
    stderr
        .write_all(prompt.as_bytes())
        .and_then(|()| stderr.flush())
        .map_err(Error::WriteReport)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Usage(format!("cannot read the answer from stdin: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// The audit trail of a run: the `--audit-log` line, or a line on stderr, and the progress bar.
struct Trail<'a> {
    run_id: &'a str,
    mode: DeleteMode,
    audit: Option<AuditLog>,
    audit_path: Option<std::path::PathBuf>,
    bar: &'a DeleteProgress,
    lines: bool,
    failed_write: Mutex<Option<Error>>,
    cancel: CancellationToken,
}

impl Trail<'_> {
    fn take_write_error(&self) -> Option<Error> {
        self.failed_write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl Recorder for Trail<'_> {
    fn record(&self, target: &Target, outcome: &Outcome) {
        self.bar.inc();
        let line = AuditLine::new(self.run_id, self.mode, target, outcome);
        if let Some(audit) = &self.audit {
            if let Err(source) = audit.write(&line) {
                // A trail that cannot be kept stops the run: no further delete starts.
                self.cancel.cancel();
                let mut failed = self
                    .failed_write
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if failed.is_none() {
                    *failed = Some(Error::AuditLog {
                        path: self.audit_path.clone().unwrap_or_default(),
                        source,
                    });
                }
            }
        } else if self.lines {
            self.bar.println(&outcome_line(target, outcome));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_asked_only_on_a_terminal_and_never_for_a_dry_run() {
        use DeleteMode::{DryRunClient, DryRunServer, Send};
        assert_eq!(consent(Send, false, true), Consent::Ask);
        assert_eq!(consent(Send, false, false), Consent::Missing);
        assert_eq!(consent(Send, true, false), Consent::Given);
        assert_eq!(consent(DryRunClient, false, false), Consent::Given);
        assert_eq!(consent(DryRunServer, false, false), Consent::Given);
    }

    #[test]
    fn a_plan_must_be_a_regular_file() {
        assert!(matches!(
            read_bounded(std::path::Path::new("/dev/zero")),
            Err(PlanError::NotAFile)
        ));
        assert!(matches!(
            read_bounded(std::path::Path::new("/")),
            Err(PlanError::NotAFile)
        ));
        assert!(matches!(
            read_bounded(std::path::Path::new("/nonexistent/plan.json")),
            Err(PlanError::Read(_))
        ));
    }

    #[test]
    fn stderr_lines_escape_control_characters() {
        use crate::output::printable;
        assert_eq!(printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(printable("plain-name"), "plain-name");
    }
}
