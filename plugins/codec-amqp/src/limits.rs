//! Every bound the codec keeps on one connection, in one place.
//!
//! Place in the flow: read by every other module. A peer controls how many frames, sessions,
//! links and deliveries it opens and how large its messages are; each of those is capped here
//! so that one connection cannot take the memory of the instance (and with it every other
//! connection the instance serves).

/// The largest frame we announce (`open.max-frame-size`) and accept, 1 MiB: a typical message
/// travels in one frame, and the one frame buffered per connection stays cheap. Clamped to the
/// host's `frame-bytes-max` and raised to [`MIN_MAX_FRAME_BYTES`].
pub const MAX_FRAME_BYTES: u32 = 1024 * 1024;

/// AMQP's MIN-MAX-FRAME-SIZE: every peer must accept frames this large, so we never announce
/// less, and treat a peer announcing less as announcing this.
pub const MIN_MAX_FRAME_BYTES: u32 = 512;

/// The highest channel we accept (`open.channel-max`): at most 256 sessions per connection.
pub const CHANNEL_MAX: u16 = 255;

/// The highest link handle we accept per session (`begin.handle-max`): 1024 links per session.
pub const HANDLE_MAX: u32 = 1023;

/// Links attached at once on one connection, all sessions together; an attach beyond it is
/// refused with `amqp:resource-limit-exceeded`.
pub const LINKS_MAX: usize = 4096;

/// Credit granted to each client sender link, topped back up once half of it is used: enough
/// in flight for a producer to stream, few enough that the deliveries we track stay bounded.
pub const LINK_CREDIT: u32 = 1000;

/// Transfer frames a client may send on a session before our next flow (`incoming-window`).
/// Renewed once half is used; the bound is what makes a window violation detectable.
pub const INCOMING_WINDOW: u32 = 65_536;

/// What we announce as our `outgoing-window`. Informational only (we send no more than the
/// peer's incoming window allows); `i32::MAX`, as brokers do, so no peer reads it as negative.
pub const OUTGOING_WINDOW: u32 = 2_147_483_647;

/// The largest message assembled from a multi-frame transfer, and also the most bytes being
/// assembled on one connection at once, all links together: 16 MiB (or the host's
/// `frame-bytes-max` when lower). Nothing larger could be stored (the host's `batch-bytes-max`
/// ceiling), and an instance's memory (`memory-bytes-max`, 256 MiB) is shared by up to 64
/// connections, so holding more would only risk the instance. Announced to client senders as
/// their link's `max-message-size`.
pub const MESSAGE_BYTES_MAX: u32 = 16 * 1024 * 1024;

/// Deliveries sent to clients and not settled by them yet, on one connection. At the bound we
/// stop taking messages from queues until clients settle some.
pub const UNSETTLED_OUT_MAX: usize = 10_000;

/// Client deliveries stored but not durable yet, on one connection, whose acceptance we hold.
/// Above it the connection pauses its input until durability catches up.
pub const AWAITING_DURABLE_MAX: usize = 10_000;

/// Bytes written in answer to one call before deliveries stop; the connection then pauses its
/// input and resumes (and delivers on) once the host has written them.
pub const WRITE_BYTES_MAX: usize = 1024 * 1024;

/// Messages one `queues.receive` may take.
pub const RECEIVE_BATCH_MAX: u32 = 256;

/// Waits armed at once; the host allows `waits-max` (64). Two of them are kept for the
/// heartbeat and the resume wait, so those can always be armed.
pub const WAITS_ARMED_MAX: usize = 32;

/// How long a durability wait lasts before it is armed again: acceptance is never given
/// early, the timeout only keeps a lost wake from stranding a delivery.
pub const DURABLE_WAIT_MS: u32 = 30_000;

/// How long a wait for messages lasts before the consumers it covers look again.
pub const CONSUMER_WAIT_MS: u32 = 30_000;

/// How long deliveries the host refused as `unavailable` (a router or filter plugin is
/// restarting) are held before they are sent again; the connection's input stays paused
/// meanwhile. Short, since the host restarts a plugin within its own backoff, and cheap: one
/// `queues.send` per holding link each time.
pub const RETRY_HELD_MS: u32 = 100;

/// The shortest interval between heartbeats, whatever idle timeout a peer asks for: a peer
/// cannot make the connection wake the host every millisecond.
pub const HEARTBEAT_MS_MIN: u32 = 100;

/// Nesting depth of an AMQP value (lists, maps, arrays, described types) we read: decoding
/// recurses, and a deeper value from a peer would exhaust the stack and trap the instance.
pub const NESTING_MAX: usize = 32;

/// Elements of one AMQP array we read. Elements of zero width (nulls, booleans) take no bytes,
/// so the frame size does not bound their count.
pub const ARRAY_ELEMENTS_MAX: usize = 65_536;
