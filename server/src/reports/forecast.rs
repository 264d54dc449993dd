//! Forecasts from samples: a least-squares line through (day, value) points, its ~95 %
//! prediction band (Student's t), when the line and the band reach zero, and a back-test that
//! predicts each recent day from the days before it. Pure functions, unit-tested.

/// A fitted line `value = intercept + slope × day` with what the band needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fit {
    pub n: usize,
    pub slope: f64,
    pub intercept: f64,
    /// Mean of the days.
    pub x_mean: f64,
    /// Σ (x − x̄)².
    pub sxx: f64,
    /// Residual standard error.
    pub s: f64,
}

/// Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

fn t95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        d if d <= T95.len() => T95[d - 1],
        d if d <= 60 => 2.0,
        d if d <= 120 => 1.98,
        _ => 1.96,
    }
}

/// The sums a least-squares line through (x, y) points is made of.
struct Moments {
    x_mean: f64,
    y_mean: f64,
    /// Σ (x − x̄)².
    sxx: f64,
    /// Σ (x − x̄)(y − ȳ).
    sxy: f64,
}

/// The moments of `points` (not empty).
fn moments(points: &[(f64, f64)]) -> Moments {
    let nf = points.len() as f64;
    let x_mean = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let y_mean = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - x_mean).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - x_mean) * (p.1 - y_mean)).sum();
    Moments {
        x_mean,
        y_mean,
        sxx,
        sxy,
    }
}

/// Fits a line through `points` (x = days, y = value). `None` with fewer than 3 points or
/// when all x are equal.
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let nf = n as f64;
    let Moments {
        x_mean,
        y_mean,
        sxx,
        sxy,
    } = moments(points);
    if sxx <= f64::EPSILON {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let s = (sse / (nf - 2.0)).max(0.0).sqrt();
    Some(Fit {
        n,
        slope,
        intercept,
        x_mean,
        sxx,
        s,
    })
}

impl Fit {
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// Half-width of the ~95 % prediction band at `x`.
    pub fn band(&self, x: f64) -> f64 {
        let n = self.n as f64;
        t95(self.n - 2) * self.s * (1.0 + 1.0 / n + (x - self.x_mean).powi(2) / self.sxx).sqrt()
    }
}

/// When a fitted amount that is left (free bytes, free inodes) reaches zero, as days.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunOut {
    /// The fitted line reaches zero.
    pub at: Option<f64>,
    /// The pessimistic edge of the band reaches zero.
    pub earliest: Option<f64>,
    /// The optimistic edge of the band reaches zero (None: the band allows it never to).
    pub latest: Option<f64>,
}

/// Steps from `from` to `until` (days) in `step`s and returns the first x where `f(x) <= 0`.
fn first_at_or_below_zero(from: f64, until: f64, step: f64, f: impl Fn(f64) -> f64) -> Option<f64> {
    let mut x = from;
    while x <= until {
        if f(x) <= 0.0 {
            return Some(x);
        }
        x += step;
    }
    None
}

/// When the amount left, fitted by `fit`, runs out between `from` and `until` (days), looked
/// for in steps of an hour. Nothing runs out when the amount left does not shrink.
pub fn run_out(fit: &Fit, from: f64, until: f64) -> RunOut {
    let step = 1.0 / 24.0;
    let at = if fit.slope < 0.0 {
        let x = -fit.intercept / fit.slope;
        if x <= from {
            Some(from)
        } else {
            (x <= until).then_some(x)
        }
    } else {
        (fit.predict(from) <= 0.0).then_some(from)
    };
    let earliest = first_at_or_below_zero(from, until, step, |x| fit.predict(x) - fit.band(x));
    let latest = if fit.slope < 0.0 || fit.predict(from) + fit.band(from) <= 0.0 {
        first_at_or_below_zero(from, until, step, |x| fit.predict(x) + fit.band(x))
    } else {
        None
    };
    RunOut {
        at,
        earliest,
        latest,
    }
}

/// How past forecasts did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestResult {
    pub forecasts: usize,
    pub max_error_pct: f64,
    pub median_error_pct: f64,
}

/// Back-test on daily values `(day, value)` (sorted, one per day): for every target day T in
/// the last `recent` days, fit the days in `[T − horizon − window, T − horizon]` (at least 3
/// of them), predict T and compare with the value recorded on T. Errors are in % of the
/// recorded value (days with a recorded 0 are skipped). `None` when no day can be checked.
pub fn backtest(
    daily: &[(f64, f64)],
    horizon: f64,
    window: f64,
    recent: f64,
) -> Option<BacktestResult> {
    let last = daily.last()?.0;
    let mut errors: Vec<f64> = Vec::new();
    for &(target, actual) in daily.iter().filter(|p| p.0 > last - recent + 1e-9) {
        if actual.abs() < f64::EPSILON {
            continue;
        }
        let made = target - horizon;
        let history: Vec<(f64, f64)> = daily
            .iter()
            .copied()
            .filter(|p| p.0 <= made + 1e-9 && p.0 >= made - window - 1e-9)
            .collect();
        let Some(f) = fit(&history) else { continue };
        errors.push((f.predict(target) - actual).abs() / actual.abs() * 100.0);
    }
    if errors.is_empty() {
        return None;
    }
    errors.sort_by(f64::total_cmp);
    let median = if errors.len() % 2 == 1 {
        errors[errors.len() / 2]
    } else {
        (errors[errors.len() / 2 - 1] + errors[errors.len() / 2]) / 2.0
    };
    Some(BacktestResult {
        forecasts: errors.len(),
        max_error_pct: errors[errors.len() - 1],
        median_error_pct: median,
    })
}

