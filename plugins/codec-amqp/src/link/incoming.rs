//! Client sender links: messages from the client to an address.
//!
//! Place in the flow: the session hands each attach with the client in the sender role to
//! [`attach`], which resolves the address with an empty `queues.send` (so a bad address is
//! refused at attach, not at the first message) and grants [`LINK_CREDIT`]. Transfers are
//! assembled ([`Incoming::transfer`]), mapped by `message`, and batched: everything that
//! completed in one call is stored with one `queues.send` ([`Incoming::flush`]). An unsettled
//! delivery is accepted once stored, and for a durable message only once `sent.pending` has
//! passed (parked in `durable`); a failed send rejects it with the error's condition.
//! Pre-settled deliveries get no disposition.

use fe2o3_amqp_types::definitions::{AmqpError, Error, LinkError, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, Rejected, TargetArchetype};
use fe2o3_amqp_types::performatives::{Attach, Flow, Transfer};
use sluice_sdk::codec::{Broker, CodecError, Level, Message, Queues};

use crate::context::Cx;
use crate::durable::Awaiting;
use crate::errors::{
    Fault, broker_error, connection, describe, error, link, transfer_limit_exceeded,
};
use crate::limits::LINK_CREDIT;
use crate::link::{Node, capability, node, reply};
use crate::message;
use crate::session::io::{Io, LinkFlow};

/// A client sender link.
pub struct Incoming {
    /// Never reused within the connection.
    pub id: u64,
    /// The handle we gave it.
    pub local_handle: u32,
    /// Where its messages go.
    node: Node,
    /// Whether the client settles every delivery before sending it.
    presettled: bool,
    /// The sender's delivery count, as far as we have seen it.
    delivery_count: u32,
    /// Deliveries the client may still start.
    credit: u32,
    /// The delivery being assembled from a multi-frame transfer.
    assembly: Option<Assembly>,
    /// Deliveries completed in this call, stored together by [`Incoming::flush`].
    batch: Vec<Arrived>,
}

/// A delivery whose transfer frames are still arriving.
struct Assembly {
    delivery_id: u32,
    settled: bool,
    format: u32,
    bytes: Vec<u8>,
}

/// A delivery whose transfer is complete.
struct Arrived {
    delivery_id: u32,
    settled: bool,
    /// The message, or why it is rejected without being stored.
    message: Result<Message, Error>,
}

/// Attaches a client sender link, or says why not (the session writes the refusal).
pub fn attach<B: Broker + Queues>(
    cx: &mut Cx<'_, B>,
    peer: &Attach,
    local_handle: u32,
) -> Result<(Incoming, Attach), Error> {
    let target = match peer.target.as_deref() {
        Some(TargetArchetype::Target(target)) => target.clone(),
        Some(TargetArchetype::Coordinator(_)) => {
            return Err(error(
                AmqpError::NotImplemented,
                "transactions are not supported",
            ));
        }
        None => return Err(error(AmqpError::InvalidField, "a sender needs a target")),
    };
    if target.dynamic {
        return Err(error(
            AmqpError::NotImplemented,
            "dynamic targets are not supported",
        ));
    }
    let Some(address) = target.address.as_deref() else {
        return Err(error(
            AmqpError::NotImplemented,
            "a target without an address (anonymous relay) is not supported",
        ));
    };
    let node = node(address, target.capabilities.as_ref());
    if let Err(e) = cx.broker.send(&node.address, node.routing, &[]) {
        return Err(broker_error(&e));
    }

    let mut answer = reply(peer, local_handle, Role::Receiver);
    let mut target = target;
    if let (None, Some(routing)) = (&target.capabilities, node.routing) {
        target.capabilities = Some(capability(routing));
    }
    answer.target = Some(Box::new(TargetArchetype::Target(target)));
    answer.max_message_size = u64::try_from(cx.shared.message_bytes_max).ok();
    let link = Incoming {
        id: cx.shared.link_id(),
        local_handle,
        node,
        presettled: peer.snd_settle_mode == SenderSettleMode::Settled,
        delivery_count: peer.initial_delivery_count.unwrap_or(0),
        credit: LINK_CREDIT,
        assembly: None,
        batch: Vec::new(),
    };
    Ok((link, answer))
}

impl Incoming {
    /// The flow that grants the link's credit.
    pub fn flow(&self) -> LinkFlow {
        LinkFlow {
            handle: self.local_handle,
            delivery_count: self.delivery_count,
            credit: self.credit,
            drain: false,
        }
    }

