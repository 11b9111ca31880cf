//! One group's membership state machine: Kafka's classic group coordinator, driven by calls
//! and by `tick`, with time passed in. Joins live in `join.rs`; sync, heartbeat, leave and
//! commit checks in `session.rs`. Nothing here touches the disk.
//!
//! Empty → PreparingRebalance (a member joins) → CompletingRebalance (everyone joined, or the
//! deadline passed) → Stable (the leader handed in assignments) → PreparingRebalance (a join,
//! leave, expiry or protocol change) ... → Empty (the last member went).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use tokio::sync::watch;

use crate::error::{fenced, unknown_member};
use crate::ids::MemberIds;
use crate::limits::GroupLimits;
use crate::member::{Member, after};
use crate::protocol_select;
use crate::types::{
    GroupDescription, GroupError, GroupOverview, GroupState, JoinOutcome, JoinResult,
    MemberDescription, MemberMetadata,
};

/// A rebalance under way.
#[derive(Debug)]
pub(crate) struct Rebalance {
    /// When it completes whoever has joined.
    pub deadline: Instant,
    /// Set while an empty group's first rebalance waits for more members.
    pub initial: Option<InitialDelay>,
}

/// Kafka's `InitialDelayedJoin`: the rebalance of an empty group never completes early; each
/// time the delay passes with new members having arrived during it, it waits one more delay,
/// until the rebalance timeout is used up.
#[derive(Debug)]
pub(crate) struct InitialDelay {
    /// Rebalance time left for further delays.
    pub remaining_ms: u32,
    /// A member arrived during the current delay.
    pub new_member_added: bool,
}

/// One consumer group.
#[derive(Debug)]
pub(crate) struct Group {
    pub id: String,
    pub state: GroupState,
    /// Kept while the group is empty (Kafka shows it for offset-only groups too).
    pub protocol_type: String,
    /// The protocol of the open generation.
    pub protocol_name: Option<String>,
    pub generation: i32,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Instance id → the member id holding it now.
    pub statics: HashMap<String, String>,
    /// KIP-394: member ids handed out but not yet joined with, and when they lapse.
    pub pending: HashMap<String, Instant>,
    /// Member ids replaced by a newer member of the same instance, newest last, so their late
    /// calls get `fenced-instance-id` rather than `unknown-member-id`. Bounded by
    /// `members_max`: fencing is a courtesy, a client asking later gets `unknown-member-id`.
    pub fenced: VecDeque<String>,
    pub rebalance: Option<Rebalance>,
    /// Join order counter, for leader election.
    pub join_seq: u64,
    version: watch::Sender<u64>,
}

/// Kafka's generations wrap to 1, never to 0 (new group) or negative (no generation).
fn next_generation(generation: i32) -> i32 {
    if generation >= i32::MAX - 1 {
        1
    } else {
        generation.max(0) + 1
    }
}

impl Group {
    pub(crate) fn new(id: String) -> Group {
        Group {
            id,
            state: GroupState::Empty,
            protocol_type: String::new(),
            protocol_name: None,
            generation: 0,
            leader: None,
            members: BTreeMap::new(),
            statics: HashMap::new(),
            pending: HashMap::new(),
            fenced: VecDeque::new(),
            rebalance: None,
            join_seq: 0,
            version: watch::channel(0).0,
        }
    }

    /// The group's version now.
    pub(crate) fn version(&self) -> u64 {
        *self.version.borrow()
    }

    /// Marks an observable change, waking whoever waits on the group.
    pub(crate) fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// No members, no one about to join: the group may be forgotten unless it holds offsets.
    pub(crate) fn is_idle(&self) -> bool {
        self.state == GroupState::Empty && self.members.is_empty() && self.pending.is_empty()
    }

