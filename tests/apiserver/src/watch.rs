//! Watch streams: newline-delimited JSON events, with the watch cache's semantics
//! (synthetic `ADDED` for `resourceVersion` unset/`0`, replay from a resource version,
//! `ERROR` 410 when it is too old, selector transitions as `ADDED`/`DELETED`, bookmarks,
//! `timeoutSeconds`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::http::{Body, BodyError, IncludeObject, Output, parse_bool, render_object};
use crate::lock;
use crate::pod::PodRecord;
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Event, EventType, Filter};

/// Parameters of a watch request.
#[derive(Debug, Clone)]
pub(crate) struct WatchParams {
    pub(crate) resource_version: Option<String>,
    pub(crate) allow_bookmarks: bool,
    pub(crate) send_initial_events: bool,
    pub(crate) timeout: Duration,
}

impl WatchParams {
    pub(crate) fn from_query(
        params: &[(String, String)],
        default_timeout: Duration,
    ) -> Result<Self, ApiError> {
        let get = |k: &str| {
            params
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
        };
        let b = |k: &str| match get(k) {
            None | Some("") => Ok(false),
            Some(v) => parse_bool(v),
        };
        let timeout = match get("timeoutSeconds") {
            None | Some("") => default_timeout,
            Some(t) => Duration::from_secs(
                t.parse::<i64>()
                    .map_err(|_| {
                        ApiError::bad_request(format!(
                            "strconv.ParseInt: parsing {t:?}: invalid syntax"
                        ))
                    })?
                    .max(0)
                    .unsigned_abs(),
            ),
        };
        let send_initial_events = b("sendInitialEvents")?;
        let allow_bookmarks = b("allowWatchBookmarks")?;
        if send_initial_events {
            let m = get("resourceVersionMatch").unwrap_or("");
            if m != "NotOlderThan" || !allow_bookmarks {
                return Err(ApiError::invalid(
                    "ListOptions.meta.k8s.io",
                    "",
                    &[(
                        "FieldValueForbidden".into(),
                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true".into(),
                        "sendInitialEvents".into(),
                    )],
                ));
            }
        }
        Ok(Self {
            resource_version: get("resourceVersion")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            allow_bookmarks,
            send_initial_events,
            timeout,
        })
    }
}

/// Render a watch event line.
fn event_line(kind: &str, obj: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(obj.len() + 32);
    v.extend_from_slice(b"{\"type\":\"");
    v.extend_from_slice(kind.as_bytes());
    v.extend_from_slice(b"\",\"object\":");
    v.extend_from_slice(obj);
    v.extend_from_slice(b"}\n");
    v
}

fn bookmark(rv: u64, initial_events_end: bool, out: Output) -> Vec<u8> {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_events_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = match out {
        Output::Partial(v) => {
            json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta})
        }
        _ => {
            json!({"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": {"containers": null}, "status": {}})
        }
    };
    event_line("BOOKMARK", obj.to_string().as_bytes())
}

/// How an event looks to a watcher with `filter` (the cacher's `convertToWatchEvent`).
fn transform(e: &Event, filter: &Filter) -> Option<(EventType, Arc<PodRecord>)> {
    let cur = e.kind != EventType::Deleted && filter.matches(&e.obj);
    let old = e.prev.as_ref().is_some_and(|p| filter.matches(p));
    match (cur, old) {
        (true, false) => Some((EventType::Added, e.obj.clone())),
        (true, true) => Some((EventType::Modified, e.obj.clone())),
        (false, true) => {
            if e.kind == EventType::Deleted {
                Some((EventType::Deleted, e.obj.clone()))
            } else {
                let prev = e.prev.as_ref()?;
                Some((EventType::Deleted, Arc::new(prev.with_rv(e.rv))))
            }
        }
        (false, false) => None,
    }
}

