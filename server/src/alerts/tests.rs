use std::sync::{Arc, Mutex};

use super::rules::*;
use super::store::{self, alert_id};
use super::webhook::{self, backoff_ms};
use super::*;
use crate::catalog::Catalog;

const H: i64 = 3_600_000;
const NOW: i64 = 1_000 * H;

fn kinds(fired: &[Fired]) -> Vec<(&str, &str)> {
    fired.iter().map(|f| (f.kind, f.severity)).collect()
}

#[test]
fn filesystems_warn_then_turn_critical_as_df_counts_use() {
    let c = AlertsConfig::default();
    let fs = |avail: i64, free: i64, free_inodes: i64| Facts {
        filesystems: vec![FsFact {
            node: "n1".into(),
            data_dir: "/data".into(),
            total_bytes: Some(1000),
            avail_bytes: Some(avail),
            free_bytes: Some(free),
            total_inodes: Some(100),
            free_inodes: Some(free_inodes),
        }],
        ..Facts::default()
    };
    assert!(evaluate(&fs(500, 550, 50), &c, 7.0, NOW).is_empty());
    // 150 free for Cassandra of 1000 (root keeps 50 more, counted as used): 85 % used.
    let fired = evaluate(&fs(150, 200, 50), &c, 7.0, NOW);
    assert_eq!(kinds(&fired), [("filesystem_bytes", "warning")]);
    assert!(
        fired[0].message.contains("85.0 % full"),
        "{}",
        fired[0].message
    );
    assert!(fired[0].action.contains("clear old snapshots"));
    let fired = evaluate(&fs(50, 100, 5), &c, 7.0, NOW);
    assert_eq!(
        kinds(&fired),
        [
            ("filesystem_bytes", "critical"),
            ("filesystem_inodes", "critical")
        ]
    );
}

#[test]
fn snapshots_past_their_ttl_or_the_auto_snapshot_days_fire_per_node() {
    let c = AlertsConfig::default();
    let snap = |tag: &str, kind: &str, age_h: i64, expires: Option<i64>| SnapshotFact {
        node: "n1".into(),
        tag: tag.into(),
        kind: kind.into(),
        created_at: NOW - age_h * H,
        expires_at: expires,
        exclusive_hold_bytes: 1024,
    };
    let facts = Facts {
        snapshots: vec![
            snap("young-ttl", "manual", 1, Some(NOW + H)),
            snap("late-ttl", "manual", 30, Some(NOW - 2 * H)),
            snap("truncated-1-t", "truncated", 8 * 24, None),
            snap("dropped-2-t", "dropped", 6 * 24, None),
            snap("nightly", "scheduled", 30 * 24, None),
        ],
        ..Facts::default()
    };
    let fired = evaluate(&facts, &c, 7.0, NOW);
    assert_eq!(
        kinds(&fired),
        [
            ("snapshot_past_ttl", "warning"),
            ("auto_snapshot_old", "warning")
        ]
    );
    assert!(fired[0].message.contains("late-ttl") && !fired[0].message.contains("young"));
    assert!(fired[1].message.contains("truncated-1-t"));
    assert!(
        !fired[1].message.contains("dropped-2-t"),
        "6 days is within the 7"
    );
}

