//! Reads Kyuubi metadata store files (SQLite `kyuubi_state_store.db`), strictly read-only.
//!
//! Owns: everything about the SQLite file: checking it is whole before any row is used (the
//! header, the file's size against its page size and page count, a write-ahead log's frames,
//! SQLite's own `quick_check`), opening it read-only (`mode=ro` URI, `query_only`, no
//! `immutable`, because Kyuubi may be writing it at the same moment), waiting for Kyuubi's write
//! locks (busy timeout plus retries), introspecting the columns so stores written by Kyuubi
//! 1.6/1.7 (no `priority`), 1.8–1.10 and 1.11+ (`k8s_engine_info`) all load, and handing each
//! row's values to [`super::rows`], which turns them into [`BatchRecord`]s and
//! [`EngineInfoRecord`]s as it does for every database. This is the only module that uses
//! rusqlite.
//! Must not: write, create or lock for writing the file or anything beside it (no `-shm`, no
//! `-wal`, no `-journal`), skip a damaged row, or judge what it reads.
//!
//! A store is read in two steps. [`Store::open`] checks the file and fixes its as-of time;
//! [`Store::load`] later reads the rows in one read transaction, so the `metadata` and
//! `k8s_engine_info` rows are a consistent snapshot, keeping only rows for the tags the caller
//! wants (the candidate pods), so memory follows the pods, not the store's history.
//!
//! # Damage is refused, never skipped
//!
//! A store copied while Kyuubi writes it, or cut short by a full disk, can end mid-page; SQLite
//! would read the missing part as rows of NULLs, and the newest rows (the live ones) are the ones
//! lost. So before any row is read, [`Store::open`] parses the 100-byte header itself (page
//! size, in-header page count) and refuses a file that is shorter than one page, not a whole
//! number of pages, or shorter than its header says; then runs `PRAGMA quick_check` inside the
//! same read transaction and refuses any answer other than `ok`. While rows are read, a row
//! without identifier (either table) or state (`metadata`) refuses the whole load. The size
//! checks run while the read transaction holds SQLite's shared lock, so a commit Kyuubi is
//! writing at that moment (page 1 is written before the pages that extend the file) cannot look
//! like a truncation.
//!
//! # Rollback-journal and WAL stores
//!
//! A store in rollback-journal mode (Kyuubi's default) is read in place with `mode=ro` and
//! `query_only`: SQLite then needs no file beside it. A hot journal (`<store>-journal` left by an
//! interrupted write, which only a read-write connection may roll back) is reported as such.
//!
//! A store in WAL mode (header bytes 18/19 are 2, or a `<store>-wal` file exists) cannot be
//! opened in place without SQLite creating or modifying `<store>-shm` beside it (and failing in
//! a read-only directory). So it is copied, with its `-wal` and without its `-shm`, into a
//! private temporary directory, and the copy is opened there (SQLite rebuilds the WAL index from
//! the log). The size, modification time and WAL header (salts and checkpoint sequence) of both
//! files are taken before and after the copy, and the copy is retried a few times until they
//! did not change: a checkpoint followed by a WAL restart between the two copies could otherwise
//! lose transactions. The copy then reflects the main file plus every transaction committed in
//! the WAL at copy time. A WAL whose size is not `32 + k × (24 + page size)` (cut mid-frame) or
//! whose header is not a WAL header is refused. The temporary directory lives as long as the
//! [`Store`] and costs one copy of the store on the temporary file system.
//!
//! As-of time: the file's modification time (or its WAL's, whichever is later), taken *before*
//! the rows are read (and before a WAL store is copied). Kyuubi inserts a batch's row before it
//! creates the driver pod, so a pod created after that time may belong to a row this read cannot
//! see.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::rows::{
    Cell, ENGINE_INFO_COLUMNS, METADATA_COLUMNS, batch_record, engine_info_record, is_blank,
    layout, text,
};
use super::{BatchRecord, EngineInfoRecord, EngineState, SourceId, SourceKind, SourceSummary};

/// How long one statement waits for a lock Kyuubi holds before SQLite reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a whole read is retried after SQLite still reports busy.
const BUSY_RETRIES: u32 = 3;
/// How many times a WAL store is copied before giving up because it kept changing.
const COPY_ATTEMPTS: u32 = 5;
/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// The length of the database header at the start of page 1.
const HEADER_LEN: usize = 100;
/// The length of a WAL file's header, and of each frame's header.
const WAL_HEADER_LEN: u64 = 32;
const WAL_FRAME_HEADER_LEN: u64 = 24;
/// The first 8 bytes of a rollback journal's header (SQLite's `aJournalMagic`).
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];
/// SQLite's `SQLITE_READONLY_ROLLBACK`: a read-only connection found a hot journal.
const SQLITE_READONLY_ROLLBACK: i32 = 776;
/// How many problems `quick_check` may report (it stops there), and how many the error shows.
const QUICK_CHECK_LIMIT: usize = 10;
const QUICK_CHECK_SHOWN: usize = 3;

