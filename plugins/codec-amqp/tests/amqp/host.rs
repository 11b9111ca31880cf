//! An in-memory host: the `queues`, `auth` and `clock` imports over one queue per address, and
//! a `broker` whose topic operations panic (the AMQP codec must never call them).
//!
//! Durability is the test's to decide: by default a send needs no waiting; after
//! [`FakeHost::hold_durability`] a send with durable messages returns a pending log position,
//! as storage under `fsync` does before its sync thread ran. While [`FakeHost::unavailable`]
//! is set, a router and the selector filter are restarting: a send with messages, and opening
//! a consumer with a selector, fail with `unavailable`. A selector with an odd number of
//! quotes does not parse (`invalid-filter`).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use sluice_sdk::codec::{
    AppendResult, Broker, BrokerError, ClusterInfo, CommitAuthor, CommittedOffset, ConfigChange,
    ConfigEntry, Consumer, ConsumerOptions, Delivery, ErrorCode, GroupDescription, GroupError,
    GroupOverview, GroupResults, JoinOutcome, JoinRequest, Level, LogPosition, MemberIdentity,
    Message, Outcome, PartitionOffsets, Principal, ProducerIdentity, Queues, ReadResult, Received,
    RoutingType, Sent, SyncOutcome, SyncRequest, TimestampOffset, TopicInfo, TopicPartition,
};

/// One address and its (single) queue.
pub struct Address {
    pub routing: RoutingType,
    /// Messages not handed out, with their failed deliveries so far.
    pub queue: VecDeque<(Message, u32)>,
}

/// A consumer the codec opened.
pub struct FakeConsumer {
    pub address: String,
    /// Handed out and not settled, by tag.
    pub delivering: BTreeMap<u64, (Message, u32)>,
}

#[derive(Default)]
pub struct State {
    pub addresses: BTreeMap<String, Address>,
    /// Every `send`, empty ones (attach checks) included.
    pub sends: Vec<(String, Option<RoutingType>, Vec<Message>)>,
    pub consumers: BTreeMap<u64, FakeConsumer>,
    pub opened: Vec<ConsumerOptions>,
    pub closed: Vec<u64>,
    pub receives: Vec<(u64, u32, u32, bool)>,
    pub settles: Vec<(u64, Vec<u64>, String)>,
    /// Sends refused as `unavailable` (not in `sends`), with their message count.
    pub unavailable_sends: Vec<(String, usize)>,
    next_consumer: u64,
    next_tag: u64,
    version: u64,
    next_offset: i64,
}

pub struct FakeHost {
    pub anonymous: Cell<bool>,
    pub users: Vec<(&'static str, &'static str)>,
    pub now_ms: Cell<i64>,
    pub auto_create: Cell<bool>,
    pub hold_durability: Cell<bool>,
    pub unavailable: Cell<bool>,
    pub state: RefCell<State>,
    pub logs: RefCell<Vec<(Level, String)>>,
}

impl Default for FakeHost {
    fn default() -> Self {
        FakeHost {
            anonymous: Cell::new(true),
            users: vec![("alice", "secret")],
            now_ms: Cell::new(1_700_000_000_000),
            auto_create: Cell::new(true),
            hold_durability: Cell::new(false),
            unavailable: Cell::new(false),
            state: RefCell::default(),
            logs: RefCell::default(),
        }
    }
}

fn err(code: ErrorCode, message: &str) -> BrokerError {
    BrokerError {
        code,
        message: message.to_owned(),
    }
}

fn valid(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b))
}

impl FakeHost {
    /// Puts a message on `address` (created anycast if missing), as another client would.
    pub fn enqueue(&self, address: &str, message: Message) {
        let mut s = self.state.borrow_mut();
        s.addresses
            .entry(address.to_owned())
            .or_insert_with(|| Address {
                routing: RoutingType::Anycast,
                queue: VecDeque::new(),
            })
            .queue
            .push_back((message, 0));
        s.version += 1;
    }

