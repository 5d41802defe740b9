"""Report formats, all built from results.json (the model): summary.md, junit.xml, allure-results/, run.har, the matrix
and the console table; ``writers.write_run_reports`` writes them by name."""

from conformance.reports.summary import console_table, summary_markdown
from conformance.results import FORMAT_VERSION, RequirementResult, RunResults, load_results

__all__ = ["FORMAT_VERSION", "RequirementResult", "RunResults", "console_table", "load_results", "summary_markdown"]
