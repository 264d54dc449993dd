//! The journaled execution of an approved restore. Every step is written to the journal
//! (`restore_steps`) as running before its side effect and as done after it; a server that
//! dies mid-way leaves the request `interrupted`, and resuming continues from the first step
//! not done. Every step is idempotent or checks its own postcondition first, so nothing is
//! done twice: a staged file that is already linked is skipped, an import whose staging
//! directory is empty has happened, a safety snapshot that exists is not taken again.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

pub use app::api::{TableVerification, Verification};

use super::plan::{self, Plan, TablePlan, Target};
use super::schema::split_and;
use super::{RestoreError, STAGING_DIR};
use crate::cassandra::Nodetool;
use crate::cassandra::cql::{Cql, quote_ident};
use crate::config::NodeConfig;
use crate::disk::OpenDir;

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

/// Runs the side effect of `step`; returns a line for the journal.
pub async fn perform(
    step: &str,
    plan: &Plan,
    node: &NodeConfig,
    cql: &Cql,
) -> Result<String, String> {
    let (name, table) = step.split_once(' ').unwrap_or((step, ""));
    let t = || {
        plan.tables
            .iter()
            .find(|t| format!("{}.{}", t.keyspace, t.table) == table)
            .ok_or_else(|| format!("step `{step}` names no table of the plan"))
    };
    let out = match name {
        "truncate" => {
            for t in &plan.tables {
                let stmt = format!(
                    "TRUNCATE {}.{}",
                    quote_ident(&t.keyspace),
                    quote_ident(&t.table)
                );
                cql.execute(&stmt).await.map_err(|e| e.to_string())?;
            }
            Ok(format!("truncated {} table(s)", plan.tables.len()))
        }
        "create_tables" => create_tables(plan, cql).await,
        "stage" => stage(t()?, node),
        "import" => import(t()?, node).await,
        "cleanup" => cleanup(t()?, node),
        other => Err(format!("unknown step `{other}`")),
    };
    if out.is_ok() {
        crash_hook(step);
    }
    out
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
    let mut missing = Vec::new();
    let mut present = Vec::new();
    for t in &plan.tables {
        let Some(id) = &t.target_table_id else {
            continue;
        };
        let exists = node.data_dirs.iter().any(|d| {
            d.join(&t.keyspace)
                .join(format!("{}-{id}", t.table))
                .join("snapshots")
                .join(tag)
                .is_dir()
        });
        if exists {
            present.push(format!("{}.{}", t.keyspace, t.table));
        } else {
            missing.push(format!("{}.{}", t.keyspace, t.table));
        }
    }
    if !resumed && !present.is_empty() {
        return Err(format!(
            "a snapshot tagged `{tag}` already exists for {} although this restore has not taken it: it cannot serve as the safety snapshot. Nothing was changed; cancel this request and request the restore again (it gets a new tag)",
            present.join(", ")
        ));
    }
    if missing.is_empty() {
        return Ok(format!("safety snapshot {tag} exists"));
    }
    Nodetool::for_node(node)
        .snapshot(tag, None, false, &[], &missing)
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

/// The staging directory of a table, checked to be inside the node's data directory; neither
/// the data directory nor any staging directory on the way may be a symbolic link (a link
/// would send the links, copies and removals of a restore elsewhere).
fn staging_dir(t: &TablePlan, node: &NodeConfig) -> Result<PathBuf, String> {
    let data_dir = PathBuf::from(&t.data_dir);
    if !node.data_dirs.contains(&data_dir) {
        return Err(format!(
            "{} is not one of the node's data directories",
            t.data_dir
        ));
    }
    let staging = PathBuf::from(&t.staging_dir);
    let root = data_dir.join(STAGING_DIR);
    if !staging.starts_with(&root)
        || staging
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "staging directory {} is outside {}",
            staging.display(),
            root.display()
        ));
    }
    let not_real = |path: &Path| {
        format!(
            "{} is a symbolic link or not a directory; Snapkeep stages restores only in real directories under the data directory",
            path.display()
        )
    };
    if std::fs::symlink_metadata(&data_dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(not_real(&data_dir));
    }
    match crate::disk::real_dirs_below(&data_dir, &staging) {
        Ok(_) => Ok(staging),
        Err(crate::disk::remove::RemoveError::NotADirectory { path }) => Err(not_real(&path)),
        Err(e) => Err(e.to_string()),
    }
}

