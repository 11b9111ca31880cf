//! Test helpers: a storage and an address model in a temporary directory, messages by body,
//! and short forms of the calls the tests make again and again.

use std::sync::Arc;

use sluice_queues::{
    AddressSettingsRule, ConsumerInfo, ConsumerOptions, Delivery, Message, Outcome, QueueStats,
    Queues, QueuesConfig, Received, RoutingType, Sent,
};
use sluice_storage::{Durability, Storage, StorageConfig, TopicConfig};

/// Any fixed time will do; tests move it forward themselves.
pub const NOW: i64 = 1_700_000_000_000;
/// Receives take at most this many messages unless a test asks for fewer.
pub const MANY: u32 = 1000;
/// And this many bytes.
pub const MANY_BYTES: u32 = 1 << 20;
/// A failed delivery: counted, and the message redelivered (or dead-lettered at the limit).
pub const FAILED: Outcome = Outcome::Modified {
    delivery_failed: true,
    undeliverable_here: false,
};

/// A storage and the model over it, in a directory removed when dropped.
pub struct Broker {
    pub queues: Queues,
    pub storage: Arc<Storage>,
    config: QueuesConfig,
    durability: Durability,
    pub dir: tempfile::TempDir,
}

impl Broker {
    /// A broker under the `relaxed` policy: what is sent is readable at once.
    pub fn new(config: QueuesConfig) -> Broker {
        Broker::with_durability(config, Durability::Relaxed)
    }

    /// A broker under `durability`.
    pub fn with_durability(config: QueuesConfig, durability: Durability) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(&dir, durability);
        Broker::over(storage, config, durability, dir)
    }

    /// The model opened over `storage`.
    fn over(
        storage: Arc<Storage>,
        config: QueuesConfig,
        durability: Durability,
        dir: tempfile::TempDir,
    ) -> Broker {
        let queues = Queues::open(storage.clone(), config.clone()).unwrap();
        Broker {
            queues,
            storage,
            config,
            durability,
            dir,
        }
    }

    /// The model dropped; what it stood on.
    fn without_model(self) -> (Arc<Storage>, QueuesConfig, Durability, tempfile::TempDir) {
        let Broker {
            queues,
            storage,
            config,
            durability,
            dir,
        } = self;
        drop(queues);
        (storage, config, durability, dir)
    }

    /// The model dropped and opened again over the same storage.
    pub fn reopen_model(self) -> Broker {
        let (storage, config, durability, dir) = self.without_model();
        Broker::over(storage, config, durability, dir)
    }

    /// The model dropped and opened again over the same storage with another configuration.
    pub fn reopen_with(mut self, config: QueuesConfig) -> Broker {
        self.config = config;
        self.reopen_model()
    }

    /// The model and storage both dropped (without a flush, as in a crash of the process)
    /// and opened again on the same directory.
    pub fn restart(self) -> Broker {
        let (storage, config, durability, dir) = self.without_model();
        drop(storage);
        let storage = open_storage(&dir, durability);
        Broker::over(storage, config, durability, dir)
    }

    /// Sends messages with these bodies.
    pub fn send(&self, address: &str, routing: Option<RoutingType>, bodies: &[&str]) -> Sent {
        self.send_messages(
            address,
            routing,
            bodies.iter().map(|b| message(b)).collect(),
        )
    }

    /// Sends these messages at [`NOW`].
    pub fn send_messages(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: Vec<Message>,
    ) -> Sent {
        self.queues
            .send(1, address, routing, messages, NOW)
            .unwrap()
    }

    /// Opens a consumer on `connection`.
    pub fn consumer(&self, connection: u64, source: &str, routing: Option<RoutingType>) -> u64 {
        self.queues
            .open_consumer(
                connection,
                ConsumerOptions {
                    source: source.to_owned(),
                    routing,
                    ..ConsumerOptions::default()
                },
            )
            .unwrap()
            .id
    }

    /// Opens a consumer on a named subscription.
    pub fn subscriber(&self, connection: u64, address: &str, name: &str, durable: bool) -> u64 {
        self.queues
            .open_consumer(
                connection,
                ConsumerOptions {
                    source: address.to_owned(),
                    routing: Some(RoutingType::Multicast),
                    subscription: Some(name.to_owned()),
                    durable,
                    dynamic: false,
                },
            )
            .unwrap()
            .id
    }

    /// Opens a dynamic consumer on `connection`: a temporary address and queue of its own.
    pub fn dynamic_consumer(&self, connection: u64) -> ConsumerInfo {
        self.queues
            .open_consumer(
                connection,
                ConsumerOptions {
                    dynamic: true,
                    ..ConsumerOptions::default()
                },
            )
            .unwrap()
    }

    /// Takes up to `max` deliveries, unsettled, at `now`.
    pub fn receive_at(&self, connection: u64, consumer: u64, max: u32, now: i64) -> Vec<Delivery> {
        self.queues
            .receive(connection, consumer, max, MANY_BYTES, false, now)
            .unwrap()
            .deliveries
    }

    /// Takes everything there is, unsettled, with the version the answer was given at.
    pub fn receive_all(&self, connection: u64, consumer: u64) -> Received {
        self.queues
            .receive(connection, consumer, MANY, MANY_BYTES, false, NOW)
            .unwrap()
    }

    /// Takes up to `max` deliveries, unsettled.
    pub fn receive(&self, connection: u64, consumer: u64, max: u32) -> Vec<Delivery> {
        self.receive_at(connection, consumer, max, NOW)
    }

    /// Settles these deliveries with `outcome`.
    pub fn settle(
        &self,
        connection: u64,
        consumer: u64,
        deliveries: &[Delivery],
        outcome: Outcome,
    ) {
        let tags: Vec<u64> = deliveries.iter().map(|d| d.tag).collect();
        self.queues
            .settle(connection, consumer, &tags, outcome, NOW)
            .unwrap();
    }

    /// Takes everything there is and accepts it; the bodies.
    pub fn drain(&self, connection: u64, consumer: u64) -> Vec<String> {
        let got = self.receive(connection, consumer, MANY);
        self.settle(connection, consumer, &got, Outcome::Accepted);
        bodies(&got)
    }

    /// One queue's statistics.
    pub fn stats(&self, address: &str, queue: &str) -> QueueStats {
        self.queues
            .stats()
            .into_iter()
            .find(|s| s.address == address && s.name == queue)
            .unwrap_or_else(|| panic!("no queue {address}::{queue}"))
    }

    /// Whether the queue exists.
    pub fn has_queue(&self, address: &str, queue: &str) -> bool {
        self.queues
            .stats()
            .iter()
            .any(|s| s.address == address && s.name == queue)
    }
}

