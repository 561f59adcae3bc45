"""Benchmarks are run on demand: `pytest benchmarks/` (not part of the default test run).
The suite's plugin comes from the installed package (pytest11 entry point)."""
