//! The schema check of a restore: parses a snapshot's `schema.cql` (user types, the table with
//! its id, columns, keys and clustering order, dropped columns, indexes) and compares it with
//! the live `system_schema`, naming every difference in one sentence a team lead understands
//! plus the CQL facts.

use serde::{Deserialize, Serialize};

pub use app::api::{Difference, SchemaCheck, Severity, Verdict};

use crate::cassandra::cql::{Schema, TableSchema};

/// A column as `schema.cql` declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub cql_type: String,
    pub is_static: bool,
}

/// What a snapshot's `schema.cql` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSchema {
    pub keyspace: String,
    pub table: String,
    /// The table id (`WITH ID = …`), as 32 hex digits.
    pub id: Option<String>,
    pub columns: Vec<ColumnDef>,
    pub partition_key: Vec<String>,
    /// Clustering columns with `ASC`/`DESC`.
    pub clustering: Vec<(String, String)>,
    /// Columns dropped before the snapshot, with the drop's timestamp (µs).
    pub dropped: Vec<(String, i64)>,
    /// User types: (name, fields as (name, type)).
    pub types: Vec<(String, Vec<(String, String)>)>,
    pub indexes: Vec<String>,
}

/// Why `schema.cql` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the snapshot's schema.cql: {0}")]
pub struct SchemaParseError(pub String);

/// Splits at `sep` outside quotes, parentheses and angle brackets.
pub fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in s.chars() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            cur.push(c);
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                cur.push(c);
            }
            '(' | '<' | '{' | '[' => {
                depth += 1;
                cur.push(c);
            }
            ')' | '>' | '}' | ']' => {
                depth -= 1;
                cur.push(c);
            }
            c if c == sep && depth == 0 => {
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// An identifier: `"Quoted"` keeps its case, plain ones are lower-cased.
fn ident(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => s.to_ascii_lowercase(),
    }
}

/// `ks.table` → (ks, table).
fn qualified(s: &str) -> Option<(String, String)> {
    let parts = split_top(s.trim(), '.');
    match parts.as_slice() {
        [ks, t] => Some((ident(ks), ident(t))),
        _ => None,
    }
}

