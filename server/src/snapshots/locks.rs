//! At most one snapshot, clear or restore per table at a time: a request takes every table it
//! touches at once or none, and the guard gives them back when the work ends (even on panic).

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

impl TableLocks {
    /// Takes all `keys` or none; on refusal returns the ones already busy.
    pub fn try_lock(&self, keys: Vec<String>) -> Result<TablesGuard, Vec<String>> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let taken: Vec<String> = keys.iter().filter(|k| busy.contains(*k)).cloned().collect();
        if !taken.is_empty() {
            return Err(taken);
        }
        busy.extend(keys.iter().cloned());
        Ok(TablesGuard {
            locks: self.clone(),
            keys,
        })
    }

    /// Whether a table is busy.
    pub fn is_busy(&self, key: &str) -> bool {
        self.busy
            .lock()
            .map(|b| b.contains(key))
            .unwrap_or_else(|p| p.into_inner().contains(key))
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
}
