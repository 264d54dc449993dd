//! The one HTTP error type: every domain error is converted here into a status code and a
//! JSON body `{"error": CODE, "message": TEXT}` (plus `field` when one input is at fault).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::AuthError;
use crate::catalog::CatalogError;
use crate::error::ServiceError;
use crate::reports::ReportsError;

/// Errors returned by API handlers.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    /// No identity, or credentials that are malformed, unknown, expired or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// An identity whose role may not do this, or a refused cross-site change.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Another operation holds what this one needs; retrying later will work.
    #[error("{0}")]
    Busy(String),
    /// A node or service the request needs cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `busy` (retry later),
    /// `unavailable`, `internal`.
    pub error: &'static str,
    /// What went wrong and what to do, in words.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// A JSON body that may be left out: no body (no JSON content type) is `T::default()`; a body
/// that is not valid JSON for `T` is refused as usual.
pub fn json_or_default<T: Default>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    match body {
        Ok(Json(input)) => Ok(input),
        Err(axum::extract::rejection::JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(e) => Err(e.into()),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            ApiError::BadRequest { field, .. } => {
                (StatusCode::BAD_REQUEST, "bad_request", field.clone())
            }
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized", None),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", None),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", None),
            ApiError::Busy(_) => (StatusCode::CONFLICT, "busy", None),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Catalog(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None),
            ApiError::Db(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", None),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
            field,
        };
        (status, Json(body)).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadRequest { field, message } => ApiError::bad_field(field, message),
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            ServiceError::Forbidden(m) => ApiError::Forbidden(m),
            ServiceError::Busy(m) => ApiError::Busy(m),
            ServiceError::Unavailable(m) => ApiError::Unavailable(m),
            ServiceError::Db(e) => ApiError::Db(e),
        }
    }
}

impl From<ReportsError> for ApiError {
    fn from(e: ReportsError) -> Self {
        match e {
            ReportsError::BadRequest { field, message } => ApiError::bad_field(field, message),
            ReportsError::Db(e) => ApiError::Db(e),
            ReportsError::Chart(m) => ApiError::Unavailable(m),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NoUser(_) | AuthError::NoToken(_) => ApiError::NotFound(e.to_string()),
            AuthError::Exists(_) => ApiError::Conflict(e.to_string()),
            AuthError::BadName(_) | AuthError::BadRole(_) | AuthError::WeakPassword => {
                ApiError::BadRequest {
                    field: None,
                    message: e.to_string(),
                }
            }
            AuthError::BadDuration(_) => ApiError::bad_field("expires", e.to_string()),
            AuthError::WrongPassword | AuthError::SamePassword => {
                ApiError::bad_field("old_password", e.to_string())
            }
            AuthError::ForAnotherUser { .. }
            | AuthError::NotOwnCredential(_)
            | AuthError::MustChangePassword(_) => ApiError::Forbidden(e.to_string()),
            AuthError::Locked(_) => ApiError::Busy(e.to_string()),
            AuthError::ChainBroken { .. } => ApiError::Conflict(e.to_string()),
            AuthError::Db(e) => ApiError::Db(e),
            AuthError::Hash(_) | AuthError::Random(_) | AuthError::Audit(_) => {
                ApiError::Unavailable(e.to_string())
            }
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest {
            field: None,
            message: format!("bad query string: {}", e.body_text()),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest {
            field: None,
            message: format!("bad JSON body: {}", e.body_text()),
        }
    }
}