/// A type written without spaces, lower-cased outside quotes.
pub fn normalize_type(t: &str) -> String {
    let mut out = String::new();
    let mut in_quote = false;
    for c in t.chars() {
        if c == '"' {
            in_quote = !in_quote;
            continue;
        }
        if in_quote {
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let t = s.trim_start();
    (t.len() >= kw.len() && t[..kw.len()].eq_ignore_ascii_case(kw)).then(|| &t[kw.len()..])
}

/// Parses `schema.cql` as Cassandra 4/5 writes it into a snapshot.
pub fn parse(text: &str) -> Result<SnapshotSchema, SchemaParseError> {
    let mut out = SnapshotSchema::default();
    let mut found_table = false;
    for stmt in split_top(text, ';') {
        let stmt = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let s = stmt.trim();
        if s.is_empty() {
            continue;
        }
        if let Some(rest) = strip_keyword(s, "CREATE TYPE") {
            let rest = strip_keyword(rest, "IF NOT EXISTS").unwrap_or(rest);
            let open = rest
                .find('(')
                .ok_or_else(|| SchemaParseError(format!("no field list in `{s}`")))?;
            let close = rest
                .rfind(')')
                .ok_or_else(|| SchemaParseError(format!("unclosed field list in `{s}`")))?;
            let name = qualified(&rest[..open])
                .map(|(_, n)| n)
                .unwrap_or_else(|| ident(&rest[..open]));
            let fields = split_top(&rest[open + 1..close], ',')
                .iter()
                .filter_map(|f| {
                    let f = f.trim();
                    let (n, t) = f.split_once(char::is_whitespace)?;
                    Some((ident(n), normalize_type(t)))
                })
                .collect();
            out.types.push((name, fields));
        } else if let Some(rest) = strip_keyword(s, "CREATE TABLE") {
            found_table = true;
            let rest = strip_keyword(rest, "IF NOT EXISTS").unwrap_or(rest);
            let open = rest
                .find('(')
                .ok_or_else(|| SchemaParseError("CREATE TABLE without a column list".into()))?;
            let (ks, t) = qualified(&rest[..open]).ok_or_else(|| {
                SchemaParseError(format!(
                    "table name `{}` is not keyspace.table",
                    rest[..open].trim()
                ))
            })?;
            out.keyspace = ks;
            out.table = t;
            // The column list ends at the matching parenthesis.
            let body_and_after = &rest[open..];
            let mut depth = 0;
            let mut end = None;
            let mut quote: Option<char> = None;
            for (i, c) in body_and_after.char_indices() {
                if let Some(q) = quote {
                    if c == q {
                        quote = None;
                    }
                    continue;
                }
                match c {
                    '\'' | '"' => quote = Some(c),
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| SchemaParseError("unclosed column list".into()))?;
            let body = &body_and_after[1..end];
            let with = &body_and_after[end + 1..];
            for item in split_top(body, ',') {
                let item = item.trim();
                if let Some(pk) = strip_keyword(item, "PRIMARY KEY") {
                    let pk = pk.trim();
                    let inner = pk
                        .strip_prefix('(')
                        .and_then(|p| p.strip_suffix(')'))
                        .unwrap_or(pk);
                    let parts = split_top(inner, ',');
                    if let Some(first) = parts.first() {
                        let first = first.trim();
                        out.partition_key = match first
                            .strip_prefix('(')
                            .and_then(|p| p.strip_suffix(')'))
                        {
                            Some(cols) => split_top(cols, ',').iter().map(|c| ident(c)).collect(),
                            None => vec![ident(first)],
                        };
                    }
                    for c in parts.iter().skip(1) {
                        out.clustering.push((ident(c), "ASC".into()));
                    }
                    continue;
                }
                // name type [static] [PRIMARY KEY]
                let (name, rest) = if let Some(q) = item.strip_prefix('"') {
                    let close = q
                        .find('"')
                        .ok_or_else(|| SchemaParseError(format!("unclosed quote in `{item}`")))?;
                    (q[..close].to_string(), &q[close + 1..])
                } else {
                    let (n, r) = item.split_once(char::is_whitespace).ok_or_else(|| {
                        SchemaParseError(format!("column without a type: `{item}`"))
                    })?;
                    (n.to_ascii_lowercase(), r)
                };
                let mut ty = rest.trim().to_string();
                let mut inline_pk = false;
                let upper = ty.to_ascii_uppercase();
                if upper.ends_with("PRIMARY KEY") {
                    inline_pk = true;
                    ty.truncate(ty.len() - "PRIMARY KEY".len());
                }
                let mut is_static = false;
                if ty.trim_end().to_ascii_uppercase().ends_with(" STATIC") {
                    is_static = true;
                    let l = ty.trim_end().len() - " STATIC".len();
                    ty.truncate(l);
                }
                if inline_pk {
                    out.partition_key = vec![name.clone()];
                }
                out.columns.push(ColumnDef {
                    name,
                    cql_type: normalize_type(&ty),
                    is_static,
                });
            }
            // WITH ID = … AND CLUSTERING ORDER BY (c DESC, …) AND …
            let with = strip_keyword(with, "WITH").unwrap_or(with);
            for opt in split_and(with) {
                let o = opt.trim();
                if let Some(v) = strip_keyword(o, "ID") {
                    let v = v.trim_start().strip_prefix('=').unwrap_or(v).trim();
                    out.id = Some(v.replace('-', "").to_ascii_lowercase());
                } else if let Some(v) = strip_keyword(o, "CLUSTERING ORDER BY") {
                    let v = v.trim();
                    let inner = v
                        .strip_prefix('(')
                        .and_then(|p| p.strip_suffix(')'))
                        .unwrap_or(v);
                    for part in split_top(inner, ',') {
                        let mut words = part.split_whitespace();
                        if let (Some(col), Some(dir)) = (words.next(), words.next()) {
                            let col = ident(col);
                            if let Some(c) = out.clustering.iter_mut().find(|c| c.0 == col) {
                                c.1 = dir.to_ascii_uppercase();
                            }
                        }
                    }
                }
            }
        } else if let Some(rest) = strip_keyword(s, "ALTER TABLE") {
            // ALTER TABLE ks.t DROP col USING TIMESTAMP n   (or ADD col type)
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.len() >= 3 && words[1].eq_ignore_ascii_case("DROP") {
                let col = ident(words[2]);
                let ts = words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("TIMESTAMP"))
                    .and_then(|i| words.get(i + 1))
                    .and_then(|n| n.parse::<i64>().ok())
                    .unwrap_or(0);
                out.dropped.push((col, ts));
            }
        } else if strip_keyword(s, "CREATE INDEX").is_some()
            || strip_keyword(s, "CREATE CUSTOM INDEX").is_some()
        {
            let words: Vec<&str> = s.split_whitespace().collect();
            if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("INDEX")) {
                let mut j = i + 1;
                if words.get(j).is_some_and(|w| w.eq_ignore_ascii_case("IF")) {
                    j += 3;
                }
                if let Some(n) = words.get(j)
                    && !n.eq_ignore_ascii_case("ON")
                {
                    out.indexes.push(ident(n));
                }
            }
        }
    }
    if !found_table {
        return Err(SchemaParseError("no CREATE TABLE statement".into()));
    }
    // Dropped columns are declared in the column list too; they are not live columns.
    let dropped: Vec<String> = out.dropped.iter().map(|d| d.0.clone()).collect();
    out.columns.retain(|c| !dropped.contains(&c.name));
    Ok(out)
}

/// Splits a WITH clause at top-level `AND`s.
pub fn split_and(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote = false;
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quote = !quote;
        }
        if !quote {
            match c {
                '(' | '{' | '[' => depth += 1,
                ')' | '}' | ']' => depth -= 1,
                _ => {}
            }
            let rest: String = chars[i..chars.len().min(i + 5)].iter().collect();
            let before_ws = i == 0 || chars[i - 1].is_whitespace();
            if depth == 0
                && before_ws
                && rest.len() >= 4
                && rest[..3].eq_ignore_ascii_case("AND")
                && rest[3..].starts_with(char::is_whitespace)
            {
                out.push(std::mem::take(&mut cur));
                i += 3;
                continue;
            }
        }
        cur.push(c);
        i += 1;
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn live_type(t: &TableSchema, name: &str) -> Option<(String, String)> {
    t.columns
        .iter()
        .find(|c| c.name == name)
        .map(|c| (normalize_type(&c.cql_type), c.kind.clone()))
}

/// Compares a snapshot's schema with the live table of the same name (`None` when it does not
/// exist any more) within the live `schema` (for user types).
pub fn compare(snap: &SnapshotSchema, live: Option<&TableSchema>, schema: &Schema) -> SchemaCheck {
    let name = format!("{}.{}", snap.keyspace, snap.table);
    let mut d: Vec<Difference> = Vec::new();
    let mut push = |severity, message: String, facts: String| {
        d.push(Difference {
            severity,
            message,
            facts,
        })
    };
    let Some(live) = live else {
        push(
            Severity::Incompatible,
            format!(
                "{name} does not exist any more; restore into a side table created from the snapshot's schema."
            ),
            format!("no table {name} in system_schema.tables"),
        );
        return verdict(d);
    };
    if let Some(id) = &snap.id
        && *id != live.dir_id()
    {
        push(
            Severity::Incompatible,
            format!(
                "{name} was dropped and re-created since the snapshot, so its files cannot go back in place; restore into a side table instead."
            ),
            format!("table id {id} in schema.cql, {} live", live.dir_id()),
        );
    }
    let live_pk: Vec<String> = live
        .columns
        .iter()
        .filter(|c| c.kind == "partition_key")
        .map(|c| c.name.clone())
        .collect();
    if live_pk != snap.partition_key {
        push(
            Severity::Incompatible,
            format!("The partition key of {name} changed since the snapshot."),
            format!(
                "PRIMARY KEY partition ({}) in schema.cql, ({}) live",
                snap.partition_key.join(", "),
                live_pk.join(", ")
            ),
        );
    }
    let live_ck: Vec<(String, String)> = live
        .columns
        .iter()
        .filter(|c| c.kind == "clustering")
        .map(|c| (c.name.clone(), c.clustering_order.to_ascii_uppercase()))
        .collect();
    if live_ck != snap.clustering {
        let show = |v: &[(String, String)]| {
            v.iter()
                .map(|(c, o)| format!("{c} {o}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        push(
            Severity::Incompatible,
            format!("The clustering columns or their order in {name} changed since the snapshot."),
            format!(
                "CLUSTERING ({}) in schema.cql, ({}) live",
                show(&snap.clustering),
                show(&live_ck)
            ),
        );
    }
    for c in &snap.columns {
        match live_type(live, &c.name) {
            Some((ty, kind)) => {
                if ty != c.cql_type {
                    push(
                        Severity::Incompatible,
                        format!(
                            "Column {} of {name} changed type from {} to {ty} since the snapshot.",
                            c.name, c.cql_type
                        ),
                        format!(
                            "{} {} in schema.cql, {} {ty} live",
                            c.name, c.cql_type, c.name
                        ),
                    );
                }
                let was_static = c.is_static;
                let is_static = kind == "static";
                if was_static != is_static && kind != "partition_key" && kind != "clustering" {
                    push(
                        Severity::Incompatible,
                        format!(
                            "Column {} of {name} changed between static and regular since the snapshot.",
                            c.name
                        ),
                        format!(
                            "{} {} in schema.cql, {kind} live",
                            c.name,
                            if was_static { "static" } else { "regular" }
                        ),
                    );
                }
            }
            None => {
                let dropped = live.dropped.iter().find(|x| x.name == c.name);
                push(
                    Severity::Warning,
                    format!(
                        "Column {} was dropped from {name} since the snapshot; its old values stay dropped after the restore.",
                        c.name
                    ),
                    match dropped {
                        Some(x) => format!(
                            "{} {} dropped at {} µs (system_schema.dropped_columns)",
                            c.name, c.cql_type, x.dropped_time_us
                        ),
                        None => format!("{} {} in schema.cql, not live", c.name, c.cql_type),
                    },
                );
            }
        }
    }
    for c in &live.columns {
        if c.kind == "partition_key" || c.kind == "clustering" {
            continue;
        }
        if !snap.columns.iter().any(|s| s.name == c.name) {
            let was_dropped = snap.dropped.iter().any(|(n, _)| *n == c.name);
            push(
                Severity::Warning,
                if was_dropped {
                    format!(
                        "Column {} of {name} had been dropped before the snapshot and was added again since; restored rows have no value in it.",
                        c.name
                    )
                } else {
                    format!(
                        "Column {} was added to {name} since the snapshot; it will be null in restored rows.",
                        c.name
                    )
                },
                format!("{} {} live, not in schema.cql", c.name, c.cql_type),
            );
        }
    }
    // User types the snapshot declares must still have the fields, with the same types.
    for (tname, fields) in &snap.types {
        let live_t = schema
            .types
            .iter()
            .find(|t| t.keyspace == snap.keyspace && t.name == *tname);
        match live_t {
            None => push(
                Severity::Incompatible,
                format!(
                    "User type {}.{tname}, used by the snapshot, does not exist any more.",
                    snap.keyspace
                ),
                format!(
                    "CREATE TYPE {}.{tname} in schema.cql, absent live",
                    snap.keyspace
                ),
            ),
            Some(lt) => {
                for (i, (fname, ftype)) in fields.iter().enumerate() {
                    match lt.fields.get(i) {
                        Some((ln, lty)) if ln == fname && normalize_type(lty) == *ftype => {}
                        Some((ln, lty)) => push(
                            Severity::Incompatible,
                            format!(
                                "Field {} of user type {}.{tname} changed since the snapshot.",
                                i + 1,
                                snap.keyspace
                            ),
                            format!(
                                "{fname} {ftype} in schema.cql, {ln} {} live",
                                normalize_type(lty)
                            ),
                        ),
                        None => push(
                            Severity::Incompatible,
                            format!(
                                "User type {}.{tname} lost field {fname} since the snapshot.",
                                snap.keyspace
                            ),
                            format!("{fname} {ftype} in schema.cql, absent live"),
                        ),
                    }
                }
                for (ln, lty) in lt.fields.iter().skip(fields.len()) {
                    push(
                        Severity::Warning,
                        format!(
                            "User type {}.{tname} gained field {ln} since the snapshot; it will be null in restored values.",
                            snap.keyspace
                        ),
                        format!("{ln} {} live, not in schema.cql", normalize_type(lty)),
                    );
                }
            }
        }
    }
    verdict(d)
}

fn verdict(differences: Vec<Difference>) -> SchemaCheck {
    let verdict = match differences.iter().map(|d| d.severity).max() {
        None => Verdict::Compatible,
        Some(Severity::Warning) => Verdict::CompatibleWithWarnings,
        Some(Severity::Incompatible) => Verdict::Incompatible,
    };
    SchemaCheck {
        verdict,
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassandra::cql::{Column, DroppedColumn, UserType};

    const SCHEMA: &str = r#"CREATE TYPE IF NOT EXISTS shop.address (
    street text,
    city text,
    zip text
);

CREATE TABLE IF NOT EXISTS shop.orders (
    customer_id uuid,
    order_time timestamp,
    order_id uuid,
    note text static,
    old_flag boolean,
    ship_to frozen<address>,
    tags map<text, int>,
    total double,
    PRIMARY KEY ((customer_id), order_time, order_id)
) WITH ID = e404cfd0-e859-11f1-927d-4585d0360deb
    AND CLUSTERING ORDER BY (order_time DESC, order_id ASC)
    AND comment = 'it''s AND tricky'
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', 'max_threshold': '32'};
ALTER TABLE shop.orders DROP old_flag USING TIMESTAMP 1764000000000000;
CREATE INDEX IF NOT EXISTS orders_total ON shop.orders (total);
"#;

    fn col(name: &str, kind: &str, position: i32, ty: &str, order: &str) -> Column {
        Column {
            name: name.into(),
            kind: kind.into(),
            position,
            cql_type: ty.into(),
            clustering_order: order.into(),
        }
    }

    fn live() -> (TableSchema, Schema) {
        let t = TableSchema {
            keyspace: "shop".into(),
            table: "orders".into(),
            id: uuid::Uuid::parse_str("e404cfd0-e859-11f1-927d-4585d0360deb").expect("uuid"),
            columns: vec![
                col("customer_id", "partition_key", 0, "uuid", "none"),
                col("order_time", "clustering", 0, "timestamp", "desc"),
                col("order_id", "clustering", 1, "uuid", "asc"),
                col("note", "static", -1, "text", "none"),
                col("ship_to", "regular", -1, "frozen<address>", "none"),
                col("tags", "regular", -1, "map<text, int>", "none"),
                col("total", "regular", -1, "double", "none"),
            ],
            dropped: vec![DroppedColumn {
                name: "old_flag".into(),
                cql_type: "boolean".into(),
                dropped_time_us: 1_764_000_000_000_000,
            }],
            indexes: vec!["orders_total".into()],
        };
        let s = Schema {
            keyspaces: vec!["shop".into()],
            tables: vec![t.clone()],
            types: vec![UserType {
                keyspace: "shop".into(),
                name: "address".into(),
                fields: vec![
                    ("street".into(), "text".into()),
                    ("city".into(), "text".into()),
                    ("zip".into(), "text".into()),
                ],
            }],
        };
        (t, s)
    }

    #[test]
    fn parses_what_cassandra_writes() {
        let s = parse(SCHEMA).expect("parse");
        assert_eq!((s.keyspace.as_str(), s.table.as_str()), ("shop", "orders"));
        assert_eq!(s.id.as_deref(), Some("e404cfd0e85911f1927d4585d0360deb"));
        assert_eq!(s.partition_key, vec!["customer_id"]);
        assert_eq!(
            s.clustering,
            vec![
                ("order_time".into(), "DESC".into()),
                ("order_id".into(), "ASC".into())
            ]
        );
        let names: Vec<&str> = s.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "customer_id",
                "order_time",
                "order_id",
                "note",
                "ship_to",
                "tags",
                "total"
            ],
            "dropped column left out"
        );
        assert!(s.columns.iter().any(|c| c.name == "note" && c.is_static));
        assert_eq!(
            s.columns
                .iter()
                .find(|c| c.name == "tags")
                .map(|c| c.cql_type.as_str()),
            Some("map<text,int>")
        );
        assert_eq!(s.dropped, vec![("old_flag".into(), 1_764_000_000_000_000)]);
        assert_eq!(s.types[0].0, "address");
        assert_eq!(s.indexes, vec!["orders_total"]);
        let inline = parse("CREATE TABLE ks.\"Users\" (\"Id\" int PRIMARY KEY, v text) WITH ID = 00000000-0000-0000-0000-000000000001;").expect("parse");
        assert_eq!(inline.table, "Users");
        assert_eq!(inline.partition_key, vec!["Id"]);
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn the_same_schema_is_compatible() {
        let (t, s) = live();
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(
            check.verdict,
            Verdict::Compatible,
            "{:?}",
            check.differences
        );
    }

    #[test]
    fn an_added_column_is_a_warning_and_a_changed_type_blocks() {
        let (mut t, s) = live();
        t.columns.push(col("coupon", "regular", -1, "text", "none"));
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(check.verdict, Verdict::CompatibleWithWarnings);
        assert!(
            check.differences[0].message.contains("coupon was added"),
            "{:?}",
            check.differences
        );
        if let Some(c) = t.columns.iter_mut().find(|c| c.name == "total") {
            c.cql_type = "text".into();
        }
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(check.verdict, Verdict::Incompatible);
        assert!(check.differences.iter().any(|d| d.message.contains("total")
            && d.message.contains("changed type from double to text")));
    }

    #[test]
    fn a_recreated_table_or_changed_key_blocks_and_a_dropped_column_warns() {
        let (mut t, s) = live();
        t.id = uuid::Uuid::parse_str("11111111-e859-11f1-927d-4585d0360deb").expect("uuid");
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(check.verdict, Verdict::Incompatible);
        assert!(check.differences[0].message.contains("re-created"));
        let (mut t, s) = live();
        t.columns.retain(|c| c.name != "total");
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(check.verdict, Verdict::CompatibleWithWarnings);
        assert!(check.differences[0].message.contains("total was dropped"));
        let (mut t, s) = live();
        if let Some(c) = t.columns.iter_mut().find(|c| c.name == "order_time") {
            c.clustering_order = "asc".into();
        }
        assert_eq!(
            compare(&parse(SCHEMA).expect("parse"), Some(&t), &s).verdict,
            Verdict::Incompatible
        );
        let (_, s) = live();
        let gone = compare(&parse(SCHEMA).expect("parse"), None, &s);
        assert_eq!(gone.verdict, Verdict::Incompatible);
        assert!(gone.differences[0].message.contains("side table"));
    }

    #[test]
    fn user_type_changes_are_found() {
        let (t, mut s) = live();
        s.types[0].fields[2].1 = "int".into();
        s.types[0].fields.push(("country".into(), "text".into()));
        let check = compare(&parse(SCHEMA).expect("parse"), Some(&t), &s);
        assert_eq!(check.verdict, Verdict::Incompatible);
        assert!(
            check
                .differences
                .iter()
                .any(|d| d.severity == Severity::Warning
                    && d.message.contains("gained field country"))
        );
    }
}
