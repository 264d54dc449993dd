//! Integration tests against a real Apache Cassandra 5.0 node (started once for this test
//! binary with `snapkeep dev-node`'s launcher, stopped when the binary exits) driven by the
//! real nodetool. Each test gets its own keyspace.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use snapkeep::cassandra::cql::Cql;
use snapkeep::cassandra::devnode::{self, DevNode, StartOptions};
use snapkeep::cassandra::{Nodetool, NodetoolError};
use snapkeep::catalog::Catalog;
use snapkeep::config::NodeConfig;
use snapkeep::inventory::Inventory;

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
