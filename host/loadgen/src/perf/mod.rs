//! `sluice perf`: producers and consumers at once on one destination. Each message carries
//! its send time ([`crate::payload::Stamp`]); consumers turn it into end-to-end latency,
//! producers time each acknowledgement. Once a second a sample of both rates and latencies
//! is kept (for the chart and the JSON) and the progress bar moves. Producers stop after
//! `--duration` or `--message-count`; consumers then drain what was acknowledged, until they
//! have it all or nothing has come for `--receive-timeout`.
pub mod chart;
pub mod progress;
pub mod report;
pub mod samples;
pub mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use crate::destination::{Destination, Protocol, Routing};
use crate::error::{LoadError, Result};
use crate::link::{Broker, Consumer, Producer, StartAt};
use crate::payload::{PERF_STAMP_BYTES, Stamp, perf_body};
use progress::Progress;
use report::{PerfReport, Side};
use samples::{SAMPLES_MAX, Sample, Samples};
use stats::{Percentiles, Recorder};

/// A perf run lasts this long when neither `--duration` nor `--message-count` is given.
pub const DURATION_DEFAULT: Duration = Duration::from_secs(10);
/// One sample (and progress update) per this.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// How often the run checks whether consumers have drained, and how long a consumer's poll
/// waits before it looks at the stop flag again.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);
/// A producer hands its acknowledgement latencies over at least this often.
const MERGE_INTERVAL: Duration = Duration::from_millis(100);
/// The longest `--duration`: a day. Samples fold, memory does not grow, but a typo should
/// not hold a broker for a year.
pub const DURATION_MAX: Duration = Duration::from_secs(24 * 3600);

/// What `sluice perf` was asked.
#[derive(Clone, Debug)]
pub struct PerfOptions {
    /// Where the broker is.
    pub broker: Broker,
    /// Where messages go and come from.
    pub destination: Destination,
    /// Producer connections.
    pub producers: usize,
    /// Consumer connections.
    pub consumers: usize,
    /// Body bytes (at least [`PERF_STAMP_BYTES`]).
    pub message_size: usize,
    /// How long producers send; the default without `message_count` is
    /// [`DURATION_DEFAULT`].
    pub duration: Option<Duration>,
    /// Messages per producer.
    pub message_count: Option<u64>,
    /// Messages per second, all producers together.
    pub rate: Option<f64>,
    /// After producers stop, consumers give up after this long without a message.
    pub receive_timeout: Duration,
    /// Draw the progress bar (when stderr is a terminal).
    pub progress: bool,
    /// Write the SVG chart here.
    pub chart: Option<PathBuf>,
}

impl PerfOptions {
    fn check(&self) -> Result<()> {
        crate::produce::check(self.producers, self.message_size)?;
        crate::produce::check(self.consumers, 0)?;
        if self.message_size < PERF_STAMP_BYTES {
            return Err(LoadError::usage(format!(
                "--message-size must be at least {PERF_STAMP_BYTES}: each message carries its send time"
            )));
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(LoadError::usage("--rate must be a positive number"));
        }
        if self
            .duration
            .is_some_and(|d| d.is_zero() || d > DURATION_MAX)
        {
            return Err(LoadError::usage(format!(
                "--duration must be between 1 ms and {} s",
                DURATION_MAX.as_secs()
            )));
        }
        Ok(())
    }

    /// Copies each consumer should receive of each message produced.
    fn fanout(&self) -> u64 {
        match (self.broker.protocol, self.destination.routing) {
            (Protocol::Amqp, Some(Routing::Multicast)) => self.consumers as u64,
            _ => 1,
        }
    }
}

/// Flags the tasks watch.
#[derive(Default)]
struct Control {
    stop_producers: AtomicBool,
    stop_consumers: AtomicBool,
}

