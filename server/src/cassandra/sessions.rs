//! One cache of CQL sessions, a session per node, shared by every service that speaks CQL
//! (snapshots read the schema and count rows, restores plan, truncate, import and verify). A
//! session that fails is dropped and opened again on the next use.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::cql::{Cql, CqlError, Schema};
use crate::node::NodeConfig;

/// The shared sessions (cheap to clone).
#[derive(Clone, Default)]
pub struct CqlSessions {
    sessions: Arc<tokio::sync::Mutex<HashMap<String, Arc<Cql>>>>,
}

impl CqlSessions {
    /// The node's live schema over its session; a failed session is replaced once.
    pub async fn schema(&self, node: &NodeConfig) -> Result<Schema, CqlError> {
        let cached = self.sessions.lock().await.get(&node.name).cloned();
        if let Some(cql) = cached {
            match cql.schema().await {
                Ok(s) => return Ok(s),
                Err(e) => {
                    tracing::info!(node = %node.name, error = %e, "CQL session failed; reconnecting");
                    self.forget(node).await;
                }
            }
        }
        let cql = Arc::new(Cql::connect(&node.cql, Duration::from_secs(10)).await?);
        let schema = cql.schema().await?;
        self.sessions.lock().await.insert(node.name.clone(), cql);
        Ok(schema)
    }

    /// A session to the node that has just read the schema (so it answers).
    pub async fn session(&self, node: &NodeConfig) -> Result<Arc<Cql>, CqlError> {
        self.schema(node).await?;
        let cached = self.sessions.lock().await.get(&node.name).cloned();
        match cached {
            Some(c) => Ok(c),
            None => Ok(Arc::new(
                Cql::connect(&node.cql, Duration::from_secs(10)).await?,
            )),
        }
    }

    /// The session already open to the node, if any (no connection is made).
    pub async fn cached(&self, node: &NodeConfig) -> Option<Arc<Cql>> {
        self.sessions.lock().await.get(&node.name).cloned()
    }

    /// Drops the node's session (after a restart of the node, or a failure).
    pub async fn forget(&self, node: &NodeConfig) {
        self.sessions.lock().await.remove(&node.name);
    }
}
