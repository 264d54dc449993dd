//! `snapkeep dev-node start|stop|status|load-demo`: the command line of the Cassandra dev node
//! (the node itself is [`crate::node::devnode`]).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use crate::config::LogFormat;

#[derive(Debug, Subcommand)]
pub enum DevNodeAction {
    /// Start (or reuse) the node in DIR (or, with --cluster N, a cluster of N nodes in
    /// DIR/node1 … DIR/nodeN) and write DIR/snapkeep.toml.
    Start {
        /// The node's directory (conf, data, commitlog, logs).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Start a cluster of N nodes (2 to 9) on 127.0.0.1 … 127.0.0.N, one after another;
        /// ports are chosen for each node.
        #[arg(long, value_name = "N", conflicts_with_all = ["cql_port", "jmx_port", "storage_port", "listen", "name"])]
        cluster: Option<usize>,
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
    /// Stop the node in DIR, or every node of the cluster in DIR (SIGTERM, then SIGKILL
    /// after --timeout seconds).
    Stop {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Say whether the node in DIR (or each node of the cluster in DIR) runs.
    Status {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Load the `shop` demo keyspace into the running node in DIR (skipped when present).
    LoadDemo {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Customers to write (each with three orders).
        #[arg(long, default_value_t = crate::node::demo::CUSTOMERS)]
        customers: usize,
        /// Products to write (each written three times).
        #[arg(long, default_value_t = crate::node::demo::PRODUCTS)]
        products: usize,
    },
}

/// Runs one `snapkeep dev-node …` command.
pub(super) fn run(log_format: Option<LogFormat>, action: DevNodeAction) -> anyhow::Result<()> {
    crate::telemetry::init(log_format.unwrap_or_default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dev_node(action))
}

async fn dev_node(action: DevNodeAction) -> anyhow::Result<()> {
    use crate::node::devnode;
    match action {
        DevNodeAction::Start {
            dir,
            cluster: Some(n),
            incremental_backups,
            ..
        } => {
            let mut opts = devnode::StartOptions::new(&dir);
            opts.incremental_backups = incremental_backups;
            let started = devnode::start_cluster(&dir, n, &opts).await?;
            let nodes: Vec<devnode::DevNode> = started.iter().map(|s| s.node.clone()).collect();
            let config = devnode::write_cluster_config(&dir, &nodes)?;
            for s in &started {
                print_started(s);
            }
            println!(
                "Cassandra {} dev cluster `{}` of {n} nodes; serve it with: snapkeep serve --config {}",
                devnode::CASSANDRA_VERSION,
                devnode::CLUSTER_NAME,
                config.display()
            );
            Ok(())
        }
        DevNodeAction::Start {
            dir,
            cluster: None,
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
            print_started(&started);
            println!(
                "serve it with: snapkeep serve --config {}",
                config.display()
            );
            Ok(())
        }
        DevNodeAction::Stop { dir, timeout } => {
            let dirs: Vec<PathBuf> = match devnode::load_cluster(&dir)? {
                // The last to join leaves first.
                Some(nodes) => nodes.into_iter().rev().map(|n| n.dir).collect(),
                None => vec![dir],
            };
            for d in dirs {
                if devnode::stop(&d, std::time::Duration::from_secs(timeout)).await? {
                    println!("stopped the dev node in {}", d.display());
                } else {
                    println!("the dev node in {} was not running", d.display());
                }
            }
            Ok(())
        }
        DevNodeAction::LoadDemo {
            dir,
            customers,
            products,
        } => {
            use crate::cassandra::cql::Cql;
            use crate::node::{Nodetool, demo};
            let node = match devnode::load_cluster(&dir)? {
                Some(nodes) => nodes[0].node_config(),
                None => devnode::load(&dir)?.node_config(),
            };
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
            match devnode::load_cluster(&dir)? {
                Some(nodes) => {
                    for node in nodes {
                        println!("{}: {}", node.name, status(&node));
                    }
                }
                None => println!("{}", status(&devnode::load(&dir)?)),
            }
            Ok(())
        }
    }
}

fn status(node: &crate::node::devnode::DevNode) -> String {
    match node.running_pid() {
        Some(pid) => format!(
            "running (pid {pid}, CQL {} {})",
            node.cql_addr(),
            if node.cql_open() {
                "open"
            } else {
                "not answering yet"
            }
        ),
        None => "stopped".into(),
    }
}

fn print_started(started: &crate::node::devnode::Started) {
    let n = &started.node;
    println!(
        "Cassandra {} dev node {} {} in {} (CQL {}, JMX 127.0.0.1:{})",
        crate::node::devnode::CASSANDRA_VERSION,
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
}
