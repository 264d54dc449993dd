//! The optional alert webhook: each new alert is POSTed as JSON
//! (`{"event": "firing", "alert": {…}}`) to `[alerts.webhook] url`, and once it resolves,
//! `{"event": "resolved", …}` (only for alerts whose firing was delivered). A delivery that fails (no
//! answer, an error status) is retried with exponential backoff up to `max_attempts`, its
//! state and last error kept on the alert; a delivery never blocks a job or another alert.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sqlx::SqlitePool;

use super::WebhookConfig;
use crate::error::ServiceError;

/// Checks that `url` is an absolute `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|e| {
        format!("`{url}` is not a URL ({e}), e.g. https://hooks.example.com/snapkeep")
    })?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => Err(format!(
            "`{url}` is not an http:// or https:// URL with a host, e.g. https://hooks.example.com/snapkeep"
        )),
    }
}

/// An HTTP(S) client for the webhook; https checks the server's certificate against the
/// system's roots.
pub struct Client {
    http: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Self {
        // The system's roots; without any, plain http still works and https fails with the
        // TLS error on the alert.
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            http: hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build(connector),
        }
    }

    /// POSTs `body` to `url`; `Ok` on a 2xx answer within `timeout`, else why not.
    pub async fn post(&self, url: &str, body: Vec<u8>, timeout: Duration) -> Result<(), String> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("snapkeep/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let res = tokio::time::timeout(timeout, self.http.request(req))
            .await
            .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
            .map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text = format!("{text}: {s}");
                    source = s.source();
                }
                text
            })?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let bytes = tokio::time::timeout(timeout, res.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        Err(format!(
            "answered {status}{}",
            if text.trim().is_empty() {
                String::new()
            } else {
                format!(": {}", text.trim())
            }
        ))
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failures.
pub fn backoff_ms(config: &WebhookConfig, attempts: u32) -> i64 {
    let factor = 1u64 << attempts.saturating_sub(1).min(20);
    (config.backoff_secs.saturating_mul(factor))
        .min(config.max_backoff_secs.max(config.backoff_secs)) as i64
        * 1000
}

/// Sends every open, unsilenced alert whose delivery is due at `now`, one after another;
/// returns how many were sent.
pub async fn deliver_due(
    pool: &SqlitePool,
    config: &WebhookConfig,
    client: &Client,
    now: i64,
) -> Result<usize, ServiceError> {
    // Firing: open and not silenced. Resolved: whatever the silence, the receiver was told
    // it fired.
    let due: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT id, notify_attempts, notify_event FROM alerts WHERE notify_state = 'pending' \
         AND coalesce(notify_next_at, 0) <= ?1 \
         AND ((notify_event = 'firing' AND resolved_at IS NULL AND NOT coalesce(silenced_until > ?1, 0)) \
              OR notify_event = 'resolved') \
         ORDER BY first_seen_at, id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    let mut sent = 0;
    for (id, attempts, event) in due {
        let alert = super::store::get(pool, &id, now).await?;
        let body = serde_json::to_vec(&serde_json::json!({ "event": event, "alert": alert }))
            .map_err(|e| ServiceError::Unavailable(format!("cannot encode alert {id}: {e}")))?;
        let attempts = attempts.max(0) as u32 + 1;
        let result = client
            .post(&config.url, body, Duration::from_secs(config.timeout_secs))
            .await;
        let done = crate::clock::now_ms();
        match result {
            Ok(()) => {
                sent += 1;
                sqlx::query(
                    "UPDATE alerts SET notify_state = 'sent', notify_attempts = ?, notified_at = ?, notify_error = NULL, \
                       notify_next_at = NULL WHERE id = ?",
                )
                .bind(attempts as i64)
                .bind(done)
                .bind(&id)
                .execute(pool)
                .await?;
            }
            Err(e) => {
                let last = attempts >= config.max_attempts;
                tracing::warn!(alert = %id, attempt = attempts, error = %e, "alert webhook failed");
                sqlx::query(
                    "UPDATE alerts SET notify_state = ?, notify_attempts = ?, notify_error = ?, notify_next_at = ? \
                     WHERE id = ?",
                )
                .bind(if last { "failed" } else { "pending" })
                .bind(attempts as i64)
                .bind(format!("attempt {attempts} of {}: {e}", config.max_attempts))
                .bind((!last).then(|| done + backoff_ms(config, attempts)))
                .bind(&id)
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(sent)
}
