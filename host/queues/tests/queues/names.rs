//! Names and auto-creation: what an unknown name becomes, and what is refused.

use sluice_queues::{
    AddressConfig, AddressSettingsRule, ConsumerOptions, QueuesConfig, QueuesError, RoutingType,
};

use crate::kit::{Broker, MANY, NOW, anycast_queue, bodies, message};

fn no_auto_create() -> Vec<AddressSettingsRule> {
    vec![AddressSettingsRule {
        pattern: "#".into(),
        auto_create_addresses: Some(false),
        auto_create_queues: Some(false),
        ..Default::default()
    }]
}

#[test]
fn with_auto_create_off_an_unknown_address_is_refused() {
    let broker = Broker::new(QueuesConfig {
        address_settings: no_auto_create(),
        ..QueuesConfig::default()
    });
    let sent = broker
        .queues
        .send(1, "nowhere", None, vec![message("x")], NOW);
    assert!(matches!(sent, Err(QueuesError::UnknownAddress(a)) if a == "nowhere"));
    let resolved = broker.queues.send(1, "nowhere", None, vec![], NOW);
    assert!(
        matches!(resolved, Err(QueuesError::UnknownAddress(_))),
        "an empty send resolves too"
    );
    let consumer = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            source: "nowhere".into(),
            ..ConsumerOptions::default()
        },
    );
    assert!(matches!(consumer, Err(QueuesError::UnknownAddress(_))));
    assert!(broker.queues.stats().is_empty());
}

#[test]
fn with_address_creation_off_a_missing_routing_type_is_refused() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("work")],
        address_settings: no_auto_create(),
        ..QueuesConfig::default()
    });
    let sent = broker.queues.send(
        1,
        "work",
        Some(RoutingType::Multicast),
        vec![message("x")],
        NOW,
    );
    assert!(
        matches!(sent, Err(QueuesError::InvalidRouting(_))),
        "{sent:?}"
    );
    let consumer = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            source: "work".into(),
            routing: Some(RoutingType::Multicast),
            subscription: Some("s".into()),
            ..ConsumerOptions::default()
        },
    );
    assert!(matches!(consumer, Err(QueuesError::InvalidRouting(_))));
    // The queue that exists still works, and a missing one is not created.
    assert_eq!(broker.send("work", None, &["ok"]).routed, 1);
    let missing = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            source: "work::other".into(),
            ..ConsumerOptions::default()
        },
    );
    assert!(matches!(missing, Err(QueuesError::UnknownAddress(_))));
}

#[test]
fn with_address_creation_on_a_missing_routing_type_is_added() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("work")],
        ..QueuesConfig::default()
    });
    let c = broker.subscriber(1, "work", "watcher", true);
    let sent = broker.send("work", None, &["both"]);
    assert_eq!(sent.routed, 2, "one anycast queue and one subscription");
    assert_eq!(broker.drain(1, c), ["both"]);
}

#[test]
fn an_unknown_address_gets_the_routing_type_asked_for_or_the_default() {
    let broker = Broker::new(QueuesConfig::default());
    // An empty send only resolves: a codec refusing a link at attach.
    let sent = broker.send("tasks", Some(RoutingType::Anycast), &[]);
    assert_eq!(sent.routed, 0);
    let tasks = broker.stats("tasks", "tasks");
    assert_eq!((tasks.routing, tasks.durable), (RoutingType::Anycast, true));

    assert_eq!(broker.send("prices", None, &["1"]).routed, 0);
    assert!(
        broker.storage.topic("prices").is_some(),
        "multicast by default: a topic"
    );
    assert!(broker.queues.stats().iter().all(|s| s.address != "prices"));

    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            pattern: "queues.#".into(),
            default_routing_type: Some(RoutingType::Anycast),
            ..Default::default()
        }],
        ..QueuesConfig::default()
    });
    assert_eq!(broker.send("queues.a", None, &["1"]).routed, 1);
    let c = broker.consumer(1, "queues.a", None);
    assert_eq!(bodies(&broker.receive(1, c, MANY)), ["1"]);
}

#[test]
fn invalid_names_are_refused() {
    let broker = Broker::new(QueuesConfig::default());
    for name in [
        "",
        "a::",
        "::q",
        "a::b::c",
        "__sluice.q.1",
        &"n".repeat(256),
    ] {
        let sent = broker.queues.send(1, name, None, vec![message("x")], NOW);
        assert!(
            matches!(sent, Err(QueuesError::InvalidAddress(_))),
            "{name:?}: {sent:?}"
        );
    }
    let subscription = broker.queues.open_consumer(
        1,
        ConsumerOptions {
            source: "fine".into(),
            routing: Some(RoutingType::Multicast),
            subscription: Some("bad::name".into()),
            ..ConsumerOptions::default()
        },
    );
    assert!(matches!(subscription, Err(QueuesError::InvalidAddress(_))));
}

#[test]
fn a_dynamic_consumer_gets_a_temporary_queue_deleted_with_its_connection() {
    let broker = Broker::new(QueuesConfig::default());
    let info = broker.dynamic_consumer(7);
    assert!(info.address.starts_with("sluice.temp."));
    assert_eq!(
        (info.queue.as_str(), info.routing),
        (info.address.as_str(), RoutingType::Anycast)
    );
    // Others reply to it by name.
    assert_eq!(broker.send(&info.address, None, &["reply"]).routed, 1);
    assert_eq!(bodies(&broker.receive(7, info.id, MANY)), ["reply"]);
    let stats = broker.stats(&info.address, &info.queue);
    assert!(stats.temporary && !stats.durable);
    // Closing the consumer keeps the node; closing the connection removes it.
    broker.queues.close_consumer(7, info.id, NOW);
    assert!(broker.has_queue(&info.address, &info.queue));
    broker.queues.connection_closed(7, NOW);
    assert!(!broker.has_queue(&info.address, &info.queue));
    assert!(
        broker
            .storage
            .list_topics()
            .iter()
            .all(|t| !t.name.starts_with("__sluice.q.")),
        "its log is deleted"
    );
}

#[test]
fn configured_addresses_are_declared_once_and_updated() {
    let mut config = QueuesConfig {
        addresses: vec![AddressConfig {
            name: "declared".into(),
            routing: vec![],
            queues: vec![crate::kit::queue("q", RoutingType::Anycast)],
        }],
        ..QueuesConfig::default()
    };
    let broker = Broker::new(config.clone());
    broker.send("declared", None, &["kept"]);
    config.addresses[0].queues[0].exclusive = true;
    config.addresses[0].queues[0].max_consumers = 3;
    let broker = broker.reopen_with(config);
    let stats = broker.stats("declared", "q");
    assert_eq!((stats.exclusive, stats.max_consumers), (true, 3));
    assert_eq!(
        stats.message_count, 1,
        "the declared queue kept its message"
    );
}
