//! ZooKeeper for the integration tests: its own `SnapshotFormatter` as an oracle, and a real
//! standalone server on a loopback port, seeded by kazoo (`tests/data/zk_seed.py`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kyuubi_reaper::state::zk::snapshot::Snapshot;

pub(crate) const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";
pub(crate) const SLF4J_JAR: &str = "/usr/share/java/slf4j-simple.jar";
/// Netty jars that Debian's `zookeeper.jar` manifest leaves out of its `Class-Path` although
/// `NettyServerCnxnFactory` (the TLS server) needs them; `libnetty-java` ships them.
pub(crate) const NETTY_JARS: [&str; 3] = [
    "/usr/share/java/netty-codec.jar",
    "/usr/share/java/netty-resolver.jar",
    "/usr/share/java/netty-transport-native-unix-common.jar",
];
pub(crate) const INSTALL_HINT: &str = "install ZooKeeper's tools with: apt-get update && \
     DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends zookeeper python3-kazoo";

pub(crate) fn fixtures() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/zk-3.8.0");
    assert!(
        p.join("snapshot.37").is_file(),
        "fixtures missing at {}",
        p.display()
    );
    p
}

/// Fails (never skips) when java or the ZooKeeper jars are missing.
pub(crate) fn require_java() {
    for jar in [ZK_JAR, SLF4J_JAR].iter().chain(&NETTY_JARS) {
        assert!(Path::new(jar).is_file(), "{jar} is missing; {INSTALL_HINT}");
    }
    let ok = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "java is not runnable; {INSTALL_HINT}");
}

pub(crate) fn classpath() -> String {
    format!("{ZK_JAR}:{SLF4J_JAR}:{}", NETTY_JARS.join(":"))
}

/// One node as printed by `SnapshotFormatter -d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FNode {
    pub(crate) czxid: i64,
    pub(crate) mzxid: i64,
    pub(crate) ctime: String,
    pub(crate) mtime: String,
    pub(crate) ephemeral_owner: i64,
    pub data_b64: String,
}

/// The whole `SnapshotFormatter -d` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Formatted {
    pub(crate) count: usize,
    pub(crate) nodes: BTreeMap<String, FNode>,
    /// session id → (timeout, ephemeral count)
    pub(crate) sessions: BTreeMap<i64, (i32, usize)>,
    pub(crate) last_zxid: i64,
}

fn hex(s: &str) -> i64 {
    let s = s.trim().trim_start_matches("0x");
    u64::from_str_radix(s, 16)
        .unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
        .cast_signed()
}

/// Runs `java … SnapshotFormatter -d <file>` and parses its output.
pub(crate) fn snapshot_formatter(file: &Path) -> Formatted {
    require_java();
    let out = Command::new("java")
        .args([
            "-Duser.timezone=UTC",
            "-Dfile.encoding=UTF-8",
            "-Dsun.stdout.encoding=UTF-8",
            "-cp",
            &classpath(),
            "org.apache.zookeeper.server.SnapshotFormatter",
            "-d",
        ])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run java: {e}; {INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "SnapshotFormatter failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_formatter(&String::from_utf8(out.stdout).expect("formatter output is UTF-8"))
}

pub(crate) fn parse_formatter(text: &str) -> Formatted {
    let mut lines = text.lines().peekable();
    let first = lines.next().expect("empty formatter output");
    let count: usize = first
        .strip_prefix("ZNode Details (count=")
        .and_then(|r| r.strip_suffix("):"))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    let mut nodes = BTreeMap::new();
    let mut sessions = BTreeMap::new();
    let mut last_zxid = None;
    let mut cur: Option<(String, HashMap<String, String>)> = None;
    let flush = |cur: &mut Option<(String, HashMap<String, String>)>,
                 nodes: &mut BTreeMap<String, FNode>| {
        if let Some((path, f)) = cur.take() {
            let get = |k: &str| f.get(k).unwrap_or_else(|| panic!("{path}: no {k}")).clone();
            let n = FNode {
                czxid: hex(&get("cZxid")),
                mzxid: hex(&get("mZxid")),
                ctime: get("ctime"),
                mtime: get("mtime"),
                ephemeral_owner: hex(&get("ephemeralOwner")),
                data_b64: get("data"),
            };
            assert!(nodes.insert(path.clone(), n).is_none(), "duplicate {path}");
        }
    };
    while let Some(line) = lines.next() {
        if line == "----" {
            flush(&mut cur, &mut nodes);
            if let Some(next) = lines.peek()
                && !next.starts_with("  ")
                && !next.starts_with("Session Details")
                && !next.starts_with("Last zxid")
            {
                cur = Some((lines.next().unwrap().to_string(), HashMap::new()));
            }
        } else if let Some(kv) = line.strip_prefix("  ") {
            let (k, v) = kv
                .split_once(" = ")
                .unwrap_or((kv.trim_end_matches(" ="), ""));
            cur.as_mut()
                .expect("attribute outside a node")
                .1
                .insert(k.to_string(), v.to_string());
        } else if line.starts_with("Session Details") {
            flush(&mut cur, &mut nodes);
            for l in lines.by_ref() {
                if l == "----" {
                    break;
                }
                let parts: Vec<&str> = l.split(", ").collect();
                assert_eq!(parts.len(), 3, "session line {l:?}");
                sessions.insert(
                    hex(parts[0]),
                    (parts[1].parse().unwrap(), parts[2].parse().unwrap()),
                );
            }
        } else if let Some(z) = line.strip_prefix("Last zxid: ") {
            last_zxid = Some(hex(z));
        } else {
            panic!("unexpected formatter line {line:?}");
        }
    }
    flush(&mut cur, &mut nodes);
    Formatted {
        count,
        nodes,
        sessions,
        last_zxid: last_zxid.expect("no Last zxid line"),
    }
}

/// `java.util.Date.toString()` in UTC: `EEE MMM dd HH:mm:ss zzz yyyy`.
pub(crate) fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[usize::try_from(days.rem_euclid(7)).unwrap()],
        MONTHS[usize::try_from(m - 1).unwrap()],
        d,
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        y
    )
}

