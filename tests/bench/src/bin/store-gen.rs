//! Writes a large Kyuubi metadata store (SQLite, the 1.11 layout) for the scan benchmark.
//!
//! Usage: `store-gen <seed pods file> <out.db> [--rows N]`
//!
//! Every Kyuubi driver pod of the seed file (a `kubectl get pods -o json` list, as
//! `gen-seed-pods` writes it) gets the batch row Kyuubi would have for it: `RUNNING` or `PENDING`
//! while the pod runs, `FINISHED` or `ERROR` with an end time once it terminated, with the
//! context, namespace and driver pod name in `request_conf` as Kyuubi 1.10+ records them. The
//! rest of the `--rows` (default 1,000,000) are finished batches of the past whose pods are gone,
//! as a busy Kyuubi keeps for `kyuubi.metadata.max.age`.

use std::collections::HashMap;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

#[derive(serde::Deserialize)]
struct List {
    items: Vec<Item>,
}

#[derive(serde::Deserialize)]
struct Item {
    metadata: Meta,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(serde::Deserialize)]
struct Meta {
    name: String,
    namespace: String,
    #[serde(default)]
    labels: HashMap<String, String>,
    #[serde(rename = "creationTimestamp")]
    created: jiff::Timestamp,
}

#[derive(serde::Deserialize)]
struct Status {
    phase: Option<String>,
}

#[allow(clippy::too_many_lines)] // one straight-line generator
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: store-gen <seed pods file> <out.db> [--rows N]";
    let seed = PathBuf::from(args.next().ok_or(usage)?);
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let mut rows: usize = 1_000_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().ok_or(usage)?.parse()?,
            _ => return Err(format!("unknown argument {a}; {usage}").into()),
        }
    }
    let started = Instant::now();
    let list: List = serde_json::from_reader(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(&seed)?,
    ))?;
    if out.exists() {
        std::fs::remove_file(&out)?;
    }
    let mut conn = rusqlite::Connection::open(&out)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
    let schema = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../data/schema")
                .join(name),
        )
    };
    conn.execute_batch(&(schema("kyuubi-1.8.sql")? + &schema("upgrade-1.8-to-1.11.sql")?))?;
    let tx = conn.transaction()?;
    let mut written = 0usize;
    {
        let mut insert = tx.prepare(
            "INSERT INTO metadata(identifier, session_type, real_user, user_name, ip_address, \
             kyuubi_instance, state, resource, class_name, request_name, request_conf, \
             request_args, create_time, engine_type, cluster_manager, engine_open_time, engine_id, \
             engine_name, engine_state, end_time, priority, peer_instance_closed) VALUES \
             (?1, 'BATCH', ?2, ?2, '10.0.7.21', 'kyuubi-0.kyuubi:10099', ?3, \
             's3a://jobs/etl.jar', 'com.example.Main', ?4, ?5, '[]', ?6, 'SPARK', \
             'k8s://https://kubernetes.default.svc:443', ?7, ?8, ?4, ?9, ?10, 10, 0)",
        )?;
        let mut row = |tag: &str,
                       ns: &str,
                       pod: &str,
                       state: &str,
                       engine: &str,
                       created: i64,
                       ended: i64| {
            let request_conf = serde_json::json!({
                "spark.master": "k8s://https://kubernetes.default.svc:443",
                "spark.submit.deployMode": "cluster",
                "spark.kubernetes.namespace": ns,
                "kyuubi.kubernetes.namespace": ns,
                "spark.kubernetes.driver.pod.name": pod,
                "spark.kubernetes.executor.podNamePrefix": pod.trim_end_matches("-driver"),
                "spark.executor.instances": "4",
                "kyuubi.batch.id": tag,
            })
            .to_string();
            insert.execute(rusqlite::params![
                tag,
                "etl",
                state,
                "nightly",
                request_conf,
                created,
                created + 20_000,
                format!("spark-{}", tag.replace('-', "")),
                engine,
                ended,
            ])
        };
        for item in &list.items {
            let labels = &item.metadata.labels;
            let (Some(tag), Some("driver")) = (
                labels.get("kyuubi-unique-tag"),
                labels.get("spark-role").map(String::as_str),
            ) else {
                continue;
            };
            let created = item.metadata.created.as_millisecond() - 5_000;
            let phase = item.status.as_ref().and_then(|s| s.phase.as_deref());
            let (state, engine, ended) = match phase {
                Some("Succeeded") => ("FINISHED", "FINISHED", created + 600_000),
                Some("Failed") => ("ERROR", "FAILED", created + 600_000),
                Some("Pending") => ("PENDING", "PENDING", 0),
                _ => ("RUNNING", "RUNNING", 0),
            };
            row(
                tag,
                &item.metadata.namespace,
                &item.metadata.name,
                state,
                engine,
                created,
                ended,
            )?;
            written += 1;
        }
        let mut i = 0u64;
        let base = jiff::Timestamp::now().as_millisecond() - 3 * 86_400_000;
        while written < rows {
            i += 1;
            let tag = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                i.wrapping_mul(0x9E37_79B9) & 0xffff_ffff,
                i & 0xffff,
                i & 0xfff,
                (i >> 12) & 0xfff,
                i
            );
            let ns = format!("spark-ns-{:02}", i % 50);
            let pod = format!("kyuubi-nightly-{tag}-driver");
            let created = base + i64::try_from(i).unwrap_or(0) * 200;
            row(
                &tag,
                &ns,
                &pod,
                "FINISHED",
                "FINISHED",
                created,
                created + 600_000,
            )?;
            written += 1;
        }
    }
    tx.commit()?;
    drop(conn);
    println!(
        "wrote {} ({written} rows, {} bytes) in {:.1} s",
        out.display(),
        std::fs::metadata(&out)?.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
