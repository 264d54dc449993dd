//! Snapkeep: keeps Apache Cassandra snapshots and backups safe and shows what they cost.
//!
//! The library behind the `snapkeep` binary. Each domain lives in its own module and owns its
//! types, errors, routes and tests; [`http::app`] assembles the axum router and
//! [`cli::run`] is what `main` calls.

pub mod alerts;
pub mod auth;
pub mod backups;
pub mod calculator;
pub mod cassandra;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod clusters;
pub mod config;
pub mod drills;
pub mod error;
pub mod escape;
pub mod http;
pub mod inventory;
pub mod jobs;
pub mod metrics;
pub mod node;
pub mod process;
pub mod reports;
pub mod restore;
pub mod rpo;
pub mod schedules;
pub mod server;
pub mod snapshots;
pub mod state;
pub mod telemetry;
