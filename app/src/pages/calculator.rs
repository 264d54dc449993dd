//! The snapshot storage calculator: live data, churn, retention, snapshots per day and daily
//! growth in; live, snapshot hold and total (steady state and over the retention window) out.
//!
//! Works without JavaScript (a GET form reads every input from the URL) and, once hydrated,
//! updates as the user drags or types, computed in the browser by [`crate::growth`]; the URL
//! follows the inputs so a lead can share it. "Use my cluster" fills in live data, churn and
//! growth measured from the server's storage samples.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::growth_chart::GrowthChart;
use crate::api::{
    Measured, format_bytes, format_duration_ms, get_measure_scopes, get_measured, server_message,
};
use crate::growth::{
    FORMULA, Field, Inputs, check_input, check_value, format_gb, format_number, live_from_slider,
    project, slider_from_live,
};

/// One input: its value, the text its box shows (the user's own while typing) and the note
/// flagging what was wrong with it.
#[derive(Clone, Copy)]
struct Input {
    field: Field,
    value: RwSignal<f64>,
    text: RwSignal<String>,
    note: RwSignal<Option<String>>,
}

impl Input {
    /// Starts from the URL's value, checked and clamped like typed input.
    fn new(field: Field, raw: Option<String>) -> Self {
        let (value, note) = match raw {
            None => (field.default_value(), None),
            Some(raw) => {
                let checked = check_input(field, &raw, field.default_value());
                (checked.value, checked.problem.map(|p| p.to_string()))
            }
        };
        Input {
            field,
            value: RwSignal::new(value),
            text: RwSignal::new(format_number(value)),
            note: RwSignal::new(note),
        }
    }

    /// Typing: compute with the checked value at once and flag problems in place, but leave
    /// the text alone so the user can keep typing.
    fn typed(self, raw: String) {
        let checked = check_input(self.field, &raw, self.value.get_untracked());
        self.value.set(checked.value);
        self.note.set(checked.problem.map(|p| p.to_string()));
        self.text.set(raw);
    }

    /// On commit (change): show the value used.
    fn committed(self) {
        self.text.set(format_number(self.value.get_untracked()));
    }

    /// Sets a value from a slider or a measurement, with an optional note.
    fn set(self, value: f64, note: Option<String>) {
        let checked = check_value(self.field, value);
        self.value.set(checked.value);
        self.text.set(format_number(checked.value));
        self.note.set(note);
    }
}

/// A number box with its unit and note, for the inputs without a slider.
fn number_field(input: Input, id: &'static str, note_id: &'static str) -> impl IntoView {
    let f = input.field;
    view! {
        <div class="field small">
            <label for=id>{f.label()}</label>
            <div class="controls">
                <input
                    id=id
                    name=f.key()
                    class="number"
                    type="text"
                    inputmode="decimal"
                    aria-invalid=move || input.note.get().is_some().to_string()
                    aria-describedby=note_id
                    prop:value=move || input.text.get()
                    on:input=move |ev| input.typed(event_target_value(&ev))
                    on:change=move |_| input.committed()
                />
                <span class="unit">{f.unit()}</span>
            </div>
            <p class="scale">{format!("{} allowed", f.range_text())}</p>
            <p id=note_id class="note" role="status" aria-live="polite">
                {move || input.note.get()}
            </p>
        </div>
    }
}

/// What "use my cluster" says about a measured figure that the calculator had to clamp.
fn measured_note(field: Field, what: &str, shown: String, value: f64) -> Option<String> {
    let checked = check_value(field, value);
    checked.problem.as_ref()?;
    let side = if value < field.min() {
        "below the calculator's minimum"
    } else {
        "above the calculator's maximum"
    };
    Some(format!(
        "Measured {what}: {shown}, {side}; using {} {}.",
        format_number(checked.value),
        field.unit()
    ))
}

