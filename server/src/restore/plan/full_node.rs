//! What a full-node plan needs of the node: that Snapkeep can stop and start it, its commit
//! log directory, one data directory; and the notes that tell the approver what happens.

use crate::node::NodeConfig;
use crate::node::aside::ASIDE_DIR;

/// Checks the node for a full-node restore whose aside directories are named `staging_name`;
/// adds what blocks it to `blocked` and what the approver should know to `notes`. Returns
/// where the commit log segments go aside.
pub fn prepare(
    node: &NodeConfig,
    staging_name: &str,
    rebuild: bool,
    blocked: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<String> {
    let mut commitlog_aside = None;
    match crate::node::control::NodeControl::of(node) {
        Ok(c) => notes.push(c.describe()),
        Err(e) => blocked.push(e),
    }
    match crate::node::control::commitlog_dir(node) {
        Ok(dir) => {
            let aside = dir.join(ASIDE_DIR).join(staging_name);
            notes.push(format!(
                "Commit log segments are moved to {} (not deleted), so writes made after the snapshot are not replayed; kept like the SSTables set aside.",
                aside.display()
            ));
            commitlog_aside = Some(aside.display().to_string());
        }
        // A node that lost its disks may have lost its commit log directory too: Cassandra
        // makes it again at start.
        Err(_)
            if rebuild
                && node
                    .commitlog_dir
                    .as_ref()
                    .is_some_and(|d| d.is_absolute() && !d.exists()) =>
        {
            notes.push(format!(
                "The commit log directory {} is gone; Cassandra makes it again when the node starts.",
                node.commitlog_dir.as_deref().map(|d| d.display().to_string()).unwrap_or_default()
            ));
        }
        Err(e) => blocked.push(e),
    }
    if node.data_dirs.len() > 1 {
        blocked.push(format!(
            "Node {} has {} data directories; a full-node restore supports one data directory for now. Restore the tables in place instead.",
            node.name,
            node.data_dirs.len()
        ));
    }
    if rebuild {
        notes.push(format!(
            "Disaster recovery: node {} is down and holds no data, so it is rebuilt from the store: every table of the snapshot, system keyspaces included, is put back before it starts, so it comes back with its schema, tokens and host id as they were when the snapshot was taken. Rows written after the snapshot (and after the incremental backups restored with it) are not on this node; run `nodetool repair` once it is up if other replicas hold them.",
            node.name
        ));
    } else {
        notes.push(format!(
            "Node {} is down from `stop` until `start`; every table of the node is locked while the restore runs. The live SSTables of each table are moved to <table dir>/{ASIDE_DIR}/{staging_name}/ and kept (never deleted by the restore) until an admin removes them or their keeping time passes.",
            node.name
        ));
    }
    commitlog_aside
}
