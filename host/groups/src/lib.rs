//! Sluice's consumer-group coordinator: groups of consumers sharing work, and the offsets
//! they committed. Protocol-neutral; it implements `wit/groups.wit` for the codecs (Kafka's
//! consumer groups first, MQTT shared subscriptions later) and follows Kafka's classic group
//! coordinator, KIP-345 (static membership) and KIP-394 (member ids before membership).
//!
//! **Architecture Invariant:** the coordinator never reads protocol metadata or assignments,
//! never waits (joins and syncs answer `waiting(version)` and the codec polls), and never
//! reads the clock: every call takes `now`, so tests drive time.
//!
//! Flow, in module order: [`Coordinator`] (this file: the lock, group lookup and limits) →
//! `group` (one group's state machine) with `join` and `session` (the member calls) and
//! `protocol_select` → `commit` (the offset calls) → `offsets` (committed offsets in memory)
//! → `journal` (the CRC-framed file they are durable in) → `durable` (group-commit fsync).
//! `types`, `limits`, `ids` and `error` stand aside.
//!
//! Membership lives in memory only, as in Kafka: after a restart members join again. Groups
//! holding committed offsets come back `Empty`.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

mod commit;
mod durable;
mod error;
mod group;
mod ids;
mod join;
mod journal;
mod limits;
mod member;
mod offsets;
mod protocol_select;
mod session;
mod types;

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

pub use error::GroupsError;
pub use limits::GroupLimits;
pub use types::{
    CommitAuthor, CommittedOffset, GroupDescription, GroupError, GroupErrorCode, GroupOverview,
    GroupState, JoinOutcome, JoinRequest, JoinResult, MemberDescription, MemberIdentity,
    MemberMetadata, Protocol, SyncOutcome, SyncRequest, TopicPartition,
};

use durable::Syncer;
use error::{err, io_error, unknown_member};
use group::Group;
use ids::MemberIds;
use journal::{Journal, Record};
use offsets::Offsets;

/// Below this the journal is never rewritten: rewriting a small file saves nothing.
const JOURNAL_REWRITE_BYTES_MIN: u64 = 1 << 20;
const LOCK_FILE: &str = "groups.lock";

/// The host's group coordinator. `Send + Sync`: share it as `Arc<Coordinator>`.
///
/// One mutex guards every group and the offsets; calls are short and never touch the disk
/// under it except to append to the journal (the page cache). The fsync a commit waits for
/// runs outside it, shared by concurrent commits.
#[derive(Debug)]
pub struct Coordinator {
    limits: GroupLimits,
    state: Mutex<State>,
    syncer: Syncer,
    /// Held for the coordinator's life: two coordinators appending to one journal would
    /// interleave records.
    _lock: File,
}

// The broker shares one coordinator across its connection tasks.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Coordinator>();
};

#[derive(Debug)]
struct State {
    groups: BTreeMap<String, Group>,
    offsets: Offsets,
    journal: Journal,
    /// Batches appended to the journal so far; the syncer's sequence numbers.
    appended: u64,
    ids: MemberIds,
}

