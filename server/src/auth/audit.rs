//! The audit log: one row per change attempted and per refusal (anonymous refusals counted
//! per address and minute), never updated or deleted except by archival, listed with filters
//! and exported as CSV.
//!
//! Tamper evidence: every row carries `hash = sha256(prev_hash, canonical fields)`, chained
//! over the row before it. [`verify`] walks the chain and names the first row where it
//! breaks. Archival ([`archive`]) writes old rows to a JSON-lines file under the catalog's
//! directory, moves the anchor (the id and hash of the last archived row) forward, and only
//! then removes them; the catalog's triggers refuse any other update or delete.

use std::path::{Path, PathBuf};

use app::api::{AuditChainDto, AuditDto, AuditPage, AuditQuery, parse_day};
use sha2::Digest as _;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use crate::clock::now_ms;
use crate::escape::csv_cell;

/// One entry to write.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub actor: String,
    /// `session`, `token`, `cli`, `anonymous` or `system`.
    pub via: &'static str,
    pub address: String,
    pub action: String,
    pub target: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: &'static str,
    pub status: u16,
    pub detail: String,
    /// Which credential acted: `session 1a2b3c4d`, `token 12`, or empty.
    pub credential: String,
    /// How many events the row stands for (0 is read as 1).
    pub count: i64,
}

/// How something ended, for [`record_system`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// Errors of the audit log's archival and verification.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("catalog query failed: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot write the audit archive {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the audit log's hash chain is broken at row {id} ({reason}); nothing was archived")]
    Broken { id: i64, reason: String },
    #[error("the catalog is not a file, so there is no directory to archive the audit log into")]
    NoDirectory,
}

/// Longest detail kept.
const MAX_DETAIL: usize = 2000;
/// Longest action, target, actor and address kept (long paths and queries are cut).
pub const MAX_FIELD: usize = 512;

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Appends an entry; a failure to write is logged, never hidden.
pub async fn record(pool: &SqlitePool, e: Entry) {
    let action = e.action.clone();
    let actor = e.actor.clone();
    if let Err(err) = append(pool, e, now_ms()).await {
        tracing::error!(error = %err, action = %action, actor = %actor, "cannot write the audit log");
    }
}

/// Appends a row written by Snapkeep itself (actor `system`): a job's outcome, an archival.
/// `action` names what happened (e.g. `restore.done`, `snapshot.failed`), `target` what it
/// concerned (e.g. `restore 12 node1 shop.orders`), `detail` anything a reader needs.
pub async fn record_system(
    pool: &SqlitePool,
    action: &str,
    target: &str,
    outcome: Outcome,
    detail: &str,
) {
    record(
        pool,
        Entry {
            actor: "system".into(),
            via: "system",
            address: "local".into(),
            action: action.into(),
            target: target.into(),
            outcome: outcome.as_str(),
            status: 0,
            detail: detail.into(),
            credential: String::new(),
            count: 1,
        },
    )
    .await;
}

/// A row's fields as stored.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
struct Stored {
    id: i64,
    at: i64,
    actor: String,
    via: String,
    address: String,
    action: String,
    target: String,
    outcome: String,
    status: i64,
    detail: String,
    credential: String,
    count: i64,
    prev_hash: String,
    hash: String,
}

const STORED: &str = "id, at, actor, via, address, action, target, outcome, status, detail, credential, count, prev_hash, hash";

/// sha256 over the previous hash and the canonical fields (a JSON array, so no two rows
/// encode alike).
fn row_hash(prev: &str, r: &Stored) -> String {
    let canonical = serde_json::json!([
        r.id,
        r.at,
        r.actor,
        r.via,
        r.address,
        r.action,
        r.target,
        r.outcome,
        r.status,
        r.detail,
        r.credential,
        r.count
    ])
    .to_string();
    let mut h = sha2::Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

async fn anchor(conn: &mut SqliteConnection) -> Result<Option<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT last_id, last_hash, archived_rows FROM audit_anchor WHERE id = 1")
        .fetch_optional(conn)
        .await
}

