//! Errors of the core and the process exit codes they map to.
//!
//! Owns: [`Error`], one variant per operation that can fail (named after the operation, not
//! after the library that failed), and [`ExitCode`], the documented exit codes of design §5.
//! The mapping from an error to an exit code lives here and nowhere else, so it can be reviewed
//! on one screen. Must not: print anything or decide policy; callers decide what to do.

use std::fmt;
use std::path::PathBuf;

use crate::k8s::cluster::ClusterError;
use crate::k8s::file::PodFileError;
use crate::reaper::plan::PlanError;
use crate::selector::SelectorError;
use crate::state::sql::SqlError;
use crate::state::store::StoreError;
use crate::state::zk::ZkError;
use crate::state::zk::live::LiveError;

/// The process exit codes (design §5). Every path out of the program ends in one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success: no findings that were asked to fail the run.
    Success = 0,
    /// `scan --fail-on-orphans` found orphans (or `--fail-on-suspects` found suspects).
    Findings = 1,
    /// Usage or input error: bad flag, unreadable or corrupt store, snapshot or pod file.
    Input = 2,
    /// Cluster error: pods could not be listed, authentication or authorisation failed.
    Cluster = 3,
    /// Reap incomplete: some deletes failed after retries.
    ReapIncomplete = 4,
    /// Refused by the safety gate.
    Refused = 5,
}

impl ExitCode {
    /// The numeric code handed to the operating system.
    #[must_use]
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

/// Why the safety gate refused the whole run (design §4).
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// A ZooKeeper state is older than `--max-state-age`: engines that registered since would
    /// look unregistered.
    StaleState {
        /// The source, as displayed.
        source: String,
        /// Its as-of time.
        as_of: jiff::Timestamp,
        /// How old it is.
        age: jiff::SignedDuration,
        /// `--max-state-age`.
        max: jiff::SignedDuration,
    },
    /// A source's as-of time lies in the future of a clock pods are judged against (clock skew,
    /// a copy tool that set a later modification time): rule 4 would never keep a pod created
    /// after the state.
    FutureState {
        /// The source, as displayed.
        source: String,
        /// Its as-of time.
        as_of: jiff::Timestamp,
        /// The judging clock's time.
        clock: jiff::Timestamp,
        /// Which clock: `local`, or the context whose API server gave it.
        clock_name: String,
        /// How far ahead the source is.
        skew: jiff::SignedDuration,
    },
    /// ZooKeeper holds Kyuubi engine spaces, but none of the `--ha-namespace`s given: a typo or
    /// a forgotten chroot would make every interactive engine look unregistered.
    HaNamespaceMismatch {
        /// The source, as displayed.
        source: String,
        /// The `--ha-namespace` values.
        given: Vec<String>,
        /// The engine spaces found (bounded).
        found: Vec<String>,
    },
    /// More orphans than `--max-deletions`: a run that big is more likely a wrong state than a
    /// real backlog, and is never cut down to the limit.
    TooManyDeletions {
        /// Orphans found.
        orphans: usize,
        /// `--max-deletions`.
        max: usize,
    },
    /// `watch`: the deletes of the last `--window` and those due now are more than
    /// `--max-deletions`. The due ones wait until the window has room.
    WindowDeletions {
        /// DELETEs sent in the window.
        sent: usize,
        /// Orphans due now.
        due: usize,
        /// `--max-deletions`.
        max: usize,
        /// `--window`.
        window: jiff::SignedDuration,
    },
    /// Orphans are a larger share of the candidates than `--max-orphan-ratio`.
    OrphanRatio {
        /// Orphans found.
        orphans: usize,
        /// Candidate pods judged.
        candidates: usize,
        /// `--max-orphan-ratio`.
        max: f64,
    },
    /// A plan older than `--max-plan-age` (or made in the future of the local clock): the
    /// cluster and the state have moved on since it was reviewed.
    StalePlan {
        /// The plan file.
        path: String,
        /// When the plan was made.
        generated_at: jiff::Timestamp,
        /// Its age (negative: from the future).
        age: jiff::SignedDuration,
        /// `--max-plan-age`.
        max: jiff::SignedDuration,
    },
    /// The state sources know no engine at all while candidate pods exist: most likely the
    /// wrong store was given, and every terminated pod would look like an orphan.
    EmptyState {
        /// How many candidate pods were found.
        candidates: usize,
        /// The state sources that were loaded, for the message.
        sources: Vec<String>,
    },
}

impl Refusal {
    /// A short name of the refusal, as metrics label it.
    #[must_use]
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Refusal::StaleState { .. } => "stale-state",
            Refusal::FutureState { .. } => "future-state",
            Refusal::HaNamespaceMismatch { .. } => "ha-namespace-mismatch",
            Refusal::TooManyDeletions { .. } | Refusal::WindowDeletions { .. } => "max-deletions",
            Refusal::OrphanRatio { .. } => "max-orphan-ratio",
            Refusal::StalePlan { .. } => "stale-plan",
            Refusal::EmptyState { .. } => "empty-state",
        }
    }
}

