//! One snapshot tag (`/snapshots/:tag`, `?node=` narrows it to one node): what it is, what it
//! costs, per table its files, schema and recorded row count, and the Clear (after a
//! confirmation that says what it frees) and Restore actions.

use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    ClearSnapshot, Role, SnapshotDetailDto, SnapshotFileDto, SnapshotJobDto, SnapshotTableDto,
    UploadSnapshot, format_bytes, get_snapshot, is_undo_kind, server_message, snapshot_copies,
};
use crate::components::{
    ErrorAlert, FileRow, FileTable, JobProgress, JobVerb, KindBadge, LoadError, Time, follow_job,
    respond_not_found, restore_wizard_href, rows_text,
};

/// Everything the Clear button and its confirmation need; lives as long as the page, so it
/// outlives each re-render of the detail.
#[derive(Clone, Copy)]
struct ClearState {
    action: ServerAction<ClearSnapshot>,
    confirming: RwSignal<bool>,
    job: RwSignal<Option<SnapshotJobDto>>,
    poll_error: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    hydrated: RwSignal<bool>,
    cancel: NodeRef<html::Button>,
}

impl ClearState {
    fn busy(&self) -> bool {
        !self.hydrated.get()
            || self.action.pending().get()
            || self
                .job
                .with(|j| j.as_ref().is_some_and(|j| !j.job.finished()))
    }
}

fn files_view(files: Vec<SnapshotFileDto>, total: i64) -> impl IntoView {
    if total == 0 {
        return view! { <p class="muted small">"No files recorded."</p> }.into_any();
    }
    let caption = format!("Showing {} of {total} files", files.len());
    let rows = files
        .into_iter()
        .map(|f| FileRow {
            name: f.path,
            size: format_bytes(f.size),
            inode: f.inode.to_string(),
            links: Some(f.nlink),
        })
        .collect();
    view! { <FileTable total rows name_header="Path" caption links=true /> }.into_any()
}

fn table_view(t: SnapshotTableDto, show_node: bool) -> impl IntoView {
    let name = format!("{}.{}", t.keyspace, t.table);
    let heading = if show_node {
        format!("{name} on {}", t.node)
    } else {
        name.clone()
    };
    let schema = match t.schema_cql {
        Some(cql) => view! {
            <details class="schema">
                <summary>"schema.cql"</summary>
                <pre><code>{cql}</code></pre>
            </details>
        }
        .into_any(),
        None => {
            view! { <p class="muted small">"No schema.cql recorded for this table."</p> }.into_any()
        }
    };
    view! {
        <section class="card snapshot-table" data-table=name data-node=t.node.clone()>
            <h3>{heading}</h3>
            <dl class="facts">
                <div>
                    <dt>"Table id"</dt>
                    <dd><code>{t.table_id}</code></dd>
                </div>
                <div>
                    <dt>"Status"</dt>
                    <dd>{t.status}</dd>
                </div>
                <div>
                    <dt>"Files"</dt>
                    <dd>{t.files}</dd>
                </div>
                <div>
                    <dt>"Size"</dt>
                    <dd>{format_bytes(t.size_bytes)}</dd>
                </div>
                <div>
                    <dt>"Exclusive hold"</dt>
                    <dd>{format_bytes(t.exclusive_hold_bytes)}</dd>
                </div>
                <div>
                    <dt>"Shared hold"</dt>
                    <dd>{format_bytes(t.shared_hold_bytes)}</dd>
                </div>
                <div>
                    <dt>"Rows when taken"</dt>
                    <dd data-testid="row-count">{rows_text(t.row_count, t.row_count_method.as_deref())}</dd>
                </div>
            </dl>
            {schema}
            {files_view(t.file_list, t.files_total)}
        </section>
    }
}

