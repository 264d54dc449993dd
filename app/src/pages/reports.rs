//! The reports page (`/reports`): storage over time (live data, snapshot hold, backups), the
//! breakdown per node, keyspace or table with measured churn and growth, inodes used and
//! free, disk-full and inode-exhaustion forecasts with their back-test, and the top lists.
//!
//! The state is in the URL (a plain GET form, so it works without JavaScript). Charts are SVG
//! drawn by the server (`/api/v1/reports/storage.svg`); each has the same numbers in a table
//! beneath and as CSV (`/api/v1/reports/storage.csv`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::{
    FsForecast, FsPoint, GroupSummary, ReportDto, ReportQuery, SamplingInfo, StoragePoint, Trend,
    format_bytes, format_day, format_duration_ms, format_utc, get_report, server_message,
};
use crate::components::{ChartData, snapshot_href};

/// Reads the report's query from the URL; empty fields count as absent.
pub fn from_params(map: &ParamsMap) -> ReportQuery {
    let text = |k: &str| {
        map.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    ReportQuery {
        from: text("from"),
        to: text("to"),
        group: text("group"),
        node: text("node"),
        keyspace: text("keyspace"),
        table: text("table"),
        chart: None,
    }
}

/// `/api/v1/reports/storage.{ext}?…&chart=…` for the report's query.
fn chart_url(q: &ReportQuery, ext: &str, chart: &str) -> String {
    let q = ReportQuery {
        chart: Some(chart.to_string()),
        ..q.clone()
    };
    format!("/api/v1/reports/storage.{ext}?{}", q.query_string())
}

/// `/reports?…` for a query.
fn page_url(q: &ReportQuery) -> String {
    let qs = q.query_string();
    if qs.is_empty() {
        "/reports".into()
    } else {
        format!("/reports?{qs}")
    }
}

fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 100.0 => format!("{v:.0} %"),
        Some(v) => format!("{v:.2} %"),
        None => "—".into(),
    }
}

fn when(ms: i64, bucket: &str) -> String {
    if bucket == "day" {
        format_day(ms)
    } else {
        format_utc(ms)
    }
}

fn bucket_words(bucket: &str) -> &'static str {
    match bucket {
        "sample" => "One row per sample (each scan).",
        "hour" => "One row per hour: the mean of that hour's samples.",
        _ => "One row per day (UTC): the mean of that day's samples.",
    }
}

/// What the folded table of a chart's numbers says before it is opened.
fn chart_summary(rows: usize, bucket: &str) -> String {
    format!(
        "The chart's numbers ({rows} rows). {}",
        bucket_words(bucket)
    )
}

/// The header of the time column: days or times, in UTC.
fn time_header(bucket: &str) -> &'static str {
    if bucket == "day" {
        "Day (UTC)"
    } else {
        "Time (UTC)"
    }
}

/// What the page says before anything was sampled.
fn empty_history(s: &SamplingInfo) -> impl IntoView {
    let now_text = match (s.nodes, s.next_sample_at) {
        (0, _) => "No Cassandra node is configured yet: add a [[nodes]] section to the configuration. Sampling starts with the first scan.".to_string(),
        (_, Some(next)) => format!(
            "The first sample is recorded by the scan the server runs at start (usually within a minute); after that every {} — next at {}.",
            format_duration_ms(s.interval_secs as i64 * 1000),
            format_utc(next)
        ),
        (_, None) => format!(
            "The first sample is recorded by the next scan; the server samples every {}.",
            format_duration_ms(s.interval_secs as i64 * 1000)
        ),
    };
    view! {
        <section class="card notice" role="status" data-testid="reports-empty">
            <h2>"No storage samples yet"</h2>
            <p>{now_text}</p>
            <p>"An operator can record one right now with Rescan on the Overview."</p>
            <p>"Each sample records:"</p>
            <ul>
                <li>"per table: live bytes, files and inodes, the bytes and inodes only snapshots keep alive (hold), and the incremental-backup directory's bytes and files;"</li>
                <li>"per table: the bytes of live SSTables that disappeared since the previous sample (compacted away): the measured churn;"</li>
                <li>"per data directory's filesystem: capacity and free bytes and inodes, for the disk-full forecasts."</li>
            </ul>
            <p class="muted small">
                {format!(
                    "Samples older than {} days are kept as one per day, so years of history stay small.",
                    s.keep_hourly_days
                )}
            </p>
        </section>
    }
}

