//! Streaming reader of ZooKeeper transaction logs (`log.<hex zxid>`).
//!
//! Owns the log framing (file header, then entries `long crc; int len; txn; byte 'B'` where
//! `crc` is the Adler32 of the txn bytes only) and the decoding of `TxnHeader` and every record
//! type ZooKeeper's `SerializeUtils.deserializeTxn` accepts: createSession, closeSession (with or
//! without the 3.6+ `paths2Delete`), create/create2 (`CreateTxn` or the old `CreateTxnV0`),
//! createContainer, createTTL, delete/deleteContainer, setData, reconfig, setACL, error and multi
//! (whose sub-txns may also be `check`). The 3.6+ trailing `TxnDigest` is found from the record
//! boundary: after the record exactly 0 or 12 bytes may remain.
//!
//! Where a log stops: a clean end of file, a zero length (the preallocated zero padding), or a
//! partial last entry (cut short, or missing its `'B'`) end the log cleanly, as in ZooKeeper's
//! `FileTxnIterator`. A checksum mismatch or an undecodable txn is an error naming the file and
//! offset. Unknown top-level types are errors, because ZooKeeper refuses them too
//! ("Unsupported Txn"), and so are types that ZooKeeper's multi handling rejects ("Invalid type
//! of op"). This module must not apply txns to any state (that is `datadir`'s job).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::error::{Problem, ZkError};
use super::jute::{Cursor, JuteError, Limits};
use super::snapshot::{FORMAT_VERSION, FileHeader, parse_hex_zxid};

/// Magic number of transaction logs ("ZKLG").
pub const TXNLOG_MAGIC: u32 = 0x5A4B_4C47;

/// Txn type codes (`ZooDefs.OpCode`) that appear in logs.
pub mod op {
    /// create
    pub const CREATE: i32 = 1;
    /// delete
    pub const DELETE: i32 = 2;
    /// setData
    pub const SET_DATA: i32 = 5;
    /// setACL
    pub const SET_ACL: i32 = 7;
    /// check (only inside multi)
    pub const CHECK: i32 = 13;
    /// multi
    pub const MULTI: i32 = 14;
    /// create2
    pub const CREATE2: i32 = 15;
    /// reconfig
    pub const RECONFIG: i32 = 16;
    /// createContainer
    pub const CREATE_CONTAINER: i32 = 19;
    /// deleteContainer
    pub const DELETE_CONTAINER: i32 = 20;
    /// createTTL
    pub const CREATE_TTL: i32 = 21;
    /// createSession
    pub const CREATE_SESSION: i32 = -10;
    /// closeSession
    pub const CLOSE_SESSION: i32 = -11;
    /// error
    pub const ERROR: i32 = -1;
}

/// Parses a strict log file name `^log\.[0-9a-f]+$` into the zxid of its first txn.
#[must_use]
pub fn parse_log_file_name(name: &str) -> Option<i64> {
    parse_hex_zxid(name.strip_prefix("log.")?)
}

/// `TxnHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnHeader {
    /// Session id of the client that issued the txn.
    pub client_id: i64,
    /// Client's request counter.
    pub cxid: i32,
    /// Transaction id.
    pub zxid: i64,
    /// Server time when the txn was created (ms since the epoch).
    pub time: i64,
    /// Txn type (see [`op`]).
    pub txn_type: i32,
}

/// `TxnDigest`, appended to every txn by 3.6+ servers with the digest enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnDigest {
    /// Digest version.
    pub version: i32,
    /// Tree digest after the txn.
    pub tree_digest: i64,
}

/// Whether a create was `create` (1) or `create2` (15); they share `CreateTxn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    /// `create`.
    Create,
    /// `create2`.
    Create2,
}

