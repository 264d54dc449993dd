//! Authentication and authorization through the real router: every route in the OpenAPI
//! document and every server function refuses a request without identity (401) unless it is
//! open, a viewer is refused every change (403, audited), bad credentials never give 500,
//! sessions need the CSRF check, and the audit log records it all.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use snapkeep::auth::{Role, store};
use snapkeep::catalog::Catalog;
use snapkeep::config::HttpConfig;
use snapkeep::http::{ApiDoc, AppState, app};
use tower::ServiceExt as _;
use utoipa::OpenApi as _;

struct Fixture {
    router: axum::Router,
    pool: sqlx::SqlitePool,
    viewer: String,
    operator: String,
    admin: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    let pool = catalog.pool().clone();
    let mut tokens = Vec::new();
    for (name, role) in [
        ("vic", Role::Viewer),
        ("olga", Role::Operator),
        ("ada", Role::Admin),
    ] {
        store::add_user(&pool, name, role, "a long enough password")
            .await
            .expect("user");
        tokens.push(
            store::create_token(&pool, name, "t", None)
                .await
                .expect("token")
                .0,
        );
    }
    let state = AppState::new(
        catalog,
        vec![],
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
    );
    Fixture {
        router: app(state, &HttpConfig::default()),
        pool,
        admin: tokens.pop().expect("admin"),
        operator: tokens.pop().expect("operator"),
        viewer: tokens.pop().expect("viewer"),
        _dir: dir,
    }
}

async fn send(
    r: &axum::Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = r
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let h = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, h, String::from_utf8_lossy(&bytes).into_owned())
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// Every (method, concrete path) of the OpenAPI document.
fn api_routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi");
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "delete", "put"] {
            if item.get(method).is_some() {
                let concrete = path.replace("{tag}", "nightly").replace("{id}", "1");
                out.push((
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("m"),
                    concrete,
                ));
            }
        }
    }
    assert!(out.len() >= 10, "the document lists the API: {out:?}");
    out
}

fn is_open(path: &str) -> bool {
    path == "/healthz"
}

