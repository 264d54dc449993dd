//! `/api/v1/clusters/{name}/snapshots`: a cluster's snapshots (GET), one with each node's part
//! (GET `/{tag}`), and a retry of the nodes that failed (POST `/{tag}/retry`). The clusters
//! themselves are listed by the inventory (`GET /api/v1/clusters`); a cluster snapshot is
//! started with `POST /api/v1/snapshots {"cluster": NAME, …}`.

use app::api::{ClusterSnapshotDto, CurrentUser};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The cluster snapshot routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(retry))
}

/// The cluster's snapshots, newest first, each `running`, `complete` or `incomplete`.
#[utoipa::path(get, path = "/api/v1/clusters/{name}/snapshots", tag = "inventory",
    params(("name" = String, Path, description = "Cluster name")),
    responses(
        (status = 200, description = "Cluster snapshots", body = [ClusterSnapshotDto]),
        (status = 404, description = "No configured node is in that cluster", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<ClusterSnapshotDto>>, ApiError> {
    Ok(Json(state.clusters.list(&name).await?))
}

/// One cluster snapshot with each node's part.
#[utoipa::path(get, path = "/api/v1/clusters/{name}/snapshots/{tag}", tag = "inventory",
    params(
        ("name" = String, Path, description = "Cluster name"),
        ("tag" = String, Path, description = "Snapshot tag")),
    responses(
        (status = 200, description = "The cluster snapshot", body = ClusterSnapshotDto),
        (status = 404, description = "No such cluster snapshot", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    Path((name, tag)): Path<(String, String)>,
) -> Result<Json<ClusterSnapshotDto>, ApiError> {
    Ok(Json(state.clusters.get(&name, &tag).await?))
}

/// Re-runs the failed nodes of an incomplete cluster snapshot, under the same tag; 202 with
/// the cluster snapshot running again.
#[utoipa::path(post, path = "/api/v1/clusters/{name}/snapshots/{tag}/retry", tag = "inventory",
    params(
        ("name" = String, Path, description = "Cluster name"),
        ("tag" = String, Path, description = "Snapshot tag")),
    responses(
        (status = 202, description = "Retrying the failed nodes", body = ClusterSnapshotDto),
        (status = 404, description = "No such cluster snapshot", body = ErrorBody),
        (status = 409, description = "Running, or complete (nothing to retry)", body = ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path((name, tag)): Path<(String, String)>,
) -> Result<(StatusCode, Json<ClusterSnapshotDto>), ApiError> {
    let dto = state.clusters.retry(&name, &tag, Some(user.name)).await?;
    Ok((StatusCode::ACCEPTED, Json(dto)))
}
