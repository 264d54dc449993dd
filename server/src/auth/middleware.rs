//! The authentication layer every request passes: identifies the caller (`Authorization:
//! Bearer` API token, else the session cookie), applies [`super::policy`], checks that a
//! cookie-authenticated change comes from this site (CSRF), records changes and refusals in
//! the audit log (naming the credential: session or token id), and adds the security
//! headers. Refusals of requests without valid credentials are counted per address and
//! minute ([`super::noise`]): 429 beyond the limit, one audit row per address and minute.
//! Signed-in requests run inside [`super::credential::scope`] and carry an
//! [`app::api::AuthHandle`] for the account server functions.

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use std::sync::Arc;

use app::api::{AccountDto, AuditChainDto, AuthBackend, AuthHandle, BoxFuture};

use super::audit::{self, Entry};
use super::noise::Answer;
use super::policy::{self, Access};
use super::{AuthError, Identity, Via, constant_time_eq, store};
use crate::clock::now_ms;
use crate::http::error::ApiError;
use crate::state::AppState;

pub use super::state::AuthState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "snapkeep_session";

/// Paths whose request bodies are never copied into the audit log.
const SECRET_BODIES: &[&str] = &["/rpc/password_change"];

/// Largest request body copied into the audit log's detail.
const MAX_AUDITED_BODY: usize = 64 * 1024;

/// The peer address of a request (`-` when unknown, e.g. in tests).
pub fn peer(req_ext: &axum::http::Extensions) -> String {
    req_ext
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "-".into())
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Who is calling: Ok(None) when no credentials were sent, Err when credentials were sent
/// but are malformed, unknown, expired or revoked.
async fn identify(state: &AuthState, headers: &HeaderMap) -> Result<Option<Identity>, String> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let text = auth.to_str().unwrap_or("");
        let token = text
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or("malformed Authorization header: send `Authorization: Bearer <token>`")?;
        return match store::token_identity(&state.pool, token).await {
            Ok(Some(i)) => Ok(Some(i)),
            Ok(None) => Err("the API token is unknown, expired or revoked".into()),
            Err(e) => {
                tracing::error!(error = %e, "cannot check an API token");
                Err("cannot check the API token right now".into())
            }
        };
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        return match store::session_identity(&state.pool, &token, state.idle_ms()).await {
            Ok(i) => Ok(i),
            Err(e) => {
                tracing::error!(error = %e, "cannot check a session");
                Ok(None)
            }
        };
    }
    Ok(None)
}

/// Whether a change sent with a session cookie comes from this site: its `Origin` (or, when
/// absent, `Referer`) must name the host the request was sent to.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let rest = source
        .strip_prefix("https://")
        .or_else(|| source.strip_prefix("http://"));
    rest.map(|r| r.split('/').next().unwrap_or("") == host)
        .unwrap_or(false)
}

