//! Authentication and authorization through the real router: every route in the OpenAPI
//! document and every server function refuses a request without identity (401) unless it is
//! open, a viewer is refused every change (403, audited), bad credentials never give 500,
//! sessions need the CSRF check, and the audit log records it all.

mod support;

use axum::http::{HeaderMap, Method, StatusCode, header};
use snapkeep::auth::{Role, store};
use support::app::{ADMIN, APPROVER, OPERATOR, VIEWER};
use support::{PASSWORD, TestApp, routes};

/// Every (method, concrete path) of the OpenAPI document.
fn api_routes() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(snapkeep::http::openapi_doc()).expect("openapi");
    let out: Vec<(Method, String)> = routes::documented(&doc)
        .into_iter()
        .map(|(m, path)| {
            let method = Method::from_bytes(m.as_bytes()).expect("method");
            (method, routes::concrete(&path))
        })
        .collect();
    assert!(out.len() >= 10, "the document lists the API: {out:?}");
    out
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn is_open(path: &str) -> bool {
    path == "/healthz"
}

#[tokio::test]
async fn every_api_route_needs_an_identity_unless_open() {
    let app = TestApp::empty().await;
    // Each request from an address of its own: refusals without credentials are limited per
    // address and minute (tested on its own), and this test is about identity, whatever the
    // number of routes.
    for (i, (method, path)) in api_routes().into_iter().enumerate() {
        let (status, headers, body) = app
            .request(method.clone(), &path)
            .sent_from(&client_address(i))
            .body("{}")
            .send_parts()
            .await;
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
    let app = TestApp::empty().await;
    let fns: Vec<(String, Method)> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, m)| (p.to_string(), m))
        .collect();
    assert!(
        fns.iter().any(|(p, _)| p == "/rpc/snapshot_create"),
        "{fns:?}"
    );
    for (i, (path, method)) in fns.into_iter().enumerate() {
        let endpoint = path.trim_start_matches("/rpc/");
        assert!(
            snapkeep::auth::policy::RPC
                .iter()
                .any(|(e, ..)| *e == endpoint),
            "server function {path} is missing from the policy table"
        );
        let (status, _, body) = app
            .request(method.clone(), &path)
            .sent_from(&client_address(i))
            .headers(&[("content-type", "application/x-www-form-urlencoded")])
            .send_parts()
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
    }
}

/// The `i`-th of many distinct client addresses.
fn client_address(i: usize) -> String {
    format!("10.77.{}.{}", i / 250, i % 250 + 1)
}

#[tokio::test]
async fn a_viewer_is_refused_every_change_and_each_refusal_is_audited() {
    let app = TestApp::empty().await;
    let auth = bearer(app.token(VIEWER));
    let mut changes = 0;
    for (method, path) in api_routes() {
        if method == Method::GET || is_open(&path) {
            continue;
        }
        // Creating one's own API token is open to every signed-in user.
        if method == Method::POST && path == "/api/v1/tokens" {
            continue;
        }
        changes += 1;
        let (status, _, body) = app
            .request(method.clone(), &path)
            .headers(&[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ])
            .body("{}")
            .send_parts()
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
        assert!(body.contains("viewer"), "{body}");
    }
    for (endpoint, role, changes_state) in snapkeep::auth::policy::RPC {
        if *changes_state && *role > Role::Viewer {
            changes += 1;
            let (status, _, _) = app
                .request(Method::POST, &format!("/rpc/{endpoint}"))
                .headers(&[("authorization", &auth)])
                .send_parts()
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "/rpc/{endpoint}");
        }
    }
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = 'vic' AND outcome = 'denied'",
    )
    .fetch_one(app.pool())
    .await
    .expect("audit");
    assert_eq!(denied, changes, "one audit entry per refusal");
}

