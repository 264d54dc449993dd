//! When a schedule runs: a cron expression read on the wall clock of a time zone.
//!
//! The expression is matched on local wall-clock times (croner searches them as if they were
//! UTC, which has no daylight-saving changes); this module alone turns a wall-clock time into
//! an instant, with the rules of Vixie cron:
//! - a wall-clock time the clock skips (spring forward) runs when the clock jumps, at the
//!   first instant after the gap; several skipped times run once there;
//! - a wall-clock time the clock passes twice (fall back) runs once, on its first pass.

use std::str::FromStr as _;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

/// Runs closer together than this are refused (a snapshot is a nodetool JVM and a scan).
pub const MIN_INTERVAL_MS: i64 = 10_000;

/// A parsed cron expression and its time zone.
#[derive(Debug, Clone)]
pub struct Timing {
    cron: Cron,
    tz: Tz,
}

/// Why a cron expression or time zone is refused, in a sentence with an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error(
        "cron expression `{expr}` is not valid: {why}; write 5 fields (minute hour day-of-month month day-of-week), e.g. `0 2 * * *` for 02:00 every day, or 6 with seconds first"
    )]
    Cron { expr: String, why: String },
    #[error(
        "time zone `{0}` is not known; use an IANA name such as `UTC`, `Europe/Berlin` or `America/New_York`"
    )]
    TimeZone(String),
    #[error("cron expression `{0}` never matches a future time")]
    Never(String),
    #[error(
        "cron expression `{0}` runs more often than every {secs} seconds; snapshots that often only add load",
        secs = MIN_INTERVAL_MS / 1000
    )]
    TooOften(String),
}

