//! Inventory on the real node: nodetool's answers and their parsing, scans measured against
//! the files on disk, the hold that compaction leaves to a snapshot, an unreachable node.

use std::time::Duration;

use snapkeep::inventory::Inventory;
use snapkeep::node::{Nodetool, NodetoolError};

use crate::support::TestApp;
use crate::support::node::{config, cql, keyspace, shared, table, table_dir, write_rows};
use crate::{live_bytes_by_hand, snapshot_metadata_bytes, sstable_files_by_hand};

/// Scans every node of `inv` and waits until the scan is done.
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

/// The inventory of a fresh catalog watching `node`.
async fn inventory(node: snapkeep::node::NodeConfig) -> (Inventory, TestApp) {
    let app = TestApp::empty().await;
    (Inventory::new(app.pool().clone(), vec![node]), app)
}

#[tokio::test(flavor = "multi_thread")]
async fn nodetool_answers_and_its_output_parses() {
    let _node = shared().await;
    let nt = Nodetool::for_node(&config());
    let version = nt.version().await.expect("version");
    assert!(version.starts_with("5.0."), "{version}");
    let info = nt.info().await.expect("info");
    assert_eq!(info.get("Native Transport active"), Some("true"));
    assert!(!nt.statusbackup().await.expect("statusbackup"));

    let cql = cql().await;
    keyspace(&cql, "it_nodetool").await;
    table(&cql, "it_nodetool.t").await;
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
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_scan").await;
    table(&cql, "it_scan.events").await;
    write_rows(&cql, "it_scan.events", 0, 1000).await;
    let nt = Nodetool::for_node(&config());
    nt.run(&["flush", "it_scan"]).await.expect("flush");
    write_rows(&cql, "it_scan.events", 1000, 2000).await;
    nt.run(&["flush", "it_scan"]).await.expect("flush");

    let (inv, _app) = inventory(config()).await;
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
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_hold").await;
    table(&cql, "it_hold.t").await;
    let nt = Nodetool::for_node(&config());
    write_rows(&cql, "it_hold.t", 0, 500).await;
    nt.run(&["flush", "it_hold"]).await.expect("flush");
    write_rows(&cql, "it_hold.t", 250, 750).await;
    nt.run(&["snapshot", "-t", "nightly", "it_hold"])
        .await
        .expect("snapshot");

    let (inv, _app) = inventory(config()).await;
    scan(&inv).await;
    let t = inv.tables_view().await.expect("tables");
    let t = t.iter().find(|t| t.keyspace == "it_hold").expect("table");
    // Only manifest.json and schema.cql are not links to live files yet.
    let snap = table_dir("it_hold", "t").join("snapshots").join("nightly");
    let meta = snapshot_metadata_bytes(&snap);
    assert_eq!(
        t.hold_bytes as u64, meta,
        "a fresh snapshot holds only its own metadata"
    );

    // Old SSTables the snapshot links, measured by hand before compaction replaces them.
    let old: u64 = sstable_files_by_hand(&snap).values().sum();
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
    let _node = shared().await;
    let mut cfg = config();
    cfg.name = "ghost".into();
    cfg.jmx = "127.0.0.1:1".into();
    cfg.cql = "127.0.0.1:1".into();
    let nt = Nodetool::for_node(&cfg);
    let err = nt.version().await.expect_err("down");
    assert!(matches!(err, NodetoolError::Unreachable { .. }), "{err}");

    let dir = tempfile::tempdir().expect("tempdir");
    cfg.data_dirs = vec![dir.path().join("missing-data")];
    let (inv, _app) = inventory(cfg).await;
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
