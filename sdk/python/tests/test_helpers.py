"""The SDK's helpers, on the host: what plugins rely on them for."""

from __future__ import annotations

import pytest


def message(value, headers=()):
    from wit_world.imports import types
    return types.Message(key=b"k", value=value,
                         headers=[types.Header(key=k, value=v) for k, v in headers],
                         timestamp_ms=1_700_000_000_000, durable=True, expiry_ms=None)


# Kafka's UtilsTest.testMurmur2 vectors (also in tests/e2e/policy_helpers.py).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_murmur2_matches_the_java_clients_hash():
    from sluice_sdk.partition import murmur2
    assert {k: murmur2(k) for k in JAVA_MURMUR2} == JAVA_MURMUR2


def test_keyless_messages_rotate_from_the_addresss_sequence():
    from sluice_sdk.partition import partition_for
    assert [partition_for(None, 7, i, 3) for i in range(4)] == [1, 2, 0, 1]
    assert partition_for(b"abc", 7, 0, 0) is None, "no partitions: not to the log"


def test_header_lookup_is_by_exact_name_and_a_valueless_header_reads_empty():
    from sluice_sdk.messages import has_header, header, header_text
    m = message(b"x", [("Drop", b"1"), ("drop", None), ("t", b"\xffok")])
    assert header(m, "drop") == b""
    assert header(m, "Drop") == b"1"
    assert header(m, "missing") is None
    assert header_text(m, "t") == "\ufffdok"
    assert has_header(m, "drop") and not has_header(m, "DROP")


def test_body_json_reads_strict_json_only():
    from sluice_sdk.messages import body_json
    assert body_json(message(b'{"a":[1,{"b":null}]}')) == {"a": [1, {"b": None}]}
    for not_json in (b"NaN", b'{"a": Infinity}', b"{'a': 1}", b"\xff{}", b"", None):
        assert body_json(message(not_json)) is None, not_json


def test_body_json_refuses_nesting_deeper_than_serde_json_does():
    from sluice_sdk.messages import JSON_DEPTH_MAX, body_json
    assert body_json(message(b"[" * JSON_DEPTH_MAX + b"]" * JSON_DEPTH_MAX)) is not None
    deeper = JSON_DEPTH_MAX + 1
    assert body_json(message(b"[" * deeper + b"]" * deeper)) is None
    assert body_json(message(b"[" * 100_000 + b"]" * 100_000)) is None
    brackets_in_a_string = b'{"a": "' + b"[{" * 200 + b'\\\\", "b": [1]}'
    assert body_json(message(brackets_in_a_string)) == {"a": "[{" * 200 + "\\", "b": [1]}


def test_a_json_body_is_rewritten_compactly_and_everything_else_is_kept():
    from sluice_sdk.messages import with_json_body
    m = message(b"{}", [("h", b"v")])
    out = with_json_body(m, {"name": "Zoë", "n": [1, 2.5]})
    assert out.value == '{"name":"Zoë","n":[1,2.5]}'.encode()
    assert (out.key, out.headers, out.timestamp_ms, out.durable) == (
        m.key, m.headers, m.timestamp_ms, m.durable)


def test_a_new_body_keeps_every_header():
    from sluice_sdk.messages import with_body
    headers = [("amqp.body", b"\x00\x53\x77\xa1\x03old"), ("h", b"v")]
    out = with_body(message(b"old", headers), b"new")
    assert out.value == b"new"
    assert [(h.key, h.value) for h in out.headers] == headers


def test_the_config_cache_compiles_once_and_evicts_the_least_recently_used():
    from sluice_sdk.configs import ConfigCache
    compiled = []

    def compile(text):
        compiled.append(text)
        return text.upper()

    cache = ConfigCache(compile, configs_max=2)
    assert cache.get("a") == "A" and cache.get("a") == "A"
    cache.get("b")
    cache.get("a")          # "a" is now the most recent
    cache.get("c")          # so "b" goes
    assert "a" in cache and "c" in cache and "b" not in cache
    assert compiled == ["a", "b", "c"]


def test_a_config_that_does_not_compile_is_an_err_with_the_reason_and_is_not_kept():
    from componentize_py_types import Err
    from sluice_sdk.configs import ConfigCache, ConfigError

    def compile(text):
        raise ConfigError(f"bad: {text}")

    cache = ConfigCache(compile)
    with pytest.raises(Err) as refused:
        cache.check("x")
    assert refused.value.value == "bad: x"
    assert len(cache) == 0


def test_lines_are_reassembled_across_chunks_and_an_endless_line_is_refused():
    from componentize_py_types import Err
    from sluice_sdk.codec import LineBuffer
    lines = LineBuffer(line_bytes_max=8)
    assert lines.feed(b"he") == []
    assert lines.feed(b"llo\r\nwor") == [b"hello"]
    assert lines.feed(b"ld\n\n") == [b"world", b""]
    with pytest.raises(Err) as refused:
        lines.feed(b"123456789")
    assert "longer than 8 bytes" in refused.value.value.reason
