//! Kyuubi engine registrations: parse a znode path into a [`Registration`].
//!
//! Owns Kyuubi's znode naming: engine spaces `/<haNamespace>_<version>_<SHARE_LEVEL>_<ENGINE_TYPE>`,
//! the `<user>/<leaf>` levels below them, and registration names
//! `serverUri=<host:port>;version=<v>[;<k>=<v>…];refId=<id>;sequence=<10 digits>` (`serviceUri=`
//! up to Kyuubi 1.8.0). Because of Kyuubi issue #7282 a `/` inside an attribute value (base64,
//! URLs) adds path levels, so the name is everything after `/<space>/<user>/<leaf>/`, joined back
//! with `/`. Also provides the path filter that keeps only a namespace's engine spaces.
//!
//! This module is pure: no I/O, no ZooKeeper, no decisions about liveness or pods. A path that is
//! not a registration is reported with a reason, never as an error of the program.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;

/// `kyuubi.engine.share.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShareLevel {
    /// One engine per connection; leaf = engine ref id.
    Connection,
    /// One engine per user; leaf = subdomain.
    User,
    /// One engine per primary group; leaf = subdomain.
    Group,
    /// One engine per Kyuubi server host (1.11.0+); leaf = `<serverHost>_<subdomain>`.
    ServerLocal,
    /// One engine per cluster; leaf = subdomain.
    Server,
}

impl ShareLevel {
    /// All levels, longest name first (so `SERVER_LOCAL` is tried before `SERVER`).
    pub const ALL: [ShareLevel; 5] = [
        ShareLevel::ServerLocal,
        ShareLevel::Connection,
        ShareLevel::Server,
        ShareLevel::Group,
        ShareLevel::User,
    ];

    /// The name used in znode paths.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ShareLevel::Connection => "CONNECTION",
            ShareLevel::User => "USER",
            ShareLevel::Group => "GROUP",
            ShareLevel::ServerLocal => "SERVER_LOCAL",
            ShareLevel::Server => "SERVER",
        }
    }
}

impl fmt::Display for ShareLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `kyuubi.engine.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineType {
    /// Spark SQL.
    SparkSql,
    /// Flink SQL.
    FlinkSql,
    /// Trino.
    Trino,
    /// Hive SQL.
    HiveSql,
    /// JDBC.
    Jdbc,
    /// Data agent (1.12.0+).
    DataAgent,
    /// Chat (LLM) engine (1.8.0+).
    Chat,
}

impl EngineType {
    /// All engine types.
    pub const ALL: [EngineType; 7] = [
        EngineType::SparkSql,
        EngineType::FlinkSql,
        EngineType::Trino,
        EngineType::HiveSql,
        EngineType::Jdbc,
        EngineType::DataAgent,
        EngineType::Chat,
    ];

    /// The name used in znode paths.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EngineType::SparkSql => "SPARK_SQL",
            EngineType::FlinkSql => "FLINK_SQL",
            EngineType::Trino => "TRINO",
            EngineType::HiveSql => "HIVE_SQL",
            EngineType::Jdbc => "JDBC",
            EngineType::DataAgent => "DATA_AGENT",
            EngineType::Chat => "CHAT",
        }
    }
}

impl fmt::Display for EngineType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed engine space name `<haNamespace>_<version>_<SHARE_LEVEL>_<ENGINE_TYPE>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSpace {
    /// The whole name (without the leading `/`).
    pub name: String,
    /// `kyuubi.ha.namespace`.
    pub ha_namespace: String,
    /// The Kyuubi *server* version that created the space.
    pub kyuubi_version: String,
    /// Share level.
    pub share_level: ShareLevel,
    /// Engine type.
    pub engine_type: EngineType,
}

/// Which key carried the engine's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriKey {
    /// `serverUri=` (Kyuubi 1.8.1+).
    ServerUri,
    /// `serviceUri=` (Kyuubi 1.8.0 and earlier).
    ServiceUri,
}

