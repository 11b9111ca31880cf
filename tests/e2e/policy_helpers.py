"""Shared by the router, filter, delivery-policy and plugin-swap tests: address settings and
plugin declarations in TOML, the admin API's plugin list, and AMQP messages with the fields
the policies read."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from proton import Message, symbol

from conftest import Broker, toml_value

# Kafka's own murmur2 vectors (UtilsTest.testMurmur2): the hash the Java client's default
# partitioner takes of a key. A key's partition is toPositive(hash) % partitions.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def java_partition(key: bytes, partitions: int) -> int:
    return (JAVA_MURMUR2[key] & 0x7FFFFFFF) % partitions


def settings(match: str, **values) -> str:
    """An `[[address-settings]]` rule; a dict value becomes an inline table."""
    lines = ["", "[[address-settings]]", f"match = {toml_value(match)}"]
    for k, v in values.items():
        key = k.replace("_", "-")
        if isinstance(v, dict):
            inner = ", ".join(f"{ik} = {toml_value(iv)}" for ik, iv in v.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {toml_value(v)}")
    return "\n".join(lines) + "\n"


def plugin(name: str, kind: str, source, **values) -> str:
    """A `[[plugins.load]]` entry."""
    lines = ["", "[[plugins.load]]", f"name = {toml_value(name)}", f"kind = {toml_value(kind)}",
             f"source = {toml_value(source)}"]
    lines += [f"{k.replace('_', '-')} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def plugins(broker: Broker) -> list[dict]:
    with urllib.request.urlopen(f"{broker.admin_url}/api/plugins", timeout=5) as resp:
        assert resp.status == 200, f"GET /api/plugins: {resp.status}"
        return json.load(resp)


def plugin_status(broker: Broker, kind: str, name: str) -> dict:
    found = [p for p in plugins(broker) if p["kind"] == kind and p["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {found}"
    return found[0]


def wait_plugin(broker: Broker, kind: str, name: str, timeout_s: float = 30.0,
                **expected) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        p = plugin_status(broker, kind, name)
        if all(p.get(k) == v for k, v in expected.items()):
            return p
        if time.monotonic() > deadline:
            pytest.fail(f"{kind} {name} after {timeout_s}s: {p}; expected {expected}",
                        pytrace=False)
        time.sleep(0.1)


def keyed(body: str, key: str) -> Message:
    """A message whose record key (Kafka's partitioning key) is `key`."""
    return Message(body=body, annotations={symbol("x-opt-partition-key"): key})


def with_props(body: str, **props) -> Message:
    return Message(body=body, properties=props)
