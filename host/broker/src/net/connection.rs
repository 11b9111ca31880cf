//! One connection's task: read from the socket, hand bytes to the session, write what it
//! returns, arm the waits it asks for, and close with a logged reason.
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;

use sluice_plugin_runtime::{CallError, Output};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::READ_CHUNK_BYTES;
use super::session::ProtocolSession;
use super::stats::{ConnectionStats, ErrorCause};
use super::waits::{Fired, Sources, Waits};

tokio::task_local! {
    /// Set during a codec call when a failure point says this connection must lose the
    /// response: the name of the point. Task-local because the host's imports run inside the
    /// connection task's own poll of the plugin call, and nowhere else needs to know.
    static LOST_RESPONSE: Cell<Option<&'static str>>;
}

/// Called from a host import during a codec call: the connection closes after the call
/// without writing what the call returned, as if the network had dropped it. A no-op outside
/// a connection's call (a benchmark driving a codec natively).
pub fn lose_response(point: &'static str) {
    let _ = LOST_RESPONSE.try_with(|lost| lost.set(Some(point)));
}

/// What a connection task needs besides its socket and session.
pub struct ConnectionContext {
    /// Unique id for the life of the process.
    pub id: u64,
    /// The listener's name.
    pub listener: Arc<str>,
    /// The peer's address.
    pub peer: SocketAddr,
    /// What waits watch; the queues also hear when the connection closes.
    pub sources: Sources,
    /// Turns true when the broker shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Its counters (bytes, codec calls, how it ended), and its listener's.
    pub stats: Arc<ConnectionStats>,
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
    let Closed { reason, error } = drive(&mut stream, &mut session, &mut ctx).await;
    if let Some(cause) = error {
        ctx.stats.failed(cause);
    }
    let _ = stream.shutdown().await;
    // Its consumers' unsettled deliveries go back to their queues; its temporary queues go.
    ctx.sources
        .queues
        .connection_closed(ctx.id, crate::retention::now_ms());
    tracing::info!(connection = ctx.id, listener = %ctx.listener, peer = %ctx.peer, reason = %reason, "connection closed");
}

enum Event {
    Readable,
    Wake(Fired),
}

/// How a connection ended: why, for its log line, and whether that was an error, for the
/// listener's error counter. A peer closing, the codec closing and shutdown are not errors.
struct Closed {
    reason: String,
    error: Option<ErrorCause>,
}

impl Closed {
    fn normal(reason: impl Into<String>) -> Closed {
        Closed {
            reason: reason.into(),
            error: None,
        }
    }

    fn error(cause: ErrorCause, reason: impl Into<String>) -> Closed {
        Closed {
            reason: reason.into(),
            error: Some(cause),
        }
    }
}

/// What one event came to.
enum Step {
    /// The codec was called.
    Called(Result<Output, CallError>),
    /// The socket had nothing after all.
    Retry,
    /// The socket closed or failed.
    Closed(Closed),
}

async fn drive<S: ProtocolSession>(
    stream: &mut TcpStream,
    session: &mut S,
    ctx: &mut ConnectionContext,
) -> Closed {
    let mut waits = Waits::default();
    // Set by the codec's last output: read nothing until it clears it (see `pause-input`).
    let mut paused = false;
    loop {
        let event = tokio::select! {
            biased;
            () = super::stopping(&mut ctx.shutdown) => {
                return Closed::normal("broker shutting down");
            }
            () = session.discarded() => {
                return Closed::error(ErrorCause::Plugin, "plugin instance discarded");
            }
            fired = waits.next(), if !waits.is_empty() => Event::Wake(fired),
            ready = stream.readable(), if !paused => match ready {
                Ok(()) => Event::Readable,
                Err(e) => {
                    return Closed::error(ErrorCause::Socket, format!("socket error: {e}"));
                }
            },
        };
        let call = async {
            match event {
                Event::Wake(fired) => {
                    Step::Called(session.on_wake(fired.token, fired.timed_out).await)
                }
                Event::Readable => {
                    // Allocated per read and freed after the call: an idle connection holds no
                    // buffer. `try_read_buf` fills only what the socket has.
                    let mut buffer = Vec::with_capacity(READ_CHUNK_BYTES);
                    match stream.try_read_buf(&mut buffer) {
                        Ok(0) => Step::Closed(Closed::normal("peer closed")),
                        Ok(n) => {
                            ctx.stats.received(n);
                            Step::Called(session.on_data(&buffer).await)
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Step::Retry,
                        Err(e) => Step::Closed(Closed::error(
                            ErrorCause::Socket,
                            format!("socket error: {e}"),
                        )),
                    }
                }
            }
        };
        let (step, lost) = LOST_RESPONSE
            .scope(Cell::new(None), async {
                let step = call.await;
                (step, LOST_RESPONSE.with(Cell::get))
            })
            .await;
        if matches!(step, Step::Called(_)) {
            ctx.stats.called();
        }
        if let Some(point) = lost {
            // A simulated network loss, armed by a test: not counted as an error.
            return Closed::normal(format!("failure point {point}: response lost"));
        }
        let result = match step {
            Step::Called(result) => result,
            Step::Retry => continue,
            Step::Closed(closed) => return closed,
        };
        let output: Output = match result {
            Ok(output) => output,
            Err(CallError::Refused(reason)) => {
                return Closed::error(ErrorCause::Protocol, format!("protocol error: {reason}"));
            }
            Err(e) => return Closed::error(ErrorCause::Plugin, e.to_string()),
        };
        if !output.write.is_empty() {
            if let Err(e) = stream.write_all(&output.write).await {
                return Closed::error(ErrorCause::Socket, format!("socket error: {e}"));
            }
            ctx.stats.sent(output.write.len());
        }
        for wait in output.waits {
            if let Err(e) = waits.arm(&ctx.sources, wait) {
                return Closed::error(ErrorCause::Plugin, e.to_string());
            }
        }
        if let Some(reason) = output.close {
            return Closed::normal(format!("closed by codec: {reason}"));
        }
        paused = output.pause_input;
        if paused && waits.is_empty() {
            return Closed::error(
                ErrorCause::Plugin,
                "codec paused its input with no wait armed to resume it",
            );
        }
    }
}