/// Runs the load and returns its report (the chart written, if asked).
pub async fn run(options: PerfOptions) -> Result<PerfReport> {
    options.check()?;
    let duration = match (options.duration, options.message_count) {
        (None, None) => Some(DURATION_DEFAULT),
        (duration, _) => duration,
    };
    // Producers first: with Kafka, their metadata request creates the topic consumers read.
    let producers = open_all(options.producers, |i| {
        let options = options.clone();
        async move { Producer::open(&options.broker, &options.destination, i, None).await }
    })
    .await?;
    let consumers = open_all(options.consumers, |i| {
        let options = options.clone();
        async move {
            let start = StartAt::default();
            let count = options.consumers;
            Consumer::open(
                &options.broker,
                &options.destination,
                (i, count),
                &start,
                None,
            )
            .await
        }
    })
    .await?;

    let recorder = Arc::new(Recorder::new()?);
    let control = Arc::new(Control::default());
    let run_id = run_id();
    let start = recorder.clock;
    let deadline = duration.map(|d| start + d);
    let mut consumer_tasks = JoinSet::new();
    for consumer in consumers {
        let (recorder, control) = (recorder.clone(), control.clone());
        consumer_tasks.spawn(consume(consumer, recorder, control, run_id));
    }
    let mut producer_tasks = JoinSet::new();
    let per_producer_rate = options.rate.map(|r| r / options.producers as f64);
    for producer in producers {
        let plan = Plan {
            run_id,
            message_size: options.message_size,
            count: options.message_count,
            deadline,
            rate: per_producer_rate,
        };
        let (recorder, control) = (recorder.clone(), control.clone());
        producer_tasks.spawn(produce(producer, plan, recorder, control));
    }

    let outcome = supervise(
        &options,
        duration,
        &recorder,
        &control,
        &mut producer_tasks,
        &mut consumer_tasks,
    )
    .await;
    control.stop_producers.store(true, Ordering::Relaxed);
    control.stop_consumers.store(true, Ordering::Relaxed);
    let (mut samples, ended) = outcome?;
    while let Some(joined) = consumer_tasks.join_next().await {
        joined.context("a consumer stopped")??;
    }
    // What consumers recorded between the last sample and their stop.
    let (e2e, ack) = recorder.take();
    let _ = samples.e2e_total.add(&e2e);
    let _ = samples.ack_total.add(&ack);

    let (e2e_total, ack_total) = (samples.e2e_total, samples.ack_total);
    let produced = recorder.produced.load(Ordering::Relaxed);
    let consumed = recorder.consumed.load(Ordering::Relaxed);
    let expected = produced * options.fanout();
    let seconds = |ns: u64| ns as f64 / 1e9;
    let mut report = PerfReport {
        protocol: options.broker.protocol,
        destination: options.destination.to_string(),
        producers: options.producers,
        consumers: options.consumers,
        message_size: options.message_size,
        rate_limit_msg_per_s: options.rate,
        elapsed_s: ended.saturating_duration_since(start).as_secs_f64(),
        produced: Side::new(
            produced,
            recorder.produced_bytes.load(Ordering::Relaxed),
            seconds(recorder.last_acked_ns.load(Ordering::Relaxed)),
        ),
        consumed: Side::new(
            consumed,
            recorder.consumed_bytes.load(Ordering::Relaxed),
            seconds(recorder.last_consumed_ns.load(Ordering::Relaxed)),
        ),
        expected,
        missing: expected.saturating_sub(consumed),
        other_messages: recorder.other.load(Ordering::Relaxed),
        latency_ms: Percentiles::of(&e2e_total),
        ack_latency_ms: Percentiles::of(&ack_total),
        samples: samples.kept.as_slice().to_vec(),
        chart: None,
    };
    if let Some(path) = &options.chart {
        let title = format!(
            "sluice perf: {} over {}, {} producers, {} consumers, {} B",
            report.destination,
            report.protocol.as_str(),
            report.producers,
            report.consumers,
            report.message_size
        );
        std::fs::write(path, chart::render(&title, &report.samples))
            .with_context(|| format!("writing the chart to {}", path.display()))?;
        report.chart = Some(path.display().to_string());
    }
    Ok(report)
}

/// Opens `n` links at once; the first failure wins.
async fn open_all<T, F, Fut>(n: usize, open: F) -> Result<Vec<T>>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let opening = open(i);
        tasks.spawn(async move { (i, opening.await) });
    }
    let mut opened = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        let (i, link) = joined.context("opening a link")?;
        opened.push((i, link?));
    }
    opened.sort_by_key(|(i, _)| *i);
    Ok(opened.into_iter().map(|(_, link)| link).collect())
}