#[test]
fn tables_leftovers_schedules_drills_and_nodes() {
    let c = AlertsConfig::default();
    let facts = Facts {
        dropped: vec![
            DroppedFact {
                node: "n1".into(),
                keyspace: "shop".into(),
                table: "carts".into(),
                table_id: "abc".into(),
                snapshots: 1,
                hold_bytes: 2048,
            },
            DroppedFact {
                node: "n1".into(),
                keyspace: crate::restore::DRILL_KEYSPACE.into(),
                table: "x".into(),
                ..DroppedFact::default()
            },
        ],
        leftovers: vec![
            LeftoverFact {
                node: "n1".into(),
                path: "/d/.snapkeep-staging/r1".into(),
                kind: "staging".into(),
                in_use: true,
                ..LeftoverFact::default()
            },
            LeftoverFact {
                node: "n1".into(),
                path: "/d/shop/t-1/.snapkeep-aside/pre".into(),
                kind: "aside".into(),
                bytes: 10,
                files: 1,
                in_use: false,
            },
        ],
        schedules: vec![
            ScheduleFact {
                id: 1,
                name: "nightly".into(),
                last_state: Some("failed".into()),
                last_message: "nodetool failed".into(),
                next_run_at: Some(NOW + H),
                ..ScheduleFact::default()
            },
            ScheduleFact {
                id: 2,
                name: "stuck".into(),
                last_state: Some("done".into()),
                next_run_at: Some(NOW - 2 * H),
                ..ScheduleFact::default()
            },
            ScheduleFact {
                id: 3,
                name: "paused".into(),
                paused: true,
                last_state: Some("failed".into()),
                next_run_at: Some(NOW - 2 * H),
                ..ScheduleFact::default()
            },
        ],
        drills: vec![DrillFact {
            id: 7,
            node: "n1".into(),
            tables: "[\"shop.orders\"]".into(),
            state: "failed".into(),
            message: "rows differ".into(),
            finished_at: Some(NOW),
        }],
        unreachable: vec![NodeFact {
            node: "n2".into(),
            error: Some("connection refused".into()),
            checked_at: Some(NOW),
        }],
        backlog: vec![("n1".into(), "shipping is off".into())],
        ..Facts::default()
    };
    let fired = evaluate(&facts, &c, 7.0, NOW);
    assert_eq!(
        kinds(&fired),
        [
            ("node_unreachable", "critical"),
            ("backups_backlog", "warning"),
            ("dropped_table_snapshots", "warning"),
            ("leftover_aside", "warning"),
            ("schedule_failed", "critical"),
            ("schedule_late", "critical"),
            ("drill_failed", "critical"),
        ],
        "the drill keyspace, the staging an open restore uses and the paused schedule do not fire"
    );
    assert!(fired[0].message.contains("connection refused"));
    assert!(fired[4].action.contains("snapkeep schedule run 1"));
    assert_eq!(fired[5].subject, "stuck");
    assert!(fired[6].action.contains("drill show 7"));
}

#[test]
fn config_refuses_bad_thresholds_and_webhook_urls() {
    assert!(AlertsConfig::default().check().is_ok());
    let c = AlertsConfig {
        disk_warn_percent: 95.0,
        ..AlertsConfig::default()
    };
    assert!(c.check().is_err_and(|e| e.contains("critical")));
    let c = AlertsConfig {
        inodes_critical_percent: 120.0,
        ..AlertsConfig::default()
    };
    assert!(
        c.check()
            .is_err_and(|e| e.contains("inodes_critical_percent = 120"))
    );
    for bad in ["", "ftp://x/y", "hooks.example.com"] {
        let c = AlertsConfig {
            webhook: Some(WebhookConfig {
                url: bad.into(),
                ..WebhookConfig::default()
            }),
            ..AlertsConfig::default()
        };
        assert!(
            c.check().is_err_and(|e| e.contains("[alerts.webhook] url")),
            "{bad}"
        );
    }
    let w = WebhookConfig {
        backoff_secs: 10,
        max_backoff_secs: 60,
        ..WebhookConfig::default()
    };
    assert_eq!(
        [1, 2, 3, 4, 30].map(|a| backoff_ms(&w, a)),
        [10_000, 20_000, 40_000, 60_000, 60_000]
    );
}

async fn catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    (dir, cat)
}

fn fired(kind: &'static str, severity: &'static str, subject: &str) -> Fired {
    Fired {
        kind,
        severity,
        node: Some("n1".into()),
        subject: subject.into(),
        message: format!("{kind} on {subject}"),
        action: "do something".into(),
    }
}

