//! Produce throughput through the Kafka codec running as a Wasm component, against the same
//! codec crate compiled natively into the host, measured in one run and reported as a ratio.
//!
//! Both variants drive identical host code: the same storage, the same broker service, the
//! same pre-encoded Produce requests (1 KiB records, 100 per batch, acks=1). Each round runs
//! both variants back to back, in alternating order, and yields one ratio; the median ratio is
//! the result, so slow drifts of a shared machine (page-cache writeback, neighbours) cancel out.
//!
//! Topics are `relaxed` (`topic_defaults.durability`): under the default `fsync` an append
//! returns before its records are durable and the codec parks each acks=1 response behind a
//! host wait for the fsync, which this loop, driving the codec directly, never fires. The
//! bench measures the codec, not the disk; durable produce has its own bench
//! (`durable_produce`).
//!
//!     cargo bench -p sluice --bench codec_throughput
//!
//! Writes `target/bench-reports/codec_throughput.json` as well as printing the figures.
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use sluice_broker::plugins::BUILTIN_CODECS;
use sluice_broker::service::{BrokerService, ServicePolicy};
use sluice_codec_kafka::KafkaConnection;
use sluice_groups::Coordinator;
use sluice_loadgen::kafka::wire::{encode_request, record_batch};
use sluice_plugin_runtime::{HostBroker, Limits, Runtime};
use sluice_sdk::codec::{self as sdk, Connection};
use sluice_storage::{Durability, Storage, StorageConfig, TopicConfig};

