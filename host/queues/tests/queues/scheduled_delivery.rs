//! Scheduled delivery: a message with `sluice-delivery-time` (or `sluice-delivery-delay`,
//! turned into a time when sent) is not delivered before its time, is delivered once it comes
//! (tick wakes its consumers), and keeps its schedule across a reopen.

use sluice_queues::{DELIVERY_DELAY_HEADER, DELIVERY_TIME_HEADER, QueuesConfig};

use crate::kit::{Broker, MANY_BYTES, NOW, anycast_queue, bodies, header, with_headers};

fn broker() -> Broker {
    Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("q")],
        ..QueuesConfig::default()
    })
}

#[test]
fn a_scheduled_message_waits_for_its_time() {
    let broker = broker();
    let at = (NOW + 1000).to_string();
    broker.send_messages(
        "q",
        None,
        vec![
            with_headers("later", &[(DELIVERY_TIME_HEADER, &at)]),
            with_headers("now", &[]),
        ],
    );
    let c = broker.consumer(1, "q", None);
    assert_eq!(bodies(&broker.receive_at(1, c, 10, NOW)), ["now"]);
    assert_eq!(broker.stats("q", "q").scheduled_count, 1);
    let early = broker
        .queues
        .receive(1, c, 10, MANY_BYTES, false, NOW + 999)
        .unwrap();
    assert!(early.deliveries.is_empty());
    let watch = broker.queues.watch(c).unwrap();
    broker.queues.tick(NOW + 999);
    assert!(!watch.passed(early.version));
    broker.queues.tick(NOW + 1000);
    assert!(watch.passed(early.version), "its time wakes the consumer");
    let got = broker.receive_at(1, c, 10, NOW + 1000);
    assert_eq!(bodies(&got), ["later"]);
    assert_eq!(got[0].delivery_count, 0, "waiting is no failed delivery");
    assert_eq!(broker.stats("q", "q").scheduled_count, 0);
}

#[test]
fn a_delay_becomes_a_delivery_time_when_sent() {
    let broker = broker();
    broker.send_messages(
        "q",
        None,
        vec![with_headers("delayed", &[(DELIVERY_DELAY_HEADER, "500")])],
    );
    let c = broker.consumer(1, "q", None);
    assert!(broker.receive_at(1, c, 10, NOW + 499).is_empty());
    let got = broker.receive_at(1, c, 10, NOW + 500);
    assert_eq!(bodies(&got), ["delayed"]);
    let m = &got[0].message;
    let at = (NOW + 500).to_string();
    assert_eq!(header(m, DELIVERY_TIME_HEADER), Some(at.as_bytes()));
    assert_eq!(header(m, DELIVERY_DELAY_HEADER), None);
    assert_eq!(m.delivery_time_ms, Some(NOW + 500));
}

#[test]
fn a_schedule_survives_a_reopen() {
    let broker = broker();
    let at = (NOW + 1000).to_string();
    broker.send_messages(
        "q",
        None,
        vec![with_headers("later", &[(DELIVERY_TIME_HEADER, &at)])],
    );
    let c = broker.consumer(1, "q", None);
    assert!(broker.receive_at(1, c, 10, NOW).is_empty());
    let broker = broker.reopen_model();
    let c = broker.consumer(1, "q", None);
    assert!(broker.receive_at(1, c, 10, NOW + 10).is_empty());
    assert_eq!(bodies(&broker.receive_at(1, c, 10, NOW + 1000)), ["later"]);
}
