//! Rows of Kyuubi's metadata tables, whatever database they were read from.
//!
//! Owns: the columns the readers select from `metadata` and `k8s_engine_info`
//! ([`METADATA_COLUMNS`], [`ENGINE_INFO_COLUMNS`]), a database-neutral value ([`Cell`]) that every
//! reader converts its driver's values into, and the conversion of one row of cells into a
//! [`BatchRecord`] or an [`EngineInfoRecord`]: text trimming, epoch milliseconds (NULL and 0 mean
//! "not set"), Java booleans as each database stores them, and the Kubernetes scope Kyuubi merges
//! into `request_conf`. Also the name of a table layout ([`layout`]). The SQLite reader
//! ([`super::store`]) and the MySQL/PostgreSQL reader ([`super::sql`]) both call these functions,
//! so the same row gives the same record on every database.
//! Must not: talk to a database, know which one a row came from, or decide which rows to keep.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{BatchRecord, BatchState, EngineInfoRecord, K8sScope};

/// The columns of `metadata` the readers use, in the order the record functions expect them.
/// `identifier` and `state` are required; the rest are read when present and NULL otherwise.
pub const METADATA_COLUMNS: [&str; 9] = [
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

/// The columns of `k8s_engine_info` the readers use, in the order the record functions expect
/// them; `identifier` is required.
pub const ENGINE_INFO_COLUMNS: [&str; 8] = [
    "identifier",
    "context",
    "namespace",
    "pod_name",
    "pod_state",
    "engine_id",
    "engine_state",
    "update_time",
];

/// One value of a row, as any database driver can give it: SQLite's storage classes, to which
/// MySQL and PostgreSQL values are mapped (integers of every width and booleans to `Int`,
/// character types to `Text`, binary types to `Blob`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// SQL NULL (also a column the table lacks).
    Null,
    /// An integer (or a boolean as 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text, as bytes (decoded leniently: invalid UTF-8 is replaced, never refused).
    Text(&'a [u8]),
    /// Bytes of a binary column.
    Blob(&'a [u8]),
}

/// The identifier of a row (its first cell), trimmed; `None` when it is NULL or blank, which
/// makes the row damaged.
#[must_use]
pub fn identifier(cells: &[Cell<'_>]) -> Option<String> {
    text(cell(cells, 0))
}

/// Whether a `metadata` row (cells in [`METADATA_COLUMNS`] order) has no state: NULL or blank,
/// which makes the row damaged.
#[must_use]
pub fn state_missing(cells: &[Cell<'_>]) -> bool {
    is_blank(cell(cells, 1))
}

/// The cell at `index`, NULL when the row is shorter.
fn cell<'a>(cells: &[Cell<'a>], index: usize) -> Cell<'a> {
    cells.get(index).copied().unwrap_or(Cell::Null)
}

/// A text value, trimmed; `None` for NULL or empty. Numbers are rendered as text.
#[must_use]
pub fn text(value: Cell<'_>) -> Option<String> {
    // Borrowed for valid UTF-8: one allocation per value, for the trimmed result only (this
    // runs for every row of the store).
    let s: std::borrow::Cow<'_, str> = match value {
        Cell::Text(bytes) | Cell::Blob(bytes) => String::from_utf8_lossy(bytes),
        Cell::Int(i) => i.to_string().into(),
        Cell::Real(f) => f.to_string().into(),
        Cell::Null => return None,
    };
    let trimmed = s.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Whether a value is NULL, or text that is empty or only whitespace (no allocation).
#[must_use]
pub fn is_blank(value: Cell<'_>) -> bool {
    match value {
        Cell::Null => true,
        Cell::Text(bytes) | Cell::Blob(bytes) => String::from_utf8_lossy(bytes).trim().is_empty(),
        Cell::Int(_) | Cell::Real(_) => false,
    }
}

/// An epoch-milliseconds column. NULL and 0 mean "not set" (Kyuubi's `end_time` while running).
fn millis(value: Cell<'_>) -> Result<Option<Timestamp>, String> {
    let ms = match value {
        Cell::Null => return Ok(None),
        Cell::Int(i) => i,
        Cell::Text(t) => match std::str::from_utf8(t).map(str::trim) {
            Ok("") => return Ok(None),
            Ok(s) => s
                .parse::<i64>()
                .map_err(|_| format!("not a number: {s:?}"))?,
            Err(_) => return Err("not valid text".into()),
        },
        #[allow(clippy::cast_possible_truncation)]
        Cell::Real(f) => f as i64,
        Cell::Blob(_) => return Err("a blob, not a number".into()),
    };
    if ms <= 0 {
        return Ok(None);
    }
    Timestamp::from_millisecond(ms)
        .map(Some)
        .map_err(|_| format!("{ms} is out of range for epoch milliseconds"))
}

/// A boolean column as the databases store Java booleans: 0/1 (SQLite, MySQL's `tinyint(1)`),
/// or text (`true`/`t`, as PostgreSQL renders its `boolean`).
fn boolean(value: Cell<'_>) -> bool {
    match value {
        Cell::Int(i) => i != 0,
        Cell::Real(f) => f != 0.0,
        Cell::Text(t) => matches!(
            String::from_utf8_lossy(t)
                .trim()
                .to_ascii_lowercase()
                .as_str(),
            "1" | "true" | "t" | "yes"
        ),
        Cell::Null | Cell::Blob(_) => false,
    }
}

fn time_column(
    value: Cell<'_>,
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

/// A `metadata` row, cells in [`METADATA_COLUMNS`] order, as a record (its source left 0 for
/// the caller to set). A value that cannot be read is ignored with a warning pushed to
/// `warnings` (and logged), naming the row by `tag`.
pub fn batch_record(cells: &[Cell<'_>], warnings: &mut Vec<String>, tag: &str) -> BatchRecord {
    let state = text(cell(cells, 1)).unwrap_or_default();
    let scope = match text(cell(cells, 8)) {
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
    BatchRecord {
        source: 0,
        state: BatchState::parse(&state),
        engine_state: text(cell(cells, 2)),
        engine_id: text(cell(cells, 3)),
        created_at: time_column(cell(cells, 4), warnings, "metadata", "create_time", tag),
        ended_at: time_column(cell(cells, 5), warnings, "metadata", "end_time", tag),
        peer_instance_closed: boolean(cell(cells, 6)),
        kyuubi_instance: text(cell(cells, 7)),
        scope,
    }
}

/// A `k8s_engine_info` row, cells in [`ENGINE_INFO_COLUMNS`] order, as a record (its source
/// left 0 for the caller to set); unreadable values as in [`batch_record`].
pub fn engine_info_record(
    cells: &[Cell<'_>],
    warnings: &mut Vec<String>,
    tag: &str,
) -> EngineInfoRecord {
    EngineInfoRecord {
        source: 0,
        scope: K8sScope {
            context: text(cell(cells, 1)),
            namespace: text(cell(cells, 2)),
            pod_name: text(cell(cells, 3)),
        },
        pod_state: text(cell(cells, 4)),
        engine_id: text(cell(cells, 5)),
        engine_state: text(cell(cells, 6)),
        updated_at: time_column(
            cell(cells, 7),
            warnings,
            "k8s_engine_info",
            "update_time",
            tag,
        ),
    }
}

/// Which Kyuubi versions wrote a store with these `metadata` columns (lower-case names), with or
/// without a `k8s_engine_info` table, e.g. `1.11+ (metadata, k8s_engine_info)`.
#[must_use]
pub fn layout(metadata_columns: &BTreeSet<String>, has_engine_info: bool) -> String {
    let has = |c: &str| metadata_columns.contains(c);
    let versions = if has_engine_info {
        "1.11+"
    } else if has("priority") {
        "1.8-1.10"
    } else if has("engine_open_time") {
        "1.7"
    } else {
        "1.6 or older"
    };
    let tables = if has_engine_info {
        "metadata, k8s_engine_info"
    } else {
        "metadata"
    };
    format!("{versions} ({tables})")
}

/// Logs a row that could not be fully read, and keeps the warning for the source summary.
fn warn(warnings: &mut Vec<String>, warning: String) {
    tracing::warn!("{warning}");
    warnings.push(warning);
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
        assert_eq!(millis(Cell::Null), Ok(None));
        assert_eq!(millis(Cell::Int(0)), Ok(None));
        assert_eq!(
            millis(Cell::Int(1_700_000_000_000)),
            Ok(Some(
                Timestamp::from_millisecond(1_700_000_000_000).unwrap()
            ))
        );
        assert_eq!(
            millis(Cell::Text(b" 1700000000000 ")),
            Ok(Some(
                Timestamp::from_millisecond(1_700_000_000_000).unwrap()
            ))
        );
        assert!(millis(Cell::Text(b"yesterday")).is_err());
        assert!(millis(Cell::Int(i64::MAX)).is_err());
    }

    #[test]
    fn booleans_accept_what_jdbc_drivers_write() {
        assert!(boolean(Cell::Int(1)));
        assert!(!boolean(Cell::Int(0)));
        assert!(boolean(Cell::Text(b"true")));
        assert!(boolean(Cell::Text(b"t")));
        assert!(!boolean(Cell::Text(b"f")));
        assert!(!boolean(Cell::Text(b"0")));
        assert!(!boolean(Cell::Null));
    }

    #[test]
    fn the_same_row_gives_the_same_record_whatever_the_cell_types() {
        // SQLite and MySQL give integers; PostgreSQL's text rendering gives the same record.
        let conf = br#"{"kyuubi.kubernetes.namespace":"etl"}"#;
        let typed = [
            Cell::Text(b"tag-1"),
            Cell::Text(b"FINISHED"),
            Cell::Text(b"FINISHED"),
            Cell::Null,
            Cell::Int(1_700_000_000_000),
            Cell::Int(0),
            Cell::Int(1),
            Cell::Text(b"kyuubi-0:10099"),
            Cell::Text(conf),
        ];
        let as_text = [
            Cell::Text(b"tag-1"),
            Cell::Text(b"FINISHED"),
            Cell::Text(b"FINISHED"),
            Cell::Null,
            Cell::Text(b"1700000000000"),
            Cell::Text(b"0"),
            Cell::Text(b"true"),
            Cell::Text(b"kyuubi-0:10099"),
            Cell::Text(conf),
        ];
        let mut warnings = vec![];
        let a = batch_record(&typed, &mut warnings, "tag-1");
        let b = batch_record(&as_text, &mut warnings, "tag-1");
        assert_eq!(a, b);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(a.peer_instance_closed);
        assert_eq!(a.ended_at, None);
        assert_eq!(a.scope.namespace.as_deref(), Some("etl"));
        // A short row reads as NULLs, never panics.
        let short = batch_record(&typed[..2], &mut warnings, "tag-1");
        assert_eq!(short.engine_state, None);
        assert_eq!(identifier(&[]), None);
        assert!(state_missing(&typed[..1]));
        assert!(state_missing(&[Cell::Text(b"t"), Cell::Text(b"  ")]));
    }

    #[test]
    fn layouts_are_named_after_the_versions_that_wrote_them() {
        let columns =
            |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| (*s).into()).collect() };
        assert_eq!(
            layout(&columns(&["identifier", "state"]), false),
            "1.6 or older (metadata)"
        );
        assert_eq!(
            layout(&columns(&["engine_open_time"]), false),
            "1.7 (metadata)"
        );
        assert_eq!(
            layout(&columns(&["engine_open_time", "priority"]), false),
            "1.8-1.10 (metadata)"
        );
        assert_eq!(
            layout(&columns(&["priority"]), true),
            "1.11+ (metadata, k8s_engine_info)"
        );
    }
}
