//! A lean AMQP 1.0 client for load: one connection, one session, frames written in batches
//! and read in whatever chunks the socket gives.
//!
//! Why not a full client library: fe2o3-amqp's client spends more CPU per message than the
//! broker under test (several tasks and channels per frame, one write per frame), so on a
//! 2-core machine the load generator, not the broker, set the pace. This one keeps the
//! protocol exact (SASL ANONYMOUS or PLAIN, open, begin, attach, link credit and session
//! windows, dispositions, the peer's idle timeout, close) and only leaves out what a load
//! generator does not need: several sessions and link recovery.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::{Buf, BytesMut};
use fe2o3_amqp_types::definitions::{ReceiverSettleMode, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Source, Target, TargetArchetype};
use fe2o3_amqp_types::performatives::{Attach, Begin, Close, Detach, Flow, Open, Performative};
use fe2o3_amqp_types::sasl::{SaslCode, SaslInit, SaslMechanisms, SaslOutcome};
use serde_amqp::primitives::{Array, Symbol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::destination::{Destination, Routing};
use crate::error::LoadError;

const SASL_HEADER: &[u8; 8] = b"AMQP\x03\x01\x00\x00";
const AMQP_HEADER: &[u8; 8] = b"AMQP\x00\x01\x00\x00";
const TYPE_AMQP: u8 = 0;
const TYPE_SASL: u8 = 1;
/// The largest frame we accept, and announce: larger messages come in several transfer
/// frames; 256 KiB costs a 1 KiB message nothing and keeps one frame's buffer small.
const MAX_FRAME_BYTES: u32 = 256 * 1024;
/// Transfer frames the broker may send before our next flow.
pub const INCOMING_WINDOW: u32 = 65_536;
/// How long one read may take before the phase is called stuck.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TCP connect may take before the broker is called unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a close waits for the broker's close before dropping the socket anyway.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// An empty frame: keeps a connection alive under the peer's idle timeout.
const EMPTY_FRAME: [u8; 8] = [0, 0, 0, 8, 2, TYPE_AMQP, 0, 0];

/// How to authenticate.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// With a password: SASL PLAIN as this user; `None`: SASL ANONYMOUS.
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<String>,
}

/// One open connection with one session on channel 0.
pub struct Client {
    stream: TcpStream,
    /// Received and not yet consumed.
    input: BytesMut,
    /// Frames waiting for the next [`Client::flush`].
    pub output: Vec<u8>,
    /// The largest frame the broker accepts.
    pub peer_max_frame: u32,
    /// The session's transfer-id of our next transfer frame.
    pub next_outgoing_id: u32,
    /// The transfer-id we expect on the broker's next transfer frame.
    pub next_incoming_id: u32,
    /// Transfer frames the broker still accepts from us (its incoming window, counted down).
    pub remote_incoming_window: u32,
    /// Send an empty frame when we have been silent this long: half the idle timeout the
    /// broker announced, as the spec advises; `None` when it announced none.
    heartbeat: Option<Duration>,
    /// When we last wrote.
    last_write: Instant,
}

