//! Configuration: built-in defaults, then the TOML file, then `SLUICE_*` environment
//! variables, then command-line flags ([`resolve`]; the variables' rule is in `env`).
//!
//! Every limit the broker enforces is a named field here (or a named constant where it is not
//! an operator's choice), with its default and the reason for it.
mod env;
mod layers;
pub mod report;
mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use env::var_for;
pub use layers::{Provenance, Source, display as dotted};
pub use resolve::{Resolved, resolve};

/// The name of the listener `sluice serve` starts when the configuration names none, and the
/// one `--kafka` configures.
pub const KAFKA_LISTENER: &str = "kafka";
/// Kafka's well-known port, on loopback so a fresh broker is not reachable from the network.
pub const KAFKA_ADDRESS_DEFAULT: &str = "127.0.0.1:9092";
/// The AMQP listener `sluice serve` starts when the configuration names none, and the one
/// `--amqp` configures.
pub const AMQP_LISTENER: &str = "amqp";
/// AMQP's well-known port (IANA 5672), on loopback.
pub const AMQP_ADDRESS_DEFAULT: &str = "127.0.0.1:5672";
/// The address every broker has for messages that failed too often or were rejected, as
/// Artemis's default `broker.xml` declares it.
pub const DEAD_LETTER_ADDRESS: &str = "DLQ";
/// The address every broker has for expired messages, as Artemis's default `broker.xml`.
pub const EXPIRY_ADDRESS: &str = "ExpiryQueue";
/// Built-in codecs are named `builtin:NAME`; anything else is a path to a `.wasm` file.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The whole configuration of one broker.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// Where logs, metadata and the compiled-plugin cache live.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// This broker's id in Kafka metadata.
    #[serde(default)]
    pub node_id: i32,
    /// Topic defaults.
    #[serde(default)]
    pub topics: TopicsConfig,
    /// Consumer group settings and limits.
    #[serde(default)]
    pub groups: GroupsConfig,
    /// Limits every plugin instance runs under.
    #[serde(default)]
    pub plugins: PluginsConfig,
    /// Listeners by name. When the file has none, a Kafka listener on
    /// [`KAFKA_ADDRESS_DEFAULT`] and an AMQP one on [`AMQP_ADDRESS_DEFAULT`] are started.
    #[serde(default)]
    pub listeners: BTreeMap<String, ListenerConfig>,
    /// Addresses and queues declared at start, besides the built-in [`DEAD_LETTER_ADDRESS`]
    /// and [`EXPIRY_ADDRESS`]. Others are created on first use (see `address-settings`).
    #[serde(default)]
    pub addresses: Vec<sluice_queues::AddressConfig>,
    /// Address settings by wildcard (`#` any words, `*` one word, `.` between words), merged
    /// field by field, the most specific match winning. A built-in rule for `#` comes first:
    /// dead letters to [`DEAD_LETTER_ADDRESS`], expired messages to [`EXPIRY_ADDRESS`].
    #[serde(default)]
    pub address_settings: Vec<sluice_queues::AddressSettingsRule>,
    /// Queue bookkeeping and limits.
    #[serde(default)]
    pub queues: QueuesSettings,
    /// Users and anonymous access.
    #[serde(default)]
    pub security: crate::security::SecurityConfig,
    /// The admin HTTP API.
    #[serde(default)]
    pub admin: crate::admin::AdminConfig,
    /// The declared resources file, applied at start and whenever it changes.
    #[serde(default)]
    pub resources: crate::resources::ResourcesConfig,
    /// Log format and filter.
    #[serde(default)]
    pub log: crate::logging::LogConfig,
}

/// The `[queues]` table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueuesSettings {
    /// How often queues' acknowledgements are fsynced. A power loss can undo this much of
    /// them (the messages are redelivered); a process crash loses none.
    pub sync_interval_ms: u64,
    /// Consumers one connection may open.
    pub consumers_per_connection_max: usize,
    /// Messages with an expiry each queue tracks to expire them while nobody consumes; past
    /// this, an expired message is found when it is next delivered.
    pub expiry_tracked_max: usize,
    /// Queues the broker holds.
    pub queues_max: usize,
}

impl Default for QueuesSettings {
    fn default() -> Self {
        let config = sluice_queues::QueuesConfig::default();
        QueuesSettings {
            sync_interval_ms: config.sync_interval_ms,
            consumers_per_connection_max: config.limits.consumers_per_connection_max,
            expiry_tracked_max: config.limits.expiry_tracked_max,
            queues_max: config.limits.queues_max,
        }
    }
}

