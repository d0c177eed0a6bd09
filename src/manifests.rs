//! `manifests`: the Kubernetes objects that deploy the tool, printed as multi-document YAML for
//! `kubectl apply -f -` (the pattern of `flux install --export`).
//!
//! Three kinds, each built from k8s-openapi types:
//!
//! - `cronjob`: a `ServiceAccount`, the pod RBAC and a `CronJob` running `reap --yes` on a
//!   schedule (`concurrencyPolicy: Forbid`; `backoffLimit: 0`, as the next schedule is the
//!   retry; `activeDeadlineSeconds` is the run's `--deadline` plus two minutes, so the tool stops
//!   starting requests before Kubernetes kills it).
//! - `deployment`: a `ServiceAccount`, the pod RBAC, the Lease RBAC, a Deployment running `watch`
//!   (two replicas with leader election; `POD_NAME` from the downward API is the lease identity;
//!   probes on /healthz and /readyz; `RollingUpdate` with no surge, since the Lease decides who
//!   deletes) and a Service for /metrics. Without leader election: one replica and `Recreate`,
//!   so two reapers never run side by side.
//! - `sidecar`: `watch` in Kyuubi's own pod, reading the store on Kyuubi's volume. A container is
//!   not an object, so `--print` chooses: `rbac` (the default: Roles bound to Kyuubi's own
//!   `ServiceAccount`, for `kubectl apply -f -`), `patch` (a strategic merge patch for Kyuubi's
//!   `StatefulSet` or Deployment, for `kubectl patch --patch-file`, kept out of the apply-able
//!   stream) or `container` (the container alone, for a chart's values). No leader election (one
//!   sidecar per Kyuubi pod, each next to its own store) and no readiness probe: a sidecar that
//!   is not ready would take Kyuubi's pod out of its Service.
//!
//! RBAC: one rule set for pods, `get, list, watch, delete`, for every kind, although `reap` uses
//! no `watch`: the same Role serves a `CronJob` and a Deployment, so switching between them needs
//! no RBAC change, and `watch` shows nothing `list` does not. A `Role` and `RoleBinding` in each
//! reaped namespace, or a `ClusterRole` and `ClusterRoleBinding` with `-A`. With leader
//! election, a `Role` in `--namespace` for `coordination.k8s.io` leases: `get, update` on the one
//! Lease by name, and `create`, which RBAC cannot restrict by name. RBAC cannot filter by label
//! either, so `--admission-guard` adds a `ValidatingAdmissionPolicy` (with its binding, `Deny`,
//! `failurePolicy: Fail`) that denies the tool's `ServiceAccount` the DELETE of any pod without
//! the labels of the tool's own candidate selector ([`GUARD_EXPRESSION`]). It is refused for the
//! sidecar, whose `ServiceAccount` is Kyuubi's: it would deny Kyuubi's own deletes, and those of
//! Spark drivers that share the account.
//!
//! Every container runs as a numeric non-root user (65532), with a read-only root filesystem, no
//! privilege escalation, all capabilities dropped, the `RuntimeDefault` seccomp profile, resource
//! requests and limits; `/tmp` is an `emptyDir` (the tool copies a store in WAL mode there).
//! State volumes are mounted read-only, and no `fsGroup` is set: Kubernetes would change the
//! ownership of Kyuubi's files. Live sources (`--store-url`, `--zk`) need no volume; a password
//! in a store URL is refused, since a manifest is plain text in the cluster: the password comes
//! from a Secret key (`--store-password-secret`) as `$KYUUBI_REAPER_STORE_PASSWORD`.
//!
//! Owns: checking `manifests`' flags (names, container paths and the volumes they lie on, the
//! live sources, quantities, the cron schedule, which flags go with which kind), building the objects, and
//! checking the command line put in the container the way the tool will: parsed by its own clap
//! definition and resolved by `config`, so a manifest whose tool would refuse its flags is never
//! printed. Must not: talk to a cluster, read the clock or the environment, or print anything
//! but the manifests: the same flags give the same bytes.

use std::collections::BTreeMap;
use std::io::Write;

use clap::{Parser, ValueEnum};
use k8s_openapi::api::admissionregistration::v1::{
    MatchCondition, MatchResources, NamedRuleWithOperations, ValidatingAdmissionPolicy,
    ValidatingAdmissionPolicyBinding, ValidatingAdmissionPolicyBindingSpec,
    ValidatingAdmissionPolicySpec, Validation,
};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, PersistentVolumeClaimVolumeSource, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::cli::{Cli, Command, ManifestKindArg, ManifestsArgs, SidecarPrintArg};
use crate::config::{ReapConfig, WatchConfig};
use crate::error::{Error, ExitCode};
use crate::state::sql::StoreUrl;
use crate::state::zk::live::Ensemble;

/// The program's name, in labels and in the container's command line as the tool parses it.
const TOOL: &str = "kyuubi-reaper";
/// The version, in the header and in the `app.kubernetes.io/version` label.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `--schedule`'s default.
const DEFAULT_SCHEDULE: &str = "*/10 * * * *";
/// `--deadline`'s default: well inside the default schedule's ten minutes.
const DEFAULT_DEADLINE: &str = "5m";
/// The Job's `activeDeadlineSeconds` beyond the run's `--deadline`: reading the state before the
/// first request, and the 10 s the tool gives deletes in flight after a signal.
const DEADLINE_MARGIN_SECONDS: i64 = 120;
/// A schedule missed by more than this (a controller down) is skipped, not run late.
const STARTING_DEADLINE_SECONDS: i64 = 300;
/// Finished Jobs kept, successful and failed alike.
const JOBS_HISTORY: i32 = 3;
/// `--port`'s default: the tool's own `--listen` port.
const DEFAULT_PORT: u16 = 9464;
/// `--workload`'s default: Kyuubi's Helm chart deploys a `StatefulSet`.
const DEFAULT_WORKLOAD: &str = "statefulset/kyuubi";
/// The writable scratch directory of every container (an `emptyDir`).
const TMP_DIR: &str = "/tmp";
/// Where Kubernetes mounts the `ServiceAccount` token: no state volume may cover it.
const TOKEN_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The smallest memory limit accepted.
const MIN_MEMORY_BYTES: f64 = 32.0 * 1024.0 * 1024.0;
/// The verbs on pods, for every kind (module docs: why `watch` is there for `reap` too).
pub(crate) const POD_VERBS: [&str; 4] = ["get", "list", "watch", "delete"];
/// The admission guard's validation: the DELETE's old object carries every label of the tool's
/// candidate selector `kyuubi-unique-tag,spark-app-selector,spark-role=driver`. It relies on
/// `has()` for an absent `labels` map and `in` on a map's keys, both in Kubernetes' CEL.
pub(crate) const GUARD_EXPRESSION: &str = "has(oldObject.metadata.labels) && \
     'kyuubi-unique-tag' in oldObject.metadata.labels && \
     'spark-app-selector' in oldObject.metadata.labels && \
     'spark-role' in oldObject.metadata.labels && \
     oldObject.metadata.labels['spark-role'] == 'driver'";

/// Prints the manifests `args` ask for.
pub(crate) fn run(args: &ManifestsArgs, out: &mut dyn Write) -> Result<ExitCode, Error> {
    let spec = Spec::from_args(args)?;
    let text = spec.render()?;
    out.write_all(text.as_bytes()).map_err(Error::WriteReport)?;
    out.flush().map_err(Error::WriteReport)?;
    Ok(ExitCode::Success)
}

/// `manifests`' flags, checked and resolved.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    /// The namespace of the tool's objects (the sidecar's: Kyuubi's).
    namespace: String,
    /// The name of every object and of the container.
    name: String,
    /// The container image.
    image: String,
    /// What runs the tool, with what is particular to it.
    workload: Workload,
    /// The state volumes, mounted read-only.
    mounts: Vec<Mount>,
    /// Whose pods are reaped.
    scope: Scope,
    /// The tool's command line in the container, without the program name.
    args: Vec<String>,
    /// `--admission-guard`.
    guard: bool,
    /// Requests and limits of the container.
    resources: ResourceRequirements,
    /// `--run-as-user`.
    user: i64,
    /// `--run-as-group`.
    group: i64,
    /// `--store-password-secret`: the Secret and key given to the tool as
    /// `$KYUUBI_REAPER_STORE_PASSWORD`.
    store_password: Option<(String, String)>,
}

