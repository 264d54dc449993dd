//! Storage growth on the real node (issue #8): samples from real scans, measured churn and
//! hold as the files show them, the CSV and the chart of the same selection.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use snapkeep::node::Nodetool;

use crate::support::TestApp;
use crate::support::node::{config, cql, keyspace, shared, table, table_dir, write_rows};
use crate::{
    live_bytes_by_hand, snapshot_bytes_by_hand, snapshot_metadata_bytes, sstable_files_by_hand,
};

#[tokio::test(flavor = "multi_thread")]
async fn storage_samples_measure_churn_and_hold_as_the_files_show() {
    let _node = shared().await;
    let cql = cql().await;
    keyspace(&cql, "it_growth").await;
    table(&cql, "it_growth.t").await;
    let nt = Nodetool::for_node(&config());
    write_rows(&cql, "it_growth.t", 0, 400).await;
    nt.run(&["flush", "it_growth"]).await.expect("flush");
    write_rows(&cql, "it_growth.t", 400, 800).await;
    nt.run(&["flush", "it_growth"]).await.expect("flush");
    let dir = table_dir("it_growth", "t");
    let node = config().name;

    // Sample 1: two SSTables. The files by hand, before and after, to be sure nothing moved.
    let app = TestApp::init().with_node(config()).build().await;
    let before = sstable_files_by_hand(&dir);
    let (live_before, _) = live_bytes_by_hand(&dir);
    app.rescan().await;
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
    app.rescan().await;
    let after = sstable_files_by_hand(&dir);
    let gone: u64 = before
        .iter()
        .filter(|(k, _)| !after.contains_key(*k))
        .map(|(_, size)| size)
        .sum();
    assert!(gone > 0, "compaction removed the first SSTables");
    let snap = dir.join("snapshots").join("growth");
    let (_, held_by_hand, _) = snapshot_bytes_by_hand(&snap);

    let (status, m) = app
        .get(&format!(
            "/api/v1/reports/measured?node={node}&keyspace=it_growth&table=t&days=1"
        ))
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
    let meta = snapshot_metadata_bytes(&snap);
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
    let csv = app
        .fetch(&format!("/api/v1/reports/storage.csv?{range}&group=table"))
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    let mut lines = csv.text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (at, live, hold) = (col("at_ms"), col("live_bytes"), col("hold_bytes"));
    let mut sums: BTreeMap<i64, (i64, i64)> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let e = sums.entry(cells[at].parse().expect("at")).or_default();
        e.0 += cells[live].parse::<i64>().expect("live");
        e.1 += cells[hold].parse::<i64>().expect("hold");
    }
    let recorded: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT j.started_at, sum(t.live_bytes), sum(t.hold_bytes) FROM scan_tables t \
         JOIN scans s ON s.id = t.scan_id JOIN jobs j ON j.id = s.job_id \
         WHERE t.keyspace_name = 'it_growth' GROUP BY j.started_at ORDER BY j.started_at",
    )
    .fetch_all(app.pool())
    .await
    .expect("scans");
    assert_eq!(recorded.len(), 2);
    let from_csv: Vec<(i64, i64, i64)> = sums.into_iter().map(|(t, (l, h))| (t, l, h)).collect();
    assert_eq!(from_csv, recorded, "CSV sums = the scans' figures");
    assert_eq!(recorded[0].1 as u64, live_before);

    // The chart of the same selection: axes with units, legend, title.
    let svg = app
        .fetch(&format!("/api/v1/reports/storage.svg?{range}"))
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    for text in [
        "Bytes (",
        "Live data",
        "Snapshot hold",
        "it_growth on every node",
    ] {
        assert!(svg.text.contains(text), "{text} missing from the chart");
    }
    nt.run(&["clearsnapshot", "-t", "growth", "--", "it_growth"])
        .await
        .expect("clear");
}
