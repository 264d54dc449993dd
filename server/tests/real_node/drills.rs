//! Restore drills on the real node: a snapshot restored into `snapkeep_drill` without any
//! approval, verified against its row count, timed, and dropped; the live table untouched; a
//! drill that cannot restore fails and says why; the proof per table; the CLI.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::node::{config, cql, keyspace, rows_of, shared, table, write_rows};
use crate::support::{TestApp, snapkeep};

async fn wait_drill(app: &TestApp, id: &Value) -> Value {
    for _ in 0..1800 {
        let (status, d) = app.get(&format!("/api/v1/drills/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{d}");
        if d["state"] != "running" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("drill {id} did not finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_restores_verifies_and_drops_without_approval_and_leaves_live_data_alone() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_drill").await;
    table(&cql, "it_drill.orders").await;
    write_rows(&cql, "it_drill.orders", 0, 700).await;
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"tag": "drill-src", "tables": ["it_drill.orders"]}))
        .await;
    // Live rows change after the snapshot: the drill proves the snapshot, not the table.
    write_rows(&cql, "it_drill.orders", 700, 900).await;
    let live_before = rows_of(&cql, "it_drill.orders").await;

    // Bad input is refused before anything runs.
    for (body, says) in [
        (json!({"tables": []}), "name the tables"),
        (json!({"tables": ["orders"]}), "keyspace.table"),
        (json!({"tables": ["system.local"]}), "user tables"),
    ] {
        let (status, v) = app.operator().post("/api/v1/drills", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains(says)),
            "{v}"
        );
    }

    // An operator starts it (no approver involved); the newest snapshot holding the table is
    // chosen.
    let (status, started) = app
        .operator()
        .post("/api/v1/drills", json!({"tables": ["it_drill.orders"]}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let d = wait_drill(&app, &started["id"]).await;
    assert_eq!(d["state"], "passed", "{d}");
    assert_eq!(d["snapshot"], "drill-src");
    assert_eq!(d["results"][0]["table"], "it_drill.orders", "{d}");
    assert_eq!(d["results"][0]["rows_expected"], 700, "{d}");
    assert_eq!(d["results"][0]["rows_found"], 700, "{d}");
    assert!(d["restore_ms"].as_i64().is_some_and(|ms| ms >= 0), "{d}");

    // Its restore request was approved by Snapkeep itself, and says why.
    let (_, r) = app
        .get(&format!("/api/v1/restores/{}", d["restore_id"]))
        .await;
    assert_eq!(r["state"], "done", "{r}");
    assert_eq!(r["target"], "side");
    assert_eq!(r["side_keyspace"], "snapkeep_drill");
    assert!(
        r["decision_comment"]
            .as_str()
            .is_some_and(|c| c.contains("never touches live tables")),
        "{r}"
    );

    // The side table is dropped, with the snapshot Cassandra took of it on DROP; the live
    // table is as it was.
    let schema = cql.schema().await.expect("schema");
    assert!(
        !schema.tables.iter().any(|t| t.keyspace == "snapkeep_drill"),
        "side tables dropped"
    );
    assert_eq!(rows_of(&cql, "it_drill.orders").await, live_before);
    app.rescan().await;
    let (_, left) = app.get("/api/v1/snapshots?keyspace=snapkeep_drill").await;
    assert_eq!(
        left["total"], 0,
        "no snapshot of the drill keyspace is left: {left}"
    );

    // A snapshot that does not exist: the drill fails and says so.
    let (status, bad) = app
        .operator()
        .post(
            "/api/v1/drills",
            json!({"tables": ["it_drill.orders"], "snapshot": "no-such-tag"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{bad}");
    let bad = wait_drill(&app, &bad["id"]).await;
    assert_eq!(bad["state"], "failed", "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-tag")),
        "{bad}"
    );

    // The proof: the passed drill, not the newer failed one.
    let (_, proof) = app.get("/api/v1/drills/proof").await;
    let p = proof
        .as_array()
        .and_then(|a| a.iter().find(|p| p["table"] == "it_drill.orders"))
        .unwrap_or_else(|| panic!("{proof}"));
    assert_eq!(p["drill_id"], d["id"]);
    assert_eq!(p["rows_found"], 700);

    // The RPO panel and /metrics know the proof; the drill keyspace is not on the panel.
    app.rescan().await;
    let (_, rpo) = app.get("/api/v1/rpo").await;
    let row = rpo
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|r| r["keyspace"] == "it_drill" && r["table"] == "orders")
        })
        .unwrap_or_else(|| panic!("{rpo}"));
    assert_eq!(row["last_drill_at"], p["proved_at"], "{row}");
    assert_eq!(row["last_snapshot"], "drill-src", "{row}");
    assert!(
        rpo.as_array().is_some_and(|a| a
            .iter()
            .all(|r| r["keyspace"] != "snapkeep_drill" && r["keyspace"] != "system")),
        "{rpo}"
    );
    let metrics = app.fetch("/metrics").await;
    assert!(
        metrics
            .text
            .contains(r#"snapkeep_last_drill_timestamp_seconds{node="#),
        "{}",
        metrics.text
    );

    // A drill schedule: run now, it drills the newest snapshot of its tables.
    let (status, sched) = app
        .operator()
        .post(
            "/api/v1/schedules",
            json!({"name": "weekly-proof", "kind": "drill", "cron": "0 4 * * 0", "paused": true,
                   "scope": {"tables": ["it_drill.orders"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sched}");
    let (status, bad) = app
        .operator()
        .post(
            "/api/v1/schedules",
            json!({"name": "bad-proof", "kind": "drill", "cron": "0 4 * * 0",
                   "scope": {"tables": ["it_drill.orders"]}, "retention": {"keep_last": 2}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_eq!(bad["field"], "retention", "{bad}");
    let (status, run) = app
        .operator()
        .post(&format!("/api/v1/schedules/{}/run", sched["id"]), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let job = app.wait_job(&run["job_id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let (_, runs) = app
        .get(&format!("/api/v1/schedules/{}/runs", sched["id"]))
        .await;
    assert_eq!(runs[0]["state"], "done", "{runs}");
    assert_eq!(runs[0]["tag"], "drill-src", "the snapshot drilled: {runs}");
    let (_, drills) = app.get("/api/v1/drills?limit=1").await;
    assert_eq!(drills[0]["schedule_id"], sched["id"], "{drills}");
    assert_eq!(drills[0]["state"], "passed", "{drills}");

    // The same through the CLI, which waits and prints the verdict.
    let url = app.serve().await;
    let run = snapkeep([
        "drill",
        "--server",
        url.as_str(),
        "run",
        "--table",
        "it_drill.orders",
        "--snapshot",
        "drill-src",
    ])
    .token(app.token(crate::support::app::OPERATOR))
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("[passed]"), "{run:?}");
    assert!(run.stdout.contains("rows 700/700"), "{run:?}");
}
