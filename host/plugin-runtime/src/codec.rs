//! Codec plugins: a loaded component, its pool of instances, and one session per connection.
//!
//! Architecture invariant: calls on one instance never overlap (its store sits behind a mutex),
//! and a failed instance is never called again: its store is dropped at the failing call, every
//! session on it learns through its `discarded` signal, and new sessions go to other instances.
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex as AsyncMutex, MutexGuard as AsyncMutexGuard, watch};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

use crate::bindings::{Codec, CodecPre, ConnectionInfo, Output, PluginInfo};
use crate::error::{CallError, FailureCause, LoadError, one_line};
use crate::host::SharedHost;
use crate::limits::{Limits, deadline_ticks};
use crate::sandbox::StoreState;
use crate::stats::{PluginStats, StatsSnapshot};

/// The world every codec must implement, as named in errors.
const CODEC_WORLD: &str = "sluice:plugin/codec@0.5.0";

/// Time a call may spend *outside* Wasm (awaiting a WASI operation) beyond the call deadline
/// before it is abandoned. Epoch interruption only stops Wasm code; this stops a guest parked
/// in a host future (a poll on a clock, say).
const HOST_WAIT_GRACE: Duration = Duration::from_millis(100);

/// A loaded, checked codec plugin. New sessions are placed on its instances; it lives as long
/// as any session does, so a hot swap can replace it while old sessions finish on it.
pub struct CodecPlugin {
    label: Arc<str>,
    info: PluginInfo,
    sha256: String,
    engine: Engine,
    pre: CodecPre<StoreState>,
    host: SharedHost,
    limits: Limits,
    instances: Mutex<Vec<Arc<Instance>>>,
    next_instance_id: AtomicU64,
    stats: Arc<PluginStats>,
}

struct Instance {
    id: u64,
    /// `None` once discarded. An async mutex: a call holds it while the guest awaits WASI.
    live: AsyncMutex<Option<Live>>,
    sessions: AtomicUsize,
    discarded: watch::Sender<bool>,
}

struct Live {
    store: Store<StoreState>,
    bindings: Codec,
}

type LiveGuard<'a> = AsyncMutexGuard<'a, Option<Live>>;

impl CodecPlugin {
    pub(crate) async fn new(
        engine: &Engine,
        linker: &Linker<StoreState>,
        component: &Component,
        label: &str,
        sha256: String,
        host: SharedHost,
        limits: Limits,
    ) -> Result<Arc<Self>, LoadError> {
        let mismatch = |e: wasmtime::Error| LoadError::WorldMismatch {
            name: label.to_string(),
            expected: CODEC_WORLD,
            detail: crate::world_check::explain(engine, component, CODEC_WORLD, &format!("{e:#}")),
        };
        let instance_pre = linker.instantiate_pre(component).map_err(mismatch)?;
        let pre = CodecPre::new(instance_pre).map_err(mismatch)?;
        let mut plugin = CodecPlugin {
            label: Arc::from(label),
            info: PluginInfo {
                name: label.to_string(),
                version: String::new(),
            },
            sha256,
            engine: engine.clone(),
            pre,
            host,
            limits,
            instances: Mutex::new(Vec::new()),
            next_instance_id: AtomicU64::new(0),
            stats: Arc::new(PluginStats::new()),
        };
        let start = |detail: String| LoadError::Start {
            name: label.to_string(),
            detail,
        };
        let mut live = plugin
            .start_instance()
            .await
            .map_err(|e| start(format!("{e:#}")))?;
        let info = plugin
            .call(&mut live, |codec, store| {
                Box::pin(async move { codec.sluice_plugin_protocol().call_info(store).await })
            })
            .await
            .map_err(|e| start(format!("info(): {e:#}")))?;
        plugin.info = info;
        let first = plugin.wrap(live);
        lock(&plugin.instances).push(first);
        Ok(Arc::new(plugin))
    }

