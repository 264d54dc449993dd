//! The report charts, drawn by plotters into SVG on the server: every chart has a title, axes
//! with units, a legend, and says so when the range has no samples. Text is SVG `<text>` in
//! the browser's sans-serif font (no font files on the server).

use std::ops::Range;

use app::api::{FsPoint, StoragePoint, format_day, format_utc};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::ReportsError;
use super::report::Report;
use super::sample::DAY_MS;
use super::selection::Bucket;
use super::trend::FsTrend;

/// Size of every chart, in pixels.
pub const WIDTH: u32 = 880;
pub const HEIGHT: u32 = 380;

const LIVE: RGBColor = RGBColor(47, 111, 178);
const HOLD: RGBColor = RGBColor(214, 120, 36);
const BACKUPS: RGBColor = RGBColor(94, 158, 92);
const USED: RGBColor = RGBColor(170, 64, 64);
const FREE: RGBColor = RGBColor(150, 170, 190);
const PALETTE: [RGBColor; 6] = [
    RGBColor(47, 111, 178),
    RGBColor(214, 120, 36),
    RGBColor(94, 158, 92),
    RGBColor(170, 64, 64),
    RGBColor(120, 90, 170),
    RGBColor(60, 150, 160),
];

fn err(e: impl std::fmt::Display) -> ReportsError {
    ReportsError::Chart(e.to_string())
}

/// A binary unit for a largest value: (divisor, name).
pub fn byte_unit(max: f64) -> (f64, &'static str) {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut div = 1.0;
    let mut i = 0;
    while max / div >= 1024.0 && i < UNITS.len() - 1 {
        div *= 1024.0;
        i += 1;
    }
    (div, UNITS[i])
}

/// A decimal unit for counts: (divisor, words after the axis name).
fn count_unit(max: f64) -> (f64, &'static str) {
    if max >= 1e9 {
        (1e9, " (billions)")
    } else if max >= 1e6 {
        (1e6, " (millions)")
    } else if max >= 1e4 {
        (1e3, " (thousands)")
    } else {
        (1.0, "")
    }
}

fn days(ms: i64) -> f64 {
    ms as f64 / DAY_MS as f64
}

/// The label of a position (days since the epoch) on a time axis spanning `span_days`.
fn x_label(x: f64, span_days: f64) -> String {
    let ms = (x * DAY_MS as f64).round() as i64;
    if span_days > 3.0 {
        format_day(ms)
    } else {
        // `MM-DD HH:MM`
        let utc = format_utc(ms);
        utc.get(5..16).unwrap_or(&utc).to_string()
    }
}

fn axis_name(span_days: f64) -> &'static str {
    if span_days > 3.0 {
        "Date (UTC)"
    } else {
        "Time (UTC, month-day hour:minute)"
    }
}

/// The whole SVG image a chart draws on.
type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
/// A chart's plot: days across, values up.
type Plot<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws one chart and returns the SVG text: on a white image, `draw`, or the title and
/// `empty_why` when there is nothing to draw.
fn svg(
    title: &str,
    empty_why: Option<&str>,
    draw: impl FnOnce(&Area<'_>) -> Result<(), ReportsError>,
) -> Result<String, ReportsError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        match empty_why {
            Some(why) => {
                let style = ("sans-serif", 18).into_font().color(&BLACK);
                root.draw_text(title, &style, (20, 24)).map_err(err)?;
                let body = ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90));
                root.draw_text(why, &body, (20, (HEIGHT / 2) as i32))
                    .map_err(err)?;
            }
            None => draw(&root)?,
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The plot of a chart over days `x` and values `y`, with its title and room for the labels.
fn plot<'a, 'b>(
    root: &'a Area<'b>,
    title: &str,
    x: Range<f64>,
    y: Range<f64>,
) -> Result<Plot<'a, 'b>, ReportsError> {
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// The grid and both axes: time across `span_days`, and `y_labels` values up named `y_name`.
fn axes(
    chart: &mut Plot<'_, '_>,
    span_days: f64,
    y_name: &str,
    y_labels: usize,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<(), ReportsError> {
    chart
        .configure_mesh()
        .x_desc(axis_name(span_days))
        .y_desc(y_name)
        .x_labels(7)
        .y_labels(y_labels)
        .x_label_formatter(&|x| x_label(*x, span_days))
        .y_label_formatter(y_label)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)
}

/// The legend of the series drawn with labels.
fn legend<'a, 'b: 'a>(
    chart: &mut Plot<'a, 'b>,
    position: SeriesLabelPosition,
    font_size: i32,
) -> Result<(), ReportsError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font(("sans-serif", font_size))
        .draw()
        .map_err(err)
}

