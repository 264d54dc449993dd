//! What the pages' server functions call: the [`app::api::Backend`] the server provides
//! through Leptos context, over the same services the REST API uses.

use app::api::{
    AuditPage, AuditQuery, Backend, BoxFuture, CreateSnapshotRequest, CurrentUser, JobDto,
    OverviewDto, Role, SettingsDto, SnapshotDetailDto, SnapshotFormOptions, SnapshotJobDto,
    SnapshotPage, SnapshotQuery,
};

use crate::auth::middleware::AuthState;
use crate::auth::{audit, store};
use crate::clock::now_ms;
use crate::inventory::Inventory;
use crate::jobs;
use crate::snapshots::SnapshotService;
use crate::snapshots::query::{self, DEFAULT_FILES_LIMIT};
use crate::snapshots::service::is_system_keyspace;

/// The services behind the pages.
#[derive(Clone)]
pub struct Services {
    pub inventory: Inventory,
    pub snapshots: SnapshotService,
    pub auth: AuthState,
    pub restores: crate::restore::RestoreService,
    pub reports: crate::reports::ReportService,
    pub backups: crate::backups::BackupService,
    pub alerts: crate::alerts::AlertService,
    pub schedules: crate::schedules::ScheduleService,
    pub rpo: std::sync::Arc<crate::rpo::RpoConfig>,
    pub drills: crate::drills::DrillService,
    pub pool: sqlx::SqlitePool,
}