#[tokio::test]
async fn bad_credentials_are_401_never_500() {
    let app = TestApp::empty().await;
    for value in [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer x",
        "Bearer skp_0000",
        "Bearer \tskp_x",
        "Token abc def",
    ] {
        let (status, _, _) = app
            .request(Method::GET, "/api/v1/nodes")
            .headers(&[("authorization", value)])
            .send_parts()
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value:?}");
    }
    // Revoked and expired tokens.
    let (t, dto) = store::create_token(app.pool(), "olga", "tmp", None)
        .await
        .expect("token");
    store::revoke_token(app.pool(), dto.id, None)
        .await
        .expect("revoke");
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/nodes")
        .token(&t)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (t, _) = store::create_token(app.pool(), "olga", "old", Some(-1))
        .await
        .expect("token");
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/nodes")
        .token(&t)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    // A disabled user's token stops working.
    store::set_disabled(app.pool(), "olga", true)
        .await
        .expect("disable");
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/nodes")
        .token(app.token(OPERATOR))
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "disabled user");
    // The right one works, and open routes stay open.
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/nodes")
        .token(app.token(VIEWER))
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.request(Method::GET, "/healthz").send_parts().await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.request(Method::GET, "/metrics").send_parts().await;
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
    let app = TestApp::empty().await;
    let origin = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let (status, headers, _) = post_login(
        &app,
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
    let (_, h1, _) = post_login(&app, &origin, "name=vic&password=wrong+password+x").await;
    let (_, h2, _) = post_login(&app, &origin, "name=nobody&password=wrong+password+x").await;
    assert_eq!(h1.get(header::LOCATION), h2.get(header::LOCATION));
    assert!(h1.get(header::SET_COOKIE).is_none());

    // The session reads pages and the API.
    let (status, _, body) = app
        .request(Method::GET, "/api/v1/me")
        .headers(&[("cookie", &cookie)])
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"vic\""), "{body}");
    // A page without a session redirects to sign-in.
    let (status, headers, _) = app
        .request(Method::GET, "/snapshots?kind=manual")
        .send_parts()
        .await;
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
    let (_, headers, _) = app.request(Method::GET, "/login").send_parts().await;
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
    let app = TestApp::empty().await;
    let form = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    store::set_role(app.pool(), "vic", Role::Operator)
        .await
        .expect("role");
    let (_, headers, _) = post_login(&app, &form, "name=vic&password=a+long+enough+password").await;
    let cookie = session_cookie(&headers).expect("cookie");
    let body = r#"{"tag":"bad tag!"}"#;
    const JSON: &str = "application/json";
    // No Origin: refused before the handler runs.
    let (status, text) =
        post_from(&app, "/api/v1/snapshots", None, Some(&cookie), JSON, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("cross-site"), "{text}");
    // Another site's Origin: refused.
    let evil = Some("https://evil.example");
    let (status, _) = post_from(&app, "/api/v1/snapshots", evil, Some(&cookie), JSON, body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // This site's Origin: reaches the handler (which checks the tag).
    let here = Some("http://snapkeep.test");
    let (status, _) = post_from(&app, "/api/v1/snapshots", here, Some(&cookie), JSON, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Sign-in forms from another site are refused too.
    let form = "application/x-www-form-urlencoded";
    let login = "name=vic&password=a+long+enough+password";
    let (status, _) = post_from(&app, "/login", evil, None, form, login).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Sign-out ends the session.
    let (status, _, _) = app
        .request(Method::POST, "/logout")
        .headers(&[
            ("host", "snapkeep.test"),
            ("origin", "http://snapkeep.test"),
            ("cookie", &cookie),
        ])
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/me")
        .headers(&[("cookie", &cookie)])
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_sign_ins_are_rate_limited_and_audited() {
    let app = TestApp::empty().await;
    let form = [
        ("host", "snapkeep.test"),
        ("origin", "http://snapkeep.test"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    for _ in 0..5 {
        post_login(&app, &form, "name=ada&password=not+the+password").await;
    }
    let (status, headers, page) =
        post_login(&app, &form, "name=ada&password=a+long+enough+password").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(headers.get(header::RETRY_AFTER).is_some());
    assert!(
        page.contains("try again in") && page.contains("/login?error=locked&amp;wait="),
        "{page}"
    );
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (_, _, body) = app
        .request(Method::GET, "/api/v1/audit?actor=ada&outcome=failed")
        .token(app.token(ADMIN))
        .send_parts()
        .await;
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["total"], 5, "{body}");
    let (status, headers, csv) = app
        .request(Method::GET, "/api/v1/audit.csv?actor=ada")
        .token(app.token(VIEWER))
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/csv"))
    );
    assert_eq!(
        csv.lines().count(),
        1 + 5,
        "header + 5 failed (the locked attempt is counted with the address's refusals): {csv}"
    );
    app.auth().flush_noise(true).await;
    let locked: (i64, i64) = sqlx::query_as(
        "SELECT count, status FROM audit_log WHERE via = 'anonymous' AND action = 'login'",
    )
    .fetch_one(app.pool())
    .await
    .expect("counted row");
    assert_eq!(locked, (1, 429));
    // No route changes or deletes audit entries.
    for method in [Method::DELETE, Method::PUT, Method::POST] {
        let (status, _, _) = app
            .request(method, "/api/v1/audit")
            .token(app.token(ADMIN))
            .send_parts()
            .await;
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{status}"
        );
    }
}

#[tokio::test]
async fn users_create_their_own_tokens_and_admins_none_for_others() {
    let app = TestApp::empty().await;
    let admin = bearer(app.token(ADMIN));
    let admin_h = [
        ("authorization", admin.as_str()),
        ("content-type", "application/json"),
    ];
    // An admin may not mint a token for another user.
    let (status, _, body) = app
        .request(Method::POST, "/api/v1/tokens")
        .headers(&admin_h)
        .body(r#"{"user":"olga","name":"cron","expires":"90d"}"#)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("ada may not create one for olga") && body.contains("olga signs in"),
        "{body}"
    );
    let (status, _, _) = app
        .request(Method::POST, "/api/v1/tokens")
        .headers(&admin_h)
        .body(r#"{"user":"ghost"}"#)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor for nobody");
    // Anyone signed in makes their own.
    let op = bearer(app.token(OPERATOR));
    let (status, _, body) = app
        .request(Method::POST, "/api/v1/tokens")
        .headers(&[("authorization", &op), ("content-type", "application/json")])
        .body(r#"{"name":"cron","expires":"90d"}"#)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["user"], "olga");
    assert_eq!(v["created_by"], "olga");
    let token = v["token"].as_str().expect("token").to_string();
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/me")
        .token(&token)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/tokens")
        .headers(&[("authorization", &op)])
        .send_parts()
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "operators do not list tokens"
    );
    let (status, _, _) = app
        .request(Method::DELETE, &format!("/api/v1/tokens/{}", v["id"]))
        .headers(&[("authorization", &admin)])
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/me")
        .token(&token)
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// POSTs the sign-in form `body` with `headers`: the status, headers and text of the answer.
async fn post_login(
    app: &TestApp,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    app.request(Method::POST, "/login")
        .headers(headers)
        .body(body)
        .send_parts()
        .await
}

/// A POST as a browser sends it to `snapkeep.test`: from `origin` (no Origin header when
/// `None`), with the session `cookie` if given: the status and the answer's text.
async fn post_from(
    app: &TestApp,
    path: &str,
    origin: Option<&str>,
    cookie: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, String) {
    let mut headers = vec![("host", "snapkeep.test"), ("content-type", content_type)];
    headers.extend(origin.map(|o| ("origin", o)));
    headers.extend(cookie.map(|c| ("cookie", c)));
    let (status, _, text) = app
        .request(Method::POST, path)
        .headers(&headers)
        .body(body)
        .send_parts()
        .await;
    (status, text)
}

const FORM: [(&str, &str); 3] = [
    ("host", "snapkeep.test"),
    ("origin", "http://snapkeep.test"),
    ("content-type", "application/x-www-form-urlencoded"),
];

/// Signs in; returns the session cookie (`name=value`).
async fn sign_in(app: &TestApp, name: &str, password: &str) -> String {
    let body = format!("name={name}&password={}", password.replace(' ', "+"));
    let (status, headers, _) = post_login(app, &FORM, &body).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    session_cookie(&headers).expect("signed in")
}

/// A restore request by `olga`, awaiting approval (written straight to the catalog: no
/// Cassandra here).
async fn awaiting_request(pool: &sqlx::SqlitePool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO restore_requests (node, tag, tables, target, reason, requested_by, requested_at, plan, plan_hash, state) \
         VALUES ('node1', 'nightly', '[\"shop.orders\"]', 'side', 'test', 'olga', 0, '{}', 'h', 'awaiting_approval') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("request")
}

async fn approve(app: &TestApp, id: i64, token: &str) -> (StatusCode, String) {
    let (status, _, body) = app
        .request(Method::POST, &format!("/api/v1/restores/{id}/approve"))
        .headers(&[
            ("authorization", &bearer(token)),
            ("content-type", "application/json"),
        ])
        .body(r#"{"comment":"ok"}"#)
        .send_parts()
        .await;
    (status, body)
}

#[tokio::test]
async fn approvals_count_only_from_credentials_their_holder_created() {
    use snapkeep::cli::admin::{TokenCommand, UserCommand, run_token, run_user};
    let app = TestApp::empty().await;
    let id = awaiting_request(app.pool()).await;

    // A token the command line made for bob: it works, but bob did not make it.
    let cli_token = run_token(
        app.pool(),
        TokenCommand::Create {
            user: "bob".into(),
            name: "cli".into(),
            expires: None,
        },
    )
    .await
    .expect("cli token");
    let (status, body) = approve(&app, id, cli_token.trim()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("was not created by bob") && body.contains("command line"),
        "{body}"
    );
    // Nor can it mint a token bob would then "own".
    let (status, _, body) = app
        .request(Method::POST, "/api/v1/tokens")
        .headers(&[
            ("authorization", &bearer(cli_token.trim())),
            ("content-type", "application/json"),
        ])
        .body("{}")
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // bob signs in and makes his own token: his approval passes the credential check (and
    // stops only because the request's node is not configured here).
    let cookie = sign_in(&app, APPROVER, PASSWORD).await;
    let here = Some("http://snapkeep.test");
    let json = "application/json";
    let (status, body) = post_from(
        &app,
        "/api/v1/tokens",
        here,
        Some(&cookie),
        json,
        r#"{"name":"mine"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let own = v["token"].as_str().expect("token").to_string();
    let own_id = v["id"].as_i64().expect("id");
    let (status, body) = approve(&app, id, &own).await;
    assert_ne!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("is not configured"), "{body}");
    // The audit log names the real actor and credential of each attempt.
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT actor, via, credential, outcome FROM audit_log WHERE action = 'POST /api/v1/restores/{id}/approve' ORDER BY id",
    )
    .fetch_all(app.pool())
    .await
    .expect("audit");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].3.as_str()),
        ("bob", "token", "failed")
    );
    assert!(rows[0].2.starts_with("token "), "{rows:?}");
    assert_eq!(rows[1].2, format!("token {own_id}"));

    // A password someone else set (a generated one, from the command line): approvals wait
    // until bob changes it himself.
    let out = run_user(
        app.pool(),
        UserCommand::SetPassword {
            name: "bob".into(),
            password_stdin: false,
        },
    )
    .await
    .expect("set-password");
    let generated = out
        .lines()
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .expect("password")
        .to_string();
    let (status, body) = approve(&app, id, &own).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("bob's password was set by cli:") && body.contains("must change it"),
        "{body}"
    );
    // bob changes it (the old one is needed).
    let change = |old: &str, new: &str| {
        format!(
            "old_password={}&new_password={}",
            old.replace(' ', "+"),
            new.replace(' ', "+")
        )
    };
    let (status, _, body) = app
        .request(Method::POST, "/rpc/password_change")
        .headers(&[
            ("authorization", &bearer(&own)),
            ("content-type", "application/x-www-form-urlencoded"),
        ])
        .body(&change("not the password", "bob's new password"))
        .send_parts()
        .await;
    assert_ne!(status, StatusCode::OK, "a wrong old password: {body}");
    assert!(body.contains("current password is wrong"), "{body}");
    let (status, _, body) = app
        .request(Method::POST, "/rpc/password_change")
        .headers(&[
            ("authorization", &bearer(&own)),
            ("content-type", "application/x-www-form-urlencoded"),
        ])
        .body(&change(&generated, "bob's new password"))
        .send_parts()
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = approve(&app, id, &own).await;
    assert_ne!(status, StatusCode::FORBIDDEN, "{body}");
    // Passwords never reach the audit log.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE detail LIKE '%new+password%' OR detail LIKE ?",
    )
    .bind(format!("%{generated}%"))
    .fetch_one(app.pool())
    .await
    .expect("audit");
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn disabling_a_user_revokes_their_tokens_for_good() {
    let app = TestApp::empty().await;
    let me = |t: String| {
        let r = app.clone();
        async move {
            r.request(Method::GET, "/api/v1/me")
                .token(&t)
                .send_parts()
                .await
                .0
        }
    };
    assert_eq!(me(app.token(OPERATOR).to_string()).await, StatusCode::OK);
    store::set_disabled(app.pool(), "olga", true)
        .await
        .expect("disable");
    store::set_disabled(app.pool(), "olga", false)
        .await
        .expect("enable");
    assert_eq!(
        me(app.token(OPERATOR).to_string()).await,
        StatusCode::UNAUTHORIZED,
        "enabling again brings no token back"
    );
    let revoked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'olga' AND t.revoked_at IS NOT NULL",
    )
    .fetch_one(app.pool())
    .await
    .expect("tokens");
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn a_burst_of_bad_sign_ins_hashes_at_most_the_failure_limit() {
    let app = TestApp::empty().await;
    let before = app.auth().passwords.computed();
    let mut burst = Vec::new();
    for _ in 0..200 {
        let r = app.clone();
        burst.push(tokio::spawn(async move {
            r.request(Method::POST, "/login")
                .headers(&FORM)
                .body("name=ada&password=not+the+password")
                .send_parts()
                .await
                .0
        }));
    }
    let mut limited = 0;
    for b in burst {
        if b.await.expect("task") == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    let hashed = app.auth().passwords.computed() - before;
    let max = u64::from(app.auth().config.max_failed_logins);
    assert!(hashed <= max, "{hashed} passwords hashed, limit {max}");
    assert_eq!(limited, 200 - hashed, "every other attempt got 429");
}

#[tokio::test]
async fn sign_in_redirects_only_to_same_site_paths() {
    let app = TestApp::empty().await;
    for next in [
        "%2F%2509%2Fevil.example",
        "%2F%09%2Fevil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%2F%255C%255Cevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%250d%250aLocation%3A+x",
    ] {
        let body = format!("name=vic&password=a+long+enough+password&next={next}");
        let (status, headers, _) = post_login(&app, &FORM, &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            headers.get(header::LOCATION).map(|v| v.as_bytes()),
            Some(&b"/"[..]),
            "{next}"
        );
    }
}

#[tokio::test]
async fn anonymous_noise_is_limited_and_counted_once_per_address_and_minute() {
    let app = TestApp::empty().await;
    // Stay inside one minute.
    let into_minute = snapkeep::jobs::now_ms() % 60_000;
    if into_minute > 50_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (61_000 - into_minute) as u64,
        ))
        .await;
    }
    let long = format!("/api/v1/snapshots?q={}", "x".repeat(5000));
    let limit = app.auth().config.anonymous_refusals_per_minute as usize;
    let mut statuses = Vec::new();
    for i in 0..100 {
        let auth = if i % 2 == 0 { "Bearer skp_forged" } else { "" };
        let headers: Vec<(&str, &str)> = if auth.is_empty() {
            vec![]
        } else {
            vec![("authorization", auth)]
        };
        let (status, h, _) = app
            .request(Method::POST, &long)
            .sent_from("203.0.113.9")
            .headers(&headers)
            .body("{}")
            .send_parts()
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(h.get(header::RETRY_AFTER).is_some());
        }
        statuses.push(status);
    }
    assert!(
        statuses[..limit]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    assert!(
        statuses[limit..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    let (status, _, _) = app
        .request(Method::GET, "/api/v1/nodes")
        .sent_from("198.51.100.1")
        .send_parts()
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "other addresses are not held up"
    );
    app.auth().flush_noise(true).await;
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT count, status, length(target) FROM audit_log WHERE address = '203.0.113.9'",
    )
    .fetch_all(app.pool())
    .await
    .expect("audit");
    assert_eq!(
        rows.len(),
        1,
        "one row for the address and minute: {rows:?}"
    );
    assert_eq!((rows[0].0, rows[0].1), (100, 429));
    assert!(rows[0].2 <= 512, "long paths are cut: {rows:?}");
}

