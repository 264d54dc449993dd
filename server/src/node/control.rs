//! Whether a node is up or down, and stopping, draining and starting it for a full-node
//! restore: "down" means neither CQL nor JMX answers and no Cassandra process on this host
//! holds a file under the node's data or commit log directories; stopping and starting go
//! through the node's `stop_command`/`start_command` or the dev-node launcher.

use std::net::ToSocketAddrs as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::NodeConfig;
use super::{Nodetool, devnode};
use crate::cassandra::cql::Cql;
use crate::process::Command;

/// How a full-node restore stops and starts the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeControl {
    /// `stop_command`/`start_command` from the configuration.
    Commands {
        stop: Vec<String>,
        start: Vec<String>,
    },
    /// The dev-node launcher, with the options saved in the directory's `node.json`.
    DevNode(PathBuf),
}

impl NodeControl {
    /// The node's way to be stopped and started, or the sentence saying what to configure.
    pub fn of(node: &NodeConfig) -> Result<Self, String> {
        match (&node.stop_command, &node.start_command, &node.dev_node_dir) {
            (Some(stop), Some(start), _) if !stop.is_empty() && !start.is_empty() => {
                Ok(NodeControl::Commands {
                    stop: stop.clone(),
                    start: start.clone(),
                })
            }
            (_, _, Some(dir)) => match crate::node::devnode::load(dir) {
                Ok(_) => Ok(NodeControl::DevNode(dir.clone())),
                Err(e) => Err(format!(
                    "Node {} cannot be restarted by the dev-node launcher: {e}",
                    node.name
                )),
            },
            _ => Err(format!(
                "Node {} cannot be stopped and started by Snapkeep: set `stop_command` and `start_command` in its [[nodes]] entry (argument lists, e.g. [\"sudo\", \"systemctl\", \"stop\", \"cassandra\"] and [\"sudo\", \"systemctl\", \"start\", \"cassandra\"]).",
                node.name
            )),
        }
    }

    /// One sentence for the approver.
    pub fn describe(&self) -> String {
        let line = |argv: &[String]| match argv.split_first() {
            Some((program, args)) => crate::process::Command::new(program).args(args).cmdline(),
            None => String::new(),
        };
        match self {
            NodeControl::Commands { stop, start } => format!(
                "The node is stopped with `{}` and started with `{}`.",
                line(stop),
                line(start)
            ),
            NodeControl::DevNode(dir) => format!(
                "The node is stopped and started by Snapkeep's dev-node launcher ({}).",
                dir.display()
            ),
        }
    }
}

/// The commit log directory of a full-node restore, or why there is none.
pub fn commitlog_dir(node: &NodeConfig) -> Result<PathBuf, String> {
    let Some(dir) = &node.commitlog_dir else {
        return Err(format!(
            "The commit log directory of node {} is unknown: set `commitlog_dir` (cassandra.yaml's commitlog_directory) in its [[nodes]] entry. A full-node restore moves the commit log segments aside so that writes made after the snapshot are not replayed over it.",
            node.name
        ));
    };
    if !dir.is_absolute() || !dir.is_dir() {
        return Err(format!(
            "The commit log directory {} of node {} is not an existing directory; check `commitlog_dir`.",
            dir.display(),
            node.name
        ));
    }
    Ok(dir.clone())
}

/// Whether something accepts TCP connections at `HOST:PORT`.
pub async fn answers(addr: &str) -> bool {
    let Some(sock) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    match tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(sock)).await {
        // A connection to itself is no answer: with nothing listening on a port of the
        // ephemeral range, the kernel can pick that very port as the source and connect the
        // socket to itself (TCP simultaneous open).
        Ok(Ok(stream)) => !matches!(
            (stream.local_addr(), stream.peer_addr()),
            (Ok(local), Ok(peer)) if local == peer
        ),
        _ => false,
    }
}

/// Where a node stands, from its ports and from the processes that hold its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// CQL or JMX answers.
    Up,
    /// Nothing answers and no Cassandra process holds any of its files.
    Down,
    /// Nothing answers, but these Cassandra processes still hold its files open: starting,
    /// stopping, stuck or cut off.
    Alive(Vec<i32>),
    /// Nothing answers and whether a process still uses its files cannot be told.
    Unknown(String),
}

