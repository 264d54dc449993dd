//! The dry run of a restore: which snapshot files go where, whether they can be hard-linked
//! (same filesystem) or must be copied, the disk and inode headroom afterwards, the safety
//! snapshot, the expected row count, the schema check and the steps. Nothing is changed by
//! planning. The plan's hash binds an approval to exactly this plan.
//!
//! A full-node restore (target `full_node`) puts back every table of the snapshot on one node
//! with the node stopped; it is blocked unless the node can be stopped and started (dev-node
//! launcher or `stop_command`/`start_command`), its commit log directory is known, and every
//! table's schema still matches.

use sha2::Digest as _;
use sqlx::SqlitePool;

pub use app::api::{Headroom, Plan, PlanFile, RestoreInput, TablePlan, Target};

mod checks;
mod full_node;
mod headroom;
mod select;
mod steps;
mod tables;
#[cfg(test)]
mod tests;

use super::RestoreError;
use super::schema::{SchemaCheck, Verdict};
use super::step::Step;
use crate::cassandra::cql::{Schema, Topology};
use crate::node::NodeConfig;
use crate::restore::source::StoreSource;

/// The hash an approval binds to: the snapshot's files, the tables and their ids, the
/// schema check, the target and options, and whether headroom suffices.
pub fn plan_hash(plan: &Plan) -> String {
    let mut view = serde_json::json!({
        "node": plan.node, "tag": plan.tag, "target": plan.target, "truncate": plan.truncate,
        "safety_tag": plan.safety_tag, "blocked": plan.blocked,
        "headroom_ok": plan.headroom.iter().map(|h| (&h.data_dir, h.ok)).collect::<Vec<_>>(),
        "tables": plan.tables.iter().map(|t| serde_json::json!({
            "ks": t.keyspace, "t": t.table, "src": t.source_dir, "id": t.source_table_id,
            "target": [&t.target_keyspace, &t.target_table, &t.target_table_id],
            "files": t.files, "hard_link": t.hard_link, "schema": t.schema_check,
        })).collect::<Vec<_>>(),
    });
    if let Some(store) = &plan.source_store {
        view["source_store"] = serde_json::json!(store);
    }
    if plan.disaster_recovery {
        view["disaster_recovery"] = serde_json::json!(true);
    }
    // Only full-node plans carry these; other hashes stay what they were.
    if plan.target == Target::FullNode {
        view["full_node"] = serde_json::json!({
            "commitlog_aside": plan.commitlog_aside, "notes": plan.notes, "steps": plan.steps,
            "aside": plan.tables.iter().map(|t| &t.aside_dir).collect::<Vec<_>>(),
        });
    }
    hex::encode(sha2::Sha256::digest(view.to_string().as_bytes()))
}

/// What planning needs besides the request.
pub struct PlanContext<'a> {
    pub pool: &'a SqlitePool,
    pub node: &'a NodeConfig,
    pub live: &'a Schema,
    pub min_free_pct: u64,
    /// Names fixed by an earlier plan of the same request (safety tag, side tables), so a
    /// re-plan compares equal when nothing changed.
    pub previous: Option<&'a Plan>,
    pub now_ms: i64,
    /// The cluster as the node sees it; `None` when it could not be read.
    pub topology: Option<&'a Topology>,
    /// What the store holds of the snapshot, for a restore from a store.
    pub store_source: Option<&'a StoreSource>,
    /// The node is down and holds no data: a full-node restore from a store rebuilds it
    /// (disaster recovery; `live` is then empty).
    pub rebuild: bool,
}

impl PlanContext<'_> {
    /// Whether this plan rebuilds a node that lost its data: a full-node restore from a
    /// store onto a node that is down and holds nothing.
    pub fn rebuilds(&self, input: &RestoreInput) -> bool {
        self.rebuild && input.target == Target::FullNode && self.store_source.is_some()
    }
}

pub use app::names::SYSTEM_KEYSPACES;

/// Four hex digits that keep two safety tags planned in the same second apart.
fn random_suffix() -> String {
    let mut b = [0u8; 2];
    match getrandom::getrandom(&mut b) {
        Ok(()) => hex::encode(b),
        Err(_) => format!("{:04x}", std::process::id() & 0xffff),
    }
}

