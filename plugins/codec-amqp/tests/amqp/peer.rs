//! A scripted AMQP client: encodes frames with fe2o3-amqp-types and serde_amqp, feeds them
//! through an `AmqpConnection` over a `FakeHost`, and decodes what the codec writes.

use fe2o3_amqp_types::definitions::{Handle, ReceiverSettleMode, Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Data, DeliveryState, Header, Source, Target, TargetArchetype};
use fe2o3_amqp_types::performatives::{
    Attach, Begin, Detach, Disposition, Flow, Open, Performative, Transfer,
};
use fe2o3_amqp_types::sasl::{SaslInit, SaslMechanisms, SaslOutcome};
use serde_amqp::primitives::{Binary, Symbol};
use serde_amqp::serde::Serialize;
use sluice_codec_amqp::AmqpConnection;
use sluice_sdk::codec::{Connection, ConnectionInfo, Message, Output, Wait};

use crate::host::FakeHost;

pub const FRAME_BYTES_MAX: u32 = 4 * 1024 * 1024;
pub const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";
pub const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";

pub fn info() -> ConnectionInfo {
    ConnectionInfo {
        id: 7,
        listener: "amqp".into(),
        peer: "127.0.0.1:50000".into(),
        advertised_host: "broker.test".into(),
        advertised_port: 5672,
        frame_bytes_max: FRAME_BYTES_MAX,
    }
}

/// A frame of `kind` with `body`.
pub fn frame(kind: u8, channel: u16, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&[2, kind]);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// An AMQP frame holding `performative` and `payload`.
pub fn amqp(channel: u16, performative: &Performative, payload: &[u8]) -> Vec<u8> {
    let mut body = serde_amqp::to_vec(performative).unwrap();
    body.extend_from_slice(payload);
    frame(0, channel, &body)
}

/// A SASL frame.
pub fn sasl<T: Serialize>(body: &T) -> Vec<u8> {
    frame(1, 0, &serde_amqp::to_vec(body).unwrap())
}

/// One thing the codec wrote.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a test's output, never stored in bulk
pub enum Item {
    Header([u8; 8]),
    Sasl(Vec<u8>),
    /// An empty frame.
    Heartbeat,
    Frame {
        channel: u16,
        performative: Performative,
        payload: Vec<u8>,
    },
}

impl Item {
    pub fn performative(&self) -> Option<&Performative> {
        match self {
            Item::Frame { performative, .. } => Some(performative),
            _ => None,
        }
    }
}

/// Splits the codec's output into headers and frames.
pub fn parse(mut bytes: &[u8]) -> Vec<Item> {
    let mut items = Vec::new();
    while !bytes.is_empty() {
        if bytes.starts_with(b"AMQP") {
            items.push(Item::Header(bytes[..8].try_into().unwrap()));
            bytes = &bytes[8..];
            continue;
        }
        let size = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        let doff = bytes[4] as usize * 4;
        let kind = bytes[5];
        let channel = u16::from_be_bytes(bytes[6..8].try_into().unwrap());
        let body = &bytes[doff..size];
        if kind == 1 {
            items.push(Item::Sasl(body.to_vec()));
        } else if body.is_empty() {
            items.push(Item::Heartbeat);
        } else {
            let performative: Performative = serde_amqp::from_slice(body).unwrap();
            let len = performative_len(body);
            items.push(Item::Frame {
                channel,
                performative,
                payload: body[len..].to_vec(),
            });
        }
        bytes = &bytes[size..];
    }
    items
}

/// Bytes of the performative at the start of a frame body: a described list (list0, list8
/// or list32) after a small-ulong descriptor. Read from the bytes, since the codec writes some
/// performatives by hand and re-encoding them with serde_amqp may differ in length.
fn performative_len(body: &[u8]) -> usize {
    assert_eq!(
        body[..2],
        [0x00, 0x53],
        "a performative with a small-ulong descriptor"
    );
    3 + match body[3] {
        0x45 => 1,
        0xc0 => 2 + usize::from(body[4]),
        0xd0 => 5 + u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize,
        other => panic!("a performative encoded as {other:#x}, not a list"),
    }
}

