"""Helpers shared by the test areas (importable as ``support.*``; pytest puts ``tests/``
on the path through ``pythonpath`` in pyproject.toml)."""
