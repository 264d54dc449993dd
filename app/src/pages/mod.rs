//! One module per page (a folder for pages with several parts).

mod backups;
mod calculator;
mod drills;
mod growth_chart;
mod login;
mod not_found;
mod overview;
mod reports;
mod restores;
mod schedules;
mod settings;
mod snapshots;

pub use backups::Backups;
pub use calculator::Calculator;
pub use drills::Drills;
pub use login::Login;
pub use not_found::NotFound;
pub use overview::Overview;
pub use reports::Reports;
pub use restores::{RestoreDetail, Restores};
pub use schedules::{Rpo, Schedules};
pub use settings::{Audit, Settings};
pub use snapshots::{SnapshotDetail, Snapshots};
