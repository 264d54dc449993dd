//! The live inventory: which nodes are reachable, their Cassandra version, filesystems, and
//! per table the live SSTables, snapshots, hold and incremental backups, from scans of the
//! data directories. A scan is a job; readers see the newest scan that finished, so the last
//! good figures stay visible while a new scan runs.

pub mod routes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use app::api::{ClusterDto, ClusterNodeDto, FilesystemDto, JobDto, NodeDto, OverviewDto, TableDto};
use sqlx::SqlitePool;

use crate::cassandra::cql::Cql;
use crate::clock::now_ms;
use crate::jobs::{self, Job};
use crate::node::{FileSet, Node, NodeConfig, TableDir};
use crate::reports::sample::Sampler;
use crate::snapshots::record::{RecordOptions, Scope, record};

/// The inventory service: the catalog and the configured nodes.
#[derive(Clone)]
pub struct Inventory {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
}

pub const SCAN_JOB: &str = "scan";

#[derive(sqlx::FromRow)]
struct NodeRow {
    reachable: i64,
    version: Option<String>,
    last_error: Option<String>,
    checked_at: Option<i64>,
    incremental_backups: Option<i64>,
    cluster_name: Option<String>,
    dc: Option<String>,
    rack: Option<String>,
    host_id: Option<String>,
    tokens: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct FsRow {
    data_dir: String,
    total_bytes: Option<i64>,
    avail_bytes: Option<i64>,
    free_bytes: Option<i64>,
    total_inodes: Option<i64>,
    free_inodes: Option<i64>,
    error: Option<String>,
}

impl From<Job> for JobDto {
    fn from(j: Job) -> Self {
        JobDto {
            id: j.id,
            kind: j.kind,
            state: j.state,
            progress: j.progress,
            message: j.message,
            error: j.error,
        }
    }
}

impl Inventory {
    pub fn new(pool: SqlitePool, nodes: Vec<NodeConfig>) -> Self {
        Self {
            pool,
            nodes: Arc::new(nodes),
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn nodes(&self) -> &[NodeConfig] {
        &self.nodes
    }

    /// Starts a scan of every node as a job, or returns the scan already under way.
    pub async fn start_scan(&self) -> Result<Job, sqlx::Error> {
        if let Some(job) = jobs::active(&self.pool, SCAN_JOB).await? {
            return Ok(job);
        }
        let id = jobs::create(&self.pool, SCAN_JOB, None).await?;
        let this = self.clone();
        tokio::spawn(async move {
            this.run_scan(id).await;
        });
        jobs::get(&self.pool, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Runs scan job `id` to its end, recording the outcome in the job.
    pub async fn run_scan(&self, id: i64) {
        let pool = &self.pool;
        if let Err(e) = jobs::start(pool, id).await {
            tracing::error!(job = id, error = %e, "cannot start scan job");
            return;
        }
        let steps = jobs::Steps::new(pool, id, self.nodes.len());
        let mut failures = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            steps.at(i as f64, &format!("scanning {}", node.name)).await;
            if let Err(e) = scan_node(pool, node, id).await {
                tracing::warn!(node = %node.name, error = %e, "scan failed");
                failures.push(format!("{}: {e}", node.name));
            }
        }
        let outcome = if failures.is_empty() {
            jobs::finish(pool, id, &format!("scanned {} node(s)", self.nodes.len())).await
        } else {
            jobs::fail(pool, id, &failures.join("; ")).await
        };
        if let Err(e) = outcome {
            tracing::error!(job = id, error = %e, "cannot record the end of a scan job");
        }
    }

    /// Nodes with their last check and last good scan, and the tokens each owns.
    async fn nodes_with_tokens(&self) -> Result<(Vec<NodeDto>, Vec<Option<i64>>), sqlx::Error> {
        let mut out = Vec::new();
        let mut tokens = Vec::new();
        for n in self.nodes.iter() {
            let row: Option<NodeRow> = sqlx::query_as(
                "SELECT reachable, version, last_error, checked_at, incremental_backups, \
                 cluster_name, dc, rack, host_id, tokens FROM nodes WHERE name = ?",
            )
            .bind(&n.name)
            .fetch_optional(&self.pool)
            .await?;
            let scan: Option<(i64, Option<i64>, i64, i64)> = sqlx::query_as(
                "SELECT id, finished_at, hold_bytes, hold_inodes FROM scans WHERE node = ? AND state = 'done' ORDER BY id DESC LIMIT 1",
            )
            .bind(&n.name)
            .fetch_optional(&self.pool)
            .await?;
            let mut filesystems = Vec::new();
            if let Some((scan_id, ..)) = scan {
                let rows: Vec<FsRow> = sqlx::query_as(
                    "SELECT data_dir, total_bytes, avail_bytes, free_bytes, total_inodes, free_inodes, error FROM scan_filesystems WHERE scan_id = ? ORDER BY data_dir",
                )
                .bind(scan_id)
                .fetch_all(&self.pool)
                .await?;
                filesystems = rows
                    .into_iter()
                    .map(|r| FilesystemDto {
                        data_dir: r.data_dir,
                        total_bytes: r.total_bytes,
                        avail_bytes: r.avail_bytes,
                        free_bytes: r.free_bytes,
                        total_inodes: r.total_inodes,
                        free_inodes: r.free_inodes,
                        error: r.error,
                    })
                    .collect();
            }
            let row = row.unwrap_or(NodeRow {
                reachable: 0,
                version: None,
                last_error: Some("not checked yet: run a scan".into()),
                checked_at: None,
                incremental_backups: None,
                cluster_name: None,
                dc: None,
                rack: None,
                host_id: None,
                tokens: None,
            });
            let incremental_backups = row.incremental_backups.map(|b| b != 0);
            let (reachable, version, error, checked_at) = (
                row.reachable,
                row.version.clone(),
                row.last_error.clone(),
                row.checked_at,
            );
            out.push(NodeDto {
                name: n.name.clone(),
                cql: n.cql.clone(),
                jmx: n.jmx.clone(),
                reachable: reachable != 0,
                version,
                error,
                checked_at,
                scanned_at: scan.and_then(|s| s.1),
                filesystems,
                hold_bytes: scan.map(|s| s.2).unwrap_or(0),
                hold_inodes: scan.map(|s| s.3).unwrap_or(0),
                incremental_backups,
                cluster: row.cluster_name,
                dc: row.dc,
                rack: row.rack,
                host_id: row.host_id,
                agent: None,
            });
            tokens.push(row.tokens);
        }
        Ok((out, tokens))
    }

    /// Nodes with their last check and last good scan.
    pub async fn nodes_view(&self) -> Result<Vec<NodeDto>, sqlx::Error> {
        Ok(self.nodes_with_tokens().await?.0)
    }

    /// The clusters of the configured nodes by name, each with its nodes (by data centre,
    /// rack, name). A node appears once a check has read its `system.local`.
    pub async fn clusters_view(&self) -> Result<Vec<ClusterDto>, sqlx::Error> {
        let (nodes, tokens) = self.nodes_with_tokens().await?;
        let mut clusters: BTreeMap<String, Vec<ClusterNodeDto>> = BTreeMap::new();
        for (n, tokens) in nodes.into_iter().zip(tokens) {
            let Some(cluster) = n.cluster else { continue };
            clusters.entry(cluster).or_default().push(ClusterNodeDto {
                state: if n.reachable { "up" } else { "down" }.into(),
                dc: n.dc.unwrap_or_default(),
                rack: n.rack.unwrap_or_default(),
                name: n.name,
                version: n.version,
                host_id: n.host_id,
                tokens,
                checked_at: n.checked_at,
                error: n.error,
                agent: n.agent,
            });
        }
        Ok(clusters
            .into_iter()
            .map(|(name, mut nodes)| {
                nodes.sort_by(|a, b| (&a.dc, &a.rack, &a.name).cmp(&(&b.dc, &b.rack, &b.name)));
                let mut dcs: Vec<String> = nodes.iter().map(|n| n.dc.clone()).collect();
                dcs.dedup();
                ClusterDto { name, dcs, nodes }
            })
            .collect())
    }

    /// The configured nodes whose last check found them in cluster `name`.
    pub async fn cluster_members(&self, name: &str) -> Result<Vec<String>, sqlx::Error> {
        let known: Vec<String> =
            sqlx::query_scalar("SELECT name FROM nodes WHERE cluster_name = ? ORDER BY name")
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
        Ok(self
            .nodes
            .iter()
            .filter(|n| known.contains(&n.name))
            .map(|n| n.name.clone())
            .collect())
    }

    /// Tables of every node from its last good scan.
    pub async fn tables_view(&self) -> Result<Vec<TableDto>, sqlx::Error> {
        type Row = (
            String,
            String,
            String,
            String,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT s.node, t.keyspace_name, t.table_name, t.table_id, t.in_schema, t.live_bytes, t.live_files, \
                    t.sstables, t.snapshot_count, t.snapshots_bytes, t.hold_bytes, t.backups_bytes, t.backups_files \
             FROM scan_tables t JOIN scans s ON s.id = t.scan_id \
             WHERE s.id IN (SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node) \
             ORDER BY s.node, t.keyspace_name, t.table_name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| TableDto {
                node: r.0,
                keyspace: r.1,
                table: r.2,
                id: r.3,
                in_schema: r.4 != 0,
                live_bytes: r.5,
                live_files: r.6,
                sstables: r.7,
                snapshot_count: r.8,
                snapshots_bytes: r.9,
                hold_bytes: r.10,
                backups_bytes: r.11,
                backups_files: r.12,
            })
            .collect())
    }

    async fn unknown_view(&self) -> Result<Vec<String>, sqlx::Error> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT path, reason FROM scan_unknown WHERE scan_id IN \
             (SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node) ORDER BY path LIMIT 200",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(p, r)| format!("{p}: {r}")).collect())
    }

    pub async fn overview(&self) -> Result<OverviewDto, sqlx::Error> {
        Ok(OverviewDto {
            nodes: self.nodes_view().await?,
            tables: self.tables_view().await?,
            unknown_dirs: self.unknown_view().await?,
            running: jobs::active(&self.pool, SCAN_JOB).await?.map(JobDto::from),
            aside: self.aside_view().await?,
        })
    }

    /// What full-node restores set aside and still keep, largest first.
    async fn aside_view(&self) -> Result<Vec<app::api::AsideDto>, sqlx::Error> {
        type Row = (i64, String, String, String, String, i64, i64, i64, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT restore_id, node, path, kind, what, bytes, files, set_aside_at, keep_until \
             FROM restore_aside WHERE removed_at IS NULL ORDER BY bytes DESC, path",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| app::api::AsideDto {
                restore_id: r.0,
                node: r.1,
                path: r.2,
                kind: r.3,
                what: r.4,
                bytes: r.5,
                files: r.6,
                set_aside_at: r.7,
                keep_until: r.8,
            })
            .collect())
    }
}