    /// Creates `address` with `routing`.
    pub fn create(&self, address: &str, routing: RoutingType) {
        self.state.borrow_mut().addresses.insert(
            address.to_owned(),
            Address {
                routing,
                queue: VecDeque::new(),
            },
        );
    }

    /// The messages sent to `address` (non-empty sends only).
    pub fn sent_to(&self, address: &str) -> Vec<Message> {
        self.state
            .borrow()
            .sends
            .iter()
            .filter(|(a, _, _)| a == address)
            .flat_map(|(_, _, m)| m.clone())
            .collect()
    }

    /// Sends with messages in them.
    pub fn send_calls(&self) -> Vec<(String, Option<RoutingType>, usize)> {
        self.state
            .borrow()
            .sends
            .iter()
            .filter(|(_, _, m)| !m.is_empty())
            .map(|(a, r, m)| (a.clone(), *r, m.len()))
            .collect()
    }

    pub fn settles(&self) -> Vec<(u64, Vec<u64>, String)> {
        self.state.borrow().settles.clone()
    }

    fn resolve(
        s: &mut State,
        address: &str,
        routing: Option<RoutingType>,
        auto_create: bool,
    ) -> Result<(), BrokerError> {
        let name = address.split("::").next().unwrap_or(address);
        if !valid(name) {
            return Err(err(ErrorCode::InvalidAddress, "bad name"));
        }
        if name.starts_with("secret") {
            return Err(err(ErrorCode::NotAuthorized, "not for you"));
        }
        match s.addresses.get(name) {
            Some(a) if routing.is_some_and(|r| r != a.routing) => {
                Err(err(ErrorCode::InvalidRouting, "other routing type"))
            }
            Some(_) => Ok(()),
            None if auto_create => {
                s.addresses.insert(
                    name.to_owned(),
                    Address {
                        routing: routing.unwrap_or(RoutingType::Anycast),
                        queue: VecDeque::new(),
                    },
                );
                Ok(())
            }
            None => Err(err(ErrorCode::UnknownAddress, "no such address")),
        }
    }
}

impl Queues for FakeHost {
    fn send(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: &[Message],
    ) -> Result<Sent, BrokerError> {
        let mut s = self.state.borrow_mut();
        if self.unavailable.get() && !messages.is_empty() {
            s.unavailable_sends
                .push((address.to_owned(), messages.len()));
            return Err(err(
                ErrorCode::Unavailable,
                "router plugin router-x is restarting",
            ));
        }
        s.sends
            .push((address.to_owned(), routing, messages.to_vec()));
        Self::resolve(&mut s, address, routing, self.auto_create.get())?;
        if messages.iter().any(|m| m.value.as_deref() == Some(b"fail")) {
            return Err(err(ErrorCode::Storage, "disk full"));
        }
        let name = address.split("::").next().unwrap_or(address).to_owned();
        if let Some(a) = s.addresses.get_mut(&name) {
            a.queue.extend(messages.iter().cloned().map(|m| (m, 0)));
        }
        let mut pending = Vec::new();
        if !messages.is_empty() {
            s.next_offset += messages.len() as i64;
            s.version += 1;
            if self.hold_durability.get() && messages.iter().any(|m| m.durable) {
                pending.push(LogPosition {
                    topic: name,
                    partition: 0,
                    offset: s.next_offset - 1,
                });
            }
        }
        Ok(Sent {
            routed: messages.len() as u32,
            pending,
        })
    }

