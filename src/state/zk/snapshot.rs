//! Streaming reader of ZooKeeper snapshot files (`snapshot.<hex zxid>[.gz|.snappy]`).
//!
//! Owns the snapshot layout: file header, sessions, ACL cache, the pre-order node list, the
//! terminator, and the tail after seal #1 (nothing for 3.4/3.5; `ZxidDigest` + seal #2 for
//! 3.6–3.8; + `lastProcessedZxid` + seal #3 for 3.9; or `lastProcessedZxid` + seal for 3.9 with the
//! digest disabled), recognised by the number of bytes that remain. Every seal (cumulative
//! Adler32 from byte 0) is verified, parents must precede children like ZooKeeper's loader
//! requires, and the tree digest can be recomputed to tell an exact image from a fuzzy one.
//!
//! The reader streams: it keeps only the nodes whose path passes the caller's filter, so memory
//! is bounded by the kept subset plus I/O buffers. It must not keep the whole tree, must not
//! choose between snapshots (that is `datadir`'s job) and must not apply transaction logs.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::{Problem, ZkError};
use super::jute::{Cursor, JuteError, Limits};
use super::xerial::XerialSnappyReader;

/// Magic number of snapshot files ("ZKSN").
pub const SNAPSHOT_MAGIC: u32 = 0x5A4B_534E;

/// The only snapshot/log format version ZooKeeper has ever written.
pub const FORMAT_VERSION: i32 = 2;

/// Size the I/O buffer grows to while parsing a large stream.
const BUFFER_SIZE: usize = 1 << 20;

/// Size the I/O buffer starts with (small files never need more).
const INITIAL_BUFFER: usize = 64 << 10;

/// Longest tail accepted after seal #1 (3.9: 20 + 13 + 8 + 13 bytes).
const MAX_TAIL: usize = 54;

/// How a snapshot file is compressed, as told by its file-name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compression {
    /// No suffix: the plain checked stream.
    None,
    /// `.snappy`: xerial snappy-java framing.
    Snappy,
    /// `.gz`: a gzip stream.
    Gzip,
}

impl Compression {
    /// Picks the decoder from a file name, like ZooKeeper's `SnapStream.getStreamMode`: the text
    /// after the last `.` decides (`gz`, `snappy`), anything else is uncompressed.
    #[must_use]
    pub fn from_file_name(name: &str) -> Self {
        match name.rsplit_once('.').map(|(_, ext)| ext) {
            Some("gz") => Compression::Gzip,
            Some("snappy") => Compression::Snappy,
            _ => Compression::None,
        }
    }

    /// The file-name suffix (`""`, `".gz"` or `".snappy"`).
    #[must_use]
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Snappy => ".snappy",
            Compression::Gzip => ".gz",
        }
    }
}

/// Parses a strict snapshot file name `^snapshot\.[0-9a-f]+(\.(gz|snappy))?$` into its zxid and
/// compression. Anything else (`.tmp` files, upper-case hex, other suffixes) gives `None`.
#[must_use]
pub fn parse_snapshot_file_name(name: &str) -> Option<(i64, Compression)> {
    let rest = name.strip_prefix("snapshot.")?;
    let (hex, compression) = match rest.split_once('.') {
        None => (rest, Compression::None),
        Some((hex, "gz")) => (hex, Compression::Gzip),
        Some((hex, "snappy")) => (hex, Compression::Snappy),
        Some(_) => return None,
    };
    Some((parse_hex_zxid(hex)?, compression))
}

/// Parses lower-case hex as ZooKeeper writes zxids in file names (`Long.toHexString`).
pub(crate) fn parse_hex_zxid(hex: &str) -> Option<i64> {
    if hex.is_empty()
        || hex.len() > 16
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    // Long.toHexString writes negative values as 16 digits with the top bit set.
    u64::from_str_radix(hex, 16).ok().map(u64::cast_signed)
}

/// The file header common to snapshots and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// Magic number.
    pub magic: u32,
    /// Format version (always 2).
    pub version: i32,
    /// Database id (-1 in snapshots, 0 in logs).
    pub dbid: i64,
}

/// Which sections follow seal #1, as recognised from the remaining length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Nothing after seal #1: ZooKeeper 3.4/3.5, or 3.6+ with `zookeeper.digest.enabled=false`.
    NoDigest,
    /// `ZxidDigest` + seal #2: ZooKeeper 3.6–3.8.
    Digest,
    /// `ZxidDigest` + seal #2 + `lastProcessedZxid` + seal #3: ZooKeeper 3.9+.
    DigestAndLastZxid,
    /// `lastProcessedZxid` + seal: ZooKeeper 3.9+ with the digest disabled.
    LastZxidOnly,
}

/// The tree digest stored in a 3.6+ snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    /// The zxid the digest belongs to (0 = "empty digest", nothing processed since loading).
    pub zxid: i64,
    /// Digest version (2 in every release that writes it).
    pub version: i32,
    /// The digest value.
    pub digest: i64,
}

/// A kept znode (its path is the key it is stored under).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Data; `None` when the znode was created with null data.
    pub data: Option<Vec<u8>>,
    /// Zxid of the creating transaction.
    pub czxid: i64,
    /// Zxid of the last data change.
    pub mzxid: i64,
    /// Creation time (ms since the epoch, server clock).
    pub ctime: i64,
    /// Last modification time (ms since the epoch).
    pub mtime: i64,
    /// Owner: 0 persistent, `0x8000000000000000` container, top byte `0xFF` TTL, else a
    /// session id (see `datadir::Owner`).
    pub ephemeral_owner: i64,
}

/// Everything about a snapshot except its sessions and nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The file read.
    pub path: PathBuf,
    /// Compression (from the file-name suffix).
    pub compression: Compression,
    /// Zxid from the file name: the last zxid processed when the snapshot started. `None` when
    /// the name does not follow ZooKeeper's pattern.
    pub zxid: Option<i64>,
    /// The file header.
    pub header: FileHeader,
    /// Which sections follow the tree.
    pub layout: Layout,
    /// The stored tree digest (3.6+).
    pub digest: Option<ZxidDigest>,
    /// The digest recomputed over every node (`None` if [`SnapshotOptions::compute_digest`] is
    /// off). See [`SnapshotInfo::digest_matches`].
    pub computed_digest: Option<i64>,
    /// `lastProcessedZxid` (3.9+).
    pub last_processed_zxid: Option<i64>,
    /// Number of sessions.
    pub session_count: usize,
    /// Number of entries in the ACL cache.
    pub acl_count: usize,
    /// Number of nodes in the file (all of them, not just the kept ones; the root counts).
    pub node_count: u64,
    /// Largest ctime over all nodes (ms).
    pub max_ctime: i64,
    /// Largest mtime over all nodes (ms).
    pub max_mtime: i64,
    /// Length of the (uncompressed) snapshot stream in bytes.
    pub stream_len: u64,
}

