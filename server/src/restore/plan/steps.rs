//! The steps of a plan, in order: nothing destructive before the data to put back is safe
//! (every table staged and its staged files checked against the snapshot before TRUNCATE; a
//! restore from a store downloads and checks every file before anything else).

use super::{RestoreInput, TablePlan, Target};
use crate::restore::step::Step;

/// The steps of a restore of `tables` with these options.
pub fn steps(
    input: &RestoreInput,
    tables: &[TablePlan],
    commitlog: bool,
    rebuild: bool,
) -> Vec<Step> {
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{}.{}", t.keyspace, t.table))
        .collect();
    let each = |f: fn(String) -> Step| names.iter().cloned().map(f).collect::<Vec<_>>();
    let mut steps = vec![Step::Check];
    let from_store = tables.iter().any(|t| t.download_bytes > 0);
    if from_store {
        steps.push(Step::Download);
    }
    match input.target {
        Target::InPlace => {
            steps.push(Step::SafetySnapshot);
            steps.extend(each(Step::Stage));
            if input.truncate {
                steps.push(Step::Truncate);
            }
        }
        Target::Side => {
            steps.push(Step::CreateTables);
            steps.extend(each(Step::Stage));
        }
        Target::FullNode if rebuild => {
            // Nothing live to save or set aside: the node is down and holds no data.
            steps.push(Step::Stop);
            if commitlog {
                steps.push(Step::ClearCommitlog);
            }
            steps.extend(each(Step::Link));
            steps.extend([Step::Start, Step::WaitCql, Step::Verify, Step::KeepAside]);
            steps.push(Step::DropDownload);
            return steps;
        }
        Target::FullNode => {
            steps.extend([Step::SafetySnapshot, Step::Drain, Step::Stop]);
            steps.extend(each(Step::MoveAside));
            steps.push(Step::ClearCommitlog);
            steps.extend(each(Step::Link));
            steps.extend([Step::Start, Step::WaitCql, Step::Verify, Step::KeepAside]);
            if from_store {
                steps.push(Step::DropDownload);
            }
            return steps;
        }
    }
    for name in &names {
        steps.push(Step::Import(name.clone()));
        steps.push(Step::Cleanup(name.clone()));
    }
    steps.push(Step::Verify);
    if from_store {
        steps.push(Step::DropDownload);
    }
    steps
}