/// A decoded txn record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnRecord {
    /// createSession: the session's timeout.
    CreateSession {
        /// Timeout (ms).
        timeout: i32,
    },
    /// closeSession; `paths_to_delete` is the 3.6+ `CloseSessionTxn` (None before 3.6).
    CloseSession {
        /// Ephemerals the server deletes with the session.
        paths_to_delete: Option<Vec<String>>,
    },
    /// create / create2.
    Create {
        /// Which opcode.
        kind: CreateKind,
        /// Final path (sequential suffix already applied).
        path: String,
        /// Data.
        data: Option<Vec<u8>>,
        /// Ephemeral (owner = `TxnHeader`.clientId).
        ephemeral: bool,
        /// Parent's new cversion; `None` for the old `CreateTxnV0`.
        parent_cversion: Option<i32>,
    },
    /// createContainer (owner = `0x8000000000000000`).
    CreateContainer {
        /// Path.
        path: String,
        /// Data.
        data: Option<Vec<u8>>,
        /// Parent's new cversion.
        parent_cversion: i32,
    },
    /// createTTL (owner = `0xFF00000000000000 | ttl`).
    CreateTtl {
        /// Path.
        path: String,
        /// Data.
        data: Option<Vec<u8>>,
        /// Parent's new cversion.
        parent_cversion: i32,
        /// TTL (ms).
        ttl: i64,
    },
    /// delete / deleteContainer.
    Delete {
        /// Path.
        path: String,
        /// True for deleteContainer.
        container: bool,
    },
    /// setData.
    SetData {
        /// Path.
        path: String,
        /// New data.
        data: Option<Vec<u8>>,
        /// New data version.
        version: i32,
    },
    /// reconfig (a `SetDataTxn` on `/zookeeper/config`).
    Reconfig {
        /// Path.
        path: String,
        /// New data.
        data: Option<Vec<u8>>,
        /// New data version.
        version: i32,
    },
    /// setACL (the ACL itself is not kept).
    SetAcl {
        /// Path.
        path: String,
        /// New ACL version.
        version: i32,
    },
    /// check (inside multi only).
    Check {
        /// Path.
        path: String,
        /// Expected version.
        version: i32,
    },
    /// error: a failed request (or a failed multi's sub-txn).
    Error {
        /// `KeeperException` code.
        err: i32,
    },
    /// multi: sub-txns in order.
    Multi(Vec<TxnRecord>),
}

/// One transaction read from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Offset of the entry (its stored checksum) in the file.
    pub offset: u64,
    /// Header.
    pub header: TxnHeader,
    /// Record.
    pub record: TxnRecord,
    /// Trailing digest (3.6+).
    pub digest: Option<TxnDigest>,
}

/// Why reading a log stopped without an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEnd {
    /// The file ends right after a complete entry.
    Eof {
        /// File length.
        offset: u64,
    },
    /// A zero length: the preallocated zero padding after the last txn.
    Padding {
        /// Offset of the zero entry.
        offset: u64,
    },
    /// The last entry is incomplete (a torn write); ZooKeeper stops there too.
    PartialTail {
        /// Offset of the incomplete entry.
        offset: u64,
        /// What was missing.
        reason: &'static str,
    },
}

impl LogEnd {
    /// Offset where reading stopped.
    #[must_use]
    pub fn offset(&self) -> u64 {
        match self {
            LogEnd::Eof { offset }
            | LogEnd::Padding { offset }
            | LogEnd::PartialTail { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for LogEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogEnd::Eof { offset } => write!(f, "end of file at offset {offset}"),
            LogEnd::Padding { offset } => write!(f, "zero padding from offset {offset}"),
            LogEnd::PartialTail { offset, reason } => {
                write!(f, "stopped at partial tail at offset {offset} ({reason})")
            }
        }
    }
}

/// Reads txns one at a time from a log.
pub struct TxnLogReader<R> {
    src: R,
    path: PathBuf,
    offset: u64,
    header: FileHeader,
    limits: Limits,
    end: Option<LogEnd>,
    failed: bool,
    buf: Vec<u8>,
}

impl TxnLogReader<BufReader<File>> {
    /// Opens a log file and reads its header.
    pub fn open(path: &Path, limits: &Limits) -> Result<Self, ZkError> {
        let file = super::snapshot::open_regular_file(path)?;
        TxnLogReader::new(BufReader::with_capacity(1 << 16, file), path, limits)
    }
}

impl<R: Read> TxnLogReader<R> {
    /// Reads the file header from `src`; `path` is used in messages.
    pub fn new(src: R, path: &Path, limits: &Limits) -> Result<Self, ZkError> {
        let mut r = TxnLogReader {
            src,
            path: path.to_path_buf(),
            offset: 0,
            header: FileHeader {
                magic: 0,
                version: 0,
                dbid: 0,
            },
            limits: *limits,
            end: None,
            failed: false,
            buf: Vec::new(),
        };
        let mut h = [0u8; 16];
        let n = r.read_full(&mut h)?;
        let mut c = Cursor::new(&h[..n], 0, limits);
        let header = (|| {
            let magic = c.read_int("log header magic")?.cast_unsigned();
            if magic != TXNLOG_MAGIC {
                return Err(c.error_at(
                    0,
                    Problem::BadMagic {
                        found: magic,
                        expected: TXNLOG_MAGIC,
                        kind: "transaction log",
                    },
                ));
            }
            let version = c.read_int("log header version")?;
            if version != FORMAT_VERSION {
                return Err(c.error_at(4, Problem::BadVersion { found: version }));
            }
            let dbid = c.read_long("log header dbid")?;
            Ok(FileHeader {
                magic,
                version,
                dbid,
            })
        })()
        .map_err(|e| r.decode_error(e))?;
        r.header = header;
        Ok(r)
    }

