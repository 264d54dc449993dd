//! The calculator's chart: live data and snapshot hold, stacked, from the first snapshot to
//! the steady state, drawn as SVG in the page (it follows the sliders in the browser) with
//! axes in GB and days, a legend, and the same numbers as a table underneath.

use leptos::prelude::*;

use crate::growth::{Projection, format_number};

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// A "nice" step (1, 2 or 5 × 10^k) giving about `ticks` steps over `span`.
pub fn nice_step(span: f64, ticks: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Scales of one projection: (x max in days, y max in GB, y step).
fn scales(p: &Projection) -> (f64, f64, f64) {
    let x_max = p.inputs.retention_days.max(1e-9);
    let top = p
        .series
        .iter()
        .map(|q| q.total_gb)
        .fold(0.0, f64::max)
        .max(1.0);
    let step = nice_step(top, 5.0);
    let y_max = (top / step).ceil() * step;
    (x_max, y_max, step)
}

fn sx(day: f64, x_max: f64) -> f64 {
    LEFT + (W - LEFT - RIGHT) * day / x_max
}

fn sy(gb: f64, y_max: f64) -> f64 {
    TOP + (H - TOP - BOTTOM) * (1.0 - gb / y_max)
}

/// The closed path between two lines over the series (`lower`, `upper` in GB).
fn band(p: &Projection, lower: impl Fn(usize) -> f64, upper: impl Fn(usize) -> f64) -> String {
    let (x_max, y_max, _) = scales(p);
    let mut d = String::new();
    for (i, q) in p.series.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        d.push_str(&format!(
            "{cmd}{:.1},{:.1} ",
            sx(q.day, x_max),
            sy(upper(i), y_max)
        ));
    }
    for (i, q) in p.series.iter().enumerate().rev() {
        d.push_str(&format!(
            "L{:.1},{:.1} ",
            sx(q.day, x_max),
            sy(lower(i), y_max)
        ));
    }
    d.push('Z');
    d
}

#[component]
pub fn GrowthChart(projection: Memo<Projection>) -> impl IntoView {
    let live_path = move || {
        let p = projection.get();
        let s = p.series.clone();
        band(&p, |_| 0.0, |i| s[i].live_gb)
    };
    let hold_path = move || {
        let p = projection.get();
        let s = p.series.clone();
        band(&p, |i| s[i].live_gb, |i| s[i].total_gb)
    };
    let y_ticks = move || {
        let p = projection.get();
        let (_, y_max, step) = scales(&p);
        let n = (y_max / step).round() as usize;
        (0..=n)
            .map(|i| {
                let v = step * i as f64;
                let y = sy(v, y_max);
                view! {
                    <g class="tick">
                        <line x1=LEFT x2=W - RIGHT y1=y y2=y class="grid"></line>
                        <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end">{format_number(v)}</text>
                    </g>
                }
            })
            .collect_view()
    };
    let x_ticks = move || {
        let p = projection.get();
        let (x_max, ..) = scales(&p);
        let step = nice_step(x_max, 6.0).max(if x_max >= 1.0 { 1.0 } else { 0.1 });
        let n = (x_max / step).floor() as usize;
        (0..=n)
            .map(|i| {
                let d = step * i as f64;
                let x = sx(d, x_max);
                view! {
                    <g class="tick">
                        <line x1=x x2=x y1=H - BOTTOM y2=H - BOTTOM + 5.0 class="axis"></line>
                        <text x=x y=H - BOTTOM + 18.0 text-anchor="middle">{format_number(d)}</text>
                    </g>
                }
            })
            .collect_view()
    };
    let summary = move || {
        let p = projection.get();
        format!(
            "Chart: live data grows from {} GB to {} GB and the snapshot hold from 0 to {} GB over {} days.",
            format_number(p.series.first().map(|q| q.live_gb).unwrap_or_default()),
            format_number(p.steady.live_gb),
            format_number(p.steady.hold_gb),
            format_number(p.inputs.retention_days)
        )
    };
    let rows = move || {
        let p = projection.get();
        p.series
            .iter()
            .step_by(4)
            .chain(std::iter::once(&p.steady))
            .map(|q| {
                view! {
                    <tr>
                        <td class="num">{format!("{:.1}", q.day)}</td>
                        <td class="num">{format_number(q.live_gb)}</td>
                        <td class="num">{format_number(q.hold_gb)}</td>
                        <td class="num">{format_number(q.total_gb)}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    // Type-erased in two parts: the nested view type is otherwise too deep for the compiler.
    let chart = view! {
            <svg
                viewBox=format!("0 0 {W} {H}")
                role="img"
                aria-label=summary
                data-testid="growth-chart"
            >
                <title>{summary}</title>
                {y_ticks}
                <path class="area-live" d=live_path></path>
                <path class="area-hold" d=hold_path></path>
                <line x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM class="axis"></line>
                <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM class="axis"></line>
                {x_ticks}
                <text x=LEFT + (W - LEFT - RIGHT) / 2.0 y=H - 6.0 text-anchor="middle" class="axis-label">
                    "Days since snapshots began"
                </text>
                <text x=14 y=TOP + (H - TOP - BOTTOM) / 2.0 text-anchor="middle" class="axis-label" transform=format!("rotate(-90 14 {})", TOP + (H - TOP - BOTTOM) / 2.0)>
                    "GB"
                </text>
                <g class="legend" transform=format!("translate({} {})", LEFT + 10.0, TOP + 4.0)>
                    <rect x=0 y=0 width=12 height=12 class="area-live"></rect>
                    <text x=18 y=10>"Live data"</text>
                    <rect x=100 y=0 width=12 height=12 class="area-hold"></rect>
                    <text x=118 y=10>"Snapshot hold"</text>
                </g>
            </svg>
    }
    .into_any();
    let table = view! {
            <figcaption>
                <details>
                    <summary>"The chart's numbers (GB)"</summary>
                    <table class="data compact">
                        <thead>
                            <tr>
                                <th scope="col">"Day"</th>
                                <th scope="col">"Live"</th>
                                <th scope="col">"Hold"</th>
                                <th scope="col">"Total"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
            </figcaption>
    }
    .into_any();
    view! { <figure class="growth-chart">{chart} {table}</figure> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_nice() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(nice_step(150.0, 5.0), 50.0));
        assert!(close(nice_step(1.0, 6.0), 0.2));
        assert!(close(nice_step(365.0, 6.0), 100.0));
        assert!(close(nice_step(0.0, 5.0), 1.0));
    }
}