/// A Kyuubi engine registration znode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Full znode path.
    pub path: String,
    /// Engine space name (first path level below the namespace prefix).
    pub space: String,
    /// `kyuubi.ha.namespace`.
    pub ha_namespace: String,
    /// Kyuubi server version from the space name.
    pub kyuubi_version: String,
    /// Share level.
    pub share_level: ShareLevel,
    /// Engine type.
    pub engine_type: EngineType,
    /// Routing user (session user, group, or the server's user).
    pub user: String,
    /// The level below the user: subdomain, engine ref id (CONNECTION), or
    /// `<serverHost>_<subdomain>` (`SERVER_LOCAL`).
    pub leaf: String,
    /// Subdomain (not for CONNECTION).
    pub subdomain: Option<String>,
    /// Kyuubi server host (`SERVER_LOCAL` only).
    pub server_host: Option<String>,
    /// The registration name: everything below the leaf, joined with `/`.
    pub name: String,
    /// Number of extra path levels inside the name (a `/` in a value, Kyuubi #7282).
    pub extra_levels: usize,
    /// `host:port` from `serverUri=` / `serviceUri=`.
    pub host_port: Option<String>,
    /// Which key carried `host_port`.
    pub uri_key: Option<UriKey>,
    /// The engine's `version=` attribute.
    pub version: Option<String>,
    /// `refId=`: the engine ref id (= pod label `kyuubi-unique-tag`).
    pub ref_id: String,
    /// `kyuubi.engine.id=` (Spark application id = pod label `spark-app-selector`).
    pub engine_id: Option<String>,
    /// `kyuubi.engine.url=`.
    pub engine_url: Option<String>,
    /// `resourceManager` from `kyuubi.engine.appMgrInfo`.
    pub resource_manager: Option<String>,
    /// `kubernetesInfo.context` from `kyuubi.engine.appMgrInfo`.
    pub k8s_context: Option<String>,
    /// `kubernetesInfo.namespace` from `kyuubi.engine.appMgrInfo`.
    pub k8s_namespace: Option<String>,
    /// Raw `kyuubi.engine.appMgrInfo` value, kept when it could not be decoded.
    pub app_mgr_info_raw: Option<String>,
    /// Why `kyuubi.engine.appMgrInfo` could not be decoded (not fatal).
    pub app_mgr_info_error: Option<String>,
    /// Every other attribute.
    pub attributes: BTreeMap<String, String>,
    /// The sequence number ZooKeeper appended.
    pub sequence: i64,
    /// Non-fatal oddities (e.g. a CONNECTION leaf that differs from refId).
    pub warnings: Vec<String>,
}

/// Why a path is not an engine registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotRegistration {
    /// The path does not start with `/`.
    #[error("path {path:?} is not absolute")]
    NotAbsolute {
        /// The path.
        path: String,
    },
    /// The path is not under the expected HA namespace.
    #[error("path {path:?} is not under an engine space of namespace {ha_namespace:?}")]
    OtherNamespace {
        /// The path.
        path: String,
        /// The namespace expected.
        ha_namespace: String,
    },
    /// A `_lock` space (Curator semaphores for engine creation).
    #[error("{space:?} is an engine-creation lock space, not an engine space")]
    LockSpace {
        /// The space name.
        space: String,
    },
    /// A `_seqNum` space (engine-pool counters).
    #[error("{space:?} is an engine-pool counter space, not an engine space")]
    SeqNumSpace {
        /// The space name.
        space: String,
    },
    /// The first level is not `<ns>_<version>_<SHARE_LEVEL>_<ENGINE_TYPE>` (e.g. a server
    /// node directly under `/<ns>`, or an unrelated tree).
    #[error(
        "{space:?} is not an engine space <namespace>_<version>_<SHARE_LEVEL>_<ENGINE_TYPE>: {why}"
    )]
    NotEngineSpace {
        /// The name looked at.
        space: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The path is an engine space, user or leaf node, not a registration below them.
    #[error("{path:?} is {what}, not a registration")]
    TooShallow {
        /// The path.
        path: String,
        /// Which level it is.
        what: &'static str,
    },
    /// The name has no `sequence=` (e.g. an intermediate node created by a `/` in a value).
    #[error("node name {name:?} has no sequence= attribute")]
    NoSequence {
        /// The name.
        name: String,
    },
    /// The sequence is not ZooKeeper's 10-character counter.
    #[error("node name {name:?} has a malformed sequence {sequence:?} (expected 10 digits)")]
    BadSequence {
        /// The name.
        name: String,
        /// The value found.
        sequence: String,
    },
    /// No `refId=`: not an engine registration (server nodes have none).
    #[error("node name {name:?} has no refId= attribute")]
    NoRefId {
        /// The name.
        name: String,
    },
}

fn valid_version(v: &str) -> bool {
    v.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
}

/// Parses `<version>_<SHARE_LEVEL>_<ENGINE_TYPE>` given the text before it (`<ns>_` removed or
/// not), returning (ns-and-version prefix, level, type).
fn split_level_type(name: &str) -> Result<(&str, ShareLevel, EngineType), NotRegistration> {
    let not = |why| NotRegistration::NotEngineSpace {
        space: name.to_string(),
        why,
    };
    if name.ends_with("_lock") {
        return Err(NotRegistration::LockSpace {
            space: name.to_string(),
        });
    }
    if name.ends_with("_seqNum") {
        return Err(NotRegistration::SeqNumSpace {
            space: name.to_string(),
        });
    }
    let (rest, engine_type) = EngineType::ALL
        .iter()
        .find_map(|t| Some((name.strip_suffix(t.as_str())?.strip_suffix('_')?, *t)))
        .ok_or_else(|| not("no known engine type at the end"))?;
    let (rest, level) = ShareLevel::ALL
        .iter()
        .find_map(|l| Some((rest.strip_suffix(l.as_str())?.strip_suffix('_')?, *l)))
        .ok_or_else(|| not("no known share level before the engine type"))?;
    Ok((rest, level, engine_type))
}

