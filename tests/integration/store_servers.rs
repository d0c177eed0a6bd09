//! `--store-url` against real MariaDB and PostgreSQL servers, each started by the test in a
//! temporary directory on a free loopback port and stopped when it ends.
//!
//! The schemas are Kyuubi's own DDL and upgrade scripts (`tests/data/schema/{mysql,postgresql}`,
//! every layout since MySQL 1.6 and PostgreSQL 1.9). The same corpus of rows goes into each
//! server and into an SQLite twin, and the records read through [`SqlStore`] must equal those
//! [`SqliteStore`] reads, tag by tag. The servers' statement logs show that the reader's
//! session only read (and only the candidate tags), a SELECT-only user is enough, TLS is really
//! verified, and every failure gives a clear error rather than a hang. The servers must be
//! installed (`.ci/test` installs them): nothing here is skipped.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use kyuubi_reaper::state::sql::{self, SqlError, SqlOptions, SqlStore, StoreUrl};
use kyuubi_reaper::state::store::Store as SqliteStore;
use kyuubi_reaper::state::{EngineState, TagEvidence};
use mysql_async::prelude::Queryable;

use crate::harness;
use crate::world::{self, Layout, Store as SqliteWorld};

// ---------------------------------------------------------------------------------------------
// Servers

/// The owner of the PostgreSQL servers' files (PostgreSQL refuses to run as root).
const PG_USER: &str = "kyuubi-reaper-pg";
/// The schema owner, who creates the tables and inserts the corpus.
const OWNER: (&str, &str) = ("owner", "owner-pw");
/// The reader: SELECT only.
const READER: (&str, &str) = ("reader", "reader-pw");

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A loopback port nobody listens on (at the moment of asking).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The last lines of a log, for a failure message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    // Long enough to hold the server's own error above mariadb-install-db's closing advice.
    lines[lines.len().saturating_sub(120)..].join("\n")
}

/// Runs a set-up command, failing the test with its output when it fails.
fn run(command: &mut Command, log: &Path) {
    let out = std::fs::File::create(log).unwrap();
    let status = command
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (run .ci/test to install it)"));
    assert!(status.success(), "{command:?} failed:\n{}", tail(log));
}

/// Polls `ready` until it succeeds or `limit` passes.
fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match ready() {
            Ok(()) => return,
            Err(e) if started.elapsed() > limit => panic!("{what} not ready after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The certificates of a test PKI: a CA, a server certificate it signed, and an unrelated CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA and a server certificate for `names` (DNS names or IP addresses).
    fn new(names: &[&str]) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().unwrap();
        let ca = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        };
        let (ca_cert, issuer) = ca("kyuubi-reaper test CA");
        let (other_cert, _) = ca("some other CA");
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_string()).collect::<Vec<_>>())
                .unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test database server");
        let cert = params.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("other-ca.pem"), other_cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("server.key"), key.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A MariaDB program: in `/usr/sbin` or `/usr/bin` (not always on a user's `PATH`), else by
/// name.
fn mariadb_bin(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A MariaDB server of its own.
struct MariaDb {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
}

impl MariaDb {
    /// Initialises a data directory and starts the server, with TLS when `pki` is given.
    fn start(pki: Option<&Pki>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // The server's temporary tables in a directory of its own, not the shared /tmp (an
        // install once failed on a temporary table gone from there).
        std::fs::create_dir(d.join("tmp")).unwrap();
        let tmpdir = format!("--tmpdir={}", d.join("tmp").display());
        run(
            Command::new(mariadb_bin("mariadb-install-db"))
                .arg("--no-defaults")
                .arg(format!("--datadir={}", d.join("data").display()))
                .arg(&tmpdir)
                .args([
                    "--auth-root-authentication-method=normal",
                    "--user=root",
                    "--skip-test-db",
                ]),
            &d.join("install.log"),
        );
        let port = free_port();
        let mut command = Command::new(mariadb_bin("mariadbd"));
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(&tmpdir)
            .arg(format!("--socket={}", d.join("mysqld.sock").display()))
            .arg(format!("--port={port}"))
            .arg(format!(
                "--general-log-file={}",
                d.join("general.log").display()
            ))
            .arg(format!("--log-error={}", d.join("error.log").display()))
            .arg(format!("--pid-file={}", d.join("mysqld.pid").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-name-resolve",
                "--general-log=1",
                "--innodb-buffer-pool-size=16M",
                "--innodb-flush-log-at-trx-commit=0",
            ]);
        if let Some(pki) = pki {
            command
                .arg(format!("--ssl-cert={}", pki.path("server.pem").display()))
                .arg(format!("--ssl-key={}", pki.path("server.key").display()))
                .arg(format!("--ssl-ca={}", pki.path("ca.pem").display()));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd (run .ci/test to install it)");
        let mut server = Self {
            dir,
            child: Some(child),
            port,
        };
        let rt = runtime();
        wait_until(Duration::from_secs(30), "mariadbd", || {
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "mariadbd exited ({status}):\n{}",
                    tail(&server.dir.path().join("error.log"))
                );
            }
            rt.block_on(async {
                let mut conn = server.root().await.map_err(|e| e.to_string())?;
                conn.query_drop("SELECT 1")
                    .await
                    .map_err(|e| e.to_string())?;
                conn.disconnect().await.map_err(|e| e.to_string())
            })
        });
        server
    }

    /// A root connection over the Unix socket.
    async fn root(&self) -> Result<mysql_async::Conn, mysql_async::Error> {
        let opts = mysql_async::OptsBuilder::default()
            .socket(Some(
                self.dir.path().join("mysqld.sock").display().to_string(),
            ))
            .user(Some("root"));
        mysql_async::Conn::new(opts).await
    }

    /// A connection of the schema owner to `database`, over TCP.
    async fn owner(&self, database: &str) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .prefer_socket(false)
            .user(Some(OWNER.0))
            .pass(Some(OWNER.1))
            .db_name(Some(database));
        mysql_async::Conn::new(opts).await.unwrap()
    }

    /// Creates the schema owner and the SELECT-only reader, the reader able to read every
    /// `kyuubi_%` database (and `empty`, a database without Kyuubi's tables).
    async fn create_users(&self) {
        let mut root = self.root().await.unwrap();
        for statement in [
            format!("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", OWNER.0, OWNER.1),
            format!("GRANT ALL ON *.* TO '{}'@'%'", OWNER.0),
            format!(
                "CREATE USER '{}'@'%' IDENTIFIED BY '{}'",
                READER.0, READER.1
            ),
            format!("GRANT SELECT ON `kyuubi\\_%`.* TO '{}'@'%'", READER.0),
            "CREATE DATABASE empty".into(),
            "CREATE TABLE empty.things(id INT)".into(),
            format!("GRANT SELECT ON empty.* TO '{}'@'%'", READER.0),
        ] {
            root.query_drop(&statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        root.disconnect().await.unwrap();
    }

    /// The reader's URL of `database`.
    fn url(&self, database: &str, options: &str) -> StoreUrl {
        StoreUrl::parse(&format!(
            "mysql://{}:{}@127.0.0.1:{}/{database}{options}",
            READER.0, READER.1, self.port
        ))
        .unwrap()
    }

    fn general_log(&self) -> PathBuf {
        self.dir.path().join("general.log")
    }

    /// Stops the server at once (SIGKILL), as a crash or an operator would.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The uid and gid of [`PG_USER`].
fn pg_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&PG_USER))
                .then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no user {PG_USER} (run .ci/test to create it)"))
}

/// The newest PostgreSQL's binaries.
fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (run .ci/test)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("bin").join("postgres").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .last()
        .expect("no /usr/lib/postgresql/<version>/bin/postgres (run .ci/test)")
        .join("bin")
        .join(name)
}

/// Whether the tests run as root (then PostgreSQL runs as [`PG_USER`], else as the tests' user).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// A command run as [`PG_USER`] when running as root (`setpriv` executes it in place, so its
/// pid is the server's).
fn as_pg_user(program: &Path) -> Command {
    if !is_root() {
        return Command::new(program);
    }
    let (uid, gid) = pg_ids();
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .arg("--clear-groups")
        .arg("--")
        .arg(program);
    command
}

/// A PostgreSQL server of its own, run as [`PG_USER`].
struct Postgres {
    dir: tempfile::TempDir,
    child: Option<Child>,
    port: u16,
}

