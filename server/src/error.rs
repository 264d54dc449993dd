//! The error kind the request services share (snapshots, restores): what went wrong, in a
//! sentence that says what to do, sorted by what the caller can do about it. The HTTP edge
//! turns it into a status code in one place ([`crate::http::error`]).

/// A refused or failed request of a service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An input is malformed or out of range; `field` names it.
    #[error("{message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    /// The request does not fit the state of what it names (closed, changed, exists).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this (e.g. approve their own request).
    #[error("{0}")]
    Forbidden(String),
    /// Another operation holds what this one needs; retrying later works.
    #[error("{0}")]
    Busy(String),
    /// A node or service the request needs cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

impl ServiceError {
    /// An input error naming its field.
    pub fn bad(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::BadRequest {
            field,
            message: message.into(),
        }
    }
}
