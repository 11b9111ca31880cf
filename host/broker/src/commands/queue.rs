//! `sluice queue create|list|stat|purge|delete`: the admin API's queue endpoints from the
//! command line, with Artemis's `artemis queue` options. A queue is named by its name, or by
//! `address::queue` when several addresses have a queue of that name.
use serde_json::{Map, Value, json};

use super::{ClientArgs, Output, print_json, table};
use crate::client::{AdminClient, ClientError, path_segment};

/// `sluice queue` options.
#[derive(Debug, clap::Args)]
pub struct QueueArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: QueueCommand,
}

/// `sluice queue` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum QueueCommand {
    /// Create a queue on an address (which must exist unless `--auto-create-address`).
    Create(CreateArgs),
    /// Every queue with its attributes.
    List(ListArgs),
    /// Queues' counters: NAME, ADDRESS, CONSUMER_COUNT, MESSAGE_COUNT, MESSAGES_ADDED,
    /// DELIVERING_COUNT, MESSAGES_ACKED, ROUTING_TYPE. MESSAGES_ADDED and MESSAGES_ACKED
    /// count since the broker started.
    Stat(StatArgs),
    /// Drop every message of a queue, those being delivered included.
    Purge {
        /// The queue (`NAME` or `ADDRESS::NAME`).
        #[arg(long)]
        name: String,
    },
    /// Delete a queue with its messages. Refused while it has consumers unless
    /// `--remove-consumers`.
    Delete {
        /// The queue (`NAME` or `ADDRESS::NAME`).
        #[arg(long)]
        name: String,
        /// Close its consumers and delete it anyway.
        #[arg(long)]
        remove_consumers: bool,
    },
}

/// `sluice queue create` options.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The queue's name, unique on its address.
    #[arg(long)]
    pub name: String,
    /// Its address (default: the queue's name).
    #[arg(long)]
    pub address: Option<String>,
    /// An anycast queue: its own log, consumers compete for its messages. Default: the
    /// address's only routing type, else the address settings' default.
    #[arg(long, conflicts_with = "multicast")]
    pub anycast: bool,
    /// A multicast queue: a subscription to the address's log.
    #[arg(long)]
    pub multicast: bool,
    /// Survive restarts (the default).
    #[arg(long, conflicts_with = "no_durable")]
    pub durable: bool,
    /// Gone at the next restart.
    #[arg(long)]
    pub no_durable: bool,
    /// Drop its messages when its last consumer leaves.
    #[arg(long, conflicts_with = "preserve_on_no_consumers")]
    pub purge_on_no_consumers: bool,
    /// Keep its messages when its last consumer leaves (the default).
    #[arg(long)]
    pub preserve_on_no_consumers: bool,
    /// Deliver to one consumer at a time, the oldest.
    #[arg(long, conflicts_with = "no_exclusive")]
    pub exclusive: bool,
    /// Deliver to every consumer in turn (the default).
    #[arg(long)]
    pub no_exclusive: bool,
    /// Consumers at once; -1: no limit (the default).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_consumers: Option<i32>,
    /// A JMS selector: what it does not select is dropped as it is taken for delivery.
    #[arg(long, value_name = "SELECTOR")]
    pub filter: Option<String>,
    /// A last-value queue keyed by this header.
    #[arg(long, value_name = "HEADER")]
    pub last_value_key: Option<String>,
    /// A ring queue of at most this many messages.
    #[arg(long, value_name = "N")]
    pub ring_size: Option<u64>,
    /// Create the address if it does not exist, with the queue's routing type.
    #[arg(long, conflicts_with = "no_auto_create_address")]
    pub auto_create_address: bool,
    /// Refuse when the address does not exist (the default).
    #[arg(long)]
    pub no_auto_create_address: bool,
}

impl CreateArgs {
    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        body.insert("durable".into(), json!(!self.no_durable));
        body.insert(
            "purge_on_no_consumers".into(),
            json!(self.purge_on_no_consumers),
        );
        body.insert("exclusive".into(), json!(self.exclusive));
        body.insert(
            "auto_create_address".into(),
            json!(self.auto_create_address),
        );
        let routing = match (self.anycast, self.multicast) {
            (true, _) => Some("anycast"),
            (_, true) => Some("multicast"),
            _ => None,
        };
        let optional = [
            ("address", self.address.as_ref().map(|v| json!(v))),
            ("routing_type", routing.map(|v| json!(v))),
            ("max_consumers", self.max_consumers.map(|v| json!(v))),
            ("filter", self.filter.as_ref().map(|v| json!(v))),
            (
                "last_value_key",
                self.last_value_key.as_ref().map(|v| json!(v)),
            ),
            ("ring_size", self.ring_size.map(|v| json!(v))),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        Value::Object(body)
    }
}

/// `sluice queue list` options.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Show temporary queues too (those of dynamic consumers and unnamed subscriptions).
    #[arg(long)]
    pub include_temporary: bool,
}

/// `sluice queue stat` options.
#[derive(Debug, clap::Args)]
pub struct StatArgs {
    /// Only this queue (`NAME` or `ADDRESS::NAME`); refused if there is none.
    #[arg(long, value_name = "NAME", conflicts_with = "queue_name")]
    pub queue: Option<String>,
    /// Only queues whose name contains this (Artemis's `--queueName`).
    #[arg(long, alias = "queueName", value_name = "TEXT")]
    pub queue_name: Option<String>,
    /// Show temporary queues too.
    #[arg(long)]
    pub include_temporary: bool,
}