impl Postgres {
    /// Initialises a cluster and starts the server, with TLS when `pki` is given.
    fn start(pki: Option<&Pki>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let chown = |path: &Path| {
            if is_root() {
                let (uid, gid) = pg_ids();
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
            }
        };
        chown(d);
        let mut initdb = as_pg_user(&pg_bin("initdb"));
        initdb
            .arg("-D")
            .arg(d.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ])
            .current_dir(d);
        run(&mut initdb, &d.join("initdb.log"));
        let port = free_port();
        let log = std::fs::File::create(d.join("postgres.log")).unwrap();
        let mut command = as_pg_user(&pg_bin("postgres"));
        command
            .arg("-D")
            .arg(d.join("data"))
            .arg("-k")
            .arg(d)
            .arg("-p")
            .arg(port.to_string())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "logging_collector=off",
                "-c",
                "log_statement=all",
                "-c",
                "log_line_prefix=%u|%d|%c|",
            ]);
        if let Some(pki) = pki {
            for name in ["server.pem", "server.key"] {
                std::fs::copy(pki.path(name), d.join(name)).unwrap();
                chown(&d.join(name));
            }
            std::fs::set_permissions(
                d.join("server.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .unwrap();
            command
                .args(["-c", "ssl=on", "-c"])
                .arg(format!("ssl_cert_file={}", d.join("server.pem").display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", d.join("server.key").display()));
        }
        let child = command
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start postgres (run .ci/test to install it)");
        let mut server = Self {
            dir,
            child: Some(child),
            port,
        };
        let rt = runtime();
        wait_until(Duration::from_secs(30), "postgres", || {
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "postgres exited ({status}):\n{}",
                    tail(&server.dir.path().join("postgres.log"))
                );
            }
            rt.block_on(async { server.superuser("postgres").await.map(drop) })
        });
        server
    }

    /// A superuser session on `database` over the Unix socket.
    async fn superuser(&self, database: &str) -> Result<tokio_postgres::Client, String> {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(self.dir.path())
            .port(self.port)
            .user("postgres")
            .dbname(database);
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The schema owner's session on `database`, over TCP.
    async fn owner(&self, database: &str) -> tokio_postgres::Client {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(OWNER.0)
            .password(OWNER.1)
            .dbname(database)
            .ssl_mode(tokio_postgres::config::SslMode::Disable);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// Creates the owner and the reader, and a database owned by the owner for each name, in
    /// which the reader may only SELECT.
    async fn create_databases(&self, names: &[&str]) {
        let admin = self.superuser("postgres").await.unwrap();
        admin
            .batch_execute(&format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}'; CREATE ROLE {} LOGIN PASSWORD '{}';",
                OWNER.0, OWNER.1, READER.0, READER.1
            ))
            .await
            .unwrap();
        for name in names {
            admin
                .batch_execute(&format!("CREATE DATABASE {name} OWNER {}", OWNER.0))
                .await
                .unwrap();
            let db = self.superuser(name).await.unwrap();
            // PostgreSQL 15 no longer lets everyone create in `public`; the owner needs to.
            db.batch_execute(&format!(
                "GRANT ALL ON SCHEMA public TO {owner}; \
                 ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public \
                 GRANT SELECT ON TABLES TO {reader};",
                owner = OWNER.0,
                reader = READER.0
            ))
            .await
            .unwrap();
        }
    }

    /// The reader's URL of `database`.
    fn url(&self, database: &str, options: &str) -> StoreUrl {
        StoreUrl::parse(&format!(
            "postgresql://{}:{}@127.0.0.1:{}/{database}{options}",
            READER.0, READER.1, self.port
        ))
        .unwrap()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// Stops the server at once (immediate shutdown: SIGQUIT), as a crash or an operator would.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-QUIT", &child.id().to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// Kyuubi's DDL

/// The statements of one of Kyuubi's scripts under `tests/data/schema/<db>/`, following its
/// `SOURCE` (MySQL client) and `\i` (psql) lines and skipping the `SELECT '< … >'` progress
/// lines those clients would print.
fn script(db: &str, name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schema")
        .join(db)
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        if let Some(file) = trimmed.strip_prefix("\\i ") {
            statements.extend(script(db, file.trim()));
            continue;
        }
        if let Some(file) = trimmed
            .strip_prefix("SOURCE ")
            .and_then(|f| f.strip_suffix(';'))
        {
            statements.extend(script(db, file.trim()));
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            let statement = current.trim().trim_end_matches(';').to_string();
            current.clear();
            if !statement.starts_with("SELECT '<") {
                statements.push(statement);
            }
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}

/// A Kyuubi layout in a database server: how it is created, what the reader should call it,
/// and the SQLite layout of its twin.
struct ServerLayout {
    database: &'static str,
    scripts: &'static [&'static str],
    name: &'static str,
    twin: Layout,
}

const MYSQL_LAYOUTS: &[ServerLayout] = &[
    ServerLayout {
        database: "kyuubi_1_6",
        scripts: &["metadata-store-schema-1.6.0.mysql.sql"],
        name: "1.6 or older (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_7",
        scripts: &["metadata-store-schema-1.7.0.mysql.sql"],
        name: "1.7 (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_7_upgraded",
        scripts: &[
            "metadata-store-schema-1.6.0.mysql.sql",
            "upgrade-1.6.0-to-1.7.0.mysql.sql",
        ],
        name: "1.7 (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_10",
        scripts: &["metadata-store-schema-1.8.0.mysql.sql"],
        name: "1.8-1.10 (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_8_upgraded",
        scripts: &[
            "metadata-store-schema-1.6.0.mysql.sql",
            "upgrade-1.6.0-to-1.7.0.mysql.sql",
            "upgrade-1.7.0-to-1.8.0.mysql.sql",
        ],
        name: "1.8-1.10 (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_11",
        scripts: &["metadata-store-schema-1.11.0.mysql.sql"],
        name: "1.11+ (metadata, k8s_engine_info)",
        twin: Layout::V1_11,
    },
    ServerLayout {
        database: "kyuubi_1_11_upgraded",
        scripts: &[
            "metadata-store-schema-1.8.0.mysql.sql",
            "upgrade-1.8.0-to-1.11.0.mysql.sql",
        ],
        name: "1.11+ (metadata, k8s_engine_info)",
        twin: Layout::V1_11,
    },
];

const POSTGRES_LAYOUTS: &[ServerLayout] = &[
    ServerLayout {
        database: "kyuubi_1_10",
        scripts: &["metadata-store-schema-1.9.0.postgresql.sql"],
        name: "1.8-1.10 (metadata)",
        twin: Layout::V1_8,
    },
    ServerLayout {
        database: "kyuubi_1_11",
        scripts: &["metadata-store-schema-1.11.0.postgresql.sql"],
        name: "1.11+ (metadata, k8s_engine_info)",
        twin: Layout::V1_11,
    },
    ServerLayout {
        database: "kyuubi_1_11_upgraded",
        scripts: &[
            "metadata-store-schema-1.9.0.postgresql.sql",
            "upgrade-1.9.0-to-1.11.0.postgresql.sql",
        ],
        name: "1.11+ (metadata, k8s_engine_info)",
        twin: Layout::V1_11,
    },
];

// ---------------------------------------------------------------------------------------------
// The corpus

/// A value of a corpus row, typed as each database's column.
#[derive(Debug, Clone)]
enum V {
    S(Option<String>),
    I(Option<i64>),
    B(Option<bool>),
}

fn s(v: &str) -> V {
    V::S(Some(v.to_string()))
}

/// A `metadata` row as Kyuubi writes it.
#[derive(Debug, Clone)]
struct Batch {
    tag: String,
    state: &'static str,
    engine_state: Option<&'static str>,
    engine_id: Option<String>,
    create_time: i64,
    /// `None` is NULL; `Some(0)` is Kyuubi's "not ended".
    end_time: Option<i64>,
    peer: Option<bool>,
    instance: &'static str,
    request_conf: Option<String>,
}

const METADATA_INSERT: [&str; 20] = [
    "identifier",
    "session_type",
    "real_user",
    "user_name",
    "ip_address",
    "kyuubi_instance",
    "state",
    "resource",
    "class_name",
    "request_name",
    "request_conf",
    "request_args",
    "create_time",
    "engine_type",
    "cluster_manager",
    "engine_id",
    "engine_name",
    "engine_state",
    "end_time",
    "peer_instance_closed",
];

impl Batch {
    fn values(&self) -> Vec<V> {
        vec![
            s(&self.tag),
            s("BATCH"),
            s("etl"),
            s("etl"),
            s("10.0.0.9"),
            s(self.instance),
            s(self.state),
            s("s3a://jobs/a.jar"),
            s("com.example.Main"),
            s("job"),
            V::S(self.request_conf.clone()),
            s("[]"),
            V::I(Some(self.create_time)),
            s("SPARK"),
            s("k8s://https://kubernetes.default.svc:443"),
            V::S(self.engine_id.clone()),
            s("job"),
            V::S(self.engine_state.map(str::to_string)),
            V::I(self.end_time),
            V::B(self.peer),
        ]
    }
}

/// A `k8s_engine_info` row.
#[derive(Debug, Clone)]
struct Info {
    tag: String,
    context: Option<&'static str>,
    namespace: Option<&'static str>,
    pod_name: String,
    pod_state: Option<&'static str>,
    engine_id: Option<String>,
    engine_state: Option<&'static str>,
    update_time: i64,
}

const ENGINE_INFO_INSERT: [&str; 9] = [
    "identifier",
    "context",
    "namespace",
    "pod_name",
    "pod_state",
    "container_state",
    "engine_id",
    "engine_state",
    "update_time",
];

impl Info {
    fn values(&self) -> Vec<V> {
        let opt = |v: Option<&str>| V::S(v.map(str::to_string));
        vec![
            s(&self.tag),
            opt(self.context),
            opt(self.namespace),
            s(&self.pod_name),
            opt(self.pod_state),
            s("spark-kubernetes-driver->ContainerState(terminated=...)"),
            V::S(self.engine_id.clone()),
            opt(self.engine_state),
            V::I(Some(self.update_time)),
        ]
    }
}

/// Rows of every kind the reader must read alike everywhere: every batch state, end times
/// NULL, 0 and set, `peer_instance_closed` NULL, false and true, `request_conf` NULL, empty,
/// with Kyuubi's context/namespace/pod-name keys, with Spark's namespace only, and not JSON,
/// odd times; and `k8s_engine_info` rows with and without context and namespace.
struct Corpus {
    batches: Vec<Batch>,
    infos: Vec<Info>,
}

impl Corpus {
    #[allow(clippy::too_many_lines)]
    fn new() -> Self {
        let now = Timestamp::now().as_millisecond();
        let states = [
            "INITIALIZED",
            "PENDING",
            "RUNNING",
            "COMPILED",
            "FINISHED",
            "TIMEOUT",
            "CANCELED",
            "CLOSED",
            "ERROR",
            "UNKNOWN",
            "SOMETHING_NEW",
            "  finished ",
        ];
        let confs = [
            None,
            Some("{}".to_string()),
            Some(
                serde_json::json!({
                    "kyuubi.kubernetes.context": "prod-ctx-ü",
                    "kyuubi.kubernetes.namespace": "etl",
                    "spark.kubernetes.namespace": "ignored",
                    "spark.kubernetes.driver.pod.name": "kyuubi-job-x-driver",
                    "spark.master": "k8s://https://kubernetes.default.svc:443"
                })
                .to_string(),
            ),
            Some(serde_json::json!({"spark.kubernetes.namespace": "spark-ns"}).to_string()),
            Some("{not json".to_string()),
            Some("[1, 2]".to_string()),
        ];
        let mut batches = Vec::new();
        let mut n: i64 = 0;
        for state in states {
            for variant in 0..3 {
                n += 1;
                let index = usize::try_from(n).unwrap();
                batches.push(Batch {
                    tag: format!("b-{:02}-{}", n, state.trim().to_ascii_lowercase()),
                    state,
                    engine_state: [None, Some("RUNNING"), Some("FINISHED"), Some("NOT_FOUND")]
                        [index % 4],
                    engine_id: (n % 5 != 0).then(|| format!("spark-app-{n}")),
                    create_time: now - 86_400_000 + n * 1000,
                    end_time: match variant {
                        0 => None,
                        1 => Some(0),
                        _ => Some(now - 3_600_000 + n),
                    },
                    peer: [None, Some(true), Some(false)][index % 3],
                    instance: ["kyuubi-0:10099", "", "kyuubi-1:10099"][(index / 3) % 3],
                    request_conf: confs[index % confs.len()].clone(),
                });
            }
        }
        // Times a reader must warn about, the same way everywhere.
        batches.push(Batch {
            tag: "b-odd-times".into(),
            state: "FINISHED",
            engine_state: None,
            engine_id: None,
            create_time: i64::MAX,
            end_time: Some(-5),
            peer: Some(false),
            instance: "kyuubi-0:10099",
            request_conf: None,
        });
        // MySQL's case-insensitive collation returns it for the tag `case-tag`; no reader may
        // keep it under that tag.
        batches.push(Batch {
            tag: "CASE-tag".into(),
            state: "RUNNING",
            engine_state: Some("RUNNING"),
            engine_id: None,
            create_time: now,
            end_time: Some(0),
            peer: None,
            instance: "kyuubi-0:10099",
            request_conf: None,
        });
        let infos = vec![
            Info {
                tag: "b-05-finished".into(),
                context: Some("prod"),
                namespace: Some("etl"),
                pod_name: "kyuubi-job-b-05-driver".into(),
                pod_state: Some("Succeeded"),
                engine_id: Some("spark-app-5".into()),
                engine_state: Some("FINISHED"),
                update_time: now - 60_000,
            },
            Info {
                tag: "i-interactive-1".into(),
                context: None,
                namespace: Some("analytics"),
                pod_name: "kyuubi-user-spark-sql-anonymous-default-driver".into(),
                pod_state: Some("Failed"),
                engine_id: None,
                engine_state: Some("KILLED"),
                update_time: now - 120_000,
            },
            Info {
                tag: "i-interactive-2".into(),
                context: None,
                namespace: None,
                pod_name: "kyuubi-some-driver".into(),
                pod_state: None,
                engine_id: Some("spark-x".into()),
                engine_state: None,
                update_time: 0,
            },
        ];
        Self { batches, infos }
    }

    /// The tags a scan would ask for: every corpus row's, some unknown ones, and a case
    /// variant of one.
    fn candidates(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .batches
            .iter()
            .map(|b| b.tag.clone())
            .chain(self.infos.iter().map(|i| i.tag.clone()))
            .filter(|t| t != "CASE-tag")
            .collect();
        tags.extend(["missing-1", "missing-2", "case-tag"].map(String::from));
        tags
    }
}

/// A multi-row insert of `n` filler batches (identical in every database's SQL).
fn filler_sql(from: usize, n: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO metadata(identifier, session_type, real_user, user_name, kyuubi_instance, \
         state, create_time, engine_type, end_time) VALUES ",
    );
    for i in from..from + n {
        if i > from {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "('filler-{i:05}', 'BATCH', 'u', 'u', 'kyuubi-0:10099', 'FINISHED', {i}, 'SPARK', {i})"
        );
    }
    sql
}

/// How many filler rows the stores get beside the corpus, none of them a candidate.
const FILLER: usize = 1500;

/// The SQLite twin: the same rows in Kyuubi's SQLite layout.
fn sqlite_twin(path: &Path, layout: Layout, corpus: &Corpus) {
    SqliteWorld::new(layout).write(path);
    let conn = rusqlite::Connection::open(path).unwrap();
    let insert = |table: &str, columns: &[&str], values: Vec<V>| {
        let sql = format!(
            "INSERT INTO {table}({}) VALUES ({})",
            columns.join(", "),
            (1..=columns.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let params: Vec<Box<dyn rusqlite::ToSql>> = values
            .into_iter()
            .map(|v| -> Box<dyn rusqlite::ToSql> {
                match v {
                    V::S(s) => Box::new(s),
                    V::I(i) => Box::new(i),
                    V::B(b) => Box::new(b),
                }
            })
            .collect();
        conn.execute(&sql, rusqlite::params_from_iter(params.iter()))
            .unwrap();
    };
    for b in &corpus.batches {
        insert("metadata", &METADATA_INSERT, b.values());
    }
    if layout == Layout::V1_11 {
        for i in &corpus.infos {
            insert("k8s_engine_info", &ENGINE_INFO_INSERT, i.values());
        }
    }
    conn.execute_batch(&filler_sql(0, FILLER)).unwrap();
}

/// What the state says about one tag, with the source ids taken out (they differ by load
/// order only).
fn evidence(state: &EngineState, tag: &str) -> Option<TagEvidence> {
    state.lookup(tag).map(|e| {
        let mut e = e.clone();
        for b in &mut e.batches {
            b.source = 0;
        }
        for i in &mut e.engine_infos {
            i.source = 0;
        }
        e
    })
}

/// Loads the SQLite twin of `layout` for the corpus's candidates.
fn load_twin(layout: Layout, corpus: &Corpus) -> (tempfile::TempDir, EngineState) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kyuubi_state_store.db");
    sqlite_twin(&path, layout, corpus);
    let candidates: BTreeSet<String> = corpus.candidates().into_iter().collect();
    let mut state = EngineState::new();
    SqliteStore::open(&path)
        .unwrap()
        .load(&mut state, &|t| candidates.contains(t))
        .unwrap();
    (dir, state)
}

/// Asserts that a server store read the same records as the SQLite twin, tag by tag, with the
/// same warnings.
fn assert_same_as_twin(what: &str, server: &EngineState, twin: &EngineState, corpus: &Corpus) {
    for tag in corpus.candidates() {
        assert_eq!(
            evidence(server, &tag),
            evidence(twin, &tag),
            "{what}: tag {tag}"
        );
    }
    let mut server_warnings = server.sources()[0].warnings.clone();
    let mut twin_warnings = twin.sources()[0].warnings.clone();
    server_warnings.sort();
    twin_warnings.sort();
    assert_eq!(server_warnings, twin_warnings, "{what}: warnings");
    assert!(
        server_warnings
            .iter()
            .any(|w| w.contains("request_conf is not a JSON object")),
        "{what}: {server_warnings:?}"
    );
    assert!(
        server_warnings
            .iter()
            .any(|w| w.contains("b-odd-times: create_time")),
        "{what}: {server_warnings:?}"
    );
}

/// Options for the tests: a small batch, so the candidates take several `IN` lists.
fn options() -> SqlOptions {
    SqlOptions {
        password: None,
        timeout: Duration::from_secs(10),
        batch: 7,
    }
}

/// Whether a statement only reads or manages the session and its transaction.
fn is_read_only(statement: &str) -> bool {
    let first = statement
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "SET" | "SHOW" | "START" | "BEGIN" | "COMMIT" | "ROLLBACK"
    )
}

/// Asserts what the reader's sessions sent: only reads, every read of the two tables by
/// `identifier IN (…)` of at most the batch size, and `expected_reads` of them per table.
fn assert_reads_only(what: &str, statements: &[String], expected_reads: usize) {
    assert!(
        !statements.is_empty(),
        "{what}: no statement of the reader logged"
    );
    for statement in statements {
        assert!(
            is_read_only(statement),
            "{what}: the reader sent {statement:?}"
        );
    }
    for table in ["metadata", "k8s_engine_info"] {
        let (checks, reads): (Vec<&String>, Vec<&String>) = statements
            .iter()
            .filter(|s| {
                let s = s.to_ascii_lowercase();
                (s.contains(&format!("from `{table}`")) || s.contains(&format!("from \"{table}\"")))
                    && !s.contains("information_schema")
            })
            // The one read of the whole table: the check for blank identifiers.
            .partition(|s| {
                let s = s.to_ascii_lowercase();
                s.contains("where `identifier` is null or `identifier` regexp")
                    || s.contains("where \"identifier\" is null or cast(\"identifier\" as text) ~")
            });
        if table == "metadata" {
            assert!(
                !checks.is_empty(),
                "{what}: {table} not checked for blank identifiers"
            );
        }
        if table == "metadata" || expected_reads > 0 {
            for read in &reads {
                let lower = read.to_ascii_lowercase();
                assert!(
                    lower.contains("where `identifier` in (")
                        || lower.contains("where \"identifier\" in ("),
                    "{what}: a read of {table} that is not by tag: {read}"
                );
            }
        }
        if table == "metadata" {
            assert_eq!(
                reads.len(),
                expected_reads,
                "{what}: reads of {table}: {reads:#?}"
            );
        }
    }
}

/// The statements MariaDB's general log holds for the sessions `user` opened, oldest first.
fn mariadb_statements(log: &Path, user: &str) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut entries: Vec<(u64, String, String)> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        // `[YYMMDD HH:MM:SS]\t<id> <Command>\t<argument>`: the time, when a line has one, also
        // reads as a number and a word, but its word is not a command's.
        let parsed = fields.iter().enumerate().find_map(|(i, field)| {
            let (id, command) = field.trim().split_once(' ')?;
            let id = id.parse::<u64>().ok()?;
            let command = command.trim();
            if !command.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
                return None;
            }
            Some((id, command.to_string(), fields[i + 1..].join("\t")))
        });
        match parsed {
            Some(entry) if fields.len() >= 2 => entries.push(entry),
            _ => {
                if let Some(last) = entries.last_mut() {
                    last.2.push('\n');
                    last.2.push_str(line);
                }
            }
        }
    }
    let sessions: BTreeSet<u64> = entries
        .iter()
        .filter(|(_, command, argument)| {
            command == "Connect" && argument.starts_with(&format!("{user}@"))
        })
        .map(|(id, _, _)| *id)
        .collect();
    entries
        .into_iter()
        .filter(|(id, command, _)| {
            sessions.contains(id) && matches!(command.as_str(), "Query" | "Execute")
        })
        .map(|(_, _, argument)| argument)
        .collect()
}

