//! AMQP framing: the 8-byte protocol headers, then frames of a 4-byte size, a data offset, a
//! type and a channel.
//!
//! Place in the flow: first stop for the bytes `on_data` receives. [`Input`] holds what the
//! host handed over and gives the connection one protocol header or one whole frame at a time,
//! since what comes next depends on the phase (a SASL exchange ends with a new protocol
//! header). Last stop for every frame we send ([`write`], [`EMPTY_FRAME`]).
//!
//! The host cuts the stream anywhere, so a header or frame may arrive a byte at a time. A frame
//! size above the connection's limit is refused as soon as its 4 bytes are known, before any
//! of the frame is kept. Between frames the connection holds no buffer.

use bytes::{Buf, Bytes, BytesMut};

/// The SASL protocol header: `AMQP 3 1 0 0`.
pub const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";
/// The AMQP protocol header: `AMQP 0 1 0 0`.
pub const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";
/// Frame type of AMQP frames.
pub const TYPE_AMQP: u8 = 0;
/// Frame type of SASL frames.
pub const TYPE_SASL: u8 = 1;
/// A frame with no body, the heartbeat that keeps a peer's idle timeout from firing.
pub const EMPTY_FRAME: [u8; 8] = [0, 0, 0, 8, 2, TYPE_AMQP, 0, 0];

/// Bytes of the fixed frame header: size, data offset, type, channel.
const FRAME_HEADER_BYTES: usize = 8;
/// The data offset we write: the body follows the fixed header.
const DOFF: u8 = 2;

/// One frame, without its header.
pub struct Frame {
    /// [`TYPE_AMQP`] or [`TYPE_SASL`] (anything else is refused when read).
    pub kind: u8,
    /// The channel (session) it is for; zero for SASL frames.
    pub channel: u16,
    /// The performative and, for a transfer, its payload. Empty for a heartbeat.
    pub body: Bytes,
}

/// What the next protocol header is, so far.
pub enum HeaderRead {
    /// Fewer than 8 bytes, all consistent with a header we accept.
    Incomplete,
    /// The 8 bytes of a header we accept.
    Header([u8; 8]),
    /// Bytes that are no header we accept.
    Wrong,
}

/// Why the bytes are not a frame.
pub enum FrameError {
    /// A size above the limit.
    TooLarge {
        /// The size the frame announced.
        size: u32,
        /// The limit in force.
        limit: u32,
    },
    /// A frame header that is not one.
    Malformed(String),
}

/// The bytes the peer sent that were not consumed yet.
#[derive(Default)]
pub struct Input {
    /// Unconsumed bytes; empty (and unallocated) between frames.
    buf: BytesMut,
    /// Whether a frame was split off the buffer since the last [`Input::compact`]: the rest then
    /// still shares (and keeps alive) the allocation of the chunk it came from.
    split: bool,
}

impl Input {
    /// Appends the next chunk. The first chunk after a frame boundary is taken without a copy.
    pub fn push(&mut self, data: Vec<u8>) {
        if self.buf.is_empty() {
            self.buf = BytesMut::from(Bytes::from(data));
        } else {
            self.buf.extend_from_slice(&data);
        }
    }

    /// Takes the next protocol header once its 8 bytes are there; refuses as soon as the bytes
    /// so far cannot start one of `accepted`.
    pub fn next_header(&mut self, accepted: &[[u8; 8]]) -> HeaderRead {
        let have = self.buf.len().min(8);
        let prefix = self.buf.get(..have).unwrap_or_default();
        let Some(header) = accepted
            .iter()
            .find(|h| h.get(..have).is_some_and(|p| p == prefix))
        else {
            return HeaderRead::Wrong;
        };
        if have < 8 {
            return HeaderRead::Incomplete;
        }
        self.buf.advance(8);
        HeaderRead::Header(*header)
    }

