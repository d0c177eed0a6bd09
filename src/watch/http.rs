//! The HTTP endpoints of `watch`: `/metrics` for Prometheus, `/healthz` for the liveness probe
//! and `/readyz` for the readiness probe.
//!
//! Owns: [`Health`], the loop's liveness (a heartbeat with a stall limit) and readiness (with
//! the reason it is not ready), written by the loop and read by the probes; the routes, status
//! codes and content types; and stopping the server on cancellation, with a bounded grace period
//! for requests in flight. Must not: bind the socket (the caller does, so that a port in use is
//! reported before the loop starts), decide readiness (the loop says why it is not ready), block
//! the runtime it shares with the loop, or serve any caller-provided text as anything but
//! `text/plain`.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

/// The content type of `/metrics`: the `OpenMetrics` text format that [`Metrics::render`] writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The content type of the probes' answers, reasons included.
const PLAIN: &str = "text/plain; charset=utf-8";

/// How long requests in flight may take to finish once the server is told to stop. Every
/// handler answers at once, so only a client that stalls its own request or its reading of the
/// answer can reach it; the server then returns anyway, leaving its connections to the runtime's
/// shutdown.
const GRACE: Duration = Duration::from_secs(2);

/// The reason of readiness before the loop first sets it.
const STARTING: &str = "starting";

/// The loop's liveness and readiness, shared between the loop (writer) and the server (reader).
/// `Send + Sync`; its locks are held only to copy a value in or out, never across an `await`.
///
/// The heartbeat clock is [`tokio::time::Instant`] rather than the standard one, so that tests
/// running with a paused tokio clock (`tokio::time::pause`, `advance`) move it with the rest of
/// the loop's timers; outside such tests it is the monotonic clock.
#[derive(Debug)]
pub(crate) struct Health {
    /// `/healthz` fails when no beat came for longer than this.
    stall: Duration,
    /// When the loop last called [`Health::beat`] (or the value was created).
    last_beat: Mutex<Instant>,
    /// Ready, or why not.
    ready: Mutex<Result<(), String>>,
}

impl Health {
    /// Alive as of now, not ready (`starting`). `stall`: `/healthz` fails when the loop has not
    /// called [`Health::beat`] for longer than this.
    pub(crate) fn new(stall: Duration) -> Self {
        Self {
            stall,
            last_beat: Mutex::new(Instant::now()),
            ready: Mutex::new(Err(STARTING.to_string())),
        }
    }

