//! Schedules as the server runs them: saved in the catalog with their `next_run_at`, started
//! by the server's own timer, each due time run at most once (a unique catalog row per due
//! time, under a lease so two servers on one catalog never both start it), each run a job
//! that takes the snapshot, copies it to a store if asked, and applies the retention.

use std::sync::Arc;
use std::time::Duration;

use app::api::{CreateSnapshotRequest, format_bytes};
use sqlx::SqlitePool;

use super::model::{
    self, Overlap, RetentionCandidate, ScheduleDto, ScheduleInput, SchedulePatch, SchedulePreview,
    ScheduleRunDto, ScheduleScope, StoreRetentionCandidate,
};
use super::retention::Retention;
use super::template;
use super::timing::Timing;
use crate::backups::BackupService;
use crate::error::ServiceError;
use crate::jobs;
use crate::snapshots::{SnapshotService, pins};

/// How often the timer looks for due schedules.
pub const TICK: Duration = Duration::from_secs(2);
/// A due time this far behind when the server starts was missed while no server ran.
pub const MISSED_AFTER_MS: i64 = 60_000;
/// How long a server's claim on a schedule lasts without being renewed.
const LEASE_MS: i64 = 30_000;

/// The current time, Unix ms (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Schedules: saved, listed, changed, and run.
#[derive(Clone)]
pub struct ScheduleService {
    pool: SqlitePool,
    snapshots: SnapshotService,
    backups: BackupService,
    /// Runs the schedules of kind `drill`.
    drills: Option<crate::drills::DrillService>,
    clusters: Option<crate::clusters::ClusterService>,
    nodes: Arc<Vec<String>>,
    stores: Arc<Vec<String>>,
    /// This server process, for the lease.
    owner: Arc<str>,
    clock: Clock,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    kind: String,
    cron: String,
    timezone: String,
    scope: String,
    tag_template: String,
    ttl: Option<String>,
    upload_to: Option<String>,
    overlap: String,
    catch_up: bool,
    retention: String,
    paused: bool,
    next_run_at: Option<i64>,
    created_at: i64,
    created_by: Option<String>,
    updated_at: i64,
}

const COLUMNS: &str = "id, name, kind, cron, timezone, scope, tag_template, ttl, upload_to, overlap, \
     catch_up, retention, paused, next_run_at, created_at, created_by, updated_at";

const RUN_COLUMNS: &str =
    "id, schedule_id, due_at, trigger, state, tag, job_id, message, started_at, finished_at";

impl Row {
    fn scope(&self) -> ScheduleScope {
        serde_json::from_str(&self.scope).unwrap_or_default()
    }

    fn retention(&self) -> Retention {
        serde_json::from_str(&self.retention).unwrap_or_default()
    }

    fn input(&self) -> ScheduleInput {
        ScheduleInput {
            name: self.name.clone(),
            kind: Some(self.kind.clone()),
            cron: self.cron.clone(),
            timezone: Some(self.timezone.clone()),
            scope: self.scope(),
            tag_template: Some(self.tag_template.clone()),
            ttl: self.ttl.clone(),
            upload_to: self.upload_to.clone(),
            overlap: Some(Overlap::parse(&self.overlap)),
            catch_up: Some(self.catch_up),
            retention: self.retention(),
            paused: Some(self.paused),
        }
    }

    fn timing(&self) -> Result<Timing, ServiceError> {
        Timing::parse(&self.cron, &self.timezone).map_err(|e| {
            ServiceError::Conflict(format!("schedule `{}` cannot run: {e}", self.name))
        })
    }
}

/// What the timer does with a schedule whose time has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Start a run for the due time.
    Run,
    /// Record the due time as skipped, with why.
    Skip(String),
    /// Leave it due (it runs once the previous run has ended).
    Wait,
}

/// The timer's decision for a due schedule whose previous run, if still going, has tag
/// `running` (pure, so the rules are tested without a node).
pub fn decide(overlap: Overlap, running: Option<&str>) -> Decision {
    match (running, overlap) {
        (None, _) => Decision::Run,
        (Some(tag), Overlap::Skip) => Decision::Skip(format!(
            "skipped: the previous run ({tag}) was still running (overlap = skip)"
        )),
        (Some(_), Overlap::Queue) => Decision::Wait,
    }
}

impl ScheduleService {
    pub fn new(
        pool: SqlitePool,
        snapshots: SnapshotService,
        backups: BackupService,
        nodes: Vec<String>,
    ) -> Self {
        let mut id = [0u8; 6];
        let _ = getrandom::getrandom(&mut id);
        let stores = backups.store_names();
        Self {
            pool,
            snapshots,
            backups,
            drills: None,
            clusters: None,
            nodes: Arc::new(nodes),
            stores: Arc::new(stores),
            owner: format!("{}-{}", std::process::id(), hex::encode(id)).into(),
            clock: Arc::new(crate::clock::now_ms),
        }
    }

    /// The same service running drill schedules through `drills`.
    pub fn with_drills(mut self, drills: crate::drills::DrillService) -> Self {
        self.drills = Some(drills);
        self
    }

    /// The same service running cluster-scoped schedules through `clusters`.
    pub fn with_clusters(mut self, clusters: crate::clusters::ClusterService) -> Self {
        self.clusters = Some(clusters);
        self
    }

