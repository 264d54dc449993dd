//! The HTTP edge driven through the real router (`tower::ServiceExt::oneshot`) with a real
//! SQLite catalog in a temporary directory, every request signed by an admin's API token
//! (tests/auth.rs covers requests without one).

mod support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::TestApp;
use support::routes::{self, Route};

#[tokio::test]
async fn healthz_reports_version_and_catalog() {
    let app = TestApp::empty().await;
    let answer = app.fetch("/healthz").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.content_type().starts_with("application/json"));
    let v = answer.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["catalog"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn healthz_is_503_when_the_catalog_is_unusable() {
    let app = TestApp::empty().await;
    // Close the pool under the server: the catalog can no longer answer.
    app.pool().close().await;
    let answer = app.fetch("/healthz").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let v = answer.json();
    assert_eq!(v["status"], "unavailable");
    assert!(v["catalog"].as_str().unwrap_or("").contains("catalog"));
}

#[tokio::test]
async fn calculator_api_matches_the_seed_example() {
    let app = TestApp::empty().await;
    let (status, v) = app.get("/api/v1/calculator?live_gb=100&churn_pct=50").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["live_gb"], 100.0);
    assert_eq!(v["hold_gb"], 50.0);
    assert_eq!(v["total_gb"], 150.0);
}

