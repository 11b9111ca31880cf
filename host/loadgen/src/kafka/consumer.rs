//! A Kafka consumer for load: fetches from its partitions of one topic, starting at a
//! group's committed offsets or at the log start or end, and commits what it consumed
//! without joining the group (generation -1, as a consumer using `assign()` does).
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, bail};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, TopicName};

use super::calls::{Start, commit, committed, list_offsets, partitions, topic_name};
use super::connection::Connection;
use crate::error::LoadError;

const FETCH_VERSION: i16 = 12;
/// Bytes one fetch asks for at most, all partitions together.
pub const FETCH_BYTES_MAX: i32 = 8 * 1024 * 1024;
/// Bytes one fetch asks for at most per partition (Kafka's `max.partition.fetch.bytes`).
const PARTITION_FETCH_BYTES_MAX: i32 = 1024 * 1024;
/// The longest a fetch waits for data: short enough that a consumer notices its idle timeout
/// or its stop within this.
pub const FETCH_WAIT_MAX: Duration = Duration::from_millis(500);
/// Kafka's OFFSET_OUT_OF_RANGE: the position is gone (retention) or not yet there.
const OFFSET_OUT_OF_RANGE: i16 = 1;

/// One record handed to a consumer's caller.
pub struct Consumed<'a> {
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its value (empty for a null one).
    pub value: &'a [u8],
}

/// One consumer connection over some partitions of a topic.
pub struct Consumer {
    conn: Connection,
    topic: String,
    topic_name: TopicName,
    /// The next offset to read, per partition.
    positions: BTreeMap<i32, i64>,
    /// Where a partition whose position is out of range goes.
    reset: Start,
    /// The group committed to, if any.
    group: Option<String>,
    /// What was last committed, per partition.
    committed: BTreeMap<i32, i64>,
}

impl Consumer {
    /// Connects to `address` and positions itself on the partitions of `topic` whose index
    /// is `share` modulo `shares` (several consumers split a topic as a group would): at
    /// `group`'s committed offsets where it has any, else at `start`.
    pub async fn connect(
        address: &str,
        topic: &str,
        (share, shares): (usize, usize),
        start: Start,
        group: Option<String>,
    ) -> Result<Consumer, LoadError> {
        let mut conn = Connection::connect(address).await?;
        let all = partitions(&mut conn, topic, false).await?;
        let mine: Vec<i32> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| i % shares.max(1) == share)
            .map(|(_, p)| *p)
            .collect();
        let mut positions = list_offsets(&mut conn, topic, &mine, start).await?;
        let mut known = BTreeMap::new();
        if let Some(group) = &group {
            for (p, offset) in committed(&mut conn, group, topic, &mine).await? {
                if let Some(offset) = offset {
                    positions.insert(p, offset);
                    known.insert(p, offset);
                }
            }
        }
        Ok(Consumer {
            conn,
            topic: topic.to_owned(),
            topic_name: topic_name(topic),
            positions,
            reset: start,
            group,
            committed: known,
        })
    }

    /// The partitions read.
    pub fn partitions(&self) -> Vec<i32> {
        self.positions.keys().copied().collect()
    }

    /// The next offset to read, per partition.
    pub fn positions(&self) -> &BTreeMap<i32, i64> {
        &self.positions
    }

    /// One fetch waiting up to `wait` (at most [`FETCH_WAIT_MAX`]) for data; hands each
    /// record to `record`, at most `limit` of them (the position stays on the first one
    /// not handed over); returns how many were.
    pub async fn poll(
        &mut self,
        wait: Duration,
        limit: Option<u64>,
        record: &mut (dyn FnMut(Consumed<'_>) + Send),
    ) -> anyhow::Result<u64> {
        if self.positions.is_empty() || limit == Some(0) {
            tokio::time::sleep(wait.min(FETCH_WAIT_MAX)).await;
            return Ok(0);
        }
        let wait_ms = i32::try_from(wait.min(FETCH_WAIT_MAX).as_millis()).unwrap_or(0);
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(FETCH_BYTES_MAX)
            .with_session_epoch(-1)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(self.topic_name.clone())
                    .with_partitions(
                        self.positions
                            .iter()
                            .map(|(&p, &offset)| {
                                FetchPartition::default()
                                    .with_partition(p)
                                    .with_fetch_offset(offset)
                                    .with_current_leader_epoch(-1)
                                    .with_last_fetched_epoch(-1)
                                    .with_log_start_offset(-1)
                                    .with_partition_max_bytes(PARTITION_FETCH_BYTES_MAX)
                            })
                            .collect(),
                    ),
            ]);
        let response = self.conn.call(FETCH_VERSION, &request).await?;
        if response.error_code != 0 {
            bail!(
                "refused by the broker: fetch: error {}",
                response.error_code
            );
        }
        let mut taken = 0u64;
        let mut reset = Vec::new();
        for data in response.responses.iter().flat_map(|t| &t.partitions) {
            let p = data.partition_index;
            match data.error_code {
                0 => {}
                OFFSET_OUT_OF_RANGE => {
                    reset.push(p);
                    continue;
                }
                code => bail!(
                    "refused by the broker: fetch {}/{p}: error {code}",
                    self.topic
                ),
            }
            let Some(bytes) = &data.records else { continue };
            let position = self
                .positions
                .get_mut(&p)
                .with_context(|| format!("records of partition {p}, which was not asked for"))?;
            'batches: for batch in sluice_storage::decode_batches(bytes) {
                if batch.last_offset < *position {
                    continue;
                }
                let records = batch.records.map_err(|e| {
                    anyhow::anyhow!("{}/{p} at offset {}: {e}", self.topic, batch.base_offset)
                })?;
                for r in &records {
                    if r.offset < *position {
                        continue;
                    }
                    if limit.is_some_and(|limit| taken >= limit) {
                        break 'batches;
                    }
                    record(Consumed {
                        partition: p,
                        offset: r.offset,
                        value: r.value.as_deref().unwrap_or_default(),
                    });
                    taken += 1;
                    *position = r.offset + 1;
                }
                // Past control batches and offsets compaction left empty.
                *position = (*position).max(batch.last_offset + 1);
            }
        }
        if !reset.is_empty() {
            let fresh = list_offsets(&mut self.conn, &self.topic, &reset, self.reset).await?;
            self.positions.extend(fresh);
        }
        Ok(taken)
    }

    /// Commits the positions that moved since the last commit, if a group is given.
    pub async fn commit(&mut self) -> anyhow::Result<()> {
        let Some(group) = &self.group else {
            return Ok(());
        };
        let moved: BTreeMap<i32, i64> = self
            .positions
            .iter()
            .filter(|(p, offset)| self.committed.get(p) != Some(offset))
            .map(|(&p, &offset)| (p, offset))
            .collect();
        commit(&mut self.conn, group, &self.topic, &moved).await?;
        self.committed.extend(moved);
        Ok(())
    }
}
