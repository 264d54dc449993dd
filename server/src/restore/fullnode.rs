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

use std::time::{Duration, Instant};

use super::plan::Plan;
use super::run::{crash_hook, table_of};
use super::step::{Step, StepError};
use crate::cassandra::cql::quote_ident;
use crate::node::control::NodeState;
use crate::node::{Node, NodeConfig};

/// Runs the side effect of a full-node `step`; returns a line for the journal. Errors of steps
/// taken while the node is down say so, and where the files moved aside are.
pub async fn perform(step: &Step, plan: &Plan, node: &NodeConfig) -> Result<String, StepError> {
    let on = Node::local(node);
    let out = match step {
        Step::Drain => on.drain().await,
        Step::Stop => on.stop().await,
        Step::MoveAside(t) => on.move_aside(table_of(plan, step, t)?, plan).await,
        Step::ClearCommitlog => on.clear_commitlog(plan).await,
        Step::Link(t) => {
            on.link(table_of(plan, step, t)?, plan.disaster_recovery)
                .await
        }
        Step::Start => on.start().await,
        Step::WaitCql => wait_cql(plan, node).await,
        other => {
            return Err(StepError::WrongTarget {
                step: other.to_string(),
                target: plan.target.as_str(),
            });
        }
    };
    match out {
        Ok(line) => {
            crash_hook(&step.to_string());
            Ok(line)
        }
        Err(e) => Err(StepError::Failed(explain(step, plan, node, e))),
    }
}

/// Adds to a step's error what state the node is left in and where its previous files are.
fn explain(step: &Step, plan: &Plan, node: &NodeConfig, error: String) -> String {
    match step {
        Step::Stop => format!(
            "{error}. Node {} was drained (it takes no writes) and may still be running; nothing was moved. Resume the restore to try again.",
            node.name
        ),
        Step::MoveAside(_) | Step::ClearCommitlog | Step::Link(_) | Step::Start => format!(
            "{error}. Node {} is STOPPED. {} Fix the cause, then resume the restore; it continues from this step.",
            node.name,
            kept_aside(plan)
        ),
        Step::WaitCql => format!(
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
    let cql = Node::local(node).cql_answers().await?;
    // System tables of a rebuilt node may need replicas this node cannot stand in for
    // (system_distributed is read at LOCAL_QUORUM): user tables are what is probed.
    for t in plan
        .tables
        .iter()
        .filter(|t| !crate::restore::plan::SYSTEM_KEYSPACES.contains(&t.keyspace.as_str()))
    {
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

/// After the node failed to start with the snapshot's files: stops whatever is left of it,
/// puts every file back as it was before the swap and starts it again. Returns the sentence
/// for the request, whether the roll-back worked or where it stopped.
pub async fn roll_back(plan: &Plan, node: &NodeConfig) -> RolledBack {
    let failed = |files_back: bool, sentence: String| RolledBack {
        files_back,
        node_up: false,
        sentence,
    };
    let on = Node::local(node);
    if on.state().await != NodeState::Down
        && let Err(e) = on.stop().await
    {
        return failed(
            false,
            format!(
                "The roll-back could not stop the node: {e}. {}",
                kept_aside(plan)
            ),
        );
    }
    let files = match on.put_back(plan).await {
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
    if let Err(e) = on.start().await {
        return failed(
            true,
            format!(
                "Snapkeep put every file back as it was before the restore ({files}), but node {} did not start again: {e}. Start it yourself",
                node.name
            ),
        );
    }
    if let Err(e) = on.wait_answering().await {
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
