//! `sluice produce`, `sluice consume` and `sluice perf`: load tools that speak Kafka or AMQP
//! 1.0 to a running broker, as Artemis's `producer` and `consumer` commands do. Thin: the
//! clients, the runs and their reports live in `sluice-loadgen`; this file is the options
//! and the exit codes (0 done, 1 refused or failed, 2 bad usage, 3 broker unreachable).
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use sluice_loadgen::amqp::Credentials;
use sluice_loadgen::consume::{ConsumeOptions, RECEIVE_TIMEOUT_DEFAULT};
use sluice_loadgen::link::{Broker, StartAt};
use sluice_loadgen::perf::PerfOptions;
use sluice_loadgen::produce::ProduceOptions;
use sluice_loadgen::summary::{Format, print_body};
use sluice_loadgen::{Destination, LoadError, Protocol};

use super::{EXIT_REFUSED, Output};

/// Artemis's producer and consumer stop after this many messages per thread by default.
const MESSAGE_COUNT_DEFAULT: u64 = 1000;

/// The protocols a load command speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolArg {
    /// AMQP 1.0.
    Amqp,
    /// Kafka.
    Kafka,
}

/// Where the broker is and what to talk to, for every load command.
#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    /// The protocol to speak.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Amqp)]
    pub protocol: ProtocolArg,
    /// The broker's Kafka listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9092")]
    pub kafka: String,
    /// The broker's AMQP 1.0 listener.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5672")]
    pub amqp: String,
    /// AMQP: log in as this user (SASL PLAIN); without it, SASL ANONYMOUS.
    #[arg(long)]
    pub user: Option<String>,
    /// AMQP: the user's password.
    #[arg(long)]
    pub password: Option<String>,
    /// `queue://NAME` (anycast), `topic://NAME` (multicast), or a bare address
    /// (`ADDRESS::QUEUE` for one queue of an address); for Kafka, a topic. Default:
    /// `queue://TEST` (AMQP), `TEST` (Kafka).
    #[arg(long, value_name = "DEST")]
    pub destination: Option<String>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

impl ConnectArgs {
    fn broker(&self) -> Broker {
        Broker {
            protocol: self.protocol(),
            kafka: self.kafka.clone(),
            amqp: self.amqp.clone(),
            credentials: Credentials {
                user: self.user.clone(),
                password: self.password.clone(),
            },
        }
    }

    fn protocol(&self) -> Protocol {
        match self.protocol {
            ProtocolArg::Amqp => Protocol::Amqp,
            ProtocolArg::Kafka => Protocol::Kafka,
        }
    }

    fn destination(&self) -> Result<Destination, LoadError> {
        let protocol = self.protocol();
        let text = self
            .destination
            .as_deref()
            .unwrap_or(protocol.default_destination());
        Destination::parse(text, protocol)
    }

    fn format(&self) -> Format {
        match self.output {
            Output::Human => Format::Human,
            Output::Json => Format::Json,
        }
    }
}

/// `sluice produce` options.
#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
    /// Broker, protocol, destination, output.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Messages per thread (10 with `--threads 2` sends 20).
    #[arg(long, value_name = "N", default_value_t = MESSAGE_COUNT_DEFAULT)]
    pub message_count: u64,
    /// Body bytes of each message; 0 sends a short label (`THREAD:SEQ`) alone.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub message_size: usize,
    /// Milliseconds to pause after each message, per thread.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub sleep: u64,
    /// Producers, each on its own connection.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Kafka: the key of every record (all go to the partition it hashes to); without it,
    /// batches go round robin over the partitions.
    #[arg(long)]
    pub key: Option<String>,
}

/// `sluice consume` options.
#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    /// Broker, protocol, destination, output.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Messages per thread at most; 0: no limit (until `--receive-timeout`).
    #[arg(long, value_name = "N", default_value_t = MESSAGE_COUNT_DEFAULT)]
    pub message_count: u64,
    /// Stop after this many milliseconds without a message; -1 waits for ever.
    #[arg(long, value_name = "MS", default_value_t = RECEIVE_TIMEOUT_DEFAULT.as_millis() as i64,
          allow_hyphen_values = true)]
    pub receive_timeout: i64,
    /// Consumers, each on its own connection (Kafka's split the topic's partitions).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Kafka: start at the log start where no committed offset says otherwise (default:
    /// the log end, only new records).
    #[arg(long)]
    pub from_beginning: bool,
    /// Kafka: start at this group's committed offsets and commit what was consumed (as a
    /// consumer using assign(); the group's membership is not joined).
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Print each message's body, one per line, before the summary (JSON strings with
    /// `--output json`, the summary then on one line).
    #[arg(long)]
    pub verbose: bool,
}

