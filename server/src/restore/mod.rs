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
pub mod step;

pub use service::{RestoreConfig, RestoreService};

pub use crate::node::staging::STAGING_DIR;

/// What can go wrong with a restore request, each with the message the user sees.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("{message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

impl RestoreError {
    pub fn bad(field: &'static str, message: impl Into<String>) -> Self {
        RestoreError::BadRequest {
            field,
            message: message.into(),
        }
    }
}

impl From<crate::snapshots::SnapshotError> for RestoreError {
    fn from(e: crate::snapshots::SnapshotError) -> Self {
        use crate::snapshots::SnapshotError as E;
        match e {
            E::BadRequest { field, message } => RestoreError::BadRequest { field, message },
            E::NotFound(m) => RestoreError::NotFound(m),
            E::Conflict(m) => RestoreError::Conflict(m),
            E::Busy(m) => RestoreError::Busy(m),
            E::Unavailable(m) => RestoreError::Unavailable(m),
            E::Db(e) => RestoreError::Db(e),
        }
    }
}
