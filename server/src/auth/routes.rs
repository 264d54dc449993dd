//! Sign-in and sign-out (plain form posts, so they work without JavaScript), and the API of
//! users, tokens and the audit log.

use app::api::{AuditPage, AuditQuery, CurrentUser, TokenDto, UserDto};
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit::{self, Entry};
use super::middleware::{SESSION_COOKIE, peer};
use super::{AuthError, Identity, Via, store};
use crate::clock::now_ms;
use crate::escape::url_component;
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (
                (b[i + 1] as char).to_digit(16),
                (b[i + 2] as char).to_digit(16),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `p` is a path on this site: one leading `/`, not `//`, no `\\`, no control
/// characters.
fn same_site_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
}

/// A redirect target that stays on this site: checked as given and after percent-decoding
/// (repeatedly, so double-encoded tricks fail too); anything else goes to `/`.
fn safe_next(next: Option<&str>) -> String {
    let Some(n) = next else {
        return "/".into();
    };
    let mut seen = n.to_string();
    for _ in 0..4 {
        if !same_site_path(&seen) {
            return "/".into();
        }
        let decoded = percent_decode(&seen);
        if decoded == seen {
            break;
        }
        seen = decoded;
    }
    if !same_site_path(&seen) || seen == "/login" || seen.starts_with("/login?") {
        return "/".into();
    }
    n.to_string()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub name: String,
    pub password: String,
    pub next: Option<String>,
}

fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.auth.config.secure_cookies.unwrap_or_else(|| {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    })
}

/// `POST /login`: checks the name and password (same answer whether the user exists or not),
/// rate-limits failures per user and address, and starts a session.
pub async fn login(State(state): State<AppState>, req: Request) -> Response {
    let headers = req.headers().clone();
    let address = peer(req.extensions());
    let form: Result<Form<LoginForm>, FormRejection> =
        <Form<LoginForm> as axum::extract::FromRequest<AppState>>::from_request(req, &state).await;
    let Ok(Form(form)) = form else {
        return Redirect::to("/login?error=invalid").into_response();
    };
    let next = safe_next(form.next.as_deref());
    let back = |error: &str, extra: &str| {
        Redirect::to(&format!(
            "/login?error={error}{extra}&next={}",
            url_component(&next)
        ))
        .into_response()
    };
    let auth = &state.auth;
    let now = now_ms();
    let window = (auth.config.lockout_window_minutes as i64).saturating_mul(60_000);
    let entry = |outcome: &'static str, status: u16, detail: &str| Entry {
        actor: form.name.chars().take(64).collect(),
        via: "session",
        address: address.clone(),
        action: "login".into(),
        target: String::new(),
        outcome,
        status,
        detail: detail.to_string(),
        credential: String::new(),
        count: 1,
    };
    if !super::middleware::same_origin(&headers) {
        // Counted with the other anonymous refusals (one audit row per address and minute).
        let answer = auth.noise.refused(
            &address,
            "login",
            "",
            "cross-site sign-in form refused",
            now,
            auth.config.anonymous_refusals_per_minute,
        );
        if let super::noise::Answer::TooMany { retry_after_secs } = answer {
            return super::middleware::too_many(
                retry_after_secs,
                format!(
                    "too many refused sign-ins from this address; try again in {retry_after_secs} seconds"
                ),
            );
        }
        return (StatusCode::FORBIDDEN, "cross-site sign-in refused").into_response();
    }
    match store::count_users(&auth.pool).await {
        Ok(0) => return back("nousers", ""),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "cannot read users");
            return back("unavailable", "");
        }
    }
    // The attempt counts as a failure before its password is hashed; a success takes it back.
    if let Err(wait) = auth.limiter.begin(
        &form.name,
        &address,
        now,
        auth.config.max_failed_logins,
        window,
    ) {
        auth.noise
            .limited(&address, "login", "too many failed sign-ins", now);
        return locked(wait, &next);
    }
    let checked = store::check_login(&auth.pool, &auth.passwords, &form.name, &form.password).await;
    let (user_id, _user) = match checked {
        Ok(Some(u)) => u,
        Ok(None) => {
            audit::record(
                &auth.pool,
                entry("failed", 401, "wrong user name or password"),
            )
            .await;
            return back("invalid", "");
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot check a sign-in");
            return back("unavailable", "");
        }
    };
    auth.limiter.succeeded_at(&form.name, &address, now);
    let token = match store::create_session(&auth.pool, user_id, &address, auth.max_ms()).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a session");
            return back("unavailable", "");
        }
    };
    audit::record(&auth.pool, entry("ok", 303, "")).await;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        auth.max_ms() / 1000,
        if secure(&state, &headers) {
            "; Secure"
        } else {
            ""
        }
    );
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// 429 for a locked-out sign-in: `Retry-After`, and a page saying how long to wait with a
/// link back to the form.
fn locked(wait: u64, next: &str) -> Response {
    let back = format!(
        "/login?error=locked&wait={wait}&next={}",
        url_component(next)
    );
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head><body>\
         <p role=\"alert\">Too many failed sign-ins for this user or from this address; try again in {wait} seconds.</p>\
         <p><a href=\"{}\">Back to sign-in</a></p></body></html>",
        back.replace('&', "&amp;")
    );
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    r
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Response {
    if let Via::Session { token_hash } = &who.via
        && let Err(e) = store::delete_session(&state.auth.pool, token_hash).await
    {
        tracing::error!(error = %e, "cannot end a session");
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("snapkeep_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}

/// The API routes of users, tokens and the audit log, each registered with its OpenAPI path
/// (`/login` and `/logout` are form posts of the pages, outside the API).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(users))
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(audit_list))
        .routes(routes!(audit_csv))
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, description = "The signed-in user", body = CurrentUser),
              (status = 401, description = "Not signed in", body = ErrorBody)))]
