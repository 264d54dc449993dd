//! Backups (`/backups`): the stores off the nodes (where, encrypted or not, what they hold,
//! verification), per node the incremental backups waiting in `backups/` (files, bytes,
//! inodes, age of the oldest, a warning when it needs attention) with Ship now and, for
//! admins, incremental backups on or off, and the newest uploads.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    BacklogNode, BackupsPageDto, Role, SetIncrementalBackups, ShipBackups, StoreDto, UploadDto,
    format_bytes, format_duration_ms, get_backups, server_message,
};
use crate::auth::can;
use crate::components::{LoadError, Time};

#[component]
pub fn Backups() -> impl IntoView {
    let ship = ServerAction::<ShipBackups>::new();
    let toggle = ServerAction::<SetIncrementalBackups>::new();
    let page = Resource::new(
        move || (ship.version().get(), toggle.version().get()),
        |_| get_backups(),
    );
    view! {
        <Title text="Backups" />
        <h1>"Backups"</h1>
        <p class="muted">
            "Copies off the nodes: snapshots copied to a store, and incremental backups shipped from each table's backups/ directory (removed locally only once their upload is verified)."
        </p>
        {move || {
            ship.value().get().map(|r| match r {
                Ok(job) => view! {
                    <p role="status" data-testid="ship-started">
                        {format!("Shipping started as job {}. Reload to see what it sent.", job.id)}
                    </p>
                }
                .into_any(),
                Err(e) => view! { <p class="error" role="alert">{server_message(&e)}</p> }.into_any(),
            })
        }}
        {move || {
            toggle.value().get().and_then(|r| r.err()).map(|e| {
                view! { <p class="error" role="alert">{server_message(&e)}</p> }
            })
        }}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                page.get().map(|r| match r {
                    Ok(p) => page_view(p, ship, toggle).into_any(),
                    Err(e) => view! { <LoadError what="Cannot load the backups" error=e /> }.into_any(),
                })
            }}
        </Suspense>
    }
}

fn page_view(
    p: BackupsPageDto,
    ship: ServerAction<ShipBackups>,
    toggle: ServerAction<SetIncrementalBackups>,
) -> impl IntoView {
    let uploads = p.backlog.uploads.clone();
    view! {
        <section class="card" data-testid="stores">
            <h2>"Stores"</h2>
            {stores_table(p.stores)}
        </section>
        {p
            .backlog
            .nodes
            .into_iter()
            .map(|n| node_view(n, ship, toggle))
            .collect_view()}
        <section class="card" data-testid="uploads">
            <h2>"Newest uploads"</h2>
            {uploads_table(uploads)}
        </section>
    }
}

