//! A restore whose source is a store (`"source": {"store": NAME}`): what the store holds of
//! the snapshot, read from the catalog's record of its upload, plus the incremental backups
//! of the same tables shipped after the snapshot was taken; and the download of those files
//! into a directory beside the restore's staging, every byte checked against its hash, before
//! anything on the node is changed.

use std::path::{Path, PathBuf};

use sqlx::SqlitePool;

use super::RestoreError;
use super::plan::{Plan, PlanFile};
use crate::backups::store::Store;
use crate::node::NodeConfig;
use crate::node::files::MAX_SCHEMA_CQL_BYTES;

/// What a store holds of one snapshot of a node, per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSource {
    pub store: String,
    /// When the snapshot was taken (the catalog's record), else when its upload finished.
    pub taken_at: i64,
    /// Batches of incremental backups whose files are added.
    pub batches: Vec<String>,
    pub tables: Vec<StoreTable>,
}

/// One table of a snapshot in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreTable {
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
    /// The SSTable files to download (the snapshot's, then backups' not already among them),
    /// each with its content hash; inode 0.
    pub files: Vec<PlanFile>,
    /// Of `files`, how many come from incremental backups.
    pub backup_files: u64,
    pub schema_cql: String,
    pub row_count: Option<i64>,
    pub row_count_method: Option<String>,
}

type FileRow = (String, String, String, String, i64, String);

/// Reads what `store` holds of snapshot `tag` of `node`: the upload's files from the catalog,
/// each table's `schema.cql` from the store (checked against its hash).
pub async fn resolve(
    pool: &SqlitePool,
    store: &Store,
    node: &NodeConfig,
    tag: &str,
) -> Result<StoreSource, RestoreError> {
    let upload: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, created_at FROM uploads WHERE store = ? AND kind = 'snapshot' AND node = ? AND name = ?",
    )
    .bind(store.name())
    .bind(&node.name)
    .bind(tag)
    .fetch_optional(pool)
    .await?;
    let Some((upload, uploaded_at)) = upload else {
        return Err(RestoreError::NotFound(format!(
            "store `{}` holds no copy of snapshot `{tag}` of node {} (copy it there first, or run `snapkeep store reindex {}` if the catalog is new)",
            store.name(),
            node.name,
            store.name()
        )));
    };
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT min(created_at) FROM snapshots WHERE node = ? AND tag = ?")
            .bind(&node.name)
            .bind(tag)
            .fetch_one(pool)
            .await?;
    let taken_at = taken.unwrap_or(uploaded_at);
    let files: Vec<FileRow> = sqlx::query_as(
        "SELECT keyspace, table_name, table_id, name, size, sha256 FROM upload_files \
         WHERE upload_id = ? ORDER BY keyspace, table_name, name",
    )
    .bind(upload)
    .fetch_all(pool)
    .await?;
    // Batches shipped after the snapshot was taken, oldest first.
    let batches: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM uploads WHERE store = ? AND kind = 'backup' AND node = ? AND created_at >= ? \
         ORDER BY created_at, id",
    )
    .bind(store.name())
    .bind(&node.name)
    .bind(taken_at)
    .fetch_all(pool)
    .await?;
    let mut tables: Vec<StoreTable> = Vec::new();
    let mut schemas: Vec<(usize, FileRow)> = Vec::new();
    for row in files {
        let (ks, t, id, name, size, sha) = &row;
        let at = match tables
            .iter()
            .position(|x| x.keyspace == *ks && x.table == *t && x.table_id == *id)
        {
            Some(i) => i,
            None => {
                tables.push(StoreTable {
                    keyspace: ks.clone(),
                    table: t.clone(),
                    table_id: id.clone(),
                    files: Vec::new(),
                    backup_files: 0,
                    schema_cql: String::new(),
                    row_count: None,
                    row_count_method: None,
                });
                tables.len() - 1
            }
        };
        match name.as_str() {
            "schema.cql" => schemas.push((at, row.clone())),
            // As from a snapshot on the node: the table directory's own files (a secondary
            // index in a subdirectory is rebuilt by the import).
            "manifest.json" => {}
            n if n.contains('/') => {}
            _ => tables[at].files.push(PlanFile {
                name: name.clone(),
                size: u64::try_from(*size).unwrap_or(0),
                inode: 0,
                sha256: Some(sha.clone()),
            }),
        }
    }
    let mut used = Vec::new();
    for (batch, batch_name) in &batches {
        let rows: Vec<FileRow> = sqlx::query_as(
            "SELECT keyspace, table_name, table_id, name, size, sha256 FROM upload_files \
             WHERE upload_id = ? ORDER BY keyspace, table_name, name",
        )
        .bind(batch)
        .fetch_all(pool)
        .await?;
        let mut any = false;
        for (ks, t, id, name, size, sha) in rows {
            let Some(table) = tables
                .iter_mut()
                .find(|x| x.keyspace == ks && x.table == t && x.table_id == id)
            else {
                continue;
            };
            // An SSTable both in the snapshot and shipped as a backup is the same file.
            if name.contains('/') || table.files.iter().any(|f| f.name == name) {
                continue;
            }
            table.files.push(PlanFile {
                name,
                size: u64::try_from(size).unwrap_or(0),
                inode: 0,
                sha256: Some(sha),
            });
            table.backup_files += 1;
            any = true;
        }
        if any {
            used.push(batch_name.clone());
        }
    }
    for (at, (ks, t, _, _, size, sha)) in schemas {
        let digest = sha_bytes(&sha).ok_or_else(|| {
            RestoreError::Conflict(format!(
                "the catalog's hash of {ks}.{t}'s schema.cql is not a SHA-256"
            ))
        })?;
        let bytes = store
            .read_small(
                &store.address(&digest),
                u64::try_from(size).unwrap_or(0),
                &digest,
                MAX_SCHEMA_CQL_BYTES,
            )
            .await
            .map_err(|e| {
                RestoreError::Unavailable(format!("cannot read the schema of {ks}.{t}: {e}"))
            })?;
        tables[at].schema_cql = String::from_utf8_lossy(&bytes).into_owned();
    }
    for t in &mut tables {
        t.files.sort_by(|a, b| a.name.cmp(&b.name));
        let count: Option<(Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT st.row_count, st.row_count_method FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id \
             WHERE s.node = ? AND s.tag = ? AND st.keyspace_name = ? AND st.table_name = ? AND st.table_id = ? \
             ORDER BY s.id DESC LIMIT 1",
        )
        .bind(&node.name)
        .bind(tag)
        .bind(&t.keyspace)
        .bind(&t.table)
        .bind(&t.table_id)
        .fetch_optional(pool)
        .await?;
        if let Some((rows, method)) = count {
            t.row_count = rows;
            // Rows shipped as backups after the snapshot come on top of its count.
            t.row_count_method = if t.backup_files > 0 {
                rows.map(|_| "count_before_backups".to_string())
            } else {
                method
            };
        }
    }
    Ok(StoreSource {
        store: store.name().to_string(),
        taken_at,
        batches: used,
        tables,
    })
}

