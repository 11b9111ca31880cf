//! Routers and filters by name: the built-in ones under their short names (`round-robin`,
//! `key-hash`, `selector`, `match`, ...), and those `[[plugins.load]]` adds or replaces, from
//! files that SIGHUP re-reads (the hot swap).
//!
//! A swap replaces the plugin a slot hands out; a call already running finishes on the plugin
//! it started with, and the next batch runs on the new one, so a swap takes effect between two
//! batches and never splits one.
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_plugin_runtime::{
    FilterPlugin, Limits, LoadError, PluginInfo, RouterPlugin, Runtime, StatsSnapshot,
};

use super::{BUILTIN_FILTERS, BUILTIN_ROUTERS, PluginStatus, Source};
use crate::config::PluginsConfig;

/// What happens to messages while a router or filter is failing (it trapped and restarts with
/// backoff, or it returns errors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// Held: a send is refused as `unavailable` (nothing stored, the client sends again), a
    /// delivery waits on its queue. Nothing is lost and nothing skips the policy.
    #[default]
    Hold,
    /// Passed through: routed by the host's round robin, kept unfiltered.
    Pass,
}

/// Which kind a `[[plugins.load]]` entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A routing policy (`wit/router.wit`).
    Router,
    /// A message filter (`wit/filter.wit`).
    Filter,
}

/// One `[[plugins.load]]` entry: a router or filter under a name address settings and queues
/// refer to. A built-in's name replaces the built-in.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PolicyConfig {
    /// The name settings use (`router = "NAME"`, `{ plugin = "NAME", config = ... }`).
    pub name: String,
    /// `router` or `filter`.
    pub kind: Kind,
    /// `builtin:NAME` (e.g. `builtin:filter-match`) or a path to a component.
    pub source: String,
    /// Default: `plugins.router-on-failure` or `plugins.filter-on-failure`.
    pub on_failure: Option<OnFailure>,
    /// Default: `plugins.policy-call-deadline-ms`.
    pub call_deadline_ms: Option<u64>,
    /// Default: `plugins.policy-memory-bytes-max`.
    pub memory_bytes_max: Option<usize>,
}

/// The two plugin types a [`PolicySlot`] can hold.
pub trait PolicyKind: Send + Sync + Sized + 'static {
    /// `router` or `filter`, for logs and the admin API.
    const KIND: &'static str;
    /// The same, as `[[plugins.load]]` names it.
    const ENTRY_KIND: Kind;
    /// Compiles, checks and starts it.
    fn load(
        runtime: &Runtime,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> impl Future<Output = Result<Arc<Self>, LoadError>> + Send;
    /// Its content hash.
    fn sha256(&self) -> &str;
    /// What it says it is.
    fn info(&self) -> &PluginInfo;
    /// Its figures.
    fn stats(&self) -> StatsSnapshot;
    /// Whether it is serving (not backing off after a failure).
    fn healthy(&self) -> bool;
}

impl PolicyKind for RouterPlugin {
    const KIND: &'static str = "router";
    const ENTRY_KIND: Kind = Kind::Router;
    async fn load(
        runtime: &Runtime,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Arc<Self>, LoadError> {
        runtime.load_router(label, bytes, limits).await
    }
    fn sha256(&self) -> &str {
        RouterPlugin::sha256(self)
    }
    fn info(&self) -> &PluginInfo {
        RouterPlugin::info(self)
    }
    fn stats(&self) -> StatsSnapshot {
        RouterPlugin::stats(self)
    }
    fn healthy(&self) -> bool {
        RouterPlugin::healthy(self)
    }
}

impl PolicyKind for FilterPlugin {
    const KIND: &'static str = "filter";
    const ENTRY_KIND: Kind = Kind::Filter;
    async fn load(
        runtime: &Runtime,
        label: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Arc<Self>, LoadError> {
        runtime.load_filter(label, bytes, limits).await
    }
    fn sha256(&self) -> &str {
        FilterPlugin::sha256(self)
    }
    fn info(&self) -> &PluginInfo {
        FilterPlugin::info(self)
    }
    fn stats(&self) -> StatsSnapshot {
        FilterPlugin::stats(self)
    }
    fn healthy(&self) -> bool {
        FilterPlugin::healthy(self)
    }
}

/// One named router or filter and the plugin serving it now.
pub struct PolicySlot<P> {
    name: String,
    /// Where the plugin serving now came from; a swap may change it.
    source: RwLock<Source>,
    limits: Limits,
    pub(super) on_failure: OnFailure,
    current: RwLock<Arc<P>>,
}

impl<P: PolicyKind> PolicySlot<P> {
    pub(super) async fn load(
        runtime: &Runtime,
        name: &str,
        source: Source,
        limits: Limits,
        on_failure: OnFailure,
    ) -> Result<Self, LoadError> {
        let bytes = source.bytes()?;
        let plugin = P::load(runtime, &source.label(), &bytes, limits.clone()).await?;
        tracing::info!(
            kind = P::KIND, %name, source = %source.label(), plugin = %plugin.info().name,
            plugin_version = %plugin.info().version, sha256 = %&plugin.sha256()[..12],
            ?on_failure, "plugin loaded"
        );
        Ok(PolicySlot {
            name: name.to_owned(),
            source: RwLock::new(source),
            limits,
            on_failure,
            current: RwLock::new(plugin),
        })
    }

