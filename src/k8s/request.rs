//! The one request helper for every call to an API server, and the retry policy it applies.
//!
//! Owns: [`RequestPolicy`] (per-request timeout, bounded attempts, exponential backoff with full
//! jitter, `Retry-After` honoured up to [`RETRY_AFTER_CAP`], a whole-run deadline), the
//! client-side rate limit per API server ([`RateLimit`]), and [`Sender::send`], which returns
//! the status, the `Date` and `Retry-After` headers and the whole body of the final answer, so
//! that list, delete and (later) watch share one plumbing. kube's own retry layer is turned off
//! where clients are built (`cluster::connect`), so this is the only retry a request sees. Must
//! not: interpret bodies (callers decode them) or decide what an answer means for a pod.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota};
use http::StatusCode;
use jiff::Timestamp;
use kube::Client;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The first backoff step; step `n` waits a uniformly random time in `[0, min(cap, base·2ⁿ)]`
/// ("full jitter"), so that many clients retrying the same overloaded server spread out.
pub(crate) const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The longest backoff step.
pub(crate) const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured: a server asking for more is retried after this long.
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// How requests to API servers are timed and retried. One policy for the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestPolicy {
    /// Connect timeout, and the time one attempt may take from sending to the end of the body.
    pub timeout: Duration,
    /// Retries after the first attempt, for answers worth retrying (429, 5xx, no answer).
    pub max_retries: u32,
    /// The whole run's budget for API requests, from the start of the run.
    pub deadline: Duration,
    /// The largest answer body read (`--max-page-size`): a bigger one, or one that never ends,
    /// fails the request instead of growing the process.
    pub max_body: u64,
}

/// The default of [`RequestPolicy::max_body`]: 500 pods of the largest size etcd stores
/// (1.5 MiB) would not fit, but 500 pods of 500 KiB, far fatter than any driver pod, do.
pub(crate) const DEFAULT_MAX_BODY: u64 = 256 << 20;

impl Default for RequestPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_retries: 5,
            deadline: Duration::from_secs(30 * 60),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl RequestPolicy {
    /// The backoff before retry number `retry` (0 for the first retry), with full jitter, or the
    /// server's `Retry-After` (capped) when it gave one. `jitter` is a uniform draw in `[0, 1)`.
    #[must_use]
    pub(crate) fn backoff(retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(after) = retry_after {
            return after.min(RETRY_AFTER_CAP);
        }
        let ceiling = BACKOFF_BASE
            .saturating_mul(1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX))
            .min(BACKOFF_CAP);
        ceiling.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Whether an answer with this status is worth another attempt: throttling and server-side
/// failures are; everything else (success, 4xx) is final.
#[must_use]
pub(crate) fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A client-side rate limit (`--qps`, `--burst`) shared by every request to one API server.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit(Arc<DefaultDirectRateLimiter>);

impl RateLimit {
    /// `qps` requests per second on average, up to `burst` at once.
    #[must_use]
    pub(crate) fn new(qps: f64, burst: u32) -> Self {
        // A request every 1/qps seconds replenishes the bucket; a nanosecond at the least.
        let period = Duration::from_secs_f64(1.0 / qps.max(1e-3)).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self(Arc::new(DefaultDirectRateLimiter::direct(quota)))
    }

    async fn wait(&self) {
        self.0.until_ready().await;
    }
}

/// The final answer of a request.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Date` header: the API server's clock.
    pub date: Option<Timestamp>,
    /// The `Retry-After` header, in whole seconds.
    pub retry_after: Option<Duration>,
    /// The whole body.
    pub body: Bytes,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestFailure {
    /// No complete answer within the per-request timeout.
    #[error("no answer within {}s (--request-timeout)", .0.as_secs_f64())]
    Timeout(Duration),
    /// The connection failed (refused, reset, TLS, a body cut short).
    #[error("{0}")]
    Transport(String),
    /// The run was interrupted before the request could be (re)tried.
    #[error("interrupted before the request could be {}", if last.is_some() { "retried" } else { "sent" })]
    Cancelled {
        /// What the last attempt got, if there was one.
        last: Option<String>,
    },
    /// The answer's body is larger than `--max-page-size` allows (or never ended).
    #[error("the answer is larger than {} bytes (--max-page-size)", .0)]
    TooLarge(u64),
    /// The run's `--deadline` passed before the request could be (re)tried.
    #[error("the run's --deadline passed{}", last.as_ref().map(|l| format!(" (last attempt: {l})")).unwrap_or_default())]
    Deadline {
        /// What the last attempt got, if there was one.
        last: Option<String>,
    },
}

/// The result of [`Sender::send`]: the final answer or failure, and how many attempts it took.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The final answer (possibly an error status that is not retried, or one retried to the
    /// limit), or why there was none.
    pub result: Result<Answer, RequestFailure>,
    /// Attempts sent (0 when the deadline had passed before the first).
    pub attempts: u32,
}

