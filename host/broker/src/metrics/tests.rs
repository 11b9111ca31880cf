//! The metrics over a real storage, address model and service, with the network layer's
//! counters driven by hand and plugins' figures made up.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use sluice_groups::Coordinator;
use sluice_plugin_runtime::{
    ConsumerOptions, Header, HostBroker, HostQueues, LatencyBucket, LatencySnapshot, Message,
    RoutingType, StatsSnapshot,
};
use sluice_queues::Queues;
use sluice_storage::{NewRecord, Storage, StorageConfig, encode_batch};

use super::{Metrics, MetricsSources};
use crate::net::stats::{ErrorCause, NetStats};
use crate::plugins::PluginStatus;
use crate::service::{BrokerService, ServicePolicy};

struct Fixture {
    _dir: tempfile::TempDir,
    service: Arc<BrokerService>,
    storage: Arc<Storage>,
    net: Arc<NetStats>,
    metrics: Metrics,
}

fn fixture(plugins: Vec<PluginStatus>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(
        Storage::open(StorageConfig {
            dir: dir.path().to_path_buf(),
            ..StorageConfig::default()
        })
        .unwrap(),
    );
    let groups = Coordinator::open(&dir.path().join("groups"), Default::default()).unwrap();
    let queues = Arc::new(Queues::open(storage.clone(), Default::default()).unwrap());
    let policy = ServicePolicy {
        node_id: 3,
        auto_create: true,
        default_partitions: 1,
        ..ServicePolicy::default()
    };
    let service = Arc::new(BrokerService::new(
        storage.clone(),
        Arc::new(groups),
        queues.clone(),
        policy,
    ));
    let net = Arc::new(NetStats::default());
    let metrics = Metrics::new(MetricsSources {
        storage: storage.clone(),
        queues,
        net: net.clone(),
        traffic: service.traffic().clone(),
        plugins: Arc::new(move || plugins.clone()),
        node_id: 3,
    });
    Fixture {
        _dir: dir,
        service,
        storage,
        net,
        metrics,
    }
}

/// Every sample: `name{labels}` to its value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.rsplit_once(' ').unwrap();
            (key.to_owned(), value.parse().unwrap())
        })
        .collect()
}

fn sample(text: &str, key: &str) -> f64 {
    *samples(text)
        .get(key)
        .unwrap_or_else(|| panic!("no sample {key} in:\n{text}"))
}

fn records(n: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n).map(|i| format!("value-{i}").into_bytes()).collect();
    let records: Vec<NewRecord<'_>> = values
        .iter()
        .map(|v| NewRecord {
            key: None,
            value: Some(v),
            headers: Vec::new(),
            timestamp_ms: 1_700_000_000_000,
        })
        .collect();
    encode_batch(&records).unwrap()
}

fn message(body: &str) -> Message {
    Message {
        key: None,
        value: Some(body.as_bytes().to_vec()),
        headers: vec![Header {
            key: "k".into(),
            value: Some(b"v".to_vec()),
        }],
        timestamp_ms: 1_700_000_000_000,
        durable: false,
        expiry_ms: None,
    }
}

