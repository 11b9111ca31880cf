//! Keeps responses in request order while a request waits on the log.
//!
//! Place in the flow: every [`Reply`](crate::dispatch::Reply) from `dispatch` ends up here.
//! Kafka pipelines requests and matches responses by order, so once a [`Job`] parks (a fetch
//! short of data, a produce not yet durable), every later response queues behind it until it
//! is answered. A job arriving behind a parked one is not run yet: it runs when it reaches the
//! front, and may park in turn. (A produce's records are appended on arrival, wherever it
//! queues; only its answer waits.)
//!
//! Waits: the parked job at the front normally has one wait of its own armed with the host,
//! which calls `on_wake` exactly once per wait, saying whether its timeout fired. The job then
//! runs again and answers or parks again (re-arming).
//!
//! The queue is bounded ([`QUEUED_REQUESTS_MAX`], [`QUEUED_BYTES_MAX`]). A client that
//! pipelines past the bound gets the queue flushed, every job answered with what there is
//! (a fetch with the data there is, a produce with REQUEST_TIMED_OUT for partitions not yet
//! durable), rather than an error. The flushed job's wait stays armed (the host cannot take
//! it back) and its wake, later, finds nothing to do. At most [`ARMED_MAX`] waits are armed;
//! a job that parks when that many are still out rides on them: the next wake of any of them
//! runs it again, as not timed out (a stale wait's timeout is not its own).

use std::collections::VecDeque;

use sluice_sdk::codec::{Broker, CodecError, Level, Output, Wait};

use crate::job::{Job, Outcome, Run};

/// Most requests queued behind a parked job. Kafka's Java client keeps at most 5 requests in
/// flight per connection, but librdkafka's producer pipelines many more (one request per
/// partition, `max.in.flight` 1,000,000 by default), and they queue behind a produce waiting
/// for its fsync.
pub const QUEUED_REQUESTS_MAX: usize = 256;

/// Most bytes (answers, plus the jobs not run yet) queued behind a parked job, so pipelining
/// cannot grow a connection's memory without bound.
pub const QUEUED_BYTES_MAX: usize = 1024 * 1024;

/// Most waits armed with the host at once: one for the parked job, plus the stale ones of
/// jobs answered early, which fire for nothing. Far below the host's `waits-max`.
pub const ARMED_MAX: usize = 4;

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
#[derive(Default)]
pub struct Pending {
    /// Requests not written yet, oldest first; when not empty, the front is a parked job.
    queue: VecDeque<Entry>,
    /// Sum of the entries' `held_bytes`.
    queued_bytes: usize,
    /// Tokens of the waits armed with the host whose wake has not come, at most [`ARMED_MAX`].
    armed: Vec<u64>,
    /// The wait armed for the parked job at the front; `None` while it rides on stale ones.
    front_wait: Option<u64>,
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
            return Ok(());
        }
        self.enqueue(Entry::Deferred(job));
        self.enforce_bounds(broker, out)
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
        let Some(at) = self.armed.iter().position(|t| *t == token) else {
            broker.log(
                Level::Debug,
                &format!("kafka: ignoring wake for unknown wait {token}"),
            );
            return Ok(());
        };
        self.armed.swap_remove(at);
        let own = self.front_wait == Some(token);
        if own {
            self.front_wait = None;
        } else if self.front_wait.is_some() {
            // A stale wait; the parked job's own is still armed.
            return Ok(());
        }
        if !matches!(self.queue.front(), Some(Entry::Parked(_))) {
            return Ok(());
        }
        let Some(Entry::Parked(job)) = self.dequeue() else {
            return Ok(());
        };
        let run = Run::Woken {
            timed_out: own && timed_out,
        };
        if self.start(job, run, broker, out)? {
            return Ok(());
        }
        self.drain(broker, out, false)
    }

    /// Whether a request is parked (for tests and accounting).
    pub fn is_waiting(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Runs `job`; writes its answer, or parks it at the front of the queue and arms a wait
    /// for it if there is room. Returns whether it parked.
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
                if self.armed.len() < ARMED_MAX {
                    let token = self.next_token;
                    self.next_token = self.next_token.wrapping_add(1);
                    self.armed.push(token);
                    self.front_wait = Some(token);
                    out.waits.push(Wait {
                        token,
                        timeout_ms: park.timeout_ms,
                        watch: park.watch,
                        groups: park.groups,
                        wake_on: park.wake_on,
                    });
                }
                self.queued_bytes += job.held_bytes();
                self.queue.push_front(Entry::Parked(job));
                Ok(true)
            }
        }
    }

    /// Writes queued entries in order. Without `force`, stops at a job that parks; with it,
    /// every job is answered with what there is.
    fn drain<B: Broker>(
        &mut self,
        broker: &B,
        out: &mut Output,
        force: bool,
    ) -> Result<(), CodecError> {
        while let Some(entry) = self.dequeue() {
            match entry {
                Entry::Answered(frame) => write(out, frame),
                Entry::Parked(job) | Entry::Deferred(job) if force => {
                    // Its wait, if it had one, stays armed and will wake for nothing.
                    self.front_wait = None;
                    self.answer_now(job, broker, out)?;
                }
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

    fn answer_now<B: Broker>(
        &mut self,
        mut job: Job,
        broker: &B,
        out: &mut Output,
    ) -> Result<(), CodecError> {
        // A forced run always answers; a job that did not would lose its response.
        match job.run(broker, Run::Forced)? {
            Outcome::Answer(frame) => write(out, frame),
            Outcome::Park(_) => broker.log(
                Level::Error,
                "kafka: a forced request did not answer; its response is lost",
            ),
        }
        Ok(())
    }

    /// Past either bound, the parked job is answered early and the queue flushed.
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
                "kafka: {} requests ({} bytes) pipelined behind a parked request; answering it early",
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
