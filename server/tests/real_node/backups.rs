//! Off-node backups on the real node and a real S3 server (versitygw on loopback): incremental
//! backups switched on with nodetool, shipped to an encrypted store and removed locally only
//! once verified; snapshots copied with content dedup (only new content is sent, as counted by
//! hand from the files); nothing lost while the store is down; verification naming a
//! corrupted object; the catalog rebuilt from the store alone.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use snapkeep::node::Nodetool;

use crate::support::node::{
    config, cql, exclusive, keyspace, rows_of, shared, table, table_dir, write_rows_tagged,
};
use crate::support::s3::S3Server;
use crate::support::{TestApp, snapkeep};

/// Files directly in `dir` (none when it does not exist).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn sha(path: &Path) -> [u8; 32] {
    Sha256::digest(std::fs::read(path).expect("read")).into()
}

/// Bytes an encrypted store holds for `size` bytes: 16 per started MiB (one chunk at least).
fn sealed(size: u64) -> u64 {
    size + 16 * size.div_ceil(1 << 20).max(1)
}

/// What uploading `files` should send, given the contents the store already holds (which it
/// extends): sealed sizes of the contents not seen before.
fn expected_sent(files: &[PathBuf], held: &mut HashSet<[u8; 32]>) -> u64 {
    files
        .iter()
        .filter(|f| held.insert(sha(f)))
        .map(|f| sealed(std::fs::metadata(f).expect("stat").len()))
        .sum()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn upload_of(app: &TestApp, kind: &str, name: &str) -> Value {
    let (status, v) = app
        .get(&format!("/api/v1/uploads?kind={kind}&name={name}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn incremental_backups_ship_encrypted_and_snapshots_send_only_new_content() {
    // Incremental backups are node-wide: no other test may flush meanwhile.
    let _node = exclusive().await;
    let mut s3 = S3Server::start();
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("store.key");
    std::fs::write(&key_file, "5a".repeat(32)).expect("key");
    let store = s3.store("offsite", Some(key_file.clone()));
    let mut node = config();
    node.store = Some("offsite".into());
    let app = TestApp::init()
        .with_node(node.clone())
        .with_store(store.clone())
        .build()
        .await;
    let nt = Nodetool::for_node(&node);

    let (status, v) = app
        .admin()
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/nodes/{}/incremental-backups", node.name),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true);

    let cql = cql().await;
    keyspace(&cql, "it_bak").await;
    // Uncompressed, so the rows' text is in Data.db as written: the check that no plaintext
    // reaches the bucket could otherwise pass by compression alone.
    cql.execute(
        "CREATE TABLE IF NOT EXISTS it_bak.t (id int PRIMARY KEY, v text) \
         WITH compression = {'enabled': 'false'}",
    )
    .await
    .expect("create table");
    write_rows_tagged(&cql, "it_bak.t", 0, 300, "plaintext-canary").await;
    nt.run(&["flush", "it_bak", "t"]).await.expect("flush");
    let backups = table_dir("it_bak", "t").join("backups");
    let shipped_files = files_in(&backups);
    assert!(
        shipped_files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("Data.db")),
        "flush with incremental backups on links SSTables into backups/: {shipped_files:?}"
    );
    let data = shipped_files
        .iter()
        .find(|f| f.to_string_lossy().ends_with("Data.db"))
        .expect("Data.db");
    assert!(
        contains(&std::fs::read(data).expect("read"), b"plaintext-canary-17-"),
        "the local SSTable holds the rows as written"
    );

    // What the store will hold once they are shipped (they are gone locally after).
    let canary_sha = sha(data);
    let mut held: HashSet<[u8; 32]> = shipped_files.iter().map(|f| sha(f)).collect();

    // The backlog shows them.
    let (status, b) = app.get("/api/v1/backups").await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let n = &b["nodes"][0];
    assert_eq!(n["incremental_backups"], true, "{n}");
    let t = n["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["keyspace"] == "it_bak"))
        .unwrap_or_else(|| panic!("it_bak.t in the backlog: {b}"));
    assert_eq!(t["files"].as_u64(), Some(shipped_files.len() as u64));
    let bytes: u64 = shipped_files
        .iter()
        .map(|f| std::fs::metadata(f).expect("stat").len())
        .sum();
    assert_eq!(t["bytes"].as_u64(), Some(bytes));
    assert!(t["sstables_complete"].as_u64() >= Some(1), "{t}");
    assert!(
        n["warning"]
            .as_str()
            .unwrap_or("")
            .contains("shipping is off"),
        "ship_backups is off for this node: {n}"
    );

    // The store down: shipping fails in the store's words and removes nothing.
    s3.stop();
    let (status, job) = app
        .post("/api/v1/backups/ship", json!({"node": node.name}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"].as_str().unwrap_or("").contains("offsite"),
        "the error names the store: {job}"
    );
    assert_eq!(files_in(&backups), shipped_files, "nothing local removed");

    // Back up: shipping uploads, verifies, records, and only then removes the links.
    s3.start_again();
    let (_, job) = app
        .post("/api/v1/backups/ship", json!({"node": node.name}))
        .await;
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    assert!(
        files_in(&backups).is_empty(),
        "links removed once verified: {job}"
    );
    let (_, uploads) = app.get("/api/v1/uploads?kind=backup").await;
    let batch = &uploads[0];
    assert_eq!(batch["verified"], true, "{batch}");
    let (_, files) = app.get("/api/v1/uploads?kind=backup&limit=1000").await;
    let shipped_names: usize = files
        .as_array()
        .expect("uploads")
        .iter()
        .map(|u| u["files"].as_u64().unwrap_or(0) as usize)
        .sum();
    assert!(shipped_names >= shipped_files.len(), "{files}");

    // Nothing in the bucket holds the rows, the table name or the content hashes.
    for f in s3.files() {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !contains(&bytes, b"plaintext-canary"),
            "{} holds rows",
            f.display()
        );
        assert!(
            !contains(&bytes, b"it_bak"),
            "{} names the keyspace",
            f.display()
        );
        assert!(
            !contains(&bytes, &canary_sha),
            "{} holds a content hash",
            f.display()
        );
    }

    // Every content shipped so far is in the store: a snapshot of the same SSTables sends only
    // its manifest.json and schema.cql.
    app.take_snapshot(json!({"tables": ["it_bak.t"], "tag": "it-bak-1"}))
        .await;
    let snap1 = table_dir("it_bak", "t").join("snapshots/it-bak-1");
    let want1 = expected_sent(&files_in(&snap1), &mut held);
    let (status, job) = app
        .post(
            "/api/v1/snapshots/it-bak-1/upload",
            json!({"store": "offsite"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let u1 = upload_of(&app, "snapshot", "it-bak-1").await;
    assert_eq!(u1["bytes_sent"].as_u64(), Some(want1), "{u1}");
    assert_eq!(u1["files"].as_u64(), Some(files_in(&snap1).len() as u64));
    assert_eq!(u1["verified"], true);

    // New rows, a new SSTable: the second snapshot sends it and nothing else already held.
    write_rows_tagged(&cql, "it_bak.t", 300, 600, "plaintext-canary").await;
    app.take_snapshot(json!({"tables": ["it_bak.t"], "tag": "it-bak-2"}))
        .await;
    let snap2 = table_dir("it_bak", "t").join("snapshots/it-bak-2");
    let want2 = expected_sent(&files_in(&snap2), &mut held);
    let all2: u64 = files_in(&snap2)
        .iter()
        .map(|f| std::fs::metadata(f).expect("stat").len())
        .sum();
    assert!(
        want2 > 0 && want2 < all2,
        "some content is new, some held: {want2} of {all2}"
    );
    let token = app.token(crate::support::app::OPERATOR);
    let url = app.serve().await;
    let run = snapkeep([
        "snapshot",
        "upload",
        "it-bak-2",
        "--store",
        "offsite",
        "--server",
        url.as_str(),
    ])
    .token(token)
    .run()
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("snapshot it-bak-2 in store offsite"),
        "{run:?}"
    );
    let u2 = upload_of(&app, "snapshot", "it-bak-2").await;
    assert_eq!(u2["bytes_sent"].as_u64(), Some(want2), "{u2}");

    // Verify: all intact; then one object changed on the server's disk is named.
    let run = snapkeep(["store", "verify", "offsite", "--server", url.as_str()])
        .token(token)
        .run()
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("all intact"), "{run:?}");
    let victim = s3
        .files()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/objects/"))
        .expect("an object file");
    let address = victim
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_string();
    let mut bytes = std::fs::read(&victim).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&victim, &bytes).expect("corrupt");
    let run = snapkeep(["store", "verify", "offsite", "--server", url.as_str()])
        .token(token)
        .run()
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&address),
        "the corrupt object is named: {run:?}"
    );
    let (_, stores) = app.get("/api/v1/stores").await;
    assert_eq!(stores[0]["objects_failed"], 1, "{stores}");
    bytes[mid] ^= 0x01;
    std::fs::write(&victim, &bytes).expect("mend");

    // Rows 300..600 reached backups/ when snapshot it-bak-2 flushed them: ship them too.
    let (_, job) = app
        .post("/api/v1/backups/ship", json!({"node": node.name}))
        .await;
    assert_eq!(app.wait_job(&job["id"]).await["state"], "done");
    let every_row = rows_of(&cql, "it_bak.t").await;
    assert_eq!(every_row.len(), 600);
    // The node loses both snapshots and every row of the table.
    for tag in ["it-bak-1", "it-bak-2"] {
        let (status, job) = app.delete(&format!("/api/v1/snapshots/{tag}")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert_eq!(app.wait_job(&job["job"]["id"]).await["state"], "done");
    }
    cql.execute("TRUNCATE it_bak.t").await.expect("truncate");
    assert!(rows_of(&cql, "it_bak.t").await.is_empty());

    // Restored in one request from the store: the snapshot it-bak-1 (rows 0..300) plus the
    // incremental backups shipped after it was taken (rows 300..600).
    let request = json!({"snapshot": "it-bak-1", "tables": ["it_bak.t"], "target": "in_place",
        "source": {"store": "offsite"}, "reason": "table wiped; restore from the store"});
    let (status, plan) = app.post("/api/v1/restores/plan", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["source_store"], "offsite", "{plan}");
    assert_eq!(plan["steps"][1], "download", "{plan}");
    assert_eq!(
        plan["steps"].as_array().and_then(|s| s.last()),
        Some(&json!("drop_download"))
    );
    let t = &plan["tables"][0];
    assert!(
        t["backup_files"].as_u64() > Some(0),
        "backups after the snapshot: {t}"
    );
    let files_bytes: u64 = t["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["size"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(t["download_bytes"].as_u64(), Some(files_bytes), "{t}");
    let (status, v) = app
        .post(
            "/api/v1/restores/plan",
            json!({"snapshot": "it-bak-1", "target": "in_place", "source": {"store": "nowhere"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let done = app.request_approve_execute(request).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    assert!(
        done["steps"][1]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("every hash checked"),
        "{done}"
    );
    assert_eq!(rows_of(&cql, "it_bak.t").await, every_row, "every row back");
    let data_dir = table_dir("it_bak", "t")
        .parent()
        .and_then(Path::parent)
        .expect("data dir")
        .to_path_buf();
    let staging = data_dir.join(".snapkeep-staging");
    let left: Vec<PathBuf> = std::fs::read_dir(&staging)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "downloads removed: {left:?}");

    // The catalog rebuilt from the store alone.
    let fresh = TestApp::init()
        .with_node(node.clone())
        .with_store(store.clone())
        .build()
        .await;
    let (_, none) = fresh.get("/api/v1/uploads").await;
    assert_eq!(none, json!([]));
    let (status, r) = fresh
        .admin()
        .post("/api/v1/stores/offsite/reindex", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, before) = app.get("/api/v1/uploads?limit=1000").await;
    let (_, after) = fresh.get("/api/v1/uploads?limit=1000").await;
    let names = |v: &Value| -> HashSet<(String, String)> {
        v.as_array()
            .expect("uploads")
            .iter()
            .map(|u| (u["kind"].to_string(), u["name"].to_string()))
            .collect()
    };
    assert_eq!(names(&after), names(&before));
    assert_eq!(
        r["manifests"].as_u64(),
        Some(names(&before).len() as u64),
        "{r}"
    );

    // A wrong key is one clear message.
    std::fs::write(&key_file, "6b".repeat(32)).expect("other key");
    let wrong = TestApp::init()
        .with_node(node.clone())
        .with_store(store.clone())
        .build()
        .await;
    let (status, r) = wrong
        .admin()
        .post("/api/v1/stores/offsite/reindex", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{r}");
    assert!(
        r["message"]
            .as_str()
            .unwrap_or("")
            .contains("encrypted with key"),
        "{r}"
    );

    let (status, v) = app
        .admin()
        .call(
            axum::http::Method::PUT,
            &format!("/api/v1/nodes/{}/incremental-backups", node.name),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(
        (status, v["enabled"].clone()),
        (StatusCode::OK, json!(false))
    );
    cql.execute("DROP KEYSPACE it_bak").await.expect("drop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wiped_table_comes_back_whole_from_the_store() {
    let _node = shared().await;
    let s3 = S3Server::start();
    let store = s3.store("plain", None);
    let mut node = config();
    node.store = Some("plain".into());
    let app = TestApp::init()
        .with_node(node.clone())
        .with_store(store)
        .build()
        .await;
    let cql = cql().await;
    keyspace(&cql, "it_bakr").await;
    table(&cql, "it_bakr.t").await;
    write_rows_tagged(&cql, "it_bakr.t", 0, 400, "kept").await;
    let original = rows_of(&cql, "it_bakr.t").await;
    app.take_snapshot(json!({"tables": ["it_bakr.t"], "tag": "it-bakr"}))
        .await;
    let snap = table_dir("it_bakr", "t").join("snapshots/it-bakr");
    let uploaded: Vec<(String, [u8; 32])> = files_in(&snap)
        .iter()
        .map(|f| {
            (
                f.file_name().expect("name").to_string_lossy().into_owned(),
                sha(f),
            )
        })
        .collect();
    let (_, job) = app
        .post("/api/v1/snapshots/it-bakr/upload", json!({}))
        .await;
    assert_eq!(app.wait_job(&job["id"]).await["state"], "done");

    // Fetching a snapshot that is still on the node is refused; clear it, wipe the table.
    let (status, job) = app.post("/api/v1/snapshots/it-bakr/fetch", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or("")
            .contains("on the node already"),
        "{job}"
    );
    let (status, job) = app.delete("/api/v1/snapshots/it-bakr").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(app.wait_job(&job["job"]["id"]).await["state"], "done");
    assert!(!snap.exists());
    cql.execute("TRUNCATE it_bakr.t").await.expect("truncate");
    assert!(rows_of(&cql, "it_bakr.t").await.is_empty());

    // Unknown snapshots and stores are named.
    let (status, v) = app.post("/api/v1/snapshots/nope/fetch", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let (status, v) = app
        .post(
            "/api/v1/snapshots/it-bakr/fetch",
            json!({"store": "elsewhere"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("no store `elsewhere`"),
        "{v}"
    );

    // Fetched back, byte for byte, and restored through the approval flow.
    let (status, job) = app.post("/api/v1/snapshots/it-bakr/fetch", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    let fetched: Vec<(String, [u8; 32])> = files_in(&snap)
        .iter()
        .map(|f| {
            (
                f.file_name().expect("name").to_string_lossy().into_owned(),
                sha(f),
            )
        })
        .collect();
    assert_eq!(fetched, uploaded);
    let done = app
        .request_approve_execute(json!({"snapshot": "it-bakr", "tables": ["it_bakr.t"], "target": "in_place", "reason": "table wiped; copy from the store"}))
        .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    assert_eq!(rows_of(&cql, "it_bakr.t").await, original, "every row back");
    cql.execute("DROP KEYSPACE it_bakr").await.expect("drop");
}

/// Every keyspace the node knows, sorted.
async fn keyspaces(cql: &snapkeep::cassandra::cql::Cql) -> Vec<String> {
    let mut names = cql.schema().await.expect("schema").keyspaces;
    names.sort();
    names
}

/// The node's host id, as `nodetool info` gives it.
async fn host_id(node: &snapkeep::node::NodeConfig) -> String {
    let info = snapkeep::node::Node::local(node)
        .info(std::time::Duration::from_secs(60))
        .await
        .expect("nodetool info");
    info.get("ID").expect("an ID line").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_lost_its_data_and_commit_log_comes_back_whole_from_the_store() {
    // It stops the node and deletes its data: nothing else may use it meanwhile.
    let _node = exclusive().await;
    let s3 = S3Server::start();
    let mut node = config();
    node.store = Some("dr".into());
    let app = TestApp::init()
        .with_node(node.clone())
        .with_store(s3.store("dr", None))
        .build()
        .await;
    let session = cql().await;
    keyspace(&session, "it_dr").await;
    table(&session, "it_dr.a").await;
    table(&session, "it_dr.b").await;
    write_rows_tagged(&session, "it_dr.a", 0, 500, "before the disk died").await;
    write_rows_tagged(&session, "it_dr.b", 0, 200, "before the disk died").await;
    let (a, b) = (
        rows_of(&session, "it_dr.a").await,
        rows_of(&session, "it_dr.b").await,
    );
    let known = keyspaces(&session).await;
    let host = host_id(&node).await;

    // A snapshot of every keyspace (system ones included), copied to the store.
    let (status, v) = app
        .operator()
        .post("/api/v1/snapshots", json!({"tag": "it-dr"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(app.wait_job(&v["job"]["id"]).await["state"], "done");
    let (_, job) = app.post("/api/v1/snapshots/it-dr/upload", json!({})).await;
    let job = app.wait_job(&job["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    drop(session);

    // The disk dies: the node stops, its data and commit log directories are gone.
    snapkeep::node::control::stop(&node).await.expect("stop");
    for d in &node.data_dirs {
        std::fs::remove_dir_all(d).expect("remove the data directory");
    }
    let commitlog = node.commitlog_dir.clone().expect("commit log dir");
    std::fs::remove_dir_all(&commitlog).expect("remove the commit log directory");

    // Without a store there is nothing to restore from, and the refusal says what to do.
    let (status, v) = app
        .operator()
        .post(
            "/api/v1/restores/plan",
            json!({"snapshot": "it-dr", "target": "full_node"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("holds no data"), "{v}");

    let input = json!({"snapshot": "it-dr", "target": "full_node", "source": {"store": "dr"},
        "reason": "the node's disk died"});
    let (status, plan) = app
        .operator()
        .post("/api/v1/restores/plan", input.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["disaster_recovery"], true, "{plan}");
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
    assert_eq!(steps[..3], ["check", "download", "stop"], "{steps:?}");
    assert!(
        steps.contains(&"link system_schema.tables") && steps.contains(&"link it_dr.a"),
        "system and user tables come back: {steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.starts_with("safety_snapshot")
            || s.starts_with("drain")
            || s.starts_with("move_aside")),
        "nothing live to save: {steps:?}"
    );

    let done = app.request_approve_execute(input).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    let cql = cql().await;
    assert_eq!(
        rows_of(&cql, "it_dr.a").await,
        a,
        "every row of it_dr.a back"
    );
    assert_eq!(
        rows_of(&cql, "it_dr.b").await,
        b,
        "every row of it_dr.b back"
    );
    assert_eq!(keyspaces(&cql).await, known, "every keyspace back");
    assert_eq!(
        host_id(&node).await,
        host,
        "the same node: its host id came back"
    );
    cql.execute("DROP KEYSPACE it_dr").await.expect("drop");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_cut_off_by_the_store_going_down_loses_nothing_and_resumes_without_resending() {
    let _node = shared().await;
    let mut s3 = S3Server::start();
    let mut store = s3.store("slow", None);
    // Slow enough that the store can be stopped in the middle of the big file's parts.
    store.max_bytes_per_sec = Some(4 << 20);
    let mut node = config();
    node.store = Some("slow".into());
    let app = TestApp::init()
        .with_node(node.clone())
        .with_store(store)
        .build()
        .await;
    let cql = cql().await;
    keyspace(&cql, "it_bakm").await;
    cql.execute(
        "CREATE TABLE IF NOT EXISTS it_bakm.t (id int PRIMARY KEY, v text) \
         WITH compression = {'enabled': 'false'}",
    )
    .await
    .expect("create table");
    let blob = "x".repeat(64 * 1024);
    for i in 0..200 {
        cql.execute(&format!(
            "INSERT INTO it_bakm.t (id, v) VALUES ({i}, '{blob}')"
        ))
        .await
        .expect("insert");
    }
    app.take_snapshot(json!({"tables": ["it_bakm.t"], "tag": "it-bakm"}))
        .await;
    let snap = table_dir("it_bakm", "t").join("snapshots/it-bakm");
    let before: Vec<(PathBuf, [u8; 32])> = files_in(&snap)
        .into_iter()
        .map(|f| {
            let h = sha(&f);
            (f, h)
        })
        .collect();
    let size = |f: &Path| std::fs::metadata(f).expect("stat").len();
    let total: u64 = before.iter().map(|(f, _)| size(f)).sum();
    let data = before
        .iter()
        .map(|(f, _)| f)
        .find(|f| f.to_string_lossy().ends_with("Data.db"))
        .expect("Data.db");
    let data_size = size(data);
    assert!(data_size > 8 << 20, "a multipart upload: {data_size} bytes");

    // The store goes down in the middle of the upload: the job fails in the store's words,
    // and the snapshot on the node is untouched.
    let (status, job) = app
        .post("/api/v1/snapshots/it-bakm/upload", json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    // Once some files are stored and verified, while the big one is still on its way.
    let started = std::time::Instant::now();
    loop {
        let (_, j) = app.get(&format!("/api/v1/jobs/{}", job["id"])).await;
        assert!(
            j["state"] == "running" || j["state"] == "queued",
            "the upload is still under way: {j}"
        );
        if j["message"]
            .as_str()
            .is_some_and(|m| !m.starts_with("0 of") && m.contains("stored and verified"))
        {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no file stored: {j}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    s3.stop();
    let failed = app.wait_job(&job["id"]).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap_or("").contains("slow"),
        "the error names the store: {failed}"
    );
    let after: Vec<(PathBuf, [u8; 32])> = files_in(&snap)
        .into_iter()
        .map(|f| {
            let h = sha(&f);
            (f, h)
        })
        .collect();
    assert_eq!(after, before, "nothing lost on the node");
    let (_, none) = app.get("/api/v1/uploads?kind=snapshot&name=it-bakm").await;
    assert_eq!(
        none,
        json!([]),
        "no upload is recorded until its manifest is written"
    );

    // Back up: the upload resumes; what was verified before the cut is not sent again, the
    // file that was cut is sent whole.
    s3.start_again();
    let (_, job) = app
        .post("/api/v1/snapshots/it-bakm/upload", json!({}))
        .await;
    let done = app.wait_job(&job["id"]).await;
    assert_eq!(done["state"], "done", "{done}");
    let u = upload_of(&app, "snapshot", "it-bakm").await;
    assert_eq!(u["verified"], true, "{u}");
    assert_eq!(u["files"].as_u64(), Some(before.len() as u64), "{u}");
    let sent = u["bytes_sent"].as_u64().unwrap_or(0);
    assert!(
        sent >= data_size && sent < total,
        "sent {sent} of {total} bytes again ({data_size} in Data.db): {u}"
    );
    cql.execute("DROP KEYSPACE it_bakm").await.expect("drop");
}
