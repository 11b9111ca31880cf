//! DescribeConfigs: a topic's settings (`broker.describe-topic-configs`) or this broker's
//! (`broker.describe-broker-configs`), each with its value, where it comes from, whether it
//! is read-only, and on request its synonyms and documentation.
//!
//! A broker resource is named by this node's id or by the empty name (Kafka's cluster-wide
//! defaults; Sluice has only the one static set, so both describe it). Any other resource
//! type, or another broker's id, is INVALID_REQUEST for that resource alone. No setting is
//! sensitive. `configuration_keys` null or empty means every setting; a key the host does not
//! have is simply absent, as in Kafka.
//!
//! Synonyms (v1+, `include_synonyms`) list the value in force first, then for a topic
//! override the value it shadows, under the broker setting's name (Kafka's
//! `TopicConfigSynonyms`: `retention.ms` falls back to `log.retention.ms`), marked
//! STATIC_BROKER_CONFIG when the broker sets it and DEFAULT_CONFIG otherwise. v0 (below
//! kafka-protocol's floor of v1) has `is_default` instead of a source and is read and answered
//! by hand.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::{Message, StrBytes};
use sluice_sdk::codec::{Broker, CodecError, ConfigEntry, ConfigSource};

use crate::api::config_resource::{
    self, DEFAULT_CONFIG, Resource, STATIC_BROKER_CONFIG, broker_synonym, source_code, type_of,
};
use crate::dispatch::{Reply, Request};
use crate::errors::{self, INVALID_REQUEST, NONE};
use crate::frame;
use crate::wire::{Reader, WireError};

/// v3 added `include_documentation` and the setting's type.
const DOCUMENTATION_VERSION: i16 = 3;

/// One resource asked about, independent of the request version.
struct Asked {
    resource_type: i8,
    name: StrBytes,
    /// Only these settings; `None` (or empty) for all.
    keys: Option<Vec<StrBytes>>,
}

/// One setting as answered, independent of the response version.
struct Setting {
    name: String,
    value: String,
    read_only: bool,
    source: i8,
    /// (name, value, source), the value in force first.
    synonyms: Vec<(String, String, i8)>,
    documentation: String,
}

/// One resource's answer.
struct Described {
    resource_type: i8,
    name: StrBytes,
    error_code: i16,
    error_message: Option<String>,
    settings: Vec<Setting>,
}

/// Answers a DescribeConfigs request.
pub fn handle<B: Broker>(req: &Request, broker: &B) -> Result<Reply, CodecError> {
    let legacy = req.version < DescribeConfigsRequest::VERSIONS.min;
    let (asked, include_synonyms, include_documentation) = if legacy {
        (read_v0(req)?, false, false)
    } else {
        let request: DescribeConfigsRequest = req.decode()?;
        let asked = request
            .resources
            .into_iter()
            .map(|r| Asked {
                resource_type: r.resource_type,
                name: r.resource_name,
                keys: r.configuration_keys,
            })
            .collect::<Vec<_>>();
        (
            asked,
            request.include_synonyms,
            request.include_documentation && req.version >= DOCUMENTATION_VERSION,
        )
    };

    let node_id = broker.cluster().node_id;
    // Read once, for the synonyms of topic overrides and for broker resources.
    let mut broker_settings: Option<Vec<ConfigEntry>> = None;
    let described: Vec<Described> = asked
        .into_iter()
        .map(|a| {
            let found = match config_resource::resource(a.resource_type, &a.name, node_id) {
                Err(message) => Err((INVALID_REQUEST, message)),
                Ok(Resource::Broker) => Ok(broker_settings
                    .get_or_insert_with(|| broker.describe_broker_configs())
                    .iter()
                    .map(|e| broker_setting(e, include_synonyms))
                    .collect::<Vec<_>>()),
                Ok(Resource::Topic) => broker
                    .describe_topic_configs(&a.name)
                    .map_err(|e| (errors::code(&e), e.message))
                    .map(|entries| {
                        let fallback = if include_synonyms {
                            broker_settings
                                .get_or_insert_with(|| broker.describe_broker_configs())
                                .as_slice()
                        } else {
                            &[]
                        };
                        entries
                            .iter()
                            .map(|e| topic_setting(e, include_synonyms, fallback))
                            .collect()
                    }),
            };
            let wanted = |s: &Setting| match &a.keys {
                Some(keys) if !keys.is_empty() => keys.iter().any(|k| k.as_str() == s.name),
                _ => true,
            };
            match found {
                Ok(settings) => Described {
                    resource_type: a.resource_type,
                    name: a.name,
                    error_code: NONE,
                    error_message: None,
                    settings: settings.into_iter().filter(wanted).collect(),
                },
                Err((error_code, message)) => Described {
                    resource_type: a.resource_type,
                    name: a.name,
                    error_code,
                    error_message: Some(message),
                    settings: Vec::new(),
                },
            }
        })
        .collect();

    if legacy {
        return write_v0(req.correlation_id, &described);
    }
    let with_types = req.version >= DOCUMENTATION_VERSION;
    let results = described
        .into_iter()
        .map(|d| {
            let configs = d
                .settings
                .into_iter()
                .map(|s| {
                    let synonyms = s
                        .synonyms
                        .into_iter()
                        .map(|(name, value, source)| {
                            DescribeConfigsSynonym::default()
                                .with_name(StrBytes::from_string(name))
                                .with_value(Some(StrBytes::from_string(value)))
                                .with_source(source)
                        })
                        .collect();
                    DescribeConfigsResourceResult::default()
                        .with_config_type(if with_types { type_of(&s.name) } else { 0 })
                        .with_name(StrBytes::from_string(s.name))
                        .with_value(Some(StrBytes::from_string(s.value)))
                        .with_read_only(s.read_only)
                        .with_config_source(s.source)
                        .with_is_sensitive(false)
                        .with_synonyms(synonyms)
                        .with_documentation(
                            include_documentation.then(|| StrBytes::from_string(s.documentation)),
                        )
                })
                .collect();
            DescribeConfigsResult::default()
                .with_error_code(d.error_code)
                .with_error_message(d.error_message.map(StrBytes::from_string))
                .with_resource_type(d.resource_type)
                .with_resource_name(d.name)
                .with_configs(configs)
        })
        .collect();
    req.respond(&DescribeConfigsResponse::default().with_results(results))
}

