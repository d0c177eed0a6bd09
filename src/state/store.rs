//! Reads Kyuubi metadata store files (SQLite `kyuubi_state_store.db`), strictly read-only.
//!
//! Owns: everything about the SQLite file: opening it read-only (`mode=ro` URI, `query_only`,
//! no `immutable`, because Kyuubi may be writing it at the same moment), waiting for Kyuubi's
//! write locks (busy timeout plus retries), introspecting the columns so stores written by
//! Kyuubi 1.6/1.7 (no `priority`), 1.8–1.10 and 1.11+ (`k8s_engine_info`) all load, and turning
//! rows into [`BatchRecord`]s and [`EngineInfoRecord`]s. This is the only module that uses
//! rusqlite. Must not: write, create or lock the file for writing, or judge what it reads.
//!
//! A store is read in two steps. [`Store::open`] checks the file (exists, is SQLite, has a
//! `metadata` table) and fixes its as-of time; [`Store::load`] later reads the rows in one read
//! transaction, so the `metadata` and `k8s_engine_info` rows are a consistent snapshot, keeping
//! only rows for the tags the caller wants (the candidate pods), so memory follows the pods, not
//! the store's history.
//!
//! As-of time: the file's modification time (or its WAL's, whichever is later), taken *before*
//! the rows are read. Kyuubi inserts a batch's row before it creates the driver pod, so a pod
//! created after that time may belong to a row this read cannot see.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{
    BatchRecord, BatchState, EngineInfoRecord, EngineState, K8sScope, SourceId, SourceKind,
    SourceSummary,
};