impl SnapshotInfo {
    /// Whether the recomputed digest equals the stored one: `Some(true)` means the file is an
    /// exact image of the tree at `digest.zxid` (not fuzzy). `None` when there is no stored
    /// digest, it is the empty digest (zxid 0), or it was not recomputed.
    #[must_use]
    pub fn digest_matches(&self) -> Option<bool> {
        let stored = self.digest.filter(|d| d.zxid != 0)?;
        Some(self.computed_digest? == stored.digest)
    }
}

/// The most entries a map is sized for from a count in the file before the entries are read
/// (16 MiB of sessions): a count is only the file's word until the entries are there.
const MAX_PRESIZE: usize = 1 << 20;

/// Session id → timeout (ms). Hashed with foldhash: a scan looks up the owner of every
/// registration, hundreds of thousands on a busy ensemble, and session ids are not chosen by an
/// adversary who could benefit from collisions (they come from the server's clock and id).
pub type Sessions = std::collections::HashMap<i64, i32, foldhash::fast::FixedState>;

/// A decoded snapshot: metadata, every session, and the kept nodes in file (pre-order) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Metadata.
    pub info: SnapshotInfo,
    /// Session id → timeout (ms).
    pub sessions: Sessions,
    /// Nodes that passed the filter, as (path, node). Paths are decoded lossily from the stored
    /// bytes; the root is `""`. `Arc<str>` so that indexes can share them without copies.
    pub nodes: Vec<(Arc<str>, Node)>,
    /// Nodes the filter dropped but the tally accepted (see [`read_snapshot_file_with`]).
    pub tallied: Tally,
}

/// Which of the nodes a filter drops are still counted (into a [`Tally`]).
pub type TallyFilter<'f> = &'f dyn Fn(&[u8]) -> bool;

/// Nodes that are counted but not kept: the hash of the path ([`tally_key`]) → (owner,
/// czxid). A reader that needs only how many registrations there are, and how many are alive,
/// keeps 24 bytes for each instead of the whole node.
///
/// A snapshot's nodes are appended to a list, in file order (a snapshot holds each path once);
/// the map by key is built only when something changes the tally (the replay of transaction
/// logs). On a snapshot of 500,000 registrations, growing a hash map as they came was a fifth
/// of a scan, most of it the kernel zeroing the pages of each larger table (BENCHMARKS.md).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    list: Vec<(u64, (i64, i64))>,
    map: Option<TallyMap>,
}

/// [`Tally`]'s map, once built.
type TallyMap = std::collections::HashMap<u64, (i64, i64), foldhash::fast::FixedState>;

impl PartialEq for Tally {
    fn eq(&self, other: &Self) -> bool {
        self.sorted() == other.sorted()
    }
}

impl Eq for Tally {}

impl Tally {
    /// Each key once (the entry [`Self::get`] answers), sorted: for comparisons.
    fn sorted(&self) -> Vec<(u64, (i64, i64))> {
        // The later entry of a key listed twice wins, as in a map; once the map is built the
        // list is empty.
        let mut entries: Vec<_> = self.list.iter().rev().copied().collect();
        entries.sort_by_key(|&(k, _)| k);
        entries.dedup_by_key(|&mut (k, _)| k);
        if let Some(map) = &self.map {
            entries.extend(map.iter().map(|(&k, &v)| (k, v)));
        }
        entries.sort_unstable();
        entries
    }

    /// Counts a node of a snapshot (no map is built; the key is taken to be new).
    fn push(&mut self, key: u64, owner: i64, czxid: i64) {
        match &mut self.map {
            Some(map) => {
                map.insert(key, (owner, czxid));
            }
            None => self.list.push((key, (owner, czxid))),
        }
    }

    /// How many nodes are counted (a key the list holds twice, which only a 64-bit hash
    /// collision gives, counts twice until the map is built).
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.as_ref().map_or(self.list.len(), TallyMap::len)
    }

    /// Whether no node is counted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (key, (owner, czxid)).
    pub fn iter(&self) -> impl Iterator<Item = (u64, (i64, i64))> + '_ {
        // Once the map is built the list is empty.
        self.list.iter().copied().chain(
            self.map
                .iter()
                .flat_map(|m| m.iter().map(|(&k, &v)| (k, v))),
        )
    }

    /// Every (owner, czxid).
    pub fn values(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The (owner, czxid) under `key` (builds the map).
    pub fn get(&mut self, key: u64) -> Option<(i64, i64)> {
        self.map().get(&key).copied()
    }

    /// Counts `value` under `key`, giving back what was there (builds the map).
    pub fn insert(&mut self, key: u64, value: (i64, i64)) -> Option<(i64, i64)> {
        self.map().insert(key, value)
    }

    /// Stops counting `key` (builds the map).
    pub fn remove(&mut self, key: u64) -> Option<(i64, i64)> {
        self.map().remove(&key)
    }

    /// The map, built on first use; of a key listed twice, the later entry stays.
    fn map(&mut self) -> &mut TallyMap {
        let list = &mut self.list;
        self.map.get_or_insert_with(|| {
            let mut map = TallyMap::with_capacity_and_hasher(
                list.len(),
                foldhash::fast::FixedState::default(),
            );
            map.extend(std::mem::take(list));
            map
        })
    }
}

/// The key of a path in a [`Tally`]. Two paths with one key are counted once: counts only.
#[must_use]
pub fn tally_key(path: &[u8]) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x6b79_7575_6269).hash_one(path)
}

