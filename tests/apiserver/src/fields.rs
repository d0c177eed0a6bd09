//! Field ownership, as server-side apply tracks it in `metadata.managedFields`: field sets, their
//! `FieldsV1` encoding, and the rules by which `Update` and `Apply` operations move ownership,
//! after structured-merge-diff's `merge.Updater` and the API server's field manager
//! (`managedFieldsUpdater`, `stripMetaManager`, `NewConflictError`).
//!
//! Owns: [`FieldSet`] (paths of object keys), [`leaves`] (`ToFieldSet`), [`compare`] (`Compare`:
//! added, modified, removed, with the path of a map that an update adds as a member, the `.`
//! of `FieldsV1`), [`Managed`] (the entries of `metadata.managedFields`, decoded, updated and
//! encoded in the real server's order) and [`Conflict`]s with the real server's messages. Must
//! not: know a resource's schema beyond the one rule stated next, or touch the store.
//!
//! Objects are read without a schema: every JSON object is granular (each key its own field) and
//! every array atomic (one leaf), which is exact for a Lease, whose only lists are none. The
//! caller makes sure that the structs every typed object has (`metadata`, `spec`) are present on
//! both sides of a comparison, so that only maps (labels, annotations) can be added as a whole.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A path of object keys from the root (`["spec", "holderIdentity"]`).
pub(crate) type Path = Vec<String>;

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet(BTreeSet<Path>);

/// Paths that are never part of a manager's set (`stripMetaManager`).
const STRIPPED: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "creationTimestamp"],
    &["metadata", "selfLink"],
    &["metadata", "uid"],
    &["metadata", "clusterName"],
    &["metadata", "generation"],
    &["metadata", "managedFields"],
    &["metadata", "resourceVersion"],
];

impl FieldSet {
    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `path` is in the set.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.0.contains(path)
    }

    /// Adds a path.
    pub(crate) fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }

    /// The paths, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }

    /// Paths in both sets.
    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Paths in either set.
    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    /// Paths of `self` not in `other`.
    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// The set without the paths a manager never owns (type and identity metadata).
    pub(crate) fn stripped(&self) -> FieldSet {
        FieldSet(
            self.0
                .iter()
                .filter(|p| {
                    !STRIPPED
                        .iter()
                        .any(|s| s.iter().copied().eq(p.iter().map(String::as_str)))
                })
                .cloned()
                .collect(),
        )
    }

    /// The `FieldsV1` form: `{"f:spec":{"f:holderIdentity":{}}}`, a path that is itself a
    /// member (and has members below it) as `".":{}`, keys in the order the real server writes
    /// them (`.` first, then fields by name).
    pub(crate) fn to_fields_v1(&self) -> Value {
        fn node(set: &BTreeSet<Path>, prefix: &[String]) -> Value {
            let mut out = Map::new();
            let depth = prefix.len();
            let below: Vec<&Path> = set
                .iter()
                .filter(|p| p.len() > depth && p[..depth] == *prefix)
                .collect();
            if set.contains(prefix) && !below.is_empty() {
                out.insert(".".into(), Value::Object(Map::new()));
            }
            let mut children: Vec<&String> = below.iter().map(|p| &p[depth]).collect();
            children.dedup();
            for child in children {
                let mut path = prefix.to_vec();
                path.push(child.clone());
                out.insert(format!("f:{child}"), node(set, &path));
            }
            Value::Object(out)
        }
        node(&self.0, &[])
    }

    /// Parses a `FieldsV1` object (only `f:` and `.` members: the only ones objects without
    /// lists use).
    pub(crate) fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        fn walk(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) -> Result<(), String> {
            let m = v
                .as_object()
                .ok_or_else(|| format!("FieldsV1 at {}: not an object", path_string(path)))?;
            if m.is_empty() && !path.is_empty() {
                out.insert(path.clone());
            }
            for (k, child) in m {
                if k == "." {
                    out.insert(path.clone());
                } else if let Some(name) = k.strip_prefix("f:") {
                    path.push(name.to_string());
                    walk(child, path, out)?;
                    path.pop();
                } else {
                    return Err(format!("FieldsV1: unsupported path element {k:?}"));
                }
            }
            Ok(())
        }
        let mut out = BTreeSet::new();
        walk(v, &mut Vec::new(), &mut out)?;
        Ok(FieldSet(out))
    }
}

/// `.spec.holderIdentity`, as `fieldpath.Path.String` prints it.
pub(crate) fn path_string(path: &[String]) -> String {
    path.iter().fold(String::new(), |mut out, p| {
        out.push('.');
        out.push_str(p);
        out
    })
}

