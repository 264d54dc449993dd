//! One restore request (`/restores/:id`): where it stands, who asked and why, who decided and
//! what they said, the plan, the journal of its execution and the verification. Approve and
//! Reject (approvers who did not request it), Execute (once approved) and Resume (after an
//! interruption or a failure); while it runs the page follows it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::plan::PlanView;
use super::words::{step_text, target_text};
use crate::api::{
    CancelRestore, CurrentUser, DecideRestore, ExecuteRestore, RemoveRestoreAside, RestoreDto,
    ResumeRestore, Role, StepDto, TableVerification, Verification, get_restore, server_message,
};
use crate::components::{
    ErrorAlert, LoadError, OkBadge, StateBadge, Time, respond_not_found, rows_text, snapshot_href,
};

/// How often a running restore is asked where it stands.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(700);
/// Failed requests in a row after which the page stops asking.
const POLL_GIVE_UP: u32 = 5;

/// Whether the request's job is under way (the page then follows it).
fn is_running(state: &str) -> bool {
    state == "running"
}

/// What the signed-in user may do with the request as it stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Allowed {
    decide: bool,
    execute: bool,
    resume: bool,
    cancel: bool,
    remove_aside: bool,
}

fn allowed(d: &RestoreDto, user: Option<&CurrentUser>) -> Allowed {
    let Some(u) = user else {
        return Allowed::default();
    };
    Allowed {
        decide: d.state == "awaiting_approval" && u.can(Role::Approver) && u.name != d.requested_by,
        execute: d.state == "approved" && u.can(Role::Operator),
        resume: matches!(d.state.as_str(), "interrupted" | "failed") && u.can(Role::Operator),
        cancel: matches!(
            d.state.as_str(),
            "awaiting_approval" | "approved" | "interrupted" | "failed"
        ) && (u.name == d.requested_by || u.can(Role::Admin)),
        remove_aside: d.state != "running"
            && u.can(Role::Admin)
            && d.steps.iter().any(|s| {
                let moved = s.name.starts_with("move_aside ") || s.name == "clear_commitlog";
                moved && s.state == "done"
            }),
    }
}

/// The page's actions and their shared state; lives as long as the page, so a re-render of
/// the request (every poll) keeps the comment being typed.
#[derive(Clone, Copy)]
struct Controls {
    decide: ServerAction<DecideRestore>,
    execute: ServerAction<ExecuteRestore>,
    resume: ServerAction<ResumeRestore>,
    cancel: ServerAction<CancelRestore>,
    remove_aside: ServerAction<RemoveRestoreAside>,
    aside_removed: RwSignal<Option<String>>,
    comment: RwSignal<String>,
    error: RwSignal<Option<String>>,
    poll_error: RwSignal<Option<String>>,
    hydrated: RwSignal<bool>,
}

impl Controls {
    fn new() -> Self {
        Controls {
            decide: ServerAction::new(),
            execute: ServerAction::new(),
            resume: ServerAction::new(),
            cancel: ServerAction::new(),
            remove_aside: ServerAction::new(),
            aside_removed: RwSignal::new(None),
            comment: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            poll_error: RwSignal::new(None),
            hydrated: RwSignal::new(false),
        }
    }

    fn busy(&self) -> bool {
        !self.hydrated.get()
            || self.decide.pending().get()
            || self.execute.pending().get()
            || self.resume.pending().get()
            || self.cancel.pending().get()
            || self.remove_aside.pending().get()
    }
}

/// The Approve / Reject card.
fn decide_view(ctl: Controls, id: i64) -> impl IntoView {
    let send = move |approve: bool| {
        let comment = ctl.comment.get_untracked().trim().to_string();
        if !approve && comment.is_empty() {
            ctl.error.set(Some(
                "Say why you reject this restore (comment).".to_string(),
            ));
            return;
        }
        ctl.error.set(None);
        ctl.decide.dispatch(DecideRestore {
            id,
            approve,
            comment,
        });
    };
    view! {
        <section class="card decide" aria-labelledby="decide-h" data-testid="decide">
            <h2 id="decide-h">"Approve or reject"</h2>
            <p class="hint">
                "Read the plan below first: an approval binds to exactly this plan, and expires."
            </p>
            <div class="field">
                <label for="decision-comment">"Comment"</label>
                <textarea
                    id="decision-comment"
                    data-testid="decision-comment"
                    rows="3"
                    aria-describedby="decision-comment-hint"
                    prop:value=move || ctl.comment.get()
                    on:input=move |ev| ctl.comment.set(event_target_value(&ev))
                ></textarea>
                <p id="decision-comment-hint" class="hint">
                    "Kept with the request and in the audit log; needed to reject."
                </p>
            </div>
            <div class="form-actions">
                <button type="button" data-testid="approve" disabled=move || ctl.busy() on:click=move |_| send(true)>
                    "Approve"
                </button>
                <button type="button" class="danger" data-testid="reject" disabled=move || ctl.busy() on:click=move |_| send(false)>
                    "Reject"
                </button>
            </div>
        </section>
    }
}

