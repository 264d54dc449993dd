//! The signed-in user in the pages: fetched once per page load and shared through context,
//! so pages can hide what the user's role may not do (the server refuses it anyway).

use leptos::prelude::*;

use crate::api::{CurrentUser, Role, whoami};

/// The signed-in user, as a resource every page can read.
#[derive(Clone, Copy)]
pub struct UserContext(pub Resource<Option<CurrentUser>>);

/// Provides the user to every page (called once by the app).
pub fn provide_user() {
    let user = Resource::new(|| (), |_| async { whoami().await.ok().flatten() });
    provide_context(UserContext(user));
}

/// The signed-in user, once known.
pub fn current_user() -> Option<CurrentUser> {
    use_context::<UserContext>().and_then(|c| c.0.get().flatten())
}

/// Whether the signed-in user's role allows `needed` (false while unknown).
pub fn can(needed: Role) -> bool {
    current_user().is_some_and(|u| u.can(needed))
}