fn security_headers(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(
        headers,
        "content-security-policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    );
    set(headers, "x-frame-options", "DENY");
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
}

fn is_page(path: &str) -> bool {
    !(path.starts_with("/api")
        || path.starts_with("/rpc/")
        || path == "/metrics"
        || path == "/logout")
}

/// The layer (see the module documentation).
pub async fn guard(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = authorize(&app.auth, req, next).await;
    security_headers(resp.headers_mut());
    resp
}

async fn authorize(state: &AuthState, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let address = peer(req.extensions());
    let access = policy::access(&method, &path, route.as_deref());
    let action = format!("{method} {}", route.clone().unwrap_or_else(|| path.clone()));

    if path == "/metrics"
        && let Some(expected) = &state.config.metrics_token
    {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given, expected) {
            return ApiError::Unauthorized(
                "/metrics needs `Authorization: Bearer <metrics_token>`".into(),
            )
            .into_response();
        }
    }

    let (role, changes) = match access {
        Access::Open => return next.run(req).await,
        Access::Signed { role, changes } => (role, changes),
    };
    state.start_housekeeping();
    let identity = identify(state, req.headers()).await;
    let refuse = |actor: String,
                  via: &'static str,
                  credential: String,
                  outcome_status: StatusCode,
                  why: String| {
        let pool = state.pool.clone();
        let entry = Entry {
            actor,
            via,
            address: address.clone(),
            action: action.clone(),
            target: target.clone(),
            outcome: "denied",
            status: outcome_status.as_u16(),
            detail: why,
            credential,
            count: 1,
        };
        async move { audit::record(&pool, entry).await }
    };
    let identity = match identity {
        Ok(Some(i)) => i,
        Ok(None) if is_page(&path) && (method == Method::GET || method == Method::HEAD) => {
            let next_path = crate::escape::url_component(&target);
            return Redirect::to(&format!("/login?next={next_path}")).into_response();
        }
        Ok(None) => {
            return anonymous(
                state,
                &address,
                &action,
                &target,
                "not signed in".into(),
                "sign in first, or send `Authorization: Bearer <token>` (create one with POST /api/v1/tokens once signed in, or with `snapkeep token create USER` on the server; only your own tokens count for approving restores)".into(),
            );
        }
        Err(why) => {
            return anonymous(state, &address, &action, &target, why.clone(), why);
        }
    };
    let via = identity.via.as_str();
    let credential = identity.via.credential();
    let refusal = if !identity.user.role.allows(role) {
        Some(format!(
            "your role `{}` may not do this; it needs `{}` or higher",
            identity.user.role, role
        ))
    } else if changes && matches!(identity.via, Via::Session { .. }) && !same_origin(req.headers())
    {
        Some("cross-site request refused: a change sent with the session cookie must come from this site (Origin header)".to_string())
    } else {
        None
    };
    if let Some(why) = refusal {
        refuse(
            identity.user.name.clone(),
            via,
            credential.clone(),
            StatusCode::FORBIDDEN,
            why.clone(),
        )
        .await;
        return ApiError::Forbidden(why).into_response();
    }

    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(identity.user.clone());
    parts.extensions.insert(identity.clone());
    parts.extensions.insert(AuthHandle(Arc::new(RequestAuth {
        state: state.clone(),
        identity: identity.clone(),
        address: address.clone(),
    })));
    if !changes {
        return super::credential::scope(identity, next.run(Request::from_parts(parts, body)))
            .await;
    }
    // Changes are audited with their body (small ones), so the log says to what; bodies
    // holding passwords never are.
    let secret = SECRET_BODIES.contains(&path.as_str());
    let (body, detail) = match axum::body::to_bytes(body, MAX_AUDITED_BODY).await {
        Ok(bytes) => {
            let text = if secret {
                "(body not recorded: it holds passwords)".to_string()
            } else {
                String::from_utf8_lossy(&bytes).into_owned()
            };
            (Body::from(bytes), text)
        }
        Err(_) => (
            Body::empty(),
            "(request body larger than 64 KiB, refused)".to_string(),
        ),
    };
    if detail.starts_with("(request body larger") {
        let why = "the request body is larger than 64 KiB".to_string();
        refuse(
            identity.user.name.clone(),
            via,
            credential.clone(),
            StatusCode::PAYLOAD_TOO_LARGE,
            why.clone(),
        )
        .await;
        return ApiError::BadRequest {
            field: None,
            message: why,
        }
        .into_response();
    }
    let actor = identity.user.name.clone();
    let resp = super::credential::scope(identity, next.run(Request::from_parts(parts, body))).await;
    let status = resp.status();
    audit::record(
        &state.pool,
        Entry {
            actor,
            via,
            address,
            action,
            target,
            outcome: if status.is_success() || status.is_redirection() {
                "ok"
            } else {
                "failed"
            },
            status: status.as_u16(),
            detail,
            credential,
            count: 1,
        },
    )
    .await;
    resp
}

