//! Off-node backups as jobs: a snapshot copied to a store, a node's incremental backups
//! shipped (uploaded, verified, recorded, and only then removed locally), a store's objects
//! verified, and the catalog's view of a store rebuilt from its manifests.
//!
//! Every file is hashed first; content the store already holds (verified in the catalog, or
//! present with the right size and then verified) is never sent again. Each object sent is
//! read back and checked before it counts, and a manifest is written only after all of its
//! objects did, so a crash or a failing store leaves nothing half-recorded: the next run
//! finds the verified objects in the catalog and sends only the rest.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use app::api::{BacklogDto, BacklogNode, BacklogTable, JobDto, StoreDto, UploadDto, format_bytes};
use futures::StreamExt as _;
use serde::Deserialize;
use sqlx::SqlitePool;

use super::manifest::{Manifest, ManifestFile, ManifestTable};
use super::store::{Store, StoreConfig, hash_file};
use crate::clock::now_ms;
use crate::error::ServiceError;
use crate::jobs;
use crate::node::{Node, NodeConfig, TableRef};

/// `[backups]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupsConfig {
    /// How often nodes with `ship_backups = true` have their `backups/` shipped.
    pub ship_interval_secs: u64,
    /// A backlog whose oldest file is older than this gets a warning.
    pub backlog_warn_secs: u64,
    /// Objects no upload names any more are deleted from the store this long after.
    pub purge_grace_hours: u64,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        Self {
            ship_interval_secs: 300,
            backlog_warn_secs: 3600,
            purge_grace_hours: 24,
        }
    }
}

/// A configured store: opened, or why it could not be.
#[derive(Clone)]
struct StoreSlot {
    config: StoreConfig,
    store: Result<Store, String>,
}

/// Off-node backups.
#[derive(Clone)]
pub struct BackupService {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
    stores: Arc<Vec<StoreSlot>>,
    config: BackupsConfig,
    /// Nodes with an upload or shipping job running (one at a time per node).
    busy: Arc<Mutex<HashSet<String>>>,
}

/// One file to send: where it is on the node and what it is.
#[derive(Debug, Clone)]
struct Outgoing {
    table: TableRef,
    /// The snapshot tag, or `None` for a file of `backups/`.
    tag: Option<String>,
    /// Its path relative to the snapshot or `backups/` directory.
    name: String,
    size: u64,
    ino: u64,
}

/// One file in the store.
#[derive(Debug, Clone)]
struct Sent {
    file: Outgoing,
    manifest: ManifestFile,
    bytes_sent: u64,
}

/// The busy mark of a purge: no upload, shipping or fetch starts while it is set, and it is
/// set only when none runs.
const PURGING: &str = "\u{0}purge";

/// A store's failure as the request services report it: a manifest sealed with another key
/// is a conflict with the configuration; anything else means the store cannot be used now.
impl From<super::store::StoreError> for ServiceError {
    fn from(e: super::store::StoreError) -> Self {
        match e {
            super::store::StoreError::WrongKey { .. } => ServiceError::Conflict(e.to_string()),
            other => ServiceError::Unavailable(other.to_string()),
        }
    }
}

/// What a per-node job does on each node.
#[derive(Debug, Clone)]
enum PerNode {
    /// Copy snapshot TAG to the node's store.
    Upload(String),
    /// Ship the node's `backups/`.
    Ship,
}

impl PerNode {
    fn kind(&self) -> &'static str {
        match self {
            PerNode::Upload(_) => "upload",
            PerNode::Ship => "ship",
        }
    }

    fn doing(&self, node: &str, store: &str) -> String {
        match self {
            PerNode::Upload(tag) => format!("{node}: copying snapshot {tag} to {store}"),
            PerNode::Ship => format!("{node}: shipping backups/ to {store}"),
        }
    }
}

/// Releases a node's busy mark when the job ends.
struct BusyGuard {
    busy: Arc<Mutex<HashSet<String>>>,
    node: String,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.node);
    }
}

fn job_dto(id: i64, kind: &str, message: String) -> JobDto {
    JobDto {
        id,
        kind: kind.into(),
        state: "queued".into(),
        progress: 0.0,
        message,
        error: None,
    }
}

impl BackupService {
    /// The service over `stores` (each opened now; one that cannot be opened says why
    /// whenever it is used).
    pub fn new(
        pool: SqlitePool,
        nodes: Vec<NodeConfig>,
        stores: Vec<StoreConfig>,
        config: BackupsConfig,
    ) -> Self {
        let stores = stores
            .into_iter()
            .map(|c| StoreSlot {
                store: Store::open(&c).map_err(|e| e.to_string()),
                config: c,
            })
            .collect();
        Self {
            pool,
            nodes: Arc::new(nodes),
            stores: Arc::new(stores),
            config,
            busy: Arc::default(),
        }
    }

