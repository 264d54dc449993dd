//! Users, sessions and API tokens in the catalog. Session cookies and API tokens are random
//! 256-bit values; only their SHA-256 is stored, so a copy of the catalog signs nobody in.

use app::api::{AccountDto, CurrentUser, Role, TokenDto, UserDto};
use sqlx::SqlitePool;

use super::{
    AuthError, Identity, MIN_PASSWORD_LEN, PasswordChecks, Via, constant_time_eq, sha256_hex,
};
use crate::clock::now_ms;

/// Prefix of API tokens, so they are recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "skp_";

fn check_name(name: &str) -> Result<(), AuthError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
        && !name.starts_with(['-', '.']);
    if ok {
        Ok(())
    } else {
        Err(AuthError::BadName(name.to_string()))
    }
}

fn check_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AuthError::WeakPassword);
    }
    Ok(())
}

/// Creates a user whose password its owner chose (tests, the demo, `user add
/// --password-stdin`).
pub async fn add_user(
    pool: &SqlitePool,
    name: &str,
    role: Role,
    password: &str,
) -> Result<(), AuthError> {
    add_user_set_by(pool, name, role, password, None).await
}

/// Creates a user. `set_by` names who else chose the password (e.g. `cli:root`): then the
/// account must change it before its restore decisions count.
pub async fn add_user_set_by(
    pool: &SqlitePool,
    name: &str,
    role: Role,
    password: &str,
    set_by: Option<&str>,
) -> Result<(), AuthError> {
    check_name(name)?;
    check_password(password)?;
    let hash = super::hash_password(password)?;
    let now = now_ms();
    let r = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at, must_change_password, password_set_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash)
    .bind(now)
    .bind(now)
    .bind(set_by.is_some() as i64)
    .bind(set_by.unwrap_or("self"))
    .execute(pool)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AuthError::Exists(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets a password its owner chose (and signs them out everywhere).
pub async fn set_password(pool: &SqlitePool, name: &str, password: &str) -> Result<(), AuthError> {
    set_password_by(pool, name, password, None).await
}

/// Sets a user's password and signs them out everywhere. `set_by` names who else chose it:
/// then the account must change it before its restore decisions count.
pub async fn set_password_by(
    pool: &SqlitePool,
    name: &str,
    password: &str,
    set_by: Option<&str>,
) -> Result<(), AuthError> {
    check_password(password)?;
    let hash = super::hash_password(password)?;
    let id = user_id(pool, name).await?;
    sqlx::query(
        "UPDATE users SET password_hash = ?, updated_at = ?, must_change_password = ?, password_set_by = ? WHERE id = ?",
    )
    .bind(hash)
    .bind(now_ms())
    .bind(set_by.is_some() as i64)
    .bind(set_by.unwrap_or("self"))
    .bind(id)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = ?")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The owner changes their own password, proving they know the current one. Clears
/// `must_change_password` and ends their other sessions (`keep_session`: the token hash of
/// the session to keep).
pub async fn change_own_password(
    pool: &SqlitePool,
    checks: &PasswordChecks,
    user_id: i64,
    old: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<(), AuthError> {
    let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(user_id)
        .fetch_optional(pool)
        .await?;
    let Some(stored) = stored else {
        return Err(AuthError::WrongPassword);
    };
    if !checks.verify(Some(stored), old.to_string()).await {
        return Err(AuthError::WrongPassword);
    }
    check_password(new)?;
    if new == old {
        return Err(AuthError::SamePassword);
    }
    let hash = checks.hash(new.to_string()).await?;
    sqlx::query(
        "UPDATE users SET password_hash = ?, updated_at = ?, must_change_password = 0, password_set_by = 'self' WHERE id = ?",
    )
    .bind(hash)
    .bind(now_ms())
    .bind(user_id)
    .execute(pool)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?")
        .bind(user_id)
        .bind(keep_session)
        .execute(pool)
        .await?;
    Ok(())
}

/// The caller's account.
pub async fn account(pool: &SqlitePool, user_id: i64) -> Result<AccountDto, AuthError> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT name, must_change_password, password_set_by FROM users WHERE id = ?",
    )
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    let (name, must, by) = row.ok_or_else(|| AuthError::NoUser(format!("#{user_id}")))?;
    Ok(AccountDto {
        name,
        must_change_password: must != 0,
        password_set_by: by,
    })
}

async fn user_id(pool: &SqlitePool, name: &str) -> Result<i64, AuthError> {
    sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AuthError::NoUser(name.to_string()))
}

