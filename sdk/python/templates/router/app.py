"""A Sluice router in Python: round robin over the address's anycast queues, and to the log
partition of the key (murmur2, as Kafka's Java client) or round robin without a key.

Build (from the repository root; `pip install componentize-py==0.25.1` is the only
prerequisite):

    sdk/python/sluice-build-py router app.py my-router.wasm

Load it and choose it per address (`wit/router.wit` says what the host passes in):

    [[plugins.load]]
    name = "my-router"
    kind = "router"
    source = "/path/to/my-router.wasm"

    [[address-settings]]
    match = "orders.#"
    router = "my-router"

The class must be called `Routing` and subclass the generated protocol: componentize-py
exports it as the component's `routing` interface.
"""

from wit_world import exports
from wit_world.exports import routing
from wit_world.imports import types

from sluice_sdk.partition import partition_for, round_robin


class Routing(exports.Routing):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(name="template-router", version="0.1.0")

    def route(self, address: routing.AddressView,
              messages: list[routing.MessageView]) -> list[routing.Placement]:
        # Counting from the host's `sequence` rather than a counter of our own keeps the
        # rotation going across a swap or a restart of this plugin.
        queues = len(address.queues)
        placements = []
        for i, message in enumerate(messages):
            partition = partition_for(message.key, address.sequence, i, address.partitions)
            targets = []
            if queues:
                index = round_robin(address.sequence, i, queues)
                targets.append(routing.QueueTarget(queue=index, consumer=None))
            placements.append(routing.Placement(partition=partition, queues=targets))
        return placements