    /// The same service reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// When a schedule would run and which tags it would give, without saving it.
    pub fn preview(&self, input: ScheduleInput) -> Result<SchedulePreview, ServiceError> {
        Ok(model::check(input, &self.nodes, &self.stores, self.now())?.preview)
    }

    /// Saves a new schedule.
    pub async fn create(
        &self,
        input: ScheduleInput,
        user: Option<&str>,
    ) -> Result<ScheduleDto, ServiceError> {
        let now = self.now();
        let c = model::check(input, &self.nodes, &self.stores, now)?;
        self.check_cluster(&c.input.scope).await?;
        self.name_free(&c.input.name, None).await?;
        let paused = c.input.paused.unwrap_or(false);
        let next = if paused {
            None
        } else {
            c.timing.next_after(now)
        };
        let columns = SETTABLE.join(", ");
        let marks = vec!["?"; SETTABLE.len()].join(", ");
        let insert = format!(
            "INSERT INTO schedules (kind, created_at, created_by, {columns}) VALUES (?, ?, ?, {marks})"
        );
        let q = sqlx::query(&insert)
            .bind(c.input.kind.as_deref().unwrap_or("snapshot"))
            .bind(now)
            .bind(user);
        let id = bind_settable(q, &c, paused, next, now)
            .execute(&self.pool)
            .await?
            .last_insert_rowid();
        self.get(id).await
    }

    async fn name_free(&self, name: &str, except: Option<i64>) -> Result<(), ServiceError> {
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM schedules WHERE name = ? AND id IS NOT ?")
                .bind(name)
                .bind(except)
                .fetch_optional(&self.pool)
                .await?;
        match taken {
            Some(id) => Err(ServiceError::Conflict(format!(
                "a schedule named `{name}` exists already (id {id}); choose another name"
            ))),
            None => Ok(()),
        }
    }

    async fn row(&self, id: i64) -> Result<Row, ServiceError> {
        sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM schedules WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no schedule {id}")))
    }

    /// One schedule with its next runs, last run and what its retention would clear now.
    pub async fn get(&self, id: i64) -> Result<ScheduleDto, ServiceError> {
        let row = self.row(id).await?;
        self.dto(row).await
    }

