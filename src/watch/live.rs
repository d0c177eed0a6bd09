//! Noticing that the live state sources changed, so that `watch` reads the state again.
//!
//! Owns: one task per `--zk` ensemble holding a persistent recursive watch on its engine spaces
//! (re-established after any failure, since such a watch can miss events across a reconnect:
//! each re-establishment also asks for a read), and one task per `--store-url` server asking it
//! every `--store-poll`, with one cheap query, whether its tables changed. Both wake the loop
//! through one [`Notify`]. Must not: read the state itself (the loop's reload does, from every
//! source at once), or decide when to read it; a failure here only logs and wakes the loop,
//! whose read then fails and says why in `/readyz`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::JudgeConfig;
use crate::pipeline;
use crate::state::sql;
use crate::state::zk::live::{Ensemble, LiveOptions, LiveWatch};

/// The pause before a failed watch is set up again.
const REWATCH_AFTER: Duration = Duration::from_secs(5);

/// The tasks following the live sources of a run.
pub(crate) struct LiveSources {
    woken: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl LiveSources {
    /// Starts following every `--zk` ensemble and `--store-url` server of `config`.
    pub(crate) fn start(config: &JudgeConfig, store_poll: Duration) -> Self {
        let woken = Arc::new(Notify::new());
        let mut tasks = Vec::new();
        if !config.zk_ensembles.is_empty() {
            match pipeline::live_options(config) {
                Ok(options) => {
                    let options = Arc::new(options);
                    for ensemble in &config.zk_ensembles {
                        tasks.push(tokio::spawn(follow_ensemble(
                            ensemble.clone(),
                            config.ha_namespaces.clone(),
                            Arc::clone(&options),
                            Arc::clone(&woken),
                        )));
                    }
                }
                // The reload reads the same options and fails with the same error.
                Err(e) => tracing::warn!("cannot watch the --zk ensembles: {e}"),
            }
        }
        if !config.store_urls.is_empty() {
            match pipeline::sql_options(config) {
                Ok(options) => {
                    let options = Arc::new(options);
                    for url in &config.store_urls {
                        tasks.push(tokio::spawn(poll_store(
                            url.clone(),
                            Arc::clone(&options),
                            store_poll,
                            Arc::clone(&woken),
                        )));
                    }
                }
                Err(e) => tracing::warn!("cannot poll the --store-url servers: {e}"),
            }
        }
        Self { woken, tasks }
    }

    /// Resolves when a live source changed (or its watch had to be set up again) since the
    /// last call.
    pub(crate) async fn notified(&self) {
        self.woken.notified().await;
    }
}

impl Drop for LiveSources {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Keeps a persistent recursive watch on `ensemble`'s engine spaces, waking the loop on every
/// change, and on every re-establishment (events may have been missed meanwhile).
async fn follow_ensemble(
    ensemble: Ensemble,
    namespaces: Vec<String>,
    options: Arc<LiveOptions>,
    woken: Arc<Notify>,
) {
    let mut first = true;
    loop {
        match LiveWatch::start(&ensemble, &namespaces, &options).await {
            Ok(mut watch) => {
                if !first {
                    tracing::info!("zookeeper {ensemble}: watching again; reading the state");
                    woken.notify_one();
                }
                loop {
                    match watch.changed().await {
                        Ok(()) => {
                            tracing::debug!("zookeeper {ensemble}: an engine space changed");
                            woken.notify_one();
                        }
                        Err(e) => {
                            tracing::warn!(
                                "zookeeper {ensemble}: the watch stopped ({e}); setting it up \
                                 again in {} s",
                                REWATCH_AFTER.as_secs()
                            );
                            woken.notify_one();
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(
                "zookeeper {ensemble}: cannot watch ({e}); trying again in {} s",
                REWATCH_AFTER.as_secs()
            ),
        }
        first = false;
        tokio::time::sleep(REWATCH_AFTER).await;
    }
}

/// Asks `url`'s server every `every` whether its tables changed, waking the loop when they did
/// and when the server answers again after failing.
async fn poll_store(
    url: sql::StoreUrl,
    options: Arc<sql::SqlOptions>,
    every: Duration,
    woken: Arc<Notify>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once: the loop's first read covers it.
    interval.tick().await;
    let mut last: Option<sql::ChangeMarker> = sql::change_marker(&url, &options).await.ok();
    let mut failing = false;
    loop {
        interval.tick().await;
        match sql::change_marker(&url, &options).await {
            Ok(marker) => {
                if failing || last.as_ref() != Some(&marker) {
                    tracing::debug!("store {url}: its tables changed");
                    woken.notify_one();
                }
                failing = false;
                last = Some(marker);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!("store {url}: cannot ask whether its tables changed: {e}");
                    // The read fails too, and /readyz says why.
                    woken.notify_one();
                }
                failing = true;
            }
        }
    }
}
