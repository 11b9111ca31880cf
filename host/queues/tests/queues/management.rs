//! What an operator does through the admin API: addresses and queues listed, created,
//! purged and deleted, with the refusals that keep it safe.

use sluice_queues::{
    AddressInfo, AddressSettingsRule, NewQueue, Outcome, QueuesConfig, QueuesError, RoutingType,
};

use crate::kit::{Broker, MANY, NOW, TestPolicies, anycast_queue, matching, numbered, refs, rule};

const ANYCAST: RoutingType = RoutingType::Anycast;
const MULTICAST: RoutingType = RoutingType::Multicast;

fn on(address: &str, name: &str, routing: RoutingType) -> NewQueue {
    NewQueue {
        address: Some(address.to_owned()),
        routing: Some(routing),
        ..NewQueue::new(name)
    }
}

fn address<'a>(all: &'a [AddressInfo], name: &str) -> &'a AddressInfo {
    all.iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no address {name}"))
}

#[test]
fn addresses_are_listed_with_their_routing_types_queues_and_temporariness() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("orders")],
        ..QueuesConfig::default()
    });
    broker
        .queues
        .add_address("events", &[MULTICAST, ANYCAST, MULTICAST])
        .unwrap();
    let dynamic = broker.dynamic_consumer(1);

    let all = broker.queues.list_addresses();
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["events", "orders", dynamic.address.as_str()]);
    assert_eq!(
        address(&all, "orders"),
        &AddressInfo {
            name: "orders".into(),
            routing_types: vec![ANYCAST],
            queues: vec!["orders".into()],
            temporary: false,
        }
    );
    assert_eq!(address(&all, "events").routing_types, [ANYCAST, MULTICAST]);
    assert!(address(&all, &dynamic.address).temporary);
}

#[test]
fn an_address_created_without_routing_types_takes_the_settings_default() {
    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            default_routing_type: Some(ANYCAST),
            ..rule("work.#")
        }],
        ..QueuesConfig::default()
    });
    assert_eq!(
        broker
            .queues
            .add_address("work.a", &[])
            .unwrap()
            .routing_types,
        [ANYCAST]
    );
    assert_eq!(
        broker
            .queues
            .add_address("feed", &[])
            .unwrap()
            .routing_types,
        [MULTICAST]
    );
}

#[test]
fn creating_an_address_that_exists_is_refused_as_existing() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("a", &[ANYCAST]).unwrap();
    let refused = broker.queues.add_address("a", &[MULTICAST]).unwrap_err();
    assert!(matches!(refused, QueuesError::Exists(_)), "{refused}");
    assert_eq!(
        broker.queues.list_addresses()[0].routing_types,
        [ANYCAST],
        "unchanged"
    );
    for bad in ["", "a::b", "__sluice.q.1"] {
        let refused = broker.queues.add_address(bad, &[ANYCAST]).unwrap_err();
        assert!(matches!(refused, QueuesError::InvalidAddress(_)), "{bad}");
    }
}

#[test]
fn an_address_with_queues_is_deleted_only_when_forced_and_its_queues_go_with_it() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("a", &[ANYCAST]).unwrap();
    broker.queues.add_queue(on("a", "q", ANYCAST)).unwrap();
    broker.send("a", None, &["x"]);

    let refused = broker.queues.remove_address("a", false).unwrap_err();
    assert!(matches!(refused, QueuesError::InUse(_)), "{refused}");
    assert!(refused.to_string().contains("q"), "{refused}");
    assert!(broker.has_queue("a", "q"));

    let removed = broker.queues.remove_address("a", true).unwrap();
    assert_eq!(removed.queues, ["q"]);
    assert!(broker.queues.list_addresses().is_empty());
    assert!(broker.queues.stats().is_empty());
    let missing = broker.queues.remove_address("a", true).unwrap_err();
    assert!(matches!(missing, QueuesError::NotFound(_)), "{missing}");
}

#[test]
fn an_empty_address_is_deleted_and_stays_deleted_after_a_restart() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("gone", &[MULTICAST]).unwrap();
    broker.queues.add_address("kept", &[ANYCAST]).unwrap();
    broker.queues.remove_address("gone", false).unwrap();

    let broker = broker.restart();
    let names: Vec<String> = broker
        .queues
        .list_addresses()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["kept"]);
    let internal: Vec<String> = broker
        .storage
        .list_topics()
        .into_iter()
        .map(|t| t.name)
        .filter(|n| n.starts_with("__sluice."))
        .collect();
    assert!(internal.is_empty(), "{internal:?}");
}

#[test]
fn deleting_a_multicast_address_keeps_the_kafka_topic_that_is_its_log() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("prices", &[MULTICAST]).unwrap();
    assert!(broker.storage.topic("prices").is_some());
    broker.queues.remove_address("prices", false).unwrap();
    assert!(broker.storage.topic("prices").is_some());
}