/// The points widened to a visible band when there is only one.
fn widen(points: &[(f64, [f64; 3])], bucket: Bucket) -> Vec<(f64, [f64; 3])> {
    if points.len() != 1 {
        return points.to_vec();
    }
    let half = match bucket {
        Bucket::Sample => 1.0 / 48.0,
        other => days(other.width()) / 2.0,
    };
    vec![
        (points[0].0 - half, points[0].1),
        (points[0].0 + half, points[0].1),
    ]
}

/// The x range for points, padded when they are all at one time.
fn x_range(xs: impl Iterator<Item = f64> + Clone, from: f64, to: f64) -> (f64, f64) {
    let lo = xs.clone().fold(f64::INFINITY, f64::min).min(from);
    let hi = xs.fold(f64::NEG_INFINITY, f64::max).max(to);
    if hi - lo < 1e-6 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

/// What differs between the stacked charts.
struct Stack<'a> {
    title: &'a str,
    /// The y axis's name; its unit is added.
    y_name: &'a str,
    /// Bytes (KB, MB, …) rather than counts (thousands, millions).
    bytes: bool,
    /// (name, color) of each layer, bottom first: at most three.
    layers: &'a [(&'a str, RGBColor)],
    /// What an empty chart says.
    empty: &'a str,
    /// The y axis reaches this many times the highest stack.
    headroom: f64,
    legend: SeriesLabelPosition,
}

/// Stacked areas over time: each point holds a value per layer of `style` (unused ones 0).
/// Returns the SVG text.
fn stacked(
    style: Stack,
    points: &[(f64, [f64; 3])],
    from: f64,
    to: f64,
    bucket: Bucket,
) -> Result<String, ReportsError> {
    let Stack {
        title,
        y_name,
        bytes,
        layers,
        ..
    } = style;
    let empty_why = points.is_empty().then_some(style.empty);
    svg(title, empty_why, |root| {
        let pts = widen(points, bucket);
        let max = pts
            .iter()
            .map(|p| p.1.iter().sum::<f64>())
            .fold(0.0, f64::max);
        let (div, unit) = if bytes {
            let (d, u) = byte_unit(max);
            (d, format!("{y_name} ({u})"))
        } else {
            let (d, u) = count_unit(max);
            (d, format!("{y_name}{u}"))
        };
        let (x0, x1) = x_range(pts.iter().map(|p| p.0), from, to);
        let span = x1 - x0;
        let y_max = (max / div * style.headroom).max(1e-9);
        let mut chart = plot(root, title, x0..x1, 0f64..y_max)?;
        axes(&mut chart, span, &unit, 6, &|y| format!("{y:.1}"))?;
        // Top layer first (the full stack), then each layer below over it.
        for level in (0..layers.len()).rev() {
            let (name, color) = layers[level];
            let series = pts
                .iter()
                .map(|p| (p.0, p.1[..=level].iter().sum::<f64>() / div));
            chart
                .draw_series(
                    AreaSeries::new(series, 0.0, color.mix(0.55))
                        .border_style(color.stroke_width(2)),
                )
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
        }
        legend(&mut chart, style.legend, 14)
    })
}

/// Live data, snapshot hold and backups, stacked, over the report's range.
pub fn storage_svg(report: &Report, title: &str) -> Result<String, ReportsError> {
    let points: Vec<(f64, [f64; 3])> = report
        .storage
        .totals
        .iter()
        .map(|p: &StoragePoint| {
            (
                days(p.at),
                [
                    p.live_bytes as f64,
                    p.hold_bytes as f64,
                    p.backups_bytes as f64,
                ],
            )
        })
        .collect();
    let s = &report.selection;
    let style = Stack {
        title,
        y_name: "Bytes",
        bytes: true,
        layers: &[
            ("Live data", LIVE),
            ("Snapshot hold", HOLD),
            ("Backups (not shipped)", BACKUPS),
        ],
        empty: "No samples in this range yet: samples are taken by every scan.",
        headroom: 1.1,
        legend: SeriesLabelPosition::UpperLeft,
    };
    stacked(style, &points, days(s.from_ms), days(s.to_ms), s.bucket)
}

