//! One Lease (`coordination.k8s.io/v1`): read it, create it, replace it under its
//! `resourceVersion`, through the connection's request helper.
//!
//! Owns: the three requests (`GET`, `POST` and `PUT` on
//! `/apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]`, written with
//! `fieldManager=kyuubi-reaper`), sent through the connection's [`Sender`] (its retries, its
//! per-attempt timeout, its bound on the size of an answer), and what their answers mean: the
//! lease as stored ([`StoredLease`], whose [`LeaseRecord`] is all a caller sees of it), not
//! found, a conflict (409: `AlreadyExists` on create, `Conflict` on a replace whose
//! `resourceVersion` is no longer the lease's: someone else wrote first), or a [`LeaseError`]
//! (denied with a hint, rejected, not a Lease, no answer). A replace keeps everything of the
//! object but its spec (labels, annotations, owners others put there). Nothing of k8s-openapi
//! leaves this module. Must not: decide leadership (that is `watch::leader`), retry a conflict,
//! or map errors to exit codes.

use std::time::Duration;

use http::StatusCode;
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{GetParams, PostParams};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::cluster::{CREDENTIALS_HINT, Connection};
use super::request::{RequestFailure, Sender};

/// The field manager of every write (what `metadata.managedFields` and conflicts name).
pub(crate) const FIELD_MANAGER: &str = "kyuubi-reaper";

/// The leader-election record a Lease carries (client-go's `LeaderElectionRecord`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct LeaseRecord {
    /// `spec.holderIdentity`; empty when nobody holds the lease.
    pub holder: String,
    /// `spec.leaseDurationSeconds`; 0 when unset.
    pub duration_seconds: i32,
    /// `spec.acquireTime`: when the holder took the lease (its own clock).
    pub acquire_time: Option<Timestamp>,
    /// `spec.renewTime`: when the holder last renewed it (its own clock).
    pub renew_time: Option<Timestamp>,
    /// `spec.leaseTransitions`: how many times the holder changed.
    pub transitions: i32,
}

/// A Lease as the API server stored it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredLease {
    /// Its record.
    pub record: LeaseRecord,
    /// `metadata.resourceVersion`: the precondition of the next replace.
    pub resource_version: String,
    /// The whole object, so that a replace changes nothing but the spec.
    object: Box<Lease>,
}

impl StoredLease {
    /// A lease with `record` at `resource_version`, as if read (for tests of its users).
    #[cfg(test)]
    pub(crate) fn for_test(record: LeaseRecord, resource_version: &str) -> Self {
        let object = Box::new(Lease {
            metadata: ObjectMeta {
                resource_version: Some(resource_version.to_string()),
                ..ObjectMeta::default()
            },
            spec: None,
        });
        Self {
            record,
            resource_version: resource_version.to_string(),
            object,
        }
    }

    /// The record and version of a Lease off the wire.
    fn from_object(object: Box<Lease>) -> Self {
        let spec = object.spec.clone().unwrap_or_default();
        Self {
            record: LeaseRecord {
                holder: spec.holder_identity.unwrap_or_default(),
                duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
                acquire_time: spec.acquire_time.map(|t| t.0),
                renew_time: spec.renew_time.map(|t| t.0),
                transitions: spec.lease_transitions.unwrap_or(0),
            },
            resource_version: object.metadata.resource_version.clone().unwrap_or_default(),
            object,
        }
    }
}

/// What the API server said to a lease request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LeaseAnswer {
    /// The lease as stored now (after a write: as written).
    Stored(StoredLease),
    /// 404: there is no such lease (a replace: it was deleted meanwhile).
    NotFound,
    /// 409: another writer was first (the lease exists already, or changed since it was read);
    /// the server's message.
    Conflict(String),
}

/// Which lease request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaseOp {
    /// `GET`
    Read,
    /// `POST`
    Create,
    /// `PUT` (acquire or renew)
    Update,
    /// `PUT` that gives the lease up
    Release,
}