const RECORD_BYTES: usize = 1024;
const RECORDS_PER_BATCH: usize = 100;
const REQUESTS_PER_ROUND: usize = 400;
const ROUNDS: usize = 11;
const PRODUCE_VERSION: i16 = 9;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let storage = Arc::new(Storage::open(StorageConfig {
        dir: dir.path().to_path_buf(),
        topic_defaults: TopicConfig {
            durability: Durability::Relaxed,
            ..TopicConfig::default()
        },
        ..Default::default()
    })?);
    let groups = Arc::new(Coordinator::open(
        &dir.path().join("groups"),
        Default::default(),
    )?);
    let policy = ServicePolicy {
        auto_create: true,
        default_partitions: 1,
        ..ServicePolicy::default()
    };
    let queues = Arc::new(sluice_queues::Queues::open(
        storage.clone(),
        Default::default(),
    )?);
    let service = Arc::new(BrokerService::new(storage.clone(), groups, queues, policy));
    let runtime = Runtime::new(None)?;
    let (_, wasm_bytes) = BUILTIN_CODECS
        .iter()
        .find(|(n, _)| *n == "codec-kafka")
        .ok_or_else(|| anyhow::anyhow!("no built-in kafka codec"))?;
    let plugin = runtime
        .load_codec(
            "builtin:codec-kafka",
            wasm_bytes,
            service.clone(),
            Limits::default(),
        )
        .await?;
    let native_broker = NativeBroker(service.clone());

    let mut wasm_rounds = Vec::new();
    let mut native_rounds = Vec::new();
    for round in 0..ROUNDS {
        for native in [round % 2 == 0, round % 2 == 1] {
            let topic = format!("bench-{}-{round}", if native { "native" } else { "wasm" });
            service
                .create_topic(&topic, 1, &[], false)
                .map_err(|e| anyhow::anyhow!(e.message))?;
            let frames = produce_frames(&topic)?;
            let elapsed = if native {
                let mut connection = KafkaConnection::new(sdk_info());
                let start = Instant::now();
                for frame in &frames {
                    let out = connection
                        .on_data(&native_broker, frame.clone())
                        .map_err(|e| anyhow::anyhow!(e.reason))?;
                    assert!(!out.write.is_empty(), "every produce gets a response");
                }
                start.elapsed()
            } else {
                let mut session = plugin.open_session(&runtime_info()).await?;
                let start = Instant::now();
                for frame in &frames {
                    let out = session.on_data(frame).await?;
                    assert!(!out.write.is_empty(), "every produce gets a response");
                }
                start.elapsed()
            };
            let stored = service
                .offsets(&topic, 0)
                .map_err(|e| anyhow::anyhow!(e.message))?
                .log_end;
            assert_eq!(
                stored as usize,
                REQUESTS_PER_ROUND * RECORDS_PER_BATCH,
                "every record stored"
            );
            if native {
                native_rounds.push(elapsed)
            } else {
                wasm_rounds.push(elapsed)
            }
            service
                .delete_topic(&topic)
                .map_err(|e| anyhow::anyhow!(e.message))?;
        }
    }
    let records = (REQUESTS_PER_ROUND * RECORDS_PER_BATCH) as f64;
    let mut ratios: Vec<f64> = native_rounds
        .iter()
        .zip(&wasm_rounds)
        .map(|(native, wasm)| native.as_secs_f64() / wasm.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let native = records / median(&mut native_rounds).as_secs_f64();
    let wasm = records / median(&mut wasm_rounds).as_secs_f64();
    let mib = |rps: f64| rps * RECORD_BYTES as f64 / (1 << 20) as f64;
    println!(
        "codec produce throughput: {RECORD_BYTES} B records, {RECORDS_PER_BATCH} per batch, {REQUESTS_PER_ROUND} requests per round, median of {ROUNDS} rounds"
    );
    println!(
        "native codec: {native:>12.0} records/s  {:>8.1} MiB/s",
        mib(native)
    );
    println!(
        "wasm codec:   {wasm:>12.0} records/s  {:>8.1} MiB/s",
        mib(wasm)
    );
    println!(
        "ratio wasm/native: {ratio:.3} (median of {ROUNDS} per-round ratios, range {:.3}..{:.3}; target >= 0.90)",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    let report = format!(
        "{{\"record_bytes\":{RECORD_BYTES},\"records_per_batch\":{RECORDS_PER_BATCH},\"requests_per_round\":{REQUESTS_PER_ROUND},\"rounds\":{ROUNDS},\"native_records_per_s\":{native:.0},\"wasm_records_per_s\":{wasm:.0},\"ratio\":{ratio:.4}}}\n"
    );
    let reports =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-reports");
    std::fs::create_dir_all(&reports)?;
    std::fs::write(reports.join("codec_throughput.json"), report)?;
    Ok(())
}

fn median(rounds: &mut [Duration]) -> Duration {
    rounds.sort();
    rounds[rounds.len() / 2]
}

/// Encoded Produce requests (size prefix included), one batch each, distinct correlation ids.
fn produce_frames(topic: &str) -> anyhow::Result<Vec<Vec<u8>>> {
    let payload = Bytes::from(vec![b'x'; RECORD_BYTES]);
    let batch = record_batch(
        RECORDS_PER_BATCH,
        |i| Some(Bytes::from(format!("key-{i}"))),
        &payload,
    )?;
    let mut frames = Vec::with_capacity(REQUESTS_PER_ROUND);
    for correlation_id in 0..REQUESTS_PER_ROUND as i32 {
        let request = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_partition_data(vec![
                        PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch.clone())),
                    ]),
            ]);
        let frame = encode_request(ApiKey::Produce, PRODUCE_VERSION, correlation_id, &request)?;
        frames.push(frame);
    }
    Ok(frames)
}

fn runtime_info() -> sluice_plugin_runtime::ConnectionInfo {
    sluice_plugin_runtime::ConnectionInfo {
        id: 1,
        listener: "bench".into(),
        peer: "127.0.0.1:1".into(),
        advertised_host: "127.0.0.1".into(),
        advertised_port: 9092,
        frame_bytes_max: 100 << 20,
    }
}

fn sdk_info() -> sdk::ConnectionInfo {
    sdk::ConnectionInfo {
        id: 1,
        listener: "bench".into(),
        peer: "127.0.0.1:1".into(),
        advertised_host: "127.0.0.1".into(),
        advertised_port: 9092,
        frame_bytes_max: 100 << 20,
    }
}

/// The codec's `Broker` for a native build: the same broker service the Wasm imports reach.
struct NativeBroker(Arc<BrokerService>);

