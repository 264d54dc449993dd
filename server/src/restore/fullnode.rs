//! The steps of a full-node restore (target `full_node`): every table of a snapshot goes back
//! on one node while the node is stopped.
//!
//! `drain` → `stop` → `move_aside <table>` (the live SSTables into
//! `<table dir>/.snapkeep-aside/<tag>/`) → `clear_commitlog` (segments into
//! `<commit log dir>/.snapkeep-aside/<tag>/`, never deleted) → `link <table>` (the snapshot's
//! files hard-linked into the table directory) → `start` → `wait_cql` → `verify` →
//! `keep_aside`: what was moved aside is never deleted by the restore; it is kept (and shown on
//! Overview) until an admin removes it or its keeping time passes. Every step checks its postcondition first, so a
//! resumed run does nothing twice: stopping a stopped node is done, a file already moved or
//! already linked (same inode) is skipped. Files are only touched below the configured data
//! directories and commit log directory, on paths built from catalog names, never through a
//! symbolic link, and only while the node is down.

use std::net::ToSocketAddrs as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::plan::{ASIDE_DIR, NodeControl, Plan, TablePlan};
use super::run::{self, crash_hook};
use crate::cassandra::cql::{Cql, quote_ident};
use crate::cassandra::{Nodetool, devnode};
use crate::config::NodeConfig;
use crate::disk::real_dirs_below;
use crate::process::Command;

/// Runs the side effect of a full-node `step`; returns a line for the journal. Errors of steps
/// taken while the node is down say so, and where the files moved aside are.
pub async fn perform(step: &str, plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let (name, table) = step.split_once(' ').unwrap_or((step, ""));
    let t = || {
        plan.tables
            .iter()
            .find(|t| format!("{}.{}", t.keyspace, t.table) == table)
            .ok_or_else(|| format!("step `{step}` names no table of the plan"))
    };
    let out = match name {
        "drain" => drain(node).await,
        "stop" => stop(node).await,
        "move_aside" => match t() {
            Ok(t) => move_aside(t, plan, node).await,
            Err(e) => Err(e),
        },
        "clear_commitlog" => clear_commitlog(plan, node).await,
        "link" => match t() {
            Ok(t) => link(t, node).await,
            Err(e) => Err(e),
        },
        "start" => start(node).await,
        "wait_cql" => wait_cql(plan, node).await,
        other => Err(format!("unknown step `{other}` of a full-node restore")),
    };
    match out {
        Ok(line) => {
            crash_hook(step);
            Ok(line)
        }
        Err(e) => Err(explain(name, plan, node, e)),
    }
}

/// Adds to a step's error what state the node is left in and where its previous files are.
fn explain(step: &str, plan: &Plan, node: &NodeConfig, error: String) -> String {
    match step {
        "stop" => format!(
            "{error}. Node {} was drained (it takes no writes) and may still be running; nothing was moved. Resume the restore to try again.",
            node.name
        ),
        "move_aside" | "clear_commitlog" | "link" | "start" => format!(
            "{error}. Node {} is STOPPED. {} Fix the cause, then resume the restore; it continues from this step.",
            node.name,
            kept_aside(plan)
        ),
        "wait_cql" => format!(
            "{error}. Node {} may be down or still starting (see its log). {} Resume the restore once it answers.",
            node.name,
            kept_aside(plan)
        ),
        _ => error,
    }
}

/// Where the files a full-node restore replaced are kept, as a sentence.
pub fn kept_aside(plan: &Plan) -> String {
    let tables: Vec<&str> = plan
        .tables
        .iter()
        .filter_map(|t| t.aside_dir.as_deref())
        .collect();
    format!(
        "The node's previous SSTables are kept in {}{}.",
        tables.join(", "),
        plan.commitlog_aside
            .as_deref()
            .map(|c| format!(" and its commit log segments in {c}"))
            .unwrap_or_default()
    )
}

