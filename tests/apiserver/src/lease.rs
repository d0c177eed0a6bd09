//! Leases (`coordination.k8s.io/v1`, namespaced), with a real server's semantics for what
//! leader election and `kubectl` use: create, get, list, replace with `resourceVersion`
//! optimistic concurrency, JSON / merge / strategic merge patch, server-side apply with field
//! ownership and conflicts, delete with preconditions, and `dryRun=All`.
//!
//! Owns: the lease objects (kept in the [`Store`], whose resource version counter they share),
//! their typed round trip ([`decode`]: known fields only, in the order the real server writes
//! them, `null`s and empty maps dropped, `MicroTime`s re-formatted with microseconds; unknown
//! fields dropped with a warning, or refused under `fieldValidation=Strict`), validation
//! (`ValidateLease`: a DNS-1123 subdomain name, valid labels, `leaseDurationSeconds` > 0,
//! `leaseTransitions` >= 0), `metadata.managedFields` through [`crate::fields`], and the rows of
//! `kubectl get lease`. Must not: speak HTTP (that is `lease_http`) or know pods.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::clock::format_rfc3339;
use crate::fields::{Managed, Writer, conflict_message};
use crate::selector::{FieldSelector, LabelSelector, PodField};
use crate::status::ApiError;
use crate::store::{DeleteOptions, Store};

/// The API group.
pub(crate) const GROUP: &str = "coordination.k8s.io";
/// `apiVersion` of a Lease.
pub(crate) const API_VERSION: &str = "coordination.k8s.io/v1";
/// The resource.
pub(crate) const RESOURCE: &str = "leases";
/// The kind.
pub(crate) const KIND: &str = "Lease";
/// `Lease.coordination.k8s.io`, the group kind of validation errors.
const GROUP_KIND: &str = "Lease.coordination.k8s.io";

/// The leases, by `namespace/name` (etcd key order).
#[derive(Debug, Default)]
pub(crate) struct Leases {
    items: BTreeMap<String, Value>,
}

fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl Leases {
    /// One lease.
    pub(crate) fn get(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.items.get(&key(namespace, name))
    }

    /// Every lease, by namespace then name.
    pub(crate) fn all(&self) -> impl Iterator<Item = &Value> {
        self.items.values()
    }
}

/// `fieldValidation`: what happens to fields the schema does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum FieldValidation {
    /// Dropped silently.
    Ignore,
    /// Dropped, with a `Warning` header each (the default).
    #[default]
    Warn,
    /// Refused with 400.
    Strict,
}

impl FieldValidation {
    /// Parses the query parameter (`""` is the default).
    pub(crate) fn parse(s: Option<&str>) -> Result<Self, ApiError> {
        match s {
            None | Some("" | "Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::invalid(
                "PatchOptions.meta.k8s.io",
                "",
                &[(
                    "FieldValueNotSupported".into(),
                    format!(
                        "Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
                    ),
                    "fieldValidation".into(),
                )],
            )),
        }
    }
}

/// Who writes, and how.
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteOptions {
    /// The field manager (`fieldManager`, or the start of the `User-Agent`).
    pub(crate) manager: String,
    /// `dryRun=All`: everything but the write.
    pub(crate) dry_run: bool,
    /// `fieldValidation`.
    pub(crate) validation: FieldValidation,
}

/// The answer to a write.
#[derive(Debug, Clone)]
pub(crate) struct Written {
    /// 200, or 201 for a create.
    pub(crate) code: u16,
    /// The object as stored (or as it would be, in a dry run).
    pub(crate) object: Value,
    /// `Warning` headers (dropped unknown fields).
    pub(crate) warnings: Vec<String>,
}

/// A PATCH's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json` (a Lease has no list with merge keys)
    StrategicMerge,
    /// `application/apply-patch+yaml`, with `force`.
    Apply {
        /// `force=true`: take fields from other managers instead of failing.
        force: bool,
    },
}

/// `ObjectMeta` fields in the order the real server writes them.
const META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The type of a `LeaseSpec` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpecType {
    Str,
    Int32,
    MicroTime,
}

/// `LeaseSpec` fields in the order the real server writes them.
const SPEC_FIELDS: &[(&str, SpecType)] = &[
    ("holderIdentity", SpecType::Str),
    ("leaseDurationSeconds", SpecType::Int32),
    ("acquireTime", SpecType::MicroTime),
    ("renewTime", SpecType::MicroTime),
    ("leaseTransitions", SpecType::Int32),
    ("strategy", SpecType::Str),
    ("preferredHolder", SpecType::Str),
];

const MICRO_LAYOUT: &str = "2006-01-02T15:04:05.000000Z07:00";

/// Go's JSON type name of a value, for `cannot unmarshal X into ...`.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `metav1.MicroTime` parsing: RFC 3339 with exactly six fractional digits.
fn parse_micro_time(s: &str) -> Result<Timestamp, String> {
    let bad = |what: &str, as_: &str| {
        format!("parsing time {s:?} as {MICRO_LAYOUT:?}: cannot parse {what:?} as {as_:?}")
    };
    // 2006-01-02T15:04:05 is 19 bytes
    if s.len() < 19 || !s.is_char_boundary(19) || s[..19].parse::<jiff::civil::DateTime>().is_err()
    {
        return Err(bad(s, "2006"));
    }
    let rest = &s[19..];
    let digits = rest
        .strip_prefix('.')
        .map(|r| r.bytes().take_while(u8::is_ascii_digit).count());
    if digits != Some(6) {
        return Err(bad(rest, ".000000"));
    }
    s.parse::<Timestamp>()
        .map_err(|_| bad(&rest[7..], "Z07:00"))
}

