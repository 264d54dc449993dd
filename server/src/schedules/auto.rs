//! Retention of the snapshots Cassandra takes itself on TRUNCATE and DROP (`auto_snapshot`):
//! kept `[retention] auto_snapshot_days` (7), then cleared. A run first says what it would
//! clear and what that frees (the bytes and inodes only that snapshot links), then clears.
//! Never cleared: a pinned snapshot (one an open restore uses, or a restore's safety
//! snapshot), and, unless confirmed by name, one whose clearing would leave one of its tables
//! without any snapshot (a dropped table's only copy, say). The server applies it every
//! `interval_secs` without confirmations, so those stay until someone decides (an alert says so).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::error::ServiceError;
use crate::jobs;
use crate::snapshots::{SnapshotService, pins};

/// `[retention]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// TRUNCATE/DROP snapshots older than this many days are cleared (and an alert while one
    /// stays).
    pub auto_snapshot_days: f64,
    /// Whether the server clears them by itself (every `interval_secs`); `false` leaves it to
    /// `POST /api/v1/retention/auto-snapshots`.
    pub auto_clear: bool,
    pub interval_secs: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            auto_snapshot_days: 7.0,
            auto_clear: true,
            interval_secs: 3600,
        }
    }
}

impl RetentionConfig {
    pub fn check(&self) -> Result<(), String> {
        if !(self.auto_snapshot_days.is_finite() && self.auto_snapshot_days > 0.0) {
            return Err(format!(
                "[retention] auto_snapshot_days = {} is not a positive number of days, e.g. 7",
                self.auto_snapshot_days
            ));
        }
        if self.interval_secs == 0 {
            return Err("[retention] interval_secs must be at least 1, e.g. 3600".into());
        }
        Ok(())
    }

    /// The keeping time in ms.
    pub fn keep_ms(&self) -> i64 {
        (self.auto_snapshot_days * 86_400_000.0) as i64
    }
}

/// One TRUNCATE/DROP snapshot past its keeping time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoCandidate {
    pub node: String,
    pub tag: String,
    /// `truncated` or `dropped`.
    pub kind: String,
    pub created_at: i64,
    /// `keyspace.table` of each table in it.
    pub tables: Vec<String>,
    /// What clearing it frees: bytes and inodes no other path links.
    pub frees_bytes: i64,
    pub frees_inodes: i64,
    /// `clear`, `pinned` (stays) or `needs_confirmation` (would leave `alone` without any
    /// snapshot; cleared only when confirmed by `node/tag`).
    pub decision: String,
    /// Tables this snapshot is the last snapshot of.
    pub alone: Vec<String>,
}

/// What a run would do now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoPlan {
    pub auto_snapshot_days: f64,
    pub candidates: Vec<AutoCandidate>,
    /// What the `clear` candidates free together.
    pub frees_bytes: i64,
    pub frees_inodes: i64,
}

/// `POST /api/v1/retention/auto-snapshots`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoApply {
    /// `node/tag` of candidates that need confirmation and may be cleared anyway.
    #[serde(default)]
    pub confirm: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutoResult {
    /// `node/tag` of each snapshot cleared.
    pub cleared: Vec<String>,
    /// `node/tag (why)` of each candidate that stays.
    pub kept: Vec<String>,
    pub freed_bytes: i64,
    pub freed_inodes: i64,
}

/// Plans and applies the retention of TRUNCATE/DROP snapshots.
#[derive(Clone)]
pub struct AutoRetention {
    pool: SqlitePool,
    snapshots: SnapshotService,
    config: Arc<RetentionConfig>,
}

impl AutoRetention {
    pub fn new(pool: SqlitePool, snapshots: SnapshotService, config: RetentionConfig) -> Self {
        Self {
            pool,
            snapshots,
            config: Arc::new(config),
        }
    }

    /// What a run at `now` would clear, keep and free, oldest first.
    pub async fn plan(&self, now: i64) -> Result<AutoPlan, ServiceError> {
        plan(&self.pool, &self.config, now).await
    }