/// The loud banner of a snapshot Cassandra took before a TRUNCATE or DROP.
fn undo_banner(d: &SnapshotDetailDto) -> Option<impl IntoView + use<>> {
    if !is_undo_kind(&d.kind) {
        return None;
    }
    // The server's note already says what happened and that this snapshot can undo it.
    let what = d.note.clone().unwrap_or_else(|| {
        let verb = if d.kind == "truncated" {
            "truncated"
        } else {
            "dropped"
        };
        format!("A table was {verb}; Cassandra took this snapshot just before. This snapshot can undo it.")
    });
    let gone = (d.status != "present").then_some(" It is no longer on disk, though.");
    Some(view! {
        <div class="notice warn undo-banner" role="note">
            <strong>{what}</strong>
            {gone}
        </div>
    })
}

/// Why this snapshot cannot be cleared now: the restores that use it, and a restore's safety
/// snapshot kept for its retention time.
fn pins_notice(d: &SnapshotDetailDto) -> Option<impl IntoView + use<>> {
    if d.pins.is_empty() {
        return None;
    }
    let items = d
        .pins
        .iter()
        .map(|p| {
            let until = p.until_ms.map(|ms| view! { " — kept until " <Time ms /> });
            view! { <li>{p.reason.clone()}{until}</li> }
        })
        .collect_view();
    Some(view! {
        <section class="card notice" role="status" data-testid="pins">
            <p><strong>"Kept: this snapshot cannot be cleared now."</strong></p>
            <ul>{items}</ul>
        </section>
    })
}

/// The Clear… button's confirmation: what clearing frees, then Clear snapshot or Cancel.
fn clear_confirm(
    clear: ClearState,
    d: &SnapshotDetailDto,
    node: Option<String>,
) -> impl IntoView + use<> {
    let tag = d.tag.clone();
    let text = format!(
        "Clearing {} frees {} (bytes no other snapshot or live table links).",
        d.tag,
        format_bytes(d.exclusive_hold_bytes)
    );
    let where_ = format!(
        "Its files are removed on {}; this cannot be undone.",
        d.nodes.join(", ")
    );
    let confirm = move |_| {
        clear.error.set(None);
        clear.action.dispatch(ClearSnapshot {
            tag: tag.clone(),
            node: node.clone(),
            keyspace: None,
            table: None,
        });
    };
    view! {
        <div
            class="card clear-confirm"
            role="group"
            aria-labelledby="clear-confirm-text"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    clear.confirming.set(false);
                }
            }
        >
            <p id="clear-confirm-text"><strong>{text}</strong></p>
            <p class="small">{where_}</p>
            <div class="form-actions">
                <button type="button" class="danger" disabled=move || clear.busy() on:click=confirm>
                    "Clear snapshot"
                </button>
                <button type="button" class="secondary" node_ref=clear.cancel on:click=move |_| clear.confirming.set(false)>
                    "Cancel"
                </button>
            </div>
        </div>
    }
}