/// What runs the tool.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Workload {
    /// A `CronJob` running `reap`.
    CronJob {
        /// The cron schedule.
        schedule: String,
        /// The run's `--deadline`, as typed.
        deadline: String,
        /// The Job's `activeDeadlineSeconds`.
        active_deadline: i64,
    },
    /// A Deployment running `watch`.
    Deployment {
        /// The replicas.
        replicas: i32,
        /// The Lease's name, with leader election.
        lease: Option<String>,
        /// The HTTP port.
        port: u16,
    },
    /// `watch` as a container of Kyuubi's pod.
    Sidecar {
        /// Kyuubi's `ServiceAccount`.
        service_account: String,
        /// What to print.
        print: SidecarPrintArg,
        /// Kyuubi's workload, `KIND/NAME`, for the patch's instructions.
        target: String,
        /// The HTTP port.
        port: u16,
    },
}

impl Workload {
    /// The HTTP port of `watch`, if it is one.
    fn port(&self) -> Option<u16> {
        match self {
            Workload::CronJob { .. } => None,
            Workload::Deployment { port, .. } | Workload::Sidecar { port, .. } => Some(*port),
        }
    }
}

/// A read-only state volume.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// The volume's name in the pod (a claim gets `state-<i>`; a sidecar's is Kyuubi's own).
    volume: String,
    /// The `PersistentVolumeClaim`, for a volume of the tool's own pod.
    claim: Option<String>,
    /// The directory it is mounted at.
    dir: String,
}

/// Whose pods are reaped.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Every namespace (`-A`).
    All,
    /// These namespaces, sorted, without repeats.
    Only(Vec<String>),
}

/// The flags that only some kinds take: (flag, given, kinds that take it, why not here).
type KindFlag<'a> = (&'a str, bool, &'a [ManifestKindArg], Option<&'a str>);

impl Spec {
    /// Checks and resolves the flags; every refusal names the flag.
    fn from_args(args: &ManifestsArgs) -> Result<Self, Error> {
        dns_label("--namespace", &args.namespace, 63, false)?;
        dns_label("--name", &args.name, 52, true)?;
        if args.image.is_empty()
            || args
                .image
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(usage(format!(
                "--image {:?}: an image reference has no spaces and is not empty, e.g. \
                 registry.example/kyuubi-reaper:{VERSION}",
                args.image
            )));
        }
        check_kind_flags(args)?;
        let scope = if args.all_namespaces {
            Scope::All
        } else if args.reap_namespace.is_empty() {
            Scope::Only(vec![args.namespace.clone()])
        } else {
            for ns in &args.reap_namespace {
                dns_label("--reap-namespace", ns, 63, false)?;
            }
            let mut namespaces = args.reap_namespace.clone();
            namespaces.sort();
            namespaces.dedup();
            Scope::Only(namespaces)
        };
        let State {
            files:
                Files {
                    stores,
                    zk_snapshots,
                    mounts,
                },
            live,
        } = state(args)?;
        let workload = workload(args)?;
        let resources = resources(args)?;
        let mut spec = Spec {
            namespace: args.namespace.clone(),
            name: args.name.clone(),
            image: args.image.clone(),
            workload,
            mounts,
            scope,
            args: Vec::new(),
            guard: args.admission_guard,
            resources,
            user: i64::from(args.run_as_user),
            group: i64::from(args.run_as_group),
            store_password: None,
        };
        let base = spec.tool_args(args, &stores, &zk_snapshots, &live);
        spec.store_password = live.password;
        let mut full = base.clone();
        full.extend(args.extra_arg.iter().cloned());
        check_command_line(&base, &full, !args.extra_arg.is_empty())?;
        spec.args = full;
        Ok(spec)
    }

    /// The tool's command line, before `--extra-arg`.
    fn tool_args(
        &self,
        args: &ManifestsArgs,
        stores: &[String],
        zk_snapshots: &[String],
        servers: &Live,
    ) -> Vec<String> {
        let mut line: Vec<String> = match &self.workload {
            Workload::CronJob { deadline, .. } => {
                vec![
                    "reap".into(),
                    "--yes".into(),
                    format!("--deadline={deadline}"),
                ]
            }
            Workload::Deployment { .. } | Workload::Sidecar { .. } => vec![
                "watch".into(),
                "--yes".into(),
                format!(
                    "--listen=0.0.0.0:{}",
                    self.workload.port().unwrap_or(DEFAULT_PORT)
                ),
                "--log-format=json".into(),
            ],
        };
        if let Workload::Deployment {
            lease: Some(lease), ..
        } = &self.workload
        {
            line.push("--leader-elect".into());
            line.push(format!("--lease-name={lease}"));
            line.push(format!("--lease-namespace={}", self.namespace));
        }
        line.extend(stores.iter().map(|p| format!("--store={p}")));
        line.extend(zk_snapshots.iter().map(|p| format!("--zk-snapshot={p}")));
        line.extend(
            servers
                .store_urls
                .iter()
                .map(|u| format!("--store-url={u}")),
        );
        line.extend(servers.ensembles.iter().map(|z| format!("--zk={z}")));
        match &self.scope {
            Scope::All => line.push("--all-namespaces".into()),
            Scope::Only(namespaces) => {
                line.extend(namespaces.iter().map(|ns| format!("--namespace={ns}")));
            }
        }
        if let Some(retain) = &args.retain {
            line.push(format!("--retain={retain}"));
        }
        let mut include: Vec<String> = Vec::new();
        for class in &args.include {
            if let Some(value) = class.to_possible_value() {
                let name = value.get_name().to_string();
                if !include.contains(&name) {
                    include.push(name);
                }
            }
        }
        if !include.is_empty() {
            line.push(format!("--include={}", include.join(",")));
        }
        line
    }
}

/// Refuses a flag given with a kind it does not apply to.
fn check_kind_flags(args: &ManifestsArgs) -> Result<(), Error> {
    use ManifestKindArg::{Cronjob, Deployment, Sidecar};
    let flags: [KindFlag; 12] = [
        (
            "--state-claim",
            !args.state_claim.is_empty(),
            &[Cronjob, Deployment],
            Some(
                "the sidecar mounts a volume Kyuubi's pod already has: name it with \
                 --state-volume",
            ),
        ),
        (
            "--state-volume",
            !args.state_volume.is_empty(),
            &[Sidecar],
            Some(
                "it names a volume of Kyuubi's own pod; a cronjob or deployment mounts a \
                 PersistentVolumeClaim: name it with --state-claim",
            ),
        ),
        (
            "--admission-guard",
            args.admission_guard,
            &[Cronjob, Deployment],
            Some(
                "the sidecar runs as Kyuubi's own ServiceAccount, and the guard would deny \
                 Kyuubi's own deletes (and those of Spark drivers sharing the account)",
            ),
        ),
        ("--schedule", args.schedule.is_some(), &[Cronjob], None),
        ("--deadline", args.deadline.is_some(), &[Cronjob], None),
        ("--replicas", args.replicas.is_some(), &[Deployment], None),
        (
            "--leader-elect",
            args.leader_elect,
            &[Deployment],
            Some(
                "a CronJob runs one Job at a time (concurrencyPolicy: Forbid), and one sidecar \
                 runs next to each Kyuubi pod's own store: neither elects a leader",
            ),
        ),
        (
            "--lease-name",
            args.lease_name.is_some(),
            &[Deployment],
            None,
        ),
        (
            "--port",
            args.port.is_some(),
            &[Deployment, Sidecar],
            Some("`reap` serves no HTTP"),
        ),
        (
            "--service-account",
            args.service_account.is_some(),
            &[Sidecar],
            Some(
                "it names Kyuubi's ServiceAccount, which the sidecar shares; a cronjob or \
                 deployment gets its own, named --name",
            ),
        ),
        ("--print", args.print.is_some(), &[Sidecar], None),
        ("--workload", args.workload.is_some(), &[Sidecar], None),
    ];
    for (flag, given, kinds, why) in flags {
        if given && !kinds.contains(&args.kind) {
            let takers: Vec<&str> = kinds.iter().map(|k| kind_name(*k)).collect();
            return Err(usage(format!(
                "{flag} does not go with `manifests {}`: it is for {} only{}",
                kind_name(args.kind),
                takers.join(" and "),
                why.map(|w| format!("; {w}")).unwrap_or_default()
            )));
        }
    }
    if args.workload.is_some() && args.print != Some(SidecarPrintArg::Patch) {
        return Err(usage(
            "--workload names Kyuubi's workload in the patch's instructions: it goes with \
             --print patch",
        ));
    }
    if args.kind == Deployment && args.no_leader_elect && args.lease_name.is_some() {
        return Err(usage(
            "--lease-name goes with leader election, which --no-leader-elect turns off",
        ));
    }
    Ok(())
}

