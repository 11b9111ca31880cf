//! What a connection talks to: a protocol session. Normally a Wasm codec's session; the
//! benchmarks also drive a codec compiled natively through the same trait, so both are
//! measured over identical host code.
use std::future::Future;

use sluice_plugin_runtime::{CallError, CodecSession, Output};

/// One connection's protocol state, as the connection task sees it.
pub trait ProtocolSession: Send + 'static {
    /// Name, version and hash of what serves the connection, for its log lines.
    fn describe(&self) -> SessionLabel;
    /// Bytes arrived from the peer.
    fn on_data(&mut self, data: &[u8]) -> impl Future<Output = Result<Output, CallError>> + Send;
    /// A wait armed earlier fired; `timed_out` when its timeout did.
    fn on_wake(
        &mut self,
        token: u64,
        timed_out: bool,
    ) -> impl Future<Output = Result<Output, CallError>> + Send;
    /// Resolves when the session can no longer serve (its plugin instance was discarded).
    fn discarded(&mut self) -> impl Future<Output = ()> + Send;
}

/// What serves a connection.
#[derive(Clone, Debug)]
pub struct SessionLabel {
    /// The plugin's own name.
    pub plugin: String,
    /// The plugin's own version.
    pub version: String,
    /// First 12 hex digits of the component's SHA-256.
    pub sha256: String,
}

impl ProtocolSession for CodecSession {
    fn describe(&self) -> SessionLabel {
        let plugin = self.plugin();
        SessionLabel {
            plugin: plugin.info().name.clone(),
            version: plugin.info().version.clone(),
            sha256: plugin.sha256().chars().take(12).collect(),
        }
    }
    fn on_data(&mut self, data: &[u8]) -> impl Future<Output = Result<Output, CallError>> + Send {
        CodecSession::on_data(self, data)
    }
    fn on_wake(
        &mut self,
        token: u64,
        timed_out: bool,
    ) -> impl Future<Output = Result<Output, CallError>> + Send {
        CodecSession::on_wake(self, token, timed_out)
    }
    fn discarded(&mut self) -> impl Future<Output = ()> + Send {
        CodecSession::discarded(self)
    }
}
