//! The SQL reads behind a report: storage samples of the series a scope matches, averaged per
//! bucket and summed per group; each group's figures between its first and last sample in
//! range; filesystem samples; the tables and snapshots that hold the most.
//!
//! Within a bucket each series' samples are averaged, then series are summed per group; a
//! bucket's compacted bytes are summed.

use std::collections::HashMap;

use app::api::{DiskUse, FsPoint, GroupSummary, StoragePoint, TopHold, TopSnapshot};
use futures::TryStreamExt as _;
use sqlx::SqlitePool;

use super::sample::{DAY_MS, day_start};
use super::selection::{Bucket, Group, Scope, Selection};
use super::totals::sum_per_time;

/// One series of `sample_series`.
#[derive(Debug, Clone, sqlx::FromRow)]
struct SeriesInfo {
    id: i64,
    node: String,
    #[sqlx(rename = "keyspace_name")]
    keyspace: String,
    #[sqlx(rename = "table_name")]
    table: String,
    table_id: String,
}

/// A group of a report, with its points and its churn figures.
#[derive(Debug, Clone)]
pub struct GroupSeries {
    pub key: String,
    pub node: String,
    pub keyspace: Option<String>,
    pub table: Option<String>,
    pub table_id: Option<String>,
    /// (bucket start, sums), sorted by time.
    pub points: Vec<StoragePoint>,
    pub compacted_bytes: i64,
    /// Σ live bytes at each interval's start × its length in days.
    pub live_byte_days: f64,
    pub samples: i64,
}

/// The storage figures of a selection: per group and in total, per bucket.
#[derive(Debug, Clone, Default)]
pub struct StorageData {
    pub totals: Vec<StoragePoint>,
    pub groups: Vec<GroupSeries>,
    pub compacted_bytes: i64,
    pub live_byte_days: f64,
    /// Distinct sample times read.
    pub samples: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
}

fn avg(sum: i64, n: i64) -> i64 {
    if n == 0 {
        0
    } else {
        (sum as f64 / n as f64).round() as i64
    }
}

/// The series at `level` that `scope` matches, and their groups: (groups without points,
/// series id → group index, series, series at that level in all).
async fn series_groups(
    pool: &SqlitePool,
    level: i64,
    scope: &Scope,
    group: Group,
) -> Result<
    (
        Vec<GroupSeries>,
        HashMap<i64, usize>,
        Vec<SeriesInfo>,
        usize,
    ),
    sqlx::Error,
> {
    let series: Vec<SeriesInfo> = sqlx::query_as(
        "SELECT id, node, keyspace_name, table_name, table_id FROM sample_series WHERE level = ? \
         ORDER BY node, keyspace_name, table_name, table_id",
    )
    .bind(level)
    .fetch_all(pool)
    .await?;
    let all = series.len();
    let series: Vec<SeriesInfo> = series
        .into_iter()
        .filter(|s| scope.matches(&s.node, &s.keyspace, &s.table))
        .collect();
    let mut groups: Vec<GroupSeries> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    let mut group_of: HashMap<i64, usize> = HashMap::new();
    for s in &series {
        let (key, keyspace, table, table_id) = match group {
            Group::Node => (s.node.clone(), None, None, None),
            Group::Keyspace => (
                format!("{}/{}", s.node, s.keyspace),
                Some(s.keyspace.clone()),
                None,
                None,
            ),
            Group::Table => (
                format!("{}/{}.{}", s.node, s.keyspace, s.table),
                Some(s.keyspace.clone()),
                Some(s.table.clone()),
                Some(s.table_id.clone()),
            ),
        };
        // A table dropped and re-created has a new id: keep both, told apart by id.
        let key = match (&table_id, group_index.get(&key)) {
            (Some(id), Some(_)) => format!("{key} ({})", &id[..id.len().min(8)]),
            _ => key,
        };
        let g = *group_index.entry(key.clone()).or_insert_with(|| {
            groups.push(GroupSeries {
                key,
                node: s.node.clone(),
                keyspace,
                table,
                table_id,
                points: Vec::new(),
                compacted_bytes: 0,
                live_byte_days: 0.0,
                samples: 0,
            });
            groups.len() - 1
        });
        group_of.insert(s.id, g);
    }
    Ok((groups, group_of, series, all))
}

