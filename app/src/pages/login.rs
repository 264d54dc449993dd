//! The sign-in page: a plain form posted to `/login` (it works without JavaScript). The
//! server answers errors by sending the browser back here with `?error=`.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn message(error: &str, wait: Option<String>) -> String {
    match error {
        "invalid" => "Wrong user name or password.".into(),
        "locked" => format!(
            "Too many failed sign-ins for this user or from this address; try again in {} seconds.",
            wait.unwrap_or_else(|| "a few".into())
        ),
        "nousers" => "No user exists yet. Create the first admin on the server with `snapkeep user add NAME --role admin`, then sign in.".into(),
        "unavailable" => "Sign-in is unavailable right now (the catalog cannot be read); try again shortly.".into(),
        _ => "Sign-in failed; try again.".into(),
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let q = use_query_map();
    let error = move || q.with(|q| q.get("error").map(|e| message(&e, q.get("wait"))));
    let next = move || q.with(|q| q.get("next").unwrap_or_else(|| "/".into()));
    view! {
        <Title text="Sign in" />
        <section class="card login-card">
            <h1>"Sign in"</h1>
            {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
            <form method="post" action="/login" class="login-form">
                <label>
                    "User name"
                    <input name="name" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input
                        type="password"
                        name="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <input type="hidden" name="next" value=next />
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <p class="muted">
                "No account? An admin creates one on the server: "
                <code>"snapkeep user add NAME --role viewer"</code>
            </p>
        </section>
    }
}
