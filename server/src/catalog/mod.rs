//! The catalog: Snapkeep's SQLite database (through sqlx), in WAL mode with foreign keys on,
//! migrated from `migrations/` at start.
//!
//! Opening never deletes or recreates an existing file: a catalog written by a newer Snapkeep,
//! a damaged file or an unwritable path is refused with one line that names the file and what
//! to do. The catalog holds users, token and session hashes and the audit log, so the file and
//! its `-wal`/`-shm` companions are readable by their owner only (mode 0600).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// The migrations, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Why the catalog cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(
        "catalog {path}: cannot create its directory {dir}: {source}. Create it or choose another path with --catalog"
    )]
    CreateDir {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "catalog {path} was written by a newer Snapkeep (it has schema migration {version}, which Snapkeep {ours} does not know). Upgrade Snapkeep, or point --catalog at another file; the file was left untouched"
    )]
    TooNew {
        path: PathBuf,
        version: i64,
        ours: &'static str,
    },
    #[error(
        "catalog {path} is not a SQLite database or is damaged ({detail}). Restore it from a backup, or move it aside to start a new catalog; Snapkeep did not change it"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "catalog {path} cannot be opened for writing ({detail}). Check the permissions of the file and its directory, or choose another path with --catalog"
    )]
    Unwritable { path: PathBuf, detail: String },
    #[error("catalog {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("catalog {path}: applying schema migrations failed: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: MigrateError,
    },
}

/// A handle on the open catalog; cheap to clone.
#[derive(Debug, Clone)]
pub struct Catalog {
    pool: SqlitePool,
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating if missing) and migrates the catalog at `path`.
    pub async fn open(path: &Path) -> Result<Self, CatalogError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| CatalogError::CreateDir {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        // Created 0600 before SQLite opens it (SQLite gives the -wal and -shm files the mode of
        // the database file); an older catalog is tightened.
        owner_only(path, true);
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| CatalogError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| classify(path, e))?;
        // Validate the file before migrating: a damaged file must be reported, not "fixed".
        let check: Result<(String,), sqlx::Error> =
            sqlx::query_as("PRAGMA quick_check").fetch_one(&pool).await;
        match check {
            Ok((verdict,)) if verdict == "ok" => {}
            Ok((verdict,)) => {
                return Err(CatalogError::Corrupt {
                    path: path.to_path_buf(),
                    detail: verdict,
                });
            }
            Err(e) => return Err(classify(path, e)),
        }
        MIGRATOR.run(&pool).await.map_err(|e| match e {
            MigrateError::VersionMissing(version) => CatalogError::TooNew {
                path: path.to_path_buf(),
                version,
                ours: env!("CARGO_PKG_VERSION"),
            },
            MigrateError::Execute(source) => classify(path, source),
            source => CatalogError::Migrate {
                path: path.to_path_buf(),
                source,
            },
        })?;
        for companion in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_os_string();
            name.push(companion);
            owner_only(Path::new(&name), false);
        }
        Ok(Self {
            pool,
            path: path.to_path_buf(),
        })
    }

    /// The connection pool, for the domain modules' queries.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Where the catalog lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the catalog answers a query.
    pub async fn health(&self) -> Result<(), CatalogError> {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM catalog_meta")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| classify(&self.path, e))
    }
}

/// Makes the regular file at `path` readable and writable by its owner only, creating it empty
/// (a new SQLite database) when `create` and it is missing. Anything else at `path` is left for
/// SQLite to refuse with its own error; a failure to tighten an existing file is logged.
fn owner_only(path: &Path, create: bool) {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // SQLite reports an unusable location with a better message.
            Err(_) => return,
        }
    }
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_file()
        && meta.permissions().mode() & 0o077 != 0
        && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    {
        tracing::warn!(file = %path.display(), error = %e, "cannot make the catalog readable by its owner only");
    }
}

