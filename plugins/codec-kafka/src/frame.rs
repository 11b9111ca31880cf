//! Kafka framing: a 4-byte big-endian length, then that many bytes.
//!
//! Place in the flow: first stop for the bytes `on_data` receives ([`FrameReader`] cuts them
//! into whole requests for `dispatch`), and last stop for every response ([`response`] and
//! [`legacy_response`] put the length and the response header in front of a body).
//!
//! The host hands over chunks cut anywhere, so a request may arrive one byte at a time. A
//! length above the connection's `frame-bytes-max` is refused as soon as its 4 bytes are
//! known, before any of its payload is kept.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;
use sluice_sdk::codec::CodecError;

use crate::errors::refuse;
use crate::wire::{WireError, Writer};

/// Bytes of the length prefix.
const LENGTH_BYTES: usize = 4;

/// The largest response header: the correlation id and, in v1, an empty tagged-field count.
const RESPONSE_HEADER_BYTES_MAX: usize = 5;

/// Cuts a connection's byte stream into request frames.
pub struct FrameReader {
    /// Bytes of a frame not complete yet; empty between requests.
    partial: BytesMut,
    /// The largest frame payload accepted (the host's `frame-bytes-max`).
    frame_bytes_max: u32,
}

impl FrameReader {
    /// A reader refusing frames above `frame_bytes_max` bytes. Allocates nothing.
    pub fn new(frame_bytes_max: u32) -> Self {
        FrameReader {
            partial: BytesMut::new(),
            frame_bytes_max,
        }
    }

    /// Takes the next chunk from the peer; returns the frames it completed, in order, each
    /// without its length prefix.
    pub fn push(&mut self, data: Vec<u8>) -> Result<Vec<Bytes>, CodecError> {
        let mut frames = Vec::new();
        if self.partial.is_empty() {
            // The usual case: the chunk starts a frame. Whole frames are sliced out of it
            // without copying; only a trailing partial frame is copied into the buffer.
            let mut input = Bytes::from(data);
            while let Some(len) = self.complete_frame_len(&input)? {
                input.advance(LENGTH_BYTES);
                frames.push(input.split_to(len));
            }
            self.partial.extend_from_slice(&input);
        } else {
            self.partial.extend_from_slice(&data);
            while let Some(len) = self.complete_frame_len(&self.partial)? {
                self.partial.advance(LENGTH_BYTES);
                frames.push(self.partial.split_to(len).freeze());
            }
        }
        if self.partial.is_empty() {
            // Between requests the connection holds no buffer (the broker's target is 64 KiB
            // per idle connection, codec state included). Checking the capacity would not do:
            // once frames are split off, an empty `BytesMut` may still share, and keep alive,
            // the whole allocation they came from while reporting only its tail.
            self.partial = BytesMut::new();
        }
        Ok(frames)
    }

    /// The payload length of the frame at the start of `buf` when all of it is there; `None`
    /// while more bytes are needed; an error as soon as a length prefix is out of bounds.
    fn complete_frame_len(&self, buf: &[u8]) -> Result<Option<usize>, CodecError> {
        let Some(prefix) = buf.first_chunk::<LENGTH_BYTES>() else {
            return Ok(None);
        };
        let len = i32::from_be_bytes(*prefix);
        let len =
            u32::try_from(len).map_err(|_| refuse(format!("frame length {len} is negative")))?;
        if len > self.frame_bytes_max {
            return Err(refuse(format!(
                "frame of {len} bytes is above the limit of {} bytes (frame-bytes-max)",
                self.frame_bytes_max
            )));
        }
        let len = usize::try_from(len).map_err(|_| refuse("frame length does not fit memory"))?;
        let available = buf.len().saturating_sub(LENGTH_BYTES);
        Ok((available >= len).then_some(len))
    }

    /// Bytes held for an incomplete frame (for tests and accounting).
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }
}

