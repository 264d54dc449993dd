//! `snapkeep schedule list|show|add|pause|resume|run|remove`: scheduled snapshots through a
//! running server's API (see [`super::client`] for the server, the token and `--json`).

use app::api::{JobDto, format_utc};
use axum::http::Method;

use super::backups::follow_job;
use super::client::{ApiClient, ClientError, print_json};
use crate::schedules::model::{
    Overlap, ScheduleDto, ScheduleInput, SchedulePreview, ScheduleRunDto, ScheduleScope,
};
use crate::schedules::retention::Retention;

/// `snapkeep schedule …`.
// `add` has many flags; the command is parsed once per process, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule: cron, zone, next run, last run.
    List,
    /// One schedule: its next five runs and tags, its runs, what retention would clear.
    Show { id: i64 },
    /// Save a schedule (or, with --dry-run, only show its next runs and tags).
    Add {
        name: String,
        /// Cron expression: 5 fields (`0 2 * * *`), 6 with seconds first, or `@daily`.
        #[arg(long)]
        cron: String,
        /// `snapshot` (default) or `drill` (a restore drill of its --table tables).
        #[arg(long, value_parser = ["snapshot", "drill"])]
        kind: Option<String>,
        /// IANA time zone the cron is read in (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// Node (repeatable; default every node).
        #[arg(long = "node", value_name = "NODE")]
        nodes: Vec<String>,
        /// Every node of this cluster instead: each run is a cluster snapshot.
        #[arg(long, conflicts_with = "nodes")]
        cluster: Option<String>,
        /// Keyspace (repeatable; default every keyspace).
        #[arg(long = "keyspace", value_name = "KEYSPACE")]
        keyspaces: Vec<String>,
        /// Table as keyspace.table (repeatable).
        #[arg(long = "table", value_name = "KEYSPACE.TABLE")]
        tables: Vec<String>,
        /// Tag template (default {name}-{datetime}; also {date}, {time}).
        #[arg(long)]
        tag_template: Option<String>,
        /// Cassandra TTL of each snapshot, e.g. 7d.
        #[arg(long)]
        ttl: Option<String>,
        /// Copy each snapshot to this store.
        #[arg(long)]
        upload_to: Option<String>,
        /// When a run is due while the previous one still goes: skip (default) or queue.
        #[arg(long, value_parser = ["skip", "queue"])]
        overlap: Option<String>,
        /// Do not run a time missed while no server ran.
        #[arg(long)]
        no_catch_up: bool,
        /// Keep the newest N snapshots.
        #[arg(long)]
        keep_last: Option<u32>,
        /// Keep snapshots younger than D days.
        #[arg(long)]
        keep_days: Option<u32>,
        /// Keep the newest of each of the last N days.
        #[arg(long)]
        daily: Option<u32>,
        /// … of each of the last N ISO weeks.
        #[arg(long)]
        weekly: Option<u32>,
        /// … of each of the last N months.
        #[arg(long)]
        monthly: Option<u32>,
        /// Copies in the `--upload-to` store: keep the newest N (without any `--store-*`
        /// rule every copy stays).
        #[arg(long)]
        store_keep_last: Option<u32>,
        /// Copies in the store: keep those younger than D days.
        #[arg(long)]
        store_keep_days: Option<u32>,
        /// Copies in the store: the newest of each of the last N days.
        #[arg(long)]
        store_daily: Option<u32>,
        /// … of each of the last N ISO weeks.
        #[arg(long)]
        store_weekly: Option<u32>,
        /// … of each of the last N months.
        #[arg(long)]
        store_monthly: Option<u32>,
        /// Save it paused.
        #[arg(long)]
        paused: bool,
        /// Only show the next runs and tags; save nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Stop a schedule's timer (its runs stop until resumed).
    Pause { id: i64 },
    /// Start a paused schedule again, counting from now.
    Resume { id: i64 },
    /// Run a schedule now and wait for the run (snapshot, copy, retention).
    Run {
        id: i64,
        /// Answer with the run's job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Remove a schedule (the snapshots it took stay).
    Remove { id: i64 },
}

fn print_schedules(list: &[ScheduleDto]) {
    println!(
        "{:>4} {:<20} {:<16} {:<18} {:<7} {:<23} LAST RUN",
        "ID", "NAME", "CRON", "TIMEZONE", "PAUSED", "NEXT RUN"
    );
    for s in list {
        println!(
            "{:>4} {:<20} {:<16} {:<18} {:<7} {:<23} {}",
            s.id,
            s.name,
            s.cron,
            s.timezone,
            if s.paused { "yes" } else { "no" },
            s.next_run_at.map(format_utc).unwrap_or_else(|| "-".into()),
            s.last_run
                .as_ref()
                .map(|r| format!("{} {} {}", r.state, format_utc(r.started_at), r.message))
                .unwrap_or_else(|| "never".into())
        );
    }
}

fn print_next_runs(s: &ScheduleDto) {
    println!("next runs (UTC):");
    for (at, tag) in s.next_runs.iter().zip(&s.next_tags) {
        println!("  {}  {tag}", format_utc(*at));
    }
}

fn print_preview(p: &SchedulePreview) {
    println!("next runs:");
    for (local, tag) in p.next_runs_local.iter().zip(&p.tags) {
        println!("  {local}  {tag}");
    }
}

/// Runs one `snapkeep schedule …` command.
pub async fn run_schedule(
    client: &ApiClient,
    cmd: ScheduleCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        ScheduleCommand::List => {
            let list: Vec<ScheduleDto> =
                client.call(Method::GET, "/api/v1/schedules", None).await?;
            if json {
                return print_json(&list);
            }
            print_schedules(&list);
            Ok(())
        }
        ScheduleCommand::Show { id } => {
            let s: ScheduleDto = client
                .call(Method::GET, &format!("/api/v1/schedules/{id}"), None)
                .await?;
            let runs: Vec<ScheduleRunDto> = client
                .call(
                    Method::GET,
                    &format!("/api/v1/schedules/{id}/runs?limit=10"),
                    None,
                )
                .await?;
            if json {
                return print_json(&serde_json::json!({ "schedule": s, "runs": runs }));
            }
            print_schedules(std::slice::from_ref(&s));
            print_next_runs(&s);
            println!("runs (newest first):");
            for r in &runs {
                println!(
                    "  {} {:<9} {:<11} {} {}",
                    format_utc(r.due_at),
                    r.trigger,
                    r.state,
                    r.tag.as_deref().unwrap_or("-"),
                    r.message
                );
            }
            if !s.retention_clears.is_empty() {
                println!("retention would clear:");
                for c in &s.retention_clears {
                    println!(
                        "  {} on {}, frees {}{}",
                        c.tag,
                        c.node,
                        app::api::format_bytes(c.frees_bytes),
                        if c.pinned { " (pinned: kept)" } else { "" }
                    );
                }
            }
            Ok(())
        }
        ScheduleCommand::Add {
            name,
            cron,
            kind,
            timezone,
            nodes,
            cluster,
            keyspaces,
            tables,
            tag_template,
            ttl,
            upload_to,
            overlap,
            no_catch_up,
            keep_last,
            keep_days,
            daily,
            weekly,
            monthly,
            store_keep_last,
            store_keep_days,
            store_daily,
            store_weekly,
            store_monthly,
            paused,
            dry_run,
        } => {
            let store = Retention {
                keep_last: store_keep_last,
                keep_days: store_keep_days,
                daily: store_daily,
                weekly: store_weekly,
                monthly: store_monthly,
                store: None,
            };
            let input = ScheduleInput {
                name,
                kind,
                cron,
                timezone,
                scope: ScheduleScope {
                    nodes,
                    cluster,
                    keyspaces,
                    tables,
                },
                tag_template,
                ttl,
                upload_to,
                overlap: overlap.as_deref().map(Overlap::parse),
                catch_up: Some(!no_catch_up),
                retention: Retention {
                    keep_last,
                    keep_days,
                    daily,
                    weekly,
                    monthly,
                    store: (!store.keeps_everything()).then(|| Box::new(store)),
                },
                paused: Some(paused),
            };
            // A struct of strings, numbers and lists always serializes.
            let body = serde_json::to_value(&input).unwrap_or(serde_json::Value::Null);
            if dry_run {
                let p: SchedulePreview = client
                    .call(Method::POST, "/api/v1/schedules/preview", Some(body))
                    .await?;
                if json {
                    return print_json(&p);
                }
                print_preview(&p);
                return Ok(());
            }
            let s: ScheduleDto = client
                .call(Method::POST, "/api/v1/schedules", Some(body))
                .await?;
            if json {
                return print_json(&s);
            }
            println!("schedule {} `{}` saved", s.id, s.name);
            print_next_runs(&s);
            Ok(())
        }
        ScheduleCommand::Pause { id } | ScheduleCommand::Resume { id } => {
            let pause = matches!(cmd, ScheduleCommand::Pause { .. });
            let s: ScheduleDto = client
                .call(
                    Method::PATCH,
                    &format!("/api/v1/schedules/{id}"),
                    Some(serde_json::json!({ "paused": pause })),
                )
                .await?;
            if json {
                return print_json(&s);
            }
            match s.next_run_at {
                Some(next) => println!(
                    "schedule `{}` resumed; next run {}",
                    s.name,
                    format_utc(next)
                ),
                None => println!("schedule `{}` paused", s.name),
            }
            Ok(())
        }
        ScheduleCommand::Run { id, no_wait } => {
            let run: ScheduleRunDto = client
                .call(Method::POST, &format!("/api/v1/schedules/{id}/run"), None)
                .await?;
            let Some(job_id) = run.job_id else {
                if json {
                    return print_json(&run);
                }
                return Err(ClientError::JobFailed(format!(
                    "the run failed before it started: {}",
                    run.message
                )));
            };
            let job: JobDto = client
                .call(Method::GET, &format!("/api/v1/jobs/{job_id}"), None)
                .await?;
            follow_job(client, job, no_wait, json).await
        }
        ScheduleCommand::Remove { id } => {
            let r: serde_json::Value = client
                .call(Method::DELETE, &format!("/api/v1/schedules/{id}"), None)
                .await?;
            if json {
                return print_json(&r);
            }
            println!("{}", r["message"].as_str().unwrap_or("removed"));
            Ok(())
        }
    }
}
