//! Keeps responses in request order while a fetch waits for data.
//!
//! Place in the flow: every [`Reply`](crate::dispatch::Reply) from `dispatch` ends up here.
//! Kafka pipelines requests and matches responses by order, so once a fetch parks (too little
//! data, `max_wait_ms` not spent), every later response queues behind it until it is
//! answered. A fetch arriving behind a parked one is not run yet: it runs when it reaches the
//! front, and may park in turn.
//!
//! Architecture invariant: at most one wait is armed with the host per connection (a
//! connection may have only `waits-max` armed; one can never exceed it). The host calls
//! `on_wake` exactly once per wait: when a watched log end moves or at the timeout. The codec
//! has no clock and cannot tell which, so the parked fetch is answered on its wake with
//! whatever data there is then; Kafka clients accept such early answers.
//!
//! The queue is bounded ([`QUEUED_REQUESTS_MAX`], [`QUEUED_BYTES_MAX`]). A client that
//! pipelines past the bound gets its parked fetch answered early and the queue flushed,
//! rather than an error; the wait stays armed and its wake, later, finds nothing to do. A
//! fetch that parks while that stale wait is still armed simply rides on it.

use std::collections::VecDeque;

use sluice_sdk::codec::{Broker, CodecError, Level, Output, Wait};

use crate::api::fetch::{self, FetchPlan, Outcome};

/// Most requests queued behind a parked fetch. Kafka's Java client keeps at most 5 requests in
/// flight per connection; librdkafka's consumers a handful (fetch, offset commits, metadata).
pub const QUEUED_REQUESTS_MAX: usize = 64;

/// Most bytes (answers, plus the plans of fetches not run yet) queued behind a parked fetch,
/// so pipelining cannot grow a connection's memory without bound.
pub const QUEUED_BYTES_MAX: usize = 1024 * 1024;

/// Capacity the queue may keep once it is empty, to keep idle connections small.
const IDLE_QUEUE_CAPACITY_MAX: usize = 8;

/// One request waiting for its turn to be written.
enum Entry {
    /// A fetch that ran and is waiting for data; only ever at the front.
    Parked(FetchPlan),
    /// A fetch that arrived behind a parked one and has not run yet.
    Deferred(FetchPlan),
    /// A response frame, written when everything before it is.
    Answered(Vec<u8>),
}

impl Entry {
    fn held_bytes(&self) -> usize {
        match self {
            Entry::Parked(plan) | Entry::Deferred(plan) => plan.held_bytes(),
            Entry::Answered(frame) => frame.len(),
        }
    }
}

/// The ordered response queue of one connection.
#[derive(Default)]
pub struct Pending {
    /// Requests not written yet, oldest first; when not empty, the front is a parked fetch.
    queue: VecDeque<Entry>,
    /// Sum of the entries' `held_bytes`.
    queued_bytes: usize,
    /// Token of the wait armed with the host, if any.
    armed: Option<u64>,
    /// Next token to hand out; tokens only need to be unique within the connection.
    next_token: u64,
}

impl Pending {
    /// Writes `frame` now if nothing waits ahead of it, else queues it.
    pub fn answer<B: Broker>(
        &mut self,
        frame: Vec<u8>,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if self.queue.is_empty() {
            write(out, frame);
            return Ok(());
        }
        self.enqueue(Entry::Answered(frame));
        self.enforce_bounds(broker, out)
    }

    /// Runs `plan` now if nothing waits ahead of it (parking it if its data is short), else
    /// queues it to run when its turn comes.
    pub fn fetch<B: Broker>(
        &mut self,
        plan: FetchPlan,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if self.queue.is_empty() {
            self.start(plan, broker, out)?;
            return Ok(());
        }
        self.enqueue(Entry::Deferred(plan));
        self.enforce_bounds(broker, out)
    }

    /// A wait fired: answers the parked fetch with what there is now, then writes everything
    /// behind it up to the next fetch that has to park.
    pub fn wake<B: Broker>(
        &mut self,
        token: u64,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if self.armed != Some(token) {
            broker.log(
                Level::Debug,
                &format!("kafka: ignoring wake for unknown wait {token}"),
            );
            return Ok(());
        }
        self.armed = None;
        if matches!(self.queue.front(), Some(Entry::Parked(_)))
            && let Some(Entry::Parked(plan)) = self.dequeue()
        {
            self.answer_now(&plan, broker, out)?;
        }
        self.drain(broker, out, false)
    }

    /// Whether a fetch is parked (for tests and accounting).
    pub fn is_waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Runs `plan`; writes its answer, or parks it at the front of the queue and arms a wait
    /// unless one is armed already. Returns whether it parked.
    fn start<B: Broker>(
        &mut self,
        plan: FetchPlan,
        broker: &B,
        out: &mut Output,
    ) -> Result<bool, CodecError> {
        match fetch::run(&plan, broker, false)? {
            Outcome::Answer(frame) => {
                write(out, frame);
                Ok(false)
            }
            Outcome::Park { timeout_ms, watch } => {
                if self.armed.is_none() {
                    let token = self.next_token;
                    self.next_token = self.next_token.wrapping_add(1);
                    self.armed = Some(token);
                    out.waits.push(Wait {
                        token,
                        timeout_ms,
                        watch,
                    });
                }
                self.queued_bytes += plan.held_bytes();
                self.queue.push_front(Entry::Parked(plan));
                Ok(true)
            }
        }
    }

    /// Writes queued entries in order. Without `force`, stops at a fetch that parks; with it,
    /// every fetch is answered with what it finds.
    fn drain<B: Broker>(
        &mut self,
        broker: &B,
        out: &mut Output,
        force: bool,
    ) -> Result<(), CodecError> {
        while let Some(entry) = self.dequeue() {
            match entry {
                Entry::Answered(frame) => write(out, frame),
                Entry::Parked(plan) | Entry::Deferred(plan) if force => {
                    self.answer_now(&plan, broker, out)?;
                }
                Entry::Parked(plan) | Entry::Deferred(plan) => {
                    if self.start(plan, broker, out)? {
                        return Ok(());
                    }
                }
            }
        }
        if self.queue.capacity() > IDLE_QUEUE_CAPACITY_MAX {
            self.queue = VecDeque::new();
        }
        Ok(())
    }

    fn answer_now<B: Broker>(
        &mut self,
        plan: &FetchPlan,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if let Outcome::Answer(frame) = fetch::run(plan, broker, true)? {
            write(out, frame);
        }
        Ok(())
    }

    /// Past either bound, the parked fetch is answered early and the queue flushed.
    fn enforce_bounds<B: Broker>(
        &mut self,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if self.queue.len() <= QUEUED_REQUESTS_MAX && self.queued_bytes <= QUEUED_BYTES_MAX {
            return Ok(());
        }
        broker.log(
            Level::Debug,
            &format!(
                "kafka: {} requests ({} bytes) pipelined behind a parked fetch; answering it early",
                self.queue.len(),
                self.queued_bytes
            ),
        );
        self.drain(broker, out, true)
    }

    fn enqueue(&mut self, entry: Entry) {
        self.queued_bytes += entry.held_bytes();
        self.queue.push_back(entry);
    }

    fn dequeue(&mut self) -> Option<Entry> {
        let entry = self.queue.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(entry.held_bytes());
        Some(entry)
    }
}

/// Appends a response frame to the call's output; the first one is moved, not copied.
fn write(out: &mut Output, frame: Vec<u8>) {
    if out.write.is_empty() {
        out.write = frame;
    } else {
        out.write.extend_from_slice(&frame);
    }
}