#[test]
fn kafka_appends_and_fetches_move_the_topic_gauges_and_the_broker_message_counters() {
    let f = fixture(Vec::new());
    f.service.create_topic("orders", 2, &[], false).unwrap();
    let batch = records(3);
    f.service.append("orders", 0, &batch).unwrap();
    f.storage.flush().unwrap();
    let read = f.service.read("orders", 0, 0, 1 << 20).unwrap();
    assert!(!read.batches.is_empty());

    let text = f.metrics.encode().unwrap();
    assert_eq!(
        sample(&text, r#"sluice_topic_partitions{topic="orders"}"#),
        2.0
    );
    assert_eq!(
        sample(&text, r#"sluice_topic_log_end_offset{topic="orders"}"#),
        3.0
    );
    assert_eq!(
        sample(&text, r#"sluice_topic_log_start_offset{topic="orders"}"#),
        0.0
    );
    assert_eq!(
        sample(&text, r#"sluice_topic_log_size_bytes{topic="orders"}"#),
        batch.len() as f64
    );
    assert_eq!(
        sample(&text, r#"sluice_messages_in_total{interface="broker"}"#),
        3.0
    );
    assert_eq!(
        sample(&text, r#"sluice_messages_out_total{interface="broker"}"#),
        3.0
    );
    assert_eq!(
        sample(&text, r#"sluice_messages_in_total{interface="queues"}"#),
        0.0
    );
    assert_eq!(sample(&text, "sluice_storage_appends_total"), 1.0);
    assert_eq!(
        sample(&text, "sluice_storage_written_bytes_total"),
        batch.len() as f64
    );

    let overview = f.metrics.overview();
    assert_eq!((overview.messages_in, overview.messages_out), (3, 3));
    assert_eq!((overview.topics, overview.node_id), (1, 3));
    assert_eq!(overview.cluster_id, f.storage.cluster_id());
}

#[test]
fn a_retried_batch_an_idempotent_producer_already_stored_is_not_counted_again() {
    let f = fixture(Vec::new());
    f.service.create_topic("t", 1, &[], false).unwrap();
    // An idempotent batch: producer id 7, epoch 0, first sequence 0.
    let mut batch = records(2);
    batch[43..51].copy_from_slice(&7i64.to_be_bytes());
    batch[51..53].copy_from_slice(&0i16.to_be_bytes());
    batch[53..57].copy_from_slice(&0i32.to_be_bytes());
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    f.service.append("t", 0, &batch).unwrap();
    let again = f.service.append("t", 0, &batch);
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(f.metrics.overview().messages_in, 2);
}

#[test]
fn queue_sends_and_deliveries_are_counted_per_queue_and_on_the_queues_interface() {
    let f = fixture(Vec::new());
    f.service
        .send(
            1,
            "jobs",
            Some(RoutingType::Anycast),
            vec![message("a"), message("b")],
        )
        .unwrap();
    let consumer = f
        .service
        .open_consumer(
            1,
            ConsumerOptions {
                source: "jobs".into(),
                routing: Some(RoutingType::Anycast),
                subscription: None,
                durable: false,
                dynamic: false,
                selector: None,
            },
        )
        .unwrap();
    f.storage.flush().unwrap();
    let received = f
        .service
        .receive(1, consumer.id, 10, 1 << 20, false)
        .unwrap();
    assert_eq!(received.deliveries.len(), 2);

    let text = f.metrics.encode().unwrap();
    let queue = r#"{queue="jobs",address="jobs"}"#;
    assert_eq!(
        sample(&text, &format!("sluice_queue_messages_added_total{queue}")),
        2.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_queue_consumers{queue}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_queue_delivering_messages{queue}")),
        2.0
    );
    assert_eq!(sample(&text, &format!("sluice_queue_messages{queue}")), 2.0);
    assert_eq!(
        sample(&text, r#"sluice_messages_in_total{interface="queues"}"#),
        2.0
    );
    assert_eq!(
        sample(&text, r#"sluice_messages_out_total{interface="queues"}"#),
        2.0
    );
    assert!(
        !text.contains("topic=\"__sluice"),
        "the queue's internal log is not a topic:\n{text}"
    );
    assert_eq!(f.metrics.overview().queues, 1);
    assert_eq!(f.metrics.overview().topics, 0);
}

#[test]
fn listener_counters_and_open_connections_reach_the_metrics_and_the_overview() {
    let f = fixture(Vec::new());
    let kafka = f.net.listener("kafka");
    kafka.set_connections_max(10);
    let peer = SocketAddr::from(([127, 0, 0, 1], 50_000));
    let open = f.net.open(&kafka, 42, peer);
    open.stats().received(100);
    open.stats().sent(60);
    open.stats().called();
    open.stats().called();
    drop(f.net.open(&kafka, 43, peer));
    kafka.failed(ErrorCause::Protocol);

    let text = f.metrics.encode().unwrap();
    let l = r#"{listener="kafka"}"#;
    assert_eq!(
        sample(&text, &format!("sluice_listener_connections{l}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_listener_connections_max{l}")),
        10.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("sluice_listener_connections_accepted_total{l}")
        ),
        2.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_listener_received_bytes_total{l}")),
        100.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_listener_sent_bytes_total{l}")),
        60.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_listener_codec_calls_total{l}")),
        2.0
    );
    let errors = |cause: &str| {
        sample(
            &text,
            &format!(
                r#"sluice_listener_connection_errors_total{{listener="kafka",cause="{cause}"}}"#
            ),
        )
    };
    assert_eq!(
        (errors("protocol"), errors("socket"), errors("plugin")),
        (1.0, 0.0, 0.0)
    );

    let overview = f.metrics.overview();
    assert_eq!(
        (overview.connections, overview.bytes_in, overview.bytes_out),
        (1, 100, 60)
    );
    let listed = f.metrics.connections();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].listener.as_str()), (42, "kafka"));
}

fn plugin(kind: &'static str, name: &str, version: &str) -> PluginStatus {
    // Calls of 5 µs, 40 µs and 2 s: cumulative counts per bound, as the runtime keeps them.
    let bounds = sluice_plugin_runtime::LATENCY_BUCKETS_US;
    let mut buckets: Vec<LatencyBucket> = bounds
        .iter()
        .map(|&le| LatencyBucket {
            le_us: Some(le),
            count: u64::from(le >= 10) + u64::from(le >= 50),
        })
        .collect();
    buckets.push(LatencyBucket {
        le_us: None,
        count: 3,
    });
    PluginStatus {
        kind,
        name: name.to_owned(),
        source: format!("builtin:{name}"),
        address: None,
        plugin: name.to_owned(),
        version: version.to_owned(),
        sha256: "0".repeat(64),
        healthy: true,
        on_failure: None,
        stats: StatsSnapshot {
            name: name.to_owned(),
            version: version.to_owned(),
            sha256: "0".repeat(64),
            loaded_at_ms: 1_700_000_000_500,
            calls: 3,
            messages_in: 5,
            messages_out: 4,
            bytes_in: 0,
            bytes_out: 0,
            errors: 1,
            traps: 2,
            deadline_misses: 0,
            memory_exhaustions: 1,
            restarts: 3,
            instances_started: 4,
            memory_bytes: 1 << 20,
            latency: LatencySnapshot {
                buckets,
                count: 3,
                sum_us: 2_000_045,
            },
        },
    }
}

#[test]
fn plugin_figures_become_labelled_counters_an_info_and_a_histogram_in_seconds() {
    let f = fixture(vec![plugin("filter", "selector", "1.0 \"beta\"")]);
    let text = f.metrics.encode().unwrap();
    let p = r#"{kind="filter",name="selector"}"#;
    assert_eq!(
        sample(
            &text,
            r#"sluice_plugin_info{kind="filter",name="selector",plugin="selector",version="1.0 \"beta\""}"#
        ),
        1.0
    );
    assert_eq!(sample(&text, &format!("sluice_plugin_calls_total{p}")), 3.0);
    assert_eq!(
        sample(&text, &format!("sluice_plugin_errors_total{p}")),
        1.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_plugin_restarts_total{p}")),
        3.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_plugin_messages_in_total{p}")),
        5.0
    );
    assert_eq!(
        sample(&text, &format!("sluice_plugin_memory_bytes{p}")),
        1_048_576.0
    );
    assert_eq!(sample(&text, &format!("sluice_plugin_healthy{p}")), 1.0);
    assert_eq!(
        sample(&text, &format!("sluice_plugin_loaded_timestamp_seconds{p}")),
        1_700_000_000.5
    );
    let failures = |cause: &str| {
        sample(
            &text,
            &format!(
                r#"sluice_plugin_failures_total{{kind="filter",name="selector",cause="{cause}"}}"#
            ),
        )
    };
    assert_eq!(
        (failures("trap"), failures("deadline"), failures("memory")),
        (2.0, 0.0, 1.0)
    );
    let bucket = |le: &str| {
        sample(
            &text,
            &format!(
                r#"sluice_plugin_call_duration_seconds_bucket{{le="{le}",kind="filter",name="selector"}}"#
            ),
        )
    };
    assert_eq!(bucket("0.00001"), 1.0, "5 µs");
    assert_eq!(bucket("0.00005"), 2.0, "40 µs");
    assert_eq!(bucket("1.0"), 2.0);
    assert_eq!(bucket("+Inf"), 3.0, "2 s");
    assert_eq!(
        sample(
            &text,
            &format!("sluice_plugin_call_duration_seconds_count{p}")
        ),
        3.0
    );
    assert_eq!(
        sample(
            &text,
            &format!("sluice_plugin_call_duration_seconds_sum{p}")
        ),
        2.000045
    );
}

#[test]
fn every_family_is_prefixed_typed_and_the_exposition_ends_with_eof() {
    let f = fixture(vec![plugin("codec", "kafka", "0.1.0")]);
    f.service.create_topic("t", 1, &[], false).unwrap();
    f.service.append("t", 0, &records(1)).unwrap();
    f.storage.flush().unwrap();
    let text = f.metrics.encode().unwrap();
    assert!(text.ends_with("# EOF\n"));
    let mut types = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut parts = line.split(' ').skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(name.starts_with("sluice_"), "{line}");
        assert!(
            types.insert(name.to_owned(), kind.to_owned()).is_none(),
            "twice: {name}"
        );
    }
    for (key, _) in samples(&text) {
        let name = key.split('{').next().unwrap();
        let family = types
            .keys()
            .filter(|family| name.starts_with(family.as_str()))
            .max_by_key(|family| family.len())
            .unwrap_or_else(|| panic!("{name} belongs to no family"));
        let suffix = &name[family.len()..];
        let allowed: &[&str] = match types[family].as_str() {
            "counter" => &["_total"],
            "gauge" => &[""],
            "histogram" => &["_bucket", "_sum", "_count"],
            other => panic!("{family}: unexpected type {other}"),
        };
        assert!(allowed.contains(&suffix), "{name} in {family}");
    }
    for family in [
        "sluice_process_cpu_seconds",
        "sluice_process_resident_memory_bytes",
        "sluice_process_open_fds",
        "sluice_process_start_time_seconds",
        "sluice_storage_fsync_duration_seconds",
        "sluice_build_info",
    ] {
        assert!(types.contains_key(family), "{family} missing");
    }
    let fsyncs = sample(&text, "sluice_storage_fsync_duration_seconds_count");
    assert!(fsyncs >= 1.0);
    assert_eq!(
        sample(
            &text,
            r#"sluice_storage_fsync_duration_seconds_bucket{le="+Inf"}"#
        ),
        fsyncs
    );
    assert!(sample(&text, "sluice_process_resident_memory_bytes") > 0.0);
}
