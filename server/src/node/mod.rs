//! The node boundary: every operation Snapkeep performs on a Cassandra host goes through
//! [`Node`]. Scanning the data directories, filesystem statistics, nodetool (snapshot, clear,
//! list, table statistics, import), reading a snapshot's files, manifest and `schema.cql`,
//! staging restores and removing staging, moving files aside and back, and draining,
//! stopping and starting the node.
//!
//! The services (snapshots, restore, inventory, reports) reach a host only through this
//! module and keep their state in the catalog; none of them touches the filesystem, the disk
//! scanner or nodetool directly. [`Node`] is an enum of the ways to reach a host: the local
//! machine today; an agent on the node (the cluster work) is a second variant serving the
//! same operations, whose inputs and outputs are plain serializable types for that reason.
//!
//! The parts: [`config`] (one node's settings), [`files`] (a snapshot's own files),
//! [`staging`] (restore staging and import), [`control`] (drain, stop, start, what is down),
//! [`aside`] (files a full-node restore moves aside and puts back), and the low-level parts
//! they use: [`disk`] (the inode-aware scanner, filesystem statistics, checked paths and
//! removal), [`nodetool`] with its output parsers ([`parse`]), [`procs`] (which Cassandra
//! processes hold a node's files open), [`devnode`] (a Cassandra dev node on this machine, for
//! `make demo` and the tests) and [`demo`] (its demo data).

pub mod aside;
pub mod backups;
pub mod config;
pub mod control;
pub mod demo;
pub mod devnode;
pub mod disk;
pub mod downloads;
pub mod files;
pub mod nodetool;
pub mod parse;
pub mod procs;
pub mod sstable_stats;
pub mod staging;

use std::path::{Path, PathBuf};

use app::api::{Plan, PlanFile, TablePlan};

pub use config::{JMX_PASSWORD_FILE_ENV, NodeConfig, split_host_port};

pub use disk::{
    DataDirScan, FileEntry, FileFigures, FileSet, FsStats, HoldFigures, Holds, NodeScan,
    SnapshotDir, TableDir, TableRef, TableSummary,
};

pub use nodetool::{Nodetool, NodetoolError};
use parse::{Info, SnapshotRow, TableStats};

/// One Cassandra host as the services reach it.
#[derive(Debug, Clone, Copy)]
pub enum Node<'a> {
    /// The node's files are on this machine and nodetool runs here.
    Local(&'a NodeConfig),
}

impl<'a> Node<'a> {
    /// The node whose files and nodetool are on this machine.
    pub fn local(config: &'a NodeConfig) -> Self {
        Node::Local(config)
    }

