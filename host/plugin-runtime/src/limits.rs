//! The limits every plugin instance runs under, and the memory limiter that enforces the cap.
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::engine::EPOCH_TICK;
use crate::stats::PluginStats;

/// Limits for one loaded plugin. Every one is on by default; see [`Limits::default`].
#[derive(Clone, Debug)]
pub struct Limits {
    /// Linear memory an instance may grow to. A `memory.grow` beyond it fails, which a Rust
    /// guest turns into an abort (a trap); the instance is then discarded as out of memory.
    pub memory_bytes_max: usize,
    /// Wall time one call into a plugin may take before it is interrupted (epoch interruption).
    pub call_deadline: Duration,
    /// Connections one codec instance serves before another instance is started. Higher is
    /// lighter (one instance's memory shared by more connections); lower contains a trap to
    /// fewer connections.
    pub connections_per_instance: usize,
}

/// 256 MiB: room for a codec holding a few maximum-size (100 MiB) Kafka frames would be more
/// than any sane deployment needs per instance; a runaway guest is stopped well before it can
/// hurt the host.
pub const MEMORY_BYTES_MAX_DEFAULT: usize = 256 << 20;
/// 1 s: a codec call does microseconds of work; a second is a loop, not a slow call.
pub const CALL_DEADLINE_DEFAULT: Duration = Duration::from_secs(1);
/// 100 ms: the call deadline the broker gives routers and filters unless configured otherwise.
/// They run inside a send or a delivery, once per batch, doing microseconds of work per message:
/// a tenth of a second is a plugin that is stuck, and a send should not wait longer for it.
pub const POLICY_CALL_DEADLINE_DEFAULT: Duration = Duration::from_millis(100);
/// 64 connections per instance: a trap costs at most 64 connections, and an idle connection
/// pays a 64th of an instance's baseline memory.
pub const CONNECTIONS_PER_INSTANCE_DEFAULT: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes_max: MEMORY_BYTES_MAX_DEFAULT,
            call_deadline: CALL_DEADLINE_DEFAULT,
            connections_per_instance: CONNECTIONS_PER_INSTANCE_DEFAULT,
        }
    }
}

/// Epoch ticks for one call: the deadline rounded up, plus one because the first tick may come
/// at any moment after the call starts (so never less than the deadline, and at least 1).
pub(crate) fn deadline_ticks(call_deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_millis().max(1);
    u64::try_from(call_deadline.as_millis().div_ceil(tick))
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// Enforces [`Limits::memory_bytes_max`] and remembers that it refused, so a trap that follows
/// can be reported as memory exhaustion rather than as a plain trap. It also keeps the plugin's
/// memory gauge: what it grants is added, and all of it is taken back when the instance's store
/// (which owns the limiter) is dropped.
pub(crate) struct MemoryLimiter {
    memory_bytes_max: usize,
    pub(crate) refused: bool,
    /// Bytes granted to this instance's memories so far.
    held: usize,
    /// The last grant, taken back if the growth it allowed then fails.
    last_grown: usize,
    stats: Arc<PluginStats>,
}

impl MemoryLimiter {
    pub(crate) fn new(memory_bytes_max: usize, stats: Arc<PluginStats>) -> Self {
        MemoryLimiter {
            memory_bytes_max,
            refused: false,
            held: 0,
            last_grown: 0,
            stats,
        }
    }
}

impl Drop for MemoryLimiter {
    fn drop(&mut self) {
        let held = u64::try_from(self.held).unwrap_or(u64::MAX);
        self.stats.memory_bytes.fetch_sub(held, Ordering::Relaxed);
    }
}

/// Tables hold function references; 100k entries is far beyond any real plugin.
const TABLE_ELEMENTS_MAX: usize = 100_000;
/// A component instantiates a handful of core instances (guest, adapters); 64 is generous.
const CORE_INSTANCES_MAX: usize = 64;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            self.refused = true;
            return Ok(false);
        }
        // Called for a memory's initial size too (from 0), so `held` is the whole footprint.
        let grown = desired.saturating_sub(current);
        self.held = self.held.saturating_add(grown);
        self.last_grown = grown;
        PluginStats::add(&self.stats.memory_bytes, grown);
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        let grown = std::mem::take(&mut self.last_grown);
        self.held = self.held.saturating_sub(grown);
        let grown = u64::try_from(grown).unwrap_or(u64::MAX);
        self.stats.memory_bytes.fetch_sub(grown, Ordering::Relaxed);
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_MAX)
    }

    fn instances(&self) -> usize {
        CORE_INSTANCES_MAX
    }

    fn memories(&self) -> usize {
        CORE_INSTANCES_MAX
    }

    fn tables(&self) -> usize {
        CORE_INSTANCES_MAX
    }
}
