//! Restores on the real node (all but the full-node one, see `fullnode.rs`): the war story
//! with approval, TRUNCATE's own snapshot, schema drift and the side restore, crashes at
//! every step and the resume, the CLI, a disk that fills mid-copy, the order of steps and the
//! safety snapshot, expiry and cancel.

use std::path::Path;
use std::time::Duration;

use app::api::JobDto;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use snapkeep::auth::Role;
use snapkeep::node::Nodetool;

use crate::support::app::{ADMIN, APPROVER, OPERATOR};
use crate::support::node::{
    config, cql, keyspace, node, rows_of, shared, table, table_dir, write_rows,
};
use crate::support::process::wait_restore_via;
use crate::support::{ServerProcess, TestApp, snapkeep};

/// `/api/v1/restores/{id}/{action}`.
fn restore_uri(id: &Value, action: &str) -> String {
    format!("/api/v1/restores/{id}/{action}")
}

/// True when restore staging left nothing behind for the request with `safety_tag`.
fn staging_cleaned(safety_tag: &str) -> bool {
    !node()
        .data_dir()
        .join(".snapkeep-staging")
        .join(safety_tag)
        .exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_war_story_truncate_at_3am_restored_in_place_with_approval() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_war").await;
    table(&cql, "it_war.user_profiles").await;
    write_rows(&cql, "it_war.user_profiles", 0, 10_000).await;
    let original = rows_of(&cql, "it_war.user_profiles").await;
    assert_eq!(original.len(), 10_000);
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"tables": ["it_war.user_profiles"], "tag": "nightly"}))
        .await;

    // 3 AM: someone truncates production.
    cql.execute("TRUNCATE it_war.user_profiles")
        .await
        .expect("truncate");
    assert!(rows_of(&cql, "it_war.user_profiles").await.is_empty());

    let request = json!({"snapshot": "nightly", "tables": ["it_war.user_profiles"], "target": "in_place", "reason": "TRUNCATE at 3 AM"});
    let (status, plan) = app
        .operator()
        .post("/api/v1/restores/plan", request.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["verdict"], "compatible", "{plan}");
    assert_eq!(plan["tables"][0]["hard_link"], true);
    assert_eq!(plan["tables"][0]["bytes_to_copy"], 0);
    assert_eq!(plan["tables"][0]["expected_rows"], 10_000);
    assert!(
        plan["blocked"].as_array().is_some_and(|b| b.is_empty()),
        "{plan}"
    );

    let (status, req) = app
        .operator()
        .post("/api/v1/restores", request.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["state"], "awaiting_approval");
    let id = &req["id"];
    let (status, _) = app
        .operator()
        .call(Method::POST, &restore_uri(id, "execute"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not approved yet");
    let (status, v) = app
        .operator()
        .post(&restore_uri(id, "approve"), json!({"comment": "me"}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "operators may not approve: {v}"
    );
    let (status, v) = app.post(&restore_uri(id, "approve"), json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an admin who did not request it may: {v}"
    );
    assert_eq!(v["state"], "approved");
    assert_eq!(v["decided_by"], ADMIN);
    let (status, _) = app
        .approver()
        .post(&restore_uri(id, "approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided already");
    let (status, v) = app.delete("/api/v1/snapshots/nightly").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a snapshot an open restore uses stays: {v}"
    );
    let (status, _) = app.operator().post("/api/v1/restores", request).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open restore per table");

    app.execute(id).await;
    let done = app.wait_restore(id).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    assert_eq!(done["verification"]["tables"][0]["rows_found"], 10_000);
    assert!(
        done["steps"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["state"] == "done"))
    );
    assert_eq!(
        rows_of(&cql, "it_war.user_profiles").await,
        original,
        "every row as it was"
    );
    let dir = table_dir("it_war", "user_profiles");
    let safety = done["plan"]["safety_tag"].as_str().expect("safety tag");
    assert!(
        dir.join("snapshots").join(safety).is_dir(),
        "safety snapshot taken first"
    );
    assert!(staging_cleaned(safety), "staging cleaned");
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_drift_warns_blocks_and_a_side_restore_works() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_drift").await;
    table(&cql, "it_drift.t").await;
    write_rows(&cql, "it_drift.t", 0, 300).await;
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"tables": ["it_drift.t"], "tag": "before-drift"}))
        .await;
    let in_place = json!({"snapshot": "before-drift", "tables": ["it_drift.t"], "target": "in_place", "reason": "drift"});

    cql.execute("ALTER TABLE it_drift.t ADD coupon text")
        .await
        .expect("alter");
    let (_, plan) = app
        .operator()
        .post("/api/v1/restores/plan", in_place.clone())
        .await;
    assert_eq!(plan["verdict"], "compatible_with_warnings", "{plan}");
    let msg = plan["tables"][0]["schema_check"]["differences"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(msg.contains("coupon was added"), "{msg}");

    // A changed type (Cassandra refuses it on a live table, so the table was re-created):
    // blocked in place, with both facts named; a side restore brings the rows back.
    cql.execute("DROP TABLE it_drift.t")
        .await
        .expect("drop table");
    cql.execute("CREATE TABLE it_drift.t (id int PRIMARY KEY, v int)")
        .await
        .expect("recreate");
    let (_, plan) = app
        .operator()
        .post("/api/v1/restores/plan", in_place.clone())
        .await;
    assert_eq!(plan["verdict"], "incompatible", "{plan}");
    assert!(
        plan["blocked"][0]
            .as_str()
            .unwrap_or("")
            .contains("side table")
    );
    let messages: Vec<String> = plan["tables"][0]["schema_check"]["differences"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["message"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        messages.iter().any(|m| m.contains("re-created")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("changed type from text to int")),
        "{messages:?}"
    );
    let (status, v) = app.operator().post("/api/v1/restores", in_place).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let side = json!({"snapshot": "before-drift", "tables": ["it_drift.t"], "target": "side", "reason": "inspect the old rows"});
    let (status, req) = app.operator().post("/api/v1/restores", side).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = &req["id"];
    let side_table = req["plan"]["tables"][0]["target_table"]
        .as_str()
        .expect("side name")
        .to_string();
    app.approve(id, "ok").await;
    app.execute(id).await;
    let done = app.wait_restore(id).await;
    assert_eq!(done["state"], "done", "{done}");
    let rows = rows_of(&cql, &format!("it_drift.{side_table}")).await;
    assert_eq!(rows.len(), 300);
    assert_eq!(
        cql.count_rows("it_drift", "t").await.expect("count"),
        0,
        "the live table is untouched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_killed_at_any_step_resumes_to_the_same_result() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_crash").await;
    let app = TestApp::init().with_node(config()).build().await;
    let config_file = app.config_file();
    let (olga, bob) = (app.token(OPERATOR), app.token(APPROVER));
    for step in [
        "check",
        "safety_snapshot",
        "truncate",
        "stage",
        "import",
        "cleanup",
        "verify",
    ] {
        let table_name = format!("it_crash.t_{step}");
        table(&cql, &table_name).await;
        write_rows(&cql, &table_name, 0, 200).await;
        let original = rows_of(&cql, &table_name).await;
        let mut server = ServerProcess::start(&config_file, Some(step));
        let (requester, approver) = (server.client(olga), server.client(bob));
        let tag = format!("crash-{}", step.replace('_', "-"));
        let taken: Value = requester
            .call(
                Method::POST,
                "/api/v1/snapshots",
                Some(json!({"tables": [table_name], "tag": tag})),
            )
            .await
            .expect("snapshot");
        let job: JobDto = serde_json::from_value(taken["job"].clone()).expect("job");
        requester.wait(job, true).await.expect("snapshot job");
        cql.execute(&format!("TRUNCATE {table_name}"))
            .await
            .expect("truncate");
        let req: Value = requester
            .call(
                Method::POST,
                "/api/v1/restores",
                Some(json!({"snapshot": tag, "tables": [table_name], "target": "in_place", "truncate": true, "reason": format!("crash after {step}")})),
            )
            .await
            .expect("request");
        let id = req["id"].as_i64().expect("id");
        let _: Value = approver
            .call(
                Method::POST,
                &format!("/api/v1/restores/{id}/approve"),
                Some(json!({})),
            )
            .await
            .expect("approve");
        let _: Value = requester
            .call(
                Method::POST,
                &format!("/api/v1/restores/{id}/execute"),
                None,
            )
            .await
            .expect("execute");
        // The server dies in the middle (SIGABRT right after the step's side effect).
        let status = tokio::task::spawn_blocking(move || {
            let s = server.child.wait().expect("wait");
            (s, server)
        })
        .await
        .expect("join");
        assert!(!status.0.success(), "the server crashed after {step}");
        drop(status.1);

        let server = ServerProcess::start(&config_file, None);
        let requester = server.client(olga);
        let v: Value = requester
            .call(Method::GET, &format!("/api/v1/restores/{id}"), None)
            .await
            .expect("get");
        assert_eq!(v["state"], "interrupted", "after {step}: {v}");
        let _: Value = requester
            .call(Method::POST, &format!("/api/v1/restores/{id}/resume"), None)
            .await
            .expect("resume");
        let done = wait_restore_via(&requester, id, Duration::from_secs(180)).await;
        assert_eq!(done["state"], "done", "resumed after {step}: {done}");
        assert_eq!(done["verification"]["passed"], true, "after {step}: {done}");
        assert_eq!(
            rows_of(&cql, &table_name).await,
            original,
            "same rows after a crash in {step}"
        );
        let safety = done["plan"]["safety_tag"].as_str().expect("safety");
        assert!(staging_cleaned(safety), "staging cleaned after {step}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_restore_cli_plans_requests_approves_and_executes() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_rcli").await;
    table(&cql, "it_rcli.t").await;
    write_rows(&cql, "it_rcli.t", 0, 120).await;
    let app = TestApp::init().with_node(config()).build().await;
    let cat = app.add_user("cat", Role::Approver).await;
    let url = app.serve().await;
    let cli = |token: &str, cmd: &str, a: &[&str]| {
        snapkeep([cmd, "--server", url.as_str()].iter().chain(a)).token(token)
    };
    let (olga, bob) = (app.token(OPERATOR), app.token(APPROVER));
    let run = cli(
        olga,
        "snapshot",
        &["create", "--table", "it_rcli.t", "--tag", "rcli"],
    )
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let plan = [
        "plan",
        "--snapshot",
        "rcli",
        "--table",
        "it_rcli.t",
        "--side",
    ];
    let run = cli(olga, "restore", &plan).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("hard links, 0 bytes copied")
            && run.stdout.contains("120 rows expected"),
        "{run:?}"
    );
    let run = cli(
        bob,
        "restore",
        &[
            "request",
            "--snapshot",
            "rcli",
            "--table",
            "it_rcli.t",
            "--side",
            "--reason",
            "look at old rows",
            "--json",
        ],
    )
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let id = serde_json::from_str::<Value>(&run.stdout).expect("json")["id"].to_string();
    let run = cli(olga, "restore", &["approve", &id]).run().await;
    assert_eq!(run.code, 1, "an operator cannot approve");
    assert!(
        run.stderr.contains("403") && run.stderr.contains("approver"),
        "{run:?}"
    );
    let run = cli(bob, "restore", &["approve", &id]).run().await;
    assert_eq!(run.code, 1, "the requester cannot approve");
    assert!(
        run.stderr.contains("403") && run.stderr.contains("another approver"),
        "{run:?}"
    );
    let run = cli(&cat, "restore", &["approve", &id, "--comment", "go"])
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("approved"), "{run:?}");
    let run = cli(olga, "restore", &["execute", &id]).run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("[done]") && run.stdout.contains("passed"),
        "{run:?}"
    );
    let run = cli(bob, "restore", &["list"]).run().await;
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("done") && run.stdout.contains("rcli"),
        "{run:?}"
    );
}

