//! The scan report and its formats.
//!
//! Owns: [`Report`], the one document every format renders (its JSON form is the documented,
//! stable schema `kyuubi-reaper.scan/v1`); [`render`] into any writer as a table (comfy-table),
//! JSON, YAML or `name`; the one-line summary for stderr; and the progress spinner (indicatif,
//! stderr only, hidden when stderr is not a terminal). All comfy-table and indicatif use is
//! here. Must not: decide verdicts, or write to stdout except through the writer it is given.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiff::Timestamp;
use serde::Serialize;

use crate::classify::{Class, Evidence, Judgement, Verdict};
use crate::duration::human;
use crate::pod::{PodInfo, PodPhase, PodRef};
use crate::state::{SourceKind, SourceSummary};

pub(crate) mod reap;
mod yaml;

/// The version of the JSON/YAML document. Fields may be added within a version; none is
/// removed or changes meaning.
pub(crate) const SCHEMA: &str = "kyuubi-reaper.scan/v1";

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A table for people.
    Table,
    /// The JSON document.
    Json,
    /// The same document as YAML.
    Yaml,
    /// `namespace/name` of every orphan, one per line.
    Name,
}

/// One judged pod, as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PodReport {
    /// Which pod: the report fields `context` to `app_id`.
    #[serde(flatten)]
    pub id: PodRef,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `metadata.creationTimestamp`.
    pub created_at: Timestamp,
    /// When it terminated, for terminated pods.
    pub terminated_at: Option<Timestamp>,
    /// Seconds since it terminated, measured against the run's clock.
    pub terminated_seconds_ago: Option<i64>,
    /// `orphan`, `suspect` or `keep`.
    pub verdict: Verdict,
    /// The rule outcome class (e.g. `terminated`, `batch-active`).
    pub class: Class,
    /// The rule number of design §3.
    pub rule: u8,
    /// One line for people.
    pub reason: String,
    /// The facts behind the verdict.
    pub evidence: Vec<Evidence>,
}

impl PodReport {
    /// Joins a pod with its judgement; `now` is the clock it was judged against.
    #[must_use]
    pub(crate) fn new(pod: &PodInfo, judgement: Judgement, now: Timestamp) -> Self {
        let terminated_at = pod.terminated.map(|t| t.at);
        Self {
            id: PodRef::of(pod),
            phase: pod.phase,
            created_at: pod.created_at,
            terminated_at,
            terminated_seconds_ago: terminated_at.map(|t| now.duration_since(t).as_secs()),
            verdict: judgement.verdict,
            class: judgement.class,
            rule: judgement.rule,
            reason: judgement.reason,
            evidence: judgement.evidence,
        }
    }
}

/// The clock a group of pods was judged against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Clock {
    /// The context the pods came from (null: pod file or in-cluster).
    pub context: Option<String>,
    /// The time used as "now".
    pub now: Timestamp,
    /// Where the time came from.
    pub from: ClockSource,
}

/// Where a judging clock's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ClockSource {
    /// The API server's `Date` header.
    ApiServer,
    /// The local clock (pod files; a server that sent no `Date`).
    Local,
}

impl ClockSource {
    /// As reports and logs spell it.
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ClockSource::ApiServer => "api-server",
            ClockSource::Local => "local",
        }
    }
}

/// Counts over the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// Candidate pods judged.
    pub candidates: usize,
    /// Orphans.
    pub orphans: usize,
    /// Suspects.
    pub suspects: usize,
    /// Kept pods.
    pub kept: usize,
    /// Candidate pods skipped because they lacked a name, namespace or creation time.
    pub skipped: usize,
    /// Distinct namespaces among the candidates.
    pub namespaces: usize,
    /// Pods per class.
    pub by_class: BTreeMap<&'static str, usize>,
}

/// The whole scan result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The judged pods, sorted by context, namespace and name.
    pub pods: Vec<PodReport>,
    /// Counts.
    pub summary: Summary,
    /// The state sources that were loaded.
    pub sources: Vec<SourceSummary>,
    /// The clocks the pods were judged against.
    pub clocks: Vec<Clock>,
    /// Candidate pods that could not be judged, with the reason.
    pub skipped: Vec<String>,
    /// Where the pods were listed: `cluster` (a plan `reap --plan` can apply) or `file`.
    pub pods_from: &'static str,
    /// When the report was made (the local clock): `reap --plan` refuses an old plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<Timestamp>,
}

