//! Routers and filters, with real components: what they answer, how a hostile one is stopped,
//! the restart-with-backoff policy, the pool, calls from any kind of thread, and the figures.
//!
//! The guests are the `tests/guests/filter-*` and `router-first` crates (see `common`).
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{block_on, guest};

use sluice_plugin_runtime::{
    AddressView, CallError, FailureCause, FilterPlugin, Header, Limits, LoadError, Message,
    MessageView, POLICY_CALL_DEADLINE_DEFAULT, QueueState, RESTART_BACKOFF_FIRST, RouterPlugin,
    Runtime, StatsSnapshot, Verdict,
};

fn limits(call_deadline: Duration) -> Limits {
    Limits {
        call_deadline,
        memory_bytes_max: 64 << 20,
        ..Limits::default()
    }
}

fn load_filter(runtime: &Runtime, package: &str, limits: Limits) -> Arc<FilterPlugin> {
    block_on(runtime.load_filter(package, &guest(package), limits))
        .unwrap_or_else(|e| panic!("load {package}: {e}"))
}

fn load_router(runtime: &Runtime, package: &str) -> Arc<RouterPlugin> {
    let limits = limits(GENEROUS_DEADLINE);
    block_on(runtime.load_router(package, &guest(package), limits))
        .unwrap_or_else(|e| panic!("load {package}: {e}"))
}

/// A deadline no well-behaved call misses even on a loaded machine, for the tests that are not
/// about deadlines.
const GENEROUS_DEADLINE: Duration = Duration::from_secs(2);

fn echo() -> (Runtime, Arc<FilterPlugin>) {
    let runtime = Runtime::new(None).unwrap();
    let filter = load_filter(
        &runtime,
        "sluice-guest-filter-echo",
        limits(GENEROUS_DEADLINE),
    );
    (runtime, filter)
}

fn message(value: &str, headers: &[(&str, &str)]) -> Message {
    Message {
        key: None,
        value: Some(value.as_bytes().to_vec()),
        headers: headers
            .iter()
            .map(|(key, value)| Header {
                key: (*key).to_string(),
                value: Some(value.as_bytes().to_vec()),
            })
            .collect(),
        timestamp_ms: 1,
        durable: false,
        expiry_ms: None,
    }
}

fn batch() -> Vec<Message> {
    vec![
        message("a", &[]),
        message("b", &[("drop", "")]),
        message("c", &[("other", "1"), ("rewrite", "x")]),
        message("d", &[("other", "2")]),
    ]
}

/// Checks a snapshot's counters against each other: every call is in the histogram once.
fn assert_consistent(stats: &StatsSnapshot) {
    let latency = &stats.latency;
    assert_eq!(latency.count, stats.calls, "{stats:?}");
    assert!(
        latency.buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "buckets are cumulative: {latency:?}"
    );
    let last = latency.buckets.last().unwrap();
    assert_eq!(
        (last.le_us, last.count),
        (None, latency.count),
        "{latency:?}"
    );
}

#[test]
fn a_filters_verdicts_keep_drop_and_rewrite_in_order() {
    let (_runtime, filter) = echo();
    assert_eq!(filter.info().name, "guest-filter-echo");
    let messages = batch();
    let verdicts = filter.apply("any", &messages).unwrap();
    assert_eq!(verdicts.len(), 4);
    assert!(matches!(verdicts[0], Verdict::Keep), "{verdicts:?}");
    assert!(matches!(verdicts[1], Verdict::Drop), "{verdicts:?}");
    let Verdict::Rewrite(rewritten) = &verdicts[2] else {
        panic!("expected a rewrite: {verdicts:?}");
    };
    assert_eq!(rewritten.value.as_deref(), Some(&b"c"[..]));
    let headers: Vec<_> = rewritten
        .headers
        .iter()
        .map(|h| (h.key.as_str(), h.value.as_deref()))
        .collect();
    assert_eq!(
        headers,
        [("other", Some(&b"1"[..])), ("rewrite", Some(&b"x!"[..]))]
    );
    assert!(matches!(verdicts[3], Verdict::Keep), "{verdicts:?}");
    let stats = filter.stats();
    assert_eq!((stats.messages_in, stats.messages_out), (4, 3));
    assert!(filter.healthy());
}