    /// The plugin the next batch runs on.
    pub fn current(&self) -> Arc<P> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Where the plugin serving now came from.
    pub fn source(&self) -> Source {
        self.source
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether it is one of the broker's own, not loaded from a file.
    pub fn is_builtin(&self) -> bool {
        matches!(self.source(), Source::Builtin(..))
    }

    /// Re-reads a file-based plugin and swaps it in if its content changed; whether it did.
    /// On error the running version stays.
    pub async fn reload(&self, runtime: &Runtime) -> Result<bool, LoadError> {
        if self.is_builtin() {
            return Ok(false);
        }
        self.swap(runtime, None).await
    }

    /// Swaps in the plugin at `source` (`None`: the current source, read again) unless it is
    /// the one serving already; whether it swapped. On error the running version stays.
    pub async fn swap(&self, runtime: &Runtime, source: Option<Source>) -> Result<bool, LoadError> {
        let source = source.unwrap_or_else(|| self.source());
        let bytes = source.bytes()?;
        let old = self.current();
        if sluice_plugin_runtime::sha256_hex(&bytes) == old.sha256() {
            *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
            return Ok(false);
        }
        let new = P::load(runtime, &source.label(), &bytes, self.limits.clone()).await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = new.clone();
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
        tracing::info!(
            kind = P::KIND, name = %self.name, from_version = %old.info().version,
            from_sha256 = %&old.sha256()[..12], plugin_version = %new.info().version,
            sha256 = %&new.sha256()[..12], "plugin swapped"
        );
        Ok(true)
    }

    /// What the admin API shows of it.
    pub fn status(&self) -> PluginStatus {
        let plugin = self.current();
        PluginStatus {
            kind: P::KIND,
            name: self.name.clone(),
            source: self.source().label(),
            address: None,
            plugin: plugin.info().name.clone(),
            version: plugin.info().version.clone(),
            sha256: plugin.sha256().to_owned(),
            healthy: plugin.healthy(),
            on_failure: Some(self.on_failure),
            stats: plugin.stats(),
        }
    }
}

/// One kind's slots by name. Behind a lock because the admin API adds and removes plugins
/// while the broker runs; a lookup clones the slot out, so no call holds the lock.
pub(super) type Table<P> = RwLock<BTreeMap<String, Arc<PolicySlot<P>>>>;

/// Every router and filter, by name: what the address model routes and filters with (see
/// `policy_calls`), and what the admin API loads, swaps and unloads (see `control`).
pub struct Policies {
    pub(super) routers: Table<RouterPlugin>,
    pub(super) filters: Table<FilterPlugin>,
    /// The `[plugins]` defaults a plugin loaded later gets.
    pub(super) defaults: PolicyDefaults,
}

/// Limits and failure policies for entries that do not set their own.
#[derive(Clone, Debug)]
pub(super) struct PolicyDefaults {
    pub(super) call_deadline_ms: u64,
    pub(super) memory_bytes_max: usize,
    pub(super) router_on_failure: OnFailure,
    pub(super) filter_on_failure: OnFailure,
}

impl PolicyDefaults {
    pub(super) fn limits(&self, deadline_ms: Option<u64>, memory: Option<usize>) -> Limits {
        Limits {
            memory_bytes_max: memory.unwrap_or(self.memory_bytes_max),
            call_deadline: Duration::from_millis(
                deadline_ms.unwrap_or(self.call_deadline_ms).max(1),
            ),
            connections_per_instance: 1,
        }
    }
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("routers", &names(&self.routers))
            .field("filters", &names(&self.filters))
            .finish()
    }
}

fn names<P>(table: &Table<P>) -> Vec<String> {
    read(table).keys().cloned().collect()
}

pub(super) fn read<P>(
    table: &Table<P>,
) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<PolicySlot<P>>>> {
    table.read().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn write<P>(
    table: &Table<P>,
) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<PolicySlot<P>>>> {
    table.write().unwrap_or_else(|p| p.into_inner())
}

impl Policies {
    /// Loads the built-in routers and filters, then `[[plugins.load]]`'s entries (a name
    /// already taken is replaced).
    pub async fn load(runtime: &Runtime, config: &PluginsConfig) -> anyhow::Result<Policies> {
        let policies = Policies {
            routers: RwLock::new(BTreeMap::new()),
            filters: RwLock::new(BTreeMap::new()),
            defaults: PolicyDefaults {
                call_deadline_ms: config.policy_call_deadline_ms,
                memory_bytes_max: config.policy_memory_bytes_max,
                router_on_failure: config.router_on_failure,
                filter_on_failure: config.filter_on_failure,
            },
        };
        let limits = policies.defaults.limits(None, None);
        for (file, bytes) in BUILTIN_ROUTERS {
            let name = builtin_name(file);
            let on_failure = config.router_on_failure;
            let source = Source::Builtin(file, bytes);
            let slot = PolicySlot::load(runtime, name, source, limits.clone(), on_failure).await?;
            write(&policies.routers).insert(name.to_owned(), Arc::new(slot));
        }
        for (file, bytes) in BUILTIN_FILTERS {
            let name = builtin_name(file);
            let on_failure = config.filter_on_failure;
            let source = Source::Builtin(file, bytes);
            let slot = PolicySlot::load(runtime, name, source, limits.clone(), on_failure).await?;
            write(&policies.filters).insert(name.to_owned(), Arc::new(slot));
        }
        for entry in &config.load {
            policies
                .insert(runtime, entry, true)
                .await
                .map_err(|e| anyhow::anyhow!("plugins.load `{}`: {e}", entry.name))?;
        }
        Ok(policies)
    }

    /// The router called `name`.
    pub fn router_named(&self, name: &str) -> Option<Arc<PolicySlot<RouterPlugin>>> {
        read(&self.routers).get(name).cloned()
    }

    /// The filter called `name`.
    pub fn filter_named(&self, name: &str) -> Option<Arc<PolicySlot<FilterPlugin>>> {
        read(&self.filters).get(name).cloned()
    }

    /// Re-reads every file-based router and filter, swapping in those that changed. A plugin
    /// that fails to load keeps its running version (logged).
    pub async fn reload(&self, runtime: &Runtime) {
        let routers: Vec<_> = read(&self.routers).values().cloned().collect();
        for slot in routers {
            if let Err(e) = slot.reload(runtime).await {
                tracing::error!(kind = "router", name = %slot.name, error = %e, "plugin reload failed; the running version stays");
            }
        }
        let filters: Vec<_> = read(&self.filters).values().cloned().collect();
        for slot in filters {
            if let Err(e) = slot.reload(runtime).await {
                tracing::error!(kind = "filter", name = %slot.name, error = %e, "plugin reload failed; the running version stays");
            }
        }
    }

    /// Every router and filter, for the admin API.
    pub fn status(&self) -> Vec<PluginStatus> {
        let mut all: Vec<_> = read(&self.routers).values().map(|s| s.status()).collect();
        all.extend(read(&self.filters).values().map(|s| s.status()));
        all
    }
}

/// The name a built-in is loaded under: its file name without the kind's prefix.
pub(super) fn builtin_name(file: &str) -> &str {
    file.trim_start_matches("router-")
        .trim_start_matches("filter-")
}
