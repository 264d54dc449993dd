//! The dry run of a restore: which snapshot files go where, whether they can be hard-linked
//! (same filesystem) or must be copied, the disk and inode headroom afterwards, the safety
//! snapshot, the expected row count, the schema check and the steps. Nothing is changed by
//! planning. The plan's hash binds an approval to exactly this plan.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use sha2::Digest as _;
use sqlx::SqlitePool;

pub use app::api::{Headroom, Plan, PlanFile, RestoreInput, TablePlan, Target};

use super::RestoreError;
use super::schema::{self, SchemaCheck, Verdict};
use crate::cassandra::cql::Schema;
use crate::config::NodeConfig;
use crate::disk::{fs_stats, snapshot_dir};

/// The hash an approval binds to: the snapshot's files, the tables and their ids, the
/// schema check, the target and options, and whether headroom suffices.
pub fn plan_hash(plan: &Plan) -> String {
    let view = serde_json::json!({
        "node": plan.node, "tag": plan.tag, "target": plan.target, "truncate": plan.truncate,
        "safety_tag": plan.safety_tag, "blocked": plan.blocked,
        "headroom_ok": plan.headroom.iter().map(|h| (&h.data_dir, h.ok)).collect::<Vec<_>>(),
        "tables": plan.tables.iter().map(|t| serde_json::json!({
            "ks": t.keyspace, "t": t.table, "src": t.source_dir, "id": t.source_table_id,
            "target": [&t.target_keyspace, &t.target_table, &t.target_table_id],
            "files": t.files, "hard_link": t.hard_link, "schema": t.schema_check,
        })).collect::<Vec<_>>(),
    });
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
}