/// Whether a user exists.
pub async fn user_exists(pool: &SqlitePool, name: &str) -> Result<bool, AuthError> {
    Ok(user_id(pool, name).await.is_ok())
}

/// Changes a user's role.
pub async fn set_role(pool: &SqlitePool, name: &str, role: Role) -> Result<(), AuthError> {
    let id = user_id(pool, name).await?;
    sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
        .bind(role.as_str())
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Disables (or enables) a user; disabling ends their sessions and revokes their API tokens
/// for good (enabling again brings none back).
pub async fn set_disabled(pool: &SqlitePool, name: &str, disabled: bool) -> Result<(), AuthError> {
    let id = user_id(pool, name).await?;
    sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?")
        .bind(disabled as i64)
        .bind(now_ms())
        .bind(id)
        .execute(pool)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(id)
            .execute(pool)
            .await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE user_id = ?")
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Every user.
pub async fn list_users(pool: &SqlitePool) -> Result<Vec<UserDto>, AuthError> {
    let rows: Vec<(String, String, i64, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT name, role, disabled, created_at, last_login_at, must_change_password FROM users ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, role, disabled, created_at, last_login_at, must)| UserDto {
                name,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                disabled: disabled != 0,
                created_at,
                last_login_at,
                must_change_password: must != 0,
            },
        )
        .collect())
}

/// Number of users (none yet: the console explains how to make the first admin).
pub async fn count_users(pool: &SqlitePool) -> Result<i64, AuthError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pool)
        .await?)
}

/// Checks a name and password. Unknown user, wrong password and disabled user all give
/// `None`, after the same work.
pub async fn check_login(
    pool: &SqlitePool,
    checks: &PasswordChecks,
    name: &str,
    password: &str,
) -> Result<Option<(i64, CurrentUser)>, AuthError> {
    let row: Option<(i64, String, String, i64)> =
        sqlx::query_as("SELECT id, role, password_hash, disabled FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    let hash = row.as_ref().map(|r| r.2.clone());
    let ok = checks.verify(hash, password.to_string()).await;
    match row {
        Some((id, role, _, disabled)) if ok && disabled == 0 => Ok(Some((
            id,
            CurrentUser {
                name: name.to_string(),
                role: Role::parse(&role).unwrap_or(Role::Viewer),
            },
        ))),
        _ => Ok(None),
    }
}

/// Starts a session; returns the cookie value.
pub async fn create_session(
    pool: &SqlitePool,
    user_id: i64,
    address: &str,
    max_ms: i64,
) -> Result<String, AuthError> {
    let token = super::random_hex()?;
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, address) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(sha256_hex(&token))
    .bind(user_id)
    .bind(now)
    .bind(now)
    .bind(now + max_ms)
    .bind(address)
    .execute(pool)
    .await?;
    sqlx::query("UPDATE users SET last_login_at = ? WHERE id = ?")
        .bind(now)
        .bind(user_id)
        .execute(pool)
        .await?;
    // Old sessions go away with each sign-in.
    sqlx::query("DELETE FROM sessions WHERE expires_at < ?")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(token)
}

