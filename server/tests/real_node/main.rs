//! Integration tests against one real Apache Cassandra 5.0 node, started once for this test
//! binary with `snapkeep dev-node`'s launcher (stopped when the binary exits) and driven by
//! the real nodetool, through the real router and the `snapkeep` binary. Each test gets its
//! own keyspace; the full-node restore, which stops and starts the node, runs alone (see
//! `support::node`). One module per domain.

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod backups;
mod drills;
mod fullnode;
mod inventory;
mod reports;
mod restore;
mod schedules;
mod snapshots;

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::Duration;

/// An independent `du -b`-style walk: bytes of distinct inodes of regular files directly in
/// `dir` (not in subdirectories), and their number.
fn live_bytes_by_hand(dir: &Path) -> (u64, u64) {
    let mut seen = HashSet::new();
    let mut bytes = 0;
    for e in std::fs::read_dir(dir).expect("read table dir") {
        let m = std::fs::symlink_metadata(e.expect("entry").path()).expect("stat");
        if m.is_file() && seen.insert((m.dev(), m.ino())) {
            bytes += m.len();
        }
    }
    (bytes, seen.len() as u64)
}

/// An independent inode walk of one snapshot directory: (all bytes, bytes of inodes no other
/// path links, files).
fn snapshot_bytes_by_hand(dir: &Path) -> (u64, u64, u64) {
    let (mut all, mut only, mut files) = (0, 0, 0);
    for e in std::fs::read_dir(dir).expect("snapshot dir") {
        let m = std::fs::symlink_metadata(e.expect("entry").path()).expect("stat");
        if m.is_file() {
            files += 1;
            all += m.len();
            if m.nlink() == 1 {
                only += m.len();
            }
        }
    }
    (all, only, files)
}

/// `snapshot_bytes_by_hand` (all, exclusive) once compaction's deletions have finished: the
/// exclusive bytes are above the metadata files alone and two walks a second apart agree.
async fn settled_snapshot_bytes(dir: &Path) -> (u64, u64) {
    let mut last = None;
    for _ in 0..60 {
        let (all, only, _) = snapshot_bytes_by_hand(dir);
        if only > 1000 && last == Some((all, only)) {
            return (all, only);
        }
        last = Some((all, only));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("the snapshot's exclusive bytes did not settle within a minute: {last:?}");
}

/// True for the files of an SSTable (`…-big-…` or `…-bti-…`).
fn is_sstable_file(name: &str) -> bool {
    name.contains("-big-") || name.contains("-bti-")
}

/// SSTable component files directly in a table directory: (name, inode) → bytes.
fn sstable_files_by_hand(dir: &Path) -> BTreeMap<(String, u64), u64> {
    std::fs::read_dir(dir)
        .expect("table dir")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let m = std::fs::symlink_metadata(e.path()).ok()?;
            (m.is_file() && is_sstable_file(&name)).then(|| ((name, m.ino()), m.len()))
        })
        .collect()
}

/// Bytes of a snapshot's own metadata files (`manifest.json`, `schema.cql`).
fn snapshot_metadata_bytes(snap: &Path) -> u64 {
    ["manifest.json", "schema.cql"]
        .iter()
        .map(|f| {
            std::fs::metadata(snap.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}