/// Parses an engine space name. With `ha_namespace`, the name must start with `<ns>_` (the
/// namespace may then contain `_` or `/`); without it, the namespace is everything before the
/// last `_` of `<ns>_<version>`.
pub fn parse_engine_space(
    name: &str,
    ha_namespace: Option<&str>,
) -> Result<EngineSpace, NotRegistration> {
    let not = |why| NotRegistration::NotEngineSpace {
        space: name.to_string(),
        why,
    };
    let (ns_ver, share_level, engine_type) = split_level_type(name)?;
    let (ns, version) = match ha_namespace {
        Some(ns) => {
            let v = ns_ver
                .strip_prefix(ns)
                .and_then(|r| r.strip_prefix('_'))
                .ok_or_else(|| not("it does not start with the HA namespace"))?;
            (ns, v)
        }
        None => ns_ver
            .rsplit_once('_')
            .ok_or_else(|| not("no <namespace>_<version> prefix"))?,
    };
    if ns.is_empty() {
        return Err(not("empty namespace"));
    }
    if !valid_version(version) {
        return Err(not("the version part is not a version string"));
    }
    Ok(EngineSpace {
        name: name.to_string(),
        ha_namespace: ns.to_string(),
        kyuubi_version: version.to_string(),
        share_level,
        engine_type,
    })
}

/// Splits a path into (space name, remainder below it).
fn split_space<'p>(
    path: &'p str,
    ha_namespace: Option<&str>,
) -> Result<(&'p str, Option<&'p str>), NotRegistration> {
    let p = path
        .strip_prefix('/')
        .ok_or_else(|| NotRegistration::NotAbsolute {
            path: path.to_string(),
        })?;
    let skip = match ha_namespace {
        Some(ns) => {
            let ok = p.strip_prefix(ns).is_some_and(|r| r.starts_with('_'));
            if !ok {
                return Err(NotRegistration::OtherNamespace {
                    path: path.to_string(),
                    ha_namespace: ns.to_string(),
                });
            }
            ns.len() + 1
        }
        None => 0,
    };
    Ok(match p[skip..].find('/') {
        Some(i) => (&p[..skip + i], Some(&p[skip + i + 1..])),
        None => (p, None),
    })
}

/// Parses a registration from a full znode path.
///
/// `ha_namespace` is `kyuubi.ha.namespace` (prefixed by the chroot, if any, without leading
/// `/`); `None` infers it from the first path level.
pub fn parse_registration(
    path: &str,
    ha_namespace: Option<&str>,
) -> Result<Registration, NotRegistration> {
    let (space_name, below) = split_space(path, ha_namespace)?;
    let space = parse_engine_space(space_name, ha_namespace)?;
    let shallow = |what| NotRegistration::TooShallow {
        path: path.to_string(),
        what,
    };
    let below = below.ok_or_else(|| shallow("an engine space node"))?;
    let mut parts = below.splitn(3, '/');
    let user = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| shallow("an engine space node"))?;
    let leaf = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| shallow("a user node"))?;
    let name = parts
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| shallow("a subdomain/leaf node"))?;
    if !name.contains("sequence=") {
        return Err(NotRegistration::NoSequence {
            name: name.to_string(),
        });
    }
    let attrs = Attrs::split(name);
    let mut warnings: Vec<String> = attrs
        .junk
        .iter()
        .map(|p| format!("ignored name part without '=': {p:?}"))
        .collect();
    let Some(seq) = attrs.sequence else {
        return Err(NotRegistration::NoSequence {
            name: name.to_string(),
        });
    };
    let sequence = parse_sequence(seq).ok_or_else(|| NotRegistration::BadSequence {
        name: name.to_string(),
        sequence: seq.to_string(),
    })?;
    let Some(ref_id) = attrs.ref_id else {
        return Err(NotRegistration::NoRefId {
            name: name.to_string(),
        });
    };
    let (host_port, uri_key) = attrs.uri(&mut warnings);
    let (subdomain, server_host) = split_leaf(space.share_level, leaf, ref_id, &mut warnings);
    let mut reg = Registration {
        path: path.to_string(),
        space: space.name,
        ha_namespace: space.ha_namespace,
        kyuubi_version: space.kyuubi_version,
        share_level: space.share_level,
        engine_type: space.engine_type,
        user: user.to_string(),
        leaf: leaf.to_string(),
        subdomain,
        server_host,
        name: name.to_string(),
        extra_levels: name.matches('/').count(),
        host_port,
        uri_key,
        version: attrs.version.map(str::to_string),
        ref_id: ref_id.to_string(),
        engine_id: attrs.engine_id.map(str::to_string),
        engine_url: attrs.engine_url.map(str::to_string),
        resource_manager: None,
        k8s_context: None,
        k8s_namespace: None,
        app_mgr_info_raw: None,
        app_mgr_info_error: None,
        attributes: attrs
            .other
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        sequence,
        warnings,
    };
    if let Some(raw) = attrs.app_mgr_info {
        reg.set_app_mgr_info(raw);
    }
    Ok(reg)
}