#[tokio::test]
async fn calculator_api_names_the_bad_field_and_range() {
    let app = TestApp::empty().await;
    let (status, v) = app
        .get("/api/v1/calculator?live_gb=5000&churn_pct=50")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["field"], "live_gb");
    assert!(
        v["message"].as_str().unwrap_or("").contains("10–1000 GB"),
        "{v}"
    );
    for (query, field) in [("churn_pct=abc", "churn_pct"), ("live=1", "live")] {
        let (status, v) = app.get(&format!("/api/v1/calculator?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(v["field"], field);
    }
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s() {
    let app = TestApp::empty().await;
    for uri in ["/api/v1/nope", "/api/nope", "/api/v2/calculator"] {
        let answer = app.fetch(uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        let ctype = answer.content_type();
        assert!(ctype.starts_with("application/json"), "{uri}: {ctype}");
        assert_eq!(answer.json()["error"], "not_found", "{uri}");
    }
}

#[tokio::test]
async fn unknown_pages_are_styled_404_pages() {
    let app = TestApp::empty().await;
    let answer = app.fetch("/definitely/not/here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let ctype = answer.content_type();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(answer.text.contains("Page not found"));
    assert!(
        answer.text.contains("aria-label=\"Main\""),
        "navigation is on the 404 page"
    );
}

#[tokio::test]
async fn pages_are_server_rendered() {
    let app = TestApp::empty().await;
    let answer = app.fetch("/calculator?live_gb=200&churn_pct=25").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.text.contains("250 GB"),
        "total rendered on the server"
    );
    assert!(
        answer.text.contains("/pkg/snapkeep.js"),
        "hydration script referenced"
    );
}

/// Routes as `METHOD /path` lines, for a failure message.
fn listed<'a>(routes: impl IntoIterator<Item = &'a Route>) -> String {
    routes
        .into_iter()
        .map(|(m, p)| format!("\n  {m} {p}"))
        .collect()
}

#[tokio::test]
async fn openapi_documents_every_api_route() {
    let app = TestApp::empty().await;
    let (status, doc) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/calculator"));
    assert!(paths.contains_key("/healthz"));

    // Every route the router serves under /api/v1 is documented…
    let documented = routes::documented(&doc);
    let served = routes::served_api(&app, &documented).await;
    assert!(
        served.contains(&("GET".into(), "/api/v1/calculator".into())) && served.len() >= 10,
        "the served routes were found: {}",
        listed(&served)
    );
    let shape = |(m, p): &Route| (m.clone(), routes::shape(p));
    let documented_shapes: BTreeSet<_> = documented.iter().map(shape).collect();
    let undocumented: Vec<&Route> = served
        .iter()
        .filter(|r| !documented_shapes.contains(&shape(r)))
        .collect();
    // …and every documented route is served, with the method it is documented with.
    let unserved = routes::unserved(&app, &documented).await;
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but missing from /api/openapi.json:{}\ndocumented but not served:{}",
        listed(undocumented),
        listed(&unserved)
    );
}

#[tokio::test]
async fn metrics_count_requests_in_prometheus_format() {
    let app = TestApp::empty().await;
    app.fetch("/healthz").await;
    app.fetch("/healthz").await;
    let answer = app.fetch("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.content_type().starts_with("text/plain"));
    let body = &answer.text;
    assert!(
        body.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"),
        "{body}"
    );
    assert!(body.contains("process_resident_memory_bytes"));
}

#[tokio::test]
async fn snapshot_requests_are_checked_before_anything_runs() {
    let app = TestApp::empty().await;
    let take = |body: &str| {
        app.admin()
            .request(Method::POST, "/api/v1/snapshots")
            .json_text(body)
            .send()
    };
    let v = take(r#"{"tag":"bad tag!"}"#).await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST);
    let v = v.json();
    assert_eq!(v["field"], "tag");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("[A-Za-z0-9_.-]")
    );
    let long = format!(r#"{{"tag":"{}"}}"#, "x".repeat(101));
    assert_eq!(take(&long).await.status, StatusCode::BAD_REQUEST);
    for (body, field) in [
        (r#"{"ttl":"soon"}"#, "ttl"),
        (r#"{"tables":["orders"]}"#, "tables"),
    ] {
        let v = take(body).await;
        assert_eq!(
            (v.status, v.json()["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field))
        );
    }
    let v = take("{not json").await;
    assert_eq!(v.status, StatusCode::BAD_REQUEST, "{}", v.text);
    assert!(v.json()["message"].as_str().unwrap_or("").contains("JSON"));
    let v = take(r#"{"node":"nope"}"#).await;
    assert_eq!(v.status, StatusCode::NOT_FOUND);
    assert!(v.json()["message"].as_str().unwrap_or("").contains("nope"));
    let (status, v) = app.post("/api/v1/snapshots", json!({})).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no node configured: {v}"
    );
}

#[tokio::test]
async fn snapshot_list_filters_are_checked_and_unknown_tags_are_404() {
    let app = TestApp::empty().await;
    let (status, v) = app.get("/api/v1/snapshots").await;
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
        let (status, v) = app.get(&format!("/api/v1/snapshots?{query}")).await;
        assert_eq!(
            (status, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{query}: {v}"
        );
    }
    let (status, v) = app.get("/api/v1/snapshots?page=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = app.get("/api/v1/snapshots/nightly").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(v["message"].as_str().unwrap_or("").contains("nightly"));
    let (status, _) = app.delete("/api/v1/snapshots/nightly").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
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
    let app = TestApp::empty().await;
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
        let answer = app.fetch(uri).await;
        let (status, body) = (answer.status, &answer.text);
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{uri}: {status}"
        );
        let csp = answer.header("content-security-policy");
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
            answer.header("cache-control"),
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
    let app = TestApp::empty().await;
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
        let answer = app.fetch(uri).await;
        let status = answer.status;
        assert!(status.as_u16() < 500, "{uri}: {status} {}", answer.text);
        assert_eq!(
            answer.header("cache-control"),
            "no-store",
            "{uri} ({status})"
        );
        let (script_src, _) = script_src_and_nonce(answer.header("content-security-policy"));
        assert!(!script_src.contains("'unsafe-inline'"), "{uri}");
    }
    let answer = app.fetch("/favicon.svg").await;
    assert!(
        answer.header("cache-control").contains("max-age"),
        "the favicon keeps its caching"
    );
}

#[tokio::test]
async fn inputs_that_size_work_are_refused_above_their_maximum() {
    let app = TestApp::empty().await;
    let (status, v) = app.get("/api/v1/snapshots?page=9223372036854775807").await;
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
        let (status, v) = app
            .get(&format!("/api/v1/snapshots/nightly?files_limit={limit}"))
            .await;
        assert_eq!(
            (status, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("files_limit")),
            "{limit}: {v}"
        );
        assert!(v["message"].as_str().unwrap_or("").contains("10000"), "{v}");
    }
    // Tags are nodetool arguments: one that looks like an option is refused.
    let (status, v) = app.post("/api/v1/snapshots", json!({"tag": "-h"})).await;
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