struct Writer {
    tx: mpsc::Sender<Result<Bytes, BodyError>>,
    buf: Vec<u8>,
    sent: usize,
    cut: Option<usize>,
    out: Output,
    include: IncludeObject,
    headers_sent: bool,
}

enum Stop {
    Closed,
    Cut,
}

impl Writer {
    async fn flush(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let b = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.send(Ok(b)).await.map_err(|_| Stop::Closed)
    }

    async fn event(
        &mut self,
        kind: EventType,
        r: &PodRecord,
        now: jiff::Timestamp,
    ) -> Result<(), Stop> {
        if self.cut.is_some_and(|c| self.sent >= c) {
            self.flush().await?;
            crate::http::abort_body(&self.tx, "watch cut by fault injection").await;
            return Err(Stop::Cut);
        }
        let obj = render_object(r, self.out, self.include, now, !self.headers_sent);
        self.headers_sent = true;
        self.buf.extend_from_slice(&event_line(kind.as_str(), &obj));
        self.sent += 1;
        if self.buf.len() >= 64 * 1024 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn raw(&mut self, line: &[u8]) -> Result<(), Stop> {
        self.buf.extend_from_slice(line);
        self.flush().await
    }
}

/// Validate a watch request, then answer 200 and stream events from a task.
pub(crate) async fn start_watch(
    shared: &Arc<Shared>,
    filter: Filter,
    params: WatchParams,
    out: Output,
    include: IncludeObject,
    cut: Option<usize>,
) -> Result<Response<Body>, ApiError> {
    if out == Output::Yaml {
        return Err(ApiError::not_acceptable());
    }
    // A resource version from the future: wait a little for it, like the watch cache.
    let mut start_rv: Option<u64> = None;
    if let Some(rv) = params.resource_version.as_deref().filter(|r| *r != "0") {
        let n: u64 = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))?;
        let mut rx = lock(&shared.store).subscribe();
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let cur = *rx.borrow_and_update();
            if cur >= n {
                break;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err(ApiError::too_large_resource_version(n, cur));
            }
        }
        start_rv = Some(n);
    }
    let (initial, cursor, error): (Vec<Arc<PodRecord>>, u64, Option<ApiError>) = {
        let st = lock(&shared.store);
        match start_rv {
            Some(n) if !params.send_initial_events => {
                if n < st.compacted() {
                    let e = ApiError::expired(format!(
                        "too old resource version: {n} ({})",
                        st.compacted()
                    ));
                    (Vec::new(), n, Some(e))
                } else {
                    (Vec::new(), n, None)
                }
            }
            _ => {
                let items: Vec<Arc<PodRecord>> =
                    st.all().filter(|r| filter.matches(r)).cloned().collect();
                (items, st.rv(), None)
            }
        }
    };
    let (tx, rx) = mpsc::channel(16);
    let shared2 = shared.clone();
    tokio::spawn(async move {
        let mut w = Writer {
            tx,
            buf: Vec::new(),
            sent: 0,
            cut,
            out,
            include,
            headers_sent: false,
        };
        let _ = run(&shared2, &mut w, &filter, &params, initial, cursor, error).await;
    });
    let mut resp = Response::new(Body::Stream(rx));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