impl Registration {
    /// Fills the k8s fields from a `kyuubi.engine.appMgrInfo` value, or records why it could not.
    fn set_app_mgr_info(&mut self, raw: &str) {
        match decode_app_mgr_info(raw) {
            Ok(info) => {
                self.resource_manager = info.resource_manager;
                self.k8s_context = info.k8s_context;
                self.k8s_namespace = info.k8s_namespace;
            }
            Err(why) => {
                self.app_mgr_info_error = Some(why);
                self.app_mgr_info_raw = Some(raw.to_string());
            }
        }
    }
}

/// A registration name split on `;` and each part on its first `=`, like Kyuubi's
/// `getServiceNodesInfo`: later duplicates win; parts without `=` are kept as junk.
#[derive(Default)]
struct Attrs<'a> {
    sequence: Option<&'a str>,
    ref_id: Option<&'a str>,
    server_uri: Option<&'a str>,
    service_uri: Option<&'a str>,
    version: Option<&'a str>,
    engine_id: Option<&'a str>,
    engine_url: Option<&'a str>,
    app_mgr_info: Option<&'a str>,
    other: Vec<(&'a str, &'a str)>,
    junk: Vec<&'a str>,
}

impl<'a> Attrs<'a> {
    /// `host:port` from `serverUri` (1.8.1+) or `serviceUri` (up to 1.8.0).
    fn uri(&self, warnings: &mut Vec<String>) -> (Option<String>, Option<UriKey>) {
        match (self.server_uri, self.service_uri) {
            (Some(s), other) => {
                if let Some(o) = other {
                    warnings.push(format!(
                        "both serverUri and serviceUri present; serviceUri={o} ignored"
                    ));
                }
                (Some(s.to_string()), Some(UriKey::ServerUri))
            }
            (None, Some(s)) => (Some(s.to_string()), Some(UriKey::ServiceUri)),
            (None, None) => {
                warnings.push("no serverUri/serviceUri in the name".to_string());
                (None, None)
            }
        }
    }

    fn split(name: &'a str) -> Self {
        let mut a = Attrs::default();
        for part in name.split(';') {
            let Some((k, v)) = part.split_once('=') else {
                if !part.is_empty() {
                    a.junk.push(part);
                }
                continue;
            };
            let slot = match k {
                "sequence" => &mut a.sequence,
                "refId" => &mut a.ref_id,
                "serverUri" => &mut a.server_uri,
                "serviceUri" => &mut a.service_uri,
                "version" => &mut a.version,
                "kyuubi.engine.id" => &mut a.engine_id,
                "kyuubi.engine.url" => &mut a.engine_url,
                "kyuubi.engine.appMgrInfo" => &mut a.app_mgr_info,
                _ => {
                    a.other.push((k, v));
                    continue;
                }
            };
            *slot = Some(v);
        }
        a
    }
}

/// (subdomain, server host) from the leaf level, per share level.
fn split_leaf(
    level: ShareLevel,
    leaf: &str,
    ref_id: &str,
    warnings: &mut Vec<String>,
) -> (Option<String>, Option<String>) {
    match level {
        ShareLevel::Connection => {
            if leaf != ref_id {
                warnings.push(format!(
                    "CONNECTION leaf {leaf:?} differs from refId {ref_id:?}"
                ));
            }
            (None, None)
        }
        ShareLevel::ServerLocal => {
            if let Some((h, s)) = leaf.split_once('_') {
                (Some(s.to_string()), Some(h.to_string()))
            } else {
                warnings.push(format!(
                    "SERVER_LOCAL leaf {leaf:?} is not <host>_<subdomain>"
                ));
                (None, None)
            }
        }
        _ => (Some(leaf.to_string()), None),
    }
}

