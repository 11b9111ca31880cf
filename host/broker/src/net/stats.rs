//! What the network layer counts: per listener, connections, bytes, codec calls and the
//! connections that ended on an error; per open connection, its bytes, for the admin API's
//! connection list. Relaxed atomics bumped by the connection task (a few per codec call, no
//! lock); the registry of open connections is locked only when one opens or closes and when
//! the admin API lists them.
//!
//! A listener's counters outlive it: one started again under the same name continues them,
//! so they never go backwards while the broker runs.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

/// Why a connection ended on an error, as the metrics label it (`cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCause {
    /// Reading or writing the socket failed.
    Socket,
    /// The codec refused the peer's bytes (a protocol error on the peer's side).
    Protocol,
    /// The codec itself failed: its instance trapped, ran out of memory or time, was
    /// discarded, asked for more waits than allowed, or could not open a session.
    Plugin,
}

impl ErrorCause {
    /// Every cause, in label order.
    pub const ALL: [ErrorCause; 3] = [ErrorCause::Socket, ErrorCause::Protocol, ErrorCause::Plugin];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            ErrorCause::Socket => "socket",
            ErrorCause::Protocol => "protocol",
            ErrorCause::Plugin => "plugin",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One listener's counters.
#[derive(Debug)]
pub struct ListenerStats {
    name: Arc<str>,
    /// Its `connections-max` when last started.
    connections_max: AtomicU64,
    open: AtomicU64,
    accepted: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    codec_calls: AtomicU64,
    errors: [AtomicU64; ErrorCause::ALL.len()],
}

/// A [`ListenerStats`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSnapshot {
    /// The listener's name.
    pub name: Arc<str>,
    /// Its `connections-max`.
    pub connections_max: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections accepted since the broker started.
    pub accepted: u64,
    /// Bytes read from its sockets.
    pub bytes_in: u64,
    /// Bytes written to its sockets.
    pub bytes_out: u64,
    /// Calls into its codec sessions (`on-data` and `on-wake`).
    pub codec_calls: u64,
    /// Connections that ended on an error, by cause (in [`ErrorCause::ALL`] order).
    pub errors: [u64; ErrorCause::ALL.len()],
}

impl ListenerStats {
    fn new(name: &str) -> ListenerStats {
        ListenerStats {
            name: Arc::from(name),
            connections_max: AtomicU64::new(0),
            open: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            codec_calls: AtomicU64::new(0),
            errors: Default::default(),
        }
    }

    /// The listener's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Records the listener's connection limit (at each start).
    pub fn set_connections_max(&self, max: usize) {
        let max = u64::try_from(max).unwrap_or(u64::MAX);
        self.connections_max.store(max, Ordering::Relaxed);
    }

