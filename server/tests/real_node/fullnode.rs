//! The full-node restore on the real node: it stops and restarts the node, so it holds the
//! node alone ([`exclusive`]) and leaves it running; its keyspaces (`it_full`, `it_other`)
//! are its own.

use std::path::Path;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use snapkeep::cassandra::cql::Cql;
use snapkeep::node::Nodetool;
use snapkeep::node::devnode;

use crate::support::app::{APPROVER, OPERATOR};
use crate::support::node::{
    config, cql, exclusive, keyspace, rows_of, table, table_dir, write_rows_tagged,
};
use crate::support::process::wait_restore_via;
use crate::support::{ServerProcess, TestApp};

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| it.filter_map(Result::ok).count())
        .unwrap_or(0)
}

/// `/api/v1/restores/{id}/{action}`.
fn restore_uri(id: &Value, action: &str) -> String {
    format!("/api/v1/restores/{id}/{action}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_node_restore_stops_the_node_puts_every_table_back_and_starts_it() {
    let _node = exclusive().await;
    let node = config();
    let dir = node.dev_node_dir.clone().expect("a dev node");
    let cql = cql().await;

    // Two tables with known rows.
    keyspace(&cql, "it_full").await;
    for t in ["it_full.accounts", "it_full.audit"] {
        table(&cql, t).await;
    }
    keyspace(&cql, "it_other").await;
    table(&cql, "it_other.t").await;
    write_rows_tagged(&cql, "it_full.accounts", 0, 2_000, "good").await;
    write_rows_tagged(&cql, "it_full.audit", 0, 500, "good").await;
    let accounts = rows_of(&cql, "it_full.accounts").await;
    let audit = rows_of(&cql, "it_full.audit").await;
    assert_eq!((accounts.len(), audit.len()), (2_000, 500));

    let app = TestApp::init().with_node(node.clone()).build().await;
    let (status, v) = app
        .operator()
        .post(
            "/api/v1/snapshots",
            json!({"keyspaces": ["it_full"], "tag": "before"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = app.wait_job(&v["job"]["id"]).await;
    assert_eq!(job["state"], "done", "{job}");

    // The damage: rows overwritten and added (some flushed to SSTables, some only in the
    // commit log), the other table truncated.
    write_rows_tagged(&cql, "it_full.accounts", 0, 1_000, "bad").await;
    Nodetool::for_node(&node)
        .run(&["flush", "it_full"])
        .await
        .expect("flush");
    write_rows_tagged(&cql, "it_full.accounts", 1_500, 2_300, "bad").await;
    cql.execute("TRUNCATE it_full.audit")
        .await
        .expect("truncate");
    assert_eq!(rows_of(&cql, "it_full.accounts").await.len(), 2_300);
    assert!(rows_of(&cql, "it_full.audit").await.is_empty());

    let input = json!({"snapshot": "before", "target": "full_node", "reason": "bad deploy overwrote accounts, audit truncated"});
    let (status, plan) = app
        .operator()
        .post("/api/v1/restores/plan", input.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["target"], "full_node");
    assert!(
        plan["blocked"].as_array().is_some_and(|b| b.is_empty()),
        "{plan}"
    );
    let steps: Vec<&str> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        steps,
        [
            "check",
            "safety_snapshot",
            "drain",
            "stop",
            "move_aside it_full.accounts",
            "move_aside it_full.audit",
            "clear_commitlog",
            "link it_full.accounts",
            "link it_full.audit",
            "start",
            "wait_cql",
            "verify",
            "keep_aside",
        ]
    );
    assert_eq!(plan["tables"][0]["expected_rows"], 2_000);
    assert_eq!(plan["tables"][1]["expected_rows"], 500);
    assert_eq!(plan["tables"][0]["hard_link"], true);
    assert!(
        plan["notes"].as_array().is_some_and(|n| n
            .iter()
            .any(|n| n.as_str().unwrap_or("").contains("dev-node launcher"))),
        "{plan}"
    );

    let (status, req) = app.operator().post("/api/v1/restores", input).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = &req["id"];
    let (status, v) = app
        .operator()
        .post(
            "/api/v1/restores",
            json!({"snapshot": "before", "tables": ["it_full.audit"], "target": "in_place", "reason": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").contains("whole node")
            || v.to_string().contains("whole node"),
        "{v}"
    );
    let (status, v) = app
        .operator()
        .post(&restore_uri(id, "approve"), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the requester cannot approve: {v}"
    );
    app.approve(id, "go").await;
    app.execute(id).await;
    // Every table of the node is locked while it runs, even one the restore does not touch.
    let (status, v) = app
        .operator()
        .post(
            "/api/v1/snapshots",
            json!({"tables": ["it_other.t"], "tag": "during"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v.to_string()
            .contains(&format!("every table of node {}", node.name)),
        "{v}"
    );

    let done = app.wait_restore(id).await;
    for s in done["steps"].as_array().into_iter().flatten() {
        eprintln!(
            "{:<28} {:<6} {}",
            s["name"].as_str().unwrap_or(""),
            s["state"].as_str().unwrap_or(""),
            s["detail"].as_str().unwrap_or("")
        );
    }
    assert_eq!(done["state"], "done", "{done:#}");
    assert_eq!(done["verification"]["passed"], true, "{done:#}");
    for s in done["steps"].as_array().expect("steps") {
        assert_eq!(s["state"], "done", "{s}");
    }
    let detail = |name: &str| {
        done["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name))
            .map(|s| s["detail"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert!(
        detail("clear_commitlog").contains("not deleted"),
        "{done:#}"
    );
    assert!(
        detail("link it_full.accounts").contains("hard-linked"),
        "{done:#}"
    );

    // The node answers CQL again and both tables hold exactly the snapshot's rows.
    let cql = Cql::connect(&node.cql, Duration::from_secs(30))
        .await
        .expect("CQL after the restore");
    assert_eq!(
        rows_of(&cql, "it_full.accounts").await,
        accounts,
        "accounts as they were"
    );
    assert_eq!(
        rows_of(&cql, "it_full.audit").await,
        audit,
        "audit as it was"
    );

    // What was moved aside is kept (the restore deletes nothing), recorded for Overview,
    // until an admin removes it; the safety snapshot stays.
    let safety = done["plan"]["safety_tag"].as_str().expect("safety tag");
    let commitlog = node.commitlog_dir.clone().expect("commit log dir");
    // accounts had live SSTables; audit was truncated, so its aside directory is empty.
    for (t, min_files) in [("accounts", 1), ("audit", 0)] {
        let dir = table_dir("it_full", t);
        let aside = dir.join(".snapkeep-aside").join(safety);
        assert!(
            aside.is_dir() && files_in(&aside) >= min_files,
            "aside of {t} kept"
        );
        assert!(
            dir.join("snapshots").join(safety).is_dir(),
            "safety snapshot of {t}"
        );
    }
    assert!(
        commitlog.join(".snapkeep-aside").join(safety).is_dir(),
        "commit log aside kept"
    );
    assert!(
        detail("keep_aside").contains("kept, not deleted"),
        "{done:#}"
    );
    let kept: Vec<(String, i64)> = sqlx::query_as(
        "SELECT what, bytes FROM restore_aside WHERE restore_id = ? AND removed_at IS NULL ORDER BY what",
    )
    .bind(id.as_i64())
    .fetch_all(app.pool())
    .await
    .expect("aside rows");
    let what: Vec<&str> = kept.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        what,
        ["commit log", "it_full.accounts", "it_full.audit"],
        "{kept:?}"
    );
    assert!(
        kept[0].1 > 0 && kept[1].1 > 0,
        "commit log and accounts: {kept:?}"
    );
    let (status, v) = app.operator().delete(&restore_uri(id, "aside")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins remove: {v}");
    let (status, v) = app.delete(&restore_uri(id, "aside")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(3), "{v}");
    for t in ["accounts", "audit"] {
        assert!(
            !table_dir("it_full", t).join(".snapkeep-aside").exists(),
            "aside of {t} removed by the admin"
        );
    }
    assert!(!commitlog.join(".snapkeep-aside").exists());
    assert!(
        files_in(&commitlog) > 0,
        "the restarted node writes a new commit log"
    );

    // Again, through `snapkeep serve` processes killed (SIGABRT) right after each step that
    // changes the node, each restarted and the restore resumed: the same rows in the end.
    write_rows_tagged(&cql, "it_full.accounts", 0, 2_000, "worse").await;
    cql.execute("TRUNCATE it_full.audit")
        .await
        .expect("truncate");
    drop(cql);
    let config_file = app.config_file();
    let (status, req) = app
        .operator()
        .post(
            "/api/v1/restores",
            json!({"snapshot": "before", "target": "full_node", "reason": "again, through crashes"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let (status, v) = app
        .approver()
        .post(&restore_uri(&req["id"], "approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let id = req["id"].as_i64().expect("id");
    let path = format!("/api/v1/restores/{id}");
    for (i, step) in [
        "stop",
        "move_aside",
        "clear_commitlog",
        "link",
        "start",
        "verify",
    ]
    .into_iter()
    .enumerate()
    {
        let server = ServerProcess::start(&config_file, Some(step));
        let client = server.client(app.token(OPERATOR));
        let action = if i == 0 {
            "execute"
        } else {
            let v: Value = client.call(Method::GET, &path, None).await.expect("get");
            assert_eq!(v["state"], "interrupted", "before {step}: {v}");
            "resume"
        };
        // A fast step (a few hard links) can abort the process before the accepted response
        // is written: the answer may be lost, the abort below proves the request was taken.
        let answer: Result<Value, _> = client
            .call(Method::POST, &format!("{path}/{action}"), None)
            .await;
        let status = server.ended().await;
        assert!(
            !status.success(),
            "the server crashed after {step} ({action} answered {answer:?})"
        );
    }
    let server = ServerProcess::start(&config_file, None);
    let client = server.client(app.token(OPERATOR));
    let v: Value = client.call(Method::GET, &path, None).await.expect("get");
    assert_eq!(v["state"], "interrupted", "{v}");
    let _: Value = client
        .call(Method::POST, &format!("{path}/resume"), None)
        .await
        .expect("resume");
    let done = wait_restore_via(&client, id, Duration::from_secs(150)).await;
    assert_eq!(done["state"], "done", "{done:#}");
    assert_eq!(done["verification"]["passed"], true, "{done:#}");
    let cql = Cql::connect(&node.cql, Duration::from_secs(30))
        .await
        .expect("CQL after the crashes");
    assert_eq!(
        rows_of(&cql, "it_full.accounts").await,
        accounts,
        "accounts as they were, after six crashes"
    );
    assert_eq!(
        rows_of(&cql, "it_full.audit").await,
        audit,
        "audit as it was, after six crashes"
    );
    for t in ["accounts", "audit"] {
        assert!(
            table_dir("it_full", t).join(".snapkeep-aside").is_dir(),
            "aside of {t} kept after the crashes"
        );
    }
    assert!(commitlog.join(".snapkeep-aside").is_dir());

    // A snapshot of the whole node (system tables included) restored whole: requested with
    // no tables named, approved (the re-plan at approval equals the plan) and executed.
    let approver = server.client(app.token(APPROVER));
    let taken: Value = client
        .call(
            Method::POST,
            "/api/v1/snapshots",
            Some(json!({"tag": "whole"})),
        )
        .await
        .expect("node-wide snapshot");
    let job: app::api::JobDto = serde_json::from_value(taken["job"].clone()).expect("job");
    client.wait(job, true).await.expect("snapshot job");
    write_rows_tagged(&cql, "it_full.accounts", 0, 100, "after-whole").await;
    let req: Value = client
        .call(
            Method::POST,
            "/api/v1/restores",
            Some(json!({"snapshot": "whole", "target": "full_node", "reason": "node-wide"})),
        )
        .await
        .expect("request a node-wide restore");
    assert!(
        req["plan"]["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n
                .as_str()
                .unwrap_or("")
                .contains("system table(s) are not restored"))),
        "{req:#}"
    );
    let id = req["id"].as_i64().expect("id");
    let uri = format!("/api/v1/restores/{id}");
    let v: Value = approver
        .call(Method::POST, &format!("{uri}/approve"), Some(json!({})))
        .await
        .expect("a node-wide full-node restore can be approved");
    assert_eq!(v["state"], "approved", "{v}");
    let _: Value = client
        .call(Method::POST, &format!("{uri}/execute"), None)
        .await
        .expect("execute");
    let done = wait_restore_via(&client, id, Duration::from_secs(150)).await;
    assert_eq!(done["state"], "done", "{done:#}");
    let cql = Cql::connect(&node.cql, Duration::from_secs(30))
        .await
        .expect("CQL after the node-wide restore");
    assert_eq!(
        rows_of(&cql, "it_full.accounts").await,
        accounts,
        "the rows written after the node-wide snapshot are gone"
    );

    // A crashed node: rows of another table only in its commit log (never flushed), then
    // kill -9. The full-node restore of one table starts the node first so the commit log
    // replays and the drain flushes them, before anything is moved aside.
    cql.execute("TRUNCATE it_other.t").await.expect("truncate");
    write_rows_tagged(&cql, "it_other.t", 0, 300, "unflushed").await;
    let other = rows_of(&cql, "it_other.t").await;
    assert_eq!(other.len(), 300);
    write_rows_tagged(&cql, "it_full.accounts", 0, 50, "after-whole-again").await;
    let req: Value = client
        .call(
            Method::POST,
            "/api/v1/restores",
            Some(json!({"snapshot": "whole", "tables": ["it_full.accounts"], "target": "full_node", "reason": "crashed node"})),
        )
        .await
        .expect("request");
    let id = req["id"].as_i64().expect("id");
    let uri = format!("/api/v1/restores/{id}");
    let _: Value = approver
        .call(Method::POST, &format!("{uri}/approve"), Some(json!({})))
        .await
        .expect("approve");
    drop(cql);
    let pid = devnode::load(&dir)
        .expect("dev node")
        .running_pid()
        .expect("the node runs");
    // SAFETY: sends SIGKILL to the dev node's own process.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
    // Dead: the process is gone and its CQL port refuses (a dying JVM's listening socket
    // still completes handshakes until its files are closed).
    let mut dead = false;
    for _ in 0..300 {
        let gone = devnode::load(&dir)
            .ok()
            .and_then(|d| d.running_pid())
            .is_none();
        let refused = tokio::net::TcpStream::connect(&node.cql).await.is_err();
        if gone && refused {
            dead = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dead, "the killed node still answers on {}", node.cql);
    let _: Value = client
        .call(Method::POST, &format!("{uri}/execute"), None)
        .await
        .expect("execute on a crashed node");
    let done = wait_restore_via(&client, id, Duration::from_secs(180)).await;
    if done["state"] != "done" {
        let log = std::fs::read_to_string(dir.join("logs").join("system.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        let console =
            std::fs::read_to_string(dir.join("logs").join("console.log")).unwrap_or_default();
        let ctail: Vec<&str> = console.lines().rev().take(30).collect();
        panic!(
            "crashed-node restore: {done:#}\nsystem.log (newest first):\n{}\nconsole.log (newest first):\n{}",
            tail.join("\n"),
            ctail.join("\n")
        );
    }
    let check = done["steps"][0]["detail"].as_str().unwrap_or("");
    assert!(
        check.contains("was down") && check.contains("replayed"),
        "{check}"
    );
    let cql = Cql::connect(&node.cql, Duration::from_secs(30))
        .await
        .expect("CQL after the crashed-node restore");
    assert_eq!(
        rows_of(&cql, "it_other.t").await,
        other,
        "the unflushed rows of a table not restored survive the crash and the restore"
    );
    assert_eq!(rows_of(&cql, "it_full.accounts").await, accounts);

    // A node that does not start with the snapshot's files: the roll-back puts every file
    // back as it was. Its start command here always fails, so the node stays down until
    // the test starts it; then it holds exactly the rows it had before the restore.
    write_rows_tagged(&cql, "it_full.accounts", 0, 20, "before-roll-back").await;
    let before = rows_of(&cql, "it_full.accounts").await;
    assert_ne!(before, accounts);
    drop(cql);
    let mut broken = node.clone();
    broken.stop_command = Some(vec![
        env!("CARGO_BIN_EXE_snapkeep").to_string(),
        "dev-node".into(),
        "stop".into(),
        "--dir".into(),
        dir.display().to_string(),
    ]);
    broken.start_command = Some(vec!["false".into()]);
    let broken = app.with_nodes(vec![broken]).await;
    let (status, req) = broken
        .operator()
        .post(
            "/api/v1/restores",
            json!({"snapshot": "whole", "tables": ["it_full.accounts"], "target": "full_node", "reason": "a start that fails"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = &req["id"];
    broken.approve(id, "").await;
    broken.execute(id).await;
    let failed = broken
        .wait_restore_within(id, Duration::from_secs(300))
        .await;
    assert_eq!(failed["state"], "failed", "{failed:#}");
    let error = failed["error"].as_str().unwrap_or("");
    assert!(
        error.contains("step `start` failed")
            && error.contains("put every file back as it was before the restore")
            && error.contains("1 segments back"),
        "{error}"
    );
    let steps = failed["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .filter(|s| s["name"] != "check" && s["name"] != "safety_snapshot")
            .all(|s| s["state"] == "pending"),
        "a resume would do the whole swap again: {failed:#}"
    );
    let tag = failed["plan"]["safety_tag"].as_str().expect("safety tag");
    assert!(
        !table_dir("it_full", "accounts")
            .join(".snapkeep-aside")
            .join(tag)
            .exists(),
        "this restore's aside directory is emptied back into the table"
    );
    let saved = devnode::load(&dir).expect("dev node");
    let started = devnode::start(&devnode::StartOptions::restart(&saved))
        .await
        .expect("the node starts with its own files");
    let cql = Cql::connect(&started.node.node_config().cql, Duration::from_secs(30))
        .await
        .expect("CQL after the roll-back");
    assert_eq!(
        rows_of(&cql, "it_full.accounts").await,
        before,
        "after the roll-back the node holds what it held before the restore"
    );
    assert_eq!(rows_of(&cql, "it_other.t").await, other);
}
