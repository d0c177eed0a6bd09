//! The reap report and its formats, the delete progress bar, and the plan shown before asking.
//!
//! Owns: [`ReapReport`], whose JSON form is the documented schema `kyuubi-reaper.reap/v1`;
//! rendering it as a table, JSON, YAML or `name` (the pods deleted); its one-line summary; the
//! summary of what is about to be deleted ([`plan_summary`]); and [`DeleteProgress`], an
//! indicatif bar on stderr (done/total, rate, ETA) that is hidden when stderr is not a
//! terminal. Must not: decide outcomes, or write to stdout except through the writer it is given.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use comfy_table::{Cell, Color, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;
use serde::Serialize;

use super::{Clock, Format, printable, styled_table, write_document};
use crate::pod::PodRef;
use crate::reaper::plan::Target;
use crate::reaper::{Outcome, OutcomeKind};
use crate::state::SourceSummary;

/// The version of the reap JSON/YAML document. Fields may be added within a version; none is
/// removed or changes meaning.
pub(crate) const REAP_SCHEMA: &str = "kyuubi-reaper.reap/v1";

/// One target and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PodOutcome {
    /// Which pod, with the uid and resourceVersion preconditions of its DELETE.
    #[serde(flatten)]
    pub id: PodRef,
    /// The verdict class.
    pub class: String,
    /// The rule of design §3.
    pub rule: u8,
    /// `deleted`, `gone`, `changed`, `failed` or `dry-run`.
    pub outcome: OutcomeKind,
    /// DELETE requests sent.
    pub attempts: u32,
    /// HTTP status of the last answer.
    pub http_status: Option<u16>,
    /// The last error, if any.
    pub last_error: Option<String>,
}

impl PodOutcome {
    /// Joins a target with its outcome.
    #[must_use]
    pub(crate) fn new(target: &Target, outcome: &Outcome) -> Self {
        Self {
            id: target.id.clone(),
            class: target.class.clone(),
            rule: target.rule,
            outcome: outcome.kind,
            attempts: outcome.attempts,
            http_status: outcome.http_status,
            last_error: outcome.error.clone(),
        }
    }
}

/// Counts over the reap.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct ReapSummary {
    /// Candidate pods judged (or in the plan).
    pub candidates: usize,
    /// Orphans: the targets.
    pub orphans: usize,
    /// Deleted.
    pub deleted: usize,
    /// Already gone.
    pub gone: usize,
    /// Changed since judged: skipped.
    pub changed: usize,
    /// Not deleted.
    pub failed: usize,
    /// Dry run.
    pub dry_run: usize,
    /// DELETE requests sent in all.
    pub requests: u64,
    /// The run was interrupted (SIGINT/SIGTERM).
    pub interrupted: bool,
    /// The `--audit-log` could not be written, which stopped the run.
    pub audit_log_failed: bool,
    /// Seconds from the first delete to the last outcome.
    pub elapsed_seconds: f64,
    /// Outcomes per second over `elapsed_seconds`.
    pub rate_per_second: f64,
}

/// The whole reap result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReapReport {
    /// Always [`REAP_SCHEMA`].
    pub schema: &'static str,
    /// This run's id, as in the audit log.
    pub run_id: String,
    /// `delete`, `dry-run-client` or `dry-run-server`.
    pub mode: &'static str,
    /// The plan applied, if the run applied one.
    pub plan: Option<String>,
    /// When deleting began.
    pub started_at: Timestamp,
    /// When the last outcome was known.
    pub finished_at: Timestamp,
    /// Every target, in the order the work was done.
    pub pods: Vec<PodOutcome>,
    /// Counts.
    pub summary: ReapSummary,
    /// The state sources that judged the pods (empty for a plan).
    pub sources: Vec<SourceSummary>,
    /// The clocks the pods were judged against.
    pub clocks: Vec<Clock>,
    /// Candidate pods that could not be judged, with the reason.
    pub skipped: Vec<String>,
}

impl ReapReport {
    /// Counts the outcomes. `elapsed` is the wall time of the deleting.
    #[must_use]
    #[allow(clippy::cast_precision_loss, clippy::too_many_arguments)]
    pub(crate) fn new(
        run_id: String,
        mode: &'static str,
        candidates: usize,
        pods: Vec<PodOutcome>,
        (started_at, finished_at): (Timestamp, Timestamp),
        elapsed: std::time::Duration,
        interrupted: bool,
        context: (Vec<SourceSummary>, Vec<Clock>, Vec<String>),
    ) -> Self {
        let mut summary = ReapSummary {
            candidates,
            orphans: pods.len(),
            interrupted,
            elapsed_seconds: elapsed.as_secs_f64(),
            ..ReapSummary::default()
        };
        for pod in &pods {
            summary.requests += u64::from(pod.attempts);
            match pod.outcome {
                OutcomeKind::Deleted => summary.deleted += 1,
                OutcomeKind::Gone => summary.gone += 1,
                OutcomeKind::Changed => summary.changed += 1,
                OutcomeKind::Failed => summary.failed += 1,
                OutcomeKind::DryRun => summary.dry_run += 1,
            }
        }
        if summary.elapsed_seconds > 0.0 {
            summary.rate_per_second = pods.len() as f64 / summary.elapsed_seconds;
        }
        let (sources, clocks, skipped) = context;
        Self {
            schema: REAP_SCHEMA,
            run_id,
            mode,
            plan: None,
            started_at,
            finished_at,
            pods,
            summary,
            sources,
            clocks,
            skipped,
        }
    }

