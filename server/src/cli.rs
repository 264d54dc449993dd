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
        action: crate::auth::cli::UserCommand,
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
        action: crate::auth::cli::TokenCommand,
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
        action: crate::auth::cli::AuditCommand,
    },
    /// Take, list, show and clear snapshots through a running server's API.
    Snapshot {
        /// The server, http:// or https:// (default $SNAPKEEP_SERVER or
        /// http://127.0.0.1:3000). The API token is read from $SNAPKEEP_TOKEN.
        #[arg(
            long,
            global = true,
            env = "SNAPKEEP_SERVER",
            default_value = "http://127.0.0.1:3000"
        )]
        server: String,
        /// PEM file with the CA certificate(s) an https:// server's certificate must chain to
        /// (a private CA); default the system's root certificates.
        #[arg(long, global = true, env = "SNAPKEEP_CA_FILE", value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: crate::client::SnapshotCommand,
    },
    /// Plan, request, approve, reject, execute, resume, cancel, show and list restores through a
    /// running server's API.
    Restore {
        /// The server, http:// or https:// (default $SNAPKEEP_SERVER or
        /// http://127.0.0.1:3000); token from $SNAPKEEP_TOKEN.
        #[arg(
            long,
            global = true,
            env = "SNAPKEEP_SERVER",
            default_value = "http://127.0.0.1:3000"
        )]
        server: String,
        /// PEM file with the CA certificate(s) an https:// server's certificate must chain to
        /// (a private CA); default the system's root certificates.
        #[arg(long, global = true, env = "SNAPKEEP_CA_FILE", value_name = "PEM")]
        ca_file: Option<PathBuf>,
        /// Print JSON for scripts instead of text.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: crate::client::RestoreCommand,
    },
    /// A real Apache Cassandra 5.0 node for trying Snapkeep out (fetched with Maven).
    DevNode {
        #[command(subcommand)]
        action: DevNodeAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevNodeAction {
    /// Start (or reuse) the node in DIR and write DIR/snapkeep.toml.
    Start {
        /// The node's directory (conf, data, commitlog, logs).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// CQL port (default: a free port; kept across restarts).
        #[arg(long)]
        cql_port: Option<u16>,
        /// JMX port for nodetool (default: a free port).
        #[arg(long)]
        jmx_port: Option<u16>,
        /// Inter-node storage port (default: a free port).
        #[arg(long)]
        storage_port: Option<u16>,
        /// Loopback address to bind, e.g. 127.0.0.2 for a second node.
        #[arg(long, default_value = "127.0.0.1")]
        listen: std::net::Ipv4Addr,
        /// Turn on incremental_backups in cassandra.yaml.
        #[arg(long)]
        incremental_backups: bool,
        /// Node name used in Snapkeep's configuration.
        #[arg(long, default_value = "node1")]
        name: String,
    },
    /// Stop the node in DIR (SIGTERM, then SIGKILL after --timeout seconds).
    Stop {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Say whether the node in DIR runs.
    Status {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Load the `shop` demo keyspace into the running node in DIR (skipped when present).
    LoadDemo {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Customers to write (each with three orders).
        #[arg(long, default_value_t = crate::cassandra::demo::CUSTOMERS)]
        customers: usize,
        /// Products to write (each written three times).
        #[arg(long, default_value_t = crate::cassandra::demo::PRODUCTS)]
        products: usize,
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
        Command::Demo { listen, state_dir } => {
            let overrides = Overrides {
                listen,
                state_dir,
                catalog: None,
                log_format: cli.log_format,
            };
            let mut config = Config::load(cli.config.as_deref(), &overrides)?;
            crate::telemetry::init(config.log_format);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(demo(&mut config))
        }
        Command::User {
            state_dir,
            catalog,
            action,
        } => catalog_command(
            cli.config.as_deref(),
            state_dir,
            catalog,
            |pool| async move { crate::auth::cli::run_user(&pool, action).await },
        ),
        Command::Token {
            state_dir,
            catalog,
            action,
        } => catalog_command(
            cli.config.as_deref(),
            state_dir,
            catalog,
            |pool| async move { crate::auth::cli::run_token(&pool, action).await },
        ),
        Command::Audit {
            state_dir,
            catalog,
            action,
        } => catalog_command(
            cli.config.as_deref(),
            state_dir,
            catalog,
            |pool| async move { crate::auth::cli::run_audit(&pool, action).await },
        ),
        Command::Snapshot {
            server,
            ca_file,
            json,
            action,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let client = api_client(&server, ca_file.as_deref())?;
                crate::client::run_snapshot(&client, action, json).await?;
                Ok(())
            })
        }
        Command::Restore {
            server,
            ca_file,
            json,
            action,
        } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(async move {
                let client = api_client(&server, ca_file.as_deref())?;
                crate::client::run_restore(&client, action, json).await?;
                Ok(())
            })
        }
        Command::DevNode { action } => {
            crate::telemetry::init(cli.log_format.unwrap_or_default());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime.block_on(dev_node(action))
        }
    }
}

