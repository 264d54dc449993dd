//! Walks a node's data directories (`<data_dir>/<keyspace>/<table>-<32 hex id>/`) and records
//! every live SSTable component, every snapshot file and every incremental-backup file with its
//! device, inode, link count and size, so that a file linked from several places counts once.
//!
//! Symbolic links are never followed (they are reported and skipped), so nothing outside the
//! data directories is read. Entries that do not fit Cassandra's layout are listed as unknown,
//! not crashed on. [`NodeScan::holds`] turns the inode map into snapshot holds.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::holds::{HoldTally, Holds};
use super::statvfs::{FsStats, fs_stats};
use super::tree::{FileEntry, FileFigures, FileSet, SnapshotDir, TableDir};

/// A data directory that could not be scanned at all.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("data directory {path} does not exist; check data_dirs in the node's configuration")]
    Missing { path: PathBuf },
    #[error("data directory {path} cannot be read: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a scan keeps of one table directory: the figures of its live SSTables and backups,
/// and its snapshots with every file (snapshots are what Snapkeep records file by file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSummary {
    pub keyspace: String,
    pub table: String,
    pub id: String,
    pub data_dir: PathBuf,
    pub path: PathBuf,
    pub live: FileFigures,
    pub snapshots: Vec<SnapshotDir>,
    pub backups: FileFigures,
}

impl From<&TableDir> for TableSummary {
    fn from(t: &TableDir) -> Self {
        TableSummary {
            keyspace: t.keyspace.clone(),
            table: t.table.clone(),
            id: t.id.clone(),
            data_dir: t.data_dir.clone(),
            path: t.path.clone(),
            live: FileFigures::from(&t.live),
            snapshots: t.snapshots.clone(),
            backups: FileFigures::from(&t.backups),
        }
    }
}

/// Something in a data directory that does not fit Cassandra's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownEntry {
    pub path: PathBuf,
    pub reason: String,
}

/// Directory under a data directory where restores stage hard links before `nodetool import`.
pub const STAGING_DIR: &str = ".snapkeep-staging";

/// Directory (in each table directory and in the commit log directory) where a full-node
/// restore moves the files it replaces, one subdirectory per restore (its safety tag).
pub const ASIDE_DIR: &str = ".snapkeep-aside";

/// A directory Snapkeep's own restores made in a data directory: a restore's staging
/// (`<data dir>/.snapkeep-staging/<name>/`) or files a full-node restore set aside
/// (`<table dir>/.snapkeep-aside/<tag>/`). Neither is live data nor a snapshot; the scan
/// measures them so that one left behind is seen (and never counted as live SSTables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    pub path: PathBuf,
    /// `staging` or `aside`.
    pub kind: &'static str,
    pub bytes: u64,
    pub files: u64,
    /// Last modification of the directory itself (Unix ms), when readable.
    pub modified_ms: Option<i64>,
}

/// One scanned data directory and its filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataDirScan {
    pub path: PathBuf,
    pub fs: Option<FsStats>,
    pub error: Option<String>,
}

/// What a scan noticed besides tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct Findings {
    unknown: Vec<UnknownEntry>,
    leftovers: Vec<Leftover>,
    problems: Vec<String>,
    files_seen: u64,
}

/// Everything a scan of one node's data directories found, without the live and backup file
/// lists (they were streamed and tallied): its memory grows with the tables and the snapshot
/// files, not with the live files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeScan {
    pub data_dirs: Vec<DataDirScan>,
    /// Table directories in the order they were scanned; the directories of one table (on
    /// several data directories) are next to each other.
    pub tables: Vec<TableSummary>,
    pub unknown: Vec<UnknownEntry>,
    /// Staging and aside directories of Snapkeep's restores.
    pub leftovers: Vec<Leftover>,
    /// Files or directories that could not be read (the scan goes on without them).
    pub problems: Vec<String>,
    /// Files seen, all sets together.
    pub files_seen: u64,
    #[serde(skip)]
    tally: HoldTally,
    holds: Holds,
}

