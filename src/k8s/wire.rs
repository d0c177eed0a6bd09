//! Pods as they come off the wire: only the fields the crate reads, straight from the bytes.
//!
//! Owns: serde types for the dozen fields [`super::pod_info`] reads from a pod (borrowed from the
//! input where it allows, every other field skipped without being built), and the item visitor
//! that hands a list's pods one by one to a sink, so that neither a page of an API answer nor a
//! pod file is ever held as a tree of whole `Pod` objects. Must not: judge pods or know where the
//! bytes came from (an API page, a file, standard input).

use std::borrow::{Borrow, Cow};
use std::fmt;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string, borrowed from the input when it holds no escapes, else owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Str<'a>(pub Cow<'a, str>);

impl Str<'_> {
    /// The text.
    #[must_use]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor(std::marker::PhantomData))
    }
}

/// An RFC 3339 time (`metadata.creationTimestamp`, `finishedAt`, …); a malformed one is an
/// error, as it is for Kubernetes' own types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Time(pub Timestamp);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Str::deserialize(deserializer)?;
        text.as_str()
            .parse::<Timestamp>()
            .map(Time)
            .map_err(|e| de::Error::custom(format!("invalid time {:?}: {e}", text.as_str())))
    }
}

/// The `metadata` of a pod (or of a list: its `continue` token).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Meta<'a> {
    /// `name`.
    #[serde(borrow)]
    pub name: Option<Str<'a>>,
    /// `namespace`.
    #[serde(borrow)]
    pub namespace: Option<Str<'a>>,
    /// `uid`.
    #[serde(borrow)]
    pub uid: Option<Str<'a>>,
    /// `resourceVersion`.
    #[serde(borrow)]
    pub resource_version: Option<Str<'a>>,
    /// `creationTimestamp`.
    pub creation_timestamp: Option<Time>,
    /// `deletionTimestamp`.
    pub deletion_timestamp: Option<Time>,
    /// `labels`.
    #[serde(borrow, default)]
    pub labels: Labels<'a>,
    /// `continue`, in a list's metadata.
    #[serde(borrow, rename = "continue")]
    pub continue_: Option<Str<'a>>,
}

/// `status` of a pod: the phase and what tells when it ended.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status<'a> {
    /// `phase`.
    #[serde(borrow)]
    pub phase: Option<Str<'a>>,
    /// `conditions`.
    #[serde(borrow)]
    pub conditions: Option<Vec<Condition<'a>>>,
    /// `containerStatuses`.
    #[serde(borrow)]
    pub container_statuses: Option<Vec<ContainerStatus<'a>>>,
}

/// One of `status.conditions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Condition<'a> {
    /// `type`.
    #[serde(borrow, rename = "type")]
    pub type_: Str<'a>,
    /// `lastTransitionTime`.
    pub last_transition_time: Option<Time>,
}

/// One of `status.containerStatuses`.
#[derive(Debug, Deserialize)]
pub(crate) struct ContainerStatus<'a> {
    /// `name`.
    #[serde(borrow)]
    pub name: Str<'a>,
    /// `state`.
    pub state: Option<ContainerState>,
}

/// `state` of a container status.
#[derive(Debug, Deserialize)]
pub(crate) struct ContainerState {
    /// `terminated`.
    pub terminated: Option<Terminated>,
}

/// `state.terminated` of a container status.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Terminated {
    /// `finishedAt`.
    pub finished_at: Option<Time>,
}

/// A pod, or an item of another kind in a mixed list (`kubectl get pods,svc -o json`).
#[derive(Debug, Default)]
pub(crate) struct Pod<'a> {
    /// `kind`, when given.
    pub kind: Option<Str<'a>>,
    /// `metadata`.
    pub metadata: Meta<'a>,
    /// `status`.
    pub status: Option<Status<'a>>,
}

impl Pod<'_> {
    /// Whether the item is a pod: `kind: Pod`, or no kind at all (as in a `PodList`).
    #[must_use]
    pub(crate) fn is_pod(&self) -> bool {
        self.kind.as_ref().is_none_or(|k| k.as_str() == "Pod")
    }
}

impl crate::selector::Labels for Pod<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.metadata.labels.get(key)
    }
}

