//! A test client: encodes requests with kafka-protocol (or by hand for the versions it no
//! longer knows), feeds them through a `KafkaConnection` over a `FakeBroker`, and decodes the
//! responses.

use bytes::{Buf, Bytes};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice_codec_kafka::KafkaConnection;
use sluice_sdk::codec::{CodecError, Connection, ConnectionInfo, Output};

use crate::fake_broker::FakeBroker;

pub const ADVERTISED_HOST: &str = "broker.test";
pub const ADVERTISED_PORT: u16 = 19092;
pub const FRAME_BYTES_MAX: u32 = 1024 * 1024;

pub fn connection_info() -> ConnectionInfo {
    ConnectionInfo {
        id: 1,
        listener: "kafka".into(),
        peer: "127.0.0.1:50000".into(),
        advertised_host: ADVERTISED_HOST.into(),
        advertised_port: ADVERTISED_PORT,
        frame_bytes_max: FRAME_BYTES_MAX,
    }
}

/// The request header's bytes for `api` at `version`.
fn header(api: ApiKey, version: i16, correlation_id: i32) -> Vec<u8> {
    let mut out = Vec::new();
    RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("sluice-test")))
        .encode(&mut out, api.request_header_version(version))
        .unwrap();
    out
}

/// Length prefix + `payload`.
pub fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// A whole request frame encoded by kafka-protocol.
pub fn request<R: Encodable>(api: ApiKey, version: i16, correlation_id: i32, body: &R) -> Vec<u8> {
    let mut payload = header(api, version, correlation_id);
    body.encode(&mut payload, version)
        .unwrap_or_else(|e| panic!("encode {api:?} v{version}: {e}"));
    framed(&payload)
}

/// A whole request frame with a hand-written body (versions kafka-protocol no longer knows).
pub fn raw_request(api: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut payload = header(api, version, correlation_id);
    payload.extend_from_slice(body);
    framed(&payload)
}

/// Splits a connection's output into response frames (without length prefixes).
pub fn frames(mut bytes: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = bytes.get_i32() as usize;
        out.push(Bytes::copy_from_slice(&bytes[..len]));
        bytes.advance(len);
    }
    out
}

/// Decodes one response frame: its correlation id and body. The whole frame must be used.
pub fn decode<R: Decodable>(frame: &Bytes, api: ApiKey, version: i16) -> (i32, R) {
    let mut buf = frame.clone();
    let header = ResponseHeader::decode(&mut buf, api.response_header_version(version)).unwrap();
    let body =
        R::decode(&mut buf, version).unwrap_or_else(|e| panic!("decode {api:?} v{version}: {e}"));
    assert_eq!(
        buf.remaining(),
        0,
        "{api:?} v{version}: bytes left after the response"
    );
    (header.correlation_id, body)
}

/// A Kafka client talking to one `KafkaConnection`.
pub struct Client {
    pub conn: KafkaConnection,
    pub broker: FakeBroker,
    next_correlation_id: i32,
}

impl Client {
    pub fn new() -> Self {
        Self::with_broker(FakeBroker::new())
    }

    pub fn with_broker(broker: FakeBroker) -> Self {
        Client {
            conn: KafkaConnection::new(connection_info()),
            broker,
            next_correlation_id: 100,
        }
    }

    pub fn correlation_id(&mut self) -> i32 {
        self.next_correlation_id += 1;
        self.next_correlation_id
    }

    pub fn send(&mut self, bytes: Vec<u8>) -> Result<Output, CodecError> {
        self.conn.on_data(&self.broker, bytes)
    }

    /// The host firing wait `token`; `timed_out` when its timeout did.
    pub fn wake(&mut self, token: u64, timed_out: bool) -> Output {
        self.conn.on_wake(&self.broker, token, timed_out).unwrap()
    }

