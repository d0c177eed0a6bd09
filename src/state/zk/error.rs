//! Errors of the ZooKeeper file readers.
//!
//! Owns [`ZkError`] (what operation failed, on which file, at which byte), [`Problem`] (what
//! was wrong with the bytes) and [`ChainBreak`] (where a chain of transactions breaks). Every message names the file and the byte offset and says in plain
//! words what is wrong. This module must not decide policy (skip, fall back, retry): the readers
//! and the data-dir loader do that.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What was wrong with the bytes at some offset. Produced by the jute cursor and the framing
/// decoders, wrapped into a [`ZkError`] that adds the file and the offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The data ended before a field was complete.
    #[error("the data ends early: {what} needs {needed} more byte(s)")]
    Truncated {
        /// Which field was being read.
        what: &'static str,
        /// How many bytes were missing.
        needed: u64,
    },
    /// A length prefix is negative or larger than the configured sanity limit.
    #[error(
        "{what} claims a length of {len} bytes, outside the allowed 0..={max} \
         (jute.maxbuffer sanity limit; raise it if the server's jute.maxbuffer was raised)"
    )]
    BadLength {
        /// Which field carried the length.
        what: &'static str,
        /// The length as stored.
        len: i64,
        /// The configured maximum.
        max: u64,
    },
    /// A vector count is negative (other than -1, which means null).
    #[error("{what} has a negative element count {count}")]
    BadCount {
        /// Which vector.
        what: &'static str,
        /// The count as stored.
        count: i32,
    },
    /// A field that must not be null was null (length -1).
    #[error("{what} is null (length -1), which is not allowed here")]
    UnexpectedNull {
        /// Which field.
        what: &'static str,
    },
    /// The file does not start with the expected magic number.
    #[error("bad magic number {found:#010x}: expected {expected:#010x} ({kind})")]
    BadMagic {
        /// The magic number found.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// What kind of file was expected.
        kind: &'static str,
    },
    /// The file header has a format version this reader does not know.
    #[error("unsupported format version {found} (every ZooKeeper release writes version 2)")]
    BadVersion {
        /// The version found.
        found: i32,
    },
    /// The bytes are structurally wrong in some other way (described in the message).
    #[error("{0}")]
    Malformed(String),
    /// A compressed stream could not be decoded.
    #[error("cannot decompress: {0}")]
    Decompress(String),
    /// The operating system reported an error while reading.
    #[error("I/O error: {0}")]
    Io(String),
}

impl Problem {
    /// Builds a [`Problem::Io`] (or [`Problem::Decompress`] for data errors raised by a
    /// decompressor) from an `io::Error`.
    #[must_use]
    pub fn from_io(err: &io::Error, compressed: bool) -> Self {
        if compressed
            && matches!(
                err.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::Other
            )
        {
            Problem::Decompress(err.to_string())
        } else {
            Problem::Io(err.to_string())
        }
    }

    /// True for [`Problem::Truncated`].
    #[must_use]
    pub fn is_truncated(&self) -> bool {
        matches!(self, Problem::Truncated { .. })
    }
}

/// A snapshot file that the data-dir loader tried and rejected, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The rejected file.
    pub path: PathBuf,
    /// Why it was rejected (the error message).
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

struct RejectedList<'a>(&'a [Rejected]);

impl fmt::Display for RejectedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("there are no snapshot.<zxid>[.gz|.snappy] files");
        }
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn uncompressed(compressed: bool) -> &'static str {
    if compressed { "uncompressed " } else { "" }
}

