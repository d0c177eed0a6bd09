//! Output that a hostile name cannot forge: pod files with names no cluster would accept, escape
//! sequences in labels, YAML keywords as values, a closed stdout.

use serde_json::Value;

use crate::harness::{data, reaper};
use crate::world::{ago, driver, write_pods};

/// A terminated driver past any retain period, with its name, namespace and labels replaced.
fn pod(namespace: &str, name: &str, tag: &str, app_id: &str) -> Value {
    let mut pod = driver(namespace, tag, "Succeeded", ago(600), Some(ago(500)));
    pod["metadata"]["name"] = Value::from(name);
    pod["metadata"]["labels"]["spark-app-selector"] = Value::from(app_id);
    pod
}

fn scan(pods: &std::path::Path, extra: &[&str]) -> crate::harness::Outcome {
    let mut args = vec![
        "scan".to_string(),
        "--store".into(),
        data("sample/kyuubi_state_store.db"),
        "--pods".into(),
        pods.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_string()));
    reaper(args).run()
}

#[test]
fn a_name_that_is_no_kubernetes_name_is_skipped_not_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pods(
        &dir.path().join("pods.json"),
        &[
            pod(
                "spark",
                "evil\nkube-system/kube-apiserver",
                "t-1",
                "spark-1",
            ),
            pod("spark", "UPPER", "t-2", "spark-2"),
            pod("Bad_NS", "fine", "t-3", "spark-3"),
            pod("spark", "good-driver", "t-4", "spark-4"),
        ],
    );
    let out = scan(&file, &["-o", "name"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout, "spark/good-driver\n",
        "only the valid pod is listed"
    );
    assert!(!out.stderr.contains("evil\n"), "{}", out.stderr);
    assert!(
        out.stderr.contains("evil\\nkube-system"),
        "escaped in the warning: {}",
        out.stderr
    );
    let json = scan(&file, &["-o", "json"]).json();
    let skipped: Vec<&str> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("UPPER") && s.contains("DNS-1123"))
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("Bad_NS") && s.contains("namespace"))
    );
    assert_eq!(json["summary"]["candidates"], 1);
}

#[test]
fn escape_sequences_in_labels_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_pods(
        &dir.path().join("pods.json"),
        &[pod(
            "spark",
            "driver-1",
            "t\u{1b}]0;pwned\u{7}\u{1b}[2J",
            "spark-1",
        )],
    );
    let out = scan(&file, &["-o", "table", "--allow-empty-state"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains('\u{1b}'), "{:?}", out.stdout);
    assert!(!out.stdout.contains('\u{7}'), "{:?}", out.stdout);
    assert!(out.stdout.contains("\\u{1b}]0;pwned"), "{}", out.stdout);
    // The machine formats keep the exact value.
    let json = scan(&file, &["-o", "json"]).json();
    assert_eq!(json["pods"][0]["tag"], "t\u{1b}]0;pwned\u{7}\u{1b}[2J");
}

#[test]
fn yaml_keywords_stay_strings_for_pyyaml() {
    let dir = tempfile::tempdir().unwrap();
    let mut pods = Vec::new();
    for (i, ns) in ["no", "yes", "on", "off", "null", "true", "y", "0x1f", "1e3"]
        .iter()
        .enumerate()
    {
        let mut p = pod(ns, &format!("d{i}"), "2026-01-01", "<<");
        p["metadata"]["uid"] = Value::from(format!("uid-{i}"));
        pods.push(p);
    }
    pods.push(pod("spark", "tilde", "~", "line\u{2028}sep\u{85}nel"));
    let file = write_pods(&dir.path().join("pods.json"), &pods);
    let yaml = scan(&file, &["-o", "yaml"]);
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    let yaml_path = dir.path().join("report.yaml");
    std::fs::write(&yaml_path, &yaml.stdout).unwrap();
    let json = scan(&file, &["-o", "json"]);
    let json_path = dir.path().join("report.json");
    std::fs::write(&json_path, &json.stdout).unwrap();
    // PyYAML reads YAML 1.1: unquoted no/yes/on would come back as booleans, 2026-01-01 as a
    // date, << as a merge key.
    let check = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import json, sys, yaml\n\
             y = yaml.safe_load(open(sys.argv[1]))\n\
             j = json.load(open(sys.argv[2]))\n\
             for d in (y, j):\n\
             \x20   d.pop('generated_at'); d.pop('clocks')\n\
             \x20   for p in d['pods']:\n\
             \x20       p.pop('terminated_seconds_ago'); p.pop('reason')\n\
             print('same' if y == j else 'differ: %r' % ([p['namespace'] for p in y['pods']],))\n",
        )
        .arg(&yaml_path)
        .arg(&json_path)
        .output()
        .expect("python3 with PyYAML (Debian python3-yaml, a dependency of python3-kubernetes)");
    let said = String::from_utf8_lossy(&check.stdout);
    assert_eq!(
        said.trim(),
        "same",
        "{said}{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_closed_stdout_is_an_error_not_a_lost_report() {
    let command = format!(
        "'{}' scan --store '{}' --pods '{}' >&-",
        env!("CARGO_BIN_EXE_kyuubi-reaper"),
        data("sample/kyuubi_state_store.db"),
        data("sample/pods.json")
    );
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&command)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("standard output is closed"), "{stderr}");
    // An explicit /dev/null is a choice, not a loss.
    let discard = command.replace(">&-", ">/dev/null");
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&discard)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn pod_input_that_never_ends_is_refused_in_bounded_time() {
    let store = data("sample/kyuubi_state_store.db");
    let within = std::time::Duration::from_secs(60);
    // A device is refused before a byte is read.
    let out = reaper(["scan", "--store", &store, "--pods", "/dev/zero"])
        .run_within(within)
        .code(2);
    assert!(out.stderr.contains("it is a device"), "{}", out.stderr);

    // So is standard input that is one.
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyuubi-reaper"))
        .args(["scan", "--store", &store, "--pods", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(started.elapsed() < within);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("standard input is a device"), "{stderr}");

    // A pipe is read, up to the bound.
    let mut endless = b"{\"kind\":\"List\",\"items\":[".to_vec();
    endless.resize(3 << 20, b' ');
    let out = reaper([
        "scan",
        "--store",
        &store,
        "--pods",
        "-",
        "--max-pod-file-size",
        "1MiB",
    ])
    .stdin(endless)
    .run_within(within)
    .code(2);
    assert!(
        out.stderr
            .contains("larger than 1048576 bytes (--max-pod-file-size)"),
        "{}",
        out.stderr
    );
}
