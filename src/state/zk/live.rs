//! A live ZooKeeper ensemble (`--zk host:port[,…][/chroot]`) as a state source.
//!
//! Owns: the connect string ([`Ensemble`]), the digest identity file ([`DigestAuth`]), the TLS
//! files ([`TlsFiles`]), one whole read of the engine spaces of the requested namespaces
//! ([`read`]: connect to one server, `sync`, list, then read every node below each matching
//! engine space with many requests in flight) and the change notification of the `watch`
//! service ([`LiveWatch`]: one persistent recursive watch). A read is all or nothing: a lost
//! connection, an expired session or any other error discards what was read and starts over,
//! on the next server, until [`LiveOptions::timeout`] is spent; every wait is bounded by it.
//! Must not: write to ZooKeeper (no create, set or delete: the session is read-only by use and
//! creates nothing), keep a session open after a read, judge liveness or pods, or return part
//! of a tree (a wrong "not registered" can delete a live engine's pod).
//!
//! What a read guarantees: every node that existed from [`LiveTree::started`] until the read
//! ended is in the tree, with its data and `Stat` as read; a node created or deleted while the
//! read ran may or may not be (as with a fuzzy snapshot). Nothing returned was made up: every
//! node was returned by the server during the read, after a `sync` with the leader.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::time::Instant;
use zookeeper_client as zk;

use super::registration::{EngineSpaceNotes, is_engine_space_node, is_engine_space_path};
use super::snapshot::Node;

/// The default bound on the nodes one read keeps ([`LiveOptions::max_nodes`]).
pub const DEFAULT_MAX_NODES: usize = 5_000_000;

/// The deepest node a read follows, in levels below its engine space: a registration is 3
/// levels down (`<user>/<leaf>/<name>`), and every `/` inside an attribute value adds one
/// (Kyuubi #7282: base64 and URLs); 32 leaves room for many.
pub const MAX_DEPTH: usize = 32;

/// Requests one read keeps in flight at once: enough to hide the round trip (100,000 nodes
/// must not take 100,000 sequential round trips), few enough not to flood a busy server.
const WINDOW: usize = 256;

/// The largest `--zk-auth-file` read.
const MAX_AUTH_FILE: u64 = 64 * 1024;

/// The largest PEM file read for TLS.
const MAX_PEM_FILE: u64 = 1024 * 1024;

/// The most time a failed connection's diagnosis (TCP connect, TLS handshake) may take.
const PROBE_BUDGET: Duration = Duration::from_secs(2);

/// The most time spent waiting for a session's clean close.
const CLOSE_BUDGET: Duration = Duration::from_secs(2);

/// How long a burst of changes may go quiet before [`LiveWatch::changed`] returns, and the
/// most it waits for the burst to end.
const QUIET: Duration = Duration::from_millis(100);
const MAX_COALESCE: Duration = Duration::from_secs(1);

/// A ZooKeeper connect string as given to `--zk`: `host:port[,host:port…][/chroot]`.
///
/// A server without a port gets ZooKeeper's default 2181; IPv6 addresses go in brackets
/// (`[::1]:2181`). [`fmt::Display`] prints it back in that normalized form (a connect string
/// holds no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensemble {
    /// The servers, `host:port` each, in the order given.
    pub servers: Vec<String>,
    /// The chroot (`/a/b`, no trailing `/`); `None` when none or `/` was given.
    pub chroot: Option<String>,
}

impl Ensemble {
    /// Parses a connect string; the error says what is wrong with which part.
    pub fn parse(s: &str) -> Result<Self, LiveError> {
        let bad = |reason: String| LiveError::BadConnectString { reason };
        if s.is_empty() {
            return Err(bad(
                "it is empty; expected host:port[,host:port…][/chroot]".into()
            ));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!(
                "it contains {c:?}; servers are separated by ',' without spaces"
            )));
        }
        if s.contains("://") {
            return Err(bad(
                "it has a scheme; give host:port (TLS is chosen with the TLS CA file)".into(),
            ));
        }
        let (hosts, chroot) = match s.find('/') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        let chroot = match chroot {
            None | Some("/") => None,
            Some(c) => Some(parse_chroot(c).map_err(bad)?),
        };
        if hosts.is_empty() {
            return Err(bad("no server before the chroot".into()));
        }
        let mut servers = Vec::new();
        for part in hosts.split(',') {
            let server = parse_server(part).map_err(bad)?;
            if !servers.contains(&server) {
                servers.push(server);
            }
        }
        Ok(Ensemble { servers, chroot })
    }

    /// The connect string of one server (or of all, with `None`) with the chroot, as the
    /// client library takes it.
    fn connect_string(&self, server: Option<&str>) -> String {
        let hosts = server.map_or_else(|| self.servers.join(","), str::to_string);
        format!("{hosts}{}", self.chroot.as_deref().unwrap_or_default())
    }
}

impl fmt::Display for Ensemble {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.connect_string(None))
    }
}

/// `host:port`, `host` (port 2181), `[v6]:port` or `[v6]`, normalized to `host:port`.
fn parse_server(given: &str) -> Result<String, String> {
    if given.is_empty() {
        return Err("an empty server between commas".into());
    }
    let (host, port) = if let Some(rest) = given.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("server {given:?}: '[' without ']'"));
        };
        if host.is_empty() || !host.contains(':') {
            return Err(format!(
                "server {given:?}: brackets hold an IPv6 address such as [::1]"
            ));
        }
        match after {
            "" => (format!("[{host}]"), None),
            _ => match after.strip_prefix(':') {
                Some(port) => (format!("[{host}]"), Some(port)),
                None => return Err(format!("server {given:?}: expected ':' after ']'")),
            },
        }
    } else {
        match given.split_once(':') {
            Some((host, port)) => {
                if port.contains(':') {
                    return Err(format!(
                        "server {given:?}: more than one ':' (write an IPv6 address as [addr]:port)"
                    ));
                }
                (host.to_string(), Some(port))
            }
            None => (given.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("server {given:?}: no host before the port"));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "server {given:?}: {host:?} is not a host name or address"
        ));
    }
    let port = match port {
        None => 2181,
        Some("") => return Err(format!("server {given:?}: empty port after ':'")),
        Some(p) => match p.parse::<u16>() {
            Ok(0) => return Err(format!("server {given:?}: port 0 is not a port")),
            // Digits only: `parse` alone would take `+2181`.
            Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                return Err(format!(
                    "server {given:?}: port {p:?} is not a number from 1 to 65535"
                ));
            }
        },
    };
    Ok(format!("{host}:{port}"))
}