impl State {
    /// Journals `records`, then applies them; returns the batch number to wait on for
    /// durability. A journal left unreliable by an earlier failure is rewritten first.
    fn write(&mut self, syncer: &Syncer, records: &[Record<'_>]) -> Result<u64, GroupsError> {
        if let Some(reason) = syncer.poisoned() {
            tracing::warn!(reason, "rewriting the offsets journal after a failure");
            self.rewrite(syncer)?;
        }
        if let Err(e) = self.journal.append(records) {
            syncer.poison(e.to_string());
            return Err(e);
        }
        for record in records {
            self.offsets.apply(record);
        }
        self.appended += 1;
        syncer.appended(self.appended);
        let live = journal::HEADER_BYTES + self.offsets.live_bytes();
        if self.journal.len() > (2 * live).max(JOURNAL_REWRITE_BYTES_MIN) {
            tracing::debug!(
                bytes = self.journal.len(),
                live,
                "rewriting the offsets journal as a snapshot"
            );
            // The records are appended already; a failed rewrite only means the next write
            // tries again, first thing.
            if let Err(e) = self.rewrite(syncer) {
                tracing::warn!(error = %e, "offsets journal rewrite failed");
            }
        }
        Ok(self.appended)
    }

    /// Replaces the journal with a snapshot of the offsets in memory: everything applied so
    /// far is durable when it returns Ok.
    fn rewrite(&mut self, syncer: &Syncer) -> Result<(), GroupsError> {
        match self.journal.rewrite(self.offsets.snapshot()) {
            Ok(()) => {
                syncer.reset(self.journal.file(), self.appended);
                Ok(())
            }
            Err(e) => {
                syncer.poison(e.to_string());
                Err(e)
            }
        }
    }
}

/// Refuses group ids Kafka would refuse, and ids longer than the limit.
fn validate_group_id(group: &str, limits: &GroupLimits) -> Result<(), GroupError> {
    if group.is_empty() {
        return Err(err(GroupErrorCode::InvalidGroupId, "the group id is empty"));
    }
    if group.len() > limits.group_id_bytes_max {
        return Err(err(
            GroupErrorCode::InvalidGroupId,
            format!(
                "the group id is {} bytes long; the limit is {}",
                group.len(),
                limits.group_id_bytes_max
            ),
        ));
    }
    Ok(())
}

impl Coordinator {
    /// Opens the coordinator over `dir` (created if missing): replays the offsets journal,
    /// cutting a torn tail, and brings back every group that holds offsets, empty.
    pub fn open(dir: &Path, limits: GroupLimits) -> Result<Coordinator, GroupsError> {
        std::fs::create_dir_all(dir).map_err(io_error("create directory", dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(GroupsError::Io {
                    op: "lock (another coordinator has this directory open)",
                    path: lock_path,
                    source: std::io::ErrorKind::WouldBlock.into(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_error("lock", &lock_path)(e)),
        }

        let mut offsets = Offsets::default();
        let journal = Journal::open(dir, |record| offsets.apply(&record))?;
        let groups: BTreeMap<String, Group> = offsets
            .groups()
            .map(|id| (id.to_owned(), Group::new(id.to_owned())))
            .collect();
        tracing::info!(
            groups = groups.len(),
            offsets = offsets.count(),
            journal_bytes = journal.len(),
            "group coordinator opened"
        );
        let syncer = Syncer::new(journal.file());
        Ok(Coordinator {
            limits,
            state: Mutex::new(State {
                groups,
                offsets,
                journal,
                appended: 0,
                ids: MemberIds::new(),
            }),
            syncer,
            _lock: lock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing here panics while holding the lock; should something, the state is still
        // the last consistent one each call leaves, so carry on rather than fail every call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins `req.group`, creating it when it does not exist.
    pub fn join(&self, req: JoinRequest, now: Instant) -> Result<JoinOutcome, GroupError> {
        validate_group_id(&req.group, &self.limits)?;
        let timeouts = self.limits.session_timeout_min_ms..=self.limits.session_timeout_max_ms;
        if !timeouts.contains(&req.session_timeout_ms) {
            return Err(err(
                GroupErrorCode::InvalidSessionTimeout,
                format!(
                    "session timeout {} ms is outside {}..={} ms",
                    req.session_timeout_ms,
                    self.limits.session_timeout_min_ms,
                    self.limits.session_timeout_max_ms
                ),
            ));
        }
        let mut guard = self.lock();
        let State { groups, ids, .. } = &mut *guard;
        let created = !groups.contains_key(&req.group);
        if created {
            if !req.member_id.is_empty() {
                return Err(unknown_member(&req.group, &req.member_id));
            }
            if groups.len() >= self.limits.groups_max {
                return Err(err(
                    GroupErrorCode::LimitReached,
                    format!(
                        "the host holds its maximum of {} groups",
                        self.limits.groups_max
                    ),
                ));
            }
            groups.insert(req.group.clone(), Group::new(req.group.clone()));
        }
        let Some(group) = groups.get_mut(&req.group) else {
            return Err(unknown_member(&req.group, &req.member_id));
        };
        let outcome = group.join(&req, now, &self.limits, ids);
        if outcome.is_err() && created {
            groups.remove(&req.group);
        }
        outcome
    }

    /// Runs `f` on an existing group; a missing one is `unknown-member-id` (Kafka's answer to
    /// member calls on a group it does not know).
    fn with_member_group<T>(
        &self,
        group: &str,
        member_id: &str,
        f: impl FnOnce(&mut Group, &GroupLimits) -> Result<T, GroupError>,
    ) -> Result<T, GroupError> {
        validate_group_id(group, &self.limits)?;
        let mut state = self.lock();
        match state.groups.get_mut(group) {
            Some(g) => f(g, &self.limits),
            None => Err(unknown_member(group, member_id)),
        }
    }

    /// After a `Waiting` join: `Joined` once the rebalance completed, `Waiting` with the
    /// group's current version before (never `MemberIdRequired`).
    pub fn join_poll(
        &self,
        group: &str,
        member_id: &str,
        now: Instant,
    ) -> Result<JoinOutcome, GroupError> {
        self.with_member_group(group, member_id, |g, _| {
            Ok(match g.join_poll(member_id, now)? {
                Some(result) => JoinOutcome::Joined(result),
                None => JoinOutcome::Waiting {
                    member_id: member_id.to_owned(),
                    version: g.version(),
                },
            })
        })
    }

    /// Hands in (leader) or asks for (everyone) the assignments of a generation.
    pub fn sync(&self, req: SyncRequest, now: Instant) -> Result<SyncOutcome, GroupError> {
        self.with_member_group(&req.group, &req.member_id, |g, _| g.sync(&req, now))
    }

    /// After a `Waiting` sync: `Assigned` once the leader handed the assignments in,
    /// `Waiting` with the group's current version before.
    pub fn sync_poll(
        &self,
        group: &str,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<SyncOutcome, GroupError> {
        self.with_member_group(group, member_id, |g, _| {
            Ok(match g.sync_poll(member_id, generation, now)? {
                Some(assignment) => SyncOutcome::Assigned(assignment),
                None => SyncOutcome::Waiting(g.version()),
            })
        })
    }

    /// Keeps a member's session alive; `rebalance-in-progress` tells it to join again.
    pub fn heartbeat(
        &self,
        group: &str,
        member: MemberIdentity,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        self.with_member_group(group, &member.member_id, |g, _| {
            g.heartbeat(&member, generation, now)
        })
    }

    /// Members leave; one result per member, in order. A static member leaves only when its
    /// instance id is named.
    pub fn leave(
        &self,
        group: &str,
        members: Vec<MemberIdentity>,
        now: Instant,
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        validate_group_id(group, &self.limits)?;
        let mut state = self.lock();
        Ok(match state.groups.get_mut(group) {
            Some(g) => g.leave(&members, now, &self.limits),
            None => members
                .iter()
                .map(|m| Err(unknown_member(group, &m.member_id)))
                .collect(),
        })
    }

    /// Every group, in name order.
    pub fn list(&self) -> Vec<GroupOverview> {
        self.lock().groups.values().map(Group::overview).collect()
    }

    /// One group; one that does not exist is described as `Dead` with no members.
    pub fn describe(&self, group: &str) -> Result<GroupDescription, GroupError> {
        validate_group_id(group, &self.limits)?;
        let state = self.lock();
        Ok(match state.groups.get(group) {
            Some(g) => g.describe(),
            None => GroupDescription {
                group: group.to_owned(),
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol_name: String::new(),
                generation: 0,
                leader: String::new(),
                members: Vec::new(),
            },
        })
    }

    /// Expires sessions and KIP-394 ids, completes rebalances whose time came, and forgets
    /// groups left with neither members nor offsets. The broker calls it every 100 ms.
    pub fn tick(&self, now: Instant) {
        let mut guard = self.lock();
        let State {
            groups, offsets, ..
        } = &mut *guard;
        for group in groups.values_mut() {
            group.tick(now, &self.limits);
        }
        groups.retain(|id, g| !g.is_idle() || offsets.has_group(id));
    }

    /// A receiver of the group's version, which moves on every observable change; `None`
    /// when there is no such group. When the group is deleted the receiver sees the channel
    /// closed.
    pub fn watch(&self, group: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.lock().groups.get(group).map(Group::subscribe)
    }
}