/// `2026-03-01T12:00:00.000000Z`, the form the server writes a `MicroTime` in.
pub(crate) fn format_micro_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The result of decoding a Lease: the typed object, and the unknown fields dropped.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The object: `kind`, `apiVersion`, `metadata`, `spec`, known fields only.
    pub(crate) object: Value,
    /// Paths of fields the schema does not have (`spec.foo`).
    pub(crate) unknown: Vec<String>,
}

fn decode_error(message: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Lease in version \"v1\" cannot be handled as a Lease: {message}"
    ))
}

/// `ObjectMeta` of a Lease: known fields in order; unknown ones pushed to `unknown`.
fn decode_meta(
    metadata: Option<&Value>,
    unknown: &mut Vec<String>,
) -> Result<Map<String, Value>, String> {
    let mut meta = Map::new();
    match metadata {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for k in m.keys() {
                if !META_FIELDS.contains(&k.as_str()) {
                    unknown.push(format!("metadata.{k}"));
                }
            }
            for f in META_FIELDS {
                let Some(val) = m.get(*f) else { continue };
                match (*f, val) {
                    (_, Value::Null) => {}
                    ("labels" | "annotations", Value::Object(map)) => {
                        for val in map.values() {
                            if !val.is_string() {
                                return Err(format!(
                                    "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{f} of type string",
                                    json_type(val)
                                ));
                            }
                        }
                        if !map.is_empty() {
                            meta.insert((*f).to_string(), val.clone());
                        }
                    }
                    ("generation" | "deletionGracePeriodSeconds", Value::Number(_))
                    | ("ownerReferences" | "finalizers" | "managedFields", Value::Array(_)) => {
                        meta.insert((*f).to_string(), val.clone());
                    }
                    (
                        "labels"
                        | "annotations"
                        | "generation"
                        | "deletionGracePeriodSeconds"
                        | "ownerReferences"
                        | "finalizers"
                        | "managedFields",
                        other,
                    ) => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{f}",
                            json_type(other)
                        ));
                    }
                    (_, Value::String(_)) => {
                        meta.insert((*f).to_string(), val.clone());
                    }
                    (_, other) => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{f} of type string",
                            json_type(other)
                        ));
                    }
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Lease.metadata of type v1.ObjectMeta",
                json_type(other)
            ));
        }
    }
    Ok(meta)
}

/// `LeaseSpec`: known fields in order, typed; unknown ones pushed to `unknown`.
fn decode_spec(
    spec_in: Option<&Value>,
    unknown: &mut Vec<String>,
) -> Result<Map<String, Value>, String> {
    let mut spec = Map::new();
    match spec_in {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for k in m.keys() {
                if !SPEC_FIELDS.iter().any(|(f, _)| f == k) {
                    unknown.push(format!("spec.{k}"));
                }
            }
            for (f, ty) in SPEC_FIELDS {
                let Some(val) = m.get(*f) else { continue };
                let typed = match (ty, val) {
                    (_, Value::Null) => continue,
                    (SpecType::Str, Value::String(_)) => val.clone(),
                    (SpecType::Int32, Value::Number(n))
                        if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) =>
                    {
                        val.clone()
                    }
                    (SpecType::Int32, Value::Number(n)) => {
                        return Err(format!(
                            "json: cannot unmarshal number {n} into Go struct field LeaseSpec.spec.{f} of type int32"
                        ));
                    }
                    (SpecType::MicroTime, Value::String(s)) => {
                        Value::from(format_micro_time(parse_micro_time(s)?))
                    }
                    (SpecType::Str | SpecType::MicroTime, other) => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field LeaseSpec.spec.{f} of type string",
                            json_type(other)
                        ));
                    }
                    (SpecType::Int32, other) => {
                        return Err(format!(
                            "json: cannot unmarshal {} into Go struct field LeaseSpec.spec.{f} of type int32",
                            json_type(other)
                        ));
                    }
                };
                spec.insert((*f).to_string(), typed);
            }
        }
        Some(other) => {
            return Err(format!(
                "json: cannot unmarshal {} into Go struct field Lease.spec of type v1.LeaseSpec",
                json_type(other)
            ));
        }
    }
    Ok(spec)
}

/// The typed round trip of a Lease (decode into the Go type, encode again). Errors are the
/// decoding errors (`json: cannot unmarshal ...`, a bad `MicroTime`), without the prefix.
pub(crate) fn decode(v: &Value) -> Result<Decoded, String> {
    let Some(root) = v.as_object() else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type v1.Lease",
            json_type(v)
        ));
    };
    let mut unknown = Vec::new();
    let mut out = Map::new();
    out.insert("kind".into(), Value::from(KIND));
    out.insert("apiVersion".into(), Value::from(API_VERSION));
    for k in root.keys() {
        if !matches!(k.as_str(), "kind" | "apiVersion" | "metadata" | "spec") {
            unknown.push(k.clone());
        }
    }
    let meta = decode_meta(root.get("metadata"), &mut unknown)?;
    out.insert("metadata".into(), Value::Object(meta));
    let spec = decode_spec(root.get("spec"), &mut unknown)?;
    out.insert("spec".into(), Value::Object(spec));
    Ok(Decoded {
        object: Value::Object(out),
        unknown,
    })
}