/// The name of a kind as typed.
fn kind_name(kind: ManifestKindArg) -> &'static str {
    match kind {
        ManifestKindArg::Cronjob => "cronjob",
        ManifestKindArg::Deployment => "deployment",
        ManifestKindArg::Sidecar => "sidecar",
    }
}

/// The workload and what is particular to it.
fn workload(args: &ManifestsArgs) -> Result<Workload, Error> {
    Ok(match args.kind {
        ManifestKindArg::Cronjob => {
            let schedule = args.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE).trim();
            check_schedule(schedule).map_err(|e| usage(format!("--schedule {schedule:?}: {e}")))?;
            let deadline = args.deadline.as_deref().unwrap_or(DEFAULT_DEADLINE);
            let parsed =
                crate::duration::parse(deadline).map_err(|e| usage(format!("--deadline: {e}")))?;
            if !parsed.is_positive() || parsed.as_secs() > 7 * 24 * 3600 {
                return Err(usage(format!(
                    "--deadline {deadline:?}: must be longer than zero and at most 7d"
                )));
            }
            let seconds = parsed.as_secs() + i64::from(parsed.subsec_nanos() > 0);
            Workload::CronJob {
                schedule: schedule.to_string(),
                deadline: deadline.to_string(),
                active_deadline: seconds + DEADLINE_MARGIN_SECONDS,
            }
        }
        ManifestKindArg::Deployment => {
            let elect = !args.no_leader_elect;
            let replicas = args.replicas.unwrap_or(if elect { 2 } else { 1 });
            if !elect && replicas > 1 {
                return Err(usage(format!(
                    "--replicas {replicas} with --no-leader-elect would run {replicas} reapers \
                     deleting side by side, each with its own --max-deletions budget: keep \
                     leader election, or --replicas 1"
                )));
            }
            let lease = if elect {
                let lease = args.lease_name.clone().unwrap_or_else(|| args.name.clone());
                dns_subdomain("--lease-name", &lease)?;
                Some(lease)
            } else {
                None
            };
            Workload::Deployment {
                replicas: i32::from(replicas),
                lease,
                port: args.port.unwrap_or(DEFAULT_PORT),
            }
        }
        ManifestKindArg::Sidecar => {
            let Some(service_account) = args.service_account.clone() else {
                return Err(usage(
                    "`manifests sidecar` needs --service-account: the ServiceAccount Kyuubi's \
                     pod runs as (kubectl get statefulset kyuubi -o \
                     jsonpath='{.spec.template.spec.serviceAccountName}'), which the sidecar \
                     shares",
                ));
            };
            dns_subdomain("--service-account", &service_account)?;
            let target = args
                .workload
                .clone()
                .unwrap_or_else(|| DEFAULT_WORKLOAD.to_string());
            check_workload(&target)?;
            Workload::Sidecar {
                service_account,
                print: args.print.unwrap_or(SidecarPrintArg::Rbac),
                target,
                port: args.port.unwrap_or(DEFAULT_PORT),
            }
        }
    })
}

/// Checks `--workload KIND/NAME`.
fn check_workload(target: &str) -> Result<(), Error> {
    let kinds = [
        "statefulset",
        "statefulsets",
        "sts",
        "deployment",
        "deployments",
        "deploy",
    ];
    match target.split_once('/') {
        Some((kind, name)) if kinds.contains(&kind) => dns_subdomain("--workload", name),
        _ => Err(usage(format!(
            "--workload {target:?}: write KIND/NAME with KIND statefulset or deployment, e.g. \
             {DEFAULT_WORKLOAD}"
        ))),
    }
}

/// The state sources.
#[derive(Debug)]
struct State {
    /// The files, and the volumes they lie on.
    files: Files,
    /// The servers read over the network.
    live: Live,
}

/// The state paths and the volumes they lie on.
#[derive(Debug, Default)]
struct Files {
    /// `--store`, each once.
    stores: Vec<String>,
    /// `--zk-snapshot`, each once.
    zk_snapshots: Vec<String>,
    /// The volumes.
    mounts: Vec<Mount>,
}

/// The live sources, each once, and the Secret key holding the store password.
#[derive(Debug, Default)]
struct Live {
    /// `--store-url`, without a password.
    store_urls: Vec<String>,
    /// `--zk`.
    ensembles: Vec<String>,
    /// `--store-password-secret`: the Secret's name and key.
    password: Option<(String, String)>,
}

impl Live {
    fn is_empty(&self) -> bool {
        self.store_urls.is_empty() && self.ensembles.is_empty()
    }
}

/// `--store-url`, `--zk` and `--store-password-secret`, checked as the tool will read them; a
/// password in a URL is refused, since a manifest is kept in the cluster as plain text.
fn live(args: &ManifestsArgs) -> Result<Live, Error> {
    let mut live = Live::default();
    for url in &args.store_url {
        // The messages quote the URL, never with its password.
        let parsed = StoreUrl::parse(url).map_err(|e| usage(format!("--store-url: {e}")))?;
        if parsed.has_password() {
            return Err(usage(format!(
                "--store-url {}: has a password, which a manifest would keep in the cluster \
                 as plain text; put it in a Secret and give --store-password-secret SECRET:KEY",
                parsed.redacted()
            )));
        }
        if !live.store_urls.contains(url) {
            live.store_urls.push(url.clone());
        }
    }
    for connect in &args.zk {
        Ensemble::parse(connect).map_err(|e| usage(format!("--zk {connect}: {e}")))?;
        if !live.ensembles.contains(connect) {
            live.ensembles.push(connect.clone());
        }
    }
    if let Some(secret) = &args.store_password_secret {
        let Some((name, key)) = secret.split_once(':') else {
            return Err(usage(format!(
                "--store-password-secret {secret:?}: write SECRET:KEY, the Secret's name and \
                 the key of the password in it"
            )));
        };
        dns_subdomain("--store-password-secret", name)?;
        if key.is_empty()
            || key.len() > 253
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(usage(format!(
                "--store-password-secret {secret:?}: the key {key:?} is not a Secret key \
                 (letters, digits, `-`, `_` and `.`, at most 253)"
            )));
        }
        live.password = Some((name.to_string(), key.to_string()));
    }
    Ok(live)
}

/// The state sources: the paths (`--store`, `--zk-snapshot`) and the volumes they lie on, and
/// the live sources, checked.
fn state(args: &ManifestsArgs) -> Result<State, Error> {
    let live = live(args)?;
    if !args.store.is_empty() || !args.zk_snapshot.is_empty() {
        return Ok(State {
            files: files(args)?,
            live,
        });
    }
    if live.is_empty() {
        return Err(usage(
            "no state to judge from: give --store (Kyuubi's metadata store) and/or \
             --zk-snapshot (ZooKeeper's data directory), as paths inside the container, or \
             the servers --store-url and --zk",
        ));
    }
    let (flag, sources) = if args.kind == ManifestKindArg::Sidecar {
        ("--state-volume", &args.state_volume)
    } else {
        ("--state-claim", &args.state_claim)
    };
    if let Some(source) = sources.first() {
        return Err(usage(format!(
            "{flag} {source}: holds none of the --store or --zk-snapshot paths (there are none)"
        )));
    }
    Ok(State {
        files: Files::default(),
        live,
    })
}

