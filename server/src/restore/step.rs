//! The steps of a restore, typed. A plan lists its steps as text (`stage shop.orders`), which
//! is what the journal stores and the API shows; [`Step::parse`] reads that text once, and the
//! runner dispatches on the enum. Adding a step is one variant, its name here, and the function
//! that performs it.

use std::fmt;

/// One step of a restore; steps on one table carry its `keyspace.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Re-plans and compares with the approved plan (and replays a down node's commit log).
    Check,
    /// Downloads the files of a restore from a store and checks each against its hash.
    Download,
    /// Removes what `download` wrote, once the restore is done.
    DropDownload,
    /// Takes the restore's own safety snapshot of the target tables.
    SafetySnapshot,
    /// CQL `TRUNCATE` of every target table (in place, when asked).
    Truncate,
    /// Creates the side tables from the snapshot's schema.
    CreateTables,
    /// Links or copies a table's snapshot files into staging and checks them.
    Stage(String),
    /// `nodetool import` of a table's staging directory.
    Import(String),
    /// Removes a table's staging directory.
    Cleanup(String),
    /// `nodetool drain` before a full-node restore stops the node.
    Drain,
    /// Stops the node.
    Stop,
    /// Moves a table's live SSTables aside (node down).
    MoveAside(String),
    /// Moves the commit log segments aside (node down).
    ClearCommitlog,
    /// Links the snapshot's files into a table's live directory (node down).
    Link(String),
    /// Starts the node.
    Start,
    /// Waits until the node answers CQL and every restored table answers a query.
    WaitCql,
    /// Checks rows, files and digests.
    Verify,
    /// Records what a full-node restore set aside, to be kept.
    KeepAside,
}

/// A step name the runner does not know (a plan from a newer Snapkeep, or a damaged one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown restore step `{0}`")]
pub struct UnknownStep(pub String);

/// Why a step did not complete; the journal stores its sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    /// The step names a table that is not in the plan (a damaged plan).
    #[error("step `{step}` names no table of the plan")]
    NoSuchTable { step: String },
    /// The step is not one of a restore of this target (a damaged plan).
    #[error("step `{step}` is not a step of a {target} restore")]
    WrongTarget { step: String, target: &'static str },
    /// The node, CQL or the files refused or failed; the sentence says what happened, what
    /// state things are left in, and what to do.
    #[error("{0}")]
    Failed(String),
}

impl From<String> for StepError {
    fn from(sentence: String) -> Self {
        StepError::Failed(sentence)
    }
}

impl Step {
    /// Reads a step as the plan and the journal write it.
    pub fn parse(text: &str) -> Result<Self, UnknownStep> {
        let (name, table) = match text.split_once(' ') {
            Some((n, t)) if !t.is_empty() => (n, Some(t.to_string())),
            Some(_) => return Err(UnknownStep(text.to_string())),
            None => (text, None),
        };
        let step = match (name, table) {
            ("check", None) => Step::Check,
            ("download", None) => Step::Download,
            ("drop_download", None) => Step::DropDownload,
            ("safety_snapshot", None) => Step::SafetySnapshot,
            ("truncate", None) => Step::Truncate,
            ("create_tables", None) => Step::CreateTables,
            ("stage", Some(t)) => Step::Stage(t),
            ("import", Some(t)) => Step::Import(t),
            ("cleanup", Some(t)) => Step::Cleanup(t),
            ("drain", None) => Step::Drain,
            ("stop", None) => Step::Stop,
            ("move_aside", Some(t)) => Step::MoveAside(t),
            ("clear_commitlog", None) => Step::ClearCommitlog,
            ("link", Some(t)) => Step::Link(t),
            ("start", None) => Step::Start,
            ("wait_cql", None) => Step::WaitCql,
            ("verify", None) => Step::Verify,
            ("keep_aside", None) => Step::KeepAside,
            _ => return Err(UnknownStep(text.to_string())),
        };
        Ok(step)
    }

    /// The step's name without its table (`stage`), as the crash hook and messages use it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Check => "check",
            Step::Download => "download",
            Step::DropDownload => "drop_download",
            Step::SafetySnapshot => "safety_snapshot",
            Step::Truncate => "truncate",
            Step::CreateTables => "create_tables",
            Step::Stage(_) => "stage",
            Step::Import(_) => "import",
            Step::Cleanup(_) => "cleanup",
            Step::Drain => "drain",
            Step::Stop => "stop",
            Step::MoveAside(_) => "move_aside",
            Step::ClearCommitlog => "clear_commitlog",
            Step::Link(_) => "link",
            Step::Start => "start",
            Step::WaitCql => "wait_cql",
            Step::Verify => "verify",
            Step::KeepAside => "keep_aside",
        }
    }

    /// Whether the live data has changed once this step ran: from then on, finishing the
    /// restore is the safe choice.
    pub fn changes_live_data(&self) -> bool {
        matches!(
            self,
            Step::Truncate
                | Step::Import(_)
                | Step::Drain
                | Step::Stop
                | Step::MoveAside(_)
                | Step::ClearCommitlog
                | Step::Link(_)
                | Step::Start
        )
    }

    /// The `keyspace.table` the step works on, if it works on one table.
    pub fn table(&self) -> Option<&str> {
        match self {
            Step::Stage(t)
            | Step::Import(t)
            | Step::Cleanup(t)
            | Step::MoveAside(t)
            | Step::Link(t) => Some(t),
            _ => None,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.table() {
            Some(t) => write!(f, "{} {t}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_reads_back_as_it_is_written() {
        let all = [
            Step::Check,
            Step::Download,
            Step::SafetySnapshot,
            Step::Truncate,
            Step::CreateTables,
            Step::Stage("shop.orders".into()),
            Step::Import("shop.orders".into()),
            Step::Cleanup("shop.orders".into()),
            Step::Drain,
            Step::Stop,
            Step::MoveAside("shop.orders".into()),
            Step::ClearCommitlog,
            Step::Link("shop.orders".into()),
            Step::Start,
            Step::WaitCql,
            Step::Verify,
            Step::KeepAside,
            Step::DropDownload,
        ];
        for step in all {
            assert_eq!(Step::parse(&step.to_string()), Ok(step.clone()), "{step}");
        }
    }

    #[test]
    fn unknown_steps_and_missing_or_extra_tables_are_refused() {
        for text in [
            "",
            "stage",
            "stage ",
            "check shop.t",
            "download shop.t",
            "STAGE a.b",
        ] {
            assert_eq!(
                Step::parse(text),
                Err(UnknownStep(text.to_string())),
                "{text:?}"
            );
        }
    }
}
