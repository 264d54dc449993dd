//! `snapkeep store list|test|verify|reindex` and `snapkeep backups ship|status`: the stores
//! and the shipping of incremental backups through a running server's API (see
//! [`super::client`] for the server, the token and `--json`).

use app::api::{BacklogDto, JobDto, StoreDto, format_bytes, format_duration_ms, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json};
use crate::backups::routes::ReindexResult;
use crate::escape::url_component;

/// `snapkeep store …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum StoreCommand {
    /// The configured stores: where, encryption, what they hold, verification.
    List,
    /// Write, read back and delete a test object: keys, bucket and network work.
    Test { name: String },
    /// Re-read a store's objects and check their content (exit 1 naming what failed).
    Verify {
        name: String,
        /// Only this many objects, those verified longest ago.
        #[arg(long)]
        sample: Option<u64>,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Rebuild the catalog's view of a store from the store alone (its manifests).
    Reindex { name: String },
}

/// `snapkeep backups …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BackupsCommand {
    /// Ship the incremental backups (`backups/`) of every node, or one, to its store; local
    /// links go only once their upload is verified.
    Ship {
        #[arg(long)]
        node: Option<String>,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// What waits in `backups/` per node and table, and what was shipped lately.
    Status,
}

/// Waits for a job unless `no_wait`, then prints it (JSON with `json`).
pub async fn follow_job(
    client: &ApiClient,
    job: JobDto,
    no_wait: bool,
    json: bool,
) -> Result<(), ClientError> {
    let job = if no_wait {
        job
    } else {
        client.wait(job, json).await?
    };
    if json {
        return print_json(&job);
    }
    if no_wait {
        println!("job {} started: {}", job.id, job.message);
    } else {
        println!("{}", job.message);
    }
    Ok(())
}

/// Runs one `snapkeep store …` command.
pub async fn run_store(
    client: &ApiClient,
    cmd: StoreCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        StoreCommand::List => {
            let stores: Vec<StoreDto> = client.call(Method::GET, "/api/v1/stores", None).await?;
            if json {
                return print_json(&stores);
            }
            println!(
                "{:<16} {:<6} {:<10} {:>8} {:>8} {:>10} {:>7} {:<23} LOCATION",
                "STORE", "KIND", "ENCRYPTED", "UPLOADS", "OBJECTS", "BYTES", "FAILED", "VERIFIED"
            );
            for s in &stores {
                println!(
                    "{:<16} {:<6} {:<10} {:>8} {:>8} {:>10} {:>7} {:<23} {}",
                    s.name,
                    s.kind,
                    s.key_fingerprint
                        .as_deref()
                        .unwrap_or(if s.encrypted { "yes" } else { "no" }),
                    s.uploads,
                    s.objects,
                    format_bytes(s.object_bytes),
                    s.objects_failed,
                    s.last_verified_at
                        .map(format_utc)
                        .unwrap_or_else(|| "never".into()),
                    s.location
                );
            }
            Ok(())
        }
        StoreCommand::Test { name } => {
            let r: serde_json::Value = client
                .call(
                    Method::POST,
                    &format!("/api/v1/stores/{}/test", url_component(&name)),
                    None,
                )
                .await?;
            if json {
                return print_json(&r);
            }
            println!("{}", r["message"].as_str().unwrap_or("ok"));
            Ok(())
        }
        StoreCommand::Verify {
            name,
            sample,
            no_wait,
        } => {
            let job: JobDto = client
                .call(
                    Method::POST,
                    &format!("/api/v1/stores/{}/verify", url_component(&name)),
                    Some(serde_json::json!({ "sample": sample })),
                )
                .await?;
            follow_job(client, job, no_wait, json).await
        }
        StoreCommand::Reindex { name } => {
            let r: ReindexResult = client
                .call(
                    Method::POST,
                    &format!("/api/v1/stores/{}/reindex", url_component(&name)),
                    None,
                )
                .await?;
            if json {
                return print_json(&r);
            }
            println!(
                "store {name}: {} manifests read, {} uploads added to the catalog, {} objects known",
                r.manifests, r.uploads_added, r.objects
            );
            Ok(())
        }
    }
}

/// Runs one `snapkeep backups …` command.
pub async fn run_backups(
    client: &ApiClient,
    cmd: BackupsCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        BackupsCommand::Ship { node, no_wait } => {
            let job: JobDto = client
                .call(
                    Method::POST,
                    "/api/v1/backups/ship",
                    Some(serde_json::json!({ "node": node })),
                )
                .await?;
            follow_job(client, job, no_wait, json).await
        }
        BackupsCommand::Status => {
            let b: BacklogDto = client.call(Method::GET, "/api/v1/backups", None).await?;
            if json {
                return print_json(&b);
            }
            for n in &b.nodes {
                let inc = match n.incremental_backups {
                    Some(true) => "on",
                    Some(false) => "off",
                    None => "unknown (node did not answer)",
                };
                println!(
                    "node {}: incremental backups {inc}, shipping {} to {}; waiting {} files, {}, {} inodes, oldest {}; shipped in 24 h: {} files, {}",
                    n.node,
                    if n.ship_backups { "on" } else { "off" },
                    n.store.as_deref().unwrap_or("-"),
                    n.files,
                    format_bytes(n.bytes as i64),
                    n.inodes,
                    format_duration_ms(n.oldest_age_secs as i64 * 1000),
                    n.shipped_files_24h,
                    format_bytes(n.shipped_bytes_24h)
                );
                if let Some(w) = &n.warning {
                    println!("  warning: {w}");
                }
                for t in &n.tables {
                    println!(
                        "  {}.{}: {} files, {}, {} complete SSTables, {} being written, oldest {}",
                        t.keyspace,
                        t.table,
                        t.files,
                        format_bytes(t.bytes as i64),
                        t.sstables_complete,
                        t.sstables_incomplete,
                        format_duration_ms(t.oldest_age_secs as i64 * 1000)
                    );
                }
            }
            Ok(())
        }
    }
}
