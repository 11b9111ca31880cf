// A filter (world `filter`, wit/filter.wit): keeps every message except those carrying a
// header named `drop`, whatever its value. The host calls `apply` once per batch.
//
// Build: npm run build   (writes filter.wasm; see docs/sdk-javascript.md)

import { drop, hasHeader, keep } from "sluice-sdk";

export const filtering = {
  info() {
    return { name: "template-filter-js", version: "0.1.0" };
  },

  // This filter takes no configuration: any text is accepted and ignored.
  check(_config) {},

  apply(_config, messages) {
    return messages.map((message) => (hasHeader(message, "drop") ? drop() : keep()));
  },
};
