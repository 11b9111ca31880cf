//! The one error type of the address model. The broker maps each variant onto the WIT
//! `broker-error` of the same name; the messages are written to be shown to a client.

use sluice_storage::StorageError;

/// Why a call on the address model failed.
#[derive(thiserror::Error, Debug)]
pub enum QueuesError {
    /// The address (or the queue of an `address::queue`) does not exist, and the address
    /// settings do not allow creating it.
    #[error("address `{0}` does not exist and may not be created")]
    UnknownAddress(String),
    /// Not a valid address or queue name.
    #[error("invalid address: {0}")]
    InvalidAddress(String),
    /// The address exists without the routing type asked for and may not gain it, or a
    /// queue was named whose routing type does not fit the call.
    #[error("invalid routing: {0}")]
    InvalidRouting(String),
    /// A limit refused the call: a queue's `max-consumers`, consumers per connection, queues
    /// in total.
    #[error("resource limit reached: {0}")]
    ResourceLimit(String),
    /// No open consumer of that id belongs to the connection.
    #[error("unknown consumer {0}")]
    UnknownConsumer(u64),
    /// A policy plugin (router, filter, selector) holds messages while it restarts, or is
    /// misconfigured: nothing was done (nothing stored, no consumer opened); try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A consumer's selector the selector filter refuses (it does not parse).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A management call would create what exists already (an address, or a queue on its
    /// address).
    #[error("{0} exists")]
    Exists(String),
    /// A management call names an address or queue that does not exist (the message says
    /// which).
    #[error("{0}")]
    NotFound(String),
    /// A management call would delete what is in use (an address with queues, a queue with
    /// consumers, where dead letters or expired messages go); the message says how to force it.
    #[error("in use: {0}")]
    InUse(String),
    /// A bare queue name that names queues on several addresses: `address::queue` says which.
    #[error("{0}")]
    Ambiguous(String),
    /// Storage failed (disk, a full queue cursor, a message too large for the log).
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
}

/// An I/O failure on one of this crate's own files, as storage reports its own.
pub(crate) fn io_error(
    action: &str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> QueuesError {
    let context = format!("{action} {}", path.display());
    move |source| QueuesError::Storage(StorageError::Io { context, source })
}

/// A router's or filter's failure to answer, as the send or receive it stops reports it: held
/// (nothing was done). A misconfiguration holds messages too, so it never loses them.
pub(crate) fn unavailable(what: &str, e: crate::policy::PolicyError) -> QueuesError {
    QueuesError::Unavailable(format!("{what}: {e}"))
}
