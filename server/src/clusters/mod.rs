//! Clusters: the configured nodes grouped by the cluster each reports (`system.local`), and
//! snapshots of a whole cluster. A cluster snapshot is one tag on every node of the cluster,
//! each node's part an ordinary snapshot job started together with the others (so they run
//! in parallel); it is `complete` only when every node took it, else `incomplete` with each
//! failed node's reason, and a retry re-runs only the nodes that failed, under the same tag.

pub mod routes;

use app::api::{
    ClusterSnapshotDto, ClusterSnapshotNodeDto, CreateSnapshotRequest, SnapshotJobDto,
    format_compact_utc,
};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::clock::now_ms;
use crate::error::ServiceError;
use crate::inventory::Inventory;
use crate::jobs;
use crate::snapshots::{SnapshotService, validate};

/// What a cluster snapshot covers, kept so that a retry takes the same.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Scope {
    keyspaces: Vec<String>,
    tables: Vec<String>,
    ttl: Option<String>,
    skip_flush: bool,
    /// Taken by a schedule (its tag carries the scheduled prefix).
    #[serde(default)]
    scheduled: bool,
}

/// Takes and retries cluster snapshots.
#[derive(Clone)]
pub struct ClusterService {
    pool: SqlitePool,
    inventory: Inventory,
    snapshots: SnapshotService,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    cluster: String,
    tag: String,
    scope: String,
    state: String,
    job_id: Option<i64>,
    requested_by: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

const COLUMNS: &str =
    "id, cluster, tag, scope, state, job_id, requested_by, created_at, finished_at";

impl ClusterService {
    pub fn new(pool: SqlitePool, inventory: Inventory, snapshots: SnapshotService) -> Self {
        Self {
            pool,
            inventory,
            snapshots,
        }
    }

    /// The configured nodes of cluster `name`; 404 naming the known clusters when none is.
    pub async fn members(&self, name: &str) -> Result<Vec<String>, ServiceError> {
        let members = self.inventory.cluster_members(name).await?;
        if members.is_empty() {
            let known: Vec<String> = self
                .inventory
                .clusters_view()
                .await?
                .into_iter()
                .map(|c| c.name)
                .collect();
            return Err(ServiceError::NotFound(format!(
                "no configured node is in cluster `{name}` ({}); a node's cluster is known once a scan has reached it",
                if known.is_empty() {
                    "no cluster is known yet".to_string()
                } else {
                    format!("known clusters: {}", known.join(", "))
                }
            )));
        }
        Ok(members)
    }

    /// Starts a snapshot of every node of `req.cluster` under one tag; answers with the
    /// cluster's job. Bad input (tag, keyspace, table) is refused before any node starts.
    pub async fn snapshot(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
    ) -> Result<SnapshotJobDto, ServiceError> {
        self.snapshot_as(req, user, false).await
    }

    /// A schedule's cluster snapshot: its tag carries the scheduled prefix, which every other
    /// request is refused.
    pub async fn snapshot_scheduled(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
    ) -> Result<SnapshotJobDto, ServiceError> {
        self.snapshot_as(req, user, true).await
    }

