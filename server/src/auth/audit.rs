//! The audit log: one row per change attempted and per refusal, never updated or deleted
//! (the catalog's triggers refuse both), listed with filters and exported as CSV.

use app::api::{AuditDto, AuditPage, AuditQuery, parse_day};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::jobs::now_ms;

/// One entry to write.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub actor: String,
    /// `session`, `token`, `cli` or `anonymous`.
    pub via: &'static str,
    pub address: String,
    pub action: String,
    pub target: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: &'static str,
    pub status: u16,
    pub detail: String,
}

/// Longest detail kept.
const MAX_DETAIL: usize = 2000;

/// Appends an entry; a failure to write is logged, never hidden.
pub async fn record(pool: &SqlitePool, e: Entry) {
    let detail: String = e.detail.chars().take(MAX_DETAIL).collect();
    let r = sqlx::query(
        "INSERT INTO audit_log (at, actor, via, address, action, target, outcome, status, detail) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(now_ms())
    .bind(if e.actor.is_empty() { "-" } else { &e.actor })
    .bind(e.via)
    .bind(&e.address)
    .bind(&e.action)
    .bind(&e.target)
    .bind(e.outcome)
    .bind(e.status as i64)
    .bind(detail)
    .execute(pool)
    .await;
    if let Err(err) = r {
        tracing::error!(error = %err, action = %e.action, actor = %e.actor, "cannot write the audit log");
    }
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
        "SELECT id, at, actor, via, address, action, target, outcome, status, detail FROM audit_log",
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

fn csv_field(s: &str) -> String {
    // Cells starting with a formula character are prefixed so spreadsheets show them as text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
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
        "SELECT id, at, actor, via, address, action, target, outcome, status, detail FROM audit_log",
    );
    push_where(&mut qb, &f);
    qb.push(" ORDER BY at, id LIMIT 1000000");
    let rows: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;
    let mut out = String::from("id,at_utc,actor,via,address,action,target,outcome,status,detail\n");
    for r in rows.into_iter().map(dto) {
        let cells = [
            r.id.to_string(),
            app::api::format_utc(r.at),
            r.actor,
            r.via,
            r.address,
            r.action,
            r.target,
            r.outcome,
            r.status.to_string(),
            r.detail,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
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
}