fn sdk_error(e: sluice_plugin_runtime::BrokerError) -> sdk::BrokerError {
    use sdk::ErrorCode as S;
    use sluice_plugin_runtime::ErrorCode as H;
    let code = match e.code {
        H::UnknownTopic => S::UnknownTopic,
        H::UnknownPartition => S::UnknownPartition,
        H::TopicExists => S::TopicExists,
        H::InvalidTopic => S::InvalidTopic,
        H::InvalidPartitions => S::InvalidPartitions,
        H::InvalidConfig => S::InvalidConfig,
        H::OffsetOutOfRange => S::OffsetOutOfRange,
        H::RecordTooLarge => S::RecordTooLarge,
        H::CorruptBatch => S::CorruptBatch,
        H::InvalidRecord => S::InvalidRecord,
        H::OutOfOrderSequence => S::OutOfOrderSequence,
        H::InvalidProducerEpoch => S::InvalidProducerEpoch,
        H::NotAuthorized => S::NotAuthorized,
        H::Storage => S::Storage,
        H::UnknownAddress => S::UnknownAddress,
        H::InvalidAddress => S::InvalidAddress,
        H::InvalidRouting => S::InvalidRouting,
        H::ResourceLimit => S::ResourceLimit,
        H::UnknownConsumer => S::UnknownConsumer,
        H::Unavailable => S::Unavailable,
        H::InvalidFilter => S::InvalidFilter,
    };
    sdk::BrokerError {
        code,
        message: e.message,
    }
}

fn sdk_topic(t: sluice_plugin_runtime::TopicInfo) -> sdk::TopicInfo {
    sdk::TopicInfo {
        name: t.name,
        partitions: t.partitions,
    }
}

fn sdk_offsets(o: sluice_plugin_runtime::PartitionOffsets) -> sdk::PartitionOffsets {
    sdk::PartitionOffsets {
        log_start: o.log_start,
        log_end: o.log_end,
        high_watermark: o.high_watermark,
    }
}

impl sdk::Broker for NativeBroker {
    fn cluster(&self) -> sdk::ClusterInfo {
        let c = self.0.cluster();
        sdk::ClusterInfo {
            cluster_id: c.cluster_id,
            node_id: c.node_id,
            default_partitions: c.default_partitions,
        }
    }
    fn list_topics(&self) -> Vec<sdk::TopicInfo> {
        self.0.list_topics().into_iter().map(sdk_topic).collect()
    }
    fn describe_topic(
        &self,
        name: &str,
        auto_create: bool,
    ) -> Result<sdk::TopicInfo, sdk::BrokerError> {
        self.0
            .describe_topic(name, auto_create)
            .map(sdk_topic)
            .map_err(sdk_error)
    }
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<sdk::TopicInfo, sdk::BrokerError> {
        self.0
            .create_topic(name, partitions, configs, validate_only)
            .map(sdk_topic)
            .map_err(sdk_error)
    }
    fn delete_topic(&self, name: &str) -> Result<(), sdk::BrokerError> {
        self.0.delete_topic(name).map_err(sdk_error)
    }
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<sdk::AppendResult, sdk::BrokerError> {
        self.0
            .append(topic, partition, batches)
            .map(|r| sdk::AppendResult {
                base_offset: r.base_offset,
                last_offset: r.last_offset,
                log_start: r.log_start,
                append_time_ms: r.append_time_ms,
                high_watermark: r.high_watermark,
            })
            .map_err(sdk_error)
    }
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<sdk::ReadResult, sdk::BrokerError> {
        self.0
            .read(topic, partition, offset, max_bytes)
            .map(|r| sdk::ReadResult {
                batches: r.batches,
                offsets: sdk_offsets(r.offsets),
            })
            .map_err(sdk_error)
    }
    fn offsets(
        &self,
        topic: &str,
        partition: u32,
    ) -> Result<sdk::PartitionOffsets, sdk::BrokerError> {
        self.0
            .offsets(topic, partition)
            .map(sdk_offsets)
            .map_err(sdk_error)
    }
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<sdk::TimestampOffset>, sdk::BrokerError> {
        self.0
            .offset_for_timestamp(topic, partition, timestamp)
            .map(|found| {
                found.map(|f| sdk::TimestampOffset {
                    offset: f.offset,
                    timestamp: f.timestamp,
                })
            })
            .map_err(sdk_error)
    }
    fn log(&self, _level: sdk::Level, _message: &str) {}

