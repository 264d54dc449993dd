//! Schedules (`/schedules`): every schedule with its next runs, last run and retention, a
//! Pause/Resume button, and a form that shows the next runs and tags before it saves a new
//! snapshot schedule. The RPO panel (`/rpo`): per table how much a loss now would cost,
//! against the keyspace's target, worst first.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    CreateSchedule, PauseSchedule, PreviewSchedule, Role, RpoRow, ScheduleForm, ScheduleRow,
    format_utc, get_rpo, list_schedules, server_message,
};
use crate::auth::can;
use crate::components::LoadError;

fn schedule_row(s: ScheduleRow, pause: ServerAction<PauseSchedule>) -> impl IntoView {
    let (id, paused) = (s.id, s.paused);
    let next = if s.paused {
        "paused".to_string()
    } else {
        s.next_runs
            .iter()
            .map(|t| format_utc(*t))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let last = match (&s.last_run_state, s.last_run_at) {
        (Some(state), Some(at)) => format!(
            "{state} at {}{}",
            format_utc(at),
            s.last_run_message
                .as_deref()
                .filter(|m| !m.is_empty())
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        _ => "never ran".into(),
    };
    view! {
        <tr data-schedule=s.name.clone() data-paused=s.paused.to_string()>
            <th scope="row">{s.name.clone()}<br /><span class="muted small">{s.kind.clone()}</span></th>
            <td><code>{s.cron.clone()}</code><br /><span class="muted small">{s.timezone.clone()}</span></td>
            <td>{s.scope.clone()}</td>
            <td class="next-runs">{next}</td>
            <td>{last}</td>
            <td>{s.retention.clone()}</td>
            <td>
                {can(Role::Operator).then(|| view! {
                    <button
                        type="button"
                        on:click=move |_| {
                            pause.dispatch(PauseSchedule { id, paused: !paused });
                        }
                    >
                        {if paused { "Resume" } else { "Pause" }}
                    </button>
                })}
            </td>
        </tr>
    }
}

/// The form: name, cron, time zone, keyspaces, keep last N; Preview shows the next runs and
/// tags, Save creates it.
#[component]
fn NewSchedule(create: ServerAction<CreateSchedule>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let cron = RwSignal::new("0 2 * * *".to_string());
    let timezone = RwSignal::new("UTC".to_string());
    let keyspaces = RwSignal::new(String::new());
    let keep_last = RwSignal::new("7".to_string());
    let preview = ServerAction::<PreviewSchedule>::new();
    let form = move || ScheduleForm {
        name: name.get_untracked(),
        cron: cron.get_untracked(),
        timezone: timezone.get_untracked(),
        keyspaces: keyspaces.get_untracked(),
        keep_last: keep_last.get_untracked(),
    };
    let field = |id: &'static str,
                 label: &'static str,
                 value: RwSignal<String>,
                 hint: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="text" autocomplete="off" spellcheck="false" bind:value=value />
                <p class="hint">{hint}</p>
            </div>
        }
    };
    view! {
        <section class="card" aria-labelledby="new-schedule-h">
            <h2 id="new-schedule-h">"New snapshot schedule"</h2>
            <form
                class="snap-form"
                on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    create.dispatch(CreateSchedule { form: form() });
                }
            >
                {field("sched-name", "Name", name, "Letters, digits, _ . and -; part of each snapshot's tag.")}
                {field("sched-cron", "Cron", cron, "5 fields (minute hour day month weekday), e.g. 0 2 * * * for 02:00 every night.")}
                {field("sched-tz", "Time zone", timezone, "An IANA zone, e.g. Europe/Berlin; the cron is read on its wall clock.")}
                {field("sched-keyspaces", "Keyspaces", keyspaces, "Comma-separated; empty: every user table.")}
                {field("sched-keep", "Keep last", keep_last, "How many of its snapshots stay; empty: all.")}
                <div class="form-actions">
                    <button type="button" on:click=move |_| { preview.dispatch(PreviewSchedule { form: form() }); }>
                        "Preview next runs"
                    </button>
                    <button type="submit">"Save schedule"</button>
                </div>
            </form>
            {move || preview.value().get().map(|r| match r {
                Ok(p) => view! {
                    <div class="preview" aria-label="Next runs">
                        <h3>"Next runs"</h3>
                        <ol class="next-runs">
                            {p.next_runs_local.iter().zip(p.tags.iter()).map(|(at, tag)| view! {
                                <li>{at.clone()}" → "<code>{tag.clone()}</code></li>
                            }).collect_view()}
                        </ol>
                    </div>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{server_message(&e)}</p> }.into_any(),
            })}
            {move || create.value().get().map(|r| match r {
                Ok(s) => view! { <p role="status">{format!("Saved schedule {}.", s.name)}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{server_message(&e)}</p> }.into_any(),
            })}
        </section>
    }
}

