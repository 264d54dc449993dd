//! Who may do what: users with argon2id password hashes and one of four roles, browser
//! sessions, API tokens, the one authorization policy every route and server function goes
//! through, the append-only audit log, and the hardening around them (login rate limits,
//! constant-time token checks, security headers).
//!
//! - [`store`]: users, sessions and tokens in the catalog.
//! - [`policy`]: the role each route and server function needs (deny by default).
//! - [`middleware`]: identifies the caller, applies the policy and the CSRF check, audits.
//! - [`audit`]: writing, reading, verifying (hash chain) and archiving the audit log.
//! - [`credential`]: the credential of the request being served, and the check that a
//!   restore decision comes from a credential its holder created.
//! - [`noise`]: anonymous refusals, rate-limited and counted per address and minute.
//! - [`routes`]: `/login`, `/logout`, `/api/v1/me`, `/api/v1/users`, `/api/v1/tokens`,
//!   `/api/v1/audit`.

pub mod audit;
pub mod credential;
pub mod middleware;
pub mod noise;
pub mod policy;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod store;

pub use app::api::{CurrentUser, Role};
use serde::Deserialize;
use sha2::Digest as _;

/// Errors of user and token management.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "user name `{0}` is not allowed: use 1 to 64 characters from A-Z a-z 0-9 _ . @ - (not starting with - or .)"
    )]
    BadName(String),
    #[error("user `{0}` already exists")]
    Exists(String),
    #[error("no user `{0}`")]
    NoUser(String),
    #[error("`{0}` is not a role; use viewer, operator, approver or admin")]
    BadRole(String),
    #[error("the password is too short: use at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("`{0}` is not a duration; write a number and d, h or m, e.g. 90d")]
    BadDuration(String),
    #[error("no API token {0}")]
    NoToken(i64),
    #[error("too many failed password checks; try again in {0} seconds")]
    Locked(u64),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the new password is the same as the current one; choose another")]
    SamePassword,
    #[error(
        "an API token is made by its holder: {caller} may not create one for {user}; {user} signs in and creates their own (a token made for someone else would let one person act as two)"
    )]
    ForAnotherUser { caller: String, user: String },
    #[error(
        "this API token was not created by {0}, so it cannot create tokens; sign in and create one"
    )]
    NotOwnCredential(String),
    #[error(
        "{0}'s password was set by someone else; change it first (Settings → Password, or POST /rpc/password_change with old_password and new_password)"
    )]
    MustChangePassword(String),
    #[error("the audit log's hash chain is broken at row {id}: {reason}")]
    ChainBroken { id: i64, reason: String },
    #[error("{0}")]
    Audit(#[from] audit::AuditError),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// `[auth]` in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session unused this long ends.
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, used or not.
    pub session_max_hours: u64,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// Mark the session cookie `Secure`: `true`, `false`, or unset = when the request came
    /// over HTTPS (`X-Forwarded-Proto: https` from a TLS-terminating proxy).
    pub secure_cookies: Option<bool>,
    /// Failed sign-ins allowed per user and per address within `lockout_window_minutes`
    /// before further attempts wait.
    pub max_failed_logins: u32,
    pub lockout_window_minutes: u64,
    /// Refusals of requests without valid credentials allowed per address and minute before
    /// further ones get 429 (they are written to the audit log as one counted row per address
    /// and minute either way).
    pub anonymous_refusals_per_minute: u32,
    /// Audit rows older than this are archived to `audit-archive/` next to the catalog and
    /// removed from it (0 = keep them all in the catalog).
    pub audit_retention_days: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 8 * 60,
            session_max_hours: 7 * 24,
            metrics_token: None,
            secure_cookies: None,
            max_failed_logins: 5,
            lockout_window_minutes: 15,
            anonymous_refusals_per_minute: 60,
            audit_retention_days: 365,
        }
    }
}

/// How a request was identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session { token_hash: String },
    Token { id: i64 },
}

