// How numbers, sizes, times and lists read on the page.

export const DASH = "–";

export function count(n) {
  return typeof n === "number" ? String(n) : DASH;
}

export function bytes(n) {
  if (typeof n !== "number") return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function perSecond(n, isBytes) {
  if (typeof n !== "number") return DASH;
  if (isBytes) return `${bytes(Math.round(n))}/s`;
  return n >= 100 ? `${Math.round(n)}/s` : `${n.toFixed(1)}/s`;
}

export function duration(seconds) {
  if (typeof seconds !== "number" || seconds < 0) return DASH;
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function since(ms) {
  if (typeof ms !== "number") return DASH;
  return `${new Date(ms).toLocaleString()} (${duration((Date.now() - ms) / 1000)} ago)`;
}

export function yesNo(b) {
  if (typeof b !== "boolean") return DASH;
  return b ? "yes" : "no";
}

export function list(values) {
  return Array.isArray(values) && values.length > 0 ? values.join(", ") : DASH;
}
