//! Schedules and the RPO panel as the console shows them: a schedule's essentials with its
//! next runs, the form that creates one (previewed before saving), and per table how much a
//! loss now would cost, and the restore drills that prove the backups restore. The REST API
//! (`/api/v1/schedules`, `/api/v1/rpo`, `/api/v1/drills`) has every field.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::TableVerification;

#[cfg(feature = "ssr")]
use super::{auth::signed_in, backend::backend};

/// One schedule on the Schedules page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRow {
    pub id: i64,
    pub name: String,
    /// `snapshot` or `drill`.
    pub kind: String,
    pub cron: String,
    pub timezone: String,
    /// The scope in words (`every table`, `keyspaces shop`, …).
    pub scope: String,
    /// The retention in words (`keep last 7`, `keeps everything`).
    pub retention: String,
    pub paused: bool,
    /// The next five runs (Unix ms).
    pub next_runs: Vec<i64>,
    pub last_run_state: Option<String>,
    pub last_run_at: Option<i64>,
    pub last_run_message: Option<String>,
}

/// The Schedules page's form: a snapshot schedule of some keyspaces (or every table).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleForm {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// Keyspaces, comma-separated; empty: every user table.
    pub keyspaces: String,
    /// Keep the newest N (empty: keep everything).
    pub keep_last: String,
}

/// When a schedule would run, before saving it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulePreviewDto {
    pub next_runs_local: Vec<String>,
    pub tags: Vec<String>,
}

/// One table on the RPO panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RpoRow {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    /// `red`, `amber` or `green`.
    pub status: String,
    /// Why, in a sentence (what to do when not green).
    pub reason: String,
    pub target_hours: f64,
    /// Newest snapshot still on the node (Unix ms) and its tag.
    pub last_snapshot_at: Option<i64>,
    pub last_snapshot: Option<String>,
    /// Hours since that snapshot: what a loss now would lose.
    pub snapshot_age_hours: Option<f64>,
    /// Newest complete off-node copy (Unix ms).
    pub last_upload_at: Option<i64>,
    /// Newest passed drill of the table (Unix ms).
    pub last_drill_at: Option<i64>,
}

/// One drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DrillDto {
    pub id: i64,
    pub schedule_id: Option<i64>,
    pub node: String,
    pub snapshot: Option<String>,
    pub tables: Vec<String>,
    /// The restore request that did the work (plan, journal, verification).
    pub restore_id: Option<i64>,
    pub job_id: Option<i64>,
    /// `running`, `passed`, `failed` or `interrupted`.
    pub state: String,
    pub requested_by: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Time the restore took, staging to verification (ms).
    pub restore_ms: Option<i64>,
    pub message: String,
    /// Per table: rows expected and found, SSTables linked, digests, the query, notes.
    pub results: Vec<TableVerification>,
}

/// The newest passed drill of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProofDto {
    pub node: String,
    /// `keyspace.table`.
    pub table: String,
    pub drill_id: i64,
    pub snapshot: Option<String>,
    /// When the drill finished (Unix ms).
    pub proved_at: i64,
    pub rows_expected: Option<i64>,
    pub rows_found: Option<i64>,
    pub restore_ms: Option<i64>,
}

/// The Drills page: the last good restore proof of each table, and the newest drills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillsPageDto {
    pub proof: Vec<ProofDto>,
    pub history: Vec<DrillDto>,
}

/// Every schedule (Schedules page).
#[server(prefix = "/rpc", endpoint = "schedules")]
pub async fn list_schedules() -> Result<Vec<ScheduleRow>, ServerFnError> {
    backend()?.schedules().await.map_err(ServerFnError::new)
}

/// The next runs and tags of a schedule as the form describes it, without saving it.
#[server(prefix = "/rpc", endpoint = "schedule_preview")]
pub async fn preview_schedule(form: ScheduleForm) -> Result<SchedulePreviewDto, ServerFnError> {
    backend()?
        .preview_schedule(form)
        .await
        .map_err(ServerFnError::new)
}

/// Saves the schedule the form describes (operators).
#[server(prefix = "/rpc", endpoint = "schedule_create")]
pub async fn create_schedule(form: ScheduleForm) -> Result<ScheduleRow, ServerFnError> {
    backend()?
        .create_schedule(signed_in()?, form)
        .await
        .map_err(ServerFnError::new)
}

/// Pauses or resumes a schedule (operators).
#[server(prefix = "/rpc", endpoint = "schedule_pause")]
pub async fn pause_schedule(id: i64, paused: bool) -> Result<ScheduleRow, ServerFnError> {
    backend()?
        .pause_schedule(id, paused)
        .await
        .map_err(ServerFnError::new)
}

/// The Drills page.
#[server(prefix = "/rpc", endpoint = "drills")]
pub async fn get_drills() -> Result<DrillsPageDto, ServerFnError> {
    backend()?.drills().await.map_err(ServerFnError::new)
}

/// The RPO panel, worst first.
#[server(prefix = "/rpc", endpoint = "rpo")]
pub async fn get_rpo() -> Result<Vec<RpoRow>, ServerFnError> {
    backend()?.rpo().await.map_err(ServerFnError::new)
}
