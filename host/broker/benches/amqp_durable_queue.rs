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
//! - `SLUICE_BENCH_MESSAGES`: messages per phase (default 20,000);
//! - `SLUICE_BENCH_WINDOW`: unsettled sends in flight, and the receiver's credit (default 1000);
//! - `SLUICE_BENCH_RABBITMQ`: RabbitMQ's URL (default `amqp://127.0.0.1:5682`), `off` to skip.
//!
//! The load generator is fe2o3-amqp's client: a different AMQP implementation from the
//! broker's codec, so neither side can lean on the other's quirks.
use std::collections::VecDeque;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fe2o3_amqp::link::receiver::CreditMode;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::types::messaging::{Body, Header, Message};
use fe2o3_amqp::types::primitives::{Binary, Value};
use fe2o3_amqp::{Connection, Receiver, Sender, Session};

const MESSAGE_BYTES: usize = 1024;
/// RabbitMQ 3.10's AMQP 1.0 name for the queue peer.sh declares.
const RABBITMQ_ADDRESS: &str = "/amq/queue/bench";
const SLUICE_ADDRESS: &str = "queue://bench";
/// How long a drain of leftovers waits for one more message before calling the queue empty.
const DRAIN_IDLE: Duration = Duration::from_millis(500);

struct Figures {
    send_per_s: f64,
    receive_per_s: f64,
}

fn main() -> anyhow::Result<()> {
    let messages: usize = setting("SLUICE_BENCH_MESSAGES", 20_000)?;
    let window: usize = setting("SLUICE_BENCH_WINDOW", 1000)?;
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
    let mut connection = Connection::builder()
        .container_id("sluice-bench")
        .sasl_profile(SaslProfile::Anonymous)
        .open(url)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let mut session = Session::begin(&mut connection)
        .await
        .context("beginning a session")?;
    let credit = u32::try_from(window).unwrap_or(u32::MAX);
    let mut receiver = Receiver::builder()
        .name("bench-receiver")
        .source(address)
        .credit_mode(CreditMode::Auto(credit))
        .attach(&mut session)
        .await
        .with_context(|| format!("attaching a receiver to {address}"))?;
    let leftovers = drain(&mut receiver).await.context("draining leftovers")?;
    if leftovers > 0 {
        println!("  ({leftovers} messages left by an earlier run drained first)");
    }

    let mut sender = Sender::attach(&mut session, "bench-sender", address)
        .await
        .with_context(|| format!("attaching a sender to {address}"))?;
    let body = Binary::from(vec![b'x'; MESSAGE_BYTES]);
    let started = Instant::now();
    let mut unsettled = VecDeque::with_capacity(window);
    for _ in 0..messages {
        let message = Message::builder()
            .header(Header {
                durable: true,
                ..Header::default()
            })
            .data(body.clone())
            .build();
        unsettled.push_back(sender.send_batchable(message).await?);
        if unsettled.len() >= window
            && let Some(outcome) = unsettled.pop_front()
        {
            outcome
                .await?
                .accepted_or_else(|o| anyhow::anyhow!("{o:?}"))?;
        }
    }
    while let Some(outcome) = unsettled.pop_front() {
        outcome
            .await?
            .accepted_or_else(|o| anyhow::anyhow!("{o:?}"))?;
    }
    let send_per_s = messages as f64 / started.elapsed().as_secs_f64();
    // Links are detached rather than closed: RabbitMQ 3.10 answers a closing detach in a way
    // the client reports as an illegal state, and a link's end is not what is measured.
    sender
        .detach()
        .await
        .map_err(|(_, e)| e)
        .context("detaching the sender")?;

    let started = Instant::now();
    for _ in 0..messages {
        let delivery = receiver.recv::<Body<Value>>().await.context("receiving")?;
        receiver.accept(&delivery).await.context("accepting")?;
    }
    let receive_per_s = messages as f64 / started.elapsed().as_secs_f64();
    receiver
        .detach()
        .await
        .map_err(|(_, e)| e)
        .context("detaching the receiver")?;
    session.end().await.context("ending the session")?;
    connection.close().await.context("closing the connection")?;
    Ok(Figures {
        send_per_s,
        receive_per_s,
    })
}

/// Takes and accepts whatever the queue still holds, so each run starts from an empty queue.
async fn drain(receiver: &mut Receiver) -> anyhow::Result<usize> {
    let mut drained = 0;
    while let Ok(delivery) = tokio::time::timeout(DRAIN_IDLE, receiver.recv::<Body<Value>>()).await
    {
        receiver.accept(&delivery?).await?;
        drained += 1;
    }
    Ok(drained)
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