/// A response frame: length, response header (version chosen by kafka-protocol from the API
/// and version, which is how ApiVersions always gets header v0), then `body` at `version`.
pub fn response<M: Encodable>(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    body: &M,
) -> Result<Vec<u8>, CodecError> {
    let failed = |e: &dyn std::fmt::Display| {
        refuse(format!(
            "encoding the {api:?} v{version} response failed: {e}"
        ))
    };
    let header_version = api.response_header_version(version);
    let body_bytes = body.compute_size(version).map_err(|e| failed(&e))?;
    let mut out = Vec::with_capacity(LENGTH_BYTES + RESPONSE_HEADER_BYTES_MAX + body_bytes);
    out.extend_from_slice(&[0; LENGTH_BYTES]);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut out, header_version)
        .map_err(|e| failed(&e))?;
    body.encode(&mut out, version).map_err(|e| failed(&e))?;
    patch_length(out)
}

/// A response frame for a version kafka-protocol no longer encodes: header v0 (every such
/// version predates flexible headers), then whatever `body` writes.
pub fn legacy_response(
    correlation_id: i32,
    body: impl FnOnce(&mut Writer<'_>) -> Result<(), WireError>,
) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    out.extend_from_slice(&[0; LENGTH_BYTES]);
    let mut w = Writer { out: &mut out };
    w.i32(correlation_id);
    body(&mut w).map_err(|e| refuse(format!("encoding a response failed: {e}")))?;
    patch_length(out)
}

/// Fills in the length prefix reserved at the start of `frame`.
fn patch_length(mut frame: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    let len = i32::try_from(frame.len().saturating_sub(LENGTH_BYTES))
        .map_err(|_| refuse("response larger than 2 GiB"))?;
    if let Some(prefix) = frame.first_chunk_mut::<LENGTH_BYTES>() {
        *prefix = len.to_be_bytes();
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as i32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn whole_frames_in_one_chunk_come_out_in_order() {
        let mut r = FrameReader::new(1024);
        let mut chunk = framed(b"one");
        chunk.extend(framed(b"two"));
        chunk.extend(framed(b"")); // empty payload: a frame, refused later by dispatch
        let frames = r.push(chunk).unwrap();
        assert_eq!(
            frames,
            vec![Bytes::from("one"), Bytes::from("two"), Bytes::new()]
        );
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn frames_cut_one_byte_at_a_time_are_reassembled() {
        let mut r = FrameReader::new(1024);
        let mut stream = framed(b"hello");
        stream.extend(framed(b"world!"));
        let mut frames = Vec::new();
        for b in stream {
            frames.extend(r.push(vec![b]).unwrap());
        }
        assert_eq!(frames, vec![Bytes::from("hello"), Bytes::from("world!")]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn oversized_length_is_refused_before_its_payload() {
        let mut r = FrameReader::new(100);
        let err = r.push(101i32.to_be_bytes().to_vec()).unwrap_err();
        assert!(
            err.reason.contains("101") && err.reason.contains("100"),
            "{}",
            err.reason
        );
        let mut r = FrameReader::new(100);
        assert!(r.push(vec![0, 0]).unwrap().is_empty());
        assert!(r.push(vec![0x10, 0]).is_err());
    }

    #[test]
    fn negative_length_is_refused() {
        let mut r = FrameReader::new(100);
        let err = r.push((-5i32).to_be_bytes().to_vec()).unwrap_err();
        assert!(err.reason.contains("-5"), "{}", err.reason);
    }

    #[test]
    fn buffer_is_released_between_requests() {
        let mut r = FrameReader::new(1 << 20);
        let payload = vec![7u8; 200_000];
        let stream = framed(&payload);
        let (a, b) = stream.split_at(1000);
        assert!(r.push(a.to_vec()).unwrap().is_empty());
        assert!(r.partial.capacity() >= 1000);
        let frames = r.push(b.to_vec()).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(r.partial.capacity(), 0);
    }

    #[test]
    fn legacy_response_is_length_prefixed_with_header_v0() {
        let frame = legacy_response(7, |w| {
            w.i16(35);
            Ok(())
        })
        .unwrap();
        assert_eq!(frame, vec![0, 0, 0, 6, 0, 0, 0, 7, 0, 35]);
    }
}
