//! A member's calls after it joined: sync, heartbeat, leave, and the member check a commit
//! makes. Each follows the order of checks in Kafka's `GroupCoordinator`, so a client sees
//! the error Kafka would give first.

use std::collections::HashMap;
use std::time::Instant;

use crate::error::{fenced, illegal_generation, rebalancing, unknown_member};
use crate::group::Group;
use crate::limits::GroupLimits;
use crate::types::{
    CommitAuthor, GroupError, GroupState, MemberIdentity, SyncOutcome, SyncRequest,
};

impl Group {
    fn check_generation(&self, generation: i32) -> Result<(), GroupError> {
        if generation == self.generation {
            Ok(())
        } else {
            Err(illegal_generation(&self.id, generation, self.generation))
        }
    }

    fn refresh(&mut self, member_id: &str, now: Instant) {
        if let Some(member) = self.members.get_mut(member_id) {
            member.refresh(now);
        }
    }

    /// The leader hands in the assignments (the group becomes stable), or a member asks for
    /// its own.
    pub(crate) fn sync(
        &mut self,
        req: &SyncRequest,
        now: Instant,
    ) -> Result<SyncOutcome, GroupError> {
        self.check_member(&req.member_id, req.instance_id.as_deref())?;
        self.check_generation(req.generation)?;
        match self.state {
            GroupState::Empty | GroupState::Dead => Err(unknown_member(&self.id, &req.member_id)),
            GroupState::PreparingRebalance => Err(rebalancing(&self.id)),
            GroupState::CompletingRebalance => {
                self.refresh(&req.member_id, now);
                if self.leader.as_deref() != Some(req.member_id.as_str()) {
                    if let Some(member) = self.members.get_mut(&req.member_id) {
                        member.awaiting_sync = true;
                    }
                    return Ok(SyncOutcome::Waiting(self.version()));
                }
                let given: HashMap<&str, &Vec<u8>> = req
                    .assignments
                    .iter()
                    .map(|(id, bytes)| (id.as_str(), bytes))
                    .collect();
                for member in self.members.values_mut() {
                    member.assignment = given
                        .get(member.id.as_str())
                        .map(|b| (*b).clone())
                        .unwrap_or_default();
                    member.awaiting_sync = false;
                }
                self.state = GroupState::Stable;
                tracing::debug!(group = %self.id, generation = self.generation, "assignments stored; group stable");
                self.bump();
                Ok(SyncOutcome::Assigned(self.assignment_of(&req.member_id)))
            }
            GroupState::Stable => {
                self.refresh(&req.member_id, now);
                Ok(SyncOutcome::Assigned(self.assignment_of(&req.member_id)))
            }
        }
    }

    fn assignment_of(&self, member_id: &str) -> Vec<u8> {
        self.members
            .get(member_id)
            .map(|m| m.assignment.clone())
            .unwrap_or_default()
    }

    /// After a `waiting` sync: the assignment once the leader handed it in.
    pub(crate) fn sync_poll(
        &mut self,
        member_id: &str,
        generation: i32,
        now: Instant,
    ) -> Result<Option<Vec<u8>>, GroupError> {
        self.check_member(member_id, None)?;
        self.check_generation(generation)?;
        match self.state {
            GroupState::Empty | GroupState::Dead => Err(unknown_member(&self.id, member_id)),
            GroupState::PreparingRebalance => Err(rebalancing(&self.id)),
            GroupState::CompletingRebalance => {
                self.refresh(member_id, now);
                Ok(None)
            }
            GroupState::Stable => {
                self.refresh(member_id, now);
                Ok(Some(self.assignment_of(member_id)))
            }
        }
    }

    /// Keeps a session alive; during a rebalance it also tells the member to join again.
    pub(crate) fn heartbeat(
        &mut self,
        member: &MemberIdentity,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        self.check_member(&member.member_id, member.instance_id.as_deref())?;
        self.check_generation(generation)?;
        match self.state {
            GroupState::Empty | GroupState::Dead => {
                Err(unknown_member(&self.id, &member.member_id))
            }
            GroupState::PreparingRebalance => {
                self.refresh(&member.member_id, now);
                Err(rebalancing(&self.id))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.refresh(&member.member_id, now);
                Ok(())
            }
        }
    }

    /// Members leave; one result each. The rest rebalance.
    pub(crate) fn leave(
        &mut self,
        members: &[MemberIdentity],
        now: Instant,
        limits: &GroupLimits,
    ) -> Vec<Result<(), GroupError>> {
        let mut removed = false;
        let mut pending_removed = false;
        let results = members
            .iter()
            .map(|who| {
                if let Some(instance) = &who.instance_id {
                    let Some(current) = self.statics.get(instance).cloned() else {
                        return Err(unknown_member(&self.id, &who.member_id));
                    };
                    if !who.member_id.is_empty() && who.member_id != current {
                        return Err(fenced(&self.id, &who.member_id));
                    }
                    tracing::debug!(group = %self.id, member = %current, "static member left");
                    removed |= self.remove_member(&current);
                    return Ok(());
                }
                if self.pending.remove(&who.member_id).is_some() {
                    pending_removed = true;
                    return Ok(());
                }
                match self.members.get(&who.member_id) {
                    None => self.check_member(&who.member_id, None),
                    // KIP-345: a static member's place outlives its client's restarts; only
                    // a leave naming its instance (an admin's) or its session ends it.
                    Some(m) if m.instance_id.is_some() => {
                        tracing::debug!(group = %self.id, member = %who.member_id, "leave by member id ignored for a static member");
                        Ok(())
                    }
                    Some(_) => {
                        tracing::debug!(group = %self.id, member = %who.member_id, "member left");
                        removed |= self.remove_member(&who.member_id);
                        Ok(())
                    }
                }
            })
            .collect();
        if removed {
            self.after_removal(now, limits);
        } else if pending_removed {
            self.advance(now, limits);
        }
        results
    }

    /// Whether `author` may commit offsets for this group now (Kafka's `doCommitOffsets`):
    /// anyone while the group has no members and the commit names no generation; otherwise a
    /// member of the current generation, outside `CompletingRebalance` (it must sync first).
    /// A commit during `PreparingRebalance` is allowed, so members can commit what they
    /// processed before they join again.
    pub(crate) fn check_commit_author(
        &mut self,
        author: &CommitAuthor,
        now: Instant,
    ) -> Result<(), GroupError> {
        if let Some(current) = author
            .instance_id
            .as_deref()
            .and_then(|i| self.statics.get(i))
            && *current != author.member_id
        {
            return Err(fenced(&self.id, &author.member_id));
        }
        if author.generation < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        self.check_member(&author.member_id, None)?;
        self.check_generation(author.generation)?;
        match self.state {
            GroupState::Stable | GroupState::PreparingRebalance => {
                self.refresh(&author.member_id, now);
                Ok(())
            }
            GroupState::CompletingRebalance => Err(rebalancing(&self.id)),
            GroupState::Empty | GroupState::Dead => {
                Err(unknown_member(&self.id, &author.member_id))
            }
        }
    }
}
