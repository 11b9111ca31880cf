//! Frames once the connection is open: close, begin and end here, the rest to the session on
//! the frame's channel.
//!
//! Place in the flow: `AmqpConnection::consume` hands every AMQP frame after the open to
//! [`AmqpConnection::frame`]. Before any frame other than a transfer, what the links received
//! so far is stored ([`AmqpConnection::flush`]), so a detach, an end or a disposition is acted
//! on after the deliveries that preceded it.

use std::collections::BTreeSet;

use fe2o3_amqp_types::definitions::AmqpError;
use fe2o3_amqp_types::performatives::{Begin, Close, End, Performative};
use sluice_sdk::codec::{Broker, CodecError, Level, Queues};

use super::{AmqpConnection, Phase, log};
use crate::context::{Cx, Out};
use crate::errors::{Fault, connection, decode_error, describe, framing_error};
use crate::frame::{Frame, TYPE_AMQP};
use crate::limits::CHANNEL_MAX;
use crate::performative;
use crate::session::Session;

impl AmqpConnection {
    /// An AMQP frame, from the peer's open on.
    pub(super) fn frame<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        frame: Frame,
    ) -> Result<(), Fault> {
        if frame.kind != TYPE_AMQP {
            return Err(framing_error("a SASL frame after the SASL exchange"));
        }
        if frame.channel > CHANNEL_MAX {
            return Err(framing_error(format!(
                "channel {} is above channel-max {CHANNEL_MAX}",
                frame.channel
            )));
        }
        if frame.body.is_empty() {
            return Ok(());
        }
        let (performative, payload) =
            performative::decode(&frame.body).map_err(|m| decode_error("frame", &m))?;
        if self.phase == Phase::Opening {
            return match performative {
                Performative::Open(open) => self.open(out, open),
                other => Err(connection(
                    AmqpError::IllegalState,
                    format!("expected open, got {}", performative::name(&other)),
                )),
            };
        }
        if !matches!(performative, Performative::Transfer(_)) {
            // Store what arrived before acting on a frame that may depend on it (a detach,
            // an end) or answer it out of order (a flow, a disposition).
            self.flush(broker, out)?;
        }
        match performative {
            Performative::Open(_) => Err(connection(AmqpError::IllegalState, "a second open")),
            Performative::Close(close) => self.peer_close(broker, out, &close),
            Performative::Begin(begin) => self.begin(out, frame.channel, &begin),
            Performative::End(end) => self.end(broker, out, frame.channel, &end),
            other => self.dispatch(broker, out, frame.channel, other, payload),
        }
    }

    /// The peer closes: we answer, then everything goes.
    pub(super) fn peer_close<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        close: &Close,
    ) -> Result<(), Fault> {
        if let Some(e) = &close.error {
            log(
                broker,
                Level::Info,
                &format!("peer closed with {}", describe(e)),
            );
        }
        performative::send(
            &mut out.write,
            0,
            &Performative::Close(Close { error: None }),
            &[],
        )?;
        self.shut(broker, out, "the peer closed the connection".to_owned());
        Ok(())
    }

    /// A new session: our begin answers it on a channel of ours.
    pub(super) fn begin(&mut self, out: &mut Out, channel: u16, peer: &Begin) -> Result<(), Fault> {
        if peer.remote_channel.is_some() {
            return Err(connection(
                AmqpError::NotAllowed,
                "a begin answering a begin we never sent",
            ));
        }
        if self.sessions.contains_key(&channel) {
            return Err(connection(
                AmqpError::NotAllowed,
                format!("channel {channel} already has a session"),
            ));
        }
        let used: BTreeSet<u16> = self.sessions.values().map(|s| s.io.channel).collect();
        let Some(local) = (0..=self.peer_channel_max.min(CHANNEL_MAX)).find(|c| !used.contains(c))
        else {
            return Err(connection(
                AmqpError::ResourceLimitExceeded,
                "no channel left within the peer's channel-max",
            ));
        };
        self.next_session_id = self.next_session_id.wrapping_add(1);
        let (session, answer) = Session::begin(self.next_session_id, local, channel, peer);
        performative::send(&mut out.write, local, &Performative::Begin(answer), &[])?;
        self.sessions.insert(channel, session);
        Ok(())
    }

    /// The peer ends a session: we answer unless we ended it first.
    pub(super) fn end<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        channel: u16,
        end: &End,
    ) -> Result<(), Fault> {
        let Some(mut session) = self.sessions.remove(&channel) else {
            return Err(framing_error(format!(
                "end on channel {channel}, which has no session"
            )));
        };
        if let Some(e) = &end.error {
            log(
                broker,
                Level::Info,
                &format!("peer ended session {} with {}", session.id, describe(e)),
            );
        }
        if !session.ending {
            let mut cx = Cx {
                broker,
                out,
                shared: &mut self.shared,
            };
            session.shut(&mut cx);
            session
                .io
                .send(cx.out, &Performative::End(End { error: None }))?;
        }
        Ok(())
    }

    /// A frame for a session's links.
    pub(super) fn dispatch<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        channel: u16,
        performative: Performative,
        payload: &[u8],
    ) -> Result<(), Fault> {
        let Some(session) = self.sessions.get_mut(&channel) else {
            return Err(framing_error(format!(
                "{} on channel {channel}, which has no session",
                performative::name(&performative)
            )));
        };
        if session.ending {
            // In flight when we ended it.
            return Ok(());
        }
        let mut cx = Cx {
            broker,
            out,
            shared: &mut self.shared,
        };
        let result = match session.on_frame(&mut cx, performative, payload) {
            Err(Fault::Session(e) | Fault::Link(e)) => Ok(session.end_with(&mut cx, e)?),
            other => other,
        };
        if session.is_dirty() {
            self.dirty.insert(channel);
        }
        result
    }

    /// Stores what the sessions' links received since the last flush.
    pub(super) fn flush<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
    ) -> Result<(), CodecError> {
        let mut cx = Cx {
            broker,
            out,
            shared: &mut self.shared,
        };
        for channel in std::mem::take(&mut self.dirty) {
            if let Some(session) = self.sessions.get_mut(&channel).filter(|s| !s.ending) {
                session.flush(&mut cx)?;
            }
        }
        Ok(())
    }
}
