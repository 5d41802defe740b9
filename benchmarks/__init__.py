"""Benchmarks of the suite and of the reference mocks, measured side by side with their peers.

Run ``python -m benchmarks [--quick] [--only SECTION]... [--repeat N] [--duration S]``; it prints Markdown tables
and writes ``reports/bench.json`` (docs/benchmarks.md). Nothing here runs in the default test run.
"""

from benchmarks.options import SECTIONS, Options

__all__ = ["SECTIONS", "Options"]
