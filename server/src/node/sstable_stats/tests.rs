use super::*;

/// Writes a `Statistics.db` the way Cassandra lays one out, for the versions the reader knows.
struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn new() -> Self {
        Writer { out: Vec::new() }
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn uvint(&mut self, v: u64) -> &mut Self {
        // Cassandra's encoding: as many leading one bits as bytes follow.
        let bits = 64 - v.leading_zeros() as usize;
        let extra = if bits <= 7 {
            0
        } else {
            (bits - 7).div_ceil(7).min(8)
        };
        if extra == 8 {
            self.out.push(0xff);
            self.out.extend_from_slice(&v.to_be_bytes());
            return self;
        }
        let bytes = v.to_be_bytes();
        let first_mask = !(0xffu8 >> extra);
        let first = first_mask | bytes[7 - extra];
        self.out.push(first);
        self.out.extend_from_slice(&bytes[8 - extra..]);
        self
    }
    fn vbytes(&mut self, b: &[u8]) -> &mut Self {
        self.uvint(b.len() as u64);
        self.out.extend_from_slice(b);
        self
    }
    fn histogram(&mut self, counts: &[i64]) -> &mut Self {
        self.i32(counts.len() as i32);
        for (i, c) in counts.iter().enumerate() {
            self.i64(if i == 0 { 1 } else { i as i64 }).i64(*c);
        }
        self
    }
}

struct Stats<'a> {
    partition_buckets: &'a [i64],
    rows: i64,
    clustering_types: &'a [&'a str],
    /// Values of the covered clustering's start and end (oa): raw bytes as written.
    bounds: [&'a [u8]; 2],
}

fn stats_component(l: Layout, s: &Stats<'_>) -> Vec<u8> {
    let mut w = Writer::new();
    w.histogram(s.partition_buckets).histogram(&[0, 3, 4]);
    w.i64(7).i32(42); // commit log upper bound
    w.i64(1).i64(2).i32(3).i32(4).i32(0).i32(0).i64(0); // timestamps .. compression ratio
    w.i32(2).i32(2);
    for _ in 0..2 {
        if l.uint_deletion_time {
            w.i64(1_700_000_000).i32(5);
        } else {
            w.i64(0).i64(5);
        }
    }
    w.i32(0).i64(0); // level, repaired at
    if l.legacy_min_max {
        w.i32(1);
        w.out.extend_from_slice(&4u16.to_be_bytes());
        w.i32(1);
        w.i32(1);
        w.out.extend_from_slice(&4u16.to_be_bytes());
        w.i32(99);
    } else {
        w.uvint(s.clustering_types.len() as u64);
        for t in s.clustering_types {
            w.vbytes(t.as_bytes());
        }
        for (kind, bound) in [(2u8, s.bounds[0]), (5u8, s.bounds[1])] {
            w.u8(kind);
            w.out
                .extend_from_slice(&(s.clustering_types.len() as u16).to_be_bytes());
            w.out.extend_from_slice(bound);
        }
    }
    w.u8(0).i64(s.rows * 3).i64(s.rows);
    if l.commit_log_lower_bound {
        w.i64(6).i32(0);
    }
    if l.commit_log_intervals {
        w.i32(1).i64(6).i32(0).i64(7).i32(42);
    }
    if l.pending_repair {
        w.u8(0);
    }
    if l.is_transient {
        w.u8(0);
    }
    if l.host_id {
        w.u8(1);
        w.out.extend_from_slice(&[0xab; 16]);
    }
    if l.partition_deletions_marker {
        w.u8(0);
    }
    if l.key_range {
        w.vbytes(&[0, 0, 0, 1]).vbytes(&[0, 0, 0, 9]);
    }
    if l.token_space_coverage {
        w.i64(f64::to_bits(0.5) as i64);
    }
    w.out
}

