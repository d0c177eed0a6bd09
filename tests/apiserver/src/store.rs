//! The MVCC pod store: current objects, per-key history (for consistent paged lists at an older
//! resource version), the watch event log, compaction, graceful deletion and the garbage
//! collector.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::clock::format_rfc3339;
use crate::continue_token;
use crate::pod::{PodRecord, SplitMix, key_of, meta_mut, set_meta};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;

/// Finalizer that makes the garbage collector orphan dependents.
pub(crate) const FINALIZER_ORPHAN: &str = "orphan";
/// Finalizer that makes the garbage collector delete dependents first.
pub(crate) const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// The kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `ADDED`
    Added,
    /// `MODIFIED`
    Modified,
    /// `DELETED`
    Deleted,
}

impl EventType {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as the watch cache keeps it.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) rv: u64,
    pub(crate) kind: EventType,
    /// The new object (for `Deleted`: the last state, with the deletion's resourceVersion).
    pub(crate) obj: Arc<PodRecord>,
    pub(crate) prev: Option<Arc<PodRecord>>,
}

#[derive(Debug, Clone)]
struct Version {
    rv: u64,
    pod: Option<Arc<PodRecord>>,
}

/// What a list or watch selects.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// `""` for all namespaces, `"ns/"` for one.
    pub(crate) prefix: String,
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
}

impl Filter {
    pub(crate) fn matches(&self, r: &PodRecord) -> bool {
        r.key.starts_with(&self.prefix)
            && self.labels.matches_sorted(&r.labels)
            && self.fields.matches(|f| r.field(f))
    }
}

/// List parameters, as given in the query.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pub(crate) limit: Option<usize>,
    pub(crate) continue_token: Option<String>,
    pub(crate) resource_version: Option<String>,
    pub(crate) resource_version_match: Option<String>,
}

/// One page of a list.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub(crate) items: Vec<Arc<PodRecord>>,
    pub(crate) rv: u64,
    pub(crate) continue_token: Option<String>,
}

