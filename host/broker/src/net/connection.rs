//! One connection's task: read from the socket, hand bytes to the session, write what it
//! returns, arm the waits it asks for, and close with a logged reason.
use std::net::SocketAddr;
use std::sync::Arc;

use sluice_plugin_runtime::{CallError, Output};
use sluice_storage::Storage;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::READ_CHUNK_BYTES;
use super::session::ProtocolSession;
use super::waits::{Fired, Waits};

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
    Wake(Fired),
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
            fired = waits.next(), if !waits.is_empty() => Event::Wake(fired),
            ready = stream.readable() => match ready {
                Ok(()) => Event::Readable,
                Err(e) => return format!("socket error: {e}"),
            },
        };
        let result = match event {
            Event::Wake(fired) => session.on_wake(fired.token, fired.timed_out).await,
            Event::Readable => {
                // Allocated per read and freed after the call: an idle connection holds no
                // buffer. `try_read_buf` fills only what the socket has.
                let mut buffer = Vec::with_capacity(READ_CHUNK_BYTES);
                match stream.try_read_buf(&mut buffer) {
                    Ok(0) => return "peer closed".into(),
                    Ok(_) => session.on_data(&buffer).await,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return format!("socket error: {e}"),
                }
            }
        };
        let output: Output = match result {
            Ok(output) => output,
            Err(CallError::Refused(reason)) => return format!("protocol error: {reason}"),
            Err(e) => return e.to_string(),
        };
        if !output.write.is_empty()
            && let Err(e) = stream.write_all(&output.write).await
        {
            return format!("socket error: {e}");
        }
        for wait in output.waits {
            if let Err(e) = waits.arm(&ctx.storage, wait) {
                return e.to_string();
            }
        }
        if let Some(reason) = output.close {
            return format!("closed by codec: {reason}");
        }
    }
}
