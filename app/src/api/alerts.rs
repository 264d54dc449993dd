//! Alerts: what needs an operator's attention now, each with what to do about it, and its
//! acknowledgement.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{auth::signed_in, backend::backend};

/// One alert that fires (or fired: `resolved_at` set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlertDto {
    /// Stable while the same problem lasts (a hash of kind and subject).
    pub id: String,
    /// `filesystem_bytes`, `filesystem_inodes`, `backups_backlog`, `snapshot_past_ttl`,
    /// `auto_snapshot_old`, `dropped_table_snapshots`, `leftover_staging`, `leftover_aside`,
    /// `schedule_failed`, `schedule_late`, `drill_failed` or `node_unreachable`.
    pub kind: String,
    /// `critical` or `warning`.
    pub severity: String,
    pub node: Option<String>,
    /// What it is about (a data directory, a table, a schedule, a path).
    pub subject: String,
    /// What is wrong, with the figures.
    pub message: String,
    /// What to do.
    pub action: String,
    /// When it first fired (Unix ms) and when it was last seen firing.
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    /// Set once it no longer fires.
    pub resolved_at: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    /// Silenced (acknowledged) until this time (Unix ms); it counts as open again after.
    pub silenced_until: Option<i64>,
    pub ack_comment: Option<String>,
    /// Webhook delivery: `none`, `pending`, `sent` or `failed`, with the attempts made and
    /// the last error.
    pub notify_state: String,
    pub notify_attempts: i64,
    pub notify_error: Option<String>,
    /// Whether it is silenced now.
    pub silenced: bool,
}

/// Acknowledging an alert: it is silenced for `hours` (default 24; at most 90 days).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AckInput {
    #[serde(default)]
    pub hours: Option<f64>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// The open alerts, evaluated now, the worst first (Overview).
#[server(prefix = "/rpc", endpoint = "alerts")]
pub async fn list_alerts() -> Result<Vec<AlertDto>, ServerFnError> {
    backend()?.alerts().await.map_err(ServerFnError::new)
}

/// Acknowledges an alert for `hours` (operators).
#[server(prefix = "/rpc", endpoint = "alert_ack")]
pub async fn ack_alert(id: String, hours: f64) -> Result<AlertDto, ServerFnError> {
    backend()?
        .ack_alert(signed_in()?, id, hours)
        .await
        .map_err(ServerFnError::new)
}
