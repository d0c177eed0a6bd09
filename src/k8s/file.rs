//! Pods from a saved pod list (`--pods FILE`).
//!
//! Owns: reading what `kubectl get pods -o json` or `-o yaml` writes (a `v1/List` or `PodList`,
//! or a single `Pod`; `-` reads standard input) and applying, locally, the same candidate
//! selector and namespace scope that the cluster path applies on the server. Must not: contact
//! a cluster.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::{Listing, Namespaces, labels, pod_info};
use crate::selector::LabelSelector;

/// Why a pod file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PodFileError {
    /// The file could not be read.
    #[error("cannot read the file")]
    Read(#[source] std::io::Error),
    /// The bytes are not UTF-8 text.
    #[error("{0}")]
    Encoding(String),
    /// Nested deeper than any pod list is: refused before a parser recurses into it.
    #[error("nested more than {MAX_DEPTH} levels deep at line {line}; a pod list is not")]
    TooDeep {
        /// The line where the limit was passed.
        line: usize,
    },
    /// The file is not valid JSON.
    #[error("not valid JSON")]
    Json(#[source] serde_json::Error),
    /// The file is not valid YAML.
    #[error("not valid YAML: {0}")]
    Yaml(String),
    /// The document is not a pod list or a pod.
    #[error(
        "expected a pod list (kind List or PodList with `items`, as `kubectl get pods -o json` \
         writes) or a single Pod, found {0}"
    )]
    NotAPodList(String),
    /// One item of the list is not a well-formed pod.
    #[error("items[{index}] ({name}) is not a valid Pod: {problem}")]
    InvalidItem {
        /// Position in `items`.
        index: usize,
        /// `namespace/name` as far as known.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// Two items are the same pod: one listing never holds a pod twice, so the file was put
    /// together from several listings (or edited), and which item is current cannot be told.
    #[error(
        "items[{first}] and items[{second}] are both {what}: a pod list holds each pod once, so \
         this file mixes several listings; save one `kubectl get pods -o json` output"
    )]
    DuplicatePod {
        /// Position of the first item.
        first: usize,
        /// Position of the repeat.
        second: usize,
        /// `pod namespace/name` or `uid X`.
        what: String,
    },
}

/// Reads a pod file (`-` for standard input) and keeps the candidate pods in scope.
pub(crate) fn read(
    path: &Path,
    selector: &LabelSelector,
    scope: &Namespaces,
) -> Result<Listing, PodFileError> {
    let bytes = if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(PodFileError::Read)?;
        bytes
    } else {
        std::fs::read(path).map_err(PodFileError::Read)?
    };
    let text = decode(bytes)?;
    let document = parse_document(path, &text)?;
    let pods = items(document)?;
    let mut listing = Listing::default();
    let mut seen_names: HashMap<(String, String), usize> = HashMap::new();
    let mut seen_uids: HashMap<String, usize> = HashMap::new();
    for (index, item) in pods {
        let name = item_name(&item);
        let pod: Pod = serde_json::from_value(item).map_err(|e| PodFileError::InvalidItem {
            index,
            name,
            problem: e.to_string(),
        })?;
        listing.seen += 1;
        let meta = &pod.metadata;
        let key = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        if !key.1.is_empty() {
            let what = format!("pod {}/{}", key.0, key.1);
            if let Some(first) = seen_names.insert(key, index) {
                return Err(PodFileError::DuplicatePod {
                    first,
                    second: index,
                    what,
                });
            }
        }
        if let Some(uid) = meta.uid.as_deref().filter(|u| !u.is_empty())
            && let Some(first) = seen_uids.insert(uid.to_string(), index)
        {
            return Err(PodFileError::DuplicatePod {
                first,
                second: index,
                what: format!("uid {uid}"),
            });
        }
        let in_scope = pod
            .metadata
            .namespace
            .as_deref()
            .is_none_or(|ns| scope.file_contains(ns));
        if !in_scope || !selector.matches(&labels(&pod)) {
            continue;
        }
        match pod_info(&pod, None) {
            Ok(info) => listing.pods.push(info),
            Err(invalid) => {
                tracing::warn!("skipped: {invalid}");
                listing.invalid.push(invalid);
            }
        }
    }
    Ok(listing)
}