    /// Takes the next whole frame; `None` while more bytes are needed; an error as soon as the
    /// frame header is out of bounds.
    pub fn next_frame(&mut self, limit: u32) -> Result<Option<Frame>, FrameError> {
        let Some(size) = self.buf.first_chunk::<4>() else {
            return Ok(None);
        };
        let size = u32::from_be_bytes(*size);
        if size > limit {
            return Err(FrameError::TooLarge { size, limit });
        }
        let total = usize::try_from(size).map_err(|_| malformed("frame size"))?;
        if total < FRAME_HEADER_BYTES {
            return Err(malformed(format!("frame size {size} is below 8")));
        }
        let Some(&doff) = self.buf.get(4) else {
            return Ok(None);
        };
        let body_at = usize::from(doff) * 4;
        if doff < DOFF || body_at > total {
            return Err(malformed(format!(
                "data offset {doff} does not fit a frame of {size} bytes"
            )));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let mut frame = self.buf.split_to(total);
        self.split = true;
        let kind = frame.get(5).copied().unwrap_or_default();
        let channel = frame
            .get(6..8)
            .and_then(|c| c.first_chunk::<2>())
            .map(|c| u16::from_be_bytes(*c))
            .unwrap_or_default();
        if kind != TYPE_AMQP && kind != TYPE_SASL {
            return Err(malformed(format!("unknown frame type {kind}")));
        }
        frame.advance(body_at);
        Ok(Some(Frame {
            kind,
            channel,
            body: frame.freeze(),
        }))
    }

    /// Drops everything not consumed yet (the connection is closing).
    pub fn clear(&mut self) {
        self.buf = BytesMut::new();
    }

    /// Called after each chunk is consumed: frees the buffer when empty, and otherwise copies a
    /// trailing partial frame out of the chunk it arrived in, so that the frames split off
    /// earlier do not keep the whole chunk alive through it.
    pub fn compact(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        } else if self.split {
            self.buf = BytesMut::from(self.buf.as_ref());
        }
        self.split = false;
    }

    /// Bytes held for an incomplete header or frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

fn malformed(reason: impl Into<String>) -> FrameError {
    FrameError::Malformed(reason.into())
}

/// Appends a frame of `kind` on `channel` whose body is `body` then `payload`.
pub fn write(out: &mut Vec<u8>, kind: u8, channel: u16, body: &[u8], payload: &[u8]) -> usize {
    let total = FRAME_HEADER_BYTES + body.len() + payload.len();
    // Every frame we build is bounded by the peer's max-frame-size (a u32), or is a control
    // frame far below it; saturate rather than wrap if that ever stopped being true.
    let size = u32::try_from(total).unwrap_or(u32::MAX);
    out.reserve(total);
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&[DOFF, kind]);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(payload);
    total
}

/// Bytes a frame takes besides its body.
pub const fn overhead() -> usize {
    FRAME_HEADER_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(kind: u8, channel: u16, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, kind, channel, body, &[]);
        out
    }

    #[test]
    fn frames_cut_one_byte_at_a_time_are_reassembled() {
        let mut stream = framed(TYPE_AMQP, 3, b"hello");
        stream.extend(framed(TYPE_SASL, 0, b"!"));
        let mut input = Input::default();
        let mut frames = Vec::new();
        for b in stream {
            input.push(vec![b]);
            while let Ok(Some(f)) = input.next_frame(1024) {
                frames.push((f.kind, f.channel, f.body));
            }
            input.compact();
        }
        assert_eq!(
            frames,
            vec![
                (TYPE_AMQP, 3, Bytes::from("hello")),
                (TYPE_SASL, 0, Bytes::from("!"))
            ]
        );
        assert_eq!(input.buffered(), 0);
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_size_alone() {
        let mut input = Input::default();
        input.push(vec![0, 0, 4]);
        assert!(matches!(input.next_frame(1000), Ok(None)));
        input.push(vec![1]);
        assert!(matches!(
            input.next_frame(1000),
            Err(FrameError::TooLarge {
                size: 1025,
                limit: 1000
            })
        ));
    }

    #[test]
    fn a_bad_data_offset_is_refused() {
        let mut input = Input::default();
        input.push(vec![0, 0, 0, 8, 1, 0, 0, 0]);
        assert!(matches!(
            input.next_frame(1000),
            Err(FrameError::Malformed(_))
        ));
        let mut input = Input::default();
        input.push(vec![0, 0, 0, 8, 3, 0, 0, 0]);
        assert!(matches!(
            input.next_frame(1000),
            Err(FrameError::Malformed(_))
        ));
    }

    #[test]
    fn headers_are_refused_at_the_first_wrong_byte() {
        let mut input = Input::default();
        input.push(b"AM".to_vec());
        assert!(matches!(
            input.next_header(&[SASL_HEADER, AMQP_HEADER]),
            HeaderRead::Incomplete
        ));
        input.push(b"QP\x02".to_vec());
        assert!(matches!(
            input.next_header(&[SASL_HEADER, AMQP_HEADER]),
            HeaderRead::Wrong
        ));
    }
}