/// A connection under test and everything it said.
pub struct Peer {
    pub host: FakeHost,
    pub conn: AmqpConnection,
    /// The close reason, once the codec asked the host to close.
    pub closed: Option<String>,
    /// Waits armed and not woken yet.
    pub waits: Vec<Wait>,
    /// The last output's pause-input.
    pub paused: bool,
    /// Every byte written, in order.
    pub written: Vec<u8>,
}

impl Peer {
    pub fn new() -> Peer {
        Peer::with(FakeHost::default())
    }

    pub fn with(host: FakeHost) -> Peer {
        Peer::with_info(host, info())
    }

    pub fn with_info(host: FakeHost, info: ConnectionInfo) -> Peer {
        Peer {
            host,
            conn: <AmqpConnection as Connection>::new(info),
            closed: None,
            waits: Vec::new(),
            paused: false,
            written: Vec::new(),
        }
    }

    /// Feeds `bytes` and returns what the codec wrote. The host reads nothing while the
    /// codec's input is paused, so neither may a test.
    pub fn input(&mut self, bytes: &[u8]) -> Vec<Item> {
        assert!(!self.paused, "input while the codec paused it");
        let output = self.conn.on_data(&self.host, bytes.to_vec()).unwrap();
        self.absorb(output)
    }

    /// Fires the armed wait `token`.
    pub fn wake(&mut self, token: u64, timed_out: bool) -> Vec<Item> {
        self.waits.retain(|w| w.token != token);
        let output = self.conn.on_wake(&self.host, token, timed_out).unwrap();
        self.absorb(output)
    }

    fn absorb(&mut self, output: Output) -> Vec<Item> {
        assert!(
            !output.pause_input || !self.waits.is_empty() || !output.waits.is_empty(),
            "paused with no wait armed"
        );
        self.waits.extend(output.waits);
        self.paused = output.pause_input;
        if output.close.is_some() {
            self.closed = output.close;
        }
        self.written.extend_from_slice(&output.write);
        parse(&output.write)
    }

    /// The armed wait that watches log positions.
    pub fn durability_wait(&self) -> Option<Wait> {
        self.waits.iter().find(|w| !w.watch.is_empty()).cloned()
    }

    /// The armed wait on time alone lasting `timeout_ms`.
    pub fn timer_wait(&self, timeout_ms: u32) -> Option<Wait> {
        self.waits
            .iter()
            .find(|w| {
                w.timeout_ms == timeout_ms
                    && w.watch.is_empty()
                    && w.consumers.is_empty()
                    && w.groups.is_empty()
            })
            .cloned()
    }

    /// The armed wait that watches consumers.
    pub fn consumer_wait(&self) -> Option<Wait> {
        self.waits.iter().find(|w| !w.consumers.is_empty()).cloned()
    }

    /// SASL ANONYMOUS, the AMQP header, open (with `max_frame`), and a session on channel 0.
    pub fn opened_with(max_frame: u32, host: FakeHost) -> Peer {
        let mut peer = Peer::with(host);
        let mut bytes = SASL_HEADER.to_vec();
        bytes.extend(sasl(&SaslInit {
            mechanism: Symbol::from("ANONYMOUS"),
            initial_response: None,
            hostname: None,
        }));
        bytes.extend(AMQP_HEADER);
        bytes.extend(amqp(0, &open(max_frame, None), &[]));
        bytes.extend(amqp(0, &begin(), &[]));
        let items = peer.input(&bytes);
        assert!(
            matches!(
                items.last().and_then(Item::performative),
                Some(Performative::Begin(_))
            ),
            "{items:?}"
        );
        peer
    }

    pub fn opened() -> Peer {
        Peer::opened_with(1024 * 1024, FakeHost::default())
    }

    /// Attaches a client sender on `handle` to `address`; returns what came back.
    pub fn attach_sender(&mut self, handle: u32, address: &str) -> Vec<Item> {
        self.input(&amqp(0, &sender(handle, address), &[]))
    }

    /// Attaches a client receiver on `handle` reading `address` and gives it `credit`.
    pub fn attach_receiver(&mut self, handle: u32, address: &str, credit: u32) -> Vec<Item> {
        let mut items = self.input(&amqp(0, &receiver(handle, source(address)), &[]));
        if credit > 0 {
            items.extend(self.input(&amqp(0, &flow(handle, 0, credit, false, false), &[])));
        }
        items
    }