/// The state paths (`--store`, `--zk-snapshot`, at least one given) and the volumes they lie
/// on, checked.
fn files(args: &ManifestsArgs) -> Result<Files, Error> {
    let stores = container_paths("--store", &args.store)?;
    let zk_snapshots = container_paths("--zk-snapshot", &args.zk_snapshot)?;
    let sidecar = args.kind == ManifestKindArg::Sidecar;
    let (flag, sources) = if sidecar {
        ("--state-volume", &args.state_volume)
    } else {
        ("--state-claim", &args.state_claim)
    };
    if sources.is_empty() {
        return Err(usage(if sidecar {
            "`manifests sidecar` needs --state-volume VOLUME[:DIR]: the volume of Kyuubi's pod \
             that holds its store, mounted read-only in the sidecar"
        } else {
            "the state paths are read inside the container: name the PersistentVolumeClaim \
             that holds them with --state-claim CLAIM[:DIR] (mounted read-only)"
        }));
    }
    let mut mounts: Vec<Mount> = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        let (volume, dir, dir_flag) = match source.split_once(':') {
            Some((volume, dir)) => (volume, dir, flag),
            None => (source.as_str(), args.state_mount.as_str(), "--state-mount"),
        };
        let dir = container_path(dir_flag, dir)?;
        check_mount_dir(dir_flag, &dir)?;
        let mount = if sidecar {
            dns_label(flag, volume, 63, false)?;
            Mount {
                volume: volume.to_string(),
                claim: None,
                dir,
            }
        } else {
            dns_subdomain(flag, volume)?;
            Mount {
                volume: format!("state-{i}"),
                claim: Some(volume.to_string()),
                dir,
            }
        };
        if let Some(other) = mounts.iter().find(|m| {
            within(&m.dir, &mount.dir)
                || within(&mount.dir, &m.dir)
                || (m.claim.as_deref().unwrap_or(&m.volume)
                    == mount.claim.as_deref().unwrap_or(&mount.volume))
        }) {
            return Err(usage(format!(
                "{flag} {source:?} overlaps {:?} at {}: give each volume once, each at its own \
                 directory, none inside another",
                other.claim.as_deref().unwrap_or(&other.volume),
                other.dir
            )));
        }
        mounts.push(mount);
    }
    for (path_flag, paths) in [("--store", &stores), ("--zk-snapshot", &zk_snapshots)] {
        for path in paths {
            let Some(mount) = mounts.iter().find(|m| within(path, &m.dir)) else {
                let dirs: Vec<&str> = mounts.iter().map(|m| m.dir.as_str()).collect();
                return Err(usage(format!(
                    "{path_flag} {path}: lies on none of the mounted volumes ({}); the file must \
                     be on a {flag} (or give the volume's directory as {flag} NAME:DIR)",
                    dirs.join(", ")
                )));
            };
            if path_flag == "--store" && *path == mount.dir {
                return Err(usage(format!(
                    "--store {path}: is the volume's directory itself; name the store file in \
                     it, e.g. {path}/kyuubi_state_store.db"
                )));
            }
        }
    }
    if let Some(unused) = mounts.iter().find(|m| {
        !stores
            .iter()
            .chain(&zk_snapshots)
            .any(|p| within(p, &m.dir))
    }) {
        return Err(usage(format!(
            "{flag} {} at {}: holds none of the --store or --zk-snapshot paths",
            unused.claim.as_deref().unwrap_or(&unused.volume),
            unused.dir
        )));
    }
    Ok(Files {
        stores,
        zk_snapshots,
        mounts,
    })
}

/// Checked container paths, each once, in the order given.
fn container_paths(flag: &str, paths: &[String]) -> Result<Vec<String>, Error> {
    let mut checked: Vec<String> = Vec::new();
    for path in paths {
        let path = container_path(flag, path)?;
        if !checked.contains(&path) {
            checked.push(path);
        }
    }
    Ok(checked)
}

/// Checks an absolute path inside the container and drops a trailing `/`.
fn container_path(flag: &str, path: &str) -> Result<String, Error> {
    let bad = |why: &str| usage(format!("{flag} {path:?}: {why}"));
    if !path.starts_with('/') {
        return Err(bad("must be an absolute path inside the container"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    let trimmed = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    if trimmed.len() > 1
        && trimmed[1..]
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("must be a plain path, without `//`, `.` or `..`"));
    }
    Ok(trimmed.to_string())
}

/// Refuses a mount directory that would hide `/tmp` or the `ServiceAccount` token.
fn check_mount_dir(flag: &str, dir: &str) -> Result<(), Error> {
    if within(TMP_DIR, dir) || within(dir, TMP_DIR) || within(TOKEN_DIR, dir) {
        return Err(usage(format!(
            "{flag} {dir}: a state volume cannot be mounted there: it would cover {TMP_DIR} (the \
             container's scratch directory) or the ServiceAccount token; use a directory such \
             as /var/lib/kyuubi"
        )));
    }
    Ok(())
}

/// Whether `path` is `dir` or lies inside it.
fn within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The container's requests and limits, checked.
fn resources(args: &ManifestsArgs) -> Result<ResourceRequirements, Error> {
    let cpu_request = quantity("--cpu-request", &args.cpu_request, false)?;
    if let Some(limit) = &args.cpu_limit
        && quantity("--cpu-limit", limit, false)? < cpu_request
    {
        return Err(usage(format!(
            "--cpu-limit {limit} is below --cpu-request {}",
            args.cpu_request
        )));
    }
    let memory_request = quantity("--memory-request", &args.memory_request, true)?;
    let memory_limit = quantity("--memory-limit", &args.memory_limit, true)?;
    if memory_limit < MIN_MEMORY_BYTES {
        return Err(usage(format!(
            "--memory-limit {}: the tool needs at least 32Mi",
            args.memory_limit
        )));
    }
    if memory_limit < memory_request {
        return Err(usage(format!(
            "--memory-limit {} is below --memory-request {}",
            args.memory_limit, args.memory_request
        )));
    }
    let mut requests = BTreeMap::new();
    requests.insert("cpu".to_string(), Quantity(args.cpu_request.clone()));
    requests.insert("memory".to_string(), Quantity(args.memory_request.clone()));
    let mut limits = BTreeMap::new();
    if let Some(limit) = &args.cpu_limit {
        limits.insert("cpu".to_string(), Quantity(limit.clone()));
    }
    limits.insert("memory".to_string(), Quantity(args.memory_limit.clone()));
    Ok(ResourceRequirements {
        requests: Some(requests),
        limits: Some(limits),
        ..ResourceRequirements::default()
    })
}

/// A Kubernetes quantity (`50m`, `0.5`, `128Mi`, `1G`) in base units (cores, bytes); positive.
/// Memory in millibytes (`128m`) is refused: it is always a slip for `128Mi`.
fn quantity(flag: &str, text: &str, memory: bool) -> Result<f64, Error> {
    let bad = |why: String| usage(format!("{flag} {text:?}: {why}"));
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let valid_number = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    let factor = match suffix {
        "" => Some(1.0),
        "m" if !memory => Some(1e-3),
        "m" => {
            return Err(bad(format!(
                "`m` means thousandths (of a byte, here); write {number}Mi"
            )));
        }
        "k" => Some(1e3),
        "M" => Some(1e6),
        "G" => Some(1e9),
        "T" => Some(1e12),
        "Ki" => Some(1024.0),
        "Mi" => Some(1024.0 * 1024.0),
        "Gi" => Some(1024.0 * 1024.0 * 1024.0),
        "Ti" => Some(1024.0 * 1024.0 * 1024.0 * 1024.0),
        _ => None,
    };
    let value = match (valid_number, factor, number.parse::<f64>()) {
        (true, Some(factor), Ok(n)) => n * factor,
        _ => {
            return Err(bad(if memory {
                "write bytes, or a number with Ki, Mi, Gi, Ti (or k, M, G, T), e.g. 512Mi".into()
            } else {
                "write cores, or millicores with m, e.g. 0.5 or 50m".into()
            }));
        }
    };
    if value <= 0.0 {
        return Err(bad("must be more than zero".into()));
    }
    Ok(value)
}

/// Checks a `CronJob` schedule as Kubernetes reads it: five fields (minute, hour, day of month,
/// month, day of week; `*`, `?` for the days, numbers, names for months and weekdays, ranges,
/// lists and steps) or a macro.
fn check_schedule(schedule: &str) -> Result<(), String> {
    const MACROS: [&str; 7] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    if schedule.starts_with('@') {
        return if MACROS.contains(&schedule) {
            Ok(())
        } else {
            Err(format!("unknown macro; use one of {}", MACROS.join(", ")))
        };
    }
    if schedule.starts_with("TZ=") || schedule.starts_with("CRON_TZ=") {
        return Err("Kubernetes refuses a time zone in the schedule".into());
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a schedule has five fields (minute hour day-of-month month day-of-week), e.g. \
             {DEFAULT_SCHEDULE:?}; this has {}",
            fields.len()
        ));
    }
    let specs = [
        CronField::new("minute", 0, 59, &[], 0, false),
        CronField::new("hour", 0, 23, &[], 0, false),
        CronField::new("day of month", 1, 31, &[], 0, true),
        CronField::new("month", 1, 12, &MONTHS, 1, false),
        CronField::new("day of week", 0, 6, &DAYS, 0, true),
    ];
    for (field, spec) in fields.iter().zip(&specs) {
        spec.check(field)?;
    }
    Ok(())
}

