//! Integration tests against a real Apache Cassandra 5.0 node (started once for this test
//! binary with `snapkeep dev-node`'s launcher, stopped when the binary exits) driven by the
//! real nodetool. Each test gets its own keyspace.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use app::api::JobDto;
use snapkeep::cassandra::cql::Cql;
use snapkeep::cassandra::devnode::{self, DevNode, StartOptions};
use snapkeep::cassandra::{Nodetool, NodetoolError};
use snapkeep::catalog::Catalog;
use snapkeep::inventory::Inventory;
use snapkeep::node::NodeConfig;

mod support;
use support::{ServerProcess, call_as, rows_of};

/// The shared node: started on first use from a thread that lives as long as the test binary,
/// so the node (started with PR_SET_PDEATHSIG) gets SIGTERM when the binary exits, pass or fail.
fn node() -> &'static DevNode {
    static NODE: OnceLock<DevNode> = OnceLock::new();
    NODE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = std::env::temp_dir().join(format!("snapkeep-it-{}", std::process::id()));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut opts = StartOptions::new(&dir);
            opts.exit_with_parent = true;
            let started = rt.block_on(devnode::start(&opts));
            match started {
                Ok(s) => {
                    let _ = tx.send(Ok(s.node));
                    // Keep the starting thread (and the child handle) alive for the whole run.
                    let _child = s.child;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
        match rx.recv() {
            Ok(Ok(node)) => node,
            Ok(Err(e)) => panic!("cannot start the Cassandra dev node: {e}"),
            Err(_) => panic!("the dev-node thread died"),
        }
    })
}

fn config() -> NodeConfig {
    node().node_config()
}

async fn cql() -> Cql {
    Cql::connect(&config().cql, Duration::from_secs(30))
        .await
        .expect("CQL connect")
}

