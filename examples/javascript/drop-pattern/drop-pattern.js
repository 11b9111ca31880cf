// drop-pattern: drops every message whose body, read as UTF-8 (invalid sequences replaced),
// contains a match of the regular expression given as the filter's configuration. Tombstones
// (no body) and everything else are kept. The same filter exists in Rust and Python beside this
// directory; patterns use JavaScript's RegExp syntax (with the `u` flag).
//
//   publish-filter = { plugin = "drop-pattern", config = "secret|forbidden" }

import { ConfigCache, bodyText, drop, errorText, fail, keep } from "sluice-sdk";

// The host passes the configuration with every batch; compiling it once per text is enough.
const patterns = new ConfigCache(compile);

function compile(config) {
  if (config === "") throw "a pattern is required";
  // `u`: the pattern and the body are read as Unicode code points, as Rust's and Python's are.
  return new RegExp(config, "u");
}

export const filtering = {
  info() {
    return { name: "drop-pattern-js", version: "0.1.0" };
  },

  check(config) {
    try {
      patterns.get(config);
    } catch (e) {
      return fail(errorText(e));
    }
  },

  apply(config, messages) {
    let pattern;
    try {
      pattern = patterns.get(config);
    } catch (e) {
      return fail(errorText(e));
    }
    return messages.map((message) => {
      const body = bodyText(message);
      return body !== undefined && pattern.test(body) ? drop() : keep();
    });
  },
};
