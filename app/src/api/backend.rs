//! How the pages' server functions reach the server: the [`Backend`] it provides through
//! Leptos context, and the message its errors carry back to the page.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{
    AlertDto, AuditPage, AuditQuery, BackupsPageDto, CreateSnapshotRequest, CurrentUser,
    DrillsPageDto, JobDto, MeasureScope, Measured, OverviewDto, Plan, ReportDto, ReportQuery,
    RestoreDto, RestoreInput, RpoRow, ScheduleForm, SchedulePreviewDto, ScheduleRow, SettingsDto,
    SnapshotDetailDto, SnapshotFormOptions, SnapshotJobDto, SnapshotPage, SnapshotQuery,
    StoreCopyDto, UploadDto,
};

/// What the server provides to server functions (through Leptos context).
#[cfg(feature = "ssr")]
pub trait Backend: Send + Sync {
    fn overview(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<OverviewDto, String>> + Send + '_>>;
    fn start_scan(
        &self,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<JobDto, String>> + Send + '_>>;
    fn job(&self, id: i64) -> BoxFuture<'_, Option<JobDto>>;
    fn settings(&self, user: CurrentUser) -> BoxFuture<'_, SettingsDto>;
    fn revoke_token(&self, user: CurrentUser, id: i64) -> BoxFuture<'_, ()>;
    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, AuditPage>;
    fn list_restores(&self) -> BoxFuture<'_, Vec<RestoreDto>>;
    fn restore(&self, id: i64) -> BoxFuture<'_, Option<RestoreDto>>;
    fn plan_restore(&self, input: RestoreInput) -> BoxFuture<'_, Plan>;
    fn request_restore(&self, user: CurrentUser, input: RestoreInput) -> BoxFuture<'_, RestoreDto>;
    fn decide_restore(
        &self,
        user: CurrentUser,
        id: i64,
        approve: bool,
        comment: String,
    ) -> BoxFuture<'_, RestoreDto>;
    fn execute_restore(&self, id: i64, resume: bool) -> BoxFuture<'_, RestoreDto>;
    fn cancel_restore(
        &self,
        user: CurrentUser,
        id: i64,
        comment: String,
    ) -> BoxFuture<'_, RestoreDto>;
    fn remove_restore_aside(&self, user: CurrentUser, id: i64) -> BoxFuture<'_, Vec<String>>;
    fn list_snapshots(&self, query: SnapshotQuery) -> BoxFuture<'_, SnapshotPage>;
    fn snapshot(
        &self,
        tag: String,
        node: Option<String>,
    ) -> BoxFuture<'_, Option<SnapshotDetailDto>>;
    fn snapshot_form_options(&self) -> BoxFuture<'_, SnapshotFormOptions>;
    fn create_snapshot(&self, request: CreateSnapshotRequest) -> BoxFuture<'_, SnapshotJobDto>;
    fn clear_snapshot(
        &self,
        tag: String,
        node: Option<String>,
        keyspace: Option<String>,
        table: Option<String>,
    ) -> BoxFuture<'_, SnapshotJobDto>;
    /// The stores and the incremental-backup backlog (Backups page).
    fn backups(&self) -> BoxFuture<'_, BackupsPageDto>;
    fn ship_backups(&self, node: Option<String>) -> BoxFuture<'_, JobDto>;
    fn set_incremental_backups(&self, node: String, enabled: bool) -> BoxFuture<'_, bool>;
    fn snapshot_copies(&self, tag: String) -> BoxFuture<'_, Vec<UploadDto>>;
    /// Every snapshot copy in the stores (restore wizard).
    fn store_copies(&self) -> BoxFuture<'_, Vec<StoreCopyDto>>;
    fn upload_snapshot(&self, tag: String, store: Option<String>) -> BoxFuture<'_, JobDto>;
    /// The storage report (reports page).
    fn report(&self, query: ReportQuery) -> BoxFuture<'_, ReportDto>;
    /// Scopes the calculator's "use my cluster" offers.
    fn measure_scopes(&self) -> BoxFuture<'_, Vec<MeasureScope>>;
    /// Measured live data, churn and growth of a scope (`node[/keyspace[.table]]`).
    fn measured(&self, scope: String, days: Option<i64>) -> BoxFuture<'_, Measured>;
    /// The open alerts (Overview).
    fn alerts(&self) -> BoxFuture<'_, Vec<AlertDto>>;
    fn ack_alert(&self, user: CurrentUser, id: String, hours: f64) -> BoxFuture<'_, AlertDto>;
    /// Schedules page and RPO panel.
    fn schedules(&self) -> BoxFuture<'_, Vec<ScheduleRow>>;
    fn preview_schedule(&self, form: ScheduleForm) -> BoxFuture<'_, SchedulePreviewDto>;
    fn create_schedule(&self, user: CurrentUser, form: ScheduleForm) -> BoxFuture<'_, ScheduleRow>;
    fn pause_schedule(&self, id: i64, paused: bool) -> BoxFuture<'_, ScheduleRow>;
    fn rpo(&self) -> BoxFuture<'_, Vec<RpoRow>>;
    /// The Drills page.
    fn drills(&self) -> BoxFuture<'_, DrillsPageDto>;
}

/// What [`Backend`] methods return: a boxed future with a message for the user on error.
#[cfg(feature = "ssr")]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// The shared handle the server puts in context.
#[cfg(feature = "ssr")]
pub type BackendHandle = std::sync::Arc<dyn Backend>;

/// The server's [`Backend`], as the server functions find it in context.
#[cfg(feature = "ssr")]
pub(crate) fn backend() -> Result<BackendHandle, ServerFnError> {
    use_context::<BackendHandle>()
        .ok_or_else(|| ServerFnError::new("the server provides no backend"))
}

/// The message the server gave, without the framework's "error running server function"
/// prefix.
pub fn server_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}
