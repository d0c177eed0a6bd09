//! The bundled sample data (README's first command): every pod's verdict, every format, the
//! exit codes for CI checks, and that the committed store matches its SQL.

use crate::harness::{data, reaper};
use crate::world::verdicts;

fn sample(extra: &[&str]) -> crate::harness::Outcome {
    sample_run(extra).run()
}

fn sample_run(extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
        "scan".to_string(),
        "--store".into(),
        data("sample/kyuubi_state_store.db"),
        "--pods".into(),
        data("sample/pods.json"),
    ];
    args.extend(extra.iter().map(|s| (*s).to_string()));
    reaper(args)
}

/// The verdict of every candidate pod of the sample cluster. The sample's times lie in the
/// past, so these hold whenever the test runs.
#[test]
fn sample_data_verdicts() {
    let report = sample(&["-o", "json"]).code(0).json();
    let got: Vec<(String, String, String)> = verdicts(&report)
        .into_iter()
        .map(|(name, v, c)| (name.split('-').take(3).collect::<Vec<_>>().join("-"), v, c))
        .collect();
    let expected = [
        ("kyuubi-late-pending", "suspect", "leaked-running"),
        ("kyuubi-legacy-export", "orphan", "terminated"),
        ("kyuubi-legacy-report", "orphan", "terminated"),
        ("kyuubi-quarterly-close", "suspect", "leaked-running"),
        ("kyuubi-train-model", "suspect", "leaked-running"),
        ("kyuubi-connection-spark", "orphan", "terminated"),
        ("kyuubi-user-spark", "keep", "no-evidence"),
        ("kyuubi-user-spark", "orphan", "terminated"),
        ("kyuubi-user-spark", "suspect", "stuck-pending"),
        ("kyuubi-user-spark", "keep", "terminating"),
        ("kyuubi-backfill-2026q3", "keep", "batch-active"),
        ("kyuubi-daily-revenue", "orphan", "terminated"),
        ("kyuubi-fresh-done", "orphan", "terminated"),
        ("kyuubi-hourly-clicks", "orphan", "terminated"),
        ("kyuubi-ingest-orders", "keep", "batch-active"),
        ("kyuubi-recompute-kpis", "keep", "batch-active"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(n, v, c)| ((*n).to_string(), (*v).to_string(), (*c).to_string()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(report["summary"]["candidates"], 16);
    assert_eq!(report["summary"]["orphans"], 7);
    assert_eq!(report["summary"]["suspects"], 4);
    assert_eq!(report["summary"]["kept"], 5);
    assert_eq!(report["summary"]["namespaces"], 3);
    // Executors, the Kyuubi server and a hand-labelled pod without a Spark app id are not
    // candidates at all.
    let names: Vec<_> = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.ends_with("-driver")), "{names:?}");
}

#[test]
fn json_report_follows_the_documented_schema() {
    let report = sample(&["-o", "json"]).code(0).json();
    assert_eq!(report["schema"], "kyuubi-reaper.scan/v1");
    for pod in report["pods"].as_array().unwrap() {
        for key in [
            "context",
            "namespace",
            "name",
            "uid",
            "resource_version",
            "tag",
            "app_id",
            "phase",
            "created_at",
            "terminated_at",
            "terminated_seconds_ago",
            "verdict",
            "class",
            "rule",
            "reason",
            "evidence",
        ] {
            assert!(pod.get(key).is_some(), "pod lacks {key}: {pod}");
        }
        assert!(["orphan", "suspect", "keep"].contains(&pod["verdict"].as_str().unwrap()));
        let evidence = pod["evidence"].as_array().unwrap();
        assert_eq!(evidence[0]["kind"], "pod");
        for e in evidence {
            assert!(
                ["pod", "batch", "engine-info", "no-record", "state-as-of"]
                    .contains(&e["kind"].as_str().unwrap())
            );
        }
    }
    let daily = report["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().contains("daily-revenue"))
        .unwrap();
    assert_eq!(daily["rule"], 6);
    assert_eq!(daily["evidence"][1]["kind"], "batch");
    assert_eq!(daily["evidence"][1]["state"], "FINISHED");
    assert_eq!(daily["evidence"][1]["namespace"], "spark-etl");
    assert_eq!(daily["evidence"][1]["applies"], true);
    assert_eq!(
        daily["evidence"][0]["terminated_at_from"],
        "driver-container"
    );
    for key in [
        "candidates",
        "orphans",
        "suspects",
        "kept",
        "skipped",
        "namespaces",
        "by_class",
    ] {
        assert!(report["summary"].get(key).is_some(), "summary lacks {key}");
    }
    let source = &report["sources"][0];
    assert_eq!(source["kind"], "store");
    assert_eq!(source["layout"], "1.11+ (metadata, k8s_engine_info)");
    assert_eq!(source["batches"], 11);
    assert_eq!(source["engine_infos"], 2);
    assert_eq!(report["clocks"][0]["from"], "local");
}

#[test]
fn yaml_is_the_json_document() {
    let json = sample(&["-o", "json"]).code(0).json();
    let yaml = sample(&["-o", "yaml"]).code(0);
    let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    // Ages are measured at each run; compare everything else.
    let strip = |mut v: serde_json::Value| {
        for pod in v["pods"].as_array_mut().unwrap() {
            pod.as_object_mut()
                .unwrap()
                .remove("terminated_seconds_ago");
            pod.as_object_mut().unwrap().remove("reason");
        }
        v.as_object_mut().unwrap().remove("clocks");
        v.as_object_mut().unwrap().remove("generated_at");
        v
    };
    assert!(
        json["generated_at"].is_string(),
        "a report says when it was made"
    );
    assert_eq!(strip(json), strip(from_yaml));
}

#[test]
fn name_output_lists_the_orphans() {
    let out = sample(&["-o", "name"]).code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l.starts_with("analytics/")
        || l.starts_with("spark-adhoc/")
        || l.starts_with("spark-etl/")));
    assert!(
        lines.contains(
            &"spark-etl/kyuubi-daily-revenue-4ec7853f-86e0-5ce5-ae44-0b2940605f71-driver"
        )
    );
}