/// A run id: different for every run, so consumers skip messages a run before left.
fn run_id() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    now ^ (u64::from(std::process::id()) << 32)
}

/// What the supervisor kept.
struct Kept {
    kept: Samples,
    e2e_total: Histogram<u64>,
    ack_total: Histogram<u64>,
}

/// Samples once a second until the producers are done and the consumers drained; returns
/// the samples and when the run ended. A failing task ends the run with its error.
async fn supervise(
    options: &PerfOptions,
    duration: Option<Duration>,
    recorder: &Recorder,
    control: &Control,
    producers: &mut JoinSet<Result<()>>,
    consumers: &mut JoinSet<Result<()>>,
) -> Result<(Kept, Instant)> {
    let start = recorder.clock;
    let (length, unit) = match (duration, options.message_count) {
        (Some(d), _) => (d.as_secs().max(1), "s"),
        (None, Some(count)) => (count * options.producers as u64 * options.fanout(), "msg"),
        (None, None) => (0, "msg"),
    };
    let progress = Progress::new(options.progress, length, unit);
    let mut kept = Kept {
        kept: Samples::new(SAMPLES_MAX),
        e2e_total: stats::histogram()?,
        ack_total: stats::histogram()?,
    };
    let mut last = Snapshot::take(recorder, start);
    let mut next_sample = start + SAMPLE_INTERVAL;
    let mut check = tokio::time::interval(CHECK_INTERVAL);
    let mut producers_done = false;
    let mut drained_at = (0u64, Instant::now());
    let ended = loop {
        tokio::select! {
            _ = check.tick() => {}
            joined = producers.join_next(), if !producers_done => match joined {
                Some(joined) => joined.context("a producer stopped")??,
                None => {
                    producers_done = true;
                    drained_at = (recorder.consumed.load(Ordering::Relaxed), Instant::now());
                }
            },
            Some(joined) = consumers.join_next() => {
                joined.context("a consumer stopped")??;
                return Err(anyhow::anyhow!("a consumer stopped before the run ended").into());
            }
        }
        let now = Instant::now();
        if now >= next_sample {
            let sample = sample_now(recorder, &mut kept, &mut last, now);
            progress.update(
                match unit {
                    "s" => now.saturating_duration_since(start).as_secs(),
                    _ => recorder.consumed.load(Ordering::Relaxed),
                },
                format!(
                    "produced {:.0} msg/s, consumed {:.0} msg/s, p99 {:.2} ms",
                    sample.produced_msg_per_s, sample.consumed_msg_per_s, sample.latency_p99_ms
                ),
            );
            next_sample += SAMPLE_INTERVAL;
        }
        if producers_done {
            let consumed = recorder.consumed.load(Ordering::Relaxed);
            let expected = recorder.produced.load(Ordering::Relaxed) * options.fanout();
            if consumed != drained_at.0 {
                drained_at = (consumed, now);
            }
            if consumed >= expected || now.duration_since(drained_at.1) >= options.receive_timeout {
                break now;
            }
        }
    };
    control.stop_consumers.store(true, Ordering::Relaxed);
    // The last, partial interval.
    if ended.saturating_duration_since(last.at) >= CHECK_INTERVAL {
        sample_now(recorder, &mut kept, &mut last, ended);
    }
    progress.finish();
    Ok((kept, ended))
}

/// Counters at one moment, to compute the next interval's rates.
struct Snapshot {
    at: Instant,
    produced: u64,
    produced_bytes: u64,
    consumed: u64,
    consumed_bytes: u64,
}

impl Snapshot {
    fn take(recorder: &Recorder, at: Instant) -> Snapshot {
        Snapshot {
            at,
            produced: recorder.produced.load(Ordering::Relaxed),
            produced_bytes: recorder.produced_bytes.load(Ordering::Relaxed),
            consumed: recorder.consumed.load(Ordering::Relaxed),
            consumed_bytes: recorder.consumed_bytes.load(Ordering::Relaxed),
        }
    }
}