/// A chroot: absolute, no empty, `.` or `..` segment, no trailing `/`.
fn parse_chroot(c: &str) -> Result<String, String> {
    if c.ends_with('/') {
        return Err(format!("chroot {c:?} ends with '/'"));
    }
    for segment in c[1..].split('/') {
        match segment {
            "" => return Err(format!("chroot {c:?} has an empty segment ('//')")),
            "." | ".." => {
                return Err(format!("chroot {c:?} has a relative segment {segment:?}"));
            }
            "zookeeper" if c == "/zookeeper" => {
                return Err("chroot \"/zookeeper\" is ZooKeeper's own tree".into());
            }
            _ => {}
        }
    }
    Ok(c.to_string())
}

/// A ZooKeeper `digest` identity (`user:password`), as Kyuubi's `DIGEST` auth type uses it
/// (ZooKeeper's plain digest scheme, not SASL). [`fmt::Debug`] does not print the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestAuth {
    /// The user name (no `:`).
    pub user: String,
    /// The password (may contain `:`).
    pub password: String,
}

impl fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuth")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl DigestAuth {
    /// Reads a file holding `user:password` on one line (a trailing newline is fine; at most
    /// 64 KiB).
    pub fn from_file(path: &Path) -> Result<Self, LiveError> {
        let bad = |reason: String| LiveError::BadAuthFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes =
            crate::files::read_small(path, MAX_AUTH_FILE, "a user:password file").map_err(bad)?;
        let text = String::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 text".into()))?;
        let line = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        if line.contains(['\n', '\r']) {
            return Err(bad(
                "it has more than one line; expected one line user:password".into(),
            ));
        }
        let Some((user, password)) = line.split_once(':') else {
            return Err(bad(if line.is_empty() {
                "it is empty; expected one line user:password".into()
            } else {
                "no ':' in it; expected one line user:password".into()
            }));
        };
        if user.is_empty() {
            return Err(bad("the user before ':' is empty".into()));
        }
        if password.is_empty() {
            return Err(bad("the password after ':' is empty".into()));
        }
        Ok(DigestAuth {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    fn credentials(&self) -> Vec<u8> {
        format!("{}:{}", self.user, self.password).into_bytes()
    }
}

/// PEM files for TLS to the servers: the CA is the only trust root; a client certificate and
/// its key go together (for servers with `ssl.clientAuth=need`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificate(s) the servers' certificates must chain to.
    pub ca: PathBuf,
    /// Client certificate (chain), with [`Self::key`].
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PKCS#8, PKCS#1 or SEC1), with [`Self::cert`].
    pub key: Option<PathBuf>,
}

/// How an ensemble is read.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The whole read's time bound (`--zk-timeout`), retries included.
    pub timeout: Duration,
    /// A digest identity to authenticate with (`--zk-auth-file`).
    pub auth: Option<DigestAuth>,
    /// TLS to every server (`--zk-tls-ca`, `--zk-tls-cert`, `--zk-tls-key`).
    pub tls: Option<TlsFiles>,
    /// The most nodes one read keeps; more is an error ([`DEFAULT_MAX_NODES`]).
    pub max_nodes: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            timeout: Duration::from_secs(30),
            auth: None,
            tls: None,
            max_nodes: DEFAULT_MAX_NODES,
        }
    }
}

/// The engine spaces of an ensemble, read whole from one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTree {
    /// The local clock the moment the successful read began, before its `sync`: the as-of
    /// time (every node that existed from then until the read ended is in [`Self::nodes`]).
    pub started: jiff::Timestamp,
    /// `host:port` of the server that answered the read.
    pub server: String,
    /// The highest zxid seen (of the czxid, mzxid and pzxid of the nodes read).
    pub last_zxid: i64,
    /// Every node in the engine spaces of the requested namespaces, the spaces included, by
    /// path as the client sees it (below the chroot, with a leading `/`). `data` is never
    /// `None` (the client library returns null data as empty); `ephemeral_owner` is as a
    /// client sees it (0 for containers and TTL nodes too).
    pub nodes: BTreeMap<Arc<str>, Node>,
    /// Engine spaces of *any* namespace seen at the root and under the namespaces' parents,
    /// sorted, capped as [`EngineSpaceNotes::paths`] caps them.
    pub engine_spaces: Vec<String>,
    /// How many engine space nodes were seen in all.
    pub engine_spaces_seen: usize,
    /// Engine space nodes of the requested namespaces.
    pub matching_engine_spaces: usize,
}

/// One server and what it said (or did not say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFailure {
    /// `host:port`.
    pub server: String,
    /// What went wrong with it the last time it was tried.
    pub reason: String,
}

/// The servers tried and what each said, printed `a:1 (reason); b:2 (reason)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failures(pub Vec<ServerFailure>);

impl Failures {
    /// Records `reason` as `server`'s latest failure (one entry per server, first-tried
    /// order).
    fn record(&mut self, server: &str, reason: String) {
        match self.0.iter_mut().find(|f| f.server == server) {
            Some(f) => f.reason = reason,
            None => self.0.push(ServerFailure {
                server: server.to_string(),
                reason,
            }),
        }
    }
}

impl fmt::Display for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no server");
        }
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} ({})", s.server, s.reason)?;
        }
        Ok(())
    }
}