/// Decodes a request body (POST, PUT, a patched object) under `fieldValidation`.
fn decode_request(
    v: &Value,
    validation: FieldValidation,
) -> Result<(Value, Vec<String>), ApiError> {
    let d = decode(v).map_err(|e| decode_error(&e))?;
    let warnings: Vec<String> = d
        .unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match validation {
        FieldValidation::Strict if !warnings.is_empty() => Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            warnings.join(", ")
        ))),
        FieldValidation::Ignore => Ok((d.object, Vec::new())),
        _ => Ok((d.object, warnings)),
    }
}

fn meta(v: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    v.get("metadata")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

fn meta_str<'a>(v: &'a Value, field: &str) -> &'a str {
    meta(v).get(field).and_then(Value::as_str).unwrap_or("")
}

fn meta_mut(v: &mut Value) -> &mut Map<String, Value> {
    crate::pod::meta_mut(v)
}

/// Puts `metadata` keys back in the server's order (after fields were set).
fn order_meta(v: &mut Value) {
    let m = std::mem::take(meta_mut(v));
    let mut ordered = Map::new();
    for f in META_FIELDS {
        if let Some(val) = m.get(*f) {
            ordered.insert((*f).to_string(), val.clone());
        }
    }
    *meta_mut(v) = ordered;
}

/// The object without `metadata.managedFields` (what field ownership compares).
fn without_managed(v: &Value) -> Value {
    let mut c = v.clone();
    meta_mut(&mut c).remove("managedFields");
    c
}

/// `ValidateLease` (and the object meta checks that apply to it).
fn validate(v: &Value, check_name: bool) -> Result<(), ApiError> {
    let name = meta_str(v, "name");
    let mut causes: Vec<(String, String, String)> = Vec::new();
    if check_name && let Some(why) = crate::selector::dns1123_subdomain_problems(name) {
        causes.push((
            "FieldValueInvalid".into(),
            format!("Invalid value: {}: {why}", crate::selector::go_quote(name)),
            "metadata.name".into(),
        ));
    }
    {
        let pairs: Vec<(String, String)> = meta(v)
            .get("labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for (m, field) in crate::selector::label_map_problems(&pairs, "metadata.labels") {
            causes.push(("FieldValueInvalid".into(), m, field));
        }
    }
    let int = |f: &str| v.pointer(&format!("/spec/{f}")).and_then(Value::as_i64);
    if let Some(d) = int("leaseDurationSeconds")
        && d <= 0
    {
        causes.push((
            "FieldValueInvalid".into(),
            format!("Invalid value: {d}: must be greater than 0"),
            "spec.leaseDurationSeconds".into(),
        ));
    }
    if let Some(t) = int("leaseTransitions")
        && t < 0
    {
        causes.push((
            "FieldValueInvalid".into(),
            format!("Invalid value: {t}: must be greater than or equal to 0"),
            "spec.leaseTransitions".into(),
        ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(GROUP_KIND, name, &causes))
    }
}

/// `checkName`: the name and namespace of an object must be those of the URL.
fn check_name(v: &Value, namespace: &str, name: &str) -> Result<(), ApiError> {
    let ns = meta_str(v, "namespace");
    if !ns.is_empty() && ns != namespace {
        return Err(ApiError::bad_request(format!(
            "the namespace of the object ({ns}) does not match the namespace on the request ({namespace})"
        )));
    }
    let n = meta_str(v, "name");
    if !n.is_empty() && n != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    Ok(())
}

/// The managed fields a write starts from (`decodeLiveOrNew`): the request's own when it sends
/// some (an empty list resets them), else the live object's.
fn managed_base(request: &Value, live: Option<&Value>) -> Managed {
    let from = |v: &Value| {
        meta(v)
            .get("managedFields")
            .and_then(|m| Managed::decode(m).ok())
            .unwrap_or_default()
    };
    match meta(request).get("managedFields").and_then(Value::as_array) {
        Some(a) if a.is_empty() => Managed::default(),
        Some(a) if a.len() == 1 && a[0].as_object().is_some_and(Map::is_empty) => {
            Managed::default()
        }
        Some(_) => match Managed::decode(&meta(request)["managedFields"]) {
            Ok(m) if !m.entries.is_empty() => m,
            _ => live.map(from).unwrap_or_default(),
        },
        None => live.map(from).unwrap_or_default(),
    }
}

fn set_managed(v: &mut Value, managed: &Managed) {
    let m = meta_mut(v);
    match managed.encode() {
        Some(mf) => {
            m.insert("managedFields".into(), mf);
        }
        None => {
            m.remove("managedFields");
        }
    }
    order_meta(v);
}

/// The writer of a write with `opts`, at `now`.
fn writer<'a>(opts: &'a WriteOptions, now: &'a str) -> Writer<'a> {
    Writer {
        manager: &opts.manager,
        api_version: API_VERSION,
        now,
    }
}

/// The object an empty Lease converts to (what field ownership compares a create against).
fn empty_typed() -> Value {
    json!({"kind": KIND, "apiVersion": API_VERSION, "metadata": {}, "spec": {}})
}

/// Stores `object` as the new version of `namespace/name` (not in a dry run): a new resource
/// version, unless nothing but the resource version would change, when the live object is
/// kept (etcd writes nothing for an unchanged value).
fn commit(
    st: &mut Store,
    namespace: &str,
    name: &str,
    mut object: Value,
    live: Option<&Value>,
    dry_run: bool,
) -> Value {
    if let Some(live) = live {
        let rv = meta_str(live, "resourceVersion").to_string();
        meta_mut(&mut object).insert("resourceVersion".into(), Value::from(rv));
        order_meta(&mut object);
        if object == *live || dry_run {
            return object;
        }
    } else if dry_run {
        meta_mut(&mut object).remove("resourceVersion");
        return object;
    }
    let rv = st.bump_rv();
    meta_mut(&mut object).insert("resourceVersion".into(), Value::from(rv.to_string()));
    order_meta(&mut object);
    st.leases.items.insert(key(namespace, name), object.clone());
    object
}

/// `POST .../namespaces/NS/leases`.
pub(crate) fn create(
    st: &mut Store,
    namespace: &str,
    body: &Value,
    opts: &WriteOptions,
    now: Timestamp,
) -> Result<Written, ApiError> {
    check_type(body)?;
    let (mut obj, warnings) = decode_request(body, opts.validation)?;
    let ns = meta_str(&obj, "namespace");
    if !ns.is_empty() && ns != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let mut name = meta_str(&obj, "name").to_string();
    if name.is_empty() {
        let generate = meta_str(&obj, "generateName").to_string();
        if generate.is_empty() {
            return Err(ApiError::invalid(
                GROUP_KIND,
                "",
                &[(
                    "FieldValueRequired".into(),
                    "Required value: name or generateName is required".into(),
                    "metadata.name".into(),
                )],
            ));
        }
        name = format!("{generate}{}", st.name_suffix());
    }
    {
        let m = meta_mut(&mut obj);
        m.insert("name".into(), Value::from(name.as_str()));
        m.insert("namespace".into(), Value::from(namespace));
        for f in [
            "uid",
            "resourceVersion",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            m.remove(f);
        }
    }
    validate(&obj, true)?;
    if st.leases.get(namespace, &name).is_some() {
        return Err(ApiError::already_exists_in(GROUP, RESOURCE, &name));
    }
    let uid = st.new_uid();
    {
        let m = meta_mut(&mut obj);
        m.insert("uid".into(), Value::from(uid));
        m.insert("creationTimestamp".into(), Value::from(format_rfc3339(now)));
    }
    let mut managed = managed_base(&obj, None);
    managed.update(
        &empty_typed(),
        &without_managed(&obj),
        &writer(opts, &format_rfc3339(now)),
    );
    set_managed(&mut obj, &managed);
    let object = commit(st, namespace, &name, obj, None, opts.dry_run);
    Ok(Written {
        code: 201,
        object,
        warnings,
    })
}

/// A body's `apiVersion` and `kind`, when it names them, must be a Lease's.
fn check_type(body: &Value) -> Result<(), ApiError> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (s("apiVersion"), s("kind"));
    if (!api_version.is_empty() && api_version != API_VERSION) || (!kind.is_empty() && kind != KIND)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({API_VERSION})"
        )));
    }
    Ok(())
}