pub(crate) fn b64(data: Option<&[u8]>) -> String {
    data.map(|d| base64::engine::general_purpose::STANDARD.encode(d))
        .unwrap_or_default()
}

/// Asserts that a keep-everything read of a snapshot equals `SnapshotFormatter`'s view of it.
pub(crate) fn assert_matches_formatter(snap: &Snapshot, f: &Formatted) {
    let what = snap.info.path.display();
    assert_eq!(
        f.count,
        snap.nodes.len() + 1,
        "{what}: node count (formatter counts \"/\" twice)"
    );
    assert_eq!(
        snap.info.node_count,
        snap.nodes.len() as u64,
        "{what}: keep-all keeps all"
    );
    let ours: BTreeMap<String, FNode> = snap
        .nodes
        .iter()
        .map(|(p, n)| {
            let path = if p.is_empty() {
                "/".to_string()
            } else {
                p.to_string()
            };
            let f = FNode {
                czxid: n.czxid,
                mzxid: n.mzxid,
                ctime: java_date(n.ctime),
                mtime: java_date(n.mtime),
                ephemeral_owner: n.ephemeral_owner,
                data_b64: b64(n.data.as_deref()),
            };
            (path, f)
        })
        .collect();
    let their_paths: Vec<&String> = f.nodes.keys().collect();
    let our_paths: Vec<&String> = ours.keys().collect();
    assert_eq!(our_paths, their_paths, "{what}: paths");
    for (p, n) in &ours {
        assert_eq!(n, &f.nodes[p], "{what}: node {p}");
    }
    let mut eph: HashMap<i64, usize> = HashMap::new();
    for (_, n) in &snap.nodes {
        if let kyuubi_reaper::state::zk::datadir::Owner::Session(s) =
            kyuubi_reaper::state::zk::datadir::Owner::from_raw(n.ephemeral_owner)
        {
            *eph.entry(s).or_default() += 1;
        }
    }
    let sessions: BTreeMap<i64, (i32, usize)> = snap
        .sessions
        .iter()
        .map(|(id, t)| (*id, (*t, eph.get(id).copied().unwrap_or(0))))
        .collect();
    assert_eq!(
        sessions, f.sessions,
        "{what}: sessions (id, timeout, ephemeral count)"
    );
    let zxid = snap.info.zxid.expect("snapshot name has a zxid");
    assert_eq!(
        f.last_zxid,
        zxid.max(snap.info.last_processed_zxid.unwrap_or(0)),
        "{what}: last zxid"
    );
}

pub(crate) const PYTHON: &str = "/usr/bin/python3";

pub(crate) fn seed_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/zk_seed.py")
}

