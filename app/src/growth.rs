//! The storage-growth model: how much disk snapshots keep alive.
//!
//! Pure functions with no I/O, compiled into the browser (the calculator updates as the user
//! drags) and into the server (the JSON calculator API and, later, forecasts). The seed's model:
//! a snapshot starts as hard links to the live SSTables and costs nothing; as compaction rewrites
//! a share `churn` of the live data, the snapshot becomes the last link to the old files and
//! holds their bytes ("snapshot hold"). Total disk = live + hold = live × (1 + churn).

use serde::{Deserialize, Serialize};

/// One numeric input of the calculator, with its allowed range and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    /// Current live data, in GB.
    LiveGb,
    /// Share of the live data rewritten by compaction since the snapshot, in percent.
    ChurnPct,
}

impl Field {
    /// The name used in URLs and the JSON API.
    pub fn key(self) -> &'static str {
        match self {
            Field::LiveGb => "live_gb",
            Field::ChurnPct => "churn_pct",
        }
    }

    /// Smallest accepted value.
    pub fn min(self) -> f64 {
        match self {
            Field::LiveGb => 10.0,
            Field::ChurnPct => 0.0,
        }
    }

    /// Largest accepted value.
    pub fn max(self) -> f64 {
        match self {
            Field::LiveGb => 1000.0,
            Field::ChurnPct => 100.0,
        }
    }

    /// The value the calculator starts with (the seed document's example).
    pub fn default_value(self) -> f64 {
        match self {
            Field::LiveGb => 100.0,
            Field::ChurnPct => 50.0,
        }
    }

    /// Unit suffix shown after a value.
    pub fn unit(self) -> &'static str {
        match self {
            Field::LiveGb => "GB",
            Field::ChurnPct => "%",
        }
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
