//! The full-node restore on a real Apache Cassandra 5.0 node: this binary launches its own dev
//! node (own directory, own free ports) because the restore stops and restarts it; the node
//! other test binaries use is never touched. The node is stopped when the test ends, pass or
//! fail.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use snapkeep::cassandra::Nodetool;
use snapkeep::cassandra::cql::Cql;
use snapkeep::cassandra::devnode::{self, StartOptions};
use snapkeep::catalog::Catalog;
use snapkeep::client::ApiClient;
use snapkeep::node::NodeConfig;

mod support;
use support::{ServerProcess, call_as, rows_of};

/// Stops the dev node in `dir` (whichever process runs there now: the restore restarts it)
/// and removes the directory, also when the test panics.
struct NodeGuard(PathBuf);

impl Drop for NodeGuard {
    fn drop(&mut self) {
        let dir = self.0.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(devnode::stop(&dir, Duration::from_secs(60)));
            }
            let _ = std::fs::remove_dir_all(&dir);
        })
        .join();
    }
}

/// Users `ann` (operator) and `bob` (approver) and their API tokens.
async fn users(catalog: &Catalog) -> (String, String) {
    use snapkeep::auth::{Role, store};
    let mut tokens = Vec::new();
    for (name, role) in [("ann", Role::Operator), ("bob", Role::Approver)] {
        store::add_user(catalog.pool(), name, role, "a long test password")
            .await
            .expect("user");
        tokens.push(
            store::create_token(catalog.pool(), name, "tests", None)
                .await
                .expect("token")
                .0,
        );
    }
    let bob = tokens.pop().expect("bob");
    let ann = tokens.pop().expect("ann");
    (ann, bob)
}

