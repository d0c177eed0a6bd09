//! The MySQL/MariaDB side of the server stores, over `mysql_async`.
//!
//! Owns: the connection options (TCP only: `prefer_socket` off, so a loopback URL is never
//! silently moved to a Unix socket without TLS), TLS per mode, the session set-up (UTC time
//! zone), the transaction statements, decoding MySQL values into [`Cell`]s, and the meaning of
//! MySQL errors. Must not: send a statement other than `SET`, `SELECT`, `START TRANSACTION` and
//! `ROLLBACK`.

use std::time::Duration;

use jiff::Timestamp;
use mysql_async::prelude::Queryable;
use mysql_async::{
    ClientIdentity, Conn, DriverError, IoError, Opts, OptsBuilder, Params, Row, SslOpts, Value,
};

use super::tls;
use super::{Cell, SqlError, SqlOptions, StoreUrl, Tables, TlsMode, timed};

/// MySQL's `ER_SERVER_SHUTDOWN`, MariaDB's `ER_CONNECTION_KILLED` and MySQL's
/// `ER_CLIENT_INTERACTION_TIMEOUT`: the server ended the session.
const SESSION_ENDED: [u16; 3] = [1053, 1927, 4031];
/// `ER_ACCESS_DENIED_ERROR`.
const ACCESS_DENIED: u16 = 1045;
/// `ER_DBACCESS_DENIED_ERROR` and `ER_BAD_DB_ERROR`.
const NO_DATABASE: [u16; 2] = [1044, 1049];
/// `ER_UNKNOWN_SYSTEM_VARIABLE`: MariaDB has no `information_schema_stats_expiry`.
const UNKNOWN_VARIABLE: u16 = 1193;

/// The server name sent for `VERIFY_CA`. `mysql_async` skips the name check only for an error
/// whose text contains `NotValidForName`, and rustls's text of a name mismatch quotes the
/// expected name: asking for this name makes every mismatch carry it. rustls checks the chain
/// before the name, so the chain is still verified; should either library change its text,
/// the name check comes back and `VERIFY_CA` fails closed (the TLS test catches it).
const VERIFY_CA_NAME: &str = "NotValidForName";

/// A connection inside its read transaction.
pub(super) struct Session {
    conn: Conn,
}

/// Why one connection attempt failed.
enum Attempt {
    TimedOut,
    Failed(mysql_async::Error),
}

/// One connection attempt, within `limit`.
async fn attempt(opts: Opts, limit: Duration) -> Result<Conn, Attempt> {
    match tokio::time::timeout(limit, Conn::new(opts)).await {
        Err(_) => Err(Attempt::TimedOut),
        Ok(Err(e)) => Err(Attempt::Failed(e)),
        Ok(Ok(conn)) => Ok(conn),
    }
}

/// The TLS options of the URL's mode; `None` for `disable`.
fn ssl_opts(url: &StoreUrl) -> Result<Option<SslOpts>, SqlError> {
    let mode = url.tls.mode;
    if mode == TlsMode::Disable {
        return Ok(None);
    }
    // mysql_async builds its rustls configuration with the process's default provider. Named
    // here, so that a second provider turned on by some dependency cannot leave it unset
    // (installing fails only when one is installed already, which is as good).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut opts = SslOpts::default();
    match (&url.tls.ca, mode) {
        (Some(ca), TlsMode::VerifyCa | TlsMode::VerifyFull | TlsMode::Require) => {
            // Read and checked here, so a bad file is named as such.
            let (bytes, _) = tls::read_certificates("CA", ca)?;
            tls::root_store(ca)?;
            opts = opts
                .with_root_certs(vec![bytes.into()])
                .with_disable_built_in_roots(true);
            if mode != TlsMode::VerifyFull {
                opts = opts
                    .with_danger_skip_domain_validation(true)
                    .with_danger_tls_hostname_override(Some(VERIFY_CA_NAME));
            }
        }
        _ => {
            // No check at all (`prefer`, `require` without `ssl-ca`). The built-in roots stay:
            // mysql_async refuses to build its verifier over an empty root store, and a
            // verifier that accepts any certificate never consults them.
            opts = opts.with_danger_accept_invalid_certs(true);
        }
    }
    if let Some((cert, key)) = &url.tls.client {
        let (cert_bytes, _) = tls::read_certificates("client certificate", cert)?;
        let (key_bytes, _) = tls::read_key(key)?;
        opts = opts.with_client_identity(Some(ClientIdentity::new(
            cert_bytes.into(),
            key_bytes.into(),
        )));
    }
    Ok(Some(opts))
}

