//! Writers of ZooKeeper snapshot and transaction-log bytes, for tests and the benchmark generator.
//!
//! Owns the encoding side: jute primitives, a streaming snapshot writer that computes every
//! Adler32 seal and the 3.6+ tree digest exactly as ZooKeeper 3.8 does (so a real server accepts
//! its output), a small in-memory snapshot builder, and txn-log entries and records.
//! The readers must never depend on this module; it exists so tests can build byte streams by
//! hand and so the benchmark can generate large snapshots.

use std::io::{self, Write};

use super::snapshot::SNAPSHOT_MAGIC;
use super::txnlog::TXNLOG_MAGIC;

/// Appends jute-encoded values to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct JuteBuf(pub Vec<u8>);

impl JuteBuf {
    /// An empty buffer.
    #[must_use]
    pub fn new() -> Self {
        JuteBuf(Vec::new())
    }
    /// Appends an `int`.
    pub fn int(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends a `long`.
    pub fn long(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends a `boolean`.
    pub fn boolean(&mut self, v: bool) -> &mut Self {
        self.0.push(u8::from(v));
        self
    }
    /// Appends a `buffer` (`None` = null, length -1).
    pub fn buffer(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            None => self.int(-1),
            Some(b) => {
                self.int(len_i32(b.len()));
                self.0.extend_from_slice(b);
                self
            }
        }
    }
    /// Appends a non-null `ustring`.
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.buffer(Some(s.as_bytes()))
    }
    /// Appends a `vector<ACL>` of `(perms, scheme, id)`.
    pub fn acls(&mut self, acls: &[(i32, &str, &str)]) -> &mut Self {
        self.int(len_i32(acls.len()));
        for (perms, scheme, id) in acls {
            self.int(*perms).string(scheme).string(id);
        }
        self
    }
    /// Appends raw bytes.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// The bytes.
    #[must_use]
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// An ACL list entry `(perms, scheme, id)`.
pub type AclEntry<'a> = (i32, &'a str, &'a str);

/// An ACL cache entry: key and list.
pub type AclCacheEntry<'a> = (i64, Vec<AclEntry<'a>>);

/// `world:anyone:cdrwa`, the usual open ACL.
pub const OPEN_ACL: &[(i32, &str, &str)] = &[(31, "world", "anyone")];

/// One znode as written to a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotNode<'a> {
    /// Path (`""` for the root).
    pub path: &'a str,
    /// Data (`None` = null).
    pub data: Option<&'a [u8]>,
    /// ACL cache key (-1 = open ACL).
    pub acl: i64,
    /// czxid.
    pub czxid: i64,
    /// mzxid.
    pub mzxid: i64,
    /// ctime.
    pub ctime: i64,
    /// mtime.
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Child version.
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Ephemeral owner.
    pub ephemeral_owner: i64,
    /// pzxid.
    pub pzxid: i64,
}

impl<'a> SnapshotNode<'a> {
    /// A persistent node with zero stats and the open ACL.
    #[must_use]
    pub fn new(path: &'a str, data: Option<&'a [u8]>) -> Self {
        SnapshotNode {
            path,
            data,
            acl: -1,
            czxid: 0,
            mzxid: 0,
            ctime: 0,
            mtime: 0,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: 0,
            pzxid: 0,
        }
    }

    /// ZooKeeper's per-node digest (`DigestCalculator` v2); 0 under `/zookeeper/`.
    #[must_use]
    pub fn digest(&self) -> u64 {
        if self.path.starts_with("/zookeeper/") {
            return 0;
        }
        let mut crc = flate2::Crc::new();
        crc.update(if self.path == "/" {
            b""
        } else {
            self.path.as_bytes()
        });
        if let Some(d) = self.data {
            crc.update(d);
        }
        let mut b = JuteBuf(Vec::with_capacity(60));
        b.long(self.czxid)
            .long(self.mzxid)
            .long(self.pzxid)
            .long(self.ctime)
            .long(self.mtime);
        b.int(self.version)
            .int(self.cversion)
            .int(self.aversion)
            .long(self.ephemeral_owner);
        crc.update(&b.0);
        u64::from(crc.sum())
    }
}