/// `sluice perf` options.
#[derive(Debug, clap::Args)]
pub struct PerfArgs {
    /// Broker, protocol, destination, output.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Producer connections.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub producers: usize,
    /// Consumer connections (Kafka's split the topic's partitions).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub consumers: usize,
    /// Body bytes of each message (at least 28: each carries its send time).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub message_size: usize,
    /// Seconds to produce for (default 10 unless `--message-count` is given).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Messages per producer.
    #[arg(long, value_name = "N")]
    pub message_count: Option<u64>,
    /// Messages per second at most, all producers together.
    #[arg(long, value_name = "MSG_PER_S")]
    pub rate: Option<f64>,
    /// Once producers stop, consumers give up after this many milliseconds without a
    /// message.
    #[arg(long, value_name = "MS", default_value_t = RECEIVE_TIMEOUT_DEFAULT.as_millis() as u64)]
    pub receive_timeout: u64,
    /// Write an SVG chart of throughput and latency over time to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub chart: Option<PathBuf>,
}

/// Runs `sluice produce`.
pub fn produce(args: ProduceArgs) -> ExitCode {
    let format = args.connect.format();
    run(async move {
        let options = ProduceOptions {
            broker: args.connect.broker(),
            destination: args.connect.destination()?,
            message_count: args.message_count,
            message_size: args.message_size,
            sleep: Duration::from_millis(args.sleep),
            threads: args.threads,
            key: args.key.map(String::into_bytes),
        };
        if options.key.is_some() && options.broker.protocol != Protocol::Kafka {
            return Err(LoadError::usage("--key is for Kafka"));
        }
        let summary = sluice_loadgen::produce::run(options).await?;
        print(|out| summary.print(format, out));
        Ok(())
    })
}

/// Runs `sluice consume`.
pub fn consume(args: ConsumeArgs) -> ExitCode {
    let format = args.connect.format();
    run(async move {
        let receive_timeout = match args.receive_timeout {
            -1 => None,
            ms if ms >= 0 => Some(Duration::from_millis(ms.unsigned_abs())),
            _ => return Err(LoadError::usage("--receive-timeout is -1 or milliseconds")),
        };
        let verbose = args.verbose;
        let on_body: Option<sluice_loadgen::consume::OnBody> = verbose.then(|| {
            Arc::new(move |_thread: usize, body: &[u8]| {
                let _ = print_body(format, body, &mut std::io::stdout().lock());
            }) as sluice_loadgen::consume::OnBody
        });
        let options = ConsumeOptions {
            broker: args.connect.broker(),
            destination: args.connect.destination()?,
            message_count: (args.message_count > 0).then_some(args.message_count),
            receive_timeout,
            threads: args.threads,
            start: StartAt {
                from_beginning: args.from_beginning,
                group: args.group,
            },
            on_body,
        };
        let summary = sluice_loadgen::consume::run(options).await?;
        if verbose && format == Format::Json {
            // After JSON lines of bodies, the summary on one line too.
            let line = serde_json::to_string(&summary).map_err(anyhow::Error::from)?;
            println!("{line}");
        } else {
            print(|out| summary.print(format, out));
        }
        Ok(())
    })
}

/// Runs `sluice perf`.
pub fn perf(args: PerfArgs) -> ExitCode {
    let format = args.connect.format();
    run(async move {
        let duration = match args.duration {
            None => None,
            Some(s) if s.is_finite() && s > 0.0 && s <= 1e9 => Some(Duration::from_secs_f64(s)),
            Some(_) => {
                return Err(LoadError::usage(
                    "--duration is a positive number of seconds",
                ));
            }
        };
        let options = PerfOptions {
            broker: args.connect.broker(),
            destination: args.connect.destination()?,
            producers: args.producers,
            consumers: args.consumers,
            message_size: args.message_size,
            duration,
            message_count: args.message_count,
            rate: args.rate,
            receive_timeout: Duration::from_millis(args.receive_timeout),
            progress: format == Format::Human,
            chart: args.chart,
        };
        let report = sluice_loadgen::perf::run(options).await?;
        print(|out| report.print(format, out));
        Ok(())
    })
}

/// Runs a load command on a runtime of its own (one worker per core: threads of a run are
/// tasks) and maps its outcome to an exit code, printing errors to stderr.
fn run(command: impl Future<Output = Result<(), LoadError>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sluice: cannot start: {e}");
            return ExitCode::from(EXIT_REFUSED);
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn print(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = write(&mut out) {
        eprintln!("sluice: writing the report: {e}");
    }
}