pub async fn me(Extension(user): Extension<CurrentUser>) -> Json<CurrentUser> {
    Json(user)
}

/// Every user (admins only).
#[utoipa::path(get, path = "/api/v1/users", tag = "auth",
    responses((status = 200, description = "Users", body = [UserDto]),
              (status = 403, description = "Not an admin", body = ErrorBody)))]
pub async fn users(State(state): State<AppState>) -> Result<Json<Vec<UserDto>>, ApiError> {
    Ok(Json(store::list_users(&state.auth.pool).await?))
}

/// Every API token (admins only).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth",
    responses((status = 200, description = "Tokens (never their values)", body = [TokenDto])))]
pub async fn tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenDto>>, ApiError> {
    Ok(Json(store::list_tokens(&state.auth.pool, None).await?))
}

/// A new token request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// Whose token: only the caller's own (the default); anyone else's is refused.
    pub user: Option<String>,
    pub name: Option<String>,
    /// e.g. `90d`; none = no expiry.
    pub expires: Option<String>,
}

/// A new token: shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub record: TokenDto,
}

/// Creates an API token for the caller (anyone signed in; never for another user, admins
/// included); the token is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, description = "The token", body = CreatedToken),
              (status = 403, description = "For another user, or sent with a token its holder did not create", body = ErrorBody)))]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Result<Json<NewToken>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let Json(req) = body?;
    let user = req
        .user
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| who.user.name.clone());
    if user != who.user.name {
        return Err(AuthError::ForAnotherUser {
            caller: who.user.name.clone(),
            user,
        }
        .into());
    }
    let pool = &state.auth.pool;
    if let Via::Token { id } = who.via
        && !super::credential::token_is_own(pool, id).await?
    {
        return Err(AuthError::NotOwnCredential(user).into());
    }
    if store::account(pool, who.user_id)
        .await?
        .must_change_password
    {
        return Err(AuthError::MustChangePassword(user).into());
    }
    let expires = match req.expires.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(super::parse_duration_ms(e)?),
        None => None,
    };
    let name = req.name.unwrap_or_else(|| "api".into());
    let creator = store::TokenCreator::Holder(who.via.as_str());
    let (token, record) = store::create_token_as(pool, &user, &name, expires, creator).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, record })))
}

/// Revokes an API token (admins only).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such token", body = ErrorBody)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("token id `{id}` is not a number")))?;
    store::revoke_token(&state.auth.pool, id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first, with filters.
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery),
    responses((status = 200, description = "One page of the audit log", body = AuditPage),
              (status = 400, description = "A filter is invalid", body = ErrorBody)))]
pub async fn audit_list(
    State(state): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = q?;
    audit::list(&state.auth.pool, &q)
        .await?
        .map(Json)
        .map_err(|(field, message)| ApiError::bad_field(field, message))
}

/// The audit log as CSV (same filters; every matching entry, oldest first).
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "auth", params(AuditQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub async fn audit_csv(
    State(state): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let text = audit::csv(&state.auth.pool, &q)
        .await?
        .map_err(|(field, message)| ApiError::bad_field(field, message))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"snapkeep-audit.csv\"",
            ),
        ],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(safe_next(Some("/snapshots?x=1")), "/snapshots?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "evil",
            "/login",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
            "/%252F/evil.example",
            "/%0d%0aSet-Cookie:x",
            "/%7F",
            "%2F%2Fevil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/a%20b")), "/a%20b", "ordinary escapes pass");
    }
}
