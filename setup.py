"""Build hook for the optional C accelerator of cbserver's KV fast path.

Everything else about the package is declared in pyproject.toml. The extension is
``optional``: where it cannot be compiled (no compiler or no Python headers) the install
goes on and :mod:`cbserver.kv.fast_path` runs its pure-Python version.
"""
import sys

from setuptools import Extension, setup

WARNINGS = [] if sys.platform == "win32" else ["-Wall", "-Wextra"]

setup(ext_modules=[
    Extension("cbserver.kv._fast_path", ["src/cbserver/kv/_fast_path.c"],
              extra_compile_args=WARNINGS, optional=True),
])
