//! Reading a Kafka consumer's partition assignment, which the group coordinator keeps as the
//! opaque bytes the group's leader handed in, so the admin API can say which member reads
//! which partition (as `kafka-consumer-groups --describe` does).
//!
//! The bytes are Kafka's `ConsumerProtocolAssignment` (every version): `version: int16`, then
//! an array (`int32` count) of `{topic: string (int16 length), partitions: [int32]}`, then
//! user data, which is ignored. Groups of other protocol types, and bytes that do not parse,
//! show no assignment rather than a guess.
use serde::Serialize;

/// The protocol type Kafka consumers join groups with.
pub(super) const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The partitions of one topic assigned to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Assigned {
    pub topic: String,
    pub partitions: Vec<u32>,
}

/// The assignment in `bytes`, or `None` when they are not a consumer assignment.
pub(super) fn decode(bytes: &[u8]) -> Option<Vec<Assigned>> {
    let mut r = Reader(bytes);
    let _version = r.i16()?;
    let topics = r.count()?;
    let mut out = Vec::new();
    for _ in 0..topics {
        let length = usize::try_from(r.i16()?).ok()?;
        let topic = String::from_utf8(r.take(length)?.to_vec()).ok()?;
        let count = r.count()?;
        let partitions = (0..count)
            .map(|_| r.i32().and_then(|p| u32::try_from(p).ok()))
            .collect::<Option<Vec<u32>>>()?;
        out.push(Assigned { topic, partitions });
    }
    Some(out)
}

/// A cursor over big-endian fields that fails rather than reading past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn i16(&mut self) -> Option<i16> {
        Some(i16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    /// An array's length, which cannot exceed what is left to read (each element takes at
    /// least two bytes), so a hostile count cannot make the loops run long.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.i32()?).ok()?;
        (n <= self.0.len() / 2).then_some(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode(topics: &[(&str, &[i32])]) -> Vec<u8> {
        let mut b = 3i16.to_be_bytes().to_vec();
        b.extend((topics.len() as i32).to_be_bytes());
        for (topic, partitions) in topics {
            b.extend((topic.len() as i16).to_be_bytes());
            b.extend(topic.as_bytes());
            b.extend((partitions.len() as i32).to_be_bytes());
            for p in *partitions {
                b.extend(p.to_be_bytes());
            }
        }
        b.extend((-1i32).to_be_bytes());
        b
    }

    #[test]
    fn a_consumer_assignment_lists_its_topics_and_partitions() {
        let got = decode(&encode(&[("orders", &[0, 2]), ("audit", &[1])])).unwrap();
        assert_eq!(
            got,
            vec![
                Assigned {
                    topic: "orders".into(),
                    partitions: vec![0, 2]
                },
                Assigned {
                    topic: "audit".into(),
                    partitions: vec![1]
                },
            ]
        );
    }

    #[test]
    fn truncated_or_lying_bytes_are_no_assignment() {
        let whole = encode(&[("orders", &[0, 2])]);
        for cut in 0..whole.len() - 4 {
            assert_eq!(decode(&whole[..cut]), None, "cut at {cut}");
        }
        let mut huge = 0i16.to_be_bytes().to_vec();
        huge.extend(i32::MAX.to_be_bytes());
        assert_eq!(decode(&huge), None);
        let mut negative = encode(&[("t", &[-1])]);
        negative.truncate(negative.len() - 4);
        assert_eq!(decode(&negative), None);
    }
}
