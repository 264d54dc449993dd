//! `/api/v1/schedules`: list and save (GET, POST), preview before saving, one schedule (GET,
//! PATCH, DELETE), its runs, and a run now (POST `/{id}/run`, 202 with the run).

use app::api::CurrentUser;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{ScheduleDto, ScheduleInput, SchedulePatch, SchedulePreview, ScheduleRunDto};
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The schedules' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(preview))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(runs))
        .routes(routes!(run_now))
        .routes(routes!(auto_plan, auto_apply))
}

/// What the retention of TRUNCATE/DROP snapshots would clear now (older than
/// `[retention] auto_snapshot_days`), what each frees, and which stay: pinned, or the last
/// snapshot of a table (cleared only when confirmed).
#[utoipa::path(get, path = "/api/v1/retention/auto-snapshots", tag = "schedules",
    responses((status = 200, description = "The plan, oldest first", body = super::auto::AutoPlan)))]
pub async fn auto_plan(
    State(state): State<AppState>,
) -> Result<Json<super::auto::AutoPlan>, ApiError> {
    Ok(Json(
        state.auto_retention.plan(crate::clock::now_ms()).await?,
    ))
}

/// Applies that retention now: clears the `clear` candidates and those confirmed by
/// `node/tag`; answers what was cleared, what stays and why, and what was freed.
#[utoipa::path(post, path = "/api/v1/retention/auto-snapshots", tag = "schedules",
    request_body(content = super::auto::AutoApply, description = "Confirmations; may be empty"),
    responses(
        (status = 200, description = "What was cleared and kept", body = super::auto::AutoResult),
        (status = 400, description = "A confirmation names no snapshot that needs one", body = ErrorBody)))]
pub async fn auto_apply(
    State(state): State<AppState>,
    body: Result<Json<super::auto::AutoApply>, JsonRejection>,
) -> Result<Json<super::auto::AutoResult>, ApiError> {
    let input = crate::http::error::json_or_default(body)?;
    Ok(Json(
        state
            .auto_retention
            .apply(input, crate::clock::now_ms())
            .await?,
    ))
}

fn id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::bad_field("id", format!("schedule id `{raw}` is not a number")))
}

/// Every schedule with its next five runs, last run and what its retention would clear.
#[utoipa::path(get, path = "/api/v1/schedules", tag = "schedules",
    responses((status = 200, description = "The schedules, by name", body = [ScheduleDto])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ScheduleDto>>, ApiError> {
    Ok(Json(state.schedules.list().await?))
}

/// Saves a schedule; it runs from its next due time on.
#[utoipa::path(post, path = "/api/v1/schedules", tag = "schedules",
    request_body = ScheduleInput,
    responses(
        (status = 201, description = "The saved schedule", body = ScheduleDto),
        (status = 400, description = "Bad cron, time zone, scope, tag template, TTL, store or retention (the field is named, with an example)", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    body: Result<Json<ScheduleInput>, JsonRejection>,
) -> Result<(StatusCode, Json<ScheduleDto>), ApiError> {
    let Json(input) = body?;
    let dto = state.schedules.create(input, Some(&user.name)).await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

/// The next five runs and their tags of a schedule not saved yet (same checks as saving).
#[utoipa::path(post, path = "/api/v1/schedules/preview", tag = "schedules",
    request_body = ScheduleInput,
    responses(
        (status = 200, description = "When it would run and the tags it would give", body = SchedulePreview),
        (status = 400, description = "A field is invalid (named, with an example)", body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    body: Result<Json<ScheduleInput>, JsonRejection>,
) -> Result<Json<SchedulePreview>, ApiError> {
    let Json(input) = body?;
    Ok(Json(state.schedules.preview(input)?))
}

/// One schedule.
#[utoipa::path(get, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "The schedule", body = ScheduleDto),
        (status = 404, description = "No such schedule", body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<ScheduleDto>, ApiError> {
    Ok(Json(state.schedules.get(id(&raw)?).await?))
}

/// Changes the fields given (pause with `{"paused": true}`).
#[utoipa::path(patch, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    request_body = SchedulePatch,
    responses(
        (status = 200, description = "The changed schedule", body = ScheduleDto),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Json<SchedulePatch>, JsonRejection>,
) -> Result<Json<ScheduleDto>, ApiError> {
    let Json(patch) = body?;
    Ok(Json(state.schedules.update(id(&raw)?, patch).await?))
}

/// What a delete answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deleted {
    pub message: String,
}

/// Removes a schedule and its run history; the snapshots it took stay.
#[utoipa::path(delete, path = "/api/v1/schedules/{id}", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 200, description = "Removed", body = Deleted),
        (status = 404, description = "No such schedule", body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let name = state.schedules.delete(id(&raw)?).await?;
    Ok(Json(Deleted {
        message: format!("schedule `{name}` removed; the snapshots it took stay"),
    }))
}

/// Options of the run list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RunsParams {
    /// Most runs listed, newest first (default 50).
    pub limit: Option<i64>,
}

/// A schedule's runs, newest first: due time, trigger, state, tag, job and what happened.
#[utoipa::path(get, path = "/api/v1/schedules/{id}/runs", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id"), RunsParams),
    responses(
        (status = 200, description = "The runs", body = [ScheduleRunDto]),
        (status = 404, description = "No such schedule", body = ErrorBody)))]
pub async fn runs(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    q: Result<Query<RunsParams>, QueryRejection>,
) -> Result<Json<Vec<ScheduleRunDto>>, ApiError> {
    let Query(p) = q?;
    Ok(Json(
        state
            .schedules
            .runs(id(&raw)?, p.limit.unwrap_or(50))
            .await?,
    ))
}

/// Runs the schedule now (snapshot, copy, retention) as a job; answers with the run.
#[utoipa::path(post, path = "/api/v1/schedules/{id}/run", tag = "schedules",
    params(("id" = i64, Path, description = "Schedule id")),
    responses(
        (status = 202, description = "The run, with its job", body = ScheduleRunDto),
        (status = 404, description = "No such schedule", body = ErrorBody),
        (status = 409, description = "Its previous run is still going", body = ErrorBody)))]
pub async fn run_now(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<ScheduleRunDto>), ApiError> {
    let run = state.schedules.run_now(id(&raw)?).await?;
    Ok((StatusCode::ACCEPTED, Json(run)))
}