fn sha_bytes(hex_sha: &str) -> Option<[u8; 32]> {
    hex::decode(hex_sha).ok()?.try_into().ok()
}

/// Where a table's files are downloaded: `<data dir>/.snapkeep-staging/<name>.download/<keyspace>/<table>-<id>`,
/// on the filesystem of the table so they can be hard-linked into place.
pub fn download_dir(data_dir: &Path, staging_name: &str, t: &StoreTable) -> PathBuf {
    data_dir
        .join(crate::restore::STAGING_DIR)
        .join(format!("{staging_name}.download"))
        .join(&t.keyspace)
        .join(format!("{}-{}", t.table, t.table_id))
}

/// Downloads every planned file of a restore from its store into the tables' download
/// directories, each checked against its hash; files already downloaded whole (a resumed
/// step) are kept. Returns a line for the journal.
pub async fn download(plan: &Plan, store: &Store, node: &NodeConfig) -> Result<String, String> {
    let on = crate::node::Node::local(node);
    let (mut fetched, mut kept, mut bytes) = (0u64, 0u64, 0u64);
    for t in &plan.tables {
        let dir = on.download_dir(t)?;
        for f in &t.files {
            let name = crate::node::disk::component("file", &f.name)
                .map_err(|e| format!("{}.{}: {e}", t.keyspace, t.table))?;
            let sha = f
                .sha256
                .as_deref()
                .and_then(sha_bytes)
                .ok_or_else(|| format!("the plan has no content hash for {}", f.name))?;
            let dest = dir.join(name);
            if std::fs::symlink_metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == f.size) {
                kept += 1;
                continue;
            }
            let part = dir.join(format!(".{name}.part"));
            let _ = std::fs::remove_file(&part);
            store
                .download(&store.address(&sha), f.size, &sha, &part)
                .await
                .map_err(|e| format!("{}.{} {}: {e}", t.keyspace, t.table, f.name))?;
            std::fs::rename(&part, &dest)
                .map_err(|e| format!("cannot rename {}: {e}", part.display()))?;
            fetched += 1;
            bytes += f.size;
        }
    }
    Ok(format!(
        "downloaded {fetched} files ({}) from store {}, every hash checked{}",
        app::api::format_bytes(bytes as i64),
        store.name(),
        if kept > 0 {
            format!("; {kept} already downloaded")
        } else {
            String::new()
        }
    ))
}
