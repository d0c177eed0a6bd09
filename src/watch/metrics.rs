//! The Prometheus metrics of `watch`: one registry, its metric families, and the text that
//! `/metrics` serves.
//!
//! Owns: the metric names (all prefixed `kyuubi_reaper_`), their HELP texts, label names and
//! histogram buckets; replacing whole label sets where a metric describes the present (candidate
//! pods, state sources) so that nothing stale is reported; and rendering in the `OpenMetrics` text
//! format, label values escaped by `prometheus-client`. Must not: use a global recorder, decide
//! what a verdict, outcome or refusal is (callers pass their names as text), read the clock,
//! or serve HTTP (that is `watch::http`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// The prefix of every metric name.
const PREFIX: &str = "kyuubi_reaper";

/// Upper bounds of the delete latency buckets, in seconds: roughly exponential (×2 to ×2.5) from
/// 5 ms, a fast answer from a nearby API server, to 30 s, beyond the request policy's
/// retries under throttling.
const DELETE_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The delete outcomes reported at 0 from the start, so that a rate over them is defined before
/// the first delete. Others passed to [`Metrics::deletion`] appear when first counted.
const KNOWN_OUTCOMES: [&str; 5] = ["deleted", "gone", "changed", "failed", "dry-run"];

/// The labels of `candidate_pods`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, EncodeLabelSet)]
struct CandidateLabels {
    /// `orphan`, `suspect` or `keep`.
    verdict: String,
    /// Why, e.g. `terminated`, `within-retain`, `engine-registered`.
    class: String,
}

/// The label of `deletions_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    /// `deleted`, `gone`, `changed`, `failed`, `dry-run`.
    outcome: String,
}

/// The label of `api_errors_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabels {
    /// An HTTP status as text (`429`), or a word for no answer (`timeout`).
    code: String,
}

/// The label of `state_age_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabels {
    /// The state source as named by its loader (a store path, a ZooKeeper data dir).
    source: String,
}

/// The label of `gate_refusals_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    /// The refusal's name, e.g. `stale-state`, `max-deletions`.
    reason: String,
}

/// The registry of `watch` and handles on its metric families. `Send + Sync`: shared through an
/// `Arc` between the loop, which records, and the HTTP server, which renders.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Every family below, registered once; only read by [`Metrics::render`].
    registry: Registry,
    /// `candidate_pods{verdict,class}`.
    candidates: Family<CandidateLabels, Gauge<u64, AtomicU64>>,
    /// The label sets `candidates` holds now, so that a new set can drop those it lacks. Its
    /// lock also orders concurrent [`Metrics::set_candidates`] calls.
    candidate_sets: Mutex<BTreeSet<CandidateLabels>>,
    /// `deletions_total{outcome}`.
    deletions: Family<OutcomeLabels, Counter>,
    /// `delete_duration_seconds`.
    delete_duration: Histogram,
    /// `api_errors_total{code}`.
    api_errors: Family<CodeLabels, Counter>,
    /// `state_age_seconds{source}`.
    state_ages: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    /// The sources `state_ages` holds now; its lock orders updates and removals.
    state_sources: Mutex<BTreeSet<String>>,
    /// `last_reconcile_timestamp_seconds`.
    last_reconcile: Gauge<f64, AtomicU64>,
    /// `gate_refusals_total{reason}`.
    gate_refusals: Family<ReasonLabels, Counter>,
    /// `leader`.
    leader: Gauge<i64, AtomicI64>,
}

impl Metrics {
    /// A registry with every metric of `watch` registered: no candidates, no state sources, the
    /// known delete outcomes at 0, no reconcile yet (timestamp 0), not the leader.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let candidates = Family::<CandidateLabels, Gauge<u64, AtomicU64>>::default();
        let deletions = Family::<OutcomeLabels, Counter>::default();
        let delete_duration = Histogram::new(DELETE_BUCKETS);
        let api_errors = Family::<CodeLabels, Counter>::default();
        let state_ages = Family::<SourceLabels, Gauge<f64, AtomicU64>>::default();
        let last_reconcile = Gauge::<f64, AtomicU64>::default();
        let gate_refusals = Family::<ReasonLabels, Counter>::default();
        let leader = Gauge::<i64, AtomicI64>::default();