#[component]
pub fn Schedules() -> impl IntoView {
    let create = ServerAction::<CreateSchedule>::new();
    let pause = ServerAction::<PauseSchedule>::new();
    let list = Resource::new(
        move || (create.version().get(), pause.version().get()),
        |_| list_schedules(),
    );
    view! {
        <Title text="Schedules" />
        <h1>"Schedules"</h1>
        <p class="muted">
            "Snapshots (and restore drills) the server takes by itself on a cron, each due time once, with the retention that clears what a schedule took."
        </p>
        {move || pause.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="error" role="alert">{server_message(&e)}</p>
        })}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || list.get().map(|r| match r {
                Ok(rows) if rows.is_empty() => view! { <p class="muted">"No schedules yet."</p> }.into_any(),
                Ok(rows) => view! {
                    <table class="data schedules">
                        <thead>
                            <tr>
                                <th scope="col">"Schedule"</th>
                                <th scope="col">"Cron"</th>
                                <th scope="col">"Scope"</th>
                                <th scope="col">"Next runs (UTC)"</th>
                                <th scope="col">"Last run"</th>
                                <th scope="col">"Retention"</th>
                                <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                            </tr>
                        </thead>
                        <tbody>{rows.into_iter().map(|s| schedule_row(s, pause)).collect_view()}</tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <LoadError what="Cannot load the schedules" error=e /> }.into_any(),
            })}
            {move || can(Role::Operator).then(|| view! { <NewSchedule create /> })}
        </Suspense>
    }
}

fn rpo_row(r: RpoRow) -> impl IntoView {
    let age = r
        .snapshot_age_hours
        .map(|h| format!("{h:.1} h"))
        .unwrap_or_else(|| "none".into());
    let when = |t: Option<i64>| t.map(format_utc).unwrap_or_else(|| "never".into());
    view! {
        <tr data-status=r.status.clone() data-table=format!("{}.{}", r.keyspace, r.table)>
            <td><span class=format!("badge rpo-{}", r.status)>{r.status.clone()}</span></td>
            <th scope="row">{format!("{}.{}", r.keyspace, r.table)}<br /><span class="muted small">{r.node.clone()}</span></th>
            <td class="num">{age}</td>
            <td class="num">{format!("{} h", r.target_hours)}</td>
            <td>{r.last_snapshot.clone().unwrap_or_default()}</td>
            <td>{when(r.last_upload_at)}</td>
            <td>{when(r.last_drill_at)}</td>
            <td>{r.reason.clone()}</td>
        </tr>
    }
}

#[component]
pub fn Rpo() -> impl IntoView {
    let rows = Resource::new(|| (), |_| get_rpo());
    view! {
        <Title text="RPO" />
        <h1>"Recovery points"</h1>
        <p class="muted">
            "Per table: how old its newest snapshot is (what a loss now would lose) against the keyspace's target ([rpo] in the configuration), and whether an off-node copy and a passed restore drill back it. Worst first."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || rows.get().map(|r| match r {
                Ok(rows) if rows.is_empty() => view! { <p class="muted">"No user tables scanned yet."</p> }.into_any(),
                Ok(rows) => view! {
                    <div class="table-wrap"><table class="data rpo">
                        <thead>
                            <tr>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Table"</th>
                                <th scope="col">"Newest snapshot age"</th>
                                <th scope="col">"Target"</th>
                                <th scope="col">"Newest snapshot"</th>
                                <th scope="col">"Off-node copy"</th>
                                <th scope="col">"Last passed drill"</th>
                                <th scope="col">"Why"</th>
                            </tr>
                        </thead>
                        <tbody>{rows.into_iter().map(rpo_row).collect_view()}</tbody>
                    </table></div>
                }.into_any(),
                Err(e) => view! { <LoadError what="Cannot load the RPO panel" error=e /> }.into_any(),
            })}
        </Suspense>
    }
}
