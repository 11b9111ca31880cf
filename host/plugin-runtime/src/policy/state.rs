//! The state each router or filter instance's store carries: WASI granting nothing (the same
//! context as codecs', see `sandbox`), its memory limiter and its log. Unlike a codec's, it
//! holds no host: these worlds import only `log` and `clock`.
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::LogLevel;
use crate::bindings::sluice::plugin::{clock, log, types};
use crate::imports::PluginLog;
use crate::limits::MemoryLimiter;
use crate::stats::PluginStats;

/// Store data for one router or filter instance.
pub(crate) struct PolicyState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    log: PluginLog,
}

impl PolicyState {
    pub(crate) fn new(
        plugin_name: Arc<str>,
        memory_bytes_max: usize,
        stats: Arc<PluginStats>,
    ) -> Self {
        PolicyState {
            wasi: crate::sandbox::wasi_granting_nothing(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(memory_bytes_max, stats),
            log: PluginLog::new(plugin_name),
        }
    }
}

impl WasiView for PolicyState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for PolicyState {}

impl log::Host for PolicyState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log.write(level, message);
    }
}

impl clock::Host for PolicyState {
    fn now_ms(&mut self) -> i64 {
        crate::imports::now_ms()
    }
}
