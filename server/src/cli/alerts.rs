//! `snapkeep alerts list|ack`: what needs attention, through a running server's API (see
//! [`super::client`] for the server, the token and `--json`).

use app::api::{AckInput, AlertDto, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json};
use crate::escape::url_component;

/// `snapkeep alerts …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AlertsCommand {
    /// The open alerts, the worst first (with --all, also the resolved ones kept).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge an alert: silenced for --hours (default 24).
    Ack {
        id: String,
        #[arg(long)]
        hours: Option<f64>,
        #[arg(long)]
        comment: Option<String>,
    },
}

pub async fn run_alerts(
    client: &ApiClient,
    cmd: AlertsCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        AlertsCommand::List { all } => {
            let path = if all {
                "/api/v1/alerts?state=all"
            } else {
                "/api/v1/alerts"
            };
            let alerts: Vec<AlertDto> = client.call(Method::GET, path, None).await?;
            if json {
                return print_json(&alerts);
            }
            if alerts.is_empty() {
                println!("no alerts");
            }
            for a in &alerts {
                print_alert(a);
            }
        }
        AlertsCommand::Ack { id, hours, comment } => {
            let path = format!("/api/v1/alerts/{}/ack", url_component(&id));
            let body = serde_json::to_value(AckInput { hours, comment }).map_err(|e| {
                ClientError::BadAnswer {
                    url: path.clone(),
                    detail: e.to_string(),
                }
            })?;
            let a: AlertDto = client.call(Method::POST, &path, Some(body)).await?;
            if json {
                return print_json(&a);
            }
            print_alert(&a);
        }
    }
    Ok(())
}

fn print_alert(a: &AlertDto) {
    let state = if let Some(at) = a.resolved_at {
        format!("resolved {}", format_utc(at))
    } else if a.silenced {
        format!(
            "acknowledged by {} until {}",
            a.acked_by.as_deref().unwrap_or("?"),
            format_utc(a.silenced_until.unwrap_or_default())
        )
    } else {
        format!("open since {}", format_utc(a.first_seen_at))
    };
    println!("{} {:8} {} ({state})", a.id, a.severity, a.kind);
    println!("    {}", a.message);
    println!("    what to do: {}", a.action);
    if let Some(e) = &a.notify_error {
        println!("    webhook {}: {e}", a.notify_state);
    }
}