impl fmt::Display for Refusal {
    #[allow(clippy::too_many_lines)] // one message per refusal, side by side for review
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::StaleState {
                source,
                as_of,
                age,
                max,
            } => write!(
                f,
                "the ZooKeeper state of {source} is {} old (last transaction at {as_of}), older \
                 than --max-state-age {}: engines that registered since would look \
                 unregistered. Read a newer snapshot or data directory, or raise \
                 --max-state-age if the ensemble really was idle since",
                crate::duration::human(*age),
                crate::duration::human(*max)
            ),
            Refusal::FutureState {
                source,
                as_of,
                clock,
                clock_name,
                skew,
            } => write!(
                f,
                "the as-of time of {source} ({as_of}) is {} ahead of the {clock_name} clock \
                 ({clock}), more than the {} tolerated: pods created since would be judged by a \
                 state that cannot know them. Fix the clock skew, or give the store its real \
                 modification time (`cp -p`, `kubectl cp`)",
                crate::duration::human(*skew),
                crate::duration::human(crate::gate::FUTURE_TOLERANCE)
            ),
            Refusal::HaNamespaceMismatch {
                source,
                given,
                found,
            } => {
                let shown: Vec<&str> = found.iter().take(10).map(String::as_str).collect();
                let more = found.len().saturating_sub(shown.len());
                write!(
                    f,
                    "{source} holds no Kyuubi engine space for --ha-namespace {}, but holds {}{}: \
                     every interactive engine would look unregistered. Pass the namespace of \
                     those spaces (the part before `_<version>`, with any chroot: e.g. \
                     --ha-namespace {})",
                    given.join(", "),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    },
                    suggestion(found.first().map_or("", String::as_str))
                )
            }
            Refusal::TooManyDeletions { orphans, max } => write!(
                f,
                "blast radius: {orphans} orphans to delete, more than --max-deletions {max}; \
                 nothing was deleted (a refused run is never cut down to the limit). Review \
                 them with `scan`, then raise --max-deletions or narrow the run with -n or -l"
            ),
            Refusal::WindowDeletions {
                sent,
                due,
                max,
                window,
            } => write!(
                f,
                "blast radius: {sent} DELETEs in the last {} and {due} orphans due now are more \
                 than --max-deletions {max}; the due orphans wait until the --window has room \
                 (none is deleted in part). Review them with `scan`, then raise --max-deletions \
                 if the backlog is real",
                crate::duration::human(*window)
            ),
            Refusal::OrphanRatio {
                orphans,
                candidates,
                max,
            } => write!(
                f,
                "blast radius: {orphans} of {candidates} candidate pods ({:.0}%) are orphans, \
                 more than --max-orphan-ratio {max}; nothing was deleted (a state that misses \
                 engines makes most pods look orphaned). Review them with `scan`, then raise \
                 --max-orphan-ratio (1 allows any share)",
                ratio_percent(*orphans, *candidates)
            ),
            Refusal::StalePlan {
                path,
                generated_at,
                age,
                max,
            } => {
                if age.is_negative() {
                    write!(
                        f,
                        "the plan {path} was made at {generated_at}, {} in the future of the \
                         local clock; fix the clock skew or make the plan again with `scan -o \
                         json`",
                        crate::duration::human(-*age)
                    )
                } else {
                    write!(
                        f,
                        "the plan {path} is {} old (made at {generated_at}), older than \
                         --max-plan-age {}: pods and state have moved on since it was \
                         reviewed. Make it again with `scan -o json`, or raise --max-plan-age",
                        crate::duration::human(*age),
                        crate::duration::human(*max)
                    )
                }
            }
            Refusal::EmptyState {
                candidates,
                sources,
            } => write!(
                f,
                "the state sources ({}) know no Kyuubi engine or batch, but {candidates} candidate \
                 pod(s) exist; refusing to judge them (is this the right store?). Pass \
                 --allow-empty-state if an empty state is really expected",
                sources.join(", ")
            ),
        }
    }
}

/// `part` of `whole` in percent, for messages.
#[allow(clippy::cast_precision_loss)] // counts of pods, far below 2^52
fn ratio_percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The `--ha-namespace` an engine space path belongs to: `/prod/kyuubi_1.10.0_USER_SPARK_SQL`
/// gives `prod/kyuubi`.
fn suggestion(space: &str) -> String {
    let trimmed = space.trim_start_matches('/');
    // The namespace is what precedes `_<version>_<LEVEL>_<TYPE>`: three `_`-separated fields
    // from the right, where the version starts with a digit.
    let mut cut = trimmed.len();
    for (i, _) in trimmed.match_indices('_').rev() {
        if trimmed[i + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            cut = i;
            break;
        }
    }
    trimmed[..cut].to_string()
}