/// A whole file: table of contents, then VALIDATION, COMPACTION, STATS and HEADER, each
/// followed by its CRC32 when the version has checksums.
fn file(l: Layout, stats: &[u8]) -> Vec<u8> {
    let validation = {
        let mut w = Writer::new();
        let p = b"org.apache.cassandra.dht.Murmur3Partitioner";
        w.out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        w.out.extend_from_slice(p);
        w.i64(f64::to_bits(0.01) as i64);
        w.out
    };
    let compaction = {
        let mut w = Writer::new();
        w.i32(3).u8(1).u8(2).u8(3);
        w.out
    };
    let header = vec![0u8; 11];
    let parts = [validation, compaction, stats.to_vec(), header];
    let crc = if l.checksums { 4 } else { 0 };
    let mut at = 4 + 8 * parts.len() + 2 * crc;
    let mut w = Writer::new();
    w.i32(parts.len() as i32);
    if l.checksums {
        let count = crc32fast::hash(&w.out);
        w.i32(count as i32);
    }
    for (i, p) in parts.iter().enumerate() {
        w.i32(i as i32).i32(at as i32);
        at += p.len() + crc;
    }
    if l.checksums {
        let toc = crc32fast::hash(&w.out);
        w.i32(toc as i32);
    }
    for p in &parts {
        w.out.extend_from_slice(p);
        if l.checksums {
            w.i32(crc32fast::hash(p) as i32);
        }
    }
    w.out
}

fn plain(partitions: &[i64], rows: i64) -> Stats<'_> {
    Stats {
        partition_buckets: partitions,
        rows,
        clustering_types: &[],
        bounds: [&[], &[]],
    }
}

#[test]
fn versions_from_file_names() {
    assert_eq!(version_of("nb-12-big-Statistics.db"), Some(("nb", "big")));
    assert_eq!(
        version_of("oa-3gbl_0x1d_2z4vk2ahm0hftqg6pc-big-Statistics.db"),
        Some(("oa", "big"))
    );
    assert_eq!(version_of("da-1-bti-Statistics.db"), Some(("da", "bti")));
    assert_eq!(version_of("nb-12-big-Data.db"), None);
    assert_eq!(version_of("ks-cf-ka-1-Statistics.db"), None);
    assert!(layout("ka", "big").is_none(), "2.x files are not read");
    assert!(layout("nb", "bti").is_none());
    assert!(layout("oa", "big").is_some_and(|l| l.improved_min_max && !l.legacy_min_max));
}

#[test]
fn partitions_and_rows_of_every_known_version() {
    for version in ["ma", "mb", "mc", "md", "me", "na", "nb", "oa"] {
        let l = layout(version, "big").expect("known");
        let bytes = file(l, &stats_component(l, &plain(&[0, 10, 20, 0, 5], 70)));
        assert_eq!(
            parse(&bytes, l),
            Ok(SstableCounts {
                partitions: 35,
                rows: Some(70)
            }),
            "{version}"
        );
    }
}

#[test]
fn oa_reads_past_the_covered_clustering_of_fixed_and_variable_types() {
    let l = layout("oa", "big").expect("oa");
    // (int, text): start = (7, "a"), end = (9, "zz"); header 0 (no value empty or null).
    let mut start = vec![0u8];
    start.extend_from_slice(&7i32.to_be_bytes());
    start.extend_from_slice(&[1, b'a']);
    let mut end = vec![0u8];
    end.extend_from_slice(&9i32.to_be_bytes());
    end.extend_from_slice(&[2, b'z', b'z']);
    let s = Stats {
        partition_buckets: &[0, 4],
        rows: 400,
        clustering_types: &[
            "org.apache.cassandra.db.marshal.Int32Type",
            "org.apache.cassandra.db.marshal.ReversedType(org.apache.cassandra.db.marshal.UTF8Type)",
        ],
        bounds: [&start, &end],
    };
    let bytes = file(l, &stats_component(l, &s));
    assert_eq!(
        parse(&bytes, l).map(|c| c.rows),
        Ok(Some(400)),
        "fixed and length-prefixed clustering values are skipped"
    );

    // A null second value (header bit 3) is not written.
    let mut start = vec![0b1000u8];
    start.extend_from_slice(&7i32.to_be_bytes());
    let s = Stats {
        bounds: [&start, &end],
        ..s
    };
    let bytes = file(l, &stats_component(l, &s));
    assert_eq!(parse(&bytes, l).map(|c| c.rows), Ok(Some(400)));

    // A type the reader does not know: partitions still, rows unknown.
    let s = Stats {
        clustering_types: &["org.example.MyType"],
        bounds: [&[0], &[0]],
        ..s
    };
    let bytes = file(l, &stats_component(l, &s));
    assert_eq!(
        parse(&bytes, l),
        Ok(SstableCounts {
            partitions: 4,
            rows: None
        })
    );
}

