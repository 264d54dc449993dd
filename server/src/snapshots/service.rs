//! Taking and clearing snapshots as jobs. A request is checked at once (tag, TTL, node,
//! keyspaces and tables against the live schema, tag not already used, tables not busy) and
//! answered with its job; the job runs `nodetool`, measures what it made (a scan of just the
//! tables concerned) and records it. nodetool failing fails the job with nodetool's own
//! message, and nothing is recorded that is not on disk.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use app::api::{CreateSnapshotRequest, JobDto, SnapshotJobDto, format_bytes, format_compact_utc};
use serde::Deserialize;
use sqlx::SqlitePool;

use super::locks::{TableLocks, TablesGuard, key};
use super::record::{Intent, RecordOptions, Scope, record};
use super::{SnapshotError, validate};
use crate::cassandra::CqlSessions;
use crate::cassandra::cql::{Cql, Schema};
use crate::clock::now_ms;
use crate::jobs;
use crate::node::{Node, NodeConfig, SnapshotRequest, TableRef};

/// `[snapshots]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotsConfig {
    /// Tables whose live data is at most this many bytes get an exact `SELECT COUNT(*)` when
    /// snapshotted; larger ones get the estimate their SSTables' metadata gives.
    pub row_count_max_bytes: u64,
    /// At most this many tables are counted exactly per snapshot.
    pub row_count_max_tables: usize,
}

impl Default for SnapshotsConfig {
    fn default() -> Self {
        Self {
            row_count_max_bytes: 256 * 1024 * 1024,
            row_count_max_tables: 50,
        }
    }
}

pub use app::names::is_system_keyspace;

/// Snapshot taking and clearing.
#[derive(Clone)]
pub struct SnapshotService {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
    config: SnapshotsConfig,
    locks: TableLocks,
    sessions: CqlSessions,
    /// Called after every job so the inventory's per-table totals catch up.
    after_job: Option<Arc<dyn Fn() + Send + Sync>>,
}

/// One table a request concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    keyspace: String,
    table: String,
    id: String,
}

/// What one node is asked to do.
#[derive(Debug, Clone)]
struct NodePlan {
    node: NodeConfig,
    targets: Vec<Target>,
    /// nodetool arguments: keyspaces (whole) or `ks.table` list.
    keyspaces: Vec<String>,
    tables: Vec<String>,
}

impl SnapshotService {
    pub fn new(
        pool: SqlitePool,
        nodes: Vec<NodeConfig>,
        config: SnapshotsConfig,
        sessions: CqlSessions,
    ) -> Self {
        Self {
            pool,
            nodes: Arc::new(nodes),
            config,
            locks: TableLocks::default(),
            sessions,
            after_job: None,
        }
    }

    /// Runs `f` after each snapshot or clear job (e.g. to start an inventory scan).
    pub fn with_after_job(mut self, f: Arc<dyn Fn() + Send + Sync>) -> Self {
        self.after_job = Some(f);
        self
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn nodes(&self) -> &[NodeConfig] {
        &self.nodes
    }

    /// The per-table locks (restores take them too).
    pub fn locks(&self) -> &TableLocks {
        &self.locks
    }

    fn select_nodes(&self, node: Option<&str>) -> Result<Vec<NodeConfig>, SnapshotError> {
        match node.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => self
                .nodes
                .iter()
                .find(|n| n.name == name)
                .cloned()
                .map(|n| vec![n])
                .ok_or_else(|| {
                    let known: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                    SnapshotError::NotFound(format!(
                        "node `{name}` is not configured; configured nodes: {}",
                        known.join(", ")
                    ))
                }),
            None if self.nodes.is_empty() => Err(SnapshotError::Unavailable(
                "no Cassandra node is configured; add one under [[nodes]] in the configuration"
                    .into(),
            )),
            None => Ok(self.nodes.to_vec()),
        }
    }

    /// The live schema of a node, over the shared CQL session.
    pub async fn schema(&self, node: &NodeConfig) -> Result<Schema, SnapshotError> {
        self.sessions.schema(node).await.map_err(|e| {
            SnapshotError::Unavailable(format!(
                "cannot read the schema of node {} over CQL at {}: {e}",
                node.name, node.cql
            ))
        })
    }