/// Connects as the URL says: TCP, TLS per mode (`prefer` falls back to plaintext only when the
/// server does not offer TLS at all), login, database.
async fn connect(url: &StoreUrl, options: &SqlOptions) -> Result<Conn, SqlError> {
    let base = OptsBuilder::default()
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port())
        .user(Some(url.user.clone()))
        .pass(url.password(options).map(str::to_string))
        .db_name(Some(url.database.clone()))
        .prefer_socket(false)
        .tcp_keepalive(Some(Duration::from_secs(30)));
    let ssl = ssl_opts(url)?;
    let first = attempt(base.clone().ssl_opts(ssl.clone()).into(), options.timeout).await;
    let result = match first {
        Err(Attempt::Failed(mysql_async::Error::Driver(
            DriverError::NoClientSslFlagFromServer,
        ))) if url.tls.mode == TlsMode::Prefer => {
            tracing::debug!(
                "store {url}: the server offers no TLS; ssl-mode=PREFERRED goes on without"
            );
            attempt(base.into(), options.timeout).await
        }
        other => other,
    };
    result.map_err(|e| match e {
        Attempt::TimedOut => SqlError::Timeout {
            server: url.server(),
            during: "connecting",
            after: options.timeout,
        },
        Attempt::Failed(e) => connect_error(url, &e),
    })
}

/// What a failed connection attempt means.
fn connect_error(url: &StoreUrl, error: &mysql_async::Error) -> SqlError {
    let server = url.server();
    if let Some(tls_error) = tls::rustls_cause(error) {
        return SqlError::Tls {
            server,
            reason: tls::explain(tls_error, url.tls.mode),
        };
    }
    match error {
        mysql_async::Error::Server(e) if e.code == ACCESS_DENIED => SqlError::AccessDenied {
            server,
            user: url.user.clone(),
            message: e.message.clone(),
        },
        mysql_async::Error::Server(e) if NO_DATABASE.contains(&e.code) => SqlError::NoDatabase {
            server,
            database: url.database.clone(),
            user: url.user.clone(),
            message: e.message.clone(),
        },
        mysql_async::Error::Server(e) => SqlError::Connect {
            server,
            reason: format!("the server refused the connection: {}", e.message),
        },
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => SqlError::Tls {
            server,
            reason: format!(
                "the server does not offer TLS, and ssl-mode={} requires it",
                url.tls.mode.as_str()
            ),
        },
        mysql_async::Error::Io(IoError::Tls(e)) => SqlError::Tls {
            server,
            reason: super::chain(e),
        },
        mysql_async::Error::Io(IoError::Io(e))
            if e.kind() == std::io::ErrorKind::ConnectionRefused =>
        {
            SqlError::Connect {
                server,
                reason: format!(
                    "connection refused ({e}): is the server running and listening on this \
                     port?"
                ),
            }
        }
        mysql_async::Error::Driver(DriverError::ConnectionClosed) => SqlError::Connect {
            server,
            reason: "the server closed the connection during the handshake".into(),
        },
        e => SqlError::Connect {
            server,
            reason: super::chain(e),
        },
    }
}