/// Options for reading a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Length sanity limits.
    pub limits: Limits,
    /// Recompute the 3.6+ tree digest over every node (a CRC32 per node; about 10% extra time).
    pub compute_digest: bool,
    /// Cap on one snappy block (compressed or decompressed).
    pub max_snappy_block: usize,
    /// Keep the data of the kept nodes (`false`: [`Node::data`] is `None`; a scan needs only
    /// the names, owners and times of registrations).
    pub keep_data: bool,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            limits: Limits::default(),
            compute_digest: true,
            max_snappy_block: super::xerial::DEFAULT_MAX_BLOCK,
            keep_data: true,
        }
    }
}

/// A filter that keeps every node.
#[must_use]
pub fn keep_all(_path: &[u8]) -> bool {
    true
}

/// A filter that keeps no node (for metadata-only reads and validation).
#[must_use]
pub fn keep_none(_path: &[u8]) -> bool {
    false
}

/// What a non-regular file is, for messages.
#[must_use]
pub fn file_kind(t: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if t.is_fifo() {
            return "FIFO";
        }
        if t.is_socket() {
            return "socket";
        }
        if t.is_block_device() {
            return "block device";
        }
        if t.is_char_device() {
            return "character device";
        }
    }
    if t.is_dir() {
        "directory"
    } else if t.is_symlink() {
        "symbolic link"
    } else if t.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// Opens `path` for reading when (following symbolic links) it is a regular file: it is
/// opened without blocking, since opening a FIFO would wait for some writer, possibly forever,
/// and what was opened is checked.
pub fn open_regular_file(path: &Path) -> Result<File, ZkError> {
    let open_error = |source| ZkError::Open {
        path: path.to_path_buf(),
        source,
    };
    let file = crate::files::open_nonblocking(path).map_err(open_error)?;
    let meta = file.metadata().map_err(open_error)?;
    if !meta.is_file() {
        return Err(ZkError::NotARegularFile {
            path: path.to_path_buf(),
            kind: file_kind(meta.file_type()),
        });
    }
    Ok(file)
}

/// Reads and fully validates a snapshot file, keeping the nodes whose path passes `filter`.
/// The decoder is chosen from the file-name suffix.
pub fn read_snapshot_file(
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    opts: &SnapshotOptions,
) -> Result<Snapshot, ZkError> {
    read_snapshot_file_with(path, filter, None, opts)
}

/// [`read_snapshot_file`], also counting into [`Snapshot::tallied`] the nodes that `filter`
/// drops and `tally` accepts.
pub fn read_snapshot_file_with(
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    tally: Option<TallyFilter<'_>>,
    opts: &SnapshotOptions,
) -> Result<Snapshot, ZkError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (zxid, compression) = match parse_snapshot_file_name(&name) {
        Some((z, c)) => (Some(z), c),
        None => (None, Compression::from_file_name(&name)),
    };
    let file = open_regular_file(path)?;
    let input = Input {
        compression,
        zxid,
        path,
    };
    match compression {
        Compression::None => read_snapshot(file, &input, filter, tally, opts),
        Compression::Gzip => {
            let r = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file));
            read_snapshot(r, &input, filter, tally, opts)
        }
        Compression::Snappy => {
            let r = XerialSnappyReader::with_max_block(
                BufReader::with_capacity(1 << 16, file),
                opts.max_snappy_block,
            );
            read_snapshot(r, &input, filter, tally, opts)
        }
    }
}

/// What a snapshot stream is, for messages and [`SnapshotInfo`].
struct Input<'p> {
    compression: Compression,
    zxid: Option<i64>,
    path: &'p Path,
}

/// Reads and fully validates a snapshot from an already-decompressing reader.
/// `compression` only affects how offsets are described; `path` is used in messages and in
/// [`SnapshotInfo::path`]; `zxid` is the zxid from the file name, if known.
pub fn read_snapshot_from<R: Read>(
    reader: R,
    compression: Compression,
    zxid: Option<i64>,
    path: &Path,
    filter: &dyn Fn(&[u8]) -> bool,
    opts: &SnapshotOptions,
) -> Result<Snapshot, ZkError> {
    let input = Input {
        compression,
        zxid,
        path,
    };
    read_snapshot(reader, &input, filter, None, opts)
}

fn read_snapshot<R: Read>(
    reader: R,
    input: &Input<'_>,
    filter: &dyn Fn(&[u8]) -> bool,
    tally: Option<TallyFilter<'_>>,
    opts: &SnapshotOptions,
) -> Result<Snapshot, ZkError> {
    let Input {
        compression,
        zxid,
        path,
    } = *input;
    let compressed = compression != Compression::None;
    let mut parser = Parser {
        feed: Feed::new(reader, compressed),
        limits: opts.limits,
        tree: Tree::new(filter, tally, opts.compute_digest, opts.keep_data),
    };
    let wrap = |e: Failure| match e {
        Failure::Decode(e) => ZkError::ReadSnapshot {
            path: path.to_path_buf(),
            offset: e.offset,
            compressed,
            problem: e.problem,
        },
        Failure::Seal {
            seal,
            offset,
            expected,
            actual,
        } => ZkError::ChecksumMismatch {
            path: path.to_path_buf(),
            seal,
            offset,
            compressed,
            expected,
            actual,
        },
    };
    let body = parser.parse().map_err(wrap)?;
    let tree = parser.tree;
    Ok(Snapshot {
        info: SnapshotInfo {
            path: path.to_path_buf(),
            compression,
            zxid,
            header: body.header,
            layout: body.layout,
            digest: body.digest,
            computed_digest: tree.digest.map(u64::cast_signed),
            last_processed_zxid: body.last_processed_zxid,
            session_count: body.sessions.len(),
            acl_count: body.acl_count,
            node_count: tree.node_count,
            max_ctime: tree.max_ctime,
            max_mtime: tree.max_mtime,
            stream_len: body.stream_len,
        },
        sessions: body.sessions,
        nodes: tree.nodes,
        tallied: tree.tallied,
    })
}

enum Failure {
    Decode(JuteError),
    Seal {
        seal: u8,
        offset: u64,
        expected: u64,
        actual: u64,
    },
}

impl From<JuteError> for Failure {
    fn from(e: JuteError) -> Self {
        Failure::Decode(e)
    }
}

