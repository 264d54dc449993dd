//! What the page says about each filesystem's future: free bytes and free inodes fitted over
//! the report's points ([`super::forecast`] does the arithmetic), the run-out date with its
//! ~95 % band, the back-test of past forecasts, and the sentence that sums them up.

use app::api::{Backtest, FsForecast, FsPoint, Trend, format_day};

use super::forecast::{self, Fit};
use super::read::FsSeries;
use super::sample::DAY_MS;

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
