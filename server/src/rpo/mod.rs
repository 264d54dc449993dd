//! The RPO panel: per table, how much data a loss now would cost. For every user table of
//! each node's newest scan: the newest snapshot still on the node, the newest off-node copy
//! in a store and the newest passed restore drill, against the target recovery point set per
//! keyspace (`[rpo]`). Worst first.
//!
//! Status: **red** when the table has no snapshot or its newest is older than the target (a
//! loss now loses more than the target allows); **amber** when the newest snapshot has used
//! more than three quarters of the target, when no off-node copy is within the target (the
//! snapshot dies with the node's disk) or when no drill has ever proved the table restores;
//! **green** otherwise.

pub mod routes;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::error::ServiceError;

/// `[rpo]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpoConfig {
    /// Target recovery point of every keyspace not named below, in hours.
    pub target_hours: f64,
    /// Targets per keyspace, in hours (`[rpo.keyspaces]`, e.g. `shop = 6`).
    pub keyspaces: BTreeMap<String, f64>,
}

impl Default for RpoConfig {
    fn default() -> Self {
        Self {
            target_hours: 24.0,
            keyspaces: BTreeMap::new(),
        }
    }
}

impl RpoConfig {
    /// Refuses targets that are not a positive number of hours.
    pub fn check(&self) -> Result<(), String> {
        let bad = |h: f64| !(h.is_finite() && h > 0.0);
        if bad(self.target_hours) {
            return Err(format!(
                "[rpo] target_hours = {} is not a positive number of hours, e.g. 24",
                self.target_hours
            ));
        }
        if let Some((ks, h)) = self.keyspaces.iter().find(|(_, h)| bad(**h)) {
            return Err(format!(
                "[rpo.keyspaces] {ks} = {h} is not a positive number of hours, e.g. 6"
            ));
        }
        Ok(())
    }

    fn target_ms(&self, keyspace: &str) -> i64 {
        let hours = self
            .keyspaces
            .get(keyspace)
            .copied()
            .unwrap_or(self.target_hours);
        (hours * 3_600_000.0) as i64
    }
}

pub use app::api::RpoRow;

fn rank(status: &str) -> u8 {
    match status {
        "red" => 0,
        "amber" => 1,
        _ => 2,
    }
}

/// What the panel knows of one table.
struct Facts<'a> {
    target_ms: i64,
    now: i64,
    snapshot_at: Option<i64>,
    upload_at: Option<i64>,
    drill_at: Option<i64>,
    target_text: &'a str,
}

/// The status and its reason.
fn judge(f: &Facts<'_>) -> (&'static str, String) {
    let Some(at) = f.snapshot_at else {
        return (
            "red",
            "no snapshot on the node: take one (or schedule them)".into(),
        );
    };
    let age = f.now - at;
    if age > f.target_ms {
        return (
            "red",
            format!(
                "the newest snapshot is older than the {} target: take one now and check the schedule",
                f.target_text
            ),
        );
    }
    if age * 4 > f.target_ms * 3 {
        return (
            "amber",
            format!(
                "the newest snapshot has used over three quarters of the {} target",
                f.target_text
            ),
        );
    }
    if f.upload_at.is_none_or(|u| f.now - u > f.target_ms) {
        return (
            "amber",
            format!(
                "no off-node copy within the {} target: the snapshots die with the node's disk",
                f.target_text
            ),
        );
    }
    if f.drill_at.is_none() {
        return (
            "amber",
            "no restore drill has proved this table restores: run `snapkeep drill run`".into(),
        );
    }
    ("green", format!("within the {} target", f.target_text))
}

fn hours_text(ms: i64) -> String {
    let h = ms as f64 / 3_600_000.0;
    if (h - h.round()).abs() < 1e-9 {
        format!("{} h", h.round())
    } else {
        format!("{h:.1} h")
    }
}

/// The panel at `now`: every user table of each node's newest scan, worst first.
pub async fn panel(
    pool: &SqlitePool,
    config: &RpoConfig,
    now: i64,
) -> Result<Vec<RpoRow>, ServiceError> {
    let tables: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT s.node, t.keyspace_name, t.table_name \
         FROM scan_tables t JOIN scans s ON s.id = t.scan_id \
         WHERE s.id IN (SELECT max(id) FROM scans WHERE state = 'done' GROUP BY node) AND t.in_schema = 1",
    )
    .fetch_all(pool)
    .await?;
    let snapshots: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT node, keyspace_name, table_name, at, tag FROM ( \
           SELECT s.node, st.keyspace_name, st.table_name, coalesce(st.created_at, s.created_at) AS at, s.tag, \
                  row_number() OVER (PARTITION BY s.node, st.keyspace_name, st.table_name \
                                     ORDER BY coalesce(st.created_at, s.created_at) DESC, s.id DESC) AS n \
           FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id WHERE st.status = 'present') \
         WHERE n = 1",
    )
    .fetch_all(pool)
    .await?;
    let snapshots: HashMap<(String, String, String), (i64, String)> = snapshots
        .into_iter()
        .map(|(n, k, t, at, tag)| ((n, k, t), (at, tag)))
        .collect();
    let uploads: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT u.node, f.keyspace, f.table_name, max(u.created_at) \
         FROM uploads u JOIN upload_files f ON f.upload_id = u.id GROUP BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await?;
    let uploads: HashMap<(String, String, String), i64> = uploads
        .into_iter()
        .map(|(n, k, t, at)| ((n, k, t), at))
        .collect();
    let drills: HashMap<(String, String), i64> = crate::drills::proof(pool)
        .await?
        .into_iter()
        .map(|p| ((p.node, p.table), p.proved_at))
        .collect();

    let mut rows = Vec::new();
    for (node, keyspace, table) in tables {
        if app::names::SYSTEM_KEYSPACES.contains(&keyspace.as_str())
            || keyspace == crate::restore::DRILL_KEYSPACE
        {
            continue;
        }
        let key = (node.clone(), keyspace.clone(), table.clone());
        let snap = snapshots.get(&key);
        let target_ms = config.target_ms(&keyspace);
        let target_text = hours_text(target_ms);
        let facts = Facts {
            target_ms,
            now,
            snapshot_at: snap.map(|s| s.0),
            upload_at: uploads.get(&key).copied(),
            drill_at: drills
                .get(&(node.clone(), format!("{keyspace}.{table}")))
                .copied(),
            target_text: &target_text,
        };
        let (status, reason) = judge(&facts);
        rows.push(RpoRow {
            status: status.into(),
            reason,
            target_hours: target_ms as f64 / 3_600_000.0,
            last_snapshot_at: facts.snapshot_at,
            last_snapshot: snap.map(|s| s.1.clone()),
            snapshot_age_hours: facts
                .snapshot_at
                .map(|at| ((now - at).max(0)) as f64 / 3_600_000.0),
            last_upload_at: facts.upload_at,
            last_drill_at: facts.drill_at,
            node,
            keyspace,
            table,
        });
    }
    rows.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then_with(|| {
                // The oldest snapshot (or none) first.
                a.last_snapshot_at
                    .unwrap_or(i64::MIN)
                    .cmp(&b.last_snapshot_at.unwrap_or(i64::MIN))
            })
            .then_with(|| (&a.node, &a.keyspace, &a.table).cmp(&(&b.node, &b.keyspace, &b.table)))
    });
    Ok(rows)
}

#[cfg(test)]
mod tests;
