//! Restores: the schema check, the plan, approval and the journaled execution (issue #7).

pub mod schema;
