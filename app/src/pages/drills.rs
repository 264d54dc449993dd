//! Restore drills (`/drills`): the last good restore proof of each table (its newest drill
//! that passed for it), then the newest drills with what each found.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{DrillDto, ProofDto, format_duration_ms, format_utc, get_drills};
use crate::components::{LoadError, StateBadge};

/// Rows in words: `1000 of 1000 rows`, or what is missing.
fn rows_text(expected: Option<i64>, found: Option<i64>) -> String {
    match (found, expected) {
        (Some(f), Some(e)) => format!("{f} of {e} rows"),
        (Some(f), None) => format!("{f} rows (no count at snapshot time)"),
        (None, _) => "rows not counted".into(),
    }
}

fn took(ms: Option<i64>) -> String {
    ms.map(format_duration_ms).unwrap_or_else(|| "–".into())
}

fn proof_row(p: ProofDto) -> impl IntoView {
    view! {
        <tr data-table=p.table.clone()>
            <th scope="row">{p.table.clone()}<br /><span class="muted small">{p.node.clone()}</span></th>
            <td>{format_utc(p.proved_at)}</td>
            <td>{p.snapshot.clone().unwrap_or_default()}</td>
            <td class="num">{rows_text(p.rows_expected, p.rows_found)}</td>
            <td class="num">{took(p.restore_ms)}</td>
            <td class="num">{format!("#{}", p.drill_id)}</td>
        </tr>
    }
}

fn drill_row(d: DrillDto) -> impl IntoView {
    let tables: Vec<String> = if d.results.is_empty() {
        d.tables.clone()
    } else {
        d.results
            .iter()
            .map(|t| {
                format!(
                    "{} {}: {}",
                    if t.passed { "✓" } else { "✗" },
                    t.table,
                    rows_text(t.rows_expected, t.rows_found)
                )
            })
            .collect()
    };
    let by = d.requested_by.clone().unwrap_or_default();
    view! {
        <tr data-drill=d.id data-state=d.state.clone()>
            <td class="num">{format!("#{}", d.id)}</td>
            <td><StateBadge state=d.state.clone() /></td>
            <td>{format_utc(d.started_at)}<br /><span class="muted small">{by}</span></td>
            <td>{d.snapshot.clone().unwrap_or_default()}<br /><span class="muted small">{d.node.clone()}</span></td>
            <td>{tables.into_iter().map(|t| view! { <div>{t}</div> }).collect_view()}</td>
            <td class="num">{took(d.restore_ms)}</td>
            <td>{d.message.clone()}</td>
        </tr>
    }
}

#[component]
pub fn Drills() -> impl IntoView {
    let page = Resource::new(|| (), |_| get_drills());
    view! {
        <Title text="Drills" />
        <h1>"Restore drills"</h1>
        <p class="muted">
            "A drill restores a snapshot's tables into the side keyspace snapkeep_drill, checks the row count against the count at snapshot time, reads a sample, times the restore, then drops the side tables. It never touches live tables, so it needs no approval. Run drills on a schedule (Schedules, kind drill), or start one with POST /api/v1/drills or snapkeep drill run."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(p) => view! {
                    <section aria-labelledby="proof-h">
                        <h2 id="proof-h">"Last good restore proof of each table"</h2>
                        {if p.proof.is_empty() {
                            view! { <p class="muted" data-testid="no-proof">"No table has a passed drill yet: no backup here is proven to restore."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap"><table class="data proof">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Table"</th>
                                            <th scope="col">"Proven at"</th>
                                            <th scope="col">"Snapshot"</th>
                                            <th scope="col">"Rows restored"</th>
                                            <th scope="col">"Restore took"</th>
                                            <th scope="col">"Drill"</th>
                                        </tr>
                                    </thead>
                                    <tbody>{p.proof.into_iter().map(proof_row).collect_view()}</tbody>
                                </table></div>
                            }.into_any()
                        }}
                    </section>
                    <section aria-labelledby="history-h">
                        <h2 id="history-h">"Newest drills"</h2>
                        {if p.history.is_empty() {
                            view! { <p class="muted">"No drill has run yet."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap"><table class="data drills">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Drill"</th>
                                            <th scope="col">"State"</th>
                                            <th scope="col">"Started"</th>
                                            <th scope="col">"Snapshot"</th>
                                            <th scope="col">"Tables"</th>
                                            <th scope="col">"Restore took"</th>
                                            <th scope="col">"Outcome"</th>
                                        </tr>
                                    </thead>
                                    <tbody>{p.history.into_iter().map(drill_row).collect_view()}</tbody>
                                </table></div>
                            }.into_any()
                        }}
                    </section>
                }.into_any(),
                Err(e) => view! { <LoadError what="Cannot load the drills" error=e /> }.into_any(),
            })}
        </Suspense>
    }
}
