//! A test API server that lives as long as a test, with the views of its request log that
//! the cluster tests share.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use test_apiserver::{KubeconfigOptions, RecordedRequest, ServerConfig, TestApiServer};

/// A server (and the runtime that serves it) that lives as long as the test.
pub(crate) struct Cluster {
    runtime: tokio::runtime::Runtime,
    server: Option<TestApiServer>,
}

impl Cluster {
    pub(crate) fn start(config: ServerConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(TestApiServer::start(config)).unwrap();
        Self {
            runtime,
            server: Some(server),
        }
    }

    pub(crate) fn server(&self) -> &TestApiServer {
        self.server.as_ref().unwrap()
    }

    /// Writes a kubeconfig for the server into `dir`, named after the context.
    pub(crate) fn kubeconfig(&self, dir: &Path, options: &KubeconfigOptions) -> PathBuf {
        let path = dir.join(format!("kubeconfig-{}", options.context));
        self.server().write_kubeconfig(&path, options).unwrap();
        path
    }

    /// Every DELETE the server received, in order of arrival.
    pub(crate) fn deletes(&self) -> Vec<RecordedRequest> {
        let mut deletes: Vec<RecordedRequest> = self
            .server()
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .collect();
        deletes.sort_by_key(|r| r.seq);
        deletes
    }

    /// The pod lists the server answered.
    pub(crate) fn lists(&self) -> Vec<RecordedRequest> {
        self.server()
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/pods"))
            .collect()
    }

    pub(crate) fn has(&self, namespace: &str, name: &str) -> bool {
        self.server().get_pod(namespace, name).is_some()
    }

    /// Waits until `what` holds of the request log, failing after `limit`.
    #[track_caller]
    pub(crate) fn wait_for(&self, limit: Duration, what: impl Fn(&[RecordedRequest]) -> bool) {
        let start = Instant::now();
        while !what(&self.server().requests()) {
            assert!(
                start.elapsed() < limit,
                "the request log never got there within {limit:?}: {:#?}",
                self.server().requests()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}
