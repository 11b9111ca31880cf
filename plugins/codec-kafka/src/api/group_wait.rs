//! What a parked JoinGroup and a parked SyncGroup share: both wait on their group's next
//! change and, when a wake finds their answer not ready, park again on the version the poll
//! answered, until a bound on wakes or a timed-out wake.

use sluice_sdk::codec::{GroupWatch, WakeOn};

use crate::job::{Park, Run};

/// Where a parked group request stands.
pub struct GroupWait {
    /// The group version to wait past: the host's latest answer.
    pub version: u64,
    /// Wakes that found the answer not ready yet, against the caller's bound.
    pub wakes: u16,
}

/// Rough bytes of a parked request's member identity, for `pending`'s bound: what a join and
/// a sync both hold besides their own protocols or assignments.
pub fn member_bytes(group: &str, member_id: &str, instance_id: Option<&str>) -> usize {
    group.len() + member_id.len() + instance_id.map_or(0, str::len)
}

impl GroupWait {
    /// A wait on `version` of the group, before any wake.
    pub fn at(version: u64) -> Self {
        Self { version, wakes: 0 }
    }

    /// A poll found the answer not ready as of `version`: the wait to park on again, or
    /// `None` to give up (the caller answers REBALANCE_IN_PROGRESS, on which the client joins
    /// again). A group that keeps changing without completing the rebalance uses up the
    /// wakes, so a request cannot be held forever (each park waits a whole timeout afresh;
    /// the codec has no clock).
    pub fn again(
        &mut self,
        group: &str,
        version: u64,
        run: Run,
        timeout_ms: u32,
        wakes_max: u16,
    ) -> Option<Park> {
        match run {
            Run::First => {}
            Run::Woken { timed_out: false } if self.wakes < wakes_max => {
                self.wakes = self.wakes.saturating_add(1);
            }
            Run::Woken { .. } => return None,
        }
        self.version = version;
        Some(self.park(group, timeout_ms))
    }

    /// The wait on `group` passing this version, for at most `timeout_ms` (at least 1).
    fn park(&self, group: &str, timeout_ms: u32) -> Park {
        Park {
            timeout_ms: timeout_ms.max(1),
            watch: Vec::new(),
            groups: vec![GroupWatch {
                group: group.to_owned(),
                version: self.version,
            }],
            wake_on: WakeOn::Any,
        }
    }
}
