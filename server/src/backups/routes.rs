//! `/api/v1/stores`, `/api/v1/backups` and `/api/v1/snapshots/{tag}/upload`: the stores and
//! their uploads, shipping and the backlog, verification and reindexing, copying a snapshot
//! off the node, and incremental backups on or off per node.

use app::api::{
    BacklogDto, IncrementalBackupsRequest, JobDto, ShipRequest, StoreDto, UploadDto, UploadRequest,
    VerifyRequest,
};
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The backup routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stores))
        .routes(routes!(test_store))
        .routes(routes!(verify))
        .routes(routes!(reindex))
        .routes(routes!(upload))
        .routes(routes!(fetch))
        .routes(routes!(uploads))
        .routes(routes!(purge))
        .routes(routes!(backlog))
        .routes(routes!(ship))
        .routes(routes!(incremental_backups))
}

/// The configured stores: where they are, encryption, what they hold, verification.
#[utoipa::path(get, path = "/api/v1/stores", tag = "backups",
    responses((status = 200, description = "The stores", body = [StoreDto])))]
pub async fn stores(State(state): State<AppState>) -> Result<Json<Vec<StoreDto>>, ApiError> {
    Ok(Json(state.backups.stores().await?))
}

/// The result of a connection test.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub ok: bool,
    pub message: String,
}

/// Writes, reads back and deletes a small object: keys, bucket and network all work.
#[utoipa::path(post, path = "/api/v1/stores/{name}/test", tag = "backups",
    params(("name" = String, Path, description = "Store name")),
    responses(
        (status = 200, description = "The store works", body = TestResult),
        (status = 404, description = "No such store", body = ErrorBody),
        (status = 503, description = "The store refused or cannot be reached (its words)", body = ErrorBody)))]
pub async fn test_store(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TestResult>, ApiError> {
    state.backups.test_store(&name).await?;
    Ok(Json(TestResult {
        ok: true,
        message: format!("store `{name}` accepted, returned and deleted a test object"),
    }))
}

/// Re-reads a store's objects (all, or a sample) and checks their content; 202 with the job.
#[utoipa::path(post, path = "/api/v1/stores/{name}/verify", tag = "backups",
    params(("name" = String, Path, description = "Store name")),
    request_body(content = VerifyRequest, description = "Optional: `sample`"),
    responses(
        (status = 202, description = "The verify job", body = JobDto),
        (status = 404, description = "No such store", body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Option<Json<VerifyRequest>>,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    let sample = body.and_then(|Json(b)| b.sample);
    Ok((
        StatusCode::ACCEPTED,
        Json(state.backups.verify(&name, sample).await?),
    ))
}

/// What a reindex found.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReindexResult {
    pub manifests: u64,
    pub uploads_added: u64,
    pub objects: u64,
}

/// Rebuilds the catalog's view of a store from the store alone (its manifests).
#[utoipa::path(post, path = "/api/v1/stores/{name}/reindex", tag = "backups",
    params(("name" = String, Path, description = "Store name")),
    responses(
        (status = 200, description = "What the store holds", body = ReindexResult),
        (status = 404, description = "No such store", body = ErrorBody),
        (status = 409, description = "The manifests were encrypted with another key", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody)))]
pub async fn reindex(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<ReindexResult>, ApiError> {
    let (manifests, uploads_added, objects) = state.backups.reindex(&name).await?;
    Ok(Json(ReindexResult {
        manifests,
        uploads_added,
        objects,
    }))
}

/// Copies a snapshot to a store (content the store holds already is not sent); 202 with the
/// job.
#[utoipa::path(post, path = "/api/v1/snapshots/{tag}/upload", tag = "backups",
    params(("tag" = String, Path, description = "Snapshot tag")),
    request_body(content = UploadRequest, description = "Optional: `store`, `node`"),
    responses(
        (status = 202, description = "The upload job", body = JobDto),
        (status = 400, description = "Bad tag", body = ErrorBody),
        (status = 404, description = "No such snapshot, node or store", body = ErrorBody),
        (status = 409, description = "The node has an upload running (`busy`)", body = ErrorBody),
        (status = 503, description = "The store cannot be used", body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    body: Option<Json<UploadRequest>>,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    snapshot_job(state, tag, body, false).await
}

/// A snapshot's upload (`fetch` false) or fetch job, started: 202 with the job.
async fn snapshot_job(
    state: AppState,
    tag: String,
    body: Option<Json<UploadRequest>>,
    fetch: bool,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let (store, node) = (req.store.as_deref(), req.node.as_deref());
    let job = if fetch {
        state.backups.fetch_snapshot(&tag, store, node).await?
    } else {
        state.backups.upload_snapshot(&tag, store, node).await?
    };
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Fetches a snapshot back from a store into the node's `snapshots/<tag>/` directories (every
/// file checked against its hash), to restore it like a local one; 202 with the job.
#[utoipa::path(post, path = "/api/v1/snapshots/{tag}/fetch", tag = "backups",
    params(("tag" = String, Path, description = "Snapshot tag")),
    request_body(content = UploadRequest, description = "Optional: `store`, `node`"),
    responses(
        (status = 202, description = "The fetch job", body = JobDto),
        (status = 400, description = "Bad tag, or the node must be named", body = ErrorBody),
        (status = 404, description = "No such snapshot in the store, node or store", body = ErrorBody),
        (status = 409, description = "Not enough free space, wrong key, or a job of the node runs", body = ErrorBody),
        (status = 503, description = "The store cannot be used", body = ErrorBody)))]
pub async fn fetch(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    body: Option<Json<UploadRequest>>,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    snapshot_job(state, tag, body, true).await
}

/// Filters of the upload list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadsParams {
    /// `snapshot` or `backup`.
    pub kind: Option<String>,
    /// A snapshot tag or backup batch.
    pub name: Option<String>,
    /// Most rows (default 100).
    pub limit: Option<i64>,
}