impl Config {
    /// The address model's configuration: the built-in dead-letter and expiry addresses and
    /// their `#` rule, then what the file declares.
    pub fn queues_config(&self) -> sluice_queues::QueuesConfig {
        use sluice_queues::{AddressConfig, AddressSettingsRule, QueueConfig, RoutingType};
        let defaults = sluice_queues::QueuesConfig::default();
        let builtin_address = |name: &str| AddressConfig {
            name: name.to_owned(),
            routing: vec![RoutingType::Anycast],
            queues: vec![QueueConfig {
                name: name.to_owned(),
                routing: RoutingType::Anycast,
                durable: true,
                exclusive: false,
                max_consumers: -1,
                purge_on_no_consumers: false,
                ..QueueConfig::default()
            }],
        };
        let mut addresses = vec![
            builtin_address(DEAD_LETTER_ADDRESS),
            builtin_address(EXPIRY_ADDRESS),
        ];
        addresses.extend(self.addresses.iter().cloned());
        let mut address_settings = vec![AddressSettingsRule {
            pattern: "#".to_owned(),
            dead_letter_address: Some(DEAD_LETTER_ADDRESS.to_owned()),
            expiry_address: Some(EXPIRY_ADDRESS.to_owned()),
            ..AddressSettingsRule::default()
        }];
        address_settings.extend(self.address_settings.iter().cloned());
        sluice_queues::QueuesConfig {
            addresses,
            address_settings,
            partitions: self.topics.default_partitions,
            sync_interval_ms: self.queues.sync_interval_ms,
            limits: sluice_queues::QueueLimits {
                consumers_per_connection_max: self.queues.consumers_per_connection_max,
                expiry_tracked_max: self.queues.expiry_tracked_max,
                queues_max: self.queues.queues_max,
                ..defaults.limits
            },
        }
    }
}

/// Topic defaults and bounds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct TopicsConfig {
    /// Create a topic when a client asks for one that does not exist (Kafka's
    /// `auto.create.topics.enable`).
    pub auto_create: bool,
    /// Partitions of an auto-created topic (Kafka's `num.partitions`).
    pub default_partitions: u32,
    /// Most partitions one topic may have: each is an open file and an index in memory.
    pub partitions_max: u32,
    /// Largest `max.message.bytes` a topic may set: the hard ceiling on one record batch,
    /// whatever a topic says.
    pub batch_bytes_max: u32,
    /// Default `max.message.bytes`: a larger record batch is refused (Kafka's
    /// `message.max.bytes`).
    pub max_message_bytes: u32,
    /// Default `cleanup.policy`: `delete`, `compact`, or `compact,delete`.
    pub cleanup_policy: String,
    /// Default `delete.retention.ms`: how long a tombstone survives compaction.
    pub delete_retention_ms: i64,
    /// Default `min.compaction.lag.ms`: a record younger than this is never compacted away.
    pub min_compaction_lag_ms: i64,
    /// Default `min.cleanable.dirty.ratio`: the share of a log not yet compacted above which
    /// the cleaner compacts it.
    pub min_cleanable_dirty_ratio: f64,
    /// How often the cleaner compacts what is due (Kafka's `log.cleaner.backoff.ms`).
    pub compaction_check_ms: u64,
    /// Most bytes one read returns (bounds the memory of one fetch).
    pub read_bytes_max: u32,
    /// Default `retention.ms`: delete segments whose newest record is older; -1 keeps all.
    pub retention_ms: i64,
    /// Default `retention.bytes`: delete oldest segments while a partition is bigger; -1 for
    /// no limit.
    pub retention_bytes: i64,
    /// Default `segment.bytes`: roll a segment before it grows past this.
    pub segment_bytes: u64,
    /// Default `segment.ms`: roll a non-empty segment older than this.
    pub segment_ms: i64,
    /// Default durability policy, `fsync` (acknowledged writes are on disk) or `relaxed`
    /// (flushed every `flush-ms` / `flush-bytes`; a power loss can lose that interval).
    pub durability: String,
    /// Default `flush.ms`, used by `relaxed`.
    pub flush_ms: u64,
    /// Default `flush.bytes`, used by `relaxed`.
    pub flush_bytes: u64,
    /// How often retention runs (Kafka's `log.retention.check.interval.ms`).
    pub retention_check_ms: u64,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        let t = sluice_storage::TopicConfig::default();
        TopicsConfig {
            auto_create: true,
            default_partitions: 1,
            partitions_max: 1024,
            batch_bytes_max: 16 << 20,
            read_bytes_max: 16 << 20,
            retention_ms: t.retention_ms,
            retention_bytes: t.retention_bytes,
            segment_bytes: t.segment_bytes,
            segment_ms: t.segment_ms,
            durability: t.durability.as_str().to_owned(),
            flush_ms: t.flush_ms,
            flush_bytes: t.flush_bytes,
            retention_check_ms: 300_000,
            max_message_bytes: default_of(&t, "max.message.bytes", 1_048_588),
            cleanup_policy: t.value("cleanup.policy"),
            delete_retention_ms: default_of(&t, "delete.retention.ms", 86_400_000),
            min_compaction_lag_ms: default_of(&t, "min.compaction.lag.ms", 0),
            min_cleanable_dirty_ratio: default_of(&t, "min.cleanable.dirty.ratio", 0.5),
            compaction_check_ms: 15_000,
        }
    }
}

