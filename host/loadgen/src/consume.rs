//! `sluice consume`: `threads` consumers, each on its own connection, each taking up to
//! `message_count` messages (per thread, as Artemis counts) and acknowledging each, until it
//! has them all or nothing has come for `receive_timeout`.
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::destination::Destination;
use crate::error::Result;
use crate::link::{Broker, Consumer, StartAt};
use crate::summary::{Summary, ThreadSummary};

/// Artemis's consumer gives up after this long without a message.
pub const RECEIVE_TIMEOUT_DEFAULT: Duration = Duration::from_millis(3000);
/// Without a receive timeout, a consumer still wakes this often (to commit).
const POLL_SLICE: Duration = Duration::from_secs(1);
/// Kafka with a group: positions are committed this often while consuming (Kafka's
/// `auto.commit.interval.ms`), and at the end.
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// Called with each body received: the thread, the body.
pub type OnBody = Arc<dyn Fn(usize, &[u8]) + Send + Sync>;

/// What `sluice consume` was asked.
#[derive(Clone)]
pub struct ConsumeOptions {
    /// Where the broker is.
    pub broker: Broker,
    /// Where messages come from.
    pub destination: Destination,
    /// Messages per thread at most; `None`: until idle.
    pub message_count: Option<u64>,
    /// Stop after this long without a message; `None`: wait for ever.
    pub receive_timeout: Option<Duration>,
    /// Consumers, each on its own connection (Kafka's split the partitions).
    pub threads: usize,
    /// Where to start (Kafka).
    pub start: StartAt,
    /// Sees every body (`--verbose`).
    pub on_body: Option<OnBody>,
}

/// Runs every consumer; the summary once all have stopped, or the first failure.
pub async fn run(options: ConsumeOptions) -> Result<Summary> {
    crate::produce::check(options.threads, 0)?;
    let mut tasks = JoinSet::new();
    for thread in 0..options.threads {
        let options = options.clone();
        tasks.spawn(async move { consume(&options, thread).await });
    }
    let mut threads = Vec::with_capacity(options.threads);
    while let Some(joined) = tasks.join_next().await {
        threads.push(joined.map_err(|e| anyhow::anyhow!("a consumer stopped: {e}"))??);
    }
    threads.sort_by_key(|t| t.thread);
    Ok(Summary::new(
        "consume",
        options.broker.protocol,
        options.destination.to_string(),
        threads,
    ))
}

async fn consume(options: &ConsumeOptions, thread: usize) -> Result<ThreadSummary> {
    let mut consumer = Consumer::open(
        &options.broker,
        &options.destination,
        (thread, options.threads),
        &options.start,
        options.message_count,
    )
    .await?;
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut last_message = started;
    let mut last_commit = started;
    let on_body = options.on_body.clone();
    let mut body = |b: &[u8]| {
        messages += 1;
        bytes += b.len() as u64;
        if let Some(on_body) = &on_body {
            on_body(thread, b);
        }
    };
    while !consumer.satisfied() {
        let wait = match options.receive_timeout {
            Some(timeout) => {
                let left = timeout.saturating_sub(last_message.elapsed());
                if left.is_zero() {
                    break;
                }
                left.min(POLL_SLICE)
            }
            None => POLL_SLICE,
        };
        if consumer.poll(wait, &mut body).await? > 0 {
            last_message = Instant::now();
        }
        if last_commit.elapsed() >= COMMIT_INTERVAL {
            consumer.commit().await?;
            last_commit = Instant::now();
        }
    }
    let positions = match &consumer {
        Consumer::Kafka(kafka, _) => Some(kafka.positions().clone()),
        Consumer::Amqp { .. } => None,
    };
    let ended = if messages > 0 { last_message } else { started };
    consumer.close().await?;
    let mut summary = ThreadSummary::new(thread, messages, bytes, started, ended);
    summary.positions = positions;
    Ok(summary)
}
