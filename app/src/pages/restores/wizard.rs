//! The restore wizard (operators and up). 1 Source: a snapshot (the URL's
//! `?snapshot=TAG&node=NODE` picks it, so the snapshot pages can link here) and its tables.
//! 2 Target: in place (optionally after TRUNCATE) or a side table. 3–4 The schema check and
//! the dry-run plan, which change nothing. 5 The reason, and the request for approval; then
//! the request's own page.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::plan::PlanView;
use crate::api::{
    Plan, PlanRestore, RequestRestore, RestoreInput, RestoreSource, SnapshotDto, SnapshotPage,
    StoreCopyDto, Target, Verdict, format_utc, is_undo_kind, server_message, store_copies,
};
use crate::components::{
    ErrorAlert, KindBadge, LoadError, TableChecklist, Time, restore_href, restore_wizard_href,
    snapshot_href,
};

/// The snapshot the URL asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub tag: Option<String>,
    pub node: Option<String>,
}

/// Snapshots in the order the picker offers them: those Cassandra took just before a TRUNCATE
/// or DROP first (they are the way back), then the others; each group keeps the server's
/// order (newest first).
pub fn offer_order(mut items: Vec<SnapshotDto>) -> Vec<SnapshotDto> {
    items.sort_by_key(|s| !is_undo_kind(&s.kind));
    items
}

/// The kind the wizard gives a snapshot that is only in a store.
pub const IN_STORE: &str = "in store";

/// A snapshot gone from its node as the picker offers it: its copy in a store (verified
/// copies only), the store named in its note.
pub fn store_only_offer(c: &StoreCopyDto) -> SnapshotDto {
    SnapshotDto {
        id: 0,
        node: c.node.clone(),
        tag: c.tag.clone(),
        kind: IN_STORE.to_string(),
        status: "gone".to_string(),
        created_at: c.uploaded_at,
        expires_at: None,
        created_by: None,
        tables: c.tables.clone(),
        files: 0,
        size_bytes: 0,
        exclusive_hold_bytes: 0,
        shared_hold_bytes: 0,
        measured_at: c.uploaded_at,
        gone_at: None,
        note: Some(c.store.clone()),
    }
}

/// The store a chosen snapshot can only come from (it is no longer on its node).
fn only_in_store(s: &SnapshotDto) -> Option<String> {
    (s.kind == IN_STORE).then(|| s.note.clone()).flatten()
}

/// The offered snapshot the URL names (on the first node that has it when no node is named).
pub fn resolve<'a>(items: &'a [SnapshotDto], wanted: &Wanted) -> Option<&'a SnapshotDto> {
    let tag = wanted.tag.as_deref()?;
    items
        .iter()
        .find(|s| s.tag == tag && wanted.node.as_deref().is_none_or(|n| n == s.node))
}

/// A snapshot's `<option>` value: node and tag. A tag is a directory name, so it holds no `/`.
fn option_value(s: &SnapshotDto) -> String {
    format!("{}/{}", s.node, s.tag)
}

/// Where picking the option `value` leads: the wizard with that snapshot in the URL.
pub fn source_href(value: &str) -> String {
    match value.rsplit_once('/') {
        Some((node, tag)) if !tag.is_empty() => restore_wizard_href(tag, Some(node)),
        _ => "/restores".to_string(),
    }
}

/// "nightly-1 · node1 · manual · 2026-11-24 20:08:40 UTC · 3 tables"; the automatic snapshots
/// before data loss start with a warning sign.
fn option_text(s: &SnapshotDto) -> String {
    let tables = match s.tables.len() {
        1 => "1 table".to_string(),
        n => format!("{n} tables"),
    };
    let (loud, kind) = if is_undo_kind(&s.kind) {
        ("⚠ ", s.kind.to_uppercase())
    } else if let Some(store) = only_in_store(s) {
        ("", format!("in store {store}"))
    } else {
        ("", s.kind.clone())
    };
    format!(
        "{loud}{} · {} · {kind} · {} · {tables}",
        s.tag,
        s.node,
        format_utc(s.created_at)
    )
}