    /// Sends a single-frame message on `handle`.
    pub fn transfer(&mut self, handle: u32, id: u32, settled: bool, payload: &[u8]) -> Vec<Item> {
        self.input(&amqp(0, &transfer(handle, id, settled, false), payload))
    }
}

pub fn open(max_frame: u32, idle_ms: Option<u32>) -> Performative {
    Performative::Open(Open {
        container_id: "test-container".into(),
        hostname: Some("broker.test".into()),
        max_frame_size: max_frame.into(),
        channel_max: 7.into(),
        idle_time_out: idle_ms,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    })
}

pub fn begin() -> Performative {
    Performative::Begin(Begin {
        remote_channel: None,
        next_outgoing_id: 0,
        incoming_window: 100_000,
        outgoing_window: 100_000,
        handle_max: 63.into(),
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    })
}

pub fn target(address: &str) -> Target {
    Target {
        address: Some(address.to_owned()),
        ..Target::default()
    }
}

pub fn source(address: &str) -> Source {
    Source {
        address: Some(address.to_owned()),
        ..Source::default()
    }
}

pub fn sender_to(handle: u32, target: Target) -> Performative {
    Performative::Attach(Attach {
        name: format!("sender-{handle}"),
        handle: Handle(handle),
        role: Role::Sender,
        snd_settle_mode: SenderSettleMode::Mixed,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Box::new(Source::default())),
        target: Some(Box::new(TargetArchetype::Target(target))),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: Some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    })
}

pub fn sender(handle: u32, address: &str) -> Performative {
    sender_to(handle, target(address))
}

pub fn receiver(handle: u32, source: Source) -> Performative {
    receiver_mode(handle, source, SenderSettleMode::Unsettled)
}

pub fn receiver_mode(handle: u32, source: Source, mode: SenderSettleMode) -> Performative {
    Performative::Attach(Attach {
        name: format!("receiver-{handle}"),
        handle: Handle(handle),
        role: Role::Receiver,
        snd_settle_mode: mode,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Box::new(source)),
        target: Some(Box::new(TargetArchetype::Target(Target::default()))),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: None,
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    })
}

pub fn flow(
    handle: u32,
    delivery_count: u32,
    credit: u32,
    drain: bool,
    echo: bool,
) -> Performative {
    Performative::Flow(Flow {
        next_incoming_id: Some(0),
        incoming_window: 100_000,
        next_outgoing_id: 0,
        outgoing_window: 100_000,
        handle: Some(Handle(handle)),
        delivery_count: Some(delivery_count),
        link_credit: Some(credit),
        available: None,
        drain,
        echo,
        properties: None,
    })
}

/// The first frame of delivery `id`, tagged with `id`.
pub fn transfer(handle: u32, id: u32, settled: bool, more: bool) -> Performative {
    Performative::Transfer(Transfer {
        delivery_id: Some(id),
        delivery_tag: Some(Binary::from(id.to_be_bytes().to_vec())),
        message_format: Some(0),
        settled: Some(settled),
        ..continuation(handle, more)
    })
}

/// A continuation frame of a multi-frame transfer.
pub fn more(handle: u32, more: bool) -> Performative {
    Performative::Transfer(continuation(handle, more))
}

fn continuation(handle: u32, more: bool) -> Transfer {
    Transfer {
        handle: Handle(handle),
        delivery_id: None,
        delivery_tag: None,
        message_format: None,
        settled: None,
        more,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    }
}

/// One-frame deliveries `ids` on handle 0, in one byte stream; `payload` gives each message.
pub fn client_deliveries(
    ids: std::ops::Range<u32>,
    settled: bool,
    payload: impl Fn(u32) -> Vec<u8>,
) -> Vec<u8> {
    let mut bytes = Vec::new();
    for id in ids {
        bytes.extend(amqp(0, &transfer(0, id, settled, false), &payload(id)));
    }
    bytes
}

pub fn disposition(
    first: u32,
    last: Option<u32>,
    settled: bool,
    state: DeliveryState,
) -> Performative {
    Performative::Disposition(Disposition {
        role: Role::Receiver,
        first,
        last,
        settled,
        state: Some(state),
        batchable: false,
    })
}