/// One field of a cron schedule: what it counts and which values it takes.
struct CronField {
    /// Its name, in messages.
    what: &'static str,
    /// The smallest value.
    low: u32,
    /// The largest value.
    high: u32,
    /// Names for values, the first of them `first`.
    names: &'static [&'static str],
    /// The value of the first name.
    first: u32,
    /// Whether `?` (any) is allowed, as for the days.
    question: bool,
}

impl CronField {
    /// A field.
    const fn new(
        what: &'static str,
        low: u32,
        high: u32,
        names: &'static [&'static str],
        first: u32,
        question: bool,
    ) -> Self {
        Self {
            what,
            low,
            high,
            names,
            first,
            question,
        }
    }

    /// One value, a number or a name.
    fn value(&self, text: &str) -> Result<u32, String> {
        let named = self
            .names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(text))
            .and_then(|i| u32::try_from(i).ok())
            .map(|i| i + self.first);
        match named.or_else(|| text.parse().ok()) {
            Some(n) if (self.low..=self.high).contains(&n) => Ok(n),
            _ => Err(format!(
                "{} {text:?} is not in {}-{}",
                self.what, self.low, self.high
            )),
        }
    }

    /// A whole field: a list of `*`, values or ranges, each with an optional step.
    fn check(&self, field: &str) -> Result<(), String> {
        let what = self.what;
        for item in field.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step
                && !step.parse::<u32>().is_ok_and(|s| s >= 1)
            {
                return Err(format!("{what} step {step:?} is not a positive number"));
            }
            if range == "*" || (self.question && range == "?") {
                continue;
            }
            match range.split_once('-') {
                Some((a, b)) => {
                    if self.value(a)? > self.value(b)? {
                        return Err(format!("{what} range {range:?} runs backwards"));
                    }
                }
                None => {
                    self.value(range)?;
                }
            }
        }
        Ok(())
    }
}

/// Checks a DNS-1123 label (a DNS-1035 one, starting with a letter, when `letter_first`).
fn dns_label(flag: &str, value: &str, max: usize, letter_first: bool) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value.bytes().last().is_some_and(|b| b != b'-')
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || (!letter_first && b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(usage(format!(
            "{flag} {value:?}: must be at most {max} lowercase letters, digits and '-', \
             starting with a {} and ending with a letter or digit",
            if letter_first {
                "letter"
            } else {
                "letter or digit"
            }
        )))
    }
}

/// Checks a DNS-1123 subdomain (the names of most objects).
fn dns_subdomain(flag: &str, value: &str) -> Result<(), Error> {
    if value.len() <= 253
        && value
            .split('.')
            .all(|label| dns_label(flag, label, 63, false).is_ok())
    {
        Ok(())
    } else {
        Err(usage(format!(
            "{flag} {value:?}: must be a Kubernetes name: lowercase letters, digits, '-' and \
             '.', starting and ending with a letter or digit"
        )))
    }
}

/// A usage error.
fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}

/// Checks the container's command line as the tool will read it: `full` must parse with the
/// tool's own clap definition and resolve with `config`, and `--extra-arg` (what `full` adds to
/// `base`) must not change what the manifests set from their own flags.
fn check_command_line(base: &[String], full: &[String], extra: bool) -> Result<(), Error> {
    let refused = |why: String| {
        usage(if extra {
            format!(
                "--extra-arg: the tool would refuse the command line `{TOOL} {}`: {why}",
                full.join(" ")
            )
        } else {
            format!(
                "the generated command line is refused by the tool (a bug of `manifests`): {why}"
            )
        })
    };
    let parse = |line: &[String]| {
        Cli::try_parse_from(std::iter::once(TOOL).chain(line.iter().map(String::as_str))).map_err(
            |e| match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    "it would print help or its version and exit instead of running".to_string()
                }
                _ => {
                    let text = e.to_string();
                    let first = text.lines().next().unwrap_or_default();
                    first.strip_prefix("error: ").unwrap_or(first).to_string()
                }
            },
        )
    };
    let cli = parse(full).map_err(&refused)?;
    let before = parse(base).map_err(&refused)?;
    for ((what, old), (_, new)) in owned(&before).into_iter().zip(owned(&cli)) {
        if old != new {
            return Err(usage(format!(
                "--extra-arg cannot change {what}: the manifests set this from their own flags"
            )));
        }
    }
    let resolved = match &cli.command {
        Command::Reap(args) => ReapConfig::from_args(args).map(drop),
        Command::Watch(args) => WatchConfig::from_args(args).map(drop),
        _ => Err(usage("not a reap or watch command line")),
    };
    resolved.map_err(|e| refused(e.to_string()))
}

/// What the manifests set themselves on the tool's command line, each with the flags that set
/// it, as text to compare.
fn owned(cli: &Cli) -> Vec<(&'static str, String)> {
    let judge = match &cli.command {
        Command::Reap(args) => &args.judge,
        Command::Watch(args) => &args.judge,
        _ => return Vec::new(),
    };
    let mut owned = vec![
        (
            "the namespaces reaped (--reap-namespace, --all-namespaces)",
            format!("{:?} {}", judge.pods.namespace, judge.pods.all_namespaces),
        ),
        (
            "the state sources (--store, --zk-snapshot, --store-url, --zk)",
            format!(
                "{:?} {:?} {:?} {:?}",
                judge.state.store, judge.state.zk_snapshot, judge.state.store_url, judge.state.zk
            ),
        ),
    ];
    match &cli.command {
        Command::Reap(_) => owned.push((
            "the run's deadline (--deadline)",
            format!("{:?}", judge.requests.deadline),
        )),
        Command::Watch(args) => {
            let s = &args.service;
            owned.push(("the listen address (--port)", s.listen.to_string()));
            owned.push((
                "leader election (--leader-elect, --no-leader-elect, --lease-name)",
                format!(
                    "{} {} {:?}",
                    s.leader_elect, s.lease_name, s.lease_namespace
                ),
            ));
        }
        _ => {}
    }
    owned
}

// ---- the objects ----

/// The sidecar's strategic merge patch for Kyuubi's `StatefulSet` or Deployment.
#[derive(Debug, Serialize)]
struct Patch {
    /// The workload's spec.
    spec: PatchWorkloadSpec,
}

/// `spec` of the patch.
#[derive(Debug, Serialize)]
struct PatchWorkloadSpec {
    /// The pod template.
    template: PatchTemplate,
}

/// `spec.template` of the patch.
#[derive(Debug, Serialize)]
struct PatchTemplate {
    /// The pod spec.
    spec: PatchPodSpec,
}

/// `spec.template.spec` of the patch: containers and volumes merge by name.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PatchPodSpec {
    /// Kyuubi needs the API as much as the sidecar does; stated so a pod without it fails
    /// loudly here rather than with 401s.
    automount_service_account_token: bool,
    /// The sidecar.
    containers: Vec<Container>,
    /// The sidecar's `/tmp`.
    volumes: Vec<Volume>,
}

