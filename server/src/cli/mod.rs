//! The command line: `snapkeep serve` and friends. Parsing and dispatch live here; each
//! command group has its own file, and the work lives in the domain modules.
//!
//! - [`serve`]: `serve` and `demo`.
//! - [`devnode`]: `dev-node` (the node itself is [`crate::node::devnode`]).
//! - [`admin`]: `user`, `token` and `audit`, straight on the catalog.
//! - [`snapshot`], [`restore`], [`backups`]: `snapshot`, `restore`, `store` and `backups`,
//!   through a running server's API.
//! - [`client`]: the CLI's side of the REST API those two use.

pub mod admin;
pub mod alerts;
pub mod backups;
pub mod client;
pub mod devnode;
pub mod drill;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod serve;
pub mod snapshot;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;

/// Snapkeep keeps Apache Cassandra snapshots and backups safe and shows what they cost.
#[derive(Debug, Parser)]
#[command(name = "snapkeep", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Environment variables SNAPKEEP_* override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard, the REST API and the metrics.
    Serve {
        /// Address to listen on (IP:PORT); port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Directory for Snapkeep's state (default ./snapkeep-data).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// The SQLite catalog file (default STATE_DIR/catalog.db).
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
    },
    /// Start (or reuse) a dev node under STATE_DIR/node1, load the `shop` demo data once, and
    /// serve the console against it; Ctrl-C stops both.
    Demo {
        /// Address to listen on (IP:PORT); port 0 picks a free port.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Directory for Snapkeep's state and the dev node (default ./snapkeep-data).
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Manage users (straight on the catalog; works before the server runs).
    User {
        /// Directory for Snapkeep's state (default ./snapkeep-data).
        #[arg(long, value_name = "DIR", global = true)]
        state_dir: Option<PathBuf>,
        /// The SQLite catalog file (default STATE_DIR/catalog.db).
        #[arg(long, value_name = "FILE", global = true)]
        catalog: Option<PathBuf>,
        #[command(subcommand)]
        action: admin::UserCommand,
    },
    /// Manage API tokens (straight on the catalog).
    Token {
        /// Directory for Snapkeep's state (default ./snapkeep-data).
        #[arg(long, value_name = "DIR", global = true)]
        state_dir: Option<PathBuf>,
        /// The SQLite catalog file (default STATE_DIR/catalog.db).
        #[arg(long, value_name = "FILE", global = true)]
        catalog: Option<PathBuf>,
        #[command(subcommand)]
        action: admin::TokenCommand,
    },
    /// Check the audit log's hash chain (exit 1 naming the row where it breaks), or archive
    /// old rows (straight on the catalog).
    Audit {
        /// Directory for Snapkeep's state (default ./snapkeep-data).
        #[arg(long, value_name = "DIR", global = true)]
        state_dir: Option<PathBuf>,
        /// The SQLite catalog file (default STATE_DIR/catalog.db).
        #[arg(long, value_name = "FILE", global = true)]
        catalog: Option<PathBuf>,
        #[command(subcommand)]
        action: admin::AuditCommand,
    },
    /// Take, list, show, clear and upload snapshots through a running server's API.
    Snapshot {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: snapshot::SnapshotCommand,
    },
    /// Plan, request, approve, reject, execute, resume, cancel, show and list restores through a
    /// running server's API.
    Restore {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: restore::RestoreCommand,
    },
    /// List, test, verify and reindex the backup stores through a running server's API.
    Store {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: backups::StoreCommand,
    },
    /// Ship incremental backups off the nodes, and show what waits, through a running
    /// server's API.
    Backups {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: backups::BackupsCommand,
    },
    /// Scheduled snapshots (cron in a time zone, retention) through a running server's API.
    Schedule {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: schedule::ScheduleCommand,
    },
    /// Retention of the snapshots Cassandra takes on TRUNCATE and DROP.
    Retention {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: retention::RetentionCommand,
    },
    /// Alerts: what needs attention now, and acknowledging it.
    Alerts {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: alerts::AlertsCommand,
    },
    /// Restore drills: proof that snapshots restore, without touching live tables.
    Drill {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: drill::DrillCommand,
    },
    /// A real Apache Cassandra 5.0 node for trying Snapkeep out (fetched with Maven).
    DevNode {
        #[command(subcommand)]
        action: devnode::DevNodeAction,
    },
}

/// How the API commands reach a running server.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The server, http:// or https:// (default $SNAPKEEP_SERVER or
    /// http://127.0.0.1:3000). The API token is read from $SNAPKEEP_TOKEN.
    #[arg(
        long,
        global = true,
        env = "SNAPKEEP_SERVER",
        default_value = "http://127.0.0.1:3000"
    )]
    pub server: String,
    /// PEM file with the CA certificate(s) an https:// server's certificate must chain to
    /// (a private CA); default the system's root certificates.
    #[arg(long, global = true, env = "SNAPKEEP_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs one API command against the server `args` name, on a runtime of its own.
fn api_command<F, Fut>(args: ServerArgs, command: F) -> anyhow::Result<()>
where
    F: FnOnce(client::ApiClient, bool) -> Fut,
    Fut: std::future::Future<Output = Result<(), client::ClientError>>,
{
    let json = args.json;
    client::run_with_client(&args.server, args.ca_file.as_deref(), |c| command(c, json))
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve {
            listen,
            state_dir,
            catalog,
        } => serve::run_serve(config, cli.log_format, listen, state_dir, catalog),
        Command::Demo { listen, state_dir } => {
            serve::run_demo(config, cli.log_format, listen, state_dir)
        }
        Command::User {
            state_dir,
            catalog,
            action,
        } => admin::catalog_command(config, state_dir, catalog, |pool| async move {
            admin::run_user(&pool, action).await
        }),
        Command::Token {
            state_dir,
            catalog,
            action,
        } => admin::catalog_command(config, state_dir, catalog, |pool| async move {
            admin::run_token(&pool, action).await
        }),
        Command::Audit {
            state_dir,
            catalog,
            action,
        } => admin::catalog_command(config, state_dir, catalog, |pool| async move {
            admin::run_audit(&pool, action).await
        }),
        Command::Snapshot { server, action } => api_command(server, |c, json| async move {
            snapshot::run_snapshot(&c, action, json).await
        }),
        Command::Restore { server, action } => api_command(server, |c, json| async move {
            restore::run_restore(&c, action, json).await
        }),
        Command::Store { server, action } => api_command(server, |c, json| async move {
            backups::run_store(&c, action, json).await
        }),
        Command::Backups { server, action } => api_command(server, |c, json| async move {
            backups::run_backups(&c, action, json).await
        }),
        Command::Schedule { server, action } => api_command(server, |c, json| async move {
            schedule::run_schedule(&c, action, json).await
        }),
        Command::Retention { server, action } => api_command(server, |c, json| async move {
            retention::run_retention(&c, action, json).await
        }),
        Command::Alerts { server, action } => api_command(server, |c, json| async move {
            alerts::run_alerts(&c, action, json).await
        }),
        Command::Drill { server, action } => api_command(server, |c, json| async move {
            drill::run_drill(&c, action, json).await
        }),
        Command::DevNode { action } => devnode::run(cli.log_format, action),
    }
}
