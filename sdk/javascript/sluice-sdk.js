// Helpers for Sluice plugins written in JavaScript: what a filter, router or codec needs again and
// again, on top of the bindings componentize-js generates from wit/. `sluice-build-js` bundles this
// module into every component that imports "sluice-sdk", so it runs inside the sandbox: it may use
// only the JavaScript language, TextEncoder/TextDecoder, and the host's `log` and `clock` imports.
//
// How WIT values look in JavaScript (componentize-js 0.23):
//   message        { key, value, headers, timestampMs, durable, expiryMs }
//                  key, value: Uint8Array or undefined (`none`; a value of `none` is a tombstone)
//                  headers: [{ key: string, value: Uint8Array | undefined }]
//                  timestampMs: bigint; expiryMs: bigint or undefined; durable: boolean
//   u64, s64       bigint (router `sequence`, connection `id`, wait tokens)
//   variant        { tag: "name" } or { tag: "name", val }
//   result<T, E>   a returned value is `ok`; `{ tag: "err", val }` (see `fail`) is `err`.
//                  Throwing a non-Error value is `err` too, but throwing an Error (a bug, the
//                  SyntaxError of `new RegExp`) TRAPS: the host discards the instance and
//                  restarts it with backoff.
//                  So catch what you expect and return `fail(...)`.

import { nowMs as hostNowMs } from "sluice:plugin/clock@0.5.0";
import { log as hostLog } from "sluice:plugin/log@0.5.0";

// --- results -----------------------------------------------------------------------------------

/** The `err` case of a `result<_, string>` (filter `check`/`apply`, router `route`). */
export function fail(reason) {
  return { tag: "err", val: String(reason) };
}

/** The `err` case of a codec call: the host logs `reason` and closes this connection only. */
export function codecError(reason) {
  return { tag: "err", val: { reason: String(reason) } };
}

/** The text of a caught exception, for `fail`: an Error's message, anything else as text. */
export function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

// --- filter verdicts ---------------------------------------------------------------------------

const KEEP = Object.freeze({ tag: "keep" });
const DROP = Object.freeze({ tag: "drop" });

/** Keep the message as it is. */
export function keep() {
  return KEEP;
}

/** Drop the message (on publish: not stored; on delivery: taken off the queue). */
export function drop() {
  return DROP;
}

/** Replace the message with `message` (a whole message: see `withBody` to change only the body). */
export function rewrite(message) {
  return { tag: "rewrite", val: message };
}

// --- bytes and bodies --------------------------------------------------------------------------

const encoder = new TextEncoder();
// Lenient: invalid UTF-8 becomes U+FFFD, so a pattern still sees the readable parts of a body.
const lenientDecoder = new TextDecoder("utf-8");
// Strict: JSON must be valid UTF-8 (as Rust's serde_json and Python's json insist), and a byte
// order mark is kept so that JSON.parse refuses it as they do.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text`. */
export function utf8(text) {
  return encoder.encode(text);
}

/** `bytes` read as UTF-8, invalid sequences replaced by U+FFFD; undefined for undefined. */
export function text(bytes) {
  return bytes === undefined ? undefined : lenientDecoder.decode(bytes);
}

/** The body as text (invalid UTF-8 replaced), or undefined for a tombstone (no value). */
export function bodyText(message) {
  return text(message.value);
}

/**
 * The body parsed as JSON, or undefined when there is none (a tombstone) or it is not JSON
 * (invalid UTF-8 included). JSON never parses to undefined, so undefined is unambiguous.
 */
export function bodyJson(message) {
  if (message.value === undefined) return undefined;
  try {
    return JSON.parse(strictDecoder.decode(message.value));
  } catch {
    return undefined;
  }
}

/** A copy of `message` with the body `body` (bytes, or text stored as UTF-8); all else kept. */
export function withBody(message, body) {
  return { ...message, value: typeof body === "string" ? utf8(body) : body };
}

/** A copy of `message` whose body is `value` as compact JSON. */
export function withJsonBody(message, value) {
  return withBody(message, JSON.stringify(value));
}

// --- headers -----------------------------------------------------------------------------------
// Work on filter messages and router message views alike. Names match exactly (Kafka header keys
// are case-sensitive); with a name given twice, the first wins, as the built-in filters read them.

