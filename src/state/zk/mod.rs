//! Engine state from ZooKeeper: which Kyuubi engines are registered, and alive.
//!
//! Owns: turning a `--zk-snapshot PATH` (a snapshot file, or a data directory whose newest valid
//! snapshot is read and whose transaction logs are replayed after it) or a live `--zk` ensemble
//! into [`RegistrationRecord`]s in the [`EngineState`], with the state's as-of time (the last
//! transaction applied, or the start of the live read), and noting the engine spaces of every
//! namespace on the way (so that an `--ha-namespace` matching none of them can be refused by the
//! caller). The file submodules are a complete, pure reader of ZooKeeper's formats; no Rust
//! crate parses them:
//!
//! - [`jute`]: bounds-checked big-endian decoding with ZooKeeper's length limits.
//! - [`snapshot`]: the streaming, fully validated snapshot reader (raw, gz, snappy).
//! - [`xerial`]: the snappy-java stream framing of `.snappy` snapshots.
//! - [`txnlog`]: the transaction log reader and txn decoder.
//! - [`datadir`]: snapshot choice with fall-back, gap-free log replay onto the kept nodes.
//! - [`registration`]: Kyuubi engine registration names and the engine-space filter.
//! - `writer` (feature `test-support`): encoders of valid snapshots and logs, for tests and
//!   benchmark generators; not in the product build.
//! - [`error`]: what went wrong, on which file, at which byte.
//!
//! - [`live`]: a live ensemble, read whole after a `sync` (the only submodule that talks to a
//!   server).
//!
//! A live read becomes a [`ZkSource`] through [`from_live`], so both kinds give the same
//! evidence. Must not: write the data directory or to a server, or judge pods.

pub mod datadir;
pub mod error;
pub mod jute;
pub mod live;
pub mod nodes;
pub mod registration;
pub mod snapshot;
pub mod txnlog;
#[cfg(any(test, feature = "test-support"))]
pub mod writer;
pub mod xerial;

use std::cell::RefCell;
use std::path::Path;
use std::sync::LazyLock;

use jiff::Timestamp;

pub use datadir::{Liveness, LoadOptions, Owner, ZkState};
pub use error::ZkError;
use live::LiveTree;
use nodes::Nodes;
use registration::{EngineSpaceNotes, engine_space_len, is_engine_space_node, parse_registration};
pub use snapshot::SnapshotOptions;

use super::{
    EngineState, K8sScope, OwnerState, RegistrationRecord, SourceId, SourceKind, SourceSummary,
};

/// What one ZooKeeper source contributed, for logs and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkLoad {
    /// The source's id in the [`EngineState`].
    pub source: SourceId,
    /// Registrations found in the engine spaces (all tags).
    pub registrations: usize,
    /// Of those, the ones whose owner session is alive (or that are not ephemeral).
    pub live: usize,
}

/// ZooKeeper's state read from disk and checked, before its registrations are extracted.
///
/// Reading happens in [`open`], before any cluster is contacted, so that a bad snapshot stops
/// the run early; the registrations are extracted in [`ZkSource::load_into`] once the candidate
/// tags are known, so that only those are decoded in full.
#[derive(Debug)]
pub struct ZkSource {
    /// The path or connect string, as given.
    location: String,
    namespaces: Vec<String>,
    origin: Origin,
    /// Engine spaces of any namespace seen while loading (bounded), sorted.
    engine_spaces: Vec<String>,
    /// How many engine space nodes were seen in all (the list above is capped).
    engine_spaces_seen: usize,
    /// Engine space nodes of the requested namespaces in the loaded state.
    matching_engine_spaces: usize,
}

