//! The cursor snapshot: the whole state at the moment a journal was retired, written through
//! a temporary file and a rename so a crash leaves the old snapshot or the new one.
//!
//! ```text
//! magic "SLCS" | format version u32 | generation u64 | floor i64 | ranges u64 | counts u64
//! ranges × (start i64, end i64) | counts × (offset i64, count u32) | CRC-32C u32 of all before
//! ```
//! Integers are big-endian. `generation` is that of the journal that follows the snapshot.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::state::State;
use super::{FORMAT_VERSION, corrupt};
use crate::StorageError;
use crate::error::io_error;

const MAGIC: [u8; 4] = *b"SLCS";
/// Magic, version, generation, floor and the two entry counts.
const HEADER_BYTES: usize = 4 + 4 + 8 + 8 + 8 + 8;
const RANGE_BYTES: usize = 8 + 8;
const COUNT_BYTES: usize = 8 + 4;
const CRC_BYTES: usize = 4;
/// Far above what default limits produce (about 3 MiB), so only damage reaches it; it keeps a
/// corrupt size from making open read an arbitrary file into memory.
const SNAPSHOT_BYTES_MAX: u64 = 256 * 1024 * 1024;

/// A snapshot read back.
#[derive(Debug)]
pub struct Loaded {
    /// The state it holds.
    pub state: State,
    /// The generation of the journal that follows it.
    pub generation: u64,
    /// Its size, for the rotation policy.
    pub bytes: u64,
}

/// Writes `state`, followed by journal `generation`, durably to the temporary sibling of
/// `path`; the caller renames it into place. Returns its size in bytes.
pub fn write_temp(path: &Path, state: &State, generation: u64) -> Result<u64, StorageError> {
    let bytes = encode(state, generation);
    super::write_temp(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Reads the snapshot at `path`; `None` when there is none. Anything invalid is an error
/// naming the file: a snapshot is only ever renamed into place whole, so it is damage.
pub fn load(path: &Path) -> Result<Option<Loaded>, StorageError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("open", path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(SNAPSHOT_BYTES_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error("read", path))?;
    if bytes.len() as u64 > SNAPSHOT_BYTES_MAX {
        return Err(corrupt(
            path,
            format!("larger than {SNAPSHOT_BYTES_MAX} bytes"),
        ));
    }
    let (state, generation) = decode(&bytes).map_err(|reason| corrupt(path, reason))?;
    Ok(Some(Loaded {
        state,
        generation,
        bytes: bytes.len() as u64,
    }))
}

fn encode(state: &State, generation: u64) -> Vec<u8> {
    debug_assert_eq!(state.check_invariants(), Ok(()));
    let (ranges, counts) = (state.ranges(), state.counts());
    let mut bytes = Vec::with_capacity(
        HEADER_BYTES + ranges.len() * RANGE_BYTES + counts.len() * COUNT_BYTES + CRC_BYTES,
    );
    bytes.extend(MAGIC);
    bytes.extend(FORMAT_VERSION.to_be_bytes());
    bytes.extend(generation.to_be_bytes());
    bytes.extend(state.floor().to_be_bytes());
    bytes.extend((ranges.len() as u64).to_be_bytes());
    bytes.extend((counts.len() as u64).to_be_bytes());
    for (start, end) in ranges {
        bytes.extend(start.to_be_bytes());
        bytes.extend(end.to_be_bytes());
    }
    for (offset, count) in counts {
        bytes.extend(offset.to_be_bytes());
        bytes.extend(count.to_be_bytes());
    }
    bytes.extend(crc32c::crc32c(&bytes).to_be_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> Result<(State, u64), String> {
    let Some((body, crc)) = bytes.split_last_chunk::<CRC_BYTES>() else {
        return Err("too short for a snapshot".to_owned());
    };
    let mut fields = Fields(body);
    if fields.take::<4>() != Some(MAGIC) {
        return Err("not a cursor snapshot (bad magic)".to_owned());
    }
    if crc32c::crc32c(body).to_be_bytes() != *crc {
        return Err("CRC mismatch".to_owned());
    }
    let too_short = || "too short for its header".to_owned();
    let version = fields.u32().ok_or_else(too_short)?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, this build reads {FORMAT_VERSION}"
        ));
    }
    let generation = fields.u64().ok_or_else(too_short)?;
    let floor = fields.i64().ok_or_else(too_short)?;
    let range_count = fields.u64().ok_or_else(too_short)?;
    let count_count = fields.u64().ok_or_else(too_short)?;
    // Checked before reading entries so a damaged count cannot drive a huge allocation.
    let entries_bytes = u128::from(range_count) * RANGE_BYTES as u128
        + u128::from(count_count) * COUNT_BYTES as u128;
    if entries_bytes != fields.0.len() as u128 {
        return Err(format!(
            "{range_count} ranges and {count_count} counts do not fill its {} entry bytes",
            fields.0.len()
        ));
    }
    let mut ranges = BTreeMap::new();
    for _ in 0..range_count {
        let (Some(start), Some(end)) = (fields.i64(), fields.i64()) else {
            return Err("entries cut short".to_owned());
        };
        if ranges
            .last_key_value()
            .is_some_and(|(&last, _)| last >= start)
        {
            return Err(format!("range starting at {start} out of order"));
        }
        ranges.insert(start, end);
    }
    let mut counts = BTreeMap::new();
    for _ in 0..count_count {
        let (Some(offset), Some(count)) = (fields.i64(), fields.u32()) else {
            return Err("entries cut short".to_owned());
        };
        if counts
            .last_key_value()
            .is_some_and(|(&last, _)| last >= offset)
        {
            return Err(format!("delivery count of offset {offset} out of order"));
        }
        counts.insert(offset, count);
    }
    let state = State::from_parts(floor, ranges, counts)?;
    Ok((state, generation))
}

/// Big-endian fields read from the front of a byte slice.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (field, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*field)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_be_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::state::Change;

    fn sample() -> State {
        let mut state = State::default();
        for change in [
            Change::Ack(0),
            Change::Ack(3),
            Change::Ack(4),
            Change::Ack(9),
            Change::Deliver(1),
            Change::Deliver(1),
            Change::Deliver(7),
        ] {
            state.apply(change);
        }
        state
    }

    #[test]
    fn a_snapshot_decodes_to_the_state_and_generation_encoded() {
        let state = sample();
        assert_eq!(decode(&encode(&state, 5)), Ok((state, 5)));
        let empty = State::default();
        assert_eq!(decode(&encode(&empty, 0)), Ok((empty, 0)));
    }

    #[test]
    fn every_bit_flip_and_truncation_is_refused() {
        let bytes = encode(&sample(), 5);
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&flipped).is_err(), "bit {bit}");
        }
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn a_well_formed_snapshot_of_a_broken_state_is_refused() {
        let mut bytes = encode(&sample(), 5);
        // The first range's start, moved onto the floor (1 after acking 0).
        bytes[HEADER_BYTES..HEADER_BYTES + 8].copy_from_slice(&1i64.to_be_bytes());
        let end = bytes.len() - CRC_BYTES;
        let crc = crc32c::crc32c(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_be_bytes());
        assert!(decode(&bytes).is_err());
    }
}
