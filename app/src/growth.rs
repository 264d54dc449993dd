//! The storage-growth model: how much disk snapshots keep alive.
//!
//! Pure functions with no I/O, compiled into the browser (the calculator updates as the user
//! drags) and into the server (the JSON calculator API and the reports' measured figures). The
//! seed's model: a snapshot starts as hard links to the live SSTables and costs nothing; as
//! compaction rewrites a share `churn` of the live data, the snapshot becomes the last link to
//! the old files and holds their bytes ("snapshot hold"). Total disk = live + hold.
//!
//! The full model ([`project`]) adds daily growth, snapshot frequency and retention; see
//! [`FORMULA`] for the formula in words. With one snapshot per day kept one day and no growth
//! it is exactly the seed's hold = live × churn.

use serde::{Deserialize, Serialize};

/// One numeric input of the calculator, with its allowed range and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    /// Current live data, in GB.
    LiveGb,
    /// Share of the live data rewritten by compaction per day, in percent.
    ChurnPct,
    /// Growth of the live data per day, in percent (compounded daily).
    GrowthPct,
    /// How long each snapshot is kept, in days.
    RetentionDays,
    /// Snapshots taken per day (0.5 = one every two days).
    SnapshotsPerDay,
}

impl Field {
    /// Every input of the calculator, in the order of its URL.
    pub const ALL: [Field; 5] = [
        Field::LiveGb,
        Field::ChurnPct,
        Field::GrowthPct,
        Field::RetentionDays,
        Field::SnapshotsPerDay,
    ];

    /// The name used in URLs and the JSON API.
    pub fn key(self) -> &'static str {
        match self {
            Field::LiveGb => "live_gb",
            Field::ChurnPct => "churn_pct",
            Field::GrowthPct => "growth_pct",
            Field::RetentionDays => "retention_days",
            Field::SnapshotsPerDay => "snapshots_per_day",
        }
    }

    /// Smallest accepted value.
    pub fn min(self) -> f64 {
        match self {
            Field::LiveGb => 10.0,
            Field::ChurnPct => 0.0,
            Field::GrowthPct => 0.0,
            Field::RetentionDays => 1.0,
            Field::SnapshotsPerDay => 0.1,
        }
    }

    /// Largest accepted value.
    pub fn max(self) -> f64 {
        match self {
            Field::LiveGb => 1000.0,
            Field::ChurnPct => 100.0,
            Field::GrowthPct => 10.0,
            Field::RetentionDays => 365.0,
            Field::SnapshotsPerDay => 24.0,
        }
    }

    /// The value the calculator starts with: the seed document's example (100 GB, 50 %), one
    /// snapshot a day kept one day, no growth — which is the seed's single-snapshot case.
    pub fn default_value(self) -> f64 {
        match self {
            Field::LiveGb => 100.0,
            Field::ChurnPct => 50.0,
            Field::GrowthPct => 0.0,
            Field::RetentionDays => 1.0,
            Field::SnapshotsPerDay => 1.0,
        }
    }

    /// Unit suffix shown after a value.
    pub fn unit(self) -> &'static str {
        match self {
            Field::LiveGb => "GB",
            Field::ChurnPct => "%",
            Field::GrowthPct => "%",
            Field::RetentionDays => "days",
            Field::SnapshotsPerDay => "per day",
        }
    }

    /// What the field is, in words (labels and messages).
    pub fn label(self) -> &'static str {
        match self {
            Field::LiveGb => "Current live data",
            Field::ChurnPct => "Churn (rewritten by compaction per day)",
            Field::GrowthPct => "Daily growth of live data",
            Field::RetentionDays => "Retention (days each snapshot is kept)",
            Field::SnapshotsPerDay => "Snapshots per day",
        }
    }

    /// The field whose URL/API name is `key`.
    pub fn from_key(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }

    /// Human description of the accepted range, e.g. `10–1000 GB`.
    pub fn range_text(self) -> String {
        format!(
            "{}–{} {}",
            format_number(self.min()),
            format_number(self.max()),
            self.unit()
        )
    }
}