/// A refillable window over the input stream that also keeps the running Adler32 of every byte
/// consumed so far.
struct Feed<R> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    base: u64,
    hashed: usize,
    adler: simd_adler32::Adler32,
    eof: bool,
    compressed: bool,
}

impl<R: Read> Feed<R> {
    fn new(src: R, compressed: bool) -> Self {
        Feed {
            src,
            buf: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            base: 0,
            hashed: 0,
            adler: simd_adler32::Adler32::new(),
            eof: false,
            compressed,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    fn available(&self) -> usize {
        self.end - self.start
    }

    /// Adler32 of every byte before the current position.
    fn checksum(&mut self) -> u32 {
        self.adler.write(&self.buf[self.hashed..self.start]);
        self.hashed = self.start;
        self.adler.finish()
    }

    /// Makes at least `need` bytes available after `start`, unless the stream ends first.
    fn fill(&mut self, need: usize) -> Result<(), JuteError> {
        if self.available() >= need {
            return Ok(());
        }
        self.checksum();
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
            self.hashed = 0;
        }
        if self.buf.len() < need {
            // `need` is bounded: callers ask for at most one record, whose lengths were
            // checked against the limits.
            self.buf.resize(need.next_power_of_two(), 0);
        } else if self.buf.len() < BUFFER_SIZE && self.base > 0 {
            // Not the first fill: the stream is larger than the buffer, so read bigger chunks.
            let len = (self.buf.len() * 2).min(BUFFER_SIZE);
            self.buf.resize(len, 0);
        }
        while !self.eof && self.end < self.buf.len() {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(JuteError {
                        offset: self.base + self.end as u64,
                        problem: Problem::from_io(&e, self.compressed),
                    });
                }
            }
        }
        Ok(())
    }

    /// Decodes one record with `f`, refilling and retrying when the window is too short.
    fn record<T>(
        &mut self,
        limits: Limits,
        mut f: impl FnMut(&mut Cursor<'_>) -> Result<T, JuteError>,
    ) -> Result<T, JuteError> {
        loop {
            let mut c = Cursor::new(&self.buf[self.start..self.end], self.offset(), &limits);
            match f(&mut c) {
                Ok(v) => {
                    self.start += c.position();
                    return Ok(v);
                }
                Err(e) => {
                    let Problem::Truncated { needed, .. } = e.problem else {
                        return Err(e);
                    };
                    if self.eof {
                        return Err(e);
                    }
                    let need = self
                        .available()
                        .saturating_add(usize::try_from(needed).unwrap_or(usize::MAX));
                    self.fill(need)?;
                }
            }
        }
    }
}

struct Body {
    header: FileHeader,
    sessions: Sessions,
    acl_count: usize,
    layout: Layout,
    digest: Option<ZxidDigest>,
    last_processed_zxid: Option<i64>,
    stream_len: u64,
}

struct Parser<'f, R> {
    feed: Feed<R>,
    limits: Limits,
    tree: Tree<'f>,
}

