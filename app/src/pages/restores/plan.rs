//! A restore plan as people read it, the same in the wizard and on a request's page: what
//! blocks it, the schema verdict per table with every difference, the files and bytes, hard
//! links or copies, the headroom per filesystem, the safety snapshot, the expected rows and
//! the steps.

use leptos::prelude::*;

use super::words::{step_text, target_text};
use crate::api::{Difference, Headroom, Plan, PlanFile, Severity, TablePlan, Target};
use crate::components::{FileRow, FileTable, OkBadge, VerdictBadge, bytes_u64, rows_text};

/// "Hard links: 0 bytes copied" or what must be copied, for one table or the whole plan.
fn transfer_text(hard_link: bool, bytes_to_copy: u64, download_bytes: u64) -> String {
    if download_bytes > 0 {
        format!(
            "Downloaded from the store: {}, then hard-linked",
            bytes_u64(download_bytes)
        )
    } else if hard_link && bytes_to_copy == 0 {
        "Hard links on the same filesystem: 0 bytes copied".to_string()
    } else {
        format!(
            "Copied across filesystems: {} must be copied",
            bytes_u64(bytes_to_copy)
        )
    }
}

/// The expected rows of every table together, when each is known.
fn total_rows(tables: &[TablePlan]) -> Option<i64> {
    tables.iter().map(|t| t.expected_rows).sum()
}

fn difference_view(d: Difference) -> impl IntoView {
    let (class, label) = match d.severity {
        Severity::Warning => ("diff diff-warning", "warning"),
        Severity::Incompatible => ("diff diff-incompatible", "incompatible"),
    };
    view! {
        <li class=class data-severity=label>
            <span class="badge diff-label">{label}</span>
            " "
            <span class="diff-message">{d.message}</span>
            {(!d.facts.is_empty()).then(|| view! { <code class="diff-facts">{d.facts}</code> })}
        </li>
    }
}

fn files_view(files: Vec<PlanFile>) -> impl IntoView {
    let total = files.len() as i64;
    let rows = files
        .into_iter()
        .map(|f| FileRow {
            name: f.name,
            size: bytes_u64(f.size),
            inode: f.inode.to_string(),
            links: None,
        })
        .collect();
    view! { <FileTable total rows name_header="File" class="data plan-files" /> }
}

fn table_view(t: TablePlan, target: Target) -> AnyView {
    let name = format!("{}.{}", t.keyspace, t.table);
    let into = format!("{}.{}", t.target_keyspace, t.target_table);
    let heading = if into == name {
        name.clone()
    } else {
        format!("{name} → {into}")
    };
    let differences = if t.schema_check.differences.is_empty() {
        let why = match target {
            Target::Side => {
                "A new table is created from the snapshot's schema.cql: there is no live schema to differ from."
            }
            Target::InPlace | Target::FullNode => {
                "The snapshot's schema and the live one do not differ."
            }
        };
        view! { <p class="small muted">{why}</p> }.into_any()
    } else {
        view! {
            <ul class="differences">
                {t.schema_check.differences.into_iter().map(difference_view).collect_view()}
            </ul>
        }
        .into_any()
    };
    let target_id = t
        .target_table_id
        .clone()
        .unwrap_or_else(|| "none yet (created by the restore)".to_string());
    view! {
        <section class="plan-table" data-table=name.clone()>
            <h4>{heading}</h4>
            <dl class="facts">
                <div>
                    <dt>"Schema"</dt>
                    <dd><VerdictBadge verdict=t.schema_check.verdict /></dd>
                </div>
                <div>
                    <dt>"Files"</dt>
                    <dd>{format!("{} files, {} SSTables", t.files.len(), t.sstables)}</dd>
                </div>
                <div>
                    <dt>"Size"</dt>
                    <dd>{bytes_u64(t.bytes)}</dd>
                </div>
                <div>
                    <dt>"Link or copy"</dt>
                    <dd data-testid="table-transfer">{transfer_text(t.hard_link, t.bytes_to_copy, t.download_bytes)}</dd>
                </div>
                <div>
                    <dt>"Expected rows"</dt>
                    <dd>{rows_text(t.expected_rows, t.expected_rows_method.as_deref())}</dd>
                </div>
                <div>
                    <dt>"Target table id"</dt>
                    <dd><code>{target_id}</code></dd>
                </div>
            </dl>
            {differences}
            <details class="paths">
                <summary>"Directories"</summary>
                <dl class="facts">
                    <div>
                        <dt>"Snapshot"</dt>
                        <dd><code>{t.source_dir}</code></dd>
                    </div>
                    <div>
                        <dt>"Staging"</dt>
                        <dd><code>{t.staging_dir}</code></dd>
                    </div>
                    <div>
                        <dt>"Data directory"</dt>
                        <dd><code>{t.data_dir}</code></dd>
                    </div>
                </dl>
            </details>
            {files_view(t.files)}
            <details class="schema">
                <summary>"schema.cql"</summary>
                <pre><code>{t.schema_cql}</code></pre>
            </details>
        </section>
    }
    .into_any()
}