/// Makes the plan (see the module documentation)./// Makes the plan (see the module documentation).
pub async fn make(ctx: &PlanContext<'_>, input: &RestoreInput) -> Result<Plan, RestoreError> {
    let node = ctx.node;
    let rows = select::snapshot_rows(ctx, input).await?;
    let mut notes = Vec::new();
    let rebuild = ctx.rebuilds(input);
    if rebuild && !input.tables.is_empty() {
        return Err(RestoreError::bad(
            "tables",
            format!(
                "node {} is down and holds no data: it is rebuilt with every table of the snapshot; leave out `tables`",
                node.name
            ),
        ));
    }
    if rebuild && !rows.iter().any(|r| r.0 == "system_schema") {
        return Err(RestoreError::Conflict(format!(
            "node {} is down and holds no data, and snapshot `{}` in the store holds no system_schema tables (it was taken of some keyspaces only): a node that lost its data is rebuilt from a snapshot of every keyspace",
            node.name, input.snapshot
        )));
    }
    let wanted = select::wanted_tables(input, node, &rows, rebuild, &mut notes)?;
    let stamp = app::api::format_compact_utc(ctx.now_ms).to_ascii_lowercase();
    let safety_tag = match input.target {
        Target::InPlace | Target::FullNode => Some(
            ctx.previous
                .and_then(|p| p.safety_tag.clone())
                .unwrap_or_else(|| {
                    format!(
                        "{}{stamp}-{}",
                        crate::snapshots::validate::PRE_RESTORE_PREFIX,
                        random_suffix()
                    )
                }),
        ),
        Target::Side => None,
    };
    let staging_name = safety_tag
        .clone()
        .unwrap_or_else(|| format!("snapkeep-side-{stamp}"));
    let mut blocked = Vec::new();
    let commitlog_aside = if input.target == Target::FullNode {
        full_node::prepare(node, &staging_name, rebuild, &mut blocked, &mut notes)
    } else {
        None
    };
    let tables = tables::plan_tables(
        ctx,
        input,
        &rows,
        &wanted,
        &stamp,
        &staging_name,
        &mut blocked,
    )?;
    if let Some(src) = ctx.store_source {
        notes.push(download_note(src, &tables));
    }
    let (headroom, short) = headroom::headroom(ctx, &tables)?;
    let verdict = checks::verdict(input, &tables, &mut blocked);
    if input.target == Target::InPlace {
        checks::replicas(ctx, input, &tables, &mut blocked, &mut notes);
    }
    blocked.extend(short);
    let steps = steps::steps(input, &tables, commitlog_aside.is_some(), rebuild)
        .iter()
        .map(Step::to_string)
        .collect();
    Ok(Plan {
        node: node.name.clone(),
        tag: input.snapshot.clone(),
        target: input.target,
        truncate: input.truncate,
        safety_tag,
        tables,
        headroom,
        min_free_pct: ctx.min_free_pct,
        steps,
        blocked,
        verdict,
        commitlog_aside,
        notes,
        source_store: ctx.store_source.map(|s| s.store.clone()),
        disaster_recovery: rebuild,
    })
}

/// What a restore from a store downloads, for the approver.
fn download_note(src: &StoreSource, tables: &[TablePlan]) -> String {
    let files: usize = tables.iter().map(|t| t.files.len()).sum();
    let bytes: u64 = tables.iter().map(|t| t.download_bytes).sum();
    let from_backups: u64 = tables.iter().map(|t| t.backup_files).sum();
    let backups = if from_backups > 0 {
        format!(
            ", {from_backups} of them from {} batch(es) of incremental backups shipped after the snapshot was taken (their rows come on top of the snapshot's)",
            src.batches.len()
        )
    } else {
        String::new()
    };
    format!(
        "The files come from store {}: {files} files ({}) are downloaded into a directory beside the staging area and each is checked against its SHA-256 before anything on the node is changed{backups}; the download is removed when the restore is done.",
        src.store,
        app::api::format_bytes(bytes as i64)
    )
}
