//! Storage reports: what the reports page, the REST API (`/api/v1/reports/…`) and the
//! calculator's "use my cluster" exchange, and the server functions the pages call.
//!
//! Every figure comes from `storage_samples`, which each scan writes (the server scans every
//! `[sampling] interval_secs`); nothing is estimated here except the forecasts, which say so.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend::backend;
use super::encode_query_value;

/// Groupings a report can break its figures down by.
pub const REPORT_GROUPS: [&str; 3] = ["node", "keyspace", "table"];
/// Charts the `.svg` and `.csv` routes draw.
pub const REPORT_CHARTS: [&str; 3] = ["storage", "inodes", "forecast"];
/// Longest date range a report covers, in days.
pub const MAX_REPORT_DAYS: i64 = 731;
/// Groups a report lists (the largest); the CSV lists every one.
pub const MAX_REPORT_GROUPS: usize = 100;
/// Days a report covers when the URL names no start.
pub const DEFAULT_REPORT_DAYS: i64 = 30;

/// Date range, grouping and scope of a report (the same on the page and in the API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (UTC). Default: 29 days before `to`.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included. Default: today.
    pub to: Option<String>,
    /// Break figures down by `node` (default), `keyspace` or `table`.
    pub group: Option<String>,
    /// Only this node.
    pub node: Option<String>,
    /// Only this keyspace.
    pub keyspace: Option<String>,
    /// Only this table: `table` or `keyspace.table`.
    pub table: Option<String>,
    /// For `storage.svg` and `storage.csv`: `storage` (default; live, hold, backups), `inodes`
    /// (used and free per filesystem) or `forecast` (disk and inodes used, trend and band).
    pub chart: Option<String>,
}

impl ReportQuery {
    /// `from=…&to=…&…`: every parameter that is set, in a fixed order, URL-encoded.
    pub fn query_string(&self) -> String {
        let pairs: [(&str, &Option<String>); 7] = [
            ("from", &self.from),
            ("to", &self.to),
            ("group", &self.group),
            ("node", &self.node),
            ("keyspace", &self.keyspace),
            ("table", &self.table),
            ("chart", &self.chart),
        ];
        pairs
            .iter()
            .filter_map(|(k, v)| {
                v.as_deref()
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", encode_query_value(v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// The selection's storage at one point in time (sums over its tables).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoragePoint {
    /// Start of the bucket (or the sample's time), Unix ms UTC.
    pub at: i64,
    pub live_bytes: i64,
    /// Bytes only snapshots keep alive.
    pub hold_bytes: i64,
    /// Bytes in `backups/` directories (incremental backups not yet shipped).
    pub backups_bytes: i64,
    pub backups_files: i64,
    pub live_inodes: i64,
    pub hold_inodes: i64,
    /// Bytes of live SSTables that disappeared (compacted away) within this bucket.
    pub compacted_bytes: i64,
}

impl StoragePoint {
    /// Live + hold + backups.
    pub fn total_bytes(&self) -> i64 {
        self.live_bytes + self.hold_bytes + self.backups_bytes
    }
}

/// One group (node, keyspace or table) over the report's range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GroupSummary {
    /// `node1`, `node1/shop` or `node1/shop.orders`.
    pub key: String,
    pub node: String,
    pub keyspace: Option<String>,
    pub table: Option<String>,
    pub table_id: Option<String>,
    /// At the group's last point in the range.
    pub live_bytes: i64,
    pub hold_bytes: i64,
    pub backups_bytes: i64,
    pub backups_files: i64,
    pub live_inodes: i64,
    /// Change of live + hold + backups from the group's first to its last point.
    pub change_bytes: i64,
    /// Measured churn: bytes of live SSTables that disappeared ÷ live bytes, per day, in %.
    pub churn_pct_per_day: Option<f64>,
    /// Fitted growth of live data per day, in % of its mean.
    pub growth_pct_per_day: Option<f64>,
    /// Samples of this group in the range.
    pub samples: i64,
}

/// The filesystems in the selection at one point in time (sums over them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FsPoint {
    pub at: i64,
    /// Capacity minus what Cassandra may still write.
    pub used_bytes: i64,
    /// What Cassandra may still write (free for unprivileged users).
    pub avail_bytes: i64,
    pub total_bytes: i64,
    pub used_inodes: i64,
    pub free_inodes: i64,
    pub total_inodes: i64,
}

/// How well past forecasts did: each day N+k predicted from the days up to N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Backtest {
    /// k: how far ahead each forecast looked, in days.
    pub horizon_days: f64,
    /// Forecasts checked (one per target day in the last 30 days of the range).
    pub forecasts: i64,
    /// Largest error, % of the value reached.
    pub max_error_pct: f64,
    pub median_error_pct: f64,
}

