//! Loads one snapshot with the Kyuubi engine-space filter and reports time and throughput.
//!
//! Usage: `zk-bench <snapshot file or data dir> [--mode read|load|full] [--ns kyuubi]
//! [--no-digest] [--keep-all | --keep-none]`
//!
//! Modes: `read` = `snapshot::read_snapshot_file` only (the streaming reader); `load` =
//! `datadir::load` (reader + `ZkState` with its `BTreeMap`); `full` (default) = `load`, then
//! `parse_registration` and `is_alive` on every kept node.
//! Prints one line: wall time, uncompressed bytes, MB/s (uncompressed bytes / wall time), node
//! counts. Run it under `/usr/bin/time -v` for the peak RSS (see `bench/run.sh`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use kyuubi_reaper::state::zk::Liveness;
use kyuubi_reaper::state::zk::datadir::{LoadOptions, load};
use kyuubi_reaper::state::zk::registration::{engine_space_filter, parse_registration};
use kyuubi_reaper::state::zk::snapshot::{
    SnapshotOptions, keep_all, keep_none, read_snapshot_file,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().expect(
        "usage: zk-bench <file|dir> [--mode read|load|full] [--ns NS] [--no-digest] [--keep-all|--keep-none]",
    ));
    let mut ns = "kyuubi".to_string();
    let mut mode = "full".to_string();
    let mut compute_digest = true;
    let mut keep = "filter";
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ns" => ns = args.next().unwrap(),
            "--mode" => mode = args.next().unwrap(),
            "--no-digest" => compute_digest = false,
            "--keep-all" => keep = "all",
            "--keep-none" => keep = "none",
            _ => panic!("unknown argument {a}"),
        }
    }
    let snapshot = SnapshotOptions {
        compute_digest,
        ..SnapshotOptions::default()
    };
    let opts = LoadOptions {
        snapshot,
        ..LoadOptions::default()
    };
    let ns_filter = engine_space_filter(&ns);
    let filter: &dyn Fn(&[u8]) -> bool = match keep {
        "all" => &keep_all,
        "none" => &keep_none,
        _ => &ns_filter,
    };
    let started = Instant::now();
    // Results stay alive until after the report, so freeing them is not timed.
    let mut snapshot_kept = None;
    let mut state_kept = None;
    let (bytes, compression, nodes, kept, extra) = if mode == "read" {
        let s = read_snapshot_file(&path, filter, &snapshot).unwrap_or_else(|e| panic!("{e}"));
        let extra = format!(
            "sessions={} digest_matches={:?}",
            s.sessions.len(),
            s.info.digest_matches()
        );
        let r = (
            s.info.stream_len,
            s.info.compression,
            s.info.node_count,
            s.nodes.len(),
            extra,
        );
        snapshot_kept = Some(s);
        r
    } else {
        let state = load(&path, filter, &opts).unwrap_or_else(|e| panic!("{e}"));
        let loaded = started.elapsed().as_secs_f64();
        let mut extra = format!(
            "sessions={} digest_matches={:?} load_s={loaded:.3}",
            state.sessions.len(),
            state.snapshot.digest_matches()
        );
        if mode == "full" {
            let (mut regs, mut alive) = (0, 0);
            for (p, n) in &state.nodes {
                if parse_registration(p, Some(&ns)).is_ok() {
                    regs += 1;
                    if matches!(state.is_alive(n), Liveness::Alive { .. }) {
                        alive += 1;
                    }
                }
            }
            let parse = started.elapsed().as_secs_f64() - loaded;
            let _ = write!(
                extra,
                " registrations={regs} alive={alive} parse_s={parse:.3}"
            );
        }
        let s = &state.snapshot;
        let r = (
            s.stream_len,
            s.compression,
            s.node_count,
            state.nodes.len(),
            extra,
        );
        state_kept = Some(state);
        r
    };
    let wall = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let mbps = bytes as f64 / 1e6 / wall;
    println!(
        "mode={mode} keep={keep} compression={compression:?} bytes={bytes} wall_s={wall:.3} \
         mb_per_s={mbps:.0} nodes={nodes} kept={kept} {extra}"
    );
    drop((snapshot_kept, state_kept));
}
