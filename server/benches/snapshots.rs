//! Snapshot catalog benchmarks (`cargo bench --bench snapshots`, part of `make bench`):
//! recording a 100,000-file snapshot (goal ≤ 1 s), and `GET /api/v1/snapshots` plus the
//! history page with 10,000 snapshots in the catalog (goal p99 ≤ 50 ms on loopback).
//!
//! The scans are synthetic (built in memory) so the figures measure the catalog and the HTTP
//! path alone; the real-node tests in `tests/real_node/snapshots.rs` check the figures are right.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use snapkeep::catalog::Catalog;
use snapkeep::node::disk::Holds;
use snapkeep::node::disk::{FileEntry, FileSet, NodeScan, SnapshotDir, TableDir};
use snapkeep::snapshots::record::{RecordOptions, Scope, record};

fn table(i: usize, snapshots: Vec<SnapshotDir>) -> TableDir {
    TableDir {
        keyspace: "bench".into(),
        table: format!("t{i}"),
        id: format!("{i:032x}"),
        data_dir: PathBuf::from("/nonexistent/data"),
        path: PathBuf::from(format!("/nonexistent/data/bench/t{i}-{i:032x}")),
        live: FileSet::default(),
        snapshots,
        backups: FileSet::default(),
    }
}

fn snapshot(tag: String, files: usize, first_inode: u64) -> SnapshotDir {
    SnapshotDir {
        path: PathBuf::from(format!("/nonexistent/{tag}")),
        tag,
        files: FileSet {
            files: (0..files)
                .map(|f| FileEntry {
                    rel: format!("nb-{}-big-Data.db", f),
                    size: 1_000 + f as u64,
                    dev: 1,
                    ino: first_inode + f as u64,
                    nlink: 1,
                })
                .collect(),
        },
    }
}

async fn record_scan(pool: &sqlx::SqlitePool, scan: &NodeScan) -> Duration {
    let holds: Holds = scan.holds();
    let opts = RecordOptions {
        scope: Scope::Node,
        intent: None,
        clearing: None,
        observed_at: snapkeep::jobs::now_ms(),
    };
    let t = Instant::now();
    record(pool, "bench-node", scan, &holds, &opts)
        .await
        .expect("record");
    t.elapsed()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // 1. One snapshot of 100,000 files.
        let mut times = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let catalog = Catalog::open(&dir.path().join("c.db")).await.expect("catalog");
            let scan = NodeScan::from_tables(
                Vec::new(),
                vec![table(0, vec![snapshot("big".into(), 100_000, 1)])],
            );
            times.push(record_scan(catalog.pool(), &scan).await.as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "record a 100,000-file snapshot: median {:.0} ms, best {:.0} ms (goal ≤ 1000 ms)",
            times[1], times[0]
        );

        // 2. 10,000 snapshots (100 tables × 100 tags, 5 files each), then the list and page.
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("catalog.db");
        let catalog = Catalog::open(&db).await.expect("catalog");
        let mut tables = Vec::new();
        let mut inode = 1;
        for t in 0..100 {
            let snaps = (0..100)
                .map(|s| {
                    inode += 10;
                    snapshot(format!("snap-{t:03}-{s:03}"), 5, inode)
                })
                .collect();
            tables.push(table(t, snaps));
        }
        let scan = NodeScan::from_tables(Vec::new(), tables);
        let took = record_scan(catalog.pool(), &scan).await;
        snapkeep::auth::store::add_user(
            catalog.pool(),
            "bench",
            snapkeep::auth::Role::Viewer,
            "bench password 1",
        )
        .await
        .expect("user");
        let (token, _) = snapkeep::auth::store::create_token(catalog.pool(), "bench", "bench", None)
            .await
            .expect("token");
        println!(
            "record 10,000 snapshots (50,000 files) in one scan: {:.1} s",
            took.as_secs_f64()
        );
        drop(catalog);
        let overrides = snapkeep::config::Overrides {
            listen: Some("127.0.0.1:0".into()),
            state_dir: Some(dir.path().to_path_buf()),
            catalog: Some(db.clone()),
            ..Default::default()
        };
        let cfg = snapkeep::config::Config::load_from(None, &[], &overrides).expect("config");
        let server = snapkeep::server::Server::bind(&cfg).await.expect("bind");
        let base = format!("http://{}", server.local_addr());
        tokio::spawn(server.run());
        for (what, path) in [
            ("GET /api/v1/snapshots (newest 50)", "/api/v1/snapshots"),
            (
                "GET /api/v1/snapshots?sort=-exclusive&page=100",
                "/api/v1/snapshots?sort=-exclusive&page=100",
            ),
            (
                "GET /api/v1/snapshots?table=bench.t42&tag=snap",
                "/api/v1/snapshots?table=bench.t42&tag=snap",
            ),
            ("GET /snapshots (history page, SSR)", "/snapshots"),
        ] {
            let (p50, p99, size) = common::latencies(&format!("{base}{path}"), &token, 300).await;
            println!(
                "{what} with 10,000 snapshots: p50 {p50:.1} ms, p99 {p99:.1} ms, {size} bytes (goal p99 ≤ 50 ms)"
            );
        }
        let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        println!(
            "catalog with 10,000 snapshots: {:.1} MB",
            bytes as f64 / 1e6
        );
    });
}
