//! `snapkeep serve`: opens the catalog, binds the listener, prints the URL it really serves
//! and runs until SIGTERM or Ctrl-C, then shuts down gracefully.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::TcpListener;

use crate::catalog::{Catalog, CatalogError};
use crate::config::Config;
use crate::http::app;
use crate::state::AppState;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    #[error("the HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// A server that is bound and ready to run.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
}

impl Server {
    /// Opens the catalog and binds the listener; nothing is served yet.
    pub async fn bind(config: &Config) -> Result<Self, ServeError> {
        let catalog = Catalog::open(&config.catalog).await?;
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "the address is already in use (another Snapkeep or another program is listening there); choose another with --listen, or port 0 for a free one".to_string()
                }
                std::io::ErrorKind::PermissionDenied => {
                    "permission denied (ports below 1024 need privileges); choose another with --listen".to_string()
                }
                std::io::ErrorKind::AddrNotAvailable => {
                    "that address does not belong to this machine; choose another with --listen".to_string()
                }
                _ => e.to_string(),
            };
            ServeError::Bind {
                addr: config.listen,
                reason,
            }
        })?;
        let addr = listener.local_addr().map_err(ServeError::Serve)?;
        let site_root = find_site_root(config.site_root.as_deref());
        if !site_root.join("pkg").join("snapkeep.js").is_file() {
            tracing::warn!(
                site_root = %site_root.display(),
                "web assets (pkg/snapkeep.js) not found: pages render but will not become interactive; build them with `make build` or set site_root"
            );
        }
        match crate::restore::service::mark_interrupted(catalog.pool()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                restores = n,
                "restores left running by the previous server are interrupted: resume them with `snapkeep restore resume ID`"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot mark interrupted restores"),
        }
        match crate::drills::DrillService::mark_interrupted(catalog.pool()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                drills = n,
                "drills left running by the previous server are interrupted"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot mark interrupted drills"),
        }
        match crate::clusters::ClusterService::mark_interrupted(catalog.pool()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                cluster_snapshots = n,
                "cluster snapshots left running by the previous server are incomplete: retry their failed nodes"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot mark interrupted cluster snapshots"),
        }
        match crate::jobs::mark_interrupted(catalog.pool()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                jobs = n,
                "jobs left running by the previous server were marked interrupted"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot mark interrupted jobs"),
        }
        let state = AppState::build(
            catalog,
            crate::state::ServiceConfig::of(config),
            &site_root,
            addr,
        );
        if !config.nodes.is_empty() {
            let inventory = state.inventory.clone();
            tokio::spawn(async move {
                if let Err(e) = inventory.start_scan().await {
                    tracing::warn!(error = %e, "cannot start the first scan");
                }
            });
            // Every [sampling] interval_secs: a scan (which records storage samples), then
            // compaction of old samples.
            state.reports.spawn_sampler(state.inventory.clone());
            // Every hour: what full-node restores set aside past its keeping time goes.
            state.restores.spawn_aside_sweeper();
            // Every [backups] ship_interval_secs: nodes with ship_backups = true ship.
            state.backups.spawn_shipper();
            // Every hour: objects of purged uploads past their grace period leave the stores.
            state.backups.spawn_sweeper();
            // Every few seconds: schedules whose time has come run (missed ones once, now).
            state.schedules.spawn_timer();
            // Every [alerts] interval_secs: alerts evaluated, due webhooks sent.
            state.alerts.spawn_timer();
            // Every [retention] interval_secs: TRUNCATE/DROP snapshots past their days go.
            state.auto_retention.spawn_timer();
        }
        let router = app(state, &config.http);
        Ok(Self {
            listener,
            router,
            addr,
        })
    }

    /// The address really bound (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<(), ServeError> {
        use axum::serve::ListenerExt as _;
        // Small responses must not wait for Nagle's algorithm and delayed ACKs (~40 ms).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        axum::serve(
            listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)
    }
}

/// Runs `snapkeep serve` with the given configuration.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let server = Server::bind(&config).await?;
    let url = format!("http://{}", server.local_addr());
    tracing::info!(%url, catalog = %config.catalog.display(), "snapkeep is serving");
    println!("listening on {url}");
    let _ = std::io::stdout().flush();
    server.run().await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Where the built web assets are: the configured directory, else `LEPTOS_SITE_ROOT`, else
/// `site/` beside the binary's profile directory (`target/site` for `target/release/snapkeep`),
/// else `target/site` under the working directory.
fn find_site_root(configured: Option<&Path>) -> PathBuf {
    if let Some(p) = configured {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("LEPTOS_SITE_ROOT").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|t| t.join("site")));
    if let Some(p) = beside_binary.filter(|p| p.join("pkg").is_dir()) {
        return p;
    }
    PathBuf::from("target/site")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing open requests");
}
