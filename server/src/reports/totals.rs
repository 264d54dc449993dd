//! The points of several series summed per time: the totals a chart draws and the page lists.

use std::collections::HashMap;

use app::api::{FsPoint, StoragePoint};

/// A point of a series that adds up with the points of other series at the same time.
pub trait Summed: Copy {
    fn at(&self) -> i64;
    /// Adds `other`'s figures (not its time) to these.
    fn add(&mut self, other: &Self);
}

impl Summed for StoragePoint {
    fn at(&self) -> i64 {
        self.at
    }
    fn add(&mut self, p: &Self) {
        self.live_bytes += p.live_bytes;
        self.live_inodes += p.live_inodes;
        self.hold_bytes += p.hold_bytes;
        self.hold_inodes += p.hold_inodes;
        self.backups_bytes += p.backups_bytes;
        self.backups_files += p.backups_files;
        self.compacted_bytes += p.compacted_bytes;
    }
}

impl Summed for FsPoint {
    fn at(&self) -> i64 {
        self.at
    }
    fn add(&mut self, p: &Self) {
        self.used_bytes += p.used_bytes;
        self.avail_bytes += p.avail_bytes;
        self.total_bytes += p.total_bytes;
        self.used_inodes += p.used_inodes;
        self.free_inodes += p.free_inodes;
        self.total_inodes += p.total_inodes;
    }
}

/// Points of several series summed per time, sorted by time.
pub fn sum_per_time<'a, P: Summed + 'a>(points: impl IntoIterator<Item = &'a P>) -> Vec<P> {
    let mut totals: HashMap<i64, P> = HashMap::new();
    for p in points {
        totals.entry(p.at()).and_modify(|t| t.add(p)).or_insert(*p);
    }
    let mut totals: Vec<P> = totals.into_values().collect();
    totals.sort_by_key(Summed::at);
    totals
}
