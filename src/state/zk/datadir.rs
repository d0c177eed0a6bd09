//! ZooKeeper state on disk: pick a snapshot, replay the transaction logs after it.
//!
//! Owns the choice of files (like ZooKeeper's `FileSnap.findNValidSnapshots` and
//! `FileTxnLog.getLogFiles`), the fall-back to older snapshots when the newest fails full
//! validation, and the replay of txns onto the *kept* subset of nodes with ZooKeeper's
//! idempotent semantics (NODEEXISTS and NONODE are ignored; a multi with an error sub-txn applies
//! nothing). Produces [`ZkState`]: sessions, kept nodes, what was read and replayed, the last
//! applied zxid and the time the state is "as of". Also classifies ephemeral owners and tells
//! whether an ephemeral's owning session is alive.
//!
//! This module must not decode bytes itself (that is `snapshot` and `txnlog`), must not kill
//! orphaned ephemerals the way a starting server does (the caller decides with
//! [`ZkState::is_alive`]), and must not know anything about Kyuubi.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Rejected, ZkError};
use super::snapshot::{
    Compression, Node, SnapshotInfo, SnapshotOptions, parse_snapshot_file_name, read_snapshot_file,
};
use super::txnlog::{LogEnd, Txn, TxnLogReader, TxnRecord, parse_log_file_name};

/// Ephemeral owner of containers.
pub const CONTAINER_OWNER: i64 = i64::MIN; // 0x8000000000000000

/// Top byte of TTL owners.
const TTL_TOP_BYTE: u64 = 0xFF;

/// Low 40 bits of a TTL owner hold the TTL in ms.
const TTL_MASK: u64 = 0xFF_FFFF_FFFF;

/// Most warnings kept (the rest are counted).
const MAX_WARNINGS: usize = 100;

/// What a node's `ephemeralOwner` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// 0: a persistent node.
    Persistent,
    /// `0x8000000000000000`: a container node.
    Container,
    /// Top byte `0xFF`: a TTL node (with `zookeeper.extendedTypesEnabled`).
    Ttl {
        /// TTL in ms (the low 40 bits).
        ttl_ms: u64,
    },
    /// Anything else: the id of the session that owns this ephemeral.
    Session(i64),
}

impl Owner {
    /// Classifies a raw `ephemeralOwner`.
    #[must_use]
    pub fn from_raw(owner: i64) -> Self {
        let u = owner.cast_unsigned();
        if owner == 0 {
            Owner::Persistent
        } else if owner == CONTAINER_OWNER {
            Owner::Container
        } else if u >> 56 == TTL_TOP_BYTE {
            Owner::Ttl {
                ttl_ms: u & TTL_MASK,
            }
        } else {
            Owner::Session(owner)
        }
    }

    /// The owning session, for ephemerals.
    #[must_use]
    pub fn session(self) -> Option<i64> {
        match self {
            Owner::Session(s) => Some(s),
            _ => None,
        }
    }
}

/// Whether a node's owner is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Not an ephemeral (persistent, container or TTL).
    NotEphemeral(Owner),
    /// The owning session is in the session map.
    Alive {
        /// Session id.
        session: i64,
        /// Its negotiated timeout (ms).
        timeout_ms: i32,
    },
    /// Snapshot only (no replay): the owner is not in the session map, but the node was created
    /// after the snapshot started (czxid > snapshot zxid), so its session was alive during the
    /// fuzzy snapshot window and may still be.
    Uncertain {
        /// Session id.
        session: i64,
    },
    /// The owning session is not in the session map: it was closed or expired (ZooKeeper
    /// deletes such ephemerals when it loads this state).
    Dead {
        /// Session id.
        session: i64,
    },
}

/// Options for [`load`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoadOptions {
    /// Snapshot reading options.
    pub snapshot: SnapshotOptions,
    /// Separate `dataLogDir` (or its `version-2/`), when it differs from the snapshot dir.
    pub log_dir: Option<PathBuf>,
    /// Do not replay logs even for a data dir.
    pub no_replay: bool,
}