fn open_storage(dir: &tempfile::TempDir, durability: Durability) -> Arc<Storage> {
    Arc::new(
        Storage::open(StorageConfig {
            dir: dir.path().to_owned(),
            topic_defaults: TopicConfig {
                durability,
                ..TopicConfig::default()
            },
            ..StorageConfig::default()
        })
        .unwrap(),
    )
}

/// A durable keyless message with this body, sent at [`NOW`].
pub fn message(body: &str) -> Message {
    Message {
        key: None,
        value: Some(body.as_bytes().to_vec()),
        headers: Vec::new(),
        timestamp_ms: NOW,
        durable: true,
        expiry_ms: None,
    }
}

/// The bodies of deliveries, in order.
pub fn bodies(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| String::from_utf8(d.message.value.clone().unwrap_or_default()).unwrap())
        .collect()
}

/// The value of a header of a message.
pub fn header<'a>(message: &'a Message, key: &str) -> Option<&'a [u8]> {
    message
        .headers
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_deref())
}

/// Bodies `prefix-0` .. `prefix-{n-1}`.
pub fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// `numbered` as the `&str`s `send` takes.
pub fn refs(bodies: &[String]) -> Vec<&str> {
    bodies.iter().map(String::as_str).collect()
}

/// A configuration with one anycast queue `name` on address `name`.
pub fn anycast_queue(name: &str) -> sluice_queues::AddressConfig {
    sluice_queues::AddressConfig {
        name: name.to_owned(),
        routing: vec![RoutingType::Anycast],
        queues: vec![queue(name, RoutingType::Anycast)],
    }
}

/// A durable queue with default attributes.
pub fn queue(name: &str, routing: RoutingType) -> sluice_queues::QueueConfig {
    sluice_queues::QueueConfig {
        name: name.to_owned(),
        routing,
        durable: true,
        exclusive: false,
        max_consumers: -1,
        purge_on_no_consumers: false,
    }
}

/// Address settings for addresses matching `pattern`, all else default.
pub fn rule(pattern: &str) -> AddressSettingsRule {
    AddressSettingsRule {
        pattern: pattern.into(),
        ..Default::default()
    }
}
