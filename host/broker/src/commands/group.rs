//! `sluice group list|describe|reset-offsets`: consumer groups through the admin API's
//! `/api/groups`, in the spirit of `kafka-consumer-groups.sh`.
use serde_json::{Map, Value, json};

use super::fields::{items, number, text};
use super::{ClientArgs, Output, datetime, print_json, table};
use crate::client::{AdminClient, ClientError, path_segment};

/// `sluice group` options.
#[derive(Debug, clap::Args)]
pub struct GroupArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: GroupCommand,
}

/// `sluice group` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Every group, with its state and member count.
    List,
    /// A group: per partition its committed offset, the log's end and the lag; its members.
    Describe {
        /// The group id.
        #[arg(long)]
        group: String,
    },
    /// Move a group's committed offsets, as `kafka-consumer-groups --reset-offsets` does. Only
    /// while the group has no active members. Prints the plan unless `--execute` is given.
    ResetOffsets(ResetArgs),
}

/// `sluice group reset-offsets` options.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(false))]
pub struct ResetArgs {
    /// The group id.
    #[arg(long)]
    pub group: String,
    /// Only this topic: `NAME` for all its partitions, `NAME:0,2` for some. Default: every
    /// partition the group has committed.
    #[arg(long, value_name = "TOPIC[:P,...]", value_parser = topic_partitions)]
    pub topic: Option<(String, Option<Vec<u32>>)>,
    /// To each partition's log start.
    #[arg(long, group = "target")]
    pub to_earliest: bool,
    /// To each partition's end: only records produced from now on are read.
    #[arg(long, group = "target")]
    pub to_latest: bool,
    /// To this offset.
    #[arg(long, group = "target", value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// To the first record at or after this time, RFC 3339 with an offset
    /// (`2024-05-01T12:00:00Z`).
    #[arg(long, group = "target", value_name = "DATETIME", value_parser = datetime::parse_ms)]
    pub to_datetime: Option<i64>,
    /// Move each committed offset by N (negative: back).
    #[arg(
        long,
        group = "target",
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub shift_by: Option<i64>,
    /// Commit the new offsets (without it, only the plan is printed).
    #[arg(long, conflicts_with = "dry_run")]
    pub execute: bool,
    /// Print the plan only (the default).
    #[arg(long)]
    pub dry_run: bool,
}

impl ResetArgs {
    fn body(&self) -> Value {
        let to = if self.to_earliest {
            json!("earliest")
        } else if self.to_latest {
            json!("latest")
        } else if let Some(offset) = self.to_offset {
            json!({ "offset": offset })
        } else if let Some(ms) = self.to_datetime {
            json!({ "timestamp_ms": ms })
        } else {
            json!({ "shift_by": self.shift_by.unwrap_or(0) })
        };
        let mut body = Map::new();
        body.insert("to".into(), to);
        body.insert("dry_run".into(), json!(!self.execute));
        if let Some((name, partitions)) = &self.topic {
            body.insert("topic".into(), json!(name));
            if let Some(partitions) = partitions {
                body.insert("partitions".into(), json!(partitions));
            }
        }
        Value::Object(body)
    }
}

/// Runs `sluice group ...`.
pub fn run(args: GroupArgs) -> std::process::ExitCode {
    let output = args.client.output;
    super::run(&args.client, move |client| async move {
        execute(&client, args.command, output).await
    })
}

async fn execute(
    client: &AdminClient,
    command: GroupCommand,
    output: Output,
) -> Result<(), ClientError> {
    match command {
        GroupCommand::List => {
            let all = client.get("/api/groups").await?;
            match output {
                Output::Json => print_json(&all),
                Output::Human => {
                    let rows: Vec<Vec<String>> = items(&all)
                        .iter()
                        .map(|g| {
                            vec![
                                text(g, "group").to_owned(),
                                text(g, "state").to_owned(),
                                text(g, "protocol_type").to_owned(),
                                number(g, "members"),
                            ]
                        })
                        .collect();
                    table::print(&["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"], &rows);
                }
            }
        }
        GroupCommand::Describe { group } => {
            let described = client.get(&path(&group)).await?;
            match output {
                Output::Json => print_json(&described),
                Output::Human => print_description(&described),
            }
        }
        GroupCommand::ResetOffsets(reset) => {
            let body = reset.body();
            let url = format!("{}/reset-offsets", path(&reset.group));
            let plan = client.post(&url, &body).await?;
            match output {
                Output::Json => print_json(&plan),
                Output::Human => {
                    let group = text(&plan, "group");
                    let rows: Vec<Vec<String>> = items(&plan["offsets"])
                        .iter()
                        .map(|o| {
                            vec![
                                group.to_owned(),
                                text(o, "topic").to_owned(),
                                number(o, "partition"),
                                number(o, "previous"),
                                number(o, "new_offset"),
                            ]
                        })
                        .collect();
                    table::print(
                        &[
                            "GROUP",
                            "TOPIC",
                            "PARTITION",
                            "PREVIOUS-OFFSET",
                            "NEW-OFFSET",
                        ],
                        &rows,
                    );
                    if plan["dry_run"].as_bool() != Some(false) {
                        eprintln!(
                            "Dry run: nothing was committed. Run again with --execute to commit."
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// `kafka-consumer-groups --describe`'s table, then the members and a summary line.
fn print_description(group: &Value) {
    let name = text(group, "group");
    let members = items(&group["members"]);
    let member = |id: &str| members.iter().find(|m| text(m, "member_id") == id);
    let rows: Vec<Vec<String>> = items(&group["offsets"])
        .iter()
        .map(|o| {
            let reader = o["member_id"].as_str().and_then(member);
            let of_reader = |key: &str| reader.map_or("-", |m| text(m, key)).to_owned();
            vec![
                name.to_owned(),
                text(o, "topic").to_owned(),
                number(o, "partition"),
                number(o, "committed"),
                number(o, "log_end"),
                number(o, "lag"),
                of_reader("member_id"),
                of_reader("client_host"),
                of_reader("client_id"),
            ]
        })
        .collect();
    table::print(
        &[
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ],
        &rows,
    );
    println!();
    if !members.is_empty() {
        let rows: Vec<Vec<String>> = members
            .iter()
            .map(|m| {
                let assigned: usize = items(&m["assignment"])
                    .iter()
                    .map(|a| items(&a["partitions"]).len())
                    .sum();
                vec![
                    text(m, "member_id").to_owned(),
                    text(m, "client_host").to_owned(),
                    text(m, "client_id").to_owned(),
                    assigned.to_string(),
                ]
            })
            .collect();
        table::print(&["CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"], &rows);
        println!();
    }
    let state = text(group, "state");
    let lag = number(group, "lag");
    match members.len() {
        0 => println!(
            "Consumer group '{name}' is {state} and has no active members. Total lag: {lag}."
        ),
        1 => println!("Consumer group '{name}' is {state} with 1 member. Total lag: {lag}."),
        n => println!("Consumer group '{name}' is {state} with {n} members. Total lag: {lag}."),
    }
}

/// `NAME` or `NAME:0,2`.
fn topic_partitions(text: &str) -> Result<(String, Option<Vec<u32>>), String> {
    let Some((name, list)) = text.split_once(':') else {
        return Ok((text.to_owned(), None));
    };
    let partitions = list
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| {
            format!("expected NAME or NAME:P,P,... with partition numbers, not `{text}`")
        })?;
    Ok((name.to_owned(), Some(partitions)))
}

fn path(group: &str) -> String {
    format!("/api/groups/{}", path_segment(group))
}
