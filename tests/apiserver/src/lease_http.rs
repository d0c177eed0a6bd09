//! The HTTP side of leases: `/apis/coordination.k8s.io/v1/leases` (list across namespaces) and
//! `/apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]`.
//!
//! Owns: the verbs per path (GET list/get, POST, PUT, PATCH by `Content-Type`, DELETE and
//! deletecollection; any other method 405 like the real installer), the query options of
//! writes (`fieldManager`, defaulted from the `User-Agent` like the real server, `force` only
//! for apply, `dryRun`, `fieldValidation`), `limit`/`continue` paging, and the rendering of
//! answers (JSON, YAML, `Table`, `PartialObjectMetadata[List]`, `Warning` headers). Must not:
//! decide what a write does to a lease (that is [`crate::lease`]).

use std::sync::Arc;

use hyper::header::HeaderValue;
use hyper::{Method, Response};
use serde_json::{Value, json};

use crate::http::{
    Body, IncludeObject, Incoming2, Output, bool_param, delete_options, dry_run_param,
    include_object, list_meta, negotiate, param, parse_body_value, value_response,
};
use crate::lease::{self, FieldValidation, PatchKind, Selection, WriteOptions};
use crate::lock;
use crate::server::Shared;
use crate::status::ApiError;

/// `prefixFromUserAgent`: the manager of a write that names none is the `User-Agent` up to its
/// first `/`, printable characters only, at most 128 bytes.
fn manager_from_user_agent(ua: Option<&str>) -> String {
    let mut out = String::new();
    for c in ua.unwrap_or("").split('/').next().unwrap_or("").chars() {
        if c.is_control() {
            continue;
        }
        if out.len() >= 128 {
            break;
        }
        out.push(c);
    }
    out
}

/// The options of a write, checked like `ValidatePatchOptions` / `ValidateCreateOptions`
/// (`options_kind` names the options in the 422).
fn write_options(
    req: &Incoming2,
    options_kind: &str,
    apply: bool,
) -> Result<WriteOptions, ApiError> {
    let invalid = |reason: &str, message: String, field: &str| {
        ApiError::invalid(
            options_kind,
            "",
            &[(reason.to_string(), message, field.to_string())],
        )
    };
    let explicit = param(&req.params, "fieldManager");
    if apply && explicit.is_none_or(str::is_empty) {
        return Err(invalid(
            "FieldValueRequired",
            "Required value: is required for apply patch".into(),
            "fieldManager",
        ));
    }
    if let Some(m) = explicit {
        if m.len() > 128 {
            return Err(invalid(
                "FieldValueTooLong",
                "Too long: may not be more than 128 bytes".into(),
                "fieldManager",
            ));
        }
        if m.chars().any(char::is_control) {
            return Err(invalid(
                "FieldValueInvalid",
                format!(
                    "Invalid value: {}: must only contain printable characters",
                    crate::selector::go_quote(m)
                ),
                "fieldManager",
            ));
        }
    }
    if !apply && param(&req.params, "force").is_some() && options_kind.starts_with("Patch") {
        return Err(invalid(
            "FieldValueForbidden",
            "Forbidden: may not be specified for non-apply patch".into(),
            "force",
        ));
    }
    Ok(WriteOptions {
        manager: explicit.map_or_else(
            || manager_from_user_agent(req.user_agent.as_deref()),
            str::to_string,
        ),
        dry_run: dry_run_param(&req.params)?,
        validation: FieldValidation::parse(param(&req.params, "fieldValidation"))?,
    })
}

/// The patch type of a `Content-Type`.
fn patch_kind(req: &Incoming2) -> Result<PatchKind, ApiError> {
    let ct = req.content_type.as_deref().unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    Ok(match media {
        "application/json-patch+json" => PatchKind::Json,
        "application/merge-patch+json" => PatchKind::Merge,
        "application/strategic-merge-patch+json" => PatchKind::StrategicMerge,
        "application/apply-patch+yaml" => PatchKind::Apply {
            force: bool_param(&req.params, "force")?,
        },
        _ => return Err(ApiError::unsupported_patch_type()),
    })
}

