//! One producer or consumer over either protocol, so that `produce`, `consume` and `perf`
//! are written once: each thread of a run owns one of these, on a connection of its own.
use std::time::{Duration, Instant};

use crate::amqp::{self, Client, Credentials};
use crate::destination::{Destination, Protocol};
use crate::error::{LoadError, Result};
use crate::kafka::{self, Start};

/// AMQP deliveries unsettled at most per sender: enough to keep a broker's pipeline full
/// (its own grant is 1000 credits), and the bound on what a sender remembers.
pub const AMQP_SEND_WINDOW: usize = 1000;
/// Credit granted at most per AMQP receiver: what it can be handed before accepting.
pub const AMQP_RECEIVE_WINDOW: u32 = 1000;
/// Our handle of the one link each connection carries.
const HANDLE: u32 = 0;
/// An AMQP producer writes its frames once this many bytes wait (and takes the
/// acknowledgements already there): batches writes without holding messages back long.
const OUTPUT_FLUSH_BYTES: usize = 64 * 1024;

/// Where the broker listens and how to log in.
#[derive(Clone, Debug)]
pub struct Broker {
    /// The protocol spoken.
    pub protocol: Protocol,
    /// The Kafka listener (`host:port`).
    pub kafka: String,
    /// The AMQP listener (`host:port`).
    pub amqp: String,
    /// AMQP credentials.
    pub credentials: Credentials,
}

/// Where a consumer starts.
#[derive(Clone, Debug, Default)]
pub struct StartAt {
    /// Kafka: from the log start rather than the end, where no committed offset says.
    pub from_beginning: bool,
    /// Kafka: start at this group's committed offsets and commit what is consumed.
    pub group: Option<String>,
}

/// Called for each message a broker acknowledged: when it was handed over, its body bytes.
pub type Acked<'a> = dyn FnMut(Instant, usize) + Send + 'a;

/// A producer.
pub enum Producer {
    /// An AMQP sender link.
    Amqp {
        /// Its connection.
        client: Client,
        /// Its link.
        sender: amqp::Sender,
    },
    /// A Kafka producer.
    Kafka(kafka::Producer),
}

impl Producer {
    /// Connects producer `index` and opens its link to `destination`; with Kafka, `key` is
    /// every record's key.
    pub async fn open(
        broker: &Broker,
        destination: &Destination,
        index: usize,
        key: Option<Vec<u8>>,
    ) -> Result<Producer> {
        match broker.protocol {
            Protocol::Amqp => {
                let mut client = Client::connect(&broker.amqp, &broker.credentials).await?;
                let name = format!("sluice-producer-{index}");
                let sender =
                    amqp::Sender::attach(&mut client, HANDLE, &name, destination, AMQP_SEND_WINDOW)
                        .await?;
                Ok(Producer::Amqp { client, sender })
            }
            Protocol::Kafka => Ok(Producer::Kafka(
                kafka::Producer::connect(&broker.kafka, &destination.name, key, index).await?,
            )),
        }
    }

