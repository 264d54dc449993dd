//! Snapshot holds from inodes: which bytes only snapshots keep alive, and which of them each
//! snapshot alone keeps (what clearing it frees).
//!
//! The figures are sums over inodes, so they are tallied one table at a time while the scan
//! streams: an inode whose links (`st_nlink`) were all seen inside its own table's directories,
//! which is every inode Cassandra makes, is settled there and forgotten. Only an inode with a
//! link elsewhere (a hard link made by hand, or one outside the scanned directories) waits in
//! memory until the scan ends, with the links other tables had to it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::tree::{FileEntry, TableDir};

/// What snapshots cost, computed from inodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Holds {
    /// Per snapshot tag (across the tables it covers).
    pub snapshots: BTreeMap<String, SnapshotHold>,
    /// Per table (index into [`super::NodeScan::tables`]): bytes and inodes kept alive only by
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
    /// Per table index: (size, exclusive, shared) bytes and the exclusive inodes.
    pub tables: BTreeMap<usize, (u64, u64, u64, u64)>,
}

/// The links of one inode that a scan saw.
#[derive(Debug, Clone, Default)]
struct InodeUse {
    size: u64,
    nlink: u64,
    seen: u64,
    live: u64,
    backups: u64,
    /// (tag, table index) of each snapshot link.
    snaps: Vec<(u32, u32)>,
}

impl InodeUse {
    fn note(&mut self, f: &FileEntry) {
        self.size = f.size;
        self.nlink = f.nlink;
        self.seen += 1;
    }
}

type InodeKey = (u64, u64);

/// Links of an inode outside any snapshot, seen in a table that could not settle it.
#[derive(Debug, Clone, Copy, Default)]
struct LooseLinks {
    live: u64,
    backups: u64,
}

impl Holds {
    /// Adds one inode's share. `tag` names a tag id; table indices are already final.
    fn add(&mut self, u: &InodeUse, tag: impl Fn(u32) -> String) {
        let mut snaps = u.snaps.clone();
        snaps.sort_unstable();
        snaps.dedup();
        let mut tags: Vec<u32> = snaps.iter().map(|(t, _)| *t).collect();
        tags.dedup();
        let mut tables: Vec<u32> = snaps.iter().map(|(_, t)| *t).collect();
        tables.sort_unstable();
        tables.dedup();
        let held = u.live == 0;
        let exclusive = held && tags.len() == 1 && u.backups == 0 && u.seen >= u.nlink;
        if held {
            self.node.bytes += u.size;
            self.node.inodes += 1;
            for t in &tables {
                let h = self.tables.entry(*t as usize).or_default();
                h.bytes += u.size;
                h.inodes += 1;
            }
        }
        for t in &tags {
            let s = self.snapshots.entry(tag(*t)).or_default();
            s.size_bytes += u.size;
            s.files += 1;
            if exclusive {
                s.exclusive_bytes += u.size;
                s.exclusive_inodes += 1;
            } else if held {
                s.shared_bytes += u.size;
            }
            for (_, ti) in snaps.iter().filter(|(st, _)| st == t) {
                let e = s.tables.entry(*ti as usize).or_default();
                e.0 += u.size;
                if exclusive {
                    e.1 += u.size;
                    e.3 += 1;
                } else if held {
                    e.2 += u.size;
                }
            }
        }
    }
}

/// The running tally of a scan: the holds settled so far, and the inodes still waiting.
#[derive(Debug, Clone, Default)]
pub struct HoldTally {
    holds: Holds,
    tags: Vec<String>,
    tag_ids: HashMap<String, u32>,
    /// Snapshot-linked inodes with links not seen yet.
    waiting: HashMap<InodeKey, InodeUse>,
    /// Live and backup links of other inodes with links not seen in their table.
    loose: HashMap<InodeKey, LooseLinks>,
}

impl HoldTally {
    fn tag_id(&mut self, tag: &str) -> u32 {
        if let Some(id) = self.tag_ids.get(tag) {
            return *id;
        }
        let id = self.tags.len() as u32;
        self.tags.push(tag.to_string());
        self.tag_ids.insert(tag.to_string(), id);
        id
    }

    /// Tallies the directories of one table (all its data directories), whose first one is
    /// table `first` of the scan and the others follow it.
    pub fn add_table(&mut self, first: usize, parts: &[TableDir]) {
        let mut inodes: HashMap<InodeKey, InodeUse> = HashMap::new();
        for (k, t) in parts.iter().enumerate() {
            let table = (first + k) as u32;
            for s in &t.snapshots {
                let tag = self.tag_id(&s.tag);
                for f in &s.files.files {
                    let u = inodes.entry((f.dev, f.ino)).or_default();
                    u.note(f);
                    u.snaps.push((tag, table));
                }
            }
            // A file with one link is in no snapshot; only shared inodes matter here.
            for f in t.live.files.iter().filter(|f| f.nlink > 1) {
                let u = inodes.entry((f.dev, f.ino)).or_default();
                u.note(f);
                u.live += 1;
            }
            for f in t.backups.files.iter().filter(|f| f.nlink > 1) {
                let u = inodes.entry((f.dev, f.ino)).or_default();
                u.note(f);
                u.backups += 1;
            }
        }
        for (key, u) in inodes {
            let settled = u.seen >= u.nlink;
            match (u.snaps.is_empty(), settled) {
                (true, true) => {}
                (true, false) => {
                    let l = self.loose.entry(key).or_default();
                    l.live += u.live;
                    l.backups += u.backups;
                }
                (false, true) => {
                    let tags = &self.tags;
                    self.holds.add(&u, |t| tags[t as usize].clone());
                }
                (false, false) => {
                    let w = self.waiting.entry(key).or_default();
                    w.size = u.size;
                    w.nlink = u.nlink;
                    w.seen += u.seen;
                    w.live += u.live;
                    w.backups += u.backups;
                    w.snaps.extend(u.snaps);
                }
            }
        }
    }

    /// The holds once every table was tallied: the waiting inodes with the links other tables
    /// had to them.
    pub fn finish(mut self) -> Holds {
        for (key, mut u) in std::mem::take(&mut self.waiting) {
            if let Some(l) = self.loose.get(&key) {
                u.live += l.live;
                u.backups += l.backups;
                u.seen += l.live + l.backups;
            }
            let tags = &self.tags;
            self.holds.add(&u, |t| tags[t as usize].clone());
        }
        self.holds
    }
}
