//! Committed offsets in memory: what the journal replays into and what a snapshot is written
//! from. No I/O; the coordinator journals each change before applying it here.

use std::collections::BTreeMap;

use crate::journal::{Commit, Record, frame_bytes};
use crate::types::{CommittedOffset, TopicPartition};

/// One committed position, without its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

type Partitions = BTreeMap<(String, u32), Position>;

/// Every group's committed offsets, ordered so answers and snapshots come out sorted.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    groups: BTreeMap<String, Partitions>,
    /// Offsets held, across groups (the `offsets_max` limit counts these).
    count: usize,
    /// Bytes a snapshot of them takes in the journal, to decide when to rewrite it.
    live_bytes: u64,
}

fn commit_record<'a>(group: &'a str, key: &'a (String, u32), p: &'a Position) -> Record<'a> {
    Record::Commit(Commit {
        group,
        topic: &key.0,
        partition: key.1,
        offset: p.offset,
        leader_epoch: p.leader_epoch,
        metadata: p.metadata.as_deref(),
    })
}

impl Offsets {
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    pub(crate) fn has_group(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    pub(crate) fn contains(&self, group: &str, topic: &str, partition: u32) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.contains_key(&(topic.to_owned(), partition)))
    }

    /// Whether any group holds an offset of `topic`.
    pub(crate) fn has_topic(&self, topic: &str) -> bool {
        self.groups.values().any(|partitions| {
            partitions
                .range((topic.to_owned(), 0)..=(topic.to_owned(), u32::MAX))
                .next()
                .is_some()
        })
    }

    /// Group ids holding at least one offset.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// Applies a journalled change.
    pub(crate) fn apply(&mut self, record: &Record<'_>) {
        match *record {
            Record::Commit(c) => {
                let (group, key) = (c.group, (c.topic.to_owned(), c.partition));
                let position = Position {
                    offset: c.offset,
                    leader_epoch: c.leader_epoch,
                    metadata: c.metadata.map(str::to_owned),
                };
                let added = frame_bytes(record);
                let partitions = self.groups.entry(group.to_owned()).or_default();
                if let Some(old) = partitions.get(&key) {
                    let removed = frame_bytes(&commit_record(group, &key, old));
                    self.live_bytes = self.live_bytes.saturating_sub(removed);
                } else {
                    self.count += 1;
                }
                self.live_bytes += added;
                partitions.insert(key, position);
            }
            Record::DeleteOffset {
                group,
                topic,
                partition,
            } => {
                let Some(partitions) = self.groups.get_mut(group) else {
                    return;
                };
                let key = (topic.to_owned(), partition);
                if let Some(old) = partitions.remove(&key) {
                    self.forget_one(group, &key, &old);
                }
                if self.groups.get(group).is_some_and(BTreeMap::is_empty) {
                    self.groups.remove(group);
                }
            }
            Record::DeleteGroup { group } => {
                if let Some(partitions) = self.groups.remove(group) {
                    for (key, old) in &partitions {
                        self.forget_one(group, key, old);
                    }
                }
            }
            Record::ForgetTopic { topic } => {
                let mut gone = Vec::new();
                for (group, partitions) in &mut self.groups {
                    let keys: Vec<(String, u32)> = partitions
                        .range((topic.to_owned(), 0)..=(topic.to_owned(), u32::MAX))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for key in keys {
                        if let Some(old) = partitions.remove(&key) {
                            gone.push((group.clone(), key, old));
                        }
                    }
                }
                for (group, key, old) in &gone {
                    self.forget_one(group, key, old);
                }
                self.groups.retain(|_, partitions| !partitions.is_empty());
            }
        }
    }

    fn forget_one(&mut self, group: &str, key: &(String, u32), old: &Position) {
        self.count = self.count.saturating_sub(1);
        let bytes = frame_bytes(&commit_record(group, key, old));
        self.live_bytes = self.live_bytes.saturating_sub(bytes);
    }

    /// The committed offset of one partition; offset -1 when none.
    pub(crate) fn fetch(&self, group: &str, tp: TopicPartition) -> CommittedOffset {
        let found = self
            .groups
            .get(group)
            .and_then(|g| g.get(&(tp.topic.clone(), tp.partition)));
        match found {
            Some(p) => committed(tp.topic, tp.partition, p),
            None => CommittedOffset {
                topic: tp.topic,
                partition: tp.partition,
                offset: -1,
                leader_epoch: -1,
                metadata: None,
            },
        }
    }

    /// Every committed offset of `group`, by topic then partition.
    pub(crate) fn fetch_all(&self, group: &str) -> Vec<CommittedOffset> {
        self.groups.get(group).map_or_else(Vec::new, |g| {
            g.iter()
                .map(|((topic, partition), p)| committed(topic.clone(), *partition, p))
                .collect()
        })
    }

    /// A snapshot: one commit record per offset held.
    pub(crate) fn snapshot(&self) -> impl Iterator<Item = Record<'_>> {
        self.groups.iter().flat_map(|(group, partitions)| {
            partitions
                .iter()
                .map(move |(key, p)| commit_record(group, key, p))
        })
    }
}

fn committed(topic: String, partition: u32, p: &Position) -> CommittedOffset {
    CommittedOffset {
        topic,
        partition,
        offset: p.offset,
        leader_epoch: p.leader_epoch,
        metadata: p.metadata.clone(),
    }
}
