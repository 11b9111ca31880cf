//! Durable produce throughput as a share of what the disk can do, measured in one run.
//!
//! First the disk: sequential 1 MiB writes to a fresh file, each followed by fdatasync, in the
//! directory the brokers will use. That is what a log that made every write durable before
//! answering would reach with one writer and no grouping. Then the real `sluice` binary, as a
//! child process, twice: with `durability = "fsync"` and with `"relaxed"`. Several producer
//! connections speak Kafka Produce v9 with acks=-1 over TCP, each keeping several requests in
//! flight as librdkafka does; the record bytes acknowledged per second after a warm-up are the
//! throughput. Durable produce over the disk figure is the headline ratio (target >= 0.8):
//! group commit should let acknowledged-means-on-disk use most of the disk. The three are
//! measured in `ROUNDS` rounds, alternating their order, and the figures are the means.
//!
//!     cargo bench -p sluice --bench durable_produce
//!
//! Writes `target/bench-reports/durable_produce.json` as well as printing the figures.
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, ProduceRequest, ProduceResponse,
    ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use sluice_loadgen::kafka::wire::{CORRELATION_ID_AT, encode_request, read_frame, record_batch};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Record value size; records carry no key, so record bytes are value bytes (the log holds
/// about 1% more: record and batch headers).
const RECORD_BYTES: usize = 1024;
/// Records per batch: what librdkafka with a few ms of linger builds from a steady stream of
/// 1 KiB records to one partition (256 KiB, under its 1 MB `batch.size`).
const RECORDS_PER_BATCH: usize = 256;
/// Partitions of the topic. Every request carries one batch for each, as a client whose keys
/// spread over all partitions sends them, so a request is about 1 MiB, the disk chunk below.
const PARTITIONS: usize = 4;
/// Concurrent producer connections: several writers, so group commit has writes to group.
const PRODUCERS: usize = 4;
/// Requests in flight per connection: Kafka's `max.in.flight.requests.per.connection`, the
/// most librdkafka keeps with idempotence on.
const IN_FLIGHT: usize = 5;
/// The newest Produce version the codec serves.
const PRODUCE_VERSION: i16 = 9;
/// Acknowledged bytes before this are not counted: segment files, page cache and the codec
/// instances warm up.
const WARMUP: Duration = Duration::from_secs(2);
/// Throughput is measured over this, long enough to span many group commits and relaxed
/// flushes (every second by default).
const MEASURE: Duration = Duration::from_secs(5);
/// The disk baseline writes this much and then fdatasyncs: one produce request's worth.
const DISK_CHUNK_BYTES: usize = 1 << 20;
/// The disk baseline runs this long...
const DISK_TIME: Duration = Duration::from_secs(3);
/// ...or until it has written this much, to bound the space it takes on a fast disk.
const DISK_BYTES_MAX: u64 = 1 << 30;
/// How long a broker may take to accept connections: a fresh data directory has no compiled
/// plugins yet, so a start compiles the Kafka codec.
const BROKER_START_MAX: Duration = Duration::from_secs(120);
/// Broker log lines shown when a broker fails.
const LOG_TAIL_LINES: usize = 30;
/// Durable produce should reach this share of the disk baseline.
const RATIO_TARGET: f64 = 0.8;
const TOPIC: &str = "durable-bench";
/// Rounds of the three measurements, the second in reverse order. Virtual disks are often fast
/// for a burst and slower once gigabytes have gone by (seen here: whatever ran second in a
/// round was slower, whichever it was); running A B C then C B A cancels such a drift.
const ROUNDS: usize = 2;

/// What one measurement measures; each gets a fresh directory of its own.
#[derive(Clone, Copy)]
enum Subject {
    Disk,
    Fsync,
    Relaxed,
}

impl Subject {
    const ALL: [Subject; 3] = [Subject::Disk, Subject::Fsync, Subject::Relaxed];

    fn name(self) -> &'static str {
        match self {
            Subject::Disk => "disk",
            Subject::Fsync => "fsync",
            Subject::Relaxed => "relaxed",
        }
    }
}