/// Why a store file could not be loaded. The file's path is added by the caller's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The path does not exist.
    #[error("no such file")]
    NotFound,
    /// The path is a directory or something else that is not a file.
    #[error("not a regular file")]
    NotAFile,
    /// A file SQLite would open beside the store (`-wal`, `-journal`, `-shm`) is not a regular
    /// file: opening a FIFO there would block the run forever.
    #[error("{} beside the store is not a regular file; remove it or copy the store alone", .0.display())]
    SiblingNotAFile(PathBuf),
    /// The file exists but cannot be read.
    #[error("cannot read the file")]
    Unreadable(#[source] std::io::Error),
    /// The file is empty: SQLite would take it for a new, empty database.
    #[error(
        "the file is empty (0 bytes), so it has no `metadata` table: not a Kyuubi metadata store, \
         or one cut short"
    )]
    Empty,
    /// The file does not start with the SQLite header.
    #[error("not an SQLite database (the file does not start with the SQLite header)")]
    NotSqlite,
    /// The file is shorter than the 100-byte database header.
    #[error("truncated: {size} bytes, shorter than the {HEADER_LEN}-byte SQLite header")]
    ShorterThanHeader {
        /// The file's size.
        size: u64,
    },
    /// The header's page size is not one SQLite can write.
    #[error(
        "bad page size {0} in the SQLite header (a page size is a power of two from 512 to \
         65536): the header is damaged"
    )]
    BadPageSize(u32),
    /// The file is shorter than its first page.
    #[error("truncated: {size} bytes, less than one page of {page_size} bytes")]
    ShorterThanPage {
        /// The file's size.
        size: u64,
        /// The header's page size.
        page_size: u32,
    },
    /// The file's size is not a whole number of pages.
    #[error(
        "truncated mid-page: {size} bytes is not a whole number of {page_size}-byte pages (cut \
         short while being copied or written)"
    )]
    TruncatedMidPage {
        /// The file's size.
        size: u64,
        /// The header's page size.
        page_size: u32,
    },
    /// The file has fewer pages than its header says.
    #[error("truncated: header says {header_pages} pages, file has {file_pages}")]
    TruncatedPages {
        /// The in-header database size, in pages.
        header_pages: u32,
        /// The whole pages in the file.
        file_pages: u64,
    },
    /// The write-ahead log does not start with a WAL header.
    #[error("the write-ahead log {wal} is damaged: it does not start with a WAL header")]
    BadWal {
        /// The `-wal` file.
        wal: PathBuf,
    },
    /// The write-ahead log is not a whole number of frames.
    #[error(
        "the write-ahead log {wal} is truncated mid-frame: {size} bytes is not 32 + k × (24 + \
         {page_size}) (cut short while being copied or written)"
    )]
    TruncatedWal {
        /// The `-wal` file.
        wal: PathBuf,
        /// Its size.
        size: u64,
        /// The WAL header's page size.
        page_size: u32,
    },
    /// A WAL store and its log kept changing while they were copied.
    #[error(
        "the store and its write-ahead log kept changing while being copied ({attempts} \
         attempts); retry"
    )]
    Unstable {
        /// How many copies were tried.
        attempts: u32,
    },
    /// A WAL store could not be copied to a private directory.
    #[error("cannot copy the WAL-mode store to a private temporary directory")]
    Copy(#[source] std::io::Error),
    /// An interrupted write left a hot rollback journal.
    #[error(
        "the store has a hot rollback journal (its `-journal` file): a write by Kyuubi was \
         interrupted, so its last transaction is incomplete and only a read-write open can roll \
         it back. Let Kyuubi (on restart) or `sqlite3` (as the file's owner, e.g. `sqlite3 STORE \
         'PRAGMA quick_check'`) open it read-write, or copy the store again with its journal \
         once Kyuubi is done writing, then retry"
    )]
    HotJournal,
    /// The file has no `metadata` table, so it is not a Kyuubi metadata store.
    #[error(
        "no `metadata` table: this is not a Kyuubi metadata store (an empty or unrelated database)"
    )]
    NoMetadataTable,
    /// A table lacks a column the reader cannot do without.
    #[error("the `{table}` table has no `{column}` column; this is not a Kyuubi metadata store")]
    MissingColumn {
        /// The table.
        table: &'static str,
        /// The missing column.
        column: &'static str,
    },
    /// SQLite found the file damaged.
    #[error("the database is corrupt: {0}")]
    Corrupt(String),
    /// SQLite's `quick_check` found damage.
    #[error("the database is corrupt: SQLite's quick_check reports: {}", show_problems(.0))]
    FailedCheck(Vec<String>),
    /// A row lacks a value every Kyuubi row has: the store is damaged.
    #[error(
        "damaged store: `{table}` row {row} has no {missing} (NULL or empty); a store with such \
         rows cannot tell which engines are alive"
    )]
    DamagedRow {
        /// The table.
        table: &'static str,
        /// The row's position in the table (1-based, in storage order).
        row: usize,
        /// The missing column.
        missing: &'static str,
    },
    /// Kyuubi (or another writer) kept the file locked for longer than we wait.
    #[error("the database stayed locked by another process after {retries} retries: {message}")]
    Busy {
        /// How many times the read was retried.
        retries: u32,
        /// SQLite's message.
        message: String,
    },
    /// Any other SQLite failure.
    #[error("SQLite failed: {0}")]
    Sqlite(String),
}

