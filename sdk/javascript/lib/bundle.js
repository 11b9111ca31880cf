// Step 1 of a build: the plugin's entry module and everything it imports, as the one ES module
// componentize-js accepts. componentize-js does follow relative imports, but only below one
// directory (the working directory, or else the entry's own, which it maps as the guest's "/"
// while it snapshots), so a plugin copied elsewhere could not reach this SDK. Rolldown resolves
// the module graph on the host instead, where every path is reachable, and "sluice-sdk" names
// this SDK wherever the plugin lives.

import { rolldown } from "rolldown";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The helper library plugins import as "sluice-sdk". */
export const SDK_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), "..", "sluice-sdk.js");

// Interfaces the component imports from its host: left as imports for componentize-js to bind.
const HOST_IMPORTS = /^(sluice|wasi):/;

/** The source of one ES module holding `entryPath` and all it imports but the host's interfaces. */
export async function bundle(entryPath) {
  const build = await rolldown({
    input: resolve(entryPath),
    // Neither Node's nor the browser's built-ins exist in the sandbox.
    platform: "neutral",
    external: (id) => HOST_IMPORTS.test(id),
    resolve: { alias: { "sluice-sdk": SDK_MODULE } },
    logLevel: "warn",
  });
  try {
    const { output } = await build.generate({ format: "esm", codeSplitting: false });
    const chunks = output.filter((item) => item.type === "chunk");
    if (chunks.length !== 1 || output.length !== 1) {
      throw new Error(`bundling ${entryPath} made ${output.length} files, expected one module ` +
        "(dynamic import() cannot be componentized)");
    }
    return chunks[0].code;
  } finally {
    await build.close();
  }
}
