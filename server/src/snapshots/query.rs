//! Reading snapshots back: the filtered, sorted, paged list with its timeline, and one tag's
//! detail with its tables and files.

use app::api::{
    SNAPSHOT_KINDS, SnapshotDetailDto, SnapshotDto, SnapshotFileDto, SnapshotPage, SnapshotQuery,
    SnapshotTableDto, TimelineDay, parse_day,
};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::SnapshotError;

/// Most items on one page.
pub const MAX_PER_PAGE: i64 = 500;
/// Default items on one page.
pub const DEFAULT_PER_PAGE: i64 = 50;
/// Widest date range of a list request, in days.
pub const MAX_RANGE_DAYS: i64 = 3660;
/// Most files listed per table in a detail.
pub const DEFAULT_FILES_LIMIT: i64 = 1000;
/// Largest `files_limit` a detail request may ask for.
pub const MAX_FILES_LIMIT: i64 = 10_000;
/// Highest page number of a list (far beyond any catalog; keeps the offset from overflowing).
pub const MAX_PAGE: i64 = 1_000_000;

const SORTS: [(&str, &str); 8] = [
    ("created", "s.created_at"),
    ("tag", "s.tag"),
    ("size", "s.size_bytes"),
    ("exclusive", "s.exclusive_hold_bytes"),
    ("shared", "s.shared_hold_bytes"),
    ("expires", "s.expires_at"),
    ("node", "s.node"),
    ("kind", "s.kind"),
];

const COLUMNS: &str = "s.id, s.node, s.tag, s.kind, s.status, s.created_at, s.expires_at, s.created_by, s.tables, \
    s.files, s.size_bytes, s.exclusive_hold_bytes, s.shared_hold_bytes, s.measured_at, s.gone_at, s.note";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    node: String,
    tag: String,
    kind: String,
    status: String,
    created_at: i64,
    expires_at: Option<i64>,
    created_by: Option<String>,
    tables: String,
    files: i64,
    size_bytes: i64,
    exclusive_hold_bytes: i64,
    shared_hold_bytes: i64,
    measured_at: i64,
    gone_at: Option<i64>,
    note: Option<String>,
}

impl From<Row> for SnapshotDto {
    fn from(r: Row) -> Self {
        SnapshotDto {
            id: r.id,
            node: r.node,
            tag: r.tag,
            kind: r.kind,
            status: r.status,
            created_at: r.created_at,
            expires_at: r.expires_at,
            created_by: r.created_by,
            tables: r
                .tables
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            files: r.files,
            size_bytes: r.size_bytes,
            exclusive_hold_bytes: r.exclusive_hold_bytes,
            shared_hold_bytes: r.shared_hold_bytes,
            measured_at: r.measured_at,
            gone_at: r.gone_at,
            note: r.note,
        }
    }
}

/// A checked [`SnapshotQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub node: Option<String>,
    pub keyspace: Option<String>,
    pub table: Option<String>,
    pub kind: Option<String>,
    pub tag: Option<String>,
    /// None = every status.
    pub status: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub sort_column: &'static str,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Checks a query; every refusal names the field and what is allowed.
