//! Damaged or surprising metadata stores: truncated files, rows without identifier or state,
//! hot journals, WAL-mode stores. Whatever the damage, a pod whose engine might be alive is never
//! an orphan: the run fails (exit 2) or judges it as on the intact store.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rusqlite::Connection;
use serde_json::Value;

use crate::harness::{Outcome, reaper};
use crate::world::{
    Batch, EngineInfo, Layout, Store, ago, batch, dir_snapshot, driver, insert_batch, set_mtime,
    verdicts, write_pods,
};

const LAYOUTS: [Layout; 4] = [Layout::V1_7, Layout::V1_8, Layout::V1_11, Layout::Minimal];

fn scan(store: &Path, pods: &Path) -> Outcome {
    reaper([
        "scan".as_ref(),
        "-o".as_ref(),
        "json".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--pods".as_ref(),
        pods.as_os_str(),
    ])
    .run()
}

/// Asserts an input error naming `store` and containing each of `problems`, with nothing on
/// stdout (so nothing reported orphan).
#[track_caller]
fn refused(out: Outcome, store: &Path, problems: &[&str]) {
    let out = out.code(2);
    assert!(out.stdout.is_empty(), "stdout: {}", out.stdout);
    let expected = format!("error: cannot load metadata store {}: ", store.display());
    assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
    for problem in problems {
        assert!(
            out.stderr.contains(problem),
            "{problem:?} in {}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

fn page_size(file: &Path) -> usize {
    let bytes = std::fs::read(file).unwrap();
    match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => usize::from(n),
    }
}

fn pod_verdict(report: &Value, tag: &str) -> (String, String) {
    let name = format!("kyuubi-job-{tag}-driver");
    verdicts(report)
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map_or_else(|| panic!("no pod {name} in report"), |(_, v, c)| (v, c))
}

/// A store of `layout` with 300 finished batches and, inserted last (so on the last pages), a
/// RUNNING batch `live`; the pods: `live`'s driver Succeeded (it ran a job, Kyuubi still owns the
/// batch) and one finished batch's driver.
fn store_with_live_batch_last(dir: &Path, layout: Layout) -> (PathBuf, PathBuf) {
    let mut store = Store::new(layout);
    for i in 0..300 {
        store = store.batch(batch(&format!("done-{i:04}"), "FINISHED", "etl"));
    }
    let store = store
        .batch(batch("live", "RUNNING", "etl"))
        .write(&dir.join("kyuubi_state_store.db"));
    let pods = write_pods(
        &dir.join("pods.json"),
        &[
            driver("etl", "live", "Succeeded", ago(300), Some(ago(200))),
            driver("etl", "done-0000", "Succeeded", ago(300), Some(ago(200))),
        ],
    );
    (store, pods)
}

/// A store cut mid-page (copied while Kyuubi wrote it): SQLite would read the lost part of the
/// last page as NULL rows, losing the RUNNING batch and making its pod an orphan.
#[test]
fn a_store_truncated_mid_page_is_refused() {
    for layout in LAYOUTS {
        let dir = tempfile::tempdir().unwrap();
        let (store, pods) = store_with_live_batch_last(dir.path(), layout);
        let intact = scan(&store, &pods).code(0).json();
        assert_eq!(
            pod_verdict(&intact, "live"),
            ("keep".into(), "batch-active".into())
        );
        let bytes = std::fs::read(&store).unwrap();
        let cut = bytes.len() - page_size(&store) / 2;
        std::fs::write(&store, &bytes[..cut]).unwrap();
        refused(scan(&store, &pods), &store, &["truncated mid-page"]);
    }
}

/// A store cut at a page boundary: the in-header page count says it is short.
#[test]
fn a_store_truncated_at_a_page_boundary_is_refused() {
    for layout in LAYOUTS {
        let dir = tempfile::tempdir().unwrap();
        let (store, pods) = store_with_live_batch_last(dir.path(), layout);
        let bytes = std::fs::read(&store).unwrap();
        let page = page_size(&store);
        let pages = bytes.len() / page;
        std::fs::write(&store, &bytes[..bytes.len() - page]).unwrap();
        let message = format!(
            "truncated: header says {pages} pages, file has {}",
            pages - 1
        );
        refused(scan(&store, &pods), &store, &[&message]);
    }
}

/// Rows without identifier or state cannot be skipped: they may be the live ones.
#[test]
fn rows_without_identifier_or_state_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(300), Some(ago(200)))],
    );
    // The Minimal layout has no NOT NULL constraints, so NULLs can be written.
    let cases: [(&str, &str, &str); 4] = [
        (
            "null-id.db",
            "(NULL, 'RUNNING')",
            "`metadata` row 3 has no identifier",
        ),
        (
            "empty-id.db",
            "('  ', 'RUNNING')",
            "`metadata` row 3 has no identifier",
        ),
        (
            "null-state.db",
            "('b', NULL)",
            "`metadata` row 3 has no state",
        ),
        (
            "empty-state.db",
            "('b', '')",
            "`metadata` row 3 has no state",
        ),
    ];
    for (file, row, message) in cases {
        let store = Store::new(Layout::Minimal)
            .batch(batch("a", "FINISHED", "etl"))
            .batch(batch("x", "FINISHED", "etl"))
            .write(&dir.path().join(file));
        let conn = Connection::open(&store).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO metadata(identifier, state) VALUES {row}"
        ))
        .unwrap();
        drop(conn);
        refused(scan(&store, &pods), &store, &[message, "damaged store"]);
    }
    // k8s_engine_info: identifier is NOT NULL in Kyuubi's schema, but may be empty.
    let store = Store::new(Layout::V1_11)
        .batch(batch("a", "FINISHED", "etl"))
        .engine_info(EngineInfo {
            tag: "i".into(),
            namespace: Some("etl".into()),
            pod_name: "p".into(),
            pod_state: "Running",
            engine_state: "RUNNING",
            updated: ago(10),
        })
        .engine_info(EngineInfo {
            tag: String::new(),
            namespace: Some("etl".into()),
            pod_name: "q".into(),
            pod_state: "Running",
            engine_state: "RUNNING",
            updated: ago(10),
        })
        .write(&dir.path().join("engine-info.db"));
    refused(
        scan(&store, &pods),
        &store,
        &["`k8s_engine_info` row 2 has no identifier"],
    );
}

