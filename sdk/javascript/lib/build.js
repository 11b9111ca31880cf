// A plugin build: bundle the source (./bundle.js), turn it into a component for one world of
// wit/ with componentize-js (StarlingMonkey, SpiderMonkey's embedding, snapshotted by Wizer),
// and write it where the broker loads it from.

import { componentize } from "@bytecodealliance/componentize-js";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { bundle } from "./bundle.js";

/** Plugin kinds: each is a world of the same name in wit/worlds.wit. */
export const KINDS = ["codec", "router", "filter"];

// Every WASI-backed feature of the engine off: the host grants plugins no stdio, randomness,
// clocks or HTTP anyway (see wit/worlds.wit), and without them the component imports only what
// its world offers. Costs: console.* output is gone (use the SDK's log), Math.random is
// deterministic, setTimeout/setInterval trap, and Date.now() is frozen at the build's moment;
// time comes from the `clock` import.
const DISABLED_FEATURES = ["stdio", "random", "clocks", "http", "fetch-event"];

/**
 * Builds `source` (a JavaScript ES module) into the component `out` for world `kind`, against
 * the WIT package in directory `wit`. Returns the component's size and the host interfaces it
 * imports.
 */
export async function build({ kind, source, out, wit }) {
  if (!KINDS.includes(kind)) {
    throw new Error(`unknown plugin kind ${JSON.stringify(kind)}: one of ${KINDS.join(", ")}`);
  }
  const jsSource = await bundle(source);
  const { component, imports } = await componentize(jsSource, {
    sourceName: basename(source),
    witPath: resolve(wit),
    worldName: kind,
    disableFeatures: DISABLED_FEATURES,
  });
  // Written beside the target and renamed over it, so that a broker reloading on SIGHUP never
  // reads half a component.
  const target = resolve(out);
  await mkdir(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  await writeFile(partial, component);
  await rename(partial, target);
  // componentize-js lists functions; the interfaces are what an operator checks against the world.
  const interfaces = new Set(imports.map(([iface]) => iface)
    .filter((iface) => !iface.startsWith("[export]")));
  return { bytes: component.length, imports: [...interfaces] };
}
