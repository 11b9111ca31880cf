// redact-json: in a JSON body, replaces the value of every object member named in the filter's
// configuration, at any depth (inside nested objects and arrays), with the string "[REDACTED]",
// and stores or delivers the message rewritten. Only the body changes; key, headers and times
// stay. A body that is not JSON, or names none of the fields, is kept as it is, and so is a
// tombstone. The same filter exists in Rust and Python beside this directory.
//
//   publish-filter = { plugin = "redact-json", config = "password, ssn" }

import { ConfigCache, bodyJson, errorText, fail, keep, rewrite, withJsonBody } from "sluice-sdk";

const REDACTED = "[REDACTED]";

// Field-name sets by configuration text (parsing is cheap, but the host sends the same text
// with every batch, so there is no reason to redo it).
const fieldSets = new ConfigCache(parseFields);

/** "a, b ,c" → Set {a, b, c}; whitespace around names is not part of them. */
function parseFields(config) {
  const names = config.split(",").map((name) => name.trim()).filter((name) => name !== "");
  if (names.length === 0) throw "name at least one field";
  return new Set(names);
}

/** Redacts `value` in place; returns how many members it replaced. */
function redact(value, fields) {
  if (Array.isArray(value)) {
    return value.reduce((n, item) => n + redact(item, fields), 0);
  }
  if (value === null || typeof value !== "object") return 0;
  let replaced = 0;
  for (const [name, member] of Object.entries(value)) {
    if (fields.has(name)) {
      // Defined rather than assigned: assigning to a member named "__proto__" would try to set
      // the object's prototype instead of replacing the member JSON.parse made.
      Object.defineProperty(value, name, { value: REDACTED, enumerable: true, writable: true });
      replaced += 1;
    } else {
      replaced += redact(member, fields);
    }
  }
  return replaced;
}

export const filtering = {
  info() {
    return { name: "redact-json-js", version: "0.1.0" };
  },

  check(config) {
    try {
      fieldSets.get(config);
    } catch (e) {
      return fail(errorText(e));
    }
  },

  apply(config, messages) {
    let fields;
    try {
      fields = fieldSets.get(config);
    } catch (e) {
      return fail(errorText(e));
    }
    return messages.map((message) => {
      const document = bodyJson(message);
      if (document === undefined || redact(document, fields) === 0) return keep();
      return rewrite(withJsonBody(message, document));
    });
  },
};
