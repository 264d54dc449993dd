//! A checked report query, as [`super::input`] makes it: the range in Unix ms, the grouping,
//! the scope, the bucket one point stands for and the chart. Every value here is one the
//! reads can use as it is.

use app::api::ReportQuery;

use super::sample::{DAY_MS, LEVEL_KEYSPACE, LEVEL_NODE, LEVEL_TABLE, day_start};

const HOUR_MS: i64 = 3_600_000;

/// How a report breaks its figures down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Node,
    Keyspace,
    Table,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Node => "node",
            Group::Keyspace => "keyspace",
            Group::Table => "table",
        }
    }
    pub(super) fn level(self) -> i64 {
        match self {
            Group::Node => LEVEL_NODE,
            Group::Keyspace => LEVEL_KEYSPACE,
            Group::Table => LEVEL_TABLE,
        }
    }
}

/// What one point of a report stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Each sample (each scan) is a point.
    Sample,
    Hour,
    Day,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Sample => "sample",
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }
    /// The start of the bucket holding `at`.
    pub fn of(self, at: i64) -> i64 {
        match self {
            Bucket::Sample => at,
            Bucket::Hour => at.div_euclid(HOUR_MS) * HOUR_MS,
            Bucket::Day => day_start(at),
        }
    }
    /// Length of a bucket in ms (0 for samples).
    pub fn width(self) -> i64 {
        match self {
            Bucket::Sample => 0,
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }
}

/// Which chart the `.svg`/`.csv` routes draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Storage,
    Inodes,
    Forecast,
}

impl Chart {
    pub fn name(self) -> &'static str {
        match self {
            Chart::Storage => "storage",
            Chart::Inodes => "inodes",
            Chart::Forecast => "forecast",
        }
    }
}

/// Which series a report reads: a node, keyspace and table, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub node: Option<String>,
    pub keyspace: Option<String>,
    pub table: Option<String>,
}

impl Scope {
    /// The finest level the scope names.
    pub(super) fn level(&self) -> i64 {
        if self.table.is_some() {
            LEVEL_TABLE
        } else if self.keyspace.is_some() {
            LEVEL_KEYSPACE
        } else {
            LEVEL_NODE
        }
    }
    /// Whether the series of `table` in `keyspace` on `node` is in the scope.
    pub(super) fn matches(&self, node: &str, keyspace: &str, table: &str) -> bool {
        self.node.as_ref().is_none_or(|n| n == node)
            && self.keyspace.as_ref().is_none_or(|k| k == keyspace)
            && self.table.as_ref().is_none_or(|t| t == table)
    }
    /// `all nodes`, `node1`, `node1/shop`, `node1/shop.orders` (or `shop.orders on every node`).
    pub fn label(&self) -> String {
        let inner = match (&self.keyspace, &self.table) {
            (Some(k), Some(t)) => Some(format!("{k}.{t}")),
            (Some(k), None) => Some(k.clone()),
            (None, Some(t)) => Some(format!("table {t}")),
            (None, None) => None,
        };
        match (&self.node, inner) {
            (Some(n), Some(i)) => format!("{n}/{i}"),
            (Some(n), None) => n.clone(),
            (None, Some(i)) => format!("{i} on every node"),
            (None, None) => "all nodes".into(),
        }
    }
}

/// A checked report query.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The query with defaults filled in.
    pub query: ReportQuery,
    pub from_ms: i64,
    /// Exclusive.
    pub to_ms: i64,
    pub group: Group,
    pub scope: Scope,
    pub bucket: Bucket,
    pub chart: Chart,
}

#[cfg(test)]
mod tests {
    use app::api::parse_day;

    use super::*;

    const NOW: i64 = 1_795_550_920_176; // 2026-11-24 20:08:40 UTC

    #[test]
    fn buckets_start_on_hours_and_days() {
        let t = NOW;
        assert_eq!(Bucket::Sample.of(t), t);
        assert_eq!(Bucket::Hour.of(t) % HOUR_MS, 0);
        assert!(t - Bucket::Hour.of(t) < HOUR_MS);
        assert_eq!(Bucket::Day.of(t), parse_day("2026-11-24").expect("day"));
    }
}
