//! The timeline above the snapshot list: per day, one bar stacked by node, its height the
//! number of snapshots taken that day, with the figures in each bar's title and in a table
//! behind the chart.

use leptos::prelude::*;

use crate::api::{TimelineDay, format_bytes, format_day, parse_day};

/// Most days drawn; older days are left out (and the chart says so).
const MAX_DAYS: i64 = 366;
/// Node colours, cycled (see `.tl-n0` … in the stylesheet).
const PALETTE: usize = 6;
const DAY_MS: i64 = 86_400_000;

/// One node's share of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub node_index: usize,
    pub entry: TimelineDay,
}

/// One day of the chart (days without snapshots have no segments).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub day: String,
    pub segments: Vec<Segment>,
}

impl Bar {
    fn count(&self) -> i64 {
        self.segments.iter().map(|s| s.entry.count).sum()
    }
}

/// The chart's data: every day from the first to the last (at most [`MAX_DAYS`]), nodes in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub nodes: Vec<String>,
    pub bars: Vec<Bar>,
    pub max_count: i64,
    /// Days before the first bar that had snapshots but are not drawn.
    pub days_left_out: i64,
}

/// Lays the server's per-day, per-node figures out on a continuous run of days.
pub fn chart(entries: &[TimelineDay]) -> Chart {
    let mut nodes: Vec<String> = entries.iter().map(|e| e.node.clone()).collect();
    nodes.sort();
    nodes.dedup();
    let dated: Vec<(i64, &TimelineDay)> = entries
        .iter()
        .filter_map(|e| parse_day(&e.day).map(|ms| (ms / DAY_MS, e)))
        .collect();
    let (Some(first), Some(last)) = (
        dated.iter().map(|(d, _)| *d).min(),
        dated.iter().map(|(d, _)| *d).max(),
    ) else {
        return Chart {
            nodes,
            bars: Vec::new(),
            max_count: 0,
            days_left_out: 0,
        };
    };
    let start = first.max(last - MAX_DAYS + 1);
    let days_left_out = dated
        .iter()
        .filter(|(d, _)| *d < start)
        .map(|(d, _)| *d)
        .collect::<std::collections::BTreeSet<_>>()
        .len() as i64;
    let bars: Vec<Bar> = (start..=last)
        .map(|d| {
            let mut segments: Vec<Segment> = dated
                .iter()
                .filter(|(day, _)| *day == d)
                .map(|(_, e)| Segment {
                    node_index: nodes.iter().position(|n| *n == e.node).unwrap_or(0),
                    entry: (*e).clone(),
                })
                .collect();
            segments.sort_by_key(|s| s.node_index);
            Bar {
                day: format_day(d * DAY_MS),
                segments,
            }
        })
        .collect();
    let max_count = bars.iter().map(Bar::count).max().unwrap_or(0);
    Chart {
        nodes,
        bars,
        max_count,
        days_left_out,
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What one bar segment says when pointed at or read out.
fn segment_label(day: &str, e: &TimelineDay) -> String {
    format!(
        "{day}, {}: {}, {}, exclusive hold {}",
        e.node,
        plural(e.count, "snapshot", "snapshots"),
        format_bytes(e.size_bytes),
        format_bytes(e.exclusive_hold_bytes)
    )
}

/// The timeline of every snapshot that matches the filters (not only this page's).
#[component]
pub fn Timeline(days: Vec<TimelineDay>) -> impl IntoView {
    if days.is_empty() {
        return view! {
            <section class="card timeline" aria-labelledby="timeline-h">
                <h2 id="timeline-h">"Timeline"</h2>
                <p class="muted">"No snapshots to draw: nothing matches these filters."</p>
            </section>
        }
        .into_any();
    }
    let total_count: i64 = days.iter().map(|d| d.count).sum();
    let total_size: i64 = days.iter().map(|d| d.size_bytes).sum();
    let total_excl: i64 = days.iter().map(|d| d.exclusive_hold_bytes).sum();
    let c = chart(&days);
    let n = c.bars.len().max(1) as i64;
    let (first_day, last_day) = (
        c.bars.first().map(|b| b.day.clone()).unwrap_or_default(),
        c.bars.last().map(|b| b.day.clone()).unwrap_or_default(),
    );
    let max = c.max_count.max(1) as f64;
    let width = n * 10;
    let summary = format!(
        "Snapshots per day from {first_day} to {last_day} (UTC), stacked by node; the tallest bar is {}.",
        plural(c.max_count, "snapshot", "snapshots")
    );
    let rects = c
        .bars
        .iter()
        .enumerate()
        .flat_map(|(i, bar)| {
            let mut y = 100.0;
            bar.segments
                .iter()
                .map(|s| {
                    let h = (s.entry.count as f64 / max * 96.0).max(1.5);
                    y -= h;
                    let class = format!("tl-bar tl-n{}", s.node_index % PALETTE);
                    let label = segment_label(&bar.day, &s.entry);
                    view! {
                        <rect
                            class=class
                            x=i * 10 + 1
                            y=format!("{y:.2}")
                            width="8"
                            height=format!("{h:.2}")
                            data-day=bar.day.clone()
                            data-node=s.entry.node.clone()
                        >
                            <title>{label}</title>
                        </rect>
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    let legend = c
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            view! {
                <li>
                    <span class=format!("tl-swatch tl-n{}", i % PALETTE) aria-hidden="true"></span>
                    {node.clone()}
                </li>
            }
        })
        .collect_view();
    let rows = days
        .iter()
        .rev()
        .map(|d| {
            view! {
                <tr>
                    <td>{d.day.clone()}</td>
                    <td>{d.node.clone()}</td>
                    <td class="num">{d.count}</td>
                    <td class="num">{format_bytes(d.size_bytes)}</td>
                    <td class="num">{format_bytes(d.exclusive_hold_bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card timeline" aria-labelledby="timeline-h">
            <h2 id="timeline-h">"Timeline"</h2>
            <p class="small">
                {format!(
                    "{} on {} between {first_day} and {last_day}: {} in all, {} exclusive hold.",
                    plural(total_count, "snapshot", "snapshots"),
                    plural(days.iter().map(|d| d.day.as_str()).collect::<std::collections::BTreeSet<_>>().len() as i64, "day", "days"),
                    format_bytes(total_size),
                    format_bytes(total_excl),
                )}
            </p>
            <div class="tl-chart" style:max-width=format!("{}rem", (n * 2).max(12))>
                <p class="tl-axis-y small muted">{format!("↑ snapshots per day (max {})", c.max_count)}</p>
                <svg
                    class="tl-svg"
                    role="img"
                    aria-label=summary
                    viewBox=format!("0 0 {width} 100")
                    preserveAspectRatio="none"
                >
                    {rects}
                </svg>
                <p class="tl-axis-x small muted">
                    <span>{first_day.clone()}</span>
                    <span>{(first_day != last_day).then(|| last_day.clone())}</span>
                </p>
            </div>
            <ul class="tl-legend small">{legend}</ul>
            {(c.days_left_out > 0)
                .then(|| {
                    view! {
                        <p class="small muted">
                            {format!(
                                "Older days with snapshots not drawn: {} (narrow the dates to see them).",
                                c.days_left_out,
                            )}
                        </p>
                    }
                })}
            <details>
                <summary>"The timeline as a table"</summary>
                <div class="table-wrap">
                    <table class="data">
                        <caption>"Snapshots per day (UTC) and node, newest first"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Day"</th>
                                <th scope="col">"Node"</th>
                                <th scope="col" class="num">"Snapshots"</th>
                                <th scope="col" class="num">"Size"</th>
                                <th scope="col" class="num">"Exclusive hold"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(day: &str, node: &str, count: i64) -> TimelineDay {
        TimelineDay {
            day: day.into(),
            node: node.into(),
            count,
            size_bytes: count * 1024,
            exclusive_hold_bytes: count,
        }
    }

    #[test]
    fn days_run_on_without_gaps_and_stack_by_node() {
        let c = chart(&[
            day("2026-11-22", "node2", 1),
            day("2026-11-22", "node1", 2),
            day("2026-11-25", "node1", 4),
        ]);
        assert_eq!(c.nodes, vec!["node1", "node2"]);
        let days: Vec<&str> = c.bars.iter().map(|b| b.day.as_str()).collect();
        assert_eq!(
            days,
            vec!["2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25"]
        );
        assert_eq!(c.bars[0].segments.len(), 2);
        assert_eq!(c.bars[0].segments[0].entry.node, "node1");
        assert_eq!(c.bars[0].count(), 3);
        assert!(c.bars[1].segments.is_empty());
        assert_eq!(c.max_count, 4);
        assert_eq!(c.days_left_out, 0);
    }

    #[test]
    fn only_the_latest_year_is_drawn() {
        let c = chart(&[day("2024-01-01", "n", 1), day("2026-11-25", "n", 1)]);
        assert_eq!(c.bars.len(), MAX_DAYS as usize);
        assert_eq!(c.bars.last().map(|b| b.day.as_str()), Some("2026-11-25"));
        assert_eq!(c.days_left_out, 1);
        assert_eq!(chart(&[]).bars.len(), 0);
    }

    #[test]
    fn labels_name_day_node_count_and_size() {
        assert_eq!(
            segment_label("2026-11-24", &day("2026-11-24", "node1", 2)),
            "2026-11-24, node1: 2 snapshots, 2.0 KiB, exclusive hold 2 B"
        );
    }

    #[test]
    fn the_chart_has_a_label_per_segment_and_a_table_behind_it() {
        let owner = Owner::new();
        owner.set();
        let html = view! {
            <Timeline days=vec![day("2026-11-22", "node1", 2), day("2026-11-24", "node2", 1)] />
        }
        .to_html();
        assert!(html.contains(r#"role="img""#), "{html}");
        assert!(html.contains("Snapshots per day from 2026-11-22 to 2026-11-24 (UTC)"));
        assert!(html.contains(
            "<title>2026-11-22, node1: 2 snapshots, 2.0 KiB, exclusive hold 2 B</title>"
        ));
        assert!(html.contains("3 snapshots on 2 days between 2026-11-22 and 2026-11-24"));
        assert!(html.contains("<summary>The timeline as a table</summary>"));
        let html = view! { <Timeline days=vec![] /> }.to_html();
        assert!(html.contains("No snapshots to draw"));
    }
}