/// A refusal of a request without valid credentials: counted for the address (429 beyond
/// the limit), written to the audit log later as one row per address and minute.
fn anonymous(
    state: &AuthState,
    address: &str,
    action: &str,
    target: &str,
    why: String,
    message: String,
) -> Response {
    let answer = state.noise.refused(
        address,
        action,
        target,
        &why,
        now_ms(),
        state.config.anonymous_refusals_per_minute,
    );
    match answer {
        Answer::Unauthorized => with_challenge(ApiError::Unauthorized(message)),
        Answer::TooMany { retry_after_secs } => too_many(
            retry_after_secs,
            format!(
                "too many requests without valid credentials from this address; try again in {retry_after_secs} seconds"
            ),
        ),
    }
}

/// 429 with `Retry-After` and the JSON error body.
pub fn too_many(retry_after_secs: u64, message: String) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({ "error": "too_many_requests", "message": message })),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// The account server functions' view of one signed-in request.
struct RequestAuth {
    state: AuthState,
    identity: Identity,
    address: String,
}

/// The caller changes their own password (see [`store::change_own_password`]); a wrong
/// current password counts toward the sign-in failure limit.
pub async fn change_own_password(
    state: &AuthState,
    who: &Identity,
    address: &str,
    old: &str,
    new: &str,
) -> Result<(), AuthError> {
    if let Via::Token { id } = who.via
        && !super::credential::token_is_own(&state.pool, id).await?
    {
        return Err(AuthError::NotOwnCredential(who.user.name.clone()));
    }
    let now = now_ms();
    let window = (state.config.lockout_window_minutes as i64).saturating_mul(60_000);
    if let Err(wait) = state.limiter.begin(
        &who.user.name,
        address,
        now,
        state.config.max_failed_logins,
        window,
    ) {
        return Err(AuthError::Locked(wait));
    }
    let keep = match &who.via {
        Via::Session { token_hash } => Some(token_hash.as_str()),
        Via::Token { .. } => None,
    };
    let r = store::change_own_password(&state.pool, &state.passwords, who.user_id, old, new, keep)
        .await;
    if !matches!(r, Err(AuthError::WrongPassword)) {
        state.limiter.succeeded_at(&who.user.name, address, now);
    }
    audit::record(
        &state.pool,
        Entry {
            actor: who.user.name.clone(),
            via: who.via.as_str(),
            address: address.to_string(),
            action: "password change".into(),
            target: who.user.name.clone(),
            outcome: if r.is_ok() { "ok" } else { "failed" },
            status: if r.is_ok() { 200 } else { 400 },
            detail: r.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
            credential: who.via.credential(),
            count: 1,
        },
    )
    .await;
    r
}

impl AuthBackend for RequestAuth {
    fn account(&self) -> BoxFuture<'_, AccountDto> {
        Box::pin(async move {
            store::account(&self.state.pool, self.identity.user_id)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn change_password(&self, old: String, new: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            change_own_password(&self.state, &self.identity, &self.address, &old, &new)
                .await
                .map_err(|e| e.to_string())
        })
    }
    fn audit_chain(&self) -> BoxFuture<'_, AuditChainDto> {
        Box::pin(async move {
            audit::verify(&self.state.pool)
                .await
                .map(AuditChainDto::from)
                .map_err(|e| e.to_string())
        })
    }
}

fn with_challenge(e: ApiError) -> Response {
    let mut r = e.into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn same_origin_needs_origin_or_referer_naming_the_host() {
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "a.example"),
            ("referer", "https://a.example/snapshots?x=1")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.example"),
            ("origin", "https://a.example.evil.example")
        ])));
        assert!(
            !same_origin(&headers(&[("host", "a.example")])),
            "no Origin, no Referer"
        );
        assert!(!same_origin(&headers(&[
            ("host", "a.example"),
            ("origin", "null")
        ])));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let h = headers(&[("cookie", "a=1; snapkeep_session=abc; b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers(&[]), SESSION_COOKIE), None);
    }
}
