"""Configuration precedence (issue 8): built-in defaults, then the TOML file, then `SLUICE_*`
environment variables, then flags. `sluice config show` prints what a broker started the same
way runs with, each value with the layer it came from; the broker really runs with it; logs
follow `[log]`; a misspelt variable stops the broker before it opens anything."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest

from clients import Record, partition_count, produce_all
from conftest import artifact, free_ports, render_config, unique

CLI_S_MAX = 60.0
# `sluice serve` refusing its configuration must not wait for anything: no storage, no plugin
# compilation, no socket.
FAIL_FAST_S_MAX = 10.0


def run_sluice(*args: str, env: dict[str, str] | None = None,
               timeout_s: float = CLI_S_MAX) -> subprocess.CompletedProcess:
    """`sluice ARGS` with the test's environment plus `env`, and no other SLUICE_ setting
    variable the developer may have set."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SLUICE_") or k in ("SLUICE_BIN",)}
    return subprocess.run([str(artifact("SLUICE_BIN")), *args], capture_output=True, text=True,
                          env={**base, "NO_COLOR": "1", **(env or {})}, timeout=timeout_s)


def show(*args: str, env: dict[str, str] | None = None) -> dict[str, dict]:
    """`sluice config show ARGS --output json` as {path: entry}."""
    done = run_sluice("config", "show", *args, "--output", "json", env=env)
    assert done.returncode == 0, done.stderr
    return {e["path"]: e for e in json.loads(done.stdout)}


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_config_show_names_the_layer_of_every_value(tmp_path):
    file_port, env_port, flag_port = free_ports(3)
    config = tmp_path / "sluice.toml"
    config.write_text(render_config(
        tmp_path / "data", {"default-partitions": 1, "retention-ms": 3_600_000}, {},
        {"kafka": {"address": f"127.0.0.1:{file_port}", "codec": "builtin:codec-kafka"}},
        extra='[security]\n[[security.users]]\nname = "app"\npassword = "s3cret"\n'))
    env = {
        "SLUICE_TOPICS__DEFAULT_PARTITIONS": "3",
        "SLUICE_LISTENERS__KAFKA__ADDRESS": f"127.0.0.1:{env_port}",
        "SLUICE_LOG": "debug",
    }
    entries = show("--config", str(config), "--kafka", f"127.0.0.1:{flag_port}",
                   "--log-format", "json", env=env)

    def at(path: str) -> tuple:
        return entries[path]["value"], entries[path]["source"]

    assert at("data-dir") == (str(tmp_path / "data"), f"file {config}")
    assert at("topics.retention-ms") == (3_600_000, f"file {config}")
    assert at("topics.default-partitions") == (3, "env SLUICE_TOPICS__DEFAULT_PARTITIONS")
    assert at("listeners.kafka.address") == (f"127.0.0.1:{flag_port}", "flag --kafka")
    assert at("log.level") == ("debug", "env SLUICE_LOG")
    assert at("log.format") == ("json", "flag --log-format")
    assert at("topics.partitions-max") == (1024, "default")
    assert at("admin.address") == ("127.0.0.1:8161", "default")
    assert entries["topics.default-partitions"]["env"] == "SLUICE_TOPICS__DEFAULT_PARTITIONS"
    # Passwords never print, whatever layer set them.
    assert at("security.users") == ([{"name": "app", "password": "****"}], f"file {config}")

    # The human form is the same configuration as TOML, a comment naming each source.
    done = run_sluice("config", "show", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    assert "s3cret" not in done.stdout
    line = next(l for l in done.stdout.splitlines() if l.startswith("default-partitions"))
    assert line.split("#")[0].split("=")[1].strip() == "3"
    assert line.endswith("# env SLUICE_TOPICS__DEFAULT_PARTITIONS")


@pytest.mark.timeout(120)
def test_the_broker_runs_with_the_flags_port_and_the_variables_partitions(make_broker,
                                                                           monkeypatch):
    broker = make_broker(start=False, topics={"default-partitions": 1})
    file_port = broker.port("kafka")
    env_port, flag_port = free_ports(2)
    file_command = broker.command

    def command() -> list[str]:
        cmd = file_command()  # writes the file, with the Kafka listener on file_port
        broker.ports["kafka"] = flag_port
        return cmd + ["--kafka", f"127.0.0.1:{flag_port}"]

    broker.command = command
    monkeypatch.setenv("SLUICE_LISTENERS__KAFKA__ADDRESS", f"127.0.0.1:{env_port}")
    monkeypatch.setenv("SLUICE_TOPICS__DEFAULT_PARTITIONS", "3")
    broker.start()

    assert listening(flag_port)
    assert not listening(file_port) and not listening(env_port)
    topic = unique("layered")
    produce_all(broker.bootstrap, topic, [Record(f"k{i}".encode(), b"v") for i in range(10)])
    assert partition_count(broker.bootstrap, topic) == 3
    broker.assert_healthy()


@pytest.mark.timeout(120)
def test_json_logs_are_one_json_object_per_line(make_broker):
    broker = make_broker(extra='[log]\nformat = "json"\n')
    broker.stop()
    lines = [l for l in broker.log_text().splitlines()
             if l.strip() and not l.startswith("=== e2e:")]
    assert lines, "the broker logged nothing"
    records = [json.loads(l) for l in lines]
    assert all({"timestamp", "level", "fields", "target"} <= r.keys() for r in records)
    assert any(r["fields"].get("message") == "storage open" for r in records)
    resolved = [r for r in records if r["fields"].get("message") == "configuration resolved"]
    # The fixture sets SLUICE_LOG.
    assert resolved and resolved[0]["fields"]["layers"] == \
        f"file {broker.config_path}, env SLUICE_LOG"


def test_a_misspelt_variable_stops_the_broker_before_it_opens_anything(tmp_path):
    data = tmp_path / "data"
    kafka, admin = free_ports(2)
    done = run_sluice("serve", "--data-dir", str(data), "--kafka", f"127.0.0.1:{kafka}",
                      "--admin", f"127.0.0.1:{admin}",
                      env={"SLUICE_TOPICS__DEFAULT_PARTITONS": "3"}, timeout_s=FAIL_FAST_S_MAX)
    assert done.returncode == 1
    assert "SLUICE_TOPICS__DEFAULT_PARTITONS" in done.stderr
    assert "did you mean SLUICE_TOPICS__DEFAULT_PARTITIONS?" in done.stderr
    assert not data.exists()

    # Without `__` too, and for `config show` alike.
    done = run_sluice("config", "show", env={"SLUICE_DATADIR": str(data)})
    assert done.returncode == 1
    assert "SLUICE_DATADIR" in done.stderr and "SLUICE_DATA_DIR" in done.stderr


def test_a_value_of_the_wrong_type_or_a_file_typo_is_refused_with_where_it_is(tmp_path):
    done = run_sluice("config", "show", env={"SLUICE_TOPICS__AUTO_CREATE": "yes"})
    assert done.returncode == 1
    assert "SLUICE_TOPICS__AUTO_CREATE" in done.stderr and "true or false" in done.stderr

    config = tmp_path / "sluice.toml"
    config.write_text("[topics]\nauto-create = true\ndefault-partiions = 3\n")
    done = run_sluice("serve", "--config", str(config), timeout_s=FAIL_FAST_S_MAX)
    assert done.returncode == 1
    assert f"{config}: line 3, column 1" in done.stderr
    assert "default-partiions" in done.stderr


def test_sluice_config_names_the_file(tmp_path):
    config = tmp_path / "sluice.toml"
    config.write_text("node-id = 7\n")
    entries = show(env={"SLUICE_CONFIG": str(config)})
    assert (entries["node-id"]["value"], entries["node-id"]["source"]) == (7, f"file {config}")
