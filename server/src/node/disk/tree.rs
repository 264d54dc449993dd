//! What a table directory holds, as read from disk: files with their inode facts, sets of
//! them (live SSTables, one snapshot, the backups directory), and their figures.

use std::path::PathBuf;

use serde::Serialize;

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

/// One table directory as read from disk, with every file: what the scan streams, one table at a
/// time, to whoever records it.
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

/// Figures of a set of files, each inode counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileFigures {
    pub bytes: u64,
    pub files: u64,
    pub inodes: u64,
    /// Distinct `…-Data.db` components.
    pub sstables: u64,
}

impl From<&FileSet> for FileFigures {
    fn from(set: &FileSet) -> Self {
        FileFigures {
            bytes: set.bytes(),
            files: set.files.len() as u64,
            inodes: set.inodes(),
            sstables: set.sstables(),
        }
    }
}
