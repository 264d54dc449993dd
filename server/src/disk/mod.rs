//! The disk: an inode-aware scanner of Cassandra data directories and filesystem statistics
//! (statvfs). Later, the one module that links, copies and removes files, and only inside the
//! configured roots.

pub mod linkat;
pub mod remove;
pub mod scan;
pub mod statvfs;

pub use linkat::OpenDir;
pub use remove::{RemoveError, real_dirs_below, remove_snapshot_dir, snapshot_dir, table_dir};
pub use scan::{
    FileEntry, FileSet, NodeScan, ScanError, SnapshotDir, TableDir, TableFilter, scan_data_dirs,
    scan_data_dirs_filtered,
};
pub use statvfs::{FsStats, fs_stats};