/// ZooKeeper's sequential suffix: `String.format("%010d", n)`, i.e. 10 digits, or a `-` and 9
/// digits for a (wrapped) negative counter.
fn parse_sequence(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if s.len() != 10 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The decoded `kyuubi.engine.appMgrInfo` (Kyuubi 1.10.0+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppMgrInfo {
    /// `resourceManager`, e.g. `k8s://https://…`.
    pub resource_manager: Option<String>,
    /// `kubernetesInfo.context`.
    pub k8s_context: Option<String>,
    /// `kubernetesInfo.namespace`.
    pub k8s_namespace: Option<String>,
}

/// Decodes `kyuubi.engine.appMgrInfo`: base64 (standard; URL-safe and unpadded accepted too) of
/// JSON `{"resourceManager":…,"kubernetesInfo":{"context":…,"namespace":…}}`. Missing or null
/// fields are `None`; a wrong type for a field is ignored. Returns a reason on failure.
pub fn decode_app_mgr_info(raw: &str) -> Result<AppMgrInfo, String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|e| e.decode(raw.trim()).ok())
        .ok_or_else(|| "kyuubi.engine.appMgrInfo is not valid base64".to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("kyuubi.engine.appMgrInfo is not JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("kyuubi.engine.appMgrInfo is not a JSON object")?;
    let s =
        |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_str).map(str::to_string);
    let k8s = obj
        .get("kubernetesInfo")
        .and_then(serde_json::Value::as_object);
    Ok(AppMgrInfo {
        resource_manager: s(obj.get("resourceManager")),
        k8s_context: s(k8s.and_then(|k| k.get("context"))),
        k8s_namespace: s(k8s.and_then(|k| k.get("namespace"))),
    })
}

/// Whether `path` lies in an engine space of `ha_namespace` (the space node itself or anything
/// below it, at any depth). Lock and counter spaces do not count.
#[must_use]
pub fn is_engine_space_path(ha_namespace: &str, path: &[u8]) -> bool {
    engine_space_len(ha_namespace, path).is_some()
}

/// When `path` lies in an engine space of `ha_namespace` (see [`is_engine_space_path`]), the
/// length of the space node's path, which `path` starts with: every path that starts with the
/// space node's path and then `/` lies in the same space.
#[must_use]
pub fn engine_space_len(ha_namespace: &str, path: &[u8]) -> Option<usize> {
    let rest = path
        .strip_prefix(b"/")
        .and_then(|p| p.strip_prefix(ha_namespace.as_bytes()))?
        .strip_prefix(b"_")?;
    let end = memchr::memchr(b'/', rest).unwrap_or(rest.len());
    let tail = std::str::from_utf8(&rest[..end]).ok()?;
    matches!(split_level_type(tail), Ok((v, _, _)) if valid_version(v))
        .then_some(path.len() - rest.len() + end)
}

/// Whether `path` is an engine space node of `ha_namespace` itself
/// (`/<ns>_<version>_<LEVEL>_<TYPE>`, nothing below it).
#[must_use]
pub fn is_engine_space_node(ha_namespace: &str, path: &[u8]) -> bool {
    let below_ns = path
        .strip_prefix(b"/")
        .and_then(|p| p.strip_prefix(ha_namespace.as_bytes()))
        .and_then(|r| r.strip_prefix(b"_"));
    below_ns.is_some_and(|r| !r.contains(&b'/')) && is_engine_space_path(ha_namespace, path)
}

/// Deepest engine space [`EngineSpaceNotes`] looks for: `/<chroot of up to 3 levels>/<space>`.
pub const MAX_SPACE_DEPTH: usize = 4;

/// Most engine space paths [`EngineSpaceNotes`] keeps (the rest are only counted).
pub const MAX_NOTED_SPACES: usize = 50;

/// Engine spaces of *any* namespace seen while a tree is read, so that an `--ha-namespace`
/// that matches none of them can be told apart from a tree without Kyuubi. Bounded: the
/// [`MAX_NOTED_SPACES`] smallest paths are kept, the rest are counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineSpaceNotes {
    paths: std::collections::BTreeSet<String>,
    seen: usize,
}

impl EngineSpaceNotes {
    /// A quick test on the last byte, inlined into the per-node filter: every engine type
    /// name ends in `L`, `O`, `C` or `T` (`..._SQL`, `TRINO`, `JDBC`, `CHAT`, `DATA_AGENT`), and
    /// registrations (`...sequence=<digits>`) never do.
    #[inline]
    #[must_use]
    pub fn may_be_space(path: &[u8]) -> bool {
        matches!(path.last(), Some(b'L' | b'O' | b'C' | b'T'))
    }

