//! Queue policy attributes (filter, last-value key, ring size) are the queue's own once it
//! exists: kept in the registry, so a restart without the settings or declaration that gave
//! them keeps them.

use sluice_queues::{AddressConfig, AddressSettingsRule, QueuesConfig, RoutingType};

use crate::kit::{Broker, TestPolicies, matching, queue, rule, with_headers};

#[test]
fn queue_policy_attributes_survive_a_restart_without_their_configuration() {
    let policies = TestPolicies::new();
    let mut filtered = queue("filtered", RoutingType::Anycast);
    filtered.filter = Some(matching("color=red"));
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![AddressConfig {
                name: "declared".into(),
                routing: vec![RoutingType::Anycast],
                queues: vec![filtered],
            }],
            address_settings: vec![AddressSettingsRule {
                last_value_key: Some("k".into()),
                ring_size: Some(5),
                ..rule("auto")
            }],
            ..QueuesConfig::default()
        },
        &policies,
    );
    broker.send("auto", Some(RoutingType::Anycast), &["x"]);
    broker.queues.flush().unwrap();

    let broker = broker.reopen_with(QueuesConfig::default()).restart();
    let auto = broker.stats("auto", "auto");
    assert_eq!(
        (auto.last_value_key.as_deref(), auto.ring_size),
        (Some("k"), Some(5))
    );
    let declared = broker.stats("declared", "filtered");
    assert_eq!(declared.filter, Some(matching("color=red")));
    broker.send_messages(
        "declared",
        None,
        vec![
            with_headers("red", &[("color", "red")]),
            with_headers("blue", &[("color", "blue")]),
        ],
    );
    let c = broker.consumer(1, "declared::filtered", None);
    assert_eq!(broker.drain(1, c), ["red"]);
}