    /// Clears the `clear` candidates and the confirmed ones; each clear is a snapshot job,
    /// waited for. A `confirm` entry that is not a candidate needing confirmation is refused
    /// before anything is cleared.
    pub async fn apply(&self, input: AutoApply, now: i64) -> Result<AutoResult, ServiceError> {
        let plan = self.plan(now).await?;
        for c in &input.confirm {
            let known = plan.candidates.iter().any(|k| {
                k.decision == "needs_confirmation" && format!("{}/{}", k.node, k.tag) == *c
            });
            if !known {
                return Err(ServiceError::bad(
                    "confirm",
                    format!(
                        "`{c}` is not a snapshot that needs confirmation now; GET /api/v1/retention/auto-snapshots lists them as node/tag"
                    ),
                ));
            }
        }
        let mut out = AutoResult {
            cleared: Vec::new(),
            kept: Vec::new(),
            freed_bytes: 0,
            freed_inodes: 0,
        };
        for c in plan.candidates {
            let name = format!("{}/{}", c.node, c.tag);
            let go = c.decision == "clear"
                || (c.decision == "needs_confirmation" && input.confirm.contains(&name));
            if !go {
                let why = if c.decision == "pinned" {
                    "pinned".to_string()
                } else {
                    format!(
                        "the last snapshot of {}; confirm to clear",
                        c.alone.join(", ")
                    )
                };
                out.kept.push(format!("{name} ({why})"));
                continue;
            }
            let cleared = match self
                .snapshots
                .clear(&c.tag, Some(&c.node), None, None)
                .await
            {
                Ok(dto) => jobs::ended(&self.pool, dto.job.id, Duration::from_millis(300), None)
                    .await
                    .map_err(ServiceError::from)
                    .and_then(|j| {
                        j.filter(|j| j.state == "done")
                            .map(|_| ())
                            .ok_or_else(|| ServiceError::Conflict("the clear job failed".into()))
                    }),
                Err(e) => Err(ServiceError::Conflict(e.to_string())),
            };
            match cleared {
                Ok(()) => {
                    out.freed_bytes += c.frees_bytes;
                    out.freed_inodes += c.frees_inodes;
                    out.cleared.push(name);
                }
                Err(e) => out.kept.push(format!("{name} ({e})")),
            }
        }
        if !out.cleared.is_empty() {
            tracing::info!(cleared = ?out.cleared, freed_bytes = out.freed_bytes, "TRUNCATE/DROP snapshot retention cleared snapshots");
        }
        Ok(out)
    }

    /// Every `interval_secs` when `auto_clear` is on: applies the retention, confirming
    /// nothing.
    pub fn spawn_timer(&self) {
        if !self.config.auto_clear {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(this.config.interval_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this
                    .apply(AutoApply::default(), crate::clock::now_ms())
                    .await
                {
                    tracing::warn!(error = %e, "TRUNCATE/DROP snapshot retention failed");
                }
            }
        });
    }
}

