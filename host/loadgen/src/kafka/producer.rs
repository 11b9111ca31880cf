//! A Kafka producer for load: records gathered into batches, one partition per batch
//! (round robin for keyless records, Kafka's default partitioner for a key), sent with
//! acks=all and at most [`IN_FLIGHT_MAX`] requests awaiting their answer, as librdkafka
//! keeps them.
use std::collections::VecDeque;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use sluice_storage::NewRecord;

use super::calls::{partitions, topic_name};
use super::connection::Connection;
use crate::error::LoadError;

const PRODUCE_VERSION: i16 = 9;
/// Requests awaiting their answer at most: Kafka's `max.in.flight.requests.per.connection`
/// default.
pub const IN_FLIGHT_MAX: usize = 5;
/// Records in one batch at most.
pub const BATCH_RECORDS_MAX: usize = 1000;
/// Record bytes in one batch at most: half a topic's default `max.message.bytes`
/// (1,048,588), so headers and overheads never push a batch over it.
pub const BATCH_BYTES_MAX: usize = 512 * 1024;
/// How long the broker may take to make a produce durable before answering
/// REQUEST_TIMED_OUT.
const PRODUCE_TIMEOUT_MS: i32 = 30_000;

/// A record waiting in the batch.
struct Pending {
    value: Vec<u8>,
    /// When it was handed over, for the acknowledgement latency.
    at: Instant,
}

/// A request awaiting its answer.
struct InFlight {
    correlation_id: i32,
    partition: i32,
    /// Each record's hand-over time and bytes.
    records: Vec<(Instant, usize)>,
}

/// One producer connection.
pub struct Producer {
    conn: Connection,
    topic: TopicName,
    partitions: Vec<i32>,
    /// The next keyless batch's partition, as an index into `partitions`.
    turn: usize,
    /// The key every record carries, if any.
    key: Option<Vec<u8>>,
    batch: Vec<Pending>,
    batch_bytes: usize,
    in_flight: VecDeque<InFlight>,
}

impl Producer {
    /// Connects to `address` and learns `topic`'s partitions (creating it if the broker
    /// auto-creates topics). `first` is the partition index keyless batches start at, so
    /// that several producers spread from the start.
    pub async fn connect(
        address: &str,
        topic: &str,
        key: Option<Vec<u8>>,
        first: usize,
    ) -> Result<Producer, LoadError> {
        let mut conn = Connection::connect(address).await?;
        let partitions = partitions(&mut conn, topic, true).await?;
        Ok(Producer {
            conn,
            topic: topic_name(topic),
            turn: first % partitions.len().max(1),
            partitions,
            key,
            batch: Vec::new(),
            batch_bytes: 0,
            in_flight: VecDeque::with_capacity(IN_FLIGHT_MAX),
        })
    }

    /// Requests awaiting their answer.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether the batch takes no more records.
    pub fn batch_full(&self) -> bool {
        self.batch.len() >= BATCH_RECORDS_MAX || self.batch_bytes >= BATCH_BYTES_MAX
    }

    /// Adds a record to the batch.
    pub fn push(&mut self, value: Vec<u8>) {
        self.batch_bytes += value.len();
        self.batch.push(Pending {
            value,
            at: Instant::now(),
        });
    }

    /// Sends the batch, if any, waiting first for an answer when [`IN_FLIGHT_MAX`] requests
    /// await theirs; `acked` is called for each record of each answered request.
    pub async fn send_batch(
        &mut self,
        acked: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= IN_FLIGHT_MAX {
            self.next_ack(acked).await?;
        }
        let partition = self.partition();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let records: Vec<NewRecord<'_>> = self
            .batch
            .iter()
            .map(|p| NewRecord {
                key: self.key.as_deref(),
                value: Some(&p.value),
                headers: Vec::new(),
                timestamp_ms: now_ms,
            })
            .collect();
        let batch = sluice_storage::encode_batch(&records)?;
        let request = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(PRODUCE_TIMEOUT_MS)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(self.topic.clone())
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(partition)
                            .with_records(Some(batch.into())),
                    ]),
            ]);
        let correlation_id = self.conn.send(PRODUCE_VERSION, &request).await?;
        let records = self
            .batch
            .drain(..)
            .map(|p| (p.at, p.value.len()))
            .collect();
        self.batch_bytes = 0;
        self.in_flight.push_back(InFlight {
            correlation_id,
            partition,
            records,
        });
        Ok(())
    }

    /// Reads the oldest request's answer and reports its records to `acked`. Cancel-safe:
    /// dropped while waiting, nothing is lost.
    pub async fn next_ack(
        &mut self,
        acked: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        let oldest = self
            .in_flight
            .front()
            .context("no request awaits an answer")?;
        let response = self
            .conn
            .receive::<ProduceRequest>(PRODUCE_VERSION, oldest.correlation_id)
            .await?;
        let Some(done) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let answer = response
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .find(|p| p.index == done.partition)
            .with_context(|| format!("no answer for partition {}", done.partition))?;
        ensure!(
            answer.error_code == 0,
            "refused by the broker: produce to {}/{}: error {} {}",
            self.topic.0.as_str(),
            done.partition,
            answer.error_code,
            answer.error_message.as_deref().unwrap_or_default()
        );
        for (at, bytes) in done.records {
            acked(at, bytes);
        }
        Ok(())
    }

    /// Sends the batch and waits for every answer.
    pub async fn finish(
        &mut self,
        acked: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        self.send_batch(acked).await?;
        while !self.in_flight.is_empty() {
            self.next_ack(acked).await?;
        }
        Ok(())
    }

    /// The partition of the next batch.
    fn partition(&mut self) -> i32 {
        let n = self.partitions.len().max(1);
        let index = match &self.key {
            Some(key) => (sluice_sdk::router::murmur2(key) & 0x7fff_ffff) as usize % n,
            None => {
                let turn = self.turn;
                self.turn = (self.turn + 1) % n;
                turn
            }
        };
        self.partitions.get(index).copied().unwrap_or(0)
    }
}