/// Everything the wizard holds; lives as long as the page, so a re-render keeps it.
#[derive(Clone, Copy)]
struct Wizard {
    /// `keyspace.table`; none ticked: every table of the snapshot.
    tables: RwSignal<Vec<String>>,
    target: RwSignal<Target>,
    /// Empty: each table's own keyspace.
    side_keyspace: RwSignal<String>,
    truncate: RwSignal<bool>,
    /// The store whose copy of the snapshot is restored; empty: the snapshot on the node.
    store: RwSignal<String>,
    reason: RwSignal<String>,
    /// The last plan, with the choices it was made for.
    planned: RwSignal<Option<(RestoreInput, Plan)>>,
    /// The choices of the plan under way.
    planning_for: RwSignal<Option<RestoreInput>>,
    plan: ServerAction<PlanRestore>,
    request: ServerAction<RequestRestore>,
    plan_error: RwSignal<Option<String>>,
    request_error: RwSignal<Option<String>>,
    hydrated: RwSignal<bool>,
}

impl Wizard {
    fn new() -> Self {
        Wizard {
            tables: RwSignal::new(Vec::new()),
            target: RwSignal::new(Target::InPlace),
            side_keyspace: RwSignal::new(String::new()),
            truncate: RwSignal::new(false),
            store: RwSignal::new(String::new()),
            reason: RwSignal::new(String::new()),
            planned: RwSignal::new(None),
            planning_for: RwSignal::new(None),
            plan: ServerAction::new(),
            request: ServerAction::new(),
            plan_error: RwSignal::new(None),
            request_error: RwSignal::new(None),
            hydrated: RwSignal::new(false),
        }
    }

    /// The restore of `s` as the form stands, without a reason (a plan ignores it).
    fn input(&self, s: &SnapshotDto) -> RestoreInput {
        let target = self.target.get();
        let side_keyspace = self.side_keyspace.get().trim().to_string();
        RestoreInput {
            snapshot: s.tag.clone(),
            node: Some(s.node.clone()),
            tables: self.tables.get(),
            target,
            side_keyspace: (target == Target::Side && !side_keyspace.is_empty())
                .then_some(side_keyspace),
            truncate: target == Target::InPlace && self.truncate.get(),
            reason: String::new(),
            source: Some(self.store.get().trim().to_string())
                .filter(|s| !s.is_empty())
                .map(|store| RestoreSource { store }),
        }
    }
}