/// A file holding only the header is a truncated store, not a foreign file; a damaged page
/// size says so.
#[test]
fn header_damage_gets_its_own_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pods = write_pods(
        &d.join("pods.json"),
        &[driver("etl", "a", "Succeeded", ago(300), Some(ago(200)))],
    );
    let good = Store::new(Layout::V1_8)
        .batch(batch("a", "RUNNING", "etl"))
        .write(&d.join("good.db"));
    let bytes = std::fs::read(&good).unwrap();
    let page = page_size(&good);
    std::fs::write(d.join("header-only.db"), &bytes[..100]).unwrap();
    std::fs::write(d.join("half-header.db"), &bytes[..50]).unwrap();
    std::fs::write(d.join("magic-only.db"), &bytes[..10]).unwrap();
    let mut bad_page = bytes.clone();
    bad_page[16..18].copy_from_slice(&768u16.to_be_bytes());
    std::fs::write(d.join("bad-page.db"), &bad_page).unwrap();
    let mut zero_page = bytes.clone();
    zero_page[16..18].copy_from_slice(&[0, 0]);
    std::fs::write(d.join("zero-page.db"), &zero_page).unwrap();
    let cases = [
        (
            "header-only.db",
            format!("truncated: 100 bytes, less than one page of {page} bytes"),
        ),
        (
            "half-header.db",
            "truncated: 50 bytes, shorter than the 100-byte SQLite header".to_string(),
        ),
        (
            "magic-only.db",
            "truncated: 10 bytes, shorter than the 100-byte SQLite header".to_string(),
        ),
        ("bad-page.db", "bad page size 768".to_string()),
        ("zero-page.db", "bad page size 0".to_string()),
    ];
    for (file, message) in cases {
        let path = d.join(file);
        let out = scan(&path, &pods);
        assert!(
            !out.stderr.contains("not an SQLite database"),
            "{file}: {}",
            out.stderr
        );
        refused(out, &path, &[&message]);
    }
}

/// Copies `files` (names in `from`) to `to`, keeping their modification times.
fn copy_files(from: &Path, to: &Path, files: &[&str]) {
    for name in files {
        let source = from.join(name);
        std::fs::copy(&source, to.join(name)).unwrap();
        let modified = std::fs::metadata(&source).unwrap().modified().unwrap();
        set_mtime(&to.join(name), modified);
    }
}