fn msg(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Backend for Services {
    fn schedules(&self) -> BoxFuture<'_, Vec<app::api::ScheduleRow>> {
        Box::pin(async move {
            let list = self.schedules.list().await.map_err(msg)?;
            Ok(list.iter().map(app::api::ScheduleRow::from).collect())
        })
    }
    fn preview_schedule(
        &self,
        form: app::api::ScheduleForm,
    ) -> BoxFuture<'_, app::api::SchedulePreviewDto> {
        Box::pin(async move {
            let input = crate::schedules::model::ScheduleInput::from_form(&form).map_err(msg)?;
            let p = self.schedules.preview(input).map_err(msg)?;
            Ok(app::api::SchedulePreviewDto {
                next_runs_local: p.next_runs_local,
                tags: p.tags,
            })
        })
    }
    fn create_schedule(
        &self,
        user: CurrentUser,
        form: app::api::ScheduleForm,
    ) -> BoxFuture<'_, app::api::ScheduleRow> {
        Box::pin(async move {
            let input = crate::schedules::model::ScheduleInput::from_form(&form).map_err(msg)?;
            let d = self
                .schedules
                .create(input, Some(&user.name))
                .await
                .map_err(msg)?;
            Ok(app::api::ScheduleRow::from(&d))
        })
    }
    fn pause_schedule(&self, id: i64, paused: bool) -> BoxFuture<'_, app::api::ScheduleRow> {
        Box::pin(async move {
            let patch = crate::schedules::model::SchedulePatch {
                paused: Some(paused),
                ..Default::default()
            };
            let d = self.schedules.update(id, patch).await.map_err(msg)?;
            Ok(app::api::ScheduleRow::from(&d))
        })
    }
    fn rpo(&self) -> BoxFuture<'_, Vec<app::api::RpoRow>> {
        Box::pin(async move {
            crate::rpo::panel(&self.pool, &self.rpo, now_ms())
                .await
                .map_err(msg)
        })
    }
    fn drills(&self) -> BoxFuture<'_, app::api::DrillsPageDto> {
        Box::pin(async move {
            Ok(app::api::DrillsPageDto {
                proof: self.drills.proof().await.map_err(msg)?,
                history: self.drills.list(50).await.map_err(msg)?,
            })
        })
    }
    fn alerts(&self) -> BoxFuture<'_, Vec<app::api::AlertDto>> {
        Box::pin(async move { self.alerts.list(false).await.map_err(msg) })
    }
    fn ack_alert(
        &self,
        user: CurrentUser,
        id: String,
        hours: f64,
    ) -> BoxFuture<'_, app::api::AlertDto> {
        Box::pin(async move {
            let input = app::api::AckInput {
                hours: Some(hours),
                comment: None,
            };
            self.alerts.ack(&id, &user.name, input).await.map_err(msg)
        })
    }
    fn backups(&self) -> BoxFuture<'_, app::api::BackupsPageDto> {
        Box::pin(async move {
            Ok(app::api::BackupsPageDto {
                stores: self.backups.stores().await.map_err(msg)?,
                backlog: self.backups.backlog().await.map_err(msg)?,
            })
        })
    }
    fn ship_backups(&self, node: Option<String>) -> BoxFuture<'_, JobDto> {
        Box::pin(async move { self.backups.ship(node.as_deref()).await.map_err(msg) })
    }
    fn set_incremental_backups(&self, node: String, enabled: bool) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            self.backups
                .set_incremental_backups(&node, enabled)
                .await
                .map_err(msg)
        })
    }
    fn snapshot_copies(&self, tag: String) -> BoxFuture<'_, Vec<app::api::UploadDto>> {
        Box::pin(async move {
            self.backups
                .uploads(Some("snapshot"), Some(&tag), 100)
                .await
                .map_err(msg)
        })
    }
    fn store_copies(&self) -> BoxFuture<'_, Vec<app::api::StoreCopyDto>> {
        Box::pin(async move { self.backups.store_copies(500).await.map_err(msg) })
    }
    fn upload_snapshot(&self, tag: String, store: Option<String>) -> BoxFuture<'_, JobDto> {
        Box::pin(async move {
            self.backups
                .upload_snapshot(&tag, store.as_deref(), None)
                .await
                .map_err(msg)
        })
    }
    fn overview(&self) -> BoxFuture<'_, OverviewDto> {
        Box::pin(async move { self.inventory.overview().await.map_err(msg) })
    }
    fn start_scan(&self) -> BoxFuture<'_, JobDto> {
        Box::pin(async move {
            self.inventory
                .start_scan()
                .await
                .map(JobDto::from)
                .map_err(msg)
        })
    }
    fn job(&self, id: i64) -> BoxFuture<'_, Option<JobDto>> {
        Box::pin(async move {
            jobs::get(self.inventory.pool(), id)
                .await
                .map(|j| j.map(JobDto::from))
                .map_err(msg)
        })
    }
    fn settings(&self, user: CurrentUser) -> BoxFuture<'_, SettingsDto> {
        Box::pin(async move {
            let pool = &self.auth.pool;
            if user.can(Role::Admin) {
                Ok(SettingsDto {
                    users: store::list_users(pool).await.map_err(msg)?,
                    tokens: store::list_tokens(pool, None).await.map_err(msg)?,
                })
            } else {
                Ok(SettingsDto {
                    users: Vec::new(),
                    tokens: store::list_tokens(pool, Some(&user.name))
                        .await
                        .map_err(msg)?,
                })
            }
        })
    }
    fn revoke_token(&self, user: CurrentUser, id: i64) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let owner = (!user.can(Role::Admin)).then_some(user.name.as_str());
            store::revoke_token(&self.auth.pool, id, owner)
                .await
                .map_err(msg)
        })
    }
    fn audit(&self, query: AuditQuery) -> BoxFuture<'_, AuditPage> {
        Box::pin(async move {
            audit::list(&self.auth.pool, &query)
                .await
                .map_err(msg)?
                .map_err(|(_, m)| m)
        })
    }
    fn list_restores(&self) -> BoxFuture<'_, Vec<app::api::RestoreDto>> {
        Box::pin(async move { self.restores.list(200).await.map_err(msg) })
    }
    fn restore(&self, id: i64) -> BoxFuture<'_, Option<app::api::RestoreDto>> {
        Box::pin(async move {
            match self.restores.get(id).await {
                Ok(r) => Ok(Some(r)),
                Err(crate::restore::RestoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
    fn plan_restore(&self, input: app::api::RestoreInput) -> BoxFuture<'_, app::api::Plan> {
        Box::pin(async move { self.restores.plan(&input).await.map_err(msg) })
    }
    fn request_restore(
        &self,
        user: CurrentUser,
        input: app::api::RestoreInput,
    ) -> BoxFuture<'_, app::api::RestoreDto> {
        Box::pin(async move { self.restores.request(input, &user).await.map_err(msg) })
    }
    fn decide_restore(
        &self,
        user: CurrentUser,
        id: i64,
        approve: bool,
        comment: String,
    ) -> BoxFuture<'_, app::api::RestoreDto> {
        Box::pin(async move {
            self.restores
                .decide(id, &user, approve, &comment)
                .await
                .map_err(msg)
        })
    }
    fn execute_restore(&self, id: i64, resume: bool) -> BoxFuture<'_, app::api::RestoreDto> {
        Box::pin(async move { self.restores.execute(id, resume).await.map_err(msg) })
    }
    fn remove_restore_aside(
        &self,
        user: app::api::CurrentUser,
        id: i64,
    ) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move {
            self.restores
                .remove_aside(id, Some(&user))
                .await
                .map_err(msg)
        })
    }
    fn cancel_restore(
        &self,
        user: app::api::CurrentUser,
        id: i64,
        comment: String,
    ) -> BoxFuture<'_, app::api::RestoreDto> {
        Box::pin(async move { self.restores.cancel(id, &user, &comment).await.map_err(msg) })
    }
    fn list_snapshots(&self, q: SnapshotQuery) -> BoxFuture<'_, SnapshotPage> {
        Box::pin(async move { query::list(self.snapshots.pool(), &q).await.map_err(msg) })
    }
    fn snapshot(
        &self,
        tag: String,
        node: Option<String>,
    ) -> BoxFuture<'_, Option<SnapshotDetailDto>> {
        Box::pin(async move {
            query::detail(
                self.snapshots.pool(),
                &tag,
                node.as_deref().filter(|n| !n.is_empty()),
                DEFAULT_FILES_LIMIT,
            )
            .await
            .map_err(msg)
        })
    }
    fn snapshot_form_options(&self) -> BoxFuture<'_, SnapshotFormOptions> {
        Box::pin(async move {
            let tables = self.inventory.tables_view().await.map_err(msg)?;
            let mut names: Vec<String> = tables
                .into_iter()
                .filter(|t| t.in_schema && !is_system_keyspace(&t.keyspace))
                .map(|t| format!("{}.{}", t.keyspace, t.table))
                .collect();
            names.sort();
            names.dedup();
            Ok(SnapshotFormOptions {
                nodes: self
                    .snapshots
                    .nodes()
                    .iter()
                    .map(|n| n.name.clone())
                    .collect(),
                tables: names,
            })
        })
    }
    fn create_snapshot(&self, request: CreateSnapshotRequest) -> BoxFuture<'_, SnapshotJobDto> {
        Box::pin(async move { self.snapshots.create(request, None).await.map_err(msg) })
    }
    fn clear_snapshot(
        &self,
        tag: String,
        node: Option<String>,
        keyspace: Option<String>,
        table: Option<String>,
    ) -> BoxFuture<'_, SnapshotJobDto> {
        Box::pin(async move {
            self.snapshots
                .clear(&tag, node.as_deref(), keyspace.as_deref(), table.as_deref())
                .await
                .map_err(msg)
        })
    }
    fn report(&self, query: app::api::ReportQuery) -> BoxFuture<'_, app::api::ReportDto> {
        Box::pin(async move { self.reports.report(&query, now_ms()).await.map_err(msg) })
    }
    fn measure_scopes(&self) -> BoxFuture<'_, Vec<app::api::MeasureScope>> {
        Box::pin(async move { self.reports.measure_scopes().await.map_err(msg) })
    }
    fn measured(&self, scope: String, days: Option<i64>) -> BoxFuture<'_, app::api::Measured> {
        Box::pin(async move {
            let (node, keyspace, table) = app::api::parse_scope(&scope);
            let scope = crate::reports::selection::Scope {
                node,
                keyspace,
                table,
            };
            self.reports
                .measured(&scope, days, now_ms())
                .await
                .map_err(msg)
        })
    }
}
