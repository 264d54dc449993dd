//! Tests of planning: full-node preconditions, replicas and TRUNCATE, headroom.

use super::*;
use std::path::{Path, PathBuf};

use crate::cassandra::cql::{Column, TableSchema};
use crate::node::aside::ASIDE_DIR;
use crate::node::staging::STAGING_DIR;

const ID: &str = "e404cfd0-e859-11f1-927d-4585d0360deb";

fn col(name: &str, kind: &str, position: i32, ty: &str) -> Column {
    Column {
        name: name.into(),
        kind: kind.into(),
        position,
        cql_type: ty.into(),
        clustering_order: "none".into(),
    }
}

/// A catalog with snapshot `nightly` of shop.t (one SSTable file on disk) and the live
/// schema of the same table.
async fn setup(dir: &Path) -> (crate::catalog::Catalog, PathBuf, Schema) {
    let id = uuid::Uuid::parse_str(ID).expect("uuid");
    let data = dir.join("data");
    let snap = data
        .join("shop")
        .join(format!("t-{}", id.simple()))
        .join("snapshots")
        .join("nightly");
    std::fs::create_dir_all(&snap).expect("mkdir");
    std::fs::write(snap.join("nb-1-big-Data.db"), vec![7u8; 1000]).expect("write");
    std::fs::write(
        snap.join("schema.cql"),
        format!("CREATE TABLE IF NOT EXISTS shop.t (\n    id int PRIMARY KEY,\n    v text\n) WITH ID = {ID};\n"),
    )
    .expect("write");
    let catalog = crate::catalog::Catalog::open(&dir.join("catalog.db"))
        .await
        .expect("catalog");
    let sid: i64 = sqlx::query_scalar(
        "INSERT INTO snapshots (node, tag, kind, status, created_at, first_seen_at, measured_at) \
         VALUES ('n1', 'nightly', 'manual', 'present', 1, 1, 1) RETURNING id",
    )
    .fetch_one(catalog.pool())
    .await
    .expect("snapshot row");
    sqlx::query(
        "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, row_count, row_count_method) \
         VALUES (?, 'shop', 't', ?, ?, 'present', 10, 'count')",
    )
    .bind(sid)
    .bind(id.simple().to_string())
    .bind(data.display().to_string())
    .execute(catalog.pool())
    .await
    .expect("table row");
    let live = Schema {
        keyspaces: vec!["shop".into()],
        tables: vec![TableSchema {
            keyspace: "shop".into(),
            table: "t".into(),
            id,
            columns: vec![
                col("id", "partition_key", 0, "int"),
                col("v", "regular", -1, "text"),
            ],
            dropped: Vec::new(),
            indexes: Vec::new(),
        }],
        types: Vec::new(),
    };
    (catalog, data, live)
}

fn full_node() -> RestoreInput {
    RestoreInput {
        snapshot: "nightly".into(),
        node: None,
        tables: Vec::new(),
        target: Target::FullNode,
        side_keyspace: None,
        truncate: false,
        reason: String::new(),
        source: None,
    }
}

async fn plan_for(pool: &SqlitePool, node: &NodeConfig, live: &Schema) -> Plan {
    let ctx = PlanContext {
        pool,
        node,
        live,
        min_free_pct: 0,
        previous: None,
        now_ms: 1_764_000_000_000,
        topology: None,
        store_source: None,
        rebuild: false,
    };
    make(&ctx, &full_node()).await.expect("plan")
}