/// Why a live ensemble could not be read or watched. Each message names the server, path or
/// file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The `--zk` connect string is malformed.
    #[error("bad connect string: {reason}")]
    BadConnectString {
        /// What is wrong.
        reason: String,
    },
    /// The `--zk-auth-file` cannot be used.
    #[error("auth file {}: {reason}", path.display())]
    BadAuthFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A TLS file is unreadable or holds no usable PEM.
    #[error("TLS file {}: {reason}", path.display())]
    TlsFiles {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No server gave a session within the time (every server tried, with what each said).
    #[error("could not connect to any server of {ensemble} within {timeout:?}: {failures}")]
    Connect {
        /// The connect string.
        ensemble: String,
        /// The time bound.
        timeout: Duration,
        /// Every server tried, with its last failure.
        failures: Failures,
    },
    /// Every server failed the TLS handshake (a certificate was refused, or a server does not
    /// speak TLS on that port).
    #[error("TLS handshake failed with every server of {ensemble}: {failures}")]
    TlsHandshake {
        /// The connect string.
        ensemble: String,
        /// Every server, with what its handshake said.
        failures: Failures,
    },
    /// The server refused the authentication.
    #[error("{server} rejected the authentication: {reason}")]
    AuthRejected {
        /// The server.
        server: String,
        /// What it said.
        reason: String,
    },
    /// A node's ACL does not let this client read it.
    #[error("not allowed to read {path} on {server}: {hint}")]
    NoAuth {
        /// The server.
        server: String,
        /// The node (below the chroot).
        path: String,
        /// What identity was used and what to do.
        hint: String,
    },
    /// The time ran out before a whole read succeeded.
    #[error("could not read {ensemble} within {timeout:?}; tried {tried}")]
    Timeout {
        /// The connect string.
        ensemble: String,
        /// The time bound.
        timeout: Duration,
        /// Every server tried, with its last failure.
        tried: Failures,
    },
    /// The engine spaces hold more nodes than [`LiveOptions::max_nodes`].
    #[error(
        "more than {max} nodes in the engine spaces (at {path} on {server}); \
         refusing a read this large"
    )]
    TooManyNodes {
        /// The bound.
        max: usize,
        /// The node read when the bound was passed.
        path: String,
        /// The server.
        server: String,
    },
    /// A node lies deeper below its engine space than [`MAX_DEPTH`].
    #[error("{path} on {server} is more than {max} levels below its engine space")]
    TooDeep {
        /// The bound.
        max: usize,
        /// The node.
        path: String,
        /// The server.
        server: String,
    },
    /// A watch's session ended, or its connection was not re-established in time.
    #[error("the watch on {ensemble} stopped: {reason}")]
    WatchLost {
        /// The connect string.
        ensemble: String,
        /// What happened.
        reason: String,
    },
}

/// TLS material loaded once per read: the client library's options, and a rustls config for
/// diagnosing failed handshakes (the library reports them only as a lost connection).
struct Tls {
    options: zk::TlsOptions,
    probe: Arc<rustls::ClientConfig>,
}

/// Reads a PEM file (bounded).
fn read_pem(path: &Path) -> Result<Vec<u8>, LiveError> {
    let bad = |reason: String| LiveError::TlsFiles {
        path: path.to_path_buf(),
        reason,
    };
    crate::files::read_small(path, MAX_PEM_FILE, "a PEM file").map_err(bad)
}

fn pem_certs(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, LiveError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| LiveError::TlsFiles {
            path: path.to_path_buf(),
            reason: format!("invalid PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(LiveError::TlsFiles {
            path: path.to_path_buf(),
            reason: "it holds no PEM CERTIFICATE".into(),
        });
    }
    Ok(certs)
}

fn load_tls(files: &TlsFiles) -> Result<Tls, LiveError> {
    let ca_bytes = read_pem(&files.ca)?;
    let ca_certs = pem_certs(&files.ca, &ca_bytes)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in ca_certs {
        roots.add(cert).map_err(|e| LiveError::TlsFiles {
            path: files.ca.clone(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LiveError::TlsFiles {
            path: files.ca.clone(),
            reason: format!("cannot set up TLS: {e}"),
        })?
        .with_root_certificates(roots);
    let ca_text = String::from_utf8_lossy(&ca_bytes).into_owned();
    let mut options =
        zk::TlsOptions::new()
            .with_pem_ca(&ca_text)
            .map_err(|e| LiveError::TlsFiles {
                path: files.ca.clone(),
                reason: format!("the client library refused it: {e}"),
            })?;
    let probe = match (&files.cert, &files.key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let cert_bytes = read_pem(cert)?;
            let certs = pem_certs(cert, &cert_bytes)?;
            let key_bytes = read_pem(key)?;
            let private =
                PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| LiveError::TlsFiles {
                    path: key.clone(),
                    reason: format!("it holds no usable PEM private key: {e}"),
                })?;
            let config =
                builder
                    .with_client_auth_cert(certs, private)
                    .map_err(|e| LiveError::TlsFiles {
                        path: key.clone(),
                        reason: format!("the key does not go with {}: {e}", cert.display()),
                    })?;
            options = options
                .with_pem_identity(
                    &String::from_utf8_lossy(&cert_bytes),
                    &String::from_utf8_lossy(&key_bytes),
                )
                .map_err(|e| LiveError::TlsFiles {
                    path: key.clone(),
                    reason: format!("the client library refused it: {e}"),
                })?;
            config
        }
        (Some(only), None) | (None, Some(only)) => {
            return Err(LiveError::TlsFiles {
                path: only.clone(),
                reason: "a client certificate and its key go together: give both".into(),
            });
        }
    };
    Ok(Tls {
        options,
        probe: Arc::new(probe),
    })
}

/// The session timeout asked for, and the time after which a silent connection counts as
/// lost (the library takes the second only when below 3/5 of the first).
fn session_timeouts(timeout: Duration) -> (Duration, Duration) {
    let session = timeout.clamp(Duration::from_secs(4), Duration::from_secs(40));
    let connection = (timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(10));
    (session, connection.min(session * 3 / 5))
}

/// How a failed connection looks from outside the client library.
enum Probe {
    /// TCP could not connect.
    Unreachable(String),
    /// The TLS handshake failed (a certificate refused, no TLS on that port).
    TlsRejected(String),
    /// TCP (and TLS) worked: the failure was in ZooKeeper's own handshake.
    Open,
}

/// Splits `host:port` (IPv6 in brackets).
fn host_port(server: &str) -> Option<(&str, u16)> {
    let (host, port) = server.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port.parse().ok()?))
}

/// Connects to `server` with plain sockets (and rustls when `tls` is given) to say why the
/// client library could not: it reports every such failure as a lost connection. Blocking:
/// run it on a blocking thread; every socket call is bounded by `budget`.
fn probe_blocking(
    server: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
    budget: Duration,
) -> Probe {
    use std::net::ToSocketAddrs as _;
    let Some((host, port)) = host_port(server) else {
        return Probe::Unreachable("not host:port".into());
    };
    let addrs = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Probe::Unreachable(format!("cannot resolve {host}: {e}")),
    };
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match std::net::TcpStream::connect_timeout(addr, budget) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Probe::Unreachable(last.map_or_else(
            || format!("{host} resolves to no address"),
            |e| describe_io(&e),
        ));
    };
    let Some(config) = tls else {
        return Probe::Open;
    };
    let Ok(name) = ServerName::try_from(host.to_string()) else {
        return Probe::TlsRejected(format!("{host:?} is not a valid TLS server name"));
    };
    let mut conn = match rustls::ClientConnection::new(Arc::clone(config), name) {
        Ok(c) => c,
        Err(e) => return Probe::TlsRejected(format!("cannot start TLS: {e}")),
    };
    // One deadline for the whole handshake: a server that sends a byte now and then must not
    // keep the probe going (each read is bounded by what is left).
    let deadline = std::time::Instant::now() + budget;
    while conn.is_handshaking() {
        if let Err(e) = tls_step(&mut conn, &mut stream, deadline) {
            return tls_failure(&e).map_or(Probe::Open, Probe::TlsRejected);
        }
    }
    // With TLS 1.3 the server judges the client's certificate after the client is done:
    // a refusal arrives as an alert right after the handshake.
    let alert_deadline = deadline.min(std::time::Instant::now() + Duration::from_millis(300));
    if let Err(e) = tls_step(&mut conn, &mut stream, alert_deadline)
        && let Some(why) = tls_failure(&e)
    {
        return Probe::TlsRejected(why);
    }
    Probe::Open
}

