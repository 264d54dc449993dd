//! `snapkeep drill run|list|show|proof`: restore drills through a running server's API (see
//! [`super::client`] for the server, the token and `--json`).

use app::api::{JobDto, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json};
use crate::drills::{DrillDto, DrillInput, ProofDto};

/// `snapkeep drill …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DrillCommand {
    /// Restore a snapshot's tables into side tables of `snapkeep_drill`, verify them, time it,
    /// drop them. Needs no approval: live tables are never touched.
    Run {
        /// Table as keyspace.table (repeatable, at least one).
        #[arg(long = "table", value_name = "KEYSPACE.TABLE", required = true)]
        tables: Vec<String>,
        /// Snapshot tag (default: the newest snapshot holding every table).
        #[arg(long)]
        snapshot: Option<String>,
        /// Node (default: the only node).
        #[arg(long)]
        node: Option<String>,
        /// Answer at once with the drill started; do not wait for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// The drills, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// One drill with its per-table results.
    Show { id: i64 },
    /// The last good restore proof of each table.
    Proof,
}

pub async fn run_drill(
    client: &ApiClient,
    cmd: DrillCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        DrillCommand::Run {
            tables,
            snapshot,
            node,
            no_wait,
        } => {
            let input = DrillInput {
                tables,
                snapshot,
                node,
            };
            let body = serde_json::to_value(&input).map_err(|e| ClientError::BadAnswer {
                url: "/api/v1/drills".into(),
                detail: e.to_string(),
            })?;
            let started: DrillDto = client
                .call(Method::POST, "/api/v1/drills", Some(body))
                .await?;
            let drill = if no_wait {
                started
            } else {
                if let Some(job) = started.job_id {
                    let job: JobDto = client
                        .call(Method::GET, &format!("/api/v1/jobs/{job}"), None)
                        .await?;
                    // A failed drill is reported below with its results, not as an error here.
                    let _ = client.wait(job, json).await;
                }
                client
                    .call(Method::GET, &format!("/api/v1/drills/{}", started.id), None)
                    .await?
            };
            if json {
                print_json(&drill)?;
            } else {
                print_drill(&drill);
            }
            if drill.state == "failed" || drill.state == "interrupted" {
                return Err(ClientError::JobFailed(format!(
                    "drill {} {}: {}",
                    drill.id, drill.state, drill.message
                )));
            }
            Ok(())
        }
        DrillCommand::List { limit } => {
            let list: Vec<DrillDto> = client
                .call(Method::GET, &format!("/api/v1/drills?limit={limit}"), None)
                .await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no drills yet: `snapkeep drill run --table KEYSPACE.TABLE` runs one");
            }
            for d in &list {
                println!(
                    "{:>4}  {}  {:<11} {} on {}: {}",
                    d.id,
                    format_utc(d.started_at),
                    d.state,
                    d.snapshot.as_deref().unwrap_or("-"),
                    d.node,
                    d.tables.join(", ")
                );
            }
            Ok(())
        }
        DrillCommand::Show { id } => {
            let d: DrillDto = client
                .call(Method::GET, &format!("/api/v1/drills/{id}"), None)
                .await?;
            if json {
                return print_json(&d);
            }
            print_drill(&d);
            Ok(())
        }
        DrillCommand::Proof => {
            let list: Vec<ProofDto> = client
                .call(Method::GET, "/api/v1/drills/proof", None)
                .await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no table has a passed drill yet");
            }
            for p in &list {
                println!(
                    "{} on {}: proved {} by drill {} ({}), {} rows{}",
                    p.table,
                    p.node,
                    format_utc(p.proved_at),
                    p.drill_id,
                    p.snapshot.as_deref().unwrap_or("-"),
                    p.rows_found
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "?".into()),
                    p.restore_ms
                        .map(|ms| format!(", restored in {:.1} s", ms as f64 / 1000.0))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

fn print_drill(d: &DrillDto) {
    println!(
        "drill {} [{}] {} on {}: {}",
        d.id,
        d.state,
        d.snapshot.as_deref().unwrap_or("-"),
        d.node,
        d.message
    );
    if let Some(r) = d.restore_id {
        println!(
            "  restore request {r} (plan, journal, verification: `snapkeep restore show {r}`)"
        );
    }
    for t in &d.results {
        let notes = if t.notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", t.notes.join("; "))
        };
        println!("  {}{notes}", super::restore::verification_line(t));
    }
}