/// The user of a session cookie, if the session is valid (not past its absolute expiry, not
/// idle too long, user enabled). Refreshes its last use.
pub async fn session_identity(
    pool: &SqlitePool,
    token: &str,
    idle_ms: i64,
) -> Result<Option<Identity>, AuthError> {
    let hash = sha256_hex(token);
    let row: Option<(i64, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT u.id, u.name, u.role, u.disabled, s.last_seen_at, s.expires_at FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    let now = now_ms();
    let Some((id, name, role, disabled, last_seen, expires)) = row else {
        return Ok(None);
    };
    if disabled != 0 || now >= expires || now - last_seen > idle_ms {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(&hash)
            .execute(pool)
            .await?;
        return Ok(None);
    }
    if now - last_seen > 30_000 {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
            .bind(now)
            .bind(&hash)
            .execute(pool)
            .await?;
    }
    Ok(Some(identity(
        id,
        name,
        &role,
        Via::Session { token_hash: hash },
    )))
}

/// Ends a session.
pub async fn delete_session(pool: &SqlitePool, token_hash: &str) -> Result<(), AuthError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Who creates a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCreator {
    /// The holder themselves, with the credential named (`session`, `token`, or `library`
    /// for code that makes a user's own token, such as tests and the demo).
    Holder(&'static str),
    /// The command line, for any user: not the holder's own, so it does not count for
    /// restore decisions.
    CommandLine,
}

/// Creates an API token for `user`, as made by `user` themselves; returns the token (shown
/// once) and its record.
pub async fn create_token(
    pool: &SqlitePool,
    user: &str,
    name: &str,
    expires_in_ms: Option<i64>,
) -> Result<(String, TokenDto), AuthError> {
    create_token_as(
        pool,
        user,
        name,
        expires_in_ms,
        TokenCreator::Holder("library"),
    )
    .await
}

/// Creates an API token for `user`, recording who made it.
pub async fn create_token_as(
    pool: &SqlitePool,
    user: &str,
    name: &str,
    expires_in_ms: Option<i64>,
    creator: TokenCreator,
) -> Result<(String, TokenDto), AuthError> {
    let id = user_id(pool, user).await?;
    let token = format!("{TOKEN_PREFIX}{}", super::random_hex()?);
    let now = now_ms();
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 8).collect();
    let expires_at = expires_in_ms.map(|ms| now + ms);
    let (created_by, created_via) = match creator {
        TokenCreator::Holder(via) => (Some(id), via),
        TokenCreator::CommandLine => (None, "cli"),
    };
    let token_id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at, expires_at, created_by, created_via) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(id)
    .bind(name)
    .bind(sha256_hex(&token))
    .bind(&prefix)
    .bind(now)
    .bind(expires_at)
    .bind(created_by)
    .bind(created_via)
    .fetch_one(pool)
    .await?;
    Ok((
        token,
        TokenDto {
            id: token_id,
            user: user.to_string(),
            name: name.to_string(),
            prefix,
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
            created_by: created_by.map(|_| user.to_string()),
            created_via: created_via.to_string(),
        },
    ))
}

/// The user of an API token, if it is valid (known, not revoked, not expired, user enabled).
pub async fn token_identity(pool: &SqlitePool, token: &str) -> Result<Option<Identity>, AuthError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Ok(None);
    }
    let hash = sha256_hex(token);
    type Row = (
        i64,
        String,
        i64,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<Row> =
        sqlx::query_as(
            "SELECT t.id, t.token_hash, u.id, u.name, u.role, u.disabled, t.expires_at, t.revoked_at, t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?",
        )
        .bind(&hash)
        .fetch_optional(pool)
        .await?;
    let now = now_ms();
    let Some((tid, stored, uid, name, role, disabled, expires, revoked, last_used)) = row else {
        return Ok(None);
    };
    let valid = constant_time_eq(&stored, &hash)
        && disabled == 0
        && revoked.is_none()
        && expires.is_none_or(|e| now < e);
    if !valid {
        return Ok(None);
    }
    if last_used.is_none_or(|l| now - l > 30_000) {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(tid)
            .execute(pool)
            .await?;
    }
    Ok(Some(identity(uid, name, &role, Via::Token { id: tid })))
}

