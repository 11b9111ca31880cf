//! Kafka's primitive wire types, read and written by hand.
//!
//! Place in the flow: below `shape` (which walks every request with a [`Reader`] before
//! kafka-protocol decodes it) and below the legacy paths in `api/*` (old API versions that
//! kafka-protocol 0.18 no longer knows, e.g. Produce v0–v2, whose requests are read with a
//! [`Reader`] and whose responses are written with a [`Writer`]).
//!
//! Every read is bounds-checked and fails with a [`WireError`]: the bytes come from the peer,
//! so nothing here may panic. Writers only produce the classic (non-flexible) encodings,
//! because every legacy version predates flexible versions.

use std::fmt;

use kafka_protocol::protocol::StrBytes;

/// Why a request's bytes could not be read. A static description is enough: the caller adds
/// the API and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The longest unsigned varint Kafka writes for a 32-bit value.
const UVARINT_BYTES_MAX: u32 = 5;

/// A cursor over a request's bytes.
pub struct Reader<'a> {
    /// The bytes not read yet.
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `bytes` from the beginning.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n)
            .ok_or(WireError("truncated"))?;
        self.rest = tail;
        Ok(head)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        self.take(N)?.try_into().map_err(|_| WireError("truncated"))
    }

    /// An INT8.
    pub fn i8(&mut self) -> Result<i8, WireError> {
        Ok(i8::from_be_bytes(self.fixed()?))
    }

    /// An INT16.
    pub fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.fixed()?))
    }

    /// An INT32.
    pub fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.fixed()?))
    }

    /// An INT64.
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.fixed()?))
    }

    /// An UNSIGNED_VARINT. Stricter than kafka-protocol (which silently drops bits past 32):
    /// an over-long or overflowing varint is refused, so any value accepted here is read the
    /// same way by kafka-protocol afterwards.
    pub fn uvarint(&mut self) -> Result<u32, WireError> {
        let mut value: u32 = 0;
        for i in 0..UVARINT_BYTES_MAX {
            let [b] = self.fixed::<1>()?;
            let bits = u32::from(b & 0x7f);
            if i == UVARINT_BYTES_MAX - 1 && bits > 0x0f {
                return Err(WireError("unsigned varint overflows 32 bits"));
            }
            value |= bits << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError("unsigned varint longer than 5 bytes"))
    }

    /// The length of a STRING (`flexible`: COMPACT_STRING); `None` when null.
    pub fn string_len(&mut self, flexible: bool) -> Result<Option<usize>, WireError> {
        if flexible {
            return Ok(compact_len(self.uvarint()?));
        }
        match self.i16()? {
            -1 => Ok(None),
            n => usize::try_from(n)
                .map(Some)
                .map_err(|_| WireError("negative string length")),
        }
    }

    /// The length of BYTES (`flexible`: COMPACT_BYTES); `None` when null.
    pub fn bytes_len(&mut self, flexible: bool) -> Result<Option<usize>, WireError> {
        if flexible {
            return Ok(compact_len(self.uvarint()?));
        }
        self.i32_len()
    }

    /// The element count of an ARRAY (`flexible`: COMPACT_ARRAY); `None` when null.
    ///
    /// A count above the bytes left is refused here: every element takes at least one byte,
    /// and a decoder that trusts the count (kafka-protocol's does, `Vec::with_capacity(n)`)
    /// would otherwise allocate for billions of elements on a peer's say-so.
    pub fn array_len(&mut self, flexible: bool) -> Result<Option<usize>, WireError> {
        let count = if flexible {
            compact_len(self.uvarint()?)
        } else {
            self.i32_len()?
        };
        match count {
            Some(n) if n > self.remaining() => Err(WireError("array count exceeds the bytes left")),
            count => Ok(count),
        }
    }

    fn i32_len(&mut self) -> Result<Option<usize>, WireError> {
        match self.i32()? {
            -1 => Ok(None),
            n => usize::try_from(n)
                .map(Some)
                .map_err(|_| WireError("negative length")),
        }
    }

    /// A nullable classic STRING, as kafka-protocol's string type.
    pub fn nullable_str(&mut self) -> Result<Option<StrBytes>, WireError> {
        let Some(len) = self.string_len(false)? else {
            return Ok(None);
        };
        let text =
            std::str::from_utf8(self.take(len)?).map_err(|_| WireError("string is not UTF-8"))?;
        Ok(Some(StrBytes::from_string(text.to_owned())))
    }

    /// A non-null classic STRING.
    pub fn str(&mut self) -> Result<StrBytes, WireError> {
        self.nullable_str()?
            .ok_or(WireError("null string where a string is required"))
    }

    /// A classic ARRAY of non-null elements, each read by `element`. Grows the vector as
    /// elements are read, never by the count the peer announced.
    pub fn array<T>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let count = self
            .array_len(false)?
            .ok_or(WireError("null array where an array is required"))?;
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(element(self)?);
        }
        Ok(items)
    }
}

