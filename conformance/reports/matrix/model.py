"""The vendor-compatibility matrix: requirements (rows) by targets of several runs (columns), as JSON and Markdown."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.redact import Redactor
from conformance.reports.matrix.observed import catalog_vendor, observed_semantics
from conformance.results import RequirementResult, RunResults

if TYPE_CHECKING:
    from conformance.gating.gate import Gate

MATRIX_FORMAT = "conformance-matrix"
MATRIX_VERSION = 1
PROBLEMS = ("failed", "error", "flaky")
WORDS = {"passed": "pass", "failed": "FAIL", "error": "error", "skipped": "skip", "flaky": "flaky", "": "not run"}


@dataclass
class Column:
    """One target of one run: a column of the matrix."""

    index: int
    target: str
    vendor: str
    run_id: str
    run_dir: str
    spec_version: str
    faults: list[str]
    results: dict[str, RequirementResult]
    label: str = ""

    @property
    def key(self) -> str:
        """Unique among the columns: ``target@run_id``."""
        return f"{self.target}@{self.run_id}"

    def tally(self, level: str) -> tuple[int, int]:
        """(passed, judged) of one level; skipped results are not judged."""
        judged = [r for r in self.results.values() if r.level == level and r.status != "skipped"]
        return sum(r.status == "passed" for r in judged), len(judged)

    def score(self, level: str) -> str:
        """``passed/total`` of one level."""
        passed, total = self.tally(level)
        return f"{passed}/{total}"

    def count(self, status: str) -> int:
        """How many results have ``status``."""
        return sum(r.status == status for r in self.results.values())


@dataclass
class Cell:
    """The verdict on one requirement in one column, with what the gate says about it."""

    status: str
    anchor: str
    message: str = ""
    known: str = ""
    change: str = ""


@dataclass
class Row:
    """One requirement of one vendor, with a cell per column of that vendor."""

    vendor: str
    operation: str
    requirement: str
    level: str
    rule: str
    source: dict[str, str]
    cells: dict[str, Cell] = field(default_factory=dict)

    def failing(self) -> list[str]:
        """The column keys whose cell failed (an error is not a failure of the target)."""
        return [key for key, cell in self.cells.items() if cell.status == "failed"]


@dataclass
class Matrix:
    """Everything the matrix shows, built from several runs."""

    generated: str
    runs: list[dict[str, Any]]
    columns: list[Column]
    rows: list[Row]
    semantics: dict[str, dict[str, dict[str, Any]]]
    gate: Gate | None = None

    def vendors(self) -> list[str]:
        """The vendors, sorted."""
        return sorted({c.vendor for c in self.columns})

    def columns_of(self, vendor: str) -> list[Column]:
        """The columns of one vendor's targets."""
        return [c for c in self.columns if c.vendor == vendor]

    def operations_of(self, vendor: str) -> list[str]:
        """The operations of one vendor, in catalog order."""
        return list(dict.fromkeys(r.operation for r in self.rows if r.vendor == vendor))

    def rows_of(self, vendor: str, operation: str) -> list[Row]:
        """The rows of one vendor and operation."""
        return [r for r in self.rows if r.vendor == vendor and r.operation == operation]

    def column(self, key: str) -> Column:
        """The column with that key."""
        return next(c for c in self.columns if c.key == key)

    def single_target_failures(self) -> list[tuple[Row, Column]]:
        """Requirements that fail on exactly one target while passing on another of the same vendor."""
        out: list[tuple[Row, Column]] = []
        for row in self.rows:
            failing = row.failing()
            passing = [k for k, c in row.cells.items() if c.status == "passed"]
            if len(failing) == 1 and passing:
                out.append((row, self.column(failing[0])))
        return sorted(out, key=lambda pair: pair[0].level != "MUST")

    def as_dict(self) -> dict[str, Any]:
        """matrix.json."""
        return {
            "format": MATRIX_FORMAT,
            "version": MATRIX_VERSION,
            "generated": self.generated,
            "runs": self.runs,
            "columns": [
                {
                    "key": c.key,
                    "label": c.label,
                    "target": c.target,
                    "vendor": c.vendor,
                    "run_id": c.run_id,
                    "run_dir": c.run_dir,
                    "spec_version": c.spec_version,
                    "faults": c.faults,
                    "score": {level: dict(zip(("passed", "total"), c.tally(level), strict=True)) for level in LEVELS},
                    "counts": {s: c.count(s) for s in WORDS if s},
                }
                for c in self.columns
            ],
            "rows": [
                {
                    "vendor": r.vendor,
                    "operation": r.operation,
                    "requirement": r.requirement,
                    "level": r.level,
                    "rule": r.rule,
                    "source": r.source,
                    "cells": {k: vars(cell) for k, cell in r.cells.items()},
                }
                for r in self.rows
            ],
            "single_target_failures": [
                {"requirement": row.requirement, "column": column.key} for row, column in self.single_target_failures()
            ],
            "semantics": self.semantics,
            "gate": self.gate.as_dict() if self.gate else None,
        }


