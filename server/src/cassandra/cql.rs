//! The CQL client (the `scylla` driver, which speaks to Apache Cassandra): reads the live
//! schema from `system_schema`, the snapshots from `system_views.snapshots`, and runs the few
//! statements Snapkeep needs (TRUNCATE, counts, the demo data).

use std::collections::BTreeMap;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::host_filter::AllowListHostFilter;
use serde::Serialize;
use uuid::Uuid;

/// A failed CQL operation, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum CqlError {
    #[error("cannot connect to CQL at {addr}: {detail}")]
    Connect { addr: String, detail: String },
    #[error("CQL `{statement}` failed: {detail}")]
    Query { statement: String, detail: String },
}

/// How long a schema change waits for every node to have it.
const SCHEMA_AGREEMENT_WAIT: Duration = Duration::from_secs(60);

/// One node's place in its cluster, from its own `system.local`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeIdentity {
    pub cluster_name: String,
    pub data_center: String,
    pub rack: String,
    pub host_id: Option<String>,
    /// How many tokens it owns.
    pub tokens: usize,
}

/// The nodes of the cluster as one node sees them, and where each keyspace keeps replicas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    /// (address, data center); the node asked is `local`.
    pub nodes: Vec<(String, String)>,
    /// `system_schema.keyspaces.replication` by keyspace (`class`, `replication_factor` or
    /// one entry per data center).
    pub replication: BTreeMap<String, BTreeMap<String, String>>,
}

impl Topology {
    /// How many nodes hold rows of `keyspace`: every node of each data center where its
    /// replication factor is above zero (with SimpleStrategy: every node). Replicas hold
    /// token ranges, so even at RF 1 each of these nodes has rows no other node has.
    /// `None` when the keyspace or its strategy is unknown.
    pub fn data_nodes(&self, keyspace: &str) -> Option<usize> {
        let r = self.replication.get(keyspace)?;
        let class = r.get("class")?;
        let rf = |v: &String| {
            v.split('/')
                .next()
                .and_then(|n| n.trim().parse::<usize>().ok())
        };
        if class.ends_with("SimpleStrategy") {
            let n = rf(r.get("replication_factor")?)?;
            Some(if n == 0 { 0 } else { self.nodes.len() })
        } else if class.ends_with("NetworkTopologyStrategy") {
            let mut total = 0;
            for (dc, v) in r.iter().filter(|(k, _)| *k != "class") {
                if rf(v)? > 0 {
                    total += self.nodes.iter().filter(|(_, d)| d == dc).count();
                }
            }
            Some(total)
        } else if class.ends_with("LocalStrategy") {
            Some(1)
        } else {
            None
        }
    }
}

/// A connected CQL session to one node.
pub struct Cql {
    session: std::sync::Arc<Session>,
    addr: String,
}

/// One column of a table, as `system_schema.columns` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// `partition_key`, `clustering`, `regular` or `static`.
    pub kind: String,
    /// Position within the partition key or clustering columns; -1 for the others.
    pub position: i32,
    pub cql_type: String,
    /// `asc`, `desc` or `none`.
    pub clustering_order: String,
}

/// A dropped column (`system_schema.dropped_columns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedColumn {
    pub name: String,
    pub cql_type: String,
    /// When it was dropped, microseconds since the epoch (the `USING TIMESTAMP` of schema.cql).
    pub dropped_time_us: i64,
}

/// One live table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSchema {
    pub keyspace: String,
    pub table: String,
    pub id: Uuid,
    pub columns: Vec<Column>,
    pub dropped: Vec<DroppedColumn>,
    pub indexes: Vec<String>,
}

impl TableSchema {
    /// The id as the 32 hex digits of the table's directory name.
    pub fn dir_id(&self) -> String {
        self.id.simple().to_string()
    }
}

/// A user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserType {
    pub keyspace: String,
    pub name: String,
    pub fields: Vec<(String, String)>,
}

/// The live schema of the node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schema {
    pub keyspaces: Vec<String>,
    pub tables: Vec<TableSchema>,
    pub types: Vec<UserType>,
}

impl Schema {
    /// The table with this directory id (32 hex digits).
    pub fn table_by_dir_id(&self, id: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.dir_id() == id)
    }
    pub fn table(&self, keyspace: &str, table: &str) -> Option<&TableSchema> {
        self.tables
            .iter()
            .find(|t| t.keyspace == keyspace && t.table == table)
    }
}

fn q(statement: &str) -> impl Fn(String) -> CqlError + '_ {
    move |detail| CqlError::Query {
        statement: statement.to_string(),
        detail,
    }
}

