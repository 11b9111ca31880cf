//! Small helpers over prometheus-client's encoder for the scrape-time collectors: a family is
//! described once, then one sample is written per label set. Label values are escaped here
//! (the crate writes them as given) and cut to [`LABEL_VALUE_BYTES_MAX`], since some come
//! from plugins.
use std::borrow::Cow;
use std::fmt;

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// Longest label value written, in bytes. Names of topics, queues, listeners and plugins are
/// far shorter; a plugin reports its own version string, and one that reported a page of text
/// must not make every scrape carry it.
pub const LABEL_VALUE_BYTES_MAX: usize = 256;

/// The unit suffixes the metrics use (prometheus-client appends them to a family's name and
/// writes a `# UNIT` line).
pub static BYTES: Unit = Unit::Bytes;
/// Seconds.
pub static SECONDS: Unit = Unit::Seconds;

/// Describes a family and returns the encoder its samples are written with.
pub fn describe<'e>(
    encoder: &'e mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    unit: Option<&'static Unit>,
    kind: MetricType,
) -> Result<MetricEncoder<'e>, fmt::Error> {
    encoder.encode_descriptor(name, help, unit, kind)
}

/// One counter sample with `labels`.
pub fn counter(
    family: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    value: u64,
) -> fmt::Result {
    family
        .encode_family(labels)?
        .encode_counter::<NoLabelSet, u64, u64>(&value, None)
}

/// One gauge sample with `labels`.
pub fn gauge<V: EncodeGaugeValue>(
    family: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    value: V,
) -> fmt::Result {
    family.encode_family(labels)?.encode_gauge(&value)
}

/// A counter family with one sample per item: its labels and its value.
pub fn counters<'a, T, L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    unit: Option<&'static Unit>,
    items: &'a [T],
    sample: impl Fn(&'a T) -> (L, u64),
) -> fmt::Result {
    let mut family = describe(encoder, name, help, unit, MetricType::Counter)?;
    for item in items {
        let (labels, value) = sample(item);
        counter(&mut family, &labels, value)?;
    }
    Ok(())
}

/// A gauge family with one sample per item: its labels and its value.
pub fn gauges<'a, T, L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    unit: Option<&'static Unit>,
    items: &'a [T],
    sample: impl Fn(&'a T) -> (L, i64),
) -> fmt::Result {
    let mut family = describe(encoder, name, help, unit, MetricType::Gauge)?;
    for item in items {
        let (labels, value) = sample(item);
        gauge(&mut family, &labels, value)?;
    }
    Ok(())
}

/// A histogram sample with `labels`: `buckets` are (upper bound, count in that bucket alone),
/// the last bound `f64::MAX` for +Inf, as prometheus-client expects (it accumulates them).
pub fn histogram(
    family: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    sum: f64,
    count: u64,
    buckets: &[(f64, u64)],
) -> fmt::Result {
    family
        .encode_family(labels)?
        .encode_histogram::<NoLabelSet>(sum, count, buckets, None)
}

/// A counter family of one sample with no labels.
pub fn single_counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    unit: Option<&'static Unit>,
    value: u64,
) -> fmt::Result {
    describe(encoder, name, help, unit, MetricType::Counter)?
        .encode_counter::<NoLabelSet, u64, u64>(&value, None)
}

/// A gauge family of one sample with no labels.
pub fn single_gauge<V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &'static str,
    help: &'static str,
    unit: Option<&'static Unit>,
    value: V,
) -> fmt::Result {
    describe(encoder, name, help, unit, MetricType::Gauge)?.encode_gauge(&value)
}

/// `value` as an OpenMetrics label value: backslash, double quote and line feed escaped, cut
/// to [`LABEL_VALUE_BYTES_MAX`] bytes at a character boundary.
pub fn label(value: &str) -> Cow<'_, str> {
    let mut end = value.len().min(LABEL_VALUE_BYTES_MAX);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let value = &value[..end];
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    let mut escaped = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// A count as a gauge value: clamped rather than wrapped.
pub fn gauge_value(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Cumulative bucket counts (as snapshots keep them) to per-bucket ones (as the encoder
/// takes them); a count lower than the one before (a torn snapshot) becomes 0.
pub fn per_bucket(cumulative: impl IntoIterator<Item = (f64, u64)>) -> Vec<(f64, u64)> {
    let mut before = 0;
    cumulative
        .into_iter()
        .map(|(bound, count)| {
            let own = count.saturating_sub(before);
            before = before.max(count);
            (bound, own)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_bounded() {
        assert_eq!(label("orders"), "orders");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let long = "é".repeat(LABEL_VALUE_BYTES_MAX);
        let cut = label(&long);
        assert!(cut.len() <= LABEL_VALUE_BYTES_MAX);
        assert!(cut.chars().all(|c| c == 'é'));
    }

    #[test]
    fn cumulative_counts_become_per_bucket_counts() {
        let per = per_bucket([(1.0, 2), (2.0, 2), (f64::MAX, 5)]);
        assert_eq!(per, [(1.0, 2), (2.0, 0), (f64::MAX, 3)]);
    }
}
