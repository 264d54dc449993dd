//! One module per page. Pages whose feature is not built yet say so plainly and show no data.

mod calculator;
mod not_found;
mod overview;

pub use calculator::Calculator;
pub use not_found::NotFound;
pub use overview::Overview;

use leptos::prelude::*;
use leptos_meta::Title;

/// A page whose feature has not been built yet: it says what will be here, and nothing else.
#[component]
fn NotBuiltYet(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <section class="card notice" role="status">
            <h2>"Not built yet"</h2>
            <p>{what}</p>
            <p class="muted">
                "This page shows no data until that feature lands; nothing here is made up."
            </p>
        </section>
    }
}

#[component]
pub fn Snapshots() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Snapshots"
            what="The snapshot history: every snapshot per node, keyspace and table, with its size, exclusive and shared hold, expiry, and buttons to take, clear and restore."
        />
    }
}

#[component]
pub fn Restores() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Restores"
            what="The approval-gated restore wizard: pick a snapshot, check the schema, review a dry-run plan with disk and inode headroom, and have a second person approve it."
        />
    }
}

#[component]
pub fn Reports() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Reports"
            what="Historical storage growth per node, keyspace and table (live data, snapshot hold, backups, inodes) with disk-full forecasts and CSV downloads."
        />
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <NotBuiltYet
            title="Settings"
            what="Users and roles, API tokens, schedules and retention, and the audit log."
        />
    }
}
