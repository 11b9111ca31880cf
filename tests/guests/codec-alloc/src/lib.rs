//! Hostile test guest: a codec that allocates without bound on `on-data`.
//!
//! The host's memory cap must stop it (a failed `memory.grow` becomes a trap), discard the
//! instance, close only the connections it served, and keep serving everyone else.
use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo,
};

/// The codec.
pub struct Alloc;

/// Per-connection state: everything it ever allocated, so nothing is freed.
pub struct AllocConnection {
    hoard: Vec<Vec<u8>>,
}

impl Codec for Alloc {
    type Connection = AllocConnection;
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-codec-alloc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Connection for AllocConnection {
    fn new(_info: ConnectionInfo) -> Self {
        AllocConnection { hoard: Vec::new() }
    }
    fn on_data<B: Broker>(&mut self, _broker: &B, _data: Vec<u8>) -> Result<Output, CodecError> {
        loop {
            // Touch every page so the memory is really committed, not just reserved.
            self.hoard.push(vec![0xA5; 1 << 20]);
        }
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
sluice_sdk::export_codec!(Alloc);
