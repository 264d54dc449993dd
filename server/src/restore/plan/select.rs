//! Which tables of the snapshot a restore puts back, read from the catalog, and the checks of
//! the request's options against its target.

use super::{PlanContext, RestoreInput, SYSTEM_KEYSPACES, Target};
use crate::node::NodeConfig;
use crate::restore::RestoreError;

/// One table of the snapshot as the catalog has it: keyspace, table, table id, data
/// directory, row count and how it was counted.
pub type Row = (String, String, String, String, Option<i64>, Option<String>);

/// The snapshot's present tables on the node; an error when there are none.
pub async fn snapshot_rows(
    ctx: &PlanContext<'_>,
    input: &RestoreInput,
) -> Result<Vec<Row>, RestoreError> {
    let node = ctx.node;
    if let Some(src) = ctx.store_source {
        return Ok(src
            .tables
            .iter()
            .map(|t| {
                let dir = crate::node::backups::home_data_dir(
                    &node.data_dirs,
                    &t.keyspace,
                    &format!("{}-{}", t.table, t.table_id),
                )
                .unwrap_or_default();
                (
                    t.keyspace.clone(),
                    t.table.clone(),
                    t.table_id.clone(),
                    dir.display().to_string(),
                    t.row_count,
                    t.row_count_method.clone(),
                )
            })
            .collect());
    }
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
    Ok(rows)
}

/// The `(keyspace, table)` pairs to restore (all the snapshot's tables when the request names
/// none; a full-node restore leaves system tables alone, saying so in `notes`), after the
/// request's options are checked against its target.
pub fn wanted_tables(
    input: &RestoreInput,
    node: &NodeConfig,
    rows: &[Row],
    rebuild: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<(String, String)>, RestoreError> {
    let full_node = input.target == Target::FullNode;
    // Rebuilding a node that lost its data puts back its system tables too.
    let is_system = |ks: &str| !rebuild && SYSTEM_KEYSPACES.contains(&ks);
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
    Ok(wanted)
}
