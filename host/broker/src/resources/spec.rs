//! The resources file: what an operator declares the broker holds, in TOML, as Strimzi's
//! `KafkaTopic` and `KafkaUser` resources declare a Kafka cluster's.
//!
//! ```toml
//! [[topics]]
//! name = "lines"
//! partitions = 2
//! replicas = 1
//! [topics.config]
//! "retention.ms" = 7200000
//!
//! [[users]]
//! name = "alice"
//! password = "wonderland"
//! ```
//!
//! Plain data, read and checked here before anything is applied: a file that does not parse,
//! names a field nobody knows, or names one resource twice is refused whole.
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sluice_queues::{AddressSettingsRule, FilterRef, RoutingType};

use crate::plugins::OnFailure;

/// Largest resources file (or `content` sent to the admin API): far above any hand-written
/// file, small enough that reading and diffing one is instant.
pub const RESOURCES_FILE_BYTES_MAX: usize = 1 << 20;

/// Most resources one file may declare, all kinds together: each is at least one call into
/// the broker per apply, and the broker holds at most 10,000 queues anyway.
pub const RESOURCES_MAX: usize = 10_000;

/// Everything a resources file declares.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ResourceFile {
    /// Kafka topics.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// Addresses (Artemis's model).
    #[serde(default)]
    pub addresses: Vec<AddressSpec>,
    /// Queues on addresses.
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
    /// Address settings rules, by `match` pattern: the fields of the configuration's
    /// `[[address-settings]]`.
    #[serde(default)]
    pub address_settings: Vec<AddressSettingsRule>,
    /// Users who may log in with a password.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Routers, filters and codecs.
    #[serde(default)]
    pub plugins: Vec<PluginSpec>,
}

/// One Kafka topic.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic's name.
    pub name: String,
    /// Partitions; only ever raised. Default: the broker's `topics.default-partitions` when
    /// created, and whatever it has afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// Copies of each partition. This broker is a single node: above 1 is applied as 1, with
    /// a warning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Topic settings under Kafka's names (`retention.ms`, `segment.bytes` ...), as strings or
    /// numbers. A key removed from here goes back to the broker's default.
    #[serde(default, deserialize_with = "config_values")]
    pub config: BTreeMap<String, String>,
}

/// One address and the routing types it offers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AddressSpec {
    /// The address name.
    pub name: String,
    /// `anycast`, `multicast` or both; kept sorted.
    pub routing_types: Vec<RoutingType>,
}

/// One queue, named on its address.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueueSpec {
    /// The queue's name, unique on its address.
    pub name: String,
    /// Its address; default the queue's name.
    #[serde(default)]
    pub address: String,
    /// Anycast (competing consumers) or multicast (a subscription). Fixed once created.
    pub routing_type: RoutingType,
    /// Survives a restart. Fixed once created.
    #[serde(default = "yes")]
    pub durable: bool,
    /// Dropped messages when its last consumer leaves.
    #[serde(default)]
    pub purge_on_no_consumers: bool,
    /// Delivers to one consumer at a time.
    #[serde(default)]
    pub exclusive: bool,
    /// Consumers at once; -1 for no limit.
    #[serde(default = "unlimited")]
    pub max_consumers: i32,
    /// A selector, or `{ plugin, config }` naming a filter plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterRef>,
    /// A last-value queue keyed by this header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value_key: Option<String>,
    /// A ring queue of this many messages, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_size: Option<u64>,
}

impl QueueSpec {
    /// How changes name it: `address::queue`, or the name alone when the two are the same.
    pub fn display_name(&self) -> String {
        queue_name(&self.address, &self.name)
    }
}

/// How changes name the queue `name` of `address`.
pub fn queue_name(address: &str, name: &str) -> String {
    if address == name {
        name.to_owned()
    } else {
        format!("{address}{}{name}", sluice_queues::FQQN_SEPARATOR)
    }
}

/// One user who may log in with a password (SASL PLAIN).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UserSpec {
    /// The user name.
    pub name: String,
    /// Its password, in clear as in the configuration's `[[security.users]]`; never reported
    /// nor recorded.
    pub password: String,
}

impl std::fmt::Debug for UserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The kinds of plugin a file may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// A protocol codec on a listener of its own (`address`).
    Codec,
    /// A router, which address settings name.
    Router,
    /// A filter, which address settings and queues name.
    Filter,
}

impl PluginKind {
    /// As files, paths and reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Codec => "codec",
            PluginKind::Router => "router",
            PluginKind::Filter => "filter",
        }
    }
}

