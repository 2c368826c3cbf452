"""Run a line of Python in a fresh interpreter, to see what import-time choices (C
extension or pure Python) an environment leads to."""
from __future__ import annotations

import os
import subprocess
import sys


def printed_in_child(code: str, **env: str) -> str:
    """What ``code`` prints in a fresh interpreter with ``env`` added to this one's,
    ``CBSERVER_PURE_PYTHON`` removed unless given."""
    child_env = {k: v for k, v in os.environ.items() if k != "CBSERVER_PURE_PYTHON"}
    child_env.update(env)
    done = subprocess.run([sys.executable, "-c", code], env=child_env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()