/// Writes what TLS has to send, then reads one record's worth and processes it, each socket
/// call bounded by the time left before `deadline` (a timeout is an error of kind `TimedOut`).
fn tls_step(
    conn: &mut rustls::ClientConnection,
    stream: &mut std::net::TcpStream,
    deadline: std::time::Instant,
) -> std::io::Result<()> {
    let left = || {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
        } else {
            Ok(left)
        }
    };
    while conn.wants_write() {
        stream.set_write_timeout(Some(left()?))?;
        conn.write_tls(stream)?;
    }
    if conn.wants_read() {
        stream.set_read_timeout(Some(left()?))?;
        if conn.read_tls(stream)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if let Err(e) = conn.process_new_packets() {
            // The alert that says why goes out before the connection is dropped.
            let _ = conn.write_tls(stream);
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
    }
    Ok(())
}

/// A TLS-level reason in an I/O error of a handshake, if it is one.
fn tls_failure(e: &std::io::Error) -> Option<String> {
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return Some(format!("TLS handshake failed: {tls}"));
    }
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted => Some(
            "the server closed the connection during the TLS handshake (is that port \
             plain-text, or did it refuse the client certificate?)"
                .into(),
        ),
        _ => None,
    }
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            "TCP connect timed out".into()
        }
        _ => e.to_string(),
    }
}

/// Diagnoses a failed connection to `server`, within `budget`.
async fn probe(server: &str, tls: Option<&Tls>, budget: Duration) -> Probe {
    let server_owned = server.to_string();
    let config = tls.map(|t| Arc::clone(&t.probe));
    let task =
        tokio::task::spawn_blocking(move || probe_blocking(&server_owned, config.as_ref(), budget));
    match tokio::time::timeout(budget + Duration::from_millis(200), task).await {
        Ok(Ok(p)) => p,
        // A panic or cancellation of the probe says nothing about the server.
        Ok(Err(_)) | Err(_) => Probe::Open,
    }
}

/// How one attempt on one server failed.
enum Failure {
    /// Worth another attempt (on the next server).
    Retry {
        reason: String,
        /// The TLS handshake failed (when every server says so, the read stops).
        tls: bool,
        /// A session had been established.
        connected: bool,
    },
    /// No other attempt would do better.
    Fatal(LiveError),
}

/// How far an attempt got.
#[derive(Default)]
struct Progress {
    /// What it was waiting for.
    phase: String,
    /// Whether it had a session.
    connected: bool,
}

/// What every attempt of one read shares.
struct Reader<'a> {
    ensemble: &'a Ensemble,
    namespaces: &'a [String],
    options: &'a LiveOptions,
    tls: Option<Tls>,
    session: Duration,
    connection: Duration,
}

impl<'a> Reader<'a> {
    /// The shared parts, with the TLS files loaded.
    fn new(
        ensemble: &'a Ensemble,
        namespaces: &'a [String],
        options: &'a LiveOptions,
    ) -> Result<Self, LiveError> {
        let tls = options.tls.as_ref().map(load_tls).transpose()?;
        let (session, connection) = session_timeouts(options.timeout);
        Ok(Self {
            ensemble,
            namespaces,
            options,
            tls,
            session,
            connection,
        })
    }

    fn auth_hint(&self) -> String {
        match &self.options.auth {
            Some(a) => format!(
                "its ACL grants no READ to the digest user {:?} of the auth file \
                 (--zk-auth-file); give the identity Kyuubi registers with",
                a.user
            ),
            None => "its ACL grants no READ to an unauthenticated client; give the digest \
                     identity Kyuubi uses (user:password) with --zk-auth-file"
                .into(),
        }
    }

    fn zk_failure(&self, server: &str, what: &str, path: &str, e: &zk::Error) -> Failure {
        match e {
            zk::Error::NoAuth => Failure::Fatal(LiveError::NoAuth {
                server: server.to_string(),
                path: path.to_string(),
                hint: self.auth_hint(),
            }),
            zk::Error::AuthFailed => Failure::Fatal(LiveError::AuthRejected {
                server: server.to_string(),
                reason: format!("{what} {path}: {e}"),
            }),
            _ => Failure::Retry {
                reason: format!("{what} {path}: {e}"),
                tls: false,
                connected: true,
            },
        }
    }

    /// Opens a session to the servers of `connect` (one, or all for a watch).
    async fn connect(&self, connect: &str) -> Result<zk::Client, zk::Error> {
        let mut connector = zk::Client::connector()
            .with_session_timeout(self.session)
            .with_connection_timeout(self.connection)
            .with_fail_eagerly();
        if let Some(auth) = &self.options.auth {
            connector = connector.with_auth("digest", &auth.credentials());
        }
        match &self.tls {
            Some(tls) => {
                connector
                    .with_tls(tls.options.clone())
                    .secure_connect(connect)
                    .await
            }
            None => connector.connect(connect).await,
        }
    }

    /// Why `server` gave no session, as precisely as can be told.
    async fn connect_failure(&self, server: &str, e: &zk::Error, budget: Duration) -> Failure {
        if matches!(e, zk::Error::AuthFailed) {
            return Failure::Fatal(LiveError::AuthRejected {
                server: server.to_string(),
                reason: "the server ended the session at authentication (does it require \
                         SASL? Kyuubi's DIGEST auth type uses ZooKeeper's digest scheme)"
                    .into(),
            });
        }
        match probe(server, self.tls.as_ref(), budget.min(PROBE_BUDGET)).await {
            Probe::Unreachable(why) => Failure::Retry {
                reason: why,
                tls: false,
                connected: false,
            },
            Probe::TlsRejected(why) => Failure::Retry {
                reason: why,
                tls: true,
                connected: false,
            },
            Probe::Open => {
                let said = match e {
                    zk::Error::NoHosts | zk::Error::Timeout => String::new(),
                    other => format!(": {other}"),
                };
                Failure::Retry {
                    reason: format!(
                        "accepted the connection{} but gave no ZooKeeper session within \
                         {:?} (no quorum, overloaded, or not a ZooKeeper port){said}",
                        if self.tls.is_some() { " and TLS" } else { "" },
                        self.connection
                    ),
                    tls: false,
                    connected: false,
                }
            }
        }
    }

