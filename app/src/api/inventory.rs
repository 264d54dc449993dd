//! The inventory: nodes, their filesystems and tables as the last good scan saw them, what
//! full-node restores set aside, and the jobs (long operations) the pages follow.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend::backend;

/// A filesystem's bytes (or inodes) with the one definition every page, API figure, report
/// and alert uses: **free** is what Cassandra's user can still write (statvfs `f_bavail`;
/// for inodes `f_ffree`), **reserved** what only root may still use (`f_bfree − f_bavail`,
/// zero for inodes), and **used = total − free**, so the reserve counts as used: a disk is
/// full for Cassandra when `free` is zero, whatever root could still write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUse {
    pub total: i64,
    pub free: i64,
    pub reserved: i64,
}

impl DiskUse {
    /// From statvfs figures: `avail` is `f_bavail` (in bytes), `bfree` is `f_bfree` when known.
    pub fn new(total: i64, avail: i64, bfree: Option<i64>) -> Self {
        let total = total.max(0);
        let free = avail.clamp(0, total);
        Self {
            total,
            free,
            reserved: bfree.map_or(0, |b| (b.min(total) - free).max(0)),
        }
    }
    pub fn used(&self) -> i64 {
        self.total - self.free
    }
    /// Used over total, in percent (0 for an empty total).
    pub fn used_percent(&self) -> f64 {
        if self.total > 0 {
            self.used() as f64 * 100.0 / self.total as f64
        } else {
            0.0
        }
    }
}

/// One filesystem holding a data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FilesystemDto {
    pub data_dir: String,
    pub total_bytes: Option<i64>,
    pub avail_bytes: Option<i64>,
    pub free_bytes: Option<i64>,
    pub total_inodes: Option<i64>,
    pub free_inodes: Option<i64>,
    /// Why the directory could not be scanned, if it could not.
    pub error: Option<String>,
}

impl FilesystemDto {
    /// Its bytes, as [`DiskUse`] defines them.
    pub fn bytes(&self) -> Option<DiskUse> {
        Some(DiskUse::new(
            self.total_bytes?,
            self.avail_bytes?,
            self.free_bytes,
        ))
    }
    /// Its inodes, as [`DiskUse`] defines them.
    pub fn inodes(&self) -> Option<DiskUse> {
        Some(DiskUse::new(self.total_inodes?, self.free_inodes?, None))
    }
}

/// One Cassandra node and what Snapkeep last saw of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeDto {
    pub name: String,
    pub cql: String,
    pub jmx: String,
    pub reachable: bool,
    /// Cassandra version reported by nodetool.
    pub version: Option<String>,
    /// Why the node is unreachable, when it is.
    pub error: Option<String>,
    /// When the node was last checked (Unix ms, UTC).
    pub checked_at: Option<i64>,
    /// When its data directories were last scanned successfully (Unix ms, UTC).
    pub scanned_at: Option<i64>,
    pub filesystems: Vec<FilesystemDto>,
    /// Bytes and inodes kept alive only by snapshots on this node (each inode once).
    pub hold_bytes: i64,
    pub hold_inodes: i64,
    /// Incremental backups on (`nodetool statusbackup` at the last check); `None`: unknown.
    #[serde(default)]
    pub incremental_backups: Option<bool>,
    /// The cluster, data centre and rack the node reported (`system.local`) at the last check
    /// that reached it; `None` until one did.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub dc: Option<String>,
    #[serde(default)]
    pub rack: Option<String>,
    #[serde(default)]
    pub host_id: Option<String>,
    /// The agent that reaches the node; `None`: Snapkeep reaches it on this machine.
    #[serde(default)]
    pub agent: Option<String>,
}

/// A cluster of the configured nodes, as `GET /api/v1/clusters` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterDto {
    /// `cluster_name` from the nodes' `system.local`.
    pub name: String,
    /// Data centres, sorted.
    pub dcs: Vec<String>,
    pub nodes: Vec<ClusterNodeDto>,
}

/// One node of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterNodeDto {
    pub name: String,
    pub dc: String,
    pub rack: String,
    /// `up` (the last check reached it) or `down` (it did not: `error` says why).
    pub state: String,
    pub version: Option<String>,
    pub host_id: Option<String>,
    pub tokens: Option<i64>,
    pub checked_at: Option<i64>,
    pub error: Option<String>,
    /// The agent that reaches the node; `None`: this machine.
    pub agent: Option<String>,
}

