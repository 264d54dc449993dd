//! Names Cassandra and Snapkeep give a meaning to, one rule each, used by the server and the
//! pages alike: which keyspaces are Cassandra's own, what a snapshot tag and a CQL name may
//! hold, and the tag prefixes Snapkeep keeps for the snapshots it takes itself.

/// Keyspaces that hold a node's own state and schema (Cassandra 5.0's reserved names).
pub const SYSTEM_KEYSPACES: &[&str] = &[
    "system",
    "system_schema",
    "system_auth",
    "system_distributed",
    "system_traces",
    "system_views",
    "system_virtual_schema",
    "system_cluster_metadata",
];

/// Whether `keyspace` is one of Cassandra's own: never row-counted, not offered in forms,
/// left alone by a full-node restore. A user keyspace may still be called `system_x`.
pub fn is_system_keyspace(keyspace: &str) -> bool {
    SYSTEM_KEYSPACES.contains(&keyspace)
}

/// Longest snapshot tag accepted.
pub const MAX_TAG_LEN: usize = 100;

/// Whether `tag` is 1–[`MAX_TAG_LEN`] characters of `[A-Za-z0-9_.-]` and not `.` or `..`.
/// (A tag that starts with `-` passes this and is refused on its own: nodetool would read it
/// as an option.)
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && tag != "."
        && tag != ".."
}

/// Whether `name` is an unquoted CQL keyspace or table name: 1–222 of `[A-Za-z0-9_]`.
pub fn is_cql_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 222
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Tag prefix of the snapshots Snapkeep's schedules take.
pub const SCHEDULED_PREFIX: &str = "snapkeep-sched-";
/// Tag prefix of the safety snapshot a restore takes before it changes anything.
pub const PRE_RESTORE_PREFIX: &str = "snapkeep-pre-restore-";
/// Tag prefix of the snapshots taken in Snapkeep without a tag of the user's.
pub const MANUAL_PREFIX: &str = "snapkeep-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_keyspaces_are_cassandras_own_names_only() {
        for ks in ["system", "system_schema", "system_auth", "system_views"] {
            assert!(is_system_keyspace(ks), "{ks}");
        }
        for ks in ["shop", "systemic", "system_x", "my_system"] {
            assert!(!is_system_keyspace(ks), "{ks}");
        }
    }

    #[test]
    fn tags_and_cql_names_follow_their_sets() {
        assert!(is_tag("nightly-1.a_b") && is_tag(&"x".repeat(MAX_TAG_LEN)));
        for bad in ["", ".", "..", "a/b", "é", &"x".repeat(MAX_TAG_LEN + 1)] {
            assert!(!is_tag(bad), "{bad:?}");
        }
        assert!(is_cql_name("orders_2024") && !is_cql_name("a-b") && !is_cql_name(""));
    }
}