/// Uploads to the stores, newest first, with their verification.
#[utoipa::path(get, path = "/api/v1/uploads", tag = "backups",
    params(UploadsParams),
    responses((status = 200, description = "Uploads", body = [UploadDto])))]
pub async fn uploads(
    State(state): State<AppState>,
    q: Result<Query<UploadsParams>, QueryRejection>,
) -> Result<Json<Vec<UploadDto>>, ApiError> {
    let Query(p) = q?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .backups
            .uploads(p.kind.as_deref(), p.name.as_deref(), limit)
            .await?,
    ))
}

/// What a purge did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PurgeResult {
    /// The upload purged, in words.
    pub purged: String,
    /// Objects no other upload names: deleted from the store after the grace period.
    pub objects_orphaned: u64,
}

/// Purges an upload: its manifest goes at once; objects no other upload names are deleted
/// after `[backups] purge_grace_hours`. Refused while an upload, shipping or fetch runs.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}", tag = "backups",
    params(("id" = i64, Path, description = "Upload id")),
    responses(
        (status = 200, description = "Purged", body = PurgeResult),
        (status = 404, description = "No such upload", body = ErrorBody),
        (status = 409, description = "An upload, shipping or fetch runs (`busy`)", body = ErrorBody),
        (status = 503, description = "The store cannot be reached", body = ErrorBody)))]
pub async fn purge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<PurgeResult>, ApiError> {
    let (purged, objects_orphaned) = state.backups.purge(id).await?;
    Ok(Json(PurgeResult {
        purged,
        objects_orphaned,
    }))
}

/// Per node and table: files, bytes and inodes waiting in `backups/`, age of the oldest,
/// what was shipped in the last day, and a warning when it needs attention.
#[utoipa::path(get, path = "/api/v1/backups", tag = "backups",
    responses((status = 200, description = "The backlog", body = BacklogDto)))]
pub async fn backlog(State(state): State<AppState>) -> Result<Json<BacklogDto>, ApiError> {
    Ok(Json(state.backups.backlog().await?))
}

/// Ships the complete SSTables of `backups/` to the node's store, verifies them, and only
/// then removes the local links; 202 with the job.
#[utoipa::path(post, path = "/api/v1/backups/ship", tag = "backups",
    request_body(content = ShipRequest, description = "Optional: `node`"),
    responses(
        (status = 202, description = "The shipping job", body = JobDto),
        (status = 404, description = "No such node or store", body = ErrorBody),
        (status = 409, description = "The node has an upload running (`busy`)", body = ErrorBody)))]
pub async fn ship(
    State(state): State<AppState>,
    body: Option<Json<ShipRequest>>,
) -> Result<(StatusCode, Json<JobDto>), ApiError> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    Ok((
        StatusCode::ACCEPTED,
        Json(state.backups.ship(req.node.as_deref()).await?),
    ))
}

/// Incremental backups after the change.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncrementalBackupsState {
    pub node: String,
    pub enabled: bool,
}

/// Turns incremental backups on or off on a node (`nodetool enablebackup`/`disablebackup`;
/// lasts until the node restarts: make it permanent with `incremental_backups` in
/// `cassandra.yaml`).
#[utoipa::path(put, path = "/api/v1/nodes/{name}/incremental-backups", tag = "backups",
    params(("name" = String, Path, description = "Node name")),
    request_body = IncrementalBackupsRequest,
    responses(
        (status = 200, description = "The state nodetool reports now", body = IncrementalBackupsState),
        (status = 404, description = "No such node", body = ErrorBody),
        (status = 503, description = "nodetool failed (its words)", body = ErrorBody)))]
pub async fn incremental_backups(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Json<IncrementalBackupsRequest>, JsonRejection>,
) -> Result<Json<IncrementalBackupsState>, ApiError> {
    let Json(req) = body?;
    let enabled = state
        .backups
        .set_incremental_backups(&name, req.enabled)
        .await?;
    Ok(Json(IncrementalBackupsState {
        node: name,
        enabled,
    }))
}
