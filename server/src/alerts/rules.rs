//! The rules: from what the catalog (and each node's `backups/` backlog) says now, the alerts
//! that fire, each with what to do. Pure: [`evaluate`] takes [`Facts`] and a time.

use app::api::{DiskUse, format_bytes};

use super::AlertsConfig;

/// One alert as a rule found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub kind: &'static str,
    pub severity: &'static str,
    pub node: Option<String>,
    pub subject: String,
    pub message: String,
    pub action: String,
}

/// A data directory's filesystem at the newest scan.
#[derive(Debug, Clone, Default)]
pub struct FsFact {
    pub node: String,
    pub data_dir: String,
    pub total_bytes: Option<i64>,
    pub avail_bytes: Option<i64>,
    pub free_bytes: Option<i64>,
    pub total_inodes: Option<i64>,
    pub free_inodes: Option<i64>,
}

/// A table directory no longer in the schema that still has snapshots.
#[derive(Debug, Clone, Default)]
pub struct DroppedFact {
    pub node: String,
    pub keyspace: String,
    pub table: String,
    pub table_id: String,
    pub snapshots: i64,
    pub hold_bytes: i64,
}

/// A snapshot still on a node.
#[derive(Debug, Clone, Default)]
pub struct SnapshotFact {
    pub node: String,
    pub tag: String,
    pub kind: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub exclusive_hold_bytes: i64,
}

/// A restore staging or aside directory a scan found.
#[derive(Debug, Clone, Default)]
pub struct LeftoverFact {
    pub node: String,
    pub path: String,
    /// `staging` or `aside`.
    pub kind: String,
    pub bytes: i64,
    pub files: i64,
    /// An open restore on the node may still use it (staging), or a restore keeps it
    /// (aside, until its keeping time).
    pub in_use: bool,
}

/// A schedule and its newest finished run.
#[derive(Debug, Clone, Default)]
pub struct ScheduleFact {
    pub id: i64,
    pub name: String,
    pub paused: bool,
    pub next_run_at: Option<i64>,
    /// `done`, `failed`, `interrupted` (skipped runs are not counted).
    pub last_state: Option<String>,
    pub last_message: String,
    pub last_at: Option<i64>,
}

/// The newest drill of a set of tables on a node, when it did not pass.
#[derive(Debug, Clone, Default)]
pub struct DrillFact {
    pub id: i64,
    pub node: String,
    pub tables: String,
    pub state: String,
    pub message: String,
    pub finished_at: Option<i64>,
}

/// A node the server could not reach at its last check.
#[derive(Debug, Clone, Default)]
pub struct NodeFact {
    pub node: String,
    pub error: Option<String>,
    pub checked_at: Option<i64>,
}

/// Everything the rules look at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub filesystems: Vec<FsFact>,
    pub unreachable: Vec<NodeFact>,
    /// `(node, warning)` from the backlog of `backups/` (shipping off or falling behind).
    pub backlog: Vec<(String, String)>,
    pub snapshots: Vec<SnapshotFact>,
    pub dropped: Vec<DroppedFact>,
    pub leftovers: Vec<LeftoverFact>,
    pub schedules: Vec<ScheduleFact>,
    pub drills: Vec<DrillFact>,
}

const HOUR: i64 = 3_600_000;
/// Cassandra clears a snapshot whose TTL passed within minutes; past this, it did not.
const TTL_GRACE_MS: i64 = HOUR;

/// Used over total as `app::api::DiskUse` defines it (root's reserve counts as used).
fn bytes_used_percent(f: &FsFact) -> Option<f64> {
    let d = DiskUse::new(f.total_bytes?, f.avail_bytes?, f.free_bytes);
    (d.total > 0).then(|| d.used_percent())
}

fn level(pct: f64, warn: f64, critical: f64) -> Option<&'static str> {
    if pct >= critical {
        Some("critical")
    } else if pct >= warn {
        Some("warning")
    } else {
        None
    }
}