async fn run(
    shared: &Arc<Shared>,
    w: &mut Writer,
    filter: &Filter,
    params: &WatchParams,
    initial: Vec<Arc<PodRecord>>,
    mut cursor: u64,
    error: Option<ApiError>,
) -> Result<(), Stop> {
    if let Some(e) = error {
        let line = event_line("ERROR", e.to_status().to_string().as_bytes());
        return w.raw(&line).await;
    }
    let deadline = Instant::now() + params.timeout;
    let now = shared.clock.now();
    for r in &initial {
        w.event(EventType::Added, r, now).await?;
    }
    drop(initial);
    if params.send_initial_events {
        w.buf.extend_from_slice(&bookmark(cursor, true, w.out));
    }
    w.flush().await?;
    let mut rv_rx = lock(&shared.store).subscribe();
    let mut shutdown = shared.shutdown.clone();
    let interval = shared.opts.bookmark_interval.max(Duration::from_millis(10));
    let mut next_bookmark = Instant::now() + interval;
    loop {
        // drain everything after the cursor
        loop {
            let batch = lock(&shared.store).events_after(cursor, 1000);
            let Ok(batch) = batch else {
                // the watcher fell behind compaction: the real cacher closes such watches
                w.flush().await?;
                return Ok(());
            };
            if batch.is_empty() {
                break;
            }
            let now = shared.clock.now();
            for e in &batch {
                cursor = e.rv;
                if let Some((kind, obj)) = transform(e, filter) {
                    w.event(kind, &obj, now).await?;
                }
            }
            w.flush().await?;
        }
        if Instant::now() >= deadline {
            return Ok(());
        }
        tokio::select! {
            r = rv_rx.changed() => { if r.is_err() { return Ok(()); } }
            () = tokio::time::sleep_until(next_bookmark), if params.allow_bookmarks => {
                next_bookmark = Instant::now() + interval;
                let line = bookmark(cursor, false, w.out);
                w.raw(&line).await?;
            }
            () = tokio::time::sleep_until(deadline) => return Ok(()),
            _ = shutdown.changed() => return Ok(()),
            () = w.tx.closed() => return Err(Stop::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::LabelSelector;
    use serde_json::Value;

    fn rec(name: &str, rv: u64, app: &str) -> Arc<PodRecord> {
        Arc::new(
            PodRecord::from_value(&json!({"metadata": {"name": name, "namespace": "ns", "uid": "u", "resourceVersion": rv.to_string(), "labels": {"app": app}}}))
                .unwrap(),
        )
    }

    #[test]
    fn selector_transitions() {
        let f = Filter {
            prefix: String::new(),
            labels: LabelSelector::parse("app=a").unwrap(),
            ..Filter::default()
        };
        let leave = Event {
            rv: 5,
            kind: EventType::Modified,
            obj: rec("p", 5, "b"),
            prev: Some(rec("p", 4, "a")),
        };
        let (k, o) = transform(&leave, &f).unwrap();
        assert_eq!(k, EventType::Deleted);
        assert_eq!(o.rv, 5);
        assert_eq!(o.labels[0].1, "a");
        let enter = Event {
            rv: 6,
            kind: EventType::Modified,
            obj: rec("p", 6, "a"),
            prev: Some(rec("p", 5, "b")),
        };
        assert_eq!(transform(&enter, &f).unwrap().0, EventType::Added);
        let other = Event {
            rv: 7,
            kind: EventType::Modified,
            obj: rec("p", 7, "c"),
            prev: Some(rec("p", 6, "b")),
        };
        assert!(transform(&other, &f).is_none());
    }

    #[test]
    fn bookmark_shape() {
        let b = String::from_utf8(bookmark(42, true, Output::Json)).unwrap();
        let v: Value = serde_json::from_str(b.trim()).unwrap();
        assert_eq!(v["type"], "BOOKMARK");
        assert_eq!(v["object"]["metadata"]["resourceVersion"], "42");
        assert_eq!(
            v["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert_eq!(v["object"]["kind"], "Pod");
    }

    #[test]
    fn params() {
        let p = WatchParams::from_query(
            &[
                ("watch".into(), "True".into()),
                ("timeoutSeconds".into(), "5".into()),
                ("allowWatchBookmarks".into(), "true".into()),
            ],
            Duration::from_secs(1800),
        )
        .unwrap();
        assert_eq!(p.timeout, Duration::from_secs(5));
        assert!(p.allow_bookmarks);
        assert!(
            WatchParams::from_query(
                &[("sendInitialEvents".into(), "true".into())],
                Duration::ZERO
            )
            .is_err()
        );
    }
}
