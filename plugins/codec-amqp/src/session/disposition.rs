//! Dispositions from the client: what it made of the deliveries we sent.
//!
//! Place in the flow: `Session::on_frame` hands over each disposition. One from the receiving
//! end (the client as receiver) settles our deliveries `first..=last`: accepted, released,
//! rejected or modified. The settlements of a whole call collect in `Shared::settles` and
//! reach the host in [`settle_pending`], one `queues.settle` per consumer and outcome, when
//! the call's input is consumed and before any consumer closes (a consumer closing with
//! deliveries it does not know were settled would redeliver them). A client that
//! settles without an outcome gets the link's default outcome. A client that states an outcome
//! without settling (rcv-settle-mode `second`) is answered with a settled disposition. One
//! from the sending end (the client settling what it sent us) needs nothing: we settle first.

use std::collections::BTreeMap;

use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::DeliveryState;
use fe2o3_amqp_types::performatives::Disposition;
use sluice_sdk::codec::{Broker, Level, Queues};

use crate::context::{Cx, Shared};
use crate::errors::Fault;
use crate::link::Link;
use crate::link::outgoing::Settle;

use super::Session;

/// Handles a disposition from the client.
pub fn from_peer<B: Broker + Queues>(
    session: &mut Session,
    cx: &mut Cx<'_, B>,
    d: &Disposition,
) -> Result<(), Fault> {
    if d.role == Role::Sender {
        return Ok(());
    }
    let stated = match &d.state {
        Some(DeliveryState::Accepted(_)) => Some(Settle::Accepted),
        Some(DeliveryState::Released(_)) => Some(Settle::Released),
        Some(DeliveryState::Rejected(_)) => Some(Settle::Rejected),
        Some(DeliveryState::Modified(m)) => Some(Settle::modified(m)),
        // `received`, or a transactional state: not an outcome.
        _ => None,
    };
    if stated.is_none() && !d.settled {
        return Ok(());
    }
    let first = d.first;
    let last = d.last.unwrap_or(first);
    let unsettled = &mut session.io.unsettled;
    let ids: Vec<u32> = if first <= last {
        unsettled.range(first..=last).map(|(id, _)| *id).collect()
    } else {
        // The range wraps around the end of the delivery-id space.
        unsettled
            .range(first..)
            .chain(unsettled.range(..=last))
            .map(|(id, _)| *id)
            .collect()
    };
    if ids.is_empty() {
        return Ok(());
    }
    // Only a settle without an outcome needs the links' default outcomes.
    let defaults: BTreeMap<u64, Settle> = if stated.is_none() {
        session
            .links
            .values()
            .filter_map(|l| match l {
                Link::Outgoing(l) => Some((l.id, l.default_outcome())),
                _ => None,
            })
            .collect()
    } else {
        BTreeMap::new()
    };
    let mut settled = 0usize;
    for id in ids {
        let Some(u) = unsettled.remove(&id) else {
            continue;
        };
        settled += 1;
        let outcome = stated
            .or_else(|| defaults.get(&u.link).copied())
            .unwrap_or(Settle::Released);
        cx.shared
            .settles
            .entry((u.consumer, outcome))
            .or_default()
            .push(u.tag);
    }
    cx.shared.unsettled_out = cx.shared.unsettled_out.saturating_sub(settled);
    if !d.settled
        && let Some(state) = &d.state
    {
        session
            .io
            .disposition(cx.out, Role::Sender, first, last, state.clone())?;
    }
    Ok(())
}

/// Hands the settlements collected so far to the host.
pub fn settle_pending<B: Broker + Queues>(broker: &B, shared: &mut Shared) {
    for ((consumer, outcome), tags) in std::mem::take(&mut shared.settles) {
        if let Err(e) = broker.settle(consumer, &tags, outcome.outcome()) {
            broker.log(
                Level::Debug,
                &format!(
                    "amqp: settling {} deliveries of consumer {consumer} failed: {}",
                    tags.len(),
                    e.message
                ),
            );
        }
    }
}
