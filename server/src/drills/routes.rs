//! `/api/v1/drills`: start a drill (POST, 202 with the drill running), the history (GET), one
//! drill (GET `/{id}`) and the last good restore proof of each table (GET `/proof`).

use app::api::CurrentUser;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{DrillDto, DrillInput, ProofDto};
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The drills' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, start))
        .routes(routes!(proof))
        .routes(routes!(get_one))
}

/// Options of the history.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Most drills listed, newest first (default 100).
    pub limit: Option<i64>,
}

/// Every drill, newest first, with its per-table results.
#[utoipa::path(get, path = "/api/v1/drills", tag = "drills",
    params(ListParams),
    responses((status = 200, description = "The drills", body = [DrillDto])))]
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Vec<DrillDto>>, ApiError> {
    let Query(p) = q?;
    Ok(Json(state.drills.list(p.limit.unwrap_or(100)).await?))
}

/// Starts a drill: the snapshot's tables restored into `snapkeep_drill`, verified, timed and
/// dropped. No approval is needed: a drill never touches live tables.
#[utoipa::path(post, path = "/api/v1/drills", tag = "drills",
    request_body = DrillInput,
    responses(
        (status = 202, description = "The drill, running (follow its job)", body = DrillDto),
        (status = 400, description = "A table name, node or tag is invalid", body = ErrorBody),
        (status = 404, description = "No such node", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    body: Result<Json<DrillInput>, JsonRejection>,
) -> Result<(StatusCode, Json<DrillDto>), ApiError> {
    let Json(input) = body?;
    let d = state.drills.start(input, &user.name, None).await?;
    Ok((StatusCode::ACCEPTED, Json(d)))
}

/// The last good restore proof of each table: its newest drill that passed for it.
#[utoipa::path(get, path = "/api/v1/drills/proof", tag = "drills",
    responses((status = 200, description = "Per node and table, the newest passed drill", body = [ProofDto])))]
pub async fn proof(State(state): State<AppState>) -> Result<Json<Vec<ProofDto>>, ApiError> {
    Ok(Json(state.drills.proof().await?))
}

/// One drill.
#[utoipa::path(get, path = "/api/v1/drills/{id}", tag = "drills",
    params(("id" = i64, Path, description = "Drill id")),
    responses(
        (status = 200, description = "The drill", body = DrillDto),
        (status = 404, description = "No such drill", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<DrillDto>, ApiError> {
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("drill id `{raw}` is not a number")))?;
    Ok(Json(state.drills.get(id).await?))
}
