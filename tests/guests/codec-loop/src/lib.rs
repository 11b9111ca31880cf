//! Hostile test guest: a codec that never returns from `on-data`.
//!
//! The host must interrupt it at the call deadline (epoch interruption), discard the instance,
//! close only the connections it served, and keep serving everyone else.
use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo,
};

/// The codec.
pub struct Loop;

/// Per-connection state: none.
pub struct LoopConnection;

impl Codec for Loop {
    type Connection = LoopConnection;
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-codec-loop".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Connection for LoopConnection {
    fn new(_info: ConnectionInfo) -> Self {
        LoopConnection
    }
    fn on_data<B: Broker>(&mut self, _broker: &B, data: Vec<u8>) -> Result<Output, CodecError> {
        let mut spins: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving the loop pointless.
            spins = std::hint::black_box(spins.wrapping_add(data.len() as u64));
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
sluice_sdk::export_codec!(Loop);