/// What follows seal #1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailLayout {
    /// Nothing (3.4/3.5).
    V34,
    /// `ZxidDigest` + seal #2 (3.6–3.8).
    V36,
    /// `ZxidDigest` + seal #2 + `lastProcessedZxid` + seal #3 (3.9).
    V39,
    /// `lastProcessedZxid` + seal (3.9 with the digest disabled).
    V39NoDigest,
}

/// Values for the sections after seal #1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Layout.
    pub layout: TailLayout,
    /// `ZxidDigest`.zxid.
    pub digest_zxid: i64,
    /// `ZxidDigest`.digest; `None` = the digest computed over the nodes written.
    pub digest_value: Option<i64>,
    /// `lastProcessedZxid`.
    pub last_zxid: i64,
}

/// Where the seals ended up, returned by [`SnapshotWriter::finish`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Written {
    /// Byte offset of each seal's stored `long`.
    pub seal_offsets: Vec<usize>,
    /// Offset just after seal #1 and its "/".
    pub seal1_end: usize,
    /// Total length.
    pub len: usize,
    /// Tree digest over the nodes written.
    pub digest: i64,
}

/// Streams a snapshot to `W`, keeping the running Adler32 and tree digest.
///
/// Call order: [`SnapshotWriter::new`], [`SnapshotWriter::sessions`], [`SnapshotWriter::acls`],
/// [`SnapshotWriter::node`] for each node in pre-order starting with the root `""`, then
/// [`SnapshotWriter::finish`].
pub struct SnapshotWriter<W: Write> {
    out: W,
    adler: simd_adler32::Adler32,
    written: usize,
    digest: u64,
    scratch: JuteBuf,
}

impl<W: Write> SnapshotWriter<W> {
    /// Writes the file header (`magic`, version 2, dbid -1).
    pub fn new(out: W) -> io::Result<Self> {
        let mut w = SnapshotWriter {
            out,
            adler: simd_adler32::Adler32::new(),
            written: 0,
            digest: 0,
            scratch: JuteBuf(Vec::with_capacity(4096)),
        };
        let mut b = JuteBuf::new();
        b.int(SNAPSHOT_MAGIC.cast_signed()).int(2).long(-1);
        w.put(&b.0)?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.adler.write(b);
        self.written += b.len();
        self.out.write_all(b)
    }

    fn flush_scratch(&mut self) -> io::Result<()> {
        let b = std::mem::take(&mut self.scratch.0);
        let r = self.put(&b);
        self.scratch.0 = b;
        self.scratch.0.clear();
        r
    }

    /// Writes the session section.
    pub fn sessions(&mut self, sessions: &[(i64, i32)]) -> io::Result<()> {
        self.scratch.int(len_i32(sessions.len()));
        for (id, timeout) in sessions {
            self.scratch.long(*id).int(*timeout);
            if self.scratch.0.len() > 1 << 16 {
                self.flush_scratch()?;
            }
        }
        self.flush_scratch()
    }

