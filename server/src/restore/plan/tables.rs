//! The plan of each table: where its snapshot files are, whether they can be hard-linked,
//! where they are staged (or, for a full node, linked), and how its schema compares.

use std::path::PathBuf;

use super::select::Row;
use super::{PlanContext, RestoreInput, SchemaCheck, TablePlan, Target, Verdict};
use crate::node::aside::ASIDE_DIR;
use crate::node::{Node, TableRef};
use crate::restore::RestoreError;
use crate::restore::schema;

/// Plans every wanted table; what blocks a full-node restore goes into `blocked`.
pub fn plan_tables(
    ctx: &PlanContext<'_>,
    input: &RestoreInput,
    rows: &[Row],
    wanted: &[(String, String)],
    stamp: &str,
    staging_name: &str,
    blocked: &mut Vec<String>,
) -> Result<Vec<TablePlan>, RestoreError> {
    let rebuild = ctx.rebuilds(input);
    let node = ctx.node;
    let on_node = Node::local(node);
    let full_node = input.target == Target::FullNode;
    let mut tables = Vec::new();
    for (ks, t) in wanted {
        let Some(r) = rows.iter().find(|r| r.0 == *ks && r.1 == *t) else {
            continue;
        };
        let data_dir = PathBuf::from(&r.3);
        let table_ref = TableRef {
            data_dir: data_dir.clone(),
            keyspace: ks.clone(),
            table: t.clone(),
            table_id: r.2.clone(),
        };
        let from_store = ctx.store_source.and_then(|s| {
            s.tables
                .iter()
                .find(|x| x.keyspace == *ks && x.table == *t && x.table_id == r.2)
        });
        let (source, files, schema_text, backup_files) = match from_store {
            Some(st) => (
                crate::restore::source::download_dir(&data_dir, staging_name, st),
                st.files.clone(),
                st.schema_cql.clone(),
                st.backup_files,
            ),
            None => {
                let source = on_node
                    .snapshot_dir(&table_ref, &input.snapshot)
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
                (source, files, schema_text, 0)
            }
        };
        // A rebuilt node's schema comes from its system_schema tables (and a system table's
        // snapshot has no CREATE TABLE to read).
        let snap_schema = if rebuild && input.target == Target::FullNode {
            None
        } else {
            Some(schema::parse(&schema_text).map_err(|e| RestoreError::Conflict(e.to_string()))?)
        };
        let (target_keyspace, target_table, target_table_id, check) = match input.target {
            // The node's schema comes back with its system_schema tables: each table is the
            // snapshot's own.
            Target::FullNode if rebuild => (
                ks.clone(),
                t.clone(),
                Some(r.2.clone()),
                SchemaCheck {
                    verdict: Verdict::Compatible,
                    differences: Vec::new(),
                },
            ),
            Target::InPlace | Target::FullNode => {
                let Some(snap_schema) = &snap_schema else {
                    return Err(RestoreError::Conflict(format!(
                        "no schema was read for {ks}.{t}"
                    )));
                };
                let live = ctx.live.table(ks, t);
                let check = schema::compare(snap_schema, live, ctx.live);
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
                .table_dir(&table_ref)
                .map_err(|e| RestoreError::Conflict(e.to_string()))?;
            if !rebuild {
                aside_dir = Some(dir.join(ASIDE_DIR).join(staging_name).display().to_string());
            }
            dir
        } else {
            data_dir
                .join(crate::restore::STAGING_DIR)
                .join(staging_name)
                .join(&target_keyspace)
                .join(&target_table)
        };
        // Downloaded files land on the table's own filesystem.
        let same_fs = from_store.is_some() || on_node.same_filesystem(&source, &data_dir);
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
            download_bytes: if from_store.is_some() { bytes } else { 0 },
            backup_files,
        });
    }
    Ok(tables)
}