    /// One whole read from `server`; `progress` says how far it got (for the message when
    /// the time runs out).
    async fn attempt(&self, server: &str, progress: &Mutex<Progress>) -> Result<LiveTree, Failure> {
        let set_phase = |p: String| {
            progress
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .phase = p;
        };
        set_phase("no answer to the session handshake".into());
        let started = jiff::Timestamp::now();
        let client = match self
            .connect(&self.ensemble.connect_string(Some(server)))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                set_phase("no answer to the connection diagnosis".into());
                return Err(self.connect_failure(server, &e, PROBE_BUDGET).await);
            }
        };
        progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .connected = true;
        let mut state = client.state_watcher();
        let result = {
            let work = self.walk(&client, server, &set_phase);
            let lost = async {
                loop {
                    let s = state.changed().await;
                    if s != zk::SessionState::SyncConnected {
                        return s;
                    }
                }
            };
            tokio::select! {
                r = work => r,
                s = lost => Err(Failure::Retry {
                    reason: format!("the session went {s} during the read"),
                    tls: false,
                    connected: true,
                }),
            }
        };
        close(client).await;
        result.map(|mut tree| {
            tree.started = started;
            tree
        })
    }

    /// `sync`, then the listing and pipelined read of the engine spaces.
    async fn walk(
        &self,
        client: &zk::Client,
        server: &str,
        set_phase: &(dyn Fn(String) + Sync),
    ) -> Result<LiveTree, Failure> {
        set_phase("no answer to sync".into());
        client
            .sync("/")
            .await
            .map_err(|e| self.zk_failure(server, "sync", "/", &e))?;
        let mut walk = Walk {
            reader: self,
            server,
            nodes: BTreeMap::new(),
            notes: EngineSpaceNotes::default(),
            last_zxid: 0,
            queue: VecDeque::new(),
        };
        // The root, for the notes of every namespace there, and each namespace's parent.
        let mut parents = vec!["/".to_string()];
        for ns in self.namespaces {
            let parent = match ns.trim_matches('/').rsplit_once('/') {
                Some((p, _)) => format!("/{p}"),
                None => "/".to_string(),
            };
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
        walk.queue
            .extend(parents.into_iter().map(|p| Job::Parent { path: p.into() }));
        let mut inflight = FuturesUnordered::new();
        loop {
            while inflight.len() < WINDOW
                && let Some(job) = walk.queue.pop_front()
            {
                inflight.push(issue(client, job));
            }
            set_phase(format!(
                "no answer while reading ({} nodes read, {} requests waiting)",
                walk.nodes.len(),
                inflight.len()
            ));
            let Some((job, reply)) = inflight.next().await else {
                break;
            };
            walk.handle(job, reply)?;
        }
        let matching = walk
            .nodes
            .keys()
            .filter(|p| {
                self.namespaces
                    .iter()
                    .any(|ns| is_engine_space_node(ns, p.as_bytes()))
            })
            .count();
        Ok(LiveTree {
            started: jiff::Timestamp::now(),
            server: server.to_string(),
            last_zxid: walk.last_zxid,
            engine_spaces: walk.notes.paths(),
            engine_spaces_seen: walk.notes.seen(),
            matching_engine_spaces: matching,
            nodes: walk.nodes,
        })
    }
}

/// Drops the last handle of a session, which closes it, and waits (briefly) for the close to
/// be acknowledged, so that no session of ours lingers on the server.
async fn close(client: zk::Client) {
    let mut state = client.state_watcher();
    drop(client);
    let _ = tokio::time::timeout(CLOSE_BUDGET, async {
        while !state.peek_state().is_terminated() {
            state.changed().await;
        }
    })
    .await;
}

/// A request of the walk.
enum Job {
    /// The children of the root or of a namespace's parent (`NoNode` is an empty list).
    Parent { path: Arc<str> },
    /// Data and `Stat` of a node `depth` levels below its engine space (0: the space).
    Node { path: Arc<str>, depth: usize },
    /// The children of a node that had some.
    Children { path: Arc<str>, depth: usize },
}

enum Reply {
    Data(Result<(Vec<u8>, zk::Stat), zk::Error>),
    Children(Result<(Vec<String>, zk::Stat), zk::Error>),
}

/// Sends the request of `job` at once (the library sends when the method is called) and
/// returns its answer with the job.
fn issue(client: &zk::Client, job: Job) -> BoxFuture<'static, (Job, Reply)> {
    match &job {
        Job::Node { path, .. } => {
            let answer = client.get_data(path);
            Box::pin(async move { (job, Reply::Data(answer.await)) })
        }
        Job::Parent { path } | Job::Children { path, .. } => {
            let answer = client.get_children(path);
            Box::pin(async move { (job, Reply::Children(answer.await)) })
        }
    }
}

fn child_path(parent: &str, child: &str) -> Arc<str> {
    if parent == "/" {
        format!("/{child}").into()
    } else {
        format!("{parent}/{child}").into()
    }
}

/// The state of one attempt's walk.
struct Walk<'a> {
    reader: &'a Reader<'a>,
    server: &'a str,
    nodes: BTreeMap<Arc<str>, Node>,
    notes: EngineSpaceNotes,
    last_zxid: i64,
    queue: VecDeque<Job>,
}

