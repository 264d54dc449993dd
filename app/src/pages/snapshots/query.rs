//! The snapshot list's state lives in the URL: reading [`SnapshotQuery`] from the query string
//! and writing links (sort, pages) that keep every other parameter.

use leptos_router::params::ParamsMap;

use crate::api::{SnapshotQuery, encode_query_value as encode};

/// Sort used when the URL names none (the server's default too).
pub const DEFAULT_SORT: &str = "-created";
/// Items per page when the URL names none (the server's default too).
pub const DEFAULT_PER_PAGE: i64 = 50;
/// The page sizes the filter form offers.
pub const PER_PAGE_CHOICES: [i64; 5] = [25, 50, 100, 200, 500];

/// Reads the list's filters, sort and page from the URL; empty fields count as absent.
pub fn from_params(map: &ParamsMap) -> SnapshotQuery {
    let text = |k: &str| {
        map.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let number = |k: &str| text(k).and_then(|v| v.parse::<i64>().ok());
    SnapshotQuery {
        node: text("node"),
        keyspace: text("keyspace"),
        table: text("table"),
        kind: text("kind"),
        tag: text("tag"),
        status: text("status"),
        from: text("from"),
        to: text("to"),
        sort: text("sort"),
        page: number("page"),
        per_page: number("per_page"),
    }
}

/// `/snapshots?…` with every parameter the query sets, in a fixed order.
pub fn href(q: &SnapshotQuery) -> String {
    let pairs: [(&str, Option<String>); 11] = [
        ("node", q.node.clone()),
        ("keyspace", q.keyspace.clone()),
        ("table", q.table.clone()),
        ("kind", q.kind.clone()),
        ("tag", q.tag.clone()),
        ("status", q.status.clone()),
        ("from", q.from.clone()),
        ("to", q.to.clone()),
        ("sort", q.sort.clone()),
        ("page", q.page.map(|p| p.to_string())),
        ("per_page", q.per_page.map(|p| p.to_string())),
    ];
    let search: Vec<String> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(&v))))
        .collect();
    if search.is_empty() {
        "/snapshots".to_string()
    } else {
        format!("/snapshots?{}", search.join("&"))
    }
}

/// Whether the list is sorted by `key`: `Some(true)` descending, `Some(false)` ascending.
pub fn sorted_by(q: &SnapshotQuery, key: &str) -> Option<bool> {
    let current = q.sort.as_deref().unwrap_or(DEFAULT_SORT);
    match current.strip_prefix('-') {
        Some(k) if k == key => Some(true),
        None if current == key => Some(false),
        _ => None,
    }
}

/// The link a column header carries: sorts by `key`, flipping the direction when the list is
/// already sorted by it; numbers and times start with the largest and newest. Back to page 1.
pub fn sort_href(q: &SnapshotQuery, key: &str) -> String {
    let sort = match sorted_by(q, key) {
        Some(true) => key.to_string(),
        Some(false) => format!("-{key}"),
        None if matches!(key, "tag" | "node" | "kind") => key.to_string(),
        None => format!("-{key}"),
    };
    href(&SnapshotQuery {
        sort: Some(sort),
        page: None,
        ..q.clone()
    })
}

/// The link to another page of the same list.
pub fn page_href(q: &SnapshotQuery, page: i64) -> String {
    href(&SnapshotQuery {
        page: (page > 1).then_some(page),
        ..q.clone()
    })
}

/// Pages needed for `total` items (at least one, so "page 1 of 1" reads right when empty).
pub fn page_count(total: i64, per_page: i64) -> i64 {
    let per_page = per_page.max(1);
    ((total.max(0) + per_page - 1) / per_page).max(1)
}

/// Whether the URL narrows the list at all (sort, page and page size do not).
pub fn has_filters(q: &SnapshotQuery) -> bool {
    [
        &q.node,
        &q.keyspace,
        &q.table,
        &q.kind,
        &q.tag,
        &q.status,
        &q.from,
        &q.to,
    ]
    .iter()
    .any(|v| v.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&'static str, &str)]) -> ParamsMap {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn the_url_maps_to_the_query_and_back() {
        let q = from_params(&params(&[
            ("kind", "manual"),
            ("tag", "e2e"),
            ("node", ""),
            ("keyspace", "  "),
            ("page", "3"),
            ("per_page", "many"),
        ]));
        assert_eq!(q.kind.as_deref(), Some("manual"));
        assert_eq!(q.tag.as_deref(), Some("e2e"));
        assert_eq!(q.node, None, "an empty field is no filter");
        assert_eq!(q.keyspace, None);
        assert_eq!(q.page, Some(3));
        assert_eq!(q.per_page, None, "a page size that is no number is ignored");
        assert_eq!(href(&q), "/snapshots?kind=manual&tag=e2e&page=3");
        assert_eq!(href(&SnapshotQuery::default()), "/snapshots");
        assert!(has_filters(&q));
        assert!(!has_filters(&SnapshotQuery {
            sort: Some("tag".into()),
            page: Some(2),
            ..SnapshotQuery::default()
        }));
    }

    #[test]
    fn headers_toggle_the_sort_and_go_back_to_page_one() {
        let q = SnapshotQuery {
            tag: Some("a b".into()),
            page: Some(4),
            ..SnapshotQuery::default()
        };
        assert_eq!(
            sorted_by(&q, "created"),
            Some(true),
            "newest first by default"
        );
        assert_eq!(
            sort_href(&q, "created"),
            "/snapshots?tag=a%20b&sort=created"
        );
        assert_eq!(sort_href(&q, "size"), "/snapshots?tag=a%20b&sort=-size");
        assert_eq!(sort_href(&q, "tag"), "/snapshots?tag=a%20b&sort=tag");
        let by_tag = SnapshotQuery {
            sort: Some("tag".into()),
            ..q.clone()
        };
        assert_eq!(sorted_by(&by_tag, "tag"), Some(false));
        assert_eq!(sorted_by(&by_tag, "created"), None);
        assert_eq!(sort_href(&by_tag, "tag"), "/snapshots?tag=a%20b&sort=-tag");
    }

    #[test]
    fn pages_keep_the_filters() {
        let q = SnapshotQuery {
            node: Some("node1".into()),
            page: Some(2),
            ..SnapshotQuery::default()
        };
        assert_eq!(page_href(&q, 3), "/snapshots?node=node1&page=3");
        assert_eq!(page_href(&q, 1), "/snapshots?node=node1");
        assert_eq!(page_count(0, 50), 1);
        assert_eq!(page_count(50, 50), 1);
        assert_eq!(page_count(10_000, 50), 200);
        assert_eq!(page_count(10_001, 50), 201);
    }
}