    /// Sends one request and returns its response, checking the correlation id.
    pub fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        body: &Req,
    ) -> Resp {
        let cid = self.correlation_id();
        let out = self.send(request(api, version, cid, body)).unwrap();
        assert!(
            out.waits.is_empty() && out.close.is_none(),
            "{api:?} v{version}: unexpected wait/close"
        );
        let frames = frames(&out.write);
        assert_eq!(frames.len(), 1, "{api:?} v{version}: one response expected");
        let (got, resp) = decode(&frames[0], api, version);
        assert_eq!(got, cid);
        resp
    }

    /// Sends a hand-encoded request and returns the response frame after its correlation id.
    pub fn call_raw(&mut self, api: ApiKey, version: i16, body: &[u8]) -> Bytes {
        let cid = self.correlation_id();
        let out = self.send(raw_request(api, version, cid, body)).unwrap();
        let mut frames = frames(&out.write);
        assert_eq!(frames.len(), 1);
        let mut frame = frames.remove(0);
        assert_eq!(frame.get_i32(), cid);
        frame
    }
}

/// A magic-2 record batch of `values`, uncompressed, as a producer would send it.
pub fn batch(values: &[&str]) -> Bytes {
    batch_at(values, 1_700_000_000_000)
}

/// Like [`batch`], the records stamped `timestamp_ms`, `timestamp_ms + 1`, ...
pub fn batch_at(values: &[&str], timestamp_ms: i64) -> Bytes {
    producer_batch(values, timestamp_ms, Producer::PLAIN)
}

/// Who wrote a batch, as its records say: a plain producer, or an idempotent one.
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    /// The first record's sequence; the next ones count up from it.
    pub first_sequence: i32,
    /// Whether each record is keyed by its value.
    pub keyed: bool,
}

impl Producer {
    /// Not idempotent: no id, no epoch, and -1 for the first record's sequence ("none").
    pub const PLAIN: Producer = Producer {
        id: -1,
        epoch: -1,
        first_sequence: -1,
        keyed: false,
    };
}

/// A magic-2 record batch of `values` from `producer`, uncompressed, the records stamped
/// `timestamp_ms`, `timestamp_ms + 1`, ...
pub fn producer_batch(values: &[&str], timestamp_ms: i64, producer: Producer) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: producer.id,
            producer_epoch: producer.epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol starts a new batch whenever offset - sequence changes; -1 for the
            // first record is "no sequence" (not idempotent).
            sequence: producer.first_sequence + i as i32,
            timestamp: timestamp_ms + i as i64,
            key: producer.keyed.then(|| Bytes::copy_from_slice(v.as_bytes())),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut out = bytes::BytesMut::new();
    RecordBatchEncoder::encode(
        &mut out,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    out.freeze()
}

/// Hand-encoding of classic Kafka types, for request bodies of old versions.
#[derive(Default)]
pub struct Raw(pub Vec<u8>);

impl Raw {
    pub fn i8(mut self, v: i8) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i16(mut self, v: i16) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i32(mut self, v: i32) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn str(self, s: &str) -> Self {
        let mut r = self.i16(s.len() as i16);
        r.0.extend_from_slice(s.as_bytes());
        r
    }
    pub fn bytes(self, b: &[u8]) -> Self {
        let mut r = self.i32(b.len() as i32);
        r.0.extend_from_slice(b);
        r
    }
}

/// Reads classic Kafka types from a hand-decoded response.
pub struct Read(pub Bytes);

impl Read {
    pub fn i16(&mut self) -> i16 {
        self.0.get_i16()
    }
    pub fn i32(&mut self) -> i32 {
        self.0.get_i32()
    }
    pub fn i64(&mut self) -> i64 {
        self.0.get_i64()
    }
    pub fn str(&mut self) -> String {
        let len = self.0.get_i16();
        if len < 0 {
            return String::from("<null>");
        }
        String::from_utf8(self.0.split_to(len as usize).to_vec()).unwrap()
    }
    pub fn done(&self) {
        assert_eq!(self.0.remaining(), 0, "bytes left in response");
    }
}