    /// Every schedule, by name.
    pub async fn list(&self) -> Result<Vec<ScheduleDto>, ServiceError> {
        let rows =
            sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.dto(r).await?);
        }
        Ok(out)
    }

    async fn dto(&self, row: Row) -> Result<ScheduleDto, ServiceError> {
        let now = self.now();
        let (next_runs, next_tags) = match row.timing() {
            Ok(t) => {
                let runs = t.next_runs(now, 5);
                let tags = runs
                    .iter()
                    .filter_map(|r| t.local(*r))
                    .filter_map(|l| template::render(&row.tag_template, &row.name, &l).ok())
                    .collect();
                (runs, tags)
            }
            Err(_) => (Vec::new(), Vec::new()),
        };
        let last_run = sqlx::query_as::<_, ScheduleRunDto>(&format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ? ORDER BY id DESC LIMIT 1"
        ))
        .bind(row.id)
        .fetch_optional(&self.pool)
        .await?;
        let retention_clears = self.retention_plan(&row, now).await?;
        let store_retention_clears = self.store_retention_plan(&row, now).await?;
        Ok(ScheduleDto {
            id: row.id,
            scope: row.scope(),
            retention: row.retention(),
            overlap: Overlap::parse(&row.overlap),
            name: row.name,
            kind: row.kind,
            cron: row.cron,
            timezone: row.timezone,
            tag_template: row.tag_template,
            ttl: row.ttl,
            upload_to: row.upload_to,
            catch_up: row.catch_up,
            paused: row.paused,
            next_run_at: row.next_run_at,
            next_runs,
            next_tags,
            last_run,
            retention_clears,
            store_retention_clears,
            created_at: row.created_at,
            created_by: row.created_by,
            updated_at: row.updated_at,
        })
    }

    /// Changes a schedule; a changed cron or time zone, or a resume, starts counting from now.
    pub async fn update(&self, id: i64, patch: SchedulePatch) -> Result<ScheduleDto, ServiceError> {
        let row = self.row(id).await?;
        let now = self.now();
        let c = model::check(patch.apply(row.input()), &self.nodes, &self.stores, now)?;
        self.check_cluster(&c.input.scope).await?;
        self.name_free(&c.input.name, Some(id)).await?;
        let paused = c.input.paused.unwrap_or(false);
        let retimed = c.input.cron != row.cron || c.timezone != row.timezone;
        let next = match (paused, row.paused, row.next_run_at) {
            (true, ..) => None,
            (false, false, Some(due)) if !retimed => Some(due),
            _ => c.timing.next_after(now),
        };
        let sets: Vec<String> = SETTABLE.iter().map(|c| format!("{c} = ?")).collect();
        let update = format!("UPDATE schedules SET {} WHERE id = ?", sets.join(", "));
        bind_settable(sqlx::query(&update), &c, paused, next, now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        self.get(id).await
    }

    /// Removes a schedule and its run history; the snapshots it took stay.
    pub async fn delete(&self, id: i64) -> Result<String, ServiceError> {
        let row = self.row(id).await?;
        sqlx::query("DELETE FROM schedule_runs WHERE schedule_id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM schedules WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(row.name)
    }

    /// The newest runs of a schedule.
    pub async fn runs(&self, id: i64, limit: i64) -> Result<Vec<ScheduleRunDto>, ServiceError> {
        self.row(id).await?;
        Ok(sqlx::query_as::<_, ScheduleRunDto>(&format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(id)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Starts a run now, whatever the time (`POST /api/v1/schedules/{id}/run`).
    pub async fn run_now(&self, id: i64) -> Result<ScheduleRunDto, ServiceError> {
        let row = self.row(id).await?;
        if let Some(tag) = self.running(id).await? {
            return Err(ServiceError::Conflict(format!(
                "the previous run of schedule `{}` ({tag}) is still running; retry when it has finished",
                row.name
            )));
        }
        let now = self.now();
        self.start_run(&row, now, "manual").await?.ok_or_else(|| {
            ServiceError::Busy("a run of this schedule started at the same moment; retry".into())
        })
    }

    /// The tag of the schedule's run that is still going, if any.
    async fn running(&self, id: i64) -> Result<Option<String>, ServiceError> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT tag FROM schedule_runs WHERE schedule_id = ? AND state = 'running' ORDER BY id DESC LIMIT 1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|t| t.unwrap_or_else(|| "no tag yet".into())))
    }

    /// Claims `row` for this server until the lease runs out; false when another holds it.
    async fn claim(&self, row: &Row, now: i64) -> Result<bool, ServiceError> {
        let r = sqlx::query(
            "UPDATE schedules SET lease_owner = ?1, lease_until = ?2 WHERE id = ?3 \
             AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_until < ?4)",
        )
        .bind(&*self.owner)
        .bind(now + LEASE_MS)
        .bind(row.id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn advance(&self, row: &Row, next: Option<i64>) -> Result<(), ServiceError> {
        sqlx::query("UPDATE schedules SET next_run_at = ? WHERE id = ? AND next_run_at IS ?")
            .bind(next)
            .bind(row.id)
            .bind(row.next_run_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a due time as skipped (once: a due time already recorded stays as it is).
    async fn skip(&self, row: &Row, due: i64, why: &str) -> Result<(), ServiceError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO schedule_runs (schedule_id, due_at, trigger, state, message, started_at, finished_at) \
             VALUES (?, ?, 'timer', 'skipped', ?, ?, ?) ON CONFLICT (schedule_id, due_at) DO NOTHING",
        )
        .bind(row.id)
        .bind(due)
        .bind(why)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        tracing::info!(schedule = %row.name, due, why, "schedule run skipped");
        Ok(())
    }

    /// One look at the schedules: every due one is started, skipped or left waiting.
    /// Returns how many runs started.
    pub async fn tick(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let due = sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM schedules WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= ? \
             ORDER BY next_run_at"
        ))
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut started = 0;
        for row in due {
            let Some(due_at) = row.next_run_at else {
                continue;
            };
            if !self.claim(&row, now).await? {
                continue;
            }
            let timing = match row.timing() {
                Ok(t) => t,
                Err(e) => {
                    self.skip(&row, due_at, &e.to_string()).await?;
                    self.advance(&row, None).await?;
                    continue;
                }
            };
            let running = self.running(row.id).await?;
            match decide(Overlap::parse(&row.overlap), running.as_deref()) {
                Decision::Wait => continue,
                Decision::Skip(why) => self.skip(&row, due_at, &why).await?,
                Decision::Run => {
                    if self.start_run(&row, due_at, "timer").await?.is_some() {
                        started += 1;
                    }
                }
            }
            self.advance(&row, timing.next_after(now.max(due_at)))
                .await?;
        }
        Ok(started)
    }

    /// At start: a schedule whose due time passed while no server ran runs once now (for
    /// its latest missed time) when `catch_up` is on, else that time is recorded as skipped;
    /// either way it then counts from now. Returns how many runs started.
    pub async fn catch_up(&self) -> Result<usize, ServiceError> {
        let now = self.now();
        let late = sqlx::query_as::<_, Row>(&format!(
            "SELECT {COLUMNS} FROM schedules WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at < ?"
        ))
        .bind(now - MISSED_AFTER_MS)
        .fetch_all(&self.pool)
        .await?;
        let mut started = 0;
        for row in late {
            let Some(first) = row.next_run_at else {
                continue;
            };
            if !self.claim(&row, now).await? {
                continue;
            }
            let Ok(timing) = row.timing() else {
                self.advance(&row, None).await?;
                continue;
            };
            // The latest missed due time, and how many there were (counted up to a bound).
            let (mut latest, mut missed) = (first, 1u64);
            while missed < 100_000 {
                match timing.next_after(latest) {
                    Some(t) if t <= now => {
                        latest = t;
                        missed += 1;
                    }
                    _ => break,
                }
            }
            if row.catch_up {
                if self.running(row.id).await?.is_none()
                    && self.start_run(&row, latest, "catch-up").await?.is_some()
                {
                    started += 1;
                }
            } else {
                let why = format!(
                    "missed {missed} run(s) while no server was running; catch_up is off, so none was run"
                );
                self.skip(&row, latest, &why).await?;
            }
            self.advance(&row, timing.next_after(now)).await?;
        }
        Ok(started)
    }

    /// Records a run for `due` and starts its job; `None` when that due time has a run
    /// already (another server, or before a restart).
    async fn start_run(
        &self,
        row: &Row,
        due: i64,
        trigger: &str,
    ) -> Result<Option<ScheduleRunDto>, ServiceError> {
        let now = self.now();
        let timing = row.timing()?;
        let tag = timing
            .local(due)
            .ok_or_else(|| ServiceError::Conflict(format!("due time {due} is out of range")))
            .and_then(|l| {
                template::render(&row.tag_template, &row.name, &l)
                    .map_err(|e| ServiceError::Conflict(e.to_string()))
            });
        let (tag, state, message) = match tag {
            Ok(t) => (Some(t), "running", "starting".to_string()),
            Err(e) => (None, "failed", e.to_string()),
        };
        let run_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO schedule_runs (schedule_id, due_at, trigger, state, tag, message, started_at, finished_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 'failed' THEN ? END) \
             ON CONFLICT (schedule_id, due_at) DO NOTHING RETURNING id",
        )
        .bind(row.id)
        .bind(due)
        .bind(trigger)
        .bind(state)
        .bind(&tag)
        .bind(&message)
        .bind(now)
        .bind(state)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(run_id) = run_id else {
            return Ok(None);
        };
        if let Some(tag) = tag {
            let job_id = jobs::create(&self.pool, "schedule", None).await?;
            sqlx::query("UPDATE schedule_runs SET job_id = ? WHERE id = ?")
                .bind(job_id)
                .bind(run_id)
                .execute(&self.pool)
                .await?;
            let this = self.clone();
            let row = row.clone();
            tokio::spawn(async move {
                this.execute(run_id, job_id, row, tag).await;
            });
        } else {
            tracing::warn!(schedule = %row.name, %message, "schedule run failed before it started");
        }
        self.run(run_id).await.map(Some)
    }

    async fn run(&self, run_id: i64) -> Result<ScheduleRunDto, ServiceError> {
        sqlx::query_as::<_, ScheduleRunDto>(&format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE id = ?"
        ))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("no schedule run {run_id}")))
    }

    /// Waits for a job to end; returns it.
    async fn wait_job(&self, id: i64) -> Result<jobs::Job, ServiceError> {
        jobs::ended(&self.pool, id, Duration::from_millis(300), None)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("job {id} is gone")))
    }

    /// The run itself: snapshot on every node of the scope, copy to the store, retention; or,
    /// for a drill schedule, the drill.
    async fn execute(&self, run_id: i64, job_id: i64, row: Row, tag: String) {
        let pool = &self.pool;
        let _ = jobs::start(pool, job_id).await;
        if row.kind == "drill" {
            let (state, message, drilled) = self.drill(&row).await;
            self.end_run(
                run_id,
                job_id,
                &row,
                drilled.as_deref().unwrap_or(&tag),
                state,
                &message,
            )
            .await;
            return;
        }
        let steps = jobs::Steps::new(pool, job_id, 3);
        let scope = row.scope();
        let targets: Vec<Option<String>> = if scope.cluster.is_some() {
            Vec::new()
        } else if scope.nodes.is_empty() {
            vec![None]
        } else {
            scope.nodes.iter().cloned().map(Some).collect()
        };
        let mut failures: Vec<String> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        steps
            .at(
                0.0,
                &format!("schedule {}: taking snapshot {tag}", row.name),
            )
            .await;
        if let Some(cluster) = &scope.cluster {
            match self.cluster_snapshot(&row, &tag, cluster).await {
                Ok(message) => notes.push(message),
                Err(e) => failures.push(e),
            }
        }
        for node in targets {
            let req = CreateSnapshotRequest {
                node: node.clone(),
                cluster: None,
                keyspaces: Some(scope.keyspaces.clone()).filter(|k| !k.is_empty()),
                tables: Some(scope.tables.clone()).filter(|t| !t.is_empty()),
                tag: Some(tag.clone()),
                ttl: row.ttl.clone(),
                skip_flush: None,
            };
            let by = format!("schedule:{}", row.name);
            match self.snapshots.create_scheduled(req, Some(by)).await {
                Ok(dto) => match self.wait_job(dto.job.id).await {
                    Ok(j) if j.state == "done" => notes.push(j.message),
                    Ok(j) => failures.push(j.error.unwrap_or(j.message)),
                    Err(e) => failures.push(e.to_string()),
                },
                Err(e) => failures.push(format!(
                    "snapshot {tag}{}: {e}",
                    node.map(|n| format!(" on {n}")).unwrap_or_default()
                )),
            }
        }
        if failures.is_empty()
            && let Some(store) = row.upload_to.clone()
        {
            steps
                .at(
                    1.0,
                    &format!("schedule {}: copying {tag} to store {store}", row.name),
                )
                .await;
            match self.backups.upload_snapshot(&tag, Some(&store), None).await {
                Ok(job) => match self.wait_job(job.id).await {
                    Ok(j) if j.state == "done" => notes.push(j.message),
                    Ok(j) => failures.push(format!(
                        "copy to store {store}: {}",
                        j.error.unwrap_or(j.message)
                    )),
                    Err(e) => failures.push(e.to_string()),
                },
                Err(e) => failures.push(format!("copy to store {store}: {e}")),
            }
        }
        // Retention only after a good run: a failed snapshot must not thin out the old ones.
        if failures.is_empty() {
            steps
                .at(2.0, &format!("schedule {}: applying retention", row.name))
                .await;
            match self.apply_retention(&row).await {
                Ok(Some(msg)) => notes.push(msg),
                Ok(None) => {}
                Err(e) => failures.push(format!("retention: {e}")),
            }
            match self.apply_store_retention(&row).await {
                Ok(Some(msg)) => notes.push(msg),
                Ok(None) => {}
                Err(e) => failures.push(format!("store retention: {e}")),
            }
        }
        let (state, message) = if failures.is_empty() {
            ("done", notes.join("; "))
        } else {
            ("failed", failures.join("; "))
        };
        self.end_run(run_id, job_id, &row, &tag, state, &message)
            .await;
    }

    /// A cluster scope must name a cluster some configured node is in (400 naming `scope`).
    async fn check_cluster(&self, scope: &model::ScheduleScope) -> Result<(), ServiceError> {
        let (Some(cluster), Some(clusters)) = (&scope.cluster, &self.clusters) else {
            return Ok(());
        };
        clusters
            .members(cluster)
            .await
            .map(drop)
            .map_err(|e| match e {
                ServiceError::NotFound(m) => ServiceError::bad("scope", m),
                other => other,
            })
    }

    /// A cluster-scoped run's snapshot: one tag on every node of the cluster; an incomplete
    /// one fails the run (its retention does not run) with each failed node's reason.
    async fn cluster_snapshot(
        &self,
        row: &Row,
        tag: &str,
        cluster: &str,
    ) -> Result<String, String> {
        let Some(clusters) = &self.clusters else {
            return Err("cluster snapshots are not available here".into());
        };
        let scope = row.scope();
        let req = CreateSnapshotRequest {
            node: None,
            cluster: Some(cluster.to_string()),
            keyspaces: Some(scope.keyspaces).filter(|k| !k.is_empty()),
            tables: Some(scope.tables).filter(|t| !t.is_empty()),
            tag: Some(tag.to_string()),
            ttl: row.ttl.clone(),
            skip_flush: None,
        };
        let started = clusters
            .snapshot_scheduled(req, Some(format!("schedule:{}", row.name)))
            .await
            .map_err(|e| format!("cluster snapshot {tag} of {cluster}: {e}"))?;
        match self.wait_job(started.job.id).await {
            Ok(j) if j.state == "done" => Ok(j.message),
            Ok(j) => Err(j.error.unwrap_or(j.message)),
            Err(e) => Err(e.to_string()),
        }
    }

    /// A drill schedule's run: the newest snapshot of its tables restored into the drill
    /// keyspace, verified and dropped. Returns the run's state, message and the tag drilled.
    async fn drill(&self, row: &Row) -> (&'static str, String, Option<String>) {
        let Some(drills) = &self.drills else {
            return (
                "failed",
                "restore drills are not available here".into(),
                None,
            );
        };
        let scope = row.scope();
        let input = crate::drills::DrillInput {
            tables: scope.tables,
            snapshot: None,
            node: scope.nodes.first().cloned(),
        };
        match drills
            .run_to_end(input, &format!("schedule:{}", row.name), Some(row.id))
            .await
        {
            Ok(d) if d.state == "passed" => {
                ("done", format!("drill {}: {}", d.id, d.message), d.snapshot)
            }
            Ok(d) => (
                "failed",
                format!("drill {} {}: {}", d.id, d.state, d.message),
                d.snapshot,
            ),
            Err(e) => ("failed", format!("drill: {e}"), None),
        }
    }

    /// Records the end of a run and of its job.
    async fn end_run(
        &self,
        run_id: i64,
        job_id: i64,
        row: &Row,
        tag: &str,
        state: &str,
        message: &str,
    ) {
        let pool = &self.pool;
        let now = self.now();
        if let Err(e) = sqlx::query(
            "UPDATE schedule_runs SET state = ?, message = ?, tag = ?, finished_at = ? WHERE id = ?",
        )
        .bind(state)
        .bind(message)
        .bind(tag)
        .bind(now)
        .bind(run_id)
        .execute(pool)
        .await
        {
            tracing::warn!(error = %e, run_id, "cannot record the end of a schedule run");
        }
        let ended = if state == "done" {
            jobs::finish(pool, job_id, message).await
        } else {
            tracing::warn!(schedule = %row.name, %tag, %message, "schedule run failed");
            jobs::fail(pool, job_id, message).await
        };
        if let Err(e) = ended {
            tracing::warn!(error = %e, job_id, "cannot record the end of a schedule job");
        }
    }

    /// The schedule's snapshots (present, taken by its runs) that its retention clears now.
    async fn retention_plan(
        &self,
        row: &Row,
        now: i64,
    ) -> Result<Vec<RetentionCandidate>, ServiceError> {
        let retention = row.retention();
        if retention.keeps_everything() {
            return Ok(Vec::new());
        }
        let tz = row
            .timing()
            .map(|t| t.time_zone())
            .unwrap_or(chrono_tz::UTC);
        let taken: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT s.node, s.tag, s.created_at, s.exclusive_hold_bytes FROM snapshots s \
             WHERE s.status = 'present' AND s.tag IN \
             (SELECT tag FROM schedule_runs WHERE schedule_id = ? AND tag IS NOT NULL) \
             ORDER BY s.node, s.created_at",
        )
        .bind(row.id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        let mut nodes: Vec<&str> = taken.iter().map(|t| t.0.as_str()).collect();
        nodes.dedup();
        for node in nodes {
            let mine: Vec<&(String, String, i64, i64)> =
                taken.iter().filter(|t| t.0 == node).collect();
            let created: Vec<i64> = mine.iter().map(|t| t.2).collect();
            let keep = retention.keep(&created, now, tz);
            for (t, kept) in mine.into_iter().zip(keep) {
                if kept {
                    continue;
                }
                let pinned = !pins::holding(&self.pool, &t.0, &t.1, now).await?.is_empty();
                out.push(RetentionCandidate {
                    node: t.0.clone(),
                    tag: t.1.clone(),
                    created_at: t.2,
                    frees_bytes: t.3,
                    pinned,
                });
            }
        }
        Ok(out)
    }

    /// Clears what the retention does not keep (pinned snapshots stay); a sentence on what
    /// it did, or `None` when there was nothing to clear.
    async fn apply_retention(&self, row: &Row) -> Result<Option<String>, ServiceError> {
        let plan = self.retention_plan(row, self.now()).await?;
        if plan.is_empty() {
            return Ok(None);
        }
        let (mut cleared, mut freed, mut kept) = (Vec::new(), 0i64, Vec::new());
        for c in plan {
            if c.pinned {
                kept.push(format!("{} on {} (pinned)", c.tag, c.node));
                continue;
            }
            match self
                .snapshots
                .clear(&c.tag, Some(&c.node), None, None)
                .await
            {
                Ok(dto) => match self.wait_job(dto.job.id).await {
                    Ok(j) if j.state == "done" => {
                        cleared.push(c.tag.clone());
                        freed += c.frees_bytes;
                    }
                    Ok(j) => kept.push(format!(
                        "{} on {} ({})",
                        c.tag,
                        c.node,
                        j.error.unwrap_or(j.message)
                    )),
                    Err(e) => kept.push(format!("{} on {} ({e})", c.tag, c.node)),
                },
                Err(e) => kept.push(format!("{} on {} ({e})", c.tag, c.node)),
            }
        }
        let mut msg = format!(
            "retention cleared {} snapshot(s), freeing {}",
            cleared.len(),
            format_bytes(freed)
        );
        if !kept.is_empty() {
            msg.push_str(&format!("; kept {}", kept.join(", ")));
        }
        tracing::info!(schedule = %row.name, %msg, "retention applied");
        Ok(Some(msg))
    }

    /// The schedule's copies in its `upload_to` store (taken by its runs) that
    /// `retention.store` purges now, per node.
    async fn store_retention_plan(
        &self,
        row: &Row,
        now: i64,
    ) -> Result<Vec<StoreRetentionCandidate>, ServiceError> {
        let retention = row.retention();
        let (Some(rules), Some(store)) = (retention.for_store(), row.upload_to.as_deref()) else {
            return Ok(Vec::new());
        };
        let tz = row
            .timing()
            .map(|t| t.time_zone())
            .unwrap_or(chrono_tz::UTC);
        let copies: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT u.id, u.node, u.name, u.created_at, u.bytes FROM uploads u \
             WHERE u.store = ? AND u.kind = 'snapshot' AND u.name IN \
             (SELECT tag FROM schedule_runs WHERE schedule_id = ? AND tag IS NOT NULL) \
             ORDER BY u.node, u.created_at",
        )
        .bind(store)
        .bind(row.id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        let mut nodes: Vec<&str> = copies.iter().map(|c| c.1.as_str()).collect();
        nodes.dedup();
        for node in nodes {
            let mine: Vec<&(i64, String, String, i64, i64)> =
                copies.iter().filter(|c| c.1 == node).collect();
            let created: Vec<i64> = mine.iter().map(|c| c.3).collect();
            let keep = rules.keep(&created, now, tz);
            for (c, kept) in mine.into_iter().zip(keep) {
                if kept {
                    continue;
                }
                let pinned = self.backups.restoring_from(c.0).await?.is_some();
                out.push(StoreRetentionCandidate {
                    upload_id: c.0,
                    store: store.to_string(),
                    node: c.1.clone(),
                    tag: c.2.clone(),
                    created_at: c.3,
                    bytes: c.4,
                    pinned,
                });
            }
        }
        Ok(out)
    }

    /// Purges the copies the store retention does not keep (those an open restore uses
    /// stay); a sentence on what it did, or `None` when there was nothing to purge.
    async fn apply_store_retention(&self, row: &Row) -> Result<Option<String>, ServiceError> {
        let plan = self.store_retention_plan(row, self.now()).await?;
        let Some(store) = plan.first().map(|c| c.store.clone()) else {
            return Ok(None);
        };
        let (mut purged, mut orphaned, mut kept) = (0usize, 0u64, Vec::new());
        for c in plan {
            if c.pinned {
                kept.push(format!("{} of {} (an open restore uses it)", c.tag, c.node));
                continue;
            }
            match self.backups.purge(c.upload_id).await {
                Ok((_, n)) => {
                    purged += 1;
                    orphaned += n;
                }
                Err(e) => kept.push(format!("{} of {} ({e})", c.tag, c.node)),
            }
        }
        let mut msg = format!(
            "store retention purged {purged} copy(ies) from {store}; {orphaned} object(s) no other copy names leave the store after the grace period"
        );
        if !kept.is_empty() {
            msg.push_str(&format!("; kept {}", kept.join(", ")));
        }
        tracing::info!(schedule = %row.name, %msg, "store retention applied");
        Ok(Some(msg))
    }

    /// At start: runs a previous process left going are marked interrupted.
    pub async fn mark_interrupted(&self) -> Result<u64, ServiceError> {
        let r = sqlx::query(
            "UPDATE schedule_runs SET state = 'interrupted', finished_at = ?, \
             message = 'the server stopped during this run' WHERE state = 'running'",
        )
        .bind(self.now())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// The server's timer: marks interrupted runs, catches up once, then ticks every [`TICK`].
    pub fn spawn_timer(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            match this.mark_interrupted().await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    runs = n,
                    "schedule runs left running by the previous server are interrupted"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot mark interrupted schedule runs"),
            }
            if let Err(e) = this.catch_up().await {
                tracing::warn!(error = %e, "cannot catch up missed schedule runs");
            }
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this.tick().await {
                    tracing::warn!(error = %e, "schedule timer failed; retrying at the next tick");
                }
            }
        });
    }
}

