//! The dry run of a restore: which snapshot files go where, whether they can be hard-linked
//! (same filesystem) or must be copied, the disk and inode headroom afterwards, the safety
//! snapshot, the expected row count, the schema check and the steps. Nothing is changed by
//! planning. The plan's hash binds an approval to exactly this plan.
//!
//! A full-node restore (target `full_node`) puts back every table of the snapshot on one node
//! with the node stopped; it is blocked unless the node can be stopped and started (dev-node
//! launcher or `stop_command`/`start_command`), its commit log directory is known, and every
//! table's schema still matches.

use std::path::{Path, PathBuf};

use sha2::Digest as _;
use sqlx::SqlitePool;

pub use app::api::{Headroom, Plan, PlanFile, RestoreInput, TablePlan, Target};

use super::RestoreError;
use super::schema::{self, SchemaCheck, Verdict};
use crate::cassandra::cql::{Schema, Topology};
use crate::node::aside::ASIDE_DIR;
use crate::node::{Node, NodeConfig};

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
}

/// Keyspaces that hold the node's own state; a full-node restore leaves them alone.
pub const SYSTEM_KEYSPACES: &[&str] = &[
    "system",
    "system_schema",
    "system_auth",
    "system_distributed",
    "system_traces",
    "system_views",
    "system_virtual_schema",
    "system_cluster_metadata",
];

/// What the other replicas mean for an in-place restore of one node: TRUNCATE removes rows on
/// every node while only this node's snapshot is put back, so it is blocked unless this node
/// is the only one holding rows of the keyspace; without TRUNCATE the plan says what the other
/// replicas and repair will do.
fn replicas(
    ctx: &PlanContext<'_>,
    input: &RestoreInput,
    tables: &[TablePlan],
    blocked: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let node = &ctx.node.name;
    let mut keyspaces: Vec<&str> = tables.iter().map(|t| t.keyspace.as_str()).collect();
    keyspaces.dedup();
    for ks in keyspaces {
        let names: Vec<String> = tables
            .iter()
            .filter(|t| t.keyspace == ks)
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        let names = names.join(", ");
        match ctx.topology.and_then(|t| t.data_nodes(ks)) {
            Some(n) if n <= 1 => {}
            Some(n) if input.truncate => blocked.push(format!(
                "TRUNCATE removes the rows of {names} on every node, but this restore puts back the snapshot of node {node} only: {n} nodes hold rows of keyspace {ks}, so the rows only the other nodes have would be lost. Restore without truncate, or restore every node that holds {ks} from the same tag in one request."
            )),
            Some(n) => notes.push(format!(
                "Only node {node}'s copy of {names} is put back; {} other node(s) hold rows of keyspace {ks} and keep theirs. Reads and repair reconcile by write time, so rows written or deleted after the snapshot keep their newer state: this restore brings back rows that are missing, it does not roll the table back. Run `nodetool repair {ks}` afterwards so the replicas agree.",
                n - 1
            )),
            None if input.truncate => blocked.push(format!(
                "Cannot tell how many nodes hold rows of keyspace {ks} (the cluster's topology could not be read from node {node}); TRUNCATE removes rows on every node, so a restore with truncate is blocked until it can be read."
            )),
            None => notes.push(format!(
                "The cluster's topology could not be read from node {node}: if other nodes hold rows of keyspace {ks}, they keep theirs."
            )),
        }
    }
}

/// Four hex digits that keep two safety tags planned in the same second apart.
fn random_suffix() -> String {
    let mut b = [0u8; 2];
    match getrandom::getrandom(&mut b) {
        Ok(()) => hex::encode(b),
        Err(_) => format!("{:04x}", std::process::id() & 0xffff),
    }
}