#[test]
fn a_damaged_or_misread_file_never_yields_a_number_it_does_not_hold() {
    let l = layout("nb", "big").expect("nb");
    let good = file(l, &stats_component(l, &plain(&[0, 10], 10)));
    // One flipped byte inside STATS: its checksum no longer matches.
    let mut bad = good.clone();
    let stats_at = 4 + 4 + 8 * 4 + 4 + 53 + 4 + 7 + 4 + 10;
    bad[stats_at] ^= 0x40;
    assert!(parse(&bad, l).is_err());
    // Cut anywhere: an error or unknown rows, never a panic.
    for cut in 0..good.len() {
        let _ = parse(&good[..cut], l);
    }
    // Read with the wrong version's layout (no checksums): the tail does not end where the
    // component does, so rows are unknown rather than a wrong number.
    let pre = layout("mc", "big").expect("mc");
    let body = stats_component(l, &plain(&[0, 10], 10));
    let as_mc = file(pre, &body);
    assert_eq!(parse(&as_mc, pre).map(|c| c.rows), Ok(None));
}

#[test]
fn a_directory_sums_its_sstables_and_refuses_a_partial_sum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let l = layout("nb", "big").expect("nb");
    std::fs::write(
        dir.path().join("nb-1-big-Statistics.db"),
        file(l, &stats_component(l, &plain(&[0, 10], 30))),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("nb-2-big-Statistics.db"),
        file(l, &stats_component(l, &plain(&[0, 5], 5))),
    )
    .expect("write");
    std::fs::write(dir.path().join("nb-1-big-Data.db"), b"data").expect("write");
    assert_eq!(
        dir_counts(dir.path()),
        Some(DirCounts {
            sstables: 2,
            partitions: 15,
            rows: Some(35)
        })
    );
    assert_eq!(estimated_rows(dir.path()), Some(35));

    // A symbolic link is not followed: the sum is refused rather than partial.
    let secret = dir.path().join("elsewhere");
    std::fs::write(&secret, b"x").expect("write");
    std::os::unix::fs::symlink(&secret, dir.path().join("nb-3-big-Statistics.db"))
        .expect("symlink");
    assert_eq!(estimated_rows(dir.path()), None);

    let empty = tempfile::tempdir().expect("tempdir");
    assert_eq!(estimated_rows(empty.path()), None);
}

#[test]
fn unsigned_vints_round_trip() {
    for v in [0u64, 1, 127, 128, 300, 1 << 20, u32::MAX as u64, u64::MAX] {
        let mut w = Writer::new();
        w.uvint(v);
        let mut r = Reader::new(&w.out);
        assert_eq!(r.uvint(), Some(v), "{v}");
        assert!(r.done());
    }
}

/// Files Cassandra 5.0.8 wrote (format `nb`) for the demo keyspace: 20,000 customers in two
/// flushes (no clustering columns), and the orders table compacted into one SSTable, 3 orders
/// for each of 20,000 customers of which 2,000 were then deleted (partition tombstones).
#[test]
fn real_cassandra_files_give_their_rows() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sstables");
    assert_eq!(
        dir_counts(&fixtures.join("customers")),
        Some(DirCounts {
            sstables: 2,
            partitions: 20_000,
            rows: Some(20_000)
        })
    );
    assert_eq!(
        dir_counts(&fixtures.join("orders")),
        Some(DirCounts {
            sstables: 1,
            partitions: 20_000,
            rows: Some(54_000)
        }),
        "rows, not partitions; deleted rows are not counted"
    );
    assert_eq!(estimated_rows(&fixtures.join("orders")), Some(54_000));
}

/// A file Cassandra 5.0.8 wrote in format `oa` (`storage_compatibility_mode: NONE`):
/// `system_schema.tables`, partitioned by keyspace with the table name as clustering column.
/// Its covered clustering (text values) is read past and the layout ends where the
/// component does, so the rows are known: at least one per keyspace partition.
#[test]
fn a_real_oa_file_is_read_to_its_end() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sstables/oa/oa-9-big-Statistics.db");
    let c = read_counts(&path).expect("read");
    assert!(c.partitions > 0, "{c:?}");
    let rows = c.rows.expect("oa rows");
    assert!(rows >= c.partitions, "{c:?}");
}
