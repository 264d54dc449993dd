//! Alerts: filesystems filling (bytes or inodes), `backups/` growing with nothing shipping
//! it, snapshots past their TTL or their policy, snapshots of dropped tables, leftover restore
//! staging or aside directories, schedules that failed or did not run, failed drills and
//! unreachable nodes. Each says what to do.
//!
//! The rules ([`rules`]) run over what the catalog holds (and each node's backlog) on the
//! server's timer and on every read; each alert is a row of `alerts` whose id is a hash of its
//! kind and subject, so it keeps its first-seen time, its acknowledgement (a silence with an
//! expiry) and its webhook delivery ([`webhook`]) while it fires, and is marked resolved when
//! it stops.

pub mod routes;
pub mod rules;
pub mod store;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use app::api::{AckInput, AlertDto};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::clock::now_ms;
use crate::error::ServiceError;

/// `[alerts]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// A data directory's filesystem this full (percent, as `df` counts it) warns, and this
    /// full is critical.
    pub disk_warn_percent: f64,
    pub disk_critical_percent: f64,
    /// The same for its inodes.
    pub inodes_warn_percent: f64,
    pub inodes_critical_percent: f64,
    /// A schedule this many minutes past its due time without a run is an alert.
    pub schedule_late_minutes: u64,
    /// How often the server evaluates the alerts and sends webhooks (seconds).
    pub interval_secs: u64,
    /// Resolved alerts stay listed (`?state=all`) this many days.
    pub keep_resolved_days: u64,
    /// Optional webhook: every new alert is POSTed to it as JSON.
    pub webhook: Option<WebhookConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            disk_warn_percent: 80.0,
            disk_critical_percent: 90.0,
            inodes_warn_percent: 80.0,
            inodes_critical_percent: 90.0,
            schedule_late_minutes: 30,
            interval_secs: 60,
            keep_resolved_days: 30,
            webhook: None,
        }
    }
}

/// `[alerts.webhook]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL the alerts are POSTed to.
    pub url: String,
    /// Attempts per alert before its delivery is marked failed.
    pub max_attempts: u32,
    /// The first retry waits this long; each next one twice as long, up to `max_backoff_secs`.
    pub backoff_secs: u64,
    pub max_backoff_secs: u64,
    /// One attempt gives up after this long.
    pub timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_attempts: 8,
            backoff_secs: 30,
            max_backoff_secs: 3600,
            timeout_secs: 10,
        }
    }
}

impl AlertsConfig {
    /// Refuses thresholds that are not percentages in order, and a webhook URL that is not
    /// http(s).
    pub fn check(&self) -> Result<(), String> {
        let pct = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 100.0 {
                Ok(())
            } else {
                Err(format!(
                    "[alerts] {name} = {v} is not a percentage between 0 and 100, e.g. 80"
                ))
            }
        };
        pct("disk_warn_percent", self.disk_warn_percent)?;
        pct("disk_critical_percent", self.disk_critical_percent)?;
        pct("inodes_warn_percent", self.inodes_warn_percent)?;
        pct("inodes_critical_percent", self.inodes_critical_percent)?;
        if self.disk_warn_percent > self.disk_critical_percent
            || self.inodes_warn_percent > self.inodes_critical_percent
        {
            return Err(
                "[alerts] a *_warn_percent is above its *_critical_percent; e.g. 80 and 90".into(),
            );
        }
        if self.interval_secs == 0 {
            return Err("[alerts] interval_secs must be at least 1, e.g. 60".into());
        }
        if let Some(w) = &self.webhook {
            webhook::check_url(&w.url).map_err(|e| format!("[alerts.webhook] url: {e}"))?;
            if w.max_attempts == 0 || w.backoff_secs == 0 || w.timeout_secs == 0 {
                return Err(
                    "[alerts.webhook] max_attempts, backoff_secs and timeout_secs must be at least 1"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// Evaluates, lists and acknowledges alerts, and runs the timer that sends webhooks.
#[derive(Clone)]
pub struct AlertService {
    pool: SqlitePool,
    config: Arc<AlertsConfig>,
    /// `[retention] auto_snapshot_days`: TRUNCATE/DROP snapshots older than this fire.
    auto_snapshot_days: f64,
    backups: crate::backups::BackupService,
    /// One evaluation at a time (the timer and readers).
    evaluating: Arc<tokio::sync::Mutex<()>>,
}

impl AlertService {
    pub fn new(
        pool: SqlitePool,
        config: AlertsConfig,
        auto_snapshot_days: f64,
        backups: crate::backups::BackupService,
    ) -> Self {
        Self {
            pool,
            config: Arc::new(config),
            auto_snapshot_days,
            backups,
            evaluating: Arc::default(),
        }
    }

    /// Runs the rules now and records what fires and what stopped firing.
    pub async fn evaluate(&self) -> Result<(), ServiceError> {
        let _one = self.evaluating.lock().await;
        let now = now_ms();
        let backlog = match self.backups.backlog_warnings().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "alerts: cannot read the backups backlog");
                Vec::new()
            }
        };
        let mut facts = store::gather(&self.pool).await?;
        facts.backlog = backlog;
        let fired = rules::evaluate(&facts, &self.config, self.auto_snapshot_days, now);
        store::record(&self.pool, &fired, now, self.config.webhook.is_some()).await?;
        store::prune(
            &self.pool,
            now - self.config.keep_resolved_days as i64 * 86_400_000,
        )
        .await?;
        Ok(())
    }

    /// The alerts after a fresh evaluation: open ones (or all kept, resolved too), the worst
    /// first.
    pub async fn list(&self, all: bool) -> Result<Vec<AlertDto>, ServiceError> {
        self.evaluate().await?;
        store::list(&self.pool, all, now_ms()).await
    }

    /// Acknowledges an open alert: silenced for `hours` (default 24).
    pub async fn ack(
        &self,
        id: &str,
        user: &str,
        input: AckInput,
    ) -> Result<AlertDto, ServiceError> {
        store::ack(&self.pool, id, user, &input, now_ms()).await
    }

    /// Every `interval_secs`: evaluate, then send the webhooks that are due. A failing webhook
    /// is retried with backoff and never blocks anything else.
    pub fn spawn_timer(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let client = webhook::Client::new();
            let mut tick = tokio::time::interval(Duration::from_secs(this.config.interval_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this.evaluate().await {
                    tracing::warn!(error = %e, "alerts: evaluation failed");
                }
                if let Some(w) = &this.config.webhook
                    && let Err(e) = webhook::deliver_due(&this.pool, w, &client, now_ms()).await
                {
                    tracing::warn!(error = %e, "alerts: webhook delivery failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;