/// The storage chart's numbers.
fn storage_table(points: Vec<StoragePoint>, bucket: String) -> impl IntoView {
    let summary = chart_summary(points.len(), &bucket);
    let rows = points
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <td>{when(p.at, &bucket)}</td>
                    <td class="num">{format_bytes(p.live_bytes)}</td>
                    <td class="num">{format_bytes(p.hold_bytes)}</td>
                    <td class="num">{format!("{} ({} files)", format_bytes(p.backups_bytes), p.backups_files)}</td>
                    <td class="num">{format_bytes(p.total_bytes())}</td>
                    <td class="num">{format_bytes(p.compacted_bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ChartData
            summary
            testid="storage-table"
            time_header=time_header(&bucket)
            columns=&["Live data", "Snapshot hold", "Backups", "Total", "Compacted away"]
        >
            {rows}
        </ChartData>
    }
}

/// The next finer grouping and the query narrowing the report to one group.
fn drill(q: &ReportQuery, g: &GroupSummary) -> Option<(String, String)> {
    let group = match q.group.as_deref() {
        Some("table") => return None,
        Some("keyspace") => "table",
        _ => "keyspace",
    };
    let narrowed = ReportQuery {
        group: Some(group.into()),
        node: Some(g.node.clone()),
        keyspace: g.keyspace.clone().or(q.keyspace.clone()),
        ..q.clone()
    };
    Some((page_url(&narrowed), format!("by {group}")))
}

/// The calculator, filled in with a group's measured figures (it clamps and says so).
fn calculator_url(g: &GroupSummary) -> String {
    let live_gb = g.live_bytes as f64 / 1e9;
    let mut parts = vec![format!("live_gb={}", crate::growth::format_input(live_gb))];
    if let Some(c) = g.churn_pct_per_day {
        parts.push(format!("churn_pct={}", crate::growth::format_input(c)));
    }
    if let Some(gr) = g.growth_pct_per_day {
        parts.push(format!("growth_pct={}", crate::growth::format_input(gr)));
    }
    format!("/calculator?{}", parts.join("&"))
}

fn groups_table(dto: &ReportDto) -> impl IntoView {
    let q = dto.query.clone();
    let group = q.group.clone().unwrap_or_else(|| "node".into());
    let more = dto.groups_total - dto.groups.len() as i64;
    let rows = dto
        .groups
        .iter()
        .map(|g| {
            let drill = drill(&q, g);
            view! {
                <tr>
                    <th scope="row"><code>{g.key.clone()}</code></th>
                    <td class="num">{format_bytes(g.live_bytes)}</td>
                    <td class="num">{format_bytes(g.hold_bytes)}</td>
                    <td class="num">{format!("{} ({} files)", format_bytes(g.backups_bytes), g.backups_files)}</td>
                    <td class="num">{format!("{}{}", if g.change_bytes < 0 { "−" } else { "+" }, format_bytes(g.change_bytes.abs()))}</td>
                    <td class="num">{pct(g.churn_pct_per_day)}</td>
                    <td class="num">{pct(g.growth_pct_per_day)}</td>
                    <td class="num">{g.samples}</td>
                    <td>
                        {drill.map(|(href, label)| view! { <a href=href>{label}</a> " · " })}
                        <a href=calculator_url(g)>"calculator"</a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="groups-table">
                <caption>{format!("By {group}, at the end of the range; churn and growth measured over it")}</caption>
                <thead>
                    <tr>
                        <th scope="col">{group.clone()}</th>
                        <th scope="col" class="num">"Live data"</th>
                        <th scope="col" class="num">"Snapshot hold"</th>
                        <th scope="col" class="num">"Backups"</th>
                        <th scope="col" class="num">"Change"</th>
                        <th scope="col" class="num">"Churn / day"</th>
                        <th scope="col" class="num">"Growth / day"</th>
                        <th scope="col" class="num">"Samples"</th>
                        <th scope="col">"More"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {(more > 0).then(|| view! { <p class="muted small">{format!("{more} smaller {group}s are not listed; the CSV has every one.")}</p> })}
    }
}

/// The inodes chart's numbers.
fn inodes_table(points: Vec<FsPoint>, bucket: String) -> impl IntoView {
    let summary = chart_summary(points.len(), &bucket);
    let rows = points
        .into_iter()
        .map(|p| {
            let used = if p.total_inodes > 0 {
                format!(
                    "{:.1} %",
                    100.0 * p.used_inodes as f64 / p.total_inodes as f64
                )
            } else {
                "—".into()
            };
            view! {
                <tr>
                    <td>{when(p.at, &bucket)}</td>
                    <td class="num">{p.used_inodes}</td>
                    <td class="num">{p.free_inodes}</td>
                    <td class="num">{used}</td>
                    <td class="num">{format_bytes(p.used_bytes)}</td>
                    <td class="num">{format_bytes(p.avail_bytes)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <ChartData
            summary
            testid="inodes-table"
            time_header=time_header(&bucket)
            columns=&["Used inodes", "Free inodes", "Used", "Disk used", "Disk free (for Cassandra)"]
        >
            {rows}
        </ChartData>
    }
}

fn trend_cell(t: Option<Trend>, note: Option<String>) -> AnyView {
    match t {
        Some(t) => {
            let backtest = match &t.backtest {
                Some(b) => format!(
                    "Back-test: the last {} days' {}-day-ahead forecasts were within {:.1} % (median {:.1} %).",
                    b.forecasts, b.horizon_days, b.max_error_pct, b.median_error_pct
                ),
                None => "Back-test: needs samples on at least 10 days in the range.".into(),
            };
            view! {
                <p>{t.summary}</p>
                <p class="muted small">{backtest}</p>
            }
            .into_any()
        }
        None => view! { <p class="muted">{note.unwrap_or_else(|| "No forecast.".into())}</p> }
            .into_any(),
    }
}

fn forecast_table(forecasts: Vec<FsForecast>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data forecast" data-testid="forecast-table">
                <caption>"Per filesystem: now, and where the fitted trend leads (dates in UTC)"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Filesystem"</th>
                        <th scope="col">"Disk"</th>
                        <th scope="col">"Inodes"</th>
                    </tr>
                </thead>
                <tbody>
                    {forecasts
                        .into_iter()
                        .map(|f| {
                            let disk_now = format!(
                                "{} used of {} ({} free for Cassandra)",
                                format_bytes(f.used_bytes),
                                format_bytes(f.total_bytes),
                                format_bytes(f.avail_bytes)
                            );
                            let inodes_now = format!("{} used of {} ({} free)", f.used_inodes, f.total_inodes, f.free_inodes);
                            view! {
                                <tr>
                                    <th scope="row">
                                        {f.node.clone()}
                                        <br />
                                        <code class="small">{f.data_dir.clone()}</code>
                                    </th>
                                    <td class="wrap">
                                        <p>{disk_now}</p>
                                        {trend_cell(f.bytes.clone(), f.note.clone())}
                                    </td>
                                    <td class="wrap">
                                        <p>{inodes_now}</p>
                                        {trend_cell(f.inodes.clone(), f.note.clone())}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn top_lists(dto: &ReportDto) -> impl IntoView {
    let holds = dto.top_holds.clone();
    let snaps = dto.top_snapshots.clone();
    view! {
        <section class="card" aria-labelledby="top-title">
            <h2 id="top-title">"Where the hold is"</h2>
            <div class="top-lists">
                <div class="table-wrap">
                    <table class="data" data-testid="top-holds">
                        <caption>"Tables with the largest snapshot hold (last sample in the range)"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Table"</th>
                                <th scope="col" class="num">"Hold"</th>
                                <th scope="col" class="num">"Hold inodes"</th>
                                <th scope="col" class="num">"Live data"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {if holds.is_empty() {
                                view! { <tr><td colspan="4" class="muted">"No table has a snapshot hold."</td></tr> }.into_any()
                            } else {
                                holds
                                    .into_iter()
                                    .map(|h| view! {
                                        <tr>
                                            <th scope="row"><code>{format!("{}/{}.{}", h.node, h.keyspace, h.table)}</code></th>
                                            <td class="num">{format_bytes(h.hold_bytes)}</td>
                                            <td class="num">{h.hold_inodes}</td>
                                            <td class="num">{format_bytes(h.live_bytes)}</td>
                                        </tr>
                                    })
                                    .collect_view()
                                    .into_any()
                            }}
                        </tbody>
                    </table>
                </div>
                <div class="table-wrap">
                    <table class="data" data-testid="top-snapshots">
                        <caption>"Snapshots whose clearing frees the most (their exclusive hold, now)"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Snapshot"</th>
                                <th scope="col" class="num">"Clearing frees"</th>
                                <th scope="col" class="num">"Size"</th>
                                <th scope="col">"Created (UTC)"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {if snaps.is_empty() {
                                view! { <tr><td colspan="4" class="muted">"No snapshot holds bytes of its own."</td></tr> }.into_any()
                            } else {
                                snaps
                                    .into_iter()
                                    .map(|s| {
                                        let href = snapshot_href(&s.tag, Some(&s.node));
                                        view! {
                                            <tr>
                                                <th scope="row">
                                                    <a href=href><code>{s.tag.clone()}</code></a>
                                                    <span class="muted small">{format!(" {} · {} · {}", s.node, s.kind, s.tables)}</span>
                                                </th>
                                                <td class="num">{format_bytes(s.exclusive_hold_bytes)}</td>
                                                <td class="num">{format_bytes(s.size_bytes)}</td>
                                                <td>{format_utc(s.created_at)}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()
                                    .into_any()
                            }}
                        </tbody>
                    </table>
                </div>
            </div>
        </section>
    }
}

fn sampling_line(s: &SamplingInfo) -> String {
    let mut parts = vec![format!(
        "Storage is sampled by every scan, and at least every {}",
        format_duration_ms(s.interval_secs as i64 * 1000)
    )];
    if let Some(last) = s.last_sample_at {
        parts.push(format!("last sample {}", format_utc(last)));
    }
    if let Some(next) = s.next_sample_at {
        parts.push(format!("next {}", format_utc(next)));
    }
    format!(
        "{}. Samples older than {} days are kept as daily means.",
        parts.join("; "),
        s.keep_hourly_days
    )
}

fn report_view(dto: ReportDto) -> AnyView {
    if dto.sampling.first_sample_at.is_none() {
        return empty_history(&dto.sampling).into_any();
    }
    let q = dto.query.clone();
    let from = q.from.clone().unwrap_or_default();
    let to = q.to.clone().unwrap_or_default();
    let m = dto.measured.clone();
    let bucket = dto.bucket.clone();
    let no_samples_in_range = dto.storage.is_empty();
    let measured_text = if m.samples == 0 {
        format!("Nothing was sampled for {} in this range.", m.scope)
    } else {
        format!(
            "{}: {} sample(s); at the end {} live, {} snapshot hold, {} backups; {} compacted away; measured churn {} per day, live data growth {} per day.",
            m.scope,
            m.samples,
            format_bytes(m.live_bytes),
            format_bytes(m.hold_bytes),
            format_bytes(m.backups_bytes),
            format_bytes(m.compacted_bytes),
            pct(m.churn_pct_per_day),
            pct(m.growth_pct_per_day)
        )
    };
    let range_alt = format!("from {from} to {to} (UTC)");
    view! {
        <p class="muted small" data-testid="sampling">{sampling_line(&dto.sampling)}</p>
        {no_samples_in_range.then(|| view! {
            <p class="card notice" role="status">
                {format!(
                    "No samples between {from} and {to}. Samples exist from {} to {}.",
                    dto.sampling.first_sample_at.map(format_utc).unwrap_or_default(),
                    dto.sampling.last_sample_at.map(format_utc).unwrap_or_default()
                )}
            </p>
        })}
        <section class="card" aria-labelledby="storage-title">
            <h2 id="storage-title">"Storage over time"</h2>
            <p data-testid="measured">{measured_text}</p>
            <figure class="report-chart">
                <img
                    src=chart_url(&q, "svg", "storage")
                    width="880"
                    height="380"
                    alt=format!("Stacked chart of live data, snapshot hold and backups {range_alt}; the table below has the same numbers.")
                    data-testid="storage-chart"
                />
                <figcaption>
                    <a href=chart_url(&q, "csv", "storage") download="" data-testid="storage-csv">"Download CSV"</a>
                    " (per group and point; the chart shows their sums)"
                </figcaption>
            </figure>
            {storage_table(dto.storage.clone(), bucket.clone())}
            {groups_table(&dto)}
        </section>
        <section class="card" aria-labelledby="inodes-title">
            <h2 id="inodes-title">"Inodes used and free"</h2>
            <figure class="report-chart">
                <img
                    src=chart_url(&q, "svg", "inodes")
                    width="880"
                    height="380"
                    alt=format!("Stacked chart of used and free inodes on the filesystems {range_alt}; the table below has the same numbers.")
                    data-testid="inodes-chart"
                />
                <figcaption>
                    <a href=chart_url(&q, "csv", "inodes") download="">"Download CSV"</a>
                    " (per filesystem and point)"
                </figcaption>
            </figure>
            {inodes_table(dto.filesystems.clone(), bucket.clone())}
        </section>
        <section class="card" aria-labelledby="forecast-title">
            <h2 id="forecast-title">"When do we run out?"</h2>
            <p class="muted small">
                "A straight line is fitted through what is left (free bytes, free inodes) over the range; the shaded band is where about 95 % of future points should fall. The back-test predicted each of the range's last 30 days from the days up to a week before it."
            </p>
            <figure class="report-chart">
                <img
                    src=chart_url(&q, "svg", "forecast")
                    width="880"
                    height="380"
                    alt=format!("Disk and inodes used in percent of capacity per filesystem {range_alt}, with the fitted trend and its band; the table below has the forecast dates.")
                    data-testid="forecast-chart"
                />
                <figcaption>
                    <a href=chart_url(&q, "csv", "forecast") download="">"Download CSV"</a>
                    " (observed percentages and the trend with its band, per day)"
                </figcaption>
            </figure>
            {forecast_table(dto.forecasts.clone())}
        </section>
        {top_lists(&dto)}
    }
    .into_any()
}

/// The date range, grouping and scope, as a GET form filled in from the URL.
#[component]
fn ReportForm(q: ReportQuery) -> impl IntoView {
    let group = q.group.clone().unwrap_or_else(|| "node".into());
    view! {
        <Form method="get" action="/reports" attr:class="card report-form" attr:aria-label="Report range and grouping">
            <div class="filter-grid">
                <div class="field">
                    <label for="r-from">"From (UTC)"</label>
                    <input id="r-from" name="from" type="date" value=q.from.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="r-to">"To (UTC, included)"</label>
                    <input id="r-to" name="to" type="date" value=q.to.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="r-group">"Group by"</label>
                    <select id="r-group" name="group">
                        {crate::api::REPORT_GROUPS
                            .iter()
                            .map(|g| view! { <option value=*g selected=group == *g>{*g}</option> })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="r-node">"Node"</label>
                    <input id="r-node" name="node" type="text" autocomplete="off" placeholder="all" value=q.node.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="r-keyspace">"Keyspace"</label>
                    <input id="r-keyspace" name="keyspace" type="text" autocomplete="off" placeholder="all" value=q.keyspace.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="r-table">"Table"</label>
                    <input id="r-table" name="table" type="text" autocomplete="off" placeholder="table or keyspace.table" value=q.table.clone().unwrap_or_default() />
                </div>
            </div>
            <p class="actions">
                <button type="submit">"Show"</button>
                " "
                <a href="/reports">"Reset"</a>
                <span class="muted small">
                    {format!(
                        " Up to {} days; ranges over 7 days show daily means, over 2 days hourly means.",
                        crate::api::MAX_REPORT_DAYS
                    )}
                </span>
            </p>
        </Form>
    }
}

#[component]
pub fn Reports() -> impl IntoView {
    let params = use_query_map();
    let q = Memo::new(move |_| from_params(&params.read()));
    let report = Resource::new(move || q.get(), get_report);
    view! {
        <Title text="Reports" />
        <div class="reports-page">
            <h1>"Reports"</h1>
            <p class="lead">
                "How much disk live data, snapshots and unshipped incremental backups take over time, how fast data churns, and when the disks and their inodes run out — from the samples every scan records. Times are UTC."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    report
                        .get()
                        .map(|r| {
                            let form_q = match &r {
                                Ok(dto) => dto.query.clone(),
                                Err(_) => q.get_untracked(),
                            };
                            let body = match r {
                                Ok(dto) => report_view(dto),
                                Err(e) => {
                                    view! {
                                        <p class="card error" role="alert" data-testid="report-error">
                                            {format!("Cannot show this report: {}", server_message(&e))}
                                        </p>
                                    }
                                        .into_any()
                                }
                            };
                            view! {
                                <ReportForm q=form_q />
                                {body}
                            }
                        })
                }}
            </Transition>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(node: &str, ks: Option<&str>) -> GroupSummary {
        GroupSummary {
            key: node.into(),
            node: node.into(),
            keyspace: ks.map(str::to_string),
            table: None,
            table_id: None,
            live_bytes: 2_500_000_000,
            hold_bytes: 0,
            backups_bytes: 0,
            backups_files: 0,
            live_inodes: 0,
            change_bytes: 0,
            churn_pct_per_day: Some(12.5),
            growth_pct_per_day: None,
            samples: 3,
        }
    }

    #[test]
    fn the_url_maps_to_the_query_and_chart_links_keep_it() {
        let map: ParamsMap = [("from", "2026-11-01"), ("group", "table"), ("node", " ")]
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let q = from_params(&map);
        assert_eq!(q.from.as_deref(), Some("2026-11-01"));
        assert_eq!(q.node, None);
        assert_eq!(
            chart_url(&q, "svg", "inodes"),
            "/api/v1/reports/storage.svg?from=2026-11-01&group=table&chart=inodes"
        );
        assert_eq!(page_url(&ReportQuery::default()), "/reports");
    }

    #[test]
    fn groups_drill_down_to_the_next_grouping_and_into_the_calculator() {
        let q = ReportQuery {
            group: Some("node".into()),
            ..ReportQuery::default()
        };
        let (href, label) = drill(&q, &group("n1", None)).expect("drill");
        assert_eq!(href, "/reports?group=keyspace&node=n1");
        assert_eq!(label, "by keyspace");
        let q = ReportQuery {
            group: Some("table".into()),
            ..ReportQuery::default()
        };
        assert_eq!(drill(&q, &group("n1", Some("shop"))), None);
        assert_eq!(
            calculator_url(&group("n1", None)),
            "/calculator?live_gb=2.5&churn_pct=12.5"
        );
    }
}
