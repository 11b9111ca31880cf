//! Listener and traffic metrics, read at scrape time from the network layer's counters
//! (`net::stats`) and the service's message counters (`traffic`).
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use super::family::{self, BYTES, counters, gauge_value, gauges, label};
use super::traffic::{Interface, Traffic};
use crate::net::stats::{ErrorCause, ListenerSnapshot, NetStats};

/// `sluice_listener_*` and `sluice_messages_*`.
#[derive(Debug)]
pub struct NetCollector {
    /// Every listener's counters.
    pub net: Arc<NetStats>,
    /// Messages in and out.
    pub traffic: Arc<Traffic>,
}

fn by_listener(l: &ListenerSnapshot) -> [(&'static str, Cow<'_, str>); 1] {
    [("listener", label(&l.name))]
}

impl Collector for NetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let listeners = self.net.listeners();
        let e = &mut encoder;
        gauges(
            e,
            "sluice_listener_connections",
            "Connections open now, from accept to close.",
            None,
            &listeners,
            |l| (by_listener(l), gauge_value(l.open)),
        )?;
        gauges(
            e,
            "sluice_listener_connections_max",
            "The listener's connections-max: connections beyond it wait in the accept queue.",
            None,
            &listeners,
            |l| (by_listener(l), gauge_value(l.connections_max)),
        )?;
        counters(
            e,
            "sluice_listener_connections_accepted",
            "Connections accepted.",
            None,
            &listeners,
            |l| (by_listener(l), l.accepted),
        )?;
        counters(
            e,
            "sluice_listener_received",
            "Bytes read from the listener's sockets.",
            Some(&BYTES),
            &listeners,
            |l| (by_listener(l), l.bytes_in),
        )?;
        counters(
            e,
            "sluice_listener_sent",
            "Bytes written to the listener's sockets.",
            Some(&BYTES),
            &listeners,
            |l| (by_listener(l), l.bytes_out),
        )?;
        counters(
            e,
            "sluice_listener_codec_calls",
            "Calls into the listener's codec sessions: one per socket read handed to on-data \
             and one per armed wait that fired (on-wake). The network layer parses no bytes, \
             so this stands for requests: a call may carry several frames or part of one.",
            None,
            &listeners,
            |l| (by_listener(l), l.codec_calls),
        )?;
        {
            let mut errors = family::describe(
                e,
                "sluice_listener_connection_errors",
                "Connections that ended on an error, by cause: socket (read or write failed), \
             protocol (the codec refused the peer's bytes), plugin (the codec failed or could \
             not open a session).",
                None,
                MetricType::Counter,
            )?;
            for l in &listeners {
                for (cause, count) in ErrorCause::ALL.iter().zip(l.errors) {
                    let labels = [
                        ("listener", label(&l.name)),
                        ("cause", Cow::Borrowed(cause.label())),
                    ];
                    family::counter(&mut errors, &labels, count)?;
                }
            }
        }
        counters(
            e,
            "sluice_messages_in",
            "Messages into the broker, by the plugin interface they came through: broker \
             (records in appended batches: Kafka produce) or queues (messages sent to \
             addresses: AMQP).",
            None,
            &Interface::ALL,
            |i| ([("interface", i.label())], self.traffic.messages_in(*i)),
        )?;
        counters(
            e,
            "sluice_messages_out",
            "Messages out of the broker, by the plugin interface they went through: broker \
             (records in the batches read: Kafka fetch) or queues (deliveries to consumers: \
             AMQP).",
            None,
            &Interface::ALL,
            |i| ([("interface", i.label())], self.traffic.messages_out(*i)),
        )
    }
}