#[tokio::test]
async fn a_full_node_restore_is_blocked_until_the_node_can_be_stopped_and_its_commit_log_is_known()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, data, live) = setup(dir.path()).await;
    let mut node = NodeConfig::new("n1", vec![data.clone()]);

    let p = plan_for(catalog.pool(), &node, &live).await;
    assert_eq!(p.blocked.len(), 2, "{:?}", p.blocked);
    assert!(
        p.blocked[0].contains("cannot be stopped and started")
            && p.blocked[0].contains("`stop_command` and `start_command`"),
        "{}",
        p.blocked[0]
    );
    assert!(
        p.blocked[1].contains("commit log directory of node n1 is unknown")
            && p.blocked[1].contains("`commitlog_dir`"),
        "{}",
        p.blocked[1]
    );

    // A dev-node directory without node.json cannot be restarted either.
    node.dev_node_dir = Some(dir.path().join("no-node"));
    let p = plan_for(catalog.pool(), &node, &live).await;
    assert!(
        p.blocked.iter().any(|b| b.contains("dev-node launcher")),
        "{:?}",
        p.blocked
    );

    // A commit log directory that does not exist is named.
    node.commitlog_dir = Some(dir.path().join("missing-commitlog"));
    let p = plan_for(catalog.pool(), &node, &live).await;
    assert!(
        p.blocked
            .iter()
            .any(|b| b.contains("missing-commitlog") && b.contains("not an existing directory")),
        "{:?}",
        p.blocked
    );

    // Configured: runs, with every step and the aside paths under the node's own dirs.
    let commitlog = dir.path().join("commitlog");
    std::fs::create_dir_all(&commitlog).expect("mkdir");
    node.dev_node_dir = None;
    node.commitlog_dir = Some(commitlog.clone());
    node.stop_command = Some(vec!["systemctl".into(), "stop".into(), "cassandra".into()]);
    node.start_command = Some(vec!["systemctl".into(), "start".into(), "cassandra".into()]);
    let p = plan_for(catalog.pool(), &node, &live).await;
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    assert_eq!(
        p.steps,
        [
            "check",
            "safety_snapshot",
            "drain",
            "stop",
            "move_aside shop.t",
            "clear_commitlog",
            "link shop.t",
            "start",
            "wait_cql",
            "verify",
            "keep_aside"
        ]
    );
    let tag = p.safety_tag.clone().expect("safety tag");
    let table_dir = data.join("shop").join("t-e404cfd0e85911f1927d4585d0360deb");
    assert_eq!(p.tables[0].staging_dir, table_dir.display().to_string());
    assert_eq!(
        p.tables[0].aside_dir.as_deref(),
        Some(&*table_dir.join(ASIDE_DIR).join(&tag).to_string_lossy())
    );
    assert_eq!(
        p.commitlog_aside.as_deref(),
        Some(&*commitlog.join(ASIDE_DIR).join(&tag).to_string_lossy())
    );
    assert!(p.tables[0].hard_link && p.tables[0].bytes_to_copy == 0);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("`systemctl stop cassandra`")),
        "{:?}",
        p.notes
    );

    // The schema must match: a re-created table blocks.
    let mut changed = live.clone();
    changed.tables[0].id = uuid::Uuid::nil();
    let p = plan_for(catalog.pool(), &node, &changed).await;
    assert!(
        p.blocked.iter().any(|b| b.contains("changed incompatibly")),
        "{:?}",
        p.blocked
    );

    // Options of other targets are refused.
    let ctx = PlanContext {
        pool: catalog.pool(),
        node: &node,
        live: &live,
        min_free_pct: 0,
        previous: None,
        now_ms: 1,
        topology: None,
        store_source: None,
        rebuild: false,
    };
    let input = RestoreInput {
        truncate: true,
        ..full_node()
    };
    let err = make(&ctx, &input).await.expect_err("truncate refused");
    assert!(err.to_string().contains("truncate"), "{err}");
}

fn topology(nodes: &[(&str, &str)], ks: &str, replication: &[(&str, &str)]) -> Topology {
    Topology {
        nodes: nodes
            .iter()
            .map(|(a, d)| (a.to_string(), d.to_string()))
            .collect(),
        replication: [(
            ks.to_string(),
            replication
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )]
        .into_iter()
        .collect(),
    }
}

#[test]
fn every_node_of_a_data_center_with_replicas_holds_rows() {
    let simple = |rf: &str| {
        topology(
            &[("local", "dc1"), ("10.0.0.2", "dc1"), ("10.0.0.3", "dc1")],
            "ks",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", rf),
            ],
        )
    };
    // RF 1 on three nodes: each node owns a third of the rows, so all three hold rows.
    assert_eq!(simple("1").data_nodes("ks"), Some(3));
    assert_eq!(simple("3").data_nodes("ks"), Some(3));
    assert_eq!(simple("0").data_nodes("ks"), Some(0));
    assert_eq!(simple("1").data_nodes("other"), None);
    let nts = topology(
        &[("local", "dc1"), ("10.0.0.2", "dc1"), ("10.1.0.1", "dc2")],
        "ks",
        &[
            (
                "class",
                "org.apache.cassandra.locator.NetworkTopologyStrategy",
            ),
            ("dc1", "2"),
            ("dc2", "0"),
        ],
    );
    assert_eq!(nts.data_nodes("ks"), Some(2));
    let single = topology(
        &[("local", "datacenter1")],
        "ks",
        &[
            (
                "class",
                "org.apache.cassandra.locator.NetworkTopologyStrategy",
            ),
            ("datacenter1", "3"),
        ],
    );
    assert_eq!(single.data_nodes("ks"), Some(1));
}

