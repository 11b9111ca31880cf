//! Subscriptions: the consumers a connection opened with `SUB`, what each has handed out and
//! not had acknowledged, and the deliveries that go out as `MSG` lines.
//!
//! Place in the flow: `session` opens and settles through here, and after every call lets
//! [`Subscriptions::deliver`] take what each subscription has room for with `queues.receive`.
//! A subscription whose queue had nothing parks on the queue's version until a consumer wait
//! wakes it ([`Subscriptions::parked`], [`Subscriptions::woken`]).
//!
//! Bounds: [`SUBSCRIPTIONS_MAX`] per connection, [`IN_FLIGHT_MAX`] unacknowledged per
//! subscription, and [`WRITE_BYTES_MAX`] of `MSG` lines per call.

use std::collections::{BTreeMap, BTreeSet};

use sluice_sdk::codec::{BrokerError, ConsumerWatch, Queues};

use crate::escape;
use crate::limits::{IN_FLIGHT_MAX, SUBSCRIPTIONS_MAX, WRITE_BYTES_MAX};
use crate::replies::LINE_END;

/// One subscription.
struct Subscription {
    /// The host's consumer.
    consumer: u64,
    /// Tags handed out and not yet settled by the peer.
    in_flight: BTreeSet<u64>,
    /// The queue's version when `receive` last found nothing; cleared to look again.
    parked: Option<u64>,
    /// The consumer wait covering it, while one is out.
    armed: Option<u64>,
}

/// Why `deliver` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Nothing more to take until the peer acknowledges or a queue moves.
    Idle,
    /// The call's output is full; deliver on in a later call.
    Full,
}

/// The subscriptions of one connection, by number.
#[derive(Default)]
pub struct Subscriptions {
    by_number: BTreeMap<u32, Subscription>,
    /// The number the next subscription gets (numbers start at 1 and are not reused while
    /// the connection lives, unless four billion were opened).
    next: u32,
}

impl Subscriptions {
    /// Whether another subscription may be opened.
    pub fn has_room(&self) -> bool {
        self.by_number.len() < SUBSCRIPTIONS_MAX
    }

    /// Records consumer `consumer` as a new subscription; returns its number.
    pub fn open(&mut self, consumer: u64) -> u32 {
        let mut number = self.next.max(1);
        while self.by_number.contains_key(&number) {
            number = number.wrapping_add(1).max(1);
        }
        self.next = number.wrapping_add(1);
        self.by_number.insert(
            number,
            Subscription {
                consumer,
                in_flight: BTreeSet::new(),
                parked: None,
                armed: None,
            },
        );
        number
    }

    /// Forgets subscription `number`; returns its consumer, to close.
    pub fn remove(&mut self, number: u32) -> Option<u64> {
        self.by_number.remove(&number).map(|s| s.consumer)
    }

    /// Takes delivery `tag` of subscription `number` off its in-flight list, to settle;
    /// returns the consumer. `Err` is the reason given to the peer.
    pub fn settle(&mut self, number: u32, tag: u64) -> Result<u64, String> {
        let Some(sub) = self.by_number.get_mut(&number) else {
            return Err(format!("no subscription {number}"));
        };
        if !sub.in_flight.remove(&tag) {
            return Err(format!(
                "no delivery {tag} awaiting acknowledgement on subscription {number}"
            ));
        }
        Ok(sub.consumer)
    }

    /// The consumers that found nothing and are covered by no wait.
    pub fn parked(&self) -> Vec<ConsumerWatch> {
        self.by_number
            .values()
            .filter(|s| s.armed.is_none())
            .filter_map(|s| {
                s.parked.map(|version| ConsumerWatch {
                    consumer: s.consumer,
                    version,
                })
            })
            .collect()
    }

    /// The parked subscriptions without a wait are covered by wait `token` now.
    pub fn watched_by(&mut self, token: u64) {
        for s in self.by_number.values_mut() {
            if s.parked.is_some() && s.armed.is_none() {
                s.armed = Some(token);
            }
        }
    }

    /// Wait `token` fired (or timed out): its subscriptions look again.
    pub fn woken(&mut self, token: u64) {
        for s in self.by_number.values_mut() {
            if s.armed == Some(token) {
                s.armed = None;
                s.parked = None;
            }
        }
    }

    /// Takes what each subscription has room for and writes it to `out` as `MSG` lines. A
    /// subscription whose consumer the host no longer knows is ended with a `CLOSED` line.
    pub fn deliver<Q: Queues>(&mut self, broker: &Q, out: &mut Vec<u8>) -> Stop {
        let mut ended: Vec<(u32, BrokerError)> = Vec::new();
        let mut stop = Stop::Idle;
        'subs: for (&number, sub) in &mut self.by_number {
            loop {
                let room = IN_FLIGHT_MAX.saturating_sub(sub.in_flight.len());
                if room == 0 || sub.parked.is_some() {
                    break;
                }
                let budget = WRITE_BYTES_MAX.saturating_sub(out.len());
                if budget == 0 {
                    stop = Stop::Full;
                    break 'subs;
                }
                let max = u32::try_from(room).unwrap_or(u32::MAX);
                let max_bytes = u32::try_from(budget).unwrap_or(u32::MAX);
                match broker.receive(sub.consumer, max, max_bytes, false) {
                    Err(e) => {
                        ended.push((number, e));
                        break;
                    }
                    Ok(received) if received.deliveries.is_empty() => {
                        sub.parked = Some(received.version);
                    }
                    Ok(received) => {
                        for d in received.deliveries {
                            sub.in_flight.insert(d.tag);
                            out.extend_from_slice(format!("MSG {number} {} ", d.tag).as_bytes());
                            escape::encode(d.message.value.as_deref().unwrap_or_default(), out);
                            out.extend_from_slice(LINE_END);
                        }
                    }
                }
            }
        }
        for (number, e) in ended {
            if let Some(consumer) = self.remove(number) {
                broker.close_consumer(consumer);
            }
            out.extend_from_slice(
                format!("CLOSED {number} {}", crate::session::describe(&e)).as_bytes(),
            );
            out.extend_from_slice(LINE_END);
        }
        stop
    }
}
