//! The three encodings met once per message, read and written by hand: the transfer that
//! carries each delivery out, the disposition that settles it, and the header section whose
//! delivery count a redelivery changes.
//!
//! Place in the flow: `session::io` writes transfers with [`transfer`]; `performative::decode`
//! tries [`disposition`] before serde_amqp; `message::outbound` asks [`header_counts`]. serde
//! spends more per message on these than every other step of a delivery together, so the
//! common shapes are handled here, and anything else returns `None` for serde_amqp to decode
//! (and, if it must, refuse) as before. Each is tested against serde_amqp for equality.

use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, Released};
use fe2o3_amqp_types::performatives::Disposition;

const DESCRIPTOR: u8 = 0x53;
const NULL: u8 = 0x40;
const TRUE: u8 = 0x41;
const FALSE: u8 = 0x42;
const BOOLEAN: u8 = 0x56;
const UINT0: u8 = 0x43;
const SMALLUINT: u8 = 0x52;
const UINT: u8 = 0x70;
const UBYTE: u8 = 0x50;
const VBIN8: u8 = 0xa0;
const LIST0: u8 = 0x45;
const LIST8: u8 = 0xc0;
const LIST32: u8 = 0xd0;

const TRANSFER: u8 = 0x14;
const DISPOSITION: u8 = 0x15;
const ACCEPTED: u8 = 0x24;
const RELEASED: u8 = 0x26;
const HEADER: u8 = 0x70;

/// The longest transfer body [`transfer`] writes: descriptor, list8 header, and fields.
const TRANSFER_BYTES_MAX: usize = 3 + 3 + 5 + 5 + 2 + 255 + 5 + 1 + 1;

/// The fields a delivery's first transfer frame carries besides the handle and `more`.
pub struct First<'a> {
    /// Its delivery-id.
    pub delivery_id: u32,
    /// Its delivery-tag (at most 32 bytes, as the spec bounds it).
    pub tag: &'a [u8],
    /// Whether it goes out settled.
    pub settled: bool,
}

/// A transfer performative, encoded; the same length whatever `more` is.
pub struct TransferBody {
    bytes: [u8; TRANSFER_BYTES_MAX],
    len: usize,
}

impl TransferBody {
    /// The encoded bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Encodes a transfer on `handle`: a delivery's first frame (`first` given: delivery-id,
/// tag, message-format 0, settled) or a continuation (handle and `more` alone).
pub fn transfer(handle: u32, first: Option<&First<'_>>, more: bool) -> TransferBody {
    let mut w = Writer {
        bytes: [0; TRANSFER_BYTES_MAX],
        len: 0,
    };
    w.put(&[0x00, DESCRIPTOR, TRANSFER, LIST8, 0, 0]);
    w.uint(handle);
    let count = match first {
        Some(first) => {
            let tag = first.tag.get(..255).unwrap_or(first.tag);
            w.uint(first.delivery_id);
            w.put(&[VBIN8, tag.len() as u8]);
            w.put(tag);
            w.uint(0);
            w.put(&[if first.settled { TRUE } else { FALSE }]);
            6
        }
        None => {
            w.put(&[NULL, NULL, NULL, NULL]);
            6
        }
    };
    w.put(&[if more { TRUE } else { FALSE }]);
    // The list8 size counts the count byte and the fields.
    w.bytes[4] = (w.len - 5) as u8;
    w.bytes[5] = count;
    TransferBody {
        bytes: w.bytes,
        len: w.len,
    }
}

struct Writer {
    bytes: [u8; TRANSFER_BYTES_MAX],
    len: usize,
}

impl Writer {
    /// Never short of room: [`TRANSFER_BYTES_MAX`] holds the longest transfer.
    fn put(&mut self, bytes: &[u8]) {
        if let Some(room) = self.bytes.get_mut(self.len..self.len + bytes.len()) {
            room.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn uint(&mut self, v: u32) {
        match v {
            0 => self.put(&[UINT0]),
            1..=255 => self.put(&[SMALLUINT, v as u8]),
            _ => {
                self.put(&[UINT]);
                self.put(&v.to_be_bytes());
            }
        }
    }
}

/// A disposition of the common shape (state accepted or released, or none), with the length
/// of its encoding; `None` for anything else, serde_amqp's to decode.
pub fn disposition(body: &[u8]) -> Option<(Disposition, usize)> {
    let mut r = Fields::list(body, DISPOSITION)?;
    let role = match r.boolean()? {
        Some(false) => Role::Sender,
        Some(true) => Role::Receiver,
        None => return None,
    };
    let first = r.uint()??;
    let last = r.uint()?;
    let settled = r.boolean()?.unwrap_or(false);
    let state = r.state()?;
    let batchable = r.boolean()?.unwrap_or(false);
    let len = r.end()?;
    Some((
        Disposition {
            role,
            first,
            last,
            settled,
            state,
            batchable,
        },
        len,
    ))
}

/// The delivery count and first-acquirer of an encoded header section; `None` when it is
/// not of the plain shape read here.
pub fn header_counts(section: &[u8]) -> Option<(u32, bool)> {
    let mut r = Fields::list(section, HEADER)?;
    r.boolean()?;
    r.ubyte()?;
    r.uint()?;
    let first_acquirer = r.boolean()?.unwrap_or(false);
    let delivery_count = r.uint()?.unwrap_or(0);
    r.end()?;
    Some((delivery_count, first_acquirer))
}

/// The fields of a described list, read in order; a field past the list's count reads as
/// absent (null), as the spec's trailing-null rule has it.
struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
    left: usize,
    end: usize,
}

impl<'a> Fields<'a> {
    fn list(buf: &'a [u8], code: u8) -> Option<Self> {
        let (at, count, end) = match buf {
            [0x00, DESCRIPTOR, c, LIST0, ..] if *c == code => (4, 0, 4),
            [0x00, DESCRIPTOR, c, LIST8, size, count, ..] if *c == code => {
                (6, usize::from(*count), 5 + usize::from(*size))
            }
            [
                0x00,
                DESCRIPTOR,
                c,
                LIST32,
                s0,
                s1,
                s2,
                s3,
                c0,
                c1,
                c2,
                c3,
                ..,
            ] if *c == code => (
                12,
                u32::from_be_bytes([*c0, *c1, *c2, *c3]) as usize,
                8usize.checked_add(u32::from_be_bytes([*s0, *s1, *s2, *s3]) as usize)?,
            ),
            _ => return None,
        };
        // A cut-off list is not of the plain shape.
        let buf = buf.get(..end)?;
        (at <= end).then_some(Fields {
            buf,
            at,
            left: count,
            end,
        })
    }