/// Polls `uri` until `done` says so (at most `secs` seconds).
async fn wait_for(
    r: &axum::Router,
    token: &str,
    uri: &str,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..secs * 5 {
        let (_, v) = call_as(r, token, Method::GET, uri, None).await;
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{uri} did not finish within {secs} s");
}

async fn write_rows(cql: &Cql, table: &str, from: i32, to: i32, tag: &str) {
    let prepared = cql
        .session()
        .prepare(format!("INSERT INTO {table} (id, v) VALUES (?, ?)"))
        .await
        .expect("prepare");
    for i in from..to {
        cql.session()
            .execute_unpaged(&prepared, (i, format!("{tag}-{i}-{}", "x".repeat(64))))
            .await
            .expect("insert");
    }
}

fn table_dir(node: &NodeConfig, ks: &str, table: &str) -> PathBuf {
    std::fs::read_dir(node.data_dirs[0].join(ks))
        .expect("keyspace dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{table}-")))
        })
        .expect("table dir")
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| it.filter_map(Result::ok).count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_node_restore_stops_the_node_puts_every_table_back_and_starts_it() {
    let dir = std::env::temp_dir().join(format!("snapkeep-fullnode-{}", std::process::id()));
    let _guard = NodeGuard(dir.clone());
    let mut opts = StartOptions::new(&dir);
    opts.name = "full1".into();
    opts.exit_with_parent = true;
    let started = devnode::start(&opts)
        .await
        .unwrap_or_else(|e| panic!("cannot start the Cassandra dev node: {e}"));
    let node = started.node.node_config();
    let cql = Cql::connect(&node.cql, Duration::from_secs(30))
        .await
        .expect("CQL connect");

    // Two tables with known rows.
    cql.execute("CREATE KEYSPACE it_full WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        .await
        .expect("keyspace");
    for t in ["accounts", "audit"] {
        cql.execute(&format!(
            "CREATE TABLE it_full.{t} (id int PRIMARY KEY, v text)"
        ))
        .await
        .expect("table");
    }
    cql.execute("CREATE KEYSPACE it_other WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        .await
        .expect("keyspace");
    cql.execute("CREATE TABLE it_other.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_full.accounts", 0, 2_000, "good").await;
    write_rows(&cql, "it_full.audit", 0, 500, "good").await;
    let accounts = rows_of(&cql, "it_full.accounts").await;
    let audit = rows_of(&cql, "it_full.audit").await;
    assert_eq!((accounts.len(), audit.len()), (2_000, 500));

    let state = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&state.path().join("catalog.db"))
        .await
        .expect("catalog");
    let (ann, bob) = users(&catalog).await;
    let ada = {
        use snapkeep::auth::{Role, store};
        store::add_user(catalog.pool(), "ada", Role::Admin, "a long test password")
            .await
            .expect("admin");
        store::create_token(catalog.pool(), "ada", "tests", None)
            .await
            .expect("token")
            .0
    };
    let catalog_pool = Catalog::open(&state.path().join("catalog.db"))
        .await
        .expect("catalog");
    let app_state = snapkeep::http::AppState::new(
        catalog,
        vec![node.clone()],
        state.path(),
        "127.0.0.1:0".parse().expect("addr"),
    );
    let r = snapkeep::http::app(app_state, &snapkeep::config::HttpConfig::default());

    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"keyspaces": ["it_full"], "tag": "before"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = wait_for(
        &r,
        &ann,
        &format!("/api/v1/jobs/{}", v["job"]["id"]),
        120,
        |j| matches!(j["state"].as_str(), Some("done" | "failed")),
    )
    .await;
    assert_eq!(job["state"], "done", "{job}");

    // The damage: rows overwritten and added (some flushed to SSTables, some only in the
    // commit log), the other table truncated.
    write_rows(&cql, "it_full.accounts", 0, 1_000, "bad").await;
    Nodetool::for_node(&node)
        .run(&["flush", "it_full"])
        .await
        .expect("flush");
    write_rows(&cql, "it_full.accounts", 1_500, 2_300, "bad").await;
    cql.execute("TRUNCATE it_full.audit")
        .await
        .expect("truncate");
    assert_eq!(rows_of(&cql, "it_full.accounts").await.len(), 2_300);
    assert!(rows_of(&cql, "it_full.audit").await.is_empty());

    let input = json!({"snapshot": "before", "target": "full_node", "reason": "bad deploy overwrote accounts, audit truncated"});
    let (status, plan) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores/plan",
        Some(input.clone()),
    )
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

    let (status, req) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(input.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = req["id"].clone();
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(json!({"snapshot": "before", "tables": ["it_full.audit"], "target": "in_place", "reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").contains("whole node")
            || v.to_string().contains("whole node"),
        "{v}"
    );
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the requester cannot approve: {v}"
    );
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({"comment": "go"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    // Every table of the node is locked while it runs, even one the restore does not touch.
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tables": ["it_other.t"], "tag": "during"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("every table of node full1"), "{v}");

    let done = wait_for(&r, &ann, &format!("/api/v1/restores/{id}"), 150, |v| {
        v["state"] != "running"
    })
    .await;
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
        let dir = table_dir(&node, "it_full", t);
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
    .fetch_all(catalog_pool.pool())
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
    let (status, v) = call_as(
        &r,
        &ann,
        Method::DELETE,
        &format!("/api/v1/restores/{id}/aside"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins remove: {v}");
    let (status, v) = call_as(
        &r,
        &ada,
        Method::DELETE,
        &format!("/api/v1/restores/{id}/aside"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().map(Vec::len), Some(3), "{v}");
    for t in ["accounts", "audit"] {
        assert!(
            !table_dir(&node, "it_full", t)
                .join(".snapkeep-aside")
                .exists(),
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
    write_rows(&cql, "it_full.accounts", 0, 2_000, "worse").await;
    cql.execute("TRUNCATE it_full.audit")
        .await
        .expect("truncate");
    drop(cql);
    #[derive(serde::Serialize)]
    struct ConfigFile {
        listen: String,
        state_dir: PathBuf,
        nodes: Vec<NodeConfig>,
    }
    let config_file = state.path().join("snapkeep.toml");
    let text = toml::to_string(&ConfigFile {
        listen: "127.0.0.1:0".into(),
        state_dir: state.path().to_path_buf(),
        nodes: vec![node.clone()],
    })
    .expect("toml");
    std::fs::write(&config_file, text).expect("write config");
    let (status, req) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(json!({"snapshot": "before", "target": "full_node", "reason": "again, through crashes"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = req["id"].as_i64().expect("id");
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    drop(r);
    let restore_uri = format!("/api/v1/restores/{id}");
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
        let client = ApiClient::new(&server.url, Some(ann.clone())).expect("client");
        let action = if i == 0 {
            "execute"
        } else {
            let v: Value = client
                .call(Method::GET, &restore_uri, None)
                .await
                .expect("get");
            assert_eq!(v["state"], "interrupted", "before {step}: {v}");
            "resume"
        };
        // A fast step (a few hard links) can abort the process before the accepted response
        // is written: the answer may be lost, the abort below proves the request was taken.
        let answer: Result<Value, _> = client
            .call(Method::POST, &format!("{restore_uri}/{action}"), None)
            .await;
        let status = server.ended().await;
        assert!(
            !status.success(),
            "the server crashed after {step} ({action} answered {answer:?})"
        );
    }
    let server = ServerProcess::start(&config_file, None);
    let client = ApiClient::new(&server.url, Some(ann.clone())).expect("client");
    let v: Value = client
        .call(Method::GET, &restore_uri, None)
        .await
        .expect("get");
    assert_eq!(v["state"], "interrupted", "{v}");
    let _: Value = client
        .call(Method::POST, &format!("{restore_uri}/resume"), None)
        .await
        .expect("resume");
    let mut done = Value::Null;
    for _ in 0..750 {
        done = client
            .call(Method::GET, &restore_uri, None)
            .await
            .expect("get");
        if done["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
            table_dir(&node, "it_full", t)
                .join(".snapkeep-aside")
                .is_dir(),
            "aside of {t} kept after the crashes"
        );
    }
    assert!(commitlog.join(".snapkeep-aside").is_dir());

    // A snapshot of the whole node (system tables included) restored whole: requested with
    // no tables named, approved (the re-plan at approval equals the plan) and executed.
    let bob_client = ApiClient::new(&server.url, Some(bob.clone())).expect("client");
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
    write_rows(&cql, "it_full.accounts", 0, 100, "after-whole").await;
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
    let v: Value = bob_client
        .call(Method::POST, &format!("{uri}/approve"), Some(json!({})))
        .await
        .expect("a node-wide full-node restore can be approved");
    assert_eq!(v["state"], "approved", "{v}");
    let _: Value = client
        .call(Method::POST, &format!("{uri}/execute"), None)
        .await
        .expect("execute");
    let mut done = Value::Null;
    for _ in 0..750 {
        done = client.call(Method::GET, &uri, None).await.expect("get");
        if done["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
    write_rows(&cql, "it_other.t", 0, 300, "unflushed").await;
    let other = rows_of(&cql, "it_other.t").await;
    assert_eq!(other.len(), 300);
    write_rows(&cql, "it_full.accounts", 0, 50, "after-whole-again").await;
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
    let _: Value = bob_client
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
    let mut done = Value::Null;
    for _ in 0..900 {
        done = client.call(Method::GET, &uri, None).await.expect("get");
        if done["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
    write_rows(&cql, "it_full.accounts", 0, 20, "before-roll-back").await;
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
    let r = snapkeep::http::app(
        snapkeep::http::AppState::new(
            Catalog::open(&state.path().join("catalog.db"))
                .await
                .expect("catalog"),
            vec![broken],
            state.path(),
            "127.0.0.1:0".parse().expect("addr"),
        ),
        &snapkeep::config::HttpConfig::default(),
    );
    let (status, req) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(json!({"snapshot": "whole", "tables": ["it_full.accounts"], "target": "full_node", "reason": "a start that fails"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = req["id"].clone();
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let failed = wait_for(&r, &ann, &format!("/api/v1/restores/{id}"), 300, |v| {
        v["state"] != "running"
    })
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
    let table = table_dir(&node, "it_full", "accounts");
    let tag = failed["plan"]["safety_tag"].as_str().expect("safety tag");
    assert!(
        !table.join(".snapkeep-aside").join(tag).exists(),
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
