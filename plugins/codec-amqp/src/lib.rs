//! AMQP 1.0 as a Sluice codec plugin, speaking Artemis's address model to the host's `queues`.
//!
//! The flow of one connection, in module order:
//! 1. `frame` holds the bytes [`AmqpConnection`] is handed and gives out one protocol header
//!    or one whole frame at a time, refusing a frame above the limit from its size alone;
//! 2. `connection` walks the phases (`connection::handshake`): protocol header, `sasl` (PLAIN
//!    checked by the host, ANONYMOUS while allowed), AMQP header, open; then routes each frame
//!    by channel (`connection::channels`), and after every call runs `connection::upkeep`;
//! 3. `performative` decodes it with serde_amqp after `wire` has checked its shape (sizes,
//!    counts, nesting), so nothing a peer sends reaches the decoder unchecked;
//! 4. `session` keeps the windows and sequence numbers (`session::io`), the links by handle,
//!    and settles the client's dispositions (`session::disposition`);
//! 5. `link::incoming` assembles a client's transfers, maps them (`message`, `sections`; a
//!    Kafka record's form in `record_form`, `header_list`, `property_headers`, `stored`) and
//!    stores each call's batch with one `queues.send`; `durable` holds the acceptance of
//!    durable messages until their log positions pass;
//! 6. `link::outgoing` opens a consumer per client receiver, takes messages with
//!    `queues.receive` as credit allows and sends them, cut to the peer's frame size;
//! 7. `waits` arms what brings the connection back without input: durability, consumers with
//!    nothing to deliver, the heartbeat for the peer's idle timeout, resuming a full output;
//!    `errors` maps every failure onto the AMQP condition and the scope (link, session,
//!    connection) the spec closes for it. Every bound is in `limits`.
//!
//! The logic is generic over [`Broker`] and [`Queues`], so the crate runs natively (the tests)
//! and as a Wasm component (the export at the bottom).
//!
//! Architecture invariants:
//! - nothing the peer sends can panic the codec: a trap takes the whole instance down with
//!   every connection it serves. Every failure is an AMQP error on a link, a session or the
//!   connection, or a [`CodecError`] that closes this connection only;
//! - a client's unsettled delivery is accepted only once stored, and a durable one only once
//!   the positions `queues.send` returned have passed; never early, whatever the wait says;
//! - an error is always written (detach, end, close) before the state behind it goes, and a
//!   close only after an open;
//! - input pauses only while a wait is armed, so it always resumes.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod connection;
mod context;
mod durable;
mod errors;
mod frame;
mod header_list;
mod hot;
pub mod limits;
mod link;
mod message;
mod performative;
mod property_headers;
mod record_form;
mod rewritten;
mod sasl;
mod sections;
mod session;
mod stored;
mod waits;
mod wire;

use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo, Queues,
};

pub use crate::connection::AmqpConnection;
pub use crate::header_list::ANNOTATION as KAFKA_HEADERS;
pub use crate::message::PARTITION_KEY;
pub use crate::record_form::{OFFSET, PARTITION};
pub use crate::stored::{
    APPLICATION_PROPERTIES, BODY, FOOTER, HEADER, MESSAGE_ANNOTATIONS, PROPERTIES,
};

/// The plugin's name, as the host reports it.
const NAME: &str = "codec-amqp";

/// The AMQP 1.0 codec.
pub struct AmqpCodec;

impl Codec for AmqpCodec {
    type Connection = AmqpConnection;

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

impl Connection for AmqpConnection {
    fn new(info: ConnectionInfo) -> Self {
        AmqpConnection::accept(&info)
    }

    fn on_data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError> {
        self.data(broker, data)
    }

    fn on_wake<B: Broker + Queues>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError> {
        self.wake(broker, token, timed_out)
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_codec!(AmqpCodec);
