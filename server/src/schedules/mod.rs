//! Schedules: the nightly cron of the war story, run by the server itself. A schedule is a
//! cron expression in a time zone, a scope, a tag template, an optional TTL and store, and a
//! retention; each due time runs once as a job (snapshot, copy to the store, retention).
//!
//! - [`timing`]: cron on a time zone's wall clock, across daylight-saving changes.
//! - [`template`]: the tag a run gets.
//! - [`retention`]: which of a schedule's snapshots stay (last N, D days, daily/weekly/monthly).
//! - [`model`]: what the API takes and answers, and the checks before saving.
//! - [`service`]: saving, the timer (lease, catch-up, overlap) and the runs.
//! - [`auto`]: retention of the snapshots Cassandra takes on TRUNCATE and DROP.
//! - [`routes`]: the `/api/v1/schedules` and `/api/v1/retention/auto-snapshots` routes.

pub mod auto;
pub mod model;
pub mod retention;
pub mod routes;
pub mod service;
pub mod template;
pub mod timing;

pub use service::ScheduleService;
