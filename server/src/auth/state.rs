//! What the authentication layer keeps between requests: the catalog, `[auth]`, the sign-in
//! limiter, the bounded password-hashing pool, the anonymous-refusal counter and the
//! housekeeping task (noise rows, audit archival).

use std::sync::{Arc, OnceLock};

use sqlx::SqlitePool;

use super::audit;
use super::noise::NoiseCounter;
use super::ratelimit::LoginLimiter;
use super::{AuthConfig, PasswordChecks};
use crate::clock::now_ms;

/// What the layer needs.
#[derive(Clone)]
pub struct AuthState {
    pub pool: SqlitePool,
    pub config: AuthConfig,
    pub limiter: LoginLimiter,
    /// The bounded pool every password hash and check runs on.
    pub passwords: PasswordChecks,
    /// Anonymous refusals, per address and minute.
    pub noise: NoiseCounter,
    /// Set once the housekeeping task (noise rows, audit archival) runs.
    housekeeping: Arc<OnceLock<()>>,
    /// The housekeeping task stops when the last clone of this state is gone.
    alive: Arc<()>,
}

impl AuthState {
    pub fn new(pool: SqlitePool, config: AuthConfig) -> Self {
        Self {
            pool,
            config,
            limiter: LoginLimiter::default(),
            passwords: PasswordChecks::sized_to_cores(),
            noise: NoiseCounter::default(),
            housekeeping: Arc::default(),
            alive: Arc::default(),
        }
    }

    /// Writes the counted anonymous refusals of minutes that have ended (all of them when
    /// `all`) to the audit log.
    pub async fn flush_noise(&self, all: bool) {
        self.noise.flush(&self.pool, now_ms(), all).await;
    }

    /// Starts (once) the task that writes counted refusals every 30 seconds and archives
    /// audit rows past `[auth] audit_retention_days` every hour.
    pub(super) fn start_housekeeping(&self) {
        if self.housekeeping.set(()).is_err() {
            return;
        }
        let alive = Arc::downgrade(&self.alive);
        let pool = self.pool.clone();
        let noise = self.noise.clone();
        let days = self.config.audit_retention_days;
        tokio::spawn(async move {
            let mut ticks: u64 = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                if alive.upgrade().is_none() {
                    noise.flush(&pool, now_ms(), true).await;
                    return;
                }
                noise.flush(&pool, now_ms(), false).await;
                // First archival a minute after start, then hourly.
                if ticks % 120 == 1 {
                    match audit::archive(&pool, days, now_ms()).await {
                        Ok(Some(a)) => {
                            tracing::info!(rows = a.rows, file = %a.file.display(), "archived audit rows")
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, "cannot archive the audit log"),
                    }
                }
                ticks += 1;
            }
        });
    }
    pub fn idle_ms(&self) -> i64 {
        (self.config.session_idle_minutes as i64).saturating_mul(60_000)
    }
    pub fn max_ms(&self) -> i64 {
        (self.config.session_max_hours as i64).saturating_mul(3_600_000)
    }
}