    /// The node's settings.
    pub fn config(&self) -> &'a NodeConfig {
        match self {
            Node::Local(c) => c,
        }
    }

    fn nodetool(&self) -> Nodetool {
        Nodetool::for_node(self.config())
    }

    /// `nodetool snapshot`: flushes (unless asked not to) and hard-links the SSTables of the
    /// keyspaces or tables into `snapshots/<tag>/`.
    pub async fn snapshot(&self, req: &SnapshotRequest) -> Result<(), NodetoolError> {
        self.nodetool()
            .snapshot(
                &req.tag,
                req.ttl.as_deref(),
                req.skip_flush,
                &req.keyspaces,
                &req.tables,
            )
            .await
    }

    /// `nodetool clearsnapshot -t <tag>` for the keyspaces (all when empty).
    pub async fn clear_snapshot(
        &self,
        tag: &str,
        keyspaces: &[String],
    ) -> Result<(), NodetoolError> {
        self.nodetool().clearsnapshot(tag, keyspaces).await
    }

    /// Clears every snapshot of one keyspace (used only for Snapkeep's own drill keyspace,
    /// whose dropped side tables Cassandra snapshots on DROP).
    pub async fn clear_keyspace_snapshots(&self, keyspace: &str) -> Result<(), NodetoolError> {
        self.nodetool().clearsnapshot_all(keyspace).await
    }

    /// Removes one table's snapshot directory (nodetool cannot clear a single table),
    /// checked to lie inside one of the node's data directories; `false` when it was gone.
    pub fn remove_table_snapshot(
        &self,
        table: &TableRef,
        tag: &str,
    ) -> Result<bool, disk::RemoveError> {
        disk::remove_snapshot_dir(&self.config().data_dirs, table, tag)
    }

    /// `nodetool listsnapshots`.
    pub async fn list_snapshots(&self) -> Result<Vec<SnapshotRow>, NodetoolError> {
        self.nodetool().listsnapshots().await
    }

    /// `nodetool tablestats` of `keyspace.table` names.
    pub async fn table_stats(&self, names: &[String]) -> Result<Vec<TableStats>, NodetoolError> {
        self.nodetool().tablestats(names).await
    }

    /// `nodetool version` within `timeout`: whether the node answers JMX, and its release.
    pub async fn version(&self, timeout: std::time::Duration) -> Result<String, NodetoolError> {
        self.nodetool().with_timeout(timeout).version().await
    }

    /// `nodetool info` within `timeout` (host id, tokens, load).
    pub async fn info(&self, timeout: std::time::Duration) -> Result<Info, NodetoolError> {
        self.nodetool().with_timeout(timeout).info().await
    }

    /// `nodetool info`, `version` and `statusbackup` within `timeout` each, for the inventory.
    pub async fn describe(
        &self,
        timeout: std::time::Duration,
    ) -> (
        Result<Info, NodetoolError>,
        Result<String, NodetoolError>,
        Result<bool, NodetoolError>,
    ) {
        let nt = self.nodetool().with_timeout(timeout);
        (nt.info().await, nt.version().await, nt.statusbackup().await)
    }

    /// Scans the node's data directories (every table when `only_ids` is `None`, else the
    /// tables whose directory id is listed), on a blocking thread. Directories that cannot be
    /// read are reported inside the scan.
    pub async fn scan(&self, only_ids: Option<Vec<String>>) -> Result<NodeScan, String> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        drop(rx);
        self.scan_streamed(only_ids, tx).await
    }

    /// [`Node::scan`] that also sends every table, with all its files, down `tables` as soon
    /// as it is read: `(index of its first directory in NodeScan::tables, its directories on
    /// every data directory)`. The scan waits while the channel is full, so a slow receiver
    /// bounds memory; a closed channel just stops the sending.
    pub async fn scan_streamed(
        &self,
        only_ids: Option<Vec<String>>,
        tables: tokio::sync::mpsc::Sender<(usize, Vec<TableDir>)>,
    ) -> Result<NodeScan, String> {
        let dirs = self.config().data_dirs.clone();
        tokio::task::spawn_blocking(move || {
            let filter = move |_: &str, _: &str, id: &str| {
                only_ids
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|x| x == id))
            };
            let mut open = !tables.is_closed();
            disk::scan_streaming(&dirs, &filter, &mut |first, parts| {
                if open {
                    open = tables.blocking_send((first, parts)).is_ok();
                }
            })
        })
        .await
        .map_err(|e| format!("the scan task failed: {e}"))
    }

    /// `nodetool enablebackup` (`true`) or `disablebackup` (`false`): whether flushed SSTables
    /// are also hard-linked into each table's `backups/` directory, until the node restarts
    /// (the lasting setting is `incremental_backups` in `cassandra.yaml`).
    pub async fn set_incremental_backups(&self, on: bool) -> Result<(), NodetoolError> {
        let arg = if on { "enablebackup" } else { "disablebackup" };
        self.nodetool().run(&[arg]).await.map(drop)
    }

    /// `nodetool statusbackup` (within 15 s: pages ask it): whether incremental backups are on.
    pub async fn incremental_backups(&self) -> Result<bool, NodetoolError> {
        self.nodetool()
            .with_timeout(std::time::Duration::from_secs(15))
            .statusbackup()
            .await
    }

    /// Every table's `backups/` files, on a blocking thread.
    pub async fn list_backups(&self) -> Result<Vec<backups::BackupTable>, String> {
        let dirs = self.config().data_dirs.clone();
        blocking(move || backups::list(&dirs)).await
    }

    /// The SSTable sets of one table's `backups/` files (each set's `TOC.txt` read to tell
    /// whether it is complete).
    pub fn backup_sets(&self, t: &backups::BackupTable) -> Vec<backups::SstableSet> {
        let data_dirs = &self.config().data_dirs;
        let dir = backups::backups_dir(data_dirs, &t.table);
        backups::sets(&t.files, |toc| {
            let dir = dir.as_ref().ok()?;
            let mut text = String::new();
            let f = backups::open_in(&t.table.data_dir, dir, toc).ok()?;
            std::io::Read::read_to_string(&mut std::io::Read::take(f, 64 * 1024), &mut text)
                .ok()?;
            Some(text)
        })
    }

    /// Opens a file of a table's `backups/` directory (`tag` `None`) or of its snapshot `tag`
    /// for reading, never through a link.
    pub fn open_table_file(
        &self,
        table: &TableRef,
        tag: Option<&str>,
        name: &str,
    ) -> Result<std::fs::File, disk::RemoveError> {
        let data_dirs = &self.config().data_dirs;
        let dir = match tag {
            Some(tag) => disk::snapshot_dir(data_dirs, table, tag)?,
            None => backups::backups_dir(data_dirs, table)?,
        };
        backups::open_in(&table.data_dir, &dir, name)
    }

    /// Removes a shipped file from a table's `backups/` if it is still inode `ino`.
    pub fn remove_backup(
        &self,
        table: &TableRef,
        name: &str,
        ino: u64,
    ) -> Result<bool, disk::RemoveError> {
        backups::remove_backup(&self.config().data_dirs, table, name, ino)
    }

    /// Where table `keyspace`.`table` (`id`) lives, or would: the data directory holding it,
    /// else the first.
    pub fn table_home(&self, keyspace: &str, table: &str, id: &str) -> Option<TableRef> {
        let dir = format!("{table}-{id}");
        backups::home_data_dir(&self.config().data_dirs, keyspace, &dir).map(|data_dir| TableRef {
            data_dir,
            keyspace: keyspace.into(),
            table: table.into(),
            table_id: id.into(),
        })
    }

    /// Makes the directory a snapshot fetched from a store is written to (see
    /// [`backups::prepare_fetch`]).
    pub fn prepare_fetch(
        &self,
        table: &TableRef,
        tag: &str,
    ) -> Result<backups::FetchDirs, disk::RemoveError> {
        backups::prepare_fetch(&self.config().data_dirs, table, tag)
    }

    /// Size and free space (bytes and inodes) of the filesystem holding `dir`.
    pub fn fs_stats(&self, dir: &Path) -> std::io::Result<FsStats> {
        disk::fs_stats(dir)
    }

    /// Whether two paths are on the same filesystem (so hard links work between them).
    pub fn same_filesystem(&self, a: &Path, b: &Path) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev(),
            _ => false,
        }
    }

    /// The directory of snapshot `tag` of a table, checked to be inside a data directory.
    pub fn snapshot_dir(&self, table: &TableRef, tag: &str) -> Result<PathBuf, disk::RemoveError> {
        disk::snapshot_dir(&self.config().data_dirs, table, tag)
    }

    /// The live directory of a table, checked to be inside a data directory.
    pub fn table_dir(&self, table: &TableRef) -> Result<PathBuf, disk::RemoveError> {
        disk::table_dir(&self.config().data_dirs, table)
    }

    /// The files of a snapshot directory now (regular files but its manifest and schema).
    pub fn snapshot_files(&self, dir: &Path) -> std::io::Result<Vec<PlanFile>> {
        files::snapshot_files(dir)
    }

    /// A snapshot's `schema.cql`, capped and never through a link.
    pub fn schema_cql(&self, dir: &Path) -> Result<String, files::SchemaFileError> {
        files::read_schema_cql(dir)
    }

    /// A snapshot's `manifest.json`, `schema.cql` and mtime.
    pub async fn snapshot_meta(&self, dir: &Path) -> files::SnapshotMeta {
        files::read_snapshot_meta(dir).await
    }

    /// Whether each table of `plan` has a snapshot `tag` already (`keyspace.table` names).
    pub fn tables_with_snapshot(&self, plan: &Plan, tag: &str) -> Vec<String> {
        staging::tables_with_snapshot(plan, self.config(), tag)
    }

    /// Stages one table of a restore and checks what was staged against the snapshot.
    pub async fn stage(&self, table: &TablePlan) -> Result<String, String> {
        let (t, node) = (table.clone(), self.config().clone());
        blocking(move || staging::stage(&t, &node)).await
    }

    /// `nodetool import` of a table's staging directory.
    pub async fn import(&self, table: &TablePlan) -> Result<String, String> {
        staging::import(table, self.config()).await
    }

    /// Removes a table's staging directory.
    pub async fn cleanup(&self, table: &TablePlan) -> Result<String, String> {
        let (t, node) = (table.clone(), self.config().clone());
        blocking(move || staging::cleanup(&t, &node)).await
    }

    /// Removes every staging directory of a plan (after a failure).
    pub fn clean_all(&self, plan: &Plan) {
        staging::clean_all(plan, self.config())
    }

    /// The directory a restore from a store downloads a table's files into (made, checked).
    pub fn download_dir(&self, table: &TablePlan) -> Result<PathBuf, String> {
        downloads::checked_download_dir(table, self.config())
    }

    /// The plan of a restore from a store bound to the inodes of its downloaded files.
    pub fn bind_downloads(&self, plan: &Plan) -> Result<Plan, String> {
        downloads::bind(plan)
    }

    /// Removes what a restore from a store downloaded.
    pub fn remove_downloads(&self, plan: &Plan) -> Result<String, String> {
        downloads::remove_downloads(plan, self.config())
    }

    /// How the snapshot's SSTables of a restored table stand in its live directory.
    pub fn restored_files(&self, table: &TablePlan, live_table_id: Option<&str>) -> RestoredFiles {
        staging::restored_files(table, self.config(), live_table_id)
    }

    /// Where the node stands: up, down, alive but silent, or unknown.
    pub async fn state(&self) -> control::NodeState {
        control::node_state(self.config()).await
    }

    /// A CQL session to the node that answered one query.
    pub async fn cql_answers(&self) -> Result<crate::cassandra::cql::Cql, String> {
        control::cql_answers(self.config()).await
    }

    /// Waits until the node answers CQL (`start_timeout_secs`).
    pub async fn wait_answering(&self) -> Result<(), String> {
        control::wait_answering(self.config()).await
    }

    /// Starts a node found down so that its commit log replays before a drain.
    pub async fn replay_if_down(&self) -> Result<Option<String>, String> {
        control::replay_if_down(self.config()).await
    }

    /// `nodetool drain` (done when the node is down or drained already).
    pub async fn drain(&self) -> Result<String, String> {
        control::drain(self.config()).await
    }

    /// Stops the node and waits until it is down.
    pub async fn stop(&self) -> Result<String, String> {
        control::stop(self.config()).await
    }

    /// Starts the node (returns once the start is under way).
    pub async fn start(&self) -> Result<String, String> {
        control::start(self.config()).await
    }

    /// Moves a table's live SSTables aside (node down).
    pub async fn move_aside(&self, table: &TablePlan, plan: &Plan) -> Result<String, String> {
        aside::move_aside(table, plan, self.config()).await
    }

    /// Moves the commit log segments aside (node down).
    pub async fn clear_commitlog(&self, plan: &Plan) -> Result<String, String> {
        aside::clear_commitlog(plan, self.config()).await
    }

    /// Links the snapshot's files of a table into its live directory (node down); `create`:
    /// the directory is made when missing (a node rebuilt after it lost its data).
    pub async fn link(&self, table: &TablePlan, create: bool) -> Result<String, String> {
        aside::link(table, self.config(), create).await
    }

    /// True when the node is down and holds no data (no `system_schema` SSTable).
    pub async fn is_down_without_data(&self) -> bool {
        control::holds_no_data(self.config())
            && control::node_state(self.config()).await == control::NodeState::Down
    }

    /// What `plan` set aside that is still there, measured.
    pub fn asides(&self, plan: &Plan) -> Result<Vec<aside::Aside>, String> {
        aside::asides(plan, self.config())
    }

    /// Removes what `plan` set aside. Returns the directories removed.
    pub fn remove_asides(&self, plan: &Plan) -> Result<Vec<PathBuf>, String> {
        aside::remove_asides(plan, self.config())
    }

    /// Puts every file back as it was before a full-node swap (node down).
    pub async fn put_back(&self, plan: &Plan) -> Result<String, String> {
        let (p, node) = (plan.clone(), self.config().clone());
        blocking(move || aside::put_back_files(&p, &node)).await
    }
}

