//! Report queries: a [`ReportQuery`] is checked once into a [`Selection`] (dates, grouping,
//! scope, the bucket one point stands for), then [`Report::build`] reads the samples in range
//! and computes what the page, the JSON API, the charts and the CSV show.
//!
//! Within a bucket each series' samples are averaged, then series are summed per group; a
//! bucket's compacted bytes are summed. A report reads the coarsest series level that still
//! answers it: per node rollups when it is grouped by node, per keyspace rollups when grouped
//! by keyspace, tables only when it needs tables.

use std::collections::HashMap;

use app::api::{
    Backtest, FsForecast, FsPoint, GroupSummary, MAX_REPORT_DAYS, MAX_REPORT_GROUPS, MeasureScope,
    Measured, REPORT_CHARTS, REPORT_GROUPS, ReportDto, ReportQuery, SamplingInfo, StoragePoint,
    TopHold, TopSnapshot, Trend, format_day, parse_day,
};
use futures::TryStreamExt as _;
use sqlx::SqlitePool;

use super::forecast::{self, Fit};
use super::sample::{DAY_MS, LEVEL_KEYSPACE, LEVEL_NODE, LEVEL_TABLE, day_start};
use super::{ReportService, ReportsError};
use crate::snapshots::service::is_system_keyspace;

const HOUR_MS: i64 = 3_600_000;

/// How a report breaks its figures down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Node,
    Keyspace,
    Table,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Node => "node",
            Group::Keyspace => "keyspace",
            Group::Table => "table",
        }
    }
    fn level(self) -> i64 {
        match self {
            Group::Node => LEVEL_NODE,
            Group::Keyspace => LEVEL_KEYSPACE,
            Group::Table => LEVEL_TABLE,
        }
    }
}

/// What one point of a report stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Each sample (each scan) is a point.
    Sample,
    Hour,
    Day,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Sample => "sample",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }
    /// The start of the bucket holding `at`.
    pub fn of(self, at: i64) -> i64 {
        match self {
            Bucket::Sample => at,
            Bucket::Hour => at.div_euclid(HOUR_MS) * HOUR_MS,
            Bucket::Day => day_start(at),
        }
    }
    /// Length of a bucket in ms (0 for samples).
    pub fn width(self) -> i64 {
        match self {
            Bucket::Sample => 0,
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }
}

/// Which chart the `.svg`/`.csv` routes draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Storage,
    Inodes,
    Forecast,
}

impl Chart {
    pub fn name(self) -> &'static str {
        match self {
            Chart::Storage => "storage",
            Chart::Inodes => "inodes",
            Chart::Forecast => "forecast",
        }
    }
}

/// Which series a report reads: a node, keyspace and table, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub node: Option<String>,
    pub keyspace: Option<String>,
    pub table: Option<String>,
}

impl Scope {
    /// The finest level the scope names.
    fn level(&self) -> i64 {
        if self.table.is_some() {
            LEVEL_TABLE
        } else if self.keyspace.is_some() {
            LEVEL_KEYSPACE
        } else {
            LEVEL_NODE
        }
    }
    fn matches(&self, s: &SeriesInfo) -> bool {
        self.node.as_ref().is_none_or(|n| *n == s.node)
            && self.keyspace.as_ref().is_none_or(|k| *k == s.keyspace)
            && self.table.as_ref().is_none_or(|t| *t == s.table)
    }
    /// `all nodes`, `node1`, `node1/shop`, `node1/shop.orders` (or `shop.orders on every node`).
    pub fn label(&self) -> String {
        let inner = match (&self.keyspace, &self.table) {
            (Some(k), Some(t)) => Some(format!("{k}.{t}")),
            (Some(k), None) => Some(k.clone()),
            (None, Some(t)) => Some(format!("table {t}")),
            (None, None) => None,
        };
        match (&self.node, inner) {
            (Some(n), Some(i)) => format!("{n}/{i}"),
            (Some(n), None) => n.clone(),
            (None, Some(i)) => format!("{i} on every node"),
            (None, None) => "all nodes".into(),
        }
    }
}

