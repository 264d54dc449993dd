//! The report series as CSV, one file per chart: the storage chart per group and point (the
//! chart draws their sums), the inodes chart per filesystem and point, and the forecast chart's
//! observed percentages (at the middle of their bucket, where the trend is fitted) and trend
//! lines with their band. Times in UTC (ISO 8601) and Unix ms.

use std::fmt::Write as _;

use super::chart::forecast_horizon;
use super::forecast::Fit;
use super::report::Report;
use super::sample::DAY_MS;
use super::selection::Chart;
use crate::escape::csv_cell;

fn iso(ms: i64) -> String {
    let utc = app::api::format_utc(ms);
    format!("{}Z", utc.trim_end_matches(" UTC").replacen(' ', "T", 1))
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_default()
}

/// Every point of every series with its series, in time order (series order within a time).
fn by_time<'a, S, P: 'a>(
    series: &'a [S],
    points: impl Fn(&'a S) -> &'a [P],
    at: impl Fn(&P) -> i64,
) -> Vec<(&'a S, &'a P)> {
    let mut rows: Vec<(i64, usize, usize)> = Vec::new();
    for (s, one) in series.iter().enumerate() {
        for (i, p) in points(one).iter().enumerate() {
            rows.push((at(p), s, i));
        }
    }
    rows.sort_unstable();
    rows.into_iter()
        .map(|(_, s, i)| (&series[s], &points(&series[s])[i]))
        .collect()
}

/// The CSV of `chart` for a report.
pub fn render(report: &Report, chart: Chart) -> String {
    match chart {
        Chart::Storage => storage(report),
        Chart::Inodes => inodes(report),
        Chart::Forecast => forecast(report),
    }
}

fn storage(report: &Report) -> String {
    let mut out = String::from(
        "time_utc,at_ms,group,node,keyspace,table,table_id,live_bytes,hold_bytes,backups_bytes,backups_files,live_inodes,hold_inodes,compacted_bytes\n",
    );
    for (gs, p) in by_time(&report.storage.groups, |g| &g.points, |p| p.at) {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            iso(p.at),
            p.at,
            csv_cell(&gs.key),
            csv_cell(&gs.node),
            csv_cell(gs.keyspace.as_deref().unwrap_or("")),
            csv_cell(gs.table.as_deref().unwrap_or("")),
            csv_cell(gs.table_id.as_deref().unwrap_or("")),
            p.live_bytes,
            p.hold_bytes,
            p.backups_bytes,
            p.backups_files,
            p.live_inodes,
            p.hold_inodes,
            p.compacted_bytes
        );
    }
    out
}

fn inodes(report: &Report) -> String {
    let mut out = String::from(
        "time_utc,at_ms,node,data_dir,used_inodes,free_inodes,total_inodes,used_bytes,avail_bytes,total_bytes\n",
    );
    for (fs, p) in by_time(&report.filesystems, |f| &f.points, |p| p.at) {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            iso(p.at),
            p.at,
            csv_cell(&fs.node),
            csv_cell(&fs.data_dir),
            p.used_inodes,
            p.free_inodes,
            p.total_inodes,
            p.used_bytes,
            p.avail_bytes,
            p.total_bytes
        );
    }
    out
}

fn forecast(report: &Report) -> String {
    let mut out = String::from(
        "time_utc,at_ms,node,data_dir,series,disk_used_pct,disk_low_pct,disk_high_pct,inodes_used_pct,inodes_low_pct,inodes_high_pct\n",
    );
    let ahead = forecast_horizon(&report.trends);
    for t in &report.trends {
        let node = csv_cell(&t.forecast.node);
        let dir = csv_cell(&t.forecast.data_dir);
        for (b, i) in t.bytes_pct.iter().zip(&t.inodes_pct) {
            let at = (b.0 * DAY_MS as f64).round() as i64;
            let _ = writeln!(
                out,
                "{},{at},{node},{dir},observed,{},,,{},,",
                iso(at),
                pct(Some(b.1)),
                pct(Some(i.1))
            );
        }
        if t.bytes_fit.is_none() && t.inodes_fit.is_none() {
            continue;
        }
        // One trend row a day from the first point to the horizon. The fit is of what is left;
        // `low` is the band edge with more left (optimistic), `high` with less.
        let to_pct = |left: f64, total: f64| (total > 0.0).then(|| 100.0 * (1.0 - left / total));
        let mut x = t.first_day;
        while x <= t.last_day + ahead + 1e-9 {
            let at = (x * DAY_MS as f64).round() as i64;
            let line = |fit: &Option<Fit>, total: f64| match fit {
                Some(f) => (
                    to_pct(f.predict(x), total),
                    to_pct(f.predict(x) + f.band(x), total),
                    to_pct(f.predict(x) - f.band(x), total),
                ),
                None => (None, None, None),
            };
            let (bu, bl, bh) = line(&t.bytes_fit, t.total_bytes);
            let (iu, il, ih) = line(&t.inodes_fit, t.total_inodes);
            let _ = writeln!(
                out,
                "{},{at},{node},{dir},trend,{},{},{},{},{},{}",
                iso(at),
                pct(bu),
                pct(bl),
                pct(bh),
                pct(iu),
                pct(il),
                pct(ih)
            );
            x += 1.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_utc() {
        assert_eq!(iso(1_795_550_920_176), "2026-11-24T20:08:40Z");
    }
}