/// `AND series_id IN (…)` when the scope leaves out some series and names few enough.
fn series_filter(series: &[SeriesInfo], all: usize) -> String {
    if series.len() < all && series.len() <= 500 {
        format!(
            " AND series_id IN ({})",
            series
                .iter()
                .map(|s| s.id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    } else {
        String::new()
    }
}

/// One series in one bucket, summed by SQLite: (series, bucket index, samples, first time,
/// last time, live, live inodes, hold, hold inodes, backups, backups files, compacted, live ×
/// ms before each sample).
type BucketRow = (
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    f64,
);

/// Reads the storage samples at `level` in `[from, to)` of the series `scope` matches, grouped
/// by `group` and bucketed by `bucket`. SQLite sums each series' samples per bucket, so a year
/// of daily buckets sends one row per series and day.
pub async fn storage_data(
    pool: &SqlitePool,
    level: i64,
    scope: &Scope,
    group: Group,
    from: i64,
    to: i64,
    bucket: Bucket,
) -> Result<StorageData, sqlx::Error> {
    let (groups, group_of, series, all) = series_groups(pool, level, scope, group).await?;
    let mut data = StorageData {
        groups,
        ..StorageData::default()
    };
    if series.is_empty() {
        return Ok(data);
    }
    let origin = bucket.of(from);
    let width = bucket.width().max(1);
    let sql = format!(
        "SELECT series_id, (taken_at - ?3) / ?4 AS b, count(*), min(taken_at), max(taken_at), \
         sum(live_bytes), sum(live_inodes), sum(hold_bytes), sum(hold_inodes), sum(backups_bytes), \
         sum(backups_files), sum(compacted_bytes), sum(prev_live_bytes * 1.0 * interval_ms) \
         FROM storage_samples WHERE resolution IN (0, 1) AND level = ?1 AND taken_at >= ?2 \
         AND taken_at < ?5{} GROUP BY series_id, b",
        series_filter(&series, all)
    );
    let mut per_group: Vec<HashMap<i64, StoragePoint>> = vec![HashMap::new(); data.groups.len()];
    let mut samples_of: HashMap<i64, i64> = HashMap::new();
    let mut rows = sqlx::query_as::<_, BucketRow>(&sql)
        .bind(level)
        .bind(from)
        .bind(origin)
        .bind(width)
        .bind(to)
        .fetch(pool);
    while let Some(r) = rows.try_next().await? {
        let (sid, b, n, first, last) = (r.0, r.1, r.2, r.3, r.4);
        let Some(&g) = group_of.get(&sid) else {
            continue;
        };
        *samples_of.entry(sid).or_default() += n;
        data.first_at = Some(data.first_at.map_or(first, |f: i64| f.min(first)));
        data.last_at = Some(data.last_at.map_or(last, |l: i64| l.max(last)));
        let gs = &mut data.groups[g];
        gs.compacted_bytes += r.11;
        gs.live_byte_days += r.12 / DAY_MS as f64;
        let at = origin + b * width;
        let p = per_group[g].entry(at).or_insert(StoragePoint {
            at,
            ..StoragePoint::default()
        });
        p.live_bytes += avg(r.5, n);
        p.live_inodes += avg(r.6, n);
        p.hold_bytes += avg(r.7, n);
        p.hold_inodes += avg(r.8, n);
        p.backups_bytes += avg(r.9, n);
        p.backups_files += avg(r.10, n);
        p.compacted_bytes += r.11;
    }
    drop(rows);
    for (sid, n) in &samples_of {
        if let Some(&g) = group_of.get(sid) {
            let gs = &mut data.groups[g];
            gs.samples = gs.samples.max(*n);
        }
    }
    data.samples = samples_of.values().copied().max().unwrap_or(0);
    for (g, points) in per_group.into_iter().enumerate() {
        let mut points: Vec<StoragePoint> = points.into_values().collect();
        points.sort_by_key(|p| p.at);
        data.groups[g].points = points;
    }
    data.groups.retain(|g| !g.points.is_empty());
    data.compacted_bytes = data.groups.iter().map(|g| g.compacted_bytes).sum();
    data.live_byte_days = data.groups.iter().map(|g| g.live_byte_days).sum();
    data.totals = sum_per_time(data.groups.iter().flat_map(|g| &g.points));
    Ok(data)
}

/// One series' row at a node's first or last sample in range.
type EdgeRow = (i64, i64, i64, i64, i64, i64, i64, i64, f64, i64, f64);

/// Per group, over `[from, to)`: the figures at each node's last sample in range, the change
/// since its first, and churn and growth between them. Reads the running totals at those two
/// samples only (a few rows per series), whatever the length of the range. Series not
/// sampled at their node's last sample in range (dropped tables) are left out.
pub async fn group_summaries(
    pool: &SqlitePool,
    level: i64,
    scope: &Scope,
    group: Group,
    from: i64,
    to: i64,
) -> Result<Vec<GroupSummary>, sqlx::Error> {
    let (groups, group_of, series, all) = series_groups(pool, level, scope, group).await?;
    if series.is_empty() {
        return Ok(Vec::new());
    }
    let nodes: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT s.node, min(m.taken_at), max(m.taken_at), sum(m.samples) FROM storage_samples m \
         JOIN sample_series s ON s.id = m.series_id \
         WHERE m.resolution IN (0, 1) AND m.level = 0 AND m.taken_at >= ? AND m.taken_at < ? \
         GROUP BY s.node",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    let edges: HashMap<&str, (i64, i64, i64)> = nodes
        .iter()
        .map(|(n, first, last, count)| (n.as_str(), (*first, *last, *count)))
        .collect();
    let mut times: Vec<i64> = nodes.iter().flat_map(|n| [n.1, n.2]).collect();
    times.sort_unstable();
    times.dedup();
    if times.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT taken_at, series_id, live_bytes, hold_bytes, backups_bytes, backups_files, live_inodes, \
         compacted_bytes, prev_live_bytes * 1.0 * interval_ms, cum_compacted_bytes, cum_live_byte_days \
         FROM storage_samples WHERE resolution IN (0, 1) AND level = ? AND taken_at IN ({}){}",
        times
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(","),
        series_filter(&series, all)
    );
    let rows: Vec<EdgeRow> = sqlx::query_as(&sql).bind(level).fetch_all(pool).await?;
    let at: HashMap<(i64, i64), EdgeRow> = rows.into_iter().map(|r| ((r.0, r.1), r)).collect();

    #[derive(Default)]
    struct Sums {
        end: StoragePoint,
        start_total: i64,
        start_live: f64,
        end_live_of_started: f64,
        compacted: i64,
        live_byte_days: f64,
        span_days: f64,
        samples: i64,
        seen: bool,
    }
    let mut sums: Vec<Sums> = (0..groups.len()).map(|_| Sums::default()).collect();
    for s in &series {
        let (Some(&g), Some(&(first, last, count))) =
            (group_of.get(&s.id), edges.get(s.node.as_str()))
        else {
            continue;
        };
        let Some(end) = at.get(&(last, s.id)) else {
            continue;
        };
        let start = at.get(&(first, s.id));
        let acc = &mut sums[g];
        acc.seen = true;
        acc.end.live_bytes += end.2;
        acc.end.hold_bytes += end.3;
        acc.end.backups_bytes += end.4;
        acc.end.backups_files += end.5;
        acc.end.live_inodes += end.6;
        acc.samples = acc.samples.max(count);
        acc.span_days = acc.span_days.max((last - first) as f64 / DAY_MS as f64);
        // Running totals just before the range's first sample: that sample's own interval
        // counts, as it does in the report's points.
        let (c0, e0) = match start {
            Some(r) => (r.9 - r.7, r.10 - r.8 / DAY_MS as f64),
            None => (0, 0.0),
        };
        acc.compacted += end.9 - c0;
        acc.live_byte_days += end.10 - e0;
        if let Some(r) = start {
            acc.start_total += r.2 + r.3 + r.4;
            acc.start_live += r.2 as f64;
            acc.end_live_of_started += end.2 as f64;
        }
    }
    Ok(groups
        .into_iter()
        .zip(sums)
        .filter(|(_, s)| s.seen)
        .map(|(g, s)| GroupSummary {
            key: g.key,
            node: g.node,
            keyspace: g.keyspace,
            table: g.table,
            table_id: g.table_id,
            live_bytes: s.end.live_bytes,
            hold_bytes: s.end.hold_bytes,
            backups_bytes: s.end.backups_bytes,
            backups_files: s.end.backups_files,
            live_inodes: s.end.live_inodes,
            change_bytes: s.end.total_bytes() - s.start_total,
            churn_pct_per_day: churn_pct(s.compacted, s.live_byte_days),
            growth_pct_per_day: (s.span_days > 0.0 && s.start_live > 0.0).then(|| {
                (s.end_live_of_started - s.start_live) / s.start_live / s.span_days * 100.0
            }),
            samples: s.samples,
        })
        .collect())
}

pub(super) fn churn_pct(compacted: i64, live_byte_days: f64) -> Option<f64> {
    (live_byte_days > 0.0).then(|| compacted as f64 / live_byte_days * 100.0)
}

/// One filesystem's points.
#[derive(Debug, Clone)]
pub struct FsSeries {
    pub node: String,
    pub data_dir: String,
    pub points: Vec<FsPoint>,
    /// Daily means, for the back-test.
    pub daily: Vec<FsPoint>,
}

type FsRow = (i64, i64, i64, i64, i64, i64);

/// Filesystem samples in `[from, to)` of the nodes `node` matches (all when None).
pub async fn filesystem_data(
    pool: &SqlitePool,
    node: Option<&str>,
    from: i64,
    to: i64,
    bucket: Bucket,
) -> Result<Vec<FsSeries>, sqlx::Error> {
    let filesystems: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, node, data_dir FROM sample_filesystems ORDER BY node, data_dir")
            .fetch_all(pool)
            .await?;
    let filesystems: Vec<(i64, String, String)> = filesystems
        .into_iter()
        .filter(|f| node.is_none_or(|n| n == f.1))
        .collect();
    if filesystems.is_empty() {
        return Ok(Vec::new());
    }
    let index: HashMap<i64, usize> = filesystems
        .iter()
        .enumerate()
        .map(|(i, f)| (f.0, i))
        .collect();
    let rows: Vec<FsRow> = sqlx::query_as(
        "SELECT taken_at, fs_id, total_bytes, avail_bytes, total_inodes, free_inodes \
         FROM filesystem_samples WHERE resolution IN (0, 1) AND taken_at >= ? AND taken_at < ?",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    type Sums = (i64, i64, i64, i64, i64);
    let mut shown: Vec<HashMap<i64, Sums>> = vec![HashMap::new(); filesystems.len()];
    let mut daily: Vec<HashMap<i64, Sums>> = vec![HashMap::new(); filesystems.len()];
    for (at, fs_id, total_b, avail_b, total_i, free_i) in rows {
        let Some(&i) = index.get(&fs_id) else {
            continue;
        };
        for (map, key) in [
            (&mut shown[i], bucket.of(at)),
            (&mut daily[i], day_start(at)),
        ] {
            let e = map.entry(key).or_default();
            e.0 += 1;
            e.1 += total_b;
            e.2 += avail_b;
            e.3 += total_i;
            e.4 += free_i;
        }
    }
    let points = |m: HashMap<i64, Sums>| {
        let mut v: Vec<FsPoint> = m
            .into_iter()
            .map(|(at, (n, tb, ab, ti, fi))| {
                let (tb, ab, ti, fi) = (avg(tb, n), avg(ab, n), avg(ti, n), avg(fi, n));
                let (bytes, inodes) = (DiskUse::new(tb, ab, None), DiskUse::new(ti, fi, None));
                FsPoint {
                    at,
                    used_bytes: bytes.used(),
                    avail_bytes: bytes.free,
                    total_bytes: bytes.total,
                    used_inodes: inodes.used(),
                    free_inodes: inodes.free,
                    total_inodes: inodes.total,
                }
            })
            .collect();
        v.sort_by_key(|p| p.at);
        v
    };
    Ok(filesystems
        .into_iter()
        .zip(shown.into_iter().zip(daily))
        .map(|((_, node, data_dir), (s, d))| FsSeries {
            node,
            data_dir,
            points: points(s),
            daily: points(d),
        })
        .filter(|f| !f.points.is_empty())
        .collect())
}

/// Tables with the largest hold at the last sample in range.
pub async fn top_holds(pool: &SqlitePool, s: &Selection) -> Result<Vec<TopHold>, sqlx::Error> {
    for resolution in [0i64, 1] {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT max(taken_at) FROM storage_samples WHERE resolution = ? AND level = 2 \
             AND taken_at >= ? AND taken_at < ?",
        )
        .bind(resolution)
        .bind(s.from_ms)
        .bind(s.to_ms)
        .fetch_one(pool)
        .await?;
        let Some(at) = at else { continue };
        let rows: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.node, s.keyspace_name, s.table_name, m.hold_bytes, m.hold_inodes, m.live_bytes \
             FROM storage_samples m JOIN sample_series s ON s.id = m.series_id \
             WHERE m.resolution = ? AND m.level = 2 AND m.taken_at = ? AND m.hold_bytes > 0 \
             ORDER BY m.hold_bytes DESC",
        )
        .bind(resolution)
        .bind(at)
        .fetch_all(pool)
        .await?;
        return Ok(rows
            .into_iter()
            .filter(|r| s.scope.matches(&r.0, &r.1, &r.2))
            .take(10)
            .map(|r| TopHold {
                node: r.0,
                keyspace: r.1,
                table: r.2,
                hold_bytes: r.3,
                hold_inodes: r.4,
                live_bytes: r.5,
                at,
            })
            .collect());
    }
    Ok(Vec::new())
}

