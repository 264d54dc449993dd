//! `snapkeep restore plan|request|approve|reject|execute|resume|cancel|remove-aside|show|list`:
//! restores through a running server's API (see [`super::client`] for the server, the token
//! and `--json`), printing plans, steps and verification for people.

use std::time::Duration;

use app::api::{format_bytes, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json};

/// `snapkeep restore …` as the CLI parsed it.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RestoreCommand {
    /// Dry run: schema check, files, hard links or copies, headroom, steps. Changes nothing.
    Plan {
        #[command(flatten)]
        what: RestoreArgs,
    },
    /// Request a restore; another person must approve it.
    Request {
        #[command(flatten)]
        what: RestoreArgs,
        /// Why (required).
        #[arg(long)]
        reason: String,
    },
    /// Approve a request made by someone else.
    Approve {
        id: i64,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Reject a request made by someone else.
    Reject {
        id: i64,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Run an approved request and wait for it.
    Execute {
        id: i64,
        #[arg(long)]
        no_wait: bool,
    },
    /// Continue an interrupted or failed restore from its journal, and wait for it.
    Resume {
        id: i64,
        #[arg(long)]
        no_wait: bool,
    },
    /// Cancel an open request (its requester or an admin): frees its tables and snapshot.
    Cancel {
        id: i64,
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Remove what a full-node restore set aside (admins).
    RemoveAside { id: i64 },
    /// Show one request: state, plan, journal, verification.
    Show { id: i64 },
    /// List requests, newest first.
    List,
}

/// What to restore.
#[derive(Debug, Clone, clap::Args)]
pub struct RestoreArgs {
    /// The snapshot tag.
    #[arg(long)]
    pub snapshot: String,
    #[arg(long)]
    pub node: Option<String>,
    /// keyspace.table (repeatable; default every table of the snapshot).
    #[arg(long = "table", value_name = "KEYSPACE.TABLE")]
    pub tables: Vec<String>,
    /// Where the data goes: `in_place` (node running, `nodetool import`), `side` (a new
    /// table) or `full_node` (every table of the snapshot, node stopped and restarted).
    #[arg(long, value_parser = ["in_place", "side", "full_node"], conflicts_with = "side")]
    pub target: Option<String>,
    /// Restore into a new side table instead of in place (same as `--target side`).
    #[arg(long)]
    pub side: bool,
    /// Keyspace of the side table (default the table's own).
    #[arg(long)]
    pub side_keyspace: Option<String>,
    /// TRUNCATE the live table first (in place only).
    #[arg(long)]
    pub truncate: bool,
    /// Restore the snapshot's copy in this store (plus the incremental backups shipped after
    /// it) instead of the snapshot on the node.
    #[arg(long, value_name = "STORE")]
    pub from_store: Option<String>,
}

impl RestoreArgs {
    fn body(&self, reason: &str) -> serde_json::Value {
        serde_json::json!({
            "snapshot": self.snapshot,
            "node": self.node,
            "tables": self.tables,
            "target": match (&self.target, self.side) {
                (Some(t), _) => t.as_str(),
                (None, true) => "side",
                (None, false) => "in_place",
            },
            "side_keyspace": self.side_keyspace,
            "truncate": self.truncate,
            "reason": reason,
            "source": self.from_store.as_ref().map(|s| serde_json::json!({"store": s})),
        })
    }
}

fn print_plan(p: &app::api::Plan) {
    println!(
        "restore of snapshot {} on {} ({}{}): schema {:?}",
        p.tag,
        p.node,
        p.target.as_str(),
        if p.truncate { ", TRUNCATE first" } else { "" },
        p.verdict
    );
    for t in &p.tables {
        println!(
            "  {}.{} -> {}.{}: {} files, {} ({}), {} rows expected",
            t.keyspace,
            t.table,
            t.target_keyspace,
            t.target_table,
            t.files.len(),
            format_bytes(t.bytes as i64),
            if t.download_bytes > 0 {
                format!(
                    "{} downloaded, then hard links",
                    format_bytes(t.download_bytes as i64)
                )
            } else if t.hard_link {
                "hard links, 0 bytes copied".to_string()
            } else {
                format!("{} copied", format_bytes(t.bytes_to_copy as i64))
            },
            t.expected_rows
                .map(|n| n.to_string())
                .unwrap_or_else(|| "unknown".into())
        );
        for d in &t.schema_check.differences {
            println!("    [{:?}] {} ({})", d.severity, d.message, d.facts);
        }
    }
    for h in &p.headroom {
        println!(
            "  {} after: {} % bytes, {} % inodes free{}",
            h.data_dir,
            h.free_bytes_pct,
            h.free_inodes_pct,
            if h.ok { "" } else { " — TOO LITTLE" }
        );
    }
    if let Some(s) = &p.safety_tag {
        println!("  safety snapshot first: {s}");
    }
    for n in &p.notes {
        println!("  note: {n}");
    }
    println!("  steps: {}", p.steps.join(" → "));
    for b in &p.blocked {
        println!("  BLOCKED: {b}");
    }
}

fn print_restore(r: &app::api::RestoreDto) {
    println!(
        "restore {} [{}] of {} by {} ({})",
        r.id, r.state, r.snapshot, r.requested_by, r.reason
    );
    if let Some(d) = &r.decided_by {
        println!(
            "  decided by {d}{}",
            r.decision_comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(": {c}"))
                .unwrap_or_default()
        );
    }
    print_plan(&r.plan);
    for s in &r.steps {
        println!(
            "  {:>2}. {:<24} {:<8} {}",
            s.seq + 1,
            s.name,
            s.state,
            s.detail
        );
    }
    if let Some(v) = &r.verification {
        for t in &v.tables {
            println!("  verify {}", verification_line(t));
        }
    }
    if let Some(e) = &r.error {
        println!("  error: {e}");
    }
}

async fn wait_restore(
    client: &ApiClient,
    mut r: app::api::RestoreDto,
    quiet: bool,
) -> Result<app::api::RestoreDto, ClientError> {
    let mut shown = 0;
    loop {
        if !quiet {
            for s in r.steps.iter().filter(|s| s.state == "done").skip(shown) {
                eprintln!("done: {} {}", s.name, s.detail);
                shown += 1;
            }
        }
        if r.state != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        r = client
            .call(Method::GET, &format!("/api/v1/restores/{}", r.id), None)
            .await?;
    }
    if r.state == "done" {
        Ok(r)
    } else {
        Err(ClientError::JobFailed(format!(
            "restore {} {}: {}",
            r.id,
            r.state,
            r.error.clone().unwrap_or_default()
        )))
    }
}

/// Runs one `snapkeep restore …` command.
pub async fn run_restore(
    client: &ApiClient,
    cmd: RestoreCommand,
    json: bool,
) -> Result<(), ClientError> {
    use app::api::{Plan, RestoreDto};
    let verb = match &cmd {
        RestoreCommand::Approve { .. } => "approve",
        RestoreCommand::Reject { .. } => "reject",
        RestoreCommand::Cancel { .. } => "cancel",
        RestoreCommand::Execute { .. } => "execute",
        _ => "resume",
    };
    match cmd {
        RestoreCommand::Plan { what } => {
            let p: Plan = client
                .call(Method::POST, "/api/v1/restores/plan", Some(what.body("")))
                .await?;
            if json {
                return print_json(&p);
            }
            print_plan(&p);
        }
        RestoreCommand::Request { what, reason } => {
            let r: RestoreDto = client
                .call(Method::POST, "/api/v1/restores", Some(what.body(&reason)))
                .await?;
            if json {
                return print_json(&r);
            }
            print_restore(&r);
            println!("request {} awaits another person's approval", r.id);
        }
        RestoreCommand::Approve { id, comment }
        | RestoreCommand::Reject { id, comment }
        | RestoreCommand::Cancel { id, comment } => {
            let r: RestoreDto = client
                .call(
                    Method::POST,
                    &format!("/api/v1/restores/{id}/{verb}"),
                    Some(serde_json::json!({ "comment": comment })),
                )
                .await?;
            if json {
                return print_json(&r);
            }
            println!("restore {} is {}", r.id, r.state);
        }
        RestoreCommand::Execute { id, no_wait } | RestoreCommand::Resume { id, no_wait } => {
            let mut r: RestoreDto = client
                .call(Method::POST, &format!("/api/v1/restores/{id}/{verb}"), None)
                .await?;
            if !no_wait {
                r = wait_restore(client, r, json).await?;
            }
            if json {
                return print_json(&r);
            }
            print_restore(&r);
        }
        RestoreCommand::RemoveAside { id } => {
            let removed: Vec<String> = client
                .call(
                    Method::DELETE,
                    &format!("/api/v1/restores/{id}/aside"),
                    None,
                )
                .await?;
            if json {
                return print_json(&removed);
            }
            if removed.is_empty() {
                println!("restore {id} had nothing left aside");
            }
            for p in &removed {
                println!("removed {p}");
            }
        }
        RestoreCommand::Show { id } => {
            let r: RestoreDto = client
                .call(Method::GET, &format!("/api/v1/restores/{id}"), None)
                .await?;
            if json {
                return print_json(&r);
            }
            print_restore(&r);
        }
        RestoreCommand::List => {
            let list: Vec<RestoreDto> = client.call(Method::GET, "/api/v1/restores", None).await?;
            if json {
                return print_json(&list);
            }
            for r in &list {
                println!(
                    "{:>4} {:<18} {:<30} {:<8} {:<12} {}",
                    r.id,
                    r.state,
                    r.snapshot,
                    r.plan.target.as_str(),
                    r.requested_by,
                    format_utc(r.requested_at)
                );
            }
        }
    }
    Ok(())
}

/// One table's verification in a line: rows found/expected, SSTables, digests, the query.
pub(super) fn verification_line(t: &app::api::TableVerification) -> String {
    let n = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "?".into());
    format!(
        "{}: rows {}/{}, {}/{} SSTables linked, {} digests ok, query {} — {}",
        t.table,
        n(t.rows_found),
        n(t.rows_expected),
        t.sstables_linked,
        t.sstables_expected,
        t.digests_ok,
        if t.query_ok { "ok" } else { "FAILED" },
        if t.passed { "passed" } else { "FAILED" }
    )
}
