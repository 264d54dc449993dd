//! `/api/v1/restores`: dry run, request, approve, reject, execute, resume, cancel, list,
//! detail.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::plan::{Plan, RestoreInput};
use super::service::RestoreDto;
use crate::auth::CurrentUser;
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_field("id", format!("restore id `{raw}` is not a number")))
}

/// The restores' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, request))
        .routes(routes!(plan))
        .routes(routes!(get))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(execute))
        .routes(routes!(resume))
        .routes(routes!(cancel))
        .routes(routes!(remove_aside))
}

/// The dry run: schema check, files, hard links or copies, headroom, steps. Changes nothing.
#[utoipa::path(post, path = "/api/v1/restores/plan", tag = "restores", request_body = RestoreInput,
    responses((status = 200, description = "The plan (see `blocked`)", body = Plan),
              (status = 404, description = "Unknown snapshot, table or keyspace", body = ErrorBody)))]
pub async fn plan(
    State(state): State<AppState>,
    body: Result<Json<RestoreInput>, JsonRejection>,
) -> Result<Json<Plan>, ApiError> {
    let Json(input) = body?;
    Ok(Json(state.restores.plan(&input).await?))
}

/// Requests a restore (with a reason); it waits for another person's approval.
#[utoipa::path(post, path = "/api/v1/restores", tag = "restores", request_body = RestoreInput,
    responses((status = 201, description = "The request with its plan and schema check", body = RestoreDto),
              (status = 409, description = "Blocked (schema, headroom) or another open request for the table", body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    body: Result<Json<RestoreInput>, JsonRejection>,
) -> Result<(StatusCode, Json<RestoreDto>), ApiError> {
    let Json(input) = body?;
    let dto = state.restores.request(input, &user).await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

/// Every restore request, newest first.
#[utoipa::path(get, path = "/api/v1/restores", tag = "restores",
    responses((status = 200, description = "Requests", body = [RestoreDto])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<RestoreDto>>, ApiError> {
    Ok(Json(state.restores.list(200).await?))
}

/// One request: state, plan, journal, verification.
#[utoipa::path(get, path = "/api/v1/restores/{id}", tag = "restores",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = RestoreDto),
              (status = 404, description = "No such request", body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<RestoreDto>, ApiError> {
    Ok(Json(state.restores.get(id(&raw)?).await?))
}

/// An approver's decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    #[serde(default)]
    pub comment: String,
}

async fn decide(
    state: &AppState,
    raw: &str,
    user: &CurrentUser,
    approve: bool,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<Json<RestoreDto>, ApiError> {
    let comment = body.map(|Json(d)| d.comment).unwrap_or_default();
    Ok(Json(
        state
            .restores
            .decide(id(raw)?, user, approve, &comment)
            .await?,
    ))
}

/// Approves a request made by someone else; binds to its plan; expires.
#[utoipa::path(post, path = "/api/v1/restores/{id}/approve", tag = "restores", request_body = Decision,
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "Approved", body = RestoreDto),
              (status = 403, description = "Not an approver, or the requester", body = ErrorBody),
              (status = 409, description = "Not awaiting approval, or the plan changed", body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(raw): Path<String>,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<Json<RestoreDto>, ApiError> {
    decide(&state, &raw, &user, true, body).await
}

/// Rejects a request made by someone else.
#[utoipa::path(post, path = "/api/v1/restores/{id}/reject", tag = "restores", request_body = Decision,
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "Rejected", body = RestoreDto),
              (status = 403, description = "Not an approver, or the requester", body = ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(raw): Path<String>,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<Json<RestoreDto>, ApiError> {
    decide(&state, &raw, &user, false, body).await
}

/// Runs an approved request as a job (202); the plan is checked again first.
#[utoipa::path(post, path = "/api/v1/restores/{id}/execute", tag = "restores",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 202, description = "Running", body = RestoreDto),
              (status = 409, description = "Not approved, approval expired, or busy", body = ErrorBody)))]
pub async fn execute(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<RestoreDto>), ApiError> {
    start(&state, &raw, false).await
}

/// Starts the job of a request (202): from the start, or from its journal when `resume`.
async fn start(
    state: &AppState,
    raw: &str,
    resume: bool,
) -> Result<(StatusCode, Json<RestoreDto>), ApiError> {
    let dto = state.restores.execute(id(raw)?, resume).await?;
    Ok((StatusCode::ACCEPTED, Json(dto)))
}

/// Continues an interrupted or failed restore from its journal.
#[utoipa::path(post, path = "/api/v1/restores/{id}/resume", tag = "restores",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 202, description = "Running again", body = RestoreDto),
              (status = 409, description = "Not interrupted or failed", body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<RestoreDto>), ApiError> {
    start(&state, &raw, true).await
}

/// Removes what a full-node restore set aside (admins only; otherwise it is kept until
/// `[restore] keep_aside_days` pass).
#[utoipa::path(delete, path = "/api/v1/restores/{id}/aside", tag = "restores",
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "The directories removed", body = [String]),
              (status = 403, description = "Not an admin", body = ErrorBody),
              (status = 409, description = "The restore is running", body = ErrorBody)))]
pub async fn remove_aside(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(raw): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    Ok(Json(
        state.restores.remove_aside(id(&raw)?, Some(&user)).await?,
    ))
}

/// Cancels an open request (its requester or an admin): frees its tables and its source
/// snapshot; the safety snapshot stays for its retention time.
#[utoipa::path(post, path = "/api/v1/restores/{id}/cancel", tag = "restores", request_body = Decision,
    params(("id" = i64, Path, description = "Request id")),
    responses((status = 200, description = "Cancelled", body = RestoreDto),
              (status = 403, description = "Neither the requester nor an admin", body = ErrorBody),
              (status = 409, description = "Running, or closed already", body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(raw): Path<String>,
    body: Result<Json<Decision>, JsonRejection>,
) -> Result<Json<RestoreDto>, ApiError> {
    let comment = body.map(|Json(d)| d.comment).unwrap_or_default();
    Ok(Json(
        state.restores.cancel(id(&raw)?, &user, &comment).await?,
    ))
}
