//! Lines from the peer: the bytes `on_data` is handed, cut into commands at each `\n` (a
//! `\r` before it is dropped, so `nc` and `telnet` both work).
//!
//! Place in the flow: first stop for the peer's bytes. The host cuts the stream anywhere, so a
//! line may arrive a byte at a time; [`Lines`] keeps the partial one. A line longer than the
//! limit is refused as soon as it is known to be, before more of it is kept.

/// A line longer than the limit.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLong;

/// The bytes received and not yet taken as lines.
pub struct Lines {
    buf: Vec<u8>,
    /// Where the next line starts in `buf`; the bytes before it were taken.
    start: usize,
    /// Bytes after `start` already searched for `\n` in vain: a line arriving byte by byte is
    /// searched once, not once per byte.
    scanned: usize,
    /// The longest line accepted, line end excluded.
    limit: usize,
}

impl Lines {
    /// No bytes yet; lines up to `limit` bytes.
    pub fn new(limit: usize) -> Lines {
        Lines {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            limit,
        }
    }

    /// Appends the next chunk from the peer.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole line without its line end; `None` until one is complete; `TooLong`
    /// once the line being read is known to exceed the limit.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, TooLong>> {
        let pending = self.buf.get(self.start..).unwrap_or_default();
        let searched = self.scanned.min(pending.len());
        let found = pending
            .get(searched..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
            .map(|at| searched + at);
        let Some(end) = found else {
            self.scanned = pending.len();
            // A trailing `\r` may be the start of the line end.
            let content = pending.len() - usize::from(pending.last() == Some(&b'\r'));
            return (content > self.limit).then_some(Err(TooLong));
        };
        let mut line = pending.get(..end).unwrap_or_default();
        if let Some(without) = line.strip_suffix(b"\r") {
            line = without;
        }
        let result = if line.len() > self.limit {
            Err(TooLong)
        } else {
            Ok(line.to_vec())
        };
        self.start += end + 1;
        self.scanned = 0;
        Some(result)
    }

    /// Frees what was taken; called once per call, so taking many lines costs one move.
    pub fn compact(&mut self) {
        self.buf.drain(..self.start.min(self.buf.len()));
        self.start = 0;
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// Drops everything (the connection is closing).
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(lines: &mut Lines) -> Vec<Result<Vec<u8>, TooLong>> {
        std::iter::from_fn(|| lines.next_line()).collect()
    }

    #[test]
    fn lf_and_crlf_both_end_a_line() {
        let mut lines = Lines::new(100);
        lines.push(b"PING\r\nPING x\n\nrest");
        assert_eq!(
            all(&mut lines),
            [Ok(b"PING".to_vec()), Ok(b"PING x".to_vec()), Ok(Vec::new())]
        );
        lines.compact();
        lines.push(b"\n");
        assert_eq!(all(&mut lines), [Ok(b"rest".to_vec())]);
    }

    #[test]
    fn a_line_fed_a_byte_at_a_time_comes_out_whole() {
        let mut lines = Lines::new(100);
        for b in b"PUB a hello\r" {
            lines.push(&[*b]);
            assert_eq!(lines.next_line(), None);
        }
        lines.push(b"\n");
        assert_eq!(lines.next_line(), Some(Ok(b"PUB a hello".to_vec())));
    }

    #[test]
    fn a_line_at_the_limit_passes_and_one_byte_more_does_not() {
        let mut lines = Lines::new(4);
        lines.push(b"abcd\r\nabcde\n");
        assert_eq!(lines.next_line(), Some(Ok(b"abcd".to_vec())));
        assert_eq!(lines.next_line(), Some(Err(TooLong)));
    }

    #[test]
    fn an_unfinished_line_is_refused_as_soon_as_it_is_too_long() {
        let mut lines = Lines::new(4);
        lines.push(b"abcd\r");
        assert_eq!(lines.next_line(), None, "the \\r may start the line end");
        lines.push(b"x");
        assert_eq!(lines.next_line(), Some(Err(TooLong)));
    }

    #[test]
    fn compacting_keeps_the_partial_line() {
        let mut lines = Lines::new(100);
        lines.push(b"one\ntw");
        assert_eq!(lines.next_line(), Some(Ok(b"one".to_vec())));
        assert_eq!(lines.next_line(), None);
        lines.compact();
        lines.push(b"o\n");
        assert_eq!(lines.next_line(), Some(Ok(b"two".to_vec())));
    }
}
