//! Client receiver links: messages from a queue to the client.
//!
//! Place in the flow: the session hands each attach with the client in the receiver role to
//! [`attach`], which opens a consumer (a dynamic temporary queue, a durable subscription named
//! `<container-id>.<link-name>`, or the address as given), with the JMS selector of the
//! source's filter set if it has one (echoed in our source; other filters are left out, as not
//! applied, and a selector the host cannot parse refuses the link with `amqp:invalid-field`).
//! After every call the connection lets each link [`Outgoing::deliver`]: it takes messages
//! with `queues.receive` while it has credit and the session's window allows, and sends them,
//! the delivery tag being the host's tag. A link that finds nothing parks on its queue's
//! version (a consumer wait); a draining link that finds nothing gives its credit back at
//! once.

use fe2o3_amqp_types::definitions::{AmqpError, Error, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{
    FilterSet, Modified, Outcome as AmqpOutcome, TerminusDurability,
};
use fe2o3_amqp_types::performatives::{Attach, Flow};
use serde_amqp::Value;
use serde_amqp::descriptor::Descriptor;
use serde_amqp::primitives::Symbol;
use sluice_sdk::codec::{
    Broker, ConsumerOptions, ConsumerWatch, Delivery, Level, Modification, Outcome, Queues,
};

use crate::context::Cx;
use crate::errors::{Fault, broker_error, error};
use crate::limits::{RECEIVE_BATCH_MAX, UNSETTLED_OUT_MAX, WRITE_BYTES_MAX};
use crate::link::{capability, node, reply};
use crate::message;
use crate::session::io::{Io, LinkFlow, Unsettled};

/// The delivery count our links start at (`attach.initial-delivery-count`).
const INITIAL_DELIVERY_COUNT: u32 = 0;

/// What the client made of a delivery, as the host settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Settle {
    /// `accepted`.
    Accepted,
    /// `released`.
    Released,
    /// `rejected`.
    Rejected,
    /// `modified`.
    Modified {
        /// `delivery-failed`.
        failed: bool,
        /// `undeliverable-here`.
        undeliverable: bool,
    },
}

impl Settle {
    /// The host's outcome.
    pub fn outcome(self) -> Outcome {
        match self {
            Settle::Accepted => Outcome::Accepted,
            Settle::Released => Outcome::Released,
            Settle::Rejected => Outcome::Rejected,
            Settle::Modified {
                failed,
                undeliverable,
            } => Outcome::Modified(Modification {
                delivery_failed: failed,
                undeliverable_here: undeliverable,
            }),
        }
    }

    /// An AMQP outcome's.
    pub fn of(outcome: &AmqpOutcome) -> Option<Settle> {
        Some(match outcome {
            AmqpOutcome::Accepted(_) => Settle::Accepted,
            AmqpOutcome::Released(_) => Settle::Released,
            AmqpOutcome::Rejected(_) => Settle::Rejected,
            AmqpOutcome::Modified(m) => Settle::modified(m),
            AmqpOutcome::Declared(_) => return None,
        })
    }

    /// A `modified` state's.
    pub fn modified(m: &Modified) -> Settle {
        Settle::Modified {
            failed: m.delivery_failed.unwrap_or(false),
            undeliverable: m.undeliverable_here.unwrap_or(false),
        }
    }
}

/// A client receiver link.
pub struct Outgoing {
    /// Never reused within the connection.
    pub id: u64,
    /// The handle we gave it.
    pub local_handle: u32,
    /// The consumer it reads.
    pub consumer: u64,
    /// Whether deliveries go out settled (the client asked for `snd-settle-mode settled`).
    presettled: bool,
    /// Deliveries sent, as the link counts them.
    delivery_count: u32,
    /// Deliveries the client still accepts.
    credit: u32,
    /// Whether the client asked us to use up the credit or give it back.
    drain: bool,
    /// The queue's version when `receive` last found nothing; cleared to look again.
    pub parked: Option<u64>,
    /// The token of the consumer wait covering it, while one is out.
    pub armed: Option<u64>,
    /// How to settle a delivery the client settles without an outcome.
    default_outcome: Settle,
}

/// Why `deliver` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Nothing more to do until the client, the queue or the session window moves.
    Idle,
    /// The call's output is full; deliver on in a later call.
    Full,
}

/// The descriptor of a JMS selector filter, by name (the filter registry of
/// `apache.org`, as qpid-jms and Artemis use it).
const SELECTOR_FILTER: &str = "apache.org:selector-filter:string";

/// The same descriptor, by code.
const SELECTOR_FILTER_CODE: u64 = 0x0000_468C_0000_0004;