/// Everything that can make a run fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command-line value could not be used (a flag combination, a malformed value).
    #[error("{0}")]
    Usage(String),
    /// A Kyuubi metadata store file could not be loaded.
    #[error("cannot load metadata store {}", path.display())]
    LoadStore {
        /// The store file, as given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: StoreError,
    },
    /// A ZooKeeper snapshot or data directory could not be loaded.
    #[error("cannot load ZooKeeper state {}", path.display())]
    LoadZooKeeper {
        /// The snapshot file or data directory, as given.
        path: PathBuf,
        /// What went wrong (it names the file and byte offset).
        #[source]
        source: ZkError,
    },
    /// A metadata store in a database server (`--store-url`) could not be read.
    #[error("cannot read metadata store {url}")]
    ReadStoreUrl {
        /// The URL, its password redacted.
        url: String,
        /// What went wrong.
        #[source]
        source: SqlError,
    },
    /// A live ZooKeeper ensemble (`--zk`) could not be read whole.
    #[error("cannot read ZooKeeper ensemble {ensemble}")]
    ReadZooKeeper {
        /// The connect string, as given.
        ensemble: String,
        /// What went wrong.
        #[source]
        source: LiveError,
    },
    /// A `--pods` file could not be read.
    #[error("cannot read pod list {}", path.display())]
    ReadPods {
        /// The pod file, as given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: PodFileError,
    },
    /// The `--selector` value is not a valid label selector.
    #[error("invalid --selector {selector:?}")]
    ParseSelector {
        /// The selector as given.
        selector: String,
        /// What is wrong with it.
        #[source]
        source: SelectorError,
    },
    /// Listing pods from a cluster failed.
    #[error(transparent)]
    ListPods(#[from] ClusterError),
    /// The safety gate refused the run.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// A `--plan` file could not be used.
    #[error("cannot use plan {}", path.display())]
    ReadPlan {
        /// The plan file, as given.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: PlanError,
    },
    /// The `--audit-log` file could not be opened or written.
    #[error("cannot write the audit log {}", path.display())]
    AuditLog {
        /// The audit log, as given.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// Writing the report to stdout failed.
    #[error("cannot write the report")]
    WriteReport(#[source] std::io::Error),
}

impl Error {
    /// The exit code this error ends the process with.
    #[must_use]
    pub fn exit_code(&self) -> ExitCode {
        match self {
            // A closed stdout is handled before it gets here; any other write failure is an
            // environment problem the user has to fix, like an unreadable input.
            Error::Usage(_)
            | Error::LoadStore { .. }
            | Error::LoadZooKeeper { .. }
            | Error::ReadStoreUrl { .. }
            | Error::ReadZooKeeper { .. }
            | Error::ReadPods { .. }
            | Error::ParseSelector { .. }
            | Error::ReadPlan { .. }
            | Error::AuditLog { .. }
            | Error::WriteReport(_) => ExitCode::Input,
            // A kubeconfig problem, wherever its path came from, or no configuration at all,
            // is an input error; anything the cluster said or did not say is a cluster error.
            Error::ListPods(ClusterError::Kubeconfig { .. } | ClusterError::NoConfig(_)) => {
                ExitCode::Input
            }
            Error::ListPods(_) => ExitCode::Cluster,
            Error::Refused(_) => ExitCode::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_documented_numbers() {
        assert_eq!(ExitCode::Success.code(), 0);
        assert_eq!(ExitCode::Findings.code(), 1);
        assert_eq!(ExitCode::Input.code(), 2);
        assert_eq!(ExitCode::Cluster.code(), 3);
        assert_eq!(ExitCode::ReapIncomplete.code(), 4);
        assert_eq!(ExitCode::Refused.code(), 5);
    }

    #[test]
    fn each_error_maps_to_its_exit_code() {
        assert_eq!(Error::Usage("x".into()).exit_code(), ExitCode::Input);
        let refused = Error::Refused(Refusal::EmptyState {
            candidates: 3,
            sources: vec!["store a.db".into()],
        });
        assert_eq!(refused.exit_code(), ExitCode::Refused);
        assert!(refused.to_string().contains("--allow-empty-state"));
        let store = Error::LoadStore {
            path: "x.db".into(),
            source: StoreError::NoMetadataTable,
        };
        assert_eq!(store.exit_code(), ExitCode::Input);
        assert!(store.to_string().contains("x.db"));
    }

    #[test]
    fn the_ha_namespace_suggestion_is_the_spaces_namespace() {
        assert_eq!(
            suggestion("/prod/kyuubi_1.10.0_USER_SPARK_SQL"),
            "prod/kyuubi"
        );
        assert_eq!(suggestion("/my_ns_1.9.2_CONNECTION_FLINK_SQL"), "my_ns");
        assert_eq!(suggestion("/kyuubi_1.8.0_GROUP_SPARK_SQL"), "kyuubi");
    }
}
