//! Kafka topics over the admin API, through the same `BrokerService` calls (and so the same
//! checks) a Kafka client's CreateTopics, CreatePartitions, IncrementalAlterConfigs and
//! DeleteTopics go through.
//!
//! - `GET /api/topics`: every topic, by name; the internal `__sluice.*` logs behind queues are
//!   hidden, and every other endpoint answers 404 for them.
//! - `POST /api/topics` `{"name", "partitions"?, "replicas"?, "configs"?: {k: v}}`: 201 and
//!   the topic described. Partitions default to `topics.default-partitions`.
//! - `GET /api/topics/{name}`: partitions with their offsets, and every setting with its
//!   source (`topic`: set on it; `broker`: the configuration file; `default`: built in).
//! - `PATCH /api/topics/{name}` `{"partitions"?, "configs"?: {k: v}, "delete_configs"?: [k]}`:
//!   every change is validated before any is made; partitions only grow (the current count is
//!   no change). Answers the topic described.
//! - `DELETE /api/topics/{name}`: `{"deleted": name}`. As with a Kafka client's DeleteTopics,
//!   the log goes even when a multicast address of the same name writes to it, and every
//!   group's committed offsets for it are forgotten.
use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sluice_plugin_runtime::{ConfigChange, ConfigOp, ConfigSource, HostBroker};
use sluice_queues::INTERNAL_PREFIX;

use super::Admin;
use super::broker_calls::{blocking, broker_refusal};
use super::plugins::{ApiError, parse_body};
use crate::service::BrokerService;

/// Every partition has one replica: this broker is a single node.
const REPLICAS: u32 = 1;

/// A line of `GET /api/topics`.
#[derive(Debug, Serialize)]
pub(super) struct TopicSummary {
    name: String,
    partitions: u32,
    replicas: u32,
    internal: bool,
}

/// `GET /api/topics/{name}`.
#[derive(Debug, Serialize)]
pub(super) struct TopicDescription {
    name: String,
    partitions: u32,
    replicas: u32,
    internal: bool,
    configs: Vec<ConfigView>,
    partition_info: Vec<PartitionView>,
}

/// One setting as DescribeConfigs reports it.
#[derive(Debug, Serialize)]
struct ConfigView {
    name: String,
    value: String,
    /// `topic`, `broker` or `default`.
    source: &'static str,
    /// What applies without the topic's override.
    default_value: String,
    read_only: bool,
    documentation: String,
}

/// One partition's bounds.
#[derive(Debug, Serialize)]
struct PartitionView {
    partition: u32,
    log_start: i64,
    /// The end of what consumers can read.
    high_watermark: i64,
    /// The offset the next record appended gets.
    log_end: i64,
}

/// `POST /api/topics`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    partitions: Option<u32>,
    replicas: Option<u32>,
    #[serde(default)]
    configs: BTreeMap<String, Value>,
}

/// `PATCH /api/topics/{name}`'s body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlterRequest {
    partitions: Option<u32>,
    #[serde(default)]
    configs: BTreeMap<String, Value>,
    #[serde(default)]
    delete_configs: Vec<String>,
}

pub(super) async fn list(State(admin): State<Admin>) -> Json<Vec<TopicSummary>> {
    let topics = admin
        .service
        .list_topics()
        .into_iter()
        .map(|t| TopicSummary {
            name: t.name,
            partitions: t.partitions,
            replicas: REPLICAS,
            internal: false,
        });
    Json(topics.collect())
}

