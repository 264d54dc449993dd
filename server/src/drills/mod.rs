//! Restore drills: proof, on demand or on a schedule, that a snapshot restores. A drill
//! restores a snapshot's tables into side tables of Snapkeep's own keyspace
//! [`DRILL_KEYSPACE`] through the ordinary restore flow (plan, staging, import, verification:
//! rows against the snapshot's count, every SSTable linked with its digest, a query
//! answering), records the time it took, then drops the side tables and the snapshots
//! Cassandra takes of them on DROP. It needs no approval because it never touches a live
//! table; its restore request says so. The history answers "the last good restore proof of
//! each table".

pub mod routes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use app::api::{CurrentUser, Role, TableVerification};
pub use app::api::{DrillDto, ProofDto};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use crate::cassandra::CqlSessions;
use crate::cassandra::cql::quote_ident;
use crate::clock::now_ms;
use crate::error::ServiceError;
use crate::jobs;
use crate::node::{Node, NodeConfig};
use crate::restore::plan::{RestoreInput, Target};
use crate::restore::{DRILL_KEYSPACE, RestoreService};

/// The longest a drill's restore may take before the drill stops waiting for it.
const RESTORE_LIMIT: Duration = Duration::from_secs(6 * 3600);

/// What to drill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillInput {
    /// `keyspace.table` of each table to restore.
    pub tables: Vec<String>,
    /// The snapshot tag (default: the newest snapshot on the node holding every table).
    #[serde(default)]
    pub snapshot: Option<String>,
    /// The node (default: the only configured node).
    #[serde(default)]
    pub node: Option<String>,
}

/// Starts drills, runs them, keeps their history.
#[derive(Clone)]
pub struct DrillService {
    pool: SqlitePool,
    nodes: Arc<Vec<NodeConfig>>,
    restores: RestoreService,
    sessions: CqlSessions,
}

type DrillRow = (
    i64,
    Option<i64>,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
);

const COLUMNS: &str = "id, schedule_id, node, tag, tables, restore_id, job_id, state, requested_by, started_at, finished_at, restore_ms, message, result";

fn dto(r: DrillRow) -> DrillDto {
    DrillDto {
        id: r.0,
        schedule_id: r.1,
        node: r.2,
        snapshot: r.3,
        tables: serde_json::from_str(&r.4).unwrap_or_default(),
        restore_id: r.5,
        job_id: r.6,
        state: r.7,
        requested_by: r.8,
        started_at: r.9,
        finished_at: r.10,
        restore_ms: r.11,
        message: r.12,
        results: r
            .13
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default(),
    }
}

impl DrillService {
    pub fn new(
        pool: SqlitePool,
        nodes: Vec<NodeConfig>,
        restores: RestoreService,
        sessions: CqlSessions,
    ) -> Self {
        Self {
            pool,
            nodes: Arc::new(nodes),
            restores,
            sessions,
        }
    }

