//! A walk over AMQP-encoded values (part 1 of the spec) that checks their shape without
//! decoding them.
//!
//! Place in the flow: every performative and every message section passes here before
//! serde_amqp decodes it. The walk finds where a value ends (a performative is followed by its
//! payload, a section by the next section), and refuses what could hurt the decoder: sizes
//! that run past the buffer, element counts the bytes cannot hold, arrays of more than
//! [`ARRAY_ELEMENTS_MAX`] elements, and nesting deeper than [`NESTING_MAX`] (decoding recurses;
//! in Wasm a stack overflow is a trap that takes down every connection on the instance).
//!
//! Work and memory are linear in the bytes walked; nothing is allocated.

use crate::errors::Malformed;
use crate::limits::{ARRAY_ELEMENTS_MAX, NESTING_MAX};

/// The constructor of a described value.
pub const DESCRIBED: u8 = 0x00;

/// Length of the whole encoded value at the start of `buf`.
pub fn value_len(buf: &[u8]) -> Result<usize, Malformed> {
    walk(buf, 0)
}

/// A described value at the start of a buffer: its descriptor and where its value sits.
pub struct Described {
    /// The numeric descriptor, or the code a symbolic one names (see [`symbol_code`]).
    pub code: Option<u64>,
    /// Offset of the described value's constructor.
    pub value_at: usize,
    /// Length of the whole described value, constructor and descriptor included.
    pub len: usize,
}

/// Reads the described value at the start of `buf`; `code` maps a symbolic descriptor to its
/// numeric code (`None` for one we do not know).
pub fn described(
    buf: &[u8],
    symbol_code: fn(&[u8]) -> Option<u64>,
) -> Result<Described, Malformed> {
    if buf.first() != Some(&DESCRIBED) {
        return Err(Malformed::new("expected a described value"));
    }
    let rest = tail(buf, 1)?;
    let descriptor_len = walk(rest, 1)?;
    let descriptor = rest.get(..descriptor_len).ok_or_else(eof)?;
    let code = match descriptor {
        [0x44] => Some(0),
        [0x53, code] => Some(u64::from(*code)),
        [0x80, bytes @ ..] => bytes.try_into().ok().map(u64::from_be_bytes),
        [0xa3, _, name @ ..] | [0xb3, _, _, _, _, name @ ..] => symbol_code(name),
        _ => None,
    };
    let value_at = descriptor_len.checked_add(1).ok_or_else(eof)?;
    let value_len = walk(tail(buf, value_at)?, 1)?;
    let len = value_at.checked_add(value_len).ok_or_else(eof)?;
    Ok(Described {
        code,
        value_at,
        len,
    })
}

fn walk(buf: &[u8], depth: usize) -> Result<usize, Malformed> {
    if depth > NESTING_MAX {
        return Err(Malformed::new(format!(
            "value nested deeper than {NESTING_MAX} levels"
        )));
    }
    let (&code, rest) = buf.split_first().ok_or_else(eof)?;
    let body = if code == DESCRIBED {
        let descriptor = walk(rest, depth + 1)?;
        let value = walk(tail(rest, descriptor)?, depth + 1)?;
        descriptor.checked_add(value).ok_or_else(eof)?
    } else {
        body_len(code, rest, depth)?
    };
    body.checked_add(1).ok_or_else(eof)
}

/// Length of a value's body after its (primitive) constructor `code`.
fn body_len(code: u8, buf: &[u8], depth: usize) -> Result<usize, Malformed> {
    match code {
        // null, true, false, uint0, ulong0, list0
        0x40..=0x45 => Ok(0),
        // ubyte, byte, smalluint, smallulong, smallint, smalllong, boolean
        0x50..=0x56 => fixed(buf, 1),
        // ushort, short
        0x60 | 0x61 => fixed(buf, 2),
        // uint, int, float, char, decimal32
        0x70..=0x74 => fixed(buf, 4),
        // ulong, long, double, timestamp, decimal64
        0x80..=0x84 => fixed(buf, 8),
        // decimal128, uuid
        0x94 | 0x98 => fixed(buf, 16),
        // vbin8, str8, sym8
        0xa0 | 0xa1 | 0xa3 => variable(buf, 1),
        // vbin32, str32, sym32
        0xb0 | 0xb1 | 0xb3 => variable(buf, 4),
        // list8, map8
        0xc0 | 0xc1 => compound(code == 0xc1, buf, 1, depth),
        // list32, map32
        0xd0 | 0xd1 => compound(code == 0xd1, buf, 4, depth),
        0xe0 => array(buf, 1, depth),
        0xf0 => array(buf, 4, depth),
        other => Err(Malformed::new(format!("unknown format code {other:#04x}"))),
    }
}

fn fixed(buf: &[u8], width: usize) -> Result<usize, Malformed> {
    if buf.len() < width {
        return Err(eof());
    }
    Ok(width)
}

