//! What brings the connection back without input, and what it does after every call.
//!
//! Place in the flow: [`AmqpConnection::woken`] runs the purpose of a wait that fired
//! (durability passed, a consumer's queue moved, a heartbeat is due, the output was written,
//! deliveries held while the host was unavailable are due again); [`AmqpConnection::finish`]
//! ends every call: it stores what arrived, lets client receivers take what their credit
//! allows, arms the waits still needed and says whether input pauses (output full, too many
//! deliveries awaiting durability, deliveries held).

use std::collections::{BTreeMap, BTreeSet};

use sluice_sdk::codec::{Broker, CodecError, Level, Queues, WakeOn};

use super::{AmqpConnection, Phase, log};
use crate::context::{Cx, Out};
use crate::errors::Fault;
use crate::frame::EMPTY_FRAME;
use crate::limits::{AWAITING_DURABLE_MAX, CONSUMER_WAIT_MS, RETRY_HELD_MS, WRITE_BYTES_MAX};
use crate::link::outgoing::Stop;
use crate::session::Session;
use crate::waits::{Purpose, Request};

impl AmqpConnection {
    /// A wait fired: does what it was armed for.
    pub(super) fn woken<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
        token: u64,
        timed_out: bool,
    ) -> Result<(), Fault> {
        if self.phase == Phase::Closed {
            return Ok(());
        }
        let Some(purpose) = self.waits.fired(token) else {
            log(
                broker,
                Level::Debug,
                &format!("ignoring the wake of wait {token}, not armed"),
            );
            return Ok(());
        };
        match purpose {
            Purpose::Durable(group) => {
                if timed_out {
                    log(
                        broker,
                        Level::Info,
                        "messages not durable within the wait; waiting again",
                    );
                }
                let accepted = self.shared.durable.woken(group, timed_out);
                let mut by_session: BTreeMap<u64, Vec<_>> = BTreeMap::new();
                for a in accepted {
                    by_session.entry(a.session).or_default().push(a);
                }
                let mut cx = Cx {
                    broker,
                    out,
                    shared: &mut self.shared,
                };
                for session in self.sessions.values_mut().filter(|s| !s.ending) {
                    if let Some(list) = by_session.get(&session.id) {
                        session.accept(&mut cx, list)?;
                    }
                }
            }
            Purpose::Consumers => {
                for session in self.sessions.values_mut() {
                    session.woken(token);
                }
            }
            Purpose::Heartbeat => {
                if self.phase == Phase::Opened {
                    out.write.extend_from_slice(&EMPTY_FRAME);
                }
            }
            Purpose::Resume => {}
            Purpose::Retry => {
                let mut cx = Cx {
                    broker,
                    out,
                    shared: &mut self.shared,
                };
                for session in self.sessions.values_mut().filter(|s| !s.ending) {
                    session.retry(&mut cx)?;
                }
            }
        }
        Ok(())
    }

    /// After every call: stores what arrived, delivers what credit allows, arms the waits that
    /// bring the connection back, and says whether input pauses.
    pub(super) fn finish<B: Broker + Queues>(
        &mut self,
        broker: &B,
        out: &mut Out,
    ) -> Result<bool, CodecError> {
        if self.phase != Phase::Opened {
            return Ok(false);
        }
        self.flush(broker, out)?;
        let mut full = false;
        {
            let mut cx = Cx {
                broker,
                out: &mut *out,
                shared: &mut self.shared,
            };
            for session in self.sessions.values_mut().filter(|s| !s.ending) {
                if session.deliver(&mut cx)? == Stop::Full {
                    full = true;
                    break;
                }
            }
        }
        self.shared.durable.arm(&mut self.waits, out);
        self.arm_consumers(out);
        if let Some(ms) = self.heartbeat_ms
            && !self.waits.has(Purpose::Heartbeat)
        {
            self.waits.arm(out, Request::timer(Purpose::Heartbeat, ms));
        }
        let full = full || out.write.len() >= WRITE_BYTES_MAX;
        if full && !self.waits.has(Purpose::Resume) {
            self.waits.arm(out, Request::timer(Purpose::Resume, 0));
        }
        let holding = self.shared.held > 0;
        if holding && !self.waits.has(Purpose::Retry) {
            self.waits
                .arm(out, Request::timer(Purpose::Retry, RETRY_HELD_MS));
        }
        let backlog = self.shared.durable.count() > AWAITING_DURABLE_MAX;
        Ok((full || backlog || holding) && self.waits.any())
    }

    /// Arms one wait for every client receiver link that found nothing and has none.
    pub(super) fn arm_consumers(&mut self, out: &mut Out) {
        let parked: Vec<_> = self
            .sessions
            .values()
            .filter(|s| !s.ending)
            .flat_map(Session::parked)
            .collect();
        if parked.is_empty() {
            return;
        }
        let consumers: BTreeSet<u64> = parked.iter().map(|c| c.consumer).collect();
        let request = Request {
            purpose: Purpose::Consumers,
            timeout_ms: CONSUMER_WAIT_MS,
            watch: Vec::new(),
            consumers: parked,
            wake_on: WakeOn::Any,
        };
        if let Some(token) = self.waits.arm(out, request) {
            for session in self.sessions.values_mut() {
                session.armed(&consumers, token);
            }
        }
    }
}