impl<R: Read> Parser<'_, R> {
    fn parse(&mut self) -> Result<Body, Failure> {
        let limits = self.limits;
        self.feed.fill(INITIAL_BUFFER)?;
        let header = self.feed.record(limits, |c| {
            let at = c.position();
            let magic = c.read_int("file header magic")?.cast_unsigned();
            if magic != SNAPSHOT_MAGIC {
                return Err(c.error_at(
                    at,
                    Problem::BadMagic {
                        found: magic,
                        expected: SNAPSHOT_MAGIC,
                        kind: "snapshot",
                    },
                ));
            }
            let at = c.position();
            let version = c.read_int("file header version")?;
            if version != FORMAT_VERSION {
                return Err(c.error_at(at, Problem::BadVersion { found: version }));
            }
            let dbid = c.read_long("file header dbid")?;
            Ok(FileHeader {
                magic,
                version,
                dbid,
            })
        })?;

        let sessions = self.read_sessions()?;
        // Registrations are ephemeral, about one per session: sized for two per session, the
        // tally is not grown (and copied) as it fills; the pages are touched only as they are
        // used. Bounded, since the count is the file's word.
        if self.tree.tally.is_some() {
            let expected = sessions.len().saturating_mul(2);
            self.tree.tallied.list.reserve(expected.min(MAX_PRESIZE));
        }
        let acl_count = self.read_acl_cache()?;
        self.read_nodes()?;
        self.seal(1)?;
        let (layout, digest, last_processed_zxid) = self.read_tail()?;
        Ok(Body {
            header,
            sessions,
            acl_count,
            layout,
            digest,
            last_processed_zxid,
            stream_len: self.feed.offset(),
        })
    }

    fn read_count(&mut self, what: &'static str) -> Result<usize, JuteError> {
        let limits = self.limits;
        self.feed.record(limits, |c| {
            let at = c.position();
            let n = c.read_int(what)?;
            usize::try_from(n).map_err(|_| c.error_at(at, Problem::BadCount { what, count: n }))
        })
    }

    fn read_sessions(&mut self) -> Result<Sessions, JuteError> {
        let limits = self.limits;
        let count = self.read_count("session count")?;
        let mut sessions = Sessions::with_capacity_and_hasher(
            count.min(MAX_PRESIZE),
            foldhash::fast::FixedState::default(),
        );
        for _ in 0..count {
            let (id, timeout) = self.feed.record(limits, |c| {
                Ok((c.read_long("session id")?, c.read_int("session timeout")?))
            })?;
            sessions.insert(id, timeout);
        }
        Ok(sessions)
    }

    fn read_acl_cache(&mut self) -> Result<usize, JuteError> {
        let limits = self.limits;
        let count = self.read_count("ACL cache size")?;
        for _ in 0..count {
            let acls = self.feed.record(limits, |c| {
                c.read_long("ACL cache key")?;
                let at = c.position();
                c.read_vector_count("ACL list")?
                    .ok_or_else(|| c.error_at(at, Problem::UnexpectedNull { what: "ACL list" }))
            })?;
            // One record per ACL, so a corrupt count cannot make the window grow past one ACL.
            for _ in 0..acls {
                self.feed.record(limits, |c| {
                    c.read_int("ACL perms")?;
                    c.read_ustring("ACL scheme")?;
                    c.read_ustring("ACL id")?;
                    Ok(())
                })?;
            }
        }
        Ok(count)
    }

    fn read_nodes(&mut self) -> Result<(), JuteError> {
        let limits = self.limits;
        loop {
            let feed = &mut self.feed;
            let base = feed.offset();
            let mut c = Cursor::new(&feed.buf[feed.start..feed.end], base, &limits);
            let outcome = loop {
                let mark = c.position();
                match read_raw_node(&mut c) {
                    Ok(Some(node)) => self.tree.visit(&node, base + mark as u64)?,
                    Ok(None) => break Ok(()),
                    Err(e) if e.is_truncated() => {
                        c.set_position(mark);
                        break Err(e);
                    }
                    Err(e) => return Err(e),
                }
            };
            let consumed = c.position();
            feed.start += consumed;
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let Problem::Truncated { needed, .. } = e.problem else {
                        return Err(e);
                    };
                    if feed.eof {
                        return Err(e);
                    }
                    let need = feed
                        .available()
                        .saturating_add(usize::try_from(needed).unwrap_or(usize::MAX));
                    feed.fill(need)?;
                }
            }
        }
    }

    /// Verifies a seal at the current position: `long adler32; ustring "/"`.
    fn seal(&mut self, seal: u8) -> Result<(), Failure> {
        let limits = self.limits;
        let actual = u64::from(self.feed.checksum());
        let offset = self.feed.offset();
        let what = match seal {
            1 => "seal #1",
            2 => "seal #2",
            _ => "seal #3",
        };
        let stored = self.feed.record(limits, |c| {
            let v = c.read_long(what)?;
            let at = c.position();
            let slash = c.read_ustring("seal path")?;
            if slash != Some(b"/") {
                return Err(c.error_at(
                    at,
                    Problem::Malformed(format!("{what} is not followed by the string \"/\"")),
                ));
            }
            Ok(v)
        })?;
        if stored.cast_unsigned() != actual {
            return Err(Failure::Seal {
                seal,
                offset,
                expected: stored.cast_unsigned(),
                actual,
            });
        }
        Ok(())
    }

    /// Reads what follows seal #1, deciding the layout from its length.
    fn read_tail(&mut self) -> Result<(Layout, Option<ZxidDigest>, Option<i64>), Failure> {
        let limits = self.limits;
        while !self.feed.eof && self.feed.available() <= MAX_TAIL {
            let want = self.feed.available() + 1;
            self.feed.fill(want)?;
        }
        let tail = self.feed.available();
        let layout = match tail {
            0 => Layout::NoDigest,
            21 => Layout::LastZxidOnly,
            33 => Layout::Digest,
            54 => Layout::DigestAndLastZxid,
            n => {
                let shown = if n > MAX_TAIL {
                    format!("more than {MAX_TAIL}")
                } else {
                    n.to_string()
                };
                return Err(Failure::Decode(JuteError {
                    offset: self.feed.offset(),
                    problem: Problem::Malformed(format!(
                        "{shown} bytes follow seal #1; a snapshot ends there (3.4/3.5) or has \
                         21 (3.9 without digest), 33 (3.6-3.8) or 54 (3.9) more bytes"
                    )),
                }));
            }
        };
        let mut digest = None;
        let mut last_zxid = None;
        let mut next_seal = 2;
        if matches!(layout, Layout::Digest | Layout::DigestAndLastZxid) {
            digest = Some(self.feed.record(limits, |c| {
                let zxid = c.read_long("digest zxid")?;
                let at = c.position();
                let version = c.read_int("digest version")?;
                if version < 2 {
                    return Err(c.error_at(
                        at,
                        Problem::Malformed(format!(
                            "digest version {version} is not supported (only 2+ was released)"
                        )),
                    ));
                }
                let digest = c.read_long("digest value")?;
                Ok(ZxidDigest {
                    zxid,
                    version,
                    digest,
                })
            })?);
            self.seal(next_seal)?;
            next_seal += 1;
        }
        if matches!(layout, Layout::LastZxidOnly | Layout::DigestAndLastZxid) {
            last_zxid = Some(
                self.feed
                    .record(limits, |c| c.read_long("lastProcessedZxid"))?,
            );
            self.seal(next_seal)?;
        }
        Ok((layout, digest, last_zxid))
    }
}

/// A node as it sits in the buffer.
struct RawNode<'a> {
    path: &'a [u8],
    data: Option<&'a [u8]>,
    stat: &'a [u8; 60],
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

impl RawNode<'_> {
    fn czxid(&self) -> i64 {
        be_i64(&self.stat[0..8])
    }
    fn mzxid(&self) -> i64 {
        be_i64(&self.stat[8..16])
    }
    fn ctime(&self) -> i64 {
        be_i64(&self.stat[16..24])
    }
    fn mtime(&self) -> i64 {
        be_i64(&self.stat[24..32])
    }
    fn ephemeral_owner(&self) -> i64 {
        be_i64(&self.stat[44..52])
    }
}

/// Reads `ustring path` and, unless it is the terminator "/", `DataNode`.
#[inline]
fn read_raw_node<'a>(c: &mut Cursor<'a>) -> Result<Option<RawNode<'a>>, JuteError> {
    let path = c.read_ustring_nonnull("node path")?;
    if path == b"/" {
        return Ok(None);
    }
    let data = c.read_buffer("node data")?;
    c.skip(8, "node ACL key")?;
    let stat: &[u8; 60] = c
        .read_bytes(60, "node stat")?
        .try_into()
        .map_err(|_| c.error(Problem::Malformed("node stat is not 60 bytes".into())))?;
    Ok(Some(RawNode { path, data, stat }))
}

/// Per-node bookkeeping over the whole tree: filter, counts, max times, parent check, digest.
struct Tree<'f> {
    filter: &'f dyn Fn(&[u8]) -> bool,
    nodes: Vec<(Arc<str>, Node)>,
    node_count: u64,
    max_ctime: i64,
    max_mtime: i64,
    /// Path of the deepest node on the ancestor stack; each stacked node is a prefix of it.
    chain: Vec<u8>,
    /// Lengths of the stacked ancestors' paths.
    chain_lens: Vec<usize>,
    digest: Option<u64>,
    keep_data: bool,
    tally: Option<TallyFilter<'f>>,
    tallied: Tally,
}

