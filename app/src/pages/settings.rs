//! Settings: who you are, your password, a link to the stores and incremental backups, users and API tokens (admins manage them), and the
//! audit log with filters, a CSV export and whether its hash chain is intact.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{
    AuditQuery, ChangePassword, RevokeToken, Role, SettingsDto, audit_chain,
    encode_query_value as encode, format_utc, get_account, get_settings, list_audit,
};
use crate::auth::{can, current_user};

fn when(ms: Option<i64>) -> String {
    ms.map(format_utc).unwrap_or_else(|| "never".into())
}

#[component]
pub fn Settings() -> impl IntoView {
    let revoke = ServerAction::<RevokeToken>::new();
    let settings = Resource::new(move || revoke.version().get(), |_| get_settings());
    let me = move || {
        current_user()
            .map(|u| format!("Signed in as {} ({}).", u.name, u.role))
            .unwrap_or_default()
    };
    view! {
        <Title text="Settings" />
        <h1>"Settings"</h1>
        <p class="muted" data-testid="whoami">{me}</p>
        <p><a href="/settings/audit">"Audit log →"</a></p>
        <p>
            <a href="/backups">"Stores and incremental backups per node (on or off) →"</a>
        </p>
        <PasswordCard />
        {move || {
            revoke
                .value()
                .get()
                .and_then(|r| r.err())
                .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                settings
                    .get()
                    .map(|r| match r {
                        Ok(s) => settings_view(s, revoke).into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// Your password: a notice when someone else set it, and the form to change it.
#[component]
fn PasswordCard() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let account = Resource::new(move || change.version().get(), |_| get_account());
    view! {
        <section class="card" data-testid="password">
            <h2>"Password"</h2>
            <Transition fallback=|| ()>
                {move || account.get().and_then(|r| r.ok()).filter(|a| a.must_change_password).map(|a| view! {
                    <p class="error" role="alert" data-testid="must-change-password">
                        {format!(
                            "Your password was set by {}. Change it here: until you do, your approvals and rejections of restores are refused.",
                            if a.password_set_by.is_empty() { "someone else".to_string() } else { a.password_set_by }
                        )}
                    </p>
                })}
            </Transition>
            <ActionForm action=change attr:class="password-form">
                <label>
                    "Current password"
                    <input type="password" name="old_password" autocomplete="current-password" required />
                </label>
                <label>
                    "New password (at least 12 characters)"
                    <input type="password" name="new_password" autocomplete="new-password" minlength="12" required />
                </label>
                <button type="submit">"Change password"</button>
            </ActionForm>
            {move || change.value().get().map(|r| match r {
                Ok(()) => view! { <p class="muted" role="status">"Password changed; your other sessions were signed out."</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}

fn settings_view(s: SettingsDto, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let admin = can(Role::Admin);
    view! {
        <section class="card">
            <h2>"Users"</h2>
            {if s.users.is_empty() {
                view! { <p class="muted">"Only admins see the users."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="data">
                        <thead><tr><th>"Name"</th><th>"Role"</th><th>"State"</th><th>"Created"</th><th>"Last sign-in"</th></tr></thead>
                        <tbody>
                            {s.users.into_iter().map(|u| view! {
                                <tr data-user=u.name.clone()>
                                    <td>{u.name.clone()}</td>
                                    <td>{u.role.to_string()}</td>
                                    <td>{match (u.disabled, u.must_change_password) {
                                        (true, _) => "disabled",
                                        (false, true) => "active, must change password",
                                        (false, false) => "active",
                                    }}</td>
                                    <td>{format_utc(u.created_at)}</td>
                                    <td>{when(u.last_login_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
            <p class="muted">
                "Users are managed on the server: " <code>"snapkeep user add|list|set-role|disable|enable|set-password"</code>
            </p>
        </section>
        <section class="card">
            <h2>"API tokens"</h2>
            {if s.tokens.is_empty() {
                view! { <p class="muted">"No tokens you may see."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap"><table class="data">
                        <thead><tr><th>"Id"</th><th>"User"</th><th>"Name"</th><th>"Starts with"</th><th>"Made by"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"State"</th><th></th></tr></thead>
                        <tbody>
                            {s.tokens.into_iter().map(|t| {
                                let active = t.revoked_at.is_none();
                                view! {
                                    <tr data-token=t.id>
                                        <td>{t.id}</td>
                                        <td>{t.user.clone()}</td>
                                        <td>{t.name.clone()}</td>
                                        <td><code>{t.prefix.clone()} "…"</code></td>
                                        <td>{made_by(&t.created_by, &t.created_via)}</td>
                                        <td>{format_utc(t.created_at)}</td>
                                        <td>{when(t.expires_at)}</td>
                                        <td>{when(t.last_used_at)}</td>
                                        <td>{if active { "active".to_string() } else { format!("revoked {}", when(t.revoked_at)) }}</td>
                                        <td>
                                            {(admin && active).then(|| view! {
                                                <ActionForm action=revoke attr:class="inline">
                                                    <input type="hidden" name="id" value=t.id />
                                                    <button type="submit">"Revoke"</button>
                                                </ActionForm>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table></div>
                }.into_any()
            }}
            <p class="muted">
                "Create your own (it is shown once): " <code>"POST /api/v1/tokens {\"name\": \"cron\", \"expires\": \"90d\"}"</code>
                " while signed in, then send " <code>"Authorization: Bearer <token>"</code> " to /api/v1. Tokens made on the server with "
                <code>"snapkeep token create USER"</code> " work too, but only a token you made yourself counts for restore approvals."
            </p>
        </section>
    }
}

/// Who made a token, in words.
fn made_by(created_by: &Option<String>, via: &str) -> String {
    match (created_by, via) {
        (Some(u), _) => format!("{u} (own)"),
        (None, "cli") => "command line".into(),
        _ => "unknown".into(),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// The audit log page: filters in the URL (a plain GET form), newest first, CSV export.
#[component]
pub fn Audit() -> impl IntoView {
    let q = use_query_map();
    let query = move || {
        q.with(|q| AuditQuery {
            actor: non_empty(q.get("actor")),
            action: non_empty(q.get("action")),
            target: non_empty(q.get("target")),
            outcome: non_empty(q.get("outcome")),
            from: non_empty(q.get("from")),
            to: non_empty(q.get("to")),
            page: q.get("page").and_then(|p| p.parse().ok()),
            per_page: q.get("per_page").and_then(|p| p.parse().ok()),
        })
    };
    let page = Resource::new(query, list_audit);
    let chain = Resource::new(|| (), |_| audit_chain());
    let field = move |k: &'static str| move || q.with(|q| q.get(k).unwrap_or_default());
    let csv = move || {
        let qs: Vec<String> = q.with(|q| {
            ["actor", "action", "target", "outcome", "from", "to"]
                .iter()
                .filter_map(|k| {
                    q.get(k)
                        .filter(|v| !v.is_empty())
                        .map(|v| format!("{k}={}", encode(&v)))
                })
                .collect()
        });
        format!("/api/v1/audit.csv?{}", qs.join("&"))
    };
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="muted">"Every change and every refusal: who, when, from where, to what, and how it ended (refusals without valid credentials counted per address and minute). Nothing here can be edited or deleted; each row's hash covers the one before it, and old rows are archived to files next to the catalog."</p>
        <Transition fallback=|| view! { <p class="muted">"Checking the hash chain…"</p> }>
            {move || chain.get().map(|r| match r {
                Ok(c) => view! {
                    <p class=if c.intact { "muted" } else { "error" } role=if c.intact { "status" } else { "alert" }
                        data-testid="audit-chain" data-intact=c.intact.to_string()>{c.sentence()}</p>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
        <form method="get" action="/settings/audit" class="filters card">
            <label>"User" <input name="actor" value=field("actor") /></label>
            <label>"Action contains" <input name="action" value=field("action") /></label>
            <label>"Target contains" <input name="target" value=field("target") /></label>
            <label>
                "Outcome"
                <select name="outcome">
                    {["", "ok", "denied", "failed"].into_iter().map(|o| {
                        let selected = move || field("outcome")() == o;
                        view! { <option value=o selected=selected>{if o.is_empty() { "any" } else { o }}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"From" <input type="date" name="from" value=field("from") /></label>
            <label>"To" <input type="date" name="to" value=field("to") /></label>
            <button type="submit">"Apply"</button>
            <a class="button" href=csv download="snapkeep-audit.csv">"Download CSV"</a>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || page.get().map(|r| match r {
                Ok(p) if p.items.is_empty() => view! { <p class="muted">"No entries match."</p> }.into_any(),
                Ok(p) => {
                    let pages = ((p.total + p.per_page - 1) / p.per_page).max(1);
                    view! {
                        <div class="table-wrap"><table class="data audit">
                            <thead><tr><th>"When (UTC)"</th><th>"User"</th><th>"Via"</th><th>"From"</th><th>"Count"</th><th>"Action"</th><th>"Target"</th><th>"Outcome"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {p.items.into_iter().map(|e| view! {
                                    <tr data-outcome=e.outcome.clone()>
                                        <td>{format_utc(e.at)}</td>
                                        <td>{e.actor}</td>
                                        <td>{if e.credential.is_empty() { e.via } else { e.credential }}</td>
                                        <td>{e.address}</td>
                                        <td>{e.count}</td>
                                        <td><code>{e.action}</code></td>
                                        <td><code>{e.target}</code></td>
                                        <td class=format!("outcome {}", e.outcome)>{format!("{} ({})", e.outcome, e.status)}</td>
                                        <td class="detail">{e.detail}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        <p class="muted">{format!("Page {} of {pages} ({} entries)", p.page, p.total)}</p>
                    }.into_any()
                }
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}
