use super::*;
use crate::catalog::Catalog;

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect(sql);
}

/// The value of the one sample line starting with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .map(|l| l[series.len() + 1..].to_string())
}

#[tokio::test]
async fn table_figures_come_from_the_newest_finished_scan_of_each_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    let pool = cat.pool();
    // An older scan, the newest finished one (two data directories) and a running one.
    exec(pool, "INSERT INTO scans (id, node, state, started_at) VALUES (1, 'n1', 'done', 1), (2, 'n1', 'done', 2), (3, 'n1', 'running', 3)").await;
    let row = |scan: i64, dir: &str, live: i64, hold: i64| {
        format!(
            "INSERT INTO scan_tables (scan_id, keyspace_name, table_name, table_id, data_dir, in_schema, live_bytes, live_files, live_inodes, \
             sstables, snapshot_count, snapshots_bytes, snapshots_files, hold_bytes, hold_inodes, backups_bytes, backups_files) \
             VALUES ({scan}, 'shop', 'or\"ders', 'id1', '{dir}', 1, {live}, 1, 1, 1, 2, 0, 0, {hold}, 1, 7, 1)"
        )
    };
    exec(pool, &row(1, "/d1", 999, 999)).await;
    exec(pool, &row(2, "/d1", 100, 10)).await;
    exec(pool, &row(2, "/d2", 50, 5)).await;
    exec(pool, &row(3, "/d1", 12345, 0)).await;
    exec(pool, "INSERT INTO scan_filesystems (scan_id, data_dir, total_bytes, avail_bytes, free_bytes, total_inodes, free_inodes) \
                VALUES (2, '/d1', 1000, 400, 500, 80, 60)").await;
    exec(pool, "INSERT INTO snapshots (id, node, tag, kind, status, created_at, first_seen_at, measured_at) \
                VALUES (1, 'n1', 'a', 'manual', 'present', 5000, 1, 1), (2, 'n1', 'b', 'manual', 'cleared', 9000, 1, 1)").await;
    exec(pool, "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, created_at) \
                VALUES (1, 'shop', 'or\"ders', 'id1', '/d1', 'present', 5000), (2, 'shop', 'or\"ders', 'id1', '/d1', 'cleared', 9000)").await;
    exec(pool, "INSERT INTO jobs (kind, state, created_at, started_at, finished_at) \
                VALUES ('snapshot', 'done', 0, 1000, 3000), ('snapshot', 'done', 0, 1000, 2000), ('snapshot', 'failed', 0, 0, 500), ('scan', 'running', 0, 0, NULL)").await;
    exec(pool, "INSERT INTO schedules (id, name, kind, cron, timezone, scope, tag_template, overlap, catch_up, retention, paused, next_run_at, created_at, updated_at) \
                VALUES (1, 'nightly', 'snapshot', '0 3 * * *', 'UTC', '{}', 'n-{date}', 'skip', 1, '{}', 0, 86400000, 0, 0), \
                       (2, 'held', 'snapshot', '0 3 * * *', 'UTC', '{}', 'h-{date}', 'skip', 1, '{}', 1, 86400000, 0, 0)").await;
    exec(pool, "INSERT INTO schedule_runs (schedule_id, due_at, trigger, state, started_at) VALUES (1, 1, 'timer', 'done', 1), (1, 2, 'timer', 'failed', 2)").await;

    let mut out = String::new();
    render(pool, &mut out).await;
    let t = r#"{node="n1",keyspace="shop",table="or\"ders"}"#;
    assert_eq!(value(&out, "snapkeep_catalog_up"), Some("1".into()));
    assert_eq!(
        value(&out, &format!("snapkeep_table_live_bytes{t}")),
        Some("150".into()),
        "both data directories of scan 2, not the older or the running scan:\n{out}"
    );
    assert_eq!(
        value(&out, &format!("snapkeep_table_hold_bytes{t}")),
        Some("15".into())
    );
    assert_eq!(
        value(&out, &format!("snapkeep_table_backups_bytes{t}")),
        Some("14".into())
    );
    assert_eq!(
        value(&out, &format!("snapkeep_table_snapshots{t}")),
        Some("2".into())
    );
    assert_eq!(
        value(
            &out,
            &format!("snapkeep_last_snapshot_timestamp_seconds{t}")
        ),
        Some("5".into()),
        "the cleared snapshot does not count"
    );
    assert_eq!(
        value(
            &out,
            r#"snapkeep_filesystem_avail_bytes{node="n1",data_dir="/d1"}"#
        ),
        Some("400".into())
    );
    assert_eq!(
        value(
            &out,
            r#"snapkeep_jobs_total{kind="snapshot",outcome="done"}"#
        ),
        Some("2".into())
    );
    assert_eq!(
        value(
            &out,
            r#"snapkeep_job_duration_seconds_sum{kind="snapshot",outcome="done"}"#
        ),
        Some("3".into())
    );
    assert_eq!(
        value(
            &out,
            r#"snapkeep_jobs_total{kind="snapshot",outcome="failed"}"#
        ),
        Some("1".into())
    );
    assert!(
        !out.contains(r#"kind="scan""#),
        "running jobs are not counted"
    );
    assert_eq!(
        value(
            &out,
            r#"snapkeep_schedule_next_run_timestamp_seconds{schedule="nightly"}"#
        ),
        Some("86400".into())
    );
    assert!(!out.contains(r#"snapkeep_schedule_next_run_timestamp_seconds{schedule="held"}"#));
    assert_eq!(
        value(
            &out,
            r#"snapkeep_schedule_runs_total{schedule="nightly",outcome="failed"}"#
        ),
        Some("1".into())
    );
    // Every sample belongs to a declared metric.
    for line in out.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap_or("");
        let base = name.trim_end_matches("_sum").trim_end_matches("_count");
        assert!(
            out.contains(&format!("# TYPE {name} ")) || out.contains(&format!("# TYPE {base} ")),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_catalog_that_does_not_answer_is_said_not_shown_as_zeros() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    cat.pool().close().await;
    let mut out = String::new();
    render(cat.pool(), &mut out).await;
    assert_eq!(value(&out, "snapkeep_catalog_up"), Some("0".into()));
    assert!(!out.contains("snapkeep_table_live_bytes"));
}
