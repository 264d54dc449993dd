//! `/api/v1/alerts`: what fires now, the worst first (GET; `?state=all` adds the resolved
//! ones kept), and acknowledging one (POST `/{id}/ack`: silenced until an expiry).

use app::api::{AckInput, AlertDto, CurrentUser};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The alerts' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(ack))
}

/// Which alerts to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// `open` (default): firing now, silenced ones last; `all`: also the resolved ones kept.
    pub state: Option<String>,
}

/// The alerts, evaluated now, the worst first; each says what to do.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    params(ListParams),
    responses(
        (status = 200, description = "The alerts", body = [AlertDto]),
        (status = 400, description = "Unknown state", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Vec<AlertDto>>, ApiError> {
    let Query(p) = q?;
    let all = match p.state.as_deref() {
        None | Some("open") => false,
        Some("all") => true,
        Some(other) => {
            return Err(ApiError::bad_field(
                "state",
                format!("state `{other}` is not `open` or `all`"),
            ));
        }
    };
    Ok(Json(state.alerts.list(all).await?))
}

/// Acknowledges an open alert: silenced (not sent to the webhook, listed after the others)
/// for `hours` (default 24), then open again if it still fires.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/ack", tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    request_body(content = AckInput, description = "Silence length and an optional comment; may be empty"),
    responses(
        (status = 200, description = "The alert, acknowledged", body = AlertDto),
        (status = 400, description = "Silence out of range", body = ErrorBody),
        (status = 404, description = "No such alert", body = ErrorBody),
        (status = 409, description = "The alert has resolved", body = ErrorBody)))]
pub async fn ack(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    body: Result<Json<AckInput>, JsonRejection>,
) -> Result<Json<AlertDto>, ApiError> {
    // An empty body is a plain acknowledgement.
    let input = crate::http::error::json_or_default(body)?;
    Ok(Json(state.alerts.ack(&id, &user.name, input).await?))
}
