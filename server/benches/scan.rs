//! Scanner benchmark: builds a synthetic Cassandra data directory of `SNAPKEEP_BENCH_FILES`
//! files (default 1,000,000; a third of the SSTables also hard-linked into `snapshots/`
//! directories) and times Snapkeep's inode-aware scan against `du -s` on the same tree, in the
//! same run. Prints one line per figure; `make bench` records them in README.md.
//!
//! Goal: scan ≤ 1.0× du's time, exact inode de-duplication, peak RSS ≤ 100 MB.

use std::path::Path;
use std::time::Instant;

use snapkeep::node::disk::scan_data_dirs;

const COMPONENTS: [&str; 8] = [
    "Data.db",
    "Index.db",
    "Filter.db",
    "Statistics.db",
    "Summary.db",
    "CompressionInfo.db",
    "Digest.crc32",
    "TOC.txt",
];

fn build(root: &Path, files: usize) -> std::io::Result<(usize, u64)> {
    let per_table = 8_000;
    let tables = files.div_ceil(per_table);
    let mut made = 0usize;
    let mut links = 0u64;
    for t in 0..tables {
        let dir = root
            .join(format!("ks{}", t % 10))
            .join(format!("table{t}-{:032x}", t + 1));
        let snap = dir.join("snapshots").join("nightly");
        std::fs::create_dir_all(&snap)?;
        let mut generation = 0;
        while made < files && made < (t + 1) * per_table {
            generation += 1;
            for c in COMPONENTS {
                let p = dir.join(format!("nb-{generation}-big-{c}"));
                std::fs::write(&p, [b'x'; 64])?;
                made += 1;
                if generation % 3 == 0 {
                    std::fs::hard_link(&p, snap.join(format!("nb-{generation}-big-{c}")))?;
                    made += 1;
                    links += 1;
                }
            }
        }
    }
    Ok((made, links))
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> std::io::Result<()> {
    let files: usize = std::env::var("SNAPKEEP_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("data");
    let t = Instant::now();
    let (made, links) = build(&root, files)?;
    println!(
        "tree: {made} directory entries ({links} hard links into snapshots/) built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let rss_before = peak_rss_kib();

    // Warm the dentry/inode caches equally for both contenders.
    let _ = std::process::Command::new("du")
        .arg("-s")
        .arg(&root)
        .output()?;

    let t = Instant::now();
    let du = std::process::Command::new("du")
        .arg("-s")
        .arg("-b")
        .arg(&root)
        .output()?;
    let du_secs = t.elapsed().as_secs_f64();
    let du_bytes: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);

    let t = Instant::now();
    let scan = scan_data_dirs(std::slice::from_ref(&root));
    let holds = scan.holds();
    let scan_secs = t.elapsed().as_secs_f64();
    let inodes: u64 = scan.tables.iter().map(|t| t.live.inodes).sum();
    let expected_inodes = (made as u64) - links;

    println!("du -s -b: {du_secs:.3} s ({du_bytes} bytes incl. directories)");
    println!(
        "snapkeep scan + holds: {scan_secs:.3} s ({} files seen, {inodes} distinct live inodes, expected {expected_inodes}; node hold {} bytes)",
        scan.files_seen, holds.node.bytes
    );
    println!("ratio scan/du: {:.2}", scan_secs / du_secs.max(1e-9));
    println!(
        "peak RSS: {:.1} MB (before the scan: {:.1} MB)",
        peak_rss_kib() as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    if inodes != expected_inodes {
        eprintln!("inode de-duplication is wrong: {inodes} != {expected_inodes}");
        std::process::exit(1);
    }
    Ok(())
}