    /// The next field's constructor, or `None` past the count.
    fn next(&mut self) -> Option<Option<u8>> {
        if self.left == 0 {
            return Some(None);
        }
        self.left -= 1;
        let c = *self.buf.get(self.at)?;
        self.at += 1;
        Some(Some(c))
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.buf.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(bytes)
    }

    /// Outer `None`: not the plain shape. Inner `None`: null or absent.
    fn boolean(&mut self) -> Option<Option<bool>> {
        match self.next()? {
            None | Some(NULL) => Some(None),
            Some(TRUE) => Some(Some(true)),
            Some(FALSE) => Some(Some(false)),
            Some(BOOLEAN) => match self.take::<1>()? {
                [0] => Some(Some(false)),
                [1] => Some(Some(true)),
                _ => None,
            },
            _ => None,
        }
    }

    fn uint(&mut self) -> Option<Option<u32>> {
        match self.next()? {
            None | Some(NULL) => Some(None),
            Some(UINT0) => Some(Some(0)),
            Some(SMALLUINT) => Some(Some(u32::from(self.take::<1>()?[0]))),
            Some(UINT) => Some(Some(u32::from_be_bytes(self.take::<4>()?))),
            _ => None,
        }
    }

    fn ubyte(&mut self) -> Option<Option<u8>> {
        match self.next()? {
            None | Some(NULL) => Some(None),
            Some(UBYTE) => Some(Some(self.take::<1>()?[0])),
            _ => None,
        }
    }