    /// The one-line summary printed on stderr.
    #[must_use]
    pub(crate) fn summary_line(&self) -> String {
        let s = &self.summary;
        let done = if s.dry_run > 0 || self.mode != "delete" {
            format!("{} dry-run", s.dry_run)
        } else {
            format!("{} deleted", s.deleted)
        };
        format!(
            "reap{}: {} orphans of {} candidate pods: {done}, {} gone, {} changed, {} failed; {} \
             DELETE requests in {:.1}s ({:.1}/s){}",
            if self.mode == "delete" {
                String::new()
            } else {
                format!(" ({})", self.mode)
            },
            s.orphans,
            s.candidates,
            s.gone,
            s.changed,
            s.failed,
            s.requests,
            s.elapsed_seconds,
            s.rate_per_second,
            if s.interrupted { "; interrupted" } else { "" }
        )
    }
}

/// Renders the reap report in `format` to `out`.
pub(crate) fn render(
    report: &ReapReport,
    format: Format,
    color: bool,
    width: Option<u16>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => {
            if report.pods.is_empty() {
                writeln!(out, "No orphans to delete.")
            } else {
                writeln!(out, "{}", table(report, color, width))
            }
        }
        Format::Json | Format::Yaml => write_document(report, format, out),
        Format::Name => {
            let done = |kind: OutcomeKind| match kind {
                OutcomeKind::Deleted | OutcomeKind::DryRun => true,
                OutcomeKind::Gone | OutcomeKind::Changed | OutcomeKind::Failed => false,
            };
            for pod in report.pods.iter().filter(|p| done(p.outcome)) {
                writeln!(out, "{}", pod.id.display())?;
            }
            Ok(())
        }
    }
}

fn table(report: &ReapReport, color: bool, width: Option<u16>) -> Table {
    let contexts: std::collections::BTreeSet<_> =
        report.pods.iter().map(|p| &p.id.context).collect();
    let show_context = contexts.len() > 1;
    let mut table = styled_table(color, width);
    let mut header = vec![
        "NAMESPACE",
        "POD",
        "TAG",
        "CLASS",
        "OUTCOME",
        "ATTEMPTS",
        "ERROR",
    ];
    if show_context {
        header.insert(0, "CONTEXT");
    }
    table.set_header(header);
    for pod in &report.pods {
        let outcome = Cell::new(pod.outcome.as_str());
        let outcome = if color {
            outcome.fg(match pod.outcome {
                OutcomeKind::Deleted | OutcomeKind::Gone => Color::Green,
                OutcomeKind::Changed | OutcomeKind::DryRun => Color::Yellow,
                OutcomeKind::Failed => Color::Red,
            })
        } else {
            outcome
        };
        let mut row = vec![
            Cell::new(printable(&pod.id.namespace)),
            Cell::new(printable(&pod.id.name)),
            Cell::new(printable(&pod.id.tag)),
            Cell::new(printable(&pod.class)),
            outcome,
            Cell::new(pod.attempts),
            Cell::new(printable(pod.last_error.as_deref().unwrap_or(""))),
        ];
        if show_context {
            row.insert(
                0,
                Cell::new(printable(pod.id.context.as_deref().unwrap_or("-"))),
            );
        }
        table.add_row(row);
    }
    table
}

/// What is about to be deleted, for the question asked in a terminal: counts by context and
/// namespace, and by class.
#[must_use]
pub(crate) fn plan_summary(targets: &[Target]) -> String {
    let mut by_namespace: BTreeMap<(Option<&str>, &str), usize> = BTreeMap::new();
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for t in targets {
        *by_namespace
            .entry((t.id.context.as_deref(), t.id.namespace.as_str()))
            .or_default() += 1;
        *by_class.entry(t.class.as_str()).or_default() += 1;
    }
    let mut text = format!("{} pods will be deleted:\n", targets.len());
    for ((context, namespace), n) in &by_namespace {
        let place = match context {
            Some(c) => format!("{c}/{namespace}"),
            None => (*namespace).to_string(),
        };
        let _ = writeln!(text, "  {n:>6}  {}", super::printable(&place));
    }
    let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{n} {c}")).collect();
    let _ = writeln!(text, "by class: {}", classes.join(", "));
    text
}

/// A progress bar on stderr while deleting; draws nothing when stderr is not a terminal.
pub(crate) struct DeleteProgress {
    bar: ProgressBar,
}

impl DeleteProgress {
    /// A bar of `total` steps, shown only when `enabled`.
    #[must_use]
    pub(crate) fn new(enabled: bool, total: usize) -> Self {
        let bar = if enabled {
            let bar = ProgressBar::with_draw_target(
                Some(u64::try_from(total).unwrap_or(u64::MAX)),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} deleted or skipped, {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    /// One more outcome.
    pub(crate) fn inc(&self) {
        self.bar.inc(1);
    }

    /// Prints a line on stderr above the bar.
    pub(crate) fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
/// One outcome for people on stderr, with control characters escaped.
pub(crate) fn outcome_line(target: &Target, outcome: &Outcome) -> String {
    let mut line = format!(
        "{} pod {} (tag {}, class {}, uid {}",
        outcome.kind.as_str(),
        printable(&target.id.display()),
        printable(&target.id.tag),
        target.class,
        printable(target.id.uid.as_deref().unwrap_or("-")),
    );
    if let Some(context) = &target.id.context {
        let _ = write!(line, ", context {}", printable(context));
    }
    if outcome.attempts > 1 {
        let _ = write!(line, ", {} attempts", outcome.attempts);
    }
    line.push(')');
    if let Some(error) = &outcome.error {
        let _ = write!(line, ": {}", printable(error));
    }
    line
}