/// An error of the ZooKeeper file readers. Each variant names the operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    /// A file or directory could not be opened or inspected.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A directory could not be listed.
    #[error("cannot list directory {}", dir.display())]
    ListDir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A snapshot could not be decoded.
    #[error(
        "cannot read snapshot {}: {problem} (at {}byte {offset})",
        path.display(), uncompressed(*compressed)
    )]
    ReadSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// Byte offset in the (uncompressed) snapshot stream.
        offset: u64,
        /// True when `offset` counts bytes of the decompressed stream.
        compressed: bool,
        /// What was wrong.
        problem: Problem,
    },
    /// A snapshot seal (Adler32) does not match the bytes it covers.
    #[error(
        "snapshot {} is corrupt: seal #{seal} at {}byte {offset} stores Adler32 {expected:#010x}, \
         but the bytes before it sum to {actual:#010x}",
        path.display(), uncompressed(*compressed)
    )]
    ChecksumMismatch {
        /// The snapshot file.
        path: PathBuf,
        /// Which seal (1 = after the tree, 2 = after the digest, 3 = after `lastProcessedZxid`).
        seal: u8,
        /// Byte offset of the seal's stored value in the (uncompressed) stream.
        offset: u64,
        /// True when `offset` counts bytes of the decompressed stream.
        compressed: bool,
        /// The value stored in the file.
        expected: u64,
        /// The value computed over the bytes.
        actual: u64,
    },
    /// A transaction log could not be decoded.
    #[error("cannot read transaction log {}: {problem} (at byte {offset})", path.display())]
    ReadTxnLog {
        /// The log file.
        path: PathBuf,
        /// Byte offset in the file.
        offset: u64,
        /// What was wrong.
        problem: Problem,
    },
    /// A transaction's Adler32 does not match its bytes (corruption inside the log).
    #[error(
        "transaction log {} is corrupt: the txn entry at byte {offset} stores Adler32 \
         {expected:#010x}, but its bytes sum to {actual:#010x}",
        path.display()
    )]
    TxnChecksumMismatch {
        /// The log file.
        path: PathBuf,
        /// Byte offset of the entry (its stored checksum) in the file.
        offset: u64,
        /// The value stored in the file.
        expected: u64,
        /// The value computed over the txn bytes.
        actual: u64,
    },
    /// The path is neither a snapshot file nor a ZooKeeper data directory.
    #[error(
        "{} is neither a snapshot file (snapshot.<hex zxid>[.gz|.snappy]) nor a ZooKeeper data \
         directory (one containing version-2/, or version-2/ itself)",
        path.display()
    )]
    NotADataDir {
        /// The path given.
        path: PathBuf,
    },
    /// The transaction logs after the chosen snapshot miss a range of zxids (a log file lost or
    /// not copied, or txns cut out of one), and no older valid snapshot gives a complete chain.
    /// Replaying past the gap would miss registrations created inside it.
    #[error(
        "the transaction logs after snapshot {} have a gap: {gap} (a log file lost or not \
         copied, or txns cut out of one); replaying past it would miss the engines that \
         registered inside it{}",
        snapshot.display(),
        if *older_tried > 0 {
            format!(", and the {older_tried} older valid snapshot(s) do not give a complete chain either")
        } else {
            String::new()
        }
    )]
    LogGap {
        /// The snapshot replay started from (the newest valid one).
        snapshot: PathBuf,
        /// Where the chain breaks (boxed: keeps the error small).
        gap: Box<ChainBreak>,
        /// How many older valid snapshots were also tried.
        older_tried: usize,
    },
    /// A txn's zxid does not increase: it is at or below one already applied (and above the
    /// snapshot's). ZooKeeper only logs such txns as an error and applies them anyway; the
    /// result is not one linear history, so it is not trusted.
    #[error(
        "transaction log {} is out of order: the txn at byte {offset} has zxid {zxid:#x}, not \
         after {prev:#x} already applied (from {})",
        path.display(), prev_path.display()
    )]
    ZxidOutOfOrder {
        /// The log holding the txn.
        path: PathBuf,
        /// Byte offset of the txn.
        offset: u64,
        /// Its zxid.
        zxid: i64,
        /// The highest zxid applied before it.
        prev: i64,
        /// The file that txn came from (boxed: keeps the error small).
        prev_path: Box<PathBuf>,
    },
    /// A path that must be a regular file (or a directory) is a FIFO, socket or device: opening
    /// it could block forever or read something that is not ZooKeeper's.
    #[error("{} is a {kind}, not a regular file", path.display())]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`FIFO`, `socket`, ...).
        kind: &'static str,
    },
    /// No snapshot in the directory passed full validation.
    #[error("no valid snapshot in {}: {}", dir.display(), RejectedList(rejected))]
    NoValidSnapshot {
        /// The directory searched.
        dir: PathBuf,
        /// Every snapshot tried, with the reason it was rejected.
        rejected: Vec<Rejected>,
    },
}

