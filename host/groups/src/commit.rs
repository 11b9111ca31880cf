//! The calls that change committed offsets, and group deletion (which takes a group's offsets
//! with it). Each journals its change under the lock, applies it, then waits outside the lock
//! for the fsync that makes it durable.

use std::collections::HashSet;
use std::time::Instant;

use crate::error::{err, illegal_generation, storage_error};
use crate::group::Group;
use crate::journal::{Commit, Record};
use crate::types::{
    CommitAuthor, CommittedOffset, GroupError, GroupErrorCode, GroupState, TopicPartition,
};
use crate::{Coordinator, GroupsError, validate_group_id};

impl Coordinator {
    /// Waits for batch `seq` to be durable.
    fn durable(&self, seq: u64) -> Result<(), GroupError> {
        self.syncer
            .wait(seq)
            .map_err(|reason| GroupError::new(GroupErrorCode::Storage, reason))
    }

    /// Commits offsets for `group` (creating it, empty, when it does not exist); one result
    /// per offset, in order. `exists` says whether a topic's partition exists; it is called
    /// before the coordinator's lock is taken, so it may take locks of its own. Returns once
    /// the accepted offsets are durable.
    pub fn commit_offsets(
        &self,
        group: &str,
        author: CommitAuthor,
        offsets: Vec<CommittedOffset>,
        exists: &dyn Fn(&str, u32) -> bool,
        now: Instant,
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        validate_group_id(group, &self.limits)?;
        let known: Vec<bool> = offsets
            .iter()
            .map(|o| exists(&o.topic, o.partition))
            .collect();
        let mut results = Vec::with_capacity(offsets.len());
        let seq = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let group_count = state.groups.len();
            match state.groups.get_mut(group) {
                Some(g) => g.check_commit_author(&author, now)?,
                // Kafka: a group it does not know accepts only commits outside any generation
                // (a client managing its own partitions); a generation means a member of a
                // group that has gone.
                None if author.generation >= 0 => {
                    return Err(illegal_generation(group, author.generation, 0));
                }
                None if group_count >= self.limits.groups_max => {
                    return Err(err(
                        GroupErrorCode::LimitReached,
                        format!(
                            "the host holds its maximum of {} groups",
                            self.limits.groups_max
                        ),
                    ));
                }
                None => {}
            }
            let mut records = Vec::new();
            let mut added: HashSet<(&str, u32)> = HashSet::new();
            for (o, known) in offsets.iter().zip(known) {
                let metadata_bytes = o.metadata.as_ref().map_or(0, String::len);
                let is_new = !state.offsets.contains(group, &o.topic, o.partition)
                    && !added.contains(&(o.topic.as_str(), o.partition));
                results.push(if !known {
                    Err(err(
                        GroupErrorCode::UnknownTopicOrPartition,
                        format!("topic `{}` has no partition {}", o.topic, o.partition),
                    ))
                } else if metadata_bytes > self.limits.offset_metadata_bytes_max {
                    Err(err(
                        GroupErrorCode::OffsetMetadataTooLarge,
                        format!(
                            "offset metadata of {metadata_bytes} bytes is above the limit of {}",
                            self.limits.offset_metadata_bytes_max
                        ),
                    ))
                } else if is_new && state.offsets.count() + added.len() >= self.limits.offsets_max {
                    Err(err(
                        GroupErrorCode::LimitReached,
                        format!(
                            "the host holds its maximum of {} committed offsets",
                            self.limits.offsets_max
                        ),
                    ))
                } else {
                    if is_new {
                        added.insert((o.topic.as_str(), o.partition));
                    }
                    records.push(Record::Commit(Commit {
                        group,
                        topic: &o.topic,
                        partition: o.partition,
                        offset: o.offset,
                        leader_epoch: o.leader_epoch,
                        metadata: o.metadata.as_deref(),
                    }));
                    Ok(())
                });
            }
            if records.is_empty() {
                return Ok(results);
            }
            let seq = state
                .write(&self.syncer, &records)
                .map_err(|e| storage_error(&e))?;
            if !state.groups.contains_key(group) {
                state
                    .groups
                    .insert(group.to_owned(), Group::new(group.to_owned()));
            }
            seq
        };
        self.durable(seq)?;
        Ok(results)
    }

    /// The committed offsets of `partitions` (offset -1 where none is), or with `None` every
    /// committed offset of the group, by topic then partition.
    pub fn fetch_offsets(
        &self,
        group: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        validate_group_id(group, &self.limits)?;
        let state = self.lock();
        Ok(match partitions {
            Some(partitions) => partitions
                .into_iter()
                .map(|tp| state.offsets.fetch(group, tp))
                .collect(),
            None => state.offsets.fetch_all(group),
        })
    }

    /// Forgets committed offsets (Kafka's OffsetDelete); one result per partition, in order.
    /// A partition with nothing committed is not an error. Kafka also refuses partitions of
    /// topics the group's members subscribe to; the host cannot read subscriptions (they are
    /// in opaque metadata), so that check is the codec's.
    pub fn delete_offsets(
        &self,
        group: &str,
        partitions: Vec<TopicPartition>,
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        validate_group_id(group, &self.limits)?;
        let seq = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if !state.groups.contains_key(group) {
                return Err(not_found(group));
            }
            let records: Vec<Record<'_>> = partitions
                .iter()
                .filter(|tp| state.offsets.contains(group, &tp.topic, tp.partition))
                .map(|tp| Record::DeleteOffset {
                    group,
                    topic: &tp.topic,
                    partition: tp.partition,
                })
                .collect();
            if records.is_empty() {
                None
            } else {
                Some(
                    state
                        .write(&self.syncer, &records)
                        .map_err(|e| storage_error(&e))?,
                )
            }
        };
        if let Some(seq) = seq {
            self.durable(seq)?;
        }
        Ok(partitions.iter().map(|_| Ok(())).collect())
    }

    /// Deletes a group that has no members, and its committed offsets, durably. Whoever
    /// watches it sees its channel close.
    pub fn delete(&self, group: &str) -> Result<(), GroupError> {
        validate_group_id(group, &self.limits)?;
        let seq = {
            let mut guard = self.lock();
            let state = &mut *guard;
            let Some(g) = state.groups.get(group) else {
                return Err(not_found(group));
            };
            if g.state != GroupState::Empty || !g.members.is_empty() {
                return Err(err(
                    GroupErrorCode::NonEmptyGroup,
                    format!("group `{group}` has members"),
                ));
            }
            let seq = if state.offsets.has_group(group) {
                Some(
                    state
                        .write(&self.syncer, &[Record::DeleteGroup { group }])
                        .map_err(|e| storage_error(&e))?,
                )
            } else {
                None
            };
            if let Some(g) = state.groups.remove(group) {
                g.bump();
            }
            tracing::info!(group, "group deleted");
            seq
        };
        if let Some(seq) = seq {
            self.durable(seq)?;
        }
        Ok(())
    }

    /// Forgets every group's offsets for a deleted topic, durably, so a topic created later
    /// under the same name does not start from them.
    pub fn forget_topic(&self, topic: &str) -> Result<(), GroupsError> {
        let (seq, path) = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if !state.offsets.has_topic(topic) {
                return Ok(());
            }
            let seq = state.write(&self.syncer, &[Record::ForgetTopic { topic }])?;
            (seq, state.journal.path().to_owned())
        };
        self.syncer.wait(seq).map_err(|reason| GroupsError::Io {
            op: "fsync",
            path,
            source: std::io::Error::other(reason),
        })
    }
}

fn not_found(group: &str) -> GroupError {
    err(
        GroupErrorCode::GroupIdNotFound,
        format!("no group `{group}`"),
    )
}