#[tokio::test]
async fn an_alert_keeps_its_id_and_ack_while_it_fires_and_resolves_when_it_stops() {
    let (_dir, cat) = catalog().await;
    let pool = cat.pool();
    let disk = fired("filesystem_bytes", "warning", "n1:/data");
    let drill = fired("drill_failed", "critical", "n1: shop.orders");
    store::record(pool, &[disk.clone(), drill.clone()], NOW, true)
        .await
        .expect("record");
    store::record(pool, &[disk.clone(), drill.clone()], NOW + H, true)
        .await
        .expect("record");
    let open = store::list(pool, false, NOW + H).await.expect("list");
    assert_eq!(open.len(), 2);
    assert_eq!(open[0].kind, "drill_failed", "critical first");
    assert_eq!(open[1].id, alert_id(&disk));
    assert_eq!(open[1].first_seen_at, NOW, "the same alert, seen again");
    assert_eq!(open[1].last_seen_at, NOW + H);
    assert_eq!(open[1].notify_state, "pending");

    // Acknowledged for 2 hours: silenced, listed last, no longer to be sent.
    let acked = store::ack(
        pool,
        &alert_id(&drill),
        "olga",
        &AckInput {
            hours: Some(2.0),
            comment: Some("looking".into()),
        },
        NOW + H,
    )
    .await
    .expect("ack");
    assert!(acked.silenced);
    assert_eq!(acked.acked_by.as_deref(), Some("olga"));
    assert_eq!(acked.silenced_until, Some(NOW + 3 * H));
    assert_eq!(acked.notify_state, "none");
    let open = store::list(pool, false, NOW + H).await.expect("list");
    assert_eq!(open[1].id, acked.id, "silenced ones last");
    assert!(
        !store::list(pool, false, NOW + 4 * H).await.expect("list")[0]
            .kind
            .is_empty()
    );
    let later = store::get(pool, &acked.id, NOW + 4 * H).await.expect("get");
    assert!(!later.silenced, "the silence expired");

    // Bad acknowledgements.
    let bad = store::ack(
        pool,
        &acked.id,
        "olga",
        &AckInput {
            hours: Some(0.0),
            comment: None,
        },
        NOW,
    )
    .await;
    assert!(matches!(
        bad,
        Err(ServiceError::BadRequest { field: "hours", .. })
    ));
    let missing = store::ack(pool, "nope", "olga", &AckInput::default(), NOW).await;
    assert!(matches!(missing, Err(ServiceError::NotFound(_))));

    // The disk turns critical: the ack is cleared and it is sent again.
    let ackd = store::ack(
        pool,
        &alert_id(&disk),
        "olga",
        &AckInput::default(),
        NOW + H,
    )
    .await
    .expect("ack");
    assert!(ackd.silenced);
    let worse = fired("filesystem_bytes", "critical", "n1:/data");
    store::record(pool, &[worse.clone(), drill.clone()], NOW + 2 * H, true)
        .await
        .expect("record");
    let d = store::get(pool, &alert_id(&disk), NOW + 2 * H)
        .await
        .expect("get");
    assert_eq!(d.severity, "critical");
    assert!(!d.silenced && d.acked_by.is_none());
    assert_eq!(d.notify_state, "pending");

    // The drill passes: resolved, not open, listed with ?state=all, not acknowledgeable.
    store::record(pool, std::slice::from_ref(&worse), NOW + 3 * H, true)
        .await
        .expect("record");
    let open = store::list(pool, false, NOW + 3 * H).await.expect("list");
    assert_eq!(open.len(), 1);
    let all = store::list(pool, true, NOW + 3 * H).await.expect("list");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].resolved_at, Some(NOW + 3 * H));
    let late = store::ack(
        pool,
        &alert_id(&drill),
        "olga",
        &AckInput::default(),
        NOW + 3 * H,
    )
    .await;
    assert!(matches!(late, Err(ServiceError::Conflict(_))));

    // It fails again: a fresh alert under the same id.
    store::record(pool, &[worse, drill.clone()], NOW + 5 * H, true)
        .await
        .expect("record");
    let again = store::get(pool, &alert_id(&drill), NOW + 5 * H)
        .await
        .expect("get");
    assert_eq!(
        (again.first_seen_at, again.resolved_at),
        (NOW + 5 * H, None)
    );
    assert!(again.acked_by.is_none());

    // Resolved alerts are forgotten after their keeping time.
    store::record(pool, &[], NOW + 6 * H, true)
        .await
        .expect("record");
    store::prune(pool, NOW + 7 * H).await.expect("prune");
    assert!(
        store::list(pool, true, NOW + 7 * H)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect(sql);
}