impl Walk<'_> {
    fn handle(&mut self, job: Job, reply: Reply) -> Result<(), Failure> {
        match (job, reply) {
            (Job::Parent { path }, Reply::Children(answer)) => {
                let children = match answer {
                    Ok((children, _)) => children,
                    // No parent, no engine spaces (the same as a snapshot without them).
                    Err(zk::Error::NoNode) => Vec::new(),
                    Err(e) => return Err(self.reader.zk_failure(self.server, "list", &path, &e)),
                };
                for child in children {
                    let space = child_path(&path, &child);
                    self.notes.note(space.as_bytes());
                    // (The parents are distinct, so no space is queued twice.)
                    if self
                        .reader
                        .namespaces
                        .iter()
                        .any(|ns| is_engine_space_node(ns, space.as_bytes()))
                    {
                        self.queue.push_back(Job::Node {
                            path: space,
                            depth: 0,
                        });
                    }
                }
            }
            (Job::Node { path, depth }, Reply::Data(answer)) => {
                let (data, stat) = match answer {
                    Ok(d) => d,
                    // Deleted since it was listed: the newer truth.
                    Err(zk::Error::NoNode) => return Ok(()),
                    Err(e) => return Err(self.reader.zk_failure(self.server, "get", &path, &e)),
                };
                if self.nodes.len() >= self.reader.options.max_nodes {
                    return Err(Failure::Fatal(LiveError::TooManyNodes {
                        max: self.reader.options.max_nodes,
                        path: path.to_string(),
                        server: self.server.to_string(),
                    }));
                }
                self.last_zxid = self
                    .last_zxid
                    .max(stat.czxid)
                    .max(stat.mzxid)
                    .max(stat.pzxid);
                // An ephemeral node has no children; a node with none when its data was read
                // needs no listing (a child created since then is newer than the read).
                if stat.num_children > 0 {
                    self.queue.push_back(Job::Children {
                        path: Arc::clone(&path),
                        depth,
                    });
                }
                self.nodes.insert(
                    path,
                    Node {
                        data: Some(data),
                        czxid: stat.czxid,
                        mzxid: stat.mzxid,
                        ctime: stat.ctime,
                        mtime: stat.mtime,
                        ephemeral_owner: stat.ephemeral_owner,
                    },
                );
            }
            (Job::Children { path, depth }, Reply::Children(answer)) => {
                let children = match answer {
                    Ok((children, _)) => children,
                    Err(zk::Error::NoNode) => {
                        // Deleted after its data was read: drop it (its children were never
                        // read).
                        self.nodes.remove(&path);
                        return Ok(());
                    }
                    Err(e) => return Err(self.reader.zk_failure(self.server, "list", &path, &e)),
                };
                for child in children {
                    let child = child_path(&path, &child);
                    if depth + 1 > MAX_DEPTH {
                        return Err(Failure::Fatal(LiveError::TooDeep {
                            max: MAX_DEPTH,
                            path: child.to_string(),
                            server: self.server.to_string(),
                        }));
                    }
                    self.queue.push_back(Job::Node {
                        path: child,
                        depth: depth + 1,
                    });
                }
            }
            // `issue` pairs every job with its own kind of reply.
            (_, _) => {
                return Err(Failure::Retry {
                    reason: "internal error: a reply of the wrong kind".into(),
                    tls: false,
                    connected: true,
                });
            }
        }
        Ok(())
    }
}

/// Reads the engine spaces of `ha_namespaces` whole from one server of `ensemble` (after a
/// `sync`), trying the servers in turn until [`LiveOptions::timeout`] is spent; see the module
/// documentation for what the result guarantees.
pub async fn read(
    ensemble: &Ensemble,
    ha_namespaces: &[String],
    options: &LiveOptions,
) -> Result<LiveTree, LiveError> {
    let deadline = Instant::now() + options.timeout;
    let reader = Reader::new(ensemble, ha_namespaces, options)?;
    if ensemble.servers.is_empty() {
        return Err(LiveError::BadConnectString {
            reason: "no server".into(),
        });
    }
    let mut tried = Failures::default();
    let mut connected = false;
    let mut backoff = Duration::from_millis(100);
    'rounds: loop {
        let mut round_tls = 0usize;
        let mut round_connected = false;
        for server in &ensemble.servers {
            if Instant::now() >= deadline {
                break 'rounds;
            }
            let progress = Mutex::new(Progress::default());
            let outcome =
                tokio::time::timeout_at(deadline, reader.attempt(server, &progress)).await;
            let progress = progress
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            connected |= progress.connected;
            match outcome {
                Ok(Ok(tree)) => return Ok(tree),
                Ok(Err(Failure::Fatal(e))) => return Err(e),
                Ok(Err(Failure::Retry {
                    reason,
                    tls,
                    connected,
                })) => {
                    round_connected |= connected;
                    round_tls += usize::from(tls);
                    tracing::debug!("zookeeper {server}: {reason}; trying the next server");
                    tried.record(server, reason);
                }
                Err(_) => {
                    // An earlier failure of this server says more than "still waiting".
                    if !tried.0.iter().any(|f| f.server == *server) {
                        tried.record(server, format!("{} when the time ran out", progress.phase));
                    }
                    break 'rounds;
                }
            }
        }
        if round_tls == ensemble.servers.len() {
            return Err(LiveError::TlsHandshake {
                ensemble: ensemble.to_string(),
                failures: tried,
            });
        }
        if !round_connected {
            // No server gave a session: pause a little before the next round.
            let pause = backoff.min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
    if connected {
        Err(LiveError::Timeout {
            ensemble: ensemble.to_string(),
            timeout: options.timeout,
            tried,
        })
    } else {
        Err(LiveError::Connect {
            ensemble: ensemble.to_string(),
            timeout: options.timeout,
            failures: tried,
        })
    }
}

/// Notices changes below the engine spaces of some namespaces, for the `watch` service: one
/// session (to any server of the ensemble, reconnecting to any other) with a persistent
/// recursive watch on the parent(s) of the engine spaces.
///
/// [`Self::changed`] says *that* something changed, never what: the caller reads the whole
/// tree again with [`read`]. After a reconnect it also reports a change, since persistent
/// watches can miss events across one (ZOOKEEPER-4698).
pub struct LiveWatch {
    ensemble: String,
    namespaces: Vec<String>,
    timeout: Duration,
    /// Holds the session; dropping the watch closes it.
    client: zk::Client,
    state: zk::StateWatcher,
    watchers: Vec<zk::PersistentWatcher>,
    /// When the connection was lost, while it is.
    disconnected_at: Option<Instant>,
    /// Why the watch can no longer work (the session ended). The watchers are never polled
    /// again then: the library panics on a watcher polled after its session's end.
    dead: Option<String>,
}

impl fmt::Debug for LiveWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveWatch")
            .field("ensemble", &self.ensemble)
            .field("namespaces", &self.namespaces)
            .field("session", &self.client.session_id())
            .field("dead", &self.dead)
            .finish_non_exhaustive()
    }
}

/// What woke [`LiveWatch::changed`].
enum Step {
    State(zk::SessionState),
    Event(zk::WatchedEvent),
    Lost,
}