/// A fitted linear trend of what is left (bytes or inodes) and when it runs out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Trend {
    /// Change of the used amount per day (bytes or inodes; negative when it shrinks).
    pub used_per_day: f64,
    /// When the fitted line reaches nothing left (Unix ms), if it does within ten years.
    pub full_at: Option<i64>,
    /// Earliest and latest date of the ~95 % band reaching nothing left.
    pub earliest: Option<i64>,
    pub latest: Option<i64>,
    /// The trend in words.
    pub summary: String,
    pub backtest: Option<Backtest>,
}

/// One filesystem (of a node's data directory): now, and where it is heading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FsForecast {
    pub node: String,
    pub data_dir: String,
    pub total_bytes: i64,
    pub used_bytes: i64,
    pub avail_bytes: i64,
    pub total_inodes: i64,
    pub used_inodes: i64,
    pub free_inodes: i64,
    /// Points the trend was fitted on.
    pub points: i64,
    /// Disk-full forecast (None when there is too little history; see `note`).
    pub bytes: Option<Trend>,
    /// Inode-exhaustion forecast.
    pub inodes: Option<Trend>,
    /// Why there is no forecast, when there is none.
    pub note: Option<String>,
}

/// A table among those with the largest snapshot hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopHold {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    pub hold_bytes: i64,
    pub hold_inodes: i64,
    pub live_bytes: i64,
    /// When it was sampled (Unix ms).
    pub at: i64,
}

/// A snapshot among those whose clearing frees the most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopSnapshot {
    pub node: String,
    pub tag: String,
    pub kind: String,
    pub created_at: i64,
    /// What clearing it frees.
    pub exclusive_hold_bytes: i64,
    pub size_bytes: i64,
    /// `keyspace.table`, comma-separated.
    pub tables: String,
}

/// How and when storage is sampled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SamplingInfo {
    /// `[sampling] interval_secs`.
    pub interval_secs: u64,
    /// `[sampling] keep_hourly_days`: older samples are kept one per day.
    pub keep_hourly_days: u64,
    /// Configured nodes.
    pub nodes: i64,
    pub first_sample_at: Option<i64>,
    pub last_sample_at: Option<i64>,
    /// When the sampler runs next (Unix ms), when it runs in this server.
    pub next_sample_at: Option<i64>,
}

/// Measured figures of one scope (a node, keyspace or table, or everything) over a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Measured {
    /// `all nodes`, `node1`, `node1/shop` or `node1/shop.orders`.
    pub scope: String,
    /// Samples (one per scan) in the window.
    pub samples: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    /// At the last sample.
    pub live_bytes: i64,
    pub hold_bytes: i64,
    pub backups_bytes: i64,
    /// Bytes of live SSTables that disappeared between the samples.
    pub compacted_bytes: i64,
    /// Σ live bytes at each interval's start × its length in days (the churn's denominator).
    pub live_byte_days: f64,
    /// compacted_bytes ÷ live_byte_days, in % per day.
    pub churn_pct_per_day: Option<f64>,
    /// Fitted growth of live data per day, % of its mean.
    pub growth_pct_per_day: Option<f64>,
}

