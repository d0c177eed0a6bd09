//! A stored pod: its compact JSON (every field a client sent is kept) plus an index of the
//! fields the server needs for selectors, deletion and garbage collection.

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::selector::PodField;

/// An owner reference, as far as the garbage collector cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerRef {
    pub(crate) uid: String,
    pub(crate) block_owner_deletion: bool,
}

/// One version of one pod.
#[derive(Debug, Clone)]
pub(crate) struct PodRecord {
    /// Compact JSON of the whole object, `metadata.resourceVersion` included.
    pub(crate) json: Bytes,
    /// `namespace/name`, the etcd key below `/registry/pods/`.
    pub(crate) key: String,
    ns_len: usize,
    pub(crate) uid: String,
    pub(crate) rv: u64,
    /// Labels sorted by key.
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) node_name: String,
    pub(crate) phase: String,
    pub(crate) restart_policy: String,
    pub(crate) scheduler_name: String,
    pub(crate) service_account_name: String,
    pub(crate) host_network: bool,
    pub(crate) pod_ip: String,
    pub(crate) nominated_node_name: String,
    pub(crate) owners: Vec<OwnerRef>,
    pub(crate) deletion_timestamp: Option<Timestamp>,
    pub(crate) deletion_grace: Option<i64>,
    pub(crate) finalizers: Vec<String>,
    pub(crate) termination_grace: Option<i64>,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

/// Build the etcd-style key of a pod.
pub(crate) fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl PodRecord {
    /// Index a pod object. It must carry name, namespace, uid and a numeric resourceVersion.
    pub(crate) fn from_value(v: &Value) -> Result<Self, String> {
        let meta = v.get("metadata").ok_or("pod has no metadata")?;
        let name = s(meta, &["name"]);
        let namespace = s(meta, &["namespace"]);
        if name.is_empty() || namespace.is_empty() {
            return Err("pod has no metadata.name or metadata.namespace".into());
        }
        let rv: u64 = s(meta, &["resourceVersion"])
            .parse()
            .map_err(|_| format!("pod {namespace}/{name} has no numeric resourceVersion"))?;
        let mut labels: Vec<(String, String)> = meta
            .get("labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let owners = meta
            .get("ownerReferences")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|o| OwnerRef {
                        uid: s(o, &["uid"]).to_string(),
                        block_owner_deletion: o
                            .get("blockOwnerDeletion")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let finalizers = meta
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let deletion_timestamp = meta
            .get("deletionTimestamp")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok());
        let pod_ip = v
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .unwrap_or_else(|| s(v, &["status", "podIP"]))
            .to_string();
        let host_network = v
            .pointer("/spec/hostNetwork")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            json: Bytes::from(serde_json::to_vec(v).map_err(|e| e.to_string())?),
            key: key_of(namespace, name),
            ns_len: namespace.len(),
            uid: s(meta, &["uid"]).to_string(),
            rv,
            labels,
            node_name: s(v, &["spec", "nodeName"]).to_string(),
            phase: s(v, &["status", "phase"]).to_string(),
            restart_policy: s(v, &["spec", "restartPolicy"]).to_string(),
            scheduler_name: s(v, &["spec", "schedulerName"]).to_string(),
            service_account_name: s(v, &["spec", "serviceAccountName"]).to_string(),
            host_network,
            pod_ip,
            nominated_node_name: s(v, &["status", "nominatedNodeName"]).to_string(),
            owners,
            deletion_timestamp,
            deletion_grace: meta
                .get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64),
            finalizers,
            termination_grace: v
                .pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64),
        })
    }

    pub(crate) fn namespace(&self) -> &str {
        &self.key[..self.ns_len]
    }

    pub(crate) fn name(&self) -> &str {
        &self.key[self.ns_len + 1..]
    }

    /// The object as a JSON value.
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    /// The value of a selectable field.
    pub(crate) fn field(&self, f: PodField) -> &str {
        match f {
            PodField::Name => self.name(),
            PodField::Namespace => self.namespace(),
            PodField::NodeName => &self.node_name,
            PodField::RestartPolicy => &self.restart_policy,
            PodField::SchedulerName => &self.scheduler_name,
            PodField::ServiceAccountName => &self.service_account_name,
            PodField::HostNetwork => {
                if self.host_network {
                    "true"
                } else {
                    "false"
                }
            }
            PodField::Phase => &self.phase,
            PodField::PodIp => &self.pod_ip,
            PodField::NominatedNodeName => &self.nominated_node_name,
        }
    }

    pub(crate) fn is_terminal(&self) -> bool {
        self.phase == "Succeeded" || self.phase == "Failed"
    }

    /// A copy with `metadata.resourceVersion` set to `rv` (used for DELETED events).
    pub(crate) fn with_rv(&self, rv: u64) -> Self {
        let mut v = self.value();
        set_meta(&mut v, "resourceVersion", Value::from(rv.to_string()));
        let mut r = self.clone();
        r.json = Bytes::from(serde_json::to_vec(&v).unwrap_or_default());
        r.rv = rv;
        r
    }

    /// The raw JSON of `metadata`.
    pub(crate) fn metadata_json(&self) -> Box<serde_json::value::RawValue> {
        #[derive(serde::Deserialize)]
        struct Meta<'a> {
            #[serde(borrow)]
            metadata: &'a serde_json::value::RawValue,
        }
        match serde_json::from_slice::<Meta<'_>>(&self.json) {
            Ok(m) => m.metadata.to_owned(),
            Err(_) => serde_json::value::RawValue::from_string("{}".into())
                .unwrap_or_else(|_| unreachable!("an empty object is valid JSON")),
        }
    }
}

/// Get `metadata` of an object as a mutable map, creating it if needed.
pub(crate) fn meta_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    let obj = v
        .as_object_mut()
        .unwrap_or_else(|| unreachable!("made an object above"));
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut()
        .unwrap_or_else(|| unreachable!("made an object above"))
}

/// Set one `metadata` field.
pub(crate) fn set_meta(v: &mut Value, field: &str, value: Value) {
    meta_mut(v).insert(field.to_string(), value);
}

/// A small deterministic generator (`SplitMix64`) for uids and fault decisions.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// A version 4 UUID string.
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format_uuid(a, b)
    }
}

/// The `SplitMix64` finaliser.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(crate) fn format_uuid(a: u64, b: u64) -> String {
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indexes_a_pod() {
        let v = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "resourceVersion": "7",
                "labels": {"b": "2", "a": "1"},
                "ownerReferences": [{"uid": "o1", "blockOwnerDeletion": true}]},
            "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}
        });
        let r = PodRecord::from_value(&v).unwrap();
        assert_eq!(r.key, "ns/p");
        assert_eq!(r.namespace(), "ns");
        assert_eq!(r.name(), "p");
        assert_eq!(r.labels[0].0, "a");
        assert_eq!(r.field(PodField::PodIp), "10.0.0.1");
        assert_eq!(r.field(PodField::HostNetwork), "false");
        assert!(r.owners[0].block_owner_deletion);
        assert_eq!(r.with_rv(9).value()["metadata"]["resourceVersion"], "9");
        assert!(r.metadata_json().get().contains("\"uid\":\"u1\""));
    }

    #[test]
    fn uuids_are_v4_and_deterministic() {
        let u = SplitMix(1).uuid();
        assert_eq!(u, SplitMix(1).uuid());
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