    /// Writes the ACL cache: `(key, [(perms, scheme, id)])`.
    pub fn acls(&mut self, acls: &[AclCacheEntry<'_>]) -> io::Result<()> {
        self.scratch.int(len_i32(acls.len()));
        for (key, list) in acls {
            self.scratch.long(*key).acls(list);
        }
        self.flush_scratch()
    }

    /// Writes one node.
    pub fn node(&mut self, n: &SnapshotNode<'_>) -> io::Result<()> {
        self.digest = self.digest.wrapping_add(n.digest());
        self.scratch.string(n.path).buffer(n.data).long(n.acl);
        self.scratch
            .long(n.czxid)
            .long(n.mzxid)
            .long(n.ctime)
            .long(n.mtime);
        self.scratch.int(n.version).int(n.cversion).int(n.aversion);
        self.scratch.long(n.ephemeral_owner).long(n.pzxid);
        self.flush_scratch()
    }

    fn seal(&mut self, offsets: &mut Vec<usize>) -> io::Result<()> {
        offsets.push(self.written);
        let v = i64::from(self.adler.finish());
        let mut b = JuteBuf::new();
        b.long(v).string("/");
        self.put(&b.0)
    }

    /// Writes the terminator, seal #1 and the tail, and returns the writer and the layout facts.
    pub fn finish(mut self, tail: Tail) -> io::Result<(W, Written)> {
        let mut seal_offsets = Vec::new();
        let mut b = JuteBuf::new();
        b.string("/");
        self.put(&b.0)?;
        self.seal(&mut seal_offsets)?;
        let seal1_end = self.written;
        if matches!(tail.layout, TailLayout::V36 | TailLayout::V39) {
            let mut b = JuteBuf::new();
            b.long(tail.digest_zxid)
                .int(2)
                .long(tail.digest_value.unwrap_or(self.digest.cast_signed()));
            self.put(&b.0)?;
            self.seal(&mut seal_offsets)?;
        }
        if matches!(tail.layout, TailLayout::V39 | TailLayout::V39NoDigest) {
            let mut b = JuteBuf::new();
            b.long(tail.last_zxid);
            self.put(&b.0)?;
            self.seal(&mut seal_offsets)?;
        }
        self.out.flush()?;
        let written = Written {
            seal_offsets,
            seal1_end,
            len: self.written,
            digest: self.digest.cast_signed(),
        };
        Ok((self.out, written))
    }
}

type OwnedAcl = (i32, String, String);

/// An owned node for [`SnapshotBuilder`].
#[derive(Debug, Clone)]
struct OwnedNode {
    path: String,
    data: Option<Vec<u8>>,
    stat: SnapshotNode<'static>,
}

/// Builds a small snapshot in memory (for tests).
#[derive(Debug, Clone)]
pub struct SnapshotBuilder {
    sessions: Vec<(i64, i32)>,
    acls: Vec<(i64, Vec<OwnedAcl>)>,
    nodes: Vec<OwnedNode>,
    tail: Tail,
}

impl Default for SnapshotBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotBuilder {
    /// An empty builder with the 3.6–3.8 layout.
    #[must_use]
    pub fn new() -> Self {
        SnapshotBuilder {
            sessions: Vec::new(),
            acls: Vec::new(),
            nodes: Vec::new(),
            tail: Tail {
                layout: TailLayout::V36,
                digest_zxid: 1,
                digest_value: None,
                last_zxid: 1,
            },
        }
    }
    /// Adds a session.
    pub fn session(&mut self, id: i64, timeout: i32) -> &mut Self {
        self.sessions.push((id, timeout));
        self
    }
    /// Adds an ACL cache entry.
    pub fn acl(&mut self, key: i64, list: &[(i32, &str, &str)]) -> &mut Self {
        self.acls.push((
            key,
            list.iter()
                .map(|(p, s, i)| (*p, (*s).to_string(), (*i).to_string()))
                .collect(),
        ));
        self
    }
    /// Adds a node (in pre-order).
    pub fn node(&mut self, n: &SnapshotNode<'_>) -> &mut Self {
        self.nodes.push(OwnedNode {
            path: n.path.to_string(),
            data: n.data.map(<[u8]>::to_vec),
            stat: SnapshotNode {
                path: "",
                data: None,
                ..n.clone()
            },
        });
        self
    }
    /// Sets the tail layout.
    pub fn layout(&mut self, layout: TailLayout) -> &mut Self {
        self.tail.layout = layout;
        self
    }
    /// Sets `ZxidDigest`.zxid.
    pub fn digest_zxid(&mut self, zxid: i64) -> &mut Self {
        self.tail.digest_zxid = zxid;
        self
    }
    /// Overrides the digest value (`None` = computed).
    pub fn digest_value(&mut self, v: Option<i64>) -> &mut Self {
        self.tail.digest_value = v;
        self
    }
    /// Sets `lastProcessedZxid`.
    pub fn last_zxid(&mut self, zxid: i64) -> &mut Self {
        self.tail.last_zxid = zxid;
        self
    }

