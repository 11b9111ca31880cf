//! Test helpers: a storage and an address model in a temporary directory, messages by body,
//! and short forms of the calls the tests make again and again.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use sluice_queues::{
    AddressSettingsRule, AddressView, ConsumerInfo, ConsumerOptions, Delivery, FilterRef, Message,
    Outcome, Placement, Policies, PolicyError, QueueStats, QueueTarget, Queues, QueuesConfig,
    Received, RoutingType, Sent, Verdict,
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
    policies: Option<Arc<TestPolicies>>,
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
        Broker::over(storage, config, None, durability, dir)
    }

    /// A broker (`relaxed`) routing and filtering with `policies`.
    pub fn with_policies(config: QueuesConfig, policies: &Arc<TestPolicies>) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let storage = open_storage(&dir, Durability::Relaxed);
        Broker::over(
            storage,
            config,
            Some(policies.clone()),
            Durability::Relaxed,
            dir,
        )
    }

    /// The model opened over `storage`.
    fn over(
        storage: Arc<Storage>,
        config: QueuesConfig,
        policies: Option<Arc<TestPolicies>>,
        durability: Durability,
        dir: tempfile::TempDir,
    ) -> Broker {
        let queues = match &policies {
            Some(p) => Queues::open_with_policies(storage.clone(), config.clone(), p.clone()),
            None => Queues::open(storage.clone(), config.clone()),
        }
        .unwrap();
        Broker {
            queues,
            storage,
            config,
            policies,
            durability,
            dir,
        }
    }

    /// The model dropped; what it stood on.
    #[allow(clippy::type_complexity)]
    fn without_model(
        self,
    ) -> (
        Arc<Storage>,
        QueuesConfig,
        Option<Arc<TestPolicies>>,
        Durability,
        tempfile::TempDir,
    ) {
        let Broker {
            queues,
            storage,
            config,
            policies,
            durability,
            dir,
        } = self;
        drop(queues);
        (storage, config, policies, durability, dir)
    }

    /// The model dropped and opened again over the same storage.
    pub fn reopen_model(self) -> Broker {
        let (storage, config, policies, durability, dir) = self.without_model();
        Broker::over(storage, config, policies, durability, dir)
    }

    /// The model dropped and opened again over the same storage with another configuration.
    pub fn reopen_with(mut self, config: QueuesConfig) -> Broker {
        self.config = config;
        self.reopen_model()
    }

    /// The model and storage both dropped (without a flush, as in a crash of the process)
    /// and opened again on the same directory.
    pub fn restart(self) -> Broker {
        let (storage, config, policies, durability, dir) = self.without_model();
        drop(storage);
        let storage = open_storage(&dir, durability);
        Broker::over(storage, config, policies, durability, dir)
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
                    selector: None,
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
        delivery_time_ms: None,
        group_id: None,
    }
}

/// [`message`] with these headers.
pub fn with_headers(body: &str, headers: &[(&str, &str)]) -> Message {
    Message {
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Some(v.as_bytes().to_vec())))
            .collect(),
        ..message(body)
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
    sluice_queues::QueueConfig::new(name, routing)
}

/// Address settings for addresses matching `pattern`, all else default.
pub fn rule(pattern: &str) -> AddressSettingsRule {
    AddressSettingsRule {
        pattern: pattern.into(),
        ..Default::default()
    }
}

/// A filter of the test plugin `match`, configured with `config` (see [`TestPolicies`]).
pub fn matching(config: &str) -> FilterRef {
    FilterRef {
        plugin: "match".into(),
        config: config.into(),
    }
}

/// One call of a router.
#[derive(Debug, Clone)]
pub struct RouteCall {
    pub router: String,
    pub view: AddressView,
    pub bodies: Vec<String>,
}

/// Routers and filters in Rust, recording their calls.
///
/// Routers, by name: `rotate` (message `i` to partition and queue `sequence + i`, modulo
/// their counts), `copies` (every queue, no partition), `pin` (queue 0, pinned to the consumer
/// whose id the header `to` holds), `out-of-range` (a queue index past the end), `short` (one
/// placement too few), `hold` (unavailable), `invalid` (refused); any other passes (`Bypass`),
/// so the default router routes the host's way.
///
/// Filters (any plugin name, selectors included), by configuration: `name=value` keeps the
/// messages whose header `name` is `value` and drops the rest; `rewrite` keeps all with their
/// bodies upper-cased; `hold` is unavailable; `bypass` passes; `invalid` is refused by
/// `check_filter` and by `filter`; `short` answers one verdict too few.
///
/// While [`TestPolicies::set_unavailable`] is on, every router and filter call is unavailable.
#[derive(Debug, Default)]
pub struct TestPolicies {
    pub routes: Mutex<Vec<RouteCall>>,
    /// Each filter call: its configuration and how many messages it judged.
    pub filters: Mutex<Vec<(String, usize)>>,
    unavailable: AtomicBool,
}

