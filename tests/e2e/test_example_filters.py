"""The example filters of every SDK (issue 7), built from the registries and loaded into a live
broker: `drop-pattern` and `redact-json` in Rust, Python and JavaScript behave identically
(examples/<language>/, built into target/examples/<language>/ by each language's build.sh).

One broker per language (compiling a Python or JavaScript component takes tens of seconds),
loading:
- `drop-pattern` as itself and as `selector`, which replaces the built-in selector filter on
  that broker: a consumer's selector is then a regular expression, the place where a check()
  error reaches a client;
- `redact-json`;
and address settings that attach them, some with configurations check() refuses, which the
broker reports at startup (the place where a check() error reaches the operator).

Artifacts: $SLUICE_EXAMPLES_DIR (default target/examples)/<language>/<name>.wasm; a missing
one fails the test.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from proton import Message, symbol
from proton.reactor import Selector

from amqp_clients import (assert_nothing_arrives, bodies, connection, declared, module_broker,
                          receiver, send_to, take_accept, wait_queue)
from clients import consume_all, create_topic
from conftest import TARGET, unique
from policy_helpers import plugin, settings

LANGUAGES = ["rust", "python", "javascript"]

DROP_CONFIG = "secret|forbidden"
REDACT_CONFIG = " password ,ssn,  card.number "
REDACTED = "[REDACTED]"

# An unclosed group: every regex flavour refuses it, each in its own words. Python's are known
# exactly (the same `re` on this machine); the others say "unclosed" (Rust's regex) or
# "unterminated" (JavaScript engines).
BAD_PATTERN = "(unclosed"
BAD_PATTERN_WORDS = re.compile(r"(?i)unclosed|unterminated")


def examples_dir() -> Path:
    return Path(os.environ.get("SLUICE_EXAMPLES_DIR") or TARGET / "examples")


def example(language: str, name: str) -> Path:
    path = examples_dir() / language / f"{name}.wasm"
    if not path.is_file():
        pytest.fail(f"{path} does not exist; build the {language} examples (bash tests/run.sh "
                    "builds every language's)",
                    pytrace=False)
    return path


def expected_regex_error(language: str, pattern: str) -> re.Pattern:
    if language == "python":
        try:
            re.compile(pattern)
        except re.error as e:
            return re.compile(re.escape(str(e)))
        raise AssertionError(f"{pattern!r} compiles in Python")
    return BAD_PATTERN_WORDS


@pytest.fixture(scope="module", params=LANGUAGES)
def language(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def broker(language, module_tmp):
    drop, redact = example(language, "drop-pattern"), example(language, "redact-json")
    extra = (plugin("drop-pattern", "filter", drop)
             + plugin("selector", "filter", drop)
             + plugin("redact-json", "filter", redact)
             + declared("drops.queue", "anycast")
             + declared("redact.queue", "anycast")
             + declared("sel.queue", "anycast")
             + settings("drops.#", publish_filter={"plugin": "drop-pattern",
                                                   "config": DROP_CONFIG})
             + settings("redact.#", delivery_filter={"plugin": "redact-json",
                                                     "config": REDACT_CONFIG})
             + settings("redacted.#", publish_filter={"plugin": "redact-json",
                                                      "config": REDACT_CONFIG})
             + settings("refused.pattern.#", publish_filter={"plugin": "drop-pattern",
                                                             "config": BAD_PATTERN})
             + settings("refused.empty.#", publish_filter={"plugin": "drop-pattern",
                                                           "config": ""})
             + settings("refused.fields.#", publish_filter={"plugin": "redact-json",
                                                            "config": " , "}))
    yield from module_broker(module_tmp / language, extra)


# -- drop-pattern ---------------------------------------------------------------------------

def data(body: bytes, **kwargs) -> Message:
    """A message whose body is one AMQP `data` section: its bytes are the record's value, what
    the filter reads and a Kafka consumer reads back. (Proton sends a plain `bytes` body as an
    `amqp-value` binary, which the AMQP codec also keeps as the `amqp.body` header.)"""
    return Message(body=body, inferred=True, **kwargs)


# (body, dropped?) under DROP_CONFIG.
DROP_CASES = [
    (b"hello", False),
    (b"top secret plan", True),
    (b"forbidden fruit", True),
    (b"Secret with a capital S", False),          # patterns are case-sensitive
    (b"\xff\xfesecret\xff", True),                # invalid UTF-8 is replaced, not refused
    (b"\xff\xfe just bytes", False),
    (b"", False),
    (b"sec ret", False),
]


def kept_bodies() -> list[bytes]:
    return [body for body, dropped in DROP_CASES if not dropped]


def test_drop_pattern_on_publish_stores_only_bodies_that_do_not_match(broker, language):
    topic = unique("drops.log")
    create_topic(broker.bootstrap, topic, 1)
    send_to(broker, f"topic://{topic}", [data(body) for body, _ in DROP_CASES])
    stored = consume_all(broker.bootstrap, topic, partitions=1)
    assert [s.record.value for s in stored] == kept_bodies(), (
        f"{language}: the log holds exactly the bodies without a match, in order")


def test_drop_pattern_on_publish_queues_only_bodies_that_do_not_match(broker, language):
    send_to(broker, "drops.queue", [data(body) for body, _ in DROP_CASES])
    wait_queue(broker, "drops.queue", messages_added=len(kept_bodies()))
    with connection(broker) as conn:
        r = receiver(conn, "drops.queue", credit=20)
        assert bodies(take_accept(r, len(kept_bodies()))) == kept_bodies()
        assert_nothing_arrives(r, why=f"{language}: matching bodies were never stored")


def test_drop_pattern_as_a_selector_hides_matching_messages_from_that_consumer(broker,
                                                                               language):
    address = "sel.queue"
    send_to(broker, address, [data(b) for b in (b"DROP me", b"keep me", b"DROP too")])
    with connection(broker) as conn:
        picky = receiver(conn, address, credit=10, options=Selector("^DROP"))
        assert bodies(take_accept(picky, 1)) == [b"keep me"]
        assert_nothing_arrives(picky, why="the selector drops bodies starting with DROP")
    with connection(broker) as conn:
        everyone = receiver(conn, address, credit=10)
        assert bodies(take_accept(everyone, 2)) == [b"DROP me", b"DROP too"], (
            "what a selector drops stays for the queue's other consumers")


def test_an_invalid_regex_selector_refuses_the_link_with_the_regex_error(broker, language):
    with connection(broker) as conn:
        with pytest.raises(Exception) as refused:
            r = receiver(conn, unique("sel.bad"), credit=1, options=Selector(BAD_PATTERN))
            r.receive(timeout=5)
    why = str(refused.value)
    assert "invalid-field" in why, why
    assert expected_regex_error(language, BAD_PATTERN).search(why), (
        f"{language}: the client is told the regex error: {why}")


def test_configurations_check_refuses_are_reported_to_the_operator_at_startup(broker,
                                                                              language):
    log = broker.log_text()
    refusals = [line for line in log.splitlines()
                if "a configured filter is refused" in line]
    by_rule = {rule: [line for line in refusals if rule in line]
               for rule in ("refused.pattern.#", "refused.empty.#", "refused.fields.#")}
    assert all(by_rule.values()), f"{language}: one warning per refused rule: {refusals}"
    assert "a pattern is required" in by_rule["refused.empty.#"][0]
    assert "name at least one field" in by_rule["refused.fields.#"][0]
    # Rust's regex errors span lines; the warning starts on the rule's line.
    start = log.index(by_rule["refused.pattern.#"][0])
    assert expected_regex_error(language, BAD_PATTERN).search(log[start:start + 2000])


# -- redact-json ----------------------------------------------------------------------------

SIGNUP = {
    "user": "ann",
    "password": "hunter2",
    "profile": {"ssn": "123-45-6789", "age": 41, "card.number": {"pan": "4111"}},
    "history": [{"password": "old"}, {"note": "password"}, [{"ssn": 1}]],
    "card": {"number": "unnamed-path"},
}
SIGNUP_REDACTED = {
    "user": "ann",
    "password": REDACTED,
    "profile": {"ssn": REDACTED, "age": 41, "card.number": REDACTED},
    "history": [{"password": REDACTED}, {"note": "password"}, [{"ssn": REDACTED}]],
    "card": {"number": "unnamed-path"},
}


def test_redact_json_on_delivery_redacts_named_fields_at_any_depth(broker, language):
    untouched = [
        b'{"user": "bob", "note": "no named field here"}',  # JSON, nothing to redact
        b"password=hunter2; not JSON",
        b"\xff\xfe{\"password\": 1}",                       # not UTF-8, so not JSON
        b"[1, 2, {\"pass\": \"word\"}]",
    ]
    signup = json.dumps(SIGNUP, indent=2)
    sent = ([data(signup.encode(), properties={"trace": "t-0"}),
             # A text body (qpid-jms's TextMessage): the AMQP codec keeps its exact encoding
             # in `amqp.body`, which must not reach receivers unredacted.
             Message(body=signup)]
            + [data(b) for b in untouched])
    send_to(broker, "redact.queue", sent)
    with connection(broker) as conn:
        r = receiver(conn, "redact.queue", credit=20)
        got = take_accept(r, len(sent))
    for i, m in enumerate(got[:2]):
        text = m.body if isinstance(m.body, str) else bytes(m.body).decode()
        assert json.loads(text) == SIGNUP_REDACTED, f"{language}, message {i}: {text}"
    assert got[0].properties == {"trace": "t-0"}, "a rewrite keeps the message's properties"
    assert bodies(got[2:]) == untouched, f"{language}: bodies with nothing to redact pass as sent"


def test_redact_json_on_publish_stores_the_redacted_body_with_key_and_headers_kept(broker,
                                                                                  language):
    redacted_topic, plain_topic = unique("redacted.log"), unique("plain.log")
    for topic in (redacted_topic, plain_topic):
        create_topic(broker.bootstrap, topic, 1)
    not_json = b"{password: hunter2}"
    messages = [keyed_with_property(json.dumps(SIGNUP).encode()),
                keyed_with_property(not_json)]
    send_to(broker, f"topic://{redacted_topic}", messages)
    send_to(broker, f"topic://{plain_topic}", messages)
    stored = [s.record for s in consume_all(broker.bootstrap, redacted_topic, partitions=1)]
    plain = [s.record for s in consume_all(broker.bootstrap, plain_topic, partitions=1)]
    assert json.loads(stored[0].value) == SIGNUP_REDACTED, f"{language}: {stored[0].value!r}"
    assert b" " not in stored[0].value, (
        f"{language}: the rewritten body is compact JSON: {stored[0].value!r}")
    assert stored[1].value == not_json
    assert [(r.key, r.headers) for r in stored] == [(r.key, r.headers) for r in plain], (
        f"{language}: a rewrite changes the body only")


def keyed_with_property(body: bytes) -> Message:
    return data(body, properties={"trace": "t-1"},
                annotations={symbol("x-opt-partition-key"): "customer-7"})