impl Spec {
    /// The whole output.
    fn render(&self) -> Result<String, Error> {
        match &self.workload {
            Workload::CronJob { .. } => self.apply_stream(
                "cronjob",
                "a CronJob running `reap --yes`, its ServiceAccount and RBAC.",
            ),
            Workload::Deployment { .. } => self.apply_stream(
                "deployment",
                "a Deployment running `watch`, its ServiceAccount, RBAC and Service.",
            ),
            Workload::Sidecar {
                print: SidecarPrintArg::Rbac,
                ..
            } => self.apply_stream(
                "sidecar",
                "the RBAC of the `watch` sidecar, bound to Kyuubi's ServiceAccount.",
            ),
            Workload::Sidecar {
                print: SidecarPrintArg::Patch,
                ..
            } => self.patch(),
            Workload::Sidecar {
                print: SidecarPrintArg::Container,
                ..
            } => self.container_alone(),
        }
    }

    /// The documents for `kubectl apply -f -`, with a header comment in the first.
    fn apply_stream(&self, kind: &str, what: &str) -> Result<String, Error> {
        let mut docs = Vec::new();
        let sidecar = matches!(self.workload, Workload::Sidecar { .. });
        if !sidecar {
            docs.push(yaml(&ServiceAccount {
                metadata: self.meta(&self.name, true),
                automount_service_account_token: Some(true),
                ..ServiceAccount::default()
            })?);
        }
        docs.extend(self.pod_rbac()?);
        if let Workload::Deployment {
            lease: Some(lease), ..
        } = &self.workload
        {
            docs.extend(self.lease_rbac(lease)?);
        }
        match &self.workload {
            Workload::CronJob { .. } => docs.push(yaml(&self.cronjob())?),
            Workload::Deployment { .. } => {
                docs.push(yaml(&self.deployment())?);
                docs.push(yaml(&self.service())?);
            }
            Workload::Sidecar { .. } => {}
        }
        if self.guard {
            docs.extend(self.guard()?);
        }
        let mut header = vec![
            format!(
                "Generated by {TOOL} {VERSION}: `manifests {kind}`, namespace {}:",
                self.namespace
            ),
            what.to_string(),
            "Apply with: kubectl apply -f -".to_string(),
        ];
        if let Workload::Sidecar { .. } = &self.workload {
            header.push("Then add the container to Kyuubi's pod: see --print patch.".into());
        }
        let mut out = String::new();
        for (i, doc) in docs.iter().enumerate() {
            out.push_str("---\n");
            if i == 0 {
                out.push_str(&comment(&header));
            }
            out.push_str(doc);
        }
        Ok(out)
    }

    /// The sidecar's patch, alone: one document, no `---`, for `kubectl patch --patch-file`.
    fn patch(&self) -> Result<String, Error> {
        let Workload::Sidecar { target, .. } = &self.workload else {
            return Err(usage("--print patch is for `manifests sidecar`"));
        };
        let patch = Patch {
            spec: PatchWorkloadSpec {
                template: PatchTemplate {
                    spec: PatchPodSpec {
                        automount_service_account_token: true,
                        containers: vec![self.container()],
                        volumes: vec![self.tmp_volume()],
                    },
                },
            },
        };
        let volumes: Vec<&str> = self.mounts.iter().map(|m| m.volume.as_str()).collect();
        let header = [
            format!("Generated by {TOOL} {VERSION}: `manifests sidecar --print patch`."),
            "A strategic merge patch for Kyuubi's pod template: it adds the container".into(),
            format!(
                "{} (with Kyuubi's volume {} mounted read-only) and its /tmp",
                self.name,
                volumes.join(", ")
            ),
            format!(
                "volume {}; Kyuubi's own containers are not changed, its pods restart.",
                self.tmp_volume_name()
            ),
            "Apply the RBAC first (the same command without --print), then:".into(),
            format!(
                "  kubectl -n {} patch {target} --patch-file reaper-patch.yaml",
                self.namespace
            ),
        ];
        Ok(format!("{}{}", comment(&header), yaml(&patch)?))
    }

    /// The sidecar's container alone.
    fn container_alone(&self) -> Result<String, Error> {
        let header = [
            format!("Generated by {TOOL} {VERSION}: `manifests sidecar --print container`."),
            "The container for Kyuubi's pod template (a chart's extra containers). The pod".into(),
            format!(
                "also needs the volume `{{name: {}, emptyDir: {{}}}}` for /tmp, and the RBAC",
                self.tmp_volume_name()
            ),
            "(the same command without --print) for Kyuubi's ServiceAccount.".into(),
        ];
        Ok(format!("{}{}", comment(&header), yaml(&self.container())?))
    }

