//! The SVG chart of a perf run: throughput (messages per second, produced and consumed) and
//! latency (end-to-end p50, p99 and max, acknowledgement p99) per sample over time, one
//! polyline per series, with axes, ticks, labels and a legend.
//!
//! Written by hand: a chart is two frames, a few ticks and one polyline per series, under
//! 200 lines; a plotting crate (plotters and its font stack) would weigh more than all of
//! `perf` and render no better in a browser. Every series is a `<polyline>` with
//! `data-series` naming the JSON field it plots, so a test (or a script) can read it back.
use std::fmt::Write;

use super::samples::Sample;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 640.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 60.0;
const PANEL_HEIGHT: f64 = 220.0;
const PANEL_GAP: f64 = 90.0;
const TICKS: usize = 5;

/// One line of a panel: the field it plots, its legend, its colour.
struct Series {
    field: &'static str,
    label: &'static str,
    colour: &'static str,
    value: fn(&Sample) -> f64,
}

const THROUGHPUT: [Series; 2] = [
    Series {
        field: "produced_msg_per_s",
        label: "produced msg/s",
        colour: "#1f77b4",
        value: |s| s.produced_msg_per_s,
    },
    Series {
        field: "consumed_msg_per_s",
        label: "consumed msg/s",
        colour: "#ff7f0e",
        value: |s| s.consumed_msg_per_s,
    },
];

const LATENCY: [Series; 4] = [
    Series {
        field: "latency_p50_ms",
        label: "end-to-end p50 ms",
        colour: "#2ca02c",
        value: |s| s.latency_p50_ms,
    },
    Series {
        field: "latency_p99_ms",
        label: "end-to-end p99 ms",
        colour: "#d62728",
        value: |s| s.latency_p99_ms,
    },
    Series {
        field: "latency_max_ms",
        label: "end-to-end max ms",
        colour: "#9467bd",
        value: |s| s.latency_max_ms,
    },
    Series {
        field: "ack_p99_ms",
        label: "ack p99 ms",
        colour: "#8c564b",
        value: |s| s.ack_p99_ms,
    },
];

/// The chart as an SVG document.
pub fn render(title: &str, samples: &[Sample]) -> String {
    let t_max = nice(samples.iter().map(|s| s.t_s).fold(0.0, f64::max));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<title>{}</title>
<rect width="100%" height="100%" fill="white"/>
<text x="{LEFT}" y="30" font-size="16" font-weight="bold">{}</text>
"#,
        escape(title),
        escape(title)
    );
    panel(&mut svg, TOP, "messages / s", &THROUGHPUT, samples, t_max);
    panel(
        &mut svg,
        TOP + PANEL_HEIGHT + PANEL_GAP,
        "latency ms",
        &LATENCY,
        samples,
        t_max,
    );
    svg.push_str("</svg>\n");
    svg
}

fn panel(
    svg: &mut String,
    top: f64,
    unit: &str,
    series: &[Series],
    samples: &[Sample],
    t_max: f64,
) {
    let plot_width = WIDTH - LEFT - RIGHT;
    let bottom = top + PANEL_HEIGHT;
    let y_max = nice(
        series
            .iter()
            .flat_map(|s| samples.iter().map(s.value))
            .fold(0.0, f64::max),
    );
    let x = |t: f64| LEFT + t / t_max * plot_width;
    let y = |v: f64| bottom - v / y_max * PANEL_HEIGHT;
    let _ = writeln!(
        svg,
        r##"<g class="panel" data-unit="{unit}"><rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" fill="none" stroke="#444"/>"##
    );
    for i in 0..=TICKS {
        let fraction = i as f64 / TICKS as f64;
        let (vy, vx) = (y(y_max * fraction), x(t_max * fraction));
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{vy:.1}" x2="{:.1}" y2="{vy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_width,
            LEFT - 6.0,
            vy + 4.0,
            label(y_max * fraction)
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{vx:.1}" y1="{bottom}" x2="{vx:.1}" y2="{:.1}" stroke="#444"/><text x="{vx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            bottom + 5.0,
            bottom + 18.0,
            label(t_max * fraction)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time (s)</text><text x="20" y="{:.1}" transform="rotate(-90 20 {:.1})" text-anchor="middle">{unit}</text>"#,
        LEFT + plot_width / 2.0,
        bottom + 36.0,
        top + PANEL_HEIGHT / 2.0,
        top + PANEL_HEIGHT / 2.0,
    );
    if samples.is_empty() {
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">no samples</text>"#,
            LEFT + plot_width / 2.0,
            top + PANEL_HEIGHT / 2.0
        );
    }
    for (i, s) in series.iter().enumerate() {
        let points: Vec<String> = samples
            .iter()
            .map(|sample| format!("{:.1},{:.1}", x(sample.t_s), y((s.value)(sample))))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline class="series" data-series="{}" fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            s.field,
            s.colour,
            points.join(" ")
        );
        let ly = top + 14.0 + i as f64 * 20.0;
        let lx = WIDTH - RIGHT + 16.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{:.1}" y2="{ly}" stroke="{}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            s.colour,
            lx + 30.0,
            ly + 4.0,
            s.label
        );
    }
    svg.push_str("</g>\n");
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v` (1 for nothing to show).
fn nice(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|candidate| *candidate >= v)
        .unwrap_or(10.0 * power)
}

/// A tick label: whole numbers without decimals, small ones with up to three.
fn label(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::samples::sample;
    use super::*;

    #[test]
    fn every_series_is_a_polyline_with_a_point_per_sample() {
        let samples: Vec<Sample> = (1..=3)
            .map(|i| sample(f64::from(i), 1000.0 * f64::from(i), 2.5))
            .collect();
        let svg = render("perf <queue://q>", &samples);
        assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("perf &lt;queue://q&gt;"));
        for field in THROUGHPUT.iter().chain(&LATENCY).map(|s| s.field) {
            let at = svg
                .find(&format!("data-series=\"{field}\""))
                .unwrap_or_else(|| panic!("no {field}"));
            let line = &svg[at..svg[at..].find("/>").unwrap() + at];
            let points = line
                .split("points=\"")
                .nth(1)
                .unwrap()
                .trim_end_matches('"');
            assert_eq!(points.split(' ').count(), 3, "{field}: {points}");
        }
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn points_stay_inside_their_panel() {
        let samples = vec![sample(1.0, 0.0, 0.0), sample(7.0, 12_345.0, 900.0)];
        let svg = render("t", &samples);
        for points in svg.split("points=\"").skip(1) {
            for point in points.split('"').next().unwrap().split(' ') {
                let (x, y) = point.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((LEFT..=WIDTH - RIGHT).contains(&x), "{x}");
                assert!((TOP..=HEIGHT).contains(&y), "{y}");
            }
        }
    }

    #[test]
    fn axes_end_at_round_numbers() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(12_345.0), 20_000.0);
        assert_eq!(nice(0.3), 0.5);
        assert_eq!(nice(500.0), 500.0);
        assert_eq!(label(0.25), "0.25");
        assert_eq!(label(2000.0), "2000");
    }

    #[test]
    fn a_run_without_samples_still_draws_its_axes() {
        let svg = render("empty", &[]);
        assert!(svg.contains("no samples"));
        assert_eq!(svg.matches("<polyline").count(), 6);
    }
}
