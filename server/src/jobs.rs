//! Long operations as jobs: a catalog row each (`queued → running → done | failed`), with
//! progress and a message the UI polls. A job that was running when the server died is
//! marked `interrupted` at the next start.

use serde::Serialize;
use sqlx::SqlitePool;

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub node: Option<String>,
    /// `queued`, `running`, `done`, `failed` or `interrupted`.
    pub state: String,
    /// 0.0 to 1.0.
    pub progress: f64,
    pub message: String,
    pub error: Option<String>,
    /// Unix milliseconds, UTC.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

pub use crate::clock::now_ms;

/// Creates a queued job.
/// Most snapshot, clear and restore jobs queued or running at once: each runs nodetool (a JVM)
/// or moves files, so a burst of requests is refused rather than queued without end.
pub const MAX_ACTIVE_JOBS: i64 = 16;

/// `Err(sentence)` when [`MAX_ACTIVE_JOBS`] jobs are queued or running already.
pub async fn room(pool: &SqlitePool) -> Result<Result<(), String>, sqlx::Error> {
    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
            .fetch_one(pool)
            .await?;
    Ok(if active >= MAX_ACTIVE_JOBS {
        Err(format!(
            "busy: {active} jobs are queued or running (at most {MAX_ACTIVE_JOBS}); retry when one has finished"
        ))
    } else {
        Ok(())
    })
}

pub async fn create(pool: &SqlitePool, kind: &str, node: Option<&str>) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (kind, node, state, created_at) VALUES (?, ?, 'queued', ?) RETURNING id",
    )
    .bind(kind)
    .bind(node)
    .bind(now_ms())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Marks a job running.
pub async fn start(pool: &SqlitePool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?")
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// Records progress (0.0–1.0) and what the job is doing.
pub async fn progress(
    pool: &SqlitePool,
    id: i64,
    fraction: f64,
    message: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET progress = ?, message = ? WHERE id = ?")
        .bind(fraction.clamp(0.0, 1.0))
        .bind(message)
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// A job that works through `total` parts (nodes, steps): reports "part `i` of them is
/// under way" as its progress. A failure to record progress is logged, never fatal.
pub struct Steps<'a> {
    pool: &'a SqlitePool,
    id: i64,
    total: f64,
}

impl<'a> Steps<'a> {
    pub fn new(pool: &'a SqlitePool, id: i64, total: usize) -> Self {
        Steps {
            pool,
            id,
            total: total.max(1) as f64,
        }
    }

    /// Part `i` (0-based, fractions allowed: 1.5 is half-way through the second) has begun.
    pub async fn at(&self, i: f64, message: &str) {
        if let Err(e) = progress(self.pool, self.id, i / self.total, message).await {
            tracing::warn!(job = self.id, error = %e, "cannot record the job's progress");
        }
    }
}

/// Marks a job done.
pub async fn finish(pool: &SqlitePool, id: i64, message: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET state = 'done', progress = 1, message = ?, finished_at = ? WHERE id = ?",
    )
    .bind(message)
    .bind(now_ms())
    .bind(id)
    .execute(pool)
    .await
    .map(drop)
}

/// Marks a job failed with its error.
pub async fn fail(pool: &SqlitePool, id: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?")
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await
        .map(drop)
}

/// One job.
pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as::<_, Job>(
        "SELECT id, kind, node, state, progress, message, error, created_at, started_at, finished_at FROM jobs WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The newest job of `kind` that is queued or running.
pub async fn active(pool: &SqlitePool, kind: &str) -> Result<Option<Job>, sqlx::Error> {
    sqlx::query_as::<_, Job>(
        "SELECT id, kind, node, state, progress, message, error, created_at, started_at, finished_at FROM jobs \
         WHERE kind = ? AND state IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_optional(pool)
    .await
}

/// Polls job `id` every `every` until it has ended (`done`, `failed` or `interrupted`) and
/// returns it; `None` when there is no such job or, with a `limit`, when it has not ended by
/// then.
pub async fn ended(
    pool: &SqlitePool,
    id: i64,
    every: std::time::Duration,
    limit: Option<std::time::Duration>,
) -> Result<Option<Job>, sqlx::Error> {
    let until = limit.map(|l| tokio::time::Instant::now() + l);
    loop {
        match get(pool, id).await? {
            None => return Ok(None),
            Some(j) if !matches!(j.state.as_str(), "queued" | "running") => return Ok(Some(j)),
            Some(_) => {}
        }
        if until.is_some_and(|u| tokio::time::Instant::now() >= u) {
            return Ok(None);
        }
        tokio::time::sleep(every).await;
    }
}

/// At start: jobs left running by a previous process are marked interrupted.
pub async fn mark_interrupted(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE jobs SET state = 'interrupted', error = 'the server stopped while this job ran', finished_at = ? \
         WHERE state IN ('queued', 'running')",
    )
    .bind(now_ms())
    .execute(pool)
    .await?;
    sqlx::query("UPDATE scans SET state = 'failed', finished_at = ? WHERE state = 'running'")
        .bind(now_ms())
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[tokio::test]
    async fn new_jobs_are_refused_while_the_most_allowed_are_active() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let pool = cat.pool();
        let mut ids = Vec::new();
        for _ in 0..MAX_ACTIVE_JOBS {
            room(pool).await.expect("count").expect("room");
            ids.push(create(pool, "snapshot", None).await.expect("create"));
        }
        let full = room(pool).await.expect("count").expect_err("full");
        assert!(
            full.contains("busy") && full.contains("at most 16"),
            "{full}"
        );
        finish(pool, ids[0], "done").await.expect("finish");
        room(pool).await.expect("count").expect("room again");
    }

    #[tokio::test]
    async fn a_job_moves_through_its_states() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let pool = cat.pool();
        let id = create(pool, "scan", Some("node1")).await.expect("create");
        assert_eq!(
            get(pool, id).await.expect("get").expect("row").state,
            "queued"
        );
        start(pool, id).await.expect("start");
        progress(pool, id, 0.5, "half way").await.expect("progress");
        let j = get(pool, id).await.expect("get").expect("row");
        assert_eq!(
            (j.state.as_str(), j.progress, j.message.as_str()),
            ("running", 0.5, "half way")
        );
        assert_eq!(
            active(pool, "scan").await.expect("active").map(|j| j.id),
            Some(id)
        );
        assert_eq!(mark_interrupted(pool).await.expect("interrupt"), 1);
        assert_eq!(
            get(pool, id).await.expect("get").expect("row").state,
            "interrupted"
        );
        assert!(get(pool, id + 1).await.expect("get").is_none());
    }
}
