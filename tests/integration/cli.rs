//! The command line itself: help, usage errors, completions.

use std::path::Path;

use crate::harness::{data, reaper};

#[test]
fn help_and_version() {
    let out = reaper(["--help"]).run().code(0);
    assert!(out.stdout.contains("scan"), "{}", out.stdout);
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
    let out = reaper(["scan", "--help"]).run().code(0);
    for flag in [
        "--store",
        "--pods",
        "--kubeconfig",
        "--context",
        "--namespace",
        "--all-namespaces",
        "--selector",
        "--retain",
        "--keep-failed",
        "--require-record",
        "--include",
        "--stuck-after",
        "--engine-start-timeout",
        "--output",
        "--fail-on-orphans",
        "--fail-on-suspects",
        "--color",
        "--quiet",
        "--verbose",
        "--allow-empty-state",
    ] {
        assert!(out.stdout.contains(flag), "scan --help lacks {flag}");
    }
    let out = reaper(["--version"]).run().code(0);
    assert_eq!(
        out.stdout.trim(),
        format!("kyuubi-reaper {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["scan"],
        vec!["scan", "--store", "x.db", "--retain", "ten minutes"],
        vec!["scan", "--store", "x.db", "-o", "xml"],
        vec!["scan", "--store", "x.db", "-A", "-n", "a"],
        vec![
            "scan",
            "--store",
            "x.db",
            "--pods",
            "p.json",
            "--context",
            "c",
        ],
        vec!["scan", "--store", "x.db", "--include", "everything"],
        vec!["scan", "--store", "x.db", "--selector", "a in (b"],
        vec!["reap"],
        vec!["--no-such-flag"],
    ] {
        let out = reaper(&args).run().code(2);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(out.stderr.contains("error"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn a_bad_pod_file_is_an_input_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("pods.json");
    std::fs::write(&bad, "{\"kind\": \"List\", \"items\": [").unwrap();
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--pods",
        &bad.display().to_string(),
    ])
    .run()
    .code(2);
    assert!(
        out.stderr.contains(&format!(
            "cannot read pod list {}: not valid JSON",
            bad.display()
        )),
        "{}",
        out.stderr
    );
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--pods",
        "/nonexistent/pods.json",
    ])
    .run()
    .code(2);
    assert!(
        out.stderr.contains("/nonexistent/pods.json"),
        "{}",
        out.stderr
    );
}

#[test]
fn without_a_reachable_cluster_scan_is_a_cluster_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\nclusters:\n- name: dead\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: dead\n  context:\n    cluster: dead\n    user: u\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let k = kubeconfig.display().to_string();
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--kubeconfig",
        &k,
    ])
    .run()
    .code(3);
    assert!(
        out.stderr
            .contains("listing pods in namespace default (context dead) failed"),
        "{}",
        out.stderr
    );
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--kubeconfig",
        &k,
        "--context",
        "nope",
    ])
    .run()
    .code(2);
    assert!(
        out.stderr.contains("cannot load kubeconfig"),
        "{}",
        out.stderr
    );
    let out = reaper([
        "scan",
        "--store",
        &data("sample/kyuubi_state_store.db"),
        "--kubeconfig",
        "/nonexistent/config",
    ])
    .run()
    .code(2);
    assert!(out.stderr.contains("/nonexistent/config"), "{}", out.stderr);
    // A bad store is found before any cluster is contacted.
    let out = reaper(["scan", "--store", "/nonexistent/s.db", "--kubeconfig", &k])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("cannot load metadata store"),
        "{}",
        out.stderr
    );
}

const SHELLS: [(&str, &str); 5] = [
    ("bash", "kyuubi-reaper.bash"),
    ("zsh", "_kyuubi-reaper"),
    ("fish", "kyuubi-reaper.fish"),
    ("powershell", "_kyuubi-reaper.ps1"),
    ("elvish", "kyuubi-reaper.elv"),
];

/// The committed completions are what the current CLI generates. To refresh them:
/// `UPDATE_COMPLETIONS=1 cargo test --test integration completions`.
#[test]
fn completions_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some();
    for (shell, file) in SHELLS {
        let generated = reaper(["completions", shell]).run().code(0).stdout;
        assert!(generated.contains("kyuubi-reaper"), "{shell}");
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "completions/{file} is stale: run `UPDATE_COMPLETIONS=1 cargo test --test integration completions`"
        );
    }
}