/// What a failed statement means: a broken connection, or the server's refusal.
fn query_error(url: &StoreUrl, during: &'static str, error: &mysql_async::Error) -> SqlError {
    match error {
        mysql_async::Error::Io(_) | mysql_async::Error::Driver(DriverError::ConnectionClosed) => {
            SqlError::ConnectionLost {
                server: url.server(),
                during,
                message: super::chain(error),
            }
        }
        mysql_async::Error::Server(e) if SESSION_ENDED.contains(&e.code) => {
            SqlError::ConnectionLost {
                server: url.server(),
                during,
                message: e.to_string(),
            }
        }
        e => SqlError::Query {
            server: url.server(),
            what: during,
            message: super::chain(e),
        },
    }
}

/// Runs a statement that returns nothing.
async fn run(
    conn: &mut Conn,
    url: &StoreUrl,
    limit: Duration,
    during: &'static str,
    sql: &str,
) -> Result<(), SqlError> {
    timed(url, limit, during, async {
        conn.query_drop(sql)
            .await
            .map_err(|e| query_error(url, during, &e))
    })
    .await
}

/// Sets the session up: UTC, so that `NOW()` and `UNIX_TIMESTAMP()` agree whatever the
/// server's time zone (no daylight-saving ambiguity).
async fn set_up(conn: &mut Conn, url: &StoreUrl, limit: Duration) -> Result<(), SqlError> {
    run(
        conn,
        url,
        limit,
        "setting the session's time zone",
        "SET time_zone = '+00:00'",
    )
    .await
}

impl Session {
    /// Connects, reads the as-of time, starts the read transaction and lists the tables'
    /// columns.
    pub(super) async fn open(
        url: &StoreUrl,
        options: &SqlOptions,
    ) -> Result<(Self, Timestamp, Tables), SqlError> {
        let limit = options.timeout;
        let mut conn = connect(url, options).await?;
        set_up(&mut conn, url, limit).await?;
        // Before the snapshot: this time is never later than what the transaction sees.
        let during = "reading the server's clock";
        let micros: Option<i64> = timed(url, limit, during, async {
            conn.query_first("SELECT CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)")
                .await
                .map_err(|e| query_error(url, during, &e))
        })
        .await?;
        let as_of = micros
            .and_then(|m| Timestamp::from_microsecond(m).ok())
            .ok_or_else(|| SqlError::Query {
                server: url.server(),
                what: during,
                message: "the server gave no usable time".into(),
            })?;
        run(
            &mut conn,
            url,
            limit,
            "starting the read transaction",
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        )
        .await?;
        run(
            &mut conn,
            url,
            limit,
            "starting the read transaction",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        )
        .await?;
        let during = "listing the tables' columns";
        let pairs: Vec<(String, String)> = timed(url, limit, during, async {
            conn.query(
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('metadata', 'k8s_engine_info')",
            )
            .await
            .map_err(|e| query_error(url, during, &e))
        })
        .await?;
        Ok((Self { conn }, as_of, Tables::from_pairs(pairs)))
    }

