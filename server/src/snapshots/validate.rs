//! Checks of what users send (tags, TTLs, table names), the reserved tags Snapkeep takes
//! itself, and what kind of snapshot a tag says it is.

use app::api::format_utc;

use super::SnapshotError;

pub use app::names::{MANUAL_PREFIX, MAX_TAG_LEN, PRE_RESTORE_PREFIX, SCHEDULED_PREFIX};

/// A tag must be 1–100 characters of `[A-Za-z0-9_.-]`, not `.` or `..`, and not start with
/// `-` (tags are nodetool arguments: `-t -h` would be read as an option).
pub fn tag(tag: &str) -> Result<(), SnapshotError> {
    if tag.starts_with('-') {
        return Err(SnapshotError::bad(
            "tag",
            format!(
                "tag `{}` is not allowed: a tag must not start with `-` (nodetool would read it as an option); use 1 to {MAX_TAG_LEN} characters from [A-Za-z0-9_.-]",
                tag.chars().take(120).collect::<String>()
            ),
        ));
    }
    if !app::names::is_tag(tag) {
        return Err(SnapshotError::bad(
            "tag",
            format!(
                "tag `{}` is not allowed: use 1 to {MAX_TAG_LEN} characters from [A-Za-z0-9_.-]",
                tag.chars().take(120).collect::<String>()
            ),
        ));
    }
    Ok(())
}

/// A snapshot TTL: a whole number and a unit, `d`, `h`, `m` or `s` (`3d`, `12h`, `90m`), from
/// one minute to ten years. Returns the TTL in seconds.
pub fn ttl(ttl: &str) -> Result<u64, SnapshotError> {
    let bad = |why: &str| {
        SnapshotError::bad(
            "ttl",
            format!(
                "TTL `{ttl}` {why}; write a number and a unit d, h, m or s, e.g. 3d or 12h (at least 1m)"
            ),
        )
    };
    let t = ttl.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| bad("has no number"))?;
    let secs = match unit {
        "d" => n.checked_mul(86_400),
        "h" => n.checked_mul(3_600),
        "m" => n.checked_mul(60),
        "s" => Some(n),
        _ => return Err(bad("has no valid unit")),
    }
    .ok_or_else(|| bad("is too long"))?;
    if secs < 60 {
        return Err(bad("is shorter than one minute"));
    }
    if secs > 3650 * 86_400 {
        return Err(bad("is longer than ten years"));
    }
    Ok(secs)
}

/// Splits `keyspace.table`.
pub fn table_name(name: &str) -> Result<(String, String), SnapshotError> {
    let ident = app::names::is_cql_name;
    match name.split_once('.') {
        Some((ks, t)) if ident(ks) && ident(t) => Ok((ks.to_string(), t.to_string())),
        _ => Err(SnapshotError::bad(
            "tables",
            format!("`{name}` is not a table name: write keyspace.table"),
        )),
    }
}

/// A keyspace name.
pub fn keyspace_name(name: &str) -> Result<(), SnapshotError> {
    if app::names::is_cql_name(name) {
        Ok(())
    } else {
        Err(SnapshotError::bad(
            "keyspaces",
            format!("`{name}` is not a keyspace name"),
        ))
    }
}

/// Refuses tags that only Snapkeep itself may take (a user who took a `snapkeep-pre-restore-…`
/// snapshot in advance could make a restore's safety snapshot "already there").
pub fn not_reserved(tag: &str) -> Result<(), SnapshotError> {
    for prefix in [PRE_RESTORE_PREFIX, SCHEDULED_PREFIX] {
        if tag.starts_with(prefix) {
            return Err(SnapshotError::bad(
                "tag",
                format!(
                    "tags starting with `{prefix}` are reserved for the snapshots Snapkeep takes itself; choose another tag"
                ),
            ));
        }
    }
    Ok(())
}

