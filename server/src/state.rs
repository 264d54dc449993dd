//! The application state every handler and server function gets: the services, each built
//! once from its own section of the configuration, and the catalog they share.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::auth::AuthConfig;
use crate::auth::state::AuthState;
use crate::catalog::Catalog;
use crate::inventory::Inventory;
use crate::metrics::Metrics;
use crate::node::NodeConfig;
use crate::snapshots::{SnapshotService, SnapshotsConfig};

/// Everything a handler may need; cloned per request (all fields are cheap handles).
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub catalog: Catalog,
    pub metrics: Arc<Metrics>,
    pub inventory: Inventory,
    pub snapshots: SnapshotService,
    pub auth: AuthState,
    pub restores: crate::restore::RestoreService,
    /// Storage reports and the sampler's schedule.
    pub reports: crate::reports::ReportService,
    /// Off-node backups: stores, uploads, shipping.
    pub backups: crate::backups::BackupService,
    /// Scheduled snapshots and their retention.
    pub schedules: crate::schedules::ScheduleService,
    pub drills: crate::drills::DrillService,
    /// `[rpo]`: the targets of the RPO panel.
    pub rpo: Arc<crate::rpo::RpoConfig>,
    pub alerts: crate::alerts::AlertService,
    /// Retention of TRUNCATE/DROP snapshots.
    pub auto_retention: crate::schedules::auto::AutoRetention,
    /// Clusters and their snapshots.
    pub clusters: crate::clusters::ClusterService,
}

/// What the services are built from: the nodes and each domain's section of the
/// configuration.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    pub nodes: Vec<NodeConfig>,
    pub snapshots: SnapshotsConfig,
    pub auth: AuthConfig,
    pub restore: crate::restore::RestoreConfig,
    pub sampling: crate::reports::SamplingConfig,
    pub stores: Vec<crate::backups::StoreConfig>,
    pub backups: crate::backups::BackupsConfig,
    pub rpo: crate::rpo::RpoConfig,
    pub alerts: crate::alerts::AlertsConfig,
    pub retention: crate::schedules::auto::RetentionConfig,
}

impl ServiceConfig {
    /// The services' part of the whole configuration.
    pub fn of(config: &crate::config::Config) -> Self {
        Self {
            nodes: config.nodes.clone(),
            snapshots: config.snapshots.clone(),
            auth: config.auth.clone(),
            restore: config.restore.clone(),
            sampling: config.sampling.clone(),
            stores: config.stores.clone(),
            backups: config.backups.clone(),
            rpo: config.rpo.clone(),
            alerts: config.alerts.clone(),
            retention: config.retention.clone(),
        }
    }
}

impl AppState {
    /// State for a server whose web assets are in `site_root`, listening on `addr`, with
    /// every section but the nodes at its default.
    pub fn new(
        catalog: Catalog,
        nodes: Vec<NodeConfig>,
        site_root: &std::path::Path,
        addr: std::net::SocketAddr,
    ) -> Self {
        let config = ServiceConfig {
            nodes,
            ..ServiceConfig::default()
        };
        Self::build(catalog, config, site_root, addr)
    }

    /// State for a server: each service built once, from its own configuration.
    pub fn build(
        catalog: Catalog,
        config: ServiceConfig,
        site_root: &std::path::Path,
        addr: std::net::SocketAddr,
    ) -> Self {
        let env = match std::env::var("LEPTOS_ENV").map(|v| v.to_ascii_lowercase()) {
            Ok(v) if v == "dev" || v == "development" => leptos::config::Env::DEV,
            _ => leptos::config::Env::PROD,
        };
        let leptos = LeptosOptions::builder()
            .output_name("snapkeep")
            .site_root(site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(env)
            .build();
        let pool = catalog.pool().clone();
        let nodes = config.nodes;
        let sessions = crate::cassandra::CqlSessions::default();
        let reports =
            crate::reports::ReportService::new(pool.clone(), config.sampling, nodes.len());
        let inventory = Inventory::new(pool.clone(), nodes.clone());
        let scanner = inventory.clone();
        let snapshots = SnapshotService::new(
            pool.clone(),
            nodes.clone(),
            config.snapshots,
            sessions.clone(),
        )
        .with_after_job(Arc::new(move || {
            // The Overview's per-table totals catch up with what the job changed.
            let scanner = scanner.clone();
            tokio::spawn(async move {
                if let Err(e) = scanner.start_scan().await {
                    tracing::warn!(error = %e, "cannot start a scan after a snapshot job");
                }
            });
        }));
        let auth = AuthState::new(pool.clone(), config.auth);
        let backups = crate::backups::BackupService::new(
            pool.clone(),
            nodes.clone(),
            config.stores,
            config.backups,
        );
        let restores = crate::restore::RestoreService::new(
            pool.clone(),
            nodes.clone(),
            snapshots.clone(),
            sessions.clone(),
            config.restore,
        )
        .with_backups(backups.clone());
        let alerts = crate::alerts::AlertService::new(
            pool.clone(),
            config.alerts,
            config.retention.auto_snapshot_days,
            backups.clone(),
        );
        let auto_retention = crate::schedules::auto::AutoRetention::new(
            pool.clone(),
            snapshots.clone(),
            config.retention,
        );
        let clusters = crate::clusters::ClusterService::new(
            pool.clone(),
            inventory.clone(),
            snapshots.clone(),
        );
        let node_names = nodes.iter().map(|n| n.name.clone()).collect();
        let drills =
            crate::drills::DrillService::new(pool.clone(), nodes, restores.clone(), sessions);
        let schedules = crate::schedules::ScheduleService::new(
            pool,
            snapshots.clone(),
            backups.clone(),
            node_names,
        )
        .with_drills(drills.clone())
        .with_clusters(clusters.clone());
        Self {
            leptos,
            catalog,
            metrics: Arc::new(Metrics::new()),
            inventory,
            snapshots,
            auth,
            restores,
            reports,
            backups,
            schedules,
            drills,
            rpo: Arc::new(config.rpo),
            alerts,
            auto_retention,
            clusters,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