/// The common end of a replace and of a non-apply patch: `new` (decoded) replaces `live`.
fn finish_update(
    st: &mut Store,
    namespace: &str,
    name: &str,
    live: &Value,
    mut new: Value,
    opts: &WriteOptions,
    now: Timestamp,
) -> Result<Value, ApiError> {
    check_name(&new, namespace, name)?;
    let live_rv = meta_str(live, "resourceVersion");
    let rv = meta_str(&new, "resourceVersion");
    if !rv.is_empty() && rv != live_rv {
        return Err(ApiError::conflict_in(
            GROUP,
            RESOURCE,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let uid = meta_str(live, "uid").to_string();
    let sent_uid = meta_str(&new, "uid");
    if !sent_uid.is_empty() && sent_uid != uid {
        return Err(ApiError::conflict_in(
            GROUP,
            RESOURCE,
            name,
            &format!(
                "Precondition failed: UID in precondition: {sent_uid}, UID in object meta: {uid}"
            ),
        ));
    }
    {
        let m = meta_mut(&mut new);
        m.insert("name".into(), Value::from(name));
        m.insert("namespace".into(), Value::from(namespace));
        m.insert("uid".into(), Value::from(uid));
        for f in [
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match meta(live).get(f).cloned() {
                Some(x) => {
                    m.insert(f.into(), x);
                }
                None => {
                    m.remove(f);
                }
            }
        }
        m.insert("resourceVersion".into(), Value::from(live_rv));
    }
    validate(&new, false)?;
    let mut managed = managed_base(&new, Some(live));
    managed.update(
        &without_managed(live),
        &without_managed(&new),
        &writer(opts, &format_rfc3339(now)),
    );
    set_managed(&mut new, &managed);
    Ok(commit(st, namespace, name, new, Some(live), opts.dry_run))
}

/// `PUT .../namespaces/NS/leases/NAME`: a whole new version, with the `resourceVersion` (when
/// given) as an optimistic-concurrency precondition.
pub(crate) fn replace(
    st: &mut Store,
    namespace: &str,
    name: &str,
    body: &Value,
    opts: &WriteOptions,
    now: Timestamp,
) -> Result<Written, ApiError> {
    check_type(body)?;
    let (new, warnings) = decode_request(body, opts.validation)?;
    check_name(&new, namespace, name)?;
    let live = st
        .leases
        .get(namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found_in(GROUP, RESOURCE, name))?;
    let object = finish_update(st, namespace, name, &live, new, opts, now)?;
    Ok(Written {
        code: 200,
        object,
        warnings,
    })
}

/// `PATCH .../namespaces/NS/leases/NAME`.
pub(crate) fn patch(
    st: &mut Store,
    namespace: &str,
    name: &str,
    kind: PatchKind,
    body: &[u8],
    opts: &WriteOptions,
    now: Timestamp,
) -> Result<Written, ApiError> {
    let strategic = match kind {
        PatchKind::Apply { force } => return apply(st, namespace, name, body, force, opts, now),
        PatchKind::Json => None,
        PatchKind::Merge => Some(false),
        PatchKind::StrategicMerge => Some(true),
    };
    let live = st
        .leases
        .get(namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found_in(GROUP, RESOURCE, name))?;
    let mut patched = live.clone();
    match strategic {
        None => crate::patch::json_patch(&mut patched, body)?,
        Some(strategic) => {
            let doc: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !doc.is_object() {
                return Err(ApiError::bad_request(format!(
                    "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                    json_type(&doc)
                )));
            }
            if strategic {
                crate::patch::strategic_merge_patch(&mut patched, &doc)?;
            } else {
                crate::patch::merge_patch(&mut patched, &doc);
            }
        }
    }
    let (new, warnings) = decode_request(&patched, opts.validation)?;
    let object = finish_update(st, namespace, name, &live, new, opts, now)?;
    Ok(Written {
        code: 200,
        object,
        warnings,
    })
}

/// The `failed to create typed patch object` error of an apply configuration that does not fit
/// the schema (a 500 without a reason, as the real server answers it).
fn typed_patch_error(namespace: &str, name: &str, problems: &[String]) -> ApiError {
    let detail = if let [one] = problems {
        one.clone()
    } else {
        format!(
            "errors:\n{}",
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    ApiError::unknown(
        500,
        format!(
            "failed to create typed patch object ({namespace}/{name}; {API_VERSION}, Kind={KIND}): {detail}"
        ),
    )
}

/// Server-side apply (`application/apply-patch+yaml`): merge the configuration into the live
/// object (or an empty one: apply creates), with field ownership and conflicts.
#[allow(clippy::too_many_lines)]
fn apply(
    st: &mut Store,
    namespace: &str,
    name: &str,
    body: &[u8],
    force: bool,
    opts: &WriteOptions,
    now: Timestamp,
) -> Result<Written, ApiError> {
    let config: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(format!(
            "error decoding YAML: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_type(&config)
        )));
    }
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if api_version != API_VERSION {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {API_VERSION}"
        )));
    }
    if meta(&config)
        .get("managedFields")
        .is_some_and(|m| !m.is_null())
    {
        return Err(ApiError::bad_request("metadata.managedFields must be nil"));
    }
    let d = decode(&config).map_err(|e| typed_patch_error(namespace, name, &[e]))?;
    if !d.unknown.is_empty() {
        let problems: Vec<String> = d
            .unknown
            .iter()
            .map(|f| format!(".{f}: field not declared in schema"))
            .collect();
        return Err(typed_patch_error(namespace, name, &problems));
    }
    // The configuration as the client wrote it (its fields are what the applier owns), with
    // times re-formatted as the typed object holds them.
    let mut config = config;
    if let (Some(spec), Some(typed)) = (
        config.get_mut("spec").and_then(Value::as_object_mut),
        d.object.get("spec").and_then(Value::as_object),
    ) {
        for f in ["acquireTime", "renewTime"] {
            if let (Some(slot), Some(t)) = (spec.get_mut(f), typed.get(f)) {
                *slot = t.clone();
            }
        }
    }
    check_name(&config, namespace, name)?;
    let live = st.leases.get(namespace, name).cloned();
    // a resourceVersion in the configuration is a precondition, as on a replace
    let sent_rv = meta_str(&config, "resourceVersion");
    if !sent_rv.is_empty()
        && live
            .as_ref()
            .is_none_or(|l| meta_str(l, "resourceVersion") != sent_rv)
    {
        return Err(ApiError::conflict_in(
            GROUP,
            RESOURCE,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let live_typed = live.as_ref().map_or_else(
        || {
            let mut e = empty_typed();
            let m = meta_mut(&mut e);
            m.insert("name".into(), Value::from(name));
            m.insert("namespace".into(), Value::from(namespace));
            e
        },
        without_managed,
    );
    let mut managed = live
        .as_ref()
        .and_then(|l| meta(l).get("managedFields"))
        .and_then(|m| Managed::decode(m).ok())
        .unwrap_or_default();
    let normalize = |v: &mut Value| {
        if let Ok(d) = decode(v) {
            *v = d.object;
        }
    };
    let merged = managed
        .apply(
            &live_typed,
            &config,
            &writer(opts, &format_rfc3339(now)),
            force,
            &normalize,
        )
        .map_err(|conflicts| {
            let causes: Vec<(String, String)> = conflicts
                .iter()
                .map(|c| (format!("conflict with {}", c.manager), c.field.clone()))
                .collect();
            ApiError::apply_conflict(conflict_message(&conflicts), &causes)
        })?;
    let mut obj = merged;
    let created = live.is_none();
    {
        let uid = match &live {
            Some(l) => meta_str(l, "uid").to_string(),
            None => st.new_uid(),
        };
        let created_at = match &live {
            Some(l) => meta_str(l, "creationTimestamp").to_string(),
            None => format_rfc3339(now),
        };
        let m = meta_mut(&mut obj);
        m.insert("name".into(), Value::from(name));
        m.insert("namespace".into(), Value::from(namespace));
        m.insert("uid".into(), Value::from(uid));
        m.insert("creationTimestamp".into(), Value::from(created_at));
    }
    validate(&obj, created)?;
    set_managed(&mut obj, &managed);
    let object = commit(st, namespace, name, obj, live.as_ref(), opts.dry_run);
    Ok(Written {
        code: if created { 201 } else { 200 },
        object,
        warnings: Vec::new(),
    })
}

/// The `Status` a delete of a resource without graceful deletion answers with.
fn deleted_status(name: &str, uid: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": name, "group": GROUP, "kind": RESOURCE, "uid": uid}})
}

/// `DELETE .../namespaces/NS/leases/NAME`, with `uid` / `resourceVersion` preconditions.
pub(crate) fn delete(
    st: &mut Store,
    namespace: &str,
    name: &str,
    opts: &DeleteOptions,
) -> Result<Value, ApiError> {
    let live = st
        .leases
        .get(namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found_in(GROUP, RESOURCE, name))?;
    let uid = meta_str(&live, "uid").to_string();
    let rv = meta_str(&live, "resourceVersion").to_string();
    if let Some(want) = &opts.precondition_uid
        && *want != uid
    {
        return Err(ApiError::conflict_in(
            GROUP,
            RESOURCE,
            name,
            &format!(
                "the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
            ),
        ));
    }
    if let Some(want) = &opts.precondition_rv
        && *want != rv
    {
        return Err(ApiError::conflict_in(
            GROUP,
            RESOURCE,
            name,
            &format!(
                "the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({rv}). The object might have been modified"
            ),
        ));
    }
    if !opts.is_dry_run() {
        st.leases.items.remove(&key(namespace, name));
        st.bump_rv();
    }
    Ok(deleted_status(name, &uid))
}

/// What a lease list selects: the namespace (all when `None`), labels, and the field selector,
/// of which leases support `metadata.name` and `metadata.namespace` only.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    /// `None` for all namespaces.
    pub(crate) namespace: Option<String>,
    /// `labelSelector`.
    pub(crate) labels: LabelSelector,
    /// `fieldSelector`.
    pub(crate) fields: FieldSelector,
}

impl Selection {
    /// Parses the selectors of a request.
    pub(crate) fn parse(
        namespace: Option<&str>,
        labels: &str,
        fields: &str,
    ) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(labels).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(fields).map_err(ApiError::bad_request)?;
        if let Some(t) = fields
            .terms
            .iter()
            .find(|t| !matches!(t.field, PodField::Name | PodField::Namespace))
        {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {}",
                crate::selector::field_label(t.field)
            )));
        }
        Ok(Self {
            namespace: namespace.map(str::to_string),
            labels,
            fields,
        })
    }

    fn matches(&self, v: &Value) -> bool {
        let ns = meta_str(v, "namespace");
        if self.namespace.as_deref().is_some_and(|n| n != ns) {
            return false;
        }
        let mut labels: Vec<(String, String)> = meta(v)
            .get("labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let name = meta_str(v, "name");
        self.labels.matches_sorted(&labels)
            && self.fields.matches(|f| match f {
                PodField::Namespace => ns,
                _ => name,
            })
    }
}

