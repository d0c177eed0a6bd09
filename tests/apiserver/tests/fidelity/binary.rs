//! The `test-apiserver` binary: one ready line, seeds, kubeconfig, faults, clean exit on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::common::{Kubectl, TempDir, fixture, kubectl_bin, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_seeds_until_sigterm() {
    let dir = TempDir::new("binary");
    let kc = dir.path().join("kubeconfig");
    let log = dir.path().join("requests.jsonl");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_test-apiserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            fixture().to_str().unwrap(),
            "--kubeconfig-out",
            kc.to_str().unwrap(),
            "--context",
            "bin-ctx",
            "--fixed-time",
            crate::common::NOW,
            "--fault",
            "action=429,method=GET,path=/api/v1/namespaces/*/pods,times=1,retry-after=1",
            "--request-log",
            log.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"));
    let kubeconfig = std::fs::read_to_string(&kc).unwrap();
    assert!(kubeconfig.contains(&format!("server: \"{url}\"")));
    assert!(kubeconfig.contains("current-context: \"bin-ctx\""));

    // kubectl retries the injected 429 and gets the pods
    let k = Kubectl {
        bin: kubectl_bin("1.33"),
        kubeconfig: kc.clone(),
        cache: dir.path().join("cache"),
    };
    let out = run(
        &k.bin,
        &k.args(&["get", "pods", "-n", "kyuubi-b", "-o", "name"]),
        Duration::from_secs(60),
    )
    .await;
    out.ok();
    assert_eq!(
        out.lines(),
        [
            "pod/kyuubi-batch-e5f6a7b8-driver",
            "pod/kyuubi-batch-e5f6a7b8-exec-1",
            "pod/kyuubi-batch-f6a7b8c9-driver",
            "pod/kyuubi-server-0"
        ]
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    let statuses: Vec<u64> = logged
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["path"] == "/api/v1/namespaces/kyuubi-b/pods")
        .map(|v| v["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [429, 200]);

    // SIGTERM: a clean exit, and nothing more on stdout
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "", "exactly one line on stdout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_rejects_a_bad_seed() {
    let dir = TempDir::new("badseed");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"kind":"Service","metadata":{"name":"x"}}"#).unwrap();
    let out = run(
        std::path::Path::new(env!("CARGO_BIN_EXE_test-apiserver")),
        &["--seed", bad.to_str().unwrap()],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.code, Some(2));
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("bad.json") && out.stderr.contains("not a Pod"),
        "{}",
        out.stderr
    );
}
