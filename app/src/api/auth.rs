//! Who is signed in, what each role may do, and the server functions of the Settings pages
//! (users, API tokens, the audit log).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::backend::{BoxFuture, backend};

/// The roles, each with the rights of the ones before it: a viewer reads everything; an
/// operator also takes and clears snapshots, runs scans and requests restores; an approver
/// also approves or rejects restore requests made by others; an admin also manages users,
/// tokens and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Approver,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    /// Parses `viewer`, `operator`, `approver` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Whether this role has at least the rights of `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in user, as the pages see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    pub name: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn can(&self, needed: Role) -> bool {
        self.role.allows(needed)
    }
}

/// A user account (never its password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UserDto {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    /// Someone else set the current password; the user must change it before their
    /// restore decisions count.
    #[serde(default)]
    pub must_change_password: bool,
}

/// An API token (never the token itself: only its first characters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TokenDto {
    pub id: i64,
    pub user: String,
    pub name: String,
    /// The first 8 characters, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Who made it: the holder's name when they made it themselves; none when the command
    /// line (or an unknown hand, before this was recorded) made it. Only a holder's own
    /// tokens count for restore decisions.
    #[serde(default)]
    pub created_by: Option<String>,
    /// `session`, `token`, `cli`, `library`, or empty when unknown.
    #[serde(default)]
    pub created_via: String,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditDto {
    pub id: i64,
    /// Unix ms, UTC.
    pub at: i64,
    /// User name, or `-` when nobody was identified.
    pub actor: String,
    /// `session`, `token`, `cli` or `anonymous`.
    pub via: String,
    pub address: String,
    /// What was attempted, e.g. `POST /api/v1/snapshots` or `login`.
    pub action: String,
    /// What it concerned: node, keyspace, table, snapshot, user…
    pub target: String,
    /// `ok`, `denied`, `failed`.
    pub outcome: String,
    pub status: i64,
    pub detail: String,
    /// Which credential acted: `session 1a2b3c4d` (start of the session's hash) or `token 12`.
    #[serde(default)]
    pub credential: String,
    /// How many events the row stands for (anonymous refusals are counted per address and
    /// minute).
    #[serde(default = "one")]
    pub count: i64,
}

fn one() -> i64 {
    1
}

/// Whether the audit log's hash chain is intact, and where it breaks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditChainDto {
    pub intact: bool,
    /// Rows checked (those still in the catalog).
    pub rows: i64,
    /// The first row where the chain breaks.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
    /// The last archived row, whose hash the remaining rows chain to.
    pub anchor_id: Option<i64>,
    pub archived_rows: i64,
}

impl AuditChainDto {
    /// One sentence for the audit page and the command line.
    pub fn sentence(&self) -> String {
        let archived = match self.anchor_id {
            Some(a) => format!(
                " after {} archived rows (anchor: row {a})",
                self.archived_rows
            ),
            None => String::new(),
        };
        match (self.intact, self.broken_at) {
            (true, _) => format!("Hash chain intact: {} rows verified{archived}.", self.rows),
            (false, Some(id)) => format!(
                "Hash chain broken at row {id}: {}.",
                self.reason.clone().unwrap_or_default()
            ),
            (false, None) => "Hash chain broken.".into(),
        }
    }
}

/// The signed-in user's own account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountDto {
    pub name: String,
    /// Someone else chose the current password; the owner must change it before their
    /// restore decisions count.
    pub must_change_password: bool,
    /// Who set the current password (`cli:root`, `admin ada`, `self`).
    pub password_set_by: String,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct AuditQuery {
    pub actor: Option<String>,
    /// Part of the action.
    pub action: Option<String>,
    /// Part of the target.
    pub target: Option<String>,
    /// `ok`, `denied` or `failed`.
    pub outcome: Option<String>,
    /// From this UTC day, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// To this UTC day, `YYYY-MM-DD`.
    pub to: Option<String>,
    pub page: Option<i64>,
    /// 1–1000, default 100.
    pub per_page: Option<i64>,
}

/// One page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// What the Settings page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SettingsDto {
    pub users: Vec<UserDto>,
    pub tokens: Vec<TokenDto>,
}

/// The signed-in user of this request, put there by the server's authentication layer.
#[cfg(feature = "ssr")]
pub fn request_user() -> Option<CurrentUser> {
    use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<CurrentUser>().cloned())
}

/// The signed-in user of this request, or the error a server function answers without one.
#[cfg(feature = "ssr")]
pub(crate) fn signed_in() -> Result<CurrentUser, ServerFnError> {
    request_user().ok_or_else(|| ServerFnError::new("sign in first"))
}

/// What the account server functions need from the server; the authentication layer puts one,
/// bound to the request's caller, into each signed-in request's extensions.
#[cfg(feature = "ssr")]
pub trait AuthBackend: Send + Sync {
    /// The caller's account.
    fn account(&self) -> BoxFuture<'_, AccountDto>;
    /// Changes the caller's own password, given the current one.
    fn change_password(&self, old: String, new: String) -> BoxFuture<'_, ()>;
    /// Verifies the audit log's hash chain.
    fn audit_chain(&self) -> BoxFuture<'_, AuditChainDto>;
}

/// The [`AuthBackend`] of one request.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct AuthHandle(pub std::sync::Arc<dyn AuthBackend>);

#[cfg(feature = "ssr")]
fn auth_backend() -> Result<AuthHandle, ServerFnError> {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<AuthHandle>().cloned())
        .ok_or_else(|| ServerFnError::new("sign in first"))
}

/// The signed-in user's account (whether their password must be changed).
#[server(prefix = "/rpc", endpoint = "account")]
pub async fn get_account() -> Result<AccountDto, ServerFnError> {
    auth_backend()?
        .0
        .account()
        .await
        .map_err(ServerFnError::new)
}

/// Changes the signed-in user's own password (the current one is needed).
#[server(prefix = "/rpc", endpoint = "password_change")]
pub async fn change_password(
    old_password: String,
    new_password: String,
) -> Result<(), ServerFnError> {
    auth_backend()?
        .0
        .change_password(old_password, new_password)
        .await
        .map_err(ServerFnError::new)
}

/// Whether the audit log's hash chain is intact.
#[server(prefix = "/rpc", endpoint = "audit_chain")]
pub async fn audit_chain() -> Result<AuditChainDto, ServerFnError> {
    auth_backend()?
        .0
        .audit_chain()
        .await
        .map_err(ServerFnError::new)
}

/// Who is signed in (None on pages that need no sign-in, such as the login page).
#[server(prefix = "/rpc", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, ServerFnError> {
    Ok(request_user())
}

/// Users and tokens (admins see all tokens, others their own).
#[server(prefix = "/rpc", endpoint = "settings")]
pub async fn get_settings() -> Result<SettingsDto, ServerFnError> {
    let user = signed_in()?;
    backend()?.settings(user).await.map_err(ServerFnError::new)
}

/// Revokes an API token.
#[server(prefix = "/rpc", endpoint = "token_revoke")]
pub async fn revoke_token(id: i64) -> Result<(), ServerFnError> {
    let user = signed_in()?;
    backend()?
        .revoke_token(user, id)
        .await
        .map_err(ServerFnError::new)
}

/// One page of the audit log.
#[server(prefix = "/rpc", endpoint = "audit", input = leptos::server_fn::codec::Json)]
pub async fn list_audit(query: AuditQuery) -> Result<AuditPage, ServerFnError> {
    backend()?.audit(query).await.map_err(ServerFnError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_rights() {
        assert!(Role::Admin.allows(Role::Approver));
        assert!(Role::Approver.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Approver));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
