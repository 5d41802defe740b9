"""Rows a pytest session selected but never judged (``-x``, ``--maxfail``, Ctrl-C): recorded as errors, counted.

A session that stops early must not read as a PASS: every selected (target, requirement) without a verdict gets
an ``error`` result "not judged: <why>", results.json counts them (``summary.not_judged``) and the terminal
summary says how many there were. Rows deselected on purpose (``-k``, ``--deselect``) are not rows of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.run.plugin import Case, ConformanceSession

NOT_JUDGED = "not judged: "


def selected_cases(items: Sequence[pytest.Item]) -> list[Case]:
    """The conformance cases among the collected and selected items, in order."""
    from conformance.run.plugin import Case

    out: list[Case] = []
    for item in items:
        callspec: Any = getattr(item, "callspec", None)
        case = callspec.params.get("conformance_case") if callspec else None
        if isinstance(case, Case):
            out.append(case)
    return out


def stop_reason(session: pytest.Session, exitstatus: int) -> str:
    """Why the session ended before judging every selected row."""
    if int(exitstatus) == int(pytest.ExitCode.INTERRUPTED):
        return "the session was interrupted"
    if session.shouldfail or session.shouldstop:
        maxfail = int(session.config.getoption("maxfail", 0) or 0)
        flag = "-x" if maxfail == 1 else f"--maxfail={maxfail}" if maxfail else "a stop request"
        return f"the session stopped early ({flag})"
    return "the session ended before judging it"


def record_not_judged(state: ConformanceSession, cases: Sequence[Case], reason: str) -> int:
    """Record an ``error`` result for every case in ``cases`` that has no verdict; how many were recorded."""
    from conformance.verdicts import Evidence

    judged = {(r.target, r.requirement) for r in state.results.results}
    added = 0
    for case in cases:
        if (case.target.name, case.requirement.id) not in judged:
            state.record(case, "error", NOT_JUDGED + reason, Evidence(), 0.0)
            added += 1
    return added