/// Where a chain of transactions breaks: the txn before the break and the one after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The file holding the last txn applied before the break (the snapshot itself when the
    /// break is before the first replayed txn).
    pub before: PathBuf,
    /// Zxid of the last txn applied before the break (the snapshot zxid when none was).
    pub before_zxid: i64,
    /// The file holding the txn that does not continue the chain.
    pub after: PathBuf,
    /// Byte offset of that txn in `after`.
    pub offset: u64,
    /// Zxid of that txn.
    pub after_zxid: i64,
}

impl ChainBreak {
    /// The zxids known to be missing, as `0x..=0x..`: within one epoch every zxid between the
    /// two txns; at an epoch change the first counters of the new epoch (the end of the old
    /// one may be missing too, which cannot be known).
    #[must_use]
    pub fn missing(&self) -> String {
        let (before, after) = (self.before_zxid, self.after_zxid);
        let first = if before >> 32 == after >> 32 {
            before + 1
        } else {
            (after >> 32 << 32) | 1
        };
        format!("{first:#x}..={:#x}", after - 1)
    }
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "txns {} are missing", self.missing())?;
        if self.before_zxid >> 32 != self.after_zxid >> 32 {
            write!(
                f,
                " (the first of epoch {:#x}; the last ones of epoch {:#x} after {:#x} may be \
                 missing too)",
                self.after_zxid >> 32,
                self.before_zxid >> 32,
                self.before_zxid
            )?;
        }
        write!(
            f,
            " between {} (last txn {:#x}) and {} (next txn {:#x} at byte {})",
            self.before.display(),
            self.before_zxid,
            self.after.display(),
            self.after_zxid,
            self.offset
        )
    }
}

impl ZkError {
    /// The file (or directory) the error is about.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        match self {
            ZkError::Open { path, .. }
            | ZkError::ReadSnapshot { path, .. }
            | ZkError::ChecksumMismatch { path, .. }
            | ZkError::ReadTxnLog { path, .. }
            | ZkError::TxnChecksumMismatch { path, .. }
            | ZkError::ZxidOutOfOrder { path, .. }
            | ZkError::NotARegularFile { path, .. }
            | ZkError::NotADataDir { path } => path,
            ZkError::LogGap { gap, .. } => &gap.after,
            ZkError::ListDir { dir, .. } | ZkError::NoValidSnapshot { dir, .. } => dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_file_offset_and_problem() {
        let e = ZkError::ReadSnapshot {
            path: PathBuf::from("/d/version-2/snapshot.1a.gz"),
            offset: 42,
            compressed: true,
            problem: Problem::Truncated {
                what: "node path",
                needed: 3,
            },
        };
        assert_eq!(
            e.to_string(),
            "cannot read snapshot /d/version-2/snapshot.1a.gz: the data ends early: node path \
             needs 3 more byte(s) (at uncompressed byte 42)"
        );
        let e = ZkError::ChecksumMismatch {
            path: PathBuf::from("snapshot.2"),
            seal: 2,
            offset: 100,
            compressed: false,
            expected: 0xdead_beef,
            actual: 1,
        };
        assert_eq!(
            e.to_string(),
            "snapshot snapshot.2 is corrupt: seal #2 at byte 100 stores Adler32 0xdeadbeef, but \
             the bytes before it sum to 0x00000001"
        );
        let e = ZkError::NoValidSnapshot {
            dir: PathBuf::from("/d"),
            rejected: vec![
                Rejected {
                    path: "/d/snapshot.2".into(),
                    reason: "bad".into(),
                },
                Rejected {
                    path: "/d/snapshot.1".into(),
                    reason: "worse".into(),
                },
            ],
        };
        assert_eq!(
            e.to_string(),
            "no valid snapshot in /d: /d/snapshot.2: bad; /d/snapshot.1: worse"
        );
        assert_eq!(e.path(), std::path::Path::new("/d"));
    }

    #[test]
    fn io_errors_of_decompressors_are_decompress_problems() {
        let err = io::Error::new(io::ErrorKind::InvalidData, "corrupt deflate stream");
        assert_eq!(
            Problem::from_io(&err, true),
            Problem::Decompress("corrupt deflate stream".into())
        );
        assert_eq!(
            Problem::from_io(&err, false),
            Problem::Io("corrupt deflate stream".into())
        );
    }
}