async fn in_place(
    pool: &SqlitePool,
    node: &NodeConfig,
    live: &Schema,
    topology: Option<&Topology>,
    truncate: bool,
    min_free_pct: u64,
) -> Plan {
    let ctx = PlanContext {
        pool,
        node,
        live,
        min_free_pct,
        previous: None,
        now_ms: 1_764_000_000_000,
        topology,
        store_source: None,
        rebuild: false,
    };
    let input = RestoreInput {
        target: Target::InPlace,
        truncate,
        ..full_node()
    };
    make(&ctx, &input).await.expect("plan")
}

#[tokio::test]
async fn truncate_is_blocked_unless_this_node_is_the_only_one_holding_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, data, live) = setup(dir.path()).await;
    let node = NodeConfig::new("n1", vec![data]);
    let pool = catalog.pool();
    let three = topology(
        &[("local", "dc1"), ("127.0.0.2", "dc1"), ("127.0.0.3", "dc1")],
        "shop",
        &[
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "3"),
        ],
    );
    let p = in_place(pool, &node, &live, Some(&three), true, 0).await;
    assert!(
        p.blocked.iter().any(
            |b| b.contains("TRUNCATE removes the rows of shop.t on every node")
                && b.contains("3 nodes hold rows of keyspace shop")
        ),
        "{:?}",
        p.blocked
    );
    // Without TRUNCATE: allowed, with what the other replicas and repair will do.
    let p = in_place(pool, &node, &live, Some(&three), false, 0).await;
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("2 other node(s) hold rows of keyspace shop")
                && n.contains("nodetool repair shop")),
        "{:?}",
        p.notes
    );
    // Unknown topology: TRUNCATE is blocked, a plain restore goes on with a note.
    let p = in_place(pool, &node, &live, None, true, 0).await;
    assert!(
        p.blocked
            .iter()
            .any(|b| b.contains("Cannot tell how many nodes")),
        "{:?}",
        p.blocked
    );
    // One node: TRUNCATE is fine, and every table is staged before it.
    let one = topology(
        &[("local", "dc1")],
        "shop",
        &[
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "1"),
        ],
    );
    let p = in_place(pool, &node, &live, Some(&one), true, 0).await;
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    assert_eq!(
        p.steps,
        [
            "check",
            "safety_snapshot",
            "stage shop.t",
            "truncate",
            "import shop.t",
            "cleanup shop.t",
            "verify"
        ]
    );
    let tag = p.safety_tag.expect("safety tag");
    assert!(
        tag.starts_with(crate::snapshots::validate::PRE_RESTORE_PREFIX),
        "{tag}"
    );
}

#[tokio::test]
async fn too_little_headroom_blocks_and_says_how_much_must_be_freed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, data, live) = setup(dir.path()).await;
    let node = NodeConfig::new("n1", vec![data]);
    let one = topology(
        &[("local", "dc1")],
        "shop",
        &[
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "1"),
        ],
    );
    // Every byte must stay free: no filesystem in use can give that.
    let p = in_place(catalog.pool(), &node, &live, Some(&one), false, 100).await;
    let b = p
        .blocked
        .iter()
        .find(|b| b.contains("Too little room"))
        .unwrap_or_else(|| panic!("{:?}", p.blocked));
    assert!(
        b.contains("more must be freed first") && b.contains("bytes)"),
        "{b}"
    );
    assert!(!p.headroom[0].ok);
    let p = in_place(catalog.pool(), &node, &live, Some(&one), false, 0).await;
    assert!(p.headroom[0].ok && p.blocked.is_empty(), "{:?}", p.blocked);
}

/// What a store holds of `nightly`: shop.t (one SSTable plus one shipped after it as an
/// incremental backup) and, when `with_system`, a system_schema table.
fn store_source(with_system: bool) -> StoreSource {
    let id = uuid::Uuid::parse_str(ID)
        .expect("uuid")
        .simple()
        .to_string();
    let file = |name: &str, size: u64| PlanFile {
        name: name.into(),
        size,
        inode: 0,
        sha256: Some("ab".repeat(32)),
    };
    let mut tables = vec![crate::restore::source::StoreTable {
        keyspace: "shop".into(),
        table: "t".into(),
        table_id: id,
        files: vec![
            file("nb-1-big-Data.db", 1000),
            file("nb-2-big-Data.db", 500),
        ],
        backup_files: 1,
        schema_cql: format!(
            "CREATE TABLE IF NOT EXISTS shop.t (\n    id int PRIMARY KEY,\n    v text\n) WITH ID = {ID};\n"
        ),
        row_count: Some(10),
        row_count_method: Some("count_before_backups".into()),
    }];
    if with_system {
        tables.push(crate::restore::source::StoreTable {
            keyspace: "system_schema".into(),
            table: "tables".into(),
            table_id: "afddfb9dbc1e30688056eed6c302ba09".into(),
            files: vec![file("nb-1-big-Data.db", 70)],
            backup_files: 0,
            schema_cql: String::new(),
            row_count: None,
            row_count_method: None,
        });
    }
    StoreSource {
        store: "offsite".into(),
        taken_at: 1,
        batches: vec!["b1".into()],
        tables,
    }
}

