//! One module per page. Pages whose feature is not built yet say so plainly and show no data.

mod calculator;
mod login;
mod not_found;
mod overview;
mod settings;
mod snapshots;

pub use calculator::Calculator;
pub use login::Login;
pub use not_found::NotFound;
pub use overview::Overview;
pub use settings::{Audit, Settings};
pub use snapshots::{SnapshotDetail, Snapshots};

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