/// Files of a snapshot directory now: regular files except its manifest and schema.
pub fn snapshot_files(dir: &Path) -> Result<Vec<PlanFile>, std::io::Error> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let m = std::fs::symlink_metadata(e.path())?;
        if !m.is_file() || name == "manifest.json" || name == "schema.cql" {
            continue;
        }
        files.push(PlanFile {
            name,
            size: m.len(),
            inode: m.ino(),
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Makes the plan (see the module documentation).
pub async fn make(ctx: &PlanContext<'_>, input: &RestoreInput) -> Result<Plan, RestoreError> {
    let node = ctx.node;
    type Row = (String, String, String, String, Option<i64>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT st.keyspace_name, st.table_name, st.table_id, st.data_dir, st.row_count, st.row_count_method \
         FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id \
         WHERE s.node = ? AND s.tag = ? AND s.status = 'present' AND st.status = 'present' \
         ORDER BY st.keyspace_name, st.table_name",
    )
    .bind(&node.name)
    .bind(&input.snapshot)
    .fetch_all(ctx.pool)
    .await?;
    if rows.is_empty() {
        return Err(RestoreError::NotFound(format!(
            "no snapshot `{}` on node {} (run a scan if it was just taken)",
            input.snapshot, node.name
        )));
    }
    let wanted: Vec<(String, String)> = if input.tables.is_empty() {
        rows.iter().map(|r| (r.0.clone(), r.1.clone())).collect()
    } else {
        let mut w = Vec::new();
        for t in &input.tables {
            let (ks, name) = t.split_once('.').ok_or_else(|| {
                RestoreError::bad(
                    "tables",
                    format!("`{t}` is not a table name: write keyspace.table"),
                )
            })?;
            if !rows.iter().any(|r| r.0 == ks && r.1 == name) {
                return Err(RestoreError::NotFound(format!(
                    "snapshot `{}` has no table {t}",
                    input.snapshot
                )));
            }
            w.push((ks.to_string(), name.to_string()));
        }
        w
    };
    if input.target == Target::InPlace && input.side_keyspace.is_some() {
        return Err(RestoreError::bad(
            "side_keyspace",
            "side_keyspace is for target `side` only",
        ));
    }
    if input.target == Target::Side && input.truncate {
        return Err(RestoreError::bad(
            "truncate",
            "truncate is for an in-place restore only",
        ));
    }
    let stamp = app::api::format_compact_utc(ctx.now_ms).to_ascii_lowercase();
    let safety_tag = match input.target {
        Target::InPlace => Some(
            ctx.previous
                .and_then(|p| p.safety_tag.clone())
                .unwrap_or_else(|| {
                    format!("{}{stamp}", crate::snapshots::validate::PRE_RESTORE_PREFIX)
                }),
        ),
        Target::Side => None,
    };
    let staging_name = safety_tag
        .clone()
        .unwrap_or_else(|| format!("snapkeep-side-{stamp}"));
    let mut tables = Vec::new();
    for (ks, t) in &wanted {
        let Some(r) = rows.iter().find(|r| r.0 == *ks && r.1 == *t) else {
            continue;
        };
        let data_dir = PathBuf::from(&r.3);
        let source = snapshot_dir(&node.data_dirs, &data_dir, ks, t, &r.2, &input.snapshot)
            .map_err(|e| RestoreError::Conflict(e.to_string()))?;
        let files = snapshot_files(&source).map_err(|e| {
            RestoreError::Conflict(format!(
                "the files of snapshot `{}` for {ks}.{t} cannot be read at {}: {e}",
                input.snapshot,
                source.display()
            ))
        })?;
        let schema_text = std::fs::read_to_string(source.join("schema.cql")).map_err(|e| {
            RestoreError::Conflict(format!(
                "snapshot `{}` has no readable schema.cql for {ks}.{t}: {e}",
                input.snapshot
            ))
        })?;
        let snap_schema =
            schema::parse(&schema_text).map_err(|e| RestoreError::Conflict(e.to_string()))?;
        let (target_keyspace, target_table, target_table_id, check) = match input.target {
            Target::InPlace => {
                let live = ctx.live.table(ks, t);
                let check = schema::compare(&snap_schema, live, ctx.live);
                (ks.clone(), t.clone(), live.map(|l| l.dir_id()), check)
            }
            Target::Side => {
                let side_ks = input.side_keyspace.clone().unwrap_or_else(|| ks.clone());
                if !ctx.live.keyspaces.contains(&side_ks) {
                    return Err(RestoreError::NotFound(format!(
                        "keyspace `{side_ks}` does not exist; create it first"
                    )));
                }
                let name = ctx
                    .previous
                    .and_then(|p| p.tables.iter().find(|x| x.keyspace == *ks && x.table == *t))
                    .map(|x| x.target_table.clone())
                    .unwrap_or_else(|| {
                        let base: String = t.chars().take(30).collect();
                        format!("{base}_restored_{}", &stamp[..15.min(stamp.len())])
                    });
                if ctx.previous.is_none() && ctx.live.table(&side_ks, &name).is_some() {
                    return Err(RestoreError::Conflict(format!(
                        "table {side_ks}.{name} exists already"
                    )));
                }
                let existing = ctx.live.table(&side_ks, &name).map(|l| l.dir_id());
                let check = SchemaCheck {
                    verdict: Verdict::Compatible,
                    differences: Vec::new(),
                };
                (side_ks, name, existing, check)
            }
        };
        // `nodetool import` reads the keyspace and table from the two directories above the
        // files, so staging ends in `<target keyspace>/<target table>`.
        let staging = data_dir
            .join(super::STAGING_DIR)
            .join(&staging_name)
            .join(&target_keyspace)
            .join(&target_table);
        let same_fs = match (std::fs::metadata(&source), std::fs::metadata(&data_dir)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev(),
            _ => false,
        };
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        tables.push(TablePlan {
            keyspace: ks.clone(),
            table: t.clone(),
            source_table_id: r.2.clone(),
            data_dir: r.3.clone(),
            source_dir: source.display().to_string(),
            target_keyspace,
            target_table,
            target_table_id,
            staging_dir: staging.display().to_string(),
            sstables: files
                .iter()
                .filter(|f| f.name.ends_with("-Data.db"))
                .count() as u64,
            bytes,
            hard_link: same_fs,
            bytes_to_copy: if same_fs { 0 } else { bytes },
            files,
            expected_rows: r.4,
            expected_rows_method: r.5.clone(),
            schema_check: check,
            schema_cql: schema_text,
        });
    }
    // Headroom per data directory after the restore.
    let mut headroom = Vec::new();
    let mut dirs: Vec<&String> = tables.iter().map(|t| &t.data_dir).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let need_bytes: u64 = tables
            .iter()
            .filter(|t| t.data_dir == *d)
            .map(|t| t.bytes_to_copy)
            .sum();
        let need_inodes: u64 = tables
            .iter()
            .filter(|t| t.data_dir == *d && !t.hard_link)
            .map(|t| t.files.len() as u64)
            .sum();
        match fs_stats(Path::new(d)) {
            Ok(fs) => {
                let free_b = fs.avail_bytes.saturating_sub(need_bytes);
                let free_i = fs.free_inodes.saturating_sub(need_inodes);
                let pct = |free: u64, total: u64| (free * 100).checked_div(total).unwrap_or(100);
                let (pb, pi) = (pct(free_b, fs.total_bytes), pct(free_i, fs.total_inodes));
                headroom.push(Headroom {
                    data_dir: d.clone(),
                    total_bytes: fs.total_bytes,
                    free_bytes_after: free_b,
                    total_inodes: fs.total_inodes,
                    free_inodes_after: free_i,
                    free_bytes_pct: pb,
                    free_inodes_pct: pi,
                    ok: pb >= ctx.min_free_pct && (fs.total_inodes == 0 || pi >= ctx.min_free_pct),
                });
            }
            Err(e) => {
                return Err(RestoreError::Conflict(format!(
                    "cannot read the filesystem of {d}: {e}"
                )));
            }
        }
    }
    let mut blocked = Vec::new();
    let verdict = tables
        .iter()
        .map(|t| t.schema_check.verdict)
        .max_by_key(|v| match v {
            Verdict::Compatible => 0,
            Verdict::CompatibleWithWarnings => 1,
            Verdict::Incompatible => 2,
        })
        .unwrap_or(Verdict::Compatible);
    if input.target == Target::InPlace && verdict == Verdict::Incompatible {
        blocked.push(
            "The schema changed incompatibly since the snapshot: an in-place restore is blocked. Restore into a side table instead (target `side`)."
                .to_string(),
        );
    }
    for h in headroom.iter().filter(|h| !h.ok) {
        blocked.push(format!(
            "Too little room on the filesystem of {} after the restore ({} % bytes, {} % inodes free; at least {} % needed).",
            h.data_dir, h.free_bytes_pct, h.free_inodes_pct, ctx.min_free_pct
        ));
    }
    let mut steps = vec!["check".to_string()];
    match input.target {
        Target::InPlace => {
            steps.push("safety_snapshot".into());
            if input.truncate {
                steps.push("truncate".into());
            }
        }
        Target::Side => steps.push("create_tables".into()),
    }
    for t in &tables {
        let name = format!("{}.{}", t.keyspace, t.table);
        steps.push(format!("stage {name}"));
        steps.push(format!("import {name}"));
        steps.push(format!("cleanup {name}"));
    }
    steps.push("verify".into());
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
    })
}
