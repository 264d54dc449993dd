//! Row and partition figures from an SSTable's own metadata (`Statistics.db`), for snapshots
//! Snapkeep did not count itself: Cassandra's `truncated-…` and `dropped-…` snapshots, and
//! tables too large to count at snapshot time.
//!
//! `Statistics.db` starts with a table of contents (component count, then type and offset of
//! each; from `na` on, each followed by its CRC32). Its STATS
//! component begins with the partition size histogram, whose bucket counts add up to the
//! SSTable's partitions, and further on holds `totalRows`, the rows written into the SSTable.
//! Big-format versions `ma` to `nb` (Cassandra 3.0 to 4.1, and 5.0 in its default
//! `storage_compatibility_mode: CASSANDRA_4`), `oa` (5.0) and the trie-indexed `da` (5.0) are
//! read. From `na` on, each component is followed by its CRC32, which is checked; for every
//! version the fields after `totalRows` must end where the component ends (Cassandra 5.0 pads
//! `oa`'s with a few zero bytes), so a layout this reader does not know yields "unknown",
//! never a wrong number. Real files of versions `nb` and `oa` are the tests' fixtures.
//!
//! Summed over a snapshot's SSTables the figures are estimates: a row overwritten or deleted
//! in several SSTables is counted in each, so the sum is at or above the rows a query counts.

use std::path::{Path, PathBuf};

use super::disk::read::{ReadFileError, read_bytes_capped_no_follow};

/// Largest `Statistics.db` read (real ones are a few KiB; the key range and histograms bound
/// them).
pub const MAX_STATISTICS_BYTES: u64 = 16 * 1024 * 1024;

/// What one SSTable's metadata says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SstableCounts {
    pub partitions: u64,
    /// `totalRows`; `None` when the layout after the partition histogram could not be read.
    pub rows: Option<u64>,
}

/// Why an SSTable's metadata could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(transparent)]
    File(#[from] ReadFileError),
    #[error("{path}: not an SSTable statistics file name (version-id-format-Statistics.db)")]
    Name { path: PathBuf },
    #[error("{path}: SSTable version {version} is not one Snapkeep reads")]
    Version { path: PathBuf, version: String },
    #[error("{path}: {what}")]
    Layout { path: PathBuf, what: String },
}

/// The SSTable format version a file name carries: `nb-12-big-Statistics.db` → `("nb", big)`.
fn version_of(name: &str) -> Option<(&str, &str)> {
    let mut parts = name.split('-');
    let version = parts.next()?;
    let _id = parts.next()?;
    let format = parts.next()?;
    let component = parts.next()?;
    (parts.next().is_none()
        && component == "Statistics.db"
        && version.len() == 2
        && version.bytes().all(|b| b.is_ascii_lowercase()))
    .then_some((version, format))
}

/// Which optional fields a version writes (Cassandra's `Version` feature flags).
#[derive(Debug, Clone, Copy)]
struct Layout {
    checksums: bool,
    legacy_min_max: bool,
    improved_min_max: bool,
    commit_log_lower_bound: bool,
    commit_log_intervals: bool,
    pending_repair: bool,
    is_transient: bool,
    host_id: bool,
    partition_deletions_marker: bool,
    uint_deletion_time: bool,
    key_range: bool,
    token_space_coverage: bool,
}

fn layout(version: &str, format: &str) -> Option<Layout> {
    // The trie-indexed format's `da` writes what big's `oa` writes.
    let v = match format {
        "big" if ("ma"..="oz").contains(&version) => version,
        "bti" if version.starts_with('d') => "oa",
        _ => return None,
    };
    let at_least = |x: &str| v >= x;
    Some(Layout {
        checksums: at_least("na"),
        legacy_min_max: !at_least("oa"),
        improved_min_max: at_least("oa"),
        commit_log_lower_bound: at_least("mb"),
        commit_log_intervals: at_least("mc"),
        pending_repair: at_least("na"),
        is_transient: at_least("na"),
        host_id: (at_least("me") && !at_least("na")) || at_least("nb"),
        partition_deletions_marker: at_least("oa"),
        uint_deletion_time: at_least("oa"),
        key_range: at_least("oa"),
        token_space_coverage: at_least("oa"),
    })
}