impl Via {
    pub fn as_str(&self) -> &'static str {
        match self {
            Via::Session { .. } => "session",
            Via::Token { .. } => "token",
        }
    }

    /// Which credential, for the audit log: `session` and the first 8 hex digits of the
    /// session's hash (never the cookie), or `token` and its id.
    pub fn credential(&self) -> String {
        match self {
            Via::Session { token_hash } => {
                format!("session {}", token_hash.chars().take(8).collect::<String>())
            }
            Via::Token { id } => format!("token {id}"),
        }
    }
}

/// The identified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub user: CurrentUser,
    pub via: Via,
}

/// 32 random bytes as 64 hex digits.
pub fn random_hex() -> Result<String, AuthError> {
    let mut buf = [0u8; 32];
    getrandom::getrandom(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}

/// SHA-256 as hex: how session and token values are stored and looked up.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

/// Equal strings, compared in constant time.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// An argon2id hash of `password` in PHC format.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    use argon2::PasswordHasher as _;
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let salt = argon2::password_hash::SaltString::encode_b64(&salt)
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`; `None` hash still spends the time of a check, so a
/// wrong user name and a wrong password take as long.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    use argon2::PasswordVerifier as _;
    // For unknown users: a hash of a random string nobody knows, made once.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let (hash, real) = match hash {
        Some(h) => (h, true),
        None => (
            DUMMY
                .get_or_init(|| {
                    random_hex()
                        .and_then(|r| hash_password(&r))
                        .unwrap_or_default()
                })
                .as_str(),
            false,
        ),
    };
    let ok = argon2::PasswordHash::new(hash)
        .map(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

/// Password hashing and checking on a bounded pool: at most `permits` argon2 computations
/// at once (each takes ~19 MiB and tens of milliseconds), so a burst of sign-ins queues
/// instead of exhausting memory. Counts every computation (for tests and metrics).
#[derive(Debug, Clone)]
pub struct PasswordChecks {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    computed: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl PasswordChecks {
    pub fn new(permits: usize) -> Self {
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits.max(1))),
            computed: std::sync::Arc::default(),
        }
    }

    /// One permit per core.
    pub fn sized_to_cores() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Password hashes computed so far (checks and new hashes).
    pub fn computed(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        self.computed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::spawn_blocking(f).await.ok()
    }

    /// [`verify_password`] on the pool; false when the pool is closed.
    pub async fn verify(&self, hash: Option<String>, password: String) -> bool {
        self.run(move || verify_password(hash.as_deref(), &password))
            .await
            .unwrap_or(false)
    }

    /// [`hash_password`] on the pool.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move || hash_password(&password))
            .await
            .unwrap_or_else(|| Err(AuthError::Hash("the hashing pool is closed".into())))
    }
}

/// A generated password: 20 characters from an unambiguous alphabet.
pub fn generate_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 20];
    getrandom::getrandom(&mut buf).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(buf
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect())
}

/// Parses `90d`, `12h`, `30m` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<i64, AuthError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| AuthError::BadDuration(s.to_string()))?;
    let per = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        _ => return Err(AuthError::BadDuration(s.to_string())),
    };
    if n <= 0 || n > 36_500 * 24 * 60 {
        return Err(AuthError::BadDuration(s.to_string()));
    }
    Ok(n * per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(Some(&h), "correct horse battery"));
        assert!(!verify_password(Some(&h), "correct horse battery!"));
        assert!(!verify_password(None, "correct horse battery"));
        assert!(!verify_password(Some("not a hash"), "x"));
        let h2 = hash_password("correct horse battery").expect("hash");
        assert_ne!(h, h2, "salted");
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let a = random_hex().expect("random");
        let b = random_hex().expect("random");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
        let p = generate_password().expect("password");
        assert_eq!(p.len(), 20);
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration_ms("90d").ok(), Some(90 * 86_400_000));
        assert_eq!(parse_duration_ms("12h").ok(), Some(12 * 3_600_000));
        for bad in ["", "90", "0d", "-1d", "3w", "d"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
