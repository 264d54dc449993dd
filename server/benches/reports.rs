//! Storage-report benchmarks (`cargo bench --bench reports`, part of `make bench`): one year of
//! hourly samples of 500 tables (10 keyspaces × 50 tables on one node) recorded through the
//! real sampler code with daily compaction (goal: catalog ≤ 50 MB), then the reports page and
//! its charts and CSV over that year through a real server on loopback (goal: page ≤ 200 ms).
//!
//! The scans are synthetic (built in memory): every hour 5 % of the tables have their SSTable
//! compacted into a new one and every table grows a little; the filesystem fills slowly.
//! `SNAPKEEP_BENCH_REPORT_DAYS` shortens the simulated history (default 365).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use snapkeep::catalog::Catalog;
use snapkeep::node::disk::{DataDirScan, HoldFigures, Holds};
use snapkeep::node::disk::{FileEntry, FileSet, FsStats, TableDir};
use snapkeep::reports::sample::{DAY_MS, compact, record_scan};

const KEYSPACES: usize = 10;
const TABLES_PER_KEYSPACE: usize = 50;
const HOUR_MS: i64 = 3_600_000;

/// A scan read whole: its data directories and table directories.
struct Scan {
    data_dirs: Vec<DataDirScan>,
    tables: Vec<TableDir>,
}

/// The scan of hour `h`: table t's SSTable generation changes every 20 hours (offset by t),
/// so 5 % of the tables are compacted each hour.
fn scan_at(h: i64) -> (Scan, Holds) {
    let mut tables = Vec::with_capacity(KEYSPACES * TABLES_PER_KEYSPACE);
    let mut holds = Holds::default();
    for k in 0..KEYSPACES {
        for t in 0..TABLES_PER_KEYSPACE {
            let i = k * TABLES_PER_KEYSPACE + t;
            let generation = (h + i as i64) / 20;
            let size = 50_000_000 + (h as u64) * 1_000 + (i as u64) * 10_000;
            let ino = 1_000_000 * i as u64 + generation as u64 * 2;
            let live = vec![
                FileEntry {
                    rel: format!("nb-{generation}-big-Data.db"),
                    size,
                    dev: 1,
                    ino,
                    nlink: 1,
                },
                FileEntry {
                    rel: format!("nb-{generation}-big-Index.db"),
                    size: size / 20,
                    dev: 1,
                    ino: ino + 1,
                    nlink: 1,
                },
            ];
            tables.push(TableDir {
                keyspace: format!("ks{k}"),
                table: format!("t{t}"),
                id: format!("{i:032x}"),
                data_dir: PathBuf::from("/nonexistent/data"),
                path: PathBuf::from(format!("/nonexistent/data/ks{k}/t{t}-{i:032x}")),
                live: FileSet { files: live },
                snapshots: Vec::new(),
                backups: FileSet::default(),
            });
            if i.is_multiple_of(7) {
                holds.tables.insert(
                    i,
                    HoldFigures {
                        bytes: size,
                        inodes: 2,
                    },
                );
            }
        }
    }
    let scan = Scan {
        data_dirs: vec![DataDirScan {
            path: PathBuf::from("/nonexistent/data"),
            fs: Some(FsStats {
                total_bytes: 4_000_000_000_000,
                avail_bytes: 3_000_000_000_000 - h as u64 * 50_000_000,
                free_bytes: 3_100_000_000_000 - h as u64 * 50_000_000,
                total_inodes: 250_000_000,
                free_inodes: 240_000_000 - h as u64 * 100,
            }),
            error: None,
        }],
        tables,
    };
    (scan, holds)
}

fn main() {
    let days: i64 = std::env::var("SNAPKEEP_BENCH_REPORT_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|d| *d >= 2)
        .unwrap_or(365);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("catalog.db");
        let catalog = Catalog::open(&db).await.expect("catalog");
        let pool = catalog.pool();
        let now = snapkeep::jobs::now_ms();
        let hours = days * 24;
        let first = now - (hours - 1) * HOUR_MS;
        let mut record_ms = Vec::with_capacity(hours as usize);
        let mut compact_total = Duration::ZERO;
        let started = Instant::now();
        for h in 0..hours {
            let at = first + h * HOUR_MS;
            let (scan, holds) = scan_at(h);
            let t = Instant::now();
            record_scan(pool, "bench-node", at, &scan.data_dirs, &scan.tables, &holds)
                .await
                .expect("record");
            record_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            // The sampler compacts after each sample; what it finds to do changes once a day.
            if (at + HOUR_MS).div_euclid(DAY_MS) != at.div_euclid(DAY_MS) {
                let t = Instant::now();
                compact(pool, at, 30).await.expect("compact");
                compact_total += t.elapsed();
            }
        }
        let t = Instant::now();
        compact(pool, now, 30).await.expect("compact");
        compact_total += t.elapsed();
        record_ms.sort_by(f64::total_cmp);
        println!(
            "record {hours} hourly samples of {} tables: {:.0} s in all; per sample p50 {:.1} ms, p99 {:.1} ms; compaction {:.1} s in all",
            KEYSPACES * TABLES_PER_KEYSPACE,
            started.elapsed().as_secs_f64(),
            common::percentile(&record_ms, 0.5),
            common::percentile(&record_ms, 0.99),
            compact_total.as_secs_f64()
        );
        let rows: (i64, i64) = sqlx::query_as(
            "SELECT sum(resolution = 0), sum(resolution = 1) FROM storage_samples",
        )
        .fetch_one(pool)
        .await
        .expect("rows");
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .expect("checkpoint");
        let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        println!(
            "catalog after {days} days: {:.1} MB ({} raw and {} daily sample rows) (goal ≤ 50 MB)",
            bytes as f64 / 1e6,
            rows.0,
            rows.1
        );

        snapkeep::auth::store::add_user(
            pool,
            "bench",
            snapkeep::auth::Role::Viewer,
            "bench password 1",
        )
        .await
        .expect("user");
        let (token, _) = snapkeep::auth::store::create_token(pool, "bench", "bench", None)
            .await
            .expect("token");
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
        let from = app::api::format_day(first);
        let to = app::api::format_day(now);
        let year = format!("from={from}&to={to}");
        for (what, path) in [
            ("GET /reports (default: last 30 days by node)", "/reports".to_string()),
            ("GET /reports over the whole history by node", format!("/reports?{year}")),
            (
                "GET /reports over the whole history by keyspace",
                format!("/reports?{year}&group=keyspace"),
            ),
            (
                "GET /reports over the whole history by table",
                format!("/reports?{year}&group=table"),
            ),
            (
                "GET /api/v1/reports/storage.svg (whole history)",
                format!("/api/v1/reports/storage.svg?{year}"),
            ),
            (
                "GET /api/v1/reports/storage.svg?chart=forecast (whole history)",
                format!("/api/v1/reports/storage.svg?{year}&chart=forecast"),
            ),
            (
                "GET /api/v1/reports/storage.csv by table (whole history)",
                format!("/api/v1/reports/storage.csv?{year}&group=table"),
            ),
        ] {
            let (p50, p99, size) = common::latencies(&format!("{base}{path}"), &token, 30).await;
            // The goal is the page's; the year-long CSV by table is a download of megabytes.
            let goal = if what.starts_with("GET /reports") {
                " (goal ≤ 200 ms)"
            } else {
                ""
            };
            println!("{what}: p50 {p50:.1} ms, p99 {p99:.1} ms, {size} bytes{goal}");
        }
    });
}