#[tokio::test]
async fn a_restore_from_a_store_downloads_first_counts_the_download_and_removes_it_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, data, live) = setup(dir.path()).await;
    let node = NodeConfig::new("n1", vec![data.clone()]);
    let src = store_source(false);
    let ctx = PlanContext {
        pool: catalog.pool(),
        node: &node,
        live: &live,
        min_free_pct: 0,
        previous: None,
        now_ms: 1_764_000_000_000,
        topology: None,
        store_source: Some(&src),
        rebuild: false,
    };
    let input = RestoreInput {
        target: Target::InPlace,
        source: Some(app::api::RestoreSource {
            store: "offsite".into(),
        }),
        ..full_node()
    };
    let p = make(&ctx, &input).await.expect("plan");
    assert_eq!(p.source_store.as_deref(), Some("offsite"));
    assert_eq!(p.steps[..3], ["check", "download", "safety_snapshot"]);
    assert_eq!(p.steps.last().map(String::as_str), Some("drop_download"));
    let t = &p.tables[0];
    assert_eq!(
        (t.download_bytes, t.backup_files, t.bytes_to_copy),
        (1500, 1, 0)
    );
    assert!(t.hard_link);
    assert!(
        t.source_dir
            .starts_with(&data.join(STAGING_DIR).display().to_string())
            && t.source_dir.contains(".download"),
        "{}",
        t.source_dir
    );
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("store offsite") && n.contains("1 of them from 1 batch")),
        "{:?}",
        p.notes
    );
    // The download is counted in the headroom: its bytes and one inode per file.
    let tight = PlanContext {
        min_free_pct: 100,
        ..ctx
    };
    let short = make(&tight, &input).await.expect("plan");
    assert!(
        short
            .blocked
            .iter()
            .any(|b| b.contains("downloads 1.5 KiB in 2 new files")),
        "{:?}",
        short.blocked
    );
    // The approval binds to the source.
    let mut other = p.clone();
    other.source_store = None;
    assert_ne!(plan_hash(&p), plan_hash(&other));
}

#[tokio::test]
async fn a_node_that_lost_its_data_is_rebuilt_with_its_system_tables_and_nothing_set_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (catalog, data, _) = setup(dir.path()).await;
    let commitlog = dir.path().join("commitlog");
    std::fs::create_dir_all(&commitlog).expect("mkdir");
    let mut node = NodeConfig::new("n1", vec![data.clone()]);
    node.commitlog_dir = Some(commitlog);
    node.stop_command = Some(vec!["true".into()]);
    node.start_command = Some(vec!["true".into()]);
    let empty = Schema::default();
    let with_system = store_source(true);
    let ctx = PlanContext {
        pool: catalog.pool(),
        node: &node,
        live: &empty,
        min_free_pct: 0,
        previous: None,
        now_ms: 1_764_000_000_000,
        topology: None,
        store_source: Some(&with_system),
        rebuild: true,
    };
    let input = RestoreInput {
        source: Some(app::api::RestoreSource {
            store: "offsite".into(),
        }),
        ..full_node()
    };
    let p = make(&ctx, &input).await.expect("plan");
    assert!(p.disaster_recovery);
    assert!(p.blocked.is_empty(), "{:?}", p.blocked);
    assert_eq!(
        p.steps,
        [
            "check",
            "download",
            "stop",
            "clear_commitlog",
            "link shop.t",
            "link system_schema.tables",
            "start",
            "wait_cql",
            "verify",
            "keep_aside",
            "drop_download"
        ]
    );
    assert!(p.tables.iter().all(|t| t.aside_dir.is_none()));

    // Named tables, or a snapshot without the schema tables, cannot rebuild a node.
    let some = RestoreInput {
        tables: vec!["shop.t".into()],
        ..input.clone()
    };
    let err = make(&ctx, &some).await.expect_err("tables refused");
    assert!(err.to_string().contains("leave out `tables`"), "{err}");
    let user_only = store_source(false);
    let ctx = PlanContext {
        store_source: Some(&user_only),
        ..ctx
    };
    let err = make(&ctx, &input).await.expect_err("no system_schema");
    assert!(
        err.to_string().contains("snapshot of every keyspace"),
        "{err}"
    );
}
