//! The measured phases over a [`Client`]: send durable messages unsettled and wait for every
//! outcome; receive them unsettled and accept each one. Both are pipelines bounded by a
//! window: at most `window` sends unsettled, and a receiver credit of `window`, topped up
//! once a quarter of it is used.
use std::time::{Duration, Instant};

use anyhow::bail;
use fe2o3_amqp_types::definitions::{DeliveryNumber, Role};
use fe2o3_amqp_types::messaging::{Accepted, Data, DeliveryState, Header};
use fe2o3_amqp_types::performatives::{Disposition, Flow, Performative, Transfer};
use serde_amqp::primitives::Binary;

use crate::client::{Client, decode_performative};

/// Our handle of the sender link.
const SENDER: u32 = 0;
/// Our handle of the receiver link.
const RECEIVER: u32 = 1;

/// A durable message: a header section (durable) and a data section of `bytes` bytes.
pub fn durable_message(bytes: usize) -> anyhow::Result<Vec<u8>> {
    let mut payload = serde_amqp::to_vec(&Header {
        durable: true,
        ..Header::default()
    })?;
    payload.extend(serde_amqp::to_vec(&Data(Binary::from(vec![b'x'; bytes])))?);
    Ok(payload)
}

/// Sends `messages` copies of `payload` to `address`, unsettled, at most `window` awaiting
/// their outcome; returns the time from the first transfer to the last outcome.
pub async fn send(
    client: &mut Client,
    address: &str,
    payload: &[u8],
    messages: usize,
    window: usize,
) -> anyhow::Result<Duration> {
    // Frames from the broker name the link by its handle, not ours.
    let theirs = client
        .attach(SENDER, "bench-sender", Role::Sender, address)
        .await?
        .handle
        .0;
    let (mut credit, mut delivery_count) = (0u32, 0u32);
    let (mut sent, mut accepted) = (0usize, 0usize);
    let started = Instant::now();
    loop {
        while let Some((kind, _, body)) = client.next_frame()? {
            match decode_performative(kind, body)?.0 {
                Performative::Disposition(d) if d.role == Role::Receiver => {
                    if !matches!(d.state, Some(DeliveryState::Accepted(_))) {
                        bail!("delivery {} not accepted: {:?}", d.first, d.state);
                    }
                    accepted += span(d.first, d.last);
                }
                Performative::Flow(flow) => {
                    session_flow(client, &flow);
                    if flow.handle.map(|h| h.0) == Some(theirs) {
                        credit = flow
                            .delivery_count
                            .unwrap_or(0)
                            .wrapping_add(flow.link_credit.unwrap_or(0))
                            .wrapping_sub(delivery_count);
                    }
                }
                Performative::Detach(d) => bail!("the sender was detached: {:?}", d.error),
                _ => {}
            }
        }
        if accepted >= messages {
            break;
        }
        while sent < messages
            && sent - accepted < window
            && credit > 0
            && client.remote_incoming_window > 0
        {
            let id = sent as u32;
            let transfer = Transfer {
                handle: SENDER.into(),
                delivery_id: Some(id),
                delivery_tag: Some(id.to_be_bytes().to_vec().into()),
                message_format: Some(0),
                settled: Some(false),
                more: false,
                rcv_settle_mode: None,
                state: None,
                resume: false,
                aborted: false,
                batchable: false,
            };
            client.send_with(&Performative::Transfer(transfer), payload)?;
            client.next_outgoing_id = client.next_outgoing_id.wrapping_add(1);
            client.remote_incoming_window -= 1;
            credit -= 1;
            delivery_count = delivery_count.wrapping_add(1);
            sent += 1;
        }
        client.flush().await?;
        client.fill().await?;
    }
    let elapsed = started.elapsed();
    client.detach(SENDER).await?;
    Ok(elapsed)
}

/// A receiver link taking deliveries and accepting each.
pub struct Receiver {
    /// The broker's handle of the link.
    theirs: u32,
    window: u32,
    delivery_count: u32,
    credit: u32,
    /// The delivery-id of a delivery whose frames are still arriving.
    partial: Option<DeliveryNumber>,
}

