//! What clients make of the deliveries we send: each outcome reaches the host as its settle.

use fe2o3_amqp_types::definitions::{ReceiverSettleMode, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{
    Accepted, DeliveryState, Modified, Received, Rejected, Released,
};
use fe2o3_amqp_types::performatives::Performative;

use crate::peer::*;

/// A client holding `n` unsettled deliveries (ids and host tags from 0 and 1).
fn receiving(n: u8) -> Peer {
    let mut peer = Peer::opened();
    for i in 0..n {
        peer.host.enqueue("q", record(vec![i]));
    }
    let items = peer.attach_receiver(0, "q", 100);
    assert_eq!(deliveries(&items).len(), n as usize);
    peer
}

fn settle(peer: &mut Peer, id: u32, state: DeliveryState) -> Vec<Item> {
    peer.input(&amqp(0, &disposition(id, None, true, state), &[]))
}

#[test]
fn each_client_outcome_settles_with_the_matching_host_outcome() {
    let mut peer = receiving(5);
    settle(&mut peer, 0, DeliveryState::Accepted(Accepted {}));
    settle(&mut peer, 1, DeliveryState::Released(Released {}));
    settle(
        &mut peer,
        2,
        DeliveryState::Rejected(Rejected { error: None }),
    );
    settle(
        &mut peer,
        3,
        DeliveryState::Modified(Modified {
            delivery_failed: Some(true),
            undeliverable_here: Some(true),
            message_annotations: None,
        }),
    );
    settle(
        &mut peer,
        4,
        DeliveryState::Modified(Modified {
            delivery_failed: None,
            undeliverable_here: None,
            message_annotations: None,
        }),
    );
    let outcomes: Vec<_> = peer
        .host
        .settles()
        .into_iter()
        .map(|(_, tags, o)| (tags, o))
        .collect();
    assert_eq!(
        outcomes,
        [
            (vec![1], "accepted".to_owned()),
            (vec![2], "released".to_owned()),
            (vec![3], "rejected".to_owned()),
            (
                vec![4],
                "modified(failed=true, undeliverable=true)".to_owned()
            ),
            (
                vec![5],
                "modified(failed=false, undeliverable=false)".to_owned()
            ),
        ]
    );
    assert_eq!(peer.conn.unsettled_out(), 0);
}

#[test]
fn a_disposition_range_settles_every_delivery_in_it() {
    let mut peer = receiving(4);
    peer.input(&amqp(
        0,
        &disposition(1, Some(3), true, DeliveryState::Accepted(Accepted {})),
        &[],
    ));
    assert_eq!(
        peer.host.settles(),
        [(1, vec![2, 3, 4], "accepted".to_owned())]
    );
    assert_eq!(peer.conn.unsettled_out(), 1);
}

#[test]
fn an_outcome_without_settling_is_answered_with_a_settled_disposition() {
    let mut peer = Peer::opened();
    peer.host.enqueue("q", record(vec![1]));
    let mut attach = receiver(0, source("q"));
    if let Performative::Attach(a) = &mut attach {
        a.rcv_settle_mode = ReceiverSettleMode::Second;
    }
    let mut items = peer.input(&amqp(0, &attach, &[]));
    assert_eq!(
        attaches(&items)[0].rcv_settle_mode,
        ReceiverSettleMode::Second
    );
    items = peer.input(&amqp(0, &flow(0, 0, 1, false, false), &[]));
    assert_eq!(deliveries(&items).len(), 1);
    let items = peer.input(&amqp(
        0,
        &disposition(0, None, false, DeliveryState::Accepted(Accepted {})),
        &[],
    ));
    let d = &dispositions(&items)[0];
    assert_eq!(
        (d.role.clone(), d.first, d.settled),
        (Role::Sender, 0, true)
    );
    assert_eq!(d.state, Some(DeliveryState::Accepted(Accepted {})));
    assert_eq!(peer.host.settles().len(), 1);
}

#[test]
fn a_non_terminal_state_settles_nothing() {
    let mut peer = receiving(1);
    let items = peer.input(&amqp(
        0,
        &disposition(
            0,
            None,
            false,
            DeliveryState::Received(Received {
                section_number: 1,
                section_offset: 0,
            }),
        ),
        &[],
    ));
    assert!(items.is_empty());
    assert!(peer.host.settles().is_empty());
    assert_eq!(peer.conn.unsettled_out(), 1);
}

#[test]
fn settling_without_an_outcome_uses_the_default_outcome() {
    let mut peer = Peer::opened();
    peer.host.enqueue("q", record(vec![1]));
    let items = peer.attach_receiver(0, "q", 1);
    let source = attaches(&items)[0].source.clone().unwrap();
    assert!(matches!(
        source.default_outcome,
        Some(fe2o3_amqp_types::messaging::Outcome::Modified(_))
    ));
    let mut settle = disposition(0, None, true, DeliveryState::Accepted(Accepted {}));
    if let Performative::Disposition(d) = &mut settle {
        d.state = None;
    }
    peer.input(&amqp(0, &settle, &[]));
    assert_eq!(
        peer.host.settles(),
        [(
            1,
            vec![1],
            "modified(failed=true, undeliverable=false)".to_owned()
        )]
    );
}

#[test]
fn a_pre_settled_receiver_is_delivered_settled_and_tracks_nothing() {
    let mut peer = Peer::opened();
    peer.host.enqueue("q", record(vec![1]));
    peer.input(&amqp(
        0,
        &receiver_mode(0, source("q"), SenderSettleMode::Settled),
        &[],
    ));
    let items = peer.input(&amqp(0, &flow(0, 0, 1, false, false), &[]));
    let (t, _) = &deliveries(&items)[0];
    assert_eq!(t.settled, Some(true));
    assert_eq!(peer.conn.unsettled_out(), 0);
    assert!(peer.host.state.borrow().receives.iter().all(|r| r.3));
}

#[test]
fn detaching_a_receiver_closes_its_consumer_and_forgets_its_deliveries() {
    let mut peer = receiving(2);
    peer.input(&amqp(0, &detach(0), &[]));
    assert_eq!(peer.host.state.borrow().closed, [1]);
    assert_eq!(peer.conn.unsettled_out(), 0);
    // A late disposition for them is harmless.
    assert!(settle(&mut peer, 0, DeliveryState::Accepted(Accepted {})).is_empty());
    assert!(peer.host.settles().is_empty());
}