/// Execute, Resume, or what the request waits for.
fn actions_view(
    d: &RestoreDto,
    user: Option<&CurrentUser>,
    ctl: Controls,
) -> impl IntoView + use<> {
    let id = d.id;
    let may = allowed(d, user);
    let waiting = (d.state == "awaiting_approval" && !may.decide).then(|| {
        let who = if user.is_some_and(|u| u.name == d.requested_by) {
            "You requested this restore: another approver must approve or reject it."
        } else {
            "Waiting for an approver (not the requester) to approve or reject it."
        };
        view! { <p class="notice" role="status" data-testid="waiting">{who}</p> }
    });
    let execute = may.execute.then(|| {
        view! {
            <button
                type="button"
                data-testid="execute"
                disabled=move || ctl.busy()
                on:click=move |_| {
                    ctl.error.set(None);
                    ctl.execute.dispatch(ExecuteRestore { id });
                }
            >
                "Execute"
            </button>
        }
    });
    let resume = may.resume.then(|| {
        view! {
            <button
                type="button"
                data-testid="resume"
                disabled=move || ctl.busy()
                on:click=move |_| {
                    ctl.error.set(None);
                    ctl.resume.dispatch(ResumeRestore { id });
                }
            >
                "Resume"
            </button>
            <span class="hint">"Continues from the journal: done steps are not done again."</span>
        }
    });
    let cancel = may.cancel.then(|| {
        view! {
            <button
                type="button"
                class="danger"
                data-testid="cancel"
                disabled=move || ctl.busy()
                on:click=move |_| {
                    ctl.error.set(None);
                    let comment = ctl.comment.get_untracked().trim().to_string();
                    ctl.cancel.dispatch(CancelRestore { id, comment });
                }
            >
                "Cancel request"
            </button>
            <span class="hint">"Frees the tables and the snapshot; the safety snapshot is kept."</span>
        }
    });
    let remove_aside = may.remove_aside.then(|| {
        view! {
            <button
                type="button"
                class="danger"
                data-testid="remove-aside"
                disabled=move || ctl.busy()
                on:click=move |_| {
                    ctl.error.set(None);
                    ctl.remove_aside.dispatch(RemoveRestoreAside { id });
                }
            >
                "Remove what was set aside"
            </button>
            <span class="hint">"The node's previous SSTables and commit log segments; kept until removed."</span>
            {move || ctl.aside_removed.get().map(|m| view! { <p role="status" data-testid="aside-removed">{m}</p> })}
        }
    });
    let buttons = (may.execute || may.resume || may.cancel || may.remove_aside).then(|| {
        view! {
            <div class="form-actions restore-actions">{execute}{resume}{cancel}{remove_aside}</div>
        }
    });
    view! {
        {waiting}
        {buttons}
        {may.decide.then(|| decide_view(ctl, id))}
    }
}

/// The progress bar of a running restore: steps done, and the one under way.
fn progress_view(d: &RestoreDto) -> Option<impl IntoView + use<>> {
    if !is_running(&d.state) {
        return None;
    }
    let total = d.steps.len();
    let done = d
        .steps
        .iter()
        .filter(|s| matches!(s.state.as_str(), "done" | "skipped"))
        .count();
    let now = d
        .steps
        .iter()
        .find(|s| s.state == "running")
        .map(|s| step_text(&s.name, &d.plan));
    Some(view! {
        <div class="restore-progress" role="status" aria-live="polite">
            <progress max=total.max(1) value=done></progress>
            <span>{format!("Running: {done} of {total} steps done.")}</span>
            {now.map(|n| view! { <span class="restore-progress-now">{n}</span> })}
        </div>
    })
}

