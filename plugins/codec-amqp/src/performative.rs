//! Performatives and SASL bodies, both ways, through serde_amqp.
//!
//! Place in the flow: between `frame` and the state machines. [`decode`] checks a frame body's
//! shape with `wire` before serde_amqp decodes it, and splits a transfer's payload off;
//! [`send`] and [`send_sasl`] encode and frame what we answer.

use fe2o3_amqp_types::performatives::Performative;
use serde_amqp::serde::{Deserialize, Serialize};

use crate::errors::{Malformed, refuse};
use crate::frame::{self, TYPE_AMQP, TYPE_SASL};
use crate::wire;
use sluice_sdk::codec::CodecError;

/// Decodes the performative at the start of an AMQP frame body; returns it with the bytes after
/// it, which only a transfer may have (its payload).
pub fn decode(body: &[u8]) -> Result<(Performative, &[u8]), Malformed> {
    let (performative, payload) = match crate::hot::disposition(body) {
        Some((disposition, len)) => (
            Performative::Disposition(disposition),
            body.get(len..).unwrap_or_default(),
        ),
        None => decode_as::<Performative>(body)?,
    };
    if !payload.is_empty() && !matches!(performative, Performative::Transfer(_)) {
        return Err(Malformed::new(format!(
            "{} bytes after a performative that carries no payload",
            payload.len()
        )));
    }
    Ok((performative, payload))
}

/// Decodes the value at the start of `body` as `T`; returns it with the bytes after it.
pub fn decode_as<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<(T, &'a [u8]), Malformed> {
    let len = wire::value_len(body)?;
    let (value, rest) = body
        .split_at_checked(len)
        .ok_or_else(|| Malformed::new("value runs past the end of its frame"))?;
    let value = serde_amqp::from_slice(value).map_err(|e| Malformed::new(e.to_string()))?;
    Ok((value, rest))
}

/// Encodes a value the codec built; failing is a bug of ours, not the peer's.
pub fn encode<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, CodecError> {
    serde_amqp::to_vec(value).map_err(|e| refuse(format!("encoding {what} failed: {e}")))
}

/// Writes `performative` (and a transfer's `payload`) as an AMQP frame on `channel`.
pub fn send(
    out: &mut Vec<u8>,
    channel: u16,
    performative: &Performative,
    payload: &[u8],
) -> Result<usize, CodecError> {
    let body = encode(name(performative), performative)?;
    Ok(frame::write(out, TYPE_AMQP, channel, &body, payload))
}

/// Writes a SASL frame.
pub fn send_sasl<T: Serialize>(out: &mut Vec<u8>, what: &str, body: &T) -> Result<(), CodecError> {
    let body = encode(what, body)?;
    frame::write(out, TYPE_SASL, 0, &body, &[]);
    Ok(())
}

/// The performative's name, for logs.
pub fn name(performative: &Performative) -> &'static str {
    match performative {
        Performative::Open(_) => "open",
        Performative::Begin(_) => "begin",
        Performative::Attach(_) => "attach",
        Performative::Flow(_) => "flow",
        Performative::Transfer(_) => "transfer",
        Performative::Disposition(_) => "disposition",
        Performative::Detach(_) => "detach",
        Performative::End(_) => "end",
        Performative::Close(_) => "close",
    }
}
