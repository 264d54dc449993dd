//! Contact with real Cassandra nodes: nodetool (through the process runner), its output
//! parsers, the CQL client, and the dev-node launcher used by `make demo` and the tests.

pub mod cql;
pub mod demo;
pub mod devnode;
pub mod nodetool;
pub mod parse;

pub use nodetool::{Nodetool, NodetoolError};
