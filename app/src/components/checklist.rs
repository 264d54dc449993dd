//! Tables to tick, each a checkbox with its `keyspace.table` as label; a hint above says how
//! many are ticked (and what none ticked means).

use leptos::prelude::*;

/// The checkboxes of `tables`; `ticked` holds the ticked ones, sorted. Element ids start with
/// `prefix` (`take` gives `take-table-0` and `take-tables-hint`). `none_ticked` is the hint
/// while nothing is ticked; `empty`, when given, is said in the list when there is no table.
#[component]
pub fn TableChecklist(
    prefix: &'static str,
    tables: Vec<String>,
    ticked: RwSignal<Vec<String>>,
    none_ticked: &'static str,
    #[prop(optional)] empty: Option<&'static str>,
) -> impl IntoView {
    let hint_id = format!("{prefix}-tables-hint");
    let described_by = hint_id.clone();
    let boxes = match empty {
        Some(text) if tables.is_empty() => {
            view! { <p class="muted small">{text}</p> }.into_any()
        }
        _ => tables
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let id = format!("{prefix}-table-{i}");
                let name = t.clone();
                let checked = {
                    let t = t.clone();
                    move || ticked.with(|sel| sel.contains(&t))
                };
                let toggle = move |ev| {
                    let on = event_target_checked(&ev);
                    ticked.update(|sel| {
                        sel.retain(|s| *s != name);
                        if on {
                            sel.push(name.clone());
                            sel.sort();
                        }
                    });
                };
                view! {
                    <li>
                        <input type="checkbox" id=id.clone() value=t.clone() prop:checked=checked on:change=toggle />
                        <label for=id>{t}</label>
                    </li>
                }
            })
            .collect_view()
            .into_any(),
    };
    view! {
        <fieldset class="field table-picker" aria-describedby=described_by>
            <legend>"Tables"</legend>
            <p id=hint_id class="hint">
                {move || match ticked.with(Vec::len) {
                    0 => none_ticked.to_string(),
                    1 => "1 table ticked.".to_string(),
                    n => format!("{n} tables ticked."),
                }}
            </p>
            <ul class="table-picker-list">{boxes}</ul>
        </fieldset>
    }
}
