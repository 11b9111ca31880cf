//! `wit/queues.wit` over `sluice-queues`: the WIT's records become the crate's types one to one,
//! and the crate's errors become `error-code`s. Time is the host's wall clock, read per call.
use sluice_plugin_runtime::{
    BrokerError, Consumer, ConsumerOptions, Delivery, ErrorCode, Header, HostQueues, LogPosition,
    Message, Modification, Outcome, Received, RoutingType, Sent,
};
use sluice_queues as q;

use super::{BrokerService, broker_error};
use crate::metrics::traffic::Interface;
use crate::retention::now_ms;

impl HostQueues for BrokerService {
    fn send(
        &self,
        connection: u64,
        address: &str,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
    ) -> Result<Sent, BrokerError> {
        let count = u64::try_from(messages.len()).unwrap_or(u64::MAX);
        let messages = messages.into_iter().map(message_in).collect();
        let sent = self
            .queues
            .send(
                connection,
                address,
                routing.map(routing_in),
                messages,
                now_ms(),
            )
            .map_err(queues_error)?;
        self.traffic.received(Interface::Queues, count);
        Ok(Sent {
            routed: sent.routed,
            pending: sent
                .pending
                .into_iter()
                .map(|p| LogPosition {
                    topic: p.topic,
                    partition: p.partition,
                    offset: p.offset,
                })
                .collect(),
        })
    }

    fn open_consumer(
        &self,
        connection: u64,
        options: ConsumerOptions,
    ) -> Result<Consumer, BrokerError> {
        let options = q::ConsumerOptions {
            source: options.source,
            routing: options.routing.map(routing_in),
            subscription: options.subscription,
            durable: options.durable,
            dynamic: options.dynamic,
            selector: options.selector,
        };
        let consumer = self
            .queues
            .open_consumer(connection, options)
            .map_err(queues_error)?;
        Ok(Consumer {
            id: consumer.id,
            address: consumer.address,
            queue: consumer.queue,
            routing: routing_out(consumer.routing),
        })
    }

    fn receive(
        &self,
        connection: u64,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError> {
        let received = self
            .queues
            .receive(connection, consumer, max, max_bytes, settled, now_ms())
            .map_err(queues_error)?;
        let count = u64::try_from(received.deliveries.len()).unwrap_or(u64::MAX);
        self.traffic.delivered(Interface::Queues, count);
        Ok(Received {
            deliveries: received
                .deliveries
                .into_iter()
                .map(|d| Delivery {
                    tag: d.tag,
                    message: message_out(d.message),
                    delivery_count: d.delivery_count,
                    position: d.position.map(|(topic, partition, offset)| LogPosition {
                        topic,
                        partition,
                        offset,
                    }),
                })
                .collect(),
            version: received.version,
        })
    }

    fn settle(
        &self,
        connection: u64,
        consumer: u64,
        tags: &[u64],
        outcome: Outcome,
    ) -> Result<(), BrokerError> {
        let outcome = match outcome {
            Outcome::Accepted => q::Outcome::Accepted,
            Outcome::Released => q::Outcome::Released,
            Outcome::Rejected => q::Outcome::Rejected,
            Outcome::Modified(Modification {
                delivery_failed,
                undeliverable_here,
            }) => q::Outcome::Modified {
                delivery_failed,
                undeliverable_here,
            },
        };
        self.queues
            .settle(connection, consumer, tags, outcome, now_ms())
            .map_err(queues_error)
    }

    fn close_consumer(&self, connection: u64, consumer: u64) {
        self.queues.close_consumer(connection, consumer, now_ms());
    }
}

fn routing_in(routing: RoutingType) -> q::RoutingType {
    match routing {
        RoutingType::Anycast => q::RoutingType::Anycast,
        RoutingType::Multicast => q::RoutingType::Multicast,
    }
}

fn routing_out(routing: q::RoutingType) -> RoutingType {
    match routing {
        q::RoutingType::Anycast => RoutingType::Anycast,
        q::RoutingType::Multicast => RoutingType::Multicast,
    }
}

pub(crate) fn message_in(m: Message) -> q::Message {
    q::Message {
        key: m.key,
        value: m.value,
        headers: m.headers.into_iter().map(|h| (h.key, h.value)).collect(),
        timestamp_ms: m.timestamp_ms,
        durable: m.durable,
        expiry_ms: m.expiry_ms,
        // Read from the headers by the address model when it stores the message.
        delivery_time_ms: None,
        group_id: None,
    }
}

pub(crate) fn message_out(m: q::Message) -> Message {
    Message {
        key: m.key,
        value: m.value,
        headers: m
            .headers
            .into_iter()
            .map(|(key, value)| Header { key, value })
            .collect(),
        timestamp_ms: m.timestamp_ms,
        durable: m.durable,
        expiry_ms: m.expiry_ms,
    }
}

/// The `error-code` a codec maps onto its protocol's conditions.
pub fn queues_error(e: q::QueuesError) -> BrokerError {
    match e {
        q::QueuesError::Storage(e) => broker_error(e),
        e => BrokerError {
            code: code_of(&e),
            message: e.to_string(),
        },
    }
}

fn code_of(e: &q::QueuesError) -> ErrorCode {
    match e {
        q::QueuesError::UnknownAddress(_) => ErrorCode::UnknownAddress,
        q::QueuesError::InvalidAddress(_) => ErrorCode::InvalidAddress,
        q::QueuesError::InvalidRouting(_) => ErrorCode::InvalidRouting,
        q::QueuesError::ResourceLimit(_) => ErrorCode::ResourceLimit,
        q::QueuesError::UnknownConsumer(_) => ErrorCode::UnknownConsumer,
        q::QueuesError::Unavailable(_) => ErrorCode::Unavailable,
        q::QueuesError::InvalidFilter(_) => ErrorCode::InvalidFilter,
        q::QueuesError::Storage(_) => ErrorCode::Storage,
        // Only management calls make these; a codec never meets them.
        q::QueuesError::Exists(_) | q::QueuesError::Ambiguous(_) => ErrorCode::InvalidAddress,
        q::QueuesError::NotFound(_) => ErrorCode::UnknownAddress,
        q::QueuesError::InUse(_) => ErrorCode::ResourceLimit,
    }
}