impl<'f> Tree<'f> {
    fn new(
        filter: &'f dyn Fn(&[u8]) -> bool,
        tally: Option<TallyFilter<'f>>,
        compute_digest: bool,
        keep_data: bool,
    ) -> Self {
        Tree {
            tally,
            tallied: Tally::default(),
            filter,
            nodes: Vec::new(),
            node_count: 0,
            max_ctime: 0,
            max_mtime: 0,
            chain: Vec::new(),
            chain_lens: Vec::new(),
            digest: compute_digest.then_some(0),
            keep_data,
        }
    }

    #[inline]
    fn visit(&mut self, n: &RawNode<'_>, offset: u64) -> Result<(), JuteError> {
        self.check_parent(n.path, offset)?;
        self.node_count += 1;
        self.max_ctime = self.max_ctime.max(n.ctime());
        self.max_mtime = self.max_mtime.max(n.mtime());
        if let Some(sum) = self.digest.as_mut() {
            *sum = sum.wrapping_add(node_digest(n));
        }
        if (self.filter)(n.path) {
            // `from_utf8` is much faster than `from_utf8_lossy` on the (usual) valid input.
            let path: Arc<str> = match std::str::from_utf8(n.path) {
                Ok(p) => Arc::from(p),
                Err(_) => Arc::from(&*String::from_utf8_lossy(n.path)),
            };
            self.nodes.push((
                path,
                Node {
                    data: n.data.filter(|_| self.keep_data).map(<[u8]>::to_vec),
                    czxid: n.czxid(),
                    mzxid: n.mzxid(),
                    ctime: n.ctime(),
                    mtime: n.mtime(),
                    ephemeral_owner: n.ephemeral_owner(),
                },
            ));
        } else if let Some(tally) = self.tally
            && tally(n.path)
        {
            self.tallied
                .push(tally_key(n.path), n.ephemeral_owner(), n.czxid());
        }
        Ok(())
    }

    /// ZooKeeper's loader fails with "Invalid Datatree, unable to find parent" when a node's
    /// parent was not read before it. Snapshots are written in pre-order, so the parent must be
    /// on the current ancestor chain; this checks that in O(1) amortized time and O(depth) memory.
    #[inline]
    fn check_parent(&mut self, path: &[u8], offset: u64) -> Result<(), JuteError> {
        let Some(slash) = memchr::memrchr(b'/', path) else {
            if path.is_empty() {
                // The root.
                self.chain.clear();
                self.chain_lens.clear();
                self.chain_lens.push(0);
                return Ok(());
            }
            return Err(JuteError {
                offset,
                problem: Problem::Malformed(format!(
                    "node path {:?} does not start with '/'",
                    String::from_utf8_lossy(path)
                )),
            });
        };
        let parent = &path[..slash];
        while let Some(&len) = self.chain_lens.last() {
            if len == parent.len() && self.chain[..len] == *parent {
                break;
            }
            self.chain_lens.pop();
        }
        if self.chain_lens.is_empty() {
            return Err(JuteError {
                offset,
                problem: Problem::Malformed(format!(
                    "node {:?} comes before its parent {:?} (ZooKeeper: \"Invalid Datatree, \
                     unable to find parent\")",
                    String::from_utf8_lossy(path),
                    String::from_utf8_lossy(parent)
                )),
            });
        }
        self.chain.truncate(parent.len());
        self.chain.extend_from_slice(&path[parent.len()..]);
        self.chain_lens.push(path.len());
        Ok(())
    }
}

/// ZooKeeper's per-node digest (`DigestCalculator`, version 2): CRC32 of the path, the data and
/// czxid, mzxid, pzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner; 0 for
/// nodes under `/zookeeper/`.
#[inline]
fn node_digest(n: &RawNode<'_>) -> u64 {
    if n.path.starts_with(b"/zookeeper/") {
        return 0;
    }
    // StatPersisted on disk: czxid mzxid ctime mtime version cversion aversion ephemeralOwner pzxid.
    let s = n.stat;
    let mut b = [0u8; 60];
    b[0..16].copy_from_slice(&s[0..16]); // czxid, mzxid
    b[16..24].copy_from_slice(&s[52..60]); // pzxid
    b[24..40].copy_from_slice(&s[16..32]); // ctime, mtime
    b[40..52].copy_from_slice(&s[32..44]); // version, cversion, aversion
    b[52..60].copy_from_slice(&s[44..52]); // ephemeralOwner
    let path: &[u8] = if n.path == b"/" { b"" } else { n.path };
    let mut crc = flate2::Crc::new();
    crc.update(path);
    if let Some(d) = n.data {
        crc.update(d);
    }
    crc.update(&b);
    u64::from(crc.sum())
}

#[cfg(test)]
mod tests {
    use super::super::writer as crate_writer;
    use super::super::writer::{SnapshotBuilder, SnapshotNode, TailLayout};
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Snapshot, ZkError> {
        read_snapshot_from(
            bytes,
            Compression::None,
            Some(5),
            Path::new("mem/snapshot.5"),
            &keep_all,
            &SnapshotOptions::default(),
        )
    }

    fn sample(layout: TailLayout) -> SnapshotBuilder {
        let mut b = SnapshotBuilder::new();
        b.session(0x100, 30_000).session(0x200, 40_000);
        b.acl(1, &[(1, "world", "anyone")]);
        b.node(&SnapshotNode::new("", None));
        b.node(&SnapshotNode::new("/zookeeper", Some(b"")));
        b.node(&SnapshotNode::new("/zookeeper/quota", Some(b"")));
        b.node(&SnapshotNode {
            ctime: 7,
            mtime: 9,
            ..SnapshotNode::new("/a", Some(b"x"))
        });
        b.node(&SnapshotNode {
            ephemeral_owner: 0x100,
            ..SnapshotNode::new("/a/e", None)
        });
        b.node(&SnapshotNode {
            mtime: 11,
            ..SnapshotNode::new("/b", Some(b"yy"))
        });
        b.layout(layout).digest_zxid(5).last_zxid(6);
        b
    }

