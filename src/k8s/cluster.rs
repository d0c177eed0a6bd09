//! Pods from a live cluster, and their deletion, through kube-rs.
//!
//! Owns: building one kube [`Client`] per `--context` (kubeconfig, `--kubeconfig`, or in-cluster
//! config) with kube's own retry layer off and our timeouts on, listing candidate pods with the
//! candidate selector applied by the server, paginated (`limit=500` + `continue`), reading the
//! API server's clock from the `Date` header of the first answer (so ages are measured against
//! the server's clock rather than ours), and deleting one pod with `uid` + `resourceVersion`
//! preconditions. Every request goes through the one [`Sender`] of the connection. This is the
//! only module that talks to an API server. Must not: judge pods, decide which to delete, or map
//! errors to exit codes (that is `error.rs`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::StatusCode;
use jiff::Timestamp;
use kube::Client;
use kube::api::{DeleteParams, ListParams, Preconditions, PropagationPolicy};
use kube::config::{Config, KubeConfigOptions, Kubeconfig};
use serde::de::DeserializeSeed as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::request::{RequestFailure, RequestPolicy, Sender};
use super::wire::{self, Page, Sink};
use super::{Listing, Namespaces, pod_info};
use crate::selector::LabelSelector;

/// Page size for list calls: kubectl's default, a good balance of round trips and memory.
pub(crate) const PAGE_SIZE: u32 = 500;
/// How many times a paginated list restarts from scratch when its continue token expired.
const EXPIRED_RESTARTS: u32 = 3;

