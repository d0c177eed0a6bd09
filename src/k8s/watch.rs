//! Pod watches for `watch`: kube's runtime watcher (an initial list in pages, then a watch from
//! its resource version; a new list after 410 Gone or a lost connection, with kube's default
//! backoff), decoding each pod straight into a [`PodInfo`].
//!
//! Owns: the watched type ([`Watched`]: a pod decoded with the same wire types and conversion
//! as a listed one, so no k8s-openapi `Pod` is ever built or kept), the watch of one scope
//! (a namespace, or all), and the meaning of its events and errors for the loop. Must not:
//! keep pods (the loop keeps its own compact records), judge them, or retry on its own (kube's
//! watcher does, and reports every failure).

use std::borrow::Cow;

use futures::{Stream, StreamExt};
use kube::Api;
use kube::core::{NamespaceResourceScope, ObjectMeta, Resource};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher::{self, Event, ListSemantic};
use serde::{Deserialize, Deserializer};

use super::cluster::{Connection, WATCH_TIMEOUT};
use super::{InvalidPod, pod_info, wire};
use crate::pod::PodInfo;
use crate::selector::LabelSelector;

/// A watched pod: what the watcher needs of its metadata (name, namespace, uid,
/// resourceVersion) and the pod as the classifier sees it.
#[derive(Debug, Clone)]
pub(crate) struct Watched {
    meta: ObjectMeta,
    pod: Result<PodInfo, InvalidPod>,
}

impl Resource for Watched {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind((): &()) -> Cow<'_, str> {
        "Pod".into()
    }
    fn group((): &()) -> Cow<'_, str> {
        "".into()
    }
    fn version((): &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn api_version((): &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural((): &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

impl<'de> Deserialize<'de> for Watched {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pod = wire::Pod::deserialize(deserializer)?;
        let text = |s: &Option<wire::Str<'_>>| s.as_ref().map(|s| s.as_str().to_string());
        let meta = ObjectMeta {
            name: text(&pod.metadata.name),
            namespace: text(&pod.metadata.namespace),
            uid: text(&pod.metadata.uid),
            resource_version: text(&pod.metadata.resource_version),
            ..ObjectMeta::default()
        };
        Ok(Self {
            meta,
            pod: pod_info(&pod, None),
        })
    }
}

/// What a watch says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PodEvent {
    /// A new list of the scope begins (at the start, after 410 Gone or a lost connection): the
    /// pods listed until [`PodEvent::ListDone`] replace every pod of the scope.
    Relisting,
    /// A pod of that list.
    Listed(PodInfo),
    /// The list is complete.
    ListDone,
    /// A pod was added or changed.
    Applied(PodInfo),
    /// A pod is gone.
    Deleted {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// A pod that could not be read (skipped, never judged).
    Invalid(InvalidPod),
}

/// A failed list or watch request; the watcher tries again after a backoff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct WatchFailure {
    /// The HTTP status as text, or `connection` when there was no answer.
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// Watches the candidate pods of one scope of `connection` (`namespace`, or all when `None`).
pub(crate) fn pods(
    connection: &Connection,
    namespace: Option<&str>,
    selector: &LabelSelector,
) -> impl Stream<Item = Result<PodEvent, WatchFailure>> + Send + 'static {
    let api: Api<Watched> = match namespace {
        Some(ns) => Api::namespaced(connection.watch_client.clone(), ns),
        None => Api::all(connection.watch_client.clone()),
    };
    let config = watcher::Config::default()
        .labels(&selector.to_string())
        .timeout(u32::try_from(WATCH_TIMEOUT.as_secs()).unwrap_or(290))
        .page_size(super::cluster::PAGE_SIZE)
        .list_semantic(ListSemantic::MostRecent);
    let context = connection.context.clone();
    watcher::watcher(api, config)
        .default_backoff()
        .map(move |event| match event {
            Ok(event) => Ok(convert(event, context.as_deref())),
            Err(error) => Err(failure(&error)),
        })
}

fn convert(event: Event<Watched>, context: Option<&str>) -> PodEvent {
    let with_context = |watched: Watched, applied: bool| match watched.pod {
        Ok(mut pod) => {
            pod.context = context.map(str::to_string);
            if applied {
                PodEvent::Applied(pod)
            } else {
                PodEvent::Listed(pod)
            }
        }
        Err(invalid) => PodEvent::Invalid(invalid),
    };
    match event {
        Event::Init => PodEvent::Relisting,
        Event::InitApply(watched) => with_context(watched, false),
        Event::InitDone => PodEvent::ListDone,
        Event::Apply(watched) => with_context(watched, true),
        Event::Delete(watched) => PodEvent::Deleted {
            namespace: watched.meta.namespace.unwrap_or_default(),
            name: watched.meta.name.unwrap_or_default(),
        },
    }
}

fn failure(error: &watcher::Error) -> WatchFailure {
    let code = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => match e {
            kube::Error::Api(status) => status.code.to_string(),
            _ => "connection".to_string(),
        },
        watcher::Error::WatchError(status) => status.code.to_string(),
        watcher::Error::NoResourceVersion => "no-resource-version".to_string(),
    };
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    WatchFailure { code, message }
}
