"""Benchmarks of the project; ``python -m benchmarks`` runs every module's ``main()``."""