impl std::fmt::Display for LeaseOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LeaseOp::Read => "reading",
            LeaseOp::Create => "creating",
            LeaseOp::Update => "updating",
            LeaseOp::Release => "releasing",
        })
    }
}

/// A lease request that got no usable answer. The lease (`namespace/name`) and the context are
/// part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LeaseError {
    /// No answer (timeouts, connection errors, the deadline), after the retries the policy
    /// allows.
    #[error("{op} lease {lease}{} failed after {attempts} attempt(s)", in_context(context.as_deref()))]
    Request {
        /// The request.
        op: LeaseOp,
        /// `namespace/name`.
        lease: String,
        /// The context.
        context: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// Why there was no answer.
        #[source]
        source: RequestFailure,
    },
    /// The whole operation did not finish in the time it had (the renew deadline, or the
    /// release's bound).
    #[error("{op} lease {lease}{}: no answer within {:.1}s", in_context(context.as_deref()), after.as_secs_f64())]
    Timeout {
        /// The request.
        op: LeaseOp,
        /// `namespace/name`.
        lease: String,
        /// The context.
        context: Option<String>,
        /// The time it had.
        after: Duration,
    },
    /// 401 or 403: this identity may not do this.
    #[error("{op} lease {lease}{} was denied: {code} {reason}: {message}\nhint: {}", in_context(context.as_deref()), denied_hint(*code, lease))]
    Denied {
        /// The request.
        op: LeaseOp,
        /// `namespace/name`.
        lease: String,
        /// The context.
        context: Option<String>,
        /// 401 or 403.
        code: u16,
        /// The `Status.reason`.
        reason: String,
        /// The `Status.message`.
        message: String,
    },
    /// Any other error status (a 429/5xx still there after the retries, a 422, ...).
    #[error("{op} lease {lease}{} failed: {code} {reason}: {message}", in_context(context.as_deref()))]
    Api {
        /// The request.
        op: LeaseOp,
        /// `namespace/name`.
        lease: String,
        /// The context.
        context: Option<String>,
        /// The HTTP status.
        code: u16,
        /// The `Status.reason`, or the HTTP reason phrase.
        reason: String,
        /// The `Status.message`, or the start of the body.
        message: String,
    },
    /// A success whose body is not a Lease, or a request that could not be built.
    #[error("{op} lease {lease}{}: {message}", in_context(context.as_deref()))]
    Decode {
        /// The request.
        op: LeaseOp,
        /// `namespace/name`.
        lease: String,
        /// The context.
        context: Option<String>,
        /// What went wrong.
        message: String,
    },
}

/// ` (context NAME)`, or nothing.
fn in_context(context: Option<&str>) -> String {
    context
        .map(|c| format!(" (context {c})"))
        .unwrap_or_default()
}

/// What a denial means: the credentials (401), or the RBAC the lease needs (403).
fn denied_hint(code: u16, lease: &str) -> String {
    if code == 401 {
        return CREDENTIALS_HINT.to_string();
    }
    let namespace = lease.split_once('/').map_or(lease, |(ns, _)| ns);
    format!(
        "leader election needs `get`, `create` and `update` on `leases` in API group \
         `coordination.k8s.io` in namespace {namespace} (a Role there); see the RBAC section of \
         the README"
    )
}

/// The `Status.reason` and `Status.message` of an error answer, or the HTTP reason phrase and
/// the start of the body when it is not a `Status`.
fn status_text(status: StatusCode, body: &[u8]) -> (String, String) {
    let parsed: Option<kube::core::Status> = serde_json::from_slice(body).ok();
    match parsed {
        Some(s) if !s.message.is_empty() || !s.reason.is_empty() => (s.reason, s.message),
        _ => (
            status.canonical_reason().unwrap_or("").to_string(),
            String::from_utf8_lossy(body)
                .trim()
                .chars()
                .take(300)
                .collect(),
        ),
    }
}