/// The snapshot picker, and what the chosen one is.
fn source_view(
    offered: StoredValue<Vec<SnapshotDto>>,
    total: i64,
    wanted: Memo<Wanted>,
    chosen: Memo<Option<SnapshotDto>>,
) -> impl IntoView {
    let navigate = use_navigate();
    let pick = move |ev| {
        navigate(
            &source_href(&event_target_value(&ev)),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..NavigateOptions::default()
            },
        );
    };
    let option = move |s: SnapshotDto| {
        let value = option_value(&s);
        let selected =
            chosen.with_untracked(|c| c.as_ref().is_some_and(|c| option_value(c) == value));
        view! { <option value=value selected=selected>{option_text(&s)}</option> }
    };
    let (in_stores, on_disk): (Vec<SnapshotDto>, Vec<SnapshotDto>) = offered
        .get_value()
        .into_iter()
        .partition(|s| s.kind == IN_STORE);
    let (undo, others): (Vec<SnapshotDto>, Vec<SnapshotDto>) =
        on_disk.into_iter().partition(|s| is_undo_kind(&s.kind));
    let stores_group = (!in_stores.is_empty()).then(|| {
        view! {
            <optgroup label="No longer on the node: verified copies in a store">
                {in_stores.into_iter().map(option).collect_view()}
            </optgroup>
        }
    });
    let undo_group = (!undo.is_empty()).then(|| {
        view! {
            <optgroup label="⚠ Taken by Cassandra just before a TRUNCATE or DROP: the way back">
                {undo.into_iter().map(option).collect_view()}
            </optgroup>
        }
    });
    let others_group = (!others.is_empty()).then(|| {
        view! {
            <optgroup label="Other snapshots, newest first">
                {others.into_iter().map(option).collect_view()}
            </optgroup>
        }
    });
    let nothing_chosen = chosen.with_untracked(Option::is_none);
    let shown = offered.with_value(Vec::len);
    let more = (total > shown as i64)
        .then(|| format!("The newest {shown} of {total} snapshots on disk are offered."));
    let missing = move || {
        let want = wanted.get();
        let tag = want.tag?;
        chosen.with(Option::is_none).then(|| {
            let on = want.node.map(|n| format!(" on {n}")).unwrap_or_default();
            view! {
                <p class="error" role="alert">
                    {format!("Snapshot {tag}{on} is not among the snapshots on disk offered here: it may have been cleared, or a scan has not seen it yet.")}
                </p>
            }
        })
    };
    let about = move || {
        chosen.get().map(|s| {
            if let Some(store) = only_in_store(&s) {
                return view! {
                    <p class="chosen-snapshot small" data-testid="only-in-store">
                        {format!("No longer on node {}: its verified copy in store {store}, made ", s.node)}
                        <Time ms=s.created_at />
                        ", is downloaded and checked first."
                    </p>
                }
                .into_any();
            }
            let banner = is_undo_kind(&s.kind).then(|| {
                let what = s.note.clone().unwrap_or_else(|| {
                    "Cassandra took this snapshot just before a TRUNCATE or DROP: it is the way back."
                        .to_string()
                });
                view! {
                    <div class="notice warn undo-banner" role="note"><strong>{what}</strong></div>
                }
            });
            view! {
                {banner}
                <p class="chosen-snapshot small">
                    <KindBadge kind=s.kind.clone() />
                    " taken "
                    <Time ms=s.created_at />
                    " · "
                    <a href=snapshot_href(&s.tag, Some(&s.node))>"open the snapshot"</a>
                </p>
            }
            .into_any()
        })
    };
    if shown == 0 {
        return view! {
            <p class="empty">
                "No snapshot is on disk to restore from. Take one on the "
                <a href="/snapshots#take">"Snapshots"</a> " page."
            </p>
            {missing}
        }
        .into_any();
    }
    view! {
        <div class="field">
            <label for="restore-snapshot">"Snapshot"</label>
            <select
                id="restore-snapshot"
                aria-describedby="restore-snapshot-hint"
                prop:value=move || chosen.with(|c| c.as_ref().map(option_value).unwrap_or_default())
                on:change=pick
            >
                <option value="" selected=nothing_chosen>"Choose a snapshot…"</option>
                {undo_group}
                {others_group}
                {stores_group}
            </select>
            <p id="restore-snapshot-hint" class="hint">
                "Snapshots on disk, per node, and those only in a store. "
                {more}
            </p>
        </div>
        {missing}
        {about}
    }
    .into_any()
}

/// Where the files come from: the snapshot on the node, or one of its verified copies in a
/// store (downloaded and checked first; incremental backups shipped after it come along).
fn files_from_view(
    w: Wizard,
    chosen: Memo<Option<SnapshotDto>>,
    copies: StoredValue<Vec<StoreCopyDto>>,
) -> impl IntoView {
    // A snapshot only in a store comes from there.
    Effect::new(move |_| {
        if let Some(store) = chosen.with(|c| c.as_ref().and_then(only_in_store)) {
            w.store.set(store);
        }
    });
    move || {
        let s = chosen.get().filter(|s| only_in_store(s).is_none())?;
        let stores: Vec<String> = copies.with_value(|all| {
            all.iter()
                .filter(|c| c.verified && c.on_node && c.node == s.node && c.tag == s.tag)
                .map(|c| c.store.clone())
                .collect()
        });
        (!stores.is_empty()).then(|| {
            view! {
                <div class="field">
                    <label for="restore-files-from">"Files from"</label>
                    <select
                        id="restore-files-from"
                        aria-describedby="restore-files-from-hint"
                        prop:value=move || w.store.get()
                        on:change=move |ev| w.store.set(event_target_value(&ev))
                    >
                        <option value="">"The snapshot on the node"</option>
                        {stores
                            .into_iter()
                            .map(|s| {
                                view! { <option value=s.clone()>{format!("Its verified copy in store {s}")}</option> }
                            })
                            .collect_view()}
                    </select>
                    <p id="restore-files-from-hint" class="hint">
                        "A copy in a store is downloaded next to the staging area and every file checked against its hash before anything changes; incremental backups shipped after the snapshot come with it."
                    </p>
                </div>
            }
        })
    }
}

