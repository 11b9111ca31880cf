//! A session's sequence numbers and windows (spec 2.5.6), and every frame it sends.
//!
//! Place in the flow: owned by a `Session`, lent to its links. Incoming transfer frames are
//! counted against the incoming window we announced, which every flow we send renews. Our
//! transfer frames go out only while the peer's incoming window allows; the rest wait in
//! `queued`, in order, until its next flow. That queue holds at most what one `receive` took
//! (the outgoing links take nothing more while it is not empty), so it stays bounded.

use std::collections::{BTreeMap, VecDeque};

use fe2o3_amqp_types::definitions::{Error, Role, SessionError};
use fe2o3_amqp_types::messaging::DeliveryState;
use fe2o3_amqp_types::performatives::{Detach, Disposition, Flow, Performative};
use sluice_sdk::codec::CodecError;

use crate::context::Out;
use crate::errors::{Fault, session};
use crate::frame::{self, TYPE_AMQP};
use crate::hot;
use crate::limits::{INCOMING_WINDOW, OUTGOING_WINDOW};
use crate::performative;

/// A delivery sent to the client and not settled by it yet.
#[derive(Debug, Clone, Copy)]
pub struct Unsettled {
    /// The link's id.
    pub link: u64,
    /// Its consumer.
    pub consumer: u64,
    /// The host's tag, to settle it with.
    pub tag: u64,
}

/// A link's credit state, as a flow carries it.
pub struct LinkFlow {
    /// Our handle of the link.
    pub handle: u32,
    /// The link's delivery count.
    pub delivery_count: u32,
    /// The link's credit.
    pub credit: u32,
    /// Whether the receiver asked us to drain.
    pub drain: bool,
}

/// What a session sends and counts.
pub struct Io {
    /// The channel we send on.
    pub channel: u16,
    /// The transfer-id of the peer's next transfer frame.
    next_incoming_id: u32,
    /// Transfer frames the peer may send before our next flow.
    incoming_window: u32,
    /// The transfer-id of our next transfer frame.
    next_outgoing_id: u32,
    /// Transfer frames we may send before the peer's next flow.
    remote_incoming_window: u32,
    /// The delivery-id of our next delivery.
    next_delivery_id: u32,
    /// Transfer frames waiting for the peer's window, oldest first, with our handle of the
    /// link they belong to.
    queued: VecDeque<(u32, Vec<u8>)>,
    /// Deliveries we sent, unsettled, by delivery-id.
    pub unsettled: BTreeMap<u32, Unsettled>,
}

impl Io {
    /// A session on `channel` whose peer begins at `next_incoming_id` and allows
    /// `remote_incoming_window` frames.
    pub fn new(channel: u16, next_incoming_id: u32, remote_incoming_window: u32) -> Self {
        Io {
            channel,
            next_incoming_id,
            incoming_window: INCOMING_WINDOW,
            next_outgoing_id: 0,
            remote_incoming_window,
            next_delivery_id: 0,
            queued: VecDeque::new(),
            unsettled: BTreeMap::new(),
        }
    }

    /// Our initial `next-outgoing-id`, for the begin that answers the peer's.
    pub fn initial_outgoing_id(&self) -> u32 {
        0
    }

    /// Counts a transfer frame from the peer against our incoming window.
    pub fn count_incoming(&mut self) -> Result<(), Fault> {
        if self.incoming_window == 0 {
            return Err(session(
                SessionError::WindowViolation,
                "transfer beyond the session's incoming window",
            ));
        }
        self.incoming_window -= 1;
        self.next_incoming_id = self.next_incoming_id.wrapping_add(1);
        Ok(())
    }

    /// Whether the incoming window is low enough to renew.
    pub fn incoming_window_low(&self) -> bool {
        self.incoming_window < INCOMING_WINDOW / 2
    }

    /// Reads the session half of a flow from the peer: how many frames it now accepts.
    pub fn peer_flow(&mut self, flow: &Flow) {
        // The peer's window counts from the transfer-id it expects next; frames we sent that it
        // had not seen when it wrote the flow use part of it up.
        let expected = flow.next_incoming_id.unwrap_or(self.initial_outgoing_id());
        let in_flight = self.next_outgoing_id.wrapping_sub(expected);
        self.remote_incoming_window = if in_flight > i32::MAX as u32 {
            // The peer claims frames we never sent; trust the window it states.
            flow.incoming_window
        } else {
            flow.incoming_window.saturating_sub(in_flight)
        };
    }

    /// Whether a transfer frame can go out now.
    pub fn can_send(&self) -> bool {
        self.queued.is_empty() && self.remote_incoming_window > 0
    }

    /// Frames the peer's window still allows.
    pub fn window(&self) -> u32 {
        self.remote_incoming_window
    }

    /// Writes a performative on this session's channel.
    pub fn send(&self, out: &mut Out, performative: &Performative) -> Result<(), CodecError> {
        performative::send(&mut out.write, self.channel, performative, &[])?;
        Ok(())
    }