impl LiveWatch {
    /// Connects (within [`LiveOptions::timeout`]) and sets the watches.
    pub async fn start(
        ensemble: &Ensemble,
        ha_namespaces: &[String],
        options: &LiveOptions,
    ) -> Result<Self, LiveError> {
        let deadline = Instant::now() + options.timeout;
        let reader = Reader::new(ensemble, ha_namespaces, options)?;
        let mut failures = Failures::default();
        let mut backoff = Duration::from_millis(100);
        let client = loop {
            match tokio::time::timeout_at(deadline, reader.connect(&ensemble.to_string())).await {
                Ok(Ok(client)) => break client,
                Ok(Err(e)) => {
                    // Say what each server does.
                    let mut tls_failed = 0;
                    for server in &ensemble.servers {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match reader.connect_failure(server, &e, left).await {
                            Failure::Fatal(e) => return Err(e),
                            Failure::Retry { reason, tls, .. } => {
                                tls_failed += usize::from(tls);
                                failures.record(server, reason);
                            }
                        }
                    }
                    if tls_failed == ensemble.servers.len() {
                        return Err(LiveError::TlsHandshake {
                            ensemble: ensemble.to_string(),
                            failures,
                        });
                    }
                }
                Err(_) => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LiveError::Connect {
                    ensemble: ensemble.to_string(),
                    timeout: options.timeout,
                    failures,
                });
            }
            tokio::time::sleep(backoff.min(left)).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        };
        let roots = watch_roots(ha_namespaces);
        let mut watchers = Vec::new();
        for root in &roots {
            let set = tokio::time::timeout_at(
                deadline,
                client.watch(root, zk::AddWatchMode::PersistentRecursive),
            )
            .await;
            match set {
                Ok(Ok(w)) => watchers.push(w),
                Ok(Err(e)) => {
                    let failure = reader.zk_failure("the ensemble", "watch", root, &e);
                    close(client).await;
                    return Err(match failure {
                        Failure::Fatal(e) => e,
                        Failure::Retry { reason, .. } => LiveError::WatchLost {
                            ensemble: ensemble.to_string(),
                            reason: format!("cannot set the watch: {reason}"),
                        },
                    });
                }
                Err(_) => {
                    close(client).await;
                    return Err(LiveError::WatchLost {
                        ensemble: ensemble.to_string(),
                        reason: format!(
                            "the watch on {root} was not set within {:?}",
                            options.timeout
                        ),
                    });
                }
            }
        }
        let state = client.state_watcher();
        Ok(LiveWatch {
            ensemble: ensemble.to_string(),
            namespaces: ha_namespaces.to_vec(),
            timeout: options.timeout,
            client,
            state,
            watchers,
            disconnected_at: None,
            dead: None,
        })
    }

    /// Resolves once a node under a matching engine space (or the space itself) was created,
    /// deleted or changed (a burst counts once), or once the connection came back after a
    /// loss (events may have been missed). Fails when the session ended, or the connection
    /// was not re-established within [`LiveOptions::timeout`]; the watch is then of no more
    /// use: start a new one, and read again.
    pub async fn changed(&mut self) -> Result<(), LiveError> {
        loop {
            if let Some(reason) = &self.dead {
                return Err(LiveError::WatchLost {
                    ensemble: self.ensemble.clone(),
                    reason: reason.clone(),
                });
            }
            match self.next_step().await {
                Step::State(s) => {
                    if self.on_state(s) {
                        return Ok(());
                    }
                }
                Step::Event(event) => {
                    if event.event_type == zk::EventType::Session {
                        if self.on_state(event.session_state) {
                            return Ok(());
                        }
                    } else if self.matches(&event.path) {
                        self.coalesce().await;
                        return Ok(());
                    }
                }
                Step::Lost => {
                    self.dead = Some(format!(
                        "the connection was lost and not re-established within {:?}",
                        self.timeout
                    ));
                }
            }
        }
    }

    /// The next session state change, watch event, or the end of the reconnect time.
    async fn next_step(&mut self) -> Step {
        let lost_at = self.disconnected_at.map(|t| t + self.timeout);
        let lost = async {
            match lost_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let watchers = &mut self.watchers;
        let event = async {
            if watchers.is_empty() {
                std::future::pending().await
            } else {
                futures::future::select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())))
                    .await
                    .0
            }
        };
        tokio::select! {
            s = self.state.changed() => Step::State(s),
            e = event => Step::Event(e),
            () = lost => Step::Lost,
        }
    }

    /// Takes in a session state; true when the caller should read again (reconnected).
    fn on_state(&mut self, state: zk::SessionState) -> bool {
        match state {
            zk::SessionState::Disconnected => {
                self.disconnected_at.get_or_insert_with(Instant::now);
                false
            }
            zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                self.disconnected_at.take().is_some()
            }
            other => {
                self.dead = Some(format!("the session ended ({other})"));
                false
            }
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.namespaces
            .iter()
            .any(|ns| is_engine_space_path(ns, path.as_bytes()))
    }

    /// Lets a burst of events go by (until quiet for [`QUIET`], at most [`MAX_COALESCE`]).
    async fn coalesce(&mut self) {
        let until = Instant::now() + MAX_COALESCE;
        loop {
            if self.dead.is_some() {
                return;
            }
            let quiet = (Instant::now() + QUIET).min(until);
            match tokio::time::timeout_at(quiet, self.next_step()).await {
                Err(_) | Ok(Step::Lost) => return,
                Ok(Step::State(s)) => {
                    self.on_state(s);
                }
                Ok(Step::Event(e)) if e.event_type == zk::EventType::Session => {
                    self.on_state(e.session_state);
                }
                Ok(Step::Event(_)) => {}
            }
        }
    }
}