/// Reads `path` (a snapshot file or a data directory) and keeps the engine spaces of
/// `ha_namespaces`: every checksum is verified, older snapshots are fallen back to, and logs are
/// replayed for a directory, or from `log_dir` (ZooKeeper's `dataLogDir`) when given.
///
/// With `wanted`, only the registrations of the tags it accepts are kept (with every other node
/// of the engine spaces); the others are only counted, with their owners, so that the summary
/// still counts every registration and the live ones, while memory follows the candidates. On a
/// snapshot of 500,000 registrations that is most of the time a scan takes (BENCHMARKS.md).
pub fn open(
    path: &Path,
    log_dir: Option<&Path>,
    ha_namespaces: &[String],
    wanted: Option<&dyn Fn(&str) -> bool>,
) -> Result<ZkSource, ZkError> {
    let namespaces: Vec<String> = ha_namespaces.to_vec();
    // Every engine space of any namespace is noted on the way (for the `--ha-namespace` gate):
    // the snapshot reader calls the filter once per node, the replay on each path a txn
    // touches. Only paths whose last byte can end an engine type reach the RefCell.
    let notes = RefCell::new(EngineSpaceNotes::default());
    let spaces = SpaceFilter::new(&namespaces);
    let in_spaces = |p: &[u8]| spaces.contains(p);
    let filter = |p: &[u8]| {
        if EngineSpaceNotes::may_be_space(p) {
            notes.borrow_mut().note(p);
        }
        in_spaces(p)
            && match (wanted, registration_tag(p)) {
                (Some(wanted), Some(tag)) => wanted(tag),
                _ => true,
            }
    };
    // Called only for what `filter` dropped: with `wanted`, a dropped path in a space is a
    // registration (one whose tag cannot be found is kept), so its tag is not looked for again.
    let tally = |p: &[u8]| wanted.is_some() && in_spaces(p);
    let options = LoadOptions {
        // The digest proves a snapshot is an exact image, which no verdict depends on; the
        // Adler32 seals are always checked.
        snapshot: SnapshotOptions {
            compute_digest: false,
            // No verdict reads a registration's data: its name says everything.
            keep_data: false,
            ..SnapshotOptions::default()
        },
        log_dir: log_dir.map(Path::to_path_buf),
        ..LoadOptions::default()
    };
    let zk = datadir::load_with(path, &filter, Some(&tally), &options)?;
    for rejected in &zk.rejected_snapshots {
        tracing::warn!("skipped snapshot: {rejected}");
    }
    for warning in &zk.warnings {
        tracing::warn!("{}: {warning}", path.display());
    }
    let notes = notes.into_inner();
    let matching_engine_spaces = zk
        .nodes
        .keys()
        .filter(|p| {
            namespaces
                .iter()
                .any(|ns| is_engine_space_node(ns, p.as_bytes()))
        })
        .count();
    Ok(ZkSource {
        location: path.display().to_string(),
        namespaces,
        origin: Origin::Files(Box::new(zk)),
        engine_spaces: notes.paths(),
        engine_spaces_seen: notes.seen(),
        matching_engine_spaces,
    })
}

/// Where a [`ZkSource`]'s nodes came from.
#[derive(Debug)]
enum Origin {
    /// ZooKeeper's files: a snapshot, and the logs replayed after it.
    Files(Box<ZkState>),
    /// A live ensemble, read whole after a `sync`.
    Live(LiveRead),
}

/// What a live read gave, with its nodes in the form the files give them.
#[derive(Debug)]
struct LiveRead {
    started: Timestamp,
    server: String,
    last_zxid: i64,
    nodes: Nodes,
}

/// The source of a live ensemble's read (see [`live::read`]): every node it returned lies in
/// an engine space of `ha_namespaces`; an ephemeral one is held by a live session, since the
/// server still had it.
#[must_use]
pub fn from_live(ensemble: &live::Ensemble, tree: LiveTree, ha_namespaces: &[String]) -> ZkSource {
    ZkSource {
        location: ensemble.to_string(),
        namespaces: ha_namespaces.to_vec(),
        engine_spaces: tree.engine_spaces,
        engine_spaces_seen: tree.engine_spaces_seen,
        matching_engine_spaces: tree.matching_engine_spaces,
        origin: Origin::Live(LiveRead {
            started: tree.started,
            server: tree.server,
            last_zxid: tree.last_zxid,
            nodes: Nodes::from_list(tree.nodes.into_iter().collect()),
        }),
    }
}

