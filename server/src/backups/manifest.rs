//! The manifest of one upload: what a snapshot or backup batch holds, file by file, with the
//! content hash and store address of each, so the store alone can tell what it holds
//! (`snapkeep store reindex`) and a restore can fetch and check every byte.

use serde::{Deserialize, Serialize};

/// One uploaded snapshot (`kind` `snapshot`, `id` its tag) or batch of incremental backups
/// (`kind` `backup`, `id` a time-ordered batch name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version (1).
    pub format: u32,
    pub kind: String,
    pub id: String,
    pub node: String,
    /// The node's host id (`nodetool info`), when it answered.
    #[serde(default)]
    pub host_id: Option<String>,
    /// When the upload finished, Unix milliseconds.
    pub created_at: i64,
    /// The encryption key's fingerprint; `None` for a store without encryption.
    #[serde(default)]
    pub key_fingerprint: Option<String>,
    /// The node's schema version when the upload was made, when known.
    #[serde(default)]
    pub schema_version: Option<String>,
    pub tables: Vec<ManifestTable>,
}

/// One table's files in an upload (a snapshot's `schema.cql` and `manifest.json` among them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestTable {
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
    pub files: Vec<ManifestFile>,
}

/// One file: its name in the table's snapshot or `backups/` directory, size, the SHA-256 of
/// its content and the store address of that content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub address: String,
}

impl ManifestFile {
    /// The content hash as bytes (`None` when the manifest holds something else).
    pub fn sha(&self) -> Option<[u8; 32]> {
        hex::decode(&self.sha256).ok()?.try_into().ok()
    }
}

impl Manifest {
    /// Files and bytes the upload names.
    pub fn totals(&self) -> (u64, u64) {
        self.tables
            .iter()
            .flat_map(|t| &t.files)
            .fold((0, 0), |(n, b), f| (n + 1, b + f.size))
    }
}
