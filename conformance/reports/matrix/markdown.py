"""matrix.md: the matrix's tables in Markdown (cells link into matrix.html)."""

from __future__ import annotations

from conformance.reports.matrix.model import Column, Matrix, Row, cell_word


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


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
            f"| {_md(c.target)} | {_md(c.vendor)} | {_md(c.run_label)} | {_md(', '.join(c.faults) or '-')} | "
            f"{c.score('MUST')} | "
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