fn show_problems(problems: &[String]) -> String {
    let mut shown = problems[..problems.len().min(QUICK_CHECK_SHOWN)].join("; ");
    if problems.len() > QUICK_CHECK_SHOWN {
        let _ = write!(shown, "; and more");
    }
    shown
}

impl StoreError {
    fn from_sqlite(error: &rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(e, _) = error
            && e.extended_code == SQLITE_READONLY_ROLLBACK
        {
            return StoreError::HotJournal;
        }
        match error.sqlite_error_code() {
            // The magic was checked before SQLite opened the file: what SQLite cannot read
            // past it is damage.
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt(error.to_string())
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
                retries: 0,
                message: error.to_string(),
            },
            _ => StoreError::Sqlite(error.to_string()),
        }
    }

    fn is_busy(&self) -> bool {
        matches!(self, StoreError::Busy { .. })
    }
}

/// For `.map_err(sqlite)`, which hands the error over by value.
#[allow(clippy::needless_pass_by_value)]
fn sqlite(e: rusqlite::Error) -> StoreError {
    StoreError::from_sqlite(&e)
}

/// What the database header says, as far as this reader needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    /// Bytes per page.
    page_size: u32,
    /// The database size in pages, when the header's copy of it is valid.
    page_count: Option<u32>,
    /// Whether the file is in WAL mode (read/write versions 2).
    wal: bool,
}

/// Parses the first bytes of a database file (up to [`HEADER_LEN`]) of `size` bytes.
fn parse_header(bytes: &[u8], size: u64) -> Result<Header, StoreError> {
    if size == 0 {
        return Err(StoreError::Empty);
    }
    let magic_len = bytes.len().min(SQLITE_MAGIC.len());
    if bytes[..magic_len] != SQLITE_MAGIC[..magic_len] {
        return Err(StoreError::NotSqlite);
    }
    if bytes.len() < HEADER_LEN {
        return Err(StoreError::ShorterThanHeader { size });
    }
    let be32 =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let raw = u16::from_be_bytes([bytes[16], bytes[17]]);
    let page_size = if raw == 1 { 65_536 } else { u32::from(raw) };
    if !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
        return Err(StoreError::BadPageSize(page_size));
    }
    // The in-header size is valid only when written by SQLite 3.7.0 or later, which also writes
    // the version-valid-for number (offset 92) equal to the change counter (offset 24).
    let count = be32(28);
    let page_count = (count != 0 && be32(24) == be32(92)).then_some(count);
    Ok(Header {
        page_size,
        page_count,
        wal: bytes[18] == 2 || bytes[19] == 2,
    })
}

/// Checks a file of `size` bytes against its header's page size and page count.
fn check_size(header: &Header, size: u64) -> Result<(), StoreError> {
    let page_size = u64::from(header.page_size);
    if size < page_size {
        return Err(StoreError::ShorterThanPage {
            size,
            page_size: header.page_size,
        });
    }
    if !size.is_multiple_of(page_size) {
        return Err(StoreError::TruncatedMidPage {
            size,
            page_size: header.page_size,
        });
    }
    let file_pages = size / page_size;
    if let Some(header_pages) = header.page_count
        && file_pages < u64::from(header_pages)
    {
        return Err(StoreError::TruncatedPages {
            header_pages,
            file_pages,
        });
    }
    Ok(())
}

/// Checks a write-ahead log of `size` bytes starting with `bytes` (up to its 32-byte header).
fn check_wal(wal: &Path, bytes: &[u8], size: u64) -> Result<(), StoreError> {
    if size == 0 {
        // No frames: checkpointed and truncated, or never written.
        return Ok(());
    }
    let magic_ok = bytes.len() >= 12 && matches!(bytes[..4], [0x37, 0x7f, 0x06, 0x82 | 0x83]);
    let page_size = if magic_ok {
        u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]])
    } else {
        0
    };
    if !magic_ok || !page_size.is_power_of_two() || !(512..=65_536).contains(&page_size) {
        return Err(if size < WAL_HEADER_LEN {
            StoreError::TruncatedWal {
                wal: wal.to_path_buf(),
                size,
                page_size,
            }
        } else {
            StoreError::BadWal {
                wal: wal.to_path_buf(),
            }
        });
    }
    if size < WAL_HEADER_LEN
        || !(size - WAL_HEADER_LEN).is_multiple_of(WAL_FRAME_HEADER_LEN + u64::from(page_size))
    {
        return Err(StoreError::TruncatedWal {
            wal: wal.to_path_buf(),
            size,
            page_size,
        });
    }
    Ok(())
}

