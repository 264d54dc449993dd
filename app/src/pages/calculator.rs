//! The seed's snapshot storage calculator: live data and churn in, live + hold = total out.
//!
//! Works without JavaScript (a GET form reads `live_gb` and `churn_pct` from the URL) and,
//! once hydrated, updates as the user drags or types, computed in the browser by
//! [`crate::growth`].

use crate::growth::{
    Field, check_input, check_value, format_gb, format_number, live_from_slider, seed_estimate,
    slider_from_live,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Reads a field's starting value from the URL query, checked and clamped like typed input.
fn initial(field: Field, raw: Option<String>) -> (f64, Option<String>) {
    match raw {
        None => (field.default_value(), None),
        Some(raw) => {
            let checked = check_input(field, &raw, field.default_value());
            (checked.value, checked.problem.map(|p| p.to_string()))
        }
    }
}

#[component]
pub fn Calculator() -> impl IntoView {
    let query = use_query_map();
    let (live0, live_note0) = initial(
        Field::LiveGb,
        query.read_untracked().get(Field::LiveGb.key()),
    );
    let (churn0, churn_note0) = initial(
        Field::ChurnPct,
        query.read_untracked().get(Field::ChurnPct.key()),
    );

    let live = RwSignal::new(live0);
    let churn = RwSignal::new(churn0);
    // What the number boxes show: the user's own text while typing, the checked value after.
    let live_text = RwSignal::new(format_number(live0));
    let churn_text = RwSignal::new(format_number(churn0));
    let live_note = RwSignal::new(live_note0);
    let churn_note = RwSignal::new(churn_note0);

    let estimate = Memo::new(move |_| seed_estimate(live.get(), churn.get()));

    let on_live_slider = move |ev| {
        if let Ok(pos) = event_target_value(&ev).parse::<f64>() {
            let v = live_from_slider(pos);
            live.set(v);
            live_text.set(format_number(v));
            live_note.set(None);
        }
    };
    let on_churn_slider = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            let c = check_value(Field::ChurnPct, v);
            churn.set(c.value);
            churn_text.set(format_number(c.value));
            churn_note.set(None);
        }
    };
    // Typing: compute with the checked value at once and flag problems in place, but leave the
    // text alone so the user can keep typing; on commit (change), show the value used.
    let typed = move |field: Field,
                      value: RwSignal<f64>,
                      text: RwSignal<String>,
                      note: RwSignal<Option<String>>,
                      raw: String| {
        let checked = check_input(field, &raw, value.get_untracked());
        value.set(checked.value);
        note.set(checked.problem.map(|p| p.to_string()));
        text.set(raw);
    };
    let committed = move |value: RwSignal<f64>, text: RwSignal<String>| {
        text.set(format_number(value.get_untracked()));
    };

    view! {
        <Title text="Storage calculator" />
        <h1>"Snapshot storage calculator"</h1>
        <p class="lead">
            "A snapshot is a set of hard links: it costs nothing until compaction deletes the live SSTables it links. "
            "From then on the snapshot alone keeps those bytes on disk (the "
            <em>"snapshot hold"</em>
            "). With live data L and a share c of it rewritten since the snapshot, hold = L × c and total disk = L + hold."
        </p>
        <form class="card calc" method="get" action="/calculator" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="live-range">"Current live data"</label>
                <div class="controls">
                    <input
                        id="live-range"
                        type="range"
                        min="1"
                        max="3"
                        step="0.001"
                        aria-describedby="live-scale"
                        aria-valuetext=move || format_gb(live.get())
                        prop:value=move || format!("{:.3}", slider_from_live(live.get()))
                        on:input=on_live_slider
                    />
                    <input
                        id="live-gb"
                        name="live_gb"
                        class="number"
                        type="text"
                        inputmode="decimal"
                        aria-label="Current live data in GB"
                        aria-invalid=move || live_note.get().is_some().to_string()
                        aria-describedby="live-note"
                        prop:value=move || live_text.get()
                        on:input=move |ev| typed(Field::LiveGb, live, live_text, live_note, event_target_value(&ev))
                        on:change=move |_| committed(live, live_text)
                    />
                    <span class="unit">"GB"</span>
                </div>
                <p id="live-scale" class="scale">
                    <span>"10 GB"</span>
                    <span>"100 GB"</span>
                    <span>"1000 GB"</span>
                </p>
                <p id="live-note" class="note" role="status" aria-live="polite">
                    {move || live_note.get()}
                </p>
            </div>
            <div class="field">
                <label for="churn-range">"Churn since the snapshot"</label>
                <div class="controls">
                    <input
                        id="churn-range"
                        type="range"
                        min="0"
                        max="100"
                        step="1"
                        aria-describedby="churn-scale"
                        aria-valuetext=move || format!("{} %", format_number(churn.get()))
                        prop:value=move || format_number(churn.get())
                        on:input=on_churn_slider
                    />
                    <input
                        id="churn-pct"
                        name="churn_pct"
                        class="number"
                        type="text"
                        inputmode="decimal"
                        aria-label="Churn in percent"
                        aria-invalid=move || churn_note.get().is_some().to_string()
                        aria-describedby="churn-note"
                        prop:value=move || churn_text.get()
                        on:input=move |ev| typed(Field::ChurnPct, churn, churn_text, churn_note, event_target_value(&ev))
                        on:change=move |_| committed(churn, churn_text)
                    />
                    <span class="unit">"%"</span>
                </div>
                <p id="churn-scale" class="scale">
                    <span>"0 % (static)"</span>
                    <span>"50 %"</span>
                    <span>"100 % (full churn)"</span>
                </p>
                <p id="churn-note" class="note" role="status" aria-live="polite">
                    {move || churn_note.get()}
                </p>
            </div>
            <noscript>
                <button type="submit">"Calculate"</button>
            </noscript>
        </form>
        <section class="card results" aria-label="Result" aria-live="polite">
            <dl class="figures">
                <div>
                    <dt>"Current live data"</dt>
                    <dd data-testid="live">{move || format_gb(estimate.get().live_gb)}</dd>
                </div>
                <div>
                    <dt>"Snapshot hold (old inodes)"</dt>
                    <dd data-testid="hold">{move || format_gb(estimate.get().hold_gb)}</dd>
                </div>
                <div class="total">
                    <dt>"Total disk usage"</dt>
                    <dd data-testid="total">{move || format_gb(estimate.get().total_gb)}</dd>
                </div>
            </dl>
            <div
                class="bar"
                role="img"
                aria-label=move || {
                    let e = estimate.get();
                    format!("live {} and hold {}", format_gb(e.live_gb), format_gb(e.hold_gb))
                }
            >
                <span
                    class="bar-live"
                    style:width=move || {
                        let e = estimate.get();
                        format!("{:.2}%", 100.0 * e.live_gb / e.total_gb)
                    }
                ></span>
                <span
                    class="bar-hold"
                    style:width=move || {
                        let e = estimate.get();
                        format!("{:.2}%", 100.0 * e.hold_gb / e.total_gb)
                    }
                ></span>
            </div>
        </section>
    }
}
