//! A Sluice codec: a line echo. Every line a client sends (ending in `\n`) is written back;
//! a line longer than the limit closes the connection. Try it with `nc localhost 7000`.
//!
//! Build (from this directory; needs `rustup target add wasm32-wasip2`):
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! The component is `target/wasm32-wasip2/release/my_codec.wasm`. Serve it on a listener:
//!
//! ```toml
//! [listeners.echo]
//! address = "127.0.0.1:7000"
//! codec = "/path/to/my_codec.wasm"
//! ```
//!
//! A codec gets the bytes of one connection, cut anywhere, and returns the bytes to write;
//! for broker operations it calls `broker` (a [`Broker`] and [`Queues`]). The contract is
//! `wit/codec.wit`; `docs/sdk-rust.md` and `docs/writing-a-codec.md` walk through the rest,
//! and `examples/rust/text-codec` is a complete protocol built this way.

use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo, Queues,
};

/// The longest line echoed. Bound everything a peer controls: every connection of an
/// instance shares its memory.
const LINE_BYTES_MAX: usize = 4096;

/// The codec: names the per-connection state.
pub struct MyCodec;

impl Codec for MyCodec {
    type Connection = EchoConnection;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "my-codec".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// One connection: the part of a line received so far.
pub struct EchoConnection {
    partial: Vec<u8>,
    limit: usize,
}

impl Connection for EchoConnection {
    /// A socket was accepted. No broker calls are allowed here.
    fn new(info: ConnectionInfo) -> Self {
        EchoConnection {
            partial: Vec::new(),
            limit: LINE_BYTES_MAX.min(info.frame_bytes_max as usize),
        }
    }

    /// The peer sent `data`: any number of bytes, cut anywhere.
    fn on_data<B: Broker + Queues>(
        &mut self,
        _broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError> {
        self.partial.extend_from_slice(&data);
        let mut write = Vec::new();
        loop {
            let end = self.partial.iter().position(|&b| b == b'\n');
            if end.unwrap_or(self.partial.len()) > self.limit {
                // An error closes this connection only, with the reason in the broker's log.
                return Err(CodecError {
                    reason: format!("a line of more than {} bytes", self.limit),
                });
            }
            let Some(end) = end else { break };
            // Echo the line with its `\n`; what follows stays for the next call.
            write.extend(self.partial.drain(..=end));
        }
        Ok(Output {
            write,
            waits: Vec::new(),
            close: None,
            pause_input: false,
        })
    }

    /// A wait fired. This codec arms none; see `Output::waits` to wait for the log or a queue.
    fn on_wake<B: Broker + Queues>(
        &mut self,
        _broker: &B,
        _token: u64,
        _timed_out: bool,
    ) -> Result<Output, CodecError> {
        Err(CodecError {
            reason: "woken, but no wait was armed".to_owned(),
        })
    }
}

// Only a Wasm build exports the component; a native build (`cargo test`) is a plain library.
#[cfg(target_arch = "wasm32")]
sluice_sdk::export_codec!(MyCodec);