/// Checks that `path` (a snapshot file or data directory) exists and is a file or directory,
/// before it is read.
pub fn check_path(path: &Path) -> Result<(), ZkError> {
    let meta = std::fs::metadata(path).map_err(|source| ZkError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() || meta.is_dir() {
        Ok(())
    } else {
        Err(ZkError::NotARegularFile {
            path: path.to_path_buf(),
            kind: snapshot::file_kind(meta.file_type()),
        })
    }
}

impl ZkSource {
    /// The time the state reflects: the last transaction applied (files), or the moment the
    /// read began (a live ensemble).
    #[must_use]
    pub fn as_of(&self) -> Timestamp {
        match &self.origin {
            Origin::Files(zk) => {
                Timestamp::from_millisecond(zk.as_of_ms).unwrap_or(Timestamp::UNIX_EPOCH)
            }
            Origin::Live(tree) => tree.started,
        }
    }

    /// Paths of the Kyuubi engine spaces (`/[<chroot>/]<ns>_<version>_<LEVEL>_<TYPE>`) of
    /// *any* namespace seen while loading, sorted; at most
    /// [`registration::MAX_NOTED_SPACES`] of them (see [`Self::engine_spaces_seen`]). Spaces
    /// created by replayed txns are included; one deleted by a later txn may still be listed.
    #[must_use]
    pub fn engine_spaces(&self) -> &[String] {
        &self.engine_spaces
    }

    /// How many engine space nodes were seen in all (more than [`Self::engine_spaces`] lists
    /// when the list is capped; a space re-created by a replayed txn counts again).
    #[must_use]
    pub fn engine_spaces_seen(&self) -> usize {
        self.engine_spaces_seen
    }

    /// How many engine spaces of the requested `--ha-namespace`s the loaded state holds (exact:
    /// counted on the final tree, after replay).
    #[must_use]
    pub fn matching_engine_spaces(&self) -> usize {
        self.matching_engine_spaces
    }

    /// How the source is named in messages: `zookeeper <path or connect string>`.
    #[must_use]
    pub fn name(&self) -> String {
        format!("zookeeper {}", self.location)
    }

    /// The files read, what the as-of time is taken from, the layout line and the nodes.
    fn describe(&self) -> (Vec<String>, &'static str, String, &Nodes) {
        match &self.origin {
            Origin::Files(zk) => {
                let mut files = vec![zk.snapshot.path.display().to_string()];
                files.extend(zk.logs.iter().map(|l| l.path.display().to_string()));
                let as_of_from = if zk.replayed {
                    "last transaction applied"
                } else {
                    "latest node change in the snapshot"
                };
                let layout = format!(
                    "snapshot zxid {}, {} transaction(s) replayed",
                    zk.snapshot
                        .zxid
                        .map_or_else(|| "?".into(), |z| format!("{z:#x}")),
                    zk.txns_applied
                );
                (files, as_of_from, layout, &zk.nodes)
            }
            Origin::Live(tree) => (
                Vec::new(),
                "start of the live read, before its sync",
                format!(
                    "live, read from {}, last zxid {:#x}",
                    tree.server, tree.last_zxid
                ),
                &tree.nodes,
            ),
        }
    }

    /// Adds the source to `state` with the registrations of the tags `wanted` accepts, and
    /// counts every registration (and the live ones) for the summary.
    pub fn load_into(self, state: &mut EngineState, wanted: &dyn Fn(&str) -> bool) -> ZkLoad {
        let (files, as_of_from, layout, nodes) = self.describe();
        let source = state.add_source(SourceSummary {
            kind: SourceKind::ZooKeeper,
            location: self.location.clone(),
            as_of: self.as_of(),
            as_of_from,
            layout,
            files,
            engine_spaces: self.matching_engine_spaces,
            ..SourceSummary::default()
        });
        let mut load = ZkLoad {
            source,
            registrations: 0,
            live: 0,
        };
        for (node_path, node) in nodes {
            // Engine-space parents, users and leaves are not registrations; only names with a
            // `refId=` and a `sequence=` are. The refId is found cheaply first, so that only the
            // registrations of candidate tags are decoded in full.
            let Some(ref_id) = cheap_ref_id(node_path) else {
                continue;
            };
            load.registrations += 1;
            let (owner, session) = match &self.origin {
                Origin::Files(zk) => match zk.is_alive(node) {
                    Liveness::Alive { session, .. } => (OwnerState::Live, Some(session)),
                    Liveness::Uncertain { session } => (OwnerState::Uncertain, Some(session)),
                    Liveness::Dead { session } => (OwnerState::Gone, Some(session)),
                    Liveness::NotEphemeral(_) => (OwnerState::NotEphemeral, None),
                },
                // The server still holds the node, so its session is alive.
                Origin::Live(_) => match Owner::from_raw(node.ephemeral_owner).session() {
                    Some(session) => (OwnerState::Live, Some(session)),
                    None => (OwnerState::NotEphemeral, None),
                },
            };
            if owner != OwnerState::Gone {
                load.live += 1;
            }
            if !wanted(ref_id) {
                continue;
            }
            let Some(registration) = self
                .namespaces
                .iter()
                .find_map(|ns| parse_registration(node_path, Some(ns)).ok())
            else {
                tracing::debug!("{node_path}: has a refId but is not an engine registration");
                continue;
            };
            for warning in &registration.warnings {
                tracing::debug!("{node_path}: {warning}");
            }
            let record = RegistrationRecord {
                source,
                path: node_path.to_string(),
                owner,
                session,
                created_at: Timestamp::from_millisecond(node.ctime).ok(),
                kyuubi_version: registration.kyuubi_version,
                share_level: registration.share_level.as_str(),
                engine_type: registration.engine_type.as_str(),
                user: registration.user,
                host_port: registration.host_port,
                engine_id: registration.engine_id,
                scope: K8sScope {
                    context: registration.k8s_context,
                    namespace: registration.k8s_namespace,
                    pod_name: None,
                },
            };
            state.add_registration(registration.ref_id, record);
        }
        if let Origin::Files(zk) = &self.origin {
            for (owner, czxid) in zk.tallied.values() {
                load.registrations += 1;
                if !matches!(zk.liveness(owner, czxid), Liveness::Dead { .. }) {
                    load.live += 1;
                }
            }
        }
        let summary = state.source_mut(source);
        summary.registrations = load.registrations;
        summary.live_registrations = load.live;
        load
    }
}

/// Whether a path lies in an engine space of some namespaces ([`is_engine_space_path`] of
/// any), remembering the last space a path lay in: snapshots list a space's nodes one after
/// another (pre-order), so that space answers for most paths without its name being parsed
/// again.
///
/// [`is_engine_space_path`]: registration::is_engine_space_path
struct SpaceFilter<'a> {
    namespaces: &'a [String],
    /// The path of the space node the last path in a space lay in (empty before any).
    last: RefCell<Vec<u8>>,
}

