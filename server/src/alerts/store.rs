//! The alerts in the catalog: the facts the rules read, and the `alerts` rows they keep.

use app::api::{AckInput, AlertDto};
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;

use super::rules::{
    DrillFact, DroppedFact, Facts, Fired, FsFact, LeftoverFact, NodeFact, ScheduleFact,
    SnapshotFact,
};
use crate::error::ServiceError;

/// The newest finished scan of each node.
const NEWEST_SCANS: &str = "SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node";

/// An alert's id: the same kind and subject on the same node keep the same id.
pub fn alert_id(f: &Fired) -> String {
    let mut h = Sha256::new();
    for part in [f.kind, f.node.as_deref().unwrap_or(""), &f.subject] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

/// What the rules look at, from the catalog (the backlog is added by the caller).
pub async fn gather(pool: &SqlitePool) -> Result<Facts, sqlx::Error> {
    type FsRow = (
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let fs: Vec<FsRow> = sqlx::query_as(&format!(
        "SELECT s.node, f.data_dir, f.total_bytes, f.avail_bytes, f.free_bytes, f.total_inodes, f.free_inodes \
         FROM scan_filesystems f JOIN scans s ON s.id = f.scan_id WHERE s.id IN ({NEWEST_SCANS}) AND f.error IS NULL"
    ))
    .fetch_all(pool)
    .await?;
    let unreachable: Vec<(String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT name, last_error, checked_at FROM nodes WHERE reachable = 0 AND checked_at IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    let snapshots: Vec<(String, String, String, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT node, tag, kind, created_at, expires_at, exclusive_hold_bytes FROM snapshots \
         WHERE status = 'present' AND (expires_at IS NOT NULL OR kind IN ('truncated', 'dropped')) \
         ORDER BY node, created_at",
    )
    .fetch_all(pool)
    .await?;
    let dropped: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT s.node, t.keyspace_name, t.table_name, t.table_id, max(t.snapshot_count), sum(t.hold_bytes) \
         FROM scan_tables t JOIN scans s ON s.id = t.scan_id \
         WHERE s.id IN ({NEWEST_SCANS}) AND t.in_schema = 0 AND t.snapshot_count > 0 \
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3"
    ))
    .fetch_all(pool)
    .await?;
    // A staging directory is in use while a restore of its node is open (it may resume); an
    // aside directory while a restore keeps it.
    let leftovers: Vec<(String, String, String, i64, i64, bool)> = sqlx::query_as(&format!(
        "SELECT s.node, l.path, l.kind, l.bytes, l.files, \
                CASE l.kind \
                  WHEN 'staging' THEN EXISTS (SELECT 1 FROM restore_requests r WHERE r.node = s.node \
                                              AND r.state IN ('approved', 'running', 'interrupted')) \
                  ELSE EXISTS (SELECT 1 FROM restore_aside a WHERE a.path = l.path AND a.removed_at IS NULL) \
                END \
         FROM scan_leftovers l JOIN scans s ON s.id = l.scan_id WHERE s.id IN ({NEWEST_SCANS}) ORDER BY 1, 2"
    ))
    .fetch_all(pool)
    .await?;
    type ScheduleRow = (
        i64,
        String,
        i64,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let schedules: Vec<ScheduleRow> = sqlx::query_as(
        "SELECT c.id, c.name, c.paused, c.next_run_at, r.state, r.message, r.finished_at FROM schedules c \
         LEFT JOIN schedule_runs r ON r.id = (SELECT max(id) FROM schedule_runs \
                                              WHERE schedule_id = c.id AND state IN ('done', 'failed', 'interrupted')) \
         ORDER BY c.name",
    )
    .fetch_all(pool)
    .await?;
    // The newest drill of each node and set of tables, when it did not pass.
    let drills: Vec<(i64, String, String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, node, tables, state, message, finished_at FROM drills d \
         WHERE id = (SELECT max(id) FROM drills e WHERE e.node = d.node AND e.tables = d.tables AND e.state != 'running') \
           AND state IN ('failed', 'interrupted') ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    Ok(Facts {
        filesystems: fs
            .into_iter()
            .map(|r| FsFact {
                node: r.0,
                data_dir: r.1,
                total_bytes: r.2,
                avail_bytes: r.3,
                free_bytes: r.4,
                total_inodes: r.5,
                free_inodes: r.6,
            })
            .collect(),
        unreachable: unreachable
            .into_iter()
            .map(|r| NodeFact {
                node: r.0,
                error: r.1,
                checked_at: r.2,
            })
            .collect(),
        backlog: Vec::new(),
        snapshots: snapshots
            .into_iter()
            .map(|r| SnapshotFact {
                node: r.0,
                tag: r.1,
                kind: r.2,
                created_at: r.3,
                expires_at: r.4,
                exclusive_hold_bytes: r.5,
            })
            .collect(),
        dropped: dropped
            .into_iter()
            .map(|r| DroppedFact {
                node: r.0,
                keyspace: r.1,
                table: r.2,
                table_id: r.3,
                snapshots: r.4,
                hold_bytes: r.5,
            })
            .collect(),
        leftovers: leftovers
            .into_iter()
            .map(|r| LeftoverFact {
                node: r.0,
                path: r.1,
                kind: r.2,
                bytes: r.3,
                files: r.4,
                in_use: r.5,
            })
            .collect(),
        schedules: schedules
            .into_iter()
            .map(|r| ScheduleFact {
                id: r.0,
                name: r.1,
                paused: r.2 != 0,
                next_run_at: r.3,
                last_state: r.4,
                last_message: r.5.unwrap_or_default(),
                last_at: r.6,
            })
            .collect(),
        drills: drills
            .into_iter()
            .map(|r| DrillFact {
                id: r.0,
                node: r.1,
                tables: r.2,
                state: r.3,
                message: r.4,
                finished_at: r.5,
            })
            .collect(),
    })
}

/// Records an evaluation at `now`: what fires is inserted (or, when it already fires, its
/// text and last-seen time updated; a rise from warning to critical clears the silence and
/// notifies again), and open alerts that no longer fire are resolved.
pub async fn record(
    pool: &SqlitePool,
    fired: &[Fired],
    now: i64,
    webhook: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let notify = if webhook { "pending" } else { "none" };
    let mut ids = Vec::with_capacity(fired.len());
    for f in fired {
        let id = alert_id(f);
        let open: Option<String> =
            sqlx::query_scalar("SELECT severity FROM alerts WHERE id = ? AND resolved_at IS NULL")
                .bind(&id)
                .fetch_optional(&mut *tx)
                .await?;
        match open {
            Some(severity) => {
                let worse = severity == "warning" && f.severity == "critical";
                sqlx::query(
                    "UPDATE alerts SET severity = ?, message = ?, action = ?, last_seen_at = ?, \
                       acked_by = CASE WHEN ?5 THEN NULL ELSE acked_by END, \
                       acked_at = CASE WHEN ?5 THEN NULL ELSE acked_at END, \
                       silenced_until = CASE WHEN ?5 THEN NULL ELSE silenced_until END, \
                       notify_state = CASE WHEN ?5 THEN ?6 ELSE notify_state END, \
                       notify_event = CASE WHEN ?5 THEN 'firing' ELSE notify_event END, \
                       notify_attempts = CASE WHEN ?5 THEN 0 ELSE notify_attempts END, \
                       notify_next_at = CASE WHEN ?5 THEN ?4 ELSE notify_next_at END \
                     WHERE id = ?7",
                )
                .bind(f.severity)
                .bind(&f.message)
                .bind(&f.action)
                .bind(now)
                .bind(worse)
                .bind(notify)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                // New, or back after it resolved: a fresh alert under the same id.
                sqlx::query(
                    "INSERT INTO alerts (id, kind, severity, node, subject, message, action, first_seen_at, last_seen_at, \
                       notify_state, notify_next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?8) \
                     ON CONFLICT (id) DO UPDATE SET severity = ?3, message = ?6, action = ?7, first_seen_at = ?8, \
                       last_seen_at = ?8, resolved_at = NULL, acked_by = NULL, acked_at = NULL, silenced_until = NULL, \
                       ack_comment = NULL, notify_state = ?9, notify_event = 'firing', notify_attempts = 0, notify_next_at = ?8, \
                       notify_error = NULL, notified_at = NULL",
                )
                .bind(&id)
                .bind(f.kind)
                .bind(f.severity)
                .bind(&f.node)
                .bind(&f.subject)
                .bind(&f.message)
                .bind(&f.action)
                .bind(now)
                .bind(notify)
                .execute(&mut *tx)
                .await?;
            }
        }
        ids.push(id);
    }
    let open: Vec<String> = sqlx::query_scalar("SELECT id FROM alerts WHERE resolved_at IS NULL")
        .fetch_all(&mut *tx)
        .await?;
    for id in open.iter().filter(|id| !ids.contains(id)) {
        // One the webhook announced is announced resolved too; one it never announced
        // (still pending, or failed) is not.
        sqlx::query(
            "UPDATE alerts SET resolved_at = ?1, \
               notify_state = CASE notify_state WHEN 'pending' THEN 'none' WHEN 'sent' THEN 'pending' ELSE notify_state END, \
               notify_event = CASE notify_state WHEN 'sent' THEN 'resolved' ELSE notify_event END, \
               notify_attempts = CASE notify_state WHEN 'sent' THEN 0 ELSE notify_attempts END, \
               notify_next_at = CASE notify_state WHEN 'sent' THEN ?1 ELSE notify_next_at END \
             WHERE id = ?2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Forgets alerts resolved before `before`.
pub async fn prune(pool: &SqlitePool, before: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM alerts WHERE resolved_at IS NOT NULL AND resolved_at < ?")
        .bind(before)
        .execute(pool)
        .await?;
    Ok(())
}

const COLUMNS: &str = "id, kind, severity, node, subject, message, action, first_seen_at, last_seen_at, resolved_at, \
     acked_by, acked_at, silenced_until, ack_comment, notify_state, notify_attempts, notify_error";

/// One `alerts` row as [`COLUMNS`] lists it.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    severity: String,
    node: Option<String>,
    subject: String,
    message: String,
    action: String,
    first_seen_at: i64,
    last_seen_at: i64,
    resolved_at: Option<i64>,
    acked_by: Option<String>,
    acked_at: Option<i64>,
    silenced_until: Option<i64>,
    ack_comment: Option<String>,
    notify_state: String,
    notify_attempts: i64,
    notify_error: Option<String>,
}

fn dto(r: Row, now: i64) -> AlertDto {
    AlertDto {
        silenced: r.silenced_until.is_some_and(|until| until > now),
        id: r.id,
        kind: r.kind,
        severity: r.severity,
        node: r.node,
        subject: r.subject,
        message: r.message,
        action: r.action,
        first_seen_at: r.first_seen_at,
        last_seen_at: r.last_seen_at,
        resolved_at: r.resolved_at,
        acked_by: r.acked_by,
        acked_at: r.acked_at,
        silenced_until: r.silenced_until,
        ack_comment: r.ack_comment,
        notify_state: r.notify_state,
        notify_attempts: r.notify_attempts,
        notify_error: r.notify_error,
    }
}

/// Open alerts (or every one kept), the worst first: not silenced before silenced, critical
/// before warning, the longest-firing first.
pub async fn list(pool: &SqlitePool, all: bool, now: i64) -> Result<Vec<AlertDto>, ServiceError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE ? OR resolved_at IS NULL \
         ORDER BY resolved_at IS NOT NULL, coalesce(silenced_until > ?, 0), severity = 'warning', first_seen_at, id"
    ))
    .bind(all)
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| dto(r, now)).collect())
}