/// How long one statement waits for a lock Kyuubi holds before SQLite reports busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How many times a whole read is retried after SQLite still reports busy.
const BUSY_RETRIES: u32 = 3;
/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Why a store file could not be loaded. The file's path is added by the caller's error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The path does not exist.
    #[error("no such file")]
    NotFound,
    /// The path is a directory or something else that is not a file.
    #[error("not a regular file")]
    NotAFile,
    /// The file exists but cannot be read.
    #[error("cannot read the file")]
    Unreadable(#[source] std::io::Error),
    /// The file does not start with the SQLite header.
    #[error("not an SQLite database (the file does not start with the SQLite header)")]
    NotSqlite,
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

impl StoreError {
    fn from_sqlite(error: &rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreError::NotSqlite,
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt(error.to_string()),
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

/// The columns of `metadata` this reader uses. `identifier` and `state` are required; the rest
/// are read when present and NULL otherwise.
const METADATA_COLUMNS: [&str; 9] = [
    "identifier",
    "state",
    "engine_state",
    "engine_id",
    "create_time",
    "end_time",
    "peer_instance_closed",
    "kyuubi_instance",
    "request_conf",
];

/// The columns of `k8s_engine_info` this reader uses; `identifier` is required.
const ENGINE_INFO_COLUMNS: [&str; 8] = [
    "identifier",
    "context",
    "namespace",
    "pod_name",
    "pod_state",
    "engine_id",
    "engine_state",
    "update_time",
];

/// A store file that passed its checks and is ready to be read.
#[derive(Debug, Clone)]
pub struct Store {
    path: PathBuf,
    as_of: Timestamp,
    metadata_columns: BTreeSet<String>,
    engine_info_columns: Option<BTreeSet<String>>,
}

impl Store {
    /// Checks that `path` is a readable Kyuubi metadata store and fixes its as-of time.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let as_of = modification_time(path)?;
        check_header(path)?;
        let (metadata_columns, engine_info_columns) = with_retries(|| {
            let conn = connect(path)?;
            let metadata = table_columns(&conn, "metadata")?;
            let engine_info = table_columns(&conn, "k8s_engine_info")?;
            Ok((metadata, engine_info))
        })?;
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
        let has = |c: &str| self.metadata_columns.contains(c);
        let versions = if self.engine_info_columns.is_some() {
            "1.11+"
        } else if has("priority") {
            "1.8-1.10"
        } else if has("engine_open_time") {
            "1.7"
        } else {
            "1.6 or older"
        };
        let tables = if self.engine_info_columns.is_some() {
            "metadata, k8s_engine_info"
        } else {
            "metadata"
        };
        format!("{versions} ({tables})")
    }

    /// Reads the rows whose identifier `wanted` accepts into `state`, in one read transaction,
    /// and returns the new source's id. Rows that cannot be read are skipped with a warning in
    /// the source summary; every row is counted.
    pub fn load(
        &self,
        state: &mut EngineState,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<SourceId, StoreError> {
        let rows = with_retries(|| self.read_rows(wanted))?;
        let id = state.add_source(SourceSummary {
            kind: SourceKind::Store,
            location: self.path.display().to_string(),
            as_of: self.as_of,
            as_of_from: "file modification time",
            layout: self.layout(),
            files: vec![self.path.display().to_string()],
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
        let conn = connect(&self.path)?;
        let sqlite = |e: rusqlite::Error| StoreError::from_sqlite(&e);
        // One deferred read transaction: both tables come from the same snapshot, and a
        // read-only connection takes nothing stronger than a SHARED lock.
        conn.execute_batch("BEGIN DEFERRED").map_err(sqlite)?;
        let mut rows = Rows::default();
        let sql = select_sql("metadata", &METADATA_COLUMNS, &self.metadata_columns);
        let mut stmt = conn.prepare(&sql).map_err(sqlite)?;
        let mut cursor = stmt.query([]).map_err(sqlite)?;
        while let Some(row) = cursor.next().map_err(sqlite)? {
            rows.batches_seen += 1;
            let Some(tag) = text(row.get_ref(0).map_err(sqlite)?) else {
                rows.warn(format!(
                    "metadata row {}: empty identifier, skipped",
                    rows.batches_seen
                ));
                continue;
            };
            if !wanted(&tag) {
                continue;
            }
            let record = batch_record(row, &mut rows.warnings, &tag).map_err(sqlite)?;
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
                let Some(tag) = text(row.get_ref(0).map_err(sqlite)?) else {
                    let n = rows.engine_infos_seen;
                    rows.warn(format!(
                        "k8s_engine_info row {n}: empty identifier, skipped"
                    ));
                    continue;
                };
                if !wanted(&tag) {
                    continue;
                }
                let record = engine_info_record(row, &mut rows.warnings, &tag).map_err(sqlite)?;
                rows.engine_infos.push((tag, record));
            }
        }
        conn.execute_batch("COMMIT").map_err(sqlite)?;
        Ok(rows)
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

impl Rows {
    fn warn(&mut self, warning: String) {
        warn(&mut self.warnings, warning);
    }
}

/// Logs a row that could not be fully read, and keeps the warning for the source summary.
fn warn(warnings: &mut Vec<String>, warning: String) {
    tracing::warn!("{warning}");
    warnings.push(warning);
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

/// The later of the file's and its WAL's modification times.
fn modification_time(path: &Path) -> Result<Timestamp, StoreError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound,
        _ => StoreError::Unreadable(e),
    })?;
    if !meta.is_file() {
        return Err(StoreError::NotAFile);
    }
    let mut modified = meta.modified().map_err(StoreError::Unreadable)?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(wal_modified) = fs::metadata(&wal).and_then(|m| m.modified()) {
        modified = modified.max(wal_modified);
    }
    system_time_to_timestamp(modified).map_err(StoreError::Unreadable)
}

fn system_time_to_timestamp(time: SystemTime) -> Result<Timestamp, std::io::Error> {
    Timestamp::try_from(time).map_err(std::io::Error::other)
}

/// Reads the first bytes ourselves: a clear "not SQLite" and permission error before SQLite
/// gets a chance to say something vaguer. An empty file is a valid, empty database.
fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut file = fs::File::open(path).map_err(StoreError::Unreadable)?;
    let mut header = Vec::with_capacity(16);
    file.by_ref()
        .take(16)
        .read_to_end(&mut header)
        .map_err(StoreError::Unreadable)?;
    if header.is_empty() || header == SQLITE_MAGIC {
        Ok(())
    } else {
        Err(StoreError::NotSqlite)
    }
}

/// Opens the file read-only. `mode=ro` makes SQLite refuse every write; `query_only` refuses
/// them again at the statement level. `immutable=1` is deliberately not used: it would skip
/// locking, and Kyuubi may be writing the file.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let uri = format!("file:{}?mode=ro", uri_escape(path));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let sqlite = |e: rusqlite::Error| StoreError::from_sqlite(&e);
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
    let sqlite = |e: rusqlite::Error| StoreError::from_sqlite(&e);
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

/// A text value, trimmed; `None` for NULL or empty. Numbers are rendered as text.
fn text(value: ValueRef<'_>) -> Option<String> {
    // Borrowed for valid UTF-8: one allocation per value, for the trimmed result only (this
    // runs for every row of the store).
    let s: std::borrow::Cow<'_, str> = match value {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => String::from_utf8_lossy(bytes),
        ValueRef::Integer(i) => i.to_string().into(),
        ValueRef::Real(f) => f.to_string().into(),
        ValueRef::Null => return None,
    };
    let trimmed = s.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// An epoch-milliseconds column. NULL and 0 mean "not set" (Kyuubi's `end_time` while running).
fn millis(value: ValueRef<'_>) -> Result<Option<Timestamp>, String> {
    let ms = match value {
        ValueRef::Null => return Ok(None),
        ValueRef::Integer(i) => i,
        ValueRef::Text(t) => match std::str::from_utf8(t).map(str::trim) {
            Ok("") => return Ok(None),
            Ok(s) => s
                .parse::<i64>()
                .map_err(|_| format!("not a number: {s:?}"))?,
            Err(_) => return Err("not valid text".into()),
        },
        #[allow(clippy::cast_possible_truncation)]
        ValueRef::Real(f) => f as i64,
        ValueRef::Blob(_) => return Err("a blob, not a number".into()),
    };
    if ms <= 0 {
        return Ok(None);
    }
    Timestamp::from_millisecond(ms)
        .map(Some)
        .map_err(|_| format!("{ms} is out of range for epoch milliseconds"))
}

/// A boolean column as SQLite stores Java booleans: 0/1, or text.
fn boolean(value: ValueRef<'_>) -> bool {
    match value {
        ValueRef::Integer(i) => i != 0,
        ValueRef::Real(f) => f != 0.0,
        ValueRef::Text(t) => matches!(
            String::from_utf8_lossy(t)
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "1" | "true" | "t" | "yes"
        ),
        ValueRef::Null | ValueRef::Blob(_) => false,
    }
}

fn time_column(
    value: ValueRef<'_>,
    warnings: &mut Vec<String>,
    table: &str,
    column: &str,
    tag: &str,
) -> Option<Timestamp> {
    millis(value).unwrap_or_else(|problem| {
        warn(
            warnings,
            format!("{table} row {tag}: {column} {problem}; ignored"),
        );
        None
    })
}

fn batch_record(
    row: &rusqlite::Row<'_>,
    warnings: &mut Vec<String>,
    tag: &str,
) -> rusqlite::Result<BatchRecord> {
    let state = text(row.get_ref(1)?).unwrap_or_default();
    let scope = match text(row.get_ref(8)?) {
        None => K8sScope::default(),
        Some(conf) => request_conf_scope(&conf).unwrap_or_else(|problem| {
            warn(
                warnings,
                format!(
                    "metadata row {tag}: request_conf is not a JSON object ({problem}); its \
                     namespace and context are unknown"
                ),
            );
            K8sScope::default()
        }),
    };
    Ok(BatchRecord {
        source: 0,
        state: BatchState::parse(&state),
        engine_state: text(row.get_ref(2)?),
        engine_id: text(row.get_ref(3)?),
        created_at: time_column(row.get_ref(4)?, warnings, "metadata", "create_time", tag),
        ended_at: time_column(row.get_ref(5)?, warnings, "metadata", "end_time", tag),
        peer_instance_closed: boolean(row.get_ref(6)?),
        kyuubi_instance: text(row.get_ref(7)?),
        scope,
    })
}

fn engine_info_record(
    row: &rusqlite::Row<'_>,
    warnings: &mut Vec<String>,
    tag: &str,
) -> rusqlite::Result<EngineInfoRecord> {
    Ok(EngineInfoRecord {
        source: 0,
        scope: K8sScope {
            context: text(row.get_ref(1)?),
            namespace: text(row.get_ref(2)?),
            pod_name: text(row.get_ref(3)?),
        },
        pod_state: text(row.get_ref(4)?),
        engine_id: text(row.get_ref(5)?),
        engine_state: text(row.get_ref(6)?),
        updated_at: time_column(
            row.get_ref(7)?,
            warnings,
            "k8s_engine_info",
            "update_time",
            tag,
        ),
    })
}

/// The Kubernetes keys Kyuubi merges into a batch's `request_conf` (a JSON object of strings).
#[derive(serde::Deserialize)]
struct RequestConf {
    #[serde(rename = "kyuubi.kubernetes.context")]
    kyuubi_context: Option<serde_json::Value>,
    #[serde(rename = "kyuubi.kubernetes.namespace")]
    kyuubi_namespace: Option<serde_json::Value>,
    #[serde(rename = "spark.kubernetes.namespace")]
    spark_namespace: Option<serde_json::Value>,
    #[serde(rename = "spark.kubernetes.driver.pod.name")]
    driver_pod_name: Option<serde_json::Value>,
}

/// Context and namespace from `kyuubi.kubernetes.context` / `kyuubi.kubernetes.namespace`
/// (falling back to `spark.kubernetes.namespace`), and the driver pod name when recorded.
fn request_conf_scope(conf: &str) -> Result<K8sScope, String> {
    let conf: RequestConf = serde_json::from_str(conf).map_err(|e| e.to_string())?;
    let string = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    Ok(K8sScope {
        context: string(conf.kyuubi_context),
        namespace: string(conf.kyuubi_namespace).or_else(|| string(conf.spark_namespace)),
        pod_name: string(conf.driver_pod_name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_conf_gives_context_namespace_and_pod_name() {
        let scope = request_conf_scope(
            r#"{"kyuubi.kubernetes.context":"prod","kyuubi.kubernetes.namespace":"etl",
                "spark.kubernetes.namespace":"other","spark.kubernetes.driver.pod.name":"p-driver",
                "spark.executor.memory":"4g"}"#,
        )
        .unwrap();
        assert_eq!(scope.context.as_deref(), Some("prod"));
        assert_eq!(scope.namespace.as_deref(), Some("etl"));
        assert_eq!(scope.pod_name.as_deref(), Some("p-driver"));

        let fallback = request_conf_scope(r#"{"spark.kubernetes.namespace":"spark-ns"}"#).unwrap();
        assert_eq!(fallback.namespace.as_deref(), Some("spark-ns"));
        assert_eq!(fallback.context, None);

        assert_eq!(request_conf_scope("{}").unwrap(), K8sScope::default());
        assert!(request_conf_scope("not json").is_err());
        assert!(request_conf_scope("[1,2]").is_err());
        // Non-string values are ignored rather than trusted.
        let odd = request_conf_scope(r#"{"kyuubi.kubernetes.namespace":7}"#).unwrap();
        assert_eq!(odd.namespace, None);
    }

    #[test]
    fn millis_treats_null_and_zero_as_unset() {
        assert_eq!(millis(ValueRef::Null), Ok(None));
        assert_eq!(millis(ValueRef::Integer(0)), Ok(None));
        assert_eq!(
            millis(ValueRef::Integer(1_700_000_000_000)),
            Ok(Some(
                Timestamp::from_millisecond(1_700_000_000_000).unwrap()
            ))
        );
        assert_eq!(
            millis(ValueRef::Text(b" 1700000000000 ")),
            Ok(Some(
                Timestamp::from_millisecond(1_700_000_000_000).unwrap()
            ))
        );
        assert!(millis(ValueRef::Text(b"yesterday")).is_err());
        assert!(millis(ValueRef::Integer(i64::MAX)).is_err());
    }

    #[test]
    fn booleans_accept_what_jdbc_drivers_write() {
        assert!(boolean(ValueRef::Integer(1)));
        assert!(!boolean(ValueRef::Integer(0)));
        assert!(boolean(ValueRef::Text(b"true")));
        assert!(!boolean(ValueRef::Text(b"0")));
        assert!(!boolean(ValueRef::Null));
    }

    #[test]
    fn uri_escape_keeps_paths_intact() {
        assert_eq!(uri_escape(Path::new("/a/b_c-d.db")), "/a/b_c-d.db");
        assert_eq!(
            uri_escape(Path::new("/a b/c?d#e%f")),
            "/a%20b/c%3Fd%23e%25f"
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