impl TopicsConfig {
    /// The storage defaults these settings describe, validated; errors name the `topics.` key.
    pub fn topic_defaults(&self) -> Result<sluice_storage::TopicConfig, ConfigError> {
        let base = sluice_storage::TopicConfig::default();
        let mut overrides = sluice_storage::TopicOverrides::new();
        for (name, value) in [
            ("retention.ms", self.retention_ms.to_string()),
            ("retention.bytes", self.retention_bytes.to_string()),
            ("segment.bytes", self.segment_bytes.to_string()),
            ("segment.ms", self.segment_ms.to_string()),
            ("durability", self.durability.clone()),
            ("flush.ms", self.flush_ms.to_string()),
            ("flush.bytes", self.flush_bytes.to_string()),
            ("max.message.bytes", self.max_message_bytes.to_string()),
            ("cleanup.policy", self.cleanup_policy.clone()),
            ("delete.retention.ms", self.delete_retention_ms.to_string()),
            (
                "min.compaction.lag.ms",
                self.min_compaction_lag_ms.to_string(),
            ),
            (
                "min.cleanable.dirty.ratio",
                self.min_cleanable_dirty_ratio.to_string(),
            ),
        ] {
            overrides.insert(name.to_owned(), value);
        }
        sluice_storage::TopicConfig::resolve(&base, &overrides).map_err(|e| match e {
            sluice_storage::StorageError::InvalidConfig {
                name,
                value,
                reason,
            } => ConfigError::Invalid(format!(
                "topics.{} = {value:?}: {reason}",
                name.replace('.', "-")
            )),
            other => ConfigError::Invalid(other.to_string()),
        })
    }
}

/// The storage default of a topic setting, parsed; `fallback` only if storage's value does
/// not parse, which its own tests rule out.
fn default_of<T: std::str::FromStr>(t: &sluice_storage::TopicConfig, name: &str, fallback: T) -> T {
    t.value(name).parse().unwrap_or(fallback)
}

/// Consumer groups: Kafka's `group.*` settings and the coordinator's limits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct GroupsConfig {
    /// How long the first rebalance of an empty group waits for more members to join
    /// (Kafka's `group.initial.rebalance.delay.ms`).
    pub initial_rebalance_delay_ms: u32,
    /// Shortest session timeout a member may ask for (`group.min.session.timeout.ms`).
    pub session_timeout_min_ms: u32,
    /// Longest session timeout a member may ask for (`group.max.session.timeout.ms`).
    pub session_timeout_max_ms: u32,
    /// Most members in one group (`group.max.size`).
    pub members_max: usize,
    /// Most groups the broker keeps.
    pub groups_max: usize,
    /// Most committed offsets the broker keeps, all groups together.
    pub offsets_max: usize,
    /// Longest metadata one committed offset may carry (`offset.metadata.max.bytes`).
    pub offset_metadata_bytes_max: usize,
}