/// An answer with `Warning` headers.
fn with_warnings(mut resp: Response<Body>, warnings: &[String]) -> Response<Body> {
    for w in warnings {
        let text = format!("299 - {}", crate::selector::go_quote(w));
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

fn partial(v: &Value, version: &str) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": v.get("metadata").cloned().unwrap_or(Value::Null)})
}

fn table_row(v: &Value, version: &str, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let mut row = json!({"cells": lease::row_cells(v, now)});
    match include {
        IncludeObject::None => {}
        IncludeObject::Metadata => row["object"] = partial(v, version),
        IncludeObject::Object => row["object"] = v.clone(),
    }
    row
}

/// One page of a list, after `continue` (a key, at the current state) and up to `limit`.
fn page(
    items: Vec<Value>,
    prefix: &str,
    params: &[(String, String)],
    rv: u64,
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let key = |v: &Value| {
        format!(
            "{}/{}",
            v.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or(""),
            v.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
        )
    };
    let from = match param(params, "continue").filter(|c| !c.is_empty()) {
        Some(tok) => Some(
            crate::continue_token::decode(tok, prefix)
                .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?
                .from_key,
        ),
        None => None,
    };
    let limit = match param(params, "limit").filter(|l| !l.is_empty()) {
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| {
                ApiError::bad_request(format!("strconv.ParseInt: parsing {l:?}: invalid syntax"))
            })
            .map(|l| usize::try_from(l).unwrap_or(0))?,
        None => 0,
    };
    let mut rest: Vec<Value> = items
        .into_iter()
        .filter(|v| from.as_deref().is_none_or(|f| key(v).as_str() >= f))
        .collect();
    if limit > 0 && rest.len() > limit {
        rest.truncate(limit);
        let last = rest.last().map(key).unwrap_or_default();
        let rel = last.strip_prefix(prefix).unwrap_or(&last).to_string();
        let token = crate::continue_token::encode(i64::try_from(rv).unwrap_or(i64::MAX), &rel);
        return Ok((rest, Some(token)));
    }
    Ok((rest, None))
}

fn render_list(
    items: &[Value],
    meta: &Value,
    out: Output,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> Response<Body> {
    match out {
        Output::Json | Output::Yaml => {
            let items: Vec<Value> = items.iter().map(lease::list_item).collect();
            value_response(
                200,
                &json!({"kind": "LeaseList", "apiVersion": lease::API_VERSION, "metadata": meta, "items": items}),
                out,
            )
        }
        Output::Partial(v) => {
            let items: Vec<Value> = items.iter().map(|i| partial(i, v)).collect();
            value_response(
                200,
                &json!({"kind": "PartialObjectMetadataList", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta, "items": items}),
                Output::Json,
            )
        }
        Output::Table(v) => {
            let rows: Vec<Value> = items
                .iter()
                .map(|i| table_row(i, v, include, now))
                .collect();
            value_response(
                200,
                &json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{v}"), "metadata": meta,
                    "columnDefinitions": lease::columns(), "rows": rows}),
                Output::Json,
            )
        }
    }
}

fn render_one(
    v: &Value,
    out: Output,
    include: IncludeObject,
    now: jiff::Timestamp,
) -> Response<Body> {
    match out {
        Output::Json | Output::Yaml => value_response(200, v, out),
        Output::Partial(ver) => value_response(200, &partial(v, ver), Output::Json),
        Output::Table(ver) => {
            let rv = v
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            value_response(
                200,
                &json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{ver}"), "metadata": {"resourceVersion": rv},
                    "columnDefinitions": lease::columns(), "rows": [table_row(v, ver, include, now)]}),
                Output::Json,
            )
        }
    }
}

fn written(w: &lease::Written, out: Output) -> Response<Body> {
    let out = if out == Output::Yaml {
        Output::Yaml
    } else {
        Output::Json
    };
    with_warnings(value_response(w.code, &w.object, out), &w.warnings)
}

