"""A Sluice filter in Python: keeps every message except those carrying a header `drop`.

Build (from the repository root; `pip install componentize-py==0.25.1` is the only
prerequisite):

    sdk/python/sluice-build-py filter app.py my-filter.wasm

Load it (broker config), then attach it on publish, on delivery or to a queue:

    [[plugins.load]]
    name = "my-filter"
    kind = "filter"
    source = "/path/to/my-filter.wasm"

    [[address-settings]]
    match = "orders.#"
    publish-filter = { plugin = "my-filter", config = "" }

The class must be called `Filtering` and subclass the generated protocol: componentize-py
exports it as the component's `filtering` interface (`wit/filter.wit`).
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from sluice_sdk import log
from sluice_sdk.messages import has_header
from sluice_sdk.verdicts import drop, keep

# The header whose presence drops a message; its value does not matter.
DROP_HEADER = "drop"


class Filtering(exports.Filtering):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(name="template-filter", version="0.1.0")

    def check(self, config: str) -> None:
        # This filter takes no configuration; refusing any makes a typo visible where it is set.
        if config.strip():
            log.warn(f"configuration refused: {config!r}")
            raise Err("template-filter takes no configuration")

    def apply(self, config: str, messages: list[types.Message]) -> list:
        return [drop() if has_header(m, DROP_HEADER) else keep() for m in messages]