LEVELS = ("MUST", "SHOULD")


def anchor(column: Column, requirement: str) -> str:
    """The HTML id of one cell's evidence."""
    return f"ev-{column.index}-{requirement}"


def _columns(runs: Sequence[tuple[Path, RunResults]]) -> list[Column]:
    columns: list[Column] = []
    for path, results in runs:
        run_dir = str(path.parent if path.name == "results.json" else path)
        for target in results.targets:
            name = str(target["name"])
            columns.append(
                Column(
                    index=len(columns),
                    target=name,
                    vendor=str(target.get("vendor", "")),
                    run_id=results.run_id,
                    run_dir=run_dir,
                    spec_version=str(target.get("spec_version", "")),
                    faults=[str(f) for f in target.get("faults", [])],
                    results={r.requirement: r for r in results.results if r.target == name},
                )
            )
    columns.sort(key=lambda c: c.vendor)
    for index, column in enumerate(columns):
        column.index = index
    names = [c.target for c in columns]
    for column in columns:
        column.label = column.target if names.count(column.target) == 1 else f"{column.target} · {column.run_id}"
    return columns


def build_matrix(runs: Sequence[tuple[Path, RunResults]], gate: Gate | None = None) -> Matrix:
    """Merge runs into one matrix (columns in the order of the runs, rows in catalog order)."""
    columns = _columns(runs)
    rows: dict[tuple[str, str], Row] = {}
    for column in columns:
        for result in column.results.values():
            row = rows.setdefault(
                (column.vendor, result.requirement),
                Row(column.vendor, result.operation, result.requirement, result.level, result.rule, result.source),
            )
            known = gate.outcome_of(column.target, result.requirement, column.run_id) if gate else None
            change = gate.change_of(column.target, result.requirement, column.run_id) if gate else None
            row.cells[column.key] = Cell(
                status=result.status,
                anchor=anchor(column, result.requirement),
                message=result.message,
                known=known.outcome if known else "",
                change=change or "",
            )
    run_rows = [
        {
            "run_id": results.run_id,
            "dir": str(path),
            "profile": results.profile,
            "seed": results.seed,
            "started": results.started,
            "requests": results.requests,
            "leaks": len(results.leaks),
        }
        for path, results in runs
    ]
    return Matrix(
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        runs=run_rows,
        columns=columns,
        rows=_in_catalog_order(list(rows.values())),
        semantics=observed_semantics(columns),
        gate=gate,
    )


def _in_catalog_order(rows: list[Row]) -> list[Row]:
    """Rows by vendor, then operation, then the vendor's catalog order (unknown ids last, as first seen)."""
    order: dict[str, int] = {}
    for vendor in {r.vendor for r in rows}:
        catalog = catalog_vendor(vendor)
        order |= {r.id: i for i, r in enumerate(catalog.requirements)} if catalog else {}
    operations = list(dict.fromkeys(r.operation for r in rows))
    position = {id(r): i for i, r in enumerate(rows)}
    return sorted(
        rows,
        key=lambda r: (r.vendor, operations.index(r.operation), order.get(r.requirement, len(order) + position[id(r)])),
    )


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def cell_word(cell: Cell | None) -> str:
    """The short text of a cell: its status, and ``known``/``new``/``fixed`` marks from the gate."""
    if cell is None:
        return "—"
    word = WORDS.get(cell.status, cell.status)
    if cell.known == "expected":
        word += " (known)"
    elif cell.known in {"unexpected-pass", "expired"}:
        word += f" ({cell.known})"
    if cell.change == "new-failure":
        word += " NEW"
    elif cell.change == "fixed":
        word += " (fixed)"
    return word


