//! Message groups (`sluice-group-id`): the first consumer to take a message of a group owns
//! the group until it closes, the others pass its messages over, and the owner gets them in
//! order; when it closes the group moves to the next consumer to take one, still in order.

use sluice_queues::{GROUP_ID_HEADER, Outcome, QueuesConfig};

use crate::kit::{Broker, MANY, NOW, anycast_queue, bodies, with_headers};

fn grouped(items: &[(&str, Option<&str>)]) -> Vec<sluice_queues::Message> {
    items
        .iter()
        .map(|(body, group)| match group {
            Some(g) => with_headers(body, &[(GROUP_ID_HEADER, g)]),
            None => with_headers(body, &[]),
        })
        .collect()
}

#[test]
fn a_group_sticks_to_one_consumer_in_order_and_moves_when_it_closes() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    let a = broker.consumer(1, "q", None);
    let b = broker.consumer(2, "q", None);
    broker.send_messages(
        "q",
        None,
        grouped(&[
            ("g1-1", Some("g1")),
            ("g2-1", Some("g2")),
            ("g1-2", Some("g1")),
            ("g2-2", Some("g2")),
            ("g1-3", Some("g1")),
            ("free", None),
        ]),
    );
    let first = broker.receive(1, a, 1);
    assert_eq!(bodies(&first), ["g1-1"]);
    assert_eq!(first[0].message.group_id.as_deref(), Some(&b"g1"[..]));
    assert_eq!(
        bodies(&broker.receive(2, b, MANY)),
        ["g2-1", "g2-2", "free"]
    );
    let stats = broker.stats("q", "q");
    assert_eq!((stats.group_count, stats.skipped_count), (2, 2));
    let rest = broker.receive(1, a, MANY);
    assert_eq!(bodies(&rest), ["g1-2", "g1-3"], "the owner's, in order");
    broker.settle(1, a, &first, Outcome::Accepted);

    broker.send_messages(
        "q",
        None,
        grouped(&[("g1-4", Some("g1")), ("g2-3", Some("g2"))]),
    );
    assert_eq!(bodies(&broker.receive(2, b, MANY)), ["g2-3"]);
    // `a` leaves with g1-2 and g1-3 unsettled: `b` owns g1 now and gets them first.
    broker.queues.close_consumer(1, a, NOW);
    let moved = broker.receive(2, b, MANY);
    assert_eq!(bodies(&moved), ["g1-2", "g1-3", "g1-4"]);
    assert_eq!(
        moved.iter().map(|d| d.delivery_count).collect::<Vec<_>>(),
        [1, 1, 0]
    );
}

#[test]
fn a_skipped_message_of_a_group_goes_before_its_newer_ones() {
    let broker = Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    });
    let a = broker.consumer(1, "q", None);
    let b = broker.consumer(2, "q", None);
    broker.send_messages("q", None, grouped(&[("g-1", Some("g"))]));
    let one = broker.receive(1, a, 1);
    broker.settle(1, a, &one, Outcome::Accepted);
    broker.send_messages(
        "q",
        None,
        grouped(&[("g-2", Some("g")), ("x", None), ("g-3", Some("g"))]),
    );
    // `b` passes g-2 and g-3 over, leaving them skipped in order.
    assert_eq!(bodies(&broker.receive(2, b, MANY)), ["x"]);
    broker.send_messages("q", None, grouped(&[("g-4", Some("g"))]));
    let mut got = Vec::new();
    for _ in 0..4 {
        let one = broker.receive(1, a, 1);
        broker.settle(1, a, &one, Outcome::Accepted);
        got.extend(bodies(&one));
    }
    assert_eq!(got, ["g-2", "g-3", "g-4"]);
}
