//! Networking: listeners accept sockets, one task per connection moves bytes between the socket
//! and the connection's codec session, and arms the waits the codec asks for.
//!
//! Architecture invariant: the network layer knows no protocol. It never parses a byte; it
//! hands bytes to a session and writes what the session returns, in order.
pub mod connection;
pub mod listener;
pub mod session;
pub mod stats;
pub mod waits;

/// Bytes read from a socket per call into the codec. Bounds the host's read buffer per active
/// connection (an idle connection holds none); large enough that a typical 1 MiB Kafka produce
/// request costs a handful of codec calls, not dozens.
pub const READ_CHUNK_BYTES: usize = 256 * 1024;
/// Armed waits one connection may hold. The Kafka codec arms at most one at a time per
/// connection (a parked fetch or produce); a codec arming more than this is looping.
pub const WAITS_MAX: usize = 64;
/// Positions the armed waits of one connection may watch together. Each costs the host a
/// watch receiver and a small future (about 150 bytes), so this caps a connection's waits at a
/// few MiB; a Kafka produce or fetch watches one position per partition it names, and real
/// clients name hundreds at most.
pub const WATCHES_MAX: usize = 100_000;
/// Longest a wait may last, whatever the codec asks (Kafka's `fetch.max.wait.ms` is usually
/// 500 ms; 5 minutes is far beyond any client's setting).
pub const WAIT_MS_MAX: u32 = 300_000;
/// How long open connections get to finish after a shutdown signal before they are closed.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Resolves once the broker is shutting down (the flag turned true, or its sender is gone).
pub async fn stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped at once: holding it across an await would make
    // the caller's future `!Send`.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