/// Tokens, all or of one user.
pub async fn list_tokens(
    pool: &SqlitePool,
    user: Option<&str>,
) -> Result<Vec<TokenDto>, AuthError> {
    type Row = (
        i64,
        String,
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> =
        sqlx::query_as(
            "SELECT t.id, u.name, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, \
             (SELECT c.name FROM users c WHERE c.id = t.created_by), t.created_via \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE (?1 IS NULL OR u.name = ?1) ORDER BY t.id",
        )
        .bind(user)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenDto {
            id: r.0,
            user: r.1,
            name: r.2,
            prefix: r.3,
            created_at: r.4,
            expires_at: r.5,
            last_used_at: r.6,
            revoked_at: r.7,
            created_by: r.8,
            created_via: r.9,
        })
        .collect())
}

/// Revokes a token (of `owner` only, when given). Revoking twice is not an error.
pub async fn revoke_token(
    pool: &SqlitePool,
    id: i64,
    owner: Option<&str>,
) -> Result<(), AuthError> {
    let r = sqlx::query(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?1) WHERE id = ?2 \
         AND (?3 IS NULL OR user_id = (SELECT id FROM users WHERE name = ?3))",
    )
    .bind(now_ms())
    .bind(id)
    .bind(owner)
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        return Err(AuthError::NoToken(id));
    }
    Ok(())
}