    fn write(&self) -> (Vec<u8>, Written) {
        let run = || -> io::Result<(Vec<u8>, Written)> {
            let mut w = SnapshotWriter::new(Vec::new())?;
            w.sessions(&self.sessions)?;
            let acls: Vec<AclCacheEntry<'_>> = self
                .acls
                .iter()
                .map(|(k, l)| {
                    (
                        *k,
                        l.iter()
                            .map(|(p, s, i)| (*p, s.as_str(), i.as_str()))
                            .collect(),
                    )
                })
                .collect();
            w.acls(&acls)?;
            for n in &self.nodes {
                w.node(&SnapshotNode {
                    path: &n.path,
                    data: n.data.as_deref(),
                    ..n.stat.clone()
                })?;
            }
            w.finish(self.tail)
        };
        // Writing to a Vec cannot fail.
        run().unwrap_or_default()
    }

    /// The snapshot bytes.
    #[must_use]
    pub fn build(&self) -> Vec<u8> {
        self.write().0
    }

    /// Offsets of every seal's stored value.
    #[must_use]
    pub fn seal_offsets(&self) -> Vec<usize> {
        self.write().1.seal_offsets
    }

    /// Offset just after seal #1 and its "/".
    #[must_use]
    pub fn seal1_end(&self) -> usize {
        self.write().1.seal1_end
    }
}

/// Txn type codes (`ZooDefs.OpCode`): the reader's, so both sides agree.
pub use super::txnlog::op;

/// Txn record encoders (the bodies that follow a `TxnHeader`).
pub mod rec {
    use super::{JuteBuf, OPEN_ACL};

    /// `CreateTxn` (with `Some(parentCVersion)`) or `CreateTxnV0` (with `None`).
    #[must_use]
    pub fn create(path: &str, data: Option<&[u8]>, ephemeral: bool, pcv: Option<i32>) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path)
            .buffer(data)
            .acls(OPEN_ACL)
            .boolean(ephemeral);
        if let Some(v) = pcv {
            b.int(v);
        }
        b.0
    }
    /// `CreateContainerTxn`.
    #[must_use]
    pub fn create_container(path: &str, data: Option<&[u8]>, pcv: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path).buffer(data).acls(OPEN_ACL).int(pcv);
        b.0
    }
    /// `CreateTTLTxn`.
    #[must_use]
    pub fn create_ttl(path: &str, data: Option<&[u8]>, pcv: i32, ttl: i64) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path)
            .buffer(data)
            .acls(OPEN_ACL)
            .int(pcv)
            .long(ttl);
        b.0
    }
    /// `DeleteTxn`.
    #[must_use]
    pub fn delete(path: &str) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path);
        b.0
    }
    /// `SetDataTxn`.
    #[must_use]
    pub fn set_data(path: &str, data: Option<&[u8]>, version: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path).buffer(data).int(version);
        b.0
    }
    /// `SetACLTxn`.
    #[must_use]
    pub fn set_acl(path: &str, version: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path).acls(OPEN_ACL).int(version);
        b.0
    }
    /// `CheckVersionTxn`.
    #[must_use]
    pub fn check(path: &str, version: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.string(path).int(version);
        b.0
    }
    /// `ErrorTxn`.
    #[must_use]
    pub fn error(err: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.int(err);
        b.0
    }
    /// `CreateSessionTxn`.
    #[must_use]
    pub fn create_session(timeout: i32) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.int(timeout);
        b.0
    }
    /// `CloseSessionTxn` (`Some(paths)`) or the pre-3.6 empty body (`None`).
    #[must_use]
    pub fn close_session(paths: Option<&[&str]>) -> Vec<u8> {
        let mut b = JuteBuf::new();
        if let Some(paths) = paths {
            b.int(super::len_i32(paths.len()));
            for p in paths {
                b.string(p);
            }
        }
        b.0
    }
    /// `MultiTxn` of `(type, record)` sub-txns.
    #[must_use]
    pub fn multi(subs: &[(i32, Vec<u8>)]) -> Vec<u8> {
        let mut b = JuteBuf::new();
        b.int(super::len_i32(subs.len()));
        for (t, r) in subs {
            b.int(*t).buffer(Some(r));
        }
        b.0
    }
}