/// `path` with `suffix` appended (`<store>-wal`, `<store>-journal`).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A store file that passed its checks and is ready to be read.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    /// The file SQLite opens: `path` itself, or the private copy of a WAL store.
    read_path: PathBuf,
    /// The `-wal` file that was copied with a WAL store.
    wal: Option<PathBuf>,
    /// The private directory holding the copy of a WAL store, removed with the last clone.
    _copy: Option<Arc<tempfile::TempDir>>,
    as_of: Timestamp,
    metadata_columns: BTreeSet<String>,
    engine_info_columns: Option<BTreeSet<String>>,
}

impl Store {
    /// Checks that `path` is a whole, readable Kyuubi metadata store and fixes its as-of time.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // The files beside the store (`-wal`, `-journal`, `-shm`) are those beside the file a
        // symlink points to, as SQLite finds them: every file operation uses the resolved path.
        let real = fs::canonicalize(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound,
            _ => StoreError::Unreadable(e),
        })?;
        let as_of = modification_time(&real)?;
        let header = precheck(&real)?;
        let wal = beside(&real, "-wal");
        let wal_exists = fs::symlink_metadata(&wal).is_ok();
        let (read_path, copy, wal) = if header.wal || wal_exists {
            let started = Instant::now();
            let (dir, copy, copied_wal) = copy_wal_store(&real, &wal)?;
            tracing::debug!(
                "store {}: WAL mode, copied to {} in {:.3} s",
                path.display(),
                dir.path().display(),
                started.elapsed().as_secs_f64()
            );
            precheck(&copy)?;
            check_wal_file(&wal, &beside(&copy, "-wal"))?;
            (copy, Some(Arc::new(dir)), copied_wal.then_some(wal))
        } else {
            (real, None, None)
        };
        let started = Instant::now();
        let (check_time, metadata_columns, engine_info_columns) = with_retries(|| {
            let conn = connect(&read_path)?;
            read_transaction(&conn, &read_path, |conn| {
                let started = Instant::now();
                quick_check(conn)?;
                let check_time = started.elapsed();
                let metadata = table_columns(conn, "metadata")?;
                let engine_info = table_columns(conn, "k8s_engine_info")?;
                Ok((check_time, metadata, engine_info))
            })
        })?;
        tracing::debug!(
            "store {}: quick_check ok in {:.3} s; opened in {:.3} s",
            path.display(),
            check_time.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        let metadata_columns = metadata_columns.ok_or(StoreError::NoMetadataTable)?;
        for column in ["identifier", "state"] {
            if !metadata_columns.contains(column) {
                return Err(StoreError::MissingColumn {
                    table: "metadata",
                    column,
                });
            }
        }
        if let Some(columns) = &engine_info_columns
            && !columns.contains("identifier")
        {
            return Err(StoreError::MissingColumn {
                table: "k8s_engine_info",
                column: "identifier",
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            read_path,
            wal,
            _copy: copy,
            as_of,
            metadata_columns,
            engine_info_columns,
        })
    }

    /// The file's path, as given.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which Kyuubi versions wrote a store with this table layout.
    #[must_use]
    pub fn layout(&self) -> String {
        layout(&self.metadata_columns, self.engine_info_columns.is_some())
    }

    /// Reads the rows whose identifier `wanted` accepts into `state`, in one read transaction,
    /// and returns the new source's id. A row without identifier or state refuses the load;
    /// a column that cannot be read is ignored with a warning in the source summary; every row
    /// is counted.
    pub fn load(
        &self,
        state: &mut EngineState,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<SourceId, StoreError> {
        let started = Instant::now();
        let rows = with_retries(|| self.read_rows(wanted))?;
        tracing::debug!(
            "store {}: read {} metadata and {} k8s_engine_info rows in {:.3} s",
            self.path.display(),
            rows.batches_seen,
            rows.engine_infos_seen,
            started.elapsed().as_secs_f64()
        );
        let mut files = vec![self.path.display().to_string()];
        files.extend(self.wal.iter().map(|w| w.display().to_string()));
        let id = state.add_source(SourceSummary {
            kind: SourceKind::Store,
            location: self.path.display().to_string(),
            as_of: self.as_of,
            as_of_from: if self.wal.is_some() {
                "file and write-ahead log modification time"
            } else {
                "file modification time"
            },
            layout: self.layout(),
            files,
            batches: rows.batches_seen,
            engine_infos: rows.engine_infos_seen,
            warnings: rows.warnings,
            ..SourceSummary::default()
        });
        for (tag, mut record) in rows.batches {
            record.source = id;
            state.add_batch(tag, record);
        }
        for (tag, mut record) in rows.engine_infos {
            record.source = id;
            state.add_engine_info(tag, record);
        }
        Ok(id)
    }

    fn read_rows(&self, wanted: &dyn Fn(&str) -> bool) -> Result<Rows, StoreError> {
        let conn = connect(&self.read_path)?;
        read_transaction(&conn, &self.read_path, |conn| {
            let mut rows = Rows::default();
            let sql = select_sql("metadata", &METADATA_COLUMNS, &self.metadata_columns);
            let mut stmt = conn.prepare(&sql).map_err(sqlite)?;
            let mut cursor = stmt.query([]).map_err(sqlite)?;
            while let Some(row) = cursor.next().map_err(sqlite)? {
                rows.batches_seen += 1;
                let damaged = |missing| StoreError::DamagedRow {
                    table: "metadata",
                    row: rows.batches_seen,
                    missing,
                };
                let Some(tag) = text(cell(row.get_ref(0).map_err(sqlite)?)) else {
                    return Err(damaged("identifier"));
                };
                if is_blank(cell(row.get_ref(1).map_err(sqlite)?)) {
                    return Err(damaged("state"));
                }
                if !wanted(&tag) {
                    continue;
                }
                let cells = cells::<{ METADATA_COLUMNS.len() }>(row).map_err(sqlite)?;
                let record = batch_record(&cells, &mut rows.warnings, &tag);
                rows.batches.push((tag, record));
            }
            drop(cursor);
            drop(stmt);
            if let Some(columns) = &self.engine_info_columns {
                let sql = select_sql("k8s_engine_info", &ENGINE_INFO_COLUMNS, columns);
                let mut stmt = conn.prepare(&sql).map_err(sqlite)?;
                let mut cursor = stmt.query([]).map_err(sqlite)?;
                while let Some(row) = cursor.next().map_err(sqlite)? {
                    rows.engine_infos_seen += 1;
                    let Some(tag) = text(cell(row.get_ref(0).map_err(sqlite)?)) else {
                        return Err(StoreError::DamagedRow {
                            table: "k8s_engine_info",
                            row: rows.engine_infos_seen,
                            missing: "identifier",
                        });
                    };
                    if !wanted(&tag) {
                        continue;
                    }
                    let cells = cells::<{ ENGINE_INFO_COLUMNS.len() }>(row).map_err(sqlite)?;
                    let record = engine_info_record(&cells, &mut rows.warnings, &tag);
                    rows.engine_infos.push((tag, record));
                }
            }
            Ok(rows)
        })
    }
}

/// Runs `read` in one deferred read transaction on `conn`, after checking `file`'s size against
/// its header while the transaction holds SQLite's shared lock. Under that lock no writer is
/// between the page-1 write and the file extension of a commit, so a size that does not match
/// is a truncation, not a commit in progress. A read-only connection takes nothing stronger
/// than a SHARED lock.
fn read_transaction<T>(
    conn: &Connection,
    file: &Path,
    read: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch("BEGIN DEFERRED").map_err(sqlite)?;
    // The first read takes the shared lock, and meets a writer's lock or a hot journal.
    let locked = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| {
            // SQLite names a hot journal by its extended code; should a build report only the
            // primary "read-only" code, the journal's header says the same.
            if e.sqlite_error_code() == Some(ErrorCode::ReadOnly)
                && has_journal_header(&beside(file, "-journal"))
            {
                StoreError::HotJournal
            } else {
                sqlite(e)
            }
        });
    if let Err(e @ (StoreError::Busy { .. } | StoreError::HotJournal)) = locked {
        return Err(e);
    }
    // A truncated file often makes SQLite fail too; the size says more precisely why.
    check_file(file)?;
    locked?;
    let value = read(conn)?;
    conn.execute_batch("COMMIT").map_err(sqlite)?;
    Ok(value)
}