impl Default for GroupsConfig {
    fn default() -> Self {
        let l = sluice_groups::GroupLimits::default();
        GroupsConfig {
            initial_rebalance_delay_ms: l.initial_rebalance_delay_ms,
            session_timeout_min_ms: l.session_timeout_min_ms,
            session_timeout_max_ms: l.session_timeout_max_ms,
            members_max: l.members_max,
            groups_max: l.groups_max,
            offsets_max: l.offsets_max,
            offset_metadata_bytes_max: l.offset_metadata_bytes_max,
        }
    }
}

impl GroupsConfig {
    /// The coordinator's limits.
    pub fn limits(&self) -> sluice_groups::GroupLimits {
        sluice_groups::GroupLimits {
            initial_rebalance_delay_ms: self.initial_rebalance_delay_ms,
            session_timeout_min_ms: self.session_timeout_min_ms,
            session_timeout_max_ms: self.session_timeout_max_ms,
            members_max: self.members_max,
            groups_max: self.groups_max,
            offsets_max: self.offsets_max,
            offset_metadata_bytes_max: self.offset_metadata_bytes_max,
            ..sluice_groups::GroupLimits::default()
        }
    }
}

/// 64 MiB: a router or filter holds one batch (at most a receive's or a send's messages) and
/// what it compiled from its configurations; far more means a leak.
pub const POLICY_MEMORY_BYTES_MAX_DEFAULT: usize = 64 << 20;

/// The `[plugins]` table: limits for plugins (see `sluice_plugin_runtime::Limits`), and the
/// routers and filters loaded besides the built-in ones.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct PluginsConfig {
    /// Linear memory one codec instance may use.
    pub memory_bytes_max: usize,
    /// Wall time one codec call may take.
    pub call_deadline_ms: u64,
    /// Connections one codec instance serves.
    pub connections_per_instance: usize,
    /// Cache compiled plugins (under `cache-dir`).
    pub cache: bool,
    /// Where compiled plugins are cached; default `<data-dir>/plugin-cache`. Brokers may
    /// share one: entries are keyed by the component's hash and the engine's settings.
    pub cache_dir: Option<PathBuf>,
    /// Wall time one router or filter call (one batch) may take. Short, because the call runs
    /// on the thread of the send or receive that needs it.
    pub policy_call_deadline_ms: u64,
    /// Linear memory one router or filter instance may use.
    pub policy_memory_bytes_max: usize,
    /// What routers' messages do while a router fails: `hold` or `pass`.
    pub router_on_failure: crate::plugins::OnFailure,
    /// What filters' messages do while a filter fails: `hold` or `pass`.
    pub filter_on_failure: crate::plugins::OnFailure,
    /// Routers and filters to load (`[[plugins.load]]`), adding to or replacing built-ins.
    pub load: Vec<crate::plugins::PolicyConfig>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        let limits = sluice_plugin_runtime::Limits::default();
        PluginsConfig {
            memory_bytes_max: limits.memory_bytes_max,
            call_deadline_ms: limits.call_deadline.as_millis() as u64,
            connections_per_instance: limits.connections_per_instance,
            cache: true,
            cache_dir: None,
            policy_call_deadline_ms: sluice_plugin_runtime::POLICY_CALL_DEADLINE_DEFAULT.as_millis()
                as u64,
            policy_memory_bytes_max: POLICY_MEMORY_BYTES_MAX_DEFAULT,
            router_on_failure: crate::plugins::OnFailure::Hold,
            filter_on_failure: crate::plugins::OnFailure::Hold,
            load: Vec::new(),
        }
    }
}

impl PluginsConfig {
    /// The runtime's view of these settings.
    pub fn limits(&self) -> sluice_plugin_runtime::Limits {
        sluice_plugin_runtime::Limits {
            memory_bytes_max: self.memory_bytes_max,
            call_deadline: Duration::from_millis(self.call_deadline_ms),
            connections_per_instance: self.connections_per_instance.max(1),
        }
    }
}

/// The smallest `frame-bytes-max` a listener accepts: below it no protocol's handshake fits.
pub const FRAME_BYTES_MIN: u32 = 1024;

