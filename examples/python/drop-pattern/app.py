"""`drop-pattern`: drops every message whose body matches a regular expression, and keeps
the rest. The Rust and JavaScript examples implement the same filter.

- Configuration: the pattern, in Python's `re` syntax. An empty one is refused ("a pattern is
  required"), and so is one that does not compile (with `re`'s own message).
- A message is dropped when its body, read as UTF-8 with every invalid sequence replaced by
  U+FFFD, contains a match anywhere (`re.search`; anchor with `^...$` for the whole body). A
  message without a body (a Kafka tombstone) is kept.

Build: `bash examples/python/build.sh` (all examples), or just this one:

    sdk/python/sluice-build-py filter examples/python/drop-pattern/app.py drop-pattern.wasm

    [[plugins.load]]
    name = "drop-pattern"
    kind = "filter"
    source = "target/examples/python/drop-pattern.wasm"

    [[address-settings]]
    match = "logs.#"
    publish-filter = { plugin = "drop-pattern", config = "(?i)debug|trace" }
"""

import re

from wit_world import exports
from wit_world.imports import types

from sluice_sdk.configs import ConfigCache, ConfigError
from sluice_sdk.messages import body_text
from sluice_sdk.verdicts import drop, keep

# Python's `re` backtracks, so a pattern like `(a+)+$` can take exponential time on a hostile
# body; the host's `call-deadline-ms` ends such a call (the batch is held and the instance
# restarted). Bodies are not cut here: matching part of a body would keep messages the
# operator meant to drop.


def compile_pattern(config: str) -> re.Pattern:
    if not config:
        raise ConfigError("a pattern is required")
    try:
        return re.compile(config)
    except re.error as e:
        raise ConfigError(str(e)) from None


patterns: ConfigCache[re.Pattern] = ConfigCache(compile_pattern)


class Filtering(exports.Filtering):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(name="drop-pattern", version="0.1.0")

    def check(self, config: str) -> None:
        patterns.check(config)

    def apply(self, config: str, messages: list[types.Message]) -> list:
        pattern = patterns.get(config)
        verdicts = []
        for message in messages:
            text = body_text(message)
            verdicts.append(drop() if text is not None and pattern.search(text) else keep())
        return verdicts
