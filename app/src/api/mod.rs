//! What travels between the server and the browser, one module per domain: the
//! data-transfer objects, the server functions the pages call, and the [`Backend`] the server
//! implements for them. Everything is re-exported here (`api::SnapshotDto`, `api::format_utc`):
//! the pages and the server name it by that path.
//!
//! - [`inventory`]: nodes, filesystems and tables from the last scan; jobs.
//! - [`snapshots`], [`backups`], [`restores`], [`reports`]: one domain each.
//! - [`alerts`]: what needs an operator's attention, and its acknowledgement.
//! - [`auth`]: who is signed in, roles, users, tokens and the audit log.
//! - [`protection`]: schedules and the RPO panel as the console shows them.
//! - [`backend`]: how the server functions reach the server, and what its errors say.
//! - [`format`]: bytes, durations and query values as text.
//! - [`time`]: UTC instants and days as text, and parsed back.

pub mod alerts;
pub mod auth;
pub mod backend;
pub mod backups;
pub mod format;
pub mod inventory;
pub mod protection;
pub mod reports;
pub mod restores;
pub mod snapshots;
pub mod time;

pub use alerts::*;
pub use auth::*;
pub use backend::*;
pub use backups::*;
pub use format::*;
pub use inventory::*;
pub use protection::*;
pub use reports::*;
pub use restores::*;
pub use snapshots::*;
pub use time::*;