        registry.register(
            "candidate_pods",
            "Candidate pods known at the last reconcile, by verdict (orphan, suspect, keep) and \
             the class of the reason",
            candidates.clone(),
        );
        registry.register(
            "deletions",
            "Pod deletes by outcome (deleted, gone, changed, failed, dry-run)",
            deletions.clone(),
        );
        registry.register_with_unit(
            "delete_duration",
            "Time from sending a pod delete to its final answer, retries included",
            Unit::Seconds,
            delete_duration.clone(),
        );
        registry.register(
            "api_errors",
            "Failed Kubernetes API calls, by HTTP status or a word for no answer (timeout, \
             connection)",
            api_errors.clone(),
        );
        registry.register_with_unit(
            "state_age",
            "Age of each loaded state source's as-of time",
            Unit::Seconds,
            state_ages.clone(),
        );
        registry.register_with_unit(
            "last_reconcile_timestamp",
            "Unix time of the last reconcile that completed without error (0: none yet)",
            Unit::Seconds,
            last_reconcile.clone(),
        );
        registry.register(
            "gate_refusals",
            "Refusals of the safety gate, by reason",
            gate_refusals.clone(),
        );
        registry.register(
            "leader",
            "Whether this replica holds the leader lease (1) or not (0)",
            leader.clone(),
        );