/// Requests on one Lease of one connection.
#[derive(Debug, Clone)]
pub(crate) struct LeaseClient {
    sender: Sender,
    context: Option<String>,
    namespace: String,
    name: String,
}

impl LeaseClient {
    /// Requests on `namespace/name` through `connection`'s sender.
    pub(crate) fn new(connection: &Connection, namespace: &str, name: &str) -> Self {
        Self {
            sender: connection.sender.clone(),
            context: connection.context.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// The same client, sending nothing new once `cancel` is cancelled.
    #[must_use]
    pub(crate) fn with_cancel(&self, cancel: CancellationToken) -> Self {
        Self {
            sender: self.sender.with_cancel(cancel),
            ..self.clone()
        }
    }

    /// `namespace/name`.
    pub(crate) fn lease(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The path of the namespace's leases.
    fn collection(&self) -> String {
        format!(
            "/apis/coordination.k8s.io/v1/namespaces/{}/leases",
            self.namespace
        )
    }

    /// The query of every write: the field manager.
    fn params() -> PostParams {
        PostParams {
            dry_run: false,
            field_manager: Some(FIELD_MANAGER.to_string()),
        }
    }

    /// The lease with `record` as its spec: a new one, or `base` with its spec replaced.
    fn object(&self, base: Option<&StoredLease>, record: &LeaseRecord) -> Lease {
        let mut object = base.map_or_else(
            || Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: None,
            },
            |b| (*b.object).clone(),
        );
        // The server keeps the managed fields of the live object when a write sends none.
        object.metadata.managed_fields = None;
        let previous = object.spec.take().unwrap_or_default();
        object.spec = Some(LeaseSpec {
            holder_identity: Some(record.holder.clone()),
            lease_duration_seconds: Some(record.duration_seconds),
            acquire_time: record.acquire_time.map(MicroTime),
            renew_time: record.renew_time.map(MicroTime),
            lease_transitions: Some(record.transitions),
            ..previous
        });
        object
    }

    /// A [`LeaseError::Decode`] of this lease.
    fn decode_error(&self, op: LeaseOp, message: String) -> LeaseError {
        LeaseError::Decode {
            op,
            lease: self.lease(),
            context: self.context.clone(),
            message,
        }
    }

    /// Sends `request` with no attempt starting after `deadline`, and reads the answer.
    async fn exchange(
        &self,
        op: LeaseOp,
        request: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
        deadline: Instant,
    ) -> Result<LeaseAnswer, LeaseError> {
        let request =
            request.map_err(|e| self.decode_error(op, format!("cannot build the request: {e}")))?;
        let sent = self.sender.with_deadline(deadline).send(&request).await;
        let answer = sent.result.map_err(|source| LeaseError::Request {
            op,
            lease: self.lease(),
            context: self.context.clone(),
            attempts: sent.attempts,
            source,
        })?;
        let code = answer.status.as_u16();
        match code {
            200..=299 => {
                let object: Box<Lease> = serde_json::from_slice(&answer.body).map_err(|e| {
                    self.decode_error(op, format!("the answer is not a Lease: {e}"))
                })?;
                Ok(LeaseAnswer::Stored(StoredLease::from_object(object)))
            }
            // A create answers 404 only when the namespace does not exist: not a race.
            404 if op != LeaseOp::Create => Ok(LeaseAnswer::NotFound),
            409 => Ok(LeaseAnswer::Conflict(
                status_text(answer.status, &answer.body).1,
            )),
            _ => {
                let (reason, message) = status_text(answer.status, &answer.body);
                let lease = self.lease();
                let context = self.context.clone();
                Err(if code == 401 || code == 403 {
                    LeaseError::Denied {
                        op,
                        lease,
                        context,
                        code,
                        reason,
                        message,
                    }
                } else {
                    LeaseError::Api {
                        op,
                        lease,
                        context,
                        code,
                        reason,
                        message,
                    }
                })
            }
        }
    }

    /// Reads the lease.
    pub(crate) async fn get(&self, deadline: Instant) -> Result<LeaseAnswer, LeaseError> {
        let request =
            kube::core::Request::new(self.collection()).get(&self.name, &GetParams::default());
        self.exchange(LeaseOp::Read, request, deadline).await
    }

    /// Creates the lease with `record` (409 when it exists already).
    pub(crate) async fn create(
        &self,
        record: &LeaseRecord,
        deadline: Instant,
    ) -> Result<LeaseAnswer, LeaseError> {
        let body = serde_json::to_vec(&self.object(None, record))
            .map_err(|e| self.decode_error(LeaseOp::Create, e.to_string()))?;
        let request = kube::core::Request::new(self.collection()).create(&Self::params(), body);
        self.exchange(LeaseOp::Create, request, deadline).await
    }

    /// Replaces the spec of `current` with `record`, on the condition that the lease is still
    /// at `current`'s resource version (409 otherwise). `op` says why (update or release).
    pub(crate) async fn update(
        &self,
        op: LeaseOp,
        current: &StoredLease,
        record: &LeaseRecord,
        deadline: Instant,
    ) -> Result<LeaseAnswer, LeaseError> {
        let body = serde_json::to_vec(&self.object(Some(current), record))
            .map_err(|e| self.decode_error(op, e.to_string()))?;
        let request =
            kube::core::Request::new(self.collection()).replace(&self.name, &Self::params(), body);
        self.exchange(op, request, deadline).await
    }

    /// The error of an operation that ran out of time.
    pub(crate) fn timeout(&self, op: LeaseOp, after: Duration) -> LeaseError {
        LeaseError::Timeout {
            op,
            lease: self.lease(),
            context: self.context.clone(),
            after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::request::RequestPolicy;
    use test_apiserver::{KubeconfigOptions, ServerConfig, TestApiServer};

    /// A server, a connection to it (its kubeconfig in a temporary directory) and a client for
    /// the lease `spark/reaper`.
    async fn setup(
        config: ServerConfig,
        token: Option<&str>,
    ) -> (TestApiServer, LeaseClient, tempfile::TempDir) {
        let server = TestApiServer::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(
                &path,
                &KubeconfigOptions {
                    token: token.map(str::to_string),
                    ..KubeconfigOptions::default()
                },
            )
            .unwrap();
        let policy = RequestPolicy {
            max_retries: 0,
            ..RequestPolicy::default()
        };
        let connection = crate::k8s::cluster::connect(
            Some(&path),
            None,
            policy,
            Instant::now() + Duration::from_secs(600),
        )
        .await
        .unwrap();
        let client = LeaseClient::new(&connection, "spark", "reaper");
        (server, client, dir)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn record(holder: &str, at: &str) -> LeaseRecord {
        let at: Timestamp = at.parse().unwrap();
        LeaseRecord {
            holder: holder.into(),
            duration_seconds: 15,
            acquire_time: Some(at),
            renew_time: Some(at),
            transitions: 0,
        }
    }

    fn stored(answer: LeaseAnswer) -> StoredLease {
        match answer {
            LeaseAnswer::Stored(s) => s,
            other => panic!("not stored: {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_read_replace_and_conflicts() {
        let (server, client, _dir) = setup(ServerConfig::default(), None).await;
        assert_eq!(client.get(soon()).await.unwrap(), LeaseAnswer::NotFound);
        let a = record("a", "2026-03-01T12:00:00.123456789Z");
        let created = stored(client.create(&a, soon()).await.unwrap());
        // MicroTime: microseconds on the wire
        assert_eq!(
            created.record.renew_time,
            Some("2026-03-01T12:00:00.123456Z".parse().unwrap())
        );
        let on_server = server.get_lease("spark", "reaper").unwrap();
        assert_eq!(
            on_server["spec"]["renewTime"],
            "2026-03-01T12:00:00.123456Z"
        );
        assert_eq!(on_server["spec"]["holderIdentity"], "a");
        assert_eq!(on_server["spec"]["leaseTransitions"], 0);
        assert_eq!(
            on_server["metadata"]["managedFields"][0]["manager"],
            FIELD_MANAGER
        );
        let again = client.create(&a, soon()).await.unwrap();
        assert!(
            matches!(&again, LeaseAnswer::Conflict(m) if m.contains("already exists")),
            "{again:?}"
        );
        let read = stored(client.get(soon()).await.unwrap());
        assert_eq!(read.record.holder, "a");
        assert_eq!(read.resource_version, created.resource_version);

        // labels someone else set survive a replace
        let mut labelled = on_server.clone();
        labelled["metadata"]["labels"] = serde_json::json!({"team": "spark"});
        server.put_lease(&labelled).unwrap();
        let current = stored(client.get(soon()).await.unwrap());
        let mut b = record("b", "2026-03-01T12:00:05Z");
        b.transitions = 1;
        let replaced = stored(
            client
                .update(LeaseOp::Update, &current, &b, soon())
                .await
                .unwrap(),
        );
        assert_eq!(replaced.record, b);
        assert_ne!(replaced.resource_version, current.resource_version);
        let on_server = server.get_lease("spark", "reaper").unwrap();
        assert_eq!(on_server["metadata"]["labels"]["team"], "spark");
        // the stale version conflicts, and changes nothing
        let stale = client
            .update(LeaseOp::Update, &current, &a, soon())
            .await
            .unwrap();
        assert!(
            matches!(&stale, LeaseAnswer::Conflict(m) if m.contains("the object has been modified")),
            "{stale:?}"
        );
        assert_eq!(
            server.get_lease("spark", "reaper").unwrap()["spec"]["holderIdentity"],
            "b"
        );
        // a lease deleted meanwhile
        assert!(server.remove_lease("spark", "reaper"));
        assert_eq!(
            client
                .update(LeaseOp::Update, &replaced, &a, soon())
                .await
                .unwrap(),
            LeaseAnswer::NotFound
        );
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn denied_and_rejected_answers_are_errors_with_hints() {
        let config = ServerConfig {
            token: Some("right".into()),
            ..ServerConfig::default()
        };
        let (server, client, _dir) = setup(config, Some("wrong")).await;
        let err = client.get(soon()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, LeaseError::Denied { code: 401, .. }),
            "{text}"
        );
        assert!(
            text.starts_with(
                "reading lease spark/reaper (context test-apiserver) was denied: 401 Unauthorized"
            ),
            "{text}"
        );
        assert!(text.contains(CREDENTIALS_HINT), "{text}");
        server.shutdown().await;

        let (server, client, _dir) = setup(ServerConfig::default(), None).await;
        server.set_faults(test_apiserver::FaultConfig {
            seed: 0,
            rules: vec![test_apiserver::FaultRule::always(
                test_apiserver::FaultAction::Error(403),
            )],
        });
        let text = client.get(soon()).await.unwrap_err().to_string();
        assert!(text.contains("403 Forbidden"), "{text}");
        assert!(
            text.contains("`get`, `create` and `update` on `leases`")
                && text.contains("namespace spark"),
            "{text}"
        );
        server.clear_faults();
        let mut bad = record("a", "2026-03-01T12:00:00Z");
        bad.duration_seconds = 0;
        let err = client.create(&bad, soon()).await.unwrap_err();
        assert!(matches!(&err, LeaseError::Api { code: 422, .. }), "{err}");
        assert!(
            err.to_string()
                .contains("spec.leaseDurationSeconds: Invalid value: 0"),
            "{err}"
        );
        server.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_attempt_starts_after_the_deadline() {
        let (server, client, _dir) = setup(ServerConfig::default(), None).await;
        let err = client.get(Instant::now()).await.unwrap_err();
        assert!(
            matches!(
                err,
                LeaseError::Request {
                    source: RequestFailure::Deadline { .. },
                    attempts: 0,
                    ..
                }
            ),
            "{err}"
        );
        assert!(server.requests().is_empty());
        server.shutdown().await;
    }
}