    /// Notes `path` when its last segment is `<ns>_<version>_<LEVEL>_<TYPE>` at a depth of at
    /// most [`MAX_SPACE_DEPTH`] levels.
    pub fn note(&mut self, path: &[u8]) {
        if !Self::may_be_space(path)
            || path.first() != Some(&b'/')
            || memchr::memchr_iter(b'/', path).count() > MAX_SPACE_DEPTH
        {
            return;
        }
        let last = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
        let Ok(name) = std::str::from_utf8(last) else {
            return;
        };
        if parse_engine_space(name, None).is_err() {
            return;
        }
        self.seen += 1;
        let path = String::from_utf8_lossy(path);
        if self.paths.len() < MAX_NOTED_SPACES
            || self.paths.last().is_some_and(|l| l.as_str() > &*path)
        {
            self.paths.insert(path.into_owned());
            if self.paths.len() > MAX_NOTED_SPACES {
                self.paths.pop_last();
            }
        }
    }

    /// The paths kept, sorted.
    #[must_use]
    pub fn paths(&self) -> Vec<String> {
        self.paths.iter().cloned().collect()
    }

    /// How many times an engine space node was seen (a space that a replayed txn re-creates
    /// counts again).
    #[must_use]
    pub fn seen(&self) -> usize {
        self.seen
    }
}

/// The snapshot/replay filter for `ha_namespace`: keeps every node in its engine spaces
/// (`/<ns>_<version>_<LEVEL>_<TYPE>` and everything below, at any depth).
pub fn engine_space_filter(ha_namespace: &str) -> impl Fn(&[u8]) -> bool + Send + Sync + 'static {
    let ns = ha_namespace.to_string();
    move |path: &[u8]| is_engine_space_path(&ns, path)
}

#[cfg(test)]
#[allow(clippy::too_many_lines)]
mod tests {
    use super::*;

    const APP: &str = "eyJyZXNvdXJjZU1hbmFnZXIiOiJrOHM6Ly9odHRwczovL2FwaS5leGFtcGxlOjY0NDMiLCJrdWJlcm5ldGVzSW5mbyI6eyJjb250ZXh0IjoicHJvZCIsIm5hbWVzcGFjZSI6InNwYXJrIn19";

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    #[test]
    fn new_style_name_with_all_attributes() {
        let p = format!(
            "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=10.1.2.3:38295;version=1.10.3;\
             kyuubi.engine.id=spark-abc;kyuubi.engine.url=10.1.2.3:4040;spark.driver.memory=2g;\
             kyuubi.engine.appMgrInfo={APP};refId=375d3aed-6fac;sequence=0000000012"
        );
        let r = parse_registration(&p, None).unwrap();
        assert_eq!(r.space, "kyuubi_1.10.3_USER_SPARK_SQL");
        assert_eq!(r.ha_namespace, "kyuubi");
        assert_eq!(r.kyuubi_version, "1.10.3");
        assert_eq!(r.share_level, ShareLevel::User);
        assert_eq!(r.engine_type, EngineType::SparkSql);
        assert_eq!((r.user.as_str(), r.leaf.as_str()), ("alice", "default"));
        assert_eq!(r.subdomain.as_deref(), Some("default"));
        assert_eq!(r.host_port.as_deref(), Some("10.1.2.3:38295"));
        assert_eq!(r.uri_key, Some(UriKey::ServerUri));
        assert_eq!(r.version.as_deref(), Some("1.10.3"));
        assert_eq!(r.ref_id, "375d3aed-6fac");
        assert_eq!(r.engine_id.as_deref(), Some("spark-abc"));
        assert_eq!(r.engine_url.as_deref(), Some("10.1.2.3:4040"));
        assert_eq!(
            r.resource_manager.as_deref(),
            Some("k8s://https://api.example:6443")
        );
        assert_eq!(r.k8s_context.as_deref(), Some("prod"));
        assert_eq!(r.k8s_namespace.as_deref(), Some("spark"));
        assert_eq!(
            r.attributes,
            BTreeMap::from([("spark.driver.memory".into(), "2g".into())])
        );
        assert_eq!(r.sequence, 12);
        assert_eq!(r.extra_levels, 0);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn old_style_service_uri() {
        let p = "/kyuubi_1.7.1_GROUP_SPARK_SQL/analysts/default/serviceUri=10.0.0.8:40125;version=1.7.1;refId=7d3c;sequence=0000000000";
        let r = parse_registration(p, Some("kyuubi")).unwrap();
        assert_eq!(r.uri_key, Some(UriKey::ServiceUri));
        assert_eq!(r.host_port.as_deref(), Some("10.0.0.8:40125"));
        assert_eq!(r.share_level, ShareLevel::Group);
        assert_eq!(r.sequence, 0);
        assert_eq!(r.engine_id, None);
    }

    #[test]
    fn slash_in_values_adds_levels() {
        // A base64 value containing '/', and a URL.
        let json = r#"{"resourceManager":"k8s://https://k8s.example:6443/","kubernetesInfo":{"context":"c??","namespace":"ns-a"}}"#;
        let enc = b64(json);
        assert!(enc.contains('/'), "{enc}");
        let p = format!(
            "/kyuubi_1.13.0-SNAPSHOT_USER_SPARK_SQL/bob/pool-1/serverUri=h:1;version=1.13.0-SNAPSHOT;\
             kyuubi.engine.url=http://h:4040/proxy;kyuubi.engine.appMgrInfo={enc};refId=r1;sequence=0000000003"
        );
        let r = parse_registration(&p, None).unwrap();
        assert_eq!(r.kyuubi_version, "1.13.0-SNAPSHOT");
        assert_eq!(r.leaf, "pool-1");
        assert_eq!(r.extra_levels, 3 + enc.matches('/').count());
        assert_eq!(r.engine_url.as_deref(), Some("http://h:4040/proxy"));
        assert_eq!(r.k8s_namespace.as_deref(), Some("ns-a"));
        assert_eq!(r.k8s_context.as_deref(), Some("c??"));
        assert_eq!(r.ref_id, "r1");
        // The intermediate nodes created by those slashes are not registrations.
        let cut = p.find("http:").unwrap() + "http:".len();
        let e = parse_registration(&p[..cut], None).unwrap_err();
        assert!(matches!(e, NotRegistration::NoSequence { .. }), "{e}");
        // ... but the filter keeps them all.
        let f = engine_space_filter("kyuubi");
        assert!(f(&p.as_bytes()[..cut]));
        assert!(f(p.as_bytes()));
    }

    #[test]
    fn connection_and_server_local_leaves() {
        let p = "/kyuubi_1.9.1_CONNECTION_SPARK_SQL/hive/375d3aed-6fac-4a10-95ae-e47ab7882496/serverUri=10.1.2.3:38295;version=1.9.1;refId=375d3aed-6fac-4a10-95ae-e47ab7882496;sequence=0000000000";
        let r = parse_registration(p, None).unwrap();
        assert_eq!(r.share_level, ShareLevel::Connection);
        assert_eq!(r.leaf, r.ref_id);
        assert_eq!(r.subdomain, None);
        assert!(r.warnings.is_empty());

        let p = "/kyuubi_1.9.1_CONNECTION_SPARK_SQL/hive/other/serverUri=h:1;version=1.9.1;refId=r;sequence=0000000000";
        let r = parse_registration(p, None).unwrap();
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);

        let p = "/kyuubi_1.11.0_SERVER_LOCAL_TRINO/kyuubi/10.0.0.5_my_sub/serverUri=h:1;version=1.11.0;refId=r;sequence=0000000007";
        let r = parse_registration(p, None).unwrap();
        assert_eq!(r.share_level, ShareLevel::ServerLocal);
        assert_eq!(r.engine_type, EngineType::Trino);
        assert_eq!(r.server_host.as_deref(), Some("10.0.0.5"));
        assert_eq!(r.subdomain.as_deref(), Some("my_sub"));
        assert_eq!(r.sequence, 7);
    }

