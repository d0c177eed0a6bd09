//! Builders for test worlds: Kyuubi metadata store files with each version's layout, and pod
//! lists shaped like `kubectl get pods -o json`, with times relative to the real clock.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use rusqlite::Connection;
use serde_json::{Value, json};

/// The store layouts Kyuubi has written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// 1.6/1.7: no `priority`.
    V1_7,
    /// 1.8.0–1.10.x.
    V1_8,
    /// 1.11+: adds `k8s_engine_info` (also what 1.11 makes of a 1.8–1.10 store).
    V1_11,
    /// Only the two columns the reader cannot do without.
    Minimal,
}

impl Layout {
    fn sql(self) -> String {
        let schema = |name: &str| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/data/schema")
                    .join(name),
            )
            .unwrap()
        };
        match self {
            Layout::V1_7 => schema("kyuubi-1.7.sql"),
            Layout::V1_8 => schema("kyuubi-1.8.sql"),
            Layout::V1_11 => schema("kyuubi-1.8.sql") + &schema("upgrade-1.8-to-1.11.sql"),
            Layout::Minimal => "CREATE TABLE metadata(identifier TEXT, state TEXT);".into(),
        }
    }

    /// Whether this layout has the `k8s_engine_info` table.
    pub(crate) fn has_engine_info(self) -> bool {
        self == Layout::V1_11
    }
}

/// Minutes before now.
pub(crate) fn ago(minutes: i64) -> Timestamp {
    Timestamp::now() - SignedDuration::from_mins(minutes)
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A `metadata` row.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) tag: String,
    pub(crate) state: &'static str,
    pub(crate) engine_state: Option<&'static str>,
    pub(crate) created: Timestamp,
    pub(crate) ended: Option<Timestamp>,
    pub(crate) peer_instance_closed: bool,
    pub(crate) request_conf: Value,
}

/// A batch row in `state`, created two days ago, ended a day ago when terminal, submitted to
/// `namespace` the way Kyuubi 1.8+ records it.
pub(crate) fn batch(tag: &str, state: &'static str, namespace: &str) -> Batch {
    let terminal = matches!(
        state,
        "FINISHED" | "ERROR" | "CANCELED" | "TIMEOUT" | "CLOSED"
    );
    Batch {
        tag: tag.into(),
        state,
        engine_state: Some(if terminal { "FINISHED" } else { "RUNNING" }),
        created: ago(2 * 24 * 60),
        ended: terminal.then(|| ago(24 * 60)),
        peer_instance_closed: false,
        request_conf: json!({
            "spark.master": "k8s://https://kubernetes.default.svc:443",
            "spark.kubernetes.namespace": namespace,
            "kyuubi.kubernetes.namespace": namespace,
            "kyuubi.batch.id": tag,
        }),
    }
}

/// A `k8s_engine_info` row.
#[derive(Debug, Clone)]
pub(crate) struct EngineInfo {
    pub(crate) tag: String,
    pub(crate) namespace: Option<String>,
    pub(crate) pod_name: String,
    pub(crate) pod_state: &'static str,
    pub(crate) engine_state: &'static str,
    pub(crate) updated: Timestamp,
}

/// A store file to write.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) layout: Layout,
    pub(crate) batches: Vec<Batch>,
    pub(crate) engine_infos: Vec<EngineInfo>,
}

impl Store {
    pub(crate) fn new(layout: Layout) -> Self {
        Self {
            layout,
            batches: vec![],
            engine_infos: vec![],
        }
    }

    pub(crate) fn batch(mut self, b: Batch) -> Self {
        self.batches.push(b);
        self
    }

    pub(crate) fn engine_info(mut self, e: EngineInfo) -> Self {
        assert!(
            self.layout.has_engine_info(),
            "{:?} has no k8s_engine_info",
            self.layout
        );
        self.engine_infos.push(e);
        self
    }

    /// Writes the store the way Kyuubi would have: its DDL, then its inserts.
    pub(crate) fn write(&self, path: &Path) -> PathBuf {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(&self.layout.sql()).unwrap();
        for b in &self.batches {
            insert_batch(&conn, self.layout, b);
        }
        for e in &self.engine_infos {
            insert_engine_info(&conn, e);
        }
        path.to_path_buf()
    }