/// Snapshots on disk whose clearing frees the most (their exclusive hold).
pub async fn top_snapshots(
    pool: &SqlitePool,
    s: &Selection,
) -> Result<Vec<TopSnapshot>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT sn.node, sn.tag, sn.kind, sn.created_at, sn.exclusive_hold_bytes, sn.size_bytes, sn.tables \
         FROM snapshots sn WHERE sn.status = 'present' AND sn.exclusive_hold_bytes > 0 \
         AND (?1 IS NULL OR sn.node = ?1) \
         AND (?2 IS NULL OR EXISTS (SELECT 1 FROM snapshot_tables st WHERE st.snapshot_id = sn.id \
              AND st.keyspace_name = ?2 AND (?3 IS NULL OR st.table_name = ?3))) \
         AND (?3 IS NULL OR EXISTS (SELECT 1 FROM snapshot_tables st WHERE st.snapshot_id = sn.id \
              AND st.table_name = ?3)) \
         ORDER BY sn.exclusive_hold_bytes DESC LIMIT 10",
    )
    .bind(&s.scope.node)
    .bind(&s.scope.keyspace)
    .bind(&s.scope.table)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TopSnapshot {
            node: r.0,
            tag: r.1,
            kind: r.2,
            created_at: r.3,
            exclusive_hold_bytes: r.4,
            size_bytes: r.5,
            tables: r.6,
        })
        .collect())
}

/// The first and last sample time of any node (None before the first scan).
pub async fn sample_span(pool: &SqlitePool) -> Result<(Option<i64>, Option<i64>), sqlx::Error> {
    sqlx::query_as(
        "SELECT min(taken_at), max(taken_at) FROM storage_samples \
         WHERE resolution IN (0, 1) AND level = 0",
    )
    .fetch_one(pool)
    .await
}

/// Every series sampled so far: (level, node, keyspace, table), by node and keyspace with the
/// rollups first.
pub async fn sampled_series(
    pool: &SqlitePool,
) -> Result<Vec<(i64, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT level, node, keyspace_name, table_name FROM sample_series \
         ORDER BY node, keyspace_name, level, table_name",
    )
    .fetch_all(pool)
    .await
}