#[component]
pub fn Calculator() -> impl IntoView {
    let query = use_query_map();
    let from_url = |f: Field| Input::new(f, query.read_untracked().get(f.key()));
    let live = from_url(Field::LiveGb);
    let churn = from_url(Field::ChurnPct);
    let growth = from_url(Field::GrowthPct);
    let retention = from_url(Field::RetentionDays);
    let per_day = from_url(Field::SnapshotsPerDay);

    let inputs = Memo::new(move |_| Inputs {
        live_gb: live.value.get(),
        churn_pct: churn.value.get(),
        growth_pct: growth.value.get(),
        retention_days: retention.value.get(),
        snapshots_per_day: per_day.value.get(),
    });
    let projection = Memo::new(move |_| project(&inputs.get()));
    let share_href = move || format!("/calculator?{}", inputs.get().query());

    // The address bar follows the inputs (replaced, not pushed, a moment after the last
    // change), so the URL is always the one to share.
    #[cfg(feature = "hydrate")]
    {
        let pending: StoredValue<Option<leptos::prelude::TimeoutHandle>> = StoredValue::new(None);
        Effect::new(move |previous: Option<String>| {
            let href = share_href();
            if let Some(previous) = previous
                && previous != href
            {
                if let Some(handle) = pending.get_value() {
                    handle.clear();
                }
                let target = href.clone();
                let handle = set_timeout_with_handle(
                    move || {
                        if let Ok(history) = window().history() {
                            let _ = history.replace_state_with_url(
                                &leptos::wasm_bindgen::JsValue::NULL,
                                "",
                                Some(&target),
                            );
                        }
                    },
                    std::time::Duration::from_millis(250),
                )
                .ok();
                pending.set_value(handle);
            }
            href
        });
    }

    let on_live_slider = move |ev| {
        if let Ok(pos) = event_target_value(&ev).parse::<f64>() {
            live.set(live_from_slider(pos), None);
        }
    };
    let on_churn_slider = move |ev| {
        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
            churn.set(v, None);
        }
    };

    // "Use my cluster": measured live data, churn and growth of a node, keyspace or table.
    let scopes = Resource::new(|| (), |_| get_measure_scopes());
    let scope = RwSignal::new(String::new());
    let measuring = RwSignal::new(false);
    let measure_msg = RwSignal::new(None::<(bool, String)>);
    let apply = move |m: Measured| {
        if m.samples == 0 {
            measure_msg.set(Some((
                false,
                format!(
                    "Nothing sampled for {} in the last 7 days yet. Every scan records a sample (the server scans every hour by default); see Reports.",
                    m.scope
                ),
            )));
            return;
        }
        let live_gb = m.live_bytes as f64 / 1e9;
        live.set(
            live_gb,
            measured_note(
                Field::LiveGb,
                "live data",
                format!("{} ({} GB)", format_bytes(m.live_bytes), live_gb),
                live_gb,
            ),
        );
        let mut parts = vec![format!("live {}", format_bytes(m.live_bytes))];
        match m.churn_pct_per_day {
            Some(c) => {
                churn.set(
                    c,
                    measured_note(Field::ChurnPct, "churn", format!("{c:.2} % per day"), c),
                );
                parts.push(format!("churn {c:.2} % per day"));
            }
            None => {
                churn.note.set(Some(
                    "Churn is not measured yet: it needs two samples of the same tables.".into(),
                ));
            }
        }
        match m.growth_pct_per_day {
            Some(g) => {
                growth.set(
                    g,
                    measured_note(Field::GrowthPct, "growth", format!("{g:.2} % per day"), g),
                );
                parts.push(format!("growth {g:.2} % per day"));
            }
            None => {
                growth.note.set(Some(
                    "Growth is not measured yet: it needs two samples.".into(),
                ));
            }
        }
        let span = match (m.first_at, m.last_at) {
            (Some(a), Some(b)) => format_duration_ms(b - a),
            _ => "0 s".into(),
        };
        measure_msg.set(Some((
            true,
            format!(
                "Filled in from {}: {} sample(s) over {span}: {}.",
                m.scope,
                m.samples,
                parts.join(", ")
            ),
        )));
    };
    let use_cluster = move |_| {
        let s = scope.get_untracked();
        measuring.set(true);
        measure_msg.set(None);
        leptos::task::spawn_local(async move {
            match get_measured(s, Some(7)).await {
                Ok(m) => apply(m),
                Err(e) => measure_msg.set(Some((
                    false,
                    format!("Cannot measure: {}", server_message(&e)),
                ))),
            }
            measuring.set(false);
        });
    };

    // Each part is type-erased (`into_any`): one nested view type of the whole page is too
    // deep for the compiler's query limit.
    let intro = view! {
        <Title text="Storage calculator" />
        <h1>"Snapshot storage calculator"</h1>
        <p class="lead">
            "A snapshot is a set of hard links: it costs nothing until compaction deletes the live SSTables it links. "
            "From then on the snapshot alone keeps those bytes on disk (the "
            <em>"snapshot hold"</em>
            "). With live data L and a share c of it rewritten since the snapshot, hold = L × c and total disk = L + hold."
        </p>
    }
    .into_any();
    let form = view! {
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
                        aria-valuetext=move || format_gb(live.value.get())
                        prop:value=move || format!("{:.3}", slider_from_live(live.value.get()))
                        on:input=on_live_slider
                    />
                    <input
                        id="live-gb"
                        name="live_gb"
                        class="number"
                        type="text"
                        inputmode="decimal"
                        aria-label="Current live data in GB"
                        aria-invalid=move || live.note.get().is_some().to_string()
                        aria-describedby="live-note"
                        prop:value=move || live.text.get()
                        on:input=move |ev| live.typed(event_target_value(&ev))
                        on:change=move |_| live.committed()
                    />
                    <span class="unit">"GB"</span>
                </div>
                <p id="live-scale" class="scale">
                    <span>"10 GB"</span>
                    <span>"100 GB"</span>
                    <span>"1000 GB"</span>
                </p>
                <p id="live-note" class="note" role="status" aria-live="polite">
                    {move || live.note.get()}
                </p>
            </div>
            <div class="field">
                <label for="churn-range">"Churn: share of live data compaction rewrites per day"</label>
                <div class="controls">
                    <input
                        id="churn-range"
                        type="range"
                        min="0"
                        max="100"
                        step="1"
                        aria-describedby="churn-scale"
                        aria-valuetext=move || format!("{} %", format_number(churn.value.get()))
                        prop:value=move || format_number(churn.value.get())
                        on:input=on_churn_slider
                    />
                    <input
                        id="churn-pct"
                        name="churn_pct"
                        class="number"
                        type="text"
                        inputmode="decimal"
                        aria-label="Churn in percent per day"
                        aria-invalid=move || churn.note.get().is_some().to_string()
                        aria-describedby="churn-note"
                        prop:value=move || churn.text.get()
                        on:input=move |ev| churn.typed(event_target_value(&ev))
                        on:change=move |_| churn.committed()
                    />
                    <span class="unit">"%"</span>
                </div>
                <p id="churn-scale" class="scale">
                    <span>"0 % (static)"</span>
                    <span>"50 %"</span>
                    <span>"100 % (full churn)"</span>
                </p>
                <p id="churn-note" class="note" role="status" aria-live="polite">
                    {move || churn.note.get()}
                </p>
            </div>
            <div class="calc-more">
                {number_field(retention, "retention-days", "retention-note")}
                {number_field(per_day, "snapshots-per-day", "per-day-note")}
                {number_field(growth, "growth-pct", "growth-note")}
            </div>
            <noscript>
                <button type="submit">"Calculate"</button>
            </noscript>
        </form>
    }
    .into_any();
    let measure = view! {
        <section class="card measure" aria-labelledby="measure-title">
            <h2 id="measure-title">"Use my cluster"</h2>
            <p class="muted small">
                "Fills in live data, churn and growth measured by Snapkeep's storage samples over the last 7 days."
            </p>
            <div class="controls">
                <label for="measure-scope" class="visually-hidden">"What to measure"</label>
                <Transition fallback=|| view! { <select id="measure-scope" disabled=true><option>"Loading…"</option></select> }>
                    {move || {
                        scopes
                            .get()
                            .map(|r| {
                                let list = r.unwrap_or_default();
                                let empty = list.is_empty();
                                view! {
                                    <select
                                        id="measure-scope"
                                        disabled=empty
                                        on:change=move |ev| scope.set(event_target_value(&ev))
                                    >
                                        {if empty {
                                            view! { <option value="">"Nothing sampled yet"</option> }.into_any()
                                        } else {
                                            list.into_iter()
                                                .map(|s| {
                                                    let selected = scope.get_untracked() == s.value;
                                                    view! { <option value=s.value selected=selected>{s.label}</option> }
                                                })
                                                .collect_view()
                                                .into_any()
                                        }}
                                    </select>
                                }
                            })
                    }}
                </Transition>
                <button
                    type="button"
                    id="use-my-cluster"
                    on:click=use_cluster
                    disabled=move || measuring.get()
                >
                    {move || if measuring.get() { "Measuring…" } else { "Use my cluster" }}
                </button>
            </div>
            <noscript>
                <p class="muted small">"This button needs JavaScript; the measured figures are on the Reports page."</p>
            </noscript>
            <p
                id="measure-note"
                class=move || match measure_msg.get() {
                    Some((false, _)) => "note error",
                    _ => "note",
                }
                role="status"
                aria-live="polite"
            >
                {move || measure_msg.get().map(|(_, m)| m)}
            </p>
        </section>
    }
    .into_any();
    let results = view! {
        <section class="card results" aria-label="Result" aria-live="polite">
            <p class="muted small">
                {move || {
                    let p = projection.get();
                    format!(
                        "Steady state on day {}, when the first snapshot expires: {} snapshot(s) kept at once.",
                        format_number(p.steady.day),
                        format_number(p.snapshots_kept)
                    )
                }}
            </p>
            <dl class="figures">
                <div>
                    <dt>"Live data"</dt>
                    <dd data-testid="live">{move || format_gb(projection.get().steady.live_gb)}</dd>
                </div>
                <div>
                    <dt>"Snapshot hold (old inodes)"</dt>
                    <dd data-testid="hold">{move || format_gb(projection.get().steady.hold_gb)}</dd>
                </div>
                <div class="total">
                    <dt>"Total disk usage"</dt>
                    <dd data-testid="total">{move || format_gb(projection.get().steady.total_gb)}</dd>
                </div>
            </dl>
            <div
                class="bar"
                role="img"
                aria-label=move || {
                    let e = projection.get().steady;
                    format!("live {} and hold {}", format_gb(e.live_gb), format_gb(e.hold_gb))
                }
            >
                <span
                    class="bar-live"
                    style:width=move || {
                        let e = projection.get().steady;
                        format!("{:.2}%", 100.0 * e.live_gb / e.total_gb)
                    }
                ></span>
                <span
                    class="bar-hold"
                    style:width=move || {
                        let e = projection.get().steady;
                        format!("{:.2}%", 100.0 * e.hold_gb / e.total_gb)
                    }
                ></span>
            </div>
            <GrowthChart projection />
            <p class="share">
                <a href=share_href data-testid="share-link">"Link to these figures"</a>
                " (the address bar follows the inputs too)"
            </p>
        </section>
        <section class="card formula" aria-labelledby="formula-title">
            <h2 id="formula-title">"How it is computed"</h2>
            <p>{FORMULA}</p>
        </section>
    }
    .into_any();
    view! { {intro} {form} {measure} {results} }
}