/// A cluster-side failure. The context (and namespace) it happened in is part of the message.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read, or has no such context.
    #[error("cannot load kubeconfig{}{}", in_path(path.as_deref()), in_context(context.as_deref()))]
    Kubeconfig {
        /// `--kubeconfig`, or `$KUBECONFIG` / `~/.kube/config` when that was read.
        path: Option<PathBuf>,
        /// The context asked for.
        context: Option<String>,
        /// What kube-rs reported.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Neither a kubeconfig nor an in-cluster configuration was found.
    #[error("cannot find a cluster to talk to (no kubeconfig and not running in a pod)")]
    NoConfig(#[source] kube::config::InferConfigError),
    /// The client could not be built from the configuration (TLS material, proxy, …).
    #[error("cannot create a Kubernetes client{}", in_context(context.as_deref()))]
    Client {
        /// The context.
        context: Option<String>,
        /// What kube-rs reported.
        #[source]
        source: kube::Error,
    },
    /// The request did not get an answer (connection refused, TLS, timeout, deadline), after
    /// the retries the policy allows.
    #[error("listing pods in {scope}{} failed after {attempts} attempt(s)", in_context(context.as_deref()))]
    Request {
        /// The context.
        context: Option<String>,
        /// `namespace X` or `all namespaces`.
        scope: String,
        /// Attempts made.
        attempts: u32,
        /// Why there was no answer.
        #[source]
        source: RequestFailure,
    },
    /// The API server answered with an error status.
    #[error("listing pods in {scope}{} failed: {code} {reason}: {message}{}", in_context(context.as_deref()), hint(*code))]
    Api {
        /// The context.
        context: Option<String>,
        /// `namespace X` or `all namespaces`.
        scope: String,
        /// The HTTP status code.
        code: u16,
        /// The `Status.reason`, or the HTTP reason phrase.
        reason: String,
        /// The `Status.message`, or the body.
        message: String,
    },
    /// The answer was not a pod list.
    #[error("listing pods in {scope}{}: the answer is not a pod list: {message}", in_context(context.as_deref()))]
    Decode {
        /// The context.
        context: Option<String>,
        /// `namespace X` or `all namespaces`.
        scope: String,
        /// What did not parse.
        message: String,
    },
}

fn in_path(path: Option<&Path>) -> String {
    path.map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

fn in_context(context: Option<&str>) -> String {
    context
        .map(|c| format!(" (context {c})"))
        .unwrap_or_default()
}

/// What a 401 means, for listing and deleting alike.
pub(crate) const CREDENTIALS_HINT: &str = "the API server did not accept the credentials; check \
                                           the kubeconfig user (token, certificate, or exec plugin)";

fn hint(code: u16) -> String {
    match code {
        401 => format!("\nhint: {CREDENTIALS_HINT}"),
        403 => "\nhint: the identity needs `list` on `pods` in the namespaces scanned (a Role per \
                namespace, or a ClusterRole for -A); see the RBAC section of the README"
            .to_string(),
        _ => String::new(),
    }
}

/// A client for one context.
#[derive(Clone)]
pub(crate) struct Connection {
    /// Sends every request of this context under the run's policy.
    pub sender: Sender,
    /// The context's name, when it comes from a kubeconfig.
    pub context: Option<String>,
    /// The namespace to list when neither `-n` nor `-A` is given.
    pub default_namespace: String,
    /// The API server's URL: contexts of one server share its rate limit.
    pub server: String,
    /// A client for long-running watches (`watch`): its read timeout is longer than a watch
    /// request's `timeoutSeconds`, so a quiet watch is not cut as a stalled answer.
    pub watch_client: Client,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("sender", &self.sender)
            .field("context", &self.context)
            .field("default_namespace", &self.default_namespace)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// How long one watch request lasts (`timeoutSeconds`) before it is renewed.
pub(crate) const WATCH_TIMEOUT: Duration = Duration::from_secs(120);

/// The kubeconfig that kube reads when none is given: `$KUBECONFIG` when set (possibly a
/// `:`-separated list, shown as given), else `~/.kube/config` when it exists.
fn default_kubeconfig() -> Option<PathBuf> {
    match std::env::var_os("KUBECONFIG") {
        Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
        _ => std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".kube").join("config"))
            .filter(|path| path.exists()),
    }
}

/// Builds a client for `context` (the current context when `None`) from `kubeconfig` (the
/// usual `$KUBECONFIG` / `~/.kube/config` when `None`, falling back to the in-cluster config).
/// Requests follow `policy`, and none is sent after `deadline`.
pub(crate) async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    policy: RequestPolicy,
    deadline: Instant,
) -> Result<Connection, ClusterError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    // The kubeconfig that is read: `--kubeconfig`, else `$KUBECONFIG` or the default file.
    let named = kubeconfig
        .map(Path::to_path_buf)
        .or_else(default_kubeconfig);
    let kubeconfig_error = |source| ClusterError::Kubeconfig {
        path: named.clone(),
        context: context.map(str::to_string),
        source,
    };
    let (config, name) = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(kubeconfig_error)?;
            let name = context
                .map(str::to_string)
                .or_else(|| file.current_context.clone());
            let config = Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(kubeconfig_error)?;
            (config, name)
        }
        (None, Some(name)) => {
            let config = Config::from_kubeconfig(&options)
                .await
                .map_err(kubeconfig_error)?;
            (config, Some(name.to_string()))
        }
        // A kubeconfig named by $KUBECONFIG, or the default file, is read as such, so that a
        // problem with it is reported as one (exit 2) rather than as "no cluster found" after
        // the in-cluster fall-back failed too.
        (None, None) if named.is_some() => {
            let file = Kubeconfig::read().map_err(kubeconfig_error)?;
            let name = file.current_context.clone();
            let config = Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(kubeconfig_error)?;
            (config, name)
        }
        // No kubeconfig at all: the in-cluster configuration, which names no context.
        (None, None) => (Config::infer().await.map_err(ClusterError::NoConfig)?, None),
    };
    let mut config = config;
    // kube retries 429/503/504 up to 15 times with backoff up to 1000 s by default; the
    // policy of `request` is the only one.
    config.default_retry = false;
    config.connect_timeout = Some(policy.timeout);
    config.read_timeout = Some(policy.timeout);
    config.write_timeout = Some(policy.timeout);
    let default_namespace = config.default_namespace.clone();
    let server = config.cluster_url.to_string();
    let mut watch_config = config.clone();
    watch_config.read_timeout = Some(WATCH_TIMEOUT + policy.timeout);
    let client_error = |source| ClusterError::Client {
        context: name.clone(),
        source,
    };
    let client = Client::try_from(config).map_err(client_error)?;
    let watch_client = Client::try_from(watch_config).map_err(client_error)?;
    Ok(Connection {
        sender: Sender::new(client, policy, deadline, None),
        context: name,
        default_namespace,
        server,
        watch_client,
    })
}