/// One plugin: a router or filter under a name, or a codec serving a listener of that name.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PluginSpec {
    /// `codec`, `router` or `filter`.
    pub kind: PluginKind,
    /// The name settings use (a codec's is its listener's).
    pub name: String,
    /// `builtin:NAME` or a path to a component, as the broker sees it.
    pub source: String,
    /// Routers and filters: `hold` or `pass` while it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailure>,
    /// Routers and filters: the longest one call may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_deadline_ms: Option<u64>,
    /// Routers and filters: the most memory one instance may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes_max: Option<usize>,
    /// Codecs: `host:port` of its listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Codecs: `host:port` announced to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised: Option<String>,
    /// Codecs: the largest frame accepted from a peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_bytes_max: Option<u32>,
    /// Codecs: connections at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_max: Option<usize>,
}

impl PluginSpec {
    /// How changes name it: `kind/name`, as the admin API's paths do.
    pub fn display_name(&self) -> String {
        plugin_name(self.kind, &self.name)
    }
}

/// How changes name a plugin: `kind/name`.
pub fn plugin_name(kind: PluginKind, name: &str) -> String {
    format!("{}/{name}", kind.as_str())
}

fn yes() -> bool {
    true
}

fn unlimited() -> i32 {
    -1
}

/// A topic setting as a file may write it: Kafka's values are strings, but a number written
/// as a number (`"retention.ms" = 7200000`, as the seeds' YAML does) means the same.
#[derive(Deserialize)]
#[serde(untagged)]
enum ConfigValue {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

fn config_values<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let values = BTreeMap::<String, ConfigValue>::deserialize(d)?;
    Ok(values
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                ConfigValue::Text(text) => text,
                ConfigValue::Integer(n) => n.to_string(),
                ConfigValue::Float(x) => x.to_string(),
                ConfigValue::Bool(b) => b.to_string(),
            };
            (name, text)
        })
        .collect())
}