impl Report {
    /// Builds the report, sorting the pods and counting.
    #[must_use]
    pub(crate) fn new(
        mut pods: Vec<PodReport>,
        sources: Vec<SourceSummary>,
        clocks: Vec<Clock>,
        skipped: Vec<String>,
    ) -> Self {
        pods.sort_by(|a, b| {
            (&a.id.context, &a.id.namespace, &a.id.name).cmp(&(
                &b.id.context,
                &b.id.namespace,
                &b.id.name,
            ))
        });
        let mut summary = Summary {
            candidates: pods.len(),
            skipped: skipped.len(),
            ..Summary::default()
        };
        let mut namespaces = std::collections::BTreeSet::new();
        for pod in &pods {
            match pod.verdict {
                Verdict::Orphan => summary.orphans += 1,
                Verdict::Suspect => summary.suspects += 1,
                Verdict::Keep => summary.kept += 1,
            }
            *summary.by_class.entry(pod.class.as_str()).or_default() += 1;
            namespaces.insert((&pod.id.context, &pod.id.namespace));
        }
        summary.namespaces = namespaces.len();
        Self {
            schema: SCHEMA,
            pods,
            summary,
            sources,
            clocks,
            skipped,
            pods_from: "cluster",
            generated_at: None,
        }
    }

    /// The one-line summary printed on stderr.
    #[must_use]
    pub(crate) fn summary_line(&self) -> String {
        let s = &self.summary;
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut line = format!(
            "{} in {}: {}, {}, {} kept",
            plural(s.candidates, "candidate pod"),
            plural(s.namespaces, "namespace"),
            plural(s.orphans, "orphan"),
            plural(s.suspects, "suspect"),
            s.kept,
        );
        if s.skipped > 0 {
            let _ = write!(line, ", {} skipped", s.skipped);
        }
        let stores: Vec<_> = self
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::Store)
            .collect();
        let zk: Vec<_> = self
            .sources
            .iter()
            .filter(|s| s.kind == SourceKind::ZooKeeper)
            .collect();
        let mut state = Vec::new();
        if !stores.is_empty() {
            state.push(format!(
                "{}, {}, {}",
                plural(stores.len(), "store"),
                plural(stores.iter().map(|s| s.batches).sum(), "batch row"),
                plural(
                    stores.iter().map(|s| s.engine_infos).sum(),
                    "k8s_engine_info row"
                ),
            ));
        }
        if !zk.is_empty() {
            let as_of = zk.iter().map(|s| s.as_of).min().unwrap_or_default();
            state.push(format!(
                "ZooKeeper: {}, {} live, as of {as_of}",
                plural(
                    zk.iter().map(|s| s.registrations).sum(),
                    "engine registration"
                ),
                zk.iter().map(|s| s.live_registrations).sum::<usize>(),
            ));
        }
        if !state.is_empty() {
            let _ = write!(line, " (state: {})", state.join("; "));
        }
        line
    }
}

/// Renders the report in `format` to `out`. `width` wraps the table to a terminal's width.
pub(crate) fn render(
    report: &Report,
    format: Format,
    color: bool,
    width: Option<u16>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => {
            if report.pods.is_empty() {
                writeln!(out, "No candidate pods found.")
            } else {
                writeln!(out, "{}", table(report, color, width))
            }
        }
        Format::Json | Format::Yaml => write_document(report, format, out),
        Format::Name => {
            for pod in report.pods.iter().filter(|p| p.verdict == Verdict::Orphan) {
                writeln!(out, "{}", pod.id.display())?;
            }
            Ok(())
        }
    }
}