impl NodeScan {
    /// A scan made of table directories read elsewhere (tests, benchmarks, a remote node), in
    /// the order given; the directories of one table id are grouped as a scan groups them.
    pub fn from_tables(data_dirs: Vec<DataDirScan>, tables: Vec<TableDir>) -> NodeScan {
        let mut scan = NodeScan {
            data_dirs,
            ..NodeScan::default()
        };
        let key = |t: &TableDir| (t.keyspace.clone(), t.table.clone(), t.id.clone());
        for group in group_by_table(tables, key) {
            scan.add_table(group);
        }
        scan.finish()
    }

    /// Tallies the directories of one table and keeps their summaries; returns the index of
    /// the first in [`NodeScan::tables`].
    fn add_table(&mut self, parts: Vec<TableDir>) -> (usize, Vec<TableDir>) {
        let first = self.tables.len();
        self.tally.add_table(first, &parts);
        self.tables.extend(parts.iter().map(TableSummary::from));
        (first, parts)
    }

    fn finish(mut self) -> NodeScan {
        self.holds = std::mem::take(&mut self.tally).finish();
        self
    }

    /// What the snapshots hold (see [`Holds`]).
    pub fn holds(&self) -> Holds {
        self.holds.clone()
    }
}

/// Groups table directories by (keyspace, table, id), keeping the order of first appearance.
fn group_by_table<T>(tables: Vec<T>, key: impl Fn(&T) -> (String, String, String)) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = Vec::new();
    let mut index: HashMap<(String, String, String), usize> = HashMap::new();
    for t in tables {
        let key = key(&t);
        match index.get(&key) {
            Some(&i) => groups[i].push(t),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![t]);
            }
        }
    }
    groups
}

/// Parses `<table>-<32 hex>` into (table, id).
pub fn parse_table_dir_name(name: &str) -> Option<(&str, &str)> {
    let (table, id) = name.rsplit_once('-')?;
    let valid_id = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let valid_table = !table.is_empty()
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (valid_id && valid_table).then_some((table, id))
}

/// Scans the given data directories. A missing or unreadable data directory is recorded in
/// its [`DataDirScan::error`]; the others are still scanned.
pub fn scan_data_dirs(dirs: &[PathBuf]) -> NodeScan {
    scan_data_dirs_filtered(dirs, &|_, _, _| true)
}

/// Which table directories a scan enters: `(keyspace, table, id)` → scan it or not.
pub type TableFilter = dyn Fn(&str, &str, &str) -> bool + Sync;

/// [`scan_data_dirs`] limited to the table directories `filter` accepts (others are neither
/// entered nor listed as unknown). Holds stay exact: every link of an SSTable inode is inside
/// its own table directory, and links elsewhere show in the link count.
pub fn scan_data_dirs_filtered(dirs: &[PathBuf], filter: &TableFilter) -> NodeScan {
    scan_streaming(dirs, filter, &mut |_, _| {})
}

/// One table's directories, the index of the first in [`NodeScan::tables`], as streamed.
pub type TableSink<'a> = dyn FnMut(usize, Vec<TableDir>) + 'a;

/// Scans like [`scan_data_dirs_filtered`] and hands every table, with all its files, to
/// `each` as soon as it is read (the directories of one table id on every data directory
/// together). Table directories are read on as many threads as there are cores; `each` runs
/// on the calling thread, and while it works the readers wait, so memory stays bounded by a
/// few tables.
pub fn scan_streaming(
    dirs: &[PathBuf],
    filter: &TableFilter,
    each: &mut TableSink<'_>,
) -> NodeScan {
    let mut scan = NodeScan::default();
    let mut found = Findings::default();
    let mut pending: Vec<Pending> = Vec::new();
    for dir in dirs {
        let result = list_tables(dir, filter, &mut pending, &mut found);
        let fs = fs_stats(dir).ok();
        scan.data_dirs.push(DataDirScan {
            path: dir.clone(),
            fs,
            error: result.err().map(|e| e.to_string()),
        });
    }
    let groups = group_by_table(pending, |p| {
        (p.keyspace.clone(), p.table.clone(), p.id.clone())
    });
    read_tables(groups, &mut scan, &mut found, each);
    scan.unknown = found.unknown;
    scan.leftovers = found.leftovers;
    scan.problems = found.problems;
    scan.files_seen = found.files_seen;
    scan.finish()
}

