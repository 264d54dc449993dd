//! Backup figures on `/metrics`, read from the catalog at each scrape: per table the live,
//! hold and `backups/` bytes of the newest scan, snapshot counts and the times of the newest
//! snapshot, off-node copy and passed restore drill; per data directory the filesystem's free bytes and inodes;
//! jobs finished by kind and outcome with their durations; per schedule the next run and the
//! runs by outcome; open alerts by kind and severity. Label values come only from names in the catalog (node, keyspace, table,
//! data directory, job kind, schedule), never from a request.

use std::fmt::Write as _;

use sqlx::SqlitePool;

use super::push_escaped;

/// Appends the catalog's metrics to `out`. A catalog that cannot be read is reported by
/// `snapkeep_catalog_up 0` and the figures are left out, never shown stale or as zeros.
pub async fn render(pool: &SqlitePool, out: &mut String) {
    let mut body = String::new();
    let up = write_all(pool, &mut body).await;
    help(
        out,
        "snapkeep_catalog_up",
        "gauge",
        "1 when the catalog answered this scrape.",
    );
    let _ = writeln!(out, "snapkeep_catalog_up {}", u8::from(up.is_ok()));
    if let Err(e) = up {
        tracing::warn!(error = %e, "metrics: the catalog did not answer");
        return;
    }
    out.push_str(&body);
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `{a="x",b="y"}` from label names and catalog values.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(64);
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        push_escaped(&mut out, v);
        out.push('"');
    }
    out.push('}');
    out
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

