//! Requests whose answer depends on the log moving: a fetch short of `min_bytes`, a produce
//! whose records are not durable yet.
//!
//! Place in the flow: `api::fetch` and `api::produce` hand `dispatch` a [`Job`]; `pending`
//! runs it when it reaches the front of the response queue and, while it answers
//! [`Outcome::Park`], arms a host wait and runs it again when the wait fires. The codec has no
//! clock: what it knows of time is the host's `timed-out` flag on a wake.

use sluice_sdk::codec::{Broker, CodecError, GroupWatch, LogPosition, WakeOn};

use crate::api::fetch::{self, FetchPlan};
use crate::api::join_group::{self, JoinWait};
use crate::api::produce::{self, ProduceWait};
use crate::api::sync_group::{self, SyncWait};

/// A request that may have to wait before it can be answered.
pub enum Job {
    /// Waits for data: any watched partition's high watermark moving.
    Fetch(FetchPlan),
    /// Waits for durability: every watched partition's high watermark passing its records.
    Produce(ProduceWait),
    /// Waits for a group's rebalance: the group's next change.
    Join(JoinWait),
    /// Waits for the leader's assignments: the group's next change.
    Sync(SyncWait),
}

/// Why a job is being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// It reached the front of the queue: the first look.
    First,
    /// The wait it parked on fired; `timed_out` when its timeout did.
    Woken {
        /// Whether the timeout fired, as the host says.
        timed_out: bool,
    },
}

/// What running a job came to.
pub enum Outcome {
    /// The response frame.
    Answer(Vec<u8>),
    /// Not answerable yet: wait for the log as `Park` says, then run again.
    Park(Park),
}

/// The wait a parked job asks for, without its token (`pending` hands those out).
pub struct Park {
    /// The longest to wait, in milliseconds (at least 1).
    pub timeout_ms: u32,
    /// The positions whose high watermark to watch.
    pub watch: Vec<LogPosition>,
    /// The groups whose next change to watch. `watch` and `groups` are never both empty.
    pub groups: Vec<GroupWatch>,
    /// Whether one of them passing is enough, or all must.
    pub wake_on: WakeOn,
}

impl Job {
    /// Runs the job: reads or checks the log and answers, or says how to wait.
    pub fn run<B: Broker>(&mut self, broker: &B, run: Run) -> Result<Outcome, CodecError> {
        match self {
            Job::Fetch(plan) => fetch::run(plan, broker, run),
            Job::Produce(wait) => produce::check(wait, broker, run),
            Job::Join(wait) => join_group::run(wait, broker, run),
            Job::Sync(wait) => sync_group::run(wait, broker, run),
        }
    }

    /// Rough memory held while it waits, for `pending`'s bound.
    pub fn held_bytes(&self) -> usize {
        match self {
            Job::Fetch(plan) => plan.held_bytes(),
            Job::Produce(wait) => wait.held_bytes(),
            Job::Join(wait) => wait.held_bytes(),
            Job::Sync(wait) => wait.held_bytes(),
        }
    }
}
