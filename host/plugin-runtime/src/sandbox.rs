//! The state each codec instance's store carries: its WASI context with nothing granted, its
//! memory limiter, its log and the host it may call. The WASI context is every plugin kind's.
//!
//! Architecture invariant: a plugin has no ambient authority. Its standard library may import
//! WASI, so WASI is linked, but with no preopened directories, no environment, no arguments, no
//! stdio (closed), no network (every socket address refused), and clocks frozen at the epoch.
//! Time reaches plugins only through the host's own imports.
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::host::SharedHost;
use crate::imports::PluginLog;
use crate::limits::MemoryLimiter;
use crate::stats::PluginStats;

/// Store data for one plugin instance.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) host: SharedHost,
    /// The connection whose call is running (its `connection-info.id`), for queue calls.
    pub(crate) connection: u64,
    pub(crate) log: PluginLog,
    pub(crate) call_clock: CallClock,
}

/// Epoch ticks the current call has run for, against the ticks it is allowed. Every tick the
/// guest yields to the async runtime, so a spinning guest holds a runtime thread for at most one
/// tick at a time, and is interrupted when its allowance runs out.
#[derive(Default)]
pub(crate) struct CallClock {
    pub(crate) ticks_used: u64,
    pub(crate) ticks_allowed: u64,
}

impl StoreState {
    pub(crate) fn new(
        host: SharedHost,
        plugin_name: Arc<str>,
        memory_bytes_max: usize,
        stats: Arc<PluginStats>,
    ) -> Self {
        StoreState {
            wasi: wasi_granting_nothing(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes_max, stats),
            host,
            connection: 0,
            log: PluginLog::new(plugin_name),
            call_clock: CallClock::default(),
        }
    }
}

/// A WASI context that grants nothing: no preopened directories, environment or arguments,
/// stdin closed and stdout and stderr discarding what they get, every socket refused, clocks
/// frozen at the epoch. Every kind of plugin gets this one.
pub(crate) fn wasi_granting_nothing() -> WasiCtx {
    WasiCtx::builder()
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A clock that always reads zero: plugins that ask WASI for the time learn nothing.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}
