//! What a filter costs per message, against no filter, measured in one run: the built-in Rust
//! filters, and the same example filter (`drop-pattern`) written in Rust, Python and
//! JavaScript.
//!
//! The address model (`sluice-queues`) over a real storage directory, with the broker's
//! plugins (`Policies`: Wasm routers and filters, called through the plugin runtime exactly as
//! the broker calls them). Anycast addresses take the same sends of `BATCH` messages: one
//! without a filter, one whose publish filter is the built-in `match` filter (`keep=yes`), one
//! the `selector` filter (`keep = 'yes' AND weight > 2.5`), and one per language the
//! `drop-pattern` example (`secret|forbidden`, which no body matches). Every message passes
//! the filters, so each address stores the same bytes and the difference in time is the
//! filter's. The cases run in `ROUNDS` rounds, in rotating order; the figures are the
//! medians. The filter's own call (`apply` on a batch, without the send) is timed too.
//!
//!     bash examples/rust/build.sh && bash examples/python/build.sh \
//!         && bash examples/javascript/build.sh
//!     cargo bench -p sluice --bench filter_cost
//!
//! Environment: SLUICE_BENCH_MESSAGES (per address and round, default 100000),
//! SLUICE_BENCH_BATCH (messages per send, default 100), SLUICE_BENCH_BODY (bytes, default 256),
//! SLUICE_EXAMPLES_DIR (the built examples, default `target/examples`).
//! Writes `target/bench-reports/filter_cost.json` as well as printing the figures.
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sluice_broker::config::PluginsConfig;
use sluice_broker::plugins::{Kind, Policies, PolicyConfig};
use sluice_plugin_runtime::Runtime;
use sluice_queues::{
    AddressConfig, AddressSettingsRule, FilterRef, Message, Policies as _, QueueConfig, Queues,
    QueuesConfig, RoutingType,
};
use sluice_storage::{Durability, Storage, StorageConfig, TopicConfig};

const ROUNDS: usize = 5;

struct Case {
    address: String,
    filter: Option<FilterRef>,
}

/// The example filter every language implements, and the languages, as the examples' build
/// scripts name their outputs (`<examples>/<language>/drop-pattern.wasm`).
const EXAMPLE: &str = "drop-pattern";
const LANGUAGES: &[&str] = &["rust", "python", "javascript"];
/// A pattern no benchmark body matches, so every message is kept and stored.
const EXAMPLE_PATTERN: &str = "secret|forbidden";

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            address: "plain".into(),
            filter: None,
        },
        Case {
            address: "match".into(),
            filter: Some(FilterRef {
                plugin: "match".into(),
                config: "keep=yes".into(),
            }),
        },
        Case {
            address: "selector".into(),
            filter: Some(FilterRef::selector("keep = 'yes' AND weight > 2.5")),
        },
    ];
    cases.extend(LANGUAGES.iter().map(|language| Case {
        address: format!("{EXAMPLE}-{language}"),
        filter: Some(FilterRef {
            plugin: format!("{EXAMPLE}-{language}"),
            config: EXAMPLE_PATTERN.into(),
        }),
    }));
    cases
}

/// `[[plugins.load]]` entries for the example filter in every language.
fn example_plugins() -> anyhow::Result<Vec<PolicyConfig>> {
    let dir = std::env::var_os("SLUICE_EXAMPLES_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/examples")
        });
    LANGUAGES
        .iter()
        .map(|language| {
            let path = dir.join(language).join(format!("{EXAMPLE}.wasm"));
            anyhow::ensure!(
                path.is_file(),
                "{} is missing: build the examples first (bash examples/{language}/build.sh)",
                path.display()
            );
            Ok(PolicyConfig {
                name: format!("{EXAMPLE}-{language}"),
                kind: Kind::Filter,
                source: path.display().to_string(),
                on_failure: None,
                call_deadline_ms: Some(EXAMPLE_CALL_DEADLINE_MS),
                memory_bytes_max: Some(EXAMPLE_MEMORY_BYTES_MAX),
            })
        })
        .collect()
}

/// A whole batch through an interpreted language's runtime takes longer than the broker's
/// default deadline allows on a busy machine; the benchmark measures, it does not police.
const EXAMPLE_CALL_DEADLINE_MS: u64 = 5_000;
/// The JavaScript engine's heap grows past the default 64 MiB under sustained calls before
/// it collects (docs/sdk-javascript.md); each example's peak is printed.
const EXAMPLE_MEMORY_BYTES_MAX: usize = 512 << 20;