/// Seals rows written before the chain existed (in id order) and returns the hash the next
/// row chains to.
async fn seal_and_tip(conn: &mut SqliteConnection) -> Result<String, sqlx::Error> {
    let last: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    match last {
        Some(h) if !h.is_empty() => return Ok(h),
        None => return Ok(anchor(conn).await?.map(|a| a.1).unwrap_or_default()),
        Some(_) => {}
    }
    let unsealed: Vec<Stored> = sqlx::query_as(&format!(
        "SELECT {STORED} FROM audit_log WHERE hash = '' ORDER BY id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let first = unsealed.first().map(|r| r.id).unwrap_or(0);
    let before: Option<String> = sqlx::query_scalar(
        "SELECT hash FROM audit_log WHERE id < ? AND hash <> '' ORDER BY id DESC LIMIT 1",
    )
    .bind(first)
    .fetch_optional(&mut *conn)
    .await?;
    let mut prev = match before {
        Some(h) => h,
        None => anchor(conn).await?.map(|a| a.1).unwrap_or_default(),
    };
    for r in unsealed {
        let hash = row_hash(&prev, &r);
        sqlx::query("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?")
            .bind(&prev)
            .bind(&hash)
            .bind(r.id)
            .execute(&mut *conn)
            .await?;
        prev = hash;
    }
    Ok(prev)
}

/// Appends a row at `at` (Unix ms) inside one write transaction, chained to the row before.
async fn append(pool: &SqlitePool, e: Entry, at: i64) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let prev = seal_and_tip(&mut tx).await?;
    let id: i64 = sqlx::query_scalar(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'), 0),          coalesce((SELECT max(id) FROM audit_log), 0),          coalesce((SELECT last_id FROM audit_anchor WHERE id = 1), 0)) + 1",
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut row = Stored {
        id,
        at,
        actor: if e.actor.is_empty() {
            "-".into()
        } else {
            cut(&e.actor, 64)
        },
        via: e.via.to_string(),
        address: cut(&e.address, 64),
        action: cut(&e.action, MAX_FIELD),
        target: cut(&e.target, MAX_FIELD),
        outcome: e.outcome.to_string(),
        status: e.status as i64,
        detail: cut(&e.detail, MAX_DETAIL),
        credential: cut(&e.credential, 64),
        count: e.count.max(1),
        prev_hash: prev,
        hash: String::new(),
    };
    row.hash = row_hash(&row.prev_hash, &row);
    sqlx::query(&format!(
        "INSERT INTO audit_log ({STORED}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(row.id)
    .bind(row.at)
    .bind(&row.actor)
    .bind(&row.via)
    .bind(&row.address)
    .bind(&row.action)
    .bind(&row.target)
    .bind(&row.outcome)
    .bind(row.status)
    .bind(&row.detail)
    .bind(&row.credential)
    .bind(row.count)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Where the chain stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStatus {
    /// Rows checked in the table.
    pub rows: i64,
    /// The first row where the chain breaks, and why.
    pub broken: Option<(i64, String)>,
    /// The last archived row (the anchor), if any, and how many rows were archived.
    pub anchor_id: Option<i64>,
    pub archived_rows: i64,
}

impl ChainStatus {
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

impl From<ChainStatus> for AuditChainDto {
    fn from(s: ChainStatus) -> Self {
        AuditChainDto {
            intact: s.intact(),
            rows: s.rows,
            broken_at: s.broken.as_ref().map(|b| b.0),
            reason: s.broken.map(|b| b.1),
            anchor_id: s.anchor_id,
            archived_rows: s.archived_rows,
        }
    }
}

/// Walks the chain from the anchor (or the start) up to row `upto` (all rows when `None`).
async fn walk(
    conn: &mut SqliteConnection,
    upto: Option<i64>,
) -> Result<(ChainStatus, Option<(i64, String)>), sqlx::Error> {
    let anchor = anchor(&mut *conn).await?;
    let mut status = ChainStatus {
        rows: 0,
        broken: None,
        anchor_id: anchor.as_ref().map(|a| a.0),
        archived_rows: anchor.as_ref().map(|a| a.2).unwrap_or(0),
    };
    let (mut after, mut prev) = anchor.map(|a| (a.0, a.1)).unwrap_or((0, String::new()));
    let mut last = None;
    loop {
        let batch: Vec<Stored> = sqlx::query_as(&format!(
            "SELECT {STORED} FROM audit_log WHERE id > ? AND id <= ? ORDER BY id LIMIT 2000"
        ))
        .bind(after)
        .bind(upto.unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
        if batch.is_empty() {
            return Ok((status, last));
        }
        for r in batch {
            status.rows += 1;
            if r.prev_hash != prev {
                let why = if after == 0 && status.rows == 1 {
                    format!(
                        "row {} should start the chain but names a previous row",
                        r.id
                    )
                } else if status.rows == 1 {
                    format!(
                        "row {} does not follow the archive anchor (row {after}): rows were removed",
                        r.id
                    )
                } else {
                    format!(
                        "row {} does not follow row {after}: a row between them was removed, or row {after} was changed",
                        r.id
                    )
                };
                status.broken = Some((r.id, why));
                return Ok((status, last));
            }
            let expected = row_hash(&prev, &r);
            if expected != r.hash {
                status.broken = Some((
                    r.id,
                    format!("row {} does not match its hash: it was changed", r.id),
                ));
                return Ok((status, last));
            }
            after = r.id;
            prev = r.hash.clone();
            last = Some((r.id, r.hash));
        }
    }
}

/// Checks the whole chain (sealing rows from before it first).
pub async fn verify(pool: &SqlitePool) -> Result<ChainStatus, sqlx::Error> {
    {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        seal_and_tip(&mut tx).await?;
        tx.commit().await?;
    }
    let mut conn = pool.acquire().await?;
    Ok(walk(&mut conn, None).await?.0)
}

/// What one archival did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub file: PathBuf,
    pub rows: i64,
    pub first_id: i64,
    pub last_id: i64,
}

/// The directory of the catalog's file (the data directory).
async fn catalog_dir(pool: &SqlitePool) -> Result<PathBuf, AuditError> {
    let file: Option<String> =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_optional(pool)
            .await?;
    file.filter(|f| !f.is_empty())
        .and_then(|f| Path::new(&f).parent().map(Path::to_path_buf))
        .ok_or(AuditError::NoDirectory)
}

/// Moves rows older than `retention_days` (before `now`, Unix ms) to
/// `<catalog dir>/audit-archive/audit-<first>-<last>.jsonl`, then removes them from the table
/// behind the anchor. The archived rows are verified first: a broken chain is never archived.
/// `retention_days = 0` keeps everything.
pub async fn archive(
    pool: &SqlitePool,
    retention_days: u64,
    now: i64,
) -> Result<Option<Archived>, AuditError> {
    if retention_days == 0 {
        return Ok(None);
    }
    let dir = catalog_dir(pool).await?.join("audit-archive");
    archive_into(pool, &dir, retention_days, now).await
}

async fn archive_into(
    pool: &SqlitePool,
    dir: &Path,
    retention_days: u64,
    now: i64,
) -> Result<Option<Archived>, AuditError> {
    let cutoff = now.saturating_sub((retention_days as i64).saturating_mul(86_400_000));
    // The last row of the old prefix: every row up to it is older than the cutoff.
    let upto: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN (SELECT min(id) FROM audit_log WHERE at >= ?1) IS NULL          THEN (SELECT max(id) FROM audit_log) ELSE (SELECT min(id) FROM audit_log WHERE at >= ?1) - 1 END",
    )
    .bind(cutoff)
    .fetch_one(pool)
    .await?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    seal_and_tip(&mut tx).await?;
    let from = anchor(&mut tx).await?.map(|a| a.0).unwrap_or(0);
    let Some(upto) = upto.filter(|u| *u > from) else {
        return Ok(None);
    };
    let (status, last) = walk(&mut tx, Some(upto)).await?;
    if let Some((id, reason)) = status.broken {
        return Err(AuditError::Broken { id, reason });
    }
    let Some((last_id, last_hash)) = last else {
        return Ok(None);
    };
    let rows: Vec<Stored> = sqlx::query_as(&format!(
        "SELECT {STORED} FROM audit_log WHERE id > ? AND id <= ? ORDER BY id"
    ))
    .bind(from)
    .bind(last_id)
    .fetch_all(&mut *tx)
    .await?;
    let first_id = rows.first().map(|r| r.id).unwrap_or(last_id);
    let file = dir.join(format!("audit-{first_id:012}-{last_id:012}.jsonl"));
    write_archive(dir, &file, &rows)?;
    let n = rows.len() as i64;
    let updated = sqlx::query(
        "UPDATE audit_anchor SET last_id = ?, last_hash = ?, archived_rows = archived_rows + ?, updated_at = ? WHERE id = 1",
    )
    .bind(last_id)
    .bind(&last_hash)
    .bind(n)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO audit_anchor (id, last_id, last_hash, archived_rows, updated_at) VALUES (1, ?, ?, ?, ?)",
        )
        .bind(last_id)
        .bind(&last_hash)
        .bind(n)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM audit_log WHERE id <= ?")
        .bind(last_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let done = Archived {
        file,
        rows: n,
        first_id,
        last_id,
    };
    record_system(
        pool,
        "audit.archive",
        &done.file.display().to_string(),
        Outcome::Ok,
        &format!(
            "archived {n} rows (ids {first_id} to {last_id}) older than {retention_days} days; anchor is row {last_id}"
        ),
    )
    .await;
    Ok(Some(done))
}

/// Writes the rows as JSON lines to a temporary file, syncs it and renames it into place.
fn write_archive(dir: &Path, file: &Path, rows: &[Stored]) -> Result<(), AuditError> {
    use std::io::Write as _;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AuditError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = file.with_extension("jsonl.tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io(&tmp))?);
    for r in rows {
        let line = serde_json::to_string(r).map_err(|e| AuditError::Io {
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
        out.write_all(line.as_bytes()).map_err(io(&tmp))?;
        out.write_all(b"\n").map_err(io(&tmp))?;
    }
    let f = out.into_inner().map_err(|e| AuditError::Io {
        path: tmp.clone(),
        source: e.into_error(),
    })?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, file).map_err(io(file))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A checked audit query.
struct Filter {
    q: AuditQuery,
    from: Option<i64>,
    to: Option<i64>,
    page: i64,
    per_page: i64,
}

/// Why an audit query was refused: (field, message).
pub type BadField = (&'static str, String);

fn check(q: &AuditQuery) -> Result<Filter, BadField> {
    let day = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, BadField> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_day(s)
                .map(Some)
                .ok_or((field, format!("`{s}` is not a date; write YYYY-MM-DD"))),
        }
    };
    let from = day("from", &q.from)?;
    let to = day("to", &q.to)?.map(|t| t + 86_400_000);
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err((
            "to",
            "the date range is reversed: `to` is before `from`".into(),
        ));
    }
    if let Some(o) = q.outcome.as_deref().filter(|o| !o.is_empty())
        && !["ok", "denied", "failed"].contains(&o)
    {
        return Err((
            "outcome",
            format!("outcome `{o}` is unknown; use ok, denied or failed"),
        ));
    }
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(("page", "page starts at 1".into()));
    }
    let per_page = q.per_page.unwrap_or(100);
    if !(1..=1000).contains(&per_page) {
        return Err(("per_page", "per_page must be 1 to 1000".into()));
    }
    Ok(Filter {
        q: q.clone(),
        from,
        to,
        page,
        per_page,
    })
}

fn like(v: &str) -> String {
    format!(
        "%{}%",
        v.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

fn push_where(qb: &mut QueryBuilder<'_, Sqlite>, f: &Filter) {
    qb.push(" WHERE 1 = 1");
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    if let Some(v) = non_empty(&f.q.actor) {
        qb.push(" AND actor = ").push_bind(v);
    }
    if let Some(v) = non_empty(&f.q.action) {
        qb.push(" AND action LIKE ")
            .push_bind(like(&v))
            .push(" ESCAPE '\\'");
    }
    if let Some(v) = non_empty(&f.q.target) {
        qb.push(" AND (target LIKE ")
            .push_bind(like(&v))
            .push(" ESCAPE '\\' OR detail LIKE ")
            .push_bind(like(&v))
            .push(" ESCAPE '\\')");
    }
    if let Some(v) = non_empty(&f.q.outcome) {
        qb.push(" AND outcome = ").push_bind(v);
    }
    if let Some(v) = f.from {
        qb.push(" AND at >= ").push_bind(v);
    }
    if let Some(v) = f.to {
        qb.push(" AND at < ").push_bind(v);
    }
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    i64,
);

fn dto(r: Row) -> AuditDto {
    AuditDto {
        id: r.0,
        at: r.1,
        actor: r.2,
        via: r.3,
        address: r.4,
        action: r.5,
        target: r.6,
        outcome: r.7,
        status: r.8,
        detail: r.9,
        credential: r.10,
        count: r.11,
    }
}

/// One page of the audit log, newest first.
pub async fn list(
    pool: &SqlitePool,
    q: &AuditQuery,
) -> Result<Result<AuditPage, BadField>, sqlx::Error> {
    let f = match check(q) {
        Ok(f) => f,
        Err(bad) => return Ok(Err(bad)),
    };
    let mut qb = QueryBuilder::new("SELECT count(*) FROM audit_log");
    push_where(&mut qb, &f);
    let total: i64 = qb.build_query_scalar().fetch_one(pool).await?;
    let mut qb = QueryBuilder::new(
        "SELECT id, at, actor, via, address, action, target, outcome, status, detail, credential, count FROM audit_log",
    );
    push_where(&mut qb, &f);
    qb.push(" ORDER BY at DESC, id DESC LIMIT ")
        .push_bind(f.per_page)
        .push(" OFFSET ")
        .push_bind((f.page - 1) * f.per_page);
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    Ok(Ok(AuditPage {
        items: rows.into_iter().map(dto).collect(),
        total,
        page: f.page,
        per_page: f.per_page,
    }))
}

/// Every entry matching the filters (pages ignored), oldest first, as CSV.
pub async fn csv(
    pool: &SqlitePool,
    q: &AuditQuery,
) -> Result<Result<String, BadField>, sqlx::Error> {
    let f = match check(q) {
        Ok(f) => f,
        Err(bad) => return Ok(Err(bad)),
    };
    let mut qb = QueryBuilder::new(
        "SELECT id, at, actor, via, address, action, target, outcome, status, detail, credential, count FROM audit_log",
    );
    push_where(&mut qb, &f);
    qb.push(" ORDER BY at, id LIMIT 1000000");
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    // The columns stay as they were: `via` names the credential when there is one
    // (`token 12`), and a counted row's detail says how many refusals it stands for.
    let mut out = String::from("id,at_utc,actor,via,address,action,target,outcome,status,detail\n");
    for r in rows.into_iter().map(dto) {
        let cells = [
            r.id.to_string(),
            app::api::format_utc(r.at),
            r.actor,
            if r.credential.is_empty() {
                r.via
            } else {
                r.credential
            },
            r.address,
            r.action,
            r.target,
            r.outcome,
            r.status.to_string(),
            r.detail,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[tokio::test]
    async fn entries_are_append_only_filtered_and_exported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let pool = c.pool();
        record(
            pool,
            Entry {
                actor: "ann".into(),
                via: "session",
                action: "POST /api/v1/snapshots".into(),
                target: "node1 shop.orders".into(),
                outcome: "ok",
                status: 202,
                ..Entry::default()
            },
        )
        .await;
        record(
            pool,
            Entry {
                actor: "vic".into(),
                via: "token",
                action: "DELETE /api/v1/snapshots/{tag}".into(),
                target: "nightly".into(),
                outcome: "denied",
                status: 403,
                detail: "=cmd, \"quoted\"".into(),
                ..Entry::default()
            },
        )
        .await;
        let all = list(pool, &AuditQuery::default())
            .await
            .expect("q")
            .expect("ok");
        assert_eq!(all.total, 2);
        assert_eq!(all.items[0].actor, "vic", "newest first");
        let denied = list(
            pool,
            &AuditQuery {
                outcome: Some("denied".into()),
                ..Default::default()
            },
        )
        .await
        .expect("q")
        .expect("ok");
        assert_eq!(denied.total, 1);
        let by_target = list(
            pool,
            &AuditQuery {
                target: Some("shop.orders".into()),
                ..Default::default()
            },
        )
        .await
        .expect("q")
        .expect("ok");
        assert_eq!(by_target.items[0].actor, "ann");
        let bad = list(
            pool,
            &AuditQuery {
                outcome: Some("meh".into()),
                ..Default::default()
            },
        )
        .await
        .expect("q");
        assert_eq!(bad.err().map(|b| b.0), Some("outcome"));
        let text = csv(pool, &AuditQuery::default())
            .await
            .expect("q")
            .expect("ok");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0], "id,at_utc,actor,via,address,action,target,outcome,status,detail",
            "the columns people's scripts read stay put"
        );
        assert!(
            lines[2].ends_with("\"'=cmd, \"\"quoted\"\"\""),
            "{}",
            lines[2]
        );
        let upd = sqlx::query("UPDATE audit_log SET actor = 'x'")
            .execute(pool)
            .await;
        assert!(upd.is_err_and(|e| e.to_string().contains("append-only")));
        let del = sqlx::query("DELETE FROM audit_log").execute(pool).await;
        assert!(del.is_err());
        assert_eq!(
            list(pool, &AuditQuery::default())
                .await
                .expect("q")
                .expect("ok")
                .total,
            2
        );
    }

    fn entry(actor: &str) -> Entry {
        Entry {
            actor: actor.into(),
            via: "session",
            action: "POST /api/v1/snapshots".into(),
            outcome: "ok",
            status: 202,
            ..Entry::default()
        }
    }

    async fn catalog() -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let c = Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        (c, dir)
    }

    #[tokio::test]
    async fn archival_moves_old_rows_to_a_file_behind_the_anchor() {
        let (c, dir) = catalog().await;
        let pool = c.pool();
        let now = now_ms();
        let day = 86_400_000;
        for i in 0..3 {
            append(pool, entry(&format!("old{i}")), now - 400 * day + i)
                .await
                .expect("append");
        }
        for i in 0..2 {
            append(pool, entry(&format!("new{i}")), now - day + i)
                .await
                .expect("append");
        }
        let done = archive(pool, 365, now)
            .await
            .expect("archive")
            .expect("rows to archive");
        assert_eq!((done.rows, done.first_id, done.last_id), (3, 1, 3));
        assert!(done.file.starts_with(dir.path().join("audit-archive")));
        let text = std::fs::read_to_string(&done.file).expect("archive file");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2]["actor"], "old2");
        let left: Vec<String> = sqlx::query_scalar("SELECT actor FROM audit_log ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("rows");
        assert_eq!(
            left,
            ["new0", "new1", "system"],
            "the archival is itself a row"
        );
        let status = verify(pool).await.expect("verify");
        assert!(status.intact(), "{status:?}");
        assert_eq!((status.anchor_id, status.archived_rows), (Some(3), 3));
        // The anchor is the hash of the last archived row, as the file has it.
        let anchor: String = sqlx::query_scalar("SELECT last_hash FROM audit_anchor")
            .fetch_one(pool)
            .await
            .expect("anchor");
        assert_eq!(lines[2]["hash"], anchor.as_str());
        // Nothing newer can be deleted, and the anchor cannot move back or be forged.
        assert!(
            sqlx::query("DELETE FROM audit_log WHERE id = 4")
                .execute(pool)
                .await
                .is_err()
        );
        assert!(
            sqlx::query("UPDATE audit_anchor SET last_id = 2")
                .execute(pool)
                .await
                .is_err()
        );
        assert!(
            sqlx::query("UPDATE audit_anchor SET last_id = 5, last_hash = 'x'")
                .execute(pool)
                .await
                .is_err()
        );
        assert!(archive(pool, 365, now).await.expect("again").is_none());
        // New rows chain on; removing the first row after the anchor is detected.
        record_system(pool, "restore.done", "restore 1", Outcome::Ok, "verified").await;
        assert!(verify(pool).await.expect("verify").intact());
    }

    #[tokio::test]
    async fn a_broken_chain_is_never_archived() {
        let (c, _dir) = catalog().await;
        let pool = c.pool();
        let now = now_ms();
        for i in 0..3 {
            append(pool, entry("old"), now - 400 * 86_400_000 + i)
                .await
                .expect("append");
        }
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(pool)
            .await
            .expect("drop");
        sqlx::query("UPDATE audit_log SET detail = 'edited' WHERE id = 2")
            .execute(pool)
            .await
            .expect("tamper");
        match archive(pool, 365, now).await {
            Err(AuditError::Broken { id, .. }) => assert_eq!(id, 2),
            other => panic!("{other:?}"),
        }
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(rows, 3, "nothing removed");
    }

    #[tokio::test]
    async fn system_rows_and_rows_from_before_the_chain_join_it() {
        let (c, _dir) = catalog().await;
        let pool = c.pool();
        // Rows as written before migration 0009: no hash.
        sqlx::query("DROP TRIGGER audit_log_hashed")
            .execute(pool)
            .await
            .expect("drop");
        for actor in ["early1", "early2"] {
            sqlx::query(
                "INSERT INTO audit_log (at, actor, via, action, outcome) VALUES (1, ?, 'cli', 'user add', 'ok')",
            )
            .bind(actor)
            .execute(pool)
            .await
            .expect("legacy row");
        }
        record_system(
            pool,
            "restore.done",
            "restore 7 node1 shop.orders",
            Outcome::Failed,
            "verification failed: rows differ",
        )
        .await;
        let row: (String, String, String, String) =
            sqlx::query_as("SELECT actor, via, action, outcome FROM audit_log WHERE id = 3")
                .fetch_one(pool)
                .await
                .expect("system row");
        assert_eq!(
            row,
            (
                "system".into(),
                "system".into(),
                "restore.done".into(),
                "failed".into()
            )
        );
        let status = verify(pool).await.expect("verify");
        assert!(status.intact(), "{status:?}");
        assert_eq!(status.rows, 3, "the early rows were sealed into the chain");
        assert!(
            sqlx::query("UPDATE audit_log SET hash = '' WHERE id = 1")
                .execute(pool)
                .await
                .is_err(),
            "sealed once"
        );
    }
}
