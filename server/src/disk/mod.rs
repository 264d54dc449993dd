//! The disk: an inode-aware scanner of Cassandra data directories and filesystem statistics
//! (statvfs). Later, the one module that links, copies and removes files, and only inside the
//! configured roots.

pub mod scan;
pub mod statvfs;

pub use scan::{FileEntry, FileSet, NodeScan, ScanError, SnapshotDir, TableDir, scan_data_dirs};
pub use statvfs::{FsStats, fs_stats};