fn message(i: usize, body: usize) -> Message {
    Message {
        key: None,
        value: Some(vec![b'x'; body]),
        headers: vec![
            ("keep".into(), Some(b"yes".to_vec())),
            (
                "weight".into(),
                Some(format!("{}.5", 3 + i % 7).into_bytes()),
            ),
        ],
        timestamp_ms: 1_700_000_000_000,
        durable: false,
        expiry_ms: None,
        delivery_time_ms: None,
        group_id: None,
    }
}

fn main() -> anyhow::Result<()> {
    let messages = env_or("SLUICE_BENCH_MESSAGES", 100_000);
    let batch = env_or("SLUICE_BENCH_BATCH", 100).max(1);
    let body = env_or("SLUICE_BENCH_BODY", 256);
    let dir = tempfile::tempdir()?;
    let tokio = tokio::runtime::Runtime::new()?;
    let runtime = Runtime::new(None)?;
    let plugins = PluginsConfig {
        load: example_plugins()?,
        ..PluginsConfig::default()
    };
    let policies = Arc::new(
        tokio
            .block_on(Policies::load(&runtime, &plugins))
            .context("loading the built-in plugins and the examples")?,
    );
    let storage = Arc::new(Storage::open(StorageConfig {
        dir: dir.path().to_owned(),
        topic_defaults: TopicConfig {
            durability: Durability::Relaxed,
            ..TopicConfig::default()
        },
        ..StorageConfig::default()
    })?);
    let cases = cases();
    let config = QueuesConfig {
        addresses: cases
            .iter()
            .map(|c| AddressConfig {
                name: c.address.clone(),
                routing: vec![RoutingType::Anycast],
                queues: vec![QueueConfig {
                    name: c.address.clone(),
                    routing: RoutingType::Anycast,
                    durable: false,
                    exclusive: false,
                    max_consumers: -1,
                    purge_on_no_consumers: false,
                    ..QueueConfig::default()
                }],
            })
            .collect(),
        address_settings: cases
            .iter()
            .filter_map(|c| {
                c.filter.clone().map(|f| AddressSettingsRule {
                    pattern: c.address.clone(),
                    publish_filter: Some(f),
                    ..AddressSettingsRule::default()
                })
            })
            .collect(),
        ..QueuesConfig::default()
    };
    let queues = Queues::open_with_policies(storage, config, policies.clone())?;
    let batches: Vec<Vec<Message>> = (0..messages.div_ceil(batch))
        .map(|b| (0..batch).map(|i| message(b * batch + i, body)).collect())
        .collect();

    let mut send_ns: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let case = &cases[i];
            let start = Instant::now();
            for b in &batches {
                queues.send(1, &case.address, None, b.clone(), 1_700_000_000_000)?;
            }
            send_ns[i].push(per_message(start.elapsed(), batches.len() * batch));
        }
    }
    let mut apply_ns: Vec<f64> = Vec::new();
    for case in cases.iter().skip(1) {
        let filter = case.filter.clone().context("filtered case")?;
        let sample = &batches[0];
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..(messages / batch).max(1) {
                let verdicts = policies
                    .filter(&filter, sample)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(verdicts.len() == sample.len());
            }
            rounds.push(per_message(
                start.elapsed(),
                (messages / batch).max(1) * batch,
            ));
        }
        apply_ns.push(median(rounds));
    }

    let plain = median(send_ns[0].clone());
    println!(
        "filter_cost: {messages} messages of {body} B per address and round, sends of {batch}, {ROUNDS} rounds (medians)"
    );
    println!("  send, no filter                   {plain:>8.0} ns/message");
    let mut report = serde_json::Map::new();
    report.insert("send_ns_no_filter".into(), plain.into());
    for (i, case) in cases.iter().enumerate().skip(1) {
        let with = median(send_ns[i].clone());
        let apply = apply_ns[i - 1];
        println!(
            "  send, {:<22} filter {with:>8.0} ns/message: +{:.0} ns ({:.2}x); the filter call alone {apply:.0} ns/message",
            case.address,
            with - plain,
            with / plain
        );
        report.insert(format!("send_ns_{}", case.address), with.into());
        report.insert(format!("added_ns_{}", case.address), (with - plain).into());
        report.insert(format!("apply_ns_{}", case.address), apply.into());
    }
    for status in policies.status() {
        if status.name.starts_with(EXAMPLE) {
            let memory = status.stats.memory_bytes;
            println!(
                "  {}: instance memory {:.1} MiB after the run",
                status.name,
                memory as f64 / f64::from(1u32 << 20)
            );
            report.insert(format!("memory_bytes_{}", status.name), memory.into());
        }
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-reports");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("filter_cost.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    Ok(())
}

fn per_message(elapsed: Duration, messages: usize) -> f64 {
    elapsed.as_nanos() as f64 / messages.max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