    /// A connection that could not be served (its session failed to open) ended on `cause`.
    pub fn failed(&self, cause: ErrorCause) {
        if let Some(counter) = self.errors.get(cause.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> ListenerSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ListenerSnapshot {
            name: self.name.clone(),
            connections_max: get(&self.connections_max),
            open: get(&self.open),
            accepted: get(&self.accepted),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            codec_calls: get(&self.codec_calls),
            errors: self.errors.each_ref().map(get),
        }
    }
}

/// One open connection's counters; each also counts toward its listener's.
#[derive(Debug)]
pub struct ConnectionStats {
    id: u64,
    listener: Arc<ListenerStats>,
    peer: SocketAddr,
    since_ms: u64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl ConnectionStats {
    /// `n` bytes read from the socket.
    pub fn received(&self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
        self.listener.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` bytes written to the socket.
    pub fn sent(&self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
        self.listener.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// One call into the codec session returned.
    pub fn called(&self) {
        self.listener.codec_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The connection ended on an error.
    pub fn failed(&self, cause: ErrorCause) {
        self.listener.failed(cause);
    }
}

/// An open connection as `GET /api/connections` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionSnapshot {
    /// Unique for the life of the process.
    pub id: u64,
    /// The listener that accepted it.
    pub listener: String,
    /// The peer's address.
    pub peer: String,
    /// When it was accepted, in milliseconds since the Unix epoch.
    pub since_ms: u64,
    /// Bytes read from it.
    pub bytes_in: u64,
    /// Bytes written to it.
    pub bytes_out: u64,
}

/// Every listener's counters and the registry of open connections. The registry holds at most
/// the listeners' `connections-max` added up, since an entry lives exactly as long as the
/// connection's permit.
#[derive(Debug, Default)]
pub struct NetStats {
    listeners: Mutex<BTreeMap<Arc<str>, Arc<ListenerStats>>>,
    connections: Mutex<BTreeMap<u64, Arc<ConnectionStats>>>,
}

impl NetStats {
    /// The counters of the listener `name`, created on first use.
    pub fn listener(&self, name: &str) -> Arc<ListenerStats> {
        let mut listeners = lock(&self.listeners);
        if let Some(stats) = listeners.get(name) {
            return stats.clone();
        }
        let stats = Arc::new(ListenerStats::new(name));
        listeners.insert(stats.name.clone(), stats.clone());
        stats
    }

    /// Every listener's counters now, by name; stopped listeners included.
    pub fn listeners(&self) -> Vec<ListenerSnapshot> {
        lock(&self.listeners)
            .values()
            .map(|l| l.snapshot())
            .collect()
    }

    /// Registers a connection `listener` accepted; it stays listed, and counted open, until
    /// the returned guard drops.
    pub fn open(
        self: &Arc<Self>,
        listener: &Arc<ListenerStats>,
        id: u64,
        peer: SocketAddr,
    ) -> OpenConnection {
        listener.accepted.fetch_add(1, Ordering::Relaxed);
        listener.open.fetch_add(1, Ordering::Relaxed);
        let stats = Arc::new(ConnectionStats {
            id,
            listener: listener.clone(),
            peer,
            since_ms: crate::retention::now_ms().try_into().unwrap_or(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        });
        lock(&self.connections).insert(id, stats.clone());
        OpenConnection {
            registry: self.clone(),
            stats,
        }
    }

    /// Every open connection, by id.
    pub fn connections(&self) -> Vec<ConnectionSnapshot> {
        lock(&self.connections)
            .values()
            .map(|c| ConnectionSnapshot {
                id: c.id,
                listener: c.listener.name.to_string(),
                peer: c.peer.to_string(),
                since_ms: c.since_ms,
                bytes_in: c.bytes_in.load(Ordering::Relaxed),
                bytes_out: c.bytes_out.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Connections open now, every listener's.
    pub fn open_connections(&self) -> usize {
        lock(&self.connections).len()
    }
}

/// A connection's place in the registry: dropping it (when the connection task ends, however
/// it ends) unlists the connection and counts it closed.
#[derive(Debug)]
pub struct OpenConnection {
    registry: Arc<NetStats>,
    stats: Arc<ConnectionStats>,
}

impl OpenConnection {
    /// The connection's counters.
    pub fn stats(&self) -> &Arc<ConnectionStats> {
        &self.stats
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        lock(&self.registry.connections).remove(&self.stats.id);
        self.stats.listener.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Every update under these locks is a single insert or remove: a poisoned lock still guards
/// a consistent map.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40_000))
    }

    #[test]
    fn a_connection_is_listed_and_counted_open_until_its_guard_drops() {
        let net = Arc::new(NetStats::default());
        let kafka = net.listener("kafka");
        let guard = net.open(&kafka, 7, peer());
        guard.stats().received(100);
        guard.stats().sent(40);
        guard.stats().called();
        let listed = net.connections();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (
                listed[0].id,
                listed[0].listener.as_str(),
                listed[0].peer.as_str()
            ),
            (7, "kafka", "127.0.0.1:40000")
        );
        assert_eq!((listed[0].bytes_in, listed[0].bytes_out), (100, 40));
        assert_eq!(kafka.snapshot().open, 1);
        drop(guard);
        assert!(net.connections().is_empty());
        let after = kafka.snapshot();
        assert_eq!((after.open, after.accepted), (0, 1));
        assert_eq!(
            (after.bytes_in, after.bytes_out, after.codec_calls),
            (100, 40, 1)
        );
    }

    #[test]
    fn a_listener_started_again_continues_its_counters() {
        let net = Arc::new(NetStats::default());
        let first = net.listener("amqp");
        drop(net.open(&first, 1, peer()));
        let again = net.listener("amqp");
        drop(net.open(&again, 2, peer()));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(again.snapshot().accepted, 2);
        assert_eq!(net.listeners().len(), 1);
    }

    #[test]
    fn errors_are_counted_by_cause() {
        let net = Arc::new(NetStats::default());
        let listener = net.listener("kafka");
        let guard = net.open(&listener, 1, peer());
        guard.stats().failed(ErrorCause::Protocol);
        listener.failed(ErrorCause::Plugin);
        listener.failed(ErrorCause::Plugin);
        assert_eq!(listener.snapshot().errors, [0, 1, 2]);
        let labels: Vec<&str> = ErrorCause::ALL.iter().map(|c| c.label()).collect();
        assert_eq!(labels, ["socket", "protocol", "plugin"]);
    }
}