/// Reads a source's filter set: the JMS selector it holds, if any, and the filter set that
/// says so (that entry alone, key and descriptor as sent). Filters of other types are not
/// applied, so they are not returned; more than one selector is `amqp:invalid-field`.
fn selector(filter: Option<&FilterSet>) -> Result<(Option<String>, Option<FilterSet>), Error> {
    let mut found: Option<(&Symbol, &Value, &str)> = None;
    for (key, value) in filter.into_iter().flatten() {
        let Value::Described(described) = value else {
            continue;
        };
        let is_selector = match &described.descriptor {
            Descriptor::Name(name) => name.as_str() == SELECTOR_FILTER,
            Descriptor::Code(code) => *code == SELECTOR_FILTER_CODE,
        };
        let (true, Value::String(text)) = (is_selector, &described.value) else {
            continue;
        };
        if found.is_some() {
            return Err(error(
                AmqpError::InvalidField,
                "a source with more than one selector filter",
            ));
        }
        found = Some((key, value, text));
    }
    Ok(match found {
        Some((key, value, text)) => {
            let mut applied = FilterSet::new();
            applied.insert(key.clone(), value.clone());
            (Some(text.to_owned()), Some(applied))
        }
        None => (None, None),
    })
}

/// Attaches a client receiver link, or says why not (the session writes the refusal).
pub fn attach<B: Broker + Queues>(
    cx: &mut Cx<'_, B>,
    peer: &Attach,
    local_handle: u32,
) -> Result<(Outgoing, Attach), Error> {
    let Some(source) = peer.source.as_deref() else {
        return Err(error(AmqpError::InvalidField, "a receiver needs a source"));
    };
    let (selector, applied) = selector(source.filter.as_ref())?;
    let options = if source.dynamic {
        ConsumerOptions {
            source: String::new(),
            routing: None,
            subscription: None,
            durable: false,
            dynamic: true,
            selector,
        }
    } else {
        let Some(address) = source.address.as_deref() else {
            return Err(error(
                AmqpError::InvalidField,
                "a source needs an address unless it is dynamic",
            ));
        };
        let node = node(address, source.capabilities.as_ref());
        let durable = source.durable != TerminusDurability::None;
        ConsumerOptions {
            source: node.address,
            routing: node.routing,
            subscription: durable.then(|| format!("{}.{}", cx.shared.container_id, peer.name)),
            durable,
            dynamic: false,
            selector,
        }
    };
    let consumer = cx
        .broker
        .open_consumer(&options)
        .map_err(|e| broker_error(&e))?;

    let default_outcome = source
        .default_outcome
        .as_ref()
        .and_then(Settle::of)
        .unwrap_or(Settle::Modified {
            failed: true,
            undeliverable: false,
        });
    let mut source = source.clone();
    if source.dynamic {
        source.address = Some(consumer.address.clone());
    }
    // The source lists the filters applied (spec 3.5.8), the selector alone: a client sees
    // that any other filter it asked for is not, and may refuse the link.
    let asked = source.filter.as_ref().map_or(0, FilterSet::len);
    if asked > applied.as_ref().map_or(0, FilterSet::len) {
        cx.log(
            Level::Debug,
            &format!(
                "link {:?}: filters other than a selector left out",
                peer.name
            ),
        );
    }
    source.filter = applied;
    if source.default_outcome.is_none() {
        source.default_outcome = Some(AmqpOutcome::Modified(Modified {
            delivery_failed: Some(true),
            undeliverable_here: None,
            message_annotations: None,
        }));
    }
    if source.capabilities.is_none() {
        source.capabilities = Some(capability(consumer.routing));
    }
    let mut answer = reply(peer, local_handle, Role::Sender);
    answer.source = Some(Box::new(source));
    // A client in rcv-settle-mode `second` gets its unsettled dispositions answered with
    // settled ones; nothing else differs, so its mode is echoed.
    answer.rcv_settle_mode = peer.rcv_settle_mode.clone();
    answer.initial_delivery_count = Some(INITIAL_DELIVERY_COUNT);
    cx.log(
        Level::Debug,
        &format!(
            "link {:?} reads {} (queue {})",
            peer.name, consumer.address, consumer.queue
        ),
    );
    let link = Outgoing {
        id: cx.shared.link_id(),
        local_handle,
        consumer: consumer.id,
        presettled: peer.snd_settle_mode == SenderSettleMode::Settled,
        delivery_count: INITIAL_DELIVERY_COUNT,
        credit: 0,
        drain: false,
        parked: None,
        armed: None,
        default_outcome,
    };
    Ok((link, answer))
}

impl Outgoing {
    /// The link's credit state, for a flow.
    pub fn flow(&self) -> LinkFlow {
        LinkFlow {
            handle: self.local_handle,
            delivery_count: self.delivery_count,
            credit: self.credit,
            drain: self.drain,
        }
    }

    /// The consumer wait this link needs: it has credit, found nothing, and no wait covers it.
    pub fn wants_wait(&self) -> Option<ConsumerWatch> {
        match (self.credit > 0, self.armed, self.parked) {
            (true, None, Some(version)) => Some(ConsumerWatch {
                consumer: self.consumer,
                version,
            }),
            _ => None,
        }
    }

