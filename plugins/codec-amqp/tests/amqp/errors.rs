//! Protocol errors end at the scope the spec names, with its condition, written before the
//! state goes: a link detached, a session ended, the connection closed. Nothing panics.

use fe2o3_amqp_types::messaging::TargetArchetype;
use fe2o3_amqp_types::performatives::Performative;
use fe2o3_amqp_types::transaction::Coordinator;
use sluice_sdk::codec::{Connection, RoutingType};

use crate::host::FakeHost;
use crate::peer::*;

#[test]
fn a_malformed_performative_closes_with_decode_error() {
    let mut peer = Peer::opened();
    // An attach list whose name is a string running past the frame.
    let items = peer.input(&frame(
        0,
        0,
        &[0x00, 0x53, 0x12, 0xc0, 0x03, 0x01, 0xa1, 0x40],
    ));
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:decode-error")
    );
    assert!(peer.closed.is_some());
    // Nothing is read after the close.
    assert!(peer.input(&amqp(0, &begin(), &[])).is_empty());
}

#[test]
fn a_deeply_nested_performative_is_refused_without_decoding_it() {
    let mut peer = Peer::opened();
    let mut body = vec![0x00, 0x53, 0x12];
    for _ in 0..5_000 {
        body.extend_from_slice(&[0x00, 0x53, 0x01]);
    }
    body.push(0x45);
    let items = peer.input(&frame(0, 0, &body));
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:decode-error")
    );
}

#[test]
fn an_oversized_frame_closes_with_framing_error_before_it_is_buffered() {
    let mut peer = Peer::opened();
    let items = peer.input(&(2u32 * 1024 * 1024).to_be_bytes());
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:connection:framing-error")
    );
    assert!(peer.closed.is_some());
    assert_eq!(peer.conn.buffered_bytes(), 0);
}

#[test]
fn a_frame_above_the_host_limit_before_open_gets_an_open_then_a_close() {
    let mut info = info();
    info.frame_bytes_max = 1000;
    let mut peer = Peer::with_info(FakeHost::default(), info);
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(5000u32.to_be_bytes());
    let items = peer.input(&bytes);
    let p = performatives(&items);
    assert!(matches!(p[0], Performative::Open(_)));
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:connection:framing-error")
    );
}

#[test]
fn attach_to_an_unknown_address_is_refused_with_not_found_then_detached() {
    let host = FakeHost::default();
    host.auto_create.set(false);
    let mut peer = Peer::opened_with(65_536, host);
    let items = peer.attach_sender(0, "nowhere");
    let attach = &attaches(&items)[0];
    assert!(attach.target.is_none(), "a refusal has no terminus");
    let detached = &detaches(&items)[0];
    assert!(detached.closed);
    assert_eq!(
        condition(detached.error.as_ref().unwrap()),
        "amqp:not-found"
    );
    assert!(flows(&items).is_empty(), "no credit for a refused link");
    // The client's detach completes it, and the handle can be used again.
    assert!(peer.input(&amqp(0, &detach(0), &[])).is_empty());
    peer.host.create("nowhere", RoutingType::Anycast);
    let items = peer.attach_sender(0, "nowhere");
    assert!(attaches(&items)[0].target.is_some());
    assert!(detaches(&items).is_empty());
}

#[test]
fn attach_with_another_routing_type_is_refused_with_not_allowed() {
    let mut peer = Peer::opened();
    peer.host.create("orders", RoutingType::Anycast);
    let items = peer.attach_sender(0, "topic://orders");
    assert_eq!(
        detach_condition(&items).as_deref(),
        Some("amqp:not-allowed")
    );
}

#[test]
fn attach_to_a_forbidden_address_is_refused_with_unauthorized_access() {
    let mut peer = Peer::opened();
    let items = peer.attach_sender(0, "secret-plans");
    assert_eq!(
        detach_condition(&items).as_deref(),
        Some("amqp:unauthorized-access")
    );
}

#[test]
fn a_receiver_on_an_unknown_address_is_refused_with_a_null_source() {
    let host = FakeHost::default();
    host.auto_create.set(false);
    let mut peer = Peer::opened_with(65_536, host);
    let items = peer.attach_receiver(0, "nowhere", 0);
    let attach = &attaches(&items)[0];
    assert!(attach.source.is_none());
    assert_eq!(attach.initial_delivery_count, Some(0));
    assert_eq!(detach_condition(&items).as_deref(), Some("amqp:not-found"));
}

#[test]
fn a_coordinator_target_is_refused_with_not_implemented() {
    let mut peer = Peer::opened();
    let mut attach = sender(0, "x");
    if let Performative::Attach(a) = &mut attach {
        a.target = Some(Box::new(TargetArchetype::Coordinator(Coordinator::new(
            None,
        ))));
    }
    let items = peer.input(&amqp(0, &attach, &[]));
    assert_eq!(
        detach_condition(&items).as_deref(),
        Some("amqp:not-implemented")
    );
    assert!(peer.closed.is_none());
}

#[test]
fn a_transfer_on_an_unattached_handle_ends_the_session() {
    let mut peer = Peer::opened();
    let items = peer.transfer(5, 0, false, &message(false, b"x"));
    let Some(Performative::End(end)) = items[0].performative() else {
        panic!("{items:?}")
    };
    assert_eq!(
        condition(end.error.as_ref().unwrap()),
        "amqp:session:unattached-handle"
    );
    // Frames in flight are ignored; the client's end completes it without an answer.
    assert!(peer.transfer(5, 1, false, &message(false, b"x")).is_empty());
    let end = Performative::End(fe2o3_amqp_types::performatives::End { error: None });
    assert!(peer.input(&amqp(0, &end, &[])).is_empty());
    // The channel is free again.
    let items = peer.input(&amqp(0, &begin(), &[]));
    assert!(matches!(
        items[0].performative(),
        Some(Performative::Begin(_))
    ));
    assert!(peer.closed.is_none());
}

