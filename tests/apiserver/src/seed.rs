//! Seed files: pod lists in the shape `kubectl get pods -o json|yaml` writes (`v1/List` or
//! `PodList`), a single `Pod`, or a JSON array of pods; JSON or YAML (several YAML documents are
//! fine). Large JSON files are streamed item by item.

use std::fmt;
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A seed file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The content is not a pod list.
    #[error("{path}: {message}")]
    Parse {
        /// The file (or `<inline>`).
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The format of a seed text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

impl SeedFormat {
    /// Guess from the extension, then from the first non-blank character.
    #[must_use]
    pub fn detect(path: Option<&Path>, text: &[u8]) -> Self {
        match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("json") => return Self::Json,
            Some("yaml" | "yml") => return Self::Yaml,
            _ => {}
        }
        match text.iter().find(|c| !c.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Self::Json,
            _ => Self::Yaml,
        }
    }
}

fn is_pod(v: &Value) -> bool {
    match v.get("kind").and_then(Value::as_str) {
        Some(k) => k == "Pod",
        None => v.get("metadata").is_some(),
    }
}

/// Feed the pods of one parsed document to `f`.
fn dispatch(doc: Value, f: &mut dyn FnMut(Value) -> Result<(), String>) -> Result<usize, String> {
    match doc {
        Value::Null => Ok(0),
        Value::Array(items) => {
            let mut n = 0;
            for it in items {
                if is_pod(&it) {
                    f(it)?;
                    n += 1;
                }
            }
            Ok(n)
        }
        Value::Object(mut m) => {
            if let Some(Value::Array(items)) = m.remove("items") {
                dispatch(Value::Array(items), f)
            } else {
                let v = Value::Object(m);
                if is_pod(&v) {
                    f(v)?;
                    Ok(1)
                } else {
                    Err("not a Pod, PodList or List".into())
                }
            }
        }
        _ => Err("expected an object or an array".into()),
    }
}

struct ItemsSeed<'a> {
    f: &'a mut dyn FnMut(Value) -> Result<(), String>,
    count: &'a mut usize,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of pods")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            if is_pod(&item) {
                (self.f)(item).map_err(serde::de::Error::custom)?;
                *self.count += 1;
            }
        }
        Ok(())
    }
}

struct TopSeed<'a> {
    f: &'a mut dyn FnMut(Value) -> Result<(), String>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Pod, a PodList or a List")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<usize, A::Error> {
        let mut count = 0;
        ItemsSeed {
            f: self.f,
            count: &mut count,
        }
        .visit_seq(seq)?;
        Ok(count)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut rest = Map::new();
        let mut count = 0;
        let mut had_items = false;
        while let Some(k) = map.next_key::<String>()? {
            if k == "items" {
                had_items = true;
                map.next_value_seed(ItemsSeed {
                    f: &mut *self.f,
                    count: &mut count,
                })?;
            } else if had_items {
                map.next_value::<IgnoredAny>()?;
            } else {
                rest.insert(k, map.next_value::<Value>()?);
            }
        }
        if had_items {
            return Ok(count);
        }
        dispatch(Value::Object(rest), self.f).map_err(serde::de::Error::custom)
    }
}

/// Parse seed text and call `f` for every pod in it; returns the number of pods.
pub fn for_each_pod(
    text: &[u8],
    format: SeedFormat,
    name: &str,
    f: &mut dyn FnMut(Value) -> Result<(), String>,
) -> Result<usize, SeedError> {
    let perr = |message: String| SeedError::Parse {
        path: name.to_string(),
        message,
    };
    match format {
        SeedFormat::Json => {
            let mut de = serde_json::Deserializer::from_slice(text);
            let n = TopSeed { f }
                .deserialize(&mut de)
                .map_err(|e| perr(e.to_string()))?;
            de.end().map_err(|e| perr(e.to_string()))?;
            Ok(n)
        }
        SeedFormat::Yaml => {
            let text = std::str::from_utf8(text).map_err(|e| perr(e.to_string()))?;
            let mut n = 0;
            for doc in serde_yaml::Deserializer::from_str(text) {
                let v = Value::deserialize(doc).map_err(|e| perr(e.to_string()))?;
                n += dispatch(v, f).map_err(perr)?;
            }
            Ok(n)
        }
    }
}

use serde::Deserialize as _;

/// Read all pods of a seed file.
pub fn read_file(path: &Path) -> Result<Vec<Value>, SeedError> {
    let text = std::fs::read(path).map_err(|source| SeedError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for_each_pod(
        &text,
        SeedFormat::detect(Some(path), &text),
        &path.display().to_string(),
        &mut |v| {
            out.push(v);
            Ok(())
        },
    )?;
    Ok(out)
}

/// Parse pods from a string (JSON or YAML, detected from the content).
pub fn parse_str(text: &str) -> Result<Vec<Value>, SeedError> {
    let mut out = Vec::new();
    for_each_pod(
        text.as_bytes(),
        SeedFormat::detect(None, text.as_bytes()),
        "<inline>",
        &mut |v| {
            out.push(v);
            Ok(())
        },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_and_single_pods() {
        let list = r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},
            "items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x"}},
                     {"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}]}"#;
        let pods = parse_str(list).unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods[0]["metadata"]["name"], "a");
        let items_first = r#"{"items":[{"kind":"Pod","metadata":{"name":"a"}}],"kind":"PodList"}"#;
        assert_eq!(parse_str(items_first).unwrap().len(), 1);
        let single = r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b"}}"#;
        assert_eq!(parse_str(single).unwrap()[0]["metadata"]["name"], "b");
        assert!(parse_str(r#"{"kind":"Service","metadata":{"name":"s"}}"#).is_err());
        assert!(parse_str("{").is_err());
    }

    #[test]
    fn yaml_documents() {
        let y = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n    labels:\n      x: \"1\"\n---\nkind: Pod\nmetadata:\n  name: b\n";
        let pods = parse_str(y).unwrap();
        assert_eq!(pods.len(), 2);
        assert_eq!(pods[0]["metadata"]["labels"]["x"], "1");
    }
}
