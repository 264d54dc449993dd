//! Files a restore downloads from a store, on the node: the download directories beside the
//! restore's staging (`<data dir>/.snapkeep-staging/<name>.download/...`), checked to be below
//! a configured data directory through real directories only; the plan bound to the inodes of
//! what was downloaded and checked; their removal.

use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use app::api::{Plan, TablePlan};

use super::NodeConfig;
use super::staging::{STAGING_DIR, remove_staging};

/// The download directory of a planned table, checked to be below the staging root of one of
/// the node's data directories, through real directories only (made when missing).
pub fn checked_download_dir(t: &TablePlan, node: &NodeConfig) -> Result<PathBuf, String> {
    let data_dir = PathBuf::from(&t.data_dir);
    if !node.data_dirs.contains(&data_dir) {
        return Err(format!(
            "{} is not one of the node's data directories",
            t.data_dir
        ));
    }
    let dir = PathBuf::from(&t.source_dir);
    let root = data_dir.join(STAGING_DIR);
    if !dir.starts_with(&root)
        || dir
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "download directory {} is outside {}",
            dir.display(),
            root.display()
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::node::disk::real_dirs_below(&data_dir, &dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The plan with each downloaded file's inode filled in, so the steps after the download
/// link exactly the files that were checked. A file missing or of another size is an error.
pub fn bind(plan: &Plan) -> Result<Plan, String> {
    let mut bound = plan.clone();
    for t in &mut bound.tables {
        let dir = PathBuf::from(&t.source_dir);
        for f in &mut t.files {
            let path = dir.join(&f.name);
            let m = std::fs::symlink_metadata(&path).map_err(|e| {
                format!(
                    "the downloaded {} is gone ({e}); resume the restore to download it again",
                    path.display()
                )
            })?;
            if !m.is_file() || m.len() != f.size {
                return Err(format!(
                    "the downloaded {} has {} bytes where {} were checked; resume the restore to download it again",
                    path.display(),
                    m.len(),
                    f.size
                ));
            }
            f.inode = m.ino();
        }
    }
    Ok(bound)
}

/// Removes a restore's download directories (and the staging root when it is left empty).
pub fn remove_downloads(plan: &Plan, node: &NodeConfig) -> Result<String, String> {
    let mut removed = Vec::new();
    for t in &plan.tables {
        let dir = PathBuf::from(&t.source_dir);
        let data_dir = PathBuf::from(&t.data_dir);
        if !node.data_dirs.contains(&data_dir) || !dir.starts_with(data_dir.join(STAGING_DIR)) {
            continue;
        }
        if dir.exists() {
            remove_staging(&dir, &data_dir)?;
            removed.push(dir.display().to_string());
        }
    }
    Ok(if removed.is_empty() {
        "no downloaded files left".to_string()
    } else {
        format!("removed the downloaded files in {}", removed.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::PlanFile;

    #[test]
    fn the_plan_is_bound_to_what_was_downloaded_and_the_download_removed_within_the_data_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let down = data
            .join(STAGING_DIR)
            .join("r1.download")
            .join("shop")
            .join("orders-01");
        let node = NodeConfig::new("n1", vec![data.clone()]);
        let mut t = crate::node::orders_plan(
            &down,
            vec![PlanFile {
                name: "nb-1-big-Data.db".into(),
                size: 3,
                inode: 0,
                sha256: Some("ab".repeat(32)),
            }],
        );
        t.data_dir = data.display().to_string();
        let plan = Plan {
            node: "n1".into(),
            tag: "nightly".into(),
            target: app::api::Target::InPlace,
            truncate: false,
            safety_tag: None,
            tables: vec![t],
            headroom: Vec::new(),
            min_free_pct: 0,
            steps: Vec::new(),
            blocked: Vec::new(),
            verdict: app::api::Verdict::Compatible,
            commitlog_aside: None,
            notes: Vec::new(),
            source_store: Some("offsite".into()),
            disaster_recovery: false,
        };
        assert_eq!(
            checked_download_dir(&plan.tables[0], &node).expect("made"),
            down
        );
        let err = bind(&plan).expect_err("nothing downloaded yet");
        assert!(
            err.contains("resume the restore to download it again"),
            "{err}"
        );
        std::fs::write(down.join("nb-1-big-Data.db"), b"ab").expect("write");
        let err = bind(&plan).expect_err("short");
        assert!(err.contains("has 2 bytes where 3 were checked"), "{err}");
        std::fs::write(down.join("nb-1-big-Data.db"), b"abc").expect("write");
        let bound = bind(&plan).expect("bound");
        assert_ne!(bound.tables[0].files[0].inode, 0);

        // A download directory outside the staging root is neither made nor removed.
        let mut outside = plan.clone();
        outside.tables[0].source_dir = data.join("shop").display().to_string();
        assert!(checked_download_dir(&outside.tables[0], &node).is_err());
        std::fs::create_dir_all(data.join("shop")).expect("mkdir");
        remove_downloads(&outside, &node).expect("nothing to do");
        assert!(data.join("shop").is_dir());

        let line = remove_downloads(&plan, &node).expect("removed");
        assert!(line.contains("removed"), "{line}");
        assert!(
            !data.join(STAGING_DIR).exists(),
            "empty parents removed too"
        );
    }
}
