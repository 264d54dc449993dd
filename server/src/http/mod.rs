//! The HTTP edge: the axum router with the Leptos pages, `/healthz`, `/metrics`, the OpenAPI
//! document and every `/api/v1` route, wrapped in tracing, compression, timeout, body-limit,
//! metrics and security-header ([`headers`]) layers.

pub mod backend;
pub mod error;
pub mod headers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, shell};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Serialize;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use crate::state::{AppState, ServiceConfig};

use crate::config::HttpConfig;
use error::{ApiError, ErrorBody};

/// The OpenAPI document's title, description and shared schemas; its paths come from the
/// routers ([`api`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Snapkeep API",
        description = "Snapshots, backups, storage growth and approval-gated restores for Apache Cassandra."
    ),
    components(schemas(ErrorBody, Health, crate::calculator::CalculatorResponse))
)]
pub struct ApiDoc;

/// Builds the whole application router.
pub fn app(state: AppState, http: &HttpConfig) -> Router {
    let leptos_options = state.leptos.clone();
    let routes = generate_route_list(App);
    let (api, doc) = api();
    let doc = Arc::new(doc);
    let backend: app::api::BackendHandle = Arc::new(backend::Services {
        inventory: state.inventory.clone(),
        snapshots: state.snapshots.clone(),
        auth: state.auth.clone(),
        restores: state.restores.clone(),
        reports: state.reports.clone(),
        backups: state.backups.clone(),
        alerts: state.alerts.clone(),
        schedules: state.schedules.clone(),
        rpo: state.rpo.clone(),
        drills: state.drills.clone(),
        pool: state.catalog.pool().clone(),
    });
    let context = move || {
        leptos::prelude::provide_context(backend.clone());
        headers::provide_request_nonce();
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/login", axum::routing::post(crate::auth::routes::login))
        .route("/logout", axum::routing::post(crate::auth::routes::logout))
        .merge(api)
        .route("/api", get(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware::guard,
        ))
        // Outside the guard, so its refusals and redirects get the same policy.
        .layer(middleware::from_fn(headers::security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(RequestBodyLimitLayer::new(http.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(http.request_timeout_secs),
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Health of the server and its catalog.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Snapkeep version.
    pub version: &'static str,
    /// `ok`, or why the catalog cannot be used.
    pub catalog: String,
}

/// Liveness and catalog health.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The catalog cannot be used", body = Health),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.catalog.health().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                version: env!("CARGO_PKG_VERSION"),
                catalog: "ok".into(),
            }),
        ),
        Err(err) => {
            tracing::warn!(error = %err, "health check: catalog unusable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    version: env!("CARGO_PKG_VERSION"),
                    catalog: err.to_string(),
                }),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    crate::metrics::catalog::render(state.catalog.pool(), &mut text).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// Every `/api/v1` route with its OpenAPI document: each domain's router registers a route
/// together with its documentation, so no route exists undocumented.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(crate::calculator::calculator))
        .merge(crate::inventory::routes::router())
        .merge(crate::clusters::routes::router())
        .merge(crate::snapshots::routes::router())
        .merge(crate::backups::routes::router())
        .merge(crate::auth::routes::router())
        .merge(crate::restore::routes::router())
        .merge(crate::reports::routes::router())
        .merge(crate::schedules::routes::router())
        .merge(crate::drills::routes::router())
        .merge(crate::rpo::routes::router())
        .merge(crate::alerts::routes::router())
        .split_for_parts()
}

/// The served OpenAPI document (`/api/openapi.json`).
pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    api().1
}

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4f82"/><path d="M16 5 27 16 16 27 5 16z" fill="#f5f7fa"/><path d="M16 10 22 16 16 22 10 16z" fill="#2f8f5b"/></svg>"##;

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

async fn api_not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no API route {} {}; see /api/openapi.json for the routes",
        req.method(),
        req.uri().path()
    ))
}

/// Records method, route pattern, status and latency of every request.
async fn track_metrics(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".to_string());
    let response = next.run(req).await;
    state
        .metrics
        .record_request(&method, &route, response.status().as_u16(), start.elapsed());
    response
}