impl<'a> SpaceFilter<'a> {
    fn new(namespaces: &'a [String]) -> Self {
        SpaceFilter {
            namespaces,
            last: RefCell::new(Vec::new()),
        }
    }

    fn contains(&self, path: &[u8]) -> bool {
        let mut last = self.last.borrow_mut();
        if !last.is_empty()
            && path.starts_with(&last)
            && matches!(path.get(last.len()), None | Some(b'/'))
        {
            return true;
        }
        match self
            .namespaces
            .iter()
            .find_map(|ns| engine_space_len(ns, path))
        {
            Some(len) => {
                last.clear();
                last.extend_from_slice(&path[..len]);
                true
            }
            None => false,
        }
    }
}

/// [`cheap_ref_id`] of a path as the readers see it (bytes): only the tag is decoded. The
/// searchers are built once: building one per path was a tenth of a scan of 500,000
/// registrations.
fn registration_tag(path: &[u8]) -> Option<&str> {
    static REF_ID: LazyLock<memchr::memmem::FinderRev<'static>> =
        LazyLock::new(|| memchr::memmem::FinderRev::new(b"refId="));
    static SEQUENCE: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(b"sequence="));
    let start = REF_ID.rfind(path)? + b"refId=".len();
    let rest = &path[start..];
    let end = memchr::memchr(b';', rest)?;
    if end == 0 || SEQUENCE.find(&rest[end..]).is_none() {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// The `refId=` value of a registration name, found without decoding the rest: the last
/// `refId=` of the path (attribute values may contain `/`, Kyuubi #7282), up to the next `;`,
/// when a `sequence=` follows.
fn cheap_ref_id(path: &str) -> Option<&str> {
    registration_tag(path.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The remembered space never changes an answer, in any order of paths.
        #[test]
        fn the_space_filter_answers_like_the_uncached_test(
            picks in proptest::collection::vec(0usize..14, 0..60)
        ) {
            const PATHS: [&str; 14] = [
                "",
                "/kyuubi_1.10.3_USER_SPARK_SQL",
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice",
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=a:1;refId=t1;sequence=1",
                "/kyuubi_1.10.3_USER_SPARK_SQLX/alice",
                "/kyuubi_1.10.3_USER_SPARK_SQ",
                "/kyuubi_1.10.3_USER_SPARK_SQL_x/bob",
                "/kyuubi_1.10.3_GROUP_FLINK_SQL/g",
                "/kyuubi_1.10.3_USER_SPARK_SQL_lock/alice",
                "/kyuubi",
                "/other_1.10.3_USER_SPARK_SQL/alice",
                "/other_1.9.0_CONNECTION_TRINO",
                "/kyuubi_x_USER_SPARK_SQL/alice",
                "/kyuubi_1.10.3_USER_SPARK_SQL\u{0}/alice",
            ];
            for namespaces in [vec!["kyuubi".to_string()], vec!["kyuubi".into(), "other".into()]] {
                let filter = SpaceFilter::new(&namespaces);
                for &i in &picks {
                    let path = PATHS[i].as_bytes();
                    let expected = namespaces
                        .iter()
                        .any(|ns| registration::is_engine_space_path(ns, path));
                    proptest::prop_assert_eq!(filter.contains(path), expected, "{}", PATHS[i]);
                }
            }
        }
    }

    #[test]
    fn cheap_ref_id_finds_the_ref_id_of_registration_names_only() {
        let name = "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=10.0.0.1:1;version=1.10.3;\
                    kyuubi.engine.appMgrInfo=ab/cd==;refId=0b5a-01;sequence=0000000003";
        assert_eq!(cheap_ref_id(name), Some("0b5a-01"));
        assert_eq!(
            cheap_ref_id("/kyuubi_1.10.3_USER_SPARK_SQL/alice/default"),
            None
        );
        assert_eq!(cheap_ref_id("/x/refId=abc"), None, "no sequence");
        assert_eq!(cheap_ref_id("/x/refId=;sequence=1"), None, "empty");
    }
}
