//! The connection's first exchanges: the protocol header, SASL, and the open.
//!
//! Place in the flow: `AmqpConnection::consume` hands each protocol header and SASL frame here
//! until the peer's open arrives. Failures before the open hang up (there is no AMQP
//! connection to close yet), after telling the peer what we speak or how SASL ended.

use fe2o3_amqp_types::performatives::{Open, Performative};
use sluice_sdk::codec::{Broker, Level, Queues};

use super::{AmqpConnection, Phase, log, our_open};
use crate::context::Out;
use crate::errors::Fault;
use crate::frame::{AMQP_HEADER, Frame, SASL_HEADER, TYPE_SASL};
use crate::limits::{HEARTBEAT_MS_MIN, MIN_MAX_FRAME_BYTES};
use crate::performative;
use crate::sasl::{self, Verdict};

impl AmqpConnection {
    /// A protocol header we accept in the current phase.
    pub(super) fn header<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        header: [u8; 8],
    ) -> Result<(), Fault> {
        match (self.phase, header) {
            (Phase::Start, SASL_HEADER) => {
                out.write.extend_from_slice(&SASL_HEADER);
                sasl::offer(&mut out.write, broker.anonymous_allowed())?;
                self.phase = Phase::Sasl;
            }
            (Phase::Start, _) if broker.anonymous_allowed() => {
                out.write.extend_from_slice(&AMQP_HEADER);
                log(broker, Level::Debug, "anonymous connection without SASL");
                self.phase = Phase::Opening;
            }
            (Phase::Start, _) => {
                out.write.extend_from_slice(&SASL_HEADER);
                return Err(Fault::Hangup(
                    "no SASL exchange, and anonymous access is not allowed".to_owned(),
                ));
            }
            _ => {
                out.write.extend_from_slice(&AMQP_HEADER);
                self.phase = Phase::Opening;
            }
        }
        Ok(())
    }

    /// A frame of the SASL exchange: only a `sasl-init` is expected.
    pub(super) fn sasl<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        frame: &Frame,
    ) -> Result<(), Fault> {
        if frame.kind != TYPE_SASL {
            return Err(Fault::Hangup(
                "an AMQP frame during the SASL exchange".to_owned(),
            ));
        }
        if frame.body.is_empty() {
            return Ok(());
        }
        match sasl::init(broker, &frame.body) {
            Err(m) => Err(Fault::Hangup(format!("expected sasl-init: {m}"))),
            Ok(Verdict::Authenticated(principal)) => {
                sasl::outcome(&mut out.write, true)?;
                log(
                    broker,
                    Level::Info,
                    &format!("authenticated {} ({})", principal.name, principal.mechanism),
                );
                self.phase = Phase::AmqpHeader;
                Ok(())
            }
            Ok(Verdict::Refused(reason)) => {
                sasl::outcome(&mut out.write, false)?;
                Err(Fault::Hangup(format!(
                    "SASL authentication failed: {reason}"
                )))
            }
        }
    }

    /// The peer's open: its limits, and ours in answer.
    pub(super) fn open(&mut self, out: &mut Out, peer: Open) -> Result<(), Fault> {
        self.shared.container_id = peer.container_id;
        self.shared.peer_max_frame = peer.max_frame_size.0.max(MIN_MAX_FRAME_BYTES);
        self.peer_channel_max = peer.channel_max.0;
        self.heartbeat_ms = peer
            .idle_time_out
            .filter(|ms| *ms > 0)
            .map(|ms| (ms / 2).max(HEARTBEAT_MS_MIN));
        let open = our_open(self.max_frame);
        performative::send(&mut out.write, 0, &Performative::Open(open), &[])?;
        self.open_sent = true;
        self.phase = Phase::Opened;
        Ok(())
    }
}