        for outcome in KNOWN_OUTCOMES {
            drop(deletions.get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            }));
        }

        Self {
            registry,
            candidates,
            candidate_sets: Mutex::new(BTreeSet::new()),
            deletions,
            delete_duration,
            api_errors,
            state_ages,
            state_sources: Mutex::new(BTreeSet::new()),
            last_reconcile,
            gate_refusals,
            leader,
        }
    }

    /// Candidate pods currently known, by `(verdict, class)`. Replaces the whole previous set: a
    /// pair absent from `counts` is no longer reported at all. A pair given twice counts the sum.
    /// New values are set before old pairs are dropped, so a scrape in between never sees a
    /// pair missing that both sets hold.
    pub(crate) fn set_candidates(&self, counts: &[((&str, &str), u64)]) {
        let mut next = BTreeMap::<CandidateLabels, u64>::new();
        for &((verdict, class), count) in counts {
            let labels = CandidateLabels {
                verdict: verdict.to_string(),
                class: class.to_string(),
            };
            let sum = next.entry(labels).or_default();
            *sum = sum.saturating_add(count);
        }
        let mut current = self
            .candidate_sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (labels, count) in &next {
            self.candidates.get_or_create(labels).set(*count);
        }
        for stale in current.iter().filter(|labels| !next.contains_key(*labels)) {
            self.candidates.remove(stale);
        }
        *current = next.into_keys().collect();
    }

    /// One delete outcome (`deleted`, `gone`, `changed`, `failed`, `dry-run`); `latency`, the
    /// time from sending to the final answer, is observed in `delete_duration_seconds` when
    /// given.
    pub(crate) fn deletion(&self, outcome: &str, latency: Option<Duration>) {
        self.deletions
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .inc();
        if let Some(latency) = latency {
            self.delete_duration.observe(latency.as_secs_f64());
        }
    }

    /// One failed API call, by HTTP code as text (`"429"`, `"503"`) or a word for no answer
    /// (`"timeout"`, `"connection"`).
    pub(crate) fn api_error(&self, code: &str) {
        self.api_errors
            .get_or_create(&CodeLabels {
                code: code.to_string(),
            })
            .inc();
    }

    /// How old a state source's as-of time is now, in seconds, by source name. Negative ages (a
    /// source ahead of the local clock) are reported as they are; a non-finite age, which no
    /// clock gives, is ignored so that the output stays parseable.
    pub(crate) fn state_age(&self, source: &str, age_seconds: f64) {
        if !age_seconds.is_finite() {
            tracing::debug!(source, age_seconds, "non-finite state age not reported");
            return;
        }
        let mut sources = self
            .state_sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.state_ages
            .get_or_create(&SourceLabels {
                source: source.to_string(),
            })
            .set(age_seconds);
        if !sources.contains(source) {
            sources.insert(source.to_string());
        }
    }

    /// Forgets the state sources not in `names` (the ones now loaded): their age is no longer
    /// reported. Names not yet reported are not added.
    pub(crate) fn retain_state_sources(&self, names: &[&str]) {
        let mut sources = self
            .state_sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sources.retain(|source| {
            let keep = names.contains(&source.as_str());
            if !keep {
                self.state_ages.remove(&SourceLabels {
                    source: source.clone(),
                });
            }
            keep
        });
    }

    /// The time of the last reconcile that completed without error, as Unix seconds with their
    /// fraction.
    pub(crate) fn reconciled(&self, at: Timestamp) {
        self.last_reconcile.set(at.as_duration().as_secs_f64());
    }

    /// One refusal of the safety gate, by reason (`stale-state`, `empty-state`,
    /// `max-deletions`, `max-orphan-ratio`, …).
    pub(crate) fn gate_refusal(&self, reason: &str) {
        self.gate_refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Whether this replica is the leader (1) or not (0); without leader election the caller
    /// sets 1.
    pub(crate) fn leader(&self, is_leader: bool) {
        self.leader.set(i64::from(is_leader));
    }

    /// The whole registry in the `OpenMetrics` text format, `# EOF` included.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            // Writing to a `String` cannot fail, and the encoder fails only when its writer
            // does; still, a half-written exposition must not be served.
            tracing::error!(%error, "cannot encode the metrics");
            return "# EOF\n".to_string();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sample line of the exposition.
    #[derive(Debug, Clone, PartialEq)]
    struct Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    }

    /// Parses an `OpenMetrics` text exposition strictly enough to catch a broken line: only
    /// HELP/TYPE/UNIT comments, sample lines with correctly escaped label values, and `# EOF`
    /// as the very last line.
    fn parse(text: &str) -> Result<Vec<Sample>, String> {
        let body = text
            .strip_suffix("# EOF\n")
            .ok_or_else(|| format!("no `# EOF` at the end: {text:?}"))?;
        let mut samples = Vec::new();
        for line in body.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut words = comment.splitn(3, ' ');
                let (kind, name, rest) = (words.next(), words.next(), words.next());
                match (kind, name, rest) {
                    (Some("HELP"), Some(name), Some(_)) if name.starts_with(PREFIX) => {}
                    (Some("TYPE"), Some(name), Some("gauge" | "counter" | "histogram"))
                        if name.starts_with(PREFIX) => {}
                    (Some("UNIT"), Some(name), Some("seconds")) if name.ends_with("_seconds") => {}
                    _ => return Err(format!("bad comment line {line:?}")),
                }
                continue;
            }
            samples.push(parse_sample(line)?);
        }
        Ok(samples)
    }

    /// Parses `name{k="v",…} value` or `name value`.
    fn parse_sample(line: &str) -> Result<Sample, String> {
        let bad = || format!("bad sample line {line:?}");
        let name_end = line.find(['{', ' ']).ok_or_else(bad)?;
        let name = &line[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(bad());
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(after) = rest.strip_prefix('{') {
            let mut chars = after.char_indices().peekable();
            loop {
                let (start, _) = *chars.peek().ok_or_else(bad)?;
                let eq = after[start..].find('=').ok_or_else(bad)? + start;
                let key = after[start..eq].to_string();
                while chars.peek().is_some_and(|&(i, _)| i <= eq) {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(bad());
                }
                let mut value = String::new();
                loop {
                    match chars.next().ok_or_else(bad)?.1 {
                        '"' => break,
                        '\\' => match chars.next().ok_or_else(bad)?.1 {
                            '\\' => value.push('\\'),
                            '"' => value.push('"'),
                            'n' => value.push('\n'),
                            _ => return Err(bad()),
                        },
                        '\n' => return Err(bad()),
                        c => value.push(c),
                    }
                }
                labels.push((key, value));
                match chars.next().ok_or_else(bad)? {
                    (_, ',') => {}
                    (i, '}') => {
                        rest = &after[i + 1..];
                        break;
                    }
                    _ => return Err(bad()),
                }
            }
        }
        let value = rest.strip_prefix(' ').ok_or_else(bad)?;
        let value = value.parse::<f64>().map_err(|_| bad())?;
        Ok(Sample {
            name: name.to_string(),
            labels,
            value,
        })
    }

    /// The value of the sample `name` with exactly `labels` (in any order).
    fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut wanted: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        wanted.sort();
        samples
            .iter()
            .find(|sample| {
                let mut have = sample.labels.clone();
                have.sort();
                sample.name == name && have == wanted
            })
            .map(|sample| sample.value)
    }

    /// Every sample named `name`.
    fn all<'a>(samples: &'a [Sample], name: &str) -> Vec<&'a Sample> {
        samples.iter().filter(|s| s.name == name).collect()
    }

    fn rendered(metrics: &Metrics) -> Vec<Sample> {
        let text = metrics.render();
        parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}"))
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Metrics>();
    }

    #[test]
    fn a_fresh_registry_reports_its_unlabelled_metrics_and_known_outcomes() {
        let text = Metrics::new().render();
        let samples = parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
        assert_eq!(value(&samples, "kyuubi_reaper_leader", &[]), Some(0.0));
        assert_eq!(
            value(
                &samples,
                "kyuubi_reaper_last_reconcile_timestamp_seconds",
                &[]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, "kyuubi_reaper_delete_duration_seconds_count", &[]),
            Some(0.0)
        );
        for outcome in KNOWN_OUTCOMES {
            assert_eq!(
                value(
                    &samples,
                    "kyuubi_reaper_deletions_total",
                    &[("outcome", outcome)]
                ),
                Some(0.0),
                "{outcome}"
            );
        }
        // A labelled family with no label set yet is left out entirely, HELP and TYPE too.
        assert!(!text.contains("candidate_pods"), "{text}");
        assert!(!text.contains("api_errors"), "{text}");
    }

    #[test]
    fn every_family_has_help_type_and_unit() {
        let metrics = Metrics::new();
        metrics.set_candidates(&[(("orphan", "terminated"), 1)]);
        metrics.api_error("503");
        metrics.state_age("/zk", 1.0);
        metrics.gate_refusal("stale-state");
        let text = metrics.render();
        for (name, kind, unit) in [
            ("candidate_pods", "gauge", false),
            ("deletions", "counter", false),
            ("delete_duration_seconds", "histogram", true),
            ("api_errors", "counter", false),
            ("state_age_seconds", "gauge", true),
            ("last_reconcile_timestamp_seconds", "gauge", true),
            ("gate_refusals", "counter", false),
            ("leader", "gauge", false),
        ] {
            let full = format!("kyuubi_reaper_{name}");
            assert!(
                text.contains(&format!("# TYPE {full} {kind}\n")),
                "{name} {kind}:\n{text}"
            );
            assert!(text.contains(&format!("# HELP {full} ")), "{name}:\n{text}");
            assert_eq!(
                text.contains(&format!("# UNIT {full} seconds\n")),
                unit,
                "{name}:\n{text}"
            );
        }
        assert!(parse(&text).is_ok(), "{text}");
    }

    #[test]
    fn set_candidates_replaces_the_previous_set() {
        let metrics = Metrics::new();
        metrics.set_candidates(&[
            (("orphan", "terminated"), 3),
            (("keep", "engine-registered"), 10),
            (("suspect", "within-retain"), 1),
        ]);
        let samples = rendered(&metrics);
        let name = "kyuubi_reaper_candidate_pods";
        assert_eq!(all(&samples, name).len(), 3);
        assert_eq!(
            value(
                &samples,
                name,
                &[("verdict", "orphan"), ("class", "terminated")]
            ),
            Some(3.0)
        );
        assert_eq!(
            value(
                &samples,
                name,
                &[("verdict", "keep"), ("class", "engine-registered")]
            ),
            Some(10.0)
        );

        metrics.set_candidates(&[
            (("orphan", "terminated"), 1),
            (("orphan", "terminated"), 4),
            (("keep", "within-retain"), 2),
        ]);
        let samples = rendered(&metrics);
        assert_eq!(all(&samples, name).len(), 2, "{samples:?}");
        assert_eq!(
            value(
                &samples,
                name,
                &[("verdict", "orphan"), ("class", "terminated")]
            ),
            Some(5.0)
        );
        assert_eq!(
            value(
                &samples,
                name,
                &[("verdict", "keep"), ("class", "within-retain")]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &samples,
                name,
                &[("verdict", "keep"), ("class", "engine-registered")]
            ),
            None
        );

        metrics.set_candidates(&[]);
        assert!(all(&rendered(&metrics), name).is_empty());
    }

    #[test]
    fn counters_increase() {
        let metrics = Metrics::new();
        metrics.deletion("deleted", Some(Duration::from_millis(20)));
        metrics.deletion("deleted", Some(Duration::from_secs(3)));
        metrics.deletion("gone", None);
        metrics.deletion("unheard-of", None);
        metrics.api_error("429");
        metrics.api_error("429");
        metrics.api_error("timeout");
        metrics.gate_refusal("max-deletions");
        let samples = rendered(&metrics);
        let deletions = "kyuubi_reaper_deletions_total";
        assert_eq!(
            value(&samples, deletions, &[("outcome", "deleted")]),
            Some(2.0)
        );
        assert_eq!(
            value(&samples, deletions, &[("outcome", "gone")]),
            Some(1.0)
        );
        assert_eq!(
            value(&samples, deletions, &[("outcome", "failed")]),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, deletions, &[("outcome", "unheard-of")]),
            Some(1.0)
        );
        let errors = "kyuubi_reaper_api_errors_total";
        assert_eq!(value(&samples, errors, &[("code", "429")]), Some(2.0));
        assert_eq!(value(&samples, errors, &[("code", "timeout")]), Some(1.0));
        assert_eq!(value(&samples, errors, &[("code", "503")]), None);
        assert_eq!(
            value(
                &samples,
                "kyuubi_reaper_gate_refusals_total",
                &[("reason", "max-deletions")]
            ),
            Some(1.0)
        );

        metrics.api_error("429");
        let samples = rendered(&metrics);
        assert_eq!(value(&samples, errors, &[("code", "429")]), Some(3.0));
    }

    #[test]
    fn delete_latency_lands_in_its_buckets() {
        let metrics = Metrics::new();
        metrics.deletion("deleted", Some(Duration::from_millis(20)));
        metrics.deletion("failed", Some(Duration::from_secs(3)));
        metrics.deletion("dry-run", None);
        let samples = rendered(&metrics);
        let bucket = |le: &str| {
            value(
                &samples,
                "kyuubi_reaper_delete_duration_seconds_bucket",
                &[("le", le)],
            )
        };
        assert_eq!(bucket("0.01"), Some(0.0));
        assert_eq!(bucket("0.025"), Some(1.0));
        assert_eq!(bucket("2.5"), Some(1.0));
        assert_eq!(bucket("5.0"), Some(2.0));
        assert_eq!(bucket("+Inf"), Some(2.0));
        assert_eq!(
            value(&samples, "kyuubi_reaper_delete_duration_seconds_count", &[]),
            Some(2.0)
        );
        let sum = value(&samples, "kyuubi_reaper_delete_duration_seconds_sum", &[]).unwrap();
        assert!((sum - 3.02).abs() < 1e-9, "{sum}");
    }

    #[test]
    fn state_ages_follow_the_loaded_sources() {
        let metrics = Metrics::new();
        metrics.state_age("/var/lib/kyuubi/store.db", 12.5);
        metrics.state_age("/zk/data", 3.0);
        metrics.state_age("/zk/data", 4.25);
        metrics.state_age("/nan", f64::NAN);
        metrics.state_age("/inf", f64::INFINITY);
        let name = "kyuubi_reaper_state_age_seconds";
        let samples = rendered(&metrics);
        assert_eq!(all(&samples, name).len(), 2, "{samples:?}");
        assert_eq!(
            value(&samples, name, &[("source", "/var/lib/kyuubi/store.db")]),
            Some(12.5)
        );
        assert_eq!(value(&samples, name, &[("source", "/zk/data")]), Some(4.25));

        metrics.retain_state_sources(&["/zk/data", "/never/reported"]);
        let samples = rendered(&metrics);
        assert_eq!(all(&samples, name).len(), 1, "{samples:?}");
        assert_eq!(value(&samples, name, &[("source", "/zk/data")]), Some(4.25));

        metrics.retain_state_sources(&[]);
        assert!(all(&rendered(&metrics), name).is_empty());
        metrics.state_age("/zk/data", 1.0);
        assert_eq!(
            value(&rendered(&metrics), name, &[("source", "/zk/data")]),
            Some(1.0)
        );
    }

    #[test]
    fn reconcile_time_and_leader() {
        let metrics = Metrics::new();
        let at = Timestamp::new(1_700_000_000, 250_000_000).unwrap();
        metrics.reconciled(at);
        metrics.leader(true);
        let samples = rendered(&metrics);
        assert_eq!(
            value(
                &samples,
                "kyuubi_reaper_last_reconcile_timestamp_seconds",
                &[]
            ),
            Some(1_700_000_000.25)
        );
        assert_eq!(value(&samples, "kyuubi_reaper_leader", &[]), Some(1.0));
        metrics.leader(false);
        assert_eq!(
            value(&rendered(&metrics), "kyuubi_reaper_leader", &[]),
            Some(0.0)
        );
    }

    #[test]
    fn hostile_label_values_stay_well_formed() {
        let hostile = [
            "quote\"d",
            "back\\slash",
            "new\nline",
            "ends with \\",
            "\"} 1\nkyuubi_reaper_leader 7\n# EOF\n",
            "",
            "ünïcödé",
        ];
        let metrics = Metrics::new();
        for (i, text) in hostile.iter().enumerate() {
            metrics.state_age(text, 1.0);
            metrics.api_error(text);
            metrics.gate_refusal(text);
            metrics.deletion(text, None);
            metrics.set_candidates(&[((text, text), u64::try_from(i).unwrap() + 1)]);
        }
        let rendered_text = metrics.render();
        let samples = parse(&rendered_text).unwrap_or_else(|e| panic!("{e}\n{rendered_text}"));
        assert_eq!(rendered_text.lines().filter(|l| *l == "# EOF").count(), 1);
        assert!(
            rendered_text
                .lines()
                .all(|l| l.starts_with("# ") || l.starts_with("kyuubi_reaper_")),
            "{rendered_text}"
        );
        assert_eq!(value(&samples, "kyuubi_reaper_leader", &[]), Some(0.0));
        assert_eq!(all(&samples, "kyuubi_reaper_leader").len(), 1);
        for text in hostile {
            assert_eq!(
                value(
                    &samples,
                    "kyuubi_reaper_state_age_seconds",
                    &[("source", text)]
                ),
                Some(1.0),
                "{text:?}"
            );
            assert_eq!(
                value(
                    &samples,
                    "kyuubi_reaper_api_errors_total",
                    &[("code", text)]
                ),
                Some(1.0),
                "{text:?}"
            );
            assert_eq!(
                value(
                    &samples,
                    "kyuubi_reaper_gate_refusals_total",
                    &[("reason", text)]
                ),
                Some(1.0),
                "{text:?}"
            );
        }
        let last = hostile[hostile.len() - 1];
        assert_eq!(
            value(
                &samples,
                "kyuubi_reaper_candidate_pods",
                &[("verdict", last), ("class", last)]
            ),
            Some(7.0)
        );
        assert_eq!(all(&samples, "kyuubi_reaper_candidate_pods").len(), 1);
    }

    #[test]
    fn the_test_parser_rejects_broken_lines() {
        for broken in [
            "kyuubi_reaper_x{a=\"b} 1\n# EOF\n",
            "kyuubi_reaper_x{a=\"b\nc\"} 1\n# EOF\n",
            "kyuubi_reaper_x 1\n",
            "kyuubi_reaper_x 1\n# EOF\nkyuubi_reaper_y 2\n# EOF\n",
            "# HELLO kyuubi_reaper_x\n# EOF\n",
            "kyuubi_reaper_x{a=\"\\q\"} 1\n# EOF\n",
        ] {
            assert!(parse(broken).is_err(), "{broken:?}");
        }
    }
}
