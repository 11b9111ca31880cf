//! A sender link: durable messages sent unsettled, each counted once the broker accepts it
//! (for a durable message Sluice accepts only once it is stored). A pipeline bounded three
//! ways: the link credit the broker grants, its session window (in frames) and our own
//! window of unsettled deliveries.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::bail;
use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};
use fe2o3_amqp_types::performatives::{Disposition, Performative, Transfer};

use super::client::{Client, decode_performative, session_flow};
use crate::destination::Destination;

/// Bytes a transfer performative and frame header take at most in front of a payload
/// (delivery-id, a 4-byte tag, format, settled, more; measured under 40).
const TRANSFER_OVERHEAD_BYTES: usize = 64;

/// One attached sender link.
pub struct Sender {
    /// Our handle.
    ours: u32,
    /// The broker's handle of the link: its flows name it.
    theirs: u32,
    /// Deliveries the broker still lets us send.
    credit: u32,
    /// Deliveries sent over the link's life (the link's delivery-count).
    delivery_count: u32,
    /// Sent and not yet settled, with when each went and the bytes it reports.
    unsettled: HashMap<u32, (Instant, usize)>,
    /// Unsettled deliveries at most.
    window: usize,
}

impl Sender {
    /// Attaches a sender on handle `ours` to `destination`, with at most `window` deliveries
    /// unsettled at a time.
    pub async fn attach(
        client: &mut Client,
        ours: u32,
        name: &str,
        destination: &Destination,
        window: usize,
    ) -> anyhow::Result<Sender> {
        let attach = client.attach(ours, name, Role::Sender, destination).await?;
        Ok(Sender {
            ours,
            theirs: attach.handle.0,
            credit: 0,
            delivery_count: 0,
            unsettled: HashMap::with_capacity(window),
            window: window.max(1),
        })
    }

    /// Deliveries sent and not yet settled.
    pub fn unsettled(&self) -> usize {
        self.unsettled.len()
    }

    /// Whether a message of `bytes` may be sent now.
    pub fn ready(&self, client: &Client, bytes: usize) -> bool {
        self.credit > 0
            && self.unsettled.len() < self.window
            && client.remote_incoming_window >= frames_for(client, bytes)
    }

    /// Queues `message` (an encoded message) as one delivery, cut into as many transfer
    /// frames as the broker's max-frame-size needs; the caller checked [`Sender::ready`].
    /// `bytes` is what its acceptance reports (the body's size).
    pub fn send(
        &mut self,
        client: &mut Client,
        message: &[u8],
        bytes: usize,
    ) -> anyhow::Result<()> {
        let id = self.delivery_count;
        for (transfer, piece) in transfers(self.ours, id, message, chunk_bytes(client)) {
            client.send_with(&Performative::Transfer(transfer), piece)?;
            client.next_outgoing_id = client.next_outgoing_id.wrapping_add(1);
            client.remote_incoming_window = client.remote_incoming_window.saturating_sub(1);
        }
        self.unsettled.insert(id, (Instant::now(), bytes));
        self.credit -= 1;
        self.delivery_count = self.delivery_count.wrapping_add(1);
        Ok(())
    }