    /// Checks a drill and starts it as a `drill` job; answers at once with the drill running.
    pub async fn start(
        &self,
        input: DrillInput,
        requested_by: &str,
        schedule_id: Option<i64>,
    ) -> Result<DrillDto, ServiceError> {
        let (node, tables) = self.check(&input)?;
        let job_id = jobs::create(&self.pool, "drill", Some(&node.name)).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO drills (schedule_id, node, tag, tables, job_id, state, requested_by, started_at) \
             VALUES (?, ?, ?, ?, ?, 'running', ?, ?) RETURNING id",
        )
        .bind(schedule_id)
        .bind(&node.name)
        .bind(&input.snapshot)
        .bind(serde_json::to_string(&tables).unwrap_or_default())
        .bind(job_id)
        .bind(requested_by)
        .bind(now_ms())
        .fetch_one(&self.pool)
        .await?;
        let this = self.clone();
        let by = requested_by.to_string();
        tokio::spawn(async move {
            this.run(id, job_id, node, input.snapshot, tables, by).await;
        });
        self.get(id).await
    }

    /// Starts a drill and waits for its end (a scheduled drill is one run).
    pub async fn run_to_end(
        &self,
        input: DrillInput,
        requested_by: &str,
        schedule_id: Option<i64>,
    ) -> Result<DrillDto, ServiceError> {
        let d = self.start(input, requested_by, schedule_id).await?;
        // The drill's row is final before its job ends (see `run`).
        if let Some(job) = d.job_id {
            let limit = RESTORE_LIMIT + Duration::from_secs(600);
            jobs::ended(&self.pool, job, Duration::from_millis(500), Some(limit)).await?;
        }
        self.get(d.id).await
    }

    /// Names checked: `keyspace.table`, neither a system keyspace nor the drill keyspace.
    fn check(&self, input: &DrillInput) -> Result<(NodeConfig, Vec<String>), ServiceError> {
        let node = crate::node::config::choose(
            &self.nodes,
            input.node.as_deref().map(str::trim),
            "the node to drill on",
        )?
        .clone();
        if input.tables.is_empty() {
            return Err(ServiceError::bad(
                "tables",
                "name the tables to drill, e.g. [\"shop.orders\"]",
            ));
        }
        let mut tables = Vec::new();
        for t in &input.tables {
            let t = t.trim();
            let (ks, _) = crate::snapshots::validate::table_name(t)?;
            let ks = ks.as_str();
            if ks == DRILL_KEYSPACE || crate::restore::plan::SYSTEM_KEYSPACES.contains(&ks) {
                return Err(ServiceError::bad(
                    "tables",
                    format!("`{t}`: drills restore user tables, not `{ks}`"),
                ));
            }
            if !tables.iter().any(|x| x == t) {
                tables.push(t.to_string());
            }
        }
        if let Some(s) = &input.snapshot
            && (s.is_empty() || s.contains(['/', '\0']))
        {
            return Err(ServiceError::bad(
                "snapshot",
                format!("`{s}` is not a snapshot tag"),
            ));
        }
        Ok((node, tables))
    }

    /// The newest snapshot on the node that holds every table.
    async fn newest_snapshot(
        &self,
        node: &str,
        tables: &[String],
    ) -> Result<Option<String>, ServiceError> {
        let tag: Option<String> = sqlx::query_scalar(
            "SELECT s.tag FROM snapshots s WHERE s.node = ? AND s.status = 'present' \
             AND (SELECT count(DISTINCT st.keyspace_name || '.' || st.table_name) FROM snapshot_tables st \
                  WHERE st.snapshot_id = s.id AND st.status = 'present' \
                  AND st.keyspace_name || '.' || st.table_name IN (SELECT value FROM json_each(?))) = ? \
             ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
        )
        .bind(node)
        .bind(serde_json::to_string(tables).unwrap_or_default())
        .bind(tables.len() as i64)
        .fetch_optional(&self.pool)
        .await?;
        Ok(tag)
    }

    /// Creates the drill keyspace with the replication of the first table's keyspace.
    async fn ensure_keyspace(&self, node: &NodeConfig, first: &str) -> Result<(), String> {
        let schema = self
            .sessions
            .schema(node)
            .await
            .map_err(|e| format!("cannot read the schema: {e}"))?;
        if schema.keyspaces.iter().any(|k| k == DRILL_KEYSPACE) {
            return Ok(());
        }
        let ks = first.split_once('.').map(|(k, _)| k).unwrap_or(first);
        let cql = self
            .sessions
            .session(node)
            .await
            .map_err(|e| format!("cannot reach the node over CQL: {e}"))?;
        let topology = cql
            .topology()
            .await
            .map_err(|e| format!("cannot read the replication of {ks}: {e}"))?;
        let replication = topology.replication.get(ks).cloned().unwrap_or_else(|| {
            BTreeMap::from([
                ("class".into(), "SimpleStrategy".into()),
                ("replication_factor".into(), "1".into()),
            ])
        });
        let map: Vec<String> = replication
            .iter()
            .map(|(k, v)| format!("'{}': '{}'", k.replace('\'', "''"), v.replace('\'', "''")))
            .collect();
        cql.execute(&format!(
            "CREATE KEYSPACE IF NOT EXISTS {} WITH replication = {{{}}}",
            quote_ident(DRILL_KEYSPACE),
            map.join(", ")
        ))
        .await
        .map_err(|e| format!("cannot create keyspace {DRILL_KEYSPACE}: {e}"))
    }

    async fn run(
        &self,
        id: i64,
        job_id: i64,
        node: NodeConfig,
        snapshot: Option<String>,
        tables: Vec<String>,
        by: String,
    ) {
        let _ = jobs::start(&self.pool, job_id).await;
        let outcome = self.drill(id, job_id, &node, snapshot, &tables, &by).await;
        let (state, message, results, restore_ms) = match outcome {
            Ok(o) => o,
            Err(e) => ("failed", e, Vec::new(), None),
        };
        let _ = sqlx::query(
            "UPDATE drills SET state = ?, finished_at = ?, message = ?, result = ?, restore_ms = ? WHERE id = ?",
        )
        .bind(state)
        .bind(now_ms())
        .bind(&message)
        .bind(serde_json::to_string(&results).unwrap_or_default())
        .bind(restore_ms)
        .bind(id)
        .execute(&self.pool)
        .await;
        let _ = if state == "passed" {
            jobs::finish(&self.pool, job_id, &message).await
        } else {
            jobs::fail(&self.pool, job_id, &message).await
        };
    }

    /// The drill's steps; `Err` is a failure before or outside the restore.
    async fn drill(
        &self,
        id: i64,
        job_id: i64,
        node: &NodeConfig,
        snapshot: Option<String>,
        tables: &[String],
        by: &str,
    ) -> Result<(&'static str, String, Vec<TableVerification>, Option<i64>), String> {
        let steps = jobs::Steps::new(&self.pool, job_id, 4);
        let tag = match snapshot {
            Some(t) => t,
            None => self
                .newest_snapshot(&node.name, tables)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "no snapshot on {} holds {}: take one first",
                        node.name,
                        tables.join(", ")
                    )
                })?,
        };
        let _ = sqlx::query("UPDATE drills SET tag = ? WHERE id = ?")
            .bind(&tag)
            .bind(id)
            .execute(&self.pool)
            .await;
        steps
            .at(0.0, &format!("preparing keyspace {DRILL_KEYSPACE}"))
            .await;
        self.ensure_keyspace(node, &tables[0]).await?;
        steps
            .at(1.0, &format!("restoring {tag} into {DRILL_KEYSPACE}"))
            .await;
        let user = CurrentUser {
            name: by.to_string(),
            role: Role::Operator,
        };
        let input = RestoreInput {
            snapshot: tag.clone(),
            node: Some(node.name.clone()),
            tables: tables.to_vec(),
            target: Target::Side,
            side_keyspace: Some(DRILL_KEYSPACE.to_string()),
            truncate: false,
            reason: format!("restore drill {id}"),
            source: None,
        };
        let request = self
            .restores
            .request_drill(input, &user)
            .await
            .map_err(|e| format!("the restore was refused: {e}"))?;
        let _ = sqlx::query("UPDATE drills SET restore_id = ? WHERE id = ?")
            .bind(request.id)
            .bind(id)
            .execute(&self.pool)
            .await;
        if let Err(e) = self.restores.execute(request.id, false).await {
            // Free the source snapshot's pin and the tables at once, not at approval expiry.
            if let Err(c) = self
                .restores
                .cancel(request.id, &user, "the drill could not start it")
                .await
            {
                tracing::warn!(restore = request.id, error = %c, "cannot cancel a drill's restore request");
            }
            return Err(format!("restore request {} did not start: {e}", request.id));
        }
        // The request's state, not its job's: the restore ends its job before it records
        // its own end, so a job that has ended does not yet mean a final request.
        let deadline = tokio::time::Instant::now() + RESTORE_LIMIT;
        let done = loop {
            let r = self
                .restores
                .get(request.id)
                .await
                .map_err(|e| e.to_string())?;
            if matches!(r.state.as_str(), "done" | "failed" | "interrupted") {
                break r;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "restore request {} did not finish within {} hours",
                    request.id,
                    RESTORE_LIMIT.as_secs() / 3600
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let restore_ms = done
            .started_at
            .zip(done.finished_at)
            .map(|(a, b)| (b - a).max(0));
        steps.at(3.0, "dropping the side tables").await;
        let cleanup = self.drop_side_tables(node, &done.plan).await;
        let verification = done.verification.clone();
        // Results name the source table (the side table is gone once dropped).
        let results: Vec<TableVerification> = verification
            .as_ref()
            .map(|v| {
                v.tables
                    .iter()
                    .cloned()
                    .map(|mut t| {
                        if let Some(p) = done.plan.tables.iter().find(|p| {
                            format!("{}.{}", p.target_keyspace, p.target_table) == t.table
                        }) {
                            t.notes.push(format!("restored as {} and dropped", t.table));
                            t.table = format!("{}.{}", p.keyspace, p.table);
                        }
                        t
                    })
                    .collect()
            })
            .unwrap_or_default();
        let passed = done.state == "done" && verification.as_ref().is_some_and(|v| v.passed);
        let mut message = if passed {
            format!(
                "{tag} restores: {} verified in {}",
                tables.join(", "),
                restore_ms
                    .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                    .unwrap_or_else(|| "an unknown time".into())
            )
        } else {
            let why = done.error.clone().unwrap_or_else(|| {
                results
                    .iter()
                    .filter(|t| !t.passed)
                    .map(|t| format!("{}: {}", t.table, t.notes.join("; ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            format!(
                "{tag} did not restore cleanly (restore request {} {}): {why}",
                request.id, done.state
            )
        };
        if let Err(e) = cleanup {
            message.push_str(&format!("; cleaning up {DRILL_KEYSPACE} failed: {e}"));
        }
        Ok((
            if passed { "passed" } else { "failed" },
            message,
            results,
            restore_ms,
        ))
    }

    /// Drops the side tables the drill restored (only in the drill keyspace) and clears the
    /// snapshots Cassandra took of them on DROP.
    async fn drop_side_tables(
        &self,
        node: &NodeConfig,
        plan: &crate::restore::plan::Plan,
    ) -> Result<(), String> {
        let cql = self
            .sessions
            .session(node)
            .await
            .map_err(|e| format!("cannot reach the node over CQL: {e}"))?;
        for t in &plan.tables {
            if t.target_keyspace != DRILL_KEYSPACE {
                return Err(format!(
                    "{}.{} is outside {DRILL_KEYSPACE}; not dropped",
                    t.target_keyspace, t.target_table
                ));
            }
            cql.execute(&format!(
                "DROP TABLE IF EXISTS {}.{}",
                quote_ident(DRILL_KEYSPACE),
                quote_ident(&t.target_table)
            ))
            .await
            .map_err(|e| format!("DROP TABLE {}: {e}", t.target_table))?;
        }
        Node::local(node)
            .clear_keyspace_snapshots(DRILL_KEYSPACE)
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn get(&self, id: i64) -> Result<DrillDto, ServiceError> {
        let row: Option<DrillRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM drills WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(dto)
            .ok_or_else(|| ServiceError::NotFound(format!("no drill {id}")))
    }

    /// The newest drills first.
    pub async fn list(&self, limit: i64) -> Result<Vec<DrillDto>, ServiceError> {
        let rows: Vec<DrillRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM drills ORDER BY started_at DESC, id DESC LIMIT ?"
        ))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(dto).collect())
    }

    /// The last good restore proof of each table (see [`proof`]).
    pub async fn proof(&self) -> Result<Vec<ProofDto>, ServiceError> {
        proof(&self.pool).await
    }

    /// Drills the previous server left running are interrupted (their restore request says
    /// how far it got).
    pub async fn mark_interrupted(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
        let r = sqlx::query(
            "UPDATE drills SET state = 'interrupted', finished_at = ?, \
             message = 'the server stopped during the drill' WHERE state = 'running'",
        )
        .bind(now_ms())
        .execute(pool)
        .await?;
        Ok(r.rows_affected())
    }
}

/// The last good restore proof of each table: its newest drill whose table passed.
pub async fn proof(pool: &SqlitePool) -> Result<Vec<ProofDto>, ServiceError> {
    let rows: Vec<DrillRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM drills WHERE state IN ('passed', 'failed') AND result IS NOT NULL \
         ORDER BY finished_at DESC, id DESC"
    ))
    .fetch_all(pool)
    .await?;
    let mut best: BTreeMap<(String, String), ProofDto> = BTreeMap::new();
    for d in rows.into_iter().map(dto) {
        for t in d.results.iter().filter(|t| t.passed) {
            best.entry((d.node.clone(), t.table.clone()))
                .or_insert_with(|| ProofDto {
                    node: d.node.clone(),
                    table: t.table.clone(),
                    drill_id: d.id,
                    snapshot: d.snapshot.clone(),
                    proved_at: d.finished_at.unwrap_or(d.started_at),
                    rows_expected: t.rows_expected,
                    rows_found: t.rows_found,
                    restore_ms: d.restore_ms,
                });
        }
    }
    Ok(best.into_values().collect())
}
