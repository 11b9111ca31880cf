//! Many threads at once: senders, consumers accepting and rejecting into a dead-letter queue
//! that itself dead-letters back, and the ticker. Every message ends up consumed exactly once
//! and nothing deadlocks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sluice_queues::{AddressSettingsRule, Outcome, QueuesConfig};

use crate::kit::{Broker, NOW, anycast_queue, bodies, message, rule};

const SENDERS: usize = 2;
const PER_SENDER: usize = 300;

#[test]
fn concurrent_senders_consumers_and_ticks_lose_and_duplicate_nothing() {
    let broker = Arc::new(Broker::new(QueuesConfig {
        addresses: vec![anycast_queue("a"), anycast_queue("b")],
        address_settings: vec![
            AddressSettingsRule {
                dead_letter_address: Some("b".into()),
                ..rule("a")
            },
            AddressSettingsRule {
                dead_letter_address: Some("a".into()),
                ..rule("b")
            },
        ],
        ..QueuesConfig::default()
    }));
    let done = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (broker, done) = (broker.clone(), done.clone());
        std::thread::spawn(move || {
            let mut now = NOW;
            while !done.load(Ordering::Acquire) {
                now += 10;
                broker.queues.tick(now);
                std::thread::yield_now();
            }
        })
    };
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let broker = broker.clone();
            std::thread::spawn(move || {
                for i in 0..PER_SENDER {
                    let messages = vec![message(&format!("{s}-{i}"))];
                    broker
                        .queues
                        .send(10 + s as u64, "a", None, messages, NOW)
                        .unwrap();
                }
            })
        })
        .collect();
    // Each consumer rejects a message the first time it sees it on `a` (so it goes to `b`)
    // and accepts everything else.
    let consumers: Vec<_> = ["a", "b"]
        .into_iter()
        .enumerate()
        .map(|(n, address)| {
            let broker = broker.clone();
            std::thread::spawn(move || {
                let connection = 100 + n as u64;
                let c = broker.consumer(connection, address, None);
                let mut accepted = Vec::new();
                let mut idle = 0;
                while idle < 200 {
                    let got = broker.receive(connection, c, 16);
                    if got.is_empty() {
                        idle += 1;
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        continue;
                    }
                    idle = 0;
                    let (reject, accept): (Vec<_>, Vec<_>) = got
                        .into_iter()
                        .partition(|d| address == "a" && d.message.headers.is_empty());
                    broker.settle(connection, c, &reject, Outcome::Rejected);
                    broker.settle(connection, c, &accept, Outcome::Accepted);
                    accepted.extend(bodies(&accept));
                }
                accepted
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.join().unwrap());
    }
    done.store(true, Ordering::Release);
    ticker.join().unwrap();

    assert_eq!(all.len(), SENDERS * PER_SENDER, "each exactly once");
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len());
    for name in ["a", "b"] {
        let stats = broker.stats(name, name);
        assert_eq!(
            (stats.message_count, stats.delivering_count),
            (0, 0),
            "{name}"
        );
    }
}
