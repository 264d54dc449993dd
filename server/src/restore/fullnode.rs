//! The steps of a full-node restore (target `full_node`): every table of a snapshot goes back
//! on one node while the node is stopped.
//!
//! `drain` → `stop` → `move_aside <table>` (the live SSTables into
//! `<table dir>/.snapkeep-aside/<tag>/`) → `clear_commitlog` (segments into
//! `<commit log dir>/.snapkeep-aside/<tag>/`, never deleted) → `link <table>` (the snapshot's
//! files hard-linked into the table directory) → `start` → `wait_cql`; after `verify`,
//! `cleanup` removes what was moved aside. Every step checks its postcondition first, so a
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
        "safety_snapshot" => run::safety_snapshot(plan, node).await,
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
        "cleanup" => cleanup(plan, node),
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
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(sock)).await,
        Ok(Ok(_))
    )
}

/// True when neither the CQL nor the JMX port answers (and a dev node's process is gone).
pub async fn node_is_down(node: &NodeConfig) -> bool {
    if let Some(dir) = &node.dev_node_dir
        && let Ok(dev) = devnode::load(dir)
        && dev.running_pid().is_some()
    {
        return false;
    }
    !answers(&node.cql).await && !answers(&node.jmx).await
}

async fn require_down(node: &NodeConfig) -> Result<(), String> {
    if node_is_down(node).await {
        Ok(())
    } else {
        Err(format!(
            "node {} is running (CQL {} or JMX {} answers); files are only moved while it is stopped",
            node.name, node.cql, node.jmx
        ))
    }
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
    while !node_is_down(node).await {
        if started.elapsed() > timeout {
            return Err(format!(
                "node {} still answers on CQL {} or JMX {} {} s after the stop ({how})",
                node.name,
                node.cql,
                node.jmx,
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
        "moved {moved} live files ({}) of {}.{} to {} ({before} moved earlier); kept until verified",
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
        "moved {moved} commit log files ({}) to {} ({before} moved earlier), not deleted: writes made after the snapshot are not replayed; kept until verified",
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
    let cql = Cql::connect(&node.cql, Duration::from_secs(10))
        .await
        .map_err(|e| e.to_string())?;
    cql.execute("SELECT release_version FROM system.local")
        .await
        .map_err(|e| e.to_string())?;
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

/// Removes one aside directory (checked as when it was made) and `.snapkeep-aside` when empty.
fn remove_aside(
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
    let parent = root.join(ASIDE_DIR);
    let dir =
        parent.join(crate::disk::remove::component("restore tag", tag).map_err(|e| e.to_string())?);
    if Path::new(planned) != dir {
        return Err(format!(
            "the plan names {planned} as the aside directory, not {}",
            dir.display()
        ));
    }
    if !real_dirs_below(root, &dir).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    let _ = std::fs::remove_dir(&parent);
    Ok(Some(dir))
}

fn cleanup(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let mut removed = Vec::new();
    for t in &plan.tables {
        let (_, dir) = checked_table_dir(t, node)?;
        removed.extend(remove_aside(&dir, t.aside_dir.as_deref(), plan)?);
    }
    if let Some(root) = node.commitlog_dir.as_deref() {
        removed.extend(remove_aside(root, plan.commitlog_aside.as_deref(), plan)?);
    }
    Ok(if removed.is_empty() {
        "nothing left aside (removed earlier)".to_string()
    } else {
        format!(
            "verified, so removed what was moved aside: {}",
            removed
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
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
}