    /// Writes a flow with our session state and, if given, a link's; it renews our incoming
    /// window.
    pub fn send_flow(
        &mut self,
        out: &mut Out,
        link: Option<LinkFlow>,
        echo: bool,
    ) -> Result<(), CodecError> {
        self.incoming_window = INCOMING_WINDOW;
        let flow = Flow {
            next_incoming_id: Some(self.next_incoming_id),
            incoming_window: INCOMING_WINDOW,
            next_outgoing_id: self.next_outgoing_id,
            outgoing_window: OUTGOING_WINDOW,
            handle: link.as_ref().map(|l| l.handle.into()),
            delivery_count: link.as_ref().map(|l| l.delivery_count),
            link_credit: link.as_ref().map(|l| l.credit),
            available: None,
            drain: link.as_ref().is_some_and(|l| l.drain),
            echo,
            properties: None,
        };
        self.send(out, &Performative::Flow(flow))
    }

    /// Writes a detach of our `handle`.
    pub fn send_detach(
        &self,
        out: &mut Out,
        handle: u32,
        closed: bool,
        error: Option<Error>,
    ) -> Result<(), CodecError> {
        self.send(
            out,
            &Performative::Detach(Detach {
                handle: handle.into(),
                closed,
                error,
            }),
        )
    }

    /// Settles client deliveries with the states given, in as few disposition frames as runs
    /// of consecutive delivery-ids with one state allow.
    pub fn settle_incoming(
        &self,
        out: &mut Out,
        states: Vec<(u32, DeliveryState)>,
    ) -> Result<(), CodecError> {
        let mut run: Option<(u32, u32, DeliveryState)> = None;
        for (id, state) in states {
            run = match run {
                Some((first, last, current)) if last.wrapping_add(1) == id && current == state => {
                    Some((first, id, current))
                }
                Some((first, last, current)) => {
                    self.disposition(out, Role::Receiver, first, last, current)?;
                    Some((id, id, state))
                }
                None => Some((id, id, state)),
            };
        }
        if let Some((first, last, state)) = run {
            self.disposition(out, Role::Receiver, first, last, state)?;
        }
        Ok(())
    }

    /// Writes a settled disposition of deliveries `first..=last`.
    pub fn disposition(
        &self,
        out: &mut Out,
        role: Role,
        first: u32,
        last: u32,
        state: DeliveryState,
    ) -> Result<(), CodecError> {
        self.send(
            out,
            &Performative::Disposition(Disposition {
                role,
                first,
                last: (last != first).then_some(last),
                settled: true,
                state: Some(state),
                batchable: false,
            }),
        )
    }

    /// Sends one delivery of `payload` on our `handle`, cut into frames of at most
    /// `max_frame` bytes; returns its delivery-id.
    pub fn transfer(
        &mut self,
        out: &mut Out,
        handle: u32,
        tag: u64,
        settled: bool,
        payload: &[u8],
        max_frame: u32,
    ) -> Result<u32, CodecError> {
        let delivery_id = self.next_delivery_id;
        self.next_delivery_id = self.next_delivery_id.wrapping_add(1);
        let tag = tag.to_be_bytes();
        let first = hot::First {
            delivery_id,
            tag: &tag,
            settled,
        };
        let max_frame = usize::try_from(max_frame).unwrap_or(usize::MAX);
        // A transfer body is as long with `more` as without, so one encoding sizes the frame.
        let mut body = hot::transfer(handle, Some(&first), false);
        let mut rest = payload;
        let mut is_first = true;
        loop {
            let room = max_frame
                .saturating_sub(frame::overhead())
                .saturating_sub(body.as_slice().len())
                .max(1);
            let (chunk, after) = rest.split_at_checked(room).unwrap_or((rest, &[]));
            let more = !after.is_empty();
            // Frames after the first carry only the handle and `more`.
            body = hot::transfer(handle, is_first.then_some(&first), more);
            self.emit(out, handle, body.as_slice(), chunk);
            if !more {
                return Ok(delivery_id);
            }
            rest = after;
            is_first = false;
        }
    }

    /// Writes a transfer frame now if the peer's window allows and nothing waits before it,
    /// else queues it.
    fn emit(&mut self, out: &mut Out, handle: u32, body: &[u8], payload: &[u8]) {
        if self.can_send() {
            frame::write(&mut out.write, TYPE_AMQP, self.channel, body, payload);
            self.remote_incoming_window -= 1;
            self.next_outgoing_id = self.next_outgoing_id.wrapping_add(1);
        } else {
            let mut queued = Vec::new();
            frame::write(&mut queued, TYPE_AMQP, self.channel, body, payload);
            self.queued.push_back((handle, queued));
        }
    }

    /// Writes queued transfer frames as far as the peer's window allows.
    pub fn flush_queued(&mut self, out: &mut Out) {
        while self.remote_incoming_window > 0 {
            let Some((_, frame)) = self.queued.pop_front() else {
                break;
            };
            out.write.extend_from_slice(&frame);
            self.remote_incoming_window -= 1;
            self.next_outgoing_id = self.next_outgoing_id.wrapping_add(1);
        }
        if self.queued.is_empty() && self.queued.capacity() > 0 {
            self.queued = VecDeque::new();
        }
    }

    /// Bytes of transfer frames waiting for the peer's window.
    pub fn queued_bytes(&self) -> usize {
        self.queued.iter().map(|(_, frame)| frame.len()).sum()
    }

    /// Drops the queued frames of a link that is detaching: once its detach is written, a
    /// transfer on its handle would be a protocol error.
    pub fn forget(&mut self, handle: u32) {
        self.queued.retain(|(h, _)| *h != handle);
    }
}
