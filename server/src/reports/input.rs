//! Raw input: a report query as it arrives (the strings of [`ReportQuery`] and
//! [`MeasuredQuery`]), and the checks that turn it into a [`Selection`] or a [`Scope`], each
//! refusal naming its field. Nothing past this file sees an unchecked string.

use app::api::{MAX_REPORT_DAYS, REPORT_CHARTS, REPORT_GROUPS, ReportQuery, format_day, parse_day};
use serde::Deserialize;

use super::ReportsError;
use super::sample::{DAY_MS, day_start};
use super::selection::{Bucket, Chart, Group, Scope, Selection};

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 48 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Checks a query: dates `YYYY-MM-DD` (UTC) not reversed and at most [`MAX_REPORT_DAYS`]
/// days apart, a known grouping and chart, names that can be Cassandra names. `now` fills in
/// the default range (the last 30 days).
pub fn parse(q: &ReportQuery, now: i64) -> Result<Selection, ReportsError> {
    let day = |field: &'static str, v: &Option<String>| -> Result<Option<i64>, ReportsError> {
        match text(v) {
            None => Ok(None),
            Some(s) => parse_day(&s).map(Some).ok_or_else(|| {
                ReportsError::bad(
                    field,
                    format!("{field}=`{s}` is not a date; use YYYY-MM-DD (UTC), e.g. 2026-11-24"),
                )
            }),
        }
    };
    let to = day("to", &q.to)?.unwrap_or_else(|| day_start(now));
    let from = day("from", &q.from)?.unwrap_or(to - (app::api::DEFAULT_REPORT_DAYS - 1) * DAY_MS);
    if from > to {
        return Err(ReportsError::bad(
            "from",
            format!(
                "the date range is reversed: from={} is after to={}; from must be on or before to",
                format_day(from),
                format_day(to)
            ),
        ));
    }
    let days = (to - from) / DAY_MS + 1;
    if days > MAX_REPORT_DAYS {
        return Err(ReportsError::bad(
            "to",
            format!(
                "the date range from={} to={} covers {days} days; a report covers at most {MAX_REPORT_DAYS} days",
                format_day(from),
                format_day(to)
            ),
        ));
    }
    let group = match text(&q.group).as_deref() {
        None | Some("node") => Group::Node,
        Some("keyspace") => Group::Keyspace,
        Some("table") => Group::Table,
        Some(other) => {
            return Err(ReportsError::bad(
                "group",
                format!(
                    "group=`{other}` is not a grouping; use one of {}",
                    REPORT_GROUPS.join(", ")
                ),
            ));
        }
    };
    let chart = match text(&q.chart).as_deref() {
        None | Some("storage") => Chart::Storage,
        Some("inodes") => Chart::Inodes,
        Some("forecast") => Chart::Forecast,
        Some(other) => {
            return Err(ReportsError::bad(
                "chart",
                format!(
                    "chart=`{other}` is not a chart; use one of {}",
                    REPORT_CHARTS.join(", ")
                ),
            ));
        }
    };
    let node = text(&q.node);
    if let Some(n) = &node
        && (n.len() > 64 || n.contains('/'))
    {
        return Err(ReportsError::bad(
            "node",
            format!("node=`{n}` is not a node name (at most 64 characters, no /)"),
        ));
    }
    let mut keyspace = text(&q.keyspace);
    if let Some(k) = &keyspace
        && !is_name(k)
    {
        return Err(ReportsError::bad(
            "keyspace",
            format!("keyspace=`{k}` is not a keyspace name (1–48 letters, digits and _)"),
        ));
    }
    let table = match text(&q.table) {
        None => None,
        Some(t) => {
            let (ks, name) = match t.split_once('.') {
                Some((k, n)) => (Some(k.to_string()), n.to_string()),
                None => (None, t.clone()),
            };
            if !is_name(&name) || ks.as_deref().is_some_and(|k| !is_name(k)) {
                return Err(ReportsError::bad(
                    "table",
                    format!(
                        "table=`{t}` is not a table name; use table or keyspace.table (letters, digits and _)"
                    ),
                ));
            }
            if let (Some(k1), Some(k2)) = (&ks, &keyspace)
                && k1 != k2
            {
                return Err(ReportsError::bad(
                    "table",
                    format!("table=`{t}` names keyspace {k1} but keyspace={k2}"),
                ));
            }
            if ks.is_some() {
                keyspace = ks;
            }
            Some(name)
        }
    };
    let to_ms = to + DAY_MS;
    let bucket = match days {
        ..=2 => Bucket::Sample,
        3..=7 => Bucket::Hour,
        _ => Bucket::Day,
    };
    let query = ReportQuery {
        from: Some(format_day(from)),
        to: Some(format_day(to)),
        group: Some(group.name().to_string()),
        node: node.clone(),
        keyspace: keyspace.clone(),
        table: match (&keyspace, &table) {
            (Some(k), Some(t)) => Some(format!("{k}.{t}")),
            (None, Some(t)) => Some(t.clone()),
            _ => None,
        },
        chart: text(&q.chart),
    };
    Ok(Selection {
        query,
        from_ms: from,
        to_ms,
        group,
        scope: Scope {
            node,
            keyspace,
            table,
        },
        bucket,
        chart,
    })
}