/// Writes a report as pretty JSON or as YAML (the same document); `Table` and `Name` are not
/// documents and write nothing.
pub(crate) fn write_document<T: Serialize>(
    document: &T,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    // A buffer of a concrete type in front of the `dyn` writer: the serializers make a call per
    // token, which then lands in an inlined copy, not in a virtual call each.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, document)?;
            writeln!(out)?;
        }
        Format::Yaml => yaml::to_writer(&mut out, document)?,
        Format::Table | Format::Name => {}
    }
    out.flush()
}

/// A table in the reports' style: coloured or not, wrapped to `width` when one is given.
pub(crate) fn styled_table(color: bool, width: Option<u16>) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    if let Some(w) = width {
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(w);
    } else {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    table
}

/// `text` with control characters (newlines, escape sequences) shown escaped.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The last step of every command: the report on stdout (wrapped to the terminal's width when
/// stdout is one), flushed, then the summary line on stderr unless `quiet`.
pub(crate) fn deliver(
    out: &mut dyn Write,
    stdout_is_terminal: bool,
    quiet: bool,
    render: impl FnOnce(Option<u16>, &mut dyn Write) -> io::Result<()>,
    summary: &str,
) -> io::Result<()> {
    let width = stdout_is_terminal.then(terminal_width).flatten();
    render(width, out)?;
    out.flush()?;
    if !quiet {
        eprintln!("{summary}");
    }
    Ok(())
}

/// The terminal's width, when it can be told.
#[must_use]
fn terminal_width() -> Option<u16> {
    Table::new().width()
}