/// A pod's labels in the order given: a pod has a handful, so a list is cheaper to build than
/// a map, and as quick to search. A key given twice has its last value, as in a map.
#[derive(Debug, Default)]
pub(crate) struct Labels<'a>(Vec<(Str<'a>, Str<'a>)>);

impl Labels<'_> {
    /// The value of `key`.
    #[must_use]
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Labels<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for LabelsVisitor<'a> {
            type Value = Labels<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of labels")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Labels::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Labels::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut labels = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
                while let Some(entry) = map.next_entry()? {
                    labels.push(entry);
                }
                Ok(Labels(labels))
            }
        }
        deserializer.deserialize_option(LabelsVisitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum PodField {
    Kind,
    Metadata,
    Status,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Pod<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PodSeed { name: &mut None }.deserialize(deserializer)
    }
}

/// Decodes one pod on its own (an item of a YAML list, split from it), leaving `namespace/name`
/// in `name` as soon as its metadata is read.
pub(crate) fn pod<'de, D: Deserializer<'de>>(
    deserializer: D,
    name: &mut Option<String>,
) -> Result<Pod<'de>, D::Error> {
    PodSeed { name }.deserialize(deserializer)
}

/// Decodes a [`Pod`], leaving `namespace/name` in `name` as soon as its metadata is read: an
/// item that then fails can still be named.
struct PodSeed<'n> {
    name: &'n mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for PodSeed<'_> {
    type Value = Pod<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Pod<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PodSeed<'_> {
    type Value = Pod<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Pod object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pod = Pod::default();
        let mut seen = [false; 3];
        while let Some(field) = map.next_key::<PodField>()? {
            // Once the kind says this is not a pod, the rest is only skipped: an item of
            // another kind may hold a `status` of any shape.
            let other_kind = !pod.is_pod();
            let slot = match field {
                PodField::Kind => 0,
                PodField::Metadata => 1,
                PodField::Status => 2,
                PodField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(de::Error::custom(format!(
                    "duplicate field `{}`",
                    ["kind", "metadata", "status"][slot]
                )));
            }
            match field {
                PodField::Kind => pod.kind = map.next_value()?,
                _ if other_kind => {
                    map.next_value::<IgnoredAny>()?;
                }
                PodField::Metadata => {
                    pod.metadata = map.next_value::<Option<Meta>>()?.unwrap_or_default();
                    let part =
                        |s: &Option<Str<'_>>| s.as_ref().map_or("?", Str::as_str).to_string();
                    *self.name = Some(format!(
                        "{}/{}",
                        part(&pod.metadata.namespace),
                        part(&pod.metadata.name)
                    ));
                }
                PodField::Status => pod.status = map.next_value()?,
                PodField::Other => unreachable!("skipped above"),
            }
        }
        if !pod.is_pod() {
            pod.metadata = Meta::default();
            pod.status = None;
        }
        Ok(pod)
    }
}

/// Where the items of a list go, one by one, as they are decoded. An error stops the decoding.
pub(crate) trait Sink<'de> {
    /// Takes item `index` of the list.
    fn item(&mut self, index: usize, pod: Pod<'de>) -> Result<(), String>;
    /// The list's `continue` token (`None`: the last page), as soon as it is read: before the
    /// items when `metadata` comes first, as API servers write it. Called once per page.
    fn token(&mut self, _token: Option<&str>) {}
    /// Item `index` (`namespace/name` as far as read) could not be decoded: `problem` says
    /// why. The decoding then stops with the parser's error.
    fn invalid(&mut self, _index: usize, _name: Option<String>, _problem: String) {}
}

/// What a list's `items` turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A list of this many items, each handed to the sink.
    List(usize),
    /// `null`.
    Null,
    /// Something else (`"a number"`, …): not a pod list.
    Other(&'static str),
}