fn headroom_view(headroom: Vec<Headroom>, min_free_pct: u64) -> AnyView {
    if headroom.is_empty() {
        return view! { <p class="muted small">"No filesystem is written to."</p> }.into_any();
    }
    let rows = headroom
        .into_iter()
        .map(|h| {
            view! {
                <tr data-ok=h.ok.to_string()>
                    <td class="wrap"><code>{h.data_dir}</code></td>
                    <td class="num">{format!("{} of {}", bytes_u64(h.free_bytes_after), bytes_u64(h.total_bytes))}</td>
                    <td class="num">{format!("{} %", h.free_bytes_pct)}</td>
                    <td class="num">{format!("{} of {} inodes", h.free_inodes_after, h.total_inodes)}</td>
                    <td class="num">{format!("{} %", h.free_inodes_pct)}</td>
                    <td><OkBadge ok=h.ok yes="ok" no="too little" /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data headroom" data-testid="headroom">
                <caption>
                    {format!("Free after the restore, per filesystem; at least {min_free_pct} % of bytes and of inodes must stay free.")}
                </caption>
                <thead>
                    <tr>
                        <th scope="col">"Filesystem of"</th>
                        <th scope="col" class="num">"Free bytes after"</th>
                        <th scope="col" class="num">"Bytes free"</th>
                        <th scope="col" class="num">"Free inodes after"</th>
                        <th scope="col" class="num">"Inodes free"</th>
                        <th scope="col">"Headroom"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The whole plan. Headings start at `h3`: the page around it gives the `h2`.
#[component]
pub fn PlanView(plan: Plan) -> impl IntoView {
    let blocked = if plan.blocked.is_empty() {
        view! { <p class="notice clear" data-testid="plan-clear">"Nothing blocks this plan."</p> }
            .into_any()
    } else {
        let reasons = plan
            .blocked
            .iter()
            .map(|b| view! { <li>{b.clone()}</li> })
            .collect_view();
        view! {
            <div class="notice blocked" role="alert" data-testid="plan-blocked">
                <strong>"This restore cannot run:"</strong>
                <ul>{reasons}</ul>
            </div>
        }
        .into_any()
    };
    let files: usize = plan.tables.iter().map(|t| t.files.len()).sum();
    let total_bytes: u64 = plan.tables.iter().map(|t| t.bytes).sum();
    let to_copy: u64 = plan.tables.iter().map(|t| t.bytes_to_copy).sum();
    let downloads: u64 = plan.tables.iter().map(|t| t.download_bytes).sum();
    let all_linked = plan.tables.iter().all(|t| t.hard_link);
    let expected = match total_rows(&plan.tables) {
        Some(n) => format!("{n} rows"),
        None => "not recorded for every table".to_string(),
    };
    let safety = match (&plan.safety_tag, plan.target) {
        (Some(tag), _) => view! { <code data-testid="safety-tag">{tag.clone()}</code> }.into_any(),
        (None, Target::Side) => "none needed: the live tables are not touched".into_any(),
        (None, Target::InPlace | Target::FullNode) => "none".into_any(),
    };
    let truncate = match (plan.target, plan.truncate) {
        (Target::Side, _) => "no (side table)",
        (Target::InPlace, true) => "yes: the tables will hold exactly the snapshot's rows",
        (Target::InPlace, false) => "no: restored rows merge with the live ones",
        (Target::FullNode, _) => {
            "no: the live SSTables are moved aside, so the tables hold exactly the snapshot's rows"
        }
    };
    let steps = plan
        .steps
        .iter()
        .map(|s| {
            view! {
                <li>
                    <code>{s.clone()}</code>
                    " "
                    <span>{step_text(s, &plan)}</span>
                </li>
            }
        })
        .collect_view();
    let target = plan.target;
    let table_count = plan.tables.len();
    let facts = view! {
        <dl class="facts">
            <div>
                <dt>"Schema check"</dt>
                <dd><VerdictBadge verdict=plan.verdict testid="plan-verdict" /></dd>
            </div>
            <div>
                <dt>"Snapshot"</dt>
                <dd>{format!("{} on {}", plan.tag, plan.node)}</dd>
            </div>
            <div>
                <dt>"Target"</dt>
                <dd>{target_text(plan.target, None)}</dd>
            </div>
            <div>
                <dt>"TRUNCATE first"</dt>
                <dd>{truncate}</dd>
            </div>
            <div>
                <dt>"Files"</dt>
                <dd>{format!("{files} files, {}", bytes_u64(total_bytes))}</dd>
            </div>
            <div>
                <dt>"Link or copy"</dt>
                <dd data-testid="plan-transfer">{transfer_text(all_linked, to_copy, downloads)}</dd>
            </div>
            <div>
                <dt>"Safety snapshot"</dt>
                <dd>{safety}</dd>
            </div>
            <div>
                <dt>"Expected rows"</dt>
                <dd data-testid="plan-rows">{expected}</dd>
            </div>
        </dl>
    }
    .into_any();
    // Sentences for the approver (a whole-node restore: how the node stops and starts, what
    // is kept aside).
    let notes = (!plan.notes.is_empty()).then(|| {
        view! {
            <ul class="plan-notes" data-testid="plan-notes">
                {plan.notes.iter().map(|n| view! { <li>{n.clone()}</li> }).collect_view()}
            </ul>
        }
    });
    view! {
        <div class="plan" data-testid="plan" data-blocked=(!plan.blocked.is_empty()).to_string()>
            {blocked}
            {notes}
            {facts}
            <h3>{format!("Tables ({table_count})")}</h3>
            {plan.tables.into_iter().map(|t| table_view(t, target)).collect_view()}
            <h3>"Headroom"</h3>
            {headroom_view(plan.headroom, plan.min_free_pct)}
            <h3>"Steps"</h3>
            <ol class="plan-steps" data-testid="plan-steps">{steps}</ol>
        </div>
    }
    .into_any()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::{SchemaCheck, Verdict};

    /// A plan of one table, as the server makes it for an in-place restore.
    pub fn plan(verdict: Verdict, blocked: Vec<String>) -> Plan {
        let differences = match verdict {
            Verdict::Compatible => vec![],
            Verdict::CompatibleWithWarnings => vec![Difference {
                severity: Severity::Warning,
                message:
                    "Column note was added since the snapshot: it will be null in restored rows."
                        .into(),
                facts: "live: note text regular".into(),
            }],
            Verdict::Incompatible => vec![Difference {
                severity: Severity::Incompatible,
                message: "Column price changed type since the snapshot.".into(),
                facts: "snapshot: price int; live: price text".into(),
            }],
        };
        Plan {
            node: "node1".into(),
            tag: "nightly".into(),
            target: Target::InPlace,
            truncate: true,
            safety_tag: Some("pre-restore-20261124t200840z".into()),
            tables: vec![TablePlan {
                keyspace: "shop".into(),
                table: "products".into(),
                source_table_id: "0123456789abcdef0123456789abcdef".into(),
                data_dir: "/var/lib/cassandra/data".into(),
                source_dir: "/var/lib/cassandra/data/shop/products-0123/snapshots/nightly".into(),
                target_keyspace: "shop".into(),
                target_table: "products".into(),
                target_table_id: Some("0123456789abcdef0123456789abcdef".into()),
                aside_dir: None,
                staging_dir: "/var/lib/cassandra/data/.snapkeep-staging/x/shop/products".into(),
                files: vec![PlanFile {
                    name: "nb-1-big-Data.db".into(),
                    size: 2048,
                    inode: 42,
                    sha256: None,
                }],
                bytes: 2048,
                sstables: 1,
                hard_link: true,
                bytes_to_copy: 0,
                expected_rows: Some(500),
                expected_rows_method: Some("count".into()),
                schema_check: SchemaCheck {
                    verdict,
                    differences,
                },
                schema_cql: "CREATE TABLE shop.products (id int PRIMARY KEY);".into(),
                download_bytes: 0,
                backup_files: 0,
            }],
            headroom: vec![Headroom {
                data_dir: "/var/lib/cassandra/data".into(),
                total_bytes: 100 * 1024 * 1024,
                free_bytes_after: 50 * 1024 * 1024,
                total_inodes: 1000,
                free_inodes_after: 500,
                free_bytes_pct: 50,
                free_inodes_pct: 50,
                ok: true,
            }],
            min_free_pct: 10,
            steps: vec![
                "check".into(),
                "safety_snapshot".into(),
                "truncate".into(),
                "stage shop.products".into(),
                "import shop.products".into(),
                "cleanup shop.products".into(),
                "verify".into(),
            ],
            blocked,
            verdict,
            commitlog_aside: None,
            notes: Vec::new(),
            source_store: None,
            disaster_recovery: false,
        }
    }

    #[test]
    fn a_compatible_plan_says_hard_links_and_what_happens() {
        let owner = Owner::new();
        owner.set();
        let html = view! { <PlanView plan=plan(Verdict::Compatible, vec![]) /> }.to_html();
        assert!(html.contains(r#"data-verdict="compatible""#), "{html}");
        assert!(html.contains("Hard links on the same filesystem: 0 bytes copied"));
        assert!(html.contains("pre-restore-20261124t200840z"));
        assert!(html.contains("500 rows (counted)"));
        assert!(html.contains("50 %"));
        assert!(html.contains("nodetool import into shop.products from the staging directory"));
        assert!(!html.contains("plan-blocked"));
    }

    #[test]
    fn an_incompatible_plan_is_blocked_loudly_with_each_difference() {
        let owner = Owner::new();
        owner.set();
        let why =
            "The schema changed incompatibly since the snapshot: an in-place restore is blocked.";
        let html =
            view! { <PlanView plan=plan(Verdict::Incompatible, vec![why.into()]) /> }.to_html();
        assert!(html.contains(r#"role="alert""#), "{html}");
        assert!(html.contains(why));
        assert!(html.contains(r#"data-severity="incompatible" class="diff diff-incompatible""#));
        assert!(html.contains("Column price changed type since the snapshot."));
        assert!(html.contains("snapshot: price int; live: price text"));
    }

    #[test]
    fn warnings_are_told_apart_and_copies_say_how_much() {
        let owner = Owner::new();
        owner.set();
        let mut p = plan(Verdict::CompatibleWithWarnings, vec![]);
        p.tables[0].hard_link = false;
        p.tables[0].bytes_to_copy = 2048;
        let html = view! { <PlanView plan=p /> }.to_html();
        assert!(html.contains(r#"data-severity="warning""#), "{html}");
        assert!(html.contains("compatible with warnings"));
        assert!(html.contains("Copied across filesystems: 2.0 KiB must be copied"));
    }
}
