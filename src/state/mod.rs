//! What Kyuubi's own state says about each engine, merged from every state source.
//!
//! Owns: [`EngineState`], the per-`kyuubi-unique-tag` evidence ([`TagEvidence`]) gathered from
//! the metadata stores (batch rows, `k8s_engine_info` rows, read by [`store`]) and from
//! ZooKeeper (engine registrations, read by [`zk`]), and a summary of each source with its as-of
//! time ([`SourceSummary`]). The classifier reads only this model, so it cannot tell which
//! backend a fact came from except through the evidence it reports. Must not: read files itself
//! (the submodules do), or decide verdicts.

pub mod rows;
pub mod sql;
pub mod store;
pub mod zk;

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;
use serde::Serialize;

/// Index of a source in [`EngineState::sources`].
pub type SourceId = usize;

/// The kinds of state source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A Kyuubi metadata store file (SQLite `kyuubi_state_store.db`).
    #[default]
    Store,
    /// ZooKeeper's files: a snapshot, or a data directory (snapshot plus replayed logs).
    #[serde(rename = "zookeeper")]
    ZooKeeper,
}

/// One loaded state source and what it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// What kind of source it is.
    pub kind: SourceKind,
    /// Where it was read from (a path, as given).
    pub location: String,
    /// The time up to which this source is known to be complete. A pod created after it may be
    /// missing from the source, so the source cannot judge it (rule 4).
    pub as_of: Timestamp,
    /// How `as_of` was established.
    pub as_of_from: &'static str,
    /// What was found: a store's table layout (e.g. `1.11+ (metadata, k8s_engine_info)`), or
    /// the snapshot's zxid and how many transactions were replayed after it.
    pub layout: String,
    /// The files read: the store, or the snapshot and the logs replayed after it.
    pub files: Vec<String>,
    /// Batch rows read (stores).
    pub batches: usize,
    /// `k8s_engine_info` rows read (stores).
    pub engine_infos: usize,
    /// Engine registrations found in the engine spaces (ZooKeeper).
    pub registrations: usize,
    /// Of those, the ones whose owner session is alive, or may be (ZooKeeper).
    pub live_registrations: usize,
    /// Kyuubi engine spaces (`/<ns>_<version>_<LEVEL>_<TYPE>`) of the requested
    /// `--ha-namespace`s found in the tree (ZooKeeper). Zero means the source cannot say that an
    /// engine is *not* registered, so rule 8 ignores it.
    pub engine_spaces: usize,
    /// Rows skipped because they could not be read, with a reason each.
    pub warnings: Vec<String>,
}

impl fmt::Display for SourceSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceKind::Store => write!(f, "store {}", self.location),
            SourceKind::ZooKeeper => write!(f, "zookeeper {}", self.location),
        }
    }
}

/// A batch's `metadata.state` (Kyuubi's `OperationState`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BatchState {
    /// `INITIALIZED`: accepted by the v2 batch API, not yet picked up.
    Initialized,
    /// `PENDING`: submitted, no application yet.
    Pending,
    /// `RUNNING`: the application was found.
    Running,
    /// `COMPILED`.
    Compiled,
    /// `FINISHED`.
    Finished,
    /// `TIMEOUT`.
    Timeout,
    /// `CANCELED`: closed through the REST API.
    Canceled,
    /// `CLOSED`.
    Closed,
    /// `ERROR`.
    Error,
    /// `UNKNOWN`.
    Unknown,
    /// A value this tool does not know; treated as non-terminal, the safe side.
    Other(String),
}

