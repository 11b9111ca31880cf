//! A receiver link: deliveries taken unsettled and accepted one by one, so the queue counts
//! each as acknowledged. Credit is a window topped up once a quarter of it is used, and never
//! more than the messages still wanted: a receiver that stops at N messages is never handed
//! an N+1th it would have to give back.
use std::time::{Duration, Instant};

use anyhow::bail;
use fe2o3_amqp_types::definitions::{DeliveryNumber, Role};
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};
use fe2o3_amqp_types::performatives::{Disposition, Performative};

use super::client::{Client, decode_performative, session_flow};
use crate::destination::Destination;

/// One message being assembled from several transfer frames holds this many bytes at most,
/// as the broker's own `MESSAGE_BYTES_MAX`.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// One attached receiver link.
pub struct Receiver {
    /// Our handle.
    ours: u32,
    /// The broker's handle of the link.
    theirs: u32,
    /// Credit granted at most at once.
    window: u32,
    /// The link's delivery-count as we last saw it.
    delivery_count: u32,
    /// Credit the broker still holds.
    credit: u32,
    /// Messages still wanted; `None`: no limit.
    remaining: Option<u64>,
    /// A delivery whose frames are still arriving: its id and the bytes so far.
    partial: Option<(DeliveryNumber, Vec<u8>)>,
}

impl Receiver {
    /// Attaches a receiver on handle `ours` to `destination`, granting a credit of `window`,
    /// or of `limit` if smaller (the messages wanted in all).
    pub async fn attach(
        client: &mut Client,
        ours: u32,
        name: &str,
        destination: &Destination,
        window: u32,
        limit: Option<u64>,
    ) -> anyhow::Result<Receiver> {
        let attach = client
            .attach(ours, name, Role::Receiver, destination)
            .await?;
        let mut receiver = Receiver {
            ours,
            theirs: attach.handle.0,
            window: window.max(1),
            delivery_count: attach.initial_delivery_count.unwrap_or(0),
            credit: 0,
            remaining: limit,
            partial: None,
        };
        receiver.top_up(client)?;
        client.flush().await?;
        Ok(receiver)
    }

    /// Messages still wanted (`None`: no limit).
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// Accepts every whole delivery read so far, handing each message (as encoded) to
    /// `message`, and tops the credit up; returns how many were taken.
    pub fn read(
        &mut self,
        client: &mut Client,
        message: &mut (dyn FnMut(&[u8]) + Send),
    ) -> anyhow::Result<u64> {
        let mut taken = 0;
        while let Some((kind, _, body)) = client.next_frame()? {
            let (performative, payload) = decode_performative(kind, body)?;
            match performative {
                Performative::Transfer(t) => {
                    client.next_incoming_id = client.next_incoming_id.wrapping_add(1);
                    if t.handle.0 != self.theirs {
                        bail!("a transfer on handle {} we never attached", t.handle.0);
                    }
                    let (id, mut bytes) = match self.partial.take() {
                        Some((id, bytes)) => (id, bytes),
                        None => match t.delivery_id {
                            Some(id) => (id, Vec::new()),
                            None => bail!("a transfer without a delivery-id"),
                        },
                    };
                    if bytes.len() + payload.len() > MESSAGE_BYTES_MAX {
                        bail!("a message over {MESSAGE_BYTES_MAX} bytes");
                    }
                    if t.aborted {
                        continue;
                    }
                    if t.more {
                        bytes.extend_from_slice(&payload);
                        self.partial = Some((id, bytes));
                        continue;
                    }
                    if bytes.is_empty() {
                        message(&payload);
                    } else {
                        bytes.extend_from_slice(&payload);
                        message(&bytes);
                    }
                    self.delivery_count = self.delivery_count.wrapping_add(1);
                    self.credit = self.credit.saturating_sub(1);
                    if let Some(remaining) = &mut self.remaining {
                        *remaining = remaining.saturating_sub(1);
                    }
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
                Performative::Detach(d) => {
                    bail!(
                        "refused by the broker: the receiver was detached: {:?}",
                        d.error
                    )
                }
                _ => {}
            }
        }
        self.top_up(client)?;
        Ok(taken)
    }

    /// Grants credit back up to the window (or what is still wanted) once a quarter of it is
    /// used: waiting for half (fe2o3-amqp's rule) left the broker idle between top-ups; a
    /// flow per read costs a broker more than it gains.
    fn top_up(&mut self, client: &mut Client) -> anyhow::Result<()> {
        let wanted = match self.remaining {
            Some(remaining) => u32::try_from(remaining)
                .unwrap_or(u32::MAX)
                .min(self.window),
            None => self.window,
        };
        let step = (self.window / 4).max(1);
        if wanted > self.credit && (wanted - self.credit >= step || self.credit == 0) {
            self.credit = wanted;
            client.flow(self.ours, self.delivery_count, wanted)?;
        }
        Ok(())
    }

    /// Takes `messages` deliveries; returns the time it took.
    pub async fn take(&mut self, client: &mut Client, messages: u64) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut taken = 0;
        let mut ignore = |_: &[u8]| {};
        while taken < messages {
            taken += self.read(client, &mut ignore)?;
            client.flush().await?;
            if taken < messages {
                client.fill().await?;
            }
        }
        Ok(started.elapsed())
    }

    /// Takes whatever arrives until `idle` passes without a byte; returns how many.
    pub async fn drain(&mut self, client: &mut Client, idle: Duration) -> anyhow::Result<u64> {
        let mut ignore = |_: &[u8]| {};
        let mut taken = self.read(client, &mut ignore)?;
        client.flush().await?;
        while client.fill_within(idle).await?.is_some() {
            taken += self.read(client, &mut ignore)?;
            client.flush().await?;
        }
        Ok(taken)
    }

    /// Detaches the link (the broker takes back what it sent past our last read).
    pub async fn detach(self, client: &mut Client) -> anyhow::Result<()> {
        client.flush().await?;
        client.detach(self.ours).await
    }
}