/// A checked report query.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The query with defaults filled in.
    pub query: ReportQuery,
    pub from_ms: i64,
    /// Exclusive.
    pub to_ms: i64,
    pub group: Group,
    pub scope: Scope,
    pub bucket: Bucket,
    pub chart: Chart,
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 48 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Checks a query: dates `YYYY-MM-DD` (UTC) not reversed and at most [`MAX_REPORT_DAYS`]
/// days apart, a known grouping and chart, names that can be Cassandra names. `now` fills in
/// the default range (the last 30 days).
pub fn parse(q: &ReportQuery, now: i64) -> Result<Selection, ReportsError> {
    let day = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, ReportsError> {
        match text(v) {
            None => Ok(None),
            Some(s) => parse_day(&s).map(Some).ok_or_else(|| {
                ReportsError::bad(
                    field,
                    format!("{field}=`{s}` is not a date; use YYYY-MM-DD (UTC), e.g. 2026-11-24"),
                )
            }),
        }
    };
    let to = day("to", &q.to)?.unwrap_or_else(|| day_start(now));
    let from = day("from", &q.from)?.unwrap_or(to - (app::api::DEFAULT_REPORT_DAYS - 1) * DAY_MS);
    if from > to {
        return Err(ReportsError::bad(
            "from",
            format!(
                "the date range is reversed: from={} is after to={}; from must be on or before to",
                format_day(from),
                format_day(to)
            ),
        ));
    }
    let days = (to - from) / DAY_MS + 1;
    if days > MAX_REPORT_DAYS {
        return Err(ReportsError::bad(
            "to",
            format!(
                "the date range from={} to={} covers {days} days; a report covers at most {MAX_REPORT_DAYS} days",
                format_day(from),
                format_day(to)
            ),
        ));
    }
    let group = match text(&q.group).as_deref() {
        None | Some("node") => Group::Node,
        Some("keyspace") => Group::Keyspace,
        Some("table") => Group::Table,
        Some(other) => {
            return Err(ReportsError::bad(
                "group",
                format!(
                    "group=`{other}` is not a grouping; use one of {}",
                    REPORT_GROUPS.join(", ")
                ),
            ));
        }
    };
    let chart = match text(&q.chart).as_deref() {
        None | Some("storage") => Chart::Storage,
        Some("inodes") => Chart::Inodes,
        Some("forecast") => Chart::Forecast,
        Some(other) => {
            return Err(ReportsError::bad(
                "chart",
                format!(
                    "chart=`{other}` is not a chart; use one of {}",
                    REPORT_CHARTS.join(", ")
                ),
            ));
        }
    };
    let node = text(&q.node);
    if let Some(n) = &node
        && (n.len() > 64 || n.contains('/'))
    {
        return Err(ReportsError::bad(
            "node",
            format!("node=`{n}` is not a node name (at most 64 characters, no /)"),
        ));
    }
    let mut keyspace = text(&q.keyspace);
    if let Some(k) = &keyspace
        && !is_name(k)
    {
        return Err(ReportsError::bad(
            "keyspace",
            format!("keyspace=`{k}` is not a keyspace name (1–48 letters, digits and _)"),
        ));
    }
    let table = match text(&q.table) {
        None => None,
        Some(t) => {
            let (ks, name) = match t.split_once('.') {
                Some((k, n)) => (Some(k.to_string()), n.to_string()),
                None => (None, t.clone()),
            };
            if !is_name(&name) || ks.as_deref().is_some_and(|k| !is_name(k)) {
                return Err(ReportsError::bad(
                    "table",
                    format!(
                        "table=`{t}` is not a table name; use table or keyspace.table (letters, digits and _)"
                    ),
                ));
            }
            if let (Some(k1), Some(k2)) = (&ks, &keyspace)
                && k1 != k2
            {
                return Err(ReportsError::bad(
                    "table",
                    format!("table=`{t}` names keyspace {k1} but keyspace={k2}"),
                ));
            }
            if ks.is_some() {
                keyspace = ks;
            }
            Some(name)
        }
    };
    let to_ms = to + DAY_MS;
    let bucket = match days {
        ..=2 => Bucket::Sample,
        3..=7 => Bucket::Hour,
        _ => Bucket::Day,
    };
    let query = ReportQuery {
        from: Some(format_day(from)),
        to: Some(format_day(to)),
        group: Some(group.name().to_string()),
        node: node.clone(),
        keyspace: keyspace.clone(),
        table: match (&keyspace, &table) {
            (Some(k), Some(t)) => Some(format!("{k}.{t}")),
            (None, Some(t)) => Some(t.clone()),
            _ => None,
        },
        chart: text(&q.chart),
    };
    Ok(Selection {
        query,
        from_ms: from,
        to_ms,
        group,
        scope: Scope {
            node,
            keyspace,
            table,
        },
        bucket,
        chart,
    })
}

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
    let series: Vec<SeriesInfo> = series.into_iter().filter(|s| scope.matches(s)).collect();
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
    let mut totals: HashMap<i64, StoragePoint> = HashMap::new();
    for (g, points) in per_group.into_iter().enumerate() {
        let mut points: Vec<StoragePoint> = points.into_values().collect();
        points.sort_by_key(|p| p.at);
        for p in &points {
            let t = totals.entry(p.at).or_insert(StoragePoint {
                at: p.at,
                ..StoragePoint::default()
            });
            t.live_bytes += p.live_bytes;
            t.live_inodes += p.live_inodes;
            t.hold_bytes += p.hold_bytes;
            t.hold_inodes += p.hold_inodes;
            t.backups_bytes += p.backups_bytes;
            t.backups_files += p.backups_files;
            t.compacted_bytes += p.compacted_bytes;
        }
        data.groups[g].points = points;
    }
    data.groups.retain(|g| !g.points.is_empty());
    data.compacted_bytes = data.groups.iter().map(|g| g.compacted_bytes).sum();
    data.live_byte_days = data.groups.iter().map(|g| g.live_byte_days).sum();
    let mut totals: Vec<StoragePoint> = totals.into_values().collect();
    totals.sort_by_key(|p| p.at);
    data.totals = totals;
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