/// The statements PostgreSQL logged (`log_statement=all`) for `user`'s sessions.
fn postgres_statements(log: &Path, user: &str) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let prefix = format!("{user}|");
    text.lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| {
            let (_, message) = line.split_once("LOG:  ")?;
            if let Some(statement) = message.strip_prefix("statement: ") {
                return Some(statement.to_string());
            }
            let rest = message.strip_prefix("execute ")?;
            Some(rest.split_once(": ")?.1.to_string())
        })
        .collect()
}

/// How many `IN` lists the corpus's candidates take with [`options`].
fn expected_reads(corpus: &Corpus) -> usize {
    let tags: BTreeSet<String> = corpus.candidates().into_iter().collect();
    tags.len().div_ceil(options().batch)
}

// ---------------------------------------------------------------------------------------------
// Every layout reads like its SQLite twin

/// Every MySQL layout Kyuubi has written (1.6 to 1.11, created fresh or by Kyuubi's upgrade
/// scripts) on a real MariaDB: the reader, a SELECT-only user, gets the same records as from
/// the SQLite twin, fetches only the candidates' rows in `IN` lists of the batch size, and its
/// sessions send nothing but reads.
#[test]
#[allow(clippy::too_many_lines)]
fn mariadb_every_kyuubi_layout_reads_like_its_sqlite_twin() {
    let server = MariaDb::start(None);
    let corpus = Corpus::new();
    let rt = runtime();
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        for layout in MYSQL_LAYOUTS {
            root.query_drop(format!("CREATE DATABASE {}", layout.database))
                .await
                .unwrap();
            let mut owner = server.owner(layout.database).await;
            for file in layout.scripts {
                for statement in script("mysql", file) {
                    owner
                        .query_drop(&statement)
                        .await
                        .unwrap_or_else(|e| panic!("{file}: {statement}: {e}"));
                }
            }
            let insert = |table: &str, columns: &[&str]| {
                format!(
                    "INSERT INTO {table}({}) VALUES ({})",
                    columns.join(", "),
                    vec!["?"; columns.len()].join(", ")
                )
            };
            for b in &corpus.batches {
                let values: Vec<mysql_async::Value> = b.values().into_iter().map(my).collect();
                owner
                    .exec_drop(insert("metadata", &METADATA_INSERT), values)
                    .await
                    .unwrap();
            }
            if layout.twin == Layout::V1_11 {
                for i in &corpus.infos {
                    let values: Vec<mysql_async::Value> = i.values().into_iter().map(my).collect();
                    owner
                        .exec_drop(insert("k8s_engine_info", &ENGINE_INFO_INSERT), values)
                        .await
                        .unwrap();
                }
            }
            for from in (0..FILLER).step_by(500) {
                owner.query_drop(filler_sql(from, 500)).await.unwrap();
            }
            owner.disconnect().await.unwrap();
        }
        root.disconnect().await.unwrap();

        let candidates = corpus.candidates();
        let tags: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let twins = [
            (Layout::V1_8, load_twin(Layout::V1_8, &corpus)),
            (Layout::V1_11, load_twin(Layout::V1_11, &corpus)),
        ];
        for layout in MYSQL_LAYOUTS {
            let url = server.url(layout.database, "?ssl-mode=DISABLED");
            let store = SqlStore::open(&url, &options())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", layout.database));
            assert_eq!(store.layout(), layout.name, "{}", layout.database);
            assert_eq!(store.name(), format!("store {url}"));
            let before = Timestamp::now();
            assert!(
                (before - store.as_of()).get_seconds().abs() < 30,
                "as of {} (now {before})",
                store.as_of()
            );
            let mut state = EngineState::new();
            store.load(&mut state, &tags).await.unwrap();
            let twin = &twins.iter().find(|(l, _)| *l == layout.twin).unwrap().1.1;
            assert_same_as_twin(layout.database, &state, twin, &corpus);
            let source = &state.sources()[0];
            assert_eq!(source.location, url.redacted());
            assert_eq!(
                source.as_of_from,
                "database server clock at the start of the read transaction"
            );
            // Only the candidates' rows were fetched: the corpus's, and the one row the
            // case-insensitive collation returns for `case-tag`; none of the filler.
            assert_eq!(source.batches, corpus.batches.len(), "{}", layout.database);
            let infos = if layout.twin == Layout::V1_11 {
                corpus.infos.len()
            } else {
                0
            };
            assert_eq!(source.engine_infos, infos, "{}", layout.database);
        }
    });
    // The general log reaches its file a little after the statement ran: wait (a bounded
    // while) for every session's end.
    let started = Instant::now();
    let statements = loop {
        let statements = mariadb_statements(&server.general_log(), READER.0);
        let ended = statements
            .iter()
            .filter(|s| s.as_str() == "ROLLBACK")
            .count();
        if ended >= MYSQL_LAYOUTS.len() || started.elapsed() > Duration::from_secs(10) {
            break statements;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_reads_only(
        "MariaDB",
        &statements,
        expected_reads(&corpus) * MYSQL_LAYOUTS.len(),
    );
    for expected in [
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        "ROLLBACK",
    ] {
        assert_eq!(
            statements.iter().filter(|s| s.as_str() == expected).count(),
            MYSQL_LAYOUTS.len(),
            "{expected}"
        );
    }
    // And the reader could not have written anyway.
    rt.block_on(async {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(server.port)
            .prefer_socket(false)
            .user(Some(READER.0))
            .pass(Some(READER.1))
            .db_name(Some("kyuubi_1_11"));
        let mut reader = mysql_async::Conn::new(opts).await.unwrap();
        for statement in [
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
             create_time, engine_type) VALUES ('x', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK')",
            "UPDATE metadata SET state = 'FINISHED'",
            "DELETE FROM k8s_engine_info",
            "CREATE TABLE t(i INT)",
        ] {
            match reader.query_drop(statement).await {
                Err(mysql_async::Error::Server(e)) => {
                    assert!(e.message.contains("denied"), "{statement}: {e}");
                }
                other => panic!("{statement}: {other:?}"),
            }
        }
        reader.disconnect().await.unwrap();
    });
}

fn my(v: V) -> mysql_async::Value {
    match v {
        V::S(s) => s.into(),
        V::I(i) => i.into(),
        V::B(b) => b.into(),
    }
}

/// Every PostgreSQL layout Kyuubi has written (1.9/1.10, 1.11 fresh and upgraded) on a real
/// server: as for MariaDB.
#[test]
#[allow(clippy::too_many_lines)]
fn postgres_every_kyuubi_layout_reads_like_its_sqlite_twin() {
    let server = Postgres::start(None);
    let corpus = Corpus::new();
    let databases: Vec<&str> = POSTGRES_LAYOUTS.iter().map(|l| l.database).collect();
    let rt = runtime();
    rt.block_on(async {
        server.create_databases(&databases).await;
        for layout in POSTGRES_LAYOUTS {
            let owner = server.owner(layout.database).await;
            for file in layout.scripts {
                for statement in script("postgresql", file) {
                    owner
                        .batch_execute(&statement)
                        .await
                        .unwrap_or_else(|e| panic!("{file}: {statement}: {e}"));
                }
            }
            let insert = |table: &str, columns: &[&str]| {
                format!(
                    "INSERT INTO {table}({}) VALUES ({})",
                    columns.join(", "),
                    (1..=columns.len())
                        .map(|i| format!("${i}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let rows: Vec<(&str, &[&str], Vec<V>)> = corpus
                .batches
                .iter()
                .map(|b| ("metadata", &METADATA_INSERT[..], b.values()))
                .chain(
                    corpus
                        .infos
                        .iter()
                        .filter(|_| layout.twin == Layout::V1_11)
                        .map(|i| ("k8s_engine_info", &ENGINE_INFO_INSERT[..], i.values())),
                )
                .collect();
            for (table, columns, values) in rows {
                let params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = values
                    .into_iter()
                    .map(|v| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                        match v {
                            V::S(s) => Box::new(s),
                            V::I(i) => Box::new(i),
                            V::B(b) => Box::new(b),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                owner
                    .execute(&insert(table, columns), &refs)
                    .await
                    .unwrap_or_else(|e| panic!("{table}: {e}"));
            }
            for from in (0..FILLER).step_by(500) {
                owner.batch_execute(&filler_sql(from, 500)).await.unwrap();
            }
        }

        let candidates = corpus.candidates();
        let tags: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let twins = [
            (Layout::V1_8, load_twin(Layout::V1_8, &corpus)),
            (Layout::V1_11, load_twin(Layout::V1_11, &corpus)),
        ];
        for layout in POSTGRES_LAYOUTS {
            let url = server.url(layout.database, "?sslmode=disable");
            let store = SqlStore::open(&url, &options())
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", layout.database));
            assert_eq!(store.layout(), layout.name, "{}", layout.database);
            let now = Timestamp::now();
            assert!((now - store.as_of()).get_seconds().abs() < 30);
            let mut state = EngineState::new();
            store.load(&mut state, &tags).await.unwrap();
            let twin = &twins.iter().find(|(l, _)| *l == layout.twin).unwrap().1.1;
            assert_same_as_twin(layout.database, &state, twin, &corpus);
            let source = &state.sources()[0];
            // PostgreSQL compares identifiers exactly: not even `CASE-tag` is fetched.
            assert_eq!(
                source.batches,
                corpus.batches.len() - 1,
                "{}",
                layout.database
            );
            let infos = if layout.twin == Layout::V1_11 {
                corpus.infos.len()
            } else {
                0
            };
            assert_eq!(source.engine_infos, infos, "{}", layout.database);
        }
    });
    let statements = postgres_statements(&server.log(), READER.0);
    assert_reads_only(
        "PostgreSQL",
        &statements,
        expected_reads(&corpus) * POSTGRES_LAYOUTS.len(),
    );
    for expected in [
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "ROLLBACK",
    ] {
        assert_eq!(
            statements.iter().filter(|s| s.as_str() == expected).count(),
            POSTGRES_LAYOUTS.len(),
            "{expected}: {statements:#?}"
        );
    }
    rt.block_on(async {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(server.port)
            .user(READER.0)
            .password(READER.1)
            .dbname("kyuubi_1_11");
        let (reader, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        for statement in [
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
             create_time, engine_type) VALUES ('x', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK')",
            "UPDATE metadata SET state = 'FINISHED'",
            "DELETE FROM k8s_engine_info",
            "CREATE TABLE t(i INT)",
        ] {
            let e = reader.batch_execute(statement).await.unwrap_err();
            assert_eq!(
                e.code(),
                Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{statement}: {e:?}"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The change marker

/// Polls the marker until it differs from `last`, failing after `limit`; returns it and how
/// long the change took to show.
async fn next_marker(
    url: &StoreUrl,
    last: &sql::ChangeMarker,
    limit: Duration,
    what: &str,
) -> (sql::ChangeMarker, Duration) {
    let started = Instant::now();
    loop {
        let marker = sql::change_marker(url, &options()).await.unwrap();
        if marker != *last {
            return (marker, started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "{what}: the marker did not change within {limit:?}: {marker:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the marker until two in a row are equal (no change pending), failing after `limit`.
async fn settled_marker(url: &StoreUrl, limit: Duration) -> sql::ChangeMarker {
    let started = Instant::now();
    let mut last = sql::change_marker(url, &options()).await.unwrap();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let marker = sql::change_marker(url, &options()).await.unwrap();
        if marker == last {
            return marker;
        }
        assert!(
            started.elapsed() < limit,
            "the marker kept changing for {limit:?} with no write: {marker:?}"
        );
        last = marker;
    }
}

/// The writes Kyuubi makes: a new batch, its state updated, a `k8s_engine_info` upsert and
/// update, deletes by the cleaner. Each must change the marker (MariaDB: `UPDATE_TIME`).
#[test]
fn mariadb_change_marker_follows_every_change() {
    let server = MariaDb::start(None);
    let rt = runtime();
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_marker")
            .await
            .unwrap();
        let mut owner = server.owner("kyuubi_marker").await;
        for statement in script("mysql", "metadata-store-schema-1.11.0.mysql.sql") {
            owner.query_drop(&statement).await.unwrap();
        }
        owner.query_drop(filler_sql(0, 500)).await.unwrap();
        let url = server.url("kyuubi_marker", "?ssl-mode=DISABLED");
        let mut last = settled_marker(&url, Duration::from_secs(10)).await;
        let writes = [
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
             create_time, engine_type) VALUES ('new', 'BATCH', 'u', 'u', 'PENDING', 1, 'SPARK')",
            "UPDATE metadata SET state = 'FINISHED', end_time = 5 WHERE identifier = 'new'",
            "INSERT INTO k8s_engine_info(identifier, pod_name, update_time) VALUES ('new', 'p', 1) \
             ON DUPLICATE KEY UPDATE pod_name = VALUES(pod_name)",
            "UPDATE k8s_engine_info SET engine_state = 'FINISHED' WHERE identifier = 'new'",
            "DELETE FROM k8s_engine_info WHERE identifier = 'new'",
            "DELETE FROM metadata WHERE identifier = 'filler-00001'",
        ];
        for write in writes {
            // The marker settled: the last change is more than RECENT_CHANGE old, so only the
            // write can change it.
            let stable = sql::change_marker(&url, &options()).await.unwrap();
            assert_eq!(stable, last, "no write since: {write}");
            owner.query_drop(write).await.unwrap();
            let (marker, took) = next_marker(&url, &last, Duration::from_secs(5), write).await;
            assert!(took < Duration::from_secs(2), "{write}: {took:?}");
            last = settled_marker(&url, Duration::from_secs(10)).await;
            assert_ne!(last, stable, "{write}");
            drop(marker);
        }
        // Two changes within one second are both seen: the second comes while the first is
        // recent, so every poll counts as a change.
        owner
            .query_drop("UPDATE metadata SET state = 'ERROR' WHERE identifier = 'filler-00003'")
            .await
            .unwrap();
        let first = sql::change_marker(&url, &options()).await.unwrap();
        owner
            .query_drop("UPDATE metadata SET engine_state = 'x' WHERE identifier = 'filler-00002'")
            .await
            .unwrap();
        let (_, took) = next_marker(&url, &first, Duration::from_secs(2), "second").await;
        assert!(took < Duration::from_secs(1));
        owner.disconnect().await.unwrap();
        // The reader's marker sessions only read.
        let statements = mariadb_statements(&server.general_log(), READER.0);
        for statement in &statements {
            assert!(is_read_only(statement), "{statement}");
        }
        assert!(
            statements
                .iter()
                .any(|s| s.contains("information_schema.TABLES")),
            "{statements:#?}"
        );
        root.disconnect().await.unwrap();
    });
}

/// The same on PostgreSQL (`pg_stat_user_tables`), with the writer's connection kept open
/// (as Kyuubi's pool does): its statistics reach the marker once it goes idle.
#[test]
fn postgres_change_marker_follows_every_change() {
    let server = Postgres::start(None);
    let rt = runtime();
    rt.block_on(async {
        server.create_databases(&["kyuubi_marker"]).await;
        // A backend reports its table statistics when it goes idle, but at most once a second;
        // a report held back waits for PostgreSQL's idle interval (10 s in 15+). The writer
        // forces its reports so that each write shows at once, except the last one below.
        let admin = server.superuser("kyuubi_marker").await.unwrap();
        admin
            .batch_execute(&format!(
                "GRANT EXECUTE ON FUNCTION pg_stat_force_next_flush() TO {}",
                OWNER.0
            ))
            .await
            .unwrap();
        let owner = server.owner("kyuubi_marker").await;
        let flush = "SELECT pg_stat_force_next_flush()";
        for statement in script("postgresql", "metadata-store-schema-1.11.0.postgresql.sql") {
            owner.batch_execute(&statement).await.unwrap();
        }
        owner.batch_execute(&filler_sql(0, 500)).await.unwrap();
        owner.batch_execute(flush).await.unwrap();
        let url = server.url("kyuubi_marker", "?sslmode=disable");
        let mut last = settled_marker(&url, Duration::from_secs(10)).await;
        let writes = [
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
             create_time, engine_type) VALUES ('new', 'BATCH', 'u', 'u', 'PENDING', 1, 'SPARK')",
            "UPDATE metadata SET state = 'FINISHED', end_time = 5 WHERE identifier = 'new'",
            "INSERT INTO k8s_engine_info(identifier, pod_name, update_time) VALUES ('new', 'p', 1) \
             ON CONFLICT (identifier) DO UPDATE SET pod_name = EXCLUDED.pod_name",
            "INSERT INTO k8s_engine_info(identifier, pod_name, update_time) VALUES ('new', 'q', 2) \
             ON CONFLICT (identifier) DO UPDATE SET pod_name = EXCLUDED.pod_name",
            "DELETE FROM k8s_engine_info WHERE identifier = 'new'",
            "DELETE FROM metadata WHERE identifier = 'filler-00001'",
        ];
        for write in writes {
            let stable = sql::change_marker(&url, &options()).await.unwrap();
            assert_eq!(stable, last, "no write since: {write}");
            owner.batch_execute(write).await.unwrap();
            owner.batch_execute(flush).await.unwrap();
            let (marker, took) = next_marker(&url, &last, Duration::from_secs(5), write).await;
            assert!(took < Duration::from_secs(3), "{write}: {took:?}");
            last = settled_marker(&url, Duration::from_secs(10)).await;
            assert_eq!(marker, last, "{write}: one write, one change");
        }
        // Two writes less than a second apart, as Kyuubi makes them, without forcing: the
        // second is reported when the writer's idle interval ends, and seen then.
        let first = "UPDATE metadata SET state = 'RUNNING' WHERE identifier = 'filler-00002'";
        owner.batch_execute(first).await.unwrap();
        owner.batch_execute(flush).await.unwrap();
        last = next_marker(&url, &last, Duration::from_secs(5), first)
            .await
            .0;
        let second = "UPDATE metadata SET state = 'FINISHED' WHERE identifier = 'filler-00002'";
        owner.batch_execute(second).await.unwrap();
        let (_, took) = next_marker(&url, &last, Duration::from_secs(15), second).await;
        assert!(took < Duration::from_secs(12), "{second}: {took:?}");
        last = settled_marker(&url, Duration::from_secs(10)).await;
        // Reads by others (the reader's own loads) change nothing.
        let store = SqlStore::open(&url, &options()).await.unwrap();
        store
            .load(&mut EngineState::new(), &["new", "filler-00002"])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(sql::change_marker(&url, &options()).await.unwrap(), last);
    });
    let statements = postgres_statements(&server.log(), READER.0);
    for statement in &statements {
        assert!(is_read_only(statement), "{statement}");
    }
    assert!(statements.iter().any(|s| s.contains("pg_stat_user_tables")));
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Asserts a failure, returning its message: it must name the server and never the password.
fn failure<T: std::fmt::Debug>(result: Result<T, SqlError>, server: &str) -> (SqlError, String) {
    let error = result.expect_err("expected a failure");
    let message = error.to_string();
    assert!(message.contains(server), "{message} (expected {server})");
    for secret in [READER.1, OWNER.1, "wrong-pw"] {
        assert!(!message.contains(secret), "{message}");
        assert!(!format!("{error:?}").contains(secret), "{error:?}");
    }
    (error, message)
}

#[test]
#[allow(clippy::too_many_lines)]
fn mariadb_failures_are_clear_errors() {
    let mut server = MariaDb::start(None);
    let rt = runtime();
    let at = format!("127.0.0.1:{}", server.port);
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_x").await.unwrap();
        let mut owner = server.owner("kyuubi_x").await;
        for statement in script("mysql", "metadata-store-schema-1.8.0.mysql.sql") {
            owner.query_drop(&statement).await.unwrap();
        }
        owner
            .query_drop(
                "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
                 create_time, engine_type) VALUES ('a', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK'), \
                 ('damaged', 'BATCH', 'u', 'u', '', 1, 'SPARK')",
            )
            .await
            .unwrap();
        owner.disconnect().await.unwrap();
        root.disconnect().await.unwrap();

        // The password from the options wins over the URL's: a wrong one in the URL is not
        // used, a wrong one in the options is.
        let url = StoreUrl::parse(&format!(
            "mysql://{}:wrong-pw@127.0.0.1:{}/kyuubi_x?ssl-mode=DISABLED",
            READER.0, server.port
        ))
        .unwrap();
        let mut good = options();
        good.password = Some(READER.1.into());
        SqlStore::open(&url, &good).await.unwrap();
        let (error, message) = failure(SqlStore::open(&url, &options()).await, &at);
        assert!(matches!(error, SqlError::AccessDenied { .. }), "{error:?}");
        assert!(message.contains("access denied"), "{message}");
        let mut wrong = options();
        wrong.password = Some("wrong-pw".into());
        let (error, _) = failure(
            SqlStore::open(&server.url("kyuubi_x", ""), &wrong).await,
            &at,
        );
        assert!(matches!(error, SqlError::AccessDenied { .. }), "{error:?}");

        let (error, message) = failure(
            SqlStore::open(&server.url("empty", "?ssl-mode=DISABLED"), &options()).await,
            "empty",
        );
        assert!(
            matches!(error, SqlError::NoMetadataTable { .. }),
            "{error:?}"
        );
        assert!(message.contains("not a Kyuubi metadata store"), "{message}");
        let (error, _) = failure(
            SqlStore::open(&server.url("kyuubi_nope", "?ssl-mode=DISABLED"), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::NoDatabase { .. }), "{error:?}");
        let (error, _) = failure(
            sql::change_marker(&server.url("empty", "?ssl-mode=DISABLED"), &options()).await,
            "empty",
        );
        assert!(
            matches!(error, SqlError::NoMetadataTable { .. }),
            "{error:?}"
        );

        // A row without state refuses the load.
        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        let (error, message) = failure(
            store.load(&mut EngineState::new(), &["a", "damaged"]).await,
            "damaged",
        );
        assert!(
            matches!(
                error,
                SqlError::DamagedRow {
                    missing: "state",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(message.contains("damaged store"), "{message}");

        // The default mode, PREFERRED, reads a server without TLS; REQUIRED refuses it.
        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        let mut state = EngineState::new();
        store.load(&mut state, &["a"]).await.unwrap();
        assert!(state.lookup("a").is_some());
        let (error, message) = failure(
            SqlStore::open(&server.url("kyuubi_x", "?ssl-mode=REQUIRED"), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::Tls { .. }), "{error:?}");
        assert!(message.contains("does not offer TLS"), "{message}");

        // Stopped between open and load: the connection is lost, clearly.
        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        server.stop();
        let started = Instant::now();
        let (error, message) = failure(store.load(&mut EngineState::new(), &["a"]).await, &at);
        assert!(
            matches!(error, SqlError::ConnectionLost { .. }),
            "{error:?}: {message}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        // Stopped before the read: refused.
        let (error, message) = failure(
            SqlStore::open(&server.url("kyuubi_x", ""), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::Connect { .. }), "{error:?}");
        assert!(message.contains("refused"), "{message}");
        let (_, message) = failure(
            sql::change_marker(&server.url("kyuubi_x", ""), &options()).await,
            &at,
        );
        assert!(message.contains("refused"), "{message}");
    });
}

#[test]
fn postgres_failures_are_clear_errors() {
    let mut server = Postgres::start(None);
    let rt = runtime();
    let at = format!("127.0.0.1:{}", server.port);
    rt.block_on(async {
        server.create_databases(&["kyuubi_x", "empty"]).await;
        let owner = server.owner("kyuubi_x").await;
        for statement in script("postgresql", "metadata-store-schema-1.9.0.postgresql.sql") {
            owner.batch_execute(&statement).await.unwrap();
        }
        owner
            .batch_execute(
                "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
                 create_time, engine_type) VALUES ('a', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK'), \
                 ('damaged', 'BATCH', 'u', 'u', ' ', 1, 'SPARK')",
            )
            .await
            .unwrap();
        server
            .owner("empty")
            .await
            .batch_execute("CREATE TABLE things(id int)")
            .await
            .unwrap();

        let url = StoreUrl::parse(&format!(
            "postgresql://{}:wrong-pw@127.0.0.1:{}/kyuubi_x?sslmode=disable",
            READER.0, server.port
        ))
        .unwrap();
        let mut good = options();
        good.password = Some(READER.1.into());
        SqlStore::open(&url, &good).await.unwrap();
        let (error, message) = failure(SqlStore::open(&url, &options()).await, &at);
        assert!(matches!(error, SqlError::AccessDenied { .. }), "{error:?}");
        assert!(
            message.contains("password authentication failed"),
            "{message}"
        );

        let (error, message) = failure(
            SqlStore::open(&server.url("empty", ""), &options()).await,
            "empty",
        );
        assert!(
            matches!(error, SqlError::NoMetadataTable { .. }),
            "{error:?}"
        );
        assert!(message.contains("not a Kyuubi metadata store"), "{message}");
        let (error, _) = failure(
            SqlStore::open(&server.url("kyuubi_nope", ""), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::NoDatabase { .. }), "{error:?}");

        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        let (error, _) = failure(
            store.load(&mut EngineState::new(), &["a", "damaged"]).await,
            "damaged",
        );
        assert!(
            matches!(
                error,
                SqlError::DamagedRow {
                    missing: "state",
                    ..
                }
            ),
            "{error:?}"
        );

        // The default mode, prefer, reads a server without TLS; require refuses it.
        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        store.load(&mut EngineState::new(), &["a"]).await.unwrap();
        let (error, message) = failure(
            SqlStore::open(&server.url("kyuubi_x", "?sslmode=require"), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::Tls { .. }), "{error:?}");
        assert!(message.contains("does not offer TLS"), "{message}");

        let store = SqlStore::open(&server.url("kyuubi_x", ""), &options())
            .await
            .unwrap();
        server.stop();
        let (error, message) = failure(store.load(&mut EngineState::new(), &["a"]).await, &at);
        assert!(
            matches!(error, SqlError::ConnectionLost { .. }),
            "{error:?}: {message}"
        );
        let (error, message) = failure(
            SqlStore::open(&server.url("kyuubi_x", ""), &options()).await,
            &at,
        );
        assert!(matches!(error, SqlError::Connect { .. }), "{error:?}");
        assert!(message.contains("refused"), "{message}");
    });
}

/// A server that is not PostgreSQL and announces a message of 2 GiB, then streams it: the
/// read fails as soon as the length is seen, without waiting for (or buffering) the message,
/// with and without the `SSLRequest` the default mode sends first.
#[test]
fn a_postgres_message_longer_than_any_answer_is_refused_at_once() {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut length = [0u8; 4];
                let mut read_message = |stream: &mut std::net::TcpStream| -> Option<Vec<u8>> {
                    stream.read_exact(&mut length).ok()?;
                    let n = usize::try_from(u32::from_be_bytes(length)).ok()?;
                    let mut body = vec![0; n.checked_sub(4)?];
                    stream.read_exact(&mut body).ok()?;
                    Some(body)
                };
                let Some(first) = read_message(&mut stream) else {
                    return;
                };
                // An SSLRequest (code 80877103): no TLS here; the startup message follows.
                if first == [0x04, 0xd2, 0x16, 0x2f]
                    && (stream.write_all(b"N").is_err() || read_message(&mut stream).is_none())
                {
                    return;
                }
                if stream.write_all(&[b'R', 0x7f, 0xff, 0xff, 0xff]).is_err() {
                    return;
                }
                let chunk = vec![0u8; 64 << 10];
                while stream.write_all(&chunk).is_ok() {}
            });
        }
    });
    let rt = runtime();
    for url in [
        format!("postgresql://u:p@127.0.0.1:{port}/k"),
        format!("postgresql://u:p@127.0.0.1:{port}/k?sslmode=disable"),
    ] {
        let url = StoreUrl::parse(&url).unwrap();
        let started = Instant::now();
        let error = rt.block_on(SqlStore::open(&url, &options())).unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("announced a message of 2147483647 bytes, more than the 16 MiB"),
            "{url}: {message}"
        );
    }
}

/// A server that accepts TCP connections and never says a word: every kind of URL gives a
/// timeout error within the timeout and a margin, not a hang.
#[test]
fn a_server_that_never_answers_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let rt = runtime();
    let limit = Duration::from_millis(800);
    for url in [
        format!("mysql://u:p@127.0.0.1:{port}/k"),
        format!("mysql://u:p@127.0.0.1:{port}/k?ssl-mode=DISABLED"),
        format!("postgresql://u:p@127.0.0.1:{port}/k"),
        format!("postgresql://u:p@127.0.0.1:{port}/k?sslmode=disable"),
    ] {
        let url = StoreUrl::parse(&url).unwrap();
        let options = SqlOptions {
            timeout: limit,
            ..options()
        };
        let started = Instant::now();
        let error = rt.block_on(SqlStore::open(&url, &options)).unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(error, SqlError::Timeout { .. }),
            "{url}: {error:?}"
        );
        assert!(took >= limit && took < limit * 3, "{url}: {took:?}");
        let message = error.to_string();
        assert!(
            message.contains("did not answer within 0.8 s while connecting"),
            "{message}"
        );
        let error = rt.block_on(sql::change_marker(&url, &options)).unwrap_err();
        assert!(
            matches!(error, SqlError::Timeout { .. }),
            "{url}: {error:?}"
        );
    }
}

/// The statements of Kyuubi 1.11's tables on `db` (`mysql` or `postgresql`), with one
/// running batch, tag `a`.
fn store_with_batch_a(db: &str) -> Vec<String> {
    let mut statements = script(db, &format!("metadata-store-schema-1.11.0.{db}.sql"));
    statements.push(
        "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
         create_time, engine_type) VALUES ('a', 'BATCH', 'u', 'u', 'RUNNING', 1, 'SPARK')"
            .into(),
    );
    statements
}

/// What loading tag `a` must give after a step of [`damage_steps`].
#[derive(Debug, Clone, Copy)]
enum AfterDamage {
    Loads,
    Damaged(&'static str),
    Duplicate(&'static str),
}

/// Statements that damage a 1.11 store holding row `a`, step by step, and what each step makes
/// of the load: a blank or NULL identifier in either table could be any engine's row, so it
/// refuses the load (as the SQLite reader does), even though no candidate's tag is blank; an
/// identifier held twice (no unique index) refuses too. `modify_nullable` and `drop_unique` are
/// the database's DDL.
fn damage_steps(modify_nullable: &str, drop_unique: &str) -> Vec<(Vec<String>, AfterDamage)> {
    let row = |identifier: &str| {
        format!(
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, state, \
             create_time, engine_type) VALUES ({identifier}, 'BATCH', 'u', 'u', 'FINISHED', 1, \
             'SPARK')"
        )
    };
    vec![
        (vec![], AfterDamage::Loads),
        (vec![row("'  '")], AfterDamage::Damaged("metadata")),
        (
            vec![
                "DELETE FROM metadata WHERE identifier <> 'a'".into(),
                modify_nullable.into(),
                row("NULL"),
            ],
            AfterDamage::Damaged("metadata"),
        ),
        (
            vec!["DELETE FROM metadata WHERE identifier IS NULL".into()],
            AfterDamage::Loads,
        ),
        (
            vec![
                "INSERT INTO k8s_engine_info(identifier, pod_name, update_time) VALUES ('', 'p', 1)"
                    .into(),
            ],
            AfterDamage::Damaged("k8s_engine_info"),
        ),
        (
            vec![
                "DELETE FROM k8s_engine_info".into(),
                drop_unique.into(),
                row("'a'"),
            ],
            AfterDamage::Duplicate("metadata"),
        ),
    ]
}

/// Loads tag `a` from `url` and checks the outcome against `expected`.
async fn load_after_damage(url: &StoreUrl, step: usize, expected: AfterDamage) {
    let store = SqlStore::open(url, &options()).await.unwrap();
    let outcome = store.load(&mut EngineState::new(), &["a"]).await;
    match (expected, outcome) {
        (AfterDamage::Loads, Ok(_)) => {}
        (
            AfterDamage::Damaged(expected),
            Err(SqlError::DamagedRow {
                table,
                missing: "identifier",
                ..
            }),
        ) if table == expected => {}
        (AfterDamage::Duplicate(expected), Err(SqlError::DuplicateRows { table, asked: 1 }))
            if table == expected => {}
        (expected, outcome) => panic!("step {step}: expected {expected:?}, got {outcome:?}"),
    }
}

/// A damaged table refuses a `--store-url` load the way it refuses a SQLite one, on MariaDB.
#[test]
fn mariadb_blank_identifiers_and_duplicates_refuse_the_load() {
    let server = MariaDb::start(None);
    let rt = runtime();
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_d").await.unwrap();
        let mut owner = server.owner("kyuubi_d").await;
        for statement in store_with_batch_a("mysql") {
            owner.query_drop(&statement).await.unwrap();
        }
        let url = server.url("kyuubi_d", "");
        let steps = damage_steps(
            "ALTER TABLE metadata MODIFY identifier varchar(36) NULL",
            "ALTER TABLE metadata DROP INDEX unique_identifier_index",
        );
        for (i, (statements, expected)) in steps.into_iter().enumerate() {
            for statement in statements {
                owner.query_drop(&statement).await.unwrap();
            }
            load_after_damage(&url, i, expected).await;
        }
        owner.disconnect().await.unwrap();
        root.disconnect().await.unwrap();
    });
}

/// The same damage on PostgreSQL.
#[test]
fn postgres_blank_identifiers_and_duplicates_refuse_the_load() {
    let server = Postgres::start(None);
    let rt = runtime();
    rt.block_on(async {
        server.create_databases(&["kyuubi_d"]).await;
        let owner = server.owner("kyuubi_d").await;
        for statement in store_with_batch_a("postgresql") {
            owner.batch_execute(&statement).await.unwrap();
        }
        let url = server.url("kyuubi_d", "");
        let steps = damage_steps(
            "ALTER TABLE metadata ALTER COLUMN identifier DROP NOT NULL",
            "DROP INDEX unique_identifier_index",
        );
        for (i, (statements, expected)) in steps.into_iter().enumerate() {
            for statement in statements {
                owner.batch_execute(&statement).await.unwrap();
            }
            load_after_damage(&url, i, expected).await;
        }
    });
}

// ---------------------------------------------------------------------------------------------
// TLS

/// Connects with these URL options and reads tag `a`, or says why not.
async fn read_a(url: StoreUrl) -> Result<(), SqlError> {
    let store = SqlStore::open(&url, &options()).await?;
    let mut state = EngineState::new();
    store.load(&mut state, &["a"]).await?;
    assert!(state.lookup("a").is_some());
    Ok(())
}

/// How a database's URLs name the TLS options: the option, the CA option, and the modes
/// verify-full, verify-ca, require and disable.
struct TlsSpelling {
    mode: &'static str,
    ca: &'static str,
    modes: [&'static str; 4],
}

/// MySQL's names.
const MYSQL_SPELLING: TlsSpelling = TlsSpelling {
    mode: "ssl-mode",
    ca: "ssl-ca",
    modes: ["VERIFY_IDENTITY", "VERIFY_CA", "REQUIRED", "DISABLED"],
};

/// libpq's names.
const PG_SPELLING: TlsSpelling = TlsSpelling {
    mode: "sslmode",
    ca: "sslrootcert",
    modes: ["verify-full", "verify-ca", "require", "disable"],
};

/// Reads tag `a` (from a server whose reader may log in over TLS only) in every mode: the
/// server's CA passes each checking mode, another CA fails each, `require` without a CA and no
/// options at all (`prefer`) pass, and no TLS is refused by the server (`refused` is in the
/// message).
async fn tls_modes_do_what_they_say(
    url: impl Fn(&str) -> StoreUrl,
    at: &str,
    spelling: &TlsSpelling,
    ca: &str,
    other_ca: &str,
    refused: &str,
) {
    let TlsSpelling {
        mode,
        ca: ca_option,
        modes: [full, chain, require, disable],
    } = spelling;
    for options in [
        format!("?{mode}={full}&{ca_option}={ca}"),
        format!("?{mode}={chain}&{ca_option}={ca}"),
        format!("?{mode}={require}&{ca_option}={ca}"),
        format!("?{mode}={require}"),
        String::new(),
    ] {
        read_a(url(&options))
            .await
            .unwrap_or_else(|e| panic!("{options}: {e}"));
    }
    for (options, expected) in [
        (
            format!("?{mode}={full}&{ca_option}={other_ca}"),
            "not signed by a CA in ssl-ca",
        ),
        (
            format!("?{mode}={chain}&{ca_option}={other_ca}"),
            "not signed by a CA in ssl-ca",
        ),
        (
            format!("?{mode}={require}&{ca_option}={other_ca}"),
            "not signed by a CA in ssl-ca",
        ),
        (format!("?{mode}={disable}"), refused),
    ] {
        let (error, message) = failure(read_a(url(&options)).await, at);
        assert!(
            message.contains(expected),
            "{options}: {message} ({error:?})"
        );
    }
}

/// MariaDB with `--ssl-cert/--ssl-key/--ssl-ca`: each mode does what it says.
#[test]
fn mariadb_tls_is_verified_as_the_mode_says() {
    // The certificate names 127.0.0.1 and localhost; `other.pem` is the same CA's certificate
    // for an unrelated name, for VERIFY_CA.
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let server = MariaDb::start(Some(&pki));
    let rt = runtime();
    let at = format!("127.0.0.1:{}", server.port);
    let ca = pki.path("ca.pem").display().to_string();
    let other_ca = pki.path("other-ca.pem").display().to_string();
    let garbage = pki.path("garbage.pem").display().to_string();
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_tls").await.unwrap();
        // The reader must use TLS: a plaintext login is refused by the server itself.
        root.query_drop(format!("ALTER USER '{}'@'%' REQUIRE SSL", READER.0))
            .await
            .unwrap();
        let mut owner = server.owner("kyuubi_tls").await;
        for statement in store_with_batch_a("mysql") {
            owner.query_drop(&statement).await.unwrap();
        }
        let url = |options: &str| server.url("kyuubi_tls", options);
        tls_modes_do_what_they_say(url, &at, &MYSQL_SPELLING, &ca, &other_ca, "access denied")
            .await;
        let (error, message) = failure(
            read_a(server.url(
                "kyuubi_tls",
                &format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={garbage}"),
            ))
            .await,
            "garbage.pem",
        );
        assert!(matches!(error, SqlError::TlsFile { .. }), "{error:?}");
        assert!(message.contains("no certificate in it"), "{message}");
        let (error, _) = failure(
            read_a(server.url(
                "kyuubi_tls",
                "?ssl-mode=VERIFY_CA&ssl-ca=/nonexistent/ca.pem",
            ))
            .await,
            "/nonexistent/ca.pem",
        );
        assert!(matches!(error, SqlError::TlsFile { .. }), "{error:?}");
    });
    // Only the verified sessions got as far as reading; every one used TLS (REQUIRE SSL).
    let statements = mariadb_statements(&server.general_log(), READER.0);
    for statement in &statements {
        assert!(is_read_only(statement), "{statement}");
    }
}

/// A certificate for another name than the URL's host: VERIFY_CA/verify-ca accept it (the chain
/// is still checked), VERIFY_IDENTITY/verify-full refuse it.
#[test]
fn tls_name_checks_differ_between_verify_ca_and_verify_full() {
    let pki = Pki::new(&["db.example.internal"]);
    let ca = pki.path("ca.pem").display().to_string();
    let other_ca = pki.path("other-ca.pem").display().to_string();
    let rt = runtime();
    let mariadb = MariaDb::start(Some(&pki));
    let postgres = Postgres::start(Some(&pki));
    rt.block_on(async {
        mariadb.create_users().await;
        let mut root = mariadb.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_tls").await.unwrap();
        let mut owner = mariadb.owner("kyuubi_tls").await;
        postgres.create_databases(&["kyuubi_tls"]).await;
        let pg_owner = postgres.owner("kyuubi_tls").await;
        let insert = "INSERT INTO metadata(identifier, session_type, real_user, user_name, \
                      state, create_time, engine_type) VALUES ('a', 'BATCH', 'u', 'u', \
                      'RUNNING', 1, 'SPARK')";
        for statement in script("mysql", "metadata-store-schema-1.8.0.mysql.sql") {
            owner.query_drop(&statement).await.unwrap();
        }
        owner.query_drop(insert).await.unwrap();
        for statement in script("postgresql", "metadata-store-schema-1.9.0.postgresql.sql") {
            pg_owner.batch_execute(&statement).await.unwrap();
        }
        pg_owner.batch_execute(insert).await.unwrap();
        for (ok, url) in [
            (
                true,
                mariadb.url("kyuubi_tls", &format!("?ssl-mode=VERIFY_CA&ssl-ca={ca}")),
            ),
            (
                true,
                postgres.url(
                    "kyuubi_tls",
                    &format!("?sslmode=verify-ca&sslrootcert={ca}"),
                ),
            ),
            (
                true,
                postgres.url("kyuubi_tls", &format!("?sslmode=require&sslrootcert={ca}")),
            ),
            (
                false,
                mariadb.url(
                    "kyuubi_tls",
                    &format!("?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
                ),
            ),
            (
                false,
                postgres.url(
                    "kyuubi_tls",
                    &format!("?sslmode=verify-full&sslrootcert={ca}"),
                ),
            ),
            (
                false,
                mariadb.url(
                    "kyuubi_tls",
                    &format!("?ssl-mode=VERIFY_CA&ssl-ca={other_ca}"),
                ),
            ),
            (
                false,
                postgres.url(
                    "kyuubi_tls",
                    &format!("?sslmode=verify-ca&sslrootcert={other_ca}"),
                ),
            ),
        ] {
            let result = read_a(url.clone()).await;
            if ok {
                result.unwrap_or_else(|e| panic!("{url}: {e}"));
            } else {
                let error = result.expect_err(&url.to_string());
                assert!(matches!(error, SqlError::Tls { .. }), "{url}: {error:?}");
                let message = error.to_string();
                if url.to_string().contains(&other_ca) {
                    assert!(
                        message.contains("not signed by a CA in ssl-ca"),
                        "{message}"
                    );
                } else {
                    assert!(message.contains("does not name the host"), "{message}");
                }
            }
        }
        root.disconnect().await.unwrap();
        owner.disconnect().await.unwrap();
    });
}

/// PostgreSQL with `ssl=on`, `ssl_cert_file`, `ssl_key_file`: each mode does what it says, and
/// the log shows TLS sessions only read.
#[test]
fn postgres_tls_is_verified_as_the_mode_says() {
    let pki = Pki::new(&["127.0.0.1", "localhost"]);
    let server = Postgres::start(Some(&pki));
    let rt = runtime();
    let at = format!("127.0.0.1:{}", server.port);
    let ca = pki.path("ca.pem").display().to_string();
    let other_ca = pki.path("other-ca.pem").display().to_string();
    rt.block_on(async {
        server.create_databases(&["kyuubi_tls"]).await;
        let owner = server.owner("kyuubi_tls").await;
        for statement in store_with_batch_a("postgresql") {
            owner.batch_execute(&statement).await.unwrap();
        }
        // The reader may log in over TLS only.
        let admin = server.superuser("postgres").await.unwrap();
        let hba: String = admin.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
        let rules = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(
            &hba,
            format!("hostnossl all {} 0.0.0.0/0 reject\n{rules}", READER.0),
        )
        .unwrap();
        admin
            .batch_execute("SELECT pg_reload_conf()")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let url = |options: &str| server.url("kyuubi_tls", options);
        tls_modes_do_what_they_say(url, &at, &PG_SPELLING, &ca, &other_ca, "rejects connection")
            .await;
    });
    let statements = postgres_statements(&server.log(), READER.0);
    assert!(!statements.is_empty());
    for statement in &statements {
        assert!(is_read_only(statement), "{statement}");
    }
}

// ---------------------------------------------------------------------------------------------
// The command line

/// `world::Batch` as an INSERT for Kyuubi's PostgreSQL 1.11 `metadata` table (test data only).
/// The `INSERT` of a batch row into the 1.11 `metadata` table, in SQL both MySQL and
/// PostgreSQL take.
fn insert_sql(b: &world::Batch) -> String {
    let millis = |t: Timestamp| t.as_millisecond();
    format!(
        "INSERT INTO metadata(identifier, session_type, real_user, user_name, ip_address, \
         kyuubi_instance, state, resource, class_name, request_name, request_conf, \
         request_args, create_time, engine_type, cluster_manager, engine_open_time, engine_id, \
         engine_name, engine_state, end_time, peer_instance_closed) VALUES ('{tag}', 'BATCH', \
         'etl', 'etl', '10.0.0.9', 'kyuubi-0:10099', '{state}', 's3a://jobs/a.jar', \
         'com.example.Main', 'job', '{conf}', '[]', {created}, 'SPARK', \
         'k8s://https://kubernetes.default.svc:443', {created}, 'spark-{id}', 'job', {engine}, \
         {end}, {closed})",
        tag = b.tag,
        state = b.state,
        conf = b.request_conf.to_string().replace('\'', "''"),
        created = millis(b.created),
        id = b.tag.replace('-', ""),
        engine = b
            .engine_state
            .map_or_else(|| "NULL".to_string(), |s| format!("'{s}'")),
        end = b.ended.map_or(0, millis),
        closed = b.peer_instance_closed,
    )
}

/// The command line over a server store: `scan --store-url` gives the verdicts `scan --store`
/// gives on the same rows in an SQLite file, with the password from the environment, a file or
/// (warned about) the URL and never shown; a wrong password, a missing table, a refused TLS
/// mode and a stopped server each refuse the run with exit 2, naming the server.
#[test]
#[allow(clippy::too_many_lines)]
fn scan_over_a_store_url_judges_like_the_sqlite_file_and_refuses_bad_servers() {
    let mut server = Postgres::start(None);
    let rt = runtime();
    let batches = vec![
        world::batch("c0000001-0000-4000-8000-000000000001", "FINISHED", "spark"),
        world::batch("c0000001-0000-4000-8000-000000000002", "RUNNING", "spark"),
        world::batch("c0000001-0000-4000-8000-000000000003", "ERROR", "spark"),
        world::batch("c0000001-0000-4000-8000-000000000004", "PENDING", "spark"),
        // A value longer than the server sends of one cell: cut, so no longer JSON.
        {
            let mut b = world::batch("c0000001-0000-4000-8000-000000000005", "FINISHED", "spark");
            b.request_conf["pad"] = "x".repeat(300_000).into();
            b
        },
    ];
    rt.block_on(async {
        server.create_databases(&["kyuubi_cli", "empty"]).await;
        let owner = server.owner("kyuubi_cli").await;
        for statement in script("postgresql", "metadata-store-schema-1.11.0.postgresql.sql") {
            owner.batch_execute(&statement).await.unwrap();
        }
        for b in &batches {
            owner.batch_execute(&insert_sql(b)).await.unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut twin = SqliteWorld::new(Layout::V1_11);
    for b in &batches {
        twin = twin.batch(b.clone());
    }
    let twin = twin.write(&dir.path().join("twin.db"));
    let mut pods: Vec<serde_json::Value> = batches
        .iter()
        .map(|b| {
            let running = b.ended.is_none();
            world::driver(
                "spark",
                &b.tag,
                if running { "Running" } else { "Succeeded" },
                world::ago(2 * 24 * 60),
                (!running).then(|| world::ago(24 * 60)),
            )
        })
        .collect();
    pods.push(world::driver(
        "spark",
        "c0000001-0000-4000-8000-0000000000ff",
        "Succeeded",
        world::ago(2 * 24 * 60),
        Some(world::ago(24 * 60)),
    ));
    let pods = world::write_pods(&dir.path().join("pods.json"), &pods);
    let pods = pods.display().to_string();
    let at = format!("127.0.0.1:{}", server.port);
    let url = |user: &str, database: &str, options: &str| {
        format!("postgresql://{user}@{at}/{database}{options}")
    };
    let scan = |state: &[&str], password: Option<&str>| {
        let mut args = vec!["scan", "-o", "json", "--pods", &pods];
        args.extend_from_slice(state);
        let mut run = harness::reaper(args);
        if let Some(password) = password {
            run = run.env("KYUUBI_REAPER_STORE_PASSWORD", password);
        }
        let out = run.run_within(Duration::from_secs(60));
        for secret in [READER.1, "wrong-pw"] {
            assert!(!out.stdout.contains(secret), "{}", out.stdout);
            assert!(!out.stderr.contains(secret), "{}", out.stderr);
        }
        out
    };

    let from_file = scan(&["--store", &twin.display().to_string()], None).code(0);
    let expected = world::verdicts(&from_file.json());
    assert!(
        expected.iter().any(|(_, verdict, _)| verdict == "orphan")
            && expected.iter().any(|(_, verdict, _)| verdict == "keep"),
        "{expected:?}"
    );
    // The password from the environment, the default TLS mode (prefer: this server has none).
    let reader_url = url(READER.0, "kyuubi_cli", "");
    let live = scan(&["--store-url", &reader_url], Some(READER.1)).code(0);
    assert_eq!(world::verdicts(&live.json()), expected, "{}", live.stderr);
    assert!(
        live.stderr.contains(
            "metadata row c0000001-0000-4000-8000-000000000005: request_conf is not a JSON object"
        ),
        "{}",
        live.stderr
    );
    let source = &live.json()["sources"][0];
    assert_eq!(source["location"], reader_url.as_str());
    assert_eq!(
        source["as_of_from"],
        "database server clock at the start of the read transaction"
    );
    // From a file (it wins over the environment), and in the URL (warned about, redacted).
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{}\n", READER.1)).unwrap();
    let from_password_file = scan(
        &[
            "--store-url",
            &reader_url,
            "--store-password-file",
            &file.display().to_string(),
        ],
        Some("wrong-pw"),
    )
    .code(0);
    assert_eq!(world::verdicts(&from_password_file.json()), expected);
    let with_password = url(&format!("{}:{}", READER.0, READER.1), "kyuubi_cli", "");
    let in_url = scan(&["--store-url", &with_password], None).code(0);
    assert_eq!(world::verdicts(&in_url.json()), expected);
    assert!(in_url.stderr.contains("password"), "{}", in_url.stderr);
    assert_eq!(
        in_url.json()["sources"][0]["location"],
        url(&format!("{}:***", READER.0), "kyuubi_cli", "").as_str()
    );

    // Each failure refuses the run: exit 2, the server named, no report.
    for (state, password, expect) in [
        (
            reader_url.clone(),
            "wrong-pw",
            "password authentication failed",
        ),
        (
            url(READER.0, "empty", ""),
            READER.1,
            "not a Kyuubi metadata store",
        ),
        (
            url(READER.0, "kyuubi_cli", "?sslmode=require"),
            READER.1,
            "does not offer TLS",
        ),
        (
            url(READER.0, "kyuubi_cli", "?sslmode=fancy"),
            READER.1,
            "bad ssl-mode `fancy`",
        ),
    ] {
        let out = scan(&["--store-url", &state], Some(password)).code(2);
        assert!(out.stdout.is_empty(), "{state}: {}", out.stdout);
        assert!(out.stderr.contains(expect), "{state}: {}", out.stderr);
    }
    server.stop();
    let t = Instant::now();
    let out = scan(&["--store-url", &reader_url], Some(READER.1)).code(2);
    assert!(out.stderr.contains(&at), "{}", out.stderr);
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
}

/// `watch --store-url` end to end on MariaDB: a row that turns FINISHED lets its finished pod go
/// within a `--store-poll`; once the server is gone the service says so in `/readyz` and deletes
/// nothing, not even a pod whose row said FINISHED before; and the reader only ever read.
#[test]
#[allow(clippy::too_many_lines)]
fn watch_over_a_store_url_follows_its_rows_and_deletes_nothing_once_the_server_is_gone() {
    let mut server = MariaDb::start(None);
    let rt = runtime();
    let mut rows = vec![
        world::batch("late", "RUNNING", "spark"),
        world::batch("done", "FINISHED", "spark"),
    ];
    let mut pods = vec![
        world::driver(
            "spark",
            "late",
            "Succeeded",
            world::ago(30),
            Some(world::ago(20)),
        ),
        world::driver("spark", "done", "Running", world::ago(30), None),
    ];
    // Kept pods beside them, so that one orphan is never most of the candidates.
    for i in 0..4 {
        let tag = format!("live{i}");
        pods.push(world::driver(
            "spark",
            &tag,
            "Running",
            world::ago(60),
            None,
        ));
        rows.push(world::batch(&tag, "RUNNING", "spark"));
    }
    rt.block_on(async {
        server.create_users().await;
        let mut root = server.root().await.unwrap();
        root.query_drop("CREATE DATABASE kyuubi_watch")
            .await
            .unwrap();
        root.disconnect().await.unwrap();
        let mut owner = server.owner("kyuubi_watch").await;
        for statement in script("mysql", "metadata-store-schema-1.11.0.mysql.sql") {
            owner.query_drop(&statement).await.unwrap();
        }
        for row in &rows {
            owner.query_drop(insert_sql(row)).await.unwrap();
        }
        owner.disconnect().await.unwrap();
    });
    let world = crate::watch::World::new(pods, &SqliteWorld::new(Layout::V1_11));
    let password = world.dir.path().join("store-password");
    std::fs::write(&password, READER.1).unwrap();
    let at = format!("127.0.0.1:{}", server.port);
    let url = format!("mysql://{}@{at}/kyuubi_watch", READER.0);
    let service = world.watch_over(
        &[
            "--store-url",
            &url,
            "--store-password-file",
            password.to_str().unwrap(),
        ],
        &["--store-poll", "1s", "--retain", "1s"],
    );
    service.wait(Duration::from_secs(20), || service.ready());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(world.deletes_of("late").is_empty(), "kept while RUNNING");
    assert!(
        world.deletes_of("done").is_empty(),
        "kept while its pod runs"
    );

    let end = Timestamp::now().as_millisecond() - 60_000;
    rt.block_on(async {
        let mut owner = server.owner("kyuubi_watch").await;
        owner
            .query_drop(format!(
                "UPDATE metadata SET state = 'FINISHED', engine_state = 'FINISHED', \
                 end_time = {end} WHERE identifier = 'late'"
            ))
            .await
            .unwrap();
        owner.disconnect().await.unwrap();
    });
    service.wait(Duration::from_secs(15), || world.deleted("spark", "late"));
    assert_eq!(world.deletes_of("late").len(), 1);

    // The server goes: not ready, naming it (and not the password).
    server.stop();
    service.wait(Duration::from_secs(20), || {
        let (code, body) = service.get("/readyz");
        code == 503 && body.contains(&at)
    });
    assert!(!service.get("/readyz").1.contains(READER.1));
    // The pod of the FINISHED row finishes now: with no state it stays.
    let finished = world.cluster.server().now();
    world
        .cluster
        .server()
        .terminate_pod("spark", "kyuubi-job-done-driver", true, finished)
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        world.deletes_of("done").is_empty(),
        "nothing is deleted without a state: {}",
        service.log()
    );
    for i in 0..4 {
        assert!(world.deletes_of(&format!("live{i}")).is_empty());
    }
    assert!(!service.log().contains(READER.1));
    assert_eq!(service.stop(), 0);
    let statements = mariadb_statements(&server.general_log(), READER.0);
    assert!(statements.len() > 3, "{statements:#?}");
    for statement in &statements {
        assert!(is_read_only(statement), "{statement}");
    }
}