/// Runs `sluice queue ...`.
pub fn run(args: QueueArgs) -> std::process::ExitCode {
    let output = args.client.output;
    super::run(&args.client, move |client| async move {
        execute(&client, args.command, output).await
    })
}

async fn execute(
    client: &AdminClient,
    command: QueueCommand,
    output: Output,
) -> Result<(), ClientError> {
    match command {
        QueueCommand::Create(create) => {
            let created = client.post("/api/queues", &create.body()).await?;
            match output {
                Output::Json => print_json(&created),
                Output::Human => println!(
                    "Queue {} created on address {} ({}, {}).",
                    text(&created, "name"),
                    text(&created, "address"),
                    text(&created, "routing"),
                    if flag(&created, "durable") {
                        "durable"
                    } else {
                        "not durable"
                    }
                ),
            }
        }
        QueueCommand::List(list) => {
            let all = shown(
                client.get("/api/queues").await?,
                list.include_temporary,
                None,
            );
            match output {
                Output::Json => print_json(&all),
                Output::Human => print_list(&all),
            }
        }
        QueueCommand::Stat(stat) => {
            let all = match &stat.queue {
                Some(name) => {
                    let one = client.get(&queue_path(name, "")).await?;
                    Value::Array(vec![one])
                }
                None => shown(
                    client.get("/api/queues").await?,
                    stat.include_temporary,
                    stat.queue_name.as_deref(),
                ),
            };
            match output {
                Output::Json => print_json(&all),
                Output::Human => print_stat(&all),
            }
        }
        QueueCommand::Purge { name } => {
            let purged = client
                .post(&queue_path(&name, "/purge"), &json!({}))
                .await?;
            match output {
                Output::Json => print_json(&purged),
                Output::Human => {
                    let n = purged.get("purged").and_then(Value::as_u64).unwrap_or(0);
                    println!("Queue {name} purged: {n} messages removed.");
                }
            }
        }
        QueueCommand::Delete {
            name,
            remove_consumers,
        } => {
            let mut path = queue_path(&name, "");
            if remove_consumers {
                path.push_str("?remove_consumers=true");
            }
            let deleted = client.delete(&path).await?;
            match output {
                Output::Json => print_json(&deleted),
                Output::Human => {
                    let count = |key| deleted.get(key).and_then(Value::as_u64).unwrap_or(0);
                    println!(
                        "Queue {} deleted ({} messages dropped, {} consumers removed).",
                        text(&deleted, "deleted"),
                        count("message_count"),
                        count("consumers_removed")
                    );
                }
            }
        }
    }
    Ok(())
}

fn queue_path(name: &str, suffix: &str) -> String {
    format!("/api/queues/{}{suffix}", path_segment(name))
}

/// The queues of `all` to show: not temporary unless asked, named with `containing`.
fn shown(all: Value, temporary: bool, containing: Option<&str>) -> Value {
    let kept = all
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|q| temporary || !flag(q, "temporary"))
        .filter(|q| containing.is_none_or(|c| text(q, "name").contains(c)))
        .cloned()
        .collect();
    Value::Array(kept)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("-")
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool) == Some(true)
}

fn number(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_i64)
        .map_or_else(|| "-".to_owned(), |n| n.to_string())
}

fn rows(all: &Value, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    all.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(row)
        .collect()
}

/// Artemis's `queue stat` columns.
fn print_stat(all: &Value) {
    let rows = rows(all, |q| {
        vec![
            text(q, "name").to_owned(),
            text(q, "address").to_owned(),
            number(q, "consumer_count"),
            number(q, "message_count"),
            number(q, "messages_added"),
            number(q, "delivering_count"),
            number(q, "messages_acknowledged"),
            text(q, "routing").to_uppercase(),
        ]
    });
    table::print(
        &[
            "NAME",
            "ADDRESS",
            "CONSUMER_COUNT",
            "MESSAGE_COUNT",
            "MESSAGES_ADDED",
            "DELIVERING_COUNT",
            "MESSAGES_ACKED",
            "ROUTING_TYPE",
        ],
        &rows,
    );
}

fn print_list(all: &Value) {
    let yes_no = |q: &Value, key| if flag(q, key) { "yes" } else { "no" }.to_owned();
    let rows = rows(all, |q| {
        let filter = q
            .pointer("/filter/config")
            .and_then(Value::as_str)
            .unwrap_or("-");
        vec![
            text(q, "name").to_owned(),
            text(q, "address").to_owned(),
            text(q, "routing").to_uppercase(),
            yes_no(q, "durable"),
            yes_no(q, "temporary"),
            yes_no(q, "exclusive"),
            number(q, "max_consumers"),
            yes_no(q, "purge_on_no_consumers"),
            filter.to_owned(),
        ]
    });
    table::print(
        &[
            "NAME",
            "ADDRESS",
            "ROUTING_TYPE",
            "DURABLE",
            "TEMPORARY",
            "EXCLUSIVE",
            "MAX_CONSUMERS",
            "PURGE_ON_NO_CONSUMERS",
            "FILTER",
        ],
        &rows,
    );
}
