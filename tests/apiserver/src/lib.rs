//! A test Kubernetes API server for pods and leases.
//!
//! `test-apiserver` implements the part of the Kubernetes API that `kyuubi-reaper`, `kubectl`
//! and the Python client use for pods and for leader-election Leases (`coordination.k8s.io/v1`:
//! create, replace under `resourceVersion`, patch, server-side apply with field ownership and
//! conflicts, delete), with a real server's semantics: discovery, list / get /
//! create / replace / delete / watch of pods (cluster-wide and namespaced), label and field
//! selectors, consistent `limit`/`continue` pagination at the first page's resource version,
//! `resourceVersion` semantics, watch bookmarks and 410 Gone, `DeleteOptions` (dry run, grace
//! period, preconditions, propagation with ownerReference cascade), server-side `Table` printing,
//! `PartialObjectMetadataList`, `Status` error bodies, a `Date` header from a movable clock, and
//! deterministic fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), test_apiserver::Error> {
//! use test_apiserver::{KubeconfigOptions, ServerConfig, TestApiServer};
//! let server = TestApiServer::start(ServerConfig::default()).await?;
//! server.seed_str(r#"{"kind":"Pod","metadata":{"name":"p","namespace":"ns"},
//!                    "spec":{"containers":[{"name":"c"}]}}"#)?;
//! server.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"), &KubeconfigOptions::default())?;
//! println!("{}", server.base_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod continue_token;
pub mod faults;
mod fields;
pub mod generate;
mod http;
mod lease;
mod lease_http;
mod openapi;
mod patch;
mod pod;
pub mod seed;
pub mod selector;
mod server;
pub mod status;
mod store;
pub mod table;
mod watch;

pub use clock::Clock;
pub use faults::{FaultAction, FaultConfig, FaultRule};
pub use server::{ClockStart, Error, KubeconfigOptions, ServerConfig, TestApiServer};
pub use status::ApiError;
pub use store::{DeleteOptions, EventType};

use std::sync::{Mutex, MutexGuard};

/// Lock a mutex, ignoring poisoning (a panicking test must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordedRequest {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// Server time when it was answered.
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// Decoded query parameters, in order.
    pub params: Vec<(String, String)>,
    /// Request body (empty unless `log_bodies`).
    pub body: String,
    /// `Accept` header.
    pub accept: Option<String>,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// Whether an `Authorization` header was sent.
    pub authorization: bool,
    /// HTTP status of the answer.
    pub status: u16,
    /// Faults applied, if any.
    pub fault: Option<String>,
}

impl RecordedRequest {
    /// The first value of a query parameter.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this was a watch.
    #[must_use]
    pub fn is_watch(&self) -> bool {
        self.path.starts_with("/api/v1/watch/")
            || self
                .param("watch")
                .is_some_and(|w| matches!(w, "1" | "t" | "T" | "true" | "TRUE" | "True"))
    }
}
