//! `sluice produce`: `threads` producers, each on its own connection, each sending
//! `message_count` messages (Artemis's `--message-count` is per thread) and waiting for the
//! broker to acknowledge every one.
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::destination::Destination;
use crate::error::{LoadError, Result};
use crate::link::{Broker, Producer};
use crate::payload::labelled;
use crate::summary::{Summary, ThreadSummary};

/// Threads at most: each is a connection to the broker.
pub const THREADS_MAX: usize = 1000;
/// A message's body at most: the broker's own AMQP message limit (16 MiB); a Kafka topic's
/// `max.message.bytes` refuses less.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What `sluice produce` was asked.
#[derive(Clone, Debug)]
pub struct ProduceOptions {
    /// Where the broker is.
    pub broker: Broker,
    /// Where messages go.
    pub destination: Destination,
    /// Messages per thread.
    pub message_count: u64,
    /// Body bytes; 0: a short label (`THREAD:SEQ`) alone.
    pub message_size: usize,
    /// Pause after each message, per thread.
    pub sleep: Duration,
    /// Producers, each on its own connection.
    pub threads: usize,
    /// Kafka: every record's key (all go to the partition it hashes to).
    pub key: Option<Vec<u8>>,
}

/// Checks the options' bounds.
pub fn check(threads: usize, message_size: usize) -> Result<()> {
    if threads == 0 || threads > THREADS_MAX {
        return Err(LoadError::usage(format!(
            "--threads must be between 1 and {THREADS_MAX}"
        )));
    }
    if message_size > MESSAGE_BYTES_MAX {
        return Err(LoadError::usage(format!(
            "--message-size must be at most {MESSAGE_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

/// Runs every producer; the summary once all are acknowledged, or the first failure.
pub async fn run(options: ProduceOptions) -> Result<Summary> {
    check(options.threads, options.message_size)?;
    let mut tasks = JoinSet::new();
    for thread in 0..options.threads {
        let options = options.clone();
        tasks.spawn(async move { (thread, produce(&options, thread).await) });
    }
    let mut threads = Vec::with_capacity(options.threads);
    while let Some(joined) = tasks.join_next().await {
        let (_, outcome) = joined.map_err(|e| anyhow::anyhow!("a producer stopped: {e}"))?;
        threads.push(outcome?);
    }
    threads.sort_by_key(|t| t.thread);
    Ok(Summary::new(
        "produce",
        options.broker.protocol,
        options.destination.to_string(),
        threads,
    ))
}

async fn produce(options: &ProduceOptions, thread: usize) -> Result<ThreadSummary> {
    let mut producer = Producer::open(
        &options.broker,
        &options.destination,
        thread,
        options.key.clone(),
    )
    .await?;
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut acked = |_: Instant, n: usize| {
        messages += 1;
        bytes += n as u64;
    };
    let started = Instant::now();
    for seq in 0..options.message_count {
        let body = labelled(thread, seq, options.message_size);
        producer.send(body, &mut acked).await?;
        if !options.sleep.is_zero() {
            producer.flush(&mut acked).await?;
            producer
                .idle_until(Instant::now() + options.sleep, &mut acked)
                .await?;
        }
    }
    producer.finish(&mut acked).await?;
    let ended = Instant::now();
    producer.close().await?;
    Ok(ThreadSummary::new(thread, messages, bytes, started, ended))
}
