//! `snapkeep serve` (the dashboard, the REST API and the metrics) and `snapkeep demo` (a dev
//! node with the `shop` demo data, a user per role, and the console against it).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::{Config, LogFormat, Overrides};

/// Runs `snapkeep serve` until it is stopped.
pub(super) fn run_serve(
    config_file: Option<&Path>,
    log_format: Option<LogFormat>,
    listen: Option<String>,
    state_dir: Option<PathBuf>,
    catalog: Option<PathBuf>,
) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen,
        state_dir,
        catalog,
        log_format,
    };
    let config = Config::load(config_file, &overrides)?;
    crate::telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(crate::server::serve(config))?;
    Ok(())
}

/// Runs `snapkeep demo` until Ctrl-C, then stops the dev node.
pub(super) fn run_demo(
    config_file: Option<&Path>,
    log_format: Option<LogFormat>,
    listen: Option<String>,
    state_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen,
        state_dir,
        catalog: None,
        log_format,
    };
    let mut config = Config::load(config_file, &overrides)?;
    crate::telemetry::init(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(&mut config))
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
    use crate::cassandra::cql::Cql;
    use crate::node::{Nodetool, demo, devnode};
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
