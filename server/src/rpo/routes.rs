//! `GET /api/v1/rpo`: the RPO panel, worst first.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::RpoRow;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The panel's route, registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(panel))
}

/// Per table: the newest snapshot, off-node copy and passed drill against the keyspace's
/// target recovery point (`[rpo]`); red, amber or green with the reason, worst first.
#[utoipa::path(get, path = "/api/v1/rpo", tag = "rpo",
    responses((status = 200, description = "Every user table of each node's newest scan, worst first", body = [RpoRow])))]
pub async fn panel(State(state): State<AppState>) -> Result<Json<Vec<RpoRow>>, ApiError> {
    Ok(Json(
        super::panel(state.catalog.pool(), &state.rpo, crate::clock::now_ms()).await?,
    ))
}
