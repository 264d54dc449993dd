//! Restores: what the wizard, the REST API and the CLI exchange (requests, plans, schema
//! checks, the journal, the verification), and the server functions the pages call.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{auth::signed_in, backend::backend};

/// Where restored data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Back into the same table (node running): `nodetool import`.
    InPlace,
    /// Into a new table created from the snapshot's `schema.cql`, to inspect first.
    Side,
    /// Every table of the snapshot on one node, with the node stopped: drain, stop, move the
    /// live SSTables and commit log segments aside, link the snapshot's files in, start.
    FullNode,
}

/// A restore request as the API receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreInput {
    /// The snapshot tag.
    pub snapshot: String,
    /// The node (default: the only node that has the snapshot).
    pub node: Option<String>,
    /// `keyspace.table` of each table to restore (default: every table of the snapshot).
    #[serde(default)]
    pub tables: Vec<String>,
    pub target: Target,
    /// For `side`: the keyspace of the new table (default: the table's own keyspace).
    pub side_keyspace: Option<String>,
    /// TRUNCATE the live table first (in place only): the table then holds exactly the
    /// snapshot's rows; without it, restored rows merge with the live ones.
    #[serde(default)]
    pub truncate: bool,
    /// Why (required for a request; ignored by a dry run).
    #[serde(default)]
    pub reason: String,
    /// Where the snapshot's files come from: absent = the snapshot on the node; a store =
    /// its off-node copy there (plus the incremental backups shipped after it), downloaded
    /// into staging on the node and checked before anything is changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RestoreSource>,
}

/// An off-node source of a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreSource {
    /// The store's name (`GET /api/v1/stores`).
    pub store: String,
}

/// One file to restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanFile {
    pub name: String,
    pub size: u64,
    /// The file's inode on the node (0 until a file from a store is downloaded).
    pub inode: u64,
    /// SHA-256 of the content, for files that come from a store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One table of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TablePlan {
    pub keyspace: String,
    pub table: String,
    /// The table id in the snapshot (directory name).
    pub source_table_id: String,
    pub data_dir: String,
    pub source_dir: String,
    pub target_keyspace: String,
    pub target_table: String,
    /// The live table's id (in place), or none until the side table is created.
    pub target_table_id: Option<String>,
    pub staging_dir: String,
    /// Full node: where the table's live SSTables are moved (kept until verified).
    #[serde(default)]
    pub aside_dir: Option<String>,
    pub files: Vec<PlanFile>,
    pub bytes: u64,
    pub sstables: u64,
    /// Same filesystem: files are hard-linked, no byte is copied.
    pub hard_link: bool,
    pub bytes_to_copy: u64,
    pub expected_rows: Option<i64>,
    /// `count` or `estimate`.
    pub expected_rows_method: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub schema_check: SchemaCheck,
    /// The snapshot's schema.cql (to create the side table).
    pub schema_cql: String,
    /// Bytes downloaded from the store into `source_dir` first (0: the snapshot is on the
    /// node).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub download_bytes: u64,
    /// Of `files`, how many come from incremental backups shipped after the snapshot.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub backup_files: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Free space after the restore on one filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Headroom {
    pub data_dir: String,
    pub total_bytes: u64,
    pub free_bytes_after: u64,
    pub total_inodes: u64,
    pub free_inodes_after: u64,
    /// Free percentages after the restore, rounded down.
    pub free_bytes_pct: u64,
    pub free_inodes_pct: u64,
    pub ok: bool,
}

/// The whole dry run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Plan {
    pub node: String,
    pub tag: String,
    pub target: Target,
    pub truncate: bool,
    /// Taken first (in place), so the restore itself can be undone.
    pub safety_tag: Option<String>,
    pub tables: Vec<TablePlan>,
    pub headroom: Vec<Headroom>,
    pub min_free_pct: u64,
    /// The steps, in order.
    pub steps: Vec<String>,
    /// Why it cannot run (empty: it can).
    pub blocked: Vec<String>,
    /// Worst schema verdict over the tables.
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub verdict: Verdict,
    /// Full node: where the commit log segments are moved (kept until verified).
    #[serde(default)]
    pub commitlog_aside: Option<String>,
    /// Sentences for the approver (how the node is stopped and started, what is kept aside).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The store the files are downloaded from; `None`: the snapshot on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_store: Option<String>,
    /// Disaster recovery: a full-node restore from a store onto a node that is down and holds
    /// no data (its data directories are gone or empty): every table of the snapshot, system
    /// keyspaces included (the node's schema, tokens and host id come back with them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disaster_recovery: bool,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::InPlace => "in_place",
            Target::Side => "side",
            Target::FullNode => "full_node",
        }
    }

    /// The target named by [`Target::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Target::InPlace, Target::Side, Target::FullNode]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// How a difference weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Incompatible,
}

