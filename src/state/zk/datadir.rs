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

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{ChainBreak, Rejected, ZkError};
use super::nodes::Nodes;
use super::snapshot::{
    Compression, Node, Sessions, SnapshotInfo, SnapshotOptions, Tally, TallyFilter, file_kind,
    parse_snapshot_file_name, read_snapshot_file_with, tally_key,
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
    pub sessions: Sessions,
    /// Kept nodes by path (look up with `&str`: `state.nodes.get("/a")`), in file order.
    pub nodes: Nodes,
    /// Nodes counted but not kept ([`load_with`]'s tally), after replay.
    pub tallied: Tally,
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
    /// Oddities found while listing and replaying (non-regular files skipped, partial tails in
    /// the middle of the chain, ...).
    pub warnings: Vec<String>,
}

impl ZkState {
    /// Whether `node`'s owner session is alive (see [`Liveness`]).
    #[must_use]
    pub fn is_alive(&self, node: &Node) -> Liveness {
        self.liveness(node.ephemeral_owner, node.czxid)
    }

    /// [`Self::is_alive`] of a node with this owner and czxid (a tallied one).
    #[must_use]
    pub fn liveness(&self, ephemeral_owner: i64, czxid: i64) -> Liveness {
        match Owner::from_raw(ephemeral_owner) {
            Owner::Session(session) => {
                if let Some(&timeout_ms) = self.sessions.get(&session) {
                    Liveness::Alive {
                        session,
                        timeout_ms,
                    }
                } else if !self.replayed && self.snapshot.zxid.is_some_and(|z| czxid > z) {
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

/// Whether `path` (a directory entry with a snapshot or log name) can be read: a regular file,
/// or a symbolic link to one. Anything else (a FIFO would block the reader forever, a
/// directory cannot be read) is skipped with a warning pushed to `skipped`.
fn is_readable_file(path: &Path, skipped: &mut Vec<String>) -> bool {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => true,
        Ok(m) => {
            skipped.push(format!(
                "{}: skipped, it is a {}, not a regular file",
                path.display(),
                file_kind(m.file_type())
            ));
            false
        }
        Err(e) => {
            skipped.push(format!(
                "{}: skipped, cannot inspect it: {e}",
                path.display()
            ));
            false
        }
    }
}

/// Snapshot files in `dir`, newest first. Files with the same zxid are ordered uncompressed,
/// snappy, gz (ZooKeeper takes whichever the directory listing gives first). Names that are not
/// regular files (nor symbolic links to one) are left out, with a warning each in `skipped`.
pub fn list_snapshots(dir: &Path, skipped: &mut Vec<String>) -> Result<Vec<SnapshotFile>, ZkError> {
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
        .filter(|f| is_readable_file(&f.path, skipped))
        .collect();
    v.sort_by(|a, b| b.zxid.cmp(&a.zxid).then(a.compression.cmp(&b.compression)));
    Ok(v)
}

/// Log files in `dir`, oldest first. Names that are not regular files (nor symbolic links to
/// one) are left out, with a warning each in `skipped`.
pub fn list_logs(dir: &Path, skipped: &mut Vec<String>) -> Result<Vec<LogFile>, ZkError> {
    let mut v: Vec<LogFile> = read_dir_names(dir)?
        .into_iter()
        .filter_map(|n| {
            Some(LogFile {
                zxid: parse_log_file_name(&n)?,
                path: dir.join(&n),
            })
        })
        .filter(|f| is_readable_file(&f.path, skipped))
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
///
/// Only a gap-free chain of txns is replayed (see `Replayer::apply` for the rule): when the
/// logs after a valid snapshot miss a range of zxids, older valid snapshots are tried in turn
/// (each one passed over is recorded in [`ZkState::rejected_snapshots`] with the gap), and when
/// none gives a complete chain the source is refused with [`ZkError::LogGap`]. Snapshot and log
/// names that are not regular files (a FIFO would block the reader) are skipped with a warning.
pub fn load(
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    opts: &LoadOptions,
) -> Result<ZkState, ZkError> {
    load_with(path, filter, None, opts)
}

/// [`load`], also counting the nodes that `filter` drops and `tally` accepts into
/// [`ZkState::tallied`] (their owner and czxid, under a hash of the path), through the replay:
/// created and deleted by txns, and removed with their session. How many there are, and how many
/// are alive, is then known without keeping them.
pub fn load_with(
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    tally: Option<TallyFilter<'_>>,
    opts: &LoadOptions,
) -> Result<ZkState, ZkError> {
    let meta = fs::metadata(path).map_err(|source| ZkError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let mut skipped = Vec::new();
    if meta.is_file() {
        let snap = read_snapshot_file_with(path, filter, tally, &opts.snapshot)?;
        let Some(log_dir) = &opts.log_dir else {
            return Ok(Replayer::new(snap, filter, tally, Vec::new(), false).finish());
        };
        let logs = list_logs(&resolve_version2_dir(log_dir)?, &mut skipped)?;
        let mut replayer = Replayer::new(snap, filter, tally, Vec::new(), !opts.no_replay);
        replayer.warn_all(skipped);
        if !opts.no_replay {
            replay(&mut replayer, &logs, opts).map_err(|e| e.into_error(path, 0))?;
        }
        return Ok(replayer.finish());
    }
    if !meta.is_dir() {
        return Err(ZkError::NotARegularFile {
            path: path.to_path_buf(),
            kind: file_kind(meta.file_type()),
        });
    }
    let snap_dir = resolve_version2_dir(path)?;
    let snapshots = list_snapshots(&snap_dir, &mut skipped)?;
    let logs = if opts.no_replay {
        Vec::new()
    } else {
        let log_dir = match &opts.log_dir {
            Some(d) => resolve_version2_dir(d)?,
            None => snap_dir.clone(),
        };
        list_logs(&log_dir, &mut skipped)?
    };
    let mut rejected = Vec::new();
    // The first gap found, from the newest valid snapshot: reported if no older one helps.
    let mut first_gap: Option<(PathBuf, ChainBreak)> = None;
    let mut older_tried = 0;
    for f in snapshots {
        let snap = match read_snapshot_file_with(&f.path, filter, tally, &opts.snapshot) {
            Ok(s) => s,
            Err(e) => {
                rejected.push(Rejected {
                    path: f.path,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        if first_gap.is_some() {
            older_tried += 1;
        }
        let mut replayer = Replayer::new(snap, filter, tally, rejected.clone(), !opts.no_replay);
        replayer.warn_all(skipped.clone());
        if opts.no_replay {
            return Ok(replayer.finish());
        }
        match replay(&mut replayer, &logs, opts) {
            Ok(()) => return Ok(replayer.finish()),
            Err(ReplayError::Zk(e)) => return Err(e),
            Err(ReplayError::Gap(gap)) => {
                // See: the issue "Damaged or surprising state must never make a live engine's
                // pod an orphan": registrations created inside the gap would be missing.
                rejected.push(Rejected {
                    path: f.path.clone(),
                    reason: format!(
                        "valid, but the transaction logs after it have a gap: {gap}; an older \
                         snapshot was tried instead"
                    ),
                });
                first_gap.get_or_insert((f.path, gap));
            }
        }
    }
    if let Some((snapshot, gap)) = first_gap {
        return Err(ZkError::LogGap {
            snapshot,
            gap: Box::new(gap),
            older_tried,
        });
    }
    Err(ZkError::NoValidSnapshot {
        dir: snap_dir,
        rejected,
    })
}

/// Why a replay stopped.
enum ReplayError {
    /// The chain of txns breaks (the caller may fall back to an older snapshot).
    Gap(ChainBreak),
    /// Anything else: a corrupt or unreadable log, txns out of order.
    Zk(ZkError),
}

impl From<ZkError> for ReplayError {
    fn from(e: ZkError) -> Self {
        ReplayError::Zk(e)
    }
}

impl ReplayError {
    fn into_error(self, snapshot: &Path, older_tried: usize) -> ZkError {
        match self {
            ReplayError::Zk(e) => e,
            ReplayError::Gap(gap) => ZkError::LogGap {
                snapshot: snapshot.to_path_buf(),
                gap: Box::new(gap),
                older_tried,
            },
        }
    }
}

/// Replays onto `replayer` every txn after its snapshot from `logs` (sorted oldest first).
fn replay(
    replayer: &mut Replayer<'_>,
    logs: &[LogFile],
    opts: &LoadOptions,
) -> Result<(), ReplayError> {
    let snap_zxid = replayer.state.snapshot.zxid.unwrap_or(0);
    let logs = logs_to_replay(logs, snap_zxid);
    let count = logs.len();
    for (i, log) in logs.into_iter().enumerate() {
        let mut reader = TxnLogReader::open(&log.path, &opts.snapshot.limits)?;
        let mut read = 0;
        let mut applied = 0;
        while let Some(txn) = reader.next_txn()? {
            read += 1;
            // ZooKeeper's `fastForwardFromEdits` reads from `lastProcessedZxid + 1`: its
            // iterator skips every txn at or before the snapshot's zxid.
            if txn.header.zxid > snap_zxid {
                applied += 1;
                replayer.apply(&txn, &log.path)?;
            }
        }
        let end = reader.end().cloned().unwrap_or(LogEnd::Eof { offset: 0 });
        if i + 1 < count && matches!(end, LogEnd::PartialTail { .. }) {
            // Fine only when the next log continues the chain, which `apply` checks.
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
    Ok(())
}

/// Applies txns to the kept subset.
struct Replayer<'f> {
    filter: &'f dyn Fn(&[u8]) -> bool,
    tally: Option<TallyFilter<'f>>,
    state: ZkState,
    /// Session → kept ephemerals it owns; built on the first closeSession.
    by_owner: Option<HashMap<i64, Vec<Arc<str>>>>,
    /// Session → tallied ephemerals it owns; built on the first closeSession.
    tally_by_owner: Option<HashMap<i64, Vec<u64>>>,
    prev_zxid: i64,
    /// The file the txn at `prev_zxid` came from (the snapshot before any txn is applied).
    prev_path: PathBuf,
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
        tally: Option<TallyFilter<'f>>,
        rejected: Vec<Rejected>,
        replayed: bool,
    ) -> Self {
        let nodes = Nodes::from_list(snap.nodes);
        let zxid = snap.info.zxid.unwrap_or(0);
        let as_of = snap.info.max_ctime.max(snap.info.max_mtime);
        let prev_path = snap.info.path.clone();
        Replayer {
            filter,
            tally,
            tally_by_owner: None,
            state: ZkState {
                tallied: snap.tallied,
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
            prev_path,
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

    fn warn_all(&mut self, warnings: Vec<String>) {
        for w in warnings {
            self.warn(w);
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

    /// Applies one txn after checking that it continues the chain.
    ///
    /// The chain rule, from ZooKeeper's source (`Leader.lead` sets the zxid to
    /// `ZxidUtils.makeZxid(epoch, 0)` when it starts an epoch, and every proposal takes the next
    /// zxid, `++hzxid`; the NEWLEADER packet carries `(epoch, 0)` but is not logged): within an
    /// epoch (`zxid >> 32`) each txn is the previous one + 1; the first txn of a later epoch has
    /// counter (`zxid & 0xffffffff`) 1. Epochs may be skipped (an epoch without writes).
    /// Anything else means txns are missing: [`ReplayError::Gap`].
    ///
    /// A zxid at or below the last one applied (and above the snapshot's, which `replay`
    /// skips as ZooKeeper's iterator does) is refused. ZooKeeper's `fastForwardFromEdits` only
    /// logs "(highestZxid) > (next log)" and applies such a txn anyway, and `FileTxnLog.append`
    /// only warns when it writes one, so the files then do not hold one linear history; which
    /// txn ZooKeeper's in-memory state reflects cannot be told from them.
    fn apply(&mut self, txn: &Txn, file: &Path) -> Result<(), ReplayError> {
        let z = txn.header.zxid;
        let prev = self.prev_zxid;
        if z <= prev {
            return Err(ReplayError::Zk(ZkError::ZxidOutOfOrder {
                path: file.to_path_buf(),
                offset: txn.offset,
                zxid: z,
                prev,
                prev_path: Box::new(self.prev_path.clone()),
            }));
        }
        let contiguous = if z >> 32 == prev >> 32 {
            z == prev + 1
        } else {
            z & 0xffff_ffff == 1
        };
        if !contiguous {
            return Err(ReplayError::Gap(ChainBreak {
                before: self.prev_path.clone(),
                before_zxid: prev,
                after: file.to_path_buf(),
                offset: txn.offset,
                after_zxid: z,
            }));
        }
        self.prev_zxid = z;
        if self.prev_path != file {
            self.prev_path = file.to_path_buf();
        }
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
                if self.tally.is_some() {
                    let tallied = &self.state.tallied;
                    let index = self.tally_by_owner.get_or_insert_with(|| {
                        let mut index: HashMap<i64, Vec<u64>> = HashMap::new();
                        for (key, (owner, _)) in tallied.iter() {
                            if let Some(s) = Owner::from_raw(owner).session() {
                                index.entry(s).or_default().push(key);
                            }
                        }
                        index
                    });
                    for key in index.remove(&client).unwrap_or_default() {
                        // Unless the path was deleted and created again by another session.
                        let owned = self.state.tallied.get(key).is_some_and(|(owner, _)| {
                            Owner::from_raw(owner).session() == Some(client)
                        });
                        if owned {
                            self.state.tallied.remove(key);
                        }
                    }
                }
            }
            TxnRecord::Multi(subs) => {
                if subs.iter().any(|s| matches!(s, TxnRecord::Error { .. })) {
                    // DataTree turns every sub-txn of a failed multi into an error: nothing applies.
                    return Ok(());
                }
                for s in subs {
                    self.apply_op(s, txn);
                }
            }
            other => self.apply_op(other, txn),
        }
        Ok(())
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
            if let Some(tally) = self.tally
                && tally(path.as_bytes())
            {
                let key = tally_key(path.as_bytes());
                if self.state.tallied.insert(key, (owner, zxid)).is_none()
                    && let (Some(s), Some(index)) = (
                        Owner::from_raw(owner).session(),
                        self.tally_by_owner.as_mut(),
                    )
                {
                    index.entry(s).or_default().push(key);
                }
            }
            return Op::Done;
        }
        if self.state.nodes.has(path) {
            return Op::Ignored; // NODEEXISTS
        }
        let Some(slash) = path.rfind('/') else {
            return Op::Ignored;
        };
        let parent = &path[..slash];
        // A parent outside the kept subset cannot be checked; assume it exists.
        if (self.filter)(parent.as_bytes()) && !self.state.nodes.has(parent) {
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
            None => {
                if self.tally.is_some_and(|tally| tally(path.as_bytes())) {
                    self.state.tallied.remove(tally_key(path.as_bytes()));
                }
                Op::Done
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use super::super::snapshot::{keep_all, read_snapshot_file};
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
        log.entry(&t(B, 17, op::DELETE, rec::delete("/k/gone"))); // NONODE
        let d = write_dir(&base_snapshot(), 5, &[(1, log.build())]);
        let filter = |p: &[u8]| p.starts_with(b"/k");
        let s = load(d.path(), &filter, &LoadOptions::default()).unwrap();
        assert!(s.replayed);
        assert_eq!(s.txns_applied, 12);
        assert_eq!(s.ops_ignored, 3);
        assert_eq!(s.last_zxid, 17);
        assert_eq!(s.as_of_ms, 1017);
        assert_eq!(s.logs.len(), 1);
        assert_eq!(s.logs[0].txns_read, 13);
        assert_eq!(s.logs[0].txns_applied, 12);
        assert_eq!(s.sessions, Sessions::from_iter([(B, 40_000)]));
        let mut paths: Vec<&str> = s.nodes.keys().map(|p| &**p).collect();
        paths.sort_unstable();
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
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        // Pre-3.6 closeSession (no paths) still removes the owner's ephemerals.
        let mut log2 = TxnLogBuilder::new();
        log2.entry(&t(B, 18, op::CLOSE_SESSION, rec::close_session(None)));
        fs::write(d.path().join("version-2/log.13"), log2.build()).unwrap();
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

    fn set_data(zxid: i64, value: &str) -> Vec<u8> {
        txn(
            A,
            zxid,
            1000 + zxid,
            op::SET_DATA,
            &rec::set_data("/k", Some(value.as_bytes()), 1),
            None,
        )
    }

    fn log_of(zxids: &[i64]) -> Vec<u8> {
        let mut log = TxnLogBuilder::new();
        for &z in zxids {
            log.entry(&set_data(z, &format!("{z:x}")));
        }
        log.build()
    }

    #[test]
    fn a_gap_in_the_logs_refuses_the_source_naming_files_and_range() {
        // log.6 holds 6..=8, log.a is missing, log.c holds 0xc..=0xd.
        let d = write_dir(
            &base_snapshot(),
            5,
            &[(6, log_of(&[6, 7, 8])), (0xc, log_of(&[0xc, 0xd]))],
        );
        let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
        let msg = e.to_string();
        let ZkError::LogGap {
            gap, older_tried, ..
        } = &e
        else {
            panic!("{msg}");
        };
        assert_eq!((gap.before_zxid, gap.after_zxid, *older_tried), (8, 0xc, 0));
        assert!(msg.contains("txns 0x9..=0xb are missing"), "{msg}");
        assert!(msg.contains("log.6 (last txn 0x8)"), "{msg}");
        assert!(msg.contains("log.c (next txn 0xc at byte"), "{msg}");
        assert!(msg.contains("snapshot.5"), "{msg}");

        // A gap between the snapshot and the first log is a gap too.
        let d = write_dir(&base_snapshot(), 5, &[(8, log_of(&[8, 9]))]);
        let msg = load(d.path(), &keep_all, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("txns 0x6..=0x7 are missing"), "{msg}");
        assert!(msg.contains("snapshot.5 (last txn 0x5)"), "{msg}");

        // A txn range cut out of the middle of one log.
        let d = write_dir(&base_snapshot(), 5, &[(6, log_of(&[6, 7, 0xa, 0xb]))]);
        let msg = load(d.path(), &keep_all, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("txns 0x8..=0x9 are missing"), "{msg}");

        // A single snapshot file with --zk-log-dir: refused the same way.
        let d = write_dir(&base_snapshot(), 5, &[(8, log_of(&[8, 9]))]);
        let opts = LoadOptions {
            log_dir: Some(d.path().to_path_buf()),
            ..LoadOptions::default()
        };
        let e = load(&d.path().join("version-2/snapshot.5"), &keep_all, &opts).unwrap_err();
        assert!(matches!(e, ZkError::LogGap { .. }), "{e}");
        // Without logs to replay, a single file is read alone, as before.
        let s = load(
            &d.path().join("version-2/snapshot.5"),
            &keep_all,
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(!s.replayed);
    }

    #[test]
    fn epochs_change_at_counter_one_and_may_be_skipped() {
        let e1 = 1_i64 << 32;
        let e3 = 3_i64 << 32;
        let d = write_dir(
            &base_snapshot(),
            e1 | 5,
            &[
                (e1 | 6, log_of(&[e1 | 6, e1 | 7])),
                (e3 | 1, log_of(&[e3 | 1, e3 | 2])),
            ],
        );
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!(s.last_zxid, e3 | 2);
        assert_eq!(s.txns_applied, 4);
        // The new epoch's log starts at counter 3: its first two txns are missing.
        fs::remove_file(d.path().join(format!("version-2/log.{:x}", e3 | 1))).unwrap();
        fs::write(
            d.path().join(format!("version-2/log.{:x}", e3 | 3)),
            log_of(&[e3 | 3]),
        )
        .unwrap();
        let msg = load(d.path(), &keep_all, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("txns 0x300000001..=0x300000002 are missing"),
            "{msg}"
        );
        assert!(msg.contains("epoch 0x3"), "{msg}");
    }

    #[test]
    fn an_older_snapshot_with_a_complete_chain_is_used_instead() {
        // With ZooKeeper's log selection an older snapshot replays every log a newer one does,
        // so a lost log breaks both; see the next test. Only a log whose name is below its
        // first txn breaks the newer snapshot alone: `log.6` holds 9..=0xb, `log.1` 1..=8.
        let d = write_dir(
            &base_snapshot(),
            5,
            &[
                (1, log_of(&[1, 2, 3, 4, 5, 6, 7, 8])),
                (6, log_of(&[9, 0xa, 0xb])),
            ],
        );
        let v2 = d.path().join("version-2");
        fs::write(v2.join("snapshot.7"), base_snapshot().build()).unwrap();
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!(
            (s.snapshot.zxid, s.last_zxid, s.as_of_ms),
            (Some(5), 0xb, 1000 + 0xb)
        );
        assert_eq!(s.nodes["/k"].data.as_deref(), Some(&b"b"[..]));
        assert_eq!(s.rejected_snapshots.len(), 1);
        let why = &s.rejected_snapshots[0];
        assert!(why.path.ends_with("snapshot.7"), "{why}");
        assert!(
            why.reason
                .contains("valid, but the transaction logs after it have a gap: txns 0x8..=0x8"),
            "{why}"
        );
    }

    #[test]
    fn a_lost_log_breaks_older_snapshots_too() {
        // log.1 1..=8, log.9 (9..=0xb) lost, log.c 0xc..: snapshot.a replays log.1 (all
        // skipped) then log.c; snapshot.5 replays log.1 6..=8 then log.c. Both break.
        let d = write_dir(
            &base_snapshot(),
            5,
            &[
                (1, log_of(&[1, 2, 3, 4, 5, 6, 7, 8])),
                (0xc, log_of(&[0xc, 0xd])),
            ],
        );
        let v2 = d.path().join("version-2");
        fs::write(v2.join("snapshot.a"), base_snapshot().build()).unwrap();
        let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(&e, ZkError::LogGap { older_tried: 1, gap, .. } if gap.before_zxid == 0xa),
            "{msg}"
        );
        assert!(msg.contains("txns 0xb..=0xb are missing"), "{msg}");
        assert!(
            msg.contains("the 1 older valid snapshot(s) do not give a complete chain either"),
            "{msg}"
        );
        // With the log back, the newest snapshot is used.
        fs::write(v2.join("log.9"), log_of(&[9, 0xa, 0xb])).unwrap();
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!((s.snapshot.zxid, s.last_zxid), (Some(0xa), 0xd));
        assert!(s.rejected_snapshots.is_empty());
    }

    #[test]
    fn zxids_at_or_below_the_last_applied_are_refused() {
        let d = write_dir(&base_snapshot(), 5, &[(6, log_of(&[6, 7, 7, 8]))]);
        let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                ZkError::ZxidOutOfOrder {
                    zxid: 7,
                    prev: 7,
                    ..
                }
            ),
            "{e}"
        );
        // Txns at or before the snapshot's zxid are skipped, as ZooKeeper's iterator does.
        let d = write_dir(&base_snapshot(), 5, &[(1, log_of(&[1, 2, 3, 4, 5, 6]))]);
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!((s.txns_applied, s.last_zxid), (1, 6));
    }

    #[test]
    #[cfg(unix)]
    fn fifos_with_snapshot_or_log_names_are_skipped_with_a_warning() {
        let d = write_dir(&base_snapshot(), 5, &[(6, log_of(&[6]))]);
        let v2 = d.path().join("version-2");
        for name in ["snapshot.9", "log.8"] {
            let st = std::process::Command::new("mkfifo")
                .arg(v2.join(name))
                .status()
                .unwrap();
            assert!(st.success());
        }
        fs::create_dir(v2.join("snapshot.a")).unwrap();
        // A symbolic link to a regular file is followed.
        fs::write(d.path().join("elsewhere"), log_of(&[7])).unwrap();
        std::os::unix::fs::symlink(d.path().join("elsewhere"), v2.join("log.7")).unwrap();
        let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
        assert_eq!((s.snapshot.zxid, s.last_zxid), (Some(5), 7));
        let w = s.warnings.join("\n");
        assert!(w.contains("snapshot.9: skipped, it is a FIFO"), "{w}");
        assert!(w.contains("log.8: skipped, it is a FIFO"), "{w}");
        assert!(w.contains("snapshot.a: skipped, it is a directory"), "{w}");
        // A FIFO named directly is an error, not a hang.
        let e = load(&v2.join("snapshot.9"), &keep_all, &LoadOptions::default()).unwrap_err();
        assert!(
            matches!(e, ZkError::NotARegularFile { kind: "FIFO", .. }),
            "{e}"
        );
        let e = read_snapshot_file(
            &v2.join("snapshot.9"),
            &keep_all,
            &SnapshotOptions::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("is a FIFO, not a regular file"),
            "{e}"
        );
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
