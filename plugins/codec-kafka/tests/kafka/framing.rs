//! Framing and hostile input: whatever the peer sends, the codec answers, or refuses the
//! connection with a reason, and never panics.

use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchResponse, MetadataRequest, ProduceRequest,
};
use sluice_codec_kafka::KafkaConnection;
use sluice_sdk::codec::{Broker, Connection, Wait};

use crate::client::{Client, FRAME_BYTES_MAX, batch, connection_info, decode, frames, request};
use crate::fake_broker::FakeBroker;
use crate::produce_fetch::{fetch, produce};

#[test]
fn request_split_one_byte_at_a_time_is_answered_once() {
    let mut c = Client::new();
    let bytes = request(
        ApiKey::Metadata,
        12,
        9,
        &MetadataRequest::default().with_topics(None),
    );
    let mut write = Vec::new();
    for b in bytes {
        let out = c.send(vec![b]).unwrap();
        write.extend(out.write);
    }
    let frames = frames(&write);
    assert_eq!(frames.len(), 1);
    assert_eq!(c.conn.buffered_bytes(), 0);
}

#[test]
fn requests_cut_anywhere_are_answered_in_order() {
    let mut stream = Vec::new();
    for cid in 0..5 {
        stream.extend(request(
            ApiKey::ApiVersions,
            2,
            cid,
            &ApiVersionsRequest::default(),
        ));
    }
    for chunk in [1, 3, 7, 64, stream.len()] {
        let mut c = Client::new();
        let mut write = Vec::new();
        for piece in stream.chunks(chunk) {
            write.extend(c.send(piece.to_vec()).unwrap().write);
        }
        let cids: Vec<i32> = frames(&write)
            .iter()
            .map(|f| {
                decode::<kafka_protocol::messages::ApiVersionsResponse>(f, ApiKey::ApiVersions, 2).0
            })
            .collect();
        assert_eq!(cids, vec![0, 1, 2, 3, 4], "chunks of {chunk}");
    }
}

#[test]
fn oversized_frame_is_refused_before_its_payload_is_buffered() {
    let mut c = Client::new();
    let err = c
        .send((FRAME_BYTES_MAX as i32 + 1).to_be_bytes().to_vec())
        .unwrap_err();
    assert!(
        err.reason.contains(&(FRAME_BYTES_MAX + 1).to_string()),
        "{}",
        err.reason
    );
    assert!(
        err.reason.contains(&FRAME_BYTES_MAX.to_string()),
        "{}",
        err.reason
    );

    let mut c = Client::new();
    let err = c.send(i32::MIN.to_be_bytes().to_vec()).unwrap_err();
    assert!(err.reason.contains("negative"), "{}", err.reason);
}

#[test]
fn truncated_or_garbled_requests_are_refused_with_a_reason() {
    let mut c = Client::new();
    let err = c.send(vec![0, 0, 0, 3, 0, 3, 0]).unwrap_err();
    assert!(
        err.reason.contains("shorter than a request header"),
        "{}",
        err.reason
    );

    // A whole frame whose body stops halfway.
    let full = request(ApiKey::Produce, 9, 1, &produce("t", 0, batch(&["x"]), -1));
    let cut = full.len() - 30;
    let mut truncated = ((cut - 4) as i32).to_be_bytes().to_vec();
    truncated.extend_from_slice(&full[4..cut]);
    let err = Client::new().send(truncated).unwrap_err();
    assert!(
        err.reason.contains("malformed Produce v9 request"),
        "{}",
        err.reason
    );

    // A topic count of 2^31-1 in a few bytes: refused, not allocated.
    let mut body = request(
        ApiKey::Produce,
        3,
        1,
        &ProduceRequest::default().with_acks(1),
    );
    let n = body.len();
    body[n - 4..].copy_from_slice(&i32::MAX.to_be_bytes());
    body.extend([0; 16]);
    let len = (body.len() - 4) as i32;
    body[..4].copy_from_slice(&len.to_be_bytes());
    let err = Client::new().send(body).unwrap_err();
    assert!(err.reason.contains("array count"), "{}", err.reason);
}

