//! Every bound the codec keeps on one connection, in one place. A peer chooses how long its
//! lines are, how many subscriptions it opens, how fast it pipelines and how slowly it
//! acknowledges; each of those is capped here so that one connection cannot take the memory
//! of the instance, which it shares with every other connection the instance serves.

/// The longest line accepted, without its line end: 64 KiB (or the listener's
/// `frame-bytes-max` when lower). A person types far less; a script sending larger bodies
/// should use Kafka or AMQP. A longer line is answered `ERR line too long` and the connection
/// closes, since the rest of it cannot be told from the next command.
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// Messages handed to one subscription and not yet acknowledged (`ACK`/`NACK`), the
/// subscription's prefetch: enough to stream, few enough that a client that stops reading
/// holds few messages away from other consumers of the queue.
pub const IN_FLIGHT_MAX: usize = 64;

/// Subscriptions open at once on one connection.
pub const SUBSCRIPTIONS_MAX: usize = 16;

/// Replies owed and not yet written (those behind a `PUB` whose message is not durable yet).
/// At the bound the connection stops reading commands until durability catches up, so a
/// client pipelining faster than the disk is pushed back by TCP.
pub const REPLIES_OWED_MAX: usize = 256;

/// Bytes of `MSG` lines written in answer to one call. Past it deliveries stop and go on once
/// the host has written them (a wait with no timeout), so a large backlog goes out in slices.
pub const WRITE_BYTES_MAX: usize = 256 * 1024;

/// Failed `AUTH` attempts before the connection is closed.
pub const AUTH_FAILURES_MAX: u32 = 3;

/// Durability waits armed at once; `PUB`s that find none free wait for the next to fire. With
/// one wait per subscription at most and one to resume output, a connection stays far below
/// the host's `waits-max` (64).
pub const DURABLE_WAITS_MAX: usize = 8;

/// How long a durability wait lasts before it is armed again: `OK` is never given early, the
/// timeout only keeps a lost wake from stranding a reply.
pub const DURABLE_WAIT_MS: u32 = 30_000;

/// How long a wait for messages lasts before the subscriptions it covers look again.
pub const CONSUMER_WAIT_MS: u32 = 30_000;
