//! Errors as the pages show them: a load that failed, the last error of an action or a poll,
//! and the 404 status of a page about something that does not exist.

use leptos::prelude::*;

use crate::api::server_message;

/// A load that failed, announced at once: "`what`: the server's message`then`".
#[component]
pub fn LoadError(
    what: &'static str,
    error: ServerFnError,
    /// Said after the server's message (what happens meanwhile).
    #[prop(optional)]
    then: &'static str,
) -> impl IntoView {
    view! { <p class="error" role="alert">{format!("{what}: {}{then}", server_message(&error))}</p> }
}

/// The error an action or a poll left, if any, announced at once.
#[component]
pub fn ErrorAlert(#[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error
            .get()
            .map(|e| view! { <p class="error" role="alert">{e}</p> })
    }
}

/// Answers 404 when the server renders a page about something that does not exist (does
/// nothing in the browser).
pub fn respond_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}