/// A `nodetool snapshot` request: the tag, an optional TTL (`30d`), whether to skip the
/// flush, and what to snapshot (keyspaces, or `keyspace.table` names; everything when both
/// are empty).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotRequest {
    pub tag: String,
    pub ttl: Option<String>,
    pub skip_flush: bool,
    pub keyspaces: Vec<String>,
    pub tables: Vec<String>,
}

/// What [`Node::restored_files`] found for one restored table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RestoredFiles {
    /// The table's live directory was found.
    pub dir_found: bool,
    /// The snapshot's `Data.db` files.
    pub data_files: u64,
    /// Of those, how many are in the live directory (same inode; copies count as there).
    pub linked: u64,
    /// Of those, how many match their `Digest.crc32`.
    pub digests_ok: u64,
    /// What did not match, a sentence each.
    pub notes: Vec<String>,
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("the file task failed: {e}")))
}

/// Table `shop.orders` restored in place from the snapshot directory `source` with `files`:
/// the plan the node's unit tests start from and change what they test.
#[cfg(test)]
pub(crate) fn orders_plan(source: &Path, files: Vec<PlanFile>) -> TablePlan {
    TablePlan {
        keyspace: "shop".into(),
        table: "orders".into(),
        source_table_id: "0123456789abcdef0123456789abcdef".into(),
        data_dir: String::new(),
        source_dir: source.display().to_string(),
        target_keyspace: "shop".into(),
        target_table: "orders".into(),
        target_table_id: None,
        staging_dir: String::new(),
        aside_dir: None,
        files,
        bytes: 0,
        sstables: 0,
        hard_link: true,
        bytes_to_copy: 0,
        expected_rows: None,
        expected_rows_method: None,
        schema_check: app::api::SchemaCheck {
            verdict: app::api::Verdict::Compatible,
            differences: Vec::new(),
        },
        schema_cql: String::new(),
        download_bytes: 0,
        backup_files: 0,
    }
}
