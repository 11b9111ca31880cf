//! Commands that manage a running broker through its admin API (`sluice plugin ...`,
//! `sluice topic ...`, `sluice group ...`).
//!
//! Exit codes, the same for every such command:
//! - 0: done;
//! - 1: the broker refused (the message says why: unknown name, in use, not a plugin of that
//!   kind ...) or the command failed;
//! - 2: bad usage (unknown option, missing argument);
//! - 3: the broker's admin API could not be reached.
pub mod address;
pub mod config;
mod datetime;
mod fields;
pub mod group;
pub mod load;
pub mod plugin;
pub mod queue;
pub mod resources;
mod table;
pub mod topic;

use std::process::ExitCode;

use crate::client::{AdminClient, ClientError};

/// The broker refused, or the command failed.
pub const EXIT_REFUSED: u8 = 1;
/// The admin API could not be reached (or `--url` is malformed).
pub const EXIT_UNREACHABLE: u8 = 3;

/// How commands print what they get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Tables and sentences.
    #[default]
    Human,
    /// The admin API's JSON, as it answered.
    Json,
}

/// Options every admin command takes.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The broker's admin API.
    #[arg(
        long,
        global = true,
        env = "SLUICE_URL",
        default_value = crate::client::ADMIN_URL_DEFAULT
    )]
    pub url: String,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// Runs an admin command on a runtime of its own and turns its outcome into an exit code,
/// printing errors to stderr.
pub fn run<F, Fut>(args: &ClientArgs, command: F) -> ExitCode
where
    F: FnOnce(AdminClient) -> Fut,
    Fut: Future<Output = Result<(), ClientError>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sluice: cannot start: {e}");
            return ExitCode::from(EXIT_REFUSED);
        }
    };
    let outcome = AdminClient::new(&args.url).map(|client| runtime.block_on(command(client)));
    match outcome.and_then(|r| r) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::from(match e {
                ClientError::Refused { .. } => EXIT_REFUSED,
                ClientError::BadUrl(_) | ClientError::Unreachable { .. } => EXIT_UNREACHABLE,
            })
        }
    }
}

/// Prints `value` as JSON.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}
