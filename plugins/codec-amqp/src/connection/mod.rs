//! One AMQP connection: protocol headers, SASL, open and close, and the channel table.
//!
//! Place in the flow: [`AmqpConnection::data`] and [`AmqpConnection::wake`] are the two entry
//! points (`on_data`, `on_wake`). Input is consumed one protocol header or frame at a time in
//! the order the phases require: the SASL header, SASL frames, the AMQP header and the open
//! (`handshake`), then frames, routed by channel to their `Session` (`channels`). After every
//! call `upkeep` stores what arrived, delivers what client receivers have credit for, and arms
//! the waits that bring the connection back: durability, consumers, the heartbeat, resuming a
//! full output. A fault that reaches the connection becomes a close here ([`AmqpConnection::conclude`]).
//!
//! Invariants: a close frame is written before the host is asked to close, and an open before
//! any close; sessions, links and deliveries are bounded (`limits`); input pauses only while a
//! wait is armed.

mod channels;
mod handshake;
mod upkeep;

use std::collections::{BTreeMap, BTreeSet};

use fe2o3_amqp_types::performatives::{Close, Open, Performative};
use sluice_sdk::codec::{Broker, CodecError, ConnectionInfo, Level, Output, Queues};

use crate::context::{Cx, Out, Shared};
use crate::errors::{Fault, describe, framing_error};
use crate::frame::{AMQP_HEADER, FrameError, HeaderRead, Input, SASL_HEADER};
use crate::limits::{CHANNEL_MAX, MAX_FRAME_BYTES, MESSAGE_BYTES_MAX, MIN_MAX_FRAME_BYTES};
use crate::performative;
use crate::session::Session;
use crate::waits::Waits;

/// Our container id, as our open announces it.
const CONTAINER_ID: &str = "sluice";

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first protocol header.
    Start,
    /// Mechanisms offered; waiting for `sasl-init`.
    Sasl,
    /// Authenticated; waiting for the AMQP protocol header.
    AmqpHeader,
    /// Waiting for the peer's open.
    Opening,
    /// Open both ways.
    Opened,
    /// Closed or closing: input is ignored.
    Closed,
}

/// One AMQP client connection's state. Allocates no buffer until bytes arrive.
pub struct AmqpConnection {
    /// The largest frame accepted from the peer.
    frame_limit: u32,
    /// The max-frame-size our open announces.
    max_frame: u32,
    /// Bytes not consumed yet.
    input: Input,
    phase: Phase,
    /// Whether our open went out (a close must follow one).
    open_sent: bool,
    /// The highest channel the peer accepts from us.
    peer_channel_max: u16,
    /// State every session reaches.
    shared: Shared,
    /// Sessions by the peer's channel.
    sessions: BTreeMap<u16, Session>,
    /// Channels whose sessions received transfers since the last flush.
    dirty: BTreeSet<u16>,
    /// Next session id.
    next_session_id: u64,
    /// The waits armed with the host.
    waits: Waits,
    /// How often the peer must hear from us: half its idle timeout.
    heartbeat_ms: Option<u32>,
}

impl AmqpConnection {
    /// State for a socket just accepted. Makes no host calls.
    pub(crate) fn accept(info: &ConnectionInfo) -> Self {
        let max_frame = MAX_FRAME_BYTES
            .min(info.frame_bytes_max)
            .max(MIN_MAX_FRAME_BYTES);
        let message_bytes_max = MESSAGE_BYTES_MAX.min(info.frame_bytes_max);
        AmqpConnection {
            frame_limit: max_frame.min(info.frame_bytes_max),
            max_frame,
            input: Input::default(),
            phase: Phase::Start,
            open_sent: false,
            peer_channel_max: 0,
            shared: Shared::new(usize::try_from(message_bytes_max).unwrap_or(usize::MAX)),
            sessions: BTreeMap::new(),
            dirty: BTreeSet::new(),
            next_session_id: 0,
            waits: Waits::default(),
            heartbeat_ms: None,
        }
    }

    /// Bytes held for an incomplete header or frame.
    pub fn buffered_bytes(&self) -> usize {
        self.input.buffered()
    }

    /// Client deliveries waiting for durability before they are accepted.
    pub fn awaiting_durable(&self) -> usize {
        self.shared.durable.count()
    }

    /// Client deliveries held because the host was unavailable, to be sent again.
    pub fn held(&self) -> usize {
        self.shared.held
    }

    /// Bytes of transfer frames waiting for the peer's session windows.
    pub fn queued_for_peer(&self) -> usize {
        self.sessions.values().map(|s| s.io.queued_bytes()).sum()
    }

    /// Deliveries sent to the client and not settled by it.
    pub fn unsettled_out(&self) -> usize {
        self.shared.unsettled_out
    }