/// "1.2 s" between a step's start and end.
fn took(s: &StepDto) -> Option<String> {
    let ms = s.finished_at?.checked_sub(s.started_at?)?;
    Some(if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    })
}

fn journal_view(d: &RestoreDto) -> impl IntoView + use<> {
    if d.steps.is_empty() {
        return view! {
            <p class="muted">"Not executed yet: the journal starts when the restore does."</p>
        }
        .into_any();
    }
    let rows = d
        .steps
        .iter()
        .map(|s| {
            let started = s.started_at.map(|ms| view! { <Time ms /> });
            let finished = s.finished_at.map(|ms| view! { <Time ms /> });
            view! {
                <tr data-step=s.name.clone() data-state=s.state.clone()>
                    <td class="num">{s.seq + 1}</td>
                    <td class="wrap">
                        <code>{s.name.clone()}</code>
                        <span class="step-text">{step_text(&s.name, &d.plan)}</span>
                    </td>
                    <td><StateBadge state=s.state.clone() /></td>
                    <td class="time">{started}</td>
                    <td class="time">{finished}</td>
                    <td class="num">{took(s)}</td>
                    <td class="wrap">{s.detail.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="data journal" data-testid="journal">
                <caption>"Each step is recorded before and after its side effect; a resume continues from here."</caption>
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Step"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Started"</th>
                        <th scope="col">"Finished"</th>
                        <th scope="col" class="num">"Took"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

fn yes_no(ok: bool) -> &'static str {
    if ok { "yes" } else { "no" }
}

fn verification_row(t: TableVerification) -> impl IntoView {
    let expected = match (t.rows_expected, t.rows_exact) {
        (Some(n), true) => format!("{n}, exactly"),
        (Some(n), false) => format!("{n} (merged with live rows)"),
        (None, _) => rows_text(None, None),
    };
    let found = t
        .rows_found
        .map_or_else(|| "not counted".to_string(), |n| n.to_string());
    let table = t.table.clone();
    view! {
        <tr data-table=table data-passed=t.passed.to_string()>
            <td>{t.table}</td>
            <td class="num">{expected}</td>
            <td class="num">{found}</td>
            <td class="num">{format!("{} of {}", t.sstables_linked, t.sstables_expected)}</td>
            <td class="num">{format!("{} of {}", t.digests_ok, t.sstables_expected)}</td>
            <td>{yes_no(t.query_ok)}</td>
            <td><OkBadge ok=t.passed yes="passed" no="failed" /></td>
            <td class="wrap">{t.notes.join(" ")}</td>
        </tr>
    }
}

fn verification_view(v: Verification) -> AnyView {
    let text = if v.passed {
        "Passed: rows, linked files, their Digest.crc32 and a query all check out."
    } else {
        "Failed: see which check below."
    };
    view! {
        <section class="card" aria-labelledby="verification-h" data-testid="verification" data-passed=v.passed.to_string()>
            <h2 id="verification-h">"Verification"</h2>
            <p><OkBadge ok=v.passed yes="passed" no="failed" /> " " {text}</p>
            <div class="table-wrap">
                <table class="data verification">
                    <thead>
                        <tr>
                            <th scope="col">"Table"</th>
                            <th scope="col" class="num">"Rows expected"</th>
                            <th scope="col" class="num">"Rows found"</th>
                            <th scope="col" class="num">"SSTables linked"</th>
                            <th scope="col" class="num">"Digests ok"</th>
                            <th scope="col">"Query"</th>
                            <th scope="col">"Result"</th>
                            <th scope="col">"Notes"</th>
                        </tr>
                    </thead>
                    <tbody>{v.tables.into_iter().map(verification_row).collect_view()}</tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

/// One request as it stands now.
fn detail_view(d: RestoreDto, user: Option<CurrentUser>, ctl: Controls) -> impl IntoView {
    let decided = match (&d.decided_by, d.decided_at) {
        (Some(who), Some(ms)) => view! { {who.clone()} " " <Time ms /> }.into_any(),
        (Some(who), None) => who.clone().into_any(),
        (None, _) => view! { <span class="muted">"not yet"</span> }.into_any(),
    };
    let verb = match d.state.as_str() {
        "rejected" => "Rejected",
        _ => "Approved",
    };
    let comment = d
        .decision_comment
        .clone()
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            view! {
                <div class="said">
                    <h3>{format!("{verb} by {}, who said", d.decided_by.clone().unwrap_or_default())}</h3>
                    <blockquote data-testid="decision-comment-shown">{c}</blockquote>
                </div>
            }
        });
    let expires = d.approval_expires_at.map(|ms| {
        view! {
            <div>
                <dt>"Approval expires"</dt>
                <dd><Time ms /></dd>
            </div>
        }
    });
    let started = d.started_at.map(|ms| {
        view! {
            <div>
                <dt>"Started"</dt>
                <dd><Time ms /></dd>
            </div>
        }
    });
    let finished = d.finished_at.map(|ms| {
        view! {
            <div>
                <dt>"Finished"</dt>
                <dd><Time ms /></dd>
            </div>
        }
    });
    let error = d.error.clone().map(|e| {
        view! { <p class="error" role="alert" data-testid="restore-error">{e}</p> }
    });
    let truncate = match (d.target, d.truncate) {
        (crate::api::Target::InPlace, true) => "yes",
        _ => "no",
    };
    let tables = if d.tables.is_empty() {
        "every table of the snapshot".to_string()
    } else {
        d.tables.join(", ")
    };
    let actions = actions_view(&d, user.as_ref(), ctl);
    let progress = progress_view(&d);
    let journal = journal_view(&d);
    let about = view! {
        <section class="card" aria-label="About this request">
            <dl class="facts">
                <div>
                    <dt>"Snapshot"</dt>
                    <dd>
                        <a class="tag" href=snapshot_href(&d.snapshot, Some(&d.node))>{d.snapshot.clone()}</a>
                        {format!(" on {}", d.node)}
                    </dd>
                </div>
                <div>
                    <dt>"Tables"</dt>
                    <dd>{tables}</dd>
                </div>
                <div>
                    <dt>"Target"</dt>
                    <dd>{target_text(d.target, d.side_keyspace.as_deref())}</dd>
                </div>
                <div>
                    <dt>"TRUNCATE first"</dt>
                    <dd>{truncate}</dd>
                </div>
                <div>
                    <dt>"Requested by"</dt>
                    <dd data-testid="requested-by">{d.requested_by.clone()} " " <Time ms=d.requested_at /></dd>
                </div>
                <div>
                    <dt>"Decided by"</dt>
                    <dd data-testid="decided-by">{decided}</dd>
                </div>
                {expires}
                {started}
                {finished}
            </dl>
            <div class="said">
                <h3>{format!("{} gave as the reason", d.requested_by)}</h3>
                <blockquote data-testid="reason">{d.reason.clone()}</blockquote>
            </div>
            {comment}
        </section>
    }
    .into_any();
    let head = view! {
        <div class="page-head">
            <h1>{format!("Restore request #{}", d.id)}</h1>
            <StateBadge state=d.state.clone() testid="restore-state" />
        </div>
        {error}
        {progress}
        {actions}
        <ErrorAlert error=ctl.error />
        <ErrorAlert error=ctl.poll_error />
    }
    .into_any();
    let plan = view! {
        <section class="card" aria-labelledby="plan-h">
            <h2 id="plan-h">"Plan"</h2>
            <p class="hint">
                "The dry run made when the restore was requested; the approval binds to it, and execution stops if the snapshot, the schema or the headroom no longer match."
            </p>
            <PlanView plan=d.plan />
        </section>
    }
    .into_any();
    view! {
        {head}
        {about}
        <section aria-labelledby="journal-h">
            <h2 id="journal-h">"Journal"</h2>
            {journal}
        </section>
        {d.verification.map(verification_view)}
        {plan}
    }
}

fn not_found_view(id: String) -> impl IntoView {
    respond_not_found();
    view! {
        <h1>"No restore request " {id.clone()}</h1>
        <section class="card notice" role="alert">
            <p>"Snapkeep has no restore request " <code>{id}</code> "."</p>
            <p>
                <a href="/restores">"Back to the restores"</a>
            </p>
        </section>
    }
}

/// A new answer from an action: show it, or say what went wrong.
fn take_answer(
    answer: Option<Result<RestoreDto, ServerFnError>>,
    live: RwSignal<Option<RestoreDto>>,
    error: RwSignal<Option<String>>,
) {
    match answer {
        Some(Ok(d)) => {
            error.set(None);
            live.set(Some(d));
        }
        Some(Err(e)) => error.set(Some(server_message(&e))),
        None => {}
    }
}

#[component]
pub fn RestoreDetail() -> impl IntoView {
    let params = use_params_map();
    let raw_id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let id = Memo::new(move |_| raw_id.read().parse::<i64>().ok());
    let detail = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_restore(id).await,
                None => Ok(None),
            }
        },
    );
    // The request as an action or a poll last returned it (newer than `detail`).
    let live = RwSignal::new(None::<RestoreDto>);
    let ctl = Controls::new();
    Effect::new(move |_| ctl.hydrated.set(true));
    Effect::new(move |_| take_answer(ctl.decide.value().get(), live, ctl.error));
    Effect::new(move |_| take_answer(ctl.execute.value().get(), live, ctl.error));
    Effect::new(move |_| take_answer(ctl.resume.value().get(), live, ctl.error));
    Effect::new(move |_| take_answer(ctl.cancel.value().get(), live, ctl.error));
    Effect::new(move |_| match ctl.remove_aside.value().get() {
        Some(Ok(removed)) => ctl.aside_removed.set(Some(if removed.is_empty() {
            "Nothing was left aside.".to_string()
        } else {
            format!("Removed {}.", removed.join(", "))
        })),
        Some(Err(e)) => ctl.error.set(Some(server_message(&e))),
        None => {}
    });

    let current = move || {
        let loaded = detail.get().and_then(|r| r.ok().flatten())?;
        Some(live.get().filter(|l| l.id == loaded.id).unwrap_or(loaded))
    };
    // While it runs, ask where it stands until it stops running (in the browser only:
    // effects never run on the server).
    let failures = RwSignal::new(0_u32);
    Effect::new(move |_| {
        let Some(d) = current() else { return };
        if !is_running(&d.state) {
            return;
        }
        let id = d.id;
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    match get_restore(id).await {
                        Ok(Some(d)) => {
                            failures.set(0);
                            ctl.poll_error.set(None);
                            live.set(Some(d));
                        }
                        Ok(None) => ctl.poll_error.set(Some(format!(
                            "Restore request {id} is no longer known to the server."
                        ))),
                        Err(e) => {
                            let n = failures.get_untracked() + 1;
                            failures.set(n);
                            if n >= POLL_GIVE_UP {
                                ctl.poll_error.set(Some(format!(
                                    "Cannot follow restore request {id}: {}. It may still be running; reload the page to see.",
                                    server_message(&e)
                                )));
                            } else {
                                // Ask again: notifying re-runs this effect, which waits and asks.
                                live.update(|_| ());
                            }
                        }
                    }
                });
            },
            POLL_EVERY,
        );
    });

    view! {
        <Title text=move || format!("Restore request {}", raw_id.get()) />
        <div class="restore-detail">
            <p class="crumbs">
                <a href="/restores">"← Restores"</a>
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    detail
                        .get()
                        .map(|r| match r {
                            Ok(Some(loaded)) => {
                                let d = live.get().filter(|l| l.id == loaded.id).unwrap_or(loaded);
                                detail_view(d, crate::auth::current_user(), ctl).into_any()
                            }
                            Ok(None) => not_found_view(raw_id.get_untracked()).into_any(),
                            Err(e) => {
                                view! {
                                    <h1>"Restore request"</h1>
                                    <LoadError what="Cannot load the restore request" error=e />
                                }
                                    .into_any()
                            }
                        })
                }}
            </Transition>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Target, Verdict};

    fn request(state: &str) -> RestoreDto {
        RestoreDto {
            id: 7,
            node: "node1".into(),
            snapshot: "nightly".into(),
            tables: vec!["shop.products".into()],
            target: Target::InPlace,
            side_keyspace: None,
            truncate: true,
            reason: "TRUNCATE at 3 AM".into(),
            requested_by: "ann".into(),
            requested_at: 1_795_550_920_176,
            state: state.into(),
            decided_by: None,
            decided_at: None,
            decision_comment: None,
            approval_expires_at: None,
            plan: super::super::plan::tests::plan(Verdict::Compatible, vec![]),
            plan_hash: "abc".into(),
            job_id: None,
            started_at: None,
            finished_at: None,
            error: None,
            steps: vec![],
            verification: None,
        }
    }

    fn user(name: &str, role: Role) -> CurrentUser {
        CurrentUser {
            name: name.into(),
            role,
        }
    }

    #[test]
    fn only_another_approver_decides_and_operators_run() {
        let waiting = request("awaiting_approval");
        assert!(allowed(&waiting, Some(&user("bob", Role::Approver))).decide);
        assert!(allowed(&waiting, Some(&user("bob", Role::Admin))).decide);
        assert!(
            !allowed(&waiting, Some(&user("ann", Role::Admin))).decide,
            "the requester never approves"
        );
        assert!(!allowed(&waiting, Some(&user("carl", Role::Operator))).decide);
        assert!(!allowed(&waiting, None).decide);
        assert!(!allowed(&waiting, Some(&user("ann", Role::Operator))).execute);
        let approved = request("approved");
        assert!(allowed(&approved, Some(&user("ann", Role::Operator))).execute);
        assert!(!allowed(&approved, Some(&user("vic", Role::Viewer))).execute);
        assert!(!allowed(&approved, Some(&user("bob", Role::Approver))).decide);
        for state in ["interrupted", "failed"] {
            let r = request(state);
            assert!(allowed(&r, Some(&user("ann", Role::Operator))).resume);
            assert!(!allowed(&r, Some(&user("ann", Role::Operator))).execute);
        }
        assert_eq!(
            allowed(&request("done"), Some(&user("ann", Role::Admin))),
            Allowed::default()
        );
    }

    #[test]
    fn a_finished_restore_shows_its_journal_and_verification() {
        let owner = Owner::new();
        owner.set();
        let mut d = request("done");
        d.decided_by = Some("bob".into());
        d.decided_at = Some(1_795_550_930_000);
        d.decision_comment = Some("go ahead".into());
        d.steps = vec![StepDto {
            seq: 0,
            name: "check".into(),
            state: "done".into(),
            started_at: Some(1_795_550_940_000),
            finished_at: Some(1_795_550_941_500),
            detail: "the plan is unchanged since its approval".into(),
        }];
        d.verification = Some(Verification {
            passed: true,
            tables: vec![TableVerification {
                table: "shop.products".into(),
                rows_expected: Some(500),
                rows_found: Some(500),
                rows_exact: true,
                sstables_expected: 1,
                sstables_linked: 1,
                digests_ok: 1,
                query_ok: true,
                passed: true,
                notes: vec![],
            }],
        });
        let html = detail_view(d, Some(user("ann", Role::Operator)), Controls::new()).to_html();
        assert!(
            html.contains(r#"data-state="done" data-testid="restore-state""#),
            "{html}"
        );
        assert!(html.contains(r#"data-step="check" data-state="done""#));
        assert!(html.contains("1.5 s"));
        assert!(html.contains(r#"data-testid="verification" data-passed="true""#));
        assert!(html.contains("500, exactly"));
        assert!(html.contains("go ahead"));
        assert!(html.contains("TRUNCATE at 3 AM"));
        assert!(!html.contains(r#"data-testid="execute""#));
        assert!(!html.contains(r#"data-testid="approve""#));
    }

    #[test]
    fn an_approver_sees_the_decision_and_a_running_restore_its_progress() {
        let owner = Owner::new();
        owner.set();
        let html = detail_view(
            request("awaiting_approval"),
            Some(user("bob", Role::Approver)),
            Controls::new(),
        )
        .to_html();
        assert!(html.contains(r#"data-testid="approve""#), "{html}");
        assert!(html.contains(r#"data-testid="reject""#));
        assert!(html.contains("Not executed yet"));

        let mut running = request("running");
        running.steps = vec![
            StepDto {
                seq: 0,
                name: "check".into(),
                state: "done".into(),
                started_at: None,
                finished_at: None,
                detail: String::new(),
            },
            StepDto {
                seq: 1,
                name: "safety_snapshot".into(),
                state: "running".into(),
                started_at: None,
                finished_at: None,
                detail: String::new(),
            },
        ];
        let html =
            detail_view(running, Some(user("ann", Role::Operator)), Controls::new()).to_html();
        assert!(html.contains("Running: 1 of 2 steps done."), "{html}");
        assert!(html.contains("Take the safety snapshot pre-restore-20261124t200840z"));
    }
}