/// The columns a save writes, in the order [`bind_settable`] binds them.
const SETTABLE: [&str; 13] = [
    "name",
    "cron",
    "timezone",
    "scope",
    "tag_template",
    "ttl",
    "upload_to",
    "overlap",
    "catch_up",
    "retention",
    "paused",
    "next_run_at",
    "updated_at",
];

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds a checked schedule's [`SETTABLE`] columns.
fn bind_settable<'q>(
    q: SqliteQuery<'q>,
    c: &'q model::Checked,
    paused: bool,
    next: Option<i64>,
    now: i64,
) -> SqliteQuery<'q> {
    q.bind(&c.input.name)
        .bind(&c.input.cron)
        .bind(&c.timezone)
        .bind(json(&c.input.scope))
        .bind(&c.tag_template)
        .bind(&c.input.ttl)
        .bind(&c.input.upload_to)
        .bind(c.input.overlap.unwrap_or_default().as_str())
        .bind(c.input.catch_up.unwrap_or(true))
        .bind(json(&c.input.retention))
        .bind(paused)
        .bind(next)
        .bind(now)
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[test]
    fn overlapping_runs_are_skipped_or_wait_as_the_schedule_says() {
        assert_eq!(decide(Overlap::Skip, None), Decision::Run);
        assert_eq!(decide(Overlap::Queue, None), Decision::Run);
        assert!(
            matches!(decide(Overlap::Skip, Some("t1")), Decision::Skip(why) if why.contains("t1") && why.contains("still running"))
        );
        assert_eq!(decide(Overlap::Queue, Some("t1")), Decision::Wait);
    }

    /// A service over an empty catalog with no node, on a clock the test moves.
    async fn service(dir: &std::path::Path, clock: Arc<AtomicI64>) -> ScheduleService {
        let cat = Catalog::open(&dir.join("c.db")).await.expect("catalog");
        let pool = cat.pool().clone();
        let snapshots = SnapshotService::new(
            pool.clone(),
            Vec::new(),
            crate::snapshots::SnapshotsConfig::default(),
            crate::cassandra::CqlSessions::default(),
        );
        let backups = BackupService::new(pool.clone(), Vec::new(), Vec::new(), Default::default());
        ScheduleService::new(pool, snapshots, backups, Vec::new())
            .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)))
    }

    const NOW: i64 = 1_796_083_200_000; // 2026-12-01 00:00 UTC

    async fn runs(s: &ScheduleService, id: i64) -> Vec<(String, String, i64)> {
        let mut r: Vec<_> = s
            .runs(id, 100)
            .await
            .expect("runs")
            .into_iter()
            .map(|r| (r.trigger, r.state, r.due_at))
            .collect();
        r.reverse();
        r
    }

    #[tokio::test]
    async fn a_missed_run_is_caught_up_once_and_a_due_time_never_runs_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(AtomicI64::new(NOW));
        let s = service(dir.path(), clock.clone()).await;
        let hourly = s
            .create(
                ScheduleInput {
                    name: "hourly".into(),
                    cron: "0 * * * *".into(),
                    ..ScheduleInput::default()
                },
                Some("alice"),
            )
            .await
            .expect("create");
        assert_eq!(hourly.next_run_at, Some(NOW + 3_600_000));
        assert_eq!(hourly.next_tags[0], "snapkeep-sched-hourly-20261201T010000");
        let quiet = s
            .create(
                ScheduleInput {
                    name: "quiet".into(),
                    cron: "30 * * * *".into(),
                    catch_up: Some(false),
                    ..ScheduleInput::default()
                },
                None,
            )
            .await
            .expect("create");
        // No server for five hours and ten minutes.
        clock.store(NOW + 5 * 3_600_000 + 600_000, Ordering::SeqCst);
        assert_eq!(s.catch_up().await.expect("catch up"), 1);
        // A second start (another server, or a restart) finds nothing to catch up.
        assert_eq!(s.catch_up().await.expect("again"), 0);
        assert_eq!(s.tick().await.expect("tick"), 0);
        let h = runs(&s, hourly.id).await;
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!((h[0].0.as_str(), h[0].2), ("catch-up", NOW + 5 * 3_600_000));
        let q = runs(&s, quiet.id).await;
        assert_eq!(q.len(), 1, "{q:?}");
        assert_eq!(q[0].1, "skipped");
        let why = &s.runs(quiet.id, 1).await.expect("runs")[0].message;
        assert!(
            why.contains("missed 5 run(s)") && why.contains("catch_up is off"),
            "{why}"
        );
        // Both count from now: the next hour.
        assert_eq!(
            s.get(hourly.id).await.expect("get").next_run_at,
            Some(NOW + 6 * 3_600_000)
        );
    }

    #[tokio::test]
    async fn a_due_run_starts_once_overlap_skips_and_pause_stops_the_timer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(AtomicI64::new(NOW));
        let s = service(dir.path(), clock.clone()).await;
        let sch = s
            .create(
                ScheduleInput {
                    name: "q".into(),
                    cron: "*/15 * * * *".into(),
                    ..ScheduleInput::default()
                },
                None,
            )
            .await
            .expect("create");
        // Pretend a run is still going: the due time is skipped, and only once.
        sqlx::query(
            "INSERT INTO schedule_runs (schedule_id, due_at, trigger, state, tag, started_at) \
             VALUES (?, ?, 'manual', 'running', 'snapkeep-sched-q-x', ?)",
        )
        .bind(sch.id)
        .bind(NOW - 1)
        .bind(NOW)
        .execute(&s.pool)
        .await
        .expect("insert");
        clock.store(NOW + 15 * 60_000 + 500, Ordering::SeqCst);
        assert_eq!(s.tick().await.expect("tick"), 0);
        assert_eq!(s.tick().await.expect("tick again"), 0);
        let r = s.runs(sch.id, 10).await.expect("runs");
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].state, "skipped");
        assert!(
            r[0].message.contains("snapkeep-sched-q-x"),
            "{}",
            r[0].message
        );
        let err = s.run_now(sch.id).await.expect_err("still running");
        assert!(err.to_string().contains("still running"), "{err}");
        // Paused: nothing is due, whatever the time.
        let paused = s
            .update(
                sch.id,
                SchedulePatch {
                    paused: Some(true),
                    ..SchedulePatch::default()
                },
            )
            .await
            .expect("pause");
        assert!(paused.paused && paused.next_run_at.is_none());
        assert_eq!(
            paused.next_runs.len(),
            5,
            "the next runs still show while paused"
        );
        clock.store(NOW + 86_400_000, Ordering::SeqCst);
        assert_eq!(s.tick().await.expect("tick"), 0);
        assert_eq!(s.runs(sch.id, 10).await.expect("runs").len(), 2);
        // Resumed: counts from now.
        let resumed = s
            .update(
                sch.id,
                SchedulePatch {
                    paused: Some(false),
                    ..SchedulePatch::default()
                },
            )
            .await
            .expect("resume");
        assert_eq!(resumed.next_run_at, Some(NOW + 86_400_000 + 15 * 60_000));
    }

    #[tokio::test]
    async fn another_servers_lease_keeps_this_one_off_the_schedule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(AtomicI64::new(NOW));
        let a = service(dir.path(), clock.clone()).await;
        let b = ScheduleService {
            owner: "other".into(),
            ..a.clone()
        };
        let sch = a
            .create(
                ScheduleInput {
                    name: "l".into(),
                    cron: "0 * * * *".into(),
                    ..ScheduleInput::default()
                },
                None,
            )
            .await
            .expect("create");
        let row = a.row(sch.id).await.expect("row");
        assert!(b.claim(&row, NOW).await.expect("claim"));
        assert!(!a.claim(&row, NOW + 1000).await.expect("held"));
        assert!(
            b.claim(&row, NOW + 1000)
                .await
                .expect("renewed by its holder")
        );
        // The holder stopped renewing: the lease runs out and the other server takes over.
        assert!(
            a.claim(&row, NOW + 1000 + LEASE_MS + 1)
                .await
                .expect("expired")
        );
    }

    #[tokio::test]
    async fn names_are_unique_and_unknown_ids_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(AtomicI64::new(NOW));
        let s = service(dir.path(), clock).await;
        let input = ScheduleInput {
            name: "n".into(),
            cron: "@daily".into(),
            ..ScheduleInput::default()
        };
        s.create(input.clone(), None).await.expect("first");
        let e = s.create(input, None).await.expect_err("second");
        assert!(
            matches!(e, ServiceError::Conflict(ref m) if m.contains("`n` exists")),
            "{e}"
        );
        let e = s.get(999).await.expect_err("unknown");
        assert!(
            matches!(e, ServiceError::NotFound(ref m) if m.contains("999")),
            "{e}"
        );
    }
}