    /// Writes the store, switches it to WAL mode (as a Kyuubi configured with
    /// `journal_mode=WAL` would), and commits `in_wal` there with automatic checkpoints off.
    /// Returns the open connection: while it lives, `<path>-wal` holds those rows (and
    /// `<path>-shm` exists); dropping it checkpoints them into the main file.
    pub(crate) fn write_wal(&self, path: &Path, in_wal: &[Batch]) -> Connection {
        drop(self.write(path));
        let conn = Connection::open(path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA wal_autocheckpoint=0").unwrap();
        for b in in_wal {
            insert_batch(&conn, self.layout, b);
        }
        conn
    }
}

/// Inserts a `metadata` row with the columns `layout` has.
pub(crate) fn insert_batch(conn: &Connection, layout: Layout, b: &Batch) {
    if layout == Layout::Minimal {
        conn.execute(
            "INSERT INTO metadata(identifier, state) VALUES (?1, ?2)",
            (&b.tag, b.state),
        )
        .unwrap();
        return;
    }
    let request_conf = b.request_conf.to_string();
    let end = b.ended.map_or(0, millis);
    conn.execute(
        "INSERT INTO metadata(identifier, session_type, real_user, user_name, ip_address, \
         kyuubi_instance, state, resource, class_name, request_name, request_conf, \
         request_args, create_time, engine_type, cluster_manager, engine_open_time, \
         engine_id, engine_name, engine_state, end_time, peer_instance_closed) VALUES \
         (?1, 'BATCH', 'etl', 'etl', '10.0.0.9', 'kyuubi-0:10099', ?2, 's3a://jobs/a.jar', \
         'com.example.Main', 'job', ?3, '[]', ?4, 'SPARK', \
         'k8s://https://kubernetes.default.svc:443', ?4, ?5, 'job', ?6, ?7, ?8)",
        rusqlite::params![
            b.tag,
            b.state,
            request_conf,
            millis(b.created),
            format!("spark-{}", b.tag.replace('-', "")),
            b.engine_state,
            end,
            b.peer_instance_closed,
        ],
    )
    .unwrap();
}

/// Inserts a `k8s_engine_info` row (1.11+ layout).
pub(crate) fn insert_engine_info(conn: &Connection, e: &EngineInfo) {
    conn.execute(
        "INSERT INTO k8s_engine_info(identifier, context, namespace, pod_name, pod_state, \
         container_state, engine_id, engine_name, engine_state, engine_error, update_time) \
         VALUES (?1, NULL, ?2, ?3, ?4, 'spark-kubernetes-driver->ContainerState(...)', \
         'spark-x', 'job', ?5, NULL, ?6)",
        rusqlite::params![
            e.tag,
            e.namespace,
            e.pod_name,
            e.pod_state,
            e.engine_state,
            millis(e.updated)
        ],
    )
    .unwrap();
}

/// Every file directly in `dir` with its bytes and modification time, sorted by path: equal
/// before and after a scan means the scan wrote, created and removed nothing there.
pub(crate) fn dir_snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            (
                path.clone(),
                std::fs::read(&path).unwrap(),
                meta.modified().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A Spark driver pod labelled by Kyuubi, as `kubectl get pods -o json` prints it.
pub(crate) fn driver(
    namespace: &str,
    tag: &str,
    phase: &str,
    created: Timestamp,
    finished: Option<Timestamp>,
) -> Value {
    let state = match finished {
        Some(at) => json!({"terminated": {"exitCode": i32::from(phase == "Failed"),
            "finishedAt": at.to_string(), "reason": "Completed",
            "startedAt": created.to_string()}}),
        None if phase == "Running" => json!({"running": {"startedAt": created.to_string()}}),
        None => json!({"waiting": {"reason": "ContainerCreating"}}),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("kyuubi-job-{tag}-driver"),
            "namespace": namespace,
            "uid": format!("uid-{tag}"),
            "resourceVersion": "1000",
            "creationTimestamp": created.to_string(),
            "labels": {
                "kyuubi-unique-tag": tag,
                "spark-app-selector": format!("spark-{}", tag.replace('-', "")),
                "spark-role": "driver",
                "spark-app-name": "job",
            },
        },
        "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "apache/spark:3.5.3"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [{
                "name": "spark-kubernetes-driver", "image": "apache/spark:3.5.3", "imageID": "",
                "ready": phase == "Running", "restartCount": 0, "state": state,
            }],
        },
    })
}

/// Sets a file's modification time (a store's as-of time).
pub(crate) fn set_mtime(path: &Path, time: std::time::SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

/// Writes pods as a `v1/List`.
pub(crate) fn write_pods(path: &Path, pods: &[Value]) -> PathBuf {
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": pods});
    std::fs::write(path, serde_json::to_vec_pretty(&list).unwrap()).unwrap();
    path.to_path_buf()
}

/// The verdict and class of each pod in a JSON report, by pod name.
pub(crate) fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
                p["class"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
