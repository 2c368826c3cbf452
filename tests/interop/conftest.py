"""Fixtures of the interop tests: run scripts under the official Couchbase SDK 4.6.3.

The SDK lives in ``.venv-sdk4`` (``make sdk4``; ``make test`` builds it) because its import
name ``couchbase`` is ours too.  Each script in ``sdk4_scripts/`` takes one JSON argument
and prints one JSON object, which the tests assert on.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK4_PYTHON = ROOT / ".venv-sdk4" / "bin" / "python"
SCRIPTS = Path(__file__).resolve().parent / "sdk4_scripts"
#: Generous bound per script: bootstrap plus a few dozen operations, never a timing assertion.
SCRIPT_TIMEOUT = 120

def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this directory carries the ``interop`` marker."""
    for item in items:
        if SCRIPTS.parent in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)


class Sdk4:
    """Runs an SDK 4 script against one cbserver and returns its JSON report."""

    def __init__(self, server) -> None:
        self.server = server

    def run(self, script: str, **args: Any) -> dict[str, Any]:
        """Run ``sdk4_scripts/<script>.py`` with the server's address merged into ``args``."""
        payload = {"host": self.server.host, "kv_port": self.server.kv_port,
                   "views_port": self.server.views_port, **args}
        proc = subprocess.run([str(SDK4_PYTHON), str(SCRIPTS / f"{script}.py"),
                               json.dumps(payload)],
                              capture_output=True, text=True, timeout=SCRIPT_TIMEOUT,
                              cwd=SCRIPTS, env={**os.environ, "PYTHONPATH": str(SCRIPTS)})
        if proc.returncode != 0:
            raise AssertionError(f"SDK 4 script {script} exited {proc.returncode}:\n"
                                 f"{proc.stderr[-4000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def sdk4_python() -> Path:
    """The interpreter of the SDK 4 venv; a CI run without it fails instead of skipping."""
    if not SDK4_PYTHON.exists():
        reason = f"{SDK4_PYTHON} is missing: run `make sdk4` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return SDK4_PYTHON


@pytest.fixture
def sdk4(sdk4_python, server) -> Sdk4:
    """SDK 4 scripts against the shared cbserver (buckets default and protected:secret)."""
    return Sdk4(server)


@pytest.fixture
def sdk4_on(sdk4_python):
    """SDK 4 scripts against a server of the test's own: ``sdk4_on(server)``."""
    return Sdk4


@pytest.fixture
def prefix(request) -> str:
    """A key prefix no other test run against the shared server uses."""
    return f"interop-{re.sub(r'[^A-Za-z0-9_]+', '_', request.node.name)}-{os.getpid()}-"
