//! The non-apply PATCH formats: JSON merge patch (RFC 7386), strategic merge patch for objects
//! without lists of merge keys, and JSON patch (RFC 6902), applied to an object as JSON.
//!
//! Owns: applying a patch document to a JSON value, and the real server's errors for a patch
//! that does not decode or does not apply. Must not: know a resource (decoding and validating
//! the result is the caller's).

use serde_json::{Map, Value};

use crate::status::ApiError;

/// RFC 7386: objects merge key by key, `null` deletes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// A strategic merge patch on an object whose lists have no merge keys (every list is replaced,
/// as for a Lease): a merge patch plus the `$patch: replace` / `$patch: delete` directives on
/// maps and `$retainKeys`; the list-order directives are ignored.
pub(crate) fn strategic_merge_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match p.get("$patch").map(|d| d.as_str()) {
        None => {}
        Some(Some("replace")) => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            *target = Value::Object(Map::new());
            return strategic_merge_patch(target, &Value::Object(replaced));
        }
        Some(Some("delete")) => {
            *target = Value::Null;
            return Ok(());
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unknown patch type: {}, Patch: {patch}",
                other.unwrap_or("")
            )));
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let retain: Option<Vec<String>> = p.get("$retainKeys").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|k| k.as_str().map(str::to_string))
            .collect()
    });
    if let Value::Object(t) = target {
        if let Some(keep) = &retain {
            t.retain(|k, _| keep.contains(k));
        }
        for (k, v) in p {
            if k.starts_with('$') {
                continue;
            }
            if v.is_null() {
                t.remove(k);
                continue;
            }
            let slot = t.entry(k.clone()).or_insert(Value::Null);
            strategic_merge_patch(slot, v)?;
            if slot.is_null() {
                t.remove(k);
            }
        }
    }
    Ok(())
}

/// The 422 of a JSON patch that decodes but does not apply (`NewGenericServerResponse`).
fn patch_failed(why: &str) -> ApiError {
    let mut e = ApiError::unknown(
        422,
        "the server rejected our request due to an error in our request",
    );
    e.reason = "Invalid";
    e.details = Some(Box::new(serde_json::json!({
        "causes": [{"reason": "UnexpectedServerResponse", "message": why}]
    })));
    e
}

/// One RFC 6901 pointer, split into unescaped tokens.
fn tokens(pointer: &str) -> Result<Vec<String>, ApiError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(patch_failed(&format!("invalid JSON pointer {pointer:?}")));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, t| match cur {
        Value::Object(m) => m.get(t),
        Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn parent_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |cur, t| match cur {
        Value::Object(m) => m.get_mut(t),
        Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), ApiError> {
    let Some((last, parents)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let missing = || {
        patch_failed(&format!(
            "add operation does not apply: doc is missing path: \"/{}\": missing value",
            path.join("/")
        ))
    };
    match parent_mut(doc, parents).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .ok()
                    .filter(|i| *i <= a.len())
                    .ok_or_else(missing)?
            };
            a.insert(i, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, ApiError> {
    let missing = || {
        patch_failed(&format!(
            "Unable to remove nonexistent key: {}: missing value",
            path.last().map_or("", String::as_str)
        ))
    };
    let Some((last, parents)) = path.split_last() else {
        return Err(missing());
    };
    match parent_mut(doc, parents).ok_or_else(missing)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = last
                .parse::<usize>()
                .ok()
                .filter(|i| *i < a.len())
                .ok_or_else(missing)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

/// RFC 6902: `add`, `remove`, `replace`, `move`, `copy`, `test`, applied in order.
pub(crate) fn json_patch(doc: &mut Value, patch: &[u8]) -> Result<(), ApiError> {
    let ops: Vec<Map<String, Value>> = serde_json::from_slice(patch).map_err(|_| {
        ApiError::bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    })?;
    for op in ops {
        let s = |k: &str| op.get(k).and_then(Value::as_str);
        let target = tokens(s("path").unwrap_or(""))?;
        let value = || {
            op.get("value").cloned().ok_or_else(|| {
                patch_failed(&format!(
                    "missing value for {} operation",
                    s("op").unwrap_or("")
                ))
            })
        };
        match s("op") {
            Some("add") => add(doc, &target, value()?)?,
            Some("remove") => {
                remove(doc, &target)?;
            }
            Some("replace") => {
                remove(doc, &target).map_err(|_| {
                    patch_failed(&format!(
                        "replace operation does not apply: doc is missing key: /{}: missing value",
                        target.join("/")
                    ))
                })?;
                add(doc, &target, value()?)?;
            }
            Some("move") => {
                let from = tokens(s("from").unwrap_or(""))?;
                let v = remove(doc, &from)?;
                add(doc, &target, v)?;
            }
            Some("copy") => {
                let from = tokens(s("from").unwrap_or(""))?;
                let v = get(doc, &from).cloned().ok_or_else(|| {
                    patch_failed("copy operation does not apply: doc is missing from path")
                })?;
                add(doc, &target, v)?;
            }
            Some("test") => {
                if get(doc, &target) != Some(&value()?) {
                    return Err(patch_failed(&format!(
                        "testing value /{} failed: test failed",
                        target.join("/")
                    )));
                }
            }
            other => {
                return Err(patch_failed(&format!(
                    "Unexpected kind: {}",
                    other.unwrap_or("")
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_with_null_and_replaces_lists() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut v, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(v, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn strategic_directives() {
        let mut v = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
        strategic_merge_patch(
            &mut v,
            &json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}, "spec": {"$patch": "delete"}}),
        )
        .unwrap();
        assert_eq!(v, json!({"metadata": {"labels": {"c": "3"}}}));
        assert_eq!(
            strategic_merge_patch(&mut v, &json!({"$patch": "sideways"}))
                .unwrap_err()
                .code,
            400
        );
    }

    #[test]
    fn json_patch_ops() {
        let mut v = json!({"spec": {"holderIdentity": "a"}, "l": [1]});
        json_patch(
            &mut v,
            br#"[{"op":"test","path":"/spec/holderIdentity","value":"a"},
                 {"op":"replace","path":"/spec/holderIdentity","value":"b"},
                 {"op":"add","path":"/l/-","value":2},
                 {"op":"copy","from":"/spec/holderIdentity","path":"/spec/x~1y"},
                 {"op":"remove","path":"/l/0"}]"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"spec": {"holderIdentity": "b", "x/y": "b"}, "l": [2]})
        );
        let e = json_patch(
            &mut v,
            br#"[{"op":"test","path":"/spec/holderIdentity","value":"a"}]"#,
        )
        .unwrap_err();
        assert_eq!((e.code, e.reason), (422, "Invalid"));
        assert_eq!(
            json_patch(&mut v, br#"{"op":"add"}"#).unwrap_err().code,
            400
        );
    }
}
