//! Snapshots: taking them (`nodetool snapshot`), discovering the ones taken outside Snapkeep
//! (plain nodetool, TRUNCATE's and DROP's automatic ones), recording each with its files,
//! manifest, schema and inode-true hold, listing them, and clearing them.
//!
//! - [`validate`]: tags, TTLs, table names, and what kind a tag says a snapshot is.
//! - [`record`]: writes what a scan saw into the catalog.
//! - [`query`]: the list (filters, sort, pages, timeline) and the detail.
//! - [`pins`]: what other services hold (a restore's source and safety snapshot) cannot be
//!   cleared.
//! - [`service`]: take and clear as jobs, at most one per table at a time.
//! - [`routes`]: the `/api/v1/snapshots` routes.

pub mod locks;
pub mod pins;
pub mod query;
pub mod record;
pub mod routes;
pub mod service;
pub mod validate;

pub use locks::{TableLocks, TablesGuard};
pub use service::{SnapshotService, SnapshotsConfig};

/// What can go wrong with a snapshot request, each with the message the user sees.
pub type SnapshotError = crate::error::ServiceError;