/// Records who a node said it is (a node that joins another cluster, or moves rack, is
/// seen at its next check).
async fn record_identity(
    pool: &SqlitePool,
    node: &str,
    id: &crate::cassandra::cql::NodeIdentity,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE nodes SET cluster_name = ?, dc = ?, rack = ?, host_id = ?, tokens = ? WHERE name = ?",
    )
    .bind(&id.cluster_name)
    .bind(&id.data_center)
    .bind(&id.rack)
    .bind(&id.host_id)
    .bind(id.tokens as i64)
    .bind(node)
    .execute(pool)
    .await
    .map(drop)
}

/// Checks one node, reads its schema when reachable, scans its data directories and records
/// the result as a finished scan. Returns an error only when nothing could be recorded.
pub async fn scan_node(pool: &SqlitePool, node: &NodeConfig, job_id: i64) -> Result<i64, String> {
    let on_node = Node::local(node);
    let (reachable, version, error) = match on_node.version(Duration::from_secs(60)).await {
        Ok(v) => (true, Some(v), None),
        Err(e) => (false, None, Some(e.to_string())),
    };
    let incremental = if reachable {
        on_node.incremental_backups().await.ok()
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO nodes (name, reachable, version, last_error, checked_at, incremental_backups) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET reachable = excluded.reachable, \
         version = coalesce(excluded.version, nodes.version), last_error = excluded.last_error, checked_at = excluded.checked_at, \
         incremental_backups = excluded.incremental_backups",
    )
    .bind(&node.name)
    .bind(reachable as i64)
    .bind(&version)
    .bind(&error)
    .bind(now_ms())
    .bind(incremental.map(i64::from))
    .execute(pool)
    .await
    .map_err(|e| e.to_string())?;

    // Table ids of the live schema, to tell current tables from dropped/re-created ones; and
    // who the node is in its cluster.
    let live_ids: Option<HashSet<String>> = if reachable {
        match Cql::connect(&node.cql, Duration::from_secs(10)).await {
            Ok(cql) => {
                match cql.identity().await {
                    Ok(id) => record_identity(pool, &node.name, &id)
                        .await
                        .map_err(|e| e.to_string())?,
                    Err(e) => {
                        tracing::warn!(node = %node.name, error = %e, "cannot read system.local");
                    }
                }
                match cql.schema().await {
                    Ok(schema) => Some(schema.tables.iter().map(|t| t.dir_id()).collect()),
                    Err(e) => {
                        tracing::warn!(node = %node.name, error = %e, "cannot read the schema");
                        None
                    }
                }
            }
            Err(e) => {
                tracing::warn!(node = %node.name, error = %e, "cannot connect with CQL");
                None
            }
        }
    } else {
        None
    };

    let started = now_ms();
    // Storage samples for the reports, timed when the scan job began so that the nodes of one
    // job share a sample time. They are written table by table as the scan streams; a failure
    // there leaves the scan itself intact.
    let taken_at: i64 =
        sqlx::query_scalar("SELECT coalesce(started_at, created_at) FROM jobs WHERE id = ?")
            .bind(job_id)
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
            .unwrap_or(started);
    let mut sampler = match Sampler::begin(pool, &node.name, taken_at).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(node = %node.name, error = %e, "cannot record storage samples");
            None
        }
    };
    let (tx, mut tables) = tokio::sync::mpsc::channel(2);
    let scanning = on_node.scan_streamed(None, tx);
    let sampling = async {
        while let Some((first, parts)) = tables.recv().await {
            let Some(s) = sampler.as_mut() else { continue };
            let parts: Vec<(usize, &TableDir)> = parts
                .iter()
                .enumerate()
                .map(|(k, t)| (first + k, t))
                .collect();
            if let Err(e) = s.table(&parts).await {
                tracing::warn!(node = %node.name, error = %e, "cannot record storage samples");
                sampler = None;
            }
        }
    };
    let (scan, ()) = tokio::join!(scanning, sampling);
    let scan = scan?;
    let holds = scan.holds();
    if let Some(s) = sampler
        && let Err(e) = s.finish(&scan.data_dirs, &holds).await
    {
        tracing::warn!(node = %node.name, error = %e, "cannot record storage samples");
    }

    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    let scan_id: i64 = sqlx::query_scalar(
        "INSERT INTO scans (node, job_id, state, started_at, finished_at, files_seen, hold_bytes, hold_inodes) \
         VALUES (?, ?, 'done', ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&node.name)
    .bind(job_id)
    .bind(started)
    .bind(now_ms())
    .bind(scan.files_seen as i64)
    .bind(holds.node.bytes as i64)
    .bind(holds.node.inodes as i64)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    for d in &scan.data_dirs {
        sqlx::query(
            "INSERT INTO scan_filesystems (scan_id, data_dir, total_bytes, avail_bytes, free_bytes, total_inodes, free_inodes, error) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(scan_id)
        .bind(d.path.display().to_string())
        .bind(d.fs.as_ref().map(|f| f.total_bytes as i64))
        .bind(d.fs.as_ref().map(|f| f.avail_bytes as i64))
        .bind(d.fs.as_ref().map(|f| f.free_bytes as i64))
        .bind(d.fs.as_ref().map(|f| f.total_inodes as i64))
        .bind(d.fs.as_ref().map(|f| f.free_inodes as i64))
        .bind(&d.error)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    for (i, t) in scan.tables.iter().enumerate() {
        let mut snap_files = FileSet::default();
        for s in &t.snapshots {
            snap_files.files.extend(s.files.files.iter().cloned());
        }
        let hold = holds.tables.get(&i).copied().unwrap_or_default();
        let in_schema = live_ids.as_ref().is_none_or(|ids| ids.contains(&t.id));
        sqlx::query(
            "INSERT INTO scan_tables (scan_id, keyspace_name, table_name, table_id, data_dir, in_schema, live_bytes, live_files, \
             live_inodes, sstables, snapshot_count, snapshots_bytes, snapshots_files, hold_bytes, hold_inodes, backups_bytes, backups_files) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(scan_id)
        .bind(&t.keyspace)
        .bind(&t.table)
        .bind(&t.id)
        .bind(t.data_dir.display().to_string())
        .bind(in_schema as i64)
        .bind(t.live.bytes as i64)
        .bind(t.live.files as i64)
        .bind(t.live.inodes as i64)
        .bind(t.live.sstables as i64)
        .bind(t.snapshots.len() as i64)
        .bind(snap_files.bytes() as i64)
        .bind(snap_files.files.len() as i64)
        .bind(hold.bytes as i64)
        .bind(hold.inodes as i64)
        .bind(t.backups.bytes as i64)
        .bind(t.backups.files as i64)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    let mut unknown: HashMap<String, String> = HashMap::new();
    for u in &scan.unknown {
        unknown.insert(u.path.display().to_string(), u.reason.clone());
    }
    for (path, reason) in unknown {
        sqlx::query("INSERT INTO scan_unknown (scan_id, path, reason) VALUES (?, ?, ?)")
            .bind(scan_id)
            .bind(path)
            .bind(reason)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
    }
    for l in &scan.leftovers {
        sqlx::query(
            "INSERT OR IGNORE INTO scan_leftovers (scan_id, path, kind, bytes, files, modified_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(scan_id)
        .bind(l.path.display().to_string())
        .bind(l.kind)
        .bind(l.bytes as i64)
        .bind(l.files as i64)
        .bind(l.modified_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    let opts = RecordOptions {
        scope: Scope::Node,
        intent: None,
        clearing: None,
        observed_at: started,
    };
    record(pool, &node.name, &scan, &holds, &opts)
        .await
        .map_err(|e| format!("cannot record the snapshots found: {e}"))?;
    Ok(scan_id)
}