/// Maps SQLite's result codes to the errors users can act on.
fn classify(path: &Path, err: sqlx::Error) -> CatalogError {
    let code = match &err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|c| c & 0xff),
        _ => None,
    };
    let detail = match &err {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    };
    match code {
        // SQLITE_CORRUPT, SQLITE_NOTADB
        Some(11) | Some(26) => CatalogError::Corrupt {
            path: path.to_path_buf(),
            detail,
        },
        // SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN
        Some(3) | Some(8) | Some(14) => CatalogError::Unwritable {
            path: path.to_path_buf(),
            detail,
        },
        _ => CatalogError::Sqlite {
            path: path.to_path_buf(),
            source: err,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rebuilding `snapshot_tables` (0013) keeps every table's files: the old table's drop
    /// must not cascade into `snapshot_files`.
    #[tokio::test]
    async fn the_snapshot_tables_rebuild_keeps_their_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.db");
        let options = SqliteConnectOptions::from_str("sqlite://")
            .expect("options")
            .filename(&path)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("pool");
        let before = Migrator {
            migrations: std::borrow::Cow::Owned(
                MIGRATOR
                    .iter()
                    .filter(|m| m.version < 13)
                    .cloned()
                    .collect(),
            ),
            ..Migrator::DEFAULT
        };
        before.run(&pool).await.expect("migrate to 0012");
        for sql in [
            "INSERT INTO snapshots (id, node, tag, kind, status, created_at, first_seen_at, measured_at) \
             VALUES (1, 'n1', 'nightly', 'manual', 'present', 1, 1, 1)",
            "INSERT INTO snapshot_tables (id, snapshot_id, keyspace_name, table_name, table_id, data_dir, status, row_count, row_count_method) \
             VALUES (7, 1, 'shop', 'orders', 'abc', '/data', 'present', 10, 'count')",
            "INSERT INTO snapshot_files (snapshot_table_id, path, size, inode, nlink) VALUES (7, 'nb-1-big-Data.db', 5, 9, 2)",
        ] {
            sqlx::query(sql).execute(&pool).await.expect(sql);
        }
        MIGRATOR.run(&pool).await.expect("migrate to the latest");
        let files: i64 =
            sqlx::query_scalar("SELECT count(*) FROM snapshot_files WHERE snapshot_table_id = 7")
                .fetch_one(&pool)
                .await
                .expect("files");
        assert_eq!(files, 1, "the rebuild kept the files");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&pool)
            .await
            .expect("foreign keys");
        assert_eq!(fk, 1, "foreign keys stay on");
        sqlx::query("UPDATE snapshot_tables SET row_count_method = 'sstables' WHERE id = 7")
            .execute(&pool)
            .await
            .expect("the new method is allowed");
        // Deleting the snapshot still cascades to its tables and their files.
        sqlx::query("DELETE FROM snapshots WHERE id = 1")
            .execute(&pool)
            .await
            .expect("delete");
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshot_files")
            .fetch_one(&pool)
            .await
            .expect("files");
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn creates_migrates_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("catalog.db");
        let cat = Catalog::open(&path).await.expect("open new");
        cat.health().await.expect("healthy");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(cat.pool())
            .await
            .expect("journal mode");
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(cat.pool())
            .await
            .expect("foreign keys");
        assert_eq!(fk, 1);
        cat.pool().close().await;
        Catalog::open(&path).await.expect("reopen");
    }

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    }

    #[tokio::test]
    async fn the_catalog_and_its_wal_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.db");
        let cat = Catalog::open(&path).await.expect("open new");
        cat.health().await.expect("healthy");
        for p in [
            path.clone(),
            with_suffix(&path, "-wal"),
            with_suffix(&path, "-shm"),
        ] {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
        cat.pool().close().await;

        // A catalog made readable by others (an older Snapkeep, a careless copy) is tightened.
        let older = dir.path().join("older.db");
        let cat = Catalog::open(&older).await.expect("open");
        cat.pool().close().await;
        std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let cat = Catalog::open(&older).await.expect("reopen");
        cat.health().await.expect("healthy");
        assert_eq!(mode(&older), 0o600);
        assert_eq!(mode(&with_suffix(&older, "-wal")), 0o600);
    }

    #[tokio::test]
    async fn a_damaged_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.db");
        let junk = b"this is not a database, it is a shopping list\n".repeat(200);
        std::fs::write(&path, &junk).expect("write junk");
        let err = Catalog::open(&path).await.expect_err("must refuse");
        assert!(matches!(err, CatalogError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(std::fs::read(&path).expect("read back"), junk);
    }

    #[tokio::test]
    async fn a_catalog_from_a_newer_snapkeep_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("catalog.db");
        let cat = Catalog::open(&path).await.expect("open");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (999999, 'from the future', 1, x'00', 0)",
        )
        .execute(cat.pool())
        .await
        .expect("insert future migration");
        cat.pool().close().await;
        let err = Catalog::open(&path).await.expect_err("must refuse");
        assert!(
            matches!(
                err,
                CatalogError::TooNew {
                    version: 999999,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("newer Snapkeep"));
    }

    #[tokio::test]
    async fn an_unwritable_location_is_explained() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A directory where the file should be cannot be opened as a database.
        let path = dir.path().join("catalog.db");
        std::fs::create_dir(&path).expect("mkdir");
        let err = Catalog::open(&path).await.expect_err("must refuse");
        assert!(
            matches!(
                err,
                CatalogError::Unwritable { .. } | CatalogError::Corrupt { .. }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}