    /// What the plugin says it is.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// SHA-256 of the component's bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The label it was loaded under (file path or built-in name).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The host's figures for this plugin.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot(&self.info, &self.sha256)
    }

    /// Instances currently alive.
    pub fn live_instances(&self) -> usize {
        lock(&self.instances)
            .iter()
            .filter(|i| !*i.discarded.borrow())
            .count()
    }

    /// Opens a session for a new connection on the least-loaded instance with room, starting
    /// a new instance when all are full.
    pub async fn open_session(
        self: &Arc<Self>,
        info: &ConnectionInfo,
    ) -> Result<CodecSession, CallError> {
        let instance = self.place().await?;
        let resource = {
            let mut guard = instance.live.lock().await;
            let live = guard.as_mut().ok_or(CallError::InstanceGone)?;
            live.store.data_mut().connection = info.id;
            let result = self
                .call(live, |codec, store| {
                    Box::pin(async move {
                        codec
                            .sluice_plugin_protocol()
                            .connection()
                            .call_constructor(store, info)
                            .await
                    })
                })
                .await;
            match result {
                Ok(resource) => resource,
                Err(error) => return Err(self.fail(&instance, &mut guard, error)),
            }
        };
        instance.sessions.fetch_add(1, Ordering::AcqRel);
        let discarded = instance.discarded.subscribe();
        Ok(CodecSession {
            plugin: self.clone(),
            connection: info.id,
            instance,
            resource: Some(resource),
            discarded,
        })
    }

    async fn place(&self) -> Result<Arc<Instance>, CallError> {
        {
            let mut instances = lock(&self.instances);
            instances.retain(|i| !*i.discarded.borrow());
            let best = instances
                .iter()
                .filter(|i| {
                    i.sessions.load(Ordering::Acquire) < self.limits.connections_per_instance
                })
                .min_by_key(|i| i.sessions.load(Ordering::Acquire));
            if let Some(instance) = best {
                return Ok(instance.clone());
            }
        }
        let live = self.start_instance().await.map_err(|e| {
            tracing::error!(plugin = %self.label, error = %format!("{e:#}"), "cannot start plugin instance");
            CallError::Failed { cause: FailureCause::Trap, detail: format!("{e:#}") }
        })?;
        let instance = self.wrap(live);
        lock(&self.instances).push(instance.clone());
        Ok(instance)
    }

    async fn start_instance(&self) -> wasmtime::Result<Live> {
        let state = StoreState::new(
            self.host.clone(),
            Arc::from(self.info.name.as_str()),
            self.limits.memory_bytes_max,
            self.stats.clone(),
        );
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut store| {
            let clock = &mut store.data_mut().call_clock;
            clock.ticks_used += 1;
            Ok(if clock.ticks_used >= clock.ticks_allowed {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        self.start_clock(&mut store);
        let bindings = self.pre.instantiate_async(&mut store).await?;
        self.stats.instances_started.fetch_add(1, Ordering::Relaxed);
        Ok(Live { store, bindings })
    }

    fn wrap(&self, live: Live) -> Arc<Instance> {
        let (discarded, _) = watch::channel(false);
        Arc::new(Instance {
            id: self.next_instance_id.fetch_add(1, Ordering::Relaxed),
            live: AsyncMutex::new(Some(live)),
            sessions: AtomicUsize::new(0),
            discarded,
        })
    }

    /// Gives the next call its full allowance, checked at every tick.
    fn start_clock(&self, store: &mut Store<StoreState>) {
        let clock = &mut store.data_mut().call_clock;
        clock.ticks_used = 0;
        clock.ticks_allowed = deadline_ticks(self.limits.call_deadline);
        store.set_epoch_deadline(1);
    }

    /// Runs one call with a fresh deadline: the epoch ticks stop Wasm code that runs too long
    /// (yielding to the runtime at each tick meanwhile), the timeout stops a guest awaiting a
    /// host future.
    async fn call<'a, R>(
        &self,
        live: &'a mut Live,
        f: impl FnOnce(
            &'a Codec,
            &'a mut Store<StoreState>,
        )
            -> std::pin::Pin<Box<dyn Future<Output = wasmtime::Result<R>> + Send + 'a>>,
    ) -> wasmtime::Result<R> {
        self.start_clock(&mut live.store);
        let started = Instant::now();
        // Wall time also counts time spent yielded or awaiting WASI, hence the margin.
        let wait_max = self.limits.call_deadline * 2 + HOST_WAIT_GRACE;
        let result = match tokio::time::timeout(wait_max, f(&live.bindings, &mut live.store)).await
        {
            Ok(result) => result,
            Err(_) => Err(wasmtime::Error::from(Trap::Interrupt)),
        };
        self.stats.record_call(started.elapsed());
        result
    }

    /// Discards an instance after a failed call: drops its store, counts and logs the failure,
    /// and signals every session on it.
    fn fail(
        &self,
        instance: &Instance,
        guard: &mut LiveGuard<'_>,
        error: wasmtime::Error,
    ) -> CallError {
        let memory_refused = guard
            .as_ref()
            .is_some_and(|l| l.store.data().limiter.refused);
        let cause = FailureCause::of(&error, memory_refused);
        self.stats.record_failure(cause);
        **guard = None;
        let detail = one_line(&error);
        tracing::error!(
            plugin = %self.info.name,
            sha256 = %&self.sha256[..12],
            instance = instance.id,
            %cause,
            connections = instance.sessions.load(Ordering::Acquire),
            error = %detail,
            "plugin instance discarded"
        );
        instance.discarded.send_replace(true);
        CallError::Failed { cause, detail }
    }
}

/// One connection's codec state on one instance. Dropping it drops the guest's `connection`
/// resource (freeing its state in the guest) and releases its place on the instance.
pub struct CodecSession {
    plugin: Arc<CodecPlugin>,
    /// The connection's id, which the host's queue calls are made for.
    connection: u64,
    instance: Arc<Instance>,
    resource: Option<ResourceAny>,
    discarded: watch::Receiver<bool>,
}

impl CodecSession {
    /// The plugin this session runs on (it keeps it alive across hot swaps).
    pub fn plugin(&self) -> &Arc<CodecPlugin> {
        &self.plugin
    }

    /// Feeds bytes from the peer to the codec.
    pub async fn on_data(&mut self, data: &[u8]) -> Result<Output, CallError> {
        self.deliver(Input::Data(data)).await
    }

    /// Tells the codec a wait it armed has fired, and whether its timeout did.
    pub async fn on_wake(&mut self, token: u64, timed_out: bool) -> Result<Output, CallError> {
        self.deliver(Input::Wake(token, timed_out)).await
    }

    async fn deliver(&mut self, input: Input<'_>) -> Result<Output, CallError> {
        let resource = self.resource.ok_or(CallError::InstanceGone)?;
        if let Input::Data(data) = input {
            PluginStats::add(&self.plugin.stats.bytes_in, data.len());
        }
        let mut guard = self.instance.live.lock().await;
        let Some(live) = guard.as_mut() else {
            return Err(CallError::InstanceGone);
        };
        live.store.data_mut().connection = self.connection;
        let result = self
            .plugin
            .call(live, |codec, store| {
                Box::pin(async move {
                    let connection = codec.sluice_plugin_protocol().connection();
                    match input {
                        Input::Data(data) => connection.call_on_data(store, resource, data).await,
                        Input::Wake(token, timed_out) => {
                            connection
                                .call_on_wake(store, resource, token, timed_out)
                                .await
                        }
                    }
                })
            })
            .await;
        match result {
            Ok(Ok(output)) => {
                PluginStats::add(&self.plugin.stats.bytes_out, output.write.len());
                Ok(output)
            }
            Ok(Err(refused)) => {
                self.plugin.stats.errors.fetch_add(1, Ordering::Relaxed);
                Err(CallError::Refused(refused.reason))
            }
            Err(error) => Err(self.plugin.fail(&self.instance, &mut guard, error)),
        }
    }

    /// Resolves when this session's instance has been discarded (by a failure on any of its
    /// sessions). A connection waits on this while idle, so it closes with its instance.
    pub async fn discarded(&mut self) {
        // An error means the sender is gone, which only happens when the instance is gone.
        let _ = self.discarded.wait_for(|discarded| *discarded).await;
    }
}

/// What a session hands its codec.
enum Input<'d> {
    Data(&'d [u8]),
    Wake(u64, bool),
}

impl Drop for CodecSession {
    fn drop(&mut self) {
        let left = self.instance.sessions.fetch_sub(1, Ordering::AcqRel) - 1;
        if left == 0 {
            // Shrink back when load falls: keep one instance warm, drop empty extras.
            let mut instances = lock(&self.plugin.instances);
            if instances.len() > 1 && self.instance.sessions.load(Ordering::Acquire) == 0 {
                instances.retain(|i| !Arc::ptr_eq(i, &self.instance));
            }
        }
        let Some(resource) = self.resource.take() else {
            return;
        };
        // Dropping the guest's state is a call into the guest, which is async; outside a
        // runtime (a process exiting) there is nothing left to free it for.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (plugin, instance) = (self.plugin.clone(), self.instance.clone());
        runtime.spawn(async move {
            let mut guard = instance.live.lock().await;
            let Some(live) = guard.as_mut() else { return };
            let result = plugin
                .call(live, |_, store| {
                    Box::pin(async move { resource.resource_drop_async(store).await })
                })
                .await;
            if let Err(error) = result {
                plugin.fail(&instance, &mut guard, error);
            }
        });
    }
}

/// Locks a mutex, recovering from poisoning: nothing here panics while holding a lock, and a
/// poisoned plugin mutex must not take the broker down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
