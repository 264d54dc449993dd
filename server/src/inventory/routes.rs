//! `/api/v1/nodes`, `/api/v1/clusters`, `/api/v1/tables`, `/api/v1/scans`, `/api/v1/jobs/{id}`.

use app::api::{ClusterDto, JobDto, NodeDto, TableDto};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::jobs;
use crate::state::AppState;

/// The inventory's routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_nodes))
        .routes(routes!(list_clusters))
        .routes(routes!(list_tables))
        .routes(routes!(start_scan))
        .routes(routes!(get_job))
}

/// Every configured node: reachable or not (with the reason), version, filesystems.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "inventory",
    responses((status = 200, description = "Nodes", body = [NodeDto])))]
pub async fn list_nodes(State(state): State<AppState>) -> Result<Json<Vec<NodeDto>>, ApiError> {
    Ok(Json(state.inventory.nodes_view().await?))
}

/// The clusters of the configured nodes (cluster name, data centre and rack from each node's
/// `system.local` at its last check), each node up or down.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "inventory",
    responses((status = 200, description = "Clusters", body = [ClusterDto])))]
pub async fn list_clusters(
    State(state): State<AppState>,
) -> Result<Json<Vec<ClusterDto>>, ApiError> {
    Ok(Json(state.inventory.clusters_view().await?))
}

/// Every table of every node from its last good scan.
#[utoipa::path(get, path = "/api/v1/tables", tag = "inventory",
    responses((status = 200, description = "Tables", body = [TableDto])))]
pub async fn list_tables(State(state): State<AppState>) -> Result<Json<Vec<TableDto>>, ApiError> {
    Ok(Json(state.inventory.tables_view().await?))
}

/// Starts a scan of every node's data directories; answers at once with the job.
#[utoipa::path(post, path = "/api/v1/scans", tag = "inventory",
    responses((status = 202, description = "The scan job (a running one is reused)", body = JobDto)))]
pub async fn start_scan(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    let job = state.inventory.start_scan().await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

/// One job: state, progress, error.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobDto),
        (status = 404, description = "No such job", body = crate::http::error::ErrorBody)))]
pub async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobDto>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("job id `{id}` is not a number")))?;
    jobs::get(state.catalog.pool(), id)
        .await?
        .map(|j| Json(j.into()))
        .ok_or_else(|| ApiError::NotFound(format!("no job {id}")))
}
