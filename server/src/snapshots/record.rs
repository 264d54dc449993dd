//! Writes the snapshots a scan saw into the catalog: one `snapshots` row per tag on the node,
//! one `snapshot_tables` row per table directory holding it (with its `manifest.json`,
//! `schema.cql`, row count when Snapkeep took it, and hold figures), and its files. Snapshots
//! the scan no longer finds become `gone` (or `cleared` when Snapkeep cleared them); their
//! rows and last figures stay for the history.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};

use super::validate::classify;
use crate::clock::now_ms;
use crate::node::{FileEntry, Holds, NodeScan, SnapshotDir};

/// What Snapkeep knows about a snapshot it has just taken itself.
#[derive(Debug, Clone, Default)]
pub struct Intent {
    pub tag: String,
    pub kind: &'static str,
    pub created_by: Option<String>,
    pub job_id: Option<i64>,
    /// Rows at snapshot time by table id: (rows, `count` or `estimate`).
    pub row_counts: HashMap<String, (i64, &'static str)>,
}

/// Which snapshots a scan speaks for: every one on the node, or those of some tables (ids).
#[derive(Debug, Clone)]
pub enum Scope {
    Node,
    Tables(HashSet<String>),
}

impl Scope {
    fn covers(&self, table_id: &str) -> bool {
        match self {
            Scope::Node => true,
            Scope::Tables(ids) => ids.contains(table_id),
        }
    }
}

/// How to record one scan.
#[derive(Debug, Clone)]
pub struct RecordOptions<'a> {
    pub scope: Scope,
    pub intent: Option<&'a Intent>,
    /// The tag being cleared by Snapkeep: its vanished tables become `cleared`, not `gone`.
    pub clearing: Option<&'a str>,
    /// When the disk walk began (Unix ms). Facts recorded after that (by a job that took or
    /// cleared a snapshot meanwhile) are newer than this scan and are left as they are.
    pub observed_at: i64,
}

/// What recording did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    pub seen: usize,
    pub new: usize,
    pub vanished: usize,
}

/// What a snapshot directory says about itself.
#[derive(Debug, Default)]
struct Meta {
    manifest: Option<String>,
    schema: Option<String>,
    created_at: Option<i64>,
    expires_at: Option<i64>,
    ephemeral: bool,
    mtime: Option<i64>,
    rows_estimate: Option<u64>,
}

/// Reads `manifest.json` (created_at, expires_at, ephemeral) and `schema.cql`.
async fn read_meta(dir: &Path) -> Meta {
    let found = crate::node::files::read_snapshot_meta(dir).await;
    let mut meta = Meta {
        manifest: found.manifest,
        schema: found.schema,
        mtime: found.mtime,
        rows_estimate: found.rows_estimate,
        ..Meta::default()
    };
    if let Some(text) = &meta.manifest
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
    {
        let time = |k: &str| {
            v.get(k)
                .and_then(|t| t.as_str())
                .and_then(app::api::parse_utc)
        };
        meta.created_at = time("created_at");
        meta.expires_at = time("expires_at");
        meta.ephemeral = v
            .get("ephemeral")
            .and_then(|e| e.as_bool())
            .unwrap_or(false);
    }
    meta
}

