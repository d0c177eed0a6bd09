//! The PostgreSQL side of the server stores, over `tokio-postgres` with rustls.
//!
//! Owns: the connection configuration, the socket (whose messages are checked for length as
//! they arrive, [`Capped`]), TLS per mode (tokio-postgres's `prefer` and `require` negotiation,
//! with this crate's certificate verifiers), the connection task, the transaction statements,
//! decoding (every column is selected as `text`), and the meaning of PostgreSQL errors. Must not: send a statement other than `BEGIN … READ ONLY`, `SELECT` and `ROLLBACK`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use jiff::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
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
    // Host, port and timeouts are the tool's own (the socket is opened below): the driver's
    // `connect_raw` uses only the login settings and the TLS mode.
    let mut config = Config::new();
    config
        .user(&url.user)
        .dbname(&url.database)
        .application_name("kyuubi-reaper")
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
    let tls = if url.tls.mode == TlsMode::Disable {
        None
    } else {
        let mut make = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(&url.tls)?);
        let connect = MakeTlsConnect::<Capped<TcpStream>>::make_tls_connect(&mut make, &url.host)
            .map_err(|e| SqlError::Tls {
            server: url.server(),
            reason: format!("{:?} is not a TLS server name: {e}", url.host),
        })?;
        Some(CappedTls(connect))
    };
    timed(url, options.timeout, during, async {
        // The socket is the tool's own, so that every message the server sends is checked for
        // length before the driver buffers it (see [`Capped`]).
        let tcp = TcpStream::connect((url.host.as_str(), url.port()))
            .await
            .map_err(|e| tcp_error(url, &e))?;
        let _ = tcp.set_nodelay(true);
        match tls {
            None => {
                let (client, connection) = config
                    .connect_raw(Capped::messages(tcp), NoTls)
                    .await
                    .map_err(|e| connect_error(url, &e))?;
                Ok((client, tokio::spawn(connection)))
            }
            Some(tls) => {
                let (client, connection) = config
                    .connect_raw(Capped::negotiating(tcp), tls)
                    .await
                    .map_err(|e| connect_error(url, &e))?;
                Ok((client, tokio::spawn(connection)))
            }
        }
    })
    .await
}

/// What a failed TCP connection means.
fn tcp_error(url: &StoreUrl, error: &std::io::Error) -> SqlError {
    let reason = if error.kind() == std::io::ErrorKind::ConnectionRefused {
        format!("connection refused ({error}): is the server running and listening on this port?")
    } else {
        format!("cannot connect: {error}")
    };
    SqlError::Connect {
        server: url.server(),
        reason,
    }
}

/// The longest message a server may send: a row of this tool's `SELECT`s, whose cells the
/// server cuts ([`super::MAX_CONF_CHARS`], [`super::MAX_CELL_CHARS`]), is a few hundred KiB at
/// most. The driver believes any length a server announces and buffers until it has arrived,
/// so an endpoint that is not PostgreSQL could otherwise fill memory until the timeout.
const MAX_MESSAGE: u32 = 16 << 20;

/// A stream from the server whose PostgreSQL messages (a type byte, then a big-endian length
/// that counts itself) are checked for length as they arrive: one longer than
/// [`MAX_MESSAGE`] fails the read. The raw socket of a TLS connection is checked only for the
/// one-byte answer to the driver's `SSLRequest`: after an `S` it carries TLS records (bounded
/// by rustls), and the messages are checked on the decrypted stream ([`CappedTls`]).
struct Capped<S> {
    inner: S,
    frame: Frame,
}

/// Where a [`Capped`] stream is in the server's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// The next byte answers an `SSLRequest`.
    SslAnswer,
    /// TLS records: not looked at.
    Tls,
    /// In a message's header: `have` of its 5 bytes read, the length's bytes so far.
    Header { have: u8, length: [u8; 4] },
    /// In a message's body, `left` bytes to come.
    Body { left: u64 },
}

impl<S> Capped<S> {
    /// A stream that carries messages from its first byte.
    fn messages(inner: S) -> Self {
        Capped {
            inner,
            frame: Frame::Header {
                have: 0,
                length: [0; 4],
            },
        }
    }

    /// A raw socket on which the driver asks for TLS first.
    fn negotiating(inner: S) -> Self {
        Capped {
            inner,
            frame: Frame::SslAnswer,
        }
    }

