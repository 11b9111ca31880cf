//! The limits every plugin instance runs under, and the memory limiter that enforces the cap.
use std::time::Duration;

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

/// Enforces [`Limits::memory_bytes_max`] and remembers that it refused, so a trap that follows
/// can be reported as memory exhaustion rather than as a plain trap.
pub(crate) struct MemoryLimiter {
    pub(crate) memory_bytes_max: usize,
    pub(crate) refused: bool,
}

/// Tables hold function references; 100k entries is far beyond any real plugin.
const TABLE_ELEMENTS_MAX: usize = 100_000;
/// A component instantiates a handful of core instances (guest, adapters); 64 is generous.
const CORE_INSTANCES_MAX: usize = 64;

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes_max {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
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
