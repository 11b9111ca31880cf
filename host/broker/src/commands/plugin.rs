//! `sluice plugin list|show|load|swap|unload`: the admin API's plugin endpoints from the
//! command line.
use serde_json::{Map, Value, json};

use super::{ClientArgs, Output, print_json, table};
use crate::client::{AdminClient, ClientError};

/// `sluice plugin` options.
#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    /// Where the broker is and how to print.
    #[command(flatten)]
    pub client: ClientArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The kinds of plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KindArg {
    /// A protocol codec, serving a listener.
    Codec,
    /// A routing policy.
    Router,
    /// A message filter.
    Filter,
}

impl KindArg {
    fn as_str(self) -> &'static str {
        match self {
            KindArg::Codec => "codec",
            KindArg::Router => "router",
            KindArg::Filter => "filter",
        }
    }
}

/// `sluice plugin` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Every plugin: each listener's codec, every router and filter.
    List,
    /// One plugin, with its figures.
    Show {
        /// codec, router or filter.
        #[arg(value_enum)]
        kind: KindArg,
        /// Its name (a codec's is its listener's).
        name: String,
    },
    /// Load a plugin from a file: a router or filter under a name address settings and
    /// queues use, or a codec on a new listener (`--address`).
    Load(LoadArgs),
    /// Swap what serves a plugin's name for the component at `--source`, or for its file read
    /// again. Between two batches for routers and filters; for new connections for a codec.
    Swap {
        /// codec, router or filter.
        #[arg(value_enum)]
        kind: KindArg,
        /// Its name.
        name: String,
        /// `builtin:NAME` or a path to the new component; default: the current file again.
        #[arg(long, value_name = "PATH")]
        source: Option<String>,
    },
    /// Unload a plugin: a codec's listener stops; a router or filter must not be in use.
    Unload {
        /// codec, router or filter.
        #[arg(value_enum)]
        kind: KindArg,
        /// Its name.
        name: String,
    },
}

/// `sluice plugin load` options.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// codec, router or filter.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The name to load it under (a codec's listener takes it).
    #[arg(long)]
    pub name: String,
    /// `builtin:NAME` or a path to the component (`.wasm`), as the broker sees it.
    #[arg(long, value_name = "PATH")]
    pub source: String,
    /// Codecs: `host:port` for the new listener.
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    /// Codecs: `host:port` announced to clients.
    #[arg(long, value_name = "ADDR")]
    pub advertised: Option<String>,
    /// Codecs: the largest frame accepted from a peer.
    #[arg(long, value_name = "BYTES")]
    pub frame_bytes_max: Option<u32>,
    /// Codecs: connections at once.
    #[arg(long, value_name = "N")]
    pub connections_max: Option<usize>,
    /// Routers and filters: `hold` or `pass` while it fails.
    #[arg(long, value_name = "POLICY")]
    pub on_failure: Option<String>,
    /// Routers and filters: the longest one call may take.
    #[arg(long, value_name = "MS")]
    pub call_deadline_ms: Option<u64>,
    /// Routers and filters: the most memory one instance may use.
    #[arg(long, value_name = "BYTES")]
    pub memory_bytes_max: Option<usize>,
}

impl LoadArgs {
    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("kind".into(), json!(self.kind.as_str()));
        body.insert("name".into(), json!(self.name));
        body.insert("source".into(), json!(self.source));
        let optional = [
            ("address", self.address.as_ref().map(|v| json!(v))),
            ("advertised", self.advertised.as_ref().map(|v| json!(v))),
            ("frame-bytes-max", self.frame_bytes_max.map(|v| json!(v))),
            ("connections-max", self.connections_max.map(|v| json!(v))),
            ("on-failure", self.on_failure.as_ref().map(|v| json!(v))),
            ("call-deadline-ms", self.call_deadline_ms.map(|v| json!(v))),
            ("memory-bytes-max", self.memory_bytes_max.map(|v| json!(v))),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                body.insert(key.into(), value);
            }
        }
        Value::Object(body)
    }
}

