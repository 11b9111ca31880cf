"""A bounded cache of what a plugin compiled from its configuration text.

The host passes a filter's or router's `config` with every batch, the same text each time
(see `wit/filter.wit`), so a plugin compiles it once and looks it up after. Compiling is the
plugin's own (a regex, a list of names); the cache keeps the most recently used results and
turns a compile error into the `Err` the host expects from `check` and `apply`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, TypeVar

from componentize_py_types import Err

T = TypeVar("T")

# Configurations kept at once. An operator attaches a filter to a handful of addresses and
# queues; sixteen covers that, and a seventeenth is merely compiled again when it comes back.
CONFIGS_MAX = 16


class ConfigError(ValueError):
    """Raised by a compile function: the configuration is wrong, and the message says how, in
    words for the operator or client who wrote it."""


class ConfigCache(Generic[T]):
    """`compile(config)` results by configuration text, least recently used evicted first.
    `compile` raises `ConfigError` (or `ValueError`) for a bad configuration; that is never
    kept, so fixing the text takes effect at once."""

    def __init__(self, compile: Callable[[str], T], configs_max: int = CONFIGS_MAX) -> None:
        if configs_max < 1:
            raise ValueError("configs_max must be at least 1")
        self._compile = compile
        self._configs_max = configs_max
        self._entries: OrderedDict[str, T] = OrderedDict()

    def get(self, config: str) -> T:
        """The compiled form of `config`; raises `Err(reason)` when it does not compile, which
        componentize-py returns to the host as the call's error."""
        if config in self._entries:
            self._entries.move_to_end(config)
            return self._entries[config]
        try:
            compiled = self._compile(config)
        except ValueError as e:
            raise Err(str(e)) from None
        self._entries[config] = compiled
        if len(self._entries) > self._configs_max:
            self._entries.popitem(last=False)
        return compiled

    def check(self, config: str) -> None:
        """`check`'s body: compiles `config` (keeping it for the `apply` calls that follow)
        and raises `Err(reason)` when it does not compile."""
        self.get(config)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, config: str) -> bool:
        return config in self._entries