/// Collects a page's pods as they are decoded, and passes its continue token on as soon as it is
/// read (before the items: API servers write `metadata` first).
struct PageSink {
    context: Option<String>,
    /// The page's pods, decoded on a blocking thread while the next page is fetched.
    decoded: Listing,
    token: Option<oneshot::Sender<Option<String>>>,
    /// Which item could not be decoded, and why.
    invalid: Option<String>,
}

impl<'de> Sink<'de> for PageSink {
    fn item(&mut self, _index: usize, pod: wire::Pod<'de>) -> Result<(), String> {
        self.decoded.seen += 1;
        self.decoded.add(pod_info(&pod, self.context.as_deref()));
        Ok(())
    }

    fn invalid(&mut self, index: usize, name: Option<String>, problem: String) {
        self.invalid = Some(match name {
            Some(name) => format!("items[{index}] ({name}): {problem}"),
            None => format!("items[{index}]: {problem}"),
        });
    }

    fn token(&mut self, token: Option<&str>) {
        if let Some(tell) = self.token.take() {
            let _ = tell.send(token.map(str::to_string));
        }
    }
}

/// Decodes one page straight from its bytes; only the fields a [`PodInfo`] needs are built.
fn decode_page(
    body: &[u8],
    context: Option<String>,
    token: oneshot::Sender<Option<String>>,
) -> Result<Listing, String> {
    let mut sink = PageSink {
        context,
        decoded: Listing::default(),
        token: Some(token),
        invalid: None,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let decoded = Page(&mut sink).deserialize(&mut de).and_then(|_| de.end());
    if let Err(e) = decoded {
        return Err(match (sink.invalid.take(), e.classify()) {
            (Some(item), serde_json::error::Category::Data) => item,
            _ => e.to_string(),
        });
    }
    Ok(sink.decoded)
}

/// The result of a page's decoding, once it is done.
async fn decoded(
    page: Option<JoinHandle<Result<Listing, String>>>,
) -> Option<Result<Listing, String>> {
    let page = page?;
    Some(match page.await {
        Ok(result) => result,
        Err(failed) => Err(format!("decoding the page failed: {failed}")),
    })
}

/// Lists the candidate pods of one connection in the requested namespaces. `progress` is
/// called after every page with the scope and the number of candidates so far.
pub(crate) async fn list_candidates(
    connection: &Connection,
    namespaces: &Namespaces,
    selector: &LabelSelector,
    progress: &dyn Fn(&str, usize),
) -> Result<Listing, ClusterError> {
    let scopes: Vec<Option<String>> = match namespaces {
        Namespaces::ContextDefault => vec![Some(connection.default_namespace.clone())],
        Namespaces::All => vec![None],
        Namespaces::Only(list) => list.iter().cloned().map(Some).collect(),
    };
    let mut listing = Listing::default();
    for namespace in &scopes {
        list_scope(
            connection,
            namespace.as_deref(),
            selector,
            &mut listing,
            progress,
        )
        .await?;
    }
    Ok(listing)
}

async fn list_scope(
    connection: &Connection,
    namespace: Option<&str>,
    selector: &LabelSelector,
    listing: &mut Listing,
    progress: &dyn Fn(&str, usize),
) -> Result<(), ClusterError> {
    let context = connection.context.clone();
    let (path, scope) = match namespace {
        Some(ns) => (
            format!("/api/v1/namespaces/{ns}/pods"),
            format!("namespace {ns}"),
        ),
        None => ("/api/v1/pods".to_string(), "all namespaces".to_string()),
    };
    let decode_error = |message: String| ClusterError::Decode {
        context: context.clone(),
        scope: scope.clone(),
        message,
    };
    let absorb = |listing: &mut Listing, page: Result<Listing, String>| {
        let page = page.map_err(decode_error)?;
        listing.seen += page.seen;
        listing.pods.extend(page.pods);
        listing.invalid.extend(page.invalid);
        progress(&scope, listing.pods.len());
        Ok::<(), ClusterError>(())
    };
    let selector = selector.to_string();
    let start = (listing.pods.len(), listing.invalid.len(), listing.seen);
    let mut restarts = 0;
    let mut token: Option<String> = None;
    // Every continue token of this listing (a few hundred bytes a page).
    let mut tokens = std::collections::HashSet::new();
    // The page being decoded while the next one is fetched: at most two bodies are held.
    let mut decoding: Option<JoinHandle<Result<Listing, String>>> = None;
    loop {
        let mut params = ListParams::default().labels(&selector).limit(PAGE_SIZE);
        if let Some(t) = &token {
            params = params.continue_token(t);
        }
        let request = kube::core::Request::new(&path)
            .list(&params)
            .map_err(|e| decode_error(e.to_string()))?;
        let (sent, previous) =
            tokio::join!(connection.sender.send(&request), decoded(decoding.take()));
        if let Some(previous) = previous {
            absorb(listing, previous)?;
        }
        let answer = sent.result.map_err(|source| ClusterError::Request {
            context: context.clone(),
            scope: scope.clone(),
            attempts: sent.attempts,
            source,
        })?;
        if listing.server_time.is_none() {
            listing.server_time = answer.date;
        }
        let status = answer.status;
        let body = answer.body;
        if status == StatusCode::GONE && token.is_some() && restarts < EXPIRED_RESTARTS {
            // The continue token expired (the server compacted past it): start this scope
            // again from the beginning, dropping what the expired list returned.
            restarts += 1;
            tracing::info!("continue token expired while listing {scope}; restarting the list");
            listing.pods.truncate(start.0);
            listing.invalid.truncate(start.1);
            listing.seen = start.2;
            token = None;
            tokens.clear();
            continue;
        }
        if !status.is_success() {
            return Err(api_error(context, scope, status, &body));
        }
        let (tell, told) = oneshot::channel();
        let page_context = context.clone();
        let page = tokio::task::spawn_blocking(move || decode_page(&body, page_context, tell));
        if let Ok(Some(next)) = told.await {
            // A server that hands back a token it gave before would be listed without end.
            if !tokens.insert(next.clone()) {
                let _ = decoded(Some(page)).await;
                return Err(decode_error(
                    "the server answered with a continue token it had given before: the list \
                     would never end"
                        .into(),
                ));
            }
            token = Some(next);
            decoding = Some(page);
        } else {
            // The last page, or one that failed before its token was read: its result says.
            if let Some(page) = decoded(Some(page)).await {
                absorb(listing, page)?;
            }
            return Ok(());
        }
    }
}

fn api_error(
    context: Option<String>,
    scope: String,
    status: StatusCode,
    body: &[u8],
) -> ClusterError {
    let (reason, message) = status_text(status, body);
    ClusterError::Api {
        context,
        scope,
        code: status.as_u16(),
        reason,
        message,
    }
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

/// What one look at the API server's clock tells: its `Date` header (whole seconds), and when
/// the request was sent and its answer received on the local clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClockSample {
    /// The `Date` header.
    pub date: Timestamp,
    /// Local time when the request was sent.
    pub sent: Timestamp,
    /// Local time when the answer was received.
    pub received: Timestamp,
}

/// Asks the API server for the time: `GET /version`, which every identity may read, answered
/// with a `Date` header. `None` when the answer has none; `Err` says why there was no answer.
pub(crate) async fn clock_sample(connection: &Connection) -> Result<Option<ClockSample>, String> {
    let request = http::Request::get("/version")
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let sent = Timestamp::now();
    let answer = connection.sender.send(&request).await;
    let received = Timestamp::now();
    let answer = answer.result.map_err(|failure| {
        format!(
            "GET /version{} failed after {} attempt(s): {failure}",
            in_context(connection.context.as_deref()),
            answer.attempts
        )
    })?;
    Ok(answer.date.map(|date| ClockSample {
        date,
        sent,
        received,
    }))
}

/// One pod to delete, exactly as it was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteTarget<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Pod name.
    pub name: &'a str,
    /// `metadata.uid` when judged: a pod recreated under the same name is not deleted.
    pub uid: &'a str,
    /// `metadata.resourceVersion` when judged: a pod changed since is not deleted.
    pub resource_version: &'a str,
    /// `gracePeriodSeconds`, or the pod's own when `None`.
    pub grace_period: Option<u32>,
    /// Ask for the server's dry run (`dryRun=All`): admission and RBAC run, nothing is removed.
    pub server_dry_run: bool,
}

