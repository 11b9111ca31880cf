"""kcat (Debian's, librdkafka 2.0.2) produces 10,000 messages, uncompressed and with each
compression codec, and consumes them back with identical content (issue 2, "Must show").

Each message has a distinct key and value (its index plus a random payload), so a lost,
duplicated, reordered or corrupted message shows. Two topic layouts: one auto-created by the
producer's metadata request (default-partitions = 1), one created with 3 partitions through
the admin API, which kcat cannot do.
"""

from __future__ import annotations

import random
import string
import zlib
from collections import defaultdict

import pytest

from clients import create_topic, kcat, partition_count
from conftest import Broker, unique

MESSAGES = 10_000


@pytest.fixture(scope="module")
def broker(module_tmp):
    """One broker for the module: every test uses its own topic."""
    b = Broker(module_tmp / "broker").start()
    yield b
    b.teardown()

COMPRESSIONS = ["none", "snappy", "gzip", "lz4"]
# Keys and values use these only: no kcat key delimiter (`:`), field separator or newline.
ALPHABET = string.ascii_letters + string.digits + "-_."


def make_lines(seed: int) -> list[tuple[str, str]]:
    """10,000 (key, value) pairs: distinct, with random payloads of varied length, some
    repetitive (compressible) and some not."""
    rng = random.Random(seed)
    out = []
    for i in range(MESSAGES):
        if i % 3 == 0:
            payload = rng.choice(ALPHABET) * rng.randint(10, 300)
        else:
            payload = "".join(rng.choices(ALPHABET, k=rng.randint(1, 300)))
        out.append((f"key-{i:05d}", f"value-{i:05d}-{payload}"))
    return out


def produce_with_kcat(bootstrap: str, topic: str, lines: list[tuple[str, str]],
                      compression: str, input_path) -> None:
    input_path.write_text("".join(f"{k}:{v}\n" for k, v in lines))
    args = ["-P", "-b", bootstrap, "-t", topic, "-K", ":", "-X", "acks=all"]
    if compression != "none":
        args += ["-z", compression]
    args += ["-l", str(input_path)]
    done = kcat(*args)
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"kcat -P exited {done.returncode}:\n{err[-2000:]}"
    assert "Delivery failed" not in err, f"kcat reported delivery failures:\n{err[-2000:]}"


def consume_with_kcat(bootstrap: str, topic: str) -> dict[int, list[tuple[int, str, str]]]:
    """Every message of every partition, from the beginning to the end: partition ->
    [(offset, key, value)] in fetch order."""
    done = kcat("-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                "-f", "%p:%o:%k:%s\\n")
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"kcat -C exited {done.returncode}:\n{err[-2000:]}"
    out: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for line in done.stdout.decode().splitlines():
        p, o, k, v = line.split(":", 3)
        out[int(p)].append((int(o), k, v))
    return out


def check_identical(sent: list[tuple[str, str]], got: dict[int, list[tuple[int, str, str]]],
                    partitions: int) -> None:
    assert set(got) <= set(range(partitions)), f"messages from partitions {sorted(got)}"
    total = sum(len(v) for v in got.values())
    assert total == len(sent), f"consumed {total} messages, produced {len(sent)}"
    index_of = {k: i for i, (k, _) in enumerate(sent)}
    seen = set()
    for p, msgs in got.items():
        offsets = [o for o, _, _ in msgs]
        assert offsets == list(range(len(msgs))), (
            f"partition {p}: offsets are not 0..{len(msgs) - 1} in order: {offsets[:10]}...")
        indexes = []
        for o, k, v in msgs:
            assert k in index_of, f"partition {p} offset {o}: unknown key {k!r}"
            i = index_of[k]
            assert v == sent[i][1], f"partition {p} offset {o}: value of {k} differs"
            assert k not in seen, f"{k} consumed twice"
            seen.add(k)
            indexes.append(i)
        # One producer, no errors: each partition holds its messages in the order sent.
        assert indexes == sorted(indexes), f"partition {p}: messages out of produce order"
    assert len(seen) == len(sent)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("layout", ["auto-created-1-partition", "created-3-partitions"])
def test_kcat_round_trips_10000_messages(broker, tmp_path, compression, layout):
    mark = broker.log_mark()
    topic = unique(f"kcat-{compression}-{layout.split('-')[0]}")
    partitions = 1
    if layout == "created-3-partitions":
        partitions = 3
        create_topic(broker.bootstrap, topic, partitions)
    sent = make_lines(seed=zlib.crc32(f"{compression}/{layout}".encode()))

    produce_with_kcat(broker.bootstrap, topic, sent, compression, tmp_path / "input.txt")
    assert partition_count(broker.bootstrap, topic) == partitions

    got = consume_with_kcat(broker.bootstrap, topic)
    check_identical(sent, got, partitions)
    if partitions > 1:
        assert all(got.get(p) for p in range(partitions)), (
            f"keyed messages should spread over all {partitions} partitions: "
            f"{ {p: len(m) for p, m in got.items()} }")
    broker.assert_healthy(since=mark)
