//! The frame around every page: skip link, header with navigation, footer.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// The navigation entries, in order: (path, label).
pub const NAV_ITEMS: [(&str, &str); 10] = [
    ("/", "Overview"),
    ("/snapshots", "Snapshots"),
    ("/backups", "Backups"),
    ("/calculator", "Calculator"),
    ("/restores", "Restores"),
    ("/schedules", "Schedules"),
    ("/rpo", "RPO"),
    ("/drills", "Drills"),
    ("/reports", "Reports"),
    ("/settings", "Settings"),
];

#[component]
pub fn Header() -> impl IntoView {
    let location = use_location();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                " Snapkeep"
            </a>
            <nav aria-label="Main">
                <ul class="nav">
                    {NAV_ITEMS
                        .iter()
                        .map(|(href, label)| {
                            let href = *href;
                            let current = move || {
                                let path = location.pathname.get();
                                let active = if href == "/" {
                                    path == "/"
                                } else {
                                    path.starts_with(href)
                                };
                                active.then_some("page")
                            };
                            view! {
                                <li>
                                    <A href=href attr:aria-current=current>
                                        {*label}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <div class="who">
                <Transition fallback=|| ()>
                    {move || {
                        crate::auth::current_user()
                            .map(|u| {
                                view! {
                                    <span class="user">{format!("{} ({})", u.name, u.role)}</span>
                                    <form method="post" action="/logout" class="inline">
                                        <button type="submit">"Sign out"</button>
                                    </form>
                                }
                            })
                    }}
                </Transition>
            </div>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>
                "Snapkeep " {env!("CARGO_PKG_VERSION")}
                " · snapshots, backups and approved restores for Apache Cassandra"
            </p>
        </footer>
    }
}
