//! The HTTP edge driven through the real router (`tower::ServiceExt::oneshot`) with a real
//! SQLite catalog in a temporary directory.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use snapkeep::catalog::Catalog;
use snapkeep::config::HttpConfig;
use snapkeep::http::{AppState, app};
use tower::ServiceExt as _;

/// The router, with every request signed by an admin's API token (tests/auth.rs covers
/// requests without one).
async fn router() -> (axum::Router, tempfile::TempDir) {
    use snapkeep::auth::{Role, store};
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("catalog");
    store::add_user(catalog.pool(), "admin", Role::Admin, "a long test password")
        .await
        .expect("user");
    let (token, _) = store::create_token(catalog.pool(), "admin", "tests", None)
        .await
        .expect("token");
    let state = AppState::new(
        catalog,
        vec![],
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
    );
    let bearer =
        axum::http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    let sign = move |mut req: Request<Body>| {
        let bearer = bearer.clone();
        async move {
            req.headers_mut()
                .entry(axum::http::header::AUTHORIZATION)
                .or_insert(bearer);
            req
        }
    };
    let router = app(state, &HttpConfig::default()).layer(axum::middleware::map_request(sign));
    (router, dir)
}

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let resp = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).expect("JSON body")
}

#[tokio::test]
async fn healthz_reports_version_and_catalog() {
    let (r, _dir) = router().await;
    let (status, ctype, body) = get(&r, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/json"));
    let v = json(&body);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["catalog"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn healthz_is_503_when_the_catalog_is_unusable() {
    let (r, dir) = router().await;
    // Close the pool under the server: the catalog can no longer answer.
    let catalog = Catalog::open(&dir.path().join("catalog.db"))
        .await
        .expect("open");
    let state = AppState::new(
        catalog.clone(),
        vec![],
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
    );
    let r2 = app(state, &HttpConfig::default());
    catalog.pool().close().await;
    let (status, _, body) = get(&r2, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let v = json(&body);
    assert_eq!(v["status"], "unavailable");
    assert!(v["catalog"].as_str().unwrap_or("").contains("catalog"));
    drop(r);
}

#[tokio::test]
async fn calculator_api_matches_the_seed_example() {
    let (r, _dir) = router().await;
    let (status, _, body) = get(&r, "/api/v1/calculator?live_gb=100&churn_pct=50").await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v["live_gb"], 100.0);
    assert_eq!(v["hold_gb"], 50.0);
    assert_eq!(v["total_gb"], 150.0);
}

#[tokio::test]
async fn calculator_api_names_the_bad_field_and_range() {
    let (r, _dir) = router().await;
    let (status, _, body) = get(&r, "/api/v1/calculator?live_gb=5000&churn_pct=50").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v = json(&body);
    assert_eq!(v["field"], "live_gb");
    assert!(
        v["message"].as_str().unwrap_or("").contains("10–1000 GB"),
        "{body}"
    );
    let (status, _, body) = get(&r, "/api/v1/calculator?churn_pct=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["field"], "churn_pct");
    let (status, _, body) = get(&r, "/api/v1/calculator?live=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["field"], "live");
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let (r, _dir) = router().await;
    for uri in ["/api/v1/nope", "/api/nope", "/api/v2/calculator"] {
        let (status, ctype, body) = get(&r, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(ctype.starts_with("application/json"), "{uri}: {ctype}");
        assert_eq!(json(&body)["error"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn unknown_pages_are_styled_404_pages() {
    let (r, _dir) = router().await;
    let (status, ctype, body) = get(&r, "/definitely/not/here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("Page not found"));
    assert!(
        body.contains("aria-label=\"Main\""),
        "navigation is on the 404 page"
    );
}

#[tokio::test]
async fn pages_are_server_rendered() {
    let (r, _dir) = router().await;
    let (status, _, body) = get(&r, "/calculator?live_gb=200&churn_pct=25").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("250 GB"), "total rendered on the server");
    assert!(
        body.contains("/pkg/snapkeep.js"),
        "hydration script referenced"
    );
}

#[tokio::test]
async fn openapi_documents_every_api_route() {
    let (r, _dir) = router().await;
    let (status, _, body) = get(&r, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    let paths = v["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/calculator"));
    assert!(paths.contains_key("/healthz"));
}

#[tokio::test]
async fn metrics_count_requests_in_prometheus_format() {
    let (r, _dir) = router().await;
    get(&r, "/healthz").await;
    get(&r, "/healthz").await;
    let (status, ctype, body) = get(&r, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/plain"));
    assert!(
        body.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
        "{body}"
    );
    assert!(body.contains("process_resident_memory_bytes"));
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let resp = router
        .clone()
        .oneshot(
            req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
                .expect("request"),
        )
        .await
        .expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn snapshot_requests_are_checked_before_anything_runs() {
    let (r, _dir) = router().await;
    let (status, v) = send(
        &r,
        "POST",
        "/api/v1/snapshots",
        Some(r#"{"tag":"bad tag!"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "tag");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("[A-Za-z0-9_.-]")
    );
    let long = format!(r#"{{"tag":"{}"}}"#, "x".repeat(101));
    let (status, _) = send(&r, "POST", "/api/v1/snapshots", Some(&long)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, v) = send(&r, "POST", "/api/v1/snapshots", Some(r#"{"ttl":"soon"}"#)).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ttl"))
    );
    let (status, v) = send(
        &r,
        "POST",
        "/api/v1/snapshots",
        Some(r#"{"tables":["orders"]}"#),
    )
    .await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tables"))
    );
    let (status, v) = send(&r, "POST", "/api/v1/snapshots", Some("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap_or("").contains("JSON"));
    let (status, v) = send(&r, "POST", "/api/v1/snapshots", Some(r#"{"node":"nope"}"#)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["message"].as_str().unwrap_or("").contains("nope"));
    let (status, v) = send(&r, "POST", "/api/v1/snapshots", Some("{}")).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no node configured: {v}"
    );
}

#[tokio::test]
async fn snapshot_list_filters_are_checked_and_unknown_tags_are_404() {
    let (r, _dir) = router().await;
    let (status, v) = send(&r, "GET", "/api/v1/snapshots", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            v["total"].as_i64(),
            v["page"].as_i64(),
            v["per_page"].as_i64()
        ),
        (Some(0), Some(1), Some(50))
    );
    for (query, field) in [
        ("kind=weird", "kind"),
        ("status=lost", "status"),
        ("from=yesterday", "from"),
        ("from=2026-11-24&to=2026-11-01", "to"),
        ("sort=colour", "sort"),
        ("per_page=100000", "per_page"),
    ] {
        let (status, v) = send(&r, "GET", &format!("/api/v1/snapshots?{query}"), None).await;
        assert_eq!(
            (status, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{query}: {v}"
        );
    }
    let (status, v) = send(&r, "GET", "/api/v1/snapshots?page=abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = send(&r, "GET", "/api/v1/snapshots/nightly", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["message"].as_str().unwrap_or("").contains("nightly"));
    let (status, _) = send(&r, "DELETE", "/api/v1/snapshots/nightly", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn get_with_headers(
    router: &axum::Router,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn header_text<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The `script-src` directive of a CSP and the nonce it names.
fn script_src_and_nonce(csp: &str) -> (String, Option<String>) {
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or("")
        .to_string();
    let nonce = script_src
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-"))
        .map(|s| s.trim_end_matches('\'').to_string());
    (script_src, nonce)
}

#[tokio::test]
async fn pages_carry_a_fresh_script_nonce_that_the_csp_names() {
    let (r, _dir) = router().await;
    let mut seen = Vec::new();
    for uri in [
        "/",
        "/calculator",
        "/calculator",
        "/snapshots",
        "/restores",
        "/reports",
        "/settings",
        "/settings/audit",
        "/login",
        "/definitely/not/here",
    ] {
        let (status, headers, body) = get_with_headers(&r, uri).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{uri}: {status}"
        );
        let csp = header_text(&headers, "content-security-policy");
        let (script_src, nonce) = script_src_and_nonce(csp);
        assert!(
            !script_src.contains("'unsafe-inline'"),
            "{uri}: inline scripts allowed without a nonce: {csp}"
        );
        assert!(script_src.contains("'wasm-unsafe-eval'"), "{uri}: {csp}");
        let nonce = nonce.unwrap_or_else(|| panic!("{uri}: no nonce in the CSP: {csp}"));
        assert!(nonce.len() >= 22, "{uri}: nonce `{nonce}` is too short");
        // Every script Leptos wrote into the page carries this response's nonce.
        let scripts: Vec<&str> = body
            .match_indices("<script")
            .map(|(i, _)| {
                let end = body[i..].find('>').map(|e| i + e).unwrap_or(body.len());
                &body[i..end]
            })
            .collect();
        assert!(!scripts.is_empty(), "{uri}: no hydration script");
        for tag in scripts {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "{uri}: script without the response's nonce: {tag}"
            );
        }
        assert_eq!(
            header_text(&headers, "cache-control"),
            "no-store",
            "{uri}: pages with catalog data must not be stored"
        );
        seen.push(nonce);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a nonce was used twice: {seen:?}");
}

#[tokio::test]
async fn api_answers_are_not_stored_and_static_assets_may_be() {
    let (r, _dir) = router().await;
    for uri in [
        "/api/v1/snapshots",
        "/api/v1/restores",
        "/api/v1/nodes",
        "/api/v1/tables",
        "/api/v1/reports/storage",
        "/api/v1/reports/storage.csv",
        "/api/v1/audit",
        "/api/v1/nope",
        "/healthz",
        "/metrics",
    ] {
        let (status, headers, body) = get_with_headers(&r, uri).await;
        assert!(status.as_u16() < 500, "{uri}: {status} {body}");
        assert_eq!(
            header_text(&headers, "cache-control"),
            "no-store",
            "{uri} ({status})"
        );
        let (script_src, _) =
            script_src_and_nonce(header_text(&headers, "content-security-policy"));
        assert!(!script_src.contains("'unsafe-inline'"), "{uri}");
    }
    let (_, headers, _) = get_with_headers(&r, "/favicon.svg").await;
    assert!(
        header_text(&headers, "cache-control").contains("max-age"),
        "the favicon keeps its caching"
    );
}

#[tokio::test]
async fn inputs_that_size_work_are_refused_above_their_maximum() {
    let (r, _dir) = router().await;
    let (status, v) = send(
        &r,
        "GET",
        "/api/v1/snapshots?page=9223372036854775807",
        None,
    )
    .await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("page")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap_or("").contains("1000000"),
        "{v}"
    );
    for limit in ["1000000000", "-1"] {
        let (status, v) = send(
            &r,
            "GET",
            &format!("/api/v1/snapshots/nightly?files_limit={limit}"),
            None,
        )
        .await;
        assert_eq!(
            (status, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("files_limit")),
            "{limit}: {v}"
        );
        assert!(v["message"].as_str().unwrap_or("").contains("10000"), "{v}");
    }
    // Tags are nodetool arguments: one that looks like an option is refused.
    let (status, v) = send(&r, "POST", "/api/v1/snapshots", Some(r#"{"tag":"-h"}"#)).await;
    assert_eq!(
        (status, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("tag")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("start with `-`"),
        "{v}"
    );
}