/// The text of a pod file: UTF-8, with a byte-order mark tolerated (and said); UTF-16, as
/// PowerShell's `>` writes, and other bytes are refused with a message that says which.
fn decode(mut bytes: Vec<u8>) -> Result<String, PodFileError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        tracing::warn!("the pod file starts with a UTF-8 byte-order mark; it is ignored");
        bytes.drain(..3);
    }
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || (bytes.len() >= 4 && (bytes[1] == 0 && bytes[3] == 0 || bytes[0] == 0 && bytes[2] == 0));
    if utf16 {
        return Err(PodFileError::Encoding(
            "the file is UTF-16 text (as PowerShell's `>` writes it), not UTF-8: convert it \
             (`iconv -f UTF-16 -t UTF-8`), or save it with `Out-File -Encoding utf8`"
                .into(),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        PodFileError::Encoding(format!(
            "the file is not UTF-8 text: invalid byte 0x{:02x} at offset {}",
            e.as_bytes()[e.utf8_error().valid_up_to()],
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The deepest nesting accepted in a pod file; a pod is about 10 levels deep.
pub(crate) const MAX_DEPTH: usize = 200;

/// Refuses text nested deeper than [`MAX_DEPTH`] in one linear pass, before any parser
/// recurses: flow collections (`[`, `{`, outside quoted strings and comments) and compact
/// block sequences (`- - - x`) are counted; indentation cannot nest deeper than a line is
/// long, so it needs no check of its own.
fn check_depth(text: &str) -> Result<(), PodFileError> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut line = 1;
    let mut line_start = true;
    let mut compact = 0usize;
    let mut previous = b'\n';
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            line_start = true;
            compact = 0;
            previous = c;
            i += 1;
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == b'"' && c == b'\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == b'#' && (previous == b' ' || previous == b'\t' || line_start) {
            // A YAML comment: skip to the end of the line.
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if line_start && c == b'-' && bytes.get(i + 1).is_none_or(|n| *n == b' ') {
            compact += 1;
            if compact > MAX_DEPTH {
                return Err(PodFileError::TooDeep { line });
            }
        } else if c == b'"' || c == b'\'' {
            line_start = false;
            quote = Some(c);
        } else if c == b'[' || c == b'{' {
            line_start = false;
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(PodFileError::TooDeep { line });
            }
        } else if c == b']' || c == b'}' {
            line_start = false;
            depth = depth.saturating_sub(1);
        } else if c != b' ' && c != b'\t' {
            line_start = false;
        }
        previous = c;
        i += 1;
    }
    Ok(())
}

/// Parses JSON or YAML, by extension, else by the first character.
fn parse_document(path: &Path, text: &str) -> Result<Value, PodFileError> {
    check_depth(text)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let json = match extension.as_deref() {
        Some("json") => true,
        Some("yaml" | "yml") => false,
        _ => text.trim_start().starts_with(['{', '[']),
    };
    if json {
        match serde_json::from_str(text) {
            Ok(value) => Ok(value),
            // Without a `.json` name, `{kind: List, items: [...]}` is a YAML flow mapping.
            Err(e) if extension.as_deref() != Some("json") => {
                serde_yaml::from_str(text).map_err(|_| PodFileError::Json(e))
            }
            Err(e) => Err(PodFileError::Json(e)),
        }
    } else {
        serde_yaml::from_str(text).map_err(|e| PodFileError::Yaml(e.to_string()))
    }
}

/// The pod items of a document, with their index in `items` (0 for a single pod). Items of
/// other kinds (`kubectl get pods,svc -o json`) are left out.
fn items(document: Value) -> Result<Vec<(usize, Value)>, PodFileError> {
    let Value::Object(mut object) = document else {
        return Err(PodFileError::NotAPodList(describe(&document)));
    };
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_string);
    match (kind.as_deref(), object.remove("items")) {
        (Some("Pod"), _) => Ok(vec![(0, Value::Object(object))]),
        (Some("List" | "PodList") | None, Some(Value::Array(items))) => Ok(items
            .into_iter()
            .enumerate()
            .filter(|(_, item)| {
                item.get("kind")
                    .and_then(Value::as_str)
                    .is_none_or(|k| k == "Pod")
            })
            .collect()),
        (Some("List" | "PodList"), Some(Value::Null) | None) => Ok(Vec::new()),
        (Some(other), _) => Err(PodFileError::NotAPodList(format!("kind {other:?}"))),
        (None, Some(other)) => Err(PodFileError::NotAPodList(format!(
            "`items` that is {}",
            describe(&other)
        ))),
        (None, None) => Err(PodFileError::NotAPodList(
            "an object without `kind` or `items`".into(),
        )),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn item_name(item: &Value) -> String {
    let meta = item.get("metadata");
    let field = |f: &str| {
        meta.and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .unwrap_or("?")
    };
    format!("{}/{}", field("namespace"), field("name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const DRIVER: &str = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"d","namespace":"a",
        "uid":"u","resourceVersion":"1","creationTimestamp":"2026-11-01T00:00:00Z",
        "labels":{"kyuubi-unique-tag":"t","spark-app-selector":"s","spark-role":"driver"}},
        "status":{"phase":"Succeeded"}}"#;
    const EXECUTOR: &str = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"e","namespace":"a",
        "uid":"v","resourceVersion":"2","creationTimestamp":"2026-11-01T00:00:00Z",
        "labels":{"kyuubi-unique-tag":"t","spark-app-selector":"s","spark-role":"executor"}},
        "status":{"phase":"Running"}}"#;

    fn candidates() -> LabelSelector {
        LabelSelector::candidates(None).unwrap()
    }

    #[test]
    fn reads_a_kubectl_list_and_keeps_only_drivers() {
        let list = format!(
            r#"{{"apiVersion":"v1","kind":"List","metadata":{{"resourceVersion":""}},"items":[{DRIVER},{EXECUTOR},
               {{"kind":"Service","apiVersion":"v1","metadata":{{"name":"svc"}}}}]}}"#
        );
        let (_dir, path) = write("pods.json", &list);
        let listing = read(&path, &candidates(), &Namespaces::All).unwrap();
        assert_eq!(listing.seen, 2);
        assert_eq!(listing.pods.len(), 1);
        assert_eq!(listing.pods[0].name, "d");
        assert_eq!(listing.pods[0].context, None);
    }

    #[test]
    fn reads_yaml_and_a_single_pod() {
        let yaml = "apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: d\n    namespace: a\n    creationTimestamp: \"2026-11-01T00:00:00Z\"\n    labels:\n      kyuubi-unique-tag: t\n      spark-app-selector: s\n      spark-role: driver\n  status:\n    phase: Running\n";
        let (_dir, path) = write("pods.yaml", yaml);
        let listing = read(&path, &candidates(), &Namespaces::All).unwrap();
        assert_eq!(listing.pods.len(), 1);
        assert_eq!(listing.pods[0].uid, None);

        let (_dir, path) = write("pod", DRIVER);
        assert_eq!(
            read(&path, &candidates(), &Namespaces::All)
                .unwrap()
                .pods
                .len(),
            1
        );
    }

    #[test]
    fn applies_the_namespace_scope() {
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        let (_dir, path) = write("pods.json", &list);
        let only_b = Namespaces::Only(vec!["b".into()]);
        assert!(read(&path, &candidates(), &only_b).unwrap().pods.is_empty());
        let only_a = Namespaces::Only(vec!["b".into(), "a".into()]);
        assert_eq!(read(&path, &candidates(), &only_a).unwrap().pods.len(), 1);
    }

    #[test]
    fn malformed_files_give_clear_errors() {
        let cases = [
            (
                "bad.json",
                "{\"kind\": \"List\", \"items\": [",
                "not valid JSON",
            ),
            ("bad.yaml", "kind: [unclosed", "not valid YAML"),
            (
                "svc.json",
                r#"{"kind":"Service"}"#,
                "found kind \"Service\"",
            ),
            ("num.json", "42", "found a number"),
            ("obj.json", "{}", "without `kind` or `items`"),
            (
                "item.json",
                r#"{"kind":"List","items":[{"metadata":{"name":"x","namespace":"n"},"status":5}]}"#,
                "items[0] (n/x) is not a valid Pod",
            ),
        ];
        for (name, text, expected) in cases {
            let (_dir, path) = write(name, text);
            let err = read(&path, &candidates(), &Namespaces::All).unwrap_err();
            assert!(err.to_string().contains(expected), "{name}: {err}");
        }
        let missing = read(
            Path::new("/nonexistent/pods.json"),
            &candidates(),
            &Namespaces::All,
        );
        assert!(matches!(missing, Err(PodFileError::Read(_))));
    }

    #[test]
    fn a_candidate_without_a_creation_time_is_skipped_and_reported() {
        let broken = DRIVER.replace(r#""creationTimestamp":"2026-11-01T00:00:00Z","#, "");
        let (_dir, path) = write(
            "pods.json",
            &format!(r#"{{"kind":"List","items":[{broken}]}}"#),
        );
        let listing = read(&path, &candidates(), &Namespaces::All).unwrap();
        assert!(listing.pods.is_empty());
        assert_eq!(listing.invalid.len(), 1);
    }

    fn write_bytes(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn encodings_are_named() {
        let list = format!(r#"{{"kind":"List","items":[{DRIVER}]}}"#);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(list.as_bytes());
        let (_d, path) = write_bytes("pods.json", &bom);
        let listing = read(&path, &candidates(), &Namespaces::All).unwrap();
        assert_eq!(
            listing.pods.len(),
            1,
            "a UTF-8 byte-order mark is tolerated"
        );

        let mut utf16 = vec![0xFF, 0xFE];
        for unit in list.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let (_d, path) = write_bytes("pods.json", &utf16);
        let err = read(&path, &candidates(), &Namespaces::All).unwrap_err();
        assert!(err.to_string().contains("UTF-16"), "{err}");
        let (_d, path) = write_bytes("pods.json", &utf16[2..]);
        let err = read(&path, &candidates(), &Namespaces::All).unwrap_err();
        assert!(
            err.to_string().contains("UTF-16"),
            "without a BOM too: {err}"
        );

        let mut latin1 = list.clone().into_bytes();
        latin1.insert(10, 0xE9);
        let (_d, path) = write_bytes("pods.json", &latin1);
        let err = read(&path, &candidates(), &Namespaces::All).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is not UTF-8 text: invalid byte 0xe9 at offset 10"
        );
    }

    #[test]
    fn a_yaml_flow_mapping_is_not_taken_for_json() {
        let flow = "{kind: List, items: [{kind: Pod, metadata: {name: d, namespace: a, uid: u, \
                    resourceVersion: '1', creationTimestamp: '2026-11-01T00:00:00Z', labels: \
                    {kyuubi-unique-tag: t, spark-app-selector: s, spark-role: driver}}, status: \
                    {phase: Succeeded}}]}";
        let (_d, path) = write("pods", flow);
        let listing = read(&path, &candidates(), &Namespaces::All).unwrap();
        assert_eq!(listing.pods.len(), 1);
        // Named .json, it must be JSON.
        let (_d, path) = write("pods.json", flow);
        assert!(matches!(
            read(&path, &candidates(), &Namespaces::All),
            Err(PodFileError::Json(_))
        ));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let started = std::time::Instant::now();
        for (name, text) in [
            ("deep.yaml", "[".repeat(100_000) + &"]".repeat(100_000)),
            ("deep.json", "{\"a\":".repeat(100_000)),
            ("deep.yaml", "- ".repeat(100_000) + "x\n"),
            ("deep", "a:\n  ".to_string() + &"{b: ".repeat(300)),
        ] {
            let (_d, path) = write(name, &text);
            let err = read(&path, &candidates(), &Namespaces::All).unwrap_err();
            assert!(
                matches!(err, PodFileError::TooDeep { line: 1 | 2 }),
                "{name}: {err}"
            );
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "# [[[[ {}\nkind: List\nitems: []\nnote: \"{}\"\nother: '{}'\n",
            "[".repeat(500),
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(check_depth(&quoted).is_ok());
        assert!(check_depth(&format!("{}{}", "[".repeat(200), "]".repeat(200))).is_ok());
    }
}