#[tokio::test]
async fn the_audit_chain_is_verified_and_a_changed_row_is_named() {
    use snapkeep::cli::admin::{AuditCommand, run_audit};
    let app = TestApp::empty().await;
    // A few audited changes.
    for _ in 0..3 {
        app.request(Method::POST, "/api/v1/snapshots")
            .token(app.token(VIEWER))
            .body("{}")
            .send_parts()
            .await;
    }
    let chain = |app: &TestApp| {
        let r = app.clone();
        let t = bearer(app.token(VIEWER));
        async move {
            let (status, _, body) = r
                .request(Method::POST, "/rpc/audit_chain")
                .headers(&[
                    ("authorization", &t),
                    ("content-type", "application/x-www-form-urlencoded"),
                ])
                .send_parts()
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            serde_json::from_str::<serde_json::Value>(&body).expect("json")
        }
    };
    let v = chain(&app).await;
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["rows"].as_i64().unwrap_or(0) >= 3, "{v}");
    let out = run_audit(app.pool(), AuditCommand::Verify)
        .await
        .expect("intact");
    assert!(out.contains("intact"), "{out}");
    // Someone with the catalog file drops the trigger and edits a row.
    let victim: i64 = sqlx::query_scalar("SELECT min(id) + 1 FROM audit_log")
        .fetch_one(app.pool())
        .await
        .expect("row");
    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(app.pool())
        .await
        .expect("drop");
    sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE id = ?")
        .bind(victim)
        .execute(app.pool())
        .await
        .expect("tamper");
    let v = chain(&app).await;
    assert_eq!(v["intact"], false);
    assert_eq!(v["broken_at"], victim);
    match run_audit(app.pool(), AuditCommand::Verify).await {
        Err(snapkeep::auth::AuthError::ChainBroken { id, .. }) => assert_eq!(id, victim),
        other => panic!("expected a broken chain at {victim}: {other:?}"),
    }
}