#[test]
fn an_attach_on_a_handle_in_use_ends_the_session() {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "a");
    let items = peer.attach_sender(0, "b");
    let Some(Performative::End(end)) = items.last().and_then(Item::performative) else {
        panic!("{items:?}")
    };
    assert_eq!(
        condition(end.error.as_ref().unwrap()),
        "amqp:session:handle-in-use"
    );
}

#[test]
fn a_frame_on_a_channel_without_a_session_closes_with_framing_error() {
    let mut peer = Peer::opened();
    let items = peer.input(&amqp(3, &flow(0, 0, 1, false, false), &[]));
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:connection:framing-error")
    );
    assert!(peer.closed.is_some());
}

#[test]
fn a_second_open_closes_with_illegal_state() {
    let mut peer = Peer::opened();
    let items = peer.input(&amqp(0, &open(512, None), &[]));
    assert_eq!(
        close_condition(&items).as_deref(),
        Some("amqp:illegal-state")
    );
}

/// A small deterministic generator, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mangled_streams_never_panic_the_codec() {
    let mut stream = AMQP_HEADER.to_vec();
    stream.extend(amqp(0, &open(512, Some(1000)), &[]));
    stream.extend(amqp(0, &begin(), &[]));
    stream.extend(amqp(0, &sender(0, "q"), &[]));
    stream.extend(amqp(
        0,
        &transfer(0, 0, false, true),
        &message(true, &[1; 300])[..100],
    ));
    stream.extend(amqp(0, &more(0, false), &message(true, &[1; 300])[100..]));
    stream.extend(amqp(0, &receiver(1, source("q")), &[]));
    stream.extend(amqp(0, &flow(1, 0, 10, true, true), &[]));
    stream.extend(amqp(
        0,
        &disposition(
            0,
            Some(3),
            false,
            fe2o3_amqp_types::messaging::DeliveryState::Accepted(
                fe2o3_amqp_types::messaging::Accepted {},
            ),
        ),
        &[],
    ));
    stream.extend(amqp(0, &detach(1), &[]));
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    for _ in 0..3000 {
        let mut bytes = stream.clone();
        for _ in 0..=rng.below(4) {
            let at = AMQP_HEADER.len() + rng.below(bytes.len() - AMQP_HEADER.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes.insert(at, rng.next() as u8),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let host = FakeHost::default();
        host.hold_durability.set(true);
        let mut conn = <sluice_codec_amqp::AmqpConnection as Connection>::new(info());
        let mut tokens = Vec::new();
        for chunk in bytes.chunks(1 + rng.below(64)) {
            if let Ok(out) = conn.on_data(&host, chunk.to_vec()) {
                tokens.extend(out.waits.iter().map(|w| w.token));
            }
        }
        for token in tokens {
            let _ = conn.on_wake(&host, token, rng.below(2) == 0);
        }
    }
}

#[test]
fn mangled_messages_never_panic_the_codec_either_way() {
    use fe2o3_amqp_types::messaging::{AmqpValue, ApplicationProperties, Header, Properties};
    use fe2o3_amqp_types::primitives::SimpleValue;
    use serde_amqp::Value;

    let mut application = ApplicationProperties::default();
    application.insert("k".into(), SimpleValue::Int(1));
    let rich = [
        serde_amqp::to_vec(&Header {
            durable: true,
            ttl: Some(10),
            ..Header::default()
        })
        .unwrap(),
        serde_amqp::to_vec(&Properties {
            creation_time: Some(serde_amqp::primitives::Timestamp::from_milliseconds(5)),
            ..Properties::default()
        })
        .unwrap(),
        serde_amqp::to_vec(&application).unwrap(),
        serde_amqp::to_vec(&AmqpValue(Value::List(vec![
            Value::Map(Default::default()),
            Value::String("x".into()),
        ])))
        .unwrap(),
    ]
    .concat();
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    let mut peer = Peer::opened();
    peer.attach_sender(0, "q");
    let mut id = 0;
    for round in 0..2000 {
        let mut payload = rich.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(payload.len());
            payload[at] = rng.next() as u8;
        }
        peer.transfer(0, id, true, &payload);
        id += 1;
        if round % 500 == 499 {
            // Top the credit back up, then take whatever was stored.
            peer.input(&amqp(0, &flow(0, id, 1000, false, false), &[]));
        }
        // Records whose `amqp.*` headers were written by someone else, anyhow.
        let mut bytes = rich.clone();
        bytes.truncate(rng.below(bytes.len()));
        peer.host.enqueue(
            "r",
            sluice_sdk::codec::Message {
                key: Some(vec![rng.next() as u8]),
                value: None,
                headers: vec![
                    sluice_sdk::codec::Header {
                        key: sluice_codec_amqp::HEADER.into(),
                        value: Some(bytes.clone()),
                    },
                    sluice_sdk::codec::Header {
                        key: sluice_codec_amqp::BODY.into(),
                        value: Some(payload),
                    },
                ],
                timestamp_ms: rng.next() as i64,
                durable: true,
                expiry_ms: Some(rng.next() as i64),
            },
        );
    }
    peer.attach_receiver(1, "q", 5000);
    peer.attach_receiver(2, "r", 5000);
    assert!(peer.closed.is_none());
}
