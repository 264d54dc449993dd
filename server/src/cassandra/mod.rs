//! Contact with real Cassandra nodes: nodetool (through the process runner), its output
//! parsers, the CQL client, and the dev-node launcher used by `make demo` and the tests.

// TEMP pub mod devnode;
pub mod cql;
pub mod nodetool;
pub mod parse;

pub use nodetool::{Nodetool, NodetoolError};
