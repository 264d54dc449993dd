//! The restore pages: the requests and the wizard (`/restores`, `?snapshot=TAG&node=NODE`
//! pre-fills the wizard's source) and one request (`/restores/:id`) with its approval,
//! execution, journal and verification.
//!
//! - [`wizard`]: source, target, schema check and plan, reason and request (operators and up).
//! - [`list`]: the requests, newest first.
//! - [`detail`]: one request; Approve/Reject, Execute, Resume; follows a running restore.
//! - [`plan`]: a plan as people read it, the same in the wizard and on a request's page.
//! - [`words`]: targets and plan steps in words.

mod detail;
mod list;
mod plan;
mod wizard;
mod words;

pub use detail::RestoreDetail;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{Role, SnapshotQuery, list_restores, list_snapshots};
use crate::components::LoadError;
use list::RestoreList;
use wizard::RestoreWizard;

/// Snapshots the wizard offers at most (newest first).
const OFFERED_SNAPSHOTS: i64 = 200;

#[component]
pub fn Restores() -> impl IntoView {
    let requests = Resource::new(|| (), |_| list_restores());
    let snapshots = Resource::new(
        || (),
        |_| {
            list_snapshots(SnapshotQuery {
                status: Some("present".to_string()),
                sort: Some("-created".to_string()),
                per_page: Some(OFFERED_SNAPSHOTS),
                ..SnapshotQuery::default()
            })
        },
    );

    view! {
        <Title text="Restores" />
        <div class="restores-page">
            <h1>"Restores"</h1>
            <p class="lead">
                "Bring a table back from a snapshot on the same disks: checked against the live schema, planned without changing anything, approved by a second person, executed step by step with a journal, then verified."
            </p>
            // Operators and up may request restores; the server refuses others anyway.
            <Transition fallback=|| ()>
                {move || crate::auth::can(Role::Operator).then(|| view! { <RestoreWizard snapshots /> })}
            </Transition>
            <section aria-labelledby="requests-h">
                <h2 id="requests-h">"Restore requests"</h2>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || {
                        requests
                            .get()
                            .map(|r| match r {
                                Ok(list) => view! { <RestoreList requests=list /> }.into_any(),
                                Err(e) => {
                                    view! { <LoadError what="Cannot list the restore requests" error=e /> }
                                        .into_any()
                                }
                            })
                    }}
                </Transition>
            </section>
        </div>
    }
}