    #[test]
    fn a_tally_answers_alike_as_a_list_and_as_a_map() {
        let mut listed = Tally::default();
        listed.push(1, 10, 100);
        listed.push(2, 0, 101);
        listed.push(3, 11, 102);
        assert_eq!(listed.len(), 3);
        let mut mapped = listed.clone();
        assert_eq!(mapped.get(2), Some((0, 101)), "builds the map");
        assert_eq!(listed, mapped);
        let mut values: Vec<_> = mapped.values().collect();
        values.sort_unstable();
        assert_eq!(values, [(0, 101), (10, 100), (11, 102)]);
        assert_eq!(mapped.remove(1), Some((10, 100)));
        assert_eq!(mapped.insert(4, (12, 103)), None);
        mapped.push(5, 13, 104);
        assert_eq!(mapped.len(), 4);
        assert_ne!(listed, mapped);
        let mut keys: Vec<_> = mapped.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(keys, [2, 3, 4, 5]);
        // A key listed twice (a hash collision): the later entry stays once the map is built.
        let mut twice = Tally::default();
        twice.push(7, 1, 1);
        twice.push(7, 2, 2);
        assert_eq!(twice.len(), 2);
        let mut single = Tally::default();
        single.push(7, 2, 2);
        assert_eq!(twice, single);
        assert_eq!(twice.get(7), Some((2, 2)));
        assert_eq!(twice.len(), 1);
        assert!(!twice.is_empty());
    }

    #[test]
    fn file_names() {
        assert_eq!(
            parse_snapshot_file_name("snapshot.0"),
            Some((0, Compression::None))
        );
        assert_eq!(
            parse_snapshot_file_name("snapshot.8b.gz"),
            Some((0x8b, Compression::Gzip))
        );
        assert_eq!(
            parse_snapshot_file_name("snapshot.100000002.snappy"),
            Some((0x1_0000_0002, Compression::Snappy))
        );
        assert_eq!(parse_snapshot_file_name("snapshot.8b.tmp"), None);
        assert_eq!(parse_snapshot_file_name("snapshot.8B"), None);
        assert_eq!(parse_snapshot_file_name("snapshot."), None);
        assert_eq!(parse_snapshot_file_name("snapshot.8b.gz.tmp"), None);
        assert_eq!(parse_snapshot_file_name("log.8b"), None);
        assert_eq!(parse_snapshot_file_name("snapshot.12345678901234567"), None);
        assert_eq!(
            parse_snapshot_file_name("snapshot.ffffffffffffffff"),
            Some((-1, Compression::None))
        );
        assert_eq!(Compression::from_file_name("x.gz"), Compression::Gzip);
        assert_eq!(
            Compression::from_file_name("snapshot.1.snappy"),
            Compression::Snappy
        );
        assert_eq!(Compression::from_file_name("snapshot.1"), Compression::None);
    }

    #[test]
    fn every_layout_parses_with_valid_seals() {
        for (layout, expect, len_after_seal1) in [
            (TailLayout::V34, Layout::NoDigest, 0),
            (TailLayout::V36, Layout::Digest, 33),
            (TailLayout::V39, Layout::DigestAndLastZxid, 54),
            (TailLayout::V39NoDigest, Layout::LastZxidOnly, 21),
        ] {
            let b = sample(layout);
            let bytes = b.build();
            let s = parse(&bytes).unwrap_or_else(|e| panic!("{layout:?}: {e}"));
            assert_eq!(s.info.layout, expect);
            assert_eq!(s.info.stream_len, bytes.len() as u64);
            assert_eq!(bytes.len() - b.seal1_end(), len_after_seal1);
            assert_eq!(s.info.node_count, 6);
            assert_eq!(s.info.session_count, 2);
            assert_eq!(s.sessions[&0x100], 30_000);
            assert_eq!(s.info.acl_count, 1);
            assert_eq!(s.info.max_ctime, 7);
            assert_eq!(s.info.max_mtime, 11);
            assert_eq!(
                s.info.header,
                FileHeader {
                    magic: SNAPSHOT_MAGIC,
                    version: 2,
                    dbid: -1
                }
            );
            assert_eq!(s.nodes.len(), 6);
            assert_eq!(&*s.nodes[4].0, "/a/e");
            assert_eq!(s.nodes[4].1.data, None);
            assert_eq!(s.nodes[4].1.ephemeral_owner, 0x100);
            assert_eq!(s.nodes[5].1.data.as_deref(), Some(&b"yy"[..]));
            match expect {
                Layout::Digest | Layout::DigestAndLastZxid => {
                    let d = s.info.digest.unwrap();
                    assert_eq!((d.zxid, d.version), (5, 2));
                    assert_eq!(s.info.digest_matches(), Some(true));
                }
                _ => {
                    assert_eq!(s.info.digest, None);
                    assert_eq!(s.info.digest_matches(), None);
                }
            }
            let lz = matches!(expect, Layout::DigestAndLastZxid | Layout::LastZxidOnly);
            assert_eq!(s.info.last_processed_zxid, lz.then_some(6));
        }
    }

    #[test]
    fn every_seal_is_verified() {
        for layout in [
            TailLayout::V34,
            TailLayout::V36,
            TailLayout::V39,
            TailLayout::V39NoDigest,
        ] {
            let b = sample(layout);
            let good = b.build();
            for (seal, at) in b.seal_offsets().into_iter().enumerate() {
                let mut bad = good.clone();
                bad[at + 7] ^= 0x01;
                let err = parse(&bad).unwrap_err();
                match err {
                    ZkError::ChecksumMismatch {
                        seal: s, offset, ..
                    } => {
                        assert_eq!(usize::from(s), seal + 1, "{layout:?}");
                        assert_eq!(offset, at as u64);
                    }
                    other => panic!("{layout:?} seal {seal}: {other}"),
                }
            }
        }
    }

    #[test]
    fn wrong_digest_is_reported_not_fatal() {
        let mut b = sample(TailLayout::V36);
        b.digest_value(Some(12345));
        let s = parse(&b.build()).unwrap();
        assert_eq!(s.info.digest_matches(), Some(false));
        b.digest_zxid(0);
        let s = parse(&b.build()).unwrap();
        assert_eq!(
            s.info.digest_matches(),
            None,
            "the empty digest (zxid 0) says nothing"
        );
    }