/// Every leaf of `v` (`TypedValue.ToFieldSet`): scalars (`null` included) and arrays are leaves,
/// objects are walked; an empty object adds nothing.
pub(crate) fn leaves(v: &Value) -> FieldSet {
    fn walk(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ => {
                out.insert(path.clone());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    FieldSet(out)
}

/// What changed between two versions of an object (`typed.Comparison`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Fields only the new version has (and maps it added as a whole).
    pub(crate) added: FieldSet,
    /// Leaves whose value changed.
    pub(crate) modified: FieldSet,
    /// Fields only the old version has (and maps it lost as a whole).
    pub(crate) removed: FieldSet,
}

/// Compares `old` with `new` like `TypedValue.Compare`: leaves are compared by value; two
/// objects that are both empty (or absent) compare as one leaf; an object present on one side
/// only is added (or removed) itself, after its members.
pub(crate) fn compare(old: &Value, new: &Value) -> Comparison {
    fn leaf(path: &Path, before: Option<&Value>, after: Option<&Value>, out: &mut Comparison) {
        match (before, after) {
            (None, Some(_)) => out.added.insert(path.clone()),
            (Some(_), None) => out.removed.insert(path.clone()),
            (Some(x), Some(y)) if x != y => out.modified.insert(path.clone()),
            _ => {}
        }
    }
    fn walk(path: &mut Path, before: Option<&Value>, after: Option<&Value>, out: &mut Comparison) {
        let before_map = before.and_then(Value::as_object);
        let after_map = after.and_then(Value::as_object);
        let both_maps =
            (before.is_none() || before_map.is_some()) && (after.is_none() || after_map.is_some());
        let both_empty =
            before_map.is_none_or(Map::is_empty) && after_map.is_none_or(Map::is_empty);
        if !both_maps || both_empty {
            leaf(path, before, after, out);
            return;
        }
        let mut keys: BTreeSet<&String> = BTreeSet::new();
        keys.extend(before_map.into_iter().flat_map(Map::keys));
        keys.extend(after_map.into_iter().flat_map(Map::keys));
        for k in keys {
            path.push(k.clone());
            walk(
                path,
                before_map.and_then(|m| m.get(k)),
                after_map.and_then(|m| m.get(k)),
                out,
            );
            path.pop();
        }
        if before.is_none() {
            out.added.insert(path.clone());
        } else if after.is_none() {
            out.removed.insert(path.clone());
        }
    }
    let mut out = Comparison::default();
    walk(&mut Vec::new(), Some(old), Some(new), &mut out);
    out
}

/// `metadata.managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `manager`.
    pub(crate) manager: String,
    /// `operation`.
    pub(crate) operation: Operation,
    /// `apiVersion`.
    pub(crate) api_version: String,
    /// `time` (RFC 3339, seconds), when the entry last took fields.
    pub(crate) time: Option<String>,
    /// `fieldsV1`.
    pub(crate) fields: FieldSet,
}

impl Entry {
    /// The manager as `printManager` shows it in conflict messages: `"name"` for an applier,
    /// `"name" using apiVersion` for an updater (the identifier carries no time).
    pub(crate) fn printed(&self) -> String {
        match self.operation {
            Operation::Apply => format!("{:?}", self.manager),
            Operation::Update => format!("{:?} using {}", self.manager, self.api_version),
        }
    }

    /// The encoded manager identifier (`BuildManagerIdentifier`), which conflicts are sorted by.
    fn identifier(&self) -> String {
        let mut m = Map::new();
        m.insert("manager".into(), Value::from(self.manager.as_str()));
        m.insert("operation".into(), Value::from(self.operation.as_str()));
        if self.operation == Operation::Update {
            m.insert("apiVersion".into(), Value::from(self.api_version.as_str()));
        }
        Value::Object(m).to_string()
    }

    fn same_manager(&self, manager: &str, operation: Operation) -> bool {
        self.manager == manager && self.operation == operation
    }
}

/// A field an apply would take from another manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    /// The other manager, as printed (`"a"`, `"b" using coordination.k8s.io/v1`).
    pub(crate) manager: String,
    /// The encoded manager identifier (the order of messages).
    identifier: String,
    /// The field (`.spec.holderIdentity`).
    pub(crate) field: String,
}