type TableRow = (String, String, String, i64, i64, i64, i64, i64);
/// A metric drawn from rows of type `R`: name, help text, the value of a row.
type Series<R> = (&'static str, &'static str, fn(&R) -> Option<i64>);
type FsRow = (
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

async fn write_all(pool: &SqlitePool, out: &mut String) -> Result<(), sqlx::Error> {
    // The three per-table reads are independent: each on its own connection of the pool, at
    // once (the catalog is in WAL mode, so readers do not wait for each other).
    let (tables, newest, uploads) = tokio::try_join!(
        // The newest finished scan of each node.
        sqlx::query_as::<_, TableRow>(
            "SELECT s.node, t.keyspace_name, t.table_name, sum(t.live_bytes), sum(t.hold_bytes), \
                    sum(t.backups_bytes), sum(t.backups_files), max(t.snapshot_count) \
             FROM scan_tables t JOIN scans s ON s.id = t.scan_id \
             WHERE s.id IN (SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node) \
             GROUP BY s.node, t.keyspace_name, t.table_name \
             ORDER BY s.node, t.keyspace_name, t.table_name",
        )
        .fetch_all(pool),
        sqlx::query_as::<_, (String, String, String, i64)>(
            "SELECT s.node, st.keyspace_name, st.table_name, max(coalesce(st.created_at, s.created_at)) \
             FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id \
             WHERE st.status = 'present' \
             GROUP BY s.node, st.keyspace_name, st.table_name \
             ORDER BY 1, 2, 3",
        )
        .fetch_all(pool),
        sqlx::query_as::<_, (String, String, String, String, i64)>(
            "SELECT u.store, u.node, f.keyspace, f.table_name, max(u.created_at) \
             FROM uploads u JOIN upload_files f ON f.upload_id = u.id \
             GROUP BY u.store, u.node, f.keyspace, f.table_name \
             ORDER BY 1, 2, 3, 4",
        )
        .fetch_all(pool),
    )?;
    let series: [Series<TableRow>; 5] = [
        (
            "snapkeep_table_live_bytes",
            "Bytes of the table's live SSTables (newest scan).",
            |r| Some(r.3),
        ),
        (
            "snapkeep_table_hold_bytes",
            "Bytes only snapshots keep: no live SSTable links them (newest scan).",
            |r| Some(r.4),
        ),
        (
            "snapkeep_table_backups_bytes",
            "Bytes waiting in the table's backups/ directories (newest scan).",
            |r| Some(r.5),
        ),
        (
            "snapkeep_table_backups_files",
            "Files waiting in the table's backups/ directories (newest scan).",
            |r| Some(r.6),
        ),
        (
            "snapkeep_table_snapshots",
            "Snapshots of the table on the node (newest scan).",
            |r| Some(r.7),
        ),
    ];
    // Each table's labels, built once for its five series.
    let table_labels: Vec<String> = tables
        .iter()
        .map(|r| labels(&[("node", &r.0), ("keyspace", &r.1), ("table", &r.2)]))
        .collect();
    for (name, text, value) in series {
        help(out, name, "gauge", text);
        for (r, l) in tables.iter().zip(&table_labels) {
            if let Some(v) = value(r) {
                let _ = writeln!(out, "{name}{l} {v}");
            }
        }
    }

    help(
        out,
        "snapkeep_last_snapshot_timestamp_seconds",
        "gauge",
        "Creation time of the table's newest snapshot still on the node (Unix seconds).",
    );
    for (node, ks, table, at) in &newest {
        let l = labels(&[("node", node), ("keyspace", ks), ("table", table)]);
        let _ = writeln!(
            out,
            "snapkeep_last_snapshot_timestamp_seconds{l} {}",
            seconds(*at)
        );
    }

    help(
        out,
        "snapkeep_last_upload_timestamp_seconds",
        "gauge",
        "Time of the table's newest complete off-node copy in the store (Unix seconds).",
    );
    for (store, node, ks, table, at) in &uploads {
        let l = labels(&[
            ("store", store),
            ("node", node),
            ("keyspace", ks),
            ("table", table),
        ]);
        let _ = writeln!(
            out,
            "snapkeep_last_upload_timestamp_seconds{l} {}",
            seconds(*at)
        );
    }

    let proofs = crate::drills::proof(pool).await.map_err(|e| match e {
        crate::error::ServiceError::Db(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    })?;
    help(
        out,
        "snapkeep_last_drill_timestamp_seconds",
        "gauge",
        "When a restore drill last proved the table restores (Unix seconds).",
    );
    for p in &proofs {
        let (ks, table) = p.table.split_once('.').unwrap_or(("", &p.table));
        let l = labels(&[("node", &p.node), ("keyspace", ks), ("table", table)]);
        let _ = writeln!(
            out,
            "snapkeep_last_drill_timestamp_seconds{l} {}",
            seconds(p.proved_at)
        );
    }

    let filesystems: Vec<FsRow> = sqlx::query_as(
        "SELECT s.node, f.data_dir, f.total_bytes, f.avail_bytes, f.total_inodes, f.free_inodes \
             FROM scan_filesystems f JOIN scans s ON s.id = f.scan_id \
             WHERE s.id IN (SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node) \
             ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    let fs_series: [Series<FsRow>; 4] = [
        (
            "snapkeep_filesystem_size_bytes",
            "Size of the filesystem holding the data directory.",
            |r| r.2,
        ),
        (
            "snapkeep_filesystem_avail_bytes",
            "Bytes Cassandra's user can still write there (statvfs f_bavail).",
            |r| r.3,
        ),
        (
            "snapkeep_filesystem_inodes",
            "Inodes of that filesystem.",
            |r| r.4,
        ),
        (
            "snapkeep_filesystem_inodes_free",
            "Inodes still free there.",
            |r| r.5,
        ),
    ];
    for (name, text, value) in fs_series {
        help(out, name, "gauge", text);
        for r in &filesystems {
            if let Some(v) = value(r) {
                let l = labels(&[("node", &r.0), ("data_dir", &r.1)]);
                let _ = writeln!(out, "{name}{l} {v}");
            }
        }
    }

    let jobs: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT kind, state, count(*), coalesce(sum(max(finished_at - coalesce(started_at, created_at), 0)), 0) \
         FROM jobs WHERE state IN ('done', 'failed') AND finished_at IS NOT NULL \
         GROUP BY kind, state ORDER BY kind, state",
    )
    .fetch_all(pool)
    .await?;
    help(
        out,
        "snapkeep_jobs_total",
        "counter",
        "Jobs finished, by kind and outcome (done or failed), as the catalog keeps them.",
    );
    for (kind, state, n, _) in &jobs {
        let l = labels(&[("kind", kind), ("outcome", state)]);
        let _ = writeln!(out, "snapkeep_jobs_total{l} {n}");
    }
    help(
        out,
        "snapkeep_job_duration_seconds",
        "summary",
        "Time finished jobs took, by kind and outcome.",
    );
    for (kind, state, n, ms) in &jobs {
        let l = labels(&[("kind", kind), ("outcome", state)]);
        let _ = writeln!(out, "snapkeep_job_duration_seconds_sum{l} {}", seconds(*ms));
        let _ = writeln!(out, "snapkeep_job_duration_seconds_count{l} {n}");
    }

    let schedules: Vec<(String, Option<i64>, i64)> =
        sqlx::query_as("SELECT name, next_run_at, paused FROM schedules ORDER BY name")
            .fetch_all(pool)
            .await?;
    help(
        out,
        "snapkeep_schedule_next_run_timestamp_seconds",
        "gauge",
        "When the schedule runs next (Unix seconds); absent while paused.",
    );
    for (name, next, paused) in &schedules {
        if let (Some(at), 0) = (next, paused) {
            let l = labels(&[("schedule", name)]);
            let _ = writeln!(
                out,
                "snapkeep_schedule_next_run_timestamp_seconds{l} {}",
                seconds(*at)
            );
        }
    }
    let runs: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT s.name, r.state, count(*) FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id \
         WHERE r.state IN ('done', 'failed', 'skipped', 'interrupted') \
         GROUP BY s.name, r.state ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    help(
        out,
        "snapkeep_schedule_runs_total",
        "counter",
        "Runs of each schedule by outcome (done, failed, skipped, interrupted).",
    );
    for (name, state, n) in &runs {
        let l = labels(&[("schedule", name), ("outcome", state)]);
        let _ = writeln!(out, "snapkeep_schedule_runs_total{l} {n}");
    }
    let alerts: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT kind, severity, coalesce(silenced_until > ?, 0), count(*) FROM alerts \
         WHERE resolved_at IS NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(crate::clock::now_ms())
    .fetch_all(pool)
    .await?;
    help(
        out,
        "snapkeep_alerts",
        "gauge",
        "Open alerts by kind and severity, as of their last evaluation; silenced = 1 for acknowledged ones.",
    );
    for (kind, severity, silenced, n) in &alerts {
        let silenced = if *silenced != 0 { "1" } else { "0" };
        let l = labels(&[
            ("kind", kind),
            ("severity", severity),
            ("silenced", silenced),
        ]);
        let _ = writeln!(out, "snapkeep_alerts{l} {n}");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