/// The API client of the snapshot and restore commands (token from $SNAPKEEP_TOKEN); warns on
/// stderr before a token would travel over plain http to another machine.
fn api_client(
    server: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<crate::client::ApiClient, crate::client::ClientError> {
    let token = std::env::var("SNAPKEEP_TOKEN").ok();
    let client = crate::client::ApiClient::with_ca_file(server, token, ca_file)?;
    if let Some(warning) = client.insecure_token_warning() {
        eprintln!("snapkeep: {warning}");
    }
    Ok(client)
}

/// Opens the configured catalog and runs one user or token command on it.
fn catalog_command<F, Fut>(
    config: Option<&std::path::Path>,
    state_dir: Option<PathBuf>,
    catalog: Option<PathBuf>,
    f: F,
) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::SqlitePool) -> Fut,
    Fut: Future<Output = Result<String, crate::auth::AuthError>>,
{
    let overrides = Overrides {
        state_dir,
        catalog,
        ..Overrides::default()
    };
    let config = Config::load(config, &overrides)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let catalog = crate::catalog::Catalog::open(&config.catalog).await?;
        let out = f(catalog.pool().clone()).await?;
        println!("{out}");
        Ok(())
    })
}

/// The users `snapkeep demo` makes, one per role.
const DEMO_USERS: [(&str, crate::auth::Role); 4] = [
    ("demo-viewer", crate::auth::Role::Viewer),
    ("demo-operator", crate::auth::Role::Operator),
    ("demo-approver", crate::auth::Role::Approver),
    ("demo-admin", crate::auth::Role::Admin),
];

/// Creates the demo users (or gives them new passwords) and prints how to sign in.
async fn demo_users(config: &Config) -> anyhow::Result<()> {
    use crate::auth::{generate_password, store};
    let catalog = crate::catalog::Catalog::open(&config.catalog).await?;
    let pool = catalog.pool();
    println!("demo users (passwords are new each time `snapkeep demo` starts):");
    for (name, role) in DEMO_USERS {
        let password = generate_password()?;
        if store::user_exists(pool, name).await? {
            store::set_password(pool, name, &password).await?;
            store::set_role(pool, name, role).await?;
            store::set_disabled(pool, name, false).await?;
        } else {
            store::add_user(pool, name, role, &password).await?;
        }
        println!("  {name:<14} {:<9} password: {password}", role.as_str());
    }
    Ok(())
}

async fn demo(config: &mut Config) -> anyhow::Result<()> {
    use crate::cassandra::{Nodetool, cql::Cql, demo, devnode};
    let dir = config.state_dir.join("node1");
    println!(
        "starting the Cassandra {} dev node in {} …",
        devnode::CASSANDRA_VERSION,
        dir.display()
    );
    let started = devnode::start(&devnode::StartOptions::new(&dir)).await?;
    devnode::write_config(&started.node)?;
    let node = started.node.node_config();
    let cql = Cql::connect(&node.cql, std::time::Duration::from_secs(30)).await?;
    if demo::is_loaded(&cql).await? {
        println!("demo keyspace `shop` already loaded");
    } else {
        println!("loading the demo keyspace `shop` (about 100,000 rows) …");
        demo::load(&cql, &Nodetool::for_node(&node)).await?;
    }
    drop(cql);
    demo_users(config).await?;
    config.nodes = vec![node];
    let result = crate::server::serve(config.clone()).await;
    println!("stopping the dev node …");
    devnode::stop(&dir, std::time::Duration::from_secs(60)).await?;
    result?;
    Ok(())
}

async fn dev_node(action: DevNodeAction) -> anyhow::Result<()> {
    use crate::cassandra::devnode;
    match action {
        DevNodeAction::Start {
            dir,
            cql_port,
            jmx_port,
            storage_port,
            listen,
            incremental_backups,
            name,
        } => {
            let mut opts = devnode::StartOptions::new(dir);
            opts.cql_port = cql_port;
            opts.jmx_port = jmx_port;
            opts.storage_port = storage_port;
            opts.listen = listen;
            opts.incremental_backups = incremental_backups;
            opts.name = name;
            let started = devnode::start(&opts).await?;
            let config = devnode::write_config(&started.node)?;
            let n = &started.node;
            println!(
                "Cassandra {} dev node {} {} in {} (CQL {}, JMX 127.0.0.1:{})",
                devnode::CASSANDRA_VERSION,
                n.name,
                if started.reused {
                    "already running"
                } else {
                    "started"
                },
                n.dir.display(),
                n.cql_addr(),
                n.jmx_port
            );
            println!(
                "serve it with: snapkeep serve --config {}",
                config.display()
            );
            Ok(())
        }
        DevNodeAction::Stop { dir, timeout } => {
            if devnode::stop(&dir, std::time::Duration::from_secs(timeout)).await? {
                println!("stopped the dev node in {}", dir.display());
            } else {
                println!("the dev node in {} was not running", dir.display());
            }
            Ok(())
        }
        DevNodeAction::LoadDemo {
            dir,
            customers,
            products,
        } => {
            use crate::cassandra::{Nodetool, cql::Cql, demo};
            let node = devnode::load(&dir)?.node_config();
            let cql = Cql::connect(&node.cql, std::time::Duration::from_secs(30)).await?;
            if demo::is_loaded(&cql).await? {
                println!("demo keyspace `shop` already loaded");
            } else {
                demo::load_sized(
                    &cql,
                    &Nodetool::for_node(&node),
                    demo::DemoSize {
                        customers,
                        products,
                    },
                )
                .await?;
                println!(
                    "loaded the demo keyspace `shop` ({customers} customers, {products} products)"
                );
            }
            Ok(())
        }
        DevNodeAction::Status { dir } => {
            let node = devnode::load(&dir)?;
            match node.running_pid() {
                Some(pid) => println!(
                    "running (pid {pid}, CQL {} {})",
                    node.cql_addr(),
                    if node.cql_open() {
                        "open"
                    } else {
                        "not answering yet"
                    }
                ),
                None => println!("stopped"),
            }
            Ok(())
        }
    }
}