/// One tag. `may_change`: the user may clear and restore (operators and up).
fn detail_view(
    d: SnapshotDetailDto,
    node: Option<String>,
    clear: ClearState,
    may_change: bool,
) -> impl IntoView {
    let present = d.status == "present";
    let actionable = present && may_change;
    let restore_node = node.clone().or_else(|| match d.nodes.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    });
    let actions = actionable.then(|| {
        view! {
            <div class="form-actions">
                <button
                    type="button"
                    class="danger"
                    aria-expanded=move || clear.confirming.get().to_string()
                    disabled=move || clear.busy()
                    on:click=move |_| clear.confirming.set(true)
                >
                    "Clear…"
                </button>
                <a class="button" href=restore_wizard_href(&d.tag, restore_node.as_deref())>"Restore…"</a>
            </div>
        }
    });
    let confirm = actionable.then(|| {
        let d = d.clone();
        let node = node.clone();
        move || {
            clear
                .confirming
                .get()
                .then(|| clear_confirm(clear, &d, node.clone()))
        }
    });
    let show_node = d.nodes.len() > 1;
    let expires = match d.expires_at {
        Some(ms) => view! { <Time ms /> }.into_any(),
        None => view! { "never" }.into_any(),
    };
    let taken_by = d
        .created_by
        .clone()
        .unwrap_or_else(|| "not taken through Snapkeep".to_string());
    let table_count = d.tables.len();
    view! {
        <div class="page-head">
            <h1>"Snapshot " <span class="tag">{d.tag.clone()}</span></h1>
            {actions}
        </div>
        {undo_banner(&d)}
        {pins_notice(&d)}
        {confirm}
        <JobProgress verb=JobVerb::Clear job=clear.job poll_error=clear.poll_error />
        <ErrorAlert error=clear.error />
        <section class="card" aria-label="About this snapshot">
            <dl class="facts">
                <div>
                    <dt>"Kind"</dt>
                    <dd><KindBadge kind=d.kind.clone() /></dd>
                </div>
                <div>
                    <dt>"Status"</dt>
                    <dd data-testid="snapshot-status">{d.status.clone()}</dd>
                </div>
                <div>
                    <dt>"Created"</dt>
                    <dd><Time ms=d.created_at /></dd>
                </div>
                <div>
                    <dt>"Expires"</dt>
                    <dd>{expires}</dd>
                </div>
                <div>
                    <dt>"Taken by"</dt>
                    <dd>{taken_by}</dd>
                </div>
                <div>
                    <dt>{if show_node { "Nodes" } else { "Node" }}</dt>
                    <dd>{d.nodes.join(", ")}</dd>
                </div>
                <div>
                    <dt>"Size"</dt>
                    <dd>{format!("{} in {} files", format_bytes(d.size_bytes), d.files)}</dd>
                </div>
                <div>
                    <dt>"Exclusive hold"</dt>
                    <dd data-testid="exclusive-hold">{format_bytes(d.exclusive_hold_bytes)}</dd>
                </div>
                <div>
                    <dt>"Shared hold"</dt>
                    <dd>{format_bytes(d.shared_hold_bytes)}</dd>
                </div>
            </dl>
            <p class="small muted">
                "Exclusive hold: bytes only this snapshot links, exactly what clearing it frees. "
                "Shared hold: bytes no live table links that this snapshot shares with other snapshots."
            </p>
        </section>
        <section aria-labelledby="tables-h">
            <h2 id="tables-h">{format!("Tables ({table_count})")}</h2>
            {if d.tables.is_empty() {
                view! { <p class="muted">"No tables recorded for this snapshot."</p> }.into_any()
            } else {
                d.tables.into_iter().map(|t| table_view(t, show_node)).collect_view().into_any()
            }}
        </section>
    }
}

fn not_found_view(tag: String) -> impl IntoView {
    respond_not_found();
    view! {
        <h1>"No snapshot " <span class="tag">{tag.clone()}</span></h1>
        <section class="card notice" role="alert">
            <p>
                "Snapkeep has no snapshot tagged " <code>{tag}</code>
                " on this node: it may never have existed, or a scan has not seen it yet."
            </p>
            <p>
                <a href="/snapshots">"Back to the snapshot history"</a>
            </p>
        </section>
    }
}

