//! At most one snapshot, clear or restore per table at a time: a request takes every table it
//! touches at once or none, and the guard gives them back when the work ends (even on panic).
//! A full-node restore takes the whole node ([`node_key`]): it conflicts with every table of
//! that node, and every table of the node conflicts with it.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The tables busy right now, as `node/keyspace.table`.
#[derive(Debug, Clone, Default)]
pub struct TableLocks {
    busy: Arc<Mutex<BTreeSet<String>>>,
}

/// Holds tables until dropped.
#[derive(Debug)]
pub struct TablesGuard {
    locks: TableLocks,
    keys: Vec<String>,
}

/// The lock key of one table of one node.
pub fn key(node: &str, keyspace: &str, table: &str) -> String {
    format!("{node}/{keyspace}.{table}")
}

/// The lock key of a whole node (every table of it, present and future).
pub fn node_key(node: &str) -> String {
    format!("{node}/*")
}

/// A key as users read it: `node/ks.table`, or `every table of node N` for a [`node_key`].
pub fn describe(key: &str) -> String {
    match key.strip_suffix("/*") {
        Some(node) => format!("every table of node {node}"),
        None => key.to_string(),
    }
}

/// Whether two keys cover a common table. Node names hold no `/`, so `node/` is a prefix of
/// exactly that node's keys.
fn overlaps(a: &str, b: &str) -> bool {
    let covers = |whole: &str, other: &str| {
        whole
            .strip_suffix('*')
            .is_some_and(|prefix| prefix.ends_with('/') && other.starts_with(prefix))
    };
    a == b || covers(a, b) || covers(b, a)
}

impl TableLocks {
    /// Takes all `keys` or none; on refusal returns the ones already busy.
    pub fn try_lock(&self, keys: Vec<String>) -> Result<TablesGuard, Vec<String>> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let taken: Vec<String> = busy
            .iter()
            .filter(|b| keys.iter().any(|k| overlaps(k, b)))
            .cloned()
            .collect();
        if !taken.is_empty() {
            return Err(taken);
        }
        busy.extend(keys.iter().cloned());
        Ok(TablesGuard {
            locks: self.clone(),
            keys,
        })
    }

    /// Whether a table (or, for a [`node_key`], any table of the node) is busy.
    pub fn is_busy(&self, key: &str) -> bool {
        let busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.iter().any(|b| overlaps(key, b))
    }
}

impl Drop for TablesGuard {
    fn drop(&mut self) {
        let mut busy = self.locks.busy.lock().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            busy.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_or_nothing_and_released_on_drop() {
        let locks = TableLocks::default();
        let a = key("n1", "shop", "orders");
        let b = key("n1", "shop", "products");
        let g = locks.try_lock(vec![a.clone()]).expect("free");
        let refused = locks
            .try_lock(vec![b.clone(), a.clone()])
            .expect_err("a is busy");
        assert_eq!(refused, vec![a.clone()]);
        assert!(!locks.is_busy(&b), "nothing taken when refused");
        drop(g);
        assert!(!locks.is_busy(&a));
        let _g2 = locks
            .try_lock(vec![a.clone(), b.clone()])
            .expect("free again");
        assert!(locks.is_busy(&b));
    }

    #[test]
    fn a_whole_node_conflicts_with_each_of_its_tables_only() {
        let locks = TableLocks::default();
        let a = key("n1", "shop", "orders");
        let other_node = key("n10", "shop", "orders");
        let g = locks.try_lock(vec![a.clone()]).expect("free");
        assert_eq!(
            locks
                .try_lock(vec![node_key("n1")])
                .expect_err("a table of n1 is busy"),
            vec![a.clone()]
        );
        assert!(
            locks.try_lock(vec![node_key("n2")]).is_ok(),
            "another node is free"
        );
        drop(g);
        let whole = locks.try_lock(vec![node_key("n1")]).expect("free");
        assert!(locks.is_busy(&a));
        assert!(locks.is_busy(&key("n1", "other", "t")));
        assert!(!locks.is_busy(&other_node), "n10 is not n1");
        assert_eq!(
            locks
                .try_lock(vec![other_node.clone(), a.clone()])
                .expect_err("n1 is busy"),
            vec![node_key("n1")]
        );
        assert!(locks.try_lock(vec![other_node]).is_ok());
        drop(whole);
        assert!(!locks.is_busy(&a));
    }
}