    /// The peer sent `data`.
    pub fn data<B: Broker + Queues>(
        &mut self,
        broker: &B,
        data: Vec<u8>,
    ) -> Result<Output, CodecError> {
        let mut out = Out::default();
        if self.phase == Phase::Closed {
            return Ok(out.into_output(false));
        }
        self.input.push(data);
        let result = self.consume(broker, &mut out);
        crate::session::disposition::settle_pending(broker, &mut self.shared);
        self.input.compact();
        self.conclude(broker, &mut out, result)?;
        let pause = self.finish(broker, &mut out)?;
        Ok(out.into_output(pause))
    }

    /// A wait armed earlier fired.
    pub fn wake<B: Broker + Queues>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError> {
        let mut out = Out::default();
        let result = self.woken(broker, &mut out, token, timed_out);
        self.conclude(broker, &mut out, result)?;
        let pause = self.finish(broker, &mut out)?;
        Ok(out.into_output(pause))
    }

    /// Consumes input until it runs out or the connection closes.
    fn consume<B: Broker + Queues>(&mut self, broker: &B, out: &mut Out) -> Result<(), Fault> {
        loop {
            match self.phase {
                Phase::Closed => {
                    self.input.clear();
                    return Ok(());
                }
                Phase::Start | Phase::AmqpHeader => {
                    let (accepted, ours): (&[[u8; 8]], [u8; 8]) = if self.phase == Phase::Start {
                        (&[SASL_HEADER, AMQP_HEADER], SASL_HEADER)
                    } else {
                        (&[AMQP_HEADER], AMQP_HEADER)
                    };
                    match self.input.next_header(accepted) {
                        HeaderRead::Incomplete => return Ok(()),
                        HeaderRead::Header(header) => self.header(broker, out, header)?,
                        HeaderRead::Wrong => {
                            // Tell the peer what we speak, as the spec asks, then hang up.
                            out.write.extend_from_slice(&ours);
                            return Err(Fault::Hangup("unsupported protocol header".to_owned()));
                        }
                    }
                }
                Phase::Sasl => match self.input.next_frame(self.frame_limit) {
                    Ok(Some(frame)) => self.sasl(broker, out, &frame)?,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(Fault::Hangup(frame_error(&e))),
                },
                Phase::Opening | Phase::Opened => match self.input.next_frame(self.frame_limit) {
                    Ok(Some(frame)) => self.frame(broker, out, frame)?,
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(framing_error(frame_error(&e))),
                },
            }
        }
    }

    /// Turns a fault that reached the connection into a close.
    fn conclude<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        result: Result<(), Fault>,
    ) -> Result<(), CodecError> {
        match result {
            Ok(()) => Ok(()),
            Err(Fault::Codec(e)) => Err(e),
            Err(Fault::Hangup(reason)) => {
                log(broker, Level::Info, &format!("closing: {reason}"));
                self.shut(broker, out, reason);
                Ok(())
            }
            Err(Fault::Connection(e) | Fault::Session(e) | Fault::Link(e)) => {
                let reason = describe(&e);
                log(broker, Level::Info, &format!("closing with {reason}"));
                // Deliveries complete before the fault are stored and settled first.
                self.flush(broker, out)?;
                if !self.open_sent {
                    // A close is only valid after an open.
                    let open = our_open(self.max_frame);
                    performative::send(&mut out.write, 0, &Performative::Open(open), &[])?;
                    self.open_sent = true;
                }
                performative::send(
                    &mut out.write,
                    0,
                    &Performative::Close(Close { error: Some(e) }),
                    &[],
                )?;
                self.shut(broker, out, reason);
                Ok(())
            }
        }
    }

    /// The connection is over: consumers close, state goes, the host is asked to close.
    fn shut<B: Broker + Queues>(&mut self, broker: &B, out: &mut Out, reason: String) {
        let mut cx = Cx {
            broker,
            out,
            shared: &mut self.shared,
        };
        for session in self.sessions.values_mut() {
            session.shut(&mut cx);
        }
        self.sessions.clear();
        self.shared.durable.clear();
        self.shared.held = 0;
        self.waits.clear();
        self.input.clear();
        self.phase = Phase::Closed;
        out.close = Some(reason);
    }
}

/// Our open: no idle timeout (the host owns the sockets), our frame and channel bounds.
fn our_open(max_frame: u32) -> Open {
    Open {
        container_id: CONTAINER_ID.to_owned(),
        hostname: None,
        max_frame_size: max_frame.into(),
        channel_max: CHANNEL_MAX.into(),
        idle_time_out: None,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn frame_error(e: &FrameError) -> String {
    match e {
        FrameError::TooLarge { size, limit } => {
            format!("a frame of {size} bytes is above the limit of {limit} bytes")
        }
        FrameError::Malformed(reason) => format!("malformed frame: {reason}"),
    }
}

fn log<B: Broker>(broker: &B, level: Level, message: &str) {
    broker.log(level, &format!("amqp: {message}"));
}