#[test]
fn idle_connection_releases_its_buffers() {
    let mut c = Client::new();
    c.broker.create_topic("t", 1, &[], false).unwrap();
    let big = batch(&[&"y".repeat(300_000)]);
    let bytes = request(ApiKey::Produce, 9, 1, &produce("t", 0, big, -1));
    for piece in bytes.chunks(16 * 1024) {
        c.send(piece.to_vec()).unwrap();
    }
    assert_eq!(c.conn.buffered_bytes(), 0);
    assert!(!c.conn.is_waiting());
    // The state itself: a few words plus the advertised host name; no buffers.
    assert!(std::mem::size_of::<KafkaConnection>() <= 256);
}

/// xorshift64*: deterministic pseudo-random bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Valid requests of every API, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        request(ApiKey::ApiVersions, 3, 1, &ApiVersionsRequest::default()),
        request(
            ApiKey::Metadata,
            12,
            1,
            &MetadataRequest::default().with_topics(None),
        ),
        request(
            ApiKey::Metadata,
            0,
            1,
            &MetadataRequest::default().with_topics(Some(vec![])),
        ),
        request(ApiKey::Fetch, 12, 1, &fetch(&[("t", 0, 0)], 1, 100)),
        request(ApiKey::Fetch, 4, 1, &fetch(&[("t", 0, 0)], 1, 100)),
    ];
    for v in [3, 9] {
        seeds.push(request(
            ApiKey::Produce,
            v,
            1,
            &produce("t", 0, batch(&["a", "b"]), -1),
        ));
    }
    seeds.extend(crate::legacy::seeds());
    seeds.extend(crate::admin::seeds());
    seeds.extend(crate::admin_configs::seeds());
    seeds.extend(crate::idempotence::seeds());
    seeds
}

fn feed(conn: &mut KafkaConnection, broker: &FakeBroker, bytes: Vec<u8>, rng: &mut Rng) {
    // Deliver in random chunks; after a refusal the host would close, so stop there.
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match conn.on_data(broker, chunk.to_vec()) {
            Ok(out) => wake_all(conn, broker, out.waits, rng),
            Err(_) => return,
        }
    }
}

/// Fires every wait, early or timed out at random, and the waits they arm in turn, a bounded
/// number of rounds (the last all timed out, which answers every parked request).
fn wake_all(conn: &mut KafkaConnection, broker: &FakeBroker, mut waits: Vec<Wait>, rng: &mut Rng) {
    for round in 0..16 {
        let mut next = Vec::new();
        for w in waits {
            let timed_out = round == 15 || rng.below(2) == 0;
            if let Ok(out) = conn.on_wake(broker, w.token, timed_out) {
                next.extend(out.waits);
            }
        }
        waits = next;
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let seeds = seeds();
    let broker = FakeBroker::new();
    broker.create_topic("t", 2, &[], false).unwrap();
    for round in 0..20_000 {
        let mut conn = KafkaConnection::new(connection_info());
        let bytes = match round % 4 {
            // Pure noise, with a plausible length prefix half the time.
            0 => {
                let len = rng.below(64);
                let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 {
                    let mut framed = (len as i32).to_be_bytes().to_vec();
                    framed.append(&mut b);
                    b = framed;
                }
                b
            }
            // A valid header of a served API, then noise.
            1 => {
                let seed = &seeds[rng.below(seeds.len())];
                let keep = 4 + 8 + rng.below(seed.len() - 12);
                let mut b = seed[..keep].to_vec();
                b.extend((0..rng.below(64)).map(|_| rng.next() as u8));
                let len = (b.len() - 4) as i32;
                b[..4].copy_from_slice(&len.to_be_bytes());
                b
            }
            // A valid request with a few bytes flipped (length prefix kept).
            2 => {
                let mut b = seeds[rng.below(seeds.len())].clone();
                for _ in 0..1 + rng.below(4) {
                    let at = 4 + rng.below(b.len() - 4);
                    b[at] = rng.next() as u8;
                }
                b
            }
            // A valid request cut short, with the length fixed up.
            _ => {
                let seed = &seeds[rng.below(seeds.len())];
                let keep = 4 + rng.below(seed.len() - 4);
                let mut b = seed[..keep].to_vec();
                let len = (keep - 4) as i32;
                b[..4].copy_from_slice(&len.to_be_bytes());
                b
            }
        };
        feed(&mut conn, &broker, bytes, &mut rng);
    }
    // The broker still works afterwards.
    let mut c = Client::with_broker(broker);
    let _: FetchResponse = c.call(ApiKey::Fetch, 12, &fetch(&[("t", 0, 0)], 0, 0));
}