    fn node(&self, name: &str) -> Result<&NodeConfig, ServiceError> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
            ServiceError::NotFound(format!(
                "no node `{name}`; configured nodes: {}",
                known.join(", ")
            ))
        })
    }

    fn select_nodes(&self, node: Option<&str>) -> Result<Vec<NodeConfig>, ServiceError> {
        match node.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => Ok(vec![self.node(name)?.clone()]),
            None => Ok(self.nodes.to_vec()),
        }
    }

    /// The store called `name` (or the node's, or the first), opened.
    fn store(&self, name: Option<&str>, node: Option<&NodeConfig>) -> Result<Store, ServiceError> {
        let wanted = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .or(node.and_then(|n| n.store.as_deref()));
        let slot = match wanted {
            Some(w) => self
                .stores
                .iter()
                .find(|s| s.config.name == w)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        self.stores.iter().map(|s| s.config.name.as_str()).collect();
                    ServiceError::NotFound(format!(
                        "no store `{w}`; configured stores: {}",
                        known.join(", ")
                    ))
                })?,
            None => self
                .stores
                .first()
                .ok_or_else(|| ServiceError::NotFound("no store is configured".into()))?,
        };
        slot.store.clone().map_err(ServiceError::Unavailable)
    }

    /// The configured stores' names.
    pub fn store_names(&self) -> Vec<String> {
        self.stores.iter().map(|s| s.config.name.clone()).collect()
    }

    /// The store named `name`, opened (a restore downloads from it).
    pub fn open_store(&self, name: &str) -> Result<Store, ServiceError> {
        self.store(Some(name), None)
    }

    fn claim(&self, node: &str) -> Result<BusyGuard, ServiceError> {
        let mut busy = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if busy.contains(PURGING) {
            return Err(ServiceError::Busy(
                "a purge is deleting objects from a store; retry when it has finished".into(),
            ));
        }
        if !busy.insert(node.to_string()) {
            return Err(ServiceError::Busy(format!(
                "node `{node}` has an upload or shipping job running; retry when it has finished"
            )));
        }
        Ok(BusyGuard {
            busy: self.busy.clone(),
            node: node.to_string(),
        })
    }

    /// The configured stores with what the catalog knows of them.
    pub async fn stores(&self) -> Result<Vec<StoreDto>, ServiceError> {
        let mut out = Vec::new();
        for (i, slot) in self.stores.iter().enumerate() {
            let name = &slot.config.name;
            let (objects, object_bytes, failed, last): (i64, i64, i64, Option<i64>) =
                sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0), \
                     COALESCE(SUM(problem IS NOT NULL), 0), MAX(verified_at) \
                     FROM store_objects WHERE store = ?",
                )
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            let uploads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE store = ?")
                .bind(name)
                .fetch_one(&self.pool)
                .await?;
            let nodes = self
                .nodes
                .iter()
                .filter(|n| match &n.store {
                    Some(s) => s == name,
                    None => i == 0,
                })
                .map(|n| n.name.clone())
                .collect();
            let (location, key_fingerprint) = match &slot.store {
                Ok(s) => (s.location(), s.key_fingerprint().map(str::to_string)),
                Err(e) => (format!("unusable: {e}"), None),
            };
            out.push(StoreDto {
                name: name.clone(),
                kind: format!("{:?}", slot.config.kind).to_ascii_lowercase(),
                location,
                encrypted: slot.config.encrypted(),
                key_fingerprint,
                nodes,
                uploads,
                objects,
                object_bytes,
                objects_failed: failed,
                last_verified_at: last,
            });
        }
        Ok(out)
    }

    /// Writes, reads and deletes a test object in a store: `Ok` or the service's own words.
    pub async fn test_store(&self, name: &str) -> Result<(), ServiceError> {
        let store = self.store(Some(name), None)?;
        store.test_connection().await.map_err(ServiceError::from)
    }

    /// Starts a job copying snapshot `tag` of every node holding it (or of `node`) to a store.
    pub async fn upload_snapshot(
        &self,
        tag: &str,
        store: Option<&str>,
        node: Option<&str>,
    ) -> Result<JobDto, ServiceError> {
        crate::snapshots::validate::tag(tag)
            .map_err(|e| ServiceError::bad("tag", e.to_string()))?;
        let mut targets = Vec::new();
        for n in self.select_nodes(node)? {
            let present: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM snapshots WHERE node = ? AND tag = ? AND status = 'present'",
            )
            .bind(&n.name)
            .bind(tag)
            .fetch_one(&self.pool)
            .await?;
            if present > 0 {
                let s = self.store(store, Some(&n))?;
                targets.push((n, s));
            }
        }
        if targets.is_empty() {
            return Err(ServiceError::NotFound(format!(
                "no snapshot `{tag}`{} to upload",
                node.map(|n| format!(" on node `{n}`")).unwrap_or_default()
            )));
        }
        self.start_per_node(node, targets, PerNode::Upload(tag.to_string()))
            .await
    }

    /// Starts job `what` over each (node, store) in turn, each node marked busy until the job
    /// ends; the job fails at the first node that fails, naming it.
    async fn start_per_node(
        &self,
        node: Option<&str>,
        targets: Vec<(NodeConfig, Store)>,
        what: PerNode,
    ) -> Result<JobDto, ServiceError> {
        let guards = targets
            .iter()
            .map(|(n, _)| self.claim(&n.name))
            .collect::<Result<Vec<_>, _>>()?;
        jobs::room(&self.pool).await?.map_err(ServiceError::Busy)?;
        let kind = what.kind();
        let id = jobs::create(&self.pool, kind, node).await?;
        let message = what.doing("the nodes", "the store");
        let this = self.clone();
        tokio::spawn(async move {
            let _ = jobs::start(&this.pool, id).await;
            let steps = jobs::Steps::new(&this.pool, id, targets.len());
            let mut summary = Vec::new();
            let mut failed = None;
            for (i, (node, store)) in targets.iter().enumerate() {
                steps
                    .at(i as f64, &what.doing(&node.name, store.name()))
                    .await;
                let done = match &what {
                    PerNode::Upload(tag) => this.upload_one(id, node, store, tag).await,
                    PerNode::Ship => this.ship_one(id, node, store).await,
                };
                match done {
                    Ok(s) => summary.push(s),
                    Err(e) => {
                        failed = Some(format!("{}: {e}", node.name));
                        break;
                    }
                }
            }
            // The nodes are free before the job says it ended: whoever waits for the job
            // (a schedule's retention purging copies) finds nothing busy.
            drop(guards);
            let _ = match failed {
                Some(e) => jobs::fail(&this.pool, id, &e).await,
                None => jobs::finish(&this.pool, id, &summary.join("; ")).await,
            };
        });
        Ok(job_dto(id, kind, message))
    }

    async fn upload_one(
        &self,
        job: i64,
        node: &NodeConfig,
        store: &Store,
        tag: &str,
    ) -> Result<String, String> {
        let n = Node::local(node);
        let scan = n.scan(None).await?;
        let mut files = Vec::new();
        for t in &scan.tables {
            let Some(snap) = t.snapshots.iter().find(|s| s.tag == tag) else {
                continue;
            };
            let table = TableRef {
                data_dir: t.data_dir.clone(),
                keyspace: t.keyspace.clone(),
                table: t.table.clone(),
                table_id: t.id.clone(),
            };
            for f in &snap.files.files {
                files.push(Outgoing {
                    table: table.clone(),
                    tag: Some(tag.to_string()),
                    name: f.rel.clone(),
                    size: f.size,
                    ino: f.ino,
                });
            }
        }
        if files.is_empty() {
            return Err(format!("snapshot {tag} is no longer on the node"));
        }
        let sent = self.send(job, &n, store, files).await?;
        let (manifest, bytes_sent, files_sent) =
            self.manifest(&n, store, "snapshot", tag, &sent).await;
        let key = store
            .put_manifest(&manifest)
            .await
            .map_err(|e| e.to_string())?;
        self.record_upload(store, &manifest, &key, bytes_sent, files_sent, Some(job))
            .await
            .map_err(|e| format!("cannot record the upload: {e}"))?;
        let (count, bytes) = manifest.totals();
        Ok(format!(
            "{}: snapshot {tag} in store {}: {count} files, {} ({} sent, {files_sent} new objects)",
            node.name,
            store.name(),
            format_bytes(bytes as i64),
            format_bytes(bytes_sent as i64)
        ))
    }

    /// Hashes, sends (unless stored) and verifies every file, several at a time.
    async fn send(
        &self,
        job: i64,
        node: &Node<'_>,
        store: &Store,
        files: Vec<Outgoing>,
    ) -> Result<Vec<Sent>, String> {
        let total = files.len();
        let total_bytes: u64 = files.iter().map(|f| f.size).sum();
        let mut done_bytes = 0u64;
        let mut results =
            futures::stream::iter(files.into_iter().map(|f| self.send_one(node, store, f)))
                .buffer_unordered(store.config.parallel_uploads.max(1));
        let mut out = Vec::with_capacity(total);
        let mut sent_bytes = 0u64;
        let mut reported = std::time::Instant::now();
        while let Some(r) = results.next().await {
            let s = r?;
            done_bytes += s.file.size;
            sent_bytes += s.bytes_sent;
            out.push(s);
            // The first file, every 16th, the last, and at least once a second in between.
            if out.len() == 1
                || out.len().is_multiple_of(16)
                || out.len() == total
                || reported.elapsed() >= std::time::Duration::from_secs(1)
            {
                reported = std::time::Instant::now();
                let frac = if total_bytes == 0 {
                    out.len() as f64 / total as f64
                } else {
                    done_bytes as f64 / total_bytes as f64
                };
                let _ = jobs::progress(
                    &self.pool,
                    job,
                    frac,
                    &format!(
                        "{} of {total} files stored and verified ({} of {}; {} sent)",
                        out.len(),
                        format_bytes(done_bytes as i64),
                        format_bytes(total_bytes as i64),
                        format_bytes(sent_bytes as i64)
                    ),
                )
                .await;
            }
        }
        Ok(out)
    }

    async fn send_one(&self, node: &Node<'_>, store: &Store, f: Outgoing) -> Result<Sent, String> {
        let where_ = || {
            format!(
                "{}.{} {}{}",
                f.table.keyspace,
                f.table.table,
                f.tag
                    .as_deref()
                    .map(|t| format!("snapshot {t}/"))
                    .unwrap_or_else(|| "backups/".into()),
                f.name
            )
        };
        let file = node
            .open_table_file(&f.table, f.tag.as_deref(), &f.name)
            .map_err(|e| format!("{}: {e}", where_()))?;
        let (sha, size, file) = hash_file(file)
            .await
            .map_err(|e| format!("cannot read {}: {e}", where_()))?;
        let address = store.address(&sha);
        let known: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM store_objects WHERE store = ? AND address = ? AND size = ? \
             AND verified_at IS NOT NULL AND problem IS NULL",
        )
        .bind(store.name())
        .bind(&address)
        .bind(size as i64)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| format!("catalog: {e}"))?;
        let bytes_sent = if known.is_some() {
            // Named again: no longer a candidate for deletion.
            sqlx::query(
                "UPDATE store_objects SET orphaned_at = NULL WHERE store = ? AND address = ?",
            )
            .bind(store.name())
            .bind(&address)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("catalog: {e}"))?;
            0
        } else {
            let stored = store
                .put_file(tokio::fs::File::from_std(file), size, &sha)
                .await
                .map_err(|e| format!("{}: {e}", where_()))?;
            store
                .verify(&address, size, &sha)
                .await
                .map_err(|e| format!("{}: {e}", where_()))?;
            let now = now_ms();
            sqlx::query(
                "INSERT INTO store_objects (store, address, size, sha256, uploaded_at, verified_at, problem) \
                 VALUES (?, ?, ?, ?, ?, ?, NULL) \
                 ON CONFLICT (store, address) DO UPDATE SET verified_at = excluded.verified_at, problem = NULL, orphaned_at = NULL",
            )
            .bind(store.name())
            .bind(&address)
            .bind(size as i64)
            .bind(hex::encode(sha))
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("catalog: {e}"))?;
            stored.sent
        };
        Ok(Sent {
            manifest: ManifestFile {
                name: f.name.clone(),
                size,
                sha256: hex::encode(sha),
                address,
            },
            file: f,
            bytes_sent,
        })
    }

    /// The manifest of what was sent, with bytes and objects sent.
    async fn manifest(
        &self,
        node: &Node<'_>,
        store: &Store,
        kind: &str,
        id: &str,
        sent: &[Sent],
    ) -> (Manifest, u64, u64) {
        let mut tables: Vec<ManifestTable> = Vec::new();
        for s in sent {
            let t = &s.file.table;
            let pos = tables
                .iter()
                .position(|m| m.table_id == t.table_id && m.keyspace == t.keyspace);
            let entry = match pos {
                Some(p) => &mut tables[p],
                None => {
                    tables.push(ManifestTable {
                        keyspace: t.keyspace.clone(),
                        table: t.table.clone(),
                        table_id: t.table_id.clone(),
                        files: Vec::new(),
                    });
                    tables.last_mut().expect("just pushed")
                }
            };
            entry.files.push(s.manifest.clone());
        }
        for t in &mut tables {
            t.files.sort_by(|a, b| a.name.cmp(&b.name));
        }
        tables.sort_by(|a, b| (&a.keyspace, &a.table).cmp(&(&b.keyspace, &b.table)));
        let host_id = node
            .info(std::time::Duration::from_secs(30))
            .await
            .ok()
            .and_then(|i| i.get("ID").map(str::to_string));
        let bytes_sent = sent.iter().map(|s| s.bytes_sent).sum();
        let files_sent = sent.iter().filter(|s| s.bytes_sent > 0).count() as u64;
        (
            Manifest {
                format: 1,
                kind: kind.into(),
                id: id.into(),
                node: node.config().name.clone(),
                host_id,
                created_at: now_ms(),
                key_fingerprint: store.key_fingerprint().map(str::to_string),
                schema_version: None,
                tables,
            },
            bytes_sent,
            files_sent,
        )
    }

    /// Records an upload and its files (replacing an earlier record of the same manifest).
    async fn record_upload(
        &self,
        store: &Store,
        m: &Manifest,
        key: &str,
        bytes_sent: u64,
        files_sent: u64,
        job: Option<i64>,
    ) -> Result<i64, sqlx::Error> {
        let (files, bytes) = m.totals();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM uploads WHERE store = ? AND manifest_key = ?")
            .bind(store.name())
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO uploads (store, kind, node, name, manifest_key, created_at, files, bytes, \
             bytes_sent, files_sent, key_fingerprint, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING id",
        )
        .bind(store.name())
        .bind(&m.kind)
        .bind(&m.node)
        .bind(&m.id)
        .bind(key)
        .bind(m.created_at)
        .bind(files as i64)
        .bind(bytes as i64)
        .bind(bytes_sent as i64)
        .bind(files_sent as i64)
        .bind(&m.key_fingerprint)
        .bind(job)
        .fetch_one(&mut *tx)
        .await?;
        for t in &m.tables {
            for f in &t.files {
                sqlx::query(
                    "INSERT INTO upload_files (upload_id, keyspace, table_name, table_id, name, size, sha256, address) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id)
                .bind(&t.keyspace)
                .bind(&t.table)
                .bind(&t.table_id)
                .bind(&f.name)
                .bind(f.size as i64)
                .bind(&f.sha256)
                .bind(&f.address)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Starts a job fetching snapshot `tag` of a node back from a store into each table's
    /// `snapshots/<tag>/` on the node, every file checked against its hash, so the restore
    /// wizard can restore it like any local snapshot.
    pub async fn fetch_snapshot(
        &self,
        tag: &str,
        store: Option<&str>,
        node: Option<&str>,
    ) -> Result<JobDto, ServiceError> {
        crate::snapshots::validate::tag(tag)
            .map_err(|e| ServiceError::bad("tag", e.to_string()))?;
        let nc = match node.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => self.node(n)?.clone(),
            None if self.nodes.len() == 1 => self.nodes[0].clone(),
            None => {
                return Err(ServiceError::bad(
                    "node",
                    "several nodes are configured: name the node the snapshot was taken on",
                ));
            }
        };
        let s = self.store(store, Some(&nc))?;
        let key = Store::manifest_key(&nc.name, "snapshot", tag);
        let present = s.has_manifest(&key).await.map_err(ServiceError::from)?;
        if !present {
            return Err(ServiceError::NotFound(format!(
                "store `{}` holds no snapshot `{tag}` of node {}",
                s.name(),
                nc.name
            )));
        }
        let manifest = s.get_manifest(&key).await?;
        // Headroom: the download must fit, with room to spare, on each data directory.
        let n = Node::local(&nc);
        let (_, bytes) = manifest.totals();
        for dir in &nc.data_dirs {
            if let Ok(fs) = n.fs_stats(dir)
                && fs.avail_bytes < bytes.saturating_mul(11) / 10
            {
                return Err(ServiceError::Conflict(format!(
                    "fetching snapshot {tag} needs {} on {}, which has {} free for Cassandra",
                    format_bytes(bytes as i64),
                    dir.display(),
                    format_bytes(fs.avail_bytes as i64)
                )));
            }
        }
        let guard = self.claim(&nc.name)?;
        jobs::room(&self.pool).await?.map_err(ServiceError::Busy)?;
        let id = jobs::create(&self.pool, "fetch", Some(&nc.name)).await?;
        let this = self.clone();
        let tag = tag.to_string();
        tokio::spawn(async move {
            let _guard = guard;
            let _ = jobs::start(&this.pool, id).await;
            let outcome = this.fetch_one(id, &nc, &s, &tag, &manifest).await;
            let _ = match outcome {
                Ok(msg) => jobs::finish(&this.pool, id, &msg).await,
                Err(e) => jobs::fail(&this.pool, id, &e).await,
            };
        });
        Ok(job_dto(
            id,
            "fetch",
            "fetching the snapshot from the store".into(),
        ))
    }

    async fn fetch_one(
        &self,
        job: i64,
        nc: &NodeConfig,
        store: &Store,
        tag: &str,
        m: &Manifest,
    ) -> Result<String, String> {
        let n = Node::local(nc);
        let mut dirs = Vec::new();
        let written = async {
            let (total, total_bytes) = m.totals();
            let mut done = 0u64;
            for t in &m.tables {
                let table = n
                    .table_home(&t.keyspace, &t.table, &t.table_id)
                    .ok_or("the node has no data directory")?;
                let d = n
                    .prepare_fetch(&table, tag)
                    .map_err(|e| format!("{}.{}: {e}", t.keyspace, t.table))?;
                dirs.push(d.clone());
                for f in &t.files {
                    let sha = f.sha().ok_or_else(|| {
                        format!("the manifest's hash of {} is not a SHA-256", f.name)
                    })?;
                    let dest =
                        crate::node::backups::fetch_path(&d, &f.name).map_err(|e| e.to_string())?;
                    store
                        .download(&f.address, f.size, &sha, &dest)
                        .await
                        .map_err(|e| format!("{}.{} {}: {e}", t.keyspace, t.table, f.name))?;
                    done += 1;
                    if done.is_multiple_of(8) {
                        let _ = jobs::progress(
                            &self.pool,
                            job,
                            done as f64 / total.max(1) as f64,
                            &format!("{done} of {total} files fetched and checked"),
                        )
                        .await;
                    }
                }
            }
            for d in &dirs {
                crate::node::backups::finish_fetch(d).map_err(|e| e.to_string())?;
            }
            Ok::<(u64, u64), String>((total, total_bytes))
        }
        .await;
        let (files, bytes) = match written {
            Ok(x) => x,
            Err(e) => {
                for d in &dirs {
                    crate::node::backups::discard_fetch(d);
                }
                return Err(format!(
                    "{e}; nothing was kept of the fetch and nothing live was touched"
                ));
            }
        };
        // Recorded like any snapshot found on the node, so the restore wizard offers it.
        crate::inventory::scan_node(&self.pool, nc, job)
            .await
            .map_err(|e| format!("fetched, but the scan that records it failed: {e}"))?;
        Ok(format!(
            "{}: snapshot {tag} fetched from store {}: {files} files, {}, every hash checked; restore it from Restores",
            nc.name,
            store.name(),
            format_bytes(bytes as i64)
        ))
    }

    /// Starts a job shipping the incremental backups of every node (or of `node`).
    pub async fn ship(&self, node: Option<&str>) -> Result<JobDto, ServiceError> {
        let mut targets = Vec::new();
        for n in self.select_nodes(node)? {
            let s = self.store(None, Some(&n))?;
            targets.push((n, s));
        }
        self.start_per_node(node, targets, PerNode::Ship).await
    }

    async fn ship_one(&self, job: i64, node: &NodeConfig, store: &Store) -> Result<String, String> {
        let n = Node::local(node);
        let tables = n.list_backups().await?;
        let mut files = Vec::new();
        let mut incomplete = 0usize;
        for t in &tables {
            for set in n.backup_sets(t) {
                if !set.complete() {
                    incomplete += 1;
                    continue;
                }
                for f in set.files {
                    files.push(Outgoing {
                        table: t.table.clone(),
                        tag: None,
                        name: f.name,
                        size: f.size,
                        ino: f.ino,
                    });
                }
            }
        }
        let waiting = if incomplete > 0 {
            format!(" ({incomplete} SSTables still being written wait for the next run)")
        } else {
            String::new()
        };
        if files.is_empty() {
            return Ok(format!("{}: nothing to ship{waiting}", node.name));
        }
        let sent = self.send(job, &n, store, files).await?;
        let batch = format!("{:013}-{job}", now_ms());
        let (manifest, bytes_sent, files_sent) =
            self.manifest(&n, store, "backup", &batch, &sent).await;
        let key = store
            .put_manifest(&manifest)
            .await
            .map_err(|e| e.to_string())?;
        self.record_upload(store, &manifest, &key, bytes_sent, files_sent, Some(job))
            .await
            .map_err(|e| format!("cannot record the shipped batch: {e}"))?;
        // Only now, with every object verified and the manifest written, do links go.
        let mut removed = 0u64;
        let mut kept = Vec::new();
        for s in &sent {
            match n.remove_backup(&s.file.table, &s.file.name, s.file.ino) {
                Ok(true) => removed += 1,
                Ok(false) => {}
                Err(e) => kept.push(e.to_string()),
            }
        }
        let (count, bytes) = manifest.totals();
        let mut msg = format!(
            "{}: shipped {count} files ({}, {} sent) to {} and removed {removed} local links{waiting}",
            node.name,
            format_bytes(bytes as i64),
            format_bytes(bytes_sent as i64),
            store.name()
        );
        if !kept.is_empty() {
            msg.push_str(&format!(
                "; {} links could not be removed: {}",
                kept.len(),
                kept.join("; ")
            ));
        }
        Ok(msg)
    }

    /// Runs a shipping job for every node with `ship_backups = true`, every
    /// `ship_interval_secs`, skipping nodes that are busy.
    pub fn spawn_shipper(&self) {
        let shipping: Vec<String> = self
            .nodes
            .iter()
            .filter(|n| n.ship_backups)
            .map(|n| n.name.clone())
            .collect();
        if shipping.is_empty() {
            return;
        }
        let this = self.clone();
        let every = std::time::Duration::from_secs(self.config.ship_interval_secs.max(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for name in &shipping {
                    match this.ship(Some(name)).await {
                        Ok(job) => tracing::info!(node = %name, job = job.id, "shipping backups"),
                        Err(ServiceError::Busy(_)) => {}
                        Err(e) => tracing::warn!(node = %name, error = %e, "cannot ship backups"),
                    }
                }
            }
        });
    }

    /// Starts a job re-reading a store's objects (all, or the `sample` verified longest ago)
    /// and checking their content.
    pub async fn verify(&self, store: &str, sample: Option<u64>) -> Result<JobDto, ServiceError> {
        let s = self.store(Some(store), None)?;
        jobs::room(&self.pool).await?.map_err(ServiceError::Busy)?;
        let id = jobs::create(&self.pool, "verify", None).await?;
        let this = self.clone();
        let limit = sample.map(|n| n as i64).unwrap_or(-1);
        tokio::spawn(async move {
            let _ = jobs::start(&this.pool, id).await;
            match this.verify_objects(id, &s, limit).await {
                Ok(msg) => {
                    let _ = jobs::finish(&this.pool, id, &msg).await;
                }
                Err(e) => {
                    let _ = jobs::fail(&this.pool, id, &e).await;
                }
            }
        });
        Ok(job_dto(id, "verify", format!("verifying store {store}")))
    }

    async fn verify_objects(&self, job: i64, store: &Store, limit: i64) -> Result<String, String> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT address, size, sha256 FROM store_objects WHERE store = ? \
             ORDER BY verified_at IS NOT NULL, verified_at LIMIT ?",
        )
        .bind(store.name())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| format!("catalog: {e}"))?;
        let total = rows.len();
        let mut problems = Vec::new();
        for (i, (address, size, sha)) in rows.iter().enumerate() {
            let sha_bytes: Option<[u8; 32]> = hex::decode(sha).ok().and_then(|b| b.try_into().ok());
            let outcome = match sha_bytes {
                Some(h) => store.verify(address, *size as u64, &h).await,
                None => Err(super::store::StoreError::Invalid {
                    store: store.name().into(),
                    message: format!("the catalog's hash of object {address} is not a SHA-256"),
                }),
            };
            let problem = match outcome {
                Ok(()) => None,
                // A store that cannot be reached is no finding about the object.
                Err(e @ super::store::StoreError::Backend { .. }) => return Err(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            if let Some(p) = &problem {
                problems.push(p.clone());
            }
            sqlx::query(
                "UPDATE store_objects SET verified_at = ?, problem = ? WHERE store = ? AND address = ?",
            )
            .bind(now_ms())
            .bind(&problem)
            .bind(store.name())
            .bind(address)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("catalog: {e}"))?;
            if i.is_multiple_of(16) {
                let _ = jobs::progress(
                    &self.pool,
                    job,
                    i as f64 / total.max(1) as f64,
                    &format!("{i} of {total} objects checked"),
                )
                .await;
            }
        }
        if problems.is_empty() {
            Ok(format!(
                "{total} objects of store {} verified: all intact",
                store.name()
            ))
        } else {
            Err(format!(
                "{} of {total} objects of store {} failed verification: {}",
                problems.len(),
                store.name(),
                problems.join("; ")
            ))
        }
    }

    /// Rebuilds the catalog's view of a store from its manifests alone: every upload and
    /// its files, and every object they name (not yet verified). Returns (manifests read,
    /// uploads added, objects known).
    pub async fn reindex(&self, store: &str) -> Result<(u64, u64, u64), ServiceError> {
        let s = self.store(Some(store), None)?;
        let keys = s.manifest_keys().await.map_err(ServiceError::from)?;
        let mut added = 0u64;
        for key in &keys {
            let m = s.get_manifest(key).await?;
            let exists: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM uploads WHERE store = ? AND manifest_key = ?")
                    .bind(s.name())
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            if exists.is_none() {
                self.record_upload(&s, &m, key, 0, 0, None).await?;
                added += 1;
            }
            for f in m.tables.iter().flat_map(|t| &t.files) {
                sqlx::query(
                    "INSERT OR IGNORE INTO store_objects (store, address, size, sha256, uploaded_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .bind(s.name())
                .bind(&f.address)
                .bind(f.size as i64)
                .bind(&f.sha256)
                .bind(m.created_at)
                .execute(&self.pool)
                .await?;
            }
        }
        let objects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM store_objects WHERE store = ?")
            .bind(s.name())
            .fetch_one(&self.pool)
            .await?;
        Ok((keys.len() as u64, added, objects as u64))
    }

    /// Purges one upload: its manifest leaves the store and the catalog at once; the objects
    /// no other upload of the store names are deleted after `purge_grace_hours` (an upload
    /// naming one again meanwhile keeps it). Refused while an upload, shipping or fetch runs.
    /// Returns the objects now waiting for deletion.
    pub async fn purge(&self, id: i64) -> Result<(String, u64), ServiceError> {
        let row: Option<(String, String, String, String)> =
            sqlx::query_as("SELECT store, manifest_key, kind, name FROM uploads WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (store_name, key, kind, name) =
            row.ok_or_else(|| ServiceError::NotFound(format!("no upload {id}")))?;
        let store = self.store(Some(&store_name), None)?;
        if let Some(r) = self.restoring_from(id).await? {
            return Err(ServiceError::Busy(format!(
                "restore request {r} restores from this {kind} in store {store_name}; purge it once that request is done, rejected or cancelled"
            )));
        }
        let _guard = self.claim_purge()?;
        store.delete_manifest(&key).await?;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let orphaned = sqlx::query(
            "UPDATE store_objects SET orphaned_at = ? WHERE store = ? AND orphaned_at IS NULL AND address IN \
             (SELECT address FROM upload_files WHERE upload_id = ?) AND address NOT IN \
             (SELECT f.address FROM upload_files f JOIN uploads u ON u.id = f.upload_id \
              WHERE u.store = ? AND u.id != ?)",
        )
        .bind(now)
        .bind(&store_name)
        .bind(id)
        .bind(&store_name)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM uploads WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((format!("{kind} {name} in store {store_name}"), orphaned))
    }

    /// The open restore request (if any) that restores from this upload's store and may
    /// still download what the upload names.
    pub async fn restoring_from(&self, upload: i64) -> Result<Option<i64>, ServiceError> {
        Ok(sqlx::query_scalar(
            "SELECT r.id FROM restore_requests r JOIN uploads u ON u.id = ? \
             WHERE r.node = u.node \
             AND r.state IN ('awaiting_approval', 'approved', 'running', 'interrupted') \
             AND json_extract(r.plan, '$.source_store') = u.store \
             AND (u.kind = 'backup' OR r.tag = u.name) LIMIT 1",
        )
        .bind(upload)
        .fetch_optional(&self.pool)
        .await?)
    }

    fn claim_purge(&self) -> Result<BusyGuard, ServiceError> {
        let mut busy = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !busy.is_empty() {
            return Err(ServiceError::Busy(
                "an upload, shipping or fetch is running and may name the objects a purge would delete; retry when it has finished".into(),
            ));
        }
        busy.insert(PURGING.to_string());
        Ok(BusyGuard {
            busy: self.busy.clone(),
            node: PURGING.to_string(),
        })
    }

    /// Deletes from each store the objects orphaned longer ago than the grace period that no
    /// upload names. Skipped (returns `None`) while an upload, shipping or fetch runs.
    pub async fn sweep_orphans(&self) -> Result<Option<u64>, ServiceError> {
        let Ok(_guard) = self.claim_purge() else {
            return Ok(None);
        };
        let cutoff = now_ms() - self.config.purge_grace_hours as i64 * 3_600_000;
        let mut deleted = 0u64;
        for slot in self.stores.iter() {
            let Ok(store) = &slot.store else { continue };
            let due: Vec<(String,)> = sqlx::query_as(
                "SELECT address FROM store_objects o WHERE store = ? AND orphaned_at IS NOT NULL \
                 AND orphaned_at <= ? AND NOT EXISTS (SELECT 1 FROM upload_files f JOIN uploads u \
                 ON u.id = f.upload_id WHERE u.store = o.store AND f.address = o.address)",
            )
            .bind(store.name())
            .bind(cutoff)
            .fetch_all(&self.pool)
            .await?;
            for (address,) in due {
                store.delete_object(&address).await?;
                sqlx::query("DELETE FROM store_objects WHERE store = ? AND address = ?")
                    .bind(store.name())
                    .bind(&address)
                    .execute(&self.pool)
                    .await?;
                deleted += 1;
            }
        }
        Ok(Some(deleted))
    }

    /// Every hour: [`BackupService::sweep_orphans`].
    pub fn spawn_sweeper(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match this.sweep_orphans().await {
                    Ok(Some(n)) if n > 0 => tracing::info!(objects = n, "purged objects deleted"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot delete purged objects"),
                }
            }
        });
    }

    /// Uploads recorded, newest first: all, or those of one kind and name (a snapshot tag).
    pub async fn uploads(
        &self,
        kind: Option<&str>,
        name: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UploadDto>, ServiceError> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, String, String, i64, i64, i64, i64, i64, Option<String>)> =
            sqlx::query_as(
                "SELECT id, store, kind, node, name, manifest_key, created_at, files, bytes, bytes_sent, \
                 files_sent, key_fingerprint FROM uploads \
                 WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR name = ?2) \
                 ORDER BY created_at DESC, id DESC LIMIT ?3",
            )
            .bind(kind)
            .bind(name)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (unverified, last, problems) = self.verification_of(&r.1, r.0).await?;
            out.push(UploadDto {
                id: r.0,
                store: r.1,
                kind: r.2,
                node: r.3,
                name: r.4,
                manifest_key: r.5,
                created_at: r.6,
                files: r.7,
                bytes: r.8,
                bytes_sent: r.9,
                files_sent: r.10,
                key_fingerprint: r.11,
                verified: unverified == 0,
                verified_at: last,
                problems: problems
                    .map(|p| p.lines().map(str::to_string).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Of upload `id` in `store`: how many of its objects are not verified, when the last
    /// was, and what verification found wrong.
    async fn verification_of(
        &self,
        store: &str,
        id: i64,
    ) -> Result<(i64, Option<i64>, Option<String>), ServiceError> {
        Ok(sqlx::query_as(
            "SELECT COALESCE(SUM(o.verified_at IS NULL OR o.problem IS NOT NULL OR o.address IS NULL), 0), \
             MAX(o.verified_at), GROUP_CONCAT(o.problem, '\n') \
             FROM upload_files f LEFT JOIN store_objects o ON o.store = ? AND o.address = f.address \
             WHERE f.upload_id = ?",
        )
        .bind(store)
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every snapshot copy in the stores, newest first, with the tables each holds and whether
    /// the snapshot is still on its node.
    pub async fn store_copies(
        &self,
        limit: i64,
    ) -> Result<Vec<app::api::StoreCopyDto>, ServiceError> {
        let rows: Vec<(i64, String, String, String, i64, bool)> = sqlx::query_as(
            "SELECT u.id, u.store, u.node, u.name, u.created_at, \
             EXISTS (SELECT 1 FROM snapshots s WHERE s.node = u.node AND s.tag = u.name AND s.status = 'present') \
             FROM uploads u WHERE u.kind = 'snapshot' ORDER BY u.created_at DESC, u.id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, store, node, tag, uploaded_at, on_node) in rows {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT keyspace || '.' || table_name FROM upload_files WHERE upload_id = ? ORDER BY 1",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let (unverified, ..) = self.verification_of(&store, id).await?;
            out.push(app::api::StoreCopyDto {
                node,
                tag,
                store,
                uploaded_at,
                tables,
                verified: unverified == 0,
                on_node,
            });
        }
        Ok(out)
    }

    /// The incremental backups waiting on each node, with the shipping rate.
    pub async fn backlog(&self) -> Result<BacklogDto, ServiceError> {
        Ok(BacklogDto {
            nodes: self.backlog_nodes(true).await?,
            uploads: self.uploads(None, None, 50).await?,
        })
    }

    /// Per node, the warning its backlog gives (shipping off, or falling behind), read from
    /// the disk and the catalog only (no nodetool).
    pub async fn backlog_warnings(&self) -> Result<Vec<(String, String)>, ServiceError> {
        Ok(self
            .backlog_nodes(false)
            .await?
            .into_iter()
            .filter_map(|n| n.warning.map(|w| (n.node, w)))
            .collect())
    }

    /// Each node's backlog; `status` also asks nodetool whether incremental backups are on.
    async fn backlog_nodes(&self, status: bool) -> Result<Vec<BacklogNode>, ServiceError> {
        let now = now_ms();
        let mut nodes = Vec::new();
        for nc in self.nodes.iter() {
            let n = Node::local(nc);
            let mut warning = None;
            let listed = n.list_backups().await;
            let tables = match listed {
                Ok(t) => t,
                Err(e) => {
                    warning = Some(e);
                    Vec::new()
                }
            };
            let mut out_tables = Vec::new();
            for t in &tables {
                let sets = n.backup_sets(t);
                let inodes: HashSet<u64> = t.files.iter().map(|f| f.ino).collect();
                let oldest = t.files.iter().map(|f| f.mtime_ms).min().unwrap_or(now);
                out_tables.push(BacklogTable {
                    keyspace: t.table.keyspace.clone(),
                    table: t.table.table.clone(),
                    table_id: t.table.table_id.clone(),
                    files: t.files.len() as u64,
                    bytes: t.files.iter().map(|f| f.size).sum(),
                    inodes: inodes.len() as u64,
                    sstables_complete: sets.iter().filter(|s| s.complete()).count() as u64,
                    sstables_incomplete: sets.iter().filter(|s| !s.complete()).count() as u64,
                    oldest_age_secs: ((now - oldest).max(0) / 1000) as u64,
                });
            }
            let status = if status {
                n.incremental_backups().await.ok()
            } else {
                None
            };
            let (shipped_bytes, shipped_files, last): (i64, i64, Option<i64>) = sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN created_at >= ? THEN bytes END), 0), \
                 COALESCE(SUM(CASE WHEN created_at >= ? THEN files END), 0), MAX(created_at) \
                 FROM uploads WHERE kind = 'backup' AND node = ?",
            )
            .bind(now - 86_400_000)
            .bind(now - 86_400_000)
            .bind(&nc.name)
            .fetch_one(&self.pool)
            .await?;
            let files: u64 = out_tables.iter().map(|t| t.files).sum();
            let oldest = out_tables
                .iter()
                .map(|t| t.oldest_age_secs)
                .max()
                .unwrap_or(0);
            if warning.is_none() && files > 0 {
                if !nc.ship_backups {
                    warning = Some(format!(
                        "{files} files wait in backups/ and shipping is off for this node: nothing removes them, so they fill the disk and its inodes; set ship_backups = true or ship them on demand"
                    ));
                } else if oldest > self.config.backlog_warn_secs {
                    warning = Some(format!(
                        "the oldest file has waited {} (more than {}): shipping is falling behind or failing; see the last ship job",
                        app::api::format_duration_ms(oldest as i64 * 1000),
                        app::api::format_duration_ms(self.config.backlog_warn_secs as i64 * 1000)
                    ));
                }
            }
            nodes.push(BacklogNode {
                node: nc.name.clone(),
                store: self
                    .store(None, Some(nc))
                    .ok()
                    .map(|s| s.name().to_string()),
                ship_backups: nc.ship_backups,
                incremental_backups: status,
                files,
                bytes: out_tables.iter().map(|t| t.bytes).sum(),
                inodes: out_tables.iter().map(|t| t.inodes).sum(),
                oldest_age_secs: oldest,
                shipped_bytes_24h: shipped_bytes,
                shipped_files_24h: shipped_files,
                last_shipped_at: last,
                warning,
                tables: out_tables,
            });
        }
        Ok(nodes)
    }

    /// `nodetool enablebackup`/`disablebackup` on a node; returns the state it reports after.
    pub async fn set_incremental_backups(
        &self,
        node: &str,
        enabled: bool,
    ) -> Result<bool, ServiceError> {
        let nc = self.node(node)?;
        let n = Node::local(nc);
        n.set_incremental_backups(enabled)
            .await
            .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
        let now = n
            .incremental_backups()
            .await
            .map_err(|e| ServiceError::Unavailable(e.to_string()))?;
        // Overview shows it from the inventory's record of the node.
        sqlx::query("UPDATE nodes SET incremental_backups = ? WHERE name = ?")
            .bind(i64::from(now))
            .bind(&nc.name)
            .execute(&self.pool)
            .await?;
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backups::store::default_local;
    use crate::catalog::Catalog;

    async fn put(store: &Store, dir: &std::path::Path, name: &str, body: &[u8]) -> ManifestFile {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        let (sha, size, f) = hash_file(std::fs::File::open(&path).expect("open"))
            .await
            .expect("hash");
        let stored = store
            .put_file(tokio::fs::File::from_std(f), size, &sha)
            .await
            .expect("put");
        ManifestFile {
            name: name.into(),
            size,
            sha256: hex::encode(sha),
            address: stored.address,
        }
    }

    fn manifest(id: &str, files: Vec<ManifestFile>) -> Manifest {
        Manifest {
            format: 1,
            kind: "snapshot".into(),
            id: id.into(),
            node: "n1".into(),
            host_id: None,
            created_at: 1,
            key_fingerprint: None,
            schema_version: None,
            tables: vec![ManifestTable {
                keyspace: "ks".into(),
                table: "t".into(),
                table_id: "0123456789abcdef0123456789abcdef".into(),
                files,
            }],
        }
    }

    #[tokio::test]
    async fn a_purge_deletes_only_objects_no_other_upload_names_and_waits_for_running_jobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let config = BackupsConfig {
            purge_grace_hours: 0,
            ..BackupsConfig::default()
        };
        let svc = BackupService::new(
            cat.pool().clone(),
            Vec::new(),
            vec![default_local(dir.path())],
            config,
        );
        let store = svc.store(None, None).expect("store");
        let only_first = put(&store, dir.path(), "a", b"only in the first").await;
        let shared = put(&store, dir.path(), "b", b"in both").await;
        let mut ids = Vec::new();
        for m in [
            manifest("first", vec![only_first.clone(), shared.clone()]),
            manifest("second", vec![shared.clone()]),
        ] {
            let key = store.put_manifest(&m).await.expect("manifest");
            ids.push(
                svc.record_upload(&store, &m, &key, 0, 0, None)
                    .await
                    .expect("record"),
            );
            svc.reindex("local").await.expect("objects known");
        }

        // A running upload holds purges off.
        let running = svc.claim("n1").expect("claim");
        assert!(matches!(
            svc.purge(ids[0]).await,
            Err(ServiceError::Busy(_))
        ));
        assert_eq!(svc.sweep_orphans().await.expect("sweep"), None);
        drop(running);

        let (what, orphaned) = svc.purge(ids[0]).await.expect("purge");
        assert_eq!(
            (what.as_str(), orphaned),
            ("snapshot first in store local", 1)
        );
        assert_eq!(
            store.manifest_keys().await.expect("list"),
            vec![Store::manifest_key("n1", "snapshot", "second")]
        );
        // A purge holds uploads off while it runs.
        let purging = svc.claim_purge().expect("purge mark");
        assert!(matches!(svc.claim("n1"), Err(ServiceError::Busy(_))));
        drop(purging);

        assert_eq!(svc.sweep_orphans().await.expect("sweep"), Some(1));
        assert_eq!(
            store.object_size(&only_first.address).await.expect("head"),
            None
        );
        assert!(
            store
                .object_size(&shared.address)
                .await
                .expect("head")
                .is_some()
        );
        assert!(matches!(
            svc.purge(ids[0]).await,
            Err(ServiceError::NotFound(_))
        ));

        let (_, orphaned) = svc.purge(ids[1]).await.expect("purge second");
        assert_eq!(orphaned, 1);
        assert_eq!(svc.sweep_orphans().await.expect("sweep"), Some(1));
        assert!(store.objects().await.expect("list").is_empty());
        assert!(store.manifest_keys().await.expect("list").is_empty());
    }
}