impl Timing {
    /// Parses `expr` (5 fields, or 6 with seconds first, or `@daily`-style nicknames) in the
    /// IANA time zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<Self, TimingError> {
        let expr = expr.trim();
        let zone = Tz::from_str(tz.trim()).map_err(|_| TimingError::TimeZone(tz.to_string()))?;
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(expr)
            .map_err(|e| TimingError::Cron {
                expr: expr.to_string(),
                why: e.to_string(),
            })?;
        Ok(Self { cron, tz: zone })
    }

    /// Parses and checks that the expression has a future time and is not too frequent
    /// (judged on its next runs after `now_ms`).
    pub fn parse_checked(expr: &str, tz: &str, now_ms: i64) -> Result<Self, TimingError> {
        let timing = Self::parse(expr, tz)?;
        let runs = timing.next_runs(now_ms, 6);
        if runs.is_empty() {
            return Err(TimingError::Never(expr.trim().to_string()));
        }
        if runs.windows(2).any(|w| w[1] - w[0] < MIN_INTERVAL_MS) {
            return Err(TimingError::TooOften(expr.trim().to_string()));
        }
        Ok(timing)
    }

    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The first run strictly after `after_ms` (Unix ms), or `None` when there is none.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let after = DateTime::<Utc>::from_timestamp_millis(after_ms)?;
        let mut wall = after.with_timezone(&self.tz).naive_local();
        // Each step moves the wall clock forward; a bound keeps a pathological zone finite.
        for _ in 0..10_000 {
            let next = self
                .cron
                .find_next_occurrence(&Utc.from_utc_datetime(&wall), false)
                .ok()?
                .naive_utc();
            if let Some(at) = self.instant(next)
                && at > after_ms
            {
                return Some(at);
            }
            wall = next;
        }
        None
    }

    /// The next `n` runs after `after_ms`.
    pub fn next_runs(&self, after_ms: i64, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        let mut t = after_ms;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    /// The instant a wall-clock time runs at (see the module's rules).
    fn instant(&self, wall: NaiveDateTime) -> Option<i64> {
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => Some(t.timestamp_millis()),
            LocalResult::Ambiguous(first, _) => Some(first.timestamp_millis()),
            LocalResult::None => {
                // In a gap: the first whole minute after it that exists.
                let mut probe = wall;
                for _ in 0..(26 * 60) {
                    probe += chrono::Duration::minutes(1);
                    let start = probe.with_second(0).unwrap_or(probe);
                    if let LocalResult::Single(t) | LocalResult::Ambiguous(t, _) =
                        self.tz.from_local_datetime(&start)
                    {
                        return Some(t.timestamp_millis());
                    }
                }
                None
            }
        }
    }

    /// `instant` as wall-clock time in the schedule's zone.
    pub fn local(&self, ms: i64) -> Option<DateTime<Tz>> {
        DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&self.tz))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        match tz.with_ymd_and_hms(y, mo, d, h, mi, 0) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
            LocalResult::None => panic!("{y}-{mo}-{d} {h}:{mi} does not exist in {tz}"),
        }
    }

    fn wall(t: &Timing, at: i64) -> String {
        t.local(at)
            .expect("in range")
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }

    #[test]
    fn a_daily_run_in_the_spring_forward_gap_runs_when_the_clock_jumps() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
        let t = Timing::parse("30 2 * * *", "Europe/Berlin").expect("parse");
        let tz = t.time_zone();
        let runs = t.next_runs(ms(tz, 2026, 3, 27, 12, 0), 4);
        let shown: Vec<String> = runs.iter().map(|r| wall(&t, *r)).collect();
        assert_eq!(
            shown,
            [
                "2026-03-28 02:30 CET",
                "2026-03-29 03:00 CEST",
                "2026-03-30 02:30 CEST",
                "2026-03-31 02:30 CEST"
            ]
        );
    }

    #[test]
    fn every_quarter_hour_collapses_the_skipped_hour_into_one_run() {
        let t = Timing::parse("*/15 * * * *", "Europe/Berlin").expect("parse");
        let tz = t.time_zone();
        let runs = t.next_runs(ms(tz, 2026, 3, 29, 1, 40), 4);
        let shown: Vec<String> = runs.iter().map(|r| wall(&t, *r)).collect();
        assert_eq!(
            shown,
            [
                "2026-03-29 01:45 CET",
                "2026-03-29 03:00 CEST",
                "2026-03-29 03:15 CEST",
                "2026-03-29 03:30 CEST"
            ]
        );
    }

    #[test]
    fn a_daily_run_in_the_fall_back_overlap_runs_once() {
        // Europe/Berlin passes 02:00–03:00 twice on 2026-10-25.
        let t = Timing::parse("30 2 * * *", "Europe/Berlin").expect("parse");
        let tz = t.time_zone();
        let runs = t.next_runs(ms(tz, 2026, 10, 24, 12, 0), 3);
        let shown: Vec<String> = runs.iter().map(|r| wall(&t, *r)).collect();
        assert_eq!(
            shown,
            [
                "2026-10-25 02:30 CEST",
                "2026-10-26 02:30 CET",
                "2026-10-27 02:30 CET"
            ]
        );
        // Asked from inside the second pass, the repeated 02:30 is not run again.
        let second_pass = runs[0] + 3_600_000 - 10 * 60_000;
        assert_eq!(
            wall(&t, t.next_after(second_pass).expect("next")),
            "2026-10-26 02:30 CET"
        );
    }

    #[test]
    fn hourly_runs_go_on_through_the_fall_back_night_without_a_repeat() {
        let t = Timing::parse("0 * * * *", "America/New_York").expect("parse");
        let tz = t.time_zone();
        // New York falls back at 02:00 EDT → 01:00 EST on 2026-11-01.
        let runs = t.next_runs(ms(tz, 2026, 10, 31, 23, 30), 4);
        let shown: Vec<String> = runs.iter().map(|r| wall(&t, *r)).collect();
        assert_eq!(
            shown,
            [
                "2026-11-01 00:00 EDT",
                "2026-11-01 01:00 EDT",
                "2026-11-01 02:00 EST",
                "2026-11-01 03:00 EST"
            ]
        );
    }

    #[test]
    fn leap_days_run_only_in_leap_years() {
        let t = Timing::parse("0 3 29 2 *", "UTC").expect("parse");
        let runs = t.next_runs(ms(Tz::UTC, 2026, 12, 1, 0, 0), 2);
        let shown: Vec<String> = runs.iter().map(|r| wall(&t, *r)).collect();
        assert_eq!(shown, ["2028-02-29 03:00 UTC", "2032-02-29 03:00 UTC"]);
    }

    #[test]
    fn bad_expressions_zones_and_frequencies_are_named() {
        let now = ms(Tz::UTC, 2026, 12, 1, 0, 0);
        let e = Timing::parse_checked("61 * * * *", "UTC", now).expect_err("minute 61");
        assert!(
            e.to_string().contains("`61 * * * *` is not valid") && e.to_string().contains("e.g."),
            "{e}"
        );
        let e = Timing::parse_checked("0 2 * * *", "Mars/Olympus", now).expect_err("zone");
        assert_eq!(e, TimingError::TimeZone("Mars/Olympus".into()));
        let e = Timing::parse_checked("* * * * * *", "UTC", now).expect_err("every second");
        assert!(matches!(e, TimingError::TooOften(_)), "{e}");
        let e = Timing::parse_checked("0 0 30 2 *", "UTC", now).expect_err("never");
        assert!(matches!(e, TimingError::Never(_)), "{e}");
        assert!(Timing::parse_checked("*/10 * * * * *", "UTC", now).is_ok());
        assert!(Timing::parse_checked("@daily", "Asia/Kolkata", now).is_ok());
    }

    proptest! {
        /// In any zone and from any instant: runs strictly increase, each is a time the
        /// expression matches on the zone's wall clock or the first instant after a gap, and
        /// no two runs share a wall-clock minute.
        #[test]
        fn runs_increase_and_never_repeat_a_wall_clock_time(
            start in 1_700_000_000_000i64..1_900_000_000_000i64,
            zone in prop::sample::select(vec![
                "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                "Pacific/Chatham", "Asia/Kolkata", "America/Sao_Paulo",
            ]),
            expr in prop::sample::select(vec![
                "*/15 * * * *", "30 2 * * *", "0 * * * *", "0 0 1 * *", "45 1 * * 0",
            ]),
        ) {
            let t = Timing::parse(expr, zone).expect("parse");
            let runs = t.next_runs(start, 30);
            prop_assert_eq!(runs.len(), 30);
            prop_assert!(runs[0] > start);
            let mut seen = std::collections::HashSet::new();
            for w in runs.windows(2) {
                prop_assert!(w[1] > w[0]);
            }
            for r in &runs {
                let local = t.local(*r).expect("in range").naive_local();
                prop_assert!(seen.insert(local.format("%Y-%m-%d %H:%M").to_string()));
            }
        }
    }
}
