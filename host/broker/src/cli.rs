//! The `sluice` command line.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

/// Sluice: a message broker whose protocols, routing and filters are WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    /// Log format (default human; also `[log] format` and SLUICE_LOG_FORMAT, which this
    /// flag overrides).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker. With no configuration: data in ./sluice-data, Kafka on 127.0.0.1:9092,
    /// AMQP 1.0 on 127.0.0.1:5672, the admin API on 127.0.0.1:8161.
    /// SIGHUP reloads codecs loaded from files; SIGINT/SIGTERM stop gracefully.
    Serve(ServeArgs),
    /// Check every segment of the data directory, reading each batch, and cut each damaged
    /// partition log at its first invalid batch. What is cut is moved to
    /// `<data-dir>/lost+found/<topic>/<partition>/`, never deleted. Run it with the broker
    /// stopped, when `serve` refused to start over a corrupt segment.
    Repair(OfflineArgs),
    /// Compact now, with the broker stopped: every topic whose `cleanup.policy` includes
    /// `compact` (or only `--topic`) keeps the latest record per key in its sealed segments,
    /// and drops tombstones older than `delete.retention.ms`, whatever its dirty ratio. The
    /// running broker does the same in the background every `topics.compaction-check-ms`.
    Compact(CompactArgs),
    /// Manage the plugins of a running broker through its admin API: list, show, load, swap
    /// and unload codecs, routers and filters. Exit codes: 0 done, 1 refused by the broker,
    /// 2 bad usage, 3 broker unreachable.
    Plugin(crate::commands::plugin::PluginArgs),
    /// Manage the Kafka topics of a running broker through its admin API: create, list,
    /// describe (settings and partition offsets), alter (add partitions, change settings) and
    /// delete. Exit codes: 0 done, 1 refused by the broker, 2 bad usage, 3 broker unreachable.
    Topic(crate::commands::topic::TopicArgs),
    /// Inspect and manage the consumer groups of a running broker through its admin API: list,
    /// describe (lag per partition, members) and reset-offsets. Exit codes: 0 done, 1 refused
    /// by the broker, 2 bad usage, 3 broker unreachable.
    Group(crate::commands::group::GroupArgs),
    /// Manage the addresses of a running broker (Artemis's `address` commands): create with
    /// `--anycast` and/or `--multicast`, list, delete (`--force` with its queues). Exit codes:
    /// 0 done, 1 refused by the broker, 2 bad usage, 3 broker unreachable.
    Address(crate::commands::address::AddressArgs),
    /// Manage the queues of a running broker (Artemis's `queue` commands): create, list,
    /// stat (Artemis's columns), purge, delete (`--remove-consumers`). Exit codes: 0 done,
    /// 1 refused by the broker, 2 bad usage, 3 broker unreachable.
    Queue(crate::commands::queue::QueueArgs),
    /// Declared resources (topics, addresses, queues, address settings, users, plugins) of a
    /// running broker: `diff` a file against it, `apply` one, or show the `status` of the file
    /// it watches. Exit codes: 0 done, 1 refused or a change failed, 2 bad usage, 3 broker
    /// unreachable.
    Resources(crate::commands::resources::ResourcesArgs),
    /// Show the effective configuration (`config show`): defaults, then the file, then
    /// SLUICE_* variables, then flags, each value with where it came from.
    Config(crate::commands::config::ConfigArgs),
    /// Send messages over AMQP 1.0 or Kafka, as Artemis's `producer`: `--message-count` per
    /// thread, each acknowledged by the broker. Exit codes: 0 done, 1 refused or failed,
    /// 2 bad usage, 3 broker unreachable.
    Produce(crate::commands::load::ProduceArgs),
    /// Receive messages over AMQP 1.0 or Kafka, as Artemis's `consumer`, acknowledging each,
    /// until `--message-count` per thread or `--receive-timeout` without one. Exit codes as
    /// `produce`.
    Consume(crate::commands::load::ConsumeArgs),
    /// Produce and consume at once and report throughput and latency percentiles, with a
    /// progress bar, `--output json` and an SVG chart (`--chart`). Exit codes as `produce`.
    Perf(crate::commands::load::PerfArgs),
}

/// `sluice compact` options.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// The data directory and configuration.
    #[command(flatten)]
    pub offline: OfflineArgs,
    /// Only this topic.
    #[arg(long, value_name = "NAME")]
    pub topic: Option<String>,
}

/// Options of the commands that work on a stopped broker's data directory.
#[derive(Debug, clap::Args)]
pub struct OfflineArgs {
    /// TOML configuration file (for the data directory and topic defaults).
    #[arg(long, value_name = "FILE", env = "SLUICE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (default ./sluice-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `sluice serve` options (`sluice config show` takes them too). Flags override SLUICE_*
/// variables, which override the configuration file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE", env = "SLUICE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (default ./sluice-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the Kafka listener (default 127.0.0.1:9092). With `--kafka` or `--amqp`
    /// and no listeners in the file or variables, only the listeners named by flags start.
    #[arg(long, value_name = "ADDR")]
    pub kafka: Option<String>,
    /// Address of the AMQP 1.0 listener (default 127.0.0.1:5672).
    #[arg(long, value_name = "ADDR")]
    pub amqp: Option<String>,
    /// Address of the admin HTTP API (default 127.0.0.1:8161).
    #[arg(long, value_name = "ADDR")]
    pub admin: Option<String>,
    /// A resources file (TOML) to apply at start and again whenever it changes
    /// (`resources.file`).
    #[arg(long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
}
