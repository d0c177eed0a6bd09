//! The kept znodes of a ZooKeeper state, by path.
//!
//! Owns: [`Nodes`], the kept subset of a snapshot's nodes in file order, with a path index that
//! is built only when something asks for a node by path for writing (the replay of transaction
//! logs). A state read from a single snapshot is never indexed nor sorted: on a snapshot of
//! 600,000 kept registrations, sorting their long, prefix-sharing paths into an ordered map was
//! most of the cost of a scan (BENCHMARKS.md). Must not: decode, filter or judge nodes.
//!
//! A path the file holds twice (ZooKeeper never writes one twice) is kept twice until the index
//! is built, which keeps the copy with the highest `mzxid`; a registration seen twice counts as
//! alive when either copy is, the safe side.

use std::collections::HashMap;
use std::sync::Arc;

use super::snapshot::Node;

/// The kept nodes, in file order then creation order. Two are equal when they hold the same
/// node at each path, whatever their orders.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    entries: Vec<(Arc<str>, Node)>,
    /// Path → position in `entries`, once built.
    index: Option<HashMap<Arc<str>, usize>>,
}

impl PartialEq for Nodes {
    fn eq(&self, other: &Self) -> bool {
        self.by_path() == other.by_path()
    }
}

impl Eq for Nodes {}

impl Nodes {
    /// Each path once (the copy [`Self::get`] answers), sorted: for comparisons.
    fn by_path(&self) -> Vec<(&str, &Node)> {
        let mut paths: Vec<&str> = self.entries.iter().map(|(p, _)| &**p).collect();
        paths.sort_unstable();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|p| self.get(p).map(|n| (p, n)))
            .collect()
    }

    /// The nodes of a snapshot, in its order.
    #[must_use]
    pub fn from_list(entries: Vec<(Arc<str>, Node)>) -> Self {
        Nodes {
            entries,
            index: None,
        }
    }

    /// How many nodes are kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no node is kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every node with its path, in file order then creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Node)> {
        self.entries.iter().map(|(p, n)| (p, n))
    }

    /// Every path, in the order of [`Self::iter`].
    pub fn keys(&self) -> impl Iterator<Item = &Arc<str>> {
        self.entries.iter().map(|(p, _)| p)
    }

    /// The node at `path` (through the index when built; otherwise a scan, which is what tests
    /// and single lookups need).
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Node> {
        match &self.index {
            Some(index) => index.get(path).map(|&i| &self.entries[i].1),
            None => self
                .entries
                .iter()
                .rev()
                .find(|(p, _)| &**p == path)
                .map(|(_, n)| n),
        }
    }

    /// Whether a node is kept at `path`.
    #[must_use]
    pub fn contains_key(&self, path: &str) -> bool {
        self.get(path).is_some()
    }

    /// The node at `path`, for changing it (builds the index).
    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let i = *self.index().get(path)?;
        Some(&mut self.entries[i].1)
    }

    /// Whether a node is kept at `path` (builds the index).
    pub fn has(&mut self, path: &str) -> bool {
        self.index().contains_key(path)
    }

    /// Keeps `node` at `path`, replacing a node kept there (builds the index).
    pub fn insert(&mut self, path: Arc<str>, node: Node) {
        let len = self.entries.len();
        let index = self.index();
        if let Some(&i) = index.get(&*path) {
            self.entries[i].1 = node;
        } else {
            index.insert(Arc::clone(&path), len);
            self.entries.push((path, node));
        }
    }

    /// Removes the node at `path` (builds the index); the last node takes its place.
    pub fn remove(&mut self, path: &str) -> Option<Node> {
        let i = self.index().remove(path)?;
        let (_, node) = self.entries.swap_remove(i);
        if let Some((moved, _)) = self.entries.get(i) {
            let moved = Arc::clone(moved);
            self.index().insert(moved, i);
        }
        Some(node)
    }

    /// The index, built on first use. Of a path the file holds twice, the copy with the
    /// highest `mzxid` stays (the later one on a tie).
    fn index(&mut self) -> &mut HashMap<Arc<str>, usize> {
        if self.index.is_none() {
            let mut index: HashMap<Arc<str>, usize> = HashMap::with_capacity(self.entries.len());
            let mut duplicates = Vec::new();
            for (i, (path, node)) in self.entries.iter().enumerate() {
                if let Some(old) = index.insert(Arc::clone(path), i) {
                    let keep_old = self.entries[old].1.mzxid > node.mzxid;
                    if keep_old {
                        index.insert(Arc::clone(path), old);
                        duplicates.push(i);
                    } else {
                        duplicates.push(old);
                    }
                }
            }
            if !duplicates.is_empty() {
                duplicates.sort_unstable();
                let mut position = 0;
                let mut next = duplicates.iter().peekable();
                self.entries.retain(|_| {
                    let drop = next.peek().is_some_and(|&&d| d == position);
                    if drop {
                        next.next();
                    }
                    position += 1;
                    !drop
                });
                index = self
                    .entries
                    .iter()
                    .enumerate()
                    .map(|(i, (p, _))| (Arc::clone(p), i))
                    .collect();
            }
            self.index = Some(index);
        }
        self.index.as_mut().expect("just built")
    }
}

impl std::ops::Index<&str> for Nodes {
    type Output = Node;

    fn index(&self, path: &str) -> &Node {
        self.get(path)
            .unwrap_or_else(|| panic!("no node is kept at {path}"))
    }
}

impl<'a> IntoIterator for &'a Nodes {
    type Item = (&'a Arc<str>, &'a Node);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Node)>,
        fn(&'a (Arc<str>, Node)) -> (&'a Arc<str>, &'a Node),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(p, n)| (p, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(mzxid: i64) -> Node {
        Node {
            data: None,
            czxid: 1,
            mzxid,
            ctime: 0,
            mtime: 0,
            ephemeral_owner: 0,
        }
    }

    #[test]
    fn lookups_inserts_and_removals_agree_with_a_map() {
        let mut nodes = Nodes::from_list(vec![
            ("/a".into(), node(1)),
            ("/a/b".into(), node(2)),
            ("/c".into(), node(3)),
        ]);
        assert_eq!(nodes.get("/a/b").map(|n| n.mzxid), Some(2));
        assert!(!nodes.contains_key("/x"));
        assert_eq!(nodes.remove("/a").map(|n| n.mzxid), Some(1));
        assert!(!nodes.has("/a"));
        assert_eq!(nodes["/c"].mzxid, 3);
        nodes.insert("/d".into(), node(4));
        nodes.insert("/c".into(), node(5));
        assert_eq!(nodes.get_mut("/c").map(|n| n.mzxid), Some(5));
        let mut paths: Vec<&str> = nodes.keys().map(|p| &**p).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/a/b", "/c", "/d"]);
        assert_eq!(nodes.len(), 3);
    }

    #[test]
    fn a_path_held_twice_keeps_the_newest_copy_once_indexed() {
        let mut nodes = Nodes::from_list(vec![
            ("/a".into(), node(7)),
            ("/b".into(), node(1)),
            ("/a".into(), node(3)),
        ]);
        assert_eq!(nodes.len(), 3);
        assert!(nodes.has("/a"));
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes["/a"].mzxid, 7);
        assert_eq!(nodes.get_mut("/b").map(|n| n.mzxid), Some(1));
    }
}
