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
use crate::auth::{CurrentUser, Role};
use crate::cassandra::cql::Cql;
use crate::config::NodeConfig;
use crate::jobs::{self, now_ms};
use crate::snapshots::{SnapshotService, TablesGuard};

/// `[restore]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestoreConfig {
    /// A restore is blocked when less than this share of bytes or inodes would stay free.
    pub min_free_pct: u64,
    /// An approval is valid this long.
    pub approval_hours: u64,
}

impl Default for RestoreConfig {
    fn default() -> Self {
        Self {
            min_free_pct: 10,
            approval_hours: 24,
        }
    }
}

/// The restore service.
#[derive(Clone)]
pub struct RestoreService {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
    snapshots: SnapshotService,
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
}

const COLUMNS: &str = "id, node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash, \
    state, decided_by, decided_at, decision_comment, approval_expires_at, job_id, started_at, finished_at, error, verification";

impl RestoreService {
    pub fn new(
        pool: SqlitePool,
        nodes: Vec<NodeConfig>,
        snapshots: SnapshotService,
        config: RestoreConfig,
    ) -> Self {
        Self {
            pool,
            nodes: Arc::new(nodes),
            snapshots,
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
        self.snapshots.schema(node).await?;
        self.snapshots.session(node).await.ok_or_else(|| {
            RestoreError::Unavailable(format!("no CQL session to node {}", node.name))
        })
    }

    async fn make_plan(
        &self,
        node: &NodeConfig,
        input: &RestoreInput,
        previous: Option<&Plan>,
    ) -> Result<Plan, RestoreError> {
        let live = self.snapshots.schema(node).await?;
        let ctx = PlanContext {
            pool: &self.pool,
            node,
            live: &live,
            min_free_pct: self.config.min_free_pct,
            previous,
            now_ms: now_ms(),
        };
        plan::make(&ctx, input).await
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
            "INSERT INTO restore_requests (node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash, state) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_approval') RETURNING id",
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
        .fetch_one(&self.pool)
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

    fn input_of(r: &Row) -> RestoreInput {
        RestoreInput {
            snapshot: r.tag.clone(),
            node: Some(r.node.clone()),
            tables: serde_json::from_str(&r.tables).unwrap_or_default(),
            target: Target::parse(&r.target).unwrap_or(Target::InPlace),
            side_keyspace: r.side_keyspace.clone(),
            truncate: r.truncate != 0,
            reason: r.reason.clone(),
        }
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
            let live = self.snapshots.schema(&node).await?;
            let ctx = PlanContext {
                pool: &self.pool,
                node: &node,
                live: &live,
                min_free_pct: self.config.min_free_pct,
                previous: Some(&previous),
                now_ms: now_ms(),
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
        self.get(id).await
    }

    /// Starts an approved request (or resumes an interrupted or failed one) as a job.
    pub async fn execute(&self, id: i64, resume: bool) -> Result<RestoreDto, RestoreError> {
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
        if !resume && r.approval_expires_at.is_some_and(|e| now_ms() > e) {
            return Err(RestoreError::Conflict(format!(
                "the approval of restore request {id} expired; request it again"
            )));
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
                sqlx::query("UPDATE restore_requests SET state = 'failed', finished_at = ?, verification = ?, error = ? WHERE id = ?")
                    .bind(now)
                    .bind(serde_json::to_string(v).ok())
                    .bind(msg)
                    .bind(id)
                    .execute(pool)
                    .await
            }
            Err(e) => {
                run::clean_all(&plan, &node);
                let _ = jobs::fail(pool, job, e).await;
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
                    if let Err(e) = r {
                        tracing::error!(restore = id, step = %name, error = %e, "cannot write the restore journal");
                    }
                }
            };
            mark("running", String::new()).await;
            let result = match name.as_str() {
                "check" => {
                    let previous = plan.clone();
                    match self.snapshots.schema(node).await {
                        Ok(live) => {
                            let ctx = PlanContext {
                                pool,
                                node,
                                live: &live,
                                min_free_pct: self.config.min_free_pct,
                                previous: Some(&previous),
                                now_ms: now_ms(),
                            };
                            run::recheck(&ctx, input, hash)
                                .await
                                .map(|_| "the plan is unchanged since its approval".to_string())
                                .map_err(|e| e.to_string())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
                "verify" => match self.session_for(node, &mut cql).await {
                    Ok(c) => {
                        let v = run::verify(plan, node, &c).await;
                        if !v.passed && plan.target == Target::FullNode {
                            // Nothing set aside is removed unless verification passed.
                            let detail = format!(
                                "verification failed; {}",
                                super::fullnode::kept_aside(plan)
                            );
                            mark("failed", detail).await;
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
                    Err(e) => Err(e),
                },
                other if plan.target == Target::FullNode => {
                    super::fullnode::perform(other, plan, node).await
                }
                other => match self.session_for(node, &mut cql).await {
                    Ok(c) => run::perform(other, plan, node, &c).await,
                    Err(e) => Err(e),
                },
            };
            if result.is_ok() && (name == "check" || name == "verify") {
                run::crash_hook(&name);
            }
            match result {
                Ok(detail) => mark("done", detail).await,
                Err(e) => {
                    mark("failed", e.clone()).await;
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

/// Whether an open restore request uses snapshot `tag` on `node` (a clear must wait).
pub async fn snapshot_in_use(
    pool: &SqlitePool,
    node: &str,
    tag: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM restore_requests WHERE node = ? AND tag = ? \
         AND state IN ('awaiting_approval', 'approved', 'running', 'interrupted') LIMIT 1",
    )
    .bind(node)
    .bind(tag)
    .fetch_optional(pool)
    .await
}
