//! Writes a large, valid, Kyuubi-shaped ZooKeeper 3.8 snapshot for benchmarks.
//!
//! Usage: `zk-bench-gen <out-dir> [--registrations N] [--other N] [--gz] [--snappy]
//! [--pods-out FILE [--pods N]]`
//!
//! Creates `<out-dir>/version-2/snapshot.<zxid>` with: the `/zookeeper` nodes, Kyuubi server
//! nodes under `/kyuubi`, engine spaces for two Kyuubi versions × four share levels × two engine
//! types with users, subdomains (or ref ids) and ephemeral sequential registrations in the
//! 1.10 naming style (base64 appMgrInfo containing `/`, so some registrations sit below container
//! levels), lock spaces, and unrelated trees (`/hbase`, `/services`) for the filter to skip.
//! 90% of the registrations' owners are listed in the session section. Every Adler32 seal and the
//! tree digest are computed as ZooKeeper 3.8 does, so a real server loads the file.
//! With `--gz` / `--snappy`, also writes `snapshot.<zxid>.gz` / `.snappy` next to it (separate
//! files of the same stream; move them apart before pointing a server at the directory).
//! With `--pods-out`, also writes a pod list (`kubectl get pods -o json` shape) with `--pods`
//! driver pods (default 1000) whose tags are the `refId`s of registrations spread over the file,
//! for `kyuubi-reaper scan --zk-snapshot … --pods …`.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use base64::Engine as _;
use kyuubi_reaper::state::zk::writer::{SnapshotNode, SnapshotWriter, Tail, TailLayout};

struct Gen {
    zxid: i64,
    time: i64,
}

impl Gen {
    fn next(&mut self) -> (i64, i64) {
        self.zxid += 1;
        self.time += 7;
        (self.zxid, self.time)
    }
}

fn node<'a>(
    g: &mut Gen,
    path: &'a str,
    data: Option<&'a [u8]>,
    owner: i64,
    children: usize,
) -> SnapshotNode<'a> {
    let (z, t) = g.next();
    let children = i32::try_from(children).unwrap_or(i32::MAX);
    SnapshotNode {
        czxid: z,
        mzxid: z,
        ctime: t,
        mtime: t,
        pzxid: z + i64::from(children),
        cversion: children,
        ephemeral_owner: owner,
        ..SnapshotNode::new(path, data)
    }
}

