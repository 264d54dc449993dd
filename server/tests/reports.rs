//! Storage reports through the real router and a real SQLite catalog: samples recorded from
//! synthetic scans (the real-node tests in `tests/real_node/reports.rs` record them from real ones),
//! then the JSON report, the CSV, the SVG charts, the page, measured churn, compaction and the
//! disk-full forecast; and the calculator API's full model.

mod support;

use std::path::PathBuf;

use axum::http::StatusCode;
use snapkeep::node::disk::{DataDirScan, HoldFigures, Holds};
use snapkeep::node::disk::{FileEntry, FileSet, FsStats, TableDir};
use snapkeep::reports::sample::{DAY_MS, compact, record_scan};
use support::TestApp;
use support::app::json_body as json;

fn file(name: String, ino: u64, size: u64) -> FileEntry {
    FileEntry {
        rel: name,
        size,
        dev: 9,
        ino,
        nlink: 1,
    }
}

fn table(ks: &str, name: &str, id: u32, live: Vec<FileEntry>, backups: Vec<FileEntry>) -> TableDir {
    TableDir {
        keyspace: ks.into(),
        table: name.into(),
        id: format!("{id:032x}"),
        data_dir: PathBuf::from("/data"),
        path: PathBuf::from(format!("/data/{ks}/{name}-{id:032x}")),
        live: FileSet { files: live },
        snapshots: Vec::new(),
        backups: FileSet { files: backups },
    }
}

/// A scan read whole: its data directories and table directories.
struct Scan {
    data_dirs: Vec<DataDirScan>,
    tables: Vec<TableDir>,
}

/// Sample `k` of a node: ks1.a is compacted every time (its one SSTable replaced by a bigger
/// one), ks1.b never changes, ks2.c gains an SSTable and a backup file each time.
fn node_scan(k: u64, ino_base: u64, avail: u64, free_inodes: u64) -> (Scan, Holds) {
    let a = vec![file(
        format!("nb-{k}-big-Data.db"),
        ino_base + k,
        1000 * (k + 1),
    )];
    let b = vec![file("nb-1-big-Data.db".into(), ino_base + 50, 500)];
    let c: Vec<FileEntry> = (0..=k)
        .map(|i| file(format!("nb-{i}-big-Data.db"), ino_base + 60 + i, 300))
        .collect();
    let c_backups: Vec<FileEntry> = (0..k)
        .map(|i| file(format!("nb-{i}-big-Data.db"), ino_base + 80 + i, 50))
        .collect();
    let scan = Scan {
        data_dirs: vec![DataDirScan {
            path: PathBuf::from("/data"),
            fs: Some(FsStats {
                total_bytes: 10_000_000,
                avail_bytes: avail,
                free_bytes: avail + 1000,
                total_inodes: 100_000,
                free_inodes,
            }),
            error: None,
        }],
        tables: vec![
            table("ks1", "a", 1, a, vec![]),
            table("ks1", "b", 2, b, vec![]),
            table("ks2", "c", 3, c, c_backups),
        ],
    };
    let mut holds = Holds::default();
    holds.tables.insert(
        0,
        HoldFigures {
            bytes: 200 * k,
            inodes: k,
        },
    );
    (scan, holds)
}

