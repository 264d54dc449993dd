//! `snapkeep retention plan|apply`: the retention of the snapshots Cassandra takes on
//! TRUNCATE and DROP, through a running server's API (see [`super::client`] for the server,
//! the token and `--json`).

use app::api::{format_bytes, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json};
use crate::schedules::auto::{AutoApply, AutoPlan, AutoResult};

const PATH: &str = "/api/v1/retention/auto-snapshots";

/// `snapkeep retention …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RetentionCommand {
    /// What a run would clear now, what each frees, and what stays (and why).
    Plan,
    /// Clear them now; a table's last snapshot only with --confirm NODE/TAG.
    Apply {
        #[arg(long = "confirm", value_name = "NODE/TAG")]
        confirm: Vec<String>,
    },
}

pub async fn run_retention(
    client: &ApiClient,
    cmd: RetentionCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        RetentionCommand::Plan => {
            let plan: AutoPlan = client.call(Method::GET, PATH, None).await?;
            if json {
                return print_json(&plan);
            }
            if plan.candidates.is_empty() {
                println!(
                    "no TRUNCATE/DROP snapshot is older than {} days",
                    plan.auto_snapshot_days
                );
            }
            for c in &plan.candidates {
                println!(
                    "{}/{} {} {} ({}): {} — frees {} and {} inodes{}",
                    c.node,
                    c.tag,
                    c.kind,
                    format_utc(c.created_at),
                    c.tables.join(", "),
                    c.decision,
                    format_bytes(c.frees_bytes),
                    c.frees_inodes,
                    if c.alone.is_empty() {
                        String::new()
                    } else {
                        format!("; the last snapshot of {}", c.alone.join(", "))
                    }
                );
            }
            if !plan.candidates.is_empty() {
                println!(
                    "a run clears {} and {} inodes",
                    format_bytes(plan.frees_bytes),
                    plan.frees_inodes
                );
            }
        }
        RetentionCommand::Apply { confirm } => {
            let body = serde_json::to_value(AutoApply { confirm }).map_err(|e| {
                ClientError::BadAnswer {
                    url: PATH.into(),
                    detail: e.to_string(),
                }
            })?;
            let done: AutoResult = client.call(Method::POST, PATH, Some(body)).await?;
            if json {
                return print_json(&done);
            }
            for c in &done.cleared {
                println!("cleared {c}");
            }
            for k in &done.kept {
                println!("kept {k}");
            }
            println!(
                "freed {} and {} inodes",
                format_bytes(done.freed_bytes),
                done.freed_inodes
            );
        }
    }
    Ok(())
}
