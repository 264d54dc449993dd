//! `/metrics` benchmark (`cargo bench --bench metrics`, part of `make bench`): the catalog part
//! of a scrape over 10,000 tables (`SNAPKEEP_BENCH_TABLES`) on one node, each with three
//! snapshots and an off-node copy, 5,000 finished jobs and 100 schedules. Goal: a scrape in
//! ≤ 100 ms (issue #16).

use std::time::Instant;

use snapkeep::catalog::Catalog;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: i64 = std::env::var("SNAPKEEP_BENCH_TABLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    let pool = cat.pool();
    let fill = [
        "INSERT INTO scans (id, node, state, started_at) VALUES (1, 'node1', 'done', 1)".to_string(),
        "INSERT INTO scan_filesystems (scan_id, data_dir, total_bytes, avail_bytes, free_bytes, total_inodes, free_inodes) \
         VALUES (1, '/var/lib/cassandra/data', 1000000000000, 400000000000, 450000000000, 60000000, 59000000)".to_string(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {n}) \
             INSERT INTO scan_tables (scan_id, keyspace_name, table_name, table_id, data_dir, in_schema, live_bytes, live_files, live_inodes, \
             sstables, snapshot_count, snapshots_bytes, snapshots_files, hold_bytes, hold_inodes, backups_bytes, backups_files) \
             SELECT 1, 'ks' || (i % 100), 't' || i, printf('%032x', i), '/var/lib/cassandra/data', 1, i * 1000, 8, 8, 1, 3, i * 3000, 24, i * 10, 2, 0, 0 FROM n"
        ),
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) \
         INSERT INTO snapshots (id, node, tag, kind, status, created_at, first_seen_at, measured_at) \
         SELECT i, 'node1', 'nightly-' || i, 'scheduled', 'present', 1796000000000 + i * 86400000, 1, 1 FROM n".to_string(),
        "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, created_at) \
         SELECT s.id, t.keyspace_name, t.table_name, t.table_id, t.data_dir, 'present', s.created_at FROM snapshots s, scan_tables t".to_string(),
        "INSERT INTO uploads (id, store, kind, node, name, manifest_key, created_at, files, bytes, bytes_sent, files_sent) \
         VALUES (1, 'local', 'snapshot', 'node1', 'nightly-3', 'manifests/node1/snapshot/1.json', 1796300000000, 0, 0, 0, 0)".to_string(),
        "INSERT INTO upload_files (upload_id, keyspace, table_name, table_id, name, size, sha256, address) \
         SELECT 1, keyspace_name, table_name, table_id, 'nb-1-big-Data.db', 1, 'x', 'a' || table_id FROM scan_tables".to_string(),
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 5000) \
         INSERT INTO jobs (kind, state, created_at, started_at, finished_at) \
         SELECT CASE i % 3 WHEN 0 THEN 'snapshot' WHEN 1 THEN 'scan' ELSE 'upload' END, \
                CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'done' END, i, i, i + 1000 FROM n".to_string(),
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 100) \
         INSERT INTO schedules (name, kind, cron, timezone, scope, tag_template, overlap, catch_up, retention, next_run_at, created_at, updated_at) \
         SELECT 's' || i, 'snapshot', '0 2 * * *', 'UTC', '{}', '{name}-{datetime}', 'skip', 1, '{}', 1796400000000, 0, 0 FROM n".to_string(),
    ];
    let t = Instant::now();
    for sql in &fill {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }
    println!(
        "catalog of {n} tables filled in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let mut out = String::new();
        snapkeep::metrics::catalog::render(pool, &mut out).await;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(
            out.contains("snapkeep_catalog_up 1"),
            "the catalog answered"
        );
        size = out.len();
    }
    println!(
        "/metrics catalog part over {n} tables: median {:.1} ms, {:.1} MiB of text (goal ≤ 100 ms)",
        median(times),
        size as f64 / 1_048_576.0
    );
}