async fn keyspace(cql: &Cql, name: &str) {
    cql.execute(&format!(
        "CREATE KEYSPACE IF NOT EXISTS {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    ))
    .await
    .expect("create keyspace");
}

async fn write_rows(cql: &Cql, table: &str, from: i32, to: i32) {
    let prepared = cql
        .session()
        .prepare(format!("INSERT INTO {table} (id, v) VALUES (?, ?)"))
        .await
        .expect("prepare");
    for i in from..to {
        cql.session()
            .execute_unpaged(&prepared, (i, format!("value-{i}-{}", "x".repeat(64))))
            .await
            .expect("insert");
    }
}

/// An independent `du -b`-style walk: bytes of distinct inodes of regular files directly in
/// `dir` (not in subdirectories).
fn live_bytes_by_hand(dir: &Path) -> (u64, u64) {
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for e in std::fs::read_dir(dir).expect("read table dir") {
        let e = e.expect("entry");
        let m = std::fs::symlink_metadata(e.path()).expect("stat");
        if m.is_file() && seen.insert((m.dev(), m.ino())) {
            bytes += m.len();
        }
    }
    (bytes, seen.len() as u64)
}

fn table_dir(ks: &str, table: &str) -> PathBuf {
    let ks_dir = node().data_dir().join(ks);
    std::fs::read_dir(&ks_dir)
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

async fn inventory() -> (Inventory, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    (Inventory::new(catalog.pool().clone(), vec![config()]), dir)
}

async fn scan(inv: &Inventory) {
    let job = inv.start_scan().await.expect("start scan");
    for _ in 0..600 {
        let j = snapkeep::jobs::get(inv.pool(), job.id)
            .await
            .expect("job")
            .expect("row");
        if j.state == "done" {
            return;
        }
        assert_ne!(j.state, "failed", "scan failed: {:?}", j.error);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scan did not finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn nodetool_answers_and_its_output_parses() {
    let nt = Nodetool::for_node(&config());
    let version = nt.version().await.expect("version");
    assert!(version.starts_with("5.0."), "{version}");
    let info = nt.info().await.expect("info");
    assert_eq!(info.get("Native Transport active"), Some("true"));
    assert!(!nt.statusbackup().await.expect("statusbackup"));

    let cql = cql().await;
    keyspace(&cql, "it_nodetool").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_nodetool.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_nodetool.t", 0, 200).await;
    nt.run(&["snapshot", "-t", "it-snap", "it_nodetool"])
        .await
        .expect("snapshot");
    let rows = nt.listsnapshots().await.expect("listsnapshots");
    let row = rows
        .iter()
        .find(|r| r.tag == "it-snap" && r.keyspace == "it_nodetool" && r.table == "t")
        .unwrap_or_else(|| panic!("snapshot not listed: {rows:?}"));
    // A fresh snapshot's true size is only its own manifest.json and schema.cql.
    let true_size = row.true_size_bytes.expect("true size parsed");
    let on_disk = row.size_on_disk_bytes.expect("size on disk parsed");
    assert!(true_size < on_disk, "true {true_size} < on disk {on_disk}");
    let stats = nt
        .tablestats(&["it_nodetool.t".to_string()])
        .await
        .expect("tablestats");
    let t = stats.iter().find(|t| t.table == "t").expect("table stats");
    assert_eq!(t.keyspace, "it_nodetool");
    assert!(t.sstable_count().unwrap_or(0) >= 1);
    assert!(t.partitions_estimate().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_matches_the_files_on_disk() {
    let cql = cql().await;
    keyspace(&cql, "it_scan").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_scan.events (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_scan.events", 0, 1000).await;
    let nt = Nodetool::for_node(&config());
    nt.run(&["flush", "it_scan"]).await.expect("flush");
    write_rows(&cql, "it_scan.events", 1000, 2000).await;
    nt.run(&["flush", "it_scan"]).await.expect("flush");

    let (inv, _dir) = inventory().await;
    scan(&inv).await;
    let tables = inv.tables_view().await.expect("tables");
    let t = tables
        .iter()
        .find(|t| t.keyspace == "it_scan" && t.table == "events")
        .expect("table in inventory");
    let dir = table_dir("it_scan", "events");
    let (bytes, files) = live_bytes_by_hand(&dir);
    assert_eq!(
        t.live_bytes as u64, bytes,
        "live bytes equal an independent walk"
    );
    assert_eq!(t.live_files as u64, files);
    assert!(t.sstables >= 1);
    assert!(t.in_schema);
    let schema = cql.schema().await.expect("schema");
    let live = schema.table("it_scan", "events").expect("live table");
    assert_eq!(t.id, live.dir_id(), "mapped to the schema by table id");

    let nodes = inv.nodes_view().await.expect("nodes");
    assert!(nodes[0].reachable);
    assert!(
        nodes[0]
            .version
            .as_deref()
            .unwrap_or("")
            .starts_with("5.0.")
    );
    let fs = &nodes[0].filesystems[0];
    assert!(fs.total_bytes.unwrap_or(0) > 0 && fs.total_inodes.unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn hold_after_compaction_equals_the_old_sstables() {
    let cql = cql().await;
    keyspace(&cql, "it_hold").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_hold.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    let nt = Nodetool::for_node(&config());
    write_rows(&cql, "it_hold.t", 0, 500).await;
    nt.run(&["flush", "it_hold"]).await.expect("flush");
    write_rows(&cql, "it_hold.t", 250, 750).await;
    nt.run(&["snapshot", "-t", "nightly", "it_hold"])
        .await
        .expect("snapshot");

    let (inv, _dir) = inventory().await;
    scan(&inv).await;
    let t = inv.tables_view().await.expect("tables");
    let t = t.iter().find(|t| t.keyspace == "it_hold").expect("table");
    // Only manifest.json and schema.cql are not links to live files yet.
    let snap = table_dir("it_hold", "t").join("snapshots").join("nightly");
    let meta: u64 = ["manifest.json", "schema.cql"]
        .iter()
        .map(|f| {
            std::fs::metadata(snap.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        t.hold_bytes as u64, meta,
        "a fresh snapshot holds only its own metadata"
    );

    // Old SSTables the snapshot links, measured by hand before compaction replaces them.
    let old: u64 = std::fs::read_dir(&snap)
        .expect("snapshot dir")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_string_lossy().contains("-big-")
                || e.file_name().to_string_lossy().contains("-bti-")
        })
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    assert!(old > 0);
    nt.clone()
        .with_timeout(Duration::from_secs(300))
        .run(&["compact", "it_hold"])
        .await
        .expect("compact");
    scan(&inv).await;
    let t = inv.tables_view().await.expect("tables");
    let t = t.iter().find(|t| t.keyspace == "it_hold").expect("table");
    assert_eq!(
        t.hold_bytes as u64,
        old + meta,
        "hold = the compacted-away SSTables + metadata"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_node_is_reported_with_the_reason() {
    let mut cfg = config();
    cfg.name = "ghost".into();
    cfg.jmx = "127.0.0.1:1".into();
    cfg.cql = "127.0.0.1:1".into();
    let nt = Nodetool::for_node(&cfg);
    let err = nt.version().await.expect_err("down");
    assert!(matches!(err, NodetoolError::Unreachable { .. }), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    cfg.data_dirs = vec![dir.path().join("missing-data")];
    let inv = Inventory::new(catalog.pool().clone(), vec![cfg]);
    scan(&inv).await;
    let nodes = inv.nodes_view().await.expect("nodes");
    assert!(!nodes[0].reachable);
    let reason = nodes[0].error.clone().unwrap_or_default();
    assert!(reason.contains("127.0.0.1:1"), "{reason}");
    let fs_err = nodes[0].filesystems[0].error.clone().unwrap_or_default();
    assert!(
        fs_err.contains("missing-data") && fs_err.contains("does not exist"),
        "{fs_err}"
    );
}

// ---- Snapshots through the REST API (real node, real nodetool) ----

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// An admin's API token in a fresh catalog.
async fn admin_token(catalog: &Catalog) -> String {
    use snapkeep::auth::{Role, store};
    store::add_user(
        catalog.pool(),
        "it-admin",
        Role::Admin,
        "a long test password",
    )
    .await
    .expect("user");
    store::create_token(catalog.pool(), "it-admin", "tests", None)
        .await
        .expect("token")
        .0
}

/// The router over a fresh catalog watching `cfg`, every request signed by an admin token.
async fn api(cfg: NodeConfig) -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    let token = admin_token(&catalog).await;
    let state = snapkeep::http::AppState::new(
        catalog,
        vec![cfg],
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
    );
    let bearer =
        axum::http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    let sign = move |mut req: Request<Body>| {
        let bearer = bearer.clone();
        async move {
            req.headers_mut()
                .entry(axum::http::header::AUTHORIZATION)
                .or_insert(bearer);
            req
        }
    };
    (
        snapkeep::http::app(state, &snapkeep::config::HttpConfig::default())
            .layer(axum::middleware::map_request(sign)),
        dir,
    )
}

async fn call(
    r: &axum::Router,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = r
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

async fn wait_job(r: &axum::Router, id: &Value) -> Value {
    for _ in 0..1200 {
        let (status, job) = call(r, Method::GET, &format!("/api/v1/jobs/{id}"), None).await;
        assert_eq!(status, StatusCode::OK);
        if matches!(
            job["state"].as_str(),
            Some("done" | "failed" | "interrupted")
        ) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

async fn take(r: &axum::Router, body: Value) -> Value {
    let (status, v) = call(r, Method::POST, "/api/v1/snapshots", Some(body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = wait_job(r, &v["job"]["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
    v
}

async fn rescan(r: &axum::Router) {
    let (status, v) = call(r, Method::POST, "/api/v1/scans", None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = wait_job(r, &v["id"]).await;
    assert_eq!(job["state"], "done", "{job}");
}

/// An independent inode walk of one snapshot directory: (all bytes, bytes of inodes no other
/// path links, files).
fn snapshot_bytes_by_hand(dir: &Path) -> (u64, u64, u64) {
    let (mut all, mut only, mut files) = (0, 0, 0);
    for e in std::fs::read_dir(dir).expect("snapshot dir") {
        let m = std::fs::symlink_metadata(e.expect("entry").path()).expect("stat");
        if m.is_file() {
            files += 1;
            all += m.len();
            if m.nlink() == 1 {
                only += m.len();
            }
        }
    }
    (all, only, files)
}

fn find<'a>(items: &'a Value, tag: &str) -> Option<&'a Value> {
    items["items"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["tag"] == tag))
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_are_taken_measured_by_inode_and_cleared() {
    let cql = cql().await;
    keyspace(&cql, "it_snap").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_snap.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_snap.t", 0, 500).await;
    let nt = Nodetool::for_node(&config());
    nt.run(&["flush", "it_snap"]).await.expect("flush");
    let (r, _dir) = api(config()).await;

    let started = take(&r, json!({"tables": ["it_snap.t"], "tag": "it-take"})).await;
    assert_eq!(started["tables"], json!(["it_snap.t"]));
    let (_, list) = call(&r, Method::GET, "/api/v1/snapshots?keyspace=it_snap", None).await;
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

    let (status, d) = call(&r, Method::GET, "/api/v1/snapshots/it-take", None).await;
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
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tables": ["it_snap.t"], "tag": "it-take"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tag": "bad tag!"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("[A-Za-z0-9_.-]"),
        "{v}"
    );
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tables": ["it_snap.t"], "ttl": "3 weeks"})),
    )
    .await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ttl"))
    );
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tables": ["it_snap.nope"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        v["message"].as_str().unwrap_or("").contains("it_snap.nope"),
        "{v}"
    );
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"keyspaces": ["no_such_ks"]})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        v["message"].as_str().unwrap_or("").contains("no_such_ks"),
        "{v}"
    );

    // Compaction replaces the live SSTables: the snapshot now holds them alone.
    write_rows(&cql, "it_snap.t", 250, 750).await;
    nt.run(&["flush", "it_snap"]).await.expect("flush");
    nt.clone()
        .with_timeout(Duration::from_secs(300))
        .run(&["compact", "it_snap"])
        .await
        .expect("compact");
    rescan(&r).await;
    let (_, list) = call(&r, Method::GET, "/api/v1/snapshots?keyspace=it_snap", None).await;
    let s = find(&list, "it-take").expect("still listed");
    let (all, only, _) = snapshot_bytes_by_hand(&snap);
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
    let (_, tables) = call(&r, Method::GET, "/api/v1/tables", None).await;
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
    let (status, v) = call(&r, Method::DELETE, "/api/v1/snapshots/it-take", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["frees_bytes"].as_u64(), Some(only));
    let job = wait_job(&r, &v["job"]["id"]).await;
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
    let (_, d) = call(&r, Method::GET, "/api/v1/snapshots/it-take", None).await;
    assert_eq!(d["status"], "cleared");
    let (_, list) = call(&r, Method::GET, "/api/v1/snapshots?keyspace=it_snap", None).await;
    assert!(find(&list, "it-take").is_none(), "no longer present");
    let (_, list) = call(
        &r,
        Method::GET,
        "/api/v1/snapshots?keyspace=it_snap&status=cleared",
        None,
    )
    .await;
    assert!(find(&list, "it-take").is_some(), "kept in the history");
    let (status, _) = call(&r, Method::DELETE, "/api/v1/snapshots/it-take", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already cleared");
}

#[tokio::test(flavor = "multi_thread")]
async fn snapshots_taken_outside_snapkeep_are_discovered_and_classified() {
    let cql = cql().await;
    keyspace(&cql, "it_disc").await;
    for t in ["user_profiles", "doomed"] {
        cql.execute(&format!(
            "CREATE TABLE IF NOT EXISTS it_disc.{t} (id int PRIMARY KEY, v text)"
        ))
        .await
        .expect("table");
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

    let (r, _dir) = api(config()).await;
    rescan(&r).await;
    let (_, list) = call(
        &r,
        Method::GET,
        "/api/v1/snapshots?keyspace=it_disc&per_page=100",
        None,
    )
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
    let (_, kinds) = call(
        &r,
        Method::GET,
        "/api/v1/snapshots?keyspace=it_disc&kind=truncated",
        None,
    )
    .await;
    assert_eq!(kinds["total"], 1);

    let (_, d) = call(&r, Method::GET, "/api/v1/snapshots/ext-nightly", None).await;
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
    rescan(&r).await;
    let (_, d) = call(&r, Method::GET, "/api/v1/snapshots/ext-nightly", None).await;
    assert_eq!(d["status"], "gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_snapshots_of_one_table_are_all_answered_and_recorded_once() {
    let cql = cql().await;
    keyspace(&cql, "it_conc").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_conc.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_conc.t", 0, 100).await;
    let (r, _dir) = api(config()).await;
    let calls = (0..50).map(|i| {
        let r = r.clone();
        async move {
            call(
                &r,
                Method::POST,
                "/api/v1/snapshots",
                Some(json!({"tables": ["it_conc.t"], "tag": format!("conc-{i}")})),
            )
            .await
        }
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
        let job = wait_job(&r, &v["job"]["id"]).await;
        assert_eq!(job["state"], "done", "{job}");
    }
    let (_, list) = call(
        &r,
        Method::GET,
        "/api/v1/snapshots?keyspace=it_conc&per_page=100",
        None,
    )
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

/// Runs the `snapkeep` binary (off the async threads) with `SNAPKEEP_TOKEN=token` and
/// returns (exit code, stdout, stderr).
async fn snapkeep_cli(args: Vec<String>, token: &str) -> (i32, String, String) {
    let token = token.to_string();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_snapkeep"))
            .args(&args)
            .env_remove("SNAPKEEP_SERVER")
            .env("SNAPKEEP_TOKEN", token)
            .output()
            .expect("run snapkeep");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_snapshot_cli_creates_lists_shows_and_clears_through_the_server() {
    let cql = cql().await;
    keyspace(&cql, "it_cli").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_cli.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_cli.t", 0, 50).await;
    let state = tempfile::tempdir().expect("tempdir");
    let overrides = snapkeep::config::Overrides {
        listen: Some("127.0.0.1:0".into()),
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    };
    let mut cfg = snapkeep::config::Config::load_from(None, &[], &overrides).expect("config");
    cfg.nodes = vec![config()];
    let token = admin_token(&Catalog::open(&cfg.catalog).await.expect("catalog")).await;
    let server = snapkeep::server::Server::bind(&cfg).await.expect("bind");
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run());
    let args = |a: &[&str]| {
        let mut v: Vec<String> = vec!["snapshot".into(), "--server".into(), url.clone()];
        v.extend(a.iter().map(|s| s.to_string()));
        v
    };

    let (code, out, err) = snapkeep_cli(
        args(&["create", "--table", "it_cli.t", "--tag", "cli-1"]),
        &token,
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("snapshot cli-1 taken"), "{out}");
    let (code, out, err) =
        snapkeep_cli(args(&["list", "--keyspace", "it_cli", "--json"]), &token).await;
    assert_eq!(code, 0, "{err}");
    let page: Value = serde_json::from_str(&out).expect("JSON list");
    assert_eq!(page["items"][0]["tag"], "cli-1");
    let (code, out, _) = snapkeep_cli(args(&["list", "--keyspace", "it_cli"]), &token).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("cli-1") && out.contains("page 1 of 1 (1 snapshot(s))"),
        "{out}"
    );
    let (code, out, _) = snapkeep_cli(args(&["show", "cli-1"]), &token).await;
    assert_eq!(code, 0);
    assert!(out.contains("it_cli.t") && out.contains("50 rows"), "{out}");

    // Refusals carry the server's message and exit non-zero.
    let (code, _, err) = snapkeep_cli(
        args(&["create", "--table", "it_cli.t", "--tag", "cli-1"]),
        &token,
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists") && err.contains("409"),
        "{err}"
    );
    let (code, _, err) = snapkeep_cli(args(&["create", "--tag", "bad tag!"]), &token).await;
    assert_eq!(code, 1);
    assert!(err.contains("[A-Za-z0-9_.-]"), "{err}");

    let (code, out, err) = snapkeep_cli(args(&["clear", "cli-1", "--json"]), &token).await;
    assert_eq!(code, 0, "{err}");
    let cleared: Value = serde_json::from_str(&out).expect("JSON clear");
    assert_eq!(cleared["job"]["state"], "done");
    let (code, _, err) = snapkeep_cli(args(&["clear", "cli-1"]), &token).await;
    assert_eq!(code, 1);
    assert!(err.contains("no snapshot `cli-1`"), "{err}");

    let (code, _, err) = snapkeep_cli(
        vec![
            "snapshot".into(),
            "list".into(),
            "--server".into(),
            "http://127.0.0.1:1".into(),
        ],
        &token,
    )
    .await;
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot reach the Snapkeep server at http://127.0.0.1:1"),
        "{err}"
    );
    let (code, _, err) = snapkeep_cli(args(&["list"]), "").await;
    assert_eq!(code, 1, "no token");
    assert!(
        err.contains("401") && err.contains("snapkeep token create"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_nodetool_fails_the_job_and_records_nothing() {
    let cql = cql().await;
    keyspace(&cql, "it_fail").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_fail.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    let mut cfg = config();
    cfg.jmx = "127.0.0.1:1".into();
    let (r, _dir) = api(cfg).await;
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"tables": ["it_fail.t"], "tag": "never"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let job = wait_job(&r, &v["job"]["id"]).await;
    assert_eq!(job["state"], "failed");
    assert!(
        job["error"].as_str().unwrap_or("").contains("127.0.0.1:1"),
        "nodetool's reason: {job}"
    );
    let (_, list) = call(&r, Method::GET, "/api/v1/snapshots?status=all", None).await;
    assert_eq!(list["total"], 0, "nothing recorded");
}

// ---- Restores (real node): the war story, schema drift, crash and resume ----

/// Tokens of an operator (`ann`, requests) and an approver (`bob`) in the router's catalog.
async fn restore_api(cfg: NodeConfig) -> (axum::Router, tempfile::TempDir, String, String) {
    use snapkeep::auth::{Role, store};
    let (router, dir) = api(cfg).await;
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
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
    (router, dir, ann, bob)
}

async fn wait_restore(r: &axum::Router, id: &Value) -> Value {
    for _ in 0..1800 {
        let (_, v) = call(r, Method::GET, &format!("/api/v1/restores/{id}"), None).await;
        if !matches!(v["state"].as_str(), Some("running")) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("restore {id} did not finish");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_war_story_truncate_at_3am_restored_in_place_with_approval() {
    let cql = cql().await;
    keyspace(&cql, "it_war").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_war.user_profiles (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_war.user_profiles", 0, 10_000).await;
    let original = rows_of(&cql, "it_war.user_profiles").await;
    assert_eq!(original.len(), 10_000);
    let (r, _dir, ann, bob) = restore_api(config()).await;
    take(
        &r,
        json!({"tables": ["it_war.user_profiles"], "tag": "nightly"}),
    )
    .await;

    // 3 AM: someone truncates production.
    cql.execute("TRUNCATE it_war.user_profiles")
        .await
        .expect("truncate");
    assert!(rows_of(&cql, "it_war.user_profiles").await.is_empty());

    let request = json!({"snapshot": "nightly", "tables": ["it_war.user_profiles"], "target": "in_place", "reason": "TRUNCATE at 3 AM"});
    let (status, plan) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores/plan",
        Some(request.clone()),
    )
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

    let (status, req) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(request.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["state"], "awaiting_approval");
    let id = req["id"].clone();
    let (status, _) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "not approved yet");
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({"comment": "me"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "operators may not approve: {v}"
    );
    let (status, v) = call(
        &r,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "an admin who did not request it may: {v}"
    );
    assert_eq!(v["state"], "approved");
    assert_eq!(v["decided_by"], "it-admin");
    let (status, _) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "decided already");
    let (status, v) = call(&r, Method::DELETE, "/api/v1/snapshots/nightly", None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a snapshot an open restore uses stays: {v}"
    );
    let (status, _) = call_as(&r, &ann, Method::POST, "/api/v1/restores", Some(request)).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open restore per table");

    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let done = wait_restore(&r, &id).await;
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
    assert!(
        !node()
            .data_dir()
            .join(".snapkeep-staging")
            .join(safety)
            .exists(),
        "staging cleaned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_drift_warns_blocks_and_a_side_restore_works() {
    let cql = cql().await;
    keyspace(&cql, "it_drift").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_drift.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_drift.t", 0, 300).await;
    let (r, _dir, ann, bob) = restore_api(config()).await;
    take(&r, json!({"tables": ["it_drift.t"], "tag": "before-drift"})).await;
    let in_place = json!({"snapshot": "before-drift", "tables": ["it_drift.t"], "target": "in_place", "reason": "drift"});

    cql.execute("ALTER TABLE it_drift.t ADD coupon text")
        .await
        .expect("alter");
    let (_, plan) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores/plan",
        Some(in_place.clone()),
    )
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
    let (_, plan) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores/plan",
        Some(in_place.clone()),
    )
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
    let (status, v) = call_as(&r, &ann, Method::POST, "/api/v1/restores", Some(in_place)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let side = json!({"snapshot": "before-drift", "tables": ["it_drift.t"], "target": "side", "reason": "inspect the old rows"});
    let (status, req) = call_as(&r, &ann, Method::POST, "/api/v1/restores", Some(side)).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = req["id"].clone();
    let side_table = req["plan"]["tables"][0]["target_table"]
        .as_str()
        .expect("side name")
        .to_string();
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({"comment": "ok"})),
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
    let done = wait_restore(&r, &id).await;
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
    use snapkeep::auth::{Role, store};
    use snapkeep::client::ApiClient;
    let cql = cql().await;
    keyspace(&cql, "it_crash").await;
    let state = tempfile::tempdir().expect("tempdir");
    let config_file = state.path().join("snapkeep.toml");
    #[derive(serde::Serialize)]
    struct File {
        listen: String,
        state_dir: PathBuf,
        nodes: Vec<NodeConfig>,
    }
    let text = toml::to_string(&File {
        listen: "127.0.0.1:0".into(),
        state_dir: state.path().to_path_buf(),
        nodes: vec![config()],
    })
    .expect("toml");
    std::fs::write(&config_file, text).expect("write config");
    let catalog = Catalog::open(&state.path().join("catalog.db"))
        .await
        .expect("catalog");
    let mut tokens = Vec::new();
    for (name, role) in [("ann", Role::Operator), ("bob", Role::Approver)] {
        store::add_user(catalog.pool(), name, role, "a long test password")
            .await
            .expect("user");
        tokens.push(
            store::create_token(catalog.pool(), name, "t", None)
                .await
                .expect("token")
                .0,
        );
    }
    drop(catalog);
    let wait = |client: ApiClient, id: i64| async move {
        for _ in 0..1800 {
            if let Ok(v) = client
                .call::<Value>(Method::GET, &format!("/api/v1/restores/{id}"), None)
                .await
                && v["state"] != "running"
            {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("restore {id} did not end");
    };
    for step in [
        "check",
        "safety_snapshot",
        "truncate",
        "stage",
        "import",
        "cleanup",
        "verify",
    ] {
        let table = format!("it_crash.t_{step}");
        cql.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY, v text)"
        ))
        .await
        .expect("table");
        write_rows(&cql, &table, 0, 200).await;
        let original = rows_of(&cql, &table).await;
        let server = ServerProcess::start(&config_file, Some(step));
        let ann = ApiClient::new(&server.url, Some(tokens[0].clone())).expect("client");
        let bob = ApiClient::new(&server.url, Some(tokens[1].clone())).expect("client");
        let tag = format!("crash-{}", step.replace('_', "-"));
        let taken: Value = ann
            .call(
                Method::POST,
                "/api/v1/snapshots",
                Some(json!({"tables": [table], "tag": tag})),
            )
            .await
            .expect("snapshot");
        let job: JobDto = serde_json::from_value(taken["job"].clone()).expect("job");
        ann.wait(job, true).await.expect("snapshot job");
        cql.execute(&format!("TRUNCATE {table}"))
            .await
            .expect("truncate");
        let req: Value = ann
            .call(
                Method::POST,
                "/api/v1/restores",
                Some(json!({"snapshot": tag, "tables": [table], "target": "in_place", "truncate": true, "reason": format!("crash after {step}")})),
            )
            .await
            .expect("request");
        let id = req["id"].as_i64().expect("id");
        let _: Value = bob
            .call(
                Method::POST,
                &format!("/api/v1/restores/{id}/approve"),
                Some(json!({})),
            )
            .await
            .expect("approve");
        let _: Value = ann
            .call(
                Method::POST,
                &format!("/api/v1/restores/{id}/execute"),
                None,
            )
            .await
            .expect("execute");
        // The server dies in the middle (SIGABRT right after the step's side effect).
        let mut server = server;
        let status = tokio::task::spawn_blocking(move || {
            let s = server.child.wait().expect("wait");
            (s, server)
        })
        .await
        .expect("join");
        assert!(!status.0.success(), "the server crashed after {step}");
        drop(status.1);

        let server = ServerProcess::start(&config_file, None);
        let ann = ApiClient::new(&server.url, Some(tokens[0].clone())).expect("client");
        let v: Value = ann
            .call(Method::GET, &format!("/api/v1/restores/{id}"), None)
            .await
            .expect("get");
        assert_eq!(v["state"], "interrupted", "after {step}: {v}");
        let _: Value = ann
            .call(Method::POST, &format!("/api/v1/restores/{id}/resume"), None)
            .await
            .expect("resume");
        let done = wait(ann, id).await;
        assert_eq!(done["state"], "done", "resumed after {step}: {done}");
        assert_eq!(done["verification"]["passed"], true, "after {step}: {done}");
        assert_eq!(
            rows_of(&cql, &table).await,
            original,
            "same rows after a crash in {step}"
        );
        let safety = done["plan"]["safety_tag"].as_str().expect("safety");
        assert!(
            !node()
                .data_dir()
                .join(".snapkeep-staging")
                .join(safety)
                .exists(),
            "staging cleaned after {step}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_restore_cli_plans_requests_approves_and_executes() {
    use snapkeep::auth::{Role, store};
    let cql = cql().await;
    keyspace(&cql, "it_rcli").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_rcli.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_rcli.t", 0, 120).await;
    let state = tempfile::tempdir().expect("tempdir");
    let overrides = snapkeep::config::Overrides {
        listen: Some("127.0.0.1:0".into()),
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    };
    let mut cfg = snapkeep::config::Config::load_from(None, &[], &overrides).expect("config");
    cfg.nodes = vec![config()];
    let catalog = Catalog::open(&cfg.catalog).await.expect("catalog");
    let mut tokens = Vec::new();
    for (name, role) in [
        ("ann", Role::Operator),
        ("bob", Role::Approver),
        ("cat", Role::Approver),
    ] {
        store::add_user(catalog.pool(), name, role, "a long test password")
            .await
            .expect("user");
        tokens.push(
            store::create_token(catalog.pool(), name, "t", None)
                .await
                .expect("token")
                .0,
        );
    }
    let server = snapkeep::server::Server::bind(&cfg).await.expect("bind");
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run());
    let cli = |cmd: &str, a: &[&str]| {
        let mut v: Vec<String> = vec![cmd.into(), "--server".into(), url.clone()];
        v.extend(a.iter().map(|s| s.to_string()));
        v
    };
    let (ann, bob, cat) = (&tokens[0], &tokens[1], &tokens[2]);
    let (code, _, err) = snapkeep_cli(
        cli(
            "snapshot",
            &["create", "--table", "it_rcli.t", "--tag", "rcli"],
        ),
        ann,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = snapkeep_cli(
        cli(
            "restore",
            &[
                "plan",
                "--snapshot",
                "rcli",
                "--table",
                "it_rcli.t",
                "--side",
            ],
        ),
        ann,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("hard links, 0 bytes copied") && out.contains("120 rows expected"),
        "{out}"
    );
    let (code, out, err) = snapkeep_cli(
        cli(
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
        ),
        bob,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<Value>(&out).expect("json")["id"].to_string();
    let (code, _, err) = snapkeep_cli(cli("restore", &["approve", &id]), ann).await;
    assert_eq!(code, 1, "an operator cannot approve");
    assert!(err.contains("403") && err.contains("approver"), "{err}");
    let (code, _, err) = snapkeep_cli(cli("restore", &["approve", &id]), bob).await;
    assert_eq!(code, 1, "the requester cannot approve");
    assert!(
        err.contains("403") && err.contains("another approver"),
        "{err}"
    );
    let (code, out, err) =
        snapkeep_cli(cli("restore", &["approve", &id, "--comment", "go"]), cat).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved"), "{out}");
    let (code, out, err) = snapkeep_cli(cli("restore", &["execute", &id]), ann).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("[done]") && out.contains("passed"), "{out}");
    let (code, out, _) = snapkeep_cli(cli("restore", &["list"]), bob).await;
    assert_eq!(code, 0);
    assert!(out.contains("done") && out.contains("rcli"), "{out}");
}

// ==== Storage growth (issue #8): samples, measured churn and hold, reports (real node) ====

/// SSTable component files directly in a table directory: (name, inode) → bytes.
fn sstable_files_by_hand(dir: &Path) -> std::collections::BTreeMap<(String, u64), u64> {
    std::fs::read_dir(dir)
        .expect("table dir")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(e.path()).ok()?;
            (m.is_file() && (name.contains("-big-") || name.contains("-bti-")))
                .then(|| ((name, m.ino()), m.len()))
        })
        .collect()
}

async fn get_text(r: &axum::Router, uri: &str) -> (StatusCode, String) {
    let resp = r
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_samples_measure_churn_and_hold_as_the_files_show() {
    let cql = cql().await;
    keyspace(&cql, "it_growth").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_growth.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    let nt = Nodetool::for_node(&config());
    write_rows(&cql, "it_growth.t", 0, 400).await;
    nt.run(&["flush", "it_growth"]).await.expect("flush");
    write_rows(&cql, "it_growth.t", 400, 800).await;
    nt.run(&["flush", "it_growth"]).await.expect("flush");
    let dir = table_dir("it_growth", "t");
    let node = config().name;

    // Sample 1: two SSTables. The files by hand, before and after, to be sure nothing moved.
    let (r, state) = api(config()).await;
    let before = sstable_files_by_hand(&dir);
    let (live_before, _) = live_bytes_by_hand(&dir);
    rescan(&r).await;
    assert_eq!(
        sstable_files_by_hand(&dir),
        before,
        "no change while sampling"
    );
    assert!(before.len() >= 2 * 4, "two SSTables of several components");

    // A snapshot links them; overwriting and a major compaction replace them.
    nt.run(&["snapshot", "-t", "growth", "it_growth"])
        .await
        .expect("snapshot");
    write_rows(&cql, "it_growth.t", 0, 800).await;
    nt.run(&["flush", "it_growth"]).await.expect("flush");
    nt.clone()
        .with_timeout(Duration::from_secs(300))
        .run(&["compact", "it_growth"])
        .await
        .expect("compact");
    // Sample 2.
    rescan(&r).await;
    let after = sstable_files_by_hand(&dir);
    let gone: u64 = before
        .iter()
        .filter(|(k, _)| !after.contains_key(*k))
        .map(|(_, size)| size)
        .sum();
    assert!(gone > 0, "compaction removed the first SSTables");
    let snap = dir.join("snapshots").join("growth");
    let (_, held_by_hand, _) = snapshot_bytes_by_hand(&snap);

    let (status, m) = call(
        &r,
        Method::GET,
        &format!("/api/v1/reports/measured?node={node}&keyspace=it_growth&table=t&days=1"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["samples"], 2, "{m}");
    assert_eq!(
        m["compacted_bytes"], gone,
        "compacted = the SSTables gone since sample 1"
    );
    assert_eq!(
        m["hold_bytes"], held_by_hand,
        "hold = the snapshot's files no live file links"
    );
    let meta: u64 = ["manifest.json", "schema.cql"]
        .iter()
        .map(|f| {
            std::fs::metadata(snap.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        held_by_hand,
        gone + meta,
        "the snapshot holds exactly what compaction removed"
    );
    let span_days = (m["last_at"].as_i64().expect("last") - m["first_at"].as_i64().expect("first"))
        as f64
        / 86_400_000.0;
    let churn = gone as f64 / (live_before as f64 * span_days) * 100.0;
    let measured = m["churn_pct_per_day"].as_f64().expect("churn");
    assert!(
        (measured - churn).abs() <= churn * 1e-9,
        "churn {measured} % per day, by hand {churn}"
    );

    // The CSV per table sums to what the scans recorded in the catalog, sample by sample.
    let first_day = app::api::format_day(m["first_at"].as_i64().expect("first"));
    let today = app::api::format_day(snapkeep::jobs::now_ms());
    let range = format!("from={first_day}&to={today}&keyspace=it_growth");
    let (status, csv) = get_text(
        &r,
        &format!("/api/v1/reports/storage.csv?{range}&group=table"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (at, live, hold) = (col("at_ms"), col("live_bytes"), col("hold_bytes"));
    let mut sums: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let e = sums.entry(cells[at].parse().expect("at")).or_default();
        e.0 += cells[live].parse::<i64>().expect("live");
        e.1 += cells[hold].parse::<i64>().expect("hold");
    }
    let catalog = Catalog::open(&state.path().join("catalog.db"))
        .await
        .expect("catalog");
    let recorded: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT j.started_at, sum(t.live_bytes), sum(t.hold_bytes) FROM scan_tables t \
         JOIN scans s ON s.id = t.scan_id JOIN jobs j ON j.id = s.job_id \
         WHERE t.keyspace_name = 'it_growth' GROUP BY j.started_at ORDER BY j.started_at",
    )
    .fetch_all(catalog.pool())
    .await
    .expect("scans");
    assert_eq!(recorded.len(), 2);
    let from_csv: Vec<(i64, i64, i64)> = sums.into_iter().map(|(t, (l, h))| (t, l, h)).collect();
    assert_eq!(from_csv, recorded, "CSV sums = the scans' figures");
    assert_eq!(recorded[0].1 as u64, live_before);

    // The chart of the same selection: axes with units, legend, title.
    let (status, svg) = get_text(&r, &format!("/api/v1/reports/storage.svg?{range}")).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "Bytes (",
        "Live data",
        "Snapshot hold",
        "it_growth on every node",
    ] {
        assert!(svg.contains(text), "{text} missing from the chart");
    }
    nt.run(&["clearsnapshot", "-t", "growth", "--", "it_growth"])
        .await
        .expect("clear");
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
    let cql = cql().await;
    keyspace(&cql, "it_full").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_full.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_full.t", 0, 2_000).await;
    let (r, _dir, ann, bob) = restore_api(config()).await;
    take(&r, json!({"tables": ["it_full.t"], "tag": "before-full"})).await;
    // Rows written after the snapshot: a restore that fails must leave them where they are.
    write_rows(&cql, "it_full.t", 2_000, 2_500).await;
    let live_before = rows_of(&cql, "it_full.t").await;
    assert_eq!(live_before.len(), 2_500);

    let request = json!({"snapshot": "before-full", "tables": ["it_full.t"], "target": "in_place", "reason": "disk-full test"});
    let (status, req) = call_as(&r, &ann, Method::POST, "/api/v1/restores", Some(request)).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["plan"]["tables"][0]["hard_link"], true, "{req}");
    let id = req["id"].clone();
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({"comment": "ok"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");

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
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    let outcome = if status == StatusCode::ACCEPTED {
        wait_restore(&r, &id).await
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
        .find(|s| s["name"] == "stage it_full.t")
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
        rows_of(&cql, "it_full.t").await,
        live_before,
        "the live table is untouched"
    );
    assert!(
        table_dir("it_full", "t")
            .join("snapshots")
            .join("before-full")
            .is_dir(),
        "the snapshot is still there"
    );
}

/// Request (ann), approve (bob), execute (ann) and wait: the finished request.
async fn request_approve_execute(r: &axum::Router, ann: &str, bob: &str, body: Value) -> Value {
    let (status, req) = call_as(r, ann, Method::POST, "/api/v1/restores", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let id = req["id"].clone();
    let (status, v) = call_as(
        r,
        bob,
        Method::POST,
        &format!("/api/v1/restores/{id}/approve"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = call_as(
        r,
        ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    wait_restore(r, &id).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_war_story_without_a_nightly_cron_restores_from_truncates_own_snapshot() {
    let cql = cql().await;
    keyspace(&cql, "it_auto").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_auto.user_profiles (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_auto.user_profiles", 0, 3_000).await;
    let original = rows_of(&cql, "it_auto.user_profiles").await;
    assert_eq!(original.len(), 3_000);
    // Nobody took a snapshot: only Cassandra's auto_snapshot of the TRUNCATE exists.
    cql.execute("TRUNCATE it_auto.user_profiles")
        .await
        .expect("truncate");
    assert!(rows_of(&cql, "it_auto.user_profiles").await.is_empty());

    let (r, _dir, ann, bob) = restore_api(config()).await;
    rescan(&r).await;
    let (_, list) = call(
        &r,
        Method::GET,
        "/api/v1/snapshots?keyspace=it_auto&kind=truncated",
        None,
    )
    .await;
    assert_eq!(list["total"], 1, "{list}");
    let tag = list["items"][0]["tag"].as_str().expect("tag").to_string();
    assert!(tag.starts_with("truncated-"), "{tag}");

    let done = request_approve_execute(
        &r,
        &ann,
        &bob,
        json!({"snapshot": tag, "tables": ["it_auto.user_profiles"], "target": "in_place", "reason": "TRUNCATE without a nightly snapshot"}),
    )
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["verification"]["passed"], true, "{done}");
    assert_eq!(done["verification"]["tables"][0]["rows_found"], 3_000);
    assert_eq!(
        rows_of(&cql, "it_auto.user_profiles").await,
        original,
        "every row back from TRUNCATE's own snapshot"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_place_restore_stages_and_checks_everything_before_truncate_and_keeps_its_safety_snapshot()
 {
    let cql = cql().await;
    keyspace(&cql, "it_order").await;
    for t in ["a", "b"] {
        cql.execute(&format!(
            "CREATE TABLE IF NOT EXISTS it_order.{t} (id int PRIMARY KEY, v text)"
        ))
        .await
        .expect("table");
        write_rows(&cql, &format!("it_order.{t}"), 0, 300).await;
    }
    let (a, b) = (
        rows_of(&cql, "it_order.a").await,
        rows_of(&cql, "it_order.b").await,
    );
    let (r, dir, ann, bob) = restore_api(config()).await;
    take(&r, json!({"keyspaces": ["it_order"], "tag": "before"})).await;
    // After the snapshot: rows added and rows deleted; TRUNCATE + import gives exactly the
    // snapshot's rows back.
    write_rows(&cql, "it_order.a", 300, 400).await;
    cql.execute("DELETE FROM it_order.b WHERE id = 7")
        .await
        .expect("delete");

    let done = request_approve_execute(
        &r,
        &ann,
        &bob,
        json!({"snapshot": "before", "target": "in_place", "truncate": true, "reason": "roll back"}),
    )
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
    rescan(&r).await;
    let (status, v) = call(
        &r,
        Method::DELETE,
        &format!("/api/v1/snapshots/{safety}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let msg = v["error"].as_str().or(v["message"].as_str()).unwrap_or("");
    assert!(
        v.to_string().contains("safety snapshot of restore request")
            && v.to_string().contains("kept until"),
        "{msg} {v}"
    );
    let (_, d) = call(
        &r,
        Method::GET,
        &format!("/api/v1/snapshots/{safety}"),
        None,
    )
    .await;
    assert_eq!(d["kind"], "pre-restore", "{d}");
    assert!(
        d["pins"][0]["reason"]
            .as_str()
            .is_some_and(|p| p.contains("safety snapshot of restore request"))
            && d["pins"][0]["until_ms"].as_i64() > Some(snapkeep::jobs::now_ms()),
        "shown as kept: {d}"
    );
    // The source is free again once the request is done.
    let (status, v) = call(&r, Method::DELETE, "/api/v1/snapshots/before", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    wait_job(&r, &v["job"]["id"]).await;

    // Job outcomes are in the audit log.
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT action, target FROM audit_log WHERE actor = 'system' ORDER BY id")
            .fetch_all(catalog.pool())
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
    let (status, v) = call(
        &r,
        Method::POST,
        "/api/v1/snapshots",
        Some(json!({"keyspaces": ["it_order"], "tag": "snapkeep-pre-restore-mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("reserved"), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_approval_frees_the_table_and_a_cancelled_request_its_snapshot() {
    let cql = cql().await;
    keyspace(&cql, "it_expire").await;
    cql.execute("CREATE TABLE IF NOT EXISTS it_expire.t (id int PRIMARY KEY, v text)")
        .await
        .expect("table");
    write_rows(&cql, "it_expire.t", 0, 50).await;
    let (r, dir, ann, bob) = restore_api(config()).await;
    take(&r, json!({"tables": ["it_expire.t"], "tag": "exp"})).await;
    let body = json!({"snapshot": "exp", "tables": ["it_expire.t"], "target": "side", "reason": "look at old rows"});
    let (status, req) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(body.clone()),
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
    let (status, _) = call_as(
        &r,
        &ann,
        Method::POST,
        "/api/v1/restores",
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "the approved request holds the table"
    );

    // The approval's time passes.
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    sqlx::query("UPDATE restore_requests SET approval_expires_at = 1 WHERE id = ?")
        .bind(id.as_i64())
        .execute(catalog.pool())
        .await
        .expect("expire");
    let (_, v) = call(&r, Method::GET, &format!("/api/v1/restores/{id}"), None).await;
    assert_eq!(v["state"], "expired", "{v}");
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{id}/execute"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE target = ? ORDER BY id")
            .bind(format!("restore/{id}"))
            .fetch_all(catalog.pool())
            .await
            .expect("audit");
    assert!(
        outcomes.iter().any(|a| a == "restore.expired"),
        "{outcomes:?}"
    );

    // The table and the snapshot are free: a new request is taken, and holds the snapshot.
    let (status, again) = call_as(&r, &ann, Method::POST, "/api/v1/restores", Some(body)).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "expiry freed the table: {again}"
    );
    let again_id = again["id"].clone();
    let (status, v) = call(&r, Method::DELETE, "/api/v1/snapshots/exp", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v.to_string()
            .contains(&format!("restore request {again_id} uses it")),
        "{v}"
    );

    // Only the requester or an admin cancels; cancelling frees the snapshot.
    let (status, v) = call_as(
        &r,
        &bob,
        Method::POST,
        &format!("/api/v1/restores/{again_id}/cancel"),
        Some(json!({"comment": "not mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{again_id}/cancel"),
        Some(json!({"comment": "found the rows elsewhere"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "cancelled");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("cancelled by ann: found the rows elsewhere")),
        "{v}"
    );
    let (status, v) = call_as(
        &r,
        &ann,
        Method::POST,
        &format!("/api/v1/restores/{again_id}/cancel"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "cancelled already: {v}");
    let (status, v) = call(&r, Method::DELETE, "/api/v1/snapshots/exp", None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    wait_job(&r, &v["job"]["id"]).await;
}