/// Runs SQLite's own structural check of every table and index (`quick_check`: page and cell
/// structure, row and column counts, without matching index entries to rows). The benchmark of
/// its cost is in `BENCHMARKS.md`.
fn quick_check(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA quick_check({QUICK_CHECK_LIMIT})"))
        .map_err(sqlite)?;
    let problems = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(sqlite)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite)?;
    if problems.len() == 1 && problems[0] == "ok" {
        Ok(())
    } else {
        Err(StoreError::FailedCheck(problems))
    }
}

/// What one read of a store produced.
#[derive(Default)]
struct Rows {
    batches: Vec<(String, BatchRecord)>,
    engine_infos: Vec<(String, EngineInfoRecord)>,
    /// `metadata` rows seen, kept or not.
    batches_seen: usize,
    /// `k8s_engine_info` rows seen, kept or not.
    engine_infos_seen: usize,
    warnings: Vec<String>,
}

/// Runs `read`, retrying when the database stayed locked through the busy timeout. Kyuubi holds
/// its write locks only for the length of one statement, so a retry after a pause succeeds.
fn with_retries<T>(mut read: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut attempt = 0;
    loop {
        match read() {
            Err(e) if e.is_busy() && attempt < BUSY_RETRIES => {
                attempt += 1;
                tracing::debug!("store locked ({e}); retry {attempt} of {BUSY_RETRIES}");
                thread::sleep(Duration::from_millis(200) * attempt);
            }
            Err(StoreError::Busy { message, .. }) => {
                return Err(StoreError::Busy {
                    retries: attempt,
                    message,
                });
            }
            other => return other,
        }
    }
}

