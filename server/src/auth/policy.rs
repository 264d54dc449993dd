//! The one authorization policy: which role each route and server function needs. Everything
//! not listed needs an admin (deny by default); the tests enumerate the OpenAPI document and
//! the registered server functions against this table.

use axum::http::Method;

use super::Role;

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No identity needed (health, metrics, assets, the sign-in page).
    Open,
    /// A signed-in user with at least this role; `changes` marks requests that change
    /// something (they are audited and need the CSRF check for cookie sessions).
    Signed { role: Role, changes: bool },
}

const fn signed(role: Role, changes: bool) -> Access {
    Access::Signed { role, changes }
}

/// Server functions (`/rpc/<endpoint>`): the role each needs and whether it changes state.
pub const RPC: &[(&str, Role, bool)] = &[
    ("whoami", Role::Viewer, false),
    ("overview", Role::Viewer, false),
    ("job", Role::Viewer, false),
    ("snapshots", Role::Viewer, false),
    ("snapshot", Role::Viewer, false),
    ("snapshot_form", Role::Viewer, false),
    ("settings", Role::Viewer, false),
    ("audit", Role::Viewer, false),
    ("audit_chain", Role::Viewer, false),
    ("account", Role::Viewer, false),
    ("password_change", Role::Viewer, true),
    ("scan", Role::Operator, true),
    ("snapshot_create", Role::Operator, true),
    ("snapshot_clear", Role::Operator, true),
    ("token_revoke", Role::Admin, true),
    ("restores", Role::Viewer, false),
    ("restore", Role::Viewer, false),
    ("restore_plan", Role::Operator, false),
    ("restore_request", Role::Operator, true),
    ("restore_decide", Role::Approver, true),
    ("restore_execute", Role::Operator, true),
    ("restore_resume", Role::Operator, true),
    ("restore_cancel", Role::Operator, true),
    ("restore_aside_remove", Role::Admin, true),
    ("report", Role::Viewer, false),
    ("backups", Role::Viewer, false),
    ("backups_ship", Role::Operator, true),
    ("incremental_backups", Role::Admin, true),
    ("snapshot_copies", Role::Viewer, false),
    ("store_copies", Role::Viewer, false),
    ("snapshot_upload", Role::Operator, true),
    ("measure_scopes", Role::Viewer, false),
    ("measured", Role::Viewer, false),
    ("alerts", Role::Viewer, false),
    ("alert_ack", Role::Operator, true),
    ("schedules", Role::Viewer, false),
    ("schedule_preview", Role::Operator, false),
    ("schedule_create", Role::Operator, true),
    ("schedule_pause", Role::Operator, true),
    ("rpo", Role::Viewer, false),
    ("drills", Role::Viewer, false),
];

/// `/api/v1` routes (axum path patterns) that change state, with the role they need. Every
/// other `GET` under `/api/v1` needs a viewer; every other method an admin.
pub const API_CHANGES: &[(&str, &str, Role)] = &[
    ("POST", "/api/v1/scans", Role::Operator),
    ("POST", "/api/v1/snapshots", Role::Operator),
    ("DELETE", "/api/v1/snapshots/{tag}", Role::Operator),
    ("POST", "/api/v1/snapshots/{tag}/upload", Role::Operator),
    ("POST", "/api/v1/snapshots/{tag}/fetch", Role::Operator),
    ("POST", "/api/v1/backups/ship", Role::Operator),
    ("POST", "/api/v1/stores/{name}/test", Role::Operator),
    ("POST", "/api/v1/stores/{name}/verify", Role::Operator),
    ("POST", "/api/v1/stores/{name}/reindex", Role::Admin),
    ("DELETE", "/api/v1/uploads/{id}", Role::Admin),
    (
        "PUT",
        "/api/v1/nodes/{name}/incremental-backups",
        Role::Admin,
    ),
    // Anyone signed in creates tokens for themselves only (the handler refuses others).
    ("POST", "/api/v1/tokens", Role::Viewer),
    ("DELETE", "/api/v1/tokens/{id}", Role::Admin),
    ("POST", "/api/v1/restores/plan", Role::Operator),
    ("POST", "/api/v1/restores", Role::Operator),
    ("POST", "/api/v1/restores/{id}/approve", Role::Approver),
    ("POST", "/api/v1/restores/{id}/reject", Role::Approver),
    ("POST", "/api/v1/restores/{id}/execute", Role::Operator),
    ("POST", "/api/v1/restores/{id}/resume", Role::Operator),
    // The requester or an admin (the handler refuses others).
    ("POST", "/api/v1/restores/{id}/cancel", Role::Operator),
    ("DELETE", "/api/v1/restores/{id}/aside", Role::Admin),
    ("POST", "/api/v1/schedules", Role::Operator),
    ("POST", "/api/v1/schedules/preview", Role::Operator),
    ("PATCH", "/api/v1/schedules/{id}", Role::Operator),
    ("DELETE", "/api/v1/schedules/{id}", Role::Operator),
    ("POST", "/api/v1/schedules/{id}/run", Role::Operator),
    ("POST", "/api/v1/drills", Role::Operator),
    ("POST", "/api/v1/alerts/{id}/ack", Role::Operator),
    ("POST", "/api/v1/retention/auto-snapshots", Role::Operator),
    (
        "POST",
        "/api/v1/clusters/{name}/snapshots/{tag}/retry",
        Role::Operator,
    ),
];

