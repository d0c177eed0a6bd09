//! `watch` end to end: the binary as a service against the project's `test-apiserver`, with a
//! metadata store it follows. Each test drives the world (pods finish, rows change, watches are
//! cut, the server's clock is moved) and checks the server's request log, the endpoints and the
//! exit code: a pod is deleted when, and only when, its verdict says so, and never twice.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use test_apiserver::{FaultAction, FaultConfig, FaultRule, KubeconfigOptions, ServerConfig};

use crate::cluster::Cluster;
use crate::world::{Layout, Store, ago, batch, driver, insert_batch};

/// A world: a server seeded with pods, a store, a kubeconfig, in a temporary directory.
pub(crate) struct World {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cluster: Cluster,
    kubeconfig: PathBuf,
    store: PathBuf,
}

impl World {
    pub(crate) fn new(pods: Vec<Value>, store: &Store) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let cluster = Cluster::start(ServerConfig::default());
        cluster.server().seed_pods(pods).unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        cluster
            .server()
            .write_kubeconfig(&kubeconfig, &KubeconfigOptions::default())
            .unwrap();
        let store = store.write(&dir.path().join("kyuubi_state_store.db"));
        Self {
            dir,
            cluster,
            kubeconfig,
            store,
        }
    }

    /// Starts `watch` on every namespace of the world's store, deleting, with `extra` flags.
    fn watch(&self, extra: &[&str]) -> Service {
        self.watch_over(&["--store", self.store.to_str().unwrap()], extra)
    }

    /// Starts `watch` over the state sources `state` (instead of the world's store).
    pub(crate) fn watch_over(&self, state: &[&str], extra: &[&str]) -> Service {
        let mut args: Vec<String> = ["watch", "--kubeconfig", self.kubeconfig.to_str().unwrap()]
            .iter()
            .chain(state)
            .map(ToString::to_string)
            .collect();
        args.extend(
            [
                "-A",
                "--yes",
                "--listen",
                "127.0.0.1:0",
                "--state-poll",
                "1s",
            ]
            .iter()
            .chain(extra)
            .map(ToString::to_string),
        );
        Service::start(&args, self.dir.path())
    }

    /// Every DELETE of the pod of `tag`, with the server time it was answered.
    pub(crate) fn deletes_of(&self, tag: &str) -> Vec<Timestamp> {
        self.cluster
            .deletes()
            .into_iter()
            .filter(|r| r.path.ends_with(&format!("/kyuubi-job-{tag}-driver")))
            .map(|r| r.time.parse().unwrap())
            .collect()
    }

    /// The pod of `tag` is gone and its DELETE is in the server's request log (which is written
    /// after the answer, so the removal can be seen first).
    pub(crate) fn deleted(&self, namespace: &str, tag: &str) -> bool {
        !self.has(namespace, tag) && !self.deletes_of(tag).is_empty()
    }

    pub(crate) fn has(&self, namespace: &str, tag: &str) -> bool {
        self.cluster
            .has(namespace, &format!("kyuubi-job-{tag}-driver"))
    }

    /// Runs SQL on the store, as Kyuubi would write it.
    fn sql(&self, statement: &str) {
        let conn = rusqlite::Connection::open(&self.store).unwrap();
        conn.execute_batch(statement).unwrap();
    }
}

