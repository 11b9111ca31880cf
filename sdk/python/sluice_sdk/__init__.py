"""Helpers for Sluice plugins written in Python and built with componentize-py.

Plugin code runs inside the component, next to the bindings componentize-py generates for
the plugin's world (the `wit_world` package). These modules wrap the parts every plugin
repeats; each imports only what its world has, so import the one you need:

- `sluice_sdk.log`: lines to the broker's log (every world).
- `sluice_sdk.messages`: header lookup, body as text or JSON, a message with a new body.
- `sluice_sdk.verdicts`: `keep()`, `drop()`, `rewrite(message)` (filters).
- `sluice_sdk.configs`: a bounded cache of what a plugin compiled from its `config` text.
- `sluice_sdk.partition`: the Java client's murmur2 partitioner and round robin (routers).
- `sluice_sdk.codec`: building an `output`, splitting a byte stream into lines (codecs).

Errors a plugin returns to the host (`result<_, string>` in the WIT) are raised as
`componentize_py_types.Err("reason")`; the host logs the reason or hands it to the client.
"""

# Follows the WIT package it is written against (sluice:plugin@0.5.0).
__version__ = "0.5.0"
