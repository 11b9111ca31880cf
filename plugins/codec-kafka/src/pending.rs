//! Keeps responses in request order while a request waits on the log.
//!
//! Place in the flow: every [`Reply`](crate::dispatch::Reply) from `dispatch` ends up here.
//! Kafka pipelines requests and matches responses by order, so once a [`Job`] parks (a fetch
//! short of data, a produce not yet durable), every later response queues behind it until it
//! is answered. A job arriving behind a parked one is not run yet: it runs when it reaches the
//! front, and may park in turn. (A produce's records are appended on arrival, wherever it
//! queues; only its answer waits.)
//!
//! Waits: the parked job at the front has exactly one wait armed with the host, which calls
//! `on_wake` once for it, saying whether its timeout fired. The job then runs again and
//! answers or parks again (re-arming). No other wait is ever armed, so a wake with another
//! token is ignored.
//!
//! The queue is bounded ([`QUEUED_REQUESTS_MAX`], [`QUEUED_BYTES_MAX`]) by backpressure, not by
//! answering early: once it is [full](Pending::is_full) the connection stops dispatching and
//! asks the host to pause its input until the parked job answers. Answering a produce early
//! would say REQUEST_TIMED_OUT for records already appended, and a client that retries would
//! store them twice.

use std::collections::VecDeque;

use sluice_sdk::codec::{Broker, CodecError, Level, Output, Wait};

use crate::job::{Job, Outcome, Run};

/// Most requests queued behind a parked job before input pauses. Kafka's Java client keeps at
/// most 5 requests in flight per connection, but librdkafka's producer pipelines many more
/// (one request per partition, `max.in.flight` 1,000,000 by default), and they queue behind a
/// produce waiting for its fsync.
pub const QUEUED_REQUESTS_MAX: usize = 256;

/// Most bytes (answers, plus the jobs not run yet) queued behind a parked job before input
/// pauses, so pipelining cannot grow a connection's memory without bound. One request may
/// overshoot it by its own size.
pub const QUEUED_BYTES_MAX: usize = 1024 * 1024;

/// Capacity the queue may keep once it is empty, to keep idle connections small.
const IDLE_QUEUE_CAPACITY_MAX: usize = 8;

/// One request waiting for its turn to be written.
enum Entry {
    /// A job that ran and is waiting; only ever at the front.
    Parked(Job),
    /// A job that arrived behind a parked one and has not run yet.
    Deferred(Job),
    /// A response frame, written when everything before it is.
    Answered(Vec<u8>),
}

impl Entry {
    fn held_bytes(&self) -> usize {
        match self {
            Entry::Parked(job) | Entry::Deferred(job) => job.held_bytes(),
            Entry::Answered(frame) => frame.len(),
        }
    }
}

/// The ordered response queue of one connection.
///
/// Invariant: the queue is empty, or its front is a parked job whose wait (`armed`) is out.
#[derive(Default)]
pub struct Pending {
    /// Requests not written yet, oldest first.
    queue: VecDeque<Entry>,
    /// Sum of the entries' `held_bytes`.
    queued_bytes: usize,
    /// The token of the parked job's wait, while one is out.
    armed: Option<u64>,
    /// Next token to hand out; tokens only need to be unique within the connection.
    next_token: u64,
}

impl Pending {
    /// Writes `frame` now if nothing waits ahead of it, else queues it.
    pub fn answer(&mut self, frame: Vec<u8>, out: &mut Output) {
        if self.queue.is_empty() {
            write(out, frame);
        } else {
            self.enqueue(Entry::Answered(frame));
        }
    }

    /// Runs `job` now if nothing waits ahead of it (parking it if it cannot answer yet), else
    /// queues it to run when its turn comes.
    pub fn job<B: Broker>(
        &mut self,
        job: Job,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        if self.queue.is_empty() {
            self.start(job, Run::First, broker, out)?;
        } else {
            self.enqueue(Entry::Deferred(job));
        }
        Ok(())
    }

    /// A wait fired: runs the parked job again, then writes everything behind it up to the
    /// next job that has to park.
    pub fn wake<B: Broker>(
        &mut self,
        token: u64,
        timed_out: bool,
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
        let Some(Entry::Parked(job)) = self.dequeue() else {
            broker.log(
                Level::Error,
                "kafka: a wait fired with no parked request at the front of the queue",
            );
            return Ok(());
        };
        if self.start(job, Run::Woken { timed_out }, broker, out)? {
            return Ok(());
        }
        self.drain(broker, out)
    }

    /// Whether a request is parked (for tests and accounting).
    pub fn is_waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Whether as much is queued as the bounds allow: the connection dispatches nothing more
    /// and keeps its input paused until this turns false.
    pub fn is_full(&self) -> bool {
        self.queue.len() >= QUEUED_REQUESTS_MAX || self.queued_bytes >= QUEUED_BYTES_MAX
    }

    /// Runs `job`; writes its answer, or parks it at the front of the queue and arms its
    /// wait. Returns whether it parked.
    fn start<B: Broker>(
        &mut self,
        mut job: Job,
        run: Run,
        broker: &B,
        out: &mut Output,
    ) -> Result<bool, CodecError> {
        match job.run(broker, run)? {
            Outcome::Answer(frame) => {
                write(out, frame);
                Ok(false)
            }
            Outcome::Park(park) => {
                let token = self.next_token;
                self.next_token = self.next_token.wrapping_add(1);
                self.armed = Some(token);
                out.waits.push(Wait {
                    token,
                    timeout_ms: park.timeout_ms,
                    watch: park.watch,
                    groups: park.groups,
                    consumers: Vec::new(),
                    wake_on: park.wake_on,
                });
                self.queued_bytes += job.held_bytes();
                self.queue.push_front(Entry::Parked(job));
                Ok(true)
            }
        }
    }

    /// Writes queued entries in order, stopping at a job that parks.
    fn drain<B: Broker>(&mut self, broker: &B, out: &mut Output) -> Result<(), CodecError> {
        while let Some(entry) = self.dequeue() {
            match entry {
                Entry::Answered(frame) => write(out, frame),
                Entry::Parked(job) | Entry::Deferred(job) => {
                    if self.start(job, Run::First, broker, out)? {
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
