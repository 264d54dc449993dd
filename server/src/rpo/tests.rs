use super::*;
use crate::catalog::Catalog;

const H: i64 = 3_600_000;

fn facts(snapshot: Option<i64>, upload: Option<i64>, drill: Option<i64>) -> Facts<'static> {
    Facts {
        target_ms: 24 * H,
        now: 100 * H,
        snapshot_at: snapshot,
        upload_at: upload,
        drill_at: drill,
        target_text: "24 h",
    }
}

#[test]
fn status_says_what_a_loss_now_would_cost() {
    let now = 100 * H;
    let (s, why) = judge(&facts(None, None, None));
    assert_eq!(s, "red");
    assert!(why.contains("no snapshot"), "{why}");
    let (s, why) = judge(&facts(Some(now - 25 * H), Some(now), Some(now)));
    assert_eq!(s, "red", "older than the target");
    assert!(why.contains("24 h target"), "{why}");
    let (s, _) = judge(&facts(Some(now - 19 * H), Some(now), Some(now)));
    assert_eq!(s, "amber", "over three quarters of the target");
    let (s, why) = judge(&facts(Some(now - H), None, Some(now)));
    assert_eq!(s, "amber");
    assert!(why.contains("off-node"), "{why}");
    let (s, why) = judge(&facts(Some(now - H), Some(now - 30 * H), Some(now)));
    assert_eq!(s, "amber", "an off-node copy older than the target: {why}");
    let (s, why) = judge(&facts(Some(now - H), Some(now - H), None));
    assert_eq!(s, "amber");
    assert!(why.contains("drill"), "{why}");
    let (s, _) = judge(&facts(Some(now - H), Some(now - H), Some(now - 500 * H)));
    assert_eq!(s, "green", "an old proof still proves the table restores");
    // Exactly the target is not past it: amber, not red.
    let (s, _) = judge(&facts(Some(now - 24 * H), Some(now), Some(now)));
    assert_eq!(s, "amber");
}

#[test]
fn targets_are_positive_hours_per_keyspace() {
    let mut c = RpoConfig::default();
    assert!(c.check().is_ok());
    assert_eq!(c.target_ms("shop"), 24 * H);
    c.keyspaces.insert("shop".into(), 6.0);
    assert_eq!(c.target_ms("shop"), 6 * H);
    assert_eq!(c.target_ms("other"), 24 * H);
    c.keyspaces.insert("bad".into(), 0.0);
    assert!(c.check().is_err_and(|e| e.contains("bad = 0")));
    let c = RpoConfig {
        target_hours: f64::NAN,
        ..RpoConfig::default()
    };
    assert!(c.check().is_err());
    assert_eq!(hours_text(6 * H), "6 h");
    assert_eq!(hours_text(H / 2), "0.5 h");
}

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect(sql);
}

#[tokio::test]
async fn the_panel_lists_user_tables_of_the_newest_scan_worst_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    let pool = cat.pool();
    exec(pool, "INSERT INTO scans (id, node, state, started_at) VALUES (1, 'n1', 'done', 1), (2, 'n1', 'done', 2)").await;
    let table = |scan: i64, ks: &str, t: &str, in_schema: i64| {
        format!(
            "INSERT INTO scan_tables (scan_id, keyspace_name, table_name, table_id, data_dir, in_schema, live_bytes, live_files, live_inodes, \
             sstables, snapshot_count, snapshots_bytes, snapshots_files, hold_bytes, hold_inodes, backups_bytes, backups_files) \
             VALUES ({scan}, '{ks}', '{t}', '{ks}{t}', '/d', {in_schema}, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)"
        )
    };
    exec(pool, &table(1, "shop", "gone_since", 1)).await;
    for (ks, t, in_schema) in [
        ("shop", "orders", 1),
        ("shop", "carts", 1),
        ("shop", "fresh", 1),
        ("shop", "dropped", 0),
        ("system", "local", 1),
        ("snapkeep_drill", "x_restored_1", 1),
    ] {
        exec(pool, &table(2, ks, t, in_schema)).await;
    }
    let now = 1_000 * H;
    // orders: a snapshot 30 h old (red at 24 h); carts: none (red); fresh: 1 h (amber: no
    // off-node copy). The cleared snapshot of carts does not count.
    exec(pool, &format!(
        "INSERT INTO snapshots (id, node, tag, kind, status, created_at, first_seen_at, measured_at) VALUES \
         (1, 'n1', 'old', 'manual', 'present', {}, 1, 1), (2, 'n1', 'new', 'manual', 'present', {}, 1, 1), \
         (3, 'n1', 'cleared', 'manual', 'cleared', {}, 1, 1)",
        now - 30 * H, now - H, now - H
    )).await;
    exec(pool, &format!(
        "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, created_at) VALUES \
         (1, 'shop', 'orders', 'o', '/d', 'present', {}), (2, 'shop', 'fresh', 'f', '/d', 'present', {}), \
         (3, 'shop', 'carts', 'c', '/d', 'cleared', {})",
        now - 30 * H, now - H, now - H
    )).await;

    let config = RpoConfig {
        keyspaces: BTreeMap::from([("shop".to_string(), 24.0)]),
        ..RpoConfig::default()
    };
    let rows = panel(pool, &config, now).await.expect("panel");
    let names: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.table.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        names,
        [("carts", "red"), ("orders", "red"), ("fresh", "amber")],
        "worst first (no snapshot before an old one), only user tables in the schema of the newest scan"
    );
    assert_eq!(rows[1].last_snapshot.as_deref(), Some("old"));
    assert_eq!(rows[1].snapshot_age_hours, Some(30.0));
    assert_eq!(rows[2].target_hours, 24.0);
}