#[test]
fn table_output_and_the_summary_line() {
    let out = sample(&[]).code(0);
    let header = out.stdout.lines().nth(1).unwrap();
    for column in [
        "NAMESPACE",
        "POD",
        "TAG",
        "PHASE",
        "TERMINATED",
        "VERDICT",
        "CLASS",
        "REASON",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert_eq!(
        out.stdout.matches("│ spark-etl ").count(),
        6,
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains('\u{1b}'),
        "no colour when not a terminal"
    );
    assert_eq!(
        out.stderr.trim(),
        "16 candidate pods in 3 namespaces: 7 orphans, 4 suspects, 5 kept \
         (state: 1 store, 11 batch rows, 2 k8s_engine_info rows)"
    );
    let colored = sample(&["--color", "always"]).code(0);
    assert!(colored.stdout.contains("\u{1b}["), "--color always colours");
    let no_color = sample_run(&[]).env("NO_COLOR", "1").run().code(0);
    assert!(!no_color.stdout.contains('\u{1b}'));
    let quiet = sample(&["-q"]).code(0);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[test]
fn ci_checks_fail_on_findings() {
    sample(&["--fail-on-orphans", "-q"]).code(1);
    sample(&["--fail-on-suspects", "-q"]).code(1);
    // Only what was asked for fails the run: in analytics there are suspects but with
    // --keep-failed and the namespace filter, no orphans.
    sample(&[
        "--fail-on-orphans",
        "-n",
        "spark-adhoc",
        "-n",
        "analytics",
        "--keep-failed",
        "-q",
    ])
    .code(1);
    sample(&[
        "--fail-on-orphans",
        "-n",
        "spark-etl",
        "-l",
        "spark-app-name in (backfill-2026q3,ingest-orders)",
        "-q",
    ])
    .code(0);
}

#[test]
fn namespaces_selectors_and_policy_flags_narrow_the_scan() {
    let report = sample(&["-o", "json", "-n", "spark-adhoc"]).code(0).json();
    assert_eq!(report["summary"]["candidates"], 5);
    let report = sample(&["-o", "json", "-l", "spark-app-name=daily-revenue"])
        .code(0)
        .json();
    assert_eq!(report["summary"]["candidates"], 1);
    let report = sample(&["-o", "json", "--keep-failed"]).code(0).json();
    assert_eq!(report["summary"]["orphans"], 4);
    assert_eq!(report["summary"]["by_class"]["kept-failed"], 3);
    let report = sample(&["-o", "json", "--include", "leaked-running,stuck-pending"])
        .code(0)
        .json();
    assert_eq!(report["summary"]["orphans"], 11);
    assert_eq!(report["summary"]["suspects"], 0);
    let report = sample(&["-o", "json", "--require-record"]).code(0).json();
    assert_eq!(
        report["summary"]["by_class"]["no-terminal-record"], 1,
        "carol's engine has no record"
    );
    let report = sample(&["-o", "json", "--retain", "30d"]).code(0).json();
    assert_eq!(report["summary"]["orphans"], 0);
}

#[test]
fn pods_can_come_from_stdin_as_yaml() {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("sample/pods.json")).unwrap()).unwrap();
    let yaml = serde_yaml::to_string(&json).unwrap();
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--pods",
        "-",
        "-o",
        "json",
    ])
    .stdin(yaml)
    .run()
    .code(0);
    assert_eq!(out.json()["summary"]["candidates"], 16);
}

/// The committed binary store is exactly what its SQL describes.
#[test]
fn the_sample_store_matches_its_sql() {
    fn dump(conn: &rusqlite::Connection) -> Vec<String> {
        let mut rows = Vec::new();
        for table in ["metadata", "k8s_engine_info"] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY key_id"))
                .unwrap();
            let columns = stmt.column_count();
            let mut cursor = stmt.query([]).unwrap();
            while let Some(row) = cursor.next().unwrap() {
                let values: Vec<String> = (0..columns)
                    .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                    .collect();
                rows.push(format!("{table}: {}", values.join(" | ")));
            }
        }
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master ORDER BY name")
            .unwrap();
        rows.extend(
            stmt.query_map([], |r| r.get::<_, Option<String>>(0))
                .unwrap()
                .map(|s| format!("{:?}", s.unwrap())),
        );
        rows
    }
    let committed = rusqlite::Connection::open_with_flags(
        data("sample/kyuubi_state_store.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let fresh = rusqlite::Connection::open_in_memory().unwrap();
    fresh
        .execute_batch(&std::fs::read_to_string(data("sample/store.sql")).unwrap())
        .unwrap();
    assert_eq!(
        dump(&committed),
        dump(&fresh),
        "run tests/data/sample/generate.py"
    );
}