/// The leases a list returns, in key order.
pub(crate) fn list(st: &Store, selection: &Selection) -> Vec<Value> {
    st.leases
        .all()
        .filter(|v| selection.matches(v))
        .cloned()
        .collect()
}

/// `DELETE .../namespaces/NS/leases` (deletecollection): the deleted leases.
pub(crate) fn delete_collection(
    st: &mut Store,
    selection: &Selection,
    opts: &DeleteOptions,
) -> Result<Vec<Value>, ApiError> {
    let targets = list(st, selection);
    let mut out = Vec::new();
    for v in targets {
        let (ns, name) = (meta_str(&v, "namespace"), meta_str(&v, "name"));
        delete(st, ns, name, opts)?;
        out.push(v);
    }
    Ok(out)
}

/// Adds or replaces a lease as given (a test seeding state): missing `uid` and
/// `creationTimestamp` are filled in, `managedFields` are kept as they are, and the lease gets
/// a new resource version.
pub(crate) fn put(st: &mut Store, v: &Value, now: Timestamp) -> Result<Value, ApiError> {
    let Decoded { mut object, .. } = decode(v).map_err(|e| decode_error(&e))?;
    let name = meta_str(&object, "name").to_string();
    if name.is_empty() {
        return Err(ApiError::bad_request("lease has no metadata.name"));
    }
    let namespace = match meta_str(&object, "namespace") {
        "" => "default".to_string(),
        ns => ns.to_string(),
    };
    let existing = st.leases.get(&namespace, &name).cloned();
    let uid = match meta_str(&object, "uid") {
        "" => existing
            .as_ref()
            .map_or_else(|| st.new_uid(), |e| meta_str(e, "uid").to_string()),
        u => u.to_string(),
    };
    let created = match meta_str(&object, "creationTimestamp") {
        "" => existing.as_ref().map_or_else(
            || format_rfc3339(now),
            |e| meta_str(e, "creationTimestamp").to_string(),
        ),
        c => c.to_string(),
    };
    let m = meta_mut(&mut object);
    m.insert("namespace".into(), Value::from(namespace.as_str()));
    m.insert("uid".into(), Value::from(uid));
    m.insert("creationTimestamp".into(), Value::from(created));
    Ok(commit(st, &namespace, &name, object, None, false))
}