    /// The file header.
    #[must_use]
    pub fn header(&self) -> &FileHeader {
        &self.header
    }

    /// The file path used in messages.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why reading stopped, once [`TxnLogReader::next_txn`] has returned `Ok(None)`.
    #[must_use]
    pub fn end(&self) -> Option<&LogEnd> {
        self.end.as_ref()
    }

    fn decode_error(&self, e: JuteError) -> ZkError {
        ZkError::ReadTxnLog {
            path: self.path.clone(),
            offset: e.offset,
            problem: e.problem,
        }
    }

    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, ZkError> {
        let mut n = 0;
        while n < buf.len() {
            match self.src.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    return Err(ZkError::ReadTxnLog {
                        path: self.path.clone(),
                        offset: self.offset + n as u64,
                        problem: Problem::from_io(&e, false),
                    });
                }
            }
        }
        self.offset += n as u64;
        Ok(n)
    }

    fn stop(&mut self, end: LogEnd) -> Option<Txn> {
        self.end = Some(end);
        None
    }

    /// The next txn, or `Ok(None)` at the end of the log (see [`TxnLogReader::end`]).
    pub fn next_txn(&mut self) -> Result<Option<Txn>, ZkError> {
        if self.end.is_some() || self.failed {
            return Ok(None);
        }
        let entry = self.offset;
        let mut head = [0u8; 12];
        let n = self.read_full(&mut head)?;
        if n == 0 {
            return Ok(self.stop(LogEnd::Eof { offset: entry }));
        }
        if n < 8 {
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "checksum cut short",
            }));
        }
        if n < 12 {
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "length cut short",
            }));
        }
        let crc = i64::from_be_bytes([
            head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
        ]);
        let len = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        if len == 0 {
            return Ok(self.stop(LogEnd::Padding { offset: entry }));
        }
        if len == -1 {
            // BinaryInputArchive reads this as a null buffer, which FileTxnIterator treats as EOF.
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "entry length is -1",
            }));
        }
        let max = self.limits.max_len();
        let size = match usize::try_from(len) {
            Ok(n) if n <= max => n,
            _ => {
                self.failed = true;
                return Err(ZkError::ReadTxnLog {
                    path: self.path.clone(),
                    offset: entry + 8,
                    problem: Problem::BadLength {
                        what: "txn entry",
                        len: i64::from(len),
                        max: max as u64,
                    },
                });
            }
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(size, 0);
        let got = self.read_full(&mut buf);
        let result = self.finish_entry(entry, crc, &buf, got);
        self.buf = buf;
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn finish_entry(
        &mut self,
        entry: u64,
        crc: i64,
        bytes: &[u8],
        got: Result<usize, ZkError>,
    ) -> Result<Option<Txn>, ZkError> {
        if got? < bytes.len() {
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "txn bytes cut short",
            }));
        }
        let mut marker = [0u8; 1];
        if self.read_full(&mut marker)? == 0 {
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "end-of-record marker 'B' missing",
            }));
        }
        if marker[0] != b'B' {
            return Ok(self.stop(LogEnd::PartialTail {
                offset: entry,
                reason: "end-of-record marker is not 'B'",
            }));
        }
        let mut adler = simd_adler32::Adler32::new();
        adler.write(bytes);
        let actual = u64::from(adler.finish());
        if crc.cast_unsigned() != actual {
            return Err(ZkError::TxnChecksumMismatch {
                path: self.path.clone(),
                offset: entry,
                expected: crc.cast_unsigned(),
                actual,
            });
        }
        let (header, record, digest) =
            decode_txn(bytes, entry + 12, &self.limits).map_err(|e| self.decode_error(e))?;
        Ok(Some(Txn {
            offset: entry,
            header,
            record,
            digest,
        }))
    }
}

impl<R: Read> Iterator for TxnLogReader<R> {
    type Item = Result<Txn, ZkError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_txn().transpose()
    }
}

/// A whole log read into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLog {
    /// The file.
    pub path: PathBuf,
    /// File header.
    pub header: FileHeader,
    /// Every txn, in order.
    pub txns: Vec<Txn>,
    /// Where reading stopped.
    pub end: LogEnd,
}

