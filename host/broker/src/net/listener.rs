//! A listener: accepts sockets up to its connection limit and starts a task per connection on
//! the listener's current codec. After a hot swap, new connections get the new codec while
//! existing ones keep the session (and so the plugin version) they started with.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sluice_plugin_runtime::ConnectionInfo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::SHUTDOWN_GRACE;
use super::connection::{ConnectionContext, serve};
use super::stats::{ErrorCause, ListenerStats, NetStats};
use super::waits::Sources;
use crate::plugins::CodecSlot;

/// Connection ids are unique across listeners for the life of the process.
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Pause after an accept error (typically EMFILE): retrying at once would spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// A bound listener and what its connections need.
pub struct Listener {
    /// The listener's name from the configuration.
    pub name: Arc<str>,
    /// The bound socket.
    pub socket: TcpListener,
    /// The codec its new connections get.
    pub codec: Arc<CodecSlot>,
    /// Announced to clients instead of the local address, when set.
    pub advertised: Option<(String, u16)>,
    /// Passed to the codec in `connection-info`.
    pub frame_bytes_max: u32,
    /// Open connections at once.
    pub connections_max: usize,
    /// What its connections' waits watch.
    pub sources: Sources,
    /// Where its open connections are listed.
    pub net: Arc<NetStats>,
    /// Its counters.
    pub stats: Arc<ListenerStats>,
}

impl Listener {
    /// Accepts until shutdown, then waits (up to [`SHUTDOWN_GRACE`]) for its connections.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let limit = Arc::new(Semaphore::new(self.connections_max));
        self.stats.set_connections_max(self.connections_max);
        loop {
            let permit = tokio::select! {
                () = super::stopping(&mut shutdown) => break,
                permit = limit.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let (stream, peer) = tokio::select! {
                () = super::stopping(&mut shutdown) => break,
                accepted = self.socket.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!(listener = %self.name, error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                },
            };
            // Kafka and most broker protocols are request/response: Nagle only adds latency.
            let _ = stream.set_nodelay(true);
            let id = NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed);
            let info = self.connection_info(id, peer, stream.local_addr().ok());
            let plugin = self.codec.current();
            // Listed from accept to close, under the same permit as the connection itself.
            let open = self.net.open(&self.stats, id, peer);
            let ctx = ConnectionContext {
                id,
                listener: self.name.clone(),
                peer,
                sources: self.sources.clone(),
                shutdown: shutdown.clone(),
                stats: open.stats().clone(),
            };
            tokio::spawn(async move {
                let _permit = permit;
                let _open = open;
                match plugin.open_session(&info).await {
                    Ok(session) => serve(stream, session, ctx).await,
                    Err(e) => {
                        ctx.stats.failed(ErrorCause::Plugin);
                        tracing::warn!(
                            connection = id,
                            listener = %ctx.listener,
                            peer = %peer,
                            error = %e,
                            "connection refused: codec could not open a session"
                        );
                    }
                }
            });
        }
        let all = u32::try_from(self.connections_max).unwrap_or(u32::MAX);
        if tokio::time::timeout(SHUTDOWN_GRACE, limit.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(listener = %self.name, "connections still open after the shutdown grace period");
        }
    }

    fn connection_info(
        &self,
        id: u64,
        peer: SocketAddr,
        local: Option<SocketAddr>,
    ) -> ConnectionInfo {
        let (advertised_host, advertised_port) = match (&self.advertised, local) {
            (Some((host, port)), _) => (host.clone(), *port),
            (None, Some(local)) => (local.ip().to_string(), local.port()),
            (None, None) => ("127.0.0.1".to_string(), 0),
        };
        ConnectionInfo {
            id,
            listener: self.name.to_string(),
            peer: peer.to_string(),
            advertised_host,
            advertised_port,
            frame_bytes_max: self.frame_bytes_max,
        }
    }
}
