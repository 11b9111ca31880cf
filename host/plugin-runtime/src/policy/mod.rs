//! Routers and filters: policy plugins the broker calls synchronously, once per batch of
//! messages, from whatever thread is sending or delivering them (a runtime worker, a codec's
//! host import running on that codec's fiber, a plain thread).
//!
//! So their calls are plain synchronous calls on a second engine (see `engine`), bounded by an
//! epoch deadline that traps: nothing is awaited, and no WASI operation may wait (see `wasi`).
//! Each plugin keeps a small pool of instances (`pool`), a failure policy (`health`: restart with
//! backoff) and its figures (`stats`). [`router`] and [`filter`] check what the plugin answered.
//!
//! Architecture invariant: as for codecs, calls on one instance never overlap and a failed
//! instance is never called again: its store is dropped at the failing call.
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store};

use crate::bindings::PluginInfo;
use crate::error::{CallError, FailureCause, LoadError, one_line};
use crate::limits::{Limits, deadline_ticks};
use crate::stats::{PluginStats, StatsSnapshot};

pub(crate) mod filter;
mod health;
mod pool;
pub(crate) mod router;
mod state;
mod wasi;
mod wasi_sockets;

pub use health::{RESTART_BACKOFF_FIRST, RESTART_BACKOFF_MAX};
pub use pool::POOL_INSTANCES_MAX;

use health::Health;
use pool::{Live, Pool, Slot};
use state::PolicyState;

/// What differs between the policy worlds: their name, their bindings, and `info`.
pub(crate) trait World: Sized + Send + 'static {
    /// The generated `*Pre` type, which checks a component exports the world's interface.
    type Pre: Send + Sync + 'static;
    /// The world, as named in errors (`sluice:plugin/router@0.5.0`).
    const NAME: &'static str;
    fn link(linker: &mut Linker<PolicyState>) -> wasmtime::Result<()>;
    fn pre(instance: InstancePre<PolicyState>) -> wasmtime::Result<Self::Pre>;
    fn instantiate(pre: &Self::Pre, store: &mut Store<PolicyState>) -> wasmtime::Result<Self>;
    fn info(&self, store: &mut Store<PolicyState>) -> wasmtime::Result<PluginInfo>;
}

/// A loaded router or filter: what [`router::RouterPlugin`] and [`filter::FilterPlugin`] share.
pub(crate) struct Policy<W: World> {
    label: String,
    info: PluginInfo,
    sha256: String,
    engine: Engine,
    pre: W::Pre,
    limits: Limits,
    pool: Pool<W>,
    health: Health,
    stats: Arc<PluginStats>,
}

impl<W: World> Policy<W> {
    /// Checks `component` implements `W` (exporting its interface and importing nothing the
    /// host does not offer) and starts one instance to ask it what it is. Synchronous: the
    /// caller runs it on a blocking thread.
    pub(crate) fn load(
        engine: &Engine,
        component: &Component,
        label: &str,
        sha256: String,
        limits: Limits,
    ) -> Result<Self, LoadError> {
        let engine_error = |e: wasmtime::Error| LoadError::Engine(format!("{e:#}"));
        let mut linker = Linker::new(engine);
        wasi::link(&mut linker).map_err(engine_error)?;
        wasi_sockets::link(&mut linker).map_err(engine_error)?;
        W::link(&mut linker).map_err(engine_error)?;
        let mismatch = |e: wasmtime::Error| LoadError::WorldMismatch {
            name: label.to_string(),
            expected: W::NAME,
            detail: crate::world_check::explain(engine, component, W::NAME, &format!("{e:#}")),
        };
        let instance = linker.instantiate_pre(component).map_err(mismatch)?;
        let pre = W::pre(instance).map_err(mismatch)?;
        let start = |detail: String| LoadError::Start {
            name: label.to_string(),
            detail,
        };
        let stats = Arc::new(PluginStats::new());
        let mut live = start_instance::<W>(engine, &pre, label, &limits, &stats)
            .map_err(|e| start(one_line(&e)))?;
        arm_deadline(&mut live.store, &limits);
        let info = live
            .bindings
            .info(&mut live.store)
            .map_err(|e| start(format!("info(): {}", one_line(&e))))?;
        Ok(Policy {
            label: label.to_string(),
            info,
            sha256,
            engine: engine.clone(),
            pre,
            limits,
            pool: Pool::new(live),
            health: Health::new(),
            stats,
        })
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub(crate) fn sha256(&self) -> &str {
        &self.sha256
    }

    pub(crate) fn healthy(&self) -> bool {
        self.health.healthy()
    }

    pub(crate) fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot(&self.info, &self.sha256)
    }

    pub(crate) fn counters(&self) -> &PluginStats {
        &self.stats
    }