    async fn snapshot_as(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
        scheduled: bool,
    ) -> Result<SnapshotJobDto, ServiceError> {
        let cluster = req.cluster.as_deref().map(str::trim).unwrap_or_default();
        if req.node.as_deref().is_some_and(|n| !n.trim().is_empty()) {
            return Err(ServiceError::bad(
                "node",
                "name either a node or a cluster, not both",
            ));
        }
        let members = self.members(cluster).await?;
        let tag = match req.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => {
                validate::tag(t)?;
                if !scheduled {
                    validate::not_reserved(t)?;
                } else if !t.starts_with(validate::SCHEDULED_PREFIX) {
                    return Err(ServiceError::bad(
                        "tag",
                        format!(
                            "a scheduled snapshot's tag starts with `{}`",
                            validate::SCHEDULED_PREFIX
                        ),
                    ));
                }
                t.to_string()
            }
            None => format!(
                "{}{}",
                validate::MANUAL_PREFIX,
                format_compact_utc(now_ms())
            ),
        };
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM cluster_snapshots WHERE cluster = ? AND tag = ?")
                .bind(cluster)
                .bind(&tag)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(id) = taken {
            return Err(ServiceError::Conflict(format!(
                "cluster {cluster} has a snapshot tagged `{tag}` already (cluster snapshot {id}); retry its failed nodes with POST /api/v1/clusters/{cluster}/snapshots/{tag}/retry, or choose another tag"
            )));
        }
        let scope = Scope {
            keyspaces: req.keyspaces.clone().unwrap_or_default(),
            tables: req.tables.clone().unwrap_or_default(),
            ttl: req.ttl.clone(),
            skip_flush: req.skip_flush.unwrap_or(false),
            scheduled,
        };
        jobs::room(&self.pool).await?.map_err(ServiceError::Busy)?;
        let job = jobs::create(&self.pool, "cluster_snapshot", None).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cluster_snapshots (cluster, tag, scope, state, job_id, requested_by, created_at) \
             VALUES (?, ?, ?, 'running', ?, ?, ?) RETURNING id",
        )
        .bind(cluster)
        .bind(&tag)
        .bind(serde_json::to_string(&scope).unwrap_or_else(|_| "{}".into()))
        .bind(job)
        .bind(&user)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        let started = self
            .start_nodes(id, &tag, &scope, &members, user.clone(), true)
            .await;
        let tables = match started {
            Ok(tables) => tables,
            Err(e) => {
                // Nothing started: the request was bad for every node alike.
                let _ = jobs::fail(&self.pool, job, &e.to_string()).await;
                sqlx::query("DELETE FROM cluster_snapshots WHERE id = ?")
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                return Err(e);
            }
        };
        self.spawn_waiter(id, job);
        Ok(SnapshotJobDto {
            tag,
            nodes: members,
            tables,
            job: jobs::get(&self.pool, job)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?
                .into(),
            frees_bytes: None,
        })
    }

    /// Starts each node's snapshot job; a node that cannot start (down, busy) is recorded
    /// failed with its reason. With `refuse_bad_input`, an input error on the first node
    /// (bad tag, unknown keyspace or table: the same on every node) is returned instead, before
    /// any node started. Returns the tables of the first node that started.
    async fn start_nodes(
        &self,
        id: i64,
        tag: &str,
        scope: &Scope,
        nodes: &[String],
        user: Option<String>,
        refuse_bad_input: bool,
    ) -> Result<Vec<String>, ServiceError> {
        let mut tables = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let req = CreateSnapshotRequest {
                node: Some(node.clone()),
                cluster: None,
                keyspaces: Some(scope.keyspaces.clone()).filter(|k| !k.is_empty()),
                tables: Some(scope.tables.clone()).filter(|t| !t.is_empty()),
                tag: Some(tag.to_string()),
                ttl: scope.ttl.clone(),
                skip_flush: Some(scope.skip_flush),
            };
            let created = if scope.scheduled {
                self.snapshots.create_scheduled(req, user.clone()).await
            } else {
                self.snapshots.create(req, user.clone()).await
            };
            let (state, job, message) = match created {
                Ok(dto) => {
                    if tables.is_empty() {
                        tables = dto.tables;
                    }
                    ("running", Some(dto.job.id), String::new())
                }
                Err(e @ (ServiceError::BadRequest { .. } | ServiceError::NotFound(_)))
                    if refuse_bad_input && i == 0 =>
                {
                    return Err(e);
                }
                Err(e) => ("failed", None, e.to_string()),
            };
            let now = now_ms();
            sqlx::query(
                "INSERT INTO cluster_snapshot_nodes (cluster_snapshot_id, node, state, job_id, message, started_at, finished_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?3 = 'failed' THEN ?6 END) \
                 ON CONFLICT (cluster_snapshot_id, node) DO UPDATE SET state = ?3, job_id = ?4, message = ?5, \
                 started_at = ?6, finished_at = CASE WHEN ?3 = 'failed' THEN ?6 END, attempts = attempts + 1",
            )
            .bind(id)
            .bind(node)
            .bind(state)
            .bind(job)
            .bind(&message)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(tables)
    }

    /// Waits for every running node part of cluster snapshot `id`, records each outcome, then
    /// the whole: complete, or incomplete naming the failed nodes; ends the cluster job.
    fn spawn_waiter(&self, id: i64, job: i64) {
        let this = self.clone();
        tokio::spawn(async move {
            let _ = jobs::start(&this.pool, job).await;
            if let Err(e) = this.wait(id, job).await {
                tracing::warn!(cluster_snapshot = id, error = %e, "cannot record a cluster snapshot's end");
                let _ = jobs::fail(&this.pool, job, &e.to_string()).await;
            }
        });
    }

    async fn wait(&self, id: i64, job: i64) -> Result<(), ServiceError> {
        let running: Vec<(String, Option<i64>)> = sqlx::query_as(
            "SELECT node, job_id FROM cluster_snapshot_nodes WHERE cluster_snapshot_id = ? AND state = 'running'",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let waits = running.iter().map(|(node, node_job)| async move {
            let ended = match node_job {
                Some(j) => jobs::ended(&self.pool, *j, std::time::Duration::from_millis(300), None)
                    .await
                    .map_err(ServiceError::from),
                None => Ok(None),
            };
            (node, ended)
        });
        for (node, ended) in futures::future::join_all(waits).await {
            let (state, message) = match ended {
                Ok(Some(j)) if j.state == "done" => ("done", j.message),
                Ok(Some(j)) => ("failed", j.error.unwrap_or(j.message)),
                Ok(None) => ("failed", "its job is gone".to_string()),
                Err(e) => ("failed", e.to_string()),
            };
            sqlx::query(
                "UPDATE cluster_snapshot_nodes SET state = ?, message = ?, finished_at = ? \
                 WHERE cluster_snapshot_id = ? AND node = ?",
            )
            .bind(state)
            .bind(&message)
            .bind(now_ms())
            .bind(id)
            .bind(node)
            .execute(&self.pool)
            .await?;
        }
        let dto = self.dto(self.row(id).await?).await?;
        let failed: Vec<String> = dto
            .nodes
            .iter()
            .filter(|n| n.state != "done")
            .map(|n| format!("{}: {}", n.node, n.message))
            .collect();
        let state = if failed.is_empty() {
            "complete"
        } else {
            "incomplete"
        };
        sqlx::query("UPDATE cluster_snapshots SET state = ?, finished_at = ? WHERE id = ?")
            .bind(state)
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        if failed.is_empty() {
            jobs::finish(
                &self.pool,
                job,
                &format!(
                    "snapshot {} taken on all {} node(s) of cluster {}",
                    dto.tag,
                    dto.nodes.len(),
                    dto.cluster
                ),
            )
            .await?;
        } else {
            jobs::fail(
                &self.pool,
                job,
                &format!(
                    "cluster snapshot {} of {} is incomplete: {}; retry the failed node(s) with POST /api/v1/clusters/{}/snapshots/{}/retry",
                    dto.tag,
                    dto.cluster,
                    failed.join("; "),
                    dto.cluster,
                    dto.tag
                ),
            )
            .await?;
        }
        Ok(())
    }

    /// Re-runs the failed nodes of an incomplete cluster snapshot under its tag.
    pub async fn retry(
        &self,
        cluster: &str,
        tag: &str,
        user: Option<String>,
    ) -> Result<ClusterSnapshotDto, ServiceError> {
        let row = self.find(cluster, tag).await?;
        match row.state.as_str() {
            "running" => {
                return Err(ServiceError::Conflict(format!(
                    "cluster snapshot {tag} of {cluster} is still running; retry once it has ended"
                )));
            }
            "complete" => {
                return Err(ServiceError::Conflict(format!(
                    "cluster snapshot {tag} of {cluster} is complete: every node took it, nothing to retry"
                )));
            }
            _ => {}
        }
        let failed: Vec<String> = sqlx::query_scalar(
            "SELECT node FROM cluster_snapshot_nodes WHERE cluster_snapshot_id = ? AND state = 'failed' ORDER BY node",
        )
        .bind(row.id)
        .fetch_all(&self.pool)
        .await?;
        let scope: Scope = serde_json::from_str(&row.scope).unwrap_or_default();
        jobs::room(&self.pool).await?.map_err(ServiceError::Busy)?;
        let job = jobs::create(&self.pool, "cluster_snapshot", None).await?;
        sqlx::query(
            "UPDATE cluster_snapshots SET state = 'running', job_id = ?, finished_at = NULL WHERE id = ?",
        )
        .bind(job)
        .bind(row.id)
        .execute(&self.pool)
        .await?;
        self.start_nodes(row.id, tag, &scope, &failed, user, false)
            .await?;
        self.spawn_waiter(row.id, job);
        self.dto(self.row(row.id).await?).await
    }

    /// The cluster's snapshots, newest first.
    pub async fn list(&self, cluster: &str) -> Result<Vec<ClusterSnapshotDto>, ServiceError> {
        self.members(cluster).await?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM cluster_snapshots WHERE cluster = ? ORDER BY created_at DESC, id DESC LIMIT 500"
        ))
        .bind(cluster)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.dto(r).await?);
        }
        Ok(out)
    }

    /// One cluster snapshot with each node's part.
    pub async fn get(&self, cluster: &str, tag: &str) -> Result<ClusterSnapshotDto, ServiceError> {
        let row = self.find(cluster, tag).await?;
        self.dto(row).await
    }

    async fn find(&self, cluster: &str, tag: &str) -> Result<Row, ServiceError> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM cluster_snapshots WHERE cluster = ? AND tag = ?"
        ))
        .bind(cluster)
        .bind(tag)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(format!("cluster {cluster} has no snapshot tagged `{tag}`"))
        })
    }

    async fn row(&self, id: i64) -> Result<Row, ServiceError> {
        Ok(sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM cluster_snapshots WHERE id = ?"
        ))
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn dto(&self, r: Row) -> Result<ClusterSnapshotDto, ServiceError> {
        type NodeRow = (String, String, Option<i64>, String, i64, i64, Option<i64>);
        let nodes: Vec<NodeRow> = sqlx::query_as(
            "SELECT node, state, job_id, message, attempts, started_at, finished_at \
             FROM cluster_snapshot_nodes WHERE cluster_snapshot_id = ? ORDER BY node",
        )
        .bind(r.id)
        .fetch_all(&self.pool)
        .await?;
        let scope: Scope = serde_json::from_str(&r.scope).unwrap_or_default();
        Ok(ClusterSnapshotDto {
            id: r.id,
            cluster: r.cluster,
            tag: r.tag,
            state: r.state,
            keyspaces: scope.keyspaces,
            tables: scope.tables,
            requested_by: r.requested_by,
            job_id: r.job_id,
            created_at: r.created_at,
            finished_at: r.finished_at,
            nodes: nodes
                .into_iter()
                .map(|n| ClusterSnapshotNodeDto {
                    node: n.0,
                    state: n.1,
                    job_id: n.2,
                    message: n.3,
                    attempts: n.4,
                    started_at: n.5,
                    finished_at: n.6,
                })
                .collect(),
        })
    }

    /// At start: cluster snapshots a previous server left running are incomplete, their
    /// running nodes failed (the snapshot jobs themselves are marked by the jobs' own
    /// start-up check).
    pub async fn mark_interrupted(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
        let now = now_ms();
        sqlx::query(
            "UPDATE cluster_snapshot_nodes SET state = 'failed', finished_at = ?, \
             message = 'the server stopped before this node''s part ended; retry it' WHERE state = 'running'",
        )
        .bind(now)
        .execute(pool)
        .await?;
        let r = sqlx::query(
            "UPDATE cluster_snapshots SET state = 'incomplete', finished_at = ? WHERE state = 'running'",
        )
        .bind(now)
        .execute(pool)
        .await?;
        Ok(r.rows_affected())
    }
}
