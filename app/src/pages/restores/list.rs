//! The restore requests, newest first: what, from which snapshot, into where, who asked and
//! who decided, and where each one stands.

use leptos::prelude::*;

use super::words::target_text;
use crate::api::RestoreDto;
use crate::components::{StateBadge, Time, restore_href, snapshot_href};

fn request_row(r: RestoreDto) -> impl IntoView {
    let href = restore_href(r.id);
    let snapshot = snapshot_href(&r.snapshot, Some(&r.node));
    let decided = match (&r.decided_by, r.decided_at) {
        (Some(who), Some(ms)) => view! { {who.clone()} <Time ms /> }.into_any(),
        (Some(who), None) => who.clone().into_any(),
        (None, _) => view! { <span class="muted">"nobody yet"</span> }.into_any(),
    };
    view! {
        <tr data-restore-id=r.id.to_string() data-state=r.state.clone()>
            <td>
                <a href=href>{format!("#{}", r.id)}</a>
            </td>
            <td class="wrap">
                <a class="tag" href=snapshot>{r.snapshot.clone()}</a>
                <span class="small muted">{format!(" on {}", r.node)}</span>
            </td>
            <td class="wrap">{r.tables.join(", ")}</td>
            <td class="wrap">{target_text(r.target, r.side_keyspace.as_deref())}</td>
            <td class="time">{r.requested_by.clone()} <Time ms=r.requested_at /></td>
            <td><StateBadge state=r.state.clone() /></td>
            <td class="time">{decided}</td>
        </tr>
    }
}

/// The table of requests, or a sentence when there is none.
#[component]
pub fn RestoreList(requests: Vec<RestoreDto>) -> impl IntoView {
    if requests.is_empty() {
        return view! { <p class="empty">"No restore has been requested yet."</p> }.into_any();
    }
    let count = requests.len();
    let noun = if count == 1 { "request" } else { "requests" };
    let rows = requests.into_iter().map(request_row).collect_view();
    view! {
        <div class="table-wrap">
            <table class="data restore-table" data-testid="restore-list">
                <caption>{format!("{count} {noun}, newest first. Times are UTC.")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Request"</th>
                        <th scope="col">"Snapshot"</th>
                        <th scope="col">"Tables"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Requested"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Decided"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