/// Why a raw input was not taken as typed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputProblem {
    /// The text is empty or not a finite number.
    #[error("“{raw}” is not a number; enter {range}")]
    NotANumber { raw: String, range: String },
    /// The number is below the minimum and was raised to it.
    #[error("{value} {unit} is below the minimum; using {min} {unit}")]
    BelowMin {
        value: String,
        min: String,
        unit: &'static str,
    },
    /// The number is above the maximum and was lowered to it.
    #[error("{value} {unit} is above the maximum; using {max} {unit}")]
    AboveMax {
        value: String,
        max: String,
        unit: &'static str,
    },
}

/// The outcome of checking one raw input: the value to compute with, and what was wrong with
/// the input if anything (to flag in place, next to the field).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub value: f64,
    pub problem: Option<InputProblem>,
}

/// Checks a number for `field`: clamps it into range and says so when it had to.
pub fn check_value(field: Field, value: f64) -> Checked {
    if !value.is_finite() {
        return Checked {
            value: field.default_value(),
            problem: Some(InputProblem::NotANumber {
                raw: value.to_string(),
                range: field.range_text(),
            }),
        };
    }
    if value < field.min() {
        Checked {
            value: field.min(),
            problem: Some(InputProblem::BelowMin {
                value: format_number(value),
                min: format_number(field.min()),
                unit: field.unit(),
            }),
        }
    } else if value > field.max() {
        Checked {
            value: field.max(),
            problem: Some(InputProblem::AboveMax {
                value: format_number(value),
                max: format_number(field.max()),
                unit: field.unit(),
            }),
        }
    } else {
        Checked {
            value,
            problem: None,
        }
    }
}

/// Parses and checks raw text typed for `field`. Text that is not a number keeps `previous`
/// (so nothing the user already had is lost) and is flagged.
pub fn check_input(field: Field, raw: &str, previous: f64) -> Checked {
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => check_value(field, v),
        _ => Checked {
            value: previous,
            problem: Some(InputProblem::NotANumber {
                raw: raw.trim().to_string(),
                range: field.range_text(),
            }),
        },
    }
}

/// Result of the seed model for one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeedEstimate {
    /// Live data, GB.
    pub live_gb: f64,
    /// Bytes only the snapshot keeps alive (compacted-away SSTables), GB.
    pub hold_gb: f64,
    /// Live + hold, GB.
    pub total_gb: f64,
}

/// The seed's calculator: one snapshot, a share `churn_pct` of the live data rewritten since.
///
/// Inputs outside their range are clamped first, so the result is always finite and
/// non-negative: hold = live × churn, total = live + hold.
pub fn seed_estimate(live_gb: f64, churn_pct: f64) -> SeedEstimate {
    let live = check_value(Field::LiveGb, live_gb).value;
    let churn = check_value(Field::ChurnPct, churn_pct).value / 100.0;
    let hold = live * churn;
    SeedEstimate {
        live_gb: live,
        hold_gb: hold,
        total_gb: live + hold,
    }
}

/// The full model in one paragraph, as the calculator page shows it.
pub const FORMULA: &str = "With live data L, churn c (the share of live data compaction rewrites per day), \
s snapshots per day each kept r days, and daily growth g: the oldest snapshot still kept is r days old, and \
since it was taken compaction has deleted c × r of the live data as old SSTables. Every deleted SSTable that \
a kept snapshot links stays on disk, and at most s × r snapshots (at least one) each keep at most one full \
copy. So hold = L̄ × min(c × r, max(1, s × r)), where L̄ is the average live data over those r days (L̄ = L \
when nothing grows; live data grows as L × (1 + g) per day). Total disk = live + hold. Before the first \
snapshot is r days old, r is replaced by the days since snapshots began. With one snapshot a day kept one \
day this is the seed's rule: hold = L × c.";

/// The calculator's inputs, each in the unit of its [`Field`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Inputs {
    pub live_gb: f64,
    pub churn_pct: f64,
    pub growth_pct: f64,
    pub retention_days: f64,
    pub snapshots_per_day: f64,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            live_gb: Field::LiveGb.default_value(),
            churn_pct: Field::ChurnPct.default_value(),
            growth_pct: Field::GrowthPct.default_value(),
            retention_days: Field::RetentionDays.default_value(),
            snapshots_per_day: Field::SnapshotsPerDay.default_value(),
        }
    }
}

