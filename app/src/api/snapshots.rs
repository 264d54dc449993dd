//! Snapshots: what the history page, the detail page, the REST API and the CLI exchange, and
//! the server functions the pages call.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::JobDto;
#[cfg(feature = "ssr")]
use super::backend::backend;

/// The kinds of snapshot Snapkeep tells apart.
pub const SNAPSHOT_KINDS: [&str; 6] = [
    "manual",
    "scheduled",
    "truncated",
    "dropped",
    "pre-restore",
    "external",
];

/// Kinds Cassandra takes on its own just before it destroys data (TRUNCATE, DROP): their
/// snapshots are the way back.
pub fn is_undo_kind(kind: &str) -> bool {
    matches!(kind, "truncated" | "dropped")
}

/// One snapshot (one tag on one node), with what it costs on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotDto {
    /// Catalog id.
    pub id: i64,
    pub node: String,
    pub tag: String,
    /// `manual`, `scheduled`, `truncated`, `dropped`, `pre-restore` or `external`.
    pub kind: String,
    /// `present` (on disk), `cleared` (cleared through Snapkeep) or `gone` (no longer on disk:
    /// cleared outside Snapkeep or expired).
    pub status: String,
    /// Unix ms, UTC.
    pub created_at: i64,
    /// When Cassandra removes it (TTL), Unix ms.
    pub expires_at: Option<i64>,
    /// Who took it through Snapkeep, when it was taken through Snapkeep.
    pub created_by: Option<String>,
    /// `keyspace.table` of every table it covers.
    pub tables: Vec<String>,
    pub files: i64,
    /// Every byte it links, each inode once.
    pub size_bytes: i64,
    /// Bytes only this snapshot links: exactly what clearing it frees.
    pub exclusive_hold_bytes: i64,
    /// Bytes no live SSTable links that this snapshot links together with other snapshots.
    pub shared_hold_bytes: i64,
    /// When the figures were measured (Unix ms).
    pub measured_at: i64,
    /// When Snapkeep saw it cleared or missing (Unix ms).
    pub gone_at: Option<i64>,
    /// For automatic snapshots: what happened, e.g. "shop.orders was truncated at …".
    pub note: Option<String>,
}

/// One file of a snapshot, as scanned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotFileDto {
    /// Path relative to the snapshot directory.
    pub path: String,
    pub size: i64,
    pub inode: i64,
    /// Link count when it was scanned.
    pub nlink: i64,
}

/// One table of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotTableDto {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    /// Table id, 32 hex digits (as in the directory name).
    pub table_id: String,
    /// `present`, `cleared` or `gone`.
    pub status: String,
    /// From the snapshot's `manifest.json` (Unix ms).
    pub created_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub files: i64,
    pub size_bytes: i64,
    pub exclusive_hold_bytes: i64,
    pub shared_hold_bytes: i64,
    /// Rows when the snapshot was taken, for restore verification.
    pub row_count: Option<i64>,
    /// `count` (SELECT COUNT(*)) or `estimate` (partitions estimate from tablestats).
    pub row_count_method: Option<String>,
    /// The snapshot's `schema.cql`.
    pub schema_cql: Option<String>,
    /// The first files (see `files_total`).
    pub file_list: Vec<SnapshotFileDto>,
    pub files_total: i64,
}

/// One snapshot tag with its tables (on one node, or on every node that has it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotDetailDto {
    pub tag: String,
    pub kind: String,
    pub status: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub created_by: Option<String>,
    pub note: Option<String>,
    pub nodes: Vec<String>,
    pub size_bytes: i64,
    pub exclusive_hold_bytes: i64,
    pub shared_hold_bytes: i64,
    pub files: i64,
    pub tables: Vec<SnapshotTableDto>,
    /// Why it cannot be cleared now (a restore uses it, or it is a restore's safety
    /// snapshot kept for a while).
    #[serde(default)]
    pub pins: Vec<SnapshotPinDto>,
}

/// Something that keeps a snapshot from being cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotPinDto {
    pub node: String,
    pub reason: String,
    /// `None`: until its holder lets go (the restore ends).
    pub until_ms: Option<i64>,
}

/// Filters, sort and page of the snapshot list (the same on the page and in the API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
pub struct SnapshotQuery {
    pub node: Option<String>,
    pub keyspace: Option<String>,
    pub table: Option<String>,
    /// One of the kinds.
    pub kind: Option<String>,
    /// Part of the tag (case-insensitive).
    pub tag: Option<String>,
    /// `present` (default), `cleared`, `gone` or `all`.
    pub status: Option<String>,
    /// Created on or after this day, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Created on or before this day, `YYYY-MM-DD` (UTC).
    pub to: Option<String>,
    /// `created`, `tag`, `size`, `exclusive`, `shared`, `expires`, `node`, `kind`; a leading `-`
    /// sorts descending. Default `-created`.
    pub sort: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<i64>,
    /// Items per page, 1–500 (default 50).
    pub per_page: Option<i64>,
}