#[tokio::test]
async fn facts_come_from_the_newest_scan_the_schedules_the_drills_and_the_restores() {
    let (_dir, cat) = catalog().await;
    let pool = cat.pool();
    exec(pool, "INSERT INTO scans (id, node, state, started_at) VALUES (1, 'n1', 'done', 1), (2, 'n1', 'done', 2), (3, 'n1', 'running', 3)").await;
    exec(pool, "INSERT INTO scan_filesystems (scan_id, data_dir, total_bytes, avail_bytes, free_bytes, total_inodes, free_inodes) VALUES \
                (1, '/old', 100, 1, 1, 10, 1), (2, '/d', 100, 5, 5, 10, 9)").await;
    exec(pool, "INSERT INTO scan_tables (scan_id, keyspace_name, table_name, table_id, data_dir, in_schema, live_bytes, live_files, live_inodes, \
                sstables, snapshot_count, snapshots_bytes, snapshots_files, hold_bytes, hold_inodes, backups_bytes, backups_files) VALUES \
                (2, 'shop', 'carts', 'c1', '/d', 0, 0, 0, 0, 0, 2, 10, 2, 10, 2, 0, 0), \
                (2, 'shop', 'orders', 'o1', '/d', 1, 0, 0, 0, 0, 2, 10, 2, 10, 2, 0, 0)").await;
    exec(pool, "INSERT INTO scan_leftovers (scan_id, path, kind, bytes, files) VALUES \
                (2, '/d/.snapkeep-staging/a', 'staging', 5, 1), (2, '/d/shop/t/.snapkeep-aside/kept', 'aside', 5, 1), \
                (2, '/d/shop/t/.snapkeep-aside/stray', 'aside', 5, 1)").await;
    exec(pool, "INSERT INTO restore_aside (path, restore_id, node, kind, what, bytes, files, set_aside_at, keep_until) VALUES \
                ('/d/shop/t/.snapkeep-aside/kept', 1, 'n1', 'sstables', 'shop.t', 5, 1, 1, 99999999999999)").await;
    exec(pool, "INSERT INTO nodes (name, reachable, last_error, checked_at) VALUES ('n1', 1, NULL, 1), ('n2', 0, 'refused', 1), ('n3', 0, NULL, NULL)").await;
    exec(pool, "INSERT INTO schedules (id, name, kind, cron, timezone, scope, tag_template, overlap, catch_up, retention, next_run_at, created_at, updated_at) VALUES \
                (1, 'nightly', 'snapshot', '0 1 * * *', 'UTC', '{}', 'n-{date}', 'skip', 0, '{}', 5, 1, 1)").await;
    exec(pool, "INSERT INTO schedule_runs (schedule_id, due_at, trigger, state, message, started_at) VALUES \
                (1, 1, 'timer', 'failed', 'boom', 1), (1, 2, 'timer', 'done', '', 2), (1, 3, 'timer', 'skipped', 'overlap', 3)").await;
    exec(pool, "INSERT INTO drills (id, node, tables, state, message, started_at) VALUES \
                (1, 'n1', '[\"shop.a\"]', 'passed', '', 1), (2, 'n1', '[\"shop.a\"]', 'failed', 'rows', 2), \
                (3, 'n1', '[\"shop.b\"]', 'failed', 'rows', 3), (4, 'n1', '[\"shop.b\"]', 'passed', '', 4)").await;

    let f = store::gather(pool).await.expect("gather");
    let dirs: Vec<&str> = f.filesystems.iter().map(|x| x.data_dir.as_str()).collect();
    assert_eq!(dirs, ["/d"], "the newest finished scan only");
    assert_eq!(
        f.dropped
            .iter()
            .map(|d| d.table.as_str())
            .collect::<Vec<_>>(),
        ["carts"]
    );
    let in_use: Vec<(&str, bool)> = f
        .leftovers
        .iter()
        .map(|l| (l.path.as_str(), l.in_use))
        .collect();
    assert_eq!(
        in_use,
        [
            ("/d/.snapkeep-staging/a", false),
            ("/d/shop/t/.snapkeep-aside/kept", true),
            ("/d/shop/t/.snapkeep-aside/stray", false)
        ]
    );
    assert_eq!(
        f.unreachable
            .iter()
            .map(|n| n.node.as_str())
            .collect::<Vec<_>>(),
        ["n2"],
        "never checked is not unreachable"
    );
    assert_eq!(
        f.schedules[0].last_state.as_deref(),
        Some("done"),
        "skipped runs do not count"
    );
    assert_eq!(
        f.drills.iter().map(|d| d.id).collect::<Vec<_>>(),
        [2],
        "only a set of tables whose newest drill failed"
    );

    // The staging is in use while a restore of the node is open.
    exec(pool, "INSERT INTO restore_requests (node, tag, tables, target, reason, requested_by, requested_at, plan, plan_hash, state) VALUES \
                ('n1', 't', '[]', 'in_place', 'r', 'u', 1, '{}', 'h', 'running')").await;
    let f = store::gather(pool).await.expect("gather");
    assert!(f.leftovers[0].in_use);
}

