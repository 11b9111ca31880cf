//! Client sender links: messages from the client to an address.
//!
//! Place in the flow: the session hands each attach with the client in the sender role to
//! [`attach`], which resolves the address with an empty `queues.send` (so a bad address is
//! refused at attach, not at the first message) and grants [`LINK_CREDIT`]. Transfers are
//! assembled ([`Incoming::transfer`]), mapped by `message`, and batched: everything that
//! completed in one call is stored with one `queues.send` ([`Incoming::flush`]). An unsettled
//! delivery is accepted once stored, and for a durable message only once `sent.pending` has
//! passed (parked in `durable`); a failed send rejects it with the error's condition.
//! Pre-settled deliveries get no disposition. A send the host answers `unavailable` (a router
//! or filter plugin restarting) stored nothing: its deliveries are held, unsettled (pre-settled
//! ones too), the link's credit is not renewed and the connection's input pauses; they are
//! sent again, in order and before anything that completed after them, every
//! [`RETRY_HELD_MS`] until the host takes or refuses them ([`Incoming::retry`]). A link or
//! connection that closes meanwhile drops them (they were never accepted).

use fe2o3_amqp_types::definitions::{AmqpError, Error, LinkError, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, Rejected, TargetArchetype};
use fe2o3_amqp_types::performatives::{Attach, Flow, Transfer};
use sluice_sdk::codec::{Broker, CodecError, ErrorCode, Level, Message, Queues};

use crate::context::{Cx, Shared};
use crate::durable::Awaiting;
use crate::errors::{
    Fault, broker_error, connection, describe, error, link, transfer_limit_exceeded,
};
use crate::limits::{LINK_CREDIT, RETRY_HELD_MS};
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
    /// Deliveries the host refused as `unavailable`, sent again by [`Incoming::retry`]: at
    /// most what one call assembled, since the connection's input pauses while any are held.
    held: Option<Batch>,
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

/// Deliveries to store with one `queues.send`.
#[derive(Default)]
struct Batch {
    /// The messages, in the order they arrived.
    messages: Vec<Message>,
    /// Every delivery in order: its id, whether the client settled it, and whether its
    /// message is durable (or why it is rejected without being stored).
    entries: Vec<(u32, bool, Result<bool, Error>)>,
}

impl Batch {
    /// Adds deliveries after those already in.
    fn extend(&mut self, arrived: Vec<Arrived>) {
        self.messages.reserve(arrived.len());
        self.entries.reserve(arrived.len());
        for a in arrived {
            let check = a.message.map(|m| {
                let durable = m.durable;
                self.messages.push(m);
                durable
            });
            self.entries.push((a.delivery_id, a.settled, check));
        }
    }
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
        held: None,
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
        self.renew(cx, io)
    }

    /// Grants the credit again once half is used, unless deliveries are held: a client is
    /// given no more room while the host cannot take what it sent.
    fn renew<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
    ) -> Result<(), CodecError> {
        if self.held.is_none() && self.credit < LINK_CREDIT / 2 {
            self.credit = LINK_CREDIT;
            io.send_flow(cx.out, Some(self.flow()), false)?;
        }
        Ok(())
    }

    /// Stores the batch with one `queues.send` and settles it (or parks the durable part).
    /// While deliveries are held, the batch waits behind them for [`Incoming::retry`].
    pub fn store<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        session: u64,
    ) -> Result<(), CodecError> {
        if self.held.is_some() || self.batch.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        batch.extend(std::mem::take(&mut self.batch));
        self.send(cx, io, session, batch, false)
    }

    /// Whether deliveries are held for the host to become available again.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Sends the held deliveries again, with whatever completed behind them, in order; they
    /// are held again if the host is still unavailable.
    pub fn retry<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        session: u64,
    ) -> Result<(), CodecError> {
        let Some(mut batch) = self.held.take() else {
            return Ok(());
        };
        cx.shared.held = cx.shared.held.saturating_sub(batch.entries.len());
        batch.extend(std::mem::take(&mut self.batch));
        self.send(cx, io, session, batch, true)?;
        self.renew(cx, io)
    }

    /// Sends `batch` with one `queues.send` and settles it (or parks the durable part, or
    /// holds all of it while the host is unavailable).
    fn send<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        session: u64,
        batch: Batch,
        retrying: bool,
    ) -> Result<(), CodecError> {
        let sent = if batch.messages.is_empty() {
            None
        } else {
            Some(
                cx.broker
                    .send(&self.node.address, self.node.routing, &batch.messages),
            )
        };
        if let Some(Err(e)) = &sent
            && e.code == ErrorCode::Unavailable
        {
            // Nothing was stored: the deliveries stay unsettled (pre-settled ones too) and are
            // sent again after `RETRY_HELD_MS`; the connection's input pauses meanwhile.
            // Warned once per hold; each retry that finds the host still unavailable is a
            // debug line.
            let (level, what) = if retrying {
                (Level::Debug, "still holding")
            } else {
                (Level::Warn, "holding")
            };
            let held = batch.messages.len();
            let address = &self.node.address;
            cx.log(
                level,
                &format!(
                    "{what} {held} messages for {address}: the host is unavailable ({}); \
                     sending them again every {RETRY_HELD_MS} ms",
                    e.message
                ),
            );
            cx.shared.held += batch.entries.len();
            self.held = Some(batch);
            return Ok(());
        }
        let mut states = Vec::new();
        let mut durable = Vec::new();
        for (delivery_id, settled, check) in batch.entries {
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

    /// The link is going away: what it was assembling no longer counts, and what it held is
    /// dropped (it was never accepted).
    pub fn release(&mut self, shared: &mut Shared) {
        if let Some(a) = self.assembly.take() {
            shared.assembling_bytes = shared.assembling_bytes.saturating_sub(a.bytes.len());
        }
        if let Some(held) = self.held.take() {
            shared.held = shared.held.saturating_sub(held.entries.len());
        }
        self.batch.clear();
    }
}