/// Reads a resources file's text, checks it, and puts it in a canonical form (queues'
/// addresses filled in, routing types sorted). Errors say every problem found, each naming
/// the resource.
pub fn parse(text: &str) -> Result<ResourceFile, Vec<String>> {
    if text.len() > RESOURCES_FILE_BYTES_MAX {
        return Err(vec![format!(
            "the resources file is {} bytes; at most {RESOURCES_FILE_BYTES_MAX}",
            text.len()
        )]);
    }
    let mut file: ResourceFile = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
    for queue in &mut file.queues {
        if queue.address.is_empty() {
            queue.address = queue.name.clone();
        }
    }
    for address in &mut file.addresses {
        address.routing_types.sort_by_key(|r| r.as_str());
    }
    let problems = check(&file);
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

fn check(file: &ResourceFile) -> Vec<String> {
    let mut problems = Vec::new();
    let total = file.topics.len()
        + file.addresses.len()
        + file.queues.len()
        + file.address_settings.len()
        + file.users.len()
        + file.plugins.len();
    if total > RESOURCES_MAX {
        problems.push(format!(
            "the file declares {total} resources; at most {RESOURCES_MAX}"
        ));
    }
    unique(
        &mut problems,
        "topic",
        file.topics.iter().map(|t| t.name.clone()),
    );
    unique(
        &mut problems,
        "address",
        file.addresses.iter().map(|a| a.name.clone()),
    );
    unique(
        &mut problems,
        "queue",
        file.queues.iter().map(QueueSpec::display_name),
    );
    unique(
        &mut problems,
        "address-settings",
        file.address_settings.iter().map(|r| r.pattern.clone()),
    );
    unique(
        &mut problems,
        "user",
        file.users.iter().map(|u| u.name.clone()),
    );
    unique(
        &mut problems,
        "plugin",
        file.plugins.iter().map(PluginSpec::display_name),
    );
    for topic in &file.topics {
        if topic.partitions == Some(0) {
            problems.push(format!(
                "topic {}: partitions must be at least 1",
                topic.name
            ));
        }
        if topic.replicas == Some(0) {
            problems.push(format!("topic {}: replicas must be at least 1", topic.name));
        }
    }
    for address in &file.addresses {
        let distinct: BTreeSet<_> = address.routing_types.iter().map(|r| r.as_str()).collect();
        if distinct.is_empty() || distinct.len() != address.routing_types.len() {
            problems.push(format!(
                "address {}: routing-types must name anycast, multicast or both, once each",
                address.name
            ));
        }
    }
    for queue in &file.queues {
        if queue.ring_size == Some(0) {
            problems.push(format!(
                "queue {}: ring-size must be at least 1",
                queue.display_name()
            ));
        }
    }
    for user in &file.users {
        if user.name.is_empty() {
            problems.push("user: a name is needed".to_owned());
        }
    }
    for plugin in &file.plugins {
        if let Some(problem) = plugin_problem(plugin) {
            problems.push(format!("plugin {}: {problem}", plugin.display_name()));
        }
    }
    for (kind, name) in file
        .topics
        .iter()
        .map(|t| ("topic", &t.name))
        .chain(file.addresses.iter().map(|a| ("address", &a.name)))
        .chain(file.queues.iter().map(|q| ("queue", &q.name)))
    {
        if name.is_empty() {
            problems.push(format!("{kind}: a name is needed"));
        }
    }
    problems
}

fn plugin_problem(plugin: &PluginSpec) -> Option<String> {
    if let Err(e) = crate::plugins::check_name(&plugin.name) {
        return Some(e.to_string());
    }
    let codec_fields = plugin.address.is_some()
        || plugin.advertised.is_some()
        || plugin.frame_bytes_max.is_some()
        || plugin.connections_max.is_some();
    let policy_fields = plugin.on_failure.is_some()
        || plugin.call_deadline_ms.is_some()
        || plugin.memory_bytes_max.is_some();
    match plugin.kind {
        PluginKind::Codec if plugin.address.is_none() => {
            Some("a codec needs an `address` for its listener (host:port)".to_owned())
        }
        PluginKind::Codec if policy_fields => Some(
            "on-failure, call-deadline-ms and memory-bytes-max apply to routers and filters"
                .to_owned(),
        ),
        PluginKind::Router | PluginKind::Filter if codec_fields => Some(
            "address, advertised, frame-bytes-max and connections-max apply to codecs".to_owned(),
        ),
        _ if plugin.call_deadline_ms == Some(0) => {
            Some("call-deadline-ms must be above 0".to_owned())
        }
        _ => None,
    }
}

fn unique(problems: &mut Vec<String>, kind: &str, names: impl Iterator<Item = String>) {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name.clone()) {
            problems.push(format!("{kind} {name} is declared twice"));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_kafka_topic_reads_with_numbers_as_strings() {
        let file = parse(
            "[[topics]]\nname = \"lines\"\npartitions = 2\nreplicas = 2\n\
             [topics.config]\n\"retention.ms\" = 7200000\n\"segment.bytes\" = \"1073741824\"\n",
        )
        .unwrap();
        let topic = &file.topics[0];
        assert_eq!((topic.partitions, topic.replicas), (Some(2), Some(2)));
        assert_eq!(topic.config["retention.ms"], "7200000");
        assert_eq!(topic.config["segment.bytes"], "1073741824");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_name() {
        let err = parse("[[topics]]\nname = \"t\"\npartition = 2\n").unwrap_err();
        assert!(err[0].contains("partition"), "{err:?}");
        let err = parse("[[topic]]\nname = \"t\"\n").unwrap_err();
        assert!(err[0].contains("topic"), "{err:?}");
    }

    #[test]
    fn every_problem_is_named_and_a_resource_twice_is_one() {
        let err = parse(
            "[[topics]]\nname = \"t\"\npartitions = 0\n[[topics]]\nname = \"t\"\n\
             [[plugins]]\nkind = \"codec\"\nname = \"c\"\nsource = \"builtin:codec-kafka\"\n\
             [[queues]]\nname = \"q\"\nrouting-type = \"anycast\"\nring-size = 0\n",
        )
        .unwrap_err();
        let all = err.join("\n");
        assert!(all.contains("topic t is declared twice"), "{all}");
        assert!(all.contains("partitions must be at least 1"), "{all}");
        assert!(
            all.contains("plugin codec/c: a codec needs an `address`"),
            "{all}"
        );
    }

    #[test]
    fn a_queue_without_an_address_is_on_the_address_of_its_name() {
        let file = parse(
            "[[queues]]\nname = \"orders\"\nrouting-type = \"anycast\"\n\
             [[queues]]\nname = \"audit\"\naddress = \"orders\"\nrouting-type = \"multicast\"\n\
             filter = \"color = 'red'\"\n",
        )
        .unwrap();
        assert_eq!(file.queues[0].address, "orders");
        assert!(file.queues[0].durable);
        assert_eq!(file.queues[0].max_consumers, -1);
        assert_eq!(file.queues[1].display_name(), "orders::audit");
        assert_eq!(
            file.queues[1].filter,
            Some(FilterRef::selector("color = 'red'"))
        );
    }

    #[test]
    fn address_settings_read_as_the_configurations_rules() {
        let file = parse(
            "[[address-settings]]\nmatch = \"orders.#\"\nmax-delivery-attempts = 3\n\
             publish-filter = { plugin = \"match\", config = \"region=eu\" }\n",
        )
        .unwrap();
        let rule = &file.address_settings[0];
        assert_eq!(rule.pattern, "orders.#");
        assert_eq!(rule.max_delivery_attempts, Some(3));
        assert!(parse("[[address-settings]]\nmatch = \"a\"\nmax-attempts = 3\n").is_err());
    }

    #[test]
    fn a_users_password_stays_out_of_debug_output() {
        let file = parse("[[users]]\nname = \"alice\"\npassword = \"wonderland\"\n").unwrap();
        assert!(!format!("{file:?}").contains("wonderland"));
    }

    #[test]
    fn a_file_above_the_size_limit_is_refused_before_parsing() {
        let text = "#".repeat(RESOURCES_FILE_BYTES_MAX + 1);
        assert!(parse(&text).unwrap_err()[0].contains("bytes"));
    }
}
