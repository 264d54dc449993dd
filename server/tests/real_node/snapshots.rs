//! Snapshots on the real node through the REST API and the CLI: taken, measured by inode,
//! cleared; found when taken outside Snapkeep; taken concurrently; a failing nodetool.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use snapkeep::node::Nodetool;

use crate::support::node::{config, cql, keyspace, shared, table, table_dir, write_rows};
use crate::support::{TestApp, snapkeep};
use crate::{settled_snapshot_bytes, snapshot_bytes_by_hand};

fn find<'a>(items: &'a Value, tag: &str) -> Option<&'a Value> {
    items["items"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["tag"] == tag))
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_taken_measured_by_inode_and_cleared() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_snap").await;
    table(&cql, "it_snap.t").await;
    write_rows(&cql, "it_snap.t", 0, 500).await;
    let nt = Nodetool::for_node(&config());
    nt.run(&["flush", "it_snap"]).await.expect("flush");
    let app = TestApp::init().with_node(config()).build().await;

    let started = app
        .take_snapshot(json!({"tables": ["it_snap.t"], "tag": "it-take"}))
        .await;
    assert_eq!(started["tables"], json!(["it_snap.t"]));
    let (_, list) = app.get("/api/v1/snapshots?keyspace=it_snap").await;
    let s = find(&list, "it-take").unwrap_or_else(|| panic!("listed: {list}"));
    assert_eq!(s["kind"], "manual");
    assert_eq!(s["status"], "present");
    let snap = table_dir("it_snap", "t").join("snapshots").join("it-take");
    let (all, only, files) = snapshot_bytes_by_hand(&snap);
    assert_eq!(s["size_bytes"].as_u64(), Some(all));
    assert_eq!(s["files"].as_u64(), Some(files));
    assert_eq!(
        s["exclusive_hold_bytes"].as_u64(),
        Some(only),
        "fresh snapshot: only its manifest and schema are its own"
    );
    assert_eq!(s["shared_hold_bytes"], 0);

    let (status, d) = app.get("/api/v1/snapshots/it-take").await;
    assert_eq!(status, StatusCode::OK);
    let t = &d["tables"][0];
    assert_eq!(
        (t["keyspace"].as_str(), t["table"].as_str()),
        (Some("it_snap"), Some("t"))
    );
    assert_eq!(t["row_count"], 500, "{t}");
    assert_eq!(t["row_count_method"], "count");
    assert!(
        t["schema_cql"]
            .as_str()
            .unwrap_or("")
            .contains("CREATE TABLE")
    );
    assert_eq!(t["files_total"].as_u64(), Some(files));
    assert!(
        t["file_list"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["path"] == "manifest.json"))
    );

    // Bad input.
    let take = |body: Value| app.post("/api/v1/snapshots", body);
    let (status, v) = take(json!({"tables": ["it_snap.t"], "tag": "it-take"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = take(json!({"tag": "bad tag!"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("[A-Za-z0-9_.-]"),
        "{v}"
    );
    let (status, v) = take(json!({"tables": ["it_snap.t"], "ttl": "3 weeks"})).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ttl"))
    );
    for (body, named) in [
        (json!({"tables": ["it_snap.nope"]}), "it_snap.nope"),
        (json!({"keyspaces": ["no_such_ks"]}), "no_such_ks"),
    ] {
        let (status, v) = take(body).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(v["message"].as_str().unwrap_or("").contains(named), "{v}");
    }

    // Compaction replaces the live SSTables: the snapshot now holds them alone.
    write_rows(&cql, "it_snap.t", 250, 750).await;
    nt.run(&["flush", "it_snap"]).await.expect("flush");
    nt.clone()
        .with_timeout(Duration::from_secs(300))
        .run(&["compact", "it_snap"])
        .await
        .expect("compact");
    // Cassandra deletes the compacted-away SSTables after `compact` returns: wait until the
    // snapshot's own walk stops changing before the server measures it.
    let (all, only) = settled_snapshot_bytes(&snap).await;
    app.rescan().await;
    let (_, list) = app.get("/api/v1/snapshots?keyspace=it_snap").await;
    let s = find(&list, "it-take").expect("still listed");
    assert!(
        only > 1000,
        "compaction left the old SSTables to the snapshot alone"
    );
    assert_eq!(
        s["exclusive_hold_bytes"].as_u64(),
        Some(only),
        "hold equals an independent inode walk"
    );
    assert_eq!(s["size_bytes"].as_u64(), Some(all));
    let (_, tables) = app.get("/api/v1/tables").await;
    let t = tables
        .as_array()
        .and_then(|a| a.iter().find(|t| t["keyspace"] == "it_snap"))
        .expect("table");
    assert_eq!(
        t["hold_bytes"].as_u64(),
        Some(only),
        "table hold counts each inode once"
    );

    // Clear: frees exactly the exclusive hold; links shared with live files stay.
    let shared_inodes: Vec<u64> = std::fs::read_dir(&snap)
        .expect("dir")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::symlink_metadata(e.path()).ok())
        .filter(|m| m.nlink() > 1)
        .map(|m| m.ino())
        .collect();
    let (status, v) = app.delete("/api/v1/snapshots/it-take").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["frees_bytes"].as_u64(), Some(only));
    let job = app.wait_job(&v["job"]["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    assert!(!snap.exists(), "snapshot directory removed");
    let live: HashSet<u64> = std::fs::read_dir(table_dir("it_snap", "t"))
        .expect("dir")
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::symlink_metadata(e.path()).ok())
        .map(|m| m.ino())
        .collect();
    assert!(
        shared_inodes.iter().all(|i| live.contains(i)),
        "shared files still live"
    );
    let (_, d) = app.get("/api/v1/snapshots/it-take").await;
    assert_eq!(d["status"], "cleared");
    let (_, list) = app.get("/api/v1/snapshots?keyspace=it_snap").await;
    assert!(find(&list, "it-take").is_none(), "no longer present");
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_snap&status=cleared")
        .await;
    assert!(find(&list, "it-take").is_some(), "kept in the history");
    let (status, _) = app.delete("/api/v1/snapshots/it-take").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already cleared");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_taken_outside_snapkeep_are_discovered_and_classified() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_disc").await;
    for t in ["user_profiles", "doomed"] {
        table(&cql, &format!("it_disc.{t}")).await;
        write_rows(&cql, &format!("it_disc.{t}"), 0, 100).await;
    }
    let nt = Nodetool::for_node(&config());
    nt.run(&["snapshot", "-t", "ext-nightly", "it_disc"])
        .await
        .expect("snapshot");
    cql.execute("TRUNCATE it_disc.user_profiles")
        .await
        .expect("truncate");
    cql.execute("DROP TABLE it_disc.doomed")
        .await
        .expect("drop");

    let app = TestApp::init().with_node(config()).build().await;
    app.rescan().await;
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_disc&per_page=100")
        .await;
    let ext = find(&list, "ext-nightly").unwrap_or_else(|| panic!("{list}"));
    assert_eq!(ext["kind"], "external");
    assert_eq!(
        ext["tables"],
        json!(["it_disc.doomed", "it_disc.user_profiles"])
    );
    let items = list["items"].as_array().expect("items");
    let truncated = items
        .iter()
        .find(|s| s["kind"] == "truncated")
        .unwrap_or_else(|| panic!("TRUNCATE's snapshot found: {list}"));
    assert!(
        truncated["tag"]
            .as_str()
            .unwrap_or("")
            .starts_with("truncated-")
    );
    let note = truncated["note"].as_str().unwrap_or("");
    assert!(
        note.contains("it_disc.user_profiles was truncated at") && note.contains("can undo it"),
        "{note}"
    );
    assert!(
        items.iter().any(|s| s["kind"] == "dropped"),
        "DROP's snapshot found: {list}"
    );
    let (_, kinds) = app
        .get("/api/v1/snapshots?keyspace=it_disc&kind=truncated")
        .await;
    assert_eq!(kinds["total"], 1);

    let (_, d) = app.get("/api/v1/snapshots/ext-nightly").await;
    let created = d["created_at"].as_i64().unwrap_or(0);
    assert!(
        (snapkeep::jobs::now_ms() - created).abs() < 600_000,
        "created_at from the manifest: {created}"
    );
    assert!(d["tables"].as_array().is_some_and(|t| t.iter().all(|t| {
        t["schema_cql"]
            .as_str()
            .is_some_and(|s| s.contains("CREATE TABLE"))
    })));

    // Cleared outside Snapkeep: the next scan marks it gone, history kept.
    nt.run(&["clearsnapshot", "-t", "ext-nightly"])
        .await
        .expect("clear");
    app.rescan().await;
    let (_, d) = app.get("/api/v1/snapshots/ext-nightly").await;
    assert_eq!(d["status"], "gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_snapshots_of_one_table_are_all_answered_and_recorded_once() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_conc").await;
    table(&cql, "it_conc.t").await;
    write_rows(&cql, "it_conc.t", 0, 100).await;
    let app = TestApp::init().with_node(config()).build().await;
    let calls = (0..50).map(|i| {
        app.post(
            "/api/v1/snapshots",
            json!({"tables": ["it_conc.t"], "tag": format!("conc-{i}")}),
        )
    });
    let answers = futures::future::join_all(calls).await;
    let mut accepted = Vec::new();
    for (status, v) in &answers {
        match *status {
            StatusCode::ACCEPTED => accepted.push(v.clone()),
            StatusCode::CONFLICT => assert_eq!(v["error"], "busy", "{v}"),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert!(!accepted.is_empty());
    for v in &accepted {
        let job = app.wait_job(&v["job"]["id"]).await;
        assert_eq!(job["state"], "done", "{job}");
    }
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_conc&per_page=100")
        .await;
    assert_eq!(list["total"].as_u64(), Some(accepted.len() as u64));
    let dir = table_dir("it_conc", "t").join("snapshots");
    let on_disk: HashSet<String> = std::fs::read_dir(&dir)
        .expect("snapshots dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let recorded: HashSet<String> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["tag"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        on_disk, recorded,
        "exactly the accepted snapshots exist, each recorded once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_cli_creates_lists_shows_and_clears_through_the_server() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_cli").await;
    table(&cql, "it_cli.t").await;
    write_rows(&cql, "it_cli.t", 0, 50).await;
    let app = TestApp::init().with_node(config()).build().await;
    let url = app.serve().await;
    let token = app.token(crate::support::app::ADMIN);
    let cli =
        |a: &[&str]| snapkeep(["snapshot", "--server", url.as_str()].iter().chain(a)).token(token);

    let run = cli(&["create", "--table", "it_cli.t", "--tag", "cli-1"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("snapshot cli-1 taken"), "{run:?}");
    let run = cli(&["list", "--keyspace", "it_cli", "--json"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let page: Value = serde_json::from_str(&run.stdout).expect("JSON list");
    assert_eq!(page["items"][0]["tag"], "cli-1");
    let run = cli(&["list", "--keyspace", "it_cli"]).run().await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("cli-1") && run.stdout.contains("page 1 of 1 (1 snapshot(s))"),
        "{run:?}"
    );
    let run = cli(&["show", "cli-1"]).run().await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("it_cli.t") && run.stdout.contains("50 rows"),
        "{run:?}"
    );

    // Refusals carry the server's message and exit non-zero.
    let run = cli(&["create", "--table", "it_cli.t", "--tag", "cli-1"])
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("409"),
        "{run:?}"
    );
    let run = cli(&["create", "--tag", "bad tag!"]).run().await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("[A-Za-z0-9_.-]"), "{run:?}");

    let run = cli(&["clear", "cli-1", "--json"]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let cleared: Value = serde_json::from_str(&run.stdout).expect("JSON clear");
    assert_eq!(cleared["job"]["state"], "done");
    let run = cli(&["clear", "cli-1"]).run().await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no snapshot `cli-1`"), "{run:?}");

    let run = snapkeep(["snapshot", "list", "--server", "http://127.0.0.1:1"])
        .token(token)
        .run()
        .await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("cannot reach the Snapkeep server at http://127.0.0.1:1"),
        "{run:?}"
    );
    let run = cli(&["list"]).token("").run().await;
    assert_eq!(run.code, 1, "no token");
    assert!(
        run.stderr.contains("401") && run.stderr.contains("snapkeep token create"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_nodetool_fails_the_job_and_records_nothing() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_fail").await;
    table(&cql, "it_fail.t").await;
    let mut cfg = config();
    cfg.jmx = "127.0.0.1:1".into();
    let app = TestApp::init().with_node(cfg).build().await;
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"tables": ["it_fail.t"], "tag": "never"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = app.wait_job(&v["job"]["id"]).await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["error"].as_str().unwrap_or("").contains("127.0.0.1:1"),
        "nodetool's reason: {job}"
    );
    let (_, list) = app.get("/api/v1/snapshots?status=all").await;
    assert_eq!(list["total"], 0, "nothing recorded");
}