fn main() -> anyhow::Result<()> {
    // Next to the build (same filesystem), fresh each run.
    let target = Path::new(env!("CARGO_BIN_EXE_sluice"))
        .ancestors()
        .nth(2)
        .context("the sluice binary is not in a target directory")?;
    let root = target.join("bench-data").join("durable_produce");
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("remove {}", root.display()))?;
    }
    fs::create_dir_all(&root)?;
    let filesystem = filesystem_of(&root);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    // Bytes per second, by subject and round.
    let mut rates = vec![Vec::with_capacity(ROUNDS); Subject::ALL.len()];
    let mut syncs_ms = Vec::new();
    for round in 0..ROUNDS {
        let mut order = Subject::ALL;
        if round % 2 == 1 {
            order.reverse();
        }
        for subject in order {
            let dir = root.join(format!("{}-{round}", subject.name()));
            let rate = match subject {
                Subject::Disk => {
                    let (rate, syncs) = disk_baseline(&dir)?;
                    syncs_ms.extend(syncs);
                    rate
                }
                policy => runtime.block_on(produce_throughput(&dir, policy.name()))?,
            };
            rates[subject as usize].push(rate);
            // Each measurement writes gigabytes: give the space back before the next.
            fs::remove_dir_all(&dir)?;
        }
    }
    fs::remove_dir_all(&root)?;

    let mb = |bytes_per_s: f64| bytes_per_s / 1e6;
    let mean = |s: Subject| rates[s as usize].iter().sum::<f64>() / ROUNDS as f64;
    let disk = mean(Subject::Disk);
    let ratio = |s: Subject| mean(s) / disk;
    syncs_ms.sort_by(f64::total_cmp);
    let sync_ms = |q: f64| syncs_ms[((syncs_ms.len() - 1) as f64 * q).round() as usize];

    println!(
        "durable produce: {RECORD_BYTES} B records, {RECORDS_PER_BATCH} per batch, {PARTITIONS} partitions, {PRODUCERS} connections x {IN_FLIGHT} in flight, acks=-1, {}s warm-up + {}s measured, {ROUNDS} rounds (the second in reverse order)",
        WARMUP.as_secs(),
        MEASURE.as_secs()
    );
    println!("data directory: {} ({filesystem})", root.display());
    println!("                          mean MB/s  per round      ratio to disk");
    for (subject, label) in Subject::ALL.into_iter().zip([
        "disk write + fdatasync",
        "produce, fsync",
        "produce, relaxed",
    ]) {
        let rounds: Vec<String> = rates[subject as usize]
            .iter()
            .map(|r| format!("{:.1}", mb(*r)))
            .collect();
        let note = match subject {
            Subject::Fsync if ratio(subject) < RATIO_TARGET => {
                format!("   (target >= {RATIO_TARGET:.2}: BELOW TARGET)")
            }
            Subject::Fsync => format!("   (target >= {RATIO_TARGET:.2})"),
            _ => String::new(),
        };
        println!(
            "{label:<24} {:>10.1}  {:<16} {:.3}{note}",
            mb(mean(subject)),
            rounds.join(" / "),
            ratio(subject)
        );
    }
    println!(
        "fdatasync after each {} KiB write: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} syncs)",
        DISK_CHUNK_BYTES >> 10,
        sync_ms(0.5),
        sync_ms(0.99),
        sync_ms(1.0),
        syncs_ms.len()
    );

    let list = |s: Subject| {
        let rounds: Vec<String> = rates[s as usize]
            .iter()
            .map(|r| format!("{:.1}", mb(*r)))
            .collect();
        format!("[{}]", rounds.join(","))
    };
    let report = format!(
        "{{\"filesystem\":\"{}\",\"record_bytes\":{RECORD_BYTES},\"records_per_batch\":{RECORDS_PER_BATCH},\"partitions\":{PARTITIONS},\"producers\":{PRODUCERS},\"in_flight\":{IN_FLIGHT},\"measure_s\":{},\"rounds\":{ROUNDS},\"disk_mb_per_s\":{:.1},\"disk_mb_per_s_rounds\":{},\"fsync_ms_p50\":{:.3},\"fsync_ms_p99\":{:.3},\"fsync_ms_max\":{:.3},\"fsync_produce_mb_per_s\":{:.1},\"fsync_produce_mb_per_s_rounds\":{},\"relaxed_produce_mb_per_s\":{:.1},\"relaxed_produce_mb_per_s_rounds\":{},\"ratio_fsync_disk\":{:.4},\"ratio_relaxed_disk\":{:.4},\"ratio_target\":{RATIO_TARGET}}}\n",
        filesystem.replace('"', "'"),
        MEASURE.as_secs(),
        mb(disk),
        list(Subject::Disk),
        sync_ms(0.5),
        sync_ms(0.99),
        sync_ms(1.0),
        mb(mean(Subject::Fsync)),
        list(Subject::Fsync),
        mb(mean(Subject::Relaxed)),
        list(Subject::Relaxed),
        ratio(Subject::Fsync),
        ratio(Subject::Relaxed),
    );
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-reports");
    fs::create_dir_all(&reports)?;
    fs::write(reports.join("durable_produce.json"), report)?;
    Ok(())
}