pub fn stage(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
    let staging = staging_dir(t, node)?;
    let source = PathBuf::from(&t.source_dir);
    check_snapshot_unchanged(t)?;
    std::fs::create_dir_all(&staging)
        .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
    let (linked, copied, kept) = link_files(&source, &staging, &t.files, t.hard_link)?;
    let checked = verify_staged(t, &staging)?;
    Ok(format!(
        "staged {} files in {} ({linked} linked, {copied} copied, {kept} already there); {checked}",
        t.files.len(),
        staging.display()
    ))
}

/// Checks what [`stage`] put into `staging` before anything destructive runs: every planned
/// file is there with its planned size, a copy holds the same bytes as its source, and each
/// `Data.db` matches the `Digest.crc32` Cassandra wrote beside it.
pub fn verify_staged(t: &TablePlan, staging: &Path) -> Result<String, String> {
    let source = PathBuf::from(&t.source_dir);
    let (mut copies, mut digests) = (0, 0);
    let read_err = |p: &Path, e: std::io::Error| format!("cannot read {}: {e}", p.display());
    for f in &t.files {
        let to = staging.join(&f.name);
        let m = std::fs::symlink_metadata(&to)
            .map_err(|e| format!("{} is missing from staging: {e}", f.name))?;
        if !m.is_file() || m.len() != f.size {
            return Err(format!(
                "staged {} has {} bytes where the snapshot's file has {}; nothing was changed",
                f.name,
                m.len(),
                f.size
            ));
        }
        let mut staged_crc = None;
        if m.ino() != f.inode {
            let from = source.join(&f.name);
            let a = crc32_of(&to).map_err(|e| read_err(&to, e))?;
            let b = crc32_of(&from).map_err(|e| read_err(&from, e))?;
            if a != b {
                return Err(format!(
                    "the copy of {} differs from the snapshot's file (CRC32 {a:08x}, source {b:08x}); nothing was changed",
                    f.name
                ));
            }
            staged_crc = Some(a);
            copies += 1;
        }
        if let Some(stem) = f.name.strip_suffix("-Data.db") {
            let digest_name = format!("{stem}-Digest.crc32");
            if !t.files.iter().any(|x| x.name == digest_name) {
                continue;
            }
            let digest_path = staging.join(&digest_name);
            let expected = std::fs::read_to_string(&digest_path)
                .map_err(|e| read_err(&digest_path, e))?
                .trim()
                .parse::<u64>()
                .map_err(|e| format!("{digest_name} does not hold a CRC32: {e}"))?;
            let crc = match staged_crc {
                Some(c) => c,
                None => crc32_of(&to).map_err(|e| read_err(&to, e))?,
            };
            if u64::from(crc) != expected {
                return Err(format!(
                    "{} does not match its Digest.crc32 (CRC32 {crc}, the digest says {expected}): the snapshot's SSTable is damaged; nothing was changed",
                    f.name
                ));
            }
            digests += 1;
        }
    }
    Ok(format!(
        "{} files checked: sizes equal, {copies} copies equal to their source, {digests} Data.db equal to Digest.crc32",
        t.files.len()
    ))
}

/// Fails unless the snapshot's files are still those that were planned and approved (names,
/// sizes and inodes: an inode number alone can be reused at once by a rewritten file).
pub fn check_snapshot_unchanged(t: &TablePlan) -> Result<(), String> {
    let source = PathBuf::from(&t.source_dir);
    let now = plan::snapshot_files(&source).map_err(|e| {
        format!(
            "the snapshot's files cannot be read at {}: {e}",
            source.display()
        )
    })?;
    if now == t.files {
        return Ok(());
    }
    let planned: std::collections::HashMap<&str, &plan::PlanFile> =
        t.files.iter().map(|f| (f.name.as_str(), f)).collect();
    let what = now
        .iter()
        .find_map(|f| match planned.get(f.name.as_str()) {
            None => Some(format!("{} is new", f.name)),
            Some(p) if *p != f => Some(format!("{} is another file now", f.name)),
            Some(_) => None,
        })
        .unwrap_or_else(|| {
            format!(
                "{} planned files are gone",
                t.files.len().saturating_sub(now.len())
            )
        });
    Err(format!(
        "snapshot files of {}.{} changed since the plan was approved ({what}); nothing was restored — plan and request again",
        t.keyspace, t.table
    ))
}

