//! Restores in words, the same on every restore page: where a restore goes, and what each
//! step of a plan does (the journal names its steps the same way).

use crate::api::{Plan, Target};
use crate::components::bytes_u64;

/// "in place", "side table in keyspace x" or "side table (each table's own keyspace)".
pub fn target_text(target: Target, side_keyspace: Option<&str>) -> String {
    match (target, side_keyspace) {
        (Target::InPlace, _) => "in place".to_string(),
        (Target::Side, Some(ks)) => format!("side table in keyspace {ks}"),
        (Target::Side, None) => "side table (in each table's own keyspace)".to_string(),
        (Target::FullNode, _) => "whole node (stopped while restoring)".to_string(),
    }
}

/// What one step of the plan does, in a sentence (the journal uses the same names).
pub fn step_text(name: &str, plan: &Plan) -> String {
    let table = |t: &str| {
        plan.tables
            .iter()
            .find(|p| format!("{}.{}", p.keyspace, p.table) == t)
    };
    match name.split_once(' ') {
        None => match name {
            "check" => "Check that the snapshot, the schema and the headroom are still as planned."
                .to_string(),
            "download" => format!(
                "Download the files from store {} next to the staging area, each checked against its SHA-256; nothing on the node is changed yet.",
                plan.source_store.as_deref().unwrap_or("?")
            ),
            "drop_download" => "Remove the downloaded files.".to_string(),
            "safety_snapshot" => match &plan.safety_tag {
                Some(tag) => format!(
                    "Take the safety snapshot {tag} of the live tables, so this restore can be undone."
                ),
                None => "Take a safety snapshot of the live tables, so this restore can be undone."
                    .to_string(),
            },
            "truncate" => {
                "TRUNCATE the live tables, so they hold exactly the snapshot's rows.".to_string()
            }
            "create_tables" => {
                "Create the side tables from the snapshot's schema.cql, with fresh table ids."
                    .to_string()
            }
            "verify" => "Verify: row count, linked files against their Digest.crc32, and a query."
                .to_string(),
            "drain" => {
                "nodetool drain: flush every memtable and stop accepting writes.".to_string()
            }
            "stop" => "Stop the node (its stop command, or the dev-node launcher).".to_string(),
            "clear_commitlog" => match &plan.commitlog_aside {
                Some(dir) => format!(
                    "Move the commit log segments aside to {dir} (kept, not deleted), so writes made after the snapshot are not replayed."
                ),
                None => "Move the commit log segments aside (kept, not deleted).".to_string(),
            },
            "start" => "Start the node (its start command, or the dev-node launcher).".to_string(),
            "wait_cql" => "Wait until the node answers CQL.".to_string(),
            "keep_aside" | "cleanup" => {
                "Keep what was moved aside (never deleted by the restore): shown on Overview until an admin removes it or its keeping time passes."
                    .to_string()
            }
            other => other.to_string(),
        },
        Some(("stage", t)) => match table(t) {
            Some(p) if p.hard_link => format!(
                "Hard-link the snapshot's files of {t} into a staging directory (same filesystem, no bytes copied) and check sizes and Digest.crc32 before anything is changed."
            ),
            Some(p) => format!(
                "Copy the snapshot's files of {t} into a staging directory ({} across filesystems) and check each copy against its source and Digest.crc32 before anything is changed.",
                bytes_u64(p.bytes_to_copy)
            ),
            None => format!("Stage the snapshot's files of {t}."),
        },
        Some(("import", t)) => match table(t) {
            Some(p) => format!(
                "nodetool import into {}.{} from the staging directory (never from the snapshot itself).",
                p.target_keyspace, p.target_table
            ),
            None => format!("nodetool import {t} from the staging directory."),
        },
        Some(("cleanup", t)) => format!("Remove the staging directory of {t}."),
        Some(("move_aside", t)) => match table(t).and_then(|p| p.aside_dir.as_deref()) {
            Some(dir) => format!(
                "Move the live SSTables of {t} aside to {dir} (kept, not deleted)."
            ),
            None => format!("Move the live SSTables of {t} aside (kept, not deleted)."),
        },
        Some(("link", t)) => match table(t) {
            Some(p) if p.hard_link => format!(
                "Hard-link the snapshot's files of {t} into the table directory (no bytes copied)."
            ),
            Some(p) => format!(
                "Copy the snapshot's files of {t} into the table directory ({} across filesystems).",
                bytes_u64(p.bytes_to_copy)
            ),
            None => format!("Link the snapshot's files of {t} into the table directory."),
        },
        Some(_) => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_as_words() {
        assert_eq!(target_text(Target::InPlace, Some("x")), "in place");
        assert_eq!(
            target_text(Target::Side, Some("scratch")),
            "side table in keyspace scratch"
        );
        assert_eq!(
            target_text(Target::Side, None),
            "side table (in each table's own keyspace)"
        );
    }
}
