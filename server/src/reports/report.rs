//! A report put together: [`Report::build`] reads what a [`Selection`] needs (the coarsest
//! series level that still answers it: per node rollups when it is grouped by node, per
//! keyspace rollups when grouped by keyspace, tables only when it needs tables) and fits the
//! trends; [`ReportService`] turns it into what the page and the JSON API show.

use app::api::{
    FsPoint, GroupSummary, MAX_REPORT_GROUPS, MeasureScope, Measured, ReportDto, ReportQuery,
    SamplingInfo, StoragePoint,
};
use sqlx::SqlitePool;

use super::input::{measured_days, parse};
use super::read::{
    FsSeries, StorageData, churn_pct, filesystem_data, group_summaries, sample_span,
    sampled_series, storage_data, top_holds, top_snapshots,
};
use super::sample::{DAY_MS, LEVEL_KEYSPACE, LEVEL_NODE};
use super::selection::{Bucket, Chart, Group, Scope, Selection};
use super::totals::sum_per_time;
use super::trend::{FsTrend, fs_trend};
use super::{ReportService, ReportsError, forecast};
use crate::snapshots::service::is_system_keyspace;

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
        sum_per_time(self.filesystems.iter().flat_map(|fs| &fs.points))
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

fn live_growth(points: &[StoragePoint]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.at as f64 / DAY_MS as f64, p.live_bytes as f64))
        .collect();
    forecast::growth_pct(&pts)
}

impl ReportService {
    /// How and when storage is sampled, and the samples so far.
    pub async fn sampling_info(&self) -> Result<SamplingInfo, sqlx::Error> {
        let (first, last) = sample_span(self.pool()).await?;
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
        let days = measured_days(scope, days)?;
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
        let rows = sampled_series(self.pool()).await?;
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
