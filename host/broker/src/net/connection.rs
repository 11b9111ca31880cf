//! One connection's task: read from the socket, hand bytes to the session, write what it
//! returns, arm the waits it asks for, and close with a logged reason.
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;

use sluice_plugin_runtime::{CallError, Output};
use sluice_storage::Storage;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::READ_CHUNK_BYTES;
use super::session::ProtocolSession;
use super::waits::Waits;

/// What a connection task needs besides its socket and session.
pub struct ConnectionContext {
    /// Unique id for the life of the process.
    pub id: u64,
    /// The listener's name.
    pub listener: Arc<str>,
    /// The peer's address.
    pub peer: SocketAddr,
    /// Where waits watch partitions.
    pub storage: Arc<Storage>,
    /// Turns true when the broker shuts down.
    pub shutdown: watch::Receiver<bool>,
}

thread_local! {
    /// One read buffer per runtime thread, borrowed for the span of one read and one codec call
    /// (no await in between), so idle connections hold no buffer at all.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK_BYTES].into_boxed_slice());
}

/// Serves one connection until either side closes it, then logs why.
pub async fn serve<S: ProtocolSession>(
    mut stream: TcpStream,
    mut session: S,
    mut ctx: ConnectionContext,
) {
    let label = session.describe();
    tracing::info!(
        connection = ctx.id,
        listener = %ctx.listener,
        peer = %ctx.peer,
        plugin = %label.plugin,
        plugin_version = %label.version,
        sha256 = %label.sha256,
        "connection opened"
    );
    let reason = drive(&mut stream, &mut session, &mut ctx).await;
    let _ = stream.shutdown().await;
    tracing::info!(connection = ctx.id, listener = %ctx.listener, peer = %ctx.peer, reason = %reason, "connection closed");
}

enum Event {
    Readable,
    Wake(u64),
}

async fn drive<S: ProtocolSession>(
    stream: &mut TcpStream,
    session: &mut S,
    ctx: &mut ConnectionContext,
) -> String {
    let mut waits = Waits::default();
    loop {
        let event = tokio::select! {
            biased;
            () = super::stopping(&mut ctx.shutdown) => return "broker shutting down".into(),
            () = session.discarded() => return "plugin instance discarded".into(),
            token = waits.next(), if !waits.is_empty() => Event::Wake(token),
            ready = stream.readable() => match ready {
                Ok(()) => Event::Readable,
                Err(e) => return format!("socket error: {e}"),
            },
        };
        let result = match event {
            Event::Wake(token) => session.on_wake(token),
            Event::Readable => match read_into_session(stream, session) {
                Read::Closed => return "peer closed".into(),
                Read::NotReady => continue,
                Read::Failed(e) => return format!("socket error: {e}"),
                Read::Handled(result) => result,
            },
        };
        let output: Output = match result {
            Ok(output) => output,
            Err(CallError::Refused(reason)) => return format!("protocol error: {reason}"),
            Err(e) => return e.to_string(),
        };
        if !output.write.is_empty() {
            if let Err(e) = stream.write_all(&output.write).await {
                return format!("socket error: {e}");
            }
        }
        for wait in output.waits {
            if waits.arm(&ctx.storage, wait).is_err() {
                return format!("codec armed more than {} waits", super::WAITS_MAX);
            }
        }
        if let Some(reason) = output.close {
            return format!("closed by codec: {reason}");
        }
    }
}

enum Read {
    Closed,
    NotReady,
    Failed(std::io::Error),
    Handled(Result<Output, CallError>),
}

/// Reads what the socket has (up to one chunk) and hands it to the session, synchronously.
fn read_into_session<S: ProtocolSession>(stream: &TcpStream, session: &mut S) -> Read {
    READ_BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        match stream.try_read(&mut buffer[..]) {
            Ok(0) => Read::Closed,
            Ok(n) => Read::Handled(session.on_data(&buffer[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Read::NotReady,
            Err(e) => Read::Failed(e),
        }
    })
}
