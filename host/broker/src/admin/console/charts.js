// The overview panel and its throughput charts: rates derived from two samples of the
// broker's totals, drawn as inline SVG over a bounded window.
import { api, failure, setStatus } from "./api.js";
import { DASH, duration, perSecond } from "./format.js";

// How often the overview is sampled, in milliseconds.
export const SAMPLE_MS = 1000;
// Throughput samples kept per series: five minutes at one sample a second.
const CHART_SAMPLES_MAX = 300;
// The span the charts show, in milliseconds (matches the samples kept).
const CHART_WINDOW_MS = CHART_SAMPLES_MAX * SAMPLE_MS;
const SVG_NS = "http://www.w3.org/2000/svg";

const RATE_KEYS = ["messages_in", "messages_out", "bytes_in", "bytes_out"];
const series = Object.fromEntries(RATE_KEYS.map((k) => [k, []]));
let previous = null;

export async function refreshOverview() {
  let o;
  try {
    o = await api("/api/overview");
  } catch (e) {
    setStatus("overview-status", failure("/api/overview", e));
    return;
  }
  setStatus("overview-status", null);
  const facts = document.getElementById("overview-facts");
  for (const dd of facts.querySelectorAll("dd[data-field]")) {
    const key = dd.dataset.field;
    const value = o[key];
    const text = key === "uptime_s" ? duration(value) : value == null ? DASH : String(value);
    dd.textContent = text;
    dd.setAttribute("data-value", value == null ? "" : String(value));
  }
  sample(o, Date.now());
  drawCharts();
}

// Turns two totals into a rate per second; a broker that restarted (uptime went back or a
// total shrank) starts the series again.
function sample(o, now) {
  if (previous) {
    const seconds = (now - previous.at) / 1000;
    const restarted =
      o.uptime_s < previous.o.uptime_s || RATE_KEYS.some((k) => o[k] < previous.o[k]);
    if (restarted) {
      for (const k of RATE_KEYS) series[k].length = 0;
    } else if (seconds > 0) {
      for (const k of RATE_KEYS) {
        if (typeof o[k] !== "number") continue;
        series[k].push({ at: now, rate: (o[k] - previous.o[k]) / seconds });
        if (series[k].length > CHART_SAMPLES_MAX) series[k].shift();
      }
    }
  }
  previous = { at: now, o };
}

function drawCharts() {
  drawChart("chart-messages", ["messages_in", "messages_out"], false);
  drawChart("chart-bytes", ["bytes_in", "bytes_out"], true);
}

// A ceiling for the y axis, at least 1: 1, 2 or 5 times a power of ten, in the unit the
// label shows (so bytes get round KiB and MiB figures).
function niceMax(v, isBytes) {
  if (v <= 1) return 1;
  let scale = 1;
  while (isBytes && v / scale >= 1024) scale *= 1024;
  const scaled = v / scale;
  const power = 10 ** Math.floor(Math.log10(scaled));
  for (const step of [1, 2, 5, 10]) {
    if (scaled <= step * power) return step * power * scale;
  }
  return 10 * power * scale;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function drawChart(id, keys, isBytes) {
  const figure = document.getElementById(id);
  const canvas = figure.querySelector("svg");
  const [width, height] = [600, 160];
  const now = Date.now();
  const start = now - CHART_WINDOW_MS;
  let peak = 0;
  for (const k of keys) for (const p of series[k]) peak = Math.max(peak, p.rate);
  const max = niceMax(peak, isBytes);
  const nodes = [];
  for (const fraction of [0.25, 0.5, 0.75]) {
    const y = height - fraction * height;
    nodes.push(svg("line", { x1: 0, x2: width, y1: y, y2: y, class: "grid" }));
  }
  const label = svg("text", { x: 4, y: 14, class: "axis" });
  label.textContent = `${perSecond(max, isBytes)} max`;
  nodes.push(label);
  const from = svg("text", { x: 4, y: height - 4, class: "axis" });
  from.textContent = `${Math.round(CHART_WINDOW_MS / 60000)} min ago`;
  const to = svg("text", { x: width - 4, y: height - 4, class: "axis", "text-anchor": "end" });
  to.textContent = "now";
  nodes.push(from, to);
  keys.forEach((k, i) => {
    const points = series[k]
      .filter((p) => p.at >= start)
      .map((p) => {
        const x = ((p.at - start) / CHART_WINDOW_MS) * width;
        const y = height - (p.rate / max) * height;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
    nodes.push(svg("polyline", {
      points: points.join(" "),
      class: i === 0 ? "series in" : "series out",
      "data-series": k,
    }));
    const last = series[k][series[k].length - 1];
    const output = figure.querySelector(`output[data-rate="${k}"]`);
    output.textContent = last ? perSecond(last.rate, isBytes) : DASH;
    output.setAttribute("data-value", last ? String(last.rate) : "");
  });
  canvas.replaceChildren(...nodes);
  canvas.setAttribute("data-samples", String(series[keys[0]].length));
}
