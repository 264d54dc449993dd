//! Walks a node's data directories (`<data_dir>/<keyspace>/<table>-<32 hex id>/`) and records
//! every live SSTable component, every snapshot file and every incremental-backup file with its
//! device, inode, link count and size, so that a file linked from several places counts once.
//!
//! Symbolic links are never followed (they are reported and skipped), so nothing outside the
//! data directories is read. Entries that do not fit Cassandra's layout are listed as unknown,
//! not crashed on. [`NodeScan::holds`] turns the inode map into snapshot holds.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::statvfs::{FsStats, fs_stats};

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

/// One file as seen on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Path relative to the directory the set belongs to (table, snapshot or backups dir).
    pub rel: String,
    pub size: u64,
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
}

/// A set of files (live SSTables, one snapshot, or the backups directory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSet {
    pub files: Vec<FileEntry>,
}

impl FileSet {
    /// Bytes of all files, each inode counted once.
    pub fn bytes(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.files
            .iter()
            .filter(|f| seen.insert((f.dev, f.ino)))
            .map(|f| f.size)
            .sum()
    }
    /// Distinct inodes.
    pub fn inodes(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.files
            .iter()
            .filter(|f| seen.insert((f.dev, f.ino)))
            .count() as u64
    }
    /// SSTables: distinct `…-Data.db` components.
    pub fn sstables(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.rel.ends_with("-Data.db"))
            .count() as u64
    }
}

/// One snapshot directory of one table: `<table dir>/snapshots/<tag>/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotDir {
    pub tag: String,
    pub path: PathBuf,
    pub files: FileSet,
}

/// One table directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDir {
    pub keyspace: String,
    pub table: String,
    /// The table id as 32 lowercase hex digits (the directory suffix).
    pub id: String,
    pub data_dir: PathBuf,
    pub path: PathBuf,
    pub live: FileSet,
    pub snapshots: Vec<SnapshotDir>,
    pub backups: FileSet,
}

/// Something in a data directory that does not fit Cassandra's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownEntry {
    pub path: PathBuf,
    pub reason: String,
}

/// One scanned data directory and its filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataDirScan {
    pub path: PathBuf,
    pub fs: Option<FsStats>,
    pub error: Option<String>,
}

/// Everything a scan of one node's data directories found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeScan {
    pub data_dirs: Vec<DataDirScan>,
    pub tables: Vec<TableDir>,
    pub unknown: Vec<UnknownEntry>,
    /// Files or directories that could not be read (the scan goes on without them).
    pub problems: Vec<String>,
    /// Files seen, all sets together.
    pub files_seen: u64,
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
    let mut scan = NodeScan::default();
    for dir in dirs {
        let result = scan_one(dir, filter, &mut scan);
        let fs = fs_stats(dir).ok();
        scan.data_dirs.push(DataDirScan {
            path: dir.clone(),
            fs,
            error: result.err().map(|e| e.to_string()),
        });
    }
    scan
}

fn scan_one(data_dir: &Path, filter: &TableFilter, scan: &mut NodeScan) -> Result<(), ScanError> {
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
    // Table directories found, scanned afterwards in parallel.
    let mut pending: Vec<(String, String, String, PathBuf)> = Vec::new();
    for ks in ks_entries {
        let ks_path = ks.path();
        let Ok(ft) = ks.file_type() else {
            scan.problems
                .push(format!("cannot stat {}", ks_path.display()));
            continue;
        };
        if ft.is_symlink() {
            scan.unknown.push(UnknownEntry {
                path: ks_path,
                reason: "symbolic link (not followed)".into(),
            });
            continue;
        }
        if !ft.is_dir() {
            scan.unknown.push(UnknownEntry {
                path: ks_path,
                reason: "file where a keyspace directory was expected".into(),
            });
            continue;
        }
        let keyspace = ks.file_name().to_string_lossy().into_owned();
        let tables = match fs::read_dir(&ks_path) {
            Ok(t) => t,
            Err(e) => {
                scan.problems
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
                    if !filter(&keyspace, table, &id.to_ascii_lowercase()) {
                        continue;
                    }
                    pending.push((
                        keyspace.clone(),
                        table.to_string(),
                        id.to_ascii_lowercase(),
                        t_path,
                    ));
                }
                (true, None) => scan.unknown.push(UnknownEntry {
                    path: t_path,
                    reason: "directory name is not <table>-<32 hex table id>".into(),
                }),
                (false, _) => scan.unknown.push(UnknownEntry {
                    path: t_path,
                    reason: "not a table directory".into(),
                }),
            }
        }
    }
    scan_tables_parallel(data_dir, pending, scan);
    Ok(())
}

/// Scans table directories on as many threads as there are cores, keeping their order.
fn scan_tables_parallel(
    data_dir: &Path,
    pending: Vec<(String, String, String, PathBuf)>,
    scan: &mut NodeScan,
) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(pending.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, TableDir, NodeScan)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((ks, table, id, path)) = pending.get(i) else {
                        break;
                    };
                    let mut local = NodeScan::default();
                    let t = scan_table(data_dir, ks, table, id, path, &mut local);
                    if let Ok(mut r) = results.lock() {
                        r.push((i, t, local));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, ..)| *i);
    for (_, t, local) in results {
        scan.tables.push(t);
        scan.unknown.extend(local.unknown);
        scan.problems.extend(local.problems);
        scan.files_seen += local.files_seen;
    }
}