/// Reads a whole log file.
pub fn read_txn_log(path: &Path, limits: &Limits) -> Result<TxnLog, ZkError> {
    let mut r = TxnLogReader::open(path, limits)?;
    let mut txns = Vec::new();
    while let Some(t) = r.next_txn()? {
        txns.push(t);
    }
    let end = r.end().cloned().unwrap_or(LogEnd::Eof { offset: r.offset });
    Ok(TxnLog {
        path: path.to_path_buf(),
        header: r.header,
        txns,
        end,
    })
}

fn string(c: &mut Cursor<'_>, what: &'static str) -> Result<String, JuteError> {
    Ok(String::from_utf8_lossy(c.read_ustring_nonnull(what)?).into_owned())
}

fn data(c: &mut Cursor<'_>, what: &'static str) -> Result<Option<Vec<u8>>, JuteError> {
    Ok(c.read_buffer(what)?.map(<[u8]>::to_vec))
}

fn type_name(t: i32) -> &'static str {
    match t {
        op::CREATE => "create",
        op::DELETE => "delete",
        op::SET_DATA => "setData",
        op::SET_ACL => "setACL",
        op::CHECK => "check",
        op::MULTI => "multi",
        op::CREATE2 => "create2",
        op::RECONFIG => "reconfig",
        op::CREATE_CONTAINER => "createContainer",
        op::DELETE_CONTAINER => "deleteContainer",
        op::CREATE_TTL => "createTTL",
        op::CREATE_SESSION => "createSession",
        op::CLOSE_SESSION => "closeSession",
        op::ERROR => "error",
        _ => "unknown",
    }
}

/// Decodes the records shared by top-level txns and multi sub-txns.
fn decode_common(c: &mut Cursor<'_>, t: i32) -> Result<Option<TxnRecord>, JuteError> {
    Ok(Some(match t {
        op::CREATE_CONTAINER => TxnRecord::CreateContainer {
            path: string(c, "createContainer path")?,
            data: data(c, "createContainer data")?,
            parent_cversion: {
                c.skip_acl_vector("createContainer ACL")?;
                c.read_int("createContainer parentCVersion")?
            },
        },
        op::CREATE_TTL => {
            let path = string(c, "createTTL path")?;
            let data = data(c, "createTTL data")?;
            c.skip_acl_vector("createTTL ACL")?;
            let parent_cversion = c.read_int("createTTL parentCVersion")?;
            let ttl = c.read_long("createTTL ttl")?;
            TxnRecord::CreateTtl {
                path,
                data,
                parent_cversion,
                ttl,
            }
        }
        op::DELETE | op::DELETE_CONTAINER => TxnRecord::Delete {
            path: string(c, "delete path")?,
            container: t == op::DELETE_CONTAINER,
        },
        op::SET_DATA => TxnRecord::SetData {
            path: string(c, "setData path")?,
            data: data(c, "setData data")?,
            version: c.read_int("setData version")?,
        },
        op::ERROR => TxnRecord::Error {
            err: c.read_int("error code")?,
        },
        _ => return Ok(None),
    }))
}

fn decode_create_v1(c: &mut Cursor<'_>, kind: CreateKind) -> Result<TxnRecord, JuteError> {
    let path = string(c, "create path")?;
    let data = data(c, "create data")?;
    c.skip_acl_vector("create ACL")?;
    let ephemeral = c.read_bool("create ephemeral flag")?;
    let parent_cversion = Some(c.read_int("create parentCVersion")?);
    Ok(TxnRecord::Create {
        kind,
        path,
        data,
        ephemeral,
        parent_cversion,
    })
}

fn decode_create_v0(c: &mut Cursor<'_>) -> Result<TxnRecord, JuteError> {
    let path = string(c, "create path")?;
    let data = data(c, "create data")?;
    c.skip_acl_vector("create ACL")?;
    let ephemeral = c.read_bool("create ephemeral flag")?;
    Ok(TxnRecord::Create {
        kind: CreateKind::Create,
        path,
        data,
        ephemeral,
        parent_cversion: None,
    })
}

fn decode_sub(bytes: &[u8], base: u64, limits: Limits, t: i32) -> Result<TxnRecord, JuteError> {
    let mut c = Cursor::new(bytes, base, &limits);
    // Like ZooKeeper's RequestRecord.readRecord, bytes after the record are ignored.
    match t {
        op::CREATE => decode_create_v1(&mut c, CreateKind::Create),
        op::CREATE2 => decode_create_v1(&mut c, CreateKind::Create2),
        op::CHECK => Ok(TxnRecord::Check {
            path: string(&mut c, "check path")?,
            version: c.read_int("check version")?,
        }),
        _ => match decode_common(&mut c, t)? {
            Some(r) => Ok(r),
            None => Err(c.error_at(
                0,
                Problem::Malformed(format!(
                    "txn type {t} ({}) cannot appear inside a multi (ZooKeeper: \"Invalid type of op\")",
                    type_name(t)
                )),
            )),
        },
    }
}

