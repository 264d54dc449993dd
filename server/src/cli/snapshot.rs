//! `snapkeep snapshot create|list|show|upload|fetch|clear`: take, list, show, copy to a store,
//! fetch back from a store and clear snapshots through a running server's API (see [`super::client`] for the server, the token and `--json`).

use app::api::{SnapshotDetailDto, SnapshotJobDto, SnapshotPage, format_bytes, format_utc};
use axum::http::Method;

use super::client::{ApiClient, ClientError, print_json, query_string};
use crate::escape::url_component;

/// `snapkeep snapshot …` as the CLI parsed it.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot (`nodetool snapshot` on the node(s)) and wait for it.
    Create {
        /// Node (default: every configured node).
        #[arg(long)]
        node: Option<String>,
        /// Every node of this cluster, one tag on each, started together (a node that fails
        /// makes it incomplete: `snapkeep snapshot retry TAG --cluster NAME`).
        #[arg(long, conflicts_with = "node")]
        cluster: Option<String>,
        /// Keyspace to snapshot (repeatable; default every keyspace).
        #[arg(long = "keyspace", value_name = "KEYSPACE")]
        keyspaces: Vec<String>,
        /// Table to snapshot as keyspace.table (repeatable).
        #[arg(long = "table", value_name = "KEYSPACE.TABLE")]
        tables: Vec<String>,
        /// Tag (default snapkeep-<UTC time>).
        #[arg(long)]
        tag: Option<String>,
        /// Time to live, e.g. 3d, 12h, 30m.
        #[arg(long)]
        ttl: Option<String>,
        /// Do not flush memtables first.
        #[arg(long)]
        skip_flush: bool,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// List snapshots (newest first; filters as on the Snapshots page).
    List {
        #[arg(long)]
        node: Option<String>,
        #[arg(long)]
        keyspace: Option<String>,
        /// table or keyspace.table
        #[arg(long)]
        table: Option<String>,
        /// manual, scheduled, truncated, dropped, pre-restore or external
        #[arg(long)]
        kind: Option<String>,
        /// Part of the tag.
        #[arg(long)]
        tag: Option<String>,
        /// present (default), cleared, gone or all
        #[arg(long)]
        status: Option<String>,
        /// Created on or after this UTC day (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Created on or before this UTC day (YYYY-MM-DD).
        #[arg(long)]
        to: Option<String>,
        /// created, tag, size, exclusive, shared, expires, node, kind; leading - for descending
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<String>,
        #[arg(long)]
        page: Option<i64>,
        #[arg(long)]
        per_page: Option<i64>,
    },
    /// Run again the nodes that failed in an incomplete cluster snapshot, under its tag, and
    /// wait for them.
    Retry {
        tag: String,
        #[arg(long)]
        cluster: String,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show one snapshot: its tables, schema, row counts and files.
    Show {
        tag: String,
        #[arg(long)]
        node: Option<String>,
    },
    /// Copy a snapshot to a backup store (content the store holds already is not sent) and
    /// wait for it.
    Upload {
        tag: String,
        /// The store (default: each node's store).
        #[arg(long)]
        store: Option<String>,
        /// Only this node (default: every node holding the snapshot).
        #[arg(long)]
        node: Option<String>,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Fetch a snapshot back from a backup store onto its node (every file checked against its
    /// hash), to restore it like a local one, and wait for it.
    Fetch {
        tag: String,
        /// The store (default: the node's store).
        #[arg(long)]
        store: Option<String>,
        /// The node it was taken on (default: the only node).
        #[arg(long)]
        node: Option<String>,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Clear a snapshot (or one keyspace or table of it) and wait for it.
    Clear {
        tag: String,
        #[arg(long)]
        node: Option<String>,
        #[arg(long)]
        keyspace: Option<String>,
        /// table or keyspace.table
        #[arg(long)]
        table: Option<String>,
        /// Answer with the job at once instead of waiting for it.
        #[arg(long)]
        no_wait: bool,
    },
}

/// Runs one `snapkeep snapshot …` command.
pub async fn run_snapshot(
    client: &ApiClient,
    cmd: SnapshotCommand,
    json: bool,
) -> Result<(), ClientError> {
    match cmd {
        SnapshotCommand::Create {
            node,
            cluster,
            keyspaces,
            tables,
            tag,
            ttl,
            skip_flush,
            no_wait,
        } => {
            let body = serde_json::json!({
                "node": node,
                "cluster": cluster,
                "keyspaces": (!keyspaces.is_empty()).then_some(keyspaces),
                "tables": (!tables.is_empty()).then_some(tables),
                "tag": tag,
                "ttl": ttl,
                "skip_flush": skip_flush,
            });
            let started: SnapshotJobDto = client
                .call(Method::POST, "/api/v1/snapshots", Some(body))
                .await?;
            follow(client, started, no_wait, json, |s| {
                format!(
                    "snapshot {} started as job {} ({} table(s) on {})",
                    s.tag,
                    s.job.id,
                    s.tables.len(),
                    s.nodes.join(", ")
                )
            })
            .await
        }
        SnapshotCommand::List {
            node,
            keyspace,
            table,
            kind,
            tag,
            status,
            from,
            to,
            sort,
            page,
            per_page,
        } => {
            let qs = query_string(&[
                ("node", node),
                ("keyspace", keyspace),
                ("table", table),
                ("kind", kind),
                ("tag", tag),
                ("status", status),
                ("from", from),
                ("to", to),
                ("sort", sort),
                ("page", page.map(|p| p.to_string())),
                ("per_page", per_page.map(|p| p.to_string())),
            ]);
            let page: SnapshotPage = client
                .call(Method::GET, &format!("/api/v1/snapshots{qs}"), None)
                .await?;
            if json {
                return print_json(&page);
            }
            println!(
                "{:<40} {:<10} {:<11} {:<23} {:>6} {:>10} {:>10} {:>10} {:<8}",
                "TAG", "NODE", "KIND", "CREATED", "TABLES", "SIZE", "EXCLUSIVE", "SHARED", "STATUS"
            );
            for s in &page.items {
                println!(
                    "{:<40} {:<10} {:<11} {:<23} {:>6} {:>10} {:>10} {:>10} {:<8}",
                    s.tag,
                    s.node,
                    s.kind,
                    format_utc(s.created_at),
                    s.tables.len(),
                    format_bytes(s.size_bytes),
                    format_bytes(s.exclusive_hold_bytes),
                    format_bytes(s.shared_hold_bytes),
                    s.status
                );
            }
            let pages = (page.total + page.per_page - 1) / page.per_page.max(1);
            println!(
                "page {} of {} ({} snapshot(s))",
                page.page,
                pages.max(1),
                page.total
            );
            Ok(())
        }
        SnapshotCommand::Retry {
            tag,
            cluster,
            no_wait,
        } => {
            let retried: app::api::ClusterSnapshotDto = client
                .call(
                    Method::POST,
                    &format!(
                        "/api/v1/clusters/{}/snapshots/{}/retry",
                        url_component(&cluster),
                        url_component(&tag)
                    ),
                    Some(serde_json::json!({})),
                )
                .await?;
            let Some(id) = retried.job_id else {
                return print_json(&retried);
            };
            let job: app::api::JobDto = client
                .call(Method::GET, &format!("/api/v1/jobs/{id}"), None)
                .await?;
            super::backups::follow_job(client, job, no_wait, json).await
        }
        SnapshotCommand::Show { tag, node } => {
            let qs = query_string(&[("node", node)]);
            let d: SnapshotDetailDto = client
                .call(
                    Method::GET,
                    &format!("/api/v1/snapshots/{}{qs}", url_component(&tag)),
                    None,
                )
                .await?;
            if json {
                return print_json(&d);
            }
            println!("snapshot {} ({}, {})", d.tag, d.kind, d.status);
            println!("  nodes:      {}", d.nodes.join(", "));
            println!("  created:    {}", format_utc(d.created_at));
            if let Some(e) = d.expires_at {
                println!("  expires:    {}", format_utc(e));
            }
            if let Some(n) = &d.note {
                println!("  note:       {n}");
            }
            println!(
                "  size {} · exclusive hold {} (clearing frees this) · shared hold {} · {} files",
                format_bytes(d.size_bytes),
                format_bytes(d.exclusive_hold_bytes),
                format_bytes(d.shared_hold_bytes),
                d.files
            );
            for t in &d.tables {
                let rows = match (t.row_count, t.row_count_method.as_deref()) {
                    (Some(n), Some("estimate")) => format!("~{n} partitions (estimate)"),
                    (Some(n), Some("sstables")) => format!("~{n} rows (SSTable metadata)"),
                    (Some(n), _) => format!("{n} rows"),
                    _ => "rows not recorded".into(),
                };
                println!(
                    "  {}.{} on {} [{}]: {} files, {}, exclusive {}, {rows}",
                    t.keyspace,
                    t.table,
                    t.node,
                    t.status,
                    t.files,
                    format_bytes(t.size_bytes),
                    format_bytes(t.exclusive_hold_bytes)
                );
            }
            Ok(())
        }
        SnapshotCommand::Upload {
            tag,
            store,
            node,
            no_wait,
        } => store_job(client, "upload", &tag, store, node, no_wait, json).await,
        SnapshotCommand::Fetch {
            tag,
            store,
            node,
            no_wait,
        } => store_job(client, "fetch", &tag, store, node, no_wait, json).await,
        SnapshotCommand::Clear {
            tag,
            node,
            keyspace,
            table,
            no_wait,
        } => {
            let qs = query_string(&[("node", node), ("keyspace", keyspace), ("table", table)]);
            let started: SnapshotJobDto = client
                .call(
                    Method::DELETE,
                    &format!("/api/v1/snapshots/{}{qs}", url_component(&tag)),
                    None,
                )
                .await?;
            follow(client, started, no_wait, json, |s| {
                format!(
                    "clearing {} as job {} (frees {})",
                    s.tag,
                    s.job.id,
                    format_bytes(s.frees_bytes.unwrap_or(0))
                )
            })
            .await
        }
    }
}

/// Starts a snapshot's `upload` to or `fetch` from a store, then follows the job.
async fn store_job(
    client: &ApiClient,
    verb: &str,
    tag: &str,
    store: Option<String>,
    node: Option<String>,
    no_wait: bool,
    json: bool,
) -> Result<(), ClientError> {
    let job: app::api::JobDto = client
        .call(
            Method::POST,
            &format!("/api/v1/snapshots/{}/{verb}", url_component(tag)),
            Some(serde_json::json!({ "store": store, "node": node })),
        )
        .await?;
    super::backups::follow_job(client, job, no_wait, json).await
}

/// Waits for a snapshot job unless `no_wait`, then prints it: as JSON with `json`, else the
/// line `started` makes of it (`no_wait`) or the job's final message.
async fn follow(
    client: &ApiClient,
    mut job: SnapshotJobDto,
    no_wait: bool,
    json: bool,
    started: impl FnOnce(&SnapshotJobDto) -> String,
) -> Result<(), ClientError> {
    if !no_wait {
        job.job = client.wait(job.job.clone(), json).await?;
    }
    if json {
        return print_json(&job);
    }
    if no_wait {
        println!("{}", started(&job));
    } else {
        println!("{}", job.job.message);
    }
    Ok(())
}
