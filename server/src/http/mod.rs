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
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Serialize;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::auth::AuthConfig;
use crate::auth::middleware::AuthState;
use crate::catalog::Catalog;
use crate::config::{HttpConfig, NodeConfig};
use crate::inventory::Inventory;
use crate::metrics::Metrics;
use crate::snapshots::{SnapshotService, SnapshotsConfig};
use error::{ApiError, ErrorBody};

/// Everything a handler may need; cloned per request (all fields are cheap handles).
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub catalog: Catalog,
    pub metrics: Arc<Metrics>,
    pub inventory: Inventory,
    pub snapshots: SnapshotService,
    pub auth: AuthState,
    pub restores: crate::restore::RestoreService,
    /// Storage reports and the sampler's schedule.
    pub reports: crate::reports::ReportService,
}

impl AppState {
    /// State for a server whose web assets are in `site_root`, listening on `addr`.
    pub fn new(
        catalog: Catalog,
        nodes: Vec<NodeConfig>,
        site_root: &std::path::Path,
        addr: std::net::SocketAddr,
    ) -> Self {
        let env = match std::env::var("LEPTOS_ENV").map(|v| v.to_ascii_lowercase()) {
            Ok(v) if v == "dev" || v == "development" => leptos::config::Env::DEV,
            _ => leptos::config::Env::PROD,
        };
        let leptos = LeptosOptions::builder()
            .output_name("snapkeep")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(env)
            .build();
        let nodes_for_restores = nodes.clone();
        let reports = crate::reports::ReportService::new(
            catalog.pool().clone(),
            crate::reports::SamplingConfig::default(),
            nodes.len(),
        );
        let inventory = Inventory::new(catalog.pool().clone(), nodes.clone());
        let scanner = inventory.clone();
        let snapshots =
            SnapshotService::new(catalog.pool().clone(), nodes, SnapshotsConfig::default())
                .with_after_job(Arc::new(move || {
                    // The Overview's per-table totals catch up with what the job changed.
                    let scanner = scanner.clone();
                    tokio::spawn(async move {
                        if let Err(e) = scanner.start_scan().await {
                            tracing::warn!(error = %e, "cannot start a scan after a snapshot job");
                        }
                    });
                }));
        let auth = AuthState::new(catalog.pool().clone(), AuthConfig::default());
        let restores = crate::restore::RestoreService::new(
            catalog.pool().clone(),
            nodes_for_restores,
            snapshots.clone(),
            crate::restore::RestoreConfig::default(),
        );
        Self {
            leptos,
            catalog,
            metrics: Arc::new(Metrics::new()),
            inventory,
            snapshots,
            auth,
            restores,
            reports,
        }
    }

    /// The same state with another `[sampling]` configuration.
    pub fn with_sampling_config(mut self, config: crate::reports::SamplingConfig) -> Self {
        self.reports = crate::reports::ReportService::new(
            self.catalog.pool().clone(),
            config,
            self.inventory.nodes().len(),
        );
        self
    }

    /// The same state with another `[restore]` configuration.
    pub fn with_restore_config(mut self, config: crate::restore::RestoreConfig) -> Self {
        self.restores = crate::restore::RestoreService::new(
            self.catalog.pool().clone(),
            self.inventory.nodes().to_vec(),
            self.snapshots.clone(),
            config,
        );
        self
    }

    /// The same state with another `[auth]` configuration.
    pub fn with_auth_config(mut self, config: AuthConfig) -> Self {
        self.auth = AuthState::new(self.catalog.pool().clone(), config);
        self
    }