/// A real hot journal: a writer in `journal_mode=DELETE` with a tiny cache spills pages into the
/// database in the middle of a transaction; the database and its journal are copied while the
/// transaction is open (as a copy of a crashed Kyuubi's volume would hold them).
#[test]
fn a_hot_journal_is_reported_as_an_interrupted_write() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let copy = dir.path().join("copy");
    std::fs::create_dir(&live).unwrap();
    std::fs::create_dir(&copy).unwrap();
    let mut store = Store::new(Layout::V1_11);
    for i in 0..200 {
        store = store.batch(batch(&format!("done-{i:04}"), "FINISHED", "etl"));
    }
    let store = store.write(&live.join("s.db"));
    let kyuubi = Connection::open(&store).unwrap();
    kyuubi
        .execute_batch("PRAGMA journal_mode=DELETE; PRAGMA cache_size=2; BEGIN")
        .unwrap();
    for i in 0..500 {
        insert_batch(
            &kyuubi,
            Layout::V1_11,
            &batch(&format!("new-{i:04}"), "RUNNING", "etl"),
        );
    }
    let journal = live.join("s.db-journal");
    assert!(
        std::fs::metadata(&journal).unwrap().len() > 0,
        "the transaction is journalled"
    );
    copy_files(&live, &copy, &["s.db", "s.db-journal"]);
    kyuubi.execute_batch("ROLLBACK").unwrap();
    drop(kyuubi);

    let store = copy.join("s.db");
    let pods = write_pods(
        &dir.path().join("pods.json"),
        &[driver(
            "etl",
            "new-0001",
            "Succeeded",
            ago(300),
            Some(ago(200)),
        )],
    );
    let before = dir_snapshot(&copy);
    refused(
        scan(&store, &pods),
        &store,
        &["hot rollback journal", "interrupted", "retry"],
    );
    assert_eq!(dir_snapshot(&copy), before, "the journal is left alone");
}

/// Writes a WAL-mode store in `live` whose main file holds a finished batch `done`, and whose
/// WAL alone holds a RUNNING batch `live` and a finished batch `late`; returns the writer's
/// connection (Kyuubi, still running) and the pods (every driver Succeeded).
fn wal_world(dir: &Path, live: &Path, layout: Layout) -> (Connection, PathBuf) {
    let mut late = batch("late", "FINISHED", "etl");
    late.ended = Some(ago(100));
    let kyuubi = Store::new(layout)
        .batch(batch("done", "FINISHED", "etl"))
        .write_wal(&live.join("s.db"), &[batch("live", "RUNNING", "etl"), late]);
    let wal = std::fs::metadata(live.join("s.db-wal")).unwrap().len();
    assert!(wal > 32, "the WAL holds frames");
    let pods = write_pods(
        &dir.join("pods.json"),
        &["done", "live", "late"].map(|t| driver("etl", t, "Succeeded", ago(300), Some(ago(200)))),
    );
    (kyuubi, pods)
}

/// [`wal_world`] in `dir/live`, with `files` copied (modification times kept) into `dir/copy`:
/// both directories, the writer's connection and the pods.
fn copied_wal_world(
    dir: &Path,
    layout: Layout,
    files: &[&str],
) -> (PathBuf, PathBuf, Connection, PathBuf) {
    let (live, copy) = (dir.join("live"), dir.join("copy"));
    std::fs::create_dir(&live).unwrap();
    std::fs::create_dir(&copy).unwrap();
    let (kyuubi, pods) = wal_world(dir, &live, layout);
    copy_files(&live, &copy, files);
    (live, copy, kyuubi, pods)
}

/// The rows only in the WAL are seen: the RUNNING batch keeps its pod, the finished one is an
/// orphan like the one in the main file.
#[track_caller]
fn assert_wal_rows_seen(out: Outcome) {
    let report = out.code(0).json();
    assert_eq!(
        pod_verdict(&report, "live"),
        ("keep".into(), "batch-active".into())
    );
    assert_eq!(pod_verdict(&report, "late").0, "orphan");
    assert_eq!(pod_verdict(&report, "done").0, "orphan");
    assert_eq!(report["sources"][0]["batches"], 3);
}

