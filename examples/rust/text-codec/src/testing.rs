//! A fake host for native tests: the `queues`, `auth` and `clock` imports over in-memory
//! state, recording what the codec asked. The Kafka-side `broker` and `groups` calls are never
//! made by this codec; the fake fails the test if one is.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

use sluice_sdk::codec::*;

/// What one `queues.send` was asked.
pub struct SentCall {
    pub address: String,
    pub routing: Option<RoutingType>,
    pub messages: Vec<Message>,
}

#[derive(Default)]
pub struct FakeHost {
    pub anonymous_denied: Cell<bool>,
    pub sends: RefCell<Vec<SentCall>>,
    /// Returned as `sent.pending` by the next sends (a durable message not yet durable).
    pub pending: RefCell<Vec<LogPosition>>,
    /// Returned by the next send instead of storing.
    pub send_error: RefCell<Option<BrokerError>>,
    pub opened: RefCell<Vec<ConsumerOptions>>,
    /// Messages waiting, by consumer.
    pub waiting: RefCell<BTreeMap<u64, VecDeque<Message>>>,
    pub settled: RefCell<Vec<(u64, Vec<u64>, String)>>,
    pub closed: RefCell<Vec<u64>>,
    /// Consumers whose `receive` fails (as after their queue was deleted).
    pub gone: RefCell<Vec<u64>>,
    pub logs: RefCell<Vec<String>>,
    next_consumer: Cell<u64>,
    next_tag: Cell<u64>,
    version: Cell<u64>,
}

impl FakeHost {
    /// Puts a message with `body` on the queue of consumer `consumer`.
    pub fn offer(&self, consumer: u64, body: &[u8]) {
        self.version.set(self.version.get() + 1);
        self.waiting
            .borrow_mut()
            .entry(consumer)
            .or_default()
            .push_back(message(body));
    }
}

pub fn message(body: &[u8]) -> Message {
    Message {
        key: None,
        value: Some(body.to_vec()),
        headers: Vec::new(),
        timestamp_ms: 1,
        durable: true,
        expiry_ms: None,
    }
}

impl Queues for FakeHost {
    fn send(
        &self,
        address: &str,
        routing: Option<RoutingType>,
        messages: &[Message],
    ) -> Result<Sent, BrokerError> {
        if let Some(e) = self.send_error.borrow_mut().take() {
            return Err(e);
        }
        self.sends.borrow_mut().push(SentCall {
            address: address.to_owned(),
            routing,
            messages: messages.to_vec(),
        });
        Ok(Sent {
            routed: 1,
            pending: self.pending.borrow().clone(),
        })
    }
    fn open_consumer(&self, options: &ConsumerOptions) -> Result<Consumer, BrokerError> {
        if options.source.starts_with("missing") {
            return Err(BrokerError {
                code: ErrorCode::UnknownAddress,
                message: format!("no address {}", options.source),
            });
        }
        self.opened.borrow_mut().push(options.clone());
        let id = self.next_consumer.get() + 100;
        self.next_consumer.set(self.next_consumer.get() + 1);
        Ok(Consumer {
            id,
            address: options.source.clone(),
            queue: options.source.clone(),
            routing: options.routing.unwrap_or(RoutingType::Anycast),
        })
    }
    fn receive(
        &self,
        consumer: u64,
        max: u32,
        max_bytes: u32,
        settled: bool,
    ) -> Result<Received, BrokerError> {
        assert!(!settled, "the text codec acknowledges explicitly");
        if self.gone.borrow().contains(&consumer) {
            return Err(BrokerError {
                code: ErrorCode::UnknownConsumer,
                message: "queue deleted".to_owned(),
            });
        }
        let mut deliveries = Vec::new();
        let mut bytes = 0usize;
        let mut waiting = self.waiting.borrow_mut();
        let queue = waiting.entry(consumer).or_default();
        while deliveries.len() < max as usize
            && (deliveries.is_empty() || bytes < max_bytes as usize)
        {
            let Some(m) = queue.pop_front() else { break };
            bytes += m.value.as_ref().map_or(0, Vec::len);
            let tag = self.next_tag.get();
            self.next_tag.set(tag + 1);
            deliveries.push(Delivery {
                tag,
                message: m,
                delivery_count: 0,
                position: None,
            });
        }
        Ok(Received {
            deliveries,
            version: self.version.get(),
        })
    }
    fn settle(&self, consumer: u64, tags: &[u64], outcome: Outcome) -> Result<(), BrokerError> {
        self.settled
            .borrow_mut()
            .push((consumer, tags.to_vec(), format!("{outcome:?}")));
        Ok(())
    }
    fn close_consumer(&self, consumer: u64) {
        self.closed.borrow_mut().push(consumer);
    }
    fn anonymous_allowed(&self) -> bool {
        !self.anonymous_denied.get()
    }
    fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        (username == "ann" && password == "open sesame").then(|| Principal {
            name: "ann".to_owned(),
            mechanism: "plain".to_owned(),
        })
    }
    fn now_ms(&self) -> i64 {
        1_700_000_000_000
    }
}