/// Makes the plan (see the module documentation).
pub async fn make(ctx: &PlanContext<'_>, input: &RestoreInput) -> Result<Plan, RestoreError> {
    let node = ctx.node;
    let on_node = Node::local(node);
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
    let full_node = input.target == Target::FullNode;
    let is_system = |ks: &str| SYSTEM_KEYSPACES.contains(&ks);
    let mut notes = Vec::new();
    let wanted: Vec<(String, String)> = if input.tables.is_empty() {
        let mut w: Vec<(String, String)> = rows
            .iter()
            .filter(|r| !(full_node && is_system(&r.0)))
            .map(|r| (r.0.clone(), r.1.clone()))
            .collect();
        w.dedup();
        let skipped = rows.iter().filter(|r| full_node && is_system(&r.0)).count();
        if skipped > 0 {
            notes.push(format!(
                "The snapshot's {skipped} system table(s) are not restored: the node keeps its own schema, tokens and local state."
            ));
        }
        if w.is_empty() {
            return Err(RestoreError::NotFound(format!(
                "snapshot `{}` on node {} has only system tables; a full-node restore puts back user tables",
                input.snapshot, node.name
            )));
        }
        w
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
            if full_node && is_system(ks) {
                return Err(RestoreError::bad(
                    "tables",
                    format!(
                        "{t} is a system table; a full-node restore puts back user tables only"
                    ),
                ));
            }
            if !w.iter().any(|(k, n)| k == ks && n == name) {
                w.push((ks.to_string(), name.to_string()));
            }
        }
        w
    };
    if input.target != Target::Side && input.side_keyspace.is_some() {
        return Err(RestoreError::bad(
            "side_keyspace",
            "side_keyspace is for target `side` only",
        ));
    }
    if input.target != Target::InPlace && input.truncate {
        return Err(RestoreError::bad(
            "truncate",
            if full_node {
                "truncate is for an in-place restore only; a full-node restore replaces the tables' files, so they hold exactly the snapshot's rows"
            } else {
                "truncate is for an in-place restore only"
            },
        ));
    }
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
    let mut commitlog_aside = None;
    if full_node {
        match crate::node::control::NodeControl::of(node) {
            Ok(c) => notes.push(c.describe()),
            Err(e) => blocked.push(e),
        }
        match crate::node::control::commitlog_dir(node) {
            Ok(dir) => {
                let aside = dir.join(ASIDE_DIR).join(&staging_name);
                notes.push(format!(
                    "Commit log segments are moved to {} (not deleted), so writes made after the snapshot are not replayed; kept like the SSTables set aside.",
                    aside.display()
                ));
                commitlog_aside = Some(aside.display().to_string());
            }
            Err(e) => blocked.push(e),
        }
        if node.data_dirs.len() > 1 {
            blocked.push(format!(
                "Node {} has {} data directories; a full-node restore supports one data directory for now. Restore the tables in place instead.",
                node.name,
                node.data_dirs.len()
            ));
        }
        notes.push(format!(
            "Node {} is down from `stop` until `start`; every table of the node is locked while the restore runs. The live SSTables of each table are moved to <table dir>/{ASIDE_DIR}/{staging_name}/ and kept (never deleted by the restore) until an admin removes them or their keeping time passes.",
            node.name
        ));
    }
    let mut tables = Vec::new();
    for (ks, t) in &wanted {
        let Some(r) = rows.iter().find(|r| r.0 == *ks && r.1 == *t) else {
            continue;
        };
        let data_dir = PathBuf::from(&r.3);
        let source = on_node
            .snapshot_dir(&data_dir, ks, t, &r.2, &input.snapshot)
            .map_err(|e| RestoreError::Conflict(e.to_string()))?;
        let files = on_node.snapshot_files(&source).map_err(|e| {
            RestoreError::Conflict(format!(
                "the files of snapshot `{}` for {ks}.{t} cannot be read at {}: {e}",
                input.snapshot,
                source.display()
            ))
        })?;
        let schema_text = on_node.schema_cql(&source).map_err(|e| {
            RestoreError::Conflict(format!(
                "snapshot `{}` has no readable schema.cql for {ks}.{t}: {e}",
                input.snapshot
            ))
        })?;
        let snap_schema =
            schema::parse(&schema_text).map_err(|e| RestoreError::Conflict(e.to_string()))?;
        let (target_keyspace, target_table, target_table_id, check) = match input.target {
            Target::InPlace | Target::FullNode => {
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
        // files, so staging ends in `<target keyspace>/<target table>`. A full-node restore
        // links straight into the live table's directory (same id as the snapshot's).
        let mut aside_dir = None;
        let staging = if full_node {
            if target_table_id.as_deref() != Some(r.2.as_str()) {
                blocked.push(format!(
                    "{ks}.{t} is not the table the snapshot was taken of (the live table has another id or is gone): restore it into a side table instead."
                ));
            }
            let dir = on_node
                .table_dir(&data_dir, ks, t, &r.2)
                .map_err(|e| RestoreError::Conflict(e.to_string()))?;
            aside_dir = Some(
                dir.join(ASIDE_DIR)
                    .join(&staging_name)
                    .display()
                    .to_string(),
            );
            dir
        } else {
            data_dir
                .join(super::STAGING_DIR)
                .join(&staging_name)
                .join(&target_keyspace)
                .join(&target_table)
        };
        let same_fs = on_node.same_filesystem(&source, &data_dir);
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
            aside_dir,
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
    let mut short = Vec::new();
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
        match on_node.fs_stats(Path::new(d)) {
            Ok(fs) => {
                let free_b = fs.avail_bytes.saturating_sub(need_bytes);
                let free_i = fs.free_inodes.saturating_sub(need_inodes);
                let pct = |free: u64, total: u64| (free * 100).checked_div(total).unwrap_or(100);
                let (pb, pi) = (pct(free_b, fs.total_bytes), pct(free_i, fs.total_inodes));
                // What must be freed first: the copy plus the share that must stay free.
                let keep = |total: u64| {
                    (u128::from(total) * u128::from(ctx.min_free_pct)).div_ceil(100) as u64
                };
                let short_b = (need_bytes + keep(fs.total_bytes)).saturating_sub(fs.avail_bytes);
                let short_i = if fs.total_inodes == 0 {
                    0
                } else {
                    (need_inodes + keep(fs.total_inodes)).saturating_sub(fs.free_inodes)
                };
                if short_b > 0 || short_i > 0 {
                    let mut what = Vec::new();
                    if short_b > 0 {
                        what.push(format!(
                            "{} ({short_b} bytes)",
                            app::api::format_bytes(short_b as i64)
                        ));
                    }
                    if short_i > 0 {
                        what.push(format!("{short_i} inodes"));
                    }
                    short.push(format!(
                        "Too little room on the filesystem of {d}: the restore copies {} in {need_inodes} new files and at least {} % of bytes and inodes must stay free, so {} more must be freed first ({pb} % bytes, {pi} % inodes would be free).",
                        app::api::format_bytes(need_bytes as i64),
                        ctx.min_free_pct,
                        what.join(" and ")
                    ));
                }
                headroom.push(Headroom {
                    data_dir: d.clone(),
                    total_bytes: fs.total_bytes,
                    free_bytes_after: free_b,
                    total_inodes: fs.total_inodes,
                    free_inodes_after: free_i,
                    free_bytes_pct: pb,
                    free_inodes_pct: pi,
                    ok: short_b == 0 && short_i == 0,
                });
            }
            Err(e) => {
                return Err(RestoreError::Conflict(format!(
                    "cannot read the filesystem of {d}: {e}"
                )));
            }
        }
    }
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
    if full_node && verdict == Verdict::Incompatible {
        let names: Vec<String> = tables
            .iter()
            .filter(|t| t.schema_check.verdict == Verdict::Incompatible)
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        blocked.push(format!(
            "The schema of {} changed incompatibly since the snapshot: a full-node restore needs every table's schema to match. Restore those tables into side tables (target `side`), or leave them out with `tables`.",
            names.join(", ")
        ));
    }
    if input.target == Target::InPlace {
        replicas(ctx, input, &tables, &mut blocked, &mut notes);
    }
    blocked.extend(short);
    let mut steps = vec!["check".to_string()];
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{}.{}", t.keyspace, t.table))
        .collect();
    // Nothing destructive before the data to put back is safe: every table is staged and its
    // staged files checked against the snapshot before TRUNCATE.
    match input.target {
        Target::InPlace => {
            steps.push("safety_snapshot".into());
            steps.extend(names.iter().map(|n| format!("stage {n}")));
            if input.truncate {
                steps.push("truncate".into());
            }
        }
        Target::Side => {
            steps.push("create_tables".into());
            steps.extend(names.iter().map(|n| format!("stage {n}")));
        }
        Target::FullNode => {
            steps.extend(["safety_snapshot", "drain", "stop"].map(String::from));
            steps.extend(names.iter().map(|n| format!("move_aside {n}")));
            steps.push("clear_commitlog".into());
            steps.extend(names.iter().map(|n| format!("link {n}")));
            steps.extend(["start", "wait_cql", "verify", "keep_aside"].map(String::from));
        }
    }
    if !full_node {
        for name in &names {
            steps.push(format!("import {name}"));
            steps.push(format!("cleanup {name}"));
        }
        steps.push("verify".into());
    }
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassandra::cql::{Column, TableSchema};

    const ID: &str = "e404cfd0-e859-11f1-927d-4585d0360deb";

    fn col(name: &str, kind: &str, position: i32, ty: &str) -> Column {
        Column {
            name: name.into(),
            kind: kind.into(),
            position,
            cql_type: ty.into(),
            clustering_order: "none".into(),
        }
    }

    /// A catalog with snapshot `nightly` of shop.t (one SSTable file on disk) and the live
    /// schema of the same table.
    async fn setup(dir: &Path) -> (crate::catalog::Catalog, PathBuf, Schema) {
        let id = uuid::Uuid::parse_str(ID).expect("uuid");
        let data = dir.join("data");
        let snap = data
            .join("shop")
            .join(format!("t-{}", id.simple()))
            .join("snapshots")
            .join("nightly");
        std::fs::create_dir_all(&snap).expect("mkdir");
        std::fs::write(snap.join("nb-1-big-Data.db"), vec![7u8; 1000]).expect("write");
        std::fs::write(
            snap.join("schema.cql"),
            format!("CREATE TABLE IF NOT EXISTS shop.t (\n    id int PRIMARY KEY,\n    v text\n) WITH ID = {ID};\n"),
        )
        .expect("write");
        let catalog = crate::catalog::Catalog::open(&dir.join("catalog.db"))
            .await
            .expect("catalog");
        let sid: i64 = sqlx::query_scalar(
            "INSERT INTO snapshots (node, tag, kind, status, created_at, first_seen_at, measured_at) \
             VALUES ('n1', 'nightly', 'manual', 'present', 1, 1, 1) RETURNING id",
        )
        .fetch_one(catalog.pool())
        .await
        .expect("snapshot row");
        sqlx::query(
            "INSERT INTO snapshot_tables (snapshot_id, keyspace_name, table_name, table_id, data_dir, status, row_count, row_count_method) \
             VALUES (?, 'shop', 't', ?, ?, 'present', 10, 'count')",
        )
        .bind(sid)
        .bind(id.simple().to_string())
        .bind(data.display().to_string())
        .execute(catalog.pool())
        .await
        .expect("table row");
        let live = Schema {
            keyspaces: vec!["shop".into()],
            tables: vec![TableSchema {
                keyspace: "shop".into(),
                table: "t".into(),
                id,
                columns: vec![
                    col("id", "partition_key", 0, "int"),
                    col("v", "regular", -1, "text"),
                ],
                dropped: Vec::new(),
                indexes: Vec::new(),
            }],
            types: Vec::new(),
        };
        (catalog, data, live)
    }

    fn full_node() -> RestoreInput {
        RestoreInput {
            snapshot: "nightly".into(),
            node: None,
            tables: Vec::new(),
            target: Target::FullNode,
            side_keyspace: None,
            truncate: false,
            reason: String::new(),
        }
    }

    async fn plan_for(pool: &SqlitePool, node: &NodeConfig, live: &Schema) -> Plan {
        let ctx = PlanContext {
            pool,
            node,
            live,
            min_free_pct: 0,
            previous: None,
            now_ms: 1_764_000_000_000,
            topology: None,
        };
        make(&ctx, &full_node()).await.expect("plan")
    }

    #[tokio::test]
    async fn a_full_node_restore_is_blocked_until_the_node_can_be_stopped_and_its_commit_log_is_known()
     {
        let dir = tempfile::tempdir().expect("tempdir");
        let (catalog, data, live) = setup(dir.path()).await;
        let mut node = NodeConfig::new("n1", vec![data.clone()]);

        let p = plan_for(catalog.pool(), &node, &live).await;
        assert_eq!(p.blocked.len(), 2, "{:?}", p.blocked);
        assert!(
            p.blocked[0].contains("cannot be stopped and started")
                && p.blocked[0].contains("`stop_command` and `start_command`"),
            "{}",
            p.blocked[0]
        );
        assert!(
            p.blocked[1].contains("commit log directory of node n1 is unknown")
                && p.blocked[1].contains("`commitlog_dir`"),
            "{}",
            p.blocked[1]
        );

        // A dev-node directory without node.json cannot be restarted either.
        node.dev_node_dir = Some(dir.path().join("no-node"));
        let p = plan_for(catalog.pool(), &node, &live).await;
        assert!(
            p.blocked.iter().any(|b| b.contains("dev-node launcher")),
            "{:?}",
            p.blocked
        );

        // A commit log directory that does not exist is named.
        node.commitlog_dir = Some(dir.path().join("missing-commitlog"));
        let p = plan_for(catalog.pool(), &node, &live).await;
        assert!(
            p.blocked
                .iter()
                .any(|b| b.contains("missing-commitlog") && b.contains("not an existing directory")),
            "{:?}",
            p.blocked
        );

        // Configured: runs, with every step and the aside paths under the node's own dirs.
        let commitlog = dir.path().join("commitlog");
        std::fs::create_dir_all(&commitlog).expect("mkdir");
        node.dev_node_dir = None;
        node.commitlog_dir = Some(commitlog.clone());
        node.stop_command = Some(vec!["systemctl".into(), "stop".into(), "cassandra".into()]);
        node.start_command = Some(vec!["systemctl".into(), "start".into(), "cassandra".into()]);
        let p = plan_for(catalog.pool(), &node, &live).await;
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        assert_eq!(
            p.steps,
            [
                "check",
                "safety_snapshot",
                "drain",
                "stop",
                "move_aside shop.t",
                "clear_commitlog",
                "link shop.t",
                "start",
                "wait_cql",
                "verify",
                "keep_aside"
            ]
        );
        let tag = p.safety_tag.clone().expect("safety tag");
        let table_dir = data.join("shop").join("t-e404cfd0e85911f1927d4585d0360deb");
        assert_eq!(p.tables[0].staging_dir, table_dir.display().to_string());
        assert_eq!(
            p.tables[0].aside_dir.as_deref(),
            Some(&*table_dir.join(ASIDE_DIR).join(&tag).to_string_lossy())
        );
        assert_eq!(
            p.commitlog_aside.as_deref(),
            Some(&*commitlog.join(ASIDE_DIR).join(&tag).to_string_lossy())
        );
        assert!(p.tables[0].hard_link && p.tables[0].bytes_to_copy == 0);
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("`systemctl stop cassandra`")),
            "{:?}",
            p.notes
        );

        // The schema must match: a re-created table blocks.
        let mut changed = live.clone();
        changed.tables[0].id = uuid::Uuid::nil();
        let p = plan_for(catalog.pool(), &node, &changed).await;
        assert!(
            p.blocked.iter().any(|b| b.contains("changed incompatibly")),
            "{:?}",
            p.blocked
        );

        // Options of other targets are refused.
        let ctx = PlanContext {
            pool: catalog.pool(),
            node: &node,
            live: &live,
            min_free_pct: 0,
            previous: None,
            now_ms: 1,
            topology: None,
        };
        let input = RestoreInput {
            truncate: true,
            ..full_node()
        };
        let err = make(&ctx, &input).await.expect_err("truncate refused");
        assert!(err.to_string().contains("truncate"), "{err}");
    }

    fn topology(nodes: &[(&str, &str)], ks: &str, replication: &[(&str, &str)]) -> Topology {
        Topology {
            nodes: nodes
                .iter()
                .map(|(a, d)| (a.to_string(), d.to_string()))
                .collect(),
            replication: [(
                ks.to_string(),
                replication
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn every_node_of_a_data_center_with_replicas_holds_rows() {
        let simple = |rf: &str| {
            topology(
                &[("local", "dc1"), ("10.0.0.2", "dc1"), ("10.0.0.3", "dc1")],
                "ks",
                &[
                    ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                    ("replication_factor", rf),
                ],
            )
        };
        // RF 1 on three nodes: each node owns a third of the rows, so all three hold rows.
        assert_eq!(simple("1").data_nodes("ks"), Some(3));
        assert_eq!(simple("3").data_nodes("ks"), Some(3));
        assert_eq!(simple("0").data_nodes("ks"), Some(0));
        assert_eq!(simple("1").data_nodes("other"), None);
        let nts = topology(
            &[("local", "dc1"), ("10.0.0.2", "dc1"), ("10.1.0.1", "dc2")],
            "ks",
            &[
                (
                    "class",
                    "org.apache.cassandra.locator.NetworkTopologyStrategy",
                ),
                ("dc1", "2"),
                ("dc2", "0"),
            ],
        );
        assert_eq!(nts.data_nodes("ks"), Some(2));
        let single = topology(
            &[("local", "datacenter1")],
            "ks",
            &[
                (
                    "class",
                    "org.apache.cassandra.locator.NetworkTopologyStrategy",
                ),
                ("datacenter1", "3"),
            ],
        );
        assert_eq!(single.data_nodes("ks"), Some(1));
    }

    async fn in_place(
        pool: &SqlitePool,
        node: &NodeConfig,
        live: &Schema,
        topology: Option<&Topology>,
        truncate: bool,
        min_free_pct: u64,
    ) -> Plan {
        let ctx = PlanContext {
            pool,
            node,
            live,
            min_free_pct,
            previous: None,
            now_ms: 1_764_000_000_000,
            topology,
        };
        let input = RestoreInput {
            target: Target::InPlace,
            truncate,
            ..full_node()
        };
        make(&ctx, &input).await.expect("plan")
    }

    #[tokio::test]
    async fn truncate_is_blocked_unless_this_node_is_the_only_one_holding_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (catalog, data, live) = setup(dir.path()).await;
        let node = NodeConfig::new("n1", vec![data]);
        let pool = catalog.pool();
        let three = topology(
            &[("local", "dc1"), ("127.0.0.2", "dc1"), ("127.0.0.3", "dc1")],
            "shop",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "3"),
            ],
        );
        let p = in_place(pool, &node, &live, Some(&three), true, 0).await;
        assert!(
            p.blocked.iter().any(|b| b
                .contains("TRUNCATE removes the rows of shop.t on every node")
                && b.contains("3 nodes hold rows of keyspace shop")),
            "{:?}",
            p.blocked
        );
        // Without TRUNCATE: allowed, with what the other replicas and repair will do.
        let p = in_place(pool, &node, &live, Some(&three), false, 0).await;
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("2 other node(s) hold rows of keyspace shop")
                    && n.contains("nodetool repair shop")),
            "{:?}",
            p.notes
        );
        // Unknown topology: TRUNCATE is blocked, a plain restore goes on with a note.
        let p = in_place(pool, &node, &live, None, true, 0).await;
        assert!(
            p.blocked
                .iter()
                .any(|b| b.contains("Cannot tell how many nodes")),
            "{:?}",
            p.blocked
        );
        // One node: TRUNCATE is fine, and every table is staged before it.
        let one = topology(
            &[("local", "dc1")],
            "shop",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "1"),
            ],
        );
        let p = in_place(pool, &node, &live, Some(&one), true, 0).await;
        assert!(p.blocked.is_empty(), "{:?}", p.blocked);
        assert_eq!(
            p.steps,
            [
                "check",
                "safety_snapshot",
                "stage shop.t",
                "truncate",
                "import shop.t",
                "cleanup shop.t",
                "verify"
            ]
        );
        let tag = p.safety_tag.expect("safety tag");
        assert!(
            tag.starts_with(crate::snapshots::validate::PRE_RESTORE_PREFIX),
            "{tag}"
        );
    }

    #[tokio::test]
    async fn too_little_headroom_blocks_and_says_how_much_must_be_freed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (catalog, data, live) = setup(dir.path()).await;
        let node = NodeConfig::new("n1", vec![data]);
        let one = topology(
            &[("local", "dc1")],
            "shop",
            &[
                ("class", "org.apache.cassandra.locator.SimpleStrategy"),
                ("replication_factor", "1"),
            ],
        );
        // Every byte must stay free: no filesystem in use can give that.
        let p = in_place(catalog.pool(), &node, &live, Some(&one), false, 100).await;
        let b = p
            .blocked
            .iter()
            .find(|b| b.contains("Too little room"))
            .unwrap_or_else(|| panic!("{:?}", p.blocked));
        assert!(
            b.contains("more must be freed first") && b.contains("bytes)"),
            "{b}"
        );
        assert!(!p.headroom[0].ok);
        let p = in_place(catalog.pool(), &node, &live, Some(&one), false, 0).await;
        assert!(p.headroom[0].ok && p.blocked.is_empty(), "{:?}", p.blocked);
    }
}