/// The rows recorded for a snapshot table and how they were had: counted as Snapkeep took it,
/// else what its SSTables' metadata records (`sstables`), else `unknown` (so that later scans
/// do not read its metadata again).
fn recorded_rows(
    counted: Option<(i64, &'static str)>,
    estimate: Option<u64>,
) -> (Option<i64>, &'static str) {
    counted
        .or_else(|| {
            estimate
                .and_then(|n| i64::try_from(n).ok())
                .map(|n| (n, "sstables"))
        })
        .map_or((None, "unknown"), |(n, m)| (Some(n), m))
}

/// Inserts files in batches (5 values each, well under SQLite's 32,766 parameters).
async fn insert_files(
    tx: &mut Transaction<'_, Sqlite>,
    snapshot_table_id: i64,
    files: &[FileEntry],
) -> Result<(), sqlx::Error> {
    for chunk in files.chunks(4000) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT OR REPLACE INTO snapshot_files (snapshot_table_id, path, size, inode, nlink) ",
        );
        qb.push_values(chunk, |mut b, f| {
            b.push_bind(snapshot_table_id)
                .push_bind(&f.rel)
                .push_bind(f.size as i64)
                .push_bind(f.ino as i64)
                .push_bind(f.nlink as i64);
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records every snapshot in `scan` for `node` (see the module documentation).
pub async fn record(
    pool: &SqlitePool,
    node: &str,
    scan: &NodeScan,
    holds: &Holds,
    opts: &RecordOptions<'_>,
) -> Result<Recorded, sqlx::Error> {
    let now = now_ms();
    let mut by_tag: BTreeMap<&str, Vec<(usize, &SnapshotDir)>> = BTreeMap::new();
    for (ti, t) in scan.tables.iter().enumerate() {
        for s in &t.snapshots {
            by_tag.entry(s.tag.as_str()).or_default().push((ti, s));
        }
    }
    let failed_dirs: HashSet<String> = scan
        .data_dirs
        .iter()
        .filter(|d| d.error.is_some())
        .map(|d| d.path.display().to_string())
        .collect();

    let mut out = Recorded::default();
    // A writer from the start: a read transaction that later writes can fail at once with
    // "database is locked" when another writer committed meanwhile (SQLite WAL).
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let present: HashMap<String, (i64, i64)> = sqlx::query_as::<_, (String, i64, i64)>(
        "SELECT tag, id, measured_at FROM snapshots WHERE node = ? AND status = 'present'",
    )
    .bind(node)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(tag, id, measured)| (tag, (id, measured)))
    .collect();
    // Snapshots that vanished after this scan looked (cleared by a job meanwhile).
    let vanished_since: HashSet<String> = sqlx::query_scalar(
        "SELECT tag FROM snapshots WHERE node = ? AND status != 'present' AND gone_at > ?",
    )
    .bind(node)
    .bind(opts.observed_at)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut touched: HashSet<i64> = HashSet::new();
    let mut seen_rows: HashSet<i64> = HashSet::new();

    for (tag, entries) in &by_tag {
        out.seen += 1;
        let intent = opts.intent.filter(|i| i.tag == *tag);
        let stale = match present.get(*tag) {
            Some((_, measured)) => *measured > opts.observed_at,
            None => vanished_since.contains(*tag),
        };
        // A job's scan of the tables it holds locked is authoritative for them.
        if stale && matches!(opts.scope, Scope::Node) {
            continue;
        }
        let snapshot_id = match present.get(*tag).map(|p| p.0) {
            Some(id) => {
                if let Some(i) = intent {
                    // A scan may have found it while nodetool was still making it.
                    sqlx::query(
                        "UPDATE snapshots SET kind = ?, created_by = coalesce(?, created_by), job_id = coalesce(?, job_id), note = NULL WHERE id = ?",
                    )
                    .bind(i.kind)
                    .bind(&i.created_by)
                    .bind(i.job_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                id
            }
            None => {
                out.new += 1;
                let first_ks = entries
                    .first()
                    .map(|(ti, _)| scan.tables[*ti].keyspace.as_str());
                let (kind, _, note) = match intent {
                    Some(i) => (i.kind, None, None),
                    None => classify(tag, first_ks),
                };
                sqlx::query_scalar(
                    "INSERT INTO snapshots (node, tag, kind, status, created_at, created_by, job_id, note, first_seen_at, measured_at) \
                     VALUES (?, ?, ?, 'present', ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(node)
                .bind(*tag)
                .bind(kind)
                .bind(now)
                .bind(intent.and_then(|i| i.created_by.clone()))
                .bind(intent.and_then(|i| i.job_id))
                .bind(note)
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        touched.insert(snapshot_id);
        for (ti, sdir) in entries {
            let t = &scan.tables[*ti];
            let data_dir = t.data_dir.display().to_string();
            let (size, exclusive, shared, exclusive_inodes) = holds
                .snapshots
                .get(*tag)
                .and_then(|h| h.tables.get(ti))
                .copied()
                .unwrap_or_default();
            let files = sdir.files.files.len() as i64;
            let existing: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(
                "SELECT id, files, size_bytes, row_count_method FROM snapshot_tables \
                 WHERE snapshot_id = ? AND table_id = ? AND data_dir = ?",
            )
            .bind(snapshot_id)
            .bind(&t.id)
            .bind(&data_dir)
            .fetch_optional(&mut *tx)
            .await?;
            let row_id = match existing {
                None => {
                    let meta = read_meta(&sdir.path).await;
                    let (_, tag_time, _) = classify(tag, Some(&t.keyspace));
                    let created = meta.created_at.or(tag_time).or(meta.mtime).unwrap_or(now);
                    // Rows Snapkeep counted as it took the snapshot, else what the
                    // snapshot's own SSTables record (Cassandra's TRUNCATE and DROP
                    // snapshots, tables too large to count).
                    let rows = recorded_rows(
                        intent.and_then(|i| i.row_counts.get(&t.id)).copied(),
                        meta.rows_estimate,
                    );
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, created_at, \
                         expires_at, manifest, schema_cql, row_count, row_count_method, files, size_bytes, exclusive_hold_bytes, shared_hold_bytes, \
                         exclusive_hold_inodes) VALUES (?, ?, ?, ?, ?, 'present', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    )
                    .bind(snapshot_id)
                    .bind(&t.keyspace)
                    .bind(&t.table)
                    .bind(&t.id)
                    .bind(&data_dir)
                    .bind(created)
                    .bind(meta.expires_at)
                    .bind(&meta.manifest)
                    .bind(&meta.schema)
                    .bind(rows.0)
                    .bind(rows.1)
                    .bind(files)
                    .bind(size as i64)
                    .bind(exclusive as i64)
                    .bind(shared as i64)
                    .bind(exclusive_inodes as i64)
                    .fetch_one(&mut *tx)
                    .await?;
                    if meta.ephemeral {
                        sqlx::query(
                            "UPDATE snapshots SET note = coalesce(note, 'Ephemeral snapshot (taken by a repair; Cassandra removes it).') WHERE id = ?",
                        )
                        .bind(snapshot_id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    insert_files(&mut tx, id, &sdir.files.files).await?;
                    id
                }
                Some((id, old_files, old_size, method)) => {
                    if old_files != files || old_size != size as i64 {
                        sqlx::query("DELETE FROM snapshot_files WHERE snapshot_table_id = ?")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        insert_files(&mut tx, id, &sdir.files.files).await?;
                    }
                    let counted = intent.and_then(|i| i.row_counts.get(&t.id)).copied();
                    let rows = if counted.is_some() {
                        Some(recorded_rows(counted, None))
                    } else if method.is_none() || intent.is_some() {
                        // Recorded before Snapkeep read SSTables' metadata: read it once. Or
                        // Snapkeep has just taken it and a scan recorded it while nodetool was
                        // still linking its files: read its metadata again, now complete.
                        let dir = sdir.path.clone();
                        let found = tokio::task::spawn_blocking(move || {
                            crate::node::sstable_stats::estimated_rows(&dir)
                        })
                        .await
                        .ok()
                        .flatten();
                        Some(recorded_rows(None, found))
                    } else {
                        None
                    };
                    sqlx::query(
                        "UPDATE snapshot_tables SET status = 'present', files = ?, size_bytes = ?, exclusive_hold_bytes = ?, \
                         shared_hold_bytes = ?, exclusive_hold_inodes = ?, row_count = coalesce(?, row_count), row_count_method = coalesce(?, row_count_method) \
                         WHERE id = ?",
                    )
                    .bind(files)
                    .bind(size as i64)
                    .bind(exclusive as i64)
                    .bind(shared as i64)
                    .bind(exclusive_inodes as i64)
                    .bind(rows.and_then(|r| r.0))
                    .bind(rows.map(|r| r.1))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    id
                }
            };
            seen_rows.insert(row_id);
        }
    }

    // Table directories of present snapshots that this scan covers but did not find.
    let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT st.id, st.snapshot_id, st.table_id, st.data_dir, s.tag FROM snapshot_tables st \
         JOIN snapshots s ON s.id = st.snapshot_id \
         WHERE s.node = ?1 AND s.status = 'present' AND st.status = 'present' AND (?2 OR s.measured_at <= ?3)",
    )
    .bind(node)
    .bind(matches!(opts.scope, Scope::Tables(_)))
    .bind(opts.observed_at)
    .fetch_all(&mut *tx)
    .await?;
    for (id, snapshot_id, table_id, data_dir, tag) in rows {
        if seen_rows.contains(&id)
            || !opts.scope.covers(&table_id)
            || failed_dirs.contains(&data_dir)
        {
            continue;
        }
        let status = if opts.clearing == Some(tag.as_str()) {
            "cleared"
        } else {
            "gone"
        };
        sqlx::query("UPDATE snapshot_tables SET status = ? WHERE id = ?")
            .bind(status)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        touched.insert(snapshot_id);
    }

    for id in touched {
        let present_tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM snapshot_tables WHERE snapshot_id = ? AND status = 'present'",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if present_tables == 0 {
            // Gone: keep the last figures for the history.
            let tag: String = sqlx::query_scalar("SELECT tag FROM snapshots WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let status = if opts.clearing == Some(tag.as_str()) {
                "cleared"
            } else {
                "gone"
            };
            sqlx::query("UPDATE snapshots SET status = ?, gone_at = ? WHERE id = ?")
                .bind(status)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            out.vanished += 1;
            continue;
        }
        sqlx::query(
            "UPDATE snapshots SET \
               table_count = (SELECT count(DISTINCT keyspace_name || '.' || table_name) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               files = (SELECT coalesce(sum(files), 0) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               size_bytes = (SELECT coalesce(sum(size_bytes), 0) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               exclusive_hold_bytes = (SELECT coalesce(sum(exclusive_hold_bytes), 0) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               exclusive_hold_inodes = (SELECT coalesce(sum(exclusive_hold_inodes), 0) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               shared_hold_bytes = (SELECT coalesce(sum(shared_hold_bytes), 0) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               tables = (SELECT coalesce(group_concat(n, ','), '') FROM (SELECT DISTINCT keyspace_name || '.' || table_name AS n \
                         FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present' ORDER BY n)), \
               created_at = coalesce((SELECT min(created_at) FROM snapshot_tables WHERE snapshot_id = ?1), created_at), \
               expires_at = (SELECT max(expires_at) FROM snapshot_tables WHERE snapshot_id = ?1 AND status = 'present'), \
               measured_at = ?2 \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::recorded_rows;

    #[test]
    fn rows_are_counted_else_estimated_else_unknown() {
        assert_eq!(
            recorded_rows(Some((10, "count")), Some(12)),
            (Some(10), "count")
        );
        assert_eq!(recorded_rows(None, Some(12)), (Some(12), "sstables"));
        assert_eq!(recorded_rows(None, None), (None, "unknown"));
        assert_eq!(recorded_rows(None, Some(u64::MAX)), (None, "unknown"));
    }
}
