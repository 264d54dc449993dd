//! The journaled execution of an approved restore. Every step is written to the journal
//! (`restore_steps`) as running before its side effect and as done after it; a server that
//! dies mid-way leaves the request `interrupted`, and resuming continues from the first step
//! not done. Every step is idempotent or checks its own postcondition first, so nothing is
//! done twice: a staged file that is already linked is skipped, an import whose staging
//! directory is empty has happened, a safety snapshot that exists is not taken again.

pub use app::api::{TableVerification, Verification};

use super::RestoreError;
use super::plan::{self, Plan, TablePlan, Target};
use super::schema::split_and;
use super::step::{Step, StepError};
use crate::cassandra::cql::{Cql, quote_ident};
use crate::node::{Node, NodeConfig, SnapshotRequest};

/// Set to a step name (`check`, `safety_snapshot`, `truncate`, `create_tables`, `stage`,
/// `import`, `cleanup`, `verify`; for a full node also `drain`, `stop`, `move_aside`,
/// `clear_commitlog`, `link`, `start`, `wait_cql`): the process aborts right after that step's
/// side effect, before the journal records it done. Used by the crash-and-resume tests.
pub const CRASH_AFTER_ENV: &str = "SNAPKEEP_RESTORE_CRASH_AFTER";

/// Aborts the process when [`CRASH_AFTER_ENV`] names `step` (crash tests only).
pub fn crash_hook(step: &str) {
    if let Ok(v) = std::env::var(CRASH_AFTER_ENV)
        && !v.is_empty()
        && (step == v || step.starts_with(&format!("{v} ")))
    {
        eprintln!("{CRASH_AFTER_ENV}={v}: aborting after step `{step}`");
        std::process::abort();
    }
}

/// Runs the side effect of an in-place or side restore `step`; returns a line for the journal.
pub async fn perform(
    step: &Step,
    plan: &Plan,
    node: &NodeConfig,
    cql: &Cql,
) -> Result<String, StepError> {
    let on = Node::local(node);
    let out: Result<String, StepError> = match step {
        Step::Truncate => {
            for t in &plan.tables {
                let stmt = format!(
                    "TRUNCATE {}.{}",
                    quote_ident(&t.keyspace),
                    quote_ident(&t.table)
                );
                cql.execute(&stmt)
                    .await
                    .map_err(|e| StepError::Failed(e.to_string()))?;
            }
            Ok(format!("truncated {} table(s)", plan.tables.len()))
        }
        Step::CreateTables => Ok(create_tables(plan, cql).await?),
        Step::Stage(t) => Ok(on.stage(table_of(plan, step, t)?).await?),
        Step::Import(t) => Ok(on.import(table_of(plan, step, t)?).await?),
        Step::Cleanup(t) => Ok(on.cleanup(table_of(plan, step, t)?).await?),
        other => Err(StepError::WrongTarget {
            step: other.to_string(),
            target: plan.target.as_str(),
        }),
    };
    if out.is_ok() {
        crash_hook(&step.to_string());
    }
    out
}

/// The table of `plan` a step names.
pub fn table_of<'p>(plan: &'p Plan, step: &Step, name: &str) -> Result<&'p TablePlan, StepError> {
    plan.tables
        .iter()
        .find(|t| format!("{}.{}", t.keyspace, t.table) == name)
        .ok_or_else(|| StepError::NoSuchTable {
            step: step.to_string(),
        })
}

/// Takes the restore's own safety snapshot of every target table. Its tag is reserved (users
/// cannot take it) and new: a directory with that tag found before this step ever ran is an
/// error, never "already there". Only a resumed step (`resumed`: it started before and was
/// interrupted) may find its own snapshot and take the tables still missing.
pub(super) async fn safety_snapshot(
    plan: &Plan,
    node: &NodeConfig,
    resumed: bool,
) -> Result<String, String> {
    let Some(tag) = &plan.safety_tag else {
        return Ok("no safety snapshot for this target".into());
    };
    let on_node = Node::local(node);
    let present = on_node.tables_with_snapshot(plan, tag);
    let missing: Vec<String> = plan
        .tables
        .iter()
        .filter(|t| t.target_table_id.is_some())
        .map(|t| format!("{}.{}", t.keyspace, t.table))
        .filter(|n| !present.contains(n))
        .collect();
    if !resumed && !present.is_empty() {
        return Err(format!(
            "a snapshot tagged `{tag}` already exists for {} although this restore has not taken it: it cannot serve as the safety snapshot. Nothing was changed; cancel this request and request the restore again (it gets a new tag)",
            present.join(", ")
        ));
    }
    if missing.is_empty() {
        return Ok(format!("safety snapshot {tag} exists"));
    }
    on_node
        .snapshot(&SnapshotRequest {
            tag: tag.clone(),
            tables: missing.clone(),
            ..SnapshotRequest::default()
        })
        .await
        .map_err(|e| format!("the safety snapshot failed: {e}"))?;
    crash_hook("safety_snapshot");
    Ok(format!("safety snapshot {tag} of {}", missing.join(", ")))
}

