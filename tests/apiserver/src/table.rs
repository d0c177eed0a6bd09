//! Server-side printing: `meta.k8s.io/v1` `Table` rows for pods and namespaces, a port of
//! `pkg/printers/internalversion` (`printPod`) and `k8s.io/apimachinery/pkg/util/duration`.

use jiff::Timestamp;
use serde_json::{Value, json};

/// `duration.HumanDuration` of the span from `from` to `now`.
#[must_use]
pub fn human_duration_since(from: Timestamp, now: Timestamp) -> String {
    let d = now
        .as_duration()
        .checked_sub(from.as_duration())
        .unwrap_or_default();
    human_duration(d.as_secs())
}

/// `duration.HumanDuration` for a number of seconds (truncated towards zero, as Go does).
#[must_use]
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

fn age(v: &Value, now: Timestamp) -> String {
    match v.pointer("/metadata/creationTimestamp").and_then(ts) {
        Some(t) => human_duration_since(t, now),
        None => "<unknown>".into(),
    }
}

/// Column definitions for pods.
#[must_use]
pub fn pod_columns() -> Value {
    json!([
        {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names", "priority": 0},
        {"name": "Ready", "type": "string", "format": "", "description": "The aggregate readiness state of this pod for accepting traffic.", "priority": 0},
        {"name": "Status", "type": "string", "format": "", "description": "The aggregate status of the containers in this pod.", "priority": 0},
        {"name": "Restarts", "type": "string", "format": "", "description": "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", "priority": 0},
        {"name": "IP", "type": "string", "format": "", "description": "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", "priority": 1},
        {"name": "Node", "type": "string", "format": "", "description": "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename", "priority": 1},
        {"name": "Nominated Node", "type": "string", "format": "", "description": "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", "priority": 1},
        {"name": "Readiness Gates", "type": "string", "format": "", "description": "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", "priority": 1}
    ])
}

/// Column definitions for namespaces.
#[must_use]
pub fn namespace_columns() -> Value {
    json!([
        {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
        {"name": "Status", "type": "string", "format": "", "description": "The status of the namespace", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0}
    ])
}

fn arr(v: &Value, p: &str) -> Vec<Value> {
    v.pointer(p)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn is_restartable_init(c: Option<&Value>) -> bool {
    c.and_then(|c| c.get("restartPolicy"))
        .and_then(Value::as_str)
        == Some("Always")
}

fn condition_true(v: &Value, ty: &str) -> bool {
    arr(v, "/status/conditions").iter().any(|c| {
        c.get("type").and_then(Value::as_str) == Some(ty)
            && c.get("status").and_then(Value::as_str) == Some("True")
    })
}

/// The cells and row conditions of one pod (wide: all nine columns), like `printPod`.
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn pod_row_cells(pod: &Value, now: Timestamp) -> (Vec<Value>, Option<Value>) {
    let mut restarts: i64 = 0;
    let mut restartable_init_restarts: i64 = 0;
    let containers = arr(pod, "/spec/containers");
    let init_containers = arr(pod, "/spec/initContainers");
    let mut total = containers.len();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;
    let phase = str_at(pod, "/status/phase").to_string();
    let mut reason = phase.clone();
    let status_reason = str_at(pod, "/status/reason");
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for c in arr(pod, "/status/conditions") {
        if str_at(&c, "/type") == "PodScheduled" && str_at(&c, "/reason") == "SchedulingGated" {
            reason = "SchedulingGated".into();
        }
    }
    let conditions = match phase.as_str() {
        "Succeeded" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        ),
        "Failed" => Some(
            json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]),
        ),
        _ => None,
    };
    let init_by_name = |name: &str| init_containers.iter().find(|c| str_at(c, "/name") == name);
    for c in &init_containers {
        if is_restartable_init(Some(c)) {
            total += 1;
        }
    }
    let later = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let mut initializing = false;
    let init_statuses = arr(pod, "/status/initContainerStatuses");
    for (i, c) in init_statuses.iter().enumerate() {
        let rc = c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
        restarts += rc;
        let finished = c.pointer("/lastState/terminated/finishedAt").and_then(ts);
        last_restart = later(last_restart, finished);
        let restartable = is_restartable_init(init_by_name(str_at(c, "/name")));
        if restartable {
            restartable_init_restarts += rc;
            last_restartable_init_restart = later(last_restartable_init_restart, finished);
        }
        let term = c.pointer("/state/terminated");
        let waiting_reason = str_at(c, "/state/waiting/reason");
        if let Some(t) = term.filter(|t| t.get("exitCode").and_then(Value::as_i64) == Some(0)) {
            let _ = t;
            continue;
        }
        if restartable && c.get("started").and_then(Value::as_bool) == Some(true) {
            if c.get("ready").and_then(Value::as_bool) == Some(true) {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = term {
            let r = str_at(t, "/reason");
            reason = if r.is_empty() {
                let sig = t.get("signal").and_then(Value::as_i64).unwrap_or(0);
                if sig == 0 {
                    format!(
                        "Init:ExitCode:{}",
                        t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                    )
                } else {
                    format!("Init:Signal:{sig}")
                }
            } else {
                format!("Init:{r}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }
    if !initializing || condition_true(pod, "Initialized") {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for c in arr(pod, "/status/containerStatuses").iter().rev() {
            restarts += c.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            last_restart = later(
                last_restart,
                c.pointer("/lastState/terminated/finishedAt").and_then(ts),
            );
            let waiting_reason = str_at(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = term {
                let r = str_at(t, "/reason");
                reason = if r.is_empty() {
                    let sig = t.get("signal").and_then(Value::as_i64).unwrap_or(0);
                    if sig == 0 {
                        format!(
                            "ExitCode:{}",
                            t.get("exitCode").and_then(Value::as_i64).unwrap_or(0)
                        )
                    } else {
                        format!("Signal:{sig}")
                    }
                } else {
                    r.to_string()
                };
            } else if c.get("ready").and_then(Value::as_bool) == Some(true)
                && c.pointer("/state/running").is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".into()
            } else {
                "NotReady".into()
            };
        }
    }
    let deleting = pod
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|d| !d.is_null());
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration_since(t, now)),
        _ => restarts.to_string(),
    };
    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let pod_ip = or_none(str_at(pod, "/status/podIPs/0/ip"));
    let gates = arr(pod, "/spec/readinessGates");
    let gates_str = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conds = arr(pod, "/status/conditions");
        let t = gates
            .iter()
            .filter(|g| {
                conds
                    .iter()
                    .find(|c| str_at(c, "/type") == str_at(g, "/conditionType"))
                    .is_some_and(|c| str_at(c, "/status") == "True")
            })
            .count();
        format!("{t}/{}", gates.len())
    };
    let cells = vec![
        Value::from(str_at(pod, "/metadata/name")),
        Value::from(format!("{ready}/{total}")),
        Value::from(reason),
        Value::from(restarts_str),
        Value::from(age(pod, now)),
        Value::from(pod_ip),
        Value::from(or_none(str_at(pod, "/spec/nodeName"))),
        Value::from(or_none(str_at(pod, "/status/nominatedNodeName"))),
        Value::from(gates_str),
    ];
    (cells, conditions)
}

/// The cells of one namespace row.
#[must_use]
pub fn namespace_row_cells(ns: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        Value::from(str_at(ns, "/metadata/name")),
        Value::from(str_at(ns, "/status/phase")),
        Value::from(age(ns, now)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_apimachinery() {
        let cases = [
            (-2, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (121, "2m1s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (8 * 86400, "8d"),
            (730 * 86400, "2y"),
            (731 * 86400, "2y1d"),
            (8 * 365 * 86400, "8y"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }

    #[test]
    fn pod_rows() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let running = json!({"metadata": {"name": "d", "creationTimestamp": "2026-03-01T09:00:00Z"},
            "spec": {"nodeName": "n1", "containers": [{"name": "spark-kubernetes-driver"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.1.2.3"}],
                "containerStatuses": [{"name": "spark-kubernetes-driver", "ready": true, "restartCount": 0, "state": {"running": {}}}]}});
        let (cells, cond) = pod_row_cells(&running, now);
        assert_eq!(
            cells,
            vec![
                json!("d"),
                json!("1/1"),
                json!("Running"),
                json!("0"),
                json!("3h"),
                json!("10.1.2.3"),
                json!("n1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
        assert!(cond.is_none());
        let done = json!({"metadata": {"name": "d", "creationTimestamp": "2026-03-01T11:58:00Z"},
            "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Succeeded",
                "containerStatuses": [{"name": "c", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        let (cells, cond) = pod_row_cells(&done, now);
        assert_eq!(cells[1], "0/1");
        assert_eq!(cells[2], "Completed");
        assert_eq!(cells[4], "2m");
        assert_eq!(cond.unwrap()[0]["reason"], "Succeeded");
        let mut term = running.clone();
        term["metadata"]["deletionTimestamp"] = json!("2026-03-01T12:00:30Z");
        assert_eq!(pod_row_cells(&term, now).0[2], "Terminating");
    }
}