/// The message of `NewConflictError`: `Apply failed with 1 conflict: conflict with "a":
/// .spec.holderIdentity`, or one block per manager for several.
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [one] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager, one.field
        );
    }
    let mut managers: Vec<(&str, &str)> = conflicts
        .iter()
        .map(|c| (c.identifier.as_str(), c.manager.as_str()))
        .collect();
    managers.sort_unstable();
    managers.dedup();
    let mut lines = Vec::new();
    for (identifier, printed) in managers {
        lines.push(format!("conflicts with {printed}:"));
        for c in conflicts.iter().filter(|c| c.identifier == identifier) {
            lines.push(format!("- {}", c.field));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Who writes, through which version, and when (the `manager`, `apiVersion` and `time` of the
/// entry a write touches).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer<'a> {
    /// The field manager.
    pub(crate) manager: &'a str,
    /// The `apiVersion` written through.
    pub(crate) api_version: &'a str,
    /// Server time, RFC 3339 in seconds.
    pub(crate) now: &'a str,
}

/// The managed fields of one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Managed {
    /// The entries, in no particular order ([`Managed::encode`] sorts them).
    pub(crate) entries: Vec<Entry>,
}

impl Managed {
    /// Decodes `metadata.managedFields`.
    pub(crate) fn decode(v: &Value) -> Result<Managed, String> {
        let Some(items) = v.as_array() else {
            return Err("managedFields is not a list".into());
        };
        let mut entries = Vec::new();
        for item in items {
            let s = |k: &str| item.get(k).and_then(Value::as_str);
            let operation = match s("operation") {
                Some("Apply") => Operation::Apply,
                Some("Update") => Operation::Update,
                other => return Err(format!("unsupported operation {other:?}")),
            };
            if s("fieldsType").is_some_and(|t| t != "FieldsV1") {
                return Err("unsupported fieldsType".into());
            }
            let fields = match item.get("fieldsV1") {
                Some(f) => FieldSet::from_fields_v1(f)?,
                None => FieldSet::default(),
            };
            entries.push(Entry {
                manager: s("manager").unwrap_or("").to_string(),
                operation,
                api_version: s("apiVersion").unwrap_or("").to_string(),
                // metav1.Time: RFC 3339 in UTC, whole seconds, whatever the client sent
                time: s("time").map(|t| {
                    t.parse::<jiff::Timestamp>().map_or_else(
                        |_| t.to_string(),
                        |ts| ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    )
                }),
                fields,
            });
        }
        Ok(Managed { entries })
    }

    /// `metadata.managedFields`, sorted like `sortEncodedManagedFields` (operation, then time,
    /// then manager); `None` when there is no entry.
    pub(crate) fn encode(&self) -> Option<Value> {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| {
            a.operation
                .cmp(&b.operation)
                .then_with(|| a.time.cmp(&b.time))
                .then_with(|| a.manager.cmp(&b.manager))
                .then_with(|| a.api_version.cmp(&b.api_version))
        });
        let items: Vec<Value> = entries
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), Value::from(e.manager.as_str()));
                m.insert("operation".into(), Value::from(e.operation.as_str()));
                m.insert("apiVersion".into(), Value::from(e.api_version.as_str()));
                if let Some(t) = &e.time {
                    m.insert("time".into(), Value::from(t.as_str()));
                }
                m.insert("fieldsType".into(), Value::from("FieldsV1"));
                m.insert("fieldsV1".into(), e.fields.to_fields_v1());
                Value::Object(m)
            })
            .collect();
        (!items.is_empty()).then_some(Value::Array(items))
    }

    fn entry_mut(&mut self, manager: &str, operation: Operation) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .find(|e| e.same_manager(manager, operation))
    }

    /// An `Update` by `manager` from `old` to `new` (`Updater.Update` through the
    /// `managedFieldsUpdater`): every manager loses the fields that changed or went away; the
    /// updater gains the changed ones (and its time moves) if there are any.
    pub(crate) fn update(&mut self, old: &Value, new: &Value, writer: &Writer<'_>) {
        let Writer {
            manager,
            api_version,
            now,
        } = *writer;
        let c = compare(old, new);
        let touched = c.modified.union(&c.added);
        for e in &mut self.entries {
            e.fields = e.fields.difference(&touched).difference(&c.removed);
        }
        let taken = touched.stripped();
        if !taken.is_empty() {
            match self.entry_mut(manager, Operation::Update) {
                Some(e) => {
                    e.fields = e.fields.union(&taken);
                    e.time = Some(now.to_string());
                    e.api_version = api_version.to_string();
                }
                None => self.entries.push(Entry {
                    manager: manager.to_string(),
                    operation: Operation::Update,
                    api_version: api_version.to_string(),
                    time: Some(now.to_string()),
                    fields: taken,
                }),
            }
        }
        self.entries.retain(|e| !e.fields.is_empty());
    }

    /// An `Apply` of `config` by `manager` onto `live` (`Updater.Apply`): the merged object, or
    /// the conflicts when the apply would change fields that other managers own and `force` is
    /// off. With `force` the applier takes them. Fields the applier applied last time and not
    /// now are removed unless another manager owns them. `normalize` is the typed round trip of
    /// the merged object (dropping nulls and empty maps).
    pub(crate) fn apply(
        &mut self,
        live: &Value,
        config: &Value,
        writer: &Writer<'_>,
        force: bool,
        normalize: &dyn Fn(&mut Value),
    ) -> Result<Value, Vec<Conflict>> {
        let Writer {
            manager,
            api_version,
            now,
        } = *writer;
        let set = leaves(config).stripped();
        let last = self
            .entries
            .iter()
            .find(|e| e.same_manager(manager, Operation::Apply))
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        let mut merged = live.clone();
        merge_into(&mut merged, config);
        for path in last.difference(&set).iter() {
            let owned_elsewhere = self
                .entries
                .iter()
                .any(|e| !e.same_manager(manager, Operation::Apply) && e.fields.contains(path));
            if !owned_elsewhere {
                remove_path(&mut merged, path);
            }
        }
        normalize(&mut merged);
        let c = compare(live, &merged);
        let touched = c.modified.union(&c.added);
        let mut conflicts = Vec::new();
        for e in &self.entries {
            if e.same_manager(manager, Operation::Apply) {
                continue;
            }
            for path in e.fields.intersection(&touched).iter() {
                conflicts.push(Conflict {
                    manager: e.printed(),
                    identifier: e.identifier(),
                    field: path_string(path),
                });
            }
        }
        if !force && !conflicts.is_empty() {
            conflicts.sort_by(|a, b| (&a.identifier, &a.field).cmp(&(&b.identifier, &b.field)));
            return Err(conflicts);
        }
        for e in &mut self.entries {
            if !e.same_manager(manager, Operation::Apply) {
                e.fields = e.fields.difference(&touched).difference(&c.removed);
            }
        }
        let changed = merged != *live;
        match self.entry_mut(manager, Operation::Apply) {
            Some(e) => {
                e.fields = set;
                e.api_version = api_version.to_string();
                if changed {
                    e.time = Some(now.to_string());
                }
            }
            None => self.entries.push(Entry {
                manager: manager.to_string(),
                operation: Operation::Apply,
                api_version: api_version.to_string(),
                time: Some(now.to_string()),
                fields: set,
            }),
        }
        self.entries.retain(|e| !e.fields.is_empty());
        Ok(merged)
    }
}