    /// Handles every frame read so far: flows (credit, session window) and dispositions;
    /// calls `accepted` with the send time and bytes of each delivery the broker accepted. A
    /// delivery refused (rejected, released, modified) fails the run.
    pub fn read(
        &mut self,
        client: &mut Client,
        accepted: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        while let Some((kind, _, body)) = client.next_frame()? {
            match decode_performative(kind, body)?.0 {
                Performative::Disposition(d) if d.role == Role::Receiver => {
                    if !matches!(d.state, Some(DeliveryState::Accepted(_))) {
                        bail!(
                            "refused by the broker: delivery {} not accepted: {:?}",
                            d.first,
                            d.state
                        );
                    }
                    let last = d.last.unwrap_or(d.first);
                    let mut id = d.first;
                    loop {
                        if let Some((sent, bytes)) = self.unsettled.remove(&id) {
                            accepted(sent, bytes);
                        }
                        if id == last {
                            break;
                        }
                        id = id.wrapping_add(1);
                    }
                    if !d.settled {
                        client.send(&Performative::Disposition(Disposition {
                            role: Role::Sender,
                            first: d.first,
                            last: d.last,
                            settled: true,
                            state: Some(DeliveryState::Accepted(Accepted {})),
                            batchable: false,
                        }))?;
                    }
                }
                Performative::Flow(flow) => {
                    session_flow(client, &flow);
                    if flow.handle.map(|h| h.0) == Some(self.theirs) {
                        self.credit = flow
                            .delivery_count
                            .unwrap_or(0)
                            .wrapping_add(flow.link_credit.unwrap_or(0))
                            .wrapping_sub(self.delivery_count);
                    }
                }
                Performative::Detach(d) => {
                    bail!(
                        "refused by the broker: the sender was detached: {:?}",
                        d.error
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Sends `message` as soon as credit and windows allow, reading what arrives meanwhile.
    pub async fn send_when_ready(
        &mut self,
        client: &mut Client,
        message: &[u8],
        bytes: usize,
        accepted: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        loop {
            self.read(client, accepted)?;
            if self.ready(client, message.len()) {
                return self.send(client, message, bytes);
            }
            client.flush().await?;
            client.fill().await?;
        }
    }

    /// Writes what is queued and waits until every delivery sent is settled.
    pub async fn settle_all(
        &mut self,
        client: &mut Client,
        accepted: &mut (dyn FnMut(Instant, usize) + Send),
    ) -> anyhow::Result<()> {
        loop {
            self.read(client, accepted)?;
            client.flush().await?;
            if self.unsettled.is_empty() {
                return Ok(());
            }
            client.fill().await?;
        }
    }

    /// Detaches the link.
    pub async fn detach(self, client: &mut Client) -> anyhow::Result<()> {
        client.detach(self.ours).await
    }
}

/// The transfer frames of delivery `id` of `message` on link `handle`, cut into pieces of at
/// most `chunk` bytes: the first names the delivery, every one but the last says `more`.
fn transfers(handle: u32, id: u32, message: &[u8], chunk: usize) -> Vec<(Transfer, &[u8])> {
    let mut pieces: Vec<&[u8]> = message.chunks(chunk.max(1)).collect();
    if pieces.is_empty() {
        // An empty message still takes one frame.
        pieces.push(&[]);
    }
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let first = i == 0;
            let transfer = Transfer {
                handle: handle.into(),
                delivery_id: first.then_some(id),
                delivery_tag: first.then(|| id.to_be_bytes().to_vec().into()),
                message_format: first.then_some(0),
                settled: first.then_some(false),
                more: i < last,
                rcv_settle_mode: None,
                state: None,
                resume: false,
                aborted: false,
                batchable: false,
            };
            (transfer, piece)
        })
        .collect()
}

/// Payload bytes that fit in one transfer frame.
fn chunk_bytes(client: &Client) -> usize {
    (client.peer_max_frame as usize)
        .saturating_sub(TRANSFER_OVERHEAD_BYTES)
        .max(1)
}

/// Transfer frames a message of `bytes` takes.
fn frames_for(client: &Client, bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(chunk_bytes(client)).max(1)).unwrap_or(u32::MAX)
}

/// The benchmark's send phase: `messages` copies of `message` to `destination`, unsettled,
/// at most `window` awaiting their outcome; returns the time from the first transfer to the
/// last outcome.
pub async fn send_copies(
    client: &mut Client,
    destination: &Destination,
    message: &[u8],
    messages: usize,
    window: usize,
) -> anyhow::Result<Duration> {
    let mut sender = Sender::attach(client, 0, "bench-sender", destination, window).await?;
    let started = Instant::now();
    let mut ignore = |_, _| {};
    for _ in 0..messages {
        sender
            .send_when_ready(client, message, message.len(), &mut ignore)
            .await?;
    }
    sender.settle_all(client, &mut ignore).await?;
    let elapsed = started.elapsed();
    sender.detach(client).await?;
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_over_the_frame_size_is_cut_into_continued_transfers() {
        let message: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let frames = transfers(3, 77, &message, 1000);
        assert_eq!(frames.len(), 3);
        let joined: Vec<u8> = frames.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        assert_eq!(joined, message);
        let (first, _) = &frames[0];
        assert_eq!(first.delivery_id, Some(77));
        assert_eq!(first.settled, Some(false));
        assert!(first.more && frames[1].0.more && !frames[2].0.more);
        assert!(frames[1..].iter().all(|(t, _)| t.delivery_id.is_none()));
        assert!(frames.iter().all(|(t, _)| t.handle.0 == 3));
    }

    #[test]
    fn a_small_or_empty_message_is_one_transfer() {
        assert_eq!(transfers(0, 1, b"abc", 1000).len(), 1);
        let empty = transfers(0, 1, b"", 1000);
        assert_eq!(empty.len(), 1);
        assert!(!empty[0].0.more && empty[0].1.is_empty());
    }

    #[test]
    fn a_transfer_fits_its_frame_with_the_overhead_allowed() {
        let frames = transfers(u32::MAX, u32::MAX, &[0; 10], 10);
        let body = serde_amqp::to_vec(&Performative::Transfer(frames[0].0.clone())).unwrap();
        assert!(8 + body.len() <= TRANSFER_OVERHEAD_BYTES, "{}", body.len());
    }
}