impl Client {
    /// Connects to `address` (`host:port`, or an `amqp://host:port` URL) with Nagle's
    /// algorithm off (as Qpid JMS, Proton and rhea do), authenticates with SASL (PLAIN with
    /// a user and password, else ANONYMOUS), opens the connection and begins a session.
    pub async fn connect(address: &str, credentials: &Credentials) -> Result<Client, LoadError> {
        let authority = address.strip_prefix("amqp://").unwrap_or(address);
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let unreachable = |source| LoadError::Unreachable {
            address: authority.to_owned(),
            source,
        };
        let stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(authority)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return Err(unreachable(e)),
                Err(_) => return Err(unreachable(std::io::ErrorKind::TimedOut.into())),
            };
        stream.set_nodelay(true).map_err(anyhow::Error::from)?;
        let mut client = Client {
            stream,
            input: BytesMut::with_capacity(256 * 1024),
            output: Vec::with_capacity(1024 * 1024),
            peer_max_frame: 512,
            next_outgoing_id: 0,
            next_incoming_id: 0,
            remote_incoming_window: 0,
            heartbeat: None,
            last_write: Instant::now(),
        };
        client
            .sasl(credentials)
            .await
            .with_context(|| format!("authenticating to {authority}"))?;
        client.open(host).await?;
        client.begin().await?;
        Ok(client)
    }

    async fn sasl(&mut self, credentials: &Credentials) -> anyhow::Result<()> {
        self.stream.write_all(SASL_HEADER).await?;
        self.expect_header(SASL_HEADER).await?;
        let (kind, _, body) = self.frame().await?;
        let mechanisms: SaslMechanisms = decode_kind(kind, TYPE_SASL, &body)?;
        let offered = |name: &str| {
            mechanisms
                .sasl_server_mechanisms
                .0
                .iter()
                .any(|m| m.as_str() == name)
        };
        let init = match (&credentials.user, &credentials.password) {
            (Some(user), password) => {
                if !offered("PLAIN") {
                    bail!("the broker does not offer SASL PLAIN: {mechanisms:?}");
                }
                let password = password.as_deref().unwrap_or_default();
                SaslInit {
                    mechanism: Symbol::from("PLAIN"),
                    initial_response: Some(format!("\0{user}\0{password}").into_bytes().into()),
                    hostname: None,
                }
            }
            (None, _) => {
                if !offered("ANONYMOUS") {
                    bail!(
                        "the broker does not offer SASL ANONYMOUS (give --user and --password): \
                         {mechanisms:?}"
                    );
                }
                SaslInit {
                    mechanism: Symbol::from("ANONYMOUS"),
                    initial_response: Some(b"sluice-loadgen".to_vec().into()),
                    hostname: None,
                }
            }
        };
        self.write_frame(TYPE_SASL, &serde_amqp::to_vec(&init)?, &[]);
        self.flush().await?;
        let (kind, _, body) = self.frame().await?;
        let outcome: SaslOutcome = decode_kind(kind, TYPE_SASL, &body)?;
        if outcome.code != SaslCode::Ok {
            bail!("refused by the broker: SASL {:?}", outcome.code);
        }
        Ok(())
    }

    async fn open(&mut self, host: &str) -> anyhow::Result<()> {
        self.stream.write_all(AMQP_HEADER).await?;
        self.send(&Performative::Open(Open {
            container_id: "sluice-loadgen".into(),
            hostname: Some(host.into()),
            max_frame_size: MAX_FRAME_BYTES.into(),
            channel_max: 0.into(),
            idle_time_out: None,
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }))?;
        self.flush().await?;
        self.expect_header(AMQP_HEADER).await?;
        match self.performative().await? {
            (Performative::Open(open), _) => {
                self.peer_max_frame = open.max_frame_size.0.min(MAX_FRAME_BYTES);
                self.heartbeat = open
                    .idle_time_out
                    .filter(|ms| *ms > 0)
                    .map(|ms| Duration::from_millis(u64::from(ms) / 2));
                Ok(())
            }
            (other, _) => bail!("expected open, got {other:?}"),
        }
    }

    async fn begin(&mut self) -> anyhow::Result<()> {
        self.send(&Performative::Begin(Begin {
            remote_channel: None,
            next_outgoing_id: 0,
            incoming_window: INCOMING_WINDOW,
            outgoing_window: u32::MAX,
            handle_max: u32::MAX.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }))?;
        self.flush().await?;
        match self.performative().await? {
            (Performative::Begin(begin), _) => {
                self.next_incoming_id = begin.next_outgoing_id;
                self.remote_incoming_window = begin.incoming_window;
                Ok(())
            }
            (other, _) => bail!("expected begin, got {other:?}"),
        }
    }

    /// Attaches a link (`Role::Sender` sends to `destination`, `Role::Receiver` reads from
    /// it), both unsettled; its routing, if any, goes on the terminus as a capability.
    /// Returns the broker's attach.
    pub async fn attach(
        &mut self,
        handle: u32,
        name: &str,
        role: Role,
        destination: &Destination,
    ) -> anyhow::Result<Attach> {
        let address = destination.name.as_str();
        let capabilities = destination
            .routing
            .map(|r: Routing| Array::from(vec![Symbol::from(r.capability())]));
        let (source, target) = match role {
            Role::Sender => (
                Source::builder().build(),
                match capabilities {
                    Some(c) => Target::builder().address(address).capabilities(c),
                    None => Target::builder().address(address),
                },
            ),
            Role::Receiver => (
                match capabilities {
                    Some(c) => Source::builder().address(address).capabilities(c).build(),
                    None => Source::builder().address(address).build(),
                },
                Target::builder(),
            ),
        };
        self.send(&Performative::Attach(Attach {
            name: name.into(),
            handle: handle.into(),
            role: role.clone(),
            snd_settle_mode: SenderSettleMode::Unsettled,
            rcv_settle_mode: ReceiverSettleMode::First,
            source: Some(Box::new(source)),
            target: Some(Box::new(TargetArchetype::Target(target.build()))),
            unsettled: None,
            incomplete_unsettled: false,
            initial_delivery_count: (role == Role::Sender).then_some(0),
            max_message_size: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }))?;
        self.flush().await?;
        loop {
            match self.performative().await? {
                (Performative::Attach(attach), _) => {
                    // A refused link is attached without its terminus, then detached.
                    let refused = match role {
                        Role::Sender => attach.target.is_none(),
                        Role::Receiver => attach.source.is_none(),
                    };
                    if refused {
                        let why = self.performative().await.map(|(p, _)| p);
                        bail!("refused by the broker: attach to {destination}: {why:?}");
                    }
                    return Ok(attach);
                }
                (Performative::Flow(_), _) => {}
                (other, _) => bail!("expected attach, got {other:?}"),
            }
        }
    }

    /// Detaches (closes) a link and waits for the broker's detach, skipping what the link
    /// still had on the way.
    pub async fn detach(&mut self, handle: u32) -> anyhow::Result<()> {
        self.send(&Performative::Detach(Detach {
            handle: handle.into(),
            closed: true,
            error: None,
        }))?;
        self.flush().await?;
        loop {
            if let (Performative::Detach(detach), _) = self.performative().await? {
                if let Some(error) = detach.error {
                    bail!("detach answered with {error:?}");
                }
                return Ok(());
            }
        }
    }

    /// Queues a flow with the session's state and, for a receiver link, its credit.
    pub fn flow(&mut self, handle: u32, delivery_count: u32, credit: u32) -> anyhow::Result<()> {
        self.send(&Performative::Flow(Flow {
            next_incoming_id: Some(self.next_incoming_id),
            incoming_window: INCOMING_WINDOW,
            next_outgoing_id: self.next_outgoing_id,
            outgoing_window: u32::MAX,
            handle: Some(handle.into()),
            delivery_count: Some(delivery_count),
            link_credit: Some(credit),
            available: None,
            drain: false,
            echo: false,
            properties: None,
        }))
    }

    /// Queues a performative on channel 0, with a transfer's payload.
    pub fn send_with(&mut self, performative: &Performative, payload: &[u8]) -> anyhow::Result<()> {
        let body = serde_amqp::to_vec(performative)?;
        if body.len() + payload.len() + 8 > self.peer_max_frame as usize {
            bail!(
                "a frame of {} bytes is over the broker's max-frame-size",
                body.len() + payload.len() + 8
            );
        }
        self.write_frame(TYPE_AMQP, &body, payload);
        Ok(())
    }

    /// Queues a performative on channel 0.
    pub fn send(&mut self, performative: &Performative) -> anyhow::Result<()> {
        self.send_with(performative, &[])
    }

    fn write_frame(&mut self, kind: u8, body: &[u8], payload: &[u8]) {
        let size = 8 + body.len() + payload.len();
        self.output.extend_from_slice(&(size as u32).to_be_bytes());
        self.output.extend_from_slice(&[2, kind, 0, 0]);
        self.output.extend_from_slice(body);
        self.output.extend_from_slice(payload);
    }

    /// Writes every queued frame.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if !self.output.is_empty() {
            self.stream.write_all(&self.output).await?;
            self.output.clear();
            self.last_write = Instant::now();
        }
        Ok(())
    }

    /// Reads more from the socket; fails on end of stream or after [`READ_TIMEOUT`].
    pub async fn fill(&mut self) -> anyhow::Result<()> {
        self.fill_within(READ_TIMEOUT)
            .await?
            .context("no answer from the broker")
    }

    /// Like [`Client::fill`], but `None` after `idle` without a byte. Keeps the connection
    /// alive meanwhile under the broker's idle timeout.
    pub async fn fill_within(&mut self, idle: Duration) -> anyhow::Result<Option<()>> {
        let deadline = Instant::now() + idle;
        loop {
            let now = Instant::now();
            let beat_at = self.heartbeat.map(|every| self.last_write + every);
            let wake = beat_at.map_or(deadline, |at| at.min(deadline));
            let read = tokio::time::timeout(
                wake.saturating_duration_since(now),
                self.stream.read_buf(&mut self.input),
            )
            .await;
            match read {
                Ok(Ok(0)) => bail!("the broker closed the connection"),
                Ok(read) => return read.map(|_| Some(())).map_err(Into::into),
                Err(_) if Instant::now() >= deadline => return Ok(None),
                Err(_) => {
                    self.output.extend_from_slice(&EMPTY_FRAME);
                    self.flush().await?;
                }
            }
        }
    }

    /// Takes what the socket already holds, without waiting; whether anything came.
    pub fn try_fill(&mut self) -> anyhow::Result<bool> {
        match self.stream.try_read_buf(&mut self.input) {
            Ok(0) => bail!("the broker closed the connection"),
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the connection: a close frame, then the broker's close (or [`CLOSE_WAIT`]).
    pub async fn close(mut self) -> anyhow::Result<()> {
        self.send(&Performative::Close(Close { error: None }))?;
        self.flush().await?;
        let closed = async {
            loop {
                while let Some((kind, _, body)) = self.next_frame()? {
                    if kind == TYPE_AMQP && described_list_len(&body).is_ok() {
                        let len = described_list_len(&body)?;
                        if let Ok(Performative::Close(_)) = serde_amqp::from_slice(&body[..len]) {
                            return anyhow::Ok(());
                        }
                    }
                }
                self.fill().await?;
            }
        };
        // A broker that drops the socket instead of answering has closed it all the same.
        let _ = tokio::time::timeout(CLOSE_WAIT, closed).await;
        Ok(())
    }

    /// The next whole frame already read, as (type, channel, body); empty frames skipped.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<(u8, u16, bytes::Bytes)>> {
        loop {
            if self.input.len() < 8 {
                return Ok(None);
            }
            let size = u32::from_be_bytes(self.input[..4].try_into()?) as usize;
            let doff = usize::from(self.input[4]) * 4;
            if size > MAX_FRAME_BYTES as usize || doff < 8 || doff > size {
                bail!("malformed frame header: size {size}, data offset {doff}");
            }
            if self.input.len() < size {
                return Ok(None);
            }
            let (kind, channel) = (
                self.input[5],
                u16::from_be_bytes([self.input[6], self.input[7]]),
            );
            let mut frame = self.input.split_to(size);
            frame.advance(doff);
            if frame.is_empty() {
                continue;
            }
            return Ok(Some((kind, channel, frame.freeze())));
        }
    }

    /// The next AMQP performative, reading as needed, with the bytes after it (a transfer's
    /// payload). A close from the broker is an error carrying its reason.
    pub async fn performative(&mut self) -> anyhow::Result<(Performative, bytes::Bytes)> {
        let (kind, _, body) = self.frame().await?;
        decode_performative(kind, body)
    }

    async fn frame(&mut self) -> anyhow::Result<(u8, u16, bytes::Bytes)> {
        loop {
            if let Some(frame) = self.next_frame()? {
                return Ok(frame);
            }
            self.fill().await?;
        }
    }

    async fn expect_header(&mut self, header: &[u8; 8]) -> anyhow::Result<()> {
        while self.input.len() < 8 {
            self.fill().await?;
        }
        let got = self.input.split_to(8);
        if &got[..] != header {
            bail!("expected protocol header {header:?}, got {:?}", &got[..]);
        }
        Ok(())
    }
}

