//! Damaged or surprising ZooKeeper data directories: a lost log, txns cut out of a log, FIFOs
//! with snapshot or log names, engine spaces only under another namespace. The rule checked
//! everywhere: damage may keep a pod or refuse the run (exit 2 or 5), never turn a pod that the
//! intact state keeps into an orphan.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::Value;

use crate::harness::{Outcome, reaper};
use crate::world::{driver, write_pods};
use crate::zk_tools::fixtures;
use kyuubi_reaper::state::zk::datadir::{LoadOptions, load};
use kyuubi_reaper::state::zk::jute::Limits;
use kyuubi_reaper::state::zk::snapshot::keep_all;
use kyuubi_reaper::state::zk::txnlog::read_txn_log;
use kyuubi_reaper::state::zk::writer::{
    SnapshotBuilder, SnapshotNode, TxnLogBuilder, op, rec, txn,
};
use kyuubi_reaper::state::zk::{ZkError, open};

const SPACE: &str = "/kyuubi_1.10.3_USER_SPARK_SQL";
const LEAF: &str = "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default";

/// Runs `scan` on a ZooKeeper path with rule 8 opted in, so that an unregistered running pod
/// is an orphan; gives up after 60 s instead of hanging the suite.
fn scan(zk: &Path, pods: &Path, extra: &[&str]) -> Outcome {
    let mut args: Vec<String> = [
        "scan",
        "-o",
        "json",
        "--include",
        "unregistered-running",
        "--max-state-age",
        "3650d",
        "--allow-empty-state",
        "--zk-snapshot",
    ]
    .map(String::from)
    .to_vec();
    args.push(zk.display().to_string());
    args.extend(["--pods".into(), pods.display().to_string()]);
    args.extend(extra.iter().map(|s| (*s).to_string()));
    reaper(args).run_within(Duration::from_secs(60))
}

/// Verdict by pod name.
fn verdicts(out: &Outcome) -> Vec<(String, String)> {
    crate::world::verdicts(&out.json())
        .into_iter()
        .map(|(name, verdict, _)| (name, verdict))
        .collect()
}

