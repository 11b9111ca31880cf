//! `sluice config show`: the configuration `sluice serve` would run with, given the same
//! file, environment and flags, and where each value came from. Offline: it reads what
//! `serve` reads and needs no broker.
use std::process::ExitCode;

use serde_json::json;

use super::{EXIT_REFUSED, Output, print_json};
use crate::config::report::Entry;
use crate::config::{self, var_for};
use crate::logging::LogFormat;

/// Lines of `key = value` are padded to this width before their source comment, so that the
/// comments line up; longer ones (arrays) are not.
const VALUE_COLUMN_WIDTH: usize = 48;

/// `sluice config` options.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// `sluice config` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration, each value with where it came from: `default`,
    /// `file PATH`, `env VAR` or `flag --FLAG` (flags beat variables, which beat the file,
    /// which beats the defaults). Takes `serve`'s flags. Passwords print as `****`.
    Show(ShowArgs),
}

/// `sluice config show` options.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The file and flags, as `sluice serve` takes them.
    #[command(flatten)]
    pub serve: crate::cli::ServeArgs,
    /// Output format: TOML with a comment per value, or a JSON list of
    /// `{"path", "value", "source", "env"}`.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// Runs `sluice config ...`: exit 0, or 1 with the reason on stderr when the configuration
/// is invalid.
pub fn run(args: &ConfigArgs, log_format: Option<LogFormat>) -> ExitCode {
    let ConfigCommand::Show(show) = &args.command;
    let entries = config::of_serve(&show.serve, log_format).and_then(|r| r.entries());
    match entries {
        Ok(entries) => {
            match show.output {
                Output::Human => print!("{}", human(&entries)),
                Output::Json => print_json(&as_json(&entries)),
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::from(EXIT_REFUSED)
        }
    }
}

/// TOML, each value followed by a comment naming its source; unset optional settings as
/// comments.
fn human(entries: &[Entry]) -> String {
    let mut out = String::from(
        "# The effective configuration. After each value, where it came from:\n\
         # default < file < env (SLUICE_*) < flag.\n",
    );
    let mut table: Option<&[String]> = None;
    for entry in entries {
        let Some((key, parent)) = entry.path.split_last() else {
            continue;
        };
        if table != Some(parent) {
            if !parent.is_empty() {
                out.push_str(&format!("\n[{}]\n", config::dotted(parent)));
            }
            table = Some(parent);
        }
        let key = config::dotted(std::slice::from_ref(key));
        let line = match &entry.value {
            Some(value) => format!("{key} = {value}"),
            None => format!("# {key} (not set)"),
        };
        out.push_str(&format!(
            "{line:<width$}  # {}\n",
            entry.source,
            width = VALUE_COLUMN_WIDTH
        ));
    }
    out
}

/// `[{"path", "value", "source", "env"}]`: `value` null when unset, `env` the variable that
/// would set it.
fn as_json(entries: &[Entry]) -> serde_json::Value {
    serde_json::Value::Array(
        entries
            .iter()
            .map(|entry| {
                json!({
                    "path": config::dotted(&entry.path),
                    "value": entry.value.as_ref().map(|v| serde_json::to_value(v).unwrap_or_default()),
                    "source": entry.source.to_string(),
                    "env": var_for(&entry.path),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn entry(path: &[&str], value: Option<toml::Value>, source: Source) -> Entry {
        Entry {
            path: path.iter().map(|k| (*k).to_owned()).collect(),
            value,
            source,
        }
    }

    #[test]
    fn human_output_is_toml_with_the_source_as_a_comment() {
        let entries = [
            entry(
                &["node-id"],
                Some(7.into()),
                Source::Env("SLUICE_NODE_ID".into()),
            ),
            entry(
                &["listeners", "kafka", "address"],
                Some("127.0.0.1:9".into()),
                Source::Flag("--kafka"),
            ),
            entry(&["plugins", "cache-dir"], None, Source::Default),
        ];
        let text = human(&entries);
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["node-id"].as_integer(), Some(7));
        assert_eq!(
            parsed["listeners"]["kafka"]["address"].as_str(),
            Some("127.0.0.1:9")
        );
        assert!(text.contains("# env SLUICE_NODE_ID\n"), "{text}");
        assert!(text.contains("# flag --kafka\n"), "{text}");
        assert!(text.contains("# cache-dir (not set)"), "{text}");
    }

    #[test]
    fn json_output_lists_path_value_source_and_variable() {
        let entries = [entry(
            &["topics", "default-partitions"],
            Some(3.into()),
            Source::Env("SLUICE_TOPICS__DEFAULT_PARTITIONS".into()),
        )];
        assert_eq!(
            as_json(&entries),
            json!([{
                "path": "topics.default-partitions",
                "value": 3,
                "source": "env SLUICE_TOPICS__DEFAULT_PARTITIONS",
                "env": "SLUICE_TOPICS__DEFAULT_PARTITIONS",
            }])
        );
    }
}