/// Runs `sluice plugin ...`.
pub fn run(args: PluginArgs) -> std::process::ExitCode {
    let output = args.client.output;
    super::run(&args.client, move |client| async move {
        execute(&client, args.command, output).await
    })
}

async fn execute(
    client: &AdminClient,
    command: PluginCommand,
    output: Output,
) -> Result<(), ClientError> {
    match command {
        PluginCommand::List => {
            let all = client.get("/api/plugins").await?;
            match output {
                Output::Json => print_json(&all),
                Output::Human => print_list(&all),
            }
        }
        PluginCommand::Show { kind, name } => {
            let one = client.get(&path(kind, &name)).await?;
            match output {
                Output::Json => print_json(&one),
                Output::Human => print_list(&Value::Array(vec![one])),
            }
        }
        PluginCommand::Load(load) => {
            let loaded = client.post("/api/plugins", &load.body()).await?;
            match output {
                Output::Json => print_json(&loaded),
                Output::Human => {
                    println!("loaded {}", describe(&loaded));
                    if let Some(address) = loaded.get("address").and_then(Value::as_str) {
                        println!("listening on {address}");
                    }
                }
            }
        }
        PluginCommand::Swap { kind, name, source } => {
            let body = match source {
                Some(source) => json!({ "source": source }),
                None => json!({}),
            };
            let swapped = client.put(&path(kind, &name), &body).await?;
            match output {
                Output::Json => print_json(&swapped),
                Output::Human => {
                    let plugin = swapped.get("plugin").cloned().unwrap_or(Value::Null);
                    if swapped.get("swapped").and_then(Value::as_bool) == Some(true) {
                        println!("swapped: now {}", describe(&plugin));
                    } else {
                        println!("unchanged: already {}", describe(&plugin));
                    }
                }
            }
        }
        PluginCommand::Unload { kind, name } => {
            let unloaded = client.delete(&path(kind, &name)).await?;
            match output {
                Output::Json => print_json(&unloaded),
                Output::Human => match unloaded.get("restored").filter(|v| !v.is_null()) {
                    Some(builtin) => println!(
                        "unloaded {} `{name}`; the built-in serves again: {}",
                        kind.as_str(),
                        describe(builtin)
                    ),
                    None => println!("unloaded {} `{name}`", kind.as_str()),
                },
            }
        }
    }
    Ok(())
}

fn path(kind: KindArg, name: &str) -> String {
    format!("/api/plugins/{}/{name}", kind.as_str())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("-")
}

/// `filter `x`: plugin 1.0 (sha256 0123456789ab) from SOURCE`.
fn describe(plugin: &Value) -> String {
    let sha = text(plugin, "sha256");
    format!(
        "{} `{}`: {} {} (sha256 {}) from {}",
        text(plugin, "kind"),
        text(plugin, "name"),
        text(plugin, "plugin"),
        text(plugin, "version"),
        sha.get(..12).unwrap_or(sha),
        text(plugin, "source"),
    )
}

fn print_list(all: &Value) {
    let rows: Vec<Vec<String>> = all
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let calls = p
                .pointer("/stats/calls")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let healthy = p.get("healthy").and_then(Value::as_bool) == Some(true);
            vec![
                text(p, "kind").to_owned(),
                text(p, "name").to_owned(),
                text(p, "plugin").to_owned(),
                text(p, "version").to_owned(),
                if healthy { "yes" } else { "no" }.to_owned(),
                calls.to_string(),
                text(p, "address").to_owned(),
                text(p, "source").to_owned(),
            ]
        })
        .collect();
    table::print(
        &[
            "KIND", "NAME", "PLUGIN", "VERSION", "HEALTHY", "CALLS", "ADDRESS", "SOURCE",
        ],
        &rows,
    );
}