/// A size-prefixed value: binary, string or symbol.
fn variable(buf: &[u8], width: usize) -> Result<usize, Malformed> {
    let size = read_size(buf, width)?;
    let len = width.checked_add(size).ok_or_else(eof)?;
    fixed(buf, len)
}

/// A list or map: size, count, then `count` whole values filling exactly `size` bytes.
fn compound(map: bool, buf: &[u8], width: usize, depth: usize) -> Result<usize, Malformed> {
    let size = read_size(buf, width)?;
    let total = width.checked_add(size).ok_or_else(eof)?;
    let body = buf.get(width..total).ok_or_else(eof)?;
    let count = read_size(body, width)?;
    let mut elements = tail(body, width)?;
    // Every element takes at least its constructor byte.
    if count > elements.len() {
        return Err(Malformed::new(format!(
            "{count} elements cannot fit in {} bytes",
            elements.len()
        )));
    }
    if map && count % 2 != 0 {
        return Err(Malformed::new("map with an odd number of elements"));
    }
    for _ in 0..count {
        let len = walk(elements, depth + 1)?;
        elements = tail(elements, len)?;
    }
    if !elements.is_empty() {
        return Err(Malformed::new("compound value longer than its elements"));
    }
    Ok(total)
}

/// An array: size, count, one constructor, then `count` bodies of that constructor filling
/// exactly `size` bytes.
fn array(buf: &[u8], width: usize, depth: usize) -> Result<usize, Malformed> {
    let size = read_size(buf, width)?;
    let total = width.checked_add(size).ok_or_else(eof)?;
    let body = buf.get(width..total).ok_or_else(eof)?;
    let count = read_size(body, width)?;
    if count > ARRAY_ELEMENTS_MAX {
        return Err(Malformed::new(format!(
            "array of {count} elements (the limit is {ARRAY_ELEMENTS_MAX})"
        )));
    }
    let (&first, after) = tail(body, width)?.split_first().ok_or_else(eof)?;
    let (code, mut rest) = if first == DESCRIBED {
        let descriptor = walk(after, depth + 1)?;
        let (&element, rest) = tail(after, descriptor)?.split_first().ok_or_else(eof)?;
        if element == DESCRIBED {
            return Err(Malformed::new("array of described described values"));
        }
        (element, rest)
    } else {
        (first, after)
    };
    for _ in 0..count {
        let len = body_len(code, rest, depth + 1)?;
        rest = tail(rest, len)?;
    }
    if !rest.is_empty() {
        return Err(Malformed::new("array longer than its elements"));
    }
    Ok(total)
}

/// A big-endian size of `width` (1 or 4) bytes at the start of `buf`.
fn read_size(buf: &[u8], width: usize) -> Result<usize, Malformed> {
    let size = match width {
        1 => buf.first().map(|b| u32::from(*b)),
        _ => buf.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)),
    };
    let size = size.ok_or_else(eof)?;
    usize::try_from(size).map_err(|_| eof())
}

fn tail(buf: &[u8], from: usize) -> Result<&[u8], Malformed> {
    buf.get(from..).ok_or_else(eof)
}

fn eof() -> Malformed {
    Malformed::new("value runs past the end of its frame")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_lengths_include_their_constructor() {
        assert_eq!(value_len(&[0x40]).unwrap(), 1);
        assert_eq!(value_len(&[0x52, 7, 0xff]).unwrap(), 2);
        assert_eq!(value_len(&[0xa1, 2, b'h', b'i']).unwrap(), 4);
        assert_eq!(value_len(&[0xb0, 0, 0, 0, 1, 9]).unwrap(), 6);
    }

    #[test]
    fn a_list_must_fill_exactly_its_size() {
        // list8 of size 3: count 2, then null, true.
        assert_eq!(value_len(&[0xc0, 3, 2, 0x40, 0x41]).unwrap(), 5);
        assert!(value_len(&[0xc0, 4, 2, 0x40, 0x41, 0x40]).is_err());
        assert!(value_len(&[0xc0, 3, 3, 0x40, 0x41]).is_err());
    }

    #[test]
    fn a_count_the_bytes_cannot_hold_is_refused() {
        assert!(value_len(&[0xd0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn zero_width_arrays_are_bounded() {
        let mut huge = vec![0xf0, 0, 0, 0, 5];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.push(0x40);
        assert!(value_len(&huge).is_err());
        assert_eq!(value_len(&[0xe0, 2, 3, 0x40]).unwrap(), 4);
    }

    #[test]
    fn deep_nesting_is_refused_before_decoding() {
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep.extend_from_slice(&[0x00, 0x53, 0x01]);
        }
        deep.push(0x40);
        assert!(value_len(&deep).is_err());
    }

    #[test]
    fn described_values_report_their_code() {
        let d = described(&[0x00, 0x53, 0x75, 0xa0, 1, 7], |_| None).unwrap();
        assert_eq!((d.code, d.value_at, d.len), (Some(0x75), 3, 6));
    }
}
