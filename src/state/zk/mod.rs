//! Engine state from ZooKeeper's own files: which Kyuubi engines are registered, and alive.
//!
//! Owns: turning a `--zk-snapshot PATH` (a snapshot file, or a data directory whose newest valid
//! snapshot is read and whose transaction logs are replayed after it) into
//! [`RegistrationRecord`]s in the [`EngineState`], with the state's as-of time (the last
//! transaction applied). The submodules are a complete, pure reader of ZooKeeper's formats; no
//! Rust crate parses them:
//!
//! - [`jute`]: bounds-checked big-endian decoding with ZooKeeper's length limits.
//! - [`snapshot`]: the streaming, fully validated snapshot reader (raw, gz, snappy).
//! - [`xerial`]: the snappy-java stream framing of `.snappy` snapshots.
//! - [`txnlog`]: the transaction log reader and txn decoder.
//! - [`datadir`]: snapshot choice with fall-back, log replay onto the kept nodes.
//! - [`registration`]: Kyuubi engine registration names and the engine-space filter.
//! - [`writer`]: encoders of valid snapshots and logs, for tests and benchmark generators.
//! - [`error`]: what went wrong, on which file, at which byte.
//!
//! Must not: talk to a ZooKeeper server, write the data directory, or judge pods.

pub mod datadir;
pub mod error;
pub mod jute;
pub mod registration;
pub mod snapshot;
pub mod txnlog;
pub mod writer;
pub mod xerial;

use std::path::Path;

use jiff::Timestamp;

pub use datadir::{Liveness, LoadOptions, Owner, ZkState};
pub use error::ZkError;
use registration::{is_engine_space_path, parse_registration};
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

/// Reads `path` (a snapshot file or a data directory), keeps the engine spaces of
/// `ha_namespaces`, and adds the registrations of the tags `wanted` accepts to `state`.
pub fn load(
    path: &Path,
    ha_namespaces: &[String],
    state: &mut EngineState,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<ZkLoad, ZkError> {
    let namespaces: Vec<String> = ha_namespaces.to_vec();
    let filter = move |p: &[u8]| namespaces.iter().any(|ns| is_engine_space_path(ns, p));
    let options = LoadOptions {
        // The digest proves a snapshot is an exact image, which no verdict depends on; the
        // Adler32 seals are always checked.
        snapshot: SnapshotOptions {
            compute_digest: false,
            ..SnapshotOptions::default()
        },
        ..LoadOptions::default()
    };
    let zk = datadir::load(path, &filter, &options)?;
    for rejected in &zk.rejected_snapshots {
        tracing::warn!("skipped snapshot: {rejected}");
    }
    for warning in &zk.warnings {
        tracing::warn!("{}: {warning}", path.display());
    }
    let as_of = Timestamp::from_millisecond(zk.as_of_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let mut files = vec![zk.snapshot.path.display().to_string()];
    files.extend(zk.logs.iter().map(|l| l.path.display().to_string()));
    let source = state.add_source(SourceSummary {
        kind: SourceKind::ZooKeeper,
        location: path.display().to_string(),
        as_of,
        as_of_from: if zk.replayed {
            "last transaction applied"
        } else {
            "latest node change in the snapshot"
        },
        layout: format!(
            "snapshot zxid {}, {} transaction(s) replayed",
            zk.snapshot
                .zxid
                .map_or_else(|| "?".into(), |z| format!("{z:#x}")),
            zk.txns_applied
        ),
        files,
        ..SourceSummary::default()
    });
    let mut load = ZkLoad {
        source,
        registrations: 0,
        live: 0,
    };
    for (node_path, node) in &zk.nodes {
        // Engine-space parents, users and leaves are not registrations; only names with a
        // `sequence=` and a `refId=` are.
        let Some(ns) = ha_namespaces
            .iter()
            .find(|ns| is_engine_space_path(ns, node_path.as_bytes()))
        else {
            continue;
        };
        let Ok(registration) = parse_registration(node_path, Some(ns)) else {
            continue;
        };
        load.registrations += 1;
        let (owner, session) = match zk.is_alive(node) {
            Liveness::Alive { session, .. } => (OwnerState::Live, Some(session)),
            Liveness::Uncertain { session } => (OwnerState::Uncertain, Some(session)),
            Liveness::Dead { session } => (OwnerState::Gone, Some(session)),
            Liveness::NotEphemeral(_) => (OwnerState::NotEphemeral, None),
        };
        if owner != OwnerState::Gone {
            load.live += 1;
        }
        for warning in &registration.warnings {
            tracing::debug!("{node_path}: {warning}");
        }
        if !wanted(&registration.ref_id) {
            continue;
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
    let summary = state.source_mut(source);
    summary.registrations = load.registrations;
    summary.live_registrations = load.live;
    Ok(load)
}