/// The table for people: namespace, pod, tag, phase, time since termination, verdict, class and
/// reason (and the context, when pods came from more than one).
#[must_use]
pub(crate) fn table(report: &Report, color: bool, width: Option<u16>) -> Table {
    let contexts: std::collections::BTreeSet<_> =
        report.pods.iter().map(|p| &p.id.context).collect();
    let show_context = contexts.len() > 1;
    let mut table = styled_table(color, width);
    let mut header = vec![
        "NAMESPACE",
        "POD",
        "TAG",
        "PHASE",
        "TERMINATED",
        "VERDICT",
        "CLASS",
        "REASON",
    ];
    if show_context {
        header.insert(0, "CONTEXT");
    }
    table.set_header(header);
    for pod in &report.pods {
        let terminated = pod.terminated_seconds_ago.map_or_else(
            || "-".to_string(),
            |s| format!("{} ago", human(jiff::SignedDuration::from_secs(s))),
        );
        let verdict = Cell::new(pod.verdict.as_str());
        let verdict = if color {
            verdict.fg(match pod.verdict {
                Verdict::Orphan => Color::Red,
                Verdict::Suspect => Color::Yellow,
                Verdict::Keep => Color::Green,
            })
        } else {
            verdict
        };
        let mut row = vec![
            Cell::new(printable(&pod.id.namespace)),
            Cell::new(printable(&pod.id.name)),
            Cell::new(printable(&pod.id.tag)),
            Cell::new(pod.phase.as_str()),
            Cell::new(terminated),
            verdict,
            Cell::new(pod.class.as_str()),
            Cell::new(printable(&pod.reason)),
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

/// A spinner on stderr while pods are listed; draws nothing when stderr is not a terminal.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A spinner, shown only when `enabled` (stderr is a terminal and not `--quiet`).
    #[must_use]
    pub(crate) fn new(enabled: bool) -> Self {
        let bar = if enabled {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Self { bar }
    }

    /// Updates the message.
    pub(crate) fn message(&self, message: String) {
        self.bar.set_message(message);
    }

    /// Removes the spinner.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{Judgement, Verdict};
    use crate::pod::{Termination, TerminationSource};

    fn pod(ns: &str, name: &str, phase: PodPhase) -> PodInfo {
        PodInfo {
            context: None,
            namespace: ns.into(),
            name: name.into(),
            uid: Some(format!("uid-{name}")),
            resource_version: Some("9".into()),
            tag: format!("tag-{name}"),
            app_id: Some("spark-1".into()),
            phase,
            created_at: "2026-11-20T00:00:00Z".parse().unwrap(),
            deleting_since: None,
            terminated: phase.is_terminal().then(|| Termination {
                at: "2026-11-26T00:00:00Z".parse().unwrap(),
                source: TerminationSource::DriverContainer,
            }),
        }
    }

    fn judged(verdict: Verdict, class: Class) -> Judgement {
        Judgement {
            verdict,
            class,
            rule: 6,
            reason: "because".into(),
            evidence: vec![],
        }
    }

    fn report() -> Report {
        let now: Timestamp = "2026-11-27T00:00:00Z".parse().unwrap();
        let pods = vec![
            PodReport::new(
                &pod("b", "z", PodPhase::Running),
                judged(Verdict::Keep, Class::NoEvidence),
                now,
            ),
            PodReport::new(
                &pod("a", "y", PodPhase::Succeeded),
                judged(Verdict::Orphan, Class::Terminated),
                now,
            ),
            PodReport::new(
                &pod("a", "x", PodPhase::Pending),
                judged(Verdict::Suspect, Class::StuckPending),
                now,
            ),
        ];
        Report::new(
            pods,
            vec![],
            vec![Clock {
                context: None,
                now,
                from: ClockSource::Local,
            }],
            vec![],
        )
    }

    #[test]
    fn pods_are_sorted_and_counted() {
        let r = report();
        let names: Vec<_> = r.pods.iter().map(|p| p.id.name.as_str()).collect();
        assert_eq!(names, ["x", "y", "z"]);
        assert_eq!(
            (r.summary.orphans, r.summary.suspects, r.summary.kept),
            (1, 1, 1)
        );
        assert_eq!(r.summary.namespaces, 2);
        assert_eq!(r.summary.by_class["terminated"], 1);
        assert_eq!(r.pods[1].terminated_seconds_ago, Some(86_400));
        assert_eq!(
            r.summary_line(),
            "3 candidate pods in 2 namespaces: 1 orphan, 1 suspect, 1 kept"
        );
    }

    #[test]
    fn name_format_lists_orphans_only() {
        let mut out = Vec::new();
        render(&report(), Format::Name, false, None, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a/y\n");
    }

    #[test]
    fn json_follows_the_schema() {
        let mut out = Vec::new();
        render(&report(), Format::Json, false, None, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        let p = &v["pods"][1];
        for key in [
            "context",
            "namespace",
            "name",
            "uid",
            "tag",
            "phase",
            "verdict",
            "class",
            "reason",
            "evidence",
        ] {
            assert!(p.get(key).is_some(), "missing {key}");
        }
        assert_eq!(p["verdict"], "orphan");
        assert_eq!(p["class"], "terminated");
        assert_eq!(p["phase"], "Succeeded");
        assert_eq!(p["context"], serde_json::Value::Null);
        assert_eq!(v["summary"]["orphans"], 1);
        assert_eq!(v["clocks"][0]["from"], "local");
    }

    #[test]
    fn yaml_is_the_same_document() {
        let mut json = Vec::new();
        render(&report(), Format::Json, false, None, &mut json).unwrap();
        let mut yaml = Vec::new();
        render(&report(), Format::Yaml, false, None, &mut yaml).unwrap();
        let from_json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let from_yaml: serde_json::Value = serde_yaml::from_slice(&yaml).unwrap();
        assert_eq!(from_json, from_yaml);
    }

    #[test]
    fn table_has_the_documented_columns_and_no_color_codes_when_off() {
        let text = table(&report(), false, Some(200)).to_string();
        let header = text.lines().nth(1).unwrap();
        for column in [
            "NAMESPACE",
            "POD",
            "TAG",
            "PHASE",
            "TERMINATED",
            "VERDICT",
            "CLASS",
            "REASON",
        ] {
            assert!(header.contains(column), "{header}");
        }
        assert!(!header.contains("CONTEXT"));
        assert!(text.contains("1d ago"));
        assert!(!text.contains('\u{1b}'));
        let colored = table(&report(), true, Some(200)).to_string();
        assert!(colored.contains('\u{1b}'));
    }

    #[test]
    fn an_empty_report_says_so() {
        let r = Report::new(vec![], vec![], vec![], vec![]);
        let mut out = Vec::new();
        render(&r, Format::Table, false, None, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "No candidate pods found.\n"
        );
    }
}
