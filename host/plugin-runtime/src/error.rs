//! Errors at the plugin boundary. Loading and calling fail differently, and a plugin that
//! *returned* an error is never confused with a plugin that *failed* (trapped).
use std::path::PathBuf;

/// Why a plugin could not be loaded. Nothing is changed when loading fails: a running broker
/// keeps the version it had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The plugin file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component for this engine.
    #[error("plugin {name} is not a valid WebAssembly component: {detail}")]
    Invalid {
        /// The plugin's label (file name or built-in name).
        name: String,
        /// What the compiler said.
        detail: String,
    },
    /// The component is valid but does not implement the world the host expects.
    #[error("plugin {name} does not implement {expected}: {detail}")]
    WorldMismatch {
        /// The plugin's label.
        name: String,
        /// The world the host expected, e.g. `sluice:plugin/codec@0.5.0`.
        expected: &'static str,
        /// What is missing or mistyped.
        detail: String,
    },
    /// The first instance failed while starting up (trap in its initialisation or `info`).
    #[error("plugin {name} failed to start: {detail}")]
    Start {
        /// The plugin's label.
        name: String,
        /// What happened.
        detail: String,
    },
    /// The engine could not be created.
    #[error("plugin engine: {0}")]
    Engine(String),
}

/// Why an instance was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCause {
    /// A call ran past the call deadline and was interrupted.
    Deadline,
    /// The instance tried to grow its memory beyond the cap.
    Memory,
    /// Any other trap: `unreachable` (a Rust panic), an out-of-bounds access, a host import
    /// that trapped ...
    Trap,
}

impl std::fmt::Display for FailureCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureCause::Deadline => "deadline",
            FailureCause::Memory => "memory",
            FailureCause::Trap => "trap",
        })
    }
}

/// Why a call on a session did not produce output. Each one means the session's connection
/// must close; only [`CallError::Failed`] and [`CallError::InstanceGone`] also mean other
/// connections on the same instance are closing.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The codec returned `codec-error`: this connection's input was refused. The instance is
    /// healthy.
    #[error("codec refused input: {0}")]
    Refused(String),
    /// This call made the instance fail; it has been discarded.
    #[error("plugin instance failed ({cause}): {detail}")]
    Failed {
        /// What kind of failure.
        cause: FailureCause,
        /// The trap message.
        detail: String,
    },
    /// The instance had already been discarded because of a call on another session.
    #[error("plugin instance was discarded")]
    InstanceGone,
}