/// A table directory found, to be read.
struct Pending {
    keyspace: String,
    table: String,
    id: String,
    data_dir: PathBuf,
    path: PathBuf,
}

fn list_tables(
    data_dir: &Path,
    filter: &TableFilter,
    pending: &mut Vec<Pending>,
    found: &mut Findings,
) -> Result<(), ScanError> {
    let meta = fs::symlink_metadata(data_dir).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ScanError::Missing {
                path: data_dir.to_path_buf(),
            }
        } else {
            ScanError::Unreadable {
                path: data_dir.to_path_buf(),
                source,
            }
        }
    })?;
    if !meta.is_dir() {
        return Err(ScanError::Unreadable {
            path: data_dir.to_path_buf(),
            source: std::io::Error::other("not a directory"),
        });
    }
    let keyspaces = fs::read_dir(data_dir).map_err(|source| ScanError::Unreadable {
        path: data_dir.to_path_buf(),
        source,
    })?;
    let mut ks_entries: Vec<_> = keyspaces.filter_map(Result::ok).collect();
    ks_entries.sort_by_key(|e| e.file_name());
    for ks in ks_entries {
        let ks_path = ks.path();
        let Ok(ft) = ks.file_type() else {
            found
                .problems
                .push(format!("cannot stat {}", ks_path.display()));
            continue;
        };
        if ft.is_symlink() {
            found.unknown.push(UnknownEntry {
                path: ks_path,
                reason: "symbolic link (not followed)".into(),
            });
            continue;
        }
        if !ft.is_dir() {
            found.unknown.push(UnknownEntry {
                path: ks_path,
                reason: "file where a keyspace directory was expected".into(),
            });
            continue;
        }
        let keyspace = ks.file_name().to_string_lossy().into_owned();
        if keyspace == STAGING_DIR {
            measure_leftovers(&ks_path, "staging", found);
            continue;
        }
        let tables = match fs::read_dir(&ks_path) {
            Ok(t) => t,
            Err(e) => {
                found
                    .problems
                    .push(format!("cannot read {}: {e}", ks_path.display()));
                continue;
            }
        };
        let mut table_entries: Vec<_> = tables.filter_map(Result::ok).collect();
        table_entries.sort_by_key(|e| e.file_name());
        for t in table_entries {
            let t_path = t.path();
            let name = t.file_name().to_string_lossy().into_owned();
            let is_dir = t.file_type().map(|ft| ft.is_dir()).unwrap_or(false);
            match (is_dir, parse_table_dir_name(&name)) {
                (true, Some((table, id))) => {
                    let id = id.to_ascii_lowercase();
                    if !filter(&keyspace, table, &id) {
                        continue;
                    }
                    pending.push(Pending {
                        keyspace: keyspace.clone(),
                        table: table.to_string(),
                        id,
                        data_dir: data_dir.to_path_buf(),
                        path: t_path,
                    });
                }
                (true, None) => found.unknown.push(UnknownEntry {
                    path: t_path,
                    reason: "directory name is not <table>-<32 hex table id>".into(),
                }),
                (false, _) => found.unknown.push(UnknownEntry {
                    path: t_path,
                    reason: "not a table directory".into(),
                }),
            }
        }
    }
    Ok(())
}