/// Puts `files` of `source` into `dest` (hard links, or copies when `hard_link` is false or
/// linking fails) on every core; files already there are kept. Returns (linked, copied, kept).
pub fn link_files(
    source: &Path,
    dest: &Path,
    files: &[plan::PlanFile],
    hard_link: bool,
) -> Result<(usize, usize, usize), String> {
    // Each file is one link system call on the same filesystem.
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (linked, copied, kept) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let next = AtomicUsize::new(0);
    let failure: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    // Both directories opened once: each link is then one linkat(2) resolving no path.
    let dirs = if hard_link {
        match (OpenDir::open(source), OpenDir::open(dest)) {
            (Ok(s), Ok(d)) => Some((s, d)),
            _ => None,
        }
    } else {
        None
    };
    let dirs = dirs.as_ref();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    if failure.lock().map(|g| g.is_some()).unwrap_or(true) {
                        break;
                    }
                    let counter = match stage_one(source, dest, f, hard_link, dirs) {
                        Ok(Staged::Linked) => &linked,
                        Ok(Staged::Copied) => &copied,
                        Ok(Staged::Kept) => &kept,
                        Err(e) => {
                            if let Ok(mut g) = failure.lock() {
                                g.get_or_insert(e);
                            }
                            break;
                        }
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok((linked.into_inner(), copied.into_inner(), kept.into_inner()))
}

enum Staged {
    Linked,
    Copied,
    Kept,
}

/// Puts one snapshot file into staging: a hard link when possible, else a copy through a
/// temporary name; a file already there (same inode, or same size from an earlier copy) is
/// kept, so a resumed stage does nothing twice.
fn stage_one(
    source: &Path,
    staging: &Path,
    f: &plan::PlanFile,
    hard_link: bool,
    dirs: Option<&(OpenDir, OpenDir)>,
) -> Result<Staged, String> {
    let from = source.join(&f.name);
    let to = staging.join(&f.name);
    let link = || match dirs {
        Some((s, d)) => s.link_to(&f.name, d).is_ok(),
        None => std::fs::hard_link(&from, &to).is_ok(),
    };
    if hard_link && link() {
        return Ok(Staged::Linked);
    }
    if let Ok(m) = std::fs::symlink_metadata(&to) {
        if m.is_file() && (m.ino() == f.inode || m.len() == f.size) {
            return Ok(Staged::Kept);
        }
        std::fs::remove_file(&to).map_err(|e| format!("cannot replace {}: {e}", to.display()))?;
        if hard_link && link() {
            return Ok(Staged::Linked);
        }
    }
    let tmp = staging.join(format!(".{}.part", f.name));
    std::fs::copy(&from, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &to))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot copy {} to {}: {e}", from.display(), to.display())
        })?;
    Ok(Staged::Copied)
}

fn data_files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with("-Data.db"))
                .count()
        })
        .unwrap_or(0)
}

async fn import(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
    let staging = staging_dir(t, node)?;
    let before = data_files_in(&staging);
    if before == 0 {
        return Ok("nothing left to import (already imported)".into());
    }
    let dir = staging.display().to_string();
    Nodetool::for_node(node)
        .with_timeout(std::time::Duration::from_secs(3600))
        .run(&["import", &t.target_keyspace, &t.target_table, &dir])
        .await
        .map_err(|e| format!("nodetool import failed: {e}"))?;
    let left = data_files_in(&staging);
    if left > 0 {
        return Err(format!(
            "nodetool import left {left} of {before} SSTables in {dir} (see the node's log for why they were refused)"
        ));
    }
    Ok(format!(
        "imported {before} SSTable(s) into {}.{}",
        t.target_keyspace, t.target_table
    ))
}

fn cleanup(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
    let staging = staging_dir(t, node)?;
    remove_staging(&staging, &PathBuf::from(&t.data_dir))
}

/// Removes a staging directory and its parents up to the staging root when empty.
pub fn remove_staging(staging: &Path, data_dir: &Path) -> Result<String, String> {
    match std::fs::symlink_metadata(staging) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(staging)
            .map_err(|e| format!("cannot remove {}: {e}", staging.display()))?,
        Ok(_) => return Err(format!("{} is not a directory", staging.display())),
        Err(_) => {}
    }
    let root = data_dir.join(STAGING_DIR);
    let mut p = staging.parent();
    while let Some(dir) = p {
        if !dir.starts_with(&root) || std::fs::remove_dir(dir).is_err() {
            break;
        }
        p = dir.parent();
    }
    Ok(format!("removed {}", staging.display()))
}

/// Finds the live directory of a table in the node's data directories.
fn table_dir(node: &NodeConfig, ks: &str, table: &str, id: &str) -> Option<PathBuf> {
    node.data_dirs
        .iter()
        .map(|d| d.join(ks).join(format!("{table}-{id}")))
        .find(|p| p.is_dir())
}

