//! The two text formats `GET /metrics` speaks. prometheus-client writes OpenMetrics, which
//! Prometheus asks for first; a scraper that does not ask for it (curl, older Prometheus,
//! the Prometheus project's text-format parsers) gets the classic text format (0.0.4), made
//! from the same text by renaming what differs: a counter family is named with its `_total`
//! there, and `# UNIT` and `# EOF` do not exist. Samples and label escaping are the same in
//! both.
use std::collections::HashSet;

/// Which text format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0.0.
    OpenMetrics,
    /// Prometheus's classic text format, 0.0.4.
    PrometheusText,
}

impl Format {
    /// OpenMetrics when the request's `Accept` names it (as Prometheus's scrapes do), else the
    /// classic text format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let wants_openmetrics = accept.is_some_and(|accept| {
            accept.split(',').any(|range| {
                let mut params = range.split(';').map(str::trim);
                let media = params.next().unwrap_or_default();
                media.eq_ignore_ascii_case("application/openmetrics-text") && !params.any(refused)
            })
        });
        if wants_openmetrics {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }

    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::PrometheusText => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// A media range parameter `q=0`: "not acceptable".
fn refused(param: &str) -> bool {
    param
        .strip_prefix("q=")
        .and_then(|q| q.trim().parse::<f32>().ok())
        .is_some_and(|q| q <= 0.0)
}

/// OpenMetrics text as prometheus-client writes it, in the classic text format.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let described = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|tag| line.strip_prefix(tag).map(|rest| (tag, rest)));
        match described {
            Some((tag, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                text.push_str(tag);
                text.push_str(name);
                if counters.contains(name) {
                    text.push_str("_total");
                }
                text.push(' ');
                text.push_str(tail);
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENMETRICS: &str = "\
# HELP sluice_listener_received_bytes Bytes read.
# TYPE sluice_listener_received_bytes counter
# UNIT sluice_listener_received_bytes bytes
sluice_listener_received_bytes_total{listener=\"kafka\"} 10
# HELP sluice_queue_messages Messages.
# TYPE sluice_queue_messages gauge
sluice_queue_messages{queue=\"q\",address=\"a\"} 2
# EOF
";

    #[test]
    fn counters_are_named_with_their_total_and_units_and_eof_go() {
        assert_eq!(
            to_prometheus_text(OPENMETRICS),
            "\
# HELP sluice_listener_received_bytes_total Bytes read.
# TYPE sluice_listener_received_bytes_total counter
sluice_listener_received_bytes_total{listener=\"kafka\"} 10
# HELP sluice_queue_messages Messages.
# TYPE sluice_queue_messages gauge
sluice_queue_messages{queue=\"q\",address=\"a\"} 2
"
        );
    }

    #[test]
    fn openmetrics_is_served_only_to_who_asks_for_it() {
        let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
            version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(None), Format::PrometheusText);
        assert_eq!(Format::negotiate(Some("*/*")), Format::PrometheusText);
        assert_eq!(
            Format::negotiate(Some("text/plain;version=0.0.4")),
            Format::PrometheusText
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0")),
            Format::PrometheusText
        );
        assert_eq!(
            Format::negotiate(Some("text/plain, application/openmetrics-text; q=0.0")),
            Format::PrometheusText
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0.5")),
            Format::OpenMetrics
        );
    }
}