pub fn check(q: &SnapshotQuery) -> Result<Filter, SnapshotError> {
    let kind = non_empty(&q.kind);
    if let Some(k) = &kind
        && !SNAPSHOT_KINDS.contains(&k.as_str())
    {
        return Err(SnapshotError::bad(
            "kind",
            format!(
                "kind `{k}` is unknown; use one of {}",
                SNAPSHOT_KINDS.join(", ")
            ),
        ));
    }
    let status = match non_empty(&q.status).as_deref() {
        None | Some("present") => Some("present".to_string()),
        Some("all") => None,
        Some(s @ ("cleared" | "gone")) => Some(s.to_string()),
        Some(other) => {
            return Err(SnapshotError::bad(
                "status",
                format!("status `{other}` is unknown; use present, cleared, gone or all"),
            ));
        }
    };
    let day = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, SnapshotError> {
        match non_empty(v) {
            None => Ok(None),
            Some(s) => parse_day(&s).map(Some).ok_or_else(|| {
                SnapshotError::bad(field, format!("`{s}` is not a date; write YYYY-MM-DD"))
            }),
        }
    };
    let from_ms = day("from", &q.from)?;
    let to_ms = day("to", &q.to)?.map(|d| d + 86_400_000);
    if let (Some(f), Some(t)) = (from_ms, to_ms) {
        if t <= f {
            return Err(SnapshotError::bad(
                "to",
                "the date range is reversed: `to` is before `from`",
            ));
        }
        if (t - f) / 86_400_000 > MAX_RANGE_DAYS {
            return Err(SnapshotError::bad(
                "to",
                format!("the date range is wider than {MAX_RANGE_DAYS} days"),
            ));
        }
    }
    let sort = non_empty(&q.sort).unwrap_or_else(|| "-created".into());
    let (descending, key) = match sort.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort.as_str()),
    };
    let sort_column = SORTS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            let names: Vec<&str> = SORTS.iter().map(|(k, _)| *k).collect();
            SnapshotError::bad(
                "sort",
                format!(
                    "cannot sort by `{key}`; use one of {} (a leading - sorts descending)",
                    names.join(", ")
                ),
            )
        })?;
    let page = q.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(SnapshotError::bad(
            "page",
            format!("page must be 1 to {MAX_PAGE}"),
        ));
    }
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(SnapshotError::bad(
            "per_page",
            format!("per_page must be 1 to {MAX_PER_PAGE}"),
        ));
    }
    // `table` may be `keyspace.table`.
    let mut keyspace = non_empty(&q.keyspace);
    let mut table = non_empty(&q.table);
    if let Some(t) = table.clone()
        && let Some((ks, name)) = t.split_once('.')
    {
        keyspace.get_or_insert_with(|| ks.to_string());
        table = Some(name.to_string());
    }
    Ok(Filter {
        node: non_empty(&q.node),
        keyspace,
        table,
        kind,
        tag: non_empty(&q.tag),
        status,
        from_ms,
        to_ms,
        sort_column,
        descending,
        page,
        per_page,
    })
}

fn push_where(qb: &mut QueryBuilder<'_, Sqlite>, f: &Filter) {
    qb.push(" WHERE 1 = 1");
    if let Some(v) = &f.status {
        qb.push(" AND s.status = ").push_bind(v.clone());
    }
    if let Some(v) = &f.node {
        qb.push(" AND s.node = ").push_bind(v.clone());
    }
    if let Some(v) = &f.kind {
        qb.push(" AND s.kind = ").push_bind(v.clone());
    }
    if let Some(v) = &f.tag {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        qb.push(" AND s.tag LIKE ")
            .push_bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
    }
    if let Some(v) = f.from_ms {
        qb.push(" AND s.created_at >= ").push_bind(v);
    }
    if let Some(v) = f.to_ms {
        qb.push(" AND s.created_at < ").push_bind(v);
    }
    if f.keyspace.is_some() || f.table.is_some() {
        qb.push(" AND EXISTS (SELECT 1 FROM snapshot_tables st WHERE st.snapshot_id = s.id");
        if let Some(v) = &f.keyspace {
            qb.push(" AND st.keyspace_name = ").push_bind(v.clone());
        }
        if let Some(v) = &f.table {
            qb.push(" AND st.table_name = ").push_bind(v.clone());
        }
        qb.push(")");
    }
}

/// One page of snapshots, the number that match, and the per-day, per-node timeline.
pub async fn list(pool: &SqlitePool, q: &SnapshotQuery) -> Result<SnapshotPage, SnapshotError> {
    let f = check(q)?;
    let mut qb = QueryBuilder::new("SELECT count(*) FROM snapshots s");
    push_where(&mut qb, &f);
    let total: i64 = qb.build_query_scalar().fetch_one(pool).await?;

    let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM snapshots s"));
    push_where(&mut qb, &f);
    let dir = if f.descending { "DESC" } else { "ASC" };
    qb.push(format!(
        " ORDER BY {} {dir} NULLS LAST, s.id {dir} LIMIT ",
        f.sort_column
    ))
    .push_bind(f.per_page)
    .push(" OFFSET ")
    .push_bind((f.page - 1) * f.per_page);
    let items: Vec<Row> = qb.build_query_as().fetch_all(pool).await?;

    let mut qb = QueryBuilder::new(
        "SELECT s.created_at / 86400000 AS day, s.node, count(*), sum(s.size_bytes), sum(s.exclusive_hold_bytes) FROM snapshots s",
    );
    push_where(&mut qb, &f);
    qb.push(" GROUP BY day, s.node ORDER BY day DESC, s.node LIMIT 2000");
    let days: Vec<(i64, String, i64, i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    let mut timeline: Vec<TimelineDay> = days
        .into_iter()
        .map(|(day, node, count, size, excl)| TimelineDay {
            day: app::api::format_day(day * 86_400_000),
            node,
            count,
            size_bytes: size,
            exclusive_hold_bytes: excl,
        })
        .collect();
    timeline.reverse();
    Ok(SnapshotPage {
        items: items.into_iter().map(SnapshotDto::from).collect(),
        total,
        page: f.page,
        per_page: f.per_page,
        timeline,
    })
}

#[derive(sqlx::FromRow)]
struct TableRow {
    id: i64,
    node: String,
    keyspace_name: String,
    table_name: String,
    table_id: String,
    status: String,
    created_at: Option<i64>,
    expires_at: Option<i64>,
    files: i64,
    size_bytes: i64,
    exclusive_hold_bytes: i64,
    shared_hold_bytes: i64,
    row_count: Option<i64>,
    row_count_method: Option<String>,
    schema_cql: Option<String>,
}

/// The snapshots a tag names: the present ones (on `node`, or on every node), else the latest
/// row per node that had it.
pub async fn rows_for_tag(
    pool: &SqlitePool,
    tag: &str,
    node: Option<&str>,
) -> Result<Vec<SnapshotDto>, sqlx::Error> {
    let present: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM snapshots s WHERE s.tag = ?1 AND s.status = 'present' AND (?2 IS NULL OR s.node = ?2) ORDER BY s.node"
    ))
    .bind(tag)
    .bind(node)
    .fetch_all(pool)
    .await?;
    if !present.is_empty() {
        return Ok(present.into_iter().map(SnapshotDto::from).collect());
    }
    let past: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM snapshots s WHERE s.id IN (SELECT max(id) FROM snapshots WHERE tag = ?1 AND (?2 IS NULL OR node = ?2) GROUP BY node) ORDER BY s.node"
    ))
    .bind(tag)
    .bind(node)
    .fetch_all(pool)
    .await?;
    Ok(past.into_iter().map(SnapshotDto::from).collect())
}