    #[test]
    fn every_level_and_type() {
        for level in ShareLevel::ALL {
            for ty in EngineType::ALL {
                let p = format!(
                    "/my_ns_1.12.0_{level}_{ty}/u/l/serverUri=h:1;version=1.12.0;refId=x;sequence=0000000001"
                );
                let r = parse_registration(&p, None).unwrap_or_else(|e| panic!("{p}: {e}"));
                assert_eq!((r.share_level, r.engine_type), (level, ty));
                assert_eq!(r.ha_namespace, "my_ns");
                let r2 = parse_registration(&p, Some("my_ns")).unwrap();
                assert_eq!(r, r2);
            }
        }
    }

    #[test]
    fn namespaces_with_slashes_or_underscores_need_the_namespace() {
        let p = "/chroot/kyuubi_1.10.3_USER_SPARK_SQL/u/l/serverUri=h:1;version=1.10.3;refId=x;sequence=0000000001";
        let r = parse_registration(p, Some("chroot/kyuubi")).unwrap();
        assert_eq!(r.space, "chroot/kyuubi_1.10.3_USER_SPARK_SQL");
        assert_eq!(r.ha_namespace, "chroot/kyuubi");
        assert_eq!(r.user, "u");
        assert!(engine_space_filter("chroot/kyuubi")(p.as_bytes()));
        assert!(parse_registration(p, None).is_err());
        let e = parse_registration(p, Some("kyuubi")).unwrap_err();
        assert!(matches!(e, NotRegistration::OtherNamespace { .. }), "{e}");
    }

