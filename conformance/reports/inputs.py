"""What every report format is written from: the runs (results models), the gate, and where the files go."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import UsageError
from conformance.redact import Redactor
from conformance.results import RunResults

if TYPE_CHECKING:
    from conformance.gating.gate import Gate

EXCHANGES_GLOB = "exchanges-*.jsonl"


def exchanges_file(report_dir: Path, target: str) -> Path:
    """The JSON-lines file of every (redacted) exchange the run had with ``target``."""
    return report_dir / f"exchanges-{target}.jsonl"


@dataclass
class ReportInput:
    """One report request: a run (``run``, ``sdk-gate``) or several (``report``), and what the formats need."""

    runs: list[tuple[Path, RunResults]]
    report_dir: Path
    gate: Gate | None = None
    fail_on: str = "must"  # what the junit failures follow when there is no gate (sdk-gate: must, or should if strict)
    lead: list[str] = field(default_factory=list)  # Markdown lines that lead summary.md (sdk-gate's verdict)
    properties: dict[str, str] = field(default_factory=dict)  # extra junit suite properties
    parameters: dict[str, str] = field(default_factory=dict)  # extra Allure parameters of every result
    labels: list[str] = field(default_factory=list)  # matrix run labels, in the order of the runs
    title: str = ""  # set by ``conformance report``: summary.md covers several runs under this title

    @property
    def results(self) -> RunResults:
        """The results of a single run; ``UsageError`` when several runs were given."""
        if len(self.runs) != 1:
            raise UsageError(f"this report format covers one run, not {len(self.runs)}")
        return self.runs[0][1]

    @property
    def effective_fail_on(self) -> str:
        """The gate's ``--fail-on``, or ``fail_on`` without a gate."""
        return self.gate.fail_on if self.gate is not None else self.fail_on

    def redactor(self) -> Redactor:
        """Redacts the tokens of the runs' targets found in the environment (the results are redacted already)."""
        return Redactor(environment_secrets([r for _, r in self.runs]))


def environment_secrets(runs: Sequence[RunResults]) -> list[str]:
    """The values of the targets' token variables, where set in this environment."""
    names = {
        str(t.get(k)) for r in runs for t in r.targets for k in ("token_env", "restricted_token_env", "other_token_env")
    }
    return [os.environ[n] for n in sorted(names) if n and os.environ.get(n)]
