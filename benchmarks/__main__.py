"""Run every benchmark module of this package that exposes ``main()``, in name order."""
from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def run_all() -> int:
    """Import each submodule and call its ``main()``; return the number that failed."""
    failed = 0
    for info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        main = getattr(module, "main", None)
        if not callable(main):
            continue
        print(f"== benchmarks.{info.name}", flush=True)
        try:
            main()
        except Exception as exc:  # one broken benchmark must not hide the others
            failed += 1
            print(f"benchmarks.{info.name} failed: {exc!r}", file=sys.stderr, flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(1 if run_all() else 0)
