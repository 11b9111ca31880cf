//! Plugin metrics, read at scrape time from what `GET /api/plugins` reports (`PluginStatus`):
//! every listener's codec and every router and filter, labelled by kind and by the name the
//! configuration uses. A hot swap starts a new plugin with new figures, so its counters
//! restart from zero then (Prometheus reads that as a counter reset);
//! `sluice_plugin_loaded_timestamp_seconds` says when.
use std::borrow::Cow;
use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::PluginList;
use super::family::{self, BYTES, SECONDS, counters, gauge_value, gauges, label, per_bucket};
use crate::plugins::PluginStatus;

/// `sluice_plugin_*`.
pub struct PluginsCollector {
    /// Every codec, router and filter.
    pub plugins: PluginList,
}

impl fmt::Debug for PluginsCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginsCollector").finish_non_exhaustive()
    }
}

type Labels<'a> = [(&'static str, Cow<'a, str>); 2];

fn by_plugin(p: &PluginStatus) -> Labels<'_> {
    [("kind", Cow::Borrowed(p.kind)), ("name", label(&p.name))]
}

const MICROS_PER_SECOND: f64 = 1e6;

impl Collector for PluginsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let plugins = (self.plugins)();
        let e = &mut encoder;
        {
            let mut info = family::describe(
                e,
                "sluice_plugin_info",
                "The plugin serving under a kind and name: the name and version it reports, as \
             labels (value always 1).",
                None,
                MetricType::Gauge,
            )?;
            for p in &plugins {
                let labels = [
                    ("kind", Cow::Borrowed(p.kind)),
                    ("name", label(&p.name)),
                    ("plugin", label(&p.plugin)),
                    ("version", label(&p.version)),
                ];
                family::gauge(&mut info, &labels, 1i64)?;
            }
        }
        gauges(
            e,
            "sluice_plugin_healthy",
            "1 while the plugin serves, 0 while it backs off after a failure.",
            None,
            &plugins,
            |p| (by_plugin(p), i64::from(p.healthy)),
        )?;
        {
            let mut loaded = family::describe(
                e,
                "sluice_plugin_loaded_timestamp",
                "When this version of the plugin was loaded, in seconds since the Unix epoch; its \
             counters count from then.",
                Some(&SECONDS),
                MetricType::Gauge,
            )?;
            for p in &plugins {
                // Milliseconds since the epoch fit a double exactly.
                let seconds = p.stats.loaded_at_ms as f64 / 1e3;
                family::gauge(&mut loaded, &by_plugin(p), seconds)?;
            }
        }
        counters(
            e,
            "sluice_plugin_calls",
            "Calls made into the plugin, whatever their outcome.",
            None,
            &plugins,
            |p| (by_plugin(p), p.stats.calls),
        )?;
        counters(
            e,
            "sluice_plugin_errors",
            "Calls the plugin answered with an error, or with an answer the host refused.",
            None,
            &plugins,
            |p| (by_plugin(p), p.stats.errors),
        )?;
        {
            let mut failures = family::describe(
                e,
                "sluice_plugin_failures",
                "Instances discarded, by cause: trap, deadline (a call ran past its deadline), \
             memory (grew past its cap).",
                None,
                MetricType::Counter,
            )?;
            for p in &plugins {
                for (cause, count) in [
                    ("trap", p.stats.traps),
                    ("deadline", p.stats.deadline_misses),
                    ("memory", p.stats.memory_exhaustions),
                ] {
                    let labels = [
                        ("kind", Cow::Borrowed(p.kind)),
                        ("name", label(&p.name)),
                        ("cause", Cow::Borrowed(cause)),
                    ];
                    family::counter(&mut failures, &labels, count)?;
                }
            }
        }
        counters(
            e,
            "sluice_plugin_restarts",
            "Instances started to replace one that failed.",
            None,
            &plugins,
            |p| (by_plugin(p), p.stats.restarts),
        )?;
        counters(
            e,
            "sluice_plugin_messages_in",
            "Messages handed to the plugin: routed (router), judged (filter); 0 for codecs.",
            None,
            &plugins,
            |p| (by_plugin(p), p.stats.messages_in),
        )?;
        counters(
            e,
            "sluice_plugin_messages_out",
            "Messages the plugin placed (router), kept or rewrote (filter); 0 for codecs.",
            None,
            &plugins,
            |p| (by_plugin(p), p.stats.messages_out),
        )?;
        gauges(
            e,
            "sluice_plugin_memory",
            "Linear memory held by the plugin's live instances, added up.",
            Some(&BYTES),
            &plugins,
            |p| (by_plugin(p), gauge_value(p.stats.memory_bytes)),
        )?;
        let mut latency = family::describe(
            e,
            "sluice_plugin_call_duration",
            "How long calls into the plugin took.",
            Some(&SECONDS),
            MetricType::Histogram,
        )?;
        for p in &plugins {
            let l = &p.stats.latency;
            let buckets = per_bucket(l.buckets.iter().map(|b| {
                let bound = b.le_us.map_or(f64::MAX, |us| us as f64 / MICROS_PER_SECOND);
                (bound, b.count)
            }));
            let sum = l.sum_us as f64 / MICROS_PER_SECOND;
            family::histogram(&mut latency, &by_plugin(p), sum, l.count, &buckets)?;
        }
        Ok(())
    }
}
