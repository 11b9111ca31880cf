//! The coordinator's bounds. Every one defaults to Kafka's setting of the same purpose where
//! Kafka has one, so a Kafka client meets the limits it was tuned against.

/// Bounds on what clients may ask of the coordinator: every group, member and committed offset
/// costs memory (and offsets also cost journal space), so each has a ceiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLimits {
    /// Shortest session a member may ask for: shorter ones make members expire on an ordinary
    /// GC pause and keep the group rebalancing. Kafka's `group.min.session.timeout.ms`.
    pub session_timeout_min_ms: u32,
    /// Longest session: a crashed member holds its partitions this long before the group
    /// notices. Kafka's `group.max.session.timeout.ms`.
    pub session_timeout_max_ms: u32,
    /// How long an empty group's first rebalance waits for more members, so a fleet starting
    /// together gets one rebalance rather than one per member. Kafka's
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: u32,
    /// Members per group: the leader receives every member's metadata in one join result, and
    /// one runaway client must not grow a group without bound. Kafka's `group.max.size`.
    pub members_max: usize,
    /// Groups in all, including groups that only hold committed offsets.
    pub groups_max: usize,
    /// Committed offsets in all, across every group; each costs memory and journal space.
    pub offsets_max: usize,
    /// Bytes of client metadata stored with one offset. Kafka's `offset.metadata.max.bytes`.
    pub offset_metadata_bytes_max: usize,
    /// Bytes in a group id: ids are map keys and travel in every journal record. Kafka's
    /// protocol allows more, but no real client uses ids this long.
    pub group_id_bytes_max: usize,
}

impl Default for GroupLimits {
    fn default() -> Self {
        GroupLimits {
            session_timeout_min_ms: 6_000,
            session_timeout_max_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            members_max: 1_000,
            groups_max: 100_000,
            offsets_max: 1_000_000,
            offset_metadata_bytes_max: 4_096,
            group_id_bytes_max: 255,
        }
    }
}