    /// A transfer frame on this link.
    pub fn transfer<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        t: &Transfer,
        payload: &[u8],
    ) -> Result<(), Fault> {
        let mut assembly = match self.assembly.take() {
            Some(assembly) => {
                if t.delivery_id.is_some_and(|id| id != assembly.delivery_id) {
                    return Err(link(
                        AmqpError::NotAllowed,
                        "a new delivery started before the last one ended",
                    ));
                }
                assembly
            }
            None => self.start(t)?,
        };
        assembly.settled |= t.settled == Some(true);
        cx.shared.assembling_bytes = cx
            .shared
            .assembling_bytes
            .saturating_sub(assembly.bytes.len());
        if t.aborted {
            return Ok(());
        }
        if !t.more && assembly.bytes.is_empty() {
            // The common case, one frame per message: mapped straight from the frame.
            self.arrive(cx, assembly, payload);
            return Ok(());
        }
        let size = assembly.bytes.len().saturating_add(payload.len());
        if size > cx.shared.message_bytes_max {
            return Err(link(
                LinkError::MessageSizeExceeded,
                format!("message of more than {} bytes", cx.shared.message_bytes_max),
            ));
        }
        if cx.shared.assembling_bytes.saturating_add(size) > cx.shared.message_bytes_max {
            return Err(connection(
                AmqpError::ResourceLimitExceeded,
                format!(
                    "more than {} bytes of messages being assembled at once",
                    cx.shared.message_bytes_max
                ),
            ));
        }
        assembly.bytes.extend_from_slice(payload);
        if t.more {
            cx.shared.assembling_bytes += assembly.bytes.len();
            self.assembly = Some(assembly);
        } else {
            let bytes = std::mem::take(&mut assembly.bytes);
            self.arrive(cx, assembly, &bytes);
        }
        Ok(())
    }

    /// The first frame of a delivery: takes a credit.
    fn start(&mut self, t: &Transfer) -> Result<Assembly, Fault> {
        let (Some(delivery_id), Some(_tag)) = (t.delivery_id, &t.delivery_tag) else {
            return Err(link(
                AmqpError::InvalidField,
                "the first transfer of a delivery needs a delivery-id and a delivery-tag",
            ));
        };
        if self.credit == 0 {
            return Err(transfer_limit_exceeded());
        }
        self.credit -= 1;
        self.delivery_count = self.delivery_count.wrapping_add(1);
        Ok(Assembly {
            delivery_id,
            settled: self.presettled,
            format: t.message_format.unwrap_or(0),
            bytes: Vec::new(),
        })
    }

    /// A delivery is complete: maps it and adds it to the batch.
    fn arrive<B: Broker + Queues>(&mut self, cx: &Cx<'_, B>, a: Assembly, payload: &[u8]) {
        let message = if a.format != 0 {
            Err(error(
                AmqpError::NotImplemented,
                format!("message format {} is not supported", a.format),
            ))
        } else {
            message::inbound(payload, &|| cx.broker.now_ms())
                .map_err(|m| error(AmqpError::DecodeError, format!("malformed message: {m}")))
        };
        self.batch.push(Arrived {
            delivery_id: a.delivery_id,
            settled: a.settled,
            message,
        });
    }

    /// Stores the deliveries completed since the last flush with one `queues.send`, settles
    /// them (or parks the durable ones), and renews the credit once half is used.
    pub fn flush<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        session: u64,
    ) -> Result<(), CodecError> {
        self.store(cx, io, session)?;
        if self.credit < LINK_CREDIT / 2 {
            self.credit = LINK_CREDIT;
            io.send_flow(cx.out, Some(self.flow()), false)?;
        }
        Ok(())
    }

    /// Stores the batch with one `queues.send` and settles it (or parks the durable part).
    pub fn store<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        session: u64,
    ) -> Result<(), CodecError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let mut messages = Vec::with_capacity(batch.len());
        let mut arrived = Vec::with_capacity(batch.len());
        for a in batch {
            let check = match a.message {
                Ok(m) => {
                    let durable = m.durable;
                    messages.push(m);
                    Ok(durable)
                }
                Err(e) => Err(e),
            };
            arrived.push((a.delivery_id, a.settled, check));
        }
        let sent = if messages.is_empty() {
            None
        } else {
            Some(
                cx.broker
                    .send(&self.node.address, self.node.routing, &messages),
            )
        };
        let mut states = Vec::new();
        let mut durable = Vec::new();
        for (delivery_id, settled, check) in arrived {
            let state = match (check, &sent) {
                (Err(e), _) => Err(e),
                (Ok(_), Some(Err(e))) => Err(broker_error(e)),
                (Ok(true), Some(Ok(s))) if !s.pending.is_empty() => {
                    if !settled {
                        durable.push(Awaiting {
                            session,
                            link: self.id,
                            delivery_id,
                        });
                    }
                    continue;
                }
                (Ok(_), _) => Ok(()),
            };
            match (settled, state) {
                (false, Ok(())) => states.push((delivery_id, DeliveryState::Accepted(Accepted {}))),
                (false, Err(e)) => states.push((
                    delivery_id,
                    DeliveryState::Rejected(Rejected { error: Some(e) }),
                )),
                (true, Ok(())) => {}
                (true, Err(e)) => cx.log(
                    Level::Debug,
                    &format!(
                        "pre-settled delivery {delivery_id} to {} dropped: {}",
                        self.node.address,
                        describe(&e)
                    ),
                ),
            }
        }
        if let Some(Ok(s)) = sent
            && !durable.is_empty()
        {
            cx.shared.durable.park(s.pending, durable);
        }
        io.settle_incoming(cx.out, states)
    }

    /// A flow from the client. The sender's delivery count is authoritative: what is left of
    /// the credit we granted is counted from it.
    pub fn flow_from_peer<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        flow: &Flow,
    ) -> Result<(), CodecError> {
        if let Some(count) = flow.delivery_count {
            let limit = self.delivery_count.wrapping_add(self.credit);
            let left = limit.wrapping_sub(count);
            self.delivery_count = count;
            self.credit = if left <= LINK_CREDIT { left } else { 0 };
        }
        if flow.echo {
            io.send_flow(cx.out, Some(self.flow()), false)?;
        }
        Ok(())
    }

    /// The link is going away: what it was assembling no longer counts.
    pub fn release(&mut self, assembling_bytes: &mut usize) {
        if let Some(a) = self.assembly.take() {
            *assembling_bytes = assembling_bytes.saturating_sub(a.bytes.len());
        }
        self.batch.clear();
    }
}