    /// A fresh member id, unused in this group.
    pub(crate) fn fresh_id(&self, ids: &mut MemberIds, client_id: &str) -> String {
        loop {
            let id = ids.next(client_id);
            if !self.members.contains_key(&id) && !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Remembers that `member_id` was replaced by a newer member of its instance.
    pub(crate) fn fence(&mut self, member_id: String, limits: &GroupLimits) {
        self.fenced.push_back(member_id);
        while self.fenced.len() > limits.members_max.max(1) {
            self.fenced.pop_front();
        }
    }

    /// The member `member_id`, checked the way Kafka checks every member call: a static
    /// instance now held by another member id is fenced, then the id must be a member.
    pub(crate) fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        if let Some(current) = instance_id.and_then(|i| self.statics.get(i))
            && current != member_id
        {
            return Err(fenced(&self.id, member_id));
        }
        if self.members.contains_key(member_id) {
            return Ok(());
        }
        if self.fenced.iter().any(|f| f == member_id) {
            return Err(fenced(&self.id, member_id));
        }
        Err(unknown_member(&self.id, member_id))
    }

    fn max_rebalance_timeout_ms(&self) -> u32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Starts a rebalance unless one is under way.
    pub(crate) fn prepare_rebalance(&mut self, now: Instant, limits: &GroupLimits) {
        match self.state {
            GroupState::PreparingRebalance | GroupState::Dead => return,
            GroupState::CompletingRebalance => {
                // The leader's assignments for this generation will never be accepted now;
                // members waiting for them learn of the rebalance from their next poll.
                for member in self.members.values_mut() {
                    member.assignment.clear();
                    member.awaiting_sync = false;
                }
            }
            GroupState::Empty | GroupState::Stable => {}
        }
        let timeout_ms = self.max_rebalance_timeout_ms();
        self.rebalance = Some(if self.state == GroupState::Empty {
            let delay_ms = limits.initial_rebalance_delay_ms;
            Rebalance {
                deadline: after(now, delay_ms),
                initial: Some(InitialDelay {
                    remaining_ms: timeout_ms.saturating_sub(delay_ms),
                    new_member_added: false,
                }),
            }
        } else {
            Rebalance {
                deadline: after(now, timeout_ms),
                initial: None,
            }
        });
        for member in self.members.values_mut() {
            member.joined = None;
        }
        tracing::debug!(group = %self.id, generation = self.generation, "rebalance started");
        self.state = GroupState::PreparingRebalance;
        self.bump();
    }

    /// Counts `member_id` as joined in the rebalance under way.
    pub(crate) fn mark_joined(&mut self, member_id: &str) {
        self.join_seq += 1;
        let seq = self.join_seq;
        if let Some(member) = self.members.get_mut(member_id) {
            member.joined.get_or_insert(seq);
            member.join_result = None;
            member.awaiting_sync = false;
        }
    }

    /// What a join by `member_id` resolved to so far.
    pub(crate) fn outcome_for(&self, member_id: &str) -> JoinOutcome {
        let waiting = || JoinOutcome::Waiting {
            member_id: member_id.to_owned(),
            version: self.version(),
        };
        match self.members.get(member_id) {
            Some(m) if m.joined.is_none() => match &m.join_result {
                Some(result) => JoinOutcome::Joined(result.clone()),
                None => waiting(),
            },
            _ => waiting(),
        }
    }

    fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.joined.is_some())
    }

    /// Completes the rebalance under way when its time has come: everyone joined, or the
    /// deadline passed (after an empty group's initial delays).
    pub(crate) fn advance(&mut self, now: Instant, limits: &GroupLimits) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.all_joined();
        loop {
            let Some(rebalance) = &mut self.rebalance else {
                self.complete(now);
                return;
            };
            let due = now >= rebalance.deadline;
            match &mut rebalance.initial {
                Some(initial) => {
                    if !due {
                        return;
                    }
                    if initial.new_member_added && initial.remaining_ms > 0 {
                        let delay_ms = limits.initial_rebalance_delay_ms.min(initial.remaining_ms);
                        initial.remaining_ms -= delay_ms;
                        initial.new_member_added = false;
                        rebalance.deadline = after(now, delay_ms);
                        continue;
                    }
                }
                None => {
                    if !due && !all_joined {
                        return;
                    }
                }
            }
            self.complete(now);
            return;
        }
    }

    /// Ends the rebalance: members that did not join are dropped, the next generation opens.
    fn complete(&mut self, now: Instant) {
        // KIP-345: a static member that missed the rebalance keeps its place (it may be
        // restarting); only its session timeout removes it. Dynamic ones are dropped, as in
        // Kafka's `onCompleteJoin`.
        let missing: Vec<String> = self
            .members
            .values()
            .filter(|m| m.joined.is_none() && m.instance_id.is_none())
            .map(|m| m.id.clone())
            .collect();
        for id in &missing {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time; removed");
            self.remove_member(id);
        }
        if self.members.is_empty() {
            self.generation = next_generation(self.generation);
            self.protocol_name = None;
            self.leader = None;
            self.rebalance = None;
            self.state = GroupState::Empty;
            self.bump();
            return;
        }
        if self.members.values().all(|m| m.joined.is_none()) {
            // Only static members that have not come back: no one could lead, so wait another
            // rebalance timeout, as Kafka does.
            let deadline = after(now, self.max_rebalance_timeout_ms());
            self.rebalance = Some(Rebalance {
                deadline,
                initial: None,
            });
            return;
        }

        let mut order: Vec<&Member> = self.members.values().collect();
        order.sort_by_key(|m| (m.joined.is_none(), m.joined, m.id.clone()));
        let lists: Vec<&[crate::types::Protocol]> =
            order.iter().map(|m| m.protocols.as_slice()).collect();
        let protocol = match protocol_select::select(&lists) {
            Some(p) => p.to_owned(),
            None => {
                // Joins are refused when they share no protocol, so this takes a member kept
                // across rebalances with stale protocols; fall back rather than stall.
                tracing::warn!(group = %self.id, "members share no protocol; using the first member's first");
                order
                    .first()
                    .and_then(|m| m.protocols.first())
                    .map(|p| p.name.clone())
                    .unwrap_or_default()
            }
        };
        let leader = match &self.leader {
            Some(l) if self.members.get(l).is_some_and(|m| m.joined.is_some()) => l.clone(),
            _ => order.first().map(|m| m.id.clone()).unwrap_or_default(),
        };
        let everyone: Vec<MemberMetadata> = order
            .iter()
            .map(|m| MemberMetadata {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                metadata: m.metadata_for(&protocol),
            })
            .collect();

        self.generation = next_generation(self.generation);
        self.protocol_name = Some(protocol.clone());
        self.leader = Some(leader.clone());
        self.rebalance = None;
        self.state = GroupState::CompletingRebalance;
        let generation = self.generation;
        let protocol_type = self.protocol_type.clone();
        for member in self.members.values_mut() {
            member.assignment.clear();
            member.awaiting_sync = false;
            member.refresh(now);
            if member.joined.take().is_some() {
                member.join_result = Some(JoinResult {
                    generation,
                    protocol_type: protocol_type.clone(),
                    protocol_name: protocol.clone(),
                    leader: leader.clone(),
                    member_id: member.id.clone(),
                    members: if member.id == leader {
                        everyone.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
        tracing::debug!(group = %self.id, generation, protocol = %protocol, leader = %leader, "rebalance completed");
        self.bump();
    }

    /// The current generation as `member_id` sees it (the member list for the leader only).
    pub(crate) fn current_result(&self, member_id: &str) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let leader = self.leader.clone().unwrap_or_default();
        let members = if member_id == leader {
            let mut order: Vec<&Member> = self.members.values().collect();
            order.sort_by_key(|m| m.id.clone());
            order
                .iter()
                .map(|m| MemberMetadata {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    metadata: m.metadata_for(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: protocol,
            leader,
            member_id: member_id.to_owned(),
            members,
        }
    }

    /// Takes a member out, with no rebalance: callers follow with [`Group::after_removal`].
    pub(crate) fn remove_member(&mut self, member_id: &str) -> bool {
        let Some(member) = self.members.remove(member_id) else {
            return false;
        };
        if let Some(instance) = &member.instance_id
            && self.statics.get(instance).is_some_and(|id| id == member_id)
        {
            self.statics.remove(instance);
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = None;
        }
        true
    }

    /// After members went: the rest rebalance (or the rebalance under way may now complete).
    pub(crate) fn after_removal(&mut self, now: Instant, limits: &GroupLimits) {
        self.bump();
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, limits);
                self.advance(now, limits);
            }
            GroupState::PreparingRebalance => self.advance(now, limits),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// Expires sessions and KIP-394 ids, and moves a rebalance whose time came.
    pub(crate) fn tick(&mut self, now: Instant, limits: &GroupLimits) {
        let pending_before = self.pending.len();
        self.pending.retain(|_, deadline| now < *deadline);
        let state = self.state;
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| now >= m.session_deadline)
            // Members waiting on the group (for the rebalance to complete, or for the
            // leader's assignment) are not at fault for the wait.
            .filter(|m| {
                !(state == GroupState::PreparingRebalance && m.joined.is_some()
                    || state == GroupState::CompletingRebalance && m.awaiting_sync)
            })
            .map(|m| m.id.clone())
            .collect();
        for id in &expired {
            tracing::info!(group = %self.id, member = %id, "member session expired; removed");
            self.remove_member(id);
        }
        if !expired.is_empty() {
            self.after_removal(now, limits);
        } else if self.pending.len() != pending_before {
            self.advance(now, limits);
        }
        self.advance(now, limits);
    }

    pub(crate) fn overview(&self) -> GroupOverview {
        GroupOverview {
            group: self.id.clone(),
            protocol_type: self.protocol_type.clone(),
            state: self.state,
        }
    }

    pub(crate) fn describe(&self) -> GroupDescription {
        let open = matches!(
            self.state,
            GroupState::CompletingRebalance | GroupState::Stable
        );
        let protocol = if open {
            self.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        let members = self
            .members
            .values()
            .map(|m| MemberDescription {
                member_id: m.id.clone(),
                instance_id: m.instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                metadata: if open {
                    m.metadata_for(&protocol)
                } else {
                    Vec::new()
                },
                assignment: if self.state == GroupState::Stable {
                    m.assignment.clone()
                } else {
                    Vec::new()
                },
            })
            .collect();
        GroupDescription {
            group: self.id.clone(),
            state: self.state,
            protocol_type: self.protocol_type.clone(),
            protocol_name: protocol,
            generation: self.generation,
            leader: self.leader.clone().unwrap_or_default(),
            members,
        }
    }
}