impl BatchState {
    /// Parses a stored state name (case-insensitive, surrounding spaces ignored).
    #[must_use]
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_uppercase().as_str() {
            "INITIALIZED" => BatchState::Initialized,
            "PENDING" => BatchState::Pending,
            "RUNNING" => BatchState::Running,
            "COMPILED" => BatchState::Compiled,
            "FINISHED" => BatchState::Finished,
            "TIMEOUT" => BatchState::Timeout,
            "CANCELED" | "CANCELLED" => BatchState::Canceled,
            "CLOSED" => BatchState::Closed,
            "ERROR" => BatchState::Error,
            "UNKNOWN" => BatchState::Unknown,
            _ => BatchState::Other(value.to_string()),
        }
    }

    /// Kyuubi's `OperationState.terminalStates`; unknown values count as non-terminal.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            BatchState::Finished
                | BatchState::Timeout
                | BatchState::Canceled
                | BatchState::Closed
                | BatchState::Error
        )
    }

    /// The state as Kyuubi stores it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            BatchState::Initialized => "INITIALIZED",
            BatchState::Pending => "PENDING",
            BatchState::Running => "RUNNING",
            BatchState::Compiled => "COMPILED",
            BatchState::Finished => "FINISHED",
            BatchState::Timeout => "TIMEOUT",
            BatchState::Canceled => "CANCELED",
            BatchState::Closed => "CLOSED",
            BatchState::Error => "ERROR",
            BatchState::Unknown => "UNKNOWN",
            BatchState::Other(value) => value,
        }
    }
}

impl fmt::Display for BatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record says its engine's pods live. `None` fields are unknown and match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct K8sScope {
    /// The kubeconfig context Kyuubi used, when recorded.
    pub context: Option<String>,
    /// The namespace the driver was submitted to, when recorded.
    pub namespace: Option<String>,
    /// The driver pod's name, when recorded.
    pub pod_name: Option<String>,
}

/// A row of the `metadata` table: one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// The source it was read from.
    pub source: SourceId,
    /// `state`.
    pub state: BatchState,
    /// `engine_state`: the Spark application's state as Kyuubi last saw it.
    pub engine_state: Option<String>,
    /// `engine_id`: the Spark application id.
    pub engine_id: Option<String>,
    /// `create_time`.
    pub created_at: Option<Timestamp>,
    /// `end_time`, when the batch reached a terminal state (absent or 0 while running).
    pub ended_at: Option<Timestamp>,
    /// `peer_instance_closed`: another Kyuubi instance closed the batch; Kyuubi reports such a
    /// non-terminal row as `CANCELED`.
    pub peer_instance_closed: bool,
    /// `kyuubi_instance`: the REST `host:port` of the owning server.
    pub kyuubi_instance: Option<String>,
    /// Context, namespace and driver pod name from `request_conf`.
    pub scope: K8sScope,
}

impl BatchRecord {
    /// Whether the batch is still live for Kyuubi: non-terminal and not closed by a peer.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.state.is_terminal() && !self.peer_instance_closed
    }

    /// The time from which the batch counts as finished, when it is finished: `end_time`; for a
    /// row closed by a peer instance (which records no end time), the latest time the row
    /// knows, its creation, which makes the row look finished for longer than it may have been.
    #[must_use]
    pub fn finished_since(&self) -> Option<Timestamp> {
        if self.is_active() {
            None
        } else {
            self.ended_at.or(self.created_at)
        }
    }
}

/// A row of the `k8s_engine_info` table (Kyuubi 1.11+): written when Kyuubi saw an engine's
/// driver pod terminate, for interactive engines and batches alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfoRecord {
    /// The source it was read from.
    pub source: SourceId,
    /// `pod_state`: the pod phase when Kyuubi marked it terminated.
    pub pod_state: Option<String>,
    /// `engine_state`: `FINISHED`, `FAILED` or `KILLED`.
    pub engine_state: Option<String>,
    /// `engine_id`: the Spark application id.
    pub engine_id: Option<String>,
    /// `update_time`.
    pub updated_at: Option<Timestamp>,
    /// Context, namespace and pod name of the row.
    pub scope: K8sScope,
}

/// Whether the session that owns a registration is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerState {
    /// The owner session is in ZooKeeper's session table: the engine is registered.
    Live,
    /// Snapshot only: the node was created while the snapshot was being written, so its
    /// session was alive then and may still be.
    Uncertain,
    /// Not an ephemeral node (created by `kyuubi-ctl create`, or a container/TTL node).
    NotEphemeral,
    /// The owner session is gone (closed or expired): ZooKeeper deletes the node when it loads
    /// this state.
    Gone,
}