/// Everything the reports page shows for one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReportDto {
    /// The query with its defaults filled in (`from`, `to`, `group`).
    pub query: ReportQuery,
    /// The range, Unix ms: [from_ms, to_ms).
    pub from_ms: i64,
    pub to_ms: i64,
    /// What one point stands for: `sample` (each scan), `hour` or `day` (averages).
    pub bucket: String,
    pub storage: Vec<StoragePoint>,
    /// The largest groups (at most [`MAX_REPORT_GROUPS`]), largest first; the CSV has all.
    pub groups: Vec<GroupSummary>,
    /// How many groups there are in all.
    pub groups_total: i64,
    pub filesystems: Vec<FsPoint>,
    pub forecasts: Vec<FsForecast>,
    pub top_holds: Vec<TopHold>,
    pub top_snapshots: Vec<TopSnapshot>,
    /// The whole selection's measured churn and growth over the range.
    pub measured: Measured,
    pub sampling: SamplingInfo,
}

/// A scope "use my cluster" can measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureScope {
    /// `` (everything), `node1`, `node1/shop` or `node1/shop.orders`.
    pub value: String,
    pub label: String,
}

/// Splits a scope value `node[/keyspace[.table]]` into its parts (empty = everything).
pub fn parse_scope(value: &str) -> (Option<String>, Option<String>, Option<String>) {
    let value = value.trim();
    if value.is_empty() {
        return (None, None, None);
    }
    let (node, rest) = match value.split_once('/') {
        Some((n, r)) => (n, Some(r)),
        None => (value, None),
    };
    let (keyspace, table) = match rest.map(|r| r.split_once('.').unwrap_or((r, ""))) {
        Some((k, t)) => (
            Some(k.to_string()).filter(|k| !k.is_empty()),
            Some(t.to_string()).filter(|t| !t.is_empty()),
        ),
        None => (None, None),
    };
    (Some(node.to_string()), keyspace, table)
}

/// The storage report for a date range, grouping and scope.
#[server(prefix = "/rpc", endpoint = "report", input = leptos::server_fn::codec::Json)]
pub async fn get_report(query: ReportQuery) -> Result<ReportDto, ServerFnError> {
    backend()?.report(query).await.map_err(ServerFnError::new)
}

/// The scopes "use my cluster" offers (from the samples taken so far).
#[server(prefix = "/rpc", endpoint = "measure_scopes")]
pub async fn get_measure_scopes() -> Result<Vec<MeasureScope>, ServerFnError> {
    backend()?
        .measure_scopes()
        .await
        .map_err(ServerFnError::new)
}

/// Measured live data, churn and growth of a scope over the last `days` days (default 7).
#[server(prefix = "/rpc", endpoint = "measured")]
pub async fn get_measured(scope: String, days: Option<i64>) -> Result<Measured, ServerFnError> {
    backend()?
        .measured(scope, days)
        .await
        .map_err(ServerFnError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_split_into_node_keyspace_and_table() {
        assert_eq!(parse_scope(""), (None, None, None));
        assert_eq!(parse_scope("node1"), (Some("node1".into()), None, None));
        assert_eq!(
            parse_scope("node.1/shop"),
            (Some("node.1".into()), Some("shop".into()), None)
        );
        assert_eq!(
            parse_scope("node1/shop.orders"),
            (
                Some("node1".into()),
                Some("shop".into()),
                Some("orders".into())
            )
        );
    }

    #[test]
    fn query_strings_keep_set_parameters_encoded() {
        let q = ReportQuery {
            from: Some("2026-01-01".into()),
            group: Some("table".into()),
            table: Some("shop.orders".into()),
            node: Some("a b&c".into()),
            ..ReportQuery::default()
        };
        assert_eq!(
            q.query_string(),
            "from=2026-01-01&group=table&node=a%20b%26c&table=shop.orders"
        );
        assert_eq!(ReportQuery::default().query_string(), "");
    }
}