/// closeSession: like `SerializeUtils`, try `CloseSessionTxn`; if it does not fit the record
/// (followed by nothing or a 12-byte digest), it is a pre-3.6 closeSession without a body.
fn decode_close_session(c: &mut Cursor<'_>) -> Result<TxnRecord, JuteError> {
    let mark = c.position();
    let rest = c.remaining();
    let parsed: Result<Option<Vec<String>>, JuteError> = (|| {
        let Some(n) = c.read_vector_count("closeSession paths2Delete")? else {
            return Ok(None);
        };
        let mut v = Vec::with_capacity(n.min(c.remaining() / 4));
        for _ in 0..n {
            v.push(string(c, "closeSession path")?);
        }
        Ok(Some(v))
    })();
    match parsed {
        Ok(p) if matches!(c.remaining(), 0 | 12) => {
            Ok(TxnRecord::CloseSession { paths_to_delete: p })
        }
        Err(e) if !e.is_truncated() && !matches!(rest, 0 | 12) => Err(e),
        _ => {
            c.set_position(mark);
            Ok(TxnRecord::CloseSession {
                paths_to_delete: None,
            })
        }
    }
}

/// multi: `vector<Txn{int type; buffer data}>`, each sub-record decoded from its buffer.
fn decode_multi(c: &mut Cursor<'_>, limits: Limits) -> Result<TxnRecord, JuteError> {
    let start = c.position();
    let Some(n) = c.read_vector_count("multi txns")? else {
        return Err(c.error_at(start, Problem::UnexpectedNull { what: "multi txns" }));
    };
    let mut subs = Vec::with_capacity(n.min(c.remaining() / 8));
    for _ in 0..n {
        let st = c.read_int("multi sub-txn type")?;
        let at = c.offset();
        let Some(b) = c.read_buffer("multi sub-txn data")? else {
            return Err(c.error(Problem::UnexpectedNull {
                what: "multi sub-txn data",
            }));
        };
        subs.push(decode_sub(b, at + 4, limits, st)?);
    }
    Ok(TxnRecord::Multi(subs))
}

/// Decodes one txn's bytes (`TxnHeader` + record + optional `TxnDigest`). `base` is the file offset
/// of `bytes[0]`, used in errors.
pub fn decode_txn(
    bytes: &[u8],
    base: u64,
    limits: &Limits,
) -> Result<(TxnHeader, TxnRecord, Option<TxnDigest>), JuteError> {
    let mut c = Cursor::new(bytes, base, limits);
    let header = TxnHeader {
        client_id: c.read_long("txn header clientId")?,
        cxid: c.read_int("txn header cxid")?,
        zxid: c.read_long("txn header zxid")?,
        time: c.read_long("txn header time")?,
        txn_type: c.read_int("txn header type")?,
    };
    let t = header.txn_type;
    let record_start = c.position();
    let record = match t {
        op::CREATE_SESSION => TxnRecord::CreateSession {
            timeout: c.read_int("createSession timeout")?,
        },
        op::CLOSE_SESSION => decode_close_session(&mut c)?,
        op::CREATE | op::CREATE2 => {
            let kind = if t == op::CREATE {
                CreateKind::Create
            } else {
                CreateKind::Create2
            };
            match decode_create_v1(&mut c, kind) {
                Ok(r) => r,
                // SerializeUtils falls back to CreateTxnV0 for `create` only.
                Err(e) if e.is_truncated() && t == op::CREATE => {
                    c.set_position(record_start);
                    decode_create_v0(&mut c)?
                }
                Err(e) => return Err(e),
            }
        }
        op::RECONFIG => TxnRecord::Reconfig {
            path: string(&mut c, "reconfig path")?,
            data: data(&mut c, "reconfig data")?,
            version: c.read_int("reconfig version")?,
        },
        op::SET_ACL => {
            let path = string(&mut c, "setACL path")?;
            c.skip_acl_vector("setACL ACL")?;
            TxnRecord::SetAcl {
                path,
                version: c.read_int("setACL version")?,
            }
        }
        op::MULTI => decode_multi(&mut c, *limits)?,
        _ => match decode_common(&mut c, t)? {
            Some(r) => r,
            None => {
                return Err(c.error_at(
                    28,
                    Problem::Malformed(format!(
                        "unsupported txn type {t} ({}); ZooKeeper refuses it too (\"Unsupported Txn\")",
                        type_name(t)
                    )),
                ));
            }
        },
    };
    let digest = match c.remaining() {
        0 => None,
        12 => Some(TxnDigest {
            version: c.read_int("txn digest version")?,
            tree_digest: c.read_long("txn digest")?,
        }),
        n => {
            return Err(c.error(Problem::Malformed(format!(
                "{n} unexpected bytes after the {} record (expected none, or a 12-byte TxnDigest)",
                type_name(t)
            ))));
        }
    };
    Ok((header, record, digest))
}