/// One log that was read during replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedLog {
    /// The file.
    pub path: PathBuf,
    /// Zxid from its name.
    pub start_zxid: i64,
    /// Txns read (including those at or before the snapshot zxid, which are skipped).
    pub txns_read: u64,
    /// Txns applied (zxid > snapshot zxid).
    pub txns_applied: u64,
    /// Where it stopped.
    pub end: LogEnd,
}

/// ZooKeeper state: sessions and the kept subset of znodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkState {
    /// The snapshot the state starts from.
    pub snapshot: SnapshotInfo,
    /// Newer snapshots that failed validation, with reasons.
    pub rejected_snapshots: Vec<Rejected>,
    /// Session id → timeout (ms).
    pub sessions: HashMap<i64, i32>,
    /// Kept nodes by path (look up with `&str`: `state.nodes.get("/a")`).
    pub nodes: BTreeMap<Arc<str>, Node>,
    /// True when transaction logs were replayed (a data dir was given); false for a single
    /// snapshot file.
    pub replayed: bool,
    /// Logs read, in order.
    pub logs: Vec<ReplayedLog>,
    /// Txns applied after the snapshot.
    pub txns_applied: u64,
    /// Operations on kept paths that were no-ops because of NODEEXISTS / NONODE (as in ZooKeeper).
    pub ops_ignored: u64,
    /// Zxid of the last applied txn, or the snapshot zxid when none was applied.
    pub last_zxid: i64,
    /// Time of the last transaction reflected in the state (ms): the max of the snapshot's node
    /// ctime/mtime and the time of every applied txn.
    pub as_of_ms: i64,
    /// Oddities found while replaying (zxid gaps, partial tails in the middle, ...).
    pub warnings: Vec<String>,
}

impl ZkState {
    /// Whether `node`'s owner session is alive (see [`Liveness`]).
    #[must_use]
    pub fn is_alive(&self, node: &Node) -> Liveness {
        match Owner::from_raw(node.ephemeral_owner) {
            Owner::Session(session) => {
                if let Some(&timeout_ms) = self.sessions.get(&session) {
                    Liveness::Alive {
                        session,
                        timeout_ms,
                    }
                } else if !self.replayed && self.snapshot.zxid.is_some_and(|z| node.czxid > z) {
                    Liveness::Uncertain { session }
                } else {
                    Liveness::Dead { session }
                }
            }
            other => Liveness::NotEphemeral(other),
        }
    }
}

/// A snapshot file found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// Path.
    pub path: PathBuf,
    /// Zxid from the name.
    pub zxid: i64,
    /// Compression from the name.
    pub compression: Compression,
}

/// A log file found in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    /// Path.
    pub path: PathBuf,
    /// Zxid of its first txn, from the name.
    pub zxid: i64,
}

