//! A send the host answers `unavailable` (a router or filter plugin restarting) stored
//! nothing: the codec holds the deliveries unsettled, pauses its input, and sends them again
//! every 100 ms, in order and before anything after them, until the host takes them.

use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};
use sluice_sdk::codec::Level;

use crate::host::FakeHost;
use crate::peer::*;

const RETRY_MS: u32 = 100;

/// A connection with a sender on handle 0 to `q`, its host unavailable.
fn unavailable() -> Peer {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    peer.host.unavailable.set(true);
    peer
}

fn values(peer: &Peer) -> Vec<Vec<u8>> {
    peer.host
        .sent_to("q")
        .into_iter()
        .map(|m| m.value.unwrap())
        .collect()
}

fn warnings(peer: &Peer) -> Vec<String> {
    peer.host
        .logs
        .borrow()
        .iter()
        .filter(|(level, _)| *level == Level::Warn)
        .map(|(_, m)| m.clone())
        .collect()
}

fn bodies(ids: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    ids.map(|id| format!("m{id}").into_bytes()).collect()
}

/// Recovers the host and fires the retry wait.
fn recover(peer: &mut Peer) -> Vec<Item> {
    peer.host.unavailable.set(false);
    let retry = peer.timer_wait(RETRY_MS).expect("a retry wait");
    peer.wake(retry.token, true)
}

#[test]
fn unavailable_holds_the_messages_unsettled_and_pauses_input_until_the_retry_stores_them() {
    let mut peer = unavailable();
    let items = peer.input(&client_deliveries(0..3, false, |id| {
        message(false, format!("m{id}").as_bytes())
    }));
    assert!(
        dispositions(&items).is_empty(),
        "nothing settled: {items:?}"
    );
    assert!(peer.closed.is_none());
    assert!(peer.paused, "input paused while messages are held");
    assert_eq!(peer.conn.held(), 3);
    assert!(values(&peer).is_empty(), "nothing stored");
    assert_eq!(
        peer.host.state.borrow().unavailable_sends,
        [("q".into(), 3)]
    );
    let retry = peer.timer_wait(RETRY_MS).expect("a retry wait");
    assert_eq!(warnings(&peer).len(), 1, "one warning per hold");
    assert!(warnings(&peer)[0].contains("router plugin router-x is restarting"));

    let items = recover(&mut peer);
    assert!(peer.waits.iter().all(|w| w.token != retry.token));
    assert_eq!(values(&peer), bodies(0..3), "stored once, in order");
    assert_eq!(peer.host.send_calls().len(), 1, "with one send");
    let d = dispositions(&items);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!((d[0].first, d[0].last, d[0].settled), (0, Some(2), true));
    assert_eq!(d[0].state, Some(DeliveryState::Accepted(Accepted {})));
    assert!(!peer.paused);
    assert_eq!(peer.conn.held(), 0);
    assert!(peer.timer_wait(RETRY_MS).is_none(), "no retry left armed");

    // The connection carries on: later messages are accepted at once, none twice.
    let items = peer.transfer(0, 3, false, &message(false, b"m3"));
    assert_eq!(dispositions(&items)[0].first, 3);
    assert_eq!(values(&peer), bodies(0..4));
}

#[test]
fn a_host_still_unavailable_at_the_retry_keeps_holding_and_warns_only_once() {
    let mut peer = unavailable();
    peer.input(&client_deliveries(0..2, false, |id| {
        message(false, format!("m{id}").as_bytes())
    }));
    for round in 0..3 {
        let retry = peer.timer_wait(RETRY_MS).expect("a retry wait");
        let items = peer.wake(retry.token, true);
        assert!(dispositions(&items).is_empty(), "round {round}");
        assert!(peer.paused);
        assert_eq!(peer.conn.held(), 2);
    }
    assert_eq!(peer.host.state.borrow().unavailable_sends.len(), 4);
    assert_eq!(warnings(&peer).len(), 1);

    let d = dispositions(&recover(&mut peer));
    assert_eq!((d[0].first, d[0].last), (0, Some(1)));
    assert_eq!(values(&peer), bodies(0..2));
}

