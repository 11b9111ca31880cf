//! Link credit both ways: what we grant client senders, what client receivers grant us, drain.

use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};

use crate::peer::*;

fn presettled(from: u32, to: u32) -> Vec<u8> {
    client_deliveries(from..to, true, |_| message(false, b"m"))
}

#[test]
fn a_sender_link_has_its_credit_topped_up_once_half_is_used() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let items = peer.input(&presettled(0, 500));
    assert!(flows(&items).is_empty(), "credit 500 left: no top-up yet");
    let items = peer.input(&presettled(500, 501));
    let f = &flows(&items)[0];
    assert_eq!((f.delivery_count, f.link_credit), (Some(501), Some(1000)));
    assert!(
        dispositions(&items).is_empty(),
        "pre-settled deliveries get none"
    );
}

#[test]
fn a_transfer_beyond_the_credit_detaches_with_transfer_limit_exceeded() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let items = peer.input(&client_deliveries(0..1001, false, |_| message(false, b"m")));
    // What arrived within the credit is stored and accepted first.
    let d = dispositions(&items);
    assert_eq!((d[0].first, d[0].last), (0, Some(999)));
    assert_eq!(d[0].state, Some(DeliveryState::Accepted(Accepted {})));
    assert_eq!(peer.host.sent_to("q").len(), 1000);
    let detached = &detaches(&items)[0];
    assert!(detached.closed);
    assert_eq!(
        condition(detached.error.as_ref().unwrap()),
        "amqp:link:transfer-limit-exceeded"
    );
    // Frames in flight on the detached link are ignored; the client's detach completes it.
    assert!(
        peer.transfer(0, 1001, false, &message(false, b"m"))
            .is_empty()
    );
    assert!(peer.input(&amqp(0, &detach(0), &[])).is_empty());
    assert!(peer.closed.is_none());
}

#[test]
fn a_client_receiver_gets_no_more_than_its_credit() {
    let mut peer = Peer::opened();
    for n in 0..5 {
        peer.host.enqueue("q", record(vec![n]));
    }
    let items = peer.attach_receiver(0, "q", 2);
    assert_eq!(deliveries(&items).len(), 2);
    assert!(
        peer.consumer_wait().is_none(),
        "out of credit is not waiting for messages"
    );
    let items = peer.input(&amqp(0, &flow(0, 2, 2, false, false), &[]));
    let got = deliveries(&items);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0.delivery_id, Some(2));
    assert_eq!(got[0].1.last(), Some(&2));
}

#[test]
fn drain_with_nothing_left_uses_up_the_credit_and_says_so() {
    let mut peer = Peer::opened();
    peer.host.enqueue("q", record(vec![1]));
    peer.input(&amqp(0, &receiver(0, source("q")), &[]));
    let items = peer.input(&amqp(0, &flow(0, 0, 5, true, false), &[]));
    assert_eq!(deliveries(&items).len(), 1);
    let f = flows(&items);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].delivery_count, f[0].link_credit, f[0].drain),
        (Some(5), Some(0), true)
    );
    assert!(peer.consumer_wait().is_none());
}

#[test]
fn a_receiver_with_nothing_to_take_waits_on_its_consumer() {
    let mut peer = Peer::opened();
    let items = peer.attach_receiver(0, "q", 3);
    assert!(deliveries(&items).is_empty());
    let wait = peer.consumer_wait().expect("a consumer wait");
    assert_eq!(wait.consumers[0].consumer, 1);
    peer.host.enqueue("q", record(vec![7]));
    let items = peer.wake(wait.token, false);
    assert_eq!(deliveries(&items).len(), 1);
    // Credit is left and the queue is empty again: a new wait past the new version.
    let again = peer.consumer_wait().unwrap();
    assert_ne!(again.token, wait.token);
    assert!(again.consumers[0].version > wait.consumers[0].version);
}

#[test]
fn a_flow_with_echo_is_answered_with_the_links_state() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let mut f = flow(0, 0, 0, false, true);
    if let fe2o3_amqp_types::performatives::Performative::Flow(f) = &mut f {
        f.link_credit = None;
    }
    let items = peer.input(&amqp(0, &f, &[]));
    let back = &flows(&items)[0];
    assert_eq!(
        (back.delivery_count, back.link_credit),
        (Some(0), Some(1000))
    );
}
