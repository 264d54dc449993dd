//! Disk and inode headroom per data directory after the restore, and what must be freed first
//! when too little would stay free.

use std::path::Path;

use super::{Headroom, PlanContext, TablePlan};
use crate::node::Node;
use crate::restore::RestoreError;

/// The headroom of each data directory the tables use, and the sentences of those short of
/// room (they block the plan).
pub fn headroom(
    ctx: &PlanContext<'_>,
    tables: &[TablePlan],
) -> Result<(Vec<Headroom>, Vec<String>), RestoreError> {
    let on_node = Node::local(ctx.node);
    let mut headroom = Vec::new();
    let mut short = Vec::new();
    let mut dirs: Vec<&String> = tables.iter().map(|t| &t.data_dir).collect();
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let need_bytes: u64 = tables
            .iter()
            .filter(|t| t.data_dir == *d)
            .map(|t| t.bytes_to_copy + t.download_bytes)
            .sum();
        let need_inodes: u64 = tables
            .iter()
            .filter(|t| t.data_dir == *d && (!t.hard_link || t.download_bytes > 0))
            .map(|t| t.files.len() as u64)
            .sum();
        // A data directory that is gone (a node rebuilt from a store) is made on the
        // filesystem of its nearest existing parent.
        let on_fs = Path::new(d)
            .ancestors()
            .find(|p| p.exists())
            .unwrap_or(Path::new(d));
        match on_node.fs_stats(on_fs) {
            Ok(fs) => {
                let free_b = fs.avail_bytes.saturating_sub(need_bytes);
                let free_i = fs.free_inodes.saturating_sub(need_inodes);
                let pct = |free: u64, total: u64| (free * 100).checked_div(total).unwrap_or(100);
                let (pb, pi) = (pct(free_b, fs.total_bytes), pct(free_i, fs.total_inodes));
                // What must be freed first: the copy plus the share that must stay free.
                let keep = |total: u64| {
                    (u128::from(total) * u128::from(ctx.min_free_pct)).div_ceil(100) as u64
                };
                let short_b = (need_bytes + keep(fs.total_bytes)).saturating_sub(fs.avail_bytes);
                let short_i = if fs.total_inodes == 0 {
                    0
                } else {
                    (need_inodes + keep(fs.total_inodes)).saturating_sub(fs.free_inodes)
                };
                if short_b > 0 || short_i > 0 {
                    let mut what = Vec::new();
                    if short_b > 0 {
                        what.push(format!(
                            "{} ({short_b} bytes)",
                            app::api::format_bytes(short_b as i64)
                        ));
                    }
                    if short_i > 0 {
                        what.push(format!("{short_i} inodes"));
                    }
                    short.push(format!(
                        "Too little room on the filesystem of {d}: the restore copies or downloads {} in {need_inodes} new files and at least {} % of bytes and inodes must stay free, so {} more must be freed first ({pb} % bytes, {pi} % inodes would be free).",
                        app::api::format_bytes(need_bytes as i64),
                        ctx.min_free_pct,
                        what.join(" and ")
                    ));
                }
                headroom.push(Headroom {
                    data_dir: d.clone(),
                    total_bytes: fs.total_bytes,
                    free_bytes_after: free_b,
                    total_inodes: fs.total_inodes,
                    free_inodes_after: free_i,
                    free_bytes_pct: pb,
                    free_inodes_pct: pi,
                    ok: short_b == 0 && short_i == 0,
                });
            }
            Err(e) => {
                return Err(RestoreError::Conflict(format!(
                    "cannot read the filesystem of {d}: {e}"
                )));
            }
        }
    }
    Ok((headroom, short))
}
