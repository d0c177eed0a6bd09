//! The PostgreSQL side of the server stores, over `tokio-postgres` with rustls.
//!
//! Owns: the connection configuration, TLS per mode (tokio-postgres's `prefer` and `require`
//! negotiation, with this crate's certificate verifiers), the connection task, the transaction
//! statements, decoding (every column is selected as `text`), and the meaning of PostgreSQL
//! errors. Must not: send a statement other than `BEGIN … READ ONLY`, `SELECT` and `ROLLBACK`.

use std::time::Duration;

use jiff::Timestamp;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls};

use super::tls;
use super::{Cell, SqlError, SqlOptions, StoreUrl, Tables, TlsMode, timed};

/// A connection inside its read transaction.
pub(super) struct Session {
    client: Client,
    /// The task driving the connection; its result says why a connection broke.
    connection: JoinHandle<Result<(), tokio_postgres::Error>>,
}

/// Connects as the URL says, within the timeout, and starts the connection's task.
async fn connect(
    url: &StoreUrl,
    options: &SqlOptions,
) -> Result<(Client, JoinHandle<Result<(), tokio_postgres::Error>>), SqlError> {
    let mut config = Config::new();
    config
        .host(&url.host)
        .port(url.port())
        .user(&url.user)
        .dbname(&url.database)
        .application_name("kyuubi-reaper")
        .connect_timeout(options.timeout)
        .ssl_mode(match url.tls.mode {
            TlsMode::Disable => tokio_postgres::config::SslMode::Disable,
            TlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    if let Some(password) = url.password(options) {
        config.password(password);
    }
    let during = "connecting";
    if url.tls.mode == TlsMode::Disable {
        timed(url, options.timeout, during, async {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|e| connect_error(url, &e))?;
            Ok((client, tokio::spawn(connection)))
        })
        .await
    } else {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(&url.tls)?);
        timed(url, options.timeout, during, async {
            let (client, connection) = config
                .connect(tls)
                .await
                .map_err(|e| connect_error(url, &e))?;
            Ok((client, tokio::spawn(connection)))
        })
        .await
    }
}

/// What a failed connection attempt means.
fn connect_error(url: &StoreUrl, error: &tokio_postgres::Error) -> SqlError {
    let server = url.server();
    if let Some(db) = error.as_db_error() {
        let message = db.message().to_string();
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            SqlError::AccessDenied {
                server,
                user: url.user.clone(),
                message,
            }
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            SqlError::NoDatabase {
                server,
                database: url.database.clone(),
                user: url.user.clone(),
                message,
            }
        } else {
            SqlError::Connect {
                server,
                reason: format!("the server refused the connection: {message}"),
            }
        };
    }
    if let Some(tls_error) = tls::rustls_cause(error) {
        return SqlError::Tls {
            server,
            reason: tls::explain(tls_error, url.tls.mode),
        };
    }
    let message = super::chain(error);
    if message.contains("server does not support TLS") {
        return SqlError::Tls {
            server,
            reason: format!(
                "the server does not offer TLS, and sslmode={} requires it",
                url.tls.mode.as_str()
            ),
        };
    }
    if io_kind(error) == Some(std::io::ErrorKind::ConnectionRefused) {
        return SqlError::Connect {
            server,
            reason: format!(
                "connection refused ({message}): is the server running and listening on this \
                 port?"
            ),
        };
    }
    SqlError::Connect {
        server,
        reason: message,
    }
}

/// The kind of the I/O error among an error's causes.
fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

impl Session {
    /// What a failed statement means: a broken connection (with what the connection's task
    /// saw), or the server's refusal.
    async fn query_error(
        &mut self,
        url: &StoreUrl,
        during: &'static str,
        error: &tokio_postgres::Error,
    ) -> SqlError {
        if let Some(db) = error.as_db_error() {
            let message = db.message().to_string();
            // The server is shutting down, or an administrator ended the session.
            return if db.code().code().starts_with("57P") {
                SqlError::ConnectionLost {
                    server: url.server(),
                    during,
                    message,
                }
            } else {
                SqlError::Query {
                    server: url.server(),
                    what: during,
                    message: format!("{message} (SQLSTATE {})", db.code().code()),
                }
            };
        }
        if error.is_closed() || io_kind(error).is_some() {
            let mut message = super::chain(error);
            if self.connection.is_finished()
                && let Ok(Ok(Err(cause))) =
                    tokio::time::timeout(Duration::from_secs(1), &mut self.connection).await
            {
                message = format!("{message} ({})", super::chain(&cause));
            }
            return SqlError::ConnectionLost {
                server: url.server(),
                during,
                message,
            };
        }
        SqlError::Query {
            server: url.server(),
            what: during,
            message: super::chain(error),
        }
    }