/// What the test expects of node sample `k`: (live, hold, backups, compacted since k − 1).
fn expected(k: u64) -> (i64, i64, i64, i64) {
    let live = 1000 * (k + 1) + 500 + 300 * (k + 1);
    let compacted = if k == 0 { 0 } else { 1000 * k };
    (
        live as i64,
        (200 * k) as i64,
        (50 * k) as i64,
        compacted as i64,
    )
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

#[tokio::test]
async fn bad_ranges_groupings_and_charts_are_400s_naming_the_field_and_limit() {
    let app = TestApp::empty().await;
    for (uri, field, words) in [
        (
            "/api/v1/reports/storage?from=2026-02-01&to=2026-01-01",
            "from",
            "reversed",
        ),
        (
            "/api/v1/reports/storage.csv?from=2020-01-01&to=2026-01-01",
            "to",
            "at most 731 days",
        ),
        (
            "/api/v1/reports/storage?from=01/02/2026",
            "from",
            "YYYY-MM-DD",
        ),
        (
            "/api/v1/reports/storage.svg?group=cluster",
            "group",
            "node, keyspace, table",
        ),
        (
            "/api/v1/reports/storage.svg?chart=pie",
            "chart",
            "storage, inodes, forecast",
        ),
        ("/api/v1/reports/measured?days=0", "days", "1–365"),
        ("/api/v1/reports/measured?table=t", "keyspace", "keyspace"),
    ] {
        let (status, _, body) = app.fetch(uri).await.into_parts();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let v = json(&body);
        assert_eq!(v["field"], field, "{uri}: {body}");
        assert!(
            v["message"].as_str().unwrap_or("").contains(words),
            "{uri}: {body}"
        );
    }
    let (status, _, body) = app
        .fetch("/api/v1/reports/storage?nonsense=1")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // The page says the same in words, not a 500.
    let (status, _, body) = app
        .fetch("/reports?from=2026-02-01&to=2026-01-01")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Cannot show this report"), "{body}");
    assert!(body.contains("reversed"));
}

#[tokio::test]
async fn an_empty_history_says_when_the_first_sample_comes_and_what_is_sampled() {
    let app = TestApp::empty().await;
    let (status, _, body) = app.fetch("/api/v1/reports/storage").await.into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = json(&body);
    assert!(v["sampling"]["first_sample_at"].is_null());
    assert_eq!(v["sampling"]["interval_secs"], 3600);
    assert_eq!(v["storage"].as_array().map(Vec::len), Some(0));
    let (status, ctype, svg) = app.fetch("/api/v1/reports/storage.svg").await.into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("image/svg+xml"), "{ctype}");
    assert!(svg.contains("No samples in this range"), "{svg}");
    let (_, _, page) = app.fetch("/reports").await.into_parts();
    assert!(page.contains("No storage samples yet"), "{page}");
    assert!(page.contains("No Cassandra node is configured"), "{page}");
    assert!(page.contains("per table: live bytes"));
    assert!(page.contains("free bytes and inodes"));
}