/// Sequential write-then-fdatasync on one fresh file: bytes per second, and each fdatasync's
/// milliseconds.
fn disk_baseline(dir: &Path) -> anyhow::Result<(f64, Vec<f64>)> {
    fs::create_dir_all(dir)?;
    let path = dir.join("probe");
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))?;
    let chunk = pattern(DISK_CHUNK_BYTES);
    let mut syncs_ms = Vec::new();
    let mut written = 0u64;
    let start = Instant::now();
    while start.elapsed() < DISK_TIME && written < DISK_BYTES_MAX {
        file.write_all(&chunk)?;
        let t = Instant::now();
        file.sync_data()?;
        syncs_ms.push(t.elapsed().as_secs_f64() * 1e3);
        written += chunk.len() as u64;
    }
    Ok((written as f64 / start.elapsed().as_secs_f64(), syncs_ms))
}

/// Record bytes acknowledged per second by a fresh broker with this durability policy.
async fn produce_throughput(dir: &Path, durability: &str) -> anyhow::Result<f64> {
    let broker = Broker::start(dir, durability)?;
    create_topic(broker.port).await?;
    let frame = Arc::new(produce_frame()?);
    let acked = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + WARMUP + MEASURE;
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|_| tokio::spawn(produce(broker.port, frame.clone(), end, acked.clone())))
        .collect();
    tokio::time::sleep_until((start + WARMUP).into()).await;
    let (t0, bytes0) = (Instant::now(), acked.load(Ordering::Relaxed));
    tokio::time::sleep_until(end.into()).await;
    let (t1, bytes1) = (Instant::now(), acked.load(Ordering::Relaxed));
    for producer in producers {
        producer
            .await?
            .with_context(|| format!("producer failed ({durability})\n{}", broker.log_tail()))?;
    }
    ensure!(
        bytes1 > bytes0,
        "nothing acknowledged while measuring ({durability})\n{}",
        broker.log_tail()
    );
    Ok((bytes1 - bytes0) as f64 / (t1 - t0).as_secs_f64())
}

/// One connection producing `frame` until `end`, at most IN_FLIGHT requests outstanding;
/// adds the record bytes of every acknowledged request to `acked`.
async fn produce(
    port: u16,
    frame: Arc<Vec<u8>>,
    end: Instant,
    acked: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut frame = frame.to_vec();
    let (mut sent, mut answered) = (0i32, 0i32);
    loop {
        if Instant::now() < end && sent - answered < IN_FLIGHT as i32 {
            frame[CORRELATION_ID_AT].copy_from_slice(&sent.to_be_bytes());
            stream.write_all(&frame).await?;
            sent += 1;
        } else if answered < sent {
            let mut response = read_frame(&mut stream).await?;
            check_produce_response(&mut response, answered)?;
            answered += 1;
            acked.fetch_add(
                (PARTITIONS * RECORDS_PER_BATCH * RECORD_BYTES) as u64,
                Ordering::Relaxed,
            );
        } else {
            return Ok(());
        }
    }
}

fn check_produce_response(frame: &mut Bytes, correlation_id: i32) -> anyhow::Result<()> {
    let header = ResponseHeader::decode(
        frame,
        ApiKey::Produce.response_header_version(PRODUCE_VERSION),
    )?;
    ensure!(
        header.correlation_id == correlation_id,
        "response {} arrived where {correlation_id} was due",
        header.correlation_id
    );
    let response = ProduceResponse::decode(frame, PRODUCE_VERSION)?;
    let partitions: Vec<_> = response
        .responses
        .iter()
        .flat_map(|t| &t.partition_responses)
        .collect();
    ensure!(
        partitions.len() == PARTITIONS,
        "{} partition responses",
        partitions.len()
    );
    for p in partitions {
        ensure!(
            p.error_code == 0 && p.base_offset >= 0,
            "partition {}: error {} {:?} (base offset {})",
            p.index,
            p.error_code,
            p.error_message,
            p.base_offset
        );
    }
    Ok(())
}

