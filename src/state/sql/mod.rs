//! Reads Kyuubi metadata stores kept in MySQL/MariaDB and PostgreSQL servers (`--store-url`),
//! strictly read-only.
//!
//! Owns: the store URL ([`StoreUrl`]: parsing, TLS options, redaction), connecting with a
//! timeout on every network step, checking the tables (columns introspected from
//! `information_schema`, so every Kyuubi layout loads: MySQL 1.6 to 1.11+, PostgreSQL 1.9 to
//! 1.11+), one read-only repeatable-read transaction per read, fetching only the rows of the
//! candidate tags (bound-parameter `IN` lists, [`SqlOptions::batch`] tags each; besides, one
//! check of each table for rows with a blank identifier, which refuse the read), and the
//! `--store-poll` change marker ([`change_marker`]). The values of each row are handed to
//! [`super::rows`], as the SQLite reader does, so a row gives the same record on every database.
//! This is the only module that uses `mysql_async` and `tokio-postgres`.
//! Must not: send anything but `SELECT`, `SET`, `START TRANSACTION`/`BEGIN` and
//! `COMMIT`/`ROLLBACK` (no write, no DDL, no lock), fetch a whole table's rows, put a password
//! into a message, skip a damaged row, or judge what it reads.
//!
//! # URLs
//!
//! `mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]` (also `mariadb://`; port 3306) and
//! `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?OPTIONS]` (also `postgres://`; port 5432).
//! A `jdbc:` prefix is accepted. User, password and database may be percent-encoded; an IPv6
//! host is written in brackets. The user and the password may also be given as the options
//! `user=` and `password=` (JDBC style), but not both ways. A password given in
//! [`SqlOptions::password`] wins over one in the URL. The URL is shown everywhere as
//! [`StoreUrl::redacted`]: the password, and the value of any option whose name looks like one,
//! become `***`.
//!
//! Options (`&`-separated `name=value`; `_` and `-` are the same in names, case does not matter;
//! an unknown option is an error, never ignored):
//!
//! | option | aliases | meaning |
//! |---|---|---|
//! | `ssl-mode` | `sslmode` | the TLS mode, below |
//! | `ssl-ca` | `sslrootcert`, `sslca` | PEM file of the CA certificate(s) the server's certificate must chain to; only these CAs are trusted |
//! | `ssl-cert` | `sslcert` | PEM file of a client certificate (chain), with `ssl-key` |
//! | `ssl-key` | `sslkey` | PEM file of the client certificate's private key, with `ssl-cert` |
//! | `user` | | the user, when not in the URL's user part |
//! | `password` | | the password, when not in the URL's user part |
//!
//! TLS modes: libpq's names and MySQL's both work with either database.
//!
//! | mode | MySQL name | what it does |
//! |---|---|---|
//! | `disable` | `DISABLED` | no TLS: the password (hashed by MySQL's native plugin and PostgreSQL's SCRAM) and the rows cross the network in clear |
//! | `prefer` (default) | `PREFERRED` (default) | TLS when the server offers it, else plaintext; the certificate is not checked, so this stops passive eavesdropping only. The default of libpq and of the MySQL client |
//! | `require` | `REQUIRED` | TLS, or the connection fails; the certificate is not checked, unless `ssl-ca` is given: then it is checked as by `verify-ca` (libpq's rule) |
//! | `verify-ca` | `VERIFY_CA` | TLS; the server's certificate must chain to a CA in `ssl-ca` (required); its names are not checked |
//! | `verify-full` | `VERIFY_IDENTITY` | as `verify-ca`, and the certificate must name the URL's host (a DNS name or IP address in its subjectAltName) |
//!
//! `ssl-ca` with `disable` or `prefer`, and a client certificate with `disable`, are refused
//! rather than silently unused.
//!
//! # Reading
//!
//! [`SqlStore::open`] connects, starts the read transaction (MySQL: `SET TRANSACTION ISOLATION
//! LEVEL REPEATABLE READ, READ ONLY` and `START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY`;
//! PostgreSQL: `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`), fixes the as-of time from
//! the server's clock, and checks the tables. [`SqlStore::load`] then reads, in that same
//! transaction, the `metadata` and `k8s_engine_info` rows of the tags asked for, ends the
//! transaction and closes the connection. So both tables are one consistent snapshot, and the
//! snapshot is no older than the as-of time.
//!
//! As-of time: PostgreSQL's `now()` inside the transaction (the transaction's start, before its
//! snapshot is taken by its first query); MySQL's `NOW(6)` read in UTC just *before* `START
//! TRANSACTION WITH CONSISTENT SNAPSHOT` (which takes the snapshot), so the time is never later
//! than the snapshot. Kyuubi inserts a batch's row before it creates the pod, so a pod created
//! after that time may belong to a row this read cannot see.
//!
//! Every network step (connect, TLS, login, each statement, closing) is bounded by
//! [`SqlOptions::timeout`]: a server that accepts connections and never answers gives a
//! [`SqlError::Timeout`], not a hang.

mod mysql;
mod postgres;
mod tls;

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use super::rows::{self, Cell};
use super::{BatchRecord, EngineInfoRecord, EngineState, SourceId, SourceKind, SourceSummary};

/// Tags per `IN` list when the caller does not say otherwise.
pub const DEFAULT_BATCH: usize = 1000;

/// The timeout of each network step when the caller does not say otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the as-of time of a database server store is established.
const AS_OF_FROM: &str = "database server clock at the start of the read transaction";

/// Which database a URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// MySQL or MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    fn default_port(self) -> u16 {
        match self {
            Dialect::MySql => 3306,
            Dialect::Postgres => 5432,
        }
    }
}

/// The TLS mode of a connection; see the module documentation for what each one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, without checking its certificate; else plaintext.
    Prefer,
    /// TLS without checking the certificate.
    Require,
    /// TLS; the certificate must chain to the given CA.
    VerifyCa,
    /// TLS; the certificate must chain to the given CA and name the host.
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => Some(TlsMode::Disable),
            "prefer" | "preferred" => Some(TlsMode::Prefer),
            "require" | "required" => Some(TlsMode::Require),
            "verify-ca" => Some(TlsMode::VerifyCa),
            "verify-full" | "verify-identity" => Some(TlsMode::VerifyFull),
            _ => None,
        }
    }

    /// libpq's name of the mode.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }
}