pub fn detach(handle: u32) -> Performative {
    Performative::Detach(Detach {
        handle: Handle(handle),
        closed: true,
        error: None,
    })
}

/// A record as the host stores it: durable, keyless, holding `value`.
pub fn record(value: Vec<u8>) -> Message {
    Message {
        key: None,
        value: Some(value),
        headers: Vec::new(),
        timestamp_ms: 1,
        durable: true,
        expiry_ms: None,
    }
}

/// A message of one header section and one data section.
pub fn message(durable: bool, body: &[u8]) -> Vec<u8> {
    let mut out = serde_amqp::to_vec(&Header {
        durable,
        ..Header::default()
    })
    .unwrap();
    out.extend(serde_amqp::to_vec(&Data(Binary::from(body.to_vec()))).unwrap());
    out
}

pub fn mechanisms(items: &[Item]) -> Vec<String> {
    let body = items
        .iter()
        .find_map(|i| match i {
            Item::Sasl(b) => Some(b.clone()),
            _ => None,
        })
        .expect("a SASL frame");
    let m: SaslMechanisms = serde_amqp::from_slice(&body).unwrap();
    m.sasl_server_mechanisms
        .0
        .into_iter()
        .map(|s| s.0)
        .collect()
}

pub fn outcome(items: &[Item]) -> SaslOutcome {
    let body = items
        .iter()
        .rev()
        .find_map(|i| match i {
            Item::Sasl(b) => Some(b.clone()),
            _ => None,
        })
        .expect("a SASL frame");
    serde_amqp::from_slice(&body).unwrap()
}

/// The performatives among `items`.
pub fn performatives(items: &[Item]) -> Vec<Performative> {
    items
        .iter()
        .filter_map(Item::performative)
        .cloned()
        .collect()
}

pub fn attaches(items: &[Item]) -> Vec<Attach> {
    performatives(items)
        .into_iter()
        .filter_map(|p| match p {
            Performative::Attach(a) => Some(a),
            _ => None,
        })
        .collect()
}

pub fn flows(items: &[Item]) -> Vec<Flow> {
    performatives(items)
        .into_iter()
        .filter_map(|p| match p {
            Performative::Flow(f) => Some(f),
            _ => None,
        })
        .collect()
}

pub fn dispositions(items: &[Item]) -> Vec<Disposition> {
    performatives(items)
        .into_iter()
        .filter_map(|p| match p {
            Performative::Disposition(d) => Some(d),
            _ => None,
        })
        .collect()
}

pub fn detaches(items: &[Item]) -> Vec<Detach> {
    performatives(items)
        .into_iter()
        .filter_map(|p| match p {
            Performative::Detach(d) => Some(d),
            _ => None,
        })
        .collect()
}

/// The transfers among `items`, with their payloads.
pub fn transfers(items: &[Item]) -> Vec<(Transfer, Vec<u8>)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Frame {
                performative: Performative::Transfer(t),
                payload,
                ..
            } => Some((t.clone(), payload.clone())),
            _ => None,
        })
        .collect()
}

/// Whole messages sent to the client: the transfers of each delivery joined.
pub fn deliveries(items: &[Item]) -> Vec<(Transfer, Vec<u8>)> {
    let mut out: Vec<(Transfer, Vec<u8>)> = Vec::new();
    let mut open = false;
    for (t, payload) in transfers(items) {
        if open {
            out.last_mut().unwrap().1.extend(payload);
        } else {
            out.push((t.clone(), payload));
        }
        open = t.more;
    }
    out
}

/// The condition of an error, as its symbol.
pub fn condition(e: &fe2o3_amqp_types::definitions::Error) -> String {
    serde_amqp::from_slice::<Symbol>(&serde_amqp::to_vec(&e.condition).unwrap())
        .unwrap()
        .0
}

/// The first detach's error condition, if there is one.
pub fn detach_condition(items: &[Item]) -> Option<String> {
    detaches(items).first()?.error.as_ref().map(condition)
}

/// The close frame's error condition, if the codec closed with one.
pub fn close_condition(items: &[Item]) -> Option<String> {
    performatives(items).into_iter().find_map(|p| match p {
        Performative::Close(c) => c.error.as_ref().map(condition),
        _ => None,
    })
}