/// Decodes a list's `items` into a [`Sink`].
pub(crate) struct Items<'s, S>(pub &'s mut S);

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Items<'_, S> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Sink<'de>> Visitor<'de> for Items<'_, S> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of pods")
    }

    fn visit_none<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Shape, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        Ok(Shape::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        Ok(Shape::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        Ok(Shape::Other("a string"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Shape::Other("an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let mut index = 0;
        loop {
            let mut name = None;
            match seq.next_element_seed(PodSeed { name: &mut name }) {
                Ok(Some(pod)) => self.0.item(index, pod).map_err(de::Error::custom)?,
                Ok(None) => return Ok(Shape::List(index)),
                Err(e) => {
                    self.0.invalid(index, name, e.to_string());
                    return Err(e);
                }
            }
            index += 1;
        }
    }
}

/// One page of a pod list from an API server: its `continue` token and its pods, handed to the
/// sink as they are decoded.
pub(crate) struct Page<'s, S>(pub &'s mut S);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum PageField {
    Metadata,
    Items,
    #[serde(other)]
    Other,
}

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Page<'_, S> {
    /// The continue token, when there is one.
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: Sink<'de>> Visitor<'de> for Page<'_, S> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a pod list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut token = None;
        let mut items = false;
        let mut told = false;
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::Metadata if !told => {
                    let meta = map.next_value::<Option<Meta>>()?.unwrap_or_default();
                    token = meta
                        .continue_
                        .map(|t| t.0.into_owned())
                        .filter(|t| !t.is_empty());
                    self.0.token(token.as_deref());
                    told = true;
                }
                PageField::Metadata => return Err(de::Error::custom("duplicate field `metadata`")),
                PageField::Items if !items => {
                    items = true;
                    if let Shape::Other(what) = map.next_value_seed(Items(&mut *self.0))? {
                        return Err(de::Error::custom(format!("`items` is {what}, not a list")));
                    }
                }
                PageField::Items => return Err(de::Error::custom("duplicate field `items`")),
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !told {
            self.0.token(None);
        }
        Ok(token)
    }
}

/// What the top of a pod file holds.
#[derive(Debug)]
pub(crate) enum Found<'de> {
    /// An object: a list (its `items` went to the sink) or a single pod.
    Object {
        /// `kind`.
        kind: Option<String>,
        /// What `items` was, when there was one.
        items: Option<Shape>,
        /// The object read as a pod (for `kind: Pod`).
        pod: Box<Pod<'de>>,
    },
    /// Not an object: `"a number"`, `"an array"`, …
    Other(&'static str),
}

/// A whole pod file: a `List`/`PodList` whose items go to the sink, or a single `Pod`.
pub(crate) struct Document<'s, S>(pub &'s mut S);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DocumentField {
    Kind,
    Metadata,
    Status,
    Items,
    #[serde(other)]
    Other,
}

