//! Off-node backups: stores reached through `object_store` ([`store`]), client-side
//! encryption ([`crypto`]), the self-describing manifests ([`manifest`]), and the jobs that
//! copy snapshots, ship incremental backups, verify and reindex ([`service`]), with their
//! `/api/v1` routes ([`routes`]).

pub mod crypto;
pub mod manifest;
pub mod routes;
pub mod service;
pub mod store;

pub use service::{BackupService, BackupsConfig};
pub use store::{Store, StoreConfig, StoreError, StoreKind};
