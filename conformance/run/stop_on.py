"""Loaded with ``-p conformance.run.stop_on``: the session stops at the first failure of the rows it names.

``--conformance-stop-on ID`` (repeatable) names the rows; the session's order is kept, and it stops after the first
of them whose verdict is ``failed``. An errored row (a check that could not judge) does not stop it, unlike ``-x``,
and neither does a failure of another row. The rows left are recorded as ``error`` "not judged" (``unjudged.py``),
as for any session that stops early. When none of them fails, every row is judged as without the option.

The self-test uses it for a mutant, which is killed by the first failed MUST row of its operation: judging more
cannot undo that, and the rows judged until then are exactly those a full run judges first (same order, same
seed, same state of the mock), so the verdict is the full run's. A survivor is judged on every row, as before.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

STOPPED = "a row named by --conformance-stop-on failed"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--conformance-stop-on``."""
    parser.getgroup("conformance").addoption(
        "--conformance-stop-on",
        action="append",
        default=[],
        metavar="ID",
        help="stop the session when this requirement (or another one named) fails",
    )


def _stop_ids(config: pytest.Config) -> set[str]:
    return set(config.getoption("--conformance-stop-on") or [])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """After each row: stop the session when a named row's verdict is ``failed``."""
    from conformance.run.plugin import conformance_session

    state = conformance_session(item.config)
    before = len(state.results.results) if state is not None else 0
    outcome = yield
    if state is not None:
        ids = _stop_ids(item.config)
        if any(r.status == "failed" and r.requirement in ids for r in state.results.results[before:]):
            item.session.shouldfail = STOPPED
    return outcome
