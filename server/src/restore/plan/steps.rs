//! The steps of a plan, in order: nothing destructive before the data to put back is safe
//! (every table staged and its staged files checked against the snapshot before TRUNCATE).

use super::{RestoreInput, TablePlan, Target};
use crate::restore::step::Step;

/// The steps of a restore of `tables` with these options.
pub fn steps(input: &RestoreInput, tables: &[TablePlan]) -> Vec<Step> {
    let names: Vec<String> = tables
        .iter()
        .map(|t| format!("{}.{}", t.keyspace, t.table))
        .collect();
    let each = |f: fn(String) -> Step| names.iter().cloned().map(f).collect::<Vec<_>>();
    let mut steps = vec![Step::Check];
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
        Target::FullNode => {
            steps.extend([Step::SafetySnapshot, Step::Drain, Step::Stop]);
            steps.extend(each(Step::MoveAside));
            steps.push(Step::ClearCommitlog);
            steps.extend(each(Step::Link));
            steps.extend([Step::Start, Step::WaitCql, Step::Verify, Step::KeepAside]);
            return steps;
        }
    }
    for name in &names {
        steps.push(Step::Import(name.clone()));
        steps.push(Step::Cleanup(name.clone()));
    }
    steps.push(Step::Verify);
    steps
}