    /// Follows `bytes`, just received, through the messages.
    fn follow(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while let Some(&first) = bytes.first() {
            match &mut self.frame {
                Frame::Tls => return Ok(()),
                Frame::SslAnswer => {
                    self.frame = match first {
                        b'S' => Frame::Tls,
                        // No TLS: messages follow.
                        b'N' => Frame::Header {
                            have: 0,
                            length: [0; 4],
                        },
                        // A message instead of an answer (an error, from an old server).
                        _ => Frame::Header {
                            have: 1,
                            length: [0; 4],
                        },
                    };
                    bytes = &bytes[1..];
                }
                Frame::Header { have, length } => {
                    if *have > 0 {
                        length[usize::from(*have) - 1] = first;
                    }
                    *have += 1;
                    bytes = &bytes[1..];
                    if *have == 5 {
                        let n = u32::from_be_bytes(*length);
                        if !(4..=MAX_MESSAGE).contains(&n) {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!(
                                    "the server announced a message of {n} bytes, more than \
                                     the {} MiB any answer to this tool's queries needs (is it \
                                     a PostgreSQL server?)",
                                    MAX_MESSAGE >> 20
                                ),
                            ));
                        }
                        self.frame = Frame::Body {
                            left: u64::from(n - 4),
                        };
                    }
                }
                Frame::Body { left } => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    *left -= take as u64;
                    bytes = &bytes[take..];
                }
            }
            if self.frame == (Frame::Body { left: 0 }) {
                self.frame = Frame::Header {
                    have: 0,
                    length: [0; 4],
                };
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Capped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        std::task::ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.follow(&buf.filled()[before..])?;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Capped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Capped<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose decrypted stream is a [`Capped`] one.
struct CappedTls<T>(T);

impl<S, T: TlsConnect<S>> TlsConnect<S> for CappedTls<T>
where
    T::Stream: Unpin,
{
    type Stream = Capped<T::Stream>;
    type Error = T::Error;
    type Future = futures::future::MapOk<T::Future, fn(T::Stream) -> Capped<T::Stream>>;

    fn connect(self, stream: S) -> Self::Future {
        use futures::TryFutureExt as _;
        self.0
            .connect(stream)
            .map_ok(Capped::messages as fn(T::Stream) -> Capped<T::Stream>)
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
    // A refused connection is told by [`tcp_error`]: the socket is connected before the
    // driver has it.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Follows `bytes` in pieces of `step` bytes.
    fn follow(mut capped: Capped<()>, bytes: &[u8], step: usize) -> std::io::Result<Frame> {
        for piece in bytes.chunks(step) {
            capped.follow(piece)?;
        }
        Ok(capped.frame)
    }

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn messages_are_followed_across_any_split_and_long_ones_refused() {
        let mut stream = message(b'R', &[0, 0, 0, 0]);
        stream.extend(message(b'D', &[7; 300]));
        stream.extend(message(b'Z', b"I"));
        let between = Frame::Header {
            have: 0,
            length: [0; 4],
        };
        for step in 1..=stream.len() {
            assert_eq!(
                follow(Capped::messages(()), &stream, step).unwrap(),
                between
            );
        }
        let mut negotiated = b"N".to_vec();
        negotiated.extend(&stream);
        assert_eq!(
            follow(Capped::negotiating(()), &negotiated, 3).unwrap(),
            between
        );
        // After `S`, TLS records: not messages.
        let tls = [b'S', 0x16, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(
            follow(Capped::negotiating(()), &tls, 1).unwrap(),
            Frame::Tls
        );

        let long = [b'D', 0x01, 0x00, 0x00, 0x01];
        for step in 1..=long.len() {
            let e = follow(Capped::messages(()), &long, step).unwrap_err();
            assert!(e.to_string().contains("16777217 bytes"), "{e}");
        }
        // A length that does not even count itself.
        assert!(follow(Capped::messages(()), &[b'D', 0, 0, 0, 3], 5).is_err());
        // An error message instead of an answer to SSLRequest is a message too.
        let mut error = message(b'E', b"old server");
        assert_eq!(follow(Capped::negotiating(()), &error, 2).unwrap(), between);
        error[1] = 0x7f;
        assert!(follow(Capped::negotiating(()), &error, 2).is_err());
        // The largest message allowed passes.
        let mut largest = vec![b'D'];
        largest.extend_from_slice(&MAX_MESSAGE.to_be_bytes());
        assert_eq!(
            follow(Capped::messages(()), &largest, 5).unwrap(),
            Frame::Body {
                left: u64::from(MAX_MESSAGE - 4)
            }
        );
    }
}