    /// How a delivery the client settled without an outcome is settled.
    pub fn default_outcome(&self) -> Settle {
        self.default_outcome
    }

    /// A flow from the client: its credit, counted from the delivery count it states.
    pub fn flow_from_peer<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        flow: &Flow,
    ) -> Result<(), Fault> {
        if let Some(credit) = flow.link_credit {
            let counted = flow.delivery_count.unwrap_or(INITIAL_DELIVERY_COUNT);
            // Deliveries we sent that the client had not seen when it wrote the flow use up
            // part of the credit; a client lowering its credit below them leaves none.
            let left = counted
                .wrapping_add(credit)
                .wrapping_sub(self.delivery_count);
            self.credit = if left <= credit { left } else { 0 };
        }
        self.drain = flow.drain;
        // Look again: the credit may be new, and a drain must be answered.
        self.parked = None;
        if flow.echo {
            io.send_flow(cx.out, Some(self.flow()), false)?;
        }
        Ok(())
    }

    /// Sends what the credit, the session window and the call's output allow.
    pub fn deliver<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
    ) -> Result<Stop, Fault> {
        loop {
            if self.credit == 0 {
                return Ok(Stop::Idle);
            }
            let unsettled_room = if self.presettled {
                usize::MAX
            } else {
                UNSETTLED_OUT_MAX.saturating_sub(cx.shared.unsettled_out)
            };
            if self.parked.is_some() || !io.can_send() || unsettled_room == 0 {
                if self.drain {
                    self.finish_drain(cx, io)?;
                }
                return Ok(Stop::Idle);
            }
            let budget = WRITE_BYTES_MAX.saturating_sub(cx.out.write.len());
            if budget == 0 {
                return Ok(Stop::Full);
            }
            let max = self
                .credit
                .min(RECEIVE_BATCH_MAX)
                .min(io.window())
                .min(u32::try_from(unsettled_room).unwrap_or(u32::MAX));
            let max_bytes = u32::try_from(budget).unwrap_or(u32::MAX);
            let received = cx
                .broker
                .receive(self.consumer, max, max_bytes, self.presettled)
                .map_err(|e| Fault::Link(broker_error(&e)))?;
            if received.deliveries.is_empty() {
                self.parked = Some(received.version);
                continue;
            }
            for delivery in received.deliveries {
                self.send(cx, io, delivery)?;
            }
        }
    }

    /// Sends one delivery.
    fn send<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
        delivery: Delivery,
    ) -> Result<(), Fault> {
        let mut malformed = Vec::new();
        // Where the record sits in the topic Kafka clients read: known for a multicast
        // subscription, which reads the address's log; an anycast queue's copy has none.
        let position = delivery
            .position
            .as_ref()
            .map(|p| crate::record_form::Position {
                partition: p.partition,
                offset: p.offset,
            });
        let payload = message::outbound(
            &delivery.message,
            delivery.delivery_count,
            position,
            &mut |key| malformed.push(key.to_owned()),
        )?;
        if !malformed.is_empty() {
            cx.log(
                Level::Debug,
                &format!(
                    "record headers named like AMQP sections are not valid sections, so the \
                     record is sent as a plain (Kafka) record: {malformed:?}"
                ),
            );
        }
        let delivery_id = io.transfer(
            cx.out,
            self.local_handle,
            delivery.tag,
            self.presettled,
            &payload,
            cx.shared.peer_max_frame,
        )?;
        self.credit = self.credit.saturating_sub(1);
        self.delivery_count = self.delivery_count.wrapping_add(1);
        if !self.presettled {
            io.unsettled.insert(
                delivery_id,
                Unsettled {
                    link: self.id,
                    consumer: self.consumer,
                    tag: delivery.tag,
                },
            );
            cx.shared.unsettled_out += 1;
        }
        Ok(())
    }

    /// Nothing more to send while draining: the credit left is used up and the client told.
    fn finish_drain<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        io: &mut Io,
    ) -> Result<(), Fault> {
        self.delivery_count = self.delivery_count.wrapping_add(self.credit);
        self.credit = 0;
        io.send_flow(cx.out, Some(self.flow()), false)?;
        Ok(())
    }

    /// The link is going away: its consumer closes (its unsettled deliveries go back to the
    /// queue) and its deliveries are forgotten.
    pub fn close<B: Broker + Queues>(&self, cx: &mut Cx<'_, B>, io: &mut Io) {
        crate::session::disposition::settle_pending(cx.broker, cx.shared);
        cx.broker.close_consumer(self.consumer);
        io.forget(self.local_handle);
        let before = io.unsettled.len();
        io.unsettled.retain(|_, u| u.link != self.id);
        let removed = before - io.unsettled.len();
        cx.shared.unsettled_out = cx.shared.unsettled_out.saturating_sub(removed);
    }
}