/// One difference between the snapshot's schema and the live one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub severity: Severity,
    /// One sentence for people.
    pub message: String,
    /// The CQL facts behind it.
    pub facts: String,
}

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Compatible,
    CompatibleWithWarnings,
    Incompatible,
}

/// The check's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaCheck {
    pub verdict: Verdict,
    pub differences: Vec<Difference>,
}

/// What the verification found for one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TableVerification {
    pub table: String,
    pub rows_expected: Option<i64>,
    pub rows_found: Option<i64>,
    /// Whether the count must equal the snapshot's (after TRUNCATE or into a new table).
    pub rows_exact: bool,
    pub sstables_expected: u64,
    /// Snapshot SSTables now linked in the table's directory.
    pub sstables_linked: u64,
    /// SSTables whose `Data.db` matches its `Digest.crc32`.
    pub digests_ok: u64,
    pub query_ok: bool,
    pub passed: bool,
    pub notes: Vec<String>,
}

/// The verification of a whole restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Verification {
    pub passed: bool,
    pub tables: Vec<TableVerification>,
}

/// One journal step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StepDto {
    pub seq: i64,
    pub name: String,
    /// `pending`, `running`, `done`, `failed` or `skipped`.
    pub state: String,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub detail: String,
}

/// A restore request with its plan, journal and verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RestoreDto {
    pub id: i64,
    pub node: String,
    pub snapshot: String,
    pub tables: Vec<String>,
    pub target: Target,
    pub side_keyspace: Option<String>,
    pub truncate: bool,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    /// `awaiting_approval`, `approved`, `rejected`, `running`, `interrupted`, `done`, `failed`.
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_comment: Option<String>,
    pub approval_expires_at: Option<i64>,
    pub plan: Plan,
    pub plan_hash: String,
    pub job_id: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<String>,
    pub steps: Vec<StepDto>,
    pub verification: Option<Verification>,
}

/// Every restore request, newest first.
#[server(prefix = "/rpc", endpoint = "restores")]
pub async fn list_restores() -> Result<Vec<RestoreDto>, ServerFnError> {
    backend()?.list_restores().await.map_err(ServerFnError::new)
}

/// One restore request with its plan, journal and verification.
#[server(prefix = "/rpc", endpoint = "restore")]
pub async fn get_restore(id: i64) -> Result<Option<RestoreDto>, ServerFnError> {
    backend()?.restore(id).await.map_err(ServerFnError::new)
}

/// The dry run: schema check, files, headroom, steps. Changes nothing.
#[server(prefix = "/rpc", endpoint = "restore_plan", input = leptos::server_fn::codec::Json)]
pub async fn plan_restore(input: RestoreInput) -> Result<Plan, ServerFnError> {
    backend()?
        .plan_restore(input)
        .await
        .map_err(ServerFnError::new)
}

/// Requests a restore; another person must approve it.
#[server(prefix = "/rpc", endpoint = "restore_request", input = leptos::server_fn::codec::Json)]
pub async fn request_restore(input: RestoreInput) -> Result<RestoreDto, ServerFnError> {
    backend()?
        .request_restore(signed_in()?, input)
        .await
        .map_err(ServerFnError::new)
}

/// Approves (`approve`) or rejects a request made by someone else.
#[server(prefix = "/rpc", endpoint = "restore_decide")]
pub async fn decide_restore(
    id: i64,
    approve: bool,
    comment: String,
) -> Result<RestoreDto, ServerFnError> {
    backend()?
        .decide_restore(signed_in()?, id, approve, comment)
        .await
        .map_err(ServerFnError::new)
}

/// Runs an approved request.
#[server(prefix = "/rpc", endpoint = "restore_execute")]
pub async fn execute_restore(id: i64) -> Result<RestoreDto, ServerFnError> {
    backend()?
        .execute_restore(id, false)
        .await
        .map_err(ServerFnError::new)
}

/// Cancels an open request (its requester or an admin).
#[server(prefix = "/rpc", endpoint = "restore_cancel")]
pub async fn cancel_restore(id: i64, comment: String) -> Result<RestoreDto, ServerFnError> {
    backend()?
        .cancel_restore(signed_in()?, id, comment)
        .await
        .map_err(ServerFnError::new)
}

/// Removes what a full-node restore set aside (admins).
#[server(prefix = "/rpc", endpoint = "restore_aside_remove")]
pub async fn remove_restore_aside(id: i64) -> Result<Vec<String>, ServerFnError> {
    backend()?
        .remove_restore_aside(signed_in()?, id)
        .await
        .map_err(ServerFnError::new)
}

/// Continues an interrupted or failed restore from its journal.
#[server(prefix = "/rpc", endpoint = "restore_resume")]
pub async fn resume_restore(id: i64) -> Result<RestoreDto, ServerFnError> {
    backend()?
        .execute_restore(id, true)
        .await
        .map_err(ServerFnError::new)
}
