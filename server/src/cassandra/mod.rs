//! Contact with real Cassandra nodes: nodetool (through the process runner), its output
//! parsers, the CQL client, the dev-node launcher used by `make demo` and the tests, and which
//! Cassandra processes hold a node's files open.

pub mod cql;
pub mod demo;
pub mod devnode;
pub mod nodetool;
pub mod parse;
pub mod procs;
pub mod sessions;

pub use nodetool::{Nodetool, NodetoolError};
pub use sessions::CqlSessions;
