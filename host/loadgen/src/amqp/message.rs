//! The messages a load run sends (a durable header and one data section) and the body read
//! back from whatever a broker delivers, found by stepping over the sections before it.
//!
//! Reading the body does not decode the message: each section is a described value whose
//! size its constructor gives, so the scan skips everything but the data section's bytes.
use anyhow::{Context, bail};
use fe2o3_amqp_types::messaging::{Data, Header};
use serde_amqp::primitives::Binary;

/// The descriptor code of a data section.
const DATA_SECTION: u8 = 0x75;
/// Described values nest this deep at most in what the scan accepts (a described
/// descriptor of a described value ...); a message is far shallower.
const DESCRIBED_DEPTH_MAX: usize = 4;

/// An AMQP message: a header marking it durable (Artemis's producer sends persistent
/// messages by default) and a data section holding `body`.
pub fn durable_message(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut payload = serde_amqp::to_vec(&Header {
        durable: true,
        ..Header::default()
    })?;
    payload.extend(serde_amqp::to_vec(&Data(Binary::from(body.to_vec())))?);
    Ok(payload)
}

/// The bytes of the first data section of an encoded message; `None` when it has none (an
/// amqp-value or amqp-sequence body).
pub fn body_of(message: &[u8]) -> anyhow::Result<Option<&[u8]>> {
    let mut at = 0;
    while at < message.len() {
        let code = match message.get(at..at + 3) {
            Some([0x00, 0x53, code]) => Some(*code),
            _ => None,
        };
        if code == Some(DATA_SECTION) {
            let value = at + 3;
            let (start, len) = match message.get(value) {
                Some(0xa0) => (
                    value + 2,
                    usize::from(*message.get(value + 1).context("cut")?),
                ),
                Some(0xb0) => (value + 5, be_u32(message, value + 1)? as usize),
                other => bail!("a data section holding constructor {other:?}"),
            };
            return message
                .get(start..start + len)
                .map(Some)
                .context("a data section running past the message");
        }
        at = skip(message, at, 0)?;
    }
    Ok(None)
}

/// The offset just past the encoded value starting at `at`.
fn skip(bytes: &[u8], at: usize, depth: usize) -> anyhow::Result<usize> {
    let constructor = *bytes.get(at).context("a value cut short")?;
    let after = at + 1;
    let end = match constructor {
        0x00 => {
            if depth >= DESCRIBED_DEPTH_MAX {
                bail!("described values nested too deep");
            }
            let value = skip(bytes, after, depth + 1)?;
            return skip(bytes, value, depth + 1);
        }
        0x40..=0x4f => after,
        0x50..=0x5f => after + 1,
        0x60..=0x6f => after + 2,
        0x70..=0x7f => after + 4,
        0x80..=0x8f => after + 8,
        0x90..=0x9f => after + 16,
        0xa0..=0xaf | 0xc0..=0xcf | 0xe0..=0xef => {
            after + 1 + usize::from(*bytes.get(after).context("a size cut short")?)
        }
        0xb0..=0xbf | 0xd0..=0xdf | 0xf0..=0xff => after + 4 + be_u32(bytes, after)? as usize,
        other => bail!("an unknown constructor 0x{other:02x}"),
    };
    if end > bytes.len() {
        bail!("a value running past the message");
    }
    Ok(end)
}

fn be_u32(bytes: &[u8], at: usize) -> anyhow::Result<u32> {
    let word = bytes.get(at..at + 4).context("a size cut short")?;
    Ok(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

#[cfg(test)]
mod tests {
    use fe2o3_amqp_types::messaging::{
        AmqpValue, ApplicationProperties, MessageAnnotations, Properties,
    };
    use fe2o3_amqp_types::primitives::SimpleValue;

    use super::*;

    #[test]
    fn the_body_of_a_sent_message_reads_back() {
        let message = durable_message(b"0:1.......").unwrap();
        assert_eq!(body_of(&message).unwrap(), Some(&b"0:1......."[..]));
        let large = vec![7u8; 70_000];
        assert_eq!(
            body_of(&durable_message(&large).unwrap()).unwrap(),
            Some(&large[..])
        );
    }

    #[test]
    fn sections_a_broker_adds_before_the_body_are_stepped_over() {
        let mut message = serde_amqp::to_vec(&Header {
            durable: true,
            delivery_count: 3,
            ..Header::default()
        })
        .unwrap();
        let annotations = MessageAnnotations::builder()
            .insert("x-opt-partition", 2i32)
            .insert("x-opt-offset", 99i64)
            .build();
        message.extend(serde_amqp::to_vec(&annotations).unwrap());
        let properties = Properties::builder()
            .message_id(String::from("id-1"))
            .build();
        message.extend(serde_amqp::to_vec(&properties).unwrap());
        let application = ApplicationProperties::builder()
            .insert("k", SimpleValue::String("v".into()))
            .build();
        message.extend(serde_amqp::to_vec(&application).unwrap());
        message.extend(serde_amqp::to_vec(&Data(Binary::from(b"body".to_vec()))).unwrap());
        assert_eq!(body_of(&message).unwrap(), Some(&b"body"[..]));
    }

    #[test]
    fn a_value_body_has_no_data_section() {
        let message = serde_amqp::to_vec(&AmqpValue("text".to_owned())).unwrap();
        assert_eq!(body_of(&message).unwrap(), None);
    }

    #[test]
    fn a_truncated_message_is_an_error_not_a_panic() {
        let message = durable_message(b"0123456789").unwrap();
        for cut in 0..message.len() {
            let _ = body_of(&message[..cut]);
        }
        assert!(body_of(&message[..message.len() - 1]).is_err());
    }
}
