//! Restore requests: plan (dry run), request (operator, with a reason), approve or reject
//! (an approver who is not the requester; approval binds to the plan's hash and expires),
//! execute (a job that re-checks the plan first and holds the tables' locks), resume after a
//! crash, and the views the API and pages show.

mod aside;
mod drill;
pub use drill::{DRILL_APPROVER, DRILL_KEYSPACE};
mod execute;
mod requests;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::RestoreError;
pub use app::api::{RestoreDto, RestoreSource, StepDto};

use crate::restore::source::StoreSource;

use super::plan::{self, Plan, PlanContext, RestoreInput, Target, plan_hash};
use super::run::{self, Verification};
use super::step::{Step, StepError};
use crate::auth::audit::{Outcome, record_system};
use crate::auth::{CurrentUser, Role};
use crate::cassandra::CqlSessions;
use crate::cassandra::cql::Cql;
use crate::cassandra::cql::Schema;
use crate::clock::now_ms;
use crate::jobs;
use crate::node::{Node, NodeConfig};
use crate::snapshots::{SnapshotService, TablesGuard};

/// `[restore]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestoreConfig {
    /// A restore is blocked when less than this share of bytes or inodes would stay free.
    pub min_free_pct: u64,
    /// An approval is valid this long.
    pub approval_hours: u64,
    /// Safety snapshots taken by restores cannot be cleared for this many days.
    pub keep_safety_days: u64,
    /// What full-node restores set aside is removed after this many days (an admin may
    /// remove it earlier).
    pub keep_aside_days: u64,
}

impl Default for RestoreConfig {
    fn default() -> Self {
        Self {
            min_free_pct: 10,
            approval_hours: 24,
            keep_safety_days: 7,
            keep_aside_days: 7,
        }
    }
}

/// The restore service.
#[derive(Clone)]
pub struct RestoreService {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
    snapshots: SnapshotService,
    sessions: CqlSessions,
    config: RestoreConfig,
    /// The stores a restore can download from.
    backups: Option<crate::backups::BackupService>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    node: String,
    tag: String,
    tables: String,
    target: String,
    side_keyspace: Option<String>,
    truncate: i64,
    reason: String,
    requested_by: String,
    requested_at: i64,
    plan: String,
    plan_hash: String,
    state: String,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    decision_comment: Option<String>,
    approval_expires_at: Option<i64>,
    job_id: Option<i64>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
    verification: Option<String>,
    requested_tables: Option<String>,
}

const COLUMNS: &str = "id, node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash, \
    state, decided_by, decided_at, decision_comment, approval_expires_at, job_id, started_at, finished_at, error, verification, \
    requested_tables";

/// The holder name of a request's pins.
fn pin_holder(id: i64) -> String {
    format!("restore:{id}")
}

impl RestoreService {
    pub fn new(
        pool: SqlitePool,
        nodes: Vec<NodeConfig>,
        snapshots: SnapshotService,
        sessions: CqlSessions,
        config: RestoreConfig,
    ) -> Self {
        Self {
            pool,
            nodes: Arc::new(nodes),
            snapshots,
            sessions,
            config,
            backups: None,
        }
    }

    /// Lets restores take a store as their source.
    pub fn with_backups(mut self, backups: crate::backups::BackupService) -> Self {
        self.backups = Some(backups);
        self
    }

    /// The store named `name`, opened.
    fn store(&self, name: &str) -> Result<crate::backups::store::Store, RestoreError> {
        self.backups
            .as_ref()
            .ok_or_else(|| RestoreError::Unavailable("no store is configured".into()))?
            .open_store(name)
    }

    /// What the request's store holds of its snapshot; `None` for a restore from the node.
    async fn store_source(
        &self,
        node: &NodeConfig,
        input: &RestoreInput,
    ) -> Result<Option<StoreSource>, RestoreError> {
        let Some(src) = &input.source else {
            return Ok(None);
        };
        let store = self.store(src.store.trim())?;
        crate::restore::source::resolve(&self.pool, &store, node, &input.snapshot)
            .await
            .map(Some)
    }

    fn node_for(&self, name: Option<&str>, tag: &str) -> Result<NodeConfig, RestoreError> {
        crate::node::config::choose(
            &self.nodes,
            name,
            &format!("the node that holds snapshot `{tag}`"),
        )
        .cloned()
    }

    async fn cql(&self, node: &NodeConfig) -> Result<Arc<Cql>, RestoreError> {
        self.sessions.session(node).await.map_err(|e| {
            RestoreError::Unavailable(format!(
                "cannot reach node {} over CQL at {}: {e}",
                node.name, node.cql
            ))
        })
    }

    /// The node's live schema over the shared CQL session.
    async fn schema(&self, node: &NodeConfig) -> Result<Schema, RestoreError> {
        self.sessions.schema(node).await.map_err(|e| {
            RestoreError::Unavailable(format!(
                "cannot read the schema of node {} over CQL at {}: {e}",
                node.name, node.cql
            ))
        })
    }

    async fn make_plan(
        &self,
        node: &NodeConfig,
        input: &RestoreInput,
        previous: Option<&Plan>,
    ) -> Result<Plan, RestoreError> {
        let (live, store_source, rebuild) = self.plan_inputs(node, input).await?;
        let topology = self.topology(node).await;
        let ctx = PlanContext {
            pool: &self.pool,
            node,
            live: &live,
            min_free_pct: self.config.min_free_pct,
            previous,
            now_ms: now_ms(),
            topology: topology.as_ref(),
            store_source: store_source.as_ref(),
            rebuild,
        };
        plan::make(&ctx, input).await
    }

