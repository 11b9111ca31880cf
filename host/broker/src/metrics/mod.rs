//! What the broker tells operators about itself: Prometheus metrics (`GET /metrics`, in the
//! OpenMetrics text format prometheus-client writes, or the classic text format for scrapers
//! that do not ask for OpenMetrics: `exposition`) and the overview the console charts
//! (`GET /api/overview`). `docs/metrics.md` lists every metric.
//!
//! Nearly everything is read at scrape time by a collector from counters the broker keeps
//! anyway: the network layer's (`net::stats`), storage's, the address model's, the plugin
//! runtime's, `/proc/self`. The only counters added for metrics are the network layer's
//! (a few relaxed atomic adds per codec call) and the service's message counts (`traffic`,
//! one per import call). Labels are few and stable: listener, topic, queue and address,
//! plugin kind and name; never a connection or a client.
pub mod exposition;
pub mod family;
pub mod net;
pub mod plugins;
pub mod process;
pub mod resources;
pub mod storage;
pub mod traffic;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use prometheus_client::registry::Registry;
use serde::Serialize;
use sluice_queues::{INTERNAL_PREFIX, Queues};
use sluice_storage::Storage;

use crate::listeners::Listeners;
use crate::net::stats::NetStats;
use crate::plugins::{PluginStatus, Policies};
pub use exposition::Format;
use traffic::{Interface, Traffic};

/// Every plugin's status, asked at each scrape.
pub type PluginList = Arc<dyn Fn() -> Vec<PluginStatus> + Send + Sync>;

/// Every listener's codec, then every router and filter (what `GET /api/plugins` lists).
pub fn plugin_list(listeners: Arc<Listeners>, policies: Arc<Policies>) -> PluginList {
    Arc::new(move || {
        let mut all = listeners.status();
        all.extend(policies.status());
        all
    })
}

/// What the metrics read.
pub struct MetricsSources {
    /// The logs.
    pub storage: Arc<Storage>,
    /// The address model.
    pub queues: Arc<Queues>,
    /// Listeners' counters and open connections.
    pub net: Arc<NetStats>,
    /// Messages in and out.
    pub traffic: Arc<Traffic>,
    /// The plugins.
    pub plugins: PluginList,
    /// This broker's node id.
    pub node_id: i32,
}

/// The registry of collectors and what the overview reads.
pub struct Metrics {
    registry: Registry,
    storage: Arc<Storage>,
    queues: Arc<Queues>,
    net: Arc<NetStats>,
    traffic: Arc<Traffic>,
    node_id: i32,
    started: Instant,
}

/// `GET /api/overview`: totals since the broker started, so the console derives rates from
/// two samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    /// The broker's version.
    pub version: &'static str,
    /// This broker's node id.
    pub node_id: i32,
    /// The cluster id storage was created with.
    pub cluster_id: String,
    /// Seconds since the broker started.
    pub uptime_s: u64,
    /// Connections open now, every listener's.
    pub connections: usize,
    /// Messages in (see `sluice_messages_in_total`), every interface's.
    pub messages_in: u64,
    /// Bytes read from clients' sockets.
    pub bytes_in: u64,
    /// Messages out (see `sluice_messages_out_total`), every interface's.
    pub messages_out: u64,
    /// Bytes written to clients' sockets.
    pub bytes_out: u64,
    /// Topics, internal ones not counted.
    pub topics: usize,
    /// Queues, temporary ones included (as `GET /api/queues` lists them).
    pub queues: usize,
}

impl Metrics {
    /// Registers every collector.
    pub fn new(sources: MetricsSources) -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(net::NetCollector {
            net: sources.net.clone(),
            traffic: sources.traffic.clone(),
        }));
        registry.register_collector(Box::new(resources::ResourcesCollector {
            storage: sources.storage.clone(),
            queues: sources.queues.clone(),
        }));
        registry.register_collector(Box::new(plugins::PluginsCollector {
            plugins: sources.plugins,
        }));
        registry.register_collector(Box::new(storage::StorageCollector {
            storage: sources.storage.clone(),
        }));
        registry.register_collector(Box::new(process::ProcessCollector));
        Metrics {
            registry,
            storage: sources.storage,
            queues: sources.queues,
            net: sources.net,
            traffic: sources.traffic,
            node_id: sources.node_id,
            started: Instant::now(),
        }
    }

    /// Every metric now, in the OpenMetrics text format, `# EOF` included. Reads
    /// `/proc/self` and takes every partition's and queue's lock briefly: call it off the
    /// async runtime's threads.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// Every metric now, in `format`.
    pub fn encode_as(&self, format: Format) -> Result<String, fmt::Error> {
        let text = self.encode()?;
        Ok(match format {
            Format::OpenMetrics => text,
            Format::PrometheusText => exposition::to_prometheus_text(&text),
        })
    }

    /// The overview now.
    pub fn overview(&self) -> Overview {
        let listeners = self.net.listeners();
        let total = |f: fn(&Traffic, Interface) -> u64| {
            Interface::ALL.iter().map(|&i| f(&self.traffic, i)).sum()
        };
        Overview {
            version: env!("CARGO_PKG_VERSION"),
            node_id: self.node_id,
            cluster_id: self.storage.cluster_id().to_owned(),
            uptime_s: self.started.elapsed().as_secs(),
            connections: self.net.open_connections(),
            messages_in: total(Traffic::messages_in),
            bytes_in: listeners.iter().map(|l| l.bytes_in).sum(),
            messages_out: total(Traffic::messages_out),
            bytes_out: listeners.iter().map(|l| l.bytes_out).sum(),
            topics: self
                .storage
                .list_topics()
                .iter()
                .filter(|t| !t.name.starts_with(INTERNAL_PREFIX))
                .count(),
            queues: self.queues.stats().len(),
        }
    }

    /// Every open connection (`GET /api/connections`).
    pub fn connections(&self) -> Vec<crate::net::stats::ConnectionSnapshot> {
        self.net.connections()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