/// Which scope to measure (`GET /api/v1/reports/measured`).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MeasuredQuery {
    /// A node (default: every node).
    pub node: Option<String>,
    /// A keyspace.
    pub keyspace: Option<String>,
    /// A table (with `keyspace`).
    pub table: Option<String>,
    /// Days back from now, 1–365 (default 7).
    pub days: Option<i64>,
}

impl MeasuredQuery {
    /// The scope named, blanks taken as not given; a table needs its keyspace.
    pub fn scope(&self) -> Result<Scope, ReportsError> {
        let scope = Scope {
            node: text(&self.node),
            keyspace: text(&self.keyspace),
            table: text(&self.table),
        };
        if scope.table.is_some() && scope.keyspace.is_none() {
            return Err(ReportsError::bad(
                "keyspace",
                "table needs its keyspace: add keyspace=…",
            ));
        }
        Ok(scope)
    }
}

/// Checks what a measurement is asked for: `days` in 1–365 (default 7) and names that can be
/// Cassandra names. Returns the days.
pub fn measured_days(scope: &Scope, days: Option<i64>) -> Result<i64, ReportsError> {
    let days = days.unwrap_or(7);
    if !(1..=365).contains(&days) {
        return Err(ReportsError::bad(
            "days",
            format!("days={days} is out of range; use 1–365"),
        ));
    }
    for (field, v) in [("keyspace", &scope.keyspace), ("table", &scope.table)] {
        if let Some(v) = v
            && !is_name(v)
        {
            return Err(ReportsError::bad(
                field,
                format!("{field}=`{v}` is not a Cassandra name (1–48 letters, digits and _)"),
            ));
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::sample::LEVEL_TABLE;

    const NOW: i64 = 1_795_550_920_176; // 2026-11-24 20:08:40 UTC

    fn q(from: Option<&str>, to: Option<&str>) -> ReportQuery {
        ReportQuery {
            from: from.map(str::to_string),
            to: to.map(str::to_string),
            ..ReportQuery::default()
        }
    }

    fn field(e: ReportsError) -> (&'static str, String) {
        match e {
            ReportsError::BadRequest { field, message } => (field, message),
            other => panic!("not a bad request: {other}"),
        }
    }

    #[test]
    fn defaults_are_the_last_30_days_by_node_in_days() {
        let s = parse(&ReportQuery::default(), NOW).expect("defaults");
        assert_eq!(s.query.from.as_deref(), Some("2026-10-26"));
        assert_eq!(s.query.to.as_deref(), Some("2026-11-24"));
        assert_eq!(s.to_ms - s.from_ms, 30 * DAY_MS);
        assert_eq!(s.group, Group::Node);
        assert_eq!(s.bucket, Bucket::Day);
        assert_eq!(s.chart, Chart::Storage);
        let s = parse(&q(Some("2026-11-23"), Some("2026-11-24")), NOW).expect("two days");
        assert_eq!(s.bucket, Bucket::Sample);
        let s = parse(&q(Some("2026-11-18"), Some("2026-11-24")), NOW).expect("a week");
        assert_eq!(s.bucket, Bucket::Hour);
    }

    #[test]
    fn reversed_wide_and_malformed_ranges_are_refused_with_the_limit() {
        let (f, m) =
            field(parse(&q(Some("2026-11-25"), Some("2026-11-24")), NOW).expect_err("reversed"));
        assert_eq!(f, "from");
        assert!(m.contains("reversed") && m.contains("2026-11-25"), "{m}");
        let (f, m) =
            field(parse(&q(Some("2020-01-01"), Some("2026-11-24")), NOW).expect_err("wide"));
        assert_eq!(f, "to");
        assert!(m.contains("at most 731 days"), "{m}");
        assert!(
            parse(&q(Some("2024-11-24"), Some("2026-11-23")), NOW).is_ok(),
            "731 days"
        );
        let (f, m) = field(parse(&q(Some("yesterday"), None), NOW).expect_err("not a date"));
        assert_eq!(f, "from");
        assert!(m.contains("YYYY-MM-DD"), "{m}");
    }

    #[test]
    fn groups_charts_and_names_are_checked() {
        let bad = |query: ReportQuery| field(parse(&query, NOW).expect_err("bad")).0;
        assert_eq!(
            bad(ReportQuery {
                group: Some("cluster".into()),
                ..ReportQuery::default()
            }),
            "group"
        );
        assert_eq!(
            bad(ReportQuery {
                chart: Some("pie".into()),
                ..ReportQuery::default()
            }),
            "chart"
        );
        assert_eq!(
            bad(ReportQuery {
                keyspace: Some("x;drop".into()),
                ..ReportQuery::default()
            }),
            "keyspace"
        );
        assert_eq!(
            bad(ReportQuery {
                keyspace: Some("a".into()),
                table: Some("b.t".into()),
                ..ReportQuery::default()
            }),
            "table"
        );
        let s = parse(
            &ReportQuery {
                table: Some("shop.orders".into()),
                group: Some("table".into()),
                ..ReportQuery::default()
            },
            NOW,
        )
        .expect("table");
        assert_eq!(s.scope.keyspace.as_deref(), Some("shop"));
        assert_eq!(s.scope.table.as_deref(), Some("orders"));
        assert_eq!(s.scope.label(), "shop.orders on every node");
        assert_eq!(s.scope.level(), LEVEL_TABLE);
    }
}
