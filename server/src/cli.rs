//! The command line: `snapkeep serve` and friends. Parsing lives here; the work lives in the
//! domain modules.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat, Overrides};

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
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            state_dir,
            catalog,
        } => {
            let overrides = Overrides {
                listen,
                state_dir,
                catalog,
                log_format: cli.log_format,
            };
            let config = Config::load(cli.config.as_deref(), &overrides)?;
            crate::telemetry::init(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(crate::server::serve(config))?;
            Ok(())
        }
    }
}
