//! What travels between the server and the browser: the data-transfer objects of the
//! inventory (nodes, filesystems, tables, jobs), the server functions the pages call, and the
//! [`Backend`] the server implements for them.

pub mod auth;
pub mod reports;
pub mod restores;
pub mod snapshots;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub use auth::*;
pub use reports::*;
pub use restores::*;
pub use snapshots::*;

/// One filesystem holding a data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FilesystemDto {
    pub data_dir: String,
    pub total_bytes: Option<i64>,
    pub avail_bytes: Option<i64>,
    pub free_bytes: Option<i64>,
    pub total_inodes: Option<i64>,
    pub free_inodes: Option<i64>,
    /// Why the directory could not be scanned, if it could not.
    pub error: Option<String>,
}

/// One Cassandra node and what Snapkeep last saw of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeDto {
    pub name: String,
    pub cql: String,
    pub jmx: String,
    pub reachable: bool,
    /// Cassandra version reported by nodetool.
    pub version: Option<String>,
    /// Why the node is unreachable, when it is.
    pub error: Option<String>,
    /// When the node was last checked (Unix ms, UTC).
    pub checked_at: Option<i64>,
    /// When its data directories were last scanned successfully (Unix ms, UTC).
    pub scanned_at: Option<i64>,
    pub filesystems: Vec<FilesystemDto>,
    /// Bytes and inodes kept alive only by snapshots on this node (each inode once).
    pub hold_bytes: i64,
    pub hold_inodes: i64,
}

/// One table of one node, from the last good scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableDto {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    /// Table id (32 hex digits, as in the directory name).
    pub id: String,
    /// False when the directory's id matches no live table (a dropped or re-created table).
    pub in_schema: bool,
    pub live_bytes: i64,
    pub live_files: i64,
    pub sstables: i64,
    pub snapshot_count: i64,
    /// Bytes linked from `snapshots/` (each inode once per table).
    pub snapshots_bytes: i64,
    /// Bytes only snapshots keep alive.
    pub hold_bytes: i64,
    pub backups_bytes: i64,
    pub backups_files: i64,
}

/// A long operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct JobDto {
    pub id: i64,
    pub kind: String,
    /// `queued`, `running`, `done`, `failed` or `interrupted`.
    pub state: String,
    pub progress: f64,
    pub message: String,
    pub error: Option<String>,
}

impl JobDto {
    pub fn finished(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed" | "interrupted")
    }
}

/// Everything the Overview page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverviewDto {
    pub nodes: Vec<NodeDto>,
    pub tables: Vec<TableDto>,
    pub unknown_dirs: Vec<String>,
    /// A scan under way, if any.
    pub running: Option<JobDto>,
    /// What full-node restores set aside and still keep.
    #[serde(default)]
    pub aside: Vec<AsideDto>,
}

/// Files a full-node restore set aside (a table's previous SSTables or the commit log's
/// segments), kept until an admin removes them or their time passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AsideDto {
    pub restore_id: i64,
    pub node: String,
    pub path: String,
    /// `sstables` or `commitlog`.
    pub kind: String,
    /// The table (`keyspace.table`) or `commit log`.
    pub what: String,
    pub bytes: i64,
    pub files: i64,
    pub set_aside_at: i64,
    pub keep_until: i64,
}

