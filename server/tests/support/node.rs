//! The one real Apache Cassandra 5.0 node of a test binary (the `real_node` tests), started
//! with `snapkeep dev-node`'s launcher on first use and stopped when the binary exits, and the
//! CQL helpers the tests use on it.
//!
//! Tests share the node: each gives itself its own keyspace and holds [`shared`] for its
//! whole body. A test that stops or restarts the node holds [`exclusive`] instead: it runs
//! alone, and when it ends the node is up again.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use snapkeep::cassandra::cql::Cql;
use snapkeep::node::NodeConfig;
use snapkeep::node::devnode::{self, DevNode, StartOptions};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static NODE: OnceLock<DevNode> = OnceLock::new();

/// Readers: tests that leave the node running. The writer: a test that stops it.
static USE: RwLock<()> = RwLock::const_new(());

/// The shared node: started on first use from a thread that lives as long as the test binary,
/// so the node (started with PR_SET_PDEATHSIG) gets SIGTERM when the binary exits, pass or
/// fail. A node that a test restarted has no such tie: [`stop_at_exit`] kills whichever
/// process runs it when the binary exits.
pub fn node() -> &'static DevNode {
    NODE.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = std::env::temp_dir().join(format!("snapkeep-it-{}", std::process::id()));
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut opts = StartOptions::new(&dir);
            opts.exit_with_parent = true;
            match rt.block_on(devnode::start(&opts)) {
                Ok(s) => {
                    let _ = tx.send(Ok(s.node));
                    // Keep the starting thread (and the child handle) alive for the whole run.
                    let _child = s.child;
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
        match rx.recv() {
            Ok(Ok(node)) => {
                // SAFETY: registers a plain `extern "C"` function without arguments.
                unsafe {
                    libc::atexit(stop_at_exit);
                }
                node
            }
            Ok(Err(e)) => panic!("cannot start the Cassandra dev node: {e}"),
            Err(_) => panic!("the dev-node thread died"),
        }
    })
}

/// Kills the node's process (whoever started it last) and removes its directory.
extern "C" fn stop_at_exit() {
    if let Some(node) = NODE.get() {
        if let Some(pid) = node.running_pid() {
            // SAFETY: plain integers; the node runs in a process group of its own.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_dir_all(&node.dir);
    }
}

/// A test's hold on the running node.
pub struct Shared {
    _use: RwLockReadGuard<'static, ()>,
}

/// Starts the node if needed and waits while a test that stops it runs.
pub async fn shared() -> Shared {
    node();
    Shared {
        _use: USE.read().await,
    }
}

/// A test's sole hold on the node: no other test runs meanwhile. When dropped (also on a
/// panic), the node is started again if the test left it stopped.
pub struct Exclusive {
    _use: RwLockWriteGuard<'static, ()>,
}

/// Waits until no other test uses the node, then starts it if needed. (The lock is taken
/// before the node starts, so that a test that is started first also gets the node first.)
pub async fn exclusive() -> Exclusive {
    let guard = USE.write().await;
    node();
    Exclusive { _use: guard }
}

impl Drop for Exclusive {
    fn drop(&mut self) {
        let dir = node().dir.clone();
        let up = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let saved = devnode::load(&dir).map_err(|e| e.to_string())?;
            // A running node is reused (and waited for until it answers CQL).
            rt.block_on(devnode::start(&StartOptions::restart(&saved)))
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .join()
        .unwrap_or_else(|_| Err("the thread starting the node panicked".into()));
        if let Err(e) = up {
            if std::thread::panicking() {
                eprintln!("the Cassandra dev node does not run again: {e}");
            } else {
                panic!("the Cassandra dev node does not run again: {e}");
            }
        }
    }
}

/// The node as Snapkeep's configuration describes it.
pub fn config() -> NodeConfig {
    node().node_config()
}

pub async fn cql() -> Cql {
    Cql::connect(&config().cql, Duration::from_secs(30))
        .await
        .expect("CQL connect")
}

pub async fn keyspace(cql: &Cql, name: &str) {
    cql.execute(&format!(
        "CREATE KEYSPACE IF NOT EXISTS {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
    ))
    .await
    .expect("create keyspace");
}

/// `CREATE TABLE IF NOT EXISTS table (id int PRIMARY KEY, v text)`.
pub async fn table(cql: &Cql, table: &str) {
    cql.execute(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (id int PRIMARY KEY, v text)"
    ))
    .await
    .expect("create table");
}

/// Writes rows `from..to` of `table`, each `v` = `value-ID-xxx…`.
pub async fn write_rows(cql: &Cql, table: &str, from: i32, to: i32) {
    write_rows_tagged(cql, table, from, to, "value").await;
}

/// Writes rows `from..to` of `table`, each `v` = `TAG-ID-xxx…`.
pub async fn write_rows_tagged(cql: &Cql, table: &str, from: i32, to: i32, tag: &str) {
    let prepared = cql
        .session()
        .prepare(format!("INSERT INTO {table} (id, v) VALUES (?, ?)"))
        .await
        .expect("prepare");
    for i in from..to {
        cql.session()
            .execute_unpaged(&prepared, (i, format!("{tag}-{i}-{}", "x".repeat(64))))
            .await
            .expect("insert");
    }
}

/// Every row of `table` as id → v.
pub async fn rows_of(cql: &Cql, table: &str) -> BTreeMap<i32, String> {
    let result = cql
        .session()
        .query_unpaged(format!("SELECT id, v FROM {table}"), &[])
        .await
        .expect("select")
        .into_rows_result()
        .expect("rows");
    result
        .rows::<(i32, String)>()
        .expect("typed rows")
        .map(|r| r.expect("row"))
        .collect()
}

/// The directory of `ks.table` in the node's data directory.
pub fn table_dir(ks: &str, table: &str) -> PathBuf {
    let ks_dir = node().data_dir().join(ks);
    std::fs::read_dir(&ks_dir)
        .expect("keyspace dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{table}-")))
        })
        .expect("table dir")
}
