//! The host-facing error of the crate: what can go wrong with the offsets journal. Protocol
//! errors are [`GroupError`](crate::GroupError)s, answered to the member; these are the
//! broker's problem.

use std::path::{Path, PathBuf};

use crate::types::{GroupError, GroupErrorCode};

/// Why opening the coordinator, or a durable change outside any member's request, failed.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum GroupsError {
    /// A file operation on the offsets journal or its directory failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The journal holds something no crash leaves behind (a bad header, a record whose
    /// checksum holds but whose contents do not decode): damage, not a torn tail, so the
    /// coordinator refuses to start rather than silently lose offsets.
    #[error("offsets journal {path} is damaged: {reason}")]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Wraps an I/O error with the operation and path it came from.
pub(crate) fn io_error(
    op: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> GroupsError {
    let path = path.to_owned();
    move |source| GroupsError::Io { op, path, source }
}

/// The member-facing form of a journal failure.
pub(crate) fn storage_error(e: &GroupsError) -> GroupError {
    GroupError::new(GroupErrorCode::Storage, e.to_string())
}

pub(crate) fn err(code: GroupErrorCode, message: impl Into<String>) -> GroupError {
    GroupError::new(code, message)
}

pub(crate) fn unknown_member(group: &str, member_id: &str) -> GroupError {
    err(
        GroupErrorCode::UnknownMemberId,
        format!("member `{member_id}` is not in group `{group}`"),
    )
}

pub(crate) fn illegal_generation(group: &str, given: i32, current: i32) -> GroupError {
    err(
        GroupErrorCode::IllegalGeneration,
        format!("generation {given} is not group `{group}`'s current generation {current}"),
    )
}

pub(crate) fn rebalancing(group: &str) -> GroupError {
    err(
        GroupErrorCode::RebalanceInProgress,
        format!("group `{group}` is rebalancing: join again"),
    )
}

pub(crate) fn fenced(group: &str, member_id: &str) -> GroupError {
    err(
        GroupErrorCode::FencedInstanceId,
        format!(
            "member `{member_id}` of group `{group}` was replaced by a newer member with its instance id"
        ),
    )
}