/// A running `kyuubi-reaper watch`.
pub(crate) struct Service {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Service {
    fn start(args: &[String], dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kyuubi-reaper"))
            .args(args)
            .current_dir(dir)
            .env_remove("KUBECONFIG")
            .env("RUST_LOG", "kyuubi_reaper=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.split("/readyz on ").nth(1) {
                        let _ = tx.send(addr.trim().to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            panic!("watch did not start serving: {}", log.lock().unwrap());
        };
        let addr = addr.parse().unwrap();
        Self { child, addr, log }
    }

    /// `GET path` on the service's endpoint: status and body.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// The value of a sample of /metrics (`name{labels}` as printed), as printed; `0` when
    /// absent.
    pub(crate) fn metric(&self, sample: &str) -> String {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == sample).then(|| value.to_string())
            })
            .unwrap_or_else(|| "0".into())
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `what` holds, failing with the log after `limit`.
    #[track_caller]
    pub(crate) fn wait(&self, limit: Duration, what: impl Fn() -> bool) {
        let start = Instant::now();
        while !what() {
            assert!(
                start.elapsed() < limit,
                "not there within {limit:?}; the service's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn ready(&self) -> bool {
        self.get("/readyz").0 == 200
    }

    /// SIGTERM, then the exit code (within 20 s).
    pub(crate) fn stop(mut self) -> i32 {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "watch did not stop within 20 s of SIGTERM: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kept pods beside the ones a test is about, so that one orphan is never most of the
/// candidates (the orphan-ratio gate).
fn bystanders(store: Store, pods: &mut Vec<Value>) -> Store {
    let mut store = store;
    for i in 0..4 {
        let tag = format!("live{i}");
        pods.push(driver("spark", &tag, "Running", ago(60), None));
        store = store.batch(batch(&tag, "RUNNING", "spark"));
    }
    store
}

#[test]
fn a_pod_that_finishes_is_deleted_when_its_retain_period_ends_by_the_servers_clock() {
    // The server's clock is an hour ahead of the local one: judged by the local clock, the
    // pod would wait an hour more.
    let mut pods = vec![driver("spark", "done", "Running", ago(30), None)];
    let store = bystanders(
        Store::new(Layout::V1_11).batch(batch("done", "FINISHED", "spark")),
        &mut pods,
    );
    let world = World::new(pods, &store);
    world
        .cluster
        .server()
        .clock()
        .set_offset(SignedDuration::from_hours(1));
    let service = world.watch(&["--retain", "3s"]);
    service.wait(Duration::from_secs(20), || service.ready());
    assert!(world.deletes_of("done").is_empty(), "a running pod is kept");

    let finished = world.cluster.server().now();
    world
        .cluster
        .server()
        .terminate_pod("spark", "kyuubi-job-done-driver", true, finished)
        .unwrap();
    service.wait(Duration::from_secs(15), || world.deleted("spark", "done"));
    let deletes = world.deletes_of("done");
    assert_eq!(deletes.len(), 1, "deleted exactly once: {deletes:?}");
    let due = finished + SignedDuration::from_secs(3);
    // The finishedAt the server wrote is truncated to the second: the pod's retain period
    // ends at the earliest at that second plus 3 s.
    let written = Timestamp::from_second(finished.as_second()).unwrap();
    assert!(
        deletes[0] >= written + SignedDuration::from_secs(3),
        "deleted at {} before its retain period ended at {}",
        deletes[0],
        written + SignedDuration::from_secs(3)
    );
    assert!(
        deletes[0] <= due + SignedDuration::from_secs(1),
        "deleted at {}, more than a second after its retain period ended at {due}",
        deletes[0]
    );
    // The kept pods were never sent a DELETE.
    for i in 0..4 {
        assert!(world.deletes_of(&format!("live{i}")).is_empty());
    }
    // The metric follows the answer, which follows the removal on the server.
    service.wait(Duration::from_secs(5), || {
        service.metric("kyuubi_reaper_deletions_total{outcome=\"deleted\"}") == "1"
    });
    assert_eq!(service.stop(), 0);
}

#[test]
fn a_batch_row_that_turns_finished_lets_its_finished_pod_go() {
    // The driver finished before Kyuubi wrote the row: RUNNING keeps it (rule 3).
    let mut pods = vec![driver("spark", "late", "Succeeded", ago(30), Some(ago(20)))];
    let store = bystanders(
        Store::new(Layout::V1_11).batch(batch("late", "RUNNING", "spark")),
        &mut pods,
    );
    let world = World::new(pods, &store);
    let service = world.watch(&[]);
    service.wait(Duration::from_secs(20), || service.ready());
    std::thread::sleep(Duration::from_millis(500));
    assert!(world.deletes_of("late").is_empty(), "kept while RUNNING");
    assert_eq!(
        service.metric("kyuubi_reaper_candidate_pods{verdict=\"keep\",class=\"batch-active\"}"),
        "5"
    );

    let end = Timestamp::now().as_millisecond() - 60_000;
    world.sql(&format!(
        "UPDATE metadata SET state = 'FINISHED', engine_state = 'FINISHED', end_time = {end} \
         WHERE identifier = 'late'"
    ));
    service.wait(Duration::from_secs(15), || world.deleted("spark", "late"));
    assert_eq!(world.deletes_of("late").len(), 1);
    for i in 0..4 {
        assert!(world.deletes_of(&format!("live{i}")).is_empty());
    }
    assert_eq!(service.stop(), 0);
}

#[test]
fn a_watch_cut_mid_stream_recovers_without_missing_a_pod() {
    let mut pods = Vec::new();
    let store = bystanders(Store::new(Layout::V1_11), &mut pods);
    let world = World::new(pods, &store);
    // Every watch stream is cut after two events.
    world.cluster.server().set_faults(FaultConfig {
        rules: vec![FaultRule {
            watch: Some(true),
            ..FaultRule::always(FaultAction::CutWatch { after_events: 2 })
        }],
        ..FaultConfig::default()
    });
    let service = world.watch(&["--max-orphan-ratio", "1"]);
    service.wait(Duration::from_secs(20), || service.ready());
    // Six finished pods appear one after another while the streams keep being cut, and
    // Kyuubi records their batches as it goes (a pod created after the state is kept by rule 4
    // until the state knows it).
    let conn = rusqlite::Connection::open(&world.store).unwrap();
    for i in 0..6 {
        let tag = format!("n{i}");
        world
            .cluster
            .server()
            .create_pod(driver("spark", &tag, "Succeeded", ago(60), Some(ago(30))))
            .unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        insert_batch(&conn, Layout::V1_11, &batch(&tag, "FINISHED", "spark"));
    }
    service.wait(Duration::from_secs(30), || {
        (0..6).all(|i| world.deleted("spark", &format!("n{i}")))
    });
    for i in 0..6 {
        assert_eq!(
            world.deletes_of(&format!("n{i}")).len(),
            1,
            "n{i} deleted once"
        );
    }
    for i in 0..4 {
        assert!(world.deletes_of(&format!("live{i}")).is_empty());
    }
    assert_eq!(service.stop(), 0);
}

#[test]
fn readyz_follows_the_state_and_nothing_is_deleted_while_it_cannot_be_read() {
    let mut pods = vec![driver("spark", "old", "Succeeded", ago(60), Some(ago(30)))];
    let store = bystanders(Store::new(Layout::V1_11), &mut pods);
    let world = World::new(pods, &store);
    // A store that is not SQLite at all: not ready, and nothing deleted.
    let good = std::fs::read(&world.store).unwrap();
    std::fs::write(&world.store, b"this is not a database").unwrap();
    let service = world.watch(&["--max-orphan-ratio", "1", "--allow-empty-state"]);
    service.wait(Duration::from_secs(20), || {
        let (code, body) = service.get("/readyz");
        code == 503 && body.contains("kyuubi_state_store.db")
    });
    assert_eq!(service.get("/healthz").0, 200, "alive while not ready");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        world.deletes_of("old").is_empty(),
        "nothing deleted without a state"
    );

    // The store comes back: ready, and the orphan (no record of its tag) goes.
    std::fs::write(&world.store, good).unwrap();
    service.wait(Duration::from_secs(15), || service.ready());
    service.wait(Duration::from_secs(15), || world.deleted("spark", "old"));
    assert_eq!(world.deletes_of("old").len(), 1);
    // The metric follows the answer, which follows the removal on the server.
    service.wait(Duration::from_secs(5), || {
        service.metric("kyuubi_reaper_deletions_total{outcome=\"deleted\"}") == "1"
    });
    assert!(
        service
            .metric("kyuubi_reaper_last_reconcile_timestamp_seconds")
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert_eq!(service.stop(), 0);
}

#[test]
fn the_gate_refuses_a_mass_of_orphans_and_readyz_says_so() {
    // Every candidate is an orphan: more than --max-orphan-ratio 0.8 of them.
    let mut pods = Vec::new();
    let mut store = Store::new(Layout::V1_11);
    for i in 0..5 {
        let tag = format!("m{i}");
        pods.push(driver("spark", &tag, "Succeeded", ago(60), Some(ago(30))));
        store = store.batch(batch(&tag, "FINISHED", "spark"));
    }
    let world = World::new(pods, &store);
    let service = world.watch(&[]);
    service.wait(Duration::from_secs(20), || {
        let (code, body) = service.get("/readyz");
        code == 503 && body.contains("--max-orphan-ratio")
    });
    assert!(world.cluster.deletes().is_empty(), "nothing deleted");
    assert!(
        service
            .metric("kyuubi_reaper_gate_refusals_total{reason=\"max-orphan-ratio\"}")
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(service.stop(), 0);
    assert!(world.cluster.deletes().is_empty());
}

#[test]
fn a_dry_run_sends_nothing_and_needs_no_yes_while_deleting_needs_it() {
    let mut pods = vec![driver("spark", "d", "Succeeded", ago(60), Some(ago(30)))];
    let store = bystanders(
        Store::new(Layout::V1_11).batch(batch("d", "FINISHED", "spark")),
        &mut pods,
    );
    let world = World::new(pods, &store);
    let refused = crate::harness::reaper([
        "watch",
        "--kubeconfig",
        world.kubeconfig.to_str().unwrap(),
        "--store",
        world.store.to_str().unwrap(),
    ])
    .run_within(Duration::from_secs(20))
    .code(2);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let args: Vec<String> = [
        "watch",
        "--kubeconfig",
        world.kubeconfig.to_str().unwrap(),
        "--store",
        world.store.to_str().unwrap(),
        "-A",
        "--dry-run",
        "--listen",
        "127.0.0.1:0",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let service = Service::start(&args, world.dir.path());
    service.wait(Duration::from_secs(20), || {
        service.metric("kyuubi_reaper_deletions_total{outcome=\"dry-run\"}") == "1"
    });
    // Judged once, reported once: the same pod is not "deleted" again at every turn.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        service.metric("kyuubi_reaper_deletions_total{outcome=\"dry-run\"}"),
        "1"
    );
    assert!(world.cluster.deletes().is_empty());
    assert!(
        service
            .log()
            .contains("dry-run pod spark/kyuubi-job-d-driver")
    );
    assert_eq!(service.stop(), 0);
}

/// The lease's holder, if any.
fn holder(world: &World) -> Option<String> {
    world
        .cluster
        .server()
        .get_lease("default", "reaper-lock")?
        .pointer("/spec/holderIdentity")?
        .as_str()
        .map(str::to_string)
        .filter(|h| !h.is_empty())
}

/// Outcomes of one audit log, as (outcome, pod).
fn audited(path: &std::path::Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| {
            (
                v["outcome"].as_str().unwrap().to_string(),
                v["pod"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
#[allow(clippy::too_many_lines)] // one story: lead, follow, die, take over, stop
fn two_replicas_one_leader_deletes_the_other_takes_over_and_nothing_is_deleted_twice() {
    let mut pods = vec![driver(
        "spark",
        "first",
        "Succeeded",
        ago(60),
        Some(ago(30)),
    )];
    let store = bystanders(
        Store::new(Layout::V1_11).batch(batch("first", "FINISHED", "spark")),
        &mut pods,
    );
    let world = World::new(pods, &store);
    let lease = |id: &str, audit: &std::path::Path| {
        vec![
            "--leader-elect".to_string(),
            "--lease-name".into(),
            "reaper-lock".into(),
            "--lease-namespace".into(),
            "default".into(),
            "--lease-duration".into(),
            "3s".into(),
            "--lease-identity".into(),
            id.into(),
            "--audit-log".into(),
            audit.display().to_string(),
        ]
    };
    let audit_a = world.dir.path().join("a.jsonl");
    let audit_b = world.dir.path().join("b.jsonl");
    let args_a = lease("replica-a", &audit_a);
    let a = world.watch(&args_a.iter().map(String::as_str).collect::<Vec<_>>());
    a.wait(Duration::from_secs(20), || {
        holder(&world).as_deref() == Some("replica-a")
    });
    a.wait(Duration::from_secs(20), || world.deleted("spark", "first"));
    let args_b = lease("replica-b", &audit_b);
    let b = world.watch(&args_b.iter().map(String::as_str).collect::<Vec<_>>());
    b.wait(Duration::from_secs(20), || b.ready());
    assert_eq!(b.metric("kyuubi_reaper_leader"), "0", "b follows");
    assert_eq!(a.metric("kyuubi_reaper_leader"), "1", "a leads");

    // A second orphan while a leads: a deletes it, b (whose cache is warm) does not.
    let conn = rusqlite::Connection::open(&world.store).unwrap();
    world
        .cluster
        .server()
        .create_pod(driver(
            "spark",
            "second",
            "Succeeded",
            ago(60),
            Some(ago(30)),
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    insert_batch(&conn, Layout::V1_11, &batch("second", "FINISHED", "spark"));
    a.wait(Duration::from_secs(20), || world.deleted("spark", "second"));
    a.wait(Duration::from_secs(5), || audited(&audit_a).len() == 2);

    // a dies without a word (SIGKILL: no release); b takes over within the lease duration.
    drop(a);
    let killed = Instant::now();
    b.wait(Duration::from_secs(15), || {
        holder(&world).as_deref() == Some("replica-b")
    });
    let took_over = killed.elapsed();
    assert!(
        took_over <= Duration::from_secs(3) + Duration::from_millis(1500),
        "b took over {took_over:?} after a died (lease 3s)"
    );
    b.wait(Duration::from_secs(5), || {
        b.metric("kyuubi_reaper_leader") == "1"
    });
    world
        .cluster
        .server()
        .create_pod(driver(
            "spark",
            "third",
            "Succeeded",
            ago(60),
            Some(ago(30)),
        ))
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    insert_batch(&conn, Layout::V1_11, &batch("third", "FINISHED", "spark"));
    b.wait(Duration::from_secs(20), || world.deleted("spark", "third"));

    // Every orphan was deleted exactly once, by the replica that led at the time (the audit
    // line follows the answer, which follows the removal on the server).
    b.wait(Duration::from_secs(5), || audited(&audit_b).len() == 1);
    for tag in ["first", "second", "third"] {
        assert_eq!(world.deletes_of(tag).len(), 1, "{tag} deleted once");
    }
    let by_a = audited(&audit_a);
    let by_b = audited(&audit_b);
    let pod = |tag: &str| format!("kyuubi-job-{tag}-driver");
    assert_eq!(
        by_a,
        vec![
            ("deleted".to_string(), pod("first")),
            ("deleted".to_string(), pod("second"))
        ]
    );
    assert_eq!(by_b, vec![("deleted".to_string(), pod("third"))]);
    for i in 0..4 {
        assert!(world.deletes_of(&format!("live{i}")).is_empty());
    }

    // SIGTERM: exit 0, and the lease is given up at once.
    assert_eq!(b.stop(), 0);
    assert_eq!(holder(&world), None, "the lease is released on shutdown");
}