    /// The same state with another `[snapshots]` configuration.
    pub fn with_snapshots_config(mut self, config: SnapshotsConfig) -> Self {
        let scanner = self.inventory.clone();
        self.snapshots = SnapshotService::new(
            self.catalog.pool().clone(),
            self.inventory.nodes().to_vec(),
            config,
        )
        .with_after_job(Arc::new(move || {
            let scanner = scanner.clone();
            tokio::spawn(async move {
                if let Err(e) = scanner.start_scan().await {
                    tracing::warn!(error = %e, "cannot start a scan after a snapshot job");
                }
            });
        }));
        self.with_restore_config(crate::restore::RestoreConfig::default())
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// The OpenAPI document: every `/api/v1` route is listed here as it is added.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Snapkeep API",
        description = "Snapshots, backups, storage growth and approval-gated restores for Apache Cassandra."
    ),
    paths(
        healthz,
        crate::calculator::calculator,
        crate::inventory::routes::list_nodes,
        crate::inventory::routes::list_tables,
        crate::inventory::routes::start_scan,
        crate::inventory::routes::get_job,
        crate::snapshots::routes::create,
        crate::snapshots::routes::list,
        crate::snapshots::routes::detail,
        crate::snapshots::routes::clear,
        crate::auth::routes::me,
        crate::auth::routes::users,
        crate::auth::routes::tokens,
        crate::auth::routes::create_token,
        crate::auth::routes::revoke_token,
        crate::auth::routes::audit_list,
        crate::auth::routes::audit_csv,
        crate::restore::routes::plan,
        crate::restore::routes::request,
        crate::restore::routes::list,
        crate::restore::routes::get,
        crate::restore::routes::approve,
        crate::restore::routes::reject,
        crate::restore::routes::execute,
        crate::restore::routes::resume,
        crate::restore::routes::cancel,
        crate::restore::routes::remove_aside,
        crate::reports::routes::storage,
        crate::reports::routes::storage_svg,
        crate::reports::routes::storage_csv,
        crate::reports::routes::measured,
    ),
    components(schemas(ErrorBody, Health, crate::calculator::CalculatorResponse))
)]
pub struct ApiDoc;

/// Builds the whole application router.
pub fn app(state: AppState, http: &HttpConfig) -> Router {
    let leptos_options = state.leptos.clone();
    let routes = generate_route_list(App);
    let api_v1 = Router::new()
        .route("/calculator", get(crate::calculator::calculator))
        .route("/nodes", get(crate::inventory::routes::list_nodes))
        .route("/tables", get(crate::inventory::routes::list_tables))
        .route(
            "/scans",
            axum::routing::post(crate::inventory::routes::start_scan),
        )
        .route("/jobs/{id}", get(crate::inventory::routes::get_job))
        .route(
            "/snapshots",
            get(crate::snapshots::routes::list).post(crate::snapshots::routes::create),
        )
        .route(
            "/snapshots/{tag}",
            get(crate::snapshots::routes::detail).delete(crate::snapshots::routes::clear),
        )
        .route("/me", get(crate::auth::routes::me))
        .route("/users", get(crate::auth::routes::users))
        .route(
            "/tokens",
            get(crate::auth::routes::tokens).post(crate::auth::routes::create_token),
        )
        .route(
            "/tokens/{id}",
            axum::routing::delete(crate::auth::routes::revoke_token),
        )
        .route("/audit", get(crate::auth::routes::audit_list))
        .route("/audit.csv", get(crate::auth::routes::audit_csv))
        .route(
            "/restores",
            get(crate::restore::routes::list).post(crate::restore::routes::request),
        )
        .route(
            "/restores/plan",
            axum::routing::post(crate::restore::routes::plan),
        )
        .route("/restores/{id}", get(crate::restore::routes::get))
        .route(
            "/restores/{id}/approve",
            axum::routing::post(crate::restore::routes::approve),
        )
        .route(
            "/restores/{id}/reject",
            axum::routing::post(crate::restore::routes::reject),
        )
        .route(
            "/restores/{id}/execute",
            axum::routing::post(crate::restore::routes::execute),
        )
        .route(
            "/restores/{id}/resume",
            axum::routing::post(crate::restore::routes::resume),
        )
        .route(
            "/restores/{id}/cancel",
            axum::routing::post(crate::restore::routes::cancel),
        )
        .route(
            "/restores/{id}/aside",
            axum::routing::delete(crate::restore::routes::remove_aside),
        )
        .route("/reports/storage", get(crate::reports::routes::storage))
        .route(
            "/reports/storage.svg",
            get(crate::reports::routes::storage_svg),
        )
        .route(
            "/reports/storage.csv",
            get(crate::reports::routes::storage_csv),
        )
        .route("/reports/measured", get(crate::reports::routes::measured))
        .fallback(api_not_found);
    let backend: app::api::BackendHandle = Arc::new(backend::Services {
        inventory: state.inventory.clone(),
        snapshots: state.snapshots.clone(),
        auth: state.auth.clone(),
        restores: state.restores.clone(),
        reports: state.reports.clone(),
    });
    let context = move || {
        leptos::prelude::provide_context(backend.clone());
        headers::provide_request_nonce();
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/login", axum::routing::post(crate::auth::routes::login))
        .route("/logout", axum::routing::post(crate::auth::routes::logout))
        .nest("/api/v1", api_v1)
        .route("/api", get(api_not_found))
        .route(
            "/api/{*rest}",
            get(api_not_found)
                .post(api_not_found)
                .delete(api_not_found)
                .put(api_not_found),
        )
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
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
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