    /// The loop is alive: called on every turn of the loop, at least every few seconds.
    pub(crate) fn beat(&self) {
        *self
            .last_beat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// Ready (`Ok`) or not, with why (e.g. "the first full list is not done", "state stale:
    /// …", "the safety gate refuses: …").
    pub(crate) fn set_ready(&self, ready: Result<(), String>) {
        *self.ready.lock().unwrap_or_else(PoisonError::into_inner) = ready;
    }

    /// Alive, or an error naming how long ago the last beat was and the stall limit.
    pub(crate) fn live(&self) -> Result<(), String> {
        let last = *self
            .last_beat
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let since = Instant::now().saturating_duration_since(last);
        if since > self.stall {
            return Err(format!(
                "the watch loop last turned {} ago (stall limit {})",
                seconds(since),
                seconds(self.stall)
            ));
        }
        Ok(())
    }

    /// Ready, or why not (`starting` until the loop first says otherwise).
    pub(crate) fn ready(&self) -> Result<(), String> {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A duration for a probe's message: seconds with one decimal (`0.1s`, `42.0s`).
fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// What the handlers share.
#[derive(Debug, Clone)]
struct Shared {
    /// Rendered by `/metrics`.
    metrics: Arc<Metrics>,
    /// Read by `/healthz` and `/readyz`.
    health: Arc<Health>,
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listener` until `shutdown` is cancelled; then
/// stops accepting, lets requests in flight finish (at most [`GRACE`]) and returns. Any other
/// path is 404, any method but GET and HEAD on these paths 405.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if let Ok(address) = listener.local_addr() {
        tracing::debug!(%address, "serving /metrics, /healthz and /readyz");
    }
    let server = axum::serve(listener, router(Shared { metrics, health }))
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    let overdue = async {
        shutdown.cancelled().await;
        tokio::time::sleep(GRACE).await;
    };
    tokio::select! {
        result = server => result,
        () = overdue => {
            tracing::debug!(grace = ?GRACE, "HTTP connections still open at shutdown; not waiting");
            Ok(())
        }
    }
}

/// The routes.
fn router(shared: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(shared)
}

/// `GET /metrics`: the registry in the `OpenMetrics` text format.
async fn metrics(State(shared): State<Shared>) -> Response {
    answer(StatusCode::OK, OPENMETRICS, shared.metrics.render())
}

/// `GET /healthz`: 200 `ok`, or 503 with why the loop looks stalled.
async fn healthz(State(shared): State<Shared>) -> Response {
    probe(shared.health.live())
}

/// `GET /readyz`: 200 `ok`, or 503 with why the loop is not ready.
async fn readyz(State(shared): State<Shared>) -> Response {
    probe(shared.health.ready())
}

/// A probe's answer: 200 `ok`, or 503 with the reason; each on one line of plain text.
fn probe(state: Result<(), String>) -> Response {
    match state {
        Ok(()) => answer(StatusCode::OK, PLAIN, "ok\n".to_string()),
        Err(reason) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            PLAIN,
            format!("{reason}\n"),
        ),
    }
}

/// A response with `body` as `content_type`, which clients must not sniff into anything else
/// (the reasons carry paths and pod names) nor cache.
fn answer(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::*;

    /// A parsed answer.
    #[derive(Debug)]
    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// A running server and what it serves.
    struct Server {
        address: SocketAddr,
        metrics: Arc<Metrics>,
        health: Arc<Health>,
        shutdown: CancellationToken,
        task: JoinHandle<std::io::Result<()>>,
    }

    async fn start(stall: Duration) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::new(stall));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(
            listener,
            Arc::clone(&metrics),
            Arc::clone(&health),
            shutdown.clone(),
        ));
        Server {
            address,
            metrics,
            health,
            shutdown,
            task,
        }
    }

    /// Sends `request` raw on a new connection (which it asks to close) and reads the answer.
    async fn send(address: SocketAddr, request: &str) -> Answer {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
            .await
            .expect("the server answers and closes")
            .unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut words = status_line.splitn(3, ' ');
        assert_eq!(words.next(), Some("HTTP/1.1"), "{status_line}");
        let status = words.next().unwrap().parse().unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line");
                (name.trim().to_string(), value.trim().to_string())
            })
            .collect();
        Answer {
            status,
            headers,
            body: body.to_string(),
        }
    }

    async fn get(address: SocketAddr, path: &str) -> Answer {
        send(
            address,
            &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
        )
        .await
    }

    async fn stop(server: Server) {
        server.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), server.task)
            .await
            .expect("serve returns once cancelled");
        result.unwrap().unwrap();
    }

    #[test]
    fn health_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Health>();
    }

    #[tokio::test]
    async fn health_starts_alive_and_not_ready() {
        let health = Health::new(Duration::from_secs(60));
        assert_eq!(health.live(), Ok(()));
        assert_eq!(health.ready(), Err("starting".to_string()));
        health.set_ready(Ok(()));
        assert_eq!(health.ready(), Ok(()));
        health.set_ready(Err("state stale: /zk".into()));
        assert_eq!(health.ready(), Err("state stale: /zk".to_string()));
    }

    #[tokio::test]
    async fn a_stall_is_reported_and_a_beat_clears_it() {
        let health = Health::new(Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(120)).await;
        let error = health.live().unwrap_err();
        assert!(error.contains("ago"), "{error}");
        assert!(error.contains("stall limit 0.1s"), "{error}");
        health.beat();
        assert_eq!(health.live(), Ok(()));
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics() {
        let server = start(Duration::from_secs(60)).await;
        server.metrics.api_error("429");
        server.metrics.leader(true);
        let answer = get(server.address, "/metrics").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some(OPENMETRICS));
        assert!(answer.body.ends_with("# EOF\n"), "{}", answer.body);
        assert!(
            answer
                .body
                .contains("kyuubi_reaper_api_errors_total{code=\"429\"} 1\n"),
            "{}",
            answer.body
        );
        assert!(answer.body.contains("\nkyuubi_reaper_leader 1\n"));
        assert_eq!(answer.body, server.metrics.render());
        stop(server).await;
    }

    #[tokio::test]
    async fn healthz_fails_when_the_loop_stalls() {
        let server = start(Duration::from_millis(50)).await;
        let answer = get(server.address, "/healthz").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some(PLAIN));
        assert_eq!(answer.body, "ok\n");

        tokio::time::sleep(Duration::from_millis(120)).await;
        let answer = get(server.address, "/healthz").await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("content-type"), Some(PLAIN));
        assert!(answer.body.starts_with("the watch loop last turned "));
        assert!(answer.body.ends_with(")\n"), "{:?}", answer.body);

        server.health.beat();
        assert_eq!(get(server.address, "/healthz").await.status, 200);
        stop(server).await;
    }

    #[tokio::test]
    async fn readyz_goes_from_starting_to_ready_to_a_reason() {
        let server = start(Duration::from_secs(60)).await;
        let answer = get(server.address, "/readyz").await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("content-type"), Some(PLAIN));
        assert_eq!(answer.body, "starting\n");

        server.health.set_ready(Ok(()));
        let answer = get(server.address, "/readyz").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "ok\n");

        let reason = "state stale: <script>alert(1)</script> /var/lib/\"kyuubi\"\nsecond line";
        server.health.set_ready(Err(reason.to_string()));
        let answer = get(server.address, "/readyz").await;
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("content-type"), Some(PLAIN));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.body, format!("{reason}\n"));
        stop(server).await;
    }

    #[tokio::test]
    async fn head_answers_without_a_body() {
        let server = start(Duration::from_secs(60)).await;
        for path in ["/metrics", "/healthz", "/readyz"] {
            let answer = send(
                server.address,
                &format!("HEAD {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
            )
            .await;
            let expected = if path == "/readyz" { 503 } else { 200 };
            assert_eq!(answer.status, expected, "{path}");
            assert_eq!(answer.body, "", "{path}");
        }
        stop(server).await;
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_are_refused() {
        let server = start(Duration::from_secs(60)).await;
        for path in [
            "/",
            "/metrics/",
            "/healthz/x",
            "/nope",
            "/%00",
            "/readyz?x=1/../..",
        ] {
            let answer = get(server.address, path).await;
            let expected = if path.starts_with("/readyz?") {
                503
            } else {
                404
            };
            assert_eq!(answer.status, expected, "{path}");
        }
        for method in ["POST", "PUT", "DELETE"] {
            let answer = send(
                server.address,
                &format!(
                    "{method} /metrics HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                ),
            )
            .await;
            assert_eq!(answer.status, 405, "{method}");
        }
        stop(server).await;
    }

    #[tokio::test]
    async fn garbage_does_not_bring_the_server_down() {
        let server = start(Duration::from_secs(60)).await;
        for garbage in [
            "\r\n\r\n",
            "GET\r\n\r\n",
            "GET /metrics HTTP/9.9\r\n\r\n",
            "\u{0}\u{1}\u{2} binary",
            "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        ] {
            let mut stream = TcpStream::connect(server.address).await.unwrap();
            stream.write_all(garbage.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut raw = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
                .await
                .expect("the server closes a bad connection");
        }
        assert_eq!(get(server.address, "/healthz").await.status, 200);
        stop(server).await;
    }

    #[tokio::test]
    async fn cancelling_stops_the_server() {
        let server = start(Duration::from_secs(60)).await;
        let address = server.address;
        assert_eq!(get(address, "/healthz").await.status, 200);
        stop(server).await;
        assert!(TcpStream::connect(address).await.is_err());
    }

    #[tokio::test]
    async fn a_stuck_client_does_not_hold_up_shutdown() {
        let server = start(Duration::from_secs(60)).await;
        // One connection idle, one with half a request: neither ever completes.
        let _idle = TcpStream::connect(server.address).await.unwrap();
        let mut half = TcpStream::connect(server.address).await.unwrap();
        half.write_all(b"GET /metrics HTTP/1.1\r\nHost: te")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        stop(server).await;
        assert!(
            started.elapsed() < GRACE + Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
}
