"""Benchmarks are run on demand: `pytest benchmarks/` (not part of the default test run)."""

pytest_plugins = ["fixtures.plugin"]
