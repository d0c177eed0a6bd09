//! The HTTP front end: routing, content negotiation (JSON, YAML, `Table`,
//! `PartialObjectMetadata[List]`), authentication, fault injection and the request log.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::clock::{format_http_date, format_rfc3339};
use crate::faults::Decision;
use crate::pod::{PodRecord, key_of, mix64};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{DeleteOptions, Filter, ListPage, ListParams};
use crate::table;
use crate::watch::{WatchParams, start_watch};
use crate::{RecordedRequest, lock};

/// An error inside a streamed body; it makes hyper close the connection.
#[derive(Debug)]
pub(crate) struct BodyError(pub(crate) &'static str);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for BodyError {}

/// A response body: complete, or streamed from a channel.
#[derive(Debug)]
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Result<Bytes, BodyError>>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// The media type a response is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    Json,
    Yaml,
    /// `as=Table`, with the `meta.k8s.io` version.
    Table(&'static str),
    /// `as=PartialObjectMetadata[List]`, with the `meta.k8s.io` version.
    Partial(&'static str),
}

/// Pick the first media type of `Accept` we can produce, like the real negotiation.
pub(crate) fn negotiate(accept: Option<&str>) -> Result<Output, ApiError> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(Output::Json);
    };
    for item in accept.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let media = parts.next().unwrap_or("").to_ascii_lowercase();
        let mut as_ = "";
        let mut g = "";
        let mut v = "";
        for p in parts {
            if let Some((k, val)) = p.split_once('=') {
                match k.trim() {
                    "as" => as_ = val.trim(),
                    "g" => g = val.trim(),
                    "v" => v = val.trim(),
                    _ => {}
                }
            }
        }
        let json_like = matches!(media.as_str(), "application/json" | "*/*" | "application/*");
        if media == "application/yaml" && as_.is_empty() {
            return Ok(Output::Yaml);
        }
        if !json_like {
            continue;
        }
        let version = match v {
            "v1" => "v1",
            "v1beta1" => "v1beta1",
            _ => "",
        };
        match as_ {
            "" => return Ok(Output::Json),
            "Table" if g == "meta.k8s.io" && !version.is_empty() => {
                return Ok(Output::Table(version));
            }
            "PartialObjectMetadata" | "PartialObjectMetadataList"
                if g == "meta.k8s.io" && !version.is_empty() =>
            {
                return Ok(Output::Partial(version));
            }
            _ => {}
        }
    }
    Err(ApiError::not_acceptable())
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Result<bool, ApiError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "strconv.ParseBool: parsing {s:?}: invalid syntax"
        ))),
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    out.push(h * 16 + l);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parse a query string like Go's `url.ParseQuery`.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

pub(crate) fn param<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(pk, _)| pk == k)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn json_response(code: u16, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Body::Full(Some(body)));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn value_response(code: u16, v: &Value, out: Output) -> Response<Body> {
    if out == Output::Yaml {
        let y = serde_yaml::to_string(v).unwrap_or_default();
        let mut r = json_response(code, Bytes::from(y));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/yaml"),
        );
        return r;
    }
    json_response(code, Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
}

pub(crate) fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = value_response(e.code, &e.to_status(), Output::Json);
    if let Some(s) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn text_response(code: u16, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::Full(Some(Bytes::from_static(text.as_bytes()))));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The `metadata` of a list.
pub(crate) fn list_meta(rv: u64, cont: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("resourceVersion".into(), Value::from(rv.to_string()));
    if let Some(c) = cont {
        m.insert("continue".into(), Value::from(c));
    }
    Value::Object(m)
}

fn partial_object(r: &PodRecord, version: &str) -> Vec<u8> {
    let meta = r.metadata_json();
    let mut out = Vec::with_capacity(meta.get().len() + 80);
    out.extend_from_slice(b"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/");
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\",\"metadata\":");
    out.extend_from_slice(meta.get().as_bytes());
    out.push(b'}');
    out
}

/// `includeObject` of a Table request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