/// Reads the table groups on as many threads as there are cores and hands each group, in the
/// order the readers finish, to the tally and to `each`.
fn read_tables(
    groups: Vec<Vec<Pending>>,
    scan: &mut NodeScan,
    found: &mut Findings,
    each: &mut TableSink<'_>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(groups.len().max(1));
    let next = AtomicUsize::new(0);
    // One finished table per reader may wait; the next one blocks its reader.
    let (tx, rx) = mpsc::sync_channel::<(Vec<TableDir>, Findings)>(workers);
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (groups, next) = (&groups, &next);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(group) = groups.get(i) else {
                        break;
                    };
                    let mut local = Findings::default();
                    let parts = group.iter().map(|p| read_table(p, &mut local)).collect();
                    if tx.send((parts, local)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (parts, local) in rx {
            found.unknown.extend(local.unknown);
            found.leftovers.extend(local.leftovers);
            found.problems.extend(local.problems);
            found.files_seen += local.files_seen;
            let (first, parts) = scan.add_table(parts);
            each(first, parts);
        }
    });
}

fn read_table(p: &Pending, scan: &mut Findings) -> TableDir {
    let Pending {
        keyspace,
        table,
        id,
        data_dir,
        path,
    } = p;
    let mut live = FileSet::default();
    let mut backups = FileSet::default();
    let mut snapshots = Vec::new();
    let entries = fs::read_dir(path).map_err(|e| {
        scan.problems
            .push(format!("cannot read {}: {e}", path.display()));
    });
    for entry in entries.into_iter().flatten().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(ft) = entry.file_type() else {
            scan.problems
                .push(format!("cannot stat {}", entry.path().display()));
            continue;
        };
        if ft.is_symlink() {
            scan.unknown.push(UnknownEntry {
                path: entry.path(),
                reason: "symbolic link (not followed)".into(),
            });
        } else if ft.is_file() {
            push_file(&entry, &name, &mut live, scan);
        } else if ft.is_dir() {
            match name.as_str() {
                "snapshots" => snapshots = scan_snapshots(&entry.path(), scan),
                "backups" => walk_files(&entry.path(), "", &mut backups, scan),
                ASIDE_DIR => measure_leftovers(&entry.path(), "aside", scan),
                // Secondary-index SSTables live in `.<index name>/`.
                n if n.starts_with('.') => walk_files(&entry.path(), n, &mut live, scan),
                _ => scan.unknown.push(UnknownEntry {
                    path: entry.path(),
                    reason: "unexpected directory inside a table directory".into(),
                }),
            }
        }
    }
    live.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    backups.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    snapshots.sort_by(|a: &SnapshotDir, b| a.tag.cmp(&b.tag));
    TableDir {
        keyspace: keyspace.into(),
        table: table.into(),
        id: id.into(),
        data_dir: data_dir.into(),
        path: path.into(),
        live,
        snapshots,
        backups,
    }
}

/// Measures each directory in `parent` (one per restore) as a [`Leftover`] of `kind`.
fn measure_leftovers(parent: &Path, kind: &'static str, scan: &mut Findings) {
    let entries = match fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) => {
            scan.problems
                .push(format!("cannot read {}: {e}", parent.display()));
            return;
        }
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_type().is_ok_and(|ft| ft.is_dir()) {
            scan.unknown.push(UnknownEntry {
                path: entry.path(),
                reason: format!(
                    "not a directory inside {kind} directory {}",
                    parent.display()
                ),
            });
            continue;
        }
        let mut files = FileSet::default();
        walk_files(&entry.path(), "", &mut files, scan);
        let modified_ms = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64);
        scan.leftovers.push(Leftover {
            path: entry.path(),
            kind,
            bytes: files.files.iter().map(|f| f.size).sum(),
            files: files.files.len() as u64,
            modified_ms,
        });
    }
}

fn scan_snapshots(dir: &Path, scan: &mut Findings) -> Vec<SnapshotDir> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            scan.problems
                .push(format!("cannot read {}: {e}", dir.display()));
            return out;
        }
    };
    for entry in entries.filter_map(Result::ok) {
        let is_dir = entry.file_type().map(|ft| ft.is_dir()).unwrap_or(false);
        if !is_dir {
            scan.unknown.push(UnknownEntry {
                path: entry.path(),
                reason: "not a snapshot directory".into(),
            });
            continue;
        }
        let mut files = FileSet::default();
        walk_files(&entry.path(), "", &mut files, scan);
        files.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        out.push(SnapshotDir {
            tag: entry.file_name().to_string_lossy().into_owned(),
            path: entry.path(),
            files,
        });
    }
    out
}

