//! The `sluice` binary.
use clap::Parser;
use sluice_broker::cli::{Cli, Command, OfflineArgs};
use sluice_broker::config::{Config, Overrides};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        quiet_on_closed_pipe();
    }
    sluice_broker::logging::init(cli.log_format);
    let result = match cli.command {
        Command::Plugin(args) => return sluice_broker::commands::plugin::run(args),
        Command::Topic(args) => return sluice_broker::commands::topic::run(args),
        Command::Group(args) => return sluice_broker::commands::group::run(args),
        Command::Address(args) => return sluice_broker::commands::address::run(args),
        Command::Queue(args) => return sluice_broker::commands::queue::run(args),
        Command::Resources(args) => return sluice_broker::commands::resources::run(args),
        Command::Produce(args) => return sluice_broker::commands::load::produce(args),
        Command::Consume(args) => return sluice_broker::commands::load::consume(args),
        Command::Perf(args) => return sluice_broker::commands::load::perf(args),
        Command::Serve(args) => {
            let overrides = Overrides {
                data_dir: args.data_dir,
                kafka: args.kafka,
                amqp: args.amqp,
                admin: args.admin,
            };
            Config::load(args.config.as_deref(), &overrides)
                .map(|mut config| {
                    if let Some(file) = args.resources {
                        config.resources.file = Some(file);
                    }
                    config
                })
                .map_err(anyhow::Error::from)
                .and_then(run)
        }
        Command::Repair(args) => {
            offline_config(args).and_then(|config| sluice_broker::repair::run(&config))
        }
        Command::Compact(args) => offline_config(args.offline)
            .and_then(|config| sluice_broker::compact::run(&config, args.topic.as_deref())),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("sluice: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn offline_config(args: OfflineArgs) -> anyhow::Result<Config> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        kafka: None,
        amqp: None,
        admin: None,
    };
    Ok(Config::load(args.config.as_deref(), &overrides)?)
}

fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(sluice_broker::server::serve(config))
}

/// A command piped into `head` should stop quietly when the reader goes, as Unix tools do,
/// not panic on its next `println!`. Rust ignores SIGPIPE for every program; the default
/// action ends the process. Never for `serve`: a peer closing its socket must cost the broker
/// an EPIPE on that connection, not its life.
fn quiet_on_closed_pipe() {
    // SAFETY: called before any thread starts; resetting a signal's disposition to its
    // default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
