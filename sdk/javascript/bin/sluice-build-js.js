#!/usr/bin/env node
// sluice-build-js: one command from a JavaScript plugin to a component the broker loads.
//
//   sluice-build-js <codec|router|filter> <source.js> <out.wasm> [--wit DIR]
//
// --wit defaults to the wit/ directory of the Sluice tree this SDK sits in
// (sdk/javascript/../../wit).
// A build takes about 30 s of one core and writes a component of about 12 MB.

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build, KINDS } from "../lib/build.js";

const DEFAULT_WIT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "wit");
const USAGE = `usage: sluice-build-js <${KINDS.join("|")}> <source.js> <out.wasm> [--wit DIR]`;

function parse(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { wit: { type: "string", default: DEFAULT_WIT }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (positionals.length !== 3) throw new Error(USAGE);
  const [kind, source, out] = positionals;
  return { kind, source, out, wit: values.wit };
}

try {
  const request = parse(process.argv.slice(2));
  const started = Date.now();
  const { bytes, imports } = await build(request);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${request.out}: ${request.kind} component, ${(bytes / 1048576).toFixed(1)} MiB, ` +
    `built in ${seconds} s; imports ${imports.join(", ") || "nothing"}`);
} catch (e) {
  console.error(`sluice-build-js: ${e.message ?? e}`);
  process.exit(1);
}