/// The snapshot's `CREATE TYPE` and `CREATE TABLE` statements rewritten for the side table:
/// another keyspace and name, no table id (a fresh one), dropped columns dropped again.
pub fn side_statements(t: &TablePlan) -> Result<Vec<String>, String> {
    let parsed = super::schema::parse(&t.schema_cql).map_err(|e| e.to_string())?;
    let ks = quote_ident(&t.target_keyspace);
    let mut out = Vec::new();
    for stmt in super::schema::split_top(&t.schema_cql, ';') {
        let s = stmt.trim();
        let upper = s.to_ascii_uppercase();
        if upper.starts_with("CREATE TYPE") {
            let open = s.find('(').ok_or("a CREATE TYPE without fields")?;
            let head = &s[..open];
            let name = head.rsplit('.').next().unwrap_or(head).trim();
            out.push(format!(
                "CREATE TYPE IF NOT EXISTS {ks}.{name} {}",
                &s[open..]
            ));
        } else if upper.starts_with("CREATE TABLE") {
            let open = s.find('(').ok_or("a CREATE TABLE without columns")?;
            // The column list ends at its matching parenthesis; options follow WITH.
            let mut depth = 0;
            let mut end = None;
            for (i, c) in s[open..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(open + i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end.ok_or("unclosed column list")?;
            let columns = &s[open..=end];
            let rest = s[end + 1..].trim();
            let with = rest
                .strip_prefix("WITH")
                .or_else(|| rest.strip_prefix("with"))
                .unwrap_or(rest);
            let options: Vec<String> = split_and(with)
                .into_iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty() && !o.to_ascii_uppercase().starts_with("ID "))
                .filter(|o| !o.to_ascii_uppercase().starts_with("ID="))
                .collect();
            let mut create = format!(
                "CREATE TABLE IF NOT EXISTS {ks}.{} {columns}",
                quote_ident(&t.target_table)
            );
            if !options.is_empty() {
                create.push_str(" WITH ");
                create.push_str(&options.join(" AND "));
            }
            out.push(create);
        }
    }
    for (col, _) in &parsed.dropped {
        out.push(format!(
            "ALTER TABLE {ks}.{} DROP {}",
            quote_ident(&t.target_table),
            quote_ident(col)
        ));
    }
    Ok(out)
}

async fn create_tables(plan: &Plan, cql: &Cql) -> Result<String, String> {
    let mut made = Vec::new();
    for t in &plan.tables {
        let exists = cql
            .schema()
            .await
            .map_err(|e| e.to_string())?
            .table(&t.target_keyspace, &t.target_table)
            .is_some();
        if exists {
            made.push(format!(
                "{}.{} (existed)",
                t.target_keyspace, t.target_table
            ));
            continue;
        }
        for stmt in side_statements(t)? {
            if let Err(e) = cql.execute(&stmt).await {
                // Re-dropping a column already dropped is fine on a resumed run.
                if !stmt.starts_with("ALTER TABLE") {
                    return Err(format!("{stmt}: {e}"));
                }
            }
        }
        made.push(format!("{}.{}", t.target_keyspace, t.target_table));
    }
    Ok(format!("created {}", made.join(", ")))
}

/// Checks the restore: rows against the count recorded at snapshot time, the snapshot's
/// SSTables linked in the table's directory with `Data.db` matching `Digest.crc32`, and the
/// table answering a query.
pub async fn verify(plan: &Plan, node: &NodeConfig, cql: &Cql) -> Verification {
    let live = cql.schema().await.ok();
    let mut tables = Vec::new();
    for t in &plan.tables {
        // A rebuilt node's system tables change as soon as it starts: its user tables are
        // what is verified.
        if plan.disaster_recovery
            && crate::restore::plan::SYSTEM_KEYSPACES.contains(&t.keyspace.as_str())
        {
            continue;
        }
        let name = format!("{}.{}", t.target_keyspace, t.target_table);
        let mut notes = Vec::new();
        let rows_exact = plan.truncate || matches!(plan.target, Target::Side | Target::FullNode);
        let rows_found = match cql.count_rows(&t.target_keyspace, &t.target_table).await {
            Ok(n) => Some(n),
            Err(e) => {
                notes.push(format!("row count failed: {e}"));
                None
            }
        };
        let query_ok = cql
            .execute(&format!(
                "SELECT * FROM {}.{} LIMIT 1",
                quote_ident(&t.target_keyspace),
                quote_ident(&t.target_table)
            ))
            .await
            .is_ok();
        let id = live
            .as_ref()
            .and_then(|s| s.table(&t.target_keyspace, &t.target_table))
            .map(|l| l.dir_id());
        let files = Node::local(node).restored_files(t, id.as_deref());
        notes.extend(files.notes);
        let rows_ok = match (t.expected_rows, rows_found) {
            (Some(e), Some(f))
                if rows_exact && t.expected_rows_method.as_deref() == Some("count") =>
            {
                if e != f {
                    notes.push(format!(
                        "expected {e} rows (counted at snapshot time), found {f}"
                    ));
                }
                e == f
            }
            (Some(e), Some(f)) if t.expected_rows_method.as_deref() == Some("sstables") => {
                sstable_rows_ok(e, f, rows_exact, &mut notes)
            }
            (Some(e), Some(f)) => {
                notes.push(format!(
                    "{f} rows now; {e} {} at snapshot time",
                    if t.expected_rows_method.as_deref() == Some("estimate") {
                        "partitions estimated"
                    } else {
                        "counted"
                    }
                ));
                true
            }
            (None, _) => {
                notes.push("no row count was recorded with the snapshot".into());
                true
            }
            (Some(_), None) => false,
        };
        if !files.dir_found {
            notes.push(format!("the directory of {name} was not found"));
        }
        let passed = rows_ok
            && query_ok
            && files.linked == files.data_files
            && files.digests_ok == files.data_files;
        tables.push(TableVerification {
            table: name,
            rows_expected: t.expected_rows,
            rows_found,
            rows_exact,
            sstables_expected: files.data_files,
            sstables_linked: files.linked,
            digests_ok: files.digests_ok,
            query_ok,
            passed,
            notes,
        });
    }
    Verification {
        passed: tables.iter().all(|t| t.passed),
        tables,
    }
}

/// Rows found against the rows a snapshot's SSTables record (`e`, summed over SSTables: at or
/// above what a query counts, as a row overwritten or deleted in several SSTables counts in
/// each). When only the snapshot's data was put back (`exact`), finding more than that, or
/// none of a non-empty snapshot, fails.
fn sstable_rows_ok(e: i64, f: i64, exact: bool, notes: &mut Vec<String>) -> bool {
    if exact && f > e {
        notes.push(format!(
            "found {f} rows, more than the {e} the snapshot's SSTables hold"
        ));
        false
    } else if exact && e > 0 && f == 0 {
        notes.push(format!(
            "no rows found; the snapshot's SSTables hold about {e}"
        ));
        false
    } else {
        notes.push(format!(
            "{f} rows now; the snapshot's SSTables record {e} (estimated: rows overwritten or \
             deleted across SSTables count more than once)"
        ));
        true
    }
}

/// Re-plans with the names of `approved` and returns the new plan if its hash is the same.
pub async fn recheck(
    ctx: &plan::PlanContext<'_>,
    input: &plan::RestoreInput,
    approved_hash: &str,
) -> Result<Plan, RestoreError> {
    let p = plan::make(ctx, input).await?;
    if plan::plan_hash(&p) != approved_hash {
        let mut why = Vec::new();
        if let Some(prev) = ctx.previous {
            for (a, b) in prev.tables.iter().zip(&p.tables) {
                if a.files != b.files {
                    why.push(format!(
                        "the snapshot's files of {}.{} changed",
                        a.keyspace, a.table
                    ));
                }
                if a.schema_check != b.schema_check {
                    why.push(format!(
                        "the live schema of {}.{} changed",
                        a.keyspace, a.table
                    ));
                }
                if a.target_table_id != b.target_table_id {
                    why.push(format!(
                        "the table {}.{} was re-created",
                        a.target_keyspace, a.target_table
                    ));
                }
            }
            if prev
                .headroom
                .iter()
                .map(|h| h.ok)
                .ne(p.headroom.iter().map(|h| h.ok))
            {
                why.push("the disk headroom changed".into());
            }
        }
        if !p.blocked.is_empty() {
            why.extend(p.blocked.iter().cloned());
        }
        return Err(RestoreError::Conflict(format!(
            "the plan changed since it was approved ({}); nothing was changed — plan and request the restore again",
            if why.is_empty() {
                "details differ".to_string()
            } else {
                why.join("; ")
            }
        )));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::sstable_rows_ok;

    #[test]
    fn rows_against_an_sstable_estimate() {
        let mut notes = Vec::new();
        // Overwrites across SSTables: fewer rows than recorded is a pass, said so.
        assert!(sstable_rows_ok(120, 100, true, &mut notes));
        assert!(notes[0].contains("100 rows now"), "{notes:?}");
        // More than the snapshot holds, or nothing of a non-empty snapshot: a failure when
        // only the snapshot's data was put back.
        assert!(!sstable_rows_ok(100, 101, true, &mut notes));
        assert!(!sstable_rows_ok(100, 0, true, &mut notes));
        assert!(notes.last().is_some_and(|n| n.contains("no rows found")));
        // Restored beside live data: more rows are expected, none may be shadowed.
        assert!(sstable_rows_ok(100, 150, false, &mut notes));
        assert!(sstable_rows_ok(100, 0, false, &mut notes));
        assert!(sstable_rows_ok(0, 0, true, &mut notes));
    }
}
