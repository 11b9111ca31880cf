//! Durable-queue throughput over AMQP 1.0, Sluice against RabbitMQ, one load generator, one
//! run: 1 KiB durable messages sent unsettled (each accepted only once the broker stored it),
//! then received unsettled and accepted one by one (at least once). The figure that matters
//! is the ratio, measured in the same run on the same (shared, noisy) machine.
//!
//!     ../shared/peers/peer.sh start rabbitmq      # RabbitMQ 3.10, AMQP 1.0 on 127.0.0.1:5682
//!     cargo bench -p sluice --bench amqp_durable_queue
//!
//! Sluice runs as a child process (`sluice serve`, the built binary) on a fresh data directory
//! with its default `fsync` durability; RabbitMQ's queue is the durable classic queue `bench`
//! that peer.sh declares. Settings, from the environment:
//! - `SLUICE_BENCH_MESSAGES`: messages per phase (default 100,000);
//! - `SLUICE_BENCH_WINDOW`: unsettled sends in flight, and the receiver's credit (default 1000);
//! - `SLUICE_BENCH_RABBITMQ`: RabbitMQ's URL (default `amqp://127.0.0.1:5682`), `off` to skip.
//!
//! The load generator (`sluice_loadgen::amqp`, which `sluice produce`, `consume` and `perf`
//! use too) is a lean AMQP 1.0 client written on fe2o3-amqp's protocol types: a different implementation from the broker's codec, so neither side can
//! lean on the other's quirks, and cheap enough per message that on a 2-core machine the
//! brokers, not the generator, set the pace (fe2o3-amqp's full client used more CPU than
//! Sluice did). Its window must leave room in the session window it announces.
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sluice_loadgen::amqp::client::INCOMING_WINDOW;
use sluice_loadgen::amqp::{Client, Credentials, Receiver, message, sender};
use sluice_loadgen::{Destination, Protocol};

const MESSAGE_BYTES: usize = 1024;
/// RabbitMQ 3.10's AMQP 1.0 name for the queue peer.sh declares.
const RABBITMQ_ADDRESS: &str = "/amq/queue/bench";
const SLUICE_ADDRESS: &str = "queue://bench";
/// Our handle of the receiver link (the sender's is 0).
const RECEIVER: u32 = 1;
/// How long a drain of leftovers waits for one more message before calling the queue empty.
const DRAIN_IDLE: Duration = Duration::from_millis(500);

struct Figures {
    send_per_s: f64,
    receive_per_s: f64,
}

fn main() -> anyhow::Result<()> {
    let messages: usize = setting("SLUICE_BENCH_MESSAGES", 100_000)?;
    let window: usize = setting("SLUICE_BENCH_WINDOW", 1000)?;
    if window == 0 || window > INCOMING_WINDOW as usize / 2 {
        bail!(
            "SLUICE_BENCH_WINDOW must be between 1 and {}",
            INCOMING_WINDOW / 2
        );
    }
    let rabbitmq =
        std::env::var("SLUICE_BENCH_RABBITMQ").unwrap_or_else(|_| "amqp://127.0.0.1:5682".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "AMQP 1.0 durable queue: {messages} messages of {MESSAGE_BYTES} bytes, unsettled, window {window}"
    );

    let sluice = SluiceProcess::start()?;
    let ours = runtime.block_on(run(&sluice.url, SLUICE_ADDRESS, messages, window))?;
    drop(sluice);
    report("sluice", &ours);

    if rabbitmq == "off" {
        println!("rabbitmq: skipped (SLUICE_BENCH_RABBITMQ=off)");
        return Ok(());
    }
    let theirs = match runtime.block_on(run(&rabbitmq, RABBITMQ_ADDRESS, messages, window)) {
        Ok(figures) => figures,
        Err(e) => {
            println!(
                "rabbitmq: not measured ({e:#}); start it with ../shared/peers/peer.sh start rabbitmq"
            );
            return Ok(());
        }
    };
    report("rabbitmq", &theirs);
    println!(
        "ratio sluice/rabbitmq: send {:.1}x, receive {:.1}x",
        ours.send_per_s / theirs.send_per_s,
        ours.receive_per_s / theirs.receive_per_s
    );
    Ok(())
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name:<9} send {:>9.0} msg/s   receive {:>9.0} msg/s",
        f.send_per_s, f.receive_per_s
    );
}

/// Sends `messages` durable messages with up to `window` unsettled, waiting for every outcome,
/// then receives as many and accepts each; returns the rate of each phase.
async fn run(url: &str, address: &str, messages: usize, window: usize) -> anyhow::Result<Figures> {
    let address = Destination::parse(address, Protocol::Amqp)?;
    let mut client = Client::connect(url, &Credentials::default()).await?;
    let credit = u32::try_from(window)?;
    let mut receiver = Receiver::attach(
        &mut client,
        RECEIVER,
        "bench-receiver",
        &address,
        credit,
        None,
    )
    .await
    .with_context(|| format!("attaching a receiver to {address}"))?;
    let leftovers = receiver.drain(&mut client, DRAIN_IDLE).await?;
    if leftovers > 0 {
        println!("  ({leftovers} messages left by an earlier run drained first)");
    }
    // Detached while sending, so the send phase measures sending alone.
    receiver.detach(&mut client).await?;

    let payload = message::durable_message(&[b'x'; MESSAGE_BYTES])?;
    let sending = sender::send_copies(&mut client, &address, &payload, messages, window)
        .await
        .with_context(|| format!("sending to {address}"))?;

    let mut receiver = Receiver::attach(
        &mut client,
        RECEIVER,
        "bench-receiver",
        &address,
        credit,
        None,
    )
    .await
    .with_context(|| format!("attaching a receiver to {address}"))?;
    let receiving = receiver
        .take(&mut client, messages as u64)
        .await
        .with_context(|| format!("receiving from {address}"))?;
    receiver.detach(&mut client).await?;
    client.close().await?;
    Ok(Figures {
        send_per_s: messages as f64 / sending.as_secs_f64(),
        receive_per_s: messages as f64 / receiving.as_secs_f64(),
    })
}

/// `sluice serve` on a fresh data directory and free loopback ports, killed when dropped.
struct SluiceProcess {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl SluiceProcess {
    fn start() -> anyhow::Result<SluiceProcess> {
        let dir = tempfile::tempdir()?;
        let (amqp, admin) = (free_port()?, free_port()?);
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["serve", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--amqp", &format!("127.0.0.1:{amqp}")])
            .args(["--admin", &format!("127.0.0.1:{admin}")])
            .env("SLUICE_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting sluice")?;
        let process = SluiceProcess {
            child,
            url: format!("amqp://127.0.0.1:{amqp}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", amqp)).is_err() {
            if Instant::now() > deadline {
                bail!("sluice did not listen on {amqp} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(process)
    }
}

impl Drop for SluiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn setting(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v}")),
        Err(_) => Ok(default),
    }
}
