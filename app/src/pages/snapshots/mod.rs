//! The snapshot pages: the history (`/snapshots`: take a snapshot, filter, timeline, sortable
//! paged table, all state in the URL) and one tag's detail (`/snapshots/:tag`).
//!
//! - [`take`]: the "Take a snapshot" card and its job's progress.
//! - [`list`]: filters, the table and its pages.
//! - [`timeline`]: snapshots per day and node, drawn and tabulated.
//! - [`detail`]: one tag with its tables, files and schema; Clear and Restore.
//! - [`query`]: the list's URL parameters.

mod detail;
mod list;
mod query;
mod take;
mod timeline;

pub use detail::SnapshotDetail;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{Role, get_snapshot_form, list_snapshots};
use crate::components::LoadError;
use list::{Filters, SnapshotList};
use take::TakeSnapshot;
use timeline::Timeline;

#[component]
pub fn Snapshots() -> impl IntoView {
    let params = use_query_map();
    let q = Memo::new(move |_| query::from_params(&params.read()));
    let options = Resource::new(|| (), |_| get_snapshot_form());
    let list = Resource::new(move || q.get(), list_snapshots);
    let on_taken = Callback::new(move |_| list.refetch());

    view! {
        <Title text="Snapshots" />
        <div class="snapshots-page">
            <h1>"Snapshots"</h1>
            <p class="lead">
                "Every snapshot per node, what it costs on disk (its exclusive hold is what clearing it frees), and when it expires. Times are UTC, with your local time underneath."
            </p>
            // Operators and up may take snapshots; the server refuses others anyway.
            <Transition fallback=|| ()>
                {move || {
                    crate::auth::can(Role::Operator).then(|| view! { <TakeSnapshot options on_taken /> })
                }}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading the filters…"</p> }>
                {move || {
                    options
                        .get()
                        .map(|o| view! { <Filters q=q.get() options=o.ok() /> })
                }}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    list.get()
                        .map(|r| match r {
                            Ok(page) => {
                                let days = page.timeline.clone();
                                let may_take = crate::auth::can(Role::Operator);
                                view! {
                                    <Timeline days />
                                    <SnapshotList page q=q.get_untracked() may_take />
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <LoadError what="Cannot list snapshots" error=e /> }.into_any(),
                        })
                }}
            </Transition>
        </div>
    }
}
