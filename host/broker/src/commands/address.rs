//! `sluice address create|list|delete`: the admin API's address endpoints from the command
//! line, with Artemis's `artemis address` options.
use serde_json::{Value, json};

use super::{ClientArgs, Output, print_json, table};
use crate::client::{AdminClient, ClientError, path_segment};

/// `sluice address` options.
#[derive(Debug, clap::Args)]
pub struct AddressArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: AddressCommand,
}

/// `sluice address` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AddressCommand {
    /// Create an address. With neither `--anycast` nor `--multicast`, the address settings'
    /// default routing type (multicast unless configured otherwise).
    Create(CreateArgs),
    /// Every address: its routing types, its queues, whether it is temporary.
    List,
    /// Delete an address. Refused while it has queues, or while address settings send dead
    /// letters or expired messages to it, unless `--force`.
    Delete {
        /// The address.
        #[arg(long)]
        name: String,
        /// Delete its queues too (closing their consumers), and delete it even where dead
        /// letters or expired messages go.
        #[arg(long)]
        force: bool,
    },
}

/// `sluice address create` options.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The address.
    #[arg(long)]
    pub name: String,
    /// Route each message to one of its queues (point to point).
    #[arg(long, conflicts_with = "no_anycast")]
    pub anycast: bool,
    /// Do not route anycast: with no other flag, the address is multicast.
    #[arg(long, conflicts_with = "no_multicast")]
    pub no_anycast: bool,
    /// Route each message to every queue (publish/subscribe).
    #[arg(long, conflicts_with = "no_multicast")]
    pub multicast: bool,
    /// Do not route multicast: with no other flag, the address is anycast.
    #[arg(long)]
    pub no_multicast: bool,
}

impl CreateArgs {
    fn body(&self) -> Value {
        let mut routing = Vec::new();
        if self.anycast {
            routing.push("anycast");
        }
        if self.multicast || (self.no_anycast && !self.anycast) {
            routing.push("multicast");
        }
        if self.no_multicast && routing.is_empty() {
            routing.push("anycast");
        }
        json!({ "name": self.name, "routing_types": routing })
    }
}

/// Runs `sluice address ...`.
pub fn run(args: AddressArgs) -> std::process::ExitCode {
    let output = args.client.output;
    super::run(&args.client, move |client| async move {
        execute(&client, args.command, output).await
    })
}

async fn execute(
    client: &AdminClient,
    command: AddressCommand,
    output: Output,
) -> Result<(), ClientError> {
    match command {
        AddressCommand::Create(create) => {
            let created = client.post("/api/addresses", &create.body()).await?;
            match output {
                Output::Json => print_json(&created),
                Output::Human => println!(
                    "Address {} created ({}).",
                    text(&created, "name"),
                    names(&created, "routing_types", " and ")
                ),
            }
        }
        AddressCommand::List => {
            let all = client.get("/api/addresses").await?;
            match output {
                Output::Json => print_json(&all),
                Output::Human => print_list(&all),
            }
        }
        AddressCommand::Delete { name, force } => {
            let mut path = format!("/api/addresses/{}", path_segment(&name));
            if force {
                path.push_str("?force=true");
            }
            let deleted = client.delete(&path).await?;
            match output {
                Output::Json => print_json(&deleted),
                Output::Human => {
                    let queues = names(&deleted, "queues", ", ");
                    if queues.is_empty() {
                        println!("Address {name} deleted.");
                    } else {
                        println!("Address {name} deleted, with its queues {queues}.");
                    }
                }
            }
        }
    }
    Ok(())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("-")
}

/// The strings of array `key`, joined.
fn names(value: &Value, key: &str, separator: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(separator)
}

fn print_list(all: &Value) {
    let rows: Vec<Vec<String>> = all
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            let temporary = a.get("temporary").and_then(Value::as_bool) == Some(true);
            vec![
                text(a, "name").to_owned(),
                names(a, "routing_types", ",").to_uppercase(),
                if temporary { "yes" } else { "no" }.to_owned(),
                names(a, "queues", ","),
            ]
        })
        .collect();
    table::print(&["NAME", "ROUTING_TYPES", "TEMPORARY", "QUEUES"], &rows);
}