/// A WAL store copied with its `-wal` but without `-shm`: read without creating anything.
#[test]
fn a_wal_store_without_shm_is_read_without_creating_one() {
    for layout in LAYOUTS {
        let dir = tempfile::tempdir().unwrap();
        let (_, copy, kyuubi, pods) = copied_wal_world(dir.path(), layout, &["s.db", "s.db-wal"]);
        drop(kyuubi);
        let before = dir_snapshot(&copy);
        assert_wal_rows_seen(scan(&copy.join("s.db"), &pods));
        assert_eq!(dir_snapshot(&copy), before, "{layout:?}: no -shm created");
    }
}

/// A WAL store with an existing `-shm` (copied from a running Kyuubi): the `-shm` is untouched.
#[test]
fn a_wal_store_with_shm_is_read_without_touching_it() {
    let dir = tempfile::tempdir().unwrap();
    let (live, copy, kyuubi, pods) =
        copied_wal_world(dir.path(), Layout::V1_11, &["s.db", "s.db-wal", "s.db-shm"]);
    let before = dir_snapshot(&copy);
    assert_wal_rows_seen(scan(&copy.join("s.db"), &pods));
    assert_eq!(dir_snapshot(&copy), before, "the -shm is untouched");

    // And in place, while Kyuubi holds the store open: the store, its WAL and its shared
    // memory are left as Kyuubi has them.
    let before = dir_snapshot(&live);
    assert_wal_rows_seen(scan(&live.join("s.db"), &pods));
    assert_eq!(dir_snapshot(&live), before, "Kyuubi's files are untouched");
    drop(kyuubi);
}

/// A WAL store in a read-only directory loads, and nothing in the directory changes.
#[test]
fn a_wal_store_in_a_read_only_directory_loads() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (_, copy, kyuubi, pods) = copied_wal_world(dir.path(), Layout::V1_8, &["s.db", "s.db-wal"]);
    drop(kyuubi);
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o555)).unwrap();
    // As root, permission bits do not stop writes, so the directory is not really read-only;
    // the stronger assertion, that nothing in it changes, holds either way.
    let writable = std::fs::write(copy.join("probe"), b"").is_ok();
    if writable {
        std::fs::remove_file(copy.join("probe")).unwrap();
    }
    let before = dir_snapshot(&copy);
    let out = scan(&copy.join("s.db"), &pods);
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_wal_rows_seen(out);
    assert_eq!(
        dir_snapshot(&copy),
        before,
        "nothing written beside the store"
    );
}

/// A WAL cut mid-frame is refused rather than read up to its last whole frame.
#[test]
fn a_wal_truncated_mid_frame_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, copy, kyuubi, pods) =
        copied_wal_world(dir.path(), Layout::V1_11, &["s.db", "s.db-wal"]);
    drop(kyuubi);
    let wal = copy.join("s.db-wal");
    let bytes = std::fs::read(&wal).unwrap();
    std::fs::write(&wal, &bytes[..bytes.len() - 100]).unwrap();
    let store = copy.join("s.db");
    refused(
        scan(&store, &pods),
        &store,
        &["write-ahead log", "truncated mid-frame"],
    );
}

const BATCH_STATES: [&str; 9] = [
    "INITIALIZED",
    "PENDING",
    "RUNNING",
    "FINISHED",
    "ERROR",
    "CANCELED",
    "TIMEOUT",
    "CLOSED",
    "UNKNOWN",
];
const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/// One generated batch: state, minutes since it ended (when terminal), its pod's phase, and
/// whether it has a pod at all.
type GenBatch = (usize, i64, usize, bool);

fn world_strategy() -> impl Strategy<Value = (usize, Vec<GenBatch>, f64)> {
    (
        0..LAYOUTS.len(),
        prop::collection::vec(
            (
                0..BATCH_STATES.len(),
                0i64..600,
                0..PHASES.len(),
                any::<bool>(),
            ),
            12..48,
        ),
        0.0..1.0f64,
    )
}

