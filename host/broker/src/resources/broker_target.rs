//! The running broker as a [`ResourceTarget`]: topics through the broker service (the same
//! operations Kafka's admin requests use), users through the shared user store, plugins
//! through the plugin tables and listeners the admin API uses.
//!
//! Addresses and queues through the address model's management operations (those of
//! `sluice address` and `sluice queue`).
//!
//! Not done yet, answered [`TargetError::Unsupported`] (the apply reports it against each
//! resource of the kind and fails): address settings rules. The address model resolves an
//! address's settings once, when the address is created; changing them at runtime needs a
//! rule layer that re-resolves every address it matches.
use std::sync::Arc;

use sluice_plugin_runtime::{BrokerError, ConfigChange, ConfigOp, HostBroker, Runtime};
use sluice_queues::{AddressSettingsRule, NewQueue, QueueUpdate, Queues, QueuesError};

use super::spec::{AddressSpec, PluginKind, PluginSpec, QueueSpec};
use super::target::{PluginState, ResourceTarget, TargetError, TopicState, UserState};
use crate::config::ListenerConfig;
use crate::listeners::Listeners;
use crate::plugins::{
    BUILTIN_CODECS, BUILTIN_FILTERS, BUILTIN_ROUTERS, ControlError, Kind, PluginStatus,
    PluginUsers, Policies, PolicyConfig, Source, check_name,
};
use crate::security::Security;
use crate::service::BrokerService;

/// Everything of the broker the resources file can change.
pub struct BrokerTarget {
    /// Topics.
    pub service: Arc<BrokerService>,
    /// The address model (queues are listed from it).
    pub queues: Arc<Queues>,
    /// Users.
    pub security: Security,
    /// Routers and filters.
    pub policies: Arc<Policies>,
    /// What the configuration attaches routers and filters to (never unloaded).
    pub plugin_users: Arc<PluginUsers>,
    /// Listeners and their codecs.
    pub listeners: Arc<Listeners>,
    /// Compiles the plugins loaded.
    pub runtime: Arc<Runtime>,
}

fn refused(e: BrokerError) -> TargetError {
    TargetError::Refused(e.message)
}

fn queues_refused(e: QueuesError) -> TargetError {
    TargetError::Refused(e.to_string())
}

fn control(e: ControlError) -> TargetError {
    TargetError::Refused(e.to_string())
}

fn builtins(kind: PluginKind) -> &'static [(&'static str, &'static [u8])] {
    match kind {
        PluginKind::Codec => BUILTIN_CODECS,
        PluginKind::Router => BUILTIN_ROUTERS,
        PluginKind::Filter => BUILTIN_FILTERS,
    }
}

fn policy_kind(kind: PluginKind) -> Result<Kind, TargetError> {
    match kind {
        PluginKind::Router => Ok(Kind::Router),
        PluginKind::Filter => Ok(Kind::Filter),
        PluginKind::Codec => Err(TargetError::Refused(
            "a codec's listener settings change only by removing it and adding it again".into(),
        )),
    }
}

/// `source` parsed for `kind`, its component readable.
fn readable(kind: PluginKind, source: &str) -> Result<Source, TargetError> {
    let parsed = Source::parse(source, builtins(kind))
        .map_err(|e| TargetError::Refused(format!("source: {e}")))?;
    parsed
        .bytes()
        .map_err(|e| TargetError::Refused(e.to_string()))?;
    Ok(parsed)
}

fn plugin_state(status: PluginStatus) -> Option<PluginState> {
    let kind = match status.kind {
        "codec" => PluginKind::Codec,
        "router" => PluginKind::Router,
        "filter" => PluginKind::Filter,
        _ => return None,
    };
    Some(PluginState {
        kind,
        builtin: kind != PluginKind::Codec
            && status.source.starts_with(crate::config::BUILTIN_PREFIX),
        name: status.name,
        source: status.source,
        sha256: status.sha256,
        on_failure: status.on_failure,
    })
}

impl ResourceTarget for BrokerTarget {
    fn topics(&self) -> Result<Vec<TopicState>, TargetError> {
        let storage = self.service.storage();
        Ok(self
            .service
            .list_topics()
            .into_iter()
            .filter_map(|t| storage.topic(&t.name))
            .map(|t| TopicState {
                name: t.name,
                partitions: t.partitions,
                configs: t.overrides,
            })
            .collect())
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: Option<u32>,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), TargetError> {
        let partitions = partitions.unwrap_or_else(|| self.service.cluster().default_partitions);
        self.service
            .create_topic(name, partitions, configs, validate_only)
            .map(drop)
            .map_err(refused)
    }

