//! `snapkeep user …`, `snapkeep token …` and `snapkeep audit …`: user and token management
//! straight on the catalog (the same `--config FILE` as `serve`), so the first admin can be
//! made before the server runs. Every change is written to the audit log as done through the
//! CLI.
//!
//! The command line has no signed-in identity: whoever runs it has the catalog's file.
//! So what it makes is never taken as a user's own doing where that matters:
//! - `token create USER` makes a token USER did not create: it works for the API but does not
//!   count for restore approvals (USER signs in and creates their own with
//!   `POST /api/v1/tokens`).
//! - A generated password (`user add` or `user set-password` without `--password-stdin`) was
//!   shown to whoever ran the command, not chosen by the owner: the account must change it
//!   before its approvals count. With `--password-stdin` the password is taken as the owner's
//!   own choice (the owner types it, or hands it to a provisioning script).
//!
//! `audit verify` checks the audit log's hash chain: exit 0 when intact, 1 naming the row
//! where it breaks.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use app::api::{Role, format_utc};
use sqlx::SqlitePool;

use crate::auth::audit::{self, Entry};
use crate::auth::{AuthError, store};
use crate::config::{Config, Overrides};

/// `snapkeep user …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user. Without --password-stdin a password is generated and printed once.
    Add {
        name: String,
        /// viewer, operator, approver or admin
        #[arg(long)]
        role: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Change a user's role.
    SetRole { name: String, role: String },
    /// Disable a user (signs them out; their tokens stop working).
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// Set a new password (generated and printed, or --password-stdin); signs them out.
    SetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `snapkeep audit …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit log's hash chain (exit 1 and the row where it breaks if it does).
    Verify,
    /// Archive rows older than DAYS to audit-archive/ next to the catalog now (the server
    /// does it hourly after `[auth] audit_retention_days`).
    Archive {
        #[arg(long)]
        days: u64,
    },
}

/// `snapkeep token …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for USER and print it (only once: only a hash is kept).
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Expiry, e.g. 90d, 12h (default: none).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (never their values).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: i64 },
}

fn read_password(stdin: bool) -> Result<(String, bool), AuthError> {
    if stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| AuthError::Hash(format!("cannot read standard input: {e}")))?;
        Ok((s.lines().next().unwrap_or("").to_string(), false))
    } else {
        Ok((crate::auth::generate_password()?, true))
    }
}

fn role(s: &str) -> Result<Role, AuthError> {
    Role::parse(s).ok_or_else(|| AuthError::BadRole(s.to_string()))
}

fn os_user() -> String {
    std::env::var("USER").unwrap_or_else(|_| "cli".into())
}

/// Who set a generated password, for `password_set_by`.
fn set_by_cli() -> String {
    format!("cli:{}", os_user())
}

async fn log(pool: &SqlitePool, action: &str, target: &str, detail: String) {
    let actor = os_user();
    audit::record(
        pool,
        Entry {
            actor: format!("{actor} (cli)"),
            via: "cli",
            address: "local".into(),
            action: action.into(),
            target: target.into(),
            outcome: "ok",
            status: 0,
            detail,
            credential: String::new(),
            count: 1,
        },
    )
    .await;
}

/// Opens the configured catalog and runs one user or token command on it.
pub(super) fn catalog_command<F, Fut>(
    config: Option<&Path>,
    state_dir: Option<PathBuf>,
    catalog: Option<PathBuf>,
    f: F,
) -> anyhow::Result<()>
where
    F: FnOnce(SqlitePool) -> Fut,
    Fut: Future<Output = Result<String, AuthError>>,
{
    let overrides = Overrides {
        state_dir,
        catalog,
        ..Overrides::default()
    };
    let config = Config::load(config, &overrides)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let catalog = crate::catalog::Catalog::open(&config.catalog).await?;
        let out = f(catalog.pool().clone()).await?;
        println!("{out}");
        Ok(())
    })
}

