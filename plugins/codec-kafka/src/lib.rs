//! The Kafka wire protocol as a Sluice codec plugin.
//!
//! The flow of one connection, in module order:
//! 1. `frame` cuts the bytes the host hands to [`KafkaConnection::on_data`] into request
//!    frames, refusing oversized ones before buffering them;
//! 2. `dispatch` reads each request header, checks the API and version against `versions`,
//!    lets `shape` vet the body, and routes it to one `api/*` handler;
//! 3. the handler decodes the request with kafka-protocol (or by hand for old versions), calls
//!    the [`Broker`], maps failures through `errors`, and encodes the response;
//! 4. `pending` writes responses in request order, parking a `job` that has to wait (a fetch
//!    for data, a produce for durability) behind a host wait and running it again in
//!    [`KafkaConnection::on_wake`]. While its queue is full, frames already cut are held
//!    undispatched and the host is asked to pause the socket (`pause-input`).
//!
//! The logic is generic over [`Broker`], so the same crate runs natively (the host's
//! benchmarks, the tests) and as a Wasm component (the export at the bottom).
//!
//! Architecture invariant: nothing the peer sends can panic the codec, since a trap takes the
//! whole instance down with every connection it serves; every failure is a Kafka error code
//! or a [`CodecError`] that closes one connection.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod api;
mod dispatch;
mod errors;
mod frame;
mod job;
mod pending;
mod shape;
mod versions;
mod wire;

use std::collections::VecDeque;

use bytes::Bytes;
use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Level, Output, PluginInfo, Queues,
};

use crate::dispatch::Reply;
use crate::frame::FrameReader;
use crate::pending::Pending;

pub use crate::api::fetch::{FETCH_RESPONSE_BYTES_MAX, FETCH_WAKES_MAX};

/// The plugin's name, as the host reports it.
const NAME: &str = "codec-kafka";

/// The Kafka codec.
pub struct KafkaCodec;

impl Codec for KafkaCodec {
    type Connection = KafkaConnection;

    fn info() -> PluginInfo {
        PluginInfo {
            name: NAME.to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }
}

/// The address a listener announces to Kafka clients in Metadata.
pub(crate) struct Advertised {
    /// Host name or IP clients should connect to.
    pub host: String,
    /// Port clients should connect to.
    pub port: u16,
    /// The peer's address as Kafka shows a member's `client_host` (`/ip`), for JoinGroup. Not
    /// announced; it rides along because every handler that needs the listener gets this.
    pub client_host: String,
}

/// One Kafka client connection's state. Allocates nothing until the first bytes arrive.
pub struct KafkaConnection {
    /// Bytes of an incomplete request.
    frames: FrameReader,
    /// Whole requests not dispatched yet because `pending` is full. Input is paused while
    /// any are held, so they come from one `on-data` call: at most `read-chunk-bytes`.
    held: VecDeque<Bytes>,
    /// What Metadata announces.
    listener: Advertised,
    /// Responses not written yet, behind a parked request.
    pending: Pending,
}

impl KafkaConnection {
    /// Bytes held for an incomplete request frame.
    pub fn buffered_bytes(&self) -> usize {
        self.frames.buffered()
    }

    /// Whether a request is parked, waiting for the log or its timeout.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_waiting()
    }
}

impl Connection for KafkaConnection {
    fn new(info: ConnectionInfo) -> Self {
        KafkaConnection {
            frames: FrameReader::new(info.frame_bytes_max),
            held: VecDeque::new(),
            listener: Advertised {
                host: info.advertised_host,
                port: info.advertised_port,
                client_host: client_host(&info.peer),
            },
            pending: Pending::default(),
        }
    }

    fn on_data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError> {
        let mut out = empty_output();
        self.held.extend(self.frames.push(data)?);
        self.dispatch_held(broker, &mut out)?;
        Ok(out)
    }

    fn on_wake<B: Broker + Queues>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError> {
        let mut out = empty_output();
        self.pending.wake(token, timed_out, broker, &mut out)?;
        self.dispatch_held(broker, &mut out)?;
        Ok(out)
    }
}

impl KafkaConnection {
    /// Dispatches held requests in order until none is left or `pending` is full, and says
    /// whether input stays paused. `pending` is only full behind a parked job, whose wait
    /// resumes it.
    fn dispatch_held<B: Broker>(&mut self, broker: &B, out: &mut Output) -> Result<(), CodecError> {
        while !self.pending.is_full() {
            let Some(frame) = self.held.pop_front() else {
                break;
            };
            match dispatch::request(frame, &self.listener, broker)? {
                Reply::Frame(bytes) => self.pending.answer(bytes, out),
                Reply::Job(job) => self.pending.job(job, broker, out)?,
                Reply::Silent => {}
                Reply::Close(reason) => {
                    broker.log(Level::Debug, &format!("kafka: {reason}"));
                    out.close = Some(reason);
                    self.held.clear();
                    break;
                }
            }
        }
        out.pause_input = self.pending.is_full() || !self.held.is_empty();
        Ok(())
    }
}

/// `ip:port` (or `[ip6]:port`) as Kafka's `InetAddress.toString` prints a client: `/ip`.
fn client_host(peer: &str) -> String {
    let host = peer.rsplit_once(':').map_or(peer, |(host, _port)| host);
    format!("/{}", host.trim_start_matches('[').trim_end_matches(']'))
}

fn empty_output() -> Output {
    Output {
        write: Vec::new(),
        waits: Vec::new(),
        close: None,
        pause_input: false,
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_codec!(KafkaCodec);