impl<'de, S: Sink<'de>> DeserializeSeed<'de> for Document<'_, S> {
    type Value = Found<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Sink<'de>> Visitor<'de> for Document<'_, S> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a pod list or a pod")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Found<'de>, E> {
        Ok(Found::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Found<'de>, E> {
        Ok(Found::Other("null"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found<'de>, E> {
        Ok(Found::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Found<'de>, E> {
        Ok(Found::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Found<'de>, E> {
        Ok(Found::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Found<'de>, E> {
        Ok(Found::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Found<'de>, E> {
        Ok(Found::Other("a string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::Other("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut kind: Option<Str<'de>> = None;
        let mut items = None;
        let mut pod = Pod::default();
        let mut seen = [false; 4];
        while let Some(field) = map.next_key::<DocumentField>()? {
            let slot = match field {
                DocumentField::Kind => 0,
                DocumentField::Metadata => 1,
                DocumentField::Status => 2,
                DocumentField::Items => 3,
                DocumentField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(de::Error::custom(format!(
                    "duplicate field `{}`",
                    ["kind", "metadata", "status", "items"][slot]
                )));
            }
            match field {
                DocumentField::Kind => kind = map.next_value()?,
                DocumentField::Metadata => {
                    pod.metadata = map.next_value::<Option<Meta>>()?.unwrap_or_default();
                }
                DocumentField::Status => pod.status = map.next_value()?,
                DocumentField::Items => items = Some(map.next_value_seed(Items(&mut *self.0))?),
                DocumentField::Other => unreachable!("skipped above"),
            }
        }
        pod.kind.clone_from(&kind);
        Ok(Found::Object {
            kind: kind.map(|k| k.0.into_owned()),
            items,
            pod: Box::new(pod),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a page hands over, and when the token came.
    #[derive(Default)]
    struct Record {
        names: Vec<String>,
        token_after: Option<usize>,
        tokens: Vec<Option<String>>,
        invalid: Option<String>,
    }

    impl<'de> Sink<'de> for Record {
        fn item(&mut self, _: usize, pod: Pod<'de>) -> Result<(), String> {
            self.names.push(
                pod.metadata
                    .name
                    .map(|n| n.0.into_owned())
                    .unwrap_or_default(),
            );
            Ok(())
        }
        fn token(&mut self, token: Option<&str>) {
            self.token_after = Some(self.names.len());
            self.tokens.push(token.map(str::to_string));
        }
        fn invalid(&mut self, index: usize, name: Option<String>, problem: String) {
            self.invalid = Some(format!("{index} {name:?} {problem}"));
        }
    }

    fn page(body: &str) -> (Result<Option<String>, serde_json::Error>, Record) {
        let mut record = Record::default();
        let mut de = serde_json::Deserializer::from_str(body);
        let result = Page(&mut record)
            .deserialize(&mut de)
            .and_then(|t| de.end().map(|()| t));
        (result, record)
    }

    #[test]
    fn the_token_comes_before_the_items_when_the_metadata_does() {
        let (token, record) = page(
            r#"{"kind":"PodList","metadata":{"resourceVersion":"9","continue":"abc"},
               "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#,
        );
        assert_eq!(token.unwrap().as_deref(), Some("abc"));
        assert_eq!(record.token_after, Some(0), "told before any item");
        assert_eq!(record.names, ["a", "b"]);

        // Metadata last: told after the items; none at all: told at the end, once.
        let (token, record) = page(r#"{"items":[{"metadata":{"name":"a"}}],"metadata":{}}"#);
        assert_eq!(token.unwrap(), None);
        assert_eq!((record.token_after, record.tokens.len()), (Some(1), 1));
        let (token, record) = page(r#"{"items":[]}"#);
        assert_eq!(token.unwrap(), None);
        assert_eq!(record.tokens, [None]);
        // An empty token is the last page.
        let (token, _) = page(r#"{"metadata":{"continue":""},"items":null}"#);
        assert_eq!(token.unwrap(), None);
    }

    #[test]
    fn malformed_pages_fail_and_name_the_item() {
        let (result, record) = page(
            r#"{"items":[{"metadata":{"name":"a"}},{"metadata":{"namespace":"n","name":"b"},"status":{"phase":1}}]}"#,
        );
        assert!(result.is_err());
        assert!(
            record
                .invalid
                .unwrap()
                .starts_with("1 Some(\"n/b\") invalid type: integer `1`"),
        );
        for body in [
            r#"{"items":5}"#,
            r#"{"items":[],"items":[]}"#,
            r#"{"items":[{"metadata":{"creationTimestamp":"yesterday"}}]}"#,
            r#"{"items":[{"metadata":{"name":"a","name":"b"}}]}"#,
            r#"{"items":[{"kind":"Pod","kind":"Pod"}]}"#,
        ] {
            assert!(page(body).0.is_err(), "{body}");
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_labels_keep_the_last_value() {
        let body = r#"{"metadata":{"name":"plain","namespace":"esc\u0061ped",
                       "labels":{"a":"1","b":"2","a":"3"}}}"#;
        let pod: Pod = serde_json::from_str(body).unwrap();
        assert!(matches!(
            pod.metadata.name.unwrap().0,
            Cow::Borrowed("plain")
        ));
        assert!(matches!(pod.metadata.namespace.unwrap().0, Cow::Owned(ref s) if s == "escaped"));
        assert_eq!(pod.metadata.labels.get("a"), Some("3"));
        assert_eq!(pod.metadata.labels.get("b"), Some("2"));
        assert_eq!(pod.metadata.labels.get("c"), None);
        // An item of another kind is only skipped, whatever its status holds.
        let other: Pod =
            serde_json::from_str(r#"{"kind":"Service","status":{"phase":{"x":[1]}}}"#).unwrap();
        assert!(!other.is_pod());
    }
}
