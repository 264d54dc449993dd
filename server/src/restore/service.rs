//! Restore requests: plan (dry run), request (operator, with a reason), approve or reject
//! (an approver who is not the requester; approval binds to the plan's hash and expires),
//! execute (a job that re-checks the plan first and holds the tables' locks), resume after a
//! crash, and the views the API and pages show.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::RestoreError;
pub use app::api::{RestoreDto, StepDto};

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
        }
    }

    fn node_for(&self, name: Option<&str>, tag: &str) -> Result<NodeConfig, RestoreError> {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            return self
                .nodes
                .iter()
                .find(|c| c.name == n)
                .cloned()
                .ok_or_else(|| RestoreError::NotFound(format!("node `{n}` is not configured")));
        }
        match self.nodes.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RestoreError::Unavailable(
                "no Cassandra node is configured".into(),
            )),
            _ => Err(RestoreError::bad(
                "node",
                format!("several nodes are configured: name the node that holds snapshot `{tag}`"),
            )),
        }
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
        let live = self.schema(node).await?;
        let topology = self.topology(node).await;
        let ctx = PlanContext {
            pool: &self.pool,
            node,
            live: &live,
            min_free_pct: self.config.min_free_pct,
            previous,
            now_ms: now_ms(),
            topology: topology.as_ref(),
        };
        plan::make(&ctx, input).await
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

    /// Records a request awaiting approval; refuses blocked plans.
    pub async fn request(
        &self,
        input: RestoreInput,
        user: &CurrentUser,
    ) -> Result<RestoreDto, RestoreError> {
        if input.reason.trim().is_empty() {
            return Err(RestoreError::bad(
                "reason",
                "say why this restore is needed (reason)",
            ));
        }
        self.expire_overdue().await?;
        let node = self.node_for(input.node.as_deref(), &input.snapshot)?;
        let plan = self.make_plan(&node, &input, None).await?;
        if !plan.blocked.is_empty() {
            return Err(RestoreError::Conflict(plan.blocked.join(" ")));
        }
        let tables: Vec<String> = plan
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        // A full-node restore needs the whole node: it conflicts with every open request there.
        let busy: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, target FROM restore_requests WHERE node = ? AND state IN ('awaiting_approval', 'approved', 'running', 'interrupted') \
             AND (? = 'full_node' OR target = 'full_node' \
                  OR EXISTS (SELECT 1 FROM json_each(restore_requests.tables) j WHERE j.value IN (SELECT value FROM json_each(?)))) LIMIT 1",
        )
        .bind(&node.name)
        .bind(input.target.as_str())
        .bind(serde_json::to_string(&tables).unwrap_or_default())
        .fetch_optional(&self.pool)
        .await?;
        if let Some((other, other_target)) = busy {
            return Err(RestoreError::Conflict(
                if input.target == Target::FullNode || other_target == "full_node" {
                    format!(
                        "restore request {other} on node {} is still open and a full-node restore needs the whole node; finish, reject or let it fail first",
                        node.name
                    )
                } else {
                    format!(
                        "restore request {other} for the same table is still open; finish, reject or let it fail first"
                    )
                },
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO restore_requests (node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash, state, requested_tables) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_approval', ?) RETURNING id",
        )
        .bind(&node.name)
        .bind(&input.snapshot)
        .bind(serde_json::to_string(&tables).unwrap_or_default())
        .bind(input.target.as_str())
        .bind(&input.side_keyspace)
        .bind(input.truncate as i64)
        .bind(input.reason.trim())
        .bind(&user.name)
        .bind(now_ms())
        .bind(serde_json::to_string(&plan).unwrap_or_default())
        .bind(plan_hash(&plan))
        .bind(serde_json::to_string(&input.tables).unwrap_or_default())
        .fetch_one(&self.pool)
        .await?;
        crate::snapshots::pins::pin(
            &self.pool,
            &node.name,
            &input.snapshot,
            &pin_holder(id),
            &format!(
                "restore request {id} uses it until it is done, rejected, cancelled or expired"
            ),
            now_ms(),
            None,
        )
        .await?;
        self.get(id).await
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
        }
    }

    /// Moves approved requests whose approval passed its time to `expired`, which frees their
    /// tables and their source snapshot. Runs before every read and change of requests.
    pub async fn expire_overdue(&self) -> Result<u64, RestoreError> {
        let now = now_ms();
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM restore_requests WHERE state = 'approved' AND approval_expires_at IS NOT NULL AND approval_expires_at < ?",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut expired = 0;
        for id in ids {
            let moved = sqlx::query(
                "UPDATE restore_requests SET state = 'expired', finished_at = ?, \
                 error = 'the approval expired before the restore ran; request it again' WHERE id = ? AND state = 'approved'",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
            if moved.rows_affected() > 0 {
                expired += 1;
                crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
                self.audit(
                    id,
                    "restore.expired",
                    Outcome::Ok,
                    "the approval expired before the restore ran",
                )
                .await;
            }
        }
        Ok(expired)
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

    /// The destructive steps the journal of request `id` shows as started or done.
    async fn destructive_steps_run(&self, id: i64) -> Result<Vec<String>, RestoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM restore_steps WHERE restore_id = ? AND state IN ('running', 'done', 'failed') ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(names
            .into_iter()
            .filter(|n| Step::parse(n).is_ok_and(|s| s.changes_live_data()))
            .collect())
    }

    /// Cancels an open request (its requester or an admin): frees its tables and its source
    /// snapshot. The staging of an interrupted or failed restore is removed (the live table
    /// does not use it); what a full-node restore set aside and the safety snapshot are kept.
    pub async fn cancel(
        &self,
        id: i64,
        user: &CurrentUser,
        comment: &str,
    ) -> Result<RestoreDto, RestoreError> {
        self.expire_overdue().await?;
        let r = self.row(id).await?;
        if r.requested_by != user.name && !user.can(Role::Admin) {
            return Err(RestoreError::Forbidden(format!(
                "only the requester ({}) or an admin may cancel restore request {id}",
                r.requested_by
            )));
        }
        if !matches!(
            r.state.as_str(),
            "awaiting_approval" | "approved" | "interrupted" | "failed"
        ) {
            return Err(RestoreError::Conflict(if r.state == "running" {
                format!(
                    "restore request {id} is running; wait until it is done or fails, then cancel it"
                )
            } else {
                format!(
                    "restore request {id} is {} already; nothing to cancel",
                    r.state
                )
            }));
        }
        let destructive = self.destructive_steps_run(id).await?;
        let mut why = format!("cancelled by {}", user.name);
        if !comment.trim().is_empty() {
            why.push_str(&format!(": {}", comment.trim()));
        }
        if !destructive.is_empty() {
            let plan: Option<Plan> = serde_json::from_str(&r.plan).ok();
            why.push_str(&format!(
                ". The journal shows {} ran: the live data may be incomplete.{}",
                destructive.join(", "),
                plan.and_then(|p| p.safety_tag)
                    .map(|t| format!(" The safety snapshot `{t}` is kept."))
                    .unwrap_or_default()
            ));
        }
        let moved = sqlx::query(
            "UPDATE restore_requests SET state = 'cancelled', cancelled_by = ?, finished_at = ?, error = ? WHERE id = ? AND state = ?",
        )
        .bind(&user.name)
        .bind(now_ms())
        .bind(&why)
        .bind(id)
        .bind(&r.state)
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} changed state meanwhile; look again"
            )));
        }
        if matches!(r.state.as_str(), "interrupted" | "failed")
            && let Ok(plan) = serde_json::from_str::<Plan>(&r.plan)
            && let Ok(node) = self.node_for(Some(&r.node), &r.tag)
        {
            Node::local(&node).clean_all(&plan);
            // What a full-node restore set aside stays, shown on Overview like any other.
            if plan.target == Target::FullNode
                && let Err(e) = self.keep_aside(id, &plan, &node).await
            {
                tracing::warn!(restore = id, error = %e, "cannot record what the cancelled restore set aside");
            }
        }
        crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
        self.audit(id, "restore.cancelled", Outcome::Ok, &why).await;
        self.get(id).await
    }

    /// Approves (`approve`) or rejects a request awaiting approval.
    pub async fn decide(
        &self,
        id: i64,
        user: &CurrentUser,
        approve: bool,
        comment: &str,
    ) -> Result<RestoreDto, RestoreError> {
        if !user.can(Role::Approver) {
            return Err(RestoreError::Forbidden(format!(
                "your role `{}` may not approve or reject restores; it needs `approver` or higher",
                user.role
            )));
        }
        // Only the holder's own sign-in or token counts, on a password they chose.
        crate::auth::credential::check_decider(&self.pool, user).await?;
        let r = self.row(id).await?;
        if r.requested_by == user.name {
            return Err(RestoreError::Forbidden(
                "you requested this restore; another approver must decide on it".into(),
            ));
        }
        if r.state != "awaiting_approval" {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} is {}, not awaiting approval",
                r.state
            )));
        }
        if approve {
            // The approval binds to the plan as it is now.
            let node = self.node_for(Some(&r.node), &r.tag)?;
            let previous: Plan = serde_json::from_str(&r.plan).map_err(|e| {
                RestoreError::Conflict(format!("the stored plan is unreadable: {e}"))
            })?;
            let live = self.schema(&node).await?;
            let topology = self.topology(&node).await;
            let ctx = PlanContext {
                pool: &self.pool,
                node: &node,
                live: &live,
                min_free_pct: self.config.min_free_pct,
                previous: Some(&previous),
                now_ms: now_ms(),
                topology: topology.as_ref(),
            };
            run::recheck(&ctx, &Self::input_of(&r), &r.plan_hash).await?;
        }
        let expires = approve.then(|| now_ms() + (self.config.approval_hours as i64) * 3_600_000);
        let updated = sqlx::query(
            "UPDATE restore_requests SET state = ?, decided_by = ?, decided_at = ?, decision_comment = ?, approval_expires_at = ? \
             WHERE id = ? AND state = 'awaiting_approval'",
        )
        .bind(if approve { "approved" } else { "rejected" })
        .bind(&user.name)
        .bind(now_ms())
        .bind(comment)
        .bind(expires)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} was decided meanwhile"
            )));
        }
        if !approve {
            crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
        }
        self.get(id).await
    }

    /// Starts an approved request (or resumes an interrupted or failed one) as a job.
    pub async fn execute(&self, id: i64, resume: bool) -> Result<RestoreDto, RestoreError> {
        self.expire_overdue().await?;
        let r = self.row(id).await?;
        let allowed = if resume {
            matches!(r.state.as_str(), "interrupted" | "failed")
        } else {
            r.state == "approved"
        };
        if !allowed {
            return Err(RestoreError::Conflict(if resume {
                format!(
                    "restore request {id} is {}; only interrupted or failed restores resume",
                    r.state
                )
            } else {
                format!(
                    "restore request {id} is {}; only an approved request runs",
                    r.state
                )
            }));
        }
        if r.approval_expires_at.is_some_and(|e| now_ms() > e) {
            if !resume {
                return Err(RestoreError::Conflict(format!(
                    "the approval of restore request {id} expired; request it again"
                )));
            }
            // Past its approval a restore only finishes what it already changed.
            let destructive = self.destructive_steps_run(id).await?;
            if destructive.is_empty() {
                return Err(RestoreError::Conflict(format!(
                    "the approval of restore request {id} expired and no step has changed the live data yet; cancel it and request the restore again"
                )));
            }
            self.audit(
                id,
                "restore.resume_after_expiry",
                Outcome::Ok,
                &format!(
                    "resumed after its approval expired because {} already ran: finishing is the safe choice",
                    destructive.join(", ")
                ),
            )
            .await;
        }
        if resume && r.decided_by.is_none() {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} was never approved"
            )));
        }
        let node = self.node_for(Some(&r.node), &r.tag)?;
        let plan: Plan = serde_json::from_str(&r.plan)
            .map_err(|e| RestoreError::Conflict(format!("the stored plan is unreadable: {e}")))?;
        use crate::snapshots::locks;
        let keys: Vec<String> = if plan.target == Target::FullNode {
            vec![locks::node_key(&node.name)]
        } else {
            plan.tables
                .iter()
                .flat_map(|t| {
                    [
                        locks::key(&node.name, &t.keyspace, &t.table),
                        locks::key(&node.name, &t.target_keyspace, &t.target_table),
                    ]
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let guard = self.snapshots.locks().try_lock(keys).map_err(|busy| {
            RestoreError::Busy(format!(
                "busy: {} is being snapshotted, cleared or restored; retry",
                busy.iter()
                    .map(|k| locks::describe(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        jobs::room(&self.pool).await?.map_err(RestoreError::Busy)?;
        let job = jobs::create(&self.pool, "restore", Some(&node.name)).await?;
        let moved = sqlx::query(
            "UPDATE restore_requests SET state = 'running', job_id = ?, started_at = coalesce(started_at, ?), error = NULL \
             WHERE id = ? AND state = ?",
        )
        .bind(job)
        .bind(now_ms())
        .bind(id)
        .bind(&r.state)
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() == 0 {
            let _ = jobs::fail(&self.pool, job, "the request changed state meanwhile").await;
            return Err(RestoreError::Conflict(format!(
                "restore request {id} changed state meanwhile"
            )));
        }
        // The journal: one row per step, written once.
        for (seq, name) in plan.steps.iter().enumerate() {
            sqlx::query(
                "INSERT OR IGNORE INTO restore_steps (restore_id, seq, name, state) VALUES (?, ?, ?, 'pending')",
            )
            .bind(id)
            .bind(seq as i64)
            .bind(name)
            .execute(&self.pool)
            .await?;
        }
        let this = self.clone();
        let input = Self::input_of(&r);
        let hash = r.plan_hash.clone();
        tokio::spawn(async move {
            this.run(id, job, node, plan, input, hash, guard).await;
        });
        self.get(id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        id: i64,
        job: i64,
        node: NodeConfig,
        plan: Plan,
        input: RestoreInput,
        hash: String,
        guard: TablesGuard,
    ) {
        let pool = &self.pool;
        let _ = jobs::start(pool, job).await;
        let outcome = self.run_steps(id, job, &node, &plan, &input, &hash).await;
        drop(guard);
        let now = now_ms();
        let result = match &outcome {
            Ok(v) if v.passed => {
                let _ = jobs::finish(pool, job, "restore done and verified").await;
                if let Err(e) = crate::snapshots::pins::release(pool, &pin_holder(id)).await {
                    tracing::error!(restore = id, error = %e, "cannot release the restore's snapshot pins");
                }
                self.audit(id, "restore.done", Outcome::Ok, "restore done and verified")
                    .await;
                sqlx::query("UPDATE restore_requests SET state = 'done', finished_at = ?, verification = ? WHERE id = ?")
                    .bind(now)
                    .bind(serde_json::to_string(v).ok())
                    .bind(id)
                    .execute(pool)
                    .await
            }
            Ok(v) => {
                let msg = if plan.target == Target::FullNode {
                    format!(
                        "the restore ran but its verification failed (see the verification); nothing was cleaned up. {} Resume to verify again.",
                        super::fullnode::kept_aside(&plan)
                    )
                } else {
                    "the restore ran but its verification failed (see the verification)".to_string()
                };
                let msg = msg.as_str();
                let _ = jobs::fail(pool, job, msg).await;
                self.audit(id, "restore.failed", Outcome::Failed, msg).await;
                sqlx::query("UPDATE restore_requests SET state = 'failed', finished_at = ?, verification = ?, error = ? WHERE id = ?")
                    .bind(now)
                    .bind(serde_json::to_string(v).ok())
                    .bind(msg)
                    .bind(id)
                    .execute(pool)
                    .await
            }
            Err(e) => {
                Node::local(&node).clean_all(&plan);
                let _ = jobs::fail(pool, job, e).await;
                self.audit(id, "restore.failed", Outcome::Failed, e).await;
                sqlx::query("UPDATE restore_requests SET state = 'failed', finished_at = ?, error = ? WHERE id = ?")
                    .bind(now)
                    .bind(e)
                    .bind(id)
                    .execute(pool)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::error!(restore = id, error = %e, "cannot record the end of a restore");
        }
    }

    async fn run_steps(
        &self,
        id: i64,
        job: i64,
        node: &NodeConfig,
        plan: &Plan,
        input: &RestoreInput,
        hash: &str,
    ) -> Result<Verification, String> {
        let pool = &self.pool;
        // A full-node restore runs while the node is down: CQL only when a step needs it.
        let mut cql: Option<Arc<Cql>> = None;
        if plan.target != Target::FullNode {
            cql = Some(self.cql(node).await.map_err(|e| e.to_string())?);
        }
        let steps: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, name, state FROM restore_steps WHERE restore_id = ? ORDER BY seq",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
        let total = steps.len().max(1) as f64;
        let mut verification = None;
        for (seq, name, state) in steps {
            if state == "done" || state == "skipped" {
                continue;
            }
            let _ = jobs::progress(pool, job, seq as f64 / total, &name).await;
            let step = Step::parse(&name);
            let mark = |state: &'static str, detail: String| {
                let pool = pool.clone();
                let name = name.clone();
                async move {
                    let (started, finished) = if state == "running" {
                        (Some(now_ms()), None)
                    } else {
                        (None, Some(now_ms()))
                    };
                    let r = sqlx::query(
                        "UPDATE restore_steps SET state = ?, started_at = coalesce(?, started_at), finished_at = ?, detail = ? \
                         WHERE restore_id = ? AND seq = ?",
                    )
                    .bind(state)
                    .bind(started)
                    .bind(finished)
                    .bind(&detail)
                    .bind(id)
                    .bind(seq)
                    .execute(&pool)
                    .await;
                    r.map(drop).map_err(|e| {
                        tracing::error!(restore = id, step = %name, error = %e, "cannot write the restore journal");
                        format!("cannot write the restore journal for step `{name}`: {e}; the restore stopped here and can be resumed")
                    })
                }
            };
            mark("running", String::new()).await?;
            let step = match step {
                Ok(s) => s,
                Err(e) => {
                    let _ = mark("failed", e.to_string()).await;
                    return Err(format!("{e}: this plan cannot be run by this Snapkeep"));
                }
            };
            let result: Result<String, StepError> = match &step {
                Step::Check => {
                    let previous = plan.clone();
                    // A full-node restore of a node found down replays its commit log first.
                    let replayed = if plan.target == Target::FullNode {
                        match Node::local(node).replay_if_down().await {
                            Ok(line) => line,
                            Err(e) => {
                                let _ = mark("failed", e.clone()).await;
                                return Err(format!("step `check` failed: {e}"));
                            }
                        }
                    } else {
                        None
                    };
                    match self.schema(node).await {
                        Ok(live) => {
                            let topology = self.topology(node).await;
                            let ctx = PlanContext {
                                pool,
                                node,
                                live: &live,
                                min_free_pct: self.config.min_free_pct,
                                previous: Some(&previous),
                                now_ms: now_ms(),
                                topology: topology.as_ref(),
                            };
                            run::recheck(&ctx, input, hash)
                                .await
                                .map(|_| {
                                    let mut line =
                                        "the plan is unchanged since its approval".to_string();
                                    if let Some(r) = &replayed {
                                        line = format!("{r}; {line}");
                                    }
                                    line
                                })
                                .map_err(|e| StepError::Failed(e.to_string()))
                        }
                        Err(e) => Err(StepError::Failed(match &replayed {
                            Some(r) => format!("{r}; then {e}"),
                            None => e.to_string(),
                        })),
                    }
                }
                Step::SafetySnapshot => {
                    let r = run::safety_snapshot(plan, node, state != "pending").await;
                    if r.is_ok()
                        && let Some(tag) = &plan.safety_tag
                    {
                        let now = now_ms();
                        let keep = self.config.keep_safety_days as i64 * 86_400_000;
                        crate::snapshots::pins::pin(
                            pool,
                            &node.name,
                            tag,
                            &format!("{}:safety", pin_holder(id)),
                            &format!("safety snapshot of restore request {id}"),
                            now,
                            Some(now + keep),
                        )
                        .await
                        .map_err(|e| format!("cannot pin the safety snapshot: {e}"))?;
                    }
                    r.map_err(StepError::Failed)
                }
                Step::KeepAside | Step::Cleanup(_) if plan.target == Target::FullNode => self
                    .keep_aside(id, plan, node)
                    .await
                    .map_err(StepError::Failed),
                Step::Verify => match self.session_for(node, &mut cql).await {
                    Ok(c) => {
                        let v = run::verify(plan, node, &c).await;
                        if !v.passed && plan.target == Target::FullNode {
                            // Nothing set aside is removed unless verification passed.
                            let detail = format!(
                                "verification failed; {}",
                                super::fullnode::kept_aside(plan)
                            );
                            mark("failed", detail).await?;
                            return Ok(v);
                        }
                        let line = if v.passed {
                            "verified"
                        } else {
                            "verification failed"
                        };
                        verification = Some(v);
                        Ok(line.to_string())
                    }
                    Err(e) => Err(StepError::Failed(e)),
                },
                other if plan.target == Target::FullNode => {
                    super::fullnode::perform(other, plan, node).await
                }
                other => match self.session_for(node, &mut cql).await {
                    Ok(c) => run::perform(other, plan, node, &c).await,
                    Err(e) => Err(StepError::Failed(e)),
                },
            };
            if result.is_ok() && matches!(step, Step::Check | Step::Verify) {
                run::crash_hook(&name);
            }
            match result {
                Ok(detail) => mark("done", detail).await?,
                Err(e) => {
                    let e = e.to_string();
                    // The step's own error matters more than a journal that cannot say so.
                    let _ = mark("failed", e.clone()).await;
                    if plan.target == Target::FullNode
                        && matches!(step, Step::Start | Step::WaitCql)
                    {
                        return Err(self.roll_back(id, plan, node, &name, &e).await);
                    }
                    return Err(format!("step `{name}` failed: {e}"));
                }
            }
        }
        match verification {
            Some(v) => Ok(v),
            None => {
                let c = self.session_for(node, &mut cql).await?;
                Ok(run::verify(plan, node, &c).await)
            }
        }
    }

    /// Records what a full-node restore set aside, to be kept until an admin removes it or
    /// `keep_aside_days` pass; deletes nothing.
    async fn keep_aside(&self, id: i64, plan: &Plan, node: &NodeConfig) -> Result<String, String> {
        let asides = Node::local(node).asides(plan)?;
        let now = now_ms();
        let until = now + self.config.keep_aside_days as i64 * 86_400_000;
        for a in &asides {
            sqlx::query(
                "INSERT INTO restore_aside (path, restore_id, node, kind, what, bytes, files, set_aside_at, keep_until) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (path) DO UPDATE SET bytes = excluded.bytes, files = excluded.files, removed_at = NULL, removed_by = NULL",
            )
            .bind(a.path.display().to_string())
            .bind(id)
            .bind(&node.name)
            .bind(a.kind)
            .bind(&a.what)
            .bind(a.bytes as i64)
            .bind(a.files as i64)
            .bind(now)
            .bind(until)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("cannot record what was set aside: {e}"))?;
        }
        if asides.is_empty() {
            return Ok("nothing was set aside".into());
        }
        Ok(format!(
            "kept, not deleted, until {} (an admin can remove it earlier): {}",
            app::api::format_utc(until),
            asides
                .iter()
                .map(|a| format!(
                    "{} {} ({} in {} files)",
                    a.what,
                    a.path.display(),
                    app::api::format_bytes(a.bytes as i64),
                    a.files
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    }

    /// Removes what full-node restore `id` set aside: an admin's decision (`by` a user) or
    /// the end of its keeping time (`by` none). Never while the restore runs.
    pub async fn remove_aside(
        &self,
        id: i64,
        by: Option<&CurrentUser>,
    ) -> Result<Vec<String>, RestoreError> {
        if let Some(u) = by
            && !u.can(Role::Admin)
        {
            return Err(RestoreError::Forbidden(format!(
                "only an admin may remove what a restore set aside; your role is `{}`",
                u.role
            )));
        }
        let r = self.row(id).await?;
        if r.state == "running" {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} is running; what it set aside is removed only once it stopped"
            )));
        }
        let plan: Plan = serde_json::from_str(&r.plan)
            .map_err(|e| RestoreError::Conflict(format!("the stored plan is unreadable: {e}")))?;
        let node = self.node_for(Some(&r.node), &r.tag)?;
        let removed = Node::local(&node)
            .remove_asides(&plan)
            .map_err(|e| RestoreError::Conflict(format!("nothing more was removed: {e}")))?;
        let who = by
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "retention".into());
        sqlx::query(
            "UPDATE restore_aside SET removed_at = ?, removed_by = ? WHERE restore_id = ? AND removed_at IS NULL",
        )
        .bind(now_ms())
        .bind(&who)
        .bind(id)
        .execute(&self.pool)
        .await?;
        let removed: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
        self.audit(
            id,
            "restore.aside_removed",
            Outcome::Ok,
            &format!("removed by {who}: {}", removed.join(", ")),
        )
        .await;
        Ok(removed)
    }

    /// Removes what restores set aside once its keeping time passed.
    pub async fn sweep_aside(&self) -> Result<usize, RestoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT restore_id FROM restore_aside WHERE removed_at IS NULL AND keep_until < ?",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for id in ids {
            match self.remove_aside(id, None).await {
                Ok(r) => n += r.len(),
                Err(e) => {
                    tracing::warn!(restore = id, error = %e, "cannot remove what a restore set aside")
                }
            }
        }
        Ok(n)
    }

    /// Every hour: what restores set aside past its keeping time is removed.
    pub fn spawn_aside_sweeper(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = this.sweep_aside().await {
                    tracing::warn!(error = %e, "the sweep of what restores set aside failed");
                }
            }
        });
    }

    /// The node did not come up with the snapshot's files: put everything back as it was and
    /// start it again. When that worked, the journal is reset after the safety snapshot, so a
    /// resume tries the whole swap again. Returns the request's error sentence.
    async fn roll_back(
        &self,
        id: i64,
        plan: &Plan,
        node: &NodeConfig,
        step: &str,
        error: &str,
    ) -> String {
        let rolled = super::fullnode::roll_back(plan, node).await;
        if !rolled.files_back {
            return format!("step `{step}` failed: {error}. {}", rolled.sentence);
        }
        // Every file is back: a resume must do the whole swap again, not go on from here.
        let reset = sqlx::query(
            "UPDATE restore_steps SET state = 'pending', started_at = NULL, finished_at = NULL, \
             detail = 'reset by the roll-back' WHERE restore_id = ? AND seq > \
             (SELECT coalesce(max(seq), 0) FROM restore_steps WHERE restore_id = ? AND name = 'safety_snapshot')",
        )
        .bind(id)
        .bind(id)
        .execute(&self.pool)
        .await;
        let msg = format!(
            "step `{step}` failed: {error}. {}. Nothing of the snapshot is in place; resume to try the restore again{}.",
            rolled.sentence,
            if rolled.node_up {
                ""
            } else {
                " once the node runs"
            }
        );
        self.audit(id, "restore.rolled_back", Outcome::Failed, &msg)
            .await;
        match reset {
            Ok(_) => msg,
            Err(e) => format!(
                "{msg} (the journal could not be reset: {e}; do not resume, request the restore again)"
            ),
        }
    }

    /// The CQL session of a run, connected on first use (again after a node restart).
    async fn session_for(
        &self,
        node: &NodeConfig,
        cached: &mut Option<Arc<Cql>>,
    ) -> Result<Arc<Cql>, String> {
        if let Some(c) = cached {
            return Ok(c.clone());
        }
        let c = self.cql(node).await.map_err(|e| e.to_string())?;
        *cached = Some(c.clone());
        Ok(c)
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
