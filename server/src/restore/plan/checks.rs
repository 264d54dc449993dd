//! What blocks a plan besides headroom: a schema that changed incompatibly, and for an
//! in-place restore, the other replicas of the keyspace.

use super::{PlanContext, RestoreInput, TablePlan, Target, Verdict};

/// The plan's schema verdict (the worst of its tables); an incompatible one blocks in-place
/// and full-node restores, with a sentence in `blocked`.
pub fn verdict(input: &RestoreInput, tables: &[TablePlan], blocked: &mut Vec<String>) -> Verdict {
    let full_node = input.target == Target::FullNode;
    let verdict = tables
        .iter()
        .map(|t| t.schema_check.verdict)
        .max_by_key(|v| match v {
            Verdict::Compatible => 0,
            Verdict::CompatibleWithWarnings => 1,
            Verdict::Incompatible => 2,
        })
        .unwrap_or(Verdict::Compatible);
    if input.target == Target::InPlace && verdict == Verdict::Incompatible {
        blocked.push(
            "The schema changed incompatibly since the snapshot: an in-place restore is blocked. Restore into a side table instead (target `side`)."
                .to_string(),
        );
    }
    if full_node && verdict == Verdict::Incompatible {
        let names: Vec<String> = tables
            .iter()
            .filter(|t| t.schema_check.verdict == Verdict::Incompatible)
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        blocked.push(format!(
            "The schema of {} changed incompatibly since the snapshot: a full-node restore needs every table's schema to match. Restore those tables into side tables (target `side`), or leave them out with `tables`.",
            names.join(", ")
        ));
    }
    verdict
}

/// What the other replicas mean for an in-place restore of one node: TRUNCATE removes rows on
/// every node while only this node's snapshot is put back, so it is blocked unless this node
/// is the only one holding rows of the keyspace; without TRUNCATE the plan says what the other
/// replicas and repair will do.
pub fn replicas(
    ctx: &PlanContext<'_>,
    input: &RestoreInput,
    tables: &[TablePlan],
    blocked: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let node = &ctx.node.name;
    let mut keyspaces: Vec<&str> = tables.iter().map(|t| t.keyspace.as_str()).collect();
    keyspaces.dedup();
    for ks in keyspaces {
        let names: Vec<String> = tables
            .iter()
            .filter(|t| t.keyspace == ks)
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        let names = names.join(", ");
        match ctx.topology.and_then(|t| t.data_nodes(ks)) {
            Some(n) if n <= 1 => {}
            Some(n) if input.truncate => blocked.push(format!(
                "TRUNCATE removes the rows of {names} on every node, but this restore puts back the snapshot of node {node} only: {n} nodes hold rows of keyspace {ks}, so the rows only the other nodes have would be lost. Restore without truncate, or restore every node that holds {ks} from the same tag in one request."
            )),
            Some(n) => notes.push(format!(
                "Only node {node}'s copy of {names} is put back; {} other node(s) hold rows of keyspace {ks} and keep theirs. Reads and repair reconcile by write time, so rows written or deleted after the snapshot keep their newer state: this restore brings back rows that are missing, it does not roll the table back. Run `nodetool repair {ks}` afterwards so the replicas agree.",
                n - 1
            )),
            None if input.truncate => blocked.push(format!(
                "Cannot tell how many nodes hold rows of keyspace {ks} (the cluster's topology could not be read from node {node}); TRUNCATE removes rows on every node, so a restore with truncate is blocked until it can be read."
            )),
            None => notes.push(format!(
                "The cluster's topology could not be read from node {node}: if other nodes hold rows of keyspace {ks}, they keep theirs."
            )),
        }
    }
}