#[component]
pub fn SnapshotDetail() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let key = Memo::new(move |_| {
        let tag = params.read().get("tag").unwrap_or_default();
        let node = query
            .read()
            .get("node")
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        (tag, node)
    });
    let detail = Resource::new(move || key.get(), |(tag, node)| get_snapshot(tag, node));

    let clear = ClearState {
        action: ServerAction::<ClearSnapshot>::new(),
        confirming: RwSignal::new(false),
        job: RwSignal::new(None),
        poll_error: RwSignal::new(None),
        error: RwSignal::new(None),
        hydrated: RwSignal::new(false),
        cancel: NodeRef::new(),
    };
    Effect::new(move |_| clear.hydrated.set(true));
    // Another tag (a link from this page to another detail): forget this one's clear.
    Effect::new(move |prev: Option<(String, Option<String>)>| {
        let now = key.get();
        if prev.is_some_and(|p| p != now) {
            clear.job.set(None);
            clear.confirming.set(false);
            clear.error.set(None);
            clear.poll_error.set(None);
        }
        now
    });
    Effect::new(move |_| match clear.action.value().get() {
        Some(Ok(started)) => {
            clear.confirming.set(false);
            clear.poll_error.set(None);
            clear.job.set(Some(started));
        }
        Some(Err(e)) => clear.error.set(Some(server_message(&e))),
        None => {}
    });
    // The safe choice takes the focus when the confirmation opens.
    Effect::new(move |_| {
        if let Some(button) = clear.cancel.get() {
            let _ = button.focus();
        }
    });
    follow_job(clear.job, clear.poll_error, move || detail.refetch());

    view! {
        <Title text=move || format!("Snapshot {}", key.read().0) />
        <div class="snapshot-detail">
        <p class="crumbs">
            <a href="/snapshots">"← Snapshot history"</a>
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                detail
                    .get()
                    .map(|r| match r {
                        Ok(Some(d)) => {
                            // Operators and up may clear and restore; the server refuses others.
                            let may_change = crate::auth::can(Role::Operator);
                            detail_view(d, key.get_untracked().1, clear, may_change).into_any()
                        }
                        Ok(None) => not_found_view(key.get_untracked().0).into_any(),
                        Err(e) => {
                            view! {
                                <h1>"Snapshot"</h1>
                                <LoadError what="Cannot load the snapshot" error=e />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
        <StoreCopies tag=Memo::new(move |_| key.read().0.clone()) />
        </div>
    }
}

/// Where copies of the snapshot are off the node, verified or not, and Copy to store.
#[component]
fn StoreCopies(tag: Memo<String>) -> impl IntoView {
    let upload = ServerAction::<UploadSnapshot>::new();
    let copies = Resource::new(
        move || (tag.get(), upload.version().get()),
        |(t, _)| snapshot_copies(t),
    );
    view! {
        <section class="card" data-testid="store-copies" aria-labelledby="copies-h">
            <h2 id="copies-h">"Copies in stores"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    copies.get().map(|r| match r {
                        Ok(u) => crate::pages::backups::uploads_table(u).into_any(),
                        Err(e) => view! { <LoadError what="Cannot load the copies" error=e /> }.into_any(),
                    })
                }}
            </Transition>
            <Show when=move || crate::auth::can(Role::Operator)>
                <ActionForm action=upload attr:class="inline">
                    <input type="hidden" name="tag" value=move || tag.get() />
                    <label>
                        "Store "
                        <input name="store" placeholder="the node's store" />
                    </label>
                    <button type="submit">"Copy to store"</button>
                </ActionForm>
            </Show>
            {move || {
                upload.value().get().map(|r| match r {
                    Ok(job) => view! {
                        <p role="status" data-testid="copy-started">
                            {format!("Copying started as job {}: content the store holds already is not sent again. Reload to see it verified.", job.id)}
                        </p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{server_message(&e)}</p> }.into_any(),
                })
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clear_state(confirming: bool) -> ClearState {
        ClearState {
            action: ServerAction::<ClearSnapshot>::new(),
            confirming: RwSignal::new(confirming),
            job: RwSignal::new(None),
            poll_error: RwSignal::new(None),
            error: RwSignal::new(None),
            hydrated: RwSignal::new(true),
            cancel: NodeRef::new(),
        }
    }

    fn truncated() -> SnapshotDetailDto {
        SnapshotDetailDto {
            tag: "truncated-1795550920176-orders".into(),
            kind: "truncated".into(),
            status: "present".into(),
            created_at: 1_795_550_920_176,
            expires_at: None,
            created_by: None,
            note: Some(
                "shop.orders was truncated at 2026-11-24 20:08:40 UTC; this snapshot can undo it."
                    .into(),
            ),
            nodes: vec!["node1".into()],
            size_bytes: 3 * 1024 * 1024,
            exclusive_hold_bytes: 3 * 1024 * 1024,
            shared_hold_bytes: 0,
            files: 2,
            tables: vec![SnapshotTableDto {
                node: "node1".into(),
                keyspace: "shop".into(),
                table: "orders".into(),
                table_id: "0123456789abcdef0123456789abcdef".into(),
                status: "present".into(),
                created_at: Some(1_795_550_920_176),
                expires_at: None,
                files: 2,
                size_bytes: 3 * 1024 * 1024,
                exclusive_hold_bytes: 3 * 1024 * 1024,
                shared_hold_bytes: 0,
                row_count: Some(1000),
                row_count_method: Some("count".into()),
                schema_cql: Some(
                    "CREATE TABLE IF NOT EXISTS shop.orders (id uuid PRIMARY KEY);".into(),
                ),
                file_list: vec![SnapshotFileDto {
                    path: "nb-1-big-Data.db".into(),
                    size: 3 * 1024 * 1024,
                    inode: 42,
                    nlink: 1,
                }],
                files_total: 2,
            }],
            pins: Vec::new(),
        }
    }

    #[test]
    fn a_truncated_snapshot_is_loud_and_its_clear_says_what_it_frees() {
        let owner = Owner::new();
        owner.set();
        let html =
            detail_view(truncated(), Some("node1".into()), clear_state(true), true).to_html();
        assert!(
            html.contains(r#"role="note" class="notice warn undo-banner"><strong>shop.orders was truncated at 2026-11-24 20:08:40 UTC; this snapshot can undo it.</strong>"#),
            "{html}"
        );
        assert!(html.contains(
            "Clearing truncated-1795550920176-orders frees 3.0 MiB (bytes no other snapshot or live table links)."
        ));
        assert!(html.contains(
            r#"href="/restores?snapshot=truncated-1795550920176-orders&amp;node=node1""#
        ));
        assert!(html.contains(r#"data-testid="snapshot-status">present<"#));
        assert!(html.contains(r#"data-table="shop.orders""#));
        assert!(html.contains("1000 rows (counted)"));
        assert!(html.contains("CREATE TABLE IF NOT EXISTS shop.orders"));
        assert!(html.contains("Showing 1 of 2 files"));
    }

    #[test]
    fn a_cleared_snapshot_offers_neither_clear_nor_restore() {
        let owner = Owner::new();
        owner.set();
        let d = SnapshotDetailDto {
            status: "cleared".into(),
            ..truncated()
        };
        let html = detail_view(d, None, clear_state(true), true).to_html();
        assert!(!html.contains("Clear…"), "{html}");
        assert!(!html.contains("Restore…"));
        assert!(!html.contains("Clearing "));
        assert!(html.contains("It is no longer on disk, though."));
        assert!(html.contains(r#"data-testid="snapshot-status">cleared<"#));
    }

    #[test]
    fn a_pinned_snapshot_says_why_it_is_kept_and_until_when() {
        let owner = Owner::new();
        owner.set();
        let d = SnapshotDetailDto {
            pins: vec![crate::api::SnapshotPinDto {
                node: "node1".into(),
                reason: "safety snapshot of restore request 12".into(),
                until_ms: Some(1_795_550_920_176),
            }],
            ..truncated()
        };
        let html = detail_view(d, None, clear_state(true), true).to_html();
        assert!(html.contains(r#"data-testid="pins""#), "{html}");
        assert!(html.contains("cannot be cleared now"));
        assert!(html.contains("safety snapshot of restore request 12"));
        assert!(html.contains("kept until"));
        let html = detail_view(truncated(), None, clear_state(true), true).to_html();
        assert!(!html.contains(r#"data-testid="pins""#));
    }

    #[test]
    fn a_viewer_gets_no_clear_or_restore() {
        let owner = Owner::new();
        owner.set();
        let html = detail_view(truncated(), None, clear_state(false), false).to_html();
        assert!(!html.contains("Clear…"), "{html}");
        assert!(!html.contains("Restore…"));
        assert!(html.contains("this snapshot can undo it"));
    }
}
