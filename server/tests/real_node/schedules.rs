//! Schedules on the real node: saved through the CLI, run by the server's own timer every ten
//! seconds, each run a job that takes a real snapshot and copies it to the store; retention
//! clears the oldest and keeps the one an open restore request uses, the store's copies have
//! a retention of their own; paused, the timer leaves it alone; a run on demand.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::node::{config, cql, keyspace, shared, table, table_dir, write_rows};
use crate::support::{TestApp, snapkeep};

/// The schedule's runs, oldest first.
async fn runs(app: &TestApp, id: &Value) -> Vec<Value> {
    let (status, v) = app
        .get(&format!("/api/v1/schedules/{id}/runs?limit=100"))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let mut runs = v.as_array().cloned().unwrap_or_default();
    runs.reverse();
    runs
}

/// Waits (three minutes at most) until `enough` says the runs are as the test needs.
async fn wait_runs(
    app: &TestApp,
    id: &Value,
    what: &str,
    enough: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let r = runs(app, id).await;
        if enough(&r) {
            return r;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "waited three minutes for {what}; runs: {r:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn done_tags(runs: &[Value]) -> Vec<String> {
    runs.iter()
        .filter(|r| r["state"] == "done")
        .filter_map(|r| r["tag"].as_str().map(str::to_string))
        .collect()
}

/// Snapshot directories of the table on disk, sorted.
fn on_disk() -> Vec<String> {
    let dir = table_dir("it_sched", "t").join("snapshots");
    let mut tags: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    tags
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_second_schedule_takes_snapshots_and_retention_keeps_the_last_two_and_the_pinned() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_sched").await;
    table(&cql, "it_sched.t").await;
    write_rows(&cql, "it_sched.t", 0, 100).await;
    let app = TestApp::init().with_node(config()).build().await;
    let url = app.serve().await;
    let token = app.token(crate::support::app::ADMIN);
    let cli =
        |a: &[&str]| snapkeep(["schedule", "--server", url.as_str()].iter().chain(a)).token(token);

    // Bad input is refused before saving, naming the field.
    for (body, field, says) in [
        (json!({"name": "x", "cron": "61 * * * *"}), "cron", "e.g."),
        (
            json!({"name": "x", "cron": "@daily", "timezone": "Mars/Base"}),
            "timezone",
            "IANA",
        ),
        (
            json!({"name": "x", "cron": "0 */6 * * *", "tag_template": "d-{date}"}),
            "tag_template",
            "same tag",
        ),
        (
            json!({"name": "x", "cron": "@daily", "scope": {"nodes": ["elsewhere"]}}),
            "scope",
            "not configured",
        ),
    ] {
        let (status, v) = app.post("/api/v1/schedules", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], field, "{v}");
        assert!(v["message"].as_str().unwrap_or("").contains(says), "{v}");
    }

    // The next runs and tags before saving.
    let run = cli(&[
        "add",
        "it-sched",
        "--cron",
        "*/10 * * * * *",
        "--table",
        "it_sched.t",
        "--keep-last",
        "2",
        "--dry-run",
    ])
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let previewed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("snapkeep-sched-it-sched-"))
        .collect();
    assert_eq!(previewed.len(), 5, "{run:?}");
    let (_, list) = app.get("/api/v1/schedules").await;
    assert_eq!(list, json!([]), "a dry run saves nothing");

    let run = cli(&[
        "add",
        "it-sched",
        "--cron",
        "*/10 * * * * *",
        "--table",
        "it_sched.t",
        "--keep-last",
        "2",
        "--upload-to",
        "local",
        "--store-keep-last",
        "3",
        "--paused",
        "--json",
    ])
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let saved: Value = serde_json::from_str(&run.stdout).expect("json");
    let id = saved["id"].clone();
    assert_eq!(saved["next_run_at"], Value::Null, "saved paused");
    let gaps: Vec<i64> = saved["next_runs"]
        .as_array()
        .expect("runs")
        .windows(2)
        .map(|w| w[1].as_i64().unwrap_or(0) - w[0].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(gaps, [10_000; 4], "{saved}");

    // Paused: the timer leaves it alone.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(runs(&app, &id).await, Vec::<Value>::new());

    // On demand through the CLI, which waits for the run's job: a real snapshot.
    let run = cli(&["run", &id.to_string()]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let first = runs(&app, &id).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0]["trigger"].as_str(), first[0]["state"].as_str()),
        (Some("manual"), Some("done")),
        "{first:?}"
    );
    let oldest = first[0]["tag"].as_str().expect("tag").to_string();
    assert!(oldest.starts_with("snapkeep-sched-it-sched-"), "{oldest}");
    assert_eq!(on_disk(), std::slice::from_ref(&oldest));
    let (_, j) = app
        .get(&format!("/api/v1/jobs/{}", first[0]["job_id"]))
        .await;
    assert_eq!(
        (j["kind"].as_str(), j["state"].as_str()),
        (Some("schedule"), Some("done")),
        "{j}"
    );

    // Each run also copies its snapshot to the store, verified.
    let (_, uploads) = app
        .get(&format!("/api/v1/uploads?kind=snapshot&name={oldest}"))
        .await;
    assert!(
        uploads
            .as_array()
            .is_some_and(|u| u.len() == 1 && u[0]["store"] == "local" && u[0]["verified"] == true),
        "{uploads}"
    );

    // An open restore request uses it: retention must keep it.
    let (status, req) = app
        .operator()
        .post(
            "/api/v1/restores",
            json!({"snapshot": oldest, "tables": ["it_sched.t"], "target": "side", "reason": "keep it"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");

    // Resumed: the timer takes four more, clearing as it goes.
    let run = cli(&["resume", &id.to_string()]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("resumed; next run"), "{run:?}");
    wait_runs(&app, &id, "four timer runs", |r| {
        r.iter()
            .filter(|x| x["trigger"] == "timer" && x["state"] == "done")
            .count()
            >= 4
    })
    .await;
    let run = cli(&["pause", &id.to_string()]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    // A run under way when it was paused finishes (its retention included).
    let settled = wait_runs(&app, &id, "the last run to end", |r| {
        r.iter().all(|x| x["state"] != "running")
    })
    .await;
    let all_done = done_tags(&settled);
    assert!(
        settled.iter().any(|r| r["message"]
            .as_str()
            .unwrap_or("")
            .contains("retention cleared")),
        "{settled:#?}"
    );

    // What stays: the newest two and the pinned oldest, in the catalog and on disk.
    let mut expected: Vec<String> = all_done[all_done.len() - 2..].to_vec();
    expected.push(oldest.clone());
    expected.sort();
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_sched&kind=scheduled&per_page=100")
        .await;
    let mut present: Vec<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["tag"].as_str().map(str::to_string))
        .collect();
    present.sort();
    assert_eq!(present, expected, "{list}");
    assert_eq!(on_disk(), expected);

    // The store's copies have their own retention: the newest three stay there (the oldest's
    // copy too is purged: its open restore reads the node's snapshot, not the store).
    assert!(
        settled.iter().any(|r| r["message"]
            .as_str()
            .unwrap_or("")
            .contains("store retention purged")),
        "{settled:#?}"
    );
    let (_, uploads) = app.get("/api/v1/uploads?kind=snapshot").await;
    let mut copies: Vec<String> = uploads
        .as_array()
        .expect("uploads")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .filter(|n| n.starts_with("snapkeep-sched-it-sched-"))
        .map(str::to_string)
        .collect();
    copies.sort();
    assert_eq!(copies, all_done[all_done.len() - 3..].to_vec(), "{uploads}");
    let (_, one) = app.get(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(one["retention"]["store"]["keep_last"], 3, "{one}");
    assert_eq!(one["store_retention_clears"], json!([]), "{one}");
    let run = cli(&["list"]).run().await;
    assert!(
        run.stdout.contains("it-sched") && run.stdout.contains("*/10 * * * * *"),
        "{run:?}"
    );

    // Tags a user may not take: the scheduled prefix is Snapkeep's own.
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"tables": ["it_sched.t"], "tag": "snapkeep-sched-mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app.delete(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = app.get(&format!("/api/v1/schedules/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