#[test]
fn where_dead_letters_go_is_deleted_only_when_forced() {
    let broker = Broker::new(QueuesConfig {
        address_settings: vec![AddressSettingsRule {
            dead_letter_address: Some("DLA".into()),
            ..rule("#")
        }],
        ..QueuesConfig::default()
    });
    broker.queues.add_address("DLA", &[ANYCAST]).unwrap();
    let refused = broker.queues.remove_address("DLA", false).unwrap_err();
    assert!(matches!(refused, QueuesError::InUse(_)), "{refused}");
    assert!(refused.to_string().contains("dead letters"), "{refused}");
    broker.queues.remove_address("DLA", true).unwrap();
}

#[test]
fn a_queue_is_created_with_the_attributes_asked_for() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(QueuesConfig::default(), &policies);
    broker.queues.add_address("a", &[ANYCAST]).unwrap();
    let stats = broker
        .queues
        .add_queue(NewQueue {
            durable: false,
            purge_on_no_consumers: true,
            exclusive: true,
            max_consumers: 3,
            filter: Some(matching("k=v")),
            ring_size: Some(5),
            ..on("a", "q", ANYCAST)
        })
        .unwrap();
    assert_eq!(
        (stats.name.as_str(), stats.address.as_str(), stats.routing),
        ("q", "a", ANYCAST)
    );
    assert!(!stats.durable && stats.purge_on_no_consumers && stats.exclusive);
    assert_eq!(stats.max_consumers, 3);
    assert_eq!(stats.filter, Some(matching("k=v")));
    assert_eq!(stats.ring_size, Some(5));
    assert_eq!(stats.message_count, 0);
}

#[test]
fn a_queue_without_an_address_named_lives_on_the_address_of_its_name() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("jobs", &[ANYCAST]).unwrap();
    let stats = broker.queues.add_queue(NewQueue::new("jobs")).unwrap();
    assert_eq!((stats.address.as_str(), stats.routing), ("jobs", ANYCAST));
}

#[test]
fn a_queue_on_a_missing_address_is_refused_unless_the_address_may_be_created() {
    let broker = Broker::new(QueuesConfig::default());
    let refused = broker
        .queues
        .add_queue(on("nowhere", "q", ANYCAST))
        .unwrap_err();
    assert!(matches!(refused, QueuesError::NotFound(_)), "{refused}");
    assert!(broker.queues.list_addresses().is_empty());

    let stats = broker
        .queues
        .add_queue(NewQueue {
            auto_create_address: true,
            ..on("somewhere", "q", ANYCAST)
        })
        .unwrap();
    assert_eq!(stats.address, "somewhere");
    assert_eq!(broker.queues.list_addresses()[0].routing_types, [ANYCAST]);
}

#[test]
fn a_kafka_topic_is_an_address_a_subscription_queue_can_be_created_on() {
    let broker = Broker::new(QueuesConfig::default());
    broker.storage.create_topic("clicks", 2).unwrap();
    let stats = broker
        .queues
        .add_queue(on("clicks", "audit", MULTICAST))
        .unwrap();
    assert_eq!(stats.routing, MULTICAST);
    broker.send("clicks", None, &["c1", "c2"]);
    assert_eq!(broker.queues.queue_stats("audit").unwrap().message_count, 2);
}

#[test]
fn a_queue_whose_routing_type_the_address_lacks_is_refused() {
    let broker = Broker::new(QueuesConfig::default());
    broker.queues.add_address("a", &[MULTICAST]).unwrap();
    let refused = broker.queues.add_queue(on("a", "q", ANYCAST)).unwrap_err();
    assert!(
        matches!(refused, QueuesError::InvalidRouting(_)),
        "{refused}"
    );
    assert_eq!(
        broker.queues.list_addresses()[0].routing_types,
        [MULTICAST],
        "the address did not gain anycast"
    );
}

#[test]
fn a_queue_that_exists_is_refused_as_existing_and_bad_attributes_are_refused() {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(QueuesConfig::default(), &policies);
    broker.queues.add_address("a", &[ANYCAST]).unwrap();
    broker.queues.add_queue(on("a", "q", ANYCAST)).unwrap();
    let exists = broker.queues.add_queue(on("a", "q", ANYCAST)).unwrap_err();
    assert!(matches!(exists, QueuesError::Exists(_)), "{exists}");

    let bad = [
        NewQueue {
            max_consumers: -2,
            ..on("a", "r", ANYCAST)
        },
        NewQueue {
            ring_size: Some(0),
            ..on("a", "r", ANYCAST)
        },
        on("a", "r::s", ANYCAST),
    ];
    for new in bad {
        let refused = broker.queues.add_queue(new.clone()).unwrap_err();
        assert!(matches!(refused, QueuesError::InvalidAddress(_)), "{new:?}");
    }
    let refused = broker
        .queues
        .add_queue(NewQueue {
            filter: Some(matching("invalid")),
            ..on("a", "r", ANYCAST)
        })
        .unwrap_err();
    assert!(
        matches!(refused, QueuesError::InvalidFilter(_)),
        "{refused}"
    );
    assert_eq!(broker.queues.stats().len(), 1);
}