    /// Runs statements that return nothing (simple protocol).
    async fn run(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        during: &'static str,
        sql: &str,
    ) -> Result<(), SqlError> {
        let result = timed(url, limit, during, async {
            Ok(self.client.batch_execute(sql).await)
        })
        .await?;
        match result {
            Ok(()) => Ok(()),
            Err(e) => Err(self.query_error(url, during, &e).await),
        }
    }

    /// Runs a query and returns its rows.
    async fn query(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        during: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, SqlError> {
        let result = timed(url, limit, during, async {
            Ok(self.client.query(sql, params).await)
        })
        .await?;
        match result {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.query_error(url, during, &e).await),
        }
    }

    /// Connects, starts the read transaction, reads the as-of time and lists the tables'
    /// columns.
    pub(super) async fn open(
        url: &StoreUrl,
        options: &SqlOptions,
    ) -> Result<(Self, Timestamp, Tables), SqlError> {
        let limit = options.timeout;
        let (client, connection) = connect(url, options).await?;
        let mut session = Self { client, connection };
        session
            .run(
                url,
                limit,
                "starting the read transaction",
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )
            .await?;
        // `now()` is the transaction's start; this first query takes its snapshot, later.
        let during = "reading the server's clock";
        let rows = session
            .query(
                url,
                limit,
                during,
                "SELECT CAST(extract(epoch FROM now()) * 1000000 AS bigint)",
                &[],
            )
            .await?;
        let as_of = rows
            .first()
            .and_then(|row| row.try_get::<_, i64>(0).ok())
            .and_then(|m| Timestamp::from_microsecond(m).ok())
            .ok_or_else(|| SqlError::Query {
                server: url.server(),
                what: during,
                message: "the server gave no usable time".into(),
            })?;
        let during = "listing the tables' columns";
        let rows = session
            .query(
                url,
                limit,
                during,
                "SELECT CAST(table_name AS text), CAST(column_name AS text) \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                 AND table_name IN ('metadata', 'k8s_engine_info')",
                &[],
            )
            .await?;
        let mut pairs = Vec::with_capacity(rows.len());
        for row in &rows {
            match (row.try_get::<_, String>(0), row.try_get::<_, String>(1)) {
                (Ok(table), Ok(column)) => pairs.push((table, column)),
                (Err(e), _) | (_, Err(e)) => {
                    return Err(SqlError::Query {
                        server: url.server(),
                        what: during,
                        message: super::chain(&e),
                    });
                }
            }
        }
        Ok((session, as_of, Tables::from_pairs(pairs)))
    }

    /// Runs a `SELECT` (every column cast to `text`) with `tags` as its parameters and hands
    /// each row's cells to `each`.
    pub(super) async fn select(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        sql: &str,
        tags: &[&str],
        mut each: impl FnMut(&[Cell<'_>]) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        let during = "reading rows";
        let params: Vec<&(dyn ToSql + Sync)> =
            tags.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        let rows = self.query(url, limit, during, sql, &params).await?;
        for row in &rows {
            let mut values: Vec<Option<&str>> = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                values.push(row.try_get(i).map_err(|e| SqlError::Query {
                    server: url.server(),
                    what: during,
                    message: super::chain(&e),
                })?);
            }
            let cells: Vec<Cell<'_>> = values
                .iter()
                .map(|v| v.map_or(Cell::Null, |s| Cell::Text(s.as_bytes())))
                .collect();
            each(&cells)?;
        }
        Ok(())
    }

    /// Ends the transaction and closes the connection.
    pub(super) async fn finish(mut self, url: &StoreUrl, limit: Duration) -> Result<(), SqlError> {
        self.run(url, limit, "ending the read transaction", "ROLLBACK")
            .await?;
        let Session { client, connection } = self;
        // Dropping the client makes the connection's task send Terminate and end.
        drop(client);
        let _ = tokio::time::timeout(limit, connection).await;
        Ok(())
    }
}

/// The change marker's rows: per table, its name, OID, and inserted, updated and deleted row
/// counts from the cumulative statistics.
pub(super) async fn change_marker(
    url: &StoreUrl,
    options: &SqlOptions,
) -> Result<Vec<Vec<Option<String>>>, SqlError> {
    let limit = options.timeout;
    let (client, connection) = connect(url, options).await?;
    let mut session = Session { client, connection };
    let rows = session
        .query(
            url,
            limit,
            "asking whether the tables changed",
            "SELECT CAST(relname AS text), CAST(relid AS text), CAST(n_tup_ins AS text), \
             CAST(n_tup_upd AS text), CAST(n_tup_del AS text) \
             FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname IN ('metadata', 'k8s_engine_info') \
             ORDER BY relname",
            &[],
        )
        .await?;
    let Session { client, connection } = session;
    drop(client);
    let _ = tokio::time::timeout(limit, connection).await;
    Ok(rows
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<_, Option<String>>(i).ok().flatten())
                .collect()
        })
        .collect())
}