#[allow(clippy::too_many_lines)]
fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out =
        PathBuf::from(args.next().expect(
            "usage: zk-bench-gen <out-dir> [--registrations N] [--other N] [--gz] [--snappy]",
        ));
    let mut registrations: usize = 500_000;
    let mut other: usize = 480_000;
    let (mut gz, mut snappy) = (false, false);
    let mut pods_out: Option<PathBuf> = None;
    let mut pod_count: usize = 1000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pods-out" => pods_out = Some(PathBuf::from(args.next().unwrap())),
            "--pods" => pod_count = args.next().unwrap().parse().unwrap(),
            "--registrations" => registrations = args.next().unwrap().parse().unwrap(),
            "--other" => other = args.next().unwrap().parse().unwrap(),
            "--gz" => gz = true,
            "--snappy" => snappy = true,
            _ => panic!("unknown argument {a}"),
        }
    }
    let v2 = out.join("version-2");
    fs::create_dir_all(&v2)?;
    let started = Instant::now();
    let mut clock = Gen {
        zxid: 0x1_0000_0000,
        time: 1_795_800_000_000,
    };

    // Plan the engine spaces.
    let versions = ["1.9.1", "1.10.3"];
    let levels = ["USER", "GROUP", "CONNECTION", "SERVER_LOCAL"];
    let types = ["SPARK_SQL", "FLINK_SQL"];
    let mut spaces = Vec::new();
    for v in versions {
        for l in levels {
            for t in types {
                spaces.push(format!("/kyuubi_{v}_{l}_{t}"));
            }
        }
    }
    let users_per_space = 250;
    let leaves_per_user = 25;
    let per_leaf = registrations
        .div_ceil(spaces.len() * users_per_space * leaves_per_user)
        .max(1);

    let session_base: i64 = 0x0100_0000_0000_0000;
    let mut sessions = Vec::new();
    let owner_of = |i: usize| session_base + i64::try_from(i).unwrap() + 1;
    for i in 0..registrations {
        if i % 10 != 9 {
            sessions.push((owner_of(i), 60_000));
        }
    }

    // The snapshot's zxid: past every czxid written below.
    let snap_zxid: i64 = 0x1_0000_0000 + 20_000_000;
    let file = v2.join(format!("snapshot.{snap_zxid:x}"));
    let mut snap = SnapshotWriter::new(BufWriter::with_capacity(1 << 20, File::create(&file)?))?;
    snap.sessions(&sessions)?;
    snap.acls(&[(1, vec![(1, "world", "anyone")])])?;

    snap.node(&SnapshotNode {
        cversion: 4,
        ..SnapshotNode::new("", Some(b""))
    })?;
    snap.node(&node(&mut clock, "/zookeeper", Some(b""), 0, 2))?;
    snap.node(&SnapshotNode {
        acl: 1,
        ..SnapshotNode::new("/zookeeper/config", Some(b""))
    })?;
    snap.node(&SnapshotNode::new("/zookeeper/quota", Some(b"")))?;
    let mut count = 4usize;

    // Kyuubi servers (kyuubi-ctl style persistent sequential nodes).
    snap.node(&node(&mut clock, "/kyuubi", Some(b""), 0, 3))?;
    for i in 0..3 {
        let p = format!("/kyuubi/serverUri=10.0.0.{i}:10009;version=1.10.3;sequence={i:010}");
        let d = format!("10.0.0.{i}:10009");
        snap.node(&node(&mut clock, &p, Some(d.as_bytes()), 0, 0))?;
        count += 1;
    }
    count += 1;

    let mut reg = 0usize;
    // (refId, namespace, ctime) of the registrations that get a pod.
    let pod_every = (registrations / pod_count.max(1)).max(1);
    let mut pod_tags: Vec<(String, String, i64)> = Vec::new();
    for space in &spaces {
        let connection = space.contains("_CONNECTION_");
        let server_local = space.contains("_SERVER_LOCAL_");
        let version = space.split('_').nth(1).unwrap();
        snap.node(&node(&mut clock, space, Some(b""), 0, users_per_space))?;
        count += 1;
        for user_no in 0..users_per_space {
            let user = format!("{space}/user{user_no:04}");
            snap.node(&node(&mut clock, &user, Some(b""), 0, leaves_per_user))?;
            count += 1;
            for leaf_no in 0..leaves_per_user {
                let ref_id = format!("{reg:08x}-{user_no:04x}-4000-8000-{leaf_no:012x}");
                let leaf = if connection {
                    format!("{user}/{ref_id}")
                } else if server_local {
                    format!("{user}/10.0.{}.{leaf_no}_pool-{leaf_no}", user_no % 250)
                } else {
                    format!("{user}/pool-{leaf_no}")
                };
                snap.node(&node(&mut clock, &leaf, Some(b""), 0, per_leaf))?;
                count += 1;
                for seq in 0..per_leaf {
                    if reg >= registrations {
                        break;
                    }
                    let ip = format!("10.{}.{}.{}", reg >> 16 & 255, reg >> 8 & 255, reg & 255);
                    let json = format!(
                        r#"{{"resourceManager":"k8s://https://kubernetes.default.svc:443","kubernetesInfo":{{"context":"cluster-{}","namespace":"spark-team-{}"}}}}"#,
                        reg % 3,
                        user_no % 40
                    );
                    let app = base64::engine::general_purpose::STANDARD.encode(json);
                    let name = format!(
                        "serverUri={ip}:40{:03};version={version};kyuubi.engine.id=spark-{reg:016x};\
                         kyuubi.engine.url={ip}:4040;spark.driver.memory=4g;spark.executor.memory=8g;\
                         kyuubi.engine.appMgrInfo={app};refId={ref_id}-{seq};sequence={seq:010}",
                        reg % 1000
                    );
                    let data = format!("{ip}:40{:03}", reg % 1000);
                    let owner = owner_of(reg);
                    // A '/' in the name means container levels above the ephemeral (Kyuubi #7282).
                    let rel: Vec<&str> = name.split('/').collect();
                    for depth in 1..rel.len() {
                        let p = format!("{leaf}/{}", rel[..depth].join("/"));
                        snap.node(&node(&mut clock, &p, Some(b""), i64::MIN, 1))?;
                        count += 1;
                    }
                    let path = format!("{leaf}/{name}");
                    let registered = node(&mut clock, &path, Some(data.as_bytes()), owner, 0);
                    if reg.is_multiple_of(pod_every) && pod_tags.len() < pod_count {
                        let ns = format!("spark-team-{}", user_no % 40);
                        pod_tags.push((format!("{ref_id}-{seq}"), ns, registered.ctime));
                    }
                    snap.node(&registered)?;
                    count += 1;
                    reg += 1;
                }
            }
        }
        // The matching lock space, right after (sibling order is arbitrary in real files).
        let lock = format!("{space}_lock");
        snap.node(&node(&mut clock, &lock, Some(b""), 0, 1))?;
        let lu = format!("{lock}/user0000");
        snap.node(&node(&mut clock, &lu, Some(b""), 0, 1))?;
        let ll = format!("{lu}/pool-0");
        snap.node(&node(&mut clock, &ll, Some(b""), 0, 0))?;
        count += 3;
    }

    // Unrelated trees, with data that compresses about as well as real configs do.
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut payload = String::with_capacity(200);
    for (root, count_below) in [("/hbase", other / 2), ("/services", other - other / 2)] {
        snap.node(&node(&mut clock, root, Some(b""), 0, 100))?;
        count += 1;
        let per_dir = count_below.div_ceil(100);
        for dir_no in 0..100 {
            let dir = format!("{root}/region-{dir_no:03}");
            snap.node(&node(&mut clock, &dir, Some(b""), 0, per_dir))?;
            count += 1;
            for i in 0..per_dir {
                let p = format!("{dir}/item-{i:07}");
                payload.clear();
                payload.push_str("{\"host\":\"");
                for _ in 0..5 {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let _ = write!(payload, "{rng:016x}");
                }
                let port = 16000 + i % 1000;
                let _ = write!(
                    payload,
                    "\",\"port\":{port},\"state\":\"OPEN\",\"region\":{dir_no}}}"
                );
                snap.node(&node(&mut clock, &p, Some(payload.as_bytes()), 0, 0))?;
                count += 1;
            }
        }
    }

    assert!(clock.zxid < snap_zxid);
    let tail = Tail {
        layout: TailLayout::V36,
        digest_zxid: snap_zxid,
        digest_value: None,
        last_zxid: snap_zxid,
    };
    let (mut bw, written) = snap.finish(tail)?;
    bw.flush()?;
    drop(bw);
    println!(
        "wrote {} ({} bytes, {} nodes, {} registrations, {} sessions, digest {:#x}) in {:.1} s",
        file.display(),
        written.len,
        count,
        reg,
        sessions.len(),
        written.digest,
        started.elapsed().as_secs_f64()
    );

    if let Some(pods_out) = &pods_out {
        write_pods(pods_out, &pod_tags)?;
        println!("wrote {} ({} pods)", pods_out.display(), pod_tags.len());
    }

    if gz {
        let t = Instant::now();
        let dst = PathBuf::from(format!("{}.gz", file.display()));
        let mut enc = flate2::write::GzEncoder::new(
            BufWriter::new(File::create(&dst)?),
            flate2::Compression::default(),
        );
        std::io::copy(&mut File::open(&file)?, &mut enc)?;
        enc.finish()?.flush()?;
        println!(
            "wrote {} ({} bytes) in {:.1} s",
            dst.display(),
            fs::metadata(&dst)?.len(),
            t.elapsed().as_secs_f64()
        );
    }
    if snappy {
        let t = Instant::now();
        let dst = PathBuf::from(format!("{}.snappy", file.display()));
        let mut out = BufWriter::new(File::create(&dst)?);
        let mut src = File::open(&file)?;
        out.write_all(&kyuubi_reaper::state::zk::xerial::MAGIC)?;
        out.write_all(&1i32.to_be_bytes())?;
        out.write_all(&1i32.to_be_bytes())?;
        let mut enc = snap::raw::Encoder::new();
        let mut block = vec![0u8; 32 * 1024];
        loop {
            let mut n = 0;
            while n < block.len() {
                let k = src.read(&mut block[n..])?;
                if k == 0 {
                    break;
                }
                n += k;
            }
            if n == 0 {
                break;
            }
            let c = enc
                .compress_vec(&block[..n])
                .map_err(std::io::Error::other)?;
            out.write_all(&i32::try_from(c.len()).unwrap().to_be_bytes())?;
            out.write_all(&c)?;
        }
        out.flush()?;
        println!(
            "wrote {} ({} bytes) in {:.1} s",
            dst.display(),
            fs::metadata(&dst)?.len(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Driver pods for the given registrations: half finished a day after their engine registered,
/// half still running.
fn write_pods(path: &std::path::Path, tags: &[(String, String, i64)]) -> std::io::Result<()> {
    let ts = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .expect("a valid time")
            .to_string()
    };
    let items: Vec<serde_json::Value> = tags
        .iter()
        .enumerate()
        .map(|(i, (tag, ns, ctime))| {
            let created = ctime - 60_000;
            let status = if i % 2 == 0 {
                serde_json::json!({"phase": "Succeeded", "containerStatuses": [{
                    "name": "spark-kubernetes-driver", "image": "apache/spark:3.5.3", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed",
                        "finishedAt": ts(ctime + 86_400_000), "startedAt": ts(created)}}}]})
            } else {
                serde_json::json!({"phase": "Running"})
            };
            serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("kyuubi-{tag}-driver"), "namespace": ns,
                    "uid": format!("uid-{i}"), "resourceVersion": (i + 1).to_string(),
                    "creationTimestamp": ts(created),
                    "labels": {"kyuubi-unique-tag": tag, "spark-app-selector": format!("spark-{i:032x}"),
                               "spark-role": "driver"}},
                "status": status,
            })
        })
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items,
        "metadata": {"resourceVersion": ""}});
    std::fs::write(path, serde_json::to_vec(&list)?)
}