/// The TLS settings of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsOptions {
    /// The mode in effect (`require` with a CA is `verify-ca`).
    mode: TlsMode,
    /// `ssl-ca`.
    ca: Option<PathBuf>,
    /// `ssl-cert` and `ssl-key`.
    client: Option<(PathBuf, PathBuf)>,
}

/// A parsed `--store-url`. Its [`fmt::Display`] and [`fmt::Debug`] forms are
/// [`StoreUrl::redacted`]: neither ever shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreUrl {
    dialect: Dialect,
    /// The scheme as written (lower-cased), for the redacted form.
    scheme: String,
    user: String,
    password: Option<String>,
    /// The host without IPv6 brackets.
    host: String,
    port: Option<u16>,
    database: String,
    tls: TlsOptions,
    /// The options as written (`name`, `value`), for the redacted form.
    options: Vec<(String, String)>,
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Whether an option's value is secret: its name mentions a password, secret or token.
fn is_secret_option(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "credential"]
        .iter()
        .any(|s| name.contains(s))
}

/// Decodes `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Two hex digits: `from_str_radix` alone would take a sign (`%+1`).
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes what could be misread in a URL's user or path part.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn bad(problem: impl Into<String>) -> SqlError {
    SqlError::BadUrl(problem.into())
}

impl StoreUrl {
    /// Parses a store URL (see the module documentation). Errors say what is wrong without
    /// quoting the URL, which may hold a password.
    pub fn parse(s: &str) -> Result<Self, SqlError> {
        let s = s.trim();
        let s = match s.get(..5) {
            Some(prefix) if prefix.eq_ignore_ascii_case("jdbc:") => &s[5..],
            _ => s,
        };
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(bad(
                "not a URL: expected mysql://USER@HOST[:PORT]/DATABASE or \
                 postgresql://USER@HOST[:PORT]/DATABASE",
            ));
        };
        let scheme = scheme.to_ascii_lowercase();
        let dialect = match scheme.as_str() {
            "mysql" | "mariadb" => Dialect::MySql,
            "postgresql" | "postgres" => Dialect::Postgres,
            other => {
                let shown: String = other.chars().take(20).collect();
                return Err(bad(format!(
                    "unsupported scheme `{shown}`: use mysql://, mariadb://, postgresql:// or \
                     postgres://"
                )));
            }
        };
        if rest.contains('#') {
            return Err(bad(
                "a URL fragment (`#…`) is not allowed (percent-encode a `#` in a password as %23)",
            ));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        // The user part ends at the last `@`, so an unencoded `@` in a password still parses.
        let (userinfo, rest) = match rest.rfind('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let Some((authority, path)) = rest.split_once('/') else {
            return Err(bad("no database: add /DATABASE after the host"));
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = percent_decode(user)
                    .ok_or_else(|| bad("the user is not valid percent-encoded UTF-8"))?;
                let password = password
                    .map(|p| {
                        percent_decode(p)
                            .ok_or_else(|| bad("the password is not valid percent-encoded UTF-8"))
                    })
                    .transpose()?;
                ((!user.is_empty()).then_some(user), password)
            }
        };
        let (host, port) = parse_authority(authority)?;
        if path.contains('/') {
            return Err(bad("the database name has a `/`: percent-encode it as %2F"));
        }
        let database = percent_decode(path)
            .ok_or_else(|| bad("the database name is not valid percent-encoded UTF-8"))?;
        if database.is_empty() {
            return Err(bad("no database: add /DATABASE after the host"));
        }
        let parsed = parse_options(query.unwrap_or_default(), user, password)?;
        let (user, password) = (parsed.user, parsed.password);
        let Some(user) = user else {
            return Err(bad("no user: write USER@ before the host"));
        };
        let tls = tls_options(parsed.mode.as_deref(), parsed.ca, parsed.cert, parsed.key)?;
        Ok(Self {
            dialect,
            scheme,
            user,
            password,
            host,
            port,
            database,
            tls,
            options: parsed.written,
        })
    }

    /// Whether the URL itself holds a password (which shows in the process list and shell
    /// history).
    #[must_use]
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The URL with its password, and any password-like option's value, shown as `***`.
    #[must_use]
    pub fn redacted(&self) -> String {
        let mut out = format!("{}://{}", self.scheme, percent_encode(&self.user));
        if self
            .options
            .iter()
            .all(|(name, _)| !name.eq_ignore_ascii_case("password"))
            && self.password.is_some()
        {
            out.push_str(":***");
        }
        out.push('@');
        out.push_str(&self.server_host());
        if let Some(port) = self.port {
            let _ = write!(out, ":{port}");
        }
        out.push('/');
        out.push_str(&percent_encode(&self.database));
        for (i, (name, value)) in self.options.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(name);
            out.push('=');
            out.push_str(if is_secret_option(name) { "***" } else { value });
        }
        out
    }

    /// The host as written in a URL (IPv6 in brackets).
    fn server_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port`, for messages.
    fn server(&self) -> String {
        format!("{}:{}", self.server_host(), self.port())
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(self.dialect.default_port())
    }

    /// The TLS mode in effect.
    #[must_use]
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.mode
    }

    /// The password to log in with: the caller's, else the URL's.
    fn password<'a>(&'a self, options: &'a SqlOptions) -> Option<&'a str> {
        options.password.as_deref().or(self.password.as_deref())
    }
}

/// What a URL's options set.
#[derive(Default)]
struct ParsedOptions {
    user: Option<String>,
    password: Option<String>,
    mode: Option<String>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    /// The options as written (`name`, `value`).
    written: Vec<(String, String)>,
}

/// Parses a URL's `NAME=VALUE&…` options; `user` and `password` are those of the URL's user
/// part, which the options may not repeat.
fn parse_options(
    query: &str,
    user: Option<String>,
    password: Option<String>,
) -> Result<ParsedOptions, SqlError> {
    let mut parsed = ParsedOptions {
        user,
        password,
        ..ParsedOptions::default()
    };
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let Some((name, value)) = pair.split_once('=') else {
            return Err(bad("an option without `=value` (options are NAME=VALUE&…)"));
        };
        let name =
            percent_decode(name).ok_or_else(|| bad("an option name is not percent-encoded"))?;
        let raw_value = value;
        let value = percent_decode(value).ok_or_else(|| {
            bad(format!(
                "the value of option `{name}` is not valid percent-encoded UTF-8"
            ))
        })?;
        let canonical = name.to_ascii_lowercase().replace('_', "-");
        let slot: &mut Option<String> = match canonical.as_str() {
            "ssl-mode" | "sslmode" => &mut parsed.mode,
            "ssl-ca" | "sslca" | "sslrootcert" => &mut parsed.ca,
            "ssl-cert" | "sslcert" => &mut parsed.cert,
            "ssl-key" | "sslkey" => &mut parsed.key,
            "user" => {
                if parsed.user.is_some() {
                    return Err(bad("the user is given twice: in the URL and as user="));
                }
                &mut parsed.user
            }
            "password" => {
                if parsed.password.is_some() {
                    return Err(bad(
                        "the password is given twice: in the URL and as password=",
                    ));
                }
                &mut parsed.password
            }
            _ => {
                return Err(bad(format!(
                    "unknown option `{name}`; the known options are ssl-mode, ssl-ca \
                     (sslrootcert), ssl-cert, ssl-key, user and password"
                )));
            }
        };
        if slot.is_some() {
            return Err(bad(format!("option `{name}` is given twice")));
        }
        if value.is_empty() && canonical != "password" {
            return Err(bad(format!("option `{name}` has an empty value")));
        }
        *slot = Some(value);
        parsed.written.push((name, raw_value.to_string()));
    }
    Ok(parsed)
}

/// `host[:port]` of a URL.
fn parse_authority(authority: &str) -> Result<(String, Option<u16>), SqlError> {
    if authority.contains(',') {
        return Err(bad("more than one host: give one host per --store-url"));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(bad("an IPv6 host without its closing `]`"));
        };
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(|| bad("unexpected text after the IPv6 host"))?,
            ),
        };
        (host.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host: write USER@HOST[:PORT]/DATABASE"));
    }
    let port = port
        .map(|p| match p.parse::<u16>() {
            // Digits only: `parse` alone would take `+3306`.
            Ok(port) if port > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
            _ => Err(bad(format!("bad port `{p}`: a number from 1 to 65535"))),
        })
        .transpose()?;
    Ok((host, port))
}

/// The TLS settings from the `ssl-*` options, checked for combinations that would silently not
/// do what they say.
fn tls_options(
    mode: Option<&str>,
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
) -> Result<TlsOptions, SqlError> {
    let mode = match mode {
        None => TlsMode::Prefer,
        Some(value) => TlsMode::parse(value).ok_or_else(|| {
            bad(format!(
                "bad ssl-mode `{value}`: one of disable, prefer, require, verify-ca, verify-full \
                 (or DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY)"
            ))
        })?,
    };
    let mode = match (mode, &ca) {
        (TlsMode::Disable | TlsMode::Prefer, Some(_)) => {
            return Err(bad(format!(
                "ssl-ca is not used with ssl-mode={}: the server's certificate is checked only \
                 with require, verify-ca or verify-full",
                mode.as_str()
            )));
        }
        (TlsMode::VerifyCa | TlsMode::VerifyFull, None) => {
            return Err(bad(format!(
                "ssl-mode={} needs ssl-ca=PATH (sslrootcert=PATH): the PEM file of the CA that \
                 signed the server's certificate",
                mode.as_str()
            )));
        }
        // libpq's rule: `require` with a root certificate checks it as `verify-ca` does.
        (TlsMode::Require, Some(_)) => TlsMode::VerifyCa,
        (mode, _) => mode,
    };
    let client = match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
        _ => {
            return Err(bad(
                "a client certificate needs both ssl-cert=PATH and ssl-key=PATH",
            ));
        }
    };
    if mode == TlsMode::Disable && client.is_some() {
        return Err(bad(
            "ssl-cert and ssl-key are not used with ssl-mode=disable",
        ));
    }
    Ok(TlsOptions {
        mode,
        ca: ca.map(PathBuf::from),
        client,
    })
}

/// How a server store is read.
#[derive(Clone)]
pub struct SqlOptions {
    /// The password, from `$KYUUBI_REAPER_STORE_PASSWORD` or `--store-password-file` (resolved by
    /// the caller); wins over a password in the URL.
    pub password: Option<String>,
    /// The limit of each network step: connecting (TCP, TLS and login together), and each
    /// statement.
    pub timeout: Duration,
    /// Tags per `IN` list (bound parameters per statement); 0 counts as 1.
    pub batch: usize,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            password: None,
            timeout: DEFAULT_TIMEOUT,
            batch: DEFAULT_BATCH,
        }
    }
}

impl fmt::Debug for SqlOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlOptions")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("batch", &self.batch)
            .finish()
    }
}

/// Why a server store could not be read. Messages name the server as `host:port` and never
/// hold the password.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The URL cannot be used: what is wrong with it.
    #[error("bad store URL: {0}")]
    BadUrl(String),
    /// No connection could be made (refused, unreachable, unknown host, handshake failed).
    #[error("cannot connect to {server}: {reason}")]
    Connect {
        /// `host:port`.
        server: String,
        /// What the operating system or the server said.
        reason: String,
    },
    /// The server refused the login.
    #[error(
        "{server} refused the login of user `{user}` (access denied: a wrong password, or the \
         user may not log in from this host): {message}"
    )]
    AccessDenied {
        /// `host:port`.
        server: String,
        /// The user.
        user: String,
        /// The server's message.
        message: String,
    },
    /// The database does not exist, or the user may not use it.
    #[error("{server} has no database `{database}` that user `{user}` may use: {message}")]
    NoDatabase {
        /// `host:port`.
        server: String,
        /// The database.
        database: String,
        /// The user.
        user: String,
        /// The server's message.
        message: String,
    },
    /// TLS could not be set up, or the server's certificate was not accepted.
    #[error("TLS with {server} failed: {reason}")]
    Tls {
        /// `host:port`.
        server: String,
        /// Why.
        reason: String,
    },
    /// A TLS file named in the URL cannot be used.
    #[error("cannot use the {what} file {}: {reason}", path.display())]
    TlsFile {
        /// Which file: CA, client certificate or client key.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The database has no `metadata` table the user can read.
    #[error(
        "no `metadata` table in database `{database}` that user `{user}` can read: not a Kyuubi \
         metadata store (or the user lacks SELECT on it)"
    )]
    NoMetadataTable {
        /// The database.
        database: String,
        /// The user.
        user: String,
    },
    /// A table lacks a column the reader cannot do without.
    #[error(
        "the `{table}` table in database `{database}` has no `{column}` column: not a Kyuubi \
         metadata store"
    )]
    MissingColumn {
        /// The database.
        database: String,
        /// The table.
        table: &'static str,
        /// The missing column.
        column: &'static str,
    },
    /// A row lacks a value every Kyuubi row has: the store is damaged.
    #[error(
        "damaged store: a `{table}` row (identifier {identifier:?}) has no {missing} (NULL or \
         empty); a store with such rows cannot tell which engines are alive"
    )]
    DamagedRow {
        /// The table.
        table: &'static str,
        /// The row's identifier, as stored.
        identifier: String,
        /// The missing column.
        missing: &'static str,
    },
    /// A table returned more rows than identifiers were asked for: one is held twice, which
    /// Kyuubi's unique index on `identifier` forbids.
    #[error(
        "damaged store: `{table}` holds more rows than the {asked} identifiers asked for, so an \
         identifier is held twice (Kyuubi's tables have a unique index on `identifier`)"
    )]
    DuplicateRows {
        /// The table.
        table: &'static str,
        /// How many identifiers one query asked for.
        asked: usize,
    },
    /// A statement failed.
    #[error("{what} failed on {server}: {message}")]
    Query {
        /// `host:port`.
        server: String,
        /// What was being done.
        what: &'static str,
        /// The server's or driver's message.
        message: String,
    },
    /// The connection broke after it was made (the server stopped or the network failed).
    #[error("the connection to {server} was lost while {during}: {message}")]
    ConnectionLost {
        /// `host:port`.
        server: String,
        /// What was being done.
        during: &'static str,
        /// What the driver saw.
        message: String,
    },
    /// The server did not answer in time.
    #[error(
        "{server} did not answer within {:.1} s while {during} (a server that accepts \
         connections but does not answer, or a network that drops them)",
        after.as_secs_f64()
    )]
    Timeout {
        /// `host:port`.
        server: String,
        /// What was being done.
        during: &'static str,
        /// The limit.
        after: Duration,
    },
}

/// Runs one network step within `limit`.
async fn timed<T>(
    url: &StoreUrl,
    limit: Duration,
    during: &'static str,
    step: impl Future<Output = Result<T, SqlError>>,
) -> Result<T, SqlError> {
    tokio::time::timeout(limit, step).await.unwrap_or_else(|_| {
        Err(SqlError::Timeout {
            server: url.server(),
            during,
            after: limit,
        })
    })
}

/// An error and the errors that caused it, joined with `: ` (drivers put the useful part, the
/// operating system's or the TLS library's words, in the causes).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The column names of the two tables, as the server's `information_schema` lists them.
#[derive(Debug, Clone, Default)]
struct Tables {
    metadata: Option<BTreeSet<String>>,
    engine_info: Option<BTreeSet<String>>,
}

impl Tables {
    /// Sorts `(table, column)` pairs into the two tables (names compared in lower case).
    fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut tables = Tables::default();
        for (table, column) in pairs {
            let slot = match table.to_ascii_lowercase().as_str() {
                "metadata" => &mut tables.metadata,
                "k8s_engine_info" => &mut tables.engine_info,
                _ => continue,
            };
            slot.get_or_insert_with(BTreeSet::new)
                .insert(column.to_ascii_lowercase());
        }
        tables
    }

    /// Checks the columns the reader cannot do without.
    fn check(&self, url: &StoreUrl) -> Result<(), SqlError> {
        let Some(metadata) = &self.metadata else {
            return Err(SqlError::NoMetadataTable {
                database: url.database.clone(),
                user: url.user.clone(),
            });
        };
        for column in ["identifier", "state"] {
            if !metadata.contains(column) {
                return Err(SqlError::MissingColumn {
                    database: url.database.clone(),
                    table: "metadata",
                    column,
                });
            }
        }
        if let Some(columns) = &self.engine_info
            && !columns.contains("identifier")
        {
            return Err(SqlError::MissingColumn {
                database: url.database.clone(),
                table: "k8s_engine_info",
                column: "identifier",
            });
        }
        Ok(())
    }
}

/// The most characters of a `request_conf` the server sends: each column is cut by the server
/// (`LEFT`), so a row costs at most a few hundred KiB however large its values are, and an
/// `IN` list's rows (at most one more than its tags) a bounded amount. Kyuubi's `request_conf`
/// is a few KiB; a cut one is no longer JSON and its row's namespace is unknown, with a
/// warning.
pub const MAX_CONF_CHARS: usize = 64 * 1024;

/// The most characters of any other value the server sends (identifiers, states, engine ids,
/// instances and times are far shorter; a cut one reads as what it is, a damaged value).
pub const MAX_CELL_CHARS: usize = 1024;

/// `SELECT a, b, NULL, … FROM table WHERE identifier IN (…n parameters…) LIMIT n+1`, with NULL
/// in place of each column the table lacks and each cell cut to [`MAX_CELL_CHARS`]
/// ([`MAX_CONF_CHARS`] for `request_conf`): more rows than tags means an identifier is held
/// twice, which is refused, and the limit keeps such a table from filling memory. MySQL quotes
/// names with backticks and takes `?` parameters (`LEFT` gives every value as text, which the
/// rows' decoding reads); PostgreSQL quotes with double quotes, takes `$n` parameters, and
/// every column is cast to `text` (one decoding for every type a Kyuubi version used: bigint,
/// int, boolean, text, varchar).
fn select_sql(
    dialect: Dialect,
    table: &str,
    wanted: &[&str],
    present: &BTreeSet<String>,
    n: usize,
) -> String {
    let columns: Vec<String> = wanted
        .iter()
        .map(|c| {
            let cut = if *c == "request_conf" {
                MAX_CONF_CHARS
            } else {
                MAX_CELL_CHARS
            };
            match (dialect, present.contains(*c)) {
                (Dialect::MySql, true) => format!("LEFT(`{c}`, {cut})"),
                (Dialect::MySql, false) => "NULL".to_string(),
                (Dialect::Postgres, true) => format!("LEFT(CAST(\"{c}\" AS text), {cut})"),
                (Dialect::Postgres, false) => "CAST(NULL AS text)".to_string(),
            }
        })
        .collect();
    let parameters: Vec<String> = (1..=n)
        .map(|i| match dialect {
            Dialect::MySql => "?".to_string(),
            Dialect::Postgres => format!("${i}"),
        })
        .collect();
    let (table, identifier) = match dialect {
        Dialect::MySql => (format!("`{table}`"), "`identifier`"),
        Dialect::Postgres => (format!("\"{table}\""), "\"identifier\""),
    };
    format!(
        "SELECT {} FROM {table} WHERE {identifier} IN ({}) LIMIT {}",
        columns.join(", "),
        parameters.join(", "),
        n + 1
    )
}

/// `SELECT identifier FROM table WHERE` it is NULL or blank `LIMIT 1`: such a row could be any
/// engine's, so a store that holds one cannot say that an engine has no record (the SQLite
/// reader, which reads every row, refuses such a store too). The whole table is scanned.
fn blank_identifier_sql(dialect: Dialect, table: &str) -> String {
    match dialect {
        Dialect::MySql => format!(
            "SELECT LEFT(`identifier`, {MAX_CELL_CHARS}) FROM `{table}` WHERE `identifier` IS \
             NULL OR `identifier` REGEXP '^[[:space:]]*$' LIMIT 1"
        ),
        Dialect::Postgres => format!(
            "SELECT LEFT(CAST(\"identifier\" AS text), {MAX_CELL_CHARS}) FROM \"{table}\" WHERE \
             \"identifier\" IS NULL OR CAST(\"identifier\" AS text) ~ '^[[:space:]]*$' LIMIT 1"
        ),
    }
}

/// What one read fetched.
#[derive(Default)]
struct Fetched {
    batches: Vec<(String, BatchRecord)>,
    engine_infos: Vec<(String, EngineInfoRecord)>,
    /// `metadata` rows fetched (all of the asked-for tags).
    batches_seen: usize,
    /// `k8s_engine_info` rows fetched.
    engine_infos_seen: usize,
    warnings: Vec<String>,
}

impl Fetched {
    /// Adds a fetched `metadata` row (cells in [`rows::METADATA_COLUMNS`] order), kept when its
    /// identifier is one of `tags` (a case-insensitive collation can return others).
    fn batch(&mut self, cells: &[Cell<'_>], tags: &BTreeSet<&str>) -> Result<(), SqlError> {
        self.batches_seen += 1;
        let damaged = |missing| SqlError::DamagedRow {
            table: "metadata",
            identifier: rows::text(cells.first().copied().unwrap_or(Cell::Null))
                .unwrap_or_default(),
            missing,
        };
        let Some(tag) = rows::identifier(cells) else {
            return Err(damaged("identifier"));
        };
        if rows::state_missing(cells) {
            return Err(damaged("state"));
        }
        if tags.contains(tag.as_str()) {
            let record = rows::batch_record(cells, &mut self.warnings, &tag);
            self.batches.push((tag, record));
        }
        Ok(())
    }

    /// Adds a fetched `k8s_engine_info` row (cells in [`rows::ENGINE_INFO_COLUMNS`] order).
    fn engine_info(&mut self, cells: &[Cell<'_>], tags: &BTreeSet<&str>) -> Result<(), SqlError> {
        self.engine_infos_seen += 1;
        let Some(tag) = rows::identifier(cells) else {
            return Err(SqlError::DamagedRow {
                table: "k8s_engine_info",
                identifier: String::new(),
                missing: "identifier",
            });
        };
        if tags.contains(tag.as_str()) {
            let record = rows::engine_info_record(cells, &mut self.warnings, &tag);
            self.engine_infos.push((tag, record));
        }
        Ok(())
    }
}

/// The open connection of one backend.
enum Session {
    MySql(mysql::Session),
    Postgres(postgres::Session),
}

impl Session {
    /// Runs a `SELECT` with `tags` as its parameters and hands each row's cells to `each`.
    async fn select(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        sql: &str,
        tags: &[&str],
        each: impl FnMut(&[Cell<'_>]) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        match self {
            Self::MySql(session) => session.select(url, limit, sql, tags, each).await,
            Self::Postgres(session) => session.select(url, limit, sql, tags, each).await,
        }
    }

    /// Refuses a `metadata` (and `k8s_engine_info`) table holding a row whose identifier is
    /// NULL or blank (see [`blank_identifier_sql`]).
    async fn refuse_blank_identifiers(
        &mut self,
        url: &StoreUrl,
        limit: Duration,
        engine_info: bool,
    ) -> Result<(), SqlError> {
        let tables = std::iter::once("metadata").chain(engine_info.then_some("k8s_engine_info"));
        for table in tables {
            let sql = blank_identifier_sql(url.dialect, table);
            let mut blank = None;
            self.select(url, limit, &sql, &[], |cells| {
                blank = Some(rows::identifier(cells).unwrap_or_default());
                Ok(())
            })
            .await?;
            if let Some(identifier) = blank {
                return Err(SqlError::DamagedRow {
                    table,
                    identifier,
                    missing: "identifier",
                });
            }
        }
        Ok(())
    }

    /// Ends the read transaction and closes the connection.
    async fn finish(self, url: &StoreUrl, limit: Duration) -> Result<(), SqlError> {
        match self {
            Self::MySql(session) => session.finish(url, limit).await,
            Self::Postgres(session) => session.finish(url, limit).await,
        }
    }
}

/// A metadata store in a database server, connected, checked, and inside its read transaction.
pub struct SqlStore {
    url: StoreUrl,
    timeout: Duration,
    batch: usize,
    as_of: Timestamp,
    tables: Tables,
    session: Session,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("url", &self.url)
            .field("as_of", &self.as_of)
            .field("layout", &self.layout())
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Connects (TLS as the URL says), starts one read-only repeatable-read transaction, reads
    /// the as-of time from the server's clock, and checks the tables: `metadata` must exist with
    /// `identifier` and `state`; `k8s_engine_info` is optional (Kyuubi 1.11+) but must have
    /// `identifier` when present. Column lists come from `information_schema`, so only tables
    /// the user can read are seen.
    pub async fn open(url: &StoreUrl, options: &SqlOptions) -> Result<Self, SqlError> {
        let (session, as_of, tables) = match url.dialect {
            Dialect::MySql => {
                let (session, as_of, tables) = mysql::Session::open(url, options).await?;
                (Session::MySql(session), as_of, tables)
            }
            Dialect::Postgres => {
                let (session, as_of, tables) = postgres::Session::open(url, options).await?;
                (Session::Postgres(session), as_of, tables)
            }
        };
        tables.check(url)?;
        tracing::debug!(
            "store {url}: connected ({} TLS mode), as of {as_of}, layout {}",
            url.tls.mode.as_str(),
            rows::layout(
                tables.metadata.as_ref().unwrap_or(&BTreeSet::new()),
                tables.engine_info.is_some()
            )
        );
        Ok(Self {
            url: url.clone(),
            timeout: options.timeout,
            batch: options.batch.max(1),
            as_of,
            tables,
            session,
        })
    }

    /// `store <redacted URL>`.
    #[must_use]
    pub fn name(&self) -> String {
        format!("store {}", self.url.redacted())
    }

    /// Which Kyuubi versions wrote a store with this table layout, e.g.
    /// `1.11+ (metadata, k8s_engine_info)` (as for SQLite stores).
    #[must_use]
    pub fn layout(&self) -> String {
        rows::layout(
            self.tables.metadata.as_ref().unwrap_or(&BTreeSet::new()),
            self.tables.engine_info.is_some(),
        )
    }

    /// The database server's clock at the start of the read transaction.
    #[must_use]
    pub fn as_of(&self) -> Timestamp {
        self.as_of
    }

    /// Reads, in the transaction [`SqlStore::open`] started, the `metadata` and
    /// `k8s_engine_info` rows whose identifier is one of `tags` (duplicates and empty tags are
    /// dropped; `IN` lists of [`SqlOptions::batch`] bound parameters; never the whole table,
    /// which is only checked for blank identifiers), adds one source and its records to
    /// `state`, then ends the transaction (`ROLLBACK`: it wrote nothing) and closes the
    /// connection. The source's `batches` and `engine_infos` count the rows *fetched*, that is
    /// the rows of the asked-for tags, not the tables' sizes. A row without identifier (any
    /// row) or state (a fetched one), or an identifier held twice, refuses the load; a value
    /// that cannot be read is ignored with a warning in the source summary.
    pub async fn load(self, state: &mut EngineState, tags: &[&str]) -> Result<SourceId, SqlError> {
        let tags: BTreeSet<&str> = tags.iter().copied().filter(|t| !t.is_empty()).collect();
        let list: Vec<&str> = tags.iter().copied().collect();
        let started = std::time::Instant::now();
        let metadata_sql = |n| {
            select_sql(
                self.url.dialect,
                "metadata",
                &rows::METADATA_COLUMNS,
                self.tables.metadata.as_ref().unwrap_or(&BTreeSet::new()),
                n,
            )
        };
        let engine_info_sql = |n| {
            self.tables.engine_info.as_ref().map(|columns| {
                select_sql(
                    self.url.dialect,
                    "k8s_engine_info",
                    &rows::ENGINE_INFO_COLUMNS,
                    columns,
                    n,
                )
            })
        };
        let mut fetched = Fetched::default();
        let url = &self.url;
        let limit = self.timeout;
        let mut session = self.session;
        session
            .refuse_blank_identifiers(url, limit, self.tables.engine_info.is_some())
            .await?;
        let too_many = |table, asked| SqlError::DuplicateRows { table, asked };
        for chunk in list.chunks(self.batch) {
            let sql = metadata_sql(chunk.len());
            let before = fetched.batches_seen;
            session
                .select(url, limit, &sql, chunk, |cells| fetched.batch(cells, &tags))
                .await?;
            if fetched.batches_seen - before > chunk.len() {
                return Err(too_many("metadata", chunk.len()));
            }
            if let Some(sql) = engine_info_sql(chunk.len()) {
                let before = fetched.engine_infos_seen;
                session
                    .select(url, limit, &sql, chunk, |cells| {
                        fetched.engine_info(cells, &tags)
                    })
                    .await?;
                if fetched.engine_infos_seen - before > chunk.len() {
                    return Err(too_many("k8s_engine_info", chunk.len()));
                }
            }
        }
        session.finish(url, limit).await?;
        tracing::debug!(
            "store {url}: fetched {} metadata and {} k8s_engine_info rows for {} tags in {:.3} s",
            fetched.batches_seen,
            fetched.engine_infos_seen,
            list.len(),
            started.elapsed().as_secs_f64()
        );
        let layout = rows::layout(
            self.tables.metadata.as_ref().unwrap_or(&BTreeSet::new()),
            self.tables.engine_info.is_some(),
        );
        let id = state.add_source(SourceSummary {
            kind: SourceKind::Store,
            location: url.redacted(),
            as_of: self.as_of,
            as_of_from: AS_OF_FROM,
            layout,
            batches: fetched.batches_seen,
            engine_infos: fetched.engine_infos_seen,
            warnings: fetched.warnings,
            ..SourceSummary::default()
        });
        for (tag, mut record) in fetched.batches {
            record.source = id;
            state.add_batch(tag, record);
        }
        for (tag, mut record) in fetched.engine_infos {
            record.source = id;
            state.add_engine_info(tag, record);
        }
        Ok(id)
    }
}

/// An opaque value that changes whenever a row of `metadata` or `k8s_engine_info` is inserted,
/// updated or deleted; compare two with `==`. See [`change_marker`].
#[derive(PartialEq, Eq, Clone, Debug)]
pub struct ChangeMarker(Vec<Option<String>>);

/// Asks the server, in one cheap query on a fresh connection, for a value that changes when
/// either table's rows change (for `watch --store-poll`). It reads statistics the server keeps
/// per table, never the rows, so its cost does not grow with the tables, and a SELECT-only user
/// may ask it.
///
/// - PostgreSQL: each table's OID and its cumulative `n_tup_ins`, `n_tup_upd` and `n_tup_del`
///   from `pg_stat_user_tables`. A committed change shows once the writing backend reports its
///   statistics, which it does when it goes idle but at most once a second: a report held
///   back waits for the idle interval (10 s in PostgreSQL 15+; before, until the backend's next
///   transaction, which Kyuubi's pooled connections make within seconds). Rolled
///   back changes and statistics resets also change the marker (harmless false positives).
/// - MySQL/MariaDB: each table's `CREATE_TIME` and `UPDATE_TIME` from
///   `information_schema.TABLES` (`InnoDB` keeps `UPDATE_TIME` in memory, to the second; MySQL 8's
///   cache of it is bypassed with `information_schema_stats_expiry = 0`). Because the time has
///   whole seconds, while the last change is less than [`RECENT_CHANGE`] old the marker also
///   holds the server's current time, so every poll in that window counts as a change and a
///   second change within the same second is never missed. `UPDATE_TIME` is not kept across a
///   server restart (it reads NULL until the next change) and, per MariaDB's documentation, is
///   NULL for tables in the shared system tablespace (`innodb_file_per_table=OFF`): there only
///   `watch`'s timer re-reads the store. MariaDB records a transaction's start time, so a
///   writing transaction longer than [`RECENT_CHANGE`] could be missed (Kyuubi's are single
///   statements).
///
/// Missed changes only delay a deletion until `watch`'s timed re-read; false positives cost
/// one read of the candidate tags.
pub async fn change_marker(url: &StoreUrl, options: &SqlOptions) -> Result<ChangeMarker, SqlError> {
    let rows = match url.dialect {
        Dialect::MySql => mysql::change_marker(url, options).await?,
        Dialect::Postgres => postgres::change_marker(url, options).await?,
    };
    if !rows
        .iter()
        .any(|row| row.first().and_then(Option::as_deref) == Some("metadata"))
    {
        return Err(SqlError::NoMetadataTable {
            database: url.database.clone(),
            user: url.user.clone(),
        });
    }
    Ok(ChangeMarker(rows.into_iter().flatten().collect()))
}

/// How long after a MySQL table's last change its marker keeps changing on every poll.
pub const RECENT_CHANGE: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> StoreUrl {
        StoreUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn error(s: &str) -> String {
        match StoreUrl::parse(s) {
            Ok(url) => panic!("{s} parsed as {url}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn urls_parse_for_both_databases() {
        let url = parse("mysql://kyuubi:s3cret@db.example:3307/kyuubi_meta");
        assert_eq!(url.dialect, Dialect::MySql);
        assert_eq!(url.user, "kyuubi");
        assert_eq!(url.password.as_deref(), Some("s3cret"));
        assert_eq!(url.server(), "db.example:3307");
        assert_eq!(url.database, "kyuubi_meta");
        assert_eq!(url.tls_mode(), TlsMode::Prefer);
        assert!(url.has_password());

        let url =
            parse("postgres://reader@10.0.0.5/kyuubi?sslmode=verify-full&sslrootcert=/ca.pem");
        assert_eq!(url.dialect, Dialect::Postgres);
        assert_eq!(url.server(), "10.0.0.5:5432");
        assert_eq!(url.tls_mode(), TlsMode::VerifyFull);
        assert_eq!(url.tls.ca.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert!(!url.has_password());

        let url = parse("mariadb://u@[::1]/k?ssl-mode=VERIFY_CA&ssl-ca=/ca.pem");
        assert_eq!(url.dialect, Dialect::MySql);
        assert_eq!(url.server(), "[::1]:3306");
        assert_eq!(url.tls_mode(), TlsMode::VerifyCa);

        let url = parse("jdbc:postgresql://h:6432/k?user=r%40x&password=p%26w&ssl_mode=DISABLED");
        assert_eq!(url.user, "r@x");
        assert_eq!(url.password.as_deref(), Some("p&w"));
        assert_eq!(url.tls_mode(), TlsMode::Disable);

        // An unencoded `@` in the password still parses (the user part ends at the last `@`).
        let url = parse("mysql://u:p@ss@h/k");
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.host, "h");

        // libpq's rule: `require` with a root certificate checks it as verify-ca.
        let url = parse("postgresql://u@h/k?sslmode=require&sslrootcert=/ca.pem");
        assert_eq!(url.tls_mode(), TlsMode::VerifyCa);
        let url = parse("mysql://u@h/k?ssl-mode=REQUIRED");
        assert_eq!(url.tls_mode(), TlsMode::Require);
        let url = parse("mysql://u@h/k?ssl-mode=required&ssl-cert=/c.pem&ssl-key=/k.pem");
        assert!(url.tls.client.is_some());
    }

    #[test]
    fn redaction_hides_every_password() {
        let url = parse("mysql://kyuubi:s3cret@db:3307/meta?ssl-mode=REQUIRED");
        assert_eq!(
            url.redacted(),
            "mysql://kyuubi:***@db:3307/meta?ssl-mode=REQUIRED"
        );
        assert_eq!(url.to_string(), url.redacted());
        assert!(!format!("{url:?}").contains("s3cret"), "{url:?}");
        let url = parse("postgresql://r@h/k?password=topsecret&sslmode=disable");
        assert_eq!(
            url.redacted(),
            "postgresql://r@h/k?password=***&sslmode=disable"
        );
        assert!(!format!("{url:?} {url}").contains("topsecret"));
        let url = parse("postgres://r%20x:p@[::1]:5433/my%2Fdb%3F");
        assert_eq!(url.redacted(), "postgres://r%20x:***@[::1]:5433/my%2Fdb%3F");
        let options = SqlOptions {
            password: Some("hunter2".into()),
            ..SqlOptions::default()
        };
        assert!(!format!("{options:?}").contains("hunter2"));
    }

    #[test]
    fn the_callers_password_wins_over_the_urls() {
        let url = parse("mysql://u:from-url@h/k");
        let mut options = SqlOptions::default();
        assert_eq!(url.password(&options), Some("from-url"));
        options.password = Some("from-env".into());
        assert_eq!(url.password(&options), Some("from-env"));
        let url = parse("mysql://u@h/k");
        assert_eq!(url.password(&options), Some("from-env"));
    }

    #[test]
    fn bad_urls_say_what_is_wrong_without_quoting_the_password() {
        for (url, expected) in [
            ("kyuubi:secret@db/meta", "not a URL"),
            ("sqlite://secret@db/meta", "unsupported scheme `sqlite`"),
            ("mysql://u:secret@db", "no database"),
            ("mysql://u:secret@db/", "no database"),
            ("mysql://u:secret@/k", "no host"),
            ("mysql://:secret@h/k", "no user"),
            ("mysql://h/k", "no user"),
            ("mysql://u:secret@h:99999/k", "bad port `99999`"),
            ("mysql://u:secret@h:0/k", "bad port"),
            ("mysql://u:secret@h:+3306/k", "bad port `+3306`"),
            ("postgresql://u:sec%+1ret@h/k", "password is not valid"),
            ("mysql://u:secret@h1,h2/k", "more than one host"),
            (
                "mysql://u:secret@h/k?useSSL=false",
                "unknown option `useSSL`",
            ),
            (
                "mysql://u:secret@h/k?ssl-mode",
                "an option without `=value`",
            ),
            (
                "mysql://u:secret@h/k?ssl-mode=sometimes",
                "bad ssl-mode `sometimes`",
            ),
            ("mysql://u:secret@h/k?sslmode=allow", "bad ssl-mode `allow`"),
            (
                "mysql://u:secret@h/k?ssl-mode=VERIFY_IDENTITY",
                "needs ssl-ca=PATH",
            ),
            (
                "postgresql://u:secret@h/k?sslmode=verify-ca",
                "needs ssl-ca=PATH",
            ),
            (
                "postgresql://u:secret@h/k?sslrootcert=/ca.pem",
                "not used with ssl-mode=prefer",
            ),
            (
                "postgresql://u:secret@h/k?sslmode=disable&sslrootcert=/c",
                "not used with",
            ),
            (
                "postgresql://u:secret@h/k?sslcert=/c.pem&sslmode=require",
                "both ssl-cert",
            ),
            (
                "postgresql://u:secret@h/k?sslmode=disable&sslcert=/c&sslkey=/k",
                "not used",
            ),
            (
                "postgresql://u:secret@h/k?sslmode=require&ssl-mode=disable",
                "given twice",
            ),
            (
                "postgresql://u:secret@h/k?password=other",
                "password is given twice",
            ),
            ("postgresql://u:secret@h/k?user=v", "user is given twice"),
            ("postgresql://u:secret@h/k#frag", "fragment"),
            ("postgresql://u:sec%zzret@h/k", "password is not valid"),
            ("postgresql://u:secret@h/a/b", "has a `/`"),
            ("postgresql://u:secret@[::1/k", "closing `]`"),
        ] {
            let message = error(url);
            assert!(message.contains(expected), "{url}: {message}");
            assert!(!message.contains("secret"), "{url}: {message}");
        }
    }

    #[test]
    fn selects_ask_for_the_tags_only_and_fill_missing_columns() {
        let present: BTreeSet<String> = ["identifier", "state"]
            .iter()
            .map(|s| (*s).into())
            .collect();
        assert_eq!(
            select_sql(
                Dialect::MySql,
                "metadata",
                &["identifier", "state", "end_time"],
                &present,
                2
            ),
            "SELECT LEFT(`identifier`, 1024), LEFT(`state`, 1024), NULL FROM `metadata` WHERE \
             `identifier` IN (?, ?) LIMIT 3"
        );
        assert_eq!(
            select_sql(
                Dialect::Postgres,
                "metadata",
                &["identifier", "end_time"],
                &present,
                3
            ),
            "SELECT LEFT(CAST(\"identifier\" AS text), 1024), CAST(NULL AS text) FROM \
             \"metadata\" WHERE \"identifier\" IN ($1, $2, $3) LIMIT 4"
        );
        let conf: BTreeSet<String> = ["identifier".into(), "request_conf".into()].into();
        assert!(
            select_sql(
                Dialect::MySql,
                "metadata",
                &["identifier", "request_conf"],
                &conf,
                1
            )
            .contains("LEFT(`request_conf`, 65536)")
        );
    }

    #[test]
    fn tables_are_checked_for_the_columns_the_reader_needs() {
        let url = parse("mysql://u@h/kyuubi");
        let tables = Tables::from_pairs([("METADATA".into(), "Identifier".into())]);
        assert_eq!(
            tables.check(&url).unwrap_err().to_string(),
            "the `metadata` table in database `kyuubi` has no `state` column: not a Kyuubi \
             metadata store"
        );
        let tables = Tables::from_pairs([("other".into(), "identifier".into())]);
        assert!(matches!(
            tables.check(&url),
            Err(SqlError::NoMetadataTable { .. })
        ));
        let tables = Tables::from_pairs([
            ("metadata".into(), "identifier".into()),
            ("metadata".into(), "state".into()),
            ("k8s_engine_info".into(), "pod_name".into()),
        ]);
        assert!(matches!(
            tables.check(&url),
            Err(SqlError::MissingColumn {
                table: "k8s_engine_info",
                ..
            })
        ));
    }

    #[test]
    fn damaged_rows_refuse_the_load() {
        let tags: BTreeSet<&str> = ["a"].into_iter().collect();
        let mut fetched = Fetched::default();
        let no_state = [Cell::Text(b"a"), Cell::Text(b" ")];
        assert!(matches!(
            fetched.batch(&no_state, &tags),
            Err(SqlError::DamagedRow {
                missing: "state",
                ..
            })
        ));
        // A row of another tag (a case-insensitive match) is counted, not kept.
        fetched
            .batch(&[Cell::Text(b"A"), Cell::Text(b"RUNNING")], &tags)
            .unwrap();
        assert_eq!((fetched.batches_seen, fetched.batches.len()), (2, 0));
    }
}
