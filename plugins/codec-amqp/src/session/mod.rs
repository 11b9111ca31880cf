//! One session: its links by handle, and the frames addressed to them.
//!
//! Place in the flow: the connection hands every attach, flow, transfer, disposition and
//! detach on a session's channel to [`Session::on_frame`]. A link's protocol error detaches
//! that link with the error here ([`Session::detach_with`]); a session's ends the session (the
//! connection writes the end). Handles are bounded by [`HANDLE_MAX`] and the connection's
//! links by [`LINKS_MAX`].

pub(crate) mod disposition;
pub mod io;

use std::collections::{BTreeMap, BTreeSet};

use fe2o3_amqp_types::definitions::{AmqpError, Error, Role, SessionError};
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState};
use fe2o3_amqp_types::performatives::{Attach, Begin, Detach, End, Flow, Performative, Transfer};
use sluice_sdk::codec::{Broker, CodecError, ConsumerWatch, Level, Queues};

use crate::context::Cx;
use crate::durable::Awaiting;
use crate::errors::{
    Fault, connection, describe, error, framing_error, session, unattached_handle,
};
use crate::limits::{HANDLE_MAX, INCOMING_WINDOW, LINKS_MAX, OUTGOING_WINDOW};
use crate::link::outgoing::Stop;
use crate::link::{Link, incoming, outgoing};
use io::Io;

/// One session of the connection.
pub struct Session {
    /// Never reused within the connection (channels are).
    pub id: u64,
    /// Set once we ended it with an error: its frames are ignored until the peer's end.
    pub ending: bool,
    /// Sequence numbers, windows and the frames it sends.
    pub io: Io,
    /// The highest handle the peer accepts from us.
    peer_handle_max: u32,
    /// Links by the peer's handle.
    links: BTreeMap<u32, Link>,
    /// The peer handle the next delivery round starts at, so a link that fills the output
    /// does not starve the links after it.
    cursor: u32,
    /// Client sender links that received transfers since the last flush: a flush (before
    /// every frame that is not a transfer) visits only these, not every link.
    dirty: BTreeSet<u32>,
    /// Whether transfers arrived since the last flush, on any link: the incoming window may
    /// need renewing.
    flush_due: bool,
}

impl Session {
    /// A session answering the peer's `begin`, sending on `channel`; returns it with our begin.
    pub fn begin(id: u64, channel: u16, remote_channel: u16, peer: &Begin) -> (Session, Begin) {
        let session = Session {
            id,
            ending: false,
            io: Io::new(channel, peer.next_outgoing_id, peer.incoming_window),
            peer_handle_max: peer.handle_max.0,
            links: BTreeMap::new(),
            cursor: 0,
            dirty: BTreeSet::new(),
            flush_due: false,
        };
        let answer = Begin {
            remote_channel: Some(remote_channel),
            next_outgoing_id: session.io.initial_outgoing_id(),
            incoming_window: INCOMING_WINDOW,
            outgoing_window: OUTGOING_WINDOW,
            handle_max: HANDLE_MAX.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        (session, answer)
    }

    /// A frame on the session's channel (not begin, end, open or close).
    pub fn on_frame<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        performative: Performative,
        payload: &[u8],
    ) -> Result<(), Fault> {
        match performative {
            Performative::Attach(a) => self.attach(cx, a),
            Performative::Flow(f) => self.flow(cx, &f),
            Performative::Transfer(t) => self.transfer(cx, &t, payload),
            Performative::Disposition(d) => disposition::from_peer(self, cx, &d),
            Performative::Detach(d) => self.detach(cx, &d),
            other => Err(connection(
                AmqpError::IllegalState,
                format!("unexpected {}", crate::performative::name(&other)),
            )),
        }
    }