/// Big-endian reads over a byte slice; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
    }
    /// A count written as a Java `int`: refused when negative or larger than `max`.
    fn count(&mut self, max: usize) -> Option<usize> {
        usize::try_from(self.i32()?).ok().filter(|n| *n <= max)
    }
    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    /// Cassandra's unsigned variable-length integer: the leading one bits of the first byte
    /// count the bytes that follow.
    fn uvint(&mut self) -> Option<u64> {
        let first = self.u8()?;
        let extra = first.leading_ones() as usize;
        let mut v = if extra >= 8 {
            0
        } else {
            u64::from(first & (0xff >> extra))
        };
        for b in self.take(extra)? {
            v = (v << 8) | u64::from(*b);
        }
        Some(v)
    }
    fn vint_bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.uvint()?).ok()?;
        self.take(n)
    }
    #[cfg(test)]
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
    /// At the end, or only zero bytes left, a few at most: Cassandra 5.0 sizes the `oa` STATS
    /// component (and its CRC) a little larger than the fields it writes, leaving zeros.
    fn done_but_padding(&self) -> bool {
        let rest = &self.bytes[self.at.min(self.bytes.len())..];
        rest.len() <= MAX_PADDING && rest.iter().all(|b| *b == 0)
    }
}

/// Reads one `*-Statistics.db` file (never through a symbolic link, at most
/// [`MAX_STATISTICS_BYTES`]).
pub fn read_counts(path: &Path) -> Result<SstableCounts, StatsError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let (version, format) = version_of(name).ok_or_else(|| StatsError::Name {
        path: path.to_path_buf(),
    })?;
    let layout = layout(version, format).ok_or_else(|| StatsError::Version {
        path: path.to_path_buf(),
        version: format!("{version} ({format})"),
    })?;
    let bytes = read_bytes_capped_no_follow(path, MAX_STATISTICS_BYTES)?;
    parse(&bytes, layout).map_err(|what| StatsError::Layout {
        path: path.to_path_buf(),
        what,
    })
}

/// The STATS component's type in the table of contents (`MetadataType.STATS`).
const STATS: i32 = 2;

fn parse(file: &[u8], layout: Layout) -> Result<SstableCounts, String> {
    let mut toc = Reader::new(file);
    let n = toc.count(16).ok_or("the table of contents is unreadable")?;
    if layout.checksums {
        toc.take(4).ok_or("the table of contents is cut short")?; // CRC32 of the count
    }
    let mut offsets = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = toc.i32().ok_or("the table of contents is cut short")?;
        let at = toc
            .count(file.len())
            .ok_or("a component offset lies outside the file")?;
        offsets.push((kind, at));
    }
    let start = offsets
        .iter()
        .find(|(k, _)| *k == STATS)
        .map(|(_, at)| *at)
        .ok_or("there is no STATS component")?;
    let next = offsets
        .iter()
        .map(|(_, at)| *at)
        .filter(|at| *at > start)
        .min()
        .unwrap_or(file.len());
    let end = if layout.checksums {
        next.checked_sub(4)
            .filter(|e| *e >= start)
            .ok_or("the STATS component has no room for its checksum")?
    } else {
        next
    };
    let component = &file[start..end];
    if layout.checksums {
        let stored = u32::from_be_bytes(
            file[end..end + 4]
                .try_into()
                .map_err(|_| "the STATS checksum is cut short")?,
        );
        if crc32fast::hash(component) != stored {
            return Err("the STATS component does not match its checksum".into());
        }
    }
    stats(component, layout)
}