/// One listener: an address and the codec that speaks on it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ListenerConfig {
    /// `host:port` to bind.
    pub address: String,
    /// `builtin:NAME` or a path to a codec component.
    #[serde(default = "default_codec")]
    pub codec: String,
    /// `host:port` announced to clients (Kafka metadata). Default: the address the client
    /// connected to.
    #[serde(default)]
    pub advertised: Option<String>,
    /// Largest frame a codec accepts from a peer. 100 MiB, Kafka's
    /// `socket.request.max.bytes`.
    #[serde(default = "default_frame_bytes_max")]
    pub frame_bytes_max: u32,
    /// Open connections at once; further ones wait in the accept queue.
    #[serde(default = "default_connections_max")]
    pub connections_max: usize,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./sluice-data")
}
fn default_codec() -> String {
    format!("{BUILTIN_PREFIX}codec-kafka")
}
fn default_frame_bytes_max() -> u32 {
    100 << 20
}
/// 10,000 connections per listener, the project's target for one broker.
fn default_connections_max() -> usize {
    10_000
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: default_data_dir(),
            node_id: 0,
            topics: TopicsConfig::default(),
            groups: GroupsConfig::default(),
            plugins: PluginsConfig::default(),
            listeners: BTreeMap::new(),
            addresses: Vec::new(),
            address_settings: Vec::new(),
            queues: QueuesSettings::default(),
            security: crate::security::SecurityConfig::default(),
            admin: crate::admin::AdminConfig::default(),
            resources: crate::resources::ResourcesConfig::default(),
            log: crate::logging::LogConfig::default(),
        }
    }
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// `SLUICE_*` variables that name no setting, or give one a value of the wrong type:
    /// one line per variable, naming it.
    #[error("invalid environment:{}", env::problems_text(.0))]
    Env(Vec<String>),
    /// A value is out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Overrides from the command line; `None` keeps the value of the layers below.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--kafka`.
    pub kafka: Option<String>,
    /// `--amqp`.
    pub amqp: Option<String>,
    /// `--admin`.
    pub admin: Option<String>,
    /// `--resources`.
    pub resources: Option<PathBuf>,
    /// `--log-format`.
    pub log_format: Option<crate::logging::LogFormat>,
}

impl Overrides {
    /// What `sluice serve`'s flags (and `sluice config show`'s, the same) override.
    pub fn of_serve(
        args: &crate::cli::ServeArgs,
        log_format: Option<crate::logging::LogFormat>,
    ) -> Overrides {
        Overrides {
            data_dir: args.data_dir.clone(),
            kafka: args.kafka.clone(),
            amqp: args.amqp.clone(),
            admin: args.admin.clone(),
            resources: args.resources.clone(),
            log_format,
        }
    }
}

/// The configuration `sluice serve` runs with (and `sluice config show` prints): `--config`
/// (or `SLUICE_CONFIG`), the process's `SLUICE_*` variables, and the flags.
pub fn of_serve(
    args: &crate::cli::ServeArgs,
    log_format: Option<crate::logging::LogFormat>,
) -> Result<Resolved, ConfigError> {
    resolve(
        args.config.as_deref(),
        &Overrides::of_serve(args, log_format),
        std::env::vars_os(),
    )
}

/// What settings exist and their types, for the environment layer.
fn schema() -> env::Schema {
    env::Schema {
        root: serde_json::to_value(Config::default()).unwrap_or_default(),
        named_entry: serde_json::to_value(listener_defaults()).unwrap_or_default(),
    }
}