/// The later of the file's and its WAL's modification times, after checking that the store and
/// the files SQLite may open beside it are regular files (never opened when they are not).
fn modification_time(path: &Path) -> Result<Timestamp, StoreError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Unreadable(e),
    })?;
    if !meta.is_file() {
        return Err(StoreError::NotAFile);
    }
    for suffix in ["-wal", "-journal", "-shm"] {
        let sibling = beside(path, suffix);
        if fs::metadata(&sibling).is_ok_and(|m| !m.is_file()) {
            return Err(StoreError::SiblingNotAFile(sibling));
        }
    }
    let mut modified = meta.modified().map_err(StoreError::Unreadable)?;
    if let Ok(wal_modified) = fs::metadata(beside(path, "-wal")).and_then(|m| m.modified()) {
        modified = modified.max(wal_modified);
    }
    system_time_to_timestamp(modified).map_err(StoreError::Unreadable)
}

fn system_time_to_timestamp(time: SystemTime) -> Result<Timestamp, std::io::Error> {
    Timestamp::try_from(time).map_err(std::io::Error::other)
}

/// The first bytes of a file (up to the database header) and its size.
fn read_start(path: &Path) -> Result<(Vec<u8>, u64), StoreError> {
    let mut file = fs::File::open(path).map_err(StoreError::Unreadable)?;
    let size = file.metadata().map_err(StoreError::Unreadable)?.len();
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    file.by_ref()
        .take(HEADER_LEN as u64)
        .read_to_end(&mut bytes)
        .map_err(StoreError::Unreadable)?;
    Ok((bytes, size))
}

/// Reads the header ourselves before SQLite sees the file: a clear "not SQLite", "truncated"
/// or "bad page size" before SQLite gets a chance to say something vaguer. The checks that a
/// commit in progress could fail for a moment run later, under SQLite's lock.
fn precheck(path: &Path) -> Result<Header, StoreError> {
    let (bytes, size) = read_start(path)?;
    let header = parse_header(&bytes, size)?;
    if size < u64::from(header.page_size) {
        return Err(StoreError::ShorterThanPage {
            size,
            page_size: header.page_size,
        });
    }
    Ok(header)
}

/// Reads the header of the file at `path` and checks the file's size against it.
fn check_file(path: &Path) -> Result<Header, StoreError> {
    let (bytes, size) = read_start(path)?;
    let header = parse_header(&bytes, size)?;
    check_size(&header, size)?;
    Ok(header)
}

/// Whether `journal` exists and starts with a rollback journal's header. `journal_mode=PERSIST`
/// zeroes the header to end a transaction, and `TRUNCATE` empties the file: neither is hot.
fn has_journal_header(journal: &Path) -> bool {
    let mut magic = [0u8; 8];
    fs::File::open(journal)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| magic == JOURNAL_MAGIC)
}