    /// The labels of every object.
    fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels();
        labels.insert(
            "app.kubernetes.io/managed-by".into(),
            "kyuubi-reaper-manifests".into(),
        );
        labels.insert("app.kubernetes.io/version".into(), label_value(VERSION));
        labels
    }

    /// The labels that select the tool's pods.
    fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), TOOL.to_string()),
            ("app.kubernetes.io/instance".to_string(), self.name.clone()),
        ])
    }

    /// The metadata of an object named `name`, in `--namespace` when `namespaced`.
    fn meta(&self, name: &str, namespaced: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: namespaced.then(|| self.namespace.clone()),
            labels: Some(self.labels()),
            ..ObjectMeta::default()
        }
    }

    /// The name of a cluster-scoped object: the same name in two namespaces must not collide.
    fn cluster_name(&self) -> String {
        format!("{}-{}", self.name, self.namespace)
    }

    /// The `ServiceAccount` the tool runs as.
    fn service_account(&self) -> &str {
        match &self.workload {
            Workload::Sidecar {
                service_account, ..
            } => service_account,
            _ => &self.name,
        }
    }

    /// The `ServiceAccount` as an RBAC subject.
    fn subject(&self) -> Subject {
        Subject {
            kind: "ServiceAccount".into(),
            name: self.service_account().to_string(),
            namespace: Some(self.namespace.clone()),
            ..Subject::default()
        }
    }

    /// The pod RBAC: a Role and `RoleBinding` per reaped namespace, or a `ClusterRole` and
    /// `ClusterRoleBinding` for every namespace.
    fn pod_rbac(&self) -> Result<Vec<String>, Error> {
        let rules = vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["pods".into()]),
            verbs: POD_VERBS.iter().map(ToString::to_string).collect(),
            ..PolicyRule::default()
        }];
        let mut docs = Vec::new();
        match &self.scope {
            Scope::All => {
                let name = self.cluster_name();
                docs.push(yaml(&ClusterRole {
                    metadata: self.meta(&name, false),
                    rules: Some(rules),
                    ..ClusterRole::default()
                })?);
                docs.push(yaml(&ClusterRoleBinding {
                    metadata: self.meta(&name, false),
                    role_ref: role_ref("ClusterRole", &name),
                    subjects: Some(vec![self.subject()]),
                })?);
            }
            Scope::Only(namespaces) => {
                for ns in namespaces {
                    let metadata = ObjectMeta {
                        namespace: Some(ns.clone()),
                        ..self.meta(&self.name, false)
                    };
                    docs.push(yaml(&Role {
                        metadata: metadata.clone(),
                        rules: Some(rules.clone()),
                    })?);
                    docs.push(yaml(&RoleBinding {
                        metadata,
                        role_ref: role_ref("Role", &self.name),
                        subjects: Some(vec![self.subject()]),
                    })?);
                }
            }
        }
        Ok(docs)
    }

    /// The Lease RBAC in `--namespace`: get and update the one Lease, create (by no name: RBAC
    /// cannot restrict `create` by name).
    fn lease_rbac(&self, lease: &str) -> Result<Vec<String>, Error> {
        let rule = |verbs: &[&str], names: Option<Vec<String>>| PolicyRule {
            api_groups: Some(vec!["coordination.k8s.io".into()]),
            resources: Some(vec!["leases".into()]),
            resource_names: names,
            verbs: verbs.iter().map(ToString::to_string).collect(),
            ..PolicyRule::default()
        };
        let name = format!("{}-leader-election", self.name);
        Ok(vec![
            yaml(&Role {
                metadata: self.meta(&name, true),
                rules: Some(vec![
                    rule(&["get", "update"], Some(vec![lease.to_string()])),
                    rule(&["create"], None),
                ]),
            })?,
            yaml(&RoleBinding {
                metadata: self.meta(&name, true),
                role_ref: role_ref("Role", &name),
                subjects: Some(vec![self.subject()]),
            })?,
        ])
    }

    /// The admission guard: a policy and its binding (cluster-scoped).
    fn guard(&self) -> Result<Vec<String>, Error> {
        let name = self.cluster_name();
        let user = format!(
            "system:serviceaccount:{}:{}",
            self.namespace,
            self.service_account()
        );
        let policy = ValidatingAdmissionPolicy {
            metadata: self.meta(&name, false),
            spec: Some(ValidatingAdmissionPolicySpec {
                failure_policy: Some("Fail".into()),
                match_constraints: Some(MatchResources {
                    resource_rules: Some(vec![NamedRuleWithOperations {
                        api_groups: Some(vec![String::new()]),
                        api_versions: Some(vec!["v1".into()]),
                        operations: Some(vec!["DELETE".into()]),
                        resources: Some(vec!["pods".into()]),
                        ..NamedRuleWithOperations::default()
                    }]),
                    ..MatchResources::default()
                }),
                match_conditions: Some(vec![MatchCondition {
                    name: "kyuubi-reaper-service-account".into(),
                    expression: format!("request.userInfo.username == '{user}'"),
                }]),
                validations: Some(vec![Validation {
                    expression: GUARD_EXPRESSION.into(),
                    message: Some(format!(
                        "{user} may delete only Kyuubi driver pods (labels kyuubi-unique-tag, \
                         spark-app-selector, spark-role=driver)"
                    )),
                    reason: Some("Forbidden".into()),
                    ..Validation::default()
                }]),
                ..ValidatingAdmissionPolicySpec::default()
            }),
            ..ValidatingAdmissionPolicy::default()
        };
        let binding = ValidatingAdmissionPolicyBinding {
            metadata: self.meta(&name, false),
            spec: Some(ValidatingAdmissionPolicyBindingSpec {
                policy_name: Some(name.clone()),
                validation_actions: Some(vec!["Deny".into()]),
                ..ValidatingAdmissionPolicyBindingSpec::default()
            }),
        };
        Ok(vec![yaml(&policy)?, yaml(&binding)?])
    }

    /// The `CronJob`.
    fn cronjob(&self) -> CronJob {
        let Workload::CronJob {
            schedule,
            active_deadline,
            ..
        } = &self.workload
        else {
            return CronJob::default();
        };
        CronJob {
            metadata: self.meta(&self.name, true),
            spec: Some(CronJobSpec {
                schedule: schedule.clone(),
                concurrency_policy: Some("Forbid".into()),
                starting_deadline_seconds: Some(STARTING_DEADLINE_SECONDS),
                successful_jobs_history_limit: Some(JOBS_HISTORY),
                failed_jobs_history_limit: Some(JOBS_HISTORY),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(self.labels()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(JobSpec {
                        active_deadline_seconds: Some(*active_deadline),
                        backoff_limit: Some(0),
                        template: self.pod_template(),
                        ..JobSpec::default()
                    }),
                },
                ..CronJobSpec::default()
            }),
            ..CronJob::default()
        }
    }

    /// The Deployment.
    fn deployment(&self) -> Deployment {
        let Workload::Deployment {
            replicas, lease, ..
        } = &self.workload
        else {
            return Deployment::default();
        };
        let strategy = if lease.is_some() {
            // At most `replicas` pods at any time; the Lease decides which one deletes.
            DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(0)),
                    max_unavailable: Some(IntOrString::Int(1)),
                }),
            }
        } else {
            // The old pod is gone before the new one starts: never two unelected reapers.
            DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }
        };
        Deployment {
            metadata: self.meta(&self.name, true),
            spec: Some(DeploymentSpec {
                replicas: Some(*replicas),
                selector: LabelSelector {
                    match_labels: Some(self.selector_labels()),
                    ..LabelSelector::default()
                },
                strategy: Some(strategy),
                template: self.pod_template(),
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }
    }

    /// The Service in front of the Deployment's /metrics.
    fn service(&self) -> Service {
        Service {
            metadata: self.meta(&self.name, true),
            spec: Some(ServiceSpec {
                selector: Some(self.selector_labels()),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: i32::from(self.workload.port().unwrap_or(DEFAULT_PORT)),
                    protocol: Some("TCP".into()),
                    target_port: Some(IntOrString::String("http".into())),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    /// The pod template of the tool's own pods.
    fn pod_template(&self) -> PodTemplateSpec {
        let cronjob = matches!(self.workload, Workload::CronJob { .. });
        let mut volumes: Vec<Volume> = self
            .mounts
            .iter()
            .map(|m| Volume {
                name: m.volume.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: m.claim.clone().unwrap_or_default(),
                    read_only: Some(true),
                }),
                ..Volume::default()
            })
            .collect();
        volumes.push(self.tmp_volume());
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(self.labels()),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                service_account_name: Some(self.service_account().to_string()),
                automount_service_account_token: Some(true),
                restart_policy: cronjob.then(|| "Never".to_string()),
                termination_grace_period_seconds: Some(30),
                security_context: Some(PodSecurityContext {
                    run_as_non_root: Some(true),
                    run_as_user: Some(self.user),
                    run_as_group: Some(self.group),
                    seccomp_profile: Some(runtime_default()),
                    ..PodSecurityContext::default()
                }),
                containers: vec![self.container()],
                volumes: Some(volumes),
                ..PodSpec::default()
            }),
        }
    }

    /// The name of the `/tmp` `emptyDir`.
    fn tmp_volume_name(&self) -> String {
        format!("{}-tmp", self.name)
    }

    /// The `/tmp` `emptyDir`.
    fn tmp_volume(&self) -> Volume {
        Volume {
            name: self.tmp_volume_name(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }
    }

    /// The tool's container.
    fn container(&self) -> Container {
        let mut env = Vec::new();
        if let Workload::Deployment { .. } = self.workload {
            // The lease identity (the tool adds a random suffix).
            env.push(EnvVar {
                name: "POD_NAME".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.name".into(),
                        ..ObjectFieldSelector::default()
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            });
        }
        if let Some((secret, key)) = &self.store_password {
            env.push(EnvVar {
                name: "KYUUBI_REAPER_STORE_PASSWORD".into(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret.clone(),
                        key: key.clone(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            });
        }
        env.push(EnvVar {
            name: "TMPDIR".into(),
            value: Some(TMP_DIR.into()),
            ..EnvVar::default()
        });
        let mut mounts: Vec<VolumeMount> = self
            .mounts
            .iter()
            .map(|m| VolumeMount {
                name: m.volume.clone(),
                mount_path: m.dir.clone(),
                read_only: Some(true),
                ..VolumeMount::default()
            })
            .collect();
        mounts.push(VolumeMount {
            name: self.tmp_volume_name(),
            mount_path: TMP_DIR.into(),
            ..VolumeMount::default()
        });
        let port = self.workload.port();
        Container {
            name: self.name.clone(),
            image: Some(self.image.clone()),
            args: Some(self.args.clone()),
            env: Some(env),
            ports: port.map(|port| {
                vec![ContainerPort {
                    name: Some("http".into()),
                    container_port: i32::from(port),
                    protocol: Some("TCP".into()),
                    ..ContainerPort::default()
                }]
            }),
            liveness_probe: port.map(|_| probe("/healthz", 10)),
            // Not in a sidecar: an unready sidecar would take Kyuubi's pod out of its Service.
            readiness_probe: matches!(self.workload, Workload::Deployment { .. })
                .then(|| probe("/readyz", 5)),
            resources: Some(self.resources.clone()),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Capabilities::default()
                }),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                run_as_user: Some(self.user),
                run_as_group: Some(self.group),
                seccomp_profile: Some(runtime_default()),
                ..SecurityContext::default()
            }),
            volume_mounts: Some(mounts),
            ..Container::default()
        }
    }
}

/// An HTTP probe on the `http` port.
fn probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

/// The `RuntimeDefault` seccomp profile.
fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..SeccompProfile::default()
    }
}

