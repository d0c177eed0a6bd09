//! Tests against files written by a real ZooKeeper 3.8.0 server (tests/data/zk-3.8.0).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::zk_tools::{assert_matches_formatter, fixtures, java_date, snapshot_formatter};
use kyuubi_reaper::state::zk::datadir::{LoadOptions, load};
use kyuubi_reaper::state::zk::jute::Limits;
use kyuubi_reaper::state::zk::registration::{engine_space_filter, parse_registration};
use kyuubi_reaper::state::zk::snapshot::{
    Compression, Layout, Sessions, Snapshot, SnapshotOptions, keep_all, read_snapshot_file,
    read_snapshot_from,
};
use kyuubi_reaper::state::zk::txnlog::{LogEnd, TxnLogReader, TxnRecord, read_txn_log};
use kyuubi_reaper::state::zk::{Owner, ZkError, ZkState};

const SNAPSHOTS: [&str; 7] = [
    "snapshot.0",
    "snapshot.37",
    "snapshot.48",
    "snapshot.84",
    "snapshot.8b.gz",
    "snapshot.8b.snappy",
    "snapshot.92",
];
const LOGS: [&str; 4] = ["log.1", "log.38", "log.86", "log.8c"];

fn read(name: &str) -> Snapshot {
    read_snapshot_file(
        &fixtures().join(name),
        &keep_all,
        &SnapshotOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn java_date_matches_known_values() {
    assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(java_date(1_795_800_956_000), "Fri Nov 27 17:35:56 UTC 2026");
    assert_eq!(java_date(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
    assert_eq!(java_date(-1000), "Wed Dec 31 23:59:59 UTC 1969");
}

#[test]
fn every_fixture_snapshot_matches_snapshot_formatter() {
    for name in SNAPSHOTS {
        let snap = read(name);
        let f = snapshot_formatter(&fixtures().join(name));
        assert_matches_formatter(&snap, &f);
        assert_eq!(
            snap.info.layout,
            Layout::Digest,
            "{name}: 3.8 writes the digest"
        );
        assert_eq!(snap.info.header.dbid, -1);
        let digest = snap.info.digest.unwrap();
        if digest.zxid == 0 {
            // The "empty digest" a server writes when it has processed nothing since loading.
            assert_eq!(snap.info.digest_matches(), None, "{name}: empty digest");
        } else {
            // A server at rest writes an exact image: the recomputed digest must match.
            assert_eq!(snap.info.digest_matches(), Some(true), "{name}: digest");
        }
    }
}

#[test]
fn fixture_details() {
    let s0 = read("snapshot.0");
    assert_eq!(s0.info.stream_len, 457);
    assert_eq!(s0.info.digest.unwrap().zxid, 0, "empty digest");
    assert_eq!(s0.info.digest_matches(), None);
    let paths: Vec<&str> = s0.nodes.iter().map(|(p, _)| &**p).collect();
    assert_eq!(
        paths,
        ["", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
    );
    assert_eq!(s0.info.acl_count, 1);

    let s = read("snapshot.37");
    let by_path: HashMap<&str, &kyuubi_reaper::state::zk::snapshot::Node> =
        s.nodes.iter().map(|(p, n)| (&**p, n)).collect();
    assert_eq!(by_path["/kyuubi_1.9.0_USER_SPARK_SQL/nulldata"].data, None);
    assert_eq!(
        by_path["/kyuubi_1.9.0_USER_SPARK_SQL/secret"]
            .data
            .as_deref(),
        Some(&b"s3cr3t"[..])
    );
    let uni = "/kyuubi_1.9.0_USER_SPARK_SQL/unicodé-☃";
    assert_eq!(by_path[uni].data.as_deref(), Some("välue-☃".as_bytes()));
    assert_eq!(s.info.zxid, Some(0x37));
    assert_eq!(s.sessions.len(), 2);

    // The .gz and .snappy files hold the same state.
    let gz = read("snapshot.8b.gz");
    let sn = read("snapshot.8b.snappy");
    assert_eq!(gz.info.compression, Compression::Gzip);
    assert_eq!(sn.info.compression, Compression::Snappy);
    assert_eq!(gz.nodes, sn.nodes);
    assert_eq!(gz.sessions, sn.sessions);
    assert_eq!(gz.info.stream_len, sn.info.stream_len);
}

#[test]
fn fixture_registrations_parse_in_the_old_style() {
    let s = read("snapshot.48");
    let filter = engine_space_filter("kyuubi");
    let kept = read_snapshot_file(
        &fixtures().join("snapshot.48"),
        &filter,
        &SnapshotOptions::default(),
    )
    .unwrap();
    assert!(kept.nodes.len() < s.nodes.len());
    assert!(
        kept.nodes
            .iter()
            .all(|(p, _)| p.starts_with("/kyuubi_1.9.0_"))
    );
    assert!(!kept.nodes.iter().any(|(p, _)| &**p == "/kyuubi"));
    let regs: Vec<_> = kept
        .nodes
        .iter()
        .filter_map(|(p, _)| parse_registration(p, Some("kyuubi")).ok())
        .collect();
    assert_eq!(regs.len(), 4, "{regs:#?}");
    for r in &regs {
        assert_eq!(
            r.uri_key,
            Some(kyuubi_reaper::state::zk::registration::UriKey::ServiceUri)
        );
        assert_eq!(r.kyuubi_version, "1.9.0");
        assert!(r.host_port.as_deref().unwrap().starts_with("10.0.0."));
    }
    let eph = regs
        .iter()
        .filter(|r| {
            let (_, n) = kept.nodes.iter().find(|(p, _)| **p == *r.path).unwrap();
            matches!(Owner::from_raw(n.ephemeral_owner), Owner::Session(_))
        })
        .count();
    assert_eq!(eph, 3, "three live ephemeral registrations in snapshot.48");
}

#[test]
fn every_fixture_log_reads_to_a_clean_end() {
    let mut total = 0;
    for name in LOGS {
        let log = read_txn_log(&fixtures().join(name), &Limits::default()).unwrap();
        let len = fs::metadata(fixtures().join(name)).unwrap().len();
        assert_eq!(log.end, LogEnd::Eof { offset: len }, "{name}");
        assert_eq!(log.header.dbid, 0);
        let first = kyuubi_reaper::state::zk::txnlog::parse_log_file_name(name).unwrap();
        assert_eq!(log.txns[0].header.zxid, first, "{name}: first zxid = name");
        for w in log.txns.windows(2) {
            assert_eq!(w[1].header.zxid, w[0].header.zxid + 1, "{name}: contiguous");
        }
        assert!(
            log.txns.iter().all(|t| t.digest.is_some()),
            "{name}: 3.8 appends TxnDigest"
        );
        total += log.txns.len();
    }
    assert_eq!(total, 20 + 18 + 6 + 7, "counts as printed by TxnLogToolkit");
    let log = read_txn_log(&fixtures().join("log.8c"), &Limits::default()).unwrap();
    let TxnRecord::Multi(subs) = &log.txns[6].record else {
        panic!("{:?}", log.txns[6])
    };
    assert_eq!(subs.len(), 3);
    let log1 = read_txn_log(&fixtures().join("log.1"), &Limits::default()).unwrap();
    let close = &log1.txns[18];
    assert!(
        matches!(&close.record, TxnRecord::CloseSession { paths_to_delete: Some(p) } if p.len() == 1)
    );
}

fn data_dir(snapshots: &[&str], logs: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let v2 = d.path().join("version-2");
    fs::create_dir(&v2).unwrap();
    for f in snapshots.iter().chain(logs) {
        fs::copy(fixtures().join(f), v2.join(f)).unwrap();
    }
    d
}

/// Asserts a replayed state equals a snapshot read in full: paths, data, owners, zxids, times,
/// sessions.
fn assert_state_equals_snapshot(state: &ZkState, snap: &Snapshot) {
    let expect: std::collections::BTreeMap<
        std::sync::Arc<str>,
        kyuubi_reaper::state::zk::snapshot::Node,
    > = snap.nodes.iter().cloned().collect();
    let mut got: Vec<&str> = state.nodes.keys().map(|p| &**p).collect();
    got.sort_unstable();
    let want: Vec<&str> = expect.keys().map(|p| &**p).collect();
    assert_eq!(got, want, "paths");
    for (p, n) in &expect {
        assert_eq!(&state.nodes[&**p], n, "node {p}");
    }
    assert_eq!(state.sessions, snap.sessions, "sessions");
}

#[test]
fn replay_from_snapshot_84_is_refused_because_0x85_is_missing() {
    // The fixtures lack the log holding 0x4a..=0x85, so 0x85 (a setData of /kyuubi) is
    // missing after snapshot.84: the chain breaks, and no older snapshot can bridge it.
    let d = data_dir(&["snapshot.84", "snapshot.48"], &LOGS);
    let e = load(d.path(), &keep_all, &LoadOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(&e, ZkError::LogGap { older_tried: 1, gap, .. }
            if gap.before_zxid == 0x84 && gap.after_zxid == 0x86),
        "{msg}"
    );
    assert!(
        msg.contains("txns 0x85..=0x85 are missing between"),
        "{msg}"
    );
    assert!(msg.contains("snapshot.84 (last txn 0x84)"), "{msg}");
    assert!(msg.contains("log.86 (next txn 0x86 at byte 16)"), "{msg}");
    // From snapshot.8b the chain is complete and reaches snapshot.92's state.
    fs::copy(
        fixtures().join("snapshot.8b.gz"),
        d.path().join("version-2/snapshot.8b.gz"),
    )
    .unwrap();
    let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
    assert_eq!((s.snapshot.zxid, s.last_zxid), (Some(0x8b), 0x92));
    assert_state_equals_snapshot(&s, &read("snapshot.92"));
    let last_time = read_txn_log(&fixtures().join("log.8c"), &Limits::default())
        .unwrap()
        .txns[6]
        .header
        .time;
    assert_eq!(s.as_of_ms, last_time);
}

#[test]
fn replay_from_compressed_8b_reaches_snapshot_92_exactly() {
    let d = data_dir(
        &["snapshot.8b.gz", "snapshot.8b.snappy"],
        &["log.86", "log.8c"],
    );
    let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
    assert_eq!(s.snapshot.zxid, Some(0x8b));
    assert_eq!(
        s.snapshot.compression,
        Compression::Snappy,
        "ties prefer snappy over gz"
    );
    assert_eq!(s.txns_applied, 7);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(s.ops_ignored, 0);
    assert_state_equals_snapshot(&s, &read("snapshot.92"));
    // The multi created and deleted /kyuubi/tmp, and added a registration.
    assert!(!s.nodes.contains_key("/kyuubi/tmp"));
    assert_eq!(
        s.nodes["/kyuubi"].data.as_deref(),
        Some(&b"after-snapshot"[..])
    );
}

#[test]
fn replay_from_37_and_from_48_agree() {
    let a = load(
        data_dir(&["snapshot.37"], &["log.38"]).path(),
        &keep_all,
        &LoadOptions::default(),
    )
    .unwrap();
    let b = load(
        data_dir(&["snapshot.48"], &["log.38"]).path(),
        &keep_all,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!((a.txns_applied, b.txns_applied), (18, 1));
    assert_eq!((a.last_zxid, b.last_zxid), (0x49, 0x49));
    assert_eq!(a.nodes, b.nodes);
    assert_eq!(a.sessions, b.sessions);
    assert_eq!(a.nodes["/kyuubi"].data.as_deref(), Some(&b"w14"[..]));
    assert!(a.warnings.is_empty() && b.warnings.is_empty());
}

#[test]
fn replay_from_empty_snapshot_0_with_log_1() {
    let s = load(
        data_dir(&["snapshot.0"], &["log.1"]).path(),
        &keep_all,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(s.last_zxid, 0x14);
    assert_eq!(s.txns_applied, 20);
    // Session ...0 is still open, ...1 closed at 0x13 together with its ephemeral.
    assert_eq!(
        s.sessions,
        Sessions::from_iter([(0x0100_0004_b38b_0000, 10_000)])
    );
    assert!(!s.nodes.keys().any(|p| p.contains("dead-0000")));
    // Every node that exists at 0x14 and still exists in snapshot.37 agrees with it.
    let s37 = read("snapshot.37");
    for (p, n) in s37.nodes.iter().filter(|(_, n)| n.czxid <= 0x14) {
        let ours = s.nodes.get(p).unwrap_or_else(|| panic!("{p} missing"));
        assert_eq!(
            (ours.czxid, ours.ctime, ours.ephemeral_owner),
            (n.czxid, n.ctime, n.ephemeral_owner)
        );
        if n.mzxid <= 0x14 {
            assert_eq!(ours, n);
        }
    }
    for p in s.nodes.keys() {
        assert!(
            s37.nodes.iter().any(|(q, _)| q == p),
            "{p} vanished between 0x14 and 0x37?"
        );
    }
}

#[test]
fn full_fixture_dir_picks_92_and_falls_back_when_it_is_corrupt() {
    let d = data_dir(&SNAPSHOTS, &LOGS);
    let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
    assert_eq!(s.snapshot.zxid, Some(0x92));
    assert_eq!(s.txns_applied, 0);
    assert!(s.rejected_snapshots.is_empty());
    assert_state_equals_snapshot(&s, &read("snapshot.92"));

    let p92 = d.path().join("version-2/snapshot.92");
    let mut bytes = fs::read(&p92).unwrap();
    bytes[1000] ^= 0x10;
    fs::write(&p92, &bytes).unwrap();
    let s = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
    assert_eq!(s.snapshot.zxid, Some(0x8b));
    assert_eq!(s.rejected_snapshots.len(), 1);
    let why = &s.rejected_snapshots[0].reason;
    assert!(why.contains("snapshot.92"), "{why}");
    assert_state_equals_snapshot(&s, &read("snapshot.92"));
}

#[test]
fn filtered_load_keeps_only_engine_spaces() {
    let d = data_dir(&["snapshot.8b.gz"], &LOGS);
    let filter = engine_space_filter("kyuubi");
    let s = load(d.path(), &filter, &LoadOptions::default()).unwrap();
    let all = load(d.path(), &keep_all, &LoadOptions::default()).unwrap();
    let expect: Vec<_> = all.nodes.keys().filter(|p| filter(p.as_bytes())).collect();
    assert_eq!(s.nodes.keys().collect::<Vec<_>>(), expect);
    assert_eq!(s.sessions, all.sessions);
    assert_eq!(s.as_of_ms, all.as_of_ms);
}

fn parse_bytes(bytes: &[u8], name: &str) -> Result<Snapshot, ZkError> {
    let path = PathBuf::from("/fixtures").join(name);
    let compression = Compression::from_file_name(name);
    let opts = SnapshotOptions::default();
    match compression {
        Compression::None => read_snapshot_from(bytes, compression, None, &path, &keep_all, &opts),
        Compression::Gzip => read_snapshot_from(
            flate2::read::MultiGzDecoder::new(bytes),
            compression,
            None,
            &path,
            &keep_all,
            &opts,
        ),
        Compression::Snappy => read_snapshot_from(
            kyuubi_reaper::state::zk::xerial::XerialSnappyReader::new(bytes),
            compression,
            None,
            &path,
            &keep_all,
            &opts,
        ),
    }
}

#[test]
fn raw_snapshots_reject_every_bit_flip_and_every_truncation() {
    for name in ["snapshot.0", "snapshot.37"] {
        let good = fs::read(fixtures().join(name)).unwrap();
        let reference = parse_bytes(&good, name).unwrap();
        let seal1_end = good.len() - 33;
        for len in 0..good.len() {
            match parse_bytes(&good[..len], name) {
                Err(e) => assert!(e.to_string().contains(name), "{e}"),
                Ok(s) => {
                    // Cutting exactly after seal #1 leaves a valid 3.4/3.5-layout snapshot.
                    assert_eq!(len, seal1_end, "{name} truncated to {len} was accepted");
                    assert_eq!(s.info.layout, Layout::NoDigest);
                    assert_eq!(s.nodes, reference.nodes);
                }
            }
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                match parse_bytes(&bad, name) {
                    Err(e) => assert!(e.to_string().contains(name), "{e}"),
                    Ok(_) => panic!("{name}: flipping bit {bit} of byte {i} was accepted"),
                }
            }
        }
    }
}

#[test]
fn compressed_snapshots_never_panic_and_never_accept_changed_content() {
    for name in ["snapshot.8b.gz", "snapshot.8b.snappy"] {
        let good = fs::read(fixtures().join(name)).unwrap();
        let reference = parse_bytes(&good, name).unwrap();
        let mut accepted = 0;
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                match parse_bytes(&bad, name) {
                    Err(e) => assert!(e.to_string().contains(name), "{e}"),
                    Ok(s) => {
                        // Only flips that leave the decompressed stream unchanged may pass: gzip
                        // header fields (MTIME, XFL, OS), snappy-java's `compatible` int, and
                        // snappy copy offsets that point into runs of equal bytes (zeros).
                        assert_eq!(s, reference, "{name} byte {i} bit {bit}");
                        accepted += 1;
                    }
                }
            }
        }
        assert!(
            accepted * 4 < good.len() * 8,
            "{name}: {accepted} flips accepted"
        );
        for len in 0..good.len() {
            if let Ok(s) = parse_bytes(&good[..len], name) {
                panic!(
                    "{name} truncated to {len} bytes was accepted: {:?}",
                    s.info.layout
                );
            }
        }
    }
}

#[test]
fn txn_logs_survive_truncation_and_flips() {
    for name in LOGS {
        let good = fs::read(fixtures().join(name)).unwrap();
        let path = Path::new("/fixtures").join(name);
        let read_all =
            |b: &[u8]| -> Result<(Vec<kyuubi_reaper::state::zk::txnlog::Txn>, LogEnd), ZkError> {
                let mut r = TxnLogReader::new(b, &path, &Limits::default())?;
                let mut v = Vec::new();
                while let Some(t) = r.next_txn()? {
                    v.push(t);
                }
                Ok((v, r.end().cloned().unwrap()))
            };
        let (all, _) = read_all(&good).unwrap();
        let mut last = 0;
        for len in 0..=good.len() {
            match read_all(&good[..len]) {
                Ok((txns, end)) => {
                    assert!(txns.len() >= last, "{name}: fewer txns at a longer length");
                    last = txns.len();
                    assert_eq!(txns[..], all[..txns.len()]);
                    if len < good.len() && !matches!(end, LogEnd::Eof { .. }) {
                        assert!(
                            end.to_string()
                                .starts_with("stopped at partial tail at offset")
                        );
                    }
                }
                Err(e) => {
                    assert!(len < 16, "{name}: truncation to {len} errored: {e}");
                    assert!(e.to_string().contains(name));
                }
            }
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[i] ^= 1 << bit;
                match read_all(&bad) {
                    Err(e) => assert!(e.to_string().contains(name), "{e}"),
                    // A flip may only shorten the log (a broken 'B' or a length that runs past
                    // the end reads as a torn tail); what is returned must be unchanged.
                    Ok((txns, _)) if (8..16).contains(&i) => {
                        // The header's dbid is covered by no checksum and ZooKeeper ignores it.
                        assert_eq!(txns, all);
                    }
                    Ok((txns, _)) => {
                        assert!(txns.len() < all.len(), "{name} byte {i} bit {bit} accepted");
                        assert_eq!(txns[..], all[..txns.len()]);
                    }
                }
            }
        }
    }
}