    fn add_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        self.service
            .create_partitions(name, count, validate_only)
            .map(drop)
            .map_err(refused)
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &[(String, String)],
        reset: &[String],
        validate_only: bool,
    ) -> Result<(), TargetError> {
        let mut changes: Vec<ConfigChange> = set
            .iter()
            .map(|(k, v)| ConfigChange {
                name: k.clone(),
                op: ConfigOp::Set,
                value: Some(v.clone()),
            })
            .collect();
        changes.extend(reset.iter().map(|k| ConfigChange {
            name: k.clone(),
            op: ConfigOp::Delete,
            value: None,
        }));
        self.service
            .alter_topic_configs(name, &changes, false, validate_only)
            .map_err(refused)
    }

    fn delete_topic(&self, name: &str, validate_only: bool) -> Result<(), TargetError> {
        if validate_only {
            return self
                .service
                .describe_topic(name, false)
                .map(drop)
                .map_err(refused);
        }
        self.service.delete_topic(name).map_err(refused)
    }

    fn addresses(&self) -> Result<Vec<AddressSpec>, TargetError> {
        Ok(self
            .queues
            .list_addresses()
            .into_iter()
            .filter(|a| !a.temporary)
            .map(|a| {
                let mut routing_types = a.routing_types;
                routing_types.sort_by_key(|r| r.as_str());
                AddressSpec {
                    name: a.name,
                    routing_types,
                }
            })
            .collect())
    }

    // A dry run checks names only: what the same apply creates first does not exist yet.
    fn create_address(
        &self,
        address: &AddressSpec,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        if validate_only {
            return sluice_queues::validate_name(&address.name).map_err(queues_refused);
        }
        self.queues
            .add_address(&address.name, &address.routing_types)
            .map(drop)
            .map_err(queues_refused)
    }

    fn alter_address(&self, address: &AddressSpec, validate_only: bool) -> Result<(), TargetError> {
        if validate_only {
            return Ok(());
        }
        self.queues
            .add_routing_types(&address.name, &address.routing_types)
            .map_err(queues_refused)
    }

    fn delete_address(&self, name: &str, validate_only: bool) -> Result<(), TargetError> {
        if validate_only {
            return Ok(());
        }
        self.queues
            .remove_address(name, false)
            .map(drop)
            .map_err(queues_refused)
    }

    fn queues(&self) -> Result<Vec<QueueSpec>, TargetError> {
        Ok(self
            .queues
            .stats()
            .into_iter()
            .filter(|q| !q.temporary)
            .map(|q| QueueSpec {
                name: q.name,
                address: q.address,
                routing_type: q.routing,
                durable: q.durable,
                purge_on_no_consumers: q.purge_on_no_consumers,
                exclusive: q.exclusive,
                max_consumers: q.max_consumers,
                filter: q.filter,
                last_value_key: q.last_value_key,
                ring_size: q.ring_size,
            })
            .collect())
    }

    fn create_queue(&self, queue: &QueueSpec, validate_only: bool) -> Result<(), TargetError> {
        if validate_only {
            return sluice_queues::validate_name(&queue.name).map_err(queues_refused);
        }
        self.queues
            .add_queue(NewQueue {
                name: queue.name.clone(),
                address: Some(queue.address.clone()),
                routing: Some(queue.routing_type),
                durable: queue.durable,
                purge_on_no_consumers: queue.purge_on_no_consumers,
                exclusive: queue.exclusive,
                max_consumers: queue.max_consumers,
                filter: queue.filter.clone(),
                last_value_key: queue.last_value_key.clone(),
                ring_size: queue.ring_size,
                // The file declares its addresses, created before its queues.
                auto_create_address: false,
            })
            .map(drop)
            .map_err(queues_refused)
    }

    fn alter_queue(&self, queue: &QueueSpec, validate_only: bool) -> Result<(), TargetError> {
        if validate_only {
            return Ok(());
        }
        self.queues
            .update_queue(
                &queue.address,
                &queue.name,
                QueueUpdate {
                    purge_on_no_consumers: queue.purge_on_no_consumers,
                    exclusive: queue.exclusive,
                    max_consumers: queue.max_consumers,
                    filter: queue.filter.clone(),
                    last_value_key: queue.last_value_key.clone(),
                    ring_size: queue.ring_size,
                },
            )
            .map_err(queues_refused)
    }

    fn delete_queue(
        &self,
        address: &str,
        name: &str,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        if validate_only {
            return Ok(());
        }
        // As `sluice queue delete` without `--remove-consumers`: a queue in use stays, and
        // the apply reports why.
        self.queues
            .remove_queue(&format!("{address}::{name}"), false)
            .map(drop)
            .map_err(queues_refused)
    }

    // Address settings: a layer of rules above the configuration's, so that deleting a rule
    // brings back what the configuration says; listing returns that layer.
    fn address_settings(&self) -> Result<Vec<AddressSettingsRule>, TargetError> {
        Err(TargetError::Unsupported("address settings".into()))
    }

    fn set_address_settings(&self, _: &AddressSettingsRule, _: bool) -> Result<(), TargetError> {
        Err(TargetError::Unsupported("setting address settings".into()))
    }

    fn delete_address_settings(&self, _: &str, _: bool) -> Result<(), TargetError> {
        Err(TargetError::Unsupported("deleting address settings".into()))
    }

    fn users(&self) -> Result<Vec<UserState>, TargetError> {
        Ok(self
            .security
            .users()
            .into_iter()
            .map(|u| UserState {
                name: u.name,
                password_sha256: u.password_sha256,
            })
            .collect())
    }

    fn set_user(&self, name: &str, password: &str, validate_only: bool) -> Result<(), TargetError> {
        if !validate_only {
            self.security.set_user(name, password);
        }
        Ok(())
    }

    fn delete_user(&self, name: &str, validate_only: bool) -> Result<(), TargetError> {
        if !validate_only {
            self.security.remove_user(name);
        }
        Ok(())
    }

    fn plugins(&self) -> Result<Vec<PluginState>, TargetError> {
        let mut all = self.listeners.status();
        all.extend(self.policies.status());
        Ok(all.into_iter().filter_map(plugin_state).collect())
    }

    fn source_sha256(&self, kind: PluginKind, source: &str) -> Result<String, TargetError> {
        let parsed = Source::parse(source, builtins(kind))
            .map_err(|e| TargetError::Refused(format!("source: {e}")))?;
        let bytes = parsed
            .bytes()
            .map_err(|e| TargetError::Refused(e.to_string()))?;
        Ok(sluice_plugin_runtime::sha256_hex(&bytes))
    }

    async fn load_plugin(
        &self,
        plugin: &PluginSpec,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        if validate_only {
            check_name(&plugin.name).map_err(control)?;
            return readable(plugin.kind, &plugin.source).map(drop);
        }
        match plugin.kind {
            PluginKind::Codec => {
                let defaults = crate::config::listener_defaults();
                let settings = ListenerConfig {
                    address: plugin.address.clone().unwrap_or_default(),
                    codec: plugin.source.clone(),
                    advertised: plugin.advertised.clone(),
                    frame_bytes_max: plugin.frame_bytes_max.unwrap_or(defaults.frame_bytes_max),
                    connections_max: plugin.connections_max.unwrap_or(defaults.connections_max),
                };
                self.listeners.start(&plugin.name, &settings).await
            }
            PluginKind::Router | PluginKind::Filter => {
                let entry = policy_config(plugin)?;
                self.policies.insert(&self.runtime, &entry, false).await
            }
        }
        .map(drop)
        .map_err(control)
    }

    async fn swap_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        let parsed = readable(kind, source)?;
        if validate_only {
            return Ok(());
        }
        match kind {
            PluginKind::Codec => {
                let slot = self.listeners.slot(name).ok_or_else(|| {
                    TargetError::Refused(format!("no listener named `{name}` runs"))
                })?;
                slot.swap(&self.runtime, Some(parsed))
                    .await
                    .map(drop)
                    .map_err(|e| TargetError::Refused(e.to_string()))
            }
            PluginKind::Router | PluginKind::Filter => self
                .policies
                .swap(&self.runtime, policy_kind(kind)?, name, Some(source))
                .await
                .map(drop)
                .map_err(control),
        }
    }

    async fn replace_plugin(
        &self,
        plugin: &PluginSpec,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        let entry = policy_config(plugin)?;
        if validate_only {
            return readable(plugin.kind, &plugin.source).map(drop);
        }
        self.policies
            .insert(&self.runtime, &entry, true)
            .await
            .map(drop)
            .map_err(control)
    }

    async fn unload_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        validate_only: bool,
    ) -> Result<(), TargetError> {
        if validate_only {
            return Ok(());
        }
        match kind {
            PluginKind::Codec => self.listeners.stop(name).await.map_err(control),
            PluginKind::Router | PluginKind::Filter => self
                .policies
                .unload(&self.runtime, policy_kind(kind)?, name, &self.plugin_users)
                .await
                .map(drop)
                .map_err(control),
        }
    }
}

fn policy_config(plugin: &PluginSpec) -> Result<PolicyConfig, TargetError> {
    Ok(PolicyConfig {
        name: plugin.name.clone(),
        kind: policy_kind(plugin.kind)?,
        source: plugin.source.clone(),
        on_failure: plugin.on_failure,
        call_deadline_ms: plugin.call_deadline_ms,
        memory_bytes_max: plugin.memory_bytes_max,
    })
}
