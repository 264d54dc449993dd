//! The disk of a node: what a table directory holds ([`tree`]), the streaming inode-aware
//! scanner of the data directories ([`scan`]) and the snapshot holds it tallies ([`holds`]),
//! filesystem statistics ([`statvfs`]), directories opened once for linking ([`linkat`]), and
//! paths checked to stay inside the configured data directories, with removal ([`remove`]),
//! and small files read capped and never through a link ([`read`]).

pub mod holds;
pub mod linkat;
pub mod read;
pub mod remove;
pub mod scan;
pub mod statvfs;
pub mod tree;

pub use holds::{HoldFigures, Holds, SnapshotHold};
pub use linkat::OpenDir;
pub use remove::{
    RemoveError, TableRef, component, real_dirs_below, remove_snapshot_dir, snapshot_dir, table_dir,
};
pub use scan::{
    ASIDE_DIR, DataDirScan, Leftover, NodeScan, STAGING_DIR, ScanError, TableFilter, TableSink,
    TableSummary, scan_data_dirs, scan_data_dirs_filtered, scan_streaming,
};
pub use statvfs::{FsStats, fs_stats};
pub use tree::{FileEntry, FileFigures, FileSet, SnapshotDir, TableDir};