/// Whether something accepts TCP connections at `HOST:PORT`.
async fn answers(addr: &str) -> bool {
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
        crate::cassandra::procs::cassandra_processes_using(Path::new("/proc"), &dirs)
    })
    .await
    .unwrap_or_else(|e| crate::cassandra::procs::ProcessUse {
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

async fn require_down(node: &NodeConfig) -> Result<(), String> {
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
async fn cql_answers(node: &NodeConfig) -> Result<Cql, String> {
    let cql = Cql::connect(&node.cql, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    cql.execute("SELECT release_version FROM system.local")
        .await
        .map_err(|e| e.to_string())?;
    Ok(cql)
}

/// Waits until the node answers CQL (`start_timeout_secs`).
async fn wait_answering(node: &NodeConfig) -> Result<(), String> {
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

async fn drain(node: &NodeConfig) -> Result<String, String> {
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

async fn stop(node: &NodeConfig) -> Result<String, String> {
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

fn command(argv: &[String], timeout: Duration) -> Result<Command, String> {
    let (program, args) = argv
        .split_first()
        .ok_or("the command is empty; configure a program and its arguments")?;
    Ok(Command::new(program).args(args).timeout(timeout))
}

/// The directory of a table as the plan names it, re-derived from the configuration and
/// catalog names and checked: under a configured data directory, no `..`, no symbolic link.
fn checked_table_dir(t: &TablePlan, node: &NodeConfig) -> Result<(PathBuf, PathBuf), String> {
    let data_dir = PathBuf::from(&t.data_dir);
    let dir = crate::disk::table_dir(
        &node.data_dirs,
        &data_dir,
        &t.keyspace,
        &t.table,
        &t.source_table_id,
    )
    .map_err(|e| e.to_string())?;
    if dir != Path::new(&t.staging_dir) {
        return Err(format!(
            "the plan names {} for {}.{}, not {}",
            t.staging_dir,
            t.keyspace,
            t.table,
            dir.display()
        ));
    }
    match real_dirs_below(&data_dir, &dir) {
        Ok(true) => Ok((data_dir, dir)),
        Ok(false) => Err(format!("the table directory {} is missing", dir.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// `<root>/.snapkeep-aside/<tag>` for this plan, checked to be what the plan says and to have
/// no symbolic link below `root`; created when missing.
fn aside_dir(root: &Path, planned: Option<&str>, plan: &Plan) -> Result<PathBuf, String> {
    let tag = plan
        .safety_tag
        .as_deref()
        .ok_or("a full-node plan without a safety tag")?;
    let tag = crate::disk::remove::component("restore tag", tag).map_err(|e| e.to_string())?;
    let dir = root.join(ASIDE_DIR).join(tag);
    if planned != Some(&*dir.to_string_lossy()) {
        return Err(format!(
            "the plan names {} as the aside directory, not {}",
            planned.unwrap_or("none"),
            dir.display()
        ));
    }
    if !real_dirs_below(root, &dir).map_err(|e| e.to_string())? {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        real_dirs_below(root, &dir).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// Moves every regular file directly in `from` into `to` (same filesystem: a rename). A file
/// already moved is skipped; a different file of the same name already in `to` stops the move
/// (nothing is overwritten). Returns (moved, bytes, already there).
fn move_files(from: &Path, to: &Path) -> Result<(u64, u64, u64), String> {
    let (mut moved, mut bytes) = (0, 0);
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = e.path();
        let m = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if !m.is_file() {
            continue;
        }
        let dest = to.join(e.file_name());
        match std::fs::symlink_metadata(&dest) {
            Ok(d) if d.ino() == m.ino() && d.dev() == m.dev() => {
                // The same file under both names (a move interrupted half-way): keep the aside one.
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                continue;
            }
            Ok(_) => {
                return Err(format!(
                    "{} exists already and is another file than {}; nothing was overwritten",
                    dest.display(),
                    path.display()
                ));
            }
            Err(_) => {}
        }
        std::fs::rename(&path, &dest)
            .map_err(|e| format!("cannot move {} to {}: {e}", path.display(), dest.display()))?;
        moved += 1;
        bytes += m.len();
    }
    let there = std::fs::read_dir(to)
        .map(|it| it.filter_map(Result::ok).count() as u64)
        .unwrap_or(0);
    Ok((moved, bytes, there.saturating_sub(moved)))
}

async fn move_aside(t: &TablePlan, plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    require_down(node).await?;
    let (_, dir) = checked_table_dir(t, node)?;
    let aside = aside_dir(&dir, t.aside_dir.as_deref(), plan)?;
    let (moved, bytes, before) = move_files(&dir, &aside)?;
    Ok(format!(
        "moved {moved} live files ({}) of {}.{} to {} ({before} moved earlier); kept, not deleted",
        app::api::format_bytes(bytes as i64),
        t.keyspace,
        t.table,
        aside.display()
    ))
}

async fn clear_commitlog(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    require_down(node).await?;
    let root = node
        .commitlog_dir
        .as_deref()
        .ok_or_else(|| format!("node {} has no commitlog_dir configured", node.name))?;
    let meta = std::fs::metadata(root)
        .map_err(|e| format!("the commit log directory {}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let aside = aside_dir(root, plan.commitlog_aside.as_deref(), plan)?;
    let (moved, bytes, before) = move_files(root, &aside)?;
    Ok(format!(
        "moved {moved} commit log files ({}) to {} ({before} moved earlier), not deleted: writes made after the snapshot are not replayed; kept",
        app::api::format_bytes(bytes as i64),
        aside.display()
    ))
}

async fn link(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
    require_down(node).await?;
    run::check_snapshot_unchanged(t)?;
    let (_, dir) = checked_table_dir(t, node)?;
    let source = PathBuf::from(&t.source_dir);
    // A file of the same name that is not the snapshot's (by inode) is never replaced.
    if t.hard_link {
        for f in &t.files {
            let dest = dir.join(&f.name);
            if let Ok(m) = std::fs::symlink_metadata(&dest)
                && m.ino() != f.inode
            {
                return Err(format!(
                    "{} is in the table directory and is not the snapshot's file; nothing was replaced",
                    dest.display()
                ));
            }
        }
    }
    let (linked, copied, kept) = run::link_files(&source, &dir, &t.files, t.hard_link)?;
    Ok(format!(
        "{} files of {}.{} in {} ({linked} hard-linked, {copied} copied, {kept} already there)",
        t.files.len(),
        t.keyspace,
        t.table,
        dir.display()
    ))
}

async fn start(node: &NodeConfig) -> Result<String, String> {
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

/// Waits until the node answers CQL and every restored table answers a query.
async fn wait_cql(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let timeout = Duration::from_secs(node.start_timeout_secs);
    let started = Instant::now();
    let mut last = String::from("nothing tried yet");
    while started.elapsed() <= timeout {
        match probe(plan, node).await {
            Ok(()) => {
                return Ok(format!(
                    "node {} answers CQL at {} and every restored table answers a query ({} s)",
                    node.name,
                    node.cql,
                    started.elapsed().as_secs()
                ));
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "node {} did not answer CQL at {} within {} s (start_timeout_secs); last error: {last}",
        node.name,
        node.cql,
        timeout.as_secs()
    ))
}

async fn probe(plan: &Plan, node: &NodeConfig) -> Result<(), String> {
    let cql = cql_answers(node).await?;
    for t in &plan.tables {
        cql.execute(&format!(
            "SELECT * FROM {}.{} LIMIT 1",
            quote_ident(&t.keyspace),
            quote_ident(&t.table)
        ))
        .await
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// One aside directory of a plan, checked as when it was made; `None` when it is not there.
fn checked_aside(
    root: &Path,
    planned: Option<&str>,
    plan: &Plan,
) -> Result<Option<PathBuf>, String> {
    let Some(planned) = planned else {
        return Ok(None);
    };
    let tag = plan
        .safety_tag
        .as_deref()
        .ok_or("a full-node plan without a safety tag")?;
    let dir = root
        .join(ASIDE_DIR)
        .join(crate::disk::remove::component("restore tag", tag).map_err(|e| e.to_string())?);
    if Path::new(planned) != dir {
        return Err(format!(
            "the plan names {planned} as the aside directory, not {}",
            dir.display()
        ));
    }
    if !real_dirs_below(root, &dir).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    Ok(Some(dir))
}

/// A directory a full-node restore set aside, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aside {
    pub path: PathBuf,
    /// `sstables` or `commitlog`.
    pub kind: &'static str,
    /// `keyspace.table` or `commit log`.
    pub what: String,
    pub bytes: u64,
    pub files: u64,
}

/// Every directory `plan` set aside that is still there (each checked as when it was made),
/// with its size.
pub fn asides(plan: &Plan, node: &NodeConfig) -> Result<Vec<Aside>, String> {
    let measure = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .fold((0, 0), |(b, n), m| (b + m.len(), n + 1))
            })
            .unwrap_or((0, 0))
    };
    let mut out = Vec::new();
    for t in &plan.tables {
        let (_, dir) = checked_table_dir(t, node)?;
        if let Some(path) = checked_aside(&dir, t.aside_dir.as_deref(), plan)? {
            let (bytes, files) = measure(&path);
            out.push(Aside {
                path,
                kind: "sstables",
                what: format!("{}.{}", t.keyspace, t.table),
                bytes,
                files,
            });
        }
    }
    if let Some(root) = node.commitlog_dir.as_deref()
        && let Some(path) = checked_aside(root, plan.commitlog_aside.as_deref(), plan)?
    {
        let (bytes, files) = measure(&path);
        out.push(Aside {
            path,
            kind: "commitlog",
            what: "commit log".into(),
            bytes,
            files,
        });
    }
    Ok(out)
}

/// Removes what `plan` set aside (an admin's decision, or the end of its keeping time) and
/// each `.snapkeep-aside` left empty. Returns the directories removed.
pub fn remove_asides(plan: &Plan, node: &NodeConfig) -> Result<Vec<PathBuf>, String> {
    let mut removed = Vec::new();
    for a in asides(plan, node)? {
        std::fs::remove_dir_all(&a.path)
            .map_err(|e| format!("cannot remove {}: {e}", a.path.display()))?;
        if let Some(parent) = a.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
        removed.push(a.path);
    }
    Ok(removed)
}

/// Puts a node's files back as they were before the swap: in each table directory the files
/// the restore linked (the snapshot's inodes) are removed and anything Cassandra wrote since
/// is moved to `<aside>.failed-start`, then the files moved aside come back; the commit log
/// likewise. Only while the node is down. Returns what was done, as a sentence.
pub fn put_back_files(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let mut done = Vec::new();
    let set_apart = |dir: &Path, aside: &Path, keep: &dyn Fn(&std::fs::Metadata) -> bool| {
        // Files now in `dir` that are not the snapshot's links: moved next to the aside.
        let failed = aside.with_file_name(format!(
            "{}.failed-start",
            aside
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("restore")
        ));
        let mut moved = 0;
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            if keep(&m) {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                continue;
            }
            std::fs::create_dir_all(&failed)
                .map_err(|e| format!("cannot create {}: {e}", failed.display()))?;
            let dest = failed.join(e.file_name());
            std::fs::rename(&path, &dest).map_err(|e| {
                format!("cannot move {} to {}: {e}", path.display(), dest.display())
            })?;
            moved += 1;
        }
        Ok::<_, String>((moved, failed))
    };
    for t in &plan.tables {
        let (_, dir) = checked_table_dir(t, node)?;
        let Some(aside) = checked_aside(&dir, t.aside_dir.as_deref(), plan)? else {
            continue;
        };
        let snapshot_inodes: std::collections::HashSet<u64> =
            t.files.iter().map(|f| f.inode).collect();
        // A link to the snapshot's own file loses nothing when removed.
        let (moved, failed) = set_apart(&dir, &aside, &|m: &std::fs::Metadata| {
            t.hard_link && snapshot_inodes.contains(&m.ino())
        })?;
        let (back, _, _) = move_files(&aside, &dir)?;
        std::fs::remove_dir(&aside)
            .map_err(|e| format!("cannot remove the emptied {}: {e}", aside.display()))?;
        let mut line = format!("{}.{}: {back} files back", t.keyspace, t.table);
        if moved > 0 {
            line.push_str(&format!(
                ", {moved} files of the failed start kept in {}",
                failed.display()
            ));
        }
        done.push(line);
    }
    if let Some(root) = node.commitlog_dir.as_deref()
        && let Some(aside) = checked_aside(root, plan.commitlog_aside.as_deref(), plan)?
    {
        let (moved, failed) = set_apart(root, &aside, &|_: &std::fs::Metadata| false)?;
        let (back, _, _) = move_files(&aside, root)?;
        std::fs::remove_dir(&aside)
            .map_err(|e| format!("cannot remove the emptied {}: {e}", aside.display()))?;
        let mut line = format!("commit log: {back} segments back");
        if moved > 0 {
            line.push_str(&format!(
                ", {moved} segments of the failed start kept in {}",
                failed.display()
            ));
        }
        done.push(line);
    }
    Ok(done.join("; "))
}

/// After the node failed to start with the snapshot's files: stops whatever is left of it,
/// puts every file back as it was before the swap and starts it again. Returns the sentence
/// for the request, whether the roll-back worked or where it stopped.
pub async fn roll_back(plan: &Plan, node: &NodeConfig) -> RolledBack {
    let failed = |files_back: bool, sentence: String| RolledBack {
        files_back,
        node_up: false,
        sentence,
    };
    if node_state(node).await != NodeState::Down
        && let Err(e) = stop(node).await
    {
        return failed(
            false,
            format!(
                "The roll-back could not stop the node: {e}. {}",
                kept_aside(plan)
            ),
        );
    }
    let files = match put_back_files(plan, node) {
        Ok(f) => f,
        Err(e) => {
            return failed(
                false,
                format!(
                    "The roll-back stopped while putting files back: {e}. {}",
                    kept_aside(plan)
                ),
            );
        }
    };
    if let Err(e) = start(node).await {
        return failed(
            true,
            format!(
                "Snapkeep put every file back as it was before the restore ({files}), but node {} did not start again: {e}. Start it yourself",
                node.name
            ),
        );
    }
    if let Err(e) = wait_answering(node).await {
        return failed(
            true,
            format!(
                "Snapkeep put every file back as it was before the restore ({files}) and started node {}, but {e}",
                node.name
            ),
        );
    }
    RolledBack {
        files_back: true,
        node_up: true,
        sentence: format!(
            "Snapkeep put everything back as it was before the restore and started node {} again ({files}); it answers CQL",
            node.name
        ),
    }
}

/// What a roll-back did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// Every file is where it was before the restore.
    pub files_back: bool,
    /// The node answers CQL again.
    pub node_up: bool,
    /// What happened, as sentences for the request.
    pub sentence: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_files_never_overwrites_and_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = dir.path().join("t");
        let to = from.join(ASIDE_DIR).join("tag");
        std::fs::create_dir_all(&to).expect("mkdir");
        std::fs::write(from.join("nb-1-big-Data.db"), "one").expect("write");
        std::fs::write(from.join("nb-2-big-Data.db"), "two").expect("write");
        // Half-way: one file has both names already.
        std::fs::hard_link(from.join("nb-1-big-Data.db"), to.join("nb-1-big-Data.db"))
            .expect("link");
        let (moved, bytes, before) = move_files(&from, &to).expect("move");
        assert_eq!((moved, bytes, before), (1, 3, 1));
        assert!(!from.join("nb-1-big-Data.db").exists());
        assert_eq!(
            std::fs::read_to_string(to.join("nb-2-big-Data.db")).expect("read"),
            "two"
        );
        assert_eq!(move_files(&from, &to).expect("again"), (0, 0, 2));
        // Another file under a name already aside is refused, and both stay.
        std::fs::write(from.join("nb-2-big-Data.db"), "other").expect("write");
        let err = move_files(&from, &to).expect_err("refused");
        assert!(err.contains("nothing was overwritten"), "{err}");
        assert_eq!(
            std::fs::read_to_string(to.join("nb-2-big-Data.db")).expect("read"),
            "two"
        );
        assert!(from.join("nb-2-big-Data.db").exists());
    }

    #[test]
    fn a_failed_start_puts_every_file_back_as_it_was() {
        use crate::restore::plan::{PlanFile, Target};
        use crate::restore::schema::{SchemaCheck, Verdict};
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let commitlog = tmp.path().join("commitlog");
        let id = "0123456789abcdef0123456789abcdef";
        let table = data.join("shop").join(format!("orders-{id}"));
        let snap = table.join("snapshots").join("nightly");
        let tag = "snapkeep-pre-restore-x";
        let aside = table.join(ASIDE_DIR).join(tag);
        let cl_aside = commitlog.join(ASIDE_DIR).join(tag);
        for d in [&snap, &aside, &cl_aside] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        // Before the swap: the live files (now aside) and the commit log (now aside).
        std::fs::write(aside.join("nb-5-big-Data.db"), "live").expect("write");
        std::fs::write(cl_aside.join("CommitLog-7-1.log"), "segment").expect("write");
        // The swap: the snapshot's file linked in; the failed start wrote one more file and
        // a new commit log segment.
        std::fs::write(snap.join("nb-1-big-Data.db"), "snap").expect("write");
        std::fs::hard_link(
            snap.join("nb-1-big-Data.db"),
            table.join("nb-1-big-Data.db"),
        )
        .expect("link");
        std::fs::write(table.join("nb-9-big-Data.db"), "written at start").expect("write");
        std::fs::write(commitlog.join("CommitLog-7-2.log"), "new").expect("write");
        let inode = std::fs::metadata(snap.join("nb-1-big-Data.db"))
            .expect("stat")
            .ino();
        let mut node = NodeConfig::new("n1", vec![data.clone()]);
        node.commitlog_dir = Some(commitlog.clone());
        let plan = Plan {
            node: "n1".into(),
            tag: "nightly".into(),
            target: Target::FullNode,
            truncate: false,
            safety_tag: Some(tag.into()),
            tables: vec![TablePlan {
                keyspace: "shop".into(),
                table: "orders".into(),
                source_table_id: id.into(),
                data_dir: data.display().to_string(),
                source_dir: snap.display().to_string(),
                target_keyspace: "shop".into(),
                target_table: "orders".into(),
                target_table_id: Some(id.into()),
                staging_dir: table.display().to_string(),
                aside_dir: Some(aside.display().to_string()),
                files: vec![PlanFile {
                    name: "nb-1-big-Data.db".into(),
                    size: 4,
                    inode,
                }],
                bytes: 4,
                sstables: 1,
                hard_link: true,
                bytes_to_copy: 0,
                expected_rows: None,
                expected_rows_method: None,
                schema_check: SchemaCheck {
                    verdict: Verdict::Compatible,
                    differences: Vec::new(),
                },
                schema_cql: String::new(),
            }],
            headroom: Vec::new(),
            min_free_pct: 0,
            steps: Vec::new(),
            blocked: Vec::new(),
            verdict: Verdict::Compatible,
            commitlog_aside: Some(cl_aside.display().to_string()),
            notes: Vec::new(),
        };
        let line = put_back_files(&plan, &node).expect("put back");
        assert!(
            line.contains("1 files back") && line.contains("1 segments back"),
            "{line}"
        );
        assert_eq!(
            std::fs::read_to_string(table.join("nb-5-big-Data.db")).expect("live back"),
            "live"
        );
        assert!(
            !table.join("nb-1-big-Data.db").exists(),
            "the snapshot's link is gone"
        );
        assert!(
            snap.join("nb-1-big-Data.db").exists(),
            "the snapshot is untouched"
        );
        assert!(!aside.exists() && !cl_aside.exists());
        assert_eq!(
            std::fs::read_to_string(commitlog.join("CommitLog-7-1.log")).expect("segment back"),
            "segment"
        );
        // What the failed start wrote is kept apart, not deleted.
        let failed = |dir: &Path| dir.with_file_name(format!("{tag}.failed-start"));
        assert!(failed(&aside).join("nb-9-big-Data.db").exists());
        assert!(failed(&cl_aside).join("CommitLog-7-2.log").exists());
    }
}