    /// Runs a `SELECT` with `tags` as its parameters and hands each row's cells to `each`.
    pub(super) async fn select(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        sql: &str,
        tags: &[&str],
        mut each: impl FnMut(&[Cell<'_>]) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        let during = "reading rows";
        let params = if tags.is_empty() {
            Params::Empty
        } else {
            Params::Positional(tags.iter().map(|t| Value::from(*t)).collect())
        };
        let conn = &mut self.conn;
        let rows: Vec<Row> = timed(url, limit, during, async {
            conn.exec(sql, params)
                .await
                .map_err(|e| query_error(url, during, &e))
        })
        .await?;
        for row in rows {
            let values: Vec<Value> = (0..row.len())
                .map(|i| row.as_ref(i).map_or(Value::NULL, normalize))
                .collect();
            let cells: Vec<Cell<'_>> = values.iter().map(cell).collect();
            each(&cells)?;
        }
        Ok(())
    }

    /// Ends the transaction and closes the connection.
    pub(super) async fn finish(mut self, url: &StoreUrl, limit: Duration) -> Result<(), SqlError> {
        run(
            &mut self.conn,
            url,
            limit,
            "ending the read transaction",
            "ROLLBACK",
        )
        .await?;
        let during = "closing the connection";
        timed(url, limit, during, async {
            self.conn
                .disconnect()
                .await
                .map_err(|e| query_error(url, during, &e))
        })
        .await
    }
}

/// A value as one [`cell`] can borrow: numbers that do not fit an `i64`, dates and times
/// become text.
fn normalize(value: &Value) -> Value {
    match value {
        Value::UInt(u) if i64::try_from(*u).is_err() => Value::Bytes(u.to_string().into_bytes()),
        Value::Date(y, mo, d, h, mi, s, us) => Value::Bytes(
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}").into_bytes(),
        ),
        Value::Time(negative, days, h, mi, s, us) => Value::Bytes(
            format!(
                "{}{days} {h:02}:{mi:02}:{s:02}.{us:06}",
                if *negative { "-" } else { "" }
            )
            .into_bytes(),
        ),
        other => other.clone(),
    }
}

/// A MySQL value as a cell: integers of every width (and `tinyint(1)` booleans) as `Int`,
/// floating point as `Real`, character and binary strings (`varchar`, `mediumtext`, `DECIMAL`
/// in the text protocol) as `Text`.
fn cell(value: &Value) -> Cell<'_> {
    match value {
        Value::NULL | Value::Date(..) | Value::Time(..) => Cell::Null,
        Value::Bytes(bytes) => Cell::Text(bytes),
        Value::Int(i) => Cell::Int(*i),
        Value::UInt(u) => i64::try_from(*u).map_or(Cell::Null, Cell::Int),
        Value::Float(f) => Cell::Real(f64::from(*f)),
        Value::Double(f) => Cell::Real(*f),
    }
}

/// A row of the change marker's query.
type MarkerRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The change marker's rows: per table, its name, `CREATE_TIME`, `UPDATE_TIME`, and the
/// server's time while the last change is recent.
pub(super) async fn change_marker(
    url: &StoreUrl,
    options: &SqlOptions,
) -> Result<Vec<Vec<Option<String>>>, SqlError> {
    let limit = options.timeout;
    let mut conn = connect(url, options).await?;
    set_up(&mut conn, url, limit).await?;
    // MySQL 8 caches `information_schema.TABLES` statistics for a day unless told not to.
    let during = "asking for fresh table statistics";
    match timed(url, limit, during, async {
        Ok(conn
            .query_drop("SET SESSION information_schema_stats_expiry = 0")
            .await)
    })
    .await?
    {
        Err(mysql_async::Error::Server(e)) if e.code == UNKNOWN_VARIABLE => {}
        Err(e) => return Err(query_error(url, during, &e)),
        Ok(()) => {}
    }
    let during = "asking whether the tables changed";
    let sql = format!(
        "SELECT TABLE_NAME, CAST(CREATE_TIME AS CHAR), CAST(UPDATE_TIME AS CHAR), \
         CASE WHEN UPDATE_TIME >= NOW() - INTERVAL {} SECOND THEN CAST(NOW(6) AS CHAR) END \
         FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('metadata', 'k8s_engine_info') \
         ORDER BY TABLE_NAME",
        super::RECENT_CHANGE.as_secs()
    );
    let rows: Vec<MarkerRow> = timed(url, limit, during, async {
        conn.query(sql)
            .await
            .map_err(|e| query_error(url, during, &e))
    })
    .await?;
    let during = "closing the connection";
    timed(url, limit, during, async {
        conn.disconnect()
            .await
            .map_err(|e| query_error(url, during, &e))
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|(table, created, updated, now)| {
            vec![table.map(|t| t.to_ascii_lowercase()), created, updated, now]
        })
        .collect())
}