/// Delete options, from a `DeleteOptions` body or from query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`
    pub grace_period_seconds: Option<i64>,
    /// `preconditions.uid`
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`
    pub precondition_rv: Option<String>,
    /// `orphanDependents` (deprecated)
    pub orphan_dependents: Option<bool>,
    /// `propagationPolicy`
    pub propagation_policy: Option<String>,
    /// `dryRun`
    pub dry_run: Vec<String>,
}

impl DeleteOptions {
    /// Parse a `DeleteOptions` JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, ApiError> {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("couldn't decode DeleteOptions: {e}")))?;
        if !v.is_object() {
            return Err(ApiError::bad_request("DeleteOptions must be a JSON object"));
        }
        let str_at = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        Ok(Self {
            grace_period_seconds: v.get("gracePeriodSeconds").and_then(Value::as_i64),
            precondition_uid: str_at("/preconditions/uid"),
            precondition_rv: str_at("/preconditions/resourceVersion"),
            orphan_dependents: v.get("orphanDependents").and_then(Value::as_bool),
            propagation_policy: str_at("/propagationPolicy"),
            dry_run: v
                .get("dryRun")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Parse query parameters (`dryRun=All&gracePeriodSeconds=0&propagationPolicy=...`).
    pub fn from_query(params: &[(String, String)]) -> Result<Self, ApiError> {
        let mut o = Self::default();
        for (k, v) in params {
            match k.as_str() {
                "gracePeriodSeconds" => {
                    o.grace_period_seconds = Some(v.parse().map_err(|_| {
                        ApiError::bad_request(format!(
                            "strconv.ParseInt: parsing \"{v}\": invalid syntax"
                        ))
                    })?);
                }
                "orphanDependents" => o.orphan_dependents = Some(crate::http::parse_bool(v)?),
                "propagationPolicy" => o.propagation_policy = Some(v.clone()),
                "dryRun" => o.dry_run.push(v.clone()),
                _ => {}
            }
        }
        Ok(o)
    }

    /// `ValidateDeleteOptions`.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut causes = Vec::new();
        if let (Some(_), Some(p)) = (self.orphan_dependents, &self.propagation_policy) {
            causes.push((
                "FieldValueInvalid".to_string(),
                format!("Invalid value: \"{p}\": orphanDependents and deletionPropagation cannot be both set"),
                "propagationPolicy".to_string(),
            ));
        }
        if let Some(p) = &self.propagation_policy
            && !matches!(p.as_str(), "Foreground" | "Background" | "Orphan")
        {
            causes.push((
                    "FieldValueNotSupported".to_string(),
                    format!("Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""),
                    "propagationPolicy".to_string(),
                ));
        }
        if self.dry_run.iter().any(|d| d != "All") {
            let list: Vec<String> = self.dry_run.iter().map(|d| format!("\"{d}\"")).collect();
            causes.push((
                "FieldValueNotSupported".to_string(),
                format!(
                    "Unsupported value: []string{{{}}}: supported values: \"All\"",
                    list.join(", ")
                ),
                "dryRun".to_string(),
            ));
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid("DeleteOptions.meta.k8s.io", "", &causes))
        }
    }

    /// Whether this is a server-side dry run.
    #[must_use]
    pub fn is_dry_run(&self) -> bool {
        !self.dry_run.is_empty()
    }
}

/// Result of a delete call: HTTP code and the object to return.
#[derive(Debug)]
pub(crate) struct DeleteOutcome {
    pub(crate) code: u16,
    pub(crate) object: bytes::Bytes,
}

#[derive(Debug)]
enum GcTask {
    /// A pod with this uid and these owners is gone.
    Removed { uid: String, owners: Vec<String> },
    /// A pod carries GC finalizers and a deletion timestamp.
    Finalize(String),
}

/// Store tuning.
#[derive(Debug, Clone)]
pub(crate) struct StoreConfig {
    /// Keep at most this many revisions of history (older ones are compacted).
    pub(crate) history_revisions: u64,
    pub(crate) uid_seed: u64,
}

/// The store. Lives behind one mutex.
#[derive(Debug)]
pub(crate) struct Store {
    rv: u64,
    compacted: u64,
    live: BTreeMap<String, Arc<PodRecord>>,
    history: BTreeMap<String, Vec<Version>>,
    changes: VecDeque<(u64, String)>,
    events: VecDeque<Arc<Event>>,
    by_uid: HashMap<String, String>,
    dependents: HashMap<String, BTreeSet<String>>,
    deadlines: BTreeSet<(Timestamp, String)>,
    ns_counts: BTreeMap<String, usize>,
    gc_queue: VecDeque<GcTask>,
    uids: SplitMix,
    config: StoreConfig,
    rv_tx: watch::Sender<u64>,
    /// Off while bulk-loading seeds before serving: no history or events are kept.
    recording: bool,
    /// The leases (`coordination.k8s.io/v1`), which share the resource version counter.
    pub(crate) leases: crate::lease::Leases,
}

fn grace_of(v: &Value) -> Option<i64> {
    v.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
}

/// The early precondition check of `rest.BeforeDelete`.
fn check_preconditions(cur: &PodRecord, opts: &DeleteOptions) -> Result<(), ApiError> {
    let name = cur.name();
    if let Some(uid) = &opts.precondition_uid
        && *uid != cur.uid
    {
        return Err(ApiError::conflict(
            "Pod",
            name,
            &format!(
                "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                cur.uid
            ),
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && *rv != cur.rv.to_string()
    {
        return Err(ApiError::conflict(
            "Pod",
            name,
            &format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                cur.rv
            ),
        ));
    }
    Ok(())
}

/// The defaults the API server fills in on create (a small subset of the real defaulting).
fn apply_create_defaults(v: &mut Value) {
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("restartPolicy")
            .or_insert_with(|| "Always".into());
        spec.entry("terminationGracePeriodSeconds")
            .or_insert_with(|| 30.into());
        spec.entry("dnsPolicy")
            .or_insert_with(|| "ClusterFirst".into());
        spec.entry("schedulerName")
            .or_insert_with(|| "default-scheduler".into());
    }
    if let Some(o) = v.as_object_mut() {
        let status = o.entry("status").or_insert_with(|| json!({}));
        if let Some(s) = status.as_object_mut() {
            s.entry("phase").or_insert_with(|| "Pending".into());
            s.entry("qosClass").or_insert_with(|| "BestEffort".into());
        }
        if !o.contains_key("kind") || !o.contains_key("apiVersion") {
            let mut m = serde_json::Map::new();
            m.insert("kind".into(), "Pod".into());
            m.insert("apiVersion".into(), "v1".into());
            for (k, val) in std::mem::take(o) {
                if k != "kind" && k != "apiVersion" {
                    m.insert(k, val);
                }
            }
            *o = m;
        }
    }
}

/// `deletionFinalizersForGarbageCollection`: the finalizers after a delete with `opts`.
fn gc_finalizers(cur: &PodRecord, opts: &DeleteOptions) -> Vec<String> {
    let has = |f: &str| cur.finalizers.iter().any(|x| x == f);
    let (orphan, foreground) = match (&opts.propagation_policy, opts.orphan_dependents) {
        (Some(p), _) => (p == "Orphan", p == "Foreground"),
        (None, Some(o)) => (o, false),
        (None, None) => (has(FINALIZER_ORPHAN), has(FINALIZER_FOREGROUND)),
    };
    let mut finalizers: Vec<String> = cur
        .finalizers
        .iter()
        .filter(|f| *f != FINALIZER_ORPHAN && *f != FINALIZER_FOREGROUND)
        .cloned()
        .collect();
    if orphan {
        finalizers.push(FINALIZER_ORPHAN.into());
    }
    if foreground {
        finalizers.push(FINALIZER_FOREGROUND.into());
    }
    finalizers
}

impl Store {
    pub(crate) fn new(config: StoreConfig) -> Self {
        let (rv_tx, _) = watch::channel(1);
        Self {
            rv: 1,
            compacted: 1,
            live: BTreeMap::new(),
            history: BTreeMap::new(),
            changes: VecDeque::new(),
            events: VecDeque::new(),
            by_uid: HashMap::new(),
            dependents: HashMap::new(),
            deadlines: BTreeSet::new(),
            ns_counts: BTreeMap::new(),
            gc_queue: VecDeque::new(),
            uids: SplitMix(config.uid_seed),
            config,
            rv_tx,
            recording: true,
            leases: crate::lease::Leases::default(),
        }
    }

    /// Turn history and event recording off (bulk seeding before serving) or back on; turning it
    /// on compacts everything before the current revision.
    pub(crate) fn set_recording(&mut self, on: bool) {
        self.recording = on;
        if on {
            let rv = self.rv;
            self.compact_to(rv);
        }
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.rv_tx.subscribe()
    }

    pub(crate) fn rv(&self) -> u64 {
        self.rv
    }

    pub(crate) fn compacted(&self) -> u64 {
        self.compacted
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn new_uid(&mut self) -> String {
        self.uids.uuid()
    }

    /// A new resource version for a write outside the pod store (a lease): the one counter of
    /// the server moves, as etcd's revision does for every key.
    pub(crate) fn bump_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv_tx.send_replace(self.rv);
        self.rv
    }

    /// The five random characters `generateName` appends (`utilrand.String`'s alphabet).
    pub(crate) fn name_suffix(&mut self) -> String {
        const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut suffix = String::new();
        for _ in 0..5 {
            let i = usize::try_from(self.uids.next_u64() % ALPHA.len() as u64).unwrap_or(0);
            suffix.push(char::from(ALPHA[i]));
        }
        suffix
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Arc<PodRecord>> {
        self.live.get(key)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Arc<PodRecord>> {
        self.live.values()
    }

    pub(crate) fn namespaces(&self) -> impl Iterator<Item = &String> {
        self.ns_counts.keys()
    }

    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    fn unindex(&mut self, r: &PodRecord) {
        self.by_uid.remove(&r.uid);
        for o in &r.owners {
            if let Some(set) = self.dependents.get_mut(&o.uid) {
                set.remove(&r.key);
                if set.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
        if let Some(dt) = r.deletion_timestamp {
            self.deadlines.remove(&(dt, r.key.clone()));
        }
        let ns = r.namespace().to_string();
        if let Some(c) = self.ns_counts.get_mut(&ns) {
            *c -= 1;
            if *c == 0 {
                self.ns_counts.remove(&ns);
            }
        }
    }

    fn index(&mut self, r: &PodRecord) {
        self.by_uid.insert(r.uid.clone(), r.key.clone());
        for o in &r.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(r.key.clone());
        }
        if let (Some(dt), Some(g)) = (r.deletion_timestamp, r.deletion_grace)
            && g > 0
        {
            self.deadlines.insert((dt, r.key.clone()));
        }
        *self.ns_counts.entry(r.namespace().to_string()).or_insert(0) += 1;
    }

    /// Write a new version of `key` (`Some`) or delete it (`None`). Returns the stored record
    /// (for a delete: the last state with the deletion's resourceVersion).
    fn commit(&mut self, key: &str, new: Option<Value>) -> Result<Arc<PodRecord>, ApiError> {
        let prev = self.live.get(key).cloned();
        let rv = self.rv + 1;
        let (kind, rec) = if let Some(mut v) = new {
            set_meta(&mut v, "resourceVersion", Value::from(rv.to_string()));
            let rec = Arc::new(PodRecord::from_value(&v).map_err(|e| ApiError::internal(&e))?);
            if rec.key != key {
                return Err(ApiError::internal("key mismatch"));
            }
            let kind = if prev.is_some() {
                EventType::Modified
            } else {
                EventType::Added
            };
            (kind, rec)
        } else {
            let Some(p) = &prev else {
                return Err(ApiError::internal("delete of a missing key"));
            };
            (EventType::Deleted, Arc::new(p.with_rv(rv)))
        };
        self.rv = rv;
        if let Some(p) = &prev {
            self.unindex(p);
        }
        if kind == EventType::Deleted {
            self.live.remove(key);
        } else {
            self.index(&rec);
            self.live.insert(key.to_string(), rec.clone());
        }
        if self.recording {
            let versions = self.history.entry(key.to_string()).or_insert_with(|| {
                prev.as_ref()
                    .map(|p| {
                        vec![Version {
                            rv: p.rv,
                            pod: Some(p.clone()),
                        }]
                    })
                    .unwrap_or_default()
            });
            versions.push(Version {
                rv,
                pod: (kind != EventType::Deleted).then(|| rec.clone()),
            });
            self.changes.push_back((rv, key.to_string()));
            self.events.push_back(Arc::new(Event {
                rv,
                kind,
                obj: rec.clone(),
                prev: prev.clone(),
            }));
        }
        if kind == EventType::Deleted {
            self.gc_queue.push_back(GcTask::Removed {
                uid: rec.uid.clone(),
                owners: rec.owners.iter().map(|o| o.uid.clone()).collect(),
            });
        } else if rec.deletion_timestamp.is_some()
            && rec
                .finalizers
                .iter()
                .any(|f| f == FINALIZER_ORPHAN || f == FINALIZER_FOREGROUND)
        {
            self.gc_queue.push_back(GcTask::Finalize(key.to_string()));
        }
        if self.recording && self.rv - self.compacted > self.config.history_revisions {
            self.compact_to(self.rv - self.config.history_revisions);
        }
        self.rv_tx.send_replace(self.rv);
        Ok(rec)
    }

    /// Forget history up to and including `to` (like etcd compaction): lists and watches at an
    /// older resource version then answer 410 Gone.
    pub(crate) fn compact_to(&mut self, to: u64) {
        let to = to.min(self.rv);
        if to <= self.compacted {
            return;
        }
        while let Some((rv, _)) = self.changes.front() {
            if *rv > to {
                break;
            }
            let Some((_, key)) = self.changes.pop_front() else {
                break;
            };
            let remove = match self.history.get_mut(&key) {
                Some(vs) => {
                    if vs.last().is_none_or(|v| v.rv <= to) {
                        true
                    } else {
                        let idx = vs.iter().rposition(|v| v.rv <= to);
                        if let Some(i) = idx {
                            vs.drain(..i);
                        }
                        false
                    }
                }
                None => false,
            };
            if remove {
                self.history.remove(&key);
            }
        }
        while self.events.front().is_some_and(|e| e.rv <= to) {
            self.events.pop_front();
        }
        self.compacted = to;
    }

    fn visible_at(&self, key: &str, at: u64) -> Option<&Arc<PodRecord>> {
        match self.history.get(key) {
            Some(vs) => vs
                .iter()
                .rev()
                .find(|v| v.rv <= at)
                .and_then(|v| v.pod.as_ref()),
            None => self.live.get(key).filter(|r| r.rv <= at),
        }
    }

    /// The resource version a list reads at, and the key it starts at.
    fn resolve_list_start(
        &self,
        prefix: &str,
        limit: Option<usize>,
        rv_param: Option<&str>,
        p: &ListParams,
    ) -> Result<(u64, String), ApiError> {
        let r = if let Some(tok) = p.continue_token.as_deref().filter(|s| !s.is_empty()) {
            if rv_param.is_some_and(|r| r != "0") {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let d = continue_token::decode(tok, prefix)
                .map_err(|e| ApiError::bad_request(format!("invalid continue token: {e}")))?;
            if d.rv < 0 {
                (self.rv, d.from_key)
            } else {
                let at = u64::try_from(d.rv).unwrap_or(0);
                if at < self.compacted || at > self.rv {
                    let rel = d.from_key.strip_prefix(prefix).unwrap_or(&d.from_key);
                    let rel = rel.strip_suffix('\u{0}').unwrap_or(rel);
                    let mut e = ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. \
                         You can start a new list without the continue parameter, or use the continue token \
                         in this response to retrieve the remainder of the results. Continuing with the \
                         provided token results in an inconsistent list - objects that were created, \
                         modified, or deleted between the time the first chunk was returned and now may \
                         show up in the list.",
                    );
                    e.list_continue = Some(continue_token::encode(-1, rel));
                    return Err(e);
                }
                (at, d.from_key)
            }
        } else {
            let at = match rv_param {
                None | Some("0") => self.rv,
                Some(s) => {
                    let n: u64 = s.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid resource version {s:?}: strconv.ParseUint: parsing {s:?}: invalid syntax"))
                    })?;
                    let exact = match p.resource_version_match.as_deref() {
                        Some("Exact") => true,
                        Some("NotOlderThan") => false,
                        Some("") | None => limit.is_some(),
                        Some(other) => {
                            return Err(ApiError::invalid(
                                "ListOptions.meta.k8s.io",
                                "",
                                &[(
                                    "FieldValueNotSupported".into(),
                                    format!(
                                        "Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
                                    ),
                                    "resourceVersionMatch".into(),
                                )],
                            ));
                        }
                    };
                    if n > self.rv {
                        return Err(ApiError::too_large_resource_version(n, self.rv));
                    }
                    if exact {
                        if n < self.compacted {
                            return Err(ApiError::expired(
                                "The resourceVersion for the provided list is too old.",
                            ));
                        }
                        n
                    } else {
                        self.rv
                    }
                }
            };
            (at, prefix.to_string())
        };
        Ok(r)
    }

    /// List a page of pods.
    pub(crate) fn list(&self, filter: &Filter, p: &ListParams) -> Result<ListPage, ApiError> {
        let prefix = filter.prefix.as_str();
        let limit = p.limit.filter(|l| *l > 0);
        let rv_param = p.resource_version.as_deref().filter(|s| !s.is_empty());
        if p.resource_version_match
            .as_deref()
            .is_some_and(|m| !m.is_empty())
            && rv_param.is_none()
        {
            return Err(ApiError::invalid(
                "ListOptions.meta.k8s.io",
                "",
                &[(
                    "FieldValueForbidden".into(),
                    "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
                    "resourceVersionMatch".into(),
                )],
            ));
        }
        let (at, start) = self.resolve_list_start(prefix, limit, rv_param, p)?;
        let mut items = Vec::new();
        let mut last: Option<String> = None;
        let mut more = false;
        let start_bound = (Bound::Included(start.as_str()), Bound::Unbounded);
        if at == self.rv {
            for (k, r) in self.live.range::<str, _>(start_bound) {
                if !k.starts_with(prefix) {
                    break;
                }
                if limit.is_some_and(|l| items.len() >= l) {
                    more = true;
                    break;
                }
                if filter.matches(r) {
                    last = Some(k.clone());
                    items.push(r.clone());
                }
            }
        } else {
            let mut live_keys = self
                .live
                .range::<str, _>(start_bound)
                .map(|(k, _)| k)
                .peekable();
            let mut hist_keys = self
                .history
                .range::<str, _>(start_bound)
                .map(|(k, _)| k)
                .peekable();
            loop {
                let k: &String = match (live_keys.peek().copied(), hist_keys.peek().copied()) {
                    (None, None) => break,
                    (Some(lk), None) => {
                        live_keys.next();
                        lk
                    }
                    (None, Some(hk)) => {
                        hist_keys.next();
                        hk
                    }
                    (Some(lk), Some(hk)) => {
                        if lk <= hk {
                            live_keys.next();
                        }
                        if hk <= lk {
                            hist_keys.next();
                        }
                        lk.min(hk)
                    }
                };
                if !k.starts_with(prefix) {
                    break;
                }
                let Some(r) = self.visible_at(k, at) else {
                    continue;
                };
                if limit.is_some_and(|l| items.len() >= l) {
                    more = true;
                    break;
                }
                if filter.matches(r) {
                    last = Some(k.clone());
                    items.push(r.clone());
                }
            }
        }
        let continue_token = match (more, last) {
            (true, Some(k)) => Some(continue_token::encode(
                i64::try_from(at).unwrap_or(i64::MAX),
                k.strip_prefix(prefix).unwrap_or(&k),
            )),
            _ => None,
        };
        Ok(ListPage {
            items,
            rv: at,
            continue_token,
        })
    }

    /// Events with `rv > after`, at most `max`; `Err(oldest-1)` when `after` was compacted.
    pub(crate) fn events_after(&self, after: u64, max: usize) -> Result<Vec<Arc<Event>>, u64> {
        if after < self.compacted {
            return Err(self.compacted);
        }
        let start = self.events.partition_point(|e| e.rv <= after);
        Ok(self.events.range(start..).take(max).cloned().collect())
    }

    /// Add or replace a pod as the seed loader or a test does (no API validation). Missing
    /// uid / creationTimestamp are filled in; a numeric resourceVersion newer than the store's is
    /// kept, anything else is replaced by a new one.
    pub(crate) fn put(&mut self, mut v: Value, now: Timestamp) -> Result<Arc<PodRecord>, ApiError> {
        let (ns, name, rv_in) = {
            let meta = meta_mut(&mut v);
            let name = meta
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if name.is_empty() {
                return Err(ApiError::bad_request("pod has no metadata.name"));
            }
            let ns = match meta.get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() => ns.to_string(),
                _ => {
                    meta.insert("namespace".into(), "default".into());
                    "default".to_string()
                }
            };
            let rv_in = meta
                .get("resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok());
            (ns, name, rv_in)
        };
        let key = key_of(&ns, &name);
        let existing = self.live.get(&key).cloned();
        let missing_uid = v
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if missing_uid {
            let uid = existing
                .as_ref()
                .map_or_else(|| self.new_uid(), |e| e.uid.clone());
            set_meta(&mut v, "uid", Value::from(uid));
        }
        if v.pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .is_none()
        {
            let ts = existing
                .as_ref()
                .and_then(|e| {
                    e.value()
                        .pointer("/metadata/creationTimestamp")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| format_rfc3339(now));
            set_meta(&mut v, "creationTimestamp", Value::from(ts));
        }
        if (v.get("kind").is_none() || v.get("apiVersion").is_none())
            && let Some(o) = v.as_object_mut()
        {
            let mut m = serde_json::Map::new();
            m.insert("kind".into(), "Pod".into());
            m.insert("apiVersion".into(), "v1".into());
            for (k, val) in std::mem::take(o) {
                if k != "kind" && k != "apiVersion" {
                    m.insert(k, val);
                }
            }
            *o = m;
        }
        if let Some(r) = rv_in
            && r > self.rv + 1
        {
            self.rv = r - 1;
        }
        let rec = self.commit(&key, Some(v))?;
        self.after_update(&key)?;
        self.run_gc(now)?;
        Ok(rec)
    }

    /// After an update: delete an object whose deletion is complete (no finalizers, grace 0).
    fn after_update(&mut self, key: &str) -> Result<(), ApiError> {
        let Some(r) = self.live.get(key) else {
            return Ok(());
        };
        if r.deletion_timestamp.is_some()
            && r.finalizers.is_empty()
            && r.deletion_grace.unwrap_or(0) == 0
        {
            self.commit(key, None)?;
        }
        Ok(())
    }

    /// Remove a pod at once (what the kubelet's final delete does). Returns whether it existed.
    pub(crate) fn force_remove(&mut self, key: &str, now: Timestamp) -> Result<bool, ApiError> {
        if !self.live.contains_key(key) {
            return Ok(false);
        }
        self.commit(key, None)?;
        self.run_gc(now)?;
        Ok(true)
    }

    /// Create a pod (`POST`): validation, defaults, uid and timestamps.
    pub(crate) fn create(
        &mut self,
        namespace: &str,
        mut v: Value,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if let Some(k) = v.get("kind").and_then(Value::as_str)
            && k != "Pod"
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data (v1) does not match the expected API version (v1) or kind {k} is not Pod"
            )));
        }
        let meta = meta_mut(&mut v);
        if let Some(ns) = meta.get("namespace").and_then(Value::as_str)
            && !ns.is_empty()
            && ns != namespace
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta.insert("namespace".into(), Value::from(namespace));
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty() {
            if let Some(g) = meta
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|g| !g.is_empty())
            {
                const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
                let mut suffix = String::new();
                for _ in 0..5 {
                    let i = usize::try_from(self.uids.next_u64() % ALPHA.len() as u64).unwrap_or(0);
                    suffix.push(char::from(ALPHA[i]));
                }
                name = format!("{g}{suffix}");
                meta.insert("name".into(), Value::from(name.clone()));
            } else {
                return Err(ApiError::invalid(
                    "Pod",
                    "",
                    &[(
                        "FieldValueRequired".into(),
                        "Required value: name or generateName is required".into(),
                        "metadata.name".into(),
                    )],
                ));
            }
        }
        for f in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "uid",
        ] {
            meta.remove(f);
        }
        meta.insert("creationTimestamp".into(), Value::from(format_rfc3339(now)));
        let key = key_of(namespace, &name);
        if self.live.contains_key(&key) {
            return Err(ApiError::already_exists("pods", &name));
        }
        let containers_ok = v
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !containers_ok {
            return Err(ApiError::invalid(
                "Pod",
                &name,
                &[(
                    "FieldValueRequired".into(),
                    "Required value".into(),
                    "spec.containers".into(),
                )],
            ));
        }
        let uid = self.new_uid();
        set_meta(&mut v, "uid", Value::from(uid));
        apply_create_defaults(&mut v);
        if dry_run {
            return Ok(v);
        }
        let rec = self.commit(&key, Some(v))?;
        Ok(rec.value())
    }

    /// Replace a pod (`PUT`), with the optimistic-concurrency check on resourceVersion.
    pub(crate) fn update(
        &mut self,
        namespace: &str,
        name: &str,
        mut v: Value,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let key = key_of(namespace, name);
        let Some(cur) = self.live.get(&key).cloned() else {
            return Err(ApiError::not_found("pods", name));
        };
        let meta = meta_mut(&mut v);
        if meta
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n != name)
        {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        if meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty() && n != namespace)
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if let Some(rv) = meta.get("resourceVersion").and_then(Value::as_str)
            && !rv.is_empty()
            && rv != cur.rv.to_string()
        {
            return Err(ApiError::conflict(
                "pods",
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        if let Some(uid) = meta.get("uid").and_then(Value::as_str)
            && !uid.is_empty()
            && uid != cur.uid
        {
            return Err(ApiError::conflict(
                "pods",
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    cur.uid
                ),
            ));
        }
        let old = cur.value();
        meta.insert("name".into(), Value::from(name));
        meta.insert("namespace".into(), Value::from(namespace));
        meta.insert("uid".into(), Value::from(cur.uid.as_str()));
        for f in [
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match old.pointer(&format!("/metadata/{f}")) {
                Some(x) => {
                    meta.insert(f.into(), x.clone());
                }
                None => {
                    meta.remove(f);
                }
            }
        }
        if dry_run {
            return Ok(v);
        }
        let rec = self.commit(&key, Some(v))?;
        let out = rec.value();
        self.after_update(&key)?;
        self.run_gc(now)?;
        Ok(out)
    }

    /// Delete a pod with the registry's rules (graceful deletion, preconditions, GC finalizers),
    /// then let the garbage collector act.
    pub(crate) fn delete(
        &mut self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        now: Timestamp,
    ) -> Result<DeleteOutcome, ApiError> {
        let out = self.delete_inner(namespace, name, opts, now)?;
        self.run_gc(now)?;
        Ok(out)
    }

    fn delete_inner(
        &mut self,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
        now: Timestamp,
    ) -> Result<DeleteOutcome, ApiError> {
        let key = key_of(namespace, name);
        let Some(cur) = self.live.get(&key).cloned() else {
            return Err(ApiError::not_found("pods", name));
        };
        check_preconditions(&cur, opts)?;
        let grace_opt = opts.grace_period_seconds.map(|g| if g < 0 { 1 } else { g });
        let mut v = cur.value();
        // rest.BeforeDelete + podStrategy.CheckGracefulDelete
        let graceful;
        if let Some(dt) = cur.deletion_timestamp {
            match cur.deletion_grace {
                None | Some(0) => graceful = false,
                Some(old) => match grace_opt {
                    Some(g) if g < old => {
                        let new_dt = dt
                            .saturating_sub(SignedDuration::from_secs(old))
                            .and_then(|t| t.saturating_add(SignedDuration::from_secs(g)))
                            .unwrap_or(dt);
                        set_meta(
                            &mut v,
                            "deletionTimestamp",
                            Value::from(format_rfc3339(new_dt)),
                        );
                        set_meta(&mut v, "deletionGracePeriodSeconds", Value::from(g));
                        graceful = true;
                    }
                    _ => {
                        // graceful deletion pending: nothing changes
                        return Ok(DeleteOutcome {
                            code: 200,
                            object: cur.json.clone(),
                        });
                    }
                },
            }
        } else {
            let mut period = grace_opt.unwrap_or_else(|| cur.termination_grace.unwrap_or(30));
            if cur.node_name.is_empty() || cur.is_terminal() {
                period = 0;
            }
            let dt = now
                .saturating_add(SignedDuration::from_secs(period))
                .unwrap_or(now);
            set_meta(&mut v, "deletionTimestamp", Value::from(format_rfc3339(dt)));
            set_meta(&mut v, "deletionGracePeriodSeconds", Value::from(period));
            if let Some(g) = v.pointer("/metadata/generation").and_then(Value::as_i64)
                && g > 0
            {
                set_meta(&mut v, "generation", Value::from(g + 1));
            }
            graceful = true;
        }
        let finalizers = gc_finalizers(&cur, opts);
        let finalizers_changed = finalizers != cur.finalizers;
        if finalizers_changed {
            set_meta(&mut v, "finalizers", Value::from(finalizers.clone()));
        }
        let pending_finalizers = !finalizers.is_empty();
        let final_grace = grace_of(&v).unwrap_or(0);
        let deleted_now = !pending_finalizers && final_grace == 0;
        let code = if !deleted_now && opts.orphan_dependents == Some(false) {
            202
        } else {
            200
        };
        if opts.is_dry_run() {
            let object = bytes::Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
            return Ok(DeleteOutcome { code, object });
        }
        let written = if graceful || finalizers_changed {
            self.commit(&key, Some(v))?
        } else {
            cur
        };
        if deleted_now {
            self.commit(&key, None)?;
        }
        Ok(DeleteOutcome {
            code,
            object: written.json.clone(),
        })
    }

    /// Remove pods whose graceful deletion period has passed on the server clock (the kubelet's
    /// part). Returns how many were removed.
    pub(crate) fn expire(&mut self, now: Timestamp) -> Result<usize, ApiError> {
        let mut n = 0;
        while let Some((t, key)) = self.deadlines.first().cloned() {
            if t > now {
                break;
            }
            self.deadlines.remove(&(t, key.clone()));
            let Some(cur) = self.live.get(&key).cloned() else {
                continue;
            };
            if cur.deletion_timestamp != Some(t) {
                continue;
            }
            if cur.finalizers.is_empty() {
                self.commit(&key, None)?;
                n += 1;
            } else {
                let mut v = cur.value();
                set_meta(&mut v, "deletionGracePeriodSeconds", Value::from(0));
                self.commit(&key, Some(v))?;
            }
            self.run_gc(now)?;
        }
        Ok(n)
    }

    fn is_deleting(&self, key: &str) -> bool {
        self.live
            .get(key)
            .is_some_and(|r| r.deletion_timestamp.is_some())
    }

    /// Run the garbage collector until it has nothing left to do.
    fn run_gc(&mut self, now: Timestamp) -> Result<(), ApiError> {
        let mut budget = 10_000_000usize;
        while let Some(task) = self.gc_queue.pop_front() {
            budget = budget.saturating_sub(1);
            if budget == 0 {
                self.gc_queue.clear();
                break;
            }
            match task {
                GcTask::Removed { uid, owners } => {
                    let deps: Vec<String> = self
                        .dependents
                        .get(&uid)
                        .map(|s| s.iter().cloned().collect())
                        .unwrap_or_default();
                    for d in deps {
                        self.gc_attempt_delete(&d, now)?;
                    }
                    for o in owners {
                        if let Some(k) = self.by_uid.get(&o).cloned() {
                            self.gc_queue.push_back(GcTask::Finalize(k));
                        }
                    }
                }
                GcTask::Finalize(key) => self.gc_finalize(&key, now)?,
            }
        }
        Ok(())
    }

    /// `attemptToDeleteItem` for one dependent.
    fn gc_attempt_delete(&mut self, key: &str, now: Timestamp) -> Result<(), ApiError> {
        let Some(dep) = self.live.get(key).cloned() else {
            return Ok(());
        };
        if dep.owners.is_empty() {
            return Ok(());
        }
        let mut solid = false;
        let mut dangling = Vec::new();
        let mut waiting = Vec::new();
        for o in &dep.owners {
            match self.by_uid.get(&o.uid).and_then(|k| self.live.get(k)) {
                None => dangling.push(o.uid.clone()),
                Some(owner) => {
                    if owner.deletion_timestamp.is_some()
                        && owner.finalizers.iter().any(|f| f == FINALIZER_FOREGROUND)
                    {
                        waiting.push(o.uid.clone());
                    } else {
                        solid = true;
                    }
                }
            }
        }
        if solid {
            if dangling.is_empty() && waiting.is_empty() {
                return Ok(());
            }
            // remove dangling references, unblock owners that wait for us
            let mut v = dep.value();
            if let Some(refs) = v
                .pointer_mut("/metadata/ownerReferences")
                .and_then(Value::as_array_mut)
            {
                refs.retain(|r| {
                    !dangling
                        .iter()
                        .any(|d| r.get("uid").and_then(Value::as_str) == Some(d))
                });
                for r in refs.iter_mut() {
                    if waiting
                        .iter()
                        .any(|w| r.get("uid").and_then(Value::as_str) == Some(w))
                        && let Some(o) = r.as_object_mut()
                    {
                        o.insert("blockOwnerDeletion".into(), false.into());
                    }
                }
            }
            self.commit(key, Some(v))?;
            return Ok(());
        }
        if dep.deletion_timestamp.is_some() {
            return Ok(());
        }
        let policy = if waiting.is_empty() {
            if dep.finalizers.iter().any(|f| f == FINALIZER_ORPHAN) {
                "Orphan"
            } else if dep.finalizers.iter().any(|f| f == FINALIZER_FOREGROUND) {
                "Foreground"
            } else {
                "Background"
            }
        } else {
            "Foreground"
        };
        let opts = DeleteOptions {
            propagation_policy: Some(policy.into()),
            ..DeleteOptions::default()
        };
        let (ns, name) = (dep.namespace().to_string(), dep.name().to_string());
        match self.delete_inner(&ns, &name, &opts, now) {
            Ok(_) | Err(ApiError { code: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Process the GC finalizers of a deleting object.
    fn gc_finalize(&mut self, key: &str, now: Timestamp) -> Result<(), ApiError> {
        let Some(owner) = self.live.get(key).cloned() else {
            return Ok(());
        };
        if owner.deletion_timestamp.is_none() {
            return Ok(());
        }
        let deps: Vec<String> = self
            .dependents
            .get(&owner.uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let remove_finalizer = if owner.finalizers.iter().any(|f| f == FINALIZER_ORPHAN) {
            for d in &deps {
                let Some(dep) = self.live.get(d).cloned() else {
                    continue;
                };
                let mut v = dep.value();
                if let Some(refs) = v
                    .pointer_mut("/metadata/ownerReferences")
                    .and_then(Value::as_array_mut)
                {
                    refs.retain(|r| {
                        r.get("uid").and_then(Value::as_str) != Some(owner.uid.as_str())
                    });
                    if refs.is_empty()
                        && let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut)
                    {
                        m.remove("ownerReferences");
                    }
                }
                self.commit(d, Some(v))?;
            }
            Some(FINALIZER_ORPHAN)
        } else if owner.finalizers.iter().any(|f| f == FINALIZER_FOREGROUND) {
            for d in &deps {
                if !self.is_deleting(d) {
                    self.gc_attempt_delete(d, now)?;
                }
            }
            let blocking = self.dependents.get(&owner.uid).is_some_and(|s| {
                s.iter().any(|d| {
                    self.live.get(d).is_some_and(|r| {
                        r.owners
                            .iter()
                            .any(|o| o.uid == owner.uid && o.block_owner_deletion)
                    })
                })
            });
            if blocking {
                None
            } else {
                Some(FINALIZER_FOREGROUND)
            }
        } else {
            None
        };
        if let Some(f) = remove_finalizer {
            let Some(cur) = self.live.get(key).cloned() else {
                return Ok(());
            };
            let mut v = cur.value();
            let rest: Vec<String> = cur.finalizers.iter().filter(|x| *x != f).cloned().collect();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                if rest.is_empty() {
                    m.remove("finalizers");
                } else {
                    m.insert("finalizers".into(), Value::from(rest));
                }
            }
            self.commit(key, Some(v))?;
            self.after_update(key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::many_single_char_names)]
    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    fn store() -> Store {
        Store::new(StoreConfig {
            history_revisions: 1000,
            uid_seed: 7,
        })
    }

    fn pod(ns: &str, name: &str, phase: &str, node: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": "x"}},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], "terminationGracePeriodSeconds": 30},
            "status": {"phase": phase}})
    }

    fn with_owner(mut v: Value, uid: &str, block: bool) -> Value {
        set_meta(
            &mut v,
            "ownerReferences",
            json!([{"apiVersion": "v1", "kind": "Pod", "name": "o", "uid": uid, "controller": true, "blockOwnerDeletion": block}]),
        );
        v
    }

    fn all_filter() -> Filter {
        Filter::default()
    }

    #[test]
    fn resource_versions_increase_and_lists_are_ordered_like_etcd() {
        let mut s = store();
        let a = s.put(pod("a-b", "x", "Running", "n"), now()).unwrap();
        let b = s.put(pod("a", "x", "Running", "n"), now()).unwrap();
        assert!(b.rv > a.rv);
        let page = s.list(&all_filter(), &ListParams::default()).unwrap();
        let keys: Vec<&str> = page.items.iter().map(|r| r.key.as_str()).collect();
        // '-' (0x2d) sorts before '/' (0x2f), exactly like etcd keys
        assert_eq!(keys, ["a-b/x", "a/x"]);
        assert_eq!(page.rv, s.rv());
    }

    #[test]
    fn paged_list_is_consistent_across_changes() {
        let mut s = store();
        for i in 0..10 {
            s.put(pod("ns", &format!("p{i:02}"), "Running", "n"), now())
                .unwrap();
        }
        let lp = ListParams {
            limit: Some(4),
            ..ListParams::default()
        };
        let p1 = s.list(&all_filter(), &lp).unwrap();
        assert_eq!(p1.items.len(), 4);
        // change the world between pages
        s.force_remove("ns/p05", now()).unwrap();
        s.put(pod("ns", "p045", "Running", "n"), now()).unwrap();
        let mut seen: Vec<String> = p1.items.iter().map(|r| r.key.clone()).collect();
        let mut tok = p1.continue_token.clone();
        while let Some(t) = tok {
            let p = s
                .list(
                    &all_filter(),
                    &ListParams {
                        limit: Some(4),
                        continue_token: Some(t),
                        ..ListParams::default()
                    },
                )
                .unwrap();
            assert_eq!(p.rv, p1.rv);
            seen.extend(p.items.iter().map(|r| r.key.clone()));
            tok = p.continue_token;
        }
        let want: Vec<String> = (0..10).map(|i| format!("ns/p{i:02}")).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn compacted_continue_is_gone_with_inconsistent_token() {
        let mut s = store();
        for i in 0..5 {
            s.put(pod("ns", &format!("p{i}"), "Running", "n"), now())
                .unwrap();
        }
        let p1 = s
            .list(
                &all_filter(),
                &ListParams {
                    limit: Some(2),
                    ..ListParams::default()
                },
            )
            .unwrap();
        s.put(pod("ns", "zz", "Running", "n"), now()).unwrap();
        s.compact_to(s.rv());
        let e = s
            .list(
                &all_filter(),
                &ListParams {
                    limit: Some(2),
                    continue_token: p1.continue_token,
                    ..ListParams::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.code, 410);
        assert_eq!(e.reason, "Expired");
        let t = e.list_continue.unwrap();
        let rest = s
            .list(
                &all_filter(),
                &ListParams {
                    continue_token: Some(t),
                    ..ListParams::default()
                },
            )
            .unwrap();
        let keys: Vec<&str> = rest.items.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["ns/p2", "ns/p3", "ns/p4", "ns/zz"]);
    }

    #[test]
    fn selectors_filter_and_continue_points_after_last_match() {
        let mut s = store();
        for i in 0..6 {
            let mut v = pod(
                "ns",
                &format!("p{i}"),
                if i % 2 == 0 { "Succeeded" } else { "Running" },
                "n",
            );
            if i % 2 == 0 {
                set_meta(&mut v, "labels", json!({"app": "x", "even": "yes"}));
            }
            s.put(v, now()).unwrap();
        }
        let f = Filter {
            prefix: "ns/".into(),
            labels: LabelSelector::parse("even").unwrap(),
            fields: FieldSelector::parse("status.phase=Succeeded").unwrap(),
        };
        let p = s
            .list(
                &f,
                &ListParams {
                    limit: Some(2),
                    ..ListParams::default()
                },
            )
            .unwrap();
        assert_eq!(p.items.len(), 2);
        let p2 = s
            .list(
                &f,
                &ListParams {
                    limit: Some(2),
                    continue_token: p.continue_token,
                    ..ListParams::default()
                },
            )
            .unwrap();
        assert_eq!(p2.items.len(), 1);
        assert_eq!(p2.items[0].key, "ns/p4");
        assert!(p2.continue_token.is_none());
    }

    #[test]
    fn watch_history_and_too_old() {
        let mut s = store();
        let a = s.put(pod("ns", "a", "Running", "n"), now()).unwrap();
        s.put(pod("ns", "b", "Running", "n"), now()).unwrap();
        let evs = s.events_after(a.rv, 10).unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].kind, EventType::Added);
        s.compact_to(s.rv());
        assert_eq!(s.events_after(a.rv, 10).unwrap_err(), s.rv());
        assert!(s.events_after(s.rv(), 10).unwrap().is_empty());
    }

    #[test]
    fn grace_rules() {
        let mut s = store();
        s.put(pod("ns", "run", "Running", "node-1"), now()).unwrap();
        s.put(pod("ns", "done", "Succeeded", "node-1"), now())
            .unwrap();
        s.put(pod("ns", "pending", "Pending", ""), now()).unwrap();
        let o = DeleteOptions::default();
        // running on a node: graceful
        let out = s.delete("ns", "run", &o, now()).unwrap();
        let v: Value = serde_json::from_slice(&out.object).unwrap();
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(v["metadata"]["deletionTimestamp"], "2026-03-01T12:00:30Z");
        assert!(s.get("ns/run").is_some());
        // terminal and unscheduled: immediate
        s.delete("ns", "done", &o, now()).unwrap();
        s.delete("ns", "pending", &o, now()).unwrap();
        assert!(s.get("ns/done").is_none() && s.get("ns/pending").is_none());
        // a second delete with a longer grace changes nothing; a shorter one shortens it
        let rv = s.get("ns/run").unwrap().rv;
        s.delete(
            "ns",
            "run",
            &DeleteOptions {
                grace_period_seconds: Some(60),
                ..o.clone()
            },
            now(),
        )
        .unwrap();
        assert_eq!(s.get("ns/run").unwrap().rv, rv);
        s.delete(
            "ns",
            "run",
            &DeleteOptions {
                grace_period_seconds: Some(10),
                ..o.clone()
            },
            now(),
        )
        .unwrap();
        let r = s.get("ns/run").unwrap().value();
        assert_eq!(r["metadata"]["deletionTimestamp"], "2026-03-01T12:00:10Z");
        // the clock passes the deadline: gone
        assert_eq!(s.expire(now() + SignedDuration::from_secs(9)).unwrap(), 0);
        assert_eq!(s.expire(now() + SignedDuration::from_secs(10)).unwrap(), 1);
        assert!(s.get("ns/run").is_none());
    }

    #[test]
    fn immediate_delete_is_modified_then_deleted() {
        let mut s = store();
        let p = s.put(pod("ns", "done", "Failed", "n"), now()).unwrap();
        let out = s
            .delete("ns", "done", &DeleteOptions::default(), now())
            .unwrap();
        let evs = s.events_after(p.rv, 10).unwrap();
        let kinds: Vec<EventType> = evs.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventType::Modified, EventType::Deleted]);
        let v: Value = serde_json::from_slice(&out.object).unwrap();
        assert_eq!(v["metadata"]["resourceVersion"], evs[0].rv.to_string());
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], 0);
    }

    #[test]
    fn dry_run_and_preconditions() {
        let mut s = store();
        let p = s.put(pod("ns", "p", "Running", "n"), now()).unwrap();
        let dry = DeleteOptions {
            dry_run: vec!["All".into()],
            grace_period_seconds: Some(0),
            ..DeleteOptions::default()
        };
        let out = s.delete("ns", "p", &dry, now()).unwrap();
        assert_eq!(out.code, 200);
        assert_eq!(s.get("ns/p").unwrap().rv, p.rv);
        assert_eq!(s.rv(), p.rv);
        let bad = DeleteOptions {
            precondition_uid: Some("nope".into()),
            ..DeleteOptions::default()
        };
        let e = s.delete("ns", "p", &bad, now()).unwrap_err();
        assert_eq!(e.code, 409);
        assert_eq!(
            e.message,
            format!(
                "Operation cannot be fulfilled on Pod \"p\": the UID in the precondition (nope) does not match the UID in record ({}). The object might have been deleted and then recreated",
                p.uid
            )
        );
        let bad = DeleteOptions {
            precondition_rv: Some("1".into()),
            ..DeleteOptions::default()
        };
        assert_eq!(s.delete("ns", "p", &bad, now()).unwrap_err().code, 409);
        let e = s
            .delete("ns", "nope", &DeleteOptions::default(), now())
            .unwrap_err();
        assert_eq!(e.message, "pods \"nope\" not found");
    }

    #[test]
    fn background_cascade_deletes_dependents() {
        let mut s = store();
        let d = s.put(pod("ns", "driver", "Succeeded", "n"), now()).unwrap();
        s.put(
            with_owner(pod("ns", "exec-1", "Succeeded", "n"), &d.uid, true),
            now(),
        )
        .unwrap();
        s.put(
            with_owner(pod("ns", "exec-2", "Running", "n"), &d.uid, true),
            now(),
        )
        .unwrap();
        let o = DeleteOptions {
            propagation_policy: Some("Background".into()),
            ..DeleteOptions::default()
        };
        s.delete("ns", "driver", &o, now()).unwrap();
        assert!(s.get("ns/driver").is_none());
        assert!(s.get("ns/exec-1").is_none());
        // a running executor is deleted gracefully by the GC
        let e2 = s.get("ns/exec-2").unwrap();
        assert!(e2.deletion_timestamp.is_some());
        s.expire(now() + SignedDuration::from_secs(30)).unwrap();
        assert!(s.get("ns/exec-2").is_none());
    }

    #[test]
    fn orphan_strips_owner_references() {
        let mut s = store();
        let d = s.put(pod("ns", "driver", "Succeeded", "n"), now()).unwrap();
        s.put(
            with_owner(pod("ns", "exec-1", "Succeeded", "n"), &d.uid, true),
            now(),
        )
        .unwrap();
        let o = DeleteOptions {
            propagation_policy: Some("Orphan".into()),
            ..DeleteOptions::default()
        };
        let out = s.delete("ns", "driver", &o, now()).unwrap();
        let v: Value = serde_json::from_slice(&out.object).unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["orphan"]));
        assert!(s.get("ns/driver").is_none());
        let e = s.get("ns/exec-1").unwrap().value();
        assert!(e["metadata"].get("ownerReferences").is_none());
    }

    #[test]
    fn foreground_waits_for_blocking_dependents() {
        let mut s = store();
        let d = s.put(pod("ns", "driver", "Succeeded", "n"), now()).unwrap();
        s.put(
            with_owner(pod("ns", "exec-1", "Running", "n"), &d.uid, true),
            now(),
        )
        .unwrap();
        let o = DeleteOptions {
            propagation_policy: Some("Foreground".into()),
            ..DeleteOptions::default()
        };
        let out = s.delete("ns", "driver", &o, now()).unwrap();
        let v: Value = serde_json::from_slice(&out.object).unwrap();
        assert_eq!(v["metadata"]["finalizers"], json!(["foregroundDeletion"]));
        // the owner stays while its blocking dependent terminates
        assert!(s.get("ns/driver").is_some());
        assert!(s.get("ns/exec-1").unwrap().deletion_timestamp.is_some());
        s.expire(now() + SignedDuration::from_secs(30)).unwrap();
        assert!(s.get("ns/exec-1").is_none());
        assert!(s.get("ns/driver").is_none());
    }

    #[test]
    fn history_is_bounded() {
        let mut s = Store::new(StoreConfig {
            history_revisions: 10,
            uid_seed: 1,
        });
        for i in 0..50 {
            s.put(pod("ns", &format!("p{i}"), "Running", "n"), now())
                .unwrap();
        }
        assert!(s.events.len() <= 10);
        assert!(s.history.len() <= 10);
        assert_eq!(s.compacted(), s.rv() - 10);
    }

    #[test]
    fn delete_options_validation() {
        let o = DeleteOptions {
            propagation_policy: Some("Sideways".into()),
            ..DeleteOptions::default()
        };
        let e = o.validate().unwrap_err();
        assert_eq!(e.code, 422);
        assert!(e.message.starts_with(
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value"
        ));
        let q = DeleteOptions::from_query(&[
            ("dryRun".into(), "All".into()),
            ("gracePeriodSeconds".into(), "0".into()),
        ])
        .unwrap();
        assert!(q.is_dry_run());
        assert_eq!(q.grace_period_seconds, Some(0));
        let b = DeleteOptions::from_json(
            br#"{"preconditions":{"uid":"u"},"propagationPolicy":"Background"}"#,
        )
        .unwrap();
        assert_eq!(b.precondition_uid.as_deref(), Some("u"));
    }
}