    /// What a plan is made from: the node's live schema and what the request's store holds.
    /// A node that is down and holds no data has no schema to read: a full-node restore from
    /// a store rebuilds it (the third value), anything else is refused with what to do.
    async fn plan_inputs(
        &self,
        node: &NodeConfig,
        input: &RestoreInput,
    ) -> Result<(Schema, Option<StoreSource>, bool), RestoreError> {
        let store_source = self.store_source(node, input).await?;
        let e = match self.schema(node).await {
            Ok(live) => return Ok((live, store_source, false)),
            Err(e) => e,
        };
        if !Node::local(node).is_down_without_data().await {
            return Err(e);
        }
        if input.target == Target::FullNode && store_source.is_some() {
            return Ok((Schema::default(), store_source, true));
        }
        Err(RestoreError::Conflict(format!(
            "node {} is down and holds no data (no system_schema SSTable in its data directories): rebuild it from a store with target `full_node` and `\"source\": {{\"store\": NAME}}` naming a store that holds a snapshot of every keyspace",
            node.name
        )))
    }

    /// The cluster as `node` sees it, or `None` (logged) when it cannot be read.
    async fn topology(&self, node: &NodeConfig) -> Option<crate::cassandra::cql::Topology> {
        let cql = self.cql(node).await.ok()?;
        match cql.topology().await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(node = %node.name, error = %e, "cannot read the cluster's topology");
                None
            }
        }
    }

    /// The dry run: nothing is changed.
    pub async fn plan(&self, input: &RestoreInput) -> Result<Plan, RestoreError> {
        let node = self.node_for(input.node.as_deref(), &input.snapshot)?;
        self.make_plan(&node, input, None).await
    }

    async fn row(&self, id: i64) -> Result<Row, RestoreError> {
        sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM restore_requests WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| RestoreError::NotFound(format!("no restore request {id}")))
    }

    /// The request as it was made: the tables as the requester named them (none: every table
    /// of the snapshot), so that a re-plan compares equal to the plan.
    fn input_of(r: &Row) -> RestoreInput {
        RestoreInput {
            snapshot: r.tag.clone(),
            node: Some(r.node.clone()),
            tables: serde_json::from_str(r.requested_tables.as_deref().unwrap_or(&r.tables))
                .unwrap_or_default(),
            target: Target::parse(&r.target).unwrap_or(Target::InPlace),
            side_keyspace: r.side_keyspace.clone(),
            truncate: r.truncate != 0,
            reason: r.reason.clone(),
            source: serde_json::from_str::<Plan>(&r.plan)
                .ok()
                .and_then(|p| p.source_store)
                .map(|store| RestoreSource { store }),
        }
    }

    /// Writes a restore's outcome to the audit log.
    async fn audit(&self, id: i64, action: &str, outcome: Outcome, detail: &str) {
        record_system(
            &self.pool,
            action,
            &format!("restore/{id}"),
            outcome,
            detail,
        )
        .await;
    }

    /// One request with its journal.
    pub async fn get(&self, id: i64) -> Result<RestoreDto, RestoreError> {
        self.expire_overdue().await?;
        let r = self.row(id).await?;
        type StepRow = (i64, String, String, Option<i64>, Option<i64>, String);
        let steps: Vec<StepRow> = sqlx::query_as(
            "SELECT seq, name, state, started_at, finished_at, detail FROM restore_steps WHERE restore_id = ? ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let plan: Plan = serde_json::from_str(&r.plan).map_err(|e| {
            RestoreError::Conflict(format!(
                "the stored plan of request {id} is unreadable: {e}"
            ))
        })?;
        Ok(RestoreDto {
            id: r.id,
            node: r.node,
            snapshot: r.tag,
            tables: serde_json::from_str(&r.tables).unwrap_or_default(),
            target: Target::parse(&r.target).unwrap_or(Target::InPlace),
            side_keyspace: r.side_keyspace,
            truncate: r.truncate != 0,
            reason: r.reason,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            state: r.state,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_comment: r.decision_comment,
            approval_expires_at: r.approval_expires_at,
            plan,
            plan_hash: r.plan_hash,
            job_id: r.job_id,
            started_at: r.started_at,
            finished_at: r.finished_at,
            error: r.error,
            steps: steps
                .into_iter()
                .map(|s| StepDto {
                    seq: s.0,
                    name: s.1,
                    state: s.2,
                    started_at: s.3,
                    finished_at: s.4,
                    detail: s.5,
                })
                .collect(),
            verification: r.verification.and_then(|v| serde_json::from_str(&v).ok()),
        })
    }

    /// The newest requests first.
    pub async fn list(&self, limit: i64) -> Result<Vec<RestoreDto>, RestoreError> {
        self.expire_overdue().await?;
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM restore_requests ORDER BY id DESC LIMIT ?")
                .bind(limit.clamp(1, 500))
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(self.get(id).await?);
        }
        Ok(out)
    }
}

/// At start: restores left running by a previous process are marked interrupted (their
/// journals say where to resume).
pub async fn mark_interrupted(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
    let r =
        sqlx::query("UPDATE restore_requests SET state = 'interrupted' WHERE state = 'running'")
            .execute(pool)
            .await?;
    Ok(r.rows_affected())
}
