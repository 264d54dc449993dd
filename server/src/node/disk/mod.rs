//! The disk: an inode-aware scanner of Cassandra data directories and filesystem statistics
//! (statvfs). Later, the one module that links, copies and removes files, and only inside the
//! configured roots.

pub mod holds;
pub mod linkat;
pub mod remove;
pub mod scan;
pub mod statvfs;

pub use holds::{HoldFigures, Holds, SnapshotHold};
pub use linkat::OpenDir;
pub use remove::{
    RemoveError, TableRef, real_dirs_below, remove_snapshot_dir, snapshot_dir, table_dir,
};
pub use scan::{
    DataDirScan, FileEntry, FileFigures, FileSet, NodeScan, ScanError, SnapshotDir, TableDir,
    TableFilter, TableSink, TableSummary, scan_data_dirs, scan_data_dirs_filtered, scan_streaming,
};
pub use statvfs::{FsStats, fs_stats};