impl Config {
    /// The file (if any) and the overrides over the defaults, checked; no environment
    /// variables (see [`resolve`] for those).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        resolve(file, overrides, std::iter::empty()).map(|r| r.config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let t = &self.topics;
        if t.default_partitions == 0 || t.default_partitions > t.partitions_max {
            return Err(ConfigError::Invalid(format!(
                "topics.default-partitions must be in 1..={} (topics.partitions-max), not {}",
                t.partitions_max, t.default_partitions
            )));
        }
        self.topics.topic_defaults()?;
        if self.topics.retention_check_ms == 0 || self.topics.compaction_check_ms == 0 {
            return Err(ConfigError::Invalid(
                "topics.retention-check-ms and topics.compaction-check-ms must be above 0".into(),
            ));
        }
        let g = &self.groups;
        if g.session_timeout_min_ms > g.session_timeout_max_ms {
            return Err(ConfigError::Invalid(format!(
                "groups.session-timeout-min-ms ({}) is above groups.session-timeout-max-ms ({})",
                g.session_timeout_min_ms, g.session_timeout_max_ms
            )));
        }
        if self.plugins.call_deadline_ms == 0 || self.plugins.policy_call_deadline_ms == 0 {
            return Err(ConfigError::Invalid(
                "plugins.call-deadline-ms and plugins.policy-call-deadline-ms must be above 0"
                    .into(),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for entry in &self.plugins.load {
            if !names.insert((entry.kind, entry.name.as_str())) {
                return Err(ConfigError::Invalid(format!(
                    "plugins.load names the {:?} `{}` twice",
                    entry.kind, entry.name
                )));
            }
            if entry.call_deadline_ms == Some(0) {
                return Err(ConfigError::Invalid(format!(
                    "plugins.load `{}`: call-deadline-ms must be above 0",
                    entry.name
                )));
            }
        }
        self.log.check().map_err(ConfigError::Invalid)?;
        for (name, listener) in &self.listeners {
            if listener.frame_bytes_max < FRAME_BYTES_MIN {
                return Err(ConfigError::Invalid(format!(
                    "listeners.{name}.frame-bytes-max must be at least 1024"
                )));
            }
        }
        Ok(())
    }
}

/// A listener's settings where only the address and codec are given: the defaults the file's
/// listeners get, for listeners the admin API starts.
pub fn listener_defaults() -> ListenerConfig {
    listener("", "codec-kafka")
}

fn listener(address: &str, codec: &str) -> ListenerConfig {
    ListenerConfig {
        address: address.to_string(),
        codec: format!("{BUILTIN_PREFIX}{codec}"),
        advertised: None,
        frame_bytes_max: default_frame_bytes_max(),
        connections_max: default_connections_max(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn no_file_gives_kafka_on_loopback_and_local_data_dir() {
        let config = Config::load(None, &Overrides::default()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("./sluice-data"));
        assert_eq!(config.listeners[KAFKA_LISTENER].address, "127.0.0.1:9092");
        assert_eq!(
            config.listeners[KAFKA_LISTENER].codec,
            "builtin:codec-kafka"
        );
        assert_eq!(config.listeners[AMQP_LISTENER].address, "127.0.0.1:5672");
        assert_eq!(config.listeners[AMQP_LISTENER].codec, "builtin:codec-amqp");
    }

    #[test]
    fn addresses_and_settings_come_after_the_built_in_dead_letter_and_expiry_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            "[[addresses]]\nname = \"orders\"\nrouting = [\"anycast\"]\n\
             [[addresses.queues]]\nname = \"orders\"\nrouting = \"anycast\"\n\
             [[address-settings]]\nmatch = \"orders.#\"\nmax-delivery-attempts = 3\n",
        )
        .unwrap();
        let queues = Config::load(Some(&path), &Overrides::default())
            .unwrap()
            .queues_config();
        let names: Vec<_> = queues.addresses.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["DLQ", "ExpiryQueue", "orders"]);
        let rules: Vec<_> = queues
            .address_settings
            .iter()
            .map(|r| (r.pattern.as_str(), r.max_delivery_attempts))
            .collect();
        assert_eq!(rules, [("#", None), ("orders.#", Some(3))]);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            "data-dir = \"/a\"\n[listeners.kafka]\naddress = \"127.0.0.1:1\"\n[listeners.other]\naddress = \"127.0.0.1:2\"\ncodec = \"/x.wasm\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            data_dir: Some("/b".into()),
            kafka: Some("127.0.0.1:3".into()),
            ..Overrides::default()
        };
        let config = Config::load(Some(&path), &overrides).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/b"));
        assert_eq!(config.listeners["kafka"].address, "127.0.0.1:3");
        assert_eq!(config.listeners["other"].codec, "/x.wasm");
    }

    #[test]
    fn a_table_with_some_keys_keeps_the_defaults_of_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(
            &path,
            "[topics]\ndefault-partitions = 3\n[plugins]\ncall-deadline-ms = 200\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(config.topics.default_partitions, 3);
        assert_eq!(config.topics.partitions_max, 1024);
        assert_eq!(config.plugins.call_deadline_ms, 200);
        assert_eq!(config.plugins.connections_per_instance, 64);
    }

    #[test]
    fn the_readme_configuration_example_is_a_valid_configuration() {
        let readme = include_str!("../../../README.md");
        let example = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, example).unwrap();
        let config = Config::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(config.listeners.len(), 2);
        assert_eq!(config.security.users.len(), 1);
        assert!(
            config
                .queues_config()
                .addresses
                .iter()
                .any(|a| a.name == "orders")
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, "data-dri = \"/a\"\n").unwrap();
        let err = Config::load(Some(&path), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("data-dri"), "{err}");
    }
}
