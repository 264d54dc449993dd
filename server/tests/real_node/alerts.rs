//! Alerts on the real node: a dropped table whose snapshot Cassandra kept, and the staging
//! directory a crashed restore left, each raise an alert that says what to do; an operator
//! acknowledges one (a viewer may not); `/metrics` counts them; the CLI lists them; once the
//! cause is gone and a scan sees it, the alert resolves.

use axum::http::StatusCode;
use serde_json::{Value, json};
use snapkeep::node::Nodetool;

use crate::support::app::{OPERATOR, VIEWER};
use crate::support::node::{
    config, cql, exclusive, keyspace, node, shared, table, table_dir, write_rows,
};
use crate::support::{TestApp, snapkeep};

fn find<'a>(alerts: &'a Value, kind: &str, subject: &dyn Fn(&str) -> bool) -> Option<&'a Value> {
    alerts
        .as_array()?
        .iter()
        .find(|a| a["kind"] == kind && a["subject"].as_str().is_some_and(subject))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_tables_snapshot_and_a_crashed_restores_staging_raise_alerts_until_cleared() {
    // Alone on the node: other tests check that restore staging is empty.
    let _node = exclusive().await;
    let cql = cql().await;
    keyspace(&cql, "it_alerts").await;
    table(&cql, "it_alerts.gone").await;
    write_rows(&cql, "it_alerts.gone", 0, 300).await;
    let nt = Nodetool::for_node(&config());
    nt.run(&["flush", "it_alerts", "gone"])
        .await
        .expect("flush");
    // Cassandra snapshots a table it drops (auto_snapshot); the snapshot stays.
    cql.execute("DROP TABLE it_alerts.gone")
        .await
        .expect("drop");
    // What a restore that crashed between staging and import leaves behind.
    let crashed = node()
        .data_dir()
        .join(".snapkeep-staging")
        .join("it-alerts-crashed");
    let staged = crashed.join("it_alerts").join("gone");
    std::fs::create_dir_all(&staged).expect("mkdir");
    std::fs::write(staged.join("nb-1-big-Data.db"), vec![7u8; 4096]).expect("write");

    let app = TestApp::init().with_node(config()).build().await;
    app.rescan().await;
    let (status, alerts) = app.viewer().get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let dropped = find(&alerts, "dropped_table_snapshots", &|s| {
        s.starts_with("it_alerts.gone (")
    })
    .unwrap_or_else(|| panic!("no alert of the dropped table: {alerts}"))
    .clone();
    assert_eq!(dropped["severity"], "warning");
    assert_eq!(dropped["node"], config().name.as_str());
    assert!(
        dropped["message"]
            .as_str()
            .is_some_and(|m| m.contains("no longer in the schema") && m.contains("1 snapshot(s)")),
        "{dropped}"
    );
    assert!(
        dropped["action"]
            .as_str()
            .is_some_and(|a| a.contains("clear")),
        "{dropped}"
    );
    let crashed_text = crashed.display().to_string();
    let leftover = find(&alerts, "leftover_staging", &|s| s == crashed_text)
        .unwrap_or_else(|| panic!("no alert of the leftover staging: {alerts}"))
        .clone();
    assert!(
        leftover["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 files") && m.contains("4.0 KiB")),
        "{leftover}"
    );
    // The leftover is not counted as a keyspace or an unknown entry on the Overview.
    let (_, overview) = app.get("/api/v1/tables").await;
    assert!(
        overview
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["keyspace"] != ".snapkeep-staging")),
        "{overview}"
    );

    // Acknowledging needs an operator; the silence has bounds.
    let ack = format!(
        "/api/v1/alerts/{}/ack",
        dropped["id"].as_str().unwrap_or_default()
    );
    let (status, v) = app.viewer().post(&ack, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = app.operator().post(&ack, json!({"hours": -1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, acked) = app
        .operator()
        .post(
            &ack,
            json!({"hours": 2, "comment": "kept on purpose until Friday"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["silenced"], true);
    assert_eq!(acked["acked_by"], OPERATOR);
    assert_eq!(acked["ack_comment"], "kept on purpose until Friday");
    let (status, v) = app.post("/api/v1/alerts/0000/ack", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = app.get("/api/v1/alerts?state=later").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // /metrics counts the open alerts; the acknowledged one as silenced.
    let metrics = app.fetch("/metrics").await.text;
    assert!(
        metrics.contains(
            r#"snapkeep_alerts{kind="dropped_table_snapshots",severity="warning",silenced="1"}"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"snapkeep_alerts{kind="leftover_staging",severity="warning",silenced="0"} 1"#
        ),
        "{metrics}"
    );

    // The CLI lists them with what to do.
    let url = app.serve().await;
    let listed = snapkeep(["alerts", "--server", url.as_str(), "list"])
        .token(app.token(VIEWER))
        .run()
        .await;
    assert_eq!(listed.code, 0, "{listed:?}");
    assert!(listed.stdout.contains(&crashed_text), "{listed:?}");
    assert!(listed.stdout.contains("what to do:"), "{listed:?}");
    assert!(listed.stdout.contains("acknowledged by"), "{listed:?}");

    // The causes go; the next scan resolves both alerts.
    std::fs::remove_dir_all(&crashed).expect("remove the leftover");
    nt.run(&["clearsnapshot", "--all", "--", "it_alerts"])
        .await
        .expect("clearsnapshot");
    app.rescan().await;
    let (_, open) = app.get("/api/v1/alerts").await;
    assert!(
        find(&open, "leftover_staging", &|s| s == crashed_text).is_none(),
        "{open}"
    );
    assert!(
        find(&open, "dropped_table_snapshots", &|s| s
            .starts_with("it_alerts.gone ("))
        .is_none(),
        "{open}"
    );
    let (_, all) = app.get("/api/v1/alerts?state=all").await;
    let resolved =
        find(&all, "leftover_staging", &|s| s == crashed_text).unwrap_or_else(|| panic!("{all}"));
    assert!(resolved["resolved_at"].as_i64().is_some(), "{resolved}");
}

/// The candidate of the retention plan holding exactly `table`.
fn candidate<'a>(plan: &'a Value, table: &str) -> Option<&'a Value> {
    plan["candidates"]
        .as_array()?
        .iter()
        .find(|c| c["tables"] == json!([table]))
}

#[tokio::test(flavor = "multi_thread")]
async fn truncate_snapshots_past_their_days_are_cleared_but_a_tables_last_only_when_confirmed() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_autoret").await;
    for t in ["it_autoret.kept", "it_autoret.only"] {
        table(&cql, t).await;
        write_rows(&cql, t, 0, 500).await;
    }
    let app = TestApp::init().with_node(config()).build().await;
    // `kept` has a snapshot of its own besides TRUNCATE's; `only` has just TRUNCATE's.
    app.take_snapshot(json!({"tag": "it-autoret-manual", "tables": ["it_autoret.kept"]}))
        .await;
    for t in ["it_autoret.kept", "it_autoret.only"] {
        cql.execute(&format!("TRUNCATE {t}"))
            .await
            .expect("truncate");
    }
    // Twice: the first may be the scan the snapshot job started before the TRUNCATEs.
    app.rescan().await;
    app.rescan().await;
    // Eight days pass (in the catalog).
    let eight_days = 8 * 86_400_000i64;
    for sql in [
        "UPDATE snapshot_tables SET created_at = created_at - ? WHERE keyspace_name = 'it_autoret' \
         AND snapshot_id IN (SELECT id FROM snapshots WHERE kind = 'truncated')",
        "UPDATE snapshots SET created_at = created_at - ? WHERE kind = 'truncated' AND tables LIKE 'it_autoret.%'",
    ] {
        sqlx::query(sql)
            .bind(eight_days)
            .execute(app.pool())
            .await
            .expect(sql);
    }

    let (status, plan) = app.viewer().get("/api/v1/retention/auto-snapshots").await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["auto_snapshot_days"], 7.0);
    let kept = candidate(&plan, "it_autoret.kept").unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(kept["decision"], "clear", "{kept}");
    assert_eq!(kept["kind"], "truncated");
    // TRUNCATE removed the live SSTables: the snapshot alone holds them.
    assert!(
        kept["frees_bytes"].as_i64().is_some_and(|b| b > 0),
        "{kept}"
    );
    assert!(
        kept["frees_inodes"].as_i64().is_some_and(|n| n > 0),
        "{kept}"
    );
    let only = candidate(&plan, "it_autoret.only").unwrap_or_else(|| panic!("{plan}"));
    assert_eq!(only["decision"], "needs_confirmation", "{only}");
    assert_eq!(only["alone"], json!(["it_autoret.only"]));
    let (kept_tag, only_tag) = (
        kept["tag"].as_str().unwrap_or_default().to_string(),
        only["tag"].as_str().unwrap_or_default().to_string(),
    );
    let node_name = config().name;

    // The alert names the old TRUNCATE snapshots.
    let (_, alerts) = app.get("/api/v1/alerts").await;
    assert!(
        find(&alerts, "auto_snapshot_old", &|_| true)
            .and_then(|a| a["message"].as_str())
            .is_some_and(|m| m.contains("older than 7 days")),
        "{alerts}"
    );

    // Viewers may not apply it; a confirmation must name a candidate that needs one.
    let (status, v) = app
        .viewer()
        .post("/api/v1/retention/auto-snapshots", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = app
        .operator()
        .post(
            "/api/v1/retention/auto-snapshots",
            json!({"confirm": [format!("{node_name}/{kept_tag}")]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");

    // Applied: the one with another snapshot goes, the table's last one stays.
    let (status, done) = app
        .operator()
        .post("/api/v1/retention/auto-snapshots", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        done["cleared"],
        json!([format!("{node_name}/{kept_tag}")]),
        "{done}"
    );
    assert!(
        done["kept"].as_array().is_some_and(|k| k.iter().any(|k| k
            .as_str()
            .is_some_and(|k| k.contains(&only_tag) && k.contains("confirm")))),
        "{done}"
    );
    assert_eq!(done["freed_bytes"], kept["frees_bytes"]);
    let kept_dir = table_dir("it_autoret", "kept")
        .join("snapshots")
        .join(&kept_tag);
    let only_dir = table_dir("it_autoret", "only")
        .join("snapshots")
        .join(&only_tag);
    assert!(!kept_dir.exists(), "{} is cleared", kept_dir.display());
    assert!(only_dir.exists(), "{} stays", only_dir.display());
    assert!(
        table_dir("it_autoret", "kept")
            .join("snapshots")
            .join("it-autoret-manual")
            .exists(),
        "the manual snapshot is not TRUNCATE's"
    );

    // The CLI shows what waits for a confirmation; confirmed by name, the last one goes too.
    let url = app.serve().await;
    let planned = snapkeep(["retention", "--server", url.as_str(), "plan"])
        .token(app.token(VIEWER))
        .run()
        .await;
    assert_eq!(planned.code, 0, "{planned:?}");
    assert!(
        planned
            .stdout
            .contains(&format!("{node_name}/{only_tag} truncated"))
            && planned.stdout.contains("needs_confirmation")
            && planned
                .stdout
                .contains("the last snapshot of it_autoret.only"),
        "{planned:?}"
    );
    let confirm = format!("{node_name}/{only_tag}");
    let applied = snapkeep([
        "retention",
        "--server",
        url.as_str(),
        "apply",
        "--confirm",
        confirm.as_str(),
    ])
    .token(app.token(OPERATOR))
    .run()
    .await;
    assert_eq!(applied.code, 0, "{applied:?}");
    assert!(
        applied.stdout.contains(&format!("cleared {confirm}")),
        "{applied:?}"
    );
    assert!(!only_dir.exists(), "{} is cleared", only_dir.display());
}
