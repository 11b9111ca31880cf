//! Errors at the plugin boundary. Loading and calling fail differently, and a plugin that
//! *returned* an error is never confused with a plugin that *failed* (trapped).
use std::path::PathBuf;
use std::time::Duration;

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

impl FailureCause {
    /// What made a call fail: an interrupt is the deadline; any other trap after the memory
    /// limiter refused a growth is the memory cap (a Rust guest aborts when an allocation
    /// fails); anything else is a trap.
    pub(crate) fn of(error: &wasmtime::Error, memory_refused: bool) -> Self {
        match error.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => FailureCause::Deadline,
            _ if memory_refused => FailureCause::Memory,
            _ => FailureCause::Trap,
        }
    }
}

/// A failure's message on one line: a trap's carries a multi-line Wasm backtrace.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" | ")
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

/// Why a call into a plugin did not produce an answer.
///
/// For a codec session each one means the session's connection must close; only
/// [`CallError::Failed`] and [`CallError::InstanceGone`] also mean other connections on the
/// same instance are closing. For a router or filter, the batch did not get its answer; what
/// becomes of it (held, or passed through) is the broker's decision.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error (a codec's `codec-error`, a router's or filter's `err`), or
    /// an answer the host refused (a list of the wrong length, an index out of range). The
    /// instance is healthy and stays.
    #[error("plugin returned an error: {0}")]
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
    /// A router or filter failed recently and is restarting: it is backing off and no call was
    /// made. Calls run again once `retry_in` has passed.
    #[error("plugin {plugin} is restarting after a failure (retry in {} ms)", retry_in.as_millis())]
    Unavailable {
        /// The plugin's name, as it reports it.
        plugin: String,
        /// How long until calls run again.
        retry_in: Duration,
    },
}
