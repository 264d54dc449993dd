//! The files of one table, folded under "Files (N)": those of a snapshot's table on its
//! detail page, and those a restore plan links or copies.

use leptos::prelude::*;

/// One file as the table shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub name: String,
    /// In words, with its unit.
    pub size: String,
    pub inode: String,
    /// The link count, when it was scanned.
    pub links: Option<i64>,
}

/// The folded table of files. `total` is how many files there are (`rows` may be the first
/// ones only); `caption` says how many are shown; `links` adds the link-count column.
#[component]
pub fn FileTable(
    total: i64,
    rows: Vec<FileRow>,
    /// The first column's header (`File`, `Path`).
    name_header: &'static str,
    /// The table's classes.
    #[prop(default = "data")]
    class: &'static str,
    #[prop(optional)] caption: Option<String>,
    #[prop(optional)] links: bool,
) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|f| {
            view! {
                <tr>
                    <td class="wrap"><code>{f.name}</code></td>
                    <td class="num">{f.size}</td>
                    <td class="num">{f.inode}</td>
                    {f.links.map(|n| view! { <td class="num">{n}</td> })}
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="files">
            <summary>{format!("Files ({total})")}</summary>
            <div class="table-wrap">
                <table class=class>
                    {caption.map(|c| view! { <caption>{c}</caption> })}
                    <thead>
                        <tr>
                            <th scope="col">{name_header}</th>
                            <th scope="col" class="num">"Size"</th>
                            <th scope="col" class="num">"Inode"</th>
                            {links.then(|| view! { <th scope="col" class="num">"Links"</th> })}
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </details>
    }
}
