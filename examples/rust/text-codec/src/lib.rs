//! `text-codec`: an example codec for a small line-based text protocol that a person can
//! drive with `nc` or `telnet`: publish to an address, subscribe to a queue, acknowledge.
//! Messages it publishes are ordinary messages of the broker: Kafka clients read them from
//! the topic of the same name, AMQP clients from the address's queues, and the other way
//! round.
//!
//! ```text
//! $ nc localhost 7001
//! PUB orders first order            # one message, body "first order"
//! OK
//! SUB orders                        # the anycast queue named like the address
//! OK 1
//! PUB orders second
//! OK
//! MSG 1 0 second                    # subscription 1, delivery tag 0
//! ACK 1 0
//! OK
//! QUIT
//! BYE
//! ```
//!
//! # The protocol
//!
//! The client sends lines ending in `\n` or `\r\n`; the codec's lines end in `\r\n`. A line is
//! a verb, in any case, and its arguments separated by spaces; the last argument of `PUB`,
//! `AUTH` and `PING` is the rest of the line after one space. Lines are at most 64 KiB
//! ([`limits::LINE_BYTES_MAX`], or the listener's `frame-bytes-max` when lower): a longer one
//! is answered `ERR line too long (...)` and the connection closes. Blank lines are ignored.
//!
//! Every other line gets exactly one reply line, in order, even when pipelined: `OK` (with
//! what the command produced, if anything), `ERR <reason>` (the connection stays open),
//! `PONG` or `BYE`. A reason from the broker reads `<code>: <message>`, the code being the
//! WIT's `error-code` (`unknown-address`, `invalid-routing`, `not-authorized`,
//! `unavailable`: retry later, ...).
//!
//! | command | reply | what it does |
//! |---|---|---|
//! | `AUTH <user> <password>` | `OK <user>` | authenticates as a configured user (`[[security.users]]`); required before anything but `PING`, `HELP` and `QUIT` when the broker has `allow-anonymous = false`. A third failure closes the connection |
//! | `PUB <address> <body>` | `OK` | sends one durable message to the address through `queues.send` (its router and publish filter apply), timestamped by the broker, without key or headers; `OK` comes once it is stored under the broker's durability policy |
//! | `SUB <address> [<queue>]` | `OK <sub>` | opens a consumer: the address's anycast queue named like it, or `<queue>` (`address::queue`); `topic://<address>` instead subscribes to the multicast address, temporarily, or durably as the named subscription `<queue>`. `<sub>` numbers the subscription on this connection (1, 2, ...) |
//! | `ACK <sub> <tag>` | `OK` | settles delivery `<tag>` accepted: it leaves the queue |
//! | `NACK <sub> <tag>` | `OK` | settles it as a failed attempt (`modified`, delivery failed): back to the queue, redelivered after the queue's redelivery delay, and moved to the dead-letter address after `max-delivery-attempts` |
//! | `UNSUB <sub>` | `OK` | closes the subscription; its unacknowledged deliveries go back to the queue |
//! | `PING [<text>]` | `PONG [<text>]` | nothing; a marker when pipelining |
//! | `HELP` | `OK commands: ...` | lists the commands |
//! | `QUIT` | `BYE` | closes the connection once every earlier reply is written |
//!
//! Deliveries are pushed as `MSG <sub> <tag> <body>` (a message without a body, a Kafka
//! tombstone, has an empty one), at most 64 unacknowledged per subscription
//! ([`limits::IN_FLIGHT_MAX`]): more come as the client sends `ACK` or `NACK`. They arrive
//! between replies, never ahead of a reply still owed, so `OK <sub>` always comes before
//! the subscription's first `MSG`. If the broker ends a subscription (its queue deleted),
//! `CLOSED <sub> <reason>` says so. Closing the connection returns every unacknowledged
//! delivery to its queue.
//!
//! Addresses may carry the AMQP codec's prefixes: `queue://` asks for anycast routing,
//! `topic://` for multicast. A bare address is used as it is: a new one gets the address
//! settings' `default-routing-type` (multicast unless configured otherwise), so a `PUB` to a
//! new address lands in the log that Kafka consumers of the topic `<address>` read, and a
//! `SUB` to it then adds an anycast queue that receives every later `PUB` as well.
//!
//! Bodies are bytes. On a `MSG` line, valid UTF-8 goes as it is except `\` (written `\\`),
//! line feed (`\n`), carriage return (`\r`), other control characters and bytes that are not
//! valid UTF-8 (`\xHH`); a `PUB` body reads the same escapes back, so any body survives a
//! round trip exactly. See [`escape`].
//!
//! # The code
//!
//! In the order bytes flow: `line` cuts the input into lines; `command` parses one; `commands`
//! runs it against the host and queues its reply in `replies`; `subscriptions` takes messages
//! and writes `MSG` lines; `session` ties a call together and arms the `waits`. Every bound is
//! in [`limits`]. Nothing a peer sends can panic the codec: a panic would trap the instance and
//! drop every connection it serves.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod command;
mod commands;
pub mod escape;
pub mod limits;
mod line;
mod replies;
mod session;
mod subscriptions;
mod waits;

use sluice_sdk::codec::{
    Broker, Codec, CodecError, Connection, ConnectionInfo, Output, PluginInfo, Queues,
};

pub use crate::command::{Command, parse};
pub use crate::session::TextConnection;

/// The text codec.
pub struct TextCodec;

impl Codec for TextCodec {
    type Connection = TextConnection;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "text-codec".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }
}

impl Connection for TextConnection {
    fn new(info: ConnectionInfo) -> Self {
        TextConnection::accept(&info)
    }

    fn on_data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError> {
        self.data(broker, &data)
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
sluice_sdk::export_codec!(TextCodec);

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
