//! The snapshot history under the timeline: the filter form (a plain GET form, so it works
//! without JavaScript), the sortable table of one page, and the links to other pages.

use leptos::prelude::*;
use leptos_router::components::Form;

use super::query::{
    DEFAULT_PER_PAGE, PER_PAGE_CHOICES, has_filters, href, page_count, page_href, sort_href,
    sorted_by,
};
use crate::api::{
    SNAPSHOT_KINDS, SnapshotDto, SnapshotFormOptions, SnapshotPage, SnapshotQuery, format_bytes,
    is_undo_kind,
};
use crate::components::{KindBadge, Time, snapshot_href};

/// `<option>`s for a select whose empty value means "any"; the current value is kept even when
/// the server no longer offers it.
fn choices(any: &'static str, offered: Vec<String>, current: Option<String>) -> impl IntoView {
    let mut values = offered;
    if let Some(c) = &current
        && !values.contains(c)
    {
        values.push(c.clone());
    }
    let none_selected = current.is_none();
    view! {
        <option value="" selected=none_selected>{any}</option>
        {values
            .into_iter()
            .map(|v| {
                let selected = current.as_deref() == Some(v.as_str());
                view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
            })
            .collect_view()}
    }
}

/// The filters, filled in from the URL. `options` (nodes, tables) feed the pickers.
#[component]
pub fn Filters(q: SnapshotQuery, options: Option<SnapshotFormOptions>) -> impl IntoView {
    let options = options.unwrap_or_default();
    let mut keyspaces: Vec<String> = options
        .tables
        .iter()
        .filter_map(|t| t.split_once('.').map(|(ks, _)| ks.to_string()))
        .collect();
    keyspaces.dedup();
    let statuses: [(&str, &str); 4] = [
        ("", "Present (on disk)"),
        ("cleared", "Cleared"),
        ("gone", "Gone"),
        ("all", "All"),
    ];
    let status = q.status.clone().unwrap_or_default();
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    let mut per_page_choices: Vec<i64> = PER_PAGE_CHOICES.to_vec();
    if !per_page_choices.contains(&per_page) {
        per_page_choices.push(per_page);
        per_page_choices.sort_unstable();
    }
    view! {
        <Form method="get" action="/snapshots" attr:class="card snap-form filters" attr:aria-label="Filter snapshots">
            <h2>"Filter"</h2>
            <div class="filter-grid">
                <div class="field">
                    <label for="f-node">"Node"</label>
                    <select id="f-node" name="node">
                        {choices("All nodes", options.nodes.clone(), q.node.clone())}
                    </select>
                </div>
                <div class="field">
                    <label for="f-keyspace">"Keyspace"</label>
                    <input
                        id="f-keyspace"
                        name="keyspace"
                        type="text"
                        list="f-keyspaces"
                        autocomplete="off"
                        value=q.keyspace.clone().unwrap_or_default()
                    />
                    <datalist id="f-keyspaces">
                        {keyspaces.into_iter().map(|k| view! { <option value=k></option> }).collect_view()}
                    </datalist>
                </div>
                <div class="field">
                    <label for="f-table">"Table"</label>
                    <input
                        id="f-table"
                        name="table"
                        type="text"
                        list="f-tables"
                        autocomplete="off"
                        placeholder="table or keyspace.table"
                        value=q.table.clone().unwrap_or_default()
                    />
                    <datalist id="f-tables">
                        {options.tables.into_iter().map(|t| view! { <option value=t></option> }).collect_view()}
                    </datalist>
                </div>
                <div class="field">
                    <label for="f-kind">"Kind"</label>
                    <select id="f-kind" name="kind">
                        {choices(
                            "Any kind",
                            SNAPSHOT_KINDS.iter().map(|k| k.to_string()).collect(),
                            q.kind.clone(),
                        )}
                    </select>
                </div>
                <div class="field">
                    <label for="f-tag">"Tag contains"</label>
                    <input
                        id="f-tag"
                        name="tag"
                        type="search"
                        autocomplete="off"
                        spellcheck="false"
                        value=q.tag.clone().unwrap_or_default()
                    />
                </div>
                <div class="field">
                    <label for="f-status">"Status"</label>
                    <select id="f-status" name="status">
                        {statuses
                            .into_iter()
                            .map(|(v, label)| {
                                view! { <option value=v selected=status == v>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-from">"Created from (UTC)"</label>
                    <input id="f-from" name="from" type="date" value=q.from.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="f-to">"Created to (UTC)"</label>
                    <input id="f-to" name="to" type="date" value=q.to.clone().unwrap_or_default() />
                </div>
                <div class="field">
                    <label for="f-per-page">"Per page"</label>
                    <select id="f-per-page" name="per_page">
                        {per_page_choices
                            .into_iter()
                            .map(|n| view! { <option value=n.to_string() selected=n == per_page>{n}</option> })
                            .collect_view()}
                    </select>
                </div>
            </div>
            {q.sort.clone().map(|s| view! { <input type="hidden" name="sort" value=s /> })}
            <div class="form-actions">
                <button type="submit">"Apply"</button>
                <a href="/snapshots">"Reset"</a>
            </div>
        </Form>
    }
}

/// A column header that sorts by `key` and says how the list is sorted now.
fn sort_header(
    q: &SnapshotQuery,
    key: &'static str,
    label: &'static str,
    num: bool,
) -> impl IntoView + use<> {
    let state = sorted_by(q, key);
    let aria = state.map(|desc| if desc { "descending" } else { "ascending" });
    let arrow = match state {
        Some(true) => " ↓",
        Some(false) => " ↑",
        None => "",
    };
    view! {
        <th scope="col" class=num.then_some("num") aria-sort=aria>
            <a class="sort" href=sort_href(q, key)>{label}{arrow}</a>
        </th>
    }
}

/// "a.b, c.d and 3 more": the tables a snapshot covers, short enough for a cell.
fn tables_text(tables: &[String]) -> String {
    match tables {
        [] => "none recorded".to_string(),
        [a] => a.clone(),
        [a, b] => format!("{a}, {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    }
}

fn snapshot_row(s: SnapshotDto) -> impl IntoView {
    let loud = is_undo_kind(&s.kind);
    let href = snapshot_href(&s.tag, Some(&s.node));
    let tables_title = s.tables.join(", ");
    let expires = match s.expires_at {
        Some(ms) => view! { <Time ms /> }.into_any(),
        None => view! { <span class="muted">"never"</span> }.into_any(),
    };
    view! {
        <tr class=loud.then_some("auto-undo") data-tag=s.tag.clone() data-node=s.node.clone()>
            <td class="wrap">
                <a class="tag" href=href>{s.tag.clone()}</a>
                {s.note.clone().map(|n| view! { <span class="snap-note">{n}</span> })}
            </td>
            <td>{s.node.clone()}</td>
            <td><KindBadge kind=s.kind.clone() /></td>
            <td class="time"><Time ms=s.created_at /></td>
            <td class="wrap" title=tables_title>{tables_text(&s.tables)}</td>
            <td class="num">{format_bytes(s.size_bytes)}</td>
            <td class="num">{format_bytes(s.exclusive_hold_bytes)}</td>
            <td class="num">{format_bytes(s.shared_hold_bytes)}</td>
            <td class="time">{expires}</td>
            <td>
                <span class=format!("status status-{}", s.status)>{s.status.clone()}</span>
            </td>
        </tr>
    }
}

/// "Page X of Y (N snapshots)" with Previous and Next.
fn pager(q: &SnapshotQuery, page: i64, per_page: i64, total: i64) -> impl IntoView + use<> {
    let pages = page_count(total, per_page);
    let noun = if total == 1 { "snapshot" } else { "snapshots" };
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1)
                .then(|| {
                    view! {
                        <a rel="prev" href=page_href(q, (page - 1).min(pages))>"← Previous"</a>
                    }
                })}
            <span class="pager-where">
                {format!("Page {page} of {pages} ({total} {noun})")}
            </span>
            {(page < pages).then(|| view! { <a rel="next" href=page_href(q, page + 1)>"Next →"</a> })}
        </nav>
    }
}

/// The table of one page of snapshots, or what to do when there is none. `may_take`: the
/// user may take snapshots (the card above is shown).
#[component]
pub fn SnapshotList(page: SnapshotPage, q: SnapshotQuery, may_take: bool) -> impl IntoView {
    if page.total == 0 {
        return if has_filters(&q) {
            view! {
                <section class="card" aria-labelledby="list-h">
                    <h2 id="list-h">"Snapshots"</h2>
                    <p class="empty">
                        "No snapshot matches these filters. " <a href="/snapshots">"Show every present snapshot"</a>
                        "."
                    </p>
                </section>
            }
            .into_any()
        } else {
            let how = if may_take {
                "No snapshots yet. Take one above, or run a scan to discover snapshots taken with nodetool."
            } else {
                "No snapshots yet. Snapshots taken with nodetool appear here after a scan."
            };
            view! {
                <section class="card" aria-labelledby="list-h">
                    <h2 id="list-h">"Snapshots"</h2>
                    <p class="empty">{how}</p>
                </section>
            }
            .into_any()
        };
    }
    let past_the_end = page.items.is_empty();
    let rows = page.items.into_iter().map(snapshot_row).collect_view();
    view! {
        <section aria-labelledby="list-h">
            <h2 id="list-h">"Snapshots"</h2>
            {pager(&q, page.page, page.per_page, page.total)}
            {past_the_end
                .then(|| {
                    view! {
                        <p class="empty">
                            "This page is past the end of the list. "
                            <a href=href(&SnapshotQuery { page: None, ..q.clone() })>"Go to page 1"</a> "."
                        </p>
                    }
                })}
            <div class="table-wrap">
                <table class="data snap-table">
                    <caption>
                        "Sizes count each inode once. Exclusive hold: what clearing frees. Shared hold: kept alive together with other snapshots."
                    </caption>
                    <thead>
                        <tr>
                            {sort_header(&q, "tag", "Tag", false)}
                            {sort_header(&q, "node", "Node", false)}
                            {sort_header(&q, "kind", "Kind", false)}
                            {sort_header(&q, "created", "Created", false)}
                            <th scope="col">"Tables"</th>
                            {sort_header(&q, "size", "Size", true)}
                            {sort_header(&q, "exclusive", "Exclusive hold", true)}
                            {sort_header(&q, "shared", "Shared hold", true)}
                            {sort_header(&q, "expires", "Expires", false)}
                            <th scope="col">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {pager(&q, page.page, page.per_page, page.total)}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_table_lists_are_shortened() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(tables_text(&[]), "none recorded");
        assert_eq!(tables_text(&t(&["shop.orders"])), "shop.orders");
        assert_eq!(
            tables_text(&t(&["shop.a", "shop.b", "shop.c", "shop.d"])),
            "shop.a, shop.b and 2 more"
        );
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    fn snap(tag: &str, kind: &str, note: Option<&str>) -> SnapshotDto {
        SnapshotDto {
            id: 1,
            node: "node1".into(),
            tag: tag.into(),
            kind: kind.into(),
            status: "present".into(),
            created_at: 1_795_550_920_176,
            expires_at: None,
            created_by: None,
            tables: vec!["shop.orders".into()],
            files: 9,
            size_bytes: 2048,
            exclusive_hold_bytes: 1024,
            shared_hold_bytes: 0,
            measured_at: 1_795_550_920_176,
            gone_at: None,
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn a_page_of_snapshots_renders_rows_sort_links_and_pages() {
        let owner = Owner::new();
        owner.set();
        let note =
            "shop.orders was truncated at 2026-11-24 20:08:40 UTC; this snapshot can undo it.";
        let page = SnapshotPage {
            items: vec![
                snap("truncated-1795550920176-orders", "truncated", Some(note)),
                snap("a b", "manual", None),
            ],
            total: 120,
            page: 2,
            per_page: 50,
            timeline: vec![],
        };
        let q = SnapshotQuery {
            kind: Some("manual".into()),
            page: Some(2),
            ..SnapshotQuery::default()
        };
        let html = view! { <SnapshotList page q may_take=true /> }.to_html();
        assert!(
            html.contains(
                r#"data-tag="truncated-1795550920176-orders" data-node="node1" class="auto-undo""#
            ),
            "{html}"
        );
        assert!(html.contains(note));
        assert!(html.contains(r#"href="/snapshots/a%20b?node=node1""#));
        assert!(html.contains("2026-11-24 20:08:40 UTC"));
        assert!(html.contains(r#"aria-sort="descending""#));
        assert!(html.contains(r#"href="/snapshots?kind=manual&amp;sort=-size""#));
        assert!(html.contains("Page 2 of 3 (120 snapshots)"));
        assert!(html.contains(r#"<a rel="prev" href="/snapshots?kind=manual">"#));
        assert!(html.contains(r#"href="/snapshots?kind=manual&amp;page=3""#));
    }

    #[test]
    fn an_empty_history_says_how_to_get_snapshots() {
        let owner = Owner::new();
        owner.set();
        let empty = SnapshotPage {
            items: vec![],
            total: 0,
            page: 1,
            per_page: 50,
            timeline: vec![],
        };
        let html =
            view! { <SnapshotList page=empty.clone() q=SnapshotQuery::default() may_take=true /> }
                .to_html();
        assert!(html.contains("No snapshots yet. Take one above"), "{html}");
        let q = SnapshotQuery {
            tag: Some("x".into()),
            ..SnapshotQuery::default()
        };
        let html = view! { <SnapshotList page=empty q may_take=false /> }.to_html();
        assert!(
            html.contains("No snapshot matches these filters."),
            "{html}"
        );
    }

    #[test]
    fn the_filter_form_is_filled_in_from_the_url() {
        let owner = Owner::new();
        owner.set();
        let q = SnapshotQuery {
            kind: Some("manual".into()),
            tag: Some("e2e".into()),
            node: Some("node9".into()),
            sort: Some("tag".into()),
            ..SnapshotQuery::default()
        };
        let options = SnapshotFormOptions {
            nodes: vec!["node1".into()],
            tables: vec!["shop.orders".into(), "shop.products".into()],
        };
        let html = view! { <Filters q options=Some(options) /> }.to_html();
        assert!(
            html.contains(r#"<form method="get" action="/snapshots""#),
            "{html}"
        );
        assert!(html.contains(r#"<option value="manual" selected>"#));
        assert!(html.contains(
            r#"name="tag" type="search" autocomplete="off" spellcheck="false" value="e2e""#
        ));
        assert!(
            html.contains(r#"<option value="node9" selected>"#),
            "a node no longer offered stays chosen"
        );
        assert!(html.contains(r#"<option value="shop.products">"#));
        assert!(html.contains(r#"<datalist id="f-keyspaces"><option value="shop">"#));
        assert!(html.contains(r#"<input type="hidden" name="sort" value="tag">"#));
    }
}