/// A whole txn: `TxnHeader` + record + optional `TxnDigest` `(version, treeDigest)`.
#[must_use]
pub fn txn(
    client_id: i64,
    zxid: i64,
    time: i64,
    txn_type: i32,
    record: &[u8],
    digest: Option<(i32, i64)>,
) -> Vec<u8> {
    let mut b = JuteBuf::new();
    b.long(client_id)
        .int(1)
        .long(zxid)
        .long(time)
        .int(txn_type)
        .raw(record);
    if let Some((v, d)) = digest {
        b.int(v).long(d);
    }
    b.0
}

/// Builds a transaction log in memory.
#[derive(Debug, Clone)]
pub struct TxnLogBuilder {
    bytes: Vec<u8>,
    entry_offsets: Vec<usize>,
}

impl Default for TxnLogBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TxnLogBuilder {
    /// Starts a log with the file header (magic, version 2, dbid 0).
    #[must_use]
    pub fn new() -> Self {
        let mut b = JuteBuf::new();
        b.int(TXNLOG_MAGIC.cast_signed()).int(2).long(0);
        TxnLogBuilder {
            bytes: b.0,
            entry_offsets: Vec::new(),
        }
    }
    /// Appends an entry `long crc; int len; txn; 'B'`.
    pub fn entry(&mut self, txn: &[u8]) -> &mut Self {
        self.entry_offsets.push(self.bytes.len());
        let mut a = simd_adler32::Adler32::new();
        a.write(txn);
        let mut b = JuteBuf::new();
        b.long(i64::from(a.finish())).buffer(Some(txn)).raw(b"B");
        self.bytes.extend_from_slice(&b.0);
        self
    }
    /// Appends raw bytes (padding, garbage).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }
    /// Offsets of each entry's stored checksum.
    #[must_use]
    pub fn entry_offsets(&self) -> &[usize] {
        &self.entry_offsets
    }
    /// The bytes.
    #[must_use]
    pub fn build(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_digest_follows_digest_calculator() {
        // Nodes under /zookeeper/ do not count; "/" is hashed as "".
        assert_eq!(
            SnapshotNode::new("/zookeeper/quota", Some(b"x")).digest(),
            0
        );
        assert_ne!(SnapshotNode::new("/zookeeper", Some(b"")).digest(), 0);
        assert_eq!(
            SnapshotNode::new("/", Some(b"")).digest(),
            SnapshotNode::new("", Some(b"")).digest()
        );
        // Null and empty data hash the same; the stat fields count in DigestCalculator order.
        let a = SnapshotNode {
            czxid: 1,
            ..SnapshotNode::new("/a", None)
        };
        let b = SnapshotNode {
            czxid: 1,
            ..SnapshotNode::new("/a", Some(b""))
        };
        let c = SnapshotNode {
            pzxid: 1,
            ..SnapshotNode::new("/a", Some(b""))
        };
        assert_eq!(a.digest(), b.digest());
        assert_ne!(b.digest(), c.digest());
    }

    #[test]
    fn log_entries_carry_adler32_of_the_txn_only() {
        let mut b = TxnLogBuilder::new();
        b.entry(b"abc");
        let bytes = b.build();
        assert_eq!(&bytes[..4], &TXNLOG_MAGIC.to_be_bytes());
        // Adler32("abc") = 0x024d0127.
        assert_eq!(&bytes[16..24], &0x024d_0127_i64.to_be_bytes());
        assert_eq!(&bytes[24..28], &3i32.to_be_bytes());
        assert_eq!(&bytes[28..], b"abcB");
    }
}
