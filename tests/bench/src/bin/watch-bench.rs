//! Benchmark of `kyuubi-reaper watch` over many candidate pods: the memory it holds per
//! candidate pod, its CPU while nothing changes, and the delay from a pod's retain period ending
//! to its DELETE; next to what one `scan` of the same pods costs (what a `CronJob` run of `reap`
//! pays every time it runs, and why its delay is its schedule).
//!
//! Usage: `watch-bench <kyuubi-reaper binary> <workdir> [--pods N] [--finishers M]
//! [--idle SECONDS] [--retain SECONDS]`
//!
//! - Data (generated once into workdir): N (100,000) Running Spark driver pods in 50 namespaces
//!   (`test_apiserver::generate`, no other pods), and a 1.11 metadata store (`store-gen`) with a
//!   RUNNING batch row for each, except M (200) "finishers" whose rows are FINISHED (their pods
//!   are `leaked-running` suspects, kept, until they terminate).
//! - The test-apiserver runs in this process; `watch` runs as a child (`--yes --retain R`).
//! - Baseline: `watch` against an empty server with the same store, its resident memory once
//!   ready.
//! - Memory: resident memory of `watch` over N pods once ready and settled, minus the baseline,
//!   per pod.
//! - Idle CPU: the child's user + system CPU over `--idle` seconds (60) while nothing changes.
//! - Delay: the M finishers terminate one every 100 ms (`finishedAt` = the server's time, which
//!   the API writes in whole seconds); each is deleted when its retain period ends. The delay is
//!   the audit line's time (the DELETE's answer) minus (`finishedAt` + retain).
//! - Alternative: one `scan -A -o name` of the same pods and store (wall and CPU).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use test_apiserver::generate::{GenOptions, Phase, write_seed};
use test_apiserver::{KubeconfigOptions, ServerConfig, TestApiServer};

struct Args {
    reaper: PathBuf,
    work: PathBuf,
    pods: usize,
    finishers: usize,
    idle: u64,
    retain: u64,
}

fn args() -> Result<Args, String> {
    let usage = "usage: watch-bench <kyuubi-reaper> <workdir> [--pods N] [--finishers M] \
                 [--idle SECONDS] [--retain SECONDS]";
    let mut it = std::env::args().skip(1);
    let reaper = PathBuf::from(it.next().ok_or(usage)?);
    let work = PathBuf::from(it.next().ok_or(usage)?);
    let mut a = Args {
        reaper,
        work,
        pods: 100_000,
        finishers: 200,
        idle: 60,
        retain: 5,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(usage)?;
        let n: u64 = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
        match flag.as_str() {
            "--pods" => a.pods = usize::try_from(n).map_err(|e| e.to_string())?,
            "--finishers" => a.finishers = usize::try_from(n).map_err(|e| e.to_string())?,
            "--idle" => a.idle = n,
            "--retain" => a.retain = n,
            _ => return Err(format!("unknown flag {flag}; {usage}")),
        }
    }
    Ok(a)
}

/// A running `watch`.
struct Watch {
    child: Child,
    addr: String,
}

impl Watch {
    fn start(reaper: &Path, kubeconfig: &Path, store: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(reaper)
            .args(["watch", "--kubeconfig"])
            .arg(kubeconfig)
            .arg("--store")
            .arg(store)
            .args([
                "-A",
                "--yes",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "text",
            ])
            .args(extra)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start watch");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("/readyz on ").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                if line.contains("ERROR") {
                    eprintln!("watch: {line}");
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("watch serves its endpoints");
        Self { child, addr }
    }

