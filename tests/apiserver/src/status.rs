//! `meta.k8s.io/v1` `Status` error bodies, shaped like the ones `k8s.io/apimachinery/pkg/api/errors`
//! builds in a real API server.

use serde_json::{Map, Value, json};

/// An API error, rendered as a `Status` object with the matching HTTP code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code, also the `code` field.
    pub code: u16,
    /// The `reason` field (`NotFound`, `Conflict`, `Expired`, ...).
    pub reason: &'static str,
    /// The human readable `message`.
    pub message: String,
    /// The `details` object, if the real server sends one.
    pub details: Option<Box<Value>>,
    /// Value of a `Retry-After` header to send with the error.
    pub retry_after: Option<u64>,
    /// `metadata.continue` of the Status (only for an expired continue token).
    pub list_continue: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

fn name_group_kind(name: &str, group: &str, kind: &str) -> Value {
    let mut m = Map::new();
    if !name.is_empty() {
        m.insert("name".into(), Value::from(name));
    }
    if !group.is_empty() {
        m.insert("group".into(), Value::from(group));
    }
    m.insert("kind".into(), Value::from(kind));
    Value::Object(m)
}

fn name_kind(name: &str, kind: &str) -> Value {
    let mut m = Map::new();
    if !name.is_empty() {
        m.insert("name".into(), Value::from(name));
    }
    m.insert("kind".into(), Value::from(kind));
    Value::Object(m)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
            list_continue: None,
        }
    }

    /// `pods "name" not found` (404 `NotFound`).
    #[must_use]
    pub fn not_found(resource: &str, name: &str) -> Self {
        let mut e = Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"));
        e.details = Some(Box::new(name_kind(name, resource)));
        e
    }

    /// The generic 404 for an unknown path.
    #[must_use]
    pub fn path_not_found() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(Box::new(json!({})));
        e
    }

    /// `pods "name" already exists` (409 `AlreadyExists`).
    #[must_use]
    pub fn already_exists(resource: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        );
        e.details = Some(Box::new(name_kind(name, resource)));
        e
    }

    /// `Operation cannot be fulfilled on <resource> "<name>": <cause>` (409 `Conflict`).
    #[must_use]
    pub fn conflict(resource: &str, name: &str, cause: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {cause}"),
        );
        e.details = Some(Box::new(name_kind(name, resource)));
        e
    }

    /// `<resource>.<group> "name" not found` (404 `NotFound`) for a resource of a named group.
    #[must_use]
    pub fn not_found_in(group: &str, resource: &str, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{resource}.{group} \"{name}\" not found"),
        );
        e.details = Some(Box::new(name_group_kind(name, group, resource)));
        e
    }

    /// `<resource>.<group> "name" already exists` (409 `AlreadyExists`).
    #[must_use]
    pub fn already_exists_in(group: &str, resource: &str, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{resource}.{group} \"{name}\" already exists"),
        );
        e.details = Some(Box::new(name_group_kind(name, group, resource)));
        e
    }

    /// `Operation cannot be fulfilled on <resource>.<group> "<name>": <cause>` (409 `Conflict`).
    #[must_use]
    pub fn conflict_in(group: &str, resource: &str, name: &str, cause: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource}.{group} \"{name}\": {cause}"),
        );
        e.details = Some(Box::new(name_group_kind(name, group, resource)));
        e
    }

    /// The 409 of a server-side apply that would take fields from other managers
    /// (`errors.NewApplyConflict`): reason `Conflict`, one `FieldManagerConflict` cause per field
    /// (`(message, field)`).
    #[must_use]
    pub fn apply_conflict(message: String, causes: &[(String, String)]) -> Self {
        let mut e = Self::new(409, "Conflict", message);
        let causes: Vec<Value> = causes
            .iter()
            .map(|(m, f)| json!({"reason": "FieldManagerConflict", "message": m, "field": f}))
            .collect();
        e.details = Some(Box::new(json!({ "causes": causes })));
        e
    }

    /// An error the API server did not turn into a `Status` itself (a plain Go error from a
    /// handler): the code, no reason, the error's text as the message.
    #[must_use]
    pub fn unknown(code: u16, message: impl Into<String>) -> Self {
        Self::new(code, "", message)
    }

    /// 403 `Forbidden` for a resource of a named API group.
    #[must_use]
    pub fn forbidden_in(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        name: &str,
        namespace: &str,
    ) -> Self {
        let qualified = format!("{resource}.{group}");
        let subject = if name.is_empty() {
            qualified
        } else {
            format!("{qualified} \"{name}\"")
        };
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{namespace}\"")
        };
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" \
                 in API group \"{group}\" {scope}"
            ),
        );
        e.details = Some(Box::new(name_group_kind(name, group, resource)));
        e
    }

    /// 415 `UnsupportedMediaType` for a PATCH whose `Content-Type` is no patch type of a
    /// built-in resource.
    #[must_use]
    pub fn unsupported_patch_type() -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, \
             application/strategic-merge-patch+json, application/apply-patch+yaml",
        )
    }

    /// 400 `BadRequest` with the given message and no details.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 410 `Expired` (`NewResourceExpired`).
    #[must_use]
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 422 `Invalid` for `<kind> "<name>" is invalid: <causes>`.
    #[must_use]
    pub fn invalid(group_kind: &str, name: &str, causes: &[(String, String, String)]) -> Self {
        // causes: (reason type, message, field)
        let msgs: Vec<String> = causes
            .iter()
            .map(|(_, m, f)| {
                if f.is_empty() {
                    m.clone()
                } else {
                    format!("{f}: {m}")
                }
            })
            .collect();
        let joined = if msgs.len() == 1 {
            msgs[0].clone()
        } else {
            format!("[{}]", msgs.join(", "))
        };
        let (group, kind) = match group_kind.split_once('.') {
            Some((k, g)) => (g, k),
            None => ("", group_kind),
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{group_kind} \"{name}\" is invalid: {joined}"),
        );
        let mut d = Map::new();
        if !name.is_empty() {
            d.insert("name".into(), Value::from(name));
        }
        if !group.is_empty() {
            d.insert("group".into(), Value::from(group));
        }
        d.insert("kind".into(), Value::from(kind));
        d.insert(
            "causes".into(),
            Value::Array(
                causes
                    .iter()
                    .map(|(r, m, f)| json!({"reason": r, "message": m, "field": f}))
                    .collect(),
            ),
        );
        e.details = Some(Box::new(Value::Object(d)));
        e
    }

    /// 401 `Unauthorized`.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 `Forbidden`, the RBAC denial message of a real server.
    #[must_use]
    pub fn forbidden(user: &str, verb: &str, resource: &str, name: &str, namespace: &str) -> Self {
        let subject = if name.is_empty() {
            resource.to_string()
        } else {
            format!("{resource} \"{name}\"")
        };
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{namespace}\"")
        };
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" \
                 in API group \"\" {scope}"
            ),
        );
        e.details = Some(Box::new(name_kind(name, resource)));
        e
    }

    /// 500 `InternalError`.
    #[must_use]
    pub fn internal(cause: &str) -> Self {
        let mut e = Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {cause}"),
        );
        e.details = Some(Box::new(json!({"causes": [{"message": cause}]})));
        e
    }

    /// 503 `ServiceUnavailable`.
    #[must_use]
    pub fn service_unavailable(message: &str) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 429 `TooManyRequests` with `Retry-After`, like the max-in-flight filter.
    #[must_use]
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        );
        e.details = Some(Box::new(json!({"retryAfterSeconds": retry_after})));
        e.retry_after = Some(retry_after);
        e
    }

    /// 405 `MethodNotAllowed`.
    #[must_use]
    pub fn method_not_supported(resource: &str, action: &str) -> Self {
        let mut e = Self::new(
            405,
            "MethodNotAllowed",
            format!("{action} is not supported on resources of kind \"{resource}\""),
        );
        e.details = Some(Box::new(json!({"kind": resource})));
        e
    }

    /// 405 `MethodNotAllowed` for a method that no route of the path accepts (go-restful's
    /// answer, turned into a `Status` by the API server's service error handler): e.g. `DELETE`
    /// on the cluster-wide `/api/v1/pods`, where only list and watch are installed.
    #[must_use]
    pub fn method_not_allowed() -> Self {
        let mut e = Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        );
        e.details = Some(Box::new(json!({"causes": [
            {"reason": "UnexpectedServerResponse", "message": "405: Method Not Allowed"}
        ]})));
        e
    }

    /// 406 `NotAcceptable`.
    #[must_use]
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml",
        )
    }

    /// 415 `UnsupportedMediaType`.
    #[must_use]
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type})"
            ),
        )
    }

    /// 504 `Timeout` for a resource version newer than the server has.
    #[must_use]
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        let mut e = Self::new(
            504,
            "Timeout",
            format!("Too large resource version: {requested}, current: {current}"),
        );
        e.details = Some(Box::new(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1
        })));
        e.retry_after = Some(1);
        e
    }

    /// The `Status` object.
    #[must_use]
    pub fn to_status(&self) -> Value {
        let mut meta = Map::new();
        if let Some(c) = &self.list_continue {
            meta.insert("continue".into(), Value::from(c.as_str()));
        }
        let mut m = Map::new();
        m.insert("kind".into(), "Status".into());
        m.insert("apiVersion".into(), "v1".into());
        m.insert("metadata".into(), Value::Object(meta));
        m.insert("status".into(), "Failure".into());
        m.insert("message".into(), Value::from(self.message.as_str()));
        if !self.reason.is_empty() {
            m.insert("reason".into(), Value::from(self.reason));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), (**d).clone());
        }
        m.insert("code".into(), Value::from(self.code));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_shape() {
        let s = ApiError::not_found("pods", "p1").to_status();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"p1\" not found","reason":"NotFound","details":{"name":"p1","kind":"pods"},"code":404}"#
        );
    }

    #[test]
    fn method_not_allowed_shape() {
        assert_eq!(
            serde_json::to_string(&ApiError::method_not_allowed().to_status()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","details":{"causes":[{"reason":"UnexpectedServerResponse","message":"405: Method Not Allowed"}]},"code":405}"#
        );
    }

    #[test]
    fn conflict_shape() {
        let e = ApiError::conflict("Pod", "p1", "boom");
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on Pod \"p1\": boom"
        );
        assert_eq!(e.to_status()["details"]["kind"], "Pod");
    }
}