impl TestPolicies {
    pub fn new() -> Arc<TestPolicies> {
        Arc::new(TestPolicies::default())
    }

    pub fn set_unavailable(&self, on: bool) {
        self.unavailable.store(on, Ordering::SeqCst);
    }

    pub fn route_calls(&self) -> Vec<RouteCall> {
        self.routes.lock().unwrap().clone()
    }

    pub fn filter_calls(&self) -> Vec<(String, usize)> {
        self.filters.lock().unwrap().clone()
    }

    fn restarting(&self) -> Result<(), PolicyError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PolicyError::Unavailable("test plugin restarting".into()));
        }
        Ok(())
    }
}

impl Policies for TestPolicies {
    fn route(
        &self,
        router: &str,
        address: &AddressView,
        messages: &[&Message],
    ) -> Result<Vec<Placement>, PolicyError> {
        self.routes.lock().unwrap().push(RouteCall {
            router: router.to_owned(),
            view: address.clone(),
            bodies: messages
                .iter()
                .map(|m| String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into())
                .collect(),
        });
        self.restarting()?;
        let queues = address.queues.len() as u64;
        let partitions = u64::from(address.partitions);
        let place = |i: usize, m: &Message| -> Placement {
            let n = address.sequence + i as u64;
            match router {
                "rotate" => Placement {
                    partition: (partitions > 0).then(|| (n % partitions.max(1)) as u32),
                    queues: (queues > 0)
                        .then(|| QueueTarget {
                            queue: (n % queues.max(1)) as u32,
                            consumer: None,
                        })
                        .into_iter()
                        .collect(),
                },
                "copies" => Placement {
                    partition: None,
                    queues: (0..queues as u32)
                        .map(|queue| QueueTarget {
                            queue,
                            consumer: None,
                        })
                        .collect(),
                },
                "pin" => Placement {
                    partition: None,
                    queues: vec![QueueTarget {
                        queue: 0,
                        consumer: header(m, "to")
                            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()),
                    }],
                },
                _ => Placement {
                    partition: None,
                    queues: vec![QueueTarget {
                        queue: queues as u32,
                        consumer: None,
                    }],
                },
            }
        };
        match router {
            "rotate" | "copies" | "pin" | "out-of-range" => Ok(messages
                .iter()
                .enumerate()
                .map(|(i, m)| place(i, m))
                .collect()),
            "short" => Ok(messages
                .iter()
                .skip(1)
                .enumerate()
                .map(|(i, m)| place(i, m))
                .collect()),
            "hold" => Err(PolicyError::Unavailable("router holds".into())),
            "invalid" => Err(PolicyError::Invalid("no router `invalid`".into())),
            _ => Err(PolicyError::Bypass),
        }
    }

    fn check_filter(&self, filter: &FilterRef) -> Result<(), PolicyError> {
        self.restarting()?;
        if filter.config == "invalid" {
            return Err(PolicyError::Invalid(format!(
                "`{}` does not parse",
                filter.config
            )));
        }
        Ok(())
    }

    fn filter(
        &self,
        filter: &FilterRef,
        messages: &[Message],
    ) -> Result<Vec<Verdict>, PolicyError> {
        self.filters
            .lock()
            .unwrap()
            .push((filter.config.clone(), messages.len()));
        self.restarting()?;
        match filter.config.as_str() {
            "hold" => Err(PolicyError::Unavailable("filter holds".into())),
            "bypass" => Err(PolicyError::Bypass),
            "invalid" => Err(PolicyError::Invalid("`invalid` does not parse".into())),
            "short" => Ok(vec![Verdict::Keep; messages.len().saturating_sub(1)]),
            "rewrite" => Ok(messages
                .iter()
                .map(|m| {
                    let mut rewritten = m.clone();
                    rewritten.value = m.value.as_ref().map(|v| v.to_ascii_uppercase());
                    Verdict::Rewrite(rewritten)
                })
                .collect()),
            config => {
                let (name, value) = config.split_once('=').unwrap_or((config, ""));
                Ok(messages
                    .iter()
                    .map(|m| {
                        if header(m, name) == Some(value.as_bytes()) {
                            Verdict::Keep
                        } else {
                            Verdict::Drop
                        }
                    })
                    .collect())
            }
        }
    }
}
