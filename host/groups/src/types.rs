//! The plain Rust mirror of `wit/groups.wit`, one type per WIT type, so the plugin runtime
//! converts field by field and nothing here depends on the bindings.

/// A group's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members (it may still hold committed offsets).
    Empty,
    /// Waiting for members to join.
    PreparingRebalance,
    /// Waiting for the leader's assignments.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// No such group (what describing an unknown group answers).
    Dead,
}

/// Why a group operation failed; each maps onto one Kafka error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupErrorCode {
    /// Bad group id (empty, or too long).
    InvalidGroupId,
    /// No such group.
    GroupIdNotFound,
    /// The member id is not in the group (it left, expired, or never joined).
    UnknownMemberId,
    /// The generation given is not the group's current one.
    IllegalGeneration,
    /// A rebalance is under way: the member must join again.
    RebalanceInProgress,
    /// Session timeout outside the host's bounds.
    InvalidSessionTimeout,
    /// The protocol type does not match the group's, or the protocols share none.
    InconsistentGroupProtocol,
    /// The group holds as many members as allowed.
    GroupMaxSizeReached,
    /// Another member holds this static instance id now.
    FencedInstanceId,
    /// The group has members, so it cannot be deleted.
    NonEmptyGroup,
    /// The topic or partition of an offset does not exist.
    UnknownTopicOrPartition,
    /// The offset metadata is too long.
    OffsetMetadataTooLarge,
    /// The host holds as many groups, or offsets, as its limits allow.
    LimitReached,
    /// The offsets journal could not be written. Retrying may help.
    Storage,
}

impl GroupErrorCode {
    /// The WIT spelling, for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupErrorCode::InvalidGroupId => "invalid-group-id",
            GroupErrorCode::GroupIdNotFound => "group-id-not-found",
            GroupErrorCode::UnknownMemberId => "unknown-member-id",
            GroupErrorCode::IllegalGeneration => "illegal-generation",
            GroupErrorCode::RebalanceInProgress => "rebalance-in-progress",
            GroupErrorCode::InvalidSessionTimeout => "invalid-session-timeout",
            GroupErrorCode::InconsistentGroupProtocol => "inconsistent-group-protocol",
            GroupErrorCode::GroupMaxSizeReached => "group-max-size-reached",
            GroupErrorCode::FencedInstanceId => "fenced-instance-id",
            GroupErrorCode::NonEmptyGroup => "non-empty-group",
            GroupErrorCode::UnknownTopicOrPartition => "unknown-topic-or-partition",
            GroupErrorCode::OffsetMetadataTooLarge => "offset-metadata-too-large",
            GroupErrorCode::LimitReached => "limit-reached",
            GroupErrorCode::Storage => "storage",
        }
    }
}

/// A refused group operation: the code a codec maps onto its protocol, and a message for
/// humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupError {
    /// What went wrong, in protocol terms.
    pub code: GroupErrorCode,
    /// Detail for logs and error messages.
    pub message: String,
}

impl GroupError {
    /// An error of `code`.
    pub fn new(code: GroupErrorCode, message: impl Into<String>) -> GroupError {
        GroupError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for GroupError {}

/// One protocol a member can speak (a Kafka partition assignor), with its opaque metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// The assignor's name.
    pub name: String,
    /// Opaque to the host.
    pub metadata: Vec<u8>,
}

/// A member asking to join a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    /// The group.
    pub group: String,
    /// Empty for a member joining for the first time; the host then assigns one.
    pub member_id: String,
    /// Static membership (Kafka's `group.instance.id`).
    pub instance_id: Option<String>,
    /// The client's own name, the prefix of a generated member id.
    pub client_id: String,
    /// The member's address, as the codec saw it.
    pub client_host: String,
    /// How long the member may go without a heartbeat.
    pub session_timeout_ms: u32,
    /// How long the member may take to join again once a rebalance starts.
    pub rebalance_timeout_ms: u32,
    /// What the group is for, e.g. `consumer`; every member must agree.
    pub protocol_type: String,
    /// In the member's order of preference.
    pub protocols: Vec<Protocol>,
    /// KIP-394: a new dynamic member first gets its id, and must join again with it.
    pub require_known_member_id: bool,
}

/// A member as the leader sees it in a join result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberMetadata {
    /// The member.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// The member's metadata for the chosen protocol.
    pub metadata: Vec<u8>,
}

/// A completed join: the member is in the new generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinResult {
    /// The generation the member is in.
    pub generation: i32,
    /// The group's protocol type.
    pub protocol_type: String,
    /// The protocol every member supports that most members prefer.
    pub protocol_name: String,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// Every member with its metadata, for the leader only; empty for the others.
    pub members: Vec<MemberMetadata>,
}

/// What a join answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Joined; the rebalance completes later. Wait past `version`, then `join_poll` as
    /// `member_id` (the id the host gave a new member).
    Waiting {
        /// The member's id.
        member_id: String,
        /// The group's version when it answered.
        version: u64,
    },
    /// The rebalance completed (or none was needed).
    Joined(JoinResult),
    /// KIP-394: join again with this member id.
    MemberIdRequired(String),
}

/// A member handing in (leader) or asking for its assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// The group.
    pub group: String,
    /// The member.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// The generation the member joined.
    pub generation: i32,
    /// From the leader: (member id, assignment) for each member. Empty from the others.
    pub assignments: Vec<(String, Vec<u8>)>,
}

/// What a sync answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The leader has not handed in the assignments yet. Wait past this version, then
    /// `sync_poll`.
    Waiting(u64),
    /// This member's assignment (empty when the leader gave it none).
    Assigned(Vec<u8>),
}

/// Which member: by member id, or (static members) by instance id with the member id empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberIdentity {
    /// The member id; may be empty when `instance_id` is set.
    pub member_id: String,
    /// The static instance id.
    pub instance_id: Option<String>,
}

/// A line of the group list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOverview {
    /// The group id.
    pub group: String,
    /// Its protocol type; empty when none was ever set.
    pub protocol_type: String,
    /// Its state.
    pub state: GroupState,
}

/// A member as `describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// The client's name.
    pub client_id: String,
    /// The client's address.
    pub client_host: String,
    /// Metadata for the group's chosen protocol.
    pub metadata: Vec<u8>,
    /// What the leader assigned it in the current generation.
    pub assignment: Vec<u8>,
}

/// One group, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group: String,
    /// Its state.
    pub state: GroupState,
    /// Its protocol type.
    pub protocol_type: String,
    /// The chosen protocol; empty unless a generation is open.
    pub protocol_name: String,
    /// The current generation.
    pub generation: i32,
    /// The leader's member id; empty when there is none.
    pub leader: String,
    /// Its members.
    pub members: Vec<MemberDescription>,
}

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition index.
    pub partition: u32,
}

/// A committed position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    /// The topic.
    pub topic: String,
    /// The partition index.
    pub partition: u32,
    /// The next offset the group will read. -1 in `fetch_offsets` answers means none.
    pub offset: i64,
    /// The leader epoch of the last record read; -1 when unknown.
    pub leader_epoch: i32,
    /// Opaque text the client stored with the offset.
    pub metadata: Option<String>,
}

/// A commit's author: a member of the current generation, or, with `generation` -1 and an
/// empty `member_id`, a client outside any generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitAuthor {
    /// The member; empty for a client outside any generation.
    pub member_id: String,
    /// Its static instance id.
    pub instance_id: Option<String>,
    /// The generation it is in; -1 outside any.
    pub generation: i32,
}