/// The Produce request every producer sends: one batch of RECORDS_PER_BATCH records for each
/// partition, acks=-1. The broker assigns offsets by rewriting each batch's base offset, which
/// the CRC does not cover, so the same bytes can be sent again and again.
fn produce_frame() -> anyhow::Result<Vec<u8>> {
    let value = Bytes::from(pattern(RECORD_BYTES));
    let batch = record_batch(RECORDS_PER_BATCH, |_| None, &value)?;
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_partition_data(
                    (0..PARTITIONS as i32)
                        .map(|p| {
                            PartitionProduceData::default()
                                .with_index(p)
                                .with_records(Some(batch.clone()))
                        })
                        .collect(),
                ),
        ]);
    encode_request(ApiKey::Produce, PRODUCE_VERSION, 0, &request)
}

async fn create_topic(port: u16) -> anyhow::Result<()> {
    const VERSION: i16 = 7;
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
                .with_num_partitions(PARTITIONS as i32)
                .with_replication_factor(1),
        ]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(&encode_request(ApiKey::CreateTopics, VERSION, 0, &request)?)
        .await?;
    let mut frame = read_frame(&mut stream).await?;
    ResponseHeader::decode(
        &mut frame,
        ApiKey::CreateTopics.response_header_version(VERSION),
    )?;
    let response = CreateTopicsResponse::decode(&mut frame, VERSION)?;
    for t in &response.topics {
        ensure!(
            t.error_code == 0,
            "create topic {}: error {} {:?}",
            t.name.0,
            t.error_code,
            t.error_message
        );
    }
    Ok(())
}

/// Bytes that are not all alike, so neither the disk nor anything between notices repeats
/// within a record or a chunk.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 % 251) as u8).collect()
}

/// A `sluice serve` child process on a loopback port of its own, killed when dropped (on
/// success, error or panic), its log kept in a file for failures.
struct Broker {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Broker {
    fn start(dir: &Path, durability: &str) -> anyhow::Result<Broker> {
        fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let config = dir.join("sluice.toml");
        fs::write(
            &config,
            format!(
                "data-dir = {}\n\n[topics]\nauto-create = false\ndurability = \"{durability}\"\n\n[listeners.kafka]\naddress = \"127.0.0.1:{port}\"\n",
                toml_string(&dir.join("data"))
            ),
        )?;
        let log = dir.join("broker.log");
        let out = File::create(&log)?;
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("SLUICE_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        // A benchmark killed outright (no unwinding, no Drop) takes its broker with it.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut broker = Broker {
            child: command.spawn().context("spawn the sluice binary")?,
            port,
            log,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = broker.child.try_wait()? {
                bail!(
                    "broker ({durability}) exited with {status} during startup\n{}",
                    broker.log_tail()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(broker);
            }
            if started.elapsed() > BROKER_START_MAX {
                bail!(
                    "broker ({durability}) not accepting on port {port} after {BROKER_START_MAX:?}\n{}",
                    broker.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        format!("--- last lines of {} ---\n{tail}", self.log.display())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn toml_string(path: &Path) -> String {
    let s = path.display().to_string();
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// "TYPE on SOURCE at MOUNT POINT" for the mount holding `path`, from /proc/self/mountinfo.
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return "filesystem unknown".to_owned();
    };
    mountinfo
        .lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE ...
            let (before, after) = line.split_once(" - ")?;
            let mount_point = before.split(' ').nth(4)?;
            let mut after = after.split(' ');
            let (fs_type, source) = (after.next()?, after.next()?);
            path.starts_with(mount_point).then(|| {
                (
                    mount_point.len(),
                    format!("{fs_type} on {source} at {mount_point}"),
                )
            })
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, what)| what)
        .unwrap_or_else(|| "filesystem unknown".to_owned())
}