#[test]
fn a_refused_configuration_is_refused_and_the_filter_stays_healthy() {
    let (_runtime, filter) = echo();
    match filter.check("bad") {
        Err(CallError::Refused(reason)) => assert!(reason.contains("bad"), "{reason}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(filter.healthy());
    filter.check("good").unwrap();
    let stats = filter.stats();
    assert_eq!((stats.calls, stats.errors, stats.traps), (2, 1, 0));
}

#[test]
fn a_looping_filter_misses_its_deadline_then_is_unavailable_then_restarts_with_doubled_backoff() {
    let runtime = Runtime::new(None).unwrap();
    let deadline = Duration::from_millis(50);
    let filter = load_filter(&runtime, "sluice-guest-filter-loop", limits(deadline));
    let messages = batch();

    let started = Instant::now();
    match filter.apply("", &messages) {
        Err(CallError::Failed { cause, .. }) => assert_eq!(cause, FailureCause::Deadline),
        other => panic!("expected a deadline miss, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= deadline, "stopped before its deadline: {took:?}");
    assert!(
        took < deadline + Duration::from_millis(500),
        "stopped late: {took:?}"
    );
    assert!(!filter.healthy());
    assert_eq!(filter.stats().deadline_misses, 1);

    // Backing off: nothing runs.
    let retry_in = match filter.apply("", &messages) {
        Err(CallError::Unavailable { plugin, retry_in }) => {
            assert_eq!(plugin, "guest-filter-loop");
            retry_in
        }
        other => panic!("expected Unavailable, got {other:?}"),
    };
    assert!(retry_in <= RESTART_BACKOFF_FIRST, "{retry_in:?}");
    assert_eq!(filter.stats().calls, 1, "no call is made while backing off");

    // After the backoff the next call runs, on a fresh instance, and fails again.
    std::thread::sleep(retry_in);
    match filter.apply("", &messages) {
        Err(CallError::Failed { cause, .. }) => assert_eq!(cause, FailureCause::Deadline),
        other => panic!("expected a second deadline miss, got {other:?}"),
    }
    let stats = filter.stats();
    assert_eq!((stats.deadline_misses, stats.restarts), (2, 1), "{stats:?}");
    let retry_in = match filter.apply("", &messages) {
        Err(CallError::Unavailable { retry_in, .. }) => retry_in,
        other => panic!("expected Unavailable, got {other:?}"),
    };
    assert!(
        retry_in > RESTART_BACKOFF_FIRST && retry_in <= RESTART_BACKOFF_FIRST * 2,
        "the backoff doubles: {retry_in:?}"
    );

    // A successful call (its `check` does return) restarts it and makes it healthy again.
    std::thread::sleep(retry_in);
    filter.check("").unwrap();
    assert!(filter.healthy());
    let stats = filter.stats();
    assert_eq!(
        (stats.restarts, stats.instances_started),
        (2, 3),
        "{stats:?}"
    );
    assert_consistent(&stats);
}

#[test]
fn an_allocating_filter_is_stopped_at_its_memory_cap() {
    let runtime = Runtime::new(None).unwrap();
    let limits = Limits {
        memory_bytes_max: 16 << 20,
        call_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let filter = load_filter(&runtime, "sluice-guest-filter-alloc", limits);
    let before = filter.stats().memory_bytes;
    assert!(before > 0, "the first instance's memory is counted");
    assert!(before <= 16 << 20);
    match filter.apply("", &batch()) {
        Err(CallError::Failed { cause, .. }) => assert_eq!(cause, FailureCause::Memory),
        other => panic!("expected memory exhaustion, got {other:?}"),
    }
    let stats = filter.stats();
    assert_eq!((stats.memory_exhaustions, stats.traps), (1, 0), "{stats:?}");
    assert_eq!(
        stats.memory_bytes, 0,
        "the discarded instance's memory is released"
    );
    assert!(!filter.healthy());
}

#[test]
fn a_trapping_filter_is_counted_as_a_trap() {
    let runtime = Runtime::new(None).unwrap();
    let filter = load_filter(
        &runtime,
        "sluice-guest-filter-trap",
        limits(POLICY_CALL_DEADLINE_DEFAULT),
    );
    match filter.apply("", &batch()) {
        Err(CallError::Failed { cause, detail }) => {
            assert_eq!(cause, FailureCause::Trap);
            assert!(!detail.contains('\n'), "one line: {detail}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    let stats = filter.stats();
    assert_eq!((stats.traps, stats.deadline_misses), (1, 0), "{stats:?}");
    assert!(matches!(
        filter.apply("", &batch()),
        Err(CallError::Unavailable { .. })
    ));
}

fn address(partitions: u32, queues: usize, config: &str) -> AddressView {
    AddressView {
        name: "orders".into(),
        partitions,
        queues: (0..queues)
            .map(|i| QueueState {
                name: format!("q{i}"),
                messages: 0,
                consumers: Vec::new(),
            })
            .collect(),
        sequence: 7,
        config: config.into(),
    }
}

fn views(n: usize) -> Vec<MessageView> {
    (0..n)
        .map(|i| MessageView {
            key: Some(vec![i as u8]),
            headers: Vec::new(),
            timestamp_ms: 1,
            body_bytes: 10,
        })
        .collect()
}

#[test]
fn a_router_places_each_message_on_partition_and_queue_zero() {
    let runtime = Runtime::new(None).unwrap();
    let router = load_router(&runtime, "sluice-guest-router-first");
    assert_eq!(router.info().name, "guest-router-first");

    let placements = router.route(&address(3, 2, ""), &views(3)).unwrap();
    assert_eq!(placements.len(), 3);
    for placement in &placements {
        assert_eq!(placement.partition, Some(0));
        assert_eq!(placement.queues.len(), 1);
        assert_eq!(placement.queues[0].queue, 0);
        assert_eq!(placement.queues[0].consumer, None);
    }

    let nowhere = router.route(&address(0, 0, ""), &views(2)).unwrap();
    assert!(
        nowhere
            .iter()
            .all(|p| p.partition.is_none() && p.queues.is_empty())
    );

    let stats = router.stats();
    assert_eq!(
        (stats.calls, stats.messages_in, stats.messages_out),
        (2, 5, 3)
    );
}

#[test]
fn a_router_answer_out_of_range_or_of_the_wrong_length_is_refused() {
    let runtime = Runtime::new(None).unwrap();
    let router = load_router(&runtime, "sluice-guest-router-first");
    match router.route(&address(2, 1, "out-of-range"), &views(1)) {
        Err(CallError::Refused(reason)) => assert!(reason.contains("out of range"), "{reason}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    match router.route(&address(2, 1, "short"), &views(2)) {
        Err(CallError::Refused(reason)) => assert!(reason.contains("0 placements"), "{reason}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(router.healthy(), "a refused answer is not a failure");
    let stats = router.stats();
    assert_eq!((stats.errors, stats.messages_out, stats.traps), (2, 0, 0));
}

#[test]
fn a_component_of_another_world_is_refused_naming_the_world_expected() {
    let runtime = Runtime::new(None).unwrap();
    let limits = || limits(POLICY_CALL_DEADLINE_DEFAULT);
    let refused = |err: LoadError, world: &str| {
        assert!(matches!(err, LoadError::WorldMismatch { .. }), "{err}");
        assert!(err.to_string().contains(world), "{err}");
    };

    let router = guest("sluice-guest-router-first");
    let err = block_on(runtime.load_filter("router-as-filter", &router, limits())).err();
    refused(err.unwrap(), "sluice:plugin/filter@0.5.0");
    let err = block_on(runtime.load_filter("router-as-filter", &router, limits())).err();
    refused(
        err.unwrap(),
        "it is a router (it exports sluice:plugin/routing@0.5.0)",
    );

    let filter = guest("sluice-guest-filter-echo");
    let err = block_on(runtime.load_router("filter-as-router", &filter, limits())).err();
    refused(err.unwrap(), "sluice:plugin/router@0.5.0");

    // A codec imports the broker, which routers and filters are not offered.
    let codec = guest("sluice-guest-codec-loop");
    let err = block_on(runtime.load_filter("codec-as-filter", &codec, limits())).err();
    refused(err.unwrap(), "sluice:plugin/filter@0.5.0");

    let empty = wat::parse_str("(component)").unwrap();
    let err = block_on(runtime.load_router("empty", &empty, limits())).err();
    refused(err.unwrap(), "sluice:plugin/router@0.5.0");
    let err = block_on(runtime.load_router("empty", &empty, limits())).err();
    refused(err.unwrap(), "it exports no sluice:plugin interface");
}

#[test]
fn a_filter_built_for_another_version_of_the_package_is_refused_naming_both_versions() {
    let runtime = Runtime::new(None).unwrap();
    let old = guest("sluice-guest-filter-old-wit");
    let err = block_on(runtime.load_filter("old", &old, limits(POLICY_CALL_DEADLINE_DEFAULT)))
        .err()
        .unwrap();
    assert!(matches!(err, LoadError::WorldMismatch { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("built for sluice:plugin@0.4.0"),
        "{message}"
    );
    assert!(
        message.contains("this broker speaks sluice:plugin@0.5.0"),
        "{message}"
    );
}

#[test]
fn calls_from_eight_threads_at_once_on_one_plugin_all_succeed() {
    let (_runtime, filter) = echo();
    let messages = batch();
    let calls_per_thread = 50;
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..calls_per_thread {
                    let verdicts = filter.apply("any", &messages).unwrap();
                    assert_eq!(verdicts.len(), messages.len());
                }
            });
        }
    });
    let stats = filter.stats();
    assert_eq!(stats.calls, 8 * calls_per_thread);
    assert!(
        (1..=sluice_plugin_runtime::POOL_INSTANCES_MAX as u64).contains(&stats.instances_started),
        "{stats:?}"
    );
    assert_eq!(
        (stats.errors, stats.traps, stats.deadline_misses),
        (0, 0, 0)
    );
    assert_consistent(&stats);
}

#[test]
fn a_filter_using_wasi_works_from_a_tokio_worker_and_from_a_plain_thread() {
    let (_runtime, filter) = echo();
    let messages = batch();

    // A worker of a multi-thread runtime, where a blocking WASI call would panic.
    let worker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (on_worker, batch_on_worker) = (filter.clone(), messages.clone());
    let verdicts = worker
        .block_on(async move {
            tokio::spawn(async move { on_worker.apply("worker", &batch_on_worker) })
                .await
                .unwrap()
        })
        .unwrap();
    assert_eq!(verdicts.len(), messages.len());

    // A current-thread runtime too.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let verdicts = current.block_on(async { filter.apply("current", &messages) });
    assert_eq!(verdicts.unwrap().len(), messages.len());

    // A thread that has never seen a runtime.
    let on_thread = filter.clone();
    let verdicts = std::thread::spawn(move || on_thread.apply("thread", &batch()))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(verdicts.len(), messages.len());
    assert!(filter.healthy());
}

#[test]
fn stats_counters_and_the_latency_histogram_add_up() {
    let (_runtime, filter) = echo();
    let messages = batch();
    for _ in 0..5 {
        filter.apply("any", &messages).unwrap();
    }
    let _ = filter.check("bad");
    filter.apply("any", &[]).unwrap();

    let stats = filter.stats();
    assert_eq!(stats.name, "guest-filter-echo");
    assert_eq!(stats.version, filter.info().version);
    assert_eq!(stats.sha256, filter.sha256());
    assert_eq!(
        stats.sha256,
        sluice_plugin_runtime::sha256_hex(&guest("sluice-guest-filter-echo"))
    );
    assert_eq!(stats.calls, 7);
    assert_eq!(stats.errors, 1);
    assert_eq!(stats.messages_in, 5 * 4);
    assert_eq!(stats.messages_out, 5 * 3);
    assert_eq!((stats.bytes_in, stats.bytes_out), (0, 0));
    assert_eq!(
        (stats.traps, stats.deadline_misses, stats.memory_exhaustions),
        (0, 0, 0)
    );
    assert_eq!((stats.restarts, stats.instances_started), (0, 1));
    assert!(stats.memory_bytes > 0);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(stats.loaded_at_ms <= now_ms && stats.loaded_at_ms + 60_000 > now_ms);
    assert_eq!(
        stats.latency.buckets.len(),
        sluice_plugin_runtime::LATENCY_BUCKETS_US.len() + 1
    );
    assert_consistent(&stats);
    // Plain data: it serialises as the admin API will show it.
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["calls"], 7);
    assert!(
        json["latency"]["buckets"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["le_us"]
            .is_null()
    );
}