impl NodeState {
    /// Why files cannot be moved in this state, as a sentence; `None` when down.
    pub fn why_not_down(&self, node: &NodeConfig) -> Option<String> {
        match self {
            NodeState::Down => None,
            NodeState::Up => Some(format!(
                "node {} is running (CQL {} or JMX {} answers); files are only moved while it is stopped",
                node.name, node.cql, node.jmx
            )),
            NodeState::Alive(pids) => Some(format!(
                "node {} does not answer on CQL {} or JMX {}, but Cassandra process {} still holds its files open (starting, stopping or stuck); files are only moved while no Cassandra process can use them: stop it, then resume",
                node.name,
                node.cql,
                node.jmx,
                pids.iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            NodeState::Unknown(why) => Some(format!(
                "node {} does not answer, but whether a Cassandra process still uses its files cannot be told ({why}); files are only moved when that is known: run Snapkeep as root or as Cassandra's user",
                node.name
            )),
        }
    }
}

/// The node's state: its ports first, then its dev-node process, then every Cassandra
/// process on this host that holds a file under its data or commit log directories.
pub async fn node_state(node: &NodeConfig) -> NodeState {
    if answers(&node.cql).await || answers(&node.jmx).await {
        return NodeState::Up;
    }
    if let Some(dir) = &node.dev_node_dir
        && let Ok(dev) = devnode::load(dir)
        && let Some(pid) = dev.running_pid()
    {
        return NodeState::Alive(vec![pid]);
    }
    let mut dirs = node.data_dirs.clone();
    dirs.extend(node.commitlog_dir.clone());
    let scan = tokio::task::spawn_blocking(move || {
        crate::node::procs::cassandra_processes_using(Path::new("/proc"), &dirs)
    })
    .await
    .unwrap_or_else(|e| crate::node::procs::ProcessUse {
        using: Vec::new(),
        unreadable: vec![(0, format!("the process scan failed: {e}"))],
    });
    if !scan.using.is_empty() {
        NodeState::Alive(scan.using)
    } else if let Some((pid, why)) = scan.unreadable.first() {
        NodeState::Unknown(format!("the open files of process {pid}: {why}"))
    } else {
        NodeState::Down
    }
}

/// True when the node is down: nothing answers and no Cassandra process holds its files.
pub async fn node_is_down(node: &NodeConfig) -> bool {
    node_state(node).await == NodeState::Down
}

/// True when no data directory of the node holds an SSTable of `system_schema`: the node
/// lost its data (or never had any), so it has no schema, tokens or host id to start with.
pub fn holds_no_data(node: &NodeConfig) -> bool {
    node.data_dirs.iter().all(|d| {
        let Ok(tables) = std::fs::read_dir(d.join("system_schema")) else {
            return true;
        };
        !tables.filter_map(Result::ok).any(|t| {
            std::fs::read_dir(t.path()).is_ok_and(|files| {
                files
                    .filter_map(Result::ok)
                    .any(|f| f.file_name().to_string_lossy().ends_with("-Data.db"))
            })
        })
    })
}

pub async fn require_down(node: &NodeConfig) -> Result<(), String> {
    match node_state(node).await.why_not_down(node) {
        None => Ok(()),
        Some(why) => Err(why),
    }
}

/// A node found down before a full-node restore drains it may have crashed, with writes of
/// tables the restore leaves alone only in its commit log: it is started first (the commit
/// log replays into memtables), so that `drain` flushes them to SSTables before the commit
/// log is moved aside. Returns a line for the journal, or why the restore cannot go on.
pub async fn replay_if_down(node: &NodeConfig) -> Result<Option<String>, String> {
    // A port that answers is checked with a CQL query: a node that is dying (or starting)
    // still completes TCP handshakes for a moment. Ask again until it is up or down.
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(node.stop_timeout_secs.clamp(10, 120));
    loop {
        match node_state(node).await {
            NodeState::Up => match cql_answers(node).await {
                Ok(_) => return Ok(None),
                Err(e) => last = e,
            },
            NodeState::Down => break,
            other if Instant::now() >= deadline => {
                return Err(other.why_not_down(node).unwrap_or_default());
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "node {} answers on its ports but not CQL ({last}); the restore starts only once it is up or down",
                node.name
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let started = start(node).await.map_err(|e| {
        format!(
            "node {} was down and its commit log may hold writes not yet in SSTables; Snapkeep started it to replay them, but {e}. Nothing was moved: start the node, then resume",
            node.name
        )
    })?;
    wait_answering(node).await?;
    Ok(Some(format!(
        "node {} was down (crashed or stopped without drain): {started}, so its commit log is replayed before the drain",
        node.name
    )))
}

/// A session to the node that answered one query.
pub async fn cql_answers(node: &NodeConfig) -> Result<Cql, String> {
    let cql = Cql::connect(&node.cql, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    cql.execute("SELECT release_version FROM system.local")
        .await
        .map_err(|e| e.to_string())?;
    Ok(cql)
}

/// Waits until the node answers CQL (`start_timeout_secs`).
pub async fn wait_answering(node: &NodeConfig) -> Result<(), String> {
    let timeout = Duration::from_secs(node.start_timeout_secs);
    let started = Instant::now();
    let mut last = String::from("nothing tried yet");
    while started.elapsed() <= timeout {
        match cql_answers(node).await {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "node {} did not answer CQL at {} within {} s after it was started to replay its commit log; last error: {last}. Nothing was moved",
        node.name,
        node.cql,
        timeout.as_secs()
    ))
}

pub async fn drain(node: &NodeConfig) -> Result<String, String> {
    if node_is_down(node).await {
        return Ok(format!(
            "node {} is already stopped; nothing to drain",
            node.name
        ));
    }
    let nt = Nodetool::for_node(node).with_timeout(Duration::from_secs(
        node.stop_timeout_secs.max(node.nodetool_timeout_secs),
    ));
    match nt.run(&["drain"]).await {
        Ok(_) => Ok(format!(
            "drained node {}: memtables flushed, no more writes accepted",
            node.name
        )),
        // A resumed run may drain a node drained already.
        Err(e) => match nt.run(&["netstats"]).await {
            Ok(out) if out.contains("Mode: DRAINED") => {
                Ok(format!("node {} was drained already", node.name))
            }
            _ => Err(format!("nodetool drain failed: {e}")),
        },
    }
}

pub async fn stop(node: &NodeConfig) -> Result<String, String> {
    if node_is_down(node).await {
        return Ok(format!("node {} is stopped", node.name));
    }
    let timeout = Duration::from_secs(node.stop_timeout_secs);
    let how = match NodeControl::of(node)? {
        NodeControl::Commands { stop, .. } => {
            let cmd = command(&stop, timeout)?;
            cmd.run()
                .await
                .map_err(|e| format!("stop_command failed: {e}"))?;
            format!("ran `{}`", cmd.cmdline())
        }
        NodeControl::DevNode(dir) => {
            devnode::stop(&dir, timeout)
                .await
                .map_err(|e| format!("stopping the dev node failed: {e}"))?;
            format!("stopped the dev node in {}", dir.display())
        }
    };
    let started = Instant::now();
    loop {
        let state = node_state(node).await;
        let Some(why) = state.why_not_down(node) else {
            break;
        };
        if started.elapsed() > timeout {
            return Err(format!(
                "{} s after the stop ({how}): {why}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(format!("{how}; node {} is down", node.name))
}

pub fn command(argv: &[String], timeout: Duration) -> Result<Command, String> {
    let (program, args) = argv
        .split_first()
        .ok_or("the command is empty; configure a program and its arguments")?;
    Ok(Command::new(program).args(args).timeout(timeout))
}

pub async fn start(node: &NodeConfig) -> Result<String, String> {
    if answers(&node.cql).await {
        return Ok(format!("node {} is running", node.name));
    }
    let timeout = Duration::from_secs(node.start_timeout_secs);
    match NodeControl::of(node)? {
        NodeControl::Commands { start, .. } => {
            let cmd = command(&start, timeout)?;
            cmd.run()
                .await
                .map_err(|e| format!("start_command failed: {e}"))?;
            Ok(format!("ran `{}`", cmd.cmdline()))
        }
        NodeControl::DevNode(dir) => {
            let saved = devnode::load(&dir).map_err(|e| e.to_string())?;
            let mut opts = devnode::StartOptions::restart(&saved);
            opts.start_timeout = timeout;
            let started = devnode::start(&opts)
                .await
                .map_err(|e| format!("starting the dev node failed: {e}"))?;
            if let Some(mut child) = started.child {
                // Reap the node when it exits some day, so it leaves no zombie.
                std::thread::spawn(move || {
                    let _ = child.wait();
                });
            }
            Ok(format!(
                "started the dev node in {} (CQL {})",
                dir.display(),
                started.node.cql_addr()
            ))
        }
    }
}