#[tokio::test]
async fn the_webhook_is_retried_with_backoff_until_it_answers() {
    use axum::http::StatusCode;
    let (_dir, cat) = catalog().await;
    let pool = cat.pool();
    // A receiver on loopback that fails its first call.
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                let mut list = seen.lock().expect("lock");
                list.push(v);
                if list.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = WebhookConfig {
        url: format!("http://{addr}/hook"),
        backoff_secs: 60,
        ..WebhookConfig::default()
    };
    let client = webhook::Client::new();
    let alert = fired("schedule_failed", "critical", "nightly");
    store::record(pool, std::slice::from_ref(&alert), NOW, true)
        .await
        .expect("record");

    assert_eq!(
        webhook::deliver_due(pool, &config, &client, NOW)
            .await
            .expect("deliver"),
        0
    );
    let a = store::get(pool, &alert_id(&alert), NOW).await.expect("get");
    assert_eq!((a.notify_state.as_str(), a.notify_attempts), ("pending", 1));
    assert!(
        a.notify_error.as_deref().is_some_and(|e| e.contains("500")),
        "{:?}",
        a.notify_error
    );
    // Not due again before its backoff: nothing is sent.
    let soon = crate::clock::now_ms();
    assert_eq!(
        webhook::deliver_due(pool, &config, &client, soon)
            .await
            .expect("deliver"),
        0
    );
    assert_eq!(got.lock().expect("lock").len(), 1);
    // After it, delivered.
    let later = soon + 61_000;
    assert_eq!(
        webhook::deliver_due(pool, &config, &client, later)
            .await
            .expect("deliver"),
        1
    );
    let a = store::get(pool, &alert_id(&alert), later)
        .await
        .expect("get");
    assert_eq!((a.notify_state.as_str(), a.notify_attempts), ("sent", 2));
    let bodies = got.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["event"], "firing");
    assert_eq!(bodies[1]["alert"]["id"], a.id.as_str());
    assert_eq!(bodies[1]["alert"]["kind"], "schedule_failed");

    // It stops firing: the receiver, told it fired, is told it resolved.
    let calm = later + 1_000;
    store::record(pool, &[], calm, true).await.expect("record");
    assert_eq!(
        webhook::deliver_due(pool, &config, &client, calm)
            .await
            .expect("deliver"),
        1
    );
    let bodies = got.lock().expect("lock").clone();
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[2]["event"], "resolved");
    assert_eq!(bodies[2]["alert"]["id"], a.id.as_str());
    assert!(bodies[2]["alert"]["resolved_at"].is_i64(), "{}", bodies[2]);
    // Once: nothing more is due.
    assert_eq!(
        webhook::deliver_due(pool, &config, &client, calm + 3_600_000)
            .await
            .expect("deliver"),
        0
    );

    // A webhook that never answers: failed after max_attempts, the error kept.
    let dead = WebhookConfig {
        url: "http://127.0.0.1:9/hook".into(),
        max_attempts: 2,
        backoff_secs: 1,
        ..WebhookConfig::default()
    };
    let other = fired("node_unreachable", "critical", "n2");
    store::record(pool, &[alert, other.clone()], NOW, true)
        .await
        .expect("record");
    let far = crate::clock::now_ms() + 3_600_000;
    webhook::deliver_due(pool, &dead, &client, far)
        .await
        .expect("deliver");
    webhook::deliver_due(pool, &dead, &client, far + 3_600_000)
        .await
        .expect("deliver");
    let o = store::get(pool, &alert_id(&other), far).await.expect("get");
    assert_eq!((o.notify_state.as_str(), o.notify_attempts), ("failed", 2));
    assert!(
        o.notify_error
            .as_deref()
            .is_some_and(|e| e.starts_with("attempt 2 of 2"))
    );
}