impl Receiver {
    /// Attaches to `address` with a credit of `window`.
    pub async fn attach(client: &mut Client, address: &str, window: u32) -> anyhow::Result<Self> {
        let attach = client
            .attach(RECEIVER, "bench-receiver", Role::Receiver, address)
            .await?;
        let delivery_count = attach.initial_delivery_count.unwrap_or(0);
        client.flow(RECEIVER, delivery_count, window)?;
        client.flush().await?;
        Ok(Receiver {
            theirs: attach.handle.0,
            window,
            delivery_count,
            credit: window,
            partial: None,
        })
    }

    /// Takes `messages` deliveries; returns the time it took.
    pub async fn take(&mut self, client: &mut Client, messages: usize) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut taken = 0;
        while taken < messages {
            taken += self.accept_read(client)?;
            client.flush().await?;
            if taken < messages {
                client.fill().await?;
            }
        }
        Ok(started.elapsed())
    }

    /// Takes whatever arrives until `idle` passes without a byte; returns how many.
    pub async fn drain(&mut self, client: &mut Client, idle: Duration) -> anyhow::Result<usize> {
        let mut taken = self.accept_read(client)?;
        client.flush().await?;
        while client.fill_within(idle).await?.is_some() {
            taken += self.accept_read(client)?;
            client.flush().await?;
        }
        Ok(taken)
    }

    /// Accepts every whole delivery read so far and tops the credit up; returns how many.
    fn accept_read(&mut self, client: &mut Client) -> anyhow::Result<usize> {
        let mut taken = 0;
        while let Some((kind, _, body)) = client.next_frame()? {
            match decode_performative(kind, body)?.0 {
                Performative::Transfer(t) => {
                    client.next_incoming_id = client.next_incoming_id.wrapping_add(1);
                    if t.handle.0 != self.theirs {
                        bail!("a transfer on handle {} we never attached", t.handle.0);
                    }
                    let Some(id) = t.delivery_id.or(self.partial) else {
                        bail!("a transfer without a delivery-id");
                    };
                    if t.more {
                        self.partial = Some(id);
                        continue;
                    }
                    self.partial = None;
                    self.delivery_count = self.delivery_count.wrapping_add(1);
                    self.credit = self.credit.saturating_sub(1);
                    taken += 1;
                    if t.settled != Some(true) {
                        client.send(&Performative::Disposition(Disposition {
                            role: Role::Receiver,
                            first: id,
                            last: None,
                            settled: true,
                            state: Some(DeliveryState::Accepted(Accepted {})),
                            batchable: false,
                        }))?;
                    }
                }
                Performative::Flow(flow) => session_flow(client, &flow),
                Performative::Detach(d) => bail!("the receiver was detached: {:?}", d.error),
                _ => {}
            }
        }
        // Topped up once a quarter is used, at most one flow per read: waiting for half
        // (fe2o3-amqp's rule) left the broker idle between top-ups; a flow per read costs
        // RabbitMQ more than it gains.
        if self.credit <= self.window - self.window / 4 {
            self.credit = self.window;
            client.flow(RECEIVER, self.delivery_count, self.window)?;
        }
        Ok(taken)
    }

    /// Detaches the link.
    pub async fn detach(self, client: &mut Client) -> anyhow::Result<()> {
        client.detach(RECEIVER).await
    }
}

/// Reads the session half of a flow: how many transfer frames the broker now accepts.
fn session_flow(client: &mut Client, flow: &Flow) {
    let expected = flow.next_incoming_id.unwrap_or(0);
    let in_flight = client.next_outgoing_id.wrapping_sub(expected);
    client.remote_incoming_window = flow.incoming_window.saturating_sub(in_flight);
}

/// Deliveries `first..=last` count.
fn span(first: u32, last: Option<u32>) -> usize {
    last.unwrap_or(first).wrapping_sub(first) as usize + 1
}
