//! Storage reports: sampling, measured churn, forecasts, charts and CSV.
//!
//! - [`sample`]: every scan records per table, per keyspace and per node live bytes, snapshot
//!   hold, backups and inodes, per filesystem free bytes and inodes, and the bytes of live
//!   SSTables that disappeared since the table's previous sample (measured churn); raw samples
//!   older than `[sampling] keep_hourly_days` are compacted to one per day.
//! - [`input`]: a report query as it arrives, checked into a [`selection::Selection`] (dates,
//!   grouping, scope, the bucket one point stands for, chart); [`selection`] holds the checked
//!   types.
//! - [`read`]: the SQL reads of the samples in range, per bucket and per group; [`totals`]
//!   sums several series' points per time.
//! - [`forecast`]: linear trends with a ~95 % band, run-out dates and their back-test (pure);
//!   [`trend`]: each filesystem's forecast as the page says it.
//! - [`report`]: a report put together from the reads and the trends, for the page, the API
//!   and the charts.
//! - [`chart`]: the plotters SVG charts; [`csv`]: the same series as CSV.
//! - [`routes`] holds the `/api/v1/reports/…` handlers.
//!
//! The sampler itself is a periodic scan: [`ReportService::spawn_sampler`] starts a scan job
//! every `interval_secs` (reusing one already running) and compacts old samples.

pub mod chart;
pub mod csv;
pub mod forecast;
pub mod input;
pub mod read;
pub mod report;
pub mod routes;
pub mod sample;
pub mod selection;
pub mod totals;
pub mod trend;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use sqlx::SqlitePool;

use crate::clock::now_ms;
use crate::inventory::Inventory;
use crate::jobs;

/// What can go wrong with a report request, each with the message the user sees.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    /// An input is malformed or out of range; `field` names it.
    #[error("{message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("cannot draw the chart: {0}")]
    Chart(String),
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

impl ReportsError {
    pub fn bad(field: &'static str, message: impl Into<String>) -> Self {
        ReportsError::BadRequest {
            field,
            message: message.into(),
        }
    }
}

/// `[sampling]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// Seconds between samples: the sampler scans every node this often (60–86400). Scans
    /// started otherwise (at start, Rescan, after snapshot jobs) record samples too.
    pub interval_secs: u64,
    /// Raw samples older than this many days are merged into one per table and day (2–3650).
    pub keep_hourly_days: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            keep_hourly_days: 30,
        }
    }
}

impl SamplingConfig {
    /// Checks the ranges; the message names the key and its range.
    pub fn validate(&self) -> Result<(), String> {
        if !(60..=86_400).contains(&self.interval_secs) {
            return Err(format!(
                "sampling.interval_secs = {} is out of range; use 60–86400 seconds",
                self.interval_secs
            ));
        }
        if !(2..=3650).contains(&self.keep_hourly_days) {
            return Err(format!(
                "sampling.keep_hourly_days = {} is out of range; use 2–3650 days",
                self.keep_hourly_days
            ));
        }
        Ok(())
    }
}

/// Reports over the catalog's samples, and the sampler's schedule.
#[derive(Clone)]
pub struct ReportService {
    pool: SqlitePool,
    config: SamplingConfig,
    nodes: usize,
    /// When the periodic sampler runs next (Unix ms; 0 while it is not running).
    next_sample_at: Arc<AtomicI64>,
}

impl ReportService {
    pub fn new(pool: SqlitePool, config: SamplingConfig, nodes: usize) -> Self {
        Self {
            pool,
            config,
            nodes,
            next_sample_at: Arc::new(AtomicI64::new(0)),
        }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn config(&self) -> &SamplingConfig {
        &self.config
    }

    /// When the sampler runs next, if it runs in this process.
    pub fn next_sample_at(&self) -> Option<i64> {
        Some(self.next_sample_at.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// Configured nodes.
    pub fn node_count(&self) -> usize {
        self.nodes
    }

    /// Starts the periodic sampler: compacts old samples at once, then every `interval_secs`
    /// runs a scan of every node (each scan records its samples) and compacts again. Runs
    /// until the process ends.
    pub fn spawn_sampler(&self, inventory: Inventory) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let every = Duration::from_secs(this.config.interval_secs);
            this.compact_now().await;
            loop {
                this.next_sample_at
                    .store(now_ms() + every.as_millis() as i64, Ordering::Relaxed);
                tokio::time::sleep(every).await;
                match inventory.start_scan().await {
                    Ok(job) => wait_for_job(inventory.pool(), job.id, every).await,
                    Err(e) => tracing::warn!(error = %e, "the sampler cannot start a scan"),
                }
                this.compact_now().await;
            }
        })
    }

    /// Merges raw samples older than `keep_hourly_days` into daily ones, logging the outcome.
    async fn compact_now(&self) {
        match sample::compact(&self.pool, now_ms(), self.config.keep_hourly_days).await {
            Ok(c) if c.raw_rows > 0 => tracing::info!(
                raw_rows = c.raw_rows,
                daily_rows = c.daily_rows,
                "compacted old storage samples into daily ones"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot compact storage samples"),
        }
    }
}

/// Waits until job `id` ends, at most `limit`.
async fn wait_for_job(pool: &SqlitePool, id: i64, limit: Duration) {
    if let Err(e) = jobs::ended(pool, id, Duration::from_secs(1), Some(limit)).await {
        tracing::warn!(job = id, error = %e, "the sampler cannot read its scan job");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_config_ranges_are_named() {
        assert!(SamplingConfig::default().validate().is_ok());
        let bad = SamplingConfig {
            interval_secs: 5,
            ..SamplingConfig::default()
        };
        let msg = bad.validate().expect_err("too often");
        assert!(msg.contains("sampling.interval_secs") && msg.contains("60–86400"));
        let bad = SamplingConfig {
            keep_hourly_days: 1,
            ..SamplingConfig::default()
        };
        assert!(
            bad.validate()
                .expect_err("too short")
                .contains("keep_hourly_days")
        );
    }
}
