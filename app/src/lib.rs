//! Snapkeep's web UI (Leptos, server-rendered and hydrated in the browser) and the pure code it
//! shares with the server: the storage-growth model in [`growth`].
//!
//! Built twice: with feature `ssr` into the server binary, which renders every page, and with
//! feature `hydrate` into WebAssembly, which takes the rendered page over in the browser.

// The nested view types of the larger pages (the reports page's) are deeper than the release
// WebAssembly build follows by default.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
mod components;
pub mod growth;
mod layout;
pub mod names;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

pub use layout::NAV_ITEMS;

/// The HTML document around the app: head, hydration scripts, body.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: layout, navigation and the page routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    auth::provide_user();
    // Marks the page once the WebAssembly has taken it over (effects never run on the server);
    // browser tests wait for it.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/snapkeep.css" />
        <Title formatter=|page: String| format!("{page} · Snapkeep") />
        <Router>
            <layout::Header />
            <main id="main" class="page">
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("") view=pages::Overview />
                    // Rendered whole before sending (Async), so the list, filters and detail
                    // read without JavaScript and an unknown tag answers 404.
                    <Route path=StaticSegment("snapshots") view=pages::Snapshots ssr=SsrMode::Async />
                    <Route
                        path=(StaticSegment("snapshots"), ParamSegment("tag"))
                        view=pages::SnapshotDetail
                        ssr=SsrMode::Async
                    />
                    // Rendered whole before sending, so the backlog reads without JavaScript.
                    <Route path=StaticSegment("backups") view=pages::Backups ssr=SsrMode::Async />
                    <Route path=StaticSegment("calculator") view=pages::Calculator />
                    // Rendered whole before sending, so the requests and a request's plan read
                    // without JavaScript and an unknown request answers 404.
                    <Route path=StaticSegment("restores") view=pages::Restores ssr=SsrMode::Async />
                    <Route
                        path=(StaticSegment("restores"), ParamSegment("id"))
                        view=pages::RestoreDetail
                        ssr=SsrMode::Async
                    />
                    // Rendered whole before sending, so the report reads without JavaScript.
                    <Route path=StaticSegment("reports") view=pages::Reports ssr=SsrMode::Async />
                    <Route path=StaticSegment("schedules") view=pages::Schedules ssr=SsrMode::Async />
                    <Route path=StaticSegment("rpo") view=pages::Rpo ssr=SsrMode::Async />
                    <Route path=StaticSegment("drills") view=pages::Drills ssr=SsrMode::Async />
                    <Route path=StaticSegment("settings") view=pages::Settings />
                    <Route
                        path=(StaticSegment("settings"), StaticSegment("audit"))
                        view=pages::Audit
                    />
                    <Route path=StaticSegment("login") view=pages::Login />
                </Routes>
            </main>
            <layout::Footer />
        </Router>
    }
}

/// Entry point of the WebAssembly build: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