/// One alert.
pub async fn get(pool: &SqlitePool, id: &str, now: i64) -> Result<AlertDto, ServiceError> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| dto(r, now)).ok_or_else(|| {
        ServiceError::NotFound(format!("no alert {id}; GET /api/v1/alerts lists them"))
    })
}

/// Longest silence an acknowledgement may ask for.
const MAX_SILENCE_HOURS: f64 = 90.0 * 24.0;

/// Acknowledges an open alert and silences it for `input.hours` (default 24). A silenced
/// alert is not sent to the webhook; once the silence ends it counts as open again.
pub async fn ack(
    pool: &SqlitePool,
    id: &str,
    user: &str,
    input: &AckInput,
    now: i64,
) -> Result<AlertDto, ServiceError> {
    let hours = input.hours.unwrap_or(24.0);
    if !(hours.is_finite() && hours > 0.0 && hours <= MAX_SILENCE_HOURS) {
        return Err(ServiceError::bad(
            "hours",
            format!(
                "hours = {hours} is not a silence between 0 and {MAX_SILENCE_HOURS} hours, e.g. 24"
            ),
        ));
    }
    let comment = input
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 500) {
        return Err(ServiceError::bad(
            "comment",
            "the comment is longer than 500 characters",
        ));
    }
    let current = get(pool, id, now).await?;
    if current.resolved_at.is_some() {
        return Err(ServiceError::Conflict(format!(
            "alert {id} resolved at {}: there is nothing to acknowledge",
            app::api::format_utc(current.resolved_at.unwrap_or_default())
        )));
    }
    sqlx::query(
        "UPDATE alerts SET acked_by = ?, acked_at = ?, silenced_until = ?, ack_comment = ?, \
           notify_state = CASE notify_state WHEN 'pending' THEN 'none' ELSE notify_state END \
         WHERE id = ? AND resolved_at IS NULL",
    )
    .bind(user)
    .bind(now)
    .bind(now + (hours * 3_600_000.0) as i64)
    .bind(comment)
    .bind(id)
    .execute(pool)
    .await?;
    get(pool, id, now).await
}
