//! Message bodies: a readable label for `produce` (which thread, which message) and, for
//! `perf`, a stamp (run, sequence, send time) a consumer reads back to measure latency.

/// Perf bodies start with this, so a consumer tells this run's messages from others left on
/// a queue.
const PERF_MAGIC: [u8; 4] = *b"SLP1";
/// Bytes of a perf stamp: magic, run id, sequence, send time. `perf` refuses smaller
/// messages.
pub const PERF_STAMP_BYTES: usize = 4 + 8 + 8 + 8;
/// What fills a body after its label or stamp.
const FILL: u8 = b'.';

/// The body of message `seq` of `thread`: `THREAD:SEQ` padded with dots to `size` bytes, cut
/// to `size` when the label is longer; with `size` 0, the label alone (Artemis sends a text
/// message when no size is given).
pub fn labelled(thread: usize, seq: u64, size: usize) -> Vec<u8> {
    let mut body = format!("{thread}:{seq}").into_bytes();
    if size > 0 {
        body.resize(size, FILL);
    }
    body
}

/// What a perf consumer reads back from a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The run that sent it.
    pub run: u64,
    /// Its sequence number within its producer.
    pub seq: u64,
    /// When it was sent, in nanoseconds since the run's clock started.
    pub sent_ns: u64,
}

impl Stamp {
    /// Writes the stamp over the start of `body` (at least [`PERF_STAMP_BYTES`] long; a
    /// shorter body is left as it is).
    pub fn write(&self, body: &mut [u8]) {
        let Some(head) = body.get_mut(..PERF_STAMP_BYTES) else {
            return;
        };
        head[..4].copy_from_slice(&PERF_MAGIC);
        head[4..12].copy_from_slice(&self.run.to_be_bytes());
        head[12..20].copy_from_slice(&self.seq.to_be_bytes());
        head[20..28].copy_from_slice(&self.sent_ns.to_be_bytes());
    }

    /// The stamp at the start of `body`, if it carries one of run `run`.
    pub fn read(body: &[u8], run: u64) -> Option<Stamp> {
        let head = body.get(..PERF_STAMP_BYTES)?;
        if head[..4] != PERF_MAGIC {
            return None;
        }
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&head[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let stamp = Stamp {
            run: word(4),
            seq: word(12),
            sent_ns: word(20),
        };
        (stamp.run == run).then_some(stamp)
    }
}

/// A perf body of `size` bytes (at least [`PERF_STAMP_BYTES`]) whose stamp is written later.
pub fn perf_body(size: usize) -> Vec<u8> {
    let mut body = pattern(size.max(PERF_STAMP_BYTES));
    Stamp {
        run: 0,
        seq: 0,
        sent_ns: 0,
    }
    .write(&mut body);
    body
}

/// Bytes that are not all alike, so nothing between producer and consumer (compression,
/// deduplication) notices repeats.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 % 251) as u8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_padded_or_cut_to_the_size() {
        assert_eq!(labelled(1, 9, 10), b"1:9.......");
        assert_eq!(labelled(12, 123_456, 5), b"12:12");
        assert_eq!(labelled(0, 3, 0), b"0:3");
    }

    #[test]
    fn a_stamp_reads_back_only_in_its_own_run() {
        let mut body = perf_body(64);
        assert_eq!(body.len(), 64);
        let stamp = Stamp {
            run: 7,
            seq: 42,
            sent_ns: 1_234_567,
        };
        stamp.write(&mut body);
        assert_eq!(Stamp::read(&body, 7), Some(stamp));
        assert_eq!(Stamp::read(&body, 8), None);
        assert_eq!(Stamp::read(b"0:1.......", 7), None);
        assert_eq!(Stamp::read(&body[..PERF_STAMP_BYTES - 1], 7), None);
    }

    #[test]
    fn a_perf_body_is_never_smaller_than_its_stamp() {
        assert_eq!(perf_body(3).len(), PERF_STAMP_BYTES);
    }
}