fn crc32_of(path: &Path) -> Result<u32, std::io::Error> {
    use std::io::Read as _;
    let mut f = std::fs::File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize())
}

/// Checks the restore: rows against the count recorded at snapshot time, the snapshot's
/// SSTables linked in the table's directory with `Data.db` matching `Digest.crc32`, and the
/// table answering a query.
pub async fn verify(plan: &Plan, node: &NodeConfig, cql: &Cql) -> Verification {
    let live = cql.schema().await.ok();
    let mut tables = Vec::new();
    for t in &plan.tables {
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
        let dir = id.and_then(|id| table_dir(node, &t.target_keyspace, &t.target_table, &id));
        let live_inodes: std::collections::HashSet<u64> = dir
            .as_ref()
            .and_then(|d| std::fs::read_dir(d).ok())
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| std::fs::symlink_metadata(e.path()).ok())
                    .map(|m| m.ino())
                    .collect()
            })
            .unwrap_or_default();
        let data: Vec<&plan::PlanFile> = t
            .files
            .iter()
            .filter(|f| f.name.ends_with("-Data.db"))
            .collect();
        let mut linked = 0;
        let mut digests_ok = 0;
        let source = PathBuf::from(&t.source_dir);
        for f in &data {
            // Without hard links the imported files are copies: compare by digest only.
            if !t.hard_link || live_inodes.contains(&f.inode) {
                linked += 1;
            }
            let digest_name = f.name.replace("-Data.db", "-Digest.crc32");
            let expected = std::fs::read_to_string(source.join(&digest_name))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            match (expected, crc32_of(&source.join(&f.name))) {
                (Some(e), Ok(c)) if e == u64::from(c) => digests_ok += 1,
                (None, _) => notes.push(format!("{digest_name} missing or unreadable")),
                (Some(e), Ok(c)) => {
                    notes.push(format!("{} has CRC32 {c}, Digest.crc32 says {e}", f.name))
                }
                (_, Err(e)) => notes.push(format!("cannot read {}: {e}", f.name)),
            }
        }
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
        if dir.is_none() {
            notes.push(format!("the directory of {name} was not found"));
        }
        let passed =
            rows_ok && query_ok && linked == data.len() as u64 && digests_ok == data.len() as u64;
        tables.push(TableVerification {
            table: name,
            rows_expected: t.expected_rows,
            rows_found,
            rows_exact,
            sstables_expected: data.len() as u64,
            sstables_linked: linked,
            digests_ok,
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

/// Removes every staging directory of a plan (after a failure: the live table is untouched
/// by staging, so this is always safe). A full-node restore has no staging; what it moved
/// aside stays until a resumed run verifies the restore.
pub fn clean_all(plan: &Plan, node: &NodeConfig) {
    if plan.target == Target::FullNode {
        return;
    }
    for t in &plan.tables {
        if let Ok(s) = staging_dir(t, node) {
            let _ = remove_staging(&s, &PathBuf::from(&t.data_dir));
        }
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
    use super::*;
    use crate::restore::schema::{SchemaCheck, Verdict};

    fn table(source: &Path) -> TablePlan {
        TablePlan {
            keyspace: "shop".into(),
            table: "orders".into(),
            source_table_id: "0123456789abcdef0123456789abcdef".into(),
            data_dir: String::new(),
            source_dir: source.display().to_string(),
            target_keyspace: "shop".into(),
            target_table: "orders".into(),
            target_table_id: None,
            staging_dir: String::new(),
            aside_dir: None,
            files: plan::snapshot_files(source).expect("files"),
            bytes: 0,
            sstables: 0,
            hard_link: true,
            bytes_to_copy: 0,
            expected_rows: None,
            expected_rows_method: None,
            schema_check: SchemaCheck {
                verdict: Verdict::Compatible,
                differences: Vec::new(),
            },
            schema_cql: String::new(),
        }
    }

    #[test]
    fn a_snapshot_changed_after_planning_is_named_before_anything_is_linked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("nightly");
        std::fs::create_dir_all(&snap).expect("mkdir");
        for name in ["nb-1-big-Data.db", "nb-1-big-TOC.txt", "manifest.json"] {
            std::fs::write(snap.join(name), name).expect("write");
        }
        let t = table(&snap);
        assert_eq!(t.files.len(), 2, "manifest.json is not restored");
        check_snapshot_unchanged(&t).expect("unchanged");

        // The same name, rewritten (the filesystem may even give it the same inode).
        std::fs::remove_file(snap.join("nb-1-big-TOC.txt")).expect("rm");
        std::fs::write(snap.join("nb-1-big-TOC.txt"), "another TOC").expect("write");
        let err = check_snapshot_unchanged(&t).expect_err("rewritten");
        assert!(
            err.contains("nb-1-big-TOC.txt is another file now"),
            "{err}"
        );

        let t = table(&snap);
        std::fs::write(snap.join("nb-2-big-Data.db"), "new").expect("write");
        let err = check_snapshot_unchanged(&t).expect_err("new file");
        assert!(err.contains("nb-2-big-Data.db is new"), "{err}");

        let t = table(&snap);
        std::fs::remove_file(snap.join("nb-1-big-Data.db")).expect("rm");
        let err = check_snapshot_unchanged(&t).expect_err("gone");
        assert!(err.contains("1 planned files are gone"), "{err}");
        assert!(err.contains("nothing was restored"), "{err}");

        std::fs::remove_dir_all(&snap).expect("rm snapshot");
        let err = check_snapshot_unchanged(&t).expect_err("cleared");
        assert!(err.contains("cannot be read"), "{err}");
    }

    #[test]
    fn staged_files_are_checked_for_size_copy_bytes_and_digest_before_anything_destructive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("nightly");
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&snap).expect("mkdir");
        let data = b"the rows of an SSTable".to_vec();
        std::fs::write(snap.join("nb-1-big-Data.db"), &data).expect("write");
        std::fs::write(
            snap.join("nb-1-big-Digest.crc32"),
            crc32fast::hash(&data).to_string(),
        )
        .expect("write");
        std::fs::write(snap.join("nb-1-big-TOC.txt"), "Data.db").expect("write");
        let t = table(&snap);

        // Copies (hard_link false): checked byte for byte and against the digest.
        std::fs::create_dir_all(&staging).expect("mkdir");
        let (_, copied, _) = link_files(&snap, &staging, &t.files, false).expect("copy");
        assert_eq!(copied, 3);
        let ok = verify_staged(&t, &staging).expect("intact");
        assert!(ok.contains("3 copies") && ok.contains("1 Data.db"), "{ok}");

        // A copy that lost bytes on the way (same size, other content) is refused.
        std::fs::write(staging.join("nb-1-big-TOC.txt"), "Data.dX").expect("write");
        let err = verify_staged(&t, &staging).expect_err("bad copy");
        assert!(err.contains("copy of nb-1-big-TOC.txt differs"), "{err}");

        // A damaged SSTable in the snapshot itself (linked, so the bytes are the source's).
        let staging2 = dir.path().join("staging2");
        std::fs::create_dir_all(&staging2).expect("mkdir");
        std::fs::write(snap.join("nb-1-big-Digest.crc32"), "12345").expect("write");
        let t = table(&snap);
        link_files(&snap, &staging2, &t.files, true).expect("link");
        let err = verify_staged(&t, &staging2).expect_err("bad digest");
        assert!(err.contains("does not match its Digest.crc32"), "{err}");

        // A missing file is named (the digest mended: the staged link shares its inode).
        std::fs::write(
            snap.join("nb-1-big-Digest.crc32"),
            crc32fast::hash(&data).to_string(),
        )
        .expect("write");
        let t = table(&snap);
        verify_staged(&t, &staging2).expect("mended");
        std::fs::remove_file(staging2.join("nb-1-big-TOC.txt")).expect("rm");
        let err = verify_staged(&t, &staging2).expect_err("missing");
        assert!(err.contains("missing from staging"), "{err}");
    }

    #[test]
    fn staging_is_refused_through_a_symbolic_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&data).expect("mkdir");
        std::fs::create_dir_all(&elsewhere).expect("mkdir");
        let node = NodeConfig::new("n1", vec![data.clone()]);
        let mut t = table(dir.path());
        t.data_dir = data.display().to_string();
        t.staging_dir = data
            .join(STAGING_DIR)
            .join("snapkeep-pre-restore-x")
            .join("shop")
            .join("orders")
            .display()
            .to_string();
        assert!(staging_dir(&t, &node).is_ok());
        std::os::unix::fs::symlink(&elsewhere, data.join(STAGING_DIR)).expect("symlink");
        let err = staging_dir(&t, &node).expect_err("through a link");
        assert!(err.contains("is a symbolic link"), "{err}");
    }
}
