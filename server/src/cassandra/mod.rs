//! Speaking CQL to Cassandra: the client (schema, queries, TRUNCATE) and one cache of sessions
//! the services share. Everything else done on a Cassandra host (nodetool, its files, starting
//! and stopping it) belongs to the node boundary, [`crate::node`].

pub mod cql;
pub mod sessions;

pub use sessions::CqlSessions;