/// The alerts that fire at `now`.
pub fn evaluate(
    facts: &Facts,
    config: &AlertsConfig,
    auto_snapshot_days: f64,
    now: i64,
) -> Vec<Fired> {
    let mut out = Vec::new();
    filesystems(facts, config, &mut out);
    for n in &facts.unreachable {
        out.push(Fired {
            kind: "node_unreachable",
            severity: "critical",
            node: Some(n.node.clone()),
            subject: n.node.clone(),
            message: format!(
                "node {} did not answer at its last check{}",
                n.node,
                n.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
            action: "check that Cassandra runs on the node and that its JMX port answers `nodetool status`; snapshots and restores of this node fail until it does".into(),
        });
    }
    for (node, warning) in &facts.backlog {
        out.push(Fired {
            kind: "backups_backlog",
            severity: "warning",
            node: Some(node.clone()),
            subject: format!("{node}: backups/"),
            message: format!("backups/ on node {node}: {warning}"),
            action: "ship them (`snapkeep backups ship`, or ship_backups = true for the node) or turn incremental backups off; see the Backups page".into(),
        });
    }
    snapshots(facts, auto_snapshot_days, now, &mut out);
    for d in &facts.dropped {
        if d.keyspace == crate::restore::DRILL_KEYSPACE {
            continue;
        }
        out.push(Fired {
            kind: "dropped_table_snapshots",
            severity: "warning",
            node: Some(d.node.clone()),
            subject: format!("{}.{} ({})", d.keyspace, d.table, d.table_id),
            message: format!(
                "table {}.{} is no longer in the schema but {} snapshot(s) of it stay on node {}, holding {}",
                d.keyspace,
                d.table,
                d.snapshots,
                d.node,
                format_bytes(d.hold_bytes.max(0))
            ),
            action: "restore from them if the drop was a mistake; otherwise clear them (Snapshots page, or `nodetool clearsnapshot -t <tag> -- <keyspace>`) to free the space".into(),
        });
    }
    leftovers(facts, &mut out);
    schedules(facts, config, now, &mut out);
    for d in &facts.drills {
        out.push(Fired {
            kind: "drill_failed",
            severity: "critical",
            node: Some(d.node.clone()),
            subject: format!("{}: {}", d.node, d.tables),
            message: format!(
                "restore drill {} of {} on node {} {}: {}",
                d.id,
                d.tables,
                d.node,
                if d.state == "interrupted" {
                    "was interrupted"
                } else {
                    "failed"
                },
                d.message
            ),
            action: format!(
                "open drill {} (`snapkeep drill show {}`) to see which check failed, fix it, and run the drill again: until one passes, nothing proves these tables restore",
                d.id, d.id
            ),
        });
    }
    out
}

fn filesystems(facts: &Facts, c: &AlertsConfig, out: &mut Vec<Fired>) {
    for f in &facts.filesystems {
        if let Some(pct) = bytes_used_percent(f)
            && let Some(severity) = level(pct, c.disk_warn_percent, c.disk_critical_percent)
        {
            out.push(Fired {
                kind: "filesystem_bytes",
                severity,
                node: Some(f.node.clone()),
                subject: format!("{}:{}", f.node, f.data_dir),
                message: format!(
                    "the filesystem of {} on node {} is {pct:.1} % full ({} free for Cassandra)",
                    f.data_dir,
                    f.node,
                    format_bytes(f.avail_bytes.unwrap_or(0).max(0))
                ),
                action: "free space: clear old snapshots (the Snapshots page shows what each one holds exclusively) and ship incremental backups; compaction needs free space to run".into(),
            });
        }
        let inodes = match (f.total_inodes, f.free_inodes) {
            (Some(total), Some(free)) if total > 0 => {
                Some((DiskUse::new(total, free, None).used_percent(), free))
            }
            _ => None,
        };
        if let Some((pct, free)) = inodes
            && let Some(severity) = level(pct, c.inodes_warn_percent, c.inodes_critical_percent)
        {
            out.push(Fired {
                kind: "filesystem_inodes",
                severity,
                node: Some(f.node.clone()),
                subject: format!("{}:{}", f.node, f.data_dir),
                message: format!(
                    "{pct:.1} % of the inodes of the filesystem of {} on node {} are used ({free} free)",
                    f.data_dir, f.node
                ),
                action: "every snapshot and backups/ link of a compacted SSTable keeps its inode: clear old snapshots and ship incremental backups".into(),
            });
        }
    }
}

fn snapshots(facts: &Facts, auto_snapshot_days: f64, now: i64, out: &mut Vec<Fired>) {
    use std::collections::BTreeMap;
    let auto_ms = (auto_snapshot_days * 24.0 * HOUR as f64) as i64;
    // Per node: the snapshots past their TTL, and the TRUNCATE/DROP ones past their days.
    let mut expired: BTreeMap<&str, Vec<&SnapshotFact>> = BTreeMap::new();
    let mut auto: BTreeMap<&str, Vec<&SnapshotFact>> = BTreeMap::new();
    for s in &facts.snapshots {
        if s.expires_at.is_some_and(|e| e + TTL_GRACE_MS < now) {
            expired.entry(&s.node).or_default().push(s);
        } else if matches!(s.kind.as_str(), "truncated" | "dropped") && now - s.created_at > auto_ms
        {
            auto.entry(&s.node).or_default().push(s);
        }
    }
    let tags = |list: &[&SnapshotFact]| {
        let mut names: Vec<&str> = list.iter().map(|s| s.tag.as_str()).take(5).collect();
        if list.len() > 5 {
            names.push("…");
        }
        names.join(", ")
    };
    let held = |list: &[&SnapshotFact]| {
        format_bytes(list.iter().map(|s| s.exclusive_hold_bytes.max(0)).sum())
    };
    for (node, list) in expired {
        out.push(Fired {
            kind: "snapshot_past_ttl",
            severity: "warning",
            node: Some(node.to_string()),
            subject: format!("{node}: snapshots past their TTL"),
            message: format!(
                "{} snapshot(s) on node {node} are past their TTL but still there ({}), holding {}",
                list.len(),
                tags(&list),
                held(&list)
            ),
            action: "Cassandra should have cleared them: check the node's snapshot cleanup (it runs while the node is up), then clear them from the Snapshots page".into(),
        });
    }
    for (node, list) in auto {
        out.push(Fired {
            kind: "auto_snapshot_old",
            severity: "warning",
            node: Some(node.to_string()),
            subject: format!("{node}: TRUNCATE/DROP snapshots"),
            message: format!(
                "{} snapshot(s) Cassandra took on TRUNCATE or DROP on node {node} are older than {} days ({}), holding {}",
                list.len(),
                auto_snapshot_days,
                tags(&list),
                held(&list)
            ),
            action: "Snapkeep's retention clears them unless a restore pins one or it is a table's last snapshot (GET /api/v1/retention/auto-snapshots says which): restore from them if the TRUNCATE or DROP was a mistake, else confirm their clearing (POST /api/v1/retention/auto-snapshots with confirm) or clear them on the Snapshots page".into(),
        });
    }
}

fn leftovers(facts: &Facts, out: &mut Vec<Fired>) {
    for l in facts.leftovers.iter().filter(|l| !l.in_use) {
        let (kind, what, action) = if l.kind == "staging" {
            (
                "leftover_staging",
                "a restore staging directory",
                "no open restore on the node uses it: check the restore that made it (Restores page), then delete the directory",
            )
        } else {
            (
                "leftover_aside",
                "a directory of files a full-node restore set aside",
                "no restore keeps it: check what it holds, then delete the directory",
            )
        };
        out.push(Fired {
            kind,
            severity: "warning",
            node: Some(l.node.clone()),
            subject: l.path.clone(),
            message: format!(
                "{what} is left on node {}: {} ({} files, {})",
                l.node,
                l.path,
                l.files,
                format_bytes(l.bytes.max(0))
            ),
            action: action.into(),
        });
    }
}

fn schedules(facts: &Facts, c: &AlertsConfig, now: i64, out: &mut Vec<Fired>) {
    let late_ms = c.schedule_late_minutes as i64 * 60_000;
    for s in facts.schedules.iter().filter(|s| !s.paused) {
        if matches!(s.last_state.as_deref(), Some("failed" | "interrupted")) {
            out.push(Fired {
                kind: "schedule_failed",
                severity: "critical",
                node: None,
                subject: s.name.clone(),
                message: format!(
                    "the last run of schedule {} {}: {}",
                    s.name,
                    if s.last_state.as_deref() == Some("failed") {
                        "failed"
                    } else {
                        "was interrupted"
                    },
                    s.last_message
                ),
                action: format!(
                    "fix the cause, then run it now (`snapkeep schedule run {}`) rather than wait for its next time",
                    s.id
                ),
            });
        }
        if let Some(next) = s.next_run_at
            && now - next > late_ms
        {
            out.push(Fired {
                kind: "schedule_late",
                severity: "critical",
                node: None,
                subject: s.name.clone(),
                message: format!(
                    "schedule {} was due {} ago and has not run",
                    s.name,
                    app::api::format_duration_ms(now - next)
                ),
                action: "check that a Snapkeep server is running against this catalog (its timer runs schedules) and its log".into(),
            });
        }
    }
}