/// In place or a side table, the side keyspace, TRUNCATE first.
fn target_view(w: Wizard, chosen: Memo<Option<SnapshotDto>>) -> impl IntoView {
    let is = move |t: Target| move || w.target.get() == t;
    // The keyspaces of the tables to restore: what an empty side keyspace means.
    let own_keyspaces = move || {
        let ticked = w.tables.get();
        let all = chosen.with(|c| c.as_ref().map(|s| s.tables.clone()).unwrap_or_default());
        let tables = if ticked.is_empty() { all } else { ticked };
        let mut keyspaces: Vec<String> = tables
            .iter()
            .filter_map(|t| t.split_once('.').map(|(ks, _)| ks.to_string()))
            .collect();
        keyspaces.sort();
        keyspaces.dedup();
        keyspaces.join(", ")
    };
    view! {
        <fieldset class="field target-picker">
            <legend>"Target"</legend>
            <div class="choice">
                <input
                    type="radio"
                    id="restore-target-in-place"
                    name="restore-target"
                    value="in_place"
                    checked=is(Target::InPlace)
                    prop:checked=is(Target::InPlace)
                    on:change=move |_| w.target.set(Target::InPlace)
                />
                <label for="restore-target-in-place">"In place"</label>
                <p class="hint">
                    "Back into the same table, with nodetool import while the node runs; a safety snapshot is taken first."
                </p>
            </div>
            <div class="choice">
                <input
                    type="radio"
                    id="restore-target-side"
                    name="restore-target"
                    value="side"
                    checked=is(Target::Side)
                    prop:checked=is(Target::Side)
                    on:change=move |_| w.target.set(Target::Side)
                />
                <label for="restore-target-side">"Side table"</label>
                <p class="hint">
                    "Into a new table created from the snapshot's schema.cql, to inspect the data before anything live is touched."
                </p>
            </div>
            <div class="choice">
                <input
                    type="radio"
                    id="restore-target-full-node"
                    name="restore-target"
                    value="full_node"
                    checked=is(Target::FullNode)
                    prop:checked=is(Target::FullNode)
                    on:change=move |_| w.target.set(Target::FullNode)
                />
                <label for="restore-target-full-node">"Whole node"</label>
                <p class="hint">
                    "Every ticked table (none ticked: every table of the snapshot) with the node stopped: drain, stop, live SSTables and commit log segments moved aside (kept, never deleted by the restore), the snapshot's files linked in, start."
                </p>
            </div>
        </fieldset>
        {move || {
            (w.target.get() == Target::Side)
                .then(|| {
                    view! {
                        <div class="field">
                            <label for="restore-side-keyspace">"Side keyspace"</label>
                            <input
                                id="restore-side-keyspace"
                                type="text"
                                autocomplete="off"
                                spellcheck="false"
                                placeholder=own_keyspaces
                                aria-describedby="restore-side-keyspace-hint"
                                bind:value=w.side_keyspace
                            />
                            <p id="restore-side-keyspace-hint" class="hint">
                                "Empty: each table's own keyspace. The keyspace must exist."
                            </p>
                        </div>
                    }
                })
        }}
        {move || {
            (w.target.get() == Target::InPlace)
                .then(|| {
                    view! {
                        <div class="field check">
                            <input id="restore-truncate" type="checkbox" bind:checked=w.truncate />
                            <label for="restore-truncate">"TRUNCATE first"</label>
                            <p class="hint">
                                "With it, the table then holds exactly the snapshot's rows; without it, the restored rows merge with the live ones."
                            </p>
                        </div>
                    }
                })
        }}
    }
}