    #[test]
    fn not_registrations_with_reasons() {
        let cases: &[(&str, &str)] = &[
            ("kyuubi_1.9.0_USER_SPARK_SQL/a/b/c", "not absolute"),
            (
                "/kyuubi/serverUri=10.0.0.5:10009;version=1.10.3;sequence=0000000004",
                "not an engine space",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL_lock/alice/default",
                "lock space",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL_seqNum/alice/engine-pool",
                "counter space",
            ),
            (
                "/kyuubi_1.10.3_USER_PRESTO/alice/default/x",
                "no known engine type",
            ),
            (
                "/kyuubi_1.10.3_EVERYONE_SPARK_SQL/alice/default/x",
                "no known share level",
            ),
            (
                "/kyuubi_abc_USER_SPARK_SQL/a/d/serverUri=h:1;refId=r;sequence=0000000001",
                "not a version",
            ),
            ("/USER_SPARK_SQL/a/d/x", "no known share level"),
            ("/kyuubi_1.10.3_USER_SPARK_SQL", "an engine space node"),
            ("/kyuubi_1.10.3_USER_SPARK_SQL/alice", "a user node"),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default",
                "a subdomain/leaf node",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=h:1;version=1.10.3;refId=r",
                "no sequence=",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=h:1;refId=r;sequence=12",
                "malformed sequence",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=h:1;refId=r;sequence=00000000ab",
                "malformed sequence",
            ),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/serverUri=h:1;version=1.10.3;sequence=0000000001",
                "no refId=",
            ),
            (
                "/other/tree/with/sequence=0000000001",
                "not an engine space",
            ),
        ];
        for (p, why) in cases {
            let e = parse_registration(p, None).unwrap_err();
            assert!(e.to_string().contains(why), "{p}: {e}");
        }
    }

    #[test]
    fn negative_sequence_and_parts_without_equals() {
        let p = "/kyuubi_1.10.3_USER_SPARK_SQL/a/d/serverUri=h:1;junk;refId=r;sequence=-000000005";
        let r = parse_registration(p, None).unwrap();
        assert_eq!(r.sequence, -5);
        assert_eq!(r.warnings.len(), 1);
    }

    #[test]
    fn bad_app_mgr_info_is_reported_not_fatal() {
        for (raw, why) in [
            ("!!!", "not valid base64"),
            (&*b64("not json"), "not JSON"),
            (&*b64("[1,2]"), "not a JSON object"),
        ] {
            let p = format!(
                "/kyuubi_1.10.3_USER_SPARK_SQL/a/d/serverUri=h:1;kyuubi.engine.appMgrInfo={raw};refId=r;sequence=0000000001"
            );
            let r = parse_registration(&p, None).unwrap();
            assert!(
                r.app_mgr_info_error.as_deref().unwrap().contains(why),
                "{raw}"
            );
            assert_eq!(r.app_mgr_info_raw.as_deref(), Some(raw));
            assert_eq!(r.k8s_namespace, None);
        }
        // Nulls and missing fields are fine; URL-safe and unpadded encodings are accepted.
        let info = decode_app_mgr_info(&b64(
            r#"{"resourceManager":null,"kubernetesInfo":{"namespace":"n"}}"#,
        ))
        .unwrap();
        assert_eq!(
            info,
            AppMgrInfo {
                resource_manager: None,
                k8s_context: None,
                k8s_namespace: Some("n".into())
            }
        );
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"resourceManager":"yarn??"}"#);
        assert_eq!(
            decode_app_mgr_info(&url)
                .unwrap()
                .resource_manager
                .as_deref(),
            Some("yarn??")
        );
    }

    #[test]
    fn filter_keeps_engine_spaces_only() {
        let f = engine_space_filter("kyuubi");
        for (p, keep) in [
            ("/kyuubi_1.10.3_USER_SPARK_SQL", true),
            (
                "/kyuubi_1.10.3_USER_SPARK_SQL/alice/default/x;sequence=0000000001",
                true,
            ),
            ("/kyuubi_1.9.0_CONNECTION_FLINK_SQL/carol", true),
            ("/kyuubi", false),
            ("/kyuubi/serverUri=h:1;sequence=0000000001", false),
            ("/kyuubi_1.10.3_USER_SPARK_SQL_lock/alice/default", false),
            ("/kyuubi_1.10.3_USER_SPARK_SQL_seqNum/alice/pool", false),
            ("/kyuubiX_1.10.3_USER_SPARK_SQL/a", false),
            ("/other_1.10.3_USER_SPARK_SQL/a", false),
            ("/kyuubi_x_USER_SPARK_SQL/a", false),
            ("", false),
            ("/zookeeper", false),
        ] {
            assert_eq!(f(p.as_bytes()), keep, "{p}");
        }
        assert!(!f(b"/kyuubi_1.10.3_USER_\xff_SQL"));
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,80}") {
            let _ = parse_registration(&s, None);
            let _ = parse_registration(&s, Some("kyuubi"));
            let _ = is_engine_space_path("kyuubi", s.as_bytes());
        }
    }
}