/// `/api/v1` GET routes that need more than a viewer.
pub const API_READS: &[(&str, Role)] = &[
    ("/api/v1/users", Role::Admin),
    ("/api/v1/tokens", Role::Admin),
];

/// The access a request needs. `route` is the matched axum path pattern when there is one.
pub fn access(method: &Method, path: &str, route: Option<&str>) -> Access {
    let open_paths = [
        "/healthz",
        "/login",
        "/favicon.svg",
        "/favicon.ico",
        "/api/openapi.json",
    ];
    if open_paths.contains(&path) || path.starts_with("/pkg/") {
        return Access::Open;
    }
    if path == "/metrics" {
        // Open unless `[auth] metrics_token` is set (checked by the middleware).
        return Access::Open;
    }
    if path == "/logout" {
        return signed(Role::Viewer, true);
    }
    if let Some(endpoint) = path.strip_prefix("/rpc/") {
        return match RPC.iter().find(|(e, ..)| *e == endpoint) {
            Some((_, role, changes)) => signed(*role, *changes),
            None => signed(Role::Admin, true),
        };
    }
    if path.starts_with("/api/") || path == "/api" {
        let pattern = route.unwrap_or(path);
        if method == Method::GET || method == Method::HEAD {
            let role = API_READS
                .iter()
                .find(|(p, _)| *p == pattern)
                .map(|(_, r)| *r)
                .unwrap_or(Role::Viewer);
            return signed(role, false);
        }
        let role = API_CHANGES
            .iter()
            .find(|(m, p, _)| *m == method.as_str() && *p == pattern)
            .map(|(.., r)| *r)
            .unwrap_or(Role::Admin);
        return signed(role, true);
    }
    // Pages: any signed-in user; a form post elsewhere is a change.
    if method == Method::GET || method == Method::HEAD {
        signed(Role::Viewer, false)
    } else {
        signed(Role::Admin, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_a_viewer_and_changes_an_operator_or_more() {
        assert_eq!(access(&Method::GET, "/healthz", None), Access::Open);
        assert_eq!(
            access(&Method::GET, "/pkg/snapkeep.wasm", None),
            Access::Open
        );
        assert_eq!(access(&Method::GET, "/", None), signed(Role::Viewer, false));
        assert_eq!(
            access(&Method::GET, "/api/v1/snapshots", Some("/api/v1/snapshots")),
            signed(Role::Viewer, false)
        );
        assert_eq!(
            access(
                &Method::POST,
                "/api/v1/snapshots",
                Some("/api/v1/snapshots")
            ),
            signed(Role::Operator, true)
        );
        assert_eq!(
            access(
                &Method::DELETE,
                "/api/v1/snapshots/x",
                Some("/api/v1/snapshots/{tag}")
            ),
            signed(Role::Operator, true)
        );
        assert_eq!(
            access(&Method::GET, "/api/v1/users", Some("/api/v1/users")),
            signed(Role::Admin, false)
        );
        assert_eq!(
            access(&Method::POST, "/rpc/snapshot_create", None),
            signed(Role::Operator, true)
        );
        assert_eq!(
            access(&Method::POST, "/rpc/overview", None),
            signed(Role::Viewer, false)
        );
    }

    #[test]
    fn anything_unlisted_needs_an_admin() {
        assert_eq!(
            access(&Method::POST, "/rpc/something_new", None),
            signed(Role::Admin, true)
        );
        assert_eq!(
            access(&Method::PUT, "/api/v1/snapshots", Some("/api/v1/snapshots")),
            signed(Role::Admin, true)
        );
        assert_eq!(
            access(&Method::POST, "/api/v1/nope", None),
            signed(Role::Admin, true)
        );
        assert_eq!(
            access(&Method::POST, "/snapshots", None),
            signed(Role::Admin, true)
        );
    }
}
