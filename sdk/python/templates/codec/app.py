"""A Sluice codec in Python: a line echo server. Every line a client sends (ended by `\\n`)
comes back to it; the line `quit` closes the connection.

Build (from the repository root; `pip install componentize-py==0.25.1` is the only
prerequisite):

    sdk/python/sluice-build-py codec app.py my-codec.wasm

Serve it on a listener (`wit/codec.wit` says how the host drives a connection):

    [listeners.echo]
    address = "127.0.0.1:7000"
    codec = "/path/to/my-codec.wasm"

componentize-py exports the class `Protocol` here as the component's `protocol` interface,
and takes the `connection` resource's class from the module named after the interface:
`Connection` in protocol.py, one instance per accepted socket.
"""

from wit_world import exports
from wit_world.imports import types


class Protocol(exports.Protocol):
    def info(self) -> types.PluginInfo:
        return types.PluginInfo(name="template-codec", version="0.1.0")
