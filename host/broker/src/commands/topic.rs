//! `sluice topic create|list|describe|alter|delete`: Kafka topics through the admin API's
//! `/api/topics`, in the spirit of `kafka-topics.sh`.
use serde_json::{Map, Value, json};

use super::fields::{items, number, text};
use super::{ClientArgs, Output, print_json, table};
use crate::client::{AdminClient, ClientError, path_segment};

/// `sluice topic` options.
#[derive(Debug, clap::Args)]
pub struct TopicArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: TopicCommand,
}

/// `sluice topic` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// How many partitions (default: the broker's `topics.default-partitions`).
        #[arg(long, value_name = "N")]
        partitions: Option<u32>,
        /// Replicas per partition: this broker is a single node, so only 1 is accepted.
        #[arg(long, value_name = "N")]
        replicas: Option<u32>,
        /// A setting, e.g. `retention.ms=7200000`; repeat for more.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
        configs: Vec<(String, String)>,
    },
    /// Every topic, with its partition count.
    List,
    /// A topic: its settings set on it and each partition's offsets.
    Describe {
        /// Its name.
        #[arg(long)]
        name: String,
    },
    /// Add partitions, or change settings.
    #[command(group = clap::ArgGroup::new("change").required(true).multiple(true)
        .args(["partitions", "configs", "delete_configs"]))]
    Alter {
        /// Its name.
        #[arg(long)]
        name: String,
        /// The new partition count: partitions can only be added.
        #[arg(long, value_name = "N")]
        partitions: Option<u32>,
        /// A setting to set, e.g. `segment.bytes=1073741824`; repeat for more.
        #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
        configs: Vec<(String, String)>,
        /// A setting to return to the broker's default; repeat for more.
        #[arg(long = "delete-config", value_name = "KEY")]
        delete_configs: Vec<String>,
    },
    /// Delete a topic and its data.
    Delete {
        /// Its name.
        #[arg(long)]
        name: String,
    },
}

/// Runs `sluice topic ...`.
pub fn run(args: TopicArgs) -> std::process::ExitCode {
    let output = args.client.output;
    super::run(&args.client, move |client| async move {
        execute(&client, args.command, output).await
    })
}

async fn execute(
    client: &AdminClient,
    command: TopicCommand,
    output: Output,
) -> Result<(), ClientError> {
    match command {
        TopicCommand::Create {
            name,
            partitions,
            replicas,
            configs,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            if let Some(partitions) = partitions {
                body.insert("partitions".into(), json!(partitions));
            }
            if let Some(replicas) = replicas {
                body.insert("replicas".into(), json!(replicas));
            }
            body.insert("configs".into(), config_map(configs));
            let created = client.post("/api/topics", &Value::Object(body)).await?;
            match output {
                Output::Json => print_json(&created),
                Output::Human => println!(
                    "Created topic {} with {} partitions.",
                    text(&created, "name"),
                    number(&created, "partitions")
                ),
            }
        }
        TopicCommand::List => {
            let all = client.get("/api/topics").await?;
            match output {
                Output::Json => print_json(&all),
                Output::Human => {
                    let rows: Vec<Vec<String>> = items(&all)
                        .iter()
                        .map(|t| {
                            vec![
                                text(t, "name").to_owned(),
                                number(t, "partitions"),
                                number(t, "replicas"),
                            ]
                        })
                        .collect();
                    table::print(&["NAME", "PARTITIONS", "REPLICAS"], &rows);
                }
            }
        }
        TopicCommand::Describe { name } => {
            let topic = client.get(&path(&name)).await?;
            match output {
                Output::Json => print_json(&topic),
                Output::Human => print_description(&topic),
            }
        }
        TopicCommand::Alter {
            name,
            partitions,
            configs,
            delete_configs,
        } => {
            let mut body = Map::new();
            if let Some(partitions) = partitions {
                body.insert("partitions".into(), json!(partitions));
            }
            body.insert("configs".into(), config_map(configs));
            body.insert("delete_configs".into(), json!(delete_configs));
            let altered = client.patch(&path(&name), &Value::Object(body)).await?;
            match output {
                Output::Json => print_json(&altered),
                Output::Human => print_description(&altered),
            }
        }
        TopicCommand::Delete { name } => {
            let deleted = client.delete(&path(&name)).await?;
            match output {
                Output::Json => print_json(&deleted),
                Output::Human => println!("Deleted topic {name}."),
            }
        }
    }
    Ok(())
}

/// `kafka-topics --describe`'s layout: the topic's line, with the settings set on it, then a
/// line per partition with its offsets.
fn print_description(topic: &Value) {
    let name = text(topic, "name");
    let configs: Vec<String> = items(topic.get("configs").unwrap_or(&Value::Null))
        .iter()
        .filter(|c| text(c, "source") == "topic")
        .map(|c| format!("{}={}", text(c, "name"), text(c, "value")))
        .collect();
    println!(
        "Topic: {name}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        number(topic, "partitions"),
        number(topic, "replicas"),
        configs.join(",")
    );
    for p in items(topic.get("partition_info").unwrap_or(&Value::Null)) {
        println!(
            "\tTopic: {name}\tPartition: {}\tLogStartOffset: {}\tHighWatermark: {}\tLogEndOffset: {}",
            number(p, "partition"),
            number(p, "log_start"),
            number(p, "high_watermark"),
            number(p, "log_end"),
        );
    }
}

fn path(name: &str) -> String {
    format!("/api/topics/{}", path_segment(name))
}

fn config_map(configs: Vec<(String, String)>) -> Value {
    Value::Object(configs.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

/// `KEY=VALUE`, split at the first `=`.
fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, not `{text}`")),
    }
}