    async fn session(&self, node: &NodeConfig) -> Option<Arc<Cql>> {
        self.sessions.cached(node).await
    }

    /// Checks a snapshot request and starts its job.
    pub async fn create(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
    ) -> Result<SnapshotJobDto, SnapshotError> {
        self.create_as(req, user, false).await
    }

    /// A scheduled run's snapshot: its tag must carry the scheduled prefix, which is refused
    /// to every other request.
    pub async fn create_scheduled(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
    ) -> Result<SnapshotJobDto, SnapshotError> {
        if !req
            .tag
            .as_deref()
            .is_some_and(|t| t.starts_with(validate::SCHEDULED_PREFIX))
        {
            return Err(SnapshotError::bad(
                "tag",
                format!(
                    "a scheduled snapshot's tag starts with `{}`",
                    validate::SCHEDULED_PREFIX
                ),
            ));
        }
        self.create_as(req, user, true).await
    }

    async fn create_as(
        &self,
        req: CreateSnapshotRequest,
        user: Option<String>,
        scheduled: bool,
    ) -> Result<SnapshotJobDto, SnapshotError> {
        let tag = match req.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => {
                validate::tag(t)?;
                if !scheduled {
                    validate::not_reserved(t)?;
                }
                t.to_string()
            }
            None => format!(
                "{}{}",
                validate::MANUAL_PREFIX,
                format_compact_utc(now_ms())
            ),
        };
        let ttl = match req.ttl.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => {
                validate::ttl(t)?;
                Some(t.to_string())
            }
            None => None,
        };
        let keyspaces: Vec<String> = req.keyspaces.clone().unwrap_or_default();
        for ks in &keyspaces {
            validate::keyspace_name(ks)?;
        }
        let mut tables: Vec<(String, String)> = Vec::new();
        for t in req.tables.clone().unwrap_or_default() {
            tables.push(validate::table_name(&t)?);
        }
        let nodes = self.select_nodes(req.node.as_deref())?;

        let mut plans = Vec::new();
        for node in nodes {
            let schema = self.schema(&node).await?;
            let mut targets: BTreeSet<Target> = BTreeSet::new();
            for ks in &keyspaces {
                if !schema.keyspaces.iter().any(|k| k == ks) {
                    return Err(SnapshotError::NotFound(format!(
                        "keyspace `{ks}` does not exist on node {}",
                        node.name
                    )));
                }
            }
            for (ks, t) in &tables {
                let live = schema.table(ks, t).ok_or_else(|| {
                    SnapshotError::NotFound(format!(
                        "table `{ks}.{t}` does not exist on node {}",
                        node.name
                    ))
                })?;
                targets.insert(Target {
                    keyspace: ks.clone(),
                    table: t.clone(),
                    id: live.dir_id(),
                });
            }
            let whole_keyspace = |ks: &str| {
                tables.is_empty() && (keyspaces.is_empty() || keyspaces.iter().any(|k| k == ks))
            };
            for t in &schema.tables {
                let in_named_ks = keyspaces.contains(&t.keyspace);
                if whole_keyspace(&t.keyspace) || (!tables.is_empty() && in_named_ks) {
                    targets.insert(Target {
                        keyspace: t.keyspace.clone(),
                        table: t.table.clone(),
                        id: t.dir_id(),
                    });
                }
            }
            if targets.is_empty() {
                return Err(SnapshotError::NotFound(format!(
                    "nothing to snapshot on node {}: the keyspaces named have no tables",
                    node.name
                )));
            }
            // The tag must be new on this node: in the catalog and on disk.
            let in_catalog: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM snapshots WHERE node = ? AND tag = ? AND status = 'present'",
            )
            .bind(&node.name)
            .bind(&tag)
            .fetch_optional(&self.pool)
            .await?;
            let on_disk = targets.iter().any(|t| {
                node.data_dirs.iter().any(|d| {
                    d.join(&t.keyspace)
                        .join(format!("{}-{}", t.table, t.id))
                        .join("snapshots")
                        .join(&tag)
                        .exists()
                })
            });
            if in_catalog.is_some() || on_disk {
                return Err(SnapshotError::Conflict(format!(
                    "a snapshot tagged `{tag}` already exists on node {}; choose another tag or clear that one first",
                    node.name
                )));
            }
            let (ks_args, kt_args) = if tables.is_empty() {
                (keyspaces.clone(), Vec::new())
            } else {
                (
                    Vec::new(),
                    targets
                        .iter()
                        .map(|t| format!("{}.{}", t.keyspace, t.table))
                        .collect(),
                )
            };
            plans.push(NodePlan {
                node,
                targets: targets.into_iter().collect(),
                keyspaces: ks_args,
                tables: kt_args,
            });
        }

        let guard = self.lock(&plans)?;
        let job_node = (plans.len() == 1).then(|| plans[0].node.name.clone());
        jobs::room(&self.pool).await?.map_err(SnapshotError::Busy)?;
        let id = jobs::create(&self.pool, "snapshot", job_node.as_deref()).await?;
        let this = self.clone();
        let run_tag = tag.clone();
        let skip_flush = req.skip_flush.unwrap_or(false);
        let dto = SnapshotJobDto {
            tag: tag.clone(),
            nodes: plans.iter().map(|p| p.node.name.clone()).collect(),
            tables: table_names(&plans),
            job: self.job_dto(id).await?,
            frees_bytes: None,
        };
        tokio::spawn(async move {
            this.run_create(id, run_tag, ttl, skip_flush, user, plans, guard)
                .await;
        });
        Ok(dto)
    }

    fn lock(&self, plans: &[NodePlan]) -> Result<TablesGuard, SnapshotError> {
        let keys: Vec<String> = plans
            .iter()
            .flat_map(|p| {
                p.targets
                    .iter()
                    .map(|t| key(&p.node.name, &t.keyspace, &t.table))
            })
            .collect();
        self.locks.try_lock(keys).map_err(|busy| {
            let shown: Vec<String> = busy.iter().take(5).map(|k| super::locks::describe(k)).collect();
            SnapshotError::Busy(format!(
                "busy: a snapshot, clear or restore of {}{} is under way; retry when it has finished",
                shown.join(", "),
                if busy.len() > 5 { " and more" } else { "" }
            ))
        })
    }

    async fn job_dto(&self, id: i64) -> Result<JobDto, SnapshotError> {
        let job = jobs::get(&self.pool, id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(JobDto {
            id: job.id,
            kind: job.kind,
            state: job.state,
            progress: job.progress,
            message: job.message,
            error: job.error,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_create(
        &self,
        id: i64,
        tag: String,
        ttl: Option<String>,
        skip_flush: bool,
        user: Option<String>,
        plans: Vec<NodePlan>,
        guard: TablesGuard,
    ) {
        let pool = &self.pool;
        let _ = jobs::start(pool, id).await;
        let steps = jobs::Steps::new(pool, id, plans.len());
        let mut failures = Vec::new();
        let mut done = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let node = &plan.node;
            let taking = format!(
                "taking snapshot {tag} of {} table(s) on {}",
                plan.targets.len(),
                node.name
            );
            steps.at(i as f64, &taking).await;
            if let Err(e) = Node::local(node)
                .snapshot(&SnapshotRequest {
                    tag: tag.clone(),
                    ttl: ttl.clone(),
                    skip_flush,
                    keyspaces: plan.keyspaces.clone(),
                    tables: plan.tables.clone(),
                })
                .await
            {
                failures.push(format!("node {}: {e}", node.name));
                continue;
            }
            let measuring = format!("measuring snapshot {tag} on {}", node.name);
            steps.at(i as f64 + 0.5, &measuring).await;
            match self
                .measure_and_record(id, node, &plan.targets, &tag, user.clone(), None)
                .await
            {
                Ok((files, bytes)) => done.push(format!(
                    "{}: {} table(s), {files} files, {}",
                    node.name,
                    plan.targets.len(),
                    format_bytes(bytes)
                )),
                Err(e) => failures.push(format!(
                    "node {}: the snapshot was taken but could not be recorded: {e}",
                    node.name
                )),
            }
        }
        drop(guard);
        let (ok, msg) = if failures.is_empty() {
            (true, format!("snapshot {tag} taken ({})", done.join("; ")))
        } else {
            let mut msg = failures.join("; ");
            if !done.is_empty() {
                msg.push_str(&format!(" (taken on {})", done.join("; ")));
            }
            (false, msg)
        };
        self.end_job(id, "snapshot", &tag, ok, &msg).await;
    }

    /// Scans the tables concerned, counts rows (for a snapshot just taken) and records them.
    /// Returns the files and bytes of `tag` on this node.
    async fn measure_and_record(
        &self,
        job_id: i64,
        node: &NodeConfig,
        targets: &[Target],
        tag: &str,
        user: Option<String>,
        clearing: Option<&str>,
    ) -> Result<(i64, i64), String> {
        let ids: HashSet<String> = targets.iter().map(|t| t.id.clone()).collect();
        let observed_at = now_ms();
        let scan = Node::local(node)
            .scan(Some(ids.iter().cloned().collect()))
            .await?;
        let holds = scan.holds();
        let intent = if clearing.is_none() {
            let mut live: HashMap<String, u64> = HashMap::new();
            for t in &scan.tables {
                *live.entry(t.id.clone()).or_default() += t.live.bytes;
            }
            Some(Intent {
                tag: tag.to_string(),
                kind: taken_kind(tag),
                created_by: user,
                job_id: Some(job_id),
                row_counts: self.row_counts(node, targets, &live).await,
            })
        } else {
            None
        };
        let opts = RecordOptions {
            scope: Scope::Tables(ids),
            intent: intent.as_ref(),
            clearing,
            observed_at,
        };
        record(&self.pool, &node.name, &scan, &holds, &opts)
            .await
            .map_err(|e| format!("catalog: {e}"))?;
        let figures: Option<(i64, i64)> = sqlx::query_as(
            "SELECT files, size_bytes FROM snapshots WHERE node = ? AND tag = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(&node.name)
        .bind(tag)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| format!("catalog: {e}"))?;
        Ok(figures.unwrap_or_default())
    }

    /// Rows per table right after the snapshot: `SELECT COUNT(*)` for small user tables. The
    /// others are left out: recording the snapshot estimates them from its SSTables' metadata.
    async fn row_counts(
        &self,
        node: &NodeConfig,
        targets: &[Target],
        live: &HashMap<String, u64>,
    ) -> HashMap<String, (i64, &'static str)> {
        let mut out = HashMap::new();
        let Some(cql) = self.session(node).await else {
            return out;
        };
        let small = targets.iter().filter(|t| {
            !is_system_keyspace(&t.keyspace)
                && live.get(&t.id).copied().unwrap_or(0) <= self.config.row_count_max_bytes
        });
        for t in small.take(self.config.row_count_max_tables) {
            match cql.count_rows(&t.keyspace, &t.table).await {
                Ok(n) => {
                    out.insert(t.id.clone(), (n, "count"));
                }
                Err(e) => {
                    tracing::info!(table = %format!("{}.{}", t.keyspace, t.table), error = %e, "row count failed; the SSTables' estimate is recorded");
                }
            }
        }
        out
    }

    /// Checks a clear request and starts its job. `table` may be `keyspace.table`.
    pub async fn clear(
        &self,
        tag: &str,
        node: Option<&str>,
        keyspace: Option<&str>,
        table: Option<&str>,
    ) -> Result<SnapshotJobDto, SnapshotError> {
        if tag.is_empty() || tag.len() > 255 || tag.contains(['/', '\0']) {
            return Err(SnapshotError::bad(
                "tag",
                format!("`{tag}` is not a snapshot tag"),
            ));
        }
        let node = node.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = node {
            self.select_nodes(Some(n))?;
        }
        let mut keyspace = keyspace
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        let mut table = table
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if let Some(t) = table.clone()
            && let Some((ks, name)) = t.split_once('.')
        {
            if keyspace.as_deref().is_some_and(|k| k != ks) {
                return Err(SnapshotError::bad(
                    "table",
                    format!(
                        "table `{t}` is not in keyspace `{}`",
                        keyspace.unwrap_or_default()
                    ),
                ));
            }
            keyspace = Some(ks.to_string());
            table = Some(name.to_string());
        }
        if table.is_some() && keyspace.is_none() {
            return Err(SnapshotError::bad(
                "table",
                "name the table as keyspace.table (or give keyspace too)",
            ));
        }
        let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT st.id, s.node, st.keyspace_name, st.table_name, st.table_id, st.data_dir, st.exclusive_hold_bytes \
             FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id \
             WHERE s.tag = ?1 AND s.status = 'present' AND st.status = 'present' AND (?2 IS NULL OR s.node = ?2) \
             ORDER BY s.node, st.keyspace_name, st.table_name",
        )
        .bind(tag)
        .bind(node)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(SnapshotError::NotFound(format!(
                "no snapshot `{tag}`{}; if it was just taken outside Snapkeep, run a scan first",
                node.map(|n| format!(" on node {n}")).unwrap_or_default()
            )));
        }
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| keyspace.as_ref().is_none_or(|k| *k == r.2))
            .filter(|r| table.as_ref().is_none_or(|t| *t == r.3))
            .collect();
        if rows.is_empty() {
            return Err(SnapshotError::NotFound(format!(
                "snapshot `{tag}` has no {}",
                match (&keyspace, &table) {
                    (Some(k), Some(t)) => format!("table {k}.{t}"),
                    (Some(k), None) => format!("table in keyspace {k}"),
                    _ => "such table".into(),
                }
            )));
        }
        let mut plans: Vec<NodePlan> = Vec::new();
        let mut dirs: Vec<(String, String, String, String, String)> = Vec::new();
        for (_, n, ks, t, id, data_dir, _) in &rows {
            let Some(cfg) = self.nodes.iter().find(|c| c.name == *n) else {
                return Err(SnapshotError::NotFound(format!(
                    "snapshot `{tag}` is on node {n}, which is no longer configured"
                )));
            };
            let target = Target {
                keyspace: ks.clone(),
                table: t.clone(),
                id: id.clone(),
            };
            match plans.iter_mut().find(|p| p.node.name == *n) {
                Some(p) => {
                    if !p.targets.contains(&target) {
                        p.targets.push(target);
                    }
                }
                None => plans.push(NodePlan {
                    node: cfg.clone(),
                    targets: vec![target],
                    keyspaces: keyspace.clone().into_iter().collect(),
                    tables: Vec::new(),
                }),
            }
            dirs.push((
                n.clone(),
                data_dir.clone(),
                ks.clone(),
                t.clone(),
                id.clone(),
            ));
        }
        let frees: i64 = rows.iter().map(|r| r.6).sum();
        for p in &plans {
            let held = super::pins::holding(&self.pool, &p.node.name, tag, now_ms()).await?;
            if !held.is_empty() {
                return Err(SnapshotError::Conflict(super::pins::refusal(
                    tag,
                    &p.node.name,
                    &held,
                )));
            }
        }
        let guard = self.lock(&plans)?;
        let job_node = (plans.len() == 1).then(|| plans[0].node.name.clone());
        jobs::room(&self.pool).await?.map_err(SnapshotError::Busy)?;
        let id = jobs::create(&self.pool, "clear", job_node.as_deref()).await?;
        let dto = SnapshotJobDto {
            tag: tag.to_string(),
            nodes: plans.iter().map(|p| p.node.name.clone()).collect(),
            tables: table_names(&plans),
            job: self.job_dto(id).await?,
            frees_bytes: Some(frees),
        };
        let this = self.clone();
        let tag = tag.to_string();
        let by_table = table.is_some();
        tokio::spawn(async move {
            this.run_clear(id, tag, by_table, plans, dirs, frees, guard)
                .await;
        });
        Ok(dto)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_clear(
        &self,
        id: i64,
        tag: String,
        by_table: bool,
        plans: Vec<NodePlan>,
        dirs: Vec<(String, String, String, String, String)>,
        frees: i64,
        guard: TablesGuard,
    ) {
        let pool = &self.pool;
        let _ = jobs::start(pool, id).await;
        let mut failures = Vec::new();
        let steps = jobs::Steps::new(pool, id, plans.len());
        for (i, plan) in plans.iter().enumerate() {
            let node = &plan.node;
            let clearing = format!("clearing snapshot {tag} on {}", node.name);
            steps.at(i as f64, &clearing).await;
            let result = if by_table {
                // nodetool clearsnapshot cannot narrow to one table: remove that table's
                // snapshot directory, checked to be inside a configured data directory.
                let mut r = Ok(());
                for (n, data_dir, ks, t, tid) in dirs.iter().filter(|d| d.0 == node.name) {
                    let _ = n;
                    let table = TableRef {
                        data_dir: data_dir.into(),
                        keyspace: ks.clone(),
                        table: t.clone(),
                        table_id: tid.clone(),
                    };
                    if let Err(e) = Node::local(node).remove_table_snapshot(&table, &tag) {
                        r = Err(e.to_string());
                        break;
                    }
                }
                r
            } else {
                Node::local(node)
                    .clear_snapshot(&tag, &plan.keyspaces)
                    .await
                    .map_err(|e| e.to_string())
            };
            if let Err(e) = result {
                failures.push(format!("node {}: {e}", node.name));
            }
            // Record what is on disk now, whether or not the clear went through.
            if let Err(e) = self
                .measure_and_record(id, node, &plan.targets, &tag, None, Some(&tag))
                .await
            {
                failures.push(format!("node {}: {e}", node.name));
            }
        }
        drop(guard);
        let (ok, msg) = if failures.is_empty() {
            (
                true,
                format!("snapshot {tag} cleared; freed {}", format_bytes(frees)),
            )
        } else {
            (false, failures.join("; "))
        };
        self.end_job(id, "snapshot.clear", &tag, ok, &msg).await;
    }

    /// Ends a snapshot or clear job: the audit row, the job's outcome, then the after-job hook.
    async fn end_job(&self, id: i64, what: &str, tag: &str, ok: bool, msg: &str) {
        let pool = &self.pool;
        audit_job(pool, what, tag, ok, msg).await;
        let outcome = if ok {
            jobs::finish(pool, id, msg).await
        } else {
            jobs::fail(pool, id, msg).await
        };
        if let Err(e) = outcome {
            tracing::error!(job = id, what, error = %e, "cannot record the end of a job");
        }
        if let Some(f) = &self.after_job {
            f();
        }
    }
}

/// A snapshot job's outcome in the audit log (`snapshot.done`, `snapshot.clear.failed`, ...).
async fn audit_job(pool: &SqlitePool, what: &str, tag: &str, ok: bool, detail: &str) {
    use crate::auth::audit::{Outcome, record_system};
    let (suffix, outcome) = if ok {
        ("done", Outcome::Ok)
    } else {
        ("failed", Outcome::Failed)
    };
    record_system(
        pool,
        &format!("{what}.{suffix}"),
        &format!("snapshot/{tag}"),
        outcome,
        detail,
    )
    .await;
}

fn table_names(plans: &[NodePlan]) -> Vec<String> {
    let set: BTreeSet<String> = plans
        .iter()
        .flat_map(|p| {
            p.targets
                .iter()
                .map(|t| format!("{}.{}", t.keyspace, t.table))
        })
        .collect();
    set.into_iter().collect()
}

/// A snapshot Snapkeep takes on request is `manual` unless its tag marks it as scheduled or
/// pre-restore.
fn taken_kind(tag: &str) -> &'static str {
    match validate::classify(tag, None).0 {
        k @ ("scheduled" | "pre-restore") => k,
        _ => "manual",
    }
}
