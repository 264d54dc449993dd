//! Scheduler benchmark (`cargo bench --bench schedules`, part of `make bench`): a catalog with
//! 1,000 schedules over 10,000 tables (`SNAPKEEP_BENCH_SCHEDULES`, default 1000). Measures a
//! timer tick when nothing is due (what the server does every two seconds), and deciding the
//! next run of every schedule at once (what a tick does when all of them are due). Goal:
//! ≤ 10 ms per tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use snapkeep::catalog::Catalog;
use snapkeep::schedules::ScheduleService;
use snapkeep::schedules::model::{ScheduleInput, ScheduleScope};
use snapkeep::schedules::retention::Retention;
use snapkeep::schedules::timing::Timing;

const NOW: i64 = 1_796_083_200_000; // 2026-12-01 00:00 UTC

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("SNAPKEEP_BENCH_SCHEDULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(&dir.path().join("c.db"))
        .await
        .expect("catalog");
    let pool = cat.pool().clone();
    let snapshots = snapkeep::snapshots::SnapshotService::new(
        pool.clone(),
        Vec::new(),
        Default::default(),
        Default::default(),
    );
    let backups = snapkeep::backups::BackupService::new(
        pool.clone(),
        Vec::new(),
        Vec::new(),
        Default::default(),
    );
    let clock = Arc::new(AtomicI64::new(NOW));
    let service = ScheduleService::new(pool, snapshots, backups, Vec::new())
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    let crons = [
        "*/5 * * * *",
        "0 2 * * *",
        "30 */6 * * *",
        "0 3 * * 0",
        "15 1 1 * *",
    ];
    let zones = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
    ];
    let t = Instant::now();
    for i in 0..n {
        let tables = (0..10)
            .map(|k| format!("ks{}.t{}", i % 100, (i * 10 + k) % 10_000))
            .collect();
        service
            .create(
                ScheduleInput {
                    name: format!("s{i}"),
                    cron: crons[i % crons.len()].into(),
                    timezone: Some(zones[i % zones.len()].into()),
                    scope: ScheduleScope {
                        tables,
                        ..ScheduleScope::default()
                    },
                    retention: Retention {
                        keep_last: Some(7),
                        ..Retention::default()
                    },
                    ..ScheduleInput::default()
                },
                None,
            )
            .await
            .expect("create");
    }
    println!("{n} schedules saved in {:.2} s", t.elapsed().as_secs_f64());

    let mut idle = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let started = service.tick().await.expect("tick");
        assert_eq!(started, 0);
        idle.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "tick with nothing due: median {:.3} ms (goal ≤ 10 ms)",
        median(idle)
    );

    let timings: Vec<Timing> = (0..n)
        .map(|i| Timing::parse(crons[i % crons.len()], zones[i % zones.len()]).expect("parse"))
        .collect();
    let mut all = Vec::new();
    for round in 0..50 {
        let at = NOW + round * 3_600_000;
        let t = Instant::now();
        let next: usize = timings.iter().filter_map(|x| x.next_after(at)).count();
        assert_eq!(next, n);
        all.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "next run of all {n} schedules decided: median {:.3} ms (goal ≤ 10 ms)",
        median(all)
    );
}
