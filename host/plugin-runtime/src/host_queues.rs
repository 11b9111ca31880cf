//! What the host offers codecs of the message-broker model: the `queues`, `auth` and `clock`
//! imports.
//!
//! Like `host`, this only forwards: the broker crate implements [`HostQueues`] over its address
//! model. Every queue call names the connection it is made for (the one whose `on-data` or
//! `on-wake` is running), because consumers belong to connections.
use crate::bindings::sluice::plugin::{auth, clock, queues};
use crate::bindings::{
    BrokerError, Consumer, ConsumerOptions, Message, Outcome, Principal, Received, RoutingType,
    Sent,
};
use crate::sandbox::StoreState;

/// The `queues` interface of `wit/queues.wit`; `connection` is the id of the connection being
/// served (its `connection-info.id`).
pub trait HostQueues: Send + Sync + 'static {
    /// `queues.send`.
    fn send(
        &self,
        connection: u64,
        address: &str,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
    ) -> Result<Sent, BrokerError>;
    /// `queues.open-consumer`.
    fn open_consumer(
        &self,
        connection: u64,
        options: ConsumerOptions,
    ) -> Result<Consumer, BrokerError>;
    /// `queues.receive`.
    fn receive(
        &self,
        connection: u64,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError>;
    /// `queues.settle`.
    fn settle(
        &self,
        connection: u64,
        consumer: u64,
        tags: &[u64],
        outcome: Outcome,
    ) -> Result<(), BrokerError>;
    /// `queues.close-consumer`.
    fn close_consumer(&self, connection: u64, consumer: u64);
}

/// The `auth` interface of `wit/auth.wit`.
pub trait HostAuth: Send + Sync + 'static {
    /// `auth.anonymous-allowed`.
    fn anonymous_allowed(&self) -> bool;
    /// `auth.authenticate`.
    fn authenticate(&self, username: &str, password: &str) -> Option<Principal>;
}

impl queues::Host for StoreState {
    fn send(
        &mut self,
        address: String,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
    ) -> Result<Sent, BrokerError> {
        self.host.send(self.connection, &address, routing, messages)
    }
    fn open_consumer(&mut self, options: ConsumerOptions) -> Result<Consumer, BrokerError> {
        self.host.open_consumer(self.connection, options)
    }
    fn receive(
        &mut self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError> {
        self.host
            .receive(self.connection, consumer, max, max_bytes, settled)
    }
    fn settle(
        &mut self,
        consumer: u64,
        tags: Vec<u64>,
        outcome: Outcome,
    ) -> Result<(), BrokerError> {
        self.host.settle(self.connection, consumer, &tags, outcome)
    }
    fn close_consumer(&mut self, consumer: u64) {
        self.host.close_consumer(self.connection, consumer);
    }
}

impl auth::Host for StoreState {
    fn anonymous_allowed(&mut self) -> bool {
        self.host.anonymous_allowed()
    }
    fn authenticate(&mut self, username: String, password: String) -> Option<Principal> {
        self.host.authenticate(&username, &password)
    }
}

impl clock::Host for StoreState {
    fn now_ms(&mut self) -> i64 {
        crate::imports::now_ms()
    }
}