pub(super) async fn create(State(admin): State<Admin>, body: Bytes) -> Result<Response, ApiError> {
    let request: CreateRequest = parse_body(&body)?.ok_or_else(|| {
        ApiError::bad("a JSON body is required: {\"name\", \"partitions\"?, ...}".to_owned())
    })?;
    match request.replicas {
        None | Some(REPLICAS) => {}
        Some(0) => return Err(ApiError::bad("replicas must be at least 1".to_owned())),
        Some(n) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("this broker is a single node: replicas must be {REPLICAS}, not {n}"),
            ));
        }
    }
    let configs = request
        .configs
        .iter()
        .map(|(name, value)| Ok((name.clone(), config_text(name, value)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let described = blocking(&admin.service, move |service| {
        let partitions = request
            .partitions
            .unwrap_or_else(|| service.cluster().default_partitions);
        service
            .create_topic(&request.name, partitions, &configs, false)
            .map_err(broker_refusal)?;
        describe(service, &request.name)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(described)).into_response())
}

pub(super) async fn show(
    State(admin): State<Admin>,
    Path(name): Path<String>,
) -> Result<Json<TopicDescription>, ApiError> {
    blocking(&admin.service, move |service| describe(service, &name))
        .await
        .map(Json)
}

pub(super) async fn alter(
    State(admin): State<Admin>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<TopicDescription>, ApiError> {
    let request: AlterRequest = parse_body(&body)?.unwrap_or_default();
    let mut changes = Vec::new();
    for (setting, value) in &request.configs {
        if request.delete_configs.contains(setting) {
            return Err(ApiError::bad(format!(
                "`{setting}` is both set and deleted"
            )));
        }
        changes.push(ConfigChange {
            name: setting.clone(),
            op: ConfigOp::Set,
            value: Some(config_text(setting, value)?),
        });
    }
    changes.extend(request.delete_configs.iter().map(|setting| ConfigChange {
        name: setting.clone(),
        op: ConfigOp::Delete,
        value: None,
    }));
    blocking(&admin.service, move |service| {
        let current = existing(service, &name)?;
        let grow = request.partitions.filter(|&n| n != current);
        // Everything is checked before anything changes, so a bad setting does not leave
        // the partitions added, nor a bad count the settings changed.
        if !changes.is_empty() {
            service
                .alter_topic_configs(&name, &changes, false, true)
                .map_err(broker_refusal)?;
        }
        if let Some(count) = grow {
            service
                .create_partitions(&name, count, true)
                .map_err(broker_refusal)?;
        }
        if !changes.is_empty() {
            service
                .alter_topic_configs(&name, &changes, false, false)
                .map_err(broker_refusal)?;
            tracing::info!(topic = %name, changes = changes.len(), "topic settings altered by the admin API");
        }
        if let Some(count) = grow {
            service
                .create_partitions(&name, count, false)
                .map_err(broker_refusal)?;
            tracing::info!(topic = %name, partitions = count, "partitions added by the admin API");
        }
        describe(service, &name)
    })
    .await
    .map(Json)
}

pub(super) async fn delete(
    State(admin): State<Admin>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    blocking(&admin.service, move |service| {
        existing(service, &name)?;
        service.delete_topic(&name).map_err(broker_refusal)?;
        Ok(Json(json!({ "deleted": name })))
    })
    .await
}

/// The topic's partition count; 404 for one that does not exist or is internal.
fn existing(service: &BrokerService, name: &str) -> Result<u32, ApiError> {
    if name.starts_with(INTERNAL_PREFIX) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no topic `{name}` (names starting with {INTERNAL_PREFIX} are internal)"),
        ));
    }
    service
        .describe_topic(name, false)
        .map(|t| t.partitions)
        .map_err(broker_refusal)
}

fn describe(service: &BrokerService, name: &str) -> Result<TopicDescription, ApiError> {
    let partitions = existing(service, name)?;
    let configs = service
        .describe_topic_configs(name)
        .map_err(broker_refusal)?
        .into_iter()
        .map(|c| ConfigView {
            name: c.name,
            value: c.value,
            source: match c.source {
                ConfigSource::Topic => "topic",
                ConfigSource::Broker => "broker",
                ConfigSource::Default => "default",
            },
            default_value: c.default_value,
            read_only: c.read_only,
            documentation: c.documentation,
        })
        .collect();
    let partition_info = (0..partitions)
        .map(|partition| {
            let o = service.offsets(name, partition).map_err(broker_refusal)?;
            Ok(PartitionView {
                partition,
                log_start: o.log_start,
                high_watermark: o.high_watermark,
                log_end: o.log_end,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(TopicDescription {
        name: name.to_owned(),
        partitions,
        replicas: REPLICAS,
        internal: false,
        configs,
        partition_info,
    })
}

/// A setting's value as the text storage parses: a string as is, a number or a boolean as
/// written (so a declarative file may say `retention.ms: 7200000`).
fn config_text(name: &str, value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ApiError::bad(format!(
            "config `{name}`: expected a string, number or boolean, not {value}"
        ))),
    }
}