/// What the server provides to server functions (through Leptos context).
#[cfg(feature = "ssr")]
pub trait Backend: Send + Sync {
    fn overview(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<OverviewDto, String>> + Send + '_>>;
    fn start_scan(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<JobDto, String>> + Send + '_>>;
    fn job(&self, id: i64) -> BoxFuture<'_, Option<JobDto>>;
    fn settings(&self, user: CurrentUser) -> BoxFuture<'_, SettingsDto>;
    fn revoke_token(&self, user: CurrentUser, id: i64) -> BoxFuture<'_, ()>;
    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, AuditPage>;
    fn list_restores(&self) -> BoxFuture<'_, Vec<RestoreDto>>;
    fn restore(&self, id: i64) -> BoxFuture<'_, Option<RestoreDto>>;
    fn plan_restore(&self, input: RestoreInput) -> BoxFuture<'_, Plan>;
    fn request_restore(&self, user: CurrentUser, input: RestoreInput) -> BoxFuture<'_, RestoreDto>;
    fn decide_restore(
        &self,
        user: CurrentUser,
        id: i64,
        approve: bool,
        comment: String,
    ) -> BoxFuture<'_, RestoreDto>;
    fn execute_restore(&self, id: i64, resume: bool) -> BoxFuture<'_, RestoreDto>;
    fn cancel_restore(
        &self,
        user: CurrentUser,
        id: i64,
        comment: String,
    ) -> BoxFuture<'_, RestoreDto>;
    fn remove_restore_aside(&self, user: CurrentUser, id: i64) -> BoxFuture<'_, Vec<String>>;
    fn list_snapshots(&self, query: SnapshotQuery) -> BoxFuture<'_, SnapshotPage>;
    fn snapshot(
        &self,
        tag: String,
        node: Option<String>,
    ) -> BoxFuture<'_, Option<SnapshotDetailDto>>;
    fn snapshot_form_options(&self) -> BoxFuture<'_, SnapshotFormOptions>;
    fn create_snapshot(&self, request: CreateSnapshotRequest) -> BoxFuture<'_, SnapshotJobDto>;
    fn clear_snapshot(
        &self,
        tag: String,
        node: Option<String>,
        keyspace: Option<String>,
        table: Option<String>,
    ) -> BoxFuture<'_, SnapshotJobDto>;
    /// The storage report (reports page).
    fn report(&self, query: ReportQuery) -> BoxFuture<'_, ReportDto>;
    /// Scopes the calculator's "use my cluster" offers.
    fn measure_scopes(&self) -> BoxFuture<'_, Vec<MeasureScope>>;
    /// Measured live data, churn and growth of a scope (`node[/keyspace[.table]]`).
    fn measured(&self, scope: String, days: Option<i64>) -> BoxFuture<'_, Measured>;
}

/// What [`Backend`] methods return: a boxed future with a message for the user on error.
#[cfg(feature = "ssr")]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// The shared handle the server puts in context.
#[cfg(feature = "ssr")]
pub type BackendHandle = std::sync::Arc<dyn Backend>;

#[cfg(feature = "ssr")]
fn backend() -> Result<BackendHandle, ServerFnError> {
    use_context::<BackendHandle>()
        .ok_or_else(|| ServerFnError::new("the server provides no backend"))
}

/// Nodes, filesystems and tables from the last good scan.
#[server(prefix = "/rpc", endpoint = "overview")]
pub async fn get_overview() -> Result<OverviewDto, ServerFnError> {
    backend()?.overview().await.map_err(ServerFnError::new)
}

/// Starts a scan of every node (or returns the one already running).
#[server(prefix = "/rpc", endpoint = "scan")]
pub async fn start_scan() -> Result<JobDto, ServerFnError> {
    backend()?.start_scan().await.map_err(ServerFnError::new)
}

/// One job's state.
#[server(prefix = "/rpc", endpoint = "job")]
pub async fn get_job(id: i64) -> Result<Option<JobDto>, ServerFnError> {
    backend()?.job(id).await.map_err(ServerFnError::new)
}

/// Formats bytes with binary units: `1.5 GiB`.
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", bytes.max(0))
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(format_bytes(-5), "0 B");
    }
}

/// Formats Unix milliseconds as UTC, e.g. `2026-11-24 20:08:00 UTC`.
pub fn format_utc(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ms);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Formats Unix milliseconds as a compact UTC stamp for tags: `20261124T200840Z`.
pub fn format_compact_utc(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ms);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// The UTC day of Unix milliseconds: `2026-11-24`.
pub fn format_day(ms: i64) -> String {
    let (y, m, d, ..) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses a UTC day `YYYY-MM-DD` into the Unix milliseconds of its midnight.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&y) || d < 1 || d > days_in_month {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400_000)
}

/// Parses an ISO-8601 UTC time as Cassandra writes it in snapshot manifests
/// (`2026-11-24T20:08:40.123Z`, fraction optional, `Z` or `+00:00`) into Unix milliseconds.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let day = parse_day(date)?;
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut parts = hms.splitn(3, ':');
    let (h, mi, sec) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let millis = if frac.is_empty() {
        0
    } else {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: String = frac.chars().take(3).collect();
        while digits.len() < 3 {
            digits.push('0');
        }
        digits.parse::<i64>().ok()?
    };
    Some(day + (h * 3600 + mi * 60 + sec) * 1000 + millis)
}

/// (year, month, day, hour, minute, second) in UTC of Unix milliseconds.
fn civil(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_550_920_176), "2026-11-24 20:08:40 UTC");
        assert_eq!(format_compact_utc(1_795_550_920_176), "20261124T200840Z");
        assert_eq!(format_day(1_795_550_920_176), "2026-11-24");
    }

    #[test]
    fn manifest_times_and_days_parse() {
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.176Z"),
            Some(1_795_550_920_176)
        );
        assert_eq!(parse_utc("2026-11-24T20:08:40Z"), Some(1_795_550_920_000));
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.1+00:00"),
            Some(1_795_550_920_100)
        );
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.123456789Z"),
            Some(1_795_550_920_123)
        );
        assert_eq!(parse_utc("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_utc("2026-11-24T20:08:40"), None, "no zone");
        assert_eq!(parse_utc("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc("garbage"), None);
        assert_eq!(parse_day("2026-11-24"), Some(1_795_478_400_000));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_day("24-1-1"), None);
        assert_eq!(parse_day("2026-1x-01"), None);
    }

    proptest::proptest! {
        #[test]
        fn formatting_and_parsing_round_trip(ms in 0i64..253_402_300_799_000) {
            let (y, m, d, hh, mm, ss) = civil(ms);
            let iso = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:03}Z", ms.rem_euclid(1000));
            proptest::prop_assert_eq!(parse_utc(&iso), Some(ms));
            proptest::prop_assert_eq!(parse_day(&format_day(ms)), Some(ms - ms.rem_euclid(86_400_000)));
        }
    }
}
