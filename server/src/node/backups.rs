//! A node's incremental backups and the files an upload reads: the `backups/` directory of
//! every table, grouped into SSTable sets (complete when every component its `TOC.txt` lists
//! is there), files opened for reading without following links, and backup links removed
//! once their upload is verified. Every path is built from checked names under one of the
//! node's configured data directories.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::disk::{self, RemoveError, TableRef, component, real_dirs_below, scan};

/// One file in a table's `backups/` directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupFile {
    pub name: String,
    pub size: u64,
    pub ino: u64,
    /// Modification time, Unix milliseconds.
    pub mtime_ms: i64,
}

/// One table's `backups/` directory and its files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupTable {
    pub table: TableRef,
    pub files: Vec<BackupFile>,
}

/// The components of one SSTable (`nb-12-big-`) found in a `backups/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstableSet {
    /// The name up to the component (`nb-12-big-`).
    pub prefix: String,
    pub files: Vec<BackupFile>,
    /// Components `TOC.txt` lists that are not there (all of them when there is no TOC).
    pub missing: Vec<String>,
}

impl SstableSet {
    /// Every component the TOC lists is present (and the TOC itself).
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Lists the `backups/` directory of every table under the data directories. Tables without
/// one, or with an empty one, are left out; subdirectories (secondary indexes) are not read.
pub fn list(data_dirs: &[PathBuf]) -> Result<Vec<BackupTable>, String> {
    let mut out = Vec::new();
    for dd in data_dirs {
        let keyspaces = match std::fs::read_dir(dd) {
            Ok(rd) => rd,
            Err(e) => return Err(format!("cannot read data directory {}: {e}", dd.display())),
        };
        for ks in keyspaces.flatten() {
            if !ks.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Some(keyspace) = ks.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(tables) = std::fs::read_dir(ks.path()) else {
                continue;
            };
            for t in tables.flatten() {
                if !t.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let name = t.file_name();
                let Some((table, id)) = name.to_str().and_then(scan::parse_table_dir_name) else {
                    continue;
                };
                let table = TableRef {
                    data_dir: dd.clone(),
                    keyspace: keyspace.clone(),
                    table: table.to_string(),
                    table_id: id.to_string(),
                };
                let files = read_backups_dir(&t.path().join("backups"))?;
                if !files.is_empty() {
                    out.push(BackupTable { table, files });
                }
            }
        }
    }
    Ok(out)
}

fn read_backups_dir(dir: &Path) -> Result<Vec<BackupFile>, String> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in rd.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.file_type().is_file() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        files.push(BackupFile {
            name,
            size: meta.len(),
            ino: meta.ino(),
            mtime_ms: meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Splits `nb-12-big-Data.db` into (`nb-12-big-`, `Data.db`): component names hold no `-`.
pub fn split_component(name: &str) -> Option<(&str, &str)> {
    let i = name.rfind('-')?;
    let (prefix, comp) = name.split_at(i + 1);
    (!comp.is_empty() && prefix.len() > 1).then_some((prefix, comp))
}

/// Groups a `backups/` directory's files into SSTable sets; `toc` reads a set's `TOC.txt`
/// (`None` when unreadable). Files that are no SSTable component are left out.
pub fn sets(files: &[BackupFile], toc: impl Fn(&str) -> Option<String>) -> Vec<SstableSet> {
    let mut by_prefix: BTreeMap<&str, Vec<&BackupFile>> = BTreeMap::new();
    for f in files {
        if let Some((prefix, _)) = split_component(&f.name) {
            by_prefix.entry(prefix).or_default().push(f);
        }
    }
    by_prefix
        .into_iter()
        .map(|(prefix, fs)| {
            let have: Vec<&str> = fs
                .iter()
                .filter_map(|f| split_component(&f.name).map(|(_, c)| c))
                .collect();
            let missing = match have
                .contains(&"TOC.txt")
                .then(|| toc(&format!("{prefix}TOC.txt")))
                .flatten()
            {
                Some(text) => text
                    .lines()
                    .map(str::trim)
                    .filter(|c| !c.is_empty() && !have.contains(c))
                    .map(str::to_string)
                    .collect(),
                None => vec!["TOC.txt".to_string()],
            };
            SstableSet {
                prefix: prefix.to_string(),
                files: fs.into_iter().cloned().collect(),
                missing,
            }
        })
        .collect()
}

/// `<table dir>/backups`, checked.
pub fn backups_dir(data_dirs: &[PathBuf], table: &TableRef) -> Result<PathBuf, RemoveError> {
    Ok(disk::table_dir(data_dirs, table)?.join("backups"))
}

/// Opens `dir/name` for reading: `dir` must be a real directory below the table's data
/// directory (no link on the way) and `name` a plain regular file, never a link.
pub fn open_in(data_dir: &Path, dir: &Path, name: &str) -> Result<File, RemoveError> {
    let name = component("file", name)?;
    if !real_dirs_below(data_dir, dir)? {
        return Err(RemoveError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        });
    }
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|source| RemoveError::Io {
            path: path.clone(),
            source,
        })?;
    match file.metadata() {
        Ok(m) if m.is_file() => Ok(file),
        Ok(_) => Err(RemoveError::NotADirectory { path }),
        Err(source) => Err(RemoveError::Io { path, source }),
    }
}

/// Removes `name` from a table's `backups/` directory if it is still the inode `ino` that was
/// uploaded; `Ok(false)` when it is gone or was replaced.
pub fn remove_backup(
    data_dirs: &[PathBuf],
    table: &TableRef,
    name: &str,
    ino: u64,
) -> Result<bool, RemoveError> {
    let dir = backups_dir(data_dirs, table)?;
    let name = component("file", name)?;
    if !real_dirs_below(&table.data_dir, &dir)? {
        return Ok(false);
    }
    let path = dir.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() && m.ino() == ino => {
            std::fs::remove_file(&path).map_err(|source| RemoveError::Io { path, source })?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(RemoveError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> BackupFile {
        BackupFile {
            name: name.into(),
            size: 1,
            ino: 1,
            mtime_ms: 0,
        }
    }

    #[test]
    fn a_set_is_complete_when_its_toc_components_are_all_there() {
        let files = [
            "nb-1-big-Data.db",
            "nb-1-big-Index.db",
            "nb-1-big-TOC.txt",
            "nb-2-big-Data.db",
            "nb-2-big-TOC.txt",
            "nb-3-big-Data.db",
            "stray",
        ]
        .map(file);
        let toc = |name: &str| match name {
            "nb-1-big-TOC.txt" => Some("Data.db\nIndex.db\nTOC.txt\n".to_string()),
            "nb-2-big-TOC.txt" => Some("Data.db\nFilter.db\nTOC.txt\n".to_string()),
            _ => None,
        };
        let sets = sets(&files, toc);
        let got: Vec<(&str, usize, Vec<&str>)> = sets
            .iter()
            .map(|s| {
                (
                    s.prefix.as_str(),
                    s.files.len(),
                    s.missing.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("nb-1-big-", 3, vec![]),
                ("nb-2-big-", 2, vec!["Filter.db"]),
                ("nb-3-big-", 1, vec!["TOC.txt"]),
            ]
        );
        assert!(sets[0].complete() && !sets[1].complete());
    }

    #[test]
    fn lists_backups_and_removes_only_the_uploaded_inode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let id = "0123456789abcdef0123456789abcdef";
        let b = data
            .join("shop")
            .join(format!("orders-{id}"))
            .join("backups");
        std::fs::create_dir_all(&b).expect("mkdir");
        std::fs::write(b.join("nb-1-big-Data.db"), b"abc").expect("write");
        std::fs::create_dir_all(data.join("shop").join(format!("empty-{id}"))).expect("mkdir");
        let tables = list(std::slice::from_ref(&data)).expect("list");
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!((t.table.table.as_str(), t.files[0].size), ("orders", 3));
        let ino = t.files[0].ino;
        let dirs = [data.clone()];
        assert!(!remove_backup(&dirs, &t.table, "nb-1-big-Data.db", ino + 1).expect("other"));
        assert!(remove_backup(&dirs, &t.table, "nb-1-big-Data.db", ino).expect("same"));
        assert!(!remove_backup(&dirs, &t.table, "nb-1-big-Data.db", ino).expect("gone"));
        assert!(remove_backup(&dirs, &t.table, "../x", ino).is_err());
        let elsewhere = [dir.path().join("other")];
        assert!(remove_backup(&elsewhere, &t.table, "nb-1-big-Data.db", ino).is_err());
    }

    #[test]
    fn opening_refuses_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("d");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(dir.path().join("secret"), b"x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("secret"), d.join("link")).expect("link");
        std::fs::write(d.join("plain"), b"x").expect("write");
        assert!(open_in(dir.path(), &d, "plain").is_ok());
        assert!(open_in(dir.path(), &d, "link").is_err());
        assert!(open_in(dir.path(), &d, "../secret").is_err());
    }
}

/// Where a snapshot fetched back from a store is written: the directory it ends in
/// (`<table dir>/snapshots/<tag>`) and the one it is written to first (`snapshots/.fetch-<tag>`),
/// renamed to the first only when every file is in and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchDirs {
    pub partial: PathBuf,
    pub done: PathBuf,
}

/// The table's data directory: the configured one already holding `<keyspace>/<table>-<id>`,
/// else the first.
pub fn home_data_dir(data_dirs: &[PathBuf], keyspace: &str, dir_name: &str) -> Option<PathBuf> {
    data_dirs
        .iter()
        .find(|d| d.join(keyspace).join(dir_name).is_dir())
        .or(data_dirs.first())
        .cloned()
}

/// Makes the partial directory of a fetch (an old partial one is removed first). Refuses when
/// the snapshot is on the node already.
pub fn prepare_fetch(
    data_dirs: &[PathBuf],
    table: &TableRef,
    tag: &str,
) -> Result<FetchDirs, RemoveError> {
    let done = disk::snapshot_dir(data_dirs, table, tag)?;
    let snapshots = done
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| done.clone());
    let partial = snapshots.join(format!(".fetch-{}", component("snapshot tag", tag)?));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RemoveError::Io { path, source }
    };
    std::fs::create_dir_all(&snapshots).map_err(io(&snapshots))?;
    // Created below the data directory: nothing on the way may be a link.
    real_dirs_below(&table.data_dir, &snapshots)?;
    if done.exists() {
        return Err(RemoveError::Io {
            path: done,
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "the snapshot is on the node already; clear it first to fetch it again",
            ),
        });
    }
    if real_dirs_below(&table.data_dir, &partial)? {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir(&partial).map_err(io(&partial))?;
    Ok(FetchDirs { partial, done })
}

/// The path of file `rel` (a name, or `dir/name` for index files) inside a fetch's partial
/// directory, its parent directories made; every part checked.
pub fn fetch_path(dirs: &FetchDirs, rel: &str) -> Result<PathBuf, RemoveError> {
    let mut path = dirs.partial.clone();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(component("file", part)?);
        if i + 1 < parts.len() && !path.is_dir() {
            std::fs::create_dir(&path).map_err(|source| RemoveError::Io {
                path: path.clone(),
                source,
            })?;
        }
    }
    Ok(path)
}

/// Renames a complete fetch into place.
pub fn finish_fetch(dirs: &FetchDirs) -> Result<(), RemoveError> {
    std::fs::rename(&dirs.partial, &dirs.done).map_err(|source| RemoveError::Io {
        path: dirs.done.clone(),
        source,
    })
}

/// Removes what a failed fetch wrote.
pub fn discard_fetch(dirs: &FetchDirs) {
    if dirs.partial.is_dir() {
        let _ = std::fs::remove_dir_all(&dirs.partial);
    }
}
