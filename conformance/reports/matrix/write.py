"""Write the matrix of several runs: matrix.json, matrix.md and matrix.html (any token in the environment redacted)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.redact import Redactor
from conformance.reports.inputs import environment_secrets
from conformance.reports.matrix.html import matrix_html
from conformance.reports.matrix.markdown import matrix_markdown
from conformance.reports.matrix.model import Matrix, build_matrix
from conformance.results import RunResults

if TYPE_CHECKING:
    from conformance.gating.gate import Gate


def write_matrix(
    runs: Sequence[tuple[Path, RunResults]], out: Path, gate: Gate | None = None, labels: Sequence[str] = ()
) -> Matrix:
    """Write matrix.html, matrix.md and matrix.json into ``out``; any token in the environment redacted."""
    matrix = build_matrix(runs, gate, labels)
    redact = Redactor(environment_secrets([r for _, r in runs])).text
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.json").write_text(
        redact(json.dumps(matrix.as_dict(), indent=2, ensure_ascii=False)) + "\n", encoding="utf-8"
    )
    (out / "matrix.md").write_text(redact(matrix_markdown(matrix)), encoding="utf-8")
    (out / "matrix.html").write_text(redact(matrix_html(matrix)), encoding="utf-8")
    return matrix
