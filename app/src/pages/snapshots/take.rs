//! The "Take a snapshot" card: node, tables, tag, TTL and flush, sent to [`create_snapshot`];
//! then the job's progress until it ends, when the list is fetched again.

use leptos::prelude::*;

use crate::api::{
    CreateSnapshot, CreateSnapshotRequest, SnapshotFormOptions, SnapshotJobDto, server_message,
};
use crate::components::{ErrorAlert, JobProgress, JobVerb, LoadError, TableChecklist, follow_job};

/// What the user has entered so far.
#[derive(Debug, Clone, Copy)]
struct TakeForm {
    /// Empty: every node.
    node: RwSignal<String>,
    /// `keyspace.table`; none ticked: every keyspace.
    tables: RwSignal<Vec<String>>,
    tag: RwSignal<String>,
    ttl: RwSignal<String>,
    skip_flush: RwSignal<bool>,
}

impl TakeForm {
    fn new() -> Self {
        TakeForm {
            node: RwSignal::new(String::new()),
            tables: RwSignal::new(Vec::new()),
            tag: RwSignal::new(String::new()),
            ttl: RwSignal::new(String::new()),
            skip_flush: RwSignal::new(false),
        }
    }

    /// The request as the server expects it: blanks are left to the server's defaults.
    fn request(&self) -> CreateSnapshotRequest {
        let text = |s: RwSignal<String>| {
            let v = s.get_untracked().trim().to_string();
            (!v.is_empty()).then_some(v)
        };
        let tables = self.tables.get_untracked();
        CreateSnapshotRequest {
            node: text(self.node),
            cluster: None,
            keyspaces: None,
            tables: (!tables.is_empty()).then_some(tables),
            tag: text(self.tag),
            ttl: text(self.ttl),
            skip_flush: Some(self.skip_flush.get_untracked()),
        }
    }
}

/// The node picker and the table checkboxes, once the server has said what there is.
fn targets_view(form: TakeForm, options: SnapshotFormOptions) -> impl IntoView {
    let nodes = options
        .nodes
        .into_iter()
        .map(|n| view! { <option value=n.clone()>{n.clone()}</option> })
        .collect_view();
    view! {
        <div class="field">
            <label for="take-node">"Node"</label>
            <select
                id="take-node"
                prop:value=move || form.node.get()
                on:change=move |ev| form.node.set(event_target_value(&ev))
            >
                <option value="">"All nodes"</option>
                {nodes}
            </select>
        </div>
        <TableChecklist
            prefix="take"
            tables=options.tables
            ticked=form.tables
            none_ticked="None ticked: every table of every keyspace."
            empty="No tables known yet: a scan lists them. With none ticked, every keyspace is snapshotted."
        />
    }
}

/// The card that takes a snapshot. `options` are the nodes and tables to offer; `on_taken`
/// runs when a snapshot job has ended (done or not), to show the list as it is now.
#[component]
pub fn TakeSnapshot(
    options: Resource<Result<SnapshotFormOptions, ServerFnError>>,
    on_taken: Callback<()>,
) -> impl IntoView {
    let take = ServerAction::<CreateSnapshot>::new();
    let form = TakeForm::new();
    let job = RwSignal::new(None::<SnapshotJobDto>);
    let poll_error = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    // The button works once the page runs in the browser (effects never run on the server).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    Effect::new(move |_| match take.value().get() {
        Some(Ok(started)) => {
            error.set(None);
            poll_error.set(None);
            form.tag.set(String::new());
            job.set(Some(started));
        }
        Some(Err(e)) => error.set(Some(server_message(&e))),
        None => {}
    });
    follow_job(job, poll_error, move || on_taken.run(()));

    let busy = move || {
        !hydrated.get()
            || take.pending().get()
            || job.with(|j| j.as_ref().is_some_and(|j| !j.job.finished()))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy() {
            return;
        }
        error.set(None);
        take.dispatch(CreateSnapshot {
            request: form.request(),
        });
    };

    view! {
        <section id="take" class="card take" aria-labelledby="take-h">
            <h2 id="take-h">"Take a snapshot"</h2>
            <form class="snap-form take-form" on:submit=submit>
                <Transition fallback=|| view! { <p class="muted">"Loading nodes and tables…"</p> }>
                    {move || {
                        options
                            .get()
                            .map(|r| match r {
                                Ok(o) => targets_view(form, o).into_any(),
                                Err(e) => {
                                    view! {
                                        <LoadError
                                            what="Cannot load the nodes and tables"
                                            error=e
                                            then=". A snapshot now covers every node and keyspace."
                                        />
                                    }
                                        .into_any()
                                }
                            })
                    }}
                </Transition>
                <div class="field">
                    <label for="take-tag">"Tag"</label>
                    <input
                        id="take-tag"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="snapkeep-<UTC time>"
                        aria-describedby="take-tag-hint"
                        bind:value=form.tag
                    />
                    <p id="take-tag-hint" class="hint">
                        "Letters, digits, _ . and - ("<code>"[A-Za-z0-9_.-]"</code>
                        "), at most 100. Empty: snapkeep- and the UTC time."
                    </p>
                </div>
                <div class="field">
                    <label for="take-ttl">"Time to live"</label>
                    <input
                        id="take-ttl"
                        type="text"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="e.g. 3d, 12h, 30m"
                        aria-describedby="take-ttl-hint"
                        bind:value=form.ttl
                    />
                    <p id="take-ttl-hint" class="hint">
                        "Cassandra removes the snapshot after this long. Empty: kept until cleared."
                    </p>
                </div>
                <div class="field check">
                    <input id="take-skip-flush" type="checkbox" bind:checked=form.skip_flush />
                    <label for="take-skip-flush">"Skip flush"</label>
                    <p class="hint">"Faster, but writes still in memtables are not in the snapshot."</p>
                </div>
                <div class="form-actions">
                    <button type="submit" disabled=busy>"Take snapshot"</button>
                    // Until the page runs in the browser the button cannot work; say so (and
                    // keep saying so when JavaScript is off).
                    {move || {
                        (!hydrated.get())
                            .then(|| view! { <span class="hint">"Taking a snapshot needs JavaScript."</span> })
                    }}
                </div>
            </form>
            <JobProgress verb=JobVerb::Take job poll_error />
            <ErrorAlert error />
        </section>
    }
}