impl OwnerState {
    /// Whether the registration may still stand for a running engine: anything but `Gone`.
    #[must_use]
    pub fn may_be_alive(self) -> bool {
        self != OwnerState::Gone
    }

    /// The state as the report spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerState::Live => "live",
            OwnerState::Uncertain => "uncertain",
            OwnerState::NotEphemeral => "not-ephemeral",
            OwnerState::Gone => "gone",
        }
    }
}

/// A Kyuubi engine registration in ZooKeeper, whose `refId` is the tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    /// The source it was read from.
    pub source: SourceId,
    /// The znode's full path.
    pub path: String,
    /// Whether its owner session is alive.
    pub owner: OwnerState,
    /// The owner session, for ephemerals.
    pub session: Option<i64>,
    /// The znode's ctime.
    pub created_at: Option<Timestamp>,
    /// The Kyuubi version of the engine space.
    pub kyuubi_version: String,
    /// The share level of the engine space.
    pub share_level: &'static str,
    /// The engine type of the engine space.
    pub engine_type: &'static str,
    /// The routing user.
    pub user: String,
    /// `host:port` the engine serves on.
    pub host_port: Option<String>,
    /// `kyuubi.engine.id`: the Spark application id.
    pub engine_id: Option<String>,
    /// Context and namespace from `kyuubi.engine.appMgrInfo` (Kyuubi 1.10+).
    pub scope: K8sScope,
}

/// Everything the state sources know about one `kyuubi-unique-tag`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagEvidence {
    /// Batch rows with this identifier, from every store that has one.
    pub batches: Vec<BatchRecord>,
    /// `k8s_engine_info` rows with this identifier.
    pub engine_infos: Vec<EngineInfoRecord>,
    /// ZooKeeper registrations with this `refId`.
    pub registrations: Vec<RegistrationRecord>,
}

impl TagEvidence {
    /// Whether no source has any record of the tag.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.engine_infos.is_empty() && self.registrations.is_empty()
    }
}

/// The merged state of every source.
///
/// A tag present in several stores keeps every row: rows are never overwritten. The classifier
/// treats the tag as live when *any* row is live, so a stale copy of a store can never turn a
/// running batch into an orphan; the price is that a stale non-terminal row keeps a pod until
/// that copy is refreshed.
#[derive(Debug, Clone, Default)]
pub struct EngineState {
    sources: Vec<SourceSummary>,
    tags: HashMap<String, TagEvidence>,
}

impl EngineState {
    /// An empty state with no sources.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a source and returns its id, for the records read from it.
    pub fn add_source(&mut self, summary: SourceSummary) -> SourceId {
        self.sources.push(summary);
        self.sources.len() - 1
    }

    /// Mutable access to a source's summary, to fill in counts after reading.
    pub fn source_mut(&mut self, id: SourceId) -> &mut SourceSummary {
        &mut self.sources[id]
    }

    /// Adds a batch row under its identifier.
    pub fn add_batch(&mut self, tag: String, record: BatchRecord) {
        self.tags.entry(tag).or_default().batches.push(record);
    }

    /// Adds a `k8s_engine_info` row under its identifier.
    pub fn add_engine_info(&mut self, tag: String, record: EngineInfoRecord) {
        self.tags.entry(tag).or_default().engine_infos.push(record);
    }

    /// Adds a ZooKeeper registration under its `refId`.
    pub fn add_registration(&mut self, tag: String, record: RegistrationRecord) {
        self.tags.entry(tag).or_default().registrations.push(record);
    }

    /// The loaded sources, in load order.
    #[must_use]
    pub fn sources(&self) -> &[SourceSummary] {
        &self.sources
    }

    /// One source's summary.
    #[must_use]
    pub fn source(&self, id: SourceId) -> &SourceSummary {
        &self.sources[id]
    }