fn table_row(r: &PodRecord, version: &str, include: IncludeObject, now: Timestamp) -> Value {
    let v = r.value();
    let (cells, conditions) = table::pod_row_cells(&v, now);
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    if let Some(c) = conditions {
        row.insert("conditions".into(), c);
    }
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => {
            let p: Value =
                serde_json::from_slice(&partial_object(r, version)).unwrap_or(Value::Null);
            row.insert("object".into(), p);
        }
        IncludeObject::Object => {
            row.insert("object".into(), v);
        }
    }
    Value::Object(row)
}

/// Render one pod in the negotiated form.
pub(crate) fn render_object(
    r: &PodRecord,
    out: Output,
    include: IncludeObject,
    now: Timestamp,
    headers: bool,
) -> Bytes {
    match out {
        Output::Json | Output::Yaml => r.json.clone(),
        Output::Partial(v) => Bytes::from(partial_object(r, v)),
        Output::Table(v) => {
            let t = json!({
                "kind": "Table",
                "apiVersion": format!("meta.k8s.io/{v}"),
                "metadata": {"resourceVersion": r.rv.to_string()},
                "columnDefinitions": if headers { table::pod_columns() } else { Value::Null },
                "rows": [table_row(r, v, include, now)],
            });
            Bytes::from(serde_json::to_vec(&t).unwrap_or_default())
        }
    }
}

fn render_list(
    page: &ListPage,
    out: Output,
    include: IncludeObject,
    now: Timestamp,
) -> Response<Body> {
    let meta = list_meta(page.rv, page.continue_token.as_deref());
    match out {
        Output::Json => {
            let mut buf =
                Vec::with_capacity(64 + page.items.iter().map(|r| r.json.len() + 1).sum::<usize>());
            buf.extend_from_slice(b"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":");
            buf.extend_from_slice(meta.to_string().as_bytes());
            buf.extend_from_slice(b",\"items\":[");
            for (i, r) in page.items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(&r.json);
            }
            buf.extend_from_slice(b"]}");
            json_response(200, Bytes::from(buf))
        }
        Output::Yaml => {
            let items: Vec<Value> = page.items.iter().map(|r| r.value()).collect();
            let v =
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items});
            value_response(200, &v, Output::Yaml)
        }
        Output::Partial(v) => {
            let mut buf = Vec::new();
            buf.extend_from_slice(
                b"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/",
            );
            buf.extend_from_slice(v.as_bytes());
            buf.extend_from_slice(b"\",\"metadata\":");
            buf.extend_from_slice(meta.to_string().as_bytes());
            buf.extend_from_slice(b",\"items\":[");
            for (i, r) in page.items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(&partial_object(r, v));
            }
            buf.extend_from_slice(b"]}");
            json_response(200, Bytes::from(buf))
        }
        Output::Table(v) => {
            let rows: Vec<Value> = page
                .items
                .iter()
                .map(|r| table_row(r, v, include, now))
                .collect();
            let t = json!({
                "kind": "Table",
                "apiVersion": format!("meta.k8s.io/{v}"),
                "metadata": meta,
                "columnDefinitions": table::pod_columns(),
                "rows": rows,
            });
            value_response(200, &t, Output::Json)
        }
    }
}

fn version_doc(version: &str) -> Value {
    let v = version.trim_start_matches('v');
    let mut it = v.split('.');
    let major = it.next().unwrap_or("1").to_string();
    let minor = it.next().unwrap_or("33").to_string();
    let min_minor = minor
        .parse::<u32>()
        .map_or_else(|_| minor.clone(), |m| m.saturating_sub(1).to_string());
    json!({
        "major": major, "minor": minor,
        "emulationMajor": major, "emulationMinor": minor,
        "minCompatibilityMajor": major, "minCompatibilityMinor": min_minor,
        "gitVersion": version,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

fn api_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
             "verbs": ["get", "list"], "shortNames": ["ns"], "storageVersionHash": "Q3oi5N2YM8M="},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "verbs": ["create", "delete", "deletecollection", "get", "list", "update", "watch"],
             "shortNames": ["po"], "categories": ["all"], "storageVersionHash": "xPOwRZ+Yhw8="}
        ]
    })
}