/// The STATS component: the partition histogram, then the fields up to `totalRows` and,
/// to prove the layout was read right, the ones after it up to the component's end.
fn stats(component: &[u8], layout: Layout) -> Result<SstableCounts, String> {
    let mut r = Reader::new(component);
    let partitions = histogram_total(&mut r).ok_or("the partition histogram is unreadable")?;
    let rows = rows(&mut r, layout);
    Ok(SstableCounts { partitions, rows })
}

/// Sums an `EstimatedHistogram`: bucket count, then (offset, count) pairs with rising offsets.
fn histogram_total(r: &mut Reader<'_>) -> Option<u64> {
    let n = r.count(10_000)?;
    let mut total: u64 = 0;
    let mut last = i64::MIN;
    for i in 0..n {
        let offset = r.i64()?;
        let count = u64::try_from(r.i64()?).ok()?;
        if i > 1 && offset <= last {
            return None;
        }
        last = offset;
        total = total.checked_add(count)?;
    }
    Some(total)
}

fn rows(r: &mut Reader<'_>, l: Layout) -> Option<u64> {
    histogram_total(r)?; // cells per partition
    r.take(12)?; // commit log upper bound: segment (long), position (int)
    r.take(8 + 8 + 4 + 4 + 4 + 4 + 8)?; // timestamps, deletion times, TTLs, compression ratio
    r.i32()?; // tombstone histogram: max bin size
    let bins = r.count(1 << 20)?;
    r.take(bins * if l.uint_deletion_time { 12 } else { 16 })?;
    r.i32()?; // level
    r.i64()?; // repaired at
    if l.legacy_min_max {
        for _ in 0..2 {
            let values = r.count(u16::MAX as usize)?;
            for _ in 0..values {
                let len = usize::from(r.u16()?);
                r.take(len)?;
            }
        }
    } else if l.improved_min_max {
        let types = clustering_types(r)?;
        for _ in 0..2 {
            clustering_bound(r, &types)?;
        }
    }
    r.flag()?; // legacy counter shards
    let _columns = r.i64()?;
    let rows = u64::try_from(r.i64()?).ok()?;
    if l.commit_log_lower_bound {
        r.take(12)?;
    }
    if l.commit_log_intervals {
        let n = r.count(1 << 20)?;
        r.take(n * 24)?;
    }
    if l.pending_repair && r.flag()? {
        r.take(16)?;
    }
    if l.is_transient {
        r.flag()?;
    }
    if l.host_id && r.flag()? {
        r.take(16)?;
    }
    if l.partition_deletions_marker {
        r.flag()?;
    }
    if l.key_range {
        r.vint_bytes()?;
        r.vint_bytes()?;
    }
    if l.token_space_coverage {
        r.take(8)?;
    }
    r.done_but_padding().then_some(rows)
}

/// Zero bytes allowed after the last field of the STATS component.
const MAX_PADDING: usize = 32;

/// The clustering column types (`AbstractType` names), each as its fixed value length or
/// `None` for a type written with a length. A type this reader does not know ends the read.
fn clustering_types(r: &mut Reader<'_>) -> Option<Vec<Option<usize>>> {
    let n = usize::try_from(r.uvint()?).ok().filter(|n| *n <= 1024)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let name = std::str::from_utf8(r.vint_bytes()?).ok()?;
        out.push(fixed_length(name)?);
    }
    Some(out)
}