/// Sends requests to one API server under the run's policy.
#[derive(Clone)]
pub(crate) struct Sender {
    client: Client,
    policy: RequestPolicy,
    deadline: Instant,
    limit: Option<RateLimit>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("policy", &self.policy)
            .field("deadline", &self.deadline)
            .field("rate_limited", &self.limit.is_some())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `client` whose deadline is `deadline` (the run's start plus
    /// [`RequestPolicy::deadline`]), optionally rate-limited.
    #[must_use]
    pub(crate) fn new(
        client: Client,
        policy: RequestPolicy,
        deadline: Instant,
        limit: Option<RateLimit>,
    ) -> Self {
        Self {
            client,
            policy,
            deadline,
            limit,
            cancel: CancellationToken::new(),
        }
    }

    /// The same sender, stopping when `cancel` is cancelled: no attempt starts after that, and
    /// a wait for the rate limit or a backoff ends at once (an attempt on the wire finishes).
    #[must_use]
    pub(crate) fn with_cancel(&self, cancel: CancellationToken) -> Self {
        Self {
            cancel,
            ..self.clone()
        }
    }

    /// The same sender with another deadline (`watch`: each round of deletes has its own).
    #[must_use]
    pub(crate) fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            deadline,
            ..self.clone()
        }
    }

    /// The same sender with another rate limit.
    #[must_use]
    pub(crate) fn with_limit(&self, limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            ..self.clone()
        }
    }

    /// Whether the run's deadline has passed.
    #[must_use]
    pub(crate) fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Sends the request `build` makes (once per attempt), retrying timeouts, connection errors,
    /// 429 and 5xx with backoff until an answer is final, the retries are used up, or the
    /// deadline would pass.
    pub(crate) async fn send(&self, request: &http::Request<Vec<u8>>) -> Sent {
        let mut attempts = 0;
        let mut last: Option<String> = None;
        loop {
            if self.cancel.is_cancelled() {
                return Sent {
                    result: Err(RequestFailure::Cancelled { last }),
                    attempts,
                };
            }
            if Instant::now() >= self.deadline {
                return Sent {
                    result: Err(RequestFailure::Deadline { last }),
                    attempts,
                };
            }
            if let Some(limit) = &self.limit {
                tokio::select! {
                    waited = tokio::time::timeout_at(self.deadline, limit.wait()) => {
                        if waited.is_err() {
                            return Sent {
                                result: Err(RequestFailure::Deadline { last }),
                                attempts,
                            };
                        }
                    }
                    () = self.cancel.cancelled() => {
                        return Sent {
                            result: Err(RequestFailure::Cancelled { last }),
                            attempts,
                        };
                    }
                }
            }
            attempts += 1;
            let own_limit = Instant::now() + self.policy.timeout;
            let limit = own_limit.min(self.deadline);
            let result = match tokio::time::timeout_at(limit, self.once(copy(request))).await {
                Ok(result) => result,
                Err(_) if limit < own_limit => Err(RequestFailure::Deadline {
                    last: Some("no answer before the deadline".into()),
                }),
                Err(_) => Err(RequestFailure::Timeout(self.policy.timeout)),
            };
            let retry_after = match &result {
                Ok(answer) if retryable(answer.status) => answer.retry_after,
                // A body too large is as large the next time.
                Ok(_)
                | Err(
                    RequestFailure::Deadline { .. }
                    | RequestFailure::Cancelled { .. }
                    | RequestFailure::TooLarge(_),
                ) => {
                    return Sent { result, attempts };
                }
                Err(_) => None,
            };
            if attempts > self.policy.max_retries {
                return Sent { result, attempts };
            }
            let wait = RequestPolicy::backoff(attempts - 1, retry_after, fastrand::f64());
            let described = match &result {
                Ok(answer) => answer.status.to_string(),
                Err(failure) => failure.to_string(),
            };
            if Instant::now() + wait >= self.deadline {
                return Sent {
                    result: Err(RequestFailure::Deadline {
                        last: Some(described),
                    }),
                    attempts,
                };
            }
            tracing::debug!(
                "attempt {attempts} got {described}; retrying in {:.2}s",
                wait.as_secs_f64()
            );
            last = Some(described);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.cancel.cancelled() => {
                    return Sent {
                        result: Err(RequestFailure::Cancelled { last }),
                        attempts,
                    };
                }
            }
        }
    }

    /// One attempt: the answer's status, headers and whole body.
    async fn once(&self, request: http::Request<Vec<u8>>) -> Result<Answer, RequestFailure> {
        let response = self
            .client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| RequestFailure::Transport(error_chain(&e)))?;
        let status = response.status();
        let header = |name: http::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let date = header(http::header::DATE).and_then(|v| parse_http_date(&v));
        let retry_after = header(http::header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_body(response.into_body(), self.policy.max_body).await?;
        Ok(Answer {
            status,
            date,
            retry_after,
            body,
        })
    }
}