def matrix_markdown(matrix: Matrix) -> str:
    """matrix.md: scores, single-target failures, then a table per vendor (cells link into matrix.html)."""
    lines = ["# Vendor-compatibility matrix", "", f"generated {matrix.generated} from {len(matrix.runs)} run(s)", ""]
    if matrix.gate is not None:
        lines += [f"Gate `--fail-on {matrix.gate.fail_on}`: **{matrix.gate.verdict}**", ""]
        lines += [f"- {_md(reason)[:200]}" for reason in matrix.gate.blocking[:20]] + [""]
    lines += ["## Scores (skipped excluded)", "", "| target | vendor | run | faults | MUST | SHOULD | failed | error |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for c in matrix.columns:
        lines.append(
            f"| {c.target} | {c.vendor} | {c.run_id} | {', '.join(c.faults) or '-'} | {c.score('MUST')} | "
            f"{c.score('SHOULD')} | {c.count('failed')} | {c.count('error')} |"
        )
    lines += ["", "## Fails on only one target", ""]
    single = matrix.single_target_failures()
    lines += [
        f"- **{row.level} `{row.requirement}`** fails only on {column.label}: {_md(_message(row, column))}"
        for row, column in single
    ] or ["- none"]
    for vendor in matrix.vendors():
        columns = matrix.columns_of(vendor)
        lines += ["", f"## {vendor}", ""]
        for operation in matrix.operations_of(vendor):
            lines += [f"### {vendor} · {operation}", ""]
            lines.append("| requirement | level | " + " | ".join(_md(c.label) for c in columns) + " |")
            lines.append("|---|---|" + "---|" * len(columns))
            for row in matrix.rows_of(vendor, operation):
                cells = [row.cells.get(c.key) for c in columns]
                text = [f"[{cell_word(cell)}](matrix.html#{cell.anchor})" if cell else "—" for cell in cells]
                lines.append(f"| `{row.requirement}` | {row.level} | " + " | ".join(text) + " |")
            lines.append("")
    lines += ["## API semantics side by side", ""]
    vendors = matrix.vendors()
    lines.append("| aspect | " + " | ".join(vendors) + " |")
    lines.append("|---|" + "---|" * len(vendors))
    for aspect in _aspects(matrix):
        texts: list[str] = []
        for vendor in vendors:
            entry = matrix.semantics.get(vendor, {}).get(aspect, {})
            seen = "; ".join(o["text"] for o in entry.get("observed", []))
            texts.append(_md(entry.get("documented", "")) + (f" — observed: {_md(seen)}" if seen else ""))
        lines.append(f"| {aspect} | " + " | ".join(texts) + " |")
    return "\n".join(lines) + "\n"


def _message(row: Row, column: Column) -> str:
    return row.cells[column.key].message[:160]


def _aspects(matrix: Matrix) -> list[str]:
    return list(dict.fromkeys(aspect for per in matrix.semantics.values() for aspect in per))


def _secret_values(runs: Sequence[tuple[Path, RunResults]]) -> list[str]:
    keys = ("token_env", "restricted_token_env", "other_token_env")
    names = {str(t.get(k)) for _, r in runs for t in r.targets for k in keys}
    return [os.environ[n] for n in names if n and os.environ.get(n)]


def write_matrix(runs: Sequence[tuple[Path, RunResults]], out: Path, gate: Gate | None = None) -> Matrix:
    """Write matrix.html, matrix.md, matrix.json and summary.md into ``out``; any token in the environment redacted."""
    from conformance.reports.matrix.html import matrix_html
    from conformance.reports.summary import gate_markdown

    matrix = build_matrix(runs, gate)
    redact = Redactor(_secret_values(runs)).text
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.json").write_text(
        redact(json.dumps(matrix.as_dict(), indent=2, ensure_ascii=False)) + "\n", encoding="utf-8"
    )
    (out / "matrix.md").write_text(redact(matrix_markdown(matrix)), encoding="utf-8")
    (out / "matrix.html").write_text(redact(matrix_html(matrix)), encoding="utf-8")
    if gate is not None:
        summary = gate_markdown(gate, [r for _, r in runs], f"Conformance report of {len(runs)} run(s)")
        scores = matrix_markdown(matrix).split("## Fails on only one target")[0].split("## Scores", 1)[-1]
        (out / "summary.md").write_text(redact("\n".join(summary) + "\n## Scores" + scores), encoding="utf-8")
    return matrix