#[test]
fn deliveries_read_after_a_hold_are_stored_behind_the_held_ones() {
    let mut peer = unavailable();
    // A flow between the deliveries makes the codec store the first two before reading on.
    let mut bytes = client_deliveries(0..2, false, |id| {
        message(false, format!("m{id}").as_bytes())
    });
    bytes.extend(amqp(0, &flow(0, 2, 998, false, false), &[]));
    for id in 2..4 {
        bytes.extend(amqp(
            0,
            &transfer(0, id, false, false),
            &message(false, format!("m{id}").as_bytes()),
        ));
    }
    let items = peer.input(&bytes);
    assert!(dispositions(&items).is_empty());
    assert_eq!(
        peer.host.state.borrow().unavailable_sends,
        [("q".into(), 2)]
    );
    assert!(
        flows(&items).iter().all(|f| f.link_credit.is_none()),
        "no credit renewed while holding: {items:?}"
    );
    assert!(peer.paused);

    let items = recover(&mut peer);
    assert_eq!(values(&peer), bodies(0..4), "held first, then the rest");
    let accepted: Vec<(u32, Option<u32>)> = dispositions(&items)
        .iter()
        .map(|d| (d.first, d.last))
        .collect();
    assert_eq!(accepted, [(0, Some(3))], "each accepted exactly once");
}

#[test]
fn pre_settled_messages_are_held_the_same_way() {
    let mut peer = unavailable();
    let items = peer.input(&client_deliveries(0..2, true, |id| {
        message(false, format!("m{id}").as_bytes())
    }));
    assert!(dispositions(&items).is_empty());
    assert!(peer.paused);
    assert_eq!(peer.conn.held(), 2);
    let items = recover(&mut peer);
    assert!(dispositions(&items).is_empty(), "settled by the client");
    assert_eq!(values(&peer), bodies(0..2), "nothing lost");
    assert!(!peer.paused);
}

#[test]
fn a_durable_held_message_is_accepted_only_once_its_positions_pass() {
    let host = FakeHost::default();
    host.hold_durability.set(true);
    let mut peer = Peer::opened_with(1024 * 1024, host);
    peer.attach_sender(0, "q");
    peer.host.unavailable.set(true);
    peer.transfer(0, 0, false, &message(true, b"m0"));
    assert!(
        peer.durability_wait().is_none(),
        "not stored, nothing to wait for"
    );

    let items = recover(&mut peer);
    assert!(dispositions(&items).is_empty(), "stored, not durable yet");
    assert_eq!(peer.conn.awaiting_durable(), 1);
    let wait = peer.durability_wait().expect("a durability wait");
    let d = dispositions(&peer.wake(wait.token, false));
    assert_eq!((d[0].first, d.len()), (0, 1));
    assert_eq!(values(&peer), bodies(0..1));
}

#[test]
fn held_messages_go_with_a_link_that_detaches() {
    let mut peer = unavailable();
    let mut bytes = client_deliveries(0..2, false, |id| {
        message(false, format!("m{id}").as_bytes())
    });
    bytes.extend(amqp(0, &detach(0), &[]));
    let items = peer.input(&bytes);
    assert_eq!(detaches(&items).len(), 1, "the detach is answered");
    assert!(dispositions(&items).is_empty(), "never accepted");
    assert_eq!(peer.conn.held(), 0);
    assert!(!peer.paused, "nothing held, input resumes");
    assert!(peer.timer_wait(RETRY_MS).is_none());
    peer.host.unavailable.set(false);
    assert!(values(&peer).is_empty(), "dropped, never stored");
}

#[test]
fn a_retry_the_host_refuses_otherwise_rejects_as_before() {
    let mut peer = unavailable();
    peer.transfer(0, 0, false, &message(false, b"fail"));
    let d = dispositions(&recover(&mut peer));
    let Some(DeliveryState::Rejected(r)) = &d[0].state else {
        panic!("{d:?}")
    };
    assert_eq!(condition(r.error.as_ref().unwrap()), "amqp:internal-error");
    assert!(!peer.paused);
    assert_eq!(peer.conn.held(), 0);
}
