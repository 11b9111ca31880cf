//! Hostile test guest: a codec that traps on `on-data` (a Rust panic aborts, which is a Wasm
//! `unreachable` trap).
//!
//! The host must discard the instance, close only the connections it served, count and log the
//! trap, and keep serving everyone else.
use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo,
};

/// The codec.
pub struct Trap;

/// Per-connection state: none.
pub struct TrapConnection;

impl Codec for Trap {
    type Connection = TrapConnection;
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-codec-trap".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Connection for TrapConnection {
    fn new(_info: ConnectionInfo) -> Self {
        TrapConnection
    }
    fn on_data<B: Broker>(&mut self, _broker: &B, data: Vec<u8>) -> Result<Output, CodecError> {
        panic!("hostile guest: trapping on {} bytes of input", data.len());
    }
    fn on_wake<B: Broker>(
        &mut self,
        _broker: &B,
        _token: u64,
        _timed_out: bool,
    ) -> Result<Output, CodecError> {
        Err(CodecError {
            reason: "no waits are armed".into(),
        })
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_codec!(Trap);
