//! Shared helpers: fixture server, kubeconfig, tool discovery, process running, raw HTTP.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use test_apiserver::{ClockStart, KubeconfigOptions, ServerConfig, TestApiServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The fixture's "now": ages in the fixture are relative to it.
pub(crate) const NOW: &str = "2026-03-01T12:00:00Z";

pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn fixture() -> PathBuf {
    crate_dir().join("tests/data/kyuubi-pods.yaml")
}

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p =
            std::env::temp_dir().join(format!("test-apiserver-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server seeded with the fixture, clock stopped at [`NOW`], and a kubeconfig for it.
pub(crate) struct Fixture {
    pub(crate) server: TestApiServer,
    pub(crate) dir: TempDir,
    pub(crate) kubeconfig: PathBuf,
}

pub(crate) async fn fixture_server_with(tag: &str, mut config: ServerConfig) -> Fixture {
    config.clock = ClockStart::Fixed(NOW.parse().unwrap());
    config.seed_files = vec![fixture()];
    let server = TestApiServer::start(config).await.expect("start server");
    let dir = TempDir::new(tag);
    let kubeconfig = dir.path().join("kubeconfig");
    server
        .write_kubeconfig(
            &kubeconfig,
            &KubeconfigOptions {
                context: format!("fixture-{tag}"),
                ..KubeconfigOptions::default()
            },
        )
        .unwrap();
    Fixture {
        server,
        dir,
        kubeconfig,
    }
}

pub(crate) async fn fixture_server(tag: &str) -> Fixture {
    fixture_server_with(tag, ServerConfig::default()).await
}

/// Directory of the versioned kubectl binaries (`kubectl.1.27` ... `kubectl.1.33`).
pub(crate) fn kubectl_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KUBECTL_DIR") {
        return PathBuf::from(d);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let k = dir.join("kubectl");
        if k.is_file()
            && let Ok(real) = std::fs::canonicalize(&k)
            && let Some(parent) = real.parent()
            && parent.join("kubectl.1.33").is_file()
        {
            return parent.to_path_buf();
        }
    }
    panic!(
        "kubectl with versioned binaries (kubectl.1.27 ... kubectl.1.33) not found. \
         Install the google-cloud-cli `kubectl` package (it ships /usr/lib/google-cloud-sdk/bin/kubectl.1.NN \
         and the /usr/bin/kubectl dispatcher), or set KUBECTL_DIR to the directory holding kubectl.1.NN"
    );
}

pub(crate) fn kubectl_bin(version: &str) -> PathBuf {
    let p = kubectl_dir().join(format!("kubectl.{version}"));
    assert!(
        p.is_file(),
        "{} is missing: install the google-cloud-cli kubectl package that ships kubectl.{version}",
        p.display()
    );
    p
}

/// The Python interpreter that has the `kubernetes` package.
pub(crate) fn python() -> PathBuf {
    let py = std::env::var_os("TEST_APISERVER_PYTHON")
        .map_or_else(|| PathBuf::from("/usr/bin/python3"), PathBuf::from);
    let ok = std::process::Command::new(&py)
        .args(["-c", "import kubernetes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import the Python `kubernetes` client: run `apt-get install -y python3-kubernetes` \
         (Debian's package; the pyenv `python3` on PATH does not have it) or set TEST_APISERVER_PYTHON",
        py.display()
    );
    py
}

pub(crate) struct Output {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "command failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub(crate) fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

/// Run a command with a timeout (the child is killed if it takes longer).
pub(crate) async fn run(program: &Path, args: &[&str], timeout: Duration) -> Output {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{} {args:?} did not finish within {timeout:?}",
                program.display()
            )
        })
        .expect("wait");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// kubectl of a given version against the fixture (own cache dir, own kubeconfig).
pub(crate) struct Kubectl {
    pub(crate) bin: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) cache: PathBuf,
}

impl Kubectl {
    pub(crate) fn new(version: &str, f: &Fixture) -> Self {
        let cache = f.dir.path().join(format!("cache-{version}"));
        std::fs::create_dir_all(&cache).unwrap();
        Self {
            bin: kubectl_bin(version),
            kubeconfig: f.kubeconfig.clone(),
            cache,
        }
    }

    pub(crate) fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut a = vec![
            "--kubeconfig",
            self.kubeconfig.to_str().unwrap(),
            "--cache-dir",
            self.cache.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        a
    }

    pub(crate) async fn run(&self, extra: &[&str]) -> Output {
        run(&self.bin, &self.args(extra), Duration::from_secs(60)).await
    }
}

/// A raw HTTP/1.0 exchange (the server then closes the connection after the body), so streamed
/// watch bodies arrive unchunked.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the body was shorter than `Content-Length` or the stream broke.
    pub(crate) truncated: bool,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn lines(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.body)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line ({e}): {l}"))
            })
            .collect()
    }
}

pub(crate) async fn raw(
    server: &TestApiServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut s = TcpStream::connect(server.addr()).await.unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {}\r\n", server.addr());
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    if !body.is_empty() {
        // application/json unless the caller names another type (a patch)
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.push_str("Content-Type: application/json\r\n");
        }
        let _ = write!(req, "Content-Length: {}\r\n", body.len());
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("response in time");
    let broken = read.is_err();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let cl = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let truncated = broken || cl.is_some_and(|n| body.len() < n);
    RawResponse {
        status,
        headers,
        body,
        truncated,
    }
}

pub(crate) async fn get(server: &TestApiServer, path: &str) -> RawResponse {
    raw(server, "GET", path, &[], b"").await
}

/// Names (`ns/name`) of the fixture pods whose labels satisfy `pred`.
pub(crate) fn pod_names(server: &TestApiServer, pred: impl Fn(&Value) -> bool) -> Vec<String> {
    server
        .pods()
        .iter()
        .filter(|p| pred(p))
        .map(|p| {
            format!(
                "{}/{}",
                p["metadata"]["namespace"].as_str().unwrap(),
                p["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

pub(crate) fn has_label(p: &Value, k: &str) -> bool {
    p["metadata"]["labels"].get(k).is_some()
}

/// Poll until `f` is true (or panic after `timeout`).
pub(crate) async fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
