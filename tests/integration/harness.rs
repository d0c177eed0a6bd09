//! Runs the built binary with arguments, environment and stdin, and returns what it printed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The path of a file under `tests/data`.
pub(crate) fn data(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
        .display()
        .to_string()
}

/// One invocation of `kyuubi-reaper`.
pub(crate) struct Run {
    command: Command,
    stdin: Option<Vec<u8>>,
}

/// What an invocation produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Outcome {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub(crate) fn code(self, expected: i32) -> Self {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Starts building an invocation with these arguments.
pub(crate) fn reaper<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_kyuubi-reaper"));
    command.args(args);
    // A predictable environment: no colour, no user kubeconfig, default logging.
    command.env_remove("RUST_LOG").env_remove("NO_COLOR");
    command.env("KUBECONFIG", "/nonexistent/kubeconfig");
    Run {
        command,
        stdin: None,
    }
}

impl Run {
    /// Adds an environment variable.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Feeds stdin.
    pub(crate) fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Runs to completion, failing the test when that takes longer than `limit` (a run that
    /// blocks, on a FIFO say, fails instead of hanging the suite).
    #[track_caller]
    pub(crate) fn run_within(self, limit: std::time::Duration) -> Outcome {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(self.run());
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("the run did not finish within {limit:?} (blocked?)"))
    }

    /// Runs to completion.
    pub(crate) fn run(mut self) -> Outcome {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().expect("spawn kyuubi-reaper");
        // Fed from a thread, so a large output cannot block the feeding; a tool that stops
        // reading (a refused input) breaks the pipe, which is not the test's failure.
        let feeder = self.stdin.take().map(|input| {
            let mut pipe = child.stdin.take().unwrap();
            std::thread::spawn(move || match pipe.write_all(&input) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("stdin: {e}"),
                _ => {}
            })
        });
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        if let Some(feeder) = feeder {
            feeder.join().unwrap();
        }
        Outcome {
            code: status.code().expect("exited normally"),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }
}