    fn attach<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        peer: Attach,
    ) -> Result<(), Fault> {
        let handle = peer.handle.0;
        if handle > HANDLE_MAX {
            return Err(framing_error(format!(
                "handle {handle} is above handle-max {HANDLE_MAX}"
            )));
        }
        if self.links.contains_key(&handle) {
            return Err(session(
                SessionError::HandleInUse,
                format!("handle {handle} is already attached"),
            ));
        }
        let Some(local_handle) = self.free_handle() else {
            return Err(session(
                AmqpError::ResourceLimitExceeded,
                "no handle left within the peer's handle-max",
            ));
        };
        let attached = if cx.shared.links >= LINKS_MAX {
            Err(error(
                AmqpError::ResourceLimitExceeded,
                format!("more than {LINKS_MAX} links on one connection"),
            ))
        } else {
            match peer.role {
                Role::Sender => incoming::attach(cx, &peer, local_handle)
                    .map(|(link, answer)| (Link::Incoming(link), answer)),
                Role::Receiver => outgoing::attach(cx, &peer, local_handle)
                    .map(|(link, answer)| (Link::Outgoing(link), answer)),
            }
        };
        cx.shared.links += 1;
        match attached {
            Ok((link, answer)) => {
                self.io.send(cx.out, &Performative::Attach(answer))?;
                if let Link::Incoming(l) = &link {
                    self.io.send_flow(cx.out, Some(l.flow()), false)?;
                }
                self.links.insert(handle, link);
            }
            Err(e) => {
                cx.log(
                    Level::Info,
                    &format!("refused link {:?}: {}", peer.name, describe(&e)),
                );
                // A refusal is an attach with no terminus on our side, then a detach with
                // the reason (spec 2.6.3).
                let answer = match peer.role {
                    Role::Sender => Attach {
                        target: None,
                        ..crate::link::reply(&peer, local_handle, Role::Receiver)
                    },
                    Role::Receiver => Attach {
                        source: None,
                        initial_delivery_count: Some(0),
                        ..crate::link::reply(&peer, local_handle, Role::Sender)
                    },
                };
                self.io.send(cx.out, &Performative::Attach(answer))?;
                self.io.send_detach(cx.out, local_handle, true, Some(e))?;
                self.links.insert(handle, Link::Closing { local_handle });
            }
        }
        Ok(())
    }

    /// The lowest handle of ours that is free and within the peer's handle-max.
    fn free_handle(&self) -> Option<u32> {
        let used: BTreeSet<u32> = self.links.values().map(Link::local_handle).collect();
        (0..=self.peer_handle_max.min(HANDLE_MAX)).find(|h| !used.contains(h))
    }

    fn flow<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>, flow: &Flow) -> Result<(), Fault> {
        self.io.peer_flow(flow);
        self.io.flush_queued(cx.out);
        match flow.handle.as_ref().map(|h| h.0) {
            Some(handle) => {
                let result = match self.links.get_mut(&handle) {
                    None => return Err(unattached_handle(handle)),
                    Some(Link::Incoming(l)) => {
                        // Its credit may have gone down: the next flush tops it up.
                        self.dirty.insert(handle);
                        self.flush_due = true;
                        l.flow_from_peer(cx, &mut self.io, flow)
                            .map_err(Fault::from)
                    }
                    // Delivered at once, so what the client sees follows the order of what it
                    // sent, however its bytes were cut; whatever the output bound leaves is
                    // delivered at the end of the call or a later one.
                    Some(Link::Outgoing(l)) => l
                        .flow_from_peer(cx, &mut self.io, flow)
                        .and_then(|()| l.deliver(cx, &mut self.io).map(|_| ())),
                    Some(Link::Closing { .. }) => Ok(()),
                };
                self.on_link(cx, handle, result)
            }
            None if flow.echo => Ok(self.io.send_flow(cx.out, None, false)?),
            None => Ok(()),
        }
    }

    fn transfer<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        t: &Transfer,
        payload: &[u8],
    ) -> Result<(), Fault> {
        self.io.count_incoming()?;
        self.flush_due = true;
        let handle = t.handle.0;
        let result = match self.links.get_mut(&handle) {
            None => return Err(unattached_handle(handle)),
            Some(Link::Incoming(l)) => {
                self.dirty.insert(handle);
                l.transfer(cx, t, payload)
            }
            Some(Link::Outgoing(_)) => Err(crate::errors::link(
                AmqpError::NotAllowed,
                "a transfer from the receiving end of a link",
            )),
            // In flight when we detached it.
            Some(Link::Closing { .. }) => Ok(()),
        };
        self.on_link(cx, handle, result)
    }

    fn detach<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>, d: &Detach) -> Result<(), Fault> {
        let handle = d.handle.0;
        let Some(mut link) = self.links.remove(&handle) else {
            return Err(unattached_handle(handle));
        };
        cx.shared.links = cx.shared.links.saturating_sub(1);
        if let Some(e) = &d.error {
            cx.log(
                Level::Debug,
                &format!("peer detached handle {handle}: {}", describe(e)),
            );
        }
        if matches!(link, Link::Closing { .. }) {
            // Our detach went out already; this one completes it.
            return Ok(());
        }
        let local_handle = link.local_handle();
        release(cx, &mut self.io, &mut link);
        self.io.send_detach(cx.out, local_handle, d.closed, None)?;
        Ok(())
    }

    /// Turns a link fault into a detach of that link; passes any other fault on.
    fn on_link<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        handle: u32,
        result: Result<(), Fault>,
    ) -> Result<(), Fault> {
        match result {
            Err(Fault::Link(e)) => Ok(self.detach_with(cx, handle, e)?),
            other => other,
        }
    }

    /// Detaches the link on the peer's `handle` with `error` and ignores its frames until the
    /// peer detaches too.
    pub fn detach_with<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        handle: u32,
        error: Error,
    ) -> Result<(), CodecError> {
        let Some(link) = self.links.get_mut(&handle) else {
            return Ok(());
        };
        let local_handle = link.local_handle();
        cx.log(
            Level::Info,
            &format!("detaching handle {handle}: {}", describe(&error)),
        );
        if let Link::Incoming(l) = link {
            // Deliveries completed before the fault are stored and settled, not lost.
            l.store(cx, &mut self.io, self.id)?;
        }
        release(cx, &mut self.io, link);
        *link = Link::Closing { local_handle };
        self.io.send_detach(cx.out, local_handle, true, Some(error))
    }

    /// Stores what the session's links received since the last flush, and renews the incoming
    /// window once half is used.
    pub fn flush<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>) -> Result<(), CodecError> {
        self.flush_due = false;
        for handle in std::mem::take(&mut self.dirty) {
            if let Some(Link::Incoming(l)) = self.links.get_mut(&handle) {
                l.flush(cx, &mut self.io, self.id)?;
            }
        }
        if self.io.incoming_window_low() {
            self.io.send_flow(cx.out, None, false)?;
        }
        Ok(())
    }

    /// Whether a flush has something to look at.
    pub fn is_dirty(&self) -> bool {
        self.flush_due
    }

    /// Lets each client receiver link send what it can, starting after the link that last
    /// filled the output.
    pub fn deliver<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>) -> Result<Stop, CodecError> {
        let order: Vec<u32> = self
            .links
            .range(self.cursor..)
            .chain(self.links.range(..self.cursor))
            .filter(|(_, l)| matches!(l, Link::Outgoing(_)))
            .map(|(h, _)| *h)
            .collect();
        for handle in order {
            let Some(Link::Outgoing(l)) = self.links.get_mut(&handle) else {
                continue;
            };
            match l.deliver(cx, &mut self.io) {
                Ok(Stop::Idle) => {}
                Ok(Stop::Full) => {
                    self.cursor = handle.wrapping_add(1);
                    return Ok(Stop::Full);
                }
                Err(Fault::Codec(e)) => return Err(e),
                Err(Fault::Link(e)) => self.detach_with(cx, handle, e)?,
                Err(other) => {
                    let e = error(AmqpError::InternalError, format!("{other:?}"));
                    self.detach_with(cx, handle, e)?;
                }
            }
        }
        Ok(Stop::Idle)
    }

    /// Accepts client deliveries whose messages became durable, unless their link is gone.
    pub fn accept<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        awaiting: &[Awaiting],
    ) -> Result<(), CodecError> {
        let live: BTreeSet<u64> = self
            .links
            .values()
            .filter_map(|l| match l {
                Link::Incoming(l) => Some(l.id),
                _ => None,
            })
            .collect();
        let states = awaiting
            .iter()
            .filter(|a| live.contains(&a.link))
            .map(|a| (a.delivery_id, DeliveryState::Accepted(Accepted {})))
            .collect();
        self.io.settle_incoming(cx.out, states)
    }

    /// Sends again what the session's client sender links hold because the host was
    /// unavailable.
    pub fn retry<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>) -> Result<(), CodecError> {
        for link in self.links.values_mut() {
            if let Link::Incoming(l) = link
                && l.holding()
            {
                l.retry(cx, &mut self.io, self.id)?;
            }
        }
        Ok(())
    }

    /// Client receiver links that found nothing and have no consumer wait out.
    pub fn parked(&self) -> Vec<ConsumerWatch> {
        self.links
            .values()
            .filter_map(|l| match l {
                Link::Outgoing(l) => l.wants_wait(),
                _ => None,
            })
            .collect()
    }

    /// Records that the wait `token` covers the parked links reading `consumers`.
    pub fn armed(&mut self, consumers: &BTreeSet<u64>, token: u64) {
        for link in self.links.values_mut() {
            if let Link::Outgoing(l) = link
                && l.wants_wait().is_some()
                && consumers.contains(&l.consumer)
            {
                l.armed = Some(token);
            }
        }
    }

    /// The consumer wait `token` fired: the links it covered look again.
    pub fn woken(&mut self, token: u64) {
        for link in self.links.values_mut() {
            if let Link::Outgoing(l) = link
                && l.armed == Some(token)
            {
                l.armed = None;
                l.parked = None;
            }
        }
    }

    /// Ends the session with `error`: writes the end, then lets its links go.
    pub fn end_with<B: Broker + Queues>(
        &mut self,
        cx: &mut Cx<'_, B>,
        error: Error,
    ) -> Result<(), CodecError> {
        cx.log(
            Level::Info,
            &format!("ending session {}: {}", self.id, describe(&error)),
        );
        self.io
            .send(cx.out, &Performative::End(End { error: Some(error) }))?;
        self.shut(cx);
        self.ending = true;
        Ok(())
    }

    /// Lets every link go: consumers close, assemblies and batches are dropped.
    pub fn shut<B: Broker + Queues>(&mut self, cx: &mut Cx<'_, B>) {
        let links = std::mem::take(&mut self.links);
        cx.shared.links = cx.shared.links.saturating_sub(links.len());
        for (_, mut link) in links {
            release(cx, &mut self.io, &mut link);
        }
    }
}

/// What a link holds goes back: its consumer (and deliveries) or its assembly.
fn release<B: Broker + Queues>(cx: &mut Cx<'_, B>, io: &mut Io, link: &mut Link) {
    match link {
        Link::Incoming(l) => l.release(cx.shared),
        Link::Outgoing(l) => l.close(cx, io),
        Link::Closing { .. } => {}
    }
}