    /// A delivery state of no fields: accepted or released.
    fn state(&mut self) -> Option<Option<DeliveryState>> {
        match self.next()? {
            None | Some(NULL) => Some(None),
            Some(0x00) => {
                let [d, code, list] = self.take::<3>()?;
                if d != DESCRIPTOR {
                    return None;
                }
                match list {
                    LIST0 => {}
                    LIST8 if self.take::<2>()? == [1, 0] => {}
                    _ => return None,
                }
                match code {
                    ACCEPTED => Some(Some(DeliveryState::Accepted(Accepted {}))),
                    RELEASED => Some(Some(DeliveryState::Released(Released {}))),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The list's length, if every field was read.
    fn end(&self) -> Option<usize> {
        (self.left == 0 && self.at == self.end).then_some(self.end)
    }
}

#[cfg(test)]
mod tests {
    use fe2o3_amqp_types::messaging::{Header, Modified, Rejected};
    use fe2o3_amqp_types::performatives::Performative;
    use serde_amqp::primitives::Binary;

    use super::*;

    #[test]
    fn transfers_written_by_hand_decode_as_serde_reads_them() {
        for handle in [0, 1, 255, 256, u32::MAX] {
            for delivery_id in [0, 7, 255, 256, 70_000, u32::MAX] {
                for (settled, more) in [(false, false), (true, false), (false, true)] {
                    let tag = 0x0102_0304_0506_0708u64.to_be_bytes();
                    let first = First {
                        delivery_id,
                        tag: &tag,
                        settled,
                    };
                    let body = transfer(handle, Some(&first), more);
                    let decoded: Performative = serde_amqp::from_slice(body.as_slice()).unwrap();
                    let Performative::Transfer(t) = decoded else {
                        panic!("not a transfer: {decoded:?}");
                    };
                    assert_eq!(
                        (t.handle.0, t.delivery_id, t.delivery_tag, t.message_format),
                        (
                            handle,
                            Some(delivery_id),
                            Some(Binary::from(tag.to_vec())),
                            Some(0)
                        )
                    );
                    assert_eq!(
                        (t.settled, t.more, t.rcv_settle_mode),
                        (Some(settled), more, None)
                    );
                    assert_eq!(
                        (t.state, t.resume, t.aborted, t.batchable),
                        (None, false, false, false)
                    );
                    let other = transfer(handle, Some(&first), !more);
                    assert_eq!(body.as_slice().len(), other.as_slice().len());
                }
            }
            let continuation = transfer(handle, None, true);
            let decoded: Performative = serde_amqp::from_slice(continuation.as_slice()).unwrap();
            let Performative::Transfer(t) = decoded else {
                panic!("not a transfer");
            };
            assert_eq!((t.handle.0, t.delivery_id, t.more), (handle, None, true));
        }
    }

    fn dispositions() -> Vec<Disposition> {
        let mut all = Vec::new();
        for role in [Role::Sender, Role::Receiver] {
            for (first, last) in [
                (0, None),
                (5, Some(9)),
                (300, Some(70_000)),
                (u32::MAX, None),
            ] {
                for settled in [false, true] {
                    for state in [
                        None,
                        Some(DeliveryState::Accepted(Accepted {})),
                        Some(DeliveryState::Released(Released {})),
                    ] {
                        all.push(Disposition {
                            role: role.clone(),
                            first,
                            last,
                            settled,
                            state,
                            batchable: settled,
                        });
                    }
                }
            }
        }
        all
    }

    #[test]
    fn dispositions_of_the_common_shapes_are_read_as_serde_reads_them() {
        for d in dispositions() {
            let bytes = serde_amqp::to_vec(&Performative::Disposition(d.clone())).unwrap();
            let mut tail = bytes.clone();
            tail.extend_from_slice(b"after");
            let (read, len) = disposition(&tail).unwrap_or_else(|| panic!("{d:?}"));
            assert_eq!((read, len), (d, bytes.len()));
        }
        // As a list8 of every field, as other encoders write them.
        let explicit = [
            0x00, 0x53, 0x15, 0xc0, 0x0c, 0x06, 0x41, 0x52, 0x03, 0x40, 0x56, 0x01, 0x00, 0x53,
            0x24, 0x45, 0x42,
        ];
        let (read, _) = disposition(&explicit).unwrap();
        assert_eq!(
            (read.first, read.last, read.settled, read.batchable),
            (3, None, true, false)
        );
    }

    #[test]
    fn dispositions_of_other_shapes_are_left_to_serde() {
        for state in [
            DeliveryState::Rejected(Rejected { error: None }),
            DeliveryState::Modified(Modified {
                delivery_failed: Some(true),
                undeliverable_here: None,
                message_annotations: None,
            }),
        ] {
            let d = Disposition {
                role: Role::Receiver,
                first: 1,
                last: None,
                settled: true,
                state: Some(state),
                batchable: false,
            };
            let bytes = serde_amqp::to_vec(&Performative::Disposition(d)).unwrap();
            assert!(disposition(&bytes).is_none());
        }
        let bytes =
            serde_amqp::to_vec(&Performative::Disposition(dispositions()[3].clone())).unwrap();
        for cut in 0..bytes.len() {
            assert!(disposition(&bytes[..cut]).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn header_counts_are_read_as_serde_reads_them() {
        for delivery_count in [0, 1, 255, 256, u32::MAX] {
            for first_acquirer in [false, true] {
                for durable in [false, true] {
                    let header = Header {
                        durable,
                        priority: 7.into(),
                        ttl: (delivery_count % 2 == 0).then_some(60_000),
                        first_acquirer,
                        delivery_count,
                    };
                    let bytes = serde_amqp::to_vec(&header).unwrap();
                    assert_eq!(
                        header_counts(&bytes),
                        Some((delivery_count, first_acquirer)),
                        "{header:?}"
                    );
                }
            }
        }
        assert_eq!(
            header_counts(&serde_amqp::to_vec(&Header::default()).unwrap()),
            Some((0, false))
        );
    }
}