fn churn_pct(compacted: i64, live_byte_days: f64) -> Option<f64> {
    (live_byte_days > 0.0).then(|| compacted as f64 / live_byte_days * 100.0)
}

fn live_growth(points: &[StoragePoint]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.at as f64 / DAY_MS as f64, p.live_bytes as f64))
        .collect();
    forecast::growth_pct(&pts)
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
                FsPoint {
                    at,
                    used_bytes: tb - ab,
                    avail_bytes: ab,
                    total_bytes: tb,
                    used_inodes: ti - fi,
                    free_inodes: fi,
                    total_inodes: ti,
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

/// Fitted trends of one filesystem, with the lines the forecast chart draws.
#[derive(Debug, Clone)]
pub struct FsTrend {
    pub forecast: FsForecast,
    /// Fits of what is left: (avail bytes, free inodes) over days.
    pub bytes_fit: Option<Fit>,
    pub inodes_fit: Option<Fit>,
    /// Observed (day, % of disk used) and (day, % of inodes used).
    pub bytes_pct: Vec<(f64, f64)>,
    pub inodes_pct: Vec<(f64, f64)>,
    /// Capacity at the last point, bytes and inodes.
    pub total_bytes: f64,
    pub total_inodes: f64,
    pub first_day: f64,
    pub last_day: f64,
}

/// Days a forecast looks ahead at most.
pub const FORECAST_YEARS_DAYS: f64 = 3650.0;
/// k of the back-test: each forecast predicts this many days ahead.
pub const BACKTEST_HORIZON_DAYS: f64 = 7.0;
/// Days of history each back-test forecast is fitted on.
pub const BACKTEST_WINDOW_DAYS: f64 = 14.0;
/// Target days the back-test checks (the last ones of the range).
pub const BACKTEST_RECENT_DAYS: f64 = 30.0;

fn trend_words(what: &str, fit: &Fit, run: &forecast::RunOut, now_day: f64, unit: &str) -> String {
    let day = |d: f64| format_day((d * DAY_MS as f64) as i64);
    let per_day = -fit.slope;
    if fit.slope >= 0.0 && run.at.is_none() {
        return format!(
            "Not filling: free {what} grow or hold steady ({} {unit} a day).",
            fmt_signed(per_day)
        );
    }
    match (run.at, run.earliest, run.latest) {
        (Some(at), ..) if at <= now_day + 1e-9 => format!("Already out of {what}."),
        (Some(at), lo, Some(hi)) => format!(
            "{} full around {} (95 % band {} to {}), using {} {unit} a day.",
            capitalize(what),
            day(at),
            day(lo.unwrap_or(at)),
            day(hi),
            fmt_signed(per_day)
        ),
        (Some(at), lo, None) => format!(
            "{} full around {} (95 % band from {}; the band also allows it never to fill), using {} {unit} a day.",
            capitalize(what),
            day(at),
            lo.map(day).unwrap_or_else(|| day(at)),
            fmt_signed(per_day)
        ),
        (None, Some(lo), _) => format!(
            "Not full within ten years at this trend ({} {unit} a day), though the 95 % band reaches full by {}.",
            fmt_signed(per_day),
            day(lo)
        ),
        (None, None, _) => format!(
            "Not full within ten years at this trend ({} {unit} a day).",
            fmt_signed(per_day)
        ),
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn fmt_signed(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 1e12 {
        format!("{:.1} T", a / 1e12)
    } else if a >= 1e9 {
        format!("{:.1} G", a / 1e9)
    } else if a >= 1e6 {
        format!("{:.1} M", a / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} k", a / 1e3)
    } else {
        format!("{a:.0} ")
    };
    let sign = if v < 0.0 { "−" } else { "+" };
    format!("{sign}{}", text.trim_end())
}

/// Trends of one filesystem: free bytes and free inodes fitted over the points, when they
/// span at least a day with three points or more. A point stands for its bucket, so it is
/// fitted at the bucket's middle (`bucket_width` ms wide; 0 for single samples).
pub fn fs_trend(fs: &FsSeries, bucket_width: i64) -> FsTrend {
    let last = fs.points.last().copied().unwrap_or_default();
    let mut forecast = FsForecast {
        node: fs.node.clone(),
        data_dir: fs.data_dir.clone(),
        total_bytes: last.total_bytes,
        used_bytes: last.used_bytes,
        avail_bytes: last.avail_bytes,
        total_inodes: last.total_inodes,
        used_inodes: last.used_inodes,
        free_inodes: last.free_inodes,
        points: fs.points.len() as i64,
        bytes: None,
        inodes: None,
        note: None,
    };
    let span = match (fs.points.first(), fs.points.last()) {
        (Some(a), Some(b)) => b.at - a.at,
        _ => 0,
    };
    let day = |p: &FsPoint| (p.at + bucket_width / 2) as f64 / DAY_MS as f64;
    let mid_day = |p: &FsPoint| (p.at + DAY_MS / 2) as f64 / DAY_MS as f64;
    let pct = |used: i64, total: i64| {
        if total > 0 {
            100.0 * used as f64 / total as f64
        } else {
            0.0
        }
    };
    let mut out = FsTrend {
        forecast: forecast.clone(),
        bytes_fit: None,
        inodes_fit: None,
        bytes_pct: fs
            .points
            .iter()
            .map(|p| (day(p), pct(p.used_bytes, p.total_bytes)))
            .collect(),
        inodes_pct: fs
            .points
            .iter()
            .map(|p| (day(p), pct(p.used_inodes, p.total_inodes)))
            .collect(),
        total_bytes: last.total_bytes as f64,
        total_inodes: last.total_inodes as f64,
        first_day: fs.points.first().map(day).unwrap_or_default(),
        last_day: day(&last),
    };
    if fs.points.len() < 3 || span < DAY_MS {
        forecast.note = Some(format!(
            "A forecast needs at least 3 points spanning a day; this range has {} over {}.",
            fs.points.len(),
            app::api::format_duration_ms(span)
        ));
        out.forecast = forecast;
        return out;
    }
    let now_day = day(&last);
    let horizon = now_day + FORECAST_YEARS_DAYS;
    let bytes_pts: Vec<(f64, f64)> = fs
        .points
        .iter()
        .map(|p| (day(p), p.avail_bytes as f64))
        .collect();
    let inode_pts: Vec<(f64, f64)> = fs
        .points
        .iter()
        .map(|p| (day(p), p.free_inodes as f64))
        .collect();
    let used_daily: Vec<(f64, f64)> = fs
        .daily
        .iter()
        .map(|p| (mid_day(p), p.used_bytes as f64))
        .collect();
    let inodes_daily: Vec<(f64, f64)> = fs
        .daily
        .iter()
        .map(|p| (mid_day(p), p.used_inodes as f64))
        .collect();
    let backtest = |daily: &[(f64, f64)]| {
        forecast::backtest(
            daily,
            BACKTEST_HORIZON_DAYS,
            BACKTEST_WINDOW_DAYS,
            BACKTEST_RECENT_DAYS,
        )
        .map(|b| Backtest {
            horizon_days: BACKTEST_HORIZON_DAYS,
            forecasts: b.forecasts as i64,
            max_error_pct: b.max_error_pct,
            median_error_pct: b.median_error_pct,
        })
    };
    let to_ms = |d: f64| (d * DAY_MS as f64).round() as i64;
    let trend = |fit: &Fit, what: &str, unit: &str, daily: &[(f64, f64)]| {
        let run = forecast::run_out(fit, now_day, horizon);
        Trend {
            used_per_day: -fit.slope,
            full_at: run.at.map(to_ms),
            earliest: run.earliest.map(to_ms),
            latest: run.latest.map(to_ms),
            summary: trend_words(what, fit, &run, now_day, unit),
            backtest: backtest(daily),
        }
    };
    let bytes_fit = forecast::fit(&bytes_pts);
    let inodes_fit = forecast::fit(&inode_pts);
    forecast.bytes = bytes_fit
        .as_ref()
        .map(|f| trend(f, "disk", "bytes", &used_daily));
    forecast.inodes = inodes_fit
        .as_ref()
        .map(|f| trend(f, "inodes", "inodes", &inodes_daily));
    out.forecast = forecast;
    out.bytes_fit = bytes_fit;
    out.inodes_fit = inodes_fit;
    out
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    pub selection: Selection,
    pub storage: StorageData,
    /// Per group (the page and the JSON API only).
    pub groups: Vec<GroupSummary>,
    pub filesystems: Vec<FsSeries>,
    pub trends: Vec<FsTrend>,
}

/// How much of a report to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The page and the JSON API: groups, forecasts, everything.
    Everything,
    /// One chart's CSV (per group).
    Csv(Chart),
    /// One chart's SVG (totals only).
    Svg(Chart),
}

impl Need {
    fn chart(self) -> Option<Chart> {
        match self {
            Need::Everything => None,
            Need::Csv(c) | Need::Svg(c) => Some(c),
        }
    }
}

impl Report {
    /// Reads and computes a report. The storage chart alone reads the coarsest level the
    /// scope allows; everything else reads the grouping's level.
    pub async fn build(
        pool: &SqlitePool,
        selection: Selection,
        need: Need,
    ) -> Result<Report, sqlx::Error> {
        let s = &selection;
        let chart = need.chart();
        let needs_storage = matches!(chart, None | Some(Chart::Storage));
        let needs_fs = chart != Some(Chart::Storage);
        let storage = if needs_storage {
            // Only the CSV lists every group's points; the chart and the page's points are
            // totals, read from the coarsest series the scope allows (node or keyspace
            // rollups, unless the scope names a table).
            let group = match (need, s.scope.level()) {
                (Need::Csv(_), _) => s.group,
                (_, LEVEL_NODE) => Group::Node,
                (_, LEVEL_KEYSPACE) => Group::Keyspace,
                _ => Group::Table,
            };
            let level = s.scope.level().max(group.level());
            storage_data(pool, level, &s.scope, group, s.from_ms, s.to_ms, s.bucket).await?
        } else {
            StorageData::default()
        };
        let filesystems = if needs_fs {
            filesystem_data(pool, s.scope.node.as_deref(), s.from_ms, s.to_ms, s.bucket).await?
        } else {
            Vec::new()
        };
        let groups = if need == Need::Everything {
            let level = s.scope.level().max(s.group.level());
            group_summaries(pool, level, &s.scope, s.group, s.from_ms, s.to_ms).await?
        } else {
            Vec::new()
        };
        let trends = if matches!(chart, None | Some(Chart::Forecast)) {
            filesystems
                .iter()
                .map(|f| fs_trend(f, s.bucket.width()))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Report {
            selection,
            storage,
            groups,
            filesystems,
            trends,
        })
    }

    /// The filesystems summed per bucket.
    pub fn fs_totals(&self) -> Vec<FsPoint> {
        let mut totals: HashMap<i64, FsPoint> = HashMap::new();
        for fs in &self.filesystems {
            for p in &fs.points {
                let t = totals.entry(p.at).or_insert(FsPoint {
                    at: p.at,
                    ..FsPoint::default()
                });
                t.used_bytes += p.used_bytes;
                t.avail_bytes += p.avail_bytes;
                t.total_bytes += p.total_bytes;
                t.used_inodes += p.used_inodes;
                t.free_inodes += p.free_inodes;
                t.total_inodes += p.total_inodes;
            }
        }
        let mut v: Vec<FsPoint> = totals.into_values().collect();
        v.sort_by_key(|p| p.at);
        v
    }

    /// The measured figures of the whole selection.
    pub fn measured(&self) -> Measured {
        measured_of(&self.storage, self.selection.scope.label())
    }
}

fn measured_of(d: &StorageData, scope: String) -> Measured {
    let last = d.totals.last().copied().unwrap_or_default();
    Measured {
        scope,
        samples: d.samples,
        first_at: d.first_at,
        last_at: d.last_at,
        live_bytes: last.live_bytes,
        hold_bytes: last.hold_bytes,
        backups_bytes: last.backups_bytes,
        compacted_bytes: d.compacted_bytes,
        live_byte_days: d.live_byte_days,
        churn_pct_per_day: churn_pct(d.compacted_bytes, d.live_byte_days),
        growth_pct_per_day: live_growth(&d.totals),
    }
}

/// Tables with the largest hold at the last sample in range.
async fn top_holds(pool: &SqlitePool, s: &Selection) -> Result<Vec<TopHold>, sqlx::Error> {
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
            .filter(|r| {
                s.scope.node.as_ref().is_none_or(|n| *n == r.0)
                    && s.scope.keyspace.as_ref().is_none_or(|k| *k == r.1)
                    && s.scope.table.as_ref().is_none_or(|t| *t == r.2)
            })
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
async fn top_snapshots(pool: &SqlitePool, s: &Selection) -> Result<Vec<TopSnapshot>, sqlx::Error> {
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

impl ReportService {
    /// How and when storage is sampled, and the samples so far.
    pub async fn sampling_info(&self) -> Result<SamplingInfo, sqlx::Error> {
        let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT min(taken_at), max(taken_at) FROM storage_samples \
             WHERE resolution IN (0, 1) AND level = 0",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(SamplingInfo {
            interval_secs: self.config().interval_secs,
            keep_hourly_days: self.config().keep_hourly_days,
            nodes: self.node_count() as i64,
            first_sample_at: first,
            last_sample_at: last,
            next_sample_at: self.next_sample_at(),
        })
    }

    /// The report for `query`, as the page and `GET /api/v1/reports/storage` show it.
    pub async fn report(&self, query: &ReportQuery, now: i64) -> Result<ReportDto, ReportsError> {
        let selection = parse(query, now)?;
        let report = Report::build(self.pool(), selection, Need::Everything).await?;
        let s = &report.selection;
        let mut groups = report.groups.clone();
        groups.sort_by(|a, b| {
            (b.live_bytes + b.hold_bytes + b.backups_bytes)
                .cmp(&(a.live_bytes + a.hold_bytes + a.backups_bytes))
                .then_with(|| a.key.cmp(&b.key))
        });
        let groups_total = groups.len() as i64;
        groups.truncate(MAX_REPORT_GROUPS);
        Ok(ReportDto {
            query: s.query.clone(),
            from_ms: s.from_ms,
            to_ms: s.to_ms,
            bucket: s.bucket.name().to_string(),
            storage: report.storage.totals.clone(),
            groups,
            groups_total,
            filesystems: report.fs_totals(),
            forecasts: report.trends.iter().map(|t| t.forecast.clone()).collect(),
            top_holds: top_holds(self.pool(), s).await?,
            top_snapshots: top_snapshots(self.pool(), s).await?,
            measured: report.measured(),
            sampling: self.sampling_info().await?,
        })
    }

    /// Measured live data, churn and growth of `scope` over the `days` before `now` (1–365,
    /// default 7).
    pub async fn measured(
        &self,
        scope: &Scope,
        days: Option<i64>,
        now: i64,
    ) -> Result<Measured, ReportsError> {
        let days = days.unwrap_or(7);
        if !(1..=365).contains(&days) {
            return Err(ReportsError::bad(
                "days",
                format!("days={days} is out of range; use 1–365"),
            ));
        }
        for (field, v) in [("keyspace", &scope.keyspace), ("table", &scope.table)] {
            if let Some(v) = v
                && !is_name(v)
            {
                return Err(ReportsError::bad(
                    field,
                    format!("{field}=`{v}` is not a Cassandra name (1–48 letters, digits and _)"),
                ));
            }
        }
        let data = storage_data(
            self.pool(),
            scope.level(),
            scope,
            Group::Node,
            now - days * DAY_MS,
            now + 1,
            Bucket::Sample,
        )
        .await?;
        Ok(measured_of(&data, scope.label()))
    }

    /// Scopes "use my cluster" offers: everything, each node, and each non-system keyspace
    /// and table sampled so far.
    pub async fn measure_scopes(&self) -> Result<Vec<MeasureScope>, sqlx::Error> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT level, node, keyspace_name, table_name FROM sample_series \
             ORDER BY node, keyspace_name, level, table_name",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        if !rows.is_empty() {
            out.push(MeasureScope {
                value: String::new(),
                label: "All nodes".into(),
            });
        }
        for (level, node, ks, table) in rows {
            if level > LEVEL_NODE && is_system_keyspace(&ks) {
                continue;
            }
            let (value, label) = match level {
                LEVEL_NODE => (node.clone(), format!("Node {node}")),
                LEVEL_KEYSPACE => (format!("{node}/{ks}"), format!("Keyspace {ks} on {node}")),
                _ => (
                    format!("{node}/{ks}.{table}"),
                    format!("Table {ks}.{table} on {node}"),
                ),
            };
            if !out.iter().any(|s: &MeasureScope| s.value == value) {
                out.push(MeasureScope { value, label });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_550_920_176; // 2026-11-24 20:08:40 UTC

    fn q(from: Option<&str>, to: Option<&str>) -> ReportQuery {
        ReportQuery {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            ..ReportQuery::default()
        }
    }

    fn field(e: ReportsError) -> (&'static str, String) {
        match e {
            ReportsError::BadRequest { field, message } => (field, message),
            other => panic!("not a bad request: {other}"),
        }
    }

    #[test]
    fn defaults_are_the_last_30_days_by_node_in_days() {
        let s = parse(&ReportQuery::default(), NOW).expect("defaults");
        assert_eq!(s.query.from.as_deref(), Some("2026-10-26"));
        assert_eq!(s.query.to.as_deref(), Some("2026-11-24"));
        assert_eq!(s.to_ms - s.from_ms, 30 * DAY_MS);
        assert_eq!(s.group, Group::Node);
        assert_eq!(s.bucket, Bucket::Day);
        assert_eq!(s.chart, Chart::Storage);
        let s = parse(&q(Some("2026-11-23"), Some("2026-11-24")), NOW).expect("two days");
        assert_eq!(s.bucket, Bucket::Sample);
        let s = parse(&q(Some("2026-11-18"), Some("2026-11-24")), NOW).expect("a week");
        assert_eq!(s.bucket, Bucket::Hour);
    }

    #[test]
    fn reversed_wide_and_malformed_ranges_are_refused_with_the_limit() {
        let (f, m) =
            field(parse(&q(Some("2026-11-25"), Some("2026-11-24")), NOW).expect_err("reversed"));
        assert_eq!(f, "from");
        assert!(m.contains("reversed") && m.contains("2026-11-25"), "{m}");
        let (f, m) =
            field(parse(&q(Some("2020-01-01"), Some("2026-11-24")), NOW).expect_err("wide"));
        assert_eq!(f, "to");
        assert!(m.contains("at most 731 days"), "{m}");
        assert!(
            parse(&q(Some("2024-11-24"), Some("2026-11-23")), NOW).is_ok(),
            "731 days"
        );
        let (f, m) = field(parse(&q(Some("yesterday"), None), NOW).expect_err("not a date"));
        assert_eq!(f, "from");
        assert!(m.contains("YYYY-MM-DD"), "{m}");
    }

    #[test]
    fn groups_charts_and_names_are_checked() {
        let bad = |query: ReportQuery| field(parse(&query, NOW).expect_err("bad")).0;
        assert_eq!(
            bad(ReportQuery {
                group: Some("cluster".into()),
                ..ReportQuery::default()
            }),
            "group"
        );
        assert_eq!(
            bad(ReportQuery {
                chart: Some("pie".into()),
                ..ReportQuery::default()
            }),
            "chart"
        );
        assert_eq!(
            bad(ReportQuery {
                keyspace: Some("x;drop".into()),
                ..ReportQuery::default()
            }),
            "keyspace"
        );
        assert_eq!(
            bad(ReportQuery {
                keyspace: Some("a".into()),
                table: Some("b.t".into()),
                ..ReportQuery::default()
            }),
            "table"
        );
        let s = parse(
            &ReportQuery {
                table: Some("shop.orders".into()),
                group: Some("table".into()),
                ..ReportQuery::default()
            },
            NOW,
        )
        .expect("table");
        assert_eq!(s.scope.keyspace.as_deref(), Some("shop"));
        assert_eq!(s.scope.table.as_deref(), Some("orders"));
        assert_eq!(s.scope.label(), "shop.orders on every node");
        assert_eq!(s.scope.level(), LEVEL_TABLE);
    }

    #[test]
    fn buckets_start_on_hours_and_days() {
        let t = NOW;
        assert_eq!(Bucket::Sample.of(t), t);
        assert_eq!(Bucket::Hour.of(t) % HOUR_MS, 0);
        assert!(t - Bucket::Hour.of(t) < HOUR_MS);
        assert_eq!(Bucket::Day.of(t), parse_day("2026-11-24").expect("day"));
    }
}