/// A frame body as a performative and the bytes after it; a close is an error.
pub fn decode_performative(
    kind: u8,
    body: bytes::Bytes,
) -> anyhow::Result<(Performative, bytes::Bytes)> {
    if kind != TYPE_AMQP {
        bail!("expected an AMQP frame, got type {kind}");
    }
    let len = described_list_len(&body)?;
    let performative: Performative = serde_amqp::from_slice(&body[..len])?;
    if let Performative::Close(close) = performative {
        bail!("the broker closed the connection: {:?}", close.error);
    }
    Ok((performative, body.slice(len..)))
}

/// Bytes of the described list at the start of `body` (every performative is one): the
/// descriptor, then a list0, list8 or list32.
fn described_list_len(body: &[u8]) -> anyhow::Result<usize> {
    let descriptor = match body {
        [0x00, 0x53, _, ..] => 3,
        [0x00, 0x80, ..] => 10,
        _ => bail!("a frame body that is no described value"),
    };
    let list = body.get(descriptor..).unwrap_or_default();
    let len = match list {
        [0x45, ..] => 1,
        [0xc0, size, ..] => 2 + usize::from(*size),
        [0xd0, a, b, c, d, ..] => 5 + u32::from_be_bytes([*a, *b, *c, *d]) as usize,
        _ => bail!("a performative that is no list"),
    };
    if descriptor + len > body.len() {
        bail!("a performative runs past its frame");
    }
    Ok(descriptor + len)
}

fn decode_kind<T: serde::de::DeserializeOwned>(
    kind: u8,
    want: u8,
    body: &[u8],
) -> anyhow::Result<T> {
    if kind != want {
        bail!("expected a frame of type {want}, got {kind}");
    }
    Ok(serde_amqp::from_slice(body)?)
}

/// Reads the session half of a flow: how many transfer frames the broker now accepts.
pub fn session_flow(client: &mut Client, flow: &fe2o3_amqp_types::performatives::Flow) {
    let expected = flow.next_incoming_id.unwrap_or(0);
    let in_flight = client.next_outgoing_id.wrapping_sub(expected);
    client.remote_incoming_window = flow.incoming_window.saturating_sub(in_flight);
}
