//! Pieces several pages show, one module per kind.
//!
//! - [`badge`]: a restore's or a step's state, a schema verdict, a snapshot's kind, a check's
//!   outcome.
//! - [`checklist`]: tables to tick, each a checkbox.
//! - [`chart_data`]: the numbers behind a chart, folded under it.
//! - [`error`]: a load that failed, an action's error, the 404 of a page about nothing.
//! - [`figures`]: row counts and byte counts in words.
//! - [`files`]: the files of a snapshot's table or of a restore plan's table.
//! - [`job`]: a snapshot job's progress, followed until it ends.
//! - [`links`]: where a snapshot, a restore request and the restore wizard are.
//! - [`time`]: an instant in UTC and in the reader's zone.

mod badge;
mod chart_data;
mod checklist;
mod error;
mod figures;
mod files;
mod job;
mod links;
mod time;

pub use badge::{KindBadge, OkBadge, StateBadge, VerdictBadge};
pub use chart_data::ChartData;
pub use checklist::TableChecklist;
pub use error::{ErrorAlert, LoadError, respond_not_found};
pub use figures::{bytes_u64, rows_text};
pub use files::{FileRow, FileTable};
pub use job::{JobProgress, JobVerb, follow_job};
pub use links::{restore_href, restore_wizard_href, snapshot_href};
pub use time::Time;
