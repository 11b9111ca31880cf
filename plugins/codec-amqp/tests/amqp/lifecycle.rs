//! Whole conversations: open, begin, attach, flow, transfer, disposition, detach, end, close,
//! in both directions, and the heartbeat a peer's idle timeout asks for.

use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, TargetArchetype};
use fe2o3_amqp_types::performatives::{Close, End, Performative};
use sluice_sdk::codec::Message;

use crate::host::FakeHost;
use crate::peer::*;

fn end() -> Performative {
    Performative::End(End { error: None })
}

fn close() -> Performative {
    Performative::Close(Close { error: None })
}

#[test]
fn a_client_sends_a_message_from_open_to_close() {
    let mut peer = Peer::opened();
    let items = peer.attach_sender(0, "orders");
    let attach = &attaches(&items)[0];
    assert_eq!(attach.role, Role::Receiver);
    assert_eq!(attach.name, "sender-0");
    let Some(TargetArchetype::Target(target)) = attach.target.as_deref() else {
        panic!("{attach:?}")
    };
    assert_eq!(target.address.as_deref(), Some("orders"));
    let flow = &flows(&items)[0];
    assert_eq!(flow.handle.as_ref().map(|h| h.0), Some(attach.handle.0));
    assert_eq!(
        (flow.delivery_count, flow.link_credit),
        (Some(0), Some(1000))
    );

    let items = peer.transfer(0, 0, false, &message(false, b"hello"));
    let d = &dispositions(&items)[0];
    assert_eq!(
        (d.role.clone(), d.first, d.last, d.settled),
        (Role::Receiver, 0, None, true)
    );
    assert_eq!(d.state, Some(DeliveryState::Accepted(Accepted {})));
    let sent = peer.host.sent_to("orders");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].value.as_deref(), Some(&b"hello"[..]));

    let items = peer.input(&amqp(0, &detach(0), &[]));
    let d = &detaches(&items)[0];
    assert!(d.closed && d.error.is_none());
    let items = peer.input(&amqp(0, &end(), &[]));
    assert!(matches!(
        items[..],
        [Item::Frame {
            performative: Performative::End(End { error: None }),
            ..
        }]
    ));
    let items = peer.input(&amqp(0, &close(), &[]));
    assert!(matches!(
        items[..],
        [Item::Frame {
            performative: Performative::Close(Close { error: None }),
            ..
        }]
    ));
    assert!(peer.closed.is_some());
}

#[test]
fn a_client_receives_a_message_from_attach_to_close() {
    let mut peer = Peer::opened();
    peer.host.enqueue(
        "jobs",
        Message {
            key: None,
            value: Some(b"work".to_vec()),
            headers: Vec::new(),
            timestamp_ms: 5,
            durable: true,
            expiry_ms: None,
        },
    );
    let items = peer.attach_receiver(3, "jobs", 10);
    let attach = &attaches(&items)[0];
    assert_eq!(attach.role, Role::Sender);
    assert_eq!(attach.initial_delivery_count, Some(0));
    let opened = peer.host.state.borrow().opened.clone();
    assert_eq!(opened[0].source, "jobs");
    assert_eq!(opened[0].routing, None);

    let delivered = deliveries(&items);
    assert_eq!(delivered.len(), 1);
    let (t, _) = &delivered[0];
    assert_eq!(t.handle.0, attach.handle.0);
    assert_eq!(t.delivery_id, Some(0));
    assert_eq!(
        t.delivery_tag.as_ref().map(|t| t.to_vec()),
        Some(1u64.to_be_bytes().to_vec())
    );
    assert_eq!(t.settled, Some(false));
    assert_eq!(peer.conn.unsettled_out(), 1);

    let items = peer.input(&amqp(
        0,
        &disposition(0, None, true, DeliveryState::Accepted(Accepted {})),
        &[],
    ));
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(peer.host.settles(), [(1, vec![1], "accepted".to_owned())]);
    assert_eq!(peer.conn.unsettled_out(), 0);

    let items = peer.input(&amqp(0, &detach(3), &[]));
    assert_eq!(detaches(&items).len(), 1);
    assert_eq!(peer.host.state.borrow().closed, [1]);
    peer.input(&amqp(0, &end(), &[]));
    peer.input(&amqp(0, &close(), &[]));
    assert!(peer.closed.is_some());
}

#[test]
fn closing_the_connection_closes_its_consumers() {
    let mut peer = Peer::opened();
    peer.attach_receiver(0, "a", 1);
    peer.attach_receiver(1, "b", 1);
    peer.input(&amqp(0, &close(), &[]));
    assert_eq!(peer.host.state.borrow().closed, [1, 2]);
}

#[test]
fn the_peers_idle_timeout_is_kept_with_empty_frames() {
    let mut peer = Peer::with(FakeHost::default());
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(amqp(0, &open(65_536, Some(10_000)), &[]));
    peer.input(&bytes);
    let wait = peer
        .waits
        .iter()
        .find(|w| w.watch.is_empty() && w.consumers.is_empty())
        .cloned()
        .unwrap();
    assert_eq!(wait.timeout_ms, 5_000);
    let items = peer.wake(wait.token, true);
    assert!(matches!(items[..], [Item::Heartbeat]));
    assert_eq!(peer.waits.len(), 1, "the heartbeat is armed again");
}

#[test]
fn each_session_answers_on_a_channel_of_its_own() {
    let mut peer = Peer::opened();
    let items = peer.input(&amqp(3, &begin(), &[]));
    let Item::Frame {
        channel,
        performative: Performative::Begin(b),
        ..
    } = &items[0]
    else {
        panic!("{items:?}")
    };
    assert_eq!((*channel, b.remote_channel), (1, Some(3)));
    // Frames for that session are answered on its channel.
    let items = peer.input(&amqp(3, &sender(0, "q"), &[]));
    assert!(
        items
            .iter()
            .all(|i| matches!(i, Item::Frame { channel: 1, .. }))
    );
}