/// The paths to watch recursively: each namespace's parent, without those below another.
fn watch_roots(namespaces: &[String]) -> Vec<String> {
    let mut roots: Vec<String> = namespaces
        .iter()
        .map(|ns| match ns.trim_matches('/').rsplit_once('/') {
            Some((p, _)) => format!("/{p}"),
            None => "/".to_string(),
        })
        .collect();
    roots.sort();
    roots.dedup();
    let all = roots.clone();
    roots.retain(|r| {
        !all.iter()
            .any(|a| a != r && (a == "/" || r.starts_with(&format!("{a}/"))))
    });
    if roots.is_empty() {
        roots.push("/".into());
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_connect_strings() {
        let e = Ensemble::parse("zk-0.zk:2181,zk-1.zk:2182,10.0.0.3/kyuubi/prod").unwrap();
        assert_eq!(e.servers, ["zk-0.zk:2181", "zk-1.zk:2182", "10.0.0.3:2181"]);
        assert_eq!(e.chroot.as_deref(), Some("/kyuubi/prod"));
        assert_eq!(
            e.to_string(),
            "zk-0.zk:2181,zk-1.zk:2182,10.0.0.3:2181/kyuubi/prod"
        );
        let e = Ensemble::parse("127.0.0.1:2181/").unwrap();
        assert_eq!(e.chroot, None, "\"/\" alone is no chroot");
        assert_eq!(e.to_string(), "127.0.0.1:2181");
        let e = Ensemble::parse("[::1]:2281,[fe80::1]").unwrap();
        assert_eq!(e.servers, ["[::1]:2281", "[fe80::1]:2181"]);
        assert_eq!(host_port("[::1]:2281"), Some(("::1", 2281)));
        assert_eq!(host_port("h:1"), Some(("h", 1)));
        let e = Ensemble::parse("a:1,a:1").unwrap();
        assert_eq!(e.servers, ["a:1"], "duplicates once");
        assert_eq!(
            Ensemble::parse(&e.to_string()).unwrap(),
            e,
            "Display parses back"
        );
    }

    #[test]
    fn refuses_bad_connect_strings_clearly() {
        for (input, why) in [
            ("", "empty"),
            ("a:1, b:2", "without spaces"),
            ("a:1\tb", "without spaces"),
            ("a:99999", "not a number from 1 to 65535"),
            ("a:+2181", "not a number from 1 to 65535"),
            ("a:0", "port 0"),
            ("a:", "empty port"),
            ("a:x1", "not a number"),
            (":2181", "no host"),
            ("a:1,,b:2", "empty server"),
            ("a:1,", "empty server"),
            ("/kyuubi", "no server"),
            ("a:1/kyuubi/", "ends with '/'"),
            ("a:1//kyuubi", "empty segment"),
            ("a:1/x/../y", "relative segment"),
            ("tcp://a:1", "scheme"),
            ("a:1:2", "more than one ':'"),
            ("[::1", "without ']'"),
            ("[::1]x", "expected ':'"),
            ("[]:1", "IPv6"),
            ("a$b:1", "not a host name"),
        ] {
            let e = Ensemble::parse(input).expect_err(input);
            let text = e.to_string();
            assert!(
                text.starts_with("bad connect string: "),
                "{input:?}: {text}"
            );
            assert!(text.contains(why), "{input:?}: {text}");
        }
    }

    fn auth_file(content: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_auth_files() {
        for content in [
            &b"kyuubi:s3cr:et\n"[..],
            b"kyuubi:s3cr:et",
            b"kyuubi:s3cr:et\r\n",
        ] {
            let (_dir, path) = auth_file(content);
            let a = DigestAuth::from_file(&path).unwrap();
            assert_eq!(
                (a.user.as_str(), a.password.as_str()),
                ("kyuubi", "s3cr:et")
            );
            assert_eq!(a.credentials(), b"kyuubi:s3cr:et");
        }
    }

    #[test]
    fn refuses_bad_auth_files_naming_them() {
        for (content, why) in [
            (&b""[..], "empty"),
            (b"\n", "empty"),
            (b"nocolon\n", "no ':'"),
            (b":pw\n", "user before ':' is empty"),
            (b"user:\n", "password after ':' is empty"),
            (b"u:p\nmore\n", "more than one line"),
            (b"u:p\n\n", "more than one line"),
            (b"u:\xff\n", "not UTF-8"),
        ] {
            let (_dir, path) = auth_file(content);
            let e = DigestAuth::from_file(&path).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
            assert!(e.contains(why), "{content:?}: {e}");
        }
        let (_dir, path) = auth_file(&vec![b'a'; 70 * 1024]);
        let e = DigestAuth::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("larger than 64 KiB"), "{e}");
        let missing = Path::new("/nonexistent/zk-auth");
        let e = DigestAuth::from_file(missing).unwrap_err().to_string();
        assert!(
            e.contains("/nonexistent/zk-auth") && e.contains("cannot open"),
            "{e}"
        );
    }

    #[test]
    fn debug_of_auth_hides_the_password() {
        let a = DigestAuth {
            user: "kyuubi".into(),
            password: "hunter2-very-secret".into(),
        };
        let options = LiveOptions {
            auth: Some(a.clone()),
            ..LiveOptions::default()
        };
        for text in [format!("{a:?}"), format!("{a:#?}"), format!("{options:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("kyuubi"), "{text}");
        }
    }

    #[test]
    fn tls_files_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        let files = TlsFiles {
            ca: junk.clone(),
            cert: None,
            key: None,
        };
        let e = load_tls(&files).err().unwrap().to_string();
        assert!(
            e.contains("junk.pem") && e.contains("no PEM CERTIFICATE"),
            "{e}"
        );
        let files = TlsFiles {
            ca: dir.path().join("missing.pem"),
            cert: None,
            key: None,
        };
        let e = load_tls(&files).err().unwrap().to_string();
        assert!(
            e.contains("missing.pem") && e.contains("cannot open"),
            "{e}"
        );
    }

    #[test]
    fn watch_roots_are_the_namespace_parents() {
        let ns = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        assert_eq!(watch_roots(&ns(&["kyuubi"])), ["/"]);
        assert_eq!(watch_roots(&ns(&["a/kyuubi", "a/b/kyuubi"])), ["/a"]);
        assert_eq!(watch_roots(&ns(&["a/kyuubi", "ab/kyuubi"])), ["/a", "/ab"]);
        assert_eq!(watch_roots(&ns(&["a/kyuubi", "kyuubi"])), ["/"]);
        assert_eq!(watch_roots(&[]), ["/"]);
    }

    #[test]
    fn futures_are_send() {
        fn send<T: Send>(_: &T) {}
        fn watch_is_send<T: Send>() {}
        let e = Ensemble::parse("127.0.0.1:1").unwrap();
        let o = LiveOptions::default();
        send(&read(&e, &[], &o));
        send(&LiveWatch::start(&e, &[], &o));
        watch_is_send::<LiveWatch>();
    }

    #[test]
    fn failures_print_each_server() {
        let mut f = Failures::default();
        f.record("a:1", "connection refused".into());
        f.record("b:2", "x".into());
        f.record("a:1", "TLS handshake failed".into());
        assert_eq!(f.to_string(), "a:1 (TLS handshake failed); b:2 (x)");
    }
}