/// A topic setting; its synonyms name the broker setting it falls back to.
fn topic_setting(e: &ConfigEntry, include_synonyms: bool, broker: &[ConfigEntry]) -> Setting {
    let fallback_name = broker_synonym(&e.name);
    let synonyms = if !include_synonyms {
        Vec::new()
    } else if e.source == ConfigSource::Topic {
        let broker_sets_it = broker
            .iter()
            .any(|b| b.name == fallback_name && b.source == ConfigSource::Broker);
        let fallback_source = if broker_sets_it {
            STATIC_BROKER_CONFIG
        } else {
            DEFAULT_CONFIG
        };
        vec![
            (e.name.clone(), e.value.clone(), source_code(e.source)),
            (
                fallback_name.to_owned(),
                e.default_value.clone(),
                fallback_source,
            ),
        ]
    } else {
        vec![(
            fallback_name.to_owned(),
            e.value.clone(),
            source_code(e.source),
        )]
    };
    setting(e, synonyms)
}

/// A broker setting: its only synonym is itself.
fn broker_setting(e: &ConfigEntry, include_synonyms: bool) -> Setting {
    let synonyms = if include_synonyms {
        vec![(e.name.clone(), e.value.clone(), source_code(e.source))]
    } else {
        Vec::new()
    };
    setting(e, synonyms)
}

fn setting(e: &ConfigEntry, synonyms: Vec<(String, String, i8)>) -> Setting {
    Setting {
        name: e.name.clone(),
        value: e.value.clone(),
        read_only: e.read_only,
        source: source_code(e.source),
        synonyms,
        documentation: e.documentation.clone(),
    }
}

/// DescribeConfigs v0: resources of (type, name, nullable array of keys).
fn read_v0(req: &Request) -> Result<Vec<Asked>, CodecError> {
    let mut r = Reader::new(&req.body);
    let read = |r: &mut Reader<'_>| -> Result<_, WireError> {
        r.array(|r| {
            let resource_type = r.i8()?;
            let name = r.str()?;
            let keys = match r.array_len(false)? {
                None => None,
                Some(count) => {
                    let mut keys = Vec::new();
                    for _ in 0..count {
                        keys.push(r.str()?);
                    }
                    Some(keys)
                }
            };
            Ok(Asked {
                resource_type,
                name,
                keys,
            })
        })
    };
    read(&mut r).map_err(|e| req.malformed(&e))
}

/// The v0 response: per setting `is_default` (the built-in default is in force) instead of
/// a source, and no synonyms.
fn write_v0(correlation_id: i32, described: &[Described]) -> Result<Reply, CodecError> {
    let bool_byte = |b: bool| u8::from(b);
    frame::legacy_response(correlation_id, |w| {
        w.i32(0); // throttle_time_ms
        w.array(described, |w, d| {
            w.i16(d.error_code);
            w.nullable_str(d.error_message.as_deref())?;
            w.out.extend_from_slice(&d.resource_type.to_be_bytes());
            w.str(&d.name)?;
            w.array(&d.settings, |w, s| {
                w.str(&s.name)?;
                w.nullable_str(Some(&s.value))?;
                w.out.push(bool_byte(s.read_only));
                w.out.push(bool_byte(s.source == DEFAULT_CONFIG));
                w.out.push(bool_byte(false)); // is_sensitive
                Ok(())
            })
        })
    })
    .map(Reply::Frame)
}
