//! Accepted only once durable: client deliveries wait for the log positions `send` returned.

use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};
use sluice_sdk::codec::WakeOn;

use crate::host::FakeHost;
use crate::peer::*;

fn holding() -> Peer {
    let host = FakeHost::default();
    host.hold_durability.set(true);
    let mut peer = Peer::opened_with(1024 * 1024, host);
    peer.attach_sender(0, "ledger");
    peer
}

#[test]
fn a_durable_message_is_accepted_only_after_its_positions_pass() {
    let mut peer = holding();
    let items = peer.transfer(0, 0, false, &message(true, b"entry"));
    assert!(dispositions(&items).is_empty(), "not durable yet");
    assert_eq!(peer.conn.awaiting_durable(), 1);
    let wait = peer.durability_wait().expect("a durability wait");
    assert_eq!(wait.wake_on, WakeOn::All);
    assert_eq!(wait.watch[0].topic, "ledger");
    assert_eq!(wait.watch[0].offset, 0);

    let items = peer.wake(wait.token, false);
    let d = dispositions(&items);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].first, d[0].settled), (0, true));
    assert_eq!(d[0].state, Some(DeliveryState::Accepted(Accepted {})));
    assert_eq!(peer.conn.awaiting_durable(), 0);
}

#[test]
fn a_durability_wait_that_times_out_is_armed_again_without_accepting() {
    let mut peer = holding();
    peer.transfer(0, 0, false, &message(true, b"entry"));
    let wait = peer.durability_wait().unwrap();
    let items = peer.wake(wait.token, true);
    assert!(dispositions(&items).is_empty());
    let again = peer.durability_wait().expect("armed again");
    let offsets = |w: &sluice_sdk::codec::Wait| {
        w.watch
            .iter()
            .map(|p| (p.topic.clone(), p.partition, p.offset))
            .collect::<Vec<_>>()
    };
    assert_eq!(offsets(&again), offsets(&wait));
    let items = peer.wake(again.token, false);
    assert_eq!(dispositions(&items).len(), 1);
}

#[test]
fn non_durable_messages_are_accepted_at_once_while_durable_ones_wait() {
    let mut peer = holding();
    let mut bytes = amqp(
        0,
        &transfer(0, 0, false, false),
        &message(false, b"volatile"),
    );
    bytes.extend(amqp(
        0,
        &transfer(0, 1, false, false),
        &message(true, b"kept"),
    ));
    let items = peer.input(&bytes);
    let d = dispositions(&items);
    assert_eq!((d.len(), d[0].first, d[0].last), (1, 0, None));
    let wait = peer.durability_wait().unwrap();
    let items = peer.wake(wait.token, false);
    assert_eq!(dispositions(&items)[0].first, 1);
}

#[test]
fn sends_that_wait_apart_share_one_wait_when_armed_together() {
    let mut peer = holding();
    peer.attach_sender(1, "audit");
    let mut bytes = amqp(0, &transfer(0, 0, false, false), &message(true, b"a"));
    bytes.extend(amqp(0, &transfer(1, 1, false, false), &message(true, b"b")));
    peer.input(&bytes);
    let waits: Vec<_> = peer.waits.iter().filter(|w| !w.watch.is_empty()).collect();
    assert_eq!(waits.len(), 1);
    let mut topics: Vec<_> = waits[0].watch.iter().map(|p| p.topic.clone()).collect();
    topics.sort();
    assert_eq!(topics, ["audit", "ledger"]);
    let token = waits[0].token;
    let items = peer.wake(token, false);
    let d = dispositions(&items);
    assert_eq!((d[0].first, d[0].last), (0, Some(1)));
}

#[test]
fn a_link_detached_while_waiting_gets_no_late_disposition() {
    let mut peer = holding();
    peer.transfer(0, 0, false, &message(true, b"entry"));
    peer.input(&amqp(0, &detach(0), &[]));
    let wait = peer.durability_wait().unwrap();
    assert!(dispositions(&peer.wake(wait.token, false)).is_empty());
}

#[test]
fn input_pauses_while_too_many_deliveries_await_durability() {
    let mut peer = holding();
    let mut handle = 0;
    let mut id = 0u32;
    // 1000 credit per link: eleven links carry more than the 10,000 bound.
    while peer.conn.awaiting_durable() <= 10_000 {
        if handle > 0 {
            peer.attach_sender(handle, "ledger");
        }
        let mut bytes = Vec::new();
        for _ in 0..1000 {
            bytes.extend(amqp(
                0,
                &transfer(handle, id, false, false),
                &message(true, b"x"),
            ));
            id += 1;
        }
        peer.input(&bytes);
        handle += 1;
    }
    assert!(peer.paused);
    let token = peer.durability_wait().unwrap().token;
    peer.wake(token, false);
    assert!(!peer.paused);
}

#[test]
fn a_failed_send_rejects_the_delivery_with_its_condition() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let items = peer.transfer(0, 0, false, &message(true, b"fail"));
    let d = &dispositions(&items)[0];
    let Some(DeliveryState::Rejected(r)) = &d.state else {
        panic!("{d:?}")
    };
    assert_eq!(condition(r.error.as_ref().unwrap()), "amqp:internal-error");
    assert!(d.settled);
}

#[test]
fn a_message_that_does_not_decode_is_rejected_and_not_stored() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let items = peer.transfer(0, 0, false, &[0x00, 0x53, 0x75, 0xa0, 0x09, 1]);
    let Some(DeliveryState::Rejected(r)) = &dispositions(&items)[0].state else {
        panic!("{items:?}")
    };
    assert_eq!(condition(r.error.as_ref().unwrap()), "amqp:decode-error");
    assert!(peer.host.sent_to("q").is_empty());
    assert!(peer.closed.is_none());
}