#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use super::super::writer::{TxnLogBuilder, rec, txn};
    use super::*;

    const S: i64 = 0x100_0000_0000_0001;

    fn read_all(bytes: &[u8]) -> Result<(Vec<Txn>, LogEnd), ZkError> {
        let mut r = TxnLogReader::new(bytes, Path::new("mem/log.1"), &Limits::default())?;
        let mut v = Vec::new();
        while let Some(t) = r.next_txn()? {
            v.push(t);
        }
        Ok((v, r.end().cloned().unwrap()))
    }

    fn dec(bytes: &[u8]) -> Result<(TxnHeader, TxnRecord, Option<TxnDigest>), JuteError> {
        decode_txn(bytes, 0, &Limits::default())
    }

    #[test]
    fn file_names() {
        assert_eq!(parse_log_file_name("log.8c"), Some(0x8c));
        assert_eq!(parse_log_file_name("log.100000001"), Some(0x1_0000_0001));
        assert_eq!(parse_log_file_name("log.8c.tmp"), None);
        assert_eq!(parse_log_file_name("log."), None);
        assert_eq!(parse_log_file_name("snapshot.1"), None);
    }

    #[test]
    fn every_record_type_decodes_with_and_without_digest() {
        let d = Some((2, 77));
        let cases: Vec<(i32, Vec<u8>, TxnRecord)> = vec![
            (
                op::CREATE_SESSION,
                rec::create_session(30_000),
                TxnRecord::CreateSession { timeout: 30_000 },
            ),
            (
                op::CLOSE_SESSION,
                rec::close_session(Some(&["/a/e", "/b"])),
                TxnRecord::CloseSession {
                    paths_to_delete: Some(vec!["/a/e".into(), "/b".into()]),
                },
            ),
            (
                op::CLOSE_SESSION,
                rec::close_session(Some(&[])),
                TxnRecord::CloseSession {
                    paths_to_delete: Some(vec![]),
                },
            ),
            (
                op::CLOSE_SESSION,
                rec::close_session(None),
                TxnRecord::CloseSession {
                    paths_to_delete: None,
                },
            ),
            (
                op::CREATE,
                rec::create("/a", Some(b"x"), true, Some(3)),
                TxnRecord::Create {
                    kind: CreateKind::Create,
                    path: "/a".into(),
                    data: Some(b"x".to_vec()),
                    ephemeral: true,
                    parent_cversion: Some(3),
                },
            ),
            (
                op::CREATE2,
                rec::create("/a", None, false, Some(1)),
                TxnRecord::Create {
                    kind: CreateKind::Create2,
                    path: "/a".into(),
                    data: None,
                    ephemeral: false,
                    parent_cversion: Some(1),
                },
            ),
            (
                op::CREATE_CONTAINER,
                rec::create_container("/c", Some(b""), 2),
                TxnRecord::CreateContainer {
                    path: "/c".into(),
                    data: Some(vec![]),
                    parent_cversion: 2,
                },
            ),
            (
                op::CREATE_TTL,
                rec::create_ttl("/t", None, 2, 5000),
                TxnRecord::CreateTtl {
                    path: "/t".into(),
                    data: None,
                    parent_cversion: 2,
                    ttl: 5000,
                },
            ),
            (
                op::DELETE,
                rec::delete("/a"),
                TxnRecord::Delete {
                    path: "/a".into(),
                    container: false,
                },
            ),
            (
                op::DELETE_CONTAINER,
                rec::delete("/c"),
                TxnRecord::Delete {
                    path: "/c".into(),
                    container: true,
                },
            ),
            (
                op::SET_DATA,
                rec::set_data("/a", Some(b"v"), 4),
                TxnRecord::SetData {
                    path: "/a".into(),
                    data: Some(b"v".to_vec()),
                    version: 4,
                },
            ),
            (
                op::RECONFIG,
                rec::set_data("/zookeeper/config", Some(b"server.1=x"), 1),
                TxnRecord::Reconfig {
                    path: "/zookeeper/config".into(),
                    data: Some(b"server.1=x".to_vec()),
                    version: 1,
                },
            ),
            (
                op::SET_ACL,
                rec::set_acl("/a", 2),
                TxnRecord::SetAcl {
                    path: "/a".into(),
                    version: 2,
                },
            ),
            (op::ERROR, rec::error(-110), TxnRecord::Error { err: -110 }),
            (
                op::MULTI,
                rec::multi(&[
                    (op::CREATE, rec::create("/m", Some(b"1"), false, Some(1))),
                    (op::CHECK, rec::check("/m", 0)),
                    (op::SET_DATA, rec::set_data("/m", Some(b"2"), 1)),
                    (op::DELETE, rec::delete("/m")),
                    (op::CREATE_CONTAINER, rec::create_container("/mc", None, 1)),
                    (op::CREATE_TTL, rec::create_ttl("/mt", None, 1, 9)),
                    (op::ERROR, rec::error(0)),
                ]),
                TxnRecord::Multi(vec![
                    TxnRecord::Create {
                        kind: CreateKind::Create,
                        path: "/m".into(),
                        data: Some(b"1".to_vec()),
                        ephemeral: false,
                        parent_cversion: Some(1),
                    },
                    TxnRecord::Check {
                        path: "/m".into(),
                        version: 0,
                    },
                    TxnRecord::SetData {
                        path: "/m".into(),
                        data: Some(b"2".to_vec()),
                        version: 1,
                    },
                    TxnRecord::Delete {
                        path: "/m".into(),
                        container: false,
                    },
                    TxnRecord::CreateContainer {
                        path: "/mc".into(),
                        data: None,
                        parent_cversion: 1,
                    },
                    TxnRecord::CreateTtl {
                        path: "/mt".into(),
                        data: None,
                        parent_cversion: 1,
                        ttl: 9,
                    },
                    TxnRecord::Error { err: 0 },
                ]),
            ),
        ];
        for (t, body, expect) in cases {
            for digest in [None, d] {
                let bytes = txn(S, 9, 1234, t, &body, digest);
                let (h, r, dg) =
                    dec(&bytes).unwrap_or_else(|e| panic!("type {t} digest {digest:?}: {e}"));
                assert_eq!(
                    h,
                    TxnHeader {
                        client_id: S,
                        cxid: 1,
                        zxid: 9,
                        time: 1234,
                        txn_type: t
                    }
                );
                assert_eq!(r, expect, "type {t}");
                assert_eq!(
                    dg,
                    digest.map(|(version, tree_digest)| TxnDigest {
                        version,
                        tree_digest
                    })
                );
            }
        }
    }

    #[test]
    fn create_v0_is_recognised_for_create_only() {
        let body = rec::create("/old", Some(b"d"), true, None);
        let (_, r, dg) = dec(&txn(S, 1, 1, op::CREATE, &body, None)).unwrap();
        assert_eq!(
            r,
            TxnRecord::Create {
                kind: CreateKind::Create,
                path: "/old".into(),
                data: Some(b"d".to_vec()),
                ephemeral: true,
                parent_cversion: None
            }
        );
        assert_eq!(dg, None);
        assert!(dec(&txn(S, 1, 1, op::CREATE2, &body, None)).is_err());
    }

    #[test]
    fn unknown_and_misplaced_types_are_errors() {
        let e = dec(&txn(S, 1, 1, 99, &[], None)).unwrap_err();
        assert_eq!(e.offset, 28);
        assert!(e.to_string().contains("unsupported txn type 99"), "{e}");
        // check is only valid inside multi.
        let e = dec(&txn(S, 1, 1, op::CHECK, &rec::check("/a", 1), None)).unwrap_err();
        assert!(
            e.to_string().contains("unsupported txn type 13 (check)"),
            "{e}"
        );
        let body = rec::multi(&[(op::SET_ACL, rec::set_acl("/a", 1))]);
        let e = dec(&txn(S, 1, 1, op::MULTI, &body, None)).unwrap_err();
        assert!(
            e.to_string()
                .contains("type 7 (setACL) cannot appear inside a multi"),
            "{e}"
        );
        assert_eq!(e.offset, 32 + 4 + 4 + 4, "offset of the sub-txn data");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let mut bytes = txn(S, 1, 1, op::DELETE, &rec::delete("/a"), None);
        bytes.extend_from_slice(&[0; 5]);
        let e = dec(&bytes).unwrap_err();
        assert!(
            e.to_string()
                .contains("5 unexpected bytes after the delete record"),
            "{e}"
        );
    }

    fn sample_log() -> TxnLogBuilder {
        let mut b = TxnLogBuilder::new();
        b.entry(&txn(
            S,
            1,
            100,
            op::CREATE_SESSION,
            &rec::create_session(30_000),
            Some((2, 1)),
        ));
        b.entry(&txn(
            S,
            2,
            101,
            op::CREATE,
            &rec::create("/a", Some(b"x"), true, Some(1)),
            Some((2, 2)),
        ));
        b.entry(&txn(
            S,
            3,
            102,
            op::CLOSE_SESSION,
            &rec::close_session(Some(&["/a"])),
            Some((2, 3)),
        ));
        b
    }

    #[test]
    fn reads_entries_and_stops_cleanly() {
        let b = sample_log();
        let (txns, end) = read_all(&b.build()).unwrap();
        assert_eq!(txns.len(), 3);
        assert_eq!(txns[1].offset, b.entry_offsets()[1] as u64);
        assert_eq!(
            end,
            LogEnd::Eof {
                offset: b.build().len() as u64
            }
        );

        let mut padded = b.clone();
        padded.raw(&[0; 100]);
        let (txns, end) = read_all(&padded.build()).unwrap();
        assert_eq!(txns.len(), 3);
        assert_eq!(
            end,
            LogEnd::Padding {
                offset: b.build().len() as u64
            }
        );
    }

    #[test]
    fn every_truncation_stops_cleanly_or_errors() {
        let b = sample_log();
        let bytes = b.build();
        for len in 0..bytes.len() {
            match read_all(&bytes[..len]) {
                Ok((txns, end)) => {
                    assert!(len >= 16);
                    let complete = b.entry_offsets().iter().filter(|&&o| o < len).count();
                    let at_boundary = b.entry_offsets().contains(&len);
                    if at_boundary {
                        assert_eq!(end, LogEnd::Eof { offset: len as u64 });
                        assert_eq!(txns.len(), complete);
                    } else {
                        assert_eq!(txns.len(), complete - 1, "len {len}");
                        assert!(
                            end.to_string()
                                .starts_with("stopped at partial tail at offset"),
                            "{end}"
                        );
                    }
                }
                Err(e) => {
                    assert!(len < 16, "len {len}: {e}");
                    assert!(e.to_string().contains("mem/log.1"));
                }
            }
        }
    }

    #[test]
    fn checksum_mismatch_names_file_and_offset() {
        let b = sample_log();
        let mut bytes = b.build();
        let at = b.entry_offsets()[1];
        bytes[at + 12 + 20] ^= 0x40; // inside the txn bytes (the zxid)
        let e = read_all(&bytes).unwrap_err();
        assert!(
            matches!(e, ZkError::TxnChecksumMismatch { offset, .. } if offset == at as u64),
            "{e}"
        );
        assert!(e.to_string().contains("mem/log.1"), "{e}");
    }

    #[test]
    fn missing_marker_is_a_partial_tail() {
        let b = sample_log();
        let mut bytes = b.build();
        let last = bytes.len() - 1;
        bytes[last] = 0;
        let (txns, end) = read_all(&bytes).unwrap();
        assert_eq!(txns.len(), 2);
        assert_eq!(
            end,
            LogEnd::PartialTail {
                offset: b.entry_offsets()[2] as u64,
                reason: "end-of-record marker is not 'B'"
            }
        );
    }

    #[test]
    fn header_checks() {
        let mut bytes = sample_log().build();
        bytes[3] = 0;
        let e = read_all(&bytes).unwrap_err().to_string();
        assert!(
            e.contains("bad magic number") && e.contains("transaction log"),
            "{e}"
        );
        let mut bytes = sample_log().build();
        bytes[7] = 1;
        assert!(
            read_all(&bytes)
                .unwrap_err()
                .to_string()
                .contains("unsupported format version 1")
        );
    }

    #[test]
    fn huge_length_is_an_error_without_allocation() {
        let mut b = TxnLogBuilder::new();
        b.raw(&[0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
        let e = read_all(&b.build()).unwrap_err();
        assert!(
            matches!(
                e,
                ZkError::ReadTxnLog {
                    offset: 24,
                    problem: Problem::BadLength { .. },
                    ..
                }
            ),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn flips_never_panic(pos in 0usize..1000, bit in 0u8..8) {
            let mut bytes = sample_log().build();
            let i = pos % bytes.len();
            bytes[i] ^= 1 << bit;
            let _ = read_all(&bytes);
        }

        #[test]
        fn arbitrary_txn_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = dec(&bytes);
        }
    }
}
