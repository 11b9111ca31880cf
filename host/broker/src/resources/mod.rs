//! Declarative resources: a TOML file listing topics, addresses, queues, address settings,
//! users and plugins, applied at start and again whenever it changes, as Strimzi's operator
//! reconciles `KafkaTopic` and `KafkaUser` resources and `kubectl apply` applies manifests.
//!
//! Flow: `spec` reads and checks the file; `apply` observes the broker through a
//! [`ResourceTarget`] (`target`; the broker's is `broker_target`), `plan`s the steps (a
//! three-way diff with the last-applied `record`), runs them and reports each change
//! (`diff`); `manager` keeps the record and the last report and serialises applies; `watch`
//! polls the file. The admin API (`POST /api/resources/apply`, `GET /api/resources`) and
//! `sluice resources` are its other callers.
//!
//! **Invariant:** an apply never touches what the file never declared; what it deletes is
//! only what the record says the file applied.
mod apply;
pub mod broker_target;
pub mod diff;
mod manager;
pub mod plan;
pub mod record;
pub mod settings;
pub mod spec;
pub mod target;
mod watch;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use serde::Deserialize;

pub use apply::{Outcome, apply};
pub use broker_target::BrokerTarget;
pub use diff::{Action, Change, Kind, Report, Summary};
pub use manager::{ApplyError, Input, Origin, Resources, Status, open};
pub use record::Record;
pub use spec::{RESOURCES_FILE_BYTES_MAX, ResourceFile, parse};
pub use target::{ResourceTarget, TargetError};
pub use watch::watch;

/// How often the file is checked for changes by default: Kubernetes operators react within
/// seconds; a `stat` every 2 s costs nothing.
pub const POLL_MS_DEFAULT: u64 = 2000;

/// The `[resources]` table.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ResourcesConfig {
    /// The resources file, applied at start and whenever it changes (`--resources`).
    pub file: Option<PathBuf>,
    /// How often the file's modification time is checked, in milliseconds.
    pub poll_ms: u64,
}

impl Default for ResourcesConfig {
    fn default() -> Self {
        ResourcesConfig {
            file: None,
            poll_ms: POLL_MS_DEFAULT,
        }
    }
}