/// Reads a whole body of at most `max` bytes, refusing a longer one as soon as it is known to
/// be longer (a `Content-Length` above it, or the frames read so far).
async fn read_body(mut body: kube::client::Body, max: u64) -> Result<Bytes, RequestFailure> {
    use http_body::Body as _;
    use http_body_util::BodyExt as _;
    if body.size_hint().lower() > max {
        return Err(RequestFailure::TooLarge(max));
    }
    // Sized once from `Content-Length` when the server sent one: no copying as it grows.
    let expected = usize::try_from(body.size_hint().lower().min(max)).unwrap_or(0);
    let mut collected = bytes::BytesMut::with_capacity(expected);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| RequestFailure::Transport(error_chain(&e)))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > max {
                return Err(RequestFailure::TooLarge(max));
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

/// A fresh copy of a request for the next attempt (`http::Request` is not `Clone`).
fn copy(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// An error and its causes on one line (`a: b: c`), for messages and the audit log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Parses an HTTP `Date` header (RFC 9110 IMF-fixdate, e.g. `Fri, 27 Nov 2026 18:43:58 GMT`).
#[must_use]
pub(crate) fn parse_http_date(value: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::parse(value.trim())
        .ok()
        .map(|zoned| zoned.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    fn sender(policy: RequestPolicy) -> (Sender, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = Client::new(service, "default");
        let deadline = Instant::now() + policy.deadline;
        (Sender::new(client, policy, deadline, None), handle)
    }

    fn request() -> http::Request<Vec<u8>> {
        http::Request::get("/api/v1/pods").body(Vec::new()).unwrap()
    }

    fn answer(code: u16, retry_after: Option<&str>) -> Response<Body> {
        let mut builder = Response::builder()
            .status(code)
            .header("date", "Fri, 27 Nov 2026 18:43:58 GMT");
        if let Some(after) = retry_after {
            builder = builder.header("retry-after", after);
        }
        builder.body(Body::from(b"{}".to_vec())).unwrap()
    }

    #[test]
    fn backoff_is_full_jitter_under_a_cap_and_retry_after_is_capped() {
        assert_eq!(RequestPolicy::backoff(0, None, 0.0), Duration::ZERO);
        assert_eq!(RequestPolicy::backoff(0, None, 1.0), BACKOFF_BASE);
        assert_eq!(RequestPolicy::backoff(3, None, 0.5), BACKOFF_BASE * 4);
        assert_eq!(RequestPolicy::backoff(40, None, 1.0), BACKOFF_CAP);
        assert_eq!(
            RequestPolicy::backoff(0, Some(Duration::from_secs(2)), 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            RequestPolicy::backoff(0, Some(Duration::from_secs(3600)), 0.0),
            RETRY_AFTER_CAP
        );
    }

    #[test]
    fn what_is_retried() {
        for code in [429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [200, 400, 401, 403, 404, 409, 410, 422] {
            assert!(!retryable(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_honouring_retry_after_then_returns_the_answer() {
        let (sender, mut handle) = sender(RequestPolicy::default());
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(answer(429, Some("7")));
            let before = Instant::now();
            let (_, send) = handle.next_request().await.unwrap();
            let waited = before.elapsed();
            send.send_response(answer(200, None));
            waited
        });
        let sent = sender.send(&request()).await;
        let waited = server.await.unwrap();
        assert!(waited >= Duration::from_secs(7), "{waited:?}");
        assert_eq!(sent.attempts, 2);
        let answer = sent.result.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.date, Some("2026-11-27T18:43:58Z".parse().unwrap()));
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_and_the_last_answer_is_returned() {
        let policy = RequestPolicy {
            max_retries: 2,
            ..RequestPolicy::default()
        };
        let (sender, mut handle) = sender(policy);
        let server = tokio::spawn(async move {
            for _ in 0..3 {
                let (_, send) = handle.next_request().await.unwrap();
                send.send_response(answer(503, None));
            }
        });
        let sent = sender.send(&request()).await;
        server.await.unwrap();
        assert_eq!(sent.attempts, 3);
        assert_eq!(sent.result.unwrap().status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_status_is_not_retried() {
        let (sender, mut handle) = sender(RequestPolicy::default());
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.unwrap();
            send.send_response(answer(403, None));
        });
        let sent = sender.send(&request()).await;
        server.await.unwrap();
        assert_eq!(sent.attempts, 1);
        assert_eq!(sent.result.unwrap().status, StatusCode::FORBIDDEN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_answers_times_out_and_the_deadline_ends_the_retries() {
        let policy = RequestPolicy {
            timeout: Duration::from_secs(5),
            max_retries: 100,
            deadline: Duration::from_secs(18),
            ..RequestPolicy::default()
        };
        let (sender, mut handle) = sender(policy);
        let start = Instant::now();
        // Keep every request unanswered.
        let server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Some(pair) = handle.next_request().await {
                held.push(pair);
            }
        });
        let sent = sender.send(&request()).await;
        let elapsed = start.elapsed();
        server.abort();
        assert!(
            matches!(sent.result, Err(RequestFailure::Deadline { .. })),
            "{:?}",
            sent.result
        );
        assert!(elapsed <= Duration::from_secs(18), "{elapsed:?}");
        assert!(sent.attempts >= 3, "{}", sent.attempts);
    }
}