    #[test]
    fn odd_tail_lengths_are_rejected() {
        let b = sample(TailLayout::V36);
        let mut bytes = b.build();
        bytes.push(0);
        let e = parse(&bytes).unwrap_err().to_string();
        assert!(e.contains("34 bytes follow seal #1"), "{e}");
        bytes.extend_from_slice(&[0; 100]);
        let e = parse(&bytes).unwrap_err().to_string();
        assert!(e.contains("more than 54 bytes follow seal #1"), "{e}");
    }

    #[test]
    fn bad_header_and_structure() {
        let mut bytes = sample(TailLayout::V36).build();
        bytes[0] = 0;
        let e = parse(&bytes).unwrap_err();
        assert!(e.to_string().contains("bad magic number 0x004b534e"), "{e}");
        let mut bytes = sample(TailLayout::V36).build();
        bytes[7] = 3;
        assert!(
            parse(&bytes)
                .unwrap_err()
                .to_string()
                .contains("unsupported format version 3")
        );

        // A child before its parent.
        let mut b = SnapshotBuilder::new();
        b.node(&SnapshotNode::new("", None));
        b.node(&SnapshotNode::new("/a/b", None));
        let e = parse(&b.build()).unwrap_err().to_string();
        assert!(e.contains("comes before its parent \"/a\""), "{e}");
        // Siblings and a jump back up the tree are fine; a cousin without its parent is not.
        let mut b = SnapshotBuilder::new();
        for p in ["", "/a", "/a/x", "/a/x/y", "/b", "/b/z", "/a2"] {
            b.node(&SnapshotNode::new(p, None));
        }
        assert_eq!(parse(&b.build()).unwrap().info.node_count, 7);
        b.node(&SnapshotNode::new("/a/q", None));
        assert!(parse(&b.build()).is_err());
        // No root.
        let mut b = SnapshotBuilder::new();
        b.node(&SnapshotNode::new("/a", None));
        assert!(parse(&b.build()).is_err());
        // A path without a slash.
        let mut b = SnapshotBuilder::new();
        b.node(&SnapshotNode::new("", None));
        b.node(&SnapshotNode::new("abc", None));
        assert!(
            parse(&b.build())
                .unwrap_err()
                .to_string()
                .contains("does not start with '/'")
        );
    }

    #[test]
    fn filter_keeps_subset_but_stats_cover_all() {
        let bytes = sample(TailLayout::V36).build();
        let s = read_snapshot_from(
            &bytes[..],
            Compression::None,
            None,
            Path::new("x"),
            &|p: &[u8]| p.starts_with(b"/a"),
            &SnapshotOptions::default(),
        )
        .unwrap();
        let paths: Vec<_> = s.nodes.iter().map(|(p, _)| &**p).collect();
        assert_eq!(paths, ["/a", "/a/e"]);
        assert_eq!(s.info.node_count, 6);
        assert_eq!(s.info.max_mtime, 11);
    }

    #[test]
    fn truncation_and_flips_always_error() {
        let b = sample(TailLayout::V36);
        let good = b.build();
        for len in 0..good.len() {
            let r = parse(&good[..len]);
            if len == b.seal1_end() {
                assert_eq!(r.unwrap().info.layout, Layout::NoDigest);
            } else {
                let e = r.unwrap_err();
                assert!(e.to_string().contains("mem/snapshot.5"), "{e}");
            }
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                assert!(parse(&bad).is_err(), "flip byte {i} bit {bit} was accepted");
            }
        }
    }

    #[test]
    fn tiny_reads_give_same_result() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(3);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let bytes = sample(TailLayout::V39).build();
        let a = parse(&bytes).unwrap();
        let b = read_snapshot_from(
            Trickle(&bytes),
            Compression::None,
            Some(5),
            Path::new("mem/snapshot.5"),
            &keep_all,
            &SnapshotOptions::default(),
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn records_larger_than_the_buffer() {
        let mut b = SnapshotBuilder::new();
        b.node(&SnapshotNode::new("", None));
        let big = vec![7u8; BUFFER_SIZE + 12345];
        b.node(&SnapshotNode::new("/big", Some(&big)));
        b.node(&SnapshotNode::new("/small", Some(b"s")));
        let s = parse(&b.build()).unwrap();
        assert_eq!(s.nodes[1].1.data.as_deref(), Some(&big[..]));
        assert_eq!(&*s.nodes[2].0, "/small");
        // ... but not larger than the limit.
        let opts = SnapshotOptions {
            limits: Limits {
                max_buffer: 1000,
                extra_buffer: 1000,
            },
            ..Default::default()
        };
        let e = read_snapshot_from(
            &b.build()[..],
            Compression::None,
            None,
            Path::new("s"),
            &keep_all,
            &opts,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("outside the allowed 0..=2000"),
            "{e}"
        );
    }

    #[test]
    fn corrupt_counts_fail_without_buffering_the_file() {
        // An ACL list claiming 2^31-1 entries followed by 8 MiB of valid-looking ACLs: the file
        // ends first, and the window must never grow past one record meanwhile.
        let mut b = crate_writer::JuteBuf::new();
        b.int(SNAPSHOT_MAGIC.cast_signed())
            .int(2)
            .long(-1)
            .int(0)
            .int(1)
            .long(1)
            .int(i32::MAX);
        // Junk that parses as endless valid ACLs (perms 31, empty scheme and id).
        for _ in 0..(8 << 20) / 12 {
            b.int(31).int(0).int(0);
        }
        let mut feed_max = 0;
        let r = read_snapshot_from(
            MaxWindow(&b.0[..], &mut feed_max),
            Compression::None,
            None,
            Path::new("big"),
            &keep_all,
            &SnapshotOptions::default(),
        );
        assert!(r.is_err());
        assert!(
            feed_max <= 2 * BUFFER_SIZE,
            "read requests up to {feed_max} bytes"
        );
    }

    /// A reader that records the largest read request (= the parse window size).
    struct MaxWindow<'a>(&'a [u8], &'a mut usize);
    impl Read for MaxWindow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            *self.1 = (*self.1).max(buf.len());
            self.0.read(buf)
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn arbitrary_mutations_never_panic(pos in 0usize..400, val in proptest::num::u8::ANY) {
            let mut bytes = sample(TailLayout::V39).build();
            let i = pos % bytes.len();
            bytes[i] = val;
            let _ = parse(&bytes);
        }
    }
}
