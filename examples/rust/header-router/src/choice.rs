//! The router's choices for one message, as pure functions of what the host passed in.

use sluice_filter_props::Props;
use sluice_sdk::router::{Header, kafka_partition};

/// The header read when `router-config` is empty.
pub const DEFAULT_HEADER: &str = "region";

/// The queue (or suffix after `.`) that takes what no header sends elsewhere.
pub const DEFAULT_QUEUE: &str = "default";

/// The header a configuration names: the text trimmed, or [`DEFAULT_HEADER`] when empty.
pub fn header_name(config: &str) -> &str {
    match config.trim() {
        "" => DEFAULT_HEADER,
        name => name,
    }
}

/// The value of property `name` of a message with `headers`, as text: an AMQP application
/// property (strings as they are, numbers in decimal, booleans), else a record header that is
/// UTF-8; `None` when there is neither, or it has no textual value.
pub fn value(headers: &[Header], name: &str) -> Option<String> {
    Props::new(headers)
        .get(name)
        .and_then(|found| found.value.render().map(|text| text.into_owned()))
}

/// The index in `queues` (the address's anycast queues, by name) of the queue a message goes
/// to, given its header value; `None` when the address has no queue the send may reach.
pub fn queue(queues: &[&str], value: Option<&str>, turn: u64) -> Option<usize> {
    let by_header = value
        .filter(|v| !v.is_empty())
        .and_then(|v| named(queues, v));
    by_header
        .or_else(|| named(queues, DEFAULT_QUEUE))
        .or_else(|| rotate(turn, queues.len()))
}

/// The queue named `name`, else the first whose name ends in `.name`.
fn named(queues: &[&str], name: &str) -> Option<usize> {
    queues.iter().position(|q| *q == name).or_else(|| {
        queues
            .iter()
            .position(|q| q.strip_suffix(name).is_some_and(|rest| rest.ends_with('.')))
    })
}

/// The log partition of a message among `partitions` (0: the send does not reach the log):
/// murmur2 of the header value (its UTF-8) if present, else of the key, else the rotation.
pub fn partition(
    partitions: u32,
    value: Option<&[u8]>,
    key: Option<&[u8]>,
    turn: u64,
) -> Option<u32> {
    if partitions == 0 {
        return None;
    }
    Some(match value.or(key) {
        Some(bytes) => kafka_partition(bytes, partitions),
        // Below `partitions`, a u32.
        None => (turn % u64::from(partitions)) as u32,
    })
}

/// The position `turn` lands on among `count` choices; `None` when there are none.
fn rotate(turn: u64, count: usize) -> Option<usize> {
    let count = u64::try_from(count).ok().filter(|&c| c > 0)?;
    usize::try_from(turn % count).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_name_wins_over_a_suffix() {
        assert_eq!(queue(&["x.eu", "eu"], Some("eu"), 0), Some(1));
        assert_eq!(queue(&["x.eu", "y.eu"], Some("eu"), 0), Some(0));
    }

    #[test]
    fn a_suffix_must_follow_a_dot() {
        // `reu` does not end in `.eu`: the default queue takes it.
        assert_eq!(queue(&["reu", "default"], Some("eu"), 0), Some(1));
    }

    #[test]
    fn without_a_match_or_a_default_the_queues_take_turns() {
        let queues = ["a", "b", "c"];
        let got: Vec<_> = (5..9).map(|turn| queue(&queues, None, turn)).collect();
        assert_eq!(got, [Some(2), Some(0), Some(1), Some(2)]);
        assert_eq!(queue(&[], Some("eu"), 3), None);
    }

    #[test]
    fn an_empty_value_names_no_queue() {
        assert_eq!(queue(&["", "q.default"], Some(""), 0), Some(1));
    }

    fn header(key: &str, value: &[u8]) -> Header {
        Header {
            key: key.to_owned(),
            value: Some(value.to_vec()),
        }
    }

    #[test]
    fn a_record_header_is_read_as_utf8_text_or_not_at_all() {
        let headers = [header("region", b"eu"), header("bad", b"\xff")];
        assert_eq!(value(&headers, "region").as_deref(), Some("eu"));
        assert_eq!(value(&headers, "bad"), None);
        assert_eq!(value(&headers, "absent"), None);
    }

    #[test]
    fn the_partition_hashes_the_header_then_the_key_then_rotates() {
        assert_eq!(partition(0, Some(b"eu"), None, 0), None);
        assert_eq!(
            partition(6, Some(b"eu"), Some(b"k"), 0),
            Some(kafka_partition(b"eu", 6))
        );
        assert_eq!(
            partition(6, None, Some(b"k"), 0),
            Some(kafka_partition(b"k", 6))
        );
        assert_eq!(partition(6, None, None, 14), Some(2));
    }

    #[test]
    fn an_empty_configuration_reads_the_region_header() {
        assert_eq!(header_name("  "), "region");
        assert_eq!(header_name("tenant"), "tenant");
    }
}
