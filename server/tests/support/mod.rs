//! The one harness of the integration tests: [`TestApp`] (the real router over a fresh
//! catalog with a user and an API token per role, and the calls a test makes through it),
//! [`process`] (the `snapkeep` binary as a child process: `serve` and the CLI) and [`node`]
//! (the one real Cassandra node of the `real_node` binary, shared by its tests), [`cluster`]
//! (the real three-node cluster of the `real_cluster` binary) and [`s3`] (a real
//! S3 server on loopback, versitygw, for the backup tests).
// Every test binary compiles the whole harness and uses a part of it.
#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses only part of the harness"
)]

pub mod app;
pub mod cluster;
pub mod node;
pub mod process;
pub mod routes;
pub mod s3;

pub use app::{Answer, Caller, PASSWORD, TestApp};
pub use process::{ServerProcess, snapkeep};
