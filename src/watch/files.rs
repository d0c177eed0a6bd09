//! Noticing that the state files changed, so that `watch` reads the state again.
//!
//! Owns: the fingerprint of the state files (size, modification time and inode of every store
//! file with its `-wal` and `-journal` siblings, and of every entry of a ZooKeeper data
//! directory and its `version-2/`), file notifications on their directories (inotify, through
//! notify), which wake the loop at once, and the comparison of fingerprints that the loop also
//! runs every `--state-poll`, since shared volumes (NFS, some CSI drivers) often deliver no
//! notifications. Must not: read the state itself, or decide when to read it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use notify::Watcher as _;
use tokio::sync::Notify;

use crate::config::JudgeConfig;

/// One file's identity and size as last seen (`None`: absent or unreadable).
type Seen = Option<(u64, Option<SystemTime>, u64)>;

/// The state files of a run and how they looked last.
pub(crate) struct StateFiles {
    /// Files whose metadata is compared.
    files: Vec<PathBuf>,
    /// Directories whose entries are compared.
    dirs: Vec<PathBuf>,
    last: Vec<(PathBuf, Seen)>,
    woken: Arc<Notify>,
    /// Kept alive: dropping it stops the notifications.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl StateFiles {
    /// The files of `config`'s state sources, with notifications on their directories where
    /// the system gives them (a warning otherwise: polling alone then notices changes).
    pub(crate) fn new(config: &JudgeConfig) -> Self {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for store in &config.stores {
            files.push(store.clone());
            for suffix in ["-wal", "-journal"] {
                let mut sibling = store.clone().into_os_string();
                sibling.push(suffix);
                files.push(PathBuf::from(sibling));
            }
        }
        for path in config.zk_snapshots.iter().chain(&config.zk_log_dir) {
            if path.is_dir() {
                dirs.push(path.clone());
                let version = path.join("version-2");
                if version.is_dir() {
                    dirs.push(version);
                }
            } else {
                files.push(path.clone());
            }
        }
        let woken = Arc::new(Notify::new());
        let watcher = watch_dirs(&files, &dirs, &woken);
        let mut this = Self {
            files,
            dirs,
            last: Vec::new(),
            woken,
            _watcher: watcher,
        };
        this.last = this.fingerprint();
        this
    }

    /// Completes when a notification arrived since the last call (never, without
    /// notifications).
    pub(crate) async fn notified(&self) {
        self.woken.notified().await;
    }

    /// Whether the files look different from the last time this was asked (or since
    /// [`StateFiles::new`]).
    pub(crate) fn changed(&mut self) -> bool {
        let now = self.fingerprint();
        let changed = now != self.last;
        self.last = now;
        changed
    }

    fn fingerprint(&self) -> Vec<(PathBuf, Seen)> {
        let mut seen: Vec<(PathBuf, Seen)> =
            self.files.iter().map(|f| (f.clone(), stat(f))).collect();
        for dir in &self.dirs {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            entries.sort();
            seen.push((dir.clone(), stat(dir)));
            seen.extend(entries.into_iter().map(|path| {
                let s = stat(&path);
                (path, s)
            }));
        }
        seen
    }
}

fn stat(path: &Path) -> Seen {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok(), inode))
}

/// Notifications on the directories holding `files` and on `dirs` (not recursive).
fn watch_dirs(
    files: &[PathBuf],
    dirs: &[PathBuf],
    woken: &Arc<Notify>,
) -> Option<notify::RecommendedWatcher> {
    let woken = Arc::clone(woken);
    let mut watcher = match notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        woken.notify_one();
    }) {
        Ok(watcher) => watcher,
        Err(e) => {
            tracing::warn!(
                "no file notifications ({e}); state files are checked every --state-poll"
            );
            return None;
        }
    };
    let mut directories: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p
            }
        })
        .chain(dirs.iter().cloned())
        .collect();
    directories.sort();
    directories.dedup();
    for dir in &directories {
        if let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
            tracing::warn!(
                "no file notifications for {} ({e}); it is checked every --state-poll",
                dir.display()
            );
        }
    }
    Some(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Policy;
    use crate::config::PodSource;
    use crate::k8s::Namespaces;
    use crate::k8s::request::RequestPolicy;
    use crate::selector::LabelSelector;

    fn config(stores: Vec<PathBuf>, zk: Vec<PathBuf>) -> JudgeConfig {
        JudgeConfig {
            stores,
            zk_snapshots: zk,
            zk_log_dir: None,
            ha_namespaces: vec!["kyuubi".into()],
            allow_empty_state: false,
            pods: PodSource::Cluster {
                kubeconfig: None,
                contexts: vec![None],
                namespaces: Namespaces::All,
            },
            selector: LabelSelector::candidates(None).unwrap(),
            policy: Policy::default(),
            requests: RequestPolicy::default(),
            store_urls: vec![],
            store_password_file: None,
            store_timeout: std::time::Duration::from_secs(30),
            zk_ensembles: vec![],
            zk_live: crate::config::ZkLiveConfig::default(),
        }
    }

    #[tokio::test]
    async fn a_store_write_its_wal_and_a_new_zookeeper_log_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("kyuubi_state_store.db");
        std::fs::write(&store, b"one").unwrap();
        let zk = dir.path().join("zk");
        std::fs::create_dir_all(zk.join("version-2")).unwrap();
        let mut files = StateFiles::new(&config(vec![store.clone()], vec![zk.clone()]));
        assert!(!files.changed(), "nothing changed yet");

        std::fs::write(&store, b"two!").unwrap();
        // The notification arrives (inotify is available on the CI machines).
        tokio::time::timeout(std::time::Duration::from_secs(5), files.notified())
            .await
            .expect("a notification for the store's directory");
        assert!(files.changed());
        assert!(!files.changed(), "the same look again is no change");

        std::fs::write(dir.path().join("kyuubi_state_store.db-wal"), b"w").unwrap();
        assert!(files.changed(), "a WAL appearing is a change");

        std::fs::write(zk.join("version-2").join("log.100000001"), b"l").unwrap();
        assert!(files.changed(), "a new log in version-2 is a change");

        // Unrelated files beside the store are not.
        std::fs::write(dir.path().join("kyuubi.log"), b"x").unwrap();
        assert!(!files.changed());
    }
}