fn namespace_object(name: &str, created: Timestamp) -> Value {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |a, b| {
        (a ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    json!({
        "kind": "Namespace", "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": crate::pod::format_uuid(mix64(h), mix64(h ^ 1)),
            "resourceVersion": "1",
            "creationTimestamp": format_rfc3339(created),
            "labels": {"kubernetes.io/metadata.name": name}
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}

/// What a request is, once routed.
enum Route {
    Root,
    Version,
    Health,
    Api,
    Apis,
    ApiV1,
    Pods {
        namespace: Option<String>,
        name: Option<String>,
        legacy_watch: bool,
    },
    Namespaces {
        name: Option<String>,
    },
    /// `/apis/coordination.k8s.io`
    CoordinationGroup,
    /// `/apis/coordination.k8s.io/v1`
    CoordinationV1,
    /// `/apis/coordination.k8s.io/v1/[namespaces/NS/]leases[/NAME]`
    Leases {
        namespace: Option<String>,
        name: Option<String>,
    },
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3`
    OpenApiV3,
    /// `/openapi/v3/apis/coordination.k8s.io/v1`
    OpenApiV3Coordination,
    NotFound,
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        [""] => Route::Root,
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz"] => Route::Health,
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["api", "v1"] => Route::ApiV1,
        ["api", "v1", "pods"] => Route::Pods {
            namespace: None,
            name: None,
            legacy_watch: false,
        },
        ["api", "v1", "watch", "pods"] => Route::Pods {
            namespace: None,
            name: None,
            legacy_watch: true,
        },
        ["api", "v1", "namespaces"] => Route::Namespaces { name: None },
        ["api", "v1", "namespaces", ns] => Route::Namespaces {
            name: Some((*ns).to_string()),
        },
        ["api", "v1", "namespaces", ns, "pods"] => Route::Pods {
            namespace: Some((*ns).to_string()),
            name: None,
            legacy_watch: false,
        },
        ["api", "v1", "namespaces", ns, "pods", name] => Route::Pods {
            namespace: Some((*ns).to_string()),
            name: Some((*name).to_string()),
            legacy_watch: false,
        },
        ["api", "v1", "watch", "namespaces", ns, "pods"] => Route::Pods {
            namespace: Some((*ns).to_string()),
            name: None,
            legacy_watch: true,
        },
        ["api", "v1", "watch", "namespaces", ns, "pods", name] => Route::Pods {
            namespace: Some((*ns).to_string()),
            name: Some((*name).to_string()),
            legacy_watch: true,
        },
        ["apis", "coordination.k8s.io"] => Route::CoordinationGroup,
        ["apis", "coordination.k8s.io", "v1"] => Route::CoordinationV1,
        ["apis", "coordination.k8s.io", "v1", "leases"] => Route::Leases {
            namespace: None,
            name: None,
        },
        [
            "apis",
            "coordination.k8s.io",
            "v1",
            "namespaces",
            ns,
            "leases",
        ] => Route::Leases {
            namespace: Some((*ns).to_string()),
            name: None,
        },
        [
            "apis",
            "coordination.k8s.io",
            "v1",
            "namespaces",
            ns,
            "leases",
            name,
        ] => Route::Leases {
            namespace: Some((*ns).to_string()),
            name: Some((*name).to_string()),
        },
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", "apis", "coordination.k8s.io", "v1"] => Route::OpenApiV3Coordination,
        _ => Route::NotFound,
    }
}

fn verb_of(method: &Method, has_name: bool, watch: bool) -> &'static str {
    match *method {
        Method::GET if watch => "watch",
        Method::GET if has_name => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if has_name => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

/// Everything about the incoming request that handlers need.
pub(crate) struct Incoming2 {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) accept: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
    pub(crate) cut_watch: Option<usize>,
    pub(crate) user_agent: Option<String>,
}

fn filter_for(
    ns: Option<&str>,
    name: Option<&str>,
    params: &[(String, String)],
) -> Result<Filter, ApiError> {
    let labels = LabelSelector::parse(param(params, "labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let mut field_str = param(params, "fieldSelector").unwrap_or("").to_string();
    if let Some(n) = name {
        if !field_str.is_empty() {
            field_str.push(',');
        }
        field_str.push_str("metadata.name=");
        field_str.push_str(
            &n.replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace('=', "\\="),
        );
    }
    let fields = FieldSelector::parse(&field_str).map_err(ApiError::bad_request)?;
    Ok(Filter {
        prefix: ns.map(|n| format!("{n}/")).unwrap_or_default(),
        labels,
        fields,
    })
}

fn list_params(params: &[(String, String)]) -> Result<ListParams, ApiError> {
    let limit = match param(params, "limit") {
        None | Some("") => None,
        Some(l) => Some(
            l.parse::<i64>()
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "strconv.ParseInt: parsing {l:?}: invalid syntax"
                    ))
                })?
                .max(0),
        ),
    };
    Ok(ListParams {
        limit: limit.and_then(|l| usize::try_from(l).ok()),
        continue_token: param(params, "continue").map(str::to_string),
        resource_version: param(params, "resourceVersion").map(str::to_string),
        resource_version_match: param(params, "resourceVersionMatch").map(str::to_string),
    })
}

pub(crate) fn include_object(params: &[(String, String)]) -> Result<IncludeObject, ApiError> {
    match param(params, "includeObject") {
        None | Some("" | "Metadata") => Ok(IncludeObject::Metadata),
        Some("None") => Ok(IncludeObject::None),
        Some("Object") => Ok(IncludeObject::Object),
        Some(o) => Err(ApiError::bad_request(format!(
            "invalid includeObject value: {o:?}"
        ))),
    }
}

pub(crate) fn bool_param(params: &[(String, String)], k: &str) -> Result<bool, ApiError> {
    match param(params, k) {
        None | Some("") => Ok(false),
        Some(v) => parse_bool(v),
    }
}

pub(crate) fn parse_body_value(req: &Incoming2) -> Result<Value, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    match media {
        "application/yaml" => serde_yaml::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}"))),
        "application/json" | "" | "*/*" => serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        }),
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

pub(crate) fn delete_options(req: &Incoming2) -> Result<DeleteOptions, ApiError> {
    let o = if req.body.iter().any(|b| !b.is_ascii_whitespace()) {
        DeleteOptions::from_json(&req.body)?
    } else {
        DeleteOptions::from_query(&req.params)?
    };
    o.validate()?;
    Ok(o)
}

pub(crate) fn dry_run_param(params: &[(String, String)]) -> Result<bool, ApiError> {
    let vals: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(bad) = vals.iter().find(|v| **v != "All") {
        return Err(ApiError::bad_request(format!(
            "Invalid dryRun value: {bad:?}"
        )));
    }
    Ok(!vals.is_empty())
}

async fn handle_pods(
    shared: &Arc<Shared>,
    req: Incoming2,
    namespace: Option<String>,
    name: Option<String>,
    legacy_watch: bool,
) -> Result<Response<Body>, ApiError> {
    // Only GET is installed on the watch paths and (list and watch) on the cluster-wide
    // `/api/v1/pods`; every other method there has no route.
    if req.method != Method::GET && (legacy_watch || namespace.is_none()) {
        return Err(ApiError::method_not_allowed());
    }
    let out = negotiate(req.accept.as_deref())?;
    let now = shared.clock.now();
    let is_watch = legacy_watch || bool_param(&req.params, "watch")?;
    match (&req.method, namespace.as_deref(), name.as_deref()) {
        (&Method::GET, ns, nm) if is_watch => {
            let filter = filter_for(ns, nm, &req.params)?;
            let wp = WatchParams::from_query(&req.params, shared.opts.default_watch_timeout)?;
            let include = include_object(&req.params)?;
            start_watch(shared, filter, wp, out, include, req.cut_watch).await
        }
        (&Method::GET, ns, None) => {
            let filter = filter_for(ns, None, &req.params)?;
            let lp = list_params(&req.params)?;
            let include = include_object(&req.params)?;
            let page = lock(&shared.store).list(&filter, &lp)?;
            Ok(render_list(&page, out, include, now))
        }
        (&Method::GET, Some(ns), Some(nm)) => {
            let rec = lock(&shared.store)
                .get(&key_of(ns, nm))
                .cloned()
                .ok_or_else(|| ApiError::not_found("pods", nm))?;
            let include = include_object(&req.params)?;
            let b = render_object(&rec, out, include, now, true);
            if out == Output::Yaml {
                return Ok(value_response(200, &rec.value(), Output::Yaml));
            }
            Ok(json_response(200, b))
        }
        (&Method::POST, Some(ns), None) => {
            let dry = dry_run_param(&req.params)?;
            let v = parse_body_value(&req)?;
            let created = lock(&shared.store).create(ns, v, now, dry)?;
            Ok(value_response(
                201,
                &created,
                if out == Output::Yaml {
                    Output::Yaml
                } else {
                    Output::Json
                },
            ))
        }
        (&Method::PUT, Some(ns), Some(nm)) => {
            let dry = dry_run_param(&req.params)?;
            let v = parse_body_value(&req)?;
            let updated = lock(&shared.store).update(ns, nm, v, now, dry)?;
            Ok(value_response(
                200,
                &updated,
                if out == Output::Yaml {
                    Output::Yaml
                } else {
                    Output::Json
                },
            ))
        }
        (&Method::DELETE, Some(ns), Some(nm)) => {
            let opts = delete_options(&req)?;
            let outcome = lock(&shared.store).delete(ns, nm, &opts, now)?;
            if out == Output::Yaml {
                let v: Value = serde_json::from_slice(&outcome.object).unwrap_or(Value::Null);
                return Ok(value_response(outcome.code, &v, Output::Yaml));
            }
            Ok(json_response(outcome.code, outcome.object))
        }
        (&Method::DELETE, Some(ns), None) => {
            let filter = filter_for(Some(ns), None, &req.params)?;
            let opts = delete_options(&req)?;
            let mut st = lock(&shared.store);
            let page = st.list(&filter, &ListParams::default())?;
            let mut items = Vec::new();
            for r in &page.items {
                match st.delete(r.namespace(), r.name(), &opts, now) {
                    Ok(o) => items
                        .push(serde_json::from_slice::<Value>(&o.object).unwrap_or(Value::Null)),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let v = json!({"kind": "PodList", "apiVersion": "v1", "metadata": list_meta(st.rv(), None), "items": items});
            Ok(value_response(200, &v, Output::Json))
        }
        (m, _, _) => Err(ApiError::method_not_supported(
            "pods",
            &m.as_str().to_ascii_lowercase(),
        )),
    }
}

fn handle_namespaces(
    shared: &Arc<Shared>,
    req: &Incoming2,
    name: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    if req.method != Method::GET || bool_param(&req.params, "watch")? {
        return Err(ApiError::method_not_supported(
            "namespaces",
            &req.method.as_str().to_ascii_lowercase(),
        ));
    }
    let out = negotiate(req.accept.as_deref())?;
    let now = shared.clock.now();
    let (names, rv): (Vec<String>, u64) = {
        let st = lock(&shared.store);
        let mut n: std::collections::BTreeSet<String> = st.namespaces().cloned().collect();
        n.extend(shared.opts.namespaces.iter().cloned());
        (n.into_iter().collect(), st.rv())
    };
    let created = shared.started;
    if let Some(nm) = name {
        if !names.iter().any(|n| n == nm) {
            return Err(ApiError::not_found("namespaces", nm));
        }
        let obj = namespace_object(nm, created);
        return Ok(match out {
            Output::Table(v) => value_response(
                200,
                &json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": {"resourceVersion": "1"},
                    "columnDefinitions": table::namespace_columns(),
                    "rows": [{"cells": table::namespace_row_cells(&obj, now), "object": obj}]}),
                Output::Json,
            ),
            o => value_response(200, &obj, o),
        });
    }
    let objs: Vec<Value> = names.iter().map(|n| namespace_object(n, created)).collect();
    let meta = list_meta(rv, None);
    Ok(match out {
        Output::Table(v) => {
            let rows: Vec<Value> = objs
                .iter()
                .map(|o| json!({"cells": table::namespace_row_cells(o, now), "object": {"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": o["metadata"]}}))
                .collect();
            value_response(
                200,
                &json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta,
                    "columnDefinitions": table::namespace_columns(), "rows": rows}),
                Output::Json,
            )
        }
        Output::Partial(v) => {
            let items: Vec<Value> = objs
                .iter()
                .map(|o| json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": o["metadata"]}))
                .collect();
            value_response(
                200,
                &json!({"kind": "PartialObjectMetadataList", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta, "items": items}),
                Output::Json,
            )
        }
        o => value_response(
            200,
            &json!({"kind": "NamespaceList", "apiVersion": "v1", "metadata": meta, "items": objs}),
            o,
        ),
    })
}

async fn dispatch(shared: &Arc<Shared>, req: Incoming2) -> Result<Response<Body>, ApiError> {
    let r = route(&req.path);
    if !matches!(
        r,
        Route::Pods { .. } | Route::Namespaces { .. } | Route::Leases { .. }
    ) && req.method != Method::GET
    {
        if matches!(r, Route::NotFound) {
            return Err(ApiError::path_not_found());
        }
        return Err(ApiError::method_not_allowed());
    }
    match r {
        Route::Root => Ok(value_response(
            200,
            &json!({"paths": ["/api", "/api/v1", "/apis", "/apis/coordination.k8s.io", "/apis/coordination.k8s.io/v1",
                "/healthz", "/livez", "/openapi/v2", "/openapi/v3", "/openapi/v3/", "/readyz", "/version"]}),
            Output::Json,
        )),
        Route::Version => Ok(value_response(
            200,
            &version_doc(&shared.opts.version),
            Output::Json,
        )),
        Route::Health => Ok(text_response(200, "ok")),
        Route::Api => Ok(value_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}]}),
            Output::Json,
        )),
        Route::Apis => Ok(value_response(
            200,
            &crate::openapi::api_group_list(),
            Output::Json,
        )),
        Route::CoordinationGroup => Ok(value_response(
            200,
            &crate::openapi::api_group(),
            Output::Json,
        )),
        Route::CoordinationV1 => Ok(value_response(
            200,
            &crate::openapi::api_resources(),
            Output::Json,
        )),
        Route::OpenApiV3 => Ok(value_response(
            200,
            &crate::openapi::v3_root(),
            Output::Json,
        )),
        Route::OpenApiV3Coordination => Ok(value_response(
            200,
            &crate::openapi::v3_coordination(),
            Output::Json,
        )),
        Route::OpenApiV2 => {
            if req
                .accept
                .as_deref()
                .is_some_and(|a| a.contains("protobuf"))
            {
                let mut r = json_response(200, Bytes::from(crate::openapi::v2_protobuf()));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    ),
                );
                Ok(r)
            } else {
                Ok(value_response(
                    200,
                    &crate::openapi::v2_json(),
                    Output::Json,
                ))
            }
        }
        Route::Leases { namespace, name } => {
            crate::lease_http::handle(shared, &req, namespace.as_deref(), name.as_deref())
        }
        Route::ApiV1 => Ok(value_response(200, &api_resources(), Output::Json)),
        Route::Pods {
            namespace,
            name,
            legacy_watch,
        } => handle_pods(shared, req, namespace, name, legacy_watch).await,
        Route::Namespaces { name } => handle_namespaces(shared, &req, name.as_deref()),
        Route::NotFound => Err(ApiError::path_not_found()),
    }
}

/// Public paths an anonymous client may read.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/version" | "/healthz" | "/livez" | "/readyz" | "/version/"
    )
}

fn authenticate(
    shared: &Shared,
    auth: Option<&str>,
    method: &Method,
    path: &str,
    is_watch: bool,
) -> Result<(), ApiError> {
    let Some(token) = shared.opts.token.as_deref() else {
        return Ok(());
    };
    match auth {
        Some(h) => {
            if h.strip_prefix("Bearer ").map(str::trim) == Some(token) {
                Ok(())
            } else {
                Err(ApiError::unauthorized())
            }
        }
        None if is_public(path) => Ok(()),
        None => {
            let r = route(path);
            if let Route::Pods {
                namespace, name, ..
            } = r
            {
                let verb = verb_of(method, name.is_some(), is_watch);
                Err(ApiError::forbidden(
                    "system:anonymous",
                    verb,
                    "pods",
                    name.as_deref().unwrap_or(""),
                    namespace.as_deref().unwrap_or(""),
                ))
            } else if let Route::Leases { namespace, name } = r {
                let verb = verb_of(method, name.is_some(), is_watch);
                Err(ApiError::forbidden_in(
                    "system:anonymous",
                    verb,
                    crate::lease::GROUP,
                    crate::lease::RESOURCE,
                    name.as_deref().unwrap_or(""),
                    namespace.as_deref().unwrap_or(""),
                ))
            } else {
                let mut e = ApiError::forbidden("system:anonymous", "get", "", "", "");
                e.message = format!(
                    "forbidden: User \"system:anonymous\" cannot {} path \"{path}\"",
                    method.as_str().to_ascii_lowercase()
                );
                e.details = Some(Box::new(json!({})));
                Err(e)
            }
        }
    }
}

fn fault_error(code: u16) -> ApiError {
    match code {
        503 => ApiError::service_unavailable(
            "injected fault: the server is currently unable to handle the request",
        ),
        401 => ApiError::unauthorized(),
        403 => {
            let mut e = ApiError::forbidden("system:anonymous", "access", "", "", "");
            e.message = "forbidden: injected fault".into();
            e
        }
        404 => ApiError::path_not_found(),
        429 => ApiError::too_many_requests(1),
        c => {
            let mut e = ApiError::internal("injected fault");
            e.code = c;
            e
        }
    }
}

/// Let hyper write out what was sent so far, then fail the body so the connection is closed.
pub(crate) async fn abort_body(tx: &mpsc::Sender<Result<Bytes, BodyError>>, why: &'static str) {
    for _ in 0..200 {
        if tx.capacity() == tx.max_capacity() || tx.is_closed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let _ = tx.send(Err(BodyError(why))).await;
}

/// Turn a complete body into one that stops after `fraction` of it and then errors, so hyper
/// closes the socket mid-response.
fn truncate(resp: Response<Body>, fraction: f64) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    let Body::Full(Some(bytes)) = body else {
        return Response::from_parts(parts, body);
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let keep = ((bytes.len() as f64) * fraction.clamp(0.0, 1.0)) as usize;
    let keep = keep.min(bytes.len().saturating_sub(1));
    if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    let (tx, rx) = mpsc::channel(2);
    let first = bytes.slice(..keep);
    tokio::spawn(async move {
        if !first.is_empty() {
            let _ = tx.send(Ok(first)).await;
        }
        abort_body(&tx, "connection dropped by fault injection").await;
    });
    Response::from_parts(parts, Body::Stream(rx))
}

/// A 200 answer whose chunked body starts like a pod list and never ends: padding follows until
/// the client stops reading.
fn endless() -> Response<Body> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if tx
            .send(Ok(Bytes::from_static(
                b"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[",
            )))
            .await
            .is_err()
        {
            return;
        }
        let padding = Bytes::from(vec![b' '; 64 << 10]);
        while tx.send(Ok(padding.clone())).await.is_ok() {}
    });
    let mut resp = Response::new(Body::Stream(rx));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Counts a hanging request while its future lives (hyper drops it when the client goes away).
struct HangGuard<'a>(&'a AtomicUsize);

impl<'a> HangGuard<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Self(n)
    }
}

impl Drop for HangGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The `hang` fault: answer nothing until the server shuts down (or the client closes the
/// connection, when hyper drops this future), then fail the service so hyper closes the
/// connection without writing a status line.
async fn hang(shared: &Shared) -> BodyError {
    let _guard = HangGuard::new(&shared.hanging);
    let mut shutdown = shared.shutdown.clone();
    // Err: the server handle is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|down| *down).await;
    BodyError("request hung by fault injection; server shutting down")
}

/// The service function (one story: log, fault, authenticate, dispatch, decorate). It fails (and hyper closes the connection without an answer) only for
/// a request hung by fault injection when the server shuts down.
#[allow(clippy::too_many_lines)]
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, BodyError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let params = parse_query(&query);
    let hdr = |h: &header::HeaderName| {
        req.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let accept = hdr(&header::ACCEPT);
    let content_type = hdr(&header::CONTENT_TYPE);
    let user_agent = hdr(&header::USER_AGENT);
    let auth = hdr(&header::AUTHORIZATION);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let is_watch = path.starts_with("/api/v1/watch/")
        || param(&params, "watch").is_some_and(|w| parse_bool(w).unwrap_or(false));
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
    let decision: Decision = lock(&shared.faults).decide(method.as_str(), &path, is_watch);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let mut entry = RecordedRequest {
        seq,
        time: String::new(),
        method: method.as_str().to_string(),
        path,
        query,
        params,
        body: if shared.opts.log_bodies {
            String::from_utf8_lossy(&body).into_owned()
        } else {
            String::new()
        },
        accept,
        content_type,
        user_agent,
        authorization: auth.is_some(),
        status: 0,
        fault: decision.describe(),
    };
    if decision.hang {
        // logged now: there will be no answer to log
        entry.time = format_rfc3339(shared.clock.now());
        tracing::debug!(method = %entry.method, path = %entry.path, query = %entry.query, "request hangs");
        shared.record(entry);
        return Err(hang(&shared).await);
    }
    let result = if let Some(code) = decision.error {
        Err(fault_error(code))
    } else if let Some(ra) = decision.throttle {
        Err(ApiError::too_many_requests(ra))
    } else if let Err(e) = authenticate(&shared, auth.as_deref(), &method, &entry.path, is_watch) {
        Err(e)
    } else {
        let incoming = Incoming2 {
            method: method.clone(),
            path: entry.path.clone(),
            params: entry.params.clone(),
            accept: entry.accept.clone(),
            content_type: entry.content_type.clone(),
            body: body.clone(),
            cut_watch: decision.cut_watch,
            user_agent: entry.user_agent.clone(),
        };
        dispatch(&shared, incoming).await
    };
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    if !is_watch {
        resp = match (decision.endless, decision.drop) {
            (true, _) => endless(),
            (false, Some(f)) => truncate(resp, f),
            (false, None) => resp,
        };
    }
    let now = shared.clock.now();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format_http_date(now)) {
        h.insert(header::DATE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::pod::format_uuid(mix64(seq ^ 0xa0d1), mix64(seq)))
    {
        h.insert("audit-id", v);
    }
    let status = resp.status().as_u16();
    tracing::debug!(%method, path = %entry.path, query = %entry.query, status, "request");
    entry.time = format_rfc3339(now);
    entry.status = status;
    shared.record(entry);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(None).unwrap(), Output::Json);
        assert_eq!(
            negotiate(Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")).unwrap(),
            Output::Table("v1")
        );
        assert_eq!(
            negotiate(Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")).unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            ))
            .unwrap(),
            Output::Partial("v1")
        );
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf, */*")).unwrap(),
            Output::Json
        );
        assert_eq!(negotiate(Some("application/yaml")).unwrap(), Output::Yaml);
        assert_eq!(
            negotiate(Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code,
            406
        );
    }

    #[test]
    fn query_parsing() {
        let q = parse_query("labelSelector=a%3Db%2Cc+in+%28x%29&limit=500&watch");
        assert_eq!(q[0], ("labelSelector".into(), "a=b,c in (x)".into()));
        assert_eq!(q[1], ("limit".into(), "500".into()));
        assert_eq!(q[2], ("watch".into(), String::new()));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn routes() {
        assert!(matches!(
            route("/api/v1/namespaces/a/pods/b"),
            Route::Pods { name: Some(_), .. }
        ));
        assert!(matches!(
            route("/api/v1/watch/pods"),
            Route::Pods {
                legacy_watch: true,
                ..
            }
        ));
        assert!(matches!(route("/apis/apps/v1"), Route::NotFound));
        assert!(matches!(
            route("/apis/coordination.k8s.io/v1/namespaces/a/leases/b"),
            Route::Leases { name: Some(_), .. }
        ));
        assert!(matches!(
            route("/apis/coordination.k8s.io/v1/leases"),
            Route::Leases {
                namespace: None,
                ..
            }
        ));
        assert!(matches!(route("/"), Route::Root));
    }
}