    fn open_consumer(&self, options: &ConsumerOptions) -> Result<Consumer, BrokerError> {
        let mut s = self.state.borrow_mut();
        s.opened.push(options.clone());
        if let Some(selector) = &options.selector {
            if self.unavailable.get() {
                return Err(err(
                    ErrorCode::Unavailable,
                    "filter plugin selector is restarting",
                ));
            }
            if selector.matches('\'').count() % 2 == 1 {
                return Err(err(
                    ErrorCode::InvalidFilter,
                    &format!("unterminated string literal in selector {selector:?}"),
                ));
            }
        }
        let (address, routing) = if options.dynamic {
            let name = format!("dynamic-{}", s.next_consumer + 1);
            s.addresses.insert(
                name.clone(),
                Address {
                    routing: RoutingType::Anycast,
                    queue: VecDeque::new(),
                },
            );
            (name, RoutingType::Anycast)
        } else {
            Self::resolve(
                &mut s,
                &options.source,
                options.routing,
                self.auto_create.get(),
            )?;
            let a = &s.addresses[&options.source];
            (options.source.clone(), a.routing)
        };
        s.next_consumer += 1;
        let id = s.next_consumer;
        s.consumers.insert(
            id,
            FakeConsumer {
                address: address.clone(),
                delivering: BTreeMap::new(),
            },
        );
        let queue = options
            .subscription
            .clone()
            .unwrap_or_else(|| address.clone());
        Ok(Consumer {
            id,
            address,
            queue,
            routing,
        })
    }

    fn receive(
        &self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError> {
        let mut s = self.state.borrow_mut();
        s.receives.push((consumer, max, max_bytes, settled));
        let version = s.version;
        let Some(address) = s.consumers.get(&consumer).map(|c| c.address.clone()) else {
            return Err(err(ErrorCode::UnknownConsumer, "closed"));
        };
        let mut deliveries = Vec::new();
        let mut bytes = 0usize;
        while (deliveries.len() as u32) < max {
            let queue = &mut s.addresses.get_mut(&address).unwrap().queue;
            let Some((message, count)) = queue.front().cloned() else {
                break;
            };
            let size = message.value.as_ref().map_or(0, Vec::len);
            if !deliveries.is_empty() && bytes + size > max_bytes as usize {
                break;
            }
            queue.pop_front();
            bytes += size;
            s.next_tag += 1;
            let tag = s.next_tag;
            if !settled {
                s.consumers
                    .get_mut(&consumer)
                    .unwrap()
                    .delivering
                    .insert(tag, (message.clone(), count));
            }
            deliveries.push(Delivery {
                tag,
                message,
                delivery_count: count,
                position: None,
            });
        }
        Ok(Received {
            deliveries,
            version,
        })
    }

    fn settle(&self, consumer: u64, tags: &[u64], outcome: Outcome) -> Result<(), BrokerError> {
        let mut s = self.state.borrow_mut();
        let name = match &outcome {
            Outcome::Accepted => "accepted".to_owned(),
            Outcome::Released => "released".to_owned(),
            Outcome::Rejected => "rejected".to_owned(),
            Outcome::Modified(m) => format!(
                "modified(failed={}, undeliverable={})",
                m.delivery_failed, m.undeliverable_here
            ),
        };
        s.settles.push((consumer, tags.to_vec(), name));
        let Some(c) = s.consumers.get_mut(&consumer) else {
            return Err(err(ErrorCode::UnknownConsumer, "closed"));
        };
        for tag in tags {
            c.delivering.remove(tag);
        }
        Ok(())
    }

    fn close_consumer(&self, consumer: u64) {
        let mut s = self.state.borrow_mut();
        s.closed.push(consumer);
        if let Some(c) = s.consumers.remove(&consumer)
            && let Some(a) = s.addresses.get_mut(&c.address)
        {
            for (_, (m, count)) in c.delivering.into_iter().rev() {
                a.queue.push_front((m, count + 1));
            }
        }
    }

    fn anonymous_allowed(&self) -> bool {
        self.anonymous.get()
    }

    fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        self.users
            .iter()
            .any(|(u, p)| *u == username && *p == password)
            .then(|| Principal {
                name: username.to_owned(),
                mechanism: "plain".to_owned(),
            })
    }

    fn now_ms(&self) -> i64 {
        self.now_ms.get()
    }
}