fn stores_table(stores: Vec<StoreDto>) -> impl IntoView {
    view! {
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">"Store"</th>
                    <th scope="col">"Where"</th>
                    <th scope="col">"Encryption"</th>
                    <th scope="col">"Nodes"</th>
                    <th scope="col" class="num">"Uploads"</th>
                    <th scope="col" class="num">"Objects"</th>
                    <th scope="col" class="num">"Content"</th>
                    <th scope="col" class="num">"Failed verification"</th>
                    <th scope="col">"Last verified"</th>
                </tr>
            </thead>
            <tbody>
                {stores
                    .into_iter()
                    .map(|s| {
                        let failed_class = if s.objects_failed > 0 { "num error" } else { "num" };
                        let enc = match (&s.key_fingerprint, s.encrypted) {
                            (Some(fp), _) => format!("client-side, key {fp}"),
                            (None, true) => "client-side (key unusable)".to_string(),
                            (None, false) => "none".to_string(),
                        };
                        view! {
                            <tr data-store=s.name.clone()>
                                <th scope="row">{s.name.clone()} " " <span class="muted">{s.kind.clone()}</span></th>
                                <td>{s.location.clone()}</td>
                                <td>{enc}</td>
                                <td>{s.nodes.join(", ")}</td>
                                <td class="num">{s.uploads}</td>
                                <td class="num">{s.objects}</td>
                                <td class="num">{format_bytes(s.object_bytes)}</td>
                                <td class=failed_class>{s.objects_failed}</td>
                                <td>{s.last_verified_at.map(|t| view! { <Time ms=t /> }.into_any()).unwrap_or_else(|| "never".into_any())}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

fn node_view(
    n: BacklogNode,
    ship: ServerAction<ShipBackups>,
    toggle: ServerAction<SetIncrementalBackups>,
) -> impl IntoView {
    let incremental = match n.incremental_backups {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown (the node did not answer)",
    };
    let shipping = if n.ship_backups {
        format!(
            "shipped to {} continuously",
            n.store.clone().unwrap_or_default()
        )
    } else {
        "not shipped automatically (ship_backups = false)".to_string()
    };
    let node = StoredValue::new(n.node.clone());
    let turn_on = n.incremental_backups != Some(true);
    view! {
        <section class="card" data-testid="backlog" data-node=n.node.clone()>
            <h2>{format!("Node {}", n.node)}</h2>
            <p>
                {format!("Incremental backups {incremental}; {shipping}. ")}
                {format!(
                    "Waiting in backups/: {} files, {}, {} inodes; oldest {}. Shipped in the last 24 hours: {} files, {}.",
                    n.files,
                    format_bytes(n.bytes as i64),
                    n.inodes,
                    format_duration_ms(n.oldest_age_secs as i64 * 1000),
                    n.shipped_files_24h,
                    format_bytes(n.shipped_bytes_24h),
                )}
            </p>
            {n.warning.clone().map(|w| view! { <p class="warning" role="alert" data-testid="backlog-warning">{w}</p> })}
            <div class="actions">
                <Show when=move || can(Role::Operator)>
                    <ActionForm action=ship attr:class="inline">
                        <input type="hidden" name="node" value=node.get_value() />
                        <button type="submit">"Ship now"</button>
                    </ActionForm>
                </Show>
                <Show when=move || can(Role::Admin)>
                    <ActionForm action=toggle attr:class="inline">
                        <input type="hidden" name="node" value=node.get_value() />
                        <input type="hidden" name="enabled" value=turn_on.to_string() />
                        <button type="submit">
                            {if turn_on { "Turn incremental backups on" } else { "Turn incremental backups off" }}
                        </button>
                    </ActionForm>
                </Show>
            </div>
            {(!n.tables.is_empty()).then(|| view! {
                <table class="data">
                    <thead>
                        <tr>
                            <th scope="col">"Table"</th>
                            <th scope="col" class="num">"Files"</th>
                            <th scope="col" class="num">"Bytes"</th>
                            <th scope="col" class="num">"Inodes"</th>
                            <th scope="col" class="num">"SSTables ready"</th>
                            <th scope="col" class="num">"Being written"</th>
                            <th scope="col">"Oldest"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {n.tables.into_iter().map(|t| view! {
                            <tr>
                                <th scope="row">{format!("{}.{}", t.keyspace, t.table)}</th>
                                <td class="num">{t.files}</td>
                                <td class="num">{format_bytes(t.bytes as i64)}</td>
                                <td class="num">{t.inodes}</td>
                                <td class="num">{t.sstables_complete}</td>
                                <td class="num">{t.sstables_incomplete}</td>
                                <td>{format_duration_ms(t.oldest_age_secs as i64 * 1000)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

/// Uploads as a table: what, where, how much was sent, verification.
pub fn uploads_table(uploads: Vec<UploadDto>) -> impl IntoView {
    if uploads.is_empty() {
        return view! { <p class="muted">"Nothing uploaded yet."</p> }.into_any();
    }
    view! {
        <table class="data">
            <thead>
                <tr>
                    <th scope="col">"Upload"</th>
                    <th scope="col">"Node"</th>
                    <th scope="col">"Store"</th>
                    <th scope="col">"When"</th>
                    <th scope="col" class="num">"Files"</th>
                    <th scope="col" class="num">"Size"</th>
                    <th scope="col" class="num">"Sent"</th>
                    <th scope="col">"Verified"</th>
                </tr>
            </thead>
            <tbody>
                {uploads
                    .into_iter()
                    .map(|u| {
                        let verified = if !u.problems.is_empty() {
                            format!("failed: {}", u.problems.join("; "))
                        } else if u.verified {
                            "yes".to_string()
                        } else {
                            "not yet".to_string()
                        };
                        view! {
                            <tr data-upload=u.name.clone()>
                                <th scope="row">{format!("{} {}", u.kind, u.name)}</th>
                                <td>{u.node.clone()}</td>
                                <td>{u.store.clone()}</td>
                                <td><Time ms=u.created_at /></td>
                                <td class="num">{u.files}</td>
                                <td class="num">{format_bytes(u.bytes)}</td>
                                <td class="num">{format_bytes(u.bytes_sent)}</td>
                                <td>{verified}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