pub(crate) fn require_kazoo() {
    let ok = Command::new(PYTHON)
        .args(["-c", "import kazoo"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{PYTHON} cannot import kazoo; {INSTALL_HINT}");
}

/// A ZooKeeper server process; killed on drop (also when a test fails).
pub(crate) struct ZkServer {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    child: Option<Child>,
}

impl ZkServer {
    pub(crate) fn new() -> Self {
        require_java();
        require_kazoo();
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        fs::create_dir(dir.path().join("data")).unwrap();
        let cfg = format!(
            "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\nsnapCount=100000\npreAllocSize=1024\nadmin.enableServer=false\n\
             4lw.commands.whitelist=srvr\n",
            dir.path().join("data").display()
        );
        fs::write(dir.path().join("zoo.cfg"), cfg).unwrap();
        ZkServer {
            dir,
            port,
            child: None,
        }
    }

    pub(crate) fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn version2(&self) -> PathBuf {
        self.dir.path().join("data/version-2")
    }

    pub(crate) fn start(&mut self, compression: &str) {
        assert!(self.child.is_none());
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("zk.log"))
            .unwrap();
        let child = Command::new("java")
            .arg("-Xmx256m")
            .arg(format!(
                "-Dzookeeper.snapshot.compression.method={compression}"
            ))
            .arg("-Dzookeeper.extendedTypesEnabled=true")
            .arg("-Dznode.container.checkIntervalMs=500")
            .args([
                "-cp",
                &classpath(),
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(self.dir.path().join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java: {e}; {INSTALL_HINT}"));
        self.child = Some(child);
        self.wait_ready();
    }

    pub(crate) fn srvr(&self) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(b"srvr").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    pub(crate) fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("ZooKeeper exited with {st}: {}", self.log());
            }
            if self.srvr().is_some_and(|o| o.contains("Mode: standalone")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("ZooKeeper did not become ready: {}", self.log());
    }

    pub(crate) fn log(&self) -> String {
        let s = fs::read_to_string(self.dir.path().join("zk.log")).unwrap_or_default();
        s.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM, then wait (SIGKILL after 20 s).
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    pub(crate) fn restart(&mut self, compression: &str) {
        self.stop();
        self.start(compression);
    }

    pub(crate) fn py(&self, args: &[&str]) -> String {
        py_at(&self.hosts(), args)
    }

    pub(crate) fn dump(&self) -> BTreeMap<String, Live> {
        dump_at(&self.hosts())
    }

    /// A kazoo process holding a session with these registrations.
    pub(crate) fn hold(&self, timeout_s: u32, spec: &serde_json::Value) -> Holder {
        hold_at(&self.hosts(), timeout_s, spec)
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A kazoo session holder; killed on drop.
pub(crate) struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    pub(crate) session: i64,
    pub(crate) paths: Vec<String>,
}

impl Holder {
    /// Closes the session cleanly (closeSession txn with paths2Delete).
    pub(crate) fn close(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
    /// Dies without closing the session: the server expires it after the timeout.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A znode as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Live {
    pub(crate) data: Option<Vec<u8>>,
    pub(crate) owner: i64,
    pub(crate) czxid: i64,
    pub(crate) mzxid: i64,
    pub(crate) ctime: i64,
    pub(crate) mtime: i64,
}

/// Polls `f` until it holds, failing the test after `secs` seconds.
pub(crate) fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("timed out waiting for {what}");
}

// ---------------------------------------------------------------------------------------------
// A three-server ensemble, and the seeding helpers for any connect string (zk_ensemble.rs).

/// Runs `zk_seed.py <hosts> <args…>` and returns its stdout.
pub(crate) fn py_at(hosts: &str, args: &[&str]) -> String {
    let out = Command::new(PYTHON)
        .arg(seed_script())
        .arg(hosts)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zk_seed.py {hosts} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every znode as kazoo sees it through `hosts`.
pub(crate) fn dump_at(hosts: &str) -> BTreeMap<String, Live> {
    let v: serde_json::Value = serde_json::from_str(&py_at(hosts, &["dump"])).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(p, n)| {
            let data = n["data"]
                .as_str()
                .map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap());
            let live = Live {
                data,
                owner: n["owner"].as_i64().unwrap(),
                czxid: n["czxid"].as_i64().unwrap(),
                mzxid: n["mzxid"].as_i64().unwrap(),
                ctime: n["ctime"].as_i64().unwrap(),
                mtime: n["mtime"].as_i64().unwrap(),
            };
            (p.clone(), live)
        })
        .collect()
}

/// A kazoo process holding a session (through `hosts`) with these registrations.
pub(crate) fn hold_at(hosts: &str, timeout_s: u32, spec: &serde_json::Value) -> Holder {
    let mut child = Command::new(PYTHON)
        .arg(seed_script())
        .arg(hosts)
        .args(["hold", &timeout_s.to_string(), &spec.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("holder said {line:?}: {e}"));
    let stdin = child.stdin.take();
    Holder {
        child,
        stdin,
        session: v["session"].as_i64().unwrap(),
        paths: v["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect(),
    }
}

/// Free loopback ports, all bound at once so that none repeats.
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn srvr_at(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"srvr").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn last_lines(path: &Path) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

impl ZkServer {
    /// A standalone server whose `zoo.cfg` gets `extra` lines appended (TLS, say).
    pub(crate) fn with_config(extra: &str) -> Self {
        let server = ZkServer::new();
        let cfg = server.dir.path().join("zoo.cfg");
        let mut text = fs::read_to_string(&cfg).unwrap();
        text.push_str(extra);
        if !extra.ends_with('\n') {
            text.push('\n');
        }
        fs::write(&cfg, text).unwrap();
        server
    }
}

/// One server of a [`ZkEnsemble`]; killed on drop.
pub(crate) struct Member {
    pub(crate) myid: usize,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    child: Option<Child>,
}

impl Member {
    pub(crate) fn hosts(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none());
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("zk.log"))
            .unwrap();
        let child = Command::new("java")
            .args(["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg("-Dzookeeper.extendedTypesEnabled=true")
            .args([
                "-cp",
                &classpath(),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            ])
            .arg(self.dir.path().join("zoo.cfg"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start java: {e}; {INSTALL_HINT}"));
        self.child = Some(child);
    }

    /// `Mode: leader` or `Mode: follower`, once the server serves.
    pub(crate) fn mode(&self) -> Option<String> {
        let out = srvr_at(self.port)?;
        out.lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::to_string)
    }

    pub(crate) fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGKILL: no goodbye to clients or peers.
    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn log(&self) -> String {
        last_lines(&self.dir.path().join("zk.log"))
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three ZooKeeper servers on loopback ports (client, quorum and election ports each), in
/// their own temp dirs, with a short tick so that elections and sessions are quick.
pub(crate) struct ZkEnsemble {
    pub(crate) members: Vec<Member>,
}

impl ZkEnsemble {
    /// Starts three servers and waits until each is a leader or a follower.
    pub(crate) fn start() -> Self {
        require_java();
        require_kazoo();
        let ports = free_ports(9);
        let mut peers = String::new();
        for i in 0..3 {
            writeln!(
                peers,
                "server.{}=127.0.0.1:{}:{}",
                i + 1,
                ports[3 + i],
                ports[6 + i]
            )
            .unwrap();
        }
        let mut members = Vec::new();
        for (i, port) in ports.iter().take(3).enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            fs::create_dir(&data).unwrap();
            fs::write(data.join("myid"), format!("{}\n", i + 1)).unwrap();
            let cfg = format!(
                "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir={}\nclientPort={port}\n\
                 clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nsnapCount=100000\n\
                 preAllocSize=1024\nadmin.enableServer=false\nstandaloneEnabled=false\n\
                 4lw.commands.whitelist=srvr,ruok,mntr\ncnxTimeout=1000\n{peers}",
                data.display()
            );
            fs::write(dir.path().join("zoo.cfg"), cfg).unwrap();
            members.push(Member {
                myid: i + 1,
                dir,
                port: *port,
                child: None,
            });
        }
        for m in &mut members {
            m.spawn();
        }
        let mut ensemble = ZkEnsemble { members };
        ensemble.wait_serving(&[0, 1, 2]);
        ensemble
    }

    /// Waits until the members `which` serve as leader or follower.
    pub(crate) fn wait_serving(&mut self, which: &[usize]) {
        let start = Instant::now();
        for &i in which {
            loop {
                let m = &mut self.members[i];
                assert!(m.running(), "ZooKeeper {} exited: {}", m.myid, m.log());
                if m.mode()
                    .is_some_and(|mode| mode == "leader" || mode == "follower")
                {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(90),
                    "ZooKeeper {} did not join the quorum: {}",
                    m.myid,
                    m.log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Starts a killed member again and waits until it serves.
    pub(crate) fn restart(&mut self, i: usize) {
        self.members[i].kill();
        self.members[i].spawn();
        self.wait_serving(&[i]);
    }

    /// The connect string of the members `which`, in that order.
    pub(crate) fn connect(&self, which: &[usize]) -> String {
        which
            .iter()
            .map(|&i| self.members[i].hosts())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The member that leads.
    pub(crate) fn leader(&self) -> usize {
        (0..3)
            .find(|&i| self.members[i].mode().as_deref() == Some("leader"))
            .expect("no leader")
    }
}

impl Member {
    /// The process id, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}
