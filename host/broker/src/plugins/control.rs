//! Loading, swapping and unloading routers and filters while the broker runs: what the admin
//! API's `POST`, `PUT` and `DELETE /api/plugins` do for these two kinds (codecs are a
//! listener's, see `crate::listeners`).
//!
//! Loading and unloading change which names exist; swapping changes what serves a name. A swap
//! takes effect between two batches (see `policy`). Unloading refuses a plugin that the
//! configuration still names, because every message sent through it would then be refused;
//! unloading a file that replaced a built-in brings the built-in back.
use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sluice_plugin_runtime::{LoadError, Runtime};

use super::policy::{PolicyDefaults, Table, builtin_name, read, write};
use super::{
    BUILTIN_FILTERS, BUILTIN_ROUTERS, Kind, OnFailure, PluginStatus, Policies, PolicyConfig,
    PolicyKind, PolicySlot, Source,
};
use crate::config::Config;

/// Longest plugin or listener name: Kafka's limit for topic names, which the admin API's
/// paths and the logs carry as well.
pub const PLUGIN_NAME_BYTES_MAX: usize = 249;

/// Why a load, swap or unload was refused. Each maps to one HTTP status in the admin API.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing of that kind by that name (404).
    #[error("no {kind} named `{name}` is loaded")]
    NotFound {
        /// `codec`, `router` or `filter`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The request conflicts with what runs: the name is taken, the plugin is in use or
    /// built in, the address is taken (409).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong: a bad name, a missing field, an unknown built-in (400).
    #[error("{0}")]
    Invalid(String),
    /// The component could not be read or is not the plugin asked for (422); the message
    /// says what was expected.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Checks a name the admin API is given for a plugin or a listener.
pub fn check_name(name: &str) -> Result<(), ControlError> {
    let valid = !name.is_empty()
        && name.len() <= PLUGIN_NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(ControlError::Invalid(format!(
            "`{name}` is not a valid name: 1 to {PLUGIN_NAME_BYTES_MAX} of [a-zA-Z0-9._-]"
        )))
    }
}

/// What the configuration attaches each router and filter to, so that one in use is not
/// unloaded from under its addresses.
#[derive(Debug, Default)]
pub struct PluginUsers(BTreeMap<(Kind, String), Vec<String>>);

impl PluginUsers {
    /// Every router and filter the address settings and declared queues name.
    pub fn from_config(config: &Config) -> PluginUsers {
        let mut users = PluginUsers::default();
        for rule in &config.address_settings {
            let at = |what: &str| format!("address-settings `{}` {what}", rule.pattern);
            if let Some(router) = &rule.router {
                users.add(Kind::Router, router, at("router"));
            }
            if let Some(filter) = &rule.publish_filter {
                users.add(Kind::Filter, &filter.plugin, at("publish-filter"));
            }
            if let Some(filter) = &rule.delivery_filter {
                users.add(Kind::Filter, &filter.plugin, at("delivery-filter"));
            }
        }
        for address in &config.addresses {
            for queue in &address.queues {
                if let Some(filter) = &queue.filter {
                    let user = format!("queue `{}` of address `{}`", queue.name, address.name);
                    users.add(Kind::Filter, &filter.plugin, user);
                }
            }
        }
        users
    }

    fn add(&mut self, kind: Kind, name: &str, user: String) {
        self.0
            .entry((kind, name.to_owned()))
            .or_default()
            .push(user);
    }

    fn of(&self, kind: Kind, name: &str) -> &[String] {
        self.0
            .get(&(kind, name.to_owned()))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// A swap's request body: the new source, or none to read the current file again.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SwapRequest {
    /// `builtin:NAME` or a path to a component.
    pub source: Option<String>,
}

/// What a swap did.
#[derive(Debug, serde::Serialize)]
pub struct Swapped {
    /// False when the component was the one serving already.
    pub swapped: bool,
    /// The plugin as it stands after the swap.
    pub plugin: PluginStatus,
}

impl Policies {
    /// Loads `entry` under its name. `replace`: a name already loaded is replaced (the
    /// configuration's `[[plugins.load]]`); otherwise it is a conflict (the admin API's load).
    pub async fn insert(
        &self,
        runtime: &Runtime,
        entry: &PolicyConfig,
        replace: bool,
    ) -> Result<PluginStatus, ControlError> {
        check_name(&entry.name)?;
        let defaults = &self.defaults;
        match entry.kind {
            Kind::Router => {
                let on_failure = defaults.router_on_failure;
                insert(
                    &self.routers,
                    BUILTIN_ROUTERS,
                    on_failure,
                    defaults,
                    runtime,
                    entry,
                    replace,
                )
                .await
            }
            Kind::Filter => {
                let on_failure = defaults.filter_on_failure;
                insert(
                    &self.filters,
                    BUILTIN_FILTERS,
                    on_failure,
                    defaults,
                    runtime,
                    entry,
                    replace,
                )
                .await
            }
        }
    }