#[tokio::test]
async fn samples_feed_the_report_its_csv_its_charts_and_measured_churn() {
    let app = TestApp::empty().await;
    let pool = app.pool();
    let now = snapkeep::jobs::now_ms();
    let times: Vec<i64> = (0..3).map(|k| now - (3 - k) * 3_600_000).collect();
    for (k, at) in times.iter().enumerate() {
        let k = k as u64;
        let (scan, holds) = node_scan(k, 1000, 5_000_000 - 100_000 * k, 50_000 - 10 * k);
        record_scan(pool, "n1", *at, &scan.data_dirs, &scan.tables, &holds)
            .await
            .expect("n1");
        let (scan, holds) = node_scan(k, 5000, 6_000_000, 60_000);
        record_scan(pool, "n2", *at, &scan.data_dirs, &scan.tables, &holds)
            .await
            .expect("n2");
    }
    let from = app::api::format_day(times[0]);
    let to = app::api::format_day(now);
    let range = format!("from={from}&to={to}");

    // JSON: one point per sample, each the sum of both nodes.
    let (status, _, body) = app
        .fetch(&format!("/api/v1/reports/storage?{range}"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["bucket"], "sample");
    let points = v["storage"].as_array().expect("points");
    assert_eq!(points.len(), 3, "{body}");
    for (k, p) in points.iter().enumerate() {
        let (live, hold, backups, compacted) = expected(k as u64);
        assert_eq!(p["at"], times[k]);
        assert_eq!(p["live_bytes"], 2 * live);
        assert_eq!(p["hold_bytes"], 2 * hold);
        assert_eq!(p["backups_bytes"], 2 * backups);
        assert_eq!(p["compacted_bytes"], 2 * compacted);
    }
    assert_eq!(v["groups_total"], 2);
    // Measured churn over the range: compacted bytes over live bytes × days before them.
    let compacted: i64 = (1..3).map(|k| expected(k).3).sum::<i64>() * 2;
    let byte_days: f64 = (1..3)
        .map(|k| 2.0 * expected(k - 1).0 as f64 * (3_600_000.0 / DAY_MS as f64))
        .sum();
    assert_eq!(v["measured"]["compacted_bytes"], compacted);
    let churn = v["measured"]["churn_pct_per_day"].as_f64().expect("churn");
    assert!(
        (churn - compacted as f64 / byte_days * 100.0).abs() < 1e-6,
        "{churn}"
    );
    let top = &v["top_holds"][0];
    assert_eq!(top["table"], "a");
    assert_eq!(top["hold_bytes"], expected(2).1);

    // CSV by table: one row per table, node and sample; sums match the JSON and the catalog.
    let (status, ctype, csv) = app
        .fetch(&format!("/api/v1/reports/storage.csv?{range}&group=table"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let (header, rows) = csv_rows(&csv);
    assert_eq!(rows.len(), 3 * 2 * 3, "{csv}");
    let (at, live, hold) = (
        col(&header, "at_ms"),
        col(&header, "live_bytes"),
        col(&header, "hold_bytes"),
    );
    for (k, t) in times.iter().enumerate() {
        let of_t: Vec<&Vec<String>> = rows.iter().filter(|row| row[at] == t.to_string()).collect();
        let sum = |c: usize| -> i64 {
            of_t.iter()
                .map(|row| row[c].parse::<i64>().expect("number"))
                .sum()
        };
        assert_eq!(sum(live), 2 * expected(k as u64).0);
        assert_eq!(sum(hold), 2 * expected(k as u64).1);
        let in_catalog: i64 = sqlx::query_scalar(
            "SELECT sum(live_bytes) FROM storage_samples WHERE level = 2 AND taken_at = ?",
        )
        .bind(t)
        .fetch_one(pool)
        .await
        .expect("catalog sum");
        assert_eq!(sum(live), in_catalog);
    }
    let node1_rows = rows
        .iter()
        .filter(|row| row[col(&header, "group")] == "n1/ks1.a")
        .count();
    assert_eq!(node1_rows, 3);

    // Inodes and forecast CSVs: per filesystem.
    let (_, _, csv) = app
        .fetch(&format!("/api/v1/reports/storage.csv?{range}&chart=inodes"))
        .await
        .into_parts();
    let (header, rows) = csv_rows(&csv);
    assert_eq!(rows.len(), 6, "{csv}");
    let free = col(&header, "free_inodes");
    assert!(rows.iter().any(|row| row[free] == "49980"), "{csv}");

    // SVG: axes with units, the legend, the series.
    let (status, ctype, svg) = app
        .fetch(&format!("/api/v1/reports/storage.svg?{range}"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("image/svg+xml"));
    assert!(svg.starts_with("<svg"), "{svg}");
    for text in [
        "Bytes (KiB)",
        "Time (UTC",
        "Live data",
        "Snapshot hold",
        "Backups (not shipped)",
        "Storage of all nodes",
    ] {
        assert!(svg.contains(text), "{text} missing from the SVG");
    }
    assert!(svg.matches("<polygon").count() + svg.matches("<path").count() >= 3);
    let (_, _, svg) = app
        .fetch(&format!("/api/v1/reports/storage.svg?{range}&chart=inodes"))
        .await
        .into_parts();
    assert!(svg.contains("Used inodes") && svg.contains("Free inodes") && svg.contains("Inodes"));
    let (_, _, svg) = app
        .fetch(&format!(
            "/api/v1/reports/storage.svg?{range}&chart=forecast"
        ))
        .await
        .into_parts();
    assert!(
        svg.contains("Full (100 %)") && svg.contains("Used (% of capacity)"),
        "{svg}"
    );

    // Scoped to one node's keyspace, grouped by table.
    let (_, _, body) = app
        .fetch(&format!(
            "/api/v1/reports/storage?{range}&node=n1&keyspace=ks1&group=table"
        ))
        .await
        .into_parts();
    let v = json(&body);
    let keys: Vec<&str> = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert_eq!(keys, vec!["n1/ks1.a", "n1/ks1.b"]);

    // Measured figures of one table (what "use my cluster" fills in).
    let (_, _, body) = app
        .fetch("/api/v1/reports/measured?node=n1&keyspace=ks1&table=a&days=1")
        .await
        .into_parts();
    let m = json(&body);
    assert_eq!(m["samples"], 3);
    assert_eq!(m["live_bytes"], 3000);
    assert_eq!(m["compacted_bytes"], 1000 + 2000);
    let days = 3_600_000.0 / DAY_MS as f64;
    let churn = 3000.0 / (1000.0 * days + 2000.0 * days) * 100.0;
    assert!((m["churn_pct_per_day"].as_f64().expect("churn") - churn).abs() < 1e-6);

    // The page: the charts, the CSV links, the tables beneath.
    let (status, _, page) = app.fetch(&format!("/reports?{range}")).await.into_parts();
    assert_eq!(status, StatusCode::OK);
    let in_html = range.replace('&', "&amp;");
    assert!(
        page.contains(&format!(
            "/api/v1/reports/storage.svg?{in_html}&amp;group=node&amp;chart=storage"
        )),
        "{page}"
    );
    assert!(page.contains("Download CSV"));
    assert!(page.contains("data-testid=\"storage-table\""));
    assert!(
        page.contains("n1/ks1") || page.contains(">n1<"),
        "groups listed"
    );
}

#[tokio::test]
async fn months_of_samples_compact_to_days_and_forecast_when_the_disk_fills() {
    let app = TestApp::empty().await;
    let pool = app.pool();
    let now = snapkeep::jobs::now_ms();
    let today = now - now.rem_euclid(DAY_MS);
    // 60 days, a sample every 6 hours up to now; the disk loses 50,000 bytes and 40 inodes a
    // day from 5,000,000 and 50,000 at the first sample.
    let times: Vec<i64> = (0..240).map(|i| now - (239 - i) * 6 * 3_600_000).collect();
    let start = times[0];
    for (k, &at) in times.iter().enumerate() {
        let day = (at - start) as f64 / DAY_MS as f64;
        let avail = 5_000_000.0 - 50_000.0 * day;
        let free_inodes = 50_000.0 - 40.0 * day;
        let (scan, holds) = node_scan(k as u64 % 3, 100, avail as u64, free_inodes as u64);
        record_scan(pool, "n1", at, &scan.data_dirs, &scan.tables, &holds)
            .await
            .expect("sample");
    }
    let mut days: Vec<i64> = times.iter().map(|t| t - t.rem_euclid(DAY_MS)).collect();
    days.dedup();
    let raw_before: i64 = sqlx::query_scalar("SELECT count(*) FROM storage_samples")
        .fetch_one(pool)
        .await
        .expect("count");
    let done = compact(pool, now, 30).await.expect("compact");
    assert!(done.raw_rows > 0);
    let (raw, daily): (i64, i64) =
        sqlx::query_as("SELECT sum(resolution = 0), sum(resolution = 1) FROM storage_samples")
            .fetch_one(pool)
            .await
            .expect("counts");
    assert!(raw + daily < raw_before, "{raw} + {daily} < {raw_before}");
    // Days older than 30 are one row per series (1 node + 2 keyspaces + 3 tables).
    let old_days: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT taken_at) FROM storage_samples WHERE resolution = 1",
    )
    .fetch_one(pool)
    .await
    .expect("days");
    assert_eq!(daily, old_days * 6);

    let range = format!(
        "from={}&to={}",
        app::api::format_day(start),
        app::api::format_day(today)
    );
    let (status, _, body) = app
        .fetch(&format!("/api/v1/reports/storage?{range}"))
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["bucket"], "day");
    assert_eq!(v["storage"].as_array().map(Vec::len), Some(days.len()));
    let f = &v["forecasts"][0];
    // Avail reaches 0 100 days after `start` (5,000,000 / 50,000), inodes 1250 days after.
    let expected_full = start + 100 * DAY_MS;
    let full = f["bytes"]["full_at"].as_i64().expect("full_at");
    assert!(
        (full - expected_full).abs() < DAY_MS,
        "full at {} instead of {}",
        app::api::format_day(full),
        app::api::format_day(expected_full)
    );
    assert!(f["bytes"]["earliest"].as_i64().expect("earliest") <= full);
    assert!(f["bytes"]["latest"].as_i64().expect("latest") >= full - DAY_MS / 24);
    assert!(
        f["bytes"]["summary"]
            .as_str()
            .unwrap_or("")
            .starts_with("Disk full around"),
        "{f}"
    );
    let bt = &f["bytes"]["backtest"];
    assert_eq!(bt["forecasts"], 30);
    assert!(bt["max_error_pct"].as_f64().expect("error") < 1.0, "{bt}");
    let inodes_full = f["inodes"]["full_at"].as_i64().expect("inodes full");
    assert!((inodes_full - (start + 1250 * DAY_MS)).abs() < 2 * DAY_MS);
    let (_, _, page) = app.fetch(&format!("/reports?{range}")).await.into_parts();
    assert!(page.contains("Disk full around"), "forecast on the page");
    assert!(
        page.contains("Back-test: the last 30 days"),
        "back-test on the page"
    );
}

#[tokio::test]
async fn the_calculator_api_gives_the_full_model_and_its_series() {
    let app = TestApp::empty().await;
    let (status, _, body) = app
        .fetch("/api/v1/calculator?live_gb=100&churn_pct=10&retention_days=7&snapshots_per_day=1")
        .await
        .into_parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = json(&body);
    assert!(
        (v["hold_gb"].as_f64().expect("hold") - 70.0).abs() < 1e-9,
        "{body}"
    );
    assert!((v["total_gb"].as_f64().expect("total") - 170.0).abs() < 1e-9);
    assert_eq!(v["snapshots_kept"], 7.0);
    let series = v["series"].as_array().expect("series");
    assert_eq!(
        series.first().map(|p| p["hold_gb"].clone()),
        Some(0.0.into())
    );
    assert_eq!(series.last().map(|p| p["day"].clone()), Some(7.0.into()));
    for (uri, field, range) in [
        (
            "/api/v1/calculator?retention_days=400",
            "retention_days",
            "1–365 days",
        ),
        (
            "/api/v1/calculator?snapshots_per_day=0",
            "snapshots_per_day",
            "0.1–24 per day",
        ),
        ("/api/v1/calculator?growth_pct=x", "growth_pct", "0–10 %"),
    ] {
        let (status, _, body) = app.fetch(uri).await.into_parts();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        let v = json(&body);
        assert_eq!(v["field"], field);
        assert!(
            v["message"].as_str().unwrap_or("").contains(range),
            "{body}"
        );
    }
    // The page renders the same figures without JavaScript.
    let (_, _, page) = app
        .fetch("/calculator?live_gb=100&churn_pct=10&retention_days=7&snapshots_per_day=1")
        .await
        .into_parts();
    assert!(page.contains("170 GB"), "total on the page");
    assert!(page.contains(
        "live_gb=100&amp;churn_pct=10&amp;growth_pct=0&amp;retention_days=7&amp;snapshots_per_day=1"
    ));
}