    /// What is known about a tag, if anything.
    #[must_use]
    pub fn lookup(&self, tag: &str) -> Option<&TagEvidence> {
        self.tags.get(tag)
    }

    /// How many distinct engines (tags) the sources know.
    #[must_use]
    pub fn known_engines(&self) -> usize {
        self.tags.len()
    }

    /// The time up to which *all* sources are complete: the earliest as-of time. `None` when no
    /// source is loaded.
    #[must_use]
    pub fn as_of(&self) -> Option<Timestamp> {
        self.sources.iter().map(|s| s.as_of).min()
    }

    /// The earliest as-of time of the ZooKeeper sources that hold an engine space of the
    /// requested namespaces, when any is loaded: what rule 8 needs to call a running engine
    /// unregistered. A source without one cannot say that an engine is *not* registered.
    #[must_use]
    pub fn zookeeper_as_of(&self) -> Option<Timestamp> {
        self.sources
            .iter()
            .filter(|s| s.kind == SourceKind::ZooKeeper && s.engine_spaces > 0)
            .map(|s| s.as_of)
            .min()
    }

    /// How many records the sources hold in all (before keeping only candidate tags): zero
    /// means the state knows no engine at all.
    #[must_use]
    pub fn total_records(&self) -> usize {
        self.sources
            .iter()
            .map(|s| s.batches + s.engine_infos + s.registrations)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_states_follow_kyuubi_terminal_set() {
        for s in [
            "FINISHED", "TIMEOUT", "CANCELED", "CLOSED", "ERROR", "finished", " ERROR ",
        ] {
            assert!(BatchState::parse(s).is_terminal(), "{s}");
        }
        for s in [
            "INITIALIZED",
            "PENDING",
            "RUNNING",
            "COMPILED",
            "UNKNOWN",
            "",
            "SOMETHING",
        ] {
            assert!(!BatchState::parse(s).is_terminal(), "{s}");
        }
        assert_eq!(BatchState::parse("odd").as_str(), "odd");
    }

    fn row(state: &str, peer: bool, ended: Option<i64>, created: Option<i64>) -> BatchRecord {
        BatchRecord {
            source: 0,
            state: BatchState::parse(state),
            engine_state: None,
            engine_id: None,
            created_at: created.map(|s| Timestamp::from_second(s).unwrap()),
            ended_at: ended.map(|s| Timestamp::from_second(s).unwrap()),
            peer_instance_closed: peer,
            kyuubi_instance: None,
            scope: K8sScope::default(),
        }
    }

    #[test]
    fn a_row_closed_by_a_peer_is_finished_since_its_last_known_time() {
        assert!(row("RUNNING", false, None, Some(10)).is_active());
        assert_eq!(row("RUNNING", false, None, Some(10)).finished_since(), None);
        let peer = row("RUNNING", true, None, Some(10));
        assert!(!peer.is_active());
        assert_eq!(
            peer.finished_since(),
            Some(Timestamp::from_second(10).unwrap())
        );
        let done = row("FINISHED", false, Some(20), Some(10));
        assert_eq!(
            done.finished_since(),
            Some(Timestamp::from_second(20).unwrap())
        );
    }

    #[test]
    fn merged_state_keeps_every_row_and_the_earliest_as_of() {
        let mut state = EngineState::new();
        for (i, at) in [(0, 200), (1, 100)] {
            let id = state.add_source(SourceSummary {
                location: format!("s{i}.db"),
                as_of: Timestamp::from_second(at).unwrap(),
                as_of_from: "test",
                ..SourceSummary::default()
            });
            assert_eq!(id, i);
        }
        state.add_batch("t".into(), row("FINISHED", false, Some(5), None));
        state.add_batch("t".into(), row("RUNNING", false, None, None));
        assert_eq!(state.lookup("t").unwrap().batches.len(), 2);
        assert_eq!(state.known_engines(), 1);
        assert_eq!(state.as_of(), Some(Timestamp::from_second(100).unwrap()));
        assert!(state.lookup("other").is_none());
    }
}