fn scan_table(
    data_dir: &Path,
    keyspace: &str,
    table: &str,
    id: &str,
    path: &Path,
    scan: &mut NodeScan,
) -> TableDir {
    let mut live = FileSet::default();
    let mut backups = FileSet::default();
    let mut snapshots = Vec::new();
    let entries = match fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            scan.problems
                .push(format!("cannot read {}: {e}", path.display()));
            return TableDir {
                keyspace: keyspace.into(),
                table: table.into(),
                id: id.into(),
                data_dir: data_dir.into(),
                path: path.into(),
                live,
                snapshots,
                backups,
            };
        }
    };
    for entry in entries.filter_map(Result::ok) {
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

fn scan_snapshots(dir: &Path, scan: &mut NodeScan) -> Vec<SnapshotDir> {
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
fn walk_files(dir: &Path, prefix: &str, set: &mut FileSet, scan: &mut NodeScan) {
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

fn push_file(entry: &fs::DirEntry, rel: &str, set: &mut FileSet, scan: &mut NodeScan) {
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

/// What snapshots cost, computed from inodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Holds {
    /// Per snapshot tag (across the tables it covers).
    pub snapshots: BTreeMap<String, SnapshotHold>,
    /// Per table (index into [`NodeScan::tables`]): bytes and inodes kept alive only by
    /// snapshots, each inode counted once.
    pub tables: BTreeMap<usize, HoldFigures>,
    /// Whole node: bytes and inodes kept alive only by snapshots, each inode counted once.
    pub node: HoldFigures,
}

/// Bytes and inodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HoldFigures {
    pub bytes: u64,
    pub inodes: u64,
}

/// One snapshot's cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotHold {
    /// Every byte it links (each inode once).
    pub size_bytes: u64,
    pub files: u64,
    /// Bytes only this snapshot links: exactly what clearing it frees.
    pub exclusive_bytes: u64,
    pub exclusive_inodes: u64,
    /// Bytes no live SSTable links, which this snapshot links together with others.
    pub shared_bytes: u64,
    /// Per table index: (size, exclusive, shared) bytes.
    pub tables: BTreeMap<usize, (u64, u64, u64)>,
}

#[derive(Default)]
struct InodeUse {
    size: u64,
    nlink: u64,
    seen: u64,
    live: u64,
    backups: u64,
    /// (tag id, table index) of each snapshot link.
    snaps: Vec<(u32, u32)>,
}

impl NodeScan {
    /// Computes the holds: for every inode a snapshot links, where all its links are. An inode
    /// no live file links but a snapshot does is held by snapshots; it is exclusive to a
    /// snapshot when all of its links (`st_nlink`) are inside that snapshot.
    pub fn holds(&self) -> Holds {
        // Pass 1: the inodes snapshots link (usually a small part of all files).
        let mut tags: Vec<&str> = Vec::new();
        let mut tag_ids: HashMap<&str, u32> = HashMap::new();
        let mut inodes: HashMap<(u64, u64), InodeUse> = HashMap::new();
        for (ti, t) in self.tables.iter().enumerate() {
            for s in &t.snapshots {
                let tag_id = *tag_ids.entry(s.tag.as_str()).or_insert_with(|| {
                    tags.push(s.tag.as_str());
                    (tags.len() - 1) as u32
                });
                for f in &s.files.files {
                    let u = inodes.entry((f.dev, f.ino)).or_default();
                    u.size = f.size;
                    u.nlink = f.nlink;
                    u.seen += 1;
                    u.snaps.push((tag_id, ti as u32));
                }
            }
        }
        // Pass 2: live and backup links of those inodes.
        for t in &self.tables {
            for f in &t.live.files {
                if let Some(u) = inodes.get_mut(&(f.dev, f.ino)) {
                    u.seen += 1;
                    u.live += 1;
                }
            }
            for f in &t.backups.files {
                if let Some(u) = inodes.get_mut(&(f.dev, f.ino)) {
                    u.seen += 1;
                    u.backups += 1;
                }
            }
        }
        let mut holds = Holds::default();
        for u in inodes.values_mut() {
            u.snaps.sort_unstable();
            let mut inode_tags: Vec<u32> = u.snaps.iter().map(|(t, _)| *t).collect();
            inode_tags.dedup();
            let mut tables: Vec<u32> = u.snaps.iter().map(|(_, t)| *t).collect();
            tables.sort_unstable();
            tables.dedup();
            let held = u.live == 0;
            let exclusive = held && inode_tags.len() == 1 && u.backups == 0 && u.seen >= u.nlink;
            if held {
                holds.node.bytes += u.size;
                holds.node.inodes += 1;
                for t in &tables {
                    let h = holds.tables.entry(*t as usize).or_default();
                    h.bytes += u.size;
                    h.inodes += 1;
                }
            }
            for tag in &inode_tags {
                let s = holds
                    .snapshots
                    .entry(tags[*tag as usize].to_string())
                    .or_default();
                s.size_bytes += u.size;
                s.files += 1;
                if exclusive {
                    s.exclusive_bytes += u.size;
                    s.exclusive_inodes += 1;
                } else if held {
                    s.shared_bytes += u.size;
                }
                let mut tag_tables: Vec<u32> = u
                    .snaps
                    .iter()
                    .filter(|(t, _)| t == tag)
                    .map(|(_, ti)| *ti)
                    .collect();
                tag_tables.dedup();
                for ti in tag_tables {
                    let e = s.tables.entry(ti as usize).or_default();
                    e.0 += u.size;
                    if exclusive {
                        e.1 += u.size;
                    } else if held {
                        e.2 += u.size;
                    }
                }
            }
        }
        holds
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
        assert_eq!(t.live.bytes(), 1400);
        assert_eq!(t.live.sstables(), 2);
        assert_eq!(t.snapshots.len(), 1);
        assert_eq!(t.snapshots[0].tag, "nightly");
        assert_eq!(t.snapshots[0].files.bytes(), 1630);
        assert_eq!(t.backups.bytes(), 900);
        assert!(scan.data_dirs[0].fs.is_some());
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