/// Removes a lease without API semantics. Returns whether it existed.
pub(crate) fn remove(st: &mut Store, namespace: &str, name: &str) -> bool {
    let existed = st.leases.items.remove(&key(namespace, name)).is_some();
    if existed {
        st.bump_rv();
    }
    existed
}

/// The list item form of a lease: the real server writes list items without `kind` and
/// `apiVersion`.
pub(crate) fn list_item(v: &Value) -> Value {
    let mut c = v.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("kind");
        o.remove("apiVersion");
    }
    c
}

/// Column definitions of the lease table (`leaseColumnDefinitions`).
pub(crate) fn columns() -> Value {
    json!([
        {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", "priority": 0},
        {"name": "Holder", "type": "string", "format": "", "description": "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "priority": 0}
    ])
}

/// The cells of one lease (`printLease`): name, holder (empty when none), age.
pub(crate) fn row_cells(v: &Value, now: Timestamp) -> Vec<Value> {
    let holder = v
        .pointer("/spec/holderIdentity")
        .and_then(Value::as_str)
        .unwrap_or("");
    let age = meta(v)
        .get("creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map_or_else(
            || "<unknown>".to_string(),
            |t| crate::table::human_duration_since(t, now),
        );
    vec![
        Value::from(meta_str(v, "name")),
        Value::from(holder),
        Value::from(age),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn store() -> Store {
        Store::new(StoreConfig {
            history_revisions: 100,
            uid_seed: 3,
        })
    }

    fn opts(manager: &str) -> WriteOptions {
        WriteOptions {
            manager: manager.into(),
            ..WriteOptions::default()
        }
    }

    fn lease(holder: &str) -> Value {
        json!({"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "l", "labels": {"app": "x"}},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15,
                     "renewTime": "2026-03-01T12:00:00.123456Z"}})
    }

    #[test]
    fn micro_times_need_six_digits() {
        assert_eq!(
            format_micro_time(parse_micro_time("2026-03-01T13:00:00.000001+01:00").unwrap()),
            "2026-03-01T12:00:00.000001Z"
        );
        assert_eq!(
            parse_micro_time("2026-03-01T12:00:00Z").unwrap_err(),
            "parsing time \"2026-03-01T12:00:00Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\""
        );
        assert!(parse_micro_time("yesterday").is_err());
    }

    #[test]
    fn decode_keeps_known_fields_in_order_and_reports_unknown_ones() {
        let d = decode(
            &json!({"spec": {"renewTime": null, "foo": 1, "holderIdentity": "a"},
            "metadata": {"labels": {}, "name": "x", "bar": 2}, "status": {}}),
        )
        .unwrap();
        assert_eq!(
            d.object.to_string(),
            r#"{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"x"},"spec":{"holderIdentity":"a"}}"#
        );
        assert_eq!(d.unknown, ["status", "metadata.bar", "spec.foo"]);
        assert_eq!(
            decode(&json!({"spec": {"leaseDurationSeconds": "15"}})).unwrap_err(),
            "json: cannot unmarshal string into Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32"
        );
    }

    #[test]
    fn create_replace_conflict_and_managed_fields() {
        let mut st = store();
        let rv0 = st.rv();
        let w = create(&mut st, "ns", &lease("a"), &opts("maker"), now()).unwrap();
        assert_eq!(w.code, 201);
        let obj = w.object;
        assert_eq!(obj["metadata"]["resourceVersion"], (rv0 + 1).to_string());
        assert_eq!(obj["metadata"]["creationTimestamp"], "2026-03-01T12:00:00Z");
        assert_eq!(obj["metadata"]["managedFields"][0]["manager"], "maker");
        assert_eq!(
            obj["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                   "f:spec": {"f:holderIdentity": {}, "f:leaseDurationSeconds": {}, "f:renewTime": {}}})
        );
        let e = create(&mut st, "ns", &lease("a"), &opts("maker"), now()).unwrap_err();
        assert_eq!(e.message, "leases.coordination.k8s.io \"l\" already exists");
        // replace with the current resource version works; a stale one conflicts
        let mut next = obj.clone();
        next["spec"]["holderIdentity"] = json!("b");
        let w = replace(&mut st, "ns", "l", &next, &opts("other"), now()).unwrap();
        assert_ne!(
            w.object["metadata"]["resourceVersion"],
            obj["metadata"]["resourceVersion"]
        );
        let managers: Vec<&str> = w.object["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["maker", "other"]);
        let e = replace(&mut st, "ns", "l", &next, &opts("other"), now()).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on leases.coordination.k8s.io \"l\": the object has been modified; please apply your changes to the latest version and try again"
        );
        // an unchanged replace writes nothing
        let rv = st.rv();
        replace(&mut st, "ns", "l", &w.object, &opts("other"), now()).unwrap();
        assert_eq!(st.rv(), rv);
    }

    #[test]
    fn validation_like_the_real_server() {
        let mut st = store();
        let mut bad = lease("a");
        bad["spec"]["leaseDurationSeconds"] = json!(0);
        let e = create(&mut st, "ns", &bad, &opts("m"), now()).unwrap_err();
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "Lease.coordination.k8s.io \"l\" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
        );
        let mut bad = lease("a");
        bad["metadata"]["name"] = json!("Not_A_Name");
        let e = create(&mut st, "ns", &bad, &opts("m"), now()).unwrap_err();
        assert!(
            e.message.contains(
                "metadata.name: Invalid value: \"Not_A_Name\": a lowercase RFC 1123 subdomain"
            ),
            "{}",
            e.message
        );
        let mut strict = lease("a");
        strict["spec"]["foo"] = json!(1);
        let e = create(
            &mut st,
            "ns",
            &strict,
            &WriteOptions {
                validation: FieldValidation::Strict,
                ..opts("m")
            },
            now(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "strict decoding error: unknown field \"spec.foo\""
        );
        let w = create(&mut st, "ns", &strict, &opts("m"), now()).unwrap();
        assert_eq!(w.warnings, ["unknown field \"spec.foo\""]);
        assert!(w.object["spec"].get("foo").is_none());
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one story
    fn apply_creates_conflicts_and_forces() {
        let mut st = store();
        let cfg = |holder: &str| {
            format!(
                "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: l\nspec:\n  holderIdentity: {holder}\n  leaseDurationSeconds: 15\n"
            )
        };
        let w = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: false },
            cfg("a").as_bytes(),
            &opts("A"),
            now(),
        )
        .unwrap();
        assert_eq!(w.code, 201);
        assert_eq!(
            w.object["metadata"]["managedFields"][0]["operation"],
            "Apply"
        );
        let e = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: false },
            cfg("b").as_bytes(),
            &opts("B"),
            now(),
        )
        .unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(e.reason, "Conflict");
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"A\": .spec.holderIdentity"
        );
        assert_eq!(
            e.to_status()["details"]["causes"],
            json!([{"reason": "FieldManagerConflict", "message": "conflict with \"A\"", "field": ".spec.holderIdentity"}])
        );
        let w = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: true },
            cfg("b").as_bytes(),
            &opts("B"),
            now(),
        )
        .unwrap();
        assert_eq!(w.code, 200);
        assert_eq!(w.object["spec"]["holderIdentity"], "b");
        // a merge patch by an updater moves the field to it (operation Update)
        let w = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Merge,
            br#"{"spec":{"holderIdentity":"c"}}"#,
            &opts("U"),
            now(),
        )
        .unwrap();
        let mf = w.object["metadata"]["managedFields"].as_array().unwrap();
        let u = mf.iter().find(|e| e["manager"] == "U").unwrap();
        assert_eq!(u["operation"], "Update");
        assert_eq!(u["fieldsV1"], json!({"f:spec": {"f:holderIdentity": {}}}));
        // and B applying its old value again now conflicts with the updater
        let e = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: false },
            cfg("b").as_bytes(),
            &opts("B"),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Apply failed with 1 conflict: conflict with \"U\" using coordination.k8s.io/v1: .spec.holderIdentity"
        );
        // a resourceVersion in the configuration is a precondition, even with force
        let stale = cfg("b").replace("name: l\n", "name: l\n  resourceVersion: \"1\"\n");
        let e = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: true },
            stale.as_bytes(),
            &opts("B"),
            now(),
        )
        .unwrap_err();
        assert_eq!((e.code, e.reason), (409, "Conflict"));
        let e = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: false },
            b"apiVersion: v1\nkind: Lease\n",
            &opts("B"),
            now(),
        )
        .unwrap_err();
        assert_eq!(e.code, 400);
        let e = patch(
            &mut st,
            "ns",
            "l",
            PatchKind::Apply { force: false },
            b"apiVersion: coordination.k8s.io/v1\nkind: Lease\nspec:\n  bogus: 1\n",
            &opts("B"),
            now(),
        )
        .unwrap_err();
        assert_eq!((e.code, e.reason), (500, ""));
        assert!(
            e.message
                .ends_with(".spec.bogus: field not declared in schema"),
            "{}",
            e.message
        );
    }

    #[test]
    fn delete_with_preconditions_and_selection() {
        let mut st = store();
        create(&mut st, "ns", &lease("a"), &opts("m"), now()).unwrap();
        let sel = Selection::parse(None, "app=x", "metadata.name=l").unwrap();
        assert_eq!(list(&st, &sel).len(), 1);
        for (selector, field) in [
            ("spec.holderIdentity=a", "spec.holderIdentity"),
            ("status.phase=Running", "status.phase"),
        ] {
            assert_eq!(
                Selection::parse(None, "", selector).unwrap_err().message,
                format!("field label not supported: {field}")
            );
        }
        let e = delete(
            &mut st,
            "ns",
            "l",
            &DeleteOptions {
                precondition_rv: Some("1".into()),
                ..DeleteOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.code, 409);
        let s = delete(&mut st, "ns", "l", &DeleteOptions::default()).unwrap();
        assert_eq!(s["status"], "Success");
        assert_eq!(
            delete(&mut st, "ns", "l", &DeleteOptions::default())
                .unwrap_err()
                .message,
            "leases.coordination.k8s.io \"l\" not found"
        );
    }
}