    /// Hands `body` over, waiting for room when the pipeline is full (reporting what gets
    /// acknowledged meanwhile). It may wait in a batch until [`Producer::flush`].
    pub async fn send(&mut self, body: Vec<u8>, acked: &mut Acked<'_>) -> Result<()> {
        match self {
            Producer::Amqp { client, sender } => {
                let message = amqp::message::durable_message(&body)?;
                sender
                    .send_when_ready(client, &message, body.len(), acked)
                    .await?;
                if client.output.len() >= OUTPUT_FLUSH_BYTES {
                    client.flush().await?;
                    while client.try_fill()? {}
                    sender.read(client, acked)?;
                }
            }
            Producer::Kafka(producer) => {
                producer.push(body);
                if producer.batch_full() {
                    producer.send_batch(acked).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends whatever waits in a batch or a buffer.
    pub async fn flush(&mut self, acked: &mut Acked<'_>) -> Result<()> {
        match self {
            Producer::Amqp { client, .. } => client.flush().await?,
            Producer::Kafka(producer) => producer.send_batch(acked).await?,
        }
        Ok(())
    }

    /// Waits until `until`, taking acknowledgements as they come.
    pub async fn idle_until(&mut self, until: Instant, acked: &mut Acked<'_>) -> Result<()> {
        match self {
            Producer::Amqp { client, sender } => {
                sender.read(client, acked)?;
                client.flush().await?;
                loop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() || client.fill_within(left).await?.is_none() {
                        return Ok(());
                    }
                    sender.read(client, acked)?;
                    client.flush().await?;
                }
            }
            Producer::Kafka(producer) => loop {
                if producer.in_flight() == 0 {
                    tokio::time::sleep_until(until.into()).await;
                    return Ok(());
                }
                tokio::select! {
                    read = producer.next_ack(acked) => read?,
                    () = tokio::time::sleep_until(until.into()) => return Ok(()),
                }
            },
        }
    }

    /// Sends what waits and waits until everything sent is acknowledged.
    pub async fn finish(&mut self, acked: &mut Acked<'_>) -> Result<()> {
        match self {
            Producer::Amqp { client, sender } => sender.settle_all(client, acked).await?,
            Producer::Kafka(producer) => producer.finish(acked).await?,
        }
        Ok(())
    }

    /// Closes the link and the connection.
    pub async fn close(self) -> Result<()> {
        if let Producer::Amqp { mut client, sender } = self {
            sender.detach(&mut client).await?;
            client.close().await?;
        }
        Ok(())
    }
}

/// A consumer.
pub enum Consumer {
    /// An AMQP receiver link.
    Amqp {
        /// Its connection.
        client: Client,
        /// Its link.
        receiver: amqp::Receiver,
    },
    /// A Kafka consumer, with the messages it may still take (`None`: no limit).
    Kafka(kafka::Consumer, Option<u64>),
}

impl Consumer {
    /// Connects consumer `index` of `count` to `destination`; it takes `limit` messages at
    /// most. Kafka consumers split the topic's partitions between them.
    pub async fn open(
        broker: &Broker,
        destination: &Destination,
        (index, count): (usize, usize),
        start: &StartAt,
        limit: Option<u64>,
    ) -> Result<Consumer> {
        match broker.protocol {
            Protocol::Amqp => {
                if start.group.is_some() {
                    return Err(LoadError::usage(
                        "--group is for Kafka; an AMQP queue keeps its own position",
                    ));
                }
                let mut client = Client::connect(&broker.amqp, &broker.credentials).await?;
                let name = format!("sluice-consumer-{index}");
                let receiver = amqp::Receiver::attach(
                    &mut client,
                    HANDLE,
                    &name,
                    destination,
                    AMQP_RECEIVE_WINDOW,
                    limit,
                )
                .await?;
                Ok(Consumer::Amqp { client, receiver })
            }
            Protocol::Kafka => {
                let from = if start.from_beginning {
                    Start::Earliest
                } else {
                    Start::Latest
                };
                let consumer = kafka::Consumer::connect(
                    &broker.kafka,
                    &destination.name,
                    (index, count),
                    from,
                    start.group.clone(),
                )
                .await?;
                Ok(Consumer::Kafka(consumer, limit))
            }
        }
    }

    /// Waits up to `wait` for messages, hands each body to `body` and acknowledges it (an
    /// accepted disposition; Kafka commits at [`Consumer::close`]); returns how many came.
    pub async fn poll(
        &mut self,
        wait: Duration,
        body: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<u64> {
        match self {
            Consumer::Amqp { client, receiver } => {
                if receiver.remaining() == Some(0) {
                    return Ok(0);
                }
                let mut on_message = |message: &[u8]| match amqp::message::body_of(message) {
                    Ok(Some(b)) => body(b),
                    _ => body(message),
                };
                let mut taken = receiver.read(client, &mut on_message)?;
                client.flush().await?;
                if taken == 0 && client.fill_within(wait).await?.is_some() {
                    taken = receiver.read(client, &mut on_message)?;
                    client.flush().await?;
                }
                Ok(taken)
            }
            Consumer::Kafka(consumer, remaining) => {
                let taken = consumer
                    .poll(wait, *remaining, &mut |r| body(r.value))
                    .await?;
                if let Some(remaining) = remaining {
                    *remaining -= taken.min(*remaining);
                }
                Ok(taken)
            }
        }
    }

    /// Whether it took every message it was allowed.
    pub fn satisfied(&self) -> bool {
        match self {
            Consumer::Amqp { receiver, .. } => receiver.remaining() == Some(0),
            Consumer::Kafka(_, remaining) => *remaining == Some(0),
        }
    }

    /// Kafka with a group: commits the positions reached. Done by [`Consumer::close`] too.
    pub async fn commit(&mut self) -> Result<()> {
        if let Consumer::Kafka(consumer, _) = self {
            consumer.commit().await?;
        }
        Ok(())
    }

    /// Commits (Kafka with a group), closes the link and the connection.
    pub async fn close(mut self) -> Result<()> {
        self.commit().await?;
        if let Consumer::Amqp {
            mut client,
            receiver,
        } = self
        {
            receiver.detach(&mut client).await?;
            client.close().await?;
        }
        Ok(())
    }
}