fn zk_source(out: &Outcome) -> Value {
    out.json()["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "zookeeper")
        .cloned()
        .unwrap()
}

/// Checks the safety rule between an intact run and a damaged one.
fn assert_no_new_orphans(intact: &[(String, String)], damaged: &Outcome) -> Result<(), String> {
    match damaged.code {
        2 | 5 => return Ok(()),
        0 => {}
        c => return Err(format!("exit {c}: {}", damaged.stderr)),
    }
    let after = verdicts(damaged);
    for (name, before) in intact {
        let now = after
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        if before == "keep" && now == Some("orphan") {
            return Err(format!("{name}: keep -> orphan\n{}", damaged.stderr));
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Generated worlds.

/// An engine of a generated world: its session registers it; `closed` sessions end later.
#[derive(Debug, Clone)]
struct World {
    closed: Vec<bool>,
    /// Where the txn sequence is split into log files (sorted, distinct, inside the sequence).
    cuts: Vec<usize>,
    base: Timestamp,
}

const SNAP_ZXID: i64 = 1;

fn session(i: usize) -> i64 {
    0x0100_0000_0000_0100 + i64::try_from(i).unwrap()
}

fn registration(i: usize) -> String {
    format!("{LEAF}/serverUri=10.0.0.{i}:40123;version=1.10.3;refId=eng-{i};sequence={i:010}")
}

impl World {
    fn time(&self, zxid: i64) -> i64 {
        self.base.as_millisecond() + zxid * 300_000
    }

    /// The txns after the snapshot, as (zxid, encoded txn).
    fn txns(&self) -> Vec<(i64, Vec<u8>)> {
        let mut bodies: Vec<(i64, i32, Vec<u8>)> = Vec::new();
        for i in 0..self.closed.len() {
            bodies.push((session(i), op::CREATE_SESSION, rec::create_session(30_000)));
            let path = registration(i);
            bodies.push((
                session(i),
                op::CREATE,
                rec::create(&path, Some(b"10.0.0.1:40123"), true, Some(1)),
            ));
        }
        for (i, &closed) in self.closed.iter().enumerate() {
            if closed {
                let path = registration(i);
                bodies.push((
                    session(i),
                    op::CLOSE_SESSION,
                    rec::close_session(Some(&[path.as_str()])),
                ));
            }
        }
        bodies
            .into_iter()
            .zip(SNAP_ZXID + 1..)
            .map(|((client, ty, body), z)| {
                (z, txn(client, z, self.time(z), ty, &body, Some((2, 0))))
            })
            .collect()
    }

    /// The zxid that registers engine `i`.
    fn registered_at(i: usize) -> i64 {
        SNAP_ZXID + 2 + 2 * i64::try_from(i).unwrap()
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut b = SnapshotBuilder::new();
        let t = self.time(SNAP_ZXID);
        for p in ["", SPACE, &format!("{SPACE}/alice"), LEAF] {
            b.node(&SnapshotNode {
                ctime: t,
                mtime: t,
                czxid: SNAP_ZXID,
                mzxid: SNAP_ZXID,
                ..SnapshotNode::new(p, Some(b""))
            });
        }
        b.build()
    }

    /// Writes the data dir with `txns` split at the world's cuts (empty logs left out).
    fn write(&self, dir: &Path, txns: &[(i64, Vec<u8>)]) -> Vec<PathBuf> {
        let v2 = dir.join("version-2");
        let _ = fs::remove_dir_all(&v2);
        fs::create_dir_all(&v2).unwrap();
        fs::write(v2.join(format!("snapshot.{SNAP_ZXID:x}")), self.snapshot()).unwrap();
        let all = self.txns();
        let mut bounds = vec![0];
        bounds.extend(&self.cuts);
        bounds.push(all.len());
        let mut files = Vec::new();
        for w in bounds.windows(2) {
            let zxids: Vec<i64> = all[w[0]..w[1]].iter().map(|t| t.0).collect();
            let mut log = TxnLogBuilder::new();
            let mut first = None;
            for (z, t) in txns.iter().filter(|(z, _)| zxids.contains(z)) {
                first.get_or_insert(*z);
                log.entry(t);
            }
            if let Some(first) = first {
                let path = v2.join(format!("log.{first:x}"));
                fs::write(&path, log.build()).unwrap();
                files.push(path);
            }
        }
        files
    }

    /// One Running driver per engine, created a minute before it registered.
    fn pods(&self, path: &Path) -> PathBuf {
        let pods: Vec<Value> = (0..self.closed.len())
            .map(|i| {
                let created = Timestamp::from_millisecond(self.time(Self::registered_at(i)))
                    .unwrap()
                    - SignedDuration::from_mins(1);
                driver("spark", &format!("eng-{i}"), "Running", created, None)
            })
            .collect();
        write_pods(path, &pods)
    }
}

fn world() -> impl Strategy<Value = World> {
    proptest::collection::vec(any::<bool>(), 1..6).prop_flat_map(|closed| {
        let n = closed.len() * 2 + closed.iter().filter(|&&c| c).count();
        (
            Just(closed),
            proptest::collection::btree_set(1..n, 0..4.min(n - 1)),
        )
            .prop_map(|(closed, cuts)| World {
                closed,
                cuts: cuts.into_iter().collect(),
                base: Timestamp::now() - SignedDuration::from_hours(3),
            })
    })
}

/// Damage to a world: drop one log file, or cut one contiguous txn range out of the logs.
#[derive(Debug, Clone)]
enum Damage {
    DropLog(usize),
    Cut { start: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0..8usize).prop_map(Damage::DropLog),
        (0..20usize, 1..6usize).prop_map(|(start, len)| Damage::Cut { start, len }),
    ]
}

fn check_world(w: &World, d: &Damage) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let pods = w.pods(&dir.path().join("pods.json"));
    let data = dir.path().join("zk");
    let all = w.txns();
    let files = w.write(&data, &all);
    let intact = scan(&data, &pods, &[]);
    prop_assert_eq!(intact.code, 0, "{}", intact.stderr);
    let intact_verdicts = verdicts(&intact);
    for (i, &closed) in w.closed.iter().enumerate() {
        let name = format!("kyuubi-job-eng-{i}-driver");
        let v = intact_verdicts.iter().find(|(n, _)| *n == name).unwrap();
        prop_assert_eq!(v.1 == "keep", !closed, "{:?}", v);
    }
    // Whether txns remain after the removed ones: then the chain has a gap and must be refused.
    let gap = match *d {
        Damage::DropLog(k) => {
            let k = k % files.len();
            fs::remove_file(&files[k]).unwrap();
            k + 1 < files.len()
        }
        Damage::Cut { start, len } => {
            let start = start % all.len();
            let end = (start + len).min(all.len());
            let kept: Vec<(i64, Vec<u8>)> =
                all[..start].iter().chain(&all[end..]).cloned().collect();
            w.write(&data, &kept);
            end < all.len()
        }
    };
    let damaged = scan(&data, &pods, &[]);
    assert_no_new_orphans(&intact_verdicts, &damaged).map_err(TestCaseError::fail)?;
    if gap {
        prop_assert_eq!(damaged.code, 2, "a gap must be refused: {}", damaged.stderr);
        prop_assert!(damaged.stderr.contains("have a gap"), "{}", damaged.stderr);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaging_generated_logs_never_turns_a_kept_pod_into_an_orphan(w in world(), d in damage()) {
        check_world(&w, &d)?;
    }
}

// ------------------------------------------------------------------------------------------
// Real ZooKeeper 3.8 files.

/// A data dir of fixture files.
fn fixture_dir(files: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let v2 = d.path().join("zk/version-2");
    fs::create_dir_all(&v2).unwrap();
    for f in files {
        fs::copy(fixtures().join(f), v2.join(f)).unwrap();
    }
    d
}

/// One Running driver per registration of the fixtures' state at 0x49, created a minute before
/// the registration.
fn fixture_pods(dir: &Path) -> PathBuf {
    let d = fixture_dir(&["snapshot.48", "log.38"]);
    let s = load(&d.path().join("zk"), &keep_all, &LoadOptions::default()).unwrap();
    let pods: Vec<Value> = s
        .nodes
        .iter()
        .filter_map(|(p, n)| {
            let start = p.rfind("refId=")? + "refId=".len();
            let tag = p[start..].split(';').next()?;
            let created =
                Timestamp::from_millisecond(n.ctime).unwrap() - SignedDuration::from_mins(1);
            Some(driver("spark", tag, "Running", created, None))
        })
        .collect();
    assert!(pods.len() >= 2, "the fixtures hold registrations");
    write_pods(&dir.join("pods.json"), &pods)
}

#[test]
fn a_gap_in_real_logs_is_refused_naming_files_and_range() {
    // log.1 ends at 0x14, log.38 starts at 0x38: 0x15..=0x37 were never copied.
    let d = fixture_dir(&["snapshot.0", "log.1", "log.38"]);
    let pods = fixture_pods(d.path());
    let out = scan(&d.path().join("zk"), &pods, &[]).code(2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr
            .contains("have a gap: txns 0x15..=0x37 are missing"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("log.1 (last txn 0x14)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("log.38 (next txn 0x38"),
        "{}",
        out.stderr
    );
    // The same directory with snapshot.37 added: its chain (log.38) is complete.
    fs::copy(
        fixtures().join("snapshot.37"),
        d.path().join("zk/version-2/snapshot.37"),
    )
    .unwrap();
    let out = scan(&d.path().join("zk"), &pods, &[]).code(0);
    let source = zk_source(&out);
    assert!(
        source["layout"]
            .as_str()
            .unwrap()
            .contains("snapshot zxid 0x37"),
        "{source}"
    );
}

#[test]
fn dropping_or_cutting_real_logs_never_makes_an_orphan() {
    // snapshot.37 + log.38 is a complete chain 0x38..=0x49 written by a real server.
    let base = fixture_dir(&["snapshot.37", "log.38"]);
    let pods = fixture_pods(base.path());
    let data = base.path().join("zk");
    let intact = scan(&data, &pods, &[]).code(0);
    let intact_verdicts = verdicts(&intact);
    assert!(
        intact_verdicts.iter().any(|(_, v)| v == "keep"),
        "{intact_verdicts:?}"
    );
    let log = data.join("version-2/log.38");
    let bytes = fs::read(&log).unwrap();
    let txns = read_txn_log(&log, &Limits::default()).unwrap().txns;
    let entry = |i: usize| {
        let at = usize::try_from(txns[i].offset).unwrap();
        let len = u32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        &bytes[at..=at + 12 + len]
    };
    let n = txns.len();
    for start in 0..n {
        for end in start + 1..=n.min(start + 4) {
            let mut cut = bytes[..16].to_vec();
            for i in (0..start).chain(end..n) {
                cut.extend_from_slice(entry(i));
            }
            fs::write(&log, &cut).unwrap();
            let damaged = scan(&data, &pods, &[]);
            assert_no_new_orphans(&intact_verdicts, &damaged)
                .unwrap_or_else(|e| panic!("cut {start}..{end}: {e}"));
            if end < n {
                assert_eq!(damaged.code, 2, "cut {start}..{end}: {}", damaged.stderr);
            }
        }
    }
    // Dropping the only log leaves the snapshot: older, never more orphans.
    fs::remove_file(&log).unwrap();
    let damaged = scan(&data, &pods, &[]);
    assert_no_new_orphans(&intact_verdicts, &damaged).unwrap();
}

#[test]
fn an_older_snapshot_with_a_complete_chain_is_used_and_its_as_of_reported() {
    // A generated world whose newer snapshot (0x4) needs txn 0x5, which the log named `log.3`
    // does not hold (its first txn is 0x6; `log.2` holds 0x2..=0x5). Only snapshot.1 gives a
    // complete chain.
    let w = World {
        closed: vec![false, false, false],
        cuts: vec![],
        base: Timestamp::now() - SignedDuration::from_hours(3),
    };
    let dir = tempfile::tempdir().unwrap();
    let pods = w.pods(&dir.path().join("pods.json"));
    let data = dir.path().join("zk");
    let all = w.txns();
    w.write(&data, &all);
    let v2 = data.join("version-2");
    for f in fs::read_dir(&v2).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().unwrap().to_str().unwrap().starts_with("log.") {
            fs::remove_file(p).unwrap();
        }
    }
    let log = |txns: &[(i64, Vec<u8>)]| {
        let mut b = TxnLogBuilder::new();
        for (_, t) in txns {
            b.entry(t);
        }
        b.build()
    };
    fs::write(v2.join("log.2"), log(&all[..4])).unwrap(); // 0x2..=0x5
    fs::write(v2.join("log.3"), log(&all[4..])).unwrap(); // misnamed: holds 0x6..=0x7
    fs::write(v2.join("snapshot.4"), w.snapshot()).unwrap();
    let out = scan(&data, &pods, &["-v"]).code(0);
    assert!(
        verdicts(&out).iter().all(|(_, v)| v == "keep"),
        "{}",
        out.stdout
    );
    let source = zk_source(&out);
    assert!(
        source["layout"]
            .as_str()
            .unwrap()
            .contains("snapshot zxid 0x1"),
        "{source}"
    );
    let last = all.last().unwrap().0;
    let as_of = Timestamp::from_millisecond(w.time(last)).unwrap();
    assert_eq!(
        source["as_of"].as_str().unwrap(),
        as_of.to_string(),
        "{source}"
    );
    assert!(
        out.stderr
            .contains("snapshot.4: valid, but the transaction logs after it have a gap"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg(unix)]
fn fifos_named_like_snapshots_or_logs_do_not_block_the_scan() {
    let w = World {
        closed: vec![false, true],
        cuts: vec![2],
        base: Timestamp::now() - SignedDuration::from_hours(3),
    };
    let dir = tempfile::tempdir().unwrap();
    let pods = w.pods(&dir.path().join("pods.json"));
    let data = dir.path().join("zk");
    w.write(&data, &w.txns());
    let v2 = data.join("version-2");
    for name in ["snapshot.ff", "log.ff"] {
        let ok = std::process::Command::new("mkfifo")
            .arg(v2.join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    let out = scan(&data, &pods, &[]).code(0);
    assert!(
        out.stderr.contains("snapshot.ff: skipped, it is a FIFO"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("log.ff: skipped, it is a FIFO"),
        "{}",
        out.stderr
    );
    // A FIFO named directly is a clear error.
    let out = scan(&v2.join("snapshot.ff"), &pods, &[]).code(2);
    assert!(
        out.stderr.contains("is a FIFO, not a regular file"),
        "{}",
        out.stderr
    );
}

#[test]
fn engine_spaces_of_other_namespaces_are_listed_but_do_not_match() {
    // The fixtures' spaces are /kyuubi_1.9.0_{USER,GROUP}_SPARK_SQL and ..._CONNECTION_FLINK_SQL.
    let fixtures_dir = fixture_dir(&["snapshot.92"]);
    let path = fixtures_dir.path().join("zk");
    let z = open(&path, None, &["other".into()], None).unwrap();
    assert_eq!(z.matching_engine_spaces(), 0);
    assert_eq!(
        z.engine_spaces(),
        [
            "/kyuubi_1.9.0_CONNECTION_FLINK_SQL",
            "/kyuubi_1.9.0_GROUP_SPARK_SQL",
            "/kyuubi_1.9.0_USER_SPARK_SQL",
        ]
    );
    let z = open(&path, None, &["kyuubi".into()], None).unwrap();
    assert_eq!(z.matching_engine_spaces(), 3);

    // Spaces under a chroot only: `kyuubi` matches none, `chroot/kyuubi` matches; a space
    // created by a replayed txn counts.
    let d = tempfile::tempdir().unwrap();
    let v2 = d.path().join("version-2");
    fs::create_dir(&v2).unwrap();
    let mut b = SnapshotBuilder::new();
    for p in [
        "",
        "/chroot",
        "/chroot/kyuubi_1.10.3_USER_SPARK_SQL",
        "/zookeeper",
    ] {
        b.node(&SnapshotNode::new(p, Some(b"")));
    }
    fs::write(v2.join("snapshot.1"), b.build()).unwrap();
    let mut log = TxnLogBuilder::new();
    log.entry(&txn(
        1,
        2,
        1000,
        op::CREATE,
        &rec::create(
            "/chroot/kyuubi_1.10.3_CONNECTION_TRINO",
            None,
            false,
            Some(1),
        ),
        None,
    ));
    fs::write(v2.join("log.2"), log.build()).unwrap();
    let z = open(d.path(), None, &["kyuubi".into()], None).unwrap();
    assert_eq!(z.matching_engine_spaces(), 0);
    assert_eq!(
        z.engine_spaces(),
        [
            "/chroot/kyuubi_1.10.3_CONNECTION_TRINO",
            "/chroot/kyuubi_1.10.3_USER_SPARK_SQL"
        ]
    );
    let z = open(d.path(), None, &["chroot/kyuubi".into()], None).unwrap();
    assert_eq!(z.matching_engine_spaces(), 2);

    // Bounded: many spaces are counted, only the first 50 paths kept.
    let d = tempfile::tempdir().unwrap();
    let mut b = SnapshotBuilder::new();
    b.node(&SnapshotNode::new("", Some(b"")));
    let names: Vec<String> = (0..80)
        .map(|i| format!("/ns{i:03}_1.9.0_USER_SPARK_SQL"))
        .collect();
    for n in &names {
        b.node(&SnapshotNode::new(n, Some(b"")));
    }
    let snap = d.path().join("snapshot.1");
    fs::write(&snap, b.build()).unwrap();
    let z = open(&snap, None, &["kyuubi".into()], None).unwrap();
    assert_eq!(z.engine_spaces().len(), 50);
    assert_eq!(z.engine_spaces_seen(), 80);
    assert_eq!(z.engine_spaces()[0], names[0]);
    assert_eq!(z.engine_spaces()[49], names[49]);
    assert!(matches!(
        open(&d.path().join("nope"), None, &[], None),
        Err(ZkError::Open { .. })
    ));
}