/// What a tag alone says about a snapshot nobody told Snapkeep about: its kind, when the
/// tag records the time (TRUNCATE's and DROP's `truncated-<ms>-<table>`,
/// `dropped-<ms>-<table>`), and a sentence for automatic ones.
pub fn classify(tag: &str, keyspace: Option<&str>) -> (&'static str, Option<i64>, Option<String>) {
    for (prefix, kind, verb) in [
        ("truncated-", "truncated", "truncated"),
        ("dropped-", "dropped", "dropped"),
    ] {
        if let Some(rest) = tag.strip_prefix(prefix)
            && let Some((ms, table)) = rest.split_once('-')
            && !ms.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
            && let Ok(ms) = ms.parse::<i64>()
        {
            let name = match keyspace {
                Some(ks) => format!("{ks}.{table}"),
                None => table.to_string(),
            };
            let undo = if kind == "truncated" {
                "this snapshot can undo it"
            } else {
                "this snapshot holds its data"
            };
            return (
                kind,
                Some(ms),
                Some(format!("{name} was {verb} at {}; {undo}.", format_utc(ms))),
            );
        }
    }
    if tag.starts_with(PRE_RESTORE_PREFIX) {
        ("pre-restore", None, None)
    } else if tag.starts_with(SCHEDULED_PREFIX) {
        ("scheduled", None, None)
    } else if tag.starts_with(MANUAL_PREFIX) {
        ("manual", None, None)
    } else {
        ("external", None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_of_snapshots_snapkeep_takes_itself_are_reserved() {
        for reserved in ["snapkeep-pre-restore-20260101", "snapkeep-sched-nightly"] {
            let err = not_reserved(reserved).expect_err(reserved).to_string();
            assert!(err.contains("reserved"), "{err}");
        }
        for free in ["nightly", "snapkeep-manual", "pre-restore-x"] {
            assert!(not_reserved(free).is_ok(), "{free}");
        }
    }

    #[test]
    fn tags_follow_the_allowed_set() {
        for ok in [
            "nightly",
            "snapkeep-20261124T200840Z",
            "a.b_c-1",
            &"x".repeat(100),
        ] {
            assert!(tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "bad tag!", "a/b", "..", "é", &"x".repeat(101)] {
            let err = tag(bad).expect_err(bad).to_string();
            assert!(err.contains("[A-Za-z0-9_.-]"), "{err}");
        }
    }

    #[test]
    fn tags_that_look_like_nodetool_options_are_refused() {
        for bad in ["-h", "--help", "-t", "-nightly"] {
            let err = tag(bad).expect_err(bad).to_string();
            assert!(err.contains("must not start with `-`"), "{err}");
        }
        assert!(tag("nightly-1").is_ok());
    }

    #[test]
    fn ttls_need_a_number_and_a_unit() {
        assert_eq!(ttl("3d").ok(), Some(259_200));
        assert_eq!(ttl("12h").ok(), Some(43_200));
        assert_eq!(ttl("90m").ok(), Some(5_400));
        assert_eq!(ttl("60s").ok(), Some(60));
        for bad in [
            "",
            "3",
            "d",
            "3w",
            "30s",
            "-1d",
            "1.5d",
            "99999999999999999999d",
            "4000d",
        ] {
            let err = ttl(bad).expect_err(bad);
            assert!(
                matches!(err, SnapshotError::BadRequest { field: "ttl", .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn table_names_are_keyspace_dot_table() {
        assert_eq!(
            table_name("shop.orders").ok(),
            Some(("shop".into(), "orders".into()))
        );
        for bad in ["shop", "shop.", ".orders", "shop.or-ders", "a.b.c"] {
            assert!(table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn automatic_snapshots_are_recognised_by_their_tags() {
        let (kind, at, note) = classify("truncated-1795550920176-user_profiles", Some("app"));
        assert_eq!((kind, at), ("truncated", Some(1_795_550_920_176)));
        let note = note.expect("note");
        assert!(
            note.contains("app.user_profiles was truncated at 2026-11-24 20:08:40 UTC"),
            "{note}"
        );
        assert!(note.contains("can undo it"));
        assert_eq!(classify("dropped-1795550920176-orders", None).0, "dropped");
        assert_eq!(classify("truncated-abc-orders", None).0, "external");
        assert_eq!(classify("snapkeep-pre-restore-1", None).0, "pre-restore");
        assert_eq!(classify("snapkeep-sched-nightly-1", None).0, "scheduled");
        assert_eq!(classify("snapkeep-20261124T200840Z", None).0, "manual");
        assert_eq!(classify("nightly", None).0, "external");
    }
}
