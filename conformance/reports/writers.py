"""The report formats by name, and the one function that writes a run's reports (``run``, ``sdk-gate``, ``report``).

Every format is built from the results model (results.json), never from pytest's own output: ``results``,
``summary`` (summary.md), ``junit`` (junit.xml), ``allure`` (allure-results/), ``har`` (run.har, from the
exchange files the session wrote) and ``matrix`` (matrix.html, .md and .json, of several runs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import UsageError
from conformance.reports.inputs import ReportInput
from conformance.results import RunResults

if TYPE_CHECKING:
    from conformance.gating.gate import Gate

Writer = Callable[[ReportInput], list[Path]]
_FORMATS: dict[str, Writer] = {}
RUN_FORMATS = ("results", "summary", "junit", "allure")  # what `run` and `sdk-gate` write by default
ONE_RUN_ONLY = frozenset({"results", "junit", "allure", "har"})


def register_format(name: str, writer: Writer) -> None:
    """Make ``writer`` the format ``name``; a name already taken raises ``ValueError``."""
    if name in _FORMATS:
        raise ValueError(f"report format {name!r} is already registered")
    _FORMATS[name] = writer


def report_formats() -> tuple[str, ...]:
    """Every registered format name, in registration order."""
    return tuple(_FORMATS)


def _write_results(report: ReportInput) -> list[Path]:
    path = report.report_dir / "results.json"
    report.results.write(path)
    return [path]


def _write_matrix(report: ReportInput) -> list[Path]:
    from conformance.reports.matrix.write import write_matrix

    write_matrix(report.runs, report.report_dir, report.gate, report.labels)
    return [report.report_dir / name for name in ("matrix.html", "matrix.md", "matrix.json")]


def _on_use(module: str, function: str) -> Writer:
    """The writer ``module.function``, imported when a run asks for its format (allure_commons, harfile and the
    matrix pages cost about 45 ms of imports, and a run writes few of the formats)."""

    def write(report: ReportInput) -> list[Path]:
        writer: Writer = getattr(importlib.import_module(module), function)
        return writer(report)

    write.__name__ = write.__qualname__ = function
    return write


register_format("results", _write_results)
register_format("summary", _on_use("conformance.reports.summary", "write_summary"))
register_format("junit", _on_use("conformance.reports.junit", "write_junit"))
register_format("allure", _on_use("conformance.reports.allure", "write_allure"))
register_format("har", _on_use("conformance.reports.har", "write_har"))
register_format("matrix", _write_matrix)


def check_formats(formats: Sequence[str]) -> list[str]:
    """The formats, each once, in order; ``UsageError`` (exit 2) for a name no format has."""
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown:
        raise UsageError(f"unknown report format {unknown[0]!r} (known: {', '.join(_FORMATS)})")
    return list(dict.fromkeys(formats))


def write_run_reports(
    results: RunResults | Sequence[tuple[Path, RunResults]],
    report_dir: Path,
    *,
    gate: Gate | None = None,
    formats: Sequence[str] = RUN_FORMATS,
    **options: object,
) -> list[Path]:
    """Write ``formats`` of one run (or, for ``summary`` and ``matrix``, of several) into ``report_dir``.

    ``options`` are the other fields of ``ReportInput`` (``fail_on``, ``lead``, ``properties``, ``parameters``,
    ``labels``, ``title``). Returns the paths written.
    """
    runs = [(report_dir / "results.json", results)] if isinstance(results, RunResults) else list(results)
    report = ReportInput(runs=runs, report_dir=report_dir, gate=gate, **options)  # type: ignore[arg-type]
    chosen = check_formats(formats)
    if len(runs) != 1 and ONE_RUN_ONLY & set(chosen):
        raise UsageError(f"formats {', '.join(sorted(ONE_RUN_ONLY & set(chosen)))} cover one run, not {len(runs)}")
    report_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in chosen:
        written += _FORMATS[name](report)
    return written