impl Cql {
    /// Connects to the node at `addr` (`HOST:PORT`), and to that node only: in a cluster,
    /// every statement of this session has this node as its coordinator, so node-local tables
    /// (`system.local`, `system_views.snapshots`) answer for it and not for a peer.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Self, CqlError> {
        let only = AllowListHostFilter::new([addr]).map_err(|e| CqlError::Connect {
            addr: addr.to_string(),
            detail: format!("cannot resolve the address: {e}"),
        })?;
        let session = tokio::time::timeout(
            timeout,
            SessionBuilder::new()
                .known_node(addr)
                .host_filter(std::sync::Arc::new(only))
                .connection_timeout(timeout)
                .build(),
        )
        .await
        .map_err(|_| CqlError::Connect {
            addr: addr.to_string(),
            detail: format!("no answer within {} s", timeout.as_secs()),
        })?
        .map_err(|e| CqlError::Connect {
            addr: addr.to_string(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            session: std::sync::Arc::new(session),
            addr: addr.to_string(),
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The driver session, for statements this module does not wrap.
    pub fn session(&self) -> &std::sync::Arc<Session> {
        &self.session
    }

    /// Runs a statement without bound values (DDL, TRUNCATE). After a schema change
    /// (CREATE, ALTER, DROP) it waits until every node of the cluster has the new schema, so
    /// that the next statement finds it on every replica.
    pub async fn execute(&self, statement: &str) -> Result<(), CqlError> {
        self.session
            .query_unpaged(statement, &[])
            .await
            .map_err(|e| q(statement)(e.to_string()))?;
        let first = statement
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if matches!(first.as_str(), "CREATE" | "ALTER" | "DROP") {
            self.await_schema_agreement(SCHEMA_AGREEMENT_WAIT).await?;
        }
        Ok(())
    }

    /// Waits until this node and every peer it knows report one schema version
    /// (`system.local` and `system.peers`, as this node's gossip sees them). The driver's own
    /// check asks only the nodes a session connects to, and Snapkeep's sessions connect to one.
    pub async fn await_schema_agreement(&self, within: Duration) -> Result<(), CqlError> {
        let started = std::time::Instant::now();
        loop {
            let local = self
                .rows::<(Option<Uuid>,)>("SELECT schema_version FROM system.local")
                .await?;
            let peers = self
                .rows::<(std::net::IpAddr, Option<Uuid>)>(
                    "SELECT peer, schema_version FROM system.peers",
                )
                .await?;
            let mine = local.first().and_then(|r| r.0);
            let behind: Vec<String> = peers
                .iter()
                .filter(|(_, v)| v.is_some() && *v != mine)
                .map(|(p, _)| p.to_string())
                .collect();
            if behind.is_empty() {
                return Ok(());
            }
            if started.elapsed() >= within {
                return Err(q("schema agreement")(format!(
                    "{} still had another schema version after {} s",
                    behind.join(", "),
                    within.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Counts the rows of `keyspace.table` (a full scan: use on small tables only).
    pub async fn count_rows(&self, keyspace: &str, table: &str) -> Result<i64, CqlError> {
        let statement = format!(
            "SELECT COUNT(*) FROM {}.{}",
            quote_ident(keyspace),
            quote_ident(table)
        );
        let result = self
            .session
            .query_unpaged(statement.as_str(), &[])
            .await
            .map_err(|e| q(&statement)(e.to_string()))?
            .into_rows_result()
            .map_err(|e| q(&statement)(e.to_string()))?;
        let (count,): (i64,) = result
            .single_row()
            .map_err(|e| q(&statement)(e.to_string()))?;
        Ok(count)
    }

    /// Who this node is: its cluster, data center, rack, host id and tokens
    /// (`system.local`).
    pub async fn identity(&self) -> Result<NodeIdentity, CqlError> {
        let s = "SELECT cluster_name, data_center, rack, host_id, tokens FROM system.local";
        type Local = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<Uuid>,
            Option<Vec<String>>,
        );
        let row = self
            .rows::<Local>(s)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| q(s)("system.local has no row".into()))?;
        Ok(NodeIdentity {
            cluster_name: row.0.unwrap_or_default(),
            data_center: row.1.unwrap_or_default(),
            rack: row.2.unwrap_or_default(),
            host_id: row.3.map(|u| u.to_string()),
            tokens: row.4.map_or(0, |t| t.len()),
        })
    }

    /// The ring as this node sees it: itself and its peers with their data centers, and each
    /// keyspace's replication settings.
    pub async fn topology(&self) -> Result<Topology, CqlError> {
        let mut t = Topology::default();
        let s = "SELECT data_center FROM system.local";
        for (dc,) in self.rows::<(Option<String>,)>(s).await? {
            t.nodes.push(("local".into(), dc.unwrap_or_default()));
        }
        let s = "SELECT peer, data_center FROM system.peers";
        for (peer, dc) in self.rows::<(std::net::IpAddr, Option<String>)>(s).await? {
            t.nodes.push((peer.to_string(), dc.unwrap_or_default()));
        }
        let s = "SELECT keyspace_name, replication FROM system_schema.keyspaces";
        for (ks, replication) in self
            .rows::<(String, std::collections::HashMap<String, String>)>(s)
            .await?
        {
            t.replication
                .insert(ks, replication.into_iter().collect::<BTreeMap<_, _>>());
        }
        Ok(t)
    }

    /// Reads the live schema: keyspaces, tables with ids, columns, dropped columns, indexes
    /// and user-defined types.
    pub async fn schema(&self) -> Result<Schema, CqlError> {
        let mut schema = Schema::default();
        let s = "SELECT keyspace_name FROM system_schema.keyspaces";
        for row in self.rows::<(String,)>(s).await? {
            schema.keyspaces.push(row.0);
        }
        let s = "SELECT keyspace_name, table_name, id FROM system_schema.tables";
        let mut tables: BTreeMap<(String, String), TableSchema> = BTreeMap::new();
        for (ks, t, id) in self.rows::<(String, String, Uuid)>(s).await? {
            tables.insert(
                (ks.clone(), t.clone()),
                TableSchema {
                    keyspace: ks,
                    table: t,
                    id,
                    columns: Vec::new(),
                    dropped: Vec::new(),
                    indexes: Vec::new(),
                },
            );
        }
        let s = "SELECT keyspace_name, table_name, column_name, kind, position, type, clustering_order FROM system_schema.columns";
        for (ks, t, name, kind, position, cql_type, order) in self
            .rows::<(String, String, String, String, i32, String, String)>(s)
            .await?
        {
            if let Some(table) = tables.get_mut(&(ks, t)) {
                table.columns.push(Column {
                    name,
                    kind,
                    position,
                    cql_type,
                    clustering_order: order,
                });
            }
        }
        let s = "SELECT keyspace_name, table_name, column_name, type, dropped_time FROM system_schema.dropped_columns";
        for (ks, t, name, cql_type, dropped) in self
            .rows::<(String, String, String, String, scylla::value::CqlTimestamp)>(s)
            .await?
        {
            if let Some(table) = tables.get_mut(&(ks, t)) {
                table.dropped.push(DroppedColumn {
                    name,
                    cql_type,
                    dropped_time_us: dropped.0.saturating_mul(1000),
                });
            }
        }
        let s = "SELECT keyspace_name, table_name, index_name FROM system_schema.indexes";
        for (ks, t, name) in self.rows::<(String, String, String)>(s).await? {
            if let Some(table) = tables.get_mut(&(ks, t)) {
                table.indexes.push(name);
            }
        }
        let s =
            "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types";
        for (ks, name, names, types) in self
            .rows::<(String, String, Vec<String>, Vec<String>)>(s)
            .await?
        {
            schema.types.push(UserType {
                keyspace: ks,
                name,
                fields: names.into_iter().zip(types).collect(),
            });
        }
        for table in tables.values_mut() {
            table.columns.sort_by(|a, b| {
                kind_rank(&a.kind)
                    .cmp(&kind_rank(&b.kind))
                    .then(a.position.cmp(&b.position))
                    .then(a.name.cmp(&b.name))
            });
        }
        schema.tables = tables.into_values().collect();
        Ok(schema)
    }

    async fn rows<R>(&self, statement: &str) -> Result<Vec<R>, CqlError>
    where
        R: for<'f> scylla::deserialize::row::DeserializeRow<'f, 'f>,
    {
        let result = self
            .session
            .query_unpaged(statement, &[])
            .await
            .map_err(|e| q(statement)(e.to_string()))?
            .into_rows_result()
            .map_err(|e| q(statement)(e.to_string()))?;
        let iter = result
            .rows::<R>()
            .map_err(|e| q(statement)(e.to_string()))?;
        iter.map(|r| r.map_err(|e| q(statement)(e.to_string())))
            .collect()
    }
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "partition_key" => 0,
        "clustering" => 1,
        "static" => 2,
        _ => 3,
    }
}

/// Quotes a CQL identifier when it needs quoting.
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(quote_ident("user_profiles"), "user_profiles");
        assert_eq!(quote_ident("UserProfiles"), "\"UserProfiles\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
