//! Which credential a request came with, for checks deep inside the services: the
//! authentication layer runs every signed-in request inside [`scope`], and [`check_decider`]
//! (called by `RestoreService::decide`) refuses a restore decision unless it comes from a
//! credential its holder created: their own sign-in, or an API token they made themselves,
//! on an account whose password they chose.

use sqlx::SqlitePool;

use super::{CurrentUser, Identity, Via};

tokio::task_local! {
    static CREDENTIAL: Identity;
}

/// Runs `f` with `identity` as the request's credential.
pub async fn scope<F: Future>(identity: Identity, f: F) -> F::Output {
    CREDENTIAL.scope(identity, f).await
}

/// The credential of the request being served, if any.
pub fn current() -> Option<Identity> {
    CREDENTIAL.try_with(Clone::clone).ok()
}

/// Why a restore decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecisionRefused {
    #[error(
        "this decision came without a checked credential; sign in, or send an API token you created yourself"
    )]
    NoCredential,
    #[error("this decision was sent with {holder}'s credential, not {user}'s")]
    OtherUser { holder: String, user: String },
    #[error(
        "API token {id} was not created by {user} (it was made by {made_by}); approvals and rejections count only from {user}'s own sign-in or a token {user} created: sign in and create one with POST /api/v1/tokens"
    )]
    NotOwnToken {
        id: i64,
        user: String,
        made_by: String,
    },
    #[error(
        "{user}'s password was set by {by}, not by {user}; {user} must change it (Settings → Password, or POST /rpc/password_change with old_password and new_password) before approving or rejecting restores"
    )]
    MustChangePassword { user: String, by: String },
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<DecisionRefused> for crate::restore::RestoreError {
    fn from(e: DecisionRefused) -> Self {
        match e {
            DecisionRefused::Db(e) => crate::restore::RestoreError::Db(e),
            other => crate::restore::RestoreError::Forbidden(other.to_string()),
        }
    }
}

/// Who made a token, for sentences: `cli`, `a token made before Snapkeep recorded it`, a user.
fn made_by(created_by: Option<String>, via: &str) -> String {
    match (created_by, via) {
        (Some(u), _) => u,
        (None, "cli") => "the command line (`snapkeep token create`)".into(),
        _ => "someone unknown (it predates token ownership records)".into(),
    }
}

/// Whether a token was created by its holder.
pub async fn token_is_own(pool: &SqlitePool, token_id: i64) -> Result<bool, sqlx::Error> {
    let own: Option<i64> = sqlx::query_scalar(
        "SELECT created_by IS NOT NULL AND created_by = user_id FROM api_tokens WHERE id = ?",
    )
    .bind(token_id)
    .fetch_optional(pool)
    .await?;
    Ok(own == Some(1))
}

/// Refuses a restore decision by `user` unless the request's credential is `user`'s own
/// session or own token and `user` chose their password themselves.
pub async fn check_decider(pool: &SqlitePool, user: &CurrentUser) -> Result<(), DecisionRefused> {
    let who = current().ok_or(DecisionRefused::NoCredential)?;
    if who.user.name != user.name {
        return Err(DecisionRefused::OtherUser {
            holder: who.user.name,
            user: user.name.clone(),
        });
    }
    if let Via::Token { id } = who.via
        && !token_is_own(pool, id).await?
    {
        let (by, via): (Option<String>, String) = sqlx::query_as(
            "SELECT (SELECT name FROM users WHERE id = t.created_by), t.created_via FROM api_tokens t WHERE t.id = ?",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .unwrap_or((None, String::new()));
        return Err(DecisionRefused::NotOwnToken {
            id,
            user: user.name.clone(),
            made_by: made_by(by, &via),
        });
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT must_change_password, password_set_by FROM users WHERE id = ?")
            .bind(who.user_id)
            .fetch_optional(pool)
            .await?;
    if let Some((1, by)) = row {
        return Err(DecisionRefused::MustChangePassword {
            user: user.name.clone(),
            by: if by.is_empty() {
                "someone else".into()
            } else {
                by
            },
        });
    }
    Ok(())
}