/// Compact lengths are stored plus one, so zero can mean null.
fn compact_len(raw: u32) -> Option<usize> {
    raw.checked_sub(1).and_then(|n| usize::try_from(n).ok())
}

/// Appends classic (non-flexible) Kafka types to a response.
pub struct Writer<'a> {
    /// The response being written.
    pub out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// An INT16.
    pub fn i16(&mut self, v: i16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// An INT32.
    pub fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// An INT64.
    pub fn i64(&mut self, v: i64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// A nullable STRING.
    pub fn nullable_str(&mut self, v: Option<&str>) -> Result<(), WireError> {
        let Some(s) = v else {
            self.i16(-1);
            return Ok(());
        };
        let len = i16::try_from(s.len()).map_err(|_| WireError("string too long to encode"))?;
        self.i16(len);
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// A non-null STRING.
    pub fn str(&mut self, v: &str) -> Result<(), WireError> {
        self.nullable_str(Some(v))
    }

    /// An ARRAY: the count, then each element written by `element`.
    pub fn array<T>(
        &mut self,
        items: &[T],
        mut element: impl FnMut(&mut Self, &T) -> Result<(), WireError>,
    ) -> Result<(), WireError> {
        let count =
            i32::try_from(items.len()).map_err(|_| WireError("array too long to encode"))?;
        self.i32(count);
        items.iter().try_for_each(|item| element(self, item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounds_checked() {
        let mut r = Reader::new(&[0, 1, 2]);
        assert_eq!(r.i32(), Err(WireError("truncated")));
        assert_eq!(r.i16(), Ok(1));
        assert_eq!(r.i16(), Err(WireError("truncated")));
    }

    #[test]
    fn uvarint_refuses_overflow_and_overlong() {
        assert_eq!(Reader::new(&[0x96, 0x01]).uvarint(), Ok(150));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]).uvarint(),
            Ok(u32::MAX)
        );
        assert!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x1f])
                .uvarint()
                .is_err()
        );
        assert!(
            Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
                .uvarint()
                .is_err()
        );
    }

    #[test]
    fn array_count_above_bytes_left_is_refused() {
        let mut bytes = i32::MAX.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0; 16]);
        assert!(Reader::new(&bytes).array_len(false).is_err());
        assert_eq!(
            Reader::new(&[0, 0, 0, 2, 9, 9]).array_len(false),
            Ok(Some(2))
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xff]).array_len(false),
            Ok(None)
        );
        assert_eq!(Reader::new(&[0]).array_len(true), Ok(None));
    }

    #[test]
    fn strings_round_trip() {
        let mut out = Vec::new();
        let mut w = Writer { out: &mut out };
        w.str("topic").unwrap();
        w.nullable_str(None).unwrap();
        let mut r = Reader::new(&out);
        assert_eq!(r.str().unwrap().as_str(), "topic");
        assert_eq!(r.nullable_str().unwrap(), None);
        assert_eq!(r.remaining(), 0);
    }
}