/// Snapshots taken on one day on one node (for the timeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimelineDay {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub node: String,
    pub count: i64,
    pub size_bytes: i64,
    pub exclusive_hold_bytes: i64,
}

/// One page of snapshots, the total that match, and the timeline of all that match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotPage {
    pub items: Vec<SnapshotDto>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub timeline: Vec<TimelineDay>,
}

/// A request to take a snapshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CreateSnapshotRequest {
    /// The node (default: every configured node).
    pub node: Option<String>,
    /// Instead of `node`: every configured node of this cluster (`GET /api/v1/clusters`),
    /// the same tag on each, started together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Keyspaces to snapshot (default: every keyspace, unless `tables` is given).
    pub keyspaces: Option<Vec<String>>,
    /// Tables as `keyspace.table`.
    pub tables: Option<Vec<String>>,
    /// `[A-Za-z0-9_.-]`, at most 100 characters (default `snapkeep-<UTC yyyymmddThhmmssZ>`).
    pub tag: Option<String>,
    /// Time to live, e.g. `3d`, `12h`, `30m` (Cassandra removes the snapshot then).
    pub ttl: Option<String>,
    /// Do not flush memtables first.
    pub skip_flush: Option<bool>,
}

/// The answer to a snapshot or clear request: the job doing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SnapshotJobDto {
    pub tag: String,
    pub nodes: Vec<String>,
    /// `keyspace.table` of every table concerned.
    pub tables: Vec<String>,
    pub job: JobDto,
    /// For a clear: the bytes it frees (the exclusive hold when it was last measured).
    pub frees_bytes: Option<i64>,
}

/// What the "take a snapshot" form offers: nodes and their tables.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFormOptions {
    pub nodes: Vec<String>,
    /// `keyspace.table`, sorted, from the last scans (system keyspaces excluded).
    pub tables: Vec<String>,
}

// Struct arguments whose fields are all optional travel as JSON: URL encoding drops an
// all-empty struct entirely and the server then misses the argument.

/// One page of the snapshot history.
#[server(prefix = "/rpc", endpoint = "snapshots", input = leptos::server_fn::codec::Json)]
pub async fn list_snapshots(query: SnapshotQuery) -> Result<SnapshotPage, ServerFnError> {
    backend()?
        .list_snapshots(query)
        .await
        .map_err(ServerFnError::new)
}

/// One snapshot tag with its tables and files (`node` narrows it to one node).
#[server(prefix = "/rpc", endpoint = "snapshot")]
pub async fn get_snapshot(
    tag: String,
    node: Option<String>,
) -> Result<Option<SnapshotDetailDto>, ServerFnError> {
    backend()?
        .snapshot(tag, node)
        .await
        .map_err(ServerFnError::new)
}

/// Nodes and tables the "take a snapshot" form offers.
#[server(prefix = "/rpc", endpoint = "snapshot_form")]
pub async fn get_snapshot_form() -> Result<SnapshotFormOptions, ServerFnError> {
    backend()?
        .snapshot_form_options()
        .await
        .map_err(ServerFnError::new)
}

/// Takes a snapshot (answers at once with the job).
#[server(prefix = "/rpc", endpoint = "snapshot_create", input = leptos::server_fn::codec::Json)]
pub async fn create_snapshot(
    request: CreateSnapshotRequest,
) -> Result<SnapshotJobDto, ServerFnError> {
    backend()?
        .create_snapshot(request)
        .await
        .map_err(ServerFnError::new)
}

/// Clears a snapshot (all of it, or one keyspace or table of it).
#[server(prefix = "/rpc", endpoint = "snapshot_clear")]
pub async fn clear_snapshot(
    tag: String,
    node: Option<String>,
    keyspace: Option<String>,
    table: Option<String>,
) -> Result<SnapshotJobDto, ServerFnError> {
    backend()?
        .clear_snapshot(tag, node, keyspace, table)
        .await
        .map_err(ServerFnError::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_automatic_snapshots_before_data_loss_are_undo_kinds() {
        assert!(is_undo_kind("truncated"));
        assert!(is_undo_kind("dropped"));
        assert!(!is_undo_kind("manual"));
        assert!(!is_undo_kind("pre-restore"));
    }
}
