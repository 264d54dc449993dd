//! `GET /api/v1/calculator`: the seed's storage calculator as JSON, computed by the same pure
//! function the browser runs ([`app::growth`]).

use std::collections::HashMap;

use app::growth::{Field, seed_estimate};
use axum::Json;
use axum::extract::Query;
use serde::Serialize;

use crate::http::error::ApiError;

/// The calculator's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalculatorResponse {
    /// Live data, GB.
    pub live_gb: f64,
    /// Churn used, percent.
    pub churn_pct: f64,
    /// Bytes kept alive only by the snapshot, GB (live × churn).
    pub hold_gb: f64,
    /// Live + hold, GB.
    pub total_gb: f64,
}

/// Parses one optional numeric query parameter, refusing non-numbers and out-of-range values.
fn field_value(params: &HashMap<String, String>, field: Field) -> Result<f64, ApiError> {
    let Some(raw) = params.get(field.key()) else {
        return Ok(field.default_value());
    };
    let value = raw
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            ApiError::bad_field(
                field.key(),
                format!(
                    "{}=`{raw}` is not a number; allowed range {}",
                    field.key(),
                    field.range_text()
                ),
            )
        })?;
    if value < field.min() || value > field.max() {
        return Err(ApiError::bad_field(
            field.key(),
            format!(
                "{}={raw} is out of range; allowed range {}",
                field.key(),
                field.range_text()
            ),
        ));
    }
    Ok(value)
}

/// Snapshot storage calculator.
///
/// With live data L and churn c since one snapshot: hold = L × c, total = L + hold.
#[utoipa::path(
    get,
    path = "/api/v1/calculator",
    tag = "calculator",
    params(
        ("live_gb" = Option<f64>, Query, description = "Live data in GB, 10–1000 (default 100)"),
        ("churn_pct" = Option<f64>, Query, description = "Churn since the snapshot in percent, 0–100 (default 50)"),
    ),
    responses(
        (status = 200, description = "Live, hold and total", body = CalculatorResponse),
        (status = 400, description = "A parameter is not a number, out of range or unknown", body = crate::http::error::ErrorBody),
    )
)]
pub async fn calculator(
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CalculatorResponse>, ApiError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| *k != Field::LiveGb.key() && *k != Field::ChurnPct.key())
    {
        return Err(ApiError::bad_field(
            unknown.clone(),
            format!("unknown parameter `{unknown}`; known parameters: live_gb, churn_pct"),
        ));
    }
    let live = field_value(&params, Field::LiveGb)?;
    let churn = field_value(&params, Field::ChurnPct)?;
    let e = seed_estimate(live, churn);
    Ok(Json(CalculatorResponse {
        live_gb: e.live_gb,
        churn_pct: churn,
        hold_gb: e.hold_gb,
        total_gb: e.total_gb,
    }))
}