/// The identity of user `user_id` signed in `via` a session or token. A role the catalog does
/// not know (written by a newer version) counts as the least: viewer.
fn identity(user_id: i64, name: String, role: &str, via: Via) -> Identity {
    Identity {
        user_id,
        user: CurrentUser {
            name,
            role: Role::parse(role).unwrap_or(Role::Viewer),
        },
        via,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn checks() -> PasswordChecks {
        PasswordChecks::new(2)
    }

    /// Whether `name` signs in with `password`.
    async fn logs_in(pool: &SqlitePool, name: &str, password: &str) -> bool {
        check_login(pool, &checks(), name, password)
            .await
            .expect("login query")
            .is_some()
    }

    async fn pool() -> (SqlitePool, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        (c.pool().clone(), dir)
    }

    #[tokio::test]
    async fn logins_check_password_and_disabled_users_with_one_answer() {
        let (pool, _d) = pool().await;
        add_user(&pool, "ann", Role::Operator, "a long password")
            .await
            .expect("add");
        assert!(matches!(
            add_user(&pool, "ann", Role::Viewer, "a long password").await,
            Err(AuthError::Exists(_))
        ));
        assert!(matches!(
            add_user(&pool, "bob", Role::Viewer, "short").await,
            Err(AuthError::WeakPassword)
        ));
        assert!(matches!(
            add_user(&pool, "-x", Role::Viewer, "a long password").await,
            Err(AuthError::BadName(_))
        ));
        let ok = check_login(&pool, &checks(), "ann", "a long password")
            .await
            .expect("login");
        assert_eq!(ok.map(|u| u.1.role), Some(Role::Operator));
        assert!(!logs_in(&pool, "ann", "wrong password!").await);
        assert!(!logs_in(&pool, "nobody", "a long password").await);
        set_disabled(&pool, "ann", true).await.expect("disable");
        assert!(!logs_in(&pool, "ann", "a long password").await);
    }

    #[tokio::test]
    async fn a_password_someone_else_set_must_be_changed_by_its_owner() {
        let (pool, _d) = pool().await;
        add_user(&pool, "bob", Role::Approver, "bob's own password")
            .await
            .expect("add");
        let must = |pool: SqlitePool| async move {
            list_users(&pool).await.expect("users")[0].must_change_password
        };
        assert!(!must(pool.clone()).await, "his own choice");
        set_password_by(&pool, "bob", "chosen by the admin", Some("cli:root"))
            .await
            .expect("set");
        assert!(must(pool.clone()).await);
        let (id, _) = check_login(&pool, &checks(), "bob", "chosen by the admin")
            .await
            .expect("q")
            .expect("ok");
        assert_eq!(
            account(&pool, id).await.expect("account").password_set_by,
            "cli:root"
        );
        assert!(matches!(
            change_own_password(
                &pool,
                &checks(),
                id,
                "wrong guess!!",
                "bob's new password",
                None
            )
            .await,
            Err(AuthError::WrongPassword)
        ));
        change_own_password(
            &pool,
            &checks(),
            id,
            "chosen by the admin",
            "bob's new password",
            None,
        )
        .await
        .expect("change");
        assert!(!must(pool.clone()).await, "changed by its owner");
        assert!(logs_in(&pool, "bob", "bob's new password").await);
    }

    #[tokio::test]
    async fn sessions_expire_and_end_with_the_user() {
        let (pool, _d) = pool().await;
        add_user(&pool, "ann", Role::Admin, "a long password")
            .await
            .expect("add");
        let (id, _) = check_login(&pool, &checks(), "ann", "a long password")
            .await
            .expect("q")
            .expect("ok");
        let token = create_session(&pool, id, "127.0.0.1", 60_000)
            .await
            .expect("session");
        let who = session_identity(&pool, &token, 60_000)
            .await
            .expect("q")
            .expect("valid");
        assert_eq!(who.user.name, "ann");
        assert!(
            session_identity(&pool, "nonsense", 60_000)
                .await
                .expect("q")
                .is_none()
        );
        assert!(
            session_identity(&pool, &token, -1)
                .await
                .expect("q")
                .is_none(),
            "idle too long"
        );
        assert!(
            session_identity(&pool, &token, 60_000)
                .await
                .expect("q")
                .is_none(),
            "ended for good"
        );
        let expired = create_session(&pool, id, "127.0.0.1", -1)
            .await
            .expect("session");
        assert!(
            session_identity(&pool, &expired, 60_000)
                .await
                .expect("q")
                .is_none(),
            "past max age"
        );
        let again = create_session(&pool, id, "127.0.0.1", 60_000)
            .await
            .expect("session");
        set_disabled(&pool, "ann", true).await.expect("disable");
        assert!(
            session_identity(&pool, &again, 60_000)
                .await
                .expect("q")
                .is_none()
        );
    }

    #[tokio::test]
    async fn tokens_are_hashed_expire_and_revoke() {
        let (pool, _d) = pool().await;
        add_user(&pool, "cron", Role::Operator, "a long password")
            .await
            .expect("add");
        let (token, dto) = create_token(&pool, "cron", "nightly", None)
            .await
            .expect("token");
        assert!(token.starts_with(TOKEN_PREFIX) && token.starts_with(&dto.prefix));
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
            .fetch_one(&pool)
            .await
            .expect("row");
        assert_ne!(stored, token, "only the hash is stored");
        let who = token_identity(&pool, &token)
            .await
            .expect("q")
            .expect("valid");
        assert_eq!(
            (who.user.name.as_str(), who.user.role),
            ("cron", Role::Operator)
        );
        assert!(
            token_identity(&pool, "skp_0000")
                .await
                .expect("q")
                .is_none()
        );
        revoke_token(&pool, dto.id, None).await.expect("revoke");
        assert!(
            token_identity(&pool, &token).await.expect("q").is_none(),
            "revoked"
        );
        let (expired, _) = create_token(&pool, "cron", "old", Some(-1))
            .await
            .expect("token");
        assert!(
            token_identity(&pool, &expired).await.expect("q").is_none(),
            "expired"
        );
        assert!(matches!(
            revoke_token(&pool, 999, None).await,
            Err(AuthError::NoToken(999))
        ));
        assert!(matches!(
            create_token(&pool, "ghost", "x", None).await,
            Err(AuthError::NoUser(_))
        ));
    }
}