fn read_dir_names(dir: &Path) -> Result<Vec<String>, ZkError> {
    let rd = fs::read_dir(dir).map_err(|source| ZkError::ListDir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|source| ZkError::ListDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        if let Some(n) = e.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    Ok(names)
}

/// Snapshot files in `dir`, newest first. Files with the same zxid are ordered uncompressed,
/// snappy, gz (ZooKeeper takes whichever the directory listing gives first).
pub fn list_snapshots(dir: &Path) -> Result<Vec<SnapshotFile>, ZkError> {
    let mut v: Vec<SnapshotFile> = read_dir_names(dir)?
        .into_iter()
        .filter_map(|n| {
            let (zxid, compression) = parse_snapshot_file_name(&n)?;
            Some(SnapshotFile {
                path: dir.join(&n),
                zxid,
                compression,
            })
        })
        .collect();
    v.sort_by(|a, b| b.zxid.cmp(&a.zxid).then(a.compression.cmp(&b.compression)));
    Ok(v)
}

/// Log files in `dir`, oldest first.
pub fn list_logs(dir: &Path) -> Result<Vec<LogFile>, ZkError> {
    let mut v: Vec<LogFile> = read_dir_names(dir)?
        .into_iter()
        .filter_map(|n| {
            Some(LogFile {
                zxid: parse_log_file_name(&n)?,
                path: dir.join(&n),
            })
        })
        .collect();
    v.sort_by_key(|l| l.zxid);
    Ok(v)
}

/// The logs ZooKeeper replays after a snapshot at `snapshot_zxid` (`FileTxnLog.getLogFiles`):
/// the newest log starting at or before the snapshot zxid, and every later one. `logs` must be
/// sorted oldest first.
#[must_use]
pub fn logs_to_replay(logs: &[LogFile], snapshot_zxid: i64) -> Vec<LogFile> {
    let mut start = 0;
    for l in logs {
        if l.zxid > snapshot_zxid {
            break;
        }
        start = start.max(l.zxid);
    }
    logs.iter().filter(|l| l.zxid >= start).cloned().collect()
}

/// Resolves a data dir argument to the directory holding the files: `dir/version-2` if it
/// exists, else `dir` itself when it is named `version-2` or holds snapshot or log files.
pub fn resolve_version2_dir(path: &Path) -> Result<PathBuf, ZkError> {
    let v2 = path.join("version-2");
    if v2.is_dir() {
        return Ok(v2);
    }
    if path.file_name().is_some_and(|n| n == "version-2") {
        return Ok(path.to_path_buf());
    }
    let names = read_dir_names(path)?;
    if names
        .iter()
        .any(|n| parse_snapshot_file_name(n).is_some() || parse_log_file_name(n).is_some())
    {
        return Ok(path.to_path_buf());
    }
    Err(ZkError::NotADataDir {
        path: path.to_path_buf(),
    })
}

/// Loads ZooKeeper state from `path`, keeping the nodes whose path passes `filter`.
///
/// * A snapshot file: that snapshot alone; the logs after it are replayed only when
///   [`LoadOptions::log_dir`] names where they are.
/// * A data dir (`version-2/` or its parent): the newest snapshot that passes full validation
///   (older ones are tried in turn, each rejection recorded), then every txn after it from the
///   logs (unless [`LoadOptions::no_replay`]), found in the same directory or in
///   [`LoadOptions::log_dir`] (ZooKeeper's `dataLogDir`).
pub fn load(
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    opts: &LoadOptions,
) -> Result<ZkState, ZkError> {
    let meta = fs::metadata(path).map_err(|source| ZkError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let (snap, rejected, log_dir) = if meta.is_file() {
        let snap = read_snapshot_file(path, filter, &opts.snapshot)?;
        let Some(log_dir) = &opts.log_dir else {
            return Ok(Replayer::new(snap, filter, Vec::new(), false).finish());
        };
        (snap, Vec::new(), resolve_version2_dir(log_dir)?)
    } else {
        let snap_dir = resolve_version2_dir(path)?;
        let mut rejected = Vec::new();
        let mut chosen = None;
        for f in list_snapshots(&snap_dir)? {
            match read_snapshot_file(&f.path, filter, &opts.snapshot) {
                Ok(s) => {
                    chosen = Some(s);
                    break;
                }
                Err(e) => rejected.push(Rejected {
                    path: f.path,
                    reason: e.to_string(),
                }),
            }
        }
        let Some(snap) = chosen else {
            return Err(ZkError::NoValidSnapshot {
                dir: snap_dir,
                rejected,
            });
        };
        let log_dir = match &opts.log_dir {
            Some(d) => resolve_version2_dir(d)?,
            None => snap_dir,
        };
        (snap, rejected, log_dir)
    };
    let snap_zxid = snap.info.zxid.unwrap_or(0);
    let mut replayer = Replayer::new(snap, filter, rejected, !opts.no_replay);
    if opts.no_replay {
        return Ok(replayer.finish());
    }
    let logs = logs_to_replay(&list_logs(&log_dir)?, snap_zxid);
    let count = logs.len();
    for (i, log) in logs.into_iter().enumerate() {
        let mut reader = TxnLogReader::open(&log.path, &opts.snapshot.limits)?;
        let mut read = 0;
        let mut applied = 0;
        while let Some(txn) = reader.next_txn()? {
            read += 1;
            if txn.header.zxid > snap_zxid {
                applied += 1;
                replayer.apply(&txn, &log.path);
            }
        }
        let end = reader.end().cloned().unwrap_or(LogEnd::Eof { offset: 0 });
        if i + 1 < count && matches!(end, LogEnd::PartialTail { .. }) {
            replayer.warn(format!(
                "{}: {end}, but later logs exist; ZooKeeper continues with the next log",
                log.path.display()
            ));
        }
        replayer.state.logs.push(ReplayedLog {
            path: log.path,
            start_zxid: log.zxid,
            txns_read: read,
            txns_applied: applied,
            end,
        });
    }
    Ok(replayer.finish())
}

/// Applies txns to the kept subset.
struct Replayer<'f> {
    filter: &'f dyn Fn(&[u8]) -> bool,
    state: ZkState,
    /// Session → kept ephemerals it owns; built on the first closeSession.
    by_owner: Option<HashMap<i64, Vec<Arc<str>>>>,
    prev_zxid: i64,
    dropped_warnings: usize,
}

enum Op {
    Done,
    Ignored,
}

impl<'f> Replayer<'f> {
    fn new(
        snap: super::snapshot::Snapshot,
        filter: &'f dyn Fn(&[u8]) -> bool,
        rejected: Vec<Rejected>,
        replayed: bool,
    ) -> Self {
        // Sorting first makes `collect` a linear bulk build (much faster than inserting one by
        // one, and an unstable sort is about twice as fast as the stable one `collect` would do).
        // ZooKeeper never writes a path twice; if a file does, the node with the highest mzxid
        // wins (the bulk build keeps the last of equal keys).
        let mut list = snap.nodes;
        list.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.mzxid.cmp(&b.1.mzxid)));
        let nodes: BTreeMap<Arc<str>, Node> = list.into_iter().collect();
        let zxid = snap.info.zxid.unwrap_or(0);
        let as_of = snap.info.max_ctime.max(snap.info.max_mtime);
        Replayer {
            filter,
            state: ZkState {
                snapshot: snap.info,
                rejected_snapshots: rejected,
                sessions: snap.sessions,
                nodes,
                replayed,
                logs: Vec::new(),
                txns_applied: 0,
                ops_ignored: 0,
                last_zxid: zxid,
                as_of_ms: as_of,
                warnings: Vec::new(),
            },
            by_owner: None,
            prev_zxid: zxid,
            dropped_warnings: 0,
        }
    }

    fn owner_index(&mut self) -> &mut HashMap<i64, Vec<Arc<str>>> {
        let nodes = &self.state.nodes;
        self.by_owner.get_or_insert_with(|| {
            let mut idx: HashMap<i64, Vec<Arc<str>>> = HashMap::new();
            for (p, n) in nodes {
                if let Some(s) = Owner::from_raw(n.ephemeral_owner).session() {
                    idx.entry(s).or_default().push(Arc::clone(p));
                }
            }
            idx
        })
    }

    fn warn(&mut self, w: String) {
        if self.state.warnings.len() < MAX_WARNINGS {
            self.state.warnings.push(w);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn finish(mut self) -> ZkState {
        if self.dropped_warnings > 0 {
            let n = self.dropped_warnings;
            self.state
                .warnings
                .push(format!("... and {n} more warnings"));
        }
        self.state
    }

    fn apply(&mut self, txn: &Txn, file: &Path) {
        let z = txn.header.zxid;
        let prev = self.prev_zxid;
        if z <= prev {
            self.warn(format!(
                "{} at byte {}: zxid {z:#x} does not follow {prev:#x}",
                file.display(),
                txn.offset
            ));
        } else if z >> 32 == prev >> 32 && z != prev + 1 {
            self.warn(format!(
                "{} at byte {}: txns {:#x}..={:#x} are missing (the logs have a gap)",
                file.display(),
                txn.offset,
                prev + 1,
                z - 1
            ));
        }
        self.prev_zxid = self.prev_zxid.max(z);
        self.state.txns_applied += 1;
        self.state.last_zxid = z;
        self.state.as_of_ms = self.state.as_of_ms.max(txn.header.time);
        let client = txn.header.client_id;
        match &txn.record {
            TxnRecord::CreateSession { timeout } => {
                self.state.sessions.insert(client, *timeout);
            }
            TxnRecord::CloseSession { paths_to_delete } => {
                self.state.sessions.remove(&client);
                for p in paths_to_delete.iter().flatten() {
                    // ZooKeeper logs and ignores NONODE here.
                    self.delete(p);
                }
                if let Some(paths) = self.owner_index().remove(&client) {
                    for p in paths {
                        self.delete(&p);
                    }
                }
            }
            TxnRecord::Multi(subs) => {
                if subs.iter().any(|s| matches!(s, TxnRecord::Error { .. })) {
                    // DataTree turns every sub-txn of a failed multi into an error: nothing applies.
                    return;
                }
                for s in subs {
                    self.apply_op(s, txn);
                }
            }
            other => self.apply_op(other, txn),
        }
    }

    fn apply_op(&mut self, r: &TxnRecord, txn: &Txn) {
        let h = &txn.header;
        let op = match r {
            TxnRecord::Create {
                path,
                data,
                ephemeral,
                ..
            } => {
                let owner = if *ephemeral { h.client_id } else { 0 };
                self.create(path, data.as_deref(), owner, h.zxid, h.time)
            }
            TxnRecord::CreateContainer { path, data, .. } => {
                self.create(path, data.as_deref(), CONTAINER_OWNER, h.zxid, h.time)
            }
            TxnRecord::CreateTtl {
                path, data, ttl, ..
            } => {
                let owner = (ttl.cast_unsigned() & TTL_MASK | TTL_TOP_BYTE << 56).cast_signed();
                self.create(path, data.as_deref(), owner, h.zxid, h.time)
            }
            TxnRecord::Delete { path, .. } => self.delete(path),
            TxnRecord::SetData { path, data, .. } | TxnRecord::Reconfig { path, data, .. } => {
                match self.state.nodes.get_mut(path.as_str()) {
                    Some(n) => {
                        n.data.clone_from(data);
                        n.mzxid = h.zxid;
                        n.mtime = h.time;
                        Op::Done
                    }
                    None if (self.filter)(path.as_bytes()) => Op::Ignored,
                    None => Op::Done,
                }
            }
            TxnRecord::CreateSession { .. }
            | TxnRecord::CloseSession { .. }
            | TxnRecord::SetAcl { .. }
            | TxnRecord::Check { .. }
            | TxnRecord::Error { .. }
            | TxnRecord::Multi(_) => Op::Done,
        };
        if matches!(op, Op::Ignored) {
            self.state.ops_ignored += 1;
        }
    }

    fn create(&mut self, path: &str, data: Option<&[u8]>, owner: i64, zxid: i64, time: i64) -> Op {
        if !(self.filter)(path.as_bytes()) {
            return Op::Done;
        }
        if self.state.nodes.contains_key(path) {
            return Op::Ignored; // NODEEXISTS
        }
        let Some(slash) = path.rfind('/') else {
            return Op::Ignored;
        };
        let parent = &path[..slash];
        // A parent outside the kept subset cannot be checked; assume it exists.
        if (self.filter)(parent.as_bytes()) && !self.state.nodes.contains_key(parent) {
            return Op::Ignored; // NONODE
        }
        let key: Arc<str> = Arc::from(path);
        if let (Some(s), Some(idx)) = (Owner::from_raw(owner).session(), self.by_owner.as_mut()) {
            idx.entry(s).or_default().push(Arc::clone(&key));
        }
        self.state.nodes.insert(
            key,
            Node {
                data: data.map(<[u8]>::to_vec),
                czxid: zxid,
                mzxid: zxid,
                ctime: time,
                mtime: time,
                ephemeral_owner: owner,
            },
        );
        Op::Done
    }

    fn delete(&mut self, path: &str) -> Op {
        match self.state.nodes.remove(path) {
            Some(n) => {
                if let Some(s) = Owner::from_raw(n.ephemeral_owner).session()
                    && let Some(list) = self.by_owner.as_mut().and_then(|i| i.get_mut(&s))
                {
                    list.retain(|p| &**p != path);
                }
                Op::Done
            }
            None if (self.filter)(path.as_bytes()) => Op::Ignored,
            None => Op::Done,
        }
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use super::super::snapshot::keep_all;
    use super::super::writer::{SnapshotBuilder, SnapshotNode, TxnLogBuilder, op, rec, txn};
    use super::*;

    const A: i64 = 0x100_0000_0000_000a;
    const B: i64 = 0x100_0000_0000_000b;

    #[test]
    fn owners() {
        assert_eq!(Owner::from_raw(0), Owner::Persistent);
        assert_eq!(Owner::from_raw(i64::MIN), Owner::Container);
        assert_eq!(
            Owner::from_raw(0xFF00_0000_0000_1388_u64.cast_signed()),
            Owner::Ttl { ttl_ms: 5000 }
        );
        assert_eq!(Owner::from_raw(A), Owner::Session(A));
        assert_eq!(
            Owner::from_raw(-2),
            Owner::Ttl {
                ttl_ms: TTL_MASK - 1
            }
        );
        assert_eq!(
            Owner::from_raw(0x7F00_0000_0000_0001),
            Owner::Session(0x7F00_0000_0000_0001)
        );
    }

    #[test]
    fn log_selection_matches_get_log_files() {
        let logs: Vec<LogFile> = [1, 0x38, 0x86, 0x8c]
            .iter()
            .map(|&z| LogFile {
                path: format!("log.{z:x}").into(),
                zxid: z,
            })
            .collect();
        let pick = |z| {
            logs_to_replay(&logs, z)
                .iter()
                .map(|l| l.zxid)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pick(0),
            vec![1, 0x38, 0x86, 0x8c],
            "no log starts at or before 0: all"
        );
        assert_eq!(pick(0x37), vec![1, 0x38, 0x86, 0x8c]);
        assert_eq!(pick(0x38), vec![0x38, 0x86, 0x8c]);
        assert_eq!(pick(0x84), vec![0x38, 0x86, 0x8c]);
        assert_eq!(pick(0x8b), vec![0x86, 0x8c]);
        assert_eq!(pick(0x92), vec![0x8c]);
    }

    fn write_dir(
        snap: &SnapshotBuilder,
        snap_zxid: i64,
        logs: &[(i64, Vec<u8>)],
    ) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let v2 = d.path().join("version-2");
        fs::create_dir(&v2).unwrap();
        fs::write(v2.join(format!("snapshot.{snap_zxid:x}")), snap.build()).unwrap();
        for (z, b) in logs {
            fs::write(v2.join(format!("log.{z:x}")), b).unwrap();
        }
        d
    }

    fn base_snapshot() -> SnapshotBuilder {
        let mut b = SnapshotBuilder::new();
        b.session(A, 30_000);
        b.node(&SnapshotNode::new("", None));
        b.node(&SnapshotNode {
            ctime: 50,
            mtime: 60,
            ..SnapshotNode::new("/k", Some(b""))
        });
        b.node(&SnapshotNode {
            czxid: 3,
            ephemeral_owner: A,
            ..SnapshotNode::new("/k/a1", Some(b"1"))
        });
        b.node(&SnapshotNode::new("/other", Some(b"")));
        b
    }

    #[test]
    fn replay_semantics() {
        let mut log = TxnLogBuilder::new();
        let t = |client, zxid, ty, body: Vec<u8>| {
            txn(client, zxid, 1000 + zxid, ty, &body, Some((2, 0)))
        };
        log.entry(&t(
            A,
            4,
            op::SET_DATA,
            rec::set_data("/k", Some(b"skipped"), 1),
        )); // <= snapshot zxid
        log.entry(&t(B, 6, op::CREATE_SESSION, rec::create_session(40_000)));
        log.entry(&t(
            B,
            7,
            op::CREATE,
            rec::create("/k/b1", Some(b"b"), true, Some(2)),
        ));
        log.entry(&t(
            B,
            8,
            op::CREATE,
            rec::create("/k/a1", Some(b"dup"), true, Some(3)),
        )); // NODEEXISTS
        log.entry(&t(
            B,
            9,
            op::CREATE,
            rec::create("/k/missing/x", None, false, Some(1)),
        )); // NONODE
        log.entry(&t(B, 10, op::SET_DATA, rec::set_data("/k", Some(b"v"), 1)));
        log.entry(&t(
            B,
            11,
            op::CREATE_CONTAINER,
            rec::create_container("/k/c", None, 4),
        ));
        log.entry(&t(
            B,
            12,
            op::CREATE_TTL,
            rec::create_ttl("/k/t", None, 5, 5000),
        ));
        log.entry(&t(
            B,
            13,
            op::CREATE,
            rec::create("/other/x", None, false, Some(1)),
        )); // not kept
        // A failed multi: nothing applies.
        log.entry(&t(
            B,
            14,
            op::MULTI,
            rec::multi(&[
                (op::CREATE, rec::create("/k/never", None, false, Some(6))),
                (op::ERROR, rec::error(-101)),
            ]),
        ));
        // A good multi applies in order.
        log.entry(&t(
            B,
            15,
            op::MULTI,
            rec::multi(&[
                (op::CREATE, rec::create("/k/m", Some(b"1"), false, Some(6))),
                (op::SET_DATA, rec::set_data("/k/m", Some(b"2"), 1)),
                (op::CHECK, rec::check("/k/m", 1)),
                (op::DELETE, rec::delete("/k/c")),
            ]),
        ));
        // Session A closes (3.6+ style with paths); B's node survives. Pre-3.6 style for B later.
        log.entry(&t(
            A,
            16,
            op::CLOSE_SESSION,
            rec::close_session(Some(&["/k/a1"])),
        ));
        log.entry(&t(B, 18, op::DELETE, rec::delete("/k/gone"))); // NONODE, after a gap
        let d = write_dir(&base_snapshot(), 5, &[(1, log.build())]);
        let filter = |p: &[u8]| p.starts_with(b"/k");
        let s = load(d.path(), &filter, &LoadOptions::default()).unwrap();
        assert!(s.replayed);
        assert_eq!(s.txns_applied, 12);
        assert_eq!(s.ops_ignored, 3);
        assert_eq!(s.last_zxid, 18);
        assert_eq!(s.as_of_ms, 1018);
        assert_eq!(s.logs.len(), 1);
        assert_eq!(s.logs[0].txns_read, 13);
        assert_eq!(s.logs[0].txns_applied, 12);
        assert_eq!(s.sessions, HashMap::from([(B, 40_000)]));
        let paths: Vec<&str> = s.nodes.keys().map(|p| &**p).collect();
        assert_eq!(paths, ["/k", "/k/b1", "/k/m", "/k/t"]);
        assert_eq!(s.nodes["/k"].data.as_deref(), Some(&b"v"[..]));
        assert_eq!(s.nodes["/k"].mzxid, 10);
        assert_eq!(s.nodes["/k"].mtime, 1010);
        assert_eq!(s.nodes["/k/m"].data.as_deref(), Some(&b"2"[..]));
        assert_eq!(s.nodes["/k/b1"].ephemeral_owner, B);
        assert_eq!(
            s.nodes["/k/t"].ephemeral_owner,
            0xFF00_0000_0000_1388_u64.cast_signed()
        );
        assert_eq!(
            s.is_alive(&s.nodes["/k/b1"]),
            Liveness::Alive {
                session: B,
                timeout_ms: 40_000
            }
        );
        assert_eq!(
            s.is_alive(&s.nodes["/k/t"]),
            Liveness::NotEphemeral(Owner::Ttl { ttl_ms: 5000 })
        );
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("0x11..=0x11 are missing")),
            "{:?}",
            s.warnings
        );

        // Pre-3.6 closeSession (no paths) still removes the owner's ephemerals.
        let mut log2 = TxnLogBuilder::new();
        log2.entry(&t(B, 19, op::CLOSE_SESSION, rec::close_session(None)));
        fs::write(d.path().join("version-2/log.12"), log2.build()).unwrap();
        let s = load(d.path(), &filter, &LoadOptions::default()).unwrap();
        assert!(s.sessions.is_empty());
        assert!(!s.nodes.contains_key("/k/b1"));
        assert_eq!(s.logs.len(), 2);
    }

    #[test]
    fn falls_back_to_older_valid_snapshot_and_replays_from_it() {
        let mut log = TxnLogBuilder::new();
        log.entry(&txn(
            A,
            6,
            2000,
            op::SET_DATA,
            &rec::set_data("/k", Some(b"six"), 1),
            None,
        ));
        let d = write_dir(&base_snapshot(), 5, &[(6, log.build())]);
        let v2 = d.path().join("version-2");
        let mut newer = base_snapshot().build();
        let n = newer.len();
        newer[n / 2] ^= 1;
        fs::write(v2.join("snapshot.6"), &newer).unwrap();
        fs::write(v2.join("snapshot.7.tmp"), b"junk").unwrap();
        let s = load(&v2, &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!(s.snapshot.zxid, Some(5));
        assert_eq!(s.rejected_snapshots.len(), 1);
        assert!(s.rejected_snapshots[0].path.ends_with("snapshot.6"));
        assert!(
            s.rejected_snapshots[0].reason.contains("snapshot.6"),
            "{}",
            s.rejected_snapshots[0].reason
        );
        assert_eq!(s.nodes["/k"].data.as_deref(), Some(&b"six"[..]));

        fs::write(v2.join("snapshot.5"), b"garbage").unwrap();
        let e = load(&v2, &keep_all, &LoadOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, ZkError::NoValidSnapshot { rejected, .. } if rejected.len() == 2),
            "{msg}"
        );
        assert!(
            msg.contains("snapshot.6") && msg.contains("snapshot.5"),
            "{msg}"
        );
    }

    #[test]
    fn single_file_is_not_replayed_and_fuzzy_rule_applies() {
        let mut b = base_snapshot();
        b.node(&SnapshotNode {
            czxid: 9,
            ephemeral_owner: B,
            ..SnapshotNode::new("/k2", None)
        });
        b.node(&SnapshotNode {
            czxid: 2,
            ephemeral_owner: B,
            ..SnapshotNode::new("/k3", None)
        });
        let mut log = TxnLogBuilder::new();
        log.entry(&txn(
            A,
            6,
            2000,
            op::SET_DATA,
            &rec::set_data("/k", Some(b"six"), 1),
            None,
        ));
        let d = write_dir(&b, 5, &[(6, log.build())]);
        let f = d.path().join("version-2/snapshot.5");
        let s = load(&f, &keep_all, &LoadOptions::default()).unwrap();
        assert!(!s.replayed);
        assert_eq!(s.txns_applied, 0);
        assert_eq!(s.nodes["/k"].data.as_deref(), Some(&b""[..]));
        assert_eq!(s.as_of_ms, 60);
        assert_eq!(
            s.is_alive(&s.nodes["/k/a1"]),
            Liveness::Alive {
                session: A,
                timeout_ms: 30_000
            }
        );
        assert_eq!(
            s.is_alive(&s.nodes["/k2"]),
            Liveness::Uncertain { session: B }
        );
        assert_eq!(s.is_alive(&s.nodes["/k3"]), Liveness::Dead { session: B });
        let s = load(
            d.path(),
            &keep_all,
            &LoadOptions {
                no_replay: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(s.txns_applied, 0);
        // With replay, the dead-owner rule is exact.
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!(s.is_alive(&s.nodes["/k2"]), Liveness::Dead { session: B });
    }

    #[test]
    fn corrupt_log_is_an_error_naming_the_file() {
        let mut log = TxnLogBuilder::new();
        log.entry(&txn(
            A,
            6,
            2000,
            op::SET_DATA,
            &rec::set_data("/k", Some(b"six"), 1),
            None,
        ));
        log.entry(&txn(
            A,
            7,
            2000,
            op::SET_DATA,
            &rec::set_data("/k", Some(b"7"), 2),
            None,
        ));
        let mut bytes = log.build();
        let at = log.entry_offsets()[0] + 12 + 3;
        bytes[at] ^= 1;
        let d = write_dir(&base_snapshot(), 5, &[(6, bytes)]);
        let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("log.6"), "{e}");
    }

    #[test]
    fn not_a_data_dir() {
        let d = tempfile::tempdir().unwrap();
        let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
        assert!(matches!(e, ZkError::NotADataDir { .. }), "{e}");
        let e = load(&d.path().join("nope"), &keep_all, &LoadOptions::default()).unwrap_err();
        assert!(matches!(e, ZkError::Open { .. }), "{e}");
    }
}
