//! Logs through tracing to stderr, human-readable or JSON lines.
//!
//! `sluice serve` (and every command that reads the configuration) installs the subscriber
//! only once the configuration is resolved, from its `[log]` table: so `SLUICE_LOG`,
//! `SLUICE_LOG_FORMAT`, the file and `--log-format` all count, in that order of precedence
//! with the file below the variables. A configuration error is printed plainly to stderr,
//! before any subscriber exists. Commands that read no configuration (the admin API
//! clients) log by `--log-format`, `SLUICE_LOG_FORMAT` and `SLUICE_LOG` alone.
use std::io::IsTerminal;

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// The filter when none is configured.
pub const LEVEL_DEFAULT: &str = "info";
/// The variable that sets `log.level`, in `EnvFilter` syntax (kept from before `[log]`).
pub const LEVEL_ENV: &str = "SLUICE_LOG";
/// The variable that sets `log.format`.
pub const FORMAT_ENV: &str = "SLUICE_LOG_FORMAT";

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `key=value` lines for people.
    #[default]
    Human,
    /// One JSON object per line for log pipelines.
    Json,
}

impl LogFormat {
    /// The name the configuration and `--log-format` use.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        }
    }
}

/// The `[log]` table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// What to log, in `tracing_subscriber::EnvFilter` syntax: `info`, `debug`,
    /// `info,sluice_broker::net=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            level: LEVEL_DEFAULT.to_owned(),
        }
    }
}

impl LogConfig {
    /// Checks that `level` is a filter; the error says why not.
    pub fn check(&self) -> Result<(), String> {
        EnvFilter::try_new(&self.level)
            .map(|_| ())
            .map_err(|e| format!("log.level = {:?} is not a log filter: {e}", self.level))
    }

    /// For commands that read no configuration: the flag, else `SLUICE_LOG_FORMAT`, else
    /// human; `SLUICE_LOG`, else `info`. Unusable values fall back to the defaults, since
    /// such a command's own output goes to stdout and stderr without the log.
    pub fn without_config(flag: Option<LogFormat>) -> LogConfig {
        let format = flag.or_else(|| {
            let value = std::env::var(FORMAT_ENV).ok()?;
            <LogFormat as clap::ValueEnum>::from_str(&value, true).ok()
        });
        LogConfig {
            format: format.unwrap_or_default(),
            level: std::env::var(LEVEL_ENV).unwrap_or_else(|_| LEVEL_DEFAULT.to_owned()),
        }
    }
}

/// Installs the global subscriber, writing to stderr. An unusable level (which
/// [`LogConfig::check`] refuses for configured brokers) logs at `info`.
pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_new(&config.level).unwrap_or_else(|_| EnvFilter::new(LEVEL_DEFAULT));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second subscriber (only tests would install one) keeps the first.
    let _ = match config.format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
}