/// Mounts a tmpfs of `size` at `dir` (root only); `None` when this machine does not allow it
/// (the test then fails: CI runs as root).
fn mount_tmpfs(dir: &Path, size: &str) -> Option<()> {
    std::fs::create_dir_all(dir).expect("mount point");
    let out = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .ok()?;
    out.status.success().then_some(())
}

fn umount(dir: &Path) {
    let _ = std::process::Command::new("umount").arg(dir).status();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disk_full_mid_copy_fails_the_restore_cleans_staging_and_keeps_the_live_table() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_disk_full").await;
    table(&cql, "it_disk_full.t").await;
    write_rows(&cql, "it_disk_full.t", 0, 2_000).await;
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"tables": ["it_disk_full.t"], "tag": "before-full"}))
        .await;
    // Rows written after the snapshot: a restore that fails must leave them where they are.
    write_rows(&cql, "it_disk_full.t", 2_000, 2_500).await;
    let live_before = rows_of(&cql, "it_disk_full.t").await;
    assert_eq!(live_before.len(), 2_500);

    let request = json!({"snapshot": "before-full", "tables": ["it_disk_full.t"], "target": "in_place", "reason": "disk-full test"});
    let (status, req) = app.operator().post("/api/v1/restores", request).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["plan"]["tables"][0]["hard_link"], true, "{req}");
    let id = &req["id"];
    app.approve(id, "ok").await;

    // After approval, this restore's staging directory becomes a separate, nearly full
    // filesystem: hard links there fail (EXDEV), so the files are copied, and the copy runs
    // out of space (ENOSPC) part-way.
    let safety = req["plan"]["safety_tag"].as_str().expect("safety tag");
    let mount_point = node().data_dir().join(".snapkeep-staging").join(safety);
    if mount_tmpfs(&mount_point, "8k").is_none() {
        let _ = std::fs::remove_dir(&mount_point);
        panic!(
            "cannot mount a tmpfs at {} (needs root and mount(8)): this test must run where it can, as CI does",
            mount_point.display()
        );
    }
    let (status, v) = app
        .operator()
        .call(Method::POST, &restore_uri(id, "execute"), None)
        .await;
    let outcome = if status == StatusCode::ACCEPTED {
        app.wait_restore(id).await
    } else {
        v
    };
    let left: Vec<_> = std::fs::read_dir(&mount_point)
        .map(|it| it.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    umount(&mount_point);
    let _ = std::fs::remove_dir_all(&mount_point);

    assert_eq!(status, StatusCode::ACCEPTED, "{outcome}");
    assert_eq!(outcome["state"], "failed", "{outcome}");
    let error = outcome["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("No space left on device"),
        "the message says the disk is full: {outcome}"
    );
    let steps = outcome["steps"].as_array().expect("steps");
    let stage = steps
        .iter()
        .find(|s| s["name"] == "stage it_disk_full.t")
        .expect("stage step");
    assert_eq!(stage["state"], "failed", "{outcome}");
    assert!(
        steps
            .iter()
            .filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("import")))
            .all(|s| s["state"] != "done"),
        "nothing imported: {outcome}"
    );
    assert!(left.is_empty(), "staging cleaned: {left:?}");
    assert_eq!(
        rows_of(&cql, "it_disk_full.t").await,
        live_before,
        "the live table is untouched"
    );
    assert!(
        table_dir("it_disk_full", "t")
            .join("snapshots")
            .join("before-full")
            .is_dir(),
        "the snapshot is still there"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_war_story_without_a_nightly_cron_restores_from_truncates_own_snapshot() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_auto").await;
    table(&cql, "it_auto.user_profiles").await;
    write_rows(&cql, "it_auto.user_profiles", 0, 3_000).await;
    let original = rows_of(&cql, "it_auto.user_profiles").await;
    assert_eq!(original.len(), 3_000);
    // Nobody took a snapshot: only Cassandra's auto_snapshot of the TRUNCATE exists.
    cql.execute("TRUNCATE it_auto.user_profiles")
        .await
        .expect("truncate");
    assert!(rows_of(&cql, "it_auto.user_profiles").await.is_empty());

    let app = TestApp::init().with_node(config()).build().await;
    app.rescan().await;
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_auto&kind=truncated")
        .await;
    assert_eq!(list["total"], 1, "{list}");
    let tag = list["items"][0]["tag"].as_str().expect("tag").to_string();
    assert!(tag.starts_with("truncated-"), "{tag}");
    // Snapkeep did not take it, so did not count it: its SSTables' metadata says how many
    // rows it holds, and the plan expects them.
    let (_, detail) = app.get(&format!("/api/v1/snapshots/{tag}")).await;
    assert_eq!(detail["tables"][0]["row_count"], 3_000, "{detail}");
    assert_eq!(detail["tables"][0]["row_count_method"], "sstables");
    let request = json!({"snapshot": tag, "tables": ["it_auto.user_profiles"], "target": "in_place", "reason": "TRUNCATE without a nightly snapshot"});
    let (status, plan) = app
        .operator()
        .post("/api/v1/restores/plan", request.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["tables"][0]["expected_rows"], 3_000, "{plan}");
    assert_eq!(plan["tables"][0]["expected_rows_method"], "sstables");

    let done = app.request_approve_execute(request).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    assert_eq!(done["verification"]["tables"][0]["rows_found"], 3_000);
    assert_eq!(done["verification"]["tables"][0]["rows_expected"], 3_000);
    assert_eq!(
        rows_of(&cql, "it_auto.user_profiles").await,
        original,
        "every row back from TRUNCATE's own snapshot"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_tables_snapshot_counts_rows_not_partitions_from_its_sstables() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_rows").await;
    cql.execute(
        "CREATE TABLE it_rows.events (user int, at int, v text, PRIMARY KEY (user, at)) \
         WITH CLUSTERING ORDER BY (at DESC)",
    )
    .await
    .expect("create");
    // 40 partitions of 25 rows, in two SSTables (two flushes), then 5 rows overwritten in a
    // third: the metadata sum counts those twice.
    for users in [0..20, 20..40] {
        for u in users {
            for at in 0..25 {
                cql.execute(&format!(
                    "INSERT INTO it_rows.events (user, at, v) VALUES ({u}, {at}, 'e-{u}-{at}')"
                ))
                .await
                .expect("insert");
            }
        }
        Nodetool::for_node(&config())
            .run(&["flush", "it_rows", "events"])
            .await
            .expect("flush");
    }
    for at in 0..5 {
        cql.execute(&format!(
            "INSERT INTO it_rows.events (user, at, v) VALUES (3, {at}, 'again')"
        ))
        .await
        .expect("overwrite");
    }
    cql.execute("DROP TABLE it_rows.events")
        .await
        .expect("drop");

    let app = TestApp::init().with_node(config()).build().await;
    app.rescan().await;
    let (_, list) = app
        .get("/api/v1/snapshots?keyspace=it_rows&kind=dropped")
        .await;
    assert_eq!(list["total"], 1, "{list}");
    let tag = list["items"][0]["tag"].as_str().expect("tag").to_string();
    let (_, detail) = app.get(&format!("/api/v1/snapshots/{tag}")).await;
    assert_eq!(
        detail["tables"][0]["row_count"], 1_005,
        "rows (1,000 and 5 overwritten in a newer SSTable), not the 40 partitions: {detail}"
    );
    assert_eq!(detail["tables"][0]["row_count_method"], "sstables");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_place_restore_stages_and_checks_everything_before_truncate_and_keeps_its_safety_snapshot()
 {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_order").await;
    for t in ["it_order.a", "it_order.b"] {
        table(&cql, t).await;
        write_rows(&cql, t, 0, 300).await;
    }
    let (a, b) = (
        rows_of(&cql, "it_order.a").await,
        rows_of(&cql, "it_order.b").await,
    );
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"keyspaces": ["it_order"], "tag": "before"}))
        .await;
    // After the snapshot: rows added and rows deleted; TRUNCATE + import gives exactly the
    // snapshot's rows back.
    write_rows(&cql, "it_order.a", 300, 400).await;
    cql.execute("DELETE FROM it_order.b WHERE id = 7")
        .await
        .expect("delete");

    let done = app
        .request_approve_execute(json!({"snapshot": "before", "target": "in_place", "truncate": true, "reason": "roll back"}))
        .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(rows_of(&cql, "it_order.a").await, a);
    assert_eq!(rows_of(&cql, "it_order.b").await, b);

    // The journal: every table staged and checked (sizes, Digest.crc32) before TRUNCATE.
    let steps = done["steps"].as_array().expect("steps");
    let seq_of = |name: &str| {
        steps
            .iter()
            .position(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}: {done}"))
    };
    let truncate = seq_of("truncate");
    for t in ["it_order.a", "it_order.b"] {
        let stage = seq_of(&format!("stage {t}"));
        assert!(stage < truncate, "stage {t} before truncate: {done}");
        assert!(
            steps[stage]["finished_at"].as_i64() <= steps[truncate]["started_at"].as_i64(),
            "{done}"
        );
        let detail = steps[stage]["detail"].as_str().unwrap_or("");
        assert!(
            detail.contains("sizes equal") && detail.contains("equal to Digest.crc32"),
            "{detail}"
        );
        assert!(seq_of(&format!("import {t}")) > truncate);
    }

    // The safety snapshot is pinned for its retention time: an operator cannot clear it.
    let safety = done["plan"]["safety_tag"].as_str().expect("safety tag");
    assert!(safety.starts_with("snapkeep-pre-restore-"), "{safety}");
    app.rescan().await;
    let (status, v) = app.delete(&format!("/api/v1/snapshots/{safety}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let msg = v["error"].as_str().or(v["message"].as_str()).unwrap_or("");
    assert!(
        v.to_string().contains("safety snapshot of restore request")
            && v.to_string().contains("kept until"),
        "{msg} {v}"
    );
    let (_, d) = app.get(&format!("/api/v1/snapshots/{safety}")).await;
    assert_eq!(d["kind"], "pre-restore", "{d}");
    assert!(
        d["pins"][0]["reason"]
            .as_str()
            .is_some_and(|p| p.contains("safety snapshot of restore request"))
            && d["pins"][0]["until_ms"].as_i64() > Some(snapkeep::jobs::now_ms()),
        "shown as kept: {d}"
    );
    // The source is free again once the request is done.
    let (status, v) = app.delete("/api/v1/snapshots/before").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    app.wait_job(&v["job"]["id"]).await;

    // Job outcomes are in the audit log.
    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT action, target FROM audit_log WHERE actor = 'system' ORDER BY id")
            .fetch_all(app.pool())
            .await
            .expect("audit");
    for (action, target) in [
        ("snapshot.done", "snapshot/before".to_string()),
        ("restore.done", format!("restore/{}", done["id"])),
        ("snapshot.clear.done", "snapshot/before".to_string()),
    ] {
        assert!(
            actions.iter().any(|a| a.0 == action && a.1 == target),
            "{action} {target} in {actions:?}"
        );
    }

    // Users cannot take a tag from the prefixes Snapkeep reserves for itself.
    let (status, v) = app
        .post(
            "/api/v1/snapshots",
            json!({"keyspaces": ["it_order"], "tag": "snapkeep-pre-restore-mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("reserved"), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_approval_frees_the_table_and_a_cancelled_request_its_snapshot() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_expire").await;
    table(&cql, "it_expire.t").await;
    write_rows(&cql, "it_expire.t", 0, 50).await;
    let app = TestApp::init().with_node(config()).build().await;
    app.take_snapshot(json!({"tables": ["it_expire.t"], "tag": "exp"}))
        .await;
    let body = json!({"snapshot": "exp", "tables": ["it_expire.t"], "target": "side", "reason": "look at old rows"});
    let (status, req) = app.operator().post("/api/v1/restores", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = &req["id"];
    app.approve(id, "").await;
    let (status, _) = app.operator().post("/api/v1/restores", body.clone()).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the approved request holds the table"
    );

    // The approval's time passes.
    sqlx::query("UPDATE restore_requests SET approval_expires_at = 1 WHERE id = ?")
        .bind(id.as_i64())
        .execute(app.pool())
        .await
        .expect("expire");
    let (_, v) = app.get(&format!("/api/v1/restores/{id}")).await;
    assert_eq!(v["state"], "expired", "{v}");
    let (status, v) = app
        .operator()
        .call(Method::POST, &restore_uri(id, "execute"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target = ? ORDER BY id")
            .bind(format!("restore/{id}"))
            .fetch_all(app.pool())
            .await
            .expect("audit");
    assert!(
        outcomes.iter().any(|a| a == "restore.expired"),
        "{outcomes:?}"
    );

    // The table and the snapshot are free: a new request is taken, and holds the snapshot.
    let (status, again) = app.operator().post("/api/v1/restores", body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "expiry freed the table: {again}"
    );
    let again_id = &again["id"];
    let (status, v) = app.delete("/api/v1/snapshots/exp").await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v.to_string()
            .contains(&format!("restore request {again_id} uses it")),
        "{v}"
    );

    // Only the requester or an admin cancels; cancelling frees the snapshot.
    let (status, v) = app
        .approver()
        .post(
            &restore_uri(again_id, "cancel"),
            json!({"comment": "not mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = app
        .operator()
        .post(
            &restore_uri(again_id, "cancel"),
            json!({"comment": "found the rows elsewhere"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "cancelled");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains(&format!(
            "cancelled by {OPERATOR}: found the rows elsewhere"
        ))),
        "{v}"
    );
    let (status, v) = app
        .operator()
        .call(Method::POST, &restore_uri(again_id, "cancel"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "cancelled already: {v}");
    let (status, v) = app.delete("/api/v1/snapshots/exp").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    app.wait_job(&v["job"]["id"]).await;
}