    fn ready(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&self.addr) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if write!(
            s,
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    fn wait_ready(&self, limit: Duration) -> Duration {
        let start = Instant::now();
        while !self.ready() {
            assert!(start.elapsed() < limit, "watch not ready within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        start.elapsed()
    }

    /// Resident memory, in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the child's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// User + system CPU so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("the child's /proc stat");
        // Fields after the command name (which is in parentheses): utime is the 12th, stime
        // the 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
    }

    fn stop(mut self) -> i32 {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok().and_then(|s| s.code()).unwrap_or(-1)
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[allow(clippy::too_many_lines, clippy::cast_precision_loss)] // one straight-line benchmark
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    std::fs::create_dir_all(&a.work)?;
    let seed = a.work.join(format!("watch-seed-{}.json", a.pods));
    let store = a
        .work
        .join(format!("watch-store-{}-{}.db", a.pods, a.finishers));
    if !seed.exists() {
        let options = GenOptions {
            drivers: a.pods,
            others: 0,
            namespaces: 50,
            seed: 1,
            now: Timestamp::now() - SignedDuration::from_hours(1),
            driver_phase: Some(Phase::Running),
        };
        let tmp = seed.with_extension("tmp");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        write_seed(&mut w, &options)?;
        std::io::Write::flush(&mut w)?;
        drop(w);
        std::fs::rename(&tmp, &seed)?;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = runtime.block_on(TestApiServer::start(ServerConfig::default()))?;
    server.seed_file(&seed)?;
    let kubeconfig = a.work.join("watch-kubeconfig");
    server.write_kubeconfig(&kubeconfig, &KubeconfigOptions::default())?;
    let mut pods: Vec<(String, String, String)> = server
        .pods()
        .iter()
        .filter_map(|p| {
            let m = p.get("metadata")?;
            Some((
                m.get("namespace")?.as_str()?.to_string(),
                m.get("name")?.as_str()?.to_string(),
                m.pointer("/labels/kyuubi-unique-tag")?
                    .as_str()?
                    .to_string(),
            ))
        })
        .collect();
    pods.sort();
    let finishers: Vec<(String, String, String)> = pods.iter().take(a.finishers).cloned().collect();
    if !store.exists() {
        let tmp = store.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let store_gen = std::env::current_exe()?
            .parent()
            .ok_or("no bin dir")?
            .join("store-gen");
        let status = Command::new(store_gen)
            .arg(&seed)
            .arg(&tmp)
            .args(["--rows", &a.pods.to_string()])
            .status()?;
        if !status.success() {
            return Err("store-gen failed".into());
        }
        let conn = rusqlite::Connection::open(&tmp)?;
        let end = (Timestamp::now() - SignedDuration::from_hours(1)).as_millisecond();
        let tx = conn.unchecked_transaction()?;
        for (_, _, tag) in &finishers {
            tx.execute(
                "UPDATE metadata SET state = 'FINISHED', engine_state = 'FINISHED', \
                 end_time = ?1 WHERE identifier = ?2",
                rusqlite::params![end, tag],
            )?;
        }
        tx.commit()?;
        drop(conn);
        std::fs::rename(&tmp, &store)?;
    }
    let retain = format!("{}s", a.retain);
    let flags = ["--retain", retain.as_str()];

    // Baseline: the same store, no pods.
    let empty = runtime.block_on(TestApiServer::start(ServerConfig::default()))?;
    let empty_kubeconfig = a.work.join("watch-kubeconfig-empty");
    empty.write_kubeconfig(&empty_kubeconfig, &KubeconfigOptions::default())?;
    let base = Watch::start(&a.reaper, &empty_kubeconfig, &store, &flags);
    base.wait_ready(Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    let baseline = base.rss();
    base.stop();
    drop(empty);

    // The N pods.
    let audit = a.work.join("watch-audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    let audit_flag = audit.display().to_string();
    let mut main_flags: Vec<&str> = flags.to_vec();
    main_flags.extend(["--audit-log", &audit_flag]);
    let started = Instant::now();
    let watch = Watch::start(&a.reaper, &kubeconfig, &store, &main_flags);
    let to_ready = watch.wait_ready(Duration::from_secs(600));
    let _ = started;
    std::thread::sleep(Duration::from_secs(10));
    let rss_ready = watch.rss();
    let hz = clock_ticks_per_second();
    let cpu0 = watch.cpu_ticks();
    let idle_start = Instant::now();
    std::thread::sleep(Duration::from_secs(a.idle));
    let cpu1 = watch.cpu_ticks();
    let idle_wall = idle_start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let idle_cpu = (cpu1 - cpu0) as f64 / hz / idle_wall * 100.0;
    let rss_idle = watch.rss();

    // The finishers terminate, one every 100 ms.
    let mut retain_ends = std::collections::HashMap::new();
    for (ns, name, _) in &finishers {
        let now = server.now();
        server.terminate_pod(ns, name, true, now)?;
        let written = Timestamp::from_second(now.as_second())?;
        retain_ends.insert(
            name.clone(),
            written + SignedDuration::from_secs(i64::try_from(a.retain)?),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let wait_start = Instant::now();
    let mut delays: Vec<f64> = Vec::new();
    while wait_start.elapsed() < Duration::from_secs(120) {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        delays = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["outcome"] == "deleted")
            .filter_map(|v| {
                let at: Timestamp = v["time"].as_str()?.parse().ok()?;
                let end = retain_ends.get(v["pod"].as_str()?)?;
                Some(at.duration_since(*end).as_secs_f64())
            })
            .collect();
        if delays.len() >= finishers.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let rss_after = watch.rss();
    let stopped = watch.stop();
    delays.sort_by(f64::total_cmp);
    let wrong: usize = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .filter(|r| {
            !finishers
                .iter()
                .any(|(ns, name, _)| r.path == format!("/api/v1/namespaces/{ns}/pods/{name}"))
        })
        .count();

    // The alternative: one scan of the same pods and state (a CronJob reap pays this per run).
    let scan = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M"])
        .arg(&a.reaper)
        .args(["scan", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--store")
        .arg(&store)
        .args(["-A", "-o", "name", "-q"])
        .args(flags)
        .env_remove("KUBECONFIG")
        .stdout(Stdio::null())
        .output()?;
    let scan_stats = String::from_utf8_lossy(&scan.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();

    #[allow(clippy::cast_precision_loss)]
    let per_pod = (rss_idle.saturating_sub(baseline)) as f64 / a.pods as f64;
    println!(
        "watch-bench: {} candidate pods, {} finishers, retain {}s",
        a.pods, a.finishers, a.retain
    );
    println!(
        "  ready after           {:.2} s (first list of every pod and the state read)",
        to_ready.as_secs_f64()
    );
    println!(
        "  baseline RSS          {:.1} MB (no pods)",
        baseline as f64 / 1e6
    );
    println!("  RSS ready             {:.1} MB", rss_ready as f64 / 1e6);
    println!(
        "  RSS idle              {:.1} MB  -> {per_pod:.0} bytes per candidate pod above the baseline",
        rss_idle as f64 / 1e6
    );
    println!("  RSS after deletes     {:.1} MB", rss_after as f64 / 1e6);
    println!("  idle CPU              {idle_cpu:.3} % of one core over {idle_wall:.0} s");
    println!(
        "  delay retain end -> DELETE answered: n={} p50 {:.3} s, p99 {:.3} s, max {:.3} s, min {:.3} s",
        delays.len(),
        percentile(&delays, 50.0),
        percentile(&delays, 99.0),
        delays.last().copied().unwrap_or(f64::NAN),
        delays.first().copied().unwrap_or(f64::NAN),
    );
    println!("  DELETEs of pods that were not finishers: {wrong}");
    println!("  watch exit code on SIGTERM: {stopped}");
    println!("  one scan of the same pods (wall s, user s, sys s, max RSS kB): {scan_stats}");
    drop(server);
    Ok(())
}