    /// Makes one call about `batch` messages on a free instance: `run` calls the export,
    /// `check` vets a returned answer (an answer it refuses is the plugin's error).
    pub(crate) fn call<R>(
        &self,
        batch: usize,
        run: impl FnOnce(&W, &mut Store<PolicyState>) -> wasmtime::Result<Result<R, String>>,
        check: impl FnOnce(&R) -> Result<(), String>,
    ) -> Result<R, CallError> {
        self.health
            .admit(Instant::now())
            .map_err(|retry_in| CallError::Unavailable {
                plugin: self.info.name.clone(),
                retry_in,
            })?;
        PluginStats::add(&self.stats.messages_in, batch);
        let mut slot = self.pool.acquire();
        if slot.is_none() {
            match self.start() {
                Ok(live) => *slot = Some(live),
                Err(error) => return Err(self.fail(&mut slot, error)),
            }
        }
        let Some(live) = slot.as_mut() else {
            return Err(CallError::InstanceGone);
        };
        arm_deadline(&mut live.store, &self.limits);
        live.store.data_mut().limiter.refused = false;
        let started = Instant::now();
        let result = run(&live.bindings, &mut live.store);
        self.stats.record_call(started.elapsed());
        match result {
            Ok(Ok(answer)) => match check(&answer) {
                Ok(()) => {
                    self.health.succeeded();
                    Ok(answer)
                }
                Err(why) => Err(self.refused(why)),
            },
            Ok(Err(why)) => Err(self.refused(why)),
            Err(error) => Err(self.fail(&mut slot, error)),
        }
    }

    /// Starts an instance in an empty slot; it is a restart if it replaces a failed one.
    fn start(&self) -> wasmtime::Result<Live<W>> {
        let live = start_instance(
            &self.engine,
            &self.pre,
            &self.info.name,
            &self.limits,
            &self.stats,
        )?;
        if self.pool.replacing() {
            self.stats.restarts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(live)
    }

    fn refused(&self, why: String) -> CallError {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        CallError::Refused(why)
    }

    /// Discards the slot's instance after a failed call (or a failed start): drops its store,
    /// counts and logs the failure, and starts the backoff.
    fn fail(&self, slot: &mut Slot<W>, error: wasmtime::Error) -> CallError {
        let memory_refused = slot
            .as_ref()
            .is_some_and(|live| live.store.data().limiter.refused);
        let cause = FailureCause::of(&error, memory_refused);
        self.stats.record_failure(cause);
        if slot.take().is_some() {
            self.pool.discarded();
        }
        let retry_in = self.health.failed(Instant::now());
        let detail = one_line(&error);
        tracing::error!(
            plugin = %self.info.name,
            sha256 = %self.sha256.get(..12).unwrap_or(&self.sha256),
            %cause,
            retry_in_ms = retry_in.as_millis(),
            error = %detail,
            "plugin instance discarded; restarting after backoff"
        );
        CallError::Failed { cause, detail }
    }
}

/// A new instance in its own store, limited to `limits`, counted in `stats`.
fn start_instance<W: World>(
    engine: &Engine,
    pre: &W::Pre,
    plugin_name: &str,
    limits: &Limits,
    stats: &Arc<PluginStats>,
) -> wasmtime::Result<Live<W>> {
    let state = PolicyState::new(
        Arc::from(plugin_name),
        limits.memory_bytes_max,
        stats.clone(),
    );
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    store.epoch_deadline_trap();
    // Instantiation runs the guest's initialisers, which the deadline bounds too.
    arm_deadline(&mut store, limits);
    let bindings = W::instantiate(pre, &mut store)?;
    stats.instances_started.fetch_add(1, Ordering::Relaxed);
    Ok(Live { store, bindings })
}

/// Gives the next call its full deadline, counted in epoch ticks from now.
fn arm_deadline(store: &mut Store<PolicyState>, limits: &Limits) {
    store.set_epoch_deadline(deadline_ticks(limits.call_deadline));
}

impl World for crate::bindings::router::Router {
    type Pre = crate::bindings::router::RouterPre<PolicyState>;
    const NAME: &'static str = "sluice:plugin/router@0.5.0";
    fn link(linker: &mut Linker<PolicyState>) -> wasmtime::Result<()> {
        Self::add_to_linker::<PolicyState, HasSelf<PolicyState>>(linker, |state| state)
    }
    fn pre(instance: InstancePre<PolicyState>) -> wasmtime::Result<Self::Pre> {
        Self::Pre::new(instance)
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<PolicyState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
    fn info(&self, store: &mut Store<PolicyState>) -> wasmtime::Result<PluginInfo> {
        self.sluice_plugin_routing().call_info(store)
    }
}

impl World for crate::bindings::filter::Filter {
    type Pre = crate::bindings::filter::FilterPre<PolicyState>;
    const NAME: &'static str = "sluice:plugin/filter@0.5.0";
    fn link(linker: &mut Linker<PolicyState>) -> wasmtime::Result<()> {
        Self::add_to_linker::<PolicyState, HasSelf<PolicyState>>(linker, |state| state)
    }
    fn pre(instance: InstancePre<PolicyState>) -> wasmtime::Result<Self::Pre> {
        Self::Pre::new(instance)
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<PolicyState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
    fn info(&self, store: &mut Store<PolicyState>) -> wasmtime::Result<PluginInfo> {
        self.sluice_plugin_filtering().call_info(store)
    }
}