/** The first header named `name`, `{ key, value }`, or undefined. */
export function findHeader(message, name) {
  return message.headers.find((h) => h.key === name);
}

/** Whether a header named `name` is present (with or without a value). */
export function hasHeader(message, name) {
  return findHeader(message, name) !== undefined;
}

/** The value of header `name` as bytes; undefined when absent or present without a value. */
export function headerBytes(message, name) {
  return findHeader(message, name)?.value;
}

/** The value of header `name` as text (invalid UTF-8 replaced); undefined as `headerBytes`. */
export function headerText(message, name) {
  return text(headerBytes(message, name));
}

// --- partitions --------------------------------------------------------------------------------

/**
 * Kafka's murmur2 of `bytes` (org.apache.kafka.common.utils.Utils.murmur2), a signed 32-bit
 * number: the hash the Java client's default partitioner and the built-in `key-hash` router use.
 */
export function murmur2(bytes) {
  const m = 0x5bd1e995;
  const length = bytes.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  switch (length & 3) {
    case 3: h ^= bytes[whole + 2] << 16; // falls through
    case 2: h ^= bytes[whole + 1] << 8; // falls through
    case 1: h ^= bytes[whole]; h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's Java producer picks for `key` among `partitions`. */
export function keyPartition(key, partitions) {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

// --- configuration cache -----------------------------------------------------------------------

/**
 * Configurations kept compiled at once. The host passes an attachment's configuration text with
 * every batch; one instance serves every address and queue the plugin is attached to, and 16
 * covers what one broker attaches in practice. A 17th is just compiled again when it returns.
 */
export const CONFIG_CACHE_ENTRIES_MAX = 16;

/**
 * What `compile(config)` made of each configuration text, the least recently used dropped first
 * beyond `entriesMax`. A `compile` that throws caches nothing and the exception reaches the
 * caller, so `check` can report it.
 */
export class ConfigCache {
  #compile;
  #entriesMax;
  // A Map iterates in insertion order: re-inserting on use keeps the oldest first.
  #entries = new Map();

  constructor(compile, entriesMax = CONFIG_CACHE_ENTRIES_MAX) {
    if (!(entriesMax >= 1)) throw new RangeError("entriesMax must be at least 1");
    this.#compile = compile;
    this.#entriesMax = entriesMax;
  }

  /** The compiled form of `config`, compiled now if it is not kept. */
  get(config) {
    if (this.#entries.has(config)) {
      const compiled = this.#entries.get(config);
      this.#entries.delete(config);
      this.#entries.set(config, compiled);
      return compiled;
    }
    const compiled = this.#compile(config);
    if (this.#entries.size >= this.#entriesMax) {
      this.#entries.delete(this.#entries.keys().next().value);
    }
    this.#entries.set(config, compiled);
    return compiled;
  }

  /** Configurations kept. */
  get size() {
    return this.#entries.size;
  }
}

// --- logging -----------------------------------------------------------------------------------

/**
 * The broker's log, tagged with the plugin's name and version. The host may drop lines past
 * `log-lines-per-second-max` and cuts a line at 4 KiB; `console.log` goes nowhere.
 */
export const log = Object.freeze({
  trace: (message) => hostLog("trace", String(message)),
  debug: (message) => hostLog("debug", String(message)),
  info: (message) => hostLog("info", String(message)),
  warn: (message) => hostLog("warn", String(message)),
  error: (message) => hostLog("error", String(message)),
});

// --- time ------------------------------------------------------------------------------------

/**
 * The broker's wall clock, milliseconds since the Unix epoch, as a bigint (compare it with
 * `timestampMs` and `expiryMs`). The engine's own clocks are off: `Date.now()` answers the
 * moment the component was built, frozen in its snapshot.
 */
export function nowMs() {
  return hostNowMs();
}

// --- codecs ------------------------------------------------------------------------------------

/** A codec's `output` record, every field defaulted: nothing written, no waits, keep reading. */
export function output({ write = new Uint8Array(0), waits = [], close = undefined,
  pauseInput = false } = {}) {
  return { write, waits, close, pauseInput };
}