/// Checks a detail's `files_limit`: 0 to [`MAX_FILES_LIMIT`].
pub fn check_files_limit(files_limit: i64) -> Result<i64, SnapshotError> {
    if (0..=MAX_FILES_LIMIT).contains(&files_limit) {
        Ok(files_limit)
    } else {
        Err(SnapshotError::bad(
            "files_limit",
            format!("files_limit must be 0 to {MAX_FILES_LIMIT}"),
        ))
    }
}

/// One tag with its tables and up to `files_limit` files per table (refused outside 0 to
/// [`MAX_FILES_LIMIT`]).
pub async fn detail(
    pool: &SqlitePool,
    tag: &str,
    node: Option<&str>,
    files_limit: i64,
) -> Result<Option<SnapshotDetailDto>, SnapshotError> {
    let files_limit = check_files_limit(files_limit)?;
    let snaps = rows_for_tag(pool, tag, node).await?;
    let Some(first) = snaps.first().cloned() else {
        return Ok(None);
    };
    let mut tables = Vec::new();
    for s in &snaps {
        let rows: Vec<TableRow> = sqlx::query_as(
            "SELECT st.id, s.node, st.keyspace_name, st.table_name, st.table_id, st.status, st.created_at, st.expires_at, st.files, \
                    st.size_bytes, st.exclusive_hold_bytes, st.shared_hold_bytes, st.row_count, st.row_count_method, st.schema_cql \
             FROM snapshot_tables st JOIN snapshots s ON s.id = st.snapshot_id WHERE st.snapshot_id = ? \
             ORDER BY st.keyspace_name, st.table_name, st.data_dir",
        )
        .bind(s.id)
        .fetch_all(pool)
        .await?;
        for r in rows {
            let files: Vec<(String, i64, i64, i64)> = sqlx::query_as(
                "SELECT path, size, inode, nlink FROM snapshot_files WHERE snapshot_table_id = ? ORDER BY path LIMIT ?",
            )
            .bind(r.id)
            .bind(files_limit)
            .fetch_all(pool)
            .await?;
            let files_total: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM snapshot_files WHERE snapshot_table_id = ?",
            )
            .bind(r.id)
            .fetch_one(pool)
            .await?;
            tables.push(SnapshotTableDto {
                node: r.node,
                keyspace: r.keyspace_name,
                table: r.table_name,
                table_id: r.table_id,
                status: r.status,
                created_at: r.created_at,
                expires_at: r.expires_at,
                files: r.files,
                size_bytes: r.size_bytes,
                exclusive_hold_bytes: r.exclusive_hold_bytes,
                shared_hold_bytes: r.shared_hold_bytes,
                row_count: r.row_count,
                row_count_method: r.row_count_method,
                schema_cql: r.schema_cql,
                file_list: files
                    .into_iter()
                    .map(|(path, size, inode, nlink)| SnapshotFileDto {
                        path,
                        size,
                        inode,
                        nlink,
                    })
                    .collect(),
                files_total,
            });
        }
    }
    let status = if snaps.iter().any(|s| s.status == "present") {
        "present".to_string()
    } else {
        first.status.clone()
    };
    let mut pins = Vec::new();
    for s in &snaps {
        for p in super::pins::holding(pool, &s.node, tag, crate::clock::now_ms()).await? {
            pins.push(app::api::SnapshotPinDto {
                node: p.node,
                reason: p.reason,
                until_ms: p.until_ms,
            });
        }
    }
    Ok(Some(SnapshotDetailDto {
        tag: first.tag.clone(),
        kind: first.kind.clone(),
        status,
        created_at: snaps
            .iter()
            .map(|s| s.created_at)
            .min()
            .unwrap_or(first.created_at),
        expires_at: snaps.iter().filter_map(|s| s.expires_at).max(),
        created_by: first.created_by.clone(),
        note: first.note.clone(),
        nodes: snaps.iter().map(|s| s.node.clone()).collect(),
        size_bytes: snaps.iter().map(|s| s.size_bytes).sum(),
        exclusive_hold_bytes: snaps.iter().map(|s| s.exclusive_hold_bytes).sum(),
        shared_hold_bytes: snaps.iter().map(|s| s.shared_hold_bytes).sum(),
        files: snaps.iter().map(|s| s.files).sum(),
        tables,
        pins,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> SnapshotQuery {
        SnapshotQuery::default()
    }

    #[test]
    fn defaults_are_present_newest_first_fifty_a_page() {
        let f = check(&q()).expect("ok");
        assert_eq!(f.status.as_deref(), Some("present"));
        assert_eq!((f.sort_column, f.descending), ("s.created_at", true));
        assert_eq!((f.page, f.per_page), (1, 50));
    }

    #[test]
    fn bad_filters_name_their_field() {
        let cases: Vec<(SnapshotQuery, &str)> = vec![
            (
                SnapshotQuery {
                    kind: Some("weird".into()),
                    ..q()
                },
                "kind",
            ),
            (
                SnapshotQuery {
                    status: Some("lost".into()),
                    ..q()
                },
                "status",
            ),
            (
                SnapshotQuery {
                    from: Some("yesterday".into()),
                    ..q()
                },
                "from",
            ),
            (
                SnapshotQuery {
                    from: Some("2026-11-24".into()),
                    to: Some("2026-11-01".into()),
                    ..q()
                },
                "to",
            ),
            (
                SnapshotQuery {
                    from: Some("1990-01-01".into()),
                    to: Some("2026-11-01".into()),
                    ..q()
                },
                "to",
            ),
            (
                SnapshotQuery {
                    sort: Some("-colour".into()),
                    ..q()
                },
                "sort",
            ),
            (
                SnapshotQuery {
                    page: Some(0),
                    ..q()
                },
                "page",
            ),
            (
                SnapshotQuery {
                    per_page: Some(501),
                    ..q()
                },
                "per_page",
            ),
        ];
        for (query, field) in cases {
            match check(&query) {
                Err(SnapshotError::BadRequest { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{query:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn pages_and_file_limits_are_bounded_and_the_refusal_names_the_maximum() {
        for page in [MAX_PAGE + 1, i64::MAX] {
            match check(&SnapshotQuery {
                page: Some(page),
                ..q()
            }) {
                Err(SnapshotError::BadRequest { field, message }) => {
                    assert_eq!(field, "page");
                    assert!(message.contains("1000000"), "{message}");
                }
                other => panic!("page {page}: {other:?}"),
            }
        }
        assert!(
            check(&SnapshotQuery {
                page: Some(MAX_PAGE),
                ..q()
            })
            .is_ok()
        );
        assert_eq!(check_files_limit(0).ok(), Some(0));
        assert_eq!(
            check_files_limit(MAX_FILES_LIMIT).ok(),
            Some(MAX_FILES_LIMIT)
        );
        for bad in [-1, MAX_FILES_LIMIT + 1, i64::MAX] {
            let err = check_files_limit(bad).expect_err("bad");
            assert!(err.to_string().contains("0 to 10000"), "{err}");
        }
    }

    #[test]
    fn a_dotted_table_filter_sets_the_keyspace() {
        let f = check(&SnapshotQuery {
            table: Some("shop.orders".into()),
            status: Some("all".into()),
            ..q()
        })
        .expect("ok");
        assert_eq!(f.keyspace.as_deref(), Some("shop"));
        assert_eq!(f.table.as_deref(), Some("orders"));
        assert_eq!(f.status, None);
    }
}
