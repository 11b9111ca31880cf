"""`redact-json`: blanks out named fields of JSON bodies, wherever they are nested, before
anyone stores or reads them. The Rust and JavaScript examples implement the same filter.

- Configuration: field names separated by commas (`password, ssn`; spaces around a name are
  ignored). At least one is required ("name at least one field"). A name is a member key as
  written, dots and all: nothing is a path.
- A message whose body parses as JSON has the value of every object member whose key is one
  of the names replaced by the string "[REDACTED]", at any depth: in nested objects and in
  arrays. If any was replaced, the message is rewritten with the new body, written compactly;
  its key, headers and timestamp are unchanged. Otherwise it is kept as it came.
- A body that is not JSON (see `sluice_sdk.messages.body_json`: strict JSON, UTF-8, at most
  128 deep) and a message without a body are kept.

Build: `bash examples/python/build.sh`, or just this one:

    sdk/python/sluice-build-py filter examples/python/redact-json/app.py redact-json.wasm

    [[plugins.load]]
    name = "redact-json"
    kind = "filter"
    source = "target/examples/python/redact-json.wasm"

    [[address-settings]]
    match = "signups"
    publish-filter = { plugin = "redact-json", config = "password, ssn" }
"""

from typing import Any

from wit_world import exports
from wit_world.imports import types

from sluice_sdk.configs import ConfigCache, ConfigError
from sluice_sdk.messages import body_json, with_json_body
from sluice_sdk.verdicts import keep, rewrite

# What a redacted member's value becomes.
REDACTED = "[REDACTED]"


def field_names(config: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in config.split(",")) - {""}
    if not names:
        raise ConfigError("name at least one field")
    return names


fields: ConfigCache[frozenset[str]] = ConfigCache(field_names)


def redact(tree: Any, names: frozenset[str]) -> int:
    """Replaces, in place, the value of every member named in `names` at any depth; returns
    how many were replaced. A replaced value is not looked into: it is gone."""
    replaced = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in names:
                    node[key] = REDACTED
                    replaced += 1
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return replaced


class Filtering(exports.Filtering):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(name="redact-json", version="0.1.0")

    def check(self, config: str) -> None:
        fields.check(config)

    def apply(self, config: str, messages: list[types.Message]) -> list:
        names = fields.get(config)
        verdicts = []
        for message in messages:
            tree = body_json(message)
            if tree is not None and redact(tree, names):
                verdicts.append(rewrite(with_json_body(message, tree)))
            else:
                verdicts.append(keep())
        return verdicts