fn sample_now(recorder: &Recorder, kept: &mut Kept, last: &mut Snapshot, now: Instant) -> Sample {
    let current = Snapshot::take(recorder, now);
    let (e2e, ack) = recorder.take();
    let _ = kept.e2e_total.add(&e2e);
    let _ = kept.ack_total.add(&ack);
    let interval = now.saturating_duration_since(last.at).as_secs_f64();
    let per_s = |a: u64, b: u64| crate::summary::rate(a.saturating_sub(b) as f64, interval);
    let (e2e, ack) = (Percentiles::of(&e2e), Percentiles::of(&ack));
    let sample = Sample {
        t_s: now.saturating_duration_since(recorder.clock).as_secs_f64(),
        interval_s: interval,
        produced_msg_per_s: per_s(current.produced, last.produced),
        consumed_msg_per_s: per_s(current.consumed, last.consumed),
        produced_mb_per_s: per_s(current.produced_bytes, last.produced_bytes) / 1e6,
        consumed_mb_per_s: per_s(current.consumed_bytes, last.consumed_bytes) / 1e6,
        latency_p50_ms: e2e.p50,
        latency_p99_ms: e2e.p99,
        latency_max_ms: e2e.max,
        ack_p99_ms: ack.p99,
    };
    kept.kept.push(sample.clone());
    *last = current;
    sample
}

/// What one producer sends.
struct Plan {
    run_id: u64,
    message_size: usize,
    /// Messages at most.
    count: Option<u64>,
    /// Send nothing after this.
    deadline: Option<Instant>,
    /// Messages per second, this producer's share.
    rate: Option<f64>,
}

async fn produce(
    mut producer: Producer,
    plan: Plan,
    recorder: Arc<Recorder>,
    control: Arc<Control>,
) -> Result<()> {
    let mut local = stats::histogram()?;
    let mut merged_at = Instant::now();
    let template = perf_body(plan.message_size);
    let mut acked = |at: Instant, bytes: usize| {
        let now = Instant::now();
        stats::record(&mut local, now.saturating_duration_since(at));
        recorder
            .produced_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        stats::count(
            &recorder.produced,
            1,
            &recorder.last_acked_ns,
            recorder.now_ns(),
        );
        if now.saturating_duration_since(merged_at) >= MERGE_INTERVAL {
            recorder.merge_ack(&mut local);
            merged_at = now;
        }
    };
    let mut seq = 0u64;
    loop {
        let now = Instant::now();
        let over = plan.count.is_some_and(|c| seq >= c)
            || plan.deadline.is_some_and(|d| now >= d)
            || control.stop_producers.load(Ordering::Relaxed);
        if over {
            break;
        }
        if let Some(rate) = plan.rate {
            let due = recorder.clock + Duration::from_secs_f64(seq as f64 / rate);
            let due = plan.deadline.map_or(due, |d| due.min(d));
            if due > now {
                producer.flush(&mut acked).await?;
                producer.idle_until(due, &mut acked).await?;
                continue;
            }
        }
        let mut body = template.clone();
        Stamp {
            run: plan.run_id,
            seq,
            sent_ns: recorder.now_ns(),
        }
        .write(&mut body);
        producer.send(body, &mut acked).await?;
        seq += 1;
    }
    producer.finish(&mut acked).await?;
    recorder.merge_ack(&mut local);
    producer.close().await
}

async fn consume(
    mut consumer: Consumer,
    recorder: Arc<Recorder>,
    control: Arc<Control>,
    run_id: u64,
) -> Result<()> {
    let mut local = stats::histogram()?;
    while !control.stop_consumers.load(Ordering::Relaxed) {
        let mut body = |b: &[u8]| match Stamp::read(b, run_id) {
            Some(stamp) => {
                let now = recorder.now_ns();
                stats::record(
                    &mut local,
                    Duration::from_nanos(now.saturating_sub(stamp.sent_ns)),
                );
                recorder
                    .consumed_bytes
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
                stats::count(&recorder.consumed, 1, &recorder.last_consumed_ns, now);
            }
            None => {
                recorder.other.fetch_add(1, Ordering::Relaxed);
            }
        };
        consumer.poll(CHECK_INTERVAL, &mut body).await?;
        recorder.merge_e2e(&mut local);
    }
    consumer.close().await
}
