//! Restores: the schema check ([`schema`]), the dry-run plan ([`plan`]), requests with
//! second-person approval bound to the plan's hash ([`service`]), the journaled, resumable
//! execution ([`run`]; a full node stopped and restarted: [`fullnode`]) and the API
//! ([`routes`]).

pub mod fullnode;
pub mod plan;
pub mod routes;
pub mod run;
pub mod schema;
pub mod service;
pub mod source;
pub mod step;

pub use service::{DRILL_APPROVER, DRILL_KEYSPACE, RestoreConfig, RestoreService};

pub use crate::node::staging::STAGING_DIR;

/// What can go wrong with a restore request, each with the message the user sees.
pub type RestoreError = crate::error::ServiceError;