/// Checks the copied write-ahead log `copy`; errors name the `original`.
fn check_wal_file(original: &Path, copy: &Path) -> Result<(), StoreError> {
    match read_start(copy) {
        Ok((bytes, size)) => check_wal(original, &bytes, size),
        Err(StoreError::Unreadable(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// What identifies one version of a file for the copy's before/after comparison: size,
/// modification time and first bytes (a database header's change counter, a WAL header's
/// checkpoint sequence and salts, which a WAL restart changes even within one clock tick).
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: SystemTime,
    start: Vec<u8>,
}

/// The file's [`Stamp`], or `None` when it does not exist.
fn stamp(path: &Path) -> Result<Option<Stamp>, StoreError> {
    let modified = match fs::metadata(path) {
        Ok(meta) => meta.modified().map_err(StoreError::Unreadable)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Unreadable(e)),
    };
    match read_start(path) {
        Ok((start, len)) => Ok(Some(Stamp {
            len,
            modified,
            start,
        })),
        Err(StoreError::Unreadable(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copies a WAL store and its `-wal` (never its `-shm`) into a new private directory, until a
/// copy is taken during which neither file changed. Returns the directory, the copied store's
/// path and whether a `-wal` was copied.
fn copy_wal_store(
    path: &Path,
    wal: &Path,
) -> Result<(tempfile::TempDir, PathBuf, bool), StoreError> {
    let dir = tempfile::Builder::new()
        .prefix("kyuubi-reaper-store-")
        .tempdir()
        .map_err(StoreError::Copy)?;
    let copy = dir.path().join("store.db");
    let copy_wal = beside(&copy, "-wal");
    for attempt in 1..=COPY_ATTEMPTS {
        let before = (stamp(path)?, stamp(wal)?);
        let Some(store_stamp) = &before.0 else {
            return Err(StoreError::NotFound);
        };
        let copied = copy_file(path, &copy).and_then(|store_len| {
            let wal_len = if before.1.is_some() {
                Some(copy_file(wal, &copy_wal)?)
            } else {
                if copy_wal.exists() {
                    fs::remove_file(&copy_wal)?;
                }
                None
            };
            Ok((store_len, wal_len))
        });
        let after = (stamp(path)?, stamp(wal)?);
        match copied {
            Ok((store_len, wal_len))
                if before == after
                    && store_len == store_stamp.len
                    && wal_len == before.1.as_ref().map(|s| s.len) =>
            {
                return Ok((dir, copy, wal_len.is_some()));
            }
            // The WAL was deleted (Kyuubi's last connection closed) or changed: copy again.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Copy(e)),
        }
        tracing::debug!(
            "store {} changed while being copied; attempt {attempt} of {COPY_ATTEMPTS}",
            path.display()
        );
        thread::sleep(Duration::from_millis(50) * attempt);
    }
    Err(StoreError::Unstable {
        attempts: COPY_ATTEMPTS,
    })
}

/// Copies `from` to a new file `to` (created with default permissions, so the copy is ours to
/// open whatever the original's mode), returning the bytes copied.
fn copy_file(from: &Path, to: &Path) -> std::io::Result<u64> {
    let mut source = fs::File::open(from)?;
    let mut target = fs::File::create(to)?;
    std::io::copy(&mut source, &mut target)
}

/// Opens the file read-only. `mode=ro` makes SQLite refuse every write; `query_only` refuses
/// them again at the statement level. `immutable=1` is deliberately not used: it would skip
/// locking, and Kyuubi may be writing the file.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let uri = format!("file:{}?mode=ro", uri_escape(path));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(sqlite)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(sqlite)?;
    Ok(conn)
}

/// Percent-encodes a path for an SQLite `file:` URI.
fn uri_escape(path: &Path) -> String {
    let mut out = String::new();
    for byte in path.as_os_str().as_encoded_bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(byte) {
            out.push(char::from(*byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The column names of `table`, or `None` when the table does not exist.
fn table_columns(conn: &Connection, table: &str) -> Result<Option<BTreeSet<String>>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info(?1)")
        .map_err(sqlite)?;
    let columns = stmt
        .query_map([table], |row| row.get::<_, String>(0))
        .map_err(sqlite)?
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(sqlite)?;
    Ok((!columns.is_empty()).then(|| {
        columns
            .into_iter()
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }))
}

/// `SELECT a, b, NULL, … FROM table`, with NULL in place of each column the table lacks.
fn select_sql(table: &str, wanted: &[&str], present: &BTreeSet<String>) -> String {
    let columns: Vec<String> = wanted
        .iter()
        .map(|c| {
            if present.contains(*c) {
                format!("\"{c}\"")
            } else {
                "NULL".to_string()
            }
        })
        .collect();
    format!("SELECT {} FROM \"{table}\"", columns.join(", "))
}

/// An SQLite value as the database-neutral cell the row conversion reads.
fn cell(value: ValueRef<'_>) -> Cell<'_> {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) => Cell::Text(t),
        ValueRef::Blob(b) => Cell::Blob(b),
    }
}

/// The first `N` values of a row as cells.
fn cells<'a, const N: usize>(row: &'a rusqlite::Row<'_>) -> rusqlite::Result<[Cell<'a>; N]> {
    let mut out = [Cell::Null; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = cell(row.get_ref(i)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escape_keeps_paths_intact() {
        assert_eq!(uri_escape(Path::new("/a/b_c-d.db")), "/a/b_c-d.db");
        assert_eq!(
            uri_escape(Path::new("/a b/c?d#e%f")),
            "/a%20b/c%3Fd%23e%25f"
        );
    }

    /// A 100-byte header with this page size field, read/write versions, page count, change
    /// counter and version-valid-for number.
    fn header(page_size: u16, version: u8, pages: u32, counter: u32, valid_for: u32) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[..16].copy_from_slice(SQLITE_MAGIC);
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[18] = version;
        h[19] = version;
        h[24..28].copy_from_slice(&counter.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&valid_for.to_be_bytes());
        h
    }

    #[test]
    fn header_gives_page_size_page_count_and_mode() {
        let h = parse_header(&header(4096, 1, 7, 3, 3), 7 * 4096).unwrap();
        assert_eq!(
            h,
            Header {
                page_size: 4096,
                page_count: Some(7),
                wal: false
            }
        );
        // 1 means 65536; version 2 is WAL.
        let h = parse_header(&header(1, 2, 2, 9, 9), 2 * 65_536).unwrap();
        assert_eq!((h.page_size, h.wal), (65_536, true));
        // The page count is valid only when the change counter matches version-valid-for, and
        // is not zero.
        assert_eq!(
            parse_header(&header(512, 1, 7, 3, 4), 512)
                .unwrap()
                .page_count,
            None
        );
        assert_eq!(
            parse_header(&header(512, 1, 0, 3, 3), 512)
                .unwrap()
                .page_count,
            None
        );
    }

    #[test]
    fn header_damage_is_named() {
        let good = header(4096, 1, 2, 1, 1);
        assert!(matches!(parse_header(&[], 0), Err(StoreError::Empty)));
        assert!(matches!(
            parse_header(b"PK\x03\x04 not sqlite", 20),
            Err(StoreError::NotSqlite)
        ));
        assert!(matches!(
            parse_header(&good[..10], 10),
            Err(StoreError::ShorterThanHeader { size: 10 })
        ));
        assert!(matches!(
            parse_header(&good[..99], 99),
            Err(StoreError::ShorterThanHeader { size: 99 })
        ));
        for bad in [0u16, 256, 768, 1000, 32_769] {
            assert!(
                matches!(
                    parse_header(&header(bad, 1, 1, 1, 1), 65_536),
                    Err(StoreError::BadPageSize(n)) if n == u32::from(bad)
                ),
                "{bad}"
            );
        }
        let message = StoreError::BadPageSize(768).to_string();
        assert!(message.contains("bad page size 768"), "{message}");
    }

    #[test]
    fn size_is_checked_against_the_header() {
        let h = parse_header(&header(4096, 1, 3, 1, 1), 3 * 4096).unwrap();
        assert!(check_size(&h, 3 * 4096).is_ok());
        assert!(
            check_size(&h, 4 * 4096).is_ok(),
            "a longer file is not truncated"
        );
        assert_eq!(
            check_size(&h, 100).unwrap_err().to_string(),
            "truncated: 100 bytes, less than one page of 4096 bytes"
        );
        assert!(matches!(
            check_size(&h, 2 * 4096 + 17),
            Err(StoreError::TruncatedMidPage {
                size: 8209,
                page_size: 4096
            })
        ));
        assert_eq!(
            check_size(&h, 2 * 4096).unwrap_err().to_string(),
            "truncated: header says 3 pages, file has 2"
        );
        // Without a valid in-header count, only whole pages can be checked.
        let legacy = parse_header(&header(4096, 1, 3, 1, 2), 4096).unwrap();
        assert!(check_size(&legacy, 4096).is_ok());
    }

    #[test]
    fn wal_size_must_be_whole_frames() {
        let wal = Path::new("s.db-wal");
        let mut h = vec![0x37, 0x7f, 0x06, 0x82, 0, 0x2d, 0xe2, 0x18];
        h.extend_from_slice(&4096u32.to_be_bytes());
        h.resize(32, 0);
        assert!(check_wal(wal, &[], 0).is_ok());
        assert!(check_wal(wal, &h, 32).is_ok());
        assert!(check_wal(wal, &h, 32 + 3 * (24 + 4096)).is_ok());
        assert!(matches!(
            check_wal(wal, &h, 32 + 3 * (24 + 4096) - 1),
            Err(StoreError::TruncatedWal {
                page_size: 4096,
                ..
            })
        ));
        assert!(matches!(
            check_wal(wal, &h[..20], 20),
            Err(StoreError::TruncatedWal { .. })
        ));
        let mut bad = h.clone();
        bad[0] = 0;
        assert!(matches!(
            check_wal(wal, &bad, 32 + 24 + 4096),
            Err(StoreError::BadWal { .. })
        ));
    }

    #[test]
    fn integrity_problems_are_shown_a_few_at_a_time() {
        let problems: Vec<String> = (1..=5).map(|i| format!("problem {i}")).collect();
        assert_eq!(
            StoreError::FailedCheck(problems).to_string(),
            "the database is corrupt: SQLite's quick_check reports: problem 1; problem 2; \
             problem 3; and more"
        );
    }

    #[test]
    fn select_sql_fills_missing_columns_with_null() {
        let present: BTreeSet<String> = ["identifier", "state"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        assert_eq!(
            select_sql("metadata", &["identifier", "state", "end_time"], &present),
            "SELECT \"identifier\", \"state\", NULL FROM \"metadata\""
        );
    }
}
