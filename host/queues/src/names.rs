//! Names: what an address or queue may be called, `address::queue`, and the names this crate
//! gives the storage topics and cursors behind them.
//!
//! Every internal name starts with `__sluice.`, a prefix no address may take, so a client can
//! never send to a queue's log or read a cursor by naming it.

use crate::QueuesError;

/// Artemis accepts longer names, but an address is often a Kafka topic name too (249 bytes at
/// most there) and appears in every stored message that is dead-lettered; 255 bytes is the
/// file-name limit most tools assume for such identifiers.
pub const ADDRESS_BYTES_MAX: usize = 255;

/// Separates the address from the queue in a fully qualified queue name.
pub const FQQN_SEPARATOR: &str = "::";

/// Prefix of every topic and cursor the model creates; reserved, and hidden from Kafka
/// clients by the broker.
pub const INTERNAL_PREFIX: &str = "__sluice.";

/// Names of the temporary addresses made for dynamic consumers.
const TEMPORARY_ADDRESS_PREFIX: &str = "sluice.temp.";
/// Names of the temporary subscription queues made for consumers naming none.
const TEMPORARY_SUBSCRIPTION_PREFIX: &str = "sluice.sub.";

/// What a send or a consumer names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// An address.
    Address(&'a str),
    /// One queue of an address.
    Queue {
        /// The address.
        address: &'a str,
        /// The queue.
        queue: &'a str,
    },
}

impl Target<'_> {
    /// The address named.
    pub fn address(&self) -> &str {
        match self {
            Target::Address(address) | Target::Queue { address, .. } => address,
        }
    }
}

/// Splits `address` or `address::queue` and checks both parts.
pub fn parse_target(name: &str) -> Result<Target<'_>, QueuesError> {
    match name.split_once(FQQN_SEPARATOR) {
        None => {
            validate(name)?;
            Ok(Target::Address(name))
        }
        Some((address, queue)) => {
            validate(address)?;
            validate(queue)?;
            Ok(Target::Queue { address, queue })
        }
    }
}

/// Checks an address or queue name: 1..=255 bytes of UTF-8, no `::`, not internal.
pub fn validate(name: &str) -> Result<(), QueuesError> {
    let invalid = |why: &str| Err(QueuesError::InvalidAddress(format!("`{name}`: {why}")));
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > ADDRESS_BYTES_MAX {
        return invalid("longer than 255 bytes");
    }
    if name.contains(FQQN_SEPARATOR) {
        return invalid("`::` separates an address from a queue");
    }
    if name.starts_with(INTERNAL_PREFIX) {
        return invalid("names starting with `__sluice.` are reserved");
    }
    Ok(())
}

/// The log of anycast queue `id`; also the name of its cursor.
pub fn anycast_log(id: u64) -> String {
    format!("{INTERNAL_PREFIX}q.{id}")
}

/// The log of multicast address `id` when its name is no valid topic name.
pub fn address_log(id: u64) -> String {
    format!("{INTERNAL_PREFIX}a.{id}")
}

/// The cursor of subscription queue `id` over partition `partition` of its address's log.
pub fn subscription_cursor(id: u64, partition: u32) -> String {
    format!("{INTERNAL_PREFIX}s.{id}.{partition}")
}

/// A dynamic consumer's address (and queue).
pub fn temporary_address(id: u64) -> String {
    format!("{TEMPORARY_ADDRESS_PREFIX}{id}")
}

/// A temporary subscription queue's name.
pub fn temporary_subscription(id: u64) -> String {
    format!("{TEMPORARY_SUBSCRIPTION_PREFIX}{id}")
}

/// What an internal topic or cursor name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Internal {
    /// `__sluice.q.<id>`: an anycast queue's log and cursor.
    AnycastQueue(u64),
    /// `__sluice.a.<id>`: a multicast address's log.
    AddressLog(u64),
    /// `__sluice.s.<id>.<partition>`: a subscription's cursor.
    Subscription(u64),
}

impl Internal {
    /// The queue or address id the name carries.
    pub fn id(self) -> u64 {
        match self {
            Internal::AnycastQueue(id) | Internal::AddressLog(id) | Internal::Subscription(id) => {
                id
            }
        }
    }
}

/// Reads an internal name back; `None` for anything else.
pub fn parse_internal(name: &str) -> Option<Internal> {
    let rest = name.strip_prefix(INTERNAL_PREFIX)?;
    let (kind, rest) = rest.split_once('.')?;
    match kind {
        "q" => rest.parse().ok().map(Internal::AnycastQueue),
        "a" => rest.parse().ok().map(Internal::AddressLog),
        "s" => {
            let (id, partition) = rest.split_once('.')?;
            partition.parse::<u32>().ok()?;
            id.parse().ok().map(Internal::Subscription)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fully_qualified_names_split_at_the_first_separator() {
        assert_eq!(parse_target("orders").unwrap(), Target::Address("orders"));
        assert_eq!(
            parse_target("orders::eu").unwrap(),
            Target::Queue {
                address: "orders",
                queue: "eu"
            }
        );
        for bad in [
            "",
            "::q",
            "a::",
            "a::b::c",
            "__sluice.q.1",
            &"x".repeat(256),
        ] {
            assert!(
                matches!(parse_target(bad), Err(QueuesError::InvalidAddress(_))),
                "{bad:?}"
            );
        }
        assert!(parse_target("a/b c é:x").is_ok());
    }

    #[test]
    fn internal_names_read_back() {
        assert_eq!(
            parse_internal(&anycast_log(7)),
            Some(Internal::AnycastQueue(7))
        );
        assert_eq!(
            parse_internal(&address_log(8)),
            Some(Internal::AddressLog(8))
        );
        assert_eq!(
            parse_internal(&subscription_cursor(9, 3)),
            Some(Internal::Subscription(9))
        );
        for other in [
            "orders",
            "__sluice.x.1",
            "__sluice.q.x",
            "__sluice.s.1",
            "registry.toml",
        ] {
            assert_eq!(parse_internal(other), None, "{other}");
        }
    }
}
