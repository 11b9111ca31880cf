"""Runs the SDK's helpers on this machine's Python, against bindings componentize-py generates
for all three worlds merged (one `wit_world` with every export), so a helper is tested in a
second rather than through a component and a broker. Only the host's imports (`log`, `clock`)
are missing here: they raise NotImplementedError, and no helper tested calls them.

    .venv/bin/python -m pytest sdk/python/tests -q
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]
REPO = SDK_DIR.parents[1]
COMPONENTIZE_PY = (os.environ.get("COMPONENTIZE_PY")
                   or str(REPO / ".venv" / "bin" / "componentize-py"))

_bindings = Path(tempfile.mkdtemp(prefix="sluice-sdk-bindings-"))


def pytest_configure(config) -> None:
    subprocess.run([COMPONENTIZE_PY, "-q", "-d", str(REPO / "wit"), "-w", "filter",
                    "-w", "router", "-w", "codec", "bindings", str(_bindings / "b")],
                   check=True)
    sys.path[:0] = [str(_bindings / "b"), str(SDK_DIR)]


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_bindings, ignore_errors=True)
