//! Off-node backups: the stores, what was uploaded to them, and the incremental backups
//! waiting on the nodes to be shipped.

use serde::{Deserialize, Serialize};

/// One configured store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoreDto {
    pub name: String,
    /// `local` or `s3`.
    pub kind: String,
    /// A directory, or `endpoint/bucket`.
    pub location: String,
    pub encrypted: bool,
    /// The encryption key's fingerprint (never the key).
    pub key_fingerprint: Option<String>,
    /// Nodes whose uploads go here.
    pub nodes: Vec<String>,
    /// Uploads (snapshots and backup batches) recorded in the catalog.
    pub uploads: i64,
    /// Distinct objects and the bytes of content they hold.
    pub objects: i64,
    pub object_bytes: i64,
    /// Objects whose last verification failed.
    pub objects_failed: i64,
    /// When the newest verification ran (Unix ms).
    pub last_verified_at: Option<i64>,
}

/// One upload: a snapshot copied to a store, or a batch of shipped incremental backups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadDto {
    pub id: i64,
    pub store: String,
    /// `snapshot` or `backup`.
    pub kind: String,
    pub node: String,
    /// The snapshot tag, or the backup batch's name.
    pub name: String,
    pub manifest_key: String,
    /// Unix ms.
    pub created_at: i64,
    pub files: i64,
    pub bytes: i64,
    /// Bytes this upload sent (content the store did not hold yet).
    pub bytes_sent: i64,
    pub files_sent: i64,
    pub key_fingerprint: Option<String>,
    /// Every object of the upload verified, and when the last of them was (Unix ms).
    pub verified: bool,
    pub verified_at: Option<i64>,
    /// Objects whose verification failed, with what was found.
    pub problems: Vec<String>,
}

/// `POST /api/v1/snapshots/{tag}/upload`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadRequest {
    /// The store (default: the node's store).
    pub store: Option<String>,
    /// Only this node (default: every node holding the snapshot).
    pub node: Option<String>,
}

/// `POST /api/v1/backups/ship`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShipRequest {
    /// Only this node (default: every node).
    pub node: Option<String>,
}

/// `POST /api/v1/stores/{name}/verify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VerifyRequest {
    /// Re-read only this many objects, those verified longest ago (default: all).
    pub sample: Option<u64>,
}

/// Incremental backups waiting in one table's `backups/` directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacklogTable {
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
    pub files: u64,
    pub bytes: u64,
    /// Distinct inodes (each file is a hard link of a flushed SSTable component).
    pub inodes: u64,
    /// SSTables whose every component is there (ready to ship) and those still incomplete.
    pub sstables_complete: u64,
    pub sstables_incomplete: u64,
    /// Age of the oldest waiting file, seconds.
    pub oldest_age_secs: u64,
}

/// One node's backlog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacklogNode {
    pub node: String,
    pub store: Option<String>,
    /// `ship_backups` in the configuration.
    pub ship_backups: bool,
    /// `nodetool statusbackup`: `None` when the node did not answer.
    pub incremental_backups: Option<bool>,
    pub files: u64,
    pub bytes: u64,
    pub inodes: u64,
    pub oldest_age_secs: u64,
    /// Bytes of backups shipped in the last 24 hours and files sent then.
    pub shipped_bytes_24h: i64,
    pub shipped_files_24h: i64,
    /// When the last shipping batch was uploaded (Unix ms).
    pub last_shipped_at: Option<i64>,
    /// Set when the backlog needs attention (old files, shipping off, an unreadable dir).
    pub warning: Option<String>,
    pub tables: Vec<BacklogTable>,
}

/// `GET /api/v1/backups`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BacklogDto {
    pub nodes: Vec<BacklogNode>,
    /// The newest uploads of every store.
    pub uploads: Vec<UploadDto>,
}

/// `PUT /api/v1/nodes/{name}/incremental-backups`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IncrementalBackupsRequest {
    pub enabled: bool,
}

/// Everything the Backups page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupsPageDto {
    pub stores: Vec<StoreDto>,
    pub backlog: BacklogDto,
}

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::backend::backend;

/// The stores, the backlog per node and table, and the newest uploads.
#[server(prefix = "/rpc", endpoint = "backups")]
pub async fn get_backups() -> Result<BackupsPageDto, ServerFnError> {
    backend()?.backups().await.map_err(ServerFnError::new)
}

/// Ships the incremental backups of every node, or one (operators).
#[server(prefix = "/rpc", endpoint = "backups_ship")]
pub async fn ship_backups(node: Option<String>) -> Result<super::JobDto, ServerFnError> {
    let node = node.filter(|n| !n.is_empty());
    backend()?
        .ship_backups(node)
        .await
        .map_err(ServerFnError::new)
}

/// Turns a node's incremental backups on or off (admins).
#[server(prefix = "/rpc", endpoint = "incremental_backups")]
pub async fn set_incremental_backups(node: String, enabled: bool) -> Result<bool, ServerFnError> {
    backend()?
        .set_incremental_backups(node, enabled)
        .await
        .map_err(ServerFnError::new)
}

/// The copies of a snapshot in the stores.
#[server(prefix = "/rpc", endpoint = "snapshot_copies")]
pub async fn snapshot_copies(tag: String) -> Result<Vec<UploadDto>, ServerFnError> {
    backend()?
        .snapshot_copies(tag)
        .await
        .map_err(ServerFnError::new)
}

/// A copy of a snapshot in a store, as the restore wizard offers it: from the snapshot's own
/// node, or alone when the snapshot is no longer there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StoreCopyDto {
    pub node: String,
    pub tag: String,
    pub store: String,
    /// When the copy was made (Unix ms).
    pub uploaded_at: i64,
    /// `keyspace.table` of every table in the copy.
    pub tables: Vec<String>,
    /// Every object of the copy verified.
    pub verified: bool,
    /// The snapshot is still on its node.
    pub on_node: bool,
}

/// Every snapshot copy in the stores (newest first).
#[server(prefix = "/rpc", endpoint = "store_copies")]
pub async fn store_copies() -> Result<Vec<StoreCopyDto>, ServerFnError> {
    backend()?.store_copies().await.map_err(ServerFnError::new)
}

/// Copies a snapshot to a store (operators).
#[server(prefix = "/rpc", endpoint = "snapshot_upload")]
pub async fn upload_snapshot(
    tag: String,
    store: Option<String>,
) -> Result<super::JobDto, ServerFnError> {
    let store = store.filter(|s| !s.is_empty());
    backend()?
        .upload_snapshot(tag, store)
        .await
        .map_err(ServerFnError::new)
}