    // The benchmark drives produce and fetch only; the admin and group calls below are not
    // reached, and say so if they ever are.
    fn create_partitions(
        &self,
        _: &str,
        _: u32,
        _: bool,
    ) -> Result<sdk::TopicInfo, sdk::BrokerError> {
        Err(not_offered())
    }
    fn describe_topic_configs(&self, _: &str) -> Result<Vec<sdk::ConfigEntry>, sdk::BrokerError> {
        Err(not_offered())
    }
    fn describe_broker_configs(&self) -> Vec<sdk::ConfigEntry> {
        Vec::new()
    }
    fn alter_topic_configs(
        &self,
        _: &str,
        _: &[sdk::ConfigChange],
        _: bool,
        _: bool,
    ) -> Result<(), sdk::BrokerError> {
        Err(not_offered())
    }
    fn delete_records(&self, _: &str, _: u32, _: i64) -> Result<i64, sdk::BrokerError> {
        Err(not_offered())
    }
    fn init_producer_id(
        &self,
        _: Option<sdk::ProducerIdentity>,
    ) -> Result<sdk::ProducerIdentity, sdk::BrokerError> {
        Err(not_offered())
    }
    fn group_join(&self, _: &sdk::JoinRequest) -> Result<sdk::JoinOutcome, sdk::GroupError> {
        Err(no_groups())
    }
    fn group_join_poll(&self, _: &str, _: &str) -> Result<sdk::JoinOutcome, sdk::GroupError> {
        Err(no_groups())
    }
    fn group_sync(&self, _: &sdk::SyncRequest) -> Result<sdk::SyncOutcome, sdk::GroupError> {
        Err(no_groups())
    }
    fn group_sync_poll(
        &self,
        _: &str,
        _: &str,
        _: i32,
    ) -> Result<sdk::SyncOutcome, sdk::GroupError> {
        Err(no_groups())
    }
    fn group_heartbeat(
        &self,
        _: &str,
        _: &sdk::MemberIdentity,
        _: i32,
    ) -> Result<(), sdk::GroupError> {
        Err(no_groups())
    }
    fn group_leave(&self, _: &str, _: &[sdk::MemberIdentity]) -> sdk::GroupResults {
        Err(no_groups())
    }
    fn group_list(&self) -> Vec<sdk::GroupOverview> {
        Vec::new()
    }
    fn group_describe(&self, _: &str) -> Result<sdk::GroupDescription, sdk::GroupError> {
        Err(no_groups())
    }
    fn group_delete(&self, _: &str) -> Result<(), sdk::GroupError> {
        Err(no_groups())
    }
    fn commit_offsets(
        &self,
        _: &str,
        _: &sdk::CommitAuthor,
        _: &[sdk::CommittedOffset],
    ) -> sdk::GroupResults {
        Err(no_groups())
    }
    fn fetch_offsets(
        &self,
        _: &str,
        _: Option<&[sdk::TopicPartition]>,
    ) -> Result<Vec<sdk::CommittedOffset>, sdk::GroupError> {
        Err(no_groups())
    }
    fn delete_offsets(&self, _: &str, _: &[sdk::TopicPartition]) -> sdk::GroupResults {
        Err(no_groups())
    }
}

/// The Kafka codec measured here never calls the queue model.
impl sdk::Queues for NativeBroker {
    fn send(
        &self,
        _: &str,
        _: Option<sdk::RoutingType>,
        _: &[sdk::Message],
    ) -> Result<sdk::Sent, sdk::BrokerError> {
        Err(not_offered())
    }
    fn open_consumer(&self, _: &sdk::ConsumerOptions) -> Result<sdk::Consumer, sdk::BrokerError> {
        Err(not_offered())
    }
    fn receive(&self, _: u64, _: u32, _: u32, _: bool) -> Result<sdk::Received, sdk::BrokerError> {
        Err(not_offered())
    }
    fn settle(&self, _: u64, _: &[u64], _: sdk::Outcome) -> Result<(), sdk::BrokerError> {
        Err(not_offered())
    }
    fn close_consumer(&self, _: u64) {}
    fn anonymous_allowed(&self) -> bool {
        true
    }
    fn authenticate(&self, _: &str, _: &str) -> Option<sdk::Principal> {
        None
    }
    fn now_ms(&self) -> i64 {
        sluice_broker::retention::now_ms()
    }
}

fn not_offered() -> sdk::BrokerError {
    sdk::BrokerError {
        code: sdk::ErrorCode::Storage,
        message: "not offered by the benchmark's native host".into(),
    }
}

fn no_groups() -> sdk::GroupError {
    sdk::GroupError {
        code: sdk::GroupErrorCode::Storage,
        message: "not offered by the benchmark's native host".into(),
    }
}
