//! The numbers behind a chart, folded under it: a compact table, one row per point, that can
//! be read (and searched) where the chart is only a picture.

use leptos::prelude::*;

/// A folded table with the summary `summary`; `time_header` heads the first column (the
/// time axis), `columns` the numeric ones; the children are the rows.
#[component]
pub fn ChartData(
    summary: String,
    testid: &'static str,
    time_header: &'static str,
    columns: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <details class="chart-data">
            <summary>{summary}</summary>
            <div class="table-wrap tall">
                <table class="data compact" data-testid=testid>
                    <thead>
                        <tr>
                            <th scope="col">{time_header}</th>
                            {columns
                                .iter()
                                .map(|c| view! { <th scope="col" class="num">{*c}</th> })
                                .collect_view()}
                        </tr>
                    </thead>
                    <tbody>{children()}</tbody>
                </table>
            </div>
        </details>
    }
}