#[tokio::test]
async fn every_api_route_needs_an_identity_unless_open() {
    let f = fixture().await;
    for (method, path) in api_routes() {
        let (status, headers, body) = send(&f.router, method.clone(), &path, &[], "{}").await;
        if is_open(&path) {
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} is open");
            continue;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(
            headers.get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
        assert_eq!(v["error"], "unauthorized");
    }
}

#[tokio::test]
async fn every_server_function_needs_an_identity() {
    let f = fixture().await;
    let fns: Vec<(String, Method)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m))
        .collect();
    assert!(
        fns.iter().any(|(p, _)| p == "/rpc/snapshot_create"),
        "{fns:?}"
    );
    for (path, method) in fns {
        let endpoint = path.trim_start_matches("/rpc/");
        assert!(
            snapkeep::auth::policy::RPC
                .iter()
                .any(|(e, ..)| *e == endpoint),
            "server function {path} is missing from the policy table"
        );
        let (status, _, body) = send(
            &f.router,
            method.clone(),
            &path,
            &[("content-type", "application/x-www-form-urlencoded")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn a_viewer_is_refused_every_change_and_each_refusal_is_audited() {
    let f = fixture().await;
    let auth = bearer(&f.viewer);
    let mut changes = 0;
    for (method, path) in api_routes() {
        if method == Method::GET || is_open(&path) {
            continue;
        }
        changes += 1;
        let (status, _, body) = send(
            &f.router,
            method.clone(),
            &path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            "{}",
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(body.contains("viewer"), "{body}");
    }
    for (endpoint, role, changes_state) in snapkeep::auth::policy::RPC {
        if *changes_state && *role > Role::Viewer {
            changes += 1;
            let (status, _, _) = send(
                &f.router,
                Method::POST,
                &format!("/rpc/{endpoint}"),
                &[("authorization", &auth)],
                "",
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "/rpc/{endpoint}");
        }
    }
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = 'vic' AND outcome = 'denied'",
    )
    .fetch_one(&f.pool)
    .await
    .expect("audit");
    assert_eq!(denied, changes, "one audit entry per refusal");
}

#[tokio::test]
async fn bad_credentials_are_401_never_500() {
    let f = fixture().await;
    for value in [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer x",
        "Bearer skp_0000",
        "Bearer \tskp_x",
        "Token abc def",
    ] {
        let (status, _, _) = send(
            &f.router,
            Method::GET,
            "/api/v1/nodes",
            &[("authorization", value)],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value:?}");
    }
    // Revoked and expired tokens.
    let (t, dto) = store::create_token(&f.pool, "olga", "tmp", None)
        .await
        .expect("token");
    store::revoke_token(&f.pool, dto.id, None)
        .await
        .expect("revoke");
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/nodes",
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (t, _) = store::create_token(&f.pool, "olga", "old", Some(-1))
        .await
        .expect("token");
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/nodes",
        &[("authorization", &bearer(&t))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    // A disabled user's token stops working.
    store::set_disabled(&f.pool, "olga", true)
        .await
        .expect("disable");
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/nodes",
        &[("authorization", &bearer(&f.operator))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "disabled user");
    // The right one works, and open routes stay open.
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/nodes",
        &[("authorization", &bearer(&f.viewer))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&f.router, Method::GET, "/healthz", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&f.router, Method::GET, "/metrics", &[], "").await;
    assert_eq!(status, StatusCode::OK);
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

#[tokio::test]
async fn sign_in_gives_a_strict_http_only_session_and_one_answer_for_bad_logins() {
    let f = fixture().await;
    let origin = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let (status, headers, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &origin,
        "name=vic&password=a+long+enough+password&next=%2Fsnapshots",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get(header::LOCATION).map(|v| v.as_bytes()),
        Some(&b"/snapshots"[..])
    );
    let set = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = session_cookie(&headers).expect("cookie");

    // Wrong password and unknown user: the same redirect.
    let (_, h1, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &origin,
        "name=vic&password=wrong+password+x",
    )
    .await;
    let (_, h2, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &origin,
        "name=nobody&password=wrong+password+x",
    )
    .await;
    assert_eq!(h1.get(header::LOCATION), h2.get(header::LOCATION));
    assert!(h1.get(header::SET_COOKIE).is_none());

    // The session reads pages and the API.
    let (status, _, body) = send(
        &f.router,
        Method::GET,
        "/api/v1/me",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"vic\""), "{body}");
    // A page without a session redirects to sign-in.
    let (status, headers, _) =
        send(&f.router, Method::GET, "/snapshots?kind=manual", &[], "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let loc = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        loc.starts_with("/login?next=%2Fsnapshots%3Fkind%3Dmanual"),
        "{loc}"
    );
    // Security headers on every answer.
    let (_, headers, _) = send(&f.router, Method::GET, "/login", &[], "").await;
    assert!(
        headers
            .get("content-security-policy")
            .is_some_and(|v| v.to_str().unwrap_or("").contains("frame-ancestors 'none'"))
    );
    assert_eq!(
        headers.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..])
    );
    assert_eq!(
        headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
}

#[tokio::test]
async fn a_session_change_without_this_sites_origin_is_refused() {
    let f = fixture().await;
    let form = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    store::set_role(&f.pool, "vic", Role::Operator)
        .await
        .expect("role");
    let (_, headers, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &form,
        "name=vic&password=a+long+enough+password",
    )
    .await;
    let cookie = session_cookie(&headers).expect("cookie");
    let body = r#"{"tag":"bad tag!"}"#;
    // No Origin: refused before the handler runs.
    let (status, _, text) = send(
        &f.router,
        Method::POST,
        "/api/v1/snapshots",
        &[
            ("host", "snapkeep.test"),
            ("cookie", &cookie),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("cross-site"), "{text}");
    // Another site's Origin: refused.
    let (status, _, _) = send(
        &f.router,
        Method::POST,
        "/api/v1/snapshots",
        &[
            ("host", "snapkeep.test"),
            ("origin", "https://evil.example"),
            ("cookie", &cookie),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // This site's Origin: reaches the handler (which checks the tag).
    let (status, _, _) = send(
        &f.router,
        Method::POST,
        "/api/v1/snapshots",
        &[
            ("host", "snapkeep.test"),
            ("origin", "http://snapkeep.test"),
            ("cookie", &cookie),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Sign-in forms from another site are refused too.
    let (status, _, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &[
            ("host", "snapkeep.test"),
            ("origin", "https://evil.example"),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "name=vic&password=a+long+enough+password",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Sign-out ends the session.
    let (status, _, _) = send(
        &f.router,
        Method::POST,
        "/logout",
        &[
            ("host", "snapkeep.test"),
            ("origin", "http://snapkeep.test"),
            ("cookie", &cookie),
        ],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/me",
        &[("cookie", &cookie)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_and_audited() {
    let f = fixture().await;
    let form = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    for _ in 0..5 {
        send(
            &f.router,
            Method::POST,
            "/login",
            &form,
            "name=ada&password=not+the+password",
        )
        .await;
    }
    let (_, headers, _) = send(
        &f.router,
        Method::POST,
        "/login",
        &form,
        "name=ada&password=a+long+enough+password",
    )
    .await;
    let loc = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        loc.starts_with("/login?error=locked&wait="),
        "even the right password waits: {loc}"
    );
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (_, _, body) = send(
        &f.router,
        Method::GET,
        "/api/v1/audit?actor=ada&outcome=failed",
        &[("authorization", &bearer(&f.admin))],
        "",
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["total"], 5, "{body}");
    let (status, headers, csv) = send(
        &f.router,
        Method::GET,
        "/api/v1/audit.csv?actor=ada",
        &[("authorization", &bearer(&f.viewer))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/csv"))
    );
    assert_eq!(
        csv.lines().count(),
        1 + 6,
        "header + 5 failed + 1 locked: {csv}"
    );
    // No route changes or deletes audit entries.
    for method in [Method::DELETE, Method::PUT, Method::POST] {
        let (status, _, _) = send(
            &f.router,
            method,
            "/api/v1/audit",
            &[("authorization", &bearer(&f.admin))],
            "",
        )
        .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{status}"
        );
    }
}

#[tokio::test]
async fn admins_manage_tokens_over_the_api() {
    let f = fixture().await;
    let admin = bearer(&f.admin);
    let (status, _, body) = send(
        &f.router,
        Method::POST,
        "/api/v1/tokens",
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        r#"{"user":"olga","name":"cron","expires":"90d"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let token = v["token"].as_str().expect("token").to_string();
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/me",
        &[("authorization", &bearer(&token))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/tokens",
        &[("authorization", &bearer(&f.operator))],
        "",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "operators do not list tokens"
    );
    let (status, _, _) = send(
        &f.router,
        Method::DELETE,
        &format!("/api/v1/tokens/{}", v["id"]),
        &[("authorization", &admin)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(
        &f.router,
        Method::GET,
        "/api/v1/me",
        &[("authorization", &bearer(&token))],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = send(
        &f.router,
        Method::POST,
        "/api/v1/tokens",
        &[
            ("authorization", &admin),
            ("content-type", "application/json"),
        ],
        r#"{"user":"ghost"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