/// Slope of a least-squares line through `points` as % of the mean value per unit of x
/// (with x in days: % per day). `None` with fewer than 2 points, equal x or a zero mean.
pub fn growth_pct(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len();
    if n < 2 {
        return None;
    }
    let m = moments(points);
    if m.sxx <= 0.0 || m.y_mean.abs() < f64::EPSILON {
        return None;
    }
    Some(m.sxy / m.sxx / m.y_mean * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn an_exact_line_is_recovered_and_runs_out_where_it_crosses_zero() {
        // 1000 free, shrinking by 10 a day: empty on day 100.
        let pts: Vec<(f64, f64)> = (0..20)
            .map(|d| (d as f64, 1000.0 - 10.0 * d as f64))
            .collect();
        let f = fit(&pts).expect("fit");
        assert!(close(f.slope, -10.0, 1e-9) && close(f.intercept, 1000.0, 1e-9));
        assert!(close(f.s, 0.0, 1e-9));
        let r = run_out(&f, 19.0, 3650.0);
        assert!(close(r.at.expect("at"), 100.0, 1e-9));
        // No noise: the band is a line too (hour steps).
        assert!(close(
            r.earliest.expect("earliest"),
            100.0,
            1.0 / 24.0 + 1e-9
        ));
        assert!(close(r.latest.expect("latest"), 100.0, 1.0 / 24.0 + 1e-9));
    }

    #[test]
    fn noise_widens_the_band_around_the_run_out_date() {
        let pts: Vec<(f64, f64)> = (0..30)
            .map(|d| {
                let noise = if d % 2 == 0 { 15.0 } else { -15.0 };
                (d as f64, 1000.0 - 10.0 * d as f64 + noise)
            })
            .collect();
        let f = fit(&pts).expect("fit");
        let r = run_out(&f, 29.0, 3650.0);
        let (at, lo, hi) = (
            r.at.expect("at"),
            r.earliest.expect("earliest"),
            r.latest.expect("latest"),
        );
        assert!(lo < at && at < hi, "{lo} < {at} < {hi}");
        assert!(close(at, 100.0, 2.0));
    }

    #[test]
    fn growing_free_space_never_runs_out_and_too_few_points_give_no_fit() {
        let pts = [(0.0, 10.0), (1.0, 11.0), (2.0, 12.5), (3.0, 13.0)];
        let f = fit(&pts).expect("fit");
        assert_eq!(run_out(&f, 3.0, 3650.0).at, None);
        assert_eq!(run_out(&f, 3.0, 3650.0).latest, None);
        assert!(fit(&pts[..2]).is_none());
        assert!(fit(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
    }

    #[test]
    fn the_backtest_is_exact_on_a_line_and_measures_a_jump() {
        let line: Vec<(f64, f64)> = (0..60).map(|d| (d as f64, 100.0 + d as f64)).collect();
        let b = backtest(&line, 7.0, 14.0, 30.0).expect("backtest");
        assert_eq!(b.forecasts, 30);
        assert!(b.max_error_pct < 1e-9);
        // Day 59 jumps to 200 instead of 159: that forecast was 159 → 20.5 % off.
        let mut jump = line.clone();
        jump[59].1 = 200.0;
        let b = backtest(&jump, 7.0, 14.0, 30.0).expect("backtest");
        assert!(close(b.max_error_pct, 41.0 / 200.0 * 100.0, 1e-9), "{b:?}");
        assert!(b.median_error_pct < 1e-9);
        assert!(backtest(&line[..5], 7.0, 14.0, 30.0).is_none(), "too short");
    }

    #[test]
    fn growth_is_the_slope_over_the_mean() {
        let pts = [(0.0, 90.0), (1.0, 100.0), (2.0, 110.0)];
        assert!(close(growth_pct(&pts).expect("growth"), 10.0, 1e-9));
        assert_eq!(growth_pct(&pts[..1]), None);
    }

    proptest! {
        #[test]
        fn the_band_contains_the_line_and_widens_away_from_the_data(
            ys in proptest::collection::vec(0f64..1e6, 3..40), a in 0f64..100.0, b in 0f64..100.0,
        ) {
            let pts: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, y)| (i as f64, *y)).collect();
            if let Some(f) = fit(&pts) {
                let (near, far) = if (a - f.x_mean).abs() <= (b - f.x_mean).abs() { (a, b) } else { (b, a) };
                prop_assert!(f.band(near) >= 0.0);
                prop_assert!(f.band(near) <= f.band(far) + 1e-6);
                let r = run_out(&f, pts.len() as f64, 3650.0);
                if let (Some(lo), Some(at)) = (r.earliest, r.at) {
                    prop_assert!(lo <= at + 1.0 / 24.0 + 1e-9);
                }
                if let (Some(hi), Some(at)) = (r.latest, r.at) {
                    prop_assert!(at <= hi + 1.0 / 24.0 + 1e-9);
                }
            }
        }
    }
}
