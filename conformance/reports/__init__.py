"""Report formats: results.json (the model every other format is built from), summary.md, console table."""

from conformance.reports.summary import console_table, summary_markdown
from conformance.results import FORMAT_VERSION, RequirementResult, RunResults, load_results

__all__ = ["FORMAT_VERSION", "RequirementResult", "RunResults", "console_table", "load_results", "summary_markdown"]