#[test]
fn a_durable_queue_created_by_an_operator_survives_a_restart_and_a_non_durable_one_does_not() {
    let broker = Broker::new(QueuesConfig::default());
    broker
        .queues
        .add_queue(NewQueue {
            auto_create_address: true,
            max_consumers: 7,
            purge_on_no_consumers: true,
            ..on("a", "lasting", ANYCAST)
        })
        .unwrap();
    broker
        .queues
        .add_queue(NewQueue {
            durable: false,
            ..on("a", "fleeting", ANYCAST)
        })
        .unwrap();
    broker.send("a::lasting", None, &["kept"]);

    let broker = broker.restart();
    let names: Vec<String> = broker.queues.stats().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["lasting"]);
    let stats = broker.queues.queue_stats("a::lasting").unwrap();
    assert!(stats.durable && stats.purge_on_no_consumers);
    assert_eq!((stats.max_consumers, stats.message_count), (7, 1));
}

#[test]
fn a_queue_is_found_by_its_name_or_address_and_name_and_a_name_on_two_addresses_is_ambiguous() {
    let broker = Broker::new(QueuesConfig::default());
    for a in ["a", "b"] {
        broker.queues.add_address(a, &[ANYCAST]).unwrap();
        broker.queues.add_queue(on(a, "shared", ANYCAST)).unwrap();
    }
    broker.queues.add_queue(on("a", "own", ANYCAST)).unwrap();

    assert_eq!(broker.queues.queue_stats("own").unwrap().address, "a");
    assert_eq!(broker.queues.queue_stats("b::shared").unwrap().address, "b");
    let ambiguous = broker.queues.queue_stats("shared").unwrap_err();
    assert!(
        matches!(ambiguous, QueuesError::Ambiguous(_)),
        "{ambiguous}"
    );
    assert!(
        ambiguous.to_string().contains("address::queue"),
        "{ambiguous}"
    );
    for missing in ["none", "a::none", "none::own"] {
        let refused = broker.queues.queue_stats(missing).unwrap_err();
        assert!(matches!(refused, QueuesError::NotFound(_)), "{missing}");
    }
}

#[test]
fn a_purge_drops_every_message_counted_killed_and_says_how_many() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &refs(&numbered("m", 5)));
    let c = broker.consumer(1, "q", None);
    let held = broker.receive(1, c, 2);

    assert_eq!(broker.queues.purge_queue("q").unwrap(), 5);
    let stats = broker.stats("q", "q");
    assert_eq!(
        (
            stats.message_count,
            stats.delivering_count,
            stats.messages_killed
        ),
        (0, 0, 5)
    );
    // What the consumer held was purged: releasing it brings nothing back.
    broker.settle(1, c, &held, Outcome::Released);
    assert!(broker.receive(1, c, MANY).is_empty());
    assert_eq!(broker.queues.purge_queue("q").unwrap(), 0);

    broker.send("q", None, &["after"]);
    assert_eq!(broker.drain(1, c), ["after"]);
    assert_eq!(broker.stats("q", "q").messages_acknowledged, 1);
}

#[test]
fn a_queue_with_consumers_is_deleted_only_when_its_consumers_may_be_removed() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    broker.send("q", None, &["x"]);
    let c = broker.consumer(1, "q", None);
    let watch = broker.queues.watch(c).unwrap();

    let refused = broker.queues.remove_queue("q", false).unwrap_err();
    assert!(matches!(refused, QueuesError::InUse(_)), "{refused}");
    assert!(refused.to_string().contains("1 consumer"), "{refused}");
    assert!(broker.has_queue("q", "q"));

    let gone = broker.queues.remove_queue("q::q", true).unwrap();
    assert_eq!((gone.consumer_count, gone.message_count), (1, 1));
    assert!(!broker.has_queue("q", "q"));
    assert!(
        watch.passed(u64::MAX),
        "the consumer's waiter stops waiting"
    );
    let closed = broker
        .queues
        .receive(1, c, MANY, 1 << 20, false, NOW)
        .unwrap_err();
    assert!(
        matches!(closed, QueuesError::UnknownConsumer(_)),
        "{closed}"
    );
    // Its connection closing later finds nothing left to do.
    broker.queues.connection_closed(1, NOW);
    let missing = broker.queues.remove_queue("q", false).unwrap_err();
    assert!(matches!(missing, QueuesError::NotFound(_)), "{missing}");
}

#[test]
fn a_deleted_durable_queue_stays_deleted_after_a_restart() {
    let broker = Broker::new(QueuesConfig::default());
    broker
        .queues
        .add_queue(NewQueue {
            auto_create_address: true,
            ..on("a", "q", ANYCAST)
        })
        .unwrap();
    broker.send("a", None, &["x"]);
    broker.queues.remove_queue("q", false).unwrap();

    let broker = broker.restart();
    assert!(broker.queues.stats().is_empty());
    assert_eq!(
        broker.queues.list_addresses()[0].queues,
        Vec::<String>::new()
    );
}