/// Inodes used and free on the selection's filesystems, stacked.
pub fn inodes_svg(report: &Report, title: &str) -> Result<String, ReportsError> {
    let points: Vec<(f64, [f64; 3])> = report
        .fs_totals()
        .iter()
        .map(|p: &FsPoint| {
            (
                days(p.at),
                [p.used_inodes as f64, p.free_inodes as f64, 0.0],
            )
        })
        .collect();
    let s = &report.selection;
    let style = Stack {
        title,
        y_name: "Inodes",
        bytes: false,
        layers: &[("Used inodes", USED), ("Free inodes", FREE)],
        empty: "No filesystem samples in this range yet: samples are taken by every scan.",
        headroom: 1.05,
        legend: SeriesLabelPosition::LowerLeft,
    };
    stacked(style, &points, days(s.from_ms), days(s.to_ms), s.bucket)
}

/// Days the forecast chart looks ahead of the last sample: until the latest run-out the
/// forecasts show (at least 30 days, at most a year).
pub fn forecast_horizon(trends: &[FsTrend]) -> f64 {
    let mut ahead: f64 = 30.0;
    for t in trends {
        let last = t.last_day;
        for trend in [&t.forecast.bytes, &t.forecast.inodes]
            .into_iter()
            .flatten()
        {
            if let Some(at) = trend.latest.or(trend.full_at) {
                ahead = ahead.max(days(at) - last + 7.0);
            }
        }
    }
    ahead.min(365.0)
}

/// Per filesystem: % of disk and of inodes used, observed, and the fitted trend with its
/// ~95 % band up to the forecast horizon; 100 % is full.
pub fn forecast_svg(report: &Report, title: &str) -> Result<String, ReportsError> {
    let trends: Vec<&FsTrend> = report
        .trends
        .iter()
        .filter(|t| !t.bytes_pct.is_empty())
        .take(PALETTE.len() / 2)
        .collect();
    let empty_why = trends
        .is_empty()
        .then_some("No filesystem samples in this range yet: samples are taken by every scan.");
    svg(title, empty_why, |root| {
        let s = &report.selection;
        let ahead = forecast_horizon(&report.trends);
        let last = trends
            .iter()
            .map(|t| t.last_day)
            .fold(f64::NEG_INFINITY, f64::max);
        let x0 = days(s.from_ms).min(
            trends
                .iter()
                .map(|t| t.first_day)
                .fold(f64::INFINITY, f64::min),
        );
        let x1 = (last + ahead).max(days(s.to_ms));
        let span = x1 - x0;
        let mut chart = plot(root, title, x0..x1, 0f64..110f64)?;
        axes(&mut chart, span, "Used (% of capacity)", 12, &|y| {
            format!("{y:.0} %")
        })?;
        chart
            .draw_series(LineSeries::new(
                [(x0, 100.0), (x1, 100.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(err)?
            .label("Full (100 %)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BLACK));
        for (i, t) in trends.iter().enumerate() {
            for (k, (what, fit, observed)) in [
                ("disk", &t.bytes_fit, &t.bytes_pct),
                ("inodes", &t.inodes_fit, &t.inodes_pct),
            ]
            .into_iter()
            .enumerate()
            {
                let color = PALETTE[(i * 2 + k) % PALETTE.len()];
                let name = format!("{} {} — {what} used", t.forecast.node, t.forecast.data_dir);
                chart
                    .draw_series(LineSeries::new(
                        observed.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
                    });
                let Some(fit) = fit else { continue };
                let total = if k == 0 {
                    t.total_bytes
                } else {
                    t.total_inodes
                };
                if total <= 0.0 {
                    continue;
                }
                // The fit is of what is left; as % used: 100 × (1 − left / total).
                let pct = |left: f64| (100.0 * (1.0 - left / total)).clamp(0.0, 110.0);
                let steps = 60;
                let xs: Vec<f64> = (0..=steps)
                    .map(|j| t.first_day + (last + ahead - t.first_day) * j as f64 / steps as f64)
                    .collect();
                let mut band: Vec<(f64, f64)> = xs
                    .iter()
                    .map(|&x| (x, pct(fit.predict(x) + fit.band(x))))
                    .collect();
                band.extend(
                    xs.iter()
                        .rev()
                        .map(|&x| (x, pct(fit.predict(x) - fit.band(x)))),
                );
                chart
                    .draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))
                    .map_err(err)?;
                chart
                    .draw_series(DashedLineSeries::new(
                        xs.iter().map(|&x| (x, pct(fit.predict(x)))),
                        6,
                        4,
                        color.stroke_width(1),
                    ))
                    .map_err(err)?
                    .label(format!("{what} trend, shaded: 95 % band"))
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.mix(0.3).filled())
                    });
            }
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 13)
    })
}
