//! What can go wrong in a load run, sorted by what the caller should tell the operator: the
//! exit codes are those of every `sluice` client command.
use std::io;

/// Exit code: the broker refused, or the run failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage (an option the run cannot work with).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the broker could not be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The options cannot be run as given.
    #[error("{0}")]
    Usage(String),
    /// No connection could be made to the broker.
    #[error("cannot reach {address}: {source}")]
    Unreachable {
        /// The address tried.
        address: String,
        /// What the connect said.
        source: io::Error,
    },
    /// Connected, then refused by the broker or failed on the way.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl LoadError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            LoadError::Usage(_) => EXIT_USAGE,
            LoadError::Unreachable { .. } => EXIT_UNREACHABLE,
            LoadError::Failed(_) => EXIT_FAILED,
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> LoadError {
        LoadError::Usage(message.into())
    }
}

/// What a load run returns.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_documented_exit_code() {
        assert_eq!(LoadError::usage("x").exit_code(), 2);
        let unreachable = LoadError::Unreachable {
            address: "127.0.0.1:1".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(unreachable.exit_code(), 3);
        assert_eq!(LoadError::from(anyhow::anyhow!("no")).exit_code(), 1);
    }
}
