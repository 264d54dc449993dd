//! `/api/v1/snapshots`: take (POST, 202 with the job), list (GET with filters and pages),
//! detail (GET by tag) and clear (DELETE by tag, 202 with the job).

use app::api::{
    CreateSnapshotRequest, SnapshotDetailDto, SnapshotJobDto, SnapshotPage, SnapshotQuery,
};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{self, DEFAULT_FILES_LIMIT};
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The snapshots' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail, clear))
}

/// Takes a snapshot with `nodetool snapshot`; answers at once with the job. With `cluster`:
/// the same tag on every node of the cluster, started together; the job is the cluster's
/// (`GET /api/v1/clusters/{name}/snapshots/{tag}` has each node's part).
#[utoipa::path(post, path = "/api/v1/snapshots", tag = "snapshots",
    request_body = CreateSnapshotRequest,
    responses(
        (status = 202, description = "The snapshot job", body = SnapshotJobDto),
        (status = 400, description = "Bad tag, TTL or table name", body = ErrorBody),
        (status = 404, description = "Unknown node, cluster, keyspace or table", body = ErrorBody),
        (status = 409, description = "Tag already used, or a table is busy (`busy`: retry)", body = ErrorBody),
        (status = 503, description = "The node cannot be reached", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    body: Result<Json<CreateSnapshotRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<SnapshotJobDto>), ApiError> {
    let Json(req) = body?;
    let dto = if req.cluster.is_some() {
        state.clusters.snapshot(req, None).await?
    } else {
        state.snapshots.create(req, None).await?
    };
    Ok((StatusCode::ACCEPTED, Json(dto)))
}

/// Snapshots, newest first by default, with filters, sort, pages and a per-day timeline.
#[utoipa::path(get, path = "/api/v1/snapshots", tag = "snapshots",
    params(SnapshotQuery),
    responses(
        (status = 200, description = "One page of snapshots", body = SnapshotPage),
        (status = 400, description = "A filter is invalid (the field is named)", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<SnapshotQuery>, QueryRejection>,
) -> Result<Json<SnapshotPage>, ApiError> {
    let Query(q) = q?;
    Ok(Json(query::list(state.catalog.pool(), &q).await?))
}

/// Options of the detail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DetailParams {
    /// Only this node.
    pub node: Option<String>,
    /// Most files listed per table (default 1000).
    pub files_limit: Option<i64>,
}

/// One snapshot tag: its tables (schema, row count, hold) and files.
#[utoipa::path(get, path = "/api/v1/snapshots/{tag}", tag = "snapshots",
    params(("tag" = String, Path, description = "Snapshot tag"), DetailParams),
    responses(
        (status = 200, description = "The snapshot", body = SnapshotDetailDto),
        (status = 404, description = "No such snapshot", body = ErrorBody)))]
pub async fn detail(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    q: Result<Query<DetailParams>, QueryRejection>,
) -> Result<Json<SnapshotDetailDto>, ApiError> {
    let Query(p) = q?;
    let limit = p.files_limit.unwrap_or(DEFAULT_FILES_LIMIT);
    query::detail(state.catalog.pool(), &tag, p.node.as_deref(), limit)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no snapshot `{tag}`")))
}

/// Scope of a clear.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ClearParams {
    /// Only on this node.
    pub node: Option<String>,
    /// Only this keyspace.
    pub keyspace: Option<String>,
    /// Only this table (`table` with `keyspace`, or `keyspace.table`).
    pub table: Option<String>,
}

/// Clears a snapshot (or one keyspace or table of it); answers at once with the job and the
/// bytes it frees.
#[utoipa::path(delete, path = "/api/v1/snapshots/{tag}", tag = "snapshots",
    params(("tag" = String, Path, description = "Snapshot tag"), ClearParams),
    responses(
        (status = 202, description = "The clear job", body = SnapshotJobDto),
        (status = 404, description = "No such snapshot, keyspace or table", body = ErrorBody),
        (status = 409, description = "A table is busy (`busy`: retry)", body = ErrorBody)))]
pub async fn clear(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    q: Result<Query<ClearParams>, QueryRejection>,
) -> Result<(StatusCode, Json<SnapshotJobDto>), ApiError> {
    let Query(p) = q?;
    let dto = state
        .snapshots
        .clear(
            &tag,
            p.node.as_deref(),
            p.keyspace.as_deref(),
            p.table.as_deref(),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(dto)))
}