/// Steps 1 to 5, once the snapshots are known.
#[component]
fn WizardSteps(
    offered: Vec<SnapshotDto>,
    total: i64,
    wanted: Memo<Wanted>,
    w: Wizard,
    copies: Vec<StoreCopyDto>,
) -> impl IntoView {
    let offered = StoredValue::new(offered);
    let copies = StoredValue::new(copies);
    let chosen = Memo::new(move |_| {
        let want = wanted.get();
        offered.with_value(|v| resolve(v, &want).cloned())
    });
    // Another snapshot has other tables: forget the ticks.
    Effect::new(move |prev: Option<Option<String>>| {
        let now = chosen.with(|c| c.as_ref().map(option_value));
        if prev.is_some_and(|p| p != now) {
            w.tables.set(Vec::new());
            w.store.set(String::new());
        }
        now
    });
    let current = Memo::new(move |_| chosen.get().map(|s| w.input(&s)));
    // The plan shown was made for the choices as they stand.
    let fresh = move || {
        current.with(|c| {
            w.planned
                .with(|p| matches!((c, p), (Some(c), Some((i, _))) if c == i))
        })
    };
    let blocked = move || {
        w.planned
            .with(|p| p.as_ref().is_some_and(|(_, plan)| !plan.blocked.is_empty()))
    };
    let may_plan =
        move || w.hydrated.get() && !w.plan.pending().get() && chosen.with(Option::is_some);
    let may_request = move || {
        w.hydrated.get()
            && !w.request.pending().get()
            && !w.plan.pending().get()
            && fresh()
            && !blocked()
    };
    let check = move |_| {
        let Some(input) = current.get_untracked() else {
            return;
        };
        w.plan_error.set(None);
        w.planning_for.set(Some(input.clone()));
        w.plan.dispatch(PlanRestore { input });
    };
    let request = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !may_request() {
            return;
        }
        let reason = w.reason.get_untracked().trim().to_string();
        if reason.is_empty() {
            w.request_error.set(Some(
                "Say why this restore is needed: the approver reads it.".to_string(),
            ));
            return;
        }
        let Some(mut input) = current.get_untracked() else {
            return;
        };
        input.reason = reason;
        w.request_error.set(None);
        w.request.dispatch(RequestRestore { input });
    };
    // Why "Request approval" cannot be pressed yet.
    let request_hint = move || {
        if w.planned.with(Option::is_none) {
            Some("Check and plan first: the request carries the plan.")
        } else if !fresh() {
            Some("The choices changed since the plan: check and plan again.")
        } else if blocked() {
            Some("The plan is blocked: see why above.")
        } else {
            None
        }
    };
    let stale = move || {
        (w.planned.with(Option::is_some) && !fresh() && !w.plan.pending().get()).then(|| {
            view! {
                <p class="notice warn" role="status">
                    "You changed the choices since this plan was made: check and plan again."
                </p>
            }
        })
    };
    // An incompatible schema blocks the restore in place; a side table still works.
    let suggest_side = move || {
        w.planned.with(|p| {
            p.as_ref().is_some_and(|(i, plan)| {
                i.target == Target::InPlace && plan.verdict == Verdict::Incompatible
            })
        })
        .then(|| {
            view! {
                <div class="notice warn suggest-side">
                    <p>
                        "The live schema no longer matches the snapshot's, so it cannot go back in place. Restore into a side table instead: a new table made from the snapshot's schema, to inspect and copy from."
                    </p>
                    <button type="button" class="secondary" on:click=move |_| w.target.set(Target::Side)>
                        "Switch to a side table"
                    </button>
                </div>
            }
        })
    };

    // Each step is its own view (`into_any`): one nested type for all of them is deeper than
    // the compiler's release build follows.
    let source = view! {
        <section class="wizard-step" aria-labelledby="step-source-h">
            <h3 id="step-source-h">"1. Source"</h3>
            {source_view(offered, total, wanted, chosen)}
            {move || {
                chosen
                    .get()
                    .map(|s| {
                        view! {
                            <TableChecklist
                                prefix="restore"
                                tables=s.tables
                                ticked=w.tables
                                none_ticked="None ticked: every table of the snapshot."
                            />
                        }
                    })
            }}
            {files_from_view(w, chosen, copies)}
        </section>
    }
    .into_any();
    let target = view! {
        <section class="wizard-step" aria-labelledby="step-target-h">
            <h3 id="step-target-h">"2. Target"</h3>
            {target_view(w, chosen)}
        </section>
    }
    .into_any();
    let plan = view! {
        <section class="wizard-step" aria-labelledby="step-plan-h">
            <h3 id="step-plan-h">"3–4. Schema check and dry-run plan"</h3>
            <p class="hint">
                "Compares the snapshot's schema with the live one and works out the files, the headroom and the steps. Nothing is changed."
            </p>
            <div class="form-actions">
                <button type="button" data-testid="check-plan" disabled=move || !may_plan() on:click=check>
                    "Check and plan"
                </button>
                {move || w.plan.pending().get().then(|| view! { <span class="hint" role="status">"Checking…"</span> })}
                {move || {
                    (!w.hydrated.get())
                        .then(|| view! { <span class="hint">"The wizard needs JavaScript."</span> })
                }}
            </div>
            <ErrorAlert error=w.plan_error />
            {stale}
            {suggest_side}
            {move || w.planned.get().map(|(_, plan)| view! { <PlanView plan /> })}
        </section>
    }
    .into_any();
    let request = view! {
        <form class="snap-form wizard-step" aria-labelledby="step-request-h" on:submit=request>
            <h3 id="step-request-h">"5. Request approval"</h3>
            <div class="field">
                <label for="restore-reason">"Reason"</label>
                <textarea
                    id="restore-reason"
                    rows="3"
                    required
                    aria-describedby="restore-reason-hint"
                    prop:value=move || w.reason.get()
                    on:input=move |ev| w.reason.set(event_target_value(&ev))
                ></textarea>
                <p id="restore-reason-hint" class="hint">
                    "Why this restore is needed. Another person (an approver, not you) reads it and approves or rejects the plan; the audit log keeps it."
                </p>
            </div>
            <div class="form-actions">
                <button type="submit" data-testid="request-approval" disabled=move || !may_request()>
                    "Request approval"
                </button>
                {move || w.request.pending().get().then(|| view! { <span class="hint" role="status">"Requesting…"</span> })}
                {move || request_hint().map(|h| view! { <span class="hint">{h}</span> })}
            </div>
            <ErrorAlert error=w.request_error />
        </form>
    }
    .into_any();
    view! {
        <div class="snap-form wizard-form">{source}{target}{plan}</div>
        {request}
    }
}