/// A reference to an RBAC role.
fn role_ref(kind: &str, name: &str) -> RoleRef {
    RoleRef {
        api_group: "rbac.authorization.k8s.io".into(),
        kind: kind.into(),
        name: name.into(),
    }
}

/// A label value made of `text`: characters a label value cannot hold become `-`.
fn label_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect()
}

/// Lines as a YAML comment.
fn comment(lines: &[String]) -> String {
    lines.iter().fold(String::new(), |mut out, line| {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
        out
    })
}

/// One YAML document (without `---`).
fn yaml<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_yaml::to_string(value)
        .map_err(|e| Error::WriteReport(std::io::Error::other(format!("manifests YAML: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `manifests` parsed from these words (after `kyuubi-reaper manifests`).
    fn args(words: &[&str]) -> ManifestsArgs {
        let cli = Cli::try_parse_from(
            ["kyuubi-reaper", "manifests"]
                .into_iter()
                .chain(words.iter().copied()),
        )
        .unwrap();
        match cli.command {
            Command::Manifests(args) => *args,
            _ => unreachable!(),
        }
    }

    /// The spec, or the usage message.
    fn spec(words: &[&str]) -> Result<Spec, String> {
        Spec::from_args(&args(words)).map_err(|e| match e {
            Error::Usage(message) => message,
            other => panic!("not a usage error: {other}"),
        })
    }

    const CRONJOB: [&str; 8] = [
        "cronjob",
        "-n",
        "kyuubi",
        "--image",
        "r:1",
        "--state-claim",
        "data",
        "--store=/var/lib/kyuubi/s.db",
    ];

    fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        base.iter().chain(more).copied().collect()
    }

    #[test]
    fn schedules_follow_kubernetes_cron() {
        for good in [
            "*/10 * * * *",
            "0 3 * * 1-5",
            "5,35 */2 1-15/3 jan-jun ?",
            "0 0 1 DEC SUN",
            "@hourly",
            "  0 0 * * 0  ",
        ] {
            assert_eq!(check_schedule(good.trim()), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("* * * *", "five fields"),
            ("* * * * * *", "five fields"),
            ("60 * * * *", "minute \"60\""),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * 13 *", "month"),
            ("* * * * 7", "day of week"),
            ("*/0 * * * *", "step"),
            ("5-1 * * * *", "backwards"),
            ("? * * * *", "minute"),
            ("@every 5m", "macro"),
            ("TZ=UTC 0 * * * *", "time zone"),
            ("* * * foo *", "month \"foo\""),
        ] {
            let error = check_schedule(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn quantities_are_checked_and_millibytes_refused() {
        assert!((quantity("--cpu-request", "50m", false).unwrap() - 0.05).abs() < 1e-9);
        assert!((quantity("--cpu-request", "0.5", false).unwrap() - 0.5).abs() < 1e-9);
        assert!((quantity("--memory-limit", "512Mi", true).unwrap() - 536_870_912.0).abs() < 1.0);
        for (text, memory) in [
            ("128m", true),
            ("", false),
            ("0", false),
            ("1.5.1", false),
            (".5", false),
            ("12 Mi", true),
            ("-1", false),
            ("1Gb", true),
        ] {
            let Err(Error::Usage(message)) = quantity("--x", text, memory) else {
                panic!("{text:?} accepted");
            };
            assert!(message.starts_with("--x "), "{message}");
        }
    }

    #[test]
    fn container_paths_are_absolute_and_plain() {
        assert_eq!(container_path("--store", "/a/b/").unwrap(), "/a/b");
        for bad in ["a/b", "/a//b", "/a/../b", "/a/./b", "/a\nb"] {
            assert!(container_path("--store", bad).is_err(), "{bad}");
        }
        assert!(within("/a/b", "/a"));
        assert!(within("/a", "/a"));
        assert!(!within("/ab", "/a"));
    }

    #[test]
    fn names_are_kubernetes_names() {
        assert!(dns_label("--name", "kyuubi-reaper", 52, true).is_ok());
        for bad in ["", "Kyuubi", "-a", "a-", "a_b", "1abc", &"a".repeat(53)] {
            assert!(dns_label("--name", bad, 52, true).is_err(), "{bad:?}");
        }
        assert!(dns_label("--namespace", "1abc", 63, false).is_ok());
        assert!(dns_subdomain("--state-claim", "data.kyuubi-0").is_ok());
        assert!(dns_subdomain("--state-claim", "data..x").is_err());
    }

    #[test]
    fn a_cronjob_runs_reap_with_its_deadline_inside_the_jobs() {
        let spec = spec(&with(
            &CRONJOB,
            &["--retain", "20m", "--include", "stuck-pending"],
        ))
        .unwrap();
        assert_eq!(
            spec.args,
            [
                "reap",
                "--yes",
                "--deadline=5m",
                "--store=/var/lib/kyuubi/s.db",
                "--namespace=kyuubi",
                "--retain=20m",
                "--include=stuck-pending"
            ]
        );
        let Workload::CronJob {
            active_deadline, ..
        } = spec.workload
        else {
            panic!()
        };
        assert_eq!(active_deadline, 300 + DEADLINE_MARGIN_SECONDS);
    }

    #[test]
    fn flags_of_other_kinds_are_refused_by_name() {
        for (more, says) in [
            (
                &["--schedule", "@daily"][..],
                "--schedule does not go with `manifests deployment`",
            ),
            (&["--state-volume", "data"], "--state-volume"),
            (&["--service-account", "kyuubi"], "--service-account"),
            (&["--print", "patch"], "--print"),
        ] {
            let mut words = with(&CRONJOB, more);
            words[0] = "deployment";
            let error = spec(&words).unwrap_err();
            assert!(error.contains(says), "{more:?}: {error}");
        }
        let error = spec(&with(&CRONJOB, &["--leader-elect"])).unwrap_err();
        assert!(error.starts_with("--leader-elect does not go with `manifests cronjob`"));
    }

    #[test]
    fn extra_args_are_checked_as_the_tool_checks_them() {
        assert!(spec(&with(&CRONJOB, &["--extra-arg=--require-record"])).is_ok());
        for (extra, says) in [
            ("--extra-arg=--bogus", "unexpected argument '--bogus'"),
            ("--extra-arg=--help", "print help"),
            ("--extra-arg=--pods=/x.json", "cannot take --pods"),
            ("--extra-arg=-A", "cannot be used with '--all-namespaces'"),
            ("--extra-arg=-nother", "cannot change the namespaces reaped"),
            (
                "--extra-arg=--store=/x.db",
                "cannot change the state sources",
            ),
            (
                "--extra-arg=--deadline=1h",
                "cannot change the run's deadline",
            ),
            ("--extra-arg=--max-orphan-ratio=2", "--max-orphan-ratio"),
        ] {
            let error = spec(&with(&CRONJOB, &[extra])).unwrap_err();
            assert!(error.starts_with("--extra-arg"), "{extra}: {error}");
            assert!(error.contains(says), "{extra}: {error}");
        }
        let mut words = with(&CRONJOB, &["--extra-arg=--listen=0.0.0.0:1"]);
        words[0] = "deployment";
        assert!(spec(&words).unwrap_err().contains("listen address"));
    }

    #[test]
    fn every_include_class_is_one_the_tool_knows() {
        use crate::cli::IncludeArg;
        for class in IncludeArg::value_variants() {
            let name = class.to_possible_value().unwrap().get_name().to_string();
            let flag = format!("--include={name}");
            let spec =
                spec(&with(&CRONJOB, &[flag.as_str()])).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(spec.args.contains(&flag), "{:?}", spec.args);
        }
    }

    #[test]
    fn the_output_is_the_same_for_the_same_flags() {
        let words = with(
            &CRONJOB,
            &["--reap-namespace", "b", "--reap-namespace", "a"],
        );
        let first = spec(&words).unwrap().render().unwrap();
        assert_eq!(first, spec(&words).unwrap().render().unwrap());
        let swapped = with(
            &CRONJOB,
            &["--reap-namespace", "a", "--reap-namespace", "b"],
        );
        assert_eq!(first, spec(&swapped).unwrap().render().unwrap());
        assert!(
            first.starts_with("---\n# Generated by kyuubi-reaper "),
            "{first}"
        );
    }
}