/// Adds every regular file below `dir` (recursively, no symlinks) to `set`, with paths
/// relative to the set's base prefixed by `prefix`.
fn walk_files(dir: &Path, prefix: &str, set: &mut FileSet, scan: &mut Findings) {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            scan.problems
                .push(format!("cannot read {}: {e}", dir.display()));
            return;
        }
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match entry.file_type() {
            Ok(ft) if ft.is_file() => push_file(&entry, &rel, set, scan),
            Ok(ft) if ft.is_dir() => walk_files(&entry.path(), &rel, set, scan),
            Ok(ft) if ft.is_symlink() => scan.unknown.push(UnknownEntry {
                path: entry.path(),
                reason: "symbolic link (not followed)".into(),
            }),
            Ok(_) => {}
            Err(e) => scan
                .problems
                .push(format!("cannot stat {}: {e}", entry.path().display())),
        }
    }
}

fn push_file(entry: &fs::DirEntry, rel: &str, set: &mut FileSet, scan: &mut Findings) {
    match entry.metadata() {
        Ok(m) => {
            scan.files_seen += 1;
            set.files.push(FileEntry {
                rel: rel.to_string(),
                size: m.len(),
                dev: m.dev(),
                ino: m.ino(),
                nlink: m.nlink(),
            });
        }
        // A file compaction deleted between readdir and stat is simply gone.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => scan
            .problems
            .push(format!("cannot stat {}: {e}", entry.path().display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    fn write(path: &Path, bytes: usize) {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, vec![b'x'; bytes]).expect("write");
    }

    /// A hand-made table directory: two live SSTables, a snapshot of both, a compaction that
    /// replaced one of them, and a backups link.
    fn tree(root: &Path) -> PathBuf {
        let t = root.join("shop").join(format!("orders-{ID}"));
        write(&t.join("nb-1-big-Data.db"), 1000);
        write(&t.join("nb-1-big-Index.db"), 100);
        write(&t.join("nb-2-big-Data.db"), 500);
        let s = t.join("snapshots").join("nightly");
        fs::create_dir_all(&s).expect("mkdir");
        for f in ["nb-1-big-Data.db", "nb-1-big-Index.db", "nb-2-big-Data.db"] {
            fs::hard_link(t.join(f), s.join(f)).expect("link");
        }
        write(&s.join("manifest.json"), 10);
        write(&s.join("schema.cql"), 20);
        // Compaction: nb-1 replaced by nb-3.
        fs::remove_file(t.join("nb-1-big-Data.db")).expect("rm");
        fs::remove_file(t.join("nb-1-big-Index.db")).expect("rm");
        write(&t.join("nb-3-big-Data.db"), 900);
        fs::create_dir_all(t.join("backups")).expect("mkdir");
        fs::hard_link(
            t.join("nb-3-big-Data.db"),
            t.join("backups").join("nb-3-big-Data.db"),
        )
        .expect("link");
        t
    }

    #[test]
    fn parses_table_directory_names() {
        assert_eq!(
            parse_table_dir_name(&format!("orders-{ID}")),
            Some(("orders", ID))
        );
        assert_eq!(
            parse_table_dir_name(&format!("user_profiles-{ID}")),
            Some(("user_profiles", ID))
        );
        assert_eq!(parse_table_dir_name("orders"), None);
        assert_eq!(parse_table_dir_name("orders-1234"), None);
        assert_eq!(parse_table_dir_name(&format!("-{ID}")), None);
        assert_eq!(
            parse_table_dir_name("orders-0123456789abcdef0123456789abcdeg"),
            None
        );
    }

    #[test]
    fn counts_live_snapshot_and_backup_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        tree(dir.path());
        let scan = scan_data_dirs(&[dir.path().to_path_buf()]);
        assert!(scan.problems.is_empty(), "{:?}", scan.problems);
        assert_eq!(scan.tables.len(), 1);
        let t = &scan.tables[0];
        assert_eq!(
            (t.keyspace.as_str(), t.table.as_str(), t.id.as_str()),
            ("shop", "orders", ID)
        );
        assert_eq!(t.live.bytes, 1400);
        assert_eq!(t.live.sstables, 2);
        assert_eq!(t.snapshots.len(), 1);
        assert_eq!(t.snapshots[0].tag, "nightly");
        assert_eq!(t.snapshots[0].files.bytes(), 1630);
        assert_eq!(t.backups.bytes, 900);
        assert!(scan.data_dirs[0].fs.is_some());
    }

    #[test]
    fn restore_staging_and_aside_directories_are_leftovers_not_live_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = tree(dir.path());
        write(
            &t.join(ASIDE_DIR)
                .join("pre-restore-1")
                .join("nb-7-big-Data.db"),
            4000,
        );
        let staged = dir
            .path()
            .join(STAGING_DIR)
            .join("restore-3")
            .join("shop")
            .join("orders");
        write(&staged.join("nb-1-big-Data.db"), 250);
        let scan = scan_data_dirs(&[dir.path().to_path_buf()]);
        assert!(scan.problems.is_empty(), "{:?}", scan.problems);
        assert_eq!(
            scan.tables.len(),
            1,
            "the staging directory is not a keyspace"
        );
        assert_eq!(scan.tables[0].live.bytes, 1400, "aside files are not live");
        assert!(scan.unknown.is_empty(), "{:?}", scan.unknown);
        let mut found: Vec<(&str, u64, u64)> = scan
            .leftovers
            .iter()
            .map(|l| (l.kind, l.bytes, l.files))
            .collect();
        found.sort();
        assert_eq!(found, [("aside", 4000, 1), ("staging", 250, 1)]);
        assert!(
            scan.leftovers
                .iter()
                .any(|l| l.path == t.join(ASIDE_DIR).join("pre-restore-1"))
        );
    }

    #[test]
    fn hold_counts_only_inodes_no_live_file_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        tree(dir.path());
        let scan = scan_data_dirs(&[dir.path().to_path_buf()]);
        let holds = scan.holds();
        // nb-1 Data + Index (1100) are held, plus manifest and schema (30) which only the
        // snapshot links. nb-2 (500) is still live.
        assert_eq!(holds.node.bytes, 1130);
        assert_eq!(holds.tables[&0].bytes, 1130);
        let s = &holds.snapshots["nightly"];
        assert_eq!(s.size_bytes, 1630);
        assert_eq!(s.exclusive_bytes, 1130);
        assert_eq!(s.shared_bytes, 0);
    }

    #[test]
    fn an_inode_in_two_snapshots_is_shared_and_counted_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = tree(dir.path());
        let s1 = t.join("snapshots").join("nightly");
        let s2 = t.join("snapshots").join("weekly");
        fs::create_dir_all(&s2).expect("mkdir");
        fs::hard_link(s1.join("nb-1-big-Data.db"), s2.join("nb-1-big-Data.db")).expect("link");
        let holds = scan_data_dirs(&[dir.path().to_path_buf()]).holds();
        assert_eq!(holds.node.bytes, 1130, "shared inode counted once");
        assert_eq!(holds.snapshots["nightly"].exclusive_bytes, 130);
        assert_eq!(holds.snapshots["nightly"].shared_bytes, 1000);
        assert_eq!(holds.snapshots["weekly"].exclusive_bytes, 0);
        assert_eq!(holds.snapshots["weekly"].shared_bytes, 1000);
    }

    #[test]
    fn a_link_outside_the_scan_makes_bytes_non_exclusive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let t = tree(&data);
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).expect("mkdir");
        fs::hard_link(
            t.join("snapshots/nightly/nb-1-big-Data.db"),
            elsewhere.join("copy"),
        )
        .expect("link");
        let holds = scan_data_dirs(&[data]).holds();
        assert_eq!(holds.snapshots["nightly"].exclusive_bytes, 130);
        assert_eq!(holds.snapshots["nightly"].shared_bytes, 1000);
    }

    #[test]
    fn links_across_tables_are_settled_when_the_scan_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = tree(dir.path());
        // A second table whose snapshot links table a's held nb-1 Data (1000 bytes) and whose
        // live directory links table a's snapshot-only manifest (10 bytes).
        let b = dir
            .path()
            .join("shop")
            .join(format!("items-{}", "f".repeat(32)));
        let b_snap = b.join("snapshots").join("weekly");
        fs::create_dir_all(&b_snap).expect("mkdir");
        let a_snap = a.join("snapshots").join("nightly");
        fs::hard_link(
            a_snap.join("nb-1-big-Data.db"),
            b_snap.join("nb-1-big-Data.db"),
        )
        .expect("link");
        fs::hard_link(a_snap.join("manifest.json"), b.join("nb-9-big-Data.db")).expect("link");
        let scan = scan_data_dirs(&[dir.path().to_path_buf()]);
        assert_eq!(scan.tables.len(), 2);
        let holds = scan.holds();
        // Held: nb-1 Data and Index (1100) and schema.cql (20); the manifest is live in b now.
        assert_eq!(holds.node.bytes, 1120);
        let nightly = &holds.snapshots["nightly"];
        assert_eq!(nightly.exclusive_bytes, 120, "Index and schema.cql only");
        assert_eq!(nightly.shared_bytes, 1000, "nb-1 Data is in weekly too");
        assert_eq!(holds.snapshots["weekly"].shared_bytes, 1000);
        assert_eq!(holds.snapshots["weekly"].exclusive_bytes, 0);
        // The same figures as a scan made of the table directories read whole.
        let again = NodeScan::from_tables(scan.data_dirs.clone(), read_whole(dir.path()));
        assert_eq!(again.holds(), holds);
    }

    /// The table directories below `root`, each read whole.
    fn read_whole(root: &Path) -> Vec<TableDir> {
        let mut pending = Vec::new();
        let mut found = Findings::default();
        list_tables(root, &|_, _, _| true, &mut pending, &mut found).expect("list");
        pending.iter().map(|p| read_table(p, &mut found)).collect()
    }

    #[test]
    fn odd_entries_are_listed_and_symlinks_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        tree(&data);
        let outside = dir.path().join("outside");
        write(&outside.join("secret-Data.db"), 4096);
        fs::create_dir_all(data.join("shop").join("not_a_table")).expect("mkdir");
        write(&data.join("stray.txt"), 1);
        std::os::unix::fs::symlink(&outside, data.join("shop").join(format!("evil-{ID}")))
            .expect("symlink");
        let scan = scan_data_dirs(std::slice::from_ref(&data));
        assert_eq!(
            scan.tables.len(),
            1,
            "the symlinked table dir is not followed"
        );
        let reasons: Vec<_> = scan.unknown.iter().map(|u| u.path.clone()).collect();
        assert!(reasons.contains(&data.join("shop").join("not_a_table")));
        assert!(reasons.contains(&data.join("stray.txt")));
        assert!(reasons.contains(&data.join("shop").join(format!("evil-{ID}"))));
    }

    #[test]
    fn a_missing_data_dir_is_named_and_others_still_scanned() {
        let dir = tempfile::tempdir().expect("tempdir");
        tree(dir.path());
        let missing = dir.path().join("nope");
        let scan = scan_data_dirs(&[missing.clone(), dir.path().to_path_buf()]);
        assert_eq!(scan.tables.len(), 1);
        let err = scan.data_dirs[0].error.clone().expect("error recorded");
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(err.contains("does not exist"));
    }
}