/// `Some(Some(len))` for a fixed-length type, `Some(None)` for a length-prefixed one, `None`
/// for a type not known here.
fn fixed_length(name: &str) -> Option<Option<usize>> {
    let name = name.trim();
    if let Some(inner) = name
        .strip_prefix("org.apache.cassandra.db.marshal.ReversedType(")
        .and_then(|s| s.strip_suffix(')'))
    {
        return fixed_length(inner);
    }
    if let Some(args) = name
        .strip_prefix("org.apache.cassandra.db.marshal.VectorType(")
        .and_then(|s| s.strip_suffix(')'))
    {
        let (element, dims) = args.rsplit_once(',')?;
        let dims: usize = dims.trim().parse().ok()?;
        return Some(fixed_length(element)?.map(|len| len * dims));
    }
    let short = name.strip_prefix("org.apache.cassandra.db.marshal.")?;
    let base = short.split('(').next().unwrap_or(short);
    Some(match base {
        "BooleanType" | "ByteType" => Some(1),
        "ShortType" => Some(2),
        "Int32Type" | "FloatType" | "SimpleDateType" => Some(4),
        "LongType" | "DoubleType" | "TimestampType" | "DateType" | "TimeType"
        | "CounterColumnType" => Some(8),
        "UUIDType" | "TimeUUIDType" | "LexicalUUIDType" => Some(16),
        "EmptyType" => Some(0),
        "UTF8Type"
        | "AsciiType"
        | "BytesType"
        | "IntegerType"
        | "DecimalType"
        | "InetAddressType"
        | "DurationType"
        | "FrozenType"
        | "ListType"
        | "SetType"
        | "MapType"
        | "TupleType"
        | "UserType"
        | "CompositeType"
        | "DynamicCompositeType" => None,
        _ => return None,
    })
}

/// One `ClusteringBound`: kind, value count, then the values in blocks of 32, each block
/// led by a header whose two bits per value say "empty" and "null" (neither written).
fn clustering_bound(r: &mut Reader<'_>, types: &[Option<usize>]) -> Option<()> {
    let kind = r.u8()?;
    if kind > 7 {
        return None;
    }
    let size = usize::from(r.u16()?);
    if size > types.len() {
        return None;
    }
    let mut offset = 0;
    while offset < size {
        let limit = (offset + 32).min(size);
        let header = r.uvint()?;
        for (i, len) in types.iter().enumerate().take(limit).skip(offset) {
            let bit = 2 * (i - offset);
            let empty = header & (1 << bit) != 0;
            let null = header & (1 << (bit + 1)) != 0;
            if empty || null {
                continue;
            }
            match len {
                Some(n) => {
                    r.take(*n)?;
                }
                None => {
                    r.vint_bytes()?;
                }
            }
        }
        offset = limit;
    }
    Some(())
}

/// What a snapshot directory's SSTables say, summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirCounts {
    pub sstables: usize,
    pub partitions: u64,
    /// Summed `totalRows`, or `None` when any SSTable's could not be read.
    pub rows: Option<u64>,
}

/// Sums the figures of every `*-Statistics.db` in `dir` (a snapshot or table directory; not
/// descending). `None` when the directory cannot be listed or an SSTable's metadata cannot be
/// read: a partial sum would understate what the snapshot holds.
pub fn dir_counts(dir: &Path) -> Option<DirCounts> {
    let mut out = DirCounts {
        rows: Some(0),
        ..DirCounts::default()
    };
    for entry in std::fs::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.ends_with("-Statistics.db") {
            continue;
        }
        match read_counts(&entry.path()) {
            Ok(c) => {
                out.sstables += 1;
                out.partitions = out.partitions.checked_add(c.partitions)?;
                out.rows = match (out.rows, c.rows) {
                    (Some(a), Some(b)) => a.checked_add(b),
                    _ => None,
                };
            }
            Err(e) => {
                tracing::debug!(error = %e, "SSTable metadata not read");
                return None;
            }
        }
    }
    Some(out)
}

/// Rows a snapshot directory's SSTables hold, estimated: summed `totalRows`, never fewer than
/// the partitions (a partition with only static content is still a row to CQL). `None` when
/// there are no SSTables or any one's rows cannot be read (partitions alone would understate a
/// table with clustering columns).
pub fn estimated_rows(dir: &Path) -> Option<u64> {
    let c = dir_counts(dir)?;
    if c.sstables == 0 {
        return None;
    }
    c.rows.map(|r| r.max(c.partitions))
}

#[cfg(test)]
mod tests;