/// The Kafka side of the host: the text codec never calls it.
impl Broker for FakeHost {
    fn cluster(&self) -> ClusterInfo {
        unreachable!("broker.cluster")
    }
    fn list_topics(&self) -> Vec<TopicInfo> {
        unreachable!("broker.list-topics")
    }
    fn describe_topic(&self, _: &str, _: bool) -> Result<TopicInfo, BrokerError> {
        unreachable!("broker.describe-topic")
    }
    fn create_topic(
        &self,
        _: &str,
        _: u32,
        _: &[(String, String)],
        _: bool,
    ) -> Result<TopicInfo, BrokerError> {
        unreachable!("broker.create-topic")
    }
    fn delete_topic(&self, _: &str) -> Result<(), BrokerError> {
        unreachable!("broker.delete-topic")
    }
    fn append(&self, _: &str, _: u32, _: &[u8]) -> Result<AppendResult, BrokerError> {
        unreachable!("broker.append")
    }
    fn read(&self, _: &str, _: u32, _: i64, _: u32) -> Result<ReadResult, BrokerError> {
        unreachable!("broker.read")
    }
    fn offsets(&self, _: &str, _: u32) -> Result<PartitionOffsets, BrokerError> {
        unreachable!("broker.offsets")
    }
    fn offset_for_timestamp(
        &self,
        _: &str,
        _: u32,
        _: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        unreachable!("broker.offset-for-timestamp")
    }
    fn create_partitions(&self, _: &str, _: u32, _: bool) -> Result<TopicInfo, BrokerError> {
        unreachable!("broker.create-partitions")
    }
    fn describe_topic_configs(&self, _: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        unreachable!("broker.describe-topic-configs")
    }
    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        unreachable!("broker.describe-broker-configs")
    }
    fn alter_topic_configs(
        &self,
        _: &str,
        _: &[ConfigChange],
        _: bool,
        _: bool,
    ) -> Result<(), BrokerError> {
        unreachable!("broker.alter-topic-configs")
    }
    fn delete_records(&self, _: &str, _: u32, _: i64) -> Result<i64, BrokerError> {
        unreachable!("broker.delete-records")
    }
    fn init_producer_id(
        &self,
        _: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        unreachable!("broker.init-producer-id")
    }
    fn group_join(&self, _: &JoinRequest) -> Result<JoinOutcome, GroupError> {
        unreachable!("groups.join")
    }
    fn group_join_poll(&self, _: &str, _: &str) -> Result<JoinOutcome, GroupError> {
        unreachable!("groups.join-poll")
    }
    fn group_sync(&self, _: &SyncRequest) -> Result<SyncOutcome, GroupError> {
        unreachable!("groups.sync")
    }
    fn group_sync_poll(&self, _: &str, _: &str, _: i32) -> Result<SyncOutcome, GroupError> {
        unreachable!("groups.sync-poll")
    }
    fn group_heartbeat(&self, _: &str, _: &MemberIdentity, _: i32) -> Result<(), GroupError> {
        unreachable!("groups.heartbeat")
    }
    fn group_leave(&self, _: &str, _: &[MemberIdentity]) -> GroupResults {
        unreachable!("groups.leave")
    }
    fn group_list(&self) -> Vec<GroupOverview> {
        unreachable!("groups.list")
    }
    fn group_describe(&self, _: &str) -> Result<GroupDescription, GroupError> {
        unreachable!("groups.describe")
    }
    fn group_delete(&self, _: &str) -> Result<(), GroupError> {
        unreachable!("groups.delete")
    }
    fn commit_offsets(&self, _: &str, _: &CommitAuthor, _: &[CommittedOffset]) -> GroupResults {
        unreachable!("groups.commit-offsets")
    }
    fn fetch_offsets(
        &self,
        _: &str,
        _: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        unreachable!("groups.fetch-offsets")
    }
    fn delete_offsets(&self, _: &str, _: &[TopicPartition]) -> GroupResults {
        unreachable!("groups.delete-offsets")
    }
    fn log(&self, _level: Level, message: &str) {
        self.logs.borrow_mut().push(message.to_owned());
    }
}