/// Runs a `user` command; returns what to print.
pub async fn run_user(pool: &SqlitePool, cmd: UserCommand) -> Result<String, AuthError> {
    match cmd {
        UserCommand::Add {
            name,
            role: r,
            password_stdin,
        } => {
            let r = role(&r)?;
            let (password, generated) = read_password(password_stdin)?;
            let by = generated.then(set_by_cli);
            store::add_user_set_by(pool, &name, r, &password, by.as_deref()).await?;
            let note = if generated {
                "; generated password: must be changed by its owner"
            } else {
                ""
            };
            log(pool, "user add", &name, format!("role {r}{note}")).await;
            Ok(if generated {
                format!(
                    "created user {name} ({r}); {name} must change this password (Settings → Password) before their restore decisions count; password: {password}"
                )
            } else {
                format!("created user {name} ({r})")
            })
        }
        UserCommand::List => {
            let mut out = format!(
                "{:<24} {:<9} {:<9} {:<12} {}\n",
                "NAME", "ROLE", "STATE", "PASSWORD", "LAST SIGN-IN"
            );
            for u in store::list_users(pool).await? {
                out.push_str(&format!(
                    "{:<24} {:<9} {:<9} {:<12} {}\n",
                    u.name,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    if u.must_change_password {
                        "must change"
                    } else {
                        "own"
                    },
                    u.last_login_at
                        .map(format_utc)
                        .unwrap_or_else(|| "never".into())
                ));
            }
            Ok(out.trim_end().to_string())
        }
        UserCommand::SetRole { name, role: r } => {
            let r = role(&r)?;
            store::set_role(pool, &name, r).await?;
            log(pool, "user set-role", &name, format!("role {r}")).await;
            Ok(format!("{name} is now {r}"))
        }
        UserCommand::Disable { name } => {
            store::set_disabled(pool, &name, true).await?;
            log(pool, "user disable", &name, String::new()).await;
            Ok(format!("disabled {name}"))
        }
        UserCommand::Enable { name } => {
            store::set_disabled(pool, &name, false).await?;
            log(pool, "user enable", &name, String::new()).await;
            Ok(format!("enabled {name}"))
        }
        UserCommand::SetPassword {
            name,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let by = generated.then(set_by_cli);
            store::set_password_by(pool, &name, &password, by.as_deref()).await?;
            let note = if generated {
                "generated password: must be changed by its owner"
            } else {
                ""
            };
            log(pool, "user set-password", &name, note.into()).await;
            Ok(if generated {
                format!(
                    "new password for {name} ({name} must change it in Settings → Password before their restore decisions count): {password}"
                )
            } else {
                format!("password of {name} changed")
            })
        }
    }
}

/// Runs an `audit` command; returns what to print, or [`AuthError::ChainBroken`].
pub async fn run_audit(pool: &SqlitePool, cmd: AuditCommand) -> Result<String, AuthError> {
    match cmd {
        AuditCommand::Verify => {
            let status = audit::verify(pool).await?;
            let dto = app::api::AuditChainDto::from(status.clone());
            match status.broken {
                None => Ok(dto.sentence()),
                Some((id, reason)) => Err(AuthError::ChainBroken { id, reason }),
            }
        }
        AuditCommand::Archive { days } => {
            match audit::archive(pool, days, crate::clock::now_ms()).await? {
                Some(a) => Ok(format!(
                    "archived {} rows (ids {} to {}) to {}",
                    a.rows,
                    a.first_id,
                    a.last_id,
                    a.file.display()
                )),
                None => Ok(format!("no audit rows older than {days} days")),
            }
        }
    }
}

/// Runs a `token` command; returns what to print.
pub async fn run_token(pool: &SqlitePool, cmd: TokenCommand) -> Result<String, AuthError> {
    match cmd {
        TokenCommand::Create {
            user,
            name,
            expires,
        } => {
            let ms = match expires.as_deref() {
                Some(e) => Some(crate::auth::parse_duration_ms(e)?),
                None => None,
            };
            let (token, dto) =
                store::create_token_as(pool, &user, &name, ms, store::TokenCreator::CommandLine)
                    .await?;
            log(
                pool,
                "token create",
                &user,
                format!(
                    "token {} ({name}); made by the command line, so it does not count for restore approvals",
                    dto.id
                ),
            )
            .await;
            Ok(token)
        }
        TokenCommand::List { user } => {
            let mut out = format!(
                "{:<5} {:<16} {:<16} {:<14} {:<16} {:<23} {}\n",
                "ID", "USER", "NAME", "PREFIX", "MADE BY", "EXPIRES", "STATE"
            );
            for t in store::list_tokens(pool, user.as_deref()).await? {
                let made_by = match (&t.created_by, t.created_via.as_str()) {
                    (Some(u), _) => u.clone(),
                    (None, "cli") => "cli".into(),
                    _ => "unknown".into(),
                };
                out.push_str(&format!(
                    "{:<5} {:<16} {:<16} {:<14} {:<16} {:<23} {}\n",
                    t.id,
                    t.user,
                    t.name,
                    t.prefix,
                    made_by,
                    t.expires_at
                        .map(format_utc)
                        .unwrap_or_else(|| "never".into()),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                ));
            }
            Ok(out.trim_end().to_string())
        }
        TokenCommand::Revoke { id } => {
            store::revoke_token(pool, id, None).await?;
            log(pool, "token revoke", &id.to_string(), String::new()).await;
            Ok(format!("revoked token {id}"))
        }
    }
}
