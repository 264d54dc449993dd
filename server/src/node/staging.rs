//! Restore staging on the node: the snapshot's files put into a staging directory inside the
//! data directory (hard links, or checked copies), checked against the snapshot before
//! anything destructive runs, imported with `nodetool import`, and removed again. Nothing
//! outside the node's data directories is linked, copied or removed, and no path through a
//! symbolic link is followed.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use app::api::{Plan, PlanFile, TablePlan, Target};

use super::NodeConfig;
use crate::node::Nodetool;
use crate::node::disk::OpenDir;

pub use crate::node::disk::STAGING_DIR;

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
    match crate::node::disk::real_dirs_below(&data_dir, &staging) {
        Ok(_) => Ok(staging),
        Err(crate::node::disk::remove::RemoveError::NotADirectory { path }) => Err(not_real(&path)),
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
    let now = super::files::snapshot_files(&source).map_err(|e| {
        format!(
            "the snapshot's files cannot be read at {}: {e}",
            source.display()
        )
    })?;
    // The file on disk: name, size and inode (a planned file may also carry its hash).
    let same =
        |a: &PlanFile, b: &PlanFile| a.name == b.name && a.size == b.size && a.inode == b.inode;
    if now.len() == t.files.len() && now.iter().zip(&t.files).all(|(a, b)| same(a, b)) {
        return Ok(());
    }
    let planned: std::collections::HashMap<&str, &PlanFile> =
        t.files.iter().map(|f| (f.name.as_str(), f)).collect();
    let what = now
        .iter()
        .find_map(|f| match planned.get(f.name.as_str()) {
            None => Some(format!("{} is new", f.name)),
            Some(p) if !same(p, f) => Some(format!("{} is another file now", f.name)),
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
    files: &[PlanFile],
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
    f: &PlanFile,
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

pub async fn import(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
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

pub fn cleanup(t: &TablePlan, node: &NodeConfig) -> Result<String, String> {
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
pub fn table_dir(node: &NodeConfig, ks: &str, table: &str, id: &str) -> Option<PathBuf> {
    node.data_dirs
        .iter()
        .map(|d| d.join(ks).join(format!("{table}-{id}")))
        .find(|p| p.is_dir())
}

pub fn crc32_of(path: &Path) -> Result<u32, std::io::Error> {
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

/// The tables of `plan` (`keyspace.table`) that have a snapshot `tag` in one of the node's
/// data directories already.
pub fn tables_with_snapshot(plan: &Plan, node: &NodeConfig, tag: &str) -> Vec<String> {
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
        }
    }
    present
}

/// How the snapshot's SSTables of a restored table stand in the table's live directory
/// (`live_table_id`: the id of the table now): each `Data.db` there (by inode when it was
/// hard-linked) and matching its `Digest.crc32`.
pub fn restored_files(
    t: &TablePlan,
    node: &NodeConfig,
    live_table_id: Option<&str>,
) -> super::RestoredFiles {
    let mut notes = Vec::new();
    let dir = live_table_id.and_then(|id| table_dir(node, &t.target_keyspace, &t.target_table, id));
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
    let data: Vec<&PlanFile> = t
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
    super::RestoredFiles {
        dir_found: dir.is_some(),
        data_files: data.len() as u64,
        linked,
        digests_ok,
        notes,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(source: &Path) -> TablePlan {
        let files = crate::node::files::snapshot_files(source).expect("files");
        crate::node::orders_plan(source, files)
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
