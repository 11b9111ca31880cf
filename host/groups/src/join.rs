//! Joining a group: Kafka's `doJoinGroup` with KIP-345 (static members) and KIP-394 (member
//! ids handed out before a member counts).

use std::time::Instant;

use crate::error::{err, unknown_member};
use crate::group::Group;
use crate::ids::MemberIds;
use crate::limits::GroupLimits;
use crate::member::{Member, after};
use crate::protocol_select;
use crate::types::{GroupError, GroupErrorCode, GroupState, JoinOutcome, JoinRequest, JoinResult};

impl Group {
    /// A join. The coordinator validated the group id and session timeout, and created the
    /// group if it did not exist.
    pub(crate) fn join(
        &mut self,
        req: &JoinRequest,
        now: Instant,
        limits: &GroupLimits,
        ids: &mut MemberIds,
    ) -> Result<JoinOutcome, GroupError> {
        // The member's own current entry does not count against its new protocols.
        let own = if req.member_id.is_empty() {
            req.instance_id
                .as_ref()
                .and_then(|i| self.statics.get(i))
                .cloned()
        } else {
            Some(req.member_id.clone())
        };
        self.check_protocols(req, own.as_deref())?;

        if req.member_id.is_empty() {
            return self.join_new(req, now, limits, ids);
        }
        if self.pending.remove(&req.member_id).is_some() {
            let member = Member::new(req.member_id.clone(), req, now);
            return Ok(self.add_member(member, &req.protocol_type, now, limits));
        }
        self.check_member(&req.member_id, req.instance_id.as_deref())?;
        self.join_known(req, now, limits)
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol type and
    /// list; otherwise the type must match and one protocol must be supported by everyone.
    fn check_protocols(&self, req: &JoinRequest, own: Option<&str>) -> Result<(), GroupError> {
        let others: Vec<&[crate::types::Protocol]> = self
            .members
            .values()
            .filter(|m| Some(m.id.as_str()) != own)
            .map(|m| m.protocols.as_slice())
            .collect();
        let fits = if others.is_empty() {
            !req.protocol_type.is_empty() && !req.protocols.is_empty()
        } else {
            req.protocol_type == self.protocol_type
                && protocol_select::compatible(&others, &req.protocols)
        };
        if fits {
            Ok(())
        } else {
            Err(err(
                GroupErrorCode::InconsistentGroupProtocol,
                format!(
                    "protocol type `{}` with protocols [{}] does not fit group `{}` (type `{}`)",
                    req.protocol_type,
                    req.protocols
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.id,
                    self.protocol_type
                ),
            ))
        }
    }

    /// A join without a member id: a static member coming back, a new static member, or a new
    /// dynamic one (told its id first under KIP-394).
    fn join_new(
        &mut self,
        req: &JoinRequest,
        now: Instant,
        limits: &GroupLimits,
        ids: &mut MemberIds,
    ) -> Result<JoinOutcome, GroupError> {
        if let Some(old) = req.instance_id.as_ref().and_then(|i| self.statics.get(i)) {
            let old = old.clone();
            return Ok(self.replace_static(&old, req, now, limits, ids));
        }
        if self.members.len() + self.pending.len() >= limits.members_max {
            return Err(err(
                GroupErrorCode::GroupMaxSizeReached,
                format!(
                    "group `{}` has reached its maximum of {} members",
                    self.id, limits.members_max
                ),
            ));
        }
        let id = self.fresh_id(ids, &req.client_id);
        if req.instance_id.is_none() && req.require_known_member_id {
            self.pending
                .insert(id.clone(), after(now, req.session_timeout_ms));
            return Ok(JoinOutcome::MemberIdRequired(id));
        }
        let member = Member::new(id, req, now);
        Ok(self.add_member(member, &req.protocol_type, now, limits))
    }

    /// A new member enters and a rebalance starts (or the one under way takes it in).
    fn add_member(
        &mut self,
        member: Member,
        protocol_type: &str,
        now: Instant,
        limits: &GroupLimits,
    ) -> JoinOutcome {
        let id = member.id.clone();
        if self.members.is_empty() {
            self.protocol_type = protocol_type.to_owned();
        }
        if let Some(instance) = &member.instance_id {
            self.statics.insert(instance.clone(), id.clone());
        }
        if let Some(initial) = self.rebalance.as_mut().and_then(|r| r.initial.as_mut()) {
            initial.new_member_added = true;
        }
        tracing::debug!(group = %self.id, member = %id, "member joined");
        self.members.insert(id.clone(), member);
        self.prepare_rebalance(now, limits);
        self.mark_joined(&id);
        self.bump();
        self.advance(now, limits);
        self.outcome_for(&id)
    }

    /// A known member joins again.
    fn join_known(
        &mut self,
        req: &JoinRequest,
        now: Instant,
        limits: &GroupLimits,
    ) -> Result<JoinOutcome, GroupError> {
        let is_leader = self.leader.as_deref() == Some(req.member_id.as_str());
        let Some(member) = self.members.get_mut(&req.member_id) else {
            return Err(unknown_member(&self.id, &req.member_id));
        };
        let same = member.protocols == req.protocols;
        member.update(req, now);
        let state = self.state;
        match state {
            GroupState::Empty | GroupState::Dead => Err(unknown_member(&self.id, &req.member_id)),
            // A follower that lost its join answer gets it again; nothing changed.
            GroupState::CompletingRebalance | GroupState::Stable
                if same && (state == GroupState::CompletingRebalance || !is_leader) =>
            {
                let mut result = self.current_result(&req.member_id);
                if state == GroupState::Stable {
                    result.members.clear();
                }
                if let Some(member) = self.members.get_mut(&req.member_id) {
                    member.join_result = Some(result.clone());
                }
                Ok(JoinOutcome::Joined(result))
            }
            // New protocols, or the leader asking for a new assignment (its subscription
            // changed, say): everyone joins again.
            GroupState::PreparingRebalance
            | GroupState::CompletingRebalance
            | GroupState::Stable => {
                self.prepare_rebalance(now, limits);
                self.mark_joined(&req.member_id);
                self.bump();
                self.advance(now, limits);
                Ok(self.outcome_for(&req.member_id))
            }
        }
    }

    /// KIP-345: a static member rejoining without its member id takes its old entry over under
    /// a new id; the old id is fenced. In a stable group with unchanged protocols nothing else
    /// moves: it gets the current generation back, with the old leader id so that, even were
    /// it the leader, it does not compute an assignment a stable group would never hand out.
    fn replace_static(
        &mut self,
        old_id: &str,
        req: &JoinRequest,
        now: Instant,
        limits: &GroupLimits,
        ids: &mut MemberIds,
    ) -> JoinOutcome {
        let new_id = self.fresh_id(ids, &req.client_id);
        let Some(mut member) = self.members.remove(old_id) else {
            // `statics` pointed at nobody; treat the instance as new.
            if let Some(instance) = &req.instance_id {
                self.statics.remove(instance);
            }
            let member = Member::new(new_id, req, now);
            return self.add_member(member, &req.protocol_type, now, limits);
        };
        let previous_leader = self.leader.clone().unwrap_or_default();
        let same = member.protocols == req.protocols;
        member.id = new_id.clone();
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.update(req, now);
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        if let Some(instance) = &req.instance_id {
            self.statics.insert(instance.clone(), new_id.clone());
        }
        tracing::info!(group = %self.id, old = %old_id, new = %new_id, "static member rejoined; old member id fenced");
        self.fence(old_id.to_owned(), limits);
        self.members.insert(new_id.clone(), member);
        self.bump();

        if self.state == GroupState::Stable && same {
            let result = JoinResult {
                generation: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol_name.clone().unwrap_or_default(),
                leader: previous_leader,
                member_id: new_id.clone(),
                members: Vec::new(),
            };
            if let Some(member) = self.members.get_mut(&new_id) {
                member.join_result = Some(result.clone());
            }
            return JoinOutcome::Joined(result);
        }
        // In CompletingRebalance the leader may already be assigning to the old id: only a
        // new rebalance makes the assignment name the new one.
        self.prepare_rebalance(now, limits);
        self.mark_joined(&new_id);
        self.bump();
        self.advance(now, limits);
        self.outcome_for(&new_id)
    }

    /// After a `waiting` join: the result once the rebalance completed.
    pub(crate) fn join_poll(
        &mut self,
        member_id: &str,
        now: Instant,
    ) -> Result<Option<JoinResult>, GroupError> {
        self.check_member(member_id, None)?;
        let state = self.state;
        let Some(member) = self.members.get_mut(member_id) else {
            return Err(unknown_member(&self.id, member_id));
        };
        member.refresh(now);
        if member.joined.is_some() {
            return Ok(None);
        }
        if let Some(result) = &member.join_result {
            return Ok(Some(result.clone()));
        }
        // A member kept across a rebalance it did not join (a static member restarting).
        match state {
            GroupState::CompletingRebalance | GroupState::Stable => {
                let mut result = self.current_result(member_id);
                if state == GroupState::Stable {
                    result.members.clear();
                }
                Ok(Some(result))
            }
            _ => Err(crate::error::rebalancing(&self.id)),
        }
    }
}
