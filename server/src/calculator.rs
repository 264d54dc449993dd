//! `GET /api/v1/calculator`: the storage-growth calculator as JSON, computed by the same pure
//! function the browser runs ([`app::growth::project`]). With only `live_gb` and `churn_pct`
//! it is the seed's calculator (one snapshot a day kept a day, no growth).

use std::collections::HashMap;

use app::growth::{Field, Inputs, Point, project};
use axum::Json;
use axum::extract::Query;
use serde::Serialize;

use crate::http::error::ApiError;

/// The calculator's answer: the steady state (day `retention_days`, when the first snapshot
/// expires) and the series from day 0 to it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CalculatorResponse {
    /// Live data at day 0, GB (as given).
    pub live_gb: f64,
    /// Churn used, percent of live data rewritten by compaction per day.
    pub churn_pct: f64,
    /// Bytes kept alive only by snapshots in the steady state, GB.
    pub hold_gb: f64,
    /// Live + hold in the steady state, GB (`steady_live_gb + hold_gb`).
    pub total_gb: f64,
    /// Daily growth of live data used, percent.
    pub growth_pct: f64,
    /// Days each snapshot is kept.
    pub retention_days: f64,
    /// Snapshots taken per day.
    pub snapshots_per_day: f64,
    /// Snapshots kept at once in the steady state (at least one).
    pub snapshots_kept: f64,
    /// The day the steady state is reached (= retention_days).
    pub steady_day: f64,
    /// Live data on that day, GB (= live_gb without growth).
    pub steady_live_gb: f64,
    /// Evenly spaced points from day 0 to the steady day.
    pub series: Vec<Point>,
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

/// Storage-growth calculator.
///
/// With live data L, churn c per day, s snapshots per day kept r days and growth g per day:
/// hold = L̄ × min(c × r, max(1, s × r)), total = live + hold (L̄: mean live data over the r
/// days). Only `live_gb` and `churn_pct` given: the seed's hold = L × c.
#[utoipa::path(
    get,
    path = "/api/v1/calculator",
    tag = "calculator",
    params(
        ("live_gb" = Option<f64>, Query, description = "Live data in GB, 10–1000 (default 100)"),
        ("churn_pct" = Option<f64>, Query, description = "Share of live data compaction rewrites per day, percent, 0–100 (default 50)"),
        ("growth_pct" = Option<f64>, Query, description = "Daily growth of live data, percent, 0–10 (default 0)"),
        ("retention_days" = Option<f64>, Query, description = "Days each snapshot is kept, 1–365 (default 1)"),
        ("snapshots_per_day" = Option<f64>, Query, description = "Snapshots per day, 0.1–24 (default 1)"),
    ),
    responses(
        (status = 200, description = "Live, hold and total in the steady state, and the series", body = CalculatorResponse),
        (status = 400, description = "A parameter is not a number, out of range or unknown", body = crate::http::error::ErrorBody),
    )
)]
pub async fn calculator(
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CalculatorResponse>, ApiError> {
    if let Some(unknown) = params.keys().find(|k| Field::from_key(k).is_none()) {
        let known: Vec<&str> = Field::ALL.iter().map(|f| f.key()).collect();
        return Err(ApiError::bad_field(
            unknown.clone(),
            format!(
                "unknown parameter `{unknown}`; known parameters: {}",
                known.join(", ")
            ),
        ));
    }
    let mut inputs = Inputs::default();
    for f in Field::ALL {
        inputs.set(f, field_value(&params, f)?);
    }
    let p = project(&inputs);
    Ok(Json(CalculatorResponse {
        live_gb: p.inputs.live_gb,
        churn_pct: p.inputs.churn_pct,
        hold_gb: p.steady.hold_gb,
        total_gb: p.steady.total_gb,
        growth_pct: p.inputs.growth_pct,
        retention_days: p.inputs.retention_days,
        snapshots_per_day: p.inputs.snapshots_per_day,
        snapshots_kept: p.snapshots_kept,
        steady_day: p.steady.day,
        steady_live_gb: p.steady.live_gb,
        series: p.series,
    }))
}