/// Merges `config` into `target` (`TypedValue.Merge` with the applied value winning): objects
/// are merged key by key, everything else is replaced.
pub(crate) fn merge_into(target: &mut Value, config: &Value) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_into(existing, v);
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, c) => *t = c.clone(),
    }
}

/// Removes the field at `path`, if it is there.
pub(crate) fn remove_path(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for p in parents {
        match cur.get_mut(p) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Some(m) = cur.as_object_mut() {
        m.remove(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Path {
        s.split('.').map(str::to_string).collect()
    }

    fn set(paths: &[&str]) -> FieldSet {
        let mut s = FieldSet::default();
        for x in paths {
            s.insert(p(x));
        }
        s
    }

    fn noop(_: &mut Value) {}

    fn w<'a>(manager: &'a str, now: &'a str) -> Writer<'a> {
        Writer {
            manager,
            api_version: "v",
            now,
        }
    }

    #[test]
    fn fields_v1_round_trips_with_dot_members() {
        let s = set(&[
            "metadata.labels",
            "metadata.labels.app",
            "spec.holderIdentity",
        ]);
        let v = s.to_fields_v1();
        assert_eq!(
            v.to_string(),
            r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:holderIdentity":{}}}"#
        );
        assert_eq!(FieldSet::from_fields_v1(&v).unwrap(), s);
        assert!(FieldSet::from_fields_v1(&json!({"k:{\"a\":1}": {}})).is_err());
    }

    #[test]
    fn comparison_marks_added_maps_but_not_structs() {
        let old = json!({"metadata": {"name": "x"}, "spec": {}});
        let new = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"holderIdentity": "h"}});
        let c = compare(&old, &new);
        assert_eq!(
            c.added,
            set(&[
                "metadata.labels",
                "metadata.labels.a",
                "spec.holderIdentity"
            ])
        );
        assert!(c.modified.is_empty() && c.removed.is_empty());
        let back = compare(&new, &old);
        assert_eq!(back.removed, c.added);
        let m = compare(
            &new,
            &json!({"metadata": {"name": "x", "labels": {"a": "2"}}, "spec": {"holderIdentity": "h"}}),
        );
        assert_eq!(m.modified, set(&["metadata.labels.a"]));
    }

    #[test]
    fn updates_move_ownership_and_strip_identity_fields() {
        let mut m = Managed::default();
        let empty = json!({"metadata": {}, "spec": {}});
        let created = json!({"apiVersion": "v", "kind": "Lease", "metadata": {"name": "x", "uid": "u"},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
        m.update(&empty, &created, &w("creator", "t1"));
        assert_eq!(m.entries.len(), 1);
        assert_eq!(
            m.entries[0].fields,
            set(&["spec.holderIdentity", "spec.leaseDurationSeconds"])
        );
        let mut changed = created.clone();
        changed["spec"]["holderIdentity"] = json!("b");
        m.update(&created, &changed, &w("other", "t2"));
        assert_eq!(m.entries[0].fields, set(&["spec.leaseDurationSeconds"]));
        assert_eq!(m.entries[1].manager, "other");
        assert_eq!(m.entries[1].fields, set(&["spec.holderIdentity"]));
        // a no-op update neither adds an entry nor moves a time
        m.update(&changed, &changed, &w("idle", "t3"));
        assert_eq!(m.entries.len(), 2);
    }

    #[test]
    fn apply_conflicts_unless_forced_or_equal() {
        let mut m = Managed::default();
        let live = json!({"metadata": {"name": "x"}, "spec": {}});
        let a = json!({"metadata": {"name": "x"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}});
        let merged = m.apply(&live, &a, &w("A", "t1"), false, &noop).unwrap();
        assert_eq!(merged["spec"]["holderIdentity"], "a");
        // B applying the same value co-owns it; no conflict
        let same = json!({"spec": {"leaseDurationSeconds": 15}});
        m.apply(&merged, &same, &w("B", "t2"), false, &noop)
            .unwrap();
        // B changing A's field conflicts (the equal one does not)
        let b = json!({"spec": {"holderIdentity": "b", "leaseDurationSeconds": 15}});
        let err = m
            .apply(&merged, &b, &w("B", "t2"), false, &noop)
            .unwrap_err();
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"A\": .spec.holderIdentity"
        );
        let forced = m.apply(&merged, &b, &w("B", "t3"), true, &noop).unwrap();
        assert_eq!(forced["spec"]["holderIdentity"], "b");
        let a_entry = m.entries.iter().find(|e| e.manager == "A").unwrap();
        assert_eq!(a_entry.fields, set(&["spec.leaseDurationSeconds"]));
        // A drops leaseDurationSeconds: B owns it too, so it stays
        let a2 = json!({"spec": {}});
        let kept = m.apply(&forced, &a2, &w("A", "t4"), false, &noop).unwrap();
        assert_eq!(kept["spec"]["leaseDurationSeconds"], 15);
        assert!(m.entries.iter().all(|e| e.manager != "A"), "{m:?}");
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let mut m = Managed::default();
        let live = json!({"metadata": {}, "spec": {}});
        let mut next = live.clone();
        next["spec"] = json!({"holderIdentity": "a", "leaseDurationSeconds": 5});
        m.update(
            &live,
            &next,
            &Writer {
                manager: "u",
                api_version: "coordination.k8s.io/v1",
                now: "t",
            },
        );
        let err = m
            .apply(
                &next,
                &json!({"spec": {"holderIdentity": "b", "leaseDurationSeconds": 6}}),
                &w("B", "t"),
                false,
                &noop,
            )
            .unwrap_err();
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 2 conflicts: conflicts with \"u\" using coordination.k8s.io/v1:\n- .spec.holderIdentity\n- .spec.leaseDurationSeconds"
        );
    }

    #[test]
    fn encoding_sorts_like_the_server() {
        let e = |manager: &str, operation, time: &str| Entry {
            manager: manager.into(),
            operation,
            api_version: "v".into(),
            time: Some(time.into()),
            fields: set(&["spec.a"]),
        };
        let m = Managed {
            entries: vec![
                e("z", Operation::Update, "2"),
                e("b", Operation::Apply, "3"),
                e("a", Operation::Update, "2"),
            ],
        };
        let v = m.encode().unwrap();
        let order: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(order, ["b", "a", "z"]);
        assert_eq!(Managed::decode(&v).unwrap().entries.len(), 3);
        let python = json!([{"manager": "p", "operation": "Update", "time": "2026-03-01T13:00:00+01:00",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:holderIdentity": {}}}}]);
        assert_eq!(
            Managed::decode(&python).unwrap().entries[0].time.as_deref(),
            Some("2026-03-01T12:00:00Z")
        );
    }
}