    /// Swaps what serves `name`: the component at `source`, or the current file read again.
    pub async fn swap(
        &self,
        runtime: &Runtime,
        kind: Kind,
        name: &str,
        source: Option<&str>,
    ) -> Result<Swapped, ControlError> {
        match kind {
            Kind::Router => swap(&self.routers, BUILTIN_ROUTERS, runtime, name, source).await,
            Kind::Filter => swap(&self.filters, BUILTIN_FILTERS, runtime, name, source).await,
        }
    }

    /// Unloads `name`, or brings back the built-in a file replaced. Refused for a built-in
    /// and for a plugin the configuration names. Returns the built-in's status when one came
    /// back.
    pub async fn unload(
        &self,
        runtime: &Runtime,
        kind: Kind,
        name: &str,
        users: &PluginUsers,
    ) -> Result<Option<PluginStatus>, ControlError> {
        let defaults = &self.defaults;
        match kind {
            Kind::Router => {
                let on_failure = defaults.router_on_failure;
                let builtins = BUILTIN_ROUTERS;
                unload(
                    &self.routers,
                    builtins,
                    on_failure,
                    defaults,
                    runtime,
                    name,
                    users,
                )
                .await
            }
            Kind::Filter => {
                let on_failure = defaults.filter_on_failure;
                let builtins = BUILTIN_FILTERS;
                unload(
                    &self.filters,
                    builtins,
                    on_failure,
                    defaults,
                    runtime,
                    name,
                    users,
                )
                .await
            }
        }
    }
}

type Builtins = &'static [(&'static str, &'static [u8])];

async fn insert<P: PolicyKind>(
    table: &Table<P>,
    builtins: Builtins,
    default_on_failure: OnFailure,
    defaults: &PolicyDefaults,
    runtime: &Runtime,
    entry: &PolicyConfig,
    replace: bool,
) -> Result<PluginStatus, ControlError> {
    let taken = || {
        ControlError::Conflict(format!(
            "a {} named `{}` is already loaded; swap it to replace it",
            P::KIND,
            entry.name
        ))
    };
    if !replace && read(table).contains_key(&entry.name) {
        return Err(taken());
    }
    let source = Source::parse(&entry.source, builtins).map_err(ControlError::Invalid)?;
    let limits = defaults.limits(entry.call_deadline_ms, entry.memory_bytes_max);
    let on_failure = entry.on_failure.unwrap_or(default_on_failure);
    let slot = PolicySlot::<P>::load(runtime, &entry.name, source, limits, on_failure).await?;
    let status = slot.status();
    let mut table = write(table);
    // Another load of the same name may have finished while this one compiled.
    if !replace && table.contains_key(&entry.name) {
        return Err(taken());
    }
    table.insert(entry.name.clone(), Arc::new(slot));
    Ok(status)
}

async fn swap<P: PolicyKind>(
    table: &Table<P>,
    builtins: Builtins,
    runtime: &Runtime,
    name: &str,
    source: Option<&str>,
) -> Result<Swapped, ControlError> {
    let slot = read(table)
        .get(name)
        .cloned()
        .ok_or_else(|| not_found::<P>(name))?;
    let source = source
        .map(|s| Source::parse(s, builtins))
        .transpose()
        .map_err(ControlError::Invalid)?;
    let swapped = slot.swap(runtime, source).await?;
    Ok(Swapped {
        swapped,
        plugin: slot.status(),
    })
}

async fn unload<P: PolicyKind>(
    table: &Table<P>,
    builtins: Builtins,
    default_on_failure: OnFailure,
    defaults: &PolicyDefaults,
    runtime: &Runtime,
    name: &str,
    users: &PluginUsers,
) -> Result<Option<PluginStatus>, ControlError> {
    let slot = read(table)
        .get(name)
        .cloned()
        .ok_or_else(|| not_found::<P>(name))?;
    if slot.is_builtin() {
        return Err(ControlError::Conflict(format!(
            "{} `{name}` is built in and cannot be unloaded; swap it to replace it",
            P::KIND
        )));
    }
    if let Some((file, bytes)) = builtins.iter().find(|(f, _)| builtin_name(f) == name) {
        let source = Source::Builtin(file, bytes);
        let limits = defaults.limits(None, None);
        let builtin =
            PolicySlot::<P>::load(runtime, name, source, limits, default_on_failure).await?;
        let status = builtin.status();
        write(table).insert(name.to_owned(), Arc::new(builtin));
        tracing::info!(kind = P::KIND, %name, "plugin unloaded; the built-in serves again");
        return Ok(Some(status));
    }
    let in_use = users.of(P::ENTRY_KIND, name);
    if !in_use.is_empty() {
        return Err(ControlError::Conflict(format!(
            "{} `{name}` is in use by {}; detach it there first",
            P::KIND,
            in_use.join(", ")
        )));
    }
    write(table).remove(name);
    tracing::info!(kind = P::KIND, %name, "plugin unloaded");
    Ok(None)
}

fn not_found<P: PolicyKind>(name: &str) -> ControlError {
    ControlError::NotFound {
        kind: P::KIND,
        name: name.to_owned(),
    }
}