/// Verdict and class of every pod, by name.
fn verdict_map(report: &Value) -> std::collections::BTreeMap<String, (String, String)> {
    verdicts(report)
        .into_iter()
        .map(|(n, v, c)| (n, (v, c)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(200),
        ..ProptestConfig::default()
    })]

    /// Truncating a store anywhere either fails the run or leaves every kept pod kept (and no
    /// suspect becomes an orphan).
    #[test]
    fn a_store_truncated_anywhere_never_makes_a_kept_pod_an_orphan(
        (layout, gen_batches, cut) in world_strategy()
    ) {
        let layout = LAYOUTS[layout];
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::new(layout);
        let mut pods = Vec::new();
        for (i, &(state, ended, phase, has_pod)) in gen_batches.iter().enumerate() {
            let tag = format!("b{i:03}");
            let mut b: Batch = batch(&tag, BATCH_STATES[state], "etl");
            if b.ended.is_some() {
                b.ended = Some(ago(ended));
            }
            store = store.batch(b);
            if has_pod {
                let phase = PHASES[phase];
                let finished = matches!(phase, "Succeeded" | "Failed").then(|| ago(ended / 2));
                pods.push(driver("etl", &tag, phase, ago(3000), finished));
            }
        }
        if layout.has_engine_info() {
            store = store.engine_info(EngineInfo {
                tag: "interactive".into(),
                namespace: Some("etl".into()),
                pod_name: "kyuubi-job-interactive-driver".into(),
                pod_state: "Running",
                engine_state: "RUNNING",
                updated: ago(5),
            });
            pods.push(driver("etl", "interactive", "Succeeded", ago(3000), Some(ago(60))));
        }
        let intact = store.write(&dir.path().join("intact.db"));
        let pods = write_pods(&dir.path().join("pods.json"), &pods);
        let out = scan(&intact, &pods);
        prop_assert!(out.code == 0, "intact store: {}", out.stderr);
        let before = verdict_map(&out.json());

        let bytes = std::fs::read(&intact).unwrap();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let at = ((bytes.len() as f64) * cut) as usize;
        let cut_store = dir.path().join("cut.db");
        std::fs::write(&cut_store, &bytes[..at.min(bytes.len() - 1)]).unwrap();
        let out = scan(&cut_store, &pods);
        prop_assert!(
            matches!(out.code, 0 | 2 | 5),
            "cut at {at}: exit {}: {}", out.code, out.stderr
        );
        prop_assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        if out.code == 0 {
            let after = verdict_map(&out.json());
            for (pod, (verdict, class)) in &before {
                let now = &after[pod];
                match verdict.as_str() {
                    "keep" => prop_assert_eq!(
                        &now.0, "keep",
                        "cut at {}: {} was kept ({}), now {:?}", at, pod, class, now
                    ),
                    "suspect" => prop_assert_ne!(
                        &now.0, "orphan",
                        "cut at {}: {} was suspect ({}), now {:?}", at, pod, class, now
                    ),
                    _ => {}
                }
            }
        } else {
            prop_assert!(out.stdout.is_empty(), "{}", out.stdout);
        }
    }
}

/// A FIFO where SQLite would open a `-wal`, `-journal` or `-shm` file is refused before anything
/// opens it: opening it would block the run forever.
#[test]
fn a_fifo_beside_the_store_is_refused_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = Store::new(Layout::V1_8)
        .batch(batch("done", "FINISHED", "etl"))
        .write(&d.join("s.db"));
    let pods = write_pods(&d.join("pods.json"), &[]);
    for suffix in ["-wal", "-journal", "-shm"] {
        let fifo = d.join(format!("s.db{suffix}"));
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let out = reaper([
            "scan".as_ref(),
            "--store".as_ref(),
            store.as_os_str(),
            "--pods".as_ref(),
            pods.as_os_str(),
        ])
        .run_within(std::time::Duration::from_secs(30));
        refused(
            out,
            &store,
            &[&format!(
                "s.db{suffix} beside the store is not a regular file"
            )],
        );
        std::fs::remove_file(&fifo).unwrap();
    }
}

/// A store given through a symlink is read with the files beside its target, where SQLite
/// keeps them: a WAL next to the target is not missed (its rows are the newest ones).
#[test]
fn a_wal_store_given_through_a_symlink_is_read_with_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (_, copy, kyuubi, pods) =
        copied_wal_world(dir.path(), Layout::V1_11, &["s.db", "s.db-wal"]);
    drop(kyuubi);
    let link_dir = dir.path().join("link");
    std::fs::create_dir(&link_dir).unwrap();
    let link = link_dir.join("kyuubi_state_store.db");
    std::os::unix::fs::symlink(copy.join("s.db"), &link).unwrap();
    let before = dir_snapshot(&copy);
    assert_wal_rows_seen(scan(&link, &pods));
    assert_eq!(
        dir_snapshot(&copy),
        before,
        "nothing beside the target changes"
    );
    assert_eq!(
        std::fs::read_dir(&link_dir).unwrap().count(),
        1,
        "nothing beside the link either"
    );
}
