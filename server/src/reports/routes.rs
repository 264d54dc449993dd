//! `/api/v1/reports/…`: the storage report as JSON, its charts as SVG and their series as CSV,
//! and measured churn and growth of one scope.

use app::api::{Measured, ReportDto, ReportQuery};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::input::{MeasuredQuery, parse};
use super::report::{Need, Report};
use super::selection::Chart;
use super::{ReportsError, chart, csv};
use crate::clock::now_ms;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The reports' routes, each registered with its OpenAPI path.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(storage))
        .routes(routes!(storage_svg))
        .routes(routes!(storage_csv))
        .routes(routes!(measured))
}

/// The storage report: totals over time, per group, filesystems, forecasts, top lists.
#[utoipa::path(
    get,
    path = "/api/v1/reports/storage",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report", body = ReportDto),
        (status = 400, description = "A date is malformed, the range reversed or wider than 731 days, or a grouping, chart or name unknown; `field` names it", body = crate::http::error::ErrorBody),
    )
)]
pub async fn storage(
    State(state): State<AppState>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<ReportDto>, ApiError> {
    let Query(q) = q?;
    Ok(Json(state.reports.report(&q, now_ms()).await?))
}

fn title(report: &Report) -> String {
    let s = &report.selection;
    let range = format!(
        "{} to {} (UTC)",
        s.query.from.as_deref().unwrap_or(""),
        s.query.to.as_deref().unwrap_or("")
    );
    match s.chart {
        Chart::Storage => format!("Storage of {}, {range}", s.scope.label()),
        Chart::Inodes => format!(
            "Inodes on {}, {range}",
            s.scope
                .node
                .as_ref()
                .map(|n| format!("{n}'s filesystems"))
                .unwrap_or_else(|| "every node's filesystems".into())
        ),
        Chart::Forecast => "Disk and inodes used, with the fitted trend".to_string(),
    }
}

/// Checks the query and builds what one chart needs (`need` is told which chart).
async fn chart_report(
    state: &AppState,
    q: &ReportQuery,
    need: fn(Chart) -> Need,
) -> Result<Report, ApiError> {
    let selection = parse(q, now_ms())?;
    let need = need(selection.chart);
    Ok(Report::build(state.reports.pool(), selection, need)
        .await
        .map_err(ReportsError::from)?)
}

/// One report chart as SVG (`chart=storage|inodes|forecast`).
#[utoipa::path(
    get,
    path = "/api/v1/reports/storage.svg",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "The chart (image/svg+xml): title, axes with units, legend", content_type = "image/svg+xml", body = String),
        (status = 400, description = "Bad query; `field` names it", body = crate::http::error::ErrorBody),
    )
)]
pub async fn storage_svg(
    State(state): State<AppState>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let report = chart_report(&state, &q, Need::Svg).await?;
    let t = title(&report);
    let svg = match report.selection.chart {
        Chart::Storage => chart::storage_svg(&report, &t),
        Chart::Inodes => chart::inodes_svg(&report, &t),
        Chart::Forecast => chart::forecast_svg(&report, &t),
    }?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

/// The series of one report chart as CSV (`chart=storage|inodes|forecast`): storage per group
/// and point, inodes per filesystem and point, forecast per filesystem.
#[utoipa::path(
    get,
    path = "/api/v1/reports/storage.csv",
    tag = "reports",
    params(ReportQuery),
    responses(
        (status = 200, description = "CSV with a header line", content_type = "text/csv", body = String),
        (status = 400, description = "Bad query; `field` names it", body = crate::http::error::ErrorBody),
    )
)]
pub async fn storage_csv(
    State(state): State<AppState>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q?;
    let report = chart_report(&state, &q, Need::Csv).await?;
    let s = &report.selection;
    let name = format!(
        "attachment; filename=\"snapkeep-{}-{}-{}.csv\"",
        s.chart.name(),
        s.query.from.as_deref().unwrap_or(""),
        s.query.to.as_deref().unwrap_or("")
    );
    let text = csv::render(&report, s.chart);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        text,
    )
        .into_response())
}

/// Measured live data, snapshot hold, churn and growth of a node, keyspace or table over the
/// last days: what the calculator's "use my cluster" fills in.
#[utoipa::path(
    get,
    path = "/api/v1/reports/measured",
    tag = "reports",
    params(MeasuredQuery),
    responses(
        (status = 200, description = "Measured figures (`samples` = 0 when nothing was sampled yet)", body = Measured),
        (status = 400, description = "`days` out of 1–365 or a malformed name; `field` names it", body = crate::http::error::ErrorBody),
    )
)]
pub async fn measured(
    State(state): State<AppState>,
    q: Result<Query<MeasuredQuery>, QueryRejection>,
) -> Result<Json<Measured>, ApiError> {
    let Query(q) = q?;
    let scope = q.scope()?;
    Ok(Json(
        state.reports.measured(&scope, q.days, now_ms()).await?,
    ))
}
