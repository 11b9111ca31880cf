//! The bounds on what a selective consumer makes a queue hold and do: a receive examines at
//! most `SKIP_SCAN_MAX` messages it does not take, and a queue holds at most `SKIPPED_MAX`
//! skipped positions, beyond which a selective consumer gets nothing more until the others
//! consume what it left.

use sluice_queues::{ConsumerOptions, QueuesConfig, SKIP_SCAN_MAX, SKIPPED_MAX};

use crate::kit::{Broker, MANY, TestPolicies, anycast_queue, bodies, with_headers};

fn blues_then_a_red(blues: usize) -> Vec<sluice_queues::Message> {
    (0..blues)
        .map(|i| with_headers(&format!("blue-{i}"), &[("color", "blue")]))
        .chain([with_headers("red", &[("color", "red")])])
        .collect()
}

fn setup(blues: usize) -> (Broker, std::sync::Arc<TestPolicies>, u64, u64) {
    let policies = TestPolicies::new();
    let broker = Broker::with_policies(
        QueuesConfig {
            addresses: vec![anycast_queue("q")],
            ..QueuesConfig::default()
        },
        &policies,
    );
    let picky = broker
        .queues
        .open_consumer(
            1,
            ConsumerOptions {
                source: "q".into(),
                selector: Some("color=red".into()),
                ..ConsumerOptions::default()
            },
        )
        .unwrap()
        .id;
    let any = broker.consumer(2, "q", None);
    broker.send_messages("q", None, blues_then_a_red(blues));
    (broker, policies, picky, any)
}

#[test]
fn a_receive_examines_at_most_skip_scan_max_messages_it_does_not_take() {
    let (broker, policies, picky, _) = setup(SKIP_SCAN_MAX + 10);
    let first = broker.receive_all(1, picky);
    assert!(first.deliveries.is_empty());
    assert_eq!(broker.stats("q", "q").skipped_count, SKIP_SCAN_MAX as u64);
    let judged: usize = policies.filter_calls().iter().map(|(_, n)| n).sum();
    assert_eq!(judged, SKIP_SCAN_MAX);
    assert!(
        policies
            .filter_calls()
            .iter()
            .all(|(_, n)| *n <= MANY as usize),
        "a filter call judges what the receive may still take, at most"
    );
    // Cut short with work done: the consumer is woken to go on at once.
    assert!(broker.queues.watch(picky).unwrap().passed(first.version));
    assert_eq!(bodies(&broker.receive(1, picky, MANY)), ["red"]);
}

#[test]
fn a_queue_holds_at_most_skipped_max_skipped_positions() {
    let blues = SKIPPED_MAX + 2 * SKIP_SCAN_MAX;
    let (broker, _, picky, any) = setup(blues);
    let mut last = None;
    for i in 0..SKIPPED_MAX / SKIP_SCAN_MAX + 3 {
        let got = broker.receive_all(1, picky);
        assert!(got.deliveries.is_empty(), "{i}");
        last = Some(got.version);
    }
    let stats = broker.stats("q", "q");
    assert_eq!(stats.skipped_count, SKIPPED_MAX as u64, "bounded");
    assert_eq!(stats.message_count, blues as u64 + 1);
    // Stuck without progress: nothing wakes it but `tick`, which tries again.
    let watch = broker.queues.watch(picky).unwrap();
    let last = last.unwrap();
    assert!(!watch.passed(last));
    broker.queues.tick(crate::kit::NOW + 50);
    assert!(watch.passed(last));

    // The others take what was left, in order; then the selective consumer goes on.
    let got = broker.receive(2, any, 20);
    assert_eq!(bodies(&got)[..2], ["blue-0", "blue-1"]);
    broker.settle(2, any, &got, sluice_queues::Outcome::Accepted);
    assert!(broker.receive(1, picky, MANY).is_empty());
    assert_eq!(broker.stats("q", "q").skipped_count, SKIPPED_MAX as u64);
    let mut taken: Vec<String> = bodies(&got);
    while taken.len() < blues {
        let max = (blues - taken.len()).min(MANY as usize) as u32;
        let got = broker.receive(2, any, max);
        broker.settle(2, any, &got, sluice_queues::Outcome::Accepted);
        taken.extend(bodies(&got));
    }
    let expected: Vec<String> = (0..blues).map(|i| format!("blue-{i}")).collect();
    assert_eq!(taken, expected, "every blue, in order, none twice");
    assert_eq!(bodies(&broker.receive(1, picky, MANY)), ["red"]);
}