impl Inputs {
    /// The value of one field.
    pub fn get(&self, field: Field) -> f64 {
        match field {
            Field::LiveGb => self.live_gb,
            Field::ChurnPct => self.churn_pct,
            Field::GrowthPct => self.growth_pct,
            Field::RetentionDays => self.retention_days,
            Field::SnapshotsPerDay => self.snapshots_per_day,
        }
    }

    /// Sets one field (unchecked; see [`Inputs::checked`]).
    pub fn set(&mut self, field: Field, value: f64) {
        match field {
            Field::LiveGb => self.live_gb = value,
            Field::ChurnPct => self.churn_pct = value,
            Field::GrowthPct => self.growth_pct = value,
            Field::RetentionDays => self.retention_days = value,
            Field::SnapshotsPerDay => self.snapshots_per_day = value,
        }
    }

    /// Every value clamped into its range (non-numbers become the default).
    pub fn checked(self) -> Inputs {
        let mut out = self;
        for f in Field::ALL {
            out.set(f, check_value(f, self.get(f)).value);
        }
        out
    }

    /// `live_gb=…&churn_pct=…&…`: the inputs as a URL query, every field in [`Field::ALL`]
    /// order, numbers as [`format_input`] writes them.
    pub fn query(&self) -> String {
        Field::ALL
            .iter()
            .map(|f| format!("{}={}", f.key(), format_input(self.get(*f))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Live data, hold and total at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Point {
    /// Days since snapshots began.
    pub day: f64,
    /// Live data then, GB.
    pub live_gb: f64,
    /// Bytes kept alive only by snapshots then, GB.
    pub hold_gb: f64,
    /// Live + hold, GB.
    pub total_gb: f64,
}

/// The model's answer: the hold building up over the retention window and the steady state
/// reached when the first snapshot expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// The inputs used (clamped into range).
    pub inputs: Inputs,
    /// Snapshots kept at once in the steady state (s × r, at least one).
    pub snapshots_kept: f64,
    /// Live, hold and total on day r (the steady state).
    pub steady: Point,
    /// Evenly spaced points from day 0 to day r.
    pub series: Vec<Point>,
}

/// Intervals of [`Projection::series`] (it has one point more).
pub const SERIES_STEPS: usize = 48;

/// Live data on `day` (days since snapshots began), GB: compounded daily growth.
pub fn live_at(inputs: &Inputs, day: f64) -> f64 {
    inputs.live_gb * (1.0 + inputs.growth_pct / 100.0).powf(day.max(0.0))
}

/// Average live data over the `window` days ending on `day`, GB.
fn mean_live(inputs: &Inputs, day: f64, window: f64) -> f64 {
    let rate = (1.0 + inputs.growth_pct / 100.0).ln();
    let end = live_at(inputs, day);
    if window <= 1e-9 || rate <= 1e-12 {
        end
    } else {
        end * (1.0 - (-rate * window).exp()) / (rate * window)
    }
}

/// Live, hold and total on `day` (days since snapshots began) for already checked inputs.
fn point_checked(inputs: &Inputs, day: f64) -> Point {
    let day = day.max(0.0);
    let window = day.min(inputs.retention_days);
    let churn = inputs.churn_pct / 100.0;
    let kept = (inputs.snapshots_per_day * window).max(1.0);
    let factor = (churn * window).min(kept);
    let live = live_at(inputs, day);
    let hold = mean_live(inputs, day, window) * factor;
    Point {
        day,
        live_gb: live,
        hold_gb: hold,
        total_gb: live + hold,
    }
}

/// Live, hold and total on `day` (days since snapshots began); inputs are clamped first.
pub fn point_at(inputs: &Inputs, day: f64) -> Point {
    point_checked(&inputs.checked(), day)
}

/// The full model: inputs are clamped into range, so the answer is always finite.
pub fn project(inputs: &Inputs) -> Projection {
    let inputs = inputs.checked();
    let r = inputs.retention_days;
    let series = (0..=SERIES_STEPS)
        .map(|i| point_checked(&inputs, r * i as f64 / SERIES_STEPS as f64))
        .collect();
    Projection {
        inputs,
        snapshots_kept: (inputs.snapshots_per_day * r).max(1.0),
        steady: point_checked(&inputs, r),
        series,
    }
}

/// Formats an input for a URL or a number box: up to three decimals, no trailing zeros
/// (`100`, `0.25`, `0.143`).
pub fn format_input(value: f64) -> String {
    if !value.is_finite() {
        return "0".into();
    }
    let text = format!("{:.3}", (value * 1000.0).round() / 1000.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".into()
    } else {
        text.to_string()
    }
}

/// Formats a number for display: whole numbers without decimals, others with at most one
/// decimal (`150`, `12.3`).
pub fn format_number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if (rounded - rounded.round()).abs() < f64::EPSILON {
        format!("{}", rounded.round() as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// Formats gigabytes with their unit, e.g. `150 GB`.
pub fn format_gb(value: f64) -> String {
    format!("{} GB", format_number(value))
}

/// Maps a position of the logarithmic live-data slider (log10 of GB, 1.0 to 3.0) to GB,
/// rounded to whole GB: 1.0 → 10 GB, 2.0 → 100 GB, 3.0 → 1000 GB.
pub fn live_from_slider(position: f64) -> f64 {
    let position = if position.is_finite() {
        position.clamp(1.0, 3.0)
    } else {
        2.0
    };
    10f64.powf(position).round()
}

/// The slider position for a live-data value (inverse of [`live_from_slider`]).
pub fn slider_from_live(live_gb: f64) -> f64 {
    check_value(Field::LiveGb, live_gb).value.log10()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_example_100_gb_at_50_percent_is_150_gb() {
        let e = seed_estimate(100.0, 50.0);
        assert_eq!(e.live_gb, 100.0);
        assert_eq!(e.hold_gb, 50.0);
        assert_eq!(e.total_gb, 150.0);
        assert_eq!(format_gb(e.total_gb), "150 GB");
    }

    #[test]
    fn static_data_holds_nothing_and_full_churn_doubles() {
        assert_eq!(seed_estimate(250.0, 0.0).total_gb, 250.0);
        assert_eq!(seed_estimate(250.0, 100.0).total_gb, 500.0);
    }

    #[test]
    fn out_of_range_values_are_clamped_and_flagged() {
        let c = check_input(Field::LiveGb, "5000", 100.0);
        assert_eq!(c.value, 1000.0);
        assert_eq!(
            c.problem.map(|p| p.to_string()),
            Some("5000 GB is above the maximum; using 1000 GB".to_string())
        );
        let c = check_input(Field::ChurnPct, "-3", 50.0);
        assert_eq!(c.value, 0.0);
        assert!(matches!(c.problem, Some(InputProblem::BelowMin { .. })));
        assert_eq!(seed_estimate(5000.0, 50.0).total_gb, 1500.0);
    }

    #[test]
    fn non_numbers_keep_the_previous_value_and_are_flagged() {
        for raw in ["", "abc", "NaN", "inf", "1e999"] {
            let c = check_input(Field::LiveGb, raw, 42.0);
            assert_eq!(c.value, 42.0, "input {raw:?}");
            assert!(
                matches!(c.problem, Some(InputProblem::NotANumber { .. })),
                "input {raw:?}"
            );
        }
        assert_eq!(seed_estimate(f64::NAN, f64::INFINITY).total_gb, 150.0);
    }

    #[test]
    fn slider_is_logarithmic() {
        assert_eq!(live_from_slider(1.0), 10.0);
        assert_eq!(live_from_slider(2.0), 100.0);
        assert_eq!(live_from_slider(3.0), 1000.0);
        assert_eq!(live_from_slider(9.0), 1000.0);
        assert!((slider_from_live(100.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn numbers_format_with_at_most_one_decimal() {
        assert_eq!(format_number(150.0), "150");
        assert_eq!(format_number(12.34), "12.3");
        assert_eq!(format_number(0.04), "0");
    }

    fn inputs(live: f64, churn: f64, growth: f64, retention: f64, per_day: f64) -> Inputs {
        Inputs {
            live_gb: live,
            churn_pct: churn,
            growth_pct: growth,
            retention_days: retention,
            snapshots_per_day: per_day,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn the_full_model_starts_at_the_seed_example() {
        let p = project(&Inputs::default());
        assert_eq!(p.steady.live_gb, 100.0);
        assert_eq!(p.steady.hold_gb, 50.0);
        assert_eq!(p.steady.total_gb, 150.0);
        assert_eq!(p.snapshots_kept, 1.0);
        assert_eq!(p.series.len(), SERIES_STEPS + 1);
        assert_eq!(p.series[0].hold_gb, 0.0, "no hold before compaction ran");
        assert_eq!(p.series[SERIES_STEPS], p.steady);
    }

    #[test]
    fn one_snapshot_limits_static_keeps_live_and_full_churn_doubles() {
        assert_eq!(
            project(&inputs(250.0, 0.0, 0.0, 1.0, 1.0)).steady.total_gb,
            250.0
        );
        assert_eq!(
            project(&inputs(250.0, 100.0, 0.0, 1.0, 1.0))
                .steady
                .total_gb,
            500.0
        );
    }

    #[test]
    fn several_snapshots_hold_what_compaction_rewrote_while_they_were_kept() {
        // Daily snapshots kept a week, 10 % churn: 70 % of the data rewritten and all of it
        // linked by some kept snapshot.
        let p = project(&inputs(100.0, 10.0, 0.0, 7.0, 1.0));
        assert!(close(p.steady.hold_gb, 70.0), "{p:?}");
        assert_eq!(p.snapshots_kept, 7.0);
        // Full churn every day: seven snapshots, each a full copy.
        let p = project(&inputs(100.0, 100.0, 0.0, 7.0, 1.0));
        assert!(close(p.steady.hold_gb, 700.0), "{p:?}");
        // Churn faster than snapshots: only what existed at a snapshot is held (s × r copies).
        let p = project(&inputs(100.0, 100.0, 0.0, 3.0, 0.5));
        assert!(close(p.steady.hold_gb, 150.0), "{p:?}");
        // One snapshot every ten days kept five, 50 % a day: at most the one full copy.
        let p = project(&inputs(100.0, 50.0, 0.0, 5.0, 0.1));
        assert_eq!(p.snapshots_kept, 1.0);
        assert!(close(p.steady.hold_gb, 100.0), "{p:?}");
        // Weekly snapshots kept 30 days at 5 % a day: 1.5 copies' worth rewritten, all held.
        let p = project(&inputs(100.0, 5.0, 0.0, 30.0, 1.0 / 7.0));
        assert!(close(p.steady.hold_gb, 150.0), "{p:?}");
    }

    #[test]
    fn growth_compounds_and_old_snapshots_hold_the_smaller_past() {
        let p = project(&inputs(100.0, 50.0, 1.0, 1.0, 1.0));
        assert!(close(p.steady.live_gb, 101.0));
        // Mean live over the day: 100 × (1.01 − 1) / ln 1.01.
        let mean = 100.0 * 0.01 / 1.01f64.ln();
        assert!(close(p.steady.hold_gb, mean * 0.5), "{p:?}");
        assert!(close(p.steady.total_gb, 101.0 + mean * 0.5));
        assert!(p.steady.hold_gb < 0.5 * 101.0);
    }

    #[test]
    fn inputs_round_trip_through_the_url() {
        let i = inputs(123.5, 12.0, 0.25, 14.0, 1.0 / 7.0);
        assert_eq!(
            i.query(),
            "live_gb=123.5&churn_pct=12&growth_pct=0.25&retention_days=14&snapshots_per_day=0.143"
        );
        assert_eq!(format_input(-0.0001), "0");
        assert_eq!(format_input(f64::NAN), "0");
        for f in Field::ALL {
            assert_eq!(Field::from_key(f.key()), Some(f));
        }
        assert_eq!(Field::from_key("live"), None);
        let clamped = inputs(5.0, 150.0, -1.0, 1000.0, f64::NAN).checked();
        assert_eq!(clamped, inputs(10.0, 100.0, 0.0, 365.0, 1.0));
    }

    proptest! {
        #[test]
        fn the_full_model_is_finite_and_total_is_live_plus_hold(
            live in -1e6f64..1e6, churn in -500f64..500.0, growth in -50f64..50.0,
            retention in -10f64..1000.0, per_day in -5f64..100.0, day in -5f64..400.0,
        ) {
            let i = inputs(live, churn, growth, retention, per_day);
            let p = project(&i);
            for pt in p.series.iter().chain([&p.steady, &point_at(&i, day)]) {
                prop_assert!(pt.total_gb.is_finite() && pt.hold_gb >= 0.0);
                prop_assert!(close(pt.total_gb, pt.live_gb + pt.hold_gb));
                // Never more than one full copy of the live data per kept snapshot.
                prop_assert!(pt.hold_gb <= p.snapshots_kept * pt.live_gb * (1.0 + 1e-9));
            }
        }

        #[test]
        fn one_snapshot_a_day_kept_a_day_is_the_seed(live in 10f64..1000.0, churn in 0f64..100.0) {
            let p = project(&inputs(live, churn, 0.0, 1.0, 1.0));
            let seed = seed_estimate(live, churn);
            prop_assert!(close(p.steady.hold_gb, seed.hold_gb));
            prop_assert!(close(p.steady.total_gb, seed.total_gb));
        }

        #[test]
        fn hold_and_total_grow_with_churn(
            live in 10f64..1000.0, a in 0f64..100.0, b in 0f64..100.0, growth in 0f64..10.0,
            retention in 1f64..365.0, per_day in 0.1f64..24.0,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let x = project(&inputs(live, lo, growth, retention, per_day)).steady;
            let y = project(&inputs(live, hi, growth, retention, per_day)).steady;
            prop_assert!(x.hold_gb <= y.hold_gb * (1.0 + 1e-12));
            prop_assert!(x.total_gb <= y.total_gb * (1.0 + 1e-12));
        }

        #[test]
        fn hold_and_total_grow_with_retention(
            live in 10f64..1000.0, churn in 0f64..100.0, growth in 0f64..10.0,
            a in 1f64..365.0, b in 1f64..365.0, per_day in 0.1f64..24.0,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let x = project(&inputs(live, churn, growth, lo, per_day)).steady;
            let y = project(&inputs(live, churn, growth, hi, per_day)).steady;
            prop_assert!(x.hold_gb <= y.hold_gb * (1.0 + 1e-12), "{x:?} {y:?}");
            prop_assert!(x.total_gb <= y.total_gb * (1.0 + 1e-12));
        }

        #[test]
        fn hold_grows_with_snapshot_frequency_and_over_time(
            live in 10f64..1000.0, churn in 0f64..100.0, growth in 0f64..10.0,
            retention in 1f64..365.0, a in 0.1f64..24.0, b in 0.1f64..24.0,
        ) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let x = project(&inputs(live, churn, growth, retention, lo));
            let y = project(&inputs(live, churn, growth, retention, hi));
            prop_assert!(x.steady.hold_gb <= y.steady.hold_gb * (1.0 + 1e-12));
            for w in y.series.windows(2) {
                prop_assert!(w[0].hold_gb <= w[1].hold_gb * (1.0 + 1e-12), "{w:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn total_is_live_plus_hold_and_bounded(live in -1e6f64..1e6, churn in -500f64..500.0) {
            let e = seed_estimate(live, churn);
            prop_assert!(e.total_gb.is_finite());
            prop_assert!((e.total_gb - (e.live_gb + e.hold_gb)).abs() < 1e-9);
            prop_assert!(e.hold_gb >= 0.0 && e.hold_gb <= e.live_gb);
            prop_assert!(e.live_gb >= 10.0 && e.live_gb <= 1000.0);
        }

        #[test]
        fn total_grows_with_churn(live in 10f64..1000.0, a in 0f64..100.0, b in 0f64..100.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(seed_estimate(live, lo).total_gb <= seed_estimate(live, hi).total_gb);
        }
    }
}