/// The wizard's card. `snapshots`: the snapshots on disk to offer.
#[component]
pub fn RestoreWizard(snapshots: Resource<Result<SnapshotPage, ServerFnError>>) -> impl IntoView {
    let query = use_query_map();
    let wanted = Memo::new(move |_| {
        let q = query.read();
        let text = |k: &str| {
            q.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Wanted {
            tag: text("snapshot"),
            node: text("node"),
        }
    });
    let in_stores = Resource::new(|| (), |_| store_copies());
    let w = Wizard::new();
    // `?store=NAME`: restore the snapshot's copy in that store.
    if let Some(store) = query.read_untracked().get("store") {
        w.store.set(store.trim().to_string());
    }
    Effect::new(move |_| w.hydrated.set(true));
    Effect::new(move |_| match w.plan.value().get() {
        Some(Ok(plan)) => {
            w.plan_error.set(None);
            if let Some(input) = w.planning_for.get_untracked() {
                w.planned.set(Some((input, plan)));
            }
        }
        Some(Err(e)) => {
            w.planned.set(None);
            w.plan_error.set(Some(format!(
                "Cannot plan this restore: {}",
                server_message(&e)
            )));
        }
        None => {}
    });
    let navigate = use_navigate();
    Effect::new(move |_| match w.request.value().get() {
        Some(Ok(r)) => navigate(&restore_href(r.id), NavigateOptions::default()),
        Some(Err(e)) => w.request_error.set(Some(format!(
            "The restore was not requested: {}",
            server_message(&e)
        ))),
        None => {}
    });

    view! {
        <section id="wizard" class="card wizard" aria-labelledby="wizard-h" data-testid="restore-wizard">
            <h2 id="wizard-h">"Request a restore"</h2>
            <p class="hint">
                "Nothing is restored until another person approves the request and an operator executes it."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading the snapshots…"</p> }>
                {move || {
                    snapshots
                        .get()
                        .map(|r| match r {
                            Ok(page) => {
                                // A failure to list the store copies leaves the snapshots on disk.
                                let copies = in_stores.get().and_then(Result::ok).unwrap_or_default();
                                let mut offered = offer_order(page.items);
                                offered.extend(
                                    copies
                                        .iter()
                                        .filter(|c| c.verified && !c.on_node)
                                        .map(store_only_offer),
                                );
                                view! {
                                    <WizardSteps offered total=page.total wanted w copies />
                                }
                                    .into_any()
                            }
                            Err(e) => {
                                view! { <LoadError what="Cannot list the snapshots" error=e /> }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(tag: &str, node: &str, kind: &str) -> SnapshotDto {
        SnapshotDto {
            id: 1,
            node: node.into(),
            tag: tag.into(),
            kind: kind.into(),
            status: "present".into(),
            created_at: 1_795_550_920_176,
            expires_at: None,
            created_by: None,
            tables: vec!["shop.orders".into(), "shop.products".into()],
            files: 9,
            size_bytes: 2048,
            exclusive_hold_bytes: 1024,
            shared_hold_bytes: 0,
            measured_at: 1_795_550_920_176,
            gone_at: None,
            note: None,
        }
    }

    #[test]
    fn snapshots_before_data_loss_are_offered_first_and_loudly() {
        let items = offer_order(vec![
            snap("newest", "node1", "manual"),
            snap("truncated-1-orders", "node1", "truncated"),
            snap("older", "node1", "scheduled"),
            snap("dropped-1-x", "node1", "dropped"),
        ]);
        let tags: Vec<&str> = items.iter().map(|s| s.tag.as_str()).collect();
        assert_eq!(
            tags,
            ["truncated-1-orders", "dropped-1-x", "newest", "older"]
        );
        assert_eq!(
            option_text(&items[0]),
            "⚠ truncated-1-orders · node1 · TRUNCATED · 2026-11-24 20:08:40 UTC · 2 tables"
        );
        assert_eq!(
            option_text(&items[2]),
            "newest · node1 · manual · 2026-11-24 20:08:40 UTC · 2 tables"
        );
    }

    #[test]
    fn the_url_picks_the_snapshot_and_its_node() {
        let items = vec![snap("t", "node 1", "manual"), snap("t", "node2", "manual")];
        let want = |tag: Option<&str>, node: Option<&str>| Wanted {
            tag: tag.map(str::to_string),
            node: node.map(str::to_string),
        };
        assert_eq!(
            resolve(&items, &want(Some("t"), Some("node2"))).map(|s| s.node.as_str()),
            Some("node2")
        );
        assert_eq!(
            resolve(&items, &want(Some("t"), None)).map(|s| s.node.as_str()),
            Some("node 1")
        );
        assert!(resolve(&items, &want(Some("t"), Some("node3"))).is_none());
        assert!(resolve(&items, &want(None, None)).is_none());
        assert_eq!(
            source_href(&option_value(&items[0])),
            "/restores?snapshot=t&node=node%201"
        );
        assert_eq!(
            source_href("a/b/tag"),
            "/restores?snapshot=tag&node=a%2Fb",
            "a node name may hold a slash, a tag never does"
        );
        assert_eq!(source_href(""), "/restores");
    }

    #[test]
    fn the_request_follows_the_form() {
        let owner = Owner::new();
        owner.set();
        let w = Wizard::new();
        let s = snap("nightly", "node1", "manual");
        let input = w.input(&s);
        assert_eq!(input.snapshot, "nightly");
        assert_eq!(input.node.as_deref(), Some("node1"));
        assert!(input.tables.is_empty(), "none ticked: every table");
        assert_eq!(input.target, Target::InPlace);
        w.truncate.set(true);
        w.side_keyspace.set("  scratch ".into());
        assert!(w.input(&s).truncate);
        assert_eq!(
            w.input(&s).side_keyspace,
            None,
            "a side keyspace is for side tables only"
        );
        w.target.set(Target::Side);
        let side = w.input(&s);
        assert!(!side.truncate, "TRUNCATE is for in place only");
        assert_eq!(side.side_keyspace.as_deref(), Some("scratch"));
        w.target.set(Target::FullNode);
        let whole = w.input(&s);
        assert_eq!(whole.target, Target::FullNode);
        assert!(
            !whole.truncate,
            "a whole-node restore moves live files aside instead"
        );
        assert_eq!(whole.side_keyspace, None);
    }
}