impl Broker for FakeHost {
    fn cluster(&self) -> ClusterInfo {
        panic!("the AMQP codec called broker.cluster")
    }
    fn list_topics(&self) -> Vec<TopicInfo> {
        panic!("the AMQP codec called broker.list-topics")
    }
    fn describe_topic(&self, _: &str, _: bool) -> Result<TopicInfo, BrokerError> {
        panic!("the AMQP codec called broker.describe-topic")
    }
    fn create_topic(
        &self,
        _: &str,
        _: u32,
        _: &[(String, String)],
        _: bool,
    ) -> Result<TopicInfo, BrokerError> {
        panic!("the AMQP codec called broker.create-topic")
    }
    fn delete_topic(&self, _: &str) -> Result<(), BrokerError> {
        panic!("the AMQP codec called broker.delete-topic")
    }
    fn append(&self, _: &str, _: u32, _: &[u8]) -> Result<AppendResult, BrokerError> {
        panic!("the AMQP codec called broker.append")
    }
    fn read(&self, _: &str, _: u32, _: i64, _: u32) -> Result<ReadResult, BrokerError> {
        panic!("the AMQP codec called broker.read")
    }
    fn offsets(&self, _: &str, _: u32) -> Result<PartitionOffsets, BrokerError> {
        panic!("the AMQP codec called broker.offsets")
    }
    fn offset_for_timestamp(
        &self,
        _: &str,
        _: u32,
        _: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        panic!("the AMQP codec called broker.offset-for-timestamp")
    }
    fn create_partitions(&self, _: &str, _: u32, _: bool) -> Result<TopicInfo, BrokerError> {
        panic!("the AMQP codec called broker.create-partitions")
    }
    fn describe_topic_configs(&self, _: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        panic!("the AMQP codec called broker.describe-topic-configs")
    }
    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        panic!("the AMQP codec called broker.describe-broker-configs")
    }
    fn alter_topic_configs(
        &self,
        _: &str,
        _: &[ConfigChange],
        _: bool,
        _: bool,
    ) -> Result<(), BrokerError> {
        panic!("the AMQP codec called broker.alter-topic-configs")
    }
    fn delete_records(&self, _: &str, _: u32, _: i64) -> Result<i64, BrokerError> {
        panic!("the AMQP codec called broker.delete-records")
    }
    fn init_producer_id(
        &self,
        _: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        panic!("the AMQP codec called broker.init-producer-id")
    }
    fn group_join(&self, _: &JoinRequest) -> Result<JoinOutcome, GroupError> {
        panic!("the AMQP codec called groups.join")
    }
    fn group_join_poll(&self, _: &str, _: &str) -> Result<JoinOutcome, GroupError> {
        panic!("the AMQP codec called groups.join-poll")
    }
    fn group_sync(&self, _: &SyncRequest) -> Result<SyncOutcome, GroupError> {
        panic!("the AMQP codec called groups.sync")
    }
    fn group_sync_poll(&self, _: &str, _: &str, _: i32) -> Result<SyncOutcome, GroupError> {
        panic!("the AMQP codec called groups.sync-poll")
    }
    fn group_heartbeat(&self, _: &str, _: &MemberIdentity, _: i32) -> Result<(), GroupError> {
        panic!("the AMQP codec called groups.heartbeat")
    }
    fn group_leave(&self, _: &str, _: &[MemberIdentity]) -> GroupResults {
        panic!("the AMQP codec called groups.leave")
    }
    fn group_list(&self) -> Vec<GroupOverview> {
        panic!("the AMQP codec called groups.list")
    }
    fn group_describe(&self, _: &str) -> Result<GroupDescription, GroupError> {
        panic!("the AMQP codec called groups.describe")
    }
    fn group_delete(&self, _: &str) -> Result<(), GroupError> {
        panic!("the AMQP codec called groups.delete")
    }
    fn commit_offsets(&self, _: &str, _: &CommitAuthor, _: &[CommittedOffset]) -> GroupResults {
        panic!("the AMQP codec called groups.commit-offsets")
    }
    fn fetch_offsets(
        &self,
        _: &str,
        _: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        panic!("the AMQP codec called groups.fetch-offsets")
    }
    fn delete_offsets(&self, _: &str, _: &[TopicPartition]) -> GroupResults {
        panic!("the AMQP codec called groups.delete-offsets")
    }
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }
}
