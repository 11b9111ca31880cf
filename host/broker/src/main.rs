//! The `sluice` binary.
use clap::Parser;
use sluice_broker::cli::{Cli, Command, OfflineArgs};
use sluice_broker::config::{self, Config, Overrides};
use sluice_broker::logging::{self, LogConfig, LogFormat};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        quiet_on_closed_pipe();
    }
    let log_format = cli.log_format;
    // Commands that read the configuration log as it says, once it is resolved.
    if !reads_config(&cli.command) {
        logging::init(&LogConfig::without_config(log_format));
    }
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
        Command::Config(args) => return sluice_broker::commands::config::run(&args, log_format),
        Command::Serve(args) => config::of_serve(&args, log_format)
            .map_err(anyhow::Error::from)
            .and_then(|resolved| {
                let config = logged(resolved.config);
                tracing::info!(layers = %resolved.provenance.summary(), "configuration resolved");
                run(config)
            }),
        Command::Repair(args) => offline_config(args, log_format)
            .and_then(|config| sluice_broker::repair::run(&logged(config))),
        Command::Compact(args) => offline_config(args.offline, log_format)
            .and_then(|config| sluice_broker::compact::run(&logged(config), args.topic.as_deref())),
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

/// Whether `command` resolves the configuration (and so installs the log subscriber itself).
fn reads_config(command: &Command) -> bool {
    matches!(
        command,
        Command::Serve(_) | Command::Repair(_) | Command::Compact(_) | Command::Config(_)
    )
}

/// Installs the log subscriber `config` asks for.
fn logged(config: Config) -> Config {
    logging::init(&config.log);
    config
}

fn offline_config(args: OfflineArgs, log_format: Option<LogFormat>) -> anyhow::Result<Config> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        log_format,
        ..Overrides::default()
    };
    let resolved = config::resolve(args.config.as_deref(), &overrides, std::env::vars_os())?;
    Ok(resolved.config)
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