/// Handles a request on a lease path: `namespace` is `None` on the cluster-wide list path.
pub(crate) fn handle(
    shared: &Arc<Shared>,
    req: &Incoming2,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<Response<Body>, ApiError> {
    if namespace.is_none() && req.method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    if bool_param(&req.params, "watch")? {
        return Err(ApiError::method_not_supported(lease::RESOURCE, "watch"));
    }
    let out = negotiate(req.accept.as_deref())?;
    let now = shared.clock.now();
    match (&req.method, namespace, name) {
        (&Method::GET, ns, None) => {
            let selection = Selection::parse(
                ns,
                param(&req.params, "labelSelector").unwrap_or(""),
                param(&req.params, "fieldSelector").unwrap_or(""),
            )?;
            let include = include_object(&req.params)?;
            let st = lock(&shared.store);
            let rv = st.rv();
            let prefix = ns.map(|n| format!("{n}/")).unwrap_or_default();
            let (items, token) = page(lease::list(&st, &selection), &prefix, &req.params, rv)?;
            drop(st);
            Ok(render_list(
                &items,
                &list_meta(rv, token.as_deref()),
                out,
                include,
                now,
            ))
        }
        (&Method::GET, Some(ns), Some(nm)) => {
            let include = include_object(&req.params)?;
            let v = lock(&shared.store)
                .leases
                .get(ns, nm)
                .cloned()
                .ok_or_else(|| ApiError::not_found_in(lease::GROUP, lease::RESOURCE, nm))?;
            Ok(render_one(&v, out, include, now))
        }
        (&Method::POST, Some(ns), None) => {
            let opts = write_options(req, "CreateOptions.meta.k8s.io", false)?;
            let body = parse_body_value(req)?;
            let w = lease::create(&mut lock(&shared.store), ns, &body, &opts, now)?;
            Ok(written(&w, out))
        }
        (&Method::PUT, Some(ns), Some(nm)) => {
            let opts = write_options(req, "UpdateOptions.meta.k8s.io", false)?;
            let body = parse_body_value(req)?;
            let w = lease::replace(&mut lock(&shared.store), ns, nm, &body, &opts, now)?;
            Ok(written(&w, out))
        }
        (&Method::PATCH, Some(ns), Some(nm)) => {
            let kind = patch_kind(req)?;
            let apply = matches!(kind, PatchKind::Apply { .. });
            let opts = write_options(req, "PatchOptions.meta.k8s.io", apply)?;
            let w = lease::patch(
                &mut lock(&shared.store),
                ns,
                nm,
                kind,
                &req.body,
                &opts,
                now,
            )?;
            Ok(written(&w, out))
        }
        (&Method::DELETE, Some(ns), Some(nm)) => {
            let opts = delete_options(req)?;
            let status = lease::delete(&mut lock(&shared.store), ns, nm, &opts)?;
            Ok(value_response(200, &status, Output::Json))
        }
        (&Method::DELETE, Some(ns), None) => {
            let selection = Selection::parse(
                Some(ns),
                param(&req.params, "labelSelector").unwrap_or(""),
                param(&req.params, "fieldSelector").unwrap_or(""),
            )?;
            let opts = delete_options(req)?;
            let mut st = lock(&shared.store);
            let items = lease::delete_collection(&mut st, &selection, &opts)?;
            let rv = st.rv();
            drop(st);
            Ok(render_list(
                &items,
                &list_meta(rv, None),
                Output::Json,
                IncludeObject::None,
                now,
            ))
        }
        (m, _, _) => Err(ApiError::method_not_supported(
            lease::RESOURCE,
            &m.as_str().to_ascii_lowercase(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_from_user_agents() {
        assert_eq!(
            manager_from_user_agent(Some("kubectl/v1.33.1 (linux/amd64) kubernetes/8adc0f0")),
            "kubectl"
        );
        assert_eq!(
            manager_from_user_agent(Some("OpenAPI-Generator/22.6.0/python")),
            "OpenAPI-Generator"
        );
        assert_eq!(manager_from_user_agent(None), "");
        assert_eq!(manager_from_user_agent(Some(&"x".repeat(300))).len(), 128);
    }
}