/// What the API server made of a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeleteAnswer {
    /// 200 or 202: deleted (in a server dry run: would be).
    Accepted,
    /// 404: the pod is already gone.
    Gone,
    /// 409: the preconditions failed; the pod changed or was replaced since it was judged.
    Changed(String),
    /// 401 or 403: this identity may not delete here, so no further delete in the context can
    /// succeed either.
    Denied {
        /// The HTTP status.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// Any other error status that is final, or a 429/5xx still returned after the retries.
    Rejected {
        /// The HTTP status.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// No answer after the retries: timeouts, connection errors, or the deadline.
    NoAnswer(RequestFailure),
}

/// The final answer of a delete and the attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deleted {
    /// What the server said last.
    pub answer: DeleteAnswer,
    /// DELETE requests sent.
    pub attempts: u32,
}

/// Deletes one pod with `uid` + `resourceVersion` preconditions and background propagation (so
/// the executors the driver owns go too), retried per the connection's policy.
pub(crate) async fn delete_pod(connection: &Connection, target: &DeleteTarget<'_>) -> Deleted {
    let params = DeleteParams {
        dry_run: target.server_dry_run,
        grace_period_seconds: target.grace_period,
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: Some(Preconditions {
            uid: Some(target.uid.to_string()),
            resource_version: Some(target.resource_version.to_string()),
        }),
    };
    let path = format!("/api/v1/namespaces/{}/pods", target.namespace);
    let request = match kube::core::Request::new(path).delete(target.name, &params) {
        Ok(request) => request,
        Err(e) => {
            return Deleted {
                answer: DeleteAnswer::Rejected {
                    code: 0,
                    message: format!("cannot build the request: {e}"),
                },
                attempts: 0,
            };
        }
    };
    let sent = connection.sender.send(&request).await;
    let answer = match sent.result {
        Err(failure) => DeleteAnswer::NoAnswer(failure),
        Ok(answer) => {
            let code = answer.status.as_u16();
            let message = || status_text(answer.status, &answer.body).1;
            match code {
                200..=299 => DeleteAnswer::Accepted,
                404 => DeleteAnswer::Gone,
                409 => DeleteAnswer::Changed(message()),
                401 | 403 => DeleteAnswer::Denied {
                    code,
                    message: message(),
                },
                _ => DeleteAnswer::Rejected {
                    code,
                    message: message(),
                },
            }
        }
    };
    Deleted {
        answer,
        attempts: sent.attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    fn mock_connection() -> (Connection, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let policy = RequestPolicy::default();
        let client = Client::new(service, "spark");
        let sender = Sender::new(
            client.clone(),
            policy,
            Instant::now() + policy.deadline,
            None,
        );
        let connection = Connection {
            sender,
            context: Some("prod".into()),
            default_namespace: "spark".into(),
            server: "https://prod:6443/".into(),
            watch_client: client,
        };
        (connection, handle)
    }

    fn pod(namespace: &str, name: &str) -> serde_json::Value {
        serde_json::json!({
            "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"),
                         "resourceVersion": "7", "creationTimestamp": "2026-11-01T00:00:00Z",
                         "labels": {"kyuubi-unique-tag": format!("tag-{name}"),
                                    "spark-app-selector": "spark-1", "spark-role": "driver"}},
            "status": {"phase": "Succeeded"}
        })
    }

    fn page(items: &[serde_json::Value], continue_token: Option<&str>) -> Response<Body> {
        let body = serde_json::json!({
            "kind": "PodList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "100", "continue": continue_token.unwrap_or("")},
            "items": items,
        });
        Response::builder()
            .header("date", "Fri, 27 Nov 2026 18:43:58 GMT")
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap()
    }

    /// A `Status` error answer, as an API server sends it.
    fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
        let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": reason, "code": code, "message": message});
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap()
    }

    fn query(request: &Request<Body>) -> Vec<(String, String)> {
        url_decode_pairs(request.uri().query().unwrap_or(""))
    }

    fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[tokio::test]
    async fn lists_all_namespaces_page_by_page_with_the_candidate_selector() {
        let (connection, mut handle) = mock_connection();
        let selector = LabelSelector::candidates(Some("team=etl")).unwrap();
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.unwrap();
            assert_eq!(request.method(), http::Method::GET);
            assert_eq!(request.uri().path(), "/api/v1/pods");
            let q = query(&request);
            assert_eq!(
                param(&q, "labelSelector"),
                Some("kyuubi-unique-tag,spark-app-selector,spark-role=driver,team=etl")
            );
            assert_eq!(param(&q, "limit"), Some("500"));
            assert_eq!(param(&q, "continue"), None);
            send.send_response(page(&[pod("a", "p1"), pod("b", "p2")], Some("tok-1")));

            let (request, send) = handle.next_request().await.unwrap();
            let q = query(&request);
            assert_eq!(param(&q, "continue"), Some("tok-1"));
            assert_eq!(param(&q, "limit"), Some("500"));
            send.send_response(page(&[pod("c", "p3")], None));
        });
        let listing = list_candidates(&connection, &Namespaces::All, &selector, &|_, _| {})
            .await
            .unwrap();
        server.await.unwrap();
        let names: Vec<_> = listing.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["p1", "p2", "p3"]);
        assert!(
            listing
                .pods
                .iter()
                .all(|p| p.context.as_deref() == Some("prod"))
        );
        assert_eq!(
            listing.server_time,
            Some("2026-11-27T18:43:58Z".parse().unwrap())
        );
    }

    #[tokio::test]
    async fn lists_each_requested_namespace_and_the_default_one() {
        let (connection, mut handle) = mock_connection();
        let selector = LabelSelector::candidates(None).unwrap();
        let server = tokio::spawn(async move {
            for ns in ["x", "y", "spark"] {
                let (request, send) = handle.next_request().await.unwrap();
                assert_eq!(
                    request.uri().path(),
                    format!("/api/v1/namespaces/{ns}/pods")
                );
                send.send_response(page(&[pod(ns, &format!("{ns}-driver"))], None));
            }
        });
        let only = Namespaces::Only(vec!["x".into(), "y".into()]);
        let listing = list_candidates(&connection, &only, &selector, &|_, _| {})
            .await
            .unwrap();
        assert_eq!(listing.pods.len(), 2);
        let listing = list_candidates(
            &connection,
            &Namespaces::ContextDefault,
            &selector,
            &|_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(listing.pods[0].namespace, "spark");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn an_expired_continue_token_restarts_the_list() {
        let (connection, mut handle) = mock_connection();
        let selector = LabelSelector::candidates(None).unwrap();
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(page(&[pod("a", "p1")], Some("old")));
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(status(
                410,
                "Expired",
                "The provided continue parameter is too old",
            ));
            let (request, send) = handle.next_request().await.unwrap();
            assert_eq!(
                param(&query(&request), "continue"),
                None,
                "restarted from the beginning"
            );
            send.send_response(page(&[pod("a", "p1"), pod("a", "p2")], None));
        });
        let listing = list_candidates(&connection, &Namespaces::All, &selector, &|_, _| {})
            .await
            .unwrap();
        server.await.unwrap();
        let names: Vec<_> = listing.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["p1", "p2"],
            "no duplicates from the expired attempt"
        );
    }

    #[tokio::test]
    async fn a_server_that_repeats_a_continue_token_is_not_listed_without_end() {
        let (connection, mut handle) = mock_connection();
        let selector = LabelSelector::candidates(None).unwrap();
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(page(&[pod("a", "p1")], Some("same")));
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(page(&[pod("a", "p2")], Some("same")));
        });
        let err = list_candidates(&connection, &Namespaces::All, &selector, &|_, _| {})
            .await
            .unwrap_err();
        server.await.unwrap();
        assert!(
            err.to_string().contains("the list would never end"),
            "{err}"
        );

        // Nor one whose tokens go round in a cycle.
        let (connection, mut handle) = mock_connection();
        let server = tokio::spawn(async move {
            for (name, token) in [("p1", "a"), ("p2", "b"), ("p3", "a")] {
                let (_, send) = handle.next_request().await.unwrap();
                send.send_response(page(&[pod("a", name)], Some(token)));
            }
        });
        let err = list_candidates(&connection, &Namespaces::All, &selector, &|_, _| {})
            .await
            .unwrap_err();
        server.await.unwrap();
        assert!(
            err.to_string().contains("the list would never end"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn forbidden_is_a_cluster_error_with_an_rbac_hint() {
        let (connection, mut handle) = mock_connection();
        let selector = LabelSelector::candidates(None).unwrap();
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(status(
                403,
                "Forbidden",
                "pods is forbidden: User \"bob\" cannot list resource \"pods\" in API group \"\" in the namespace \"spark\"",
            ));
        });
        let err = list_candidates(
            &connection,
            &Namespaces::ContextDefault,
            &selector,
            &|_, _| {},
        )
        .await
        .unwrap_err();
        server.await.unwrap();
        let text = err.to_string();
        assert!(text.contains("namespace spark (context prod)"), "{text}");
        assert!(text.contains("403 Forbidden"), "{text}");
        assert!(text.contains("`list` on `pods`"), "{text}");
    }

    fn target(server_dry_run: bool, grace_period: Option<u32>) -> DeleteTarget<'static> {
        DeleteTarget {
            namespace: "spark",
            name: "d1",
            uid: "u-1",
            resource_version: "42",
            grace_period,
            server_dry_run,
        }
    }

    #[tokio::test]
    async fn a_delete_carries_the_preconditions_and_background_propagation() {
        let (connection, mut handle) = mock_connection();
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.unwrap();
            assert_eq!(request.method(), http::Method::DELETE);
            assert_eq!(request.uri().path(), "/api/v1/namespaces/spark/pods/d1");
            let body = request.into_body().collect_bytes().await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({
                    "propagationPolicy": "Background",
                    "preconditions": {"uid": "u-1", "resourceVersion": "42"}
                })
            );
            send.send_response(status(200, "", "ok"));
            let (request, send) = handle.next_request().await.unwrap();
            let body = request.into_body().collect_bytes().await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["dryRun"], serde_json::json!(["All"]));
            assert_eq!(body["gracePeriodSeconds"], 5);
            send.send_response(status(200, "", "ok"));
        });
        let deleted = delete_pod(&connection, &target(false, None)).await;
        assert_eq!(
            (deleted.answer, deleted.attempts),
            (DeleteAnswer::Accepted, 1)
        );
        let deleted = delete_pod(&connection, &target(true, Some(5))).await;
        assert_eq!(deleted.answer, DeleteAnswer::Accepted);
        server.await.unwrap();
    }

    #[tokio::test]
    async fn delete_answers_mean_gone_changed_denied_or_rejected() {
        let (connection, mut handle) = mock_connection();
        let server = tokio::spawn(async move {
            for (code, reason) in [
                (404, "NotFound"),
                (409, "Conflict"),
                (403, "Forbidden"),
                (422, "Invalid"),
            ] {
                let (_, send) = handle.next_request().await.unwrap();
                send.send_response(status(code, reason, &format!("{reason} said the server")));
            }
        });
        let mut answers = Vec::new();
        for _ in 0..4 {
            let deleted = delete_pod(&connection, &target(false, None)).await;
            assert_eq!(deleted.attempts, 1, "none of these is retried");
            answers.push(deleted.answer);
        }
        server.await.unwrap();
        assert_eq!(answers[0], DeleteAnswer::Gone);
        assert_eq!(
            answers[1],
            DeleteAnswer::Changed("Conflict said the server".into())
        );
        assert!(matches!(answers[2], DeleteAnswer::Denied { code: 403, .. }));
        assert!(matches!(
            answers[3],
            DeleteAnswer::Rejected { code: 422, .. }
        ));
    }

    #[test]
    fn parses_http_dates() {
        use crate::k8s::request::parse_http_date;
        assert_eq!(
            parse_http_date("Fri, 27 Nov 2026 18:43:58 GMT"),
            Some("2026-11-27T18:43:58Z".parse().unwrap())
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
