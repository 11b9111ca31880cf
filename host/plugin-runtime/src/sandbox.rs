//! The state each plugin instance's store carries: its WASI context with nothing granted, its
//! memory limiter, its log budget and the host it may call.
//!
//! Architecture invariant: a plugin has no ambient authority. Its standard library may import
//! WASI, so WASI is linked, but with no preopened directories, no environment, no arguments, no
//! stdio (closed), no network (every socket address refused), and clocks frozen at the epoch.
//! Time reaches plugins only through the host's own imports.
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

use crate::host::SharedHost;
use crate::limits::MemoryLimiter;

/// Store data for one plugin instance.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) host: SharedHost,
    /// The connection whose call is running (its `connection-info.id`), for queue calls.
    pub(crate) connection: u64,
    pub(crate) plugin_name: Arc<str>,
    pub(crate) log_budget: LogBudget,
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
    pub(crate) fn new(host: SharedHost, plugin_name: Arc<str>, memory_bytes_max: usize) -> Self {
        let wasi = WasiCtx::builder()
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                memory_bytes_max,
                refused: false,
            },
            host,
            connection: 0,
            plugin_name,
            log_budget: LogBudget::new(),
            call_clock: CallClock::default(),
        }
    }
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

/// Log lines one instance may write per second; the rest are dropped (and counted in the next
/// line that gets through), so a chatty plugin cannot drown the broker's log.
const LOG_LINES_PER_SECOND_MAX: u32 = 100;

/// A per-second budget of log lines.
pub(crate) struct LogBudget {
    window_start: Instant,
    used: u32,
}

impl LogBudget {
    fn new() -> Self {
        LogBudget {
            window_start: Instant::now(),
            used: 0,
        }
    }

    /// True when one more line may be written now.
    pub(crate) fn take(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            if self.used > LOG_LINES_PER_SECOND_MAX {
                tracing::warn!(
                    dropped = self.used - LOG_LINES_PER_SECOND_MAX,
                    "plugin log lines dropped (rate limit)"
                );
            }
            self.window_start = now;
            self.used = 0;
        }
        self.used = self.used.saturating_add(1);
        self.used <= LOG_LINES_PER_SECOND_MAX
    }
}