/// One table of one node, from the last good scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableDto {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    /// Table id (32 hex digits, as in the directory name).
    pub id: String,
    /// False when the directory's id matches no live table (a dropped or re-created table).
    pub in_schema: bool,
    pub live_bytes: i64,
    pub live_files: i64,
    pub sstables: i64,
    pub snapshot_count: i64,
    /// Bytes linked from `snapshots/` (each inode once per table).
    pub snapshots_bytes: i64,
    /// Bytes only snapshots keep alive.
    pub hold_bytes: i64,
    pub backups_bytes: i64,
    pub backups_files: i64,
}

/// A long operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobDto {
    pub id: i64,
    pub kind: String,
    /// `queued`, `running`, `done`, `failed` or `interrupted`.
    pub state: String,
    pub progress: f64,
    pub message: String,
    pub error: Option<String>,
}

impl JobDto {
    pub fn finished(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed" | "interrupted")
    }
}

/// Everything the Overview page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverviewDto {
    pub nodes: Vec<NodeDto>,
    pub tables: Vec<TableDto>,
    pub unknown_dirs: Vec<String>,
    /// A scan under way, if any.
    pub running: Option<JobDto>,
    /// What full-node restores set aside and still keep.
    #[serde(default)]
    pub aside: Vec<AsideDto>,
}

/// Files a full-node restore set aside (a table's previous SSTables or the commit log's
/// segments), kept until an admin removes them or their time passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AsideDto {
    pub restore_id: i64,
    pub node: String,
    pub path: String,
    /// `sstables` or `commitlog`.
    pub kind: String,
    /// The table (`keyspace.table`) or `commit log`.
    pub what: String,
    pub bytes: i64,
    pub files: i64,
    pub set_aside_at: i64,
    pub keep_until: i64,
}

/// Nodes, filesystems and tables from the last good scan.
#[server(prefix = "/rpc", endpoint = "overview")]
pub async fn get_overview() -> Result<OverviewDto, ServerFnError> {
    backend()?.overview().await.map_err(ServerFnError::new)
}

/// Starts a scan of every node (or returns the one already running).
#[server(prefix = "/rpc", endpoint = "scan")]
pub async fn start_scan() -> Result<JobDto, ServerFnError> {
    backend()?.start_scan().await.map_err(ServerFnError::new)
}

/// One job's state.
#[server(prefix = "/rpc", endpoint = "job")]
pub async fn get_job(id: i64) -> Result<Option<JobDto>, ServerFnError> {
    backend()?.job(id).await.map_err(ServerFnError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_definition_of_free_and_used_with_roots_reserve_counted_as_used() {
        // statvfs: 1000 bytes, 200 free (f_bfree), of which 150 for Cassandra (f_bavail).
        let d = DiskUse::new(1000, 150, Some(200));
        assert_eq!((d.free, d.reserved, d.used()), (150, 50, 850));
        assert_eq!(d.used_percent(), 85.0);
        // Figures out of order (a racing statvfs, a bad row) never give negative parts.
        let d = DiskUse::new(100, 150, Some(120));
        assert_eq!((d.free, d.reserved, d.used()), (100, 0, 0));
        assert_eq!(DiskUse::new(0, 0, None).used_percent(), 0.0);
        let fs = FilesystemDto {
            data_dir: "/d".into(),
            total_bytes: Some(1000),
            avail_bytes: Some(150),
            free_bytes: Some(200),
            total_inodes: Some(10),
            free_inodes: Some(4),
            error: None,
        };
        assert_eq!(fs.bytes().map(|b| b.used()), Some(850));
        assert_eq!(fs.inodes().map(|i| (i.used(), i.reserved)), Some((6, 0)));
        let unknown = FilesystemDto {
            avail_bytes: None,
            ..fs
        };
        assert_eq!(unknown.bytes(), None);
    }
}

/// A snapshot of a whole cluster: one tag on each of its nodes, taken together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterSnapshotDto {
    pub id: i64,
    pub cluster: String,
    pub tag: String,
    /// `running`, `complete` (taken on every node) or `incomplete` (some node failed: retry
    /// it with `POST /api/v1/clusters/{name}/snapshots/{tag}/retry`).
    pub state: String,
    pub keyspaces: Vec<String>,
    pub tables: Vec<String>,
    pub requested_by: Option<String>,
    /// The job of the latest attempt (the whole cluster).
    pub job_id: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub nodes: Vec<ClusterSnapshotNodeDto>,
}

/// One node's part of a cluster snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ClusterSnapshotNodeDto {
    pub node: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// The node's own snapshot job.
    pub job_id: Option<i64>,
    /// What it did, or why it failed.
    pub message: String,
    /// Attempts so far (a retry adds one to the nodes it retries).
    pub attempts: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}
