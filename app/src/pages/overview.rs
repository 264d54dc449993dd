//! The Overview: every node (reachable or not, with the reason), its filesystems' bytes and
//! inodes, and per table the live data, snapshots, snapshot hold and incremental backups, with
//! a Rescan button that shows the scan's progress.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    AckAlert, AlertDto, FilesystemDto, JobDto, NodeDto, OverviewDto, StartScan, TableDto,
    format_bytes, format_utc, get_job, get_overview, list_alerts,
};
use crate::components::{OkBadge, Time, restore_href};

/// A used/total bar with its figures in words.
#[component]
fn UsageBar(label: &'static str, used: i64, total: i64, text: String) -> impl IntoView {
    let pct = if total > 0 {
        (100.0 * used as f64 / total as f64).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let fill_class = if pct >= 90.0 {
        "usage-fill danger"
    } else {
        "usage-fill"
    };
    view! {
        <div class="usage">
            <div class="usage-label">
                <span>{label}</span>
                <span>{text}</span>
            </div>
            <div
                class="usage-bar"
                role="meter"
                aria-label=label
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=format!("{pct:.0}")
            >
                <span class=fill_class style:width=format!("{pct:.1}%")></span>
            </div>
        </div>
    }
}

fn filesystem_view(fs: FilesystemDto) -> impl IntoView {
    let body = match (&fs.error, fs.bytes(), fs.inodes()) {
        (None, Some(b), Some(i)) => {
            // Free is what Cassandra can still write; root's reserve counts as used.
            let reserved = if b.reserved > 0 {
                format!(", {} more reserved for root", format_bytes(b.reserved))
            } else {
                String::new()
            };
            view! {
                <UsageBar
                    label="Disk"
                    used=b.used()
                    total=b.total
                    text=format!(
                        "{} used of {} ({} free for Cassandra{reserved})",
                        format_bytes(b.used()),
                        format_bytes(b.total),
                        format_bytes(b.free),
                    )
                />
                <UsageBar
                    label="Inodes"
                    used=i.used()
                    total=i.total
                    text=format!("{} used of {} ({} free)", i.used(), i.total, i.free)
                />
            }
            .into_any()
        }
        (Some(err), ..) => view! { <p class="error" role="alert">{err.clone()}</p> }.into_any(),
        _ => view! { <p class="muted">"No filesystem figures."</p> }.into_any(),
    };
    view! {
        <div class="filesystem">
            <p class="path"><code>{fs.data_dir.clone()}</code></p>
            {body}
        </div>
    }
}

fn node_view(n: NodeDto) -> impl IntoView {
    view! {
        <article class="card node" data-node=n.name.clone()>
            <header class="node-head">
                <h3>{n.name.clone()}</h3>
                <OkBadge ok=n.reachable yes="Reachable" no="Unreachable" />
                <span class="muted">
                    {n.version.clone().map(|v| format!("Cassandra {v}")).unwrap_or_default()}
                </span>
            </header>
            {n.error.clone().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {n.cluster.clone().map(|c| view! {
                <p class="small" data-testid="node-place">
                    {format!(
                        "Cluster {c} · data centre {} · rack {}",
                        n.dc.clone().unwrap_or_default(),
                        n.rack.clone().unwrap_or_default()
                    )}
                </p>
            })}
            <p class="muted small">
                "CQL " <code>{n.cql.clone()}</code> " · JMX " <code>{n.jmx.clone()}</code>
                {n.scanned_at.map(|t| format!(" · last scan {}", format_utc(t)))}
            </p>
            <p>
                "Snapshot hold on this node: "
                <strong data-testid="node-hold">{format_bytes(n.hold_bytes)}</strong>
                {format!(" in {} inodes kept alive only by snapshots", n.hold_inodes)}
            </p>
            <p data-testid="node-incremental">
                {match n.incremental_backups {
                    Some(true) => "Incremental backups: on (every flushed SSTable is also linked into backups/). ",
                    Some(false) => "Incremental backups: off. ",
                    None => "Incremental backups: unknown (the node did not answer at its last check). ",
                }}
                <a href="/backups">"Backlog and on/off on Backups →"</a>
            </p>
            {n.filesystems.into_iter().map(filesystem_view).collect_view()}
        </article>
    }
}

fn tables_view(tables: Vec<TableDto>, caption: &'static str) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Keyspace"</th>
                        <th scope="col">"Table"</th>
                        <th scope="col" class="num">"Live data"</th>
                        <th scope="col" class="num">"SSTables"</th>
                        <th scope="col" class="num">"Snapshots"</th>
                        <th scope="col" class="num">"Under snapshots/"</th>
                        <th scope="col" class="num">"Snapshot hold"</th>
                        <th scope="col" class="num">"Under backups/"</th>
                    </tr>
                </thead>
                <tbody>
                    {tables
                        .into_iter()
                        .map(|t| {
                            let dropped = (!t.in_schema).then_some(" (not in the live schema)");
                            let key = format!("{}.{}", t.keyspace, t.table);
                            view! {
                                <tr data-table=key>
                                    <td>{t.node}</td>
                                    <td>{t.keyspace}</td>
                                    <td>
                                        <span title=format!("table id {}", t.id)>{t.table}</span>
                                        {dropped}
                                    </td>
                                    <td class="num">{format_bytes(t.live_bytes)}</td>
                                    <td class="num">{t.sstables}</td>
                                    <td class="num">{t.snapshot_count}</td>
                                    <td class="num">{format_bytes(t.snapshots_bytes)}</td>
                                    <td class="num">{format_bytes(t.hold_bytes)}</td>
                                    <td class="num">
                                        {format!("{} ({} files)", format_bytes(t.backups_bytes), t.backups_files)}
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

/// What full-node restores set aside: the disk it takes and until when it is kept.
fn aside_view(aside: Vec<crate::api::AsideDto>) -> impl IntoView {
    let total: i64 = aside.iter().map(|a| a.bytes).sum();
    let rows = aside
        .into_iter()
        .map(|a| {
            view! {
                <tr>
                    <td><a href=restore_href(a.restore_id)>{a.restore_id}</a></td>
                    <td>{a.node}</td>
                    <td>{a.what}</td>
                    <td class="wrap"><code>{a.path}</code></td>
                    <td class="num">{format_bytes(a.bytes)}</td>
                    <td class="num">{a.files}</td>
                    <td class="time"><Time ms=a.keep_until /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="aside-h" data-testid="aside">
            <h2 id="aside-h">"Set aside by restores"</h2>
            <p class="hint">
                {format!(
                    "{} that full-node restores replaced, kept so that nothing is lost; an admin can remove them on the restore's page, or they go when their time passes.",
                    format_bytes(total)
                )}
            </p>
            <div class="table-wrap">
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">"Restore"</th>
                            <th scope="col">"Node"</th>
                            <th scope="col">"What"</th>
                            <th scope="col">"Where"</th>
                            <th scope="col" class="num">"Size"</th>
                            <th scope="col" class="num">"Files"</th>
                            <th scope="col">"Kept until"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

fn overview_view(o: OverviewDto) -> impl IntoView {
    if o.nodes.is_empty() {
        return view! {
            <section class="card notice" role="status">
                <h2>"No Cassandra node configured"</h2>
                <p>
                    "Add a " <code>"[[nodes]]"</code>
                    " section to the configuration (see README), or run " <code>"make demo"</code>
                    " for a dev node with sample data. Until then, try the "
                    <a href="/calculator">"storage calculator"</a> "."
                </p>
            </section>
        }
        .into_any();
    }
    let aside = (!o.aside.is_empty()).then(|| aside_view(o.aside));
    let (system, user): (Vec<TableDto>, Vec<TableDto>) = o
        .tables
        .into_iter()
        .partition(|t| crate::names::is_system_keyspace(&t.keyspace));
    let no_scan = user.is_empty() && system.is_empty();
    view! {
        <section aria-labelledby="nodes-h">
            <h2 id="nodes-h">"Nodes"</h2>
            <div class="nodes">{o.nodes.into_iter().map(node_view).collect_view()}</div>
        </section>
        {aside}
        <section aria-labelledby="tables-h">
            <h2 id="tables-h">"Keyspaces and tables"</h2>
            {if no_scan {
                view! { <p class="muted">"No scan has finished yet: press Rescan."</p> }.into_any()
            } else if user.is_empty() {
                view! { <p class="muted">"No user keyspaces yet."</p> }.into_any()
            } else {
                tables_view(user, "User tables, from the last scan").into_any()
            }}
            {(!system.is_empty())
                .then(|| {
                    view! {
                        <details>
                            <summary>{format!("System keyspaces ({} tables)", system.len())}</summary>
                            {tables_view(system, "System tables")}
                        </details>
                    }
                })}
            {(!o.unknown_dirs.is_empty())
                .then(|| {
                    view! {
                        <details>
                            <summary>{format!("Unrecognised entries ({})", o.unknown_dirs.len())}</summary>
                            <ul>{o.unknown_dirs.into_iter().map(|u| view! { <li><code>{u}</code></li> }).collect_view()}</ul>
                        </details>
                    }
                })}
        </section>
    }
    .into_any()
}

/// One alert: what is wrong, what to do, and (operators) an Acknowledge button.
fn alert_view(a: AlertDto, ack: ServerAction<AckAlert>) -> impl IntoView {
    let state = if a.silenced {
        format!(
            "acknowledged by {} until {}",
            a.acked_by.clone().unwrap_or_default(),
            format_utc(a.silenced_until.unwrap_or_default())
        )
    } else {
        format!("since {}", format_utc(a.first_seen_at))
    };
    let id = a.id.clone();
    let can_ack = !a.silenced && crate::auth::can(crate::api::Role::Operator);
    view! {
        <li class=format!("alert {}", a.severity) data-kind=a.kind.clone() data-silenced=a.silenced.to_string()>
            <span class=format!("badge {}", if a.severity == "critical" { "bad" } else { "kind loud" })>
                {a.severity.clone()}
            </span>
            " "
            <strong>{a.message.clone()}</strong>
            <span class="muted">{format!(" ({state})")}</span>
            <br />
            <span>{format!("What to do: {}", a.action)}</span>
            {a.notify_error.clone().map(|e| view! { <br /><span class="muted">{format!("Webhook {}: {e}", a.notify_state)}</span> })}
            {can_ack.then(|| view! {
                <button
                    type="button"
                    class="inline"
                    on:click=move |_| {
                        ack.dispatch(AckAlert { id: id.clone(), hours: 24.0 });
                    }
                >
                    "Acknowledge for 24 h"
                </button>
            })}
        </li>
    }
}

/// The open alerts, worst first; acknowledged ones after the others.
#[component]
fn Alerts() -> impl IntoView {
    let ack = ServerAction::<AckAlert>::new();
    let alerts = Resource::new(move || ack.version().get(), |_| list_alerts());
    view! {
        <section class="alerts" aria-label="Alerts">
            <Transition fallback=|| ()>
                {move || {
                    alerts.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! { <p class="muted" data-alerts="0">"No alerts."</p> }.into_any(),
                        Ok(list) => view! {
                            <h2>{format!("Alerts ({})", list.iter().filter(|a| !a.silenced).count())}</h2>
                            <ul class="alert-list">{list.into_iter().map(|a| alert_view(a, ack)).collect_view()}</ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{format!("Cannot load the alerts: {e}")}</p> }.into_any(),
                    })
                }}
            </Transition>
            {move || {
                ack.value()
                    .get()
                    .and_then(|r| r.err())
                    .map(|e| view! { <p class="error" role="alert">{format!("Cannot acknowledge: {}", crate::api::server_message(&e))}</p> })
            }}
        </section>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_overview());
    let scan = ServerAction::<StartScan>::new();
    let job = RwSignal::new(None::<JobDto>);

    Effect::new(move |_| {
        if let Some(Ok(j)) = scan.value().get() {
            job.set(Some(j));
        }
    });
    // Poll the job until it ends, then reload the figures (runs in the browser only).
    Effect::new(move |_| {
        let Some(j) = job.get() else { return };
        if j.finished() {
            overview.refetch();
            return;
        }
        let id = j.id;
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    if let Ok(Some(j)) = get_job(id).await {
                        job.set(Some(j));
                    }
                });
            },
            std::time::Duration::from_millis(700),
        );
    });

    view! {
        <Title text="Overview" />
        <div class="page-head">
            <h1>"Overview"</h1>
            // Operators and up may rescan; the server refuses others anyway.
            <Transition fallback=|| ()>
                {move || {
                    crate::auth::can(crate::api::Role::Operator)
                        .then(|| {
                            view! {
                                <ActionForm action=scan attr:class="inline">
                                    <button
                                        type="submit"
                                        disabled=move || job.get().is_some_and(|j| !j.finished())
                                    >
                                        "Rescan"
                                    </button>
                                </ActionForm>
                            }
                        })
                }}
            </Transition>
        </div>
        <p class="lead">
            "Every node, its disks and inodes, and per table what snapshots and incremental backups cost."
        </p>
        {move || {
            job.get()
                .map(|j| {
                    let text = match j.state.as_str() {
                        "done" => "Scan finished.".to_string(),
                        "failed" => format!("Scan failed: {}", j.error.clone().unwrap_or_default()),
                        _ => format!("Scanning… {}", j.message),
                    };
                    view! {
                        <div class="scan-status" role="status" aria-live="polite" data-state=j.state.clone()>
                            <progress max="1" value=j.progress></progress>
                            <span>{text}</span>
                        </div>
                    }
                })
        }}
        {move || {
            scan.value()
                .get()
                .and_then(|r| r.err())
                .map(|e| view! { <p class="error" role="alert">{format!("Cannot start a scan: {e}")}</p> })
        }}
        <Alerts />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                overview
                    .get()
                    .map(|r| match r {
                        Ok(o) => overview_view(o).into_any(),
                        Err(e) => {
                            view! { <p class="error" role="alert">{format!("Cannot load the overview: {e}")}</p> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
