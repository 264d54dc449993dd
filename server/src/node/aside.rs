//! The files a full-node restore moves: the live SSTables of each table and the commit log
//! segments go aside into `<dir>/.snapkeep-aside/<tag>/` (renamed, never deleted), the
//! snapshot's files are linked into the table directory, and on a failed start everything is
//! put back. Files are only touched below the configured data directories and commit log
//! directory, on paths built from catalog names, never through a symbolic link, and only
//! while the node is down.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use app::api::{Plan, TablePlan};

use super::NodeConfig;
use super::control::require_down;
use super::disk::{TableRef, real_dirs_below};
use super::staging::{check_snapshot_unchanged, link_files};

pub use crate::node::disk::ASIDE_DIR;

/// The directory of a table as the plan names it, re-derived from the configuration and
/// catalog names and checked: under a configured data directory, no `..`, no symbolic link.
pub fn checked_table_dir(t: &TablePlan, node: &NodeConfig) -> Result<(PathBuf, PathBuf), String> {
    let data_dir = PathBuf::from(&t.data_dir);
    let table = TableRef {
        data_dir: data_dir.clone(),
        keyspace: t.keyspace.clone(),
        table: t.table.clone(),
        table_id: t.source_table_id.clone(),
    };
    let dir = super::disk::table_dir(&node.data_dirs, &table).map_err(|e| e.to_string())?;
    if dir != Path::new(&t.staging_dir) {
        return Err(format!(
            "the plan names {} for {}.{}, not {}",
            t.staging_dir,
            t.keyspace,
            t.table,
            dir.display()
        ));
    }
    match real_dirs_below(&data_dir, &dir) {
        Ok(true) => Ok((data_dir, dir)),
        Ok(false) => Err(format!("the table directory {} is missing", dir.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// Makes a table's directory (and its data directory) when missing: checked as
/// [`checked_table_dir`] checks it, through real directories only.
fn make_table_dir(t: &TablePlan, node: &NodeConfig) -> Result<(), String> {
    let data_dir = PathBuf::from(&t.data_dir);
    if !node.data_dirs.contains(&data_dir) {
        return Err(format!(
            "{} is not one of the node's data directories",
            t.data_dir
        ));
    }
    let table = TableRef {
        data_dir: data_dir.clone(),
        keyspace: t.keyspace.clone(),
        table: t.table.clone(),
        table_id: t.source_table_id.clone(),
    };
    let dir = super::disk::table_dir(&node.data_dirs, &table).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    real_dirs_below(&data_dir, &dir)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `<root>/.snapkeep-aside/<tag>` for this plan, checked to be what the plan says and to have
/// no symbolic link below `root`; created when missing.
pub fn aside_dir(root: &Path, planned: Option<&str>, plan: &Plan) -> Result<PathBuf, String> {
    let tag = plan
        .safety_tag
        .as_deref()
        .ok_or("a full-node plan without a safety tag")?;
    let tag =
        crate::node::disk::remove::component("restore tag", tag).map_err(|e| e.to_string())?;
    let dir = root.join(ASIDE_DIR).join(tag);
    if planned != Some(&*dir.to_string_lossy()) {
        return Err(format!(
            "the plan names {} as the aside directory, not {}",
            planned.unwrap_or("none"),
            dir.display()
        ));
    }
    if !real_dirs_below(root, &dir).map_err(|e| e.to_string())? {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        real_dirs_below(root, &dir).map_err(|e| e.to_string())?;
    }
    Ok(dir)
}

/// Moves every regular file directly in `from` into `to` (same filesystem: a rename). A file
/// already moved is skipped; a different file of the same name already in `to` stops the move
/// (nothing is overwritten). Returns (moved, bytes, already there).
pub fn move_files(from: &Path, to: &Path) -> Result<(u64, u64, u64), String> {
    let (mut moved, mut bytes) = (0, 0);
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = e.path();
        let m = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
        if !m.is_file() {
            continue;
        }
        let dest = to.join(e.file_name());
        match std::fs::symlink_metadata(&dest) {
            Ok(d) if d.ino() == m.ino() && d.dev() == m.dev() => {
                // The same file under both names (a move interrupted half-way): keep the aside one.
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                continue;
            }
            Ok(_) => {
                return Err(format!(
                    "{} exists already and is another file than {}; nothing was overwritten",
                    dest.display(),
                    path.display()
                ));
            }
            Err(_) => {}
        }
        std::fs::rename(&path, &dest)
            .map_err(|e| format!("cannot move {} to {}: {e}", path.display(), dest.display()))?;
        moved += 1;
        bytes += m.len();
    }
    let there = std::fs::read_dir(to)
        .map(|it| it.filter_map(Result::ok).count() as u64)
        .unwrap_or(0);
    Ok((moved, bytes, there.saturating_sub(moved)))
}

pub async fn move_aside(t: &TablePlan, plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    require_down(node).await?;
    let (_, dir) = checked_table_dir(t, node)?;
    let aside = aside_dir(&dir, t.aside_dir.as_deref(), plan)?;
    let (moved, bytes, before) = move_files(&dir, &aside)?;
    Ok(format!(
        "moved {moved} live files ({}) of {}.{} to {} ({before} moved earlier); kept, not deleted",
        app::api::format_bytes(bytes as i64),
        t.keyspace,
        t.table,
        aside.display()
    ))
}

pub async fn clear_commitlog(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    require_down(node).await?;
    let root = node
        .commitlog_dir
        .as_deref()
        .ok_or_else(|| format!("node {} has no commitlog_dir configured", node.name))?;
    let meta = std::fs::metadata(root)
        .map_err(|e| format!("the commit log directory {}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let aside = aside_dir(root, plan.commitlog_aside.as_deref(), plan)?;
    let (moved, bytes, before) = move_files(root, &aside)?;
    Ok(format!(
        "moved {moved} commit log files ({}) to {} ({before} moved earlier), not deleted: writes made after the snapshot are not replayed; kept",
        app::api::format_bytes(bytes as i64),
        aside.display()
    ))
}

pub async fn link(t: &TablePlan, node: &NodeConfig, create: bool) -> Result<String, String> {
    require_down(node).await?;
    check_snapshot_unchanged(t)?;
    if create {
        make_table_dir(t, node)?;
    }
    let (_, dir) = checked_table_dir(t, node)?;
    let source = PathBuf::from(&t.source_dir);
    // A file of the same name that is not the snapshot's (by inode) is never replaced.
    if t.hard_link {
        for f in &t.files {
            let dest = dir.join(&f.name);
            if let Ok(m) = std::fs::symlink_metadata(&dest)
                && m.ino() != f.inode
            {
                return Err(format!(
                    "{} is in the table directory and is not the snapshot's file; nothing was replaced",
                    dest.display()
                ));
            }
        }
    }
    let (linked, copied, kept) = link_files(&source, &dir, &t.files, t.hard_link)?;
    Ok(format!(
        "{} files of {}.{} in {} ({linked} hard-linked, {copied} copied, {kept} already there)",
        t.files.len(),
        t.keyspace,
        t.table,
        dir.display()
    ))
}

/// One aside directory of a plan, checked as when it was made; `None` when it is not there.
pub fn checked_aside(
    root: &Path,
    planned: Option<&str>,
    plan: &Plan,
) -> Result<Option<PathBuf>, String> {
    let Some(planned) = planned else {
        return Ok(None);
    };
    let tag = plan
        .safety_tag
        .as_deref()
        .ok_or("a full-node plan without a safety tag")?;
    let dir = root
        .join(ASIDE_DIR)
        .join(crate::node::disk::remove::component("restore tag", tag).map_err(|e| e.to_string())?);
    if Path::new(planned) != dir {
        return Err(format!(
            "the plan names {planned} as the aside directory, not {}",
            dir.display()
        ));
    }
    if !real_dirs_below(root, &dir).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    Ok(Some(dir))
}

/// A directory a full-node restore set aside, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aside {
    pub path: PathBuf,
    /// `sstables` or `commitlog`.
    pub kind: &'static str,
    /// `keyspace.table` or `commit log`.
    pub what: String,
    pub bytes: u64,
    pub files: u64,
}

/// Every directory `plan` set aside that is still there (each checked as when it was made),
/// with its size.
pub fn asides(plan: &Plan, node: &NodeConfig) -> Result<Vec<Aside>, String> {
    let measure = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .fold((0, 0), |(b, n), m| (b + m.len(), n + 1))
            })
            .unwrap_or((0, 0))
    };
    let mut out = Vec::new();
    for t in &plan.tables {
        let (_, dir) = checked_table_dir(t, node)?;
        if let Some(path) = checked_aside(&dir, t.aside_dir.as_deref(), plan)? {
            let (bytes, files) = measure(&path);
            out.push(Aside {
                path,
                kind: "sstables",
                what: format!("{}.{}", t.keyspace, t.table),
                bytes,
                files,
            });
        }
    }
    if let Some(root) = node.commitlog_dir.as_deref()
        && let Some(path) = checked_aside(root, plan.commitlog_aside.as_deref(), plan)?
    {
        let (bytes, files) = measure(&path);
        out.push(Aside {
            path,
            kind: "commitlog",
            what: "commit log".into(),
            bytes,
            files,
        });
    }
    Ok(out)
}

/// Removes what `plan` set aside (an admin's decision, or the end of its keeping time) and
/// each `.snapkeep-aside` left empty. Returns the directories removed.
pub fn remove_asides(plan: &Plan, node: &NodeConfig) -> Result<Vec<PathBuf>, String> {
    let mut removed = Vec::new();
    for a in asides(plan, node)? {
        std::fs::remove_dir_all(&a.path)
            .map_err(|e| format!("cannot remove {}: {e}", a.path.display()))?;
        if let Some(parent) = a.path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
        removed.push(a.path);
    }
    Ok(removed)
}

/// Puts a node's files back as they were before the swap: in each table directory the files
/// the restore linked (the snapshot's inodes) are removed and anything Cassandra wrote since
/// is moved to `<aside>.failed-start`, then the files moved aside come back; the commit log
/// likewise. Only while the node is down. Returns what was done, as a sentence.
pub fn put_back_files(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let mut done = Vec::new();
    let set_apart = |dir: &Path, aside: &Path, keep: &dyn Fn(&std::fs::Metadata) -> bool| {
        // Files now in `dir` that are not the snapshot's links: moved next to the aside.
        let failed = aside.with_file_name(format!(
            "{}.failed-start",
            aside
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("restore")
        ));
        let mut moved = 0;
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            let Ok(m) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if !m.is_file() {
                continue;
            }
            if keep(&m) {
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
                continue;
            }
            std::fs::create_dir_all(&failed)
                .map_err(|e| format!("cannot create {}: {e}", failed.display()))?;
            let dest = failed.join(e.file_name());
            std::fs::rename(&path, &dest).map_err(|e| {
                format!("cannot move {} to {}: {e}", path.display(), dest.display())
            })?;
            moved += 1;
        }
        Ok::<_, String>((moved, failed))
    };
    for t in &plan.tables {
        let (_, dir) = checked_table_dir(t, node)?;
        let Some(aside) = checked_aside(&dir, t.aside_dir.as_deref(), plan)? else {
            continue;
        };
        let snapshot_inodes: std::collections::HashSet<u64> =
            t.files.iter().map(|f| f.inode).collect();
        // A link to the snapshot's own file loses nothing when removed.
        let (moved, failed) = set_apart(&dir, &aside, &|m: &std::fs::Metadata| {
            t.hard_link && snapshot_inodes.contains(&m.ino())
        })?;
        let (back, _, _) = move_files(&aside, &dir)?;
        std::fs::remove_dir(&aside)
            .map_err(|e| format!("cannot remove the emptied {}: {e}", aside.display()))?;
        let mut line = format!("{}.{}: {back} files back", t.keyspace, t.table);
        if moved > 0 {
            line.push_str(&format!(
                ", {moved} files of the failed start kept in {}",
                failed.display()
            ));
        }
        done.push(line);
    }
    if let Some(root) = node.commitlog_dir.as_deref()
        && let Some(aside) = checked_aside(root, plan.commitlog_aside.as_deref(), plan)?
    {
        let (moved, failed) = set_apart(root, &aside, &|_: &std::fs::Metadata| false)?;
        let (back, _, _) = move_files(&aside, root)?;
        std::fs::remove_dir(&aside)
            .map_err(|e| format!("cannot remove the emptied {}: {e}", aside.display()))?;
        let mut line = format!("commit log: {back} segments back");
        if moved > 0 {
            line.push_str(&format!(
                ", {moved} segments of the failed start kept in {}",
                failed.display()
            ));
        }
        done.push(line);
    }
    Ok(done.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_files_never_overwrites_and_resumes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = dir.path().join("t");
        let to = from.join(ASIDE_DIR).join("tag");
        std::fs::create_dir_all(&to).expect("mkdir");
        std::fs::write(from.join("nb-1-big-Data.db"), "one").expect("write");
        std::fs::write(from.join("nb-2-big-Data.db"), "two").expect("write");
        // Half-way: one file has both names already.
        std::fs::hard_link(from.join("nb-1-big-Data.db"), to.join("nb-1-big-Data.db"))
            .expect("link");
        let (moved, bytes, before) = move_files(&from, &to).expect("move");
        assert_eq!((moved, bytes, before), (1, 3, 1));
        assert!(!from.join("nb-1-big-Data.db").exists());
        assert_eq!(
            std::fs::read_to_string(to.join("nb-2-big-Data.db")).expect("read"),
            "two"
        );
        assert_eq!(move_files(&from, &to).expect("again"), (0, 0, 2));
        // Another file under a name already aside is refused, and both stay.
        std::fs::write(from.join("nb-2-big-Data.db"), "other").expect("write");
        let err = move_files(&from, &to).expect_err("refused");
        assert!(err.contains("nothing was overwritten"), "{err}");
        assert_eq!(
            std::fs::read_to_string(to.join("nb-2-big-Data.db")).expect("read"),
            "two"
        );
        assert!(from.join("nb-2-big-Data.db").exists());
    }

    #[test]
    fn a_failed_start_puts_every_file_back_as_it_was() {
        use app::api::{PlanFile, Target, Verdict};
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let commitlog = tmp.path().join("commitlog");
        let id = "0123456789abcdef0123456789abcdef";
        let table = data.join("shop").join(format!("orders-{id}"));
        let snap = table.join("snapshots").join("nightly");
        let tag = "snapkeep-pre-restore-x";
        let aside = table.join(ASIDE_DIR).join(tag);
        let cl_aside = commitlog.join(ASIDE_DIR).join(tag);
        for d in [&snap, &aside, &cl_aside] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        // Before the swap: the live files (now aside) and the commit log (now aside).
        std::fs::write(aside.join("nb-5-big-Data.db"), "live").expect("write");
        std::fs::write(cl_aside.join("CommitLog-7-1.log"), "segment").expect("write");
        // The swap: the snapshot's file linked in; the failed start wrote one more file and
        // a new commit log segment.
        std::fs::write(snap.join("nb-1-big-Data.db"), "snap").expect("write");
        std::fs::hard_link(
            snap.join("nb-1-big-Data.db"),
            table.join("nb-1-big-Data.db"),
        )
        .expect("link");
        std::fs::write(table.join("nb-9-big-Data.db"), "written at start").expect("write");
        std::fs::write(commitlog.join("CommitLog-7-2.log"), "new").expect("write");
        let inode = std::fs::metadata(snap.join("nb-1-big-Data.db"))
            .expect("stat")
            .ino();
        let mut node = NodeConfig::new("n1", vec![data.clone()]);
        node.commitlog_dir = Some(commitlog.clone());
        let plan = Plan {
            node: "n1".into(),
            tag: "nightly".into(),
            target: Target::FullNode,
            truncate: false,
            safety_tag: Some(tag.into()),
            tables: vec![TablePlan {
                source_table_id: id.into(),
                data_dir: data.display().to_string(),
                target_table_id: Some(id.into()),
                staging_dir: table.display().to_string(),
                aside_dir: Some(aside.display().to_string()),
                bytes: 4,
                sstables: 1,
                ..crate::node::orders_plan(
                    &snap,
                    vec![PlanFile {
                        name: "nb-1-big-Data.db".into(),
                        size: 4,
                        inode,
                        sha256: None,
                    }],
                )
            }],
            headroom: Vec::new(),
            min_free_pct: 0,
            steps: Vec::new(),
            blocked: Vec::new(),
            verdict: Verdict::Compatible,
            commitlog_aside: Some(cl_aside.display().to_string()),
            notes: Vec::new(),
            source_store: None,
            disaster_recovery: false,
        };
        let line = put_back_files(&plan, &node).expect("put back");
        assert!(
            line.contains("1 files back") && line.contains("1 segments back"),
            "{line}"
        );
        assert_eq!(
            std::fs::read_to_string(table.join("nb-5-big-Data.db")).expect("live back"),
            "live"
        );
        assert!(
            !table.join("nb-1-big-Data.db").exists(),
            "the snapshot's link is gone"
        );
        assert!(
            snap.join("nb-1-big-Data.db").exists(),
            "the snapshot is untouched"
        );
        assert!(!aside.exists() && !cl_aside.exists());
        assert_eq!(
            std::fs::read_to_string(commitlog.join("CommitLog-7-1.log")).expect("segment back"),
            "segment"
        );
        // What the failed start wrote is kept apart, not deleted.
        let failed = |dir: &Path| dir.with_file_name(format!("{tag}.failed-start"));
        assert!(failed(&aside).join("nb-9-big-Data.db").exists());
        assert!(failed(&cl_aside).join("CommitLog-7-2.log").exists());
    }
}
