//! Addresses and routing types: prefixes, capabilities, durable subscriptions, dynamic nodes.

use fe2o3_amqp_types::messaging::{Source, TargetArchetype, TerminusDurability};
use serde_amqp::primitives::{Array, Symbol};
use sluice_sdk::codec::RoutingType;

use crate::peer::*;

fn caps(names: &[&str]) -> Option<Array<Symbol>> {
    Some(Array::from(
        names.iter().map(|n| Symbol::from(*n)).collect::<Vec<_>>(),
    ))
}

#[test]
fn prefixes_and_capabilities_give_a_senders_routing_type() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "topic://prices");
    peer.attach_sender(1, "queue://orders");
    let mut t = target("audit");
    t.capabilities = caps(&["topic"]);
    peer.input(&amqp(0, &sender_to(2, t), &[]));
    peer.attach_sender(3, "plain");
    let checks: Vec<_> = peer
        .host
        .state
        .borrow()
        .sends
        .iter()
        .map(|(a, r, _)| (a.clone(), *r))
        .collect();
    assert_eq!(
        checks,
        [
            ("prices".to_owned(), Some(RoutingType::Multicast)),
            ("orders".to_owned(), Some(RoutingType::Anycast)),
            ("audit".to_owned(), Some(RoutingType::Multicast)),
            ("plain".to_owned(), None),
        ]
    );
    peer.transfer(0, 0, true, &message(false, b"1"));
    assert_eq!(
        peer.host.send_calls(),
        [("prices".to_owned(), Some(RoutingType::Multicast), 1)]
    );
}

#[test]
fn the_routing_type_is_echoed_as_a_capability_of_the_target() {
    let mut peer = Peer::opened();
    let items = peer.attach_sender(0, "topic://prices");
    let Some(TargetArchetype::Target(t)) = attaches(&items)[0].target.as_deref().cloned() else {
        panic!()
    };
    assert_eq!(t.address.as_deref(), Some("topic://prices"));
    assert_eq!(t.capabilities, caps(&["topic"]));
}

#[test]
fn prefixes_and_capabilities_give_a_receivers_routing_type() {
    let mut peer = Peer::opened();
    peer.attach_receiver(0, "topic://prices", 0);
    let mut s = source("orders");
    s.capabilities = caps(&["queue"]);
    peer.input(&amqp(0, &receiver(1, s), &[]));
    let opened = peer.host.state.borrow().opened.clone();
    assert_eq!(
        (opened[0].source.as_str(), opened[0].routing),
        ("prices", Some(RoutingType::Multicast))
    );
    assert_eq!(
        (opened[1].source.as_str(), opened[1].routing),
        ("orders", Some(RoutingType::Anycast))
    );
    assert!(
        opened
            .iter()
            .all(|o| o.subscription.is_none() && !o.durable && !o.dynamic)
    );
}

#[test]
fn a_durable_source_reads_a_subscription_named_after_container_and_link() {
    let mut peer = Peer::opened();
    let s = Source {
        address: Some("news".into()),
        durable: TerminusDurability::UnsettledState,
        capabilities: caps(&["topic"]),
        ..Source::default()
    };
    peer.input(&amqp(0, &receiver(0, s), &[]));
    let opened = peer.host.state.borrow().opened.clone();
    assert_eq!(
        opened[0].subscription.as_deref(),
        Some("test-container.receiver-0")
    );
    assert!(opened[0].durable);
}

#[test]
fn a_dynamic_source_reads_a_temporary_queue_and_names_it() {
    let mut peer = Peer::opened();
    let s = Source {
        dynamic: true,
        ..Source::default()
    };
    let items = peer.input(&amqp(0, &receiver(0, s), &[]));
    assert!(peer.host.state.borrow().opened[0].dynamic);
    let source = attaches(&items)[0].source.clone().unwrap();
    assert_eq!(source.address.as_deref(), Some("dynamic-1"));
    assert!(source.dynamic);
}
