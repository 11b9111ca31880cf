//! Member ids: `<client-id>-<uuid-like>`, as Kafka makes them, so operators recognise whose
//! member is whose in `describe` output.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Hands out member ids. The counter makes ids unique within the process; the hasher's keys,
/// random per process, make them unique across restarts (a member id from before a restart
/// must not match a new member's), without a UUID crate.
#[derive(Debug)]
pub(crate) struct MemberIds {
    counter: u64,
    keys: RandomState,
}

impl MemberIds {
    pub(crate) fn new() -> MemberIds {
        MemberIds {
            counter: 0,
            keys: RandomState::new(),
        }
    }

    /// A fresh id for a member of `client_id`.
    pub(crate) fn next(&mut self, client_id: &str) -> String {
        self.counter = self.counter.wrapping_add(1);
        let high = self.hash(self.counter, 0x5a);
        let low = self.hash(self.counter, 0xa5);
        format!(
            "{client_id}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xffff,
            low >> 48,
            low & 0xffff_ffff_ffff,
        )
    }

    fn hash(&self, counter: u64, salt: u8) -> u64 {
        let mut hasher = self.keys.build_hasher();
        hasher.write_u8(salt);
        hasher.write_u64(counter);
        hasher.finish()
    }
}