/// The plan at `now` (see [`AutoRetention::plan`]).
pub async fn plan(
    pool: &SqlitePool,
    config: &RetentionConfig,
    now: i64,
) -> Result<AutoPlan, ServiceError> {
    let old: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, node, tag, kind, created_at FROM snapshots \
         WHERE status = 'present' AND kind IN ('truncated', 'dropped') AND created_at < ? \
         ORDER BY created_at, id",
    )
    .bind(now - config.keep_ms())
    .fetch_all(pool)
    .await?;
    let mut clearing: HashSet<i64> = HashSet::new();
    let mut candidates = Vec::new();
    for (id, node, tag, kind, created_at) in old {
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT keyspace_name, table_name FROM snapshot_tables \
             WHERE snapshot_id = ? AND status = 'present' ORDER BY 1, 2",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let mut alone = Vec::new();
        for (ks, t) in &tables {
            let others: Vec<i64> = sqlx::query_scalar(
                "SELECT DISTINCT s.id FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id \
                 WHERE s.node = ? AND s.status = 'present' AND st.status = 'present' \
                   AND st.keyspace_name = ? AND st.table_name = ? AND s.id != ?",
            )
            .bind(&node)
            .bind(ks)
            .bind(t)
            .bind(id)
            .fetch_all(pool)
            .await?;
            if others.iter().all(|o| clearing.contains(o)) {
                alone.push(format!("{ks}.{t}"));
            }
        }
        // Bytes and inodes that only this snapshot links, as the newest scan measured them.
        let (frees_bytes, frees_inodes): (i64, i64) = sqlx::query_as(
            "SELECT exclusive_hold_bytes, exclusive_hold_inodes FROM snapshots WHERE id = ?",
        )
        .bind(id)
        .fetch_one(pool)
        .await?;
        let pinned = !pins::holding(pool, &node, &tag, now).await?.is_empty();
        let decision = if pinned {
            "pinned"
        } else if !alone.is_empty() {
            "needs_confirmation"
        } else {
            clearing.insert(id);
            "clear"
        };
        candidates.push(AutoCandidate {
            node,
            tag,
            kind,
            created_at,
            tables: tables
                .into_iter()
                .map(|(k, t)| format!("{k}.{t}"))
                .collect(),
            frees_bytes,
            frees_inodes,
            decision: decision.into(),
            alone,
        });
    }
    let clear = candidates.iter().filter(|c| c.decision == "clear");
    Ok(AutoPlan {
        auto_snapshot_days: config.auto_snapshot_days,
        frees_bytes: clear.clone().map(|c| c.frees_bytes).sum(),
        frees_inodes: clear.map(|c| c.frees_inodes).sum(),
        candidates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    const DAY: i64 = 86_400_000;
    const NOW: i64 = 1_000 * DAY;

    async fn exec(pool: &SqlitePool, sql: &str) {
        sqlx::query(sql).execute(pool).await.expect(sql);
    }

    #[tokio::test]
    async fn old_truncate_and_drop_snapshots_are_cleared_unless_pinned_or_a_tables_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cat = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let pool = cat.pool();
        // orders: a TRUNCATE snapshot 10 days old and a nightly; carts: two TRUNCATE
        // snapshots and nothing else; gone: a DROP snapshot, its only one; young: 2 days old;
        // pinned: 9 days old, held by a restore.
        let snaps = [
            (1, "truncated-1-orders", "truncated", 10, "orders"),
            (2, "nightly", "scheduled", 1, "orders"),
            (3, "truncated-2-carts", "truncated", 12, "carts"),
            (4, "truncated-3-carts", "truncated", 11, "carts"),
            (5, "dropped-4-gone", "dropped", 20, "gone"),
            (6, "truncated-5-young", "truncated", 2, "young"),
            (7, "truncated-6-pinned", "truncated", 9, "pinned"),
        ];
        for (id, tag, kind, age, table) in snaps {
            let at = NOW - age * DAY;
            exec(pool, &format!(
                "INSERT INTO snapshots (id, node, tag, kind, status, created_at, first_seen_at, measured_at) \
                 VALUES ({id}, 'n1', '{tag}', '{kind}', 'present', {at}, 1, 1)"
            )).await;
            exec(pool, &format!(
                "INSERT INTO snapshot_tables (id, snapshot_id, keyspace_name, table_name, table_id, data_dir, status, created_at) \
                 VALUES ({id}, {id}, 'shop', '{table}', '{table}id', '/d', 'present', {at})"
            )).await;
        }
        // What each frees, as a scan measured it.
        exec(pool, "UPDATE snapshots SET exclusive_hold_bytes = 1000, exclusive_hold_inodes = 1 WHERE id = 1").await;
        exec(pool, "UPDATE snapshots SET exclusive_hold_bytes = 300, exclusive_hold_inodes = 1 WHERE id = 3").await;
        exec(pool, "UPDATE snapshots SET exclusive_hold_bytes = 400, exclusive_hold_inodes = 1 WHERE id = 4").await;
        exec(
            pool,
            &format!(
                "INSERT INTO snapshot_pins (node, tag, holder, reason, pinned_at) VALUES \
             ('n1', 'truncated-6-pinned', 'restore:1', 'restore 1 uses it', {NOW})"
            ),
        )
        .await;

        let p = plan(pool, &RetentionConfig::default(), NOW)
            .await
            .expect("plan");
        let got: Vec<(&str, &str)> = p
            .candidates
            .iter()
            .map(|c| (c.tag.as_str(), c.decision.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("dropped-4-gone", "needs_confirmation"),
                ("truncated-2-carts", "clear"),
                ("truncated-3-carts", "needs_confirmation"),
                ("truncated-1-orders", "clear"),
                ("truncated-6-pinned", "pinned"),
            ],
            "oldest first; the young one is not a candidate; carts keeps its newest"
        );
        assert_eq!(p.candidates[0].alone, ["shop.gone"]);
        let orders = &p.candidates[3];
        assert_eq!((orders.frees_bytes, orders.frees_inodes), (1000, 1));
        assert_eq!((p.frees_bytes, p.frees_inodes), (1300, 2));

        // Nothing past 30 days.
        let lax = RetentionConfig {
            auto_snapshot_days: 30.0,
            ..RetentionConfig::default()
        };
        assert!(
            plan(pool, &lax, NOW)
                .await
                .expect("plan")
                .candidates
                .is_empty()
        );
        assert!(
            RetentionConfig {
                auto_snapshot_days: 0.0,
                ..RetentionConfig::default()
            }
            .check()
            .is_err()
        );
    }
}
